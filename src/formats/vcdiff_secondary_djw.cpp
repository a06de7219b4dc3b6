// xdelta3's DJW secondary compressor (id 1): static Huffman coding with up
// to 8 code tables chosen per fixed-size sector, after D. J. Wheeler and
// bzip2. Each section is self-contained. Layout (bits, LSB-first per byte;
// multi-bit fields most significant bit first):
//
//   groups-1:3
//   [sector_size/5-1:5]                     if groups > 1
//   extra:4  clclen[7+extra]:4 each         code lengths (<= 15) of the 22
//                                           "code-length codes"
//   clen[groups*256]: code-length codes, MTF + 1/2 run coded (see below);
//                     for groups after the first, a symbol whose length is
//                     0 in the previous group is skipped (it is 0 too)
//   [selclen[groups+1]:3 each               if groups > 1: code lengths of
//    selector[sectors]: selector codes]     the group selectors, MTF + 1/2
//   data: each sector's bytes in its group's code
//
// MTF + 1/2 coding: symbol 0 (RUN_0) and 1 (RUN_1) are the bijective
// base-2 digits (1 and 2, weight 2^k for the k-th consecutive run symbol)
// of a run of the front MTF value; symbol j+1 moves MTF entry j (>= 1) to
// the front and emits it. The code-length MTF starts as
//   0 4 5 6 7 8 9 10 3 11 2 12 13 1 14 15 16 17 18 19 20
// and the selector MTF as 0 1 … groups-1.
//
// Huffman codes are canonical: shorter codes first, then by symbol, code
// bits most significant first.
#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "bpatch/error.hpp"
#include "formats/vcdiff_secondary.hpp"

namespace bpatch::vcdiff {
namespace {

constexpr unsigned kMaxCodeLen = 20;
constexpr unsigned kTotalCodes = kMaxCodeLen + 2;  // RUN_0, RUN_1, MTF 1..20
constexpr unsigned kMaxClcLen = 15;
constexpr unsigned kMaxGroups = 8;
constexpr unsigned kMaxSelLen = 7;
constexpr unsigned kSectorMult = 5;

[[noreturn]] void fail(const std::string& why) { throw Error(Errc::bad_patch, "", "djw: " + why); }

// A canonical Huffman decoder over an alphabet of up to 256 symbols.
class Huffman {
 public:
  // lengths[i] in [0, max_len]; 0 = unused symbol.
  void build(const uint8_t* lengths, unsigned n, unsigned max_len, const char* what) {
    count_.fill(0);
    max_len_ = max_len;
    for (unsigned i = 0; i < n; ++i) ++count_[lengths[i]];
    count_[0] = 0;
    int left = 1;
    for (unsigned len = 1; len <= max_len; ++len) {
      left = left * 2 - count_[len];
      if (left < 0) fail(std::string(what) + " code is over-subscribed");
    }
    std::array<uint16_t, kMaxCodeLen + 2> offs{};
    for (unsigned len = 1; len <= max_len; ++len) offs[len + 1] = offs[len] + count_[len];
    nsym_ = 0;
    for (unsigned i = 0; i < n; ++i)
      if (lengths[i] != 0) {
        symbol_[offs[lengths[i]]++] = static_cast<uint8_t>(i);
        ++nsym_;
      }
    if (nsym_ == 0) fail(std::string(what) + " code has no symbols");
  }

  unsigned decode(BitReader& in) const {
    int code = 0, first = 0, index = 0;
    for (unsigned len = 1; len <= max_len_; ++len) {
      code |= static_cast<int>(in.bit());
      const int count = count_[len];
      if (code - first < count) return symbol_[static_cast<size_t>(index + code - first)];
      index += count;
      first = (first + count) << 1;
      code <<= 1;
    }
    fail("invalid Huffman code");
  }

 private:
  std::array<uint16_t, kMaxCodeLen + 1> count_{};
  std::array<uint8_t, 256> symbol_{};
  unsigned max_len_ = 0;
  unsigned nsym_ = 0;
};

// Decodes `n` values with MTF + 1/2 run coding (see the file comment).
// With skip > 0, position i >= skip is 0 without a code when
// values[i - skip] is 0.
void decode_mtf_1_2(BitReader& in, const Huffman& code, uint8_t* mtf, unsigned mtf_size,
                    uint8_t* values, size_t n, size_t skip) {
  uint64_t rep = 0;
  unsigned pending = 0;  // MTF index to emit next, 0 = none
  unsigned shift = 0;
  for (size_t i = 0; i < n;) {
    if (skip != 0 && i >= skip && values[i - skip] == 0) {
      values[i++] = 0;
      continue;
    }
    if (rep != 0) {
      values[i++] = mtf[0];
      --rep;
      continue;
    }
    if (pending != 0) {
      const uint8_t v = mtf[pending];
      std::memmove(mtf + 1, mtf, pending);
      mtf[0] = v;
      values[i++] = v;
      pending = 0;
      continue;
    }
    const unsigned sym = code.decode(in);
    if (sym <= 1) {
      if (shift > 40) fail("run too long");
      rep = uint64_t{sym + 1} << shift;
      ++shift;
    } else {
      pending = sym - 1;
      if (pending >= mtf_size) fail("move-to-front index out of range");
      shift = 0;
    }
  }
  if (rep != 0 || pending != 0) fail("more code lengths or selectors than expected");
}

class DjwDecoder final : public SecondaryDecoder {
 public:
  void decode(std::span<const uint8_t> input, std::span<uint8_t> out) override {
    if (out.empty()) fail("empty output");
    BitReader in(input);
    const unsigned groups = in.bits(3) + 1;
    size_t sector_size = out.size();
    if (groups > 1) sector_size = (in.bits(5) + 1) * size_t{kSectorMult};
    const size_t sectors = 1 + (out.size() - 1) / sector_size;

    // Code lengths of the code-length codes.
    std::array<uint8_t, kTotalCodes> clclen{};
    const unsigned ncl = in.bits(4) + 7;
    for (unsigned i = 0; i < ncl; ++i) clclen[i] = static_cast<uint8_t>(in.bits(4));
    Huffman cl;
    cl.build(clclen.data(), kTotalCodes, kMaxClcLen, "code-length");

    // Code lengths of every group's 256 symbols.
    std::array<uint8_t, kMaxCodeLen + 1> clmtf = {0,  4,  5, 6,  7,  8,  9,  10, 3,  11, 2,
                                                  12, 13, 1, 14, 15, 16, 17, 18, 19, 20};
    std::vector<uint8_t> clen(size_t{groups} * 256);
    decode_mtf_1_2(in, cl, clmtf.data(), clmtf.size(), clen.data(), clen.size(), 256);
    std::array<Huffman, kMaxGroups> tables;
    for (unsigned g = 0; g < groups; ++g)
      tables[g].build(clen.data() + size_t{g} * 256, 256, kMaxCodeLen, "symbol");

    // Which group codes each sector.
    std::vector<uint8_t> selector;
    if (groups > 1) {
      std::array<uint8_t, kMaxGroups + 1> sellen{};
      for (unsigned g = 0; g < groups + 1; ++g) sellen[g] = static_cast<uint8_t>(in.bits(3));
      Huffman sel;
      sel.build(sellen.data(), groups + 1, kMaxSelLen, "selector");
      std::array<uint8_t, kMaxGroups> selmtf{};
      for (unsigned g = 0; g < groups; ++g) selmtf[g] = static_cast<uint8_t>(g);
      selector.resize(sectors);
      decode_mtf_1_2(in, sel, selmtf.data(), groups, selector.data(), sectors, 0);
    }

    size_t pos = 0;
    for (size_t s = 0; s < sectors; ++s) {
      const Huffman& h = tables[groups > 1 ? selector[s] : 0];
      const size_t n = std::min(sector_size, out.size() - pos);
      for (size_t i = 0; i < n; ++i) out[pos++] = static_cast<uint8_t>(h.decode(in));
    }
    if (!in.at_end()) fail("section has unused bytes after its data");
    if (!in.padding_clean()) fail("non-zero padding bits");
  }
};

}  // namespace

std::unique_ptr<SecondaryDecoder> make_djw_decoder() { return std::make_unique<DjwDecoder>(); }

}  // namespace bpatch::vcdiff

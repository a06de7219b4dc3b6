// Bzip2Decoder: the bzip2 format as libbz2 1.0.8 reads it (its
// decompress.c), stage by stage: stream header, block header, symbol map,
// selectors, Huffman tables, MTF/RLE2 symbols, inverse BWT, RLE1 output.
#include "formats/bzip2_decoder.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <new>

namespace bpatch::formats {
namespace {

constexpr uint64_t kBlockMagic = 0x314159265359;
constexpr uint64_t kEndMagic = 0x177245385090;
constexpr int kMaxGroups = 6;
constexpr int kMaxAlpha = 258;     // 256 bytes + RUNA/RUNB, less one, + EOB
constexpr int kMaxCodeLen = 20;    // the longest code libbz2 decodes
constexpr int kCodeLenSlots = 23;  // libbz2's BZ_MAX_CODE_LEN table size
constexpr int kGroupSize = 50;     // symbols coded with one selector
constexpr int kMaxSelectors = 2 + 900000 / kGroupSize;
constexpr uint32_t kCrcPoly = 0x04c11db7;  // CRC-32/BZIP2: MSB first

// crc_table[b] = b·x^32 mod P, the classic MSB-first table.
constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t c = b << 24;
    for (int i = 0; i < 8; ++i) c = (c & 0x80000000u) ? (c << 1) ^ kCrcPoly : (c << 1);
    t[b] = c;
  }
  return t;
}
constexpr auto kCrcTable = make_crc_table();

// a·b mod P, both polynomials with x^31 in the top bit.
constexpr uint32_t crc_multiply(uint32_t a, uint32_t b) {
  uint32_t r = 0;
  for (int i = 31; i >= 0; --i) {
    r = (r & 0x80000000u) ? (r << 1) ^ kCrcPoly : (r << 1);
    if ((a >> i) & 1) r ^= b;
  }
  return r;
}

// kZeroShift[n] = x^(8n) mod P: feeding n zero bytes multiplies the CRC
// register by it (a zero byte shifts the register by 8 and adds nothing).
constexpr std::array<uint32_t, 256> make_zero_shift() {
  std::array<uint32_t, 256> t{};
  uint32_t v = 1;  // x^0
  for (size_t n = 0; n < t.size(); ++n) {
    t[n] = v;
    for (int i = 0; i < 8; ++i) v = (v & 0x80000000u) ? (v << 1) ^ kCrcPoly : (v << 1);
  }
  return t;
}
constexpr auto kZeroShift = make_zero_shift();

inline uint32_t crc_byte(uint32_t crc, uint8_t b) {
  return (crc << 8) ^ kCrcTable[(crc >> 24) ^ b];
}

// The CRC register after `n` (< 256) copies of `b`.
inline uint32_t crc_run(uint32_t crc, uint8_t b, uint32_t n) {
  if (b == 0) return crc_multiply(crc, kZeroShift[n]);
  for (uint32_t i = 0; i < n; ++i) crc = crc_byte(crc, b);
  return crc;
}

}  // namespace

// Bits of the input, most significant first, from a 64-bit buffer.
class Bzip2Decoder::BitReader {
 public:
  explicit BitReader(Fill fill) : fill_(std::move(fill)) {}

  // The next n (≤ 32) bits; Bzip2DataError when the input ends first.
  uint32_t bits(int n) {
    if (count_ < n) load(n);
    if (count_ < n) truncated();
    count_ -= n;
    return static_cast<uint32_t>(buf_ >> count_) & mask(n);
  }
  bool bit() { return bits(1) != 0; }

  // The next n (≤ 32) bits without consuming them; zeros past the end.
  uint32_t peek(int n) {
    if (count_ < n) load(n);
    if (count_ >= n) return static_cast<uint32_t>(buf_ >> (count_ - n)) & mask(n);
    return static_cast<uint32_t>(buf_ << (n - count_)) & mask(n);
  }
  void skip(int n) {
    if (count_ < n) truncated();
    count_ -= n;
  }

  // Whole input bytes given by fill() and not yet consumed, once the
  // partial byte has been dropped (the stream ends on a byte boundary).
  size_t unused_bytes() const {
    return static_cast<size_t>(count_ / 8) + static_cast<size_t>(end_ - pos_);
  }

 private:
  static uint32_t mask(int n) { return n == 32 ? 0xffffffffu : (1u << n) - 1; }

  // Makes at least n bits available unless the input ends.
  void load(int n) {
    while (count_ < n) {
      if (pos_ == end_) {
        const auto more = fill_();
        if (more.empty()) return;
        pos_ = reinterpret_cast<const uint8_t*>(more.data());
        end_ = pos_ + more.size();
      }
      while (count_ <= 56 && pos_ != end_) {
        buf_ = (buf_ << 8) | *pos_++;
        count_ += 8;
      }
    }
  }

  [[noreturn]] static void truncated() {
    throw Bzip2DataError(
        "the stream is truncated (its input ends before the end-of-stream marker)");
  }

  Fill fill_;
  const uint8_t* pos_ = nullptr;
  const uint8_t* end_ = nullptr;
  uint64_t buf_ = 0;
  int count_ = 0;  // valid bits in the low end of buf_
};

// One coding table, as libbz2's BZ2_hbCreateDecodeTables builds it (which
// also decides which malformed codes are accepted: any whose codes fit).
struct Bzip2Decoder::Huffman {
  static constexpr int kFastBits = 10;
  int32_t limit[kCodeLenSlots] = {};
  int32_t base[kCodeLenSlots] = {};
  int32_t perm[kMaxAlpha] = {};
  int min_len = 0;
  // fast[p]: for a window whose first kFastBits bits are p, the symbol in
  // bits 0-8 and the code's length above, as the limit/base walk decodes it;
  // 0 where the code is longer or invalid (the walk then decides).
  uint16_t fast[1 << kFastBits] = {};

  void build(const uint8_t* length, int alpha) {
    int max_len = 0;
    min_len = 32;
    for (int i = 0; i < alpha; ++i) {
      max_len = std::max<int>(max_len, length[i]);
      min_len = std::min<int>(min_len, length[i]);
    }
    int pp = 0;
    for (int i = min_len; i <= max_len; ++i)
      for (int j = 0; j < alpha; ++j)
        if (length[j] == i) perm[pp++] = j;
    for (int i = 0; i < alpha; ++i) base[length[i] + 1]++;
    for (int i = 1; i < kCodeLenSlots; ++i) base[i] += base[i - 1];
    int32_t vec = 0;
    for (int i = min_len; i <= max_len; ++i) {
      vec += base[i + 1] - base[i];
      limit[i] = vec - 1;
      vec <<= 1;
    }
    for (int i = min_len + 1; i <= max_len; ++i) base[i] = ((limit[i - 1] + 1) << 1) - base[i];
    for (uint32_t p = 0; p < (1u << kFastBits); ++p) {
      for (int len = min_len; len <= kFastBits; ++len) {
        const auto code = static_cast<int32_t>(p >> (kFastBits - len));
        if (code > limit[len]) continue;
        const int32_t index = code - base[len];
        if (index >= 0 && index < kMaxAlpha)
          fast[p] = static_cast<uint16_t>(perm[index] | (len << 9));
        break;
      }
    }
  }
};

Bzip2Decoder::Bzip2Decoder(Fill fill) : bits_(std::make_unique<BitReader>(std::move(fill))) {}
Bzip2Decoder::~Bzip2Decoder() = default;

size_t Bzip2Decoder::unused_input() const { return bits_->unused_bytes(); }

void Bzip2Decoder::fail(const std::string& what) const {
  throw Bzip2DataError("block " + std::to_string(block_number_) + ": " + what);
}

void Bzip2Decoder::read_stream_header() {
  // libbz2 reports a wrong byte as soon as it sees it, before reading on.
  const char expected[3] = {'B', 'Z', 'h'};
  for (char c : expected)
    if (bits_->bits(8) != static_cast<uint8_t>(c))
      throw Bzip2DataError("not a bzip2 stream (bad magic bytes)");
  const uint32_t level = bits_->bits(8);
  if (level < '1' || level > '9') throw Bzip2DataError("not a bzip2 stream (bad block size digit)");
  block_max_ = (level - '0') * 100000;
  // Not zero-filled: only the part a block uses becomes resident (a small
  // stream's block array costs little more than its bytes).
  tt_.resize_discard(block_max_);
}

bool Bzip2Decoder::read_block() {
  BitReader& in = *bits_;
  const uint64_t magic = (uint64_t{in.bits(24)} << 24) | in.bits(24);
  ++block_number_;
  if (magic == kEndMagic) {
    const uint32_t stored = in.bits(32);
    if (stored != combined_crc_)
      throw Bzip2DataError("corrupt data (the stream CRC does not match its blocks)");
    return false;
  }
  if (magic != kBlockMagic) fail("corrupt data (no block header where one must start)");
  block_crc_ = in.bits(32);
  if (in.bit()) throw Bzip2Randomised();
  const uint32_t orig_ptr = in.bits(24);

  // Which byte values occur: 16 groups of 16.
  uint8_t seq_to_unseq[256];
  int n_in_use = 0;
  const uint32_t groups = in.bits(16);
  for (int i = 0; i < 16; ++i) {
    if (((groups >> (15 - i)) & 1) == 0) continue;
    const uint32_t used = in.bits(16);
    for (int j = 0; j < 16; ++j)
      if ((used >> (15 - j)) & 1) seq_to_unseq[n_in_use++] = static_cast<uint8_t>(i * 16 + j);
  }
  if (n_in_use == 0) fail("corrupt data (the block uses no byte value)");
  const int alpha = n_in_use + 2;

  const int n_groups = static_cast<int>(in.bits(3));
  if (n_groups < 2 || n_groups > kMaxGroups) fail("corrupt data (bad number of Huffman tables)");
  int n_selectors = static_cast<int>(in.bits(15));
  if (n_selectors < 1) fail("corrupt data (no selectors)");
  std::vector<uint8_t> selectors(static_cast<size_t>(std::min(n_selectors, kMaxSelectors)));
  uint8_t pos[kMaxGroups];
  for (int i = 0; i < n_groups; ++i) pos[i] = static_cast<uint8_t>(i);
  for (int i = 0; i < n_selectors; ++i) {
    int j = 0;
    while (in.bit())
      if (++j >= n_groups) fail("corrupt data (a selector names no table)");
    // Selectors past the most a 900 KB block can use are read and ignored,
    // as libbz2 1.0.8 does (some encoders round their count up).
    if (i >= kMaxSelectors) continue;
    const uint8_t v = pos[j];  // undo the move-to-front of selectors
    std::memmove(pos + 1, pos, static_cast<size_t>(j));
    pos[0] = v;
    selectors[static_cast<size_t>(i)] = v;
  }
  n_selectors = std::min(n_selectors, kMaxSelectors);

  Huffman tables[kMaxGroups];
  for (int t = 0; t < n_groups; ++t) {
    uint8_t length[kMaxAlpha];
    int curr = static_cast<int>(in.bits(5));
    for (int i = 0; i < alpha; ++i) {
      for (;;) {
        if (curr < 1 || curr > kMaxCodeLen) fail("corrupt data (bad Huffman code length)");
        if (!in.bit()) break;
        curr += in.bit() ? -1 : 1;
      }
      length[i] = static_cast<uint8_t>(curr);
    }
    tables[t].build(length, alpha);
  }

  read_block_symbols(std::span(selectors.data(), static_cast<size_t>(n_selectors)),
                     std::span(tables, static_cast<size_t>(n_groups)), n_in_use, seq_to_unseq);
  if (orig_ptr >= block_len_) fail("corrupt data (the BWT origin lies outside the block)");

  // Inverse BWT: link every position to the next one in text order.
  uint32_t cftab[257] = {};
  for (uint32_t i = 0; i < block_len_; ++i) ++cftab[(tt_[i] & 0xff) + 1];
  for (int i = 1; i <= 256; ++i) cftab[i] += cftab[i - 1];
  for (uint32_t i = 0; i < block_len_; ++i) {
    const uint32_t uc = tt_[i] & 0xff;
    tt_[cftab[uc]++] |= i << 8;
  }
  t_pos_ = tt_[orig_ptr] >> 8;
  block_used_ = 0;
  crc_ = 0xffffffffu;
  last_ = -1;
  same_ = 0;
  in_block_ = true;
  return true;
}

void Bzip2Decoder::read_block_symbols(std::span<const uint8_t> selectors,
                                      std::span<const Huffman> tables, int n_in_use,
                                      const uint8_t* seq_to_unseq) {
  BitReader& in = *bits_;
  const int eob = n_in_use + 1;
  uint8_t mtf[256];
  for (int i = 0; i < 256; ++i) mtf[i] = static_cast<uint8_t>(i);
  size_t group = 0;
  int group_left = 0;
  const Huffman* table = nullptr;
  uint32_t n = 0;
  uint32_t* const tt = tt_.data();

  // The next symbol: a code of the current table, read as libbz2 reads it.
  auto next_symbol = [&]() -> int {
    if (group_left == 0) {
      if (group == selectors.size()) fail("corrupt data (more symbols than selectors)");
      table = &tables[selectors[group++]];
      group_left = kGroupSize;
    }
    --group_left;
    const uint32_t window = in.peek(kMaxCodeLen);
    if (const uint16_t hit = table->fast[window >> (kMaxCodeLen - Huffman::kFastBits)]) {
      in.skip(hit >> 9);
      return hit & 0x1ff;
    }
    int len = table->min_len;
    int32_t code = static_cast<int32_t>(window >> (kMaxCodeLen - len));
    while (code > table->limit[len]) {
      if (++len > kMaxCodeLen) fail("corrupt data (an invalid Huffman code)");
      code = static_cast<int32_t>(window >> (kMaxCodeLen - len));
    }
    in.skip(len);
    const int32_t index = code - table->base[len];
    if (index < 0 || index >= kMaxAlpha) fail("corrupt data (an invalid Huffman code)");
    return table->perm[index];
  };

  int sym = next_symbol();
  for (;;) {
    if (sym == eob) break;
    if (sym <= 1) {  // RUNA / RUNB: a bijective base-2 count of mtf[0]
      int32_t run = -1;
      int32_t weight = 1;
      do {
        if (weight >= 2 * 1024 * 1024) fail("corrupt data (a run longer than any block)");
        run += weight << sym;
        weight <<= 1;
        sym = next_symbol();
      } while (sym <= 1);
      ++run;
      if (run > static_cast<int32_t>(block_max_ - n))
        fail("corrupt data (the block is longer than its header allows)");
      const uint8_t uc = seq_to_unseq[mtf[0]];
      std::fill(tt + n, tt + n + run, uc);
      n += static_cast<uint32_t>(run);
      continue;
    }
    if (n >= block_max_) fail("corrupt data (the block is longer than its header allows)");
    const int index = sym - 1;
    const uint8_t v = mtf[index];
    for (int k = index; k > 0; --k) mtf[k] = mtf[k - 1];  // mostly a short move
    mtf[0] = v;
    tt[n++] = seq_to_unseq[v];
    sym = next_symbol();
  }
  block_len_ = n;
}

void Bzip2Decoder::finish_block() {
  // The encoder always follows four equal bytes with their run length.
  if (same_ == 4) fail("corrupt data (the block ends inside a run)");
  if (~crc_ != block_crc_) fail("corrupt data (the block CRC does not match)");
  combined_crc_ = ((combined_crc_ << 1) | (combined_crc_ >> 31)) ^ block_crc_;
  in_block_ = false;
}

size_t Bzip2Decoder::read(std::span<std::byte> out) {
  uint8_t* p = reinterpret_cast<uint8_t*>(out.data());
  uint8_t* const end = p + out.size();
  while (p < end) {
    if (run_left_ > 0) {
      const uint32_t n = static_cast<uint32_t>(std::min<size_t>(run_left_, end - p));
      std::memset(p, last_run_, n);
      crc_ = crc_run(crc_, last_run_, n);
      p += n;
      run_left_ -= n;
      continue;
    }
    if (!in_block_) {
      if (finished_) break;
      if (block_max_ == 0) read_stream_header();
      if (!read_block()) {
        finished_ = true;
        break;
      }
      continue;
    }
    if (block_used_ == block_len_) {
      finish_block();
      continue;
    }
    // The hot loop: walk the block, writing literals, until a run length,
    // the block's end or the end of `out`.
    const uint32_t* const tt = tt_.data();
    uint32_t t_pos = t_pos_, used = block_used_, crc = crc_;
    int last = last_, same = same_;
    while (p < end && used < block_len_) {
      const uint32_t e = tt[t_pos];
      const uint8_t b = static_cast<uint8_t>(e);
      t_pos = e >> 8;
      ++used;
      if (same == 4) {  // b counts further copies of the run's byte
        run_left_ = b;
        last_run_ = static_cast<uint8_t>(last);
        same = 0;
        last = -1;
        break;
      }
      same = (b == last) ? same + 1 : 1;
      last = b;
      *p++ = b;
      crc = crc_byte(crc, b);
    }
    t_pos_ = t_pos;
    block_used_ = used;
    crc_ = crc;
    last_ = last;
    same_ = same;
  }
  return static_cast<size_t>(p - reinterpret_cast<uint8_t*>(out.data()));
}

}  // namespace bpatch::formats

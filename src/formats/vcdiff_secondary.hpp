// Secondary decompressors for VCDIFF sections, as xdelta3 3.0.x writes
// them. One decoder exists per section kind (data, inst, addr) for the
// whole file: xdelta3 keeps the compressor state from window to window
// (one LZMA stream across all windows; FGK's adaptive tree), so the same
// object must see that kind's sections in order.
//
//   id 1  DJW   static multi-table Huffman, self-contained per section
//   id 2  LZMA  one .xz stream (LZMA2, no check) per section kind, each
//               window's section ending on an LZMA_SYNC_FLUSH boundary
//   id 16 FGK   adaptive Huffman (Faller-Gallager-Knuth), state carried over
//
// Bits are read least significant first within each byte (xdelta3's
// bit_state). Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace bpatch::vcdiff {

class SecondaryDecoder {
 public:
  virtual ~SecondaryDecoder() = default;
  // Decodes all of `in` into exactly out.size() (> 0) bytes. Throws
  // Error(bad_patch, "", why) on malformed input, leftover input or short
  // output; the caller adds the patch name and offset.
  virtual void decode(std::span<const uint8_t> in, std::span<uint8_t> out) = 0;
};

// xdelta3's name for a compressor id ("lzma", "djw", "fgk"); nullopt if unknown.
std::optional<std::string> secondary_name(uint8_t id);

// A fresh decoder for `id`; nullptr if unknown.
std::unique_ptr<SecondaryDecoder> make_secondary(uint8_t id);

std::unique_ptr<SecondaryDecoder> make_lzma_decoder();
std::unique_ptr<SecondaryDecoder> make_djw_decoder();
std::unique_ptr<SecondaryDecoder> make_fgk_decoder();

// Reads bits least significant first, as xdelta3's bit_state does.
class BitReader {
 public:
  explicit BitReader(std::span<const uint8_t> in) : p_(in.data()), end_(in.data() + in.size()) {}

  unsigned bit() {
    if (mask_ == 0x100) {
      if (p_ == end_) fail_end();
      cur_ = *p_++;
      mask_ = 1;
    }
    const unsigned b = (cur_ & mask_) ? 1u : 0u;
    mask_ <<= 1;
    return b;
  }

  // nbits (<= 24) bits, the first read being the most significant.
  uint32_t bits(unsigned nbits) {
    uint32_t v = 0;
    for (unsigned i = 0; i < nbits; ++i) v = (v << 1) | bit();
    return v;
  }

  bool at_end() const { return p_ == end_; }

  // True when the bits of the current byte not read yet are all zero, as
  // xdelta3's encoder pads them (and its decoder checks).
  bool padding_clean() const { return mask_ == 0x100 || (cur_ & ~(mask_ - 1) & 0xFF) == 0; }

 private:
  [[noreturn]] static void fail_end();
  const uint8_t* p_;
  const uint8_t* end_;
  unsigned cur_ = 0;
  unsigned mask_ = 0x100;
};

}  // namespace bpatch::vcdiff

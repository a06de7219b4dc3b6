// VCDIFF (RFC 3284) as xdelta3 3.0.x and open-vcdiff write it: the byte
// layout, its constants, and a bounds-checked cursor over in-memory sections.
//
//   file      := header window*
//   header    := 0xD6 0xC3 0xC4 version:u8 hdr_ind:u8   version 0x00 or 'S' (below)
//                [secondary_id:u8]                      if hdr_ind & VCD_DECOMPRESS (1)
//                [table_len:int near:u8 same:u8
//                 table_delta:byte[table_len-2]]        if hdr_ind & VCD_CODETABLE  (2)
//                [app_len:int app_header:byte[app_len]] if hdr_ind & VCD_APPHEADER  (4)
//   window    := win_ind:u8
//                [seg_len:int seg_off:int]              if win_ind & (VCD_SOURCE 1 | VCD_TARGET 2)
//                enc_len:int                            bytes from tgt_len through the addr section
//                tgt_len:int del_ind:u8
//                data_len:int inst_len:int addr_len:int
//                [adler32:u32be]                        if win_ind & VCD_ADLER32 (4), version 0
//                [checksum:int]                         if win_ind & VCD_CHECKSUM (4), version 'S'
//                data:byte[data_len] inst:byte[inst_len] addr:byte[addr_len]
//   int       := base-128 digits, most significant first, bit 7 set on all but the last
//
// del_ind bits 1/2/4 say the data/inst/addr section is secondary-compressed:
// such a section is `out_len:int payload`, payload decoded by the
// compressor named in the header (xdelta3: 1 DJW, 2 LZMA, 16 FGK), whose
// state carries over from one window to the next, per section kind.
//
// table_delta is itself a complete VCDIFF file, decoded with the default
// code table against the default table's 1536-byte form (see
// vcdiff_code_table.hpp); it must yield exactly 1536 bytes.
//
// Version 'S' (0x53) is open-vcdiff's extended format (its -interleaved and
// -checksum options; SDCH uses it). Two differences, taken from its decoder:
// * VCD_CHECKSUM: the same window bit 4, but the value is an int (at most
//   2^32-1) and is zlib's adler32 *seeded with 0*, not 1, over the target
//   window.
// * Interleaved: a window whose data and address lengths are both 0 keeps
//   everything in its instruction section, in the order a decoder consumes
//   it: opcode, [size of the first half], its data byte(s) or address,
//   [size of the second half], its data or address.
//
// A window's COPY addresses live in one space: [0, seg_len) is the segment
// (of the source for VCD_SOURCE, of earlier output for VCD_TARGET), and
// [seg_len, seg_len + tgt_len) the target window decoded so far.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "bpatch/error.hpp"

namespace bpatch::vcdiff {

inline constexpr uint8_t kMagic[4] = {0xD6, 0xC3, 0xC4, 0x00};
inline constexpr uint8_t kVersionRfc = 0x00;
inline constexpr uint8_t kVersionOpenVcdiff = 'S';

inline constexpr uint8_t kHdrDecompress = 0x01;
inline constexpr uint8_t kHdrCodeTable = 0x02;
inline constexpr uint8_t kHdrAppHeader = 0x04;

inline constexpr uint8_t kWinSource = 0x01;
inline constexpr uint8_t kWinTarget = 0x02;
inline constexpr uint8_t kWinAdler32 = 0x04;

inline constexpr uint8_t kDeltaData = 0x01;
inline constexpr uint8_t kDeltaInst = 0x02;
inline constexpr uint8_t kDeltaAddr = 0x04;

inline constexpr uint8_t kSecondaryDjw = 1;
inline constexpr uint8_t kSecondaryLzma = 2;
inline constexpr uint8_t kSecondaryFgk = 16;

// Limits that keep memory bounded whatever the patch declares.
inline constexpr uint64_t kMaxWindow = uint64_t{64} << 20;   // target window / VCD_TARGET segment
inline constexpr uint64_t kMaxSection = uint64_t{64} << 20;  // one (decompressed) section
// All secondary-decompressed sections of one window together. Only xdelta3
// writes secondary compression, and its windows are at most 16 MiB (its -W
// limit), whose three sections decode to well under 32 MiB.
inline constexpr uint64_t kMaxDecodedSections = uint64_t{32} << 20;
inline constexpr uint64_t kMaxAppHeader = uint64_t{1} << 20;
inline constexpr uint64_t kMaxCodeTableDelta = uint64_t{1} << 16;

// The largest value a VCDIFF integer may carry here: RFC 3284 integers are
// unbounded in principle; xdelta3 writes at most 64-bit file offsets.
inline constexpr uint64_t kMaxInt = (uint64_t{1} << 63) - 1;

// A forward cursor over one in-memory section. Failures throw
// Error(bad_patch, name, "<what> at offset N …") naming the patch offset.
class SectionReader {
 public:
  SectionReader() = default;
  SectionReader(std::span<const uint8_t> bytes, const std::string* name, uint64_t patch_offset,
                const char* what)
      : p_(bytes.data()),
        end_(bytes.data() + bytes.size()),
        begin_(bytes.data()),
        name_(name),
        base_(patch_offset),
        what_(what) {}

  bool empty() const { return p_ == end_; }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  const uint8_t* pos() const { return p_; }

  uint8_t byte() {
    if (p_ == end_) fail("ends early");
    return *p_++;
  }

  uint64_t integer() {
    uint64_t v = 0;
    for (;;) {
      if (p_ == end_) fail("ends inside an integer");
      const uint8_t b = *p_++;
      if (v > (kMaxInt >> 7)) fail("holds an integer too large");
      v = (v << 7) | (b & 0x7F);
      if ((b & 0x80) == 0) return v;
    }
  }

  const uint8_t* take(uint64_t n) {
    if (n > remaining()) fail("is too short for the bytes an instruction needs");
    const uint8_t* at = p_;
    p_ += n;
    return at;
  }

  [[noreturn]] void fail(const std::string& why) const {
    throw Error(Errc::bad_patch, name_ ? *name_ : std::string(),
                std::string(what_) + " section at patch offset " + std::to_string(base_) + " " +
                    why + " (section byte " + std::to_string(p_ - begin_) + ")");
  }

 private:
  const uint8_t* p_ = nullptr;
  const uint8_t* end_ = nullptr;
  const uint8_t* begin_ = nullptr;
  const std::string* name_ = nullptr;
  uint64_t base_ = 0;
  const char* what_ = "";
};

}  // namespace bpatch::vcdiff

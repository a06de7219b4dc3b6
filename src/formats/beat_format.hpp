// What byuu's UPS and BPS ("beat") formats share: the variable-length
// number, the 12-byte checksum footer, and the cap on declared sizes.
//
// The number:
//   varint := { byte with bit 7 clear } byte with bit 7 set
// Seven data bits per byte, least significant group first; every
// continuation adds one to the next group (value += shift after each
// non-final byte), so each number has exactly one encoding:
//   value = 0, shift = 1
//   loop: x = next byte; value += (x & 0x7f) * shift
//         if x & 0x80: done; shift <<= 7; value += shift
// read_beat_varint() refuses any number that does not fit in 64 bits
// (Errc::bad_patch naming the offset where the number began).
//
// The footer (last 12 bytes, little-endian):
//   crc32(source) crc32(target) crc32(patch without these last 4 bytes)
#pragma once

#include <cstdint>
#include <limits>
#include <string>

#include "bpatch/error.hpp"
#include "bpatch/io.hpp"
#include "formats/crc32.hpp"

namespace bpatch::formats {

inline uint64_t read_beat_varint(ByteReader& in, const char* what) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  const uint64_t start = in.offset();
  const auto overflow = [&]() {
    in.seek(start);
    in.fail(std::string(what) + ": variable-length number does not fit in 64 bits");
  };
  uint64_t value = 0;
  uint64_t shift = 1;
  for (;;) {
    const uint8_t x = in.u8();
    const uint64_t group = x & 0x7F;
    if (group != 0 && shift > kMax / group) overflow();
    if (value > kMax - group * shift) overflow();
    value += group * shift;
    if (x & 0x80) return value;
    if (shift > (kMax >> 7)) overflow();
    shift <<= 7;
    if (value > kMax - shift) overflow();
    value += shift;
  }
}

// Appends the encoding of `value` (for tests and tools that write patches).
template <typename Out>
void write_beat_varint(Out& out, uint64_t value) {
  for (;;) {
    const uint8_t low = value & 0x7F;
    value >>= 7;
    if (value == 0) {
      out.push_back(static_cast<typename Out::value_type>(low | 0x80));
      return;
    }
    out.push_back(static_cast<typename Out::value_type>(low));
    --value;
  }
}

// Declared source/target sizes above this are refused (Errc::too_large)
// before any work: no file bpatch patches is that large, and a hostile
// patch must not make it stream petabytes of zeros.
constexpr uint64_t kMaxDeclaredSize = uint64_t{1} << 48;

inline void check_declared_size(const Source& patch, uint64_t size, const char* what) {
  if (size > kMaxDeclaredSize)
    throw Error(Errc::too_large, patch.name(),
                std::string("declared ") + what + " size " + std::to_string(size) +
                    " is beyond any sane file size");
}

struct ChecksumFooter {
  uint32_t source_crc = 0;
  uint32_t target_crc = 0;
  uint32_t patch_crc = 0;
};

// Reads the footer; the caller has checked that the patch is long enough.
inline ChecksumFooter read_checksum_footer(const Source& patch) {
  ByteReader in(patch, patch.size() - 12, 12);
  ChecksumFooter f;
  f.source_crc = in.u32le();
  f.target_crc = in.u32le();
  f.patch_crc = in.u32le();
  return f;
}

inline std::string crc_hex(uint32_t crc) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s = "0x00000000";
  for (int i = 0; i < 8; ++i) s[9 - i] = kDigits[(crc >> (4 * i)) & 0xF];
  return s;
}

// Errc::checksum unless the CRC-32 of all but the patch's last 4 bytes is
// the footer's patch CRC: any damaged or truncated patch stops here.
inline void verify_patch_crc(const Source& patch, const ChecksumFooter& footer,
                             const char* format) {
  const uint32_t actual = crc32_of(patch, 0, patch.size() - 4);
  if (actual != footer.patch_crc)
    throw Error(Errc::checksum, patch.name(),
                std::string(format) + " patch is damaged: its CRC32 is " + crc_hex(actual) +
                    " but its footer says " + crc_hex(footer.patch_crc));
}

}  // namespace bpatch::formats

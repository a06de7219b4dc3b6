// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, init and final XOR
// 0xFFFFFFFF) — the checksum BPS and UPS patches carry for the source, the
// target and the patch itself. Same value as zlib's crc32().
//
// Crc32 is a streaming state (zlib's crc32() underneath).
// crc32_of() checksums a range of a Source, reading it in bounded chunks.
// Thread-safety: a Crc32 object belongs to one thread; the functions may be
// called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace bpatch {
class Source;
}

namespace bpatch::formats {

class Crc32 {
 public:
  void update(std::span<const std::byte> data);
  // Feeds `count` copies of `value` (RLE runs, zero fill).
  void update_fill(std::byte value, uint64_t count);
  uint32_t value() const { return ~state_; }

 private:
  uint32_t state_ = 0xFFFFFFFFu;
};

uint32_t crc32(std::span<const std::byte> data);

// CRC-32 of src [offset, offset+length); throws like Source::read when the
// range is not inside src.
// A range of 1 MiB or more of a file is read once per process: the result is
// remembered by the file's identity (dev, inode, size, mtime).
uint32_t crc32_of(const Source& src, uint64_t offset, uint64_t length);
uint32_t crc32_of_uncached(const Source& src, uint64_t offset, uint64_t length);

}  // namespace bpatch::formats

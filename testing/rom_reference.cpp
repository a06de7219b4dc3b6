// Reference IPS/BPS/UPS appliers (see rom_reference.hpp): plain loops over
// whole buffers, 128-bit arithmetic for the overflow rules.
#include "testing/rom_reference.hpp"

#include <algorithm>
#include <cstring>

namespace bpatch::testing {
namespace {

__extension__ typedef unsigned __int128 u128;

constexpr uint64_t kMaxDeclared = uint64_t{1} << 48;
constexpr u128 kMax64 = ~uint64_t{0};

uint8_t at(const Bytes& b, size_t i) { return std::to_integer<uint8_t>(b[i]); }

bool starts_with(const Bytes& b, const char* magic) {
  const size_t n = std::strlen(magic);
  return b.size() >= n && std::memcmp(b.data(), magic, n) == 0;
}

uint32_t le32(const Bytes& b, size_t i) {
  return uint32_t{at(b, i)} | uint32_t{at(b, i + 1)} << 8 | uint32_t{at(b, i + 2)} << 16 |
         uint32_t{at(b, i + 3)} << 24;
}

// A beat varint from b[pos, end); nullopt when it overflows 64 bits or runs off.
std::optional<uint64_t> varint(const Bytes& b, size_t& pos, size_t end) {
  u128 value = 0, shift = 1;
  for (;;) {
    if (pos >= end) return std::nullopt;
    const uint8_t x = at(b, pos++);
    value += (x & 0x7F) * shift;
    if (value > kMax64) return std::nullopt;
    if (x & 0x80) return static_cast<uint64_t>(value);
    shift <<= 7;
    if (shift > kMax64) return std::nullopt;
    value += shift;
    if (value > kMax64) return std::nullopt;
  }
}

bool patch_crc_ok(const Bytes& patch) {
  return reference_crc32(std::span(patch.data(), patch.size() - 4)) ==
         le32(patch, patch.size() - 4);
}

// Moves a cursor by a signed beat offset, staying in [0, limit].
bool move(uint64_t& cursor, uint64_t delta, uint64_t limit) {
  const uint64_t d = delta >> 1;
  if (delta & 1) {
    if (d > cursor) return false;
    cursor -= d;
  } else {
    if (u128{cursor} + d > limit) return false;
    cursor += d;
  }
  return true;
}

}  // namespace

std::optional<Bytes> reference_apply_ips(const Bytes& patch, const Bytes& old) {
  if (patch.size() < 8 || !starts_with(patch, "PATCH")) return std::nullopt;
  Bytes out = old;
  size_t pos = 5;
  const auto be = [&](int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; ++i) v = v << 8 | at(patch, pos++);
    return v;
  };
  for (;;) {
    if (patch.size() - pos < 3) return std::nullopt;
    const uint32_t offset = be(3);
    if (offset == 0x454F46) break;
    if (patch.size() - pos < 2) return std::nullopt;
    const uint32_t size = be(2);
    const bool rle = size == 0;
    if (rle && patch.size() - pos < 3) return std::nullopt;
    const uint32_t count = rle ? be(2) : size;
    if (count == 0) return std::nullopt;
    if (!rle && patch.size() - pos < size) return std::nullopt;
    if (out.size() < offset + count) out.resize(offset + count, std::byte{0});
    for (uint32_t i = 0; i < count; ++i) out[offset + i] = rle ? patch[pos] : patch[pos + i];
    pos += rle ? 1 : size;
  }
  if (patch.size() - pos == 3) {
    const uint32_t truncate = be(3);
    if (truncate >= old.size()) return std::nullopt;
    out.resize(truncate);
  } else if (pos != patch.size()) {
    return std::nullopt;
  }
  return out;
}

std::optional<Bytes> reference_apply_bps(const Bytes& patch, const Bytes& old,
                                         bool check_target_crc) {
  if (patch.size() < 19 || !starts_with(patch, "BPS1") || !patch_crc_ok(patch)) return std::nullopt;
  const size_t end = patch.size() - 12;
  size_t pos = 4;
  const auto source_size = varint(patch, pos, end);
  const auto target_size = source_size ? varint(patch, pos, end) : std::nullopt;
  const auto meta = target_size ? varint(patch, pos, end) : std::nullopt;
  if (!meta || *source_size > kMaxDeclared || *target_size > kMaxDeclared || *meta > end - pos)
    return std::nullopt;
  pos += *meta;
  if (old.size() != *source_size || reference_crc32(old) != le32(patch, end)) return std::nullopt;

  Bytes out;
  uint64_t source_cursor = 0, target_cursor = 0;
  while (pos < end) {
    const auto word = varint(patch, pos, end);
    if (!word) return std::nullopt;
    const uint64_t length = (*word >> 2) + 1;
    if (length > *target_size - out.size()) return std::nullopt;
    switch (*word & 3) {
      case 0:  // SourceRead
        if (out.size() > old.size() || length > old.size() - out.size()) return std::nullopt;
        for (uint64_t i = 0; i < length; ++i) out.push_back(old[out.size()]);
        break;
      case 1:  // TargetRead
        if (length > end - pos) return std::nullopt;
        out.insert(out.end(), patch.begin() + pos, patch.begin() + pos + length);
        pos += length;
        break;
      case 2: {  // SourceCopy
        const auto delta = varint(patch, pos, end);
        if (!delta || !move(source_cursor, *delta, old.size())) return std::nullopt;
        if (length > old.size() - source_cursor) return std::nullopt;
        for (uint64_t i = 0; i < length; ++i) out.push_back(old[source_cursor++]);
        break;
      }
      default: {  // TargetCopy
        const auto delta = varint(patch, pos, end);
        if (!delta || !move(target_cursor, *delta, out.size())) return std::nullopt;
        if (target_cursor >= out.size()) return std::nullopt;
        for (uint64_t i = 0; i < length; ++i) out.push_back(out[target_cursor++]);
        break;
      }
    }
  }
  if (out.size() != *target_size) return std::nullopt;
  if (check_target_crc && reference_crc32(out) != le32(patch, end + 4)) return std::nullopt;
  return out;
}

std::optional<Bytes> reference_apply_ups(const Bytes& patch, const Bytes& old,
                                         bool check_target_crc) {
  if (patch.size() < 18 || !starts_with(patch, "UPS1") || !patch_crc_ok(patch)) return std::nullopt;
  const size_t end = patch.size() - 12;
  size_t pos = 4;
  const auto input_size = varint(patch, pos, end);
  const auto output_size = input_size ? varint(patch, pos, end) : std::nullopt;
  if (!output_size || *input_size > kMaxDeclared || *output_size > kMaxDeclared)
    return std::nullopt;
  const uint32_t input_crc = le32(patch, end), output_crc = le32(patch, end + 4);
  const uint32_t old_crc = reference_crc32(old);
  uint64_t out_size;
  uint32_t expected_crc;
  if (old.size() == *input_size && old_crc == input_crc) {
    out_size = *output_size, expected_crc = output_crc;
  } else if (old.size() == *output_size && old_crc == output_crc) {
    out_size = *input_size, expected_crc = input_crc;
  } else {
    return std::nullopt;
  }
  const uint64_t limit = std::max(*input_size, *output_size);
  const auto input = [&](uint64_t p) { return p < old.size() ? old[p] : std::byte{0}; };
  Bytes out(out_size);
  for (uint64_t p = 0; p < out_size; ++p) out[p] = input(p);
  uint64_t p = 0;
  while (pos < end) {
    const auto skip = varint(patch, pos, end);
    if (!skip || p > limit || *skip > limit - p) return std::nullopt;
    p += *skip;
    for (;;) {
      if (pos >= end) return std::nullopt;
      const std::byte x = patch[pos++];
      if (x != std::byte{0} && p >= limit) return std::nullopt;
      if (p < out_size) out[p] = input(p) ^ x;
      ++p;
      if (x == std::byte{0}) break;
    }
  }
  if (check_target_crc && reference_crc32(out) != expected_crc) return std::nullopt;
  return out;
}

std::optional<DeclaredSizes> beat_declared_sizes(const Bytes& patch) {
  if (!starts_with(patch, "BPS1") && !starts_with(patch, "UPS1")) return std::nullopt;
  size_t pos = 4;
  const auto source = varint(patch, pos, patch.size());
  const auto target = source ? varint(patch, pos, patch.size()) : std::nullopt;
  if (!target) return std::nullopt;
  return DeclaredSizes{*source, *target};
}

}  // namespace bpatch::testing

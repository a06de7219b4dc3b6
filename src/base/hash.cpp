#include "bpatch/hash.hpp"

#include <xxhash.h>

#include <vector>

#include "bpatch/file_system.hpp"

namespace bpatch {

std::string Hash128::hex() const {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 0; i < 16; ++i) {
    out[15 - i] = kDigits[(high >> (4 * i)) & 0xf];
    out[31 - i] = kDigits[(low >> (4 * i)) & 0xf];
  }
  return out;
}

std::optional<Hash128> Hash128::from_hex(std::string_view hex) {
  if (hex.size() != 32) return std::nullopt;
  Hash128 h;
  for (size_t i = 0; i < 32; ++i) {
    const char c = hex[i];
    uint64_t v;
    if (c >= '0' && c <= '9')
      v = c - '0';
    else if (c >= 'a' && c <= 'f')
      v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v = c - 'A' + 10;
    else
      return std::nullopt;
    uint64_t& half = i < 16 ? h.high : h.low;
    half = (half << 4) | v;
  }
  return h;
}

struct Hasher::State {
  XXH3_state_t* xxh = XXH3_createState();
  ~State() { XXH3_freeState(xxh); }
};

Hasher::Hasher() : state_(std::make_unique<State>()) {
  if (!state_->xxh) throw std::bad_alloc();
  XXH3_128bits_reset(state_->xxh);
}
Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::update(std::span<const std::byte> data) {
  XXH3_128bits_update(state_->xxh, data.data(), data.size());
}

Hash128 Hasher::digest() const {
  const XXH128_hash_t h = XXH3_128bits_digest(state_->xxh);
  return Hash128{h.high64, h.low64};
}

Hash128 hash_bytes(std::span<const std::byte> data) {
  const XXH128_hash_t h = XXH3_128bits(data.data(), data.size());
  return Hash128{h.high64, h.low64};
}

Hash128 hash_file(FileSystem& fs, const std::string& path) {
  auto file = fs.open(path, OpenMode::read);
  file->advise_sequential();
  Hasher hasher;
  std::vector<std::byte> buf(1 << 20);
  uint64_t offset = 0;
  for (;;) {
    const size_t n = file->read_at(offset, buf);
    if (n == 0) break;
    hasher.update(std::span(buf.data(), n));
    offset += n;
  }
  return hasher.digest();
}

}  // namespace bpatch

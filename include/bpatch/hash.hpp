// XXH3-128 content hashes, as used by `expect=xxh3:…`, the manifest and
// `bpatch hash`. hex() is the canonical (big-endian) form `xxhsum -H2` prints.
//
// Hasher is a streaming state: feed it with update(), read digest() at any
// time. Not thread-safe; cheap to move.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace bpatch {

class FileSystem;

struct Hash128 {
  uint64_t high = 0;
  uint64_t low = 0;

  // 32 lowercase hex digits, high half first (xxhsum -H2's canonical form).
  std::string hex() const;
  // Accepts exactly 32 hex digits (either case); nullopt otherwise.
  static std::optional<Hash128> from_hex(std::string_view hex);

  bool operator==(const Hash128&) const = default;
};

class Hasher {
 public:
  Hasher();
  ~Hasher();
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;

  void update(std::span<const std::byte> data);
  Hash128 digest() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

Hash128 hash_bytes(std::span<const std::byte> data);

// Hashes a whole file, read through fs.
Hash128 hash_file(FileSystem& fs, const std::string& path);

}  // namespace bpatch

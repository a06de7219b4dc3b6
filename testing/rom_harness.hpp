// Small helpers shared by the IPS, BPS and UPS tests: fixture loading,
// applying a patch held in memory, capturing the error code of a failure,
// and a sink that records how the output reached it.
#pragma once

#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bpatch/error.hpp"
#include "bpatch/format.hpp"
#include "bpatch/io.hpp"
#include "testing/rom_encoders.hpp"

namespace bpatch::testing {

#ifdef BPATCH_SOURCE_DIR
inline std::string vector_path(const std::string& relative) {
  return std::string(BPATCH_SOURCE_DIR) + "/fixtures/vectors/" + relative;
}
#endif

inline Bytes read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Bytes out(chars.size());
  for (size_t i = 0; i < chars.size(); ++i)
    out[i] = std::byte(static_cast<unsigned char>(chars[i]));
  return out;
}

// Applies `patch` to `old` through format detection, into memory.
inline Bytes apply_in_memory(const Bytes& patch, const Bytes& old) {
  const MemorySource p(std::span<const std::byte>(patch), "patch");
  const MemorySource o(std::span<const std::byte>(old), "old");
  MemorySink out;
  apply_patch(p, o, out);
  return out.data();
}

// The code of the Error the call throws; nullopt when it returns normally.
template <typename F>
std::optional<Errc> error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return std::nullopt;
}

inline std::optional<Errc> apply_error(const Bytes& patch, const Bytes& old) {
  return error_of([&] { apply_in_memory(patch, old); });
}

inline std::optional<Errc> check_error(const Bytes& patch, const Bytes& old) {
  return error_of([&] {
    const MemorySource p(std::span<const std::byte>(patch), "patch");
    const MemorySource o(std::span<const std::byte>(old), "old");
    check_source(p, o);
  });
}

inline SourceCheck check_in_memory(const Bytes& patch, const Bytes& old) {
  const MemorySource p(std::span<const std::byte>(patch), "patch");
  const MemorySource o(std::span<const std::byte>(old), "old");
  return check_source(p, o);
}

inline PatchInfo inspect_in_memory(const Bytes& patch) {
  const MemorySource p(std::span<const std::byte>(patch), "patch");
  return inspect_patch(p);
}

inline std::string detail(const PatchInfo& info, const std::string& key) {
  for (const auto& [k, v] : info.details)
    if (k == key) return v;
  return "<missing>";
}

// A MemorySink that also counts how the bytes arrived: by write(), by
// write_from() (the path a file sink turns into a kernel copy) and by
// write_fill().
class RecordingSink final : public Sink {
 public:
  void write(std::span<const std::byte> data) override {
    ++writes;
    inner.write(data);
  }
  void write_from(const Source& src, uint64_t offset, uint64_t length) override {
    ++write_froms;
    bytes_from += length;
    Sink::write_from(src, offset, length);
  }
  void write_fill(std::byte value, uint64_t length) override {
    ++fills;
    Sink::write_fill(value, length);
  }
  void read_back(uint64_t offset, std::span<std::byte> out) override {
    ++read_backs;
    inner.read_back(offset, out);
  }
  uint64_t size() const override { return inner.size(); }

  MemorySink inner;
  int writes = 0, write_froms = 0, fills = 0, read_backs = 0;
  uint64_t bytes_from = 0;
};

}  // namespace bpatch::testing

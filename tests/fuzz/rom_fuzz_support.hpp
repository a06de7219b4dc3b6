// What the IPS, BPS and UPS fuzz harnesses share: a sink that caps the
// output, a little-endian store, and the check of a decode against the
// reference decoder.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <optional>

#include "bpatch/error.hpp"
#include "bpatch/format.hpp"
#include "bpatch/io.hpp"
#include "testing/rom_reference.hpp"

namespace bpatch::testing {

inline void put_le32_at(Bytes& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = std::byte((v >> (8 * i)) & 0xFF);
}

// Holds at most 1 MiB of output, then fails the decode with an Error.
class CappedSink final : public Sink {
 public:
  void write(std::span<const std::byte> data) override {
    if (inner_.size() + data.size() > (1u << 20))
      throw Error(Errc::too_large, "<fuzz sink>", "output cap");
    inner_.write(data);
  }
  void read_back(uint64_t offset, std::span<std::byte> out) override {
    inner_.read_back(offset, out);
  }
  uint64_t size() const override { return inner_.size(); }

 private:
  MemorySink inner_;
};

// Decodes `patch` against `old` and aborts (a finding) unless the library
// fails exactly when the reference does, and otherwise agrees byte for byte.
inline void check_against_reference(const Source& patch, const Source& old,
                                    const std::optional<Bytes>& expected) {
  try {
    check_source(patch, old);
  } catch (const Error&) {
  }
  MemorySink out;
  bool ok = true;
  try {
    apply_patch(patch, old, out);
  } catch (const Error&) {
    ok = false;
  }
  if (ok != expected.has_value()) std::abort();
  if (ok && out.data() != *expected) std::abort();
}

}  // namespace bpatch::testing

// libFuzzer target for the IPS decoder, differential against the test-side
// reference applier: both must accept the same patches and produce the same
// bytes. Input: 2 bytes of source length (mod 4096), then the patch after its
// "PATCH" magic (the harness prepends it, so every input reaches the records).
// Patches that inspect refuses or that write past 64 KiB are decoded into a
// counting sink only.
// Only bpatch::Error is caught: any other exception or disagreement aborts.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "bpatch/error.hpp"
#include "bpatch/format.hpp"
#include "rom_fuzz_support.hpp"
#include "testing/rom_reference.hpp"

using namespace bpatch;
using namespace bpatch::testing;

namespace {

// Counts the output; IPS never reads its output back.
class CountingSink final : public Sink {
 public:
  void write(std::span<const std::byte> data) override { size_ += data.size(); }
  void write_from(const Source& src, uint64_t offset, uint64_t length) override {
    check_range(src, offset, length);
    size_ += length;
  }
  void write_fill(std::byte, uint64_t length) override { size_ += length; }
  void read_back(uint64_t, std::span<std::byte>) override { std::abort(); }
  uint64_t size() const override { return size_; }

 private:
  uint64_t size_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t source_size = (data[0] | size_t{data[1]} << 8) % 4096;
  Bytes old(source_size);
  for (size_t i = 0; i < source_size; ++i) old[i] = std::byte((i * 131 + 7) & 0xFF);
  Bytes patch = to_bytes("PATCH");
  for (size_t i = 2; i < size; ++i) patch.push_back(std::byte{data[i]});

  const MemorySource p(std::span<const std::byte>(patch), "patch");
  const MemorySource o(std::span<const std::byte>(old), "old");
  uint64_t writes_up_to = 0;
  bool well_formed = true;
  try {
    for (const auto& [key, value] : inspect_patch(p).details)
      if (key == "writes up to") writes_up_to = std::stoull(value);
  } catch (const Error&) {
    well_formed = false;
  }
  if (!well_formed || writes_up_to > (1u << 16)) {
    // Malformed, or too large to compare quickly: decode into a sink that
    // only counts.
    // A patch inspect refuses must be refused by apply too.
    CountingSink counting;
    try {
      apply_patch(p, o, counting);
    } catch (const Error&) {
      return 0;
    }
    if (!well_formed) std::abort();
    return 0;
  }
  check_against_reference(p, o, reference_apply_ips(patch, old));
  return 0;
}

// libFuzzer target for the IPS decoder, differential against the test-side
// reference applier: both must accept the same patches and produce the same
// bytes. Input: 2 bytes of source length (mod 4096), then the patch after its
// "PATCH" magic (the harness prepends it, so every input reaches the records).
// Only bpatch::Error is caught: any other exception or disagreement aborts.
#include <cstdint>
#include <cstdlib>

#include "bpatch/error.hpp"
#include "bpatch/format.hpp"
#include "testing/rom_reference.hpp"

using namespace bpatch;
using namespace bpatch::testing;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t source_size = (data[0] | size_t{data[1]} << 8) % 4096;
  Bytes old(source_size);
  for (size_t i = 0; i < source_size; ++i) old[i] = std::byte((i * 131 + 7) & 0xFF);
  Bytes patch = to_bytes("PATCH");
  for (size_t i = 2; i < size; ++i) patch.push_back(std::byte{data[i]});

  const MemorySource p(std::span<const std::byte>(patch), "patch");
  const MemorySource o(std::span<const std::byte>(old), "old");
  try {
    inspect_patch(p);
  } catch (const Error&) {
  }
  try {
    check_source(p, o);
  } catch (const Error&) {
  }
  const std::optional<Bytes> expected = reference_apply_ips(patch, old);
  MemorySink out;
  bool ok = true;
  try {
    apply_patch(p, o, out);
  } catch (const Error&) {
    ok = false;
  }
  if (ok != expected.has_value()) std::abort();
  if (ok && out.data() != *expected) std::abort();
  return 0;
}

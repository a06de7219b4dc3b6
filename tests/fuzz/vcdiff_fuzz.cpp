// libFuzzer target for the VCDIFF decoder. Input: a whole patch, applied
// against a fixed 64 KiB old file (byte i = (i*167 + i/256) & 0xFF), so
// seeds made by xdelta3 against that file reach deep into the windows.
// The harness checks inspect/apply agree: a patch that applies must yield
// exactly the target size inspect reported. Patches declaring more than
// 4 MiB of target are only inspected (keeps iterations fast). Only
// bpatch::Error is caught: any other exception or disagreement aborts.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "bpatch/error.hpp"
#include "bpatch/format.hpp"
#include "bpatch/io.hpp"

using namespace bpatch;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<std::byte> old_bytes = [] {
    std::vector<std::byte> b(64 << 10);
    for (size_t i = 0; i < b.size(); ++i) b[i] = std::byte((i * 167 + i / 256) & 0xFF);
    return b;
  }();
  const MemorySource patch(std::span(reinterpret_cast<const std::byte*>(data), size), "patch");
  const MemorySource old(std::span<const std::byte>(old_bytes), "old");
  if (detect_format(patch) != Format::vcdiff) return 0;

  std::optional<uint64_t> target_size;
  try {
    target_size = inspect_patch(patch).target_size;
  } catch (const Error&) {
  }
  if (target_size && *target_size > (4u << 20)) return 0;
  try {
    check_source(patch, old);
  } catch (const Error&) {
  }
  MemorySink out;
  try {
    apply_patch(patch, old, out);
  } catch (const Error&) {
    return 0;
  }
  // apply accepted the patch, so inspect must have too, with the same size.
  if (!target_size || *target_size != out.size()) std::abort();
  return 0;
}

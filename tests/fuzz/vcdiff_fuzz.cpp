// libFuzzer target for the VCDIFF decoder. Input: a whole patch, applied
// against a fixed 64 KiB old file (byte i = (i*167 + i/256) & 0xFF), so
// seeds made by xdelta3 against that file reach deep into the windows.
// The harness checks inspect/apply agree: a patch that applies must yield
// exactly the target size inspect reported. Patches declaring more than
// 4 MiB of target are only inspected (keeps iterations fast).
//
// An input starting "SEC" instead drives one secondary decompressor
// directly: byte 3 is its id (1 djw, 2 lzma, 16 fgk), bytes 4-5 an output
// size - 1 (little-endian), the rest the compressed bytes, decoded twice
// with the same decoder to exercise the state kept between sections.
// Only bpatch::Error is caught: any other exception or disagreement aborts.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "bpatch/error.hpp"
#include "bpatch/format.hpp"
#include "bpatch/io.hpp"
#include "formats/vcdiff_secondary.hpp"

using namespace bpatch;

namespace {

void fuzz_secondary(const uint8_t* data, size_t size) {
  if (size < 6) return;
  auto decoder = bpatch::vcdiff::make_secondary(data[3]);
  if (!decoder) return;
  std::vector<uint8_t> out(size_t{data[4]} + size_t{data[5]} * 256 + 1);
  const std::span<const uint8_t> in(data + 6, size - 6);
  for (int round = 0; round < 2; ++round) {
    try {
      decoder->decode(in, out);
    } catch (const Error&) {
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size >= 3 && data[0] == 'S' && data[1] == 'E' && data[2] == 'C') {
    fuzz_secondary(data, size);
    return 0;
  }
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

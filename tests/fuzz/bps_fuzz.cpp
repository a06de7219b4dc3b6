// libFuzzer target for the BPS decoder, differential against the test-side
// reference applier. Input: a flags byte, a source-length byte (x16), then
// the patch after its "BPS1" magic. Unless the flags say otherwise the
// harness writes the right source CRC, the CRC the result must have and the
// patch CRC into the footer, so the fuzzer explores the actions rather than
// the checksums. Patches declaring more than 64 KiB are decoded into a sink
// capped at 1 MiB, without the reference. Only bpatch::Error is caught: any other exception or
// disagreement aborts.
#include <cstdint>
#include <cstdlib>

#include "bpatch/error.hpp"
#include "bpatch/format.hpp"
#include "rom_fuzz_support.hpp"
#include "testing/rom_reference.hpp"

using namespace bpatch;
using namespace bpatch::testing;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t flags = data[0];
  const size_t source_size = size_t{data[1]} * 16;
  Bytes old(source_size);
  for (size_t i = 0; i < source_size; ++i) old[i] = std::byte((i * 167 + i / 256) & 0xFF);
  Bytes patch = to_bytes("BPS1");
  for (size_t i = 2; i < size; ++i) patch.push_back(std::byte{data[i]});

  const auto sizes = beat_declared_sizes(patch);
  const bool small = !sizes || (sizes->source <= (1u << 16) && sizes->target <= (1u << 16));
  if (patch.size() >= 19) {
    const size_t footer = patch.size() - 12;
    if (!(flags & 1)) put_le32_at(patch, footer, reference_crc32(old));
    if (!(flags & 4)) fix_patch_crc(patch);
    if (small && !(flags & 2)) {
      if (auto result = reference_apply_bps(patch, old, /*check_target_crc=*/false)) {
        put_le32_at(patch, footer + 4, reference_crc32(*result));
        if (!(flags & 4)) fix_patch_crc(patch);
      }
    }
  }

  const MemorySource p(std::span<const std::byte>(patch), "patch");
  const MemorySource o(std::span<const std::byte>(old), "old");
  try {
    inspect_patch(p);
  } catch (const Error&) {
  }
  if (!small) {
    // Too large for the reference: only check that the decoder fails cleanly
    // or stops at the sink's cap without misbehaving.
    CappedSink capped;
    try {
      apply_patch(p, o, capped);
    } catch (const Error&) {
    }
    return 0;
  }
  check_against_reference(p, o, reference_apply_bps(patch, old));
  return 0;
}

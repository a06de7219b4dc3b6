// libFuzzer target for the UPS decoder, differential against the test-side
// reference applier. Input: a flags byte, a source-length byte (x16), then
// the patch after its "UPS1" magic. Unless the flags say otherwise the
// harness writes the source's CRC into the input side of the footer (or,
// with flag 8, the output side, to apply in reverse), the CRC the result must
// have into the other side, and the patch CRC, so the fuzzer explores the
// hunks rather than the checksums. Patches declaring more than 64 KiB are
// decoded into a sink capped at 1 MiB, without the reference. Only
// bpatch::Error is caught: any other exception or disagreement aborts.
#include <cstdint>
#include <cstdlib>

#include "bpatch/error.hpp"
#include "bpatch/format.hpp"
#include "testing/rom_reference.hpp"

using namespace bpatch;
using namespace bpatch::testing;

namespace {

void put_le32_at(Bytes& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = std::byte((v >> (8 * i)) & 0xFF);
}

// Holds at most 1 MiB of output, then fails the decode with an Error.
class CappedSink final : public Sink {
 public:
  void write(std::span<const std::byte> data) override {
    if (inner_.size() + data.size() > (1u << 20)) throw Error(Errc::too_large, "<fuzz sink>", "output cap");
    inner_.write(data);
  }
  void read_back(uint64_t offset, std::span<std::byte> out) override { inner_.read_back(offset, out); }
  uint64_t size() const override { return inner_.size(); }

 private:
  MemorySink inner_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t flags = data[0];
  const size_t source_size = size_t{data[1]} * 16;
  Bytes old(source_size);
  for (size_t i = 0; i < source_size; ++i) old[i] = std::byte((i * 167 + i / 256) & 0xFF);
  Bytes patch = to_bytes("UPS1");
  for (size_t i = 2; i < size; ++i) patch.push_back(std::byte{data[i]});

  const auto sizes = beat_declared_sizes(patch);
  const bool small = !sizes || (sizes->source <= (1u << 16) && sizes->target <= (1u << 16));
  if (patch.size() >= 18) {
    const size_t footer = patch.size() - 12;
    const size_t source_side = footer + ((flags & 8) ? 4 : 0);
    const size_t result_side = footer + ((flags & 8) ? 0 : 4);
    if (!(flags & 1)) put_le32_at(patch, source_side, reference_crc32(old));
    if (!(flags & 4)) fix_patch_crc(patch);
    if (small && !(flags & 2)) {
      if (auto result = reference_apply_ups(patch, old, /*check_target_crc=*/false)) {
        put_le32_at(patch, result_side, reference_crc32(*result));
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
  try {
    check_source(p, o);
  } catch (const Error&) {
  }
  const std::optional<Bytes> expected = reference_apply_ups(patch, old);
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

// libFuzzer target for the zstd patch-from decoder.
//
// Input layout: mode:u8 old_len:u16le old[old_len] rest. With mode bit 0
// clear, `rest` is the patch. With it set, `rest` is the new file's content
// and the harness compresses it with libzstd, `old` as the prefix and the
// level in mode bits 1-4 (with bit 5 the content checksum is left out), so
// the decoder sees valid frames too; bit 6 then flips one byte of the frame
// (at the offset rest[0] picks) to reach the checks behind valid headers.
//
// inspect_patch and check_source must throw bpatch::Error or return; a
// decode must throw Error or produce exactly the frame's declared content
// size, and for a frame the harness built unflipped, exactly `rest`.
// Anything else traps, which libFuzzer reports as a finding.
#include <zstd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "bpatch/error.hpp"
#include "bpatch/format.hpp"
#include "formats/zstd_patch.hpp"

namespace {

// Frames declaring more output than this (or none) are only inspected: the
// output is collected in memory here.
constexpr uint64_t kMaxNewSize = 8 << 20;

std::vector<uint8_t> compress(std::span<const uint8_t> content, std::span<const uint8_t> old,
                              int level, bool checksum) {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  if (!c) return {};
  ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, checksum ? 1 : 0);
  ZSTD_CCtx_refPrefix(c, old.data(), old.size());
  std::vector<uint8_t> out(ZSTD_compressBound(content.size()));
  const size_t n = ZSTD_compress2(c, out.data(), out.size(), content.data(), content.size());
  ZSTD_freeCCtx(c);
  if (ZSTD_isError(n)) return {};
  out.resize(n);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const uint8_t mode = data[0];
  const size_t old_len = std::min<size_t>(data[1] | (size_t{data[2]} << 8), size - 3);
  const std::span<const uint8_t> old_bytes(data + 3, old_len);
  const std::span<const uint8_t> rest(data + 3 + old_len, size - 3 - old_len);
  std::vector<uint8_t> built;
  std::span<const uint8_t> patch_bytes = rest;
  bool exact = false;
  if (mode & 1) {
    built = compress(rest, old_bytes, 1 + ((mode >> 1) & 15), (mode & 32) == 0);
    if (built.empty()) return 0;
    exact = true;
    if ((mode & 64) && !rest.empty()) {
      built[rest[0] % built.size()] ^= 0x5A;
      exact = false;
    }
    patch_bytes = built;
  }

  bpatch::MemorySource old(std::as_bytes(old_bytes), "old");
  bpatch::MemorySource patch(std::as_bytes(patch_bytes), "patch");
  std::optional<bpatch::formats::ZstdFrame> frame;
  try {
    bpatch::inspect_patch(patch);
    frame = bpatch::formats::walk_zstd_frame(patch);
  } catch (const bpatch::Error&) {
  }
  try {
    if (bpatch::check_source(patch, old) != bpatch::SourceCheck::matches) __builtin_trap();
  } catch (const bpatch::Error&) {
  }
  if (frame && (!frame->content_size || *frame->content_size > kMaxNewSize)) return 0;

  bpatch::MemorySink sink;
  try {
    bpatch::apply_patch(patch, old, sink);
  } catch (const bpatch::Error&) {
    if (exact) __builtin_trap();  // a frame libzstd just wrote must decode
    return 0;
  }
  if (!frame) __builtin_trap();  // decoded what the walk refused
  if (sink.size() != *frame->content_size) __builtin_trap();
  if (exact && (sink.size() != rest.size() ||
                (!rest.empty() && std::memcmp(sink.data().data(), rest.data(), rest.size()) != 0)))
    __builtin_trap();
  return 0;
}

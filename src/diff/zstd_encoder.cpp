// encode_zstd_patch(): zstd "patch-from" with libzstd.
//
// The old file is referenced as a raw prefix (ZSTD_CCtx_refPrefix), which is
// what `zstd --patch-from=OLD` does: the frame's matches may reach back into
// the old bytes, and a decoder given the same prefix
// (`zstd -d --patch-from=OLD`) reproduces the new file. Long-distance
// matching finds the far matches a delta is made of; the window must cover
// the old file or those matches are out of reach. The frame carries the
// content size and an XXH64 content checksum, so a decoder can check both.
#include <zstd.h>

#include <algorithm>
#include <bit>
#include <memory>

#include "bpatch/diff.hpp"
#include "bpatch/error.hpp"

namespace bpatch {
namespace {

struct CCtxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};

void check(size_t code, const char* what) {
  if (ZSTD_isError(code))
    throw Error(Errc::io, "", std::string("zstd: ") + what + ": " + ZSTD_getErrorName(code));
}

}  // namespace

unsigned zstd_patch_window_log(uint64_t old_size, uint64_t new_size) {
  const uint64_t largest = std::max<uint64_t>({old_size, new_size, 1});
  // The same rule as the zstd CLI's patch-from mode: one bit above the
  // largest size, so that the window covers the whole old file.
  const auto log = static_cast<unsigned>(std::bit_width(largest)) + 1;
  // ZSTD_WINDOWLOG_MIN and ZSTD_WINDOWLOG_MAX_64 (only declared for static
  // linking): zstd's limits on a 64-bit build.
  constexpr unsigned kMin = 10, kMax = 31;
  return std::clamp<unsigned>(log, kMin, kMax);
}

std::vector<std::byte> encode_zstd_patch(std::span<const std::byte> old,
                                         std::span<const std::byte> target,
                                         const ZstdPatchOptions& options) {
  std::unique_ptr<ZSTD_CCtx, CCtxFree> cctx(ZSTD_createCCtx());
  if (!cctx) throw Error(Errc::io, "", "zstd: out of memory creating a compression context");
  ZSTD_CCtx* c = cctx.get();
  check(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, options.level), "level");
  check(ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog,
                               static_cast<int>(zstd_patch_window_log(old.size(), target.size()))),
        "windowLog");
  check(ZSTD_CCtx_setParameter(c, ZSTD_c_enableLongDistanceMatching, 1), "long distance matching");
  check(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1), "checksum");
  check(ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 1), "content size");
  if (!old.empty()) check(ZSTD_CCtx_refPrefix(c, old.data(), old.size()), "prefix");
  std::vector<std::byte> out(ZSTD_compressBound(target.size()));
  const size_t n = ZSTD_compress2(c, out.data(), out.size(), target.data(), target.size());
  check(n, "compress");
  out.resize(n);
  out.shrink_to_fit();
  return out;
}

}  // namespace bpatch

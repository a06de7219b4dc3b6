// encode_file(): see file_encoder.hpp.
#include "diff/file_encoder.hpp"

#include <future>

namespace bpatch::diff {
namespace {

// Below this size every candidate is cheap: all are encoded in full.
constexpr uint64_t kEstimateMinSize = 128 << 10;
constexpr int kEstimateLevel = 3;
// How much smaller than the level-3 estimate level 19 is assumed to get at
// best. Measured on Debian 12 updates: libcrypto.so.3 0.54x, libcurl.so.4
// 0.81x. At 0.6 level 19 (the slowest encoder by far, ~2x bsdiff's time on
// libcurl) is skipped where bsdiff already wins clearly; a file whose level
// 19 would have been below 0.6x and just under bsdiff loses < 10% on it.
constexpr double kLevel19Gain = 0.6;

std::string mib(uint64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

}  // namespace

EncodedFile encode_file(std::span<const std::byte> old, std::span<const std::byte> target,
                        const DiffOptions& options, bool allow_whole) {
  const bool automatic = options.format == DiffFormat::automatic;
  bool want_zstd = automatic || options.format == DiffFormat::zstd;
  bool want_bsdiff = automatic || options.format == DiffFormat::bsdiff;
  std::string note;
  if (want_bsdiff && old.size() > options.bsdiff_max_old_size) {
    want_bsdiff = false;
    want_zstd = true;
    note = "bsdiff refused: the old file is larger than " + mib(options.bsdiff_max_old_size) +
           " (bsdiff needs ~5x its size in memory); zstd used";
  }
  std::vector<EncodedFile> candidates;
  // bsdiff on its own thread, while zstd runs here: a large file costs the
  // slower of the two, not their sum.
  std::future<std::vector<std::byte>> bsdiff;
  if (want_bsdiff)
    bsdiff = std::async(want_zstd ? std::launch::async : std::launch::deferred,
                        [&] { return encode_bsdiff(old, target); });
  if (want_zstd && want_bsdiff && automatic && target.size() >= kEstimateMinSize) {
    // zstd at level 19 is the slowest encoder by far. A fast zstd pass
    // estimates it (assumed never below kLevel19Gain of the estimate); when
    // even that cannot beat bsdiff, level 19 is skipped.
    const auto estimate = encode_zstd_patch(old, target, ZstdPatchOptions{kEstimateLevel});
    auto bsdiff_bytes = bsdiff.get();
    const bool hopeless = static_cast<double>(estimate.size()) * kLevel19Gain >
                          static_cast<double>(bsdiff_bytes.size());
    if (!hopeless)
      candidates.push_back({"zstd", ".zst", encode_zstd_patch(old, target, options.zstd), ""});
    candidates.push_back({"bsdiff", ".bsdiff", std::move(bsdiff_bytes), ""});
  } else {
    if (want_zstd)
      candidates.push_back({"zstd", ".zst", encode_zstd_patch(old, target, options.zstd), ""});
    if (want_bsdiff) candidates.push_back({"bsdiff", ".bsdiff", bsdiff.get(), ""});
  }
  if (automatic && allow_whole)
    candidates.push_back({"raw", ".bin", std::vector<std::byte>(target.begin(), target.end()), ""});
  // The first of equal sizes wins, so the choice is deterministic.
  size_t best = 0;
  for (size_t i = 1; i < candidates.size(); ++i)
    if (candidates[i].bytes.size() < candidates[best].bytes.size()) best = i;
  EncodedFile out = std::move(candidates[best]);
  out.note = note;
  return out;
}

}  // namespace bpatch::diff

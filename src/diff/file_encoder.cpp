// encode_file(): see file_encoder.hpp.
#include "diff/file_encoder.hpp"

namespace bpatch::diff {
namespace {

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
  if (want_zstd)
    candidates.push_back({"zstd", ".zst", encode_zstd_patch(old, target, options.zstd), ""});
  if (want_bsdiff) candidates.push_back({"bsdiff", ".bsdiff", encode_bsdiff(old, target), ""});
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

// encode_file(): the data file for one changed (or new) file — the smallest
// of the candidates the chosen format allows:
//
//   automatic: zstd patch-from, bsdiff, and (when allow_whole) the new bytes
//              as they are, stored by a `put`
//   zstd:      zstd patch-from (against nothing for a new file: a plain frame)
//   bsdiff:    bsdiff (against an empty old file for a new file)
//
// In automatic mode, for files of 128 KiB and more, zstd level 19 (slow) is
// skipped when a fast zstd pass shows it cannot beat bsdiff. bsdiff runs on a
// second thread beside zstd. bsdiff is skipped above DiffOptions::bsdiff_max_old_size (its memory
// is ~5 x the old size) and zstd used instead; the note says so.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "bpatch/diff.hpp"

namespace bpatch::diff {

struct EncodedFile {
  std::string encoding;   // "zstd", "bsdiff", "raw"
  std::string extension;  // ".zst", ".bsdiff", ".bin"
  std::vector<std::byte> bytes;
  std::string note;
};

EncodedFile encode_file(std::span<const std::byte> old, std::span<const std::byte> target,
                        const DiffOptions& options, bool allow_whole);

}  // namespace bpatch::diff

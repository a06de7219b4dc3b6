// The patch of a delta, which may be a slice of a pack: with
// `slice=OFFSET+LENGTH` the PATCH file is a pack — one plain zstd frame
// (content size in its header) whose decoded bytes hold many small patches
// end to end, as `bpatch diff` writes them for trees of small files — and
// the patch is bytes [OFFSET, OFFSET+LENGTH) of the decoded pack. patch= is
// the hash of the pack file as stored, checked before it is decoded.
//
// Bounds: a pack decodes to at most kMaxPackSize bytes (checked from the
// frame header before any memory is given), and the last pack decoded is
// kept (by path and file identity), so a script of many slices of one pack
// decodes it once, not once per slice. Thread-safe.
#pragma once

#include <memory>

#include "bpatch/change.hpp"
#include "bpatch/io.hpp"

namespace bpatch {

class FileSystem;

constexpr uint64_t kMaxPackSize = uint64_t{16} << 20;

// change.patch, or its slice. Throws Error(bad_patch / too_large) naming the
// pack for a damaged pack, one too large, or a slice outside it.
std::shared_ptr<const Source> open_patch(FileSystem& fs, const Change& change);

}  // namespace bpatch

// bpatch diff — making updates: delta encoders and the tree differ.
//
// * encode_zstd_patch(): a zstd frame compressed with the old file as a raw
//   prefix ("patch-from", long-distance matching, window sized to the
//   files), readable by `zstd -d --patch-from=OLD`.
// * encode_bsdiff(): a BSDIFF40 patch (Colin Percival's algorithm over a
//   libdivsufsort suffix array, three bzip2 streams), readable by bspatch.
// * diff_files(): OLD and NEW files -> one patch file.
// * diff_trees(): OLD and NEW directories -> a bundle directory holding
//   update.bpatch (a transaction script, docs/protocol.md and SPEC §4) and
//   the data files it names (data/NNNN.zst, .bsdiff, .bin). Applying the
//   bundle to a tree equal to OLD makes it NEW; the script carries the old
//   (expect=) and new (result=) hash of every file, so a second apply is
//   "already up to date" and a tree that is neither is refused.
//
// Output is deterministic: entries are walked in byte order of their paths,
// data files are numbered in that order, nothing records a time or a
// thread's scheduling, so the same inputs give a byte-identical bundle.
//
// Memory: each file pair is read whole (old + new bytes); zstd adds its
// match state (at level 19 roughly 2-3x the window), bsdiff 4 bytes of
// suffix array per old byte plus ~2x new for its blocks, about
// 5 x old + 3 x new in all. bsdiff is therefore refused above
// DiffOptions::bsdiff_max_old_size (zstd is used instead and a note says
// so). With threads > 1 several small pairs are in memory at once, but pairs
// above 256 MiB one at a time. In automatic mode a large file's bsdiff runs on
// a second thread beside zstd.
//
// Every byte is read and written through the given FileSystem. Errors are
// bpatch::Error naming the file. Reentrant; diff_* may use worker threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "bpatch/transaction.hpp"

namespace bpatch {

class FileSystem;

enum class DiffFormat {
  automatic,  // per file the smallest of zstd, bsdiff and the whole file
  zstd,       // zstd patch-from (whole file: a plain zstd frame)
  bsdiff,     // BSDIFF40 (a new file: a bsdiff from an empty old file)
};

// "auto", "zstd", "bsdiff".
const char* diff_format_name(DiffFormat format);

struct ZstdPatchOptions {
  int level = 19;
};

// The window the encoder uses for these sizes: log2 of a power of two that
// covers max(old, new), at least 2^10 and at most 2^31 (zstd's limit on
// 64-bit; larger files still encode, matches just cannot reach further).
unsigned zstd_patch_window_log(uint64_t old_size, uint64_t new_size);

// A zstd frame of `target` using `old` as a raw prefix: content size and
// checksum in the frame. Throws Error(io / too_large).
std::vector<std::byte> encode_zstd_patch(std::span<const std::byte> old,
                                         std::span<const std::byte> target,
                                         const ZstdPatchOptions& options = {});

// Largest old file encode_bsdiff accepts (its suffix array is 32-bit).
constexpr uint64_t kBsdiffHardLimit = (uint64_t{1} << 31) - 1;

// A BSDIFF40 patch turning `old` into `target`. Throws Error(too_large)
// above kBsdiffHardLimit.
std::vector<std::byte> encode_bsdiff(std::span<const std::byte> old,
                                     std::span<const std::byte> target);

struct DiffOptions {
  DiffFormat format = DiffFormat::automatic;
  // Files encoded at once (each holds its pair in memory; pairs above
  // 256 MiB are encoded one at a time). 0: the number of cores, at most 4.
  unsigned threads = 0;
  ZstdPatchOptions zstd;
  uint64_t bsdiff_max_old_size = uint64_t{256} << 20;  // above: zstd instead (~5 x old bytes)
  // Deprecated and ignored: symlink, mkdir, rmdir and chmod statements are
  // always written now that apply reads them.
  bool tree_statements = true;
  // Called as files are encoded, never from two threads at once.
  std::function<void(const Progress&)> progress;
};

// What the differ did with one path.
struct DiffEntry {
  enum class Action {
    modified,     // delta (or whole file)
    created,      // new file
    removed,      // remove
    mode_only,    // same bytes, new permission bits
    symlink,      // new or changed symlink (also one replacing a file)
    dir_created,  // new directory (mkdir, with its mode)
    dir_removed,  // directory gone from NEW (rmdir)
  };
  std::string path;  // relative, '/'-separated
  Action action = Action::modified;
  std::string encoding;  // "zstd", "bsdiff", "raw" or "" (no data file)
  std::string data;      // data file relative to the bundle, or ""
  uint64_t old_size = 0;
  uint64_t new_size = 0;
  uint64_t data_size = 0;
  bool emitted = true;  // false: no statement can express it (see note)
  std::string note;     // e.g. "bsdiff refused above 256 MiB: zstd used"
};

struct DiffResult {
  std::vector<DiffEntry> entries;  // changed paths only, in script order
  uint64_t unchanged_files = 0;
  uint64_t bundle_bytes = 0;  // script + data files (or the one patch)
  bool complete = true;       // false when some change could not be emitted
};

// "modified", "created", …
const char* diff_action_name(DiffEntry::Action action);

// OLD and NEW regular files -> the patch file `out` (created; must not
// exist). automatic picks the smaller of zstd and bsdiff.
DiffResult diff_files(FileSystem& fs, const std::string& old_path, const std::string& new_path,
                      const std::string& out, const DiffOptions& options);

// OLD and NEW directories -> the bundle directory `out` (created; must not
// exist, or be empty). Absolute paths.
DiffResult diff_trees(FileSystem& fs, const std::string& old_dir, const std::string& new_dir,
                      const std::string& out, const DiffOptions& options);

}  // namespace bpatch

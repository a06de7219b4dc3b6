// The trees of an atomic switch: mirroring the current release into the
// new one (files shared, not copied), and deleting a half-built release.
//
// Every call goes through the given FileSystem — a view anchored at the
// releases' directory (FileSystem::anchored), so the kernel resolves each
// path beneath it with no symlink followed: a symlink inside a release is
// re-created or unlinked, never entered.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/durability.hpp"
#include "bpatch/file_system.hpp"

namespace bpatch::release {

// One entry of a release, relative to its top ("" is the top itself).
struct TreeEntry {
  std::string relative;
  FileStat stat;
};

// Every entry beneath `dir` (not following symlinks), parents before
// children; `dir` itself first. Skips a top-level ".bpatch" (a journal).
// Throws Error(not_regular) for a device, FIFO or socket, before anything
// is written.
std::vector<TreeEntry> list_tree(FileSystem& fs, const std::string& dir);

struct MirrorCounts {
  uint64_t reflinked = 0;
  uint64_t hard_linked = 0;
};

// From this many files with data on, reflink copies are made durable by one
// syncfs (site "atomic.mirror.batch") where the file system can, not an
// fsync each.
inline constexpr size_t kMirrorBatchMinFiles = 32;

// Re-creates `entries` of `from` beneath `to` (which must not exist):
// directories with their modes, symlinks with their targets, regular files
// as reflink copies (same mode and owner, data synced at site
// "atomic.mirror.file") where the file system can, else as hard links.
// Directory entries are NOT synced here (sync_tree_dirs does that, once,
// after the changes are in).
MirrorCounts mirror_tree(Durability& sync, const std::string& from, const std::string& to,
                         const std::vector<TreeEntry>& entries);

// fsync of every directory beneath and including `dir`, at `site`.
void sync_tree_dirs(Durability& sync, const std::string& dir, std::string_view site);

// rm -r of `dir`: unlinks every file and symlink beneath it (never following
// one) and removes the directories deepest first. True when it existed.
bool delete_tree(FileSystem& fs, const std::string& dir);

}  // namespace bpatch::release

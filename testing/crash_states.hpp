// Crash states — the file systems a power cut can leave behind.
//
// From a MemoryFileSystem's state (its durable part plus the unsynced
// operations pending since each object's last sync), produce post-crash
// images: new MemoryFileSystems holding only what survived, everything in
// them durable, nothing pending.
//
// Models (CrashModel):
//   durable_only — every unsynced operation is lost. One image.
//   subsets      — any subset of the pending operations survives, applied
//                  in their original order, subject to the dependencies
//                  below. With at most `exhaustive_limit` pending
//                  operations every valid subset is produced; beyond that
//                  distinct valid subsets are sampled with the Rng. The
//                  first image is always "all lost" and the second "none
//                  lost"; if there are more than `max`, the rest is a random
//                  sample.
//
// Dependencies, with `Order::per_entry` (the default, the weakest model):
//   * data (write, truncate) and inode metadata (chmod, chown) of a file:
//     any subset. This is weaker than a page cache (which writes back whole
//     pages, so a later write to a page implies the earlier ones to it): it
//     may produce contents no real file system would, but only of unsynced
//     data, on which nothing may rely anyway.
//   * a directory entry is one slot on disk: the changes to one name in one
//     directory survive as a prefix (a later link/unlink of the name implies
//     the earlier ones). Changes to different names are independent, even in
//     one directory (so a create can be lost while a later rename in the
//     same directory survives; ext4/xfs would not do that, a non-journaling
//     file system can).
//   * a rename is "new name linked, then old name removed": with
//     half_renames the new link may survive alone (both names then name the
//     same file — a half-done rename, as ext2 leaves it and fsck keeps), but
//     the removal of the old name never survives without the new link, since
//     no file system orders a rename so that the file has no name. Without
//     half_renames, a rename survives whole or not at all.
// With `Order::journaled` (ext4 data=ordered / xfs): metadata operations
// (entry changes, chmod, chown) survive as one prefix of their global order,
// renames whole; data as above.
//
// torn_writes: in every image but the first two, each surviving write is,
// with probability 1/2 (at least one per image), torn into `sector_size`
// pieces aligned to file offsets, each piece independently kept, lost or
// replaced by garbage (random bytes). A file grows only as far as its last
// kept or garbage piece. After the subsets, more torn variants of the subsets
// that keep a write are made, round robin, until there are `max` images.
//
// Everything random comes from the Rng the caller seeds: same seed, same
// images.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "testing/memory_file_system.hpp"

namespace bpatch::testing {

using Rng = std::mt19937_64;

struct CrashModel {
  enum class Kind { durable_only, subsets };
  enum class Order { per_entry, journaled };
  Kind kind = Kind::subsets;
  Order order = Order::per_entry;
  bool half_renames = true;
  bool torn_writes = false;
  uint32_t sector_size = 512;
  size_t exhaustive_limit = 10;

  static CrashModel durable_only() { return {Kind::durable_only}; }
  static CrashModel any_subset() { return {}; }
  static CrashModel journaled() { return {Kind::subsets, Order::journaled, false}; }
  static CrashModel torn() {
    CrashModel m;
    m.torn_writes = true;
    return m;
  }
  std::string name() const;
};

struct CrashImage {
  std::unique_ptr<MemoryFileSystem> fs;
  std::vector<uint64_t> kept;  // seq numbers of the pending ops that survived
  std::string description;     // "kept 3/7: #12 link /d/x, …; torn #14 [k,-,g]"
};

// Calls visit for each image (at most max) and returns how many it made.
size_t for_each_crash_image(const MemoryFileSystem& fs, const CrashModel& model, Rng& rng,
                            size_t max, const std::function<void(CrashImage&)>& visit);

std::vector<CrashImage> crash_images(const MemoryFileSystem& fs, const CrashModel& model, Rng& rng,
                                     size_t max);

// The one image of durable_only: what survives when every unsynced op is lost.
std::unique_ptr<MemoryFileSystem> durable_image(const MemoryFileSystem& fs);

// The valid subsets (as seq lists) the model allows for these pending ops,
// before sampling and tearing: exposed for tests of the dependency rules.
std::vector<std::vector<uint64_t>> valid_subsets(const std::vector<PendingOp>& pending,
                                                 const CrashModel& model, Rng& rng, size_t max);

std::string to_string(const PendingOp& op);

}  // namespace bpatch::testing

// Validation checks that keep a transaction from getting stuck half-way or
// from filling the disk (issue 9, items 4 and 5), all run before anything is
// written:
//   * every path and each of its names fits PATH_MAX / NAME_MAX (with room
//     for the shadow beside it), so neither staging nor a rollback fails on
//     ENAMETOOLONG;
//   * an existing target is on the same mount as its directory (statx mount
//     ids; st_dev where the kernel has none): a mount
//     point (a bind-mounted file, as /etc/hosts in containers) can be neither
//     renamed over nor removed, so its journal could never be finished;
//   * the output sizes the patches declare fit the free space of their file
//     systems, so a tiny patch declaring a terabyte is refused at once
//     (dry runs included) instead of writing until the disk is full.
#pragma once

#include <string>
#include <vector>

#include "bpatch/file_system.hpp"
#include "txn/plan.hpp"

namespace bpatch {

// Throws Error(invalid_path) when `path` (absolute) or one of its names is too long.
void check_path_length(const std::string& path);

// Throws Error(invalid_path) when the existing `target` is a mount point or
// on another file system than its directory.
void check_same_mount(FileSystem& fs, const std::string& target, const FileStat& target_stat);

// Throws Error(too_large) when the declared output of the deltas in `plan`
// exceeds the free space of the file system they are written on.
void check_free_space(FileSystem& fs, const std::vector<PlannedChange>& plan);

}  // namespace bpatch

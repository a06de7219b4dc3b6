// Path lengths, mount points and free space at validation; see plan_limits.hpp.
#include "txn/plan_limits.hpp"

#include <climits>
#include <map>

#include "base/paths.hpp"
#include "bpatch/error.hpp"

namespace bpatch {
namespace {

constexpr size_t kPathMax = PATH_MAX;  // with its NUL
constexpr size_t kNameMax = NAME_MAX;

// The existing directory a target is written into: its own, or the one
// its first missing directory is created in.
std::string existing_dir(const PlannedChange& p) {
  return paths::dirname(p.missing_dirs.empty() ? p.target : p.missing_dirs.front());
}

}  // namespace

void check_path_length(const std::string& path) {
  // The shadow (at most NAME_MAX long, paths.hpp) lives beside the target.
  if (paths::dirname(path).size() + 1 + kNameMax >= kPathMax)
    throw Error(Errc::invalid_path, path.substr(0, 64) + "…",
                "the path is " + std::to_string(path.size()) +
                    " bytes long: with its shadow beside it, longer than PATH_MAX (" +
                    std::to_string(kPathMax) + ") allows");
  size_t start = 0;
  while (start < path.size()) {
    const size_t end = std::min(path.find('/', start), path.size());
    if (end - start > kNameMax)
      throw Error(Errc::invalid_path, path,
                  "a name in it is " + std::to_string(end - start) +
                      " bytes long, longer than NAME_MAX (" + std::to_string(kNameMax) + ")");
    start = end + 1;
  }
}

void check_same_mount(FileSystem& fs, const std::string& target, const FileStat& target_stat) {
  const std::string dir = paths::dirname(target);
  const auto dir_stat = fs.lstat(dir);
  const auto target_mount = fs.mount_id(target);
  const auto dir_mount = fs.mount_id(dir);
  // Mount ids are exact. Without them, st_dev: a file never lives on another
  // device than its directory unless something is mounted on it — except on
  // overlayfs with layers on several file systems, where mount ids exist.
  const bool other = target_mount && dir_mount ? *target_mount != *dir_mount
                                               : dir_stat && dir_stat->id.dev != target_stat.id.dev;
  if (other)
    throw Error(Errc::invalid_path, target,
                "is a mount point (or on another file system than its directory " + dir +
                    "): it cannot be replaced by a rename; change it where it is mounted from");
}

void check_free_space(FileSystem& fs, const std::vector<PlannedChange>& plan) {
  // Summed per file system (device of the directory written into).
  std::map<uint64_t, uint64_t> declared;
  for (const auto& p : plan) {
    if (p.unchanged || p.change->kind != Change::Kind::delta || p.expected_size == 0) continue;
    const std::string dir = existing_dir(p);
    const auto dir_stat = fs.lstat(dir);
    const auto free = fs.free_space(dir);
    if (!dir_stat || !free) continue;
    uint64_t& total = declared[dir_stat->id.dev];
    total += p.expected_size;
    if (total > *free)
      throw Error(Errc::too_large, p.target,
                  "the patch " + p.change->patch + " declares a result of " +
                      std::to_string(p.expected_size) + " bytes" +
                      (total > p.expected_size
                           ? " (" + std::to_string(total) + " with the others on this file system)"
                           : "") +
                      ", but only " + std::to_string(*free) + " bytes are free in " + dir);
  }
}

}  // namespace bpatch

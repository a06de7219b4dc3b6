// The entries of a directory tree, for the differ: every regular file,
// symlink and directory below a root, by relative path in byte order (so the
// walk, and everything made from it, is deterministic). Read through a
// FileSystem; symlinks are not followed.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "bpatch/file_system.hpp"

namespace bpatch::diff {

struct TreeEntry {
  FileType type = FileType::regular;
  uint32_t mode = 0;
  uint64_t size = 0;
  std::string link_target;  // symlink
};

// relative path ('/'-separated) -> entry; std::map keeps byte order.
using Tree = std::map<std::string, TreeEntry>;

// Throws Error(not_regular) for a device, fifo or socket, naming it; a root
// that is not a directory is Error(not_found / not_regular).
Tree walk_tree(FileSystem& fs, const std::string& root);

// The whole content of a file (the differ holds each pair in memory).
std::vector<std::byte> read_whole_file(FileSystem& fs, const std::string& path);

// Writes `data` to a new file `path` (must not exist) with mode 0644.
void write_new_file(FileSystem& fs, const std::string& path, std::span<const std::byte> data);

}  // namespace bpatch::diff

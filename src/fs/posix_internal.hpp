// Pieces of PosixFileSystem shared with its anchored view (anchored_posix.cpp).
#pragma once

#include <dirent.h>
#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "bpatch/file_system.hpp"

namespace bpatch::posix_detail {

// Takes ownership of fd.
std::unique_ptr<File> wrap_file(int fd, std::string path);
FileStat stat_of(const struct stat& st);
// flock(LOCK_EX|LOCK_NB) on fd (taking ownership); nullptr when another holds it.
std::unique_ptr<FileLock> lock_descriptor(int fd, const std::string& path);

// The open(2) flags of an OpenMode (always O_NOFOLLOW|O_CLOEXEC).
int open_flags(OpenMode mode);
// Throws the Error for a failed open of `path`.
[[noreturn]] void throw_open_error(const std::string& path, OpenMode mode, int err);

// The names in an open directory stream, without "." and ".."; closes it.
std::vector<std::string> read_entries(DIR* dir, const std::string& path);

// The anchored view of `plain` (FileSystem::anchored).
std::unique_ptr<FileSystem> make_anchored(FileSystem& plain, const std::vector<std::string>& dirs);

}  // namespace bpatch::posix_detail

// PosixFileSystem — the FileSystem of the real machine (Linux, POSIX).
//
// Stateless; one instance may be shared by every thread. Uses O_CLOEXEC on
// every descriptor, pread/pwrite loops that survive EINTR and short counts,
// fsync for files and directories, FICLONERANGE and copy_file_range where the
// kernel and file system offer them, and flock for the journal lock.
#pragma once

#include "bpatch/file_system.hpp"

namespace bpatch {

class PosixFileSystem final : public FileSystem {
 public:
  std::unique_ptr<File> open(const std::string& path, OpenMode mode) override;
  std::optional<FileStat> lstat(const std::string& path) override;
  std::string read_link(const std::string& path) override;
  std::vector<std::string> list_dir(const std::string& path) override;
  void make_dir(const std::string& path, uint32_t mode) override;
  void remove_dir(const std::string& path) override;
  void rename(const std::string& from, const std::string& to) override;
  void unlink(const std::string& path) override;
  void make_symlink(const std::string& target, const std::string& path) override;
  void hard_link(const std::string& from, const std::string& to) override;
  void set_mode(const std::string& path, uint32_t mode) override;
  void sync_dir(const std::string& path) override;
  std::unique_ptr<FileSystemSync> watch_file_system(const std::string& dir) override;
  std::optional<uint64_t> free_space(const std::string& dir) override;
  std::optional<uint64_t> mount_id(const std::string& path) override;
  std::unique_ptr<FileLock> try_lock(const std::string& path) override;
  uint32_t effective_uid() override;
  // openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS) from
  // each anchor's descriptor (a component-wise O_NOFOLLOW walk where the
  // kernel has no openat2), then the *at() call on the final name.
  std::unique_ptr<FileSystem> anchored(const std::vector<std::string>& dirs) override;
};

}  // namespace bpatch

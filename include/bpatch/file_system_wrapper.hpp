// bpatch::FileSystemWrapper — a FileSystem that forwards every call to
// another one, as LevelDB's EnvWrapper does: a test file system (or a
// decorator in an embedding program) derives from it and overrides only the
// calls it changes.
#pragma once

#include "bpatch/file_system.hpp"

namespace bpatch {

class FileSystemWrapper : public FileSystem {
 public:
  explicit FileSystemWrapper(FileSystem& target) : target_(target) {}

  FileSystem& target() const { return target_; }

  std::unique_ptr<File> open(const std::string& path, OpenMode mode) override {
    return target_.open(path, mode);
  }
  std::optional<FileStat> lstat(const std::string& path) override { return target_.lstat(path); }
  std::string read_link(const std::string& path) override { return target_.read_link(path); }
  std::vector<std::string> list_dir(const std::string& path) override {
    return target_.list_dir(path);
  }
  void make_dir(const std::string& path, uint32_t mode) override { target_.make_dir(path, mode); }
  void remove_dir(const std::string& path) override { target_.remove_dir(path); }
  void rename(const std::string& from, const std::string& to) override { target_.rename(from, to); }
  void unlink(const std::string& path) override { target_.unlink(path); }
  void make_symlink(const std::string& target, const std::string& path) override {
    target_.make_symlink(target, path);
  }
  void hard_link(const std::string& from, const std::string& to) override {
    target_.hard_link(from, to);
  }
  void set_mode(const std::string& path, uint32_t mode) override { target_.set_mode(path, mode); }
  void sync_dir(const std::string& path) override { target_.sync_dir(path); }
  std::unique_ptr<FileSystemSync> watch_file_system(const std::string& dir) override {
    return target_.watch_file_system(dir);
  }
  std::optional<uint64_t> free_space(const std::string& dir) override {
    return target_.free_space(dir);
  }
  std::optional<uint64_t> mount_id(const std::string& path) override {
    return target_.mount_id(path);
  }
  std::unique_ptr<FileLock> try_lock(const std::string& path) override {
    return target_.try_lock(path);
  }
  uint32_t effective_uid() override { return target_.effective_uid(); }
  // anchored() is deliberately not forwarded: the view must go through this
  // wrapper's overrides, so the default (a wrapper of *this) is right.

 private:
  FileSystem& target_;
};

}  // namespace bpatch

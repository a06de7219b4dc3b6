// FaultFileSystem: call counting, the fault rules, and the wrapped File that
// applies them to per-file operations.
#include "testing/fault_file_system.hpp"

#include <cerrno>

#include "bpatch/error.hpp"
#include "testing/memory_file_system.hpp"

namespace bpatch::testing {
namespace {

class FaultFile final : public File {
 public:
  FaultFile(FaultFileSystem& owner, std::unique_ptr<File> inner)
      : owner_(owner), inner_(std::move(inner)) {}

  File& inner() { return *inner_; }
  const std::string& path() const override { return inner_->path(); }

  size_t read_at(uint64_t offset, std::span<std::byte> out) override {
    if (auto f = owner_.next(FsOp::read, path())) throw_sys_error(path(), "read", f->err);
    return inner_->read_at(offset, out);
  }

  void write_at(uint64_t offset, std::span<const std::byte> data) override {
    if (auto f = owner_.next(FsOp::write, path())) {
      if (f->partial && data.size() > 1) inner_->write_at(offset, data.first(data.size() / 2));
      throw_sys_error(path(), "write", f->err);
    }
    inner_->write_at(offset, data);
  }

  void truncate(uint64_t size) override {
    if (auto f = owner_.next(FsOp::truncate, path())) throw_sys_error(path(), "truncate", f->err);
    inner_->truncate(size);
  }

  void sync() override {
    if (auto f = owner_.next(FsOp::sync, path())) {
      if (f->silent) return;
      // Linux marks the dirty pages clean after a failed writeback: what was
      // not on disk is gone, and the next fsync succeeds having written nothing.
      if (MemoryFileSystem* memory = owner_.memory()) memory->drop_unsynced(inner_->stat().id.ino);
      throw_sys_error(path(), "fsync", f->err);
    }
    inner_->sync();
  }

  FileStat stat() override {
    if (auto f = owner_.next(FsOp::stat, path())) throw_sys_error(path(), "fstat", f->err);
    return inner_->stat();
  }

  void set_mode(uint32_t mode) override {
    if (auto f = owner_.next(FsOp::set_mode, path())) throw_sys_error(path(), "chmod", f->err);
    inner_->set_mode(mode);
  }

  bool set_owner(uint32_t uid, uint32_t gid) override {
    if (auto f = owner_.next(FsOp::set_owner, path())) {
      if (f->err == EPERM) return false;
      throw_sys_error(path(), "chown", f->err);
    }
    return inner_->set_owner(uid, gid);
  }

  bool clone_range(File& src, uint64_t src_offset, uint64_t dst_offset, uint64_t length) override {
    if (owner_.next(FsOp::clone_range, path()))
      return false;  // FICLONERANGE errors mean "copy instead"
    return inner_->clone_range(unwrap(src), src_offset, dst_offset, length);
  }

  bool copy_range(File& src, uint64_t src_offset, uint64_t dst_offset, uint64_t length) override {
    if (auto f = owner_.next(FsOp::copy_range, path()))
      throw_sys_error(path(), "copy_file_range", f->err);
    return inner_->copy_range(unwrap(src), src_offset, dst_offset, length);
  }

  void start_writeback(uint64_t offset, uint64_t length) override {
    inner_->start_writeback(offset, length);
  }
  void advise_sequential() override { inner_->advise_sequential(); }

 private:
  static File& unwrap(File& file) {
    auto* fault = dynamic_cast<FaultFile*>(&file);
    return fault ? fault->inner() : file;
  }

  FaultFileSystem& owner_;
  std::unique_ptr<File> inner_;
};

}  // namespace

const char* fs_op_name(FsOp op) {
  switch (op) {
    case FsOp::open:
      return "open";
    case FsOp::create:
      return "create";
    case FsOp::read:
      return "read";
    case FsOp::write:
      return "write";
    case FsOp::truncate:
      return "truncate";
    case FsOp::sync:
      return "sync";
    case FsOp::stat:
      return "stat";
    case FsOp::set_mode:
      return "set_mode";
    case FsOp::set_owner:
      return "set_owner";
    case FsOp::clone_range:
      return "clone_range";
    case FsOp::copy_range:
      return "copy_range";
    case FsOp::lstat:
      return "lstat";
    case FsOp::read_link:
      return "read_link";
    case FsOp::list_dir:
      return "list_dir";
    case FsOp::make_dir:
      return "make_dir";
    case FsOp::remove_dir:
      return "remove_dir";
    case FsOp::rename:
      return "rename";
    case FsOp::unlink:
      return "unlink";
    case FsOp::make_symlink:
      return "make_symlink";
    case FsOp::hard_link:
      return "hard_link";
    case FsOp::set_path_mode:
      return "set_path_mode";
    case FsOp::sync_dir:
      return "sync_dir";
    case FsOp::lock:
      return "lock";
    case FsOp::sync_fs:
      return "sync_fs";
    case FsOp::count_:
      break;
  }
  return "?";
}

PathPredicate path_contains(std::string part) {
  return [part = std::move(part)](const std::string& path) {
    return path.find(part) != std::string::npos;
  };
}

FaultFileSystem::FaultFileSystem(FileSystem& base)
    : FileSystemWrapper(base), memory_(dynamic_cast<MemoryFileSystem*>(&base)) {}

void FaultFileSystem::add_fault(FaultRule rule) {
  std::lock_guard<std::mutex> lock(mu_);
  rules_.push_back({std::move(rule)});
}

void FaultFileSystem::clear_faults() {
  std::lock_guard<std::mutex> lock(mu_);
  rules_.clear();
}

uint64_t FaultFileSystem::calls(FsOp op) const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_[static_cast<size_t>(op)];
}

std::array<uint64_t, kFsOpCount> FaultFileSystem::all_calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

void FaultFileSystem::reset_counts() {
  std::lock_guard<std::mutex> lock(mu_);
  calls_.fill(0);
  for (Rule& r : rules_) r.matched = 0;
}

std::array<uint64_t, kFsOpCount> FaultFileSystem::calls_at_first_fault() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_at_first_fault_;
}

uint64_t FaultFileSystem::faults_injected() const {
  std::lock_guard<std::mutex> lock(mu_);
  return injected_;
}

std::optional<FaultRule> FaultFileSystem::next(FsOp op, const std::string& path,
                                               const std::string& path2) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t n = ++calls_[static_cast<size_t>(op)];
  std::optional<FaultRule> fire;
  for (Rule& r : rules_) {
    if (r.rule.op != op) continue;
    uint64_t k = n;  // a path-scoped rule counts only the calls it matches
    if (r.rule.path) {
      if (!r.rule.path(path) && (path2.empty() || !r.rule.path(path2))) continue;
      k = ++r.matched;
    }
    if (!fire && (k == r.rule.nth || (r.rule.sticky && k > r.rule.nth))) fire = r.rule;
  }
  if (fire && injected_++ == 0) calls_at_first_fault_ = calls_;
  return fire;
}

std::unique_ptr<File> FaultFileSystem::open(const std::string& path, OpenMode mode) {
  const bool create = mode == OpenMode::create_exclusive;
  if (auto f = next(create ? FsOp::create : FsOp::open, path)) {
    if (f->err == ELOOP) throw Error(Errc::invalid_path, path, "is a symbolic link", ELOOP);
    throw_sys_error(path, create ? "create" : "open", f->err);
  }
  return std::make_unique<FaultFile>(*this, target().open(path, mode));
}

std::optional<FileStat> FaultFileSystem::lstat(const std::string& path) {
  if (auto f = next(FsOp::lstat, path)) {
    if (f->err == ENOENT || f->err == ENOTDIR) return std::nullopt;
    throw_sys_error(path, "stat", f->err);
  }
  return target().lstat(path);
}

std::string FaultFileSystem::read_link(const std::string& path) {
  if (auto f = next(FsOp::read_link, path)) throw_sys_error(path, "readlink", f->err);
  return target().read_link(path);
}

std::vector<std::string> FaultFileSystem::list_dir(const std::string& path) {
  if (auto f = next(FsOp::list_dir, path)) throw_sys_error(path, "open directory", f->err);
  return target().list_dir(path);
}

void FaultFileSystem::make_dir(const std::string& path, uint32_t mode) {
  if (auto f = next(FsOp::make_dir, path)) throw_sys_error(path, "mkdir", f->err);
  target().make_dir(path, mode);
}

void FaultFileSystem::remove_dir(const std::string& path) {
  if (auto f = next(FsOp::remove_dir, path)) throw_sys_error(path, "rmdir", f->err);
  target().remove_dir(path);
}

void FaultFileSystem::rename(const std::string& from, const std::string& to) {
  if (auto f = next(FsOp::rename, from, to)) throw_sys_error(from, "rename to " + to, f->err);
  target().rename(from, to);
}

void FaultFileSystem::unlink(const std::string& path) {
  if (auto f = next(FsOp::unlink, path)) throw_sys_error(path, "unlink", f->err);
  target().unlink(path);
}

void FaultFileSystem::make_symlink(const std::string& target_text, const std::string& path) {
  if (auto f = next(FsOp::make_symlink, path)) throw_sys_error(path, "symlink", f->err);
  target().make_symlink(target_text, path);
}

void FaultFileSystem::hard_link(const std::string& from, const std::string& to) {
  if (auto f = next(FsOp::hard_link, from, to)) throw_sys_error(from, "link to " + to, f->err);
  target().hard_link(from, to);
}

void FaultFileSystem::set_mode(const std::string& path, uint32_t mode) {
  if (auto f = next(FsOp::set_path_mode, path)) throw_sys_error(path, "chmod", f->err);
  target().set_mode(path, mode);
}

void FaultFileSystem::sync_dir(const std::string& path) {
  // A failed directory fsync leaves the entries visible but not durable:
  // nothing to drop in the model, the next power cut decides.
  if (auto f = next(FsOp::sync_dir, path)) {
    if (f->silent) return;
    throw_sys_error(path, "fsync directory", f->err);
  }
  target().sync_dir(path);
}

std::unique_ptr<FileLock> FaultFileSystem::try_lock(const std::string& path) {
  if (auto f = next(FsOp::lock, path)) {
    if (f->err == EWOULDBLOCK) return nullptr;  // held by another process
    throw_sys_error(path, "open lock file", f->err);
  }
  return target().try_lock(path);
}

namespace {

class FaultSyncFs final : public FileSystemSync {
 public:
  FaultSyncFs(FaultFileSystem& owner, std::unique_ptr<FileSystemSync> inner, std::string dir)
      : owner_(owner), inner_(std::move(inner)), dir_(std::move(dir)) {}
  void sync() override {
    if (auto f = owner_.next(FsOp::sync_fs, dir_)) {
      if (f->silent) return;
      throw_sys_error(dir_, "syncfs", f->err);
    }
    inner_->sync();
  }

 private:
  FaultFileSystem& owner_;
  std::unique_ptr<FileSystemSync> inner_;
  std::string dir_;
};

}  // namespace

std::unique_ptr<FileSystemSync> FaultFileSystem::watch_file_system(const std::string& dir) {
  auto inner = target().watch_file_system(dir);
  if (!inner) return nullptr;
  return std::make_unique<FaultSyncFs>(*this, std::move(inner), dir);
}

}  // namespace bpatch::testing

// FaultFileSystem — a FileSystem that forwards to another one (a
// FileSystemWrapper: calls it does not fault, such as effective_uid(), pass
// straight through) and makes chosen calls fail, for the error-injection
// tests (every injected I/O error at every operation).
//
// Each call is counted per kind (FsOp). A rule, as in Pebble's errorfs, is
// an op kind, an optional path predicate and a "when": it fails the n-th
// call of that kind (1-based, counted since construction or reset_counts())
// — or, with `sticky`, the n-th and every later one (a full disk stays full)
// — with an errno. A rule with a path predicate counts only the calls whose
// path (either path, for rename) matches it: "the 2nd write under the
// journal", "every rename of a shadow from the 1st on". Failing calls are thrown through
// throw_sys_error with the verb PosixFileSystem uses, so the Errc is what the real system would
// give (ENOENT → not_found, an ELOOP open → invalid_path, the rest → io). A failing call does not
// reach the wrapped file system, except:
//   * write with `partial`: the first half of the data is written, then the
//     error (a short write that ran out of space);
//   * sync when the wrapped file system is a MemoryFileSystem: the inode's
//     unsynced data is dropped (MemoryFileSystem::drop_unsynced), as Linux
//     drops dirty pages after a failed writeback, so a retried fsync cannot
//     hide the loss;
//   * sync/sync_dir with `silent`: nothing fails, the call just does not
//     reach the wrapped file system (an fsync that lies);
//   * kinds whose POSIX call reports some errno as a result, not an error,
//     keep doing so: lstat gives nullopt for ENOENT/ENOTDIR, set_owner false
//     for EPERM, try_lock nullptr for EWOULDBLOCK, clone_range false for any
//     errno (it never throws).
//
// Thread-safety: counters and rules are behind a mutex; the wrapped file
// system must be thread-safe itself. Files it opens keep a pointer to this
// object, which must outlive them. (Rules are copied when added.)
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bpatch/file_system.hpp"
#include "bpatch/file_system_wrapper.hpp"

namespace bpatch::testing {

class MemoryFileSystem;

enum class FsOp {
  open,    // open for read / read_write
  create,  // open with create_exclusive
  read,
  write,
  truncate,
  sync,
  stat,
  set_mode,
  set_owner,
  clone_range,
  copy_range,
  lstat,
  read_link,
  list_dir,
  make_dir,
  remove_dir,
  rename,
  unlink,
  make_symlink,
  hard_link,
  set_path_mode,  // FileSystem::set_mode (File::set_mode is set_mode)
  sync_dir,
  lock,
  sync_fs,  // FileSystemSync::sync (syncfs) of a watch_file_system handle
  count_,
};
constexpr size_t kFsOpCount = static_cast<size_t>(FsOp::count_);
const char* fs_op_name(FsOp op);

// Which paths a rule applies to; empty: every path.
using PathPredicate = std::function<bool(const std::string& path)>;
PathPredicate path_contains(std::string part);  // e.g. "/.bpatch/", ".bpatch-"

struct FaultRule {
  FsOp op = FsOp::write;
  uint64_t nth = 1;         // 1-based call number of that kind (of those on a matching path)
  int err = 5;              // EIO
  bool sticky = false;      // also every later call of that kind
  bool partial = false;     // write: write the first half before failing
  bool silent = false;      // sync/sync_dir only: report success, do nothing (a lying
                            // disk; proves a crash test notices a missing fsync)
  PathPredicate path = {};  // only calls on a matching path count and fail; empty: all
};

class FaultFileSystem final : public FileSystemWrapper {
 public:
  explicit FaultFileSystem(FileSystem& base);

  void add_fault(FaultRule rule);
  void fail_nth(FsOp op, uint64_t nth, int err) { add_fault({.op = op, .nth = nth, .err = err}); }
  void fail_from(FsOp op, uint64_t nth, int err) {
    add_fault({.op = op, .nth = nth, .err = err, .sticky = true});
  }
  // From the nth call of kind op on a path `where` matches, every such call fails.
  void fail_from(FsOp op, uint64_t nth, int err, PathPredicate where) {
    add_fault({.op = op, .nth = nth, .err = err, .sticky = true, .path = std::move(where)});
  }
  // Every sync (or sync_dir) from the nth on succeeds without syncing.
  void skip_from(FsOp op, uint64_t nth) {
    add_fault({.op = op, .nth = nth, .err = 0, .sticky = true, .silent = true});
  }
  void clear_faults();

  uint64_t calls(FsOp op) const;
  std::array<uint64_t, kFsOpCount> all_calls() const;
  void reset_counts();
  uint64_t faults_injected() const;
  // The call counts at the moment the first fault was injected (all zero
  // before): what a test compares all_calls() with to find the calls made
  // while handling that failure — where a second fault hurts most.
  std::array<uint64_t, kFsOpCount> calls_at_first_fault() const;

  // FileSystem (the calls FileSystemWrapper would forward unchanged are not here)
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
  std::unique_ptr<FileLock> try_lock(const std::string& path) override;
  // Forwarded; the handle's sync() counts as FsOp::sync_fs and can fail (the
  // wrapped file system is then not synced).
  std::unique_ptr<FileSystemSync> watch_file_system(const std::string& dir) override;

  // Counts a call of kind op on path (and path2, for rename); returns the
  // rule to apply when it must fail.
  std::optional<FaultRule> next(FsOp op, const std::string& path, const std::string& path2 = "");
  FileSystem& base() { return target(); }
  MemoryFileSystem* memory() { return memory_; }

 private:
  struct Rule {
    FaultRule rule;
    uint64_t matched = 0;  // calls counted by a rule with a path predicate
  };
  MemoryFileSystem* memory_;  // target() when it is a MemoryFileSystem
  mutable std::mutex mu_;
  std::array<uint64_t, kFsOpCount> calls_{};
  std::array<uint64_t, kFsOpCount> calls_at_first_fault_{};
  std::vector<Rule> rules_;
  uint64_t injected_ = 0;
};

}  // namespace bpatch::testing

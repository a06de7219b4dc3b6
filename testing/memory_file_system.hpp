// MemoryFileSystem — an in-memory POSIX file system that knows what a power
// cut would keep, for the crash tests (like LevelDB's FaultInjectionTestEnv).
//
// It implements bpatch::FileSystem with the errors PosixFileSystem raises
// for the same situations (same Errc, same errno, same verbs), and models
// durability (see memory_state.hpp): File::sync() makes an inode's data and
// metadata durable but not its name; sync_dir() makes a directory's entries
// durable. crash_states.hpp turns the state into post-crash images.
//
// Every mutating operation (create, write, truncate, sync, sync_dir, rename,
// unlink, mkdir, rmdir, chmod, chown, symlink, …) is appended to a trace that
// replay() can re-run, and is followed by:
//   * the crash check: after crash_after(k), the k-th operation completes and
//     then throws CrashNow; from then on every call (reads too) throws
//     CrashNow, so the world stays as it was after operation k;
//   * the hook, if set, called with the operation while the file system is
//     still locked, so it sees exactly the state after that operation. The
//     hook may read the file system or copy it (state(), clone(), crash
//     images) and may throw (e.g. CrashNow); it must not mutate it.
//
// Not modelled: permissions (every caller is root), ctime/atime, xattrs, free space
// (FaultFileSystem injects ENOSPC), EACCES/EROFS (injected the same way).
//
// Thread-safety: every call takes one mutex; File and FileLock objects keep
// the shared state alive and may outlive the MemoryFileSystem.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bpatch/file_system.hpp"
#include "testing/memory_state.hpp"

namespace bpatch::testing {

// Thrown by a crashed MemoryFileSystem. Deliberately not a bpatch::Error:
// the code under test must let it through (cleanup that calls the file
// system during unwinding gets CrashNow too and must swallow it).
struct CrashNow : std::exception {
  const char* what() const noexcept override { return "simulated crash (CrashNow)"; }
};

// One mutating operation, as recorded.
struct TraceOp {
  enum class Kind {
    create,
    mkdir,
    symlink,
    link,
    mknod,
    write,
    truncate,
    sync,
    sync_dir,
    rename,
    unlink,
    rmdir,
    chmod,
    chown,
    sync_all,
    drop_unsynced,
  };
  Kind kind = Kind::create;
  uint64_t index = 0;                 // 1-based, counted since reset_trace()
  std::string path;                   // the path named, or the path the file was opened as
  std::string path2;                  // rename, link: the new name; symlink: the target
  uint64_t ino = 0;                   // the inode acted on (created, written, synced, …)
  uint64_t offset = 0;                // write
  uint64_t size = 0;                  // write: byte count; truncate: new size
  std::shared_ptr<const Bytes> data;  // write
  uint32_t mode = 0, uid = 0, gid = 0;
};

const char* trace_kind_name(TraceOp::Kind kind);
std::string to_string(const TraceOp& op);

// A view of a tree: path → what is there.
struct Node {
  FileType type = FileType::regular;
  uint32_t mode = 0;
  std::string content;  // file data, symlink target, "" for directories
  bool operator==(const Node&) const = default;
};
using Snapshot = std::map<std::string, Node>;
std::string to_string(const Snapshot& snapshot);

struct MemoryFileSystemOptions {
  bool copy_range = true;   // File::copy_range copies (as copy_file_range)
  bool clone_range = true;  // File::clone_range shares block-aligned ranges
  uint32_t clone_block = 4096;
  bool syncfs = true;  // watch_file_system is available
};

class MemoryFileSystem final : public FileSystem {
 public:
  explicit MemoryFileSystem(MemoryFileSystemOptions options = {});
  // A file system over an existing state (a crash image, a copy).
  explicit MemoryFileSystem(MemoryState state, MemoryFileSystemOptions options = {});
  ~MemoryFileSystem() override;
  MemoryFileSystem(const MemoryFileSystem&) = delete;
  MemoryFileSystem& operator=(const MemoryFileSystem&) = delete;

  // FileSystem
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
  // syncfs: its sync() is sync_all() (traced as sync_all), unless the
  // options turn it off (then nullptr: callers fsync each file).
  std::unique_ptr<FileSystemSync> watch_file_system(const std::string& dir) override;

  // Test helpers; they go through the traced operations.
  // Creates or overwrites path with content and mode (not synced).
  void write_file(const std::string& path, std::string_view content, uint32_t mode = 0644);
  std::string read_file(const std::string& path);
  void make_dirs(const std::string& path, uint32_t mode = 0755);  // mkdir -p
  void make_special(const std::string& path);  // a FileType::other node (a FIFO, say)
  bool exists(const std::string& path);        // lstat: symlinks count
  Snapshot snapshot(const std::string& root = "/") const;

  // sync(2): everything current becomes durable.
  void sync_all();
  // What a failed fsync does on Linux: the inode's unsynced writes are gone
  // and its current data reverts to the durable data.
  void drop_unsynced(uint64_t ino);

  // Trace, hook, crash point.
  std::vector<TraceOp> trace() const;
  uint64_t op_count() const;  // operations since reset_trace()
  void reset_trace();         // clears the trace and the count
  void set_hook(std::function<void(const TraceOp&)> hook);
  void crash_after(uint64_t k);  // 0: crash before the next operation
  bool crashed() const;
  // Re-runs traced operations on this file system; inode numbers in the
  // trace must match (replay on a clone of the state the trace started from).
  void replay(const std::vector<TraceOp>& ops);

  // A deep copy of the whole state (current, durable, pending).
  MemoryState state() const;
  // Calls f with the state, locked and without copying it (f must not call back in).
  void with_state(const std::function<void(const MemoryState&)>& f) const;
  std::unique_ptr<MemoryFileSystem> clone() const;
  size_t pending_count() const;
  void check_invariants() const;
  const MemoryFileSystemOptions& options() const;

  struct Core;  // shared with open files and locks

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace bpatch::testing

// bpatch::FileSystem — the interface every byte of bpatch's I/O goes through.
//
// The library never calls the operating system directly: it asks a FileSystem.
// `PosixFileSystem` (posix_file_system.hpp) is the real one; the tests supply
// a simulated one that loses unsynced writes on a "power cut" and one that
// injects errors, which is how the crash guarantees are tested (as LevelDB's
// Env and FaultInjectionTestEnv do).
//
// Contract, which every implementation keeps:
//   * Failures throw bpatch::Error (code io, or not_found for a missing path),
//     with the path and the errno.
//   * Paths are passed through as given; the library passes absolute paths.
//   * Nothing is durable until synced: File::sync() makes a file's data and
//     size durable but not its name; sync_dir() makes a directory's entries
//     (creates, renames, unlinks) durable. A failed sync is never retried by
//     the library: after an fsync error the kernel may have dropped the dirty
//     pages, so a second fsync that "succeeds" proves nothing.
//   * Final path components are never followed when they are symlinks
//     (O_NOFOLLOW). Intermediate components are followed by the OS, so the
//     library resolves and checks them itself at validation and then works
//     through an anchored() view, where the kernel confines every call.
//
// Thread-safety: implementations are safe to call from several threads at
// once; one File object is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace bpatch {

enum class FileType { regular, directory, symlink, other };

// Enough to notice that a file was replaced or modified behind our back.
struct FileIdentity {
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileIdentity&) const = default;
};

struct FileStat {
  FileType type = FileType::other;
  uint32_t mode = 0;  // permission bits only (07777)
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t nlink = 1;
  FileIdentity id;
  uint64_t blocks = 0;  // st_blocks: 512-byte units allocated; 0 when unknown
};

enum class OpenMode {
  read,              // O_RDONLY | O_NOFOLLOW
  create_exclusive,  // O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, mode 0600
  read_write,        // O_RDWR | O_NOFOLLOW (journal records, tests)
};

// An open file. Closed by its destructor (errors on close are ignored: every
// file whose data matters is synced, and sync reports the errors).
class File {
 public:
  virtual ~File() = default;

  virtual const std::string& path() const = 0;

  // Reads up to out.size() bytes at offset; returns the count, short only at
  // end of file. Loops over short reads and EINTR.
  virtual size_t read_at(uint64_t offset, std::span<std::byte> out) = 0;

  // Writes all of data at offset. Loops over short writes and EINTR.
  virtual void write_at(uint64_t offset, std::span<const std::byte> data) = 0;

  virtual void truncate(uint64_t size) = 0;

  // fsync: the file's data and size are durable when it returns.
  virtual void sync() = 0;

  virtual FileStat stat() = 0;

  virtual void set_mode(uint32_t mode) = 0;

  // Best effort: returns false where the caller may not change the owner.
  virtual bool set_owner(uint32_t uid, uint32_t gid) = 0;

  // Shares src's extents [src_offset, +length) at dst_offset of this file
  // (FICLONERANGE). Returns false when the file system cannot (no reflinks,
  // unaligned range, different file systems); the caller then copies.
  virtual bool clone_range(File& src, uint64_t src_offset, uint64_t dst_offset, uint64_t length) {
    (void)src, (void)src_offset, (void)dst_offset, (void)length;
    return false;
  }

  // Copies src [src_offset, +length) to dst_offset in the kernel
  // (copy_file_range). Returns false when unsupported; the caller then copies.
  virtual bool copy_range(File& src, uint64_t src_offset, uint64_t dst_offset, uint64_t length) {
    (void)src, (void)src_offset, (void)dst_offset, (void)length;
    return false;
  }

  // A hint to start writing back [offset, +length) now so that the final
  // sync() is short. Promises nothing about durability.
  virtual void start_writeback(uint64_t offset, uint64_t length) { (void)offset, (void)length; }

  // A hint that the file will be read sequentially.
  virtual void advise_sequential() {}

  // Holes (lseek SEEK_DATA / SEEK_HOLE), so that copying a sparse file keeps
  // them: the first offset >= `offset` that holds data (the file's size when
  // only a hole follows), and the first offset >= `offset` in a hole (the
  // size at the end). The defaults know of no holes.
  virtual uint64_t seek_data(uint64_t offset) { return offset; }
  virtual uint64_t seek_hole(uint64_t offset) {
    (void)offset;
    return UINT64_MAX;
  }

  // Extended attributes (flistxattr/fgetxattr/fsetxattr): POSIX ACLs, file
  // capabilities, user.* — what a replacement must carry over. The defaults
  // (simulated file systems) have none; set_xattr then refuses.
  virtual std::vector<std::string> list_xattrs() { return {}; }
  virtual std::vector<std::byte> get_xattr(const std::string& name);
  virtual void set_xattr(const std::string& name, std::span<const std::byte> value);
};

// A handle on a whole file system for batched durability (see
// FileSystem::watch_file_system).
class FileSystemSync {
 public:
  virtual ~FileSystemSync() = default;
  // syncfs(2): every file's data and every directory entry on the file system
  // are durable when it returns; throws if any write-back error happened on
  // it since the handle was created. Never retried after a failure.
  virtual void sync() = 0;
};

// An exclusive advisory lock (flock) held until destroyed.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  virtual std::unique_ptr<File> open(const std::string& path, OpenMode mode) = 0;

  // lstat: nullopt when the path does not exist (ENOENT, ENOTDIR).
  virtual std::optional<FileStat> lstat(const std::string& path) = 0;

  virtual std::string read_link(const std::string& path) = 0;

  // Entry names, without "." and "..", in no particular order.
  virtual std::vector<std::string> list_dir(const std::string& path) = 0;

  virtual void make_dir(const std::string& path, uint32_t mode) = 0;
  virtual void remove_dir(const std::string& path) = 0;

  // rename(2): atomically replaces `to` when it exists.
  virtual void rename(const std::string& from, const std::string& to) = 0;
  virtual void unlink(const std::string& path) = 0;

  // symlink(2): `path` becomes a new symbolic link holding `target`, which is
  // stored as given, never resolved (EEXIST when `path` exists).
  virtual void make_symlink(const std::string& target, const std::string& path);
  // link(2) without following: `to` becomes a second name of the file or
  // symlink `from` (EEXIST when `to` exists; EXDEV across file systems).
  virtual void hard_link(const std::string& from, const std::string& to);
  // chmod(2) of `path` itself — never of what a symlink names; a symlink
  // fails with EOPNOTSUPP. Permission bits only (07777).
  virtual void set_mode(const std::string& path, uint32_t mode);

  // fsync of a directory: its entries are durable when it returns.
  virtual void sync_dir(const std::string& path) = 0;

  // Starts watching the file system that holds directory `dir` for
  // write-back errors, so that one FileSystemSync::sync() can stand for many
  // File::sync() calls. nullptr when the file system cannot do that; callers
  // then sync each file.
  virtual std::unique_ptr<FileSystemSync> watch_file_system(const std::string& dir) {
    (void)dir;
    return nullptr;
  }

  // Bytes this process may still write on the file system holding directory
  // `dir` (statvfs), to refuse a patch declaring more before writing it.
  // nullopt when unknown (the default): no check.
  virtual std::optional<uint64_t> free_space(const std::string& dir) {
    (void)dir;
    return std::nullopt;
  }

  // The id of the mount `path` (not followed) is on (statx STATX_MNT_ID), to
  // refuse a target that is a mount point — a bind-mounted file cannot be
  // renamed over. nullopt when unknown (the default): st_dev is compared.
  virtual std::optional<uint64_t> mount_id(const std::string& path) {
    (void)path;
    return std::nullopt;
  }

  // Takes an exclusive lock on `path` (created if missing) without waiting;
  // nullptr when another process holds it.
  virtual std::unique_ptr<FileLock> try_lock(const std::string& path) = 0;

  // The uid files this process creates are owned by (geteuid()): the owner
  // a journal must have to be trusted.
  virtual uint32_t effective_uid() { return 0; }

  // A view of this file system anchored at the directories `dirs` (absolute,
  // existing, not symlinks), opened now. Every later call on a path beneath
  // an anchor is resolved by the kernel beneath it, from the anchor's
  // descriptor, at the moment of the call — with no symbolic link followed
  // on the way — so a directory swapped for a symlink after validation makes
  // the call fail instead of act outside. Paths under no anchor pass through.
  // The default (simulated file systems, which have no attacker) forwards
  // every call unchanged.
  virtual std::unique_ptr<FileSystem> anchored(const std::vector<std::string>& dirs);
};

}  // namespace bpatch

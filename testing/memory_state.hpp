// MemoryState — the data model under MemoryFileSystem: inodes, directory
// entries, what is durable, and the unsynced operations still pending.
//
// Every object has a *current* state (what a process sees now) and a
// *durable* state (what a power cut leaves). Between them lies the list of
// pending operations, in the order they happened:
//   * regular files: write, truncate, chmod, chown — made durable by sync()
//     of the inode (fsync: data, size and inode metadata, not its name);
//   * directories: link (an entry name → inode appears or is replaced) and
//     unlink (an entry name disappears) — made durable by sync_dir(). A rename
//     is a link in the target directory plus an unlink in the source one,
//     tagged with a shared rename id; syncing either directory makes the whole
//     rename durable (ext4 and xfs journal a rename as one transaction).
// Invariant: durable state + every pending op applied in order == current
// state (check_invariants() verifies it in tests).
//
// New inodes (create, mkdir, symlink) exist durably from their creation with
// empty data, their creation mode and, for symlinks, their target; they are
// only reachable once a link to them is durable.
//
// Errors are thrown as Errno{code}; MemoryFileSystem turns them into
// bpatch::Error exactly as PosixFileSystem does.
//
// Not thread-safe by itself: MemoryFileSystem serialises every access.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bpatch/file_system.hpp"

namespace bpatch::testing {

// A system call failure inside the model, before it is given a path and a verb.
struct Errno {
  int code;
};

using Bytes = std::vector<std::byte>;

struct Inode {
  uint64_t ino = 0;
  FileType type = FileType::regular;
  uint32_t mode = 0644, uid = 0, gid = 0;  // current
  uint32_t durable_mode = 0644, durable_uid = 0, durable_gid = 0;
  uint64_t nlink = 0;  // current links (directories: 2 + subdirectories)
  int64_t mtime_ns = 0;
  Bytes data, durable_data;                                  // regular files
  std::string link_target;                                   // symlinks
  std::map<std::string, uint64_t> entries, durable_entries;  // directories
  uint64_t parent = 0;  // directories: current parent, for ".."
};

// One unsynced change. `ino` is the file for write/truncate/chmod/chown and
// the directory for link/unlink.
struct PendingOp {
  enum class Kind { write, truncate, chmod, chown, link, unlink };
  uint64_t seq = 0;  // global order of the operations
  Kind kind = Kind::write;
  uint64_t ino = 0;
  std::string name;                     // link/unlink: the entry name
  uint64_t child = 0;                   // link/unlink: the inode the entry names
  uint64_t rename_id = 0;               // nonzero: half of a rename (the link comes first)
  uint64_t offset = 0;                  // write
  std::shared_ptr<const Bytes> data;    // write
  uint64_t size = 0;                    // truncate
  uint32_t mode = 0, uid = 0, gid = 0;  // chmod/chown

  bool is_entry_op() const { return kind == Kind::link || kind == Kind::unlink; }
};

const char* pending_kind_name(PendingOp::Kind kind);

// Where a path leads: the directory holding the final entry, the entry name
// (empty for "/", "." or ".." endings, where `ino` is that directory) and the
// inode it names (0 when absent).
struct Lookup {
  uint64_t dir = 0;
  std::string name;
  uint64_t ino = 0;
  bool trailing_slash = false;
};

class MemoryState {
 public:
  static constexpr uint64_t root_ino = 1;
  static constexpr uint64_t device = 0x6d656d;  // "mem"

  MemoryState();

  // Walks `path` from the root (relative paths too), following symlinks in
  // intermediate components and, when follow_final, in the last one. Throws
  // Errno: ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG.
  Lookup lookup(const std::string& path, bool follow_final) const;

  Inode& inode(uint64_t ino);
  const Inode& inode(uint64_t ino) const;
  bool has_inode(uint64_t ino) const { return inodes_.count(ino) != 0; }
  const std::map<uint64_t, Inode>& inodes() const { return inodes_; }

  // Makes a new inode and links it as dir/name (which must be absent).
  uint64_t create(uint64_t dir, const std::string& name, FileType type, uint32_t mode,
                  const std::string& link_target = {});
  // rename(2) of an existing entry; `to_dir/to_name` may exist (replaced).
  void rename(uint64_t from_dir, const std::string& from_name, uint64_t to_dir,
              const std::string& to_name);
  void remove(uint64_t dir, const std::string& name);  // unlink or rmdir
  // link(2): dir/name (absent) becomes another name of the non-directory `ino`.
  void link(uint64_t ino, uint64_t dir, const std::string& name) { link_entry(dir, name, ino, 0); }

  void write(uint64_t ino, uint64_t offset, std::shared_ptr<const Bytes> data);
  void truncate(uint64_t ino, uint64_t size);
  void chmod(uint64_t ino, uint32_t mode);
  void chown(uint64_t ino, uint32_t uid, uint32_t gid);

  void sync_inode(uint64_t ino);  // fsync of a file
  void sync_dir(uint64_t dir);    // fsync of a directory: its entries and its own mode/owner
  void sync_all();                // sync(2): everything durable
  // After a failed fsync: the inode's unsynced data (writes, truncates) is
  // dropped and its current data reverts to the durable data.
  void drop_unsynced(uint64_t ino);

  const std::vector<PendingOp>& pending() const { return pending_; }

  // A state holding exactly `durable` plus the given pending ops applied in
  // order, everything durable, only what is reachable from the root kept.
  // `ops` must be a subset of pending() in seq order. Write ops may carry
  // replaced data (torn writes); the caller builds them.
  MemoryState crash_image(const std::vector<PendingOp>& ops) const;

  // Throws std::logic_error when durable + pending != current somewhere, or
  // link counts or parents are wrong.
  void check_invariants() const;

 private:
  void link_entry(uint64_t dir, const std::string& name, uint64_t child, uint64_t rename_id);
  void unlink_entry(uint64_t dir, const std::string& name, uint64_t rename_id);
  void promote(size_t index);  // makes pending_[index] (and what it needs) durable
  void touch(Inode& node) { node.mtime_ns = ++clock_; }

  std::map<uint64_t, Inode> inodes_;
  std::vector<PendingOp> pending_;
  uint64_t next_ino_ = root_ino + 1;
  uint64_t next_seq_ = 1;
  uint64_t next_rename_id_ = 1;
  int64_t clock_ = 1'000'000'000;
};

// Applies one pending op to an inode's durable state (used by promote and by
// crash images). Writes past the end zero-fill the gap.
void apply_durably(Inode& node, const PendingOp& op);

}  // namespace bpatch::testing

// bpatch::Transaction — many file changes, committed all-or-nothing.
//
// Add changes (edit, delta, put, remove) and call commit(), which runs the
// whole protocol of SPEC §2: lock the journal and recover it, validate every
// change before writing anything, record the intent, stage shadow copies
// beside the targets, commit by renaming a checksummed manifest into the
// journal, replay the renames, clean up. Originals are never modified in place.
//
// Outcomes of commit():
//   * returns normally: every change is in place and durable;
//   * throws Error: nothing changed (every original is as it was, no shadow
//     or record is left behind);
//   * throws IncompleteCommit: the transaction committed but could not
//     finish (e.g. an fsync failed while replaying); `recover()` finishes it.
//
// A Transaction is used by one thread; commit() may use a small pool of
// worker threads internally. All I/O goes through the given FileSystem, which
// must outlive the transaction.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bpatch/edit.hpp"
#include "bpatch/error.hpp"
#include "bpatch/hash.hpp"

namespace bpatch {

class FileSystem;

// One change to one target.
struct Change {
  enum class Kind { edit, delta, put, remove };
  Kind kind = Kind::edit;
  std::string target;             // relative to the root; confined to it
  std::optional<Hash128> expect;  // required pre-image hash (edit, delta, remove, put)
  // The new content's hash (edit, delta, put): checked on the shadow before
  // the commit point; a target that already has it (and the mode) is left
  // alone, "already up to date".
  std::optional<Hash128> result;
  std::optional<Hash128> patch_hash;  // delta: the patch file's hash, checked before decoding
  std::vector<EditOp> edits;      // edit
  std::string patch;              // delta: the patch file (absolute or relative to the cwd)
  std::string source;             // edit/delta: read the old content here instead of
                                  // from target (`apply -o`); absolute or cwd-relative
  Data content;                   // put
  std::optional<uint32_t> mode;   // the result's permission bits; default: the target's
                                  // (0644 & ~umask-free for a new file)
  std::string origin;             // "script.bpatch:12", for messages; may be empty
};

struct Progress {
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;
  uint64_t files_done = 0;
  uint64_t files_total = 0;
};

struct TransactionOptions {
  std::string root;              // absolute; targets resolve inside it
  std::string journal;           // absolute; default (empty): ROOT/.bpatch
  bool allow_hardlinks = false;  // replace targets with several links (splits them)
  bool dry_run = false;          // validate and report, write nothing
  double wait_seconds = 0;       // how long to wait for a locked journal (<0: forever)
  unsigned threads = 0;          // threads staging shadows; 0: 4 (fsync-bound work likes a few)
  // Called as staging advances, from the staging threads but never from two at once.
  std::function<void(const Progress&)> progress;

  // Tests only: return true to skip the fsync at a named call site (see
  // src/core/durability.hpp). Leave empty in real use.
  std::function<bool(std::string_view site)> skip_sync_for_testing;
};

// What happened to one target.
struct FileResult {
  std::string target;  // absolute path
  Change::Kind kind = Change::Kind::edit;
  enum class Action { replaced, created, removed, unchanged } action = Action::replaced;
  std::optional<Hash128> pre_hash;   // when computed (expect= given, or remove)
  std::optional<Hash128> post_hash;  // the new content's hash (not for remove)
  uint64_t size = 0;                 // new size
  std::string note;                  // e.g. "already up to date"
};

struct CommitResult {
  std::string txid;  // empty when nothing was written (dry run, nothing to do)
  bool dry_run = false;
  std::vector<FileResult> files;
  std::vector<std::string> recovered;  // what the start-up recovery did, if anything
};

// Thrown by commit() after the commit point: the transaction is durable and
// `recover()` will finish it; the cause is in message()/sys_errno().
class IncompleteCommit : public Error {
 public:
  IncompleteCommit(const Error& cause, std::string txid);
  const std::string& txid() const noexcept { return txid_; }

 private:
  std::string txid_;
};

class Transaction {
 public:
  Transaction(FileSystem& fs, TransactionOptions options);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void add(Change change);
  const std::vector<Change>& changes() const { return changes_; }

  // Runs the protocol. Call once.
  CommitResult commit();

 private:
  FileSystem& fs_;
  TransactionOptions options_;
  std::vector<Change> changes_;
};

}  // namespace bpatch

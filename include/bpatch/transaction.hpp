// bpatch::Transaction — many file changes, committed all-or-nothing.
//
// Add changes (edit, delta, put, remove) and call commit(), which runs the
// whole protocol of docs/protocol.md §3: lock the journal and recover it, validate every
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

#include "bpatch/change.hpp"
#include "bpatch/error.hpp"
#include "bpatch/hash.hpp"
#include "bpatch/recovery.hpp"

namespace bpatch {

class FileSystem;

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
  // Undo generations to keep (bpatch/undo.hpp): > 0 keeps every replaced or
  // removed original (its inode, under a hidden name beside it: no copy) so
  // that undo() can restore it, and drops all but the `keep` newest
  // generations. 0 (the library's default): keep nothing; the CLI's is 1.
  unsigned keep = 0;
  // Called as staging advances, from the staging threads but never from two at once.
  std::function<void(const Progress&)> progress;
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

// The name of an action ("replaced", "created", "removed", "unchanged"), as
// the --json reports and the Python results spell it.
inline const char* file_action_name(FileResult::Action action) {
  switch (action) {
    case FileResult::Action::replaced:
      return "replaced";
    case FileResult::Action::created:
      return "created";
    case FileResult::Action::removed:
      return "removed";
    case FileResult::Action::unchanged:
      return "unchanged";
  }
  return "?";
}

struct CommitResult {
  std::string txid;  // empty when nothing was written (dry run, nothing to do)
  bool dry_run = false;
  std::vector<FileResult> files;
  std::vector<PendingTransaction> recovered;  // what the start-up recovery did, if anything
};

class Transaction {
 public:
  Transaction(FileSystem& fs, TransactionOptions options);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void add(Change change);

  // Runs the protocol. Call once.
  CommitResult commit();

 private:
  FileSystem& fs_;
  TransactionOptions options_;
  std::vector<Change> changes_;
};

}  // namespace bpatch

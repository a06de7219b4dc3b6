// Atomic releases: a whole tree switched at once through a symbolic link.
//
// The deployment layout (as Capistrano and OSTree users know it):
//
//   /srv/app/releases/v1/        a release: a complete tree
//   /srv/app/current -> releases/v1
//
// apply_atomic() builds the next release as a sibling directory
// `releases/v1.bpatch-TXID`: directories re-created with their modes,
// symlinks re-created, and every regular file *shared* with the current
// release — a reflink copy where the file system has reflinks, else a hard
// link (bpatch never writes a file in place, so sharing is safe). It then
// runs the changes there through the normal commit protocol (Transaction,
// with ROOT = the new release), makes the new tree durable, and switches
// LINK with one rename(2) of a new symlink over it. A reader that resolves
// LINK once (opens it, chdir()s into it) sees exactly the old or exactly the
// new release at every instant, and the old release is never touched: it is
// the undo generation. undo_atomic() switches LINK back the same way.
//
// The journal (default: LINK's directory/.bpatch, trusted under the same
// rules as any bpatch journal) holds one checksummed record per switch,
// `release-TXID` while the new release is being built (durable before the
// directory exists) and `generation-TXID` once LINK names it. Recovery
// (recover_atomic(), also run first by apply_atomic() and undo_atomic())
// deletes a new release whose switch never became durable — only a
// directory of that txid's name, recursively beneath it, never following a
// symlink — and finishes one whose switch did (docs/protocol.md §6).
//
// A program that writes a shared file *in place* (open O_RDWR, write)
// changes it in both releases when it is a hard link; one that replaces
// files by rename, as bpatch does, does not.
//
// Not thread-safe; several processes are serialised by the journal's lock.
// All I/O through the given FileSystem.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "bpatch/change.hpp"
#include "bpatch/transaction.hpp"

namespace bpatch {

class FileSystem;

struct AtomicOptions {
  std::string link;     // absolute path of LINK (its last component is not followed)
  std::string journal;  // absolute; default (empty): atomic_journal_dir(link)
  double wait_seconds = 0;
  unsigned threads = 0;  // as TransactionOptions::threads
  std::function<void(const Progress&)> progress;
};

struct AtomicResult {
  std::string txid;         // empty when nothing had to change (no release was made)
  std::string link;         // LINK, as the library spells it
  std::string old_release;  // absolute, canonical
  std::string new_release;  // absolute; empty when nothing changed
  std::string new_target;   // what LINK now holds (relative when it was)
  uint64_t files_reflinked = 0;
  uint64_t files_hard_linked = 0;
  CommitResult commit;                 // the changes, as applied inside the new release
  std::vector<std::string> recovered;  // what the start-up recovery did, in words
};

struct UndoResult {
  std::string txid;          // the generation switched back
  std::string from_release;  // what LINK named (kept on disk)
  std::string to_release;    // what LINK names now
  std::vector<std::string> recovered;
};

// LINK's directory/.bpatch.
std::string atomic_journal_dir(const std::string& link);

// Builds the new release, applies `changes` (paths relative to the release)
// in it, and switches LINK to it. Throws Error and leaves LINK and every
// release as they were (the half-built release deleted) before the switch;
// throws IncompleteCommit when the switch was issued but not confirmed
// (recover_atomic() decides from the disk).
AtomicResult apply_atomic(FileSystem& fs, const AtomicOptions& options,
                          std::vector<Change> changes);

// Switches LINK back to the release it named before the generation that
// switched it to its current target. The release switched away from stays
// on disk (delete it yourself when it is no longer wanted). Throws
// Error(not_found) when no generation switched LINK to what it names now.
UndoResult undo_atomic(FileSystem& fs, const AtomicOptions& options);

// One record of the journal, as atomic_status() reads it.
struct AtomicGeneration {
  std::string txid;
  std::string link, old_release, new_release;
  enum class State {
    building,    // release-TXID: interrupted; recover finishes or rolls it back
    current,     // LINK names new_release: undo would switch back to old_release
    undone,      // LINK names old_release again
    superseded,  // LINK has moved on (a later update)
  } state = State::building;
};

// The atomic records of `journal_dir`, in txid order; reads only, no lock.
std::vector<AtomicGeneration> atomic_status(FileSystem& fs, const std::string& journal_dir);

// Finishes or rolls back every atomic record in `journal_dir` (see above);
// returns what it did, one line per record. A missing journal: nothing.
std::vector<std::string> recover_atomic(FileSystem& fs, const std::string& journal_dir,
                                        double wait_seconds = 0);

}  // namespace bpatch

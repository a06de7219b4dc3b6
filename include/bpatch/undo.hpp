// Undo: restore the tree as it was before the newest kept transaction
// (docs/protocol.md §7).
//
// A transaction committed with TransactionOptions::keep > 0 keeps every
// original it replaced or removed — its inode, under a hidden second name
// beside it (".NAME.bpatch-keep-TXID"), never a copy — and leaves an undo
// generation record in the journal. undo() restores the newest generation as
// a crash-safe transaction of its own (the same intent, shadows, manifest and
// replay as any apply): each original comes back by renaming a hard link of
// its kept name over the target; files the transaction created are removed,
// and so are the directories it created once empty. Then the generation is
// dropped.
//
// undo() refuses, changing nothing, when a file of the generation is no
// longer what that transaction left (inode, size and XXH3-128 of the
// content), unless `force`; with no generation it throws Error(not_found)
// "nothing to undo".
//
// forget() drops generations crash-safely (their kept names and records);
// list_generations() reads them without the lock. All I/O through `fs`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bpatch/recovery.hpp"
#include "bpatch/transaction.hpp"

namespace bpatch {

class FileSystem;

struct UndoOptions {
  std::string root;         // absolute: the root the generation was made for
  std::string journal;      // absolute; default (empty): ROOT/.bpatch
  bool force = false;       // restore even over files changed since
  double wait_seconds = 0;  // how long to wait for a locked journal (<0: forever)
};

struct UndoReport {
  std::string txid;                           // the undo transaction
  std::string undone;                         // the generation it undid
  std::vector<FileResult> files;              // what it did to each target
  std::vector<PendingTransaction> recovered;  // what the start-up recovery did
};

// Throws Error(not_found) when there is nothing to undo, Error(wrong_source)
// when a file changed since (and not force), IncompleteCommit as commit().
UndoReport undo(FileSystem& fs, const UndoOptions& options);

struct Generation {
  std::string txid;
  std::string root;
  std::vector<std::string> targets;  // every file the transaction changed
  size_t kept = 0;                   // originals kept (replaced or removed files)
  size_t created = 0;                // files it created (undo removes them)
  // Bytes only this generation holds: the allocated size of each kept
  // original no other name links to (st_blocks; the size where unknown).
  uint64_t disk_cost = 0;
  std::string problem;  // empty, or why undo would refuse (a kept name gone…)
};

// The generations of journal_dir, oldest first. Changes nothing.
std::vector<Generation> list_generations(FileSystem& fs, const std::string& journal_dir);

// Drops generation `txid`, or every generation when empty; returns the txids
// dropped. Finishes any pending transaction first (as recover()). Throws
// Error(not_found) when the journal has no generation `txid`.
std::vector<std::string> forget(FileSystem& fs, const std::string& journal_dir,
                                const std::string& txid = "", double wait_seconds = 0);

}  // namespace bpatch

// Recovery: finish or undo what a crash left in a journal (docs/protocol.md §4).
//
// recover() takes the journal lock, then for each transaction record, in
// txid order: a manifest whose checksum verifies is committed and is
// replayed idempotently (shadow renamed over target, or the target checked
// to already be the post-image); anything else (torn or temporary manifest,
// intent without manifest) is rolled back by deleting the shadows its intent
// lists (only names of that txid's shadow pattern) and the records. It may be
// interrupted at any point and run again with the same result. An
// inconsistency (a committed target that is neither the shadow nor the
// post-image) is reported as Error(journal) and nothing more is touched.
//
// journal_status() reads the same records and changes nothing.
//
// Reentrant; all I/O through `fs`.
#pragma once

#include <string>
#include <vector>

namespace bpatch {

class FileSystem;

struct PendingTransaction {
  std::string txid;
  enum class State { committed, uncommitted } state = State::uncommitted;
  std::vector<std::string> targets;  // committed: the targets to replace/remove
  std::vector<std::string> shadows;  // the shadow files recorded
  std::string plan;                  // what recover would do / did, in words
};

struct RecoveryReport {
  std::vector<PendingTransaction> transactions;  // what was found and done
};

// ROOT/.bpatch: the journal of ROOT when none is named.
std::string default_journal_dir(const std::string& root);

// Both spell journal_dir canonically first (its parent's symlinks resolved),
// so a caller may name it any way that reaches it.
RecoveryReport recover(FileSystem& fs, const std::string& journal_dir, double wait_seconds = 0);

std::vector<PendingTransaction> journal_status(FileSystem& fs, const std::string& journal_dir);

// For a person, when recovery cannot go on (a committed transaction whose
// shadow someone deleted, a damaged manifest): drops transaction `txid` from
// the journal so that later applies and recoveries work again. Deletes the
// transaction's remaining shadow files (names of its own shadow pattern
// only) and its records; touches no target. The returned plan says exactly
// what it leaves: which targets hold the new content, which the old, which
// neither. An uncommitted transaction is simply rolled back. Throws
// Error(not_found) when the journal has no such transaction.
PendingTransaction abandon(FileSystem& fs, const std::string& journal_dir, const std::string& txid,
                           double wait_seconds = 0);

}  // namespace bpatch

// Replay and roll back: what recovery does to one transaction, shared by
// recover() and by Transaction::commit() (which must recover before it
// starts, and replays its own manifest with the very same code).
#pragma once

#include "base/durability.hpp"
#include "bpatch/recovery.hpp"
#include "journal/journal.hpp"

namespace bpatch::journal {

RecoveryReport recover_locked(Durability& sync, const Journal& journal);

// recover() with a hook that skips named fsync call sites: the seam through
// which the sync-mutation test drives the real recovery.
RecoveryReport recover_with_hook(FileSystem& fs, const std::string& journal_dir,
                                 double wait_seconds, SkipSyncHook skip_sync);

struct ManifestRecord;

// Replays a committed manifest idempotently and deletes its records. Used by
// recovery and by commit() right after its commit point, so the two share
// one replay. Throws Error(journal) on an inconsistency, touching nothing.
void replay(Durability& sync, const Journal& journal, const ManifestRecord& manifest,
            PendingTransaction* report);

// Rolls back one uncommitted transaction: deletes what its intent lists (only
// names of its shadow pattern, and directories it created if empty), then its
// records. Used by recovery and by an aborting commit.
// The records of a committed manifest, read and checked (beneath its root,
// exact shadow names). Throws Error(journal) for a damaged one.
ManifestRecord load_manifest(FileSystem& fs, const Journal& journal, const std::string& txid);
// The checks load_manifest makes of a decoded record found at `path`: its
// txid, its journal, every path canonical beneath its root, exact shadow
// names, an `undoes` txid older than its own. Throws Error(journal).
void check_manifest_record(const ManifestRecord& record, const Journal& journal,
                           const std::string& txid, const std::string& path);

// `recover --abandon` of a committed transaction: deletes its remaining
// shadows and records, touches no target; returns what it leaves, in words.
std::string abandon_committed(Durability& sync, const Journal& journal,
                              const ManifestRecord& manifest, std::vector<std::string>* targets);

void roll_back(Durability& sync, const Journal& journal, const std::string& txid,
               PendingTransaction* report);

}  // namespace bpatch::journal

// Undo generations: what a transaction that keeps undo data leaves behind,
// and how it is dropped (docs/protocol.md §7).
//
// A transaction committed with `keep N` (N > 0) replays as any other, except
// that each original it replaces or removes keeps its inode under a second,
// hidden name — in the journal directory, or beside it (KeptNames): a hard
// link made before the rename over it, or the removed file renamed to it. No
// byte is copied. Then, instead of being deleted, manifest-TXID is renamed to
// undo-TXID: the generation record, which `bpatch undo` reads. Only the N
// newest generations are kept; older ones are forgotten.
//
// Forgetting is crash-safe: undo-TXID is renamed to forget-TXID first (the
// mark), then the kept names are unlinked, then the record; recovery finishes
// a forget-TXID it finds. A kept name is acted on only when it is exactly the
// keep name of its target for that txid and has the recorded inode, so a
// record never makes bpatch delete a name it did not make.
//
// All functions run with the journal lock held. Not thread-safe.
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/durability.hpp"
#include "journal/journal.hpp"
#include "journal/records.hpp"

namespace bpatch::journal {

// The kept name of an entry's original. When the journal is on the root's
// file system (the default ROOT/.bpatch): JOURNAL/keep-TXID-HASH, HASH the
// XXH3-128 of the target's path — so the tree holds no extra name, and a
// comparison of the tree with the new version sees only the journal. Else
// beside the target: paths::keep_path, or, for a file inside a directory the
// same transaction removes, a name beside the top-most such directory
// (".sub%2Fx.bpatch-keep-TXID" for sub/x), so that the directory can go.
// Computed from the record (and where its journal is), never read from it.
// JOURNAL/keep-TXID-HASH: the name in the journal of target's kept original.
std::string journal_keep_path(const std::string& journal, const std::string& txid,
                              const std::string& target);

class KeptNames {
 public:
  KeptNames(FileSystem& fs, const ManifestRecord& record);  // keeps a reference
  std::string of(const ManifestEntry& entry) const;

 private:
  const ManifestRecord& record_;
  bool in_journal_ = false;
  std::set<std::string> removed_dirs_;
};

// The kept names of a generation and the inode each must have.
std::vector<std::pair<std::string, uint64_t>> kept_names(FileSystem& fs,
                                                         const ManifestRecord& record);

// Replay, before its renames: a keep name for each original a shadow is about
// to replace. Idempotent; a keep name that exists is left as it is; an
// original that cannot be linked is not kept (undo then refuses). Adds the
// directories that got a name to `dirs`.
void keep_replaced(FileSystem& fs, const ManifestRecord& manifest, std::set<std::string>* dirs);

// Replay of a `remove`: renames the target (present, already checked to be
// the recorded inode) to its keep name. False when it cannot be kept (the
// caller unlinks it as without keep).
bool keep_removed(FileSystem& fs, const KeptNames& kept, const ManifestEntry& entry);

// After replay is durable: deletes the intent, turns manifest-TXID into
// undo-TXID, makes that durable and forgets all but the `keep` newest
// generations.
// `keeps_new_dirs` as for the records' deletion (replay.hpp).
void store_generation(Durability& sync, const Journal& journal, const ManifestRecord& manifest,
                      bool keeps_new_dirs);

// Forgets all but the newest N generations, N being the `keep` of the
// newest one. Called after storing a generation, and by every recovery so
// that a pruning a crash interrupted is finished.
void prune_generations(Durability& sync, const Journal& journal);

// After the replay of an undo transaction (manifest.undoes = G) is durable:
// drops G's kept names (the restored targets keep the inodes), removes the
// directories G created when empty, then G's record.
void finish_undoing(Durability& sync, const Journal& journal, const ManifestRecord& manifest);

// The generations (undo-TXID with no other record of that txid), oldest first.
std::vector<std::string> generation_txids(FileSystem& fs, const Journal& journal);

// undo-TXID or forget-TXID (`path`), read and checked as a manifest is.
ManifestRecord load_generation(FileSystem& fs, const Journal& journal, const std::string& txid,
                               const std::string& path);

// Marks generation txid forgotten (undo- → forget-), then finishes it.
void forget_generation(Durability& sync, const Journal& journal, const std::string& txid);

// Unlinks the kept names of forget-TXID, then the record. Idempotent.
void finish_forget(Durability& sync, const Journal& journal, const std::string& txid);

}  // namespace bpatch::journal

namespace bpatch::journal {

// bpatch::forget() with a hook that skips named fsync call sites (the
// sync-mutation test's seam, as recover_with_hook).
std::vector<std::string> forget_with_hook(FileSystem& fs, const std::string& journal_dir,
                                          const std::string& txid, double wait_seconds,
                                          SkipSyncHook skip_sync);

}  // namespace bpatch::journal

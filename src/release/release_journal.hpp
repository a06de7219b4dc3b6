// The atomic records in a journal directory and what recovery does with
// them (docs/protocol.md §6). They live beside the transaction records,
// under their own names (`release-TXID`, `generation-TXID`), which the
// transaction journal ignores; the changes inside a new release run as a
// normal transaction whose own journal is JOURNAL/tree.
//
// Everything here runs under the journal's lock.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/durability.hpp"
#include "journal/journal.hpp"
#include "release/release_record.hpp"

namespace bpatch::release {

struct AtomicRecordSet {
  bool release = false;     // building: the switch may not have happened
  bool generation = false;  // switched: LINK named the new release
};

// Every txid with an atomic record, in txid order.
std::map<std::string, AtomicRecordSet> atomic_records(FileSystem& fs,
                                                      const journal::Journal& journal);

std::string release_record_path(const journal::Journal& journal, const std::string& txid);
std::string generation_record_path(const journal::Journal& journal, const std::string& txid);
// The journal of the transaction run inside a new release.
std::string tree_journal_dir(const journal::Journal& journal);
// LINK.bpatch-TXID: the symlink renamed over LINK.
std::string temp_link_path(const std::string& link, const std::string& txid);
// The new release beside `old_dir`: its name, less an earlier ".bpatch-TXID",
// then ".bpatch-TXID".
std::string new_release_path(const std::string& old_dir, const std::string& txid);

// A txid greater than every record's in the journal, atomic or not.
std::string new_atomic_txid(FileSystem& fs, const journal::Journal& journal);

// Checks a decoded record: see load_release.
void check_release(const ReleaseRecord& record, const journal::Journal& journal,
                   const std::string& path, const std::string& txid);

// Reads and checks a record: its txid, its journal, and that its new release
// is exactly the name new_release_path() gives beside its old one. Throws
// Error(journal) otherwise.
ReleaseRecord load_release(FileSystem& fs, const journal::Journal& journal, const std::string& path,
                           const std::string& txid);

// The view every call on a record's files goes through: anchored at the
// releases' directory, the journal and LINK's directory.
std::unique_ptr<FileSystem> view_for(FileSystem& plain, const ReleaseRecord& record);

// Undoes an unfinished build: finishes or rolls back the transaction inside
// it, deletes the new release and LINK.bpatch-TXID, and then the record.
// `plain` is the unanchored file system (for the inner journal's recovery).
std::string roll_back_release(FileSystem& plain, const SkipSyncHook& skip,
                              const journal::Journal& journal, const ReleaseRecord& record);

// Every atomic record, in txid order: see release_journal.cpp.
std::vector<std::string> recover_atomic_locked(FileSystem& plain, const SkipSyncHook& skip,
                                               const journal::Journal& journal);

// The lock on an atomic journal, taken after the journal directory is made
// (its entry synced) when `create` and it is missing, and the start-up
// recovery done. nullopt journal: none exists and !create.
struct LockedJournal {
  std::unique_ptr<FileSystem> view;  // anchored at the journal directory
  std::optional<journal::Journal> journal;
  bool created = false;
  std::vector<std::string> recovered;
};
LockedJournal lock_and_recover(FileSystem& plain, const std::string& journal_dir,
                               double wait_seconds, const SkipSyncHook& skip, bool create);

// recover_atomic() with a hook that skips named fsync sites (the tests).
std::vector<std::string> recover_atomic_with_hook(FileSystem& fs, const std::string& journal_dir,
                                                  double wait_seconds, SkipSyncHook skip);

}  // namespace bpatch::release

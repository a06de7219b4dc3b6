// Recovery: replay committed manifests, roll back everything else (docs/protocol.md §4).
//
// Every step is idempotent, so recovery can itself be interrupted at any
// point and run again: a rename whose shadow is gone is recognised by the
// target now having the shadow's inode; a deleted record is simply absent.
#include <algorithm>
#include <set>

#include "base/paths.hpp"
#include "bpatch/error.hpp"
#include "journal/generations.hpp"
#include "journal/read_only_journal.hpp"
#include "journal/records.hpp"
#include "journal/replay.hpp"

namespace bpatch::journal {
namespace {

// Records name absolute paths. A journal copied or moved with its tree
// would make recovery act on the original tree (without its lock), so a
// record written for another journal directory is refused, touching nothing.
template <typename Record>
void check_home(const Record& record, const Journal& journal, const std::string& path) {
  if (record.journal != journal.dir())
    throw Error(Errc::journal, path,
                "this record was written for the journal " + record.journal + ", not " +
                    journal.dir() +
                    " (was the tree copied or moved?); nothing was changed — finish it from its "
                    "original place, or remove the record by hand");
}

// Defence in depth, for a record that is ours yet names paths it should not:
// every path must be canonical and lie beneath the recorded ROOT, outside
// the journal.
void check_beneath_root(const std::string& root, const std::string& journal_dir,
                        const std::string& path, const std::string& record) {
  const bool canonical = !path.empty() && paths::absolute(path, "/") == path;
  const bool beneath = path.starts_with(root == "/" ? root : root + "/") && path != root;
  const bool in_journal = path == journal_dir || path.starts_with(journal_dir + "/");
  if (!canonical || !beneath || in_journal)
    throw Error(
        Errc::journal, record,
        "names " + path + ", which is not beneath its root " + root + "; nothing was changed");
}

bool has_shadow(const ManifestEntry& e) {
  return e.op == ManifestEntry::Op::replace || e.op == ManifestEntry::Op::symlink;
}

FileType shadow_type(const ManifestEntry& e) {
  return e.op == ManifestEntry::Op::symlink ? FileType::symlink : FileType::regular;
}

// A shadow recovery may delete: a file or symlink of its shadow name.
bool is_deletable_shadow(const std::optional<FileStat>& st) {
  return st && (st->type == FileType::regular || st->type == FileType::symlink);
}

// The directory the entry names, when it is still the one the transaction
// recorded; anything else there is left alone.
bool is_recorded_dir(const std::optional<FileStat>& st, const ManifestEntry& e) {
  return st && st->type == FileType::directory && st->id.ino == e.ino;
}

}  // namespace

// A manifest under its final name was synced before it was renamed there,
// so one that does not decode is damage (or tampering), not a crash: rolling
// it back could leave a mix of old and new files. It is refused and nothing
// is touched.
ManifestRecord load_manifest(FileSystem& fs, const Journal& journal, const std::string& txid) {
  const std::string path = journal.manifest_path(txid);
  ManifestRecord record;
  try {
    record = decode_manifest(read_small_file(fs, path), path);
  } catch (const Error& e) {
    if (e.code() != Errc::journal) throw;
    throw Error(Errc::journal, path,
                e.message() +
                    ": a committed manifest is damaged; nothing was changed. Inspect the files "
                    "it names, then `bpatch recover --abandon " +
                    txid + "`");
  }
  check_manifest_record(record, journal, txid, path);
  return record;
}

void check_manifest_record(const ManifestRecord& record, const Journal& journal,
                           const std::string& txid, const std::string& path) {
  if (record.txid != txid)
    throw Error(Errc::journal, path, "names transaction " + record.txid + "; nothing was changed");
  check_home(record, journal, path);
  for (const auto& e : record.entries) {
    check_beneath_root(record.root, journal.dir(), e.target, path);
    if (has_shadow(e) && e.shadow != paths::shadow_path(e.target, txid))
      throw Error(Errc::journal, path,
                  "the shadow " + e.shadow + " is not the shadow name of " + e.target +
                      "; nothing was changed");
  }
  for (const auto& dir : record.dirs) check_beneath_root(record.root, journal.dir(), dir, path);
  if (!record.undoes.empty() && (!is_txid(record.undoes) || record.undoes >= txid))
    throw Error(Errc::journal, path,
                "undoes `" + record.undoes + "`, which is not an earlier transaction id");
}

namespace {

std::optional<IntentRecord> load_intent(FileSystem& fs, const Journal& journal,
                                        const std::string& txid) {
  const std::string path = journal.intent_path(txid);
  if (!fs.lstat(path)) return std::nullopt;
  std::optional<IntentRecord> record;
  try {
    record = decode_intent(read_small_file(fs, path), path);
  } catch (const Error& e) {
    // A torn intent was never synced, so no shadow was created after it.
    if (e.code() == Errc::journal) return std::nullopt;
    throw;
  }
  if (record->txid != txid) return std::nullopt;
  check_home(*record, journal, path);
  for (const auto& dir : record->dirs) check_beneath_root(record->root, journal.dir(), dir, path);
  for (const auto& s : record->shadows) check_beneath_root(record->root, journal.dir(), s, path);
  return record;
}

// Every rename and unlink of a record's files is resolved by the kernel
// beneath the root the record names (and the journal beneath its own).
std::unique_ptr<FileSystem> view_for(FileSystem& fs, const std::string& root,
                                     const Journal& journal) {
  return fs.anchored({root, journal.dir()});
}

void unlink_if_present(FileSystem& fs, const std::string& path) {
  if (fs.lstat(path)) fs.unlink(path);
}

// Deletes every record file of txid, then makes the deletions durable.
// `keeps_new_dirs`: the transaction committed directories that may be empty
// (a mkdir), which its intent lists for a rollback to remove.
void delete_records(Durability& sync, const Journal& journal, const std::string& txid,
                    bool keeps_new_dirs = false) {
  FileSystem& fs = sync.fs();
  // The intent goes first: a manifest left alone is replayed again (a no-op);
  // an intent left alone would be rolled back, which only deletes shadow
  // names that no longer exist — and empty directories it created.
  unlink_if_present(fs, journal.intent_path(txid));
  // So when an empty directory is one of the results, the intent's deletion
  // must be durable before the manifest's: a crash that kept only the
  // latter would have the rollback remove a directory the commit made.
  if (keeps_new_dirs) sync.sync_dir(journal.dir(), "recover.records.intent");
  unlink_if_present(fs, journal.manifest_tmp_path(txid));
  unlink_if_present(fs, journal.manifest_path(txid));
  // Until this sync the records may come back after a crash and be replayed
  // over files that the caller has since changed; so recovery does not
  // report success before the deletions are durable.
  sync.sync_dir(journal.dir(), "recover.records");
}

[[noreturn]] void inconsistent(const std::string& target, const std::string& txid,
                               const std::string& what) {
  throw Error(
      Errc::journal, target,
      "committed transaction " + txid + " cannot be finished: " + what +
          "; nothing more was changed — inspect the file, then remove the journal records by hand");
}

}  // namespace

void replay(Durability& journal_sync, const Journal& journal, const ManifestRecord& manifest,
            PendingTransaction* report) {
  using Op = ManifestEntry::Op;
  const auto view = view_for(journal_sync.fs(), manifest.root, journal);
  Durability sync = journal_sync.on(*view);
  FileSystem& fs = *view;
  std::set<std::string> dirs, chmodded, rmdirred;
  size_t renamed = 0, removed = 0, moded = 0;
  std::string left;  // directories an rmdir found not empty
  // Check everything first, so that an inconsistency touches nothing.
  for (const auto& e : manifest.entries) {
    const auto target = fs.lstat(e.target);
    if (has_shadow(e)) {
      const auto shadow = fs.lstat(e.shadow);
      if (shadow && (shadow->type != shadow_type(e) || shadow->id.ino != e.ino))
        inconsistent(e.shadow, manifest.txid, "the shadow file is not the one staged");
      if (!shadow && !(target && target->type == shadow_type(e) && target->id.ino == e.ino &&
                       target->id.size == e.size))
        inconsistent(e.target, manifest.txid,
                     "its shadow is gone and the file is not the new content");
    } else if (e.op == Op::remove && target &&
               !(target->id.ino == e.ino && target->id.size == e.size)) {
      inconsistent(e.target, manifest.txid, "the file to remove was replaced by another");
    }
  }
  const KeptNames kept_names(fs, manifest);
  std::set<std::string> moved_out;  // directories that got a kept name from another one
  if (manifest.keep) {
    // Undo data (generations.hpp): a second name for every original about
    // to be replaced, durable before the rename that would otherwise leave
    // the original with no name at all.
    std::set<std::string> keep_dirs;
    keep_replaced(fs, manifest, &keep_dirs);
    for (const auto& dir : keep_dirs) sync.sync_dir(dir, "keep.dir");
  }
  // Renames and unlinks in order, then directories' modes, then rmdirs
  // (recorded children first).
  for (const auto& e : manifest.entries) {
    const auto target = fs.lstat(e.target);
    if (has_shadow(e)) {
      const auto shadow = fs.lstat(e.shadow);
      if (!shadow) continue;  // already renamed
      if (target && target->id.ino == shadow->id.ino) {
        // A half-done rename left both names on the inode; rename(2) would do
        // nothing here, so drop the shadow's name instead.
        fs.unlink(e.shadow);
      } else {
        fs.rename(e.shadow, e.target);
      }
      ++renamed;
    } else if (e.op == Op::remove) {
      if (!target) continue;
      // With undo data the removed file keeps its inode under its keep name.
      if (!(manifest.keep && keep_removed(fs, kept_names, e))) {
        fs.unlink(e.target);
      } else if (const std::string dir = paths::dirname(kept_names.of(e));
                 dir != paths::dirname(e.target)) {
        moved_out.insert(dir);
      }
      ++removed;
    } else {
      continue;
    }
    dirs.insert(paths::dirname(e.target));
  }
  // A file kept out of a directory that is about to be removed must have its
  // new name durably before the rmdir can be: a crash could otherwise keep
  // the rmdir and lose both the file's old entry and its new one.
  for (const auto& dir : moved_out) sync.sync_dir(dir, "keep.dir");
  for (const auto& e : manifest.entries) {
    if (e.op != Op::chmod) continue;
    const auto target = fs.lstat(e.target);
    if (!is_recorded_dir(target, e)) continue;  // gone or replaced since: not ours to change
    if (target->mode != e.mode) fs.set_mode(e.target, e.mode);
    chmodded.insert(e.target);  // synced even when an earlier run set it
    ++moded;
  }
  for (const auto& e : manifest.entries) {
    if (e.op != Op::rmdir) continue;
    if (!is_recorded_dir(fs.lstat(e.target), e)) continue;
    try {
      fs.remove_dir(e.target);
    } catch (const Error& err) {
      // Someone put a file in it after the commit: the directory stays, and
      // recovery is not stuck over it.
      if (err.sys_errno() != ENOTEMPTY && err.sys_errno() != EEXIST) throw;
      left += (left.empty() ? "" : ", ") + e.target;
      continue;
    }
    ++removed;
    rmdirred.insert(e.target);
    dirs.insert(paths::dirname(e.target));
  }
  // The renames, unlinks and rmdirs must be durable before the manifest that
  // would redo them is deleted. (A directory removed here is not synced: its
  // parent's sync makes its removal durable, and rmdir needed it empty.)
  for (const auto& dir : dirs)
    if (!rmdirred.contains(dir)) sync.sync_dir(dir, "recover.replay.dir");
  // So must a directory's new mode (an fsync of the directory writes its
  // inode): after the records go, nothing would set it again.
  for (const auto& dir : chmodded) sync.sync_dir(dir, "recover.replay.chmod");
  const bool keeps_new_dirs =
      std::any_of(manifest.entries.begin(), manifest.entries.end(),
                  [](const ManifestEntry& e) { return e.op == ManifestEntry::Op::chmod; });
  if (!manifest.undoes.empty()) finish_undoing(sync, journal, manifest);
  if (manifest.keep)  // the manifest becomes the undo generation undo-TXID
    store_generation(sync, journal, manifest, keeps_new_dirs);
  else
    delete_records(sync, journal, manifest.txid, keeps_new_dirs);
  if (report) {
    report->plan = "replayed: " + std::to_string(renamed) + " renamed, " + std::to_string(removed) +
                   " removed, " + std::to_string(moded) + " mode(s) set, " +
                   std::to_string(manifest.entries.size() - renamed - removed - moded) +
                   " already in place";
    if (!left.empty()) report->plan += "; left in place, not empty: " + left;
  }
}

void roll_back(Durability& journal_sync, const Journal& journal, const std::string& txid,
               PendingTransaction* report) {
  const auto intent = load_intent(journal_sync.fs(), journal, txid);
  size_t deleted = 0;
  if (intent) {
    const auto view = view_for(journal_sync.fs(), intent->root, journal);
    Durability sync = journal_sync.on(*view);
    FileSystem& fs = *view;
    std::set<std::string> dirs_to_sync;
    for (const auto& shadow : intent->shadows) {
      if (!paths::is_shadow_of(shadow, txid)) continue;  // never delete a name we did not make
      if (!is_deletable_shadow(fs.lstat(shadow))) continue;
      fs.unlink(shadow);
      ++deleted;
      dirs_to_sync.insert(paths::dirname(shadow));
    }
    std::set<std::string> removed_dirs;
    for (auto it = intent->dirs.rbegin(); it != intent->dirs.rend(); ++it) {
      const auto st = fs.lstat(*it);
      if (!st || st->type != FileType::directory || !fs.list_dir(*it).empty()) continue;
      fs.remove_dir(*it);
      removed_dirs.insert(*it);
      dirs_to_sync.insert(paths::dirname(*it));
    }
    // The shadows' deletion must be durable before the intent that lists
    // them is deleted; otherwise a crash could leave orphan shadows that no
    // record names.
    for (const auto& dir : dirs_to_sync)
      if (!removed_dirs.contains(dir)) sync.sync_dir(dir, "recover.rollback.dir");
  }
  delete_records(journal_sync, journal, txid);
  if (report) report->plan = "rolled back: " + std::to_string(deleted) + " shadow file(s) deleted";
}

std::string abandon_committed(Durability& journal_sync, const Journal& journal,
                              const ManifestRecord& manifest, std::vector<std::string>* targets) {
  const auto view = view_for(journal_sync.fs(), manifest.root, journal);
  Durability sync = journal_sync.on(*view);
  FileSystem& fs = *view;
  std::vector<std::string> now_new, still_old, neither;
  std::set<std::string> dirs;
  for (const auto& e : manifest.entries) {
    targets->push_back(e.target);
    const auto target = fs.lstat(e.target);
    if (e.op == ManifestEntry::Op::remove || e.op == ManifestEntry::Op::rmdir) {
      (target ? still_old : now_new).push_back(e.target);
      continue;
    }
    if (e.op == ManifestEntry::Op::chmod) {
      const bool set = target && target->mode == e.mode;
      (set ? now_new : still_old).push_back(e.target);
      continue;
    }
    const auto shadow = fs.lstat(e.shadow);
    if (target && target->id.ino == e.ino) {
      now_new.push_back(e.target);
    } else if (is_deletable_shadow(shadow) && shadow->id.ino == e.ino) {
      still_old.push_back(e.target);
    } else {
      neither.push_back(e.target);
    }
    if (is_deletable_shadow(shadow) && paths::is_shadow_of(e.shadow, manifest.txid)) {
      fs.unlink(e.shadow);
      dirs.insert(paths::dirname(e.shadow));
    }
  }
  // The shadows' deletion must be durable before the records that name them
  // are deleted, or a crash could leave orphans no record names.
  for (const auto& dir : dirs) sync.sync_dir(dir, "recover.rollback.dir");
  delete_records(journal_sync, journal, manifest.txid);
  auto list = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& p : v) out += (out.empty() ? "" : ", ") + p;
    return out.empty() ? std::string("none") : out;
  };
  return "abandoned: the tree is now a MIX — new content: " + list(now_new) +
         "; old content: " + list(still_old) + "; neither (left as found): " + list(neither);
}

RecoveryReport recover_locked(Durability& sync, const Journal& journal) {
  FileSystem& fs = sync.fs();
  RecoveryReport report;
  for (const auto& [txid, set] : journal.records(fs)) {  // std::map: txid order
    if (set.generation_only()) continue;                 // an undo generation: nothing to finish
    PendingTransaction pending;
    pending.txid = txid;
    if (set.forget) {
      finish_forget(sync, journal, txid);  // an interrupted `forget` (or pruning)
      pending.plan = "finished forgetting undo generation " + txid;
      if (!set.intent && !set.manifest && !set.manifest_tmp) {
        report.transactions.push_back(std::move(pending));
        continue;
      }
    }
    const auto manifest =
        set.manifest ? std::optional(load_manifest(fs, journal, txid)) : std::nullopt;
    if (manifest) {
      pending.state = PendingTransaction::State::committed;
      for (const auto& e : manifest->entries) pending.targets.push_back(e.target);
      replay(sync, journal, *manifest, &pending);
    } else {
      roll_back(sync, journal, txid, &pending);
    }
    report.transactions.push_back(std::move(pending));
  }
  prune_generations(sync, journal);  // one a crash interrupted (generations.hpp)
  return report;
}

std::vector<PendingTransaction> status_of(FileSystem& fs, const Journal& journal) {
  std::vector<PendingTransaction> out;
  for (const auto& [txid, set] : journal.records(fs)) {
    if (set.generation_only()) continue;  // listed by list_generations()
    PendingTransaction pending;
    pending.txid = txid;
    if (set.forget && !set.intent && !set.manifest && !set.manifest_tmp) {
      pending.plan = "an interrupted forget: recover will finish dropping undo generation " + txid;
      out.push_back(std::move(pending));
      continue;
    }
    std::optional<ManifestRecord> manifest;
    if (set.manifest) {
      try {
        manifest = load_manifest(fs, journal, txid);
      } catch (const Error& e) {
        if (e.code() != Errc::journal) throw;
        pending.state = PendingTransaction::State::committed;
        pending.plan = "stuck: " + e.message();
        out.push_back(std::move(pending));
        continue;
      }
    }
    const auto intent = load_intent(fs, journal, txid);
    if (intent) pending.shadows = intent->shadows;
    if (manifest) {
      pending.state = PendingTransaction::State::committed;
      size_t to_rename = 0;
      std::string lost;
      for (const auto& e : manifest->entries) {
        pending.targets.push_back(e.target);
        const bool pending = has_shadow(e)                      ? fs.lstat(e.shadow).has_value()
                             : e.op == ManifestEntry::Op::chmod ? false
                                                                : fs.lstat(e.target).has_value();
        if (pending) ++to_rename;
        if (has_shadow(e) && !pending) {
          const auto target = fs.lstat(e.target);
          if (!target || target->id.ino != e.ino) lost += (lost.empty() ? "" : ", ") + e.target;
        }
      }
      pending.plan = "committed: recover will finish it (" + std::to_string(to_rename) + " of " +
                     std::to_string(manifest->entries.size()) +
                     " file(s) still to rename or remove)";
      if (!lost.empty())
        pending.plan = "stuck: committed, but the new content of " + lost +
                       " is gone (its shadow file was deleted), so recover cannot finish it. "
                       "`bpatch recover --abandon " +
                       txid +
                       "` drops it and says which files "
                       "it leaves new and which old";
    } else {
      size_t present = 0;
      if (intent)
        for (const auto& s : intent->shadows)
          if (paths::is_shadow_of(s, txid) && fs.lstat(s)) ++present;
      pending.plan = "not committed: recover will roll it back (" + std::to_string(present) +
                     " shadow file(s) to delete; no target was changed)";
    }
    out.push_back(std::move(pending));
  }
  return out;
}

}  // namespace bpatch::journal

namespace bpatch {

namespace journal {

RecoveryReport recover_with_hook(FileSystem& fs, const std::string& journal_dir,
                                 double wait_seconds, SkipSyncHook skip_sync) {
  const std::string dir = paths::canonical_parent(fs, journal_dir);
  if (!fs.lstat(dir)) return {};  // no journal, nothing to do
  const auto view = fs.anchored({dir});
  Durability sync(*view, std::move(skip_sync));
  const auto journal = Journal::open(sync, dir, wait_seconds);
  return recover_locked(sync, journal);
}

}  // namespace journal

PendingTransaction abandon(FileSystem& fs, const std::string& journal_dir, const std::string& txid,
                           double wait_seconds) {
  const std::string dir = paths::canonical_parent(fs, journal_dir);
  if (!fs.lstat(dir) || !journal::is_txid(txid))
    throw Error(Errc::not_found, dir, "no transaction " + txid + " in this journal");
  const auto view = fs.anchored({dir});
  Durability sync(*view, nullptr);
  const auto journal = journal::Journal::open(sync, dir, wait_seconds);
  const auto records = journal.records(*view);
  const auto found = records.find(txid);
  if (found == records.end())
    throw Error(Errc::not_found, dir, "no transaction " + txid + " in this journal");
  PendingTransaction pending;
  pending.txid = txid;
  if (!found->second.manifest) {
    journal::roll_back(sync, journal, txid, &pending);
    return pending;
  }
  pending.state = PendingTransaction::State::committed;
  std::optional<journal::ManifestRecord> manifest;
  try {
    manifest = journal::load_manifest(*view, journal, txid);
  } catch (const Error& e) {
    if (e.code() != Errc::journal) throw;
  }
  if (!manifest) {
    // Unreadable: the intent still lists the shadows; rolling back deletes
    // exactly those names and the records.
    journal::roll_back(sync, journal, txid, &pending);
    pending.plan = "abandoned a damaged manifest; " + pending.plan +
                   "; the targets were left as they are (check them)";
    return pending;
  }
  pending.plan = journal::abandon_committed(sync, journal, *manifest, &pending.targets);
  return pending;
}

RecoveryReport recover(FileSystem& fs, const std::string& journal_dir, double wait_seconds) {
  return journal::recover_with_hook(fs, journal_dir, wait_seconds, nullptr);
}

std::vector<PendingTransaction> journal_status(FileSystem& fs, const std::string& journal_dir) {
  const auto opened = journal::open_read_only_journal(fs, journal_dir);
  if (!opened) return {};
  const auto& view = opened->view;
  const journal::Journal* journal = &opened->journal;
  return journal::status_of(*view, *journal);
}

}  // namespace bpatch

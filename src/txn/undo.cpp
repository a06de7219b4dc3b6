// bpatch::undo — the newest undo generation restored as a transaction of its
// own (docs/protocol.md §6.3). It follows the commit protocol of §3 step by
// step, with shadows that are hard links of the kept originals (staged by
// linkat(2): no byte copied) instead of written files:
//
//   1-3  lock the journal and recover it
//   4    read the generation; check every file is what it left (inode,
//        size, hash) and every kept original is there; plan the restores
//   5    intent-U: the shadow names (synced, then the journal directory)
//   6-7  each shadow a hard link of its kept name; dir-sync their directories
//   8    re-check the targets
//   9    manifest-U.tmp: replace (shadow → target) for each original,
//        remove for each created file, `undoes G`; synced
//   10   commit: rename it to manifest-U; dir-sync the journal
//   11   replay — the very replay recovery runs — which then drops G's kept
//        names, the directories G created, and G's record (generations.cpp)
//
// A crash anywhere leaves either an uncommitted U (rolled back: the shadows
// are second names, deleting them loses nothing) or a committed one that
// recovery finishes.
#include <map>
#include <set>

#include "base/paths.hpp"
#include "bpatch/error.hpp"
#include "bpatch/file_system.hpp"
#include "bpatch/hash.hpp"
#include "journal/generations.hpp"
#include "journal/journal.hpp"
#include "journal/records.hpp"
#include "journal/replay.hpp"
#include "txn/undo_commit.hpp"

namespace bpatch {
namespace {

// One target of the generation and what undo does to it.
struct UndoStep {
  const journal::ManifestEntry* entry = nullptr;
  std::optional<FileStat> target_stat;  // as found at validation
  std::string kept;                     // restore: the kept original; empty: remove the target
  FileStat kept_stat;
  std::string shadow;
};

// Why `entry`'s target is not what the generation left, or "".
std::string changed_since(FileSystem& fs, const journal::ManifestEntry& e,
                          const std::optional<FileStat>& now) {
  if (e.op == journal::ManifestEntry::Op::remove)
    return now ? "it was removed by that transaction and exists again" : "";
  if (!now) return "it was deleted";
  if (now->type != FileType::regular) return "it is no longer a regular file";
  if (now->id.ino != e.ino || now->id.size != e.size) return "it was replaced or resized";
  if (e.post_hash && hash_file(fs, e.target) != *e.post_hash) return "its content was edited";
  return "";
}

std::string canonical_root(FileSystem& fs, const std::string& root) {
  if (root.empty() || root[0] != '/')
    throw Error(Errc::usage, root, "the root must be an absolute path");
  return paths::canonical(fs, root);
}

class Undo {
 public:
  Undo(FileSystem& fs, const UndoOptions& options, SkipSyncHook skip)
      : plain_(fs), options_(options), sync_(fs, std::move(skip)) {}

  // Steps 1-3.
  void lock_and_recover(UndoResult& result) {
    root_ = canonical_root(plain_, options_.root);
    if (!options_.journal.empty() && options_.journal[0] != '/')
      throw Error(Errc::usage, options_.journal, "the journal must be an absolute path");
    const std::string dir = options_.journal.empty()
                                ? journal::dir_for(root_, "")
                                : paths::canonical_parent(plain_, options_.journal);
    if (!plain_.lstat(dir))
      throw Error(Errc::not_found, dir, "nothing to undo: there is no journal here");
    view_ = plain_.anchored({root_, dir});
    sync_ = sync_.on(*view_);
    journal_.emplace(journal::Journal::open(sync_, dir, options_.wait_seconds));
    result.recovered = journal::recover_locked(sync_, *journal_).transactions;
  }

  // Step 4: the newest generation, checked against the tree; nothing written.
  void validate(UndoResult& result) {
    const auto generations = journal::generation_txids(fs(), *journal_);
    if (generations.empty())
      throw Error(Errc::not_found, journal_->dir(),
                  "nothing to undo: no undo generation is kept (apply keeps the last one unless "
                  "--keep 0)");
    const std::string g = generations.back();
    generation_ = journal::load_generation(fs(), *journal_, g, journal_->undo_path(g));
    result.undone = g;
    if (generation_.root != root_)
      throw Error(Errc::usage, journal_->dir(),
                  "the newest undo generation " + g + " was made for the root " + generation_.root +
                      ", not " + root_ + "; nothing was changed");
    std::string refused;
    for (const auto& e : generation_.entries) {
      UndoStep step;
      step.entry = &e;
      step.target_stat = fs().lstat(e.target);
      if (step.target_stat && step.target_stat->type == FileType::directory)
        throw Error(Errc::not_regular, e.target,
                    "is a directory now; undo of " + g + " cannot restore it; nothing was changed");
      const std::string why = changed_since(fs(), e, step.target_stat);
      if (!why.empty() && refused.empty()) refused = e.target + ": " + why;
      const bool kept = e.op == journal::ManifestEntry::Op::remove || e.old_ino.has_value();
      if (kept) {
        step.kept = paths::keep_path(e.target, g);
        const auto st = fs().lstat(step.kept);
        const uint64_t ino = e.old_ino ? *e.old_ino : e.ino;
        if (!st || st->id.ino != ino || st->type == FileType::directory)
          throw Error(Errc::journal, e.target,
                      "its original was not kept by " + g + " (" + paths::basename(step.kept) +
                          " is missing or not the kept file); nothing was changed — `bpatch "
                          "forget " +
                          g + "` drops this generation");
        step.kept_stat = *st;
      } else if (!step.target_stat) {
        continue;  // a created file that is gone already: nothing to remove
      }
      steps_.push_back(std::move(step));
    }
    if (!refused.empty() && !options_.force)
      throw Error(Errc::wrong_source, refused.substr(0, refused.find(": ")),
                  refused.substr(refused.find(": ") + 2) + " since transaction " + g +
                      "; undo would lose that change, so nothing was changed (--force restores "
                      "the old files anyway)");
  }

  // Step 5.
  void write_intent() {
    txid_ = journal_->new_txid(fs());
    journal::IntentRecord intent{txid_, journal_->dir(), root_, {}, {}};
    for (auto& step : steps_)
      if (!step.kept.empty()) {
        step.shadow = paths::shadow_path(step.entry->target, txid_);
        intent.shadows.push_back(step.shadow);
      }
    // As "intent.file" and "intent.dir": a crash while staging must leave a
    // durable record of the shadow names, or they would be orphans.
    journal::write_synced_file(sync_, journal_->intent_path(txid_), journal::encode_intent(intent),
                               "undo.intent.file");
    sync_.sync_dir(journal_->dir(), "undo.intent.dir");
  }

  // Steps 6-7: each shadow a second name of its kept original.
  void stage() {
    std::set<std::string> dirs;
    for (const auto& step : steps_) {
      if (step.kept.empty()) continue;
      fs().hard_link(step.kept, step.shadow);
      dirs.insert(paths::dirname(step.shadow));
    }
    // As "shadow.dir": a committed manifest whose shadow name was lost could
    // not be replayed.
    for (const auto& dir : dirs) sync_.sync_dir(dir, "undo.shadow.dir");
  }

  // Step 8.
  void check_unchanged() {
    for (const auto& step : steps_) {
      const auto now = fs().lstat(step.entry->target);
      const bool same = step.target_stat ? (now && now->id == step.target_stat->id) : !now;
      if (!same)
        throw Error(Errc::concurrent_change, step.entry->target,
                    "the file changed while bpatch was undoing");
    }
  }

  // Step 9.
  void write_manifest() {
    manifest_ = journal::ManifestRecord{txid_, journal_->dir(), root_, {}};
    manifest_.undoes = generation_.txid;
    for (const auto& step : steps_) {
      journal::ManifestEntry e;
      e.target = step.entry->target;
      if (step.kept.empty()) {
        e.op = journal::ManifestEntry::Op::remove;
        e.ino = step.target_stat->id.ino;
        e.size = step.target_stat->id.size;
        e.pre_hash = step.entry->post_hash;
      } else {
        e.op = journal::ManifestEntry::Op::replace;
        e.shadow = step.shadow;
        e.ino = step.kept_stat.id.ino;
        e.size = step.kept_stat.id.size;
        e.mode = step.kept_stat.mode;
        e.pre_hash = step.entry->op == journal::ManifestEntry::Op::replace ? step.entry->post_hash
                                                                           : std::nullopt;
        e.post_hash = step.entry->pre_hash;
      }
      manifest_.entries.push_back(std::move(e));
    }
    journal::write_synced_file(sync_, journal_->manifest_tmp_path(txid_),
                               journal::encode_manifest(manifest_), "undo.manifest.file");
  }

  [[noreturn]] void roll_back_and_rethrow() {
    try {
      journal::roll_back(sync_, *journal_, txid_, nullptr);
    } catch (const Error&) {
      // The records stay; the next recovery rolls back (the originals are untouched).
    }
    throw;
  }

  // Steps 10-11.
  void commit() {
    try {
      fs().rename(journal_->manifest_tmp_path(txid_), journal_->manifest_path(txid_));
    } catch (const Error& e) {
      bool renamed = true;
      try {
        renamed = fs().lstat(journal_->manifest_path(txid_)).has_value();
      } catch (const Error&) {
      }
      if (renamed) throw IncompleteCommit(e, txid_);
      roll_back_and_rethrow();
    }
    try {
      // As "manifest.commit": the commit rename durable before any rename it lists.
      sync_.sync_dir(journal_->dir(), "undo.commit");
      journal::replay(sync_, *journal_, manifest_, nullptr);
    } catch (const Error& e) {
      throw IncompleteCommit(e, txid_);
    }
  }

  void report(UndoResult& result) const {
    result.txid = txid_;
    for (const auto& step : steps_) {
      FileResult r;
      r.target = step.entry->target;
      r.kind = Change::Kind::put;
      if (step.kept.empty()) {
        r.kind = Change::Kind::remove;
        r.action = FileResult::Action::removed;
      } else {
        r.action = step.target_stat ? FileResult::Action::replaced : FileResult::Action::created;
        r.post_hash = step.entry->pre_hash;
        r.size = step.kept_stat.id.size;
        r.note = "restored";
      }
      result.files.push_back(std::move(r));
    }
  }

 private:
  FileSystem& fs() { return *view_; }

  FileSystem& plain_;
  const UndoOptions& options_;
  Durability sync_;
  std::string root_;
  std::unique_ptr<FileSystem> view_;
  std::optional<journal::Journal> journal_;
  journal::ManifestRecord generation_;
  std::vector<UndoStep> steps_;
  std::string txid_;
  journal::ManifestRecord manifest_;
};

}  // namespace

UndoResult undo_with_hook(FileSystem& fs, const UndoOptions& options, SkipSyncHook skip_sync) {
  UndoResult result;
  Undo undo(fs, options, std::move(skip_sync));
  undo.lock_and_recover(result);  // steps 1-3
  undo.validate(result);          // step 4
  try {
    undo.write_intent();     // step 5
    undo.stage();            // steps 6-7
    undo.check_unchanged();  // step 8
    undo.write_manifest();   // step 9
  } catch (const Error&) {
    undo.roll_back_and_rethrow();
  }
  undo.commit();  // steps 10-11
  undo.report(result);
  return result;
}

UndoResult undo(FileSystem& fs, const UndoOptions& options) {
  return undo_with_hook(fs, options, nullptr);
}

}  // namespace bpatch

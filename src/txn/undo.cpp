// bpatch::undo — the newest undo generation restored as a transaction of its
// own (docs/protocol.md §7.3). It follows the commit protocol of §3 step by
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
#include "txn/commit_point.hpp"
#include "txn/undo_commit.hpp"

namespace bpatch {
namespace {

using Op = journal::ManifestEntry::Op;

// One target of the generation and what undo does to it.
struct UndoStep {
  enum class Kind { restore, remove, set_mode, make_dir } kind = Kind::restore;
  const journal::ManifestEntry* entry = nullptr;
  std::optional<FileStat> target_stat;  // as found at validation
  std::string kept;                     // restore: the kept original
  FileStat kept_stat;
  std::string shadow;
};

Hash128 hash_text(const std::string& text) {
  return hash_bytes(std::as_bytes(std::span(text.data(), text.size())));
}

// Why `entry`'s target is not what the generation left, or "".
std::string changed_since(FileSystem& fs, const journal::ManifestEntry& e,
                          const std::optional<FileStat>& now) {
  switch (e.op) {
    case Op::remove:
      return now ? "it was removed by that transaction and exists again" : "";
    case Op::rmdir:
      // Absent, or left in place because it held kept originals (§7.2).
      return now && !(now->type == FileType::directory && now->id.ino == e.ino)
                 ? "it was removed by that transaction and exists again"
                 : "";
    case Op::chmod:
      if (!now || now->type != FileType::directory || now->id.ino != e.ino)
        return "the directory was removed or replaced";
      return now->mode != e.mode ? "its mode was changed" : "";
    case Op::symlink:
      if (!now) return "it was deleted";
      if (now->type != FileType::symlink || now->id.ino != e.ino) return "it was replaced";
      return e.post_hash && hash_text(fs.read_link(e.target)) != *e.post_hash ? "it was replaced"
                                                                              : "";
    case Op::replace:
      if (!now) return "it was deleted";
      if (now->type != FileType::regular) return "it is no longer a regular file";
      if (now->id.ino != e.ino || now->id.size != e.size) return "it was replaced or resized";
      if (e.post_hash && hash_file(fs, e.target) != *e.post_hash) return "its content was edited";
      return "";
  }
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
  void lock_and_recover(UndoReport& result) {
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
  void validate(UndoReport& result) {
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
    const std::set<std::string> created_dirs(generation_.dirs.begin(), generation_.dirs.end());
    const journal::KeptNames kept_name(fs(), generation_);
    for (const auto& e : generation_.entries) {
      UndoStep step;
      step.entry = &e;
      step.target_stat = fs().lstat(e.target);
      const bool is_dir_op = e.op == Op::chmod || e.op == Op::rmdir;
      if (e.op == Op::chmod && (created_dirs.count(e.target) || !e.old_mode))
        continue;  // a directory it created: removed with the others
      if (!is_dir_op && step.target_stat && step.target_stat->type == FileType::directory)
        throw Error(Errc::not_regular, e.target,
                    "is a directory now; undo of " + g + " cannot restore it; nothing was changed");
      const std::string why = changed_since(fs(), e, step.target_stat);
      if (!why.empty() && refused.empty()) refused = e.target + ": " + why;
      if (e.op == Op::chmod) {
        if (!step.target_stat || step.target_stat->type != FileType::directory) continue;
        step.kind = UndoStep::Kind::set_mode;
      } else if (e.op == Op::rmdir) {
        if (step.target_stat || !e.old_mode) continue;  // still there (or a stranger): nothing
        step.kind = UndoStep::Kind::make_dir;
      } else if (e.op == Op::remove || e.old_ino) {
        step.kind = UndoStep::Kind::restore;
        step.kept = kept_name.of(e);
        const auto st = fs().lstat(step.kept);
        const uint64_t ino = e.old_ino ? *e.old_ino : e.ino;
        if (!st || st->id.ino != ino || st->type == FileType::directory)
          throw Error(Errc::journal, e.target,
                      "its original was not kept by " + g + " (" + paths::basename(step.kept) +
                          " is missing or not the kept file); nothing was changed — `bpatch "
                          "forget " +
                          g + "` drops this generation");
        step.kept_stat = *st;
      } else if (step.target_stat) {
        step.kind = UndoStep::Kind::remove;  // a file or symlink it created
      } else {
        continue;  // created, and gone already: nothing to remove
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
    // Directories to re-create, parents first (the generation lists its
    // rmdirs deepest first): a rollback removes them again.
    for (auto it = steps_.rbegin(); it != steps_.rend(); ++it)
      if (it->kind == UndoStep::Kind::make_dir) intent.dirs.push_back(it->entry->target);
    new_dirs_ = intent.dirs;
    for (auto& step : steps_)
      if (step.kind == UndoStep::Kind::restore) {
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
    // A re-created directory stays private (0700) until the commit, as a
    // mkdir's does; replay gives it its old mode.
    for (const auto& dir : new_dirs_) {
      if (!fs().lstat(dir)) fs().make_dir(dir, 0700);
      dirs.insert(paths::dirname(dir));
    }
    for (const auto& step : steps_) {
      if (step.kind != UndoStep::Kind::restore) continue;
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
      if (step.kind == UndoStep::Kind::make_dir) continue;  // made by us just now
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
    std::vector<journal::ManifestEntry> modes;  // after the renames, as replay does them
    for (const auto& step : steps_) {
      journal::ManifestEntry e;
      e.target = step.entry->target;
      switch (step.kind) {
        case UndoStep::Kind::remove:
          e.op = Op::remove;
          e.ino = step.target_stat->id.ino;
          e.size = step.target_stat->id.size;
          e.pre_hash = step.entry->post_hash;
          break;
        case UndoStep::Kind::restore: {
          const bool link = step.kept_stat.type == FileType::symlink;
          e.op = link ? Op::symlink : Op::replace;
          e.shadow = step.shadow;
          e.ino = step.kept_stat.id.ino;
          e.size = step.kept_stat.id.size;
          e.mode = link ? 0777 : step.kept_stat.mode;
          e.pre_hash = step.entry->op != Op::remove ? step.entry->post_hash : std::nullopt;
          e.post_hash =
              link ? std::optional(hash_text(fs().read_link(step.kept))) : step.entry->pre_hash;
          break;
        }
        case UndoStep::Kind::set_mode:
        case UndoStep::Kind::make_dir: {
          const auto st = fs().lstat(e.target);
          if (!st || st->type != FileType::directory)
            throw Error(Errc::concurrent_change, e.target,
                        "the directory changed while bpatch was undoing");
          e.op = Op::chmod;
          e.ino = st->id.ino;
          e.mode = *step.entry->old_mode;
          modes.push_back(std::move(e));
          continue;
        }
      }
      manifest_.entries.push_back(std::move(e));
    }
    for (auto& e : modes) manifest_.entries.push_back(std::move(e));
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
    rename_manifest(fs(), *journal_, txid_, [&](const Error&) { roll_back_and_rethrow(); });
    try {
      // As "manifest.commit": the commit rename durable before any rename it lists.
      sync_.sync_dir(journal_->dir(), "undo.commit");
      journal::replay(sync_, *journal_, manifest_, nullptr);
    } catch (const Error& e) {
      throw IncompleteCommit(e, txid_);
    }
  }

  void report(UndoReport& result) const {
    result.txid = txid_;
    for (const auto& step : steps_) {
      FileResult r;
      r.target = step.entry->target;
      r.kind = Change::Kind::put;
      if (step.kind == UndoStep::Kind::set_mode || step.kind == UndoStep::Kind::make_dir) {
        r.kind = Change::Kind::put;
        r.action = step.kind == UndoStep::Kind::make_dir ? FileResult::Action::created
                                                         : FileResult::Action::replaced;
        r.note = "directory mode restored";
      } else if (step.kind == UndoStep::Kind::remove) {
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
  std::vector<std::string> new_dirs_;  // directories re-created, parents first
  std::string txid_;
  journal::ManifestRecord manifest_;
};

}  // namespace

UndoReport undo_with_hook(FileSystem& fs, const UndoOptions& options, SkipSyncHook skip_sync) {
  UndoReport result;
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

UndoReport undo(FileSystem& fs, const UndoOptions& options) {
  return undo_with_hook(fs, options, nullptr);
}

}  // namespace bpatch

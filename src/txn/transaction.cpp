// Transaction::commit — the commit protocol of docs/protocol.md §3, top to
// bottom: commit_changes() below is its table of contents, one function per
// step of the protocol's table, numbered as there.
//
// The invariant every step serves: at any instant a crash leaves either a
// state recovery rolls back to all-old (no durable manifest) or one it rolls
// forward to all-new (a durable manifest whose shadows are durable). Each
// sync below is there to keep one crash from breaking that; the comment next
// to it names the crash.
#include "bpatch/transaction.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <map>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>

#include "base/durability.hpp"
#include "base/paths.hpp"
#include "bpatch/error.hpp"
#include "bpatch/file_system.hpp"
#include "journal/journal.hpp"
#include "journal/records.hpp"
#include "journal/replay.hpp"
#include "txn/chain.hpp"
#include "txn/commit.hpp"
#include "txn/commit_point.hpp"
#include "txn/file_metadata.hpp"
#include "txn/plan.hpp"
#include "txn/shadow_file.hpp"
#include "txn/transfer.hpp"

namespace bpatch {
namespace {

FileResult result_of(const PlannedChange& p) {
  FileResult r;
  r.target = p.target;
  r.kind = p.change->kind;
  r.pre_hash = p.pre_hash;
  r.post_hash = p.post_hash;
  r.size = p.size;
  r.note = p.note;
  if (p.unchanged)
    r.action = FileResult::Action::unchanged;
  else if (p.action == PlannedChange::Action::remove || p.action == PlannedChange::Action::rmdir)
    r.action = FileResult::Action::removed;
  else if (!p.target_stat)
    r.action = FileResult::Action::created;
  else
    r.action = FileResult::Action::replaced;
  return r;
}

// Below this many shadows an fsync each is cheap enough; above it one
// syncfs per file system replaces thousands of journal commits.
constexpr size_t kBatchSyncMinFiles = 32;

// Builds the shadow's content in `file` and, unless the caller batches the
// syncs, makes it durable.
void stage_one(Durability& sync, PlannedChange& p, File& file, bool batched,
               const std::function<void(uint64_t)>& progress) {
  FileSystem& fs = sync.fs();
  // Read first: a target whose attributes cannot be read is refused before
  // its shadow holds anything.
  // (A moved file keeps its own owner and attributes, even when copied.)
  const auto meta = p.remove_source ? FileMetadata::of(fs, p.source, p.source_stat, p.mode)
                                    : FileMetadata::of(fs, p.target, p.target_stat, p.mode);
  ShadowFile sink(file, progress);
  produce_content(fs, p, sink);
  p.post_hash = sink.finish();
  p.size = sink.size();
  // Ranges copied in the kernel (copy_file_range, reflinks) leave the sink
  // without a hash; result= is then checked on the bytes written, read back.
  if (!p.post_hash && p.change->result) p.post_hash = hash_file(fs, p.shadow);
  check_result(p);  // result=: a wrong file must never reach the commit
  // Owner, attributes and mode follow the content; the set-id bits and
  // capabilities follow its fsync (file_metadata.hpp says why).
  meta.apply_plain(file, p.target);
  // The shadow's data must be durable before the manifest that points at it
  // is: otherwise a crash after commit could rename an empty or partly
  // written shadow over the original. (Batched: see stage_all — except for a
  // privileged file, whose content must be durable before it is privileged.)
  if (!batched || meta.privileged()) sync.sync_file(file, "shadow.file");
  if (meta.privileged()) {
    meta.apply_privileged(file, p.target);
    // The set-id bits and capabilities must be durable before the manifest:
    // a crash after commit would otherwise put the file in place without them.
    if (!batched) sync.sync_file(file, "shadow.setid");
  }
  p.shadow_ino = file.stat().id.ino;
}

// Sums the progress of shadows staged concurrently and reports it, one
// caller at a time.
class ProgressTracker {
 public:
  ProgressTracker(const TransactionOptions& options, const std::vector<PlannedChange*>& work)
      : callback_(options.progress) {
    total_.files_total = work.size();
    for (const auto* p : work) total_.bytes_total += p->expected_size;
  }
  void add_bytes(uint64_t delta) {
    report([&] { total_.bytes_done += delta; });
  }
  void file_done() {
    report([&] { ++total_.files_done; });
  }

 private:
  template <typename F>
  void report(F&& update) {
    std::lock_guard lock(mutex_);
    update();
    if (callback_) callback_(total_);
  }
  const std::function<void(const Progress&)>& callback_;
  std::mutex mutex_;
  Progress total_;
};

unsigned worker_count(const TransactionOptions& options, size_t jobs) {
  // fsync latency, not CPU, bounds small files: a few more threads than
  // cores keep the device queue busy.
  const unsigned wanted = options.threads ? options.threads : 4;
  return static_cast<unsigned>(std::max<size_t>(1, std::min<size_t>(wanted, jobs)));
}

// For a large transaction: one write-back watch per file system the shadows
// live on, or nothing when there are few shadows or a file system cannot.
std::vector<std::unique_ptr<FileSystemSync>> watch_for_batch(
    FileSystem& fs, const std::vector<PlannedChange*>& jobs) {
  if (jobs.size() < kBatchSyncMinFiles) return {};
  std::set<std::string> dirs;
  for (const auto* p : jobs) dirs.insert(paths::dirname(p->shadow));
  std::map<uint64_t, std::string> dir_by_device;
  for (const auto& dir : dirs)
    if (const auto st = fs.lstat(dir)) dir_by_device.emplace(st->id.dev, dir);
  std::vector<std::unique_ptr<FileSystemSync>> watches;
  for (const auto& [device, dir] : dir_by_device) {
    auto watch = fs.watch_file_system(dir);
    if (!watch) return {};
    watches.push_back(std::move(watch));
  }
  return watches;
}

// Stages every shadow, on a small pool of threads. The first error stops the
// others and is rethrown.
void stage_all(Durability& sync, const TransactionOptions& options,
               const std::vector<PlannedChange*>& work) {
  std::vector<PlannedChange*> jobs;
  for (auto* p : work)
    if (p->action == PlannedChange::Action::content) jobs.push_back(p);
  // Watches are taken before any shadow is written, so that their sync
  // reports every write-back error of the shadows.
  const auto watches = watch_for_batch(sync.fs(), jobs);
  const bool batched = !watches.empty();
  ProgressTracker progress(options, jobs);
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex failure_mutex;
  std::exception_ptr failure;
  auto worker = [&] {
    while (!failed) {
      const size_t i = next++;
      if (i >= jobs.size()) return;
      PlannedChange& p = *jobs[i];
      try {
        if (stage_by_link(sync, p)) {  // a move: no copy (txn/transfer.hpp)
          progress.file_done();
          continue;
        }
        auto file = sync.fs().open(p.shadow, OpenMode::create_exclusive);
        uint64_t reported = 0;
        stage_one(sync, p, *file, batched, [&](uint64_t bytes) {
          progress.add_bytes(bytes - reported);
          reported = bytes;
        });
        progress.file_done();
      } catch (const Error& e) {
        // The shadow is ours, not the user's: the error names the target.
        std::lock_guard lock(failure_mutex);
        if (!failure)
          failure = e.path() == p.shadow ? std::make_exception_ptr(Error(
                                               e.code(), p.target,
                                               "writing its new content (in " +
                                                   paths::basename(p.shadow) + "): " + e.message(),
                                               e.sys_errno()))
                                         : std::current_exception();
        failed = true;
      } catch (...) {
        std::lock_guard lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        failed = true;
      }
    }
  };
  std::vector<std::thread> threads;
  const unsigned n = worker_count(options, jobs.size());
  try {
    for (unsigned i = 1; i < n; ++i) threads.emplace_back(worker);
  } catch (const std::system_error&) {
    // No more threads (EAGAIN: a thread or memory limit): the ones started,
    // and this one, do all the work; a process must not die of it.
  }
  worker();
  for (auto& t : threads) t.join();
  if (failure) std::rethrow_exception(failure);
  // The shadows' data must be durable before the manifest points at them
  // (as "shadow.file" above, for all of them at once).
  for (const auto& watch : watches) sync.sync_file_system(*watch, "shadow.batch");
}

void decode_into_hashes(FileSystem& fs, std::vector<PlannedChange>& plan) {
  for (auto& p : plan) {
    if (p.unchanged || p.stacked || p.action != PlannedChange::Action::content) continue;
    // A delta's declared size (checked against free space) bounds the work.
    const bool declared = p.change->kind == Change::Kind::delta && p.expected_size > 0;
    HashingSink sink(declared ? p.expected_size : UINT64_MAX);
    produce_content(fs, p, sink);
    p.post_hash = sink.digest();
    p.size = sink.size();
    check_result(p);
  }
}

// One commit in progress: the state the steps share.
class Commit {
 public:
  Commit(FileSystem& fs, const TransactionOptions& options, SkipSyncHook skip)
      : plain_(fs), options_(options), sync_(fs, std::move(skip)) {}

  // Steps 1-3: open and lock the journal, then finish or undo whatever an
  // earlier crash left in it, so that we start from all-old or all-new.
  // From here on every call goes through a view anchored at ROOT and at the
  // journal: the kernel resolves each path beneath them at the moment of use.
  void lock_and_recover(CommitResult& result) {
    const std::string dir = journal::dir_for(options_.root, options_.journal);
    created_journal_ = journal::ensure_dir(sync_, dir);
    view_ = plain_.anchored({options_.root, dir});
    sync_ = sync_.on(*view_);
    journal_.emplace(journal::Journal::open(sync_, dir, options_.wait_seconds));
    result.recovered = journal::recover_locked(sync_, *journal_).transactions;
  }

  // Step 4: validate everything before writing anything. Returns the changes
  // that do something (none: nothing to write).
  std::vector<PlannedChange*> validate(std::vector<PlannedChange>& plan,
                                       const std::vector<Change>& changes) {
    plan = plan_changes(fs(), options_, changes);
    plan_ = &plan;
    std::vector<PlannedChange*> work;
    for (auto& p : plan)
      if (!p.unchanged && !p.stacked) work.push_back(&p);  // stacked: staged by its chain
    return work;
  }

  // Step 5: the intent lists every name we are about to create.
  void write_intent(const std::vector<PlannedChange*>& work) {
    txid_ = journal_->new_txid(fs());
    intent_ = journal::IntentRecord{txid_, journal_->dir(), options_.root, {}, {}};
    std::set<std::string> new_dirs;
    for (auto* p : work) {
      for (const auto& dir : p->missing_dirs)
        if (new_dirs.insert(dir).second) intent_.dirs.push_back(dir);
      if (p->creates_dir) private_dirs_.insert(p->target);
      if (p->action == PlannedChange::Action::content ||
          p->action == PlannedChange::Action::symlink) {
        p->shadow = paths::shadow_path(p->target, txid_);
        intent_.shadows.push_back(p->shadow);
        for (const auto& scratch : name_scratch_files(*p, txid_))  // stacked changes
          intent_.shadows.push_back(scratch);
      }
    }
    // The intent's data, then its name, must be durable before the first
    // shadow exists: a crash while staging must leave a record that lets
    // recovery find and delete the orphan shadows. (If writing it fails,
    // the rollback deletes whatever part of it was written.)
    journal::write_synced_file(sync_, journal_->intent_path(txid_), journal::encode_intent(intent_),
                               "intent.file");
    sync_.sync_dir(journal_->dir(), "intent.dir");
  }

  // Steps 6-7: stage the shadows beside their targets, then make their names
  // durable.
  void stage(const std::vector<PlannedChange*>& work) {
    std::set<std::string> dirs_to_sync;
    for (const auto& dir : intent_.dirs) {
      // A directory a mkdir asked for stays private (0700) until the commit;
      // replay gives it its mode.
      if (!fs().lstat(dir)) fs().make_dir(dir, private_dirs_.contains(dir) ? 0700 : 0755);
      dirs_to_sync.insert(paths::dirname(dir));
    }
    stage_all(sync_, options_, work);
    delete_scratch_files(fs(), work);  // stacked changes' intermediate results (txn/chain.hpp)
    for (auto* p : work) {
      if (p->action == PlannedChange::Action::symlink) {
        fs().make_symlink(p->change->link_target, p->shadow);
        p->shadow_ino = fs().lstat(p->shadow)->id.ino;
      }
      if (!p->shadow.empty()) dirs_to_sync.insert(paths::dirname(p->shadow));
    }
    // The shadows' names (and the directories created for them) must be
    // durable before the commit: a manifest whose shadow vanished in a
    // crash could not be replayed.
    for (const auto& dir : dirs_to_sync) sync_.sync_dir(dir, "shadow.dir");
  }

  // Step 8: nobody may have changed a target since we validated it.
  void check_targets_unchanged(const std::vector<PlannedChange*>& work) {
    for (auto* p : work) {
      if (p->creates_dir) continue;  // ours, made while staging
      const auto now = fs().lstat(p->target);
      // A directory is the same one when its inode is: its mtime and size
      // change as this very transaction stages shadows in it.
      const bool is_dir = p->target_stat && p->target_stat->type == FileType::directory;
      const bool same = !p->target_stat ? !now
                        : is_dir        ? (now && now->type == FileType::directory &&
                                    now->id.dev == p->target_stat->id.dev &&
                                    now->id.ino == p->target_stat->id.ino)
                                        : (now && now->id == p->target_stat->id);
      if (!same)
        throw Error(Errc::concurrent_change, p->target,
                    "the file changed while bpatch was working on it");
      if (p->source != p->target && p->source_stat) {
        const auto src = fs().lstat(p->source);
        if (!src || src->id != p->source_stat->id)
          throw Error(Errc::concurrent_change, p->source,
                      "the file changed while bpatch was working on it");
      }
    }
    try {
      check_rmdirs_leave_empty(fs(), *plan_);
    } catch (const Error& e) {
      throw Error(Errc::concurrent_change, e.path(),
                  "changed while bpatch was working on it: " + e.message());
    }
  }

  // Step 9: write the manifest under a temporary name and make its bytes
  // durable, so the name we commit by never points at a torn record.
  void write_manifest(const std::vector<PlannedChange*>& work) {
    manifest_ = journal::ManifestRecord{txid_, journal_->dir(), options_.root, {}};
    // Undo data (docs/protocol.md §7): replay keeps each original's inode and
    // the record lists the directories created, for undo to remove.
    manifest_.keep = options_.keep;
    if (options_.keep) manifest_.dirs = intent_.dirs;
    std::vector<journal::ManifestEntry> rmdirs;
    for (auto* p : work) {
      journal::ManifestEntry e = manifest_entry(*p);
      if (options_.keep && p->target_stat) {
        if (e.op == journal::ManifestEntry::Op::replace ||
            e.op == journal::ManifestEntry::Op::symlink)
          e.old_ino = p->target_stat->id.ino;
        if (e.op == journal::ManifestEntry::Op::chmod || e.op == journal::ManifestEntry::Op::rmdir)
          e.old_mode = p->target_stat->mode;
      }
      if (e.op == journal::ManifestEntry::Op::rmdir)
        rmdirs.push_back(std::move(e));
      else
        manifest_.entries.push_back(std::move(e));
      // A move: its old name goes right after the new one is in place.
      if (auto removal = source_removal(*p)) manifest_.entries.push_back(std::move(*removal));
    }
    // Replay removes directories last, children before their parents.
    std::sort(rmdirs.begin(), rmdirs.end(), [](const auto& a, const auto& b) {
      return a.target.size() != b.target.size() ? a.target.size() > b.target.size()
                                                : a.target < b.target;
    });
    for (auto& e : rmdirs) manifest_.entries.push_back(std::move(e));
    journal::write_synced_file(sync_, journal_->manifest_tmp_path(txid_),
                               journal::encode_manifest(manifest_), "manifest.file");
  }

  journal::ManifestEntry manifest_entry(const PlannedChange& p) {
    using Op = journal::ManifestEntry::Op;
    journal::ManifestEntry e;
    e.target = p.target;
    e.pre_hash = p.pre_hash;
    switch (p.action) {
      case PlannedChange::Action::remove:
        e.op = Op::remove;
        e.ino = p.target_stat->id.ino;
        e.size = p.target_stat->id.size;
        break;
      case PlannedChange::Action::rmdir:
        e.op = Op::rmdir;
        e.ino = p.target_stat->id.ino;
        break;
      case PlannedChange::Action::dir_mode: {
        e.op = Op::chmod;
        const auto st = fs().lstat(p.target);  // a new one exists since staging
        if (!st || st->type != FileType::directory)
          throw Error(Errc::concurrent_change, p.target,
                      "the directory changed while bpatch was working on it");
        e.ino = st->id.ino;
        e.mode = p.mode;
        break;
      }
      case PlannedChange::Action::content:
      case PlannedChange::Action::symlink:
        e.op = p.action == PlannedChange::Action::symlink ? Op::symlink : Op::replace;
        e.shadow = p.shadow;
        e.ino = p.shadow_ino;
        e.size = p.size;
        e.mode = p.action == PlannedChange::Action::symlink ? 0777 : p.mode;
        e.post_hash = p.post_hash;
        break;
    }
    return e;
  }

  // Any failure in steps 5-9: undo. The intent on disk lists everything we
  // may have created; roll_back deletes exactly that. Always throws.
  [[noreturn]] void roll_back_and_rethrow(const Error& cause) {
    try {
      journal::roll_back(sync_, *journal_, txid_, nullptr);
    } catch (const Error&) {
      throw Error(cause.code(), cause.path(),
                  cause.message() +
                      " (nothing was changed; run `bpatch recover` to delete the leftover "
                      "shadow files)",
                  cause.sys_errno());
    }
    remove_created_journal();
    throw;
  }

  // Step 10: the commit point. Once this rename is durable the transaction
  // happened; until then recovery undoes it.
  void commit_point() {
    rename_manifest(fs(), *journal_, txid_, [&](const Error& e) { roll_back_and_rethrow(e); });
  }

  // Steps 10 (its dir-sync), 11 and 12: make the commit durable, rename every
  // shadow over its target, delete the records — the very replay recovery runs.
  void finish() {
    try {
      sync_.sync_dir(journal_->dir(), "manifest.commit");
      journal::replay(sync_, *journal_, manifest_, nullptr);
    } catch (const Error& e) {
      // After the rename was issued we cannot know whether it is durable;
      // recovery reads the disk and finishes or undoes it consistently.
      throw IncompleteCommit(e, txid_);
    }
  }

  // A refused update leaves the tree exactly as it was: a journal this very
  // commit created, and that holds nothing but its LOCK, goes again. (Best
  // effort: an empty journal left behind is harmless.)
  void remove_created_journal() noexcept {
    if (!created_journal_ || !journal_) return;
    try {
      const std::string dir = journal_->dir();
      const auto names = fs().list_dir(dir);
      if (names.size() != 1 || names[0] != "LOCK") return;
      fs().unlink(paths::join(dir, "LOCK"));
      journal_.reset();  // releases the lock
      plain_.remove_dir(dir);
    } catch (const Error&) {
    }
  }

  const std::string& txid() const { return txid_; }

 private:
  FileSystem& fs() { return *view_; }

  FileSystem& plain_;
  std::unique_ptr<FileSystem> view_;
  const TransactionOptions& options_;
  Durability sync_;
  std::optional<journal::Journal> journal_;
  bool created_journal_ = false;
  std::string txid_;
  std::vector<PlannedChange>* plan_ = nullptr;
  std::set<std::string> private_dirs_;  // new directories a mkdir asked for
  journal::IntentRecord intent_;
  journal::ManifestRecord manifest_;
};

// Root and journal as the library spells them (symlinks resolved), however
// the caller spelled them: the records name their journal, and recovery
// refuses records found under another name.
TransactionOptions canonical(FileSystem& fs, const TransactionOptions& options) {
  if (options.root.empty() || options.root[0] != '/')
    throw Error(Errc::usage, options.root, "the root must be an absolute path");
  if (!options.journal.empty() && options.journal[0] != '/')
    throw Error(Errc::usage, options.journal, "the journal must be an absolute path");
  TransactionOptions out = options;
  out.root = paths::canonical(fs, options.root);
  if (!options.journal.empty()) out.journal = paths::canonical_parent(fs, options.journal);
  return out;
}

}  // namespace

CommitResult dry_run_changes(FileSystem& fs, const TransactionOptions& given,
                             const std::vector<Change>& changes) {
  const TransactionOptions options = canonical(fs, given);
  // Step 4 only, decoding into a hash: no lock, no journal, no write.
  auto plan = plan_changes(fs, options, changes);
  decode_into_hashes(fs, plan);
  CommitResult result;
  result.dry_run = true;
  for (const auto& p : plan) result.files.push_back(result_of(p));
  return result;
}

CommitResult commit_changes(FileSystem& fs, const TransactionOptions& given,
                            const std::vector<Change>& changes, SkipSyncHook skip_sync) {
  const TransactionOptions options = canonical(fs, given);
  CommitResult result;
  Commit commit(fs, options, std::move(skip_sync));
  commit.lock_and_recover(result);  // steps 1-3
  std::vector<PlannedChange> plan;
  std::vector<PlannedChange*> work;
  try {
    work = commit.validate(plan, changes);  // step 4
  } catch (const Error&) {
    commit.remove_created_journal();
    throw;
  }
  if (!work.empty()) {
    try {
      commit.write_intent(work);             // step 5
      commit.stage(work);                    // steps 6-7
      commit.check_targets_unchanged(work);  // step 8
      commit.write_manifest(work);           // step 9
    } catch (const Error& e) {
      commit.roll_back_and_rethrow(e);
    }
    commit.commit_point();  // step 10
    commit.finish();        // steps 10-12
    result.txid = commit.txid();
  }
  for (const auto& p : plan) result.files.push_back(result_of(p));
  return result;
}

Transaction::Transaction(FileSystem& fs, TransactionOptions options)
    : fs_(fs), options_(std::move(options)) {}
Transaction::~Transaction() = default;

void Transaction::add(Change change) { changes_.push_back(std::move(change)); }

CommitResult Transaction::commit() {
  if (options_.dry_run) return dry_run_changes(fs_, options_, changes_);
  return commit_changes(fs_, options_, changes_, nullptr);
}

}  // namespace bpatch

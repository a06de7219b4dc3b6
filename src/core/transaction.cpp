// Transaction::commit — the commit protocol of SPEC §2, top to bottom.
//
// The invariant every step serves: at any instant a crash leaves either a
// state recovery rolls back to all-old (no durable manifest) or one it rolls
// forward to all-new (a durable manifest whose shadows are durable). Each
// sync below is there to keep one crash from breaking that; the comment next
// to it names the crash.
#include "bpatch/transaction.hpp"

#include <atomic>
#include <exception>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "bpatch/error.hpp"
#include "bpatch/file_system.hpp"
#include "core/durability.hpp"
#include "core/paths.hpp"
#include "core/plan.hpp"
#include "core/shadow_file.hpp"
#include "journal/journal.hpp"
#include "journal/records.hpp"
#include "journal/recovery_impl.hpp"

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
  else if (p.change->kind == Change::Kind::remove)
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
  file.set_mode(p.mode);
  if (p.target_stat) file.set_owner(p.target_stat->uid, p.target_stat->gid);  // best effort
  ShadowFile sink(file, progress);
  produce_content(fs, p, sink);
  p.post_hash = sink.finish();
  p.size = sink.size();
  check_result(p);  // result=: a wrong file must never reach the commit
  // The shadow's data must be durable before the manifest that points at it
  // is: otherwise a crash after commit could rename an empty or partly
  // written shadow over the original. (Batched: see stage_all.)
  if (!batched) sync.sync_file(file, "shadow.file");
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
    if (p->change->kind != Change::Kind::remove) jobs.push_back(p);
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
        auto file = sync.fs().open(p.shadow, OpenMode::create_exclusive);
        uint64_t reported = 0;
        stage_one(sync, p, *file, batched, [&](uint64_t bytes) {
          progress.add_bytes(bytes - reported);
          reported = bytes;
        });
        progress.file_done();
      } catch (...) {
        std::lock_guard lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        failed = true;
      }
    }
  };
  std::vector<std::thread> threads;
  const unsigned n = worker_count(options, jobs.size());
  for (unsigned i = 1; i < n; ++i) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (failure) std::rethrow_exception(failure);
  // The shadows' data must be durable before the manifest points at them
  // (as "shadow.file" above, for all of them at once).
  for (const auto& watch : watches) sync.sync_file_system(*watch, "shadow.batch");
}

void dry_run(FileSystem& fs, std::vector<PlannedChange>& plan) {
  for (auto& p : plan) {
    if (p.unchanged || p.change->kind == Change::Kind::remove) continue;
    HashingSink sink;
    produce_content(fs, p, sink);
    p.post_hash = sink.digest();
    p.size = sink.size();
    check_result(p);
  }
}

}  // namespace

Transaction::Transaction(FileSystem& fs, TransactionOptions options)
    : fs_(fs), options_(std::move(options)) {}
Transaction::~Transaction() = default;

void Transaction::add(Change change) { changes_.push_back(std::move(change)); }

CommitResult Transaction::commit() {
  if (options_.root.empty() || options_.root[0] != '/')
    throw Error(Errc::usage, options_.root, "the root must be an absolute path");
  Durability sync(fs_, options_.skip_sync_for_testing);
  CommitResult result;

  if (options_.dry_run) {
    // Validate and decode into nothing; no lock, no journal, no write.
    auto plan = plan_changes(fs_, options_, changes_);
    dry_run(fs_, plan);
    result.dry_run = true;
    for (const auto& p : plan) result.files.push_back(result_of(p));
    return result;
  }

  // Step 1: open and lock the journal, then finish or undo whatever an
  // earlier crash left in it, so that we start from all-old or all-new.
  const auto journal = journal::Journal::open(sync, journal_dir(options_), options_.wait_seconds);
  for (const auto& t : journal::recover_locked(sync, journal).transactions)
    result.recovered.push_back(t.txid + ": " + t.plan);

  // Step 2: validate everything before writing anything.
  auto plan = plan_changes(fs_, options_, changes_);
  std::vector<PlannedChange*> work;
  for (auto& p : plan)
    if (!p.unchanged) work.push_back(&p);
  if (work.empty()) {
    for (const auto& p : plan) result.files.push_back(result_of(p));
    return result;
  }

  // Step 3: the intent lists every name we are about to create.
  const std::string txid = journal.new_txid(fs_);
  result.txid = txid;
  journal::IntentRecord intent{txid, journal.dir(), {}, {}};
  std::set<std::string> new_dirs;
  for (auto* p : work) {
    for (const auto& dir : p->missing_dirs)
      if (new_dirs.insert(dir).second) intent.dirs.push_back(dir);
    if (p->change->kind != Change::Kind::remove) {
      p->shadow = paths::shadow_path(p->target, txid);
      intent.shadows.push_back(p->shadow);
    }
  }
  journal::ManifestRecord manifest{txid, journal.dir(), {}};
  try {
    // The intent's data, then its name, must be durable before the first
    // shadow exists: a crash while staging must leave a record that lets
    // recovery find and delete the orphan shadows. (If writing it fails,
    // the rollback below deletes whatever part of it was written.)
    journal::write_synced_file(sync, journal.intent_path(txid), journal::encode_intent(intent),
                               "intent.file");
    sync.sync_dir(journal.dir(), "intent.dir");

    // Step 4: stage the shadows beside their targets.
    std::set<std::string> dirs_to_sync;
    for (const auto& dir : intent.dirs) {
      if (!fs_.lstat(dir)) fs_.make_dir(dir, 0755);
      dirs_to_sync.insert(paths::dirname(dir));
    }
    stage_all(sync, options_, work);
    for (auto* p : work)
      if (p->change->kind != Change::Kind::remove) dirs_to_sync.insert(paths::dirname(p->shadow));
    // The shadows' names (and the directories created for them) must be
    // durable before the commit: a manifest whose shadow vanished in a
    // crash could not be replayed.
    for (const auto& dir : dirs_to_sync) sync.sync_dir(dir, "shadow.dir");

    // Step 5: nobody may have changed a target since we validated it.
    for (auto* p : work) {
      const auto now = fs_.lstat(p->target);
      const bool same = p->target_stat ? (now && now->id == p->target_stat->id) : !now;
      if (!same)
        throw Error(Errc::concurrent_change, p->target,
                    "the file changed while bpatch was working on it");
      if (p->source != p->target && p->source_stat) {
        const auto src = fs_.lstat(p->source);
        if (!src || src->id != p->source_stat->id)
          throw Error(Errc::concurrent_change, p->source,
                      "the file changed while bpatch was working on it");
      }
    }

    // Step 6a: write the manifest under a temporary name and make its bytes
    // durable, so the name we commit by never points at a torn record.
    for (auto* p : work) {
      journal::ManifestEntry e;
      e.target = p->target;
      e.pre_hash = p->pre_hash;
      if (p->change->kind == Change::Kind::remove) {
        e.op = journal::ManifestEntry::Op::remove;
        e.ino = p->target_stat->id.ino;
        e.size = p->target_stat->id.size;
      } else {
        e.op = journal::ManifestEntry::Op::replace;
        e.shadow = p->shadow;
        e.ino = p->shadow_ino;
        e.size = p->size;
        e.mode = p->mode;
        e.post_hash = p->post_hash;
      }
      manifest.entries.push_back(std::move(e));
    }
    journal::write_synced_file(sync, journal.manifest_tmp_path(txid),
                               journal::encode_manifest(manifest), "manifest.file");
  } catch (const Error& e) {
    // Before the commit point: undo. The intent on disk lists everything we
    // may have created; roll_back deletes exactly that.
    try {
      journal::roll_back(sync, journal, txid, nullptr);
    } catch (const Error&) {
      throw Error(
          e.code(), e.path(),
          e.message() +
              " (nothing was changed; run `bpatch recover` to delete the leftover shadow files)",
          e.sys_errno());
    }
    throw;
  }

  // Step 6b: the commit point. Once this rename is durable the transaction
  // happened; until then recovery undoes it.
  try {
    fs_.rename(journal.manifest_tmp_path(txid), journal.manifest_path(txid));
  } catch (const Error& e) {
    // A rename that failed normally did not happen; look, rather than guess.
    bool renamed = true;
    try {
      renamed = fs_.lstat(journal.manifest_path(txid)).has_value();
      if (!renamed) journal::roll_back(sync, journal, txid, nullptr);
    } catch (const Error&) {
      throw IncompleteCommit(e, txid);  // cannot tell: recovery will
    }
    if (renamed) throw IncompleteCommit(e, txid);
    throw;
  }
  try {
    sync.sync_dir(journal.dir(), "manifest.commit");

    // Steps 7 and 8: rename every shadow over its target, sync the
    // directories, delete the records — the very replay recovery runs.
    journal::replay(sync, journal, manifest, nullptr);
  } catch (const Error& e) {
    // After the rename was issued we cannot know whether it is durable;
    // recovery reads the disk and finishes or undoes it consistently.
    throw IncompleteCommit(e, txid);
  }

  for (const auto& p : plan) result.files.push_back(result_of(p));
  return result;
}

}  // namespace bpatch

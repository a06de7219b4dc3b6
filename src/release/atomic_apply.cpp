// apply_atomic — the atomic switch of docs/protocol.md §6.2, top to bottom;
// the steps are numbered as in its table.
//
// The invariant: at any instant LINK holds exactly the old target or
// exactly the new one, and it holds the new one only once the whole new
// release is durable; the old release is never written. A crash before the
// switch leaves a `release-TXID` record that lets recovery delete the
// half-built release; after it, recovery only renames the record.
#include <algorithm>

#include "base/durability.hpp"
#include "base/paths.hpp"
#include "bpatch/atomic.hpp"
#include "bpatch/error.hpp"
#include "bpatch/file_system.hpp"
#include "journal/journal.hpp"
#include "release/atomic_release.hpp"
#include "release/release_journal.hpp"
#include "release/release_tree.hpp"
#include "txn/commit.hpp"
#include "txn/plan.hpp"

namespace bpatch::release {
namespace {

// LINK's new content in the style of the old one: relative stays relative
// (only the last component changes), absolute stays absolute.
std::string new_link_text(FileSystem& fs, const std::string& link, const std::string& old_target,
                          const std::string& new_dir) {
  std::string t = old_target;
  while (t.size() > 1 && t.back() == '/') t.pop_back();
  if (t.empty() || t[0] == '/') return new_dir;
  const size_t slash = t.rfind('/');
  const std::string text =
      (slash == std::string::npos ? "" : t.substr(0, slash + 1)) + paths::basename(new_dir);
  // Only when it reaches the very directory (`..` after a symlink may not).
  if (paths::canonical(fs, paths::absolute(text, paths::dirname(link))) == new_dir) return text;
  return new_dir;
}

bool beneath(const std::string& path, const std::string& dir) {
  return path == dir || path.starts_with(dir == "/" ? dir : dir + "/");
}

// The state one apply shares between its steps.
class AtomicApply {
 public:
  AtomicApply(FileSystem& fs, const AtomicOptions& options, SkipSyncHook skip)
      : plain_(fs), options_(options), skip_(std::move(skip)) {}

  // Step 1: LINK's name, its journal locked, earlier crashes recovered.
  void lock_and_recover() {
    if (options_.link.empty() || options_.link[0] != '/')
      throw Error(Errc::usage, options_.link, "the link must be an absolute path");
    if (!options_.journal.empty() && options_.journal[0] != '/')
      throw Error(Errc::usage, options_.journal, "the journal must be an absolute path");
    result_.link = paths::canonical_parent(plain_, options_.link);
    locked_ = release::lock_and_recover(
        plain_, options_.journal.empty() ? atomic_journal_dir(result_.link) : options_.journal,
        options_.wait_seconds, skip_, true);
    result_.recovered = locked_.recovered;
  }

  // Step 2a: LINK must be a symlink to a directory: the current release.
  void resolve_link() {
    const std::string& link = result_.link;
    const auto st = plain_.lstat(link);
    if (!st) throw Error(Errc::not_found, link, "no such link", ENOENT);
    if (st->type != FileType::symlink)
      throw Error(Errc::invalid_path, link,
                  "is not a symbolic link; --atomic switches a link such as `current -> "
                  "releases/v1` to a new release directory");
    old_target_ = plain_.read_link(link);
    result_.old_release =
        paths::canonical(plain_, paths::absolute(old_target_, paths::dirname(link)));
    const auto old = plain_.lstat(result_.old_release);
    if (!old || old->type != FileType::directory)
      throw Error(Errc::not_regular, link,
                  "names " + result_.old_release + ", which is not a directory");
    if (result_.old_release == "/" || beneath(link, result_.old_release) ||
        beneath(journal().dir(), result_.old_release))
      throw Error(Errc::invalid_path, link,
                  "the link and its journal must lie outside the release it names (" +
                      result_.old_release + ")");
  }

  // Step 2b: validate every change against the current release and list it
  // — before anything is written. False: nothing would change.
  bool validate(const std::vector<Change>& changes) {
    tx_.root = result_.old_release;
    tx_.journal = tree_journal_dir(journal());
    // Files are shared with the old release: their extra link is ours, and
    // the commit's rename splits it.
    tx_.allow_hardlinks = true;
    tx_.threads = options_.threads;
    tx_.progress = options_.progress;
    const auto plan = plan_changes(plain_, tx_, changes);
    if (std::all_of(plan.begin(), plan.end(), [](const auto& p) { return p.unchanged; })) {
      for (const auto& p : plan) {
        FileResult r;
        r.target = p.target;
        r.kind = p.change->kind;
        r.action = FileResult::Action::unchanged;
        r.note = p.note;
        result_.commit.files.push_back(std::move(r));
      }
      return false;
    }
    const auto view = plain_.anchored({paths::dirname(result_.old_release)});
    entries_ = list_tree(*view, result_.old_release);
    return true;
  }

  // Step 3: the record naming the new release is durable before it exists,
  // so that a crash while building leaves a release recovery can find.
  void write_record() {
    const std::string txid = new_atomic_txid(*locked_.view, journal());
    const std::string new_dir = new_release_path(result_.old_release, txid);
    record_ = {txid,
               journal().dir(),
               result_.link,
               result_.old_release,
               new_dir,
               old_target_,
               new_link_text(plain_, result_.link, old_target_, new_dir)};
    view_ = view_for(plain_, record_);
    for (const auto& p : {new_dir, temp_link_path(result_.link, txid)})
      if (view_->lstat(p))
        throw Error(Errc::invalid_path, p, "already exists; bpatch will not build over it");
    Durability sync(*view_, skip_);
    journal::write_synced_file(sync, release_record_path(journal(), txid), encode_release(record_),
                               "atomic.intent.file");
    sync.sync_dir(journal().dir(), "atomic.intent.dir");
    result_.txid = txid;
    result_.new_release = new_dir;
    result_.new_target = record_.new_target;
  }

  // Steps 4-7: the mirror, the changes in it, all of it durable, the new
  // symlink beside LINK.
  void build(const std::vector<Change>& changes) {
    Durability sync(*view_, skip_);
    const auto counts = mirror_tree(sync, result_.old_release, record_.new_dir, entries_);
    result_.files_reflinked = counts.reflinked;
    result_.files_hard_linked = counts.hard_linked;
    // The normal commit protocol, rooted in the new release: its shadows,
    // renames and records are its own; its journal is JOURNAL/tree.
    tx_.root = record_.new_dir;
    result_.commit = commit_changes(plain_, tx_, changes, skip_);
    // Every entry of the new release (the shared files' names, the
    // directories, the renames of the commit) must be durable before LINK
    // names it: a crash after the switch must not show a partial tree.
    sync_tree_dirs(sync, record_.new_dir, "atomic.release.dir");
    sync.sync_dir(paths::dirname(record_.new_dir), "atomic.release.dir");
    // Another writer re-pointed LINK meanwhile: switching would drop its change.
    const auto st = view_->lstat(result_.link);
    if (!st || st->type != FileType::symlink || view_->read_link(result_.link) != old_target_)
      throw Error(Errc::concurrent_change, result_.link,
                  "the link changed while bpatch was building the new release");
    view_->make_symlink(record_.new_target, temp_link_path(result_.link, record_.txid));
  }

  // Any failure before the switch: the release goes, LINK never changed.
  [[noreturn]] void roll_back_and_rethrow(const Error& cause) {
    try {
      roll_back_release(plain_, skip_, journal(), record_);
    } catch (const Error&) {
      throw Error(cause.code(), cause.path(),
                  cause.message() +
                      " (the link was not switched; run `bpatch recover --root LINK` to delete "
                      "the half-built release)",
                  cause.sys_errno());
    }
    throw;
  }

  // Step 8: the commit point — one rename of the new symlink over LINK.
  void switch_link() {
    const std::string temp = temp_link_path(result_.link, record_.txid);
    try {
      view_->rename(temp, result_.link);
    } catch (const Error& e) {
      bool switched = true;
      try {
        switched = view_->read_link(result_.link) == record_.new_target;
      } catch (const Error&) {
        throw IncompleteCommit(e, record_.txid);
      }
      if (switched) throw IncompleteCommit(e, record_.txid);
      roll_back_and_rethrow(e);
    }
  }

  // Steps 8 (its sync) and 9: the switch durable, then the record renamed
  // to the generation undo reads.
  void finish() {
    try {
      Durability sync(*view_, skip_);
      // Until this sync a power cut may bring the old link back: success
      // must not be reported before.
      sync.sync_dir(paths::dirname(result_.link), "atomic.switch");
      view_->rename(release_record_path(journal(), record_.txid),
                    generation_record_path(journal(), record_.txid));
      // A release record left behind, once LINK is switched back by undo,
      // would make recovery delete the release undo promised to keep.
      sync.sync_dir(journal().dir(), "atomic.generation");
    } catch (const Error& e) {
      throw IncompleteCommit(e, record_.txid);
    }
  }

  // A refused update leaves no journal it created (only its LOCK inside).
  void remove_created_journal() noexcept {
    if (!locked_.created || !locked_.journal) return;
    try {
      const std::string dir = journal().dir();
      const auto names = locked_.view->list_dir(dir);
      if (names.size() != 1 || names[0] != "LOCK") return;
      locked_.view->unlink(paths::join(dir, "LOCK"));
      locked_.journal.reset();
      plain_.remove_dir(dir);
    } catch (const Error&) {
    }
  }

  AtomicResult& result() { return result_; }

 private:
  const journal::Journal& journal() const { return *locked_.journal; }

  FileSystem& plain_;
  const AtomicOptions& options_;
  SkipSyncHook skip_;
  LockedJournal locked_;
  std::unique_ptr<FileSystem> view_;
  TransactionOptions tx_;
  std::string old_target_;
  std::vector<TreeEntry> entries_;
  ReleaseRecord record_;
  AtomicResult result_;
};

}  // namespace

AtomicResult apply_atomic_with_hook(FileSystem& fs, const AtomicOptions& options,
                                    std::vector<Change> changes, SkipSyncHook skip) {
  AtomicApply apply(fs, options, std::move(skip));
  apply.lock_and_recover();  // step 1
  try {
    apply.resolve_link();            // step 2
    if (!apply.validate(changes)) {  // step 2
      apply.remove_created_journal();
      return apply.result();
    }
    apply.write_record();  // step 3
  } catch (const Error&) {
    apply.remove_created_journal();
    throw;
  }
  try {
    apply.build(changes);  // steps 4-7
  } catch (const Error& e) {
    apply.roll_back_and_rethrow(e);
  }
  apply.switch_link();  // step 8
  apply.finish();       // steps 8-9
  return apply.result();
}

}  // namespace bpatch::release

namespace bpatch {

AtomicResult apply_atomic(FileSystem& fs, const AtomicOptions& options,
                          std::vector<Change> changes) {
  return release::apply_atomic_with_hook(fs, options, std::move(changes), nullptr);
}

}  // namespace bpatch

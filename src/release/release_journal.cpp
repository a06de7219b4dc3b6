// Recovery of atomic switches (docs/protocol.md §6).
//
// LINK itself is the commit record: the switch is one rename(2) of a new
// symlink over it, so after a crash LINK holds either the old or the new
// target, and that decides:
//
//   release-TXID, LINK holds new-target  the switch is durable: rename the
//                                        record to generation-TXID
//   release-TXID, LINK holds old-target  it never happened: finish or undo
//                                        the transaction inside the new
//                                        release, delete the release and
//                                        LINK.bpatch-TXID, then the record
//   release-TXID, LINK holds anything else  someone changed LINK: refuse,
//                                        touch nothing
//   generation-TXID                      done; an undo interrupted before its
//                                        rename leaves LINK.bpatch-TXID: delete it
//
// Every step is idempotent, so recovery may itself be interrupted and run
// again.
#include "release/release_journal.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <set>

#include "base/paths.hpp"
#include "bpatch/error.hpp"
#include "journal/records.hpp"
#include "release/release_tree.hpp"

namespace bpatch::release {
namespace {

constexpr std::string_view kReleasePrefix = "release-";
constexpr std::string_view kGenerationPrefix = "generation-";
constexpr std::string_view kSuffix = ".bpatch-";

std::optional<std::string> link_content(FileSystem& fs, const std::string& link) {
  const auto st = fs.lstat(link);
  if (!st || st->type != FileType::symlink) return std::nullopt;
  return fs.read_link(link);
}

void unlink_if_present(FileSystem& fs, const std::string& path) {
  if (fs.lstat(path)) fs.unlink(path);
}

bool canonical_path(const std::string& p) {
  return !p.empty() && p[0] == '/' && paths::absolute(p, "/") == p;
}

}  // namespace

std::map<std::string, AtomicRecordSet> atomic_records(FileSystem& fs,
                                                      const journal::Journal& journal) {
  std::map<std::string, AtomicRecordSet> out;
  for (const auto& name : fs.list_dir(journal.dir())) {
    if (name.starts_with(kReleasePrefix) && journal::is_txid(name.substr(kReleasePrefix.size())))
      out[name.substr(kReleasePrefix.size())].release = true;
    if (name.starts_with(kGenerationPrefix) &&
        journal::is_txid(name.substr(kGenerationPrefix.size())))
      out[name.substr(kGenerationPrefix.size())].generation = true;
  }
  return out;
}

std::string release_record_path(const journal::Journal& journal, const std::string& txid) {
  return paths::join(journal.dir(), std::string(kReleasePrefix) + txid);
}
std::string generation_record_path(const journal::Journal& journal, const std::string& txid) {
  return paths::join(journal.dir(), std::string(kGenerationPrefix) + txid);
}
std::string tree_journal_dir(const journal::Journal& journal) {
  return paths::join(journal.dir(), "tree");
}
std::string temp_link_path(const std::string& link, const std::string& txid) {
  return link + std::string(kSuffix) + txid;
}

std::string new_release_path(const std::string& old_dir, const std::string& txid) {
  std::string base = paths::basename(old_dir);
  const size_t tail = kSuffix.size() + 25;  // ".bpatch-" TXID
  if (base.size() > tail && base.compare(base.size() - tail, kSuffix.size(), kSuffix) == 0 &&
      journal::is_txid(std::string_view(base).substr(base.size() - 25)))
    base.resize(base.size() - tail);
  if (base.size() > 255 - tail) base.resize(255 - tail);  // NAME_MAX
  return paths::join(paths::dirname(old_dir), base + std::string(kSuffix) + txid);
}

std::string new_atomic_txid(FileSystem& fs, const journal::Journal& journal) {
  std::string txid = journal.new_txid(fs);
  const auto mine = atomic_records(fs, journal);
  if (mine.empty() || mine.rbegin()->first < txid) return txid;
  // Keep txids increasing over the atomic records too (a clock stepped back).
  const uint64_t ns = std::stoull(mine.rbegin()->first.substr(0, 16), nullptr, 16) + 1;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%016llx-%08x", static_cast<unsigned long long>(ns),
                static_cast<unsigned>(::getpid()));
  return buf;
}

void check_release(const ReleaseRecord& r, const journal::Journal& journal, const std::string& path,
                   const std::string& txid) {
  auto refuse = [&](const std::string& why) {
    throw Error(Errc::journal, path,
                why + "; nothing was changed — inspect it, then remove it by hand");
  };
  if (r.txid != txid) refuse("names transaction " + r.txid);
  if (r.journal != journal.dir())
    refuse("was written for the journal " + r.journal + ", not " + journal.dir() +
           " (was the tree copied or moved?)");
  for (const std::string* p : {&r.link, &r.old_dir, &r.new_dir})
    if (!canonical_path(*p) || *p == "/") refuse("names a path that is not canonical: " + *p);
  // Defence in depth: recovery deletes new_dir, so it must be exactly the
  // name this txid's build gives, beside the old release.
  if (r.new_dir != new_release_path(r.old_dir, txid))
    refuse("its new release " + r.new_dir + " is not the name of transaction " + txid);
}

ReleaseRecord load_release(FileSystem& fs, const journal::Journal& journal, const std::string& path,
                           const std::string& txid) {
  ReleaseRecord r = decode_release(journal::read_small_file(fs, path), path);
  check_release(r, journal, path, txid);
  return r;
}

std::unique_ptr<FileSystem> view_for(FileSystem& plain, const ReleaseRecord& record) {
  std::vector<std::string> anchors = {paths::dirname(record.new_dir)};
  for (const auto& dir : {record.journal, paths::dirname(record.link)})
    if (std::find(anchors.begin(), anchors.end(), dir) == anchors.end()) anchors.push_back(dir);
  return plain.anchored(anchors);
}

namespace {

// The records, in JOURNAL/tree, of the transaction that ran inside the new
// release (or that a crash stopped there). With the release about to go
// they are not replayed — what they would rename is deleted with it — but
// dropped; records of another root, if any, are left alone. Returns whether
// it deleted one.
bool drop_tree_records(FileSystem& plain, const SkipSyncHook& skip, const journal::Journal& journal,
                       const std::string& new_dir) {
  const std::string dir = tree_journal_dir(journal);
  if (!plain.lstat(dir)) return false;
  const auto view = plain.anchored({dir});
  Durability sync(*view, skip);
  const auto tree = journal::Journal::open(sync, dir, 0);
  bool dropped = false;
  for (const auto& name : view->list_dir(dir)) {
    if (name == "LOCK") continue;
    const std::string path = paths::join(dir, name);
    std::string root;
    try {
      const std::string bytes = journal::read_small_file(*view, path);
      root = name.starts_with("intent-") ? journal::decode_intent(bytes, path).root
                                         : journal::decode_manifest(bytes, path).root;
    } catch (const Error& e) {
      if (e.code() != Errc::journal) throw;
      root = new_dir;  // torn or damaged: it cannot be replayed; ours to drop
    }
    if (root != new_dir && !root.starts_with(new_dir + "/")) continue;
    view->unlink(path);
    dropped = true;
  }
  return dropped;
}

}  // namespace

std::string roll_back_release(FileSystem& plain, const SkipSyncHook& skip,
                              const journal::Journal& journal, const ReleaseRecord& record) {
  const bool dropped = drop_tree_records(plain, skip, journal, record.new_dir);
  const auto view = view_for(plain, record);
  Durability sync(*view, skip);
  FileSystem& fs = *view;
  const bool deleted = delete_tree(fs, record.new_dir);
  const std::string temp = temp_link_path(record.link, record.txid);
  const auto temp_st = fs.lstat(temp);
  if (temp_st && temp_st->type == FileType::symlink) fs.unlink(temp);
  // The release's, the temporary link's and the inner records' deletion
  // must be durable before the record naming them goes: else a crash leaves
  // a stray release (or link) that no record names and nobody deletes, or
  // inner records whose files are gone, on which every later update stops.
  std::set<std::string> dirs;
  if (deleted) dirs.insert(paths::dirname(record.new_dir));
  if (temp_st && temp_st->type == FileType::symlink) dirs.insert(paths::dirname(record.link));
  for (const auto& dir : dirs) sync.sync_dir(dir, "atomic.rollback.dir");
  if (dropped) Durability(plain, skip).sync_dir(tree_journal_dir(journal), "atomic.rollback.dir");
  unlink_if_present(fs, release_record_path(journal, record.txid));
  // Recovery reports success only once the record's deletion is durable:
  // a record coming back later would stop every update of LINK.
  sync.sync_dir(journal.dir(), "atomic.records");
  return "rolled back: the new release " + record.new_dir + (deleted ? " deleted" : " never made") +
         "; " + record.link + " still names " + record.old_dir;
}

std::vector<std::string> recover_atomic_locked(FileSystem& plain, const SkipSyncHook& skip,
                                               const journal::Journal& journal) {
  const auto jview = plain.anchored({journal.dir()});
  Durability jsync(*jview, skip);
  std::vector<std::string> report;
  for (const auto& [txid, set] : atomic_records(*jview, journal)) {
    const std::string release_path = release_record_path(journal, txid);
    const std::string generation_path = generation_record_path(journal, txid);
    if (set.release && set.generation) {
      // A rename to generation-TXID interrupted between its two names.
      jview->unlink(release_path);
      jsync.sync_dir(journal.dir(), "atomic.generation");
    }
    if (set.release && !set.generation) {
      const std::string bytes = journal::read_small_file(*jview, release_path);
      std::optional<ReleaseRecord> record;
      try {
        record = decode_release(bytes, release_path);
      } catch (const Error& e) {
        // Torn: it was never synced, so the release was never begun.
        if (e.code() != Errc::journal) throw;
        jview->unlink(release_path);
        jsync.sync_dir(journal.dir(), "atomic.records");
        report.push_back(txid + ": deleted a torn record (nothing was built)");
        continue;
      }
      check_release(*record, journal, release_path, txid);
      const auto view = view_for(plain, *record);
      const auto now = link_content(*view, record->link);
      if (now == record->new_target) {
        // A half-done rename of the switch leaves both names on the link.
        const std::string temp = temp_link_path(record->link, txid);
        if (const auto st = view->lstat(temp); st && st->type == FileType::symlink) {
          view->unlink(temp);
          Durability(*view, skip).sync_dir(paths::dirname(record->link), "atomic.rollback.dir");
        }
        jview->rename(release_path, generation_path);
        // Undo must find the generation, and a release record left behind
        // while LINK is later switched back would be rolled back: deleted.
        jsync.sync_dir(journal.dir(), "atomic.generation");
        report.push_back(txid + ": finished: " + record->link + " names " + record->new_dir);
      } else if (now == record->old_target) {
        report.push_back(txid + ": " + roll_back_release(plain, skip, journal, *record));
      } else {
        throw Error(Errc::journal, record->link,
                    "atomic update " + txid + " cannot be recovered: the link holds " +
                        (now ? "`" + *now + "`" : std::string("no symlink")) +
                        ", neither its old target `" + record->old_target + "` nor its new `" +
                        record->new_target + "`; nothing was changed. Point it back at one of " +
                        "them (or delete " + release_path + " and " + record->new_dir +
                        " by hand)");
      }
      continue;
    }
    // A generation: an undo interrupted before its rename left its link.
    std::optional<ReleaseRecord> record;
    try {
      record = load_release(*jview, journal, generation_path, txid);
    } catch (const Error& e) {
      if (e.code() != Errc::journal) throw;
      continue;  // only undo needs it; undo refuses it
    }
    const auto view = view_for(plain, *record);
    const std::string temp = temp_link_path(record->link, txid);
    if (const auto st = view->lstat(temp); st && st->type == FileType::symlink) {
      view->unlink(temp);
      Durability sync(*view, skip);
      sync.sync_dir(paths::dirname(record->link), "atomic.rollback.dir");
      report.push_back(txid + ": deleted the link " + temp + " of an interrupted undo");
    }
  }
  return report;
}

LockedJournal lock_and_recover(FileSystem& plain, const std::string& journal_dir,
                               double wait_seconds, const SkipSyncHook& skip, bool create) {
  LockedJournal out;
  const std::string dir = paths::canonical_parent(plain, journal_dir);
  if (create) {
    Durability sync(plain, skip);
    out.created = journal::ensure_dir(sync, dir);
  } else if (!plain.lstat(dir)) {
    return out;
  }
  out.view = plain.anchored({dir});
  Durability sync(*out.view, skip);
  out.journal.emplace(journal::Journal::open(sync, dir, wait_seconds));
  out.recovered = recover_atomic_locked(plain, skip, *out.journal);
  return out;
}

std::vector<std::string> recover_atomic_with_hook(FileSystem& fs, const std::string& journal_dir,
                                                  double wait_seconds, SkipSyncHook skip) {
  return lock_and_recover(fs, journal_dir, wait_seconds, skip, false).recovered;
}

}  // namespace bpatch::release

namespace bpatch {

std::string atomic_journal_dir(const std::string& link) {
  return paths::join(paths::dirname(link), ".bpatch");
}

std::vector<std::string> recover_atomic(FileSystem& fs, const std::string& journal_dir,
                                        double wait_seconds) {
  return release::recover_atomic_with_hook(fs, journal_dir, wait_seconds, nullptr);
}

}  // namespace bpatch

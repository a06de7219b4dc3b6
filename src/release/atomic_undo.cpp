// undo_atomic — switch LINK back to the release it named before its last
// atomic update (docs/protocol.md §6.4).
//
// The generation to undo is the newest `generation-TXID` whose new target is
// what LINK holds now; undoing it renames a fresh symlink to its old target
// over LINK, exactly as the update switched. Which generations are undone
// needs no record: it is what LINK names. So a second undo walks one more
// generation back, and an interrupted undo leaves only LINK.bpatch-TXID,
// which recovery deletes. The release switched away from stays on disk.
#include "base/durability.hpp"
#include "base/paths.hpp"
#include "bpatch/atomic.hpp"
#include "bpatch/error.hpp"
#include "journal/read_only_journal.hpp"
#include "release/atomic_release.hpp"
#include "release/release_journal.hpp"
#include "release/release_record.hpp"

namespace bpatch::release {

UndoResult undo_atomic_with_hook(FileSystem& fs, const AtomicOptions& options, SkipSyncHook skip) {
  if (options.link.empty() || options.link[0] != '/')
    throw Error(Errc::usage, options.link, "the link must be an absolute path");
  const std::string link = paths::canonical_parent(fs, options.link);
  const std::string dir = options.journal.empty() ? atomic_journal_dir(link) : options.journal;
  auto locked = lock_and_recover(fs, dir, options.wait_seconds, skip, false);
  if (!locked.journal)
    throw Error(Errc::not_found, link, "nothing to undo: no atomic update was made with " + dir);
  const auto& journal = *locked.journal;
  UndoResult result;
  result.recovered = locked.recovered;

  const auto st = fs.lstat(link);
  if (!st || st->type != FileType::symlink)
    throw Error(Errc::invalid_path, link, "is not a symbolic link");
  const std::string now = fs.read_link(link);
  const auto records = atomic_records(*locked.view, journal);
  for (auto it = records.rbegin(); it != records.rend(); ++it) {
    if (!it->second.generation) continue;
    const ReleaseRecord r =
        load_release(*locked.view, journal, generation_record_path(journal, it->first), it->first);
    if (r.link != link || r.new_target != now) continue;
    const auto view = view_for(fs, r);
    const auto old = view->lstat(r.old_dir);
    if (!old || old->type != FileType::directory)
      throw Error(Errc::not_found, r.old_dir,
                  "the release to switch back to is gone; nothing was changed");
    // Same switch as the update's: a new symlink renamed over LINK (its
    // name is this generation's, which recovery deletes if we crash first).
    const std::string temp = temp_link_path(link, r.txid);
    if (view->lstat(temp)) view->unlink(temp);
    view->make_symlink(r.old_target, temp);
    view->rename(temp, link);
    // Until this sync a power cut may bring the new link back.
    Durability(*view, skip).sync_dir(paths::dirname(link), "atomic.undo.switch");
    result.txid = r.txid;
    result.from_release = r.new_dir;
    result.to_release = r.old_dir;
    return result;
  }
  throw Error(Errc::not_found, link,
              "nothing to undo: no atomic update switched this link to `" + now + "`");
}

}  // namespace bpatch::release

namespace bpatch {

std::vector<AtomicGeneration> atomic_status(FileSystem& fs, const std::string& journal_dir) {
  const auto opened = journal::open_read_only_journal(fs, journal_dir);
  if (!opened) return {};
  const auto& view = opened->view;
  const journal::Journal* journal = &opened->journal;
  std::vector<AtomicGeneration> out;
  for (const auto& [txid, set] : release::atomic_records(*view, *journal)) {
    AtomicGeneration g;
    g.txid = txid;
    const std::string path = set.generation ? release::generation_record_path(*journal, txid)
                                            : release::release_record_path(*journal, txid);
    release::ReleaseRecord r;
    try {
      r = release::load_release(*view, *journal, path, txid);
    } catch (const Error& e) {
      if (e.code() != Errc::journal) throw;
      g.link = "(unreadable record: " + e.message() + ")";
      out.push_back(std::move(g));
      continue;
    }
    g.link = r.link;
    g.old_release = r.old_dir;
    g.new_release = r.new_dir;
    if (set.generation) {
      const auto st = fs.lstat(r.link);
      const std::string now = st && st->type == FileType::symlink ? fs.read_link(r.link) : "";
      g.state = now == r.new_target   ? AtomicGeneration::State::current
                : now == r.old_target ? AtomicGeneration::State::undone
                                      : AtomicGeneration::State::superseded;
    }
    out.push_back(std::move(g));
  }
  return out;
}

UndoResult undo_atomic(FileSystem& fs, const AtomicOptions& options) {
  return release::undo_atomic_with_hook(fs, options, nullptr);
}

}  // namespace bpatch

// Undo generations: keep names at replay, the generation record, pruning and
// forgetting (generations.hpp, docs/protocol.md §7).
#include "journal/generations.hpp"

#include <algorithm>

#include "base/paths.hpp"
#include "bpatch/error.hpp"
#include "bpatch/hash.hpp"
#include "journal/replay.hpp"

namespace bpatch::journal {
namespace {

void unlink_if_present(FileSystem& fs, const std::string& path) {
  if (fs.lstat(path)) fs.unlink(path);
}

// Unlinks each kept name that is exactly ours (the keep name, the recorded
// inode); returns the directories changed.
std::set<std::string> drop_kept_names(FileSystem& fs, const ManifestRecord& record) {
  std::set<std::string> dirs;
  for (const auto& [path, ino] : kept_names(fs, record)) {
    const auto st = fs.lstat(path);
    if (!st || st->id.ino != ino || st->type == FileType::directory) continue;
    fs.unlink(path);
    dirs.insert(paths::dirname(path));
  }
  return dirs;
}

}  // namespace

std::string journal_keep_path(const std::string& journal, const std::string& txid,
                              const std::string& target) {
  const Hash128 h = hash_bytes(std::as_bytes(std::span(target.data(), target.size())));
  return paths::join(journal, "keep-" + txid + "-" + h.hex());
}

KeptNames::KeptNames(FileSystem& fs, const ManifestRecord& record) : record_(record) {
  for (const auto& e : record.entries)
    if (e.op == ManifestEntry::Op::rmdir) removed_dirs_.insert(e.target);
  const auto journal = fs.lstat(record.journal);
  const auto root = fs.lstat(record.root);
  in_journal_ = journal && root && journal->id.dev == root->id.dev;
}

std::string KeptNames::of(const ManifestEntry& entry) const {
  if (in_journal_) return journal_keep_path(record_.journal, record_.txid, entry.target);
  // The top-most ancestor of the target that the transaction removes.
  std::string top;
  if (!removed_dirs_.empty())
    for (std::string dir = paths::dirname(entry.target); dir != "/" && dir != record_.root;
         dir = paths::dirname(dir))
      if (removed_dirs_.count(dir)) top = dir;
  if (top.empty()) return paths::keep_path(entry.target, record_.txid);
  // Kept beside that directory, so that it can go: "sub/x" as one name.
  const std::string parent = paths::dirname(top);
  std::string name;
  for (const char c : entry.target.substr(parent == "/" ? 1 : parent.size() + 1))
    name += c == '/' ? "%2F" : c == '%' ? "%25" : std::string(1, c);
  return paths::keep_path(paths::join(parent, name), record_.txid);
}

std::vector<std::pair<std::string, uint64_t>> kept_names(FileSystem& fs,
                                                         const ManifestRecord& record) {
  const KeptNames kept_name(fs, record);
  std::vector<std::pair<std::string, uint64_t>> out;
  for (const auto& e : record.entries) {
    if ((e.op == ManifestEntry::Op::replace || e.op == ManifestEntry::Op::symlink) && e.old_ino)
      out.emplace_back(kept_name.of(e), *e.old_ino);
    else if (e.op == ManifestEntry::Op::remove)
      out.emplace_back(kept_name.of(e), e.ino);
  }
  return out;
}

void keep_replaced(FileSystem& fs, const ManifestRecord& manifest, std::set<std::string>* dirs) {
  const KeptNames kept_name(fs, manifest);
  for (const auto& e : manifest.entries) {
    const bool renamed_over =
        e.op == ManifestEntry::Op::replace || e.op == ManifestEntry::Op::symlink;
    if (!renamed_over || !e.old_ino) continue;
    if (!fs.lstat(e.shadow)) continue;  // renamed already: kept before that, or never
    const std::string keep = kept_name.of(e);
    if (fs.lstat(keep)) continue;  // made by an earlier run (or not ours: then undo refuses)
    const auto target = fs.lstat(e.target);
    if (!target || target->id.ino != *e.old_ino || target->type == FileType::directory) continue;
    try {
      // linkat(2) never copies and never follows a symlink.
      fs.hard_link(e.target, keep);
    } catch (const Error&) {
      // A file system without hard links (or at its link limit): the update
      // must still finish; this generation just cannot restore the file.
      continue;
    }
    dirs->insert(paths::dirname(keep));
  }
}

bool keep_removed(FileSystem& fs, const KeptNames& kept, const ManifestEntry& entry) {
  const std::string keep = kept.of(entry);
  if (const auto st = fs.lstat(keep)) {
    if (st->id.ino != entry.ino) return false;  // not ours: never renamed over
    // A rename interrupted between its two names: drop the target's.
    fs.unlink(entry.target);
    return true;
  }
  try {
    fs.rename(entry.target, keep);
  } catch (const Error&) {
    return false;
  }
  return true;
}

void store_generation(Durability& sync, const Journal& journal, const ManifestRecord& manifest,
                      bool keeps_new_dirs) {
  FileSystem& fs = sync.fs();
  // The intent first, as delete_records does: an intent left alone rolls
  // back names that no longer exist; a manifest left alone replays as a no-op.
  unlink_if_present(fs, journal.intent_path(manifest.txid));
  // As there: a rollback of the intent alone would remove new empty directories.
  if (keeps_new_dirs) sync.sync_dir(journal.dir(), "recover.records.intent");
  unlink_if_present(fs, journal.manifest_tmp_path(manifest.txid));
  const std::string from = journal.manifest_path(manifest.txid);
  const std::string to = journal.undo_path(manifest.txid);
  if (const auto st = fs.lstat(from)) {
    const auto done = fs.lstat(to);
    // A rename interrupted between its two names leaves both on the inode,
    // where rename(2) would do nothing: drop the manifest's name instead.
    if (done && done->id.ino == st->id.ino)
      fs.unlink(from);
    else
      fs.rename(from, to);
  }
  // As "recover.records": until this is durable the manifest may come back
  // and be replayed over files changed since.
  sync.sync_dir(journal.dir(), "recover.records");
  prune_generations(sync, journal);
}

void prune_generations(Durability& sync, const Journal& journal) {
  FileSystem& fs = sync.fs();
  const auto generations = generation_txids(fs, journal);
  if (generations.empty()) return;
  uint32_t keep = 0;
  try {
    keep = load_generation(fs, journal, generations.back(), journal.undo_path(generations.back()))
               .keep;
  } catch (const Error& e) {
    if (e.code() != Errc::journal) throw;
    return;  // damaged: nothing is dropped on its word
  }
  for (size_t i = 0; i + keep < generations.size(); ++i)
    forget_generation(sync, journal, generations[i]);
}

void finish_undoing(Durability& sync, const Journal& journal, const ManifestRecord& manifest) {
  FileSystem& fs = sync.fs();
  const std::string& g = manifest.undoes;
  const std::string record_path = journal.undo_path(g);
  if (!fs.lstat(record_path)) return;  // dropped already
  ManifestRecord generation;
  try {
    generation = load_generation(fs, journal, g, record_path);
  } catch (const Error& e) {
    if (e.code() != Errc::journal) throw;
    return;  // damaged: left for a person (`bpatch forget` reports it)
  }
  const auto view = fs.anchored({generation.root, journal.dir()});
  Durability root_sync = sync.on(*view);
  // The restored targets hold the kept inodes now; their second names go.
  for (const auto& dir : drop_kept_names(*view, generation))
    root_sync.sync_dir(dir, "undo.keep.dir");
  // The directories the undone transaction created, deepest first.
  std::set<std::string> parents;
  for (auto it = generation.dirs.rbegin(); it != generation.dirs.rend(); ++it) {
    const auto st = view->lstat(*it);
    if (!st || st->type != FileType::directory || !view->list_dir(*it).empty()) continue;
    view->remove_dir(*it);
    parents.insert(paths::dirname(*it));
  }
  for (const auto& dir : parents)
    if (view->lstat(dir)) root_sync.sync_dir(dir, "undo.rmdir");
  // The kept names' removal must be durable before the record listing them
  // goes, and the record must be gone before the undo's own manifest is
  // (which alone would not say what to drop).
  fs.unlink(record_path);
  sync.sync_dir(journal.dir(), "undo.drop");
}

std::vector<std::string> generation_txids(FileSystem& fs, const Journal& journal) {
  std::vector<std::string> out;
  for (const auto& [txid, set] : journal.records(fs))  // std::map: txid order
    if (set.undo && set.generation_only()) out.push_back(txid);
  return out;
}

ManifestRecord load_generation(FileSystem& fs, const Journal& journal, const std::string& txid,
                               const std::string& path) {
  ManifestRecord record = decode_manifest(read_small_file(fs, path), path);
  check_manifest_record(record, journal, txid, path);
  if (!record.keep || !record.undoes.empty())
    throw Error(Errc::journal, path, "is not an undo generation record");
  return record;
}

void forget_generation(Durability& sync, const Journal& journal, const std::string& txid) {
  FileSystem& fs = sync.fs();
  if (const auto st = fs.lstat(journal.undo_path(txid))) {
    const auto marked = fs.lstat(journal.forget_path(txid));
    if (marked && marked->id.ino == st->id.ino)  // a half-done rename, as above
      fs.unlink(journal.undo_path(txid));
    else
      fs.rename(journal.undo_path(txid), journal.forget_path(txid));
    // The mark must be durable before the first kept name goes: a crash
    // would otherwise leave a generation that lost some of its files.
    sync.sync_dir(journal.dir(), "forget.mark");
  }
  finish_forget(sync, journal, txid);
}

void finish_forget(Durability& sync, const Journal& journal, const std::string& txid) {
  FileSystem& fs = sync.fs();
  const std::string path = journal.forget_path(txid);
  const auto mark = fs.lstat(path);
  if (!mark) return;
  // The mark's rename interrupted between its two names: the undo- name goes
  // (durably, before the first kept name goes).
  if (const auto st = fs.lstat(journal.undo_path(txid)); st && st->id.ino == mark->id.ino) {
    fs.unlink(journal.undo_path(txid));
    sync.sync_dir(journal.dir(), "forget.mark");  // as in forget_generation
  }
  std::optional<ManifestRecord> record;
  try {
    record = load_generation(fs, journal, txid, path);
  } catch (const Error& e) {
    if (e.code() != Errc::journal) throw;
    // Unreadable: no name it lists can be trusted, so none is touched.
  }
  if (record) {
    const auto view = fs.anchored({record->root, journal.dir()});
    Durability root_sync = sync.on(*view);
    // The names' removal must be durable before the record naming them goes,
    // or a crash would leave hidden names no record lists.
    std::set<std::string> dirs = drop_kept_names(*view, *record);
    // A directory the transaction removed stayed while it held kept names
    // (docs/protocol.md §7.2): now the rmdir is finished.
    for (const auto& e : record->entries) {
      if (e.op != ManifestEntry::Op::rmdir) continue;
      const auto st = view->lstat(e.target);
      if (!st || st->type != FileType::directory || st->id.ino != e.ino ||
          !view->list_dir(e.target).empty())
        continue;
      view->remove_dir(e.target);
      dirs.erase(e.target);
      dirs.insert(paths::dirname(e.target));
    }
    for (const auto& dir : dirs)
      if (view->lstat(dir)) root_sync.sync_dir(dir, "forget.dir");
  }
  fs.unlink(path);
  sync.sync_dir(journal.dir(), "forget.record");
}

}  // namespace bpatch::journal

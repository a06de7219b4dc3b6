// The public face of undo generations: forget() and list_generations()
// (bpatch/undo.hpp); the mechanics are in generations.cpp.
#include <algorithm>

#include "base/paths.hpp"
#include "bpatch/error.hpp"
#include "bpatch/undo.hpp"
#include "journal/generations.hpp"
#include "journal/read_only_journal.hpp"
#include "journal/replay.hpp"

namespace bpatch {
namespace journal {

std::vector<std::string> forget_with_hook(FileSystem& fs, const std::string& journal_dir,
                                          const std::string& txid, double wait_seconds,
                                          SkipSyncHook skip_sync) {
  const std::string dir = paths::canonical_parent(fs, journal_dir);
  if (!txid.empty() && !is_txid(txid))
    throw Error(Errc::usage, txid, "not a transaction id (16 hex digits, '-', 8 hex digits)");
  if (!fs.lstat(dir)) {
    if (txid.empty()) return {};
    throw Error(Errc::not_found, dir, "no undo generation " + txid + " (there is no journal)");
  }
  const auto view = fs.anchored({dir});
  Durability sync(*view, std::move(skip_sync));
  const auto journal = Journal::open(sync, dir, wait_seconds);
  recover_locked(sync, journal);  // a pending transaction first, as every apply does
  auto generations = generation_txids(*view, journal);
  if (!txid.empty()) {
    if (std::find(generations.begin(), generations.end(), txid) == generations.end())
      throw Error(Errc::not_found, dir, "no undo generation " + txid + " in this journal");
    generations = {txid};
  }
  for (const auto& g : generations) forget_generation(sync, journal, g);
  return generations;
}

}  // namespace journal

std::vector<std::string> forget(FileSystem& fs, const std::string& journal_dir,
                                const std::string& txid, double wait_seconds) {
  return journal::forget_with_hook(fs, journal_dir, txid, wait_seconds, nullptr);
}

std::vector<Generation> list_generations(FileSystem& fs, const std::string& journal_dir) {
  const auto opened = journal::open_read_only_journal(fs, journal_dir);
  if (!opened) return {};
  const auto& view = opened->view;
  const journal::Journal* journal = &opened->journal;
  std::vector<Generation> out;
  for (const auto& txid : journal::generation_txids(*view, *journal)) {
    Generation g;
    g.txid = txid;
    journal::ManifestRecord record;
    try {
      record = journal::load_generation(*view, *journal, txid, journal->undo_path(txid));
    } catch (const Error& e) {
      if (e.code() != Errc::journal) throw;
      g.problem = "damaged record: " + e.message() + " (`bpatch forget " + txid + "` drops it)";
      out.push_back(std::move(g));
      continue;
    }
    g.root = record.root;
    const auto root_view = view->anchored({record.root, journal->dir()});
    for (const auto& e : record.entries) {
      g.targets.push_back(e.target);
      if (e.op == journal::ManifestEntry::Op::replace && !e.old_ino) ++g.created;
    }
    for (const auto& [path, ino] : journal::kept_names(*root_view, record)) {
      ++g.kept;
      const auto st = root_view->lstat(path);
      if (!st || st->id.ino != ino) {
        if (g.problem.empty()) g.problem = "the kept original " + path + " is gone";
        continue;
      }
      // A kept inode with another name (the target, unchanged since) costs nothing.
      if (st->nlink == 1) g.disk_cost += st->blocks ? st->blocks * 512 : st->id.size;
    }
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace bpatch

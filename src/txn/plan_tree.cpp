// Validation of the tree statements — symlink, mkdir, rmdir, chmod — which
// act on a name itself (a final symlink is never followed), and the check
// that every rmdir's directory is left empty by the transaction.
//
// How each is committed (docs/protocol.md §3):
//   symlink  a shadow symlink beside the target, renamed over it at replay
//   mkdir    a new directory is created while staging, mode 0700 — private
//            until the commit, removed by a rollback — and given its mode at
//            replay; an existing one only gets its mode
//   chmod    a directory's mode is set at replay; a file's is a shadow copy of
//            it with the new mode (an original is never changed in place,
//            and a file shared with another tree keeps its mode there)
//   rmdir    at replay, after every rename and unlink, deepest first
#include <set>
#include <string>

#include "base/paths.hpp"
#include "bpatch/error.hpp"
#include "journal/journal.hpp"
#include "txn/plan.hpp"
#include "txn/plan_limits.hpp"

namespace bpatch {
namespace {

using Action = PlannedChange::Action;

void plan_symlink(const TransactionOptions& options, const Change& change, PlannedChange& p) {
  p.action = Action::symlink;
  const auto* text = reinterpret_cast<const std::byte*>(change.link_target.data());
  p.post_hash = hash_bytes({text, change.link_target.size()});
  p.size = change.link_target.size();
  if (!p.target_stat) return;
  if (p.target_stat->type == FileType::directory)
    throw Error(Errc::not_regular, p.target,
                "is a directory: a symlink cannot replace it (rmdir it first)");
  check_replaceable(options, p.target, *p.target_stat, /*symlink_ok=*/true);
}

void plan_mkdir(const Change& change, PlannedChange& p) {
  p.action = Action::dir_mode;
  p.mode = *change.mode;
  if (!p.target_stat) {
    p.creates_dir = true;
    p.missing_dirs.push_back(p.target);
    return;
  }
  if (p.target_stat->type != FileType::directory)
    throw Error(Errc::not_regular, p.target, "exists and is not a directory");
  if (p.target_stat->mode == p.mode) {
    p.unchanged = true;
    p.note = "already up to date";
  }
}

void plan_chmod(FileSystem& fs, const TransactionOptions& options, const Change& change,
                PlannedChange& p) {
  p.mode = *change.mode;
  const FileStat& st = *p.target_stat;
  if (st.type == FileType::symlink)
    throw Error(Errc::not_regular, p.target, "is a symbolic link, which has no mode of its own");
  if (st.mode == p.mode) {
    p.unchanged = true;
    p.note = "already up to date";
    p.action = st.type == FileType::directory ? Action::dir_mode : Action::content;
    return;
  }
  if (st.type == FileType::directory) {
    p.action = Action::dir_mode;
    return;
  }
  check_replaceable(options, p.target, st);
  check_same_mount(fs, p.target, st);
  p.action = Action::content;
  p.source = p.target;
  p.source_stat = p.target_stat;
  p.edits.emplace(st.id.size);  // no ops: the same bytes, under the new mode
  p.expected_size = st.id.size;
}

}  // namespace

void plan_tree_statement(FileSystem& fs, const TransactionOptions& options, const Change& change,
                         PlannedChange& p) {
  using Kind = Change::Kind;
  // chmod needs its target; the others may find it already as wanted.
  const bool may_be_missing = change.kind != Kind::chmod;
  check_path_length(paths::join(options.root, change.target));
  auto resolved = paths::resolve_in_root(fs, options.root, change.target, may_be_missing,
                                         /*follow_final=*/false);
  const std::string journal = journal::dir_for(options.root, options.journal);
  if (resolved.path == journal || resolved.path.starts_with(journal + "/") ||
      journal.starts_with(resolved.path + "/"))
    throw Error(Errc::invalid_path, resolved.path, "is or holds the journal directory");
  p.target = resolved.path;
  p.target_stat = resolved.stat;
  p.missing_dirs = resolved.missing_dirs;
  check_path_length(p.target);
  if (p.target_stat && change.kind != Kind::chmod) check_same_mount(fs, p.target, *p.target_stat);
  switch (change.kind) {
    case Kind::symlink:
      if (p.target_stat && p.target_stat->type == FileType::symlink &&
          fs.read_link(p.target) == change.link_target) {
        p.action = Action::symlink;
        p.unchanged = true;
        p.note = "already up to date";
        return;
      }
      return plan_symlink(options, change, p);
    case Kind::mkdir:
      return plan_mkdir(change, p);
    case Kind::rmdir:
      p.action = Action::rmdir;
      p.missing_dirs.clear();
      if (!p.target_stat) {
        p.unchanged = true;
        p.note = "already gone";
      } else if (p.target_stat->type != FileType::directory) {
        throw Error(Errc::not_regular, p.target, "is not a directory");
      }
      return;
    case Kind::chmod:
      return plan_chmod(fs, options, change, p);
    default:
      throw Error(Errc::usage, p.target, "not a tree statement");
  }
}

void check_rmdirs_leave_empty(FileSystem& fs, const std::vector<PlannedChange>& plan) {
  std::set<std::string> going;  // names the transaction removes
  for (const auto& p : plan)
    if (!p.unchanged && (p.action == Action::remove || p.action == Action::rmdir))
      going.insert(p.target);
  for (const auto& p : plan)  // a move takes its source's name away too
    if (!p.unchanged && !p.stacked && p.remove_source) going.insert(p.source);
  for (const auto& dir : plan) {
    if (dir.unchanged || dir.action != Action::rmdir) continue;
    for (const auto& name : fs.list_dir(dir.target)) {
      const std::string path = paths::join(dir.target, name);
      if (!going.contains(path))
        throw Error(Errc::usage, dir.target,
                    "is not empty: " + name +
                        " stays in it (rmdir removes a directory the transaction leaves empty; "
                        "remove its entries first)");
    }
    for (const auto& p : plan) {
      if (p.unchanged || p.action == Action::remove || p.action == Action::rmdir) continue;
      if (p.target.starts_with(dir.target + "/"))
        throw Error(Errc::usage, dir.target,
                    "is removed, but this transaction also writes " + p.target + " inside it");
    }
  }
}

}  // namespace bpatch

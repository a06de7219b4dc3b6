#include "txn/plan.hpp"

#include <set>

#include "base/paths.hpp"
#include "bpatch/error.hpp"
#include "bpatch/format.hpp"
#include "journal/journal.hpp"
#include "txn/chain.hpp"
#include "txn/packed_patch.hpp"
#include "txn/plan_limits.hpp"
#include "txn/transfer.hpp"

namespace bpatch {
namespace {

std::string where(const Change& change) {
  return change.origin.empty() ? "" : change.origin + ": ";
}

// Re-throws an error with the change's origin ("script.bpatch:12: ") in front.
[[noreturn]] void rethrow_with_origin(const Change& change, const Error& e) {
  // Errors from an edit op already name their own line of the same script.
  const std::string script = change.origin.substr(0, change.origin.rfind(':') + 1);
  if (change.origin.empty() || e.message().starts_with(script)) throw e;
  throw Error(e.code(), e.path(), where(change) + e.message(), e.sys_errno());
}

void check_expectation(FileSystem& fs, const Change& change, const std::string& path,
                       PlannedChange& planned) {
  if (!change.expect) return;
  if (!planned.pre_hash) planned.pre_hash = hash_file(fs, path);
  if (*planned.pre_hash != *change.expect)
    throw Error(Errc::wrong_source, path,
                "expected content xxh3:" + change.expect->hex() +
                    " but the file hashes to xxh3:" + planned.pre_hash->hex());
}

}  // namespace

void check_replaceable(const TransactionOptions& options, const std::string& path,
                       const FileStat& st, bool symlink_ok) {
  if (st.type == FileType::symlink && symlink_ok) return;
  if (st.type != FileType::regular) throw Error(Errc::not_regular, path, "is not a regular file");
  if (st.nlink > 1 && !options.allow_hardlinks)
    throw Error(
        Errc::hard_linked, path,
        "has " + std::to_string(st.nlink) +
            " hard links; replacing it would split them (use --allow-hardlinks to do it anyway)");
}

namespace {

// result= (idempotent apply): a target that already has the new content (and
// mode) is left alone; one that has neither the old (expect=) nor the new
// content is refused here, before anything is written, naming both hashes.
// True when the change has nothing to do.
bool check_already_applied(FileSystem& fs, const Change& change, PlannedChange& p) {
  // (A chain's first change: the chain decides, txn/chain.hpp.)
  if (!change.result || !change.source.empty() || !change.from.empty() || !p.target_stat ||
      p.stacked)
    return false;
  p.pre_hash = hash_file(fs, p.target);
  const bool mode_ok = !change.mode || *change.mode == p.target_stat->mode;
  if (*p.pre_hash == *change.result && mode_ok) {
    p.unchanged = true;
    p.note = "already up to date";
    p.post_hash = p.pre_hash;
    return true;
  }
  if (change.expect && *p.pre_hash != *change.expect && *p.pre_hash != *change.result)
    throw Error(Errc::wrong_source, p.target,
                "is neither the old version (expect=xxh3:" + change.expect->hex() +
                    ") nor the new one (result=xxh3:" + change.result->hex() +
                    "): the file hashes to xxh3:" + p.pre_hash->hex());
  return false;
}

void check_patch_hash(FileSystem& fs, const Change& change) {
  if (!change.patch_hash) return;
  const Hash128 actual = hash_file(fs, change.patch);
  if (actual != *change.patch_hash)
    throw Error(Errc::checksum, change.patch,
                "the patch file hashes to xxh3:" + actual.hex() + " but patch= says xxh3:" +
                    change.patch_hash->hex() + " (it is damaged or not the one the script names)");
}

// A script's patch and file: paths are confined to its directory exactly as
// targets are to the root: resolved through the file system, symlinks
// followed only while they stay inside. (Only an absolute data_dir: a
// relative one is the embedder's own business.)
void check_data_paths(FileSystem& fs, const Change& change) {
  if (change.data_dir.empty() || change.data_dir[0] != '/') return;
  const std::string given = change.data_dir.back() == '/' ? change.data_dir : change.data_dir + "/";
  std::optional<std::string> dir;  // canonical, looked up on first use
  auto check = [&](const std::string& path) {
    if (path.empty()) return;
    if (!dir) dir = paths::canonical(fs, change.data_dir);
    if (!path.starts_with(given))
      throw Error(Errc::invalid_path, path, "is not inside the script's directory " + *dir);
    (void)paths::resolve_in_root(fs, *dir, std::string_view(path).substr(given.size()), false);
  };
  check(change.patch);
  check(change.content.file);
  for (const auto& op : change.edits) check(op.data.file);
}

void plan_one(FileSystem& fs, const TransactionOptions& options, const Change& change,
              PlannedChange& p) {
  using Kind = Change::Kind;
  if (change.kind == Kind::symlink || change.kind == Kind::mkdir || change.kind == Kind::rmdir ||
      change.kind == Kind::chmod)
    return plan_tree_statement(fs, options, change, p);
  check_data_paths(fs, change);
  // A delta with result= and no expect= makes a new file from an empty old
  // one when its target does not exist (as `bpatch diff` writes new files).
  const bool creating_delta = change.kind == Kind::delta &&
                              (change.result || change.expect_absent) && !change.expect &&
                              change.source.empty();
  // A remove with expect= of a file that is already gone has nothing to do.
  const bool idempotent_remove = change.kind == Kind::remove && change.expect;
  // A put may create its target, and so may `apply -o` (a delta or edit read
  // from another file).
  const bool may_create = change.kind == Kind::put || change.kind == Kind::move ||
                          change.kind == Kind::copy || !change.source.empty() || creating_delta;
  check_path_length(paths::join(options.root, change.target));  // as written, then as resolved
  // A remove removes the name it is given: a symlink itself, not its target.
  const bool is_remove = change.kind == Kind::remove;
  auto resolved = paths::resolve_in_root(fs, options.root, change.target,
                                         may_create || idempotent_remove, !is_remove);
  if (is_remove) p.action = PlannedChange::Action::remove;
  const std::string journal = journal::dir_for(options.root, options.journal);
  if (resolved.path == journal || resolved.path.starts_with(journal + "/"))
    throw Error(Errc::invalid_path, resolved.path, "is inside the journal directory");
  p.target = resolved.path;
  p.target_stat = resolved.stat;
  p.missing_dirs = resolved.missing_dirs;
  check_path_length(p.target);
  if (p.target_stat) check_replaceable(options, p.target, *p.target_stat, is_remove);
  // A symlink's content is its link text (as the symlink statement hashes
  // it): `remove LINK expect=xxh3:H` checks the text, and is "already up to
  // date" once the link is gone, as a file's remove is.
  if (p.target_stat && p.target_stat->type == FileType::symlink && change.expect) {
    const std::string text = fs.read_link(p.target);
    p.pre_hash = hash_bytes(std::as_bytes(std::span(text.data(), text.size())));
  }
  if (!p.target_stat && idempotent_remove) {
    p.unchanged = true;
    p.note = "already up to date";
    p.missing_dirs.clear();
    return;
  }
  if (p.target_stat) check_same_mount(fs, p.target, *p.target_stat);
  if (!p.target_stat && !may_create)
    throw Error(Errc::not_found, p.target, "does not exist", ENOENT);
  p.mode = change.mode.value_or(p.target_stat ? p.target_stat->mode : 0644);
  if (check_already_applied(fs, change, p)) return;
  if (change.expect_absent && p.target_stat)
    throw Error(Errc::wrong_source, p.target,
                "exists, but expect=none says it is a new file" +
                    (p.pre_hash && change.result
                         ? " (it hashes to xxh3:" + p.pre_hash->hex() +
                               ", not the new content result=xxh3:" + change.result->hex() + ")"
                         : std::string()) +
                    ": refusing to overwrite it");

  if (change.kind == Kind::edit || change.kind == Kind::delta) {
    if (change.source.empty()) {
      p.source = p.target;
      p.source_stat = p.target_stat;
    } else {
      p.source = change.source;
      p.source_stat = fs.lstat(p.source);
      if (!p.source_stat) throw Error(Errc::not_found, p.source, "does not exist", ENOENT);
      if (p.source_stat->type != FileType::regular)
        throw Error(Errc::not_regular, p.source, "is not a regular file");
      if (!change.mode) p.mode = p.source_stat->mode;
    }
    check_expectation(fs, change, p.source, p);
  } else if (change.kind == Kind::move || change.kind == Kind::copy) {
    if (plan_transfer_source(fs, options, change, p)) return;  // txn/transfer.hpp
  } else if (p.target_stat) {
    check_expectation(fs, change, p.target, p);
  } else if (change.expect) {
    throw Error(Errc::not_found, p.target, "expect= was given but the file does not exist", ENOENT);
  }

  switch (change.kind) {
    case Kind::edit: {
      p.edits.emplace(p.source_stat->id.size);
      for (const auto& op : change.edits) apply_edit_op(*p.edits, op, fs);
      p.expected_size = p.edits->size();
      break;
    }
    case Kind::delta: {
      check_patch_hash(fs, change);
      const auto patch = open_patch(fs, change);
      const PatchInfo info = inspect_patch(*patch);
      p.expected_size = info.target_size.value_or(0);
      const auto old = open_validated_source(fs, p);
      if (check_source(*patch, *old) == SourceCheck::already_applied) {
        p.unchanged = true;
        p.note = "already up to date";
      }
      break;
    }
    case Kind::put: {
      const auto content = open_data(change.content, fs);
      p.expected_size = content->size();
      break;
    }
    case Kind::remove:
    case Kind::move:
    case Kind::copy:
      break;
    default:  // the tree statements: plan_tree_statement
      break;
  }
}

}  // namespace

void check_change_inputs(FileSystem& fs, const Change& change) {
  check_data_paths(fs, change);
  check_patch_hash(fs, change);
}

void rethrow_for_change(const Change& change, const Error& e) { rethrow_with_origin(change, e); }

std::vector<PlannedChange> plan_changes(FileSystem& fs, const TransactionOptions& options,
                                        const std::vector<Change>& changes) {
  std::vector<PlannedChange> plan(changes.size());
  // Several changes to one target stack (txn/chain.hpp); what cannot stack
  // is refused here, naming the lines.
  const ChangeChains chains(options, changes);
  for (size_t i = 0; i < changes.size(); ++i) plan[i].change = &changes[i];  // chains look ahead
  const PlanSingle plan_single = [&](const Change& change, PlannedChange& p) {
    plan_one(fs, options, change, p);
  };
  std::set<std::string> targets;
  std::set<std::string> file_targets;  // everything but directories
  for (size_t i = 0; i < changes.size(); ++i) {
    const Change& change = changes[i];
    plan[i].change = &change;
    try {
      if (!plan_chain_member(fs, options, chains, plan, i, plan_single))
        plan_one(fs, options, change, plan[i]);
    } catch (const Error& e) {
      rethrow_with_origin(change, e);
    }
    // The same file through two names (a symbolic link inside the root):
    // stacked changes must name their target the same way.
    const bool twice = !plan[i].stacked && !targets.insert(plan[i].target).second;
    const bool carried = plan[i].stacked || plan[i].unchanged;
    if (twice || (!carried && plan[i].remove_source && !targets.insert(plan[i].source).second))
      throw Error(Errc::usage, twice ? plan[i].target : plan[i].source,
                  where(change) + "this file is changed twice in one transaction, under two names");
    const auto action = plan[i].action;
    if (action != PlannedChange::Action::dir_mode && action != PlannedChange::Action::rmdir)
      file_targets.insert(plan[i].target);
  }
  // A file target must not also be a directory another change creates.
  for (const auto& p : plan) {
    for (const auto& dir : p.missing_dirs)
      if (file_targets.contains(dir))
        throw Error(Errc::usage, dir, "is both a file target and a directory to create");
  }
  check_rmdirs_leave_empty(fs, plan);
  check_free_space(fs, plan);
  return plan;
}

std::shared_ptr<const Source> open_validated_source(FileSystem& fs, const PlannedChange& planned) {
  // A creating delta (see plan_one) decodes against an empty old file.
  if (!planned.source_stat && planned.source == planned.target)
    return std::make_shared<MemorySource>(std::vector<std::byte>{},
                                          planned.target + " (new file: empty source)");
  auto source = open_source(fs, planned.source);
  const FileStat now = source->file()->stat();
  if (planned.source_stat && now.id != planned.source_stat->id)
    throw Error(Errc::concurrent_change, planned.source,
                "the file changed while bpatch was working on it");
  return source;
}

void check_result(const PlannedChange& planned) {
  const Change& change = *planned.change;
  if (!change.result || !planned.post_hash || *planned.post_hash == *change.result) return;
  throw Error(Errc::checksum, planned.target,
              where(change) + "the new content hashes to xxh3:" + planned.post_hash->hex() +
                  " but result= says xxh3:" + change.result->hex() +
                  " (a damaged patch or data file, or one made for another file)");
}

void produce_content(FileSystem& fs, const PlannedChange& planned, Sink& out) {
  const Change& change = *planned.change;
  if (!planned.earlier.empty()) return produce_chain(fs, planned, out);  // txn/chain.hpp
  try {
    switch (change.kind) {
      case Change::Kind::edit:
        planned.edits->emit(*open_validated_source(fs, planned), out);
        break;
      case Change::Kind::delta:
        apply_patch(*open_patch(fs, change), *open_validated_source(fs, planned), out);
        break;
      case Change::Kind::put: {
        const auto content = open_data(change.content, fs);
        out.write_from(*content, 0, content->size());
        break;
      }
      case Change::Kind::move:  // (staged by a hard link unless it crosses file systems)
      case Change::Kind::copy: {
        const auto content = open_validated_source(fs, planned);
        out.write_from(*content, 0, content->size());
        break;
      }
      case Change::Kind::chmod:  // of a file: its content copied (File::clone_range where it can)
        planned.edits->emit(*open_validated_source(fs, planned), out);
        break;
      default:  // remove and the other tree statements write no content
        break;
    }
  } catch (const Error& e) {
    rethrow_with_origin(change, e);
  }
}

}  // namespace bpatch

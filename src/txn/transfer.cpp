// move and copy: validation of the source, staging a move as a hard link,
// and the manifest entry that removes a moved file's old name
// (txn/transfer.hpp says why each is as it is).
#include "txn/transfer.hpp"

#include <cerrno>

#include "base/paths.hpp"
#include "bpatch/error.hpp"
#include "journal/journal.hpp"
#include "txn/plan_limits.hpp"

namespace bpatch {
namespace {

// The existing directory the target's shadow is written into.
std::string shadow_dir(const PlannedChange& p) {
  return paths::dirname(p.missing_dirs.empty() ? p.target : p.missing_dirs.front());
}

}  // namespace

bool plan_transfer_source(FileSystem& fs, const TransactionOptions& options, const Change& change,
                          PlannedChange& p) {
  const bool move = change.kind == Change::Kind::move;
  const char* verb = move ? "move" : "copy";
  if (change.from.empty())
    throw Error(Errc::usage, p.target, std::string("a ") + verb + " needs the file to take");
  check_path_length(paths::join(options.root, change.from));
  // A move takes the name it is given: a final symbolic link is not followed
  // (it would be left dangling), and refused below.
  const auto resolved = paths::resolve_in_root(fs, options.root, change.from, true, !move);
  const std::string journal = journal::dir_for(options.root, options.journal);
  if (resolved.path == journal || resolved.path.starts_with(journal + "/"))
    throw Error(Errc::invalid_path, resolved.path, "is inside the journal directory");
  if (resolved.path == p.target)
    throw Error(Errc::usage, p.target,
                std::string("is both the source and the target of a ") + verb);
  if (!resolved.stat) {
    // Moved already (a second apply): the target holds what expect= names.
    if (move && change.expect && p.target_stat && p.target_stat->type == FileType::regular) {
      p.pre_hash = hash_file(fs, p.target);
      if (*p.pre_hash == *change.expect && (!change.mode || *change.mode == p.target_stat->mode)) {
        p.unchanged = true;
        p.note = "already up to date";
        p.post_hash = p.pre_hash;
        p.missing_dirs.clear();
        return true;
      }
    }
    throw Error(Errc::not_found, resolved.path,
                std::string("does not exist (the file to ") + verb + ")", ENOENT);
  }
  const FileStat& st = *resolved.stat;
  if (st.type == FileType::symlink)
    throw Error(Errc::not_regular, resolved.path,
                "is a symbolic link: move takes regular files only");
  if (st.type == FileType::directory)
    throw Error(
        Errc::not_regular, resolved.path,
        std::string("is a directory: ") + verb + " takes one regular file (not directories)");
  if (st.type != FileType::regular)
    throw Error(Errc::not_regular, resolved.path, "is not a regular file");
  check_path_length(resolved.path);
  // A bind-mounted file can be neither linked from nor unlinked.
  check_same_mount(fs, resolved.path, st);
  p.source = resolved.path;
  p.source_stat = st;
  if (!change.mode) p.mode = st.mode;
  p.expected_size = st.id.size;
  if (change.expect) {
    p.pre_hash = hash_file(fs, p.source);
    if (*p.pre_hash != *change.expect)
      throw Error(Errc::wrong_source, p.source,
                  "expected content xxh3:" + change.expect->hex() +
                      " but the file hashes to xxh3:" + p.pre_hash->hex());
  }
  if (move) {
    p.remove_source = true;
    // A link keeps the inode — data, mode, owner, attributes — so it needs
    // both names on one file system and no new mode.
    const auto dir = fs.lstat(shadow_dir(p));
    p.link = dir && dir->id.dev == st.id.dev && p.mode == st.mode;
    p.note = "moved from " + p.source;
  }
  return false;
}

bool stage_by_link(Durability& sync, PlannedChange& p) {
  if (!p.link) return false;
  FileSystem& fs = sync.fs();
  try {
    fs.hard_link(p.source, p.shadow);
  } catch (const Error& e) {
    const int err = e.sys_errno();
    if (e.code() == Errc::unsupported || err == EXDEV || err == EPERM || err == EMLINK ||
        err == EOPNOTSUPP)
      return false;  // copy instead
    throw;
  }
  // The inode is the source's; its data may never have been synced by
  // whoever wrote it. The manifest will point at it, so it must be durable
  // first, as every shadow's (cheap when it is clean).
  const auto file = fs.open(p.shadow, OpenMode::read);
  const FileStat st = file->stat();
  if (!p.source_stat || st.id.ino != p.source_stat->id.ino || st.id.size != p.source_stat->id.size)
    throw Error(Errc::concurrent_change, p.source,
                "the file changed while bpatch was working on it");
  sync.sync_file(*file, "shadow.file");
  p.shadow_ino = st.id.ino;
  p.size = st.id.size;
  p.post_hash = p.pre_hash;  // the same bytes
  return true;
}

std::optional<journal::ManifestEntry> source_removal(const PlannedChange& p) {
  if (!p.remove_source || !p.source_stat) return std::nullopt;
  journal::ManifestEntry e;
  e.op = journal::ManifestEntry::Op::remove;
  e.target = p.source;
  e.ino = p.source_stat->id.ino;
  e.size = p.source_stat->id.size;
  if (p.change->kind == Change::Kind::move) e.pre_hash = p.pre_hash;
  return e;
}

}  // namespace bpatch

// Mirroring and deleting release trees (release_tree.hpp).
#include "release/release_tree.hpp"

#include <algorithm>

#include "base/paths.hpp"
#include "bpatch/error.hpp"

namespace bpatch::release {
namespace {

std::string under(const std::string& top, const std::string& relative) {
  return relative.empty() ? top : paths::join(top, relative);
}

// Every entry beneath dir, parents first; `keep` decides on each one.
template <typename Visit>
void walk(FileSystem& fs, const std::string& dir, Visit&& visit) {
  std::vector<std::string> pending = {""};
  while (!pending.empty()) {
    const std::string rel = pending.back();
    pending.pop_back();
    auto names = fs.list_dir(under(dir, rel));
    std::sort(names.begin(), names.end());  // the same order every run
    for (const auto& name : names) {
      const std::string child = rel.empty() ? name : rel + "/" + name;
      const auto st = fs.lstat(under(dir, child));
      if (!st) continue;  // gone meanwhile
      if (!visit(child, *st)) continue;
      if (st->type == FileType::directory) pending.push_back(child);
    }
  }
}

// A reflink copy of `from` at `to`, with the same mode, owner and extended
// attributes; false (and nothing left at `to`) when the file system cannot.
bool reflink_copy(Durability& sync, const std::string& from, const std::string& to,
                  const FileStat& st, bool batched) {
  FileSystem& fs = sync.fs();
  auto src = fs.open(from, OpenMode::read);
  auto dst = fs.open(to, OpenMode::create_exclusive);
  bool ok = st.id.size == 0 || dst->clone_range(*src, 0, 0, st.id.size);
  if (ok) {
    try {
      for (const auto& name : src->list_xattrs()) dst->set_xattr(name, src->get_xattr(name));
    } catch (const Error&) {
      ok = false;  // an attribute we may not set: a hard link keeps them all
    }
  }
  if (!ok) {
    dst.reset();
    fs.unlink(to);
    return false;
  }
  // The owner first: fchown clears the set-id bits the mode then restores.
  dst->set_owner(st.uid, st.gid);
  dst->set_mode(st.mode);
  // The copy's data and attributes are new writes (a hard link has none):
  // they must be durable before LINK can name the release that holds them.
  // (Batched: one syncfs after the last copy, in mirror_tree.)
  if (!batched) sync.sync_file(*dst, "atomic.mirror.file");
  return true;
}

}  // namespace

std::vector<TreeEntry> list_tree(FileSystem& fs, const std::string& dir) {
  const auto top = fs.lstat(dir);
  if (!top || top->type != FileType::directory)
    throw Error(Errc::not_regular, dir, "the current release is not a directory");
  std::vector<TreeEntry> out = {{"", *top}};
  walk(fs, dir, [&](const std::string& rel, const FileStat& st) {
    if (rel == ".bpatch") return false;  // a release's own journal is not release content
    if (st.type == FileType::other)
      throw Error(Errc::not_regular, under(dir, rel),
                  "a device, FIFO or socket cannot be shared into a new release");
    out.push_back({rel, st});
    return true;
  });
  // Parents first, as walk() visits them; keep that order stable.
  return out;
}

MirrorCounts mirror_tree(Durability& sync, const std::string& from, const std::string& to,
                         const std::vector<TreeEntry>& entries) {
  FileSystem& fs = sync.fs();
  MirrorCounts counts;
  // Directories are made 0700 first and get their modes last, deepest
  // first: a read-only directory could not receive its entries.
  std::vector<const TreeEntry*> dirs;
  enum class Sharing { unknown, reflink, hard_link } sharing = Sharing::unknown;
  // Many copies: one syncfs instead of an fsync each, through a handle
  // taken before the first copy so that it reports every write-back error.
  const auto files = std::count_if(entries.begin(), entries.end(), [](const TreeEntry& e) {
    return e.stat.type == FileType::regular && e.stat.id.size > 0;
  });
  const auto watch = static_cast<size_t>(files) >= kMirrorBatchMinFiles
                         ? fs.watch_file_system(paths::dirname(to))
                         : nullptr;
  for (const auto& e : entries) {
    const std::string src = under(from, e.relative), dst = under(to, e.relative);
    switch (e.stat.type) {
      case FileType::directory:
        fs.make_dir(dst, 0700);
        dirs.push_back(&e);
        break;
      case FileType::symlink:
        fs.make_symlink(fs.read_link(src), dst);
        break;
      case FileType::regular:
        // The first file that has data tells whether this file system has
        // reflinks; without them every file is hard-linked.
        if (sharing != Sharing::hard_link && (sharing == Sharing::reflink || e.stat.id.size > 0)) {
          const bool cloned = reflink_copy(sync, src, dst, e.stat, watch != nullptr);
          if (sharing == Sharing::unknown) sharing = cloned ? Sharing::reflink : Sharing::hard_link;
          if (cloned) {
            ++counts.reflinked;
            break;
          }
        }
        fs.hard_link(src, dst);
        ++counts.hard_linked;
        break;
      case FileType::other:
        throw Error(Errc::not_regular, src, "cannot be shared into a new release");
    }
  }
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it)
    fs.set_mode(under(to, (*it)->relative), (*it)->stat.mode);
  // The copies' data, as "atomic.mirror.file" above, for all of them at once.
  if (watch && counts.reflinked > 0) sync.sync_file_system(*watch, "atomic.mirror.batch");
  return counts;
}

void sync_tree_dirs(Durability& sync, const std::string& dir, std::string_view site) {
  std::vector<std::string> dirs = {dir};
  walk(sync.fs(), dir, [&](const std::string& rel, const FileStat& st) {
    if (st.type == FileType::directory) dirs.push_back(paths::join(dir, rel));
    return true;
  });
  for (const auto& d : dirs) sync.sync_dir(d, site);
}

bool delete_tree(FileSystem& fs, const std::string& dir) {
  const auto top = fs.lstat(dir);
  if (!top) return false;
  if (top->type != FileType::directory)
    throw Error(Errc::journal, dir, "is not a directory; it was not deleted");
  // A read-only directory of the release must become writable (ours) for
  // its entries to go.
  auto writable = [&](const std::string& path, const FileStat& st) {
    if ((st.mode & 0700) != 0700) fs.set_mode(path, 0700);
  };
  writable(dir, *top);
  std::vector<std::string> dirs = {dir};
  walk(fs, dir, [&](const std::string& rel, const FileStat& st) {
    const std::string path = paths::join(dir, rel);
    if (st.type == FileType::directory) {
      writable(path, st);
      dirs.push_back(path);
      return true;
    }
    fs.unlink(path);  // a symlink itself, never what it names
    return false;
  });
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) fs.remove_dir(*it);
  return true;
}

}  // namespace bpatch::release

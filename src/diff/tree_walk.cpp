// walk_tree() and whole-file reads and writes: see tree_walk.hpp.
#include "diff/tree_walk.hpp"

#include <algorithm>

#include "bpatch/error.hpp"

namespace bpatch::diff {
namespace {

void walk(FileSystem& fs, const std::string& root, const std::string& rel, Tree& tree) {
  const std::string dir = rel.empty() ? root : root + "/" + rel;
  auto names = fs.list_dir(dir);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    const std::string child_rel = rel.empty() ? name : rel + "/" + name;
    const std::string path = root + "/" + child_rel;
    const auto st = fs.lstat(path);
    if (!st) continue;  // vanished while we walked
    TreeEntry e;
    e.type = st->type;
    e.mode = st->mode;
    e.size = st->id.size;
    switch (st->type) {
      case FileType::regular:
        break;
      case FileType::symlink:
        e.link_target = fs.read_link(path);
        break;
      case FileType::directory:
        break;
      case FileType::other:
        throw Error(Errc::not_regular, path,
                    "is a device, fifo or socket; bpatch diff handles files, symlinks and "
                    "directories");
    }
    tree.emplace(child_rel, e);
    if (st->type == FileType::directory) walk(fs, root, child_rel, tree);
  }
}

}  // namespace

Tree walk_tree(FileSystem& fs, const std::string& root) {
  const auto st = fs.lstat(root);
  if (!st) throw Error(Errc::not_found, root, "does not exist", ENOENT);
  if (st->type != FileType::directory) throw Error(Errc::not_regular, root, "is not a directory");
  Tree tree;
  walk(fs, root, "", tree);
  return tree;
}

std::vector<std::byte> read_whole_file(FileSystem& fs, const std::string& path) {
  auto file = fs.open(path, OpenMode::read);
  const uint64_t size = file->stat().id.size;
  std::vector<std::byte> data(static_cast<size_t>(size));
  const size_t n = file->read_at(0, data);
  if (n != data.size())
    throw Error(Errc::concurrent_change, path, "the file shrank while bpatch read it");
  return data;
}

void write_new_file(FileSystem& fs, const std::string& path, std::span<const std::byte> data) {
  auto file = fs.open(path, OpenMode::create_exclusive);
  file->set_mode(0644);
  if (!data.empty()) file->write_at(0, data);
}

}  // namespace bpatch::diff

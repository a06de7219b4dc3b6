// Checks on simulated file system states; see crash_checks.hpp.
#include "testing/crash_checks.hpp"

#include <xxhash.h>

#include <set>

#include "base/durability.hpp"
#include "journal/journal.hpp"
#include "journal/replay.hpp"

namespace bpatch::testing {
namespace {

void hash_dir(const MemoryState& st, uint64_t dir, const std::string& prefix, XXH3_state_t* h) {
  for (const auto& [name, child] : st.inode(dir).entries) {
    const Inode& node = st.inode(child);
    const std::string path = prefix + "/" + name;
    XXH3_128bits_update(h, path.data(), path.size() + 1);
    const uint64_t meta[] = {node.ino,        static_cast<uint64_t>(node.type),
                             node.mode,       node.uid,
                             node.gid,        node.nlink,
                             node.data.size()};
    XXH3_128bits_update(h, meta, sizeof meta);
    XXH3_128bits_update(h, node.data.data(), node.data.size());
    XXH3_128bits_update(h, node.link_target.data(), node.link_target.size());
    if (node.type == FileType::directory) hash_dir(st, child, path, h);
  }
}

std::string basename_of(const std::string& path) { return path.substr(path.rfind('/') + 1); }

bool is_shadow_name(const std::string& name) {
  return name.size() > 1 && name[0] == '.' && name.find(".bpatch-") != std::string::npos;
}

}  // namespace

// Only the tree under root: the rest (patches, blobs) is only read.
StateKey hash_state(const MemoryFileSystem& fs, const std::string& root) {
  XXH3_state_t* h = XXH3_createState();
  XXH3_128bits_reset(h);
  fs.with_state([&](const MemoryState& st) {
    const uint64_t ino = st.lookup(root, false).ino;
    if (ino) hash_dir(st, ino, root, h);
  });
  const XXH128_hash_t d = XXH3_128bits_digest(h);
  XXH3_freeState(h);
  return {d.low64, d.high64};
}

std::string shorten(const std::string& s, size_t limit) {
  return s.size() <= limit ? s : s.substr(0, limit) + "…";
}

std::string describe_mismatch(const Snapshot& tree, const std::vector<Snapshot>& allowed,
                              const std::vector<std::string>& names) {
  std::set<std::string> paths;
  for (const auto* t : {&tree, &allowed[0], &allowed[1]})
    for (const auto& [path, node] : *t) paths.insert(path);
  auto state_in = [](const Snapshot& t, const std::string& path) -> const Node* {
    auto it = t.find(path);
    return it == t.end() ? nullptr : &it->second;
  };
  std::string out;
  for (const auto& path : paths) {
    const Node* now = state_in(tree, path);
    const Node* a = state_in(allowed[0], path);
    const Node* b = state_in(allowed[1], path);
    auto same = [](const Node* x, const Node* y) { return (!x && !y) || (x && y && *x == *y); };
    if (same(a, b) && same(now, a)) continue;
    out += " " + path + "=";
    if (same(now, a) && same(now, b))
      out += "both";
    else if (same(now, a))
      out += names[0];
    else if (same(now, b))
      out += names[1];
    else
      out += now ? "neither(" + std::to_string(now->content.size()) + " bytes)" : "neither(absent)";
  }
  return out;
}

// The whole state of a crash point — current, durable and pending — so that

// two points whose crash images would be the same are recognised.

StateKey hash_point(const MemoryFileSystem& fs) {
  XXH3_state_t* h = XXH3_createState();
  XXH3_128bits_reset(h);
  auto add = [&](const void* p, size_t n) { XXH3_128bits_update(h, p, n); };
  auto add_entries = [&](const std::map<std::string, uint64_t>& entries) {
    for (const auto& [name, ino] : entries) {
      add(name.data(), name.size() + 1);
      add(&ino, sizeof ino);
    }
    add("|", 1);
  };
  fs.with_state([&](const MemoryState& st) {
    for (const auto& [ino, node] : st.inodes()) {
      const uint64_t meta[] = {ino,
                               static_cast<uint64_t>(node.type),
                               node.mode,
                               node.uid,
                               node.gid,
                               node.durable_mode,
                               node.durable_uid,
                               node.durable_gid,
                               node.nlink,
                               node.data.size(),
                               node.durable_data.size()};
      add(meta, sizeof meta);
      add(node.data.data(), node.data.size());
      add(node.durable_data.data(), node.durable_data.size());
      add(node.link_target.data(), node.link_target.size() + 1);
      add_entries(node.entries);
      add_entries(node.durable_entries);
    }
    for (const auto& op : st.pending()) {
      const uint64_t meta[] = {static_cast<uint64_t>(op.kind),
                               op.ino,
                               op.child,
                               op.rename_id,
                               op.offset,
                               op.size,
                               op.mode,
                               op.uid,
                               op.gid,
                               op.data ? op.data->size() : 0};
      add(meta, sizeof meta);
      add(op.name.data(), op.name.size() + 1);
      if (op.data) add(op.data->data(), op.data->size());
    }
  });
  const XXH128_hash_t d = XXH3_128bits_digest(h);
  XXH3_freeState(h);
  return {d.low64, d.high64};
}

TransactionOptions explorer_tx_options(const std::string& root) {
  TransactionOptions o;
  o.root = root;
  o.threads = 1;
  return o;
}

void recover_with(FileSystem& fs, const std::string& journal_dir,
                  const std::function<bool(std::string_view)>& skip_sync) {
  journal::recover_with_hook(fs, journal_dir, 0, skip_sync);
}

std::vector<std::string> find_shadows(MemoryFileSystem& fs, const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& [path, node] : fs.snapshot(dir))
    if ((node.type == FileType::regular || node.type == FileType::symlink) &&
        is_shadow_name(basename_of(path)))
      out.push_back(path);
  return out;
}

std::vector<std::string> find_records(MemoryFileSystem& fs, const std::string& journal_dir) {
  std::vector<std::string> out;
  if (!fs.lstat(journal_dir)) return out;
  for (const auto& name : fs.list_dir(journal_dir))
    if (name != "LOCK") out.push_back(journal_dir + "/" + name);
  return out;
}

Snapshot tree_without_journal(const MemoryFileSystem& fs, const std::string& root) {
  Snapshot tree = fs.snapshot(root);
  const std::string journal = root + "/.bpatch";
  for (auto it = tree.begin(); it != tree.end();) {
    if (it->first == journal || it->first.starts_with(journal + "/"))
      it = tree.erase(it);
    else
      ++it;
  }
  return tree;
}

}  // namespace bpatch::testing

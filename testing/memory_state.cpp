// MemoryState: path walking, current-state mutations with their pending
// records, and how pending records become durable.
#include "testing/memory_state.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <stdexcept>

namespace bpatch::testing {
namespace {

constexpr size_t kMaxPath = 4095;
constexpr size_t kMaxName = 255;
constexpr int kMaxSymlinks = 40;  // Linux MAXSYMLINKS

std::deque<std::string> split(const std::string& path) {
  std::deque<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    const size_t j = path.find('/', i);
    const size_t end = j == std::string::npos ? path.size() : j;
    if (end > i) parts.push_back(path.substr(i, end - i));
    i = end + 1;
  }
  return parts;
}

void write_bytes(Bytes& data, uint64_t offset, const Bytes& bytes) {
  if (offset + bytes.size() > data.size()) data.resize(offset + bytes.size());
  std::copy(bytes.begin(), bytes.end(), data.begin() + static_cast<std::ptrdiff_t>(offset));
}

}  // namespace

const char* pending_kind_name(PendingOp::Kind kind) {
  switch (kind) {
    case PendingOp::Kind::write:
      return "write";
    case PendingOp::Kind::truncate:
      return "truncate";
    case PendingOp::Kind::chmod:
      return "chmod";
    case PendingOp::Kind::chown:
      return "chown";
    case PendingOp::Kind::link:
      return "link";
    case PendingOp::Kind::unlink:
      return "unlink";
  }
  return "?";
}

void apply_durably(Inode& node, const PendingOp& op) {
  switch (op.kind) {
    case PendingOp::Kind::write:
      write_bytes(node.durable_data, op.offset, *op.data);
      break;
    case PendingOp::Kind::truncate:
      node.durable_data.resize(op.size);
      break;
    case PendingOp::Kind::chmod:
      node.durable_mode = op.mode;
      break;
    case PendingOp::Kind::chown:
      node.durable_uid = op.uid;
      node.durable_gid = op.gid;
      break;
    case PendingOp::Kind::link:
      node.durable_entries[op.name] = op.child;
      break;
    case PendingOp::Kind::unlink:
      node.durable_entries.erase(op.name);
      break;
  }
}

MemoryState::MemoryState() {
  Inode root;
  root.ino = root_ino;
  root.type = FileType::directory;
  root.mode = root.durable_mode = 0755;
  root.nlink = 2;
  root.parent = root_ino;
  root.mtime_ns = clock_;
  inodes_.emplace(root_ino, std::move(root));
}

Inode& MemoryState::inode(uint64_t ino) {
  auto it = inodes_.find(ino);
  if (it == inodes_.end()) throw std::logic_error("MemoryState: no inode " + std::to_string(ino));
  return it->second;
}

const Inode& MemoryState::inode(uint64_t ino) const {
  return const_cast<MemoryState*>(this)->inode(ino);
}

Lookup MemoryState::lookup(const std::string& path, bool follow_final) const {
  if (path.empty()) throw Errno{ENOENT};
  if (path.size() > kMaxPath) throw Errno{ENAMETOOLONG};
  std::deque<std::string> parts = split(path);
  bool trailing = path.size() > 1 && path.back() == '/';
  uint64_t dir = root_ino;
  int links = 0;
  while (!parts.empty()) {
    const std::string name = std::move(parts.front());
    parts.pop_front();
    const bool last = parts.empty();
    if (name.size() > kMaxName) throw Errno{ENAMETOOLONG};
    const Inode& node = inode(dir);
    if (name == "." || name == "..") {
      if (name == "..") dir = node.parent;
      if (last) return Lookup{dir, "", dir, trailing};
      continue;
    }
    auto it = node.entries.find(name);
    if (it == node.entries.end()) {
      if (last) return Lookup{dir, name, 0, trailing};
      throw Errno{ENOENT};
    }
    const Inode& child = inode(it->second);
    if (child.type == FileType::symlink && (!last || follow_final || trailing)) {
      if (++links > kMaxSymlinks) throw Errno{ELOOP};
      if (child.link_target.empty()) throw Errno{ENOENT};
      if (child.link_target.front() == '/') dir = root_ino;
      std::deque<std::string> target = split(child.link_target);
      if (last && child.link_target.back() == '/') trailing = true;
      parts.insert(parts.begin(), target.begin(), target.end());
      if (parts.empty()) return Lookup{dir, "", dir, trailing};  // the link points at "/"
      continue;
    }
    if (last) {
      if (trailing && child.type != FileType::directory) throw Errno{ENOTDIR};
      return Lookup{dir, name, child.ino, trailing};
    }
    if (child.type != FileType::directory) throw Errno{ENOTDIR};
    dir = child.ino;
  }
  return Lookup{dir, "", dir, false};  // "/" itself
}

uint64_t MemoryState::create(uint64_t dir, const std::string& name, FileType type, uint32_t mode,
                             const std::string& link_target) {
  Inode node;
  node.ino = next_ino_++;
  node.type = type;
  node.mode = node.durable_mode = mode & 07777;
  node.link_target = link_target;
  if (type == FileType::directory) {
    node.nlink = 2;
    node.parent = dir;
  }
  touch(node);
  const uint64_t ino = node.ino;
  inodes_.emplace(ino, std::move(node));
  link_entry(dir, name, ino, 0);
  return ino;
}

void MemoryState::link_entry(uint64_t dir, const std::string& name, uint64_t child,
                             uint64_t rename_id) {
  Inode& d = inode(dir);
  auto it = d.entries.find(name);
  if (it != d.entries.end()) {  // replaced by rename
    Inode& old = inode(it->second);
    if (old.type == FileType::directory) {
      old.nlink = 0;
      --d.nlink;
    } else {
      --old.nlink;
    }
  }
  d.entries[name] = child;
  Inode& c = inode(child);
  if (c.type == FileType::directory) {
    ++d.nlink;
    c.parent = dir;
  } else {
    ++c.nlink;
  }
  touch(d);
  PendingOp op;
  op.seq = next_seq_++;
  op.kind = PendingOp::Kind::link;
  op.ino = dir;
  op.name = name;
  op.child = child;
  op.rename_id = rename_id;
  pending_.push_back(std::move(op));
}

void MemoryState::unlink_entry(uint64_t dir, const std::string& name, uint64_t rename_id) {
  Inode& d = inode(dir);
  auto it = d.entries.find(name);
  if (it == d.entries.end())
    throw std::logic_error("MemoryState: unlink of a missing entry " + name);
  const uint64_t child = it->second;
  Inode& c = inode(child);
  d.entries.erase(it);
  if (c.type == FileType::directory) {
    --d.nlink;
    if (rename_id == 0) c.nlink = 0;  // rmdir
  } else {
    --c.nlink;
  }
  touch(d);
  PendingOp op;
  op.seq = next_seq_++;
  op.kind = PendingOp::Kind::unlink;
  op.ino = dir;
  op.name = name;
  op.child = child;
  op.rename_id = rename_id;
  pending_.push_back(std::move(op));
}

void MemoryState::rename(uint64_t from_dir, const std::string& from_name, uint64_t to_dir,
                         const std::string& to_name) {
  const uint64_t child = inode(from_dir).entries.at(from_name);
  const uint64_t id = next_rename_id_++;
  // The new name first, then the old one goes: a file system that writes
  // the two halves separately orders them so the file is never nameless.
  link_entry(to_dir, to_name, child, id);
  unlink_entry(from_dir, from_name, id);
}

void MemoryState::remove(uint64_t dir, const std::string& name) { unlink_entry(dir, name, 0); }

void MemoryState::write(uint64_t ino, uint64_t offset, std::shared_ptr<const Bytes> data) {
  Inode& node = inode(ino);
  write_bytes(node.data, offset, *data);
  touch(node);
  PendingOp op;
  op.seq = next_seq_++;
  op.kind = PendingOp::Kind::write;
  op.ino = ino;
  op.offset = offset;
  op.data = std::move(data);
  pending_.push_back(std::move(op));
}

void MemoryState::truncate(uint64_t ino, uint64_t size) {
  Inode& node = inode(ino);
  node.data.resize(size);
  touch(node);
  PendingOp op;
  op.seq = next_seq_++;
  op.kind = PendingOp::Kind::truncate;
  op.ino = ino;
  op.size = size;
  pending_.push_back(std::move(op));
}

void MemoryState::chmod(uint64_t ino, uint32_t mode) {
  inode(ino).mode = mode & 07777;
  PendingOp op;
  op.seq = next_seq_++;
  op.kind = PendingOp::Kind::chmod;
  op.ino = ino;
  op.mode = mode & 07777;
  pending_.push_back(std::move(op));
}

void MemoryState::chown(uint64_t ino, uint32_t uid, uint32_t gid) {
  Inode& node = inode(ino);
  node.uid = uid;
  node.gid = gid;
  PendingOp op;
  op.seq = next_seq_++;
  op.kind = PendingOp::Kind::chown;
  op.ino = ino;
  op.uid = uid;
  op.gid = gid;
  pending_.push_back(std::move(op));
}

void MemoryState::sync_inode(uint64_t ino) {
  Inode& node = inode(ino);
  node.durable_data = node.data;
  node.durable_mode = node.mode;
  node.durable_uid = node.uid;
  node.durable_gid = node.gid;
  std::erase_if(pending_, [&](const PendingOp& op) { return op.ino == ino && !op.is_entry_op(); });
}

void MemoryState::promote(size_t index) {
  const PendingOp op = pending_[index];
  // Earlier changes to the same entry reach the disk first.
  for (;;) {
    auto earlier = std::find_if(pending_.begin(), pending_.end(), [&](const PendingOp& p) {
      return p.is_entry_op() && p.seq < op.seq && p.ino == op.ino && p.name == op.name;
    });
    if (earlier == pending_.end()) break;
    promote(static_cast<size_t>(earlier - pending_.begin()));
  }
  auto self = std::find_if(pending_.begin(), pending_.end(),
                           [&](const PendingOp& p) { return p.seq == op.seq; });
  if (self == pending_.end()) return;  // promoted as a rename partner meanwhile
  apply_durably(inode(op.ino), op);
  pending_.erase(self);
  if (op.rename_id != 0) {  // a rename is durable as a whole
    auto partner = std::find_if(pending_.begin(), pending_.end(),
                                [&](const PendingOp& p) { return p.rename_id == op.rename_id; });
    if (partner != pending_.end()) promote(static_cast<size_t>(partner - pending_.begin()));
  }
}

void MemoryState::sync_dir(uint64_t dir) {
  for (;;) {
    auto it = std::find_if(pending_.begin(), pending_.end(),
                           [&](const PendingOp& p) { return p.is_entry_op() && p.ino == dir; });
    if (it == pending_.end()) break;
    promote(static_cast<size_t>(it - pending_.begin()));
  }
  sync_inode(dir);  // fsync(2) of a directory writes its inode too (a chmod)
}

void MemoryState::sync_all() {
  for (auto& [ino, node] : inodes_) {
    node.durable_data = node.data;
    node.durable_mode = node.mode;
    node.durable_uid = node.uid;
    node.durable_gid = node.gid;
    node.durable_entries = node.entries;
  }
  pending_.clear();
}

void MemoryState::drop_unsynced(uint64_t ino) {
  Inode& node = inode(ino);
  node.data = node.durable_data;
  std::erase_if(pending_, [&](const PendingOp& op) {
    return op.ino == ino &&
           (op.kind == PendingOp::Kind::write || op.kind == PendingOp::Kind::truncate);
  });
}

MemoryState MemoryState::crash_image(const std::vector<PendingOp>& ops) const {
  MemoryState out;
  out.inodes_.clear();
  out.next_ino_ = next_ino_;
  out.clock_ = clock_;
  for (const auto& [ino, node] : inodes_) {
    Inode copy;
    copy.ino = ino;
    copy.type = node.type;
    copy.durable_mode = node.durable_mode;
    copy.durable_uid = node.durable_uid;
    copy.durable_gid = node.durable_gid;
    copy.durable_data = node.durable_data;
    copy.durable_entries = node.durable_entries;
    copy.link_target = node.link_target;
    copy.mtime_ns = node.mtime_ns;
    out.inodes_.emplace(ino, std::move(copy));
  }
  for (const PendingOp& op : ops) apply_durably(out.inode(op.ino), op);

  // Keep what the root reaches; a directory reached twice (a half-done
  // directory rename) keeps only its first name.
  std::map<uint64_t, Inode> kept;
  std::deque<uint64_t> todo{root_ino};
  Inode root = std::move(out.inode(root_ino));
  root.parent = root_ino;
  kept.emplace(root_ino, std::move(root));
  while (!todo.empty()) {
    const uint64_t dir = todo.front();
    todo.pop_front();
    Inode& d = kept.at(dir);
    for (auto it = d.durable_entries.begin(); it != d.durable_entries.end();) {
      const uint64_t child = it->second;
      auto seen = kept.find(child);
      if (seen != kept.end()) {
        if (seen->second.type == FileType::directory) {
          it = d.durable_entries.erase(it);
          continue;
        }
        ++seen->second.nlink;
      } else {
        Inode c = std::move(out.inode(child));
        c.nlink = 1;
        if (c.type == FileType::directory) {
          c.parent = dir;
          todo.push_back(child);
        }
        kept.emplace(child, std::move(c));
      }
      ++it;
    }
  }
  for (auto& [ino, node] : kept) {
    node.data = node.durable_data;
    node.mode = node.durable_mode;
    node.uid = node.durable_uid;
    node.gid = node.durable_gid;
    node.entries = node.durable_entries;
    if (node.type == FileType::directory) node.nlink = 2;
  }
  for (auto& [ino, node] : kept)  // directories: 2 + subdirectories
    for (const auto& [name, child] : node.entries)
      if (kept.at(child).type == FileType::directory) ++node.nlink;
  out.inodes_ = std::move(kept);
  return out;
}

void MemoryState::check_invariants() const {
  std::map<uint64_t, Inode> replay;
  for (const auto& [ino, node] : inodes_) replay[ino] = node;
  for (const PendingOp& op : pending_) apply_durably(replay.at(op.ino), op);
  std::map<uint64_t, uint64_t> links;
  for (const auto& [ino, node] : inodes_) {
    const Inode& r = replay.at(ino);
    const std::string where = "inode " + std::to_string(ino) + ": ";
    if (r.durable_data != node.data)
      throw std::logic_error(where + "durable+pending data != current");
    if (r.durable_mode != node.mode || r.durable_uid != node.uid || r.durable_gid != node.gid)
      throw std::logic_error(where + "durable+pending metadata != current");
    if (r.durable_entries != node.entries)
      throw std::logic_error(where + "durable+pending entries != current");
    for (const auto& [name, child] : node.entries) {
      const Inode& c = inode(child);
      if (c.type == FileType::directory) {
        ++links[ino];
        if (c.parent != ino) throw std::logic_error(where + "wrong parent of " + name);
      } else {
        ++links[child];
      }
    }
  }
  for (const auto& [ino, node] : inodes_) {
    uint64_t want = links[ino];
    if (node.type == FileType::directory) want = node.nlink == 0 ? 0 : 2 + links[ino];
    if (node.nlink != want)
      throw std::logic_error("inode " + std::to_string(ino) + ": nlink " +
                             std::to_string(node.nlink) + ", expected " + std::to_string(want));
  }
}

}  // namespace bpatch::testing

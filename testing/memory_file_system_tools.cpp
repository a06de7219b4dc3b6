// MemoryFileSystem: what tests use beyond the FileSystem interface — setup
// helpers, snapshots, the trace, its replay, the crash point and the hook.
#include <cerrno>
#include <sstream>
#include <stdexcept>

#include "testing/memory_core.hpp"

namespace bpatch::testing {
namespace {

const char* type_name(FileType type) {
  switch (type) {
    case FileType::regular:
      return "file";
    case FileType::directory:
      return "dir";
    case FileType::symlink:
      return "symlink";
    case FileType::other:
      return "other";
  }
  return "?";
}

std::string printable(const std::string& s, size_t limit = 48) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < limit; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (s.size() > limit) out += "...(" + std::to_string(s.size()) + " bytes)";
  return out;
}

void walk(const MemoryState& st, uint64_t dir, const std::string& prefix, Snapshot& out) {
  for (const auto& [name, child] : st.inode(dir).entries) {
    const Inode& node = st.inode(child);
    const std::string path = prefix == "/" ? "/" + name : prefix + "/" + name;
    Node entry;
    entry.type = node.type;
    entry.mode = node.mode;
    if (node.type == FileType::regular)
      entry.content.assign(reinterpret_cast<const char*>(node.data.data()), node.data.size());
    if (node.type == FileType::symlink) entry.content = node.link_target;
    out.emplace(path, std::move(entry));
    if (node.type == FileType::directory) walk(st, child, path, out);
  }
}

}  // namespace

const char* trace_kind_name(TraceOp::Kind kind) {
  switch (kind) {
    case TraceOp::Kind::create:
      return "create";
    case TraceOp::Kind::mkdir:
      return "mkdir";
    case TraceOp::Kind::symlink:
      return "symlink";
    case TraceOp::Kind::mknod:
      return "mknod";
    case TraceOp::Kind::write:
      return "write";
    case TraceOp::Kind::truncate:
      return "truncate";
    case TraceOp::Kind::sync:
      return "sync";
    case TraceOp::Kind::sync_dir:
      return "sync_dir";
    case TraceOp::Kind::rename:
      return "rename";
    case TraceOp::Kind::unlink:
      return "unlink";
    case TraceOp::Kind::link:
      return "link";
    case TraceOp::Kind::rmdir:
      return "rmdir";
    case TraceOp::Kind::chmod:
      return "chmod";
    case TraceOp::Kind::chown:
      return "chown";
    case TraceOp::Kind::sync_all:
      return "sync_all";
    case TraceOp::Kind::drop_unsynced:
      return "drop_unsynced";
  }
  return "?";
}

std::string to_string(const TraceOp& op) {
  std::ostringstream out;
  out << '#' << op.index << ' ' << trace_kind_name(op.kind) << ' ' << op.path;
  if (!op.path2.empty()) out << " -> " << op.path2;
  out << " (ino " << op.ino << ')';
  if (op.kind == TraceOp::Kind::write) out << " [" << op.offset << ", +" << op.size << ')';
  if (op.kind == TraceOp::Kind::truncate) out << " to " << op.size;
  if (op.kind == TraceOp::Kind::chmod || op.kind == TraceOp::Kind::mkdir)
    out << " mode " << std::oct << op.mode << std::dec;
  if (op.kind == TraceOp::Kind::chown) out << ' ' << op.uid << ':' << op.gid;
  return out.str();
}

std::string to_string(const Snapshot& snapshot) {
  std::ostringstream out;
  for (const auto& [path, node] : snapshot) {
    out << path << ' ' << type_name(node.type) << ' ' << std::oct << node.mode << std::dec;
    if (node.type != FileType::directory) out << " \"" << printable(node.content) << '"';
    out << '\n';
  }
  return out.str();
}

void MemoryFileSystem::write_file(const std::string& path, std::string_view content,
                                  uint32_t mode) {
  const bool existed = exists(path);
  auto file = open(path, existed ? OpenMode::read_write : OpenMode::create_exclusive);
  if (existed) file->truncate(0);
  const auto* bytes = reinterpret_cast<const std::byte*>(content.data());
  file->write_at(0, std::span<const std::byte>(bytes, content.size()));
  if (file->stat().mode != (mode & 07777)) file->set_mode(mode);
}

std::string MemoryFileSystem::read_file(const std::string& path) {
  auto file = open(path, OpenMode::read);
  std::string out(file->stat().id.size, '\0');
  const size_t n = file->read_at(0, std::as_writable_bytes(std::span<char>(out)));
  out.resize(n);
  return out;
}

void MemoryFileSystem::make_symlink(const std::string& target, const std::string& path) {
  auto lock = core_->enter();
  const uint64_t ino = sys_call(path, "symlink", [&] {
    const Lookup at = core_->st.lookup(path, false);
    if (at.ino != 0) throw Errno{EEXIST};
    return core_->st.create(at.dir, at.name, FileType::symlink, 0777, target);
  });
  TraceOp op;
  op.kind = TraceOp::Kind::symlink;
  op.path = path;
  op.path2 = target;
  op.ino = ino;
  core_->record(std::move(op));
}

void MemoryFileSystem::make_dirs(const std::string& path, uint32_t mode) {
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i != path.size() && path[i] != '/') continue;
    const std::string prefix = path.substr(0, i);
    if (prefix.back() == '/') continue;
    if (!exists(prefix)) make_dir(prefix, mode);
  }
}

void MemoryFileSystem::make_special(const std::string& path) {
  auto lock = core_->enter();
  const uint64_t ino = sys_call(path, "mknod", [&] {
    const Lookup at = core_->st.lookup(path, false);
    if (at.ino != 0) throw Errno{EEXIST};
    return core_->st.create(at.dir, at.name, FileType::other, 0644);
  });
  TraceOp op;
  op.kind = TraceOp::Kind::mknod;
  op.path = path;
  op.ino = ino;
  core_->record(std::move(op));
}

bool MemoryFileSystem::exists(const std::string& path) { return lstat(path).has_value(); }

Snapshot MemoryFileSystem::snapshot(const std::string& root) const {
  std::lock_guard<std::recursive_mutex> lock(core_->mu);  // works after a crash too
  Snapshot out;
  const Lookup at = core_->st.lookup(root, true);
  if (at.ino == 0 || core_->st.inode(at.ino).type != FileType::directory)
    throw std::invalid_argument("snapshot: not a directory: " + root);
  walk(core_->st, at.ino, root, out);
  return out;
}

void MemoryFileSystem::sync_all() {
  auto lock = core_->enter();
  core_->st.sync_all();
  TraceOp op;
  op.kind = TraceOp::Kind::sync_all;
  core_->record(std::move(op));
}

void MemoryFileSystem::drop_unsynced(uint64_t ino) {
  auto lock = core_->enter();
  core_->st.drop_unsynced(ino);
  TraceOp op;
  op.kind = TraceOp::Kind::drop_unsynced;
  op.ino = ino;
  core_->record(std::move(op));
}

std::vector<TraceOp> MemoryFileSystem::trace() const {
  std::lock_guard<std::recursive_mutex> lock(core_->mu);
  return core_->trace;
}

uint64_t MemoryFileSystem::op_count() const {
  std::lock_guard<std::recursive_mutex> lock(core_->mu);
  return core_->ops;
}

void MemoryFileSystem::reset_trace() {
  std::lock_guard<std::recursive_mutex> lock(core_->mu);
  core_->trace.clear();
  core_->ops = 0;
}

void MemoryFileSystem::set_hook(std::function<void(const TraceOp&)> hook) {
  std::lock_guard<std::recursive_mutex> lock(core_->mu);
  core_->hook = std::move(hook);
}

void MemoryFileSystem::crash_after(uint64_t k) {
  std::lock_guard<std::recursive_mutex> lock(core_->mu);
  core_->crash_at = k;
  if (core_->ops >= k) core_->crashed = true;
}

bool MemoryFileSystem::crashed() const {
  std::lock_guard<std::recursive_mutex> lock(core_->mu);
  return core_->crashed;
}

void MemoryFileSystem::replay(const std::vector<TraceOp>& ops) {
  for (const TraceOp& op : ops) {
    auto lock = core_->enter();
    MemoryState& st = core_->st;
    const bool by_inode = op.kind == TraceOp::Kind::write || op.kind == TraceOp::Kind::truncate ||
                          op.kind == TraceOp::Kind::sync || op.kind == TraceOp::Kind::chmod ||
                          op.kind == TraceOp::Kind::chown ||
                          op.kind == TraceOp::Kind::drop_unsynced;
    if (by_inode && !st.has_inode(op.ino))
      throw std::logic_error("replay: no inode " + std::to_string(op.ino) + " for " +
                             to_string(op));
    switch (op.kind) {
      case TraceOp::Kind::create:
        open(op.path, OpenMode::create_exclusive);
        continue;
      case TraceOp::Kind::mkdir:
        make_dir(op.path, op.mode);
        continue;
      case TraceOp::Kind::symlink:
        make_symlink(op.path2, op.path);
        continue;
      case TraceOp::Kind::mknod:
        make_special(op.path);
        continue;
      case TraceOp::Kind::sync_dir:
        sync_dir(op.path);
        continue;
      case TraceOp::Kind::rename:
        rename(op.path, op.path2);
        continue;
      case TraceOp::Kind::unlink:
        unlink(op.path);
        continue;
      case TraceOp::Kind::link:
        hard_link(op.path, op.path2);
        continue;
      case TraceOp::Kind::rmdir:
        remove_dir(op.path);
        continue;
      case TraceOp::Kind::sync_all:
        sync_all();
        continue;
      case TraceOp::Kind::drop_unsynced:
        drop_unsynced(op.ino);
        continue;
      case TraceOp::Kind::write:
        st.write(op.ino, op.offset, op.data);
        break;
      case TraceOp::Kind::truncate:
        st.truncate(op.ino, op.size);
        break;
      case TraceOp::Kind::sync:
        st.sync_inode(op.ino);
        break;
      case TraceOp::Kind::chmod:
        st.chmod(op.ino, op.mode);
        break;
      case TraceOp::Kind::chown:
        st.chown(op.ino, op.uid, op.gid);
        break;
    }
    core_->record(op);
  }
}

MemoryState MemoryFileSystem::state() const {
  std::lock_guard<std::recursive_mutex> lock(core_->mu);
  return core_->st;
}

namespace {

class MemorySyncFs final : public FileSystemSync {
 public:
  explicit MemorySyncFs(MemoryFileSystem& fs) : fs_(fs) {}
  void sync() override { fs_.sync_all(); }

 private:
  MemoryFileSystem& fs_;
};

}  // namespace

std::unique_ptr<FileSystemSync> MemoryFileSystem::watch_file_system(const std::string& dir) {
  if (!core_->options.syncfs) return nullptr;
  if (!lstat(dir)) throw_sys_error(dir, "open", ENOENT);
  return std::make_unique<MemorySyncFs>(*this);
}

void MemoryFileSystem::with_state(const std::function<void(const MemoryState&)>& f) const {
  std::lock_guard<std::recursive_mutex> lock(core_->mu);
  f(core_->st);
}

std::unique_ptr<MemoryFileSystem> MemoryFileSystem::clone() const {
  return std::make_unique<MemoryFileSystem>(state(), options());
}

size_t MemoryFileSystem::pending_count() const {
  std::lock_guard<std::recursive_mutex> lock(core_->mu);
  return core_->st.pending().size();
}

void MemoryFileSystem::check_invariants() const {
  std::lock_guard<std::recursive_mutex> lock(core_->mu);
  core_->st.check_invariants();
}

const MemoryFileSystemOptions& MemoryFileSystem::options() const { return core_->options; }

}  // namespace bpatch::testing

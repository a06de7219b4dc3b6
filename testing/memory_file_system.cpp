// MemoryFileSystem: the FileSystem operations. Each one checks what the
// Linux system call checks, in the same order where it matters, and fails
// with the errno, Errc and verb PosixFileSystem would use.
#include "testing/memory_file_system.hpp"

#include <cerrno>

#include "testing/memory_core.hpp"

namespace bpatch::testing {

MemoryFileSystem::MemoryFileSystem(MemoryFileSystemOptions options)
    : MemoryFileSystem(MemoryState{}, options) {}

MemoryFileSystem::MemoryFileSystem(MemoryState state, MemoryFileSystemOptions options)
    : core_(std::make_shared<Core>()) {
  core_->st = std::move(state);
  core_->options = options;
}

MemoryFileSystem::~MemoryFileSystem() = default;

std::unique_ptr<File> MemoryFileSystem::open(const std::string& path, OpenMode mode) {
  auto lock = core_->enter();
  MemoryState& st = core_->st;
  try {
    const Lookup at = st.lookup(path, false);
    if (mode == OpenMode::create_exclusive) {
      if (at.ino != 0) throw Errno{EEXIST};  // also a dangling symlink
      if (at.trailing_slash) throw Errno{EISDIR};
      const uint64_t ino = st.create(at.dir, at.name, FileType::regular, 0600);
      auto file = make_memory_file(core_, ino, path, true);
      TraceOp op;
      op.kind = TraceOp::Kind::create;
      op.path = path;
      op.ino = ino;
      op.mode = 0600;
      core_->record(std::move(op));
      return file;
    }
    if (at.ino == 0) throw Errno{ENOENT};
    const Inode& node = st.inode(at.ino);
    if (node.type == FileType::symlink) throw Errno{ELOOP};  // O_NOFOLLOW
    if (mode == OpenMode::read_write && node.type == FileType::directory) throw Errno{EISDIR};
    return make_memory_file(core_, at.ino, path, mode == OpenMode::read_write);
  } catch (const Errno& e) {
    if (e.code == ELOOP) throw Error(Errc::invalid_path, path, "is a symbolic link", ELOOP);
    throw_sys_error(path, mode == OpenMode::create_exclusive ? "create" : "open", e.code);
  }
}

std::optional<FileStat> MemoryFileSystem::lstat(const std::string& path) {
  auto lock = core_->enter();
  try {
    const Lookup at = core_->st.lookup(path, false);
    if (at.ino == 0) return std::nullopt;
    return stat_of(core_->st.inode(at.ino));
  } catch (const Errno& e) {
    if (e.code == ENOENT || e.code == ENOTDIR) return std::nullopt;
    throw_sys_error(path, "stat", e.code);
  }
}

std::string MemoryFileSystem::read_link(const std::string& path) {
  auto lock = core_->enter();
  return sys_call(path, "readlink", [&] {
    const Lookup at = core_->st.lookup(path, false);
    if (at.ino == 0) throw Errno{ENOENT};
    const Inode& node = core_->st.inode(at.ino);
    if (node.type != FileType::symlink) throw Errno{EINVAL};
    return node.link_target;
  });
}

std::vector<std::string> MemoryFileSystem::list_dir(const std::string& path) {
  auto lock = core_->enter();
  return sys_call(path, "open directory", [&] {
    const Lookup at = core_->st.lookup(path, true);  // opendir follows symlinks
    if (at.ino == 0) throw Errno{ENOENT};
    const Inode& node = core_->st.inode(at.ino);
    if (node.type != FileType::directory) throw Errno{ENOTDIR};
    std::vector<std::string> names;
    for (const auto& [name, child] : node.entries) names.push_back(name);
    return names;
  });
}

void MemoryFileSystem::make_dir(const std::string& path, uint32_t mode) {
  auto lock = core_->enter();
  const uint64_t ino = sys_call(path, "mkdir", [&] {
    const Lookup at = core_->st.lookup(path, false);
    if (at.ino != 0) throw Errno{EEXIST};
    return core_->st.create(at.dir, at.name, FileType::directory, mode);
  });
  TraceOp op;
  op.kind = TraceOp::Kind::mkdir;
  op.path = path;
  op.ino = ino;
  op.mode = mode & 07777;
  core_->record(std::move(op));
}

void MemoryFileSystem::remove_dir(const std::string& path) {
  auto lock = core_->enter();
  const uint64_t ino = sys_call(path, "rmdir", [&] {
    const Lookup at = core_->st.lookup(path, false);
    if (at.ino == 0) throw Errno{ENOENT};
    if (at.name.empty()) throw Errno{at.ino == MemoryState::root_ino ? EBUSY : EINVAL};
    const Inode& node = core_->st.inode(at.ino);
    if (node.type != FileType::directory) throw Errno{ENOTDIR};
    if (!node.entries.empty()) throw Errno{ENOTEMPTY};
    core_->st.remove(at.dir, at.name);
    return at.ino;
  });
  TraceOp op;
  op.kind = TraceOp::Kind::rmdir;
  op.path = path;
  op.ino = ino;
  core_->record(std::move(op));
}

void MemoryFileSystem::rename(const std::string& from, const std::string& to) {
  auto lock = core_->enter();
  MemoryState& st = core_->st;
  const uint64_t ino = sys_call(from, "rename to " + to, [&]() -> uint64_t {
    const Lookup a = st.lookup(from, false);
    const Lookup b = st.lookup(to, false);
    if (a.ino == 0) throw Errno{ENOENT};
    if (a.name.empty() || b.name.empty()) throw Errno{EBUSY};
    if (a.ino == b.ino) return 0;  // two names of one file: rename does nothing
    const Inode& src = st.inode(a.ino);
    if (src.type == FileType::directory) {
      if (b.ino != 0) {
        const Inode& dst = st.inode(b.ino);
        if (dst.type != FileType::directory) throw Errno{ENOTDIR};
        if (!dst.entries.empty()) throw Errno{ENOTEMPTY};
      }
      for (uint64_t d = b.dir;; d = st.inode(d).parent) {  // not into itself
        if (d == a.ino) throw Errno{EINVAL};
        if (d == MemoryState::root_ino) break;
      }
    } else {
      if (b.ino != 0 && st.inode(b.ino).type == FileType::directory) throw Errno{EISDIR};
      if (a.trailing_slash || b.trailing_slash) throw Errno{ENOTDIR};
    }
    st.rename(a.dir, a.name, b.dir, b.name);
    return a.ino;
  });
  if (ino == 0) return;
  TraceOp op;
  op.kind = TraceOp::Kind::rename;
  op.path = from;
  op.path2 = to;
  op.ino = ino;
  core_->record(std::move(op));
}

void MemoryFileSystem::unlink(const std::string& path) {
  auto lock = core_->enter();
  const uint64_t ino = sys_call(path, "unlink", [&] {
    const Lookup at = core_->st.lookup(path, false);
    if (at.ino == 0) throw Errno{ENOENT};
    if (at.name.empty() || core_->st.inode(at.ino).type == FileType::directory) throw Errno{EISDIR};
    core_->st.remove(at.dir, at.name);
    return at.ino;
  });
  TraceOp op;
  op.kind = TraceOp::Kind::unlink;
  op.path = path;
  op.ino = ino;
  core_->record(std::move(op));
}

void MemoryFileSystem::hard_link(const std::string& from, const std::string& to) {
  auto lock = core_->enter();
  const uint64_t ino = sys_call(from, "link to " + to, [&] {
    const Lookup a = core_->st.lookup(from, false);  // no AT_SYMLINK_FOLLOW
    const Lookup b = core_->st.lookup(to, false);
    if (a.ino == 0) throw Errno{ENOENT};
    if (a.name.empty() || core_->st.inode(a.ino).type == FileType::directory) throw Errno{EPERM};
    if (b.ino != 0) throw Errno{EEXIST};
    if (b.name.empty()) throw Errno{EEXIST};
    core_->st.link(a.ino, b.dir, b.name);
    return a.ino;
  });
  TraceOp op;
  op.kind = TraceOp::Kind::link;
  op.path = from;
  op.path2 = to;
  op.ino = ino;
  core_->record(std::move(op));
}

void MemoryFileSystem::set_mode(const std::string& path, uint32_t mode) {
  auto lock = core_->enter();
  const uint64_t ino = sys_call(path, "chmod", [&] {
    const Lookup at = core_->st.lookup(path, false);  // AT_SYMLINK_NOFOLLOW
    if (at.ino == 0) throw Errno{ENOENT};
    if (core_->st.inode(at.ino).type == FileType::symlink) throw Errno{EOPNOTSUPP};
    core_->st.chmod(at.ino, mode);
    return at.ino;
  });
  TraceOp op;
  op.kind = TraceOp::Kind::chmod;
  op.path = path;
  op.ino = ino;
  op.mode = mode & 07777;
  core_->record(std::move(op));
}

void MemoryFileSystem::sync_dir(const std::string& path) {
  auto lock = core_->enter();
  const uint64_t ino = sys_call(path, "open directory", [&] {
    const Lookup at = core_->st.lookup(path, true);  // O_DIRECTORY without O_NOFOLLOW
    if (at.ino == 0) throw Errno{ENOENT};
    if (core_->st.inode(at.ino).type != FileType::directory) throw Errno{ENOTDIR};
    return at.ino;
  });
  core_->st.sync_dir(ino);
  TraceOp op;
  op.kind = TraceOp::Kind::sync_dir;
  op.path = path;
  op.ino = ino;
  core_->record(std::move(op));
}

std::unique_ptr<FileLock> MemoryFileSystem::try_lock(const std::string& path) {
  auto lock = core_->enter();
  MemoryState& st = core_->st;
  bool created = false;
  const uint64_t ino = sys_call(path, "open lock file", [&] {
    const Lookup at = st.lookup(path, false);
    if (at.ino == 0) {
      if (at.trailing_slash) throw Errno{EISDIR};
      created = true;
      return st.create(at.dir, at.name, FileType::regular, 0600);
    }
    const Inode& node = st.inode(at.ino);
    if (node.type == FileType::symlink) throw Errno{ELOOP};
    if (node.type == FileType::directory) throw Errno{EISDIR};
    return at.ino;
  });
  std::unique_ptr<FileLock> held;
  if (!core_->locks.count(ino)) {
    core_->locks.insert(ino);
    held = make_memory_lock(core_, ino);
  }
  if (created) {
    TraceOp op;
    op.kind = TraceOp::Kind::create;
    op.path = path;
    op.ino = ino;
    op.mode = 0600;
    core_->record(std::move(op));
  }
  return held;
}

}  // namespace bpatch::testing

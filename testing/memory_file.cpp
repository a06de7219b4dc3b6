// MemoryFile and MemoryLock: the open-file and flock objects of
// MemoryFileSystem. A file holds its inode, not its name: it keeps working
// after the name is renamed or unlinked, as a descriptor does.
#include <algorithm>
#include <cerrno>

#include "testing/memory_core.hpp"

namespace bpatch::testing {
namespace {

using Core = MemoryFileSystem::Core;

class MemoryFile final : public File {
 public:
  MemoryFile(std::shared_ptr<Core> core, uint64_t ino, std::string path, bool writable)
      : core_(std::move(core)), ino_(ino), path_(std::move(path)), writable_(writable) {}

  const std::string& path() const override { return path_; }

  size_t read_at(uint64_t offset, std::span<std::byte> out) override {
    auto lock = core_->enter();
    const Inode& node = core_->st.inode(ino_);
    if (node.type == FileType::directory) throw_sys_error(path_, "read", EISDIR);
    if (offset >= node.data.size()) return 0;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(out.size(), node.data.size() - offset));
    std::copy_n(node.data.begin() + static_cast<std::ptrdiff_t>(offset), n, out.begin());
    return n;
  }

  void write_at(uint64_t offset, std::span<const std::byte> data) override {
    auto lock = core_->enter();
    if (!writable_) throw_sys_error(path_, "write", EBADF);
    if (data.empty()) return;  // the POSIX loop makes no call either
    write_locked(offset, std::make_shared<const Bytes>(data.begin(), data.end()));
  }

  void truncate(uint64_t size) override {
    auto lock = core_->enter();
    if (!writable_) throw_sys_error(path_, "truncate", EINVAL);
    core_->st.truncate(ino_, size);
    TraceOp op;
    op.kind = TraceOp::Kind::truncate;
    op.path = path_;
    op.ino = ino_;
    op.size = size;
    core_->record(std::move(op));
  }

  void sync() override {
    auto lock = core_->enter();
    core_->st.sync_inode(ino_);
    // fsync of a directory descriptor makes its entries durable (sync_dir does just that).
    if (core_->st.inode(ino_).type == FileType::directory) core_->st.sync_dir(ino_);
    TraceOp op;
    op.kind = TraceOp::Kind::sync;
    op.path = path_;
    op.ino = ino_;
    core_->record(std::move(op));
  }

  FileStat stat() override {
    auto lock = core_->enter();
    return stat_of(core_->st.inode(ino_));
  }

  void set_mode(uint32_t mode) override {
    auto lock = core_->enter();
    core_->st.chmod(ino_, mode);
    TraceOp op;
    op.kind = TraceOp::Kind::chmod;
    op.path = path_;
    op.ino = ino_;
    op.mode = mode & 07777;
    core_->record(std::move(op));
  }

  bool set_owner(uint32_t uid, uint32_t gid) override {
    auto lock = core_->enter();
    core_->st.chown(ino_, uid, gid);
    TraceOp op;
    op.kind = TraceOp::Kind::chown;
    op.path = path_;
    op.ino = ino_;
    op.uid = uid;
    op.gid = gid;
    core_->record(std::move(op));
    return true;
  }

  // Like FICLONERANGE: block-aligned ranges only (the length may end at the
  // source's end), never past the source's end; false otherwise.
  bool clone_range(File& src, uint64_t src_offset, uint64_t dst_offset, uint64_t length) override {
    auto lock = core_->enter();
    auto* from = same_fs(src);
    const uint64_t block = core_->options.clone_block;
    if (!core_->options.clone_range || !from || !writable_ || block == 0) return false;
    const Bytes& data = core_->st.inode(from->ino_).data;
    if (src_offset > data.size() || length > data.size() - src_offset) return false;
    if (src_offset % block != 0 || dst_offset % block != 0) return false;
    if (length % block != 0 && src_offset + length != data.size()) return false;
    if (length == 0) return true;
    copy_locked(data, src_offset, dst_offset, length);
    return true;
  }

  // Like copy_file_range: copies what the source has; a source shorter than
  // the range is reported as PosixFile reports it.
  bool copy_range(File& src, uint64_t src_offset, uint64_t dst_offset, uint64_t length) override {
    auto lock = core_->enter();
    auto* from = same_fs(src);
    if (!core_->options.copy_range || !from) return false;
    if (!writable_) throw_sys_error(path_, "copy_file_range", EBADF);
    const Bytes& data = core_->st.inode(from->ino_).data;
    const uint64_t available = src_offset >= data.size() ? 0 : data.size() - src_offset;
    const uint64_t n = std::min(length, available);
    if (n > 0) copy_locked(data, src_offset, dst_offset, n);
    if (n < length)
      throw Error(Errc::concurrent_change, src.path(), "file shrank while being copied");
    return true;
  }

 private:
  MemoryFile* same_fs(File& src) {
    auto* from = dynamic_cast<MemoryFile*>(&src);
    return from && from->core_ == core_ ? from : nullptr;
  }

  void copy_locked(const Bytes& data, uint64_t src_offset, uint64_t dst_offset, uint64_t length) {
    const auto first = data.begin() + static_cast<std::ptrdiff_t>(src_offset);
    write_locked(dst_offset,
                 std::make_shared<const Bytes>(first, first + static_cast<std::ptrdiff_t>(length)));
  }

  void write_locked(uint64_t offset, std::shared_ptr<const Bytes> bytes) {
    const uint64_t size = bytes->size();
    core_->st.write(ino_, offset, bytes);
    TraceOp op;
    op.kind = TraceOp::Kind::write;
    op.path = path_;
    op.ino = ino_;
    op.offset = offset;
    op.size = size;
    op.data = std::move(bytes);
    core_->record(std::move(op));
  }

  std::shared_ptr<Core> core_;
  uint64_t ino_;
  std::string path_;
  bool writable_;
};

class MemoryLock final : public FileLock {
 public:
  MemoryLock(std::shared_ptr<Core> core, uint64_t ino) : core_(std::move(core)), ino_(ino) {}
  ~MemoryLock() override {
    std::lock_guard<std::recursive_mutex> lock(core_->mu);  // released even after a crash
    core_->locks.erase(ino_);
  }

 private:
  std::shared_ptr<Core> core_;
  uint64_t ino_;
};

}  // namespace

FileStat stat_of(const Inode& node) {
  FileStat out;
  out.type = node.type;
  out.mode = node.mode;
  out.uid = node.uid;
  out.gid = node.gid;
  out.nlink = node.nlink;
  out.id.dev = MemoryState::device;
  out.id.ino = node.ino;
  switch (node.type) {
    case FileType::regular:
      out.id.size = node.data.size();
      break;
    case FileType::symlink:
      out.id.size = node.link_target.size();
      break;
    case FileType::directory:
      out.id.size = 4096;
      break;
    case FileType::other:
      out.id.size = 0;
      break;
  }
  out.id.mtime_ns = node.mtime_ns;
  return out;
}

std::unique_ptr<File> make_memory_file(std::shared_ptr<Core> core, uint64_t ino, std::string path,
                                       bool writable) {
  return std::make_unique<MemoryFile>(std::move(core), ino, std::move(path), writable);
}

std::unique_ptr<FileLock> make_memory_lock(std::shared_ptr<Core> core, uint64_t ino) {
  return std::make_unique<MemoryLock>(std::move(core), ino);
}

}  // namespace bpatch::testing

// PosixFileSystem: the FileSystem interface on Linux system calls.
#include "bpatch/posix_file_system.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>

#include "bpatch/error.hpp"
#include "fs/posix_internal.hpp"
#include "fs/posix_xattrs.hpp"

namespace bpatch {
namespace {

FileStat to_file_stat(const struct stat& st) {
  FileStat out;
  if (S_ISREG(st.st_mode))
    out.type = FileType::regular;
  else if (S_ISDIR(st.st_mode))
    out.type = FileType::directory;
  else if (S_ISLNK(st.st_mode))
    out.type = FileType::symlink;
  else
    out.type = FileType::other;
  out.mode = st.st_mode & 07777;
  out.uid = st.st_uid;
  out.gid = st.st_gid;
  out.nlink = st.st_nlink;
  out.blocks = static_cast<uint64_t>(st.st_blocks);
  out.id.dev = st.st_dev;
  out.id.ino = st.st_ino;
  out.id.size = static_cast<uint64_t>(st.st_size);
  out.id.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
  return out;
}

// Closes fd on destruction; EINTR on close is not retried (Linux closes anyway).
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

class PosixFile final : public File {
 public:
  PosixFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

  const std::string& path() const override { return path_; }

  size_t read_at(uint64_t offset, std::span<std::byte> out) override {
    size_t done = 0;
    while (done < out.size()) {
      const size_t want = std::min<size_t>(out.size() - done, SSIZE_MAX);
      const ssize_t n =
          ::pread(fd_.get(), out.data() + done, want, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        throw_sys_error(path_, "read", errno);
      }
      if (n == 0) break;  // end of file
      done += static_cast<size_t>(n);
    }
    return done;
  }

  void write_at(uint64_t offset, std::span<const std::byte> data) override {
    size_t done = 0;
    while (done < data.size()) {
      const size_t want = std::min<size_t>(data.size() - done, SSIZE_MAX);
      const ssize_t n =
          ::pwrite(fd_.get(), data.data() + done, want, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        throw_sys_error(path_, "write", errno);
      }
      done += static_cast<size_t>(n);
    }
  }

  void truncate(uint64_t size) override {
    while (::ftruncate(fd_.get(), static_cast<off_t>(size)) != 0)
      if (errno != EINTR) throw_sys_error(path_, "truncate", errno);
  }

  void sync() override {
    // fsync, not fdatasync: fdatasync may skip metadata it deems not needed
    // to read the data back, and what bpatch needs durable is more than the
    // bytes. A shadow file's size (it grew from nothing) and its inode are
    // what the commit rename publishes; were only the data durable, a power
    // cut after the rename could leave a target of the wrong length. SQLite
    // (os_unix.c) likewise sticks with the slightly slower fsync unless told
    // the system's fdatasync is trustworthy.
    // Never retried: after a failed fsync the kernel may have dropped the
    // dirty pages and marked them clean, so a second fsync can "succeed"
    // without the data ever reaching the disk.
    if (::fsync(fd_.get()) != 0) throw_sys_error(path_, "fsync", errno);
  }

  FileStat stat() override {
    struct stat st;
    if (::fstat(fd_.get(), &st) != 0) throw_sys_error(path_, "fstat", errno);
    return to_file_stat(st);
  }

  void set_mode(uint32_t mode) override {
    if (::fchmod(fd_.get(), mode) != 0) throw_sys_error(path_, "chmod", errno);
  }

  bool set_owner(uint32_t uid, uint32_t gid) override {
    if (::fchown(fd_.get(), uid, gid) == 0) return true;
    if (errno == EPERM) return false;
    throw_sys_error(path_, "chown", errno);
  }

  bool clone_range(File& src, uint64_t src_offset, uint64_t dst_offset, uint64_t length) override {
    auto* posix_src = dynamic_cast<PosixFile*>(&src);
    if (!posix_src) return false;
    struct file_clone_range range {};
    range.src_fd = posix_src->fd_.get();
    range.src_offset = src_offset;
    range.src_length = length;
    range.dest_offset = dst_offset;
    if (::ioctl(fd_.get(), FICLONERANGE, &range) == 0) return true;
    // EOPNOTSUPP/ENOTTY: no reflinks here; EINVAL: unaligned; EXDEV: other fs.
    return false;
  }

  bool copy_range(File& src, uint64_t src_offset, uint64_t dst_offset, uint64_t length) override {
    auto* posix_src = dynamic_cast<PosixFile*>(&src);
    if (!posix_src) return false;
    auto in = static_cast<off_t>(src_offset);
    auto out = static_cast<off_t>(dst_offset);
    while (length > 0) {
      const ssize_t n = ::copy_file_range(posix_src->fd_.get(), &in, fd_.get(), &out,
                                          std::min<uint64_t>(length, 1 << 30), 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL) {
          if (in == static_cast<off_t>(src_offset)) return false;  // nothing copied: fall back
        }
        throw_sys_error(path_, "copy_file_range", errno);
      }
      if (n == 0)
        throw Error(Errc::concurrent_change, src.path(), "file shrank while being copied");
      length -= static_cast<uint64_t>(n);
    }
    return true;
  }

  void start_writeback(uint64_t offset, uint64_t length) override {
    // Only a hint: the durable sync is the fsync in sync().
    (void)::sync_file_range(fd_.get(), static_cast<off_t>(offset), static_cast<off_t>(length),
                            SYNC_FILE_RANGE_WRITE);
  }

  void advise_sequential() override {
    (void)::posix_fadvise(fd_.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  }

  uint64_t seek_data(uint64_t offset) override { return seek(offset, SEEK_DATA); }
  uint64_t seek_hole(uint64_t offset) override { return seek(offset, SEEK_HOLE); }

  std::vector<std::string> list_xattrs() override { return posix::list_xattrs(fd_.get(), path_); }
  std::vector<std::byte> get_xattr(const std::string& name) override {
    return posix::get_xattr(fd_.get(), path_, name);
  }
  void set_xattr(const std::string& name, std::span<const std::byte> value) override {
    posix::set_xattr(fd_.get(), path_, name, value);
  }

 private:
  // ENXIO: nothing of that kind at or after offset (SEEK_DATA: a hole up to
  // the end); EINVAL: the file system cannot tell (then all of it is data).
  uint64_t seek(uint64_t offset, int whence) {
    const off_t at = ::lseek(fd_.get(), static_cast<off_t>(offset), whence);
    if (at >= 0) return static_cast<uint64_t>(at);
    if (errno == ENXIO) return whence == SEEK_DATA ? stat().id.size : offset;
    if (errno == EINVAL) return whence == SEEK_DATA ? offset : UINT64_MAX;
    throw_sys_error(path_, whence == SEEK_DATA ? "seek data" : "seek hole", errno);
  }

  Fd fd_;
  std::string path_;
};

class PosixLock final : public FileLock {
 public:
  explicit PosixLock(int fd) : fd_(fd) {}  // closing the descriptor releases the flock

 private:
  Fd fd_;
};

// syncfs(2) reports write-back errors recorded on the super block since the
// descriptor was opened (Linux >= 5.8), so the descriptor is opened before
// the files it stands for are written.
class PosixFileSystemSync final : public FileSystemSync {
 public:
  PosixFileSystemSync(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  void sync() override {
    if (::syncfs(fd_.get()) != 0) throw_sys_error(path_, "syncfs", errno);
  }

 private:
  Fd fd_;
  std::string path_;
};

// Linux >= 5.8 (uname release "MAJOR.MINOR..."): syncfs reports write-back
// errors of the file system since the descriptor was opened.
bool syncfs_reports_errors() {
  static const bool answer = [] {
    struct utsname u;
    if (::uname(&u) != 0) return false;
    unsigned major = 0, minor = 0;
    if (std::sscanf(u.release, "%u.%u", &major, &minor) != 2) return false;
    return major > 5 || (major == 5 && minor >= 8);
  }();
  return answer;
}

}  // namespace

std::unique_ptr<File> PosixFileSystem::open(const std::string& path, OpenMode mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), posix_detail::open_flags(mode), 0600);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) posix_detail::throw_open_error(path, mode, errno);
  return std::make_unique<PosixFile>(fd, path);
}

namespace posix_detail {

int open_flags(OpenMode mode) {
  int flags = O_CLOEXEC | O_NOFOLLOW;
  switch (mode) {
    // O_NONBLOCK: opening a FIFO must not hang; regular files ignore it.
    case OpenMode::read:
      flags |= O_RDONLY | O_NONBLOCK;
      break;
    case OpenMode::create_exclusive:
      flags |= O_RDWR | O_CREAT | O_EXCL;
      break;
    case OpenMode::read_write:
      flags |= O_RDWR;
      break;
  }
  return flags;
}

void throw_open_error(const std::string& path, OpenMode mode, int err) {
  if (err == ELOOP) throw Error(Errc::invalid_path, path, "is a symbolic link", ELOOP);
  throw_sys_error(path, mode == OpenMode::create_exclusive ? "create" : "open", err);
}

}  // namespace posix_detail

std::optional<FileStat> PosixFileSystem::lstat(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    throw_sys_error(path, "stat", errno);
  }
  return to_file_stat(st);
}

std::string PosixFileSystem::read_link(const std::string& path) {
  std::string buf(PATH_MAX, '\0');
  const ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
  if (n < 0) throw_sys_error(path, "readlink", errno);
  buf.resize(static_cast<size_t>(n));
  return buf;
}

std::vector<std::string> PosixFileSystem::list_dir(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (!dir) throw_sys_error(path, "open directory", errno);
  return posix_detail::read_entries(dir, path);
}

namespace posix_detail {

std::vector<std::string> read_entries(DIR* dir, const std::string& path) {
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  const int err = errno;
  ::closedir(dir);
  if (err != 0) throw_sys_error(path, "read directory", err);
  return names;
}

}  // namespace posix_detail

void PosixFileSystem::make_dir(const std::string& path, uint32_t mode) {
  if (::mkdir(path.c_str(), mode) != 0) throw_sys_error(path, "mkdir", errno);
}

void PosixFileSystem::remove_dir(const std::string& path) {
  if (::rmdir(path.c_str()) != 0) throw_sys_error(path, "rmdir", errno);
}

void PosixFileSystem::rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) throw_sys_error(from, "rename to " + to, errno);
}

void PosixFileSystem::unlink(const std::string& path) {
  if (::unlink(path.c_str()) != 0) throw_sys_error(path, "unlink", errno);
}

void PosixFileSystem::make_symlink(const std::string& target, const std::string& path) {
  if (::symlink(target.c_str(), path.c_str()) != 0) throw_sys_error(path, "symlink", errno);
}

void PosixFileSystem::hard_link(const std::string& from, const std::string& to) {
  // No AT_SYMLINK_FOLLOW: a symlink is linked itself, never what it names.
  if (::linkat(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), 0) != 0)
    throw_sys_error(from, "link to " + to, errno);
}

void PosixFileSystem::set_mode(const std::string& path, uint32_t mode) {
  if (::fchmodat(AT_FDCWD, path.c_str(), mode & 07777, AT_SYMLINK_NOFOLLOW) != 0)
    throw_sys_error(path, "chmod", errno);
}

void PosixFileSystem::sync_dir(const std::string& path) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw_sys_error(path, "open directory", errno);
  Fd guard(fd);
  // Never retried, for the same reason as File::sync().
  if (::fsync(fd) != 0) throw_sys_error(path, "fsync directory", errno);
}

std::unique_ptr<FileSystemSync> PosixFileSystem::watch_file_system(const std::string& dir) {
  // Before 5.8 syncfs(2) returned 0 even after a write-back error, so it
  // cannot stand for the fsyncs it replaces: the caller syncs each file.
  if (!syncfs_reports_errors()) return nullptr;
  int fd;
  do {
    fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw_sys_error(dir, "open directory", errno);
  return std::make_unique<PosixFileSystemSync>(fd, dir);
}

std::optional<uint64_t> PosixFileSystem::free_space(const std::string& dir) {
  struct statvfs vfs;
  if (::statvfs(dir.c_str(), &vfs) != 0) return std::nullopt;  // unknown: no check
  // Root may use the blocks reserved for it; others may not.
  const uint64_t blocks = ::geteuid() == 0 ? vfs.f_bfree : vfs.f_bavail;
  return blocks * uint64_t{vfs.f_frsize};
}

std::optional<uint64_t> PosixFileSystem::mount_id(const std::string& path) {
  struct statx stx;
  if (::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_MNT_ID, &stx) !=
          0 ||
      !(stx.stx_mask & STATX_MNT_ID))
    return std::nullopt;  // before Linux 5.8: the caller compares st_dev
  return stx.stx_mnt_id;
}

std::unique_ptr<FileLock> PosixFileSystem::try_lock(const std::string& path) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw_sys_error(path, "open lock file", errno);
  auto lock = std::make_unique<PosixLock>(fd);
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return nullptr;
    throw_sys_error(path, "flock", errno);
  }
  return lock;
}

uint32_t PosixFileSystem::effective_uid() { return ::geteuid(); }

std::unique_ptr<FileSystem> PosixFileSystem::anchored(const std::vector<std::string>& dirs) {
  return posix_detail::make_anchored(*this, dirs);
}

namespace posix_detail {

std::unique_ptr<File> wrap_file(int fd, std::string path) {
  return std::make_unique<PosixFile>(fd, std::move(path));
}

FileStat stat_of(const struct stat& st) { return to_file_stat(st); }

std::unique_ptr<FileLock> lock_descriptor(int fd, const std::string& path) {
  auto lock = std::make_unique<PosixLock>(fd);
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return nullptr;
    throw_sys_error(path, "flock", errno);
  }
  return lock;
}

}  // namespace posix_detail
}  // namespace bpatch

// The anchored view of PosixFileSystem: every path beneath an anchor is
// resolved by the kernel, beneath the anchor's descriptor, at the moment of
// each call.
//
// Why: bpatch validates a target by walking its path, then stages, re-checks,
// renames and unlinks it later. A user who can write the tree could swap a
// directory for a symlink in between and redirect root's writes anywhere.
// Here each call first opens the target's parent directory from the anchor
// with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
// — validation already resolved every symlink that stays inside ROOT, so a
// path used after validation names real directories only, and any symlink
// met now is an attack — and then acts on the final name with the *at() call
// (O_NOFOLLOW / AT_SYMLINK_NOFOLLOW). A journal anchored the same way is
// reached through the descriptor whose owner and mode were checked.
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <optional>
#include <utility>

#include "base/paths.hpp"
#include "bpatch/error.hpp"
#include "fs/posix_internal.hpp"

namespace bpatch::posix_detail {
namespace {

class Descriptor {
 public:
  Descriptor() = default;
  explicit Descriptor(int fd) : fd_(fd) {}
  Descriptor(Descriptor&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Descriptor& operator=(Descriptor&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  ~Descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

int retry_open(const char* path, int flags, mode_t mode = 0) {
  int fd;
  do fd = ::open(path, flags, mode);
  while (fd < 0 && errno == EINTR);
  return fd;
}

int retry_openat(int dirfd, const char* name, int flags, mode_t mode = 0) {
  int fd;
  do fd = ::openat(dirfd, name, flags, mode);
  while (fd < 0 && errno == EINTR);
  return fd;
}

// False once openat2 answered ENOSYS (kernel < 5.6) or EPERM (a seccomp
// filter that does not know it): the component-wise walk is used from then on.
std::atomic<bool> g_have_openat2{true};

// Opens directory `relative` (no "." or ".." components: the paths are
// canonical) beneath dirfd, following no symlink. -1 with errno on failure.
int open_dir_beneath(int dirfd, const std::string& relative) {
  constexpr int kFlags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW;
  if (relative.empty()) return retry_openat(dirfd, ".", kFlags);
  if (g_have_openat2.load(std::memory_order_relaxed)) {
    open_how how{};
    how.flags = kFlags;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    long fd;
    do fd = ::syscall(SYS_openat2, dirfd, relative.c_str(), &how, sizeof how);
    while (fd < 0 && errno == EINTR);
    if (fd >= 0 || (errno != ENOSYS && errno != EPERM)) return static_cast<int>(fd);
    g_have_openat2.store(false, std::memory_order_relaxed);
  }
  // The same resolution by hand: one O_NOFOLLOW|O_DIRECTORY openat per
  // component, never "..".
  Descriptor current(retry_openat(dirfd, ".", kFlags));
  if (current.get() < 0) return -1;
  size_t start = 0;
  while (start < relative.size()) {
    const size_t end = std::min(relative.find('/', start), relative.size());
    const std::string part = relative.substr(start, end - start);
    start = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      errno = EXDEV;
      return -1;
    }
    Descriptor next(retry_openat(current.get(), part.c_str(), kFlags));
    if (next.get() < 0) return -1;
    current = std::move(next);
  }
  return current.release();
}

struct Anchor {
  std::string dir;
  Descriptor fd;
};

// Where a path lands: the open parent directory and the final name, or the
// anchor itself (name empty, dir = the anchor's descriptor).
struct Resolved {
  Descriptor owned;  // the parent, when it is not the anchor
  int dir = -1;
  std::string name;
};

class AnchoredPosixFileSystem final : public FileSystem {
 public:
  AnchoredPosixFileSystem(FileSystem& plain, std::vector<Anchor> anchors)
      : plain_(plain), anchors_(std::move(anchors)) {
    // Longest first, so a journal inside ROOT is reached from its own anchor.
    std::sort(anchors_.begin(), anchors_.end(),
              [](const Anchor& a, const Anchor& b) { return a.dir.size() > b.dir.size(); });
  }

  std::unique_ptr<File> open(const std::string& path, OpenMode mode) override {
    auto at = resolve(path);
    if (!at) return plain_.open(path, mode);
    if (at->name.empty()) throw Error(Errc::not_regular, path, "is a directory", EISDIR);
    const int fd = retry_openat(at->dir, at->name.c_str(), open_flags(mode), 0600);
    if (fd < 0) throw_open_error(path, mode, errno);
    return wrap_file(fd, path);
  }

  // A path whose parent cannot be reached without a symlink does not exist
  // here: what lies beyond the symlink is not beneath the anchor. (Every call
  // that changes something refuses such a path instead.)
  std::optional<FileStat> lstat(const std::string& path) override {
    auto at = resolve(path, /*missing_ok=*/true);
    if (!at) {
      if (under_anchor(path)) return std::nullopt;  // a parent is missing
      return plain_.lstat(path);
    }
    struct stat st;
    const int rc = at->name.empty()
                       ? ::fstat(at->dir, &st)
                       : ::fstatat(at->dir, at->name.c_str(), &st, AT_SYMLINK_NOFOLLOW);
    if (rc != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
      throw_sys_error(path, "stat", errno);
    }
    return stat_of(st);
  }

  std::string read_link(const std::string& path) override {
    auto at = resolve(path);
    if (!at) return plain_.read_link(path);
    std::string buf(PATH_MAX, '\0');
    const ssize_t n = ::readlinkat(at->dir, at->name.c_str(), buf.data(), buf.size());
    if (n < 0) throw_sys_error(path, "readlink", errno);
    buf.resize(static_cast<size_t>(n));
    return buf;
  }

  std::vector<std::string> list_dir(const std::string& path) override {
    auto at = resolve(path);
    if (!at) return plain_.list_dir(path);
    const int fd = open_directory(*at, path);
    DIR* dir = ::fdopendir(fd);
    if (!dir) {
      const int err = errno;
      ::close(fd);
      throw_sys_error(path, "open directory", err);
    }
    return read_entries(dir, path);
  }

  void make_dir(const std::string& path, uint32_t mode) override {
    auto at = resolve(path);
    if (!at) return plain_.make_dir(path, mode);
    if (::mkdirat(at->dir, at->name.c_str(), mode) != 0) throw_sys_error(path, "mkdir", errno);
  }

  void remove_dir(const std::string& path) override {
    auto at = resolve(path);
    if (!at) return plain_.remove_dir(path);
    if (::unlinkat(at->dir, at->name.c_str(), AT_REMOVEDIR) != 0)
      throw_sys_error(path, "rmdir", errno);
  }

  void rename(const std::string& from, const std::string& to) override {
    auto a = resolve(from);
    auto b = resolve(to);
    if (!a && !b) return plain_.rename(from, to);
    if (!a || !b)
      throw Error(Errc::invalid_path, from, "will not rename across the boundary of " + to);
    if (::renameat(a->dir, a->name.c_str(), b->dir, b->name.c_str()) != 0)
      throw_sys_error(from, "rename to " + to, errno);
  }

  void unlink(const std::string& path) override {
    auto at = resolve(path);
    if (!at) return plain_.unlink(path);
    if (::unlinkat(at->dir, at->name.c_str(), 0) != 0) throw_sys_error(path, "unlink", errno);
  }

  void make_symlink(const std::string& target, const std::string& path) override {
    auto at = resolve(path);
    if (!at) return plain_.make_symlink(target, path);
    if (::symlinkat(target.c_str(), at->dir, at->name.c_str()) != 0)
      throw_sys_error(path, "symlink", errno);
  }

  void hard_link(const std::string& from, const std::string& to) override {
    auto a = resolve(from);
    auto b = resolve(to);
    if (!a && !b) return plain_.hard_link(from, to);
    if (!a || !b)
      throw Error(Errc::invalid_path, from, "will not link across the boundary of " + to);
    // No AT_SYMLINK_FOLLOW: a symlink is linked itself, never what it names.
    if (::linkat(a->dir, a->name.c_str(), b->dir, b->name.c_str(), 0) != 0)
      throw_sys_error(from, "link to " + to, errno);
  }

  void set_mode(const std::string& path, uint32_t mode) override {
    auto at = resolve(path);
    if (!at) return plain_.set_mode(path, mode);
    if (::fchmodat(at->dir, at->name.c_str(), mode & 07777, AT_SYMLINK_NOFOLLOW) != 0)
      throw_sys_error(path, "chmod", errno);
  }

  void sync_dir(const std::string& path) override {
    auto at = resolve(path);
    if (!at) return plain_.sync_dir(path);
    Descriptor fd(open_directory(*at, path));
    // Never retried, for the same reason as File::sync().
    if (::fsync(fd.get()) != 0) throw_sys_error(path, "fsync directory", errno);
  }

  std::unique_ptr<FileSystemSync> watch_file_system(const std::string& dir) override {
    // syncfs writes nothing: which directory names the file system matters
    // only for the errors it reports, and every shadow is beneath an anchor.
    return plain_.watch_file_system(dir);
  }

  std::unique_ptr<FileLock> try_lock(const std::string& path) override {
    auto at = resolve(path);
    if (!at) return plain_.try_lock(path);
    const int fd =
        retry_openat(at->dir, at->name.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) throw_sys_error(path, "open lock file", errno);
    return lock_descriptor(fd, path);
  }

  uint32_t effective_uid() override { return plain_.effective_uid(); }

  // Read-only questions about a file system: asked by path of the real one.
  std::optional<uint64_t> free_space(const std::string& dir) override {
    return plain_.free_space(dir);
  }
  std::optional<uint64_t> mount_id(const std::string& path) override {
    return plain_.mount_id(path);
  }

  // A view of a view: anchored afresh on the real file system.
  std::unique_ptr<FileSystem> anchored(const std::vector<std::string>& dirs) override {
    return make_anchored(plain_, dirs);
  }

 private:
  const Anchor* anchor_of(const std::string& path) const {
    for (const auto& a : anchors_)
      if (path == a.dir || path.starts_with(a.dir == "/" ? a.dir : a.dir + "/")) return &a;
    return nullptr;
  }
  bool under_anchor(const std::string& path) const { return anchor_of(path) != nullptr; }

  // nullopt: not beneath any anchor (or, with missing_ok, a parent missing).
  std::optional<Resolved> resolve(const std::string& path, bool missing_ok = false) {
    const Anchor* anchor = anchor_of(path);
    if (!anchor) return std::nullopt;
    if (paths::absolute(path, "/") != path)
      throw Error(Errc::invalid_path, path, "not a canonical path");
    Resolved out;
    if (path == anchor->dir) {
      out.dir = anchor->fd.get();
      return out;
    }
    const std::string relative = path.substr(anchor->dir == "/" ? 1 : anchor->dir.size() + 1);
    const size_t slash = relative.rfind('/');
    out.name = slash == std::string::npos ? relative : relative.substr(slash + 1);
    if (slash == std::string::npos) {
      out.dir = anchor->fd.get();
      return out;
    }
    out.owned = Descriptor(open_dir_beneath(anchor->fd.get(), relative.substr(0, slash)));
    if (out.owned.get() < 0) {
      const int err = errno;
      if (missing_ok && (err == ENOENT || err == ENOTDIR || err == ELOOP || err == EXDEV))
        return std::nullopt;
      if (err == ELOOP || err == EXDEV)
        throw Error(Errc::invalid_path, path,
                    "a symbolic link appeared in the path after it was checked (refused: it "
                    "could lead outside " +
                        anchor->dir + ")",
                    err);
      throw_sys_error(path, "open parent directory", err);
    }
    out.dir = out.owned.get();
    return out;
  }

  int open_directory(const Resolved& at, const std::string& path) {
    const int fd = retry_openat(at.dir, at.name.empty() ? "." : at.name.c_str(),
                                O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) throw_sys_error(path, "open directory", errno);
    return fd;
  }

  FileSystem& plain_;
  std::vector<Anchor> anchors_;
};

}  // namespace

std::unique_ptr<FileSystem> make_anchored(FileSystem& plain, const std::vector<std::string>& dirs) {
  std::vector<Anchor> anchors;
  for (const auto& dir : dirs) {
    if (dir.empty() || dir[0] != '/')
      throw Error(Errc::usage, dir, "an anchor must be an absolute path");
    // O_NOFOLLOW: an anchor (ROOT, the journal) is never reached through a
    // symlink in its last component; the library spells both canonically.
    const int fd = retry_open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
      // O_NOFOLLOW|O_DIRECTORY on a symlink answers ELOOP or ENOTDIR.
      const int err = errno;
      if (err == ELOOP || err == ENOTDIR) {
        const auto st = plain.lstat(dir);
        throw Error(Errc::invalid_path, dir,
                    st && st->type == FileType::symlink
                        ? "is a symbolic link; it must be a real directory"
                        : "is not a directory",
                    err);
      }
      throw_sys_error(dir, "open directory", err);
    }
    anchors.push_back({paths::absolute(dir, "/"), Descriptor(fd)});
  }
  return std::make_unique<AnchoredPosixFileSystem>(plain, std::move(anchors));
}

}  // namespace bpatch::posix_detail

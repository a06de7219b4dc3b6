// Extended attributes on Linux; see posix_xattrs.hpp.
#include "fs/posix_xattrs.hpp"

#include <sys/xattr.h>

#include <cerrno>

#include "bpatch/error.hpp"

namespace bpatch::posix {
namespace {

// The size a call needs may grow between asking and reading (another
// process adding attributes): ERANGE means ask again, a few times.
constexpr int kAttempts = 8;

}  // namespace

std::vector<std::string> list_xattrs(int fd, const std::string& path) {
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const ssize_t need = ::flistxattr(fd, nullptr, 0);
    if (need < 0) {
      if (errno == ENOTSUP) return {};  // no xattrs on this file system
      throw_sys_error(path, "list extended attributes", errno);
    }
    std::string names(static_cast<size_t>(need), '\0');
    const ssize_t got = need == 0 ? 0 : ::flistxattr(fd, names.data(), names.size());
    if (got < 0) {
      if (errno == ERANGE) continue;
      throw_sys_error(path, "list extended attributes", errno);
    }
    names.resize(static_cast<size_t>(got));
    std::vector<std::string> out;
    for (size_t start = 0; start < names.size();) {
      const size_t end = names.find('\0', start);
      const size_t stop = end == std::string::npos ? names.size() : end;
      if (stop > start) out.push_back(names.substr(start, stop - start));
      start = stop + 1;
    }
    return out;
  }
  throw Error(Errc::concurrent_change, path, "extended attributes kept changing while listed");
}

std::vector<std::byte> get_xattr(int fd, const std::string& path, const std::string& name) {
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const ssize_t need = ::fgetxattr(fd, name.c_str(), nullptr, 0);
    if (need < 0) throw_sys_error(path, "read extended attribute " + name, errno);
    std::vector<std::byte> value(static_cast<size_t>(need));
    const ssize_t got = need == 0 ? 0 : ::fgetxattr(fd, name.c_str(), value.data(), value.size());
    if (got < 0) {
      if (errno == ERANGE) continue;
      throw_sys_error(path, "read extended attribute " + name, errno);
    }
    value.resize(static_cast<size_t>(got));
    return value;
  }
  throw Error(Errc::concurrent_change, path, "extended attribute " + name + " kept changing");
}

void set_xattr(int fd, const std::string& path, const std::string& name,
               std::span<const std::byte> value) {
  if (::fsetxattr(fd, name.c_str(), value.data(), value.size(), 0) != 0)
    throw_sys_error(path, "set extended attribute " + name, errno);
}

}  // namespace bpatch::posix

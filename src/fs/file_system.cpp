// The FileSystem interface's default behaviour.
#include "bpatch/file_system.hpp"

#include "bpatch/error.hpp"
#include "bpatch/file_system_wrapper.hpp"

namespace bpatch {

std::unique_ptr<FileSystem> FileSystem::anchored(const std::vector<std::string>& dirs) {
  (void)dirs;
  return std::make_unique<FileSystemWrapper>(*this);
}

// A FileSystem that predates these calls (a caller's own) cannot make trees,
// only files: the statements that need them are refused with a clear error.
void FileSystem::make_symlink(const std::string& target, const std::string& path) {
  (void)target;
  throw Error(Errc::unsupported, path, "cannot create a symbolic link on this file system");
}

void FileSystem::hard_link(const std::string& from, const std::string& to) {
  (void)to;
  throw Error(Errc::unsupported, from, "cannot create a hard link on this file system");
}

void FileSystem::set_mode(const std::string& path, uint32_t mode) {
  (void)mode;
  throw Error(Errc::unsupported, path, "cannot change a mode by name on this file system");
}

std::vector<std::byte> File::get_xattr(const std::string& name) {
  throw Error(Errc::not_found, path(), "has no extended attribute " + name);
}

void File::set_xattr(const std::string& name, std::span<const std::byte> value) {
  (void)value;
  throw Error(Errc::unsupported, path(),
              "cannot set extended attribute " + name + ": this file system has none");
}

}  // namespace bpatch

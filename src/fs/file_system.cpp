// The FileSystem interface's default behaviour.
#include "bpatch/file_system.hpp"

#include "bpatch/error.hpp"
#include "bpatch/file_system_wrapper.hpp"

namespace bpatch {

std::unique_ptr<FileSystem> FileSystem::anchored(const std::vector<std::string>& dirs) {
  (void)dirs;
  return std::make_unique<FileSystemWrapper>(*this);
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

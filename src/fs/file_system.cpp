// The FileSystem interface's default behaviour.
#include "bpatch/file_system.hpp"

#include "bpatch/file_system_wrapper.hpp"

namespace bpatch {

std::unique_ptr<FileSystem> FileSystem::anchored(const std::vector<std::string>& dirs) {
  (void)dirs;
  return std::make_unique<FileSystemWrapper>(*this);
}

}  // namespace bpatch

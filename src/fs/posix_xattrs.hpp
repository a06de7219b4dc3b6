// Extended attributes of an open descriptor (flistxattr/fgetxattr/fsetxattr),
// for PosixFile: the calls that let a replacement keep its original's ACLs,
// file capabilities and user.* attributes. Errors throw bpatch::Error naming
// the file and the attribute.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace bpatch::posix {

// Every attribute name of the file (empty when the file system has none).
std::vector<std::string> list_xattrs(int fd, const std::string& path);
std::vector<std::byte> get_xattr(int fd, const std::string& path, const std::string& name);
void set_xattr(int fd, const std::string& path, const std::string& name,
               std::span<const std::byte> value);

}  // namespace bpatch::posix

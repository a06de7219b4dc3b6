// What a replacement must carry over from the file it replaces besides its
// bytes: owner, mode (with its set-id bits) and the extended attributes a
// process may set — POSIX ACLs (system.posix_acl_access), file capabilities
// (security.capability), user.* and any other the original has. Nothing is
// dropped silently: an attribute that cannot be set on the shadow refuses
// the transaction, naming it.
//
// The order matters, and is split in two steps around the shadow's fsync:
//   apply_plain():      chown, then the plain attributes, then the mode
//                       without its set-id bits (chown clears set-id bits
//                       and capabilities, so everything privileged follows it);
//   apply_privileged(): the set-id bits and the capabilities, called only
//                       once the content is complete and durable, so that a
//                       privileged file never exists with partial content.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bpatch/file_system.hpp"

namespace bpatch {

class FileMetadata {
 public:
  // The metadata the new content of `target` gets: `mode` (already chosen by
  // validation), and the owner and attributes of `target` when it exists.
  static FileMetadata of(FileSystem& fs, const std::string& target,
                         const std::optional<FileStat>& target_stat, uint32_t mode);

  // True when apply_privileged() has something to do.
  bool privileged() const;

  void apply_plain(File& shadow, const std::string& target) const;
  void apply_privileged(File& shadow, const std::string& target) const;

 private:
  using Attribute = std::pair<std::string, std::vector<std::byte>>;
  uint32_t mode_ = 0644;
  std::optional<std::pair<uint32_t, uint32_t>> owner_;  // uid, gid
  std::vector<Attribute> plain_;                        // set before the mode
  std::vector<Attribute> capabilities_;                 // security.capability
};

}  // namespace bpatch

// Owner, mode and extended attributes of a replacement; see file_metadata.hpp.
#include "txn/file_metadata.hpp"

#include "bpatch/error.hpp"

namespace bpatch {
namespace {

constexpr uint32_t kSetIdBits = 06000;
constexpr const char* kCapability = "security.capability";

// True when the new file got the attribute, with this value, by itself (a
// security label from policy): setting it again might need a privilege.
bool already_has(File& shadow, const std::string& name, const std::vector<std::byte>& value) {
  for (const auto& present : shadow.list_xattrs())
    if (present == name) return shadow.get_xattr(name) == value;
  return false;
}

}  // namespace

FileMetadata FileMetadata::of(FileSystem& fs, const std::string& target,
                              const std::optional<FileStat>& target_stat, uint32_t mode) {
  FileMetadata out;
  out.mode_ = mode;
  if (!target_stat) return out;
  out.owner_.emplace(target_stat->uid, target_stat->gid);
  const auto file = fs.open(target, OpenMode::read);
  if (file->stat().id != target_stat->id)
    throw Error(Errc::concurrent_change, target, "the file changed while bpatch was working on it");
  for (auto& name : file->list_xattrs()) {
    auto value = file->get_xattr(name);
    (name == kCapability ? out.capabilities_ : out.plain_)
        .emplace_back(std::move(name), std::move(value));
  }
  return out;
}

bool FileMetadata::privileged() const {
  return (mode_ & kSetIdBits) != 0 || !capabilities_.empty();
}

void FileMetadata::apply_plain(File& shadow, const std::string& target) const {
  if (owner_ && !shadow.set_owner(owner_->first, owner_->second) && privileged())
    throw Error(Errc::unsupported, target,
                "is set-id or has file capabilities and is owned by uid " +
                    std::to_string(owner_->first) + ":" + std::to_string(owner_->second) +
                    ", which this process may not give its replacement (run as that user or "
                    "root); refusing to change who it runs as");
  for (const auto& [name, value] : plain_) {
    if (already_has(shadow, name, value)) continue;  // e.g. the same SELinux label
    try {
      shadow.set_xattr(name, value);
    } catch (const Error& e) {
      throw Error(Errc::unsupported, target,
                  "has extended attribute " + name +
                      ", which cannot be copied to its replacement: " + e.message(),
                  e.sys_errno());
    }
  }
  shadow.set_mode(mode_ & ~kSetIdBits);
}

void FileMetadata::apply_privileged(File& shadow, const std::string& target) const {
  if ((mode_ & kSetIdBits) != 0) shadow.set_mode(mode_);
  for (const auto& [name, value] : capabilities_) {
    try {
      shadow.set_xattr(name, value);
    } catch (const Error& e) {
      throw Error(Errc::unsupported, target,
                  "has file capabilities (" + name +
                      "), which cannot be copied to its replacement: " + e.message(),
                  e.sys_errno());
    }
  }
}

}  // namespace bpatch

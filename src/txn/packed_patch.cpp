// open_patch(): see packed_patch.hpp.
#include "txn/packed_patch.hpp"

#include <zstd.h>

#include <mutex>
#include <vector>

#include "bpatch/error.hpp"
#include "bpatch/file_system.hpp"

namespace bpatch {
namespace {

struct DecodedPack {
  std::string path;
  FileIdentity id;
  std::shared_ptr<const std::vector<std::byte>> bytes;
};

std::mutex pack_mutex;
DecodedPack last_pack;  // guarded by pack_mutex

std::shared_ptr<const std::vector<std::byte>> decode_pack(const Source& pack,
                                                          const std::string& path) {
  if (pack.size() > kMaxPackSize)
    throw Error(Errc::too_large, path, "the pack is larger than its limit of 16 MiB");
  std::vector<std::byte> stored(static_cast<size_t>(pack.size()));
  pack.read(0, stored);
  const unsigned long long size = ZSTD_getFrameContentSize(stored.data(), stored.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN)
    throw Error(Errc::bad_patch, path,
                "slice= names a pack, but this is not a zstd frame that states its size");
  if (size > kMaxPackSize)
    throw Error(Errc::too_large, path,
                "the pack says it decodes to " + std::to_string(size) +
                    " bytes, more than the limit of 16 MiB");
  auto out = std::make_shared<std::vector<std::byte>>(static_cast<size_t>(size));
  const size_t got = ZSTD_decompress(out->data(), out->size(), stored.data(), stored.size());
  if (ZSTD_isError(got) || got != size)
    throw Error(Errc::bad_patch, path,
                std::string("the pack does not decode (") +
                    (ZSTD_isError(got) ? ZSTD_getErrorName(got) : "short content") + ")");
  return out;
}

}  // namespace

std::shared_ptr<const Source> open_patch(FileSystem& fs, const Change& change) {
  auto pack = open_source(fs, change.patch);
  if (!change.patch_slice) return pack;
  const auto [offset, length] = *change.patch_slice;
  const FileIdentity id = pack->file() ? pack->file()->stat().id : FileIdentity{};
  std::shared_ptr<const std::vector<std::byte>> bytes;
  {
    std::lock_guard lock(pack_mutex);
    if (last_pack.bytes && last_pack.path == change.patch && last_pack.id == id && pack->file())
      bytes = last_pack.bytes;
  }
  if (!bytes) {
    bytes = decode_pack(*pack, change.patch);
    std::lock_guard lock(pack_mutex);
    last_pack = {change.patch, id, bytes};
  }
  if (offset > bytes->size() || length > bytes->size() - offset)
    throw Error(Errc::bad_patch, change.patch,
                "slice=" + std::to_string(offset) + "+" + std::to_string(length) +
                    " is outside the pack, which decodes to " + std::to_string(bytes->size()) +
                    " bytes");
  const auto begin = bytes->begin() + static_cast<std::ptrdiff_t>(offset);
  return std::make_shared<MemorySource>(
      std::vector<std::byte>(begin, begin + static_cast<std::ptrdiff_t>(length)),
      change.patch + " (slice " + std::to_string(offset) + "+" + std::to_string(length) + ")");
}

}  // namespace bpatch

// File operations of the signing code, through the FileSystem interface.
#include "sign/file_access.hpp"

#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "bpatch/error.hpp"
#include "bpatch/file_system.hpp"

namespace bpatch::sign {
namespace {

std::string dirname_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

void write_all(File& file, std::string_view data) {
  file.write_at(0, std::as_bytes(std::span(data.data(), data.size())));
  file.sync();
}

}  // namespace

std::optional<std::string> read_capped(FileSystem& fs, const std::string& path, uint64_t limit,
                                       const char* what) {
  const auto st = fs.lstat(path);
  if (!st) return std::nullopt;
  if (st->type != FileType::regular)
    throw Error(Errc::not_regular, path, std::string(what) + " is not a regular file");
  const auto file = fs.open(path, OpenMode::read);
  // Read one byte more than the limit: the size from stat may be stale, the
  // bytes read are what counts.
  std::string text(static_cast<size_t>(limit) + 1, '\0');
  const size_t n = file->read_at(0, std::as_writable_bytes(std::span(text.data(), text.size())));
  if (n > limit) {
    throw Error(Errc::too_large, path,
                std::string(what) + " is larger than " + std::to_string(limit) +
                    " bytes, more than any such file can be");
  }
  text.resize(n);
  return text;
}

uint64_t stream_file(FileSystem& fs, const std::string& path,
                     const std::function<void(std::span<const std::byte>)>& chunk) {
  const auto file = fs.open(path, OpenMode::read);
  file->advise_sequential();
  const uint64_t size = file->stat().id.size;
  std::vector<std::byte> buffer(1 << 16);
  uint64_t offset = 0;
  while (offset < size) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), size - offset));
    const size_t n = file->read_at(offset, std::span(buffer.data(), want));
    if (n == 0) throw Error(Errc::concurrent_change, path, "the file shrank while it was read");
    chunk(std::span<const std::byte>(buffer.data(), n));
    offset += n;
  }
  return size;
}

void create_file(FileSystem& fs, const std::string& path, std::string_view data, uint32_t mode) {
  if (fs.lstat(path)) throw Error(Errc::usage, path, "already exists; not replacing it");
  auto file = fs.open(path, OpenMode::create_exclusive);  // mode 0600 from the start
  try {
    if (mode != 0600) file->set_mode(mode);
    write_all(*file, data);
    file.reset();
    fs.sync_dir(dirname_of(path));
  } catch (...) {
    file.reset();
    try {
      fs.unlink(path);
    } catch (...) {
    }
    throw;
  }
}

void replace_file(FileSystem& fs, const std::string& path, std::string_view data, uint32_t mode) {
  const std::string temp =
      path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(randombytes_random());
  auto file = fs.open(temp, OpenMode::create_exclusive);
  try {
    file->set_mode(mode);
    write_all(*file, data);
    file.reset();
    fs.rename(temp, path);
  } catch (...) {
    file.reset();
    try {
      fs.unlink(temp);
    } catch (...) {
    }
    throw;
  }
  fs.sync_dir(dirname_of(path));
}

}  // namespace bpatch::sign

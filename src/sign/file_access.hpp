// The few file operations of the signing code, all through the FileSystem:
// read a small file whole (capped), stream a file in chunks, create a new
// file (never replacing one), and replace a file atomically.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace bpatch {
class FileSystem;
}

namespace bpatch::sign {

// The whole file, or nullopt when it does not exist. Larger than `limit`:
// Error(too_large, path, "<what> is larger than … bytes").
std::optional<std::string> read_capped(FileSystem& fs, const std::string& path, uint64_t limit,
                                       const char* what);

// Calls `chunk` with consecutive pieces of the file, from offset 0 to the
// size it had when opened. Returns that size.
uint64_t stream_file(FileSystem& fs, const std::string& path,
                     const std::function<void(std::span<const std::byte>)>& chunk);

// Creates `path` (Error if it exists) with `mode`, writes `data` and syncs
// file and directory; on failure removes what it created.
void create_file(FileSystem& fs, const std::string& path, std::string_view data, uint32_t mode);

// Writes `data` to a temporary beside `path`, syncs it and renames it over
// `path`: a crash leaves the old file or the new one, never half of one.
void replace_file(FileSystem& fs, const std::string& path, std::string_view data, uint32_t mode);

}  // namespace bpatch::sign

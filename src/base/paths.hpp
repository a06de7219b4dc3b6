// Path helpers: lexical joins and splits, shadow names, and the confinement
// of script paths to ROOT (resolved component by component through the
// FileSystem, following symlinks only while they stay inside ROOT).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bpatch/file_system.hpp"

namespace bpatch::paths {

std::string join(std::string_view dir, std::string_view name);
std::string dirname(std::string_view path);   // "/a/b" → "/a"; "/a" → "/"
std::string basename(std::string_view path);  // "/a/b" → "b"
// Makes `path` absolute against `base` and removes "." and ".." lexically.
std::string absolute(std::string_view path, std::string_view base);

// ".NAME.bpatch-TXID" beside target. A NAME too long for NAME_MAX becomes a
// prefix of it, "~" and the XXH3-128 of the whole name (no two collide).
std::string shadow_path(std::string_view target, std::string_view txid);
// True when `path`'s file name is a shadow name of `txid` (what recovery may delete).
bool is_shadow_of(std::string_view path, std::string_view txid);

// The real spelling of absolute `path`: every symlink among its existing
// components resolved (as realpath(3), through `fs`); components that do not
// exist yet are kept lexically. Root and journal are spelled this way inside
// the library, so that every caller names the same journal records.
std::string canonical(FileSystem& fs, std::string_view path);
// canonical() of the parent, the last component kept as it is (a journal
// must never be reached through a symlink, which opening it checks).
std::string canonical_parent(FileSystem& fs, std::string_view path);

struct ResolvedPath {
  std::string path;                       // absolute, every component a real directory or the file
  std::optional<FileStat> stat;           // lstat of the final file; nullopt when it does not exist
  std::vector<std::string> missing_dirs;  // directories to create first, parents first
};

// Resolves `relative` (a script path) inside `root` (absolute). Follows
// symlinks — in the middle and at the end — only while they lead inside root;
// throws Error(invalid_path) for absolute paths, escapes and symlink loops,
// Error(not_found) for a missing component unless allow_missing, in which case
// the missing directories are listed for creation. With follow_final false
// a final symlink is the result itself (a statement about the link: remove,
// symlink, rmdir, chmod), never followed.
ResolvedPath resolve_in_root(FileSystem& fs, const std::string& root, std::string_view relative,
                             bool allow_missing, bool follow_final = true);

}  // namespace bpatch::paths

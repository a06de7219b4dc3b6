// Durability: every fsync of the commit protocol and of recovery goes
// through here, named by its call site ("intent.file", "shadow.dir", …).
//
// The names exist for one test: the sync-mutation test removes each call
// site in turn (the hook of txn/commit.hpp and journal/replay.hpp) and demands that
// the crash explorer then finds a crash state that breaks the all-or-nothing
// invariant — which proves that every sync here is needed.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "bpatch/file_system.hpp"

namespace bpatch {

using SkipSyncHook = std::function<bool(std::string_view site)>;

class Durability {
 public:
  Durability(FileSystem& fs, SkipSyncHook skip) : fs_(&fs), skip_(std::move(skip)) {}

  // fsync(file): its data and size are durable, not its name.
  void sync_file(File& file, std::string_view site) {
    if (!skip_ || !skip_(site)) file.sync();
  }

  // fsync(directory): its entries (creates, renames, unlinks) are durable.
  void sync_dir(const std::string& dir, std::string_view site) {
    if (!skip_ || !skip_(site)) fs_->sync_dir(dir);
  }

  // syncfs(file system): every file's data and directory entry on it are durable.
  void sync_file_system(FileSystemSync& handle, std::string_view site) {
    if (!skip_ || !skip_(site)) handle.sync();
  }

  FileSystem& fs() { return *fs_; }

  // The same skipping rules on another file system (an anchored view).
  Durability on(FileSystem& fs) const { return Durability(fs, skip_); }

 private:
  FileSystem* fs_;
  SkipSyncHook skip_;
};

}  // namespace bpatch

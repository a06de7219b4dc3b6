// MemoryFileSystem::Core — the state shared by a MemoryFileSystem and the
// File and FileLock objects it hands out: the model, the mutex, the trace,
// the hook and the crash point. Internal to testing/memory_*.cpp.
#pragma once

#include <mutex>
#include <optional>
#include <set>

#include "bpatch/error.hpp"
#include "testing/memory_file_system.hpp"

namespace bpatch::testing {

struct MemoryFileSystem::Core {
  std::recursive_mutex mu;  // recursive: the hook may call back in
  MemoryState st;
  MemoryFileSystemOptions options;
  std::vector<TraceOp> trace;
  uint64_t ops = 0;
  std::function<void(const TraceOp&)> hook;
  std::optional<uint64_t> crash_at;
  bool crashed = false;
  std::set<uint64_t> locks;  // inodes with a held flock

  // Locks the state; throws CrashNow once crashed.
  std::unique_lock<std::recursive_mutex> enter() {
    std::unique_lock<std::recursive_mutex> lock(mu);
    if (crashed) throw CrashNow{};
    return lock;
  }

  // Appends a completed operation, then applies the crash point and the hook.
  void record(TraceOp op) {
    op.index = ++ops;
    trace.push_back(std::move(op));
    if (crash_at && ops >= *crash_at) {
      crashed = true;
      throw CrashNow{};
    }
    if (hook) {
      const TraceOp copy = trace.back();
      try {
        hook(copy);
      } catch (const CrashNow&) {
        crashed = true;  // a hook that stops the world stops it for good
        throw;
      }
    }
  }
};

FileStat stat_of(const Inode& node);

// Runs f; an Errno it throws becomes throw_sys_error(path, what, errno).
template <class F>
auto sys_call(const std::string& path, const std::string& what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Errno& e) {
    throw_sys_error(path, what, e.code);
  }
}

std::unique_ptr<File> make_memory_file(std::shared_ptr<MemoryFileSystem::Core> core, uint64_t ino,
                                       std::string path, bool writable);
std::unique_ptr<FileLock> make_memory_lock(std::shared_ptr<MemoryFileSystem::Core> core,
                                           uint64_t ino);

}  // namespace bpatch::testing

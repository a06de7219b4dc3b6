// apply_atomic() and undo_atomic() with a hook that skips named fsync call
// sites (base/durability.hpp): the seam the crash and sync-mutation tests
// drive. Internal: not installed, so no program can turn a sync off.
#pragma once

#include "base/durability.hpp"
#include "bpatch/atomic.hpp"

namespace bpatch::release {

AtomicResult apply_atomic_with_hook(FileSystem& fs, const AtomicOptions& options,
                                    std::vector<Change> changes, SkipSyncHook skip);

UndoResult undo_atomic_with_hook(FileSystem& fs, const AtomicOptions& options, SkipSyncHook skip);

}  // namespace bpatch::release

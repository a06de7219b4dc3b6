// undo() as a function with the sync-skipping hook of txn/commit.hpp, for the
// crash and sync-mutation tests. Internal: not installed.
#pragma once

#include "base/durability.hpp"
#include "bpatch/undo.hpp"

namespace bpatch {

UndoReport undo_with_hook(FileSystem& fs, const UndoOptions& options, SkipSyncHook skip_sync);

}  // namespace bpatch

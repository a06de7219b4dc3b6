// The commit and the dry run as functions: Transaction::commit() calls them,
// and so do the crash tests, which pass a hook that skips named fsync call
// sites (base/durability.hpp) to prove each one necessary. Internal: not
// installed, so no program can turn a sync off.
#pragma once

#include <vector>

#include "base/durability.hpp"
#include "bpatch/transaction.hpp"

namespace bpatch {

// The protocol of docs/protocol.md §3, steps 1-12.
CommitResult commit_changes(FileSystem& fs, const TransactionOptions& options,
                            const std::vector<Change>& changes, SkipSyncHook skip_sync);

// Step 4 only, decoding every patch into a hash: no lock, no journal, no write.
CommitResult dry_run_changes(FileSystem& fs, const TransactionOptions& options,
                             const std::vector<Change>& changes);

}  // namespace bpatch

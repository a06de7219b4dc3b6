// Checks on MemoryFileSystem states shared by the crash, mutation and
// fault-injection tests: recovery as `bpatch recover` runs it (with the
// sync-skipping hook), what is left behind (shadows, records), the tree a
// transaction is judged by, and state hashes for counting distinct crash
// states.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "bpatch/transaction.hpp"
#include "testing/memory_file_system.hpp"

namespace bpatch::testing {

// The transaction options the explorer uses (threads = 1, root).
TransactionOptions explorer_tx_options(const std::string& root);

// The real recovery (bpatch::recover), with the sync hook.
void recover_with(FileSystem& fs, const std::string& journal_dir,
                  const std::function<bool(std::string_view)>& skip_sync);

// Shadow files (`.NAME.bpatch-TXID`) anywhere under dir.
std::vector<std::string> find_shadows(MemoryFileSystem& fs, const std::string& dir);
// Journal records (anything but LOCK) in the journal directory.
std::vector<std::string> find_records(MemoryFileSystem& fs, const std::string& journal_dir);

// The tree under root without the journal subtree.
Snapshot tree_without_journal(const MemoryFileSystem& fs, const std::string& root);

// A 128-bit hash of the tree under root as a crash leaves it: paths, inode
// numbers, link counts, types, modes, owners, contents.
using StateKey = std::array<uint64_t, 2>;
StateKey hash_state(const MemoryFileSystem& fs, const std::string& root);

// A hash of the whole state of a live file system — current, durable and
// pending — so that two points whose crash images are the same are recognised.
StateKey hash_point(const MemoryFileSystem& fs);

// "/r/a=new /r/b=old /r/c=neither(12 bytes)" for the paths where tree differs
// from the two allowed trees (named by names).
std::string describe_mismatch(const Snapshot& tree, const std::vector<Snapshot>& allowed,
                              const std::vector<std::string>& names);

// s cut to limit characters.
std::string shorten(const std::string& s, size_t limit = 240);

}  // namespace bpatch::testing

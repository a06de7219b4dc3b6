// CrashExplorer — runs transactions on a MemoryFileSystem, cuts the power
// after every operation, and proves that recovery always ends all-old or
// all-new (SPEC §2, §7 "every crash point of a transaction").
//
// For each transaction T of a Scenario (run in order, each one on the state
// the previous ones left, made fully durable):
//   1. T runs once, uninterrupted, with a hook that copies the file system
//      after every operation k (exactly the state crash_after(k) freezes).
//   2. For each k and each crash model, the crash images of that copy are
//      checked by explore(): recovery runs on the image, the tree under the
//      root (the journal aside) must equal the tree before T or the one T's
//      uninterrupted run produced, with no shadow (`.*.bpatch-*`) and no
//      journal record left, and a second recovery must change nothing.
//      Recovery is then itself interrupted after each of its operations, the
//      crash images of that are explored the same way (nested up to
//      `nested_depth` times), and every one must reach the SAME outcome as the
//      uninterrupted recovery: a crash in recovery never flips the result.
//   3. Images of a state reached after commit() or recovery RETURNED must
//      already be final — all-new (resp. the outcome) with no record and no
//      shadow, without any further recovery.
//   4. The next transaction then also runs on crash images of T (before any
//      recovery): it must succeed (its start-up recovery finishes or undoes
//      T), produce its changes on top of T's outcome, and is itself crashed
//      at every operation with allowed results {T's outcome, next applied}.
//
// Distinct states are counted by hashing each image (paths, inode numbers,
// link counts, modes, contents); a state seen before under the same
// expectation is not explored again. Everything random comes from `seed`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/durability.hpp"
#include "bpatch/transaction.hpp"
#include "testing/crash_checks.hpp"
#include "testing/crash_states.hpp"
#include "testing/memory_file_system.hpp"

namespace bpatch::testing {

struct TxSpec {
  std::string name;
  std::vector<Change> changes;
  unsigned keep = 0;  // TransactionOptions::keep of the commit
  // When set, run instead of committing `changes`: another crash-safe
  // operation on the root (undo, forget), with the sync-skipping hook.
  std::function<void(FileSystem&, const std::string& root, const SkipSyncHook&)> run{};
};

struct Scenario {
  std::string name;
  std::string root = "/r";                       // the transactions' root; journal ROOT/.bpatch
  std::function<void(MemoryFileSystem&)> setup;  // the initial tree (made durable after)
  std::vector<TxSpec> txs;                       // run in order
  // Limits for big transactions, whose recoveries have many crash points
  // each with many images (BPATCH_CRASH_DEEP multiplies the budget by 4).
  int max_nested_depth = 1 << 20;
  size_t nested_states_per_point = SIZE_MAX;
};

struct NamedModel {
  std::string name;
  CrashModel model;
  size_t max_images = 64;  // per crash point
};

struct ExplorerOptions {
  std::vector<NamedModel> models;         // at the transaction's crash points
  std::vector<NamedModel> nested_models;  // at recovery's crash points
  int nested_depth = 2;                   // recoveries interrupted in a row
  // At each crash point (of the transaction or of a recovery), recovery is
  // itself crashed for the first this many new states only; the others get
  // recovery and the checks. Scenario limits apply too.
  size_t nested_states_per_point = SIZE_MAX;
  bool deep = false;                             // raise the scenarios' limits
  std::vector<NamedModel> next_tx_models;        // images a following transaction starts from
  std::vector<NamedModel> next_tx_crash_models;  // crash points of that following transaction
  uint64_t seed = 1;
  // Skip the fsync at these call sites (commit and recovery): the mutation test.
  std::function<bool(std::string_view site)> skip_sync;
  bool stop_at_first_violation = false;
  size_t max_violations_kept = 20;

  // The default run (and a bigger one for BPATCH_CRASH_DEEP=1).
  static ExplorerOptions standard(bool deep);
};

struct Violation {
  std::string scenario;
  std::string tx;
  std::string where;  // "crash after op 17 (sync_dir /r/a), model any-subset, image …"
  std::string what;   // "mixed: /r/a/x is new, /r/b/y is old"
  std::string to_string() const;
};

struct ExplorerStats {
  std::map<std::string, uint64_t> distinct_per_model;  // states first seen under that model
  std::map<std::string, uint64_t> produced_per_model;  // distinct states each model produced
  uint64_t states_nested = 0;    // transaction crash states whose recovery was crashed too
  uint64_t distinct_states = 0;  // all distinct states explored (union)
  uint64_t images = 0;           // images visited, duplicates included
  uint64_t nested_images = 0;    // of which made at recovery's crash points
  uint64_t crash_points = 0;     // transaction operations crashed after
  uint64_t recovery_crash_points = 0;
  uint64_t recoveries = 0;    // recovery runs
  uint64_t transactions = 0;  // commit() runs
};

class CrashExplorer {
 public:
  explicit CrashExplorer(ExplorerOptions options);
  ~CrashExplorer();

  void run(const Scenario& scenario);
  const ExplorerStats& stats() const;
  const std::vector<Violation>& violations() const;
  uint64_t violation_count() const;
  bool stopped() const;  // stop_at_first_violation and one was found

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace bpatch::testing

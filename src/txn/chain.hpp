// Stacked changes: several changes to one target in one transaction, applied
// in script order — e.g. two deltas and then an edit of one file.
//
// A chain is the changes that name one target (spelled the same way, after
// "." and ".." are resolved). The first may be an edit, delta, put, copy or
// move (onto that target); the later ones are edits, deltas or puts, each
// reading what the one before it produced:
//   * expect= of the first refers to the file before the chain (for a move
//     or copy: to its source); expect= of a later one to the result of the
//     change before it, and result= of any but the last to its own result —
//     those are checked while staging, before the commit point;
//   * result= of the last is checked on the final shadow, and a target that
//     already has it (and the chain's final mode) leaves the whole chain
//     alone: "already up to date";
//   * intermediate results are streamed into scratch files in the shadow
//     family (shadow_path(TARGET "~N", txid), listed in the intent before
//     they exist, so a roll back deletes them), never held whole in memory,
//     and deleted by the committing thread once every shadow is staged
//     (one place, after the staging threads: a failed unlink is then one
//     more staging failure, rolled back like the others) — before the
//     shadows' directories are synced, so none outlives the commit; they
//     need no fsync. Only one shadow per target reaches the manifest: the
//     last change carries the chain (PlannedChange::earlier). A dry run
//     keeps each intermediate result in memory, up to 64 MiB.
//
// Refused, naming both lines: a remove, move or copy onto a target changed
// earlier; any change of a path removed or moved away earlier; a move or
// copy from a path changed earlier (they read files as they were before the
// transaction: move or copy first, then change the new name); and the same
// file named twice through a symbolic link.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "bpatch/transaction.hpp"
#include "txn/plan.hpp"

namespace bpatch {

class ChangeChains {
 public:
  // Groups the changes by target, in order; throws Error(usage) for what
  // cannot stack (above), naming the script lines.
  ChangeChains(const TransactionOptions& options, const std::vector<Change>& changes);

  // The indices of the chain change i belongs to, in order; empty when it
  // is the only change to its target.
  const std::vector<size_t>& chain_of(size_t i) const;

 private:
  std::vector<std::vector<size_t>> chains_;
  std::vector<size_t> chain_index_;  // per change: into chains_, or npos
  std::vector<size_t> none_;
};

using PlanSingle = std::function<void(const Change&, PlannedChange&)>;

// Plans change i when it belongs to a chain (plan_single plans the first
// one as a change of its own); false, planning nothing, when it does not.
bool plan_chain_member(FileSystem& fs, const TransactionOptions& options,
                       const ChangeChains& chains, std::vector<PlannedChange>& plan, size_t i,
                       const PlanSingle& plan_single);

// Names the carrier's scratch files for transaction txid (to be listed in
// the intent) and returns them; none for anything but a carrier.
std::vector<std::string> name_scratch_files(PlannedChange& carrier, const std::string& txid);

// Streams the chain's final content into out, through the scratch files
// (in memory when none are named: a dry run).
void produce_chain(FileSystem& fs, const PlannedChange& carrier, Sink& out);

// Deletes the scratch files of the staged carriers in `work` (after
// staging, before the shadows' directories are synced).
void delete_scratch_files(FileSystem& fs, const std::vector<PlannedChange*>& work);

}  // namespace bpatch

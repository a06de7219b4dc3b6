// Validation (protocol step 2): turns the Changes of a transaction into a
// Plan — every target resolved inside ROOT and checked, every expectation and
// patch verified, every edit compiled — before anything is written.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bpatch/error.hpp"
#include "bpatch/file_system.hpp"
#include "bpatch/transaction.hpp"
#include "edit/edit_list.hpp"

namespace bpatch {

struct PlannedChange {
  // What staging and the manifest do for it, decided from the change and
  // what is on disk: a shadow file renamed over the target (edit, delta,
  // put, chmod of a file), a shadow symlink renamed over it, an unlink, a
  // directory's mode set at replay (mkdir, chmod of a directory), or an rmdir.
  enum class Action { content, symlink, remove, dir_mode, rmdir };
  Action action = Action::content;
  const Change* change = nullptr;
  std::string target;                     // absolute, resolved
  std::optional<FileStat> target_stat;    // nullopt: the target does not exist yet
  std::vector<std::string> missing_dirs;  // to create for a new target, parents first
  std::string source;                     // where the old content is read (edit, delta)
  std::optional<FileStat> source_stat;
  std::optional<EditList> edits;    // edit
  std::optional<Hash128> pre_hash;  // computed when an expectation asked for it
  uint32_t mode = 0644;
  uint64_t expected_size = 0;  // for progress; 0 when unknown
  bool unchanged = false;      // nothing to do (patch already applied)
  bool creates_dir = false;    // mkdir of a new directory (the last of missing_dirs)
  std::string note;

  // move, copy (txn/transfer.hpp): `source` is the resolved `from`.
  bool remove_source = false;  // a move: the source's name goes at commit
  bool link = false;           // a move staged as a hard link of the source (no copy)
  // Stacked changes (txn/chain.hpp): the last change to a target carries
  // the earlier ones, in script order; those are `stacked` (planned and
  // reported, but staged by the carrier, through the `scratch` files).
  std::vector<PlannedChange*> earlier;
  bool stacked = false;
  std::optional<uint64_t> output_size;  // a chain member's output size, when known at validation
  std::vector<std::string> scratch;     // the carrier's intermediate files (named in the intent)

  // Filled in while staging.
  std::string shadow;
  uint64_t shadow_ino = 0;
  uint64_t size = 0;
  std::optional<Hash128> post_hash;
};

// Throws the first problem found, naming the file (and script line).
std::vector<PlannedChange> plan_changes(FileSystem& fs, const TransactionOptions& options,
                                        const std::vector<Change>& changes);

// The tree statements (symlink, mkdir, rmdir, chmod): plan_tree.cpp.
void plan_tree_statement(FileSystem& fs, const TransactionOptions& options, const Change& change,
                         PlannedChange& p);
// Throws unless every entry of each planned rmdir's directory is removed by
// the plan itself (called at validation, and again before the commit).
void check_rmdirs_leave_empty(FileSystem& fs, const std::vector<PlannedChange>& plan);
// Throws unless a target may be replaced: a regular file (not hard-linked
// unless allowed) or, for the statements about links, a symlink.
void check_replaceable(const TransactionOptions& options, const std::string& path,
                       const FileStat& st, bool symlink_ok = false);

// Opens the old content of a planned edit/delta and checks that it is still
// the file that was validated.
std::shared_ptr<const Source> open_validated_source(FileSystem& fs, const PlannedChange& planned);

// Throws Error(checksum) when the staged content's post_hash is not the
// change's result= hash: called before the commit point.
void check_result(const PlannedChange& planned);

// Writes the planned content into `out` (edit, delta, put, copy; a chain's
// final content for its carrier).
void produce_content(FileSystem& fs, const PlannedChange& planned, Sink& out);

// For txn/chain.cpp and txn/transfer.cpp: the checks of a change's own
// inputs (patch and file: paths inside the script's directory, patch=), and
// an error re-thrown with the change's script line in front.
void check_change_inputs(FileSystem& fs, const Change& change);
[[noreturn]] void rethrow_for_change(const Change& change, const Error& e);

}  // namespace bpatch

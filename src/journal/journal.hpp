// Journal: the directory that holds transaction records (default ROOT/.bpatch).
//
//   ROOT/.bpatch/            mode 0700, never a symlink
//     LOCK                   flock'ed by the one bpatch working on the journal
//     intent-TXID            see records.hpp
//     manifest-TXID.tmp      a manifest being written (uncommitted)
//     manifest-TXID          a committed transaction
//     undo-TXID              a finished transaction kept for undo (generations.hpp)
//     forget-TXID            an undo generation being dropped
//
// A Journal object holds the lock for its lifetime. Not thread-safe.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "base/durability.hpp"
#include "bpatch/file_system.hpp"

namespace bpatch::journal {

// The journal directory of ROOT: `journal` when given, else ROOT/.bpatch.
std::string dir_for(const std::string& root, const std::string& journal);

// The record files of one txid found in the journal directory.
struct RecordSet {
  bool intent = false;
  bool manifest = false;
  bool manifest_tmp = false;
  bool undo = false;    // undo-TXID: a finished transaction kept as an undo generation
  bool forget = false;  // forget-TXID: a generation being dropped (generations.hpp)
  // Nothing but a generation: no transaction to finish or roll back.
  bool generation_only() const { return !intent && !manifest && !manifest_tmp && !forget; }
};

// True for a name of the txid grammar (records.hpp); other names in the
// journal are not records and are never acted on.
bool is_txid(std::string_view s);

// Creates the journal directory (mode 0700) if it is missing and makes its
// entry durable. True when it created it.
bool ensure_dir(Durability& sync, const std::string& dir);

class Journal {
 public:
  // Refuses a directory that is a symlink, not ours or writable by group or
  // others (Error(journal)), then takes the lock (a LOCK file that is ours),
  // waiting up to wait_seconds (<0: forever). Throws Error(locked) when
  // another bpatch holds it. `sync.fs()` should be a view anchored at `dir`
  // (FileSystem::anchored), so that the directory checked is the one used.
  static Journal open(Durability& sync, const std::string& dir, double wait_seconds);

  // Opens an existing journal for reading only (no lock, no creation);
  // nullopt when there is none.
  static std::optional<Journal> open_read_only(FileSystem& fs, const std::string& dir);

  const std::string& dir() const { return dir_; }
  std::string intent_path(const std::string& txid) const;
  std::string manifest_path(const std::string& txid) const;
  std::string manifest_tmp_path(const std::string& txid) const;
  std::string undo_path(const std::string& txid) const;
  std::string forget_path(const std::string& txid) const;

  // Every txid with records, in txid order.
  std::map<std::string, RecordSet> records(FileSystem& fs) const;

  // A new txid, greater than every txid in the journal: the time in
  // nanoseconds and the process id, in fixed-width hex so that string order
  // is time order.
  std::string new_txid(FileSystem& fs) const;

 private:
  Journal(std::string dir, std::unique_ptr<FileLock> lock)
      : dir_(std::move(dir)), lock_(std::move(lock)) {}
  std::string dir_;
  std::unique_ptr<FileLock> lock_;
};

// The largest record recovery reads (and so the largest ever written).
inline constexpr uint64_t kMaxRecordSize = 64 << 20;

// Reads a whole (small) record file.
std::string read_small_file(FileSystem& fs, const std::string& path);

// Creates `path` exclusively, writes `bytes`, and syncs it (site `site`).
void write_synced_file(Durability& sync, const std::string& path, std::string_view bytes,
                       std::string_view site);

}  // namespace bpatch::journal

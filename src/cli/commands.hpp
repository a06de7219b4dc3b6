// The bpatch subcommands. Each returns the process exit status and reports
// library errors by throwing them; main() prints them once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bpatch::cli {

enum ExitCode {
  kExitOk = 0,
  kExitFailed = 1,      // failed; nothing changed
  kExitUsage = 2,       // bad command line
  kExitIncomplete = 3,  // committed but not finished: run `bpatch recover`
  kExitLocked = 4,      // the journal is locked by another bpatch
};

struct CommonOptions {
  std::string root;     // --root (default: the current directory)
  std::string journal;  // --journal (default: ROOT/.bpatch)
  bool dry_run = false;
  bool json = false;
  bool quiet = false;
  bool verbose = false;
  double wait_seconds = 0;  // --wait[=SECONDS]; <0 forever
  bool allow_hardlinks = false;
};

struct ApplyArgs {
  std::string patch;   // a delta patch or a .bpatch script
  std::string target;  // for a delta
  std::string output;  // -o
};

struct DiffArgs {
  std::string old_path, new_path;  // two files or two directories
  std::string output;              // -o: the patch file or the bundle directory
  std::string format = "auto";     // --format auto|zstd|bsdiff
  unsigned threads = 0;            // --threads (0: the cores, at most 4)
  int zstd_level = 19;             // --level
  uint64_t bsdiff_max_mib = 0;     // --bsdiff-max-mib (0: the library's default)
  bool tree_statements = false;    // --tree-statements
};

struct VerifyArgs {
  std::string bundle;  // a bundle directory or its update.bpatch
};

int run_apply(const CommonOptions& common, const ApplyArgs& args);
int run_diff(const CommonOptions& common, const DiffArgs& args);
int run_verify(const CommonOptions& common, const VerifyArgs& args);
// A bundle directory's script (DIR/update.bpatch); any other path as given.
std::string bundle_script(const std::string& path);
int run_recover(const CommonOptions& common, const std::string& abandon_txid);
int run_status(const CommonOptions& common);
int run_hash(const CommonOptions& common, const std::vector<std::string>& files);
int run_info(const CommonOptions& common, const std::string& patch);

// realpath(3) of an existing file: a path through a symlink is resolved
// once and the real file is used. Throws Error(not_found).
std::string real_path(const std::string& path);
// The absolute, normalised form of a command-line path.
std::string absolute_path(const std::string& path);
// The journal directory for a root.
std::string journal_for(const CommonOptions& common, const std::string& root);

}  // namespace bpatch::cli

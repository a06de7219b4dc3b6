// The bpatch subcommands. Each returns the process exit status and reports
// library errors by throwing them; main() prints them once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bpatch/atomic.hpp"
#include "bpatch/change.hpp"
#include "bpatch/recovery.hpp"
#include "bpatch/trust.hpp"

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
  std::string patch;               // a delta patch or a .bpatch script
  std::string target;              // for a delta
  std::string output;              // -o
  std::vector<std::string> trust;  // --trust KEY.pub (also $BPATCH_TRUST)
  bool atomic = false;             // --atomic: --root is a symlink switched to a new release
};

// `bpatch keygen`, `bpatch sign`, `bpatch verify-signature` (sign_commands.cpp).
struct KeygenArgs {
  std::string name;           // -o NAME: NAME.pub and NAME.key
  std::string password_file;  // --password-file: encrypt the secret key
  bool no_password = false;   // -W (the default; for symmetry with minisign)
};
struct SignArgs {
  std::string key;  // --key NAME.key
  std::vector<std::string> files;
  std::string trusted_comment;
  std::string password_file;
  bool legacy = false;
};
struct VerifySignatureArgs {
  std::vector<std::string> trust;
  std::string file;
};

struct DiffArgs {
  std::string old_path, new_path;  // two files or two directories
  std::string output;              // -o: the patch file or the bundle directory
  std::string format = "auto";     // --format auto|zstd|bsdiff
  unsigned threads = 0;            // --threads (0: the cores, at most 4)
  int zstd_level = 19;             // --level
  uint64_t bsdiff_max_mib = 0;     // --bsdiff-max-mib (0: the library's default)
  bool tree_statements = false;    // --tree-statements
  std::string sign_key;            // --sign NAME.key: sign the script (or the patch)
  std::string password_file;       // --password-file for an encrypted --sign key
};

struct VerifyArgs {
  std::string bundle;              // a bundle directory or its update.bpatch
  std::vector<std::string> trust;  // --trust KEY.pub: require a signature by one of them
};

// Signs `path` with the secret key file (as `bpatch sign`); prints a line
// unless quiet.
void sign_with_key(const CommonOptions& common, const std::string& key_file,
                   const std::string& password_file, const std::string& path);

int run_apply(const CommonOptions& common, const ApplyArgs& args);
int run_diff(const CommonOptions& common, const DiffArgs& args);
int run_verify(const CommonOptions& common, const VerifyArgs& args);
// A bundle directory's script (DIR/update.bpatch); any other path as given.
std::string bundle_script(const std::string& path);
int run_recover(const CommonOptions& common, const std::string& abandon_txid);
// `apply --atomic`, `undo --root LINK` and the atomic part of `recover
// --root LINK` (atomic_commands.cpp).
int run_apply_atomic(const CommonOptions& common, std::vector<Change> changes);
int run_undo_atomic(const CommonOptions& common);  // undo_atomic_command.cpp
// The options of a command on --root LINK (the link itself, not resolved).
AtomicOptions atomic_options(const CommonOptions& common);
bool root_is_link(const CommonOptions& common);
void recover_atomic_switches(const CommonOptions& common, RecoveryReport& report);
// `status --root LINK`: the atomic updates of LINK's journal, one line each.
void print_atomic_status(const CommonOptions& common);
int run_status(const CommonOptions& common);
int run_hash(const CommonOptions& common, const std::vector<std::string>& files);
int run_info(const CommonOptions& common, const std::string& patch);
int run_keygen(const CommonOptions& common, const KeygenArgs& args);
int run_sign(const CommonOptions& common, const SignArgs& args);
int run_verify_signature(const CommonOptions& common, const VerifySignatureArgs& args);

// The keys of --trust FILE… and of $BPATCH_TRUST (colon-separated files);
// empty when neither names one, which means "no signature required".
TrustPolicy trust_policy_from(const std::vector<std::string>& trust_files);
// The one check every command that takes --trust makes, before it reads
// anything else: `path` must have a `path.minisig` by a trusted key.
// Throws Error(bad_signature) saying what is wrong.
VerifiedFile verify_trusted(const TrustPolicy& policy, const std::string& path,
                            bool keep_contents = false, uint64_t max_held = kMaxHeldFileSize);

// realpath(3) of an existing file: a path through a symlink is resolved
// once and the real file is used. Throws Error(not_found).
std::string real_path(const std::string& path);
// The absolute, normalised form of a command-line path.
std::string absolute_path(const std::string& path);
// The journal directory for a root.
std::string journal_for(const CommonOptions& common, const std::string& root);

}  // namespace bpatch::cli

// Test support for tests on the real file system: temporary directories,
// whole-file reads and writes, tree snapshots (to prove that nothing but the
// intended files changed and no stray file was left), random data, and
// running the bpatch binary.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace bpatch::testing {

// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& content);  // creates parent dirs
bool exists(const std::string& path);

std::string random_bytes(std::mt19937_64& rng, size_t n);

// Every regular file and symlink under root (relative path → content, or
// "symlink:" + target), directories as "dir". `.bpatch/LOCK` is left out.
using Tree = std::map<std::string, std::string>;
Tree snapshot(const std::string& root);

// The undo data an apply keeps by default (`--keep 1`), a path relative to
// the root: the generation record `.bpatch/undo-TXID` and the kept
// originals `.bpatch/keep-TXID-HASH` (or `.NAME.bpatch-keep-TXID` beside the
// file when the journal is on another file system). Not a leftover.
bool is_undo_generation(const std::string& path);

// The XXH3-128 of bytes in canonical hex: what expect= and result= take after "xxh3:".
std::string xxh3(const std::string& bytes);

struct CommandResult {
  int exit_code = -1;  // -signal when killed
  std::string out;
  std::string err;
};

// Runs argv (no shell), waits, captures stdout and stderr.
CommandResult run(const std::vector<std::string>& argv, const std::string& cwd = "");

// The bpatch binary built with the tests.
std::string bpatch_binary();
// run() of that binary with args.
CommandResult bpatch_cmd(std::vector<std::string> args, const std::string& cwd = "");
// The source tree (fixtures, shared vectors next to it).
std::string source_dir();

}  // namespace bpatch::testing

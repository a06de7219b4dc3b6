// The pieces of the strace sweeps (tests/strace_kill_test.cpp,
// atomic_kill_test.cpp, undo_cli_test.cpp): a real bpatch process run under
// `strace -f -e inject=…`, SIGKILLed (or failed) at the N-th call of one
// mutating system call, for every N from bpatch's first such call up to the
// count of an uninterrupted run.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace bpatch::testing {

// strace installed and allowed to trace here, or a failed test
// (testing/oracles.hpp: false only with BPATCH_ALLOW_MISSING_ORACLES=1).
bool strace_works();

// argv run under strace injecting `inject` (e.g. "renameat:signal=KILL:when=3").
std::vector<std::string> under_strace(const std::string& inject, std::vector<std::string> argv);

// Calls per mutating system call in an uninterrupted run: how many there are
// in all, and how many of them the process made before it first touched
// `dir` (the dynamic loader opening and mapping libraries, the C++ runtime
// starting). strace's when=N counts from the process's start, so a sweep
// begins at N = before + 1: failing the loader's calls proves nothing about
// bpatch and only makes runs that exit 127.
struct CallCount {
  int before = 0;  // made before the first call naming dir
  int total = 0;
};

// Runs argv once under strace tracing the calls named in `mutating` (its
// trace written to out_file) and counts them; REQUIREs that it exits 0 and
// that some call named dir.
std::map<std::string, CallCount> count_calls(const std::vector<std::string>& argv,
                                             const std::string& dir, const std::string& out_file,
                                             const std::vector<std::string>& mutating);

}  // namespace bpatch::testing

// The real tools the tests compare bpatch with (bsdiff, bspatch, xdelta3,
// xxhsum, strace, …). A test whose oracle is missing must not pass quietly:
// CI installs them all (.ci/install-deps), so a missing one FAILs the test
// with a message naming it. On a machine without them, set
// BPATCH_ALLOW_MISSING_ORACLES=1 to skip those checks with a warning instead.
#pragma once

#include <string>

namespace bpatch::testing {

// True when `tool` can be run. When it cannot: FAILs the current test (the
// call does not return), or with BPATCH_ALLOW_MISSING_ORACLES=1 WARNs and
// returns false, and the caller skips what needs the tool.
bool oracle_available(const std::string& tool);

// Like oracle_available, for a tool that is present but cannot work here
// (e.g. strace where ptrace is forbidden): `works` says whether it does.
bool oracle_usable(const std::string& tool, bool works, const std::string& why);

// BPATCH_ALLOW_MISSING_ORACLES is set to a value other than 0.
bool missing_oracles_allowed();

}  // namespace bpatch::testing

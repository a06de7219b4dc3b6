// Support for the trust-boundary tests (trust_*_test.cpp): real processes on
// the real file system, as root with an unprivileged account at hand.
//
// They need root (chown to others, capabilities, bind mounts); run as
// another user they skip, saying so. The account is created with useradd
// the first time it is asked for and left in place for later runs.
#pragma once

#include <pwd.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "testing/test_files.hpp"

namespace bpatch::testing {

inline bool running_as_root() { return ::geteuid() == 0; }

// Skips the test (with a message) unless root.
#define BPATCH_REQUIRE_ROOT()                                           \
  do {                                                                  \
    if (!::bpatch::testing::running_as_root()) {                        \
      WARN("skipped: this test must run as root (CI runs it as root)"); \
      return;                                                           \
    }                                                                   \
  } while (0)

struct Account {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;
};

// The unprivileged account "bpatch-trust", created when missing.
inline Account unprivileged_account() {
  const char* name = "bpatch-trust";
  if (!::getpwnam(name)) {
    const auto r = run({"useradd", "--system", "--no-create-home", "--shell", "/bin/sh", name});
    INFO(r.err);
    REQUIRE((r.exit_code == 0 || r.exit_code == 9));  // 9: created meanwhile
  }
  const passwd* pw = ::getpwnam(name);
  REQUIRE(pw != nullptr);
  return {name, pw->pw_uid, pw->pw_gid};
}

inline bool have_tool(const std::string& tool) {
  return ::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) == 0;
}

// The tool must be installed (.ci/install-deps): a missing oracle fails.
inline void require_tool(const std::string& tool) {
  INFO(tool + " is not installed (see .ci/install-deps)");
  REQUIRE(have_tool(tool));
}

inline CommandResult bpatch_run(std::vector<std::string> args, const std::string& cwd = "") {
  args.insert(args.begin(), bpatch_binary());
  return run(args, cwd);
}

}  // namespace bpatch::testing

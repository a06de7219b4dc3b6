// See oracles.hpp: a missing oracle tool fails the test unless allowed.
#include "testing/oracles.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <map>

namespace bpatch::testing {

namespace {

bool on_path(const std::string& tool) {
  static std::map<std::string, bool> cache;  // the tests run on one thread
  const auto it = cache.find(tool);
  if (it != cache.end()) return it->second;
  const bool found = std::system(("command -v '" + tool + "' >/dev/null 2>&1").c_str()) == 0;
  cache.emplace(tool, found);
  return found;
}

}  // namespace

bool missing_oracles_allowed() {
  const char* v = std::getenv("BPATCH_ALLOW_MISSING_ORACLES");
  return v && *v && std::string(v) != "0";
}

bool oracle_usable(const std::string& tool, bool works, const std::string& why) {
  if (works) return true;
  if (missing_oracles_allowed()) {
    WARN(tool << " " << why << ": skipped (BPATCH_ALLOW_MISSING_ORACLES is set)");
    return false;
  }
  FAIL(tool << " " << why << ", and this test needs it as its oracle: install it "
            << "(.ci/install-deps) or set BPATCH_ALLOW_MISSING_ORACLES=1 to skip");
  return false;
}

bool oracle_available(const std::string& tool) {
  return oracle_usable(tool, on_path(tool), "is not installed");
}

}  // namespace bpatch::testing

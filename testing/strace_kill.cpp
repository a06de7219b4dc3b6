// Running bpatch under strace and counting its mutating calls (strace_kill.hpp).
#include "testing/strace_kill.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <sstream>

#include "testing/oracles.hpp"
#include "testing/test_files.hpp"

namespace bpatch::testing {

bool strace_works() {
  if (!oracle_available("strace")) return false;
  return oracle_usable("strace",
                       run({"strace", "-f", "-qq", "-o", "/dev/null", "true"}).exit_code == 0,
                       "cannot trace here");
}

std::vector<std::string> under_strace(const std::string& inject, std::vector<std::string> argv) {
  std::vector<std::string> out = {"strace",          "-f", "-qq", "-o", "/dev/null", "-e",
                                  "inject=" + inject};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

std::map<std::string, CallCount> count_calls(const std::vector<std::string>& argv,
                                             const std::string& dir, const std::string& out_file,
                                             const std::vector<std::string>& mutating) {
  std::string trace = "trace=";
  for (const auto& name : mutating) trace += (trace.size() > 6 ? "," : "") + name;
  std::vector<std::string> cmd = {"strace", "-f", "-qq", "-o", out_file, "-e", trace};
  cmd.insert(cmd.end(), argv.begin(), argv.end());
  const auto r = run(cmd);
  REQUIRE(r.exit_code == 0);
  std::map<std::string, CallCount> counts;
  std::istringstream in(read_file(out_file));
  bool started = false;
  for (std::string line; std::getline(in, line);) {
    // "PID name(args) = ret", or "PID <... name resumed> …" (not a new call).
    const size_t at = line.find_first_not_of("0123456789 ");
    if (at == std::string::npos || line.compare(at, 4, "<...") == 0) continue;
    const size_t paren = line.find('(', at);
    if (paren == std::string::npos) continue;
    const std::string name = line.substr(at, paren - at);
    if (std::find(mutating.begin(), mutating.end(), name) == mutating.end()) continue;
    started = started || line.find(dir) != std::string::npos;
    CallCount& c = counts[name];
    ++c.total;
    if (!started) ++c.before;
  }
  REQUIRE(started);
  return counts;
}

}  // namespace bpatch::testing

// Sync mutation: every fsync of the protocol is necessary. For each named
// call site (src/base/durability.hpp), skip that one fsync — in commit() and
// in recovery — and run the crash explorer: it must find a crash state that
// breaks the guarantee. A site without a violating state would be either an
// unnecessary fsync or a hole in the explorer's model; both must be looked at.
//
// The list of sites is checked against the source, so a new fsync cannot be
// added without being proven necessary here.
//
// A scenario that never reaches a site cannot show that site's fsync to be
// needed: a light exploration of each scenario first records which sites it
// calls (through the skip hook, skipping none), and each mutation explores
// only the scenarios that reach its site. Should that ever drop the one
// scenario that proves a site, the test fails (no violation), never passes.
#include <catch2/catch.hpp>
#include <chrono>
#include <iostream>
#include <mutex>
#include <set>

#include "testing/crash_explorer.hpp"
#include "testing/crash_scenarios.hpp"
#include "testing/sync_sites.hpp"
#include "testing/test_files.hpp"

using namespace bpatch;
using namespace bpatch::testing;

namespace {

const std::vector<std::string> kSites = {
    "journal.parent",       "intent.file",           "intent.dir",
    "shadow.file",          "shadow.batch",          "shadow.dir",
    "manifest.file",        "manifest.commit",       "recover.replay.dir",
    "recover.records",      "recover.rollback.dir",  "shadow.setid",
    "recover.replay.chmod", "recover.records.intent"};

// Per scenario, the sync sites its transactions and their recoveries call:
// one pass over every crash point with the durable image only, recovery
// crashed once deep, the hook recording and skipping nothing.
std::vector<std::set<std::string>> sites_reached(const ScenarioSet& set) {
  std::vector<std::set<std::string>> out;
  for (const auto& s : set.scenarios) {
    std::set<std::string> reached;
    std::mutex mu;  // commit() syncs shadows from worker threads
    ExplorerOptions o = ExplorerOptions::standard(false);
    const NamedModel durable{"durable-only", CrashModel::durable_only(), 1};
    o.models = o.nested_models = o.next_tx_models = o.next_tx_crash_models = {durable};
    o.nested_depth = 1;
    o.skip_sync = [&](std::string_view site) {
      std::lock_guard<std::mutex> lock(mu);
      reached.emplace(site);
      return false;
    };
    CrashExplorer explorer(o);
    explorer.run(s);
    out.push_back(std::move(reached));
  }
  return out;
}

}  // namespace

TEST_CASE("the mutation test covers every sync call site in src/", "[syncmutation]") {
  CHECK(sync_sites_in_source({"journal", "intent", "shadow", "manifest", "recover"}) ==
        std::set<std::string>(kSites.begin(), kSites.end()));
}

TEST_CASE("skipping any one fsync lets the crash explorer find a broken state",
          "[syncmutation][crash]") {
  const auto start = std::chrono::steady_clock::now();
  const ScenarioSet set = standard_scenarios();
  const auto reached = sites_reached(set);
  std::cout << "sync mutation: sites reached per scenario found in "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()
            << " s\n";
  std::vector<std::string> unproven;
  std::cout << "sync mutation: call site -> first violating crash state\n";
  for (const auto& site : kSites) {
    const auto t0 = std::chrono::steady_clock::now();
    ExplorerOptions options = ExplorerOptions::standard(false);
    options.skip_sync = [site](std::string_view s) { return s == site; };
    options.stop_at_first_violation = true;
    CrashExplorer explorer(options);
    size_t explored = 0;
    for (size_t i = 0; i < set.scenarios.size(); ++i) {
      if (explorer.stopped()) break;
      if (!reached[i].count(site)) continue;  // cannot matter there
      ++explored;
      explorer.run(set.scenarios[i]);
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "  " << site << " (" << explored << " scenarios, "
              << explorer.stats().distinct_states << " states, " << secs << " s): ";
    if (explorer.violations().empty()) {
      std::cout << "NO VIOLATION FOUND\n";
      unproven.push_back(site);
    } else {
      std::cout << explorer.violations().front().to_string() << "\n";
    }
  }
  std::cout << "sync mutation: "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()
            << " s" << std::endl;
  INFO("sites whose fsync the explorer could not prove necessary:");
  for (const auto& s : unproven) UNSCOPED_INFO(s);
  CHECK(unproven.empty());
}

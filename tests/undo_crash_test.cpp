// Undo under power cuts: the crash explorer over the undo scenarios
// (testing/undo_scenarios.hpp) — an update keeping undo data, one pruning an
// older generation, an undo, a forget — crashed after every operation and
// recovered (recovery itself crashed too): the tree and the journal's
// generations are exactly before or exactly after. Then the sync mutation
// of the sites undo added: skipping any one lets the explorer find a broken
// state.
#include <catch2/catch.hpp>
#include <chrono>
#include <iostream>
#include <mutex>
#include <set>

#include "testing/crash_explorer.hpp"
#include "testing/sync_sites.hpp"
#include "testing/test_files.hpp"
#include "testing/undo_scenarios.hpp"

using namespace bpatch;
using namespace bpatch::testing;

namespace {

// The fsync sites of keeping, undoing and forgetting (src/journal/generations.cpp,
// src/txn/undo.cpp); those shared with apply are proven by sync_mutation_test.
const std::vector<std::string> kUndoSites = {
    "keep.dir",           "undo.intent.file", "undo.intent.dir", "undo.shadow.dir",
    "undo.manifest.file", "undo.commit",      "undo.keep.dir",   "undo.rmdir",
    "undo.drop",          "forget.mark",      "forget.dir",      "forget.record"};

}  // namespace

TEST_CASE("every crash of keep, undo and forget recovers exactly before or after",
          "[undo][crash]") {
  const auto start = std::chrono::steady_clock::now();
  CrashExplorer explorer(ExplorerOptions::standard(false));
  for (const auto& s : undo_scenarios()) {
    const uint64_t before = explorer.stats().distinct_states;
    explorer.run(s);
    std::cout << "undo crash explorer: " << s.name << ": "
              << explorer.stats().distinct_states - before << " distinct states" << std::endl;
  }
  const auto& st = explorer.stats();
  std::cout << "undo crash explorer: " << st.distinct_states << " distinct states from "
            << st.crash_points << " crash points and " << st.recovery_crash_points
            << " recovery crash points, " << explorer.violation_count() << " violations, "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()
            << " s\n";
  for (const auto& v : explorer.violations()) UNSCOPED_INFO(v.to_string());
  CHECK(explorer.violation_count() == 0);
  CHECK(st.crash_points >= 60);
}

TEST_CASE("the undo sync sites are those of the source", "[undo][syncmutation]") {
  CHECK(sync_sites_in_source({"keep", "undo", "forget"}) ==
        std::set<std::string>(kUndoSites.begin(), kUndoSites.end()));
}

TEST_CASE("skipping any one fsync of keep, undo or forget breaks a crash state",
          "[undo][syncmutation][crash]") {
  const auto scenarios = undo_scenarios();
  std::vector<std::string> unproven;
  for (const auto& site : kUndoSites) {
    ExplorerOptions options = ExplorerOptions::standard(false);
    options.skip_sync = [site](std::string_view s) { return s == site; };
    options.stop_at_first_violation = true;
    CrashExplorer explorer(options);
    for (const auto& s : scenarios) {
      if (explorer.stopped()) break;
      explorer.run(s);
    }
    std::cout << "undo sync mutation: " << site << ": "
              << (explorer.violations().empty() ? "NO VIOLATION FOUND"
                                                : explorer.violations().front().to_string())
              << std::endl;
    if (explorer.violations().empty()) unproven.push_back(site);
  }
  for (const auto& s : unproven) UNSCOPED_INFO(s);
  CHECK(unproven.empty());
}

// The crash explorer (testing/crash_explorer.hpp) over the standard
// scenarios: every crash point of every transaction, every crash model,
// recovery interrupted and recovered again (nested twice), and the next
// transaction started on a crashed image. The guarantee proved: every state
// ends all-old or all-new, with no shadow or record left, recovery is
// idempotent and never flips its result when interrupted, and a state after
// commit() returned is already all-new.
//
// BPATCH_CRASH_DEEP=1 runs a much bigger exploration (more images per point,
// recovery interrupted three times in a row).
#include "testing/crash_explorer.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <iostream>

#include "testing/crash_scenarios.hpp"
#include "testing/test_scale.hpp"

using namespace bpatch;
using namespace bpatch::testing;

namespace {

bool deep() {
  const char* v = std::getenv("BPATCH_CRASH_DEEP");
  return v && *v && std::string(v) != "0";
}

// The tree without the journal, the txid in shadow names replaced by "TXID".
std::map<std::string, std::string> normalized(const MemoryFileSystem& fs, const std::string& root) {
  std::map<std::string, std::string> out;
  for (const auto& [path, node] : tree_without_journal(fs, root)) {
    std::string p = path;
    if (const auto at = p.find(".bpatch-"); at != std::string::npos)
      p = p.substr(0, at) + ".bpatch-TXID";
    out[p] = node.content + "/" + std::to_string(node.mode);
  }
  return out;
}

std::vector<TraceOp::Kind> kinds(const std::vector<TraceOp>& trace) {
  std::vector<TraceOp::Kind> out;
  for (const auto& op : trace) out.push_back(op.kind);
  return out;
}

}  // namespace

TEST_CASE("the explored transactions produce independently computed contents", "[crashexplorer]") {
  const ScenarioSet set = standard_scenarios();
  for (size_t i = 0; i < set.scenarios.size(); ++i) {
    const Scenario& s = set.scenarios[i];
    INFO(s.name);
    MemoryFileSystem fs;
    s.setup(fs);
    fs.reset_trace();
    Transaction t(fs, explorer_tx_options(s.root));
    for (const auto& c : s.txs[0].changes) t.add(c);
    t.commit();
    // The big one stages with one syncfs, the others with an fsync per shadow.
    size_t syncfs = 0;
    for (const auto& op : fs.trace()) syncfs += op.kind == TraceOp::Kind::sync_all;
    CHECK(syncfs == (s.txs[0].changes.size() >= 32 ? 1u : 0u));
    for (const auto& [path, content] : set.expected_after_first[i]) {
      INFO(path);
      if (content)
        CHECK(fs.read_file(path) == *content);
      else
        CHECK_FALSE(fs.exists(path));
    }
    if (set.expected_nodes_after_first.contains(i)) {
      const Snapshot tree = fs.snapshot(s.root);
      for (const auto& [path, node] : set.expected_nodes_after_first.at(i)) {
        INFO(path);
        const auto found = tree.find(path);
        if (!node) {
          CHECK(found == tree.end());
        } else {
          REQUIRE(found != tree.end());
          CHECK(found->second == *node);
        }
      }
    }
    CHECK(find_shadows(fs, s.root).empty());
    CHECK(find_records(fs, s.root + "/.bpatch").empty());
  }
}

TEST_CASE("a hook's copy after op k is the state crash_after(k) freezes", "[crashexplorer]") {
  // The explorer copies the state from the hook instead of re-running the
  // transaction with crash_after(k) for every k: check they agree.
  const ScenarioSet set = standard_scenarios();
  const Scenario& s = set.scenarios[2];
  auto run = [&](std::optional<uint64_t> crash) {
    auto fs = std::make_unique<MemoryFileSystem>();
    s.setup(*fs);
    fs->sync_all();
    fs->reset_trace();
    if (crash) fs->crash_after(*crash);
    try {
      Transaction t(*fs, explorer_tx_options(s.root));
      for (const auto& c : s.txs[0].changes) t.add(c);
      t.commit();
    } catch (const CrashNow&) {
    }
    return fs;
  };
  // The copies the hook takes, as the explorer does.
  std::vector<std::unique_ptr<MemoryFileSystem>> copies;
  auto fs = std::make_unique<MemoryFileSystem>();
  s.setup(*fs);
  fs->sync_all();
  fs->reset_trace();
  fs->set_hook([&](const TraceOp&) { copies.push_back(fs->clone()); });
  {
    Transaction t(*fs, explorer_tx_options(s.root));
    for (const auto& c : s.txs[0].changes) t.add(c);
    t.commit();
  }
  fs->set_hook(nullptr);
  const auto full = run(std::nullopt);
  const auto trace = full->trace();
  REQUIRE(copies.size() == trace.size());
  REQUIRE(trace.size() > 20);
  for (uint64_t k = 1; k <= trace.size(); ++k) {
    const auto crashed = run(k);
    INFO("k = " << k);
    CHECK(crashed->crashed());
    const auto got = kinds(crashed->trace());
    const auto want =
        kinds(std::vector<TraceOp>(trace.begin(), trace.begin() + static_cast<long>(k)));
    CHECK(got == want);
    // The same tree and the same unsynced operations, so the same crash
    // images (up to the txid in names).
    CHECK(crashed->pending_count() == copies[k - 1]->pending_count());
    CHECK(normalized(*crashed, s.root) == normalized(*copies[k - 1], s.root));
  }
}

TEST_CASE("every crash state of every transaction recovers all-old or all-new",
          "[crashexplorer][crash]") {
  const auto start = std::chrono::steady_clock::now();
  const ScenarioSet set = standard_scenarios();
  CrashExplorer explorer(ExplorerOptions::standard(deep()));
  const char* only = std::getenv("BPATCH_CRASH_SCENARIO");  // for timing one scenario
  for (const auto& s : set.scenarios) {
    if (only && s.name != only) continue;
    const auto t0 = std::chrono::steady_clock::now();
    const uint64_t before = explorer.stats().distinct_states;
    explorer.run(s);
    std::cout << "crash explorer: " << s.name << ": " << explorer.stats().distinct_states - before
              << " new distinct states in "
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
              << " s" << std::endl;
  }
  const auto& st = explorer.stats();
  std::cout << "crash explorer" << (deep() ? " (deep)" : "")
            << (set.with_bsdiff ? ", with bsdiff" : "") << ": " << st.distinct_states
            << " distinct crash states (" << st.images << " images, " << st.nested_images
            << " of them in recovery) from " << st.crash_points << " transaction crash points and "
            << st.recovery_crash_points << " recovery crash points; " << st.recoveries
            << " recoveries, " << st.transactions << " commits, " << explorer.violation_count()
            << " violations, "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()
            << " s\n";
  for (const auto& [model, n] : st.produced_per_model)
    std::cout << "  " << model << ": " << n << " distinct states, "
              << (st.distinct_per_model.count(model) ? st.distinct_per_model.at(model) : 0)
              << " first seen under it\n";
  std::cout << "  transaction crash states whose recovery was crashed too (nested): "
            << st.states_nested << "\n";
  for (const auto& v : explorer.violations()) UNSCOPED_INFO(v.to_string());
  CHECK(explorer.violation_count() == 0);
  // Under the sanitizers an eighth of the images (testing/test_scale.hpp).
  if (!only) CHECK(st.distinct_states >= scaled<uint64_t>(100000, 8000));
}

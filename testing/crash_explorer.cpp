// CrashExplorer: see crash_explorer.hpp for what is explored and checked.
#include "testing/crash_explorer.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <tuple>

#include "bpatch/error.hpp"
#include "journal/generations.hpp"
#include "journal/records.hpp"
#include "testing/test_scale.hpp"
#include "txn/commit.hpp"

namespace bpatch::testing {
namespace {

using Key = StateKey;

// What a checked state may be: one of `allowed` trees (the journal aside).
struct Expectation {
  uint64_t id = 0;
  std::string root, journal;
  std::vector<Snapshot> allowed;
  std::vector<std::string> names;  // "old", "new", …
  // Per allowed tree, the undo generation records (undo-TXID) the journal
  // holds with it; empty: none may be left.
  std::vector<std::set<std::string>> generations;
};

// The undo generation records in a journal (names starting "undo-").
std::set<std::string> generation_records(MemoryFileSystem& fs, const std::string& journal) {
  std::set<std::string> out;
  for (const auto& r : find_records(fs, journal))
    if (r.substr(r.rfind('/') + 1).starts_with("undo-")) out.insert(r);
  return out;
}

// The txid of a kept original's name in the journal ("keep-TXID-HASH",
// journal/generations.hpp), or "" for any other name.
std::string kept_txid(const std::string& record) {
  const std::string name = record.substr(record.rfind('/') + 1);
  constexpr size_t kTxidLength = 25;  // 16 hex "-" 8 hex
  if (!name.starts_with("keep-") || name.size() < 5 + kTxidLength) return "";
  return name.substr(5, kTxidLength);
}

}  // namespace

std::string Violation::to_string() const {
  return "[" + scenario + " / " + tx + "] " + where + ": " + what;
}

ExplorerOptions ExplorerOptions::standard(bool deep) {
  ExplorerOptions o;
  CrashModel subsets = CrashModel::any_subset();
  CrashModel whole_renames = CrashModel::any_subset();
  whole_renames.half_renames = false;
  const size_t scale = deep ? 8 : 1;
  const size_t nested_scale = deep ? 2 : 1;  // recovery's points are many: widen them less
  // Under the sanitizers (testing/test_scale.hpp): every model and every
  // crash point still, an eighth of the images, recovery crashed once deep.
  const size_t div = !deep && small_scale() ? 8 : 1;
  o.models = {{"durable-only", CrashModel::durable_only(), 1},
              {"any-subset", subsets, 256 * scale / div},
              {"ext4-ordered", CrashModel::journaled(), 64 * scale / div},
              {"torn-sectors", CrashModel::torn(), 64 * scale / div},
              {"whole-renames", whole_renames, 32 * scale / div}};
  o.nested_models = {
      {"durable-only", CrashModel::durable_only(), 1},
      {"any-subset", subsets, std::max<size_t>(1, 12 * nested_scale / div)},
      {"torn-sectors", CrashModel::torn(), std::max<size_t>(1, 4 * nested_scale / div)}};
  o.nested_depth = deep ? 3 : div > 1 ? 1 : 2;
  o.deep = deep;
  o.next_tx_models = {{"durable-only", CrashModel::durable_only(), 1},
                      {"any-subset", subsets, 2 * scale}};
  o.next_tx_crash_models = {{"durable-only", CrashModel::durable_only(), 1},
                            {"any-subset", subsets, 3 * scale}};
  return o;
}

struct CrashExplorer::Impl {
  ExplorerOptions opt;
  ExplorerStats stats;
  std::vector<Violation> violations;
  uint64_t violation_count = 0;
  bool stop = false;
  std::set<Key> seen;
  std::map<std::string, std::set<Key>> seen_by_model;
  std::map<std::pair<uint64_t, Key>, std::pair<int, int>> memo;  // → (outcome, depth explored at)
  std::map<std::tuple<uint64_t, Key, int, bool>, int> point_memo;  // recovery crash points → depth
  Rng rng;
  uint64_t next_expectation_id = 1;
  std::string scenario, tx;

  explicit Impl(ExplorerOptions o) : opt(std::move(o)), rng(opt.seed) {}

  void violation(const std::string& where, const std::string& what) {
    ++violation_count;
    if (violations.size() < opt.max_violations_kept)
      violations.push_back({scenario, tx, where, what});
    if (opt.stop_at_first_violation) stop = true;
  }

  // The outcome index the state matches with no record and no shadow, or -1
  // (after reporting why).
  int classify(MemoryFileSystem& fs, const Expectation& ex, const std::string& where) {
    std::string problems;
    for (const auto& s : find_shadows(fs, ex.root)) problems += " orphan shadow " + s + ";";
    const auto generations = generation_records(fs, ex.journal);
    for (const auto& r : find_records(fs, ex.journal)) {
      // A kept original belongs to a generation that is still there.
      const std::string kept = kept_txid(r);
      const std::string owner = kept.empty() ? r : ex.journal + "/undo-" + kept;
      if (ex.generations.empty() || !generations.count(owner))
        problems += (kept.empty() ? " record left " : " orphan kept name ") + r + ";";
    }
    // And a generation still has every original it kept: undo needs them.
    for (const auto& g : generations) {
      try {
        const auto record = journal::decode_manifest(fs.read_file(g), g);
        for (const auto& [path, ino] : journal::kept_names(fs, record)) {
          const auto st = fs.lstat(path);
          if (!st || st->id.ino != ino)
            problems += " generation " + g + " lost its kept original " + path + ";";
        }
      } catch (const Error& e) {
        problems += std::string(" unreadable generation ") + e.what() + ";";
      }
    }
    const Snapshot tree = tree_without_journal(fs, ex.root);
    int match = -1;
    for (size_t i = 0; i < ex.allowed.size(); ++i)
      if (tree == ex.allowed[i] && (ex.generations.empty() || generations == ex.generations[i]))
        match = static_cast<int>(i);
    if (match < 0)
      problems += " not all-" + ex.names[0] + " nor all-" + ex.names[1] + ":" +
                  describe_mismatch(tree, ex.allowed, ex.names);
    if (!problems.empty()) {
      violation(where, shorten(problems, 600));
      return -1;
    }
    return match;
  }

  void count_state(const MemoryFileSystem& fs, const std::string& root, const std::string& model,
                   Key* key) {
    ++stats.images;
    *key = hash_state(fs, root);
    if (seen.insert(*key).second) {
      ++stats.distinct_states;
      ++stats.distinct_per_model[model];
    }
    if (seen_by_model[model].insert(*key).second) ++stats.produced_per_model[model];
  }

  // Recovers a copy of the image; checks the result, idempotence, and (below
  // nested_depth) every crash of that recovery. Returns the outcome or -1.
  int explore(const MemoryFileSystem& image, const Expectation& ex, int depth,
              const std::string& where, const std::string& model) {
    if (stop) return -1;
    Key key;
    count_state(image, ex.root, model, &key);
    const auto memo_key = std::make_pair(ex.id, key);
    if (auto it = memo.find(memo_key); it != memo.end() && it->second.second <= depth)
      return it->second.first;

    auto fs = image.clone();
    fs->reset_trace();
    std::vector<std::unique_ptr<MemoryFileSystem>> points;
    std::vector<std::string> ops;
    const bool nest = depth < max_depth;
    if (nest)
      fs->set_hook([&](const TraceOp& op) {
        points.push_back(fs->clone());
        ops.push_back(to_string(op));
      });
    ++stats.recoveries;
    try {
      recover_with(*fs, ex.journal, opt.skip_sync);
    } catch (const Error& e) {
      violation(where, std::string("recovery failed: ") + e.what());
      return -1;
    }
    fs->set_hook(nullptr);
    const int outcome = classify(*fs, ex, where + " → after recovery");
    if (outcome < 0) return -1;
    const Snapshot once = fs->snapshot("/");
    ++stats.recoveries;
    try {
      recover_with(*fs, ex.journal, opt.skip_sync);
      if (fs->snapshot("/") != once) violation(where, "a second recovery changed the file system");
    } catch (const Error& e) {
      violation(where, std::string("a second recovery failed: ") + e.what());
    }
    memo[memo_key] = {outcome, depth};

    for (size_t j = 0; j < points.size() && !stop; ++j) {
      const bool returned = j + 1 == points.size();
      // A recovery of another state may have passed through this very point.
      const Key point = hash_point(*points[j]);
      const auto point_key = std::make_tuple(ex.id, point, outcome, returned);
      if (auto it = point_memo.find(point_key); it != point_memo.end() && it->second <= depth)
        continue;
      point_memo[point_key] = depth;
      ++stats.recovery_crash_points;
      size_t nest_budget = budget;
      for (const auto& m : opt.nested_models) {
        size_t n = 0;
        // Fewer images the deeper the nesting: the states converge.
        const size_t max = std::max<size_t>(1, m.max_images >> (2 * depth));
        for_each_crash_image(*points[j], m.model, rng, max, [&](CrashImage& img) {
          ++stats.nested_images;
          if (stop) return;
          const std::string at = where + " → recovery crashed after its op " +
                                 std::to_string(j + 1) + "/" + std::to_string(points.size()) +
                                 " (" + ops[j] + "), " + m.name + " image " + std::to_string(n++) +
                                 " [" + shorten(img.description, 160) + "]";
          if (returned) check_final(*img.fs, ex, outcome, at + " (recovery had returned)");
          const bool deeper = nest_budget > 0;
          const uint64_t before = stats.distinct_states;
          const int o = explore(*img.fs, ex, deeper ? depth + 1 : max_depth, at, m.name);
          if (deeper && stats.distinct_states > before) --nest_budget;
          if (o >= 0 && o != outcome)
            violation(at, "the interrupted recovery ended all-" + ex.names[o] +
                              " but the uninterrupted one all-" + ex.names[outcome]);
        });
      }
    }
    return outcome;
  }

  // A state reached after a successful return: it must already be final.
  void check_final(MemoryFileSystem& image, const Expectation& ex, int outcome,
                   const std::string& where) {
    const int o = classify(image, ex, where + ", before any recovery");
    if (o >= 0 && o != outcome)
      violation(where, "the state is all-" + ex.names[o] + " but all-" + ex.names[outcome] +
                           " had returned");
  }

  Expectation expectation(const std::string& root, Snapshot a, Snapshot b, std::string na,
                          std::string nb) {
    Expectation ex;
    ex.id = next_expectation_id++;
    ex.root = root;
    ex.journal = root + "/.bpatch";
    ex.allowed = {std::move(a), std::move(b)};
    ex.names = {std::move(na), std::move(nb)};
    return ex;
  }

  // Runs tx on fs, copying the state after every operation into points.
  bool run_tx(MemoryFileSystem& fs, const std::string& root, const TxSpec& spec,
              std::vector<std::unique_ptr<MemoryFileSystem>>* points, std::vector<std::string>* ops,
              std::string* error) {
    fs.reset_trace();
    if (points)
      fs.set_hook([&](const TraceOp& op) {
        points->push_back(fs.clone());
        ops->push_back(to_string(op));
      });
    ++stats.transactions;
    bool ok = true;
    try {
      if (spec.run) {
        spec.run(fs, root, opt.skip_sync);
      } else {
        TransactionOptions options = explorer_tx_options(root);
        options.keep = spec.keep;
        commit_changes(fs, options, spec.changes, opt.skip_sync);
      }
    } catch (const Error& e) {
      *error = e.what();
      ok = false;
    }
    fs.set_hook(nullptr);
    return ok;
  }

  std::string point_name(size_t k, size_t n, const std::vector<std::string>& ops) {
    return "crash after op " + std::to_string(k + 1) + "/" + std::to_string(n) + " (" + ops[k] +
           ")";
  }

  // Crashes `spec` at every operation, starting from `base`.
  void crash_tx(const MemoryFileSystem& base, const std::string& root, const TxSpec& spec,
                const Snapshot& old_tree, std::unique_ptr<MemoryFileSystem>* done) {
    auto fs = base.clone();
    std::vector<std::unique_ptr<MemoryFileSystem>> points;
    std::vector<std::string> ops;
    std::string error;
    if (!run_tx(*fs, root, spec, &points, &ops, &error)) {
      violation("uninterrupted run", "commit failed: " + error);
      return;
    }
    Expectation ex = expectation(root, old_tree, tree_without_journal(*fs, root), "old", "new");
    // Undo scenarios: which generation records go with each outcome.
    auto before_generations = generation_records(*base.clone(), ex.journal);
    auto after_generations = generation_records(*fs, ex.journal);
    if (!before_generations.empty() || !after_generations.empty())
      ex.generations = {std::move(before_generations), std::move(after_generations)};
    for (const auto& m : opt.models) {
      size_t n = 0;
      for_each_crash_image(*fs, m.model, rng, m.max_images, [&](CrashImage& img) {
        const std::string at = "after commit() returned, " + m.name + " image " +
                               std::to_string(n++) + " [" + shorten(img.description, 160) + "]";
        check_final(*img.fs, ex, 1, at);
        explore(*img.fs, ex, max_depth, at, m.name);
      });
    }
    for (size_t k = 0; k < points.size() && !stop; ++k) {
      ++stats.crash_points;
      size_t nest_budget = budget;
      for (const auto& m : opt.models) {
        size_t n = 0;
        for_each_crash_image(*points[k], m.model, rng, m.max_images, [&](CrashImage& img) {
          const bool nest = nest_budget > 0;
          const uint64_t before = stats.distinct_states;
          explore(*img.fs, ex, nest ? 0 : max_depth,
                  point_name(k, points.size(), ops) + ", " + m.name + " image " +
                      std::to_string(n++) + " [" + shorten(img.description, 160) + "]",
                  m.name);
          if (nest && stats.distinct_states > before) {
            --nest_budget;
            ++stats.states_nested;
          }
        });
      }
    }
    *done = std::move(fs);
    if (next) crash_next_tx(points, ops, ex);
  }

  // The following transaction, started on crash images of this one.
  void crash_next_tx(const std::vector<std::unique_ptr<MemoryFileSystem>>& points,
                     const std::vector<std::string>& ops, const Expectation& ex) {
    // What the next transaction makes of each outcome (run on clean states).
    Snapshot after[2];
    for (int o = 0; o < 2; ++o) {
      auto fs = (o == 0 ? next_old_base : next_new_base)->clone();
      std::string error;
      if (!run_tx(*fs, ex.root, *next, nullptr, nullptr, &error)) {
        violation("uninterrupted run of " + next->name + " on all-" + ex.names[o],
                  "commit failed: " + error);
        return;
      }
      after[o] = tree_without_journal(*fs, ex.root);
    }
    const Expectation next_ex[2] = {
        expectation(ex.root, ex.allowed[0], after[0], "old", next->name + "-on-old"),
        expectation(ex.root, ex.allowed[1], after[1], "new", next->name + "-on-new")};
    for (size_t k = 0; k < points.size() && !stop; ++k) {
      for (const auto& m : opt.next_tx_models) {
        size_t n = 0;
        for_each_crash_image(*points[k], m.model, rng, m.max_images, [&](CrashImage& img) {
          if (stop) return;
          const std::string at = point_name(k, points.size(), ops) + ", " + m.name + " image " +
                                 std::to_string(n++) + " [" + shorten(img.description, 120) +
                                 "], then " + next->name;
          const int o = explore(*img.fs, ex, max_depth, at, m.name);
          if (o < 0) return;
          auto fs = img.fs->clone();
          std::vector<std::unique_ptr<MemoryFileSystem>> next_points;
          std::vector<std::string> next_ops;
          std::string error;
          if (!run_tx(*fs, ex.root, *next, &next_points, &next_ops, &error)) {
            violation(at, "the next transaction was refused: " + error);
            return;
          }
          if (classify(*fs, next_ex[o], at + " returned") != 1)
            violation(at, "the next transaction did not produce its changes on all-" + ex.names[o]);
          for (size_t j = 0; j < next_points.size() && !stop; ++j) {
            ++stats.crash_points;
            for (const auto& nm : opt.next_tx_crash_models) {
              size_t nn = 0;
              for_each_crash_image(
                  *next_points[j], nm.model, rng, nm.max_images, [&](CrashImage& nimg) {
                    explore(*nimg.fs, next_ex[o], std::max(0, max_depth - 1),
                            at + " " + point_name(j, next_points.size(), next_ops) + ", " +
                                nm.name + " image " + std::to_string(nn++) + " [" +
                                shorten(nimg.description, 120) + "]",
                            nm.name);
                  });
            }
          }
        });
      }
    }
  }

  const TxSpec* next = nullptr;
  const MemoryFileSystem* next_old_base = nullptr;
  const MemoryFileSystem* next_new_base = nullptr;

  // This scenario's limits.
  int max_depth = 0;
  size_t budget = SIZE_MAX;

  void run(const Scenario& sc) {
    scenario = sc.name;
    max_depth = std::min(opt.nested_depth, sc.max_nested_depth);
    budget = std::min(opt.nested_states_per_point,
                      sc.nested_states_per_point == SIZE_MAX
                          ? SIZE_MAX
                          : sc.nested_states_per_point * (opt.deep ? 4 : 1));
    auto base = std::make_unique<MemoryFileSystem>();
    if (sc.setup) sc.setup(*base);
    base->sync_all();
    for (size_t i = 0; i < sc.txs.size() && !stop; ++i) {
      tx = sc.txs[i].name;
      const Snapshot old_tree = tree_without_journal(*base, sc.root);
      next = i + 1 < sc.txs.size() ? &sc.txs[i + 1] : nullptr;
      // The next transaction's result on all-old: run it on this base.
      next_old_base = base.get();
      std::unique_ptr<MemoryFileSystem> done;
      if (next) {
        // crash_next_tx needs the all-new state too: run this one cleanly first.
        auto clean = base->clone();
        std::string error;
        if (!run_tx(*clean, sc.root, sc.txs[i], nullptr, nullptr, &error)) {
          violation("uninterrupted run", "commit failed: " + error);
          return;
        }
        clean->sync_all();
        done_base = std::move(clean);
        next_new_base = done_base.get();
      }
      crash_tx(*base, sc.root, sc.txs[i], old_tree, &done);
      if (!done) return;
      done->sync_all();
      base = std::move(done);
    }
    next = nullptr;
  }
  std::unique_ptr<MemoryFileSystem> done_base;
};

CrashExplorer::CrashExplorer(ExplorerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
CrashExplorer::~CrashExplorer() = default;
void CrashExplorer::run(const Scenario& scenario) { impl_->run(scenario); }
const ExplorerStats& CrashExplorer::stats() const { return impl_->stats; }
const std::vector<Violation>& CrashExplorer::violations() const { return impl_->violations; }
uint64_t CrashExplorer::violation_count() const { return impl_->violation_count; }
bool CrashExplorer::stopped() const { return impl_->stop; }

}  // namespace bpatch::testing

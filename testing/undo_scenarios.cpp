// The explored undo operations; see undo_scenarios.hpp.
#include "testing/undo_scenarios.hpp"

#include "bpatch/undo.hpp"
#include "journal/generations.hpp"
#include "testing/crash_checks.hpp"
#include "testing/crash_scenarios.hpp"
#include "txn/commit.hpp"
#include "txn/undo_commit.hpp"

namespace bpatch::testing {
namespace {

const std::string kRoot = "/r";

void initial_tree(MemoryFileSystem& fs) {
  fs.make_dirs("/r/a");
  fs.make_dirs("/r/b");
  fs.write_file("/r/a/x", std::string(3000, 'x') + "the end", 0640);
  fs.write_file("/r/b/gone", "removed by the update", 0751);
  fs.write_file("/r/b/y", "yyyy");
  fs.write_file("/r/same", "untouched");
}

// Edits, replaces, removes and creates (in new directories).
std::vector<Change> update() {
  return {edit_change("a/x", {write_op(10, "EDIT"), insert_op(100, "inserted")}),
          put_change("b/y", "a new y", 0600), remove_change("b/gone"),
          put_change("n/m/new.txt", "created in new directories"), put_change("a/fresh", "new")};
}

void commit_uninterrupted(MemoryFileSystem& fs, std::vector<Change> changes, unsigned keep) {
  TransactionOptions options = explorer_tx_options(kRoot);
  options.keep = keep;
  commit_changes(fs, options, changes, nullptr);
}

// A tree for the tree statements (the lead scenario "tree" of crash_scenarios.cpp).
void tree_setup(MemoryFileSystem& fs) {
  fs.make_dirs("/r/t/old/sub");
  fs.make_dirs("/r/t/d");
  fs.write_file("/r/t/a", "aaaa", 0644);
  fs.write_file("/r/t/plain", "plain file");
  fs.write_file("/r/t/old/sub/f", "in a removed directory");
  fs.make_symlink("a", "/r/t/l");
  fs.make_symlink("nowhere", "/r/t/old/sub/dl");
  fs.make_dirs("/r/t/empty");
}

// Every tree statement: symlinks new, retargeted and over a file, a new
// nested directory, a directory's and a file's mode, removed files in
// removed directories, an empty directory removed.
std::vector<Change> tree_update() {
  return {Change::symlink("t/l2", "a"),
          Change::symlink("t/l", "old/gone"),
          Change::symlink("t/plain", "/abs"),
          Change::mkdir("t/n/inner", 0750),
          put_change("t/n/inner/file", "n"),
          Change::mkdir("t/d", 0700),
          Change::chmod("t/a", 0600),
          remove_change("t/old/sub/f"),
          remove_change("t/old/sub/dl"),
          Change::rmdir("t/old/sub"),
          Change::rmdir("t/old"),
          Change::rmdir("t/empty")};
}

// initial_tree() after update(), committed keeping its undo data.
void updated_tree(MemoryFileSystem& fs) {
  initial_tree(fs);
  commit_uninterrupted(fs, update(), 1);
}

// The explored operation `bpatch undo` (of the newest generation).
TxSpec undo_tx() {
  TxSpec tx{"undo", {}};
  tx.run = [](FileSystem& fs, const std::string& root, const SkipSyncHook& skip) {
    UndoOptions options;
    options.root = root;
    undo_with_hook(fs, options, skip);
  };
  return tx;
}

}  // namespace

std::vector<Scenario> undo_scenarios() {
  std::vector<Scenario> out;
  {
    Scenario s;
    s.name = "tree statements keeping undo data";
    s.setup = tree_setup;
    // Many entries, so many recovery crash points: recovery is crashed one
    // level deep for the first states of each point (the rest recover once).
    s.max_nested_depth = 1;
    s.nested_states_per_point = 2;
    TxSpec tx{"tree keep=1", tree_update()};
    tx.keep = 1;
    s.txs.push_back(std::move(tx));
    out.push_back(std::move(s));
  }
  {
    Scenario s;
    s.name = "undo of tree statements";
    s.max_nested_depth = 1;
    s.setup = [](MemoryFileSystem& fs) {
      tree_setup(fs);
      commit_uninterrupted(fs, tree_update(), 1);
    };
    s.txs.push_back(undo_tx());
    out.push_back(std::move(s));
  }
  {
    Scenario s;
    s.name = "apply keeping undo data";
    s.setup = initial_tree;
    TxSpec tx{"update keep=1", update()};
    tx.keep = 1;
    s.txs.push_back(std::move(tx));
    out.push_back(std::move(s));
  }
  {
    Scenario s;
    s.name = "apply pruning the older generation";
    s.setup = [](MemoryFileSystem& fs) {
      initial_tree(fs);
      commit_uninterrupted(fs, {put_change("b/y", "first"), remove_change("same")}, 1);
    };
    TxSpec tx{"second update keep=1", {put_change("b/y", "second")}};
    tx.keep = 1;
    s.txs.push_back(std::move(tx));
    out.push_back(std::move(s));
  }
  {
    Scenario s;
    s.name = "undo";
    s.setup = updated_tree;
    s.txs.push_back(undo_tx());
    out.push_back(std::move(s));
  }
  {
    Scenario s;
    s.name = "forget all (one generation)";
    s.setup = updated_tree;
    TxSpec tx{"forget all", {}};
    tx.run = [](FileSystem& fs, const std::string& root, const SkipSyncHook& skip) {
      journal::forget_with_hook(fs, root + "/.bpatch", "", 0, skip);
    };
    s.txs.push_back(std::move(tx));
    out.push_back(std::move(s));
  }
  {
    // Each generation is dropped atomically on its own, so the explored
    // operation is the forget of one (here the newest of two).
    Scenario s;
    s.name = "forget TXID";
    s.setup = [](MemoryFileSystem& fs) {
      initial_tree(fs);
      commit_uninterrupted(fs, {put_change("b/y", "first"), remove_change("same")}, 2);
      commit_uninterrupted(fs, update(), 2);
    };
    TxSpec tx{"forget the newest", {}};
    tx.run = [](FileSystem& fs, const std::string& root, const SkipSyncHook& skip) {
      const auto generations = list_generations(fs, root + "/.bpatch");
      journal::forget_with_hook(fs, root + "/.bpatch", generations.back().txid, 0, skip);
    };
    s.txs.push_back(std::move(tx));
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace bpatch::testing

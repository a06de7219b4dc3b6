// The transactions the crash, mutation and fault-injection tests explore:
// 1, 2, 3 and 8 files mixing every op — edits that grow, shrink and keep the
// size, `put` of new files into new and existing directories and over an
// existing file, `remove`, `delta` with a BPS and an IPS patch built by the
// test-side encoders, a Flips-made BPS from fixtures/vectors and a patch made
// by the real `bsdiff` (when it is on PATH) — with targets in several
// directories, move and copy (a move: a hard link and a remove), stacked
// changes (two deltas and an edit of one file; a move, then a delta of the
// moved file), a 36-file one with many names unsynced at once (staged with
// one syncfs), and a second
// transaction after the first in the smaller ones; and a tree of symlinks,
// new, re-moded and removed directories (every tree statement).
//
// Every scenario also carries the contents its first transaction must
// produce, computed independently of bpatch, so the explorer's notion of
// "new" is itself checked.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "testing/crash_explorer.hpp"

namespace bpatch::testing {

struct ScenarioSet {
  std::vector<Scenario> scenarios;
  // Per scenario: the first transaction's expected target contents
  // (absolute path → content, or absent for a removal).
  std::vector<std::map<std::string, std::optional<std::string>>> expected_after_first;
  // Per scenario (by index), where it matters: the type, mode and content
  // (a symlink's text) the first transaction leaves, or absent.
  std::map<size_t, std::map<std::string, std::optional<Node>>> expected_nodes_after_first;
  bool with_bsdiff = false;  // `bsdiff` was found and used
};

// Builds the scenarios (reads fixtures, runs `bsdiff` in a temp dir if present).
ScenarioSet standard_scenarios();

// Change builders.
Change edit_change(std::string target, std::vector<EditOp> ops);
Change put_change(std::string target, std::string content, std::optional<uint32_t> mode = {});
Change remove_change(std::string target);
Change delta_change(std::string target, std::string patch_path);
// The tree statements.
Change symlink_change(std::string target, std::string link_text);
Change mkdir_change(std::string dir, uint32_t mode);
Change rmdir_change(std::string dir);
Change chmod_change(std::string target, uint32_t mode);
EditOp write_op(uint64_t offset, std::string bytes);
EditOp insert_op(uint64_t offset, std::string bytes);
EditOp erase_op(uint64_t offset, uint64_t length);
EditOp fill_op(uint64_t offset, uint64_t length, unsigned char value);
EditOp append_op(std::string bytes);
EditOp truncate_op(uint64_t size);

}  // namespace bpatch::testing

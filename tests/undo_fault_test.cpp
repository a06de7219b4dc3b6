// Fault injection into `bpatch undo`: the N-th call of every kind the undo
// makes (open, write, fsync, link, rename, unlink, mkdir, rmdir, …) fails
// with EIO, for every N. Undo must then either refuse with a plain error —
// the tree, its kept originals and the generation record exactly as before,
// no shadow and no other record left — or report IncompleteCommit, after
// which recover() finishes it; and recover() after a plain error must not
// change anything either.
#include <catch2/catch.hpp>
#include <iostream>

#include "bpatch/error.hpp"
#include "bpatch/recovery.hpp"
#include "testing/crash_checks.hpp"
#include "testing/fault_file_system.hpp"
#include "testing/undo_scenarios.hpp"

using namespace bpatch;
using namespace bpatch::testing;

TEST_CASE("an injected error at any call of undo leaves before, or after once recovered",
          "[undo][faultinjection]") {
  uint64_t runs = 0, refused = 0, incomplete = 0, absorbed = 0;
  for (const auto& s : undo_scenarios()) {
    if (s.txs.size() != 1 || !s.txs[0].run || s.name.find("undo") == std::string::npos) continue;
    auto base = std::make_unique<MemoryFileSystem>();
    s.setup(*base);
    base->sync_all();
    const std::string journal = s.root + "/.bpatch";
    const Snapshot before = base->snapshot(s.root);
    // The undisturbed undo: its call counts and its result.
    std::array<uint64_t, kFsOpCount> calls{};
    Snapshot after;
    {
      auto fs = base->clone();
      FaultFileSystem counting(*fs);
      s.txs[0].run(counting, s.root, nullptr);
      calls = counting.all_calls();
      after = fs->snapshot(s.root);
    }
    REQUIRE(after != before);
    for (size_t op = 0; op < kFsOpCount; ++op) {
      for (uint64_t n = 1; n <= calls[op]; ++n) {
        INFO(s.name << ": " << fs_op_name(static_cast<FsOp>(op)) << " #" << n << " fails");
        auto fs = base->clone();
        FaultFileSystem faulty(*fs);
        faulty.fail_nth(static_cast<FsOp>(op), n, EIO);
        ++runs;
        bool committed = false;
        try {
          s.txs[0].run(faulty, s.root, nullptr);
          ++absorbed;
          committed = true;
        } catch (const IncompleteCommit&) {
          ++incomplete;
          committed = true;
        } catch (const Error& e) {
          ++refused;
          INFO(e.what());
          CHECK(fs->snapshot(s.root) == before);  // nothing changed, nothing left
        }
        recover(*fs, journal);
        CHECK(fs->snapshot(s.root) == (committed ? after : before));
        CHECK(find_shadows(*fs, s.root).empty());
      }
    }
  }
  std::cout << "undo fault injection: " << runs << " runs: " << refused
            << " refused with nothing changed, " << incomplete
            << " incomplete and finished by recover, " << absorbed << " absorbed" << std::endl;
  CHECK(refused > 0);
  CHECK(incomplete > 0);
}

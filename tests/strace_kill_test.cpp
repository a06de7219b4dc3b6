// Real processes, real file system: the bpatch binary runs a 5-file script
// (an edit with a second one stacked on it, a put into a new directory, a
// remove, a bsdiff delta, a move into a new directory) under
// `strace -f -e inject=…`, which SIGKILLs it — or makes the call fail with
// EIO or ENOSPC — at the N-th call of each mutating system call it makes
// (openat, pwrite64, fsync, rename, unlink, mkdir, fchmod, fchown, flock, …),
// for every N from bpatch's first such call (the dynamic loader's before it
// are left out) up to the count of an uninterrupted run. Then `bpatch recover`:
//   killed       → all-new if the manifest had its final name, else all-old,
//                  nothing left behind;
//   exit 1       → the originals untouched and nothing left behind;
//   exit 3       → recover finishes it: all-new;
//   exit 0       → the failure was worked around: all-new.
// `bpatch recover` is itself killed at its N-th call on some of the crashed
// states, and a second recover must then reach that same outcome.
//
// Fails when strace is missing or cannot trace here (testing/oracles.hpp).
// BPATCH_CRASH_DEEP=1 kills recovery at every call of every kind instead of
// a sample.
#include "testing/strace_kill.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>

#include "testing/oracles.hpp"
#include "testing/test_files.hpp"

using namespace bpatch::testing;
namespace fs = std::filesystem;

namespace {

bool deep() {
  const char* v = std::getenv("BPATCH_CRASH_DEEP");
  return v && *v && std::string(v) != "0";
}

bool have_bsdiff() { return oracle_available("bsdiff"); }

// The system calls that change files, directories or locks.
const std::vector<std::string> kMutating = {
    "openat",  "open",     "creat",     "write",     "pwrite64",
    "pwritev", "fsync",    "fdatasync", "syncfs",    "sync_file_range",
    "rename",  "renameat", "renameat2", "unlink",    "unlinkat",
    "mkdir",   "mkdirat",  "rmdir",     "fchmod",    "fchmodat",
    "fchown",  "fchownat", "ftruncate", "fallocate", "copy_file_range",
    "ioctl",   "flock",    "link",      "linkat"};

// The workload: ROOT with a/x, b/y, c/gone, c/mv; a patch and the script beside it.
void make_workload(const std::string& dir) {
  std::mt19937_64 rng(42);
  const std::string x = random_bytes(rng, 3000), y = random_bytes(rng, 2000),
                    gone = random_bytes(rng, 1000);
  write_file(dir + "/root/a/x", x);
  write_file(dir + "/root/b/y", y);
  write_file(dir + "/root/c/gone", gone);
  write_file(dir + "/root/c/mv", random_bytes(rng, 1500));
  const std::string y_new = y.substr(0, 500) + std::string(70, 'N') + y.substr(600);
  write_file(dir + "/ynew", y_new);
  std::string delta = "delta b/y patches/y.patch\n";
  if (have_bsdiff()) {
    fs::create_directories(dir + "/patches");
    const auto r = run({"bsdiff", dir + "/root/b/y", dir + "/ynew", dir + "/patches/y.patch"});
    REQUIRE(r.exit_code == 0);
  } else {
    delta = "edit b/y\n  write 500 hex:4e4e4e4e\n";
  }
  write_file(dir + "/s.bpatch",
             "bpatch 1\nedit a/x\n  write 0x10 hex:deadbeef\n  append hex:0a0b0c\n"
             "put newdir/sub/n.dat hex:00112233445566778899\nremove c/gone\n" +
                 delta +
                 // a move (a hard link, then a rename and an unlink), and a second
                 // change stacked on a/x (through a scratch file)
                 "move c/mv d/moved\nedit a/x\n  insert 0 hex:ff\n");
}

// The tree under ROOT without the journal; records and shadows listed apart.
struct State {
  Tree tree;
  std::vector<std::string> records, shadows;
};

State state_of(const std::string& root) {
  State s;
  for (auto& [path, content] : snapshot(root)) {
    if (path == ".bpatch") continue;
    if (path.starts_with(".bpatch/")) {
      s.records.push_back(path);
      continue;
    }
    const std::string name = path.substr(path.rfind('/') + 1);
    if (name[0] == '.' && name.find(".bpatch-") != std::string::npos) s.shadows.push_back(path);
    s.tree[path] = content;
  }
  return s;
}

std::string outcome(const std::string& root, const Tree& old_tree, const Tree& new_tree) {
  const State s = state_of(root);
  std::string problems;
  for (const auto& r : s.records) problems += " record " + r;
  for (const auto& r : s.shadows) problems += " shadow " + r;
  if (!problems.empty()) return "leftovers:" + problems;
  if (s.tree == old_tree) return "old";
  if (s.tree == new_tree) return "new";
  std::string out = "neither all-old nor all-new:";
  for (const auto& [path, content] : s.tree) {
    const auto o = old_tree.find(path), n = new_tree.find(path);
    const bool is_old = o != old_tree.end() && o->second == content;
    const bool is_new = n != new_tree.end() && n->second == content;
    if (!(is_old && is_new)) out += " " + path + (is_old ? "=old" : is_new ? "=new" : "=neither");
  }
  return out;
}

std::vector<std::string> apply_argv(const std::string& dir) {
  // --keep 0: this sweep is about apply itself (undo_cli_test.cpp kills undo).
  return {bpatch_binary(), "apply",          "-q", "--keep", "0", "--root",
          dir + "/root",   dir + "/s.bpatch"};
}
std::vector<std::string> recover_argv(const std::string& dir) {
  return {bpatch_binary(), "recover", "-q", "--root", dir + "/root"};
}

// A killed process (no power cut) leaves complete files: the transaction is
// committed exactly when its manifest has its final name. With no record
// left, the tree must already be all-old or all-new.
std::string expected_after_recovery(const std::string& root, const Tree& old_tree,
                                    const Tree& new_tree) {
  const State s = state_of(root);
  if (s.records.empty()) return outcome(root, old_tree, new_tree);
  for (const auto& r : s.records)
    if (r.starts_with(".bpatch/manifest-") && !r.ends_with(".tmp")) return "new";
  return "old";
}

}  // namespace

TEST_CASE("bpatch killed or failed at every mutating system call recovers all-old or all-new",
          "[strace][crash]") {
  if (!strace_works()) return;
  const auto start = std::chrono::steady_clock::now();
  Tree old_tree, new_tree;
  std::map<std::string, CallCount> counts, recover_counts;
  {
    TempDir dir;
    make_workload(dir.path());
    old_tree = state_of(dir / "root").tree;
    counts = count_calls(apply_argv(dir.path()), dir.path(), dir / "counts", kMutating);
    new_tree = state_of(dir / "root").tree;
    REQUIRE(outcome(dir / "root", old_tree, new_tree) == "new");
    REQUIRE(new_tree != old_tree);
  }
  {  // What recovery of a committed, unfinished transaction calls (killed at the 2nd renameat).
    TempDir dir;
    make_workload(dir.path());
    run(under_strace("renameat:signal=KILL:when=2", apply_argv(dir.path())));
    recover_counts = count_calls(recover_argv(dir.path()), dir.path(), dir / "counts", kMutating);
  }
  REQUIRE(counts.count("fsync"));
  REQUIRE(counts.count("renameat"));  // every rename beneath ROOT is renameat(2) on descriptors

  uint64_t kills = 0, killed_new = 0, killed_old = 0, recover_kills = 0, error_runs = 0;
  std::map<int, uint64_t> exits;
  for (const auto& [call, count] : counts) {
    for (int nth = count.before + 1; nth <= count.total; ++nth) {
      const std::string at = call + " #" + std::to_string(nth);
      // SIGKILL at the call, then recover.
      const std::string kill = call + ":signal=KILL:when=" + std::to_string(nth);
      {
        INFO("SIGKILL at " << at);
        TempDir dir;
        make_workload(dir.path());
        const auto r = run(under_strace(kill, apply_argv(dir.path())));
        // Not killed when the calls were spread over threads (strace counts per thread).
        if (r.exit_code != -9) CHECK(r.exit_code == 0);
        ++kills;
        const std::string want =
            r.exit_code == 0 ? "new" : expected_after_recovery(dir / "root", old_tree, new_tree);
        const auto rec = run(recover_argv(dir.path()));
        CHECK(rec.exit_code == 0);
        const std::string got = outcome(dir / "root", old_tree, new_tree);
        CHECK(got == want);
        (got == "new" ? killed_new : killed_old)++;
      }
      // Kill recovery too, on a sample of the crashed states (every one when
      // deep). Journal records hold absolute paths, so the crashed state is
      // made again for each run rather than copied.
      if (deep() || nth % 3 == 1) {
        for (const auto& [rcall, rcount] : recover_counts) {
          if (!deep() && rcall != "renameat" && rcall != "unlinkat" && rcall != "fsync") continue;
          for (int m = rcount.before + 1; m <= rcount.total; ++m) {
            INFO("SIGKILL at " << at << ", then recover killed at " << rcall << " #" << m);
            TempDir dir;
            make_workload(dir.path());
            run(under_strace(kill, apply_argv(dir.path())));
            if (state_of(dir / "root").records.empty()) break;  // nothing for recover to do
            const std::string want = expected_after_recovery(dir / "root", old_tree, new_tree);
            run(under_strace(rcall + ":signal=KILL:when=" + std::to_string(m),
                             recover_argv(dir.path())));
            ++recover_kills;
            REQUIRE(run(recover_argv(dir.path())).exit_code == 0);
            CHECK(outcome(dir / "root", old_tree, new_tree) == want);
          }
        }
      }
      // EIO and ENOSPC at the call.
      for (const char* err : {"EIO", "ENOSPC"}) {
        INFO(err << " at " << at);
        TempDir dir;
        make_workload(dir.path());
        const auto r = run(under_strace(call + ":error=" + err + ":when=" + std::to_string(nth),
                                        apply_argv(dir.path())));
        ++error_runs;
        ++exits[r.exit_code];
        INFO("exit " << r.exit_code << ": " << r.err);
        const State s = state_of(dir / "root");
        if (r.exit_code == 0) {
          CHECK(outcome(dir / "root", old_tree, new_tree) == "new");
        } else if (r.exit_code == 3) {
          REQUIRE(run(recover_argv(dir.path())).exit_code == 0);
          CHECK(outcome(dir / "root", old_tree, new_tree) == "new");
        } else {
          // The loader's calls are not swept, so 1 from bpatch, nothing else.
          CHECK(r.exit_code == 1);
          Tree originals = s.tree;
          for (const auto& sh : s.shadows) originals.erase(sh);
          CHECK(originals == old_tree);
          // One failed call, and the roll back's own calls succeed: nothing
          // may be left for recover.
          CHECK(outcome(dir / "root", old_tree, old_tree) == "old");
          REQUIRE(run(recover_argv(dir.path())).exit_code == 0);
          CHECK(outcome(dir / "root", old_tree, new_tree) == "old");
        }
      }
    }
  }
  std::cout << "strace: calls in an uninterrupted apply:";
  for (const auto& [call, count] : counts)
    std::cout << " " << call << "=" << count.total << " (" << count.before
              << " before bpatch's own)";
  std::cout << "\nstrace: " << kills << " SIGKILLs (" << killed_old << " recovered all-old, "
            << killed_new << " all-new), " << recover_kills << " SIGKILLs of recover, "
            << error_runs << " EIO/ENOSPC runs (exit status:";
  for (const auto& [code, n] : exits) std::cout << " " << code << "×" << n;
  std::cout << "); "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()
            << " s" << std::endl;
}

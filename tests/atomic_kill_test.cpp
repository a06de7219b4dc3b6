// Real processes, real file system: `bpatch apply --atomic --root current`
// and then `bpatch undo --root current` run under `strace -f -e inject=…`,
// which SIGKILLs them at the N-th call of each mutating system call
// (openat, pwrite64, fsync, renameat, unlinkat, mkdirat, linkat, symlinkat,
// fchmodat, ioctl, flock, …) for every N from bpatch's first such call up
// to the count of an uninterrupted run. Then `bpatch recover --root current`
// must leave `current` naming exactly the old or exactly the new release —
// the one it named when the process died, since a kill loses no written
// data — with the old release byte for byte intact, no half-built release,
// no temporary link and no unfinished record.
//
// Fails when strace is missing or cannot trace here (testing/oracles.hpp).
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>

#include "testing/strace_kill.hpp"
#include "testing/test_files.hpp"
#include "testing/test_scale.hpp"

using namespace bpatch::testing;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kMutating = {
    "openat",  "open",   "creat",    "write",     "pwrite64", "fsync",     "fdatasync",
    "syncfs",  "rename", "renameat", "renameat2", "unlink",   "unlinkat",  "mkdir",
    "mkdirat", "rmdir",  "fchmod",   "fchmodat",  "fchown",   "fchownat",  "ftruncate",
    "ioctl",   "flock",  "link",     "linkat",    "symlink",  "symlinkat", "copy_file_range"};

void make_deployment(const std::string& dir) {
  write_file(dir + "/releases/v1/a.txt", "alpha 1\n");
  write_file(dir + "/releases/v1/b.txt", "bravo 1\n");
  write_file(dir + "/releases/v1/keep.bin", std::string(5000, 'k'));
  write_file(dir + "/releases/v1/sub/c.txt", "charlie 1\n");
  fs::create_symlink("a.txt", dir + "/releases/v1/sub/to-a");
  fs::create_directory_symlink("releases/v1", dir + "/current");
  write_file(dir + "/update/a2.txt", "alpha 2, longer\n");
  write_file(dir + "/update/u.bpatch",
             "bpatch 1\nput a.txt file:a2.txt\nedit sub/c.txt\n  write 8 hex:32\n"
             "remove b.txt\nput new/n.txt hex:6e65770a\n");
}

std::vector<std::string> apply_argv(const std::string& dir) {
  return {bpatch_binary(),         "apply", "-q", "--atomic", "--root", dir + "/current",
          dir + "/update/u.bpatch"};
}
std::vector<std::string> undo_argv(const std::string& dir) {
  return {bpatch_binary(), "undo", "-q", "--root", dir + "/current"};
}
std::vector<std::string> recover_argv(const std::string& dir) {
  return {bpatch_binary(), "recover", "-q", "--root", dir + "/current"};
}

struct Reference {
  Tree old_release, new_release;  // as seen through `current`
  std::string old_text = "releases/v1";
  bool keep_new = false;  // undo: the new release must stay
};

// "old", "new", or what is wrong.
std::string outcome(const std::string& dir, const Reference& ref) {
  const std::string text = fs::read_symlink(dir + "/current").string();
  const Tree now = snapshot(dir + "/current/");
  if (snapshot(dir + "/releases/v1") != ref.old_release) return "the old release changed";
  std::vector<std::string> releases, stray;
  for (const auto& e : fs::directory_iterator(dir + "/releases"))
    releases.push_back(e.path().filename().string());
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().starts_with("current.")) stray.push_back(e.path());
  if (fs::exists(dir + "/.bpatch"))
    for (const auto& e : fs::directory_iterator(dir + "/.bpatch"))
      if (e.path().filename().string().starts_with("release-")) stray.push_back(e.path());
  if (fs::exists(dir + "/.bpatch/tree"))
    for (const auto& e : fs::directory_iterator(dir + "/.bpatch/tree"))
      if (e.path().filename() != "LOCK") stray.push_back(e.path());
  if (!stray.empty()) return "left behind: " + stray.front();
  const bool is_old = text == ref.old_text;
  if (is_old && now != ref.old_release) return "current names v1 but reads otherwise";
  if (!is_old && now != ref.new_release) return "current names " + text + ", not the new release";
  const size_t want = !is_old || ref.keep_new ? 2 : 1;
  if (releases.size() != want) return std::to_string(releases.size()) + " releases";
  return is_old ? "old" : "new";
}

// Kills `argv` (made by `prepare` in a fresh directory) at every mutating
// call, recovers, and checks the outcome. Returns the kills made.
uint64_t sweep(const std::string& what, const std::function<void(const std::string&)>& prepare,
               const std::function<std::vector<std::string>(const std::string&)>& argv,
               const Reference& ref, uint64_t* olds, uint64_t* news) {
  std::map<std::string, CallCount> counts;
  {
    TempDir dir;
    prepare(dir.path());
    counts = count_calls(argv(dir.path()), dir.path(), dir / "counts", kMutating);
    REQUIRE(outcome(dir.path(), ref) == (what == "undo" ? "old" : "new"));
  }
  REQUIRE(counts.count("renameat"));
  REQUIRE(counts.count("symlinkat"));
  uint64_t kills = 0;
  for (const auto& [call, count] : counts) {
    for (int nth = count.before + 1; nth <= count.total; ++nth) {
      // Under the sanitizers every other call (and always the last).
      if (small_scale() && nth % 2 == 0 && nth != count.total) continue;
      INFO("SIGKILL of " << what << " at " << call << " #" << nth);
      TempDir dir;
      prepare(dir.path());
      const auto r =
          run(under_strace(call + ":signal=KILL:when=" + std::to_string(nth), argv(dir.path())));
      if (r.exit_code != -9) CHECK(r.exit_code == 0);
      ++kills;
      // A kill loses nothing written: the link's content decides.
      const std::string want =
          fs::read_symlink(dir / "current").string() == ref.old_text ? "old" : "new";
      const auto rec = run(recover_argv(dir.path()));
      INFO(rec.out << rec.err);
      CHECK(rec.exit_code == 0);
      const std::string got = outcome(dir.path(), ref);
      CHECK(got == want);
      (got == "new" ? *news : *olds) += 1;
    }
  }
  return kills;
}

}  // namespace

TEST_CASE("apply --atomic and undo killed at every mutating system call recover to one release",
          "[atomic][strace][crash]") {
  if (!strace_works()) return;
  const auto start = std::chrono::steady_clock::now();
  Reference ref;
  {
    TempDir dir;
    make_deployment(dir.path());
    ref.old_release = snapshot(dir / "current/");
    REQUIRE(run(apply_argv(dir.path())).exit_code == 0);
    ref.new_release = snapshot(dir / "current/");
    REQUIRE(ref.new_release.at("a.txt") == "alpha 2, longer\n");
    REQUIRE(ref.new_release.at("sub/c.txt") == "charlie 2\n");
    REQUIRE(ref.new_release.count("b.txt") == 0);
    REQUIRE(ref.new_release != ref.old_release);
  }
  uint64_t olds = 0, news = 0;
  const uint64_t apply_kills = sweep("apply", make_deployment, apply_argv, ref, &olds, &news);
  CHECK(olds > 0);
  CHECK(news > 0);
  // Undo, from a finished update.
  auto updated = [](const std::string& dir) {
    make_deployment(dir);
    REQUIRE(run(apply_argv(dir)).exit_code == 0);
  };
  ref.keep_new = true;
  const uint64_t undo_kills = sweep("undo", updated, undo_argv, ref, &olds, &news);
  std::cout << "atomic strace: " << apply_kills << " SIGKILLs of apply --atomic, " << undo_kills
            << " of undo (" << olds << " recovered to the old release, " << news << " to the new); "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()
            << " s" << std::endl;
}

// The bpatch binary as a user runs it: outputs, exit statuses, files on disk.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

#include "bpatch/posix_file_system.hpp"
#include "testing/oracles.hpp"
#include "testing/strace_kill.hpp"
#include "testing/test_files.hpp"

using namespace bpatch;
using namespace bpatch::testing;

namespace {

// No shadow or journal record anywhere under root. (The undo generation an
// apply keeps by default is not a leftover: is_undo_generation.)
void require_no_leftovers(const std::string& root) {
  for (const auto& [path, content] : snapshot(root)) {
    INFO(path);
    if (is_undo_generation(path)) continue;
    CHECK(path.find(".bpatch-") == std::string::npos);
    CHECK_FALSE(path.starts_with(".bpatch/"));
  }
}

}  // namespace

TEST_CASE("bpatch hash prints what xxhsum -H2 prints", "[cli]") {
  TempDir dir;
  std::mt19937_64 rng(1);
  write_file(dir / "a", random_bytes(rng, 1000));
  write_file(dir / "empty", "");
  write_file(dir / "big", random_bytes(rng, 3 << 20));
  const auto ours = bpatch_cmd({"hash", "a", "empty", "big"}, dir.path());
  REQUIRE(ours.exit_code == 0);
  if (!oracle_available("xxhsum")) {  // allowed to be missing: compare with the library only
    CHECK(ours.out.find(xxh3(read_file(dir / "a")) + "  a\n") != std::string::npos);
    return;
  }
  const auto theirs = run({"xxhsum", "-H2", "a", "empty", "big"}, dir.path());
  REQUIRE(theirs.exit_code == 0);
  CHECK(ours.out == theirs.out);
}

TEST_CASE("exit statuses follow the spec", "[cli]") {
  TempDir dir;
  write_file(dir / "a", "aaaa");
  CHECK(bpatch_cmd({}).exit_code == 2);
  CHECK(bpatch_cmd({"apply"}).exit_code == 2);
  CHECK(bpatch_cmd({"apply", "--no-such-option", "x"}).exit_code == 2);
  CHECK(bpatch_cmd({"frobnicate"}).exit_code == 2);
  CHECK(bpatch_cmd({"--help"}).exit_code == 0);

  write_file(dir / "bad.bpatch", "bpatch 1\nedit a\n  write zz hex:00\n");
  const auto bad = bpatch_cmd({"apply", "bad.bpatch"}, dir.path());
  CHECK(bad.exit_code == 1);
  CHECK(bad.err.find("bad.bpatch") != std::string::npos);
  CHECK(bad.err.find("line 3") != std::string::npos);
  CHECK(read_file(dir / "a") == "aaaa");

  write_file(dir / "missing.bpatch", "bpatch 1\nremove nope\n");
  CHECK(bpatch_cmd({"apply", "missing.bpatch"}, dir.path()).exit_code == 1);

  // A journal held by another bpatch: exit 4 at once.
  write_file(dir / "ok.bpatch", "bpatch 1\nput b hex:00\n");
  PosixFileSystem fs;
  std::filesystem::create_directories(dir / ".bpatch");
  {
    auto lock = fs.try_lock(dir / ".bpatch/LOCK");
    const auto locked = bpatch_cmd({"apply", "ok.bpatch"}, dir.path());
    CHECK(locked.exit_code == 4);
    CHECK(locked.err.find("locked") != std::string::npos);
    CHECK_FALSE(exists(dir / "b"));
  }
  CHECK(bpatch_cmd({"apply", "ok.bpatch"}, dir.path()).exit_code == 0);
  CHECK(read_file(dir / "b") == std::string(1, '\0'));
  require_no_leftovers(dir.path());
}

TEST_CASE("the --wait option waits for a locked journal", "[cli]") {
  TempDir dir;
  write_file(dir / "ok.bpatch", "bpatch 1\nput b hex:00\n");
  std::filesystem::create_directories(dir / ".bpatch");
  PosixFileSystem fs;
  auto lock = fs.try_lock(dir / ".bpatch/LOCK");
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    lock.reset();
  });
  const auto result = bpatch_cmd({"apply", "--wait=20", "ok.bpatch"}, dir.path());
  release.join();
  CHECK(result.exit_code == 0);
  CHECK(exists(dir / "b"));
}

TEST_CASE("single-file bsdiff apply in place and with -o", "[cli][bsdiff]") {
  if (!oracle_available("bsdiff")) return;
  TempDir dir;
  std::mt19937_64 rng(5);
  std::string old_content = random_bytes(rng, 500000), new_content = old_content;
  for (int i = 0; i < 100; ++i) new_content[rng() % new_content.size()] = 'x';
  write_file(dir / "fw.bin", old_content);
  write_file(dir / "side/new.bin", new_content);
  REQUIRE(run({"bsdiff", dir / "fw.bin", dir / "side/new.bin", dir / "side/fw.bsdiff"}).exit_code ==
          0);

  const auto to_output =
      bpatch_cmd({"apply", "side/fw.bsdiff", "fw.bin", "-o", "out/fw-new.bin"}, dir.path());
  // -o into a missing directory is an error: OUTPUT's directory must exist.
  CHECK(to_output.exit_code == 1);
  std::filesystem::create_directories(dir / "out");
  REQUIRE(bpatch_cmd({"apply", "side/fw.bsdiff", "fw.bin", "-o", "out/fw-new.bin"}, dir.path())
              .exit_code == 0);
  CHECK(read_file(dir / "fw.bin") == old_content);
  CHECK(read_file(dir / "out/fw-new.bin") == new_content);

  const auto dry = bpatch_cmd({"apply", "--dry-run", "side/fw.bsdiff", "fw.bin"}, dir.path());
  CHECK(dry.exit_code == 0);
  CHECK(read_file(dir / "fw.bin") == old_content);

  const auto json = bpatch_cmd({"apply", "--json", "side/fw.bsdiff", "fw.bin"}, dir.path());
  REQUIRE(json.exit_code == 0);
  CHECK(json.out.find("\"ok\":true") != std::string::npos);
  CHECK(json.out.find("\"post_hash\":\"" + xxh3(new_content) + "\"") != std::string::npos);
  CHECK(read_file(dir / "fw.bin") == new_content);
  require_no_leftovers(dir.path());
}

TEST_CASE("a damaged bsdiff patch is refused and the target is untouched", "[cli][bsdiff]") {
  if (!oracle_available("bsdiff")) return;
  TempDir dir;
  std::mt19937_64 rng(9);
  std::string old_content = random_bytes(rng, 100000), new_content = old_content;
  for (int i = 0; i < 30; ++i) new_content[rng() % new_content.size()] ^= 1;
  write_file(dir / "t.bin", old_content);
  write_file(dir / "n.bin", new_content);
  REQUIRE(run({"bsdiff", dir / "t.bin", dir / "n.bin", dir / "p"}).exit_code == 0);
  const std::string patch = read_file(dir / "p");
  for (size_t pos = 32; pos < patch.size(); pos += patch.size() / 16) {
    std::string bad = patch;
    bad[pos] ^= 0x10;
    write_file(dir / "bad", bad);
    const auto r = bpatch_cmd({"apply", "bad", "t.bin"}, dir.path());
    INFO("flipped byte " << pos << ": " << r.err);
    if (r.exit_code == 0)
      CHECK(read_file(dir / "t.bin") == new_content);  // harmless flip
    else
      CHECK(read_file(dir / "t.bin") == old_content);
    write_file(dir / "t.bin", old_content);
  }
  require_no_leftovers(dir.path());
}

TEST_CASE("an IPS/BPS/UPS vector applies, and applying it again says already up to date",
          "[cli][bps]") {
  const std::string vectors = source_dir() + "/fixtures/vectors/grow-shift";
  REQUIRE(exists(vectors + "/flips.bps"));  // checked in: never skipped
  TempDir dir;
  write_file(dir / "game.bin", read_file(vectors + "/old.bin"));
  REQUIRE(bpatch_cmd({"apply", vectors + "/flips.bps", "game.bin"}, dir.path()).exit_code == 0);
  CHECK(read_file(dir / "game.bin") == read_file(vectors + "/new.bin"));
  const auto again = bpatch_cmd({"apply", vectors + "/flips.bps", "game.bin"}, dir.path());
  CHECK(again.exit_code == 0);
  CHECK(again.out.find("already up to date") != std::string::npos);
  write_file(dir / "other.bin", "not the source");
  const auto wrong = bpatch_cmd({"apply", vectors + "/flips.bps", "other.bin"}, dir.path());
  CHECK(wrong.exit_code == 1);
  CHECK(read_file(dir / "other.bin") == "not the source");
  require_no_leftovers(dir.path());
}

// The real binary, killed with SIGKILL at random moments of a multi-file
// transaction, must always recover to all-old or all-new.
TEST_CASE("SIGKILL at random moments, then recover: all-old or all-new", "[cli][kill]") {
  TempDir dir;
  std::mt19937_64 rng(2024);
  const int kFiles = 4;
  std::vector<std::string> old_content, new_content;
  std::string script = "bpatch 1\n";
  for (int i = 0; i < kFiles; ++i) {
    const std::string name = "f" + std::to_string(i) + ".bin";
    old_content.push_back(random_bytes(rng, 6 << 20));
    new_content.push_back(old_content.back());
    new_content.back().replace(4096, 4, "\xde\xad\xbe\xef");
    new_content.back().insert(8192, "grown");
    script += "edit " + name + "\n  write 4096 hex:deadbeef\n  insert 8192 hex:67726f776e\n";
  }
  script += "put sub/created.txt hex:6e6577\nremove doomed.txt\n";
  write_file(dir / "t.bpatch", script);

  auto reset = [&] {
    for (int i = 0; i < kFiles; ++i)
      write_file(dir / ("f" + std::to_string(i) + ".bin"), old_content[i]);
    write_file(dir / "doomed.txt", "doomed");
    std::filesystem::remove_all(dir / "sub");
  };
  auto state = [&]() -> std::string {  // "old", "new" or "mixed"
    int olds = 0, news = 0;
    for (int i = 0; i < kFiles; ++i) {
      const std::string c = read_file(dir / ("f" + std::to_string(i) + ".bin"));
      olds += c == old_content[i];
      news += c == new_content[i];
    }
    olds += exists(dir / "doomed.txt") && !exists(dir / "sub/created.txt");
    news += !exists(dir / "doomed.txt") && exists(dir / "sub/created.txt") &&
            read_file(dir / "sub/created.txt") == "new";
    return olds == kFiles + 1 ? "old" : news == kFiles + 1 ? "new" : "mixed";
  };

  // How long an uninterrupted run takes sets the window to kill in.
  reset();
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(bpatch_cmd({"apply", "t.bpatch"}, dir.path()).exit_code == 0);
  const auto full = std::chrono::steady_clock::now() - t0;
  REQUIRE(state() == "new");
  // The classifier itself must see a half-applied tree: one file new, the rest old.
  reset();
  write_file(dir / "f1.bin", new_content[1]);
  REQUIRE(state() == "mixed");
  reset();
  write_file(dir / "sub/created.txt", "new");
  REQUIRE(state() == "mixed");

  int olds = 0, news = 0, killed = 0;
  const int kRounds = 40;
  for (int round = 0; round < kRounds; ++round) {
    reset();
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::chdir(dir.path().c_str());
      const int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::execl(bpatch_binary().c_str(), "bpatch", "apply", "t.bpatch", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    const auto delay =
        std::chrono::duration_cast<std::chrono::microseconds>(full) * (rng() % 1000) / 900;
    std::this_thread::sleep_for(delay);
    ::kill(pid, SIGKILL);
    int status;
    ::waitpid(pid, &status, 0);
    killed += WIFSIGNALED(status);
    const auto rec = bpatch_cmd({"recover"}, dir.path());
    INFO("round " << round << " delay " << delay.count() << "us: " << rec.err);
    REQUIRE(rec.exit_code == 0);
    const std::string s = state();
    REQUIRE(s != "mixed");
    (s == "old" ? olds : news)++;
    require_no_leftovers(dir.path());
  }
  // Both outcomes should occur, or the kill window was mis-measured; a
  // loaded machine may shift them, so only report. But a run in which no
  // process was ever killed proved nothing.
  WARN("SIGKILL rounds: " << olds << " ended all-old, " << news << " all-new, " << killed << " of "
                          << kRounds << " killed before they finished");
  CHECK(killed > 0);
}

namespace {

// The fsync right after the commit rename (the journal directory's, which
// makes the commit durable), counted from the start: an uninterrupted run
// traced for fsync and rename, the first rename being the commit point.
int fsync_after_commit(const std::vector<std::string>& argv, const std::string& log) {
  // LeakSanitizer cannot run under ptrace (an ASan build); leaks are not this test's concern.
  std::vector<std::string> cmd = {
      "env", "ASAN_OPTIONS=detect_leaks=0",          "strace", "-f", "-qq", "-o", log,
      "-e",  "trace=fsync,rename,renameat,renameat2"};
  cmd.insert(cmd.end(), argv.begin(), argv.end());
  REQUIRE(run(cmd).exit_code == 0);
  std::istringstream in(read_file(log));
  int fsyncs = 0;
  bool renamed = false;
  for (std::string line; std::getline(in, line);) {
    // Every rename beneath ROOT is a renameat(2) on directory descriptors.
    for (const char* call : {" rename(", " renameat(", " renameat2("})
      if (line.find(call) != std::string::npos) renamed = true;
    if (line.find("fsync(") == std::string::npos) continue;
    ++fsyncs;
    if (renamed) return fsyncs;
  }
  FAIL("no fsync after the first rename in " << log << ":\n" << read_file(log));
  return 0;
}

}  // namespace

// Exit 3 (IncompleteCommit): the commit rename happened but the sync that
// makes it durable failed. The originals may already be gone, so bpatch
// must say "run recover", and recover must finish the transaction.
TEST_CASE("exit status 3 when the commit cannot be made durable, and recover finishes it",
          "[cli][strace]") {
  if (!strace_works()) return;
  TempDir dir;
  const std::string script = "bpatch 1\nedit a\n  write 0 hex:4242\nput b hex:00\n";
  auto reset = [&] {
    std::filesystem::remove_all(dir / "root");
    write_file(dir / "root/a", "aaaa");
    write_file(dir / "s.bpatch", script);
  };
  const std::vector<std::string> apply = {bpatch_binary(), "apply", "--root", dir / "root",
                                          dir / "s.bpatch"};
  reset();
  const int nth = fsync_after_commit(apply, dir / "trace");
  REQUIRE(read_file(dir / "root/a") == "BBaa");

  reset();
  // LeakSanitizer cannot run under ptrace; this test is about exit statuses.
  std::vector<std::string> cmd = under_strace("fsync:error=EIO:when=" + std::to_string(nth), apply);
  cmd.insert(cmd.begin(), {"env", "ASAN_OPTIONS=detect_leaks=0"});
  const auto r = run(cmd);
  INFO("fsync #" << nth << " failed with EIO: " << r.err);
  REQUIRE(r.exit_code == 3);
  CHECK(r.err.find("recover") != std::string::npos);
  CHECK(exists(dir / "root/.bpatch"));  // the record is still there for recover

  const auto rec = bpatch_cmd({"recover", "--root", dir / "root"});
  INFO(rec.err);
  REQUIRE(rec.exit_code == 0);
  CHECK(read_file(dir / "root/a") == "BBaa");
  CHECK(read_file(dir / "root/b") == std::string(1, '\0'));
  require_no_leftovers(dir / "root");
}

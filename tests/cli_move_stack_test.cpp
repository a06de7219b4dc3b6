// move and stacked changes through the real binary: a script with a move,
// a bsdiff delta (made by `bsdiff`), a zstd patch-from delta (made by
// `zstd`) and an edit of one file applies exactly — the expected content
// computed by `bspatch` and `zstd -d` themselves; moving a 64 MiB file
// copies nothing (the same inode, with its data, under the new name); and
// stacked edits of a 64 MiB file never hold it in memory.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <random>

#include "testing/oracles.hpp"
#include "testing/test_files.hpp"
#include "testing/test_scale.hpp"

using namespace bpatch;
using namespace bpatch::testing;

namespace {

// Text-like bytes, so that bsdiff and zstd find matches.
std::string words(size_t n, uint32_t seed) {
  static const char* vocab[] = {"alpha ", "beta ", "gamma ", "delta\n", "epsilon ", "zeta "};
  std::mt19937 rng(seed);
  std::string out;
  while (out.size() < n) out += vocab[rng() % 6];
  out.resize(n);
  return out;
}

ino_t inode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_ino;
}

void check_ran(const CommandResult& r, const std::string& what) {
  INFO(what << ": " << r.out << r.err);
  REQUIRE(r.exit_code == 0);
}

}  // namespace

TEST_CASE("bpatch apply: a move, a bsdiff and a zstd delta and an edit of one file",
          "[cli][move][stack]") {
  if (!oracle_available("bsdiff") || !oracle_available("bspatch") || !oracle_available("zstd"))
    return;
  TempDir dir;
  const std::string root = dir / "root", work = dir / "work";
  const std::string v0 = words(400000, 1);
  std::string v1 = v0.substr(0, 100000) + "-- a new paragraph --\n" + v0.substr(100000, 250000) +
                   words(30000, 2);
  std::string v2 = v1;
  v2.replace(5000, 64, words(64, 3));
  v2 = v2.substr(0, 300000) + words(50000, 4) + v2.substr(310000);
  write_file(root + "/old/f.dat", v0);
  ::chmod((root + "/old/f.dat").c_str(), 0640);
  write_file(root + "/keep", "kept");
  write_file(work + "/v0", v0);
  write_file(work + "/v1", v1);
  write_file(work + "/v2", v2);
  write_file(dir / "s/keep", "");
  check_ran(run({"bsdiff", work + "/v0", work + "/v1", dir / "s/1.bsdiff"}), "bsdiff");
  check_ran(run({"zstd", "-q", "-19", "--patch-from=" + work + "/v1", work + "/v2", "-o",
                 dir / "s/2.zst"}),
            "zstd");
  // The oracles' own results, not ours.
  check_ran(run({"bspatch", work + "/v0", work + "/t1", dir / "s/1.bsdiff"}), "bspatch");
  check_ran(run({"zstd", "-q", "-d", "--patch-from=" + work + "/t1", dir / "s/2.zst", "-o",
                 work + "/t2"}),
            "zstd -d");
  const std::string t2 = read_file(work + "/t2");
  REQUIRE(t2 == v2);
  const std::string v3 = "HEADER\n" + t2.substr(0, 200000) + t2.substr(200100) + "TRAILER\n";
  write_file(dir / "s/update.bpatch",
             "bpatch 1\n"
             "move old/f.dat new/dir/f.dat expect=xxh3:" +
                 xxh3(v0) +
                 "\n"
                 "delta new/dir/f.dat 1.bsdiff\n"
                 "delta new/dir/f.dat 2.zst\n"
                 "edit new/dir/f.dat result=xxh3:" +
                 xxh3(v3) +
                 "\n"
                 "  insert 0 hex:4845414445520a\n"
                 "  delete 200007 100\n"
                 "  append hex:545241494c45520a\n");
  const auto r = bpatch_cmd({"apply", "--root", root, dir / "s/update.bpatch"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(read_file(root + "/new/dir/f.dat") == v3);
  CHECK_FALSE(exists(root + "/old/f.dat"));
  CHECK(read_file(root + "/keep") == "kept");
  struct stat st {};
  REQUIRE(::stat((root + "/new/dir/f.dat").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);
  for (const auto& [path, content] : snapshot(root)) {
    INFO(path);
    if (is_undo_generation(path)) continue;  // apply's default --keep 1
    CHECK(path.find(".bpatch-") == std::string::npos);
    CHECK_FALSE(path.starts_with(".bpatch/"));
  }
  // Again: the whole stack is already done.
  const auto again = bpatch_cmd({"apply", "--root", root, dir / "s/update.bpatch"});
  INFO(again.out << again.err);
  CHECK(again.exit_code == 0);
  CHECK(read_file(root + "/new/dir/f.dat") == v3);
}

TEST_CASE("bpatch apply: moving a 64 MiB file copies nothing", "[cli][move]") {
  TempDir dir;
  const std::string root = dir / "root";
  std::mt19937_64 rng(5);
  const std::string big = random_bytes(rng, 64 << 20);
  write_file(root + "/releases/big.img", big);
  const ino_t ino = inode_of(root + "/releases/big.img");
  write_file(dir / "s/update.bpatch",
             "bpatch 1\nmove releases/big.img current/big.img expect=xxh3:" + xxh3(big) + "\n");
  const auto r = bpatch_cmd({"apply", "--json", "--root", root, dir / "s/update.bpatch"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(inode_of(root + "/current/big.img") == ino);  // the very inode: no byte copied
  CHECK_FALSE(exists(root + "/releases/big.img"));
  CHECK(r.out.find("\"move\"") != std::string::npos);
  const auto h = bpatch_cmd({"hash", root + "/current/big.img"});
  CHECK(h.out.find(xxh3(big)) == 0);
}

TEST_CASE("bpatch apply: three stacked edits of a 64 MiB file stream through scratch files",
          "[cli][stack]") {
  TempDir dir;
  const std::string root = dir / "root";
  std::mt19937_64 rng(6);
  const std::string v0 = random_bytes(rng, 64 << 20);
  write_file(root + "/f", v0);
  write_file(dir / "s/update.bpatch",
             "bpatch 1\n"
             "edit f expect=xxh3:" +
                 xxh3(v0) +
                 "\n  insert 0 hex:00112233\n"
                 "edit f\n  delete 1000 100\n"
                 "edit f\n  append hex:ff\n  write 30000000 hex:deadbeef\n");
  std::string want = std::string("\x00\x11\x22\x33", 4) + v0;
  want = want.substr(0, 1000) + want.substr(1100) + "\xff";
  want.replace(30000000, 4, "\xde\xad\xbe\xef");
  // Run in a child of our own and watch its peak resident size (VmHWM of
  // the program exec'd, not of the copy of this process before the exec).
  const std::string bin = bpatch_binary();
  const std::string script = dir / "s/update.bpatch";
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::execl(bin.c_str(), bin.c_str(), "apply", "-q", "--root", root.c_str(), script.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const std::string comm = bin.substr(bin.rfind('/') + 1).substr(0, 15);
  long peak_kib = -1;
  int status = 0;
  for (;;) {
    const std::string st = read_file("/proc/" + std::to_string(pid) + "/status");
    const auto name = st.find("Name:\t"), hwm = st.find("VmHWM:");
    if (name != std::string::npos && hwm != std::string::npos &&
        st.compare(name + 6, comm.size() + 1, comm + "\n") == 0)
      peak_kib = std::max(peak_kib, std::stol(st.substr(hwm + 6)));
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    REQUIRE(done >= 0);
    if (done == pid) break;
    ::usleep(2000);
  }
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(read_file(root + "/f") == want);
  // The file is 64 MiB; each intermediate result went through a file.
  INFO("peak RSS " << peak_kib << " KiB");
  CHECK(peak_kib > 0);
  CHECK(peak_kib < scaled<long>(24 << 10, 256 << 10));
  for (const auto& [path, content] : snapshot(root))
    CHECK(path.find(".bpatch-") == std::string::npos);
}

TEST_CASE("bpatch verify: a move is old while its source is there, new once moved", "[cli][move]") {
  TempDir dir;
  const std::string root = dir / "root", bundle = dir / "bundle";
  write_file(root + "/a", "hello");
  write_file(bundle + "/update.bpatch",
             "bpatch 1\ncopy a c\nmove a b expect=xxh3:" + xxh3("hello") + "\n");
  const auto before = bpatch_cmd({"verify", bundle, "--root", root});
  INFO(before.out << before.err);
  CHECK(before.out.find("old      b") != std::string::npos);
  CHECK(before.out.find("old      c") != std::string::npos);
  check_ran(bpatch_cmd({"apply", "--root", root, bundle + "/update.bpatch"}), "apply");
  const auto after = bpatch_cmd({"verify", bundle, "--root", root});
  INFO(after.out << after.err);
  CHECK(after.out.find("new      b") != std::string::npos);
  CHECK(after.out.find("1 new") != std::string::npos);
}

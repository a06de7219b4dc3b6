// `bpatch undo` as a user runs it, on the real file system: an update of
// edits, a bsdiff delta (made by the real tool), puts into new directories,
// a mode change, removes and symlink/mkdir/rmdir/chmod is undone byte for byte with modes and no
// hidden name left; an undo after a user's edit is refused with nothing changed; a 64 MiB original
// is kept without a second copy (its inode, st_blocks); and `bpatch undo` SIGKILLed by strace at
// every mutating system call, then `bpatch recover`, leaves exactly the tree before or after the
// undo.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "testing/oracles.hpp"
#include "testing/strace_kill.hpp"
#include "testing/test_files.hpp"

using namespace bpatch::testing;
namespace fs = std::filesystem;

namespace {

// Everything under root — hidden names and journal records included —
// with type, permission bits and content (symlinks: their target).
using FullTree = std::map<std::string, std::string>;
FullTree full_tree(const std::string& root) {
  FullTree out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    struct stat st;
    REQUIRE(::lstat(e.path().c_str(), &st) == 0);
    std::string v = std::to_string(st.st_mode & 07777) +
                    (S_ISDIR(st.st_mode)   ? " dir"
                     : S_ISLNK(st.st_mode) ? " link " + fs::read_symlink(e.path()).string()
                                           : " file ");
    if (S_ISREG(st.st_mode)) v += read_file(e.path().string());
    out[fs::relative(e.path(), root).string()] = v;
  }
  return out;
}

bool hidden_name_left(const FullTree& tree) {
  for (const auto& [path, v] : tree)
    if (path.find(".bpatch-") != std::string::npos) return true;
  return false;
}

uint64_t blocks_of_tree(const std::string& root) {
  uint64_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    struct stat st;
    REQUIRE(::lstat(e.path().c_str(), &st) == 0);
    total += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  return total;
}

// ROOT with edits, a delta, a put into new directories, a replaced file
// with another mode, a remove and the tree statements (a symlink retargeted
// and one created, a mkdir, an rmdir, a directory's chmod); the script
// beside it.
void make_update(const std::string& dir) {
  std::mt19937_64 rng(7);
  const std::string x = random_bytes(rng, 5000), y = random_bytes(rng, 3000);
  write_file(dir + "/root/a/x", x);
  write_file(dir + "/root/b/y", y);
  write_file(dir + "/root/b/gone", "removed by the update");
  write_file(dir + "/root/c/mode", "mode changes");
  fs::permissions(dir + "/root/b/gone", fs::perms(0751));
  fs::permissions(dir + "/root/a/x", fs::perms(0640));
  fs::create_directories(dir + "/root/empty");
  fs::create_directories(dir + "/root/perm");
  fs::permissions(dir + "/root/perm", fs::perms(0751));
  fs::create_symlink("x", dir + "/root/a/link");
  std::string delta = "edit b/y\n  write 7 hex:0102\n";
  if (oracle_available("bsdiff")) {
    write_file(dir + "/ynew", y.substr(0, 1000) + "inserted" + y.substr(1200));
    REQUIRE(run({"bsdiff", dir + "/root/b/y", dir + "/ynew", dir + "/y.patch"}).exit_code == 0);
    delta = "delta b/y y.patch\n";
  }
  write_file(dir + "/u.bpatch",
             "bpatch 1\nedit a/x\n  write 0x10 hex:deadbeef\n  insert 100 hex:0a0b\n" + delta +
                 "put new/deeper/n.dat hex:00112233\nput c/mode hex:4d4f4445 mode=0600\n"
                 "remove b/gone\nsymlink a/link ../b/y\nsymlink new/l x\nmkdir m mode=0750\n"
                 "rmdir empty\nchmod perm 0700\n");
}

std::vector<std::string> apply_argv(const std::string& dir) {
  return {bpatch_binary(), "apply", "-q", "--root", dir + "/root", dir + "/u.bpatch"};
}
std::vector<std::string> undo_argv(const std::string& dir) {
  return {bpatch_binary(), "undo", "-q", "--root", dir + "/root"};
}

}  // namespace

TEST_CASE("bpatch undo gives back the old tree byte for byte, with modes", "[undo][cli]") {
  TempDir dir;
  make_update(dir.path());
  const FullTree before = full_tree(dir / "root");
  REQUIRE(run(apply_argv(dir.path())).exit_code == 0);
  const FullTree applied = full_tree(dir / "root");
  CHECK(applied != before);
  CHECK_FALSE(hidden_name_left(applied));  // the kept originals are in the journal
  const auto status = bpatch_cmd({"status", "--root", dir / "root"});
  CHECK(status.out.find("undo generation") != std::string::npos);
  const auto undone = bpatch_cmd({"undo", "--root", dir / "root"});
  INFO(undone.err);
  REQUIRE(undone.exit_code == 0);
  FullTree after = full_tree(dir / "root");
  // The journal the apply created stays, with nothing but its LOCK.
  CHECK(after.erase(".bpatch") == 1);
  CHECK(after.erase(".bpatch/LOCK") == 1);
  CHECK(after == before);
  CHECK_FALSE(hidden_name_left(after));
  const auto again = bpatch_cmd({"undo", "--root", dir / "root"});
  CHECK(again.exit_code == 1);
  CHECK(again.err.find("nothing to undo") != std::string::npos);
}

TEST_CASE("bpatch undo after a user edited a file is refused, nothing changed", "[undo][cli]") {
  TempDir dir;
  make_update(dir.path());
  REQUIRE(run(apply_argv(dir.path())).exit_code == 0);
  {  // same size, so only the hash can tell
    std::fstream f(dir / "root/a/x", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(3);
    f.put('!');
  }
  const FullTree edited = full_tree(dir / "root");
  const auto r = bpatch_cmd({"undo", "--root", dir / "root"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("a/x") != std::string::npos);
  CHECK(full_tree(dir / "root") == edited);
  CHECK(bpatch_cmd({"undo", "--force", "--root", dir / "root"}).exit_code == 0);
  CHECK_FALSE(hidden_name_left(full_tree(dir / "root")));
}

TEST_CASE("keeping a 64 MiB original costs no second copy", "[undo][cli]") {
  TempDir dir;
  std::mt19937_64 rng(64);
  write_file(dir / "root/big1", random_bytes(rng, 64 << 20));
  write_file(dir / "root/big2", random_bytes(rng, 64 << 20));
  write_file(dir / "u.bpatch", "bpatch 1\nedit big1\n  write 0 hex:00\nremove big2\n");
  struct stat st1, st2;
  REQUIRE(::stat((dir / "root/big1").c_str(), &st1) == 0);
  REQUIRE(::stat((dir / "root/big2").c_str(), &st2) == 0);
  const uint64_t before = blocks_of_tree(dir / "root");
  REQUIRE(run(apply_argv(dir.path())).exit_code == 0);
  const uint64_t after = blocks_of_tree(dir / "root");
  // The kept names are the original inodes, not copies.
  bool kept1 = false, kept2 = false;
  for (const auto& e : fs::directory_iterator(dir / "root/.bpatch")) {
    struct stat st;
    REQUIRE(::lstat(e.path().c_str(), &st) == 0);
    if (!e.path().filename().string().starts_with("keep-")) continue;
    kept1 = kept1 || st.st_ino == st1.st_ino;
    kept2 = kept2 || st.st_ino == st2.st_ino;
  }
  CHECK(kept1);
  CHECK(kept2);
  // Only the new big1 is new data (a full copy, or less where reflinks
  // share it): the removed big2 and the old big1 cost nothing more.
  std::cout << "undo: tree " << (before >> 20) << " MiB before apply, " << (after >> 20)
            << " MiB after (originals kept)" << std::endl;
  CHECK(after <= before + (64u << 20) + (1u << 20));
  const auto status = bpatch_cmd({"status", "--json", "--root", dir / "root"});
  CHECK(status.out.find("\"disk_cost\":134") != std::string::npos);  // 2 × 64 MiB kept
  REQUIRE(bpatch_cmd({"forget", "--root", dir / "root"}).exit_code == 0);
  CHECK(blocks_of_tree(dir / "root") <= before / 2 + (1u << 20));
  CHECK_FALSE(hidden_name_left(full_tree(dir / "root")));
}

namespace {

const std::vector<std::string> kMutating = {
    "openat",    "write",     "pwrite64", "fsync", "fdatasync", "rename", "renameat",
    "renameat2", "unlink",    "unlinkat", "mkdir", "mkdirat",   "rmdir",  "fchmod",
    "fchmodat",  "ftruncate", "flock",    "link",  "linkat"};

}  // namespace

TEST_CASE("bpatch undo SIGKILLed at every mutating system call, then recover: before or after",
          "[undo][strace][crash]") {
  if (!strace_works()) return;
  const auto start = std::chrono::steady_clock::now();
  FullTree after;
  std::map<std::string, CallCount> counts;
  {
    TempDir dir;
    make_update(dir.path());
    REQUIRE(run(apply_argv(dir.path())).exit_code == 0);
    counts = count_calls(undo_argv(dir.path()), dir.path(), dir / "counts", kMutating);
    after = full_tree(dir / "root");
    CHECK_FALSE(hidden_name_left(after));
  }
  REQUIRE(counts.count("linkat"));  // the shadows are hard links of the kept originals
  REQUIRE(counts.count("renameat"));
  uint64_t kills = 0, got_before = 0, got_after = 0;
  for (const auto& [call, count] : counts) {
    for (int nth = count.before + 1; nth <= count.total; ++nth) {
      INFO("SIGKILL at " << call << " #" << nth);
      TempDir dir;
      make_update(dir.path());
      REQUIRE(run(apply_argv(dir.path())).exit_code == 0);
      const FullTree before = full_tree(dir / "root");
      const auto r = run(
          under_strace(call + ":signal=KILL:when=" + std::to_string(nth), undo_argv(dir.path())));
      if (r.exit_code != -9) CHECK(r.exit_code == 0);
      ++kills;
      REQUIRE(bpatch_cmd({"recover", "-q", "--root", dir / "root"}).exit_code == 0);
      const FullTree got = full_tree(dir / "root");
      const bool is_before = got == before, is_after = got == after;
      CHECK((is_before || is_after));
      (is_after ? got_after : got_before) += 1;
      // Whatever it ended as, a later undo or apply works from there.
      if (is_before) CHECK(run(undo_argv(dir.path())).exit_code == 0);
      CHECK(full_tree(dir / "root") == after);
    }
  }
  std::cout << "undo strace: " << kills << " SIGKILLs of bpatch undo (" << got_before
            << " recovered to before, " << got_after << " to after); calls:";
  for (const auto& [call, count] : counts) std::cout << " " << call << "=" << count.total;
  std::cout << "; "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()
            << " s" << std::endl;
}

// Trust boundaries, as an attacker with write access to ROOT (but not to the
// journal) would try them against root's `bpatch recover` and `bpatch apply`:
// forged journals, records that name paths outside ROOT, and a directory
// swapped for a symlink while bpatch works. Each must be refused (exit 1) or
// harmless, and nothing outside ROOT may change.
//
// Run as root with an unprivileged account that the test creates; skipped,
// saying so, when not root.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "base/paths.hpp"
#include "journal/records.hpp"
#include "testing/test_files.hpp"

using namespace bpatch;
using namespace bpatch::testing;

namespace {

constexpr const char* kAttacker = "bpatch-attacker";

// The attacker's uid, creating the account on first use; 0 when not root.
uid_t attacker_uid() {
  if (::geteuid() != 0) return 0;
  if (std::system("id -u bpatch-attacker >/dev/null 2>&1") != 0)
    REQUIRE(std::system("useradd -M -r -s /usr/sbin/nologin bpatch-attacker") == 0);
  const auto r = run({"id", "-u", kAttacker});
  REQUIRE(r.exit_code == 0);
  return static_cast<uid_t>(std::stoul(r.out));
}

void chown_tree(const std::string& path, uid_t uid) {
  REQUIRE(std::system(("chown -R " + std::to_string(uid) + " '" + path + "'").c_str()) == 0);
}

// A root-owned victim outside ROOT, and a tree ROOT the attacker owns.
struct Setup {
  TempDir dir;
  std::string root = dir / "root";
  std::string victim = dir / "etc/passwd";
  std::string journal = root + "/.bpatch";
  uid_t attacker = attacker_uid();

  Setup() {
    write_file(victim, "root:x:0:0\n");
    write_file(root + "/app/data.bin", "old data");
    ::chmod(dir.path().c_str(), 0755);
  }

  // A committed manifest that renames the attacker's file over the victim,
  // with a valid checksum (anyone can compute one).
  void forge_manifest(const std::string& txid, std::string recorded_root = "") {
    std::filesystem::create_directories(journal);
    const std::string evil = root + "/evil";
    write_file(evil, "attacker::0:0\n");
    journal::ManifestRecord m;
    m.txid = txid;
    m.journal = journal;
    m.root = recorded_root.empty() ? root : recorded_root;
    journal::ManifestEntry e;
    e.op = journal::ManifestEntry::Op::replace;
    e.target = victim;
    e.shadow = evil;
    struct stat st;
    REQUIRE(::stat(evil.c_str(), &st) == 0);
    e.ino = st.st_ino;
    e.size = static_cast<uint64_t>(st.st_size);
    e.mode = 0644;
    m.entries.push_back(e);
    write_file(journal + "/manifest-" + txid, journal::encode_manifest(m));
    write_file(journal + "/LOCK", "");
  }

  CommandResult recover() { return run({bpatch_binary(), "recover", "--root", root}); }
};

}  // namespace

TEST_CASE("a journal another user owns or can write is refused, touching nothing", "[trust]") {
  Setup s;
  if (s.attacker == 0) {
    WARN("not root: the journal-ownership attacks were skipped");
    return;
  }
  const std::string txid = "00000000000000aa-00000001";
  s.forge_manifest(txid);
  SECTION("a journal directory planted by the attacker") { chown_tree(s.journal, s.attacker); }
  SECTION("a root-owned journal that others may write") { ::chmod(s.journal.c_str(), 0777); }
  SECTION("a LOCK the attacker owns") {
    REQUIRE(::chown((s.journal + "/LOCK").c_str(), s.attacker, 0) == 0);
  }
  SECTION("a record the attacker owns") {
    REQUIRE(::chown((s.journal + "/manifest-" + txid).c_str(), s.attacker, 0) == 0);
  }
  SECTION("a record others may write") { ::chmod((s.journal + "/manifest-" + txid).c_str(), 0666); }
  const Tree before = snapshot(s.dir.path());
  const auto r = s.recover();
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(snapshot(s.dir.path()) == before);
  CHECK(read_file(s.victim) == "root:x:0:0\n");

  // `apply` recovers first, so it refuses the same journal, writing nothing.
  write_file(s.dir / "u.bpatch", "bpatch 1\nput new.txt hex:00\n");
  const auto a = run({bpatch_binary(), "apply", s.dir / "u.bpatch", "--root", s.root});
  CHECK(a.exit_code == 1);
  CHECK_FALSE(exists(s.root + "/new.txt"));
  CHECK(read_file(s.victim) == "root:x:0:0\n");
}

TEST_CASE("a record of our own that names paths outside its root is refused", "[trust]") {
  Setup s;
  if (s.attacker == 0) {
    WARN("not root: skipped");
    return;
  }
  const std::string txid = "00000000000000aa-00000001";
  // Root-owned records this time: only the paths they name are wrong.
  SECTION("a target outside the recorded root") { s.forge_manifest(txid); }
  SECTION("a recorded root wider than ROOT, and a shadow not named for its target") {
    s.forge_manifest(txid, s.dir.path());
  }
  const Tree before = snapshot(s.dir.path());
  const auto r = s.recover();
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(snapshot(s.dir.path()) == before);
  CHECK(read_file(s.victim) == "root:x:0:0\n");
}

TEST_CASE("a directory swapped for a symlink while bpatch works cannot redirect its writes",
          "[trust]") {
  Setup s;
  if (s.attacker == 0) {
    WARN("not root: skipped");
    return;
  }
  // The swap happens while bpatch is held at its first fsync (a shadow's),
  // after validation: ROOT/app becomes a symlink to the victim's directory.
  const std::string outside = std::filesystem::path(s.victim).parent_path().string();
  write_file(outside + "/data.bin", "precious");
  write_file(s.dir / "u.bpatch",
             "bpatch 1\nedit app/data.bin\n  write 0 hex:4e45\nput app/new.bin hex:00\n");
  const Tree outside_before = snapshot(outside);
  std::string command = "strace -f -qq -o /dev/null -e trace=fsync -e inject=fsync:delay_enter=" +
                        std::to_string(600000) + ":when=1 " + bpatch_binary() + " apply '" +
                        (s.dir / "u.bpatch") + "' --root '" + s.root + "' 2>" + (s.dir / "err");
  std::thread attacker([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    std::filesystem::rename(s.root + "/app", s.root + "/app.moved");
    std::filesystem::create_directory_symlink(outside, s.root + "/app");
  });
  const int status = std::system(command.c_str());
  attacker.join();
  const std::string err = read_file(s.dir / "err");
  INFO(err);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
  // Refused because of the swap, not for some other reason.
  CHECK_THAT(err, Catch::Matchers::Contains("symbolic link") ||
                      Catch::Matchers::Contains("changed while bpatch was working"));
  // Nothing outside ROOT changed, created or removed.
  CHECK(snapshot(outside) == outside_before);
  CHECK(read_file(s.victim) == "root:x:0:0\n");
  // The original stays as it was, in the directory that was moved.
  CHECK(read_file(s.root + "/app.moved/data.bin") == "old data");
  // And the journal is not stuck: recovery runs, and leaves nothing outside.
  const auto r = s.recover();
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(snapshot(outside) == outside_before);
}

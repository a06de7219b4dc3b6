// Issue 9, item 3: a patched file keeps its owner, its set-id bits, its
// POSIX ACL, its file capabilities and its user.* attributes — checked with
// the real tools (stat, getfacl, getcap, getfattr) on real files.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "trust_support.hpp"

using namespace bpatch::testing;

namespace {

struct stat stat_of(const std::string& path) {
  struct stat st;
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st;
}

// A tree with `name` holding 64 bytes, and a script that edits 4 of them.
void make_target(const TempDir& dir, const std::string& name) {
  write_file(dir / name, std::string(64, 'a'));
  write_file(dir / "t.bpatch", "bpatch 1\nedit " + name + "\n  write 8 hex:deadbeef\n");
}

void apply_ok(const TempDir& dir) {
  const auto r = bpatch_run({"apply", "t.bpatch"}, dir.path());
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
}

void check_edited(const TempDir& dir, const std::string& name) {
  std::string want(64, 'a');
  want.replace(8, 4, "\xde\xad\xbe\xef");
  CHECK(read_file(dir / name) == want);
}

std::string tool_output(const std::vector<std::string>& argv) {
  const auto r = run(argv);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return r.out;
}

}  // namespace

TEST_CASE("a set-id file keeps its set-id bits and owner", "[trust][metadata]") {
  BPATCH_REQUIRE_ROOT();
  const Account user = unprivileged_account();
  TempDir dir;
  for (const auto& [name, uid, gid, mode] :
       std::vector<std::tuple<std::string, uint32_t, uint32_t, mode_t>>{
           {"su-root", 0, 0, 04755}, {"su-user", user.uid, user.gid, 06750}}) {
    INFO(name);
    make_target(dir, name);
    REQUIRE(::chown((dir / name).c_str(), uid, gid) == 0);
    REQUIRE(::chmod((dir / name).c_str(), mode) == 0);  // after chown, which clears them
    apply_ok(dir);
    check_edited(dir, name);
    const struct stat st = stat_of(dir / name);
    CHECK((st.st_mode & 07777) == mode);
    CHECK(st.st_uid == uid);
    CHECK(st.st_gid == gid);
  }
}

TEST_CASE("a file keeps its POSIX ACL", "[trust][metadata]") {
  BPATCH_REQUIRE_ROOT();
  require_tool("setfacl");
  require_tool("getfacl");
  TempDir dir;
  make_target(dir, "f");
  const auto set = run({"setfacl", "-m", "u:nobody:r", dir / "f"});
  if (set.exit_code != 0) {
    WARN("skipped: this file system has no ACLs: " + set.err);
    return;
  }
  const std::string before = tool_output({"getfacl", "-cp", dir / "f"});
  REQUIRE(before.find("user:nobody:r--") != std::string::npos);
  apply_ok(dir);
  check_edited(dir, "f");
  CHECK(tool_output({"getfacl", "-cp", dir / "f"}) == before);
}

TEST_CASE("a file keeps its file capabilities", "[trust][metadata]") {
  BPATCH_REQUIRE_ROOT();
  require_tool("setcap");
  require_tool("getcap");
  TempDir dir;
  make_target(dir, "ping");
  REQUIRE(::chmod((dir / "ping").c_str(), 0755) == 0);
  const auto set = run({"setcap", "cap_net_raw+ep", dir / "ping"});
  if (set.exit_code != 0) {
    WARN("skipped: cannot set file capabilities here: " + set.err);
    return;
  }
  const std::string before = tool_output({"getcap", dir / "ping"});
  REQUIRE(before.find("cap_net_raw") != std::string::npos);
  apply_ok(dir);
  check_edited(dir, "ping");
  CHECK(tool_output({"getcap", dir / "ping"}) == before);
  CHECK((stat_of(dir / "ping").st_mode & 07777) == 0755);
}

TEST_CASE("a file keeps its user.* extended attributes", "[trust][metadata]") {
  require_tool("setfattr");
  require_tool("getfattr");
  TempDir dir;
  make_target(dir, "f");
  const auto set = run({"setfattr", "-n", "user.origin", "-v", "vendor-42", dir / "f"});
  if (set.exit_code != 0) {
    WARN("skipped: this file system has no user.* attributes: " + set.err);
    return;
  }
  REQUIRE(run({"setfattr", "-n", "user.empty", dir / "f"}).exit_code == 0);
  const std::string before = tool_output({"getfattr", "-d", "--absolute-names", dir / "f"});
  REQUIRE(before.find("user.origin=\"vendor-42\"") != std::string::npos);
  apply_ok(dir);
  check_edited(dir, "f");
  CHECK(tool_output({"getfattr", "-d", "--absolute-names", dir / "f"}) == before);
}

// Issue 9, items 6 and 7 (the parts in this file's tests): hostile file
// names in --json and text output, usage errors, file: paths leading out of
// the script's directory, and a process that may not start threads.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "trust_support.hpp"

using namespace bpatch::testing;

namespace {

// Python's json module as the oracle: strict UTF-8 decoding, then parsing.
bool valid_json(const std::string& text) {
  TempDir dir;
  write_file(dir / "out.json", text);
  const auto r = run({"python3", "-c",
                      "import json,sys; json.loads(open(sys.argv[1],'rb').read().decode('utf-8'))",
                      dir / "out.json"});
  return r.exit_code == 0;
}

// An IPS patch writing "A" at offset 0: hostile names come from the command
// line (scripts must be UTF-8 without control characters).
const std::string kIps = std::string("PATCH") + std::string("\0\0\0\0\1", 5) + "AEOF";

}  // namespace

TEST_CASE("the --json report is valid JSON for file names that are not UTF-8", "[trust][output]") {
  require_tool("python3");
  TempDir dir;
  const std::string name = std::string("latin1-\xe9-\xff-\xc3(-") + "\x1b[31m-\x7f-ok-\xc3\xa9";
  write_file(dir / name, "old");
  write_file(dir / "p.ips", kIps);
  const auto r = bpatch_run({"apply", "--json", "p.ips", name}, dir.path());
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(valid_json(r.out));
  CHECK(r.out.find("latin1-\\u00e9-\\u00ff-\\u00c3(-\\u001b[31m-\\u007f-ok-\xc3\xa9") !=
        std::string::npos);
  CHECK(read_file(dir / name) == "Ald");
  // And an error naming such a file.
  const auto bad = bpatch_run({"apply", "--json", "p.ips", name + "-missing"}, dir.path());
  CHECK(bad.exit_code == 1);
  CHECK(valid_json(bad.out));
}

TEST_CASE("text output and errors quote control characters", "[trust][output]") {
  TempDir dir;
  const std::string name = "evil\nname\t\x1b]0;x\x07";
  write_file(dir / name, "old");
  write_file(dir / "p.ips", kIps);
  const auto r = bpatch_run({"apply", "p.ips", name}, dir.path());
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(read_file(dir / name) == "Ald");
  CHECK(r.out.find("evil\\nname\\t\\033]0;x\\007") != std::string::npos);
  CHECK(r.out.find('\x1b') == std::string::npos);
  const auto bad = bpatch_run({"apply", "p.ips", name + "-missing"}, dir.path());
  CHECK(bad.exit_code == 1);
  CHECK(bad.err.find("evil\\nname") != std::string::npos);
  CHECK(bad.err.find('\x1b') == std::string::npos);
  CHECK(std::count(bad.err.begin(), bad.err.end(), '\n') == 1);
}

TEST_CASE("apply SCRIPT TARGET is a usage error (exit 2)", "[trust][output]") {
  TempDir dir;
  write_file(dir / "t.bpatch", "bpatch 1\nput x hex:41\n");
  write_file(dir / "target", "T");
  const auto r = bpatch_run({"apply", "t.bpatch", "target"}, dir.path());
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("takes no TARGET") != std::string::npos);
  CHECK(read_file(dir / "target") == "T");
  CHECK_FALSE(exists(dir / "x"));
}

TEST_CASE("file: and patch paths cannot lead out of the script's directory through a symlink",
          "[trust][output]") {
  TempDir dir;
  write_file(dir / "secret/key", "SECRET");
  write_file(dir / "root/f", "old");
  write_file(dir / "scripts/blobs/ok.bin", "OK");
  REQUIRE(::symlink((dir / "secret").c_str(), (dir / "scripts/out").c_str()) == 0);
  REQUIRE(::symlink("blobs", (dir / "scripts/inside").c_str()) == 0);
  write_file(dir / "scripts/leak.bpatch", "bpatch 1\nput f file:out/key\n");
  write_file(dir / "scripts/leak2.bpatch", "bpatch 1\nedit f\n  append file:out/key\n");
  write_file(dir / "scripts/leak3.bpatch", "bpatch 1\ndelta f out/key\n");
  for (const char* script : {"leak.bpatch", "leak2.bpatch", "leak3.bpatch"}) {
    INFO(script);
    const auto r =
        bpatch_run({"apply", "--root", dir / "root", dir / ("scripts/" + std::string(script))});
    INFO(r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("leads outside") != std::string::npos);
    CHECK(read_file(dir / "root/f") == "old");
  }
  // A symlink that stays inside keeps working.
  write_file(dir / "scripts/ok.bpatch", "bpatch 1\nput f file:inside/ok.bin\n");
  const auto ok = bpatch_run({"apply", "--root", dir / "root", dir / "scripts/ok.bpatch"});
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(read_file(dir / "root/f") == "OK");
}

TEST_CASE("a process that may not start threads still commits", "[trust][output]") {
  BPATCH_REQUIRE_ROOT();
  require_tool("runuser");
  require_tool("prlimit");
  const Account user = unprivileged_account();
  TempDir dir;
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
  std::string script = "bpatch 1\n";
  for (int i = 0; i < 40; ++i) script += "put f" + std::to_string(i) + " hex:41\n";
  write_file(dir / "tree/t.bpatch", script);
  REQUIRE(::chown((dir / "tree").c_str(), user.uid, user.gid) == 0);
  // A copy the user can reach: the build tree may lie below a directory
  // only root may enter (a `mktemp -d` clone is 0700).
  const std::string binary = dir / "bpatch";
  std::filesystem::copy_file(bpatch_binary(), binary);
  REQUIRE(::chmod(binary.c_str(), 0755) == 0);
  // RLIMIT_NPROC 1: the process itself is the only one its (fresh) user may have.
  // LeakSanitizer (an ASan build) needs a thread of its own at exit, which
  // this limit forbids; leaks are not this test's concern.
  const auto r = run({"runuser", "-u", user.name, "--", "env", "ASAN_OPTIONS=detect_leaks=0",
                      "prlimit", "--nproc=1:1", binary, "apply", "t.bpatch"},
                     dir / "tree");
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.exit_code != -6);  // not std::terminate's SIGABRT
  for (int i = 0; i < 40; ++i) CHECK(read_file(dir / "tree/f" + std::to_string(i)) == "A");
}

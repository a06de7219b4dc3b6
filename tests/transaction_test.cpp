// Transactions on the real file system: every op against an independently
// computed expectation, and every validation failure leaving all originals
// byte-identical with no stray file.
#include "bpatch/transaction.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "bpatch/error.hpp"
#include "bpatch/posix_file_system.hpp"
#include "bpatch/recovery.hpp"
#include "bpatch/script.hpp"
#include "testing/oracles.hpp"
#include "testing/test_files.hpp"

using namespace bpatch;
using namespace bpatch::testing;

namespace {

std::string hex_of(const std::string& bytes) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

CommitResult run_script(const TempDir& dir, const std::string& script, bool dry_run = false) {
  PosixFileSystem fs;
  TransactionOptions options;
  options.root = dir.path();
  options.dry_run = dry_run;
  Transaction tx(fs, options);
  for (auto& c : parse_script(script, "test.bpatch", dir.path())) tx.add(std::move(c));
  return tx.commit();
}

Errc failure_of(const TempDir& dir, const std::string& script) {
  try {
    run_script(dir, script);
  } catch (const Error& e) {
    UNSCOPED_INFO("error: " << e.what());
    return e.code();
  }
  FAIL("the transaction was expected to fail");
  return Errc::io;
}

}  // namespace

TEST_CASE("a script with every op produces exactly the expected files", "[transaction]") {
  TempDir dir;
  std::mt19937_64 rng(42);
  const std::string fw = random_bytes(rng, 300000);
  const std::string blob = random_bytes(rng, 5000);
  write_file(dir / "fw.bin", fw);
  write_file(dir / "blobs/hdr.bin", blob);
  write_file(dir / "old/legacy.dat", "legacy");
  write_file(dir / "keep.txt", "untouched");
  ::chmod((dir / "fw.bin").c_str(), 0751);

  // The expected result, computed independently on a std::string.
  std::string want = fw;
  want.replace(0x10, 4, "\xde\xad\xbe\xef");
  want.replace(0x100, 4096, std::string(4096, '\0'));
  want.insert(0x2000, blob);
  want.erase(0x3000, 16);
  want.resize(1048576, '\0');
  want += "\n";

  const std::string script = "bpatch 1\n# a comment\nedit fw.bin expect=xxh3:" + xxh3(fw) +
                             "\n"
                             "  write 0x10 hex:deadbeef\n"
                             "  fill 0x100 4096 0x00\n"
                             "  insert 0x2000 file:blobs/hdr.bin\n"
                             "  delete 0x3000 16\n"
                             "  truncate 1048576\n"
                             "  append hex:0a\n"
                             "put assets/new.dat file:blobs/hdr.bin mode=0640\n"
                             "remove old/legacy.dat\n";
  const auto result = run_script(dir, script);
  CHECK_FALSE(result.txid.empty());
  REQUIRE(result.files.size() == 3);
  CHECK(read_file(dir / "fw.bin") == want);
  CHECK(result.files[0].post_hash->hex() == xxh3(want));
  CHECK(read_file(dir / "assets/new.dat") == blob);
  CHECK_FALSE(exists(dir / "old/legacy.dat"));
  CHECK(read_file(dir / "keep.txt") == "untouched");

  struct stat st;
  REQUIRE(::stat((dir / "fw.bin").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0751);  // the target's mode is kept
  REQUIRE(::stat((dir / "assets/new.dat").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);

  // Nothing else is left: no shadow, no record.
  const Tree tree = snapshot(dir.path());
  for (const auto& [path, content] : tree) {
    INFO(path);
    CHECK(path.find(".bpatch-") == std::string::npos);
  }
  CHECK(tree.at(".bpatch") == "dir");
  CHECK(journal_status(*std::make_unique<PosixFileSystem>(), dir / ".bpatch").empty());
}

TEST_CASE("a dry run validates and decodes but writes nothing", "[transaction]") {
  TempDir dir;
  write_file(dir / "a.bin", "hello world");
  const Tree before = snapshot(dir.path());
  const auto result =
      run_script(dir, "bpatch 1\nedit a.bin\n  write 0 hex:4a\nput b hex:00\n", true);
  CHECK(result.dry_run);
  CHECK(result.txid.empty());
  REQUIRE(result.files.size() == 2);
  CHECK(result.files[0].post_hash->hex() == xxh3("Jello world"));
  CHECK(snapshot(dir.path()) == before);  // not even a journal directory
}

TEST_CASE("every validation failure leaves the originals byte-identical and no stray file",
          "[transaction]") {
  TempDir dir;
  std::mt19937_64 rng(7);
  write_file(dir / "a.bin", random_bytes(rng, 10000));
  write_file(dir / "b.bin", random_bytes(rng, 10000));
  write_file(dir / "sub/c.bin", random_bytes(rng, 100));
  write_file(dir / "not-a-patch.txt", "hello");
  write_file(dir / "../outside-" + std::to_string(::getpid()), "outside");
  std::filesystem::create_symlink("/etc", dir / "etc-link");
  std::filesystem::create_symlink("a.bin", dir / "inside-link");
  std::filesystem::create_directory(dir / "adir");
  ::link((dir / "b.bin").c_str(), (dir / "b-hardlink.bin").c_str());
  ::mkfifo((dir / "fifo").c_str(), 0600);
  // A first, good statement in every case proves that nothing is written
  // for it either when a later one fails.
  const std::string good = "bpatch 1\nedit a.bin\n  write 0 hex:ff\nput new/x.bin hex:01\n";
  const Tree before = snapshot(dir.path());

  const std::vector<std::pair<std::string, Errc>> cases = {
      {good + "edit missing.bin\n  write 0 hex:00\n", Errc::not_found},
      {good + "remove missing.bin\n", Errc::not_found},
      {good + "edit sub/c.bin expect=xxh3:00000000000000000000000000000000\n  write 0 hex:00\n",
       Errc::wrong_source},
      {good + "edit sub/c.bin\n  write 101 hex:00\n", Errc::script_syntax},
      {good + "edit sub/c.bin\n  delete 50 51\n", Errc::script_syntax},
      {good + "edit sub/c.bin\n  insert 0 file:nope.bin\n", Errc::not_found},
      {good + "edit etc-link/passwd\n  write 0 hex:00\n", Errc::invalid_path},
      {good + "put etc-link/evil hex:00\n", Errc::invalid_path},
      {good + "edit b-hardlink.bin\n  write 0 hex:00\n", Errc::hard_linked},
      {good + "edit adir\n  write 0 hex:00\n", Errc::not_regular},
      {good + "remove fifo\n", Errc::not_regular},
      {good + "edit inside-link\n  write 0 hex:00\n", Errc::usage},  // same file as a.bin
      {good + "delta sub/c.bin not-a-patch.txt\n", Errc::unsupported},
      {good + "put sub/c.bin/x hex:00\n", Errc::not_found},  // c.bin is not a directory
  };
  for (const auto& [script, code] : cases) {
    INFO(script);
    CHECK(failure_of(dir, script) == code);
    const Tree after = snapshot(dir.path());
    for (const auto& [path, content] : after) {
      INFO(path);
      if (path == ".bpatch") continue;  // the journal directory itself may now exist
      REQUIRE(before.count(path) == 1);
      CHECK(before.at(path) == content);
    }
    CHECK(after.size() <= before.size() + 1);
  }
  std::filesystem::remove(dir / "../outside-" + std::to_string(::getpid()));
}

TEST_CASE("scripts cannot name paths outside the root", "[transaction]") {
  TempDir dir;
  write_file(dir / "a", "a");
  for (const std::string path : {"/etc/passwd", "../x", "a/../../x"}) {
    INFO(path);
    CHECK_THROWS_AS(run_script(dir, "bpatch 1\nput " + path + " hex:00\n"), Error);
  }
}

TEST_CASE("hard-linked targets are replaced only when allowed, splitting the link",
          "[transaction]") {
  TempDir dir;
  write_file(dir / "a", "aaaa");
  ::link((dir / "a").c_str(), (dir / "b").c_str());
  PosixFileSystem fs;
  TransactionOptions options;
  options.root = dir.path();
  options.allow_hardlinks = true;
  Transaction tx(fs, options);
  for (auto& c : parse_script("bpatch 1\nedit a\n  write 0 hex:42\n", "t", dir.path()))
    tx.add(std::move(c));
  tx.commit();
  CHECK(read_file(dir / "a") == "Baaa");
  CHECK(read_file(dir / "b") == "aaaa");
}

TEST_CASE("a second transaction on a locked journal fails fast with Errc::locked",
          "[transaction]") {
  TempDir dir;
  write_file(dir / "a", "a");
  PosixFileSystem fs;
  std::filesystem::create_directory(dir / ".bpatch");
  auto held = fs.try_lock(dir / ".bpatch/LOCK");
  REQUIRE(held);
  try {
    run_script(dir, "bpatch 1\nput b hex:00\n");
    FAIL("expected the journal to be locked");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::locked);
  }
  CHECK_FALSE(exists(dir / "b"));
}

TEST_CASE("the journal may not be a symlink", "[transaction]") {
  TempDir dir;
  TempDir elsewhere;
  std::filesystem::create_directory_symlink(elsewhere.path(), dir / ".bpatch");
  try {
    run_script(dir, "bpatch 1\nput b hex:00\n");
    FAIL("expected a refusal");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::invalid_path);
  }
  CHECK_FALSE(exists(dir / "b"));
}

TEST_CASE("a delta statement applies a real bsdiff patch", "[transaction][bsdiff]") {
  if (!oracle_available("bsdiff")) return;
  TempDir dir;
  std::mt19937_64 rng(3);
  std::string old_content = random_bytes(rng, 200000), new_content = old_content;
  for (int i = 0; i < 50; ++i) new_content[rng() % new_content.size()] ^= 0x5a;
  new_content.insert(1000, "inserted bytes");
  write_file(dir / "game.bin", old_content);
  write_file(dir / "new.tmp", new_content);
  REQUIRE(run({"bsdiff", dir / "game.bin", dir / "new.tmp", dir / "p.bsdiff"}).exit_code == 0);
  std::filesystem::remove(dir / "new.tmp");
  run_script(dir, "bpatch 1\ndelta game.bin p.bsdiff expect=xxh3:" + xxh3(old_content) + "\n");
  CHECK(read_file(dir / "game.bin") == new_content);
  (void)hex_of;
}

TEST_CASE("large unchanged ranges are copied in the kernel and the result is exact",
          "[transaction]") {
  TempDir dir;
  std::mt19937_64 rng(11);
  const std::string original = random_bytes(rng, (8 << 20) + 123);
  write_file(dir / "big.bin", original);
  write_file(dir / "big2.bin", original);
  std::string want1 = original, want2 = original;
  want1.replace(0x10, 4,
                "\x01\x02\x03\x04");  // keeps source and shadow offsets congruent: reflinkable
  want1.replace(5 << 20, 2, "\xff\xfe");
  want2.insert(3, "12345");  // shifts everything: copy_file_range only
  want2.erase(6 << 20, 100);
  const auto result =
      run_script(dir,
                 "bpatch 1\n"
                 "edit big.bin\n  write 0x10 hex:01020304\n  write 0x500000 hex:fffe\n"
                 "edit big2.bin\n  insert 3 hex:3132333435\n  delete 0x600000 100\n");
  CHECK(read_file(dir / "big.bin") == want1);
  CHECK(read_file(dir / "big2.bin") == want2);
  REQUIRE(result.files.size() == 2);
  CHECK(result.files[0].size == want1.size());
  // Bytes copied in the kernel were never seen, so no post-image hash is claimed.
  CHECK_FALSE(result.files[0].post_hash.has_value());
}

TEST_CASE("a transaction of many files (synced as a batch) is exact", "[transaction]") {
  TempDir dir;
  std::mt19937_64 rng(13);
  std::string script = "bpatch 1\n";
  std::vector<std::string> want;
  for (int i = 0; i < 80; ++i) {
    const std::string name = "d" + std::to_string(i % 7) + "/f" + std::to_string(i);
    std::string content = random_bytes(rng, 1000 + rng() % 5000);
    write_file(dir / name, content);
    content.replace(7, 2, "\x01\x02");
    want.push_back(content);
    script += "edit " + name + "\n  write 7 hex:0102\n";
  }
  script += "put d9/new hex:00\n";
  run_script(dir, script);
  for (int i = 0; i < 80; ++i)
    CHECK(read_file(dir / ("d" + std::to_string(i % 7) + "/f" + std::to_string(i))) == want[i]);
  CHECK(read_file(dir / "d9/new") == std::string(1, '\0'));
  for (const auto& [path, content] : snapshot(dir.path()))
    CHECK(path.find(".bpatch-") == std::string::npos);
}

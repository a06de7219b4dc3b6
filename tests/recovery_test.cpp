// Recovery of hand-built journals on the real file system: every shape a
// crash can leave, replayed or rolled back, and run twice to prove idempotence.
#include "bpatch/recovery.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "base/paths.hpp"
#include "bpatch/error.hpp"
#include "bpatch/posix_file_system.hpp"
#include "journal/records.hpp"
#include "testing/test_files.hpp"

using namespace bpatch;
using namespace bpatch::testing;
using journal::ManifestEntry;

namespace {

uint64_t ino_of(const std::string& path) {
  struct stat st;
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_ino;
}

// A journal under construction: targets with old content, staged shadows
// with new content, and the records that describe them.
struct Scenario {
  TempDir dir;
  std::string txid = "00000000000000aa-00000001";
  std::string journal = dir / ".bpatch";
  journal::IntentRecord intent;
  journal::ManifestRecord manifest;

  Scenario() {
    std::filesystem::create_directory(journal);
    intent.txid = manifest.txid = txid;
    intent.journal = manifest.journal = journal;
    intent.root = manifest.root = dir.path();
  }

  std::string stage(const std::string& name, const std::string& old_content,
                    const std::string& new_content) {
    if (!old_content.empty()) write_file(dir / name, old_content);
    const std::string shadow = paths::shadow_path(dir / name, txid);
    write_file(shadow, new_content);
    intent.shadows.push_back(shadow);
    ManifestEntry e;
    e.shadow = shadow;
    e.target = dir / name;
    e.ino = ino_of(shadow);
    e.size = new_content.size();
    e.mode = 0644;
    manifest.entries.push_back(e);
    return shadow;
  }

  void stage_remove(const std::string& name, const std::string& content) {
    write_file(dir / name, content);
    ManifestEntry e;
    e.op = ManifestEntry::Op::remove;
    e.target = dir / name;
    e.ino = ino_of(e.target);
    e.size = content.size();
    manifest.entries.push_back(e);
  }

  void write_intent() { write_file(journal + "/intent-" + txid, journal::encode_intent(intent)); }
  void write_manifest(const std::string& suffix = "") {
    write_file(journal + "/manifest-" + txid + suffix, journal::encode_manifest(manifest));
  }

  RecoveryReport recover() {
    PosixFileSystem fs;
    return bpatch::recover(fs, journal);
  }

  // Only the LOCK may remain in the journal, and no shadow anywhere.
  void require_clean() {
    for (const auto& [path, content] : snapshot(dir.path())) {
      INFO(path);
      CHECK(path.find(".bpatch-") == std::string::npos);
      if (path.starts_with(".bpatch/")) FAIL("record left behind: " << path);
    }
  }
};

}  // namespace

TEST_CASE("a committed transaction with every shadow present is replayed", "[recovery]") {
  Scenario s;
  s.stage("a", "old a", "new a");
  s.stage("b", "old b", "new b");
  s.stage_remove("c", "doomed");
  s.write_intent();
  s.write_manifest();
  const auto report = s.recover();
  REQUIRE(report.transactions.size() == 1);
  CHECK(report.transactions[0].state == PendingTransaction::State::committed);
  CHECK(read_file(s.dir / "a") == "new a");
  CHECK(read_file(s.dir / "b") == "new b");
  CHECK_FALSE(exists(s.dir / "c"));
  s.require_clean();
  CHECK(s.recover().transactions.empty());  // a second run has nothing to do
}

TEST_CASE("a half-replayed transaction is finished", "[recovery]") {
  Scenario s;
  const std::string shadow_a = s.stage("a", "old a", "new a");
  s.stage("b", "old b", "new b");
  s.stage_remove("c", "doomed");
  s.write_intent();
  s.write_manifest();
  std::filesystem::rename(shadow_a, s.dir / "a");  // the crash came after the first rename
  std::filesystem::remove(s.dir / "c");
  s.recover();
  CHECK(read_file(s.dir / "a") == "new a");
  CHECK(read_file(s.dir / "b") == "new b");
  CHECK_FALSE(exists(s.dir / "c"));
  s.require_clean();
}

TEST_CASE("a rename left half-done (both names on one inode) is finished", "[recovery]") {
  Scenario s;
  const std::string shadow = s.stage("a", "old a", "new a");
  s.write_intent();
  s.write_manifest();
  std::filesystem::remove(s.dir / "a");
  std::filesystem::create_hard_link(shadow, s.dir / "a");
  s.recover();
  CHECK(read_file(s.dir / "a") == "new a");
  s.require_clean();
}

TEST_CASE("uncommitted transactions are rolled back", "[recovery]") {
  Scenario s;
  s.stage("a", "old a", "new a");
  s.stage("sub/new-file", "", "created");
  s.intent.dirs.push_back(s.dir / "sub");
  SECTION("intent only") { s.write_intent(); }
  SECTION("a complete manifest that was never renamed into place") {
    s.write_intent();
    s.write_manifest(".tmp");
  }
  const auto report = s.recover();
  REQUIRE(report.transactions.size() == 1);
  CHECK(report.transactions[0].state == PendingTransaction::State::uncommitted);
  CHECK(read_file(s.dir / "a") == "old a");
  CHECK_FALSE(exists(s.dir / "sub"));  // the directory it created is gone too
  s.require_clean();
  CHECK(s.recover().transactions.empty());
}

// A manifest reaches its final name only by the rename of a synced file, so
// one that fails its checksum there is damage or tampering, not a crash:
// rolling it back could leave a mix. It is refused and nothing is touched.
TEST_CASE("a damaged manifest under its final name is refused, touching nothing", "[recovery]") {
  Scenario s;
  const std::string shadow = s.stage("a", "old a", "new a");
  s.write_intent();
  std::string bytes = journal::encode_manifest(s.manifest);
  SECTION("torn") { bytes = bytes.substr(0, bytes.size() / 2); }
  SECTION("a flipped bit") { bytes[bytes.size() / 3] ^= 0x04; }
  const std::string manifest = s.journal + "/manifest-" + s.txid;
  write_file(manifest, bytes);
  try {
    s.recover();
    FAIL("a damaged manifest was acted on");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::journal);
    CHECK_THAT(e.what(), Catch::Matchers::Contains("damaged") &&
                             Catch::Matchers::Contains("--abandon " + s.txid));
  }
  CHECK(read_file(s.dir / "a") == "old a");
  CHECK(read_file(shadow) == "new a");
  CHECK(read_file(manifest) == bytes);
}

TEST_CASE("a torn intent (never synced, so no shadow was made after it) is deleted", "[recovery]") {
  Scenario s;
  std::string bytes = journal::encode_intent(s.intent);
  write_file(s.journal + "/intent-" + s.txid, bytes.substr(0, bytes.size() - 5));
  s.recover();
  s.require_clean();
}

TEST_CASE("rollback deletes only names of the transaction's own shadow pattern", "[recovery]") {
  Scenario s;
  write_file(s.dir / "precious", "user data");
  write_file(s.dir / ".precious.bpatch-someothertxid", "another transaction's name");
  s.intent.shadows.push_back(s.dir / "precious");
  s.intent.shadows.push_back(s.dir / ".precious.bpatch-someothertxid");
  s.write_intent();
  s.recover();
  CHECK(read_file(s.dir / "precious") == "user data");
  CHECK(exists(s.dir / ".precious.bpatch-someothertxid"));
}

TEST_CASE("an inconsistent committed transaction is reported and nothing is touched",
          "[recovery]") {
  Scenario s;
  const std::string shadow_a = s.stage("a", "old a", "new a");
  s.stage("b", "old b", "new b");
  s.write_intent();
  s.write_manifest();
  std::filesystem::remove(shadow_a);  // the shadow vanished, and a is not the new content
  const Tree before = snapshot(s.dir.path());
  try {
    s.recover();
    FAIL("expected an inconsistency");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::journal);
    CHECK(e.path() == s.dir / "a");
  }
  Tree after = snapshot(s.dir.path());
  CHECK(after == before);  // b was not renamed either; the records remain
}

TEST_CASE("committed transactions replay in txid order", "[recovery]") {
  Scenario first;
  first.stage("a", "v1", "v2");
  first.write_manifest();
  // A later transaction over the same file, in the same journal.
  journal::ManifestRecord later{"00000000000000bb-00000001", first.journal, first.dir.path(), {}};
  const std::string shadow = paths::shadow_path(first.dir / "a", later.txid);
  write_file(shadow, "v3");
  ManifestEntry e;
  e.shadow = shadow;
  e.target = first.dir / "a";
  e.ino = ino_of(shadow);
  e.size = 2;
  later.entries.push_back(e);
  write_file(first.journal + "/manifest-" + later.txid, journal::encode_manifest(later));
  const auto report = first.recover();
  REQUIRE(report.transactions.size() == 2);
  CHECK(report.transactions[0].txid == first.txid);
  CHECK(read_file(first.dir / "a") == "v3");
  first.require_clean();
}

TEST_CASE("status reports pending transactions and changes nothing", "[recovery]") {
  Scenario s;
  s.stage("a", "old a", "new a");
  s.write_intent();
  s.write_manifest();
  const Tree before = snapshot(s.dir.path());
  PosixFileSystem fs;
  const auto pending = journal_status(fs, s.journal);
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].state == PendingTransaction::State::committed);
  CHECK(pending[0].targets == std::vector<std::string>{s.dir / "a"});
  CHECK(snapshot(s.dir.path()) == before);
}

TEST_CASE("records of a journal copied with its tree are refused, touching nothing", "[recovery]") {
  Scenario s;
  s.stage("a", "old a", "new a");
  s.write_intent();
  s.write_manifest();
  TempDir copy;
  std::filesystem::copy(s.dir.path(), copy.path(), std::filesystem::copy_options::recursive);
  const Tree original = snapshot(s.dir.path()), copied = snapshot(copy.path());
  PosixFileSystem fs;
  try {
    bpatch::recover(fs, copy / ".bpatch");
    FAIL("expected the copied records to be refused");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::journal);
  }
  CHECK(snapshot(s.dir.path()) == original);
  CHECK(snapshot(copy.path()) == copied);
}

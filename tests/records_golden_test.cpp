// Golden bytes of the journal records: a fixed intent and a fixed manifest
// are encoded and compared byte for byte with fixtures/golden/*.txt, and
// those files decode back to the same records. Records outlive the binary
// that wrote them (recovery after an upgrade reads them), so any change of
// the format must show up here as a failing test and a reviewed diff.
//
// Changing the format on purpose (e.g. adding a line): add the new field to
// golden_intent()/golden_manifest() below, then regenerate the files with
//   BPATCH_UPDATE_GOLDEN=1 build/tests/bpatch_tests "[golden]"
// and commit them with the change; the diff of fixtures/golden/ is the
// format change as a reviewer should see it.
#include <catch2/catch.hpp>
#include <cstdlib>

#include "bpatch/error.hpp"
#include "journal/records.hpp"
#include "testing/oracles.hpp"
#include "testing/test_files.hpp"

using namespace bpatch;
using namespace bpatch::journal;

namespace {

// New fields of a record get a fixed value here (e.g. `r.root = "/srv/app";`).
IntentRecord golden_intent() {
  IntentRecord r;
  r.txid = "18ebde893d7cb103-000028af";
  r.journal = "/srv/app/.bpatch";
  r.root = "/srv/app";
  r.dirs = {"/srv/app/new", "/srv/app/new/sub dir"};
  r.shadows = {"/srv/app/.game.sfc.bpatch-18ebde893d7cb103-000028af",
               "/srv/app/new/sub dir/.a%b.bpatch-18ebde893d7cb103-000028af"};
  return r;
}

ManifestRecord golden_manifest() {
  ManifestRecord m;
  m.txid = "18ebde893d7cb103-000028af";
  m.journal = "/srv/app/.bpatch";
  m.root = "/srv/app";
  ManifestEntry replace;
  replace.op = ManifestEntry::Op::replace;
  replace.shadow = "/srv/app/.game.sfc.bpatch-18ebde893d7cb103-000028af";
  replace.target = "/srv/app/game.sfc";
  replace.ino = 1234567;
  replace.size = 4194304;
  replace.mode = 0644;
  replace.pre_hash = Hash128{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  replace.post_hash = Hash128{0xffffffffffffffffULL, 3};
  ManifestEntry created = replace;
  created.shadow = "/srv/app/new/sub dir/.a%b.bpatch-18ebde893d7cb103-000028af";
  created.target = "/srv/app/new/sub dir/a%b";
  created.ino = 42;
  created.size = 0;
  created.mode = 0755;
  created.pre_hash.reset();
  created.post_hash = Hash128{0, 0};
  ManifestEntry remove;
  remove.op = ManifestEntry::Op::remove;
  remove.target = "/srv/app/old\nname";
  remove.ino = 7;
  remove.size = 10;
  remove.pre_hash = Hash128{1, 2};
  m.entries = {replace, created, remove};
  return m;
}

std::string golden_path(const std::string& name) {
  return bpatch::testing::source_dir() + "/fixtures/golden/" + name;
}

bool updating() {
  const char* v = std::getenv("BPATCH_UPDATE_GOLDEN");
  return v && *v && std::string(v) != "0";
}

// The checked-in bytes equal `encoded` (or are rewritten with them when updating).
void check_golden(const std::string& name, const std::string& encoded) {
  const std::string path = golden_path(name);
  if (updating()) {
    bpatch::testing::write_file(path, encoded);
    WARN("rewrote " << path << ": review and commit the diff");
  }
  REQUIRE(bpatch::testing::exists(path));
  const std::string golden = bpatch::testing::read_file(path);
  INFO("encoded now:\n" << encoded << "\nchecked in (" << path << "):\n" << golden);
  CHECK(encoded == golden);
  // The checksum line is XXH3-128 of every byte before it, as xxhsum -H2 says.
  if (!bpatch::testing::oracle_available("xxhsum")) return;
  const size_t last = golden.rfind("checksum ");
  REQUIRE(last != std::string::npos);
  bpatch::testing::TempDir dir;
  bpatch::testing::write_file(dir / "body", golden.substr(0, last));
  const auto sum = bpatch::testing::run({"xxhsum", "-H2", dir / "body"});
  REQUIRE(sum.exit_code == 0);
  CHECK(golden.substr(last) == "checksum " + sum.out.substr(0, 32) + "\n");
}

}  // namespace

TEST_CASE("the intent record's bytes are the checked-in golden bytes", "[records][golden]") {
  check_golden("intent.txt", encode_intent(golden_intent()));
  // And the checked-in bytes still read back as the same record.
  const IntentRecord back = decode_intent(bpatch::testing::read_file(golden_path("intent.txt")),
                                          "fixtures/golden/intent.txt");
  const IntentRecord want = golden_intent();
  CHECK(back.txid == want.txid);
  CHECK(back.journal == want.journal);
  CHECK(back.dirs == want.dirs);
  CHECK(back.shadows == want.shadows);
}

TEST_CASE("the manifest record's bytes are the checked-in golden bytes", "[records][golden]") {
  check_golden("manifest.txt", encode_manifest(golden_manifest()));
  const ManifestRecord back = decode_manifest(
      bpatch::testing::read_file(golden_path("manifest.txt")), "fixtures/golden/manifest.txt");
  const ManifestRecord want = golden_manifest();
  CHECK(back.txid == want.txid);
  CHECK(back.journal == want.journal);
  CHECK(back.entries == want.entries);
}

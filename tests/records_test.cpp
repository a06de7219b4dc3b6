// Journal records: round trips, and a corruption table — every damaged record
// must be rejected as Errc::journal, never half-trusted.
#include "journal/records.hpp"

#include <catch2/catch.hpp>

#include "bpatch/error.hpp"

using namespace bpatch;
using namespace bpatch::journal;

namespace {

ManifestRecord sample_manifest() {
  ManifestRecord m;
  m.txid = "18ebde893d7cb103-000028af";
  m.journal = "/r/.bpatch";
  m.root = "/r";
  ManifestEntry replace;
  replace.op = ManifestEntry::Op::replace;
  replace.shadow = "/r/dir with space/.a%b.bpatch-18ebde893d7cb103-000028af";
  replace.target = "/r/dir with space/a%b";
  replace.ino = 1234567;
  replace.size = 99;
  replace.mode = 0754;
  replace.pre_hash = Hash128{1, 2};
  replace.post_hash = Hash128{0xffffffffffffffffULL, 3};
  ManifestEntry remove;
  remove.op = ManifestEntry::Op::remove;
  remove.target = "/r/new\nline";
  remove.ino = 7;
  remove.size = 0;
  m.entries = {replace, remove};
  return m;
}

Errc code_of(const std::string& bytes) {
  try {
    decode_manifest(bytes, "m");
  } catch (const Error& e) {
    return e.code();
  }
  FAIL("a damaged manifest was accepted");
  return Errc::io;
}

}  // namespace

TEST_CASE("manifest and intent round-trip, including awkward paths", "[records]") {
  const ManifestRecord m = sample_manifest();
  const ManifestRecord back = decode_manifest(encode_manifest(m), "m");
  CHECK(back.txid == m.txid);
  CHECK(back.journal == m.journal);
  CHECK(back.root == m.root);
  CHECK(back.entries == m.entries);

  IntentRecord intent{"t-1",
                      "/r/my journal",
                      "/r",
                      {"/r/new", "/r/new/sub"},
                      {"/r/.a.bpatch-t-1", "/r/x y/.b.bpatch-t-1"}};
  const IntentRecord ib = decode_intent(encode_intent(intent), "i");
  CHECK(ib.txid == intent.txid);
  CHECK(ib.journal == intent.journal);
  CHECK(ib.root == intent.root);
  CHECK(ib.dirs == intent.dirs);
  CHECK(ib.shadows == intent.shadows);
}

TEST_CASE("every flipped byte of a manifest is detected", "[records]") {
  const std::string good = encode_manifest(sample_manifest());
  for (size_t i = 0; i < good.size(); ++i) {
    for (const unsigned char flip : {0x01, 0x20, 0x80}) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ flip);
      INFO("byte " << i << " flip " << int(flip));
      CHECK(code_of(bad) == Errc::journal);
    }
  }
}

TEST_CASE("every truncation of a manifest is detected", "[records]") {
  const std::string good = encode_manifest(sample_manifest());
  for (size_t n = 0; n < good.size(); ++n) {
    INFO("length " << n);
    CHECK(code_of(good.substr(0, n)) == Errc::journal);
  }
}

TEST_CASE("wrong checksum, wrong version, trailing junk and swapped record kinds are rejected",
          "[records]") {
  const std::string good = encode_manifest(sample_manifest());
  SECTION("checksum of other bytes") {
    std::string bad = good;
    bad.replace(bad.rfind("checksum ") + 9, 32, std::string(32, '0'));
    CHECK(code_of(bad) == Errc::journal);
  }
  SECTION("a future version with a valid checksum") {
    std::string body = good.substr(0, good.rfind("checksum "));
    body.replace(0, std::string("bpatch-manifest 2").size(), "bpatch-manifest 3");
    const Hash128 sum = hash_bytes(std::as_bytes(std::span(body.data(), body.size())));
    CHECK(code_of(body + "checksum " + sum.hex() + "\n") == Errc::journal);
  }
  SECTION("bytes after the checksum line") { CHECK(code_of(good + "x") == Errc::journal); }
  SECTION("an intent is not a manifest") {
    const std::string intent =
        encode_intent(IntentRecord{"t", "/a/.bpatch", "/a", {}, {"/a/.b.bpatch-t"}});
    CHECK(code_of(intent) == Errc::journal);
  }
  SECTION("a malformed entry with a valid checksum") {
    std::string body =
        "bpatch-manifest 2\ntxid t\njournal /j\nroot /\nreplace /a relative ino=1 size=2 mode=644 "
        "pre=- post=-\n";
    const Hash128 sum = hash_bytes(std::as_bytes(std::span(body.data(), body.size())));
    CHECK(code_of(body + "checksum " + sum.hex() + "\n") == Errc::journal);
  }
}

// IPS decoder: third-party Flips vectors, round trips through an independent
// test-side encoder, unsorted/overlapping records against a reference model,
// the EOF-offset and truncate rules, and hostile patches.
#include <algorithm>
#include <catch2/catch.hpp>
#include <random>

#include "bpatch/format.hpp"
#include "testing/rom_harness.hpp"

using namespace bpatch;
using namespace bpatch::testing;

namespace {

const char* const kVectorDirs[] = {"edits", "grow-shift", "shrink", "runs"};

Bytes pattern(size_t size) {
  Bytes b(size);
  for (size_t i = 0; i < size; ++i) b[i] = std::byte((i * 7 + i / 256) & 0xFF);
  return b;
}

// Generated (old, new) pairs: the cases every encoder/decoder must handle.
std::vector<std::pair<std::string, std::pair<Bytes, Bytes>>> generated_pairs() {
  std::vector<std::pair<std::string, std::pair<Bytes, Bytes>>> pairs;
  const Bytes base = random_bytes(20000, 1);
  Bytes edited = base;
  for (size_t i = 100; i < edited.size(); i += 997) edited[i] ^= std::byte{0x5A};
  Bytes grown = edited;
  grown.resize(26000, std::byte{0});
  for (size_t i = 21000; i < 26000; i += 3) grown[i] = std::byte(i & 0xFF);
  Bytes shrunk(base.begin(), base.begin() + 12345);
  shrunk[50] = std::byte{1};
  Bytes runs = base;
  std::fill(runs.begin() + 1000, runs.begin() + 9000, std::byte{0xEE});
  std::fill(runs.begin() + 12000, runs.begin() + 12003, std::byte{0});
  pairs.push_back({"empty to empty", {{}, {}}});
  pairs.push_back({"empty to something", {{}, random_bytes(3000, 2)}});
  pairs.push_back({"something to empty", {base, {}}});
  pairs.push_back({"identical", {base, base}});
  pairs.push_back({"sparse edits", {base, edited}});
  pairs.push_back({"growth", {base, grown}});
  pairs.push_back({"shrink", {base, shrunk}});
  pairs.push_back({"runs", {base, runs}});
  pairs.push_back({"random", {base, random_bytes(21000, 3)}});
  pairs.push_back({"zeros appended", {pattern(500), [] {
                                        Bytes b = pattern(500);
                                        b.resize(900);
                                        return b;
                                      }()}});
  return pairs;
}

}  // namespace

TEST_CASE("IPS: every Flips vector gives new.bin exactly", "[ips]") {
  for (const char* dir : kVectorDirs) {
    INFO(dir);
    const Bytes old = read_whole_file(vector_path(std::string(dir) + "/old.bin"));
    const Bytes neu = read_whole_file(vector_path(std::string(dir) + "/new.bin"));
    const Bytes patch = read_whole_file(vector_path(std::string(dir) + "/flips.ips"));
    CHECK(inspect_in_memory(patch).format == Format::ips);
    CHECK(check_in_memory(patch, old) == SourceCheck::matches);
    CHECK(apply_in_memory(patch, old) == neu);
  }
  // The shrink vector uses the truncate extension.
  const PatchInfo info = inspect_in_memory(read_whole_file(vector_path("shrink/flips.ips")));
  CHECK(detail(info, "truncate") == "28000");
  CHECK(info.target_size == 28000u);
  // The runs vector uses RLE records.
  CHECK(detail(inspect_in_memory(read_whole_file(vector_path("runs/flips.ips"))), "rle records") !=
        "0");
}

TEST_CASE("IPS: generated pairs round-trip through the test-side encoder", "[ips]") {
  for (const auto& [name, pair] : generated_pairs()) {
    INFO(name);
    const auto& [old, neu] = pair;
    const IpsDiff diff = diff_ips(old, neu);
    REQUIRE(model_apply_ips(old, diff.records, diff.truncate) == neu);  // the encoder is right
    const Bytes patch = encode_ips(diff.records, diff.truncate);
    CHECK(apply_in_memory(patch, old) == neu);
    CHECK(detail(inspect_in_memory(patch), "records") == std::to_string(diff.records.size()));
  }
}

TEST_CASE("IPS: unsorted and overlapping records match the reference model", "[ips]") {
  std::mt19937 rng(42);
  for (int round = 0; round < 300; ++round) {
    const Bytes old = random_bytes(rng() % 3000, static_cast<uint32_t>(round));
    std::vector<IpsRecord> records;
    const int n = static_cast<int>(rng() % 12);
    for (int i = 0; i < n; ++i) {
      IpsRecord r;
      r.offset = rng() % 4000;
      if (rng() % 3 == 0) {
        r.rle = true;
        r.count = static_cast<uint16_t>(1 + rng() % 700);
        r.value = std::byte(rng() & 0xFF);
      } else {
        r.data = random_bytes(1 + rng() % 600, rng());
      }
      records.push_back(std::move(r));
    }
    std::optional<uint32_t> truncate;
    if (!old.empty() && rng() % 4 == 0) truncate = static_cast<uint32_t>(rng() % old.size());
    INFO("round " << round);
    CHECK(apply_in_memory(encode_ips(records, truncate), old) ==
          model_apply_ips(old, records, truncate));
  }
}

TEST_CASE("IPS: later records win, records past the source zero-fill the gap", "[ips]") {
  const Bytes old = to_bytes("0123456789");
  const std::vector<IpsRecord> records = {
      {6, to_bytes("ABCDEF")},           // past the end: grows to 12
      {2, to_bytes("xyz")},              // unsorted
      {3, {}, true, 2, std::byte{'#'}},  // overlaps the previous record
      {15, to_bytes("!")},               // gap 12..14 is zero-filled
  };
  const Bytes expected = to_bytes(std::string("01x##5ABCDEF\0\0\0!", 16));
  CHECK(apply_in_memory(encode_ips(records), old) == expected);
  CHECK(model_apply_ips(old, records, {}) == expected);
  CHECK(detail(inspect_in_memory(encode_ips(records)), "sorted") != "yes");
}

TEST_CASE("IPS: the output reaches the sink as source ranges, record bytes and fills", "[ips]") {
  const Bytes old = random_bytes(1 << 20, 9);
  const std::vector<IpsRecord> records = {{1000, to_bytes("patched")},
                                          {600000, {}, true, 0xFFFF, std::byte{0xAA}}};
  const Bytes patch = encode_ips(records);
  const MemorySource p(std::span<const std::byte>(patch), "patch");
  const MemorySource o(std::span<const std::byte>(old), "old");
  RecordingSink sink;
  apply_patch(p, o, sink);
  CHECK(sink.inner.data() == model_apply_ips(old, records, {}));
  CHECK(sink.write_froms >= 2);  // the two long unchanged stretches of the source
  CHECK(sink.bytes_from >= old.size() - 700000);
  CHECK(sink.fills == 1);  // the 65535-byte run
}

TEST_CASE("IPS: the EOF rule follows Flips and Lunar IPS", "[ips]") {
  const Bytes old = random_bytes(0x454F46 + 16, 5);
  SECTION("a change at 0x454F46 is written as a record starting one byte earlier") {
    Bytes neu = old;
    neu[0x454F46] ^= std::byte{0xFF};
    const IpsDiff diff = diff_ips(old, neu);
    REQUIRE(diff.records.size() == 1);
    CHECK(diff.records[0].offset == 0x454F45);
    CHECK(apply_in_memory(encode_ips(diff.records), old) == neu);
  }
  SECTION("\"EOF\" where an offset is expected ends the records, even if record bytes follow") {
    // Looks like a record at 0x454F46 of size 1: it is "EOF" plus 4 stray bytes.
    Bytes patch = to_bytes("PATCHEOF");
    for (uint8_t b : {0x00, 0x01, 0x41, 0x00}) patch.push_back(std::byte{b});
    CHECK(apply_error(patch, old) == Errc::bad_patch);
  }
  SECTION("\"EOF\" followed by exactly three bytes is the truncate size") {
    const Bytes patch = encode_ips({}, 0x454F40);
    CHECK(apply_in_memory(patch, old) == Bytes(old.begin(), old.begin() + 0x454F40));
  }
  SECTION("one, two or four bytes after \"EOF\" are malformed") {
    for (size_t extra : {1u, 2u, 4u}) {
      Bytes patch = encode_ips({{0, to_bytes("A")}});
      patch.insert(patch.end(), extra, std::byte{0});
      CHECK(apply_error(patch, old) == Errc::bad_patch);
    }
  }
}

TEST_CASE("IPS: truncate", "[ips]") {
  const Bytes old = random_bytes(5000, 6);
  SECTION("records reaching past the truncate size are cut") {
    const std::vector<IpsRecord> records = {{3990, to_bytes("0123456789ABCDEFGHIJ")}};
    const Bytes out = apply_in_memory(encode_ips(records, 4000), old);
    CHECK(out == model_apply_ips(old, records, 4000));
    CHECK(out.size() == 4000);
  }
  SECTION("a truncate size not below the source size means the patch is for another file") {
    for (uint32_t t : {5000u, 5001u, 0xFFFFFFu}) {
      const Bytes patch = encode_ips({{0, to_bytes("A")}}, t);
      CHECK(apply_error(patch, old) == Errc::wrong_source);
      CHECK(check_error(patch, old) == Errc::wrong_source);
    }
  }
  SECTION("truncate to zero") { CHECK(apply_in_memory(encode_ips({}, 0), old).empty()); }
}

TEST_CASE("IPS: hostile and malformed patches are refused", "[ips]") {
  const Bytes old = random_bytes(1000, 7);
  struct Case {
    const char* name;
    Bytes patch;
    Errc code;
  };
  Bytes truncated_record = encode_ips({{10, to_bytes("abcdef")}});
  truncated_record.resize(5 + 3 + 2 + 3);  // data cut short, no EOF
  const std::vector<Case> cases = {
      {"RLE count 0", encode_ips({{10, {}, true, 0, std::byte{1}}}), Errc::bad_patch},
      {"record data past the end", truncated_record, Errc::bad_patch},
      {"no EOF", to_bytes("PATCH"), Errc::bad_patch},
      {"no EOF after a record",
       [] {
         Bytes b = encode_ips({{1, to_bytes("x")}});
         b.resize(b.size() - 3);
         return b;
       }(),
       Errc::bad_patch},
      {"half an offset", to_bytes("PATCH\x00\x01"), Errc::bad_patch},
      {"RLE header cut", to_bytes(std::string("PATCH\x00\x00\x01\x00\x00\x00", 11)),
       Errc::bad_patch},
      {"bad magic",
       to_bytes("PATCX\x00\x00\x01\x00\x01"
                "aEOF"),
       Errc::unsupported},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    CHECK(apply_error(c.patch, old) == c.code);
    CHECK(error_of([&] { inspect_in_memory(c.patch); }) == c.code);
  }
}

TEST_CASE("IPS: every truncation of a patch is refused, except dropping exactly the truncate size",
          "[ips]") {
  const Bytes old = read_whole_file(vector_path("shrink/old.bin"));
  const Bytes patch = read_whole_file(vector_path("shrink/flips.ips"));
  for (size_t len = 0; len < patch.size(); ++len) {
    INFO("length " << len);
    const Bytes cut(patch.begin(), patch.begin() + len);
    const auto err = apply_error(cut, old);
    if (len == patch.size() - 3)
      CHECK_FALSE(err);  // a well-formed patch without the truncate extension
    else if (len < 5)
      CHECK(err == Errc::unsupported);  // not even the magic
    else
      CHECK(err == Errc::bad_patch);
  }
}

TEST_CASE("IPS: sorted and shuffled records give the same output", "[ips]") {
  const Bytes old = random_bytes(50000, 8);
  Bytes neu = old;
  for (size_t i = 0; i < neu.size(); i += 333) neu[i] = std::byte(i & 0xFF);
  std::fill(neu.begin() + 20000, neu.begin() + 21000, std::byte{3});
  IpsDiff diff = diff_ips(old, neu);
  std::shuffle(diff.records.begin(), diff.records.end(), std::mt19937(1));
  const Bytes patch = encode_ips(diff.records, diff.truncate);
  CHECK(detail(inspect_in_memory(patch), "sorted") != "yes");
  CHECK(apply_in_memory(patch, old) == neu);
}

TEST_CASE("IPS: check_source cannot tell and says matches", "[ips]") {
  const Bytes patch = encode_ips({{0, to_bytes("abc")}});
  CHECK(check_in_memory(patch, random_bytes(10, 1)) == SourceCheck::matches);
  CHECK(check_in_memory(patch, to_bytes("abcdef")) == SourceCheck::matches);
}

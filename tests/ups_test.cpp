// UPS decoder: the third-party vector forward and reverse, round trips
// through an independent test-side encoder in both directions, corruption
// tables, hostile patches with valid CRCs, and wrong sources.
#include <catch2/catch.hpp>

#include "bpatch/format.hpp"
#include "testing/rom_harness.hpp"

using namespace bpatch;
using namespace bpatch::testing;

namespace {

const char* const kVectorDirs[] = {"edits", "grow-shift", "shrink", "runs"};

UpsHeaderSpec header_for(const Bytes& old, const Bytes& neu) {
  return {old.size(), neu.size(), reference_crc32(old), reference_crc32(neu)};
}

}  // namespace

TEST_CASE("UPS: every vector applies forward (old to new) and in reverse (new to old)", "[ups]") {
  for (const char* dir : kVectorDirs) {
    INFO(dir);
    const Bytes old = read_whole_file(vector_path(std::string(dir) + "/old.bin"));
    const Bytes neu = read_whole_file(vector_path(std::string(dir) + "/new.bin"));
    const Bytes patch = read_whole_file(vector_path(std::string(dir) + "/spec.ups"));
    const PatchInfo info = inspect_in_memory(patch);
    CHECK(info.format == Format::ups);
    CHECK(info.source_size == old.size());
    CHECK(info.target_size == neu.size());
    CHECK(info.source_crc32 == reference_crc32(old));
    CHECK(info.target_crc32 == reference_crc32(neu));
    CHECK(check_in_memory(patch, old) == SourceCheck::matches);
    CHECK(check_in_memory(patch, neu) == SourceCheck::matches);  // reverse, not "already applied"
    CHECK(apply_in_memory(patch, old) == neu);
    CHECK(apply_in_memory(patch, neu) == old);
  }
}

TEST_CASE("UPS: generated pairs round-trip in both directions", "[ups]") {
  const Bytes base = random_bytes(20000, 31);
  Bytes edited = base;
  for (size_t i = 7; i < edited.size(); i += 501) edited[i] ^= std::byte{0x80};
  Bytes grown = edited;
  grown.resize(25000, std::byte{0});  // trailing zeros: no hunk covers them
  grown[22000] = std::byte{1};
  Bytes runs = base;
  std::fill(runs.begin() + 100, runs.begin() + 5000, std::byte{0});
  Bytes last_byte = base;
  last_byte.back() ^= std::byte{1};  // the terminator falls exactly at the end
  const std::vector<std::pair<std::string, std::pair<Bytes, Bytes>>> pairs = {
      {"empty to empty", {{}, {}}},
      {"empty to something", {{}, random_bytes(3000, 32)}},
      {"identical", {base, base}},
      {"edits", {base, edited}},
      {"growth with zeros", {base, grown}},
      {"shrink", {base, Bytes(base.begin(), base.begin() + 15000)}},
      {"runs", {base, runs}},
      {"last byte", {base, last_byte}},
      {"random", {base, random_bytes(20000, 33)}},
  };
  for (const auto& [name, pair] : pairs) {
    INFO(name);
    const auto& [old, neu] = pair;
    const Bytes patch = diff_ups(old, neu);
    CHECK(apply_in_memory(patch, old) == neu);
    CHECK(apply_in_memory(patch, neu) == old);
  }
}

TEST_CASE("UPS: equal sizes tell the direction by CRC", "[ups]") {
  const Bytes a = random_bytes(1000, 34);
  Bytes b = a;
  b[10] = ~b[10];
  const Bytes patch = diff_ups(a, b);
  CHECK(apply_in_memory(patch, a) == b);
  CHECK(apply_in_memory(patch, b) == a);
  Bytes c = a;
  c[11] = ~c[11];
  CHECK(check_error(patch, c) == Errc::wrong_source);
}

TEST_CASE("UPS: corruption table — flipped bits and truncations are refused", "[ups]") {
  const Bytes old = read_whole_file(vector_path("edits/old.bin"));
  const Bytes patch = read_whole_file(vector_path("edits/spec.ups"));
  for (size_t i = 0; i < patch.size(); i += (i < 64 || i + 64 > patch.size()) ? 1 : 29) {
    for (int bit : {0, 3, 7}) {
      Bytes bad = patch;
      bad[i] ^= std::byte(1 << bit);
      INFO("byte " << i << " bit " << bit);
      CHECK(apply_error(bad, old) == (i < 4 ? Errc::unsupported : Errc::checksum));
    }
  }
  for (size_t len = 0; len < patch.size(); len += (len < 64 || len + 64 > patch.size()) ? 1 : 41) {
    INFO("length " << len);
    const Bytes cut(patch.begin(), patch.begin() + len);
    CHECK(apply_error(cut, old) == (len < 4    ? Errc::unsupported
                                    : len < 18 ? Errc::bad_patch
                                               : Errc::checksum));
  }
}

TEST_CASE("UPS: footer CRCs that are wrong but re-signed", "[ups]") {
  const Bytes old = random_bytes(3000, 35);
  Bytes neu = old;
  neu[5] = std::byte{0};
  Bytes patch = diff_ups(old, neu);
  SECTION("a wrong output CRC is found when the output is complete") {
    patch[patch.size() - 8] ^= std::byte{1};
    fix_patch_crc(patch);
    CHECK(apply_error(patch, old) == Errc::checksum);
  }
  SECTION("a wrong input CRC makes the source wrong") {
    patch[patch.size() - 12] ^= std::byte{1};
    fix_patch_crc(patch);
    CHECK(apply_error(patch, old) == Errc::wrong_source);
  }
  SECTION("hunks that do not produce the output") {
    Bytes other = neu;
    other[6] = ~other[6];
    Bytes wrong = diff_ups(old, other);  // hunks for `other`, CRCs for `neu`
    wrong.resize(wrong.size() - 12);
    put_u32le(wrong, reference_crc32(old));
    put_u32le(wrong, reference_crc32(neu));
    put_u32le(wrong, 0);
    fix_patch_crc(wrong);
    CHECK(apply_error(wrong, old) == Errc::checksum);
  }
}

TEST_CASE("UPS: hostile patches with valid CRCs are refused", "[ups]") {
  const Bytes old = random_bytes(100, 36);
  const Bytes x = to_bytes("\x01\x02");
  struct Case {
    const char* name;
    UpsHeaderSpec header;
    std::vector<UpsHunk> hunks;
    Errc code;
  };
  const UpsHeaderSpec same{100, 100, reference_crc32(old), 0};
  const std::vector<Case> cases = {
      {"skip past both files", same, {{101, {}}}, Errc::bad_patch},
      {"skip far past both files", same, {{uint64_t{1} << 62, x}}, Errc::bad_patch},
      {"XOR bytes past both files", same, {{99, x}}, Errc::bad_patch},
      {"second hunk past the end", same, {{99, {}}, {0, x}}, Errc::bad_patch},
      {"huge declared output",
       {100, uint64_t{1} << 60, reference_crc32(old), 0},
       {},
       Errc::too_large},
      {"huge declared input",
       {uint64_t{1} << 63, 100, 0, reference_crc32(old)},
       {},
       Errc::too_large},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const Bytes patch = encode_ups(c.header, c.hunks);
    CHECK(apply_error(patch, old) == c.code);
    CHECK(error_of([&] { inspect_in_memory(patch); }) == c.code);
  }
  // A terminator exactly at the end is fine (it changes nothing).
  const Bytes edge =
      encode_ups({100, 100, reference_crc32(old), reference_crc32(old)}, {{100, {}}});
  CHECK(apply_in_memory(edge, old) == old);
}

TEST_CASE("UPS: malformed numbers and hunks are refused with bad_patch", "[ups]") {
  const Bytes old = random_bytes(100, 37);
  const auto build = [&old](std::initializer_list<uint8_t> body) {
    Bytes p = to_bytes("UPS1");
    for (uint8_t b : body) p.push_back(std::byte{b});
    put_u32le(p, reference_crc32(old));
    put_u32le(p, 0);
    put_u32le(p, 0);
    fix_patch_crc(p);
    return p;
  };
  const std::vector<std::pair<const char*, Bytes>> cases = {
      {"varint overflow in a size", build({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x81, 0x80})},
      {"varint overflow in a hunk",
       build({0xE4, 0xE4, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x81, 0})},
      {"hunk without a terminator", build({0xE4, 0xE4, 0x80, 0x01, 0x02})},
      {"varint running into the footer", build({0xE4, 0xE4, 0x00})},
  };
  for (const auto& [name, patch] : cases) {
    INFO(name);
    CHECK(apply_error(patch, old) == Errc::bad_patch);
  }
}

TEST_CASE("UPS: wrong source names both acceptable sides", "[ups]") {
  const Bytes old = random_bytes(2000, 38);
  const Bytes neu = random_bytes(2100, 39);
  const Bytes patch = diff_ups(old, neu);
  CHECK(check_error(patch, Bytes(5)) == Errc::wrong_source);
  Bytes other = old;
  other[0] ^= std::byte{1};
  try {
    apply_in_memory(patch, other);
    FAIL("applied to the wrong source");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::wrong_source);
    CHECK_THAT(std::string(e.what()), Catch::Contains("expected 2000 bytes with CRC32 0x"));
    CHECK_THAT(std::string(e.what()), Catch::Contains("to undo it, 2100 bytes"));
  }
}

TEST_CASE("UPS: inspect reports sizes, CRCs and hunks", "[ups]") {
  const Bytes old = to_bytes("abcdefgh");
  const Bytes neu = to_bytes("abXdefYhZ");
  const Bytes patch = encode_ups(
      header_for(old, neu), {{2, to_bytes("\x3b")}, {2, to_bytes("\x3e")}, {0, to_bytes("Z")}});
  REQUIRE(apply_in_memory(patch, old) == neu);
  const PatchInfo info = inspect_in_memory(patch);
  CHECK(info.source_size == 8u);
  CHECK(info.target_size == 9u);
  CHECK(detail(info, "hunks") == "3");
  CHECK(detail(info, "changed bytes") == "3");
}

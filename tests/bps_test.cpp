// BPS decoder: Flips vectors (delta and linear), round trips through an
// independent test-side encoder that uses all four actions, overlapping and
// far TargetCopy, corruption tables, hostile patches with valid CRCs, wrong
// source and already-applied sources.
#include <fcntl.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <ctime>
#include <random>

#include "bpatch/format.hpp"
#include "bpatch/io.hpp"
#include "bpatch/posix_file_system.hpp"
#include "formats/crc32.hpp"
#include "testing/rom_harness.hpp"
#include "testing/test_files.hpp"

using namespace bpatch;
using namespace bpatch::testing;

namespace {

const char* const kVectorDirs[] = {"edits", "grow-shift", "shrink", "runs"};

BpsHeaderSpec header_for(const Bytes& old, const Bytes& neu) {
  return {old.size(), neu.size(), reference_crc32(old), reference_crc32(neu), ""};
}

BpsAction source_read(uint64_t n) { return {BpsOp::source_read, n, 0, {}}; }
BpsAction target_read(const Bytes& data) { return {BpsOp::target_read, data.size(), 0, data}; }
BpsAction source_copy(uint64_t n, int64_t rel) { return {BpsOp::source_copy, n, rel, {}}; }
BpsAction target_copy(uint64_t n, int64_t rel) { return {BpsOp::target_copy, n, rel, {}}; }

// A patch from explicit actions whose header matches what they produce.
Bytes patch_from(const Bytes& old, const std::vector<BpsAction>& actions, Bytes* result = nullptr) {
  const Bytes neu = model_apply_bps(old, actions);
  if (result) *result = neu;
  return encode_bps(header_for(old, neu), actions);
}

std::string message_of(const Bytes& patch, const Bytes& old) {
  try {
    apply_in_memory(patch, old);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("BPS: every Flips vector gives new.bin exactly", "[bps]") {
  for (const char* dir : kVectorDirs) {
    for (const char* name : {"flips.bps", "flips.linear.bps"}) {
      INFO(dir << "/" << name);
      const Bytes old = read_whole_file(vector_path(std::string(dir) + "/old.bin"));
      const Bytes neu = read_whole_file(vector_path(std::string(dir) + "/new.bin"));
      const Bytes patch = read_whole_file(vector_path(std::string(dir) + "/" + name));
      const PatchInfo info = inspect_in_memory(patch);
      CHECK(info.format == Format::bps);
      CHECK(info.source_size == old.size());
      CHECK(info.target_size == neu.size());
      CHECK(info.source_crc32 == reference_crc32(old));
      CHECK(info.target_crc32 == reference_crc32(neu));
      CHECK(check_in_memory(patch, old) == SourceCheck::matches);
      CHECK(check_in_memory(patch, neu) == SourceCheck::already_applied);
      CHECK(apply_in_memory(patch, old) == neu);
    }
  }
}

TEST_CASE("BPS: generated pairs round-trip through the test-side encoder", "[bps]") {
  const Bytes base = random_bytes(30000, 11);
  Bytes moved = base;  // blocks moved around, a repeat, runs and edits
  std::rotate(moved.begin() + 1000, moved.begin() + 9000, moved.begin() + 20000);
  std::copy(moved.begin() + 100, moved.begin() + 600, moved.begin() + 25000);
  std::fill(moved.begin() + 27000, moved.begin() + 29000, std::byte{0x11});
  for (size_t i = 50; i < moved.size(); i += 1777) moved[i] ^= std::byte{1};
  Bytes grown = base;
  grown.insert(grown.begin() + 5000, 4000, std::byte{0});
  grown.insert(grown.end(), base.begin(), base.begin() + 7000);
  const std::vector<std::pair<std::string, std::pair<Bytes, Bytes>>> pairs = {
      {"empty to empty", {{}, {}}},
      {"empty to something", {{}, random_bytes(5000, 12)}},
      {"something to empty", {base, {}}},
      {"identical", {base, base}},
      {"moved, repeated, runs, edits", {base, moved}},
      {"growth", {base, grown}},
      {"shrink", {base, Bytes(base.begin() + 3000, base.begin() + 20000)}},
      {"random", {base, random_bytes(32000, 13)}},
  };
  for (const auto& [name, pair] : pairs) {
    INFO(name);
    const auto& [old, neu] = pair;
    const auto actions = diff_bps_actions(old, neu);
    REQUIRE(model_apply_bps(old, actions) == neu);  // the encoder is right
    const Bytes patch = diff_bps(old, neu, "made by the test encoder");
    CHECK(apply_in_memory(patch, old) == neu);
    CHECK(inspect_in_memory(patch).metadata == "made by the test encoder");
  }
  // The "moved" pair exercises every action.
  const PatchInfo info = inspect_in_memory(diff_bps(base, moved));
  for (const char* kind : {"SourceRead", "TargetRead", "SourceCopy", "TargetCopy"}) {
    INFO(kind);
    CHECK(std::stoul(detail(info, kind)) > 0);
  }
}

TEST_CASE("BPS: TargetCopy overlapping the bytes it produces repeats them byte by byte", "[bps]") {
  const Bytes old = random_bytes(100, 14);
  for (int64_t distance : {1, 2, 3, 7, 64}) {
    INFO("distance " << distance);
    std::vector<BpsAction> actions = {target_read(random_bytes(static_cast<size_t>(distance), 15)),
                                      target_copy(100000, 0), source_copy(10, 0)};
    Bytes expected;
    const Bytes patch = patch_from(old, actions, &expected);
    CHECK(apply_in_memory(patch, old) == expected);
  }
}

TEST_CASE("BPS: TargetCopy beyond the in-memory window reads the output back", "[bps]") {
  // 10 MiB of target, then copies from its very start: further back than the
  // decoder's window, so they are served by Sink::read_back.
  const Bytes old = random_bytes(1 << 20, 16);
  std::vector<BpsAction> actions;
  for (int i = 0; i < 10; ++i)
    actions.push_back(source_copy(old.size(), i == 0 ? 0 : -int64_t(old.size())));
  actions.push_back(target_copy(3 << 20, 0));         // far, non-overlapping
  actions.push_back(target_copy(20 << 20, 5 << 20));  // overlapping, with a 5 MiB period
  actions.push_back(target_read(to_bytes("end")));
  Bytes expected;
  const Bytes patch = patch_from(old, actions, &expected);
  const MemorySource p(std::span<const std::byte>(patch), "patch");
  const MemorySource o(std::span<const std::byte>(old), "old");
  RecordingSink sink;
  apply_patch(p, o, sink);
  CHECK(sink.inner.data() == expected);
  CHECK(sink.read_backs > 0);
  CHECK(sink.write_froms >= 10);  // the source copies went to the sink as ranges
}

TEST_CASE("BPS: random action lists agree with the reference decoder", "[bps]") {
  std::mt19937 rng(17);
  for (int round = 0; round < 200; ++round) {
    const Bytes old = random_bytes(1 + rng() % 5000, rng());
    std::vector<BpsAction> actions;
    uint64_t out = 0;
    int64_t source_cursor = 0, target_cursor = 0;
    const int n = 1 + static_cast<int>(rng() % 20);
    for (int i = 0; i < n; ++i) {
      const unsigned kind = rng() % 4;
      if (kind == 0 && out < old.size()) {
        const uint64_t len = 1 + rng() % (old.size() - out);
        actions.push_back(source_read(len));
        out += len;
      } else if (kind == 2) {
        const int64_t at = rng() % old.size();
        const uint64_t len = 1 + rng() % (old.size() - static_cast<uint64_t>(at));
        actions.push_back(source_copy(len, at - source_cursor));
        source_cursor = at + static_cast<int64_t>(len);
        out += len;
      } else if (kind == 3 && out > 0) {
        const int64_t at = rng() % out;
        const uint64_t len = 1 + rng() % 3000;
        actions.push_back(target_copy(len, at - target_cursor));
        target_cursor = at + static_cast<int64_t>(len);
        out += len;
      } else {
        const Bytes data = random_bytes(1 + rng() % 300, rng());
        actions.push_back(target_read(data));
        out += data.size();
      }
    }
    INFO("round " << round);
    Bytes expected;
    const Bytes patch = patch_from(old, actions, &expected);
    CHECK(apply_in_memory(patch, old) == expected);
  }
}

TEST_CASE("BPS: corruption table — flipped bits and truncations are refused", "[bps]") {
  const Bytes old = read_whole_file(vector_path("grow-shift/old.bin"));
  const Bytes patch = read_whole_file(vector_path("grow-shift/flips.bps"));
  for (size_t i = 0; i < patch.size(); i += (i < 64 || i + 64 > patch.size()) ? 1 : 37) {
    for (int bit : {0, 5, 7}) {
      Bytes bad = patch;
      bad[i] ^= std::byte(1 << bit);
      INFO("byte " << i << " bit " << bit);
      // The magic is checked first; everything else, the footer included, is
      // covered by the patch CRC.
      CHECK(apply_error(bad, old) == (i < 4 ? Errc::unsupported : Errc::checksum));
    }
  }
  for (size_t len = 0; len < patch.size(); len += (len < 64 || len + 64 > patch.size()) ? 1 : 53) {
    INFO("length " << len);
    const Bytes cut(patch.begin(), patch.begin() + len);
    CHECK(apply_error(cut, old) == (len < 4    ? Errc::unsupported
                                    : len < 19 ? Errc::bad_patch
                                               : Errc::checksum));
  }
}

TEST_CASE("BPS: footer CRCs that are wrong but re-signed", "[bps]") {
  const Bytes old = random_bytes(4000, 18);
  Bytes neu = old;
  neu[100] = std::byte{0};
  Bytes patch = diff_bps(old, neu);
  SECTION("a wrong target CRC is found when the output is complete") {
    patch[patch.size() - 8] ^= std::byte{1};
    fix_patch_crc(patch);
    CHECK(apply_error(patch, old) == Errc::checksum);
  }
  SECTION("a wrong source CRC makes every source wrong") {
    patch[patch.size() - 12] ^= std::byte{1};
    fix_patch_crc(patch);
    CHECK(apply_error(patch, old) == Errc::wrong_source);
  }
}

TEST_CASE("BPS: hostile patches with valid CRCs are refused with bad_patch", "[bps]") {
  const Bytes old = random_bytes(1000, 19);
  const Bytes lit = to_bytes("xyz");
  struct Case {
    const char* name;
    BpsHeaderSpec header;
    std::vector<BpsAction> actions;
    Errc code;
  };
  const auto h = [&](uint64_t target_size) {
    return BpsHeaderSpec{old.size(), target_size, reference_crc32(old), 0, ""};
  };
  const std::vector<Case> cases = {
      {"SourceRead past the source", h(1001), {source_read(1001)}, Errc::bad_patch},
      {"SourceRead starting past the source",
       h(1010),
       {source_copy(1000, 0), target_read(lit), source_read(7)},
       Errc::bad_patch},
      {"SourceCopy before the start", h(10), {source_copy(10, -1)}, Errc::bad_patch},
      {"SourceCopy past the end", h(10), {source_copy(10, 995)}, Errc::bad_patch},
      {"SourceCopy cursor far past the end",
       h(10),
       {source_copy(10, int64_t{1} << 40)},
       Errc::bad_patch},
      {"TargetCopy with nothing written", h(10), {target_copy(10, 0)}, Errc::bad_patch},
      {"TargetCopy before the start",
       h(13),
       {target_read(lit), target_copy(10, -1)},
       Errc::bad_patch},
      {"TargetCopy from the write position",
       h(13),
       {target_read(lit), target_copy(10, 3)},
       Errc::bad_patch},
      {"output past the target size", h(5), {target_read(lit), source_read(3)}, Errc::bad_patch},
      {"TargetCopy past the target size",
       h(5),
       {target_read(lit), target_copy(3, 0)},
       Errc::bad_patch},
      {"actions stop short of the target size", h(4), {target_read(lit)}, Errc::bad_patch},
      {"huge declared target", h(uint64_t{1} << 60), {target_read(lit)}, Errc::too_large},
      {"huge declared source",
       {uint64_t{1} << 62, 3, 0, 0, ""},
       {target_read(lit)},
       Errc::too_large},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const Bytes patch = encode_bps(c.header, c.actions);
    CHECK(apply_error(patch, old) == c.code);
    CHECK(error_of([&] { inspect_in_memory(patch); }) == c.code);
  }
}

TEST_CASE("BPS: malformed numbers and areas are refused with bad_patch", "[bps]") {
  const Bytes old = random_bytes(100, 20);
  const auto build = [&old](std::initializer_list<uint8_t> body) {
    Bytes p = to_bytes("BPS1");
    for (uint8_t b : body) p.push_back(std::byte{b});
    put_u32le(p, reference_crc32(old));  // the right source: the damage is in the body
    put_u32le(p, 0);
    put_u32le(p, 0);
    fix_patch_crc(p);
    return p;
  };
  struct Case {
    const char* name;
    Bytes patch;
  };
  const std::vector<Case> cases = {
      // Eleven continuation bytes then an end: more than 64 bits.
      {"varint overflow in a size", build({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x81, 0x81, 0x80})},
      {"varint overflow in an action",
       build({0xE4, 0x81, 0x80, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x81})},
      {"varint running into the footer", build({0xE4, 0x81, 0x80, 0x00})},
      {"metadata past the action area", build({0xE4, 0x81, 0x85, 'a', 'b'})},
      {"TargetRead past the action area",
       build({0xE4, 0x80 | 3, 0x80, 0x80 | (2 << 2 | 1), 'a', 'b'})},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    CHECK(apply_error(c.patch, old) == Errc::bad_patch);
  }
  CHECK_THAT(message_of(cases[0].patch, old), Catch::Contains("64 bits"));
}

TEST_CASE("BPS: wrong source and already-applied source", "[bps]") {
  const Bytes old = random_bytes(5000, 21);
  Bytes neu = old;
  neu.resize(6000, std::byte{9});
  const Bytes patch = diff_bps(old, neu);
  SECTION("same size, other content") {
    Bytes other = old;
    other[4999] ^= std::byte{1};
    CHECK(check_error(patch, other) == Errc::wrong_source);
    CHECK(apply_error(patch, other) == Errc::wrong_source);
    const std::string msg = message_of(patch, other);
    CHECK_THAT(msg, Catch::Contains("expected 5000 bytes with CRC32 0x"));
    CHECK_THAT(msg, Catch::Contains("got 5000 bytes with CRC32 0x"));
  }
  SECTION("other size") {
    CHECK(check_error(patch, Bytes(10)) == Errc::wrong_source);
    CHECK_THAT(message_of(patch, Bytes(10)), Catch::Contains("got 10 bytes"));
  }
  SECTION("the target itself") {
    CHECK(check_in_memory(patch, neu) == SourceCheck::already_applied);
    CHECK(apply_error(patch, neu) == Errc::already_applied);
  }
  SECTION("the right source") { CHECK(check_in_memory(patch, old) == SourceCheck::matches); }
}

TEST_CASE("BPS: inspect reports sizes, CRCs, metadata and action counts", "[bps]") {
  const Bytes old = to_bytes("hello, world");
  const std::vector<BpsAction> actions = {source_read(5), target_read(to_bytes("!!")),
                                          target_copy(4, 5), source_copy(5, 7)};
  Bytes neu;
  Bytes patch = patch_from(old, actions, &neu);
  const PatchInfo info = inspect_in_memory(encode_bps(
      {old.size(), neu.size(), reference_crc32(old), reference_crc32(neu), "<meta/>"}, actions));
  CHECK(info.source_size == 12u);
  CHECK(info.target_size == neu.size());
  CHECK(info.metadata == "<meta/>");
  CHECK(detail(info, "actions") == "4");
  CHECK(detail(info, "SourceRead") == "1");
  CHECK(detail(info, "TargetRead") == "1");
  CHECK(detail(info, "SourceCopy") == "1");
  CHECK(detail(info, "TargetCopy") == "1");
  CHECK(apply_in_memory(patch, old) == to_bytes("hello!!!!!!world"));
}

TEST_CASE("CRC-32: the check value, every alignment and split, fills", "[bps]") {
  CHECK(formats::crc32(std::as_bytes(std::span("123456789", 9))) == 0xCBF43926u);
  CHECK(formats::crc32({}) == 0u);
  const Bytes data = random_bytes(300, 40);
  for (size_t start = 0; start < 9; ++start) {
    for (size_t len = 0; start + len <= data.size(); len += 13) {
      const auto piece = std::span(data).subspan(start, len);
      INFO("start " << start << " length " << len);
      CHECK(formats::crc32(piece) == reference_crc32(piece));
      formats::Crc32 split;  // the same bytes fed in two uneven parts
      split.update(piece.first(len / 3));
      split.update(piece.subspan(len / 3));
      CHECK(split.value() == reference_crc32(piece));
    }
  }
  formats::Crc32 fill;
  fill.update_fill(std::byte{0xAB}, 10000);
  CHECK(fill.value() == reference_crc32(Bytes(10000, std::byte{0xAB})));
}

TEST_CASE("CRC-32 of a file is remembered by identity and recomputed once it changes", "[bps]") {
  using namespace bpatch::testing;
  TempDir dir;
  const std::string path = dir / "big";
  std::mt19937_64 rng(5);
  std::string content = random_bytes(rng, 3 << 20);
  write_file(path, content);
  PosixFileSystem fs;
  const auto crc_now = [&] {
    const auto src = open_source(fs, path);
    return formats::crc32_of(*src, 0, src->size());
  };
  const auto bytes = [](const std::string& s) {
    return std::as_bytes(std::span(s.data(), s.size()));
  };
  CHECK(crc_now() == formats::crc32(bytes(content)));
  CHECK(crc_now() == formats::crc32(bytes(content)));  // the remembered value
  content[12345] ^= 0x40;                              // same size, new mtime
  write_file(path, content);
  const timespec later[2] = {{0, UTIME_OMIT}, {::time(nullptr) + 10, 0}};
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), later, 0) == 0);
  CHECK(crc_now() == formats::crc32(bytes(content)));
  content += "x";  // another size
  write_file(path, content);
  CHECK(crc_now() == formats::crc32(bytes(content)));
}

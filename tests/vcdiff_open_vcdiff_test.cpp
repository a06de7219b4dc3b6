// open-vcdiff's extended VCDIFF format (version byte 'S'): interleaved
// sections and the varint Adler-32 checksum seeded with 0.
//
// open-vcdiff is not packaged by Debian, so the oracle is an independent
// encoder of the format (fixtures/conformance/tools/open_vcdiff_encode.py,
// written from open-vcdiff's decoder), run on generated pairs with each of
// its options; hand-built windows cover the exact byte order of an
// interleaved double instruction and every malformed-checksum case.
#include "vcdiff_test_support.hpp"

using namespace vcdiff_test;

namespace {

Bytes str(const char* s) { return Bytes(s, s + std::strlen(s)); }

Bytes s_header() { return Bytes{0xD6, 0xC3, 0xC4, 'S', 0x00}; }

// zlib's adler32(0, data, n), as open-vcdiff computes it: both sums start at 0.
uint32_t adler_seed0(const Bytes& d) {
  uint32_t a = 0, b = 0;
  for (uint8_t x : d) {
    a = (a + x) % 65521;
    b = (b + a) % 65521;
  }
  return (b << 16) | a;
}

// One open-vcdiff window without a source segment; `sections` is the
// instruction section (interleaved) or data+inst+addr when `lengths` says so.
Bytes s_window(uint64_t target_length, const Bytes& data, const Bytes& inst, const Bytes& addr,
               std::optional<uint64_t> checksum) {
  Bytes out;
  out.push_back(checksum ? 0x04 : 0x00);
  Bytes enc;
  put_int(enc, target_length);
  enc.push_back(0);
  put_int(enc, data.size());
  put_int(enc, inst.size());
  put_int(enc, addr.size());
  if (checksum) put_int(enc, *checksum);
  append(enc, data);
  append(enc, inst);
  append(enc, addr);
  put_int(out, enc.size());
  append(out, enc);
  return out;
}

bpatch::Errc apply_error(const Bytes& patch, const Bytes& old_data,
                         std::string* message = nullptr) {
  try {
    bpatch_apply(patch, old_data);
  } catch (const bpatch::Error& e) {
    if (message) *message = e.what();
    return e.code();
  }
  FAIL("the patch was accepted");
  return bpatch::Errc::io;
}

std::map<std::string, std::string> details_of(const Bytes& patch) {
  bpatch::MemorySource src(as_span(patch), "patch");
  const auto info = bpatch::inspect_patch(src);
  return {info.details.begin(), info.details.end()};
}

const std::string kEncoder =
    std::string(BPATCH_SOURCE_DIR) + "/fixtures/conformance/tools/open_vcdiff_encode.py";

}  // namespace

TEST_CASE("open-vcdiff: an interleaved double instruction reads ADD byte then COPY address",
          "[vcdiff][open-vcdiff]") {
  // "abcd" by ADD 4, then opcode 163 = ADD 1 + COPY 4 mode 0: 'x', then
  // address 0 -> "abcdxabcd". Interleaved: 5 a b c d | 163 x 0.
  const Bytes target = str("abcdxabcd");
  const Bytes inst = {5, 'a', 'b', 'c', 'd', 163, 'x', 0};
  Bytes patch = s_header();
  append(patch, s_window(target.size(), {}, inst, {}, adler_seed0(target)));
  CHECK(bpatch_apply(patch, {}) == target);
  const auto d = details_of(patch);
  CHECK(d.at("variant") == "open-vcdiff extended: interleaved, checksum");
  CHECK(d.at("adler32") == "yes");

  SECTION("an explicit size comes before the half's payload") {
    // ADD with explicit size 18 (opcode 1, size 18, 18 bytes), then RUN 3 of 'z'.
    Bytes t(18, 'q');
    Bytes in = {1, 18};
    for (uint8_t c : t)
      in.push_back(c);  // (insert() here trips a GCC 12 -Warray-bounds false positive)
    in.insert(in.end(), {0, 3, 'z'});
    t.insert(t.end(), 3, 'z');
    Bytes p = s_header();
    append(p, s_window(t.size(), {}, in, {}, adler_seed0(t)));
    CHECK(bpatch_apply(p, {}) == t);
  }
  SECTION("the same window, not interleaved, without a checksum") {
    Bytes p = s_header();
    append(p, s_window(target.size(), str("abcdx"), {5, 163}, {0}, std::nullopt));
    CHECK(bpatch_apply(p, {}) == target);
    CHECK(details_of(p).at("variant") == "open-vcdiff extended");
  }
}

TEST_CASE("open-vcdiff: the checksum is a varint adler32 seeded with 0, and it is verified",
          "[vcdiff][open-vcdiff]") {
  const Bytes target = str("abcdxabcd");
  const Bytes inst = {5, 'a', 'b', 'c', 'd', 163, 'x', 0};
  auto patch_with = [&](std::optional<uint64_t> sum) {
    Bytes p = s_header();
    append(p, s_window(target.size(), {}, inst, {}, sum));
    return p;
  };
  CHECK(adler_seed0(target) != reference_adler32(target));  // the seed matters
  std::string msg;
  CHECK(apply_error(patch_with(reference_adler32(target)), {}, &msg) == bpatch::Errc::checksum);
  CHECK(msg.find("adler32") != std::string::npos);
  CHECK(apply_error(patch_with(adler_seed0(target) ^ 1), {}) == bpatch::Errc::checksum);
  CHECK(apply_error(patch_with(uint64_t{1} << 32), {}, &msg) == bpatch::Errc::bad_patch);
  CHECK(msg.find("exceeds 32 bits") != std::string::npos);
  // A damaged instruction stream that still decodes: the checksum catches it.
  Bytes bad = inst;
  bad[2] = 'B';
  Bytes p = s_header();
  append(p, s_window(target.size(), {}, bad, {}, adler_seed0(target)));
  CHECK(apply_error(p, {}) == bpatch::Errc::checksum);
}

TEST_CASE("open-vcdiff: malformed interleaved windows are errors", "[vcdiff][open-vcdiff]") {
  const Bytes target = str("abcdxabcd");
  const Bytes inst = {5, 'a', 'b', 'c', 'd', 163, 'x', 0};
  for (size_t cut = 1; cut < inst.size(); ++cut) {
    INFO("instruction section cut to " << cut);
    Bytes p = s_header();
    append(p, s_window(target.size(), {}, Bytes(inst.begin(), inst.begin() + cut), {},
                       adler_seed0(target)));
    CHECK(apply_error(p, {}) == bpatch::Errc::bad_patch);
  }
  Bytes extra = inst;
  extra.push_back(2);  // one more ADD 1 whose byte is missing, past the window
  Bytes p = s_header();
  append(p, s_window(target.size(), {}, extra, {}, adler_seed0(target)));
  CHECK(apply_error(p, {}) == bpatch::Errc::bad_patch);
  // Whole-file truncations are errors too.
  Bytes whole = s_header();
  append(whole, s_window(target.size(), {}, inst, {}, adler_seed0(target)));
  for (size_t n = 5; n < whole.size(); ++n) {
    INFO("patch cut to " << n);
    CHECK_THROWS_AS(bpatch_apply(Bytes(whole.begin(), whole.begin() + n), {}), bpatch::Error);
  }
}

TEST_CASE("open-vcdiff: unknown version bytes still say which versions exist", "[vcdiff]") {
  std::string msg;
  Bytes p = {0xD6, 0xC3, 0xC4, 'T', 0x00};
  CHECK(apply_error(p, {}, &msg) == bpatch::Errc::unsupported);
  CHECK(msg.find("open-vcdiff") != std::string::npos);
}

TEST_CASE("open-vcdiff: patches from an independent encoder decode byte for byte",
          "[vcdiff][open-vcdiff]") {
  REQUIRE(std::system("python3 -c 'import zlib' >/dev/null 2>&1") == 0);
  ScratchDir dir;
  std::mt19937 rng(1553);
  const char* const options[] = {"",
                                 "--interleaved",
                                 "--checksum",
                                 "--interleaved --checksum",
                                 "--interleaved --checksum --target-matches",
                                 "--target-matches --checksum --window 4096",
                                 "--interleaved --target-matches --window 1000"};
  for (int pair = 0; pair < 2; ++pair) {
    const Bytes old_data = pair == 0 ? Bytes{} : text_bytes(rng, 8000);
    Bytes new_data = pair == 0 ? text_bytes(rng, 3000) : edit_bytes(rng, old_data, 12);
    new_data.insert(new_data.end(), 300, 'r');  // a RUN
    write_file(dir.file("old"), old_data);
    write_file(dir.file("new"), new_data);
    for (const char* opt : options) {
      INFO("pair " << pair << " options '" << opt << "'");
      const std::string cmd = "python3 '" + kEncoder + "' '" + dir.file("old") + "' '" +
                              dir.file("new") + "' '" + dir.file("patch") + "' " + opt;
      REQUIRE(run(cmd));
      const Bytes patch = read_file(dir.file("patch"));
      REQUIRE(patch.size() > 5);
      CHECK(patch[3] == 'S');
      CHECK(bpatch_apply(patch, old_data) == new_data);
      const auto d = details_of(patch);
      const std::string o(opt);
      std::string variant = "open-vcdiff extended";
      if (o.find("interleaved") != std::string::npos) variant += ": interleaved";
      if (o.find("checksum") != std::string::npos)
        variant += variant.find(':') == std::string::npos ? ": checksum" : ", checksum";
      CHECK(d.at("variant") == variant);
      if (o.find("checksum") != std::string::npos && !old_data.empty()) {
        // A different old file of the same size: refused, never a wrong file.
        Bytes other = old_data;
        for (size_t i = 0; i < other.size(); i += 97) other[i] ^= 0x5A;
        CHECK_THROWS_AS(bpatch_apply(patch, other), bpatch::Error);
      }
    }
  }
}

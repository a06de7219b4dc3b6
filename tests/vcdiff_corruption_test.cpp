// Damaged VCDIFF patches: every flipped bit, every truncation, a wrong
// source — bpatch must throw bpatch::Error, never return a different file.
// (A flip that still decodes to the right file, e.g. in xdelta3's
// application header, is fine.) Patches carry xdelta3's adler32; -n
// patches are left out: without a checksum a flipped ADD byte is a valid
// patch for another file, which no decoder can tell.
#include "vcdiff_test_support.hpp"

using namespace vcdiff_test;

namespace {

// Applies and classifies: true = threw bpatch::Error, false = same output.
// A different output fails the test.
bool rejects(const Bytes& patch, const Bytes& old_data, const Bytes& expected) {
  try {
    const Bytes out = bpatch_apply(patch, old_data);
    CHECK(out == expected);
    return false;
  } catch (const bpatch::Error&) {
    return true;
  }
}

}  // namespace

TEST_CASE("vcdiff: every flipped bit is an error or harmless", "[vcdiff]") {
  VCDIFF_REQUIRE_XDELTA3();
  ScratchDir dir;
  std::mt19937 rng(1);
  const Bytes old_data = text_bytes(rng, 60000);
  const Bytes new_data = edit_bytes(rng, old_data, 25);
  for (const char* options : {"", "-S djw", "-S fgk", "-S none"}) {
    const Bytes patch = xdelta3_encode(dir, old_data, new_data, options);
    size_t rejected = 0;
    for (size_t i = 0; i < patch.size(); ++i) {
      Bytes bad = patch;
      bad[i] ^= static_cast<uint8_t>(1u << ((i * 5) % 8));
      INFO("xdelta3 -e " << options << ": bit " << (i * 5) % 8 << " of byte " << i << " of "
                         << patch.size());
      rejected += rejects(bad, old_data, new_data);
    }
    INFO("xdelta3 -e " << options);
    CHECK(rejected > patch.size() / 2);
  }
}

TEST_CASE("vcdiff: every truncation of a one-window patch is an error", "[vcdiff]") {
  VCDIFF_REQUIRE_XDELTA3();
  ScratchDir dir;
  std::mt19937 rng(2);
  const Bytes old_data = text_bytes(rng, 60000);
  const Bytes new_data = edit_bytes(rng, old_data, 25);
  for (const char* options : {"", "-S djw", "-S fgk", "-S none -n"}) {
    const Bytes patch = xdelta3_encode(dir, old_data, new_data, options);
    for (size_t len = 0; len < patch.size(); ++len) {
      INFO("xdelta3 -e " << options << " truncated to " << len << " of " << patch.size());
      const Bytes cut(patch.begin(), patch.begin() + static_cast<ptrdiff_t>(len));
      CHECK_THROWS_AS(bpatch_apply(cut, old_data), bpatch::Error);
    }
  }
}

TEST_CASE("vcdiff: a different old file of the same size is the wrong source", "[vcdiff]") {
  VCDIFF_REQUIRE_XDELTA3();
  ScratchDir dir;
  std::mt19937 rng(3);
  const Bytes old_data = text_bytes(rng, 200000);
  const Bytes new_data = edit_bytes(rng, old_data, 25);
  for (const char* options : {"", "-S djw", "-S none", "-W 16384"}) {
    INFO("xdelta3 -e " << options);
    const Bytes patch = xdelta3_encode(dir, old_data, new_data, options);
    Bytes other = old_data;
    for (size_t i = 0; i < other.size(); i += 997) other[i] ^= 0x20;
    try {
      bpatch_apply(patch, other);
      FAIL("decoded against the wrong old file");
    } catch (const bpatch::Error& e) {
      CHECK(e.code() == bpatch::Errc::wrong_source);
    }
  }
}

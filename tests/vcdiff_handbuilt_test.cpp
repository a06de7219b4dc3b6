// Hand-built VCDIFF patches for what xdelta3 3.0 cannot write (VCD_TARGET
// windows, custom code tables) and for each malformed-patch error.
// Opcodes are the default code table's (RFC 3284 §5.6):
//   0 RUN (size follows)       1 ADD (size follows)   s+1 ADD of s in [1,17]
//   19+16m COPY mode m (size follows)                 19+16m+s-3 COPY of s in [4,18]
#include "vcdiff_test_support.hpp"

using namespace vcdiff_test;

namespace {

Bytes str(const char* s) { return Bytes(s, s + std::strlen(s)); }

uint8_t add_op(size_t size) { return static_cast<uint8_t>(size + 1); }
uint8_t copy_op(unsigned mode, size_t size) {
  return static_cast<uint8_t>(19 + 16 * mode + size - 3);
}

bpatch::Errc apply_error(const Bytes& patch, const Bytes& old_data = {}) {
  try {
    bpatch_apply(patch, old_data);
  } catch (const bpatch::Error& e) {
    return e.code();
  }
  FAIL("the patch was accepted");
  return bpatch::Errc::io;
}

// One window, no segment: ADD "abcd", then an overlapping COPY of 12 from 0.
WindowSpec overlap_window() {
  WindowSpec w;
  w.indicator = 4;
  w.target_length = 16;
  w.data = str("abcd");
  w.inst = {add_op(4), 19};  // COPY mode 0, explicit size
  put_int(w.inst, 12);
  put_int(w.addr, 0);
  w.adler32 = reference_adler32(str("abcdabcdabcdabcd"));
  return w;
}

}  // namespace

TEST_CASE("vcdiff: an overlapping COPY repeats the bytes just written", "[vcdiff]") {
  Bytes patch = plain_header();
  put_window(patch, overlap_window());
  CHECK(bpatch_apply(patch, {}) == str("abcdabcdabcdabcd"));
}

TEST_CASE("vcdiff: zero-length instructions in an empty window decode to nothing", "[vcdiff]") {
  WindowSpec w;
  w.indicator = 4;
  w.target_length = 0;
  w.data = str("x");      // the RUN's byte
  w.inst = {1, 0, 0, 0};  // ADD 0, RUN 0 (a COPY needs an address below 0: none exists)
  w.adler32 = 1;
  Bytes patch = plain_header();
  put_window(patch, w);
  CHECK(bpatch_apply(patch, {}).empty());
}

TEST_CASE("vcdiff: VCD_TARGET windows copy from earlier output", "[vcdiff]") {
  Bytes patch = plain_header();
  WindowSpec w0;
  w0.indicator = 4;
  w0.target_length = 11;
  w0.data = str("hello world");
  w0.inst = {1};
  put_int(w0.inst, 11);
  w0.adler32 = reference_adler32(str("hello world"));
  put_window(patch, w0);

  WindowSpec w1;  // segment "world" = output [6, 11); copy it, then copy the copy
  w1.indicator = 2 | 4;
  w1.segment_length = 5;
  w1.segment_offset = 6;
  w1.target_length = 10;
  w1.inst = {copy_op(0, 5), copy_op(0, 5)};
  put_int(w1.addr, 0);
  put_int(w1.addr, 5);  // the first byte of this window's target
  w1.adler32 = reference_adler32(str("worldworld"));
  put_window(patch, w1);

  WindowSpec w2;  // segment "hello" = output [0, 5)
  w2.indicator = 2 | 4;
  w2.segment_length = 5;
  w2.segment_offset = 0;
  w2.target_length = 7;
  w2.data = str("<>");
  w2.inst = {add_op(1), copy_op(0, 5), add_op(1)};
  put_int(w2.addr, 0);
  w2.adler32 = reference_adler32(str("<hello>"));
  put_window(patch, w2);

  CHECK(bpatch_apply(patch, {}) == str("hello worldworldworld<hello>"));

  // A segment past the output decoded so far is malformed.
  Bytes bad = plain_header();
  put_window(bad, w0);
  w1.segment_offset = 7;
  put_window(bad, w1);
  CHECK(apply_error(bad) == bpatch::Errc::bad_patch);
}

TEST_CASE("vcdiff: a custom code table shipped as a delta of the default one", "[vcdiff]") {
  // The table: default, except 253 = COPY 5 mode 2 (near[0]), 254 = COPY 6
  // mode 4 (with near 2 / same 1: the same cache), 255 = RUN 7.
  const uint8_t rows[6][3] = {{3, 3, 2}, {0, 0, 0}, {5, 6, 7}, {0, 0, 0}, {2, 4, 0}, {0, 0, 0}};
  Bytes table_delta = plain_header();
  WindowSpec t;
  t.indicator = 1 | 4;  // VCD_SOURCE: the default table's 1536 bytes
  t.segment_length = 1536;
  t.target_length = 1536;
  for (int row = 0; row < 6; ++row) {
    t.inst.push_back(19);  // COPY mode 0, explicit size 253 from row*256
    put_int(t.inst, 253);
    put_int(t.addr, static_cast<uint64_t>(row) * 256);
    t.inst.push_back(add_op(3));
    t.data.insert(t.data.end(), rows[row], rows[row] + 3);
  }
  {  // the expected table string, for the window's checksum
    Bytes expected(1536);
    // Rebuild the default table's string independently: types, sizes, modes.
    struct H {
      uint8_t type, size, mode;
    };
    std::vector<std::pair<H, H>> e;
    e.push_back({{2, 0, 0}, {0, 0, 0}});
    for (int s = 0; s <= 17; ++s) e.push_back({{1, uint8_t(s), 0}, {0, 0, 0}});
    for (int m = 0; m <= 8; ++m) {
      e.push_back({{3, 0, uint8_t(m)}, {0, 0, 0}});
      for (int s = 4; s <= 18; ++s) e.push_back({{3, uint8_t(s), uint8_t(m)}, {0, 0, 0}});
    }
    for (int m = 0; m <= 5; ++m)
      for (int a = 1; a <= 4; ++a)
        for (int c = 4; c <= 6; ++c) e.push_back({{1, uint8_t(a), 0}, {3, uint8_t(c), uint8_t(m)}});
    for (int m = 6; m <= 8; ++m)
      for (int a = 1; a <= 4; ++a) e.push_back({{1, uint8_t(a), 0}, {3, 4, uint8_t(m)}});
    for (int m = 0; m <= 8; ++m) e.push_back({{3, 4, uint8_t(m)}, {1, 1, 0}});
    REQUIRE(e.size() == 256);
    for (size_t i = 0; i < 256; ++i) {
      const uint8_t v[6] = {e[i].first.type,  e[i].second.type, e[i].first.size,
                            e[i].second.size, e[i].first.mode,  e[i].second.mode};
      for (int row = 0; row < 6; ++row)
        expected[row * 256 + i] = i >= 253 ? rows[row][i - 253] : v[row];
    }
    t.adler32 = reference_adler32(expected);
  }
  put_window(table_delta, t);

  Bytes patch = {0xD6, 0xC3, 0xC4, 0x00, 0x02};  // VCD_CODETABLE
  put_int(patch, table_delta.size() + 2);
  const size_t near_at = patch.size();
  patch.push_back(2);  // near cache size
  patch.push_back(1);  // same cache size
  append(patch, table_delta);

  WindowSpec w;
  w.indicator = 4;
  w.data = str("abcdefghz");
  w.inst = {1};  // ADD 8, explicit size
  put_int(w.inst, 8);
  w.inst.push_back(255);            // RUN 7 of 'z'
  w.inst.push_back(copy_op(0, 4));  // COPY 4 from 2: "cdef"; near = {2, 0}, same[2] = 2
  put_int(w.addr, 2);
  w.inst.push_back(253);  // COPY 5 from near[0] + 1 = 3: "defgh"
  put_int(w.addr, 1);
  w.inst.push_back(254);  // COPY 6 from same[3] = 3: "defghz"
  w.addr.push_back(3);
  const Bytes expected = str("abcdefghzzzzzzzcdefdefghdefghz");
  w.target_length = expected.size();
  w.adler32 = reference_adler32(expected);
  put_window(patch, w);

  CHECK(bpatch_apply(patch, {}) == expected);
  const bpatch::PatchInfo info = bpatch::inspect_patch(bpatch::MemorySource(as_span(patch)));
  CHECK(info.target_size == expected.size());

  // A table entry naming a COPY mode the caches do not have is rejected.
  Bytes bad = patch;
  bad[near_at] = 1;  // near 1 + same 1: mode 4 no longer exists
  CHECK(apply_error(bad) == bpatch::Errc::bad_patch);
}

TEST_CASE("vcdiff: a wrong adler32 is a checksum error, or the wrong source in window 0",
          "[vcdiff]") {
  const Bytes old_data = str("0123456789");
  WindowSpec w0;  // COPY the whole source, ADD "!"
  w0.indicator = 1 | 4;
  w0.segment_length = 10;
  w0.target_length = 11;
  w0.data = str("!");
  w0.inst = {copy_op(0, 10), add_op(1)};
  put_int(w0.addr, 0);
  w0.adler32 = reference_adler32(str("0123456789!"));
  WindowSpec w1;
  w1.indicator = 4;
  w1.target_length = 3;
  w1.data = str("xyz");
  w1.inst = {add_op(3)};
  w1.adler32 = reference_adler32(str("xyz"));

  auto build = [&](uint32_t flip0, uint32_t flip1) {
    Bytes p = plain_header();
    WindowSpec a = w0, b = w1;
    a.adler32 ^= flip0;
    b.adler32 ^= flip1;
    put_window(p, a);
    put_window(p, b);
    return p;
  };
  CHECK(bpatch_apply(build(0, 0), old_data) == str("0123456789!xyz"));
  CHECK(apply_error(build(1, 0), old_data) == bpatch::Errc::wrong_source);
  CHECK(apply_error(build(0, 0x10000), old_data) == bpatch::Errc::checksum);
  CHECK(apply_error(build(0, 0), str("0123456780")) == bpatch::Errc::wrong_source);
  CHECK(apply_error(build(0, 0), str("012345678")) == bpatch::Errc::wrong_source);
}

TEST_CASE("vcdiff: malformed patches are rejected with a specific error", "[vcdiff]") {
  using bpatch::Errc;
  struct Case {
    const char* what;
    Bytes patch;
    Errc code;
  };
  std::vector<Case> cases;
  auto with_window = [](const WindowSpec& w) {
    Bytes p = plain_header();
    put_window(p, w);
    return p;
  };
  const WindowSpec good = overlap_window();
  cases.push_back({"header only, no window", plain_header(), Errc::bad_patch});
  cases.push_back({"version 1", Bytes{0xD6, 0xC3, 0xC4, 0x01, 0x00}, Errc::unsupported});
  cases.push_back(
      {"unknown secondary id 7", Bytes{0xD6, 0xC3, 0xC4, 0x00, 0x01, 0x07}, Errc::unsupported});
  cases.push_back({"unknown header bits", Bytes{0xD6, 0xC3, 0xC4, 0x00, 0x08}, Errc::bad_patch});
  {
    WindowSpec w = good;
    w.addr = {16};  // COPY from 16 = the position being written
    cases.push_back({"COPY address past the current position", with_window(w), Errc::bad_patch});
  }
  {
    WindowSpec w = good;
    w.target_length = 15;
    cases.push_back({"instructions overflow the target window", with_window(w), Errc::bad_patch});
    w.target_length = 17;
    cases.push_back(
        {"instructions stop short of the target window", with_window(w), Errc::bad_patch});
  }
  {
    WindowSpec w = good;
    w.data.push_back('x');
    cases.push_back({"unused data section bytes", with_window(w), Errc::bad_patch});
  }
  {
    WindowSpec w = good;
    w.target_length = (uint64_t{64} << 20) + 1;
    cases.push_back({"window larger than 64 MiB", with_window(w), Errc::too_large});
  }
  {
    WindowSpec w = good;
    w.indicator |= 1;
    w.segment_length = 100;
    cases.push_back({"source segment past the old file", with_window(w), Errc::wrong_source});
  }
  {
    Bytes p = with_window(good);
    p[6] += 1;  // the delta encoding length
    cases.push_back({"encoding length disagrees with the sections", p, Errc::bad_patch});
  }
  {
    Bytes p = with_window(good);
    p[8] = 1;  // the delta indicator: compressed data without a compressor
    cases.push_back({"compressed section without a secondary compressor", p, Errc::bad_patch});
  }
  {
    Bytes p = with_window(good);
    p.push_back(0x04);  // a second window, cut inside its header
    cases.push_back({"trailing partial window", p, Errc::bad_patch});
  }
  for (const Case& c : cases) {
    INFO(c.what);
    CHECK(apply_error(c.patch) == c.code);
  }
}

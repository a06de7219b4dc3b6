// Bounded memory for VCDIFF patches with LZMA secondary sections: a patch
// of a few KiB whose sections are xz streams of tens of MiB of zeros must be
// refused before its sections make the decoder hold more than the bound in
// vcdiff_decoder.hpp (it used to take ~450 MiB). The peak resident size of
// a child process doing the decode is measured against one decoding a
// trivial patch. Oracle for the streams: the xz CLI (missing: the test fails).
#include <sys/resource.h>
#include <sys/wait.h>

#include "vcdiff_test_support.hpp"

using namespace vcdiff_test;

namespace {

// An .xz stream (no check, preset 9: a 64 MiB dictionary) of n zero bytes.
Bytes xz_zeros(const ScratchDir& dir, uint64_t n) {
  const std::string out = dir.file("zeros.xz");
  REQUIRE(run("(head -c " + std::to_string(n) +
              " /dev/zero | xz --format=xz --check=none -9 -c > " + out + ")"));
  return read_file(out);
}

// One window of `target` bytes whose three sections are LZMA-compressed and
// declare `sizes` decompressed bytes each.
Bytes lzma_bomb(const ScratchDir& dir, uint64_t target, const uint64_t (&sizes)[3]) {
  Bytes patch = {0xD6, 0xC3, 0xC4, 0x00, 0x01, 2};  // VCD_DECOMPRESS, LZMA
  Bytes sections[3];
  for (int k = 0; k < 3; ++k) {
    put_int(sections[k], sizes[k]);
    append(sections[k], xz_zeros(dir, sizes[k]));
  }
  Bytes enc;
  put_int(enc, target);
  enc.push_back(0x07);  // data, inst and addr compressed
  for (const Bytes& s : sections) put_int(enc, s.size());
  for (const Bytes& s : sections) append(enc, s);
  patch.push_back(0);  // window indicator: no segment
  put_int(patch, enc.size());
  append(patch, enc);
  return patch;
}

struct ChildResult {
  int status;        // 0 decoded, 1 too_large, 2 another bpatch::Error
  long max_rss_kib;  // peak resident size of the child
};

ChildResult decode_in_child(const Bytes& patch) {
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int code = 0;
    try {
      bpatch_apply(patch, {});
    } catch (const bpatch::Error& e) {
      code = e.code() == bpatch::Errc::too_large ? 1 : 2;
      if (code == 2) std::fprintf(stderr, "child: %s\n", e.what());
    } catch (...) {
      code = 3;
    }
    _exit(code);
  }
  int status = 0;
  struct rusage ru {};
  REQUIRE(wait4(pid, &status, 0, &ru) == pid);
  REQUIRE(WIFEXITED(status));
  return {WEXITSTATUS(status), ru.ru_maxrss};
}

}  // namespace

TEST_CASE("vcdiff: LZMA sections of a tiny patch cannot take hundreds of MiB", "[vcdiff][memory]") {
  REQUIRE(run("xz --version"));
  ScratchDir dir;
  // Baseline: a trivial valid patch decoded the same way.
  Bytes trivial = plain_header();
  WindowSpec w;
  w.target_length = 1;
  w.data = {'x'};
  w.inst = {2};  // ADD 1
  put_window(trivial, w);
  const ChildResult base = decode_in_child(trivial);
  REQUIRE(base.status == 0);

  const uint64_t mib = 1 << 20;
  const uint64_t sizes[3] = {30 * mib, 30 * mib, 30 * mib};
  const Bytes bomb = lzma_bomb(dir, 64 * mib, sizes);
  INFO("patch of " << bomb.size() << " bytes");
  CHECK(bomb.size() < 64 * 1024);
  const ChildResult r = decode_in_child(bomb);
  CHECK(r.status == 1);  // too_large: the window's sections would decode to more than 32 MiB
  const long grown_mib = (r.max_rss_kib - base.max_rss_kib) / 1024;
  INFO("peak grew by " << grown_mib << " MiB");
  // 30 MiB of decoded data and the 30 MiB the LZMA dictionary took to
  // produce it; the 64 MiB target window is never allocated.
  CHECK(grown_mib < 100);
}

TEST_CASE("vcdiff: an LZMA dictionary beyond xdelta3 -9's is refused", "[vcdiff][memory]") {
  REQUIRE(run("xz --version"));
  ScratchDir dir;
  // A 1 GiB dictionary (xz --lzma2=dict=1GiB) for one byte.
  // (In parentheses: run() sends the command's own output to /dev/null.)
  REQUIRE(run("(printf x | xz --format=xz --check=none --lzma2=dict=1GiB -c > " +
              dir.file("big.xz") + ")"));
  REQUIRE(read_file(dir.file("big.xz")).size() > 20);
  Bytes patch = {0xD6, 0xC3, 0xC4, 0x00, 0x01, 2};
  Bytes data;
  put_int(data, 1);
  append(data, read_file(dir.file("big.xz")));
  Bytes enc;
  put_int(enc, 1);
  enc.push_back(0x01);  // data compressed
  put_int(enc, data.size());
  put_int(enc, 1);
  put_int(enc, 0);
  append(enc, data);
  enc.push_back(2);  // ADD 1
  patch.push_back(0);
  put_int(patch, enc.size());
  append(patch, enc);
  try {
    bpatch_apply(patch, {});
    FAIL("accepted");
  } catch (const bpatch::Error& e) {
    INFO(e.what());
    CHECK(e.code() == bpatch::Errc::too_large);
    CHECK(std::string(e.what()).find("66 MiB") != std::string::npos);
  }
}

// xdelta3 patches of compressed files: by default xdelta3 diffs .gz/.bz2/.xz
// inputs decompressed and records the external compressors in its
// application header. bpatch refuses those (exit 1, nothing written) and
// says to re-create them with `xdelta3 -D -R`; such patches apply exactly.
// Oracles: the real xdelta3 and gzip/bzip2/xz; a missing one fails the test.
#include <sys/stat.h>

#include "formats/vcdiff_app_header.hpp"
#include "vcdiff_test_support.hpp"

using namespace vcdiff_test;

namespace {

std::string sh_quote(const std::string& s) { return "'" + s + "'"; }

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// Two related files of ~60 KB: compressible text with a few edits.
void make_pair(const ScratchDir& dir) {
  std::mt19937 rng(77);
  const Bytes old_data = text_bytes(rng, 60000);
  write_file(dir.file("a"), old_data);
  write_file(dir.file("b"), edit_bytes(rng, old_data, 10));
}

}  // namespace

TEST_CASE("xdelta3 application headers: parsing and which ones are refused",
          "[vcdiff][xdelta3-gz]") {
  using bpatch::vcdiff::external_compression_problem;
  using bpatch::vcdiff::parse_xdelta3_app_header;
  const auto h = parse_xdelta3_app_header("b.gz/G/a.gz/G");
  REQUIRE(h);
  CHECK(h->name == "b.gz");
  CHECK(h->comp == "G");
  CHECK(h->source_name == "a.gz");
  CHECK(h->source_comp == "G");
  CHECK_FALSE(parse_xdelta3_app_header("one/two/three"));
  CHECK(parse_xdelta3_app_header("x/B/y/z/w")->source_comp == "z/w");  // split at three slashes
  CHECK_FALSE(external_compression_problem("b//a/"));                  // -D -R: plain files
  CHECK_FALSE(external_compression_problem("new.bin/"));               // no source
  CHECK_FALSE(external_compression_problem("some/other encoder's header"));
  CHECK_FALSE(external_compression_problem(""));
  for (const char* refused : {"b.gz/G/a.gz/G", "b//a.bz2/B", "b.xz/Y/a/", "b.Z/Z", "b.gz/G"}) {
    INFO(refused);
    const auto why = external_compression_problem(refused);
    REQUIRE(why);
    CHECK(why->find("xdelta3 -e -D -R") != std::string::npos);
  }
}

TEST_CASE("xdelta3 patches of .gz files are refused, and -D -R patches apply",
          "[vcdiff][xdelta3-gz]") {
  REQUIRE(have_xdelta3());
  REQUIRE(run("gzip --version"));
  ScratchDir dir;
  make_pair(dir);
  REQUIRE(run("cd " + sh_quote(dir.file("")) + " && gzip -n -k a b"));
  const std::string a = dir.file("a.gz"), b = dir.file("b.gz");
  REQUIRE(run("xdelta3 -e -f -s " + sh_quote(a) + " " + sh_quote(b) + " " +
              sh_quote(dir.file("default.vcdiff"))));
  REQUIRE(run("xdelta3 -e -f -D -R -s " + sh_quote(a) + " " + sh_quote(b) + " " +
              sh_quote(dir.file("plain.vcdiff"))));
  const Bytes old_gz = read_file(a), new_gz = read_file(b);

  SECTION("the library refuses before any output, in check_source and apply") {
    const Bytes patch = read_file(dir.file("default.vcdiff"));
    bpatch::MemorySource p(as_span(patch), "default.vcdiff");
    bpatch::MemorySource o(as_span(old_gz), "a.gz");
    try {
      bpatch::check_source(p, o);
      FAIL("check_source accepted it");
    } catch (const bpatch::Error& e) {
      CHECK(e.code() == bpatch::Errc::unsupported);
      CHECK(std::string(e.what()).find("xdelta3 -e -D -R") != std::string::npos);
      CHECK(std::string(e.what()).find("gzip") != std::string::npos);
    }
    bpatch::MemorySink sink;
    CHECK_THROWS_AS(bpatch::apply_patch(p, o, sink), bpatch::Error);
    CHECK(sink.size() == 0);
    bpatch::MemorySource p2(as_span(patch), "default.vcdiff");
    const auto info = bpatch::inspect_patch(p2);
    CHECK(info.metadata == "b.gz/G/a.gz/G");
  }
  SECTION("the CLI exits 1, writes nothing and leaves the target alone") {
    const std::string cli = BPATCH_CLI_PATH;
    REQUIRE(!cli.empty());
    const std::string target = dir.file("target.gz"), out = dir.file("out.gz");
    write_file(target, old_gz);
    const std::string base = sh_quote(cli) + " apply -q " + sh_quote(dir.file("default.vcdiff")) +
                             " " + sh_quote(target);
    CHECK(WEXITSTATUS(std::system((base + " -o " + sh_quote(out) + " 2>/dev/null").c_str())) == 1);
    CHECK_FALSE(exists(out));
    CHECK(WEXITSTATUS(std::system((base + " 2>/dev/null").c_str())) == 1);
    CHECK(read_file(target) == old_gz);
    // ... and the -D -R patch applies, byte for byte, in place.
    REQUIRE(run(sh_quote(cli) + " apply -q " + sh_quote(dir.file("plain.vcdiff")) + " " +
                sh_quote(target)));
    CHECK(read_file(target) == new_gz);
  }
  SECTION("xdelta3 itself agrees on the -D -R patch (decoded with -D -R too)") {
    REQUIRE(run("xdelta3 -d -f -D -R -s " + sh_quote(a) + " " + sh_quote(dir.file("plain.vcdiff")) +
                " " + sh_quote(dir.file("decoded"))));
    CHECK(read_file(dir.file("decoded")) == new_gz);
    CHECK(bpatch_apply(read_file(dir.file("plain.vcdiff")), old_gz) == new_gz);
  }
  SECTION("other compressors and a compressed output from a plain source") {
    REQUIRE(run("cd " + sh_quote(dir.file("")) + " && bzip2 -k a && xz -k b"));
    for (const auto& [src, dst] : {std::pair{"a.bz2", "b"}, {"a", "b.xz"}, {"a.bz2", "b.gz"}}) {
      INFO(src << " -> " << dst);
      REQUIRE(run("xdelta3 -e -f -s " + sh_quote(dir.file(src)) + " " + sh_quote(dir.file(dst)) +
                  " " + sh_quote(dir.file("p.vcdiff"))));
      const Bytes patch = read_file(dir.file("p.vcdiff"));
      bpatch::MemorySource p(as_span(patch), "p.vcdiff");
      const Bytes old_data = read_file(dir.file(src));
      bpatch::MemorySource o(as_span(old_data), src);
      bpatch::MemorySink sink;
      try {
        bpatch::apply_patch(p, o, sink);
        FAIL("applied");
      } catch (const bpatch::Error& e) {
        CHECK(e.code() == bpatch::Errc::unsupported);
      }
    }
  }
}

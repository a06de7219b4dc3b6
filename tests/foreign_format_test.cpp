// Patches in formats bpatch knows but does not apply (HDiffPatch's own
// HDIFF formats, PPF, xdelta 1, …) are named for what they are and refused
// as bad input: exit 1, nothing written, not a usage error (exit 2).
#include <catch2/catch.hpp>

#include "bpatch/format.hpp"
#include "bpatch/io.hpp"
#include "testing/test_files.hpp"

using namespace bpatch;
using namespace bpatch::testing;

namespace {

std::string hdiff13(const std::string& compressor) {
  // hdiffz's header: "HDIFF13&" compressor "\0" then varints; the rest of
  // the body does not matter for recognising it.
  return "HDIFF13&" + compressor + std::string(1, '\0') + std::string(40, '\x05');
}

}  // namespace

TEST_CASE("foreign formats: HDiffPatch's own patches are named with the way out", "[format]") {
  const std::string patch = hdiff13("zstd");
  const MemorySource src(std::as_bytes(std::span(patch)), "p.hdiff");
  const auto what = describe_foreign_format(src);
  REQUIRE(what.has_value());
  CHECK_THAT(*what, Catch::Contains("HDiffPatch") && Catch::Contains("HDIFF13") &&
                        Catch::Contains("hdiffz -BSD"));
  CHECK_FALSE(detect_format(src).has_value());
  CHECK_THROWS_WITH(inspect_patch(src), Catch::Contains("HDIFF13"));

  const std::string bsdiff = "BSDIFF40" + std::string(24, '\0');
  CHECK_FALSE(describe_foreign_format(MemorySource(std::as_bytes(std::span(bsdiff)))).has_value());
  const std::string text = "# a bpatch script\n";
  CHECK_FALSE(describe_foreign_format(MemorySource(std::as_bytes(std::span(text)))).has_value());
}

TEST_CASE("foreign formats: bpatch apply refuses them with exit 1 and writes nothing",
          "[format][cli]") {
  TempDir dir;
  write_file(dir / "old.bin", std::string(4096, 'a'));
  for (const std::string& patch :
       {hdiff13("zstd"), hdiff13(""), std::string("HDIFFSF20&lzma\0", 15) + std::string(20, 'x'),
        std::string("HDIFF19&\0", 9), std::string("PPF30\x02", 6) + std::string(60, ' '),
        std::string("%XDZ004%") + std::string(30, '\0'), "NINJA2" + std::string(30, '\x01'),
        "PMSR" + std::string(30, '\0')}) {
    INFO(patch.substr(0, 9));
    write_file(dir / "p.patch", patch);
    const auto before = snapshot(dir.path());
    const auto r =
        run({bpatch_binary(), "apply", dir / "p.patch", dir / "old.bin", "-o", dir / "new.bin"});
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("p.patch") && Catch::Contains("does not apply"));
    CHECK(snapshot(dir.path()) == before);
    // In place, too, and `info` says what it is.
    CHECK(run({bpatch_binary(), "apply", dir / "p.patch", dir / "old.bin"}).exit_code == 1);
    CHECK(snapshot(dir.path()) == before);
    const auto info = run({bpatch_binary(), "info", dir / "p.patch"});
    CHECK(info.exit_code == 1);
    CHECK_THAT(info.err, Catch::Contains("does not apply"));
  }
}

TEST_CASE(
    "unknown binary patches are bad input (exit 1), a script given a TARGET is usage (exit 2)",
    "[format][cli]") {
  TempDir dir;
  write_file(dir / "old.bin", std::string(4096, 'a'));
  std::string binary = "\x01\x02 some unknown patch format";
  binary += std::string(1, '\0') + std::string(100, '\x7f');
  write_file(dir / "p.bin", binary);
  write_file(dir / "s.bpatch", "bpatch 1\nremove x.bin\n");
  const auto before = snapshot(dir.path());
  const auto bin = run({bpatch_binary(), "apply", dir / "p.bin", dir / "old.bin", "-o", dir / "n"});
  CHECK(bin.exit_code == 1);
  CHECK_THAT(bin.err, Catch::Contains("p.bin") && Catch::Contains("binary data"));
  const auto text = run({bpatch_binary(), "apply", dir / "s.bpatch", dir / "old.bin"});
  CHECK(text.exit_code == 2);
  CHECK_THAT(text.err, Catch::Contains("takes no TARGET"));
  CHECK(snapshot(dir.path()) == before);
}

// The conformance suite: small patches written by third-party encoders
// (xdelta3 with its unusual options, Debian's bsdiff, zstd --patch-from)
// and by independent encoders of formats Debian does not package
// (open-vcdiff's extended VCDIFF, hdiffz's bsdiff for an empty file),
// stored in fixtures/conformance/ with their inputs and expected results
// (made by fixtures/conformance/make.sh; see its README.md).
//
// Each case of cases.txt is applied through the library and the CLI: the
// result must equal the expected file, or the patch must be refused with
// the listed error code and reason, exit 1 and nothing written. A patch
// whose format carries a checksum is also damaged at a few places: it may
// fail, or decode to the right file, but never to a wrong one.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "bpatch/error.hpp"
#include "bpatch/format.hpp"
#include "bpatch/io.hpp"

namespace {

using Bytes = std::vector<std::byte>;

const std::string kDir = std::string(BPATCH_SOURCE_DIR) + "/fixtures/conformance/";

Bytes read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE(f.good());
  std::vector<char> c((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  Bytes b(c.size());
  if (!c.empty()) std::memcpy(b.data(), c.data(), c.size());
  return b;
}

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(' ');
  const size_t b = s.find_last_not_of(' ');
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

struct Case {
  std::string patch, old, expected;  // expected empty for a refusal
  std::string refuse_code, refuse_fragment;
};

std::vector<Case> load_cases() {
  std::ifstream f(kDir + "cases.txt");
  REQUIRE(f.good());
  std::vector<Case> cases;
  for (std::string line; std::getline(f, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cols;
    std::stringstream ss(line);
    for (std::string col; std::getline(ss, col, '|');) cols.push_back(trim(col));
    REQUIRE(cols.size() == 3);
    Case c{cols[0], cols[1], cols[2], "", ""};
    if (c.expected.rfind("refuse ", 0) == 0) {
      const std::string rest = c.expected.substr(7);
      const size_t sp = rest.find(' ');
      c.refuse_code = rest.substr(0, sp);
      c.refuse_fragment = sp == std::string::npos ? "" : rest.substr(sp + 1);
      c.expected.clear();
    }
    cases.push_back(c);
  }
  return cases;
}

// check_source then apply_patch, as the CLI does before writing anything.
Bytes apply(const Bytes& patch, const Bytes& old_data, const std::string& name) {
  bpatch::MemorySource p(std::span<const std::byte>(patch), name);
  bpatch::MemorySource o(std::span<const std::byte>(old_data), "old");
  bpatch::check_source(p, o);
  bpatch::MemorySink sink;
  bpatch::apply_patch(p, o, sink);
  return sink.data();
}

// Whether a damaged copy of this patch must never decode to a wrong file.
bool has_checksum(const Bytes& patch, const std::string& name) {
  bpatch::MemorySource p(std::span<const std::byte>(patch), name);
  const auto info = bpatch::inspect_patch(p);
  std::map<std::string, std::string> d(info.details.begin(), info.details.end());
  switch (info.format) {
    case bpatch::Format::vcdiff:
      return d["adler32"] == "yes";
    case bpatch::Format::bsdiff40:
    case bpatch::Format::bsdiff43:
      return true;  // bzip2 CRCs, every stream decoded to its end
    default:
      return d.count("checksum") && d["checksum"].rfind("yes", 0) == 0;
  }
}

std::string quote(const std::string& s) { return "'" + s + "'"; }

}  // namespace

TEST_CASE("conformance: third-party patches apply exactly or are refused for their reason",
          "[conformance]") {
  const auto cases = load_cases();
  REQUIRE(cases.size() >= 20);
  for (const Case& c : cases) {
    INFO("case " << c.patch);
    const Bytes patch = read_bytes(kDir + c.patch);
    const Bytes old_data = read_bytes(kDir + c.old);
    if (c.expected.empty()) {
      try {
        apply(patch, old_data, c.patch);
        FAIL("applied; expected a refusal");
      } catch (const bpatch::Error& e) {
        INFO(e.what());
        CHECK(std::string(bpatch::errc_name(e.code())) == c.refuse_code);
        CHECK(std::string(e.what()).find(c.refuse_fragment) != std::string::npos);
      }
      continue;
    }
    CHECK(apply(patch, old_data, c.patch) == read_bytes(kDir + c.expected));
  }
}

TEST_CASE("conformance: the CLI gives exit 0 and the file, or exit 1 and nothing",
          "[conformance]") {
  const std::string cli = BPATCH_CLI_PATH;
  REQUIRE(!cli.empty());
  char tmpl[] = "/tmp/bpatch-conformance-XXXXXX";
  REQUIRE(mkdtemp(tmpl));
  const std::string dir = tmpl;
  for (const Case& c : load_cases()) {
    INFO("case " << c.patch);
    const std::string out = dir + "/out";
    ::unlink(out.c_str());
    const std::string cmd = quote(cli) + " apply -q " + quote(kDir + c.patch) + " " +
                            quote(kDir + c.old) + " -o " + quote(out) + " 2>/dev/null";
    const int status = std::system(cmd.c_str());
    struct stat st;
    if (c.expected.empty()) {
      CHECK(WEXITSTATUS(status) == 1);
      CHECK(::stat(out.c_str(), &st) != 0);
    } else {
      REQUIRE(WEXITSTATUS(status) == 0);
      CHECK(read_bytes(out) == read_bytes(kDir + c.expected));
    }
  }
  std::system(("rm -rf " + quote(dir)).c_str());
}

TEST_CASE("conformance: damaged checksummed patches never decode to a wrong file",
          "[conformance]") {
  int checked = 0;
  for (const Case& c : load_cases()) {
    if (c.expected.empty()) continue;
    const Bytes patch = read_bytes(kDir + c.patch);
    if (!has_checksum(patch, c.patch)) continue;
    ++checked;
    const Bytes old_data = read_bytes(kDir + c.old);
    const Bytes expected = read_bytes(kDir + c.expected);
    for (size_t k = 1; k <= 24; ++k) {
      const size_t at = patch.size() * k / 25;
      for (uint8_t mask : {0x01, 0x80}) {
        INFO("case " << c.patch << ", byte " << at << " ^ " << int(mask));
        Bytes bad = patch;
        bad[at] ^= std::byte{mask};
        Bytes got;
        bool decoded = true;
        try {
          got = apply(bad, old_data, c.patch);
        } catch (const bpatch::Error&) {
          decoded = false;  // refused: fine
        }
        if (decoded) CHECK(got == expected);
      }
    }
  }
  CHECK(checked >= 10);
}

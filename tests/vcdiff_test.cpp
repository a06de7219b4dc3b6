// VCDIFF decoding against the real xdelta3: every pair x every encoder
// option decodes byte for byte to NEW, and agrees with `xdelta3 -d`.
#include <sys/stat.h>

#include "vcdiff_test_support.hpp"

using namespace vcdiff_test;

namespace {

struct Pair {
  const char* name;
  Bytes old_data;
  Bytes new_data;
};

Bytes elf_binary() {
  for (const char* path : {"/usr/bin/bash", "/usr/bin/ls", "/usr/bin/xdelta3"}) {
    Bytes b = read_file(path);
    if (b.size() > 4 && b[0] == 0x7F && b[1] == 'E' && b[2] == 'L' && b[3] == 'F') {
      if (b.size() > (3u << 20)) b.resize(3u << 20);
      return b;
    }
  }
  return {};
}

std::vector<Pair> make_pairs() {
  std::mt19937 rng(3284);
  std::vector<Pair> pairs;
  const Bytes text = text_bytes(rng, 200000);
  pairs.push_back({"empty to nonempty", {}, text_bytes(rng, 50000)});
  pairs.push_back({"nonempty to empty", text, {}});
  pairs.push_back({"identical", text, text});
  Bytes grown = text;
  for (int i = 0; i < 40; ++i) {
    const Bytes ins = text_bytes(rng, 3000);
    grown.insert(grown.begin() + static_cast<ptrdiff_t>(rng() % grown.size()), ins.begin(),
                 ins.end());
  }
  pairs.push_back({"growth", text, grown});
  Bytes shrunk(text.begin() + 1000, text.begin() + 60000);
  shrunk.insert(shrunk.end(), text.begin() + 150000, text.end());
  pairs.push_back({"shrinkage", text, shrunk});
  pairs.push_back({"unrelated random", random_bytes(rng, 100000), random_bytes(rng, 150000)});
  Bytes runs;
  for (int i = 0; i < 30; ++i) {
    runs.insert(runs.end(), 1000 + rng() % 20000, static_cast<uint8_t>(rng() % 3 ? 0 : 0xFF));
    const Bytes r = random_bytes(rng, rng() % 300);
    runs.insert(runs.end(), r.begin(), r.end());
  }
  pairs.push_back({"long runs", random_bytes(rng, 30000), runs});
  const Bytes elf = elf_binary();
  if (!elf.empty()) pairs.push_back({"ELF binary with edits", elf, edit_bytes(rng, elf, 60)});
  return pairs;
}

const char* const kOptions[] = {"", "-S none", "-S djw", "-S fgk", "-n", "-9", "-0"};

}  // namespace

TEST_CASE("vcdiff: xdelta3 patches decode byte for byte", "[vcdiff]") {
  VCDIFF_REQUIRE_XDELTA3();
  ScratchDir dir;
  for (const Pair& pair : make_pairs()) {
    for (const char* options : kOptions) {
      INFO("pair: " << pair.name << ", xdelta3 -e " << options);
      const Bytes patch = xdelta3_encode(dir, pair.old_data, pair.new_data, options);
      REQUIRE(bpatch::detect_format(bpatch::MemorySource(as_span(patch))) ==
              bpatch::Format::vcdiff);
      const Bytes ours = bpatch_apply(patch, pair.old_data);
      CHECK(ours == pair.new_data);
      Bytes theirs;
      REQUIRE(xdelta3_decode(dir, pair.old_data, patch, theirs));
      CHECK(ours == theirs);
    }
  }
}

TEST_CASE("vcdiff: many small windows over a file larger than 8 MiB", "[vcdiff]") {
  VCDIFF_REQUIRE_XDELTA3();
  ScratchDir dir;
  std::mt19937 rng(16384);
  const Bytes old_data = text_bytes(rng, (8u << 20) + 300000);
  const Bytes new_data = edit_bytes(rng, old_data, 400);
  for (const char* options : {"-W 262144", "-W 65536 -S djw", "-W 65536 -S none", "-W 131072 -n"}) {
    INFO("xdelta3 -e " << options);
    const Bytes patch = xdelta3_encode(dir, old_data, new_data, options);
    const bpatch::PatchInfo info = bpatch::inspect_patch(bpatch::MemorySource(as_span(patch)));
    CHECK(info.target_size == new_data.size());
    uint64_t windows = 0;
    for (const auto& [key, value] : info.details)
      if (key == "windows") windows = std::stoull(value);
    CHECK(windows >= 32);
    CHECK(bpatch_apply(patch, old_data) == new_data);
  }
}

// xdelta3's FGK coder keeps its model across windows, and its encoder can
// advance the model for a section it then stores uncompressed: some
// multi-window -S fgk patches cannot be decoded by xdelta3 itself. Whatever
// xdelta3 -d makes of them, bpatch must make the same, or fail.
TEST_CASE("vcdiff: multi-window FGK patches agree with xdelta3 -d", "[vcdiff]") {
  VCDIFF_REQUIRE_XDELTA3();
  ScratchDir dir;
  std::mt19937 rng(16);
  // Text inserted into text: every section compresses, which is what keeps
  // xdelta3's encoder and decoder models in step.
  const Bytes old_data = text_bytes(rng, 2500000);
  Bytes new_data = old_data;
  for (int i = 0; i < 3000; ++i) {
    const Bytes ins = text_bytes(rng, 20 + rng() % 200);
    new_data.insert(new_data.begin() + static_cast<ptrdiff_t>(rng() % new_data.size()), ins.begin(),
                    ins.end());
  }
  int agreed = 0;
  for (const char* window : {"-W 16384", "-W 1048576"}) {
    INFO("xdelta3 -e -S fgk " << window);
    const Bytes patch = xdelta3_encode(dir, old_data, new_data, std::string("-S fgk ") + window);
    Bytes theirs;
    if (xdelta3_decode(dir, old_data, patch, theirs)) {
      CHECK(theirs == new_data);
      CHECK(bpatch_apply(patch, old_data) == new_data);
      ++agreed;
    } else {
      CHECK_THROWS_AS(bpatch_apply(patch, old_data), bpatch::Error);
    }
  }
  CHECK(agreed >= 1);
}

TEST_CASE("vcdiff: inspect reports windows, secondary, adler32 and the app header", "[vcdiff]") {
  VCDIFF_REQUIRE_XDELTA3();
  ScratchDir dir;
  std::mt19937 rng(7);
  const Bytes old_data = text_bytes(rng, 100000);
  const Bytes new_data = edit_bytes(rng, old_data, 20);
  struct Case {
    const char* options;
    const char* secondary;
    const char* adler32;
  };
  for (const Case& c : {Case{"", "lzma", "yes"}, Case{"-S djw", "djw", "yes"},
                        Case{"-S fgk", "fgk", "yes"}, Case{"-S none -n", "none", "no"}}) {
    INFO("xdelta3 -e " << c.options);
    const Bytes patch = xdelta3_encode(dir, old_data, new_data, c.options);
    const bpatch::PatchInfo info = bpatch::inspect_patch(bpatch::MemorySource(as_span(patch)));
    CHECK(info.format == bpatch::Format::vcdiff);
    CHECK(info.patch_size == patch.size());
    CHECK(info.target_size == new_data.size());
    CHECK(info.metadata == "new//old/");
    std::map<std::string, std::string> details(info.details.begin(), info.details.end());
    CHECK(details["windows"] == "1");
    CHECK(details["secondary"] == c.secondary);
    CHECK(details["adler32"] == c.adler32);
    CHECK(bpatch::check_source(bpatch::MemorySource(as_span(patch)),
                               bpatch::MemorySource(as_span(old_data))) ==
          bpatch::SourceCheck::matches);
  }
}

TEST_CASE("vcdiff: a source too short for a window's segment is the wrong source", "[vcdiff]") {
  VCDIFF_REQUIRE_XDELTA3();
  ScratchDir dir;
  std::mt19937 rng(8);
  const Bytes old_data = text_bytes(rng, 100000);
  const Bytes new_data = edit_bytes(rng, old_data, 20);
  const Bytes patch = xdelta3_encode(dir, old_data, new_data, "");
  const Bytes short_old(old_data.begin(), old_data.begin() + 50000);
  bpatch::MemorySource p(as_span(patch)), o(as_span(short_old));
  try {
    bpatch::check_source(p, o);
    FAIL("check_source accepted a truncated source");
  } catch (const bpatch::Error& e) {
    CHECK(e.code() == bpatch::Errc::wrong_source);
  }
  try {
    bpatch_apply(patch, short_old);
    FAIL("apply accepted a truncated source");
  } catch (const bpatch::Error& e) {
    CHECK(e.code() == bpatch::Errc::wrong_source);
  }
}

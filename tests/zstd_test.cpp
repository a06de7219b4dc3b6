// zstd patch-from patches. Oracle: the real zstd CLI, which makes the
// patches (`zstd --patch-from=OLD NEW -o P`, with --long, -19, --ultra -22,
// --no-check) and decodes them too; a missing zstd fails the test. Hand-made
// frames cover what the CLI never writes: huge windows, reserved block
// types, dictionaries, trailing frames.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "bpatch/error.hpp"
#include "bpatch/format.hpp"
#include "bpatch/io.hpp"

namespace {

using Bytes = std::vector<uint8_t>;
using bpatch::Errc;

class Scratch {
 public:
  Scratch() {
    char tmpl[] = "/tmp/bpatch-zstd-XXXXXX";
    REQUIRE(mkdtemp(tmpl));
    path_ = tmpl;
  }
  ~Scratch() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  std::string file(const std::string& n) const { return path_ + "/" + n; }

 private:
  std::string path_;
};

void write_file(const std::string& path, const Bytes& d) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(d.data()), static_cast<std::streamsize>(d.size()));
  REQUIRE(f.good());
}

Bytes read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE(f.good());
  return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

bool run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

Bytes decode(const Bytes& patch, const Bytes& old_data) {
  bpatch::MemorySource p(std::as_bytes(std::span(patch)), "patch.zst");
  bpatch::MemorySource o(std::as_bytes(std::span(old_data)), "old");
  bpatch::check_source(p, o);
  bpatch::MemorySink sink;
  bpatch::apply_patch(p, o, sink);
  const auto& d = sink.data();
  Bytes out(d.size());
  if (!d.empty()) std::memcpy(out.data(), d.data(), d.size());
  return out;
}

// The error an apply throws (FAIL when it succeeds).
bpatch::Error apply_error(const Bytes& patch, const Bytes& old_data) {
  try {
    decode(patch, old_data);
  } catch (const bpatch::Error& e) {
    return e;
  }
  FAIL("the patch was accepted");
  throw std::logic_error("unreachable");
}

std::map<std::string, std::string> details(const Bytes& patch) {
  bpatch::MemorySource p(std::as_bytes(std::span(patch)), "patch.zst");
  const auto info = bpatch::inspect_patch(p);
  CHECK(info.format == bpatch::Format::zstd);
  return {info.details.begin(), info.details.end()};
}

Bytes random_bytes(std::mt19937& rng, size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng() % 7 == 0 ? rng() : rng() % 16);
  return b;
}

Bytes edited(std::mt19937& rng, Bytes b, int edits) {
  for (int i = 0; i < edits; ++i) {
    const size_t at = rng() % (b.size() + 1);
    const size_t del = std::min<size_t>(rng() % 64, b.size() - at);
    b.erase(b.begin() + static_cast<ptrdiff_t>(at), b.begin() + static_cast<ptrdiff_t>(at + del));
    const Bytes ins = random_bytes(rng, rng() % 64);
    b.insert(b.begin() + static_cast<ptrdiff_t>(at), ins.begin(), ins.end());
  }
  return b;
}

struct Pair {
  std::string name;
  Bytes old_data, new_data;
};

std::vector<Pair> pairs() {
  std::mt19937 rng(4242);
  std::vector<Pair> out;
  const Bytes base = random_bytes(rng, 200000);
  out.push_back({"small edits", base, edited(rng, base, 30)});
  Bytes grown = base;
  const Bytes tail = random_bytes(rng, 300000);
  grown.insert(grown.end(), tail.begin(), tail.end());
  out.push_back({"new larger than old (several blocks)", base, edited(rng, grown, 10)});
  out.push_back({"new much smaller", base, Bytes(base.begin() + 1000, base.begin() + 5000)});
  out.push_back({"new of 7 bytes (zstd refuses an empty one)", base,
                 Bytes(base.begin() + 9, base.begin() + 16)});
  Bytes big = random_bytes(rng, 3 << 20);
  out.push_back({"3 MiB, moved blocks", big, edited(rng, Bytes(big.rbegin(), big.rend()), 5)});
  return out;
}

Bytes zstd_patch(const Scratch& dir, const Pair& p, const std::string& options) {
  write_file(dir.file("old"), p.old_data);
  write_file(dir.file("new"), p.new_data);
  const std::string cmd = "zstd -q -f " + options + " --patch-from=" + dir.file("old") + " " +
                          dir.file("new") + " -o " + dir.file("patch.zst");
  INFO(cmd);
  REQUIRE(run(cmd));
  return read_file(dir.file("patch.zst"));
}

// A frame by hand: descriptor, optional window descriptor, content size,
// then blocks given as (header fields, content).
struct Block {
  bool last;
  unsigned type;
  uint32_t size;
  Bytes content;
};

Bytes frame(uint8_t descriptor, std::optional<uint8_t> window, const Bytes& rest_of_header,
            const std::vector<Block>& blocks) {
  Bytes f = {0x28, 0xB5, 0x2F, 0xFD, descriptor};
  if (window) f.push_back(*window);
  f.insert(f.end(), rest_of_header.begin(), rest_of_header.end());
  for (const Block& b : blocks) {
    const uint32_t h = (b.last ? 1u : 0u) | (b.type << 1) | (b.size << 3);
    f.push_back(static_cast<uint8_t>(h));
    f.push_back(static_cast<uint8_t>(h >> 8));
    f.push_back(static_cast<uint8_t>(h >> 16));
    f.insert(f.end(), b.content.begin(), b.content.end());
  }
  return f;
}

}  // namespace

TEST_CASE("zstd: patch-from patches from the zstd CLI apply exactly", "[zstd]") {
  REQUIRE(run("zstd --version"));
  Scratch dir;
  for (const Pair& p : pairs()) {
    for (const char* options : {"", "-1", "-19", "--long=27", "--ultra -22", "--no-check"}) {
      if (p.old_data.size() > (1 << 20) && std::string(options).find("-") == 0 &&
          std::string(options) != "--long=27" && std::string(options) != "--no-check")
        continue;  // -19 / --ultra -22 on 3 MiB are slow and add nothing
      INFO(p.name << ", zstd " << options);
      const Bytes patch = zstd_patch(dir, p, options);
      CHECK(decode(patch, p.old_data) == p.new_data);
      // The oracle decodes it to the same bytes.
      REQUIRE(run("zstd -q -d -f --long=31 --patch-from=" + dir.file("old") + " " +
                  dir.file("patch.zst") + " -o " + dir.file("decoded")));
      CHECK(read_file(dir.file("decoded")) == p.new_data);
      const auto d = details(patch);
      CHECK(d.at("frame content size") == std::to_string(p.new_data.size()));
      CHECK(d.at("checksum").rfind(std::string(options) == "--no-check" ? "no" : "yes", 0) == 0);
    }
  }
}

TEST_CASE("zstd: damaged patches are errors, never a wrong file with exit 0", "[zstd]") {
  REQUIRE(run("zstd --version"));
  Scratch dir;
  const Pair p = pairs()[1];
  const Bytes patch = zstd_patch(dir, p, "-19");
  REQUIRE(details(patch).at("checksum").rfind("yes", 0) == 0);

  SECTION("every truncation") {
    for (size_t n = 0; n < patch.size(); n += std::max<size_t>(1, patch.size() / 97)) {
      INFO("cut to " << n);
      CHECK_THROWS_AS(decode(Bytes(patch.begin(), patch.begin() + n), p.old_data), bpatch::Error);
    }
  }
  SECTION("flipped bits anywhere") {
    std::mt19937 rng(9);
    for (int i = 0; i < 300; ++i) {
      Bytes bad = patch;
      const size_t at = rng() % bad.size();
      bad[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
      INFO("flip at " << at);
      Bytes got;
      bool decoded = true;
      try {
        got = decode(bad, p.old_data);
      } catch (const bpatch::Error&) {
        decoded = false;
      }
      if (decoded) CHECK(got == p.new_data);
    }
  }
  SECTION("trailing garbage and a second frame") {
    Bytes more = patch;
    more.push_back(0);
    CHECK(apply_error(more, p.old_data).code() == Errc::bad_patch);
    more = patch;
    more.insert(more.end(), patch.begin(), patch.end());
    const auto e = apply_error(more, p.old_data);
    CHECK(e.code() == Errc::bad_patch);
    CHECK(std::string(e.what()).find("follow the zstd frame") != std::string::npos);
  }
  SECTION("the wrong old file: checksum error") {
    Bytes other = p.old_data;
    for (size_t i = 0; i < other.size(); i += 1000) other[i] ^= 0x40;
    const auto e = apply_error(patch, other);
    CHECK((e.code() == Errc::checksum || e.code() == Errc::bad_patch));
    CHECK(std::string(e.what()).find("old") != std::string::npos);
    CHECK(apply_error(patch, {}).code() != Errc::io);
  }
}

TEST_CASE("zstd: hand-made hostile frames", "[zstd]") {
  const Bytes old_data(1000, 'o');
  // A valid frame: single segment, 1-byte content size 3, one raw last block "abc".
  const Bytes ok = frame(0x20, std::nullopt, {3}, {{true, 0, 3, {'a', 'b', 'c'}}});
  const Bytes abc = {'a', 'b', 'c'};
  CHECK(decode(ok, old_data) == abc);
  CHECK(details(ok).at("blocks") == "1");

  SECTION("a huge declared window is refused before any allocation") {
    // Not single segment; 8-byte content size 2^40; window log 31.
    Bytes fcs = {0, 0, 0, 0, 0, 1, 0, 0};
    const Bytes f = frame(0xC0, uint8_t{21 << 3}, fcs, {{true, 0, 3, {'a', 'b', 'c'}}});
    const auto e = apply_error(f, old_data);
    CHECK(e.code() == Errc::too_large);
    CHECK(std::string(e.what()).find("window") != std::string::npos);
    bpatch::MemorySource p(std::as_bytes(std::span(f)), "p");
    bpatch::MemorySource o(std::as_bytes(std::span(old_data)), "o");
    CHECK_THROWS_AS(bpatch::check_source(p, o), bpatch::Error);
  }
  SECTION("the reserved block type, oversized blocks, truncated blocks") {
    CHECK(apply_error(frame(0x20, std::nullopt, {3}, {{true, 3, 3, {'a', 'b', 'c'}}}), old_data)
              .code() == Errc::bad_patch);
    CHECK(
        apply_error(frame(0x20, std::nullopt, {3}, {{true, 0, 200000, {'a'}}}), old_data).code() ==
        Errc::bad_patch);
    CHECK(apply_error(frame(0x20, std::nullopt, {3}, {{true, 0, 3, {'a'}}}), old_data).code() ==
          Errc::bad_patch);
    CHECK(apply_error(frame(0x20, std::nullopt, {3}, {{false, 0, 3, {'a', 'b', 'c'}}}), old_data)
              .code() == Errc::bad_patch);
  }
  SECTION("more or fewer bytes than the declared content size") {
    CHECK(apply_error(frame(0x20, std::nullopt, {2}, {{true, 0, 3, {'a', 'b', 'c'}}}), old_data)
              .code() == Errc::bad_patch);
    CHECK(apply_error(frame(0x20, std::nullopt, {4}, {{true, 0, 3, {'a', 'b', 'c'}}}), old_data)
              .code() == Errc::bad_patch);
    // An RLE block far larger than the content size (a bomb).
    CHECK(
        apply_error(frame(0x20, std::nullopt, {3}, {{true, 1, 131072, {'z'}}}), old_data).code() ==
        Errc::bad_patch);
  }
  SECTION("a dictionary id, the reserved header bit") {
    CHECK(apply_error(frame(0x21, std::nullopt, {7, 3}, {{true, 0, 3, {'a', 'b', 'c'}}}), old_data)
              .code() == Errc::unsupported);
    CHECK(apply_error(frame(0x28, std::nullopt, {3}, {{true, 0, 3, {'a', 'b', 'c'}}}), old_data)
              .code() == Errc::bad_patch);
  }
  SECTION("a wrong content checksum") {
    Bytes f = frame(0x24, std::nullopt, {3}, {{true, 0, 3, {'a', 'b', 'c'}}});
    f.insert(f.end(), {1, 2, 3, 4});
    CHECK(apply_error(f, old_data).code() == Errc::checksum);
  }
}

// Tests of bpatch's own bzip2 decoder (formats/bzip2_decoder.hpp) against
// libbz2, its oracle: libbz2 compresses every input (at block sizes 1 and 9)
// and decodes every damaged stream; the decoder must give the same bytes on
// every stream libbz2 accepts and an error on every stream libbz2 refuses.
// Through Bzip2Stream (the bsdiff layer) the same holds, plus: a randomised
// block is handed to libbz2, trailing bytes are refused.
#include "formats/bzip2_decoder.hpp"

#include <bzlib.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <mutex>
#include <optional>
#include <random>
#include <string>

#include "bpatch/error.hpp"
#include "bpatch/io.hpp"
#include "formats/bsdiff_bzip2.hpp"
#include "testing/test_scale.hpp"

namespace {

using bpatch::formats::Bzip2DataError;
using bpatch::formats::Bzip2Decoder;
using bpatch::formats::Bzip2Randomised;
using bpatch::formats::Bzip2Stream;

std::string compress(const std::string& data, int level) {
  std::string out(data.size() + data.size() / 100 + 700, '\0');
  auto len = static_cast<unsigned>(out.size());
  REQUIRE(BZ2_bzBuffToBuffCompress(out.data(), &len, const_cast<char*>(data.data()),
                                   static_cast<unsigned>(data.size()), level, 0, 0) == BZ_OK);
  out.resize(len);
  return out;
}

// libbz2's verdict: the decoded bytes, or nullopt when it refuses the input
// as one complete stream (corrupt, truncated, or followed by more bytes).
std::optional<std::string> libbz2_decode(const std::string& in) {
  bz_stream s{};
  REQUIRE(BZ2_bzDecompressInit(&s, 0, 0) == BZ_OK);
  std::string out;
  char buf[65536];
  s.next_in = const_cast<char*>(in.data());
  s.avail_in = static_cast<unsigned>(in.size());
  int rc = BZ_OK;
  for (;;) {
    s.next_out = buf;
    s.avail_out = sizeof buf;
    rc = BZ2_bzDecompress(&s);
    out.append(buf, sizeof buf - s.avail_out);
    if (rc != BZ_OK) break;
    if (s.avail_in == 0 && s.avail_out != 0) break;  // truncated: no progress possible
  }
  const bool whole = rc == BZ_STREAM_END && s.avail_in == 0;
  BZ2_bzDecompressEnd(&s);
  if (!whole) return std::nullopt;
  return out;
}

// The decoder's verdict on `in` as one complete stream, fed `chunk` bytes
// at a time (so that every refill boundary is crossed).
std::optional<std::string> own_decode(const std::string& in, size_t chunk = 4096,
                                      size_t read_size = 3000) {
  size_t pos = 0;
  Bzip2Decoder d([&]() -> std::span<const std::byte> {
    const size_t n = std::min(chunk, in.size() - pos);
    const auto view = std::as_bytes(std::span(in.data() + pos, n));
    pos += n;
    return view;
  });
  std::string out;
  std::string buf(read_size, '\0');
  try {
    for (;;) {
      const size_t n = d.read(std::as_writable_bytes(std::span(buf)));
      out.append(buf, 0, n);
      if (n < buf.size()) break;
    }
    if (d.read(std::as_writable_bytes(std::span(buf))) != 0) return std::nullopt;
  } catch (const Bzip2DataError&) {
    return std::nullopt;
  }
  if (d.unused_input() != 0 || pos != in.size()) return std::nullopt;
  return out;
}

std::string random_bytes(size_t n, uint32_t seed, int alphabet = 256) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() % static_cast<unsigned>(alphabet));
  return s;
}

// Runs of random lengths (1..600) of random bytes, zero most of the time:
// what a bsdiff diff stream looks like, and every RLE1 boundary case.
std::string runs(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s;
  while (s.size() < n) {
    const char c = rng() % 4 == 0 ? static_cast<char>(rng()) : '\0';
    s.append(std::min<size_t>(1 + rng() % 600, n - s.size()), c);
  }
  return s;
}

TEST_CASE("bzip2 decoder: every input libbz2 compresses decodes to it", "[bzip2]") {
  std::vector<std::pair<std::string, std::string>> inputs = {
      {"empty", ""},
      {"one byte", "x"},
      {"three equal", "aaa"},
      {"four equal", "aaaa"},
      {"five equal", "aaaaa"},
      {"259 equal", std::string(259, 'z')},
      {"260 equal", std::string(260, 'z')},
      {"long zero run", std::string(3'000'000, '\0')},
      {"every byte value", random_bytes(70'000, 1)},
      {"two values", random_bytes(50'000, 2, 2)},
      {"runs", runs(400'000, 3)},
      {"text", std::string(20'000, ' ') + "the quick brown fox jumps over the lazy dog"},
  };
  for (int i = 0; i < 256; ++i)
    inputs.back().second += std::string(static_cast<size_t>(i % 7 + 1), static_cast<char>(i));
  for (const auto& [name, data] : inputs) {
    for (int level : {1, 9}) {
      INFO(name << " at level " << level);
      const std::string z = compress(data, level);
      const auto got = own_decode(z);
      REQUIRE(got.has_value());
      CHECK(*got == data);
      // Refill and output boundaries at odd places.
      CHECK(own_decode(z, 1, 1) == data);
      CHECK(own_decode(z, 7, 65536) == data);
    }
  }
}

TEST_CASE("bzip2 decoder: many blocks, each verified and chained in the stream CRC", "[bzip2]") {
  const std::string data = runs(600'000, 7) + random_bytes(350'000, 8);  // > 3 blocks at level 1
  const std::string z = compress(data, 1);
  REQUIRE(own_decode(z) == data);
}

TEST_CASE("bzip2 decoder: damaged streams are refused exactly when libbz2 refuses them",
          "[bzip2]") {
  const std::string data = runs(3000, 11) + random_bytes(500, 12) + runs(2000, 13);
  const std::string z = compress(data, 1);
  const size_t step = bpatch::testing::scaled(1, 4);
  size_t refused = 0;
  for (size_t bit = 0; bit < z.size() * 8; bit += step) {
    std::string bad = z;
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (0x80 >> (bit % 8)));
    INFO("bit " << bit);
    const auto want = libbz2_decode(bad);
    std::optional<std::string> got;
    try {
      got = own_decode(bad);
    } catch (const Bzip2Randomised&) {
      // Only the randomised flag itself: handed to libbz2 (tested below).
      CHECK(bit == 14 * 8);
      continue;
    }
    CHECK(got == want);
    if (!want) ++refused;
  }
  CHECK(refused > 0);
  for (size_t len = 0; len < z.size(); ++len) {
    INFO("truncated to " << len);
    CHECK_FALSE(own_decode(z.substr(0, len)).has_value());
  }
}

std::string stream_decode(const std::string& z) {
  const bpatch::MemorySource src(std::as_bytes(std::span(z)), "test.bz2");
  std::mutex lock;
  Bzip2Stream s(src, 0, z.size(), "test stream", &lock);
  std::string out, buf(10'000, '\0');
  for (size_t n; (n = s.read(std::as_writable_bytes(std::span(buf)))) > 0;) out.append(buf, 0, n);
  return out;
}

// The bit offset of the second block's header magic in `z`, 0 if none.
size_t second_block_bit(const std::string& z) {
  auto bit = [&](size_t i) { return (static_cast<uint8_t>(z[i / 8]) >> (7 - i % 8)) & 1; };
  uint64_t window = 0;
  int seen = 0;
  for (size_t i = 0; i < z.size() * 8; ++i) {
    window = ((window << 1) | bit(i)) & 0xffffffffffff;
    if (window == 0x314159265359 && ++seen == 2) return i + 1 - 48;
  }
  return 0;
}

TEST_CASE("bzip2 stream: a randomised block is decoded by libbz2, after the bytes already given",
          "[bzip2]") {
  // Randomisation flips bytes only from position 618 of a block on, so a
  // small block with its flag set (byte 14, top bit, of a one-block
  // stream) is a valid randomised stream with the same content. The second
  // block is randomised, after a whole first block the own decoder gave.
  const std::string first = random_bytes(100'000, 21);
  const std::string small = "short randomised block";
  std::string z1 = compress(small, 1);
  z1[14] = static_cast<char>(z1[14] | 0x80);
  REQUIRE(libbz2_decode(z1) == small);
  CHECK(stream_decode(z1) == small);

  std::string two = compress(first + small, 1);  // block 2: the last few dozen bytes
  const size_t second = second_block_bit(two);
  REQUIRE(second != 0);
  const size_t flag = second + 48 + 32;
  two[flag / 8] = static_cast<char>(two[flag / 8] | (0x80 >> (flag % 8)));
  REQUIRE(libbz2_decode(two) == first + small);
  CHECK(stream_decode(two) == first + small);
}

TEST_CASE("bzip2 stream: bytes after the stream and a second stream are refused", "[bzip2]") {
  const std::string z = compress(runs(5000, 31), 9);
  CHECK_THROWS_AS(stream_decode(z + "x"), bpatch::Error);
  CHECK_THROWS_AS(stream_decode(z + z), bpatch::Error);
  CHECK_THROWS_WITH(stream_decode(z + "x"), Catch::Contains("1 more bytes follow"));
  CHECK_THROWS_WITH(stream_decode("BZh0" + z.substr(4)), Catch::Contains("bad block size digit"));
  CHECK_THROWS_WITH(stream_decode(z.substr(0, z.size() - 3)), Catch::Contains("truncated"));
}

}  // namespace

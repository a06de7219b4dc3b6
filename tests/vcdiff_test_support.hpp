// Shared helpers for the VCDIFF tests: a scratch directory, file pairs,
// running the real xdelta3, decoding with bpatch, and a small independent
// VCDIFF writer (RFC 3284 §4, default code table opcodes) for patches
// xdelta3 cannot produce (VCD_TARGET windows, custom code tables).
#pragma once

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "bpatch/error.hpp"
#include "bpatch/format.hpp"
#include "bpatch/io.hpp"
#include "testing/oracles.hpp"

namespace vcdiff_test {

using Bytes = std::vector<uint8_t>;

inline bool have_xdelta3() {
  static const bool works = std::system("xdelta3 -V >/dev/null 2>&1") == 0;
  return bpatch::testing::oracle_usable("xdelta3", works, "is not installed or does not run");
}

// Fails the current test case when xdelta3 is missing; returns from it
// (skips) only with BPATCH_ALLOW_MISSING_ORACLES=1 (testing/oracles.hpp).
#define VCDIFF_REQUIRE_XDELTA3()              \
  do {                                        \
    if (!vcdiff_test::have_xdelta3()) return; \
  } while (0)

class ScratchDir {
 public:
  ScratchDir() {
    char tmpl[] = "/tmp/bpatch-vcdiff-XXXXXX";
    if (!mkdtemp(tmpl)) FAIL("mkdtemp failed");
    path_ = tmpl;
  }
  ~ScratchDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void write_file(const std::string& path, const Bytes& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  REQUIRE(f.good());
}

inline Bytes read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

inline bool run(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;
}

// xdelta3 -e -f [options] -s OLD NEW PATCH; returns the patch bytes.
inline Bytes xdelta3_encode(const ScratchDir& dir, const Bytes& old_data, const Bytes& new_data,
                            const std::string& options) {
  write_file(dir.file("old"), old_data);
  write_file(dir.file("new"), new_data);
  const std::string cmd = "xdelta3 -e -f " + options + " -s '" + dir.file("old") + "' '" +
                          dir.file("new") + "' '" + dir.file("patch") + "'";
  INFO(cmd);
  REQUIRE(run(cmd));
  return read_file(dir.file("patch"));
}

// xdelta3 -d; nullopt-like empty flag when xdelta3 rejects the patch.
inline bool xdelta3_decode(const ScratchDir& dir, const Bytes& old_data, const Bytes& patch,
                           Bytes& out) {
  write_file(dir.file("old"), old_data);
  write_file(dir.file("patch"), patch);
  if (!run("xdelta3 -d -f -s '" + dir.file("old") + "' '" + dir.file("patch") + "' '" +
           dir.file("decoded") + "'"))
    return false;
  out = read_file(dir.file("decoded"));
  return true;
}

inline std::span<const std::byte> as_span(const Bytes& b) { return std::as_bytes(std::span(b)); }

// Decodes with bpatch::apply_patch into a MemorySink.
inline Bytes bpatch_apply(const Bytes& patch, const Bytes& old_data) {
  bpatch::MemorySource p(as_span(patch), "patch.vcdiff");
  bpatch::MemorySource o(as_span(old_data), "old");
  bpatch::MemorySink sink;
  bpatch::apply_patch(p, o, sink);
  const auto& d = sink.data();
  Bytes out(d.size());
  if (!d.empty()) std::memcpy(out.data(), d.data(), d.size());
  return out;
}

// ---- data generation -------------------------------------------------------

inline Bytes random_bytes(std::mt19937& rng, size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

// Word soup: compressible, so the secondary compressors have work to do.
inline Bytes text_bytes(std::mt19937& rng, size_t n) {
  static const char* words[] = {"delta", "window", "copy",  "add",     "run",  "source",  "target",
                                "the",   "of",     "patch", "huffman", "lzma", "address", "cache"};
  Bytes b;
  b.reserve(n + 16);
  while (b.size() < n) {
    const char* w = words[rng() % std::size(words)];
    b.insert(b.end(), w, w + std::strlen(w));
    b.push_back(rng() % 9 == 0 ? '\n' : ' ');
  }
  b.resize(n);
  return b;
}

// Replaces, inserts and deletes `edits` random stretches.
inline Bytes edit_bytes(std::mt19937& rng, Bytes b, int edits) {
  for (int i = 0; i < edits; ++i) {
    const size_t at = b.empty() ? 0 : rng() % b.size();
    const size_t del = std::min<size_t>(rng() % 40, b.size() - at);
    const Bytes ins = random_bytes(rng, rng() % 48);
    b.erase(b.begin() + static_cast<ptrdiff_t>(at), b.begin() + static_cast<ptrdiff_t>(at + del));
    b.insert(b.begin() + static_cast<ptrdiff_t>(at), ins.begin(), ins.end());
  }
  return b;
}

// ---- an independent VCDIFF writer -------------------------------------------

inline uint32_t reference_adler32(const Bytes& d) {
  uint32_t a = 1, b = 0;
  for (uint8_t x : d) {
    a = (a + x) % 65521;
    b = (b + a) % 65521;
  }
  return (b << 16) | a;
}

inline void put_int(Bytes& out, uint64_t v) {
  uint8_t tmp[10];
  int n = 0;
  do {
    tmp[n++] = static_cast<uint8_t>(v & 0x7F);
    v >>= 7;
  } while (v != 0);
  while (n > 0) {
    --n;
    out.push_back(static_cast<uint8_t>(tmp[n] | (n > 0 ? 0x80 : 0)));
  }
}

inline void append(Bytes& out, const Bytes& more) {
  out.insert(out.end(), more.begin(), more.end());
}

struct WindowSpec {
  uint8_t indicator = 0;  // 1 VCD_SOURCE, 2 VCD_TARGET, 4 VCD_ADLER32
  uint64_t segment_length = 0, segment_offset = 0;
  uint64_t target_length = 0;
  Bytes data, inst, addr;
  uint32_t adler32 = 0;
};

inline void put_window(Bytes& out, const WindowSpec& w) {
  out.push_back(w.indicator);
  if (w.indicator & 3) {
    put_int(out, w.segment_length);
    put_int(out, w.segment_offset);
  }
  Bytes enc;
  put_int(enc, w.target_length);
  enc.push_back(0);  // delta indicator
  put_int(enc, w.data.size());
  put_int(enc, w.inst.size());
  put_int(enc, w.addr.size());
  if (w.indicator & 4)
    for (int s = 24; s >= 0; s -= 8) enc.push_back(static_cast<uint8_t>(w.adler32 >> s));
  append(enc, w.data);
  append(enc, w.inst);
  append(enc, w.addr);
  put_int(out, enc.size());
  append(out, enc);
}

inline Bytes plain_header() { return Bytes{0xD6, 0xC3, 0xC4, 0x00, 0x00}; }

}  // namespace vcdiff_test

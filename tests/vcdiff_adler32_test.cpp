// The VCDIFF Adler-32 (vector blocks of 16 bytes with a scalar tail)
// against the plain definition, for every length class, both seeds (1 for
// xdelta3, 0 for open-vcdiff), split computations and the worst case for
// overflow (all bytes 0xFF over several NMAX chunks).
#include "formats/vcdiff_adler32.hpp"

#include <random>

#include "vcdiff_test_support.hpp"

using namespace vcdiff_test;

namespace {

uint32_t definition(uint32_t seed, const Bytes& d, size_t from = 0, size_t to = SIZE_MAX) {
  uint32_t a = seed & 0xFFFF, b = seed >> 16;
  for (size_t i = from; i < std::min(to, d.size()); ++i) {
    a = (a + d[i]) % 65521;
    b = (b + a) % 65521;
  }
  return (b << 16) | a;
}

}  // namespace

TEST_CASE("vcdiff adler32 equals its definition", "[vcdiff][adler32]") {
  std::mt19937 rng(321);
  std::vector<Bytes> inputs;
  for (size_t n = 0; n <= 80; ++n) inputs.push_back(random_bytes(rng, n));
  for (size_t n : {5551u, 5552u, 5553u, 11104u, 11117u, 70000u})
    inputs.push_back(random_bytes(rng, n));
  inputs.push_back(Bytes(5552 * 4 + 13, 0xFF));
  inputs.push_back(Bytes(100000, 0xFF));
  for (const Bytes& d : inputs) {
    INFO("length " << d.size());
    for (uint32_t seed : {1u, 0u, (65520u << 16) | 65520u}) {
      INFO("seed " << seed);
      const uint32_t want = definition(seed, d);
      CHECK(bpatch::vcdiff::adler32(seed, d.data(), d.size()) == want);
      if (d.size() > 3) {  // continued from a split at an odd place
        const size_t cut = d.size() / 3 + 1;
        const uint32_t first = bpatch::vcdiff::adler32(seed, d.data(), cut);
        CHECK(bpatch::vcdiff::adler32(first, d.data() + cut, d.size() - cut) == want);
      }
    }
  }
  CHECK(bpatch::vcdiff::adler32(1, nullptr, 0) == 1u);
}

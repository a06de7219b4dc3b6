// Adler-32 with the usual deferred modulo: sums stay below 2^32 for NMAX
// bytes between reductions.
#include "formats/vcdiff_adler32.hpp"

namespace bpatch::vcdiff {
namespace {
constexpr uint32_t kBase = 65521;
constexpr size_t kNmax = 5552;  // largest n with 255n(n+1)/2 + (n+1)(BASE-1) < 2^32
}  // namespace

uint32_t adler32(uint32_t adler, const uint8_t* p, size_t len) {
  uint32_t a = adler & 0xFFFF;
  uint32_t b = adler >> 16;
  while (len > 0) {
    size_t n = len < kNmax ? len : kNmax;
    len -= n;
    while (n >= 8) {
      a += p[0]; b += a;
      a += p[1]; b += a;
      a += p[2]; b += a;
      a += p[3]; b += a;
      a += p[4]; b += a;
      a += p[5]; b += a;
      a += p[6]; b += a;
      a += p[7]; b += a;
      p += 8;
      n -= 8;
    }
    while (n-- > 0) {
      a += *p++;
      b += a;
    }
    a %= kBase;
    b %= kBase;
  }
  return (b << 16) | a;
}

}  // namespace bpatch::vcdiff

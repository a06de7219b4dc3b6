// Adler-32 with the usual deferred modulo: sums stay below 2^32 for NMAX
// bytes between reductions. With SSE2 (every x86-64) each 16-byte block is
// summed in vector registers: the byte sum by PSADBW, the position-weighted
// sum by PMADDWD with weights 16..1, and the running s1 of earlier blocks
// accumulated to be multiplied by 16 once per NMAX chunk. Same values as
// the scalar loop (and zlib's adler32), several times faster.
#include "formats/vcdiff_adler32.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace bpatch::vcdiff {
namespace {
constexpr uint32_t kBase = 65521;
constexpr size_t kNmax = 5552;  // largest n with 255n(n+1)/2 + (n+1)(BASE-1) < 2^32; 347 * 16

void scalar(uint32_t& a, uint32_t& b, const uint8_t* p, size_t n) {
  while (n-- > 0) {
    a += *p++;
    b += a;
  }
}

#if defined(__SSE2__)
uint32_t hsum(__m128i v) {
  v = _mm_add_epi32(v, _mm_shuffle_epi32(v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm_add_epi32(v, _mm_shuffle_epi32(v, _MM_SHUFFLE(2, 3, 0, 1)));
  return static_cast<uint32_t>(_mm_cvtsi128_si32(v));
}

// Adds `blocks` 16-byte blocks (blocks * 16 <= kNmax) to a and b, unreduced.
void blocks16(uint32_t& a, uint32_t& b, const uint8_t* p, size_t blocks) {
  const __m128i zero = _mm_setzero_si128();
  const __m128i w_lo = _mm_set_epi16(9, 10, 11, 12, 13, 14, 15, 16);  // bytes 0..7
  const __m128i w_hi = _mm_set_epi16(1, 2, 3, 4, 5, 6, 7, 8);         // bytes 8..15
  __m128i v_s1 = zero, v_ps = zero, v_s2 = zero;
  b += a * static_cast<uint32_t>(16 * blocks);
  for (size_t i = 0; i < blocks; ++i, p += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    v_ps = _mm_add_epi32(v_ps, v_s1);
    v_s1 = _mm_add_epi32(v_s1, _mm_sad_epu8(x, zero));
    v_s2 = _mm_add_epi32(v_s2, _mm_madd_epi16(_mm_unpacklo_epi8(x, zero), w_lo));
    v_s2 = _mm_add_epi32(v_s2, _mm_madd_epi16(_mm_unpackhi_epi8(x, zero), w_hi));
  }
  a += hsum(v_s1);
  b += 16 * hsum(v_ps) + hsum(v_s2);
}
#endif

}  // namespace

uint32_t adler32(uint32_t adler, const uint8_t* p, size_t len) {
  uint32_t a = adler & 0xFFFF;
  uint32_t b = adler >> 16;
  while (len > 0) {
    const size_t n = len < kNmax ? len : kNmax;
#if defined(__SSE2__)
    const size_t blocks = n / 16;
    blocks16(a, b, p, blocks);
    scalar(a, b, p + 16 * blocks, n - 16 * blocks);
#else
    scalar(a, b, p, n);
#endif
    p += n;
    len -= n;
    a %= kBase;
    b %= kBase;
  }
  return (b << 16) | a;
}

}  // namespace bpatch::vcdiff

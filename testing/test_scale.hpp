// How much of the heavy sweeps (crash explorer, fault injection, sync
// mutation) a build runs. Under ASan+UBSan (-DBPATCH_SANITIZE=ON defines
// BPATCH_SANITIZED for the tests) every call is several times slower, and
// those runs are there to prove memory safety on every code path, not to
// re-prove coverage the plain run already proved: they take fewer scenarios,
// images and sampled calls, and stay far below their timeout on a loaded
// 2-core machine.
#pragma once

#include <cstdint>

namespace bpatch::testing {

#ifdef BPATCH_SANITIZED
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

// `plain` in the plain build, `sanitized` under the sanitizers.
template <class T>
constexpr T scaled(T plain, T sanitized) {
  return kSanitized ? sanitized : plain;
}

}  // namespace bpatch::testing

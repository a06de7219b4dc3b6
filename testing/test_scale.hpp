// How much of the heavy sweeps (crash explorer, fault injection, sync
// mutation) a build runs. Under ASan+UBSan (-DBPATCH_SANITIZE=ON defines
// BPATCH_SANITIZED for the tests) every call is several times slower, and
// those runs are there to prove memory safety on every code path, not to
// re-prove the coverage the plain run already proved: they take fewer
// images, states and sampled calls, and stay far below their timeout on a
// loaded 2-core machine. BPATCH_SMALL_SCALE=1 selects that smaller sample in
// any build (to time it without the sanitizers).
#pragma once

#include <cstdlib>
#include <string>

namespace bpatch::testing {

inline bool small_scale() {
#ifdef BPATCH_SANITIZED
  return true;
#else
  static const bool small = [] {
    const char* v = std::getenv("BPATCH_SMALL_SCALE");
    return v && *v && std::string(v) != "0";
  }();
  return small;
#endif
}

// `plain` normally, `small` under the sanitizers (or BPATCH_SMALL_SCALE=1).
template <class T>
T scaled(T plain, T small) {
  return small_scale() ? small : plain;
}

}  // namespace bpatch::testing

// The VCDIFF COPY address cache (RFC 3284 §5.1–5.3): a `near` ring of the
// last s_near addresses and a `same` table of s_same*256 slots indexed by
// address mod (s_same*256). Reset at the start of every window.
//
// Address modes: 0 SELF (absolute), 1 HERE (distance back from the current
// position), 2..2+s_near-1 NEAR (offset from near[m-2]), then SAME (one
// byte picks same[(m-2-s_near)*256 + byte]). Not thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "formats/vcdiff_format.hpp"

namespace bpatch::vcdiff {

class AddressCache {
 public:
  AddressCache(uint8_t near_size, uint8_t same_size)
      : near_(near_size), same_(size_t{same_size} * 256) {}

  void reset() {
    std::fill(near_.begin(), near_.end(), 0);
    std::fill(same_.begin(), same_.end(), 0);
    next_slot_ = 0;
  }

  // Decodes the address of a COPY in `mode` at position `here`, reading its
  // operand from `addr`, and records it. The result is < here: a copy may
  // not read bytes that are not decoded yet.
  uint64_t decode(uint64_t here, unsigned mode, SectionReader& addr) {
    uint64_t a;
    if (mode == 0) {
      a = addr.integer();
    } else if (mode == 1) {
      const uint64_t back = addr.integer();
      if (back > here) addr.fail("holds a HERE address before the start of the window");
      a = here - back;
    } else if (mode - 2 < near_.size()) {
      a = near_[mode - 2] + addr.integer();  // both < 2^63: no wrap
    } else {
      const size_t slot = (size_t{mode} - 2 - near_.size()) * 256 + addr.byte();
      if (slot >= same_.size()) addr.fail("uses an address mode the code table does not have");
      a = same_[slot];
    }
    if (a >= here)
      addr.fail("holds COPY address " + std::to_string(a) + " at or past the current position " +
                std::to_string(here));
    if (!near_.empty()) {
      near_[next_slot_] = a;
      next_slot_ = (next_slot_ + 1) % near_.size();
    }
    if (!same_.empty()) same_[a % same_.size()] = a;
    return a;
  }

 private:
  std::vector<uint64_t> near_;
  std::vector<uint64_t> same_;
  size_t next_slot_ = 0;
};

}  // namespace bpatch::vcdiff

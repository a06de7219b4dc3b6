// A small direct-mapped block cache over the old file, so the many short
// COPYs a VCDIFF window makes from its source segment cost a memcpy rather
// than a read each, while memory stays at kSlots * kBlock bytes whatever
// the file size. Long copies bypass the cache. Not thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "bpatch/io.hpp"

namespace bpatch::vcdiff {

class SourceCache {
 public:
  explicit SourceCache(const Source& src) : src_(src) {}

  // Copies src[offset, offset+n) to out; the range must lie inside src.
  void read(uint64_t offset, uint8_t* out, size_t n);

 private:
  static constexpr size_t kBlock = size_t{64} << 10;
  static constexpr size_t kSlots = 64;
  static constexpr uint64_t kEmpty = ~uint64_t{0};

  const uint8_t* block(uint64_t index);

  const Source& src_;
  std::vector<uint8_t> data_;           // kSlots * kBlock, allocated on first use
  std::vector<uint64_t> tags_;          // block index held by each slot
};

}  // namespace bpatch::vcdiff

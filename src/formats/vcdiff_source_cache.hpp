// Reads of the old file for VCDIFF COPYs from the source segment.
//
// Copies of at least kDirect bytes are read straight into the target
// window (one pread each: the kernel's page cache is the cache; measured
// faster than staging them through a user-space block cache). Shorter
// copies, which xdelta3 emits by the million for scattered edits and takes
// from all over the source, go through a direct-mapped cache of kSlots
// blocks of kBlock bytes, so most cost a memcpy instead of a system call.
// Memory stays under kSlots * kBlock (8 MiB; only slots in use become
// resident) whatever the file size. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "bpatch/io.hpp"

namespace bpatch::vcdiff {

class SourceCache {
 public:
  explicit SourceCache(const Source& src) : src_(src) {}

  // Copies src[offset, offset+n) to out; the range must lie inside src.
  void read(uint64_t offset, uint8_t* out, size_t n);

 private:
  static constexpr size_t kBlock = size_t{4} << 10;
  static constexpr size_t kDirect = 128;
  static constexpr size_t kSlots = 2048;
  static constexpr uint64_t kEmpty = ~uint64_t{0};

  const uint8_t* block(uint64_t index);

  const Source& src_;
  std::unique_ptr<uint8_t[]> data_;  // kSlots * kBlock, allocated (not touched) on first use
  std::vector<uint64_t> tags_;       // block index held by each slot
};

}  // namespace bpatch::vcdiff

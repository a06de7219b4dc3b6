// Source segment reads: direct for long copies, a block cache for short ones.
#include "formats/vcdiff_source_cache.hpp"

#include <algorithm>
#include <cstring>

namespace bpatch::vcdiff {

const uint8_t* SourceCache::block(uint64_t index) {
  if (!data_) {
    data_.reset(new uint8_t[kSlots * kBlock]);  // uninitialised: untouched pages cost nothing
    tags_.assign(kSlots, kEmpty);
  }
  const size_t slot = static_cast<size_t>(index % kSlots);
  uint8_t* at = data_.get() + slot * kBlock;
  if (tags_[slot] != index) {
    const uint64_t start = index * kBlock;
    const size_t len = static_cast<size_t>(std::min<uint64_t>(kBlock, src_.size() - start));
    tags_[slot] = kEmpty;  // stays invalid if the read throws
    src_.read(start, std::as_writable_bytes(std::span(at, len)));
    tags_[slot] = index;
  }
  return at;
}

void SourceCache::read(uint64_t offset, uint8_t* out, size_t n) {
  if (n >= kDirect) {
    src_.read(offset, std::as_writable_bytes(std::span(out, n)));
    return;
  }
  while (n > 0) {
    const uint64_t index = offset / kBlock;
    const size_t in_block = static_cast<size_t>(offset % kBlock);
    const size_t take = std::min(n, kBlock - in_block);
    std::memcpy(out, block(index) + in_block, take);
    out += take;
    offset += take;
    n -= take;
  }
}

}  // namespace bpatch::vcdiff

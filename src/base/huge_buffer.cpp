// HugeBuffer's allocation: 2 MiB aligned and sized, advised as huge pages.
#include "base/huge_buffer.hpp"

#include <sys/mman.h>

#include <cstdlib>
#include <new>

namespace bpatch::detail {

namespace {
constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kHugeFrom = size_t{4} << 20;
}  // namespace

void* huge_allocate(size_t bytes) {
  // Below this, huge pages cost more resident memory (a touched huge page
  // is 2 MiB however little of it is used: a bzip2 block array of 3.6 MB
  // holding a small stream) than their faults save.
  if (bytes < kHugeFrom) {
    void* p = std::malloc(bytes == 0 ? 1 : bytes);
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }
  if (bytes > ~size_t{0} - kHugePage) throw std::bad_alloc();
  const size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  void* p = std::aligned_alloc(kHugePage, rounded);
  if (p == nullptr) throw std::bad_alloc();
  // Advice only: where transparent huge pages are off, this fails or does
  // nothing, and the memory is ordinary pages.
  madvise(p, rounded, MADV_HUGEPAGE);
  return p;
}

void huge_free(void* p) noexcept { std::free(p); }

}  // namespace bpatch::detail

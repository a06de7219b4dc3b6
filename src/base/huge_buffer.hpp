// HugeBuffer<T> — a large scratch array (a decoder's window or block) that
// is neither zero-filled nor faulted in 4 KiB at a time.
//
// A std::vector of a few MiB costs more than its bytes: resize() writes
// zeros over all of it, and the first touch of every 4 KiB page is a page
// fault (a costly exit in a VM; 2,048 of them for an 8 MiB VCDIFF window,
// a quarter of the CPU of a 24 MiB apply). A HugeBuffer is aligned to and
// sized in 2 MiB (from 4 MiB on; smaller ones are plain malloc), advised to the kernel as huge
// pages (MADV_HUGEPAGE; where the kernel declines, it is an ordinary allocation), and never
// cleared: its user must write every element before reading it.
//
// Thread-safety: none; one owner.
#pragma once

#include <cstddef>
#include <memory>
#include <type_traits>

namespace bpatch {

namespace detail {
void* huge_allocate(size_t bytes);  // throws std::bad_alloc
void huge_free(void* p) noexcept;
}  // namespace detail

template <class T>
class HugeBuffer {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

 public:
  // Makes room for n elements. The contents are unspecified afterwards:
  // when the buffer grows, nothing is kept.
  void resize_discard(size_t n) {
    if (n > capacity_) {
      data_.reset(static_cast<T*>(detail::huge_allocate(n * sizeof(T))));
      capacity_ = n;
    }
    size_ = n;
  }
  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  size_t size() const { return size_; }
  T& operator[](size_t i) { return data_.get()[i]; }
  const T& operator[](size_t i) const { return data_.get()[i]; }

 private:
  struct Free {
    void operator()(T* p) const { detail::huge_free(p); }
  };
  std::unique_ptr<T, Free> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace bpatch

// SourceSlice — a Source that shows only [0, size) of another Source.
//
// The BPS and UPS decoders read their hunks and actions through a slice that
// ends where the 12-byte checksum footer begins, so a number or a literal
// that runs into the footer fails the ByteReader's bounds check
// (Errc::bad_patch with the offset) instead of being read as patch data.
// Does not own `base`, which must outlive the slice.
#pragma once

#include "bpatch/io.hpp"

namespace bpatch::formats {

class SourceSlice final : public Source {
 public:
  SourceSlice(const Source& base, uint64_t size) : base_(base), size_(size) {
    check_range(base, 0, size);
  }
  uint64_t size() const override { return size_; }
  void read(uint64_t offset, std::span<std::byte> out) const override {
    check_range(*this, offset, out.size());
    base_.read(offset, out);
  }
  const std::string& name() const override { return base_.name(); }
  File* file() const override { return base_.file(); }

 private:
  const Source& base_;
  uint64_t size_;
};

}  // namespace bpatch::formats

#include "txn/shadow_file.hpp"

#include <algorithm>
#include <cstring>

#include "bpatch/error.hpp"

namespace bpatch {
namespace {

constexpr size_t kBufferSize = 1 << 20;        // one write per MiB
constexpr uint64_t kWritebackChunk = 8 << 20;  // start writeback every 8 MiB
constexpr uint64_t kKernelCopyMin = 1 << 20;   // smaller ranges are cheaper through the buffer
constexpr uint64_t kBlock = 4096;              // FICLONERANGE wants block-aligned offsets
constexpr uint64_t kHoleMin = 64 << 10;        // smaller holes are written as zeros

}  // namespace

ShadowFile::ShadowFile(File& file, std::function<void(uint64_t)> on_progress)
    : file_(file), on_progress_(std::move(on_progress)) {
  buffer_.reserve(kBufferSize);
}

void ShadowFile::write(std::span<const std::byte> data) {
  while (!data.empty()) {
    const size_t n = std::min(data.size(), kBufferSize - buffer_.size());
    buffer_.insert(buffer_.end(), data.begin(), data.begin() + static_cast<ptrdiff_t>(n));
    data = data.subspan(n);
    if (buffer_.size() == kBufferSize) flush();
  }
}

void ShadowFile::write_from(const Source& src, uint64_t offset, uint64_t length) {
  check_range(src, offset, length);
  File* in = src.file();
  if (!in || length < kHoleMin) return write_data_from(src, offset, length);
  // A sparse original stays sparse: its holes are skipped in the shadow too
  // (they read as zeros there), so a small edit of a huge sparse file needs
  // no room for its holes.
  const uint64_t end = offset + length;
  while (offset < end) {
    const uint64_t data = std::min(in->seek_data(offset), end);
    if (data - offset >= kHoleMin) {
      flush();
      flushed_ += data - offset;
      holes_ = true;
      hash_complete_ = false;  // the zeros are not read, nor hashed
    } else if (data > offset) {
      write_data_from(src, offset, data - offset);
    }
    offset = data;
    if (offset == end) break;
    const uint64_t hole = std::min(std::max(in->seek_hole(offset), offset + 1), end);
    write_data_from(src, offset, hole - offset);
    offset = hole;
  }
}

void ShadowFile::write_data_from(const Source& src, uint64_t offset, uint64_t length) {
  if (File* in = src.file(); in && length >= kKernelCopyMin) {
    // Bring source and shadow to the same block boundary through the buffer,
    // so that the bulk can be shared as whole blocks.
    if (offset % kBlock == (size() % kBlock)) {
      const uint64_t head = (kBlock - offset % kBlock) % kBlock;
      Sink::write_from(src, offset, head);
      offset += head;
      length -= head;
    }
    flush();
    const uint64_t bulk = length - length % kBlock;
    if (copy_in_kernel(*in, offset, bulk)) {
      offset += bulk;
      length -= bulk;
    }
  }
  // Read straight into the buffer: the bytes pass through user space anyway
  // to be hashed, and this saves a copy.
  while (length > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(length, kBufferSize - buffer_.size()));
    const size_t old = buffer_.size();
    buffer_.resize(old + n);
    src.read(offset, std::span(buffer_.data() + old, n));
    offset += n;
    length -= n;
    if (buffer_.size() == kBufferSize) flush();
  }
}

// Appends src [offset, +length) at the end of the (flushed) shadow without
// reading it: shared extents where possible, else an in-kernel copy.
bool ShadowFile::copy_in_kernel(File& src, uint64_t offset, uint64_t length) {
  if (length == 0) return false;
  const bool aligned = offset % kBlock == 0 && flushed_ % kBlock == 0;
  if (!(aligned && file_.clone_range(src, offset, flushed_, length)) &&
      !file_.copy_range(src, offset, flushed_, length))
    return false;
  flushed_ += length;
  hash_complete_ = false;
  if (on_progress_) on_progress_(flushed_);
  return true;
}

void ShadowFile::read_back(uint64_t offset, std::span<std::byte> out) {
  if (offset > size() || out.size() > size() - offset)
    throw Error(Errc::bad_patch, file_.path(), "read back past the end of the output");
  size_t done = 0;
  if (offset < flushed_) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(out.size(), flushed_ - offset));
    if (file_.read_at(offset, out.first(n)) != n)
      throw Error(Errc::io, file_.path(), "short read of the shadow file");
    done = n;
  }
  if (done < out.size())
    std::memcpy(out.data() + done, buffer_.data() + (offset + done - flushed_), out.size() - done);
}

void ShadowFile::flush() {
  if (buffer_.empty()) return;
  hasher_.update(buffer_);
  file_.write_at(flushed_, buffer_);
  flushed_ += buffer_.size();
  buffer_.clear();
  if (flushed_ - written_back_ >= kWritebackChunk) {
    file_.start_writeback(written_back_, flushed_ - written_back_);
    written_back_ = flushed_;
  }
  if (on_progress_) on_progress_(flushed_);
}

std::optional<Hash128> ShadowFile::finish() {
  flush();
  if (holes_) file_.truncate(flushed_);  // a hole at the end: nothing wrote its size
  if (!hash_complete_) return std::nullopt;
  return hasher_.digest();
}

void HashingSink::write(std::span<const std::byte> data) {
  if (data.size() > limit_ - size_)
    throw Error(
        Errc::bad_patch, "<dry run>",
        "the patch produces more than the " + std::to_string(limit_) + " bytes it declares");
  hasher_.update(data);
  size_ += data.size();
  if (retained_.size() < kRetained) {
    const size_t keep =
        static_cast<size_t>(std::min<uint64_t>(data.size(), kRetained - retained_.size()));
    retained_.insert(retained_.end(), data.begin(), data.begin() + static_cast<ptrdiff_t>(keep));
  }
}

void HashingSink::read_back(uint64_t offset, std::span<std::byte> out) {
  if (offset > retained_.size() || out.size() > retained_.size() - offset)
    throw Error(Errc::unsupported, "<dry run>",
                "a dry run cannot verify this patch beyond its first 64 MiB of output");
  if (!out.empty()) std::memcpy(out.data(), retained_.data() + offset, out.size());
}

}  // namespace bpatch

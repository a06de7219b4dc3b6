#include "core/shadow_file.hpp"

#include <algorithm>
#include <cstring>

#include "bpatch/error.hpp"

namespace bpatch {
namespace {

constexpr size_t kBufferSize = 1 << 20;      // one write per MiB
constexpr uint64_t kWritebackChunk = 8 << 20;  // start writeback every 8 MiB

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
  // Read straight into the buffer: the bytes have to pass through user space
  // anyway to be hashed, and this saves a copy.
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

Hash128 ShadowFile::finish() {
  flush();
  return hasher_.digest();
}

void HashingSink::write(std::span<const std::byte> data) {
  hasher_.update(data);
  size_ += data.size();
  if (retained_.size() < kRetained) {
    const size_t keep = static_cast<size_t>(std::min<uint64_t>(data.size(), kRetained - retained_.size()));
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

// TargetWriter: staging ring, kernel-copy pass-through and output history.
//
// Ring invariant: output byte p (valid_from_ <= p < pos_, p >= pos_ - ring
// size) is at ring_[p % ring size]; bytes [flushed_, pos_) are in the ring and
// not yet in the sink, and there are never more of them than half the ring.
#include "formats/target_writer.hpp"

#include <algorithm>
#include <cstring>

#include "bpatch/error.hpp"

namespace bpatch::formats {
namespace {

constexpr size_t kMinRing = size_t{1} << 18;          // staging: 256 KiB
constexpr uint64_t kPassThrough = uint64_t{1} << 15;  // longer runs go to the sink directly
constexpr size_t kScratch = size_t{1} << 16;

}  // namespace

namespace {

// Twice the window (so that half the ring can be staged output while the
// other half still holds history), but no more than the whole output needs.
size_t ring_size(size_t window_bytes, uint64_t expected_size) {
  const size_t wanted = std::max(kMinRing, window_bytes * 2);
  const uint64_t needed = std::max<uint64_t>(expected_size, 1) * 2;  // staging + history
  return static_cast<size_t>(std::max<uint64_t>(std::min<uint64_t>(wanted, needed), 4096));
}

}  // namespace

TargetWriter::TargetWriter(Sink& out, size_t window_bytes, bool compute_crc, uint64_t expected_size)
    : out_(out),
      sink_base_(out.size()),
      compute_crc_(compute_crc),
      window_(window_bytes),
      ring_(ring_size(window_bytes, expected_size)),
      scratch_(std::min(kScratch, ring_.size())) {}

uint64_t TargetWriter::ring_low() const {
  const uint64_t ring = ring_.size();
  return std::max(valid_from_, pos_ > ring ? pos_ - ring : 0);
}

void TargetWriter::flush() {
  const uint64_t ring = ring_.size();
  while (flushed_ < pos_) {
    const size_t at = static_cast<size_t>(flushed_ % ring);
    const size_t n = static_cast<size_t>(std::min<uint64_t>(pos_ - flushed_, ring - at));
    out_.write(std::span(ring_.data() + at, n));
    flushed_ += n;
  }
}

void TargetWriter::stage(std::span<const std::byte> data) {
  const uint64_t ring = ring_.size();
  while (!data.empty()) {
    if (pos_ - flushed_ >= ring / 2) flush();
    const size_t at = static_cast<size_t>(pos_ % ring);
    const size_t room =
        static_cast<size_t>(std::min<uint64_t>(ring / 2 - (pos_ - flushed_), ring - at));
    const size_t n = std::min(room, data.size());
    std::memcpy(ring_.data() + at, data.data(), n);
    if (compute_crc_) crc_.update(data.first(n));
    pos_ += n;
    data = data.subspan(n);
  }
}

void TargetWriter::append(std::span<const std::byte> data) { stage(data); }

void TargetWriter::append_from(const Source& src, uint64_t offset, uint64_t length) {
  check_range(src, offset, length);
  const uint64_t ring = ring_.size();
  if (length < kPassThrough) {
    while (length > 0) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(length, scratch_.size()));
      src.read(offset, std::span(scratch_.data(), n));
      stage(std::span(scratch_.data(), n));
      offset += n;
      length -= n;
    }
    return;
  }
  // A long run: read it only as far as the CRC and the history need it, and
  // let the sink copy it (in the kernel when it can).
  flush();
  const uint64_t end = pos_ + length;
  const uint64_t keep = compute_crc_ ? length : std::min<uint64_t>(length, window_);
  uint64_t at = end - keep;  // first output offset to read into the ring
  if (at > pos_) valid_from_ = at;
  uint64_t src_at = offset + (at - pos_);
  while (at < end) {
    const size_t slot = static_cast<size_t>(at % ring);
    const size_t n = static_cast<size_t>(std::min<uint64_t>(end - at, ring - slot));
    const auto piece = std::span(ring_.data() + slot, n);
    src.read(src_at, piece);
    if (compute_crc_) crc_.update(piece);
    at += n;
    src_at += n;
  }
  out_.write_from(src, offset, length);
  pos_ = end;
  flushed_ = end;
}

void TargetWriter::append_fill(std::byte value, uint64_t length) {
  if (length < kPassThrough) {
    std::memset(scratch_.data(), static_cast<int>(value),
                std::min<size_t>(scratch_.size(), static_cast<size_t>(length)));
    while (length > 0) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(length, scratch_.size()));
      stage(std::span(scratch_.data(), n));
      length -= n;
    }
    return;
  }
  flush();
  // The sink first: it is what bounds a hostile fill (a full disk, a cap).
  out_.write_fill(value, length);
  if (compute_crc_) crc_.update_fill(value, length);
  const uint64_t ring = ring_.size();
  const uint64_t end = pos_ + length;
  for (uint64_t at = end - std::min<uint64_t>(length, ring); at < end;) {
    const size_t slot = static_cast<size_t>(at % ring);
    const size_t n = static_cast<size_t>(std::min<uint64_t>(end - at, ring - slot));
    std::memset(ring_.data() + slot, static_cast<int>(value), n);
    at += n;
  }
  pos_ = end;
  flushed_ = end;
}

void TargetWriter::read_output(uint64_t offset, std::span<std::byte> out) {
  const uint64_t ring = ring_.size();
  while (!out.empty()) {
    const uint64_t low = ring_low();
    size_t n;
    if (offset >= low) {
      const size_t slot = static_cast<size_t>(offset % ring);
      n = static_cast<size_t>(std::min<uint64_t>(out.size(), ring - slot));
      std::memcpy(out.data(), ring_.data() + slot, n);
    } else {
      n = static_cast<size_t>(std::min<uint64_t>(out.size(), low - offset));
      flush();  // read_back sees only what the sink has
      out_.read_back(sink_base_ + offset, out.first(n));
    }
    offset += n;
    out = out.subspan(n);
  }
}

void TargetWriter::append_copy(uint64_t from, uint64_t length) {
  if (from >= pos_)
    throw Error(Errc::bad_patch, "<output>",
                "copy from output offset " + std::to_string(from) + " which is not written yet");
  const uint64_t distance = pos_ - from;
  const uint64_t ring = ring_.size();
  while (length > 0) {
    // Byte-by-byte semantics: output[p] = output[p - distance]. The region
    // from `from` on repeats with period `distance`, so any multiple of it
    // is a valid distance too: copy from as close as the ring allows, in
    // growing steps, which turns a one-byte run into a few large copies.
    uint64_t span_back = distance;
    if (distance < length) {
      const uint64_t limit =
          std::max<uint64_t>(distance, std::min<uint64_t>(pos_ - from, ring / 2));
      span_back = limit - limit % distance;
    }
    const uint64_t src = pos_ - span_back;
    const uint64_t step = std::min(length, span_back);
    for (uint64_t done = 0; done < step;) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(step - done, scratch_.size()));
      read_output(src + done, std::span(scratch_.data(), n));
      stage(std::span(scratch_.data(), n));
      done += n;
    }
    length -= step;
  }
}

void TargetWriter::finish() { flush(); }

}  // namespace bpatch::formats

// TargetWriter — the output stage shared by the IPS, BPS and UPS decoders.
//
// It appends a new file's bytes to a Sink strictly front to back and:
//   * coalesces small pieces (record bytes, short source runs) into one
//     staging buffer, so the sink sees few large writes;
//   * passes long source runs on with Sink::write_from and long fills with
//     Sink::write_fill, so a file sink can copy them in the kernel;
//   * keeps a CRC-32 of everything appended when asked (BPS, UPS verify it);
//   * keeps the most recent output in a ring buffer, so copies from earlier
//     output (BPS TargetCopy) are served from memory, and from
//     Sink::read_back only when they reach further back than the ring.
//
// Memory is the ring (`window_bytes`, at least a staging buffer) plus a copy
// buffer: bounded, whatever the file sizes. Not thread-safe. The Sink must
// outlive the writer; call finish() before reading the sink's result (a
// writer destroyed without finish() may leave buffered bytes unwritten, which
// is what an aborted decode wants).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "bpatch/io.hpp"
#include "formats/crc32.hpp"

namespace bpatch::formats {

class TargetWriter {
 public:
  // `expected_size`, when known, keeps the buffers small for small outputs.
  TargetWriter(Sink& out, size_t window_bytes, bool compute_crc,
               uint64_t expected_size = UINT64_MAX);

  // Output bytes appended so far (including ones still buffered).
  uint64_t size() const { return pos_; }
  // CRC-32 of everything appended; valid only when constructed with compute_crc.
  uint32_t crc() const { return crc_.value(); }

  void append(std::span<const std::byte> data);
  // Appends src [offset, offset+length); throws like Source::read when the
  // range is not inside src.
  void append_from(const Source& src, uint64_t offset, uint64_t length);
  void append_fill(std::byte value, uint64_t length);
  // Appends `length` bytes copied from this output starting at `from`
  // (from < size()), byte by byte: when the ranges overlap, the copy repeats
  // the last size()-from bytes, as LZ77-style formats define it.
  void append_copy(uint64_t from, uint64_t length);

  // Hands every buffered byte to the sink.
  void finish();

 private:
  void stage(std::span<const std::byte> data);
  void flush();
  void read_output(uint64_t offset, std::span<std::byte> out);
  uint64_t ring_low() const;  // lowest output offset the ring still holds

  Sink& out_;
  const uint64_t sink_base_;  // out_.size() when the writer started
  const bool compute_crc_;
  const size_t window_;  // how much history must stay readable in memory
  std::vector<std::byte> ring_;
  std::vector<std::byte> scratch_;
  uint64_t pos_ = 0;         // output bytes appended
  uint64_t flushed_ = 0;     // output bytes handed to the sink
  uint64_t valid_from_ = 0;  // ring slots below this offset were never filled
  Crc32 crc_;
};

}  // namespace bpatch::formats

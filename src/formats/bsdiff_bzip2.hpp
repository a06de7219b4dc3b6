// Bzip2Stream — decodes exactly one bzip2 stream stored in a byte range of a
// patch, for the bsdiff decoders.
//
// bsdiff carries no checksum of its own: its only integrity check is bzip2's
// per-block and per-stream CRC. So a stream is always decoded to its
// end-of-stream marker (which is where libbz2 verifies the combined CRC), and
// the stream must end exactly at the end of its range: a truncated stream, a
// stream followed by any byte (garbage or a second, concatenated stream) and
// a range that holds no stream at all are Error(bad_patch).
//
// Decoding is done by bpatch's own Bzip2Decoder (bzip2_decoder.hpp), which
// writes bsdiff's long zero runs several times faster than libbz2. A stream
// with a randomised block (bzip2 ≤ 0.9.0) is decoded again from its start by
// libbz2, through Boost.Iostreams' bzip2 filter at its base layer
// (bzip2_base: before / decompress / after over libbz2's bz_stream), with
// the bytes already handed out skipped. The high-level bzip2_decompressor
// cannot be used: it silently restarts on whatever follows an end-of-stream
// marker (to support concatenated streams) and never says where a stream
// ended.
//
// Thread-safety: one object is used by one thread at a time. Reads of the
// patch Source are made under `patch_lock` (when given), so several streams
// of one patch may be decoded on different threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "bpatch/io.hpp"
#include "formats/bzip2_decoder.hpp"

namespace bpatch::formats {

class Bzip2Stream {
 public:
  // Decodes the stream stored in patch [begin, end). `label` names it in
  // error messages ("control stream", …). Does not take ownership of
  // `patch` or `patch_lock`; both must outlive the object.
  Bzip2Stream(const Source& patch, uint64_t begin, uint64_t end, std::string label,
              std::mutex* patch_lock = nullptr);
  ~Bzip2Stream();
  Bzip2Stream(const Bzip2Stream&) = delete;
  Bzip2Stream& operator=(const Bzip2Stream&) = delete;

  // Decodes up to out.size() bytes into out and returns how many. Returns
  // fewer than asked only at the end of the stream, and 0 only once the
  // end-of-stream marker has been read, its CRC verified and the range found
  // to hold nothing after it. Throws Error(bad_patch) on corrupt, truncated
  // or trailing data.
  size_t read(std::span<std::byte> out);

  // True once the end-of-stream marker has been reached and verified.
  bool finished() const { return finished_; }
  // Bytes decoded so far.
  uint64_t produced() const { return produced_; }
  const std::string& label() const { return label_; }

 private:
  class Decoder;
  void refill();
  size_t read_own(std::span<std::byte> out);
  size_t read_libbz2(std::span<std::byte> out);
  void switch_to_libbz2();
  [[noreturn]] void fail(const std::string& what) const;

  const Source& patch_;
  uint64_t begin_;
  uint64_t next_read_;  // patch offset of the next byte to load into in_
  uint64_t end_;
  std::string label_;
  std::mutex* patch_lock_;
  std::unique_ptr<Bzip2Decoder> own_;  // null once libbz2 has taken over
  std::unique_ptr<Decoder> decoder_;   // libbz2, for randomised blocks
  std::vector<char> in_;
  const char* in_pos_ = nullptr;
  const char* in_end_ = nullptr;
  uint64_t produced_ = 0;
  bool finished_ = false;
};

}  // namespace bpatch::formats

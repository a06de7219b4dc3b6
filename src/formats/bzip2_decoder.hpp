// Bzip2Decoder — bpatch's own decoder of one bzip2 stream, for bsdiff.
//
// Why not libbz2: a bsdiff patch's diff stream is almost all zero bytes
// (99.8% in a typical 256 MiB update), which bzip2 stores as runs of up to
// 259 equal bytes. libbz2 writes every byte of such a run one at a time and
// updates its CRC one byte at a time, which is ~70% of the CPU of a bsdiff
// apply. This decoder writes a run with one memset and advances the CRC over
// a run of zero bytes with one multiplication (CRC(s, n zeros) = s·x^(8n)
// mod P), so the diff stream costs little more than its compressed size.
//
// It accepts exactly what libbz2 1.0.8 accepts, with the same checks (the
// Huffman table construction, the selector limit, the block size, the block
// and stream CRCs), and is tested against libbz2 as its oracle
// (tests/bzip2_decoder_test.cpp, tests/fuzz/bzip2_fuzz.cpp). The one thing
// it does not decode is a "randomised" block, which only bzip2 0.9.0 and
// older wrote: it then throws Bzip2Randomised before producing any byte of
// that block, so that the caller can decode the stream again with libbz2.
//
// Memory: the block array of the stream's block size (4 bytes per byte of
// block, 3.6 MB for a 900 KB block) and small tables.
//
// Thread-safety: one object is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/huge_buffer.hpp"

namespace bpatch::formats {

// The stream is not bzip2 or is corrupt; what() says where and why.
class Bzip2DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A block is randomised (bzip2 ≤ 0.9.0); nothing of it has been produced.
class Bzip2Randomised : public std::runtime_error {
 public:
  Bzip2Randomised() : std::runtime_error("randomised bzip2 block") {}
};

class Bzip2Decoder {
 public:
  // `fill` returns the next bytes of the stream's input, or an empty span
  // when there are none. The span must stay valid until the next call.
  using Fill = std::function<std::span<const std::byte>()>;

  explicit Bzip2Decoder(Fill fill);
  ~Bzip2Decoder();
  Bzip2Decoder(const Bzip2Decoder&) = delete;
  Bzip2Decoder& operator=(const Bzip2Decoder&) = delete;

  // Decodes up to out.size() bytes into out and returns how many; fewer
  // only at the end of the stream, and 0 once the end-of-stream marker and
  // the stream CRC have been read and verified. Throws Bzip2DataError on
  // corrupt or truncated input, Bzip2Randomised as said above.
  size_t read(std::span<std::byte> out);

  // After read() returned 0: the input bytes fill() gave that lie after the
  // stream's last byte (its end-of-stream marker, CRC and padding bits).
  size_t unused_input() const;

 private:
  class BitReader;
  struct Huffman;

  void read_stream_header();
  bool read_block();  // false at the end-of-stream marker
  void read_block_symbols(std::span<const uint8_t> selectors, std::span<const Huffman> tables,
                          int n_in_use, const uint8_t* seq_to_unseq);
  [[noreturn]] void fail(const std::string& what) const;
  void finish_block();

  std::unique_ptr<BitReader> bits_;
  HugeBuffer<uint32_t> tt_;  // the block: byte in bits 0-7, next index above
  uint32_t block_max_ = 0;   // 100,000 × the header's level
  uint32_t combined_crc_ = 0;
  uint64_t block_number_ = 0;
  bool finished_ = false;

  // The block being written out.
  uint32_t block_len_ = 0;   // bytes in tt_
  uint32_t block_used_ = 0;  // of those, how many have been walked
  uint32_t t_pos_ = 0;       // where the inverse BWT walk is
  uint32_t block_crc_ = 0;   // as the block header states it
  uint32_t crc_ = 0;         // of the bytes written so far of this block
  int last_ = -1;            // the last literal byte, -1 at a run's start
  int same_ = 0;             // how many times in a row it has come
  uint32_t run_left_ = 0;    // copies of last_run_ still to write
  uint8_t last_run_ = 0;     // the byte of the run being written
  bool in_block_ = false;
};

}  // namespace bpatch::formats

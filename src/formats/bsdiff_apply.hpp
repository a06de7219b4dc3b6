// What BSDIFF40 and ENDSLEY/BSDIFF43 patches share: the sign-magnitude
// integers, the control triples and the way a triple builds the new file.
//
//   offtin   := 8 bytes: bits 0..62 little-endian magnitude, bit 63 sign
//               (0x80 in byte 7 means negative; "-0" reads as 0)
//   triple   := add:offtin copy:offtin seek:offtin
//
// Applying triple #k at new offset N with the old position P:
//   new[N .. N+add)            = diff[0 .. add) + old[P .. P+add)  (bytewise, mod 256)
//   new[N+add .. N+add+copy)   = extra[0 .. copy)
//   N += add + copy;  P += add + seek
// The file is complete when N reaches the new size declared in the header.
//
// Checks, each an Error naming the triple and the offsets:
//   add < 0, copy < 0, N+add+copy > new size, P+add+seek overflowing 64 bits,
//   a diff/extra stream ending early, a control stream ending before the new
//   size is reached                                        -> bad_patch
//   add > 0 reading old bytes outside [0, old size)        -> wrong_source
// bspatch would add nothing for old bytes outside the old file, so a patch
// applied to a shorter file than it was made for yields a silently wrong
// file there. No bsdiff encoder (Percival's, Endsley's) emits such reads:
// its forward extension stops at the old size and every seek lands on a
// matched old position. So such a read means "wrong source", and bpatch
// refuses it. A seek that leaves P outside the old file is allowed (as in
// bspatch) as long as no later add reads there.
//
// Thread-safety: a TripleApplier is used by one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "bpatch/io.hpp"
#include "formats/bsdiff_stream.hpp"

namespace bpatch::formats {

// Decodes an 8-byte sign-magnitude integer.
int64_t offtin(std::span<const std::byte, 8> bytes);

struct ControlTriple {
  int64_t add = 0;
  int64_t copy = 0;
  int64_t seek = 0;
};

// Reads triple #index from `ctrl`. Returns false when the stream is exhausted
// right at a triple boundary; throws Error(bad_patch) when it ends inside one.
bool read_triple(DecodedStream& ctrl, uint64_t index, const std::string& patch_name,
                 ControlTriple& triple);

// Once the new file is complete: accepts one trailing all-zero triple (HDiffPatch's
// `hdiffz -BSD` writes one for an empty new file; it adds nothing, and Debian's and
// mendsley's bspatch apply it), then demands the end of `ctrl` like expect_end.
// Only one is skipped, so a stream of zeros still counts as leftover data and a
// bzip2 bomb behind a tiny new size is still stopped early.
void expect_control_end(DecodedStream& ctrl, const std::string& patch_name,
                        const std::string& context);

// Checks add/copy of triple #index against the new file's size, given the
// new offset it starts at. Throws Error(bad_patch).
void check_triple_lengths(const ControlTriple& triple, uint64_t index, uint64_t new_pos,
                          uint64_t new_size, const std::string& patch_name);

// Builds the new file from triples, reading the old file through a window
// and writing the output in large blocks.
class TripleApplier {
 public:
  TripleApplier(const Source& old, Sink& out, uint64_t new_size, std::string patch_name);

  // Checks and applies triple #index, taking `add` bytes from `diff` and
  // `copy` bytes from `extra` (the same stream for BSDIFF43).
  void apply(const ControlTriple& triple, uint64_t index, DecodedStream& diff,
             DecodedStream& extra);

  bool complete() const { return new_pos_ == new_size_; }
  uint64_t new_pos() const { return new_pos_; }
  // Writes what is buffered to the sink.
  void flush();

 private:
  // Old bytes from pos (inside the old file), at most max; `needed` is how
  // many this add still reads from pos on.
  std::span<const std::byte> old_view(uint64_t pos, size_t max, uint64_t needed);
  void add_from_diff(uint64_t length, uint64_t index, DecodedStream& diff);
  void copy_from_extra(uint64_t length, uint64_t index, DecodedStream& extra);
  [[noreturn]] void stream_ended(const DecodedStream& stream, uint64_t index,
                                 uint64_t missing) const;

  const Source& old_;
  Sink& out_;
  uint64_t new_size_;
  std::string patch_name_;
  uint64_t new_pos_ = 0;  // bytes of the new file produced (buffered or written)
  int64_t old_pos_ = 0;   // may leave [0, old size) between triples
  std::vector<std::byte> out_buf_;
  size_t out_len_ = 0;
  std::vector<std::byte> old_buf_;
  uint64_t old_buf_start_ = 0;
  size_t old_buf_len_ = 0;
  size_t lookahead_ = 0;  // bytes read beyond the current add's needs on a miss
};

// Tuning for tests and fuzzers: streams whose compressed size is at least
// `background_threshold` bytes are decoded on a worker thread.
struct BsdiffOptions {
  uint64_t background_threshold = 64 * 1024;
};

void apply_bsdiff40_with(const Source& patch, const Source& old, Sink& out,
                         const BsdiffOptions& options);
void apply_bsdiff43_with(const Source& patch, const Source& old, Sink& out,
                         const BsdiffOptions& options);

}  // namespace bpatch::formats

// DecodedStream — the decoded bytes of one bzip2 stream of a bsdiff patch,
// handed out as views, either decoded on demand (InlineStream) or decoded
// ahead on a worker thread into a few bounded chunks (prefetching).
//
// bzip2 decoding is what applying a bsdiff patch spends its time on. A
// BSDIFF40 patch has three independent streams, so decoding the diff and
// extra streams on two threads while the caller combines them with the old
// file uses both cores of a small machine; a BSDIFF43 patch has one stream,
// whose decoding then overlaps the combining and the output I/O.
//
// Memory, whatever the stream's size: libbz2's decoder state (up to ~3.6 MB
// for a 900 KB block), a 64 KiB input buffer, and one 64 KiB output buffer
// (inline) or three 64 KiB chunks (prefetching).
//
// Thread-safety: a DecodedStream is used by one thread (its owner); a
// prefetching stream's worker reads the patch only under the patch lock
// shared by every stream of the patch. Destroying a prefetching stream stops
// and joins its worker (after at most one chunk's worth of decoding).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include "bpatch/io.hpp"

namespace bpatch::formats {

class DecodedStream {
 public:
  virtual ~DecodedStream() = default;

  // The next decoded bytes, at most `max` of them (max > 0). Empty only when
  // the stream is exhausted, which implies its end-of-stream marker and CRC
  // have been verified and nothing follows it. The view stays valid until
  // the next call. Throws Error(bad_patch) on corrupt or truncated data.
  virtual std::span<const std::byte> next(size_t max) = 0;

  // "control stream", "diff stream", …
  virtual const std::string& label() const = 0;

  // Copies exactly out.size() bytes; false when the stream ends first.
  bool read_exact(std::span<std::byte> out);

  // Decodes the rest of the stream; throws Error(bad_patch, patch_name) when
  // any decoded byte is left over (`context` says why none may be).
  // `consumed` counts leftover bytes the caller already took from the stream.
  void expect_end(const std::string& patch_name, const std::string& context, uint64_t consumed = 0);
};

// Opens the bzip2 stream stored in patch [begin, end). With `background`,
// decodes it ahead on a worker thread (falling back to inline decoding when
// no thread can be started). `patch_lock` guards every read of `patch` and
// must outlive the stream, as must `patch`.
std::unique_ptr<DecodedStream> open_decoded_stream(const Source& patch, uint64_t begin,
                                                   uint64_t end, std::string label,
                                                   std::mutex& patch_lock, bool background);

}  // namespace bpatch::formats

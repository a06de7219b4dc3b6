// zstd "patch-from" patches (`zstd --patch-from=OLD NEW -o PATCH`): one
// zstd frame (RFC 8878) compressed with the old file as a raw prefix, so
// its matches reach back into OLD as if OLD preceded NEW.
//
//   patch        := frame                    (nothing may follow it)
//   frame        := magic:28 B5 2F FD header block* [checksum:u32le]
//   header       := descriptor:u8 [window_descriptor:u8] [dict_id:0/1/2/4]
//                   [content_size:0/1/2/4/8]
//     descriptor := fcs_flag:2 single_segment:1 unused:1 reserved:1(0)
//                   checksum_flag:1 dict_id_flag:2          (bit 7 first)
//   block        := header:u24le (last:1 type:2 size:21, bit 0 first) content
//                   type 0 raw (size bytes), 1 RLE (1 byte, size copies),
//                   2 compressed (size bytes), 3 reserved; size <= 128 KiB
//   checksum     := low 32 bits of XXH64 of the decoded content, if flagged
//
// Before anything is decoded the frame is walked block by block through
// the Source (no decoding): a truncated frame, a reserved block type, an
// oversized block, a dictionary id (a patch-from frame has none) or bytes
// after the frame are refused there. Decoding then streams through
// libzstd (ZSTD_decompressStream) into the Sink, which verifies the content
// checksum when present; the decoded size must equal the declared one.
//
// Memory bound, whatever the patch declares: the prefix (the whole old
// file, read through the Source: libzstd needs it contiguous, and a match
// may reach anywhere in it) plus libzstd's window buffer
// (<= min(window, content size) + 128 KiB) plus two 128 KiB buffers. The
// frame's window must be at most
//   max(2^27, 2 * max(old size, most bytes its blocks can produce)),
// capped at 2^31 (zstd's largest window log, 31): the zstd CLI sizes a
// patch-from window to about twice the larger file (or 2^27 with --long,
// -19, --ultra -22), and each block produces at most 128 KiB. A frame
// asking for more is refused (too_large) before any allocation.
#pragma once

#include <cstdint>
#include <optional>

#include "bpatch/io.hpp"

namespace bpatch::formats {

// What a walk over the frame tells, without decoding it.
struct ZstdFrame {
  uint64_t header_size = 0;  // magic + frame header
  std::optional<uint64_t> content_size;
  uint64_t window_size = 0;
  bool checksum = false;
  uint32_t dictionary_id = 0;
  uint64_t blocks = 0;
  uint64_t end = 0;  // offset just past the frame (and its checksum)
};

// Walks the frame at offset 0; throws Error(bad_patch) naming the offset of
// the fault, Error(unsupported) for a frame that needs a dictionary.
ZstdFrame walk_zstd_frame(const Source& patch);

// The largest window accepted for this frame and old file (see above).
uint64_t zstd_window_limit(const ZstdFrame& frame, uint64_t old_size);

}  // namespace bpatch::formats

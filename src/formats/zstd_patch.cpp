// zstd patch-from patches: the frame walk, the window bound and the
// streaming decoder (layout and bounds in zstd_patch.hpp).
#include "formats/zstd_patch.hpp"

#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <array>
#include <memory>
#include <vector>

#include "bpatch/error.hpp"
#include "formats/decoders.hpp"

namespace bpatch::formats {
namespace {

constexpr uint32_t kMagic = 0xFD2FB528;
constexpr uint64_t kMaxBlock = 128 * 1024;            // Block_Maximum_Size
constexpr unsigned kMaxWindowLog = 31;                // ZSTD_WINDOWLOG_MAX_64
constexpr uint64_t kWindowFloor = uint64_t{1} << 27;  // zstd's default decoder limit
constexpr size_t kInputChunk = 128 * 1024;

uint64_t le(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = n; i-- > 0;) v = (v << 8) | p[i];
  return v;
}

// Reads `n` bytes at `offset`, or fails naming `what` when the patch ends first.
void read_or_fail(const Source& patch, uint64_t offset, uint8_t* out, size_t n, const char* what) {
  if (offset > patch.size() || n > patch.size() - offset)
    fail_at(patch, offset, std::string("the zstd frame is truncated in its ") + what);
  patch.read(offset, std::as_writable_bytes(std::span(out, n)));
}

struct DCtxFree {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

}  // namespace

ZstdFrame walk_zstd_frame(const Source& patch) {
  ZstdFrame f;
  std::array<uint8_t, 18> h{};  // magic + the longest frame header (14)
  read_or_fail(patch, 0, h.data(), 6, "header");
  if (le(h.data(), 4) != kMagic) fail_at(patch, 0, "not a zstd frame (bad magic)");
  const uint8_t desc = h[4];
  const unsigned fcs_flag = desc >> 6;
  const bool single_segment = (desc >> 5) & 1;
  if ((desc >> 3) & 1) fail_at(patch, 4, "the frame header's reserved bit is set");
  f.checksum = (desc >> 2) & 1;
  const size_t did_size = std::array<size_t, 4>{0, 1, 2, 4}[desc & 3];
  const size_t fcs_size = std::array<size_t, 4>{single_segment ? 1u : 0u, 2, 4, 8}[fcs_flag];
  const size_t header = 5 + (single_segment ? 0 : 1) + did_size + fcs_size;
  read_or_fail(patch, 0, h.data(), header, "header");
  size_t at = 5;
  if (!single_segment) {
    const uint8_t wd = h[at++];
    const unsigned log = 10 + (wd >> 3);
    const uint64_t base = uint64_t{1} << log;
    f.window_size = base + (base / 8) * (wd & 7);
  }
  f.dictionary_id = static_cast<uint32_t>(le(h.data() + at, did_size));
  at += did_size;
  if (fcs_size > 0) {
    f.content_size = le(h.data() + at, fcs_size) + (fcs_size == 2 ? 256 : 0);
    if (single_segment) f.window_size = *f.content_size;
  }
  f.header_size = header;
  if (f.dictionary_id != 0)
    throw Error(Errc::unsupported, patch.name(),
                "the zstd frame needs dictionary " + std::to_string(f.dictionary_id) +
                    " (a --patch-from frame has none; zstd dictionaries are not supported)");

  // The blocks, headers only.
  uint64_t pos = header;
  for (bool last = false; !last; ++f.blocks) {
    std::array<uint8_t, 3> b{};
    read_or_fail(patch, pos, b.data(), 3, "blocks");
    const uint32_t bh = static_cast<uint32_t>(le(b.data(), 3));
    last = bh & 1;
    const unsigned type = (bh >> 1) & 3;
    const uint64_t size = bh >> 3;
    if (type == 3) fail_at(patch, pos, "zstd block of the reserved type 3");
    if (size > kMaxBlock)
      fail_at(patch, pos, "zstd block of " + std::to_string(size) + " bytes (at most 131072)");
    const uint64_t stored = type == 1 ? 1 : size;
    pos += 3;
    if (stored > patch.size() - pos)
      fail_at(patch, pos,
              "the zstd frame is truncated inside a block of " + std::to_string(stored) + " bytes");
    pos += stored;
  }
  if (f.checksum) {
    if (patch.size() - pos < 4) fail_at(patch, pos, "the zstd frame is truncated in its checksum");
    pos += 4;
  }
  f.end = pos;
  if (f.end != patch.size())
    fail_at(patch, f.end,
            std::to_string(patch.size() - f.end) +
                " bytes follow the zstd frame (a patch-from patch is one frame)");
  return f;
}

uint64_t zstd_window_limit(const ZstdFrame& frame, uint64_t old_size) {
  uint64_t produced = frame.blocks * kMaxBlock;
  if (frame.content_size) produced = std::min(produced, *frame.content_size);
  const uint64_t larger = std::max(old_size, produced);
  const uint64_t twice = larger > (uint64_t{1} << 62) ? uint64_t{1} << 62 : 2 * larger;
  return std::min(std::max(kWindowFloor, twice), uint64_t{1} << kMaxWindowLog);
}

SourceCheck check_source_zstd(const Source& patch, const Source& old) {
  const ZstdFrame f = walk_zstd_frame(patch);
  const uint64_t limit = zstd_window_limit(f, old.size());
  if (f.window_size > limit)
    throw Error(Errc::too_large, patch.name(),
                "the zstd frame asks for a " + std::to_string(f.window_size) +
                    "-byte window; at most " + std::to_string(limit) + " is accepted for a " +
                    std::to_string(old.size()) + "-byte old file");
  return SourceCheck::matches;  // the frame says nothing else of its source
}

void apply_zstd(const Source& patch, const Source& old, Sink& out) {
  check_source_zstd(patch, old);
  const ZstdFrame f = walk_zstd_frame(patch);
  unsigned window_log = 10;
  while (window_log < kMaxWindowLog && (uint64_t{1} << window_log) < f.window_size) ++window_log;

  // The whole old file: libzstd lets a match reach anywhere in a prefix, not
  // only within the window (a small NEW gets a single-segment frame whose
  // "window" is its own size, yet copies from all of OLD).
  std::vector<std::byte> prefix(static_cast<size_t>(old.size()));
  old.read(0, prefix);

  std::unique_ptr<ZSTD_DCtx, DCtxFree> dctx(ZSTD_createDCtx());
  if (!dctx) throw Error(Errc::io, patch.name(), "cannot allocate a zstd decoder");
  auto check = [&](size_t rc, uint64_t offset) {
    if (!ZSTD_isError(rc)) return;
    const std::string why = ZSTD_getErrorName(rc);
    if (ZSTD_getErrorCode(rc) == ZSTD_error_checksum_wrong)
      throw Error(Errc::checksum, patch.name(),
                  "the decoded file does not match the zstd frame's content checksum: the "
                  "patch is damaged or " +
                      old.name() + " is not the file it was made from");
    fail_at(patch, offset,
            "zstd: " + why + " (is " + old.name() + " the file the patch was made from?)");
  };
  check(ZSTD_DCtx_setParameter(dctx.get(), ZSTD_d_windowLogMax, static_cast<int>(window_log)), 0);
  check(ZSTD_DCtx_refPrefix(dctx.get(), prefix.data(), prefix.size()), 0);

  std::vector<uint8_t> in_buf(kInputChunk);
  std::vector<uint8_t> out_buf(ZSTD_DStreamOutSize());
  ZSTD_inBuffer in{in_buf.data(), 0, 0};
  uint64_t read_pos = 0, produced = 0;
  for (;;) {
    if (in.pos == in.size && read_pos < f.end) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(kInputChunk, f.end - read_pos));
      patch.read(read_pos, std::as_writable_bytes(std::span(in_buf.data(), n)));
      read_pos += n;
      in = ZSTD_inBuffer{in_buf.data(), n, 0};
    }
    ZSTD_outBuffer o{out_buf.data(), out_buf.size(), 0};
    const size_t rc = ZSTD_decompressStream(dctx.get(), &o, &in);
    check(rc, read_pos - (in.size - in.pos));
    if (o.pos > 0) {
      produced += o.pos;
      if (f.content_size && produced > *f.content_size)
        fail_at(patch, read_pos,
                "the zstd frame decodes to more than its declared " +
                    std::to_string(*f.content_size) + " bytes");
      out.write(std::as_bytes(std::span(out_buf.data(), o.pos)));
    }
    if (rc == 0) break;  // the frame is complete and flushed
    if (in.pos == in.size && read_pos == f.end && o.pos < o.size)
      fail_at(patch, f.end, "the zstd frame ends before its last block is decoded");
  }
  if (read_pos != f.end || in.pos != in.size)
    fail_at(patch, read_pos - (in.size - in.pos), "the zstd frame ends before the patch does");
  if (f.content_size && produced != *f.content_size)
    fail_at(patch, f.end,
            "the zstd frame decodes to " + std::to_string(produced) + " bytes, not its declared " +
                std::to_string(*f.content_size));
}

PatchInfo inspect_zstd(const Source& patch) {
  const ZstdFrame f = walk_zstd_frame(patch);
  PatchInfo info;
  info.format = Format::zstd;
  info.patch_size = patch.size();
  info.target_size = f.content_size;
  info.details = {
      {"kind", "zstd frame (patch-from: the old file is its raw prefix)"},
      {"frame content size", f.content_size ? std::to_string(*f.content_size) : "unknown"},
      {"window", std::to_string(f.window_size) + " bytes"},
      {"checksum", f.checksum ? "yes (XXH64 of the result, verified when applied)" : "no"},
      {"blocks", std::to_string(f.blocks)},
  };
  return info;
}

}  // namespace bpatch::formats

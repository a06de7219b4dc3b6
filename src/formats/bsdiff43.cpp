// ENDSLEY/BSDIFF43 — Matthew Endsley's bsdiff variant: the three streams of
// BSDIFF40 interleaved into one bzip2 stream.
//
//   patch   := header body
//   header  := "ENDSLEY/BSDIFF43" new_size:offtin                  (24 bytes)
//   body    := one bzip2 stream running to the end of the patch, decoding to
//              step*, where step := triple diff_bytes[add] extra_bytes[copy]
//
// offtin and triple are described in bsdiff_apply.hpp, with what a triple
// does. The format has no checksum: the stream's bzip2 CRCs are its only
// integrity check, so it is decoded to its end marker, no byte may follow
// it, and no decoded byte may be left once the new file is complete but
// one all-zero triple (`hdiffz -BSD -SD` writes one for an empty new file).
//
// A large stream is decoded ahead on a worker thread, overlapping the
// combining with the old file and the output (see bsdiff_stream.hpp).
#include <array>
#include <cstring>
#include <mutex>

#include "bpatch/error.hpp"
#include "formats/bsdiff_apply.hpp"
#include "formats/decoders.hpp"

namespace bpatch::formats {
namespace {

constexpr uint64_t kHeaderSize = 24;

uint64_t read_new_size(const Source& patch) {
  if (patch.size() < kHeaderSize)
    throw Error(
        Errc::bad_patch, patch.name(),
        "ENDSLEY/BSDIFF43 header is truncated: " + std::to_string(patch.size()) + " of 24 bytes");
  std::array<std::byte, kHeaderSize> raw{};
  patch.read(0, raw);
  if (std::memcmp(raw.data(), "ENDSLEY/BSDIFF43", 16) != 0)
    throw Error(Errc::bad_patch, patch.name(), "not an ENDSLEY/BSDIFF43 patch (bad magic)");
  const int64_t new_size = offtin(std::span<const std::byte, kHeaderSize>(raw).subspan<16, 8>());
  if (new_size < 0)
    throw Error(Errc::bad_patch, patch.name(),
                "ENDSLEY/BSDIFF43 header: negative new file size " + std::to_string(new_size));
  return static_cast<uint64_t>(new_size);
}

}  // namespace

void apply_bsdiff43_with(const Source& patch, const Source& old, Sink& out,
                         const BsdiffOptions& options) {
  const uint64_t new_size = read_new_size(patch);
  std::mutex patch_lock;
  auto stream = open_decoded_stream(patch, kHeaderSize, patch.size(), "bzip2 stream", patch_lock,
                                    patch.size() - kHeaderSize >= options.background_threshold);
  TripleApplier applier(old, out, new_size, patch.name());
  ControlTriple triple;
  uint64_t index = 0;
  while (!applier.complete()) {
    if (!read_triple(*stream, index, patch.name(), triple))
      throw Error(Errc::bad_patch, patch.name(),
                  "the bzip2 stream ends after " + std::to_string(index) +
                      " steps, at new offset " + std::to_string(applier.new_pos()) + " of " +
                      std::to_string(new_size));
    applier.apply(triple, index++, *stream, *stream);
  }
  applier.flush();
  expect_control_end(*stream, patch.name(),
                     "after the " + std::to_string(new_size) + "-byte new file was complete");
}

void apply_bsdiff43(const Source& patch, const Source& old, Sink& out) {
  apply_bsdiff43_with(patch, old, out, BsdiffOptions{});
}

SourceCheck check_source_bsdiff43(const Source& patch, const Source&) {
  read_new_size(patch);  // bsdiff says nothing of its source; the header must still parse
  return SourceCheck::matches;
}

// Header only: the control triples are interleaved with the data, so
// checking them costs as much as applying the patch.
PatchInfo inspect_bsdiff43(const Source& patch) {
  PatchInfo info;
  info.format = Format::bsdiff43;
  info.patch_size = patch.size();
  info.target_size = read_new_size(patch);
  info.details = {
      {"compression", "bzip2 (1 stream)"},
      {"stream", std::to_string(patch.size() - kHeaderSize) + " bytes"},
      {"integrity", "bzip2 CRCs only (verified when applied)"},
  };
  return info;
}

}  // namespace bpatch::formats

// BSDIFF40 — Colin Percival's bsdiff 4.x patch format, as Debian's `bsdiff`
// writes it.
//
//   patch   := header ctrl_block diff_block extra_block
//   header  := "BSDIFF40" ctrl_len:offtin diff_len:offtin new_size:offtin   (32 bytes)
//   ctrl_block  := bzip2 stream of ctrl_len bytes, decoding to triple*
//   diff_block  := bzip2 stream of diff_len bytes, decoding to the diff bytes
//   extra_block := bzip2 stream running to the end of the patch, decoding to
//                  the extra bytes
//
// offtin and triple are described in bsdiff_apply.hpp, with what a triple
// does. bsdiff has no checksum: the three streams' bzip2 CRCs are its only
// integrity check, so all three are decoded to their end markers, no byte
// may follow a stream inside its block, and no decoded byte may be left
// unused once the new file is complete (Debian's bspatch checks none of
// this and turns a patch with one flipped bit into a wrong file). The one
// exception: a single all-zero triple may end the control stream, as
// HDiffPatch's `hdiffz -BSD` writes for an empty new file.
//
// The control stream is decoded inline; the diff and extra streams, when
// large, on two worker threads (see bsdiff_stream.hpp).
#include <array>
#include <cstring>
#include <mutex>

#include "bpatch/error.hpp"
#include "formats/bsdiff_apply.hpp"
#include "formats/decoders.hpp"

namespace bpatch::formats {
namespace {

struct Header40 {
  uint64_t ctrl_begin = 32;
  uint64_t diff_begin = 0;
  uint64_t extra_begin = 0;
  uint64_t end = 0;
  uint64_t new_size = 0;
};

Header40 read_header(const Source& patch) {
  if (patch.size() < 32)
    throw Error(Errc::bad_patch, patch.name(),
                "BSDIFF40 header is truncated: " + std::to_string(patch.size()) + " of 32 bytes");
  std::array<std::byte, 32> raw{};
  patch.read(0, raw);
  if (std::memcmp(raw.data(), "BSDIFF40", 8) != 0)
    throw Error(Errc::bad_patch, patch.name(), "not a BSDIFF40 patch (bad magic)");
  const std::span<const std::byte, 32> all(raw);
  const int64_t ctrl_len = offtin(all.subspan<8, 8>());
  const int64_t diff_len = offtin(all.subspan<16, 8>());
  const int64_t new_size = offtin(all.subspan<24, 8>());
  auto fail = [&](const std::string& what) {
    throw Error(Errc::bad_patch, patch.name(), "BSDIFF40 header: " + what);
  };
  if (ctrl_len < 0) fail("negative control block length " + std::to_string(ctrl_len));
  if (diff_len < 0) fail("negative diff block length " + std::to_string(diff_len));
  if (new_size < 0) fail("negative new file size " + std::to_string(new_size));
  Header40 h;
  h.end = patch.size();
  const uint64_t room = h.end - h.ctrl_begin;
  if (static_cast<uint64_t>(ctrl_len) > room)
    fail("control block length " + std::to_string(ctrl_len) + " runs past the end of the patch (" +
         std::to_string(room) + " bytes follow the header)");
  if (static_cast<uint64_t>(diff_len) > room - static_cast<uint64_t>(ctrl_len))
    fail("diff block length " + std::to_string(diff_len) + " runs past the end of the patch (" +
         std::to_string(room - static_cast<uint64_t>(ctrl_len)) +
         " bytes follow the control block)");
  h.diff_begin = h.ctrl_begin + static_cast<uint64_t>(ctrl_len);
  h.extra_begin = h.diff_begin + static_cast<uint64_t>(diff_len);
  h.new_size = static_cast<uint64_t>(new_size);
  return h;
}

std::unique_ptr<DecodedStream> open_ctrl(const Source& patch, const Header40& h, std::mutex& lock) {
  return open_decoded_stream(patch, h.ctrl_begin, h.diff_begin, "control stream", lock, false);
}

}  // namespace

void apply_bsdiff40_with(const Source& patch, const Source& old, Sink& out,
                         const BsdiffOptions& options) {
  const Header40 h = read_header(patch);
  std::mutex patch_lock;  // the streams below read the patch from several threads
  auto ctrl = open_ctrl(patch, h, patch_lock);
  auto diff = open_decoded_stream(patch, h.diff_begin, h.extra_begin, "diff stream", patch_lock,
                                  h.extra_begin - h.diff_begin >= options.background_threshold);
  auto extra = open_decoded_stream(patch, h.extra_begin, h.end, "extra stream", patch_lock,
                                   h.end - h.extra_begin >= options.background_threshold);
  TripleApplier applier(old, out, h.new_size, patch.name());
  ControlTriple triple;
  uint64_t index = 0;
  while (!applier.complete()) {
    if (!read_triple(*ctrl, index, patch.name(), triple))
      throw Error(Errc::bad_patch, patch.name(),
                  "the control stream ends after " + std::to_string(index) +
                      " triples, at new offset " + std::to_string(applier.new_pos()) + " of " +
                      std::to_string(h.new_size));
    applier.apply(triple, index++, *diff, *extra);
  }
  applier.flush();
  const std::string context =
      "after the " + std::to_string(h.new_size) + "-byte new file was complete";
  expect_control_end(*ctrl, patch.name(), context);
  diff->expect_end(patch.name(), context);
  extra->expect_end(patch.name(), context);
}

void apply_bsdiff40(const Source& patch, const Source& old, Sink& out) {
  apply_bsdiff40_with(patch, old, out, BsdiffOptions{});
}

SourceCheck check_source_bsdiff40(const Source& patch, const Source&) {
  read_header(patch);  // bsdiff says nothing of its source; the header must still parse
  return SourceCheck::matches;
}

// Reads the header and the whole control stream (small: 24 bytes per triple),
// checking every triple's lengths; the diff and extra streams are verified
// when the patch is applied.
PatchInfo inspect_bsdiff40(const Source& patch) {
  const Header40 h = read_header(patch);
  std::mutex patch_lock;
  auto ctrl = open_ctrl(patch, h, patch_lock);
  uint64_t new_pos = 0, index = 0, diff_bytes = 0, extra_bytes = 0;
  ControlTriple t;
  while (new_pos < h.new_size) {
    if (!read_triple(*ctrl, index, patch.name(), t))
      throw Error(Errc::bad_patch, patch.name(),
                  "the control stream ends after " + std::to_string(index) +
                      " triples, at new offset " + std::to_string(new_pos) + " of " +
                      std::to_string(h.new_size));
    check_triple_lengths(t, index++, new_pos, h.new_size, patch.name());
    diff_bytes += static_cast<uint64_t>(t.add);
    extra_bytes += static_cast<uint64_t>(t.copy);
    new_pos += static_cast<uint64_t>(t.add) + static_cast<uint64_t>(t.copy);
  }
  expect_control_end(*ctrl, patch.name(), "after the new file was complete");

  PatchInfo info;
  info.format = Format::bsdiff40;
  info.patch_size = patch.size();
  info.target_size = h.new_size;
  info.details = {
      {"compression", "bzip2 (3 streams)"},
      {"control block", std::to_string(h.diff_begin - h.ctrl_begin) + " bytes"},
      {"diff block", std::to_string(h.extra_begin - h.diff_begin) + " bytes"},
      {"extra block", std::to_string(h.end - h.extra_begin) + " bytes"},
      {"control triples", std::to_string(index)},
      {"diff bytes", std::to_string(diff_bytes)},
      {"extra bytes", std::to_string(extra_bytes)},
      {"integrity", "bzip2 CRCs only (control stream verified; diff and extra when applied)"},
  };
  return info;
}

}  // namespace bpatch::formats

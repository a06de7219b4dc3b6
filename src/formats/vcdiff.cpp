// VCDIFF (RFC 3284) patches as xdelta3 3.0.x and open-vcdiff write them: the
// format entry points. The layout is described in vcdiff_format.hpp; decoding lives in
// vcdiff_decoder.cpp.
#include <algorithm>

#include "bpatch/error.hpp"
#include "formats/decoders.hpp"
#include "formats/vcdiff_app_header.hpp"
#include "formats/vcdiff_decoder.hpp"
#include "formats/vcdiff_format.hpp"
#include "formats/vcdiff_header.hpp"
#include "formats/vcdiff_secondary.hpp"

namespace bpatch::formats {
namespace {

// What a walk over the window headers (sections skipped) tells.
struct WindowSummary {
  uint64_t windows = 0;
  uint64_t target_size = 0;
  uint64_t adler32_windows = 0;
  uint64_t target_segments = 0;
  uint64_t interleaved_windows = 0;
  uint64_t source_span = 0;  // end of the furthest source segment
};

WindowSummary walk_windows(ByteReader& in, const vcdiff::FileHeader& header) {
  WindowSummary s;
  while (in.remaining() > 0) {
    const vcdiff::WindowHeader w = vcdiff::read_window_header(in, header, s.target_size);
    in.skip(w.data_length + w.inst_length + w.addr_length);
    ++s.windows;
    if (w.target_length > vcdiff::kMaxInt - s.target_size)
      throw Error(Errc::bad_patch, in.source().name(),
                  "at offset " + std::to_string(w.offset) + ": target size overflows");
    s.target_size += w.target_length;
    if (w.adler32) ++s.adler32_windows;
    if (w.interleaved) ++s.interleaved_windows;
    if (w.uses_target()) ++s.target_segments;
    if (w.uses_source())
      s.source_span = std::max(s.source_span, w.segment_offset + w.segment_length);
  }
  if (s.windows == 0)
    throw Error(
        Errc::bad_patch, in.source().name(),
        "at offset " + std::to_string(in.offset()) + ": the patch has no windows (truncated?)");
  return s;
}

// xdelta3 patches of decompressed .gz/.bz2/.xz files are refused before
// any output (see vcdiff_app_header.hpp).
void refuse_external_compression(const vcdiff::FileHeader& header, const Source& patch) {
  if (!header.app_header) return;
  if (auto why = vcdiff::external_compression_problem(*header.app_header))
    throw Error(Errc::unsupported, patch.name(), *why);
}

}  // namespace

PatchInfo inspect_vcdiff(const Source& patch) {
  ByteReader in(patch);
  const vcdiff::FileHeader header = vcdiff::read_file_header(in);
  if (header.has_code_table) (void)vcdiff::decode_code_table(header, patch.name());
  const WindowSummary s = walk_windows(in, header);

  PatchInfo info;
  info.format = Format::vcdiff;
  info.patch_size = patch.size();
  info.target_size = s.target_size;
  if (header.app_header) info.metadata = *header.app_header;
  if (header.version == vcdiff::kVersionOpenVcdiff) {
    std::string variant = "open-vcdiff extended";
    std::string sep = ": ";
    if (s.interleaved_windows > 0) {
      variant += sep + "interleaved";
      sep = ", ";
    }
    if (s.adler32_windows > 0) variant += sep + "checksum";
    info.details.emplace_back("variant", variant);
  } else {
    info.details.emplace_back("variant", "RFC 3284");
  }
  info.details.emplace_back("windows", std::to_string(s.windows));
  info.details.emplace_back("secondary", header.secondary_id
                                             ? *vcdiff::secondary_name(*header.secondary_id)
                                             : std::string("none"));
  info.details.emplace_back("adler32", s.adler32_windows == 0           ? "no"
                                       : s.adler32_windows == s.windows ? "yes"
                                                                        : "some windows");
  info.details.emplace_back("code table", header.has_code_table ? "custom" : "default");
  info.details.emplace_back("source bytes used", std::to_string(s.source_span));
  if (s.target_segments > 0)
    info.details.emplace_back("VCD_TARGET windows", std::to_string(s.target_segments));
  if (header.app_header && vcdiff::external_compression_problem(*header.app_header)) {
    const auto h = vcdiff::parse_xdelta3_app_header(*header.app_header);
    const char* out = vcdiff::external_compressor_name(h->comp);
    const char* src = vcdiff::external_compressor_name(h->source_comp);
    info.details.emplace_back("external compression",
                              std::string("output ") + (out ? out : "none") + ", source " +
                                  (src ? src : "none") +
                                  " (not applied by bpatch: re-create with xdelta3 -D -R)");
  }
  return info;
}

// VCDIFF carries no checksum of the source; the one thing the window
// headers can tell is whether the old file is long enough.
SourceCheck check_source_vcdiff(const Source& patch, const Source& old) {
  ByteReader in(patch);
  const vcdiff::FileHeader header = vcdiff::read_file_header(in);
  refuse_external_compression(header, patch);
  const WindowSummary s = walk_windows(in, header);
  if (s.source_span > old.size())
    throw Error(Errc::wrong_source, old.name(),
                "the patch " + patch.name() + " copies from the first " +
                    std::to_string(s.source_span) + " bytes of the old file, which has only " +
                    std::to_string(old.size()));
  return SourceCheck::matches;
}

void apply_vcdiff(const Source& patch, const Source& old, Sink& out) {
  {
    ByteReader in(patch);
    refuse_external_compression(vcdiff::read_file_header(in), patch);
  }
  vcdiff::Decoder decoder(patch, old, out);
  decoder.run();
}

}  // namespace bpatch::formats

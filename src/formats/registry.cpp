// Format detection by magic bytes and dispatch to the per-format decoders.
#include <array>
#include <cstring>

#include "bpatch/error.hpp"
#include "formats/decoders.hpp"

namespace bpatch {
namespace {

struct FormatEntry {
  Format format;
  const char* name;
  std::string_view magic;
  PatchInfo (*inspect)(const Source&);
  SourceCheck (*check_source)(const Source&, const Source&);
  void (*apply)(const Source&, const Source&, Sink&);
};

using namespace std::string_view_literals;

#define BPATCH_FORMAT(fmt, label, magic)                                            \
  FormatEntry {                                                                     \
    Format::fmt, label, magic, formats::inspect_##fmt, formats::check_source_##fmt, \
        formats::apply_##fmt                                                        \
  }

const std::array<FormatEntry, 7> kFormats = {
    BPATCH_FORMAT(bsdiff40, "bsdiff", "BSDIFF40"sv),
    BPATCH_FORMAT(bsdiff43, "endsley-bsdiff", "ENDSLEY/BSDIFF43"sv),
    BPATCH_FORMAT(vcdiff, "vcdiff", "\xD6\xC3\xC4"sv),
    BPATCH_FORMAT(ips, "ips", "PATCH"sv),
    BPATCH_FORMAT(bps, "bps", "BPS1"sv),
    BPATCH_FORMAT(ups, "ups", "UPS1"sv),
    BPATCH_FORMAT(zstd, "zstd", "\x28\xB5\x2F\xFD"sv),
};

#undef BPATCH_FORMAT

const FormatEntry& entry_for(Format format) {
  for (const auto& e : kFormats)
    if (e.format == format) return e;
  throw Error(Errc::unsupported, "", "unknown format");
}

// Formats bpatch knows by their magic bytes but does not decode.
struct ForeignFormat {
  std::string_view magic;
  const char* what;
};
const std::array<ForeignFormat, 10> kForeign = {{
    {"HDIFFSF20"sv, "an HDiffPatch patch in its own single-stream format HDIFFSF20"},
    {"HDIFF19"sv, "an HDiffPatch directory patch (format HDIFF19)"},
    {"DirDiff19"sv, "an HDiffPatch directory patch (format DirDiff19)"},
    {"HDIFF"sv, "an HDiffPatch patch in its own format"},
    {"PPF"sv, "a PlayStation Patch Format (PPF) patch"},
    {"APS1"sv, "an APS (N64 or GBA) patch"},
    {"NINJA2"sv, "a RUP (NINJA 2.0) patch"},
    {"PMSR"sv, "a Star Rod (PMSR) patch"},
    {"%XDZ"sv, "an xdelta 1.x patch"},
    {"BSDF2"sv, "a BSDF2 (Android bsdiff variant) patch"},
}};

std::string read_head(const Source& patch, size_t max) {
  std::string head(static_cast<size_t>(std::min<uint64_t>(patch.size(), max)), '\0');
  patch.read(0, std::as_writable_bytes(std::span(head.data(), head.size())));
  return head;
}

const FormatEntry& detect_or_throw(const Source& patch) {
  const auto format = detect_format(patch);
  if (format) return entry_for(*format);
  if (auto foreign = describe_foreign_format(patch))
    throw Error(Errc::unsupported, patch.name(), std::move(*foreign));
  throw Error(Errc::unsupported, patch.name(),
              "not a patch format bpatch knows (expected bsdiff, ENDSLEY/BSDIFF43, VCDIFF, IPS, "
              "BPS, UPS or zstd magic bytes)");
}

}  // namespace

const char* format_name(Format format) { return entry_for(format).name; }

std::optional<Format> detect_format(const Source& patch) {
  const std::string head = read_head(patch, 16);
  for (const auto& e : kFormats)
    if (std::string_view(head).starts_with(e.magic)) return e.format;
  return std::nullopt;
}

std::optional<std::string> describe_foreign_format(const Source& patch) {
  const std::string head = read_head(patch, 16);
  for (const auto& f : kForeign) {
    if (!std::string_view(head).starts_with(f.magic)) continue;
    std::string what = f.what;
    if (f.magic == "HDIFF"sv) {
      // "HDIFF13&zstd\0…": the version, then the compressor's name.
      const size_t end = head.find_first_of("&"sv);
      if (end != std::string::npos) what.append(" ").append(head, 0, end);
    }
    what += ", which bpatch does not apply";
    if (f.magic.starts_with("HDIFF"sv) || f.magic.starts_with("DirDiff"sv))
      what += ": make the patch with hdiffz -BSD (bsdiff) or hdiffz -VCD (VCDIFF) instead";
    return what;
  }
  return std::nullopt;
}

PatchInfo inspect_patch(const Source& patch) { return detect_or_throw(patch).inspect(patch); }

SourceCheck check_source(const Source& patch, const Source& old) {
  return detect_or_throw(patch).check_source(patch, old);
}

void apply_patch(const Source& patch, const Source& old, Sink& out) {
  detect_or_throw(patch).apply(patch, old, out);
}

}  // namespace bpatch

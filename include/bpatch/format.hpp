// Delta patch formats: detection by magic bytes, inspection, and decoding.
//
// Each decoder streams the new file into a Sink, reading the old file and
// the patch through Sources, so memory stays bounded whatever the file sizes.
// Every length, offset and count in a patch is checked against overflow and
// the real sizes before use, and every checksum the format carries is
// verified: a patch that does not fit its source is an Error, never a
// silently wrong output. The library decodes into a shadow file; a failure
// anywhere aborts the transaction before commit.
//
// All functions are reentrant; nothing is shared between calls.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bpatch/io.hpp"

namespace bpatch {

enum class Format {
  bsdiff40,  // "BSDIFF40": header + three bzip2 streams (Colin Percival's bsdiff 4.x)
  bsdiff43,  // "ENDSLEY/BSDIFF43": one bzip2 stream (Matthew Endsley's bsdiff)
  vcdiff,    // 0xD6 0xC3 0xC4: RFC 3284, as xdelta3 writes it
  ips,       // "PATCH" … "EOF" [+ 3-byte truncate size]
  bps,       // "BPS1": beat patch
  ups,       // "UPS1": universal patching system
  zstd,      // 28 B5 2F FD: one zstd frame made with --patch-from (the old file as its prefix)
};

// "bsdiff", "endsley-bsdiff", "vcdiff", "ips", "bps", "ups", "zstd".
const char* format_name(Format format);

// Looks at the first bytes of `patch`; nullopt when no format matches.
std::optional<Format> detect_format(const Source& patch);

// For a patch in a format bpatch recognises but does not apply (HDiffPatch's
// own HDIFF formats, PPF, APS, xdelta 1, …): what it is and how to get one
// bpatch applies, e.g. "an HDiffPatch patch in its own format HDIFF13 …".
// nullopt for anything else.
std::optional<std::string> describe_foreign_format(const Source& patch);

// What a patch says about itself. Fields a format does not carry are empty.
struct PatchInfo {
  Format format = Format::bsdiff40;
  uint64_t patch_size = 0;
  std::optional<uint64_t> source_size;
  std::optional<uint64_t> target_size;
  std::optional<uint32_t> source_crc32;
  std::optional<uint32_t> target_crc32;
  std::optional<uint32_t> patch_crc32;
  std::string metadata;  // BPS metadata, VCDIFF application header
  // Anything else worth showing, in order: ("windows", "3"), ("secondary", "lzma"), …
  std::vector<std::pair<std::string, std::string>> details;
};

// Parses the header (and, where cheap, the whole patch) and verifies the
// patch's own checksum. Throws Error(unsupported) for an unknown format and
// Error(bad_patch / checksum) for a damaged patch.
PatchInfo inspect_patch(const Source& patch);

enum class SourceCheck {
  matches,          // the source is what the patch expects, or the format cannot tell
  already_applied,  // the source is already the patch's target (BPS/UPS sizes+CRCs, …)
};

// Before any output: does `old` fit `patch`? Throws Error(wrong_source) with
// what was expected when the format can tell that it does not. For UPS, a
// source that matches the *target* side is not "already applied" but an
// input for reverse application, and returns matches.
SourceCheck check_source(const Source& patch, const Source& old);

// Decodes `patch` against `old` into `out`, verifying every checksum. Throws
// Error(bad_patch / checksum / wrong_source / unsupported) on any problem;
// whatever was written to `out` must then be discarded.
void apply_patch(const Source& patch, const Source& old, Sink& out);

}  // namespace bpatch

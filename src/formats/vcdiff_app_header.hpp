// xdelta3's VCDIFF application header, and the patches bpatch refuses
// because of it.
//
// xdelta3 (its main program) writes the header as
//   app_header := name "/" comp                      without a source
//              |  name "/" comp "/" srcname "/" srccomp
// where name/srcname are the output and source file names (last path
// component) and comp/srccomp the one-letter ident of the external
// program it ran: "B" bzip2, "G" gzip, "Z" compress, "Y" xz, "" none.
// By default xdelta3 decompresses .gz/.bz2/.xz/.Z inputs before diffing, so
// such a patch holds the delta of the *decompressed* files: `xdelta3 -d`
// decompresses the source, applies, then recompresses the output with the
// same program. bpatch runs no external program, and recompressing rarely
// reproduces the original bytes, so it refuses these patches (before any
// output) and tells to re-create them with `xdelta3 -D -R`, which diffs
// the files as they are and records empty idents.
//
// Anything that does not parse this way (another encoder's header) is
// left alone.
#pragma once

#include <optional>
#include <string>

namespace bpatch::vcdiff {

struct Xdelta3AppHeader {
  std::string name, comp;                // output file and its compressor ident
  std::string source_name, source_comp;  // empty without a source part
};

// Parses as xdelta3 would (split at the first three '/'); nullopt unless
// there are 2 or 4 fields.
std::optional<Xdelta3AppHeader> parse_xdelta3_app_header(const std::string& header);

// The program an ident names ("gzip" for "G", …); nullptr when unknown.
const char* external_compressor_name(const std::string& ident);

// Why a patch with this application header must not be applied by bpatch,
// or nullopt when it may: a known compressor ident on either side.
std::optional<std::string> external_compression_problem(const std::string& app_header);

}  // namespace bpatch::vcdiff

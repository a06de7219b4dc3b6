// The text form shared by every checksummed record of the journal (intent,
// manifest: records.hpp; release: src/release/release_record.hpp):
//
//   record := body "checksum " HEX32 "\n"
//
// where HEX32 is the XXH3-128 of every byte of body, so a torn or damaged
// record is recognised and never trusted; and the %XX escape of the values
// (paths, link texts) written into body's lines.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace bpatch::journal {

// A path (or a symlink's text): bytes <= 0x20, '%' and 0x7f written as %XX
// (uppercase hex), so that it holds no space or newline and is one field of
// one line.
std::string escape_path(std::string_view value);
// The inverse of escape_path (either case of hex accepted); nullopt for a
// '%' not followed by two hex digits.
std::optional<std::string> unescape_path(std::string_view field);

// body followed by its checksum line.
std::string seal(std::string body);
// The body of a sealed record (everything before the checksum line), after
// checking that the record ends with a newline and that its last line is the
// checksum of the body in canonical lowercase hex, compared as text so that
// no damaged byte of the checksum line itself can pass. Throws
// Error(journal, name, cause) for a torn or damaged record.
std::string_view unseal(std::string_view bytes, const std::string& name);

}  // namespace bpatch::journal

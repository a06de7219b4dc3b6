// The values of `.bpatch` script arguments (docs/bpatch.1, SCRIPT FORMAT):
//
//   number = decimal / ("0x" / "0X") 1*hexdigit     ; fits in 64 bits
//   byte   = number                                 ; 0..255
//   mode   = 1*octdigit                             ; 0..07777, read as octal
//   hash   = "xxh3:" 32hexdigit
//   data   = "hex:" 1*(2hexdigit) / "file:" path    ; path relative to the script
//   path   = segment *("/" segment)                 ; relative; "." and ".." resolved
//   link   = 1*4095byte                             ; a symlink's text, stored as given
//
// Each parser throws Error(script_syntax, script path, "line N: …") through
// the LineContext, naming the token and what it should have been.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "bpatch/hash.hpp"
#include "edit/edit_list.hpp"
#include "script/script_lexer.hpp"

namespace bpatch::script {

// `text` in backquotes for a message, shortened when long.
std::string quoted(std::string_view text);

// `what` names the argument in messages ("offset", "length", …).
uint64_t parse_number(std::string_view text, const char* what, const LineContext& ctx);
std::byte parse_byte(std::string_view text, const LineContext& ctx);
uint32_t parse_mode(std::string_view text, const LineContext& ctx);
Hash128 parse_hash(std::string_view text, const LineContext& ctx);

// What a path is relative to, for messages.
enum class PathBase { root, script_dir };

// Normalizes a relative path lexically ("a/./b/../c" -> "a/c"). Rejects an
// empty or absolute path, one that climbs out of its base with "..", and one
// that names the base itself. `what` names the path in messages.
std::string confine_path(std::string_view text, const char* what, PathBase base,
                         const LineContext& ctx);

// A symlink's text: any bytes the lexer accepts (quote one with `=` or a
// space), not empty, at most PATH_MAX - 1 bytes. Never resolved: where it
// points is the tree's business, and bpatch never follows it.
std::string parse_link_text(const Token& token, const LineContext& ctx);

// `dir` + "/" + `path`, or `path` when dir is empty.
std::string join_path(const std::string& dir, const std::string& path);

// `hex:` (empty only when allow_empty) or `file:` (confined, then joined to
// script_dir).
Data parse_data(std::string_view text, const std::string& script_dir, bool allow_empty,
                const LineContext& ctx);

}  // namespace bpatch::script

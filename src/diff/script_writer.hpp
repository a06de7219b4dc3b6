// The text of a bundle's update.bpatch: statements in the grammar of SPEC §4
// (src/script/script_parser.cpp), with paths quoted where the lexer needs it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "bpatch/hash.hpp"

namespace bpatch::diff {

// A path as one script token: bare when it can be, else in double quotes
// with '"' and '\' escaped. Throws Error(unsupported, path) for a name no
// script can hold (control characters, invalid UTF-8).
std::string script_token(const std::string& path);

// Appends one statement line (and, for an edit, its op line) to `script`.
class ScriptWriter {
 public:
  explicit ScriptWriter(std::string header_comment);
  ScriptWriter() = default;  // statements only, no header

  // delta TARGET PATCH [expect=] result= patch= [mode=] (mode: nullopt keeps
  // the target's, which saves a token on every unchanged mode). In delta and
  // put, `absent` (with no expect) writes expect=none: the target must not
  // exist (a new file), unless it already has the result.
  void delta(const std::string& target, const std::string& patch,
             const std::optional<Hash128>& expect, const Hash128& result, const Hash128& patch_hash,
             std::optional<uint32_t> mode, bool absent = false,
             std::optional<std::pair<uint64_t, uint64_t>> slice = std::nullopt);
  // put TARGET file:DATA [expect=] result= [mode=]
  void put(const std::string& target, const std::string& data, const std::optional<Hash128>& expect,
           const Hash128& result, std::optional<uint32_t> mode, bool absent = false);
  // edit TARGET expect=H result=H mode= / truncate SIZE: new permission bits
  // on unchanged bytes that also checks the bytes (chmod does not).
  void mode_only(const std::string& target, const Hash128& hash, uint64_t size, uint32_t mode);
  // remove TARGET expect=
  void remove(const std::string& target, const Hash128& expect);
  // A line made by the caller (symlink, mkdir, rmdir, a statement already
  // made by another ScriptWriter).
  void raw_line(const std::string& line);
  void comment(const std::string& text);

  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

std::string mode_token(uint32_t mode);  // "0755"

}  // namespace bpatch::diff

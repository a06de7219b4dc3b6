// ScriptWriter: see script_writer.hpp.
#include "diff/script_writer.hpp"

#include <cstdio>

#include "bpatch/error.hpp"

namespace bpatch::diff {
namespace {

// True for well-formed UTF-8 without control characters: what the script
// lexer accepts (src/script/script_lexer.cpp).
bool is_script_text(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) return false;
    size_t n = c < 0x80                 ? 1
               : c >= 0xC2 && c <= 0xDF ? 2
               : c >= 0xE0 && c <= 0xEF ? 3
               : c >= 0xF0 && c <= 0xF4 ? 4
                                        : 0;
    if (n == 0 || s.size() - i < n) return false;
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return false;
    if (cp >= 0xD800 && cp <= 0xDFFF) return false;
    i += n;
  }
  return true;
}

std::string hash_token(const char* key, const Hash128& h) {
  return std::string(" ") + key + "=xxh3:" + h.hex();
}

}  // namespace

std::string script_token(const std::string& path) {
  if (!is_script_text(path))
    throw Error(Errc::unsupported, path,
                "the name has control characters or is not UTF-8; a .bpatch script cannot name it");
  // '=' would make the token an option, '#' a comment, blanks split it.
  if (path.find_first_of(" \t\"#=\\") == std::string::npos) return path;
  std::string out = "\"";
  for (char c : path) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string mode_token(uint32_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
  return buf;
}

ScriptWriter::ScriptWriter(std::string header_comment) : text_("bpatch 1\n") {
  comment(header_comment);
}

void ScriptWriter::comment(const std::string& text) {
  size_t start = 0;
  while (start <= text.size()) {
    const size_t nl = text.find('\n', start);
    const std::string line = text.substr(start, nl == std::string::npos ? nl : nl - start);
    text_ += line.empty() ? "#\n" : "# " + line + "\n";
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
}

void ScriptWriter::delta(const std::string& target, const std::string& patch,
                         const std::optional<Hash128>& expect, const Hash128& result,
                         const Hash128& patch_hash, std::optional<uint32_t> mode, bool absent,
                         std::optional<std::pair<uint64_t, uint64_t>> slice) {
  text_ += "delta " + script_token(target) + " " + script_token(patch);
  if (expect) text_ += hash_token("expect", *expect);
  if (!expect && absent) text_ += " expect=none";
  text_ += hash_token("result", result) + hash_token("patch", patch_hash);
  if (slice)
    text_ += " slice=" + std::to_string(slice->first) + "+" + std::to_string(slice->second);
  text_ += (mode ? " mode=" + mode_token(*mode) : "") + "\n";
}

void ScriptWriter::put(const std::string& target, const std::string& data,
                       const std::optional<Hash128>& expect, const Hash128& result,
                       std::optional<uint32_t> mode, bool absent) {
  text_ += "put " + script_token(target) + " " + script_token("file:" + data);
  if (expect) text_ += hash_token("expect", *expect);
  if (!expect && absent) text_ += " expect=none";
  text_ += hash_token("result", result);
  text_ += (mode ? " mode=" + mode_token(*mode) : "") + "\n";
}

void ScriptWriter::mode_only(const std::string& target, const Hash128& hash, uint64_t size,
                             uint32_t mode) {
  text_ += "edit " + script_token(target) + hash_token("expect", hash) +
           hash_token("result", hash) + " mode=" + mode_token(mode) + "\n";
  text_ += "  truncate " + std::to_string(size) + "\n";
}

void ScriptWriter::remove(const std::string& target, const Hash128& expect) {
  text_ += "remove " + script_token(target) + hash_token("expect", expect) + "\n";
}

void ScriptWriter::raw_line(const std::string& line) { text_ += line + "\n"; }

}  // namespace bpatch::diff

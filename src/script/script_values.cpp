// Parsers of `.bpatch` argument values: see script_values.hpp for the grammar.
#include "script/script_values.hpp"

#include <array>
#include <cstdint>
#include <limits>
#include <vector>

namespace bpatch::script {
namespace {

// Digit values by character, -1 for a non-digit: a table, because hex: data
// can be megabytes and decoding it dominated parsing.
constexpr std::array<int8_t, 256> kHexValues = [] {
  std::array<int8_t, 256> table{};
  table.fill(-1);
  for (int c = '0'; c <= '9'; ++c) table[c] = static_cast<int8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) table[c] = static_cast<int8_t>(c - 'a' + 10);
  for (int c = 'A'; c <= 'F'; ++c) table[c] = static_cast<int8_t>(c - 'A' + 10);
  return table;
}();

int hex_value(char c) { return kHexValues[static_cast<unsigned char>(c)]; }

}  // namespace

// A token for a message, shortened when long (a hex: blob can be megabytes).
std::string quoted(std::string_view text) {
  if (text.size() > 64) {
    size_t cut = 60;  // not inside a UTF-8 sequence
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    return "`" + std::string(text.substr(0, cut)) + "...`";
  }
  return "`" + std::string(text) + "`";
}

uint64_t parse_number(std::string_view text, const char* what, const LineContext& ctx) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  const std::string bad = quoted(text) + " is not a valid " + what + " (decimal or 0x hex)";
  const std::string too_big = std::string(what) + " " + quoted(text) + " does not fit in 64 bits";
  uint64_t v = 0;
  if (text.starts_with("0x") || text.starts_with("0X")) {
    text.remove_prefix(2);
    if (text.empty()) ctx.fail(bad);
    for (char c : text) {
      const int d = hex_value(c);
      if (d < 0) ctx.fail(bad);
      if (v > (kMax >> 4)) ctx.fail(too_big);
      v = (v << 4) | static_cast<uint64_t>(d);
    }
    return v;
  }
  if (text.empty()) ctx.fail(bad);
  for (char c : text) {
    if (c < '0' || c > '9') ctx.fail(bad);
    const auto d = static_cast<uint64_t>(c - '0');
    if (v > (kMax - d) / 10) ctx.fail(too_big);
    v = v * 10 + d;
  }
  return v;
}

std::byte parse_byte(std::string_view text, const LineContext& ctx) {
  const uint64_t v = parse_number(text, "byte value", ctx);
  if (v > 255) ctx.fail("byte value " + quoted(text) + " is not in 0..255");
  return static_cast<std::byte>(v);
}

uint32_t parse_mode(std::string_view text, const LineContext& ctx) {
  const std::string bad = "mode " + quoted(text) + " is not an octal permission 0..07777";
  if (text.empty() || text.size() > 5) ctx.fail(bad);
  uint32_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '7') ctx.fail(bad);
    v = v * 8 + static_cast<uint32_t>(c - '0');
  }
  if (v > 07777) ctx.fail(bad);
  return v;
}

Hash128 parse_hash(std::string_view text, const LineContext& ctx) {
  if (text.starts_with("xxh3:"))
    if (auto hash = Hash128::from_hex(text.substr(5))) return *hash;
  ctx.fail("malformed hash " + quoted(text) + " (expected xxh3:<32 hex digits>)");
}

std::string confine_path(std::string_view text, const char* what, PathBase base,
                         const LineContext& ctx) {
  const std::string base_name = base == PathBase::root ? "the root" : "the script's directory";
  if (text.empty()) ctx.fail(std::string(what) + " path is empty");
  if (text.front() == '/')
    ctx.fail(std::string(what) + " path " + quoted(text) + " is absolute (paths are relative to " +
             base_name + ")");
  std::vector<std::string_view> parts;
  for (std::string_view rest = text; !rest.empty();) {
    const size_t slash = rest.find('/');
    const std::string_view part = rest.substr(0, slash);
    rest.remove_prefix(slash == std::string_view::npos ? rest.size() : slash + 1);
    if (part.empty() || part == ".") continue;
    if (part != "..") {
      parts.push_back(part);
    } else if (parts.empty()) {
      ctx.fail(std::string(what) + " path " + quoted(text) + " climbs out of " + base_name);
    } else {
      parts.pop_back();
    }
  }
  if (parts.empty()) ctx.fail(std::string(what) + " path " + quoted(text) + " names no file");
  std::string out;
  for (std::string_view part : parts) {
    if (!out.empty()) out += '/';
    out += part;
  }
  return out;
}

std::string parse_link_text(const Token& token, const LineContext& ctx) {
  constexpr size_t kMaxLinkText = 4095;  // PATH_MAX - 1: what symlink(2) accepts
  if (token.text.empty()) ctx.fail("symlink text is empty");
  if (token.text.size() > kMaxLinkText)
    ctx.fail("symlink text is " + std::to_string(token.text.size()) + " bytes (at most " +
             std::to_string(kMaxLinkText) + ")");
  return token.text;
}

std::string join_path(const std::string& dir, const std::string& path) {
  if (dir.empty()) return path;
  return dir.back() == '/' ? dir + path : dir + "/" + path;
}

Data parse_data(std::string_view text, const std::string& script_dir, bool allow_empty,
                const LineContext& ctx) {
  Data data;
  if (text.starts_with("file:")) {
    data.file =
        join_path(script_dir, confine_path(text.substr(5), "file:", PathBase::script_dir, ctx));
    return data;
  }
  if (!text.starts_with("hex:"))
    ctx.fail("data " + quoted(text) + " is neither hex:<digits> nor file:<path>");
  const std::string_view digits = text.substr(4);
  if (digits.empty() && !allow_empty) ctx.fail("hex: data is empty (nothing to write)");
  if (digits.size() % 2 != 0)
    ctx.fail("hex: data has an odd number of digits (" + std::to_string(digits.size()) + ")");
  data.bytes.resize(digits.size() / 2);
  for (size_t i = 0; i < digits.size(); i += 2) {
    const int hi = hex_value(digits[i]), lo = hex_value(digits[i + 1]);
    if ((hi | lo) < 0)
      ctx.fail("hex: data has a non-hex character at digit " +
               std::to_string(hi < 0 ? i + 1 : i + 2));
    data.bytes[i / 2] = static_cast<std::byte>(hi * 16 + lo);
  }
  return data;
}

}  // namespace bpatch::script

// Tokenizer of `.bpatch` scripts: see script_lexer.hpp for the grammar.
#include "script/script_lexer.hpp"

#include <cstdint>

#include "bpatch/error.hpp"

namespace bpatch::script {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string hex_byte(unsigned char c) {
  static constexpr char kDigits[] = "0123456789abcdef";
  return std::string("0x") + kDigits[c >> 4] + kDigits[c & 15];
}

// Length of the UTF-8 sequence at line[pos], or 0 when it is malformed
// (truncated, overlong, a surrogate or beyond U+10FFFF).
size_t utf8_length(std::string_view line, size_t pos) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(line[i]); };
  const unsigned char c = byte(pos);
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2, cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3, cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4, cp = c & 0x07;
  } else {
    return 0;
  }
  if (line.size() - pos < n) return 0;
  for (size_t i = 1; i < n; ++i) {
    if ((byte(pos + i) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(pos + i) & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
  return n;
}

// Rejects control characters and malformed UTF-8 anywhere in the line
// (comments included: the whole script is text).
void check_text(std::string_view line, const LineContext& ctx) {
  for (size_t pos = 0; pos < line.size();) {
    const auto c = static_cast<unsigned char>(line[pos]);
    if ((c < 0x20 && c != '\t') || c == 0x7F)
      ctx.fail("control character " + hex_byte(c) + " at column " + std::to_string(pos + 1));
    const size_t n = utf8_length(line, pos);
    if (n == 0) ctx.fail("invalid UTF-8 at column " + std::to_string(pos + 1));
    pos += n;
  }
}

std::vector<Token> tokenize(std::string_view line, const LineContext& ctx) {
  std::vector<Token> tokens;
  size_t pos = 0;
  while (true) {
    while (pos < line.size() && is_space(line[pos])) ++pos;
    if (pos == line.size() || line[pos] == '#') return tokens;
    Token token;
    token.column = pos + 1;
    while (pos < line.size() && !is_space(line[pos]) && line[pos] != '#') {
      if (line[pos] != '"') {
        token.text += line[pos++];
        continue;
      }
      const size_t open = pos++;
      if (token.first_quote == std::string::npos) token.first_quote = token.text.size();
      while (true) {
        if (pos == line.size())
          ctx.fail("unterminated quote (opened at column " + std::to_string(open + 1) + ")");
        const char c = line[pos++];
        if (c == '"') break;
        if (c == '\\') {
          if (pos == line.size() || (line[pos] != '"' && line[pos] != '\\'))
            ctx.fail("unknown escape at column " + std::to_string(pos) +
                     " (inside quotes only \\\" and \\\\ are escapes)");
          token.text += line[pos++];
        } else {
          token.text += c;
        }
      }
    }
    tokens.push_back(std::move(token));
  }
}

}  // namespace

void LineContext::fail(const std::string& cause) const {
  throw Error(Errc::script_syntax, script_path, "line " + std::to_string(line) + ": " + cause);
}

bool Token::is_option() const {
  const size_t eq = text.find('=');
  return eq != std::string::npos && eq > 0 && eq < first_quote;
}

std::string_view Token::key() const {
  if (!is_option()) return {};
  return std::string_view(text).substr(0, text.find('='));
}

std::string_view Token::value() const {
  if (!is_option()) return {};
  return std::string_view(text).substr(text.find('=') + 1);
}

std::string_view strip_bom(std::string_view text) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  return text;
}

LineReader::LineReader(std::string_view text, const std::string& script_path)
    : rest_(strip_bom(text)), script_path_(script_path) {}

bool LineReader::next(Line& line) {
  while (!rest_.empty()) {
    ++number_;
    const size_t nl = rest_.find('\n');
    std::string_view raw = rest_.substr(0, nl);
    rest_.remove_prefix(nl == std::string_view::npos ? rest_.size() : nl + 1);
    if (raw.ends_with('\r')) raw.remove_suffix(1);
    const LineContext ctx{script_path_, number_};
    check_text(raw, ctx);
    line.number = number_;
    line.indented = !raw.empty() && is_space(raw.front());
    line.tokens = tokenize(raw, ctx);
    if (!line.tokens.empty()) return true;
  }
  return false;
}

}  // namespace bpatch::script

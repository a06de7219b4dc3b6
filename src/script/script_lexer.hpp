// Lines and tokens of a `.bpatch` script (docs/bpatch.1, SCRIPT FORMAT), before any meaning.
//
// A script is UTF-8 text split at '\n' (a '\r' before it is dropped, a UTF-8
// byte order mark at the start is skipped). On each line:
//
//   line    = [indent] [token {ws token}] [ws] ["#" comment]
//   indent  = 1*(" " / "\t")          ; marks an op of the `edit` above
//   token   = 1*(plain / quoted)      ; adjacent parts join: file:"a b.bin"
//   plain   = any char but ws, '"', '#'
//   quoted  = '"' *(char but '"' and '\' / '\"' / '\\') '"'
//
// `#` outside quotes starts a comment, even inside a token. Control
// characters other than tab, NUL and invalid UTF-8 are errors.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bpatch::script {

// Where a line is, for error messages: Error(script_syntax, path, "line N: …").
struct LineContext {
  const std::string& script_path;
  size_t line;
  [[noreturn]] void fail(const std::string& cause) const;
};

struct Token {
  std::string text;                        // with quotes and escapes resolved
  size_t first_quote = std::string::npos;  // where the first quoted part starts in text
  size_t column = 0;                       // 1-based byte column of the token

  // `key=value` with the '=' outside quotes.
  bool is_option() const;
  std::string_view key() const;    // before the '='; empty unless is_option()
  std::string_view value() const;  // after the '='
};

struct Line {
  size_t number = 0;  // 1-based
  bool indented = false;
  std::vector<Token> tokens;  // empty for blank and comment lines
};

// Reads a script line by line, skipping blank and comment lines. next()
// throws Error(script_syntax, script_path, "line N: …") on an unterminated
// quote, an unknown escape, a control character or invalid UTF-8. Neither
// the text nor the path is copied: both must outlive the reader.
class LineReader {
 public:
  LineReader(std::string_view text, const std::string& script_path);
  // The next line with tokens; false at the end of the text.
  bool next(Line& line);

 private:
  std::string_view rest_;
  const std::string& script_path_;
  size_t number_ = 0;
};

// The text of a line-oriented file without a leading UTF-8 byte order mark.
std::string_view strip_bom(std::string_view text);

}  // namespace bpatch::script

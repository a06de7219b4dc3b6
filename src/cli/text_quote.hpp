// Control characters in text output, quoted as `ls -b` does: a file name
// holding a newline, an escape sequence or a backspace must not forge lines
// or repaint the terminal. \n \t \r \\ become themselves backslashed; other
// control bytes and DEL become \ooo (octal). Printable bytes, and bytes of
// 0x80 and above (UTF-8 names), are copied. (JSON output escapes on its own.)
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace bpatch::cli {

inline std::string quote_controls(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\%03o", static_cast<unsigned>(u));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

}  // namespace bpatch::cli

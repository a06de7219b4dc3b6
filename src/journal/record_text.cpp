// The sealed, %XX-escaped text of the journal's records (record_text.hpp).
#include "journal/record_text.hpp"

#include <span>

#include "bpatch/error.hpp"
#include "bpatch/hash.hpp"

namespace bpatch::journal {
namespace {

constexpr std::string_view kChecksumPrefix = "checksum ";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string checksum_of(std::string_view body) {
  return hash_bytes(std::as_bytes(std::span(body.data(), body.size()))).hex();
}

}  // namespace

std::string escape_path(std::string_view value) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : value) {
    const auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b == '%' || b == 0x7f) {
      out += '%';
      out += kHex[b >> 4];
      out += kHex[b & 15];
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<std::string> unescape_path(std::string_view field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] != '%') {
      out += field[i];
      continue;
    }
    if (i + 2 >= field.size()) return std::nullopt;
    const int hi = hex_value(field[i + 1]), lo = hex_value(field[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::string seal(std::string body) {
  const std::string sum = checksum_of(body);
  body += kChecksumPrefix;
  body += sum;
  body += '\n';
  return body;
}

std::string_view unseal(std::string_view bytes, const std::string& name) {
  auto fail = [&](const char* why) { throw Error(Errc::journal, name, why); };
  // The checksum line is the last line; everything before it is covered.
  if (bytes.empty() || bytes.back() != '\n') fail("torn record (no final newline)");
  const size_t last = bytes.rfind('\n', bytes.size() - 2);
  const size_t sum_start = last == std::string_view::npos ? 0 : last + 1;
  const std::string_view sum_line = bytes.substr(sum_start, bytes.size() - 1 - sum_start);
  if (!sum_line.starts_with(kChecksumPrefix)) fail("torn record (no checksum line)");
  const std::string_view body = bytes.substr(0, sum_start);
  if (sum_line.substr(kChecksumPrefix.size()) != checksum_of(body))
    fail("checksum mismatch (torn or damaged record)");
  return body;
}

}  // namespace bpatch::journal

// Base64, little-endian fields and line splitting for the minisign formats.
#include "sign/encoding.hpp"

#include <sodium.h>

#include "bpatch/error.hpp"

namespace bpatch::sign {

void ensure_sodium() {
  // sodium_init() is thread-safe and idempotent; it fails only when the
  // system cannot provide randomness.
  static const int status = sodium_init();
  if (status < 0) throw Error(Errc::io, "", "libsodium could not be initialised");
}

std::string to_base64(std::span<const unsigned char> bytes) {
  const size_t max = sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  std::string out(max, '\0');
  sodium_bin2base64(out.data(), max, bytes.data(), bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(max - 1);  // the encoded length counts the terminating NUL
  return out;
}

void from_base64(std::string_view text, std::span<unsigned char> out, const std::string& origin,
                 int line, const char* what) {
  const std::string where = "line " + std::to_string(line) + ": ";
  // A correct encoding of out.size() bytes has exactly this many characters;
  // checking first keeps the decoder from reading a huge line.
  const size_t expected = sodium_base64_encoded_len(out.size(), sodium_base64_VARIANT_ORIGINAL) - 1;
  size_t decoded = 0;
  const char* end = nullptr;
  if (text.size() == expected &&
      sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &decoded, &end,
                        sodium_base64_VARIANT_ORIGINAL) == 0 &&
      end == text.data() + text.size() && decoded == out.size()) {
    return;
  }
  if (text.empty()) throw Error(Errc::bad_signature, origin, where + what + " is an empty line");
  // Say which: not base64 at all, or base64 of the wrong length.
  std::vector<unsigned char> scratch(text.size());
  if (sodium_base642bin(scratch.data(), scratch.size(), text.data(), text.size(), nullptr, &decoded,
                        &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    throw Error(Errc::bad_signature, origin, where + what + " is not valid base64");
  }
  throw Error(Errc::bad_signature, origin,
              where + what + " decodes to " + std::to_string(decoded) + " bytes, not " +
                  std::to_string(out.size()) + " (truncated or not a minisign " + what + ")");
}

uint64_t load_le64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void store_le64(unsigned char* p, uint64_t value) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<unsigned char>(value >> (8 * i));
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return lines;
}

}  // namespace bpatch::sign

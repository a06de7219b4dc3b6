// Shared pieces of the minisign formats (see include/bpatch/trust.hpp for
// the layouts): libsodium's one-time initialisation, base64, little-endian
// 64-bit fields and the line structure of the text files.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bpatch::sign {

inline constexpr std::string_view kUntrustedPrefix = "untrusted comment: ";
inline constexpr std::string_view kTrustedPrefix = "trusted comment: ";
inline constexpr std::string_view kAlgLegacy = "Ed";
inline constexpr std::string_view kAlgPrehashed = "ED";
inline constexpr std::string_view kKdfScrypt = "Sc";
inline constexpr std::string_view kKdfNone{"\0\0", 2};
inline constexpr std::string_view kChecksumBlake2b = "B2";

// sodium_init(), once per process; throws if libsodium cannot start.
void ensure_sodium();

// Standard base64 with padding, as minisign writes it.
std::string to_base64(std::span<const unsigned char> bytes);
// Decodes exactly `out.size()` bytes from `text`; throws
// Error(bad_signature, origin, "line N: <what> …") when `text` is not
// base64 or decodes to another length.
void from_base64(std::string_view text, std::span<unsigned char> out, const std::string& origin,
                 int line, const char* what);

uint64_t load_le64(const unsigned char* p);
void store_le64(unsigned char* p, uint64_t value);

// The text split at '\n', each line without a trailing '\r' (minisign
// reads its files with fgets and strips both). A final line without '\n'
// counts; the empty string after a final '\n' does not.
std::vector<std::string_view> split_lines(std::string_view text);

// The bytes as a string_view / span without copies.
inline std::span<const unsigned char> as_bytes(std::string_view s) {
  return {reinterpret_cast<const unsigned char*>(s.data()), s.size()};
}

}  // namespace bpatch::sign

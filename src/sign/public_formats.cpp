// Parsing and writing minisign public keys and signature files (layouts in
// include/bpatch/trust.hpp). Checked the way minisign's sig_load and
// pubkey_load check them, each failure naming the line and the cause.
#include <cstdio>
#include <cstring>

#include "bpatch/error.hpp"
#include "bpatch/trust.hpp"
#include "sign/encoding.hpp"

namespace bpatch {
namespace {

using sign::as_bytes;

constexpr size_t kPublicKeyBytes = 2 + 8 + 32;
constexpr size_t kSignatureBytes = 2 + 8 + 64;

[[noreturn]] void fail(const std::string& origin, int line, const std::string& why) {
  throw Error(Errc::bad_signature, origin,
              line > 0 ? "line " + std::to_string(line) + ": " + why : why);
}

std::string algorithm_shown(const unsigned char* alg) {
  std::string shown;
  for (int i = 0; i < 2; ++i) {
    if (alg[i] >= 0x20 && alg[i] < 0x7f) {
      shown += static_cast<char>(alg[i]);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", alg[i]);
      shown += hex;
    }
  }
  return "'" + shown + "'";
}

PublicKey decode_public_key(std::string_view b64, const std::string& origin, int line) {
  std::array<unsigned char, kPublicKeyBytes> raw{};
  sign::from_base64(b64, raw, origin, line, "public key");
  if (std::memcmp(raw.data(), sign::kAlgLegacy.data(), 2) != 0)
    fail(origin, line,
         "unsupported key algorithm " + algorithm_shown(raw.data()) + " (minisign keys are 'Ed')");
  PublicKey key;
  std::memcpy(key.id.data(), raw.data() + 2, key.id.size());
  std::memcpy(key.key.data(), raw.data() + 10, key.key.size());
  return key;
}

}  // namespace

std::string key_id_hex(const KeyId& id) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llX",
                static_cast<unsigned long long>(sign::load_le64(id.data())));
  return hex;
}

PublicKey parse_public_key(std::string_view text, const std::string& origin) {
  const auto lines = sign::split_lines(text);
  if (lines.empty()) fail(origin, 0, "empty: not a minisign public key");
  // The bare base64 string of `minisign -P`, or the two-line key file (whose
  // comment line minisign does not check; neither does this).
  if (lines.size() == 1 && !lines[0].starts_with(sign::kUntrustedPrefix))
    return decode_public_key(lines[0], origin, 1);
  if (lines.size() < 2) fail(origin, 2, "truncated: the public key line is missing");
  return decode_public_key(lines[1], origin, 2);
}

Signature parse_signature(std::string_view text, const std::string& origin) {
  const auto lines = sign::split_lines(text);
  Signature sig;
  if (lines.empty()) fail(origin, 0, "empty: not a minisign signature");
  if (!lines[0].starts_with(sign::kUntrustedPrefix))
    fail(origin, 1, "the first line must start with \"untrusted comment: \"");
  sig.untrusted_comment = std::string(lines[0].substr(sign::kUntrustedPrefix.size()));
  if (lines.size() < 2) fail(origin, 2, "truncated: the signature line is missing");

  std::array<unsigned char, kSignatureBytes> raw{};
  sign::from_base64(lines[1], raw, origin, 2, "signature");
  if (std::memcmp(raw.data(), sign::kAlgLegacy.data(), 2) == 0) {
    sig.kind = SignatureKind::legacy;
  } else if (std::memcmp(raw.data(), sign::kAlgPrehashed.data(), 2) == 0) {
    sig.kind = SignatureKind::prehashed;
  } else {
    fail(origin, 2,
         "unsupported signature algorithm " + algorithm_shown(raw.data()) +
             " (minisign's are 'Ed', legacy, and 'ED', prehashed)");
  }
  std::memcpy(sig.key_id.data(), raw.data() + 2, sig.key_id.size());
  std::memcpy(sig.signature.data(), raw.data() + 10, sig.signature.size());

  if (lines.size() < 3) fail(origin, 3, "truncated: the trusted comment line is missing");
  if (!lines[2].starts_with(sign::kTrustedPrefix))
    fail(origin, 3, "the third line must start with \"trusted comment: \"");
  const std::string_view trusted = lines[2].substr(sign::kTrustedPrefix.size());
  if (trusted.size() > kMaxTrustedCommentSize)
    fail(origin, 3, "the trusted comment is longer than minisign's limit");
  // minisign keeps the comment in a C string: what follows a NUL would be
  // shown by one tool and not by the other.
  if (trusted.find('\0') != std::string_view::npos)
    fail(origin, 3, "the trusted comment contains a NUL byte");
  sig.trusted_comment = std::string(trusted);
  if (lines.size() < 4) fail(origin, 4, "truncated: the global signature line is missing");
  sign::from_base64(lines[3], sig.global_signature, origin, 4, "global signature");
  // Like minisign, anything after the fourth line is ignored: it is covered
  // by no signature and changes nothing.
  return sig;
}

std::string format_public_key(const PublicKey& key) {
  std::array<unsigned char, kPublicKeyBytes> raw{};
  std::memcpy(raw.data(), sign::kAlgLegacy.data(), 2);
  std::memcpy(raw.data() + 2, key.id.data(), key.id.size());
  std::memcpy(raw.data() + 10, key.key.data(), key.key.size());
  return std::string(sign::kUntrustedPrefix) + "minisign public key " + key_id_hex(key.id) + "\n" +
         sign::to_base64(raw) + "\n";
}

std::string format_signature(const Signature& sig) {
  std::array<unsigned char, kSignatureBytes> raw{};
  const auto alg = sig.kind == SignatureKind::legacy ? sign::kAlgLegacy : sign::kAlgPrehashed;
  std::memcpy(raw.data(), alg.data(), 2);
  std::memcpy(raw.data() + 2, sig.key_id.data(), sig.key_id.size());
  std::memcpy(raw.data() + 10, sig.signature.data(), sig.signature.size());
  return std::string(sign::kUntrustedPrefix) + sig.untrusted_comment + "\n" + sign::to_base64(raw) +
         "\n" + std::string(sign::kTrustedPrefix) + sig.trusted_comment + "\n" +
         sign::to_base64(sig.global_signature) + "\n";
}

}  // namespace bpatch

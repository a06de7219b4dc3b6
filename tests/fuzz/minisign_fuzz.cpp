// libFuzzer target for the minisign parsers of bpatch/trust.hpp.
//
// The first byte picks the parser (signature, public key, secret key, or a
// verification against a fixed key); the rest is the file's text. Each must
// either succeed or throw Error(bad_signature); anything else — another
// exception, a crash, a sanitizer report — is a finding. What parses must
// survive a round trip through the formatter unchanged. Secret keys are
// parsed without a password, so scrypt never runs (its cost is bounded by
// the parser, and tested in tests/sign_test.cpp, not here).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "bpatch/error.hpp"
#include "bpatch/trust.hpp"

namespace {

[[noreturn]] void trap() { __builtin_trap(); }

void check_signature(std::string_view text) {
  const bpatch::Signature sig = bpatch::parse_signature(text, "fuzz.minisig");
  const bpatch::Signature again =
      bpatch::parse_signature(bpatch::format_signature(sig), "round trip");
  if (again.kind != sig.kind || again.key_id != sig.key_id || again.signature != sig.signature ||
      again.trusted_comment != sig.trusted_comment ||
      again.global_signature != sig.global_signature)
    trap();
}

void check_public_key(std::string_view text) {
  const bpatch::PublicKey key = bpatch::parse_public_key(text, "fuzz.pub");
  if (!(bpatch::parse_public_key(bpatch::format_public_key(key), "round trip") == key)) trap();
}

void check_secret_key(std::string_view text) {
  if (bpatch::secret_key_is_encrypted(text, "fuzz.key")) return;
  const bpatch::SecretKey key = bpatch::parse_secret_key(text, "fuzz.key", std::nullopt);
  std::string formatted = bpatch::format_secret_key(key, std::nullopt);
  const bpatch::SecretKey again = bpatch::parse_secret_key(formatted, "round trip", std::nullopt);
  bpatch::wipe(formatted);
  if (!(again.public_key() == key.public_key())) trap();
}

// Verification of a fixed message against the input as its signature, by
// a key whose id the fuzzer must find in the input.
void check_verify(std::string_view text) {
  static const bpatch::SecretKey signer = bpatch::generate_secret_key();
  bpatch::TrustPolicy policy;
  policy.add(signer.public_key());
  const std::string message = "message";
  policy.verify(std::as_bytes(std::span(message.data(), message.size())), text, "message",
                "message.minisig");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    switch (data[0] % 4) {
      case 0:
        check_signature(text);
        break;
      case 1:
        check_public_key(text);
        break;
      case 2:
        check_secret_key(text);
        break;
      default:
        check_verify(text);
        break;
    }
  } catch (const bpatch::Error& e) {
    if (e.code() != bpatch::Errc::bad_signature) trap();
  } catch (...) {
    trap();
  }
  return 0;
}

// TrustPolicy: verifying a file against its .minisig the way `minisign -V`
// does — the key id must be one of the trusted keys, the signature must
// verify over the file (or its BLAKE2b-512 when prehashed), and the global
// signature over signature | trusted comment.
#include <sodium.h>

#include <cstring>

#include "bpatch/error.hpp"
#include "bpatch/file_system.hpp"
#include "bpatch/trust.hpp"
#include "sign/encoding.hpp"
#include "sign/file_access.hpp"

namespace bpatch {
namespace {

std::string trusted_ids(const std::vector<PublicKey>& keys) {
  std::string ids;
  for (const auto& k : keys) ids += (ids.empty() ? "" : ", ") + key_id_hex(k.id);
  return ids;
}

const PublicKey& trusted_key(const std::vector<PublicKey>& keys, const Signature& sig,
                             const std::string& sig_path) {
  if (keys.empty()) throw Error(Errc::usage, sig_path, "no trusted public key was given");
  for (const auto& k : keys)
    if (k.id == sig.key_id) return k;
  throw Error(Errc::bad_signature, sig_path,
              "signed by key " + key_id_hex(sig.key_id) +
                  ", which is not a trusted key (trusted: " + trusted_ids(keys) + ")");
}

// The second half of minisign's check: the trusted comment.
void verify_global(const PublicKey& key, const Signature& sig, const std::string& sig_path) {
  std::string signed_part(reinterpret_cast<const char*>(sig.signature.data()),
                          sig.signature.size());
  signed_part += sig.trusted_comment;
  if (crypto_sign_verify_detached(sig.global_signature.data(),
                                  reinterpret_cast<const unsigned char*>(signed_part.data()),
                                  signed_part.size(), key.key.data()) != 0) {
    throw Error(Errc::bad_signature, sig_path,
                "the trusted comment's signature does not verify: the comment was altered");
  }
}

[[noreturn]] void file_altered(const std::string& path, const PublicKey& key) {
  throw Error(Errc::bad_signature, path,
              "the signature by key " + key_id_hex(key.id) +
                  " does not verify: the file was altered after it was signed");
}

VerifiedFile verified(const Signature& sig) {
  VerifiedFile v;
  v.key_id = sig.key_id;
  v.kind = sig.kind;
  v.trusted_comment = sig.trusted_comment;
  return v;
}

}  // namespace

void TrustPolicy::add(const PublicKey& key) {
  for (const auto& k : keys_)
    if (k == key) return;
  keys_.push_back(key);
}

void TrustPolicy::add_file(FileSystem& fs, const std::string& path) {
  add(load_public_key(fs, path));
}

PublicKey load_public_key(FileSystem& fs, const std::string& path) {
  const auto text = sign::read_capped(fs, path, kMaxKeyFileSize, "public key file");
  if (!text) throw Error(Errc::not_found, path, "no such public key file");
  return parse_public_key(*text, path);
}

VerifiedFile TrustPolicy::verify(std::span<const std::byte> data, std::string_view signature_text,
                                 const std::string& path, const std::string& signature_path) const {
  sign::ensure_sodium();
  const Signature sig = parse_signature(signature_text, signature_path);
  const PublicKey& key = trusted_key(keys_, sig, signature_path);
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  int rc;
  if (sig.kind == SignatureKind::prehashed) {
    unsigned char hash[crypto_generichash_BYTES_MAX];
    crypto_generichash(hash, sizeof hash, bytes, data.size(), nullptr, 0);
    rc = crypto_sign_verify_detached(sig.signature.data(), hash, sizeof hash, key.key.data());
  } else {
    rc = crypto_sign_verify_detached(sig.signature.data(), bytes, data.size(), key.key.data());
  }
  if (rc != 0) file_altered(path, key);
  verify_global(key, sig, signature_path);
  return verified(sig);
}

VerifiedFile TrustPolicy::verify_file(FileSystem& fs, const std::string& path, bool keep_contents,
                                      uint64_t max_held) const {
  sign::ensure_sodium();
  // The signature first: a file that is not signed, or not by a trusted
  // key, is refused before a byte of it is read.
  const std::string sig_path = path + ".minisig";
  const auto sig_text = sign::read_capped(fs, sig_path, kMaxSignatureFileSize, "signature file");
  if (!sig_text)
    throw Error(
        Errc::bad_signature, path,
        "not signed: " + sig_path + " is missing (sign with `bpatch sign` or `minisign -S`)");
  const Signature sig = parse_signature(*sig_text, sig_path);
  const PublicKey& key = trusted_key(keys_, sig, sig_path);

  // One pass over the file: keep the bytes (when asked or when the legacy
  // form signs them directly) and hash them (for the prehashed form).
  const bool hold = keep_contents || sig.kind == SignatureKind::legacy;
  VerifiedFile v = verified(sig);
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, crypto_generichash_BYTES_MAX);
  sign::stream_file(fs, path, [&](std::span<const std::byte> chunk) {
    if (hold) {
      if (v.contents.size() + chunk.size() > max_held)
        throw Error(Errc::too_large, path,
                    "larger than " + std::to_string(max_held) + " bytes, too large to hold");
      v.contents.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
    }
    crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(chunk.data()),
                              chunk.size());
  });
  unsigned char hash[crypto_generichash_BYTES_MAX];
  crypto_generichash_final(&st, hash, sizeof hash);
  const int rc =
      sig.kind == SignatureKind::prehashed
          ? crypto_sign_verify_detached(sig.signature.data(), hash, sizeof hash, key.key.data())
          : crypto_sign_verify_detached(sig.signature.data(),
                                        reinterpret_cast<const unsigned char*>(v.contents.data()),
                                        v.contents.size(), key.key.data());
  if (rc != 0) file_altered(path, key);
  verify_global(key, sig, sig_path);
  if (!keep_contents) v.contents.clear();
  return v;
}

}  // namespace bpatch

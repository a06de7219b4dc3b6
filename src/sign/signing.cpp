// Making minisign signatures and key files: what `minisign -S` and
// `minisign -G` write, through the FileSystem.
#include <sodium.h>

#include <ctime>

#include "bpatch/error.hpp"
#include "bpatch/file_system.hpp"
#include "bpatch/trust.hpp"
#include "sign/encoding.hpp"
#include "sign/file_access.hpp"

namespace bpatch {
namespace {

constexpr uint64_t kMaxLegacySize = uint64_t{1} << 30;  // minisign's cap for legacy signing

std::string basename_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// minisign's default: "timestamp:<unix time>\tfile:<basename>", plus
// "\thashed" for a prehashed signature.
std::string default_trusted_comment(const std::string& name, SignatureKind kind) {
  return "timestamp:" + std::to_string(static_cast<unsigned long long>(std::time(nullptr))) +
         "\tfile:" + basename_of(name) + (kind == SignatureKind::prehashed ? "\thashed" : "");
}

void check_comment(const std::string& comment, const char* which, size_t limit) {
  if (comment.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
    throw Error(Errc::usage, "", std::string("the ") + which + " must be one line without NULs");
  if (comment.size() > limit)
    throw Error(Errc::usage, "", std::string("the ") + which + " is longer than minisign allows");
}

// Completes a signature whose `signature` field is set: the trusted comment
// and the global signature over signature | trusted comment.
Signature finish(const SecretKey& key, const SignOptions& options, const std::string& name,
                 Signature sig) {
  sig.kind = options.kind;
  sig.key_id = key.id();
  sig.untrusted_comment = options.untrusted_comment;
  sig.trusted_comment = options.trusted_comment.empty()
                            ? default_trusted_comment(name, options.kind)
                            : options.trusted_comment;
  check_comment(sig.untrusted_comment, "untrusted comment", 1024 - 20);
  check_comment(sig.trusted_comment, "trusted comment", kMaxTrustedCommentSize);
  std::string signed_part(reinterpret_cast<const char*>(sig.signature.data()),
                          sig.signature.size());
  signed_part += sig.trusted_comment;
  crypto_sign_detached(sig.global_signature.data(), nullptr,
                       reinterpret_cast<const unsigned char*>(signed_part.data()),
                       signed_part.size(), key.secret().data());
  return sig;
}

}  // namespace

Signature sign_bytes(const SecretKey& key, std::span<const std::byte> data,
                     const SignOptions& options, const std::string& name) {
  sign::ensure_sodium();
  Signature sig;
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  if (options.kind == SignatureKind::prehashed) {
    unsigned char hash[crypto_generichash_BYTES_MAX];
    crypto_generichash(hash, sizeof hash, bytes, data.size(), nullptr, 0);
    crypto_sign_detached(sig.signature.data(), nullptr, hash, sizeof hash, key.secret().data());
  } else {
    crypto_sign_detached(sig.signature.data(), nullptr, bytes, data.size(), key.secret().data());
  }
  return finish(key, options, name, std::move(sig));
}

Signature sign_file(FileSystem& fs, const SecretKey& key, const std::string& path,
                    const SignOptions& options) {
  sign::ensure_sodium();
  Signature sig;
  if (options.kind == SignatureKind::prehashed) {
    crypto_generichash_state st;
    crypto_generichash_init(&st, nullptr, 0, crypto_generichash_BYTES_MAX);
    sign::stream_file(fs, path, [&](std::span<const std::byte> chunk) {
      crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(chunk.data()),
                                chunk.size());
    });
    unsigned char hash[crypto_generichash_BYTES_MAX];
    crypto_generichash_final(&st, hash, sizeof hash);
    crypto_sign_detached(sig.signature.data(), nullptr, hash, sizeof hash, key.secret().data());
    sig = finish(key, options, path, std::move(sig));
  } else {
    std::string data;
    sign::stream_file(fs, path, [&](std::span<const std::byte> chunk) {
      if (data.size() + chunk.size() > kMaxLegacySize)
        throw Error(Errc::too_large, path,
                    "larger than 1 GiB: sign it prehashed (the default), not --legacy");
      data.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
    });
    sig = sign_bytes(key, std::as_bytes(std::span(data.data(), data.size())), options, path);
  }
  sign::replace_file(fs, path + ".minisig", format_signature(sig), 0644);
  return sig;
}

SecretKey load_secret_key(FileSystem& fs, const std::string& path,
                          std::optional<std::string_view> password) {
  auto text = sign::read_capped(fs, path, kMaxKeyFileSize, "secret key file");
  if (!text) throw Error(Errc::not_found, path, "no such secret key file");
  try {
    SecretKey key = parse_secret_key(*text, path, password);
    wipe(*text);
    return key;
  } catch (...) {
    wipe(*text);
    throw;
  }
}

void write_key_pair(FileSystem& fs, const std::string& name, const SecretKey& key,
                    std::optional<std::string_view> password, KdfLimits limits) {
  const std::string pub_path = name + ".pub";
  const std::string key_path = name + ".key";
  // Check both before writing either, so that a refusal leaves nothing.
  for (const auto& p : {pub_path, key_path})
    if (fs.lstat(p)) throw Error(Errc::usage, p, "already exists; not replacing a key");
  std::string secret = format_secret_key(key, password, limits);
  try {
    sign::create_file(fs, key_path, secret, 0600);
    wipe(secret);
  } catch (...) {
    wipe(secret);
    throw;
  }
  try {
    sign::create_file(fs, pub_path, format_public_key(key.public_key()), 0644);
  } catch (...) {
    try {
      fs.unlink(key_path);
    } catch (...) {
    }
    throw;
  }
}

}  // namespace bpatch

// bpatch/trust.hpp — who may publish an update: minisign keys and signatures.
//
// A signed bundle carries `update.bpatch.minisig` beside its script, a
// signature in minisign's format (Ed25519), so that it can be made and
// checked with the `minisign` tool as well as with bpatch. The script pins
// each data file by its hash, so a signature over the script covers the
// whole bundle.
//
// The formats (all base64 lines are the standard alphabet, with padding):
//   public key   "untrusted comment: …" line, then base64 of
//                  "Ed" | key id (8) | Ed25519 public key (32)
//                (or that base64 string alone, as `minisign -P` takes it)
//   secret key   "untrusted comment: …" line, then base64 of
//                  "Ed" | kdf "Sc" (scrypt) or "\0\0" (none) | "B2" |
//                  salt (32) | opslimit (8, LE) | memlimit (8, LE) |
//                  key id (8) | Ed25519 secret key (64) | checksum (32)
//                the last 104 bytes XORed with scrypt(password) when "Sc";
//                checksum = BLAKE2b-256("Ed" | key id | secret key)
//   signature    "untrusted comment: …" line, base64 of
//                  "Ed" (legacy: signs the file) or "ED" (prehashed: signs
//                  BLAKE2b-512 of the file) | key id (8) | signature (64),
//                "trusted comment: …" line, then base64 of the global
//                signature (64) = Ed25519(signature | trusted comment)
//
// Every malformed input is an Error(Errc::bad_signature) (Errc::too_large
// when a file is larger than any such file can be) naming the file, the
// line and the cause. All I/O goes through the FileSystem. Secret key
// material is wiped (sodium_memzero) when it is no longer needed.
//
// Thread-safety: a TrustPolicy is immutable once built and safe to share;
// the free functions keep no state.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bpatch {

class FileSystem;

using KeyId = std::array<unsigned char, 8>;

// As minisign prints a key id: read as a little-endian 64-bit number, in 16
// upper-case hex digits.
std::string key_id_hex(const KeyId& id);

struct PublicKey {
  KeyId id{};
  std::array<unsigned char, 32> key{};
  bool operator==(const PublicKey&) const = default;
};

enum class SignatureKind {
  legacy,     // "Ed": Ed25519 over the file's bytes
  prehashed,  // "ED": Ed25519 over BLAKE2b-512 of the file (minisign's default)
};

struct Signature {
  SignatureKind kind = SignatureKind::prehashed;
  KeyId key_id{};
  std::array<unsigned char, 64> signature{};
  std::string untrusted_comment;  // without "untrusted comment: "
  std::string trusted_comment;    // without "trusted comment: "
  std::array<unsigned char, 64> global_signature{};
};

// The largest files these parsers read: minisign's own line limits (1 KiB
// comments, 8 KiB trusted comment) with room to spare.
inline constexpr uint64_t kMaxKeyFileSize = 4096;
inline constexpr uint64_t kMaxSignatureFileSize = 16384;
// The most verify_file holds in memory (minisign's own cap for legacy signatures).
inline constexpr uint64_t kMaxHeldFileSize = uint64_t{1} << 30;
// The largest trusted comment minisign writes or reads.
inline constexpr size_t kMaxTrustedCommentSize = 8192 - 18;

// Parsers and formatters of the text forms. `origin` names the input in errors.
PublicKey parse_public_key(std::string_view text, const std::string& origin);
Signature parse_signature(std::string_view text, const std::string& origin);
std::string format_public_key(const PublicKey& key);  // "untrusted comment: …\n<base64>\n"
std::string format_signature(const Signature& signature);

PublicKey load_public_key(FileSystem& fs, const std::string& path);

// What a successful verification proves.
struct VerifiedFile {
  KeyId key_id{};
  SignatureKind kind = SignatureKind::prehashed;
  std::string trusted_comment;
  // The verified bytes, when asked for (keep_contents): a caller that then
  // parses them never reads the file a second time, so the bytes it acts on
  // are the bytes that were verified.
  std::string contents;
};

// The public keys an updater trusts. A file verifies when its signature is
// by any one of them.
class TrustPolicy {
 public:
  void add(const PublicKey& key);
  // Adds the key in a minisign public key file.
  void add_file(FileSystem& fs, const std::string& path);

  bool empty() const { return keys_.empty(); }
  const std::vector<PublicKey>& keys() const { return keys_; }

  // Verifies `data` (the contents of `path`) against the text of its
  // signature file `signature_path`; throws Error(bad_signature) saying
  // what is wrong (malformed, signed by an untrusted key, the file or the
  // trusted comment altered).
  VerifiedFile verify(std::span<const std::byte> data, std::string_view signature_text,
                      const std::string& path, const std::string& signature_path) const;

  // Reads `path + ".minisig"` first (a missing one: Error(bad_signature,
  // "not signed")), checks its key id, and only then reads `path`.
  // keep_contents returns the bytes (at most max_held, Error(too_large)
  // above, found before more is read); so does a legacy signature, which
  // signs the bytes themselves. A prehashed one otherwise streams the file.
  VerifiedFile verify_file(FileSystem& fs, const std::string& path, bool keep_contents = false,
                           uint64_t max_held = kMaxHeldFileSize) const;

 private:
  std::vector<PublicKey> keys_;
};

// An Ed25519 secret key with its minisign key id. Move-only; wiped when
// destroyed or moved from.
class SecretKey {
 public:
  SecretKey() = default;
  SecretKey(const KeyId& id, std::span<const unsigned char, 64> secret);
  SecretKey(SecretKey&& other) noexcept;
  SecretKey& operator=(SecretKey&& other) noexcept;
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  ~SecretKey();

  const KeyId& id() const { return id_; }
  std::span<const unsigned char, 64> secret() const { return secret_; }
  // The public half (the last 32 bytes of an Ed25519 secret key).
  PublicKey public_key() const;

 private:
  void wipe() noexcept;
  KeyId id_{};
  std::array<unsigned char, 64> secret_{};
};

// scrypt cost of a password-protected key (stored in the key file).
struct KdfLimits {
  uint64_t opslimit;
  uint64_t memlimit;
  // What minisign uses (1 GiB of memory, seconds of CPU); also the most a
  // key file may ask for, so that a hostile key cannot demand more.
  static KdfLimits sensitive();
  // Much cheaper: for tests and throw-away keys.
  static KdfLimits interactive();
};

// A fresh key pair with a random key id.
SecretKey generate_secret_key();

// Whether a secret key file's text says it is password-protected ("Sc").
bool secret_key_is_encrypted(std::string_view text, const std::string& origin);
// Parses (and with a password, decrypts) a secret key. A wrong password or
// a corrupt key fails the checksum: Error(bad_signature).
SecretKey parse_secret_key(std::string_view text, const std::string& origin,
                           std::optional<std::string_view> password);
// The key file's text; encrypted with scrypt when a password is given. The
// result holds secret material: wipe() it when done.
std::string format_secret_key(const SecretKey& key, std::optional<std::string_view> password,
                              KdfLimits limits = KdfLimits::sensitive());
SecretKey load_secret_key(FileSystem& fs, const std::string& path,
                          std::optional<std::string_view> password);

// Writes NAME.pub (0644) and NAME.key (0600), refusing to replace either.
void write_key_pair(FileSystem& fs, const std::string& name, const SecretKey& key,
                    std::optional<std::string_view> password,
                    KdfLimits limits = KdfLimits::sensitive());

struct SignOptions {
  SignatureKind kind = SignatureKind::prehashed;
  // Empty: minisign's default, "timestamp:<unix time>\tfile:<basename>[\thashed]".
  std::string trusted_comment;
  std::string untrusted_comment = "signature from bpatch secret key";
};

// Signs bytes; `name` is the file name used in the default trusted comment.
Signature sign_bytes(const SecretKey& key, std::span<const std::byte> data,
                     const SignOptions& options, const std::string& name);
// Signs `path` and atomically writes `path + ".minisig"` (replacing one).
Signature sign_file(FileSystem& fs, const SecretKey& key, const std::string& path,
                    const SignOptions& options = {});

// sodium_memzero of a string's bytes (then clears it).
void wipe(std::string& secret) noexcept;

}  // namespace bpatch

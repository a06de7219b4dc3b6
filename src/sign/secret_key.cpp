// minisign secret keys: generation, the key file (layout in
// include/bpatch/trust.hpp) and its optional scrypt encryption, as
// minisign's seckey_load/encrypt_key do it.
#include <sodium.h>

#include <cstring>

#include "bpatch/error.hpp"
#include "bpatch/trust.hpp"
#include "sign/encoding.hpp"

namespace bpatch {
namespace {

// Offsets in the decoded secret key.
constexpr size_t kSigAlg = 0, kKdfAlg = 2, kChkAlg = 4, kSalt = 6, kOps = 38, kMem = 46,
                 kKeynum = 54;
constexpr size_t kKeyIdLen = 8, kSecretLen = 64, kChecksumLen = 32;
constexpr size_t kKeynumLen = kKeyIdLen + kSecretLen + kChecksumLen;  // 104
constexpr size_t kSecretKeyBytes = kKeynum + kKeynumLen;              // 158
static_assert(crypto_pwhash_scryptsalsa208sha256_SALTBYTES == kOps - kSalt);
static_assert(crypto_sign_SECRETKEYBYTES == kSecretLen);

// The decoded key, wiped however the scope is left.
struct RawSecretKey {
  std::array<unsigned char, kSecretKeyBytes> b{};
  ~RawSecretKey() { sodium_memzero(b.data(), b.size()); }
  unsigned char* keynum() { return b.data() + kKeynum; }
};

[[noreturn]] void fail(const std::string& origin, const std::string& why) {
  throw Error(Errc::bad_signature, origin, why);
}

// BLAKE2b-256 of sig_alg | key id | secret key.
void checksum(const RawSecretKey& raw, unsigned char out[kChecksumLen]) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, kChecksumLen);
  crypto_generichash_update(&st, raw.b.data() + kSigAlg, 2);
  crypto_generichash_update(&st, raw.b.data() + kKeynum, kKeyIdLen + kSecretLen);
  crypto_generichash_final(&st, out, kChecksumLen);
  sodium_memzero(&st, sizeof st);
}

// XORs keynum_sk with scrypt(password, salt, opslimit, memlimit).
void apply_stream(RawSecretKey& raw, std::string_view password, const std::string& origin) {
  std::array<unsigned char, kKeynumLen> stream{};
  const int rc = crypto_pwhash_scryptsalsa208sha256(
      stream.data(), stream.size(), password.data(), password.size(), raw.b.data() + kSalt,
      sign::load_le64(raw.b.data() + kOps),
      static_cast<size_t>(sign::load_le64(raw.b.data() + kMem)));
  if (rc != 0) {
    sodium_memzero(stream.data(), stream.size());
    throw Error(Errc::io, origin, "scrypt key derivation failed (out of memory?)");
  }
  for (size_t i = 0; i < kKeynumLen; ++i) raw.keynum()[i] ^= stream[i];
  sodium_memzero(stream.data(), stream.size());
}

void decode(std::string_view text, const std::string& origin, RawSecretKey& raw) {
  const auto lines = sign::split_lines(text);
  if (lines.empty()) fail(origin, "empty: not a minisign secret key");
  if (lines.size() < 2) fail(origin, "line 2: truncated: the secret key line is missing");
  sign::from_base64(lines[1], raw.b, origin, 2, "secret key");
  if (std::memcmp(raw.b.data() + kSigAlg, sign::kAlgLegacy.data(), 2) != 0)
    fail(origin, "line 2: unsupported signature algorithm (minisign keys are 'Ed')");
  if (std::memcmp(raw.b.data() + kChkAlg, sign::kChecksumBlake2b.data(), 2) != 0)
    fail(origin, "line 2: unsupported checksum function (minisign's is 'B2')");
  if (std::memcmp(raw.b.data() + kKdfAlg, sign::kKdfScrypt.data(), 2) != 0 &&
      std::memcmp(raw.b.data() + kKdfAlg, sign::kKdfNone.data(), 2) != 0)
    fail(origin, "line 2: unsupported key derivation function (minisign's are 'Sc' and none)");
}

bool encrypted(const RawSecretKey& raw) {
  return std::memcmp(raw.b.data() + kKdfAlg, sign::kKdfScrypt.data(), 2) == 0;
}

}  // namespace

SecretKey::SecretKey(const KeyId& id, std::span<const unsigned char, 64> secret) : id_(id) {
  std::memcpy(secret_.data(), secret.data(), secret_.size());
}

SecretKey::SecretKey(SecretKey&& other) noexcept : id_(other.id_), secret_(other.secret_) {
  other.wipe();
}

SecretKey& SecretKey::operator=(SecretKey&& other) noexcept {
  if (this != &other) {
    id_ = other.id_;
    secret_ = other.secret_;
    other.wipe();
  }
  return *this;
}

SecretKey::~SecretKey() { wipe(); }

void SecretKey::wipe() noexcept { sodium_memzero(secret_.data(), secret_.size()); }

PublicKey SecretKey::public_key() const {
  PublicKey pub;
  pub.id = id_;
  crypto_sign_ed25519_sk_to_pk(pub.key.data(), secret_.data());
  return pub;
}

KdfLimits KdfLimits::sensitive() {
  return {crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_SENSITIVE,
          crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_SENSITIVE};
}

KdfLimits KdfLimits::interactive() {
  return {crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_INTERACTIVE,
          crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_INTERACTIVE};
}

SecretKey generate_secret_key() {
  sign::ensure_sodium();
  KeyId id;
  randombytes_buf(id.data(), id.size());
  std::array<unsigned char, 32> pk{};
  std::array<unsigned char, 64> sk{};
  crypto_sign_keypair(pk.data(), sk.data());
  SecretKey key(id, sk);
  sodium_memzero(sk.data(), sk.size());
  return key;
}

bool secret_key_is_encrypted(std::string_view text, const std::string& origin) {
  RawSecretKey raw;
  decode(text, origin, raw);
  return encrypted(raw);
}

SecretKey parse_secret_key(std::string_view text, const std::string& origin,
                           std::optional<std::string_view> password) {
  sign::ensure_sodium();
  RawSecretKey raw;
  decode(text, origin, raw);
  unsigned char sum[kChecksumLen];
  if (encrypted(raw)) {
    if (!password) fail(origin, "the secret key is password-protected; a password is needed");
    // A hostile key file could ask scrypt for any time and memory: allow no
    // more than minisign itself ever writes.
    const KdfLimits most = KdfLimits::sensitive();
    if (sign::load_le64(raw.b.data() + kOps) > most.opslimit ||
        sign::load_le64(raw.b.data() + kMem) > most.memlimit)
      fail(origin, "the key's scrypt limits exceed minisign's (opslimit 2^25, memlimit 1 GiB)");
    apply_stream(raw, *password, origin);
    checksum(raw, sum);
    if (sodium_memcmp(sum, raw.keynum() + kKeyIdLen + kSecretLen, kChecksumLen) != 0)
      fail(origin, "wrong password for this secret key (or the key is corrupt)");
  } else {
    // minisign -W leaves the checksum zero; one that is set must match.
    checksum(raw, sum);
    const unsigned char* stored = raw.keynum() + kKeyIdLen + kSecretLen;
    if (!sodium_is_zero(stored, kChecksumLen) && sodium_memcmp(sum, stored, kChecksumLen) != 0)
      fail(origin, "the secret key's checksum does not match: the key is corrupt");
  }
  sodium_memzero(sum, sizeof sum);
  // An Ed25519 secret key is seed | public key: the halves must agree, or
  // every signature made with it would fail to verify.
  std::array<unsigned char, 32> pk{};
  std::array<unsigned char, 64> check{};
  crypto_sign_seed_keypair(pk.data(), check.data(), raw.keynum() + kKeyIdLen);
  const bool consistent = sodium_memcmp(check.data(), raw.keynum() + kKeyIdLen, 64) == 0;
  sodium_memzero(check.data(), check.size());
  if (!consistent) fail(origin, "the secret key is corrupt (its two halves disagree)");
  KeyId id;
  std::memcpy(id.data(), raw.keynum(), kKeyIdLen);
  return SecretKey(id, std::span<const unsigned char, 64>(raw.keynum() + kKeyIdLen, 64));
}

std::string format_secret_key(const SecretKey& key, std::optional<std::string_view> password,
                              KdfLimits limits) {
  sign::ensure_sodium();
  RawSecretKey raw;
  std::memcpy(raw.b.data() + kSigAlg, sign::kAlgLegacy.data(), 2);
  std::memcpy(raw.b.data() + kChkAlg, sign::kChecksumBlake2b.data(), 2);
  std::memcpy(raw.keynum(), key.id().data(), kKeyIdLen);
  std::memcpy(raw.keynum() + kKeyIdLen, key.secret().data(), kSecretLen);
  // Unlike minisign -W, the checksum is kept for an unencrypted key too, so
  // that corruption is noticed; minisign does not check it there.
  checksum(raw, raw.keynum() + kKeyIdLen + kSecretLen);
  if (password) {
    std::memcpy(raw.b.data() + kKdfAlg, sign::kKdfScrypt.data(), 2);
    randombytes_buf(raw.b.data() + kSalt, kOps - kSalt);
    sign::store_le64(raw.b.data() + kOps, limits.opslimit);
    sign::store_le64(raw.b.data() + kMem, limits.memlimit);
    apply_stream(raw, *password, "");
  } else {
    std::memcpy(raw.b.data() + kKdfAlg, sign::kKdfNone.data(), 2);
  }
  const std::string comment = password ? "minisign encrypted secret key" : "minisign secret key";
  std::string b64 = sign::to_base64(raw.b);
  // Appended into one buffer reserved up front, so that no temporary copy of
  // the key is left unwiped in freed memory.
  std::string text;
  text.reserve(sign::kUntrustedPrefix.size() + comment.size() + b64.size() + 2);
  text.append(sign::kUntrustedPrefix).append(comment).append("\n").append(b64).append("\n");
  wipe(b64);
  return text;
}

void wipe(std::string& secret) noexcept {
  if (!secret.empty()) sodium_memzero(secret.data(), secret.size());
  secret.clear();
}

}  // namespace bpatch

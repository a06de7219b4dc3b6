// `bpatch keygen`, `bpatch sign` and `bpatch verify-signature`: minisign
// key pairs and signatures (bpatch/trust.hpp), and the --trust check shared
// by every command that takes it.
#include <cstdio>
#include <cstdlib>

#include "bpatch/error.hpp"
#include "bpatch/file_system.hpp"
#include "bpatch/posix_file_system.hpp"
#include "bpatch/trust.hpp"
#include "commands.hpp"
#include "json.hpp"

namespace bpatch::cli {
namespace {

constexpr size_t kMaxPasswordFile = 4096;

// The first line of a password file (minisign reads a password as a line).
// The caller wipes the result.
std::string read_password(const std::string& path) {
  PosixFileSystem fs;
  const auto file = fs.open(absolute_path(path), OpenMode::read);
  std::string text(kMaxPasswordFile, '\0');
  const size_t n = file->read_at(0, std::as_writable_bytes(std::span(text.data(), text.size())));
  const size_t end = std::min(n, text.find_first_of("\r\n"));
  std::string password = text.substr(0, end);
  wipe(text);
  if (password.empty()) {
    wipe(password);
    throw Error(Errc::usage, path, "the password file's first line is empty");
  }
  return password;
}

// Wipes a password however the scope is left.
struct PasswordGuard {
  std::optional<std::string> value;
  ~PasswordGuard() {
    if (value) wipe(*value);
  }
  std::optional<std::string_view> view() const {
    return value ? std::optional<std::string_view>(*value) : std::nullopt;
  }
};

}  // namespace

TrustPolicy trust_policy_from(const std::vector<std::string>& trust_files) {
  PosixFileSystem fs;
  TrustPolicy policy;
  std::vector<std::string> files = trust_files;
  if (const char* env = std::getenv("BPATCH_TRUST")) {
    std::string_view rest(env);
    while (!rest.empty()) {
      const size_t colon = rest.find(':');
      const std::string_view item = rest.substr(0, colon);
      if (!item.empty()) files.emplace_back(item);
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  for (const auto& f : files) policy.add_file(fs, absolute_path(f));
  return policy;
}

VerifiedFile verify_trusted(const TrustPolicy& policy, const std::string& path, bool keep_contents,
                            uint64_t max_held) {
  PosixFileSystem fs;
  return policy.verify_file(fs, path, keep_contents, max_held);
}

int run_keygen(const CommonOptions& common, const KeygenArgs& args) {
  if (args.no_password && !args.password_file.empty())
    throw Error(Errc::usage, "", "-W (no password) and --password-file cannot be used together");
  PasswordGuard password;
  if (!args.password_file.empty()) password.value = read_password(args.password_file);
  PosixFileSystem fs;
  const std::string name = absolute_path(args.name);
  const SecretKey key = generate_secret_key();
  write_key_pair(fs, name, key, password.view());
  const PublicKey pub = key.public_key();
  if (common.json) {
    Json j;
    j.begin_object()
        .field("ok", true)
        .field("command", "keygen")
        .field("key_id", key_id_hex(pub.id))
        .field("public_key", name + ".pub")
        .field("secret_key", name + ".key")
        .field("encrypted", password.value.has_value())
        .end_object();
    std::printf("%s\n", j.str().c_str());
  } else if (!common.quiet) {
    std::printf("key %s: public key %s.pub, secret key %s.key (keep it secret%s)\n",
                key_id_hex(pub.id).c_str(), name.c_str(), name.c_str(),
                password.value ? "; password-protected" : "");
  }
  return kExitOk;
}

int run_sign(const CommonOptions& common, const SignArgs& args) {
  PosixFileSystem fs;
  const std::string key_path = absolute_path(args.key);
  PasswordGuard password;
  if (!args.password_file.empty()) password.value = read_password(args.password_file);
  const SecretKey key = load_secret_key(fs, key_path, password.view());
  SignOptions options;
  options.kind = args.legacy ? SignatureKind::legacy : SignatureKind::prehashed;
  options.trusted_comment = args.trusted_comment;
  Json j;
  j.begin_object().field("ok", true).field("command", "sign").key("signatures").begin_array();
  for (const auto& f : args.files) {
    const std::string path = real_path(f);
    const Signature sig = sign_file(fs, key, path, options);
    j.begin_object()
        .field("file", path)
        .field("signature", path + ".minisig")
        .field("key_id", key_id_hex(sig.key_id))
        .field("trusted_comment", sig.trusted_comment)
        .end_object();
    if (!common.json && !common.quiet)
      std::printf("signed %s -> %s.minisig (key %s)\n", f.c_str(), f.c_str(),
                  key_id_hex(sig.key_id).c_str());
  }
  j.end_array().end_object();
  if (common.json) std::printf("%s\n", j.str().c_str());
  return kExitOk;
}

void sign_with_key(const CommonOptions& common, const std::string& key_file,
                   const std::string& password_file, const std::string& path) {
  PosixFileSystem fs;
  PasswordGuard password;
  if (!password_file.empty()) password.value = read_password(password_file);
  const SecretKey key = load_secret_key(fs, absolute_path(key_file), password.view());
  const Signature sig = sign_file(fs, key, path, SignOptions{});
  if (!common.json && !common.quiet)
    std::printf("signed %s -> %s.minisig (key %s)\n", path.c_str(), path.c_str(),
                key_id_hex(sig.key_id).c_str());
}

int run_verify_signature(const CommonOptions& common, const VerifySignatureArgs& args) {
  const TrustPolicy policy = trust_policy_from(args.trust);
  if (policy.empty())
    throw Error(Errc::usage, "", "verify-signature needs --trust KEY.pub (or $BPATCH_TRUST)");
  const std::string path = real_path(args.file);
  const VerifiedFile v = verify_trusted(policy, path);
  if (common.json) {
    Json j;
    j.begin_object()
        .field("ok", true)
        .field("command", "verify-signature")
        .field("file", path)
        .field("key_id", key_id_hex(v.key_id))
        .field("prehashed", v.kind == SignatureKind::prehashed)
        .field("trusted_comment", v.trusted_comment)
        .end_object();
    std::printf("%s\n", j.str().c_str());
  } else if (!common.quiet) {
    std::printf("signature verified: %s is signed by key %s\ntrusted comment: %s\n",
                args.file.c_str(), key_id_hex(v.key_id).c_str(), v.trusted_comment.c_str());
  }
  return kExitOk;
}

}  // namespace bpatch::cli

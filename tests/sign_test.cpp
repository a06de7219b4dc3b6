// Signed bundles (bpatch/trust.hpp and `bpatch keygen/sign/verify-signature/
// apply --trust`), checked against the real `minisign` both ways: what bpatch
// signs, minisign verifies, and what minisign signs, bpatch verifies. Then
// every kind of hostile signature and key file, each to its own error, and
// `apply --trust` refusing unsigned, wrongly signed and altered scripts
// with the tree untouched. The test fails when minisign is not installed.
#include <sodium.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>

#include "bpatch/error.hpp"
#include "bpatch/posix_file_system.hpp"
#include "bpatch/trust.hpp"
#include "testing/test_files.hpp"

using namespace bpatch;
using namespace bpatch::testing;

namespace {

CommandResult shell(const std::string& script, const std::string& cwd) {
  return run({"sh", "-c", script}, cwd);
}

void require_minisign() {
  const auto r = run({"sh", "-c", "command -v minisign"});
  INFO("minisign (Debian package minisign) is the oracle of these tests; install it");
  REQUIRE(r.exit_code == 0);
}

// minisign -V, which prints this line only when both signatures verify.
bool minisign_verifies(const std::string& dir, const std::string& pub, const std::string& file,
                       const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv{"minisign", "-V", "-p", pub, "-m", file};
  argv.insert(argv.end(), extra.begin(), extra.end());
  const auto r = run(argv, dir);
  INFO(r.out << r.err);
  return r.exit_code == 0 &&
         r.out.find("Signature and comment signature verified") != std::string::npos;
}

std::string b64(const std::string& bytes) {
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.pop_back();
  return out;
}

std::string unb64(const std::string& text) {
  std::string out(text.size(), '\0');
  size_t n = 0;
  REQUIRE(sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                            text.size(), nullptr, &n, nullptr,
                            sodium_base64_VARIANT_ORIGINAL) == 0);
  out.resize(n);
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    const size_t nl = text.find('\n', start);
    lines.push_back(text.substr(start, nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return lines;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// The Error a call throws (fails the test when it throws none).
Error error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    return e;
  }
  FAIL("no bpatch::Error was thrown");
  return Error(Errc::io, "", "");
}

}  // namespace

TEST_CASE("minisign -V accepts what bpatch keygen and bpatch sign make", "[sign]") {
  require_minisign();
  TempDir dir;
  write_file(dir / "update.bpatch", "bpatch 1\nremove old.dat\n");
  REQUIRE(bpatch_cmd({"keygen", "-o", "release"}, dir.path()).exit_code == 0);
  const auto st = PosixFileSystem().lstat(dir / "release.key");
  REQUIRE(st);
  CHECK(st->mode == 0600);

  // Prehashed (the default, as minisign's): -H requires exactly that form.
  REQUIRE(bpatch_cmd({"sign", "--key", "release.key", "update.bpatch"}, dir.path()).exit_code == 0);
  CHECK(minisign_verifies(dir.path(), "release.pub", "update.bpatch", {"-H"}));
  // Legacy, with a trusted comment that minisign reports back.
  REQUIRE(
      bpatch_cmd({"sign", "--legacy", "-t", "version 7", "--key", "release.key", "update.bpatch"},
                 dir.path())
          .exit_code == 0);
  CHECK(minisign_verifies(dir.path(), "release.pub", "update.bpatch"));
  CHECK_FALSE(minisign_verifies(dir.path(), "release.pub", "update.bpatch", {"-H"}));
  const auto q =
      run({"minisign", "-V", "-Q", "-p", "release.pub", "-m", "update.bpatch"}, dir.path());
  CHECK(q.out == "version 7\n");
  // An altered file fails minisign's check too (the oracle is not blind).
  write_file(dir / "update.bpatch", "bpatch 1\nremove other.dat\n");
  CHECK_FALSE(minisign_verifies(dir.path(), "release.pub", "update.bpatch"));

  // bpatch's unencrypted secret key is a key minisign signs with (-W).
  write_file(dir / "data", "some data\n");
  REQUIRE(run({"minisign", "-S", "-W", "-s", "release.key", "-m", "data"}, dir.path()).exit_code ==
          0);
  CHECK(bpatch_cmd({"verify-signature", "--trust", "release.pub", "data"}, dir.path()).exit_code ==
        0);
}

TEST_CASE("bpatch verifies what minisign -G and minisign -S make", "[sign]") {
  require_minisign();
  TempDir dir;
  REQUIRE(run({"minisign", "-G", "-W", "-p", "m.pub", "-s", "m.key"}, dir.path()).exit_code == 0);
  write_file(dir / "file", std::string(100000, 'x') + "end");

  for (const bool legacy : {false, true}) {
    INFO("legacy " << legacy);
    std::vector<std::string> argv{"minisign",        "-S", "-W", "-s", "m.key", "-m", "file", "-t",
                                  "made by minisign"};
    if (legacy) argv.push_back("-l");
    REQUIRE(run(argv, dir.path()).exit_code == 0);
    const auto r = bpatch_cmd({"verify-signature", "--trust", "m.pub", "file"}, dir.path());
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("trusted comment: made by minisign") != std::string::npos);

    PosixFileSystem fs;
    TrustPolicy policy;
    // The bare base64 string, as `minisign -P` takes it.
    policy.add(parse_public_key(lines_of(read_file(dir / "m.pub"))[1], "-P"));
    const VerifiedFile v = policy.verify_file(fs, dir / "file", true);
    CHECK(v.kind == (legacy ? SignatureKind::legacy : SignatureKind::prehashed));
    CHECK(v.contents == read_file(dir / "file"));
    // minisign's comment prints the id without leading zeros.
    CHECK(std::stoull(key_id_hex(v.key_id), nullptr, 16) ==
          std::stoull(lines_of(read_file(dir / "m.pub"))[0].substr(39), nullptr, 16));
  }

  // bpatch signs with minisign's secret key; minisign verifies.
  write_file(dir / "other", "other");
  REQUIRE(bpatch_cmd({"sign", "--key", "m.key", "other"}, dir.path()).exit_code == 0);
  CHECK(minisign_verifies(dir.path(), "m.pub", "other"));
}

TEST_CASE("password-protected keys are minisign's scrypt scheme", "[sign]") {
  require_minisign();
  TempDir dir;
  PosixFileSystem fs;
  const std::string password = "correct horse battery";
  write_file(dir / "password", password + "\n");
  write_file(dir / "file", "firmware image\n");

  // bpatch encrypts (with cheap scrypt limits, which the key file records);
  // minisign decrypts it with the password on stdin and signs.
  const SecretKey key = generate_secret_key();
  write_key_pair(fs, dir / "b", key, password, KdfLimits::interactive());
  CHECK(secret_key_is_encrypted(read_file(dir / "b.key"), "b.key"));
  const auto signed_by_minisign =
      shell("printf '%s\\n' '" + password + "' | minisign -S -s b.key -m file", dir.path());
  INFO(signed_by_minisign.out << signed_by_minisign.err);
  REQUIRE(signed_by_minisign.exit_code == 0);
  CHECK(bpatch_cmd({"verify-signature", "--trust", "b.pub", "file"}, dir.path()).exit_code == 0);
  // And a wrong password fails minisign's check as it fails ours.
  CHECK(shell("printf 'wrong\\n' | minisign -S -s b.key -m file -x other.minisig", dir.path())
            .exit_code != 0);
  const Error wrong = error_of([&] { load_secret_key(fs, dir / "b.key", "wrong"); });
  CHECK(wrong.code() == Errc::bad_signature);
  CHECK_THAT(wrong.message(), Catch::Contains("wrong password"));
  CHECK(error_of([&] { load_secret_key(fs, dir / "b.key", std::nullopt); })
            .message()
            .find("password-protected") != std::string::npos);
  const SecretKey back = load_secret_key(fs, dir / "b.key", password);
  CHECK(back.public_key() == key.public_key());

  // minisign encrypts (its full 1 GiB scrypt, a few seconds); bpatch signs
  // with it, given the password in a file; minisign verifies.
  const auto made = shell(
      "printf '%s\\n%s\\n' '" + password + "' '" + password + "' | minisign -G -p m.pub -s m.key",
      dir.path());
  INFO(made.out << made.err);
  REQUIRE(made.exit_code == 0);
  CHECK(bpatch_cmd({"sign", "--key", "m.key", "file"}, dir.path()).exit_code == 1);
  REQUIRE(bpatch_cmd({"sign", "--key", "m.key", "--password-file", "password", "file"}, dir.path())
              .exit_code == 0);
  CHECK(minisign_verifies(dir.path(), "m.pub", "file"));
}

TEST_CASE("hostile signature files are each refused with their own error", "[sign]") {
  TempDir dir;
  PosixFileSystem fs;
  const SecretKey key = generate_secret_key();
  const SecretKey other = generate_secret_key();
  TrustPolicy policy;
  policy.add(key.public_key());
  write_file(dir / "file", "the signed file\n");
  sign_file(fs, key, dir / "file", {});
  const std::string good = read_file(dir / "file.minisig");
  const auto lines = lines_of(good);
  REQUIRE(lines.size() == 4);
  REQUIRE_NOTHROW(policy.verify_file(fs, dir / "file"));

  auto with_line = [&](size_t i, const std::string& text) {
    auto l = lines;
    l[i] = text;
    return joined(l);
  };
  auto with_raw = [&](size_t i, const std::function<void(std::string&)>& change) {
    std::string raw = unb64(lines[i]);
    change(raw);
    return with_line(i, b64(raw));
  };
  Signature by_other = sign_bytes(other, std::as_bytes(std::span("x", 1)), {}, "x");
  struct Case {
    const char* name;
    std::string signature;  // the .minisig text; "" = no file
    Errc code;
    const char* message;
  };
  const std::vector<Case> cases{
      {"missing", "", Errc::bad_signature, "not signed"},
      {"empty", "\n", Errc::bad_signature, "line 1"},
      {"truncated after line 1", joined({lines[0]}), Errc::bad_signature, "line 2: truncated"},
      {"truncated after line 2", joined({lines[0], lines[1]}), Errc::bad_signature,
       "line 3: truncated"},
      {"truncated after line 3", joined({lines[0], lines[1], lines[2]}), Errc::bad_signature,
       "line 4: truncated"},
      {"empty signature line", with_line(1, ""), Errc::bad_signature,
       "line 2: signature is an empty line"},
      {"signature line cut short", with_line(1, lines[1].substr(0, 40)), Errc::bad_signature,
       "line 2: signature"},
      {"signature of the wrong length", with_raw(1, [](std::string& r) { r.pop_back(); }),
       Errc::bad_signature, "decodes to 73 bytes, not 74"},
      {"bad base64", with_line(1, std::string(lines[1].size(), '!')), Errc::bad_signature,
       "line 2: signature is not valid base64"},
      {"bad base64 global signature", with_line(3, "@@@@" + lines[3].substr(4)),
       Errc::bad_signature, "line 4: global signature is not valid base64"},
      {"wrong algorithm id", with_raw(1, [](std::string& r) { r[0] = 'X', r[1] = 'y'; }),
       Errc::bad_signature, "unsupported signature algorithm 'Xy'"},
      {"wrong key id", with_raw(1, [](std::string& r) { r[2] ^= 1; }), Errc::bad_signature,
       "which is not a trusted key"},
      {"signed by another key", format_signature(by_other), Errc::bad_signature,
       "which is not a trusted key"},
      {"signature altered", with_raw(1, [](std::string& r) { r[20] ^= 1; }), Errc::bad_signature,
       "the file was altered"},
      {"legacy id on a prehashed signature", with_raw(1, [](std::string& r) { r[1] = 'd'; }),
       Errc::bad_signature, "the file was altered"},
      {"trusted comment altered", with_line(2, lines[2] + " (edited)"), Errc::bad_signature,
       "the comment was altered"},
      {"global signature altered", with_raw(3, [](std::string& r) { r[5] ^= 1; }),
       Errc::bad_signature, "the comment was altered"},
      {"no untrusted comment line", with_line(0, "comment: x"), Errc::bad_signature,
       "line 1: the first line must start with \"untrusted comment: \""},
      {"no trusted comment prefix", with_line(2, "comment: x"), Errc::bad_signature,
       "line 3: the third line must start with \"trusted comment: \""},
      {"NUL in the trusted comment", with_line(2, lines[2] + std::string(1, '\0')),
       Errc::bad_signature, "NUL"},
      {"huge", good + std::string(kMaxSignatureFileSize, 'A'), Errc::too_large,
       "larger than 16384 bytes"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    if (c.signature.empty())
      std::filesystem::remove(dir / "file.minisig");
    else
      write_file(dir / "file.minisig", c.signature);
    const Error e = error_of([&] { policy.verify_file(fs, dir / "file"); });
    INFO(e.what());
    CHECK(e.code() == c.code);
    CHECK_THAT(e.message(), Catch::Contains(c.message));
    CHECK_THAT(e.path(), Catch::StartsWith(dir / "file"));
  }
  // The file itself altered, under a good signature.
  write_file(dir / "file.minisig", good);
  write_file(dir / "file", "the signed file!\n");
  const Error altered = error_of([&] { policy.verify_file(fs, dir / "file"); });
  CHECK(altered.path() == dir / "file");
  CHECK_THAT(altered.message(), Catch::Contains("the file was altered"));
  // A file larger than the caller will hold is refused while it is read.
  write_file(dir / "file", "the signed file\n");
  const Error held = error_of([&] { policy.verify_file(fs, dir / "file", true, 10); });
  CHECK(held.code() == Errc::too_large);
  CHECK(held.path() == dir / "file");
  // Comment lines with CR LF line ends are minisign's too.
  write_file(dir / "file", "the signed file\n");
  std::string crlf;
  for (const auto& l : lines) crlf += l + "\r\n";
  write_file(dir / "file.minisig", crlf);
  CHECK_NOTHROW(policy.verify_file(fs, dir / "file"));
}

TEST_CASE("hostile key files are refused with their own error", "[sign]") {
  TempDir dir;
  PosixFileSystem fs;
  const SecretKey key = generate_secret_key();
  const std::string pub = format_public_key(key.public_key());
  const auto pub_lines = lines_of(pub);
  auto pub_error = [&](const std::string& text) {
    write_file(dir / "k.pub", text);
    return error_of([&] { load_public_key(fs, dir / "k.pub"); });
  };
  CHECK(load_public_key(fs, (write_file(dir / "k.pub", pub), dir / "k.pub")) == key.public_key());
  CHECK_THAT(pub_error(joined({pub_lines[0]})).message(), Catch::Contains("line 2: truncated"));
  CHECK_THAT(pub_error(joined({pub_lines[0], pub_lines[1].substr(0, 20)})).message(),
             Catch::Contains("line 2: public key"));
  CHECK_THAT(pub_error(joined({pub_lines[0], "%%" + pub_lines[1].substr(2)})).message(),
             Catch::Contains("not valid base64"));
  std::string raw = unb64(pub_lines[1]);
  raw[0] = 'E', raw[1] = 'E';
  CHECK_THAT(pub_error(joined({pub_lines[0], b64(raw)})).message(),
             Catch::Contains("unsupported key algorithm 'EE'"));
  const Error huge = pub_error(pub + std::string(kMaxKeyFileSize, '\n'));
  CHECK(huge.code() == Errc::too_large);
  CHECK(huge.path() == dir / "k.pub");

  const std::string sk = format_secret_key(key, std::nullopt);
  const auto sk_lines = lines_of(sk);
  auto sk_error = [&](const std::function<void(std::string&)>& change) {
    std::string r = unb64(sk_lines[1]);
    change(r);
    return error_of([&] { parse_secret_key(joined({sk_lines[0], b64(r)}), "k.key", "pw"); });
  };
  CHECK(parse_secret_key(sk, "k.key", std::nullopt).public_key() == key.public_key());
  CHECK_THAT(sk_error([](std::string& r) { r[2] = 'X'; }).message(),
             Catch::Contains("unsupported key derivation"));
  CHECK_THAT(sk_error([](std::string& r) { r[4] = 'X'; }).message(),
             Catch::Contains("unsupported checksum"));
  CHECK_THAT(sk_error([](std::string& r) { r[60] ^= 1; }).message(),
             Catch::Contains("checksum does not match"));
  // A key that asks scrypt for 2^40 bytes of memory is refused before scrypt runs.
  const Error greedy = sk_error([](std::string& r) {
    r[2] = 'S', r[3] = 'c';
    r[46 + 5] = 1;
  });
  CHECK_THAT(greedy.message(), Catch::Contains("scrypt limits"));
}

TEST_CASE("apply --trust applies a signed script and refuses any other untouched", "[sign][cli]") {
  TempDir dir;
  const std::string root = dir / "root";
  write_file(root + "/app.txt", "version 1\n");
  REQUIRE(bpatch_cmd({"keygen", "-q", "-o", "good"}, dir.path()).exit_code == 0);
  REQUIRE(bpatch_cmd({"keygen", "-q", "-o", "evil"}, dir.path()).exit_code == 0);
  const std::string script = "bpatch 1\nput app.txt hex:76657273696f6e20320a\n";  // "version 2\n"
  write_file(dir / "bundle/update.bpatch", script);
  const std::vector<std::string> apply{"apply",   "--root",   root,
                                       "--trust", "good.pub", "bundle/update.bpatch"};
  const Tree before = snapshot(root);

  auto refused = [&](const char* why, const char* message) {
    INFO(why);
    const auto r = bpatch_cmd(apply, dir.path());
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains(message));
    CHECK(snapshot(root) == before);
  };
  refused("unsigned", "not signed");
  REQUIRE(bpatch_cmd({"sign", "-q", "--key", "evil.key", "bundle/update.bpatch"}, dir.path())
              .exit_code == 0);
  refused("wrong key", "which is not a trusted key");
  REQUIRE(bpatch_cmd({"sign", "-q", "--key", "good.key", "bundle/update.bpatch"}, dir.path())
              .exit_code == 0);
  write_file(dir / "bundle/update.bpatch", script + "remove app.txt\n");
  refused("altered script", "the file was altered");

  write_file(dir / "bundle/update.bpatch", script);
  // $BPATCH_TRUST alone requires a signature too.
  CHECK(
      shell("BPATCH_TRUST=evil.pub " + bpatch_binary() + " apply --root root bundle/update.bpatch",
            dir.path())
          .exit_code == 1);
  CHECK(snapshot(root) == before);
  const auto ok = bpatch_cmd(apply, dir.path());
  INFO(ok.out << ok.err);
  REQUIRE(ok.exit_code == 0);
  CHECK_THAT(ok.out, Catch::Contains("signature verified"));
  CHECK(read_file(root + "/app.txt") == "version 2\n");
}

// The whole flow of an updater's release: `bpatch diff --sign` makes a
// signed bundle that `minisign -V` accepts; `verify --trust` and
// `apply --trust KEY BUNDLE` (the bundle directory right after the key) check
// it; an altered data file is caught by the hash the signed script pins.
TEST_CASE("diff --sign makes a bundle that verify --trust and apply --trust accept",
          "[sign][cli]") {
  require_minisign();
  TempDir dir;
  write_file(dir / "old/lib.bin", std::string(5000, 'a') + "version 1");
  write_file(dir / "new/lib.bin", std::string(5000, 'a') + "version 2");
  write_file(dir / "new/added.txt", "new file\n");
  REQUIRE(std::system(("cp -r '" + (dir / "old") + "' '" + (dir / "tree") + "'").c_str()) == 0);
  REQUIRE(bpatch_cmd({"keygen", "-q", "-o", "rel"}, dir.path()).exit_code == 0);
  REQUIRE(bpatch_cmd({"keygen", "-q", "-o", "other"}, dir.path()).exit_code == 0);
  const auto d =
      bpatch_cmd({"diff", "-q", "old", "new", "-o", "b", "--sign", "rel.key"}, dir.path());
  INFO(d.out << d.err);
  REQUIRE(d.exit_code == 0);
  CHECK(run({"minisign", "-V", "-Q", "-p", "rel.pub", "-m", "b/update.bpatch"}, dir.path())
            .exit_code == 0);
  CHECK(bpatch_cmd({"verify", "-q", "--trust", "rel.pub", "b", "--root", "tree"}, dir.path())
            .exit_code == 0);
  CHECK(bpatch_cmd({"verify", "-q", "--trust", "other.pub", "b"}, dir.path()).exit_code == 1);

  // An altered data file: the signature still verifies, the pinned hash does not.
  const Tree before = snapshot(dir / "tree");
  for (const auto& entry : std::filesystem::directory_iterator(dir / "b/data")) {
    const std::string path = entry.path().string();
    const std::string good = read_file(path);
    std::string bad = good;
    bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 1);
    write_file(path, bad);
    const auto r = bpatch_cmd({"apply", "--trust", "rel.pub", "b", "--root", "tree"}, dir.path());
    INFO(path << ": " << r.err);
    CHECK(r.exit_code == 1);
    CHECK(snapshot(dir / "tree") == before);
    write_file(path, good);
  }
  const auto r =
      bpatch_cmd({"apply", "-q", "--trust", "rel.pub", "b", "--root", "tree"}, dir.path());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(read_file(dir / "tree/lib.bin") == read_file(dir / "new/lib.bin"));
  CHECK(read_file(dir / "tree/added.txt") == "new file\n");
}

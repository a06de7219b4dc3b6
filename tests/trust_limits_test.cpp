// Issue 9, items 4-7 (the parts in this file's tests): inputs that used to
// leave a stuck journal, fill the disk or misreport — each run through the
// real binary on real files, and refused (exit 1, nothing written) or done
// exactly.
#include <sys/mount.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>

#include "base/paths.hpp"
#include "formats/crc32.hpp"
#include "trust_support.hpp"

using namespace bpatch::testing;

namespace {

// The tree without the journal directory (made before validation).
Tree files_of(const std::string& root) {
  Tree out;
  for (const auto& [path, content] : snapshot(root))
    if (!path.starts_with(".bpatch")) out.emplace(path, content);
  return out;
}

// beat's variable-length number (BPS, UPS).
std::string beat_varint(uint64_t n) {
  std::string out;
  for (;;) {
    const uint64_t x = n & 0x7f;
    n >>= 7;
    if (n == 0) {
      out += static_cast<char>(0x80 | x);
      return out;
    }
    out += static_cast<char>(x);
    --n;
  }
}

std::string le32(uint32_t v) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[static_cast<size_t>(i)] = static_cast<char>(v >> (8 * i));
  return out;
}

uint32_t crc32_of(const std::string& s) {
  return bpatch::formats::crc32(std::as_bytes(std::span(s.data(), s.size())));
}

// A well-formed BPS patch of an empty file declaring a 1 TiB result: one
// byte read from the patch, then one TargetCopy of the rest from itself.
std::string bps_bomb() {
  const uint64_t tib = uint64_t{1} << 40;
  std::string p = "BPS1" + beat_varint(0) + beat_varint(tib) + beat_varint(0);
  p += beat_varint(((1 - 1) << 2) | 1) + "A";                   // TargetRead 1
  p += beat_varint(((tib - 1 - 1) << 2) | 3) + beat_varint(0);  // TargetCopy from 0
  p += le32(crc32_of("")) + le32(0x12345678);
  p += le32(crc32_of(p));
  return p;
}

std::string du_kib(const std::string& path) {
  const auto r = run({"du", "-k", path});
  REQUIRE(r.exit_code == 0);
  return r.out.substr(0, r.out.find('\t'));
}

}  // namespace

TEST_CASE("a patch declaring more than the free space is refused at once", "[trust][limits]") {
  TempDir dir;
  write_file(dir / "empty.bin", "");
  const std::string bomb = bps_bomb();
  INFO("patch size " << bomb.size());
  write_file(dir / "bomb.bps", bomb);
  for (const bool dry : {false, true}) {
    std::vector<std::string> args = {"apply", "--json"};
    if (dry) args.push_back("--dry-run");
    args.insert(args.end(), {"bomb.bps", "empty.bin"});
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = bpatch_run(args, dir.path());
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("\"code\":\"too_large\"") != std::string::npos);
    CHECK(r.err.find("1099511627776") != std::string::npos);
    CHECK(r.err.find("bytes are free") != std::string::npos);
    CHECK(secs < 5.0);
    CHECK(read_file(dir / "empty.bin").empty());
  }
  for (const auto& [path, content] : snapshot(dir.path()))
    CHECK(path.find(".bpatch-") == std::string::npos);
}

TEST_CASE("a path longer than PATH_MAX or a name longer than NAME_MAX is refused before writing",
          "[trust][limits]") {
  TempDir dir;
  std::string deep;
  while (deep.size() < 4200) deep += std::string(200, 'd') + "/";
  write_file(dir / "long.bpatch", "bpatch 1\nput " + deep + "f hex:00\n");
  write_file(dir / "name.bpatch", "bpatch 1\nput " + std::string(300, 'n') + " hex:00\n");
  for (const char* script : {"long.bpatch", "name.bpatch"}) {
    INFO(script);
    const auto before = files_of(dir.path());
    const auto r = bpatch_run({"apply", script}, dir.path());
    INFO(r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("_MAX") != std::string::npos);
    CHECK(files_of(dir.path()) == before);
    // The journal is not stuck: a later transaction works.
    write_file(dir / "ok.bpatch", "bpatch 1\nput ok.txt hex:4f4b\n");
    const auto ok = bpatch_run({"apply", "ok.bpatch"}, dir.path());
    INFO(ok.err);
    CHECK(ok.exit_code == 0);
    REQUIRE(::unlink((dir / "ok.txt").c_str()) == 0);
  }
}

TEST_CASE("a bind-mounted target is refused before writing", "[trust][limits]") {
  BPATCH_REQUIRE_ROOT();
  TempDir dir;
  write_file(dir / "root/hosts", "inside\n");
  write_file(dir / "elsewhere", "outside\n");
  if (::mount((dir / "elsewhere").c_str(), (dir / "root/hosts").c_str(), nullptr, MS_BIND,
              nullptr) != 0) {
    WARN("skipped: cannot bind-mount here (" << std::strerror(errno) << ")");
    return;
  }
  write_file(dir / "t.bpatch", "bpatch 1\nedit hosts\n  append hex:41\n");
  const auto r = bpatch_run({"apply", "--root", dir / "root", "t.bpatch"}, dir.path());
  const auto status = bpatch_run({"status", "--root", dir / "root"}, dir.path());
  const std::string seen = read_file(dir / "root/hosts");
  ::umount2((dir / "root/hosts").c_str(), MNT_DETACH);
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("mount point") != std::string::npos);
  CHECK(seen == "outside\n");
  CHECK(read_file(dir / "elsewhere") == "outside\n");
  INFO(status.out << status.err);
  CHECK(status.exit_code == 0);
  CHECK(status.out.find("no pending transactions") != std::string::npos);
}

TEST_CASE("a sparse file keeps its holes", "[trust][limits]") {
  TempDir dir;
  REQUIRE(run({"truncate", "-s", "1G", dir / "sparse.img"}).exit_code == 0);
  if (std::stoul(du_kib(dir / "sparse.img")) > 1024) {
    WARN("skipped: this file system does not keep holes");
    return;
  }
  write_file(dir / "t.bpatch", "bpatch 1\nedit sparse.img\n  write 0x20000000 hex:01\n");
  const auto r = bpatch_run({"apply", "t.bpatch"}, dir.path());
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  struct stat st;
  REQUIRE(::stat((dir / "sparse.img").c_str(), &st) == 0);
  CHECK(st.st_size == (off_t{1} << 30));
  CHECK(std::stoul(du_kib(dir / "sparse.img")) < 1024);  // 1 GiB apparent, a block or two used
  const auto byte =
      run({"sh", "-c", "dd if=sparse.img bs=1 skip=536870911 count=3 2>/dev/null | od -An -tx1"},
          dir.path());
  CHECK(byte.out.find("00 01 00") != std::string::npos);
}

TEST_CASE("long names sharing a prefix get different shadows", "[trust][paths]") {
  const std::string a = "/r/" + std::string(250, 'x') + "-a";
  const std::string b = "/r/" + std::string(250, 'x') + "-b";
  const std::string txid = "0123456789abcdef-01234567";
  const auto sa = bpatch::paths::shadow_path(a, txid), sb = bpatch::paths::shadow_path(b, txid);
  CHECK(sa != sb);
  CHECK(bpatch::paths::basename(sa).size() <= 255);
  CHECK(bpatch::paths::is_shadow_of(sa, txid));
  CHECK(bpatch::paths::shadow_path(a, txid) == sa);  // deterministic: replay can check it
  CHECK(bpatch::paths::shadow_path("/r/short", txid) == "/r/.short.bpatch-" + txid);
  // And for real: two such files changed in one transaction.
  TempDir dir;
  const std::string na = std::string(240, 'y') + "-a", nb = std::string(240, 'y') + "-b";
  write_file(dir / "t.bpatch", "bpatch 1\nput " + na + " hex:41\nput " + nb + " hex:42\n");
  const auto r = bpatch_run({"apply", "t.bpatch"}, dir.path());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(read_file(dir / na) == "A");
  CHECK(read_file(dir / nb) == "B");
}

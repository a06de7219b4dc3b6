// bpatch diff, verify and the idempotent apply of bundles, checked with the
// real tools as oracles: Debian's bspatch reads our bsdiff patches,
// `zstd -d --patch-from` our zstd ones, and `bpatch apply` turns a copy of
// OLD into exactly NEW (bytes and permission bits), once.
#include "bpatch/diff.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "bpatch/error.hpp"
#include "bpatch/format.hpp"
#include "bpatch/hash.hpp"
#include "bpatch/io.hpp"
#include "bpatch/posix_file_system.hpp"
#include "testing/test_files.hpp"

using namespace bpatch;
using namespace bpatch::testing;
namespace fs = std::filesystem;

namespace {

// The oracles are installed by .ci/install-deps: a missing one fails the test.
void require_tool(const std::string& tool) {
  INFO(tool << " is needed as the oracle (apt-get install it)");
  REQUIRE(::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) == 0);
}

std::string mutate(std::mt19937_64& rng, std::string s) {
  // A few overwrites, an insertion and a deletion: what a new version does.
  for (int i = 0; i < 5 && !s.empty(); ++i) s[rng() % s.size()] = static_cast<char>(rng());
  if (!s.empty()) s.insert(rng() % s.size(), random_bytes(rng, 300));
  if (s.size() > 1000) s.erase(rng() % (s.size() - 500), 200);
  return s;
}

// Path -> content (or "dir") and permission bits, without the journal.
std::map<std::string, std::pair<std::string, unsigned>> tree_state(const std::string& root) {
  std::map<std::string, std::pair<std::string, unsigned>> out;
  for (const auto& [path, content] : snapshot(root)) {
    if (path == ".bpatch" || path.starts_with(".bpatch/")) continue;
    if (path.find(".bpatch-keep-") != std::string::npos) continue;  // undo's kept originals
    struct stat st {};
    REQUIRE(::lstat((root + "/" + path).c_str(), &st) == 0);
    out[path] = {content, st.st_mode & 07777};
  }
  return out;
}

void require_no_shadows(const std::string& root) {
  for (const auto& [path, content] : snapshot(root)) {
    INFO(path);
    // The undo generation apply keeps by default is no leftover.
    if (is_undo_generation(path)) continue;
    CHECK(path.find(".bpatch-") == std::string::npos);
    CHECK_FALSE((path.starts_with(".bpatch/") && path != ".bpatch/LOCK"));
  }
}

void copy_tree(const std::string& from, const std::string& to) {
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
}

// OLD and NEW trees with every change the current script can express.
struct TreePair {
  TempDir dir;
  std::string old_root = dir / "old", new_root = dir / "new";
  TreePair() {
    std::mt19937_64 rng(42);
    const std::string big = random_bytes(rng, 1 << 20);
    const std::string small = random_bytes(rng, 5000);
    write_file(old_root + "/big.bin", big);
    write_file(new_root + "/big.bin", mutate(rng, big));
    write_file(old_root + "/lib/small.so", small);
    write_file(new_root + "/lib/small.so", mutate(rng, small));
    write_file(old_root + "/lib/same.txt", "unchanged\n");
    write_file(new_root + "/lib/same.txt", "unchanged\n");
    write_file(old_root + "/bin/tool", "#!/bin/sh\necho tool\n");
    write_file(new_root + "/bin/tool", "#!/bin/sh\necho tool\n");
    fs::permissions(new_root + "/bin/tool", fs::perms(0755));
    write_file(old_root + "/lib/gone.dat", random_bytes(rng, 777));
    write_file(old_root + "/empty-to-full", "");
    write_file(new_root + "/empty-to-full", random_bytes(rng, 4000));
    write_file(old_root + "/full-to-empty", random_bytes(rng, 4000));
    write_file(new_root + "/full-to-empty", "");
    write_file(new_root + "/share/new dir/a=b #1.txt", std::string(20000, 'x'));
    write_file(new_root + "/share/new dir/deeper/noise", random_bytes(rng, 3000));
    fs::permissions(new_root + "/share/new dir/deeper/noise", fs::perms(0600));
  }
};

// The script's text: `bpatch diff` writes it as one zstd frame.
std::string script_of(const std::string& bundle) {
  require_tool("zstd");
  const auto text = run({"zstd", "-q", "-d", "-c", bundle + "/update.bpatch"});
  REQUIRE(text.exit_code == 0);
  return text.out;
}

}  // namespace

TEST_CASE("bsdiff patches of bpatch diff are read by Debian's bspatch and by bpatch apply",
          "[diff]") {
  require_tool("bspatch");
  std::mt19937_64 rng(7);
  const std::string base = random_bytes(rng, 300000);
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {base, mutate(rng, base)},
      {"", random_bytes(rng, 1000)},
      {random_bytes(rng, 1000), ""},
      {base, base},
      {std::string(100000, '\0'), std::string(50000, '\0') + "x" + std::string(50000, '\0')},
      {base.substr(0, 1), base.substr(0, 2)},
  };
  for (size_t i = 0; i < pairs.size(); ++i) {
    INFO("pair " << i);
    TempDir dir;
    write_file(dir / "old", pairs[i].first);
    write_file(dir / "new", pairs[i].second);
    const auto made =
        bpatch_cmd({"diff", "--format", "bsdiff", "old", "new", "-o", "p"}, dir.path());
    REQUIRE(made.exit_code == 0);
    CHECK(read_file(dir / "p").starts_with("BSDIFF40"));
    REQUIRE(run({"bspatch", "old", "theirs", "p"}, dir.path()).exit_code == 0);
    CHECK(read_file(dir / "theirs") == pairs[i].second);
    REQUIRE(bpatch_cmd({"apply", "p", "old", "-o", "ours"}, dir.path()).exit_code == 0);
    CHECK(read_file(dir / "ours") == pairs[i].second);
  }
}

TEST_CASE("zstd patches of bpatch diff are decoded by zstd -d --patch-from", "[diff]") {
  require_tool("zstd");
  std::mt19937_64 rng(8);
  const std::string base = random_bytes(rng, 400000);
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {base, mutate(rng, base)},
      {base.substr(0, 1000), base + base},  // the new file is much larger than the old
      {"", random_bytes(rng, 1000)},
      {random_bytes(rng, 1000), ""},
  };
  for (size_t i = 0; i < pairs.size(); ++i) {
    INFO("pair " << i);
    TempDir dir;
    write_file(dir / "old", pairs[i].first);
    write_file(dir / "new", pairs[i].second);
    const auto made =
        bpatch_cmd({"diff", "--format", "zstd", "old", "new", "-o", "p.zst"}, dir.path());
    REQUIRE(made.exit_code == 0);
    const auto decoded =
        run({"zstd", "-q", "-d", "--patch-from=old", "p.zst", "-o", "out"}, dir.path());
    INFO(decoded.err);
    REQUIRE(decoded.exit_code == 0);
    CHECK(read_file(dir / "out") == pairs[i].second);
  }
  // The frame says its content size and carries a checksum.
  TempDir dir;
  write_file(dir / "old", base);
  write_file(dir / "new", mutate(rng, base));
  REQUIRE(
      bpatch_cmd({"diff", "--format", "zstd", "old", "new", "-o", "p.zst"}, dir.path()).exit_code ==
      0);
  const auto listed = run({"zstd", "-lv", "p.zst"}, dir.path());
  CHECK(listed.out.find("Decompressed Size:") != std::string::npos);
  CHECK(listed.out.find("Check: XXH64") != std::string::npos);
}

TEST_CASE("bsdiff above the memory threshold falls back to zstd and says so", "[diff]") {
  TempDir dir;
  std::mt19937_64 rng(9);
  const std::string old = random_bytes(rng, 3 << 20);
  write_file(dir / "old", old);
  write_file(dir / "new", mutate(rng, old));
  const auto made = bpatch_cmd(
      {"diff", "--format", "bsdiff", "--bsdiff-max-mib", "1", "old", "new", "-o", "p"}, dir.path());
  REQUIRE(made.exit_code == 0);
  CHECK(made.err.find("bsdiff refused") != std::string::npos);
  CHECK(read_file(dir / "p").substr(0, 4) == "\x28\xB5\x2F\xFD");
}

TEST_CASE("a bundle turns a copy of OLD into exactly NEW, once", "[diff]") {
  TreePair trees;
  const std::string bundle = trees.dir / "bundle";
  const auto made = bpatch_cmd({"diff", "--format", "bsdiff", "--threads", "2", trees.old_root,
                                trees.new_root, "-o", bundle});
  INFO(made.err);
  REQUIRE(made.exit_code == 0);
  const std::string script = script_of(bundle);
  INFO(script);
  CHECK(script.find("remove lib/gone.dat expect=xxh3:") != std::string::npos);
  CHECK(script.find("edit bin/tool expect=") != std::string::npos);
  CHECK(script.find("\"share/new dir/a=b #1.txt\"") != std::string::npos);
  CHECK(script.find("lib/same.txt") == std::string::npos);

  const std::string tree = trees.dir / "tree";
  copy_tree(trees.old_root, tree);
  const auto first = bpatch_cmd({"apply", bundle, "--root", tree});
  INFO(first.out << first.err);
  REQUIRE(first.exit_code == 0);
  CHECK(tree_state(tree) == tree_state(trees.new_root));
  require_no_shadows(tree);

  const auto second = bpatch_cmd({"apply", bundle + "/update.bpatch", "--root", tree});
  CHECK(second.exit_code == 0);
  CHECK(second.out.find("already up to date") != std::string::npos);
  CHECK(tree_state(tree) == tree_state(trees.new_root));

  // A tree half way (some files new, the rest old) is finished.
  const std::string half = trees.dir / "half";
  copy_tree(trees.old_root, half);
  fs::copy_file(trees.new_root + "/big.bin", half + "/big.bin",
                fs::copy_options::overwrite_existing);
  REQUIRE(bpatch_cmd({"apply", bundle, "--root", half}).exit_code == 0);
  CHECK(tree_state(half) == tree_state(trees.new_root));
}

TEST_CASE("a tree with one altered file is refused before anything is written", "[diff]") {
  TreePair trees;
  const std::string bundle = trees.dir / "bundle";
  REQUIRE(bpatch_cmd({"diff", "--format", "bsdiff", trees.old_root, trees.new_root, "-o", bundle})
              .exit_code == 0);
  const std::string tree = trees.dir / "tree";
  copy_tree(trees.old_root, tree);
  write_file(tree + "/lib/small.so", "someone else's version");
  const auto before = tree_state(tree);
  const auto applied = bpatch_cmd({"apply", bundle, "--root", tree});
  CHECK(applied.exit_code == 1);
  CHECK(applied.err.find("lib/small.so") != std::string::npos);
  CHECK(applied.err.find("neither the old version (expect=xxh3:") != std::string::npos);
  CHECK(applied.err.find("result=xxh3:") != std::string::npos);
  CHECK(tree_state(tree) == before);
  require_no_shadows(tree);
}

TEST_CASE("a bundle with one flipped bit is refused and nothing changes", "[diff]") {
  TreePair trees;
  const std::string bundle = trees.dir / "bundle";
  REQUIRE(bpatch_cmd({"diff", "--format", "bsdiff", trees.old_root, trees.new_root, "-o", bundle})
              .exit_code == 0);
  const std::string tree = trees.dir / "tree";
  copy_tree(trees.old_root, tree);
  const auto before = tree_state(tree);
  for (const auto& entry : fs::directory_iterator(bundle + "/data")) {
    const std::string data_file = entry.path().string();
    INFO(data_file);
    const std::string good = read_file(data_file);
    std::string bad = good;
    bad[bad.size() / 2] ^= 0x10;
    write_file(data_file, bad);
    const auto applied = bpatch_cmd({"apply", bundle, "--root", tree});
    CHECK(applied.exit_code == 1);
    CHECK(applied.err.find(entry.path().filename().string()) != std::string::npos);
    CHECK(tree_state(tree) == before);
    require_no_shadows(tree);
    const auto verified = bpatch_cmd({"verify", bundle});
    CHECK(verified.exit_code == 1);
    CHECK(verified.out.find("data damaged") != std::string::npos);
    write_file(data_file, good);
  }
}

TEST_CASE("a wrong result= is caught on the shadow before the commit", "[diff]") {
  TempDir dir;
  write_file(dir / "root/f", "old content");
  write_file(dir / "root/g", "other");
  const std::string wrong(32, '0');
  write_file(dir / "s.bpatch",
             "bpatch 1\nedit f result=xxh3:" + wrong + "\n  write 0 hex:4e4557\nremove g\n");
  const auto applied = bpatch_cmd({"apply", "--root", dir / "root", "s.bpatch"}, dir.path());
  CHECK(applied.exit_code == 1);
  CHECK(applied.err.find("but result= says xxh3:" + wrong) != std::string::npos);
  CHECK(read_file(dir / "root/f") == "old content");
  CHECK(read_file(dir / "root/g") == "other");
  require_no_shadows(dir / "root");
  // result= is for statements that produce content; patch= for deltas only.
  write_file(dir / "r.bpatch", "bpatch 1\nremove g result=xxh3:" + wrong + "\n");
  const auto rejected = bpatch_cmd({"apply", "--root", dir / "root", "r.bpatch"}, dir.path());
  CHECK(rejected.exit_code == 1);
  CHECK(rejected.err.find("takes no result=") != std::string::npos);
}

TEST_CASE("bpatch diff is deterministic", "[diff]") {
  TreePair trees;
  const auto a = bpatch_cmd({"diff", trees.old_root, trees.new_root, "-o", trees.dir / "a"});
  const auto b =
      bpatch_cmd({"diff", "--threads", "3", trees.old_root, trees.new_root, "-o", trees.dir / "b"});
  REQUIRE(a.exit_code == 0);
  REQUIRE(b.exit_code == 0);
  CHECK(snapshot(trees.dir / "a") == snapshot(trees.dir / "b"));
  CHECK(snapshot(trees.dir / "a").size() > 5);
}

TEST_CASE("bpatch verify checks data files and says which version a tree is at", "[diff]") {
  TreePair trees;
  const std::string bundle = trees.dir / "bundle";
  REQUIRE(bpatch_cmd({"diff", "--format", "bsdiff", trees.old_root, trees.new_root, "-o", bundle})
              .exit_code == 0);
  const auto plain = bpatch_cmd({"verify", bundle});
  CHECK(plain.exit_code == 0);
  CHECK(plain.out.find("data ok        data/0001.bsdiff") != std::string::npos);

  // 8 files and 3 new directories (share, share/new dir, share/new dir/deeper).
  const auto at_old = bpatch_cmd({"verify", bundle, "--root", trees.old_root, "--json"});
  CHECK(at_old.exit_code == 0);
  CHECK(at_old.out.find("\"summary\":{\"old\":11,\"new\":0,\"neither\":0}") != std::string::npos);
  const auto at_new = bpatch_cmd({"verify", bundle, "--root", trees.new_root});
  CHECK(at_new.exit_code == 0);
  CHECK(at_new.out.find("tree: 11 new, 0 old, 0 neither") != std::string::npos);

  const std::string tree = trees.dir / "tree";
  copy_tree(trees.old_root, tree);
  write_file(tree + "/big.bin", "changed by hand");
  const auto before = tree_state(tree);
  const auto mixed = bpatch_cmd({"verify", bundle, "--root", tree});
  CHECK(mixed.exit_code == 1);
  CHECK(mixed.out.find(
            "neither  big.bin (hashes to xxh3:" +
            hash_bytes(std::as_bytes(std::span(std::string_view("changed by hand")))).hex()) !=
        std::string::npos);
  CHECK(tree_state(tree) == before);  // verify writes nothing
}

TEST_CASE("symlinks, empty and removed directories are statements of their own", "[diff]") {
  TempDir dir;
  write_file(dir / "old/keep", "k");
  write_file(dir / "old/olddir/f", "f");
  write_file(dir / "new/keep", "k");
  fs::create_directories(dir / "new/empty");
  fs::create_symlink("keep", dir / "new/link");
  const auto made = bpatch_cmd({"diff", dir / "old", dir / "new", "-o", dir / "b", "--json"});
  REQUIRE(made.exit_code == 0);
  CHECK(made.out.find("\"complete\":true") != std::string::npos);
  CHECK(made.err.find("not in the bundle") == std::string::npos);
  const std::string script = script_of(dir / "b");
  CHECK(script.find("\nmkdir empty mode=0755\n") != std::string::npos);
  CHECK(script.find("\nsymlink link keep\n") != std::string::npos);
  CHECK(script.find("\nrmdir olddir\n") != std::string::npos);
  const std::string tree = dir / "tree";
  copy_tree(dir / "old", tree);
  CHECK(bpatch_cmd({"apply", dir / "b", "--root", tree}).exit_code == 0);
  CHECK_FALSE(exists(tree + "/olddir"));
  CHECK(fs::read_symlink(tree + "/link") == "keep");
  CHECK(fs::is_directory(tree + "/empty"));
  // --tree-statements is still accepted (it is what diff does anyway).
  const auto with =
      bpatch_cmd({"diff", "--tree-statements", dir / "old", dir / "new", "-o", dir / "c"});
  CHECK(with.exit_code == 0);
  CHECK(with.err.find("deprecated") != std::string::npos);
  CHECK(script_of(dir / "c") == script);
}

TEST_CASE("the library encoders round-trip through bpatch's decoders", "[diff]") {
  std::mt19937_64 rng(10);
  const std::string old_s = random_bytes(rng, 100000);
  const std::string new_s = mutate(rng, old_s);
  const auto old_b = std::as_bytes(std::span(old_s.data(), old_s.size()));
  const auto new_b = std::as_bytes(std::span(new_s.data(), new_s.size()));
  const auto patch = encode_bsdiff(old_b, new_b);
  MemorySource p(patch), o(old_b);
  MemorySink out;
  apply_patch(p, o, out);
  CHECK(out.data() == std::vector<std::byte>(new_b.begin(), new_b.end()));
  CHECK(zstd_patch_window_log(0, 0) == 10);
  CHECK(zstd_patch_window_log(uint64_t{1} << 20, 5) == 22);
  CHECK(zstd_patch_window_log(uint64_t{1} << 40, 0) == 31);
}

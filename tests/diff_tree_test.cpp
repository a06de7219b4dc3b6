// bpatch diff on whole trees, end to end through the real binary: a
// synthetic tree with every kind of change (content, mode only, new,
// retargeted and removed symlinks, new empty and removed directories,
// directory modes), diffed both ways, and the type changes. Each bundle must turn a
// copy of OLD into exactly NEW (bytes, permission bits of files and
// directories, symlink targets), say "already up to date" the second time,
// and refuse (exit 1, nothing changed, no shadow left) a tree with one
// altered file and a bundle with one flipped bit. Also: a new file's
// expect=none refuses to overwrite a file that is already there.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "testing/test_files.hpp"

using namespace bpatch::testing;
namespace fs = std::filesystem;

namespace {

// Path -> content ("dir", "symlink:T", or the bytes) and permission bits
// (0 for a symlink, whose bits mean nothing), without the journal.
using State = std::map<std::string, std::pair<std::string, unsigned>>;
State tree_state(const std::string& root) {
  State out;
  for (const auto& [path, content] : snapshot(root)) {
    if (path == ".bpatch" || path.starts_with(".bpatch/")) continue;
    struct stat st {};
    REQUIRE(::lstat((root + "/" + path).c_str(), &st) == 0);
    out[path] = {content, S_ISLNK(st.st_mode) ? 0u : st.st_mode & 07777};
  }
  return out;
}

void require_no_shadows(const std::string& root) {
  for (const auto& [path, content] : snapshot(root)) {
    INFO(path);
    CHECK(path.find(".bpatch-") == std::string::npos);
    // The journal holds its LOCK and, from `apply --keep 1` (the default),
    // the undo generation: its record and the kept originals.
    CHECK_FALSE(
        (path.starts_with(".bpatch/") && path != ".bpatch/LOCK" && !is_undo_generation(path)));
  }
}

void copy_tree(const std::string& from, const std::string& to) {
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  // fs::copy gives new directories the default mode: copy the modes too.
  for (auto it = fs::recursive_directory_iterator(from); it != fs::recursive_directory_iterator();
       ++it)
    if (it->is_directory() && !it->is_symlink())
      fs::permissions(to + "/" + fs::relative(it->path(), from).string(),
                      fs::status(it->path()).permissions());
}

std::string mutate(std::mt19937_64& rng, std::string s) {
  for (int i = 0; i < 5; ++i) s[rng() % s.size()] = static_cast<char>(rng());
  s.insert(rng() % s.size(), random_bytes(rng, 200));
  return s;
}

void mode(const std::string& path, unsigned bits) { fs::permissions(path, fs::perms(bits)); }

// The text of a bundle's script (one zstd frame), with the zstd CLI.
std::string script_of(const std::string& bundle) {
  INFO("zstd is the oracle (apt-get install zstd)");
  const auto text = run({"zstd", "-q", "-d", "-c", bundle + "/update.bpatch"});
  REQUIRE(text.exit_code == 0);
  return text.out;
}

// OLD and NEW with every kind of change a tree can have.
struct Trees {
  TempDir dir;
  std::string old_root = dir / "old", new_root = dir / "new";
  Trees() {
    std::mt19937_64 rng(11);
    const std::string o = old_root + "/", n = new_root + "/";
    const std::string big = random_bytes(rng, 60000);
    write_file(o + "content.bin", big);  // content
    write_file(n + "content.bin", mutate(rng, big));
    write_file(o + "bin/tool", "#!/bin/sh\n");  // mode only
    write_file(n + "bin/tool", "#!/bin/sh\n");
    mode(n + "bin/tool", 0755);
    write_file(o + "both", "old bytes and mode");  // content and mode
    write_file(n + "both", "new bytes and mode");
    mode(n + "both", 0600);
    write_file(o + "same", "same");
    write_file(n + "same", "same");
    write_file(o + "gone.txt", random_bytes(rng, 3000));       // removed file
    write_file(n + "lib/fresh.txt", random_bytes(rng, 3000));  // new file, existing dir
    write_file(o + "lib/keep", "k");
    write_file(n + "lib/keep", "k");
    fs::create_symlink("content.bin", n + "link-new");  // new symlink
    fs::create_symlink("content.bin", o + "link-re");   // retargeted symlink
    fs::create_symlink("same", n + "link-re");
    fs::create_symlink("same", o + "link-gone");  // removed symlink
    write_file(o + "olddir/sub/f", "f");          // removed directories
    write_file(o + "olddir/g", "g");
    fs::create_symlink("g", o + "olddir/sub/l");
    fs::create_directories(n + "empty/inner");  // new empty directories
    mode(n + "empty", 0700);
    write_file(n + "newdir/deep/x", "x");  // new directory with files, not 0755
    mode(n + "newdir", 0750);
    fs::create_symlink("../deep/x", n + "newdir/link");
    write_file(o + "modedir/f", "f");  // directory mode only
    write_file(n + "modedir/f", "f");
    mode(n + "modedir", 0700);
  }
};

// The whole story for one direction: exactly NEW, once; refusals change nothing.
void check_bundle(const std::string& work, const std::string& old_root, const std::string& new_root,
                  const std::string& victim = "content.bin") {
  fs::create_directories(work);
  const std::string bundle = work + "/bundle";
  const auto made = bpatch_cmd({"diff", old_root, new_root, "-o", bundle, "--json"});
  INFO(made.out << made.err);
  REQUIRE(made.exit_code == 0);
  CHECK(made.out.find("\"complete\":true") != std::string::npos);
  INFO(script_of(bundle));

  const std::string tree = work + "/tree";
  copy_tree(old_root, tree);
  REQUIRE(tree_state(tree) == tree_state(old_root));
  const auto first = bpatch_cmd({"apply", bundle, "--root", tree});
  INFO(first.out << first.err);
  REQUIRE(first.exit_code == 0);
  CHECK(tree_state(tree) == tree_state(new_root));
  require_no_shadows(tree);
  const auto second = bpatch_cmd({"apply", bundle, "--root", tree});
  INFO(second.out << second.err);
  CHECK(second.exit_code == 0);
  CHECK(second.out.find("already up to date") != std::string::npos);
  CHECK(tree_state(tree) == tree_state(new_root));

  // One altered file (one that the bundle changes) is refused.
  const std::string altered = work + "/altered";
  copy_tree(old_root, altered);
  write_file(altered + "/" + victim, "someone else's version");
  const auto before = tree_state(altered);
  const auto refused = bpatch_cmd({"apply", bundle, "--root", altered});
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find(victim) != std::string::npos);
  CHECK(tree_state(altered) == before);
  require_no_shadows(altered);

  // One flipped bit in any file of the bundle is refused.
  const std::string pristine = work + "/pristine";
  copy_tree(old_root, pristine);
  const auto untouched = tree_state(pristine);
  for (const auto& entry : fs::recursive_directory_iterator(bundle)) {
    if (!entry.is_regular_file()) continue;
    const std::string path = entry.path().string();
    INFO(path);
    const std::string good = read_file(path);
    std::string bad = good;
    bad[bad.size() / 2] ^= 0x04;
    write_file(path, bad);
    const auto flipped = bpatch_cmd({"apply", bundle, "--root", pristine});
    CHECK(flipped.exit_code == 1);
    CHECK(tree_state(pristine) == untouched);
    require_no_shadows(pristine);
    write_file(path, good);
  }
}

}  // namespace

TEST_CASE("a tree bundle makes exactly NEW, both ways, and refuses what it was not made for",
          "[diff-tree]") {
  Trees trees;
  TempDir forward, backward;
  {
    INFO("OLD -> NEW");
    check_bundle(forward.path(), trees.old_root, trees.new_root);
  }
  {
    INFO("NEW -> OLD");
    check_bundle(backward.path(), trees.new_root, trees.old_root);
  }
  // The statements, in their order: directories before what goes in them,
  // rmdir after what was in them, deepest first.
  const std::string script = script_of(forward / "bundle");
  const auto at = [&](const std::string& line) {
    INFO(line << "\n" << script);
    const auto pos = script.find("\n" + line);
    REQUIRE(pos != std::string::npos);
    return pos;
  };
  CHECK(at("mkdir newdir mode=0750") < at("mkdir newdir/deep mode=0755"));
  CHECK(at("mkdir newdir/deep mode=0755") < at("put newdir/deep/x "));
  CHECK(at("mkdir empty mode=0700") < at("mkdir empty/inner mode=0755"));
  CHECK(at("symlink link-new content.bin") > 0);
  CHECK(at("symlink link-re same") > 0);
  CHECK(at("remove olddir/sub/f expect=") < at("rmdir olddir/sub\n"));
  CHECK(at("remove olddir/sub/l") < at("rmdir olddir/sub\n"));
  CHECK(at("rmdir olddir/sub\n") < at("rmdir olddir\n"));
  CHECK(at("chmod modedir 0700") > 0);
  CHECK(script.find("lib/keep") == std::string::npos);
}

TEST_CASE("type changes: a symlink replaces a file, the others are listed, not half done",
          "[diff-tree]") {
  TempDir dir;
  const std::string o = dir / "old/", n = dir / "new/";
  write_file(o + "same", "same");
  write_file(n + "same", "same");
  write_file(o + "file-to-link", "was a file");
  fs::create_symlink("same", n + "file-to-link");
  write_file(o + "edited", "old");
  write_file(n + "edited", "new");
  {
    INFO("file -> symlink: one statement");
    check_bundle(dir / "forward", dir / "old", dir / "new", "edited");
    CHECK(script_of(dir / "forward/bundle").find("\nsymlink file-to-link same\n") !=
          std::string::npos);
  }
  // The way back (symlink -> file) and directory <-> file or symlink would
  // need two statements on one name (or a put through a symlink).
  fs::create_symlink("same", o + "link-to-file");
  write_file(n + "link-to-file", "is a file");
  write_file(o + "dir-to-file/inside", "i");
  write_file(n + "dir-to-file", "now a file");
  write_file(o + "file-to-dir", "a file");
  write_file(n + "file-to-dir/inside", "i");
  const auto made = bpatch_cmd({"diff", dir / "old", dir / "new", "-o", dir / "b", "--json"});
  INFO(made.out << made.err);
  REQUIRE(made.exit_code == 0);
  CHECK(made.out.find("\"complete\":false") != std::string::npos);
  for (const char* name : {"link-to-file", "dir-to-file", "file-to-dir"})
    CHECK(made.err.find(std::string("modified ") + name + " not in the bundle") !=
          std::string::npos);
  // What can be expressed is applied; the rest is left exactly as it was.
  copy_tree(dir / "old", dir / "tree");
  const auto applied = bpatch_cmd({"apply", dir / "b", "--root", dir / "tree"});
  INFO(applied.out << applied.err);
  REQUIRE(applied.exit_code == 0);
  CHECK(read_file(dir / "tree/edited") == "new");
  CHECK(fs::read_symlink(dir / "tree/file-to-link") == "same");
  CHECK(fs::read_symlink(dir / "tree/link-to-file") == "same");
  CHECK(read_file(dir / "tree/dir-to-file/inside") == "i");
  CHECK(read_file(dir / "tree/file-to-dir") == "a file");
  CHECK(read_file(dir / "tree/same") == "same");
}

TEST_CASE("a new file (expect=none) never overwrites a file that is already there", "[diff-tree]") {
  TempDir dir;
  write_file(dir / "old/keep", "k");
  write_file(dir / "new/keep", "k");
  write_file(dir / "new/sub/created", "the new file's content");
  const auto made = bpatch_cmd({"diff", dir / "old", dir / "new", "-o", dir / "b"});
  REQUIRE(made.exit_code == 0);
  const std::string script = script_of(dir / "b");
  INFO(script);
  CHECK(script.find("sub/created file:data/0002.bin expect=none result=xxh3:") !=
        std::string::npos);

  // Someone else's file at that name: refused, naming it, nothing changed.
  write_file(dir / "tree/keep", "k");
  write_file(dir / "tree/sub/created", "someone else's file");
  const auto before = tree_state(dir / "tree");
  const auto refused = bpatch_cmd({"apply", dir / "b", "--root", dir / "tree"});
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("sub/created") != std::string::npos);
  CHECK(refused.err.find("expect=none") != std::string::npos);
  CHECK(tree_state(dir / "tree") == before);
  require_no_shadows(dir / "tree");

  // The new file itself: already up to date.
  write_file(dir / "tree/sub/created", "the new file's content");
  const auto again = bpatch_cmd({"apply", dir / "b", "--root", dir / "tree"});
  CHECK(again.exit_code == 0);
  CHECK(again.out.find("already up to date") != std::string::npos);

  // The same for a delta (zstd) and in a hand-written script; expect=none
  // is for statements that create, and only once.
  write_file(dir / "s/data", "payload");
  write_file(dir / "s/ok.bpatch", "bpatch 1\nput fresh file:data expect=none\n");
  write_file(dir / "s/twice.bpatch", "bpatch 1\nput f file:data expect=none expect=none\n");
  write_file(dir / "s/remove.bpatch", "bpatch 1\nremove keep expect=none\n");
  CHECK(bpatch_cmd({"apply", dir / "s/ok.bpatch", "--root", dir / "tree"}).exit_code == 0);
  CHECK(read_file(dir / "tree/fresh") == "payload");
  const auto exists = bpatch_cmd({"apply", dir / "s/ok.bpatch", "--root", dir / "tree"});
  CHECK(exists.exit_code == 1);  // no result=: a file that exists is never "up to date"
  CHECK(exists.err.find("refusing to overwrite") != std::string::npos);
  const auto twice = bpatch_cmd({"apply", dir / "s/twice.bpatch", "--root", dir / "tree"});
  CHECK(twice.exit_code == 1);
  CHECK(twice.err.find("duplicate expect=") != std::string::npos);
  const auto removing = bpatch_cmd({"apply", dir / "s/remove.bpatch", "--root", dir / "tree"});
  CHECK(removing.exit_code == 1);
  CHECK(read_file(dir / "tree/keep") == "k");

  write_file(dir / "old2/f", "");
  write_file(dir / "new2/f", "");
  write_file(dir / "new2/z", std::string(5000, 'z'));
  REQUIRE(bpatch_cmd({"diff", "--format", "zstd", dir / "old2", dir / "new2", "-o", dir / "z"})
              .exit_code == 0);
  const std::string zscript = script_of(dir / "z");
  INFO(zscript);
  CHECK(zscript.find("delta z data/0002.zst expect=none result=") != std::string::npos);
  write_file(dir / "tree2/f", "");
  write_file(dir / "tree2/z", "not it");
  CHECK(bpatch_cmd({"apply", dir / "z", "--root", dir / "tree2"}).exit_code == 1);
  CHECK(read_file(dir / "tree2/z") == "not it");
  fs::remove(dir / "tree2/z");
  CHECK(bpatch_cmd({"apply", dir / "z", "--root", dir / "tree2"}).exit_code == 0);
  CHECK(read_file(dir / "tree2/z") == std::string(5000, 'z'));
}

TEST_CASE(
    "many small files: their patches in one pack and the script compressed, as zstd reads them",
    "[diff-tree]") {
  INFO("zstd is the oracle (apt-get install zstd)");
  REQUIRE(::system("command -v zstd >/dev/null 2>&1") == 0);
  TempDir dir;
  std::mt19937_64 rng(12);
  const std::string common = random_bytes(rng, 1500);
  for (int i = 0; i < 120; ++i) {
    const std::string name = "f" + std::to_string(1000 + i);
    const std::string old_content = common + random_bytes(rng, 300);
    std::string new_content = old_content;
    new_content[100] ^= 1;
    new_content += "tail";
    write_file(dir / ("old/" + name), old_content);
    write_file(dir / ("new/" + name), new_content);
  }
  const auto made = bpatch_cmd({"diff", dir / "old", dir / "new", "-o", dir / "b"});
  INFO(made.out << made.err);
  REQUIRE(made.exit_code == 0);
  CHECK(fs::exists(dir / "b/data/pack1.zst"));
  CHECK(std::distance(fs::directory_iterator(dir / "b/data"), fs::directory_iterator()) == 1);

  // The script is one zstd frame; the pack is one zstd frame of zstd frames.
  REQUIRE(run({"zstd", "-q", "-d", dir / "b/update.bpatch", "-o", dir / "script.txt"}).exit_code ==
          0);
  REQUIRE(run({"zstd", "-q", "-d", dir / "b/data/pack1.zst", "-o", dir / "pack"}).exit_code == 0);
  const std::string script = read_file(dir / "script.txt");
  const std::string pack = read_file(dir / "pack");
  CHECK(script.starts_with("bpatch 1\n"));
  const auto line = script.find("\ndelta f1007 data/pack1.zst ");
  REQUIRE(line != std::string::npos);
  const auto slice = script.find(" slice=", line);
  const auto plus = script.find('+', slice);
  const size_t offset = std::stoul(script.substr(slice + 7, plus - slice - 7));
  const size_t length = std::stoul(script.substr(plus + 1));
  REQUIRE(offset + length <= pack.size());
  write_file(dir / "slice.zst", pack.substr(offset, length));
  REQUIRE(run({"zstd", "-q", "-d", "--patch-from=" + (dir / "old/f1007"), dir / "slice.zst", "-o",
               dir / "f1007"})
              .exit_code == 0);
  CHECK(read_file(dir / "f1007") == read_file(dir / "new/f1007"));

  // bpatch applies it (and says the second time that it is up to date).
  copy_tree(dir / "old", dir / "tree");
  const auto applied = bpatch_cmd({"apply", dir / "b", "--root", dir / "tree"});
  INFO(applied.out << applied.err);
  REQUIRE(applied.exit_code == 0);
  CHECK(tree_state(dir / "tree") == tree_state(dir / "new"));
  const auto again = bpatch_cmd({"apply", dir / "b/update.bpatch", "--root", dir / "tree"});
  CHECK(again.exit_code == 0);
  CHECK(again.out.find("already up to date") != std::string::npos);
  CHECK(bpatch_cmd({"verify", dir / "b", "--root", dir / "tree"}).exit_code == 0);

  // A slice outside its pack is refused before anything is written.
  copy_tree(dir / "old", dir / "tree2");
  fs::create_directories(dir / "s/data");
  fs::copy_file(dir / "b/data/pack1.zst", dir / "s/data/pack1.zst");
  const std::string hash = script.substr(script.find("patch=xxh3:", line) + 11, 32);
  write_file(dir / "s/u.bpatch", "bpatch 1\ndelta f1007 data/pack1.zst patch=xxh3:" + hash +
                                     " slice=" + std::to_string(pack.size() - 2) + "+5\n");
  const auto before = tree_state(dir / "tree2");
  const auto outside = bpatch_cmd({"apply", dir / "s/u.bpatch", "--root", dir / "tree2"});
  CHECK(outside.exit_code == 1);
  CHECK(outside.err.find("is outside the pack") != std::string::npos);
  CHECK(tree_state(dir / "tree2") == before);
  require_no_shadows(dir / "tree2");

  // A pack that would decode to more than 16 MiB (a few hundred bytes of
  // zstd) is refused from its frame header, before any memory is given.
  write_file(dir / "zeros", std::string((16 << 20) + 1, '\0'));
  REQUIRE(run({"zstd", "-q", "-f", dir / "zeros", "-o", dir / "s/data/big.zst"}).exit_code == 0);
  write_file(dir / "s/big.bpatch", "bpatch 1\ndelta f1007 data/big.zst slice=0+10\n");
  const auto big = bpatch_cmd({"apply", dir / "s/big.bpatch", "--root", dir / "tree2"});
  CHECK(big.exit_code == 1);
  CHECK(big.err.find("more than the limit of 16 MiB") != std::string::npos);
  CHECK(tree_state(dir / "tree2") == before);
}

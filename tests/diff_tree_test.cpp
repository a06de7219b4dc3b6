// bpatch diff on whole trees, end to end through the real binary: a
// synthetic tree with every kind of change (content, mode only, new,
// retargeted and removed symlinks, new empty and removed directories,
// directory modes, type changes), diffed both ways. Each bundle must turn a
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

CommandResult bpatch_cmd(std::vector<std::string> args) {
  args.insert(args.begin(), bpatch_binary());
  return run(args);
}

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
    CHECK_FALSE((path.starts_with(".bpatch/") && path != ".bpatch/LOCK"));
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

// OLD and NEW with every kind of change a tree can have.
struct Trees {
  TempDir dir;
  std::string old_root = dir / "old", new_root = dir / "new";
  explicit Trees(bool type_changes) {
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
    if (type_changes) {
      write_file(o + "file-to-link", "was a file");
      fs::create_symlink("same", n + "file-to-link");
      fs::create_symlink("same", o + "link-to-file");
      write_file(n + "link-to-file", "is a file");
      write_file(o + "dir-to-file/inside", "i");
      write_file(n + "dir-to-file", "now a file");
      write_file(o + "file-to-dir", "a file");
      write_file(n + "file-to-dir/inside", "i");
      fs::create_symlink("same", o + "link-to-dir");
      fs::create_directories(n + "link-to-dir");
    }
  }
};

// The whole story for one direction: exactly NEW, once; refusals change nothing.
void check_bundle(const std::string& work, const std::string& old_root,
                  const std::string& new_root) {
  const std::string bundle = work + "/bundle";
  const auto made = bpatch_cmd({"diff", old_root, new_root, "-o", bundle, "--json"});
  INFO(made.out << made.err);
  REQUIRE(made.exit_code == 0);
  CHECK(made.out.find("\"complete\":true") != std::string::npos);
  INFO(read_file(bundle + "/update.bpatch"));

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
  const std::string victim = fs::exists(altered + "/content.bin") ? "content.bin" : "gone.txt";
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
  Trees trees(false);
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
  const std::string script = read_file(forward / "bundle/update.bpatch");
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

TEST_CASE("type changes: file, symlink and directory in each other's place, both ways",
          "[diff-tree]") {
  Trees trees(true);
  TempDir forward, backward;
  {
    INFO("OLD -> NEW");
    check_bundle(forward.path(), trees.old_root, trees.new_root);
  }
  {
    INFO("NEW -> OLD");
    check_bundle(backward.path(), trees.new_root, trees.old_root);
  }
}

TEST_CASE("a new file (expect=none) never overwrites a file that is already there", "[diff-tree]") {
  TempDir dir;
  write_file(dir / "old/keep", "k");
  write_file(dir / "new/keep", "k");
  write_file(dir / "new/sub/created", "the new file's content");
  const auto made = bpatch_cmd({"diff", dir / "old", dir / "new", "-o", dir / "b"});
  REQUIRE(made.exit_code == 0);
  const std::string script = read_file(dir / "b/update.bpatch");
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
  const std::string zscript = read_file(dir / "z/update.bpatch");
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

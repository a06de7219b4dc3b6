// The tree statements — symlink, mkdir, rmdir, chmod: parsing, the refusals
// that must happen before anything is written, idempotent re-application,
// and the real thing through the CLI on a real directory (modes exact
// whatever the umask, symlinks not followed). Their crash safety is proven
// by the crash explorer's "tree" scenario and the sync-mutation test.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "bpatch/error.hpp"
#include "bpatch/script.hpp"
#include "bpatch/transaction.hpp"
#include "journal/records.hpp"
#include "testing/crash_checks.hpp"
#include "testing/memory_file_system.hpp"
#include "testing/oracles.hpp"
#include "testing/test_files.hpp"

using namespace bpatch;
using namespace bpatch::testing;
namespace stdfs = std::filesystem;

namespace {

std::vector<Change> parse(const std::string& body) {
  return parse_script("bpatch 1\n" + body, "s.bpatch", "/scripts");
}

std::string parse_error(const std::string& body) {
  try {
    parse(body);
  } catch (const Error& e) {
    CHECK(e.code() == Errc::script_syntax);
    return e.what();
  }
  FAIL("no error for: " << body);
  return "";
}

// A tree over a MemoryFileSystem: t/a (0644), t/l -> a, t/d/, t/full/x.
std::unique_ptr<MemoryFileSystem> base_tree() {
  auto fs = std::make_unique<MemoryFileSystem>();
  fs->make_dirs("/r/t/d");
  fs->make_dirs("/r/t/full");
  fs->write_file("/r/t/a", "content of a");
  fs->write_file("/r/t/full/x", "x");
  fs->make_symlink("a", "/r/t/l");
  fs->sync_all();
  return fs;
}

TransactionOptions options() {
  TransactionOptions o;
  o.root = "/r";
  o.threads = 1;
  return o;
}

CommitResult commit(FileSystem& fs, std::vector<Change> changes) {
  Transaction t(fs, options());
  for (auto& c : changes) t.add(std::move(c));
  return t.commit();
}

// The change is refused with `code`, naming `needle`, and nothing changed.
void refused(std::vector<Change> changes, Errc code, const std::string& needle) {
  auto fs = base_tree();
  const Snapshot before = fs->snapshot("/r/t");
  try {
    commit(*fs, std::move(changes));
    FAIL("not refused");
  } catch (const Error& e) {
    INFO(e.what());
    CHECK(errc_name(e.code()) == std::string(errc_name(code)));
    CHECK(std::string(e.what()).find(needle) != std::string::npos);
  }
  CHECK(fs->snapshot("/r/t") == before);
  CHECK(find_records(*fs, "/r/.bpatch").empty());
}

}  // namespace

TEST_CASE("tree statements parse, and malformed ones name their line", "[tree]") {
  const auto changes = parse(
      "symlink lib/libfoo.so libfoo.so.2\n"
      "symlink \"with space\" \"../a b=c\"\n"
      "mkdir var/cache mode=0750\n"
      "rmdir old\n"
      "chmod bin/tool 4755\n");
  REQUIRE(changes.size() == 5);
  CHECK(changes[0].kind == Change::Kind::symlink);
  CHECK(changes[0].link_target == "libfoo.so.2");
  CHECK(changes[1].target == "with space");
  CHECK(changes[1].link_target == "../a b=c");
  CHECK(changes[2].kind == Change::Kind::mkdir);
  CHECK(changes[2].mode == 0750u);
  CHECK(changes[3].kind == Change::Kind::rmdir);
  CHECK(changes[4].kind == Change::Kind::chmod);
  CHECK(changes[4].mode == 04755u);
  CHECK(parse_error("mkdir d\n").find("s.bpatch: line 2: `mkdir` needs mode=") !=
        std::string::npos);
  CHECK(parse_error("chmod f 9\n").find("line 2: mode `9` is not an octal") != std::string::npos);
  CHECK(parse_error("chmod f\n").find("missing") != std::string::npos);
  CHECK(parse_error("symlink l \"\"\n").find("symlink text is empty") != std::string::npos);
  CHECK(parse_error("symlink l " + std::string(4096, 'x') + "\n").find("at most 4095") !=
        std::string::npos);
  CHECK(parse_error("rmdir d mode=0755\n").find("takes no mode=") != std::string::npos);
  CHECK(parse_error("symlink ../out x\n").find("climbs out") != std::string::npos);
}

TEST_CASE("a manifest's tree lines round-trip through the record encoding", "[tree]") {
  using journal::ManifestEntry;
  journal::ManifestRecord m{"0000000000000001-00000002", "/r/.bpatch", "/r", {}};
  ManifestEntry s;
  s.op = ManifestEntry::Op::symlink;
  s.shadow = "/r/.l.bpatch-0000000000000001-00000002";
  s.target = "/r/l";
  s.ino = 7;
  s.size = 3;
  s.mode = 0777;
  s.post_hash = hash_bytes(std::as_bytes(std::span("abc", 3)));
  ManifestEntry c;
  c.op = ManifestEntry::Op::chmod;
  c.target = "/r/d";
  c.ino = 8;
  c.mode = 01750;
  ManifestEntry d;
  d.op = ManifestEntry::Op::rmdir;
  d.target = "/r/old";
  d.ino = 9;
  m.entries = {s, c, d};
  const std::string bytes = journal::encode_manifest(m);
  CHECK(bytes.find("\nchmod /r/d ino=8 mode=1750\n") != std::string::npos);
  CHECK(bytes.find("\nrmdir /r/old ino=9\n") != std::string::npos);
  const auto back = journal::decode_manifest(bytes, "manifest");
  CHECK(back.entries == m.entries);
}

TEST_CASE("tree statements are refused before anything is written", "[tree]") {
  SECTION("rmdir of a directory that keeps an entry") {
    refused({Change::rmdir("t/full")}, Errc::usage, "is not empty: x stays in it");
  }
  SECTION("rmdir of a directory the transaction writes into") {
    refused({Change::remove("t/full/x"), Change::put("t/full/y", Data::from("y")),
             Change::rmdir("t/full")},
            Errc::usage, "also writes /r/t/full/y inside it");
  }
  SECTION("rmdir of a file or a symlink") {
    refused({Change::rmdir("t/a")}, Errc::not_regular, "is not a directory");
    refused({Change::rmdir("t/l")}, Errc::not_regular, "is not a directory");
  }
  SECTION("chmod of a symlink, which has no mode") {
    refused({Change::chmod("t/l", 0600)}, Errc::not_regular, "has no mode of its own");
  }
  SECTION("chmod of nothing") {
    refused({Change::chmod("t/missing", 0600)}, Errc::not_found, "does not exist");
  }
  SECTION("a symlink over a directory") {
    refused({Change::symlink("t/d", "a")}, Errc::not_regular, "is a directory");
  }
  SECTION("mkdir over a file or a symlink") {
    refused({Change::mkdir("t/a", 0755)}, Errc::not_regular, "is not a directory");
    refused({Change::mkdir("t/l", 0755)}, Errc::not_regular, "is not a directory");
  }
  SECTION("the journal itself") {
    refused({Change::mkdir(".bpatch", 0755)}, Errc::invalid_path, "journal");
  }
  SECTION("a valid statement next to a refused one changes nothing either") {
    refused({Change::mkdir("t/new", 0755), Change::symlink("t/l3", "a"), Change::rmdir("t/full")},
            Errc::usage, "is not empty");
  }
}

TEST_CASE("tree statements act on the name, and a second apply is up to date", "[tree]") {
  auto fs = base_tree();
  const std::vector<Change> changes = {
      Change::symlink("t/l", "d"),  Change::symlink("t/new", "a"), Change::mkdir("t/d", 0700),
      Change::mkdir("t/n/m", 0751), Change::chmod("t/a", 0604),    Change::remove("t/full/x"),
      Change::rmdir("t/full"),      Change::mkdir("t/n", 0711),
  };
  commit(*fs, changes);
  const Snapshot tree = fs->snapshot("/r/t");
  CHECK(tree.at("/r/t/l") == Node{FileType::symlink, 0777, "d"});
  CHECK(tree.at("/r/t/new") == Node{FileType::symlink, 0777, "a"});
  CHECK(tree.at("/r/t/d").mode == 0700u);
  CHECK(tree.at("/r/t/n/m") == Node{FileType::directory, 0751, ""});
  CHECK(tree.at("/r/t/a") == Node{FileType::regular, 0604, "content of a"});
  CHECK_FALSE(tree.contains("/r/t/full"));
  CHECK(find_shadows(*fs, "/r").empty());
  CHECK(find_records(*fs, "/r/.bpatch").empty());
  // mkdir of "t/n": also the new parent of t/n/m, in the same transaction.
  CHECK(tree.at("/r/t/n").mode == 0711u);

  std::vector<Change> again = changes;
  again.erase(again.begin() + 5);  // the remove (without expect=) needs its file
  const CommitResult second = commit(*fs, again);
  CHECK(second.txid.empty());  // nothing to write
  for (const auto& f : second.files) {
    INFO(f.target);
    CHECK(f.action == FileResult::Action::unchanged);
  }
  CHECK(fs->snapshot("/r/t") == tree);
}

TEST_CASE("bpatch apply makes a tree on disk: exact modes under any umask, links not followed",
          "[tree][cli]") {
  TempDir dir;
  const std::string root = dir / "root";
  stdfs::create_directories(root + "/old/sub");
  stdfs::create_directories(root + "/keep");
  write_file(root + "/f", "file");
  write_file(root + "/old/sub/x", "x");
  write_file(dir / "outside", "victim");
  stdfs::create_symlink(dir / "outside", root + "/escape");  // a link leading out of ROOT
  ::chmod((root + "/f").c_str(), 0644);
  write_file(dir / "s.bpatch",
             "bpatch 1\n"
             "mkdir new/deep mode=0750\n"
             "mkdir keep mode=01777\n"
             "chmod f 0600\n"
             "symlink f-link f\n"
             "symlink escape f\n"  // replaces the link itself, never what it names
             "remove old/sub/x\n"
             "rmdir old/sub\n"
             "rmdir old\n");
  const mode_t old_umask = ::umask(077);
  const auto r = run({bpatch_binary(), "apply", dir / "s.bpatch", "--root", root});
  ::umask(old_umask);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const auto mode = [](const std::string& p) {
    struct stat st {};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    return st.st_mode & 07777;
  };
  CHECK(mode(root + "/new/deep") == 0750u);
  CHECK(mode(root + "/keep") == 01777u);
  CHECK(mode(root + "/f") == 0600u);
  CHECK(read_file(root + "/f") == "file");
  CHECK(stdfs::read_symlink(root + "/f-link") == "f");
  CHECK(stdfs::read_symlink(root + "/escape") == "f");
  CHECK(read_file(dir / "outside") == "victim");
  CHECK_FALSE(stdfs::exists(root + "/old"));
  for (const auto& e : stdfs::recursive_directory_iterator(root)) {
    INFO(e.path());
    CHECK(e.path().string().find(".bpatch-") == std::string::npos);
  }
  const auto again = run({bpatch_binary(), "apply", dir / "s.bpatch", "--root", root});
  // The remove without expect= now finds nothing: a script that must be
  // re-runnable says expect= (as `bpatch diff` writes it).
  CHECK(again.exit_code == 1);
  INFO(again.err);
  CHECK(again.err.find("s.bpatch:7") != std::string::npos);
}

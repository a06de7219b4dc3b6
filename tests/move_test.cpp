// move and copy over the simulated file system: a move is a rename of the
// inode (no byte written), onto new and existing targets and into new
// directories, idempotent on a second run; a copy shares extents when the
// file system can, else copies; every refusal leaves the tree as it was.
#include <catch2/catch.hpp>

#include "bpatch/error.hpp"
#include "bpatch/script.hpp"
#include "bpatch/transaction.hpp"
#include "testing/crash_checks.hpp"
#include "testing/fault_file_system.hpp"
#include "testing/memory_file_system.hpp"
#include "testing/rom_encoders.hpp"

using namespace bpatch;
using namespace bpatch::testing;

namespace {

std::string text(const Bytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }
std::string rnd(size_t n, uint32_t seed) { return text(random_bytes(n, seed)); }
Hash128 hash_of(const std::string& s) {
  return hash_bytes(std::as_bytes(std::span(s.data(), s.size())));
}

CommitResult run(FileSystem& fs, const std::string& script) {
  Transaction tx(fs, explorer_tx_options("/r"));
  for (auto& c : parse_script(script, "/s/update.bpatch", "/s")) tx.add(std::move(c));
  return tx.commit();
}

// The error a script is refused with; the tree (journal aside) must be as it was.
Error refusal(MemoryFileSystem& fs, const std::string& script) {
  const Snapshot before = tree_without_journal(fs, "/r");
  try {
    run(fs, script);
  } catch (const Error& e) {
    CHECK((tree_without_journal(fs, "/r") == before));
    CHECK(find_shadows(fs, "/r").empty());
    CHECK(find_records(fs, "/r/.bpatch").empty());
    return e;
  }
  FAIL("the script was expected to be refused: " << script);
  throw;
}

bool traced(const MemoryFileSystem& fs, TraceOp::Kind kind, const std::string& part) {
  for (const auto& op : fs.trace())
    if (op.kind == kind && (op.path + " " + op.path2).find(part) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("move onto a new name in new directories moves the inode, copying nothing", "[move]") {
  MemoryFileSystem fs;
  fs.make_dirs("/r");
  const std::string data = rnd(300000, 1);
  fs.make_dirs("/r/old");
  fs.write_file("/r/old/big.bin", data, 0751);
  fs.sync_all();
  const uint64_t ino = fs.lstat("/r/old/big.bin")->id.ino;
  fs.reset_trace();
  const auto r = run(
      fs, "bpatch 1\nmove old/big.bin new/dir/big.bin expect=xxh3:" + hash_of(data).hex() + "\n");
  REQUIRE(r.files.size() == 1);
  CHECK(r.files[0].kind == Change::Kind::move);
  CHECK(r.files[0].action == FileResult::Action::created);
  CHECK_FALSE(fs.exists("/r/old/big.bin"));
  CHECK(fs.read_file("/r/new/dir/big.bin") == data);
  const auto st = fs.lstat("/r/new/dir/big.bin");
  CHECK(st->id.ino == ino);
  CHECK(st->mode == 0751);
  CHECK(st->nlink == 1);
  CHECK(traced(fs, TraceOp::Kind::link, "big.bin.bpatch-"));
  for (const auto& op : fs.trace()) {  // not one byte of the file written anywhere
    INFO(to_string(op));
    CHECK_FALSE((op.kind == TraceOp::Kind::write && op.path.find("/r/.bpatch/") != 0));
  }
  CHECK(find_shadows(fs, "/r").empty());
  CHECK(find_records(fs, "/r/.bpatch").empty());

  // A second run: the source is gone and the target has expect=: nothing to do.
  const auto again = run(
      fs, "bpatch 1\nmove old/big.bin new/dir/big.bin expect=xxh3:" + hash_of(data).hex() + "\n");
  CHECK(again.txid.empty());
  CHECK(again.files[0].action == FileResult::Action::unchanged);
}

TEST_CASE("move over an existing file replaces it, the manifest removes the old name", "[move]") {
  MemoryFileSystem fs;
  fs.make_dirs("/r");
  fs.make_dirs("/r/a");
  fs.write_file("/r/a/src", "the new content", 0640);
  fs.write_file("/r/a/dst", "the old content");
  fs.write_file("/r/keep", "kept");
  fs.sync_all();
  const uint64_t ino = fs.lstat("/r/a/src")->id.ino;
  // The manifest, as replay will read it.
  std::string manifest;
  fs.set_hook([&](const TraceOp& op) {
    if (op.kind == TraceOp::Kind::rename && op.path2.find("/manifest-") != std::string::npos)
      manifest = fs.read_file(op.path2);
  });
  const auto r = run(fs, "bpatch 1\nmove a/src a/dst\n");
  fs.set_hook(nullptr);
  CHECK(r.files[0].action == FileResult::Action::replaced);
  CHECK(fs.read_file("/r/a/dst") == "the new content");
  CHECK(fs.lstat("/r/a/dst")->id.ino == ino);
  CHECK(fs.lstat("/r/a/dst")->mode == 0640);
  CHECK_FALSE(fs.exists("/r/a/src"));
  CHECK(fs.read_file("/r/keep") == "kept");
  INFO(manifest);
  const std::string n = std::to_string(ino);
  const auto replace = manifest.find("replace /r/a/.dst.bpatch-");
  const auto remove = manifest.find("remove /r/a/src ino=" + n + " size=15");
  CHECK(replace != std::string::npos);
  CHECK(manifest.find("/r/a/dst ino=" + n + " size=15 mode=640") != std::string::npos);
  CHECK(remove != std::string::npos);
  CHECK(replace < remove);
}

TEST_CASE("move with another mode, or across file systems, copies and still removes", "[move]") {
  MemoryFileSystem fs;
  fs.make_dirs("/r");
  fs.write_file("/r/src", rnd(5000, 2), 0644);
  const std::string data = fs.read_file("/r/src");
  Transaction tx(fs, explorer_tx_options("/r"));
  tx.add(Change::move("src", "dst").with_mode(0600));
  tx.commit();
  CHECK(fs.read_file("/r/dst") == data);
  CHECK(fs.lstat("/r/dst")->mode == 0600);
  CHECK_FALSE(fs.exists("/r/src"));

  // A file system that refuses the link (EXDEV, as across mounts): copied.
  fs.write_file("/r/src2", data);
  FaultFileSystem faulty(fs);
  faulty.fail_from(FsOp::hard_link, 1, EXDEV);
  Transaction tx2(faulty, explorer_tx_options("/r"));
  tx2.add(Change::move("src2", "sub/dst2"));
  tx2.commit();
  CHECK(faulty.calls(FsOp::hard_link) == 1);
  CHECK(fs.read_file("/r/sub/dst2") == data);
  CHECK_FALSE(fs.exists("/r/src2"));
  CHECK(find_shadows(fs, "/r").empty());
}

TEST_CASE("an I/O error linking a move rolls it back", "[move]") {
  MemoryFileSystem fs;
  fs.make_dirs("/r");
  fs.write_file("/r/src", "content");
  FaultFileSystem faulty(fs);
  faulty.fail_from(FsOp::hard_link, 1, EIO);
  const Snapshot before = tree_without_journal(fs, "/r");
  Transaction tx(faulty, explorer_tx_options("/r"));
  tx.add(Change::move("src", "dst"));
  CHECK_THROWS_AS(tx.commit(), Error);
  CHECK((tree_without_journal(fs, "/r") == before));
  CHECK(find_shadows(fs, "/r").empty());
}

TEST_CASE("copy shares extents where the file system can, else copies", "[move]") {
  const std::string data = rnd(3 << 20, 3);
  for (const bool reflink : {true, false}) {
    INFO("reflink " << reflink);
    MemoryFileSystemOptions o;
    o.clone_range = reflink;
    o.copy_range = false;
    MemoryFileSystem fs(o);
    fs.make_dirs("/r");
    fs.write_file("/r/base.cfg", data, 0640);
    fs.sync_all();
    FaultFileSystem counting(fs);
    const auto r =
        run(counting, "bpatch 1\ncopy base.cfg site/site.cfg expect=xxh3:" + hash_of(data).hex() +
                          " mode=0600\n");
    CHECK(r.files[0].kind == Change::Kind::copy);
    CHECK(fs.read_file("/r/site/site.cfg") == data);
    CHECK(fs.read_file("/r/base.cfg") == data);
    CHECK(fs.lstat("/r/site/site.cfg")->mode == 0600);
    CHECK(fs.lstat("/r/base.cfg")->id.ino != fs.lstat("/r/site/site.cfg")->id.ino);
    CHECK(counting.calls(FsOp::clone_range) >= 1);
    // Shared: only the journal's records are written; copied: the data, by the MiB.
    if (reflink)
      CHECK(counting.calls(FsOp::write) < 8);
    else
      CHECK(counting.calls(FsOp::write) >= 3);
  }
  // Without mode=, the source's.
  MemoryFileSystem fs;
  fs.make_dirs("/r");
  fs.write_file("/r/a", "abc", 0755);
  run(fs, "bpatch 1\ncopy a b\n");
  CHECK(fs.lstat("/r/b")->mode == 0755);
  CHECK(fs.read_file("/r/b") == "abc");
}

TEST_CASE("move and copy refusals name the problem and change nothing", "[move]") {
  MemoryFileSystem fs;
  fs.make_dirs("/r");
  fs.make_dirs("/r/dir");
  fs.write_file("/r/a", "aaa");
  fs.write_file("/r/b", "bbb");
  fs.make_symlink("a", "/r/link");
  fs.sync_all();
  const std::string bad = "xxh3:" + std::string(32, '0');
  struct Case {
    std::string script, says;
  };
  const std::vector<Case> cases = {
      {"move dir x", "is a directory"},
      {"copy dir x", "is a directory"},
      {"move missing x", "does not exist"},
      {"move link x", "symbolic link"},
      {"move a a", "both the source and the target"},
      {"move a x expect=" + bad, "expected content"},
      {"copy a dir", "not a regular file"},
      {"move a .bpatch/x", "journal"},
      {"move ../a x", "climbs out of the root"},
      {"move a x\nedit a\n  append hex:00", "moved away"},
      {"move a x\nmove a y", "moved away"},
      {"edit a\n  append hex:00\nmove a x", "changes it before"},
      {"edit b\n  append hex:00\ncopy a b", "would undo it"},
      {"move a x\ncopy x y", "changes it before"},
      {"remove a\nremove a", "removed by"},
      {"remove a\nput a hex:00", "removed by"},
      {"put a hex:00\nremove a", "would undo it"},
      {"move a b\nmove b a", "changes it before"},
  };
  for (const auto& c : cases) {
    INFO(c.script);
    const Error e = refusal(fs, "bpatch 1\n" + c.script + "\n");
    INFO(e.what());
    CHECK(std::string(e.what()).find(c.says) != std::string::npos);
  }
  CHECK(fs.read_file("/r/a") == "aaa");
}

TEST_CASE("copy A B then move A C: B is A's old content, C is A", "[move]") {
  MemoryFileSystem fs;
  fs.make_dirs("/r");
  fs.write_file("/r/a", "content of a");
  fs.write_file("/r/c", "old c");
  run(fs, "bpatch 1\ncopy a b\nmove a c\n");
  CHECK(fs.read_file("/r/b") == "content of a");
  CHECK(fs.read_file("/r/c") == "content of a");
  CHECK_FALSE(fs.exists("/r/a"));
}

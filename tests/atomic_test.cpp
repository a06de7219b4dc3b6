// apply_atomic / undo_atomic / recover_atomic over a MemoryFileSystem: what
// the new release holds (modes, symlinks, files shared by reflink or hard
// link), the link's style, generations walked back by undo, a link changed
// by someone else during the build, damaged records, and every injected I/O
// error leaving LINK on exactly the old or the new release.
#include "bpatch/atomic.hpp"

#include <catch2/catch.hpp>

#include "bpatch/error.hpp"
#include "bpatch/file_system_wrapper.hpp"
#include "bpatch/hash.hpp"
#include "bpatch/recovery.hpp"
#include "release/release_record.hpp"
#include "testing/crash_scenarios.hpp"
#include "testing/fault_file_system.hpp"
#include "testing/memory_file_system.hpp"

using namespace bpatch;
using namespace bpatch::testing;

namespace {

void make_tree(MemoryFileSystem& fs, const std::string& link_text = "releases/v1") {
  fs.make_dirs("/srv/releases/v1/sub");
  fs.set_mode("/srv/releases/v1/sub", 0750);
  fs.set_mode("/srv/releases/v1", 0711);
  fs.write_file("/srv/releases/v1/a", "alpha-1");
  fs.write_file("/srv/releases/v1/d", "delta-1, never changed", 0640);
  fs.write_file("/srv/releases/v1/sub/c", "charlie-1", 0755);
  fs.make_symlink("../a", "/srv/releases/v1/sub/up");
  fs.make_dirs("/srv/releases/v1/empty", 0700);
  fs.make_symlink(link_text, "/srv/current");
  fs.sync_all();
}

AtomicOptions options() {
  AtomicOptions o;
  o.link = "/srv/current";
  o.threads = 1;
  return o;
}

std::vector<Change> update(const std::string& a = "alpha-2") {
  return {put_change("a", a), put_change("sub/new/n", "created")};
}

// The tree LINK names, with paths relative to it.
Snapshot through_link(MemoryFileSystem& fs) {
  std::string target = fs.read_link("/srv/current");
  if (target[0] != '/') target = "/srv/" + target;
  Snapshot out;
  for (const auto& [path, node] : fs.snapshot(target)) out[path.substr(target.size())] = node;
  return out;
}

}  // namespace

TEST_CASE("the new release mirrors the old one, shares its files and holds the changes",
          "[atomic]") {
  for (const bool reflinks : {false, true}) {
    MemoryFileSystemOptions fo;
    fo.clone_range = reflinks;
    MemoryFileSystem fs(fo);
    make_tree(fs);
    const Snapshot old_tree = fs.snapshot("/srv/releases/v1");
    const auto r = apply_atomic(fs, options(), update());
    INFO((reflinks ? "reflinks" : "hard links"));
    REQUIRE(!r.txid.empty());
    CHECK(r.new_release == "/srv/releases/v1.bpatch-" + r.txid);
    CHECK(fs.read_link("/srv/current") == "releases/v1.bpatch-" + r.txid);  // relative stays so
    CHECK(r.new_target == fs.read_link("/srv/current"));
    CHECK(fs.snapshot("/srv/releases/v1") == old_tree);
    const Snapshot now = through_link(fs);
    CHECK(now.at("/a").content == "alpha-2");
    CHECK(now.at("/sub/new/n").content == "created");
    CHECK(now.at("/d").content == "delta-1, never changed");
    CHECK(now.at("/d").mode == 0640);
    CHECK(now.at("/sub").mode == 0750);
    CHECK(now.at("/sub/c").mode == 0755);
    CHECK(now.at("/empty").mode == 0700);
    CHECK(now.at("/sub/up").type == FileType::symlink);
    CHECK(now.at("/sub/up").content == "../a");
    CHECK(fs.lstat(r.new_release)->mode == 0711);
    const auto old_d = fs.lstat("/srv/releases/v1/d"), new_d = fs.lstat(r.new_release + "/d");
    if (reflinks) {
      CHECK(r.files_reflinked == 3);
      CHECK(new_d->id.ino != old_d->id.ino);  // a copy sharing extents
    } else {
      CHECK(r.files_hard_linked == 3);
      CHECK(new_d->id.ino == old_d->id.ino);  // the very same inode
      CHECK(new_d->nlink == 2);
    }
    // The replaced file was split from the old release, never written in place.
    CHECK(fs.read_file("/srv/releases/v1/a") == "alpha-1");
    CHECK(fs.lstat("/srv/releases/v1/a")->nlink == 1);
    auto names = fs.list_dir("/srv/.bpatch");
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"LOCK", "generation-" + r.txid, "tree"});
    CHECK(fs.list_dir("/srv/.bpatch/tree") == std::vector<std::string>{"LOCK"});
  }
}

TEST_CASE("each update builds from the current release, undo walks back one generation each",
          "[atomic]") {
  MemoryFileSystem fs;
  make_tree(fs, "/srv/releases/v1");  // an absolute link stays absolute
  const auto r1 = apply_atomic(fs, options(), update("alpha-2"));
  const auto r2 = apply_atomic(fs, options(), {put_change("a", "alpha-3")});
  // The name is the old one's, less its own .bpatch-TXID.
  CHECK(r2.new_release == "/srv/releases/v1.bpatch-" + r2.txid);
  CHECK(r2.old_release == r1.new_release);
  CHECK(fs.read_link("/srv/current") == r2.new_release);
  CHECK(through_link(fs).at("/a").content == "alpha-3");
  CHECK(through_link(fs).at("/sub/new/n").content == "created");  // carried over from r1

  const auto u1 = undo_atomic(fs, options());
  CHECK(u1.txid == r2.txid);
  CHECK(fs.read_link("/srv/current") == r1.new_release);
  CHECK(fs.exists(r2.new_release));  // kept
  const auto gens = atomic_status(fs, "/srv/.bpatch");
  REQUIRE(gens.size() == 2);
  CHECK(gens[0].txid == r1.txid);
  CHECK(gens[0].state == AtomicGeneration::State::current);
  CHECK(gens[1].state == AtomicGeneration::State::undone);
  CHECK(gens[1].new_release == r2.new_release);
  const auto u2 = undo_atomic(fs, options());
  CHECK(u2.txid == r1.txid);
  CHECK(fs.read_link("/srv/current") == "/srv/releases/v1");
  CHECK(through_link(fs).at("/a").content == "alpha-1");
  try {
    undo_atomic(fs, options());
    FAIL("a third undo must have nothing to undo");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::not_found);
    CHECK(e.message().find("nothing to undo") != std::string::npos);
  }
}

TEST_CASE("tree statements in a release never touch the shared inodes of the old one", "[atomic]") {
  MemoryFileSystemOptions fo;
  fo.clone_range = false;  // hard links: one inode in both releases
  MemoryFileSystem fs(fo);
  make_tree(fs);
  const Snapshot old_tree = fs.snapshot("/srv/releases/v1");
  const auto r = apply_atomic(
      fs, options(),
      {Change::chmod("d", 0600), Change::chmod("sub", 0700), Change::symlink("to-d", "d"),
       Change::rmdir("empty"), Change::mkdir("made", 0750)});
  CHECK(fs.snapshot("/srv/releases/v1") == old_tree);  // modes included
  const Snapshot now = through_link(fs);
  CHECK(now.at("/d").mode == 0600);
  CHECK(now.at("/sub").mode == 0700);
  CHECK(now.at("/to-d").content == "d");
  CHECK(now.count("/empty") == 0);
  CHECK(now.at("/made").mode == 0750);
  CHECK(r.files_hard_linked == 3);
}

TEST_CASE("nothing to change makes no release and leaves no journal", "[atomic]") {
  MemoryFileSystem fs;
  make_tree(fs);
  const Snapshot before = fs.snapshot("/");
  const auto r = apply_atomic(fs, options(), {});
  CHECK(r.txid.empty());
  CHECK(fs.snapshot("/") == before);
}

namespace {

// Re-points LINK at the first hard link or reflink of the mirror: another
// deployment tool racing with bpatch.
class RacingFileSystem : public FileSystemWrapper {
 public:
  explicit RacingFileSystem(MemoryFileSystem& base) : FileSystemWrapper(base), mem_(base) {}
  void hard_link(const std::string& from, const std::string& to) override {
    race();
    FileSystemWrapper::hard_link(from, to);
  }

 private:
  void race() {
    if (done_) return;
    done_ = true;
    mem_.make_dirs("/srv/releases/v0");
    mem_.unlink("/srv/current");
    mem_.make_symlink("releases/v0", "/srv/current");
  }
  MemoryFileSystem& mem_;
  bool done_ = false;
};

}  // namespace

TEST_CASE("a link re-pointed during the build is not switched, the new release goes", "[atomic]") {
  MemoryFileSystemOptions fo;
  fo.clone_range = false;
  MemoryFileSystem mem(fo);
  make_tree(mem);
  RacingFileSystem fs(mem);
  try {
    apply_atomic(fs, options(), update());
    FAIL("expected a concurrent change");
  } catch (const IncompleteCommit&) {
    FAIL("not committed");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::concurrent_change);
  }
  CHECK(mem.read_link("/srv/current") == "releases/v0");
  auto names = mem.list_dir("/srv/releases");
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"v0", "v1"});
  CHECK(mem.read_file("/srv/releases/v1/a") == "alpha-1");
}

TEST_CASE("a damaged generation is refused by undo, a torn release record is dropped", "[atomic]") {
  MemoryFileSystem fs;
  make_tree(fs);
  const auto r = apply_atomic(fs, options(), update());
  const std::string gen = "/srv/.bpatch/generation-" + r.txid;
  std::string bytes = fs.read_file(gen);
  bytes[bytes.find("old ") + 6] ^= 1;  // one bit of the old release's name
  fs.unlink(gen);
  fs.write_file(gen, bytes, 0600);
  try {
    undo_atomic(fs, options());
    FAIL("a damaged generation must be refused");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::journal);
  }
  CHECK(fs.read_link("/srv/current") == r.new_target);

  // A release record cut short (never synced: the build never began).
  const std::string torn = "/srv/.bpatch/release-" + std::string(16, 'f') + "-00000001";
  fs.write_file(torn, bytes.substr(0, 40), 0600);
  const auto lines = recover_atomic(fs, "/srv/.bpatch");
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("torn") != std::string::npos);
  CHECK(!fs.exists(torn));
  CHECK(fs.read_link("/srv/current") == r.new_target);
}

TEST_CASE("every injected I/O error leaves the link on exactly the old or the new release",
          "[atomic][fault]") {
  MemoryFileSystemOptions fo;
  fo.clone_range = false;
  // The calls of an uninterrupted run, per kind.
  std::array<uint64_t, kFsOpCount> counts{};
  Snapshot old_tree, new_tree, old_v1;
  {
    MemoryFileSystem mem(fo);
    make_tree(mem);
    old_tree = through_link(mem);
    old_v1 = mem.snapshot("/srv/releases/v1");
    FaultFileSystem fs(mem);
    apply_atomic(fs, options(), update());
    counts = fs.all_calls();
    new_tree = through_link(mem);
  }
  size_t runs = 0, failed = 0;
  for (size_t kind = 0; kind < kFsOpCount; ++kind) {
    const auto op = static_cast<FsOp>(kind);
    if (op == FsOp::lock || op == FsOp::lstat || op == FsOp::clone_range) continue;
    for (uint64_t nth = 1; nth <= counts[kind]; ++nth) {
      MemoryFileSystem mem(fo);
      make_tree(mem);
      FaultFileSystem fs(mem);
      fs.fail_nth(op, nth, 5);
      ++runs;
      bool ok = true;
      try {
        apply_atomic(fs, options(), update());
      } catch (const Error&) {
        ok = false;
        ++failed;
      }
      INFO("op " << kind << " call " << nth);
      if (!ok) recover_atomic(mem, "/srv/.bpatch");
      const Snapshot now = through_link(mem);
      CHECK((now == old_tree || now == new_tree));
      if (ok) CHECK(now == new_tree);
      CHECK(mem.snapshot("/srv/releases/v1") == old_v1);
      CHECK(through_link(mem).at("/d").content == "delta-1, never changed");
      if (now == old_tree) CHECK(mem.list_dir("/srv/releases") == std::vector<std::string>{"v1"});
      if (mem.exists("/srv/.bpatch"))
        for (const auto& name : mem.list_dir("/srv/.bpatch")) CHECK(!name.starts_with("release-"));
    }
  }
  CHECK(runs > 50);
  CHECK(failed > 0);
}

TEST_CASE("the release record round-trips and every damage to it is refused", "[atomic]") {
  const release::ReleaseRecord r{"18ebe05d021f3455-00007708",
                                 "/srv/my app/.bpatch",
                                 "/srv/my app/current",
                                 "/srv/my app/releases/v%1",
                                 "/srv/my app/releases/v%1.bpatch-18ebe05d021f3455-00007708",
                                 "releases/v%1",
                                 "releases/v%1.bpatch-18ebe05d021f3455-00007708"};
  const std::string bytes = release::encode_release(r);
  CHECK(release::decode_release(bytes, "rec") == r);
  CHECK(bytes.find("/srv/my%20app/releases/v%251") != std::string::npos);
  auto refused = [](const std::string& b) {
    try {
      release::decode_release(b, "rec");
    } catch (const Error& e) {
      return e.code() == Errc::journal;
    }
    return false;
  };
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string flipped = bytes;
    flipped[i] ^= 0x20;
    INFO("byte " << i << " flipped");
    CHECK(refused(flipped));
  }
  for (size_t n = 0; n < bytes.size(); ++n) {
    INFO("cut to " << n << " bytes");
    CHECK(refused(bytes.substr(0, n)));
  }
  // A record whose checksum is right but whose layout is not (a forged or
  // future one) is refused too.
  std::string body = bytes.substr(0, bytes.find("checksum "));
  body.replace(0, 16, "bpatch-release 2");
  CHECK(refused(body + "checksum " +
                hash_bytes(std::as_bytes(std::span(body.data(), body.size()))).hex() + "\n"));
}

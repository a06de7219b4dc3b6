// MemoryFileSystem: one conformance suite run against PosixFileSystem (in a
// temporary directory) and MemoryFileSystem, so the model fails where Linux
// fails with the same Errc and errno; then what only the model has — trace,
// replay, crash point, hook, invariants under random operations, threads.
#include "testing/memory_file_system.hpp"

#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <random>
#include <thread>

#include "bpatch/error.hpp"
#include "bpatch/posix_file_system.hpp"

using namespace bpatch;
using namespace bpatch::testing;

namespace {

std::span<const std::byte> bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::string read_all(File& file) {
  std::string out(file.stat().id.size, '\0');
  out.resize(file.read_at(0, std::as_writable_bytes(std::span<char>(out))));
  return out;
}

template <class F>
void expect_error(F&& f, Errc code, int err) {
  try {
    f();
    FAIL("no error thrown; expected " << errc_name(code) << " errno " << err);
  } catch (const Error& e) {
    INFO(e.what());
    CHECK(errc_name(e.code()) == std::string(errc_name(code)));
    CHECK(e.sys_errno() == err);
  }
}

// What the suite needs beyond the FileSystem interface.
struct Env {
  FileSystem& fs;
  std::string base;
  std::function<void(const std::string& target, const std::string& path)> symlink;

  std::string at(const std::string& rel) const { return base + "/" + rel; }
  void write(const std::string& rel, std::string_view content) {
    fs.open(at(rel), OpenMode::create_exclusive)->write_at(0, bytes(content));
  }
  std::string read(const std::string& rel) { return read_all(*fs.open(at(rel), OpenMode::read)); }
};

void conformance(Env& env) {
  FileSystem& fs = env.fs;
  fs.make_dir(env.at("dir"), 0755);
  fs.make_dir(env.at("dir/sub"), 0755);
  env.write("file", "hello");
  env.write("dir/inner", "inner");
  env.symlink("dir", env.at("link_dir"));
  env.symlink("file", env.at("link_file"));
  env.symlink("nowhere", env.at("dangling"));

  SECTION("open and create") {
    expect_error([&] { fs.open(env.at("file"), OpenMode::create_exclusive); }, Errc::io, EEXIST);
    expect_error([&] { fs.open(env.at("dangling"), OpenMode::create_exclusive); }, Errc::io,
                 EEXIST);
    expect_error([&] { fs.open(env.at("missing"), OpenMode::read); }, Errc::not_found, ENOENT);
    expect_error([&] { fs.open(env.at("missing/x"), OpenMode::create_exclusive); }, Errc::not_found,
                 ENOENT);
    expect_error([&] { fs.open(env.at("file/x"), OpenMode::read); }, Errc::not_found, ENOTDIR);
    expect_error([&] { fs.open(env.at("link_file"), OpenMode::read); }, Errc::invalid_path, ELOOP);
    expect_error([&] { fs.open(env.at("link_file"), OpenMode::read_write); }, Errc::invalid_path,
                 ELOOP);
    expect_error([&] { fs.open(env.at("dir"), OpenMode::read_write); }, Errc::io, EISDIR);
    expect_error([&] { fs.open(env.at(std::string(256, 'n')), OpenMode::read); }, Errc::io,
                 ENAMETOOLONG);
    // Intermediate symlinks are followed.
    CHECK(env.read("link_dir/inner") == "inner");
    auto dir = fs.open(env.at("dir"), OpenMode::read);
    std::byte b[4];
    expect_error([&] { dir->read_at(0, b); }, Errc::io, EISDIR);
  }

  SECTION("file reads, writes and modes") {
    auto ro = fs.open(env.at("file"), OpenMode::read);
    expect_error([&] { ro->write_at(0, bytes("x")); }, Errc::io, EBADF);
    expect_error([&] { ro->truncate(0); }, Errc::io, EINVAL);
    std::string buf(16, '\0');
    CHECK(ro->read_at(3, std::as_writable_bytes(std::span<char>(buf))) == 2);
    CHECK(ro->read_at(99, std::as_writable_bytes(std::span<char>(buf))) == 0);
    auto rw = fs.open(env.at("file"), OpenMode::read_write);
    rw->write_at(8, bytes("!"));  // leaves a hole of zeros
    CHECK(read_all(*rw) == std::string("hello\0\0\0!", 9));
    rw->truncate(2);
    rw->sync();
    CHECK(env.read("file") == "he");
    FileStat st = rw->stat();
    CHECK(st.type == FileType::regular);
    CHECK(st.mode == 0600);
    CHECK(st.nlink == 1);
    CHECK(st.id.size == 2);
    rw->set_mode(0640);
    CHECK(fs.lstat(env.at("file"))->mode == 0640);
    CHECK(rw->set_owner(st.uid, st.gid));
  }

  SECTION("lstat and read_link") {
    CHECK_FALSE(fs.lstat(env.at("missing")));
    CHECK_FALSE(fs.lstat(env.at("file/x")));
    CHECK(fs.lstat(env.at("link_file"))->type == FileType::symlink);
    CHECK(fs.lstat(env.at("dangling"))->type == FileType::symlink);
    CHECK(fs.lstat(env.at("dir"))->type == FileType::directory);
    CHECK(fs.lstat(env.at("link_dir/inner"))->id.size == 5);
    CHECK(fs.read_link(env.at("dangling")) == "nowhere");
    expect_error([&] { fs.read_link(env.at("file")); }, Errc::io, EINVAL);
    expect_error([&] { fs.read_link(env.at("missing")); }, Errc::not_found, ENOENT);
    const FileStat a = *fs.lstat(env.at("file"));
    const FileStat b = *fs.lstat(env.at("dir/inner"));
    CHECK(a.id.dev == b.id.dev);
    CHECK(a.id.ino != b.id.ino);
  }

  SECTION("directories") {
    auto names = fs.list_dir(env.base);
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"dangling", "dir", "file", "link_dir", "link_file"});
    auto through_link = fs.list_dir(env.at("link_dir"));  // opendir follows
    std::sort(through_link.begin(), through_link.end());
    CHECK(through_link == std::vector<std::string>{"inner", "sub"});
    expect_error([&] { fs.list_dir(env.at("file")); }, Errc::not_found, ENOTDIR);
    expect_error([&] { fs.list_dir(env.at("missing")); }, Errc::not_found, ENOENT);
    expect_error([&] { fs.make_dir(env.at("dir"), 0755); }, Errc::io, EEXIST);
    expect_error([&] { fs.make_dir(env.at("dangling"), 0755); }, Errc::io, EEXIST);
    expect_error([&] { fs.make_dir(env.at("missing/d"), 0755); }, Errc::not_found, ENOENT);
    expect_error([&] { fs.remove_dir(env.at("dir")); }, Errc::io, ENOTEMPTY);
    expect_error([&] { fs.remove_dir(env.at("file")); }, Errc::not_found, ENOTDIR);
    expect_error([&] { fs.remove_dir(env.at("link_dir")); }, Errc::not_found, ENOTDIR);
    expect_error([&] { fs.remove_dir(env.at("missing")); }, Errc::not_found, ENOENT);
    fs.remove_dir(env.at("dir/sub"));
    CHECK_FALSE(fs.lstat(env.at("dir/sub")));
    expect_error([&] { fs.sync_dir(env.at("file")); }, Errc::not_found, ENOTDIR);
    expect_error([&] { fs.sync_dir(env.at("missing")); }, Errc::not_found, ENOENT);
    fs.sync_dir(env.at("link_dir"));
    fs.sync_dir(env.base);
  }

  SECTION("rename and unlink") {
    env.write("other", "other");
    fs.rename(env.at("other"), env.at("file"));  // replaces
    CHECK(env.read("file") == "other");
    CHECK_FALSE(fs.lstat(env.at("other")));
    expect_error([&] { fs.rename(env.at("missing"), env.at("x")); }, Errc::not_found, ENOENT);
    expect_error([&] { fs.rename(env.at("file"), env.at("missing/x")); }, Errc::not_found, ENOENT);
    expect_error([&] { fs.rename(env.at("file"), env.at("dir")); }, Errc::io, EISDIR);
    expect_error([&] { fs.rename(env.at("dir"), env.at("file")); }, Errc::not_found, ENOTDIR);
    fs.make_dir(env.at("full"), 0755);
    env.write("full/x", "x");
    expect_error([&] { fs.rename(env.at("dir"), env.at("full")); }, Errc::io, ENOTEMPTY);
    expect_error([&] { fs.rename(env.at("dir"), env.at("dir/sub/d")); }, Errc::io, EINVAL);
    fs.rename(env.at("link_file"), env.at("moved_link"));  // the link, not its target
    CHECK(fs.read_link(env.at("moved_link")) == "file");
    CHECK(fs.lstat(env.at("file"))->type == FileType::regular);
    fs.rename(env.at("dir"), env.at("dir2"));
    CHECK(env.read("dir2/inner") == "inner");
    CHECK(env.read("dir2/sub/../inner") == "inner");
    expect_error([&] { fs.unlink(env.at("dir2")); }, Errc::io, EISDIR);
    expect_error([&] { fs.unlink(env.at("missing")); }, Errc::not_found, ENOENT);
    fs.unlink(env.at("link_dir"));  // the link, not the directory
    CHECK(fs.lstat(env.at("dir2"))->type == FileType::directory);
    fs.unlink(env.at("dangling"));
    CHECK_FALSE(fs.lstat(env.at("dangling")));
  }

  SECTION("symlinks, hard links and modes by name") {
    fs.make_symlink("some/where", env.at("made"));
    CHECK(fs.read_link(env.at("made")) == "some/where");
    expect_error([&] { fs.make_symlink("x", env.at("file")); }, Errc::io, EEXIST);
    expect_error([&] { fs.make_symlink("x", env.at("missing/l")); }, Errc::not_found, ENOENT);
    fs.hard_link(env.at("file"), env.at("second"));
    CHECK(fs.lstat(env.at("second"))->id.ino == fs.lstat(env.at("file"))->id.ino);
    CHECK(fs.lstat(env.at("file"))->nlink == 2);
    fs.hard_link(env.at("link_file"), env.at("link_copy"));  // the link itself
    CHECK(fs.lstat(env.at("link_copy"))->type == FileType::symlink);
    expect_error([&] { fs.hard_link(env.at("file"), env.at("dir/inner")); }, Errc::io, EEXIST);
    expect_error([&] { fs.hard_link(env.at("missing"), env.at("x")); }, Errc::not_found, ENOENT);
    expect_error([&] { fs.hard_link(env.at("dir"), env.at("x")); }, Errc::io, EPERM);
    fs.set_mode(env.at("dir"), 0700);
    CHECK(fs.lstat(env.at("dir"))->mode == 0700);
    fs.set_mode(env.at("file"), 04755);
    CHECK(fs.lstat(env.at("second"))->mode == 04755);
    expect_error([&] { fs.set_mode(env.at("link_dir"), 0700); }, Errc::io, EOPNOTSUPP);
    CHECK(fs.lstat(env.at("dir"))->mode == 0700);  // not followed
    expect_error([&] { fs.set_mode(env.at("missing"), 0700); }, Errc::not_found, ENOENT);
  }

  SECTION("an open file outlives its name") {
    auto f = fs.open(env.at("file"), OpenMode::read_write);
    fs.unlink(env.at("file"));
    f->write_at(5, bytes(" world"));
    CHECK(read_all(*f) == "hello world");
    CHECK(f->stat().nlink == 0);
  }

  SECTION("locks") {
    auto lock = fs.try_lock(env.at("LOCK"));
    REQUIRE(lock);
    CHECK(fs.lstat(env.at("LOCK"))->type == FileType::regular);
    CHECK_FALSE(fs.try_lock(env.at("LOCK")));  // flock conflicts between descriptors
    lock.reset();
    CHECK(fs.try_lock(env.at("LOCK")));
    expect_error([&] { fs.try_lock(env.at("link_file")); }, Errc::io, ELOOP);
  }

  SECTION("copy_range copies when it says it did") {
    env.write("src", std::string(10000, 'a') + "tail");
    auto src = fs.open(env.at("src"), OpenMode::read);
    auto dst = fs.open(env.at("dst"), OpenMode::create_exclusive);
    if (dst->copy_range(*src, 9000, 0, 1004))
      CHECK(env.read("dst") == std::string(1000, 'a') + "tail");
  }
}

struct TempDir {
  std::string path;
  TempDir() {
    char templ[] = "/tmp/bpatch-memfs-conformance-XXXXXX";
    REQUIRE(::mkdtemp(templ));
    path = templ;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("PosixFileSystem passes the conformance suite", "[memfs]") {
  TempDir dir;
  PosixFileSystem fs;
  Env env{fs, dir.path, [](const std::string& target, const std::string& path) {
            REQUIRE(::symlink(target.c_str(), path.c_str()) == 0);
          }};
  conformance(env);
}

TEST_CASE("MemoryFileSystem passes the same conformance suite", "[memfs]") {
  MemoryFileSystem fs;
  fs.make_dirs("/tmp/conformance");
  Env env{fs, "/tmp/conformance", [&](const std::string& target, const std::string& path) {
            fs.make_symlink(target, path);
          }};
  conformance(env);
  fs.check_invariants();
}

TEST_CASE("MemoryFileSystem paths: dots, slashes, symlink loops, root", "[memfs]") {
  MemoryFileSystem fs;
  fs.make_dirs("/a/b");
  fs.write_file("/a/b/f", "x");
  CHECK(fs.read_file("//a/./b/../b//f") == "x");
  CHECK(fs.read_file("a/b/f") == "x");  // relative to the root
  fs.make_symlink("/a", "/abs");
  fs.make_symlink("../a/b", "/a/rel");
  CHECK(fs.read_file("/abs/b/f") == "x");
  CHECK(fs.read_file("/a/rel/f") == "x");
  fs.make_symlink("loop2", "/loop1");
  fs.make_symlink("loop1", "/loop2");
  expect_error([&] { fs.open("/loop1/x", OpenMode::read); }, Errc::invalid_path, ELOOP);
  expect_error([&] { fs.list_dir("/loop1"); }, Errc::io, ELOOP);
  expect_error([&] { fs.open("/a/b/f/", OpenMode::read); }, Errc::not_found, ENOTDIR);
  expect_error([&] { fs.remove_dir("/"); }, Errc::io, EBUSY);
  expect_error([&] { fs.make_dir("/", 0755); }, Errc::io, EEXIST);
  expect_error([&] { fs.open("", OpenMode::read); }, Errc::not_found, ENOENT);
  CHECK(fs.lstat("/")->type == FileType::directory);
  CHECK(fs.lstat("/a")->nlink == 3);  // ".", "a" in "/", ".." of b
  fs.make_special("/a/fifo");
  CHECK(fs.lstat("/a/fifo")->type == FileType::other);
  fs.check_invariants();
}

TEST_CASE("MemoryFileSystem traces every mutation and replays it", "[memfs]") {
  MemoryFileSystem fs;
  fs.make_dirs("/d");
  fs.write_file("/d/old", "old");
  fs.sync_all();
  auto start = fs.clone();
  fs.reset_trace();

  fs.write_file("/d/new", "new content", 0640);
  {
    auto f = fs.open("/d/new", OpenMode::read_write);
    f->sync();
    f->set_owner(7, 8);
  }
  fs.rename("/d/new", "/d/old");
  fs.sync_dir("/d");
  fs.make_dir("/d/sub", 0700);
  fs.remove_dir("/d/sub");
  fs.make_symlink("old", "/d/ln");
  fs.unlink("/d/ln");
  {
    auto f = fs.open("/d/old", OpenMode::read_write);
    f->truncate(3);
  }

  const auto trace = fs.trace();
  std::vector<std::string> kinds;
  for (const auto& op : trace) kinds.push_back(trace_kind_name(op.kind));
  CHECK(kinds == std::vector<std::string>{"create", "write", "chmod", "sync", "chown", "rename",
                                          "sync_dir", "mkdir", "rmdir", "symlink", "unlink",
                                          "truncate"});
  CHECK(fs.op_count() == trace.size());
  CHECK(trace[1].size == 11);
  CHECK(trace[5].path == "/d/new");
  CHECK(trace[5].path2 == "/d/old");
  CHECK(to_string(trace[1]) == "#2 write /d/new (ino 4) [0, +11)");

  start->replay(trace);
  CHECK(start->snapshot() == fs.snapshot());
  CHECK(start->pending_count() == fs.pending_count());
  CHECK(start->state().pending().size() == fs.state().pending().size());
  start->check_invariants();
  fs.check_invariants();
}

TEST_CASE("MemoryFileSystem crash_after stops the world after operation k", "[memfs]") {
  for (uint64_t k = 0; k <= 4; ++k) {
    MemoryFileSystem fs;
    fs.make_dirs("/d");
    fs.reset_trace();
    fs.crash_after(k);
    bool crashed = false;
    try {
      auto f = fs.open("/d/f", OpenMode::create_exclusive);  // op 1
      f->write_at(0, bytes("abc"));                          // op 2
      f->sync();                                             // op 3
      fs.sync_dir("/d");                                     // op 4
    } catch (const CrashNow&) {
      crashed = true;
    }
    CHECK(crashed);
    CHECK(fs.crashed());
    CHECK(fs.op_count() == k);
    CHECK_THROWS_AS(fs.lstat("/d"), CrashNow);  // reads too
    CHECK_THROWS_AS(fs.make_dir("/e", 0755), CrashNow);
    CHECK(fs.op_count() == k);
    CHECK(fs.snapshot().count("/d/f") == (k >= 1 ? 1u : 0u));
  }
}

TEST_CASE("MemoryFileSystem hook sees the state right after each operation", "[memfs]") {
  MemoryFileSystem fs;
  fs.make_dirs("/d");
  fs.reset_trace();
  std::vector<size_t> sizes;
  fs.set_hook([&](const TraceOp& op) {
    sizes.push_back(fs.snapshot().size());
    if (op.kind == TraceOp::Kind::sync) throw CrashNow{};
  });
  auto f = fs.open("/d/f", OpenMode::create_exclusive);
  f->write_at(0, bytes("abc"));
  CHECK_THROWS_AS(f->sync(), CrashNow);
  CHECK(sizes == std::vector<size_t>{2, 2, 2});
  CHECK(fs.crashed());  // a hook's CrashNow freezes the file system
  CHECK_THROWS_AS(f->write_at(0, bytes("x")), CrashNow);
}

TEST_CASE("MemoryFileSystem keeps its invariants under random operations", "[memfs]") {
  std::mt19937_64 rng(20240611);
  const std::vector<std::string> names = {"/a", "/b", "/d/a", "/d/b", "/d/e/a", "/d/e"};
  auto pick = [&] { return names[rng() % names.size()]; };
  size_t errors = 0, done = 0;
  for (int round = 0; round < 20; ++round) {
    MemoryFileSystem fs;
    fs.make_dir("/d", 0755);
    std::vector<std::unique_ptr<File>> open;
    for (int step = 0; step < 200; ++step) {
      try {
        switch (rng() % 11) {
          case 0:
            open.push_back(fs.open(pick(), OpenMode::create_exclusive));
            break;
          case 1:
            open.push_back(fs.open(pick(), OpenMode::read_write));
            break;
          case 2:
            fs.make_dir(pick(), 0755);
            break;
          case 3:
            fs.remove_dir(pick());
            break;
          case 4:
            fs.rename(pick(), pick());
            break;
          case 5:
            fs.unlink(pick());
            break;
          case 6:
            fs.sync_dir(rng() % 2 ? "/" : "/d");
            break;
          case 7:
            fs.make_symlink(pick(), pick());
            break;
          default:
            if (open.empty()) break;
            auto& f = open[rng() % open.size()];
            if (rng() % 3 == 0)
              f->sync();
            else if (rng() % 2)
              f->write_at(rng() % 2000, bytes(std::string(rng() % 1500, 'w')));
            else
              f->truncate(rng() % 3000);
        }
        ++done;
      } catch (const Error&) {
        ++errors;
      }
      fs.check_invariants();
    }
  }
  CHECK(done > 1000);
  CHECK(errors > 100);
}

TEST_CASE("MemoryFileSystem is safe to use from several threads", "[memfs]") {
  MemoryFileSystem fs;
  fs.make_dirs("/t");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&fs, t] {
      const std::string path = "/t/f" + std::to_string(t);
      auto f = fs.open(path, OpenMode::create_exclusive);
      for (int i = 0; i < 500; ++i)
        f->write_at(static_cast<uint64_t>(i), bytes(std::string(1, 'a' + t)));
      f->sync();
      fs.rename(path, path + ".done");
    });
  }
  for (auto& t : threads) t.join();
  for (int t = 0; t < 4; ++t)
    CHECK(fs.read_file("/t/f" + std::to_string(t) + ".done") == std::string(500, 'a' + t));
  CHECK(fs.op_count() == 4 * 503 + 1);
  fs.check_invariants();
}

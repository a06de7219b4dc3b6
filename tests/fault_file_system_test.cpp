// FaultFileSystem: which call fails, with which Errc/errno, how calls are
// counted so a test can enumerate every failure point, and what a failed
// fsync does to a MemoryFileSystem underneath.
#include "testing/fault_file_system.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <filesystem>
#include <thread>

#include "bpatch/error.hpp"
#include "bpatch/posix_file_system.hpp"
#include "testing/crash_states.hpp"

using namespace bpatch;
using namespace bpatch::testing;

namespace {

std::span<const std::byte> bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

template <class F>
Error catch_error(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  FAIL("no error thrown");
  throw std::logic_error("unreachable");
}

// The temp + fsync + rename + fsync-dir sequence, removing its temp file
// when anything fails (the shape of folly's writeFileAtomic).
void save_atomically(FileSystem& fs, const std::string& dir, const std::string& name,
                     std::string_view content) {
  const std::string temp = dir + "/." + name + ".tmp";
  try {
    auto file = fs.open(temp, OpenMode::create_exclusive);
    file->write_at(0, bytes(content));
    file->set_mode(0644);
    file->sync();
    fs.rename(temp, dir + "/" + name);
  } catch (const Error&) {
    try {
      fs.unlink(temp);
    } catch (const Error&) {
    }
    throw;
  }
  fs.sync_dir(dir);
}

std::unique_ptr<MemoryFileSystem> base_fs() {
  auto fs = std::make_unique<MemoryFileSystem>();
  fs->make_dirs("/d");
  fs->write_file("/d/f", "old");
  fs->sync_all();
  return fs;
}

}  // namespace

TEST_CASE("FaultFileSystem fails the n-th call of a kind with the errno", "[faultfs]") {
  auto mem = base_fs();
  FaultFileSystem fs(*mem);
  fs.fail_nth(FsOp::write, 2, ENOSPC);
  auto f = fs.open("/d/f", OpenMode::read_write);
  f->write_at(0, bytes("a"));
  const Error e = catch_error([&] { f->write_at(1, bytes("b")); });
  CHECK(e.code() == Errc::io);
  CHECK(e.sys_errno() == ENOSPC);
  CHECK(e.path() == "/d/f");
  CHECK(e.message().rfind("write: ", 0) == 0);
  f->write_at(2, bytes("c"));
  CHECK(mem->read_file("/d/f") == "alc");
  CHECK(fs.calls(FsOp::write) == 3);
  CHECK(fs.calls(FsOp::open) == 1);
  CHECK(fs.faults_injected() == 1);
  fs.reset_counts();
  CHECK(fs.calls(FsOp::write) == 0);
}

TEST_CASE("FaultFileSystem sticky faults keep failing, and partial writes write half",
          "[faultfs]") {
  auto mem = base_fs();
  FaultFileSystem fs(*mem);
  fs.fail_from(FsOp::sync_dir, 2, EIO);
  fs.sync_dir("/d");
  for (int i = 0; i < 3; ++i) CHECK(catch_error([&] { fs.sync_dir("/d"); }).sys_errno() == EIO);
  fs.clear_faults();
  fs.sync_dir("/d");

  fs.add_fault({.op = FsOp::write, .nth = 1, .err = ENOSPC, .partial = true});
  auto f = fs.open("/d/g", OpenMode::create_exclusive);
  CHECK(catch_error([&] { f->write_at(0, bytes("123456")); }).sys_errno() == ENOSPC);
  CHECK(mem->read_file("/d/g") == "123");
}

TEST_CASE("FaultFileSystem maps each errno as PosixFileSystem does", "[faultfs]") {
  auto mem = base_fs();
  FaultFileSystem fs(*mem);
  fs.fail_nth(FsOp::open, 1, ENOENT);
  fs.fail_nth(FsOp::open, 2, ELOOP);
  fs.fail_nth(FsOp::create, 1, EACCES);
  CHECK(catch_error([&] { fs.open("/d/f", OpenMode::read); }).code() == Errc::not_found);
  CHECK(catch_error([&] { fs.open("/d/f", OpenMode::read); }).code() == Errc::invalid_path);
  const Error create = catch_error([&] { fs.open("/d/new", OpenMode::create_exclusive); });
  CHECK(create.code() == Errc::io);
  CHECK(create.sys_errno() == EACCES);
  CHECK_FALSE(mem->exists("/d/new"));  // the failing call did not reach the file system

  fs.fail_nth(FsOp::lstat, 1, ENOENT);
  fs.fail_nth(FsOp::lstat, 2, EIO);
  CHECK_FALSE(fs.lstat("/d/f"));
  CHECK(catch_error([&] { fs.lstat("/d/f"); }).code() == Errc::io);
  CHECK(fs.lstat("/d/f"));

  fs.fail_nth(FsOp::lock, 1, EWOULDBLOCK);
  fs.fail_nth(FsOp::lock, 2, EROFS);
  CHECK_FALSE(fs.try_lock("/d/LOCK"));
  CHECK(catch_error([&] { fs.try_lock("/d/LOCK"); }).sys_errno() == EROFS);
  CHECK(fs.try_lock("/d/LOCK"));

  auto f = fs.open("/d/f", OpenMode::read_write);
  fs.fail_nth(FsOp::set_owner, 1, EPERM);
  fs.fail_nth(FsOp::set_owner, 2, EIO);
  CHECK_FALSE(f->set_owner(1, 1));
  CHECK(catch_error([&] { f->set_owner(1, 1); }).code() == Errc::io);
  fs.fail_nth(FsOp::rename, 1, EXDEV);
  CHECK(catch_error([&] { fs.rename("/d/f", "/d/h"); }).sys_errno() == EXDEV);
  CHECK(mem->exists("/d/f"));
  fs.fail_nth(FsOp::read, 1, EIO);
  std::byte buf[4];
  CHECK(catch_error([&] { f->read_at(0, buf); }).message() == "read: Input/output error");
  CHECK(f->read_at(0, buf) == 3);
}

TEST_CASE("a failed fsync drops the unsynced data, so a retry cannot hide it", "[faultfs]") {
  auto mem = base_fs();
  FaultFileSystem fs(*mem);
  fs.fail_nth(FsOp::sync, 1, EIO);
  auto f = fs.open("/d/f", OpenMode::read_write);
  f->write_at(0, bytes("new content"));
  CHECK(catch_error([&] { f->sync(); }).sys_errno() == EIO);
  CHECK(mem->read_file("/d/f") == "old");  // the dirty pages are gone
  f->sync();                               // "succeeds", having nothing to write
  CHECK(durable_image(*mem)->read_file("/d/f") == "old");
  mem->check_invariants();
  // Metadata is not data: a pending chmod survives the failed fsync.
  fs.fail_nth(FsOp::sync, fs.calls(FsOp::sync) + 1, EIO);  // the next one
  f->set_mode(0600);
  f->write_at(0, bytes("x"));
  CHECK_THROWS_AS(f->sync(), Error);
  CHECK(mem->lstat("/d/f")->mode == 0600);
  CHECK(mem->read_file("/d/f") == "old");
}

TEST_CASE("FaultFileSystem counts let a test fail every call in turn", "[faultfs]") {
  // A clean run counts the calls; then each call of each kind fails once.
  auto clean = base_fs();
  FaultFileSystem counter(*clean);
  save_atomically(counter, "/d", "f", "new");
  const auto counts = counter.all_calls();
  size_t runs = 0;
  for (size_t kind = 0; kind < kFsOpCount; ++kind) {
    for (uint64_t n = 1; n <= counts[kind]; ++n) {
      for (int err : {EIO, ENOSPC}) {
        auto mem = base_fs();
        FaultFileSystem fs(*mem);
        fs.fail_nth(static_cast<FsOp>(kind), n, err);
        INFO(fs_op_name(static_cast<FsOp>(kind)) << " #" << n << " errno " << err);
        const Error e = catch_error([&] { save_atomically(fs, "/d", "f", "new"); });
        CHECK(e.sys_errno() == err);
        const bool committed = static_cast<FsOp>(kind) == FsOp::sync_dir;  // after the rename
        CHECK(mem->read_file("/d/f") == (committed ? "new" : "old"));
        CHECK_FALSE(mem->exists("/d/.f.tmp"));
        CHECK(durable_image(*mem)->read_file("/d/f") == "old");
        ++runs;
      }
    }
  }
  // create, write, set_mode, sync, rename, sync_dir: one call each.
  CHECK(runs == 12);
}

TEST_CASE("FaultFileSystem wraps PosixFileSystem and unwraps files for copies", "[faultfs]") {
  char templ[] = "/tmp/bpatch-faultfs-XXXXXX";
  REQUIRE(::mkdtemp(templ));
  const std::string dir = templ;
  PosixFileSystem posix;
  FaultFileSystem fs(posix);
  save_atomically(fs, dir, "f", "old");
  fs.fail_nth(FsOp::rename, fs.calls(FsOp::rename) + 1, EXDEV);
  CHECK(catch_error([&] { save_atomically(fs, dir, "f", "new"); }).sys_errno() == EXDEV);
  auto f = fs.open(dir + "/f", OpenMode::read);
  std::string buf(8, '\0');
  buf.resize(f->read_at(0, std::as_writable_bytes(std::span<char>(buf))));
  CHECK(buf == "old");
  CHECK(fs.list_dir(dir) == std::vector<std::string>{"f"});
  std::filesystem::remove_all(dir);

  auto mem = base_fs();
  FaultFileSystem faulty(*mem);
  auto src = faulty.open("/d/f", OpenMode::read);
  auto dst = faulty.open("/d/copy", OpenMode::create_exclusive);
  CHECK(dst->copy_range(*src, 0, 0, 3));
  CHECK(mem->read_file("/d/copy") == "old");
  faulty.fail_nth(FsOp::clone_range, 1, EOPNOTSUPP);
  CHECK_FALSE(dst->clone_range(*src, 0, 0, 3));
  CHECK(dst->clone_range(*src, 0, 0, 3));  // the tail of the source may be unaligned
}

TEST_CASE("FaultFileSystem counts calls from several threads", "[faultfs]") {
  auto mem = base_fs();
  FaultFileSystem fs(*mem);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) fs.lstat("/d/f");
    });
  for (auto& t : threads) t.join();
  CHECK(fs.calls(FsOp::lstat) == 4000);
}

TEST_CASE("FaultFileSystem can make fsyncs lie: success reported, nothing durable", "[faultfs]") {
  auto mem = base_fs();
  FaultFileSystem fs(*mem);
  fs.skip_from(FsOp::sync, 1);
  fs.skip_from(FsOp::sync_dir, 2);
  fs.sync_dir("/d");  // the first one is honest
  save_atomically(fs, "/d", "f", "new");
  CHECK(mem->read_file("/d/f") == "new");
  CHECK(fs.faults_injected() == 2);
  auto image = durable_image(*mem);
  CHECK(image->read_file("/d/f") == "old");
  CHECK_FALSE(image->exists("/d/.f.tmp"));
  fs.clear_faults();
  fs.sync_dir("/d");
  CHECK(durable_image(*mem)->read_file("/d/f").empty());  // name durable, data never synced
}

TEST_CASE("FaultFileSystem path-scoped rules count and fail only their paths' calls", "[faultfs]") {
  auto mem = base_fs();
  mem->make_dirs("/d/j");
  mem->sync_all();
  FaultFileSystem fs(*mem);
  // The 2nd write under /d/j/ fails; writes elsewhere neither count nor fail.
  fs.add_fault({.op = FsOp::write, .nth = 2, .err = EIO, .path = path_contains("/d/j/")});
  auto other = fs.open("/d/f", OpenMode::read_write);
  auto journal = fs.open("/d/j/r", OpenMode::create_exclusive);
  other->write_at(0, bytes("x"));
  journal->write_at(0, bytes("1"));
  other->write_at(1, bytes("y"));
  const Error e = catch_error([&] { journal->write_at(1, bytes("2")); });
  CHECK(e.path() == "/d/j/r");
  CHECK(e.sys_errno() == EIO);
  other->write_at(2, bytes("z"));
  journal->write_at(1, bytes("3"));  // not sticky: the 3rd succeeds
  CHECK(mem->read_file("/d/f") == "xyz");
  CHECK(mem->read_file("/d/j/r") == "13");
  CHECK(fs.calls(FsOp::write) == 6);  // the per-kind count still counts every call
  CHECK(fs.faults_injected() == 1);
  // The counts when that fault fired: 4 writes (it included), 2 opens.
  CHECK(fs.calls_at_first_fault()[static_cast<size_t>(FsOp::write)] == 4);
  CHECK(fs.calls_at_first_fault()[static_cast<size_t>(FsOp::create)] == 1);

  // Sticky and scoped: every rename touching a shadow name (either path), from the 1st on.
  fs.clear_faults();
  fs.fail_from(FsOp::rename, 1, EROFS, path_contains(".bpatch-"));
  mem->write_file("/d/.f.bpatch-t", "new");
  fs.rename("/d/f", "/d/g");
  CHECK(catch_error([&] { fs.rename("/d/.f.bpatch-t", "/d/f"); }).sys_errno() == EROFS);
  CHECK(catch_error([&] { fs.rename("/d/g", "/d/.g.bpatch-t"); }).sys_errno() == EROFS);
  fs.rename("/d/g", "/d/f");
  CHECK(mem->read_file("/d/f") == "xyz");
}

TEST_CASE("FaultFileSystem forwards what it does not fault (FileSystemWrapper)", "[faultfs]") {
  auto mem = base_fs();
  FaultFileSystem fs(*mem);
  CHECK(fs.effective_uid() == mem->effective_uid());
  CHECK(&fs.base() == mem.get());
}

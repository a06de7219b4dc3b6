// `bpatch apply --atomic` on the real file system, as a deployment uses it:
// releases/v1 with 60 files and current -> releases/v1.
//   * A reader thread that resolves `current` once per snapshot (opens a
//     directory descriptor of it, then reads all 60 files with openat) in a
//     loop while the update runs never sees two versions in one snapshot;
//     the old release is byte for byte intact afterwards; `bpatch undo`
//     switches back.
//   * An unchanged 64 MiB file is shared, not copied.
//   * Refusals change nothing.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <iostream>
#include <random>
#include <thread>

#include "testing/test_files.hpp"

using namespace bpatch::testing;

namespace {

constexpr int kFiles = 60;

std::string name_of(int i) { return "f" + std::to_string(100 + i).substr(1); }

// Every file holds its version tag, then padding that differs per file.
std::string content(int version, int i) {
  return "version " + std::to_string(version) + "\n" + std::string(100 + 37 * i, 'a' + i % 26);
}

// releases/v1 (60 files, some in a subdirectory), current -> releases/v1, and
// a script with its data files that rewrites all of them to version 2.
void make_deployment(const TempDir& dir) {
  for (int i = 0; i < kFiles; ++i) {
    const std::string rel = (i % 3 == 0 ? "sub/" : "") + name_of(i);
    write_file(dir / ("releases/v1/" + rel), content(1, i));
    write_file(dir / ("update/data/" + name_of(i)), content(2, i));
  }
  std::filesystem::create_directory_symlink("releases/v1", dir / "current");
  std::string script = "bpatch 1\n";
  for (int i = 0; i < kFiles; ++i)
    script += "put " + std::string(i % 3 == 0 ? "sub/" : "") + name_of(i) + " file:data/" +
              name_of(i) + "\n";
  write_file(dir / "update/update.bpatch", script);
}

// One snapshot: `current` resolved once, then every file read beneath that
// descriptor. Returns the version every file had, or -1 for a mix, 0 when
// a file could not be read.
int read_snapshot(const std::string& link) {
  const int d = ::open(link.c_str(), O_RDONLY | O_DIRECTORY);
  if (d < 0) return 0;
  int version = -2;
  for (int i = 0; i < kFiles && version != -1; ++i) {
    const std::string rel = (i % 3 == 0 ? "sub/" : "") + name_of(i);
    const int f = ::openat(d, rel.c_str(), O_RDONLY);
    if (f < 0) {
      version = 0;
      break;
    }
    char buf[16] = {};
    const ssize_t n = ::pread(f, buf, sizeof buf - 1, 0);
    ::close(f);
    const int v = n > 9 && std::string(buf, 8) == "version " ? buf[8] - '0' : 0;
    if (v == 0) {
      version = 0;
      break;
    }
    if (version == -2) version = v;
    if (v != version) version = -1;
  }
  ::close(d);
  return version;
}

}  // namespace

TEST_CASE("a reader resolving the link once per snapshot never sees a mix of releases",
          "[atomic][cli]") {
  TempDir dir;
  make_deployment(dir);
  const Tree old_release = snapshot(dir / "releases/v1");
  for (int round = 0; round < 2; ++round) {
    std::atomic<bool> stop{false};
    std::atomic<int> mixes{0}, unreadable{0}, old_seen{0}, new_seen{0};
    std::thread reader([&] {
      // Until told to stop, and then a few snapshots more.
      for (int after = 0; after < 20;) {
        if (stop) ++after;
        const int v = read_snapshot(dir / "current");
        if (v == -1) ++mixes;
        if (v == 0) ++unreadable;
        if (v == 1) ++old_seen;
        if (v == 2) ++new_seen;
      }
    });
    const auto r = run({bpatch_binary(), "apply", "--atomic", "--root", dir / "current",
                        dir / "update/update.bpatch"});
    stop = true;
    reader.join();
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    std::cout << "atomic reader, round " << round << ": " << old_seen << " old, " << new_seen
              << " new, " << mixes << " mixed, " << unreadable << " unreadable snapshots\n";
    CHECK(mixes == 0);
    CHECK(unreadable == 0);
    CHECK(new_seen >= 20);  // the snapshots after the update
    CHECK(old_seen > 0);    // the reader ran while the update did
    CHECK(read_file(dir / "current/sub/f00") == content(2, 0));
    CHECK(snapshot(dir / "releases/v1") == old_release);  // byte for byte, as before

    // `bpatch undo` switches back to the old release, which never changed.
    const auto u = run({bpatch_binary(), "undo", "--root", dir / "current"});
    INFO(u.out << u.err);
    REQUIRE(u.exit_code == 0);
    CHECK(std::filesystem::read_symlink(dir / "current") == "releases/v1");
    CHECK(read_snapshot(dir / "current") == 1);
    CHECK(snapshot(dir / "current") == old_release);
  }
  // Both new releases are kept (two rounds), nothing else is left beside them.
  size_t releases = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir / "releases")) {
    ++releases;
    CHECK(e.path().filename().string().starts_with("v1"));
  }
  CHECK(releases == 3);
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    CHECK(!e.path().filename().string().starts_with("current."));
  // A third undo has nothing to switch back to.
  const auto again = run({bpatch_binary(), "undo", "--root", dir / "current"});
  CHECK(again.exit_code == 1);
  CHECK(again.err.find("nothing to undo") != std::string::npos);
}

TEST_CASE("an unchanged 64 MiB file is shared with the new release, not copied", "[atomic][cli]") {
  TempDir dir;
  std::mt19937_64 rng(64);
  write_file(dir / "releases/v1/big.bin", random_bytes(rng, 64 << 20));
  write_file(dir / "releases/v1/version.txt", "1\n");
  std::filesystem::create_directory_symlink("releases/v1", dir / "current");
  write_file(dir / "update/v2.txt", "2\n");
  write_file(dir / "update/update.bpatch", "bpatch 1\nput version.txt file:v2.txt\n");
  struct statvfs before {};
  REQUIRE(::statvfs(dir.path().c_str(), &before) == 0);
  const auto r = run({bpatch_binary(), "apply", "--atomic", "--root", dir / "current",
                      dir / "update/update.bpatch", "--json"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  struct statvfs after {};
  REQUIRE(::statvfs(dir.path().c_str(), &after) == 0);
  const std::string new_big = (dir / "current") + "/big.bin";
  CHECK(read_file(dir / "current/version.txt") == "2\n");
  struct stat old_st {
  }, new_st{};
  REQUIRE(::stat((dir / "releases/v1/big.bin").c_str(), &old_st) == 0);
  REQUIRE(::stat(new_big.c_str(), &new_st) == 0);
  const double used_mib = (static_cast<double>(before.f_bavail) - after.f_bavail) *
                          static_cast<double>(before.f_frsize) / (1 << 20);
  std::cout << "atomic sharing: old inode " << old_st.st_ino << " (" << old_st.st_blocks
            << " blocks), new inode " << new_st.st_ino << " (" << new_st.st_blocks
            << " blocks), free space used " << used_mib << " MiB\n";
  if (r.out.find("\"files_hard_linked\":2") != std::string::npos) {
    // A hard link: the very same inode, its blocks counted once.
    CHECK(new_st.st_ino == old_st.st_ino);
    CHECK(new_st.st_nlink == 2);
  } else {
    // A reflink: another inode whose extents are shared; the file system's
    // free space shows that no second copy was written (other writers on
    // the machine make it noisy, hence the margin).
    CHECK(r.out.find("\"files_reflinked\":2") != std::string::npos);
    CHECK(new_st.st_ino != old_st.st_ino);
    CHECK(used_mib < 16);
  }
  CHECK(read_file(new_big) == read_file(dir / "releases/v1/big.bin"));
}

TEST_CASE("apply --atomic refuses what it cannot switch, changing nothing", "[atomic][cli]") {
  TempDir dir;
  make_deployment(dir);
  const Tree before = snapshot(dir.path());
  const std::string script = dir / "update/update.bpatch";
  // --root names the release directory itself, not a link to it.
  auto r = run({bpatch_binary(), "apply", "--atomic", "--root", dir / "releases/v1", script});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("not a symbolic link") != std::string::npos);
  // No --root.
  r = run({bpatch_binary(), "apply", "--atomic", script}, dir.path());
  CHECK(r.exit_code == 2);
  // A link that names nothing.
  std::filesystem::create_symlink("releases/none", dir / "dangling");
  r = run({bpatch_binary(), "apply", "--atomic", "--root", dir / "dangling", script});
  CHECK(r.exit_code == 1);
  std::filesystem::remove(dir / "dangling");
  // A script that does not fit the release: refused before anything is built.
  write_file(dir / "bad.bpatch", "bpatch 1\nremove no/such/file\n");
  r = run({bpatch_binary(), "apply", "--atomic", "--root", dir / "current", dir / "bad.bpatch"});
  CHECK(r.exit_code == 1);
  std::filesystem::remove(dir / "bad.bpatch");
  CHECK(snapshot(dir.path()) == before);
  CHECK(!exists(dir / ".bpatch"));
  // Nothing to undo yet.
  r = run({bpatch_binary(), "undo", "--root", dir / "current"});
  CHECK(r.exit_code == 1);
  CHECK(snapshot(dir.path()) == before);
}

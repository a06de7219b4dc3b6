// Crash states: the durability rules of MemoryFileSystem (what a power cut
// keeps), the subset models (exhaustive, distinct, dependencies respected),
// torn writes and half-done renames.
#include "testing/crash_states.hpp"

#include <catch2/catch.hpp>
#include <set>

using namespace bpatch;
using namespace bpatch::testing;

namespace {

std::span<const std::byte> bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

// "/d" and "/d/old" (content "old"), all durable, trace reset.
std::unique_ptr<MemoryFileSystem> base_fs() {
  auto fs = std::make_unique<MemoryFileSystem>();
  fs->make_dirs("/d");
  fs->write_file("/d/old", "old");
  fs->sync_all();
  fs->reset_trace();
  return fs;
}

std::set<std::string> names(MemoryFileSystem& fs, const std::string& dir = "/d") {
  auto list = fs.list_dir(dir);
  return {list.begin(), list.end()};
}

}  // namespace

TEST_CASE("a synced file whose name is not synced vanishes in a crash", "[crashstates]") {
  auto fs = base_fs();
  auto f = fs->open("/d/new", OpenMode::create_exclusive);
  f->write_at(0, bytes("data"));
  f->sync();
  auto lost = durable_image(*fs);
  CHECK(names(*lost) == std::set<std::string>{"old"});
  fs->sync_dir("/d");
  auto kept = durable_image(*fs);
  CHECK(kept->read_file("/d/new") == "data");
  kept->check_invariants();
}

TEST_CASE("fsync of an open directory makes its entries durable, as sync_dir does",
          "[crashstates]") {
  auto fs = base_fs();
  fs->write_file("/d/new", "x");
  fs->open("/d", OpenMode::read)->sync();
  CHECK(durable_image(*fs)->exists("/d/new"));
  fs->check_invariants();
}

TEST_CASE("a durable name with unsynced data comes back empty", "[crashstates]") {
  auto fs = base_fs();
  auto f = fs->open("/d/new", OpenMode::create_exclusive);
  f->write_at(0, bytes("data"));
  f->set_mode(0644);
  fs->sync_dir("/d");
  auto image = durable_image(*fs);
  CHECK(image->read_file("/d/new").empty());
  CHECK(image->lstat("/d/new")->mode == 0600);  // the chmod was not synced either
  // And an overwrite of a durable file loses just the unsynced part.
  auto g = fs->open("/d/old", OpenMode::read_write);
  g->write_at(1, bytes("XY"));
  CHECK(durable_image(*fs)->read_file("/d/old") == "old");
  g->sync();
  CHECK(durable_image(*fs)->read_file("/d/old") == "oXY");
}

TEST_CASE("a renamed file whose directory is not synced reappears at its old name",
          "[crashstates]") {
  auto fs = base_fs();
  fs->write_file("/d/shadow", "new");
  fs->open("/d/shadow", OpenMode::read_write)->sync();
  fs->sync_dir("/d");
  fs->rename("/d/shadow", "/d/old");
  CHECK(fs->read_file("/d/old") == "new");
  auto image = durable_image(*fs);
  CHECK(image->read_file("/d/old") == "old");
  CHECK(image->read_file("/d/shadow") == "new");
  fs->sync_dir("/d");
  image = durable_image(*fs);
  CHECK(image->read_file("/d/old") == "new");
  CHECK_FALSE(image->exists("/d/shadow"));
}

TEST_CASE("a rename across directories is made durable by syncing either one", "[crashstates]") {
  for (const char* synced : {"/d", "/e"}) {
    auto fs = base_fs();
    fs->make_dir("/e", 0755);
    fs->sync_dir("/");
    fs->rename("/d/old", "/e/moved");
    fs->sync_dir(synced);
    auto image = durable_image(*fs);
    CHECK_FALSE(image->exists("/d/old"));
    CHECK(image->read_file("/e/moved") == "old");
    fs->check_invariants();
  }
}

TEST_CASE("a new directory's entries need the directory and its parent synced", "[crashstates]") {
  auto fs = base_fs();
  fs->make_dirs("/d/x/y");
  fs->write_file("/d/x/y/f", "f");
  fs->open("/d/x/y/f", OpenMode::read_write)->sync();
  fs->sync_dir("/d/x/y");
  fs->sync_dir("/d/x");
  CHECK_FALSE(durable_image(*fs)->exists("/d/x"));  // "/d" not synced
  fs->sync_dir("/d");
  auto image = durable_image(*fs);
  CHECK(image->read_file("/d/x/y/f") == "f");
  CHECK(image->lstat("/d/x")->nlink == 3);
  image->check_invariants();
}

TEST_CASE("subsets of independent writes are exhaustive and distinct", "[crashstates]") {
  auto fs = base_fs();
  auto f = fs->open("/d/old", OpenMode::read_write);
  f->truncate(0);
  fs->sync_all();
  for (int i = 0; i < 4; ++i) f->write_at(static_cast<uint64_t>(i), bytes(std::string(1, 'a' + i)));
  REQUIRE(fs->pending_count() == 4);
  Rng rng(1);
  auto images = crash_images(*fs, CrashModel::any_subset(), rng, 100);
  REQUIRE(images.size() == 16);
  CHECK(images[0].kept.empty());
  CHECK(images[1].kept.size() == 4);
  std::set<std::vector<uint64_t>> subsets;
  std::set<std::string> contents;
  for (auto& image : images) {
    subsets.insert(image.kept);
    std::string expect;  // the kept writes applied to an empty file, holes as zeros
    for (uint64_t seq : image.kept) {
      const size_t at = seq - images[1].kept.front();
      if (expect.size() <= at) expect.resize(at + 1, '\0');
      expect[at] = static_cast<char>('a' + at);
    }
    INFO(image.description);
    CHECK(image.fs->read_file("/d/old") == expect);
    contents.insert(expect);
    image.fs->check_invariants();
  }
  CHECK(subsets.size() == 16);
  CHECK(contents.size() == 16);
  // At most max, always beginning with all-lost and nothing-lost.
  auto few = crash_images(*fs, CrashModel::any_subset(), rng, 5);
  REQUIRE(few.size() == 5);
  CHECK(few[0].kept.empty());
  CHECK(few[1].kept.size() == 4);
  CHECK(crash_images(*fs, CrashModel::durable_only(), rng, 100).size() == 1);
}

TEST_CASE("changes to one directory entry survive in order", "[crashstates]") {
  auto fs = base_fs();
  fs->write_file("/d/a", "a");  // link a
  fs->unlink("/d/a");           // unlink a: needs the link before it
  fs->write_file("/d/b", "b");  // link b, independent
  Rng rng(2);
  std::set<std::set<std::string>> seen;
  const size_t n = for_each_crash_image(*fs, CrashModel::any_subset(), rng, 1000,
                                        [&](CrashImage& image) { seen.insert(names(*image.fs)); });
  // Pending: link a, write a, chmod a, unlink a, link b, write b, chmod b.
  // "unlink a" needs "link a" (3 ways for the pair), the rest is free: 3 * 2^5.
  REQUIRE(fs->pending_count() == 7);
  CHECK(n == 96);
  CHECK(seen ==
        std::set<std::set<std::string>>{{"old"}, {"old", "a"}, {"old", "b"}, {"old", "a", "b"}});
  // Every enumerated subset respects the prefix rule: never "unlink a" without "link a".
  const auto pending = fs->state().pending();
  uint64_t link_a = 0, unlink_a = 0;
  for (const auto& op : pending) {
    if (op.name == "a" && op.kind == PendingOp::Kind::link) link_a = op.seq;
    if (op.name == "a" && op.kind == PendingOp::Kind::unlink) unlink_a = op.seq;
  }
  for (const auto& subset : valid_subsets(pending, CrashModel::any_subset(), rng, 10000)) {
    const bool has_link = std::count(subset.begin(), subset.end(), link_a);
    const bool has_unlink = std::count(subset.begin(), subset.end(), unlink_a);
    CHECK((has_link || !has_unlink));
  }
}

TEST_CASE("a rename may survive half done: both names, one file", "[crashstates]") {
  auto fs = base_fs();
  fs->rename("/d/old", "/d/new");
  REQUIRE(fs->pending_count() == 2);  // link new, unlink old
  Rng rng(3);
  std::set<std::set<std::string>> seen;
  for (auto& image : crash_images(*fs, CrashModel::any_subset(), rng, 100)) {
    const auto n = names(*image.fs);
    seen.insert(n);
    if (n.size() == 2) {
      CHECK(image.fs->lstat("/d/old")->id.ino == image.fs->lstat("/d/new")->id.ino);
      CHECK(image.fs->lstat("/d/old")->nlink == 2);
    }
    image.fs->check_invariants();
  }
  // Never neither name: the old name goes only after the new one came.
  CHECK(seen == std::set<std::set<std::string>>{{"old"}, {"new"}, {"old", "new"}});
  seen.clear();
  for (auto& image : crash_images(*fs, CrashModel::journaled(), rng, 100))
    seen.insert(names(*image.fs));
  CHECK(seen == std::set<std::set<std::string>>{{"old"}, {"new"}});
}

TEST_CASE("journaled order keeps metadata as a prefix, data free", "[crashstates]") {
  auto fs = base_fs();
  fs->write_file("/d/a", "");
  fs->write_file("/d/b", "");
  fs->write_file("/d/c", "");
  fs->sync_all();
  for (const char* name : {"/d/a", "/d/b", "/d/c"}) fs->unlink(name);
  Rng rng(4);
  std::set<std::set<std::string>> seen;
  for (auto& image : crash_images(*fs, CrashModel::journaled(), rng, 100))
    seen.insert(names(*image.fs));
  CHECK(seen == std::set<std::set<std::string>>{
                    {"old", "a", "b", "c"}, {"old", "b", "c"}, {"old", "c"}, {"old"}});
  seen.clear();
  for (auto& image : crash_images(*fs, CrashModel::any_subset(), rng, 100))
    seen.insert(names(*image.fs));
  CHECK(seen.size() == 8);
}

TEST_CASE("many pending operations are sampled, distinct and reproducible", "[crashstates]") {
  auto fs = base_fs();
  auto f = fs->open("/d/old", OpenMode::read_write);
  for (int i = 0; i < 40; ++i) f->write_at(static_cast<uint64_t>(i), bytes("z"));
  auto sample = [&](uint64_t seed) {
    Rng rng(seed);
    std::vector<std::vector<uint64_t>> out;
    for_each_crash_image(*fs, CrashModel::any_subset(), rng, 50,
                         [&](CrashImage& image) { out.push_back(image.kept); });
    return out;
  };
  const auto a = sample(7);
  CHECK(a.size() == 50);
  CHECK(std::set<std::vector<uint64_t>>(a.begin(), a.end()).size() == 50);
  CHECK(sample(7) == a);
  CHECK(sample(8) != a);
  // Ten pending is still exhaustive: 2^10 subsets.
  auto g = base_fs();
  auto h = g->open("/d/old", OpenMode::read_write);
  for (int i = 0; i < 10; ++i) h->write_at(static_cast<uint64_t>(i), bytes("z"));
  Rng rng(9);
  CHECK(valid_subsets(g->state().pending(), CrashModel::any_subset(), rng, 5000).size() == 1024);
}

TEST_CASE("torn writes keep, lose or garble 512-byte sectors", "[crashstates]") {
  auto fs = base_fs();
  auto f = fs->open("/d/old", OpenMode::read_write);
  f->truncate(0);
  fs->sync_all();
  const std::string data =
      std::string(512, 'A') + std::string(512, 'B') + std::string(512, 'C') + std::string(100, 'D');
  f->write_at(0, bytes(data));  // 4 pieces
  f->write_at(3000, bytes("tail"));
  Rng rng(5);
  size_t torn = 0, mixed = 0, garbage = 0, with_tail = 0;
  const size_t n = for_each_crash_image(*fs, CrashModel::torn(), rng, 300, [&](CrashImage& image) {
    const std::string got = image.fs->read_file("/d/old");
    INFO(image.description);
    REQUIRE(got.size() <= 3004);
    if (got.size() == 3004) {
      ++with_tail;
      if (got.substr(3000) != "tail") CHECK(image.description.find("[g]") != std::string::npos);
    }
    if (image.description.find("torn") != std::string::npos) ++torn;
    int kinds = 0;
    for (size_t s = 0; s < 4 && s * 512 < got.size(); ++s) {
      const std::string piece = got.substr(s * 512, s == 3 ? 100 : 512);
      const std::string want = data.substr(s * 512, piece.size());
      if (piece == want)
        kinds |= 1;
      else if (piece.find_first_not_of('\0') == std::string::npos)
        kinds |= 2;  // lost: a hole
      else
        kinds |= 4;  // garbage
    }
    if (kinds & 4) ++garbage;
    if (kinds == 3 || kinds == 5 || kinds == 7) ++mixed;
  });
  CHECK(n == 300);
  CHECK(torn >= 290);
  CHECK(mixed > 50);
  CHECK(garbage > 50);
  CHECK(with_tail > 50);
  // The exact images stay exact.
  Rng again(5);
  auto images = crash_images(*fs, CrashModel::torn(), again, 2);
  CHECK(images[0].fs->read_file("/d/old").empty());
  CHECK(images[1].fs->read_file("/d/old") == data + std::string(3000 - data.size(), '\0') + "tail");
}

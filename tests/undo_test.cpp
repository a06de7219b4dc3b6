// Undo generations over the simulated file system: keep at commit, undo,
// refusal after a user's edit, --force, pruning to --keep N, forget, the
// listing, and records or names the journal must not trust.
#include "bpatch/undo.hpp"

#include <catch2/catch.hpp>

#include "base/paths.hpp"
#include "bpatch/error.hpp"
#include "bpatch/transaction.hpp"
#include "journal/generations.hpp"
#include "journal/records.hpp"
#include "testing/crash_checks.hpp"
#include "testing/crash_scenarios.hpp"
#include "testing/memory_file_system.hpp"

using namespace bpatch;
using namespace bpatch::testing;

namespace {

const std::string kRoot = "/r";
const std::string kJournal = "/r/.bpatch";

std::unique_ptr<MemoryFileSystem> initial_tree() {
  auto fs = std::make_unique<MemoryFileSystem>();
  fs->make_dirs("/r/a");
  fs->write_file("/r/a/x", "the old x content", 0640);
  fs->write_file("/r/old.dat", "to be removed", 0751);
  fs->write_file("/r/y", "yyyy");
  fs->sync_all();
  return fs;
}

CommitResult commit_with_keep(FileSystem& fs, std::vector<Change> changes, unsigned keep = 1) {
  TransactionOptions o = explorer_tx_options(kRoot);
  o.keep = keep;
  Transaction tx(fs, o);
  for (auto& c : changes) tx.add(std::move(c));
  return tx.commit();
}

std::vector<Change> update() {
  std::vector<Change> c;
  c.push_back(edit_change("a/x", {write_op(4, "NEW"), append_op(" and more")}));
  c.push_back(put_change("n/m/new.txt", "created", 0600));
  c.push_back(remove_change("old.dat"));
  c.push_back(put_change("y", "replaced y"));
  return c;
}

// The tree without the kept originals of any generation.
Snapshot visible(const Snapshot& tree) {
  Snapshot out;
  for (const auto& [path, node] : tree)
    if (path.find(".bpatch-keep-") == std::string::npos) out.emplace(path, node);
  return out;
}

UndoReport do_undo(FileSystem& fs, bool force = false) {
  UndoOptions o;
  o.root = kRoot;
  o.force = force;
  return undo(fs, o);
}

Errc undo_error(FileSystem& fs) {
  try {
    do_undo(fs);
  } catch (const Error& e) {
    UNSCOPED_INFO(e.what());
    return e.code();
  }
  FAIL("undo was expected to fail");
  return Errc::io;
}

}  // namespace

TEST_CASE("undo gives back the tree before the update, modes and inodes included", "[undo]") {
  auto fs = initial_tree();
  const Snapshot before = tree_without_journal(*fs, kRoot);
  const uint64_t x_ino = fs->lstat("/r/a/x")->id.ino;
  const auto result = commit_with_keep(*fs, update());
  // The originals are kept as second names, not copies.
  const auto kept = fs->lstat(journal::journal_keep_path(kJournal, result.txid, "/r/a/x"));
  REQUIRE(kept);
  CHECK(kept->id.ino == x_ino);
  CHECK(fs->read_file("/r/a/x") == "the NEW x content and more");
  const auto generations = list_generations(*fs, kJournal);
  REQUIRE(generations.size() == 1);
  CHECK(generations[0].txid == result.txid);
  CHECK(generations[0].kept == 3);
  CHECK(generations[0].created == 1);
  CHECK(generations[0].problem.empty());
  CHECK(generations[0].disk_cost == 17 + 13 + 4);  // the memory file system: sizes

  const auto undone = do_undo(*fs);
  CHECK(undone.undone == result.txid);
  CHECK(tree_without_journal(*fs, kRoot) == before);
  CHECK(fs->lstat("/r/a/x")->id.ino == x_ino);
  CHECK(find_records(*fs, kJournal) == std::vector<std::string>{});
  CHECK(list_generations(*fs, kJournal).empty());
  CHECK(undo_error(*fs) == Errc::not_found);  // nothing to undo
}

TEST_CASE("undo refuses when a file changed since, and --force restores anyway", "[undo]") {
  auto fs = initial_tree();
  const Snapshot before = tree_without_journal(*fs, kRoot);
  commit_with_keep(*fs, update());
  SECTION("an edit of the same size") {
    auto f = fs->open("/r/y", OpenMode::read_write);
    f->write_at(0, std::as_bytes(std::span("R", 1)));
  }
  SECTION("a removed file that exists again") { fs->write_file("/r/old.dat", "mine"); }
  SECTION("a created file deleted") { fs->unlink("/r/n/m/new.txt"); }
  const Snapshot changed = fs->snapshot("/");
  CHECK(undo_error(*fs) == Errc::wrong_source);
  CHECK(fs->snapshot("/") == changed);  // nothing at all changed
  do_undo(*fs, true);
  CHECK(tree_without_journal(*fs, kRoot) == before);
}

TEST_CASE("keep N keeps the N newest generations, and undo goes back one at a time", "[undo]") {
  auto fs = initial_tree();
  const Snapshot v0 = tree_without_journal(*fs, kRoot);
  commit_with_keep(*fs, {put_change("y", "v1")}, 2);
  const Snapshot v1 = tree_without_journal(*fs, kRoot);
  commit_with_keep(*fs, {put_change("y", "v2")}, 2);
  const Snapshot v2 = tree_without_journal(*fs, kRoot);
  const auto third = commit_with_keep(*fs, {put_change("y", "v3")}, 2);
  REQUIRE(list_generations(*fs, kJournal).size() == 2);
  do_undo(*fs);
  CHECK(fs->read_file("/r/y") == "v2");
  // v2 as it was, less the kept names of the generation pruned since.
  CHECK(visible(tree_without_journal(*fs, kRoot)) == visible(v2));
  do_undo(*fs);
  CHECK(fs->read_file("/r/y") == "v1");
  CHECK(undo_error(*fs) == Errc::not_found);  // v0's generation was pruned
  (void)v0, (void)v1, (void)third;
  SECTION("keep 0 is today's behaviour: no hidden name, no record") {
    commit_with_keep(*fs, {put_change("y", "v4")}, 0);
    CHECK(find_records(*fs, kJournal).empty());
    for (const auto& [path, node] : fs->snapshot(kRoot))
      CHECK(path.find(".bpatch-keep-") == std::string::npos);
  }
}

TEST_CASE("forget drops one generation or all, names and records", "[undo]") {
  auto fs = initial_tree();
  const Snapshot v0 = tree_without_journal(*fs, kRoot);
  const auto first = commit_with_keep(*fs, {put_change("y", "v1"), remove_change("old.dat")}, 3);
  const auto second = commit_with_keep(*fs, {put_change("y", "v2")}, 3);
  CHECK_THROWS_AS(forget(*fs, kJournal, "0000000000000000-00000000"), Error);
  CHECK(forget(*fs, kJournal, first.txid) == std::vector<std::string>{first.txid});
  REQUIRE(list_generations(*fs, kJournal).size() == 1);
  CHECK_FALSE(fs->exists(journal::journal_keep_path(kJournal, first.txid, "/r/old.dat")));
  CHECK(forget(*fs, kJournal) == std::vector<std::string>{second.txid});
  CHECK(find_records(*fs, kJournal).empty());
  for (const auto& [path, node] : fs->snapshot(kRoot))
    CHECK(path.find(".bpatch-keep-") == std::string::npos);
  CHECK(undo_error(*fs) == Errc::not_found);
  (void)v0;
}

TEST_CASE("undo trusts no kept name that is not exactly its own", "[undo]") {
  auto fs = initial_tree();
  const auto result = commit_with_keep(*fs, {put_change("y", "v1")});
  const std::string kept = journal::journal_keep_path(kJournal, result.txid, "/r/y");
  SECTION("the kept name replaced by another file") {
    fs->unlink(kept);
    fs->write_file(kept, "forged");
  }
  SECTION("the kept name gone") { fs->unlink(kept); }
  const Snapshot state = fs->snapshot("/");
  CHECK(undo_error(*fs) == Errc::journal);
  CHECK(fs->snapshot("/") == state);
  CHECK_FALSE(list_generations(*fs, kJournal)[0].problem.empty());
  // forget never deletes the stranger's file either.
  forget(*fs, kJournal);
  CHECK(fs->exists(kept) == (state.count(kept) > 0));
}

TEST_CASE("a generation record that names a path outside its root is refused", "[undo]") {
  auto fs = initial_tree();
  const auto result = commit_with_keep(*fs, {put_change("y", "v1")});
  const std::string record = kJournal + "/undo-" + result.txid;
  std::string bytes = fs->read_file(record);
  // A record made for another root (resealed: checksums stop tears, not forgery).
  fs->unlink(record);
  fs->write_file(record, "bpatch-manifest 2\ntxid " + result.txid + "\n", 0600);
  const Snapshot state = fs->snapshot("/");
  CHECK(undo_error(*fs) == Errc::journal);
  CHECK(fs->snapshot("/") == state);
  (void)bytes;
}

TEST_CASE("undo of the tree statements: symlinks, modes, mkdir and rmdir come back", "[undo]") {
  auto fs = std::make_unique<MemoryFileSystem>();
  fs->make_dirs("/r/t/old/sub");
  fs->make_dirs("/r/t/d", 0711);
  fs->make_dirs("/r/t/empty", 0750);
  fs->write_file("/r/t/a", "aaaa", 0644);
  fs->write_file("/r/t/plain", "plain file", 0640);
  fs->write_file("/r/t/old/sub/f", "in a removed directory");
  fs->make_symlink("a", "/r/t/l");
  fs->make_symlink("nowhere", "/r/t/old/sub/dl");
  fs->sync_all();
  const Snapshot before = tree_without_journal(*fs, kRoot);
  commit_with_keep(
      *fs, {Change::symlink("t/l2", "a"), Change::symlink("t/l", "old/gone"),
            Change::symlink("t/plain", "/abs"), Change::mkdir("t/n/inner", 0750),
            put_change("t/n/inner/file", "n"), Change::mkdir("t/d", 0700),
            Change::chmod("t/a", 0600), remove_change("t/old/sub/f"), remove_change("t/old/sub/dl"),
            Change::rmdir("t/old/sub"), Change::rmdir("t/old"), Change::rmdir("t/empty")});
  CHECK(fs->lstat("/r/t/d")->mode == 0700);
  CHECK_FALSE(fs->exists("/r/t/empty"));
  CHECK(fs->read_link("/r/t/plain") == "/abs");
  do_undo(*fs);
  CHECK(tree_without_journal(*fs, kRoot) == before);
  CHECK(find_records(*fs, kJournal).empty());
}

TEST_CASE("the undo lines of a manifest round-trip, and a record without them is unchanged",
          "[undo]") {
  using journal::ManifestEntry;
  journal::ManifestRecord m{"18ebe05d021f3455-00007708", "/r/.bpatch", "/r", {}};
  const std::string plain = journal::encode_manifest(m);
  CHECK(plain.find("keep") == std::string::npos);
  m.keep = 3;
  m.dirs = {"/r/n", "/r/n/m"};
  m.undoes = "18ebe05d021f3454-00007708";
  ManifestEntry r;
  r.op = ManifestEntry::Op::replace;
  r.shadow = paths::shadow_path("/r/x", m.txid);
  r.target = "/r/x";
  r.ino = 7, r.size = 3, r.mode = 0640, r.old_ino = 5;
  ManifestEntry c;
  c.op = ManifestEntry::Op::chmod;
  c.target = "/r/d";
  c.ino = 9, c.mode = 0700, c.old_mode = 0751;
  ManifestEntry d = c;
  d.op = ManifestEntry::Op::rmdir;
  d.mode = 0;
  ManifestEntry l = r;
  l.op = ManifestEntry::Op::symlink;
  l.mode = 0777;
  l.post_hash = Hash128{1, 2};
  m.entries = {r, l, c, d};
  const std::string bytes = journal::encode_manifest(m);
  CHECK(bytes.find(" old=5") != std::string::npos);
  CHECK(bytes.find(" oldmode=751") != std::string::npos);
  const auto back = journal::decode_manifest(bytes, "m");
  CHECK(back.keep == 3);
  CHECK(back.dirs == m.dirs);
  CHECK(back.undoes == m.undoes);
  CHECK(back.entries == m.entries);
}

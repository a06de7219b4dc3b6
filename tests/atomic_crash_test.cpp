// Crash tests of `apply --atomic` and its undo (docs/protocol.md §6): the
// power is cut after every operation of apply_atomic() and undo_atomic() on
// a MemoryFileSystem, and every post-crash image the crash models allow is
// recovered with recover_atomic(). Each must end with LINK naming exactly
// the old or exactly the new release, the old release byte for byte as it
// was, the new one complete when LINK names it, and nothing else left: no
// half-built release, no LINK.bpatch-TXID, no unfinished record. A second
// recovery must change nothing; an image of a state reached after apply,
// undo or recovery RETURNED must already be final without recovery; and a
// recovery crashed in its turn must reach the same outcome.
//
// The sync-mutation part removes each `atomic.*` fsync in turn and demands a
// violating image, so that none of them is decorative; the list of sites is
// checked against src/.
#include <catch2/catch.hpp>
#include <iostream>
#include <set>

#include "bpatch/atomic.hpp"
#include "bpatch/error.hpp"
#include "release/atomic_release.hpp"
#include "release/release_journal.hpp"
#include "testing/crash_scenarios.hpp"
#include "testing/crash_states.hpp"
#include "testing/memory_file_system.hpp"
#include "testing/sync_sites.hpp"
#include "testing/test_files.hpp"
#include "testing/test_scale.hpp"

using namespace bpatch;
using namespace bpatch::testing;

namespace {

const std::string kLink = "/srv/current";
const std::string kJournal = "/srv/.bpatch";
const std::string kOld = "/srv/releases/v1";
const std::string kOldText = "releases/v1";

const std::vector<std::string> kAtomicSites = {
    "atomic.intent.file", "atomic.intent.dir",  "atomic.mirror.file",  "atomic.release.dir",
    "atomic.switch",      "atomic.generation",  "atomic.rollback.dir", "atomic.records",
    "atomic.undo.switch", "atomic.mirror.batch"};

// Enough unchanged files for the reflink copies to be synced by one syncfs.
constexpr int kWideFiles = 36;

void make_tree(MemoryFileSystem& fs, bool wide) {
  if (wide) fs.make_dirs("/srv/releases/v1/w");
  for (int i = 0; wide && i < kWideFiles; ++i)
    fs.write_file("/srv/releases/v1/w/w" + std::to_string(i), "wide file " + std::to_string(i));
  fs.make_dirs("/srv/releases/v1/sub");
  fs.set_mode("/srv/releases/v1/sub", 0750);
  fs.write_file("/srv/releases/v1/a", "alpha-1 of the first release");
  fs.write_file("/srv/releases/v1/b", "bravo-1", 0600);
  fs.write_file("/srv/releases/v1/d", "delta-1, which the first update keeps", 0640);
  fs.write_file("/srv/releases/v1/sub/c", "charlie-1 in a subdirectory", 0755);
  fs.make_symlink("a", "/srv/releases/v1/l");
  fs.make_symlink(kOldText, kLink);
  fs.sync_all();
}

std::vector<Change> update() {
  return {put_change("a", "alpha-2, the second release"), edit_change("sub/c", {write_op(8, "2")}),
          remove_change("b")};
}

AtomicOptions options() {
  AtomicOptions o;
  o.link = kLink;
  o.threads = 1;
  return o;
}

using Skip = std::function<bool(std::string_view)>;

std::vector<std::string> names_in(MemoryFileSystem& fs, const std::string& dir) {
  if (!fs.exists(dir)) return {};
  auto names = fs.list_dir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

std::string paths_basename(const std::string& p) { return p.substr(p.rfind('/') + 1); }

// What a checked state may be.
struct Expect {
  Snapshot old_tree;  // kOld before
  Snapshot new_tree;  // the new release as the uninterrupted run made it
  std::string new_dir, new_text, txid;
  bool undoing = false;  // both releases must stay, whichever LINK names
};

// 0: LINK names the old release; 1: the new one; -1: a violation (in *why).
int classify(MemoryFileSystem& fs, const Expect& ex, std::string* why) {
  auto bad = [&](const std::string& s) {
    *why = s;
    return -1;
  };
  const auto link = fs.lstat(kLink);
  if (!link || link->type != FileType::symlink) return bad("LINK is not a symlink");
  const std::string text = fs.read_link(kLink);
  const int outcome = text == kOldText ? 0 : text == ex.new_text ? 1 : -1;
  if (outcome < 0) return bad("LINK holds `" + text + "`");
  if (fs.snapshot(kOld) != ex.old_tree) return bad("the old release changed");
  const auto releases = names_in(fs, "/srv/releases");
  const bool both = outcome == 1 || ex.undoing;
  const std::vector<std::string> want_releases =
      !both ? std::vector<std::string>{"v1"}
            : std::vector<std::string>{"v1", paths_basename(ex.new_dir)};
  if (releases != want_releases)
    return bad("releases/ holds " + std::to_string(releases.size()) +
               " entries (a stray release?)");
  if (both && fs.snapshot(ex.new_dir) != ex.new_tree)
    return bad(outcome == 1 ? "LINK names an incomplete new release"
                            : "the release undo switched away from changed");
  for (const auto& n : names_in(fs, "/srv"))
    if (n.starts_with("current.")) return bad("a temporary link is left: " + n);
  bool generation = false;
  for (const auto& n : names_in(fs, kJournal)) {
    if (n.starts_with("release-")) return bad("an unfinished record is left: " + n);
    if (n == "generation-" + ex.txid) generation = true;
  }
  if (both && !generation) return bad("the new release has no generation record");
  for (const auto& n : names_in(fs, kJournal + "/tree"))
    if (n != "LOCK") return bad("the inner journal holds " + n);
  return outcome;
}

struct Explorer {
  Expect ex;
  Skip skip;
  bool stop_at_first = false;
  std::vector<std::string> violations;
  size_t images = 0, recoveries = 0;
  std::vector<NamedModel> models, nested;
  Rng rng{7};

  Explorer() {
    const size_t div = small_scale() ? 8 : 1;
    CrashModel whole = CrashModel::any_subset();
    whole.half_renames = false;
    models = {{"durable-only", CrashModel::durable_only(), 1},
              {"any-subset", CrashModel::any_subset(), 128 / div},
              {"ext4-ordered", CrashModel::journaled(), 32 / div},
              {"torn-sectors", CrashModel::torn(), 32 / div},
              {"whole-renames", whole, 16 / div}};
    nested = {{"durable-only", CrashModel::durable_only(), 1},
              {"any-subset", CrashModel::any_subset(), 3}};
  }

  size_t nested_images = 4;  // per crash point, whose recovery is crashed too
  size_t next_updates = 2;   // per crash point, a next update started from the image

  // Fewer images and no crashed recoveries: for a scenario with many files.
  void light() {
    models = {{"durable-only", CrashModel::durable_only(), 1},
              {"any-subset", CrashModel::any_subset(), small_scale() ? 2u : 6u}};
    nested_images = 0;
    next_updates = 1;
  }

  bool stopped() const { return stop_at_first && !violations.empty(); }
  void violation(const std::string& where, const std::string& what) {
    violations.push_back(where + ": " + what);
  }

  // Recovers fs (crashing it first at each of its points when `nest`),
  // checks the outcome; returns it (-1 on a violation).
  int recover_and_check(MemoryFileSystem& image, const std::string& where, bool nest) {
    auto fs = image.clone();
    fs->reset_trace();
    std::vector<std::unique_ptr<MemoryFileSystem>> points;
    if (nest) fs->set_hook([&](const TraceOp&) { points.push_back(fs->clone()); });
    ++recoveries;
    try {
      release::recover_atomic_with_hook(*fs, kJournal, 0, skip);
    } catch (const Error& e) {
      violation(where, std::string("recovery failed: ") + e.what());
      return -1;
    }
    fs->set_hook(nullptr);
    std::string why;
    const int outcome = classify(*fs, ex, &why);
    if (outcome < 0) {
      violation(where + " → recovered", why);
      return -1;
    }
    // Recovery returned: what it did must already be durable.
    const int durable = classify(*durable_image(*fs), ex, &why);
    if (durable != outcome) {
      violation(where + " → recovered → power cut", durable < 0 ? why : "outcome flipped");
      return -1;
    }
    const Snapshot once = fs->snapshot("/");
    release::recover_atomic_with_hook(*fs, kJournal, 0, skip);
    if (fs->snapshot("/") != once) violation(where, "a second recovery changed the file system");
    for (size_t k = 0; k < points.size() && !stopped(); ++k)
      for (const auto& m : nested)
        for_each_crash_image(*points[k], m.model, rng, m.max_images, [&](CrashImage& img) {
          const int again = recover_and_check(
              *img.fs, where + " → recovery crashed after op " + std::to_string(k + 1), false);
          if (again >= 0 && again != outcome)
            violation(where, "a crashed recovery reached the other outcome");
        });
    return outcome;
  }

  // Runs op on fs with a copy taken after every operation, then explores
  // the crash images of each. `done` is the outcome the final state must
  // have without recovery.
  void explore(const std::string& name, MemoryFileSystem& fs,
               const std::function<void(MemoryFileSystem&)>& op, int done) {
    std::vector<std::unique_ptr<MemoryFileSystem>> points;
    fs.reset_trace();
    fs.set_hook([&](const TraceOp&) { points.push_back(fs.clone()); });
    op(fs);
    fs.set_hook(nullptr);
    std::string why;
    const int final_outcome = classify(*durable_image(fs), ex, &why);
    if (final_outcome != done)
      violation(name + " returned → power cut",
                final_outcome < 0 ? why : "not final: LINK names the other release");
    for (size_t k = 0; k < points.size() && !stopped(); ++k) {
      size_t n = 0;
      for (const auto& m : models)
        for_each_crash_image(*points[k], m.model, rng, m.max_images, [&](CrashImage& img) {
          if (stopped()) return;
          ++images;
          const std::string where = name + " crashed after op " + std::to_string(k + 1) + "/" +
                                    std::to_string(points.size()) + " (" + m.name + ")";
          if (n < next_updates) next_update(*img.fs, where);
          recover_and_check(*img.fs, where, n++ < nested_images);
        });
    }
  }

  // The next update starts from the crash image itself: its start-up
  // recovery must finish or undo the interrupted one, and it must succeed.
  void next_update(MemoryFileSystem& image, const std::string& where) {
    auto fs = image.clone();
    try {
      const auto r =
          release::apply_atomic_with_hook(*fs, options(), {put_change("d", "delta-2")}, skip);
      if (fs->read_file(r.new_release + "/d") != "delta-2" ||
          fs->read_file(r.new_release + "/sub/c") != fs->read_file(r.old_release + "/sub/c"))
        violation(where + " → next update", "the next release is wrong");
      if (fs->snapshot(kOld) != ex.old_tree)
        violation(where + " → next update", "the old release changed");
    } catch (const Error& e) {
      violation(where + " → next update", std::string("failed: ") + e.what());
    }
  }
};

// Runs the whole exploration (apply, then undo) with the given sharing.
void explore_all(Explorer& x, bool reflinks, bool wide = false) {
  MemoryFileSystemOptions fo;
  fo.clone_range = reflinks;
  // The uninterrupted run: what "new" is.
  Snapshot old_tree;
  {
    MemoryFileSystem fs(fo);
    make_tree(fs, wide);
    old_tree = fs.snapshot(kOld);
    const auto r = release::apply_atomic_with_hook(fs, options(), update(), nullptr);
    x.ex = {old_tree, fs.snapshot(r.new_release), r.new_release, r.new_target, r.txid};
    REQUIRE(x.ex.new_tree.at(r.new_release + "/a").content == "alpha-2, the second release");
    REQUIRE(x.ex.new_tree.at(r.new_release + "/sub/c").content == "charlie-2 in a subdirectory");
    REQUIRE(x.ex.new_tree.count(r.new_release + "/b") == 0);
    REQUIRE(x.ex.new_tree.at(r.new_release + "/l").content == "a");
    REQUIRE((reflinks ? r.files_reflinked : r.files_hard_linked) == 4 + (wide ? kWideFiles : 0));
  }
  MemoryFileSystem fs(fo);
  make_tree(fs, wide);
  x.explore(
      std::string("apply --atomic") + (reflinks ? " (reflinks" : " (hard links") +
          (wide ? ", wide)" : ")"),
      fs,
      [&](MemoryFileSystem& f) {
        const auto r = release::apply_atomic_with_hook(f, options(), update(), x.skip);
        // The txid differs from the reference run's: compare by name.
        const std::string reference = x.ex.new_dir;
        x.ex.txid = r.txid;
        x.ex.new_dir = r.new_release;
        x.ex.new_text = r.new_target;
        Snapshot renamed;
        for (const auto& [path, node] : x.ex.new_tree)
          renamed[r.new_release + path.substr(reference.size())] = node;
        x.ex.new_tree = renamed;
      },
      1);
  if (x.stopped()) return;
  fs.sync_all();
  x.ex.undoing = true;
  x.explore(
      "undo", fs,
      [&](MemoryFileSystem& f) { release::undo_atomic_with_hook(f, options(), x.skip); }, 0);
}

}  // namespace

TEST_CASE("apply --atomic and undo: every crash recovers to exactly the old or the new release",
          "[atomic][crash]") {
  for (const int variant : {0, 1, 2}) {  // hard links, reflinks, reflinks of many files
    Explorer x;
    if (variant == 2) x.light();
    explore_all(x, variant > 0, variant == 2);
    std::cout << "atomic crash, "
              << (variant == 0   ? "hard links"
                  : variant == 1 ? "reflinks"
                                 : "wide")
              << ": " << x.images << " crash images, " << x.recoveries << " recoveries\n";
    for (const auto& v : x.violations) UNSCOPED_INFO(v);
    CHECK(x.violations.empty());
    CHECK(x.images > 100);
  }
}

TEST_CASE("the atomic sync sites are exactly those in src/", "[atomic][syncmutation]") {
  CHECK(sync_sites_in_source({"atomic"}) ==
        std::set<std::string>(kAtomicSites.begin(), kAtomicSites.end()));
}

TEST_CASE("skipping any one atomic fsync lets a crash break the switch", "[atomic][syncmutation]") {
  for (const auto& site : kAtomicSites) {
    bool found = false;
    std::string first;
    for (const int variant : {0, 1, 2}) {
      Explorer x;
      if (variant == 2) x.light();
      x.skip = [site](std::string_view s) { return s == site; };
      x.stop_at_first = true;
      explore_all(x, variant > 0, variant == 2);
      if (!x.violations.empty()) {
        found = true;
        first = x.violations.front();
        break;
      }
    }
    std::cout << "atomic sync mutation: " << site << (found ? ": " + first : ": NO VIOLATION FOUND")
              << "\n";
    CHECK(found);
  }
}

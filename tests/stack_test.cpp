// Stacked changes over the simulated file system: several changes to one
// file in script order (move + deltas + edit), expect= of the first and
// result= of the last, a later expect=/result= checked on the intermediate
// result, the whole chain idempotent, intermediate results in scratch files
// that never reach the manifest or outlive the transaction, and dry runs.
#include <catch2/catch.hpp>

#include "bpatch/error.hpp"
#include "bpatch/script.hpp"
#include "bpatch/transaction.hpp"
#include "testing/crash_checks.hpp"
#include "testing/memory_file_system.hpp"
#include "testing/rom_encoders.hpp"

using namespace bpatch;
using namespace bpatch::testing;

namespace {

std::string text(const Bytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }
Bytes bytes(const std::string& s) { return to_bytes(s); }
std::string rnd(size_t n, uint32_t seed) { return text(random_bytes(n, seed)); }
std::string h(const std::string& s) {
  return "xxh3:" + hash_bytes(std::as_bytes(std::span(s.data(), s.size()))).hex();
}

CommitResult run(FileSystem& fs, const std::string& script, bool dry_run = false) {
  TransactionOptions o = explorer_tx_options("/r");
  o.dry_run = dry_run;
  Transaction tx(fs, o);
  for (auto& c : parse_script("bpatch 1\n" + script, "/s/update.bpatch", "/s"))
    tx.add(std::move(c));
  return tx.commit();
}

// v0 --BPS--> v1 --IPS--> v2 --edit--> v3, every version computed here.
struct Versions {
  std::string v0, v1, v2, v3;
  Versions() {
    v0 = rnd(20000, 7);
    v1 = v0.substr(0, 5000) + rnd(777, 8) + v0.substr(6000);
    v2 = v1;
    for (size_t i = 100; i < v2.size(); i += 501) v2[i] = static_cast<char>(v2[i] ^ 0x33);
    v3 = "HEAD" + v2.substr(0, 10000) + v2.substr(10016) + "TAIL";
  }
  void write_patches(MemoryFileSystem& fs) const {
    fs.make_dirs("/s");
    fs.write_file("/s/1.bps", text(diff_bps(bytes(v0), bytes(v1))));
    const IpsDiff d = diff_ips(bytes(v1), bytes(v2));
    fs.write_file("/s/2.ips", text(encode_ips(d.records, d.truncate)));
  }
  static std::string edit() {
    return "edit f\n  insert 0 hex:48454144\n  delete 10004 16\n  append hex:5441494c\n";
  }
};

std::vector<std::string> traced_paths(const MemoryFileSystem& fs, TraceOp::Kind kind,
                                      const std::string& part) {
  std::vector<std::string> out;
  for (const auto& op : fs.trace())
    if (op.kind == kind && op.path.find(part) != std::string::npos) out.push_back(op.path);
  return out;
}

}  // namespace

TEST_CASE("a move, two deltas and an edit of one file apply exactly", "[stack][move]") {
  const Versions v;
  MemoryFileSystem fs;
  fs.make_dirs("/r");
  v.write_patches(fs);
  fs.make_dirs("/r/old");
  fs.write_file("/r/old/f", v.v0, 0700);
  fs.sync_all();
  fs.reset_trace();
  std::string intent, manifest;
  fs.set_hook([&](const TraceOp& op) {
    if (op.kind != TraceOp::Kind::rename || op.path2.find("/r/.bpatch/") != 0) return;
    (op.path2.find("manifest-") != std::string::npos ? manifest : intent) = fs.read_file(op.path2);
  });
  const auto r = run(fs, "move old/f new/f expect=" + h(v.v0) +
                             "\n"
                             "delta new/f 1.bps\n"
                             "delta new/f 2.ips expect=" +
                             h(v.v1) + "\n" + "edit new/f result=" + h(v.v3) +
                             "\n  insert 0 hex:48454144\n  delete 10004 16\n  append "
                             "hex:5441494c\n");
  fs.set_hook(nullptr);
  CHECK(fs.read_file("/r/new/f") == v.v3);
  CHECK(fs.lstat("/r/new/f")->mode == 0700);
  CHECK_FALSE(fs.exists("/r/old/f"));
  REQUIRE(r.files.size() == 4);
  CHECK(r.files[3].post_hash->hex() == h(v.v3).substr(5));
  CHECK(r.files[2].post_hash->hex() == h(v.v2).substr(5));
  // Two intermediate results (after each delta), in scratch files of the
  // shadow family: created, read, deleted before the commit.
  const auto created = traced_paths(fs, TraceOp::Kind::create, "/r/new/.f~");
  CHECK(created ==
        std::vector<std::string>{"/r/new/.f~1.bpatch-" + r.txid, "/r/new/.f~2.bpatch-" + r.txid});
  CHECK(traced_paths(fs, TraceOp::Kind::unlink, "/r/new/.f~") == created);
  CHECK(traced_paths(fs, TraceOp::Kind::sync, "/r/new/.f~").empty());  // never synced
  INFO(manifest);
  CHECK(manifest.find("~") == std::string::npos);  // one shadow per target
  CHECK(manifest.find("replace /r/new/.f.bpatch-") != std::string::npos);
  CHECK(manifest.find("remove /r/old/f ") != std::string::npos);
  CHECK(find_shadows(fs, "/r").empty());
  CHECK(find_records(fs, "/r/.bpatch").empty());
}

TEST_CASE("two deltas and an edit: expect= before the first, result= after the last", "[stack]") {
  const Versions v;
  const std::string chain = "delta f 1.bps expect=" + h(v.v0) +
                            "\ndelta f 2.ips\nedit f result=" + h(v.v3) +
                            "\n  insert 0 hex:48454144\n  delete 10004 16\n  append hex:5441494c\n";
  MemoryFileSystem fs;
  fs.make_dirs("/r");
  v.write_patches(fs);
  fs.write_file("/r/f", v.v0, 0640);
  fs.write_file("/r/g", "other");

  SECTION("a dry run decodes the chain and writes nothing") {
    fs.sync_all();
    fs.reset_trace();
    const auto r = run(fs, chain + "put g hex:00\n", true);
    CHECK(fs.trace().empty());
    CHECK(r.files[2].post_hash->hex() == h(v.v3).substr(5));
  }
  SECTION("applied, then a second run is already up to date") {
    const auto r = run(fs, chain);
    CHECK(fs.read_file("/r/f") == v.v3);
    CHECK(fs.lstat("/r/f")->mode == 0640);
    CHECK(r.files[0].action == FileResult::Action::replaced);
    const auto again = run(fs, chain);
    CHECK(again.txid.empty());
    for (const auto& f : again.files) CHECK(f.action == FileResult::Action::unchanged);
  }
  SECTION("a file at neither version is refused, naming both") {
    fs.write_file("/r/f", v.v1);
    try {
      run(fs, chain);
      FAIL("not refused");
    } catch (const Error& e) {
      CHECK(e.code() == Errc::wrong_source);
      CHECK(std::string(e.what()).find("neither the old version") != std::string::npos);
    }
    CHECK(fs.read_file("/r/f") == v.v1);
  }
  SECTION("a wrong result= of the last rolls back, scratch files included") {
    const std::string wrong =
        "delta f 1.bps\ndelta f 2.ips\nedit f result=" + h(v.v2) + "\n  append hex:00\n";
    CHECK_THROWS_WITH(run(fs, wrong), Catch::Contains("result= says"));
    CHECK(fs.read_file("/r/f") == v.v0);
    CHECK(find_shadows(fs, "/r").empty());
    CHECK(find_records(fs, "/r/.bpatch").empty());
  }
  SECTION("expect= and result= of a middle change check the intermediate result") {
    const std::string ok = "delta f 1.bps result=" + h(v.v1) + "\ndelta f 2.ips expect=" + h(v.v1) +
                           " result=" + h(v.v2) + "\n" + Versions::edit();
    run(fs, ok);
    CHECK(fs.read_file("/r/f") == v.v3);
  }
  SECTION("a wrong expect= of a later change is refused before the commit") {
    const std::string bad = "delta f 1.bps\ndelta f 2.ips expect=" + h(v.v0) + "\n";
    CHECK_THROWS_WITH(run(fs, bad), Catch::Contains("the change before it leaves"));
    CHECK(fs.read_file("/r/f") == v.v0);
    CHECK(find_shadows(fs, "/r").empty());
  }
  SECTION("a patch for another file in the middle is refused; nothing changes") {
    const std::string bad = "delta f 1.bps\ndelta f 1.bps\n";  // v0's patch on v1
    CHECK_THROWS_AS(run(fs, bad), Error);
    CHECK(fs.read_file("/r/f") == v.v0);
    CHECK(find_shadows(fs, "/r").empty());
  }
  SECTION("an edit out of range of the previous result is refused at validation") {
    fs.sync_all();
    fs.reset_trace();
    const std::string bad = "put f hex:00112233\nedit f\n  write 100 hex:00\n";
    CHECK_THROWS_WITH(run(fs, bad), Catch::Contains("update.bpatch:4"));
    for (const auto& op : fs.trace()) CHECK(op.path.find("/r/f") == std::string::npos);
  }
}

TEST_CASE("stacks that start with put or copy, edits on edits", "[stack]") {
  MemoryFileSystem fs;
  fs.make_dirs("/r");
  fs.write_file("/r/base", "0123456789");
  run(fs,
      "put n/new hex:616263\nedit n/new\n  append hex:64\nedit n/new mode=0600\n  "
      "insert 0 hex:5f\n"
      "copy base c\nedit c\n  write 0 hex:41\n");
  CHECK(fs.read_file("/r/n/new") == "_abcd");
  CHECK(fs.lstat("/r/n/new")->mode == 0600);
  CHECK(fs.read_file("/r/c") == "A123456789");
  CHECK(fs.read_file("/r/base") == "0123456789");
  CHECK(find_shadows(fs, "/r").empty());
}

TEST_CASE("the same file through a symbolic link is not stacked, but refused", "[stack]") {
  MemoryFileSystem fs;
  fs.make_dirs("/r");
  fs.make_dirs("/r/d");
  fs.write_file("/r/d/f", "abc");
  fs.make_symlink("d", "/r/l");
  CHECK_THROWS_WITH(run(fs, "edit d/f\n  append hex:00\nedit l/f\n  append hex:00\n"),
                    Catch::Contains("under two names"));
  CHECK(fs.read_file("/r/d/f") == "abc");
}

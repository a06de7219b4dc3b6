// The explored transactions; see crash_scenarios.hpp.
#include "testing/crash_scenarios.hpp"

#include <cstdlib>

#include "testing/oracles.hpp"
#include "testing/rom_encoders.hpp"
#include "testing/test_files.hpp"

namespace bpatch::testing {
namespace {

std::string text(const Bytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }
Bytes bytes_of(const std::string& s) { return to_bytes(s); }
std::string rnd(size_t n, uint32_t seed) { return text(random_bytes(n, seed)); }

Data data_of(const std::string& s) {
  Data d;
  d.bytes = bytes_of(s);
  return d;
}

// The real tool, or a failed test unless BPATCH_ALLOW_MISSING_ORACLES (then a BPS delta stands in).
bool have_bsdiff() { return oracle_available("bsdiff"); }

// A bsdiff patch made by the real tool.
std::string real_bsdiff(const std::string& old_content, const std::string& new_content) {
  TempDir dir;
  write_file(dir / "old", old_content);
  write_file(dir / "new", new_content);
  const auto r = run({"bsdiff", dir / "old", dir / "new", dir / "patch"});
  if (r.exit_code != 0) throw std::runtime_error("bsdiff failed: " + r.err);
  return read_file(dir / "patch");
}

// Text-like bytes, so that bsdiff finds matches.
std::string words(size_t n, uint32_t seed) {
  static const char* vocab[] = {"alpha ",   "beta ", "gamma ", "delta\n",
                                "epsilon ", "zeta ", "eta\n",  "theta "};
  std::mt19937 rng(seed);
  std::string out;
  while (out.size() < n) out += vocab[rng() % 8];
  out.resize(n);
  return out;
}

}  // namespace

Change edit_change(std::string target, std::vector<EditOp> ops) {
  Change c;
  c.kind = Change::Kind::edit;
  c.target = std::move(target);
  c.edits = std::move(ops);
  return c;
}

Change put_change(std::string target, std::string content, std::optional<uint32_t> mode) {
  Change c;
  c.kind = Change::Kind::put;
  c.target = std::move(target);
  c.content = data_of(content);
  c.mode = mode;
  return c;
}

Change remove_change(std::string target) {
  Change c;
  c.kind = Change::Kind::remove;
  c.target = std::move(target);
  return c;
}

Change delta_change(std::string target, std::string patch_path) {
  Change c;
  c.kind = Change::Kind::delta;
  c.target = std::move(target);
  c.patch = std::move(patch_path);
  return c;
}

Change symlink_change(std::string target, std::string link_text) {
  return Change::symlink(std::move(target), std::move(link_text));
}
Change mkdir_change(std::string dir, uint32_t mode) { return Change::mkdir(std::move(dir), mode); }
Change rmdir_change(std::string dir) { return Change::rmdir(std::move(dir)); }
Change chmod_change(std::string target, uint32_t mode) {
  return Change::chmod(std::move(target), mode);
}

EditOp write_op(uint64_t offset, std::string bytes) {
  EditOp e;
  e.kind = EditOp::Kind::write;
  e.offset = offset;
  e.data = data_of(bytes);
  return e;
}

EditOp insert_op(uint64_t offset, std::string bytes) {
  EditOp e = write_op(offset, std::move(bytes));
  e.kind = EditOp::Kind::insert;
  return e;
}

EditOp erase_op(uint64_t offset, uint64_t length) {
  EditOp e;
  e.kind = EditOp::Kind::erase;
  e.offset = offset;
  e.length = length;
  return e;
}

EditOp fill_op(uint64_t offset, uint64_t length, unsigned char value) {
  EditOp e;
  e.kind = EditOp::Kind::fill;
  e.offset = offset;
  e.length = length;
  e.value = std::byte{value};
  return e;
}

EditOp append_op(std::string bytes) {
  EditOp e = write_op(0, std::move(bytes));
  e.kind = EditOp::Kind::append;
  return e;
}

EditOp truncate_op(uint64_t size) {
  EditOp e;
  e.kind = EditOp::Kind::truncate;
  e.length = size;
  return e;
}

ScenarioSet standard_scenarios() {
  ScenarioSet set;
  set.with_bsdiff = have_bsdiff();

  {  // One file: an edit that grows it; then a same-size edit plus a new file.
    const std::string x = rnd(1500, 1), ins = rnd(100, 2), tail = rnd(700, 3), y = rnd(300, 4);
    Scenario s;
    s.name = "1 file";
    s.setup = [x](MemoryFileSystem& fs) {
      fs.make_dirs("/r/a");
      fs.write_file("/r/a/x", x);
    };
    s.txs.push_back({"grow", {edit_change("a/x", {insert_op(10, ins), append_op(tail)})}});
    s.txs.push_back(
        {"keep+put", {edit_change("a/x", {write_op(5, "HELLO")}), put_change("a/y", y)}});
    set.expected_after_first.push_back({{"/r/a/x", x.substr(0, 10) + ins + x.substr(10) + tail}});
    set.scenarios.push_back(std::move(s));
  }
  {  // Two files in two directories (none in ROOT itself): a shrinking edit and a BPS delta.
    const std::string f1 = rnd(2000, 5), f2 = rnd(1800, 6);
    std::string f2_new = f2.substr(0, 900) + rnd(300, 7) + f2.substr(700);
    const std::string bps = text(diff_bps(bytes_of(f2), bytes_of(f2_new)));
    Scenario s;
    s.name = "2 files";
    s.setup = [=](MemoryFileSystem& fs) {
      fs.make_dirs("/r/a");
      fs.make_dirs("/r/b");
      fs.make_dirs("/p");
      fs.write_file("/r/a/f1", f1);
      fs.write_file("/r/b/f2", f2);
      fs.write_file("/p/f2.bps", bps);
    };
    s.txs.push_back({"shrink+bps",
                     {edit_change("a/f1", {erase_op(200, 100), truncate_op(1200)}),
                      delta_change("b/f2", "/p/f2.bps")}});
    s.txs.push_back({"remove+put", {remove_change("b/f2"), put_change("a/f1", rnd(500, 8))}});
    set.expected_after_first.push_back(
        {{"/r/a/f1", (f1.substr(0, 200) + f1.substr(300)).substr(0, 1200)}, {"/r/b/f2", f2_new}});
    set.scenarios.push_back(std::move(s));
  }
  {  // Three files: a put into a new nested directory, a remove, an IPS delta on a file in ROOT.
    const std::string top = rnd(1000, 9), gone = rnd(700, 10), fresh = rnd(900, 11);
    std::string top_new = top;
    for (size_t i = 30; i < 1000; i += 97) top_new[i] = static_cast<char>(top_new[i] ^ 0x5a);
    const IpsDiff d = diff_ips(bytes_of(top), bytes_of(top_new));
    const std::string ips = text(encode_ips(d.records, d.truncate));
    Scenario s;
    s.name = "3 files";
    s.setup = [=](MemoryFileSystem& fs) {
      fs.make_dirs("/r/c");
      fs.make_dirs("/p");
      fs.write_file("/r/top.bin", top);
      fs.write_file("/r/c/gone", gone);
      fs.write_file("/p/top.ips", ips);
    };
    s.txs.push_back({"put-newdir+remove+ips",
                     {put_change("n/m/new.dat", fresh, 0600), remove_change("c/gone"),
                      delta_change("top.bin", "/p/top.ips")}});
    s.txs.push_back({"put-again+edit",
                     {put_change("n/m/new.dat", rnd(400, 12)),
                      edit_change("top.bin", {fill_op(0, 64, 0xee)})}});
    set.expected_after_first.push_back(
        {{"/r/n/m/new.dat", fresh}, {"/r/c/gone", std::nullopt}, {"/r/top.bin", top_new}});
    set.scenarios.push_back(std::move(s));
  }
  {  // Eight files in six directories, every op (and a set-id file).
    const std::string e1 = rnd(1200, 13), e2 = rnd(1600, 14), e3 = rnd(800, 15), old = rnd(300, 16);
    const std::string keep = rnd(100, 17), n1 = rnd(600, 18), n2 = rnd(200, 19), g = rnd(500, 20);
    const std::string runs = read_file(source_dir() + "/fixtures/vectors/runs/old.bin");
    const std::string runs_new = read_file(source_dir() + "/fixtures/vectors/runs/new.bin");
    const std::string flips = read_file(source_dir() + "/fixtures/vectors/runs/flips.bps");
    const std::string bs = words(3000, 21);
    std::string bs_new =
        bs.substr(0, 1000) + "INSERTED TEXT\n" + bs.substr(1000, 1500) + words(400, 22);
    const std::string bs_patch =
        set.with_bsdiff ? real_bsdiff(bs, bs_new) : text(diff_bps(bytes_of(bs), bytes_of(bs_new)));
    Scenario s;
    s.name = "8 files";
    s.nested_states_per_point = 64;
    s.setup = [=](MemoryFileSystem& fs) {
      for (const char* d : {"/r/d1", "/r/d2", "/r/d3", "/r/d5", "/p"}) fs.make_dirs(d);
      fs.write_file("/r/d1/e1", e1);
      fs.write_file("/r/d1/e2", e2);
      fs.write_file("/r/d2/e3", e3);
      fs.write_file("/r/d2/old", old);
      fs.write_file("/r/d3/keep", keep);
      fs.write_file("/r/d5/rom.bin", runs);
      fs.write_file("/r/d5/bs.txt", bs);
      fs.write_file("/p/runs.bps", flips);
      fs.write_file("/p/bs.patch", bs_patch);
    };
    s.txs.push_back(
        {"every op",
         {edit_change("d1/e1", {insert_op(0, "HEAD"), append_op(g)}),
          edit_change("d1/e2", {erase_op(100, 900)}),
          edit_change("d2/e3", {write_op(700, "same-size!"), fill_op(10, 20, 0)}),
          put_change("d3/new1", n1, 04755), put_change("d4/new2", n2), remove_change("d2/old"),
          delta_change("d5/rom.bin", "/p/runs.bps"), delta_change("d5/bs.txt", "/p/bs.patch")}});
    std::string e3_new = e3;
    e3_new.replace(700, 10, "same-size!");
    e3_new.replace(10, 20, std::string(20, '\0'));
    set.expected_after_first.push_back({{"/r/d1/e1", "HEAD" + e1 + g},
                                        {"/r/d1/e2", e2.substr(0, 100) + e2.substr(1000)},
                                        {"/r/d2/e3", e3_new},
                                        {"/r/d3/new1", n1},
                                        {"/r/d4/new2", n2},
                                        {"/r/d2/old", std::nullopt},
                                        {"/r/d5/rom.bin", runs_new},
                                        {"/r/d5/bs.txt", bs_new}});
    set.scenarios.push_back(std::move(s));
  }
  {  // A tree: new and retargeted symlinks, a symlink replacing a file, new
     // (nested, private-until-commit) and re-moded directories, a file's mode,
     // removed files, a removed symlink and two removed directories.
    const std::string a = rnd(400, 30), f = rnd(300, 31), plain = rnd(200, 32), n = rnd(150, 33);
    Scenario s;
    s.name = "tree";
    s.setup = [=](MemoryFileSystem& fs) {
      fs.make_dirs("/r/t/old/sub");
      fs.make_dirs("/r/t/d");
      fs.write_file("/r/t/a", a);
      fs.write_file("/r/t/plain", plain);
      fs.write_file("/r/t/old/sub/f", f);
      fs.make_symlink("a", "/r/t/l");
      fs.make_symlink("nowhere", "/r/t/old/sub/dl");
    };
    s.txs.push_back(
        {"every tree statement",
         {symlink_change("t/l2", "a"), symlink_change("t/l", "old/gone"),
          symlink_change("t/plain", "/abs/target"), mkdir_change("t/n/inner", 0750),
          put_change("t/n/inner/file", n), mkdir_change("t/d", 0700), chmod_change("t/a", 0600),
          remove_change("t/old/sub/f"), remove_change("t/old/sub/dl"), rmdir_change("t/old/sub"),
          rmdir_change("t/old")}});
    s.txs.push_back({"back",
                     {symlink_change("t/l", "a"), chmod_change("t/d", 0755),
                      mkdir_change("t/n/inner", 0700), symlink_change("t/l2", "t/d")}});
    set.expected_after_first.push_back({{"/r/t/a", a}, {"/r/t/n/inner/file", n}});
    set.expected_nodes_after_first[set.scenarios.size()] = {
        {"/r/t/l2", Node{FileType::symlink, 0777, "a"}},
        {"/r/t/l", Node{FileType::symlink, 0777, "old/gone"}},
        {"/r/t/plain", Node{FileType::symlink, 0777, "/abs/target"}},
        {"/r/t/n/inner", Node{FileType::directory, 0750, ""}},
        {"/r/t/d", Node{FileType::directory, 0700, ""}},
        {"/r/t/a", Node{FileType::regular, 0600, a}},
        {"/r/t/old", std::nullopt},
    };
    set.scenarios.push_back(std::move(s));
  }
  {  // Many small files in five directories: many unsynced names at once, and
     // enough shadows (>= 32) that commit() makes them durable with one syncfs.
    Scenario s;
    s.name = "36 files";
    s.max_nested_depth = 1;
    s.nested_states_per_point = 4;
    std::map<std::string, std::optional<std::string>> expect;
    std::map<std::string, std::string> initial;
    TxSpec tx{"many", {}};
    uint32_t seed = 100;
    for (int i = 0; i < 24; ++i) {  // edits: grow, shrink, keep the size, in turn
      const std::string name = "m" + std::to_string(1 + i / 8) + "/f" + std::to_string(i);
      const std::string content = rnd(200 + 17 * i, seed++);
      initial["/r/" + name] = content;
      if (i % 3 == 0) {
        tx.changes.push_back(edit_change(name, {append_op("+grown")}));
        expect["/r/" + name] = content + "+grown";
      } else if (i % 3 == 1) {
        tx.changes.push_back(edit_change(name, {truncate_op(100)}));
        expect["/r/" + name] = content.substr(0, 100);
      } else {
        tx.changes.push_back(edit_change(name, {write_op(50, "kept")}));
        expect["/r/" + name] = content.substr(0, 50) + "kept" + content.substr(54);
      }
    }
    for (int i = 0; i < 4; ++i) {  // removes
      const std::string name = "m" + std::to_string(1 + i) + "/g" + std::to_string(i);
      initial["/r/" + name] = rnd(150, seed++);
      tx.changes.push_back(remove_change(name));
      expect["/r/" + name] = std::nullopt;
    }
    for (int i = 0; i < 6; ++i) {  // puts: over existing files, new in m3, new in a new directory
      const std::string name = i < 2   ? "m3/p" + std::to_string(i)
                               : i < 4 ? "m3/q" + std::to_string(i)
                                       : "m5/new/n" + std::to_string(i);
      if (i < 2) initial["/r/" + name] = rnd(120, seed++);
      const std::string content = rnd(250, seed++);
      tx.changes.push_back(put_change(name, content));
      expect["/r/" + name] = content;
    }
    const std::string b0 = rnd(900, seed++), i0 = rnd(700, seed++);
    std::string b0_new = b0.substr(0, 300) + rnd(50, seed++) + b0.substr(400), i0_new = i0;
    for (size_t at = 10; at < i0_new.size(); at += 131) i0_new[at] = static_cast<char>(~i0_new[at]);
    const IpsDiff d = diff_ips(bytes_of(i0), bytes_of(i0_new));
    initial["/r/m4/b0"] = b0;
    initial["/r/m4/i0"] = i0;
    initial["/p/b0.bps"] = text(diff_bps(bytes_of(b0), bytes_of(b0_new)));
    initial["/p/i0.ips"] = text(encode_ips(d.records, d.truncate));
    tx.changes.push_back(delta_change("m4/b0", "/p/b0.bps"));
    tx.changes.push_back(delta_change("m4/i0", "/p/i0.ips"));
    expect["/r/m4/b0"] = b0_new;
    expect["/r/m4/i0"] = i0_new;
    s.setup = [initial](MemoryFileSystem& fs) {
      for (const char* d : {"/r/m1", "/r/m2", "/r/m3", "/r/m4", "/p"}) fs.make_dirs(d);
      for (const auto& [path, content] : initial) fs.write_file(path, content);
    };
    s.txs.push_back(std::move(tx));
    set.expected_after_first.push_back(std::move(expect));
    set.scenarios.push_back(std::move(s));
  }
  {  // move (a hard link, onto an existing file and into a new directory) and copy.
    const std::string src = rnd(1500, 200), dst = rnd(600, 201), two = rnd(800, 202);
    const std::string base = rnd(900, 203);
    Scenario s;
    s.name = "move, copy";
    s.setup = [=](MemoryFileSystem& fs) {
      for (const char* d : {"/r/a", "/r/b", "/r/c"}) fs.make_dirs(d);
      fs.write_file("/r/a/src", src);
      fs.write_file("/r/b/dst", dst);
      fs.write_file("/r/a/two", two, 0600);
      fs.write_file("/r/c/base", base);
    };
    s.txs.push_back({"move+move-newdir+copy",
                     {Change::move("a/src", "b/dst"), Change::move("a/two", "n/two"),
                      Change::copy("c/base", "c/copy")}});
    s.txs.push_back({"copy-back+edit",
                     {Change::copy("b/dst", "a/src"), edit_change("c/base", {append_op("!")})}});
    set.expected_after_first.push_back({{"/r/b/dst", src},
                                        {"/r/a/src", std::nullopt},
                                        {"/r/n/two", two},
                                        {"/r/a/two", std::nullopt},
                                        {"/r/c/copy", base},
                                        {"/r/c/base", base}});
    set.scenarios.push_back(std::move(s));
  }
  {  // Stacked changes: two deltas and an edit of one file (two scratch files),
     // and a move followed by a delta of the moved file.
    const std::string f0 = rnd(2000, 210), x0 = rnd(1200, 211);
    const std::string f1 = f0.substr(0, 700) + rnd(150, 212) + f0.substr(900);
    std::string f2 = f1;
    for (size_t i = 40; i < f2.size(); i += 173) f2[i] = static_cast<char>(f2[i] ^ 0x21);
    const std::string f3 = "HEAD" + f2 + "TAIL";
    const std::string x1 = x0.substr(0, 400) + rnd(90, 213) + x0.substr(400);
    const IpsDiff d = diff_ips(bytes_of(f1), bytes_of(f2));
    const std::string f1_bps = text(diff_bps(bytes_of(f0), bytes_of(f1)));
    const std::string f2_ips = text(encode_ips(d.records, d.truncate));
    const std::string x1_bps = text(diff_bps(bytes_of(x0), bytes_of(x1)));
    Scenario s;
    s.name = "stacked";
    s.setup = [=](MemoryFileSystem& fs) {
      for (const char* d : {"/r/s", "/r/m", "/p"}) fs.make_dirs(d);
      fs.write_file("/r/s/f", f0);
      fs.write_file("/r/m/x", x0);
      fs.write_file("/p/f1.bps", f1_bps);
      fs.write_file("/p/f2.ips", f2_ips);
      fs.write_file("/p/x1.bps", x1_bps);
    };
    s.txs.push_back({"delta+delta+edit, move+delta",
                     {delta_change("s/f", "/p/f1.bps"), delta_change("s/f", "/p/f2.ips"),
                      edit_change("s/f", {insert_op(0, "HEAD"), append_op("TAIL")}),
                      Change::move("m/x", "s/y"), delta_change("s/y", "/p/x1.bps")}});
    s.txs.push_back(
        {"edit+edit",
         {edit_change("s/f", {write_op(0, "head")}), edit_change("s/f", {erase_op(10, 10)})}});
    set.expected_after_first.push_back({{"/r/s/f", f3}, {"/r/s/y", x1}, {"/r/m/x", std::nullopt}});
    set.scenarios.push_back(std::move(s));
  }
  return set;
}

}  // namespace bpatch::testing

// The `.bpatch` script parser: every statement and op to the expected Change,
// the lexical rules (comments, quotes, BOM, CRLF), path confinement, and a
// table of malformed scripts each mapped to its line and message.
#include "bpatch/script.hpp"

#include <catch2/catch.hpp>
#include <limits>

#include "bpatch/error.hpp"

using bpatch::Change;
using bpatch::EditOp;
using bpatch::Errc;
using Bytes = std::vector<std::byte>;
using namespace std::string_literals;

namespace {

const std::string kHash = "0123456789abcdef0123456789ABCDEF";

Bytes bytes(std::initializer_list<int> v) {
  Bytes out;
  for (int x : v) out.push_back(static_cast<std::byte>(x));
  return out;
}

std::vector<Change> parse(const std::string& text, const std::string& dir = "") {
  return bpatch::parse_script(text, "s.bpatch", dir);
}

// The error of parsing `text`, which must fail.
bpatch::Error parse_error(const std::string& text) {
  try {
    parse(text);
  } catch (const bpatch::Error& e) {
    return e;
  }
  FAIL("parsed without an error: " << text);
  throw;  // unreachable
}

}  // namespace

TEST_CASE("script: every statement and op parses to its Change", "[script]") {
  const auto changes = parse(
      "bpatch 1\n"
      "edit firmware.bin expect=xxh3:" +
          kHash +
          " mode=0755\n"
          "  write 0x10 hex:deadBEEF\n"
          "  fill 0x100 4096 0xff\n"
          "  insert 8192 file:blobs/hdr.bin\n"
          "  delete 0x3000 16\n"
          "  truncate 1048576\n"
          "  append hex:0a\n"
          "delta game.sfc patches/game.bps expect=xxh3:" +
          kHash +
          "\n"
          "put assets/new.dat file:blobs/new.dat mode=644\n"
          "put empty.txt hex:\n"
          "remove old/legacy.dat expect=xxh3:" +
          kHash + "\n",
      "/scripts");
  REQUIRE(changes.size() == 5);
  const auto hash = bpatch::Hash128::from_hex(kHash);

  const Change& edit = changes[0];
  CHECK(edit.kind == Change::Kind::edit);
  CHECK(edit.target == "firmware.bin");
  CHECK(edit.expect == hash);
  CHECK(edit.mode == 0755u);
  CHECK(edit.origin == "s.bpatch:2");
  REQUIRE(edit.edits.size() == 6);
  const auto& e = edit.edits;
  CHECK(e[0].kind == EditOp::Kind::write);
  CHECK(e[0].offset == 0x10);
  CHECK(e[0].data.bytes == bytes({0xde, 0xad, 0xbe, 0xef}));
  CHECK(e[0].data.file.empty());
  CHECK(e[0].origin == "s.bpatch:3");
  CHECK(e[1].kind == EditOp::Kind::fill);
  CHECK((e[1].offset == 0x100 && e[1].length == 4096 && e[1].value == std::byte{0xff}));
  CHECK(e[2].kind == EditOp::Kind::insert);
  CHECK(e[2].offset == 8192);
  CHECK(e[2].data.file == "/scripts/blobs/hdr.bin");
  CHECK(e[3].kind == EditOp::Kind::erase);
  CHECK((e[3].offset == 0x3000 && e[3].length == 16));
  CHECK(e[4].kind == EditOp::Kind::truncate);
  CHECK(e[4].length == 1048576);
  CHECK(e[5].kind == EditOp::Kind::append);
  CHECK(e[5].data.bytes == bytes({0x0a}));
  CHECK(e[5].origin == "s.bpatch:8");

  CHECK(changes[1].kind == Change::Kind::delta);
  CHECK(changes[1].target == "game.sfc");
  CHECK(changes[1].patch == "/scripts/patches/game.bps");
  CHECK(changes[1].expect == hash);
  CHECK_FALSE(changes[1].mode);
  CHECK(changes[1].origin == "s.bpatch:9");

  CHECK(changes[2].kind == Change::Kind::put);
  CHECK(changes[2].target == "assets/new.dat");
  CHECK(changes[2].content.file == "/scripts/blobs/new.dat");
  CHECK(changes[2].mode == 0644u);
  CHECK_FALSE(changes[2].expect);

  CHECK(changes[3].kind == Change::Kind::put);  // `put X hex:` creates an empty file
  CHECK(changes[3].content.bytes.empty());
  CHECK(changes[3].content.file.empty());

  CHECK(changes[4].kind == Change::Kind::remove);
  CHECK(changes[4].target == "old/legacy.dat");
  CHECK(changes[4].expect == hash);
  CHECK(changes[4].edits.empty());
}

TEST_CASE("script: comments, blank lines, tabs, CRLF, a BOM and option order", "[script]") {
  const auto changes = parse(
      "\xEF\xBB\xBF# an update\r\n"
      "\r\n"
      "   bpatch   1   # version\r\n"
      "edit a.bin mode=0600\r\n"
      "\t# a comment inside the block does not end it\r\n"
      "\n"
      "\twrite 0 hex:00#trailing comment\r\n"
      "put mode=0600 b.bin hex:01 expect=xxh3:" +
      kHash +
      "\n"
      "put c=d.bin hex:02");  // no final newline; '=' in a path
  REQUIRE(changes.size() == 3);
  CHECK(changes[0].edits.size() == 1);
  CHECK(changes[0].edits[0].origin == "s.bpatch:7");
  CHECK(changes[1].target == "b.bin");
  CHECK(changes[1].mode == 0600u);
  CHECK(changes[1].expect);
  CHECK(changes[2].target == "c=d.bin");
}

TEST_CASE("script: an empty script after the header has no changes", "[script]") {
  CHECK(parse("bpatch 1\n").empty());
  CHECK(parse("# x\nbpatch 0x1 # hex works too\n# y\n").empty());
}

TEST_CASE("script: numbers are decimal or 0x hex and fit in 64 bits", "[script]") {
  const auto ops = [](const std::string& op) {
    return parse("bpatch 1\nedit f\n  " + op + "\n").at(0).edits.at(0);
  };
  CHECK(ops("truncate 18446744073709551615").length == std::numeric_limits<uint64_t>::max());
  CHECK(ops("truncate 0xFFFFFFFFFFFFFFFF").length == std::numeric_limits<uint64_t>::max());
  CHECK(ops("truncate 0X1f").length == 31);
  CHECK(ops("truncate 010").length == 10);  // decimal, not octal
  CHECK(ops("fill 0 1 255").value == std::byte{255});
  CHECK(ops("fill 0 1 0x7").value == std::byte{7});
}

TEST_CASE("script: paths are normalized, quoted, and confined", "[script]") {
  SECTION("dot segments and doubled slashes are resolved") {
    const auto c = parse("bpatch 1\nremove a/./b//../c.bin\n");
    CHECK(c.at(0).target == "a/c.bin");
  }
  SECTION("quoted tokens keep spaces, '#' and escapes") {
    const auto c = parse(
        "bpatch 1\n"
        "put \"my dir/a file #1.bin\" file:\"blob s/\\\"q\\\" \\\\.bin\"\n"
        "delta \"x y\" \"p q.bps\"\n"
        "remove \"expect=\"" +
            kHash + "\n",
        "dir/");
    REQUIRE(c.size() == 3);
    CHECK(c[0].target == "my dir/a file #1.bin");
    CHECK(c[0].content.file == "dir/blob s/\"q\" \\.bin");
    CHECK(c[1].target == "x y");
    CHECK(c[1].patch == "dir/p q.bps");
    CHECK(c[2].target == "expect=" + kHash);  // a quoted '=' is no option
    CHECK_FALSE(c[2].expect);
  }
  SECTION("an option value may be quoted") {
    const auto c = parse("bpatch 1\nremove x expect=\"xxh3:" + kHash + "\"\n");
    CHECK(c.at(0).expect);
  }
  SECTION("without a script dir, file: and patch paths stay relative") {
    const auto c = parse("bpatch 1\ndelta t sub/../p.bps\nput u file:b.bin\n");
    CHECK(c.at(0).patch == "p.bps");
    CHECK(c.at(1).content.file == "b.bin");
  }
  SECTION("the same file under two spellings is one target") {
    // (Whether its changes may stack is the plan's to say: src/txn/chain.hpp.)
    const auto c = parse("bpatch 1\nremove a/b\nput ./a/x/../b hex:00\n");
    CHECK(c.at(0).target == "a/b");
    CHECK(c.at(1).target == "a/b");
  }
}

TEST_CASE("script: malformed scripts name their line and cause", "[script]") {
  struct Case {
    std::string text;
    size_t line;
    std::string fragment;
  };
  const std::string h = "bpatch 1\n";
  const std::string hash = "xxh3:" + kHash;
  const Case cases[] = {
      // header
      {"", 1, "expected `bpatch 1`"},
      {"# only a comment\n\n", 1, "expected `bpatch 1`"},
      {"edit x\n  write 0 hex:00\n", 1, "expected `bpatch 1`"},
      {"\n\nbpatch\n", 3, "version is missing"},
      {"bpatch 2\n", 1, "unsupported script version 2"},
      {"bpatch one\n", 1, "not a valid script version"},
      {"bpatch 1 extra\n", 1, "unexpected argument `extra`"},
      {h + "remove a\nbpatch 1\n", 3, "repeated"},
      // statements
      {h + "frobnicate x\n", 2, "unknown statement `frobnicate`"},
      {h + "edit\n", 2, "missing its arguments"},
      {h + "edit a b\n  write 0 hex:00\n", 2, "unexpected argument `b`"},
      {h + "delta a\n", 2, "usage: delta TARGET PATCH"},
      {h + "put a\n", 2, "missing"},
      {h + "put a hex:00 hex:01\n", 2, "unexpected argument `hex:01`"},
      {h + "remove a mode=0644\n", 2, "takes no mode="},
      {h + "remove a colour=red\n", 2, "unknown option `colour=`"},
      {h + "remove a expect=" + hash + " expect=" + hash + "\n", 2, "duplicate expect="},
      {h + "edit a mode=0644 mode=0600\n  truncate 0\n", 2, "duplicate mode="},
      {h + "remove a expect=xxh3:1234\n", 2, "malformed hash"},
      {h + "remove a expect=md5:" + kHash + "\n", 2, "malformed hash"},
      {h + "remove a expect=xxh3:" + kHash + "0\n", 2, "malformed hash"},
      {h + "remove a expect=\n", 2, "malformed hash"},
      {h + "put a hex:00 mode=0800\n", 2, "not an octal permission"},
      {h + "put a hex:00 mode=017777\n", 2, "not an octal permission"},
      {h + "put a hex:00 mode=0x1ff\n", 2, "not an octal permission"},
      // edit blocks
      {h + "edit a\nremove b\n", 2, "has no ops"},
      {h + "edit a\n", 2, "has no ops"},
      {h + "edit a\n# comment\n\n", 2, "has no ops"},
      {h + "edit a\nwrite 0 hex:00\n", 3, "must be indented"},
      {h + "  write 0 hex:00\n", 2, "outside an `edit` block"},
      {h + "remove a\n  write 0 hex:00\n", 3, "outside an `edit` block"},
      {h + "edit a\n  write 0 hex:00\nremove b\n  write 0 hex:00\n", 5, "outside an `edit` block"},
      {h + "edit a\n  put b hex:00\n", 3, "is a statement, not an edit op"},
      {h + "edit a\n  erase 0 1\n", 3, "unknown edit op `erase`"},
      // op arguments
      {h + "edit a\n  write 0\n", 3, "usage: write OFFSET DATA"},
      {h + "edit a\n  write 0 hex:00 hex:11\n", 3, "unexpected argument"},
      {h + "edit a\n  truncate 1 mode=0644\n", 3, "unexpected argument"},
      {h + "edit a\n  write -1 hex:00\n", 3, "not a valid offset"},
      {h + "edit a\n  write 1e3 hex:00\n", 3, "not a valid offset"},
      {h + "edit a\n  write 0x hex:00\n", 3, "not a valid offset"},
      {h + "edit a\n  write 0xg hex:00\n", 3, "not a valid offset"},
      {h + "edit a\n  write 1_000 hex:00\n", 3, "not a valid offset"},
      {h + "edit a\n  truncate 18446744073709551616\n", 3, "does not fit in 64 bits"},
      {h + "edit a\n  truncate 0x10000000000000000\n", 3, "does not fit in 64 bits"},
      {h + "edit a\n  fill 0 1 256\n", 3, "not in 0..255"},
      {h + "edit a\n  fill 0 x 1\n", 3, "not a valid length"},
      {h + "edit a\n  write 0 hex:\n", 3, "empty"},
      {h + "edit a\n  write 0 hex:abc\n", 3, "odd number of digits"},
      {h + "edit a\n  write 0 hex:0g\n", 3, "non-hex character at digit 2"},
      {h + "edit a\n  write 0 deadbeef\n", 3, "neither hex:<digits> nor file:<path>"},
      {h + "edit a\n  write 0 file:\n", 3, "file: path is empty"},
      {h + "edit a\n  append file:/etc/passwd\n", 3, "is absolute"},
      {h + "edit a\n  append file:../up.bin\n", 3, "climbs out"},
      // paths
      {h + "remove /etc/passwd\n", 2, "target path `/etc/passwd` is absolute"},
      {h + "remove ../x\n", 2, "climbs out"},
      {h + "remove a/../../x\n", 2, "climbs out"},
      {h + "remove .\n", 2, "names no file"},
      {h + "remove a/..\n", 2, "names no file"},
      {h + "remove \"\"\n", 2, "target path is empty"},
      {h + "delta a /abs/p.bps\n", 2, "patch path `/abs/p.bps` is absolute"},
      {h + "delta a ../p.bps\n", 2, "climbs out"},
      // lexical
      {h + "remove \"a b\n", 2, "unterminated quote"},
      {h + "remove \"a\\n\"\n", 2, "unknown escape"},
      {h + "remove a\x01\n", 2, "control character 0x01"},
      {h + "remove a\nremove b\0c\n"s, 3, "control character 0x00"},
      {h + "remove \xC3\x28\n", 2, "invalid UTF-8"},
      {h + "remove \xE0\x80\xAF\n", 2, "invalid UTF-8"},  // overlong '/'
      {h + "remove \xED\xA0\x80\n", 2, "invalid UTF-8"},  // a surrogate
      {h + "# \xFF in a comment\n", 2, "invalid UTF-8"},
      {h + "remove a\rb\n", 2, "control character 0x0d"},
  };
  for (const Case& c : cases) {
    INFO("script: " << c.text);
    const bpatch::Error e = parse_error(c.text);
    CHECK(e.code() == Errc::script_syntax);
    CHECK(e.path() == "s.bpatch");
    CHECK_THAT(e.message(), Catch::StartsWith("line " + std::to_string(c.line) + ": "));
    CHECK_THAT(e.message(), Catch::Contains(c.fragment));
  }
}

TEST_CASE("script: the earliest error wins, even a lexical one further down", "[script]") {
  const auto e = parse_error("bpatch 1\nfrob\nremove \"unterminated\n");
  CHECK_THAT(e.message(), Catch::StartsWith("line 2: "));
}

TEST_CASE("script: long tokens are shortened in messages", "[script]") {
  const std::string digits(100000, '0');
  const auto e = parse_error("bpatch 1\nremove a expect=xxh3:" + digits + "\n");
  CHECK(e.message().size() < 200);
}

// parse_script(): the statements of a `.bpatch` script (docs/bpatch.1, SCRIPT FORMAT) into Changes.
//
//   script    = header *statement
//   header    = "bpatch" "1"
//   statement = "edit" TARGET [expect] [result] [mode] NL 1*(indent op)
//             / "delta" TARGET PATCH [expect] [result] [patch] [mode]
//             / "put" TARGET DATA [mode] [expect] [result]
//             / "remove" TARGET [expect]
//             / "move" SRC TARGET [expect]          ; expect= names SRC's content
//             / "copy" SRC TARGET [expect] [mode]
//             / "symlink" TARGET LINKTEXT          ; create or replace a symbolic link
//             / "mkdir" TARGET mode                ; a directory (new, or an existing one's mode)
//             / "rmdir" TARGET                     ; a directory the transaction leaves empty
//             / "chmod" TARGET OCTAL               ; mode only (a file or a directory)
//   op        = "write" OFFSET DATA / "fill" OFFSET LENGTH BYTE
//             / "insert" OFFSET DATA / "delete" OFFSET LENGTH
//             / "truncate" SIZE / "append" DATA
//   expect    = "expect=xxh3:" 32hexdigit ;  mode = "mode=" octal
//             / "expect=none"               ; put, delta: the target must not exist
//   result    = "result=xxh3:" 32hexdigit   ; the new content's hash
//   patch     = "patch=xxh3:" 32hexdigit    ; the patch file's hash
//   slice     = "slice=" OFFSET "+" LENGTH  ; delta: PATCH is a pack (src/txn/packed_patch.hpp)
//
// Options (key=value) may come in any order after the statement keyword;
// positional arguments keep their order. Several statements may name one
// target: they stack, in order (what may stack is checked with the plan,
// src/txn/chain.hpp).
#include <map>
#include <optional>

#include "bpatch/error.hpp"
#include "bpatch/script.hpp"
#include "script/compressed_script.hpp"
#include "script/script_lexer.hpp"
#include "script/script_values.hpp"

namespace bpatch {
namespace {

using script::Line;
using script::LineContext;
using script::quoted;
using script::Token;

struct StatementSpec {
  const char* keyword;
  Change::Kind kind;
  size_t positionals;
  bool takes_mode;
  bool takes_result;
  bool takes_patch_hash;
  const char* usage;
};

constexpr StatementSpec kStatements[] = {
    {"edit", Change::Kind::edit, 1, true, true, false,
     "edit TARGET [expect=xxh3:<hash>] [result=xxh3:<hash>] [mode=0NNN]"},
    {"delta", Change::Kind::delta, 2, true, true, true,
     "delta TARGET PATCH [expect=xxh3:<hash>] [result=xxh3:<hash>] [patch=xxh3:<hash>] "
     "[slice=OFFSET+LENGTH] [mode=0NNN]"},
    {"put", Change::Kind::put, 2, true, true, false,
     "put TARGET DATA [mode=0NNN] [expect=xxh3:<hash>] [result=xxh3:<hash>]"},
    {"remove", Change::Kind::remove, 1, false, false, false, "remove TARGET [expect=xxh3:<hash>]"},
    {"move", Change::Kind::move, 2, false, false, false, "move SRC DST [expect=xxh3:<hash>]"},
    {"copy", Change::Kind::copy, 2, true, false, false,
     "copy SRC DST [expect=xxh3:<hash>] [mode=0NNN]"},
    {"symlink", Change::Kind::symlink, 2, false, false, false, "symlink TARGET LINK-TEXT"},
    {"mkdir", Change::Kind::mkdir, 1, true, false, false, "mkdir DIR mode=0NNN"},
    {"rmdir", Change::Kind::rmdir, 1, false, false, false, "rmdir DIR"},
    {"chmod", Change::Kind::chmod, 2, false, false, false, "chmod TARGET 0NNN"},
};

struct OpSpec {
  const char* keyword;
  EditOp::Kind kind;
  size_t arguments;
  const char* usage;
};

constexpr OpSpec kOps[] = {
    {"write", EditOp::Kind::write, 2, "write OFFSET DATA"},
    {"fill", EditOp::Kind::fill, 3, "fill OFFSET LENGTH BYTE"},
    {"insert", EditOp::Kind::insert, 2, "insert OFFSET DATA"},
    {"delete", EditOp::Kind::erase, 2, "delete OFFSET LENGTH"},
    {"truncate", EditOp::Kind::truncate, 1, "truncate SIZE"},
    {"append", EditOp::Kind::append, 1, "append DATA"},
};

template <typename Spec, size_t N>
const Spec* find_spec(const Spec (&specs)[N], const std::string& keyword) {
  for (const Spec& spec : specs)
    if (keyword == spec.keyword) return &spec;
  return nullptr;
}

bool is_known_option(const Token& token) {
  return token.is_option() &&
         (token.key() == "expect" || token.key() == "mode" || token.key() == "result" ||
          token.key() == "patch" || token.key() == "slice");
}

// Checks that `line` has exactly `count` positional arguments after its
// keyword (options excluded) and returns them.
std::vector<const Token*> positionals(const Line& line, size_t count, bool allow_options,
                                      const char* usage, const LineContext& ctx) {
  std::vector<const Token*> out;
  for (size_t i = 1; i < line.tokens.size(); ++i) {
    const Token& token = line.tokens[i];
    if (allow_options && is_known_option(token)) continue;
    if (out.size() == count) {
      if (allow_options && token.is_option())
        ctx.fail("unknown option " + quoted(std::string(token.key()) + "=") + " (usage: " + usage +
                 ")");
      ctx.fail("unexpected argument " + quoted(token.text) + " (usage: " + usage + ")");
    }
    out.push_back(&token);
  }
  if (out.size() < count)
    ctx.fail("`" + line.tokens[0].text + "` is missing " +
             (out.empty() ? "its arguments" : "arguments") + " (usage: " + usage + ")");
  return out;
}

class Parser {
 public:
  Parser(const std::string& script_path, const std::string& script_dir)
      : script_path_(script_path), script_dir_(script_dir) {}

  void line(const Line& line);
  std::vector<Change> finish();

 private:
  void header(const Line& line, const LineContext& ctx);
  void statement(const StatementSpec& spec, const Line& line, const LineContext& ctx);
  void op(const OpSpec& spec, const Line& line, const LineContext& ctx);
  void close_edit();
  std::string origin(size_t line) const;

  const std::string& script_path_;
  const std::string& script_dir_;
  size_t header_line_ = 0;           // 0 until `bpatch 1` was read
  std::optional<size_t> edit_line_;  // the `edit` whose ops are being read
  std::vector<Change> changes_;
};

std::string Parser::origin(size_t line) const {
  return (script_path_.empty() ? "line " : script_path_ + ":") + std::to_string(line);
}

void Parser::line(const Line& line) {
  const LineContext ctx{script_path_, line.number};
  const std::string& keyword = line.tokens[0].text;
  if (line.tokens[0].first_quote != std::string::npos)
    ctx.fail("a line starts with a keyword, not a quoted " + quoted(keyword));
  if (header_line_ == 0) return header(line, ctx);
  if (keyword == "bpatch")
    ctx.fail("`bpatch` header repeated (it is on line " + std::to_string(header_line_) + ")");
  const OpSpec* op_spec = find_spec(kOps, keyword);
  const StatementSpec* statement_spec = find_spec(kStatements, keyword);
  if (line.indented) {
    if (!edit_line_)
      ctx.fail(
          "indented line outside an `edit` block (edit ops go on indented lines after an "
          "`edit` line)");
    if (statement_spec)
      ctx.fail("`" + keyword + "` is a statement, not an edit op (statements are not indented)");
    if (!op_spec)
      ctx.fail("unknown edit op " + quoted(keyword) +
               " (write, fill, insert, delete, truncate or append)");
    return op(*op_spec, line, ctx);
  }
  if (op_spec) ctx.fail("edit op `" + keyword + "` must be indented under an `edit` line");
  close_edit();
  if (!statement_spec)
    ctx.fail("unknown statement " + quoted(keyword) +
             " (edit, delta, put, remove, move, copy, symlink, mkdir, rmdir or chmod)");
  statement(*statement_spec, line, ctx);
}

void Parser::header(const Line& line, const LineContext& ctx) {
  if (line.tokens[0].text != "bpatch")
    ctx.fail("expected `bpatch 1` as the first statement, got " + quoted(line.tokens[0].text));
  if (line.tokens.size() < 2) ctx.fail("expected `bpatch 1` (the version is missing)");
  const uint64_t version = script::parse_number(line.tokens[1].text, "script version", ctx);
  if (version != 1)
    ctx.fail("unsupported script version " + std::to_string(version) +
             " (this bpatch reads version 1)");
  if (line.tokens.size() > 2)
    ctx.fail("unexpected argument " + quoted(line.tokens[2].text) + " after `bpatch 1`");
  header_line_ = line.number;
}

void Parser::statement(const StatementSpec& spec, const Line& line, const LineContext& ctx) {
  const auto args = positionals(line, spec.positionals, true, spec.usage, ctx);
  Change change;
  change.data_dir = script_dir_;
  change.kind = spec.kind;
  change.origin = origin(line.number);
  // move and copy: SRC first, then the target.
  const bool transfer = spec.kind == Change::Kind::move || spec.kind == Change::Kind::copy;
  change.target =
      script::confine_path(args[transfer ? 1 : 0]->text, "target", script::PathBase::root, ctx);
  if (transfer)
    change.from = script::confine_path(args[0]->text, "source", script::PathBase::root, ctx);
  for (const Token& token : line.tokens) {
    if (&token == &line.tokens[0] || !is_known_option(token)) continue;
    const std::string key(token.key());
    if ((key == "mode" && !spec.takes_mode) || (key == "result" && !spec.takes_result) ||
        ((key == "patch" || key == "slice") && !spec.takes_patch_hash))
      ctx.fail("`" + line.tokens[0].text + "` takes no " + key + "= (usage: " + spec.usage + ")");
    if ((key == "mode" && change.mode) ||
        (key == "expect" && (change.expect || change.expect_absent)) ||
        (key == "result" && change.result) || (key == "patch" && change.patch_hash) ||
        (key == "slice" && change.patch_slice))
      ctx.fail("duplicate " + key + "=");
    if (key == "mode")
      change.mode = script::parse_mode(token.value(), ctx);
    else if (key == "result")
      change.result = script::parse_hash(token.value(), ctx);
    else if (key == "patch")
      change.patch_hash = script::parse_hash(token.value(), ctx);
    else if (key == "slice")
      change.patch_slice = script::parse_slice(token.value(), ctx);
    else if (token.value() == "none" &&
             (spec.kind == Change::Kind::put || spec.kind == Change::Kind::delta))
      change.expect_absent = true;  // a new file: the target must not exist
    else
      change.expect = script::parse_hash(token.value(), ctx);
  }
  if (spec.kind == Change::Kind::delta)
    change.patch = script::join_path(
        script_dir_,
        script::confine_path(args[1]->text, "patch", script::PathBase::script_dir, ctx));
  if (spec.kind == Change::Kind::put)
    change.content = script::parse_data(args[1]->text, script_dir_, /*allow_empty=*/true, ctx);
  if (spec.kind == Change::Kind::symlink)
    change.link_target = script::parse_link_text(*args[1], ctx);
  if (spec.kind == Change::Kind::chmod) change.mode = script::parse_mode(args[1]->text, ctx);
  if (spec.kind == Change::Kind::mkdir && !change.mode)
    ctx.fail("`mkdir` needs mode= (usage: " + std::string(spec.usage) + ")");

  changes_.push_back(std::move(change));
  if (spec.kind == Change::Kind::edit) edit_line_ = line.number;
}

void Parser::op(const OpSpec& spec, const Line& line, const LineContext& ctx) {
  const auto args = positionals(line, spec.arguments, false, spec.usage, ctx);
  EditOp op;
  op.kind = spec.kind;
  op.origin = origin(line.number);
  const auto number = [&](size_t i, const char* what) {
    return script::parse_number(args[i]->text, what, ctx);
  };
  const auto data = [&](size_t i) {
    return script::parse_data(args[i]->text, script_dir_, /*allow_empty=*/false, ctx);
  };
  switch (spec.kind) {
    case EditOp::Kind::write:
    case EditOp::Kind::insert:
      op.offset = number(0, "offset");
      op.data = data(1);
      break;
    case EditOp::Kind::fill:
      op.offset = number(0, "offset");
      op.length = number(1, "length");
      op.value = script::parse_byte(args[2]->text, ctx);
      break;
    case EditOp::Kind::erase:
      op.offset = number(0, "offset");
      op.length = number(1, "length");
      break;
    case EditOp::Kind::truncate:
      op.length = number(0, "size");
      break;
    case EditOp::Kind::append:
      op.data = data(0);
      break;
  }
  changes_.back().edits.push_back(std::move(op));
}

void Parser::close_edit() {
  if (edit_line_ && changes_.back().edits.empty())
    LineContext{script_path_, *edit_line_}.fail(
        "`edit` of " + quoted(changes_.back().target) +
        " has no ops (put them on indented lines below it)");
  edit_line_.reset();
}

std::vector<Change> Parser::finish() {
  if (header_line_ == 0)
    LineContext{script_path_, 1}.fail(
        "expected `bpatch 1` as the first statement (the script "
        "has no statements)");
  close_edit();
  return std::move(changes_);
}

}  // namespace

std::vector<Change> parse_script(std::string_view text, const std::string& script_path,
                                 const std::string& script_dir) {
  const auto decompressed = script::decompress_script(text, script_path, kMaxCompressedScriptSize);
  if (decompressed) text = *decompressed;
  Parser parser(script_path, script_dir);
  script::LineReader reader(text, script_path);
  for (script::Line line; reader.next(line);) parser.line(line);
  return parser.finish();
}

}  // namespace bpatch

// `bpatch verify BUNDLE [--root TREE]`: checks a bundle without writing
// anything. Every data file is hashed against the script's patch= (deltas)
// or result= (puts); with a tree, every target is said to be at the old
// version (expect=, or absent for a new file), the new one (result= and
// mode=, or absent for a removal) or neither. Exit 0 when every data file
// is intact and no target is at neither; 1 otherwise.
#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>

#include "bpatch/error.hpp"
#include "bpatch/hash.hpp"
#include "bpatch/io.hpp"
#include "bpatch/posix_file_system.hpp"
#include "bpatch/script.hpp"
#include "commands.hpp"
#include "json.hpp"

namespace bpatch::cli {
namespace {

constexpr uint64_t kMaxScriptSize = 64 << 20;

struct DataCheck {
  std::string file;
  std::string status;  // "ok", "damaged", "missing", "unchecked"
  std::optional<Hash128> actual, expected;
};

struct TargetCheck {
  std::string target;
  std::string state;  // "old", "new", "neither"
  std::string detail;
};

std::string hex_or(const std::optional<Hash128>& h, const char* none) {
  return h ? "xxh3:" + h->hex() : none;
}

DataCheck check_data(FileSystem& fs, const Change& c, const std::string& bundle_dir) {
  DataCheck d;
  std::string path;
  if (c.kind == Change::Kind::delta) {
    path = c.patch;
    d.expected = c.patch_hash;
  } else {
    path = c.content.file;
    d.expected = c.result;
  }
  d.file = std::filesystem::path(path).lexically_relative(bundle_dir).string();
  const auto st = fs.lstat(path);
  if (!st || st->type != FileType::regular) {
    d.status = "missing";
    return d;
  }
  if (!d.expected) {
    d.status = "unchecked";
    return d;
  }
  d.actual = hash_file(fs, path);
  d.status = *d.actual == *d.expected ? "ok" : "damaged";
  return d;
}

// The tree statements say only what the name must become, so a name that is
// not that yet counts as old (the statement will make it so), unless the
// statement cannot apply to what is there.
TargetCheck check_tree_target(FileSystem& fs, const Change& c, const std::string& path) {
  TargetCheck t;
  t.target = c.target;
  const auto st = fs.lstat(path);
  const bool is_dir = st && st->type == FileType::directory;
  bool is_new = false, applies = true;
  switch (c.kind) {
    case Change::Kind::symlink:
      is_new = st && st->type == FileType::symlink && fs.read_link(path) == c.link_target;
      applies = !is_dir;
      break;
    case Change::Kind::mkdir:
      is_new = is_dir && st->mode == *c.mode;
      applies = !st || is_dir;
      break;
    case Change::Kind::rmdir:
      is_new = !st;
      applies = !st || is_dir;
      break;
    default:  // chmod
      is_new = st && st->type != FileType::symlink && st->mode == *c.mode;
      applies = st && st->type != FileType::symlink;
      break;
  }
  t.state = is_new ? "new" : applies ? "old" : "neither";
  if (!applies) t.detail = st ? "cannot apply to what is there" : "does not exist";
  return t;
}

// move and copy: old while the source is there (with its expect= content),
// new once the target has that content (and, for a move, the source is gone).
TargetCheck check_transfer_target(FileSystem& fs, const Change& c, const std::string& root) {
  TargetCheck t;
  t.target = c.target;
  const auto content = [&](const std::string& path) -> std::optional<Hash128> {
    const auto st = fs.lstat(path);
    if (!st || st->type != FileType::regular) return std::nullopt;
    return hash_file(fs, path);
  };
  const auto src = content(root + "/" + c.from), dst = content(root + "/" + c.target);
  const auto want = c.expect ? c.expect : src;
  const bool src_ok = src && (!c.expect || *src == *c.expect);
  const bool moved = c.kind == Change::Kind::move;
  if (dst && want && *dst == *want && (!moved || !src))
    t.state = "new";
  else if (src_ok)
    t.state = "old";
  else {
    t.state = "neither";
    t.detail = std::string(src ? "the source " + c.from + " hashes to xxh3:" + src->hex()
                               : "the source " + c.from + " does not exist") +
               "; expected " + hex_or(c.expect, "(any content)");
  }
  return t;
}

TargetCheck check_target(FileSystem& fs, const Change& c, const std::string& root) {
  const std::string path = root + "/" + c.target;
  if (c.kind == Change::Kind::move || c.kind == Change::Kind::copy)
    return check_transfer_target(fs, c, root);
  if (c.kind == Change::Kind::symlink || c.kind == Change::Kind::mkdir ||
      c.kind == Change::Kind::rmdir || c.kind == Change::Kind::chmod)
    return check_tree_target(fs, c, path);
  TargetCheck t;
  t.target = c.target;
  const auto st = fs.lstat(path);
  const auto neither = [&](const std::string& why) {
    t.state = "neither";
    t.detail =
        why + "; old " + hex_or(c.expect, "(absent)") + ", new " +
        (c.kind == Change::Kind::remove ? std::string("(absent)") : hex_or(c.result, "(unknown)"));
  };
  // A symlink to remove: old when its link text has the expect= hash.
  if (st && st->type == FileType::symlink && c.kind == Change::Kind::remove) {
    const std::string text = fs.read_link(path);
    const bool old =
        !c.expect || hash_bytes(std::as_bytes(std::span(text.data(), text.size()))) == *c.expect;
    if (old)
      t.state = "old";
    else
      neither("a symlink to " + text);
    return t;
  }
  if (!st) {
    const bool creation = c.kind != Change::Kind::remove && !c.expect;
    t.state = c.kind == Change::Kind::remove ? "new" : creation ? "old" : "";
    if (t.state.empty()) neither("the file does not exist");
    return t;
  }
  if (st->type != FileType::regular) {
    neither("not a regular file");
    return t;
  }
  const Hash128 h = hash_file(fs, path);
  const bool mode_ok = !c.mode || *c.mode == st->mode;
  if (c.kind != Change::Kind::remove && c.result && h == *c.result && mode_ok)
    t.state = "new";
  else if (c.expect && h == *c.expect)
    t.state = "old";
  else
    neither("hashes to xxh3:" + h.hex());
  return t;
}

}  // namespace

std::string bundle_script(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return path + "/update.bpatch";
  return path;
}

int run_verify(const CommonOptions& common, const VerifyArgs& args) {
  PosixFileSystem fs;
  const std::string script_path = real_path(bundle_script(args.bundle));
  const std::string bundle_dir = std::filesystem::path(script_path).parent_path().string();
  std::string text;
  const TrustPolicy trust = trust_policy_from(args.trust);
  if (!trust.empty()) {
    // The signature first; the script checked is the very bytes verified.
    VerifiedFile verified = verify_trusted(trust, script_path, true, kMaxScriptSize);
    text = std::move(verified.contents);
    if (!common.quiet && !common.json)
      std::printf("signature verified: key %s, trusted comment: %s\n",
                  key_id_hex(verified.key_id).c_str(), verified.trusted_comment.c_str());
  } else {
    const auto src = open_source(fs, script_path);
    if (src->size() > kMaxScriptSize)
      throw Error(Errc::too_large, script_path, "script is larger than 64 MiB");
    text.resize(static_cast<size_t>(src->size()));
    src->read(0, std::as_writable_bytes(std::span(text.data(), text.size())));
  }
  const auto changes = parse_script(text, script_path, bundle_dir);

  std::vector<DataCheck> data;
  std::vector<TargetCheck> targets;
  const std::string root = common.root.empty() ? "" : real_path(common.root);
  bool ok = true;
  std::set<std::string> checked;  // a pack is named by many deltas: checked once
  for (const auto& c : changes) {
    if ((c.kind == Change::Kind::delta ||
         (c.kind == Change::Kind::put && !c.content.file.empty())) &&
        checked.insert(c.kind == Change::Kind::delta ? c.patch : c.content.file).second) {
      data.push_back(check_data(fs, c, bundle_dir));
      if (data.back().status == "damaged" || data.back().status == "missing") ok = false;
    }
    if (!root.empty()) {
      targets.push_back(check_target(fs, c, root));
      if (targets.back().state == "neither") ok = false;
    }
  }
  size_t counts[3] = {0, 0, 0};
  for (const auto& t : targets) ++counts[t.state == "old" ? 0 : t.state == "new" ? 1 : 2];
  if (common.json) {
    Json j;
    j.begin_object().field("ok", ok).field("command", "verify").field("script", script_path);
    j.key("data").begin_array();
    for (const auto& d : data) {
      j.begin_object().field("file", d.file).field("status", d.status);
      j.key("hash");
      d.actual ? j.value(d.actual->hex()) : j.null();
      j.key("expected");
      d.expected ? j.value(d.expected->hex()) : j.null();
      j.end_object();
    }
    j.end_array();
    if (!root.empty()) {
      j.field("root", root).key("targets").begin_array();
      for (const auto& t : targets) {
        j.begin_object().field("target", t.target).field("state", t.state);
        if (!t.detail.empty()) j.field("detail", t.detail);
        j.end_object();
      }
      j.end_array();
      j.key("summary")
          .begin_object()
          .field("old", uint64_t{counts[0]})
          .field("new", uint64_t{counts[1]})
          .field("neither", uint64_t{counts[2]})
          .end_object();
    }
    j.end_object();
    std::printf("%s\n", j.str().c_str());
    return ok ? kExitOk : kExitFailed;
  }
  for (const auto& d : data) {
    if (common.quiet && (d.status == "ok" || d.status == "unchecked")) continue;
    std::printf("data %-9s %s", d.status.c_str(), d.file.c_str());
    if (d.status == "damaged")
      std::printf(" (hashes to xxh3:%s, the script says xxh3:%s)", d.actual->hex().c_str(),
                  d.expected->hex().c_str());
    std::printf("\n");
  }
  for (const auto& t : targets) {
    if (common.quiet && t.state != "neither") continue;
    std::printf("%-8s %s%s%s\n", t.state.c_str(), t.target.c_str(), t.detail.empty() ? "" : " (",
                t.detail.empty() ? "" : (t.detail + ")").c_str());
  }
  if (!common.quiet) {
    size_t intact = 0;
    for (const auto& d : data) intact += d.status == "ok";
    std::printf("%s: %zu of %zu data file(s) intact", ok ? "ok" : "FAILED", intact, data.size());
    if (!root.empty())
      std::printf("; tree: %zu new, %zu old, %zu neither", counts[1], counts[0], counts[2]);
    std::printf("\n");
  }
  return ok ? kExitOk : kExitFailed;
}

}  // namespace bpatch::cli

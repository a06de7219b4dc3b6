// `bpatch apply`: one delta on one file, or a .bpatch transaction script.
#include <cstdio>
#include <filesystem>

#include "bpatch/error.hpp"
#include "bpatch/format.hpp"
#include "bpatch/io.hpp"
#include "bpatch/posix_file_system.hpp"
#include "bpatch/script.hpp"
#include "bpatch/transaction.hpp"
#include "commands.hpp"
#include "json.hpp"
#include "progress_bar.hpp"
#include "text_quote.hpp"

namespace bpatch::cli {
namespace {

// True when the first 4 KiB of `file` hold a NUL byte, which no script has.
bool has_nul_byte(const Source& file) {
  std::string head(static_cast<size_t>(std::min<uint64_t>(file.size(), 4096)), '\0');
  file.read(0, std::as_writable_bytes(std::span(head.data(), head.size())));
  return head.find('\0') != std::string::npos;
}

constexpr uint64_t kMaxScriptSize = 64 << 20;

std::string read_text(FileSystem& fs, const std::string& path, uint64_t limit) {
  const auto src = open_source(fs, path);
  if (src->size() > limit) throw Error(Errc::too_large, path, "script is larger than 64 MiB");
  std::string text(static_cast<size_t>(src->size()), '\0');
  src->read(0, std::as_writable_bytes(std::span(text.data(), text.size())));
  return text;
}

const char* action_name(FileResult::Action action, bool dry_run) {
  switch (action) {
    case FileResult::Action::replaced:
      return dry_run ? "would replace" : "replaced";
    case FileResult::Action::created:
      return dry_run ? "would create" : "created";
    case FileResult::Action::removed:
      return dry_run ? "would remove" : "removed";
    case FileResult::Action::unchanged:
      return "unchanged";
  }
  return "?";
}

std::string shown_path(const std::string& path, const std::string& root) {
  const std::string prefix = root == "/" ? root : root + "/";
  return path.starts_with(prefix) ? path.substr(prefix.size()) : path;
}

void print_report(const CommonOptions& common, const CommitResult& result,
                  const std::string& root) {
  if (common.json) {
    Json j;
    j.begin_object().field("ok", true).field("command", "apply").field("dry_run", result.dry_run);
    j.key("txid");
    result.txid.empty() ? j.null() : j.value(result.txid);
    j.key("recovered").begin_array();
    for (const auto& r : result.recovered) j.value(r.txid + ": " + r.plan);
    j.end_array().key("files").begin_array();
    for (const auto& f : result.files) {
      j.begin_object()
          .field("target", f.target)
          .field("op", change_kind_name(f.kind))
          .field("action", file_action_name(f.action));
      if (f.action != FileResult::Action::removed && f.action != FileResult::Action::unchanged)
        j.field("size", f.size);
      j.key("pre_hash");
      f.pre_hash ? j.value(f.pre_hash->hex()) : j.null();
      j.key("post_hash");
      f.post_hash ? j.value(f.post_hash->hex()) : j.null();
      if (!f.note.empty()) j.field("note", f.note);
      j.end_object();
    }
    j.end_array().end_object();
    std::printf("%s\n", j.str().c_str());
    return;
  }
  if (common.quiet) return;
  for (const auto& r : result.recovered)
    std::printf("recovered %s: %s\n", r.txid.c_str(), quote_controls(r.plan).c_str());
  size_t changed = 0;
  for (const auto& f : result.files) {
    if (f.action != FileResult::Action::unchanged) ++changed;
    std::printf("%-14s %s", action_name(f.action, result.dry_run),
                quote_controls(shown_path(f.target, root)).c_str());
    if (!f.note.empty()) std::printf(" (%s)", f.note.c_str());
    if (common.verbose && f.post_hash)
      std::printf("  %llu bytes  xxh3:%s", static_cast<unsigned long long>(f.size),
                  f.post_hash->hex().c_str());
    std::printf("\n");
  }
  if (result.dry_run)
    std::printf("dry run: %zu file(s) would change; nothing was written\n", changed);
  else if (result.txid.empty())
    std::printf("nothing to do: already up to date\n");
  else
    std::printf("committed transaction %s: %zu file(s) changed\n", result.txid.c_str(), changed);
}

}  // namespace

namespace {
std::string parent_of(const std::string& path) {
  return std::filesystem::path(path).parent_path().string();
}
std::string name_of(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}
std::string join(const std::string& dir, const std::string& name) {
  return (std::filesystem::path(dir) / name).string();
}
}  // namespace

// realpath(3) of an existing file: a target reached through a symlink is
// resolved once and the real file is replaced (docs/protocol.md).
std::string real_path(const std::string& path) {
  std::error_code ec;
  const auto real = std::filesystem::canonical(path, ec);
  if (ec) throw Error(Errc::not_found, path, ec.message(), ec.value());
  return real.string();
}

std::string absolute_path(const std::string& path) {
  return std::filesystem::absolute(path).lexically_normal().string();
}

// The library spells the journal canonically itself; the CLI only makes a
// relative --journal absolute.
std::string journal_for(const CommonOptions& common, const std::string& root) {
  if (common.journal.empty()) return default_journal_dir(root);
  return absolute_path(common.journal);
}

int run_apply(const CommonOptions& common, const ApplyArgs& args) {
  PosixFileSystem fs;
  // A bundle directory (from `bpatch diff`) is applied through its script.
  const std::string patch_path = real_path(bundle_script(args.patch));
  // --trust: the signature is checked before anything else is read, and the
  // script parsed is the very bytes that were verified (never re-read).
  const TrustPolicy trust = trust_policy_from(args.trust);
  std::optional<std::string> signed_script;
  if (!trust.empty()) {
    VerifiedFile verified = verify_trusted(trust, patch_path, true, kMaxScriptSize);
    signed_script = std::move(verified.contents);
    if (!common.quiet && !common.json)
      std::printf("signature verified: key %s, trusted comment: %s\n",
                  key_id_hex(verified.key_id).c_str(), verified.trusted_comment.c_str());
  }
  const auto patch =
      signed_script
          ? std::make_shared<const MemorySource>(
                std::as_bytes(std::span(signed_script->data(), signed_script->size())), patch_path)
          : open_source(fs, patch_path);
  std::vector<Change> changes;
  std::string root;
  // Anything without a patch format's magic bytes is read as a script, whose
  // parser then says precisely what is wrong with it.
  // A compressed script (a bundle's update.bpatch from `bpatch diff`) has
  // zstd's magic too: without a TARGET such a file is read as a script, so
  // that a damaged one is refused as such (exit 1).
  const auto format = detect_format(*patch);
  const bool is_script = !format || (args.target.empty() && args.output.empty() &&
                                     patch->size() >= 4 && *format == Format::zstd);
  if (signed_script && !is_script)
    throw Error(Errc::usage, patch_path,
                "--trust verifies a .bpatch script (which pins its data files), not a bare "
                "delta patch");
  if (is_script) {
    if (const auto foreign = describe_foreign_format(*patch))
      throw Error(Errc::unsupported, patch_path, *foreign);  // bad input (exit 1), not usage
    if (!args.target.empty() || !args.output.empty()) {
      // A binary file (a NUL byte where a script has text) is a patch in a
      // format bpatch does not know: bad input (exit 1). Text may be a
      // script given a TARGET by mistake: a usage error (exit 2).
      if (has_nul_byte(*patch))
        throw Error(Errc::unsupported, patch_path,
                    "not a patch format bpatch knows (bsdiff, ENDSLEY/BSDIFF43, VCDIFF, IPS, BPS, "
                    "UPS, zstd --patch-from) and not a .bpatch script (it holds binary data)");
      throw Error(Errc::usage, "",
                  patch_path +
                      " is not a patch format bpatch knows (bsdiff, ENDSLEY/BSDIFF43, VCDIFF, IPS, "
                      "BPS, UPS); a .bpatch script takes no TARGET or -o");
    }
    root = real_path(common.root.empty() ? "." : common.root);
    changes =
        parse_script(signed_script ? *signed_script : read_text(fs, patch_path, kMaxScriptSize),
                     args.patch, parent_of(patch_path));
    // A dry run of --atomic is a dry run against the current release (root,
    // the link resolved), which is what the new release starts as.
    if (args.atomic && !common.dry_run) return run_apply_atomic(common, std::move(changes));
  } else {
    if (args.atomic) throw Error(Errc::usage, "", "--atomic applies a .bpatch script, not a delta");
    if (args.target.empty())
      throw Error(Errc::usage, "", "a delta patch needs the TARGET file to apply it to");
    if (!common.root.empty())
      throw Error(Errc::usage, "",
                  "--root is for scripts; a single-file apply works in the target's directory");
    Change change;
    change.kind = Change::Kind::delta;
    change.patch = patch_path;
    const std::string target = real_path(args.target);
    std::string output = target;
    if (!args.output.empty()) {
      const std::string abs = absolute_path(args.output);
      output = join(real_path(parent_of(abs)), name_of(abs));
      if (std::filesystem::exists(output)) output = real_path(output);
    }
    if (output != target) change.source = target;
    root = parent_of(output);
    change.target = name_of(output);
    changes.push_back(std::move(change));
  }

  TransactionOptions options;
  options.root = root;
  options.journal = journal_for(common, root);
  options.allow_hardlinks = common.allow_hardlinks;
  options.dry_run = common.dry_run;
  options.wait_seconds = common.wait_seconds;
  options.keep = common.keep;
  ProgressBar bar(!common.quiet && !common.json);
  options.progress = [&bar](const Progress& p) { bar.update(p); };

  Transaction transaction(fs, options);
  for (auto& c : changes) transaction.add(std::move(c));
  CommitResult result;
  try {
    result = transaction.commit();
  } catch (...) {
    bar.clear();
    throw;
  }
  bar.clear();
  print_report(common, result, root);
  return kExitOk;
}

}  // namespace bpatch::cli

// `bpatch diff OLD NEW -o OUT`: two files -> one patch file; two directories
// -> a bundle directory (OUT/update.bpatch + OUT/data/…), see bpatch/diff.hpp.
#include <cinttypes>
#include <cstdio>
#include <filesystem>

#include "bpatch/diff.hpp"
#include "bpatch/error.hpp"
#include "bpatch/posix_file_system.hpp"
#include "commands.hpp"
#include "json.hpp"
#include "progress_bar.hpp"

namespace bpatch::cli {
namespace {

DiffFormat parse_format(const std::string& name) {
  if (name == "auto") return DiffFormat::automatic;
  if (name == "zstd") return DiffFormat::zstd;
  if (name == "bsdiff") return DiffFormat::bsdiff;
  throw Error(Errc::usage, "", "--format takes auto, zstd or bsdiff, not `" + name + "`");
}

void print_json(const DiffArgs& args, const DiffResult& result, bool tree) {
  Json j;
  j.begin_object()
      .field("ok", true)
      .field("command", "diff")
      .field("kind", tree ? "bundle" : "patch")
      .field("output", args.output)
      .field("format", args.format)
      .field("complete", result.complete)
      .field("bundle_bytes", result.bundle_bytes)
      .field("unchanged_files", result.unchanged_files);
  j.key("entries").begin_array();
  for (const auto& e : result.entries) {
    j.begin_object()
        .field("path", e.path)
        .field("action", diff_action_name(e.action))
        .field("emitted", e.emitted);
    if (!e.encoding.empty())
      j.field("encoding", e.encoding)
          .field("data", e.data)
          .field("old_size", e.old_size)
          .field("new_size", e.new_size)
          .field("data_size", e.data_size);
    if (!e.note.empty()) j.field("note", e.note);
    j.end_object();
  }
  j.end_array().end_object();
  std::printf("%s\n", j.str().c_str());
}

// Notes (bsdiff refused, …) and changes that could not be expressed go to
// stderr even with -q or --json: the user must know a bundle is incomplete.
void print_warnings(const DiffResult& result) {
  for (const auto& e : result.entries) {
    if (!e.emitted)
      std::fprintf(stderr, "bpatch: warning: %s %s not in the bundle%s%s\n",
                   diff_action_name(e.action), e.path.c_str(), e.note.empty() ? "" : ": ",
                   e.note.c_str());
    else if (!e.note.empty() && !e.encoding.empty())
      std::fprintf(stderr, "bpatch: note: %s: %s\n", e.path.c_str(), e.note.c_str());
  }
}

void print_text(const CommonOptions& common, const DiffArgs& args, const DiffResult& result,
                bool tree) {
  if (common.quiet) return;
  if (tree) {
    for (const auto& e : result.entries) {
      if (!e.emitted) continue;
      std::printf("%-9s %s", diff_action_name(e.action), e.path.c_str());
      if (!e.encoding.empty())
        std::printf("  %" PRIu64 " -> %" PRIu64 " bytes, %s %" PRIu64 " bytes", e.old_size,
                    e.new_size, e.encoding.c_str(), e.data_size);
      else if (!e.note.empty())
        std::printf("  (%s)", e.note.c_str());
      std::printf("\n");
    }
    std::printf("wrote bundle %s: %zu change(s), %" PRIu64 " unchanged file(s), %" PRIu64
                " bytes%s\n",
                args.output.c_str(), result.entries.size(), result.unchanged_files,
                result.bundle_bytes, result.complete ? "" : " (INCOMPLETE: see the warnings)");
  } else {
    const auto& e = result.entries.front();
    std::printf("wrote %s patch %s: %" PRIu64 " -> %" PRIu64 " bytes, patch %" PRIu64 " bytes\n",
                e.encoding.c_str(), args.output.c_str(), e.old_size, e.new_size, e.data_size);
  }
}

}  // namespace

int run_diff(const CommonOptions& common, const DiffArgs& args) {
  PosixFileSystem fs;
  DiffOptions options;
  options.format = parse_format(args.format);
  options.threads = args.threads;
  options.zstd.level = args.zstd_level;
  if (args.tree_statements)
    std::fprintf(stderr,
                 "bpatch: note: --tree-statements is deprecated and has no effect (symlink, "
                 "mkdir, rmdir and chmod statements are always written)\n");
  if (args.bsdiff_max_mib) options.bsdiff_max_old_size = args.bsdiff_max_mib << 20;
  const std::string old_path = real_path(args.old_path);
  const std::string new_path = real_path(args.new_path);
  const std::string out = absolute_path(args.output);
  const bool tree = std::filesystem::is_directory(old_path);
  if (tree != std::filesystem::is_directory(new_path))
    throw Error(Errc::usage, "", "OLD and NEW must both be files or both be directories");
  ProgressBar bar(!common.quiet && !common.json);
  options.progress = [&bar](const Progress& p) { bar.update(p); };
  DiffResult result;
  try {
    result = tree ? diff_trees(fs, old_path, new_path, out, options)
                  : diff_files(fs, old_path, new_path, out, options);
  } catch (...) {
    bar.clear();
    throw;
  }
  bar.clear();
  print_warnings(result);
  // The script pins every data file by its hash, so signing it signs the bundle.
  if (!args.sign_key.empty())
    sign_with_key(common, args.sign_key, args.password_file,
                  tree ? (std::filesystem::path(out) / "update.bpatch").string() : out);
  if (common.json)
    print_json(args, result, tree);
  else
    print_text(common, args, result, tree);
  return kExitOk;
}

}  // namespace bpatch::cli

// `bpatch undo`, `bpatch forget` and the undo generations of `bpatch status`.
#include <cstdio>

#include "bpatch/posix_file_system.hpp"
#include "bpatch/undo.hpp"
#include "commands.hpp"
#include "json.hpp"
#include "text_quote.hpp"

namespace bpatch::cli {
namespace {

const char* action_name(FileResult::Action a) {
  switch (a) {
    case FileResult::Action::replaced:
      return "restored";
    case FileResult::Action::created:
      return "restored (it had been removed)";
    case FileResult::Action::removed:
      return "removed (it had been created)";
    case FileResult::Action::unchanged:
      return "unchanged";
  }
  return "?";
}

// "12.0 MiB" for people.
std::string human_bytes(uint64_t n) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

}  // namespace

int run_undo(const CommonOptions& common) {
  // A --root that is a symbolic link is the LINK of `apply --atomic`.
  if (root_is_link(common)) return run_undo_atomic(common);
  PosixFileSystem fs;
  const std::string root = real_path(common.root.empty() ? "." : common.root);
  UndoOptions options;
  options.root = root;
  options.journal = journal_for(common, root);
  options.force = common.force;
  options.wait_seconds = common.wait_seconds;
  const UndoReport result = undo(fs, options);
  if (common.json) {
    Json j;
    j.begin_object()
        .field("ok", true)
        .field("command", "undo")
        .field("txid", result.txid)
        .field("undone", result.undone);
    j.key("files").begin_array();
    for (const auto& f : result.files)
      j.begin_object()
          .field("target", f.target)
          .field("action", action_name(f.action))
          .end_object();
    j.end_array().end_object();
    std::printf("%s\n", j.str().c_str());
  } else if (!common.quiet) {
    std::printf("undid transaction %s (%zu file(s))\n", result.undone.c_str(), result.files.size());
    if (common.verbose)
      for (const auto& f : result.files)
        std::printf("  %s: %s\n", quote_controls(f.target).c_str(), action_name(f.action));
  }
  return kExitOk;
}

int run_forget(const CommonOptions& common, const std::string& txid) {
  PosixFileSystem fs;
  const std::string root = real_path(common.root.empty() ? "." : common.root);
  const std::string journal = journal_for(common, root);
  const auto dropped = forget(fs, journal, txid, common.wait_seconds);
  if (common.json) {
    Json j;
    j.begin_object().field("ok", true).field("command", "forget");
    j.key("forgotten").begin_array();
    for (const auto& t : dropped) j.value(t);
    j.end_array().end_object();
    std::printf("%s\n", j.str().c_str());
  } else if (!common.quiet) {
    if (dropped.empty())
      std::printf("no undo generations in %s\n", quote_controls(journal).c_str());
    for (const auto& t : dropped) std::printf("forgot undo generation %s\n", t.c_str());
  }
  return kExitOk;
}

void print_generations(const CommonOptions& common, const std::string& journal, Json* json) {
  PosixFileSystem fs;
  const auto generations = list_generations(fs, journal);
  if (json) {
    json->key("generations").begin_array();
    for (const auto& g : generations) {
      json->begin_object()
          .field("txid", g.txid)
          .field("files", static_cast<uint64_t>(g.targets.size()))
          .field("kept", static_cast<uint64_t>(g.kept))
          .field("created", static_cast<uint64_t>(g.created))
          .field("disk_cost", g.disk_cost)
          .field("problem", g.problem);
      json->key("targets").begin_array();
      for (const auto& t : g.targets) json->value(t);
      json->end_array().end_object();
    }
    json->end_array();
    return;
  }
  for (const auto& g : generations) {
    std::printf("undo generation %s: %zu file(s), %zu original(s) kept, %s on disk%s%s\n",
                g.txid.c_str(), g.targets.size(), g.kept, human_bytes(g.disk_cost).c_str(),
                g.problem.empty() ? "" : "; cannot be undone: ", quote_controls(g.problem).c_str());
    if (common.verbose)
      for (const auto& t : g.targets) std::printf("  target %s\n", quote_controls(t).c_str());
  }
}

}  // namespace bpatch::cli

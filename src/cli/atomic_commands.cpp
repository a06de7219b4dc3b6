// `bpatch apply --atomic --root LINK SCRIPT`, the part of `bpatch recover
// --root LINK` that finishes or rolls back an interrupted switch, and that
// of `bpatch status --root LINK` that lists the switches (bpatch/atomic.hpp;
// docs/protocol.md §6). `bpatch undo --root LINK`: undo_atomic_command.cpp.
#include <cstdio>
#include <filesystem>

#include "bpatch/atomic.hpp"
#include "bpatch/error.hpp"
#include "bpatch/posix_file_system.hpp"
#include "commands.hpp"
#include "json.hpp"
#include "text_quote.hpp"

namespace bpatch::cli {
namespace {}  // namespace

// LINK is named, never resolved: --root of --atomic is the link itself.
AtomicOptions atomic_options(const CommonOptions& common) {
  if (common.root.empty())
    throw Error(Errc::usage, "",
                "--atomic needs --root LINK, a symbolic link to the current release directory");
  AtomicOptions o;
  o.link = absolute_path(common.root);
  if (!common.journal.empty()) o.journal = absolute_path(common.journal);
  o.wait_seconds = common.wait_seconds;
  return o;
}

namespace {

std::string inside(const std::string& path, const std::string& dir) {
  return path.starts_with(dir + "/") ? path.substr(dir.size() + 1) : path;
}

}  // namespace

int run_apply_atomic(const CommonOptions& common, std::vector<Change> changes) {
  PosixFileSystem fs;
  const AtomicResult r = apply_atomic(fs, atomic_options(common), std::move(changes));
  if (common.json) {
    Json j;
    j.begin_object().field("ok", true).field("command", "apply").field("atomic", true);
    j.key("txid");
    r.txid.empty() ? j.null() : j.value(r.txid);
    j.field("link", r.link).field("old_release", r.old_release);
    j.key("new_release");
    r.new_release.empty() ? j.null() : j.value(r.new_release);
    j.field("files_reflinked", r.files_reflinked).field("files_hard_linked", r.files_hard_linked);
    j.key("recovered").begin_array();
    for (const auto& line : r.recovered) j.value(line);
    j.end_array().key("files").begin_array();
    for (const auto& f : r.commit.files)
      j.begin_object()
          .field("target", inside(f.target, r.new_release))
          .field("op", change_kind_name(f.kind))
          .field("action", file_action_name(f.action))
          .end_object();
    j.end_array().end_object();
    std::printf("%s\n", j.str().c_str());
    return kExitOk;
  }
  if (common.quiet) return kExitOk;
  for (const auto& line : r.recovered) std::printf("recovered %s\n", quote_controls(line).c_str());
  if (r.txid.empty()) {
    std::printf("nothing to do: already up to date (the link was not switched)\n");
    return kExitOk;
  }
  for (const auto& f : r.commit.files)
    std::printf("%-14s %s\n", file_action_name(f.action),
                quote_controls(inside(f.target, r.new_release)).c_str());
  std::printf(
      "switched %s -> %s (was %s); %llu file(s) shared by reflink, %llu by hard link; "
      "transaction %s\n",
      quote_controls(r.link).c_str(), quote_controls(r.new_target).c_str(),
      quote_controls(r.old_release).c_str(), static_cast<unsigned long long>(r.files_reflinked),
      static_cast<unsigned long long>(r.files_hard_linked), r.txid.c_str());
  return kExitOk;
}

bool root_is_link(const CommonOptions& common) {
  std::error_code ec;
  return !common.root.empty() && std::filesystem::is_symlink(absolute_path(common.root), ec);
}

void recover_atomic_switches(const CommonOptions& common, RecoveryReport& report) {
  if (!root_is_link(common)) return;
  PosixFileSystem fs;
  const std::string link = absolute_path(common.root);
  const auto lines = recover_atomic(
      fs, common.journal.empty() ? atomic_journal_dir(link) : absolute_path(common.journal),
      common.wait_seconds);
  for (const auto& line : lines) {  // "TXID: what was done"
    PendingTransaction t;
    t.txid = line.substr(0, line.find(':'));
    t.plan = "atomic switch " + line.substr(std::min(line.size(), t.txid.size() + 2));
    // Finished: LINK named the new release; everything else was undone.
    if (t.plan.starts_with("atomic switch finished"))
      t.state = PendingTransaction::State::committed;
    report.transactions.push_back(std::move(t));
  }
}

}  // namespace bpatch::cli

namespace bpatch::cli {

void print_atomic_status(const CommonOptions& common) {
  if (!root_is_link(common) || common.json || common.quiet) return;
  PosixFileSystem fs;
  const std::string link = absolute_path(common.root);
  const std::string journal =
      common.journal.empty() ? atomic_journal_dir(link) : absolute_path(common.journal);
  for (const auto& g : atomic_status(fs, journal)) {
    const char* state = g.state == AtomicGeneration::State::building  ? "interrupted"
                        : g.state == AtomicGeneration::State::current ? "current"
                        : g.state == AtomicGeneration::State::undone  ? "undone"
                                                                      : "superseded";
    std::printf("atomic update %s (%s): %s: %s -> %s\n", g.txid.c_str(), state,
                quote_controls(g.link).c_str(), quote_controls(g.old_release).c_str(),
                quote_controls(g.new_release).c_str());
  }
}

}  // namespace bpatch::cli

// `bpatch recover` and `bpatch status`: act on / report the journal.
#include <cstdio>
#include <filesystem>

#include "bpatch/posix_file_system.hpp"
#include "bpatch/recovery.hpp"
#include "commands.hpp"
#include "json.hpp"
#include "text_quote.hpp"

namespace bpatch::cli {
namespace {

std::string journal_dir(const CommonOptions& common) {
  // The real path, as `apply` uses: the records name their journal.
  const std::string root = real_path(common.root.empty() ? "." : common.root);
  return journal_for(common, root);
}

void write_transactions(Json& j, const std::vector<PendingTransaction>& list) {
  j.key("transactions").begin_array();
  for (const auto& t : list) {
    j.begin_object()
        .field("txid", t.txid)
        .field("state",
               t.state == PendingTransaction::State::committed ? "committed" : "uncommitted")
        .field("plan", t.plan);
    j.key("targets").begin_array();
    for (const auto& p : t.targets) j.value(p);
    j.end_array().key("shadows").begin_array();
    for (const auto& p : t.shadows) j.value(p);
    j.end_array().end_object();
  }
  j.end_array();
}

const char* state_name(const PendingTransaction& t) {
  return t.state == PendingTransaction::State::committed ? "committed" : "uncommitted";
}

}  // namespace

int run_recover(const CommonOptions& common, const std::string& abandon_txid) {
  PosixFileSystem fs;
  const std::string journal = journal_dir(common);
  RecoveryReport report;
  if (abandon_txid.empty())
    report = recover(fs, journal, common.wait_seconds);
  else
    report.transactions.push_back(abandon(fs, journal, abandon_txid, common.wait_seconds));
  // --root LINK of `apply --atomic`: its interrupted switches too.
  if (abandon_txid.empty()) recover_atomic_switches(common, report);
  if (common.json) {
    Json j;
    j.begin_object().field("ok", true).field("command", "recover").field("journal", journal);
    write_transactions(j, report.transactions);
    j.end_object();
    std::printf("%s\n", j.str().c_str());
  } else if (!common.quiet) {
    if (report.transactions.empty())
      std::printf("nothing to recover in %s\n", quote_controls(journal).c_str());
    for (const auto& t : report.transactions) {
      std::printf("transaction %s (%s): %s\n", t.txid.c_str(), state_name(t),
                  quote_controls(t.plan).c_str());
      if (common.verbose)
        for (const auto& target : t.targets) std::printf("  %s\n", quote_controls(target).c_str());
    }
  }
  return kExitOk;
}

int run_status(const CommonOptions& common) {
  PosixFileSystem fs;
  const std::string journal = journal_dir(common);
  const auto pending = journal_status(fs, journal);
  if (common.json) {
    Json j;
    j.begin_object().field("ok", true).field("command", "status").field("journal", journal);
    write_transactions(j, pending);
    j.end_object();
    std::printf("%s\n", j.str().c_str());
    return kExitOk;
  }
  if (common.quiet) return kExitOk;
  print_atomic_status(common);  // --root LINK of `apply --atomic`
  if (pending.empty()) {
    std::printf("no pending transactions in %s\n", quote_controls(journal).c_str());
    return kExitOk;
  }
  for (const auto& t : pending) {
    std::printf("transaction %s: %s\n  %s\n", t.txid.c_str(), state_name(t),
                quote_controls(t.plan).c_str());
    for (const auto& target : t.targets)
      std::printf("  target %s\n", quote_controls(target).c_str());
    if (t.targets.empty() || common.verbose)
      for (const auto& shadow : t.shadows)
        std::printf("  shadow %s\n", quote_controls(shadow).c_str());
  }
  return kExitOk;
}

}  // namespace bpatch::cli

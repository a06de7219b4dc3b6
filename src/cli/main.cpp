// bpatch — the command line. Parses arguments (CLI11), runs one subcommand,
// prints a library error once and maps it to the exit status of SPEC §3.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "bpatch/error.hpp"
#include "bpatch/transaction.hpp"
#include "cli/commands.hpp"
#include "cli/json.hpp"

using namespace bpatch::cli;

namespace {

constexpr const char* kExitCodes =
    "\nExit status: 0 done; 1 failed and nothing changed; 2 usage error;\n"
    "3 committed but not finished (run `bpatch recover`); 4 the journal is locked.\n";

// --wait[=SECONDS] of each subcommand that takes the journal lock.
struct WaitOption {
  std::vector<CLI::Option*> options;
  std::string value;
  bool given() const {
    for (auto* o : options)
      if (o->count() > 0) return true;
    return false;
  }
};

void add_common(CLI::App* sub, CommonOptions& o, WaitOption& wait, bool writes) {
  sub->add_option("--root", o.root,
                  "Directory script paths resolve in (default: current directory)");
  sub->add_option("--journal", o.journal, "Journal directory (default: ROOT/.bpatch)");
  sub->add_flag("--json", o.json, "Print a machine-readable report on stdout");
  sub->add_flag("-q,--quiet", o.quiet, "Print nothing but errors");
  sub->add_flag("-v,--verbose", o.verbose, "Say more about what is done");
  if (writes) {
    wait.options.push_back(
        sub->add_option("--wait", wait.value,
                        "Wait for a locked journal (SECONDS, or forever without a value)")
            ->expected(0, 1));
  }
}

void print_error(const CommonOptions& common, const bpatch::Error& e, int exit_code) {
  std::fprintf(stderr, "bpatch: error: %s\n", e.what());
  if (common.json) {
    Json j;
    j.begin_object()
        .field("ok", false)
        .field("exit_code", exit_code)
        .key("error")
        .begin_object()
        .field("code", bpatch::errc_name(e.code()))
        .field("path", e.path())
        .field("message", e.message())
        .field("errno", e.sys_errno())
        .end_object()
        .end_object();
    std::printf("%s\n", j.str().c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bpatch — apply binary edits and delta patches crash-safely, all or nothing"};
  app.require_subcommand(1);
  app.footer(kExitCodes);
  app.set_version_flag("--version", "bpatch 0.1.0");

  CommonOptions common;
  WaitOption wait;
  ApplyArgs apply_args;
  std::vector<std::string> hash_files;
  std::string info_patch;

  auto* apply =
      app.add_subcommand("apply", "Apply a delta patch to a file, or a .bpatch transaction script");
  apply
      ->add_option("PATCH", apply_args.patch,
                   "A bsdiff/VCDIFF/IPS/BPS/UPS/zstd patch, or a .bpatch script")
      ->required();
  apply->add_option("TARGET", apply_args.target, "The file to patch (for a delta patch)");
  apply->add_option("-o,--output", apply_args.output,
                    "Write the result here and leave TARGET as it is");
  apply->add_flag("--dry-run", common.dry_run, "Validate and report; write nothing");
  apply->add_flag("--allow-hardlinks", common.allow_hardlinks,
                  "Replace targets that have several hard links (the links are split)");
  add_common(apply, common, wait, true);
  apply->footer(
      "\nExamples:\n"
      "  bpatch apply update.bpatch                 run a transaction script in the current "
      "directory\n"
      "  bpatch apply --root /opt/game update.bpatch\n"
      "  bpatch apply game.bps game.sfc             patch a file in place (crash-safely)\n"
      "  bpatch apply fw.bsdiff fw.bin -o fw-new.bin\n"
      "  bpatch apply --dry-run --json update.bpatch\n");

  auto* recover =
      app.add_subcommand("recover", "Finish or undo whatever a crash left in the journal");
  add_common(recover, common, wait, true);
  recover->footer("\nExamples:\n  bpatch recover\n  bpatch recover --root /opt/game --json\n");

  auto* status =
      app.add_subcommand("status", "List pending transactions in the journal; change nothing");
  add_common(status, common, wait, false);
  status->footer(
      "\nExamples:\n  bpatch status\n  bpatch status --journal /var/lib/app/.bpatch --json\n");

  auto* hash = app.add_subcommand(
      "hash", "Print the XXH3-128 content hash used by expect= (as `xxhsum -H2`)");
  hash->add_option("FILE", hash_files, "Files to hash")->required();
  hash->add_flag("--json", common.json, "Print a machine-readable report on stdout");
  hash->footer("\nExample:\n  bpatch hash firmware.bin      # -> <32 hex digits>  firmware.bin\n");

  auto* info =
      app.add_subcommand("info", "Say what a patch is: format, sizes, checksums, metadata");
  info->add_option("PATCH", info_patch, "The patch file")->required();
  info->add_flag("--json", common.json, "Print a machine-readable report on stdout");
  info->footer("\nExample:\n  bpatch info game.bps\n");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (wait.given()) {
    char* end = nullptr;
    common.wait_seconds = wait.value.empty() ? -1 : std::strtod(wait.value.c_str(), &end);
    if (!wait.value.empty() && (*end != '\0' || common.wait_seconds < 0)) {
      std::fprintf(stderr, "bpatch: error: --wait takes a number of seconds, not `%s`\n",
                   wait.value.c_str());
      return kExitUsage;
    }
  }

  int exit_code = kExitFailed;
  try {
    if (*apply) return run_apply(common, apply_args);
    if (*recover) return run_recover(common);
    if (*status) return run_status(common);
    if (*hash) return run_hash(common, hash_files);
    if (*info) return run_info(common, info_patch);
  } catch (const bpatch::IncompleteCommit& e) {
    exit_code = kExitIncomplete;
    print_error(common, e, exit_code);
  } catch (const bpatch::Error& e) {
    exit_code = e.code() == bpatch::Errc::locked                      ? kExitLocked
                : e.code() == bpatch::Errc::usage && e.path().empty() ? kExitUsage
                                                                      : kExitFailed;
    print_error(common, e, exit_code);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bpatch: error: %s\n", e.what());
  }
  return exit_code;
}

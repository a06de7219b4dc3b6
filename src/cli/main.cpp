// bpatch — the command line. Parses arguments (CLI11), runs one subcommand,
// prints a library error once and maps it to its exit status (docs/bpatch.1, EXIT STATUS).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "bpatch/error.hpp"
#include "bpatch/transaction.hpp"
#include "commands.hpp"
#include "json.hpp"
#include "text_quote.hpp"

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
  std::fprintf(stderr, "bpatch: error: %s\n", quote_controls(e.what()).c_str());
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
  KeygenArgs keygen_args;
  SignArgs sign_args;
  VerifySignatureArgs verify_signature_args;

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
  apply->add_flag("--atomic", apply_args.atomic,
                  "--root is a symlink to a release directory: build the new release beside it "
                  "(files shared) and switch the link in one rename");
  apply->add_flag("--allow-hardlinks", common.allow_hardlinks,
                  "Replace targets that have several hard links (the links are split)");
  apply
      ->add_option("--trust", apply_args.trust,
                   "Require SCRIPT.minisig by this minisign public key (repeatable; also "
                   "$BPATCH_TRUST, colon-separated)")
      ->allow_extra_args(false);
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
  std::string abandon_txid;
  recover->add_option("--abandon", abandon_txid,
                      "Drop transaction TXID that cannot be finished (see `bpatch status`): "
                      "deletes its shadows and records, touches no target, and says which "
                      "files it leaves new and which old");
  recover->footer(
      "\nExamples:\n  bpatch recover\n  bpatch recover --root /opt/game --json\n"
      "  bpatch recover --abandon 18ed4410c43d9640-0000558f\n");

  // `bpatch undo --root LINK`: the atomic switch back (undo_atomic_command.cpp).
  auto* undo = app.add_subcommand(
      "undo", "Switch --root LINK back to the release it named before `apply --atomic`");
  add_common(undo, common, wait, true);
  undo->footer("\nExample:\n  bpatch undo --root /srv/app/current\n");

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

  DiffArgs diff_args;
  auto* diff = app.add_subcommand(
      "diff", "Make an update: OLD and NEW files -> a patch, directories -> a bundle");
  diff->add_option("OLD", diff_args.old_path, "The old file or directory")->required();
  diff->add_option("NEW", diff_args.new_path, "The new file or directory")->required();
  diff->add_option("-o,--output", diff_args.output, "The patch file or bundle directory to write")
      ->required();
  diff->add_option("--format", diff_args.format,
                   "auto (per file the smallest), zstd or bsdiff (default: auto)");
  diff->add_option("--threads", diff_args.threads,
                   "Files encoded at once (default: the cores, at most 4)");
  diff->add_option("--level", diff_args.zstd_level, "zstd compression level (default: 19)");
  diff->add_option("--bsdiff-max-mib", diff_args.bsdiff_max_mib,
                   "Largest old file bsdiff is used for, in MiB (default: 256; ~5x in memory)");
  diff->add_option("--sign", diff_args.sign_key,
                   "Sign the script (or the patch) with this minisign secret key");
  diff->add_option("--password-file", diff_args.password_file,
                   "The password of an encrypted --sign key, on this file's first line");
  diff->add_flag("--tree-statements", diff_args.tree_statements,
                 "Also write symlink/mkdir/rmdir/chmod statements (not yet read by apply)");
  diff->add_flag("--json", common.json, "Print a machine-readable report on stdout");
  diff->add_flag("-q,--quiet", common.quiet, "Print nothing but errors and warnings");
  diff->footer(
      "\nExamples:\n"
      "  bpatch diff app-1.0/ app-1.1/ -o update/   then: bpatch apply update/ --root app\n"
      "  bpatch diff --format bsdiff old.bin new.bin -o fw.bsdiff\n");

  VerifyArgs verify_args;
  auto* verify = app.add_subcommand(
      "verify", "Check a bundle's data files and, with --root, which version a tree is at");
  verify->add_option("BUNDLE", verify_args.bundle, "A bundle directory or its update.bpatch")
      ->required();
  verify->add_option("--root", common.root, "The tree to compare with the bundle");
  verify
      ->add_option("--trust", verify_args.trust,
                   "Require update.bpatch.minisig by this public key (repeatable; also "
                   "$BPATCH_TRUST)")
      ->allow_extra_args(false);
  verify->add_flag("--json", common.json, "Print a machine-readable report on stdout");
  verify->add_flag("-q,--quiet", common.quiet, "Print only problems");
  auto* keygen = app.add_subcommand("keygen", "Make a minisign key pair: NAME.pub and NAME.key");
  keygen->add_option("-o,--output", keygen_args.name, "NAME of the key files")->required();
  keygen->add_option("--password-file", keygen_args.password_file,
                     "Encrypt the secret key with the password on this file's first line");
  keygen->add_flag("-W", keygen_args.no_password, "No password (the default, as minisign -W)");
  keygen->add_flag("--json", common.json, "Print a machine-readable report on stdout");
  keygen->add_flag("-q,--quiet", common.quiet, "Print nothing but errors");
  keygen->footer("\nExample:\n  bpatch keygen -o release    # release.pub, release.key (0600)\n");

  auto* sign = app.add_subcommand("sign", "Sign files with a minisign secret key (FILE.minisig)");
  sign->add_option("--key", sign_args.key, "The secret key file (NAME.key)")->required();
  sign->add_option("FILE", sign_args.files, "Files to sign")->required();
  sign->add_option("-t,--trusted-comment", sign_args.trusted_comment,
                   "The signed comment (default: timestamp and file name, as minisign)");
  sign->add_option("--password-file", sign_args.password_file,
                   "The password of an encrypted secret key, on this file's first line");
  sign->add_flag("--legacy", sign_args.legacy,
                 "Sign the bytes themselves (minisign -l), not their BLAKE2b-512 hash");
  sign->add_flag("--json", common.json, "Print a machine-readable report on stdout");
  sign->add_flag("-q,--quiet", common.quiet, "Print nothing but errors");
  sign->footer(
      "\nExample:\n  bpatch sign --key release.key bundle/update.bpatch\n"
      "  minisign -V -p release.pub -m bundle/update.bpatch   # checks it too\n");

  auto* verify_signature = app.add_subcommand(
      "verify-signature", "Check FILE.minisig against trusted minisign public keys");
  verify_signature
      ->add_option("--trust", verify_signature_args.trust,
                   "A trusted public key file (repeatable; also $BPATCH_TRUST)")
      ->allow_extra_args(false);
  verify_signature->add_option("FILE", verify_signature_args.file, "The signed file")->required();
  verify_signature->add_flag("--json", common.json, "Print a machine-readable report on stdout");
  verify_signature->add_flag("-q,--quiet", common.quiet, "Print nothing but errors");
  verify_signature->footer(
      "\nExample:\n  bpatch verify-signature --trust release.pub bundle/update.bpatch\n");

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
    if (*recover) return run_recover(common, abandon_txid);
    if (*undo) return run_undo_atomic(common);
    if (*status) return run_status(common);
    if (*hash) return run_hash(common, hash_files);
    if (*info) return run_info(common, info_patch);
    if (*diff) return run_diff(common, diff_args);
    if (*verify) return run_verify(common, verify_args);
    if (*keygen) return run_keygen(common, keygen_args);
    if (*sign) return run_sign(common, sign_args);
    if (*verify_signature) return run_verify_signature(common, verify_signature_args);
  } catch (const bpatch::IncompleteCommit& e) {
    exit_code = kExitIncomplete;
    print_error(common, e, exit_code);
  } catch (const bpatch::Error& e) {
    exit_code = e.code() == bpatch::Errc::locked                      ? kExitLocked
                : e.code() == bpatch::Errc::usage && e.path().empty() ? kExitUsage
                                                                      : kExitFailed;
    print_error(common, e, exit_code);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bpatch: error: %s\n", quote_controls(e.what()).c_str());
  }
  return exit_code;
}

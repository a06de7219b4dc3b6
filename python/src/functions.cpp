// The module's functions: recover, status, hash_file, hash_bytes,
// apply_script and apply_patch. Each does what the `bpatch` command of the
// same name does (src/cli/), through the public library API, with the GIL
// released while it reads or writes files.
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "bindings.hpp"
#include "bpatch/error.hpp"
#include "bpatch/format.hpp"
#include "bpatch/hash.hpp"
#include "bpatch/io.hpp"
#include "bpatch/posix_file_system.hpp"
#include "bpatch/recovery.hpp"
#include "bpatch/script.hpp"
#include "bpatch/undo.hpp"

namespace bpatch::python {
namespace {

namespace fs = std::filesystem;
using OptPath = std::optional<fs::path>;

constexpr uint64_t kMaxScriptSize = 64 << 20;  // as the CLI: a script is text, not data

std::vector<PendingTransaction> recover_journal(const fs::path& root, const OptPath& journal,
                                                double wait) {
  const std::string dir = journal_dir(real_path(root), journal);
  py::gil_scoped_release release;
  PosixFileSystem posix;
  return recover(posix, dir, wait).transactions;
}

std::vector<PendingTransaction> journal_state(const fs::path& root, const OptPath& journal) {
  const std::string dir = journal_dir(real_path(root), journal);
  py::gil_scoped_release release;
  PosixFileSystem posix;
  return journal_status(posix, dir);
}

std::string hash_path(const fs::path& path) {
  const std::string real = real_path(path);
  py::gil_scoped_release release;
  PosixFileSystem posix;
  return hash_file(posix, real).hex();
}

std::string hash_data(const py::object& data) {
  const std::vector<std::byte> bytes = buffer_bytes(data);
  py::gil_scoped_release release;
  return hash_bytes(bytes).hex();
}

TransactionOptions options_for(const std::string& root, const OptPath& journal, double wait,
                               bool allow_hardlinks, bool dry_run) {
  TransactionOptions options;
  options.root = root;
  options.journal = journal_dir(root, journal);
  options.wait_seconds = wait;
  options.allow_hardlinks = allow_hardlinks;
  options.dry_run = dry_run;
  return options;
}

std::vector<Change> read_script(const std::string& path) {
  PosixFileSystem posix;
  const auto src = open_source(posix, path);
  if (detect_format(*src))
    throw Error(Errc::usage, path, "is a delta patch, not a .bpatch script: use apply_patch()");
  if (src->size() > kMaxScriptSize)
    throw Error(Errc::too_large, path, "script is larger than 64 MiB");
  std::string text(static_cast<size_t>(src->size()), '\0');
  src->read(0, std::as_writable_bytes(std::span(text.data(), text.size())));
  return parse_script(text, path, fs::path(path).parent_path().string());
}

PyCommitResult apply_script_file(const fs::path& script, const OptPath& root,
                                 const OptPath& journal, bool dry_run, double wait,
                                 bool allow_hardlinks, const py::object& progress, unsigned keep) {
  const std::string script_path = real_path(script);
  const std::string real_root = real_path(root ? *root : fs::current_path());
  std::vector<Change> changes;
  {
    py::gil_scoped_release release;
    changes = read_script(script_path);
  }
  TransactionOptions options = options_for(real_root, journal, wait, allow_hardlinks, dry_run);
  options.keep = keep;
  return run_commit(std::move(options), std::move(changes), progress);
}

// bpatch.undo(): the newest kept generation restored, as `bpatch undo` does.
PyCommitResult undo_newest(const fs::path& root, const OptPath& journal, bool force, double wait) {
  UndoOptions options;
  options.root = real_path(root);
  options.journal = journal_dir(options.root, journal);
  options.force = force;
  options.wait_seconds = wait;
  UndoReport report;
  {
    py::gil_scoped_release release;
    PosixFileSystem posix;
    report = undo(posix, options);
  }
  CommitResult result;
  result.txid = report.txid;
  result.files = std::move(report.files);
  result.recovered = std::move(report.recovered);
  return to_python(result);
}

PyCommitResult apply_patch_file(const fs::path& patch, const fs::path& target,
                                const OptPath& output, const OptPath& journal, bool dry_run,
                                double wait, bool allow_hardlinks, const py::object& progress) {
  const std::string patch_path = real_path(patch);
  {
    py::gil_scoped_release release;
    PosixFileSystem posix;
    if (!detect_format(*open_source(posix, patch_path)))
      throw Error(Errc::unsupported, patch_path,
                  "not a patch format bpatch knows (bsdiff, ENDSLEY/BSDIFF43, VCDIFF, IPS, BPS, "
                  "UPS); a .bpatch script goes to apply_script()");
  }
  const std::string source = real_path(target);
  std::string out = source;
  if (output) {
    const fs::path abs = absolute_path(*output);
    out = (fs::path(real_path(abs.parent_path())) / abs.filename()).string();
    std::error_code ec;
    if (fs::exists(out, ec)) out = real_path(out);
  }
  Change change;
  change.kind = Change::Kind::delta;
  change.patch = patch_path;
  if (out != source) change.source = source;  // `apply -o`: read here, write there
  const fs::path out_path(out);
  change.target = out_path.filename().string();
  std::vector<Change> changes;
  changes.push_back(std::move(change));
  return run_commit(
      options_for(out_path.parent_path().string(), journal, wait, allow_hardlinks, dry_run),
      std::move(changes), progress);
}

}  // namespace

void bind_functions(py::module_& m) {
  m.def("recover", &recover_journal, py::arg("root"), py::arg("journal") = py::none(),
        py::arg("wait") = 0.0,
        "Finishes or undoes what a crash left in the journal (ROOT/.bpatch by default): a "
        "committed transaction is rolled forward, anything else rolled back. Safe to run at "
        "any time and again after being interrupted. Returns the PendingTransaction records it "
        "acted on ([] when there was nothing to do). Raises LockedError when another bpatch "
        "holds the journal for longer than wait seconds.");
  m.def("status", &journal_state, py::arg("root"), py::arg("journal") = py::none(),
        "The PendingTransaction records in the journal, changing nothing ([] when clean).");
  m.def("hash_file", &hash_path, py::arg("path"),
        "The file's XXH3-128 as 32 lowercase hex digits: what `bpatch hash` and "
        "`xxhsum -H2` print, and what Transaction.expect() takes.");
  m.def("hash_bytes", &hash_data, py::arg("data"),
        "The XXH3-128 of bytes, bytearray or memoryview, as hash_file() prints it.");
  m.def("apply_script", &apply_script_file, py::arg("path"), py::arg("root") = py::none(),
        py::arg("journal") = py::none(), py::arg("dry_run") = false, py::kw_only(),
        py::arg("wait") = 0.0, py::arg("allow_hardlinks") = false, py::arg("progress") = py::none(),
        py::arg("keep") = 0,
        "Runs a .bpatch transaction script (see the README) as one transaction on the files "
        "under root (default: the current directory); `file:` and patch paths are relative to "
        "the script's directory. keep: undo generations to keep, as Transaction's. Returns the "
        "CommitResult; raises as Transaction.commit().");
  m.def("undo", &undo_newest, py::arg("root"), py::arg("journal") = py::none(), py::kw_only(),
        py::arg("force") = false, py::arg("wait") = 0.0,
        "Restores the tree as it was before the newest transaction committed with keep > 0, "
        "all-or-nothing (an undo is a transaction of its own), and drops that generation. "
        "Raises Error (code 'not_found') when there is nothing to undo, and Error (code "
        "'wrong_source') when a file changed since, unless force. Returns the CommitResult.");
  m.def("apply_patch", &apply_patch_file, py::arg("patch"), py::arg("target"),
        py::arg("output") = py::none(), py::kw_only(), py::arg("journal") = py::none(),
        py::arg("dry_run") = false, py::arg("wait") = 0.0, py::arg("allow_hardlinks") = false,
        py::arg("progress") = py::none(),
        "Applies one delta patch (bsdiff, ENDSLEY/BSDIFF43, VCDIFF, IPS, BPS, UPS) to target, "
        "replacing it crash-safely, or, with output, writing the result there and leaving "
        "target as it is. The journal defaults to .bpatch beside the file written. Returns "
        "the CommitResult.");
}

}  // namespace bpatch::python

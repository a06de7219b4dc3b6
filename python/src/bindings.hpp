// The pieces of the `bpatch._bpatch` extension module, one per file, and the
// helpers they share. Each bind_* function adds its classes or functions to
// the module; module.cpp calls them in order (errors first: the others raise
// them).
//
// Everything here runs with the GIL held unless a comment says otherwise;
// the library itself is only called with the GIL released.
#pragma once

#include <pybind11/pybind11.h>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "bpatch/transaction.hpp"

namespace bpatch::python {

namespace py = pybind11;

void bind_errors(py::module_& m);
void bind_results(py::module_& m);
void bind_transaction(py::module_& m);
void bind_functions(py::module_& m);

// --- paths (paths.cpp) ---------------------------------------------------
// Python paths arrive as std::filesystem::path (pybind11 calls os.fspath).

// realpath(3) of an existing file or directory; Error(not_found) otherwise.
std::string real_path(const std::filesystem::path& path);
// The path made absolute against the current directory (not resolved).
std::string absolute_path(const std::filesystem::path& path);
// The journal directory as every command must spell it (the records name
// their journal): ROOT/.bpatch by default, else the real parent directory
// of `journal` joined with its last component.
std::string journal_dir(const std::string& real_root,
                        const std::optional<std::filesystem::path>& journal);

// --- data (data.cpp) -----------------------------------------------------

// A copy of the bytes of a bytes/bytearray/memoryview (any C-contiguous
// buffer); TypeError for anything else, str included.
std::vector<std::byte> buffer_bytes(const py::handle& data);

// --- results and commits (results.cpp, commit.cpp) -----------------------

// What Python sees of a bpatch::CommitResult (the type of `Transaction.result`).
struct PyFileResult {
  std::string target, kind, action, note;
  std::optional<std::string> pre_hash, post_hash;
  uint64_t size = 0;
};
struct PyCommitResult {
  std::optional<std::string> txid;
  bool dry_run = false;
  std::vector<PyFileResult> files;
  std::vector<std::string> recovered;
};
PyCommitResult to_python(const CommitResult& result);

// Runs a transaction with the GIL released. `progress` (None or a callable
// taking bytes_done, bytes_total, files_done, files_total) is called with the
// GIL held; if it raises, the commit is aborted before its commit point
// (nothing changes) and that exception is raised here.
PyCommitResult run_commit(TransactionOptions options, std::vector<Change> changes,
                          const py::object& progress);

}  // namespace bpatch::python

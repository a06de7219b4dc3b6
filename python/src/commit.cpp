// run_commit: a bpatch::Transaction run with the GIL released, and the
// bridge that lets a Python `progress=` callable watch it.
//
// The library calls the progress function from its staging threads (never
// two at once), before the commit point. The bridge takes the GIL for each
// call. If the callable raises (or a signal handler does, e.g. Ctrl-C's
// KeyboardInterrupt), the bridge keeps that Python exception and throws a
// bpatch::Error into the library instead, which aborts the transaction as
// any staging failure does: shadows deleted, nothing changed. run_commit then
// raises the callable's own exception.
#include <atomic>
#include <exception>

#include "bindings.hpp"
#include "bpatch/error.hpp"
#include "bpatch/posix_file_system.hpp"

namespace bpatch::python {
namespace {

class ProgressBridge {
 public:
  explicit ProgressBridge(const py::object& callable) : callable_(callable) {}

  // Called without the GIL.
  void operator()(const Progress& p) {
    if (!failed_) {
      py::gil_scoped_acquire gil;
      try {
        callable_(p.bytes_done, p.bytes_total, p.files_done, p.files_total);
        if (PyErr_CheckSignals() != 0) throw py::error_already_set();
      } catch (py::error_already_set& e) {
        error_ = std::move(e);
        failed_ = true;
      }
    }
    // Also thrown for calls after the first failure, from other threads.
    if (failed_)
      throw Error(Errc::usage, "",
                  "the progress callback raised an exception; nothing was changed");
  }

  // With the GIL held, after the commit returned or threw.
  void rethrow_if_failed() {
    if (failed_) throw std::move(*error_);
  }

 private:
  const py::object& callable_;
  std::atomic<bool> failed_{false};
  std::optional<py::error_already_set> error_;
};

}  // namespace

PyCommitResult run_commit(TransactionOptions options, std::vector<Change> changes,
                          const py::object& progress) {
  std::optional<ProgressBridge> bridge;
  if (!progress.is_none()) {
    if (!PyCallable_Check(progress.ptr())) throw py::type_error("progress must be callable");
    bridge.emplace(progress);
    options.progress = [&bridge](const Progress& p) { (*bridge)(p); };
  }
  PosixFileSystem fs;
  CommitResult result;
  std::exception_ptr failure;
  {
    // The work is all file I/O and hashing: let other Python threads run.
    py::gil_scoped_release release;
    try {
      Transaction transaction(fs, std::move(options));
      for (auto& change : changes) transaction.add(std::move(change));
      result = transaction.commit();
    } catch (...) {
      failure = std::current_exception();
    }
  }
  if (bridge) bridge->rethrow_if_failed();
  if (failure) std::rethrow_exception(failure);
  return to_python(result);
}

}  // namespace bpatch::python

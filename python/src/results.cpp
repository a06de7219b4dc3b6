// The result types Python sees: FileResult (one target), CommitResult (a
// read-only sequence of FileResult plus the transaction's id) and
// PendingTransaction (a journal record, from status() and recover()).
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "bpatch/recovery.hpp"

namespace bpatch::python {
namespace {

std::optional<std::string> hex_of(const std::optional<Hash128>& hash) {
  if (!hash) return std::nullopt;
  return hash->hex();
}

py::dict as_dict(const PyFileResult& r) {
  py::dict d;
  d["target"] = r.target;
  d["kind"] = r.kind;
  d["action"] = r.action;
  d["pre_hash"] = r.pre_hash;
  d["post_hash"] = r.post_hash;
  d["size"] = r.size;
  d["note"] = r.note;
  return d;
}

}  // namespace

PyCommitResult to_python(const CommitResult& result) {
  PyCommitResult out;
  if (!result.txid.empty()) out.txid = result.txid;
  out.dry_run = result.dry_run;
  for (const auto& r : result.recovered) out.recovered.push_back(r.txid + ": " + r.plan);
  for (const auto& f : result.files)
    out.files.push_back({f.target, change_kind_name(f.kind), file_action_name(f.action), f.note,
                         hex_of(f.pre_hash), hex_of(f.post_hash), f.size});
  return out;
}

void bind_results(py::module_& m) {
  py::class_<PyFileResult>(m, "FileResult", "What a transaction did to one target.")
      .def_readonly("target", &PyFileResult::target, "The target's absolute, resolved path.")
      .def_readonly("kind", &PyFileResult::kind,
                    "The change: 'edit', 'delta', 'put', 'remove', 'move', 'copy', 'symlink', "
                    "'mkdir', 'rmdir' or 'chmod'.")
      .def_readonly("action", &PyFileResult::action,
                    "'replaced', 'created', 'removed' or 'unchanged'.")
      .def_readonly("pre_hash", &PyFileResult::pre_hash,
                    "The old content's XXH3-128 (hex) when it was computed (expect given, or "
                    "remove); else None.")
      .def_readonly("post_hash", &PyFileResult::post_hash,
                    "The new content's XXH3-128 (hex); None for remove.")
      .def_readonly("size", &PyFileResult::size, "The new size in bytes (0 for remove).")
      .def_readonly("note", &PyFileResult::note, "E.g. 'already up to date'; usually ''.")
      .def("as_dict", &as_dict, "The fields as a dict.")
      .def(
          "__getitem__",
          [](const PyFileResult& r, const std::string& key) {
            py::dict d = as_dict(r);
            if (!d.contains(key)) throw py::key_error(key);
            return py::object(d[py::str(key)]);
          },
          py::arg("key"), "r['action'] is r.action: a FileResult reads as a dict too.")
      .def("__repr__", [](const PyFileResult& r) {
        return "FileResult(target=" + py::repr(py::str(r.target)).cast<std::string>() +
               ", action='" + r.action + "', size=" + std::to_string(r.size) + ")";
      });

  py::class_<PyCommitResult>(m, "CommitResult",
                             "The outcome of a transaction: a sequence of FileResult, one per "
                             "target, in the order the targets were first named.")
      .def_readonly("txid", &PyCommitResult::txid,
                    "The transaction's id; None when nothing was written (dry run, or "
                    "everything already up to date).")
      .def_readonly("dry_run", &PyCommitResult::dry_run, "True for a dry run.")
      .def_readonly("files", &PyCommitResult::files, "The FileResult list.")
      .def_readonly("recovered", &PyCommitResult::recovered,
                    "What the recovery run before the transaction finished or undid, in words.")
      .def("__len__", [](const PyCommitResult& r) { return r.files.size(); })
      .def("__getitem__",
           [](const PyCommitResult& r, py::ssize_t i) {
             const auto n = static_cast<py::ssize_t>(r.files.size());
             if (i < 0) i += n;
             if (i < 0 || i >= n) throw py::index_error("CommitResult index out of range");
             return r.files[static_cast<size_t>(i)];
           })
      .def(
          "__iter__",
          [](const PyCommitResult& r) { return py::make_iterator(r.files.begin(), r.files.end()); },
          py::keep_alive<0, 1>())
      .def("__repr__", [](const PyCommitResult& r) {
        return "CommitResult(txid=" + (r.txid ? "'" + *r.txid + "'" : std::string("None")) +
               ", files=" + std::to_string(r.files.size()) + ")";
      });

  py::class_<PendingTransaction>(m, "PendingTransaction",
                                 "A transaction record found in a journal.")
      .def_readonly("txid", &PendingTransaction::txid, "The transaction's id.")
      .def_property_readonly(
          "state",
          [](const PendingTransaction& t) {
            return t.state == PendingTransaction::State::committed ? "committed" : "uncommitted";
          },
          "'committed' (recovery rolls it forward) or 'uncommitted' (rolled back).")
      .def_readonly("targets", &PendingTransaction::targets,
                    "Committed: the targets to replace or remove.")
      .def_readonly("shadows", &PendingTransaction::shadows, "The shadow files recorded.")
      .def_readonly("plan", &PendingTransaction::plan, "What recovery does / did, in words.")
      .def("__repr__", [](const PendingTransaction& t) {
        return "PendingTransaction(txid='" + t.txid +
               "', plan=" + py::repr(py::str(t.plan)).cast<std::string>() + ")";
      });
}

}  // namespace bpatch::python

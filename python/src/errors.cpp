// bpatch.Error and its subclasses, and the translation of bpatch::Error.
//
// Every bpatch::Error thrown below a binding becomes a bpatch.Error carrying
// the same facts as attributes: `code` (the errc name, e.g. "wrong_source"),
// `path`, `errno` (0 when no system call failed) and `message` (the full
// text, which names the file). IncompleteCommit adds `txid`; a locked
// journal raises LockedError. The classes are made with the C API so that
// they are real exception classes (subclassable, picklable by name).
#include "bindings.hpp"
#include "bpatch/error.hpp"
#include "bpatch/transaction.hpp"

namespace bpatch::python {
namespace {

// Module-lifetime references: the extension is never unloaded.
PyObject* g_error = nullptr;
PyObject* g_incomplete = nullptr;
PyObject* g_locked = nullptr;

PyObject* make_class(py::module_& m, const char* name, PyObject* base, const char* doc) {
  const std::string qualified = std::string("bpatch.") + name;
  PyObject* cls = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, base, nullptr);
  if (!cls) throw py::error_already_set();
  m.add_object(name, py::handle(cls));
  return cls;
}

void raise(PyObject* cls, const Error& e, const std::string* txid) {
  py::object exc = py::reinterpret_borrow<py::object>(cls)(e.what());
  exc.attr("code") = errc_name(e.code());
  exc.attr("path") = e.path();
  exc.attr("errno") = e.sys_errno();
  exc.attr("message") = std::string(e.what());
  if (txid) exc.attr("txid") = *txid;
  PyErr_SetObject(cls, exc.ptr());
}

}  // namespace

void bind_errors(py::module_& m) {
  g_error =
      make_class(m, "Error", PyExc_Exception,
                 "A bpatch operation failed; nothing was changed.\n\n"
                 "Attributes: code (the error's name: 'io', 'not_found', 'invalid_path',\n"
                 "'not_regular', 'hard_linked', 'script_syntax', 'bad_patch', 'unsupported',\n"
                 "'wrong_source', 'already_applied', 'checksum', 'concurrent_change',\n"
                 "'locked', 'journal', 'too_large', 'usage'), path (the file concerned, may\n"
                 "be ''), errno (of the failing system call, 0 when none) and message (the\n"
                 "whole text, naming the file).");
  g_incomplete = make_class(m, "IncompleteCommit", g_error,
                            "The transaction committed but could not finish (e.g. an fsync\n"
                            "failed while replacing the files). It is durable: recover()\n"
                            "finishes it. Attribute txid names the transaction.");
  g_locked = make_class(m, "LockedError", g_error,
                        "The journal is locked by another bpatch (another process or\n"
                        "transaction) and did not come free within `wait` seconds.");
  // Defaults, so that an Error raised from Python code has every attribute.
  py::handle error(g_error);
  error.attr("code") = py::none();
  error.attr("path") = "";
  error.attr("errno") = 0;
  error.attr("message") = "";
  py::handle(g_incomplete).attr("txid") = py::none();

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const IncompleteCommit& e) {
      raise(g_incomplete, e, &e.txid());
    } catch (const Error& e) {
      raise(e.code() == Errc::locked ? g_locked : g_error, e, nullptr);
    }
  });
}

}  // namespace bpatch::python

// bpatch._bpatch — the compiled half of the `bpatch` Python package.
//
// The package's __init__.py re-exports what is defined here; the type stubs
// are bpatch/_bpatch.pyi. Errors are bound first because every other part
// raises them.
#include "bindings.hpp"

#ifndef BPATCH_VERSION
#define BPATCH_VERSION "unknown"
#endif

PYBIND11_MODULE(_bpatch, m) {
  m.doc() = "Crash-safe, all-or-nothing changes to binary files (the bpatch library).";
  m.attr("__version__") = BPATCH_VERSION;
  bpatch::python::bind_errors(m);
  bpatch::python::bind_results(m);
  bpatch::python::bind_transaction(m);
  bpatch::python::bind_functions(m);
}

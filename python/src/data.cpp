// Bytes from Python objects: the buffer protocol, read once and copied into
// the library's Data (the Python object may change or die before the commit).
#include <cstring>

#include "bindings.hpp"

namespace bpatch::python {

std::vector<std::byte> buffer_bytes(const py::handle& data) {
  if (PyUnicode_Check(data.ptr()))
    throw py::type_error("expected bytes, bytearray or memoryview, got str (encode it first)");
  Py_buffer view;
  // PyBUF_SIMPLE: a contiguous run of bytes, or a BufferError.
  if (PyObject_GetBuffer(data.ptr(), &view, PyBUF_SIMPLE) != 0) {
    if (PyErr_ExceptionMatches(PyExc_TypeError)) {
      PyErr_Clear();
      throw py::type_error(std::string("expected bytes, bytearray or memoryview, got ") +
                           Py_TYPE(data.ptr())->tp_name);
    }
    throw py::error_already_set();
  }
  std::vector<std::byte> bytes(static_cast<size_t>(view.len));
  if (view.len > 0) std::memcpy(bytes.data(), view.buf, bytes.size());
  PyBuffer_Release(&view);
  return bytes;
}

}  // namespace bpatch::python

"""Writes docs/python.md, the API reference of the bpatch Python package,
from the docstrings of the built module (one source of truth: the C++
bindings). tests/test_docs.py fails when the file is out of date.

Usage: PYTHONPATH=BUILD/python python3 python/tools/gen_docs.py [OUTPUT]
"""

import inspect
import re
import sys
from pathlib import Path

import bpatch

HEADER = """# The bpatch Python package: API reference

Generated from the docstrings by `python/tools/gen_docs.py` (do not edit by hand).
The README's "From Python" section shows the package at work; building and
installing it is described there too.

"""


def split_doc(obj):
    """(signature, text) of a pybind11 docstring: its first line is the signature."""
    doc = inspect.cleandoc(obj.__doc__ or "")
    first, _, rest = doc.partition("\n")
    if "(" in first and first.split("(")[0].isidentifier():
        sig = re.sub(r"self: \w+(, )?", "", first.replace("bpatch._bpatch.", ""))
        return sig, inspect.cleandoc(rest)
    return None, doc


def render_function(name, obj):
    sig, text = split_doc(obj)
    out = [f"## `bpatch.{sig or name}`\n"]
    if text:
        out.append(text + "\n")
    return out


def render_class(name, cls):
    out = [f"## class `bpatch.{name}`\n", inspect.cleandoc(cls.__doc__ or "") + "\n"]
    for attr, value in cls.__dict__.items():
        if attr.startswith("_") and attr not in ("__init__", "__enter__", "__exit__", "__len__"):
            continue
        if isinstance(value, property):
            out.append(f"### `{name}.{attr}` (read-only)\n")
            out.append(inspect.cleandoc(value.__doc__ or "") + "\n")
        elif callable(value):
            sig, text = split_doc(value)
            if sig is None or (attr.startswith("__") and not text and attr != "__init__"):
                continue  # no constructor from Python, or a plain protocol method
            out.append(f"### `{name}.{sig}`\n")
            if text:
                out.append(text + "\n")
    return out


def render():
    out = [HEADER, inspect.cleandoc(bpatch.__doc__) + "\n"]
    for name in bpatch.__all__:
        obj = getattr(bpatch, name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            out.append(f"## exception `bpatch.{name}({obj.__mro__[1].__name__})`\n")
            out.append(inspect.cleandoc(obj.__doc__ or "") + "\n")
        elif isinstance(obj, type):
            out += render_class(name, obj)
        else:
            out += render_function(name, obj)
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[2] / "docs/python.md"
    target.write_text(render())

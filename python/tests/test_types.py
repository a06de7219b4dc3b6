"""Type information ships with the package (py.typed, the .pyi stubs), and
the stubs agree with the module: every public name, and the parameter names
of every function and Transaction method, as pybind11 reports them."""

import ast
from pathlib import Path

import bpatch

PACKAGE = Path(bpatch.__file__).parent


def stub():
    return ast.parse((PACKAGE / "_bpatch.pyi").read_text())


def runtime_params(obj):
    """Parameter names from pybind11's signature line ("name(a: int, *, b: str = 1) -> x")."""
    first = obj.__doc__.splitlines()[0]
    inner = first[first.index("(") + 1 : first.rindex(") ->")]
    names, depth, current = [], 0, ""
    for ch in inner + ",":
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if ch == "," and depth == 0:
            names.append(current.strip().split(":")[0].split("=")[0].strip())
            current = ""
        else:
            current += ch
    return [n for n in names if n and n != "self"]


def stub_params(fn):
    a = fn.args
    names = [p.arg for p in a.posonlyargs + a.args]
    if a.kwonlyargs:
        names.append("*")
    names += [p.arg for p in a.kwonlyargs]
    return [n for n in names if n != "self"]


def test_py_typed_and_stubs_present():
    assert (PACKAGE / "py.typed").is_file()
    assert (PACKAGE / "_bpatch.pyi").is_file()


def test_stub_covers_every_public_name():
    defined = {n.name for n in stub().body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    assert set(bpatch.__all__) <= defined


def test_stub_signatures_match_the_module():
    tree = stub()
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    for name, fn in functions.items():
        assert stub_params(fn) == runtime_params(getattr(bpatch, name)), name
    (tx,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Transaction"]
    for fn in tx.body:
        if isinstance(fn, ast.FunctionDef) and not any(
            isinstance(d, ast.Name) and d.id == "property" for d in fn.decorator_list
        ):
            assert stub_params(fn) == runtime_params(getattr(bpatch.Transaction, fn.name)), fn.name


def test_everything_public_has_a_docstring():
    for name in bpatch.__all__:
        obj = getattr(bpatch, name)
        assert obj.__doc__ and len(obj.__doc__.strip()) > 20, name
    for name in ("expect", "write", "fill", "insert", "delete", "truncate", "append", "put",
                 "delta", "remove", "commit"):
        doc = getattr(bpatch.Transaction, name).__doc__
        assert len(doc.splitlines()) > 2, name  # the signature line and a description

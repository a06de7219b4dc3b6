"""docs/python.md is what python/tools/gen_docs.py makes from the
docstrings, and the README's "From Python" example runs as written."""

import re
import runpy
import sys

import pytest

from conftest import SOURCE_DIR


def test_api_reference_is_up_to_date():
    sys.path.insert(0, str(SOURCE_DIR / "python" / "tools"))
    try:
        import gen_docs
    finally:
        sys.path.pop(0)
    want = gen_docs.render()
    got = (SOURCE_DIR / "docs" / "python.md").read_text()
    assert got == want, "docs/python.md is stale: run python/tools/gen_docs.py"


def test_readme_example_runs(tmp_path, monkeypatch, capsys):
    readme = (SOURCE_DIR / "README.md").read_text()
    section = readme.split("## From Python", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.S)
    data = tmp_path / "data"
    data.mkdir()
    for name in ("a.bin", "b.bin", "c.bin"):
        (data / name).write_bytes(bytes(range(256)) * 4)
    before = {p.name: p.read_bytes() for p in data.iterdir()}
    monkeypatch.chdir(tmp_path)
    (tmp_path / "example.py").write_text(code)
    runpy.run_path(str(tmp_path / "example.py"))
    # The example's transaction fails halfway: nothing changed, no leftovers.
    assert {p.name: p.read_bytes() for p in data.iterdir() if p.is_file()} == before
    # Refused before its commit point, the first transaction also removes the
    # journal directory it created: the tree is exactly as it was.
    assert not (data / ".bpatch").exists()
    assert "nothing changed" in capsys.readouterr().out

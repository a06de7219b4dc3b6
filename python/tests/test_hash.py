"""hash_file and hash_bytes against xxhsum -H2 (XXH3-128), the oracle."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import bpatch


def xxhsum(path):
    tool = shutil.which("xxhsum")
    if tool is None:
        pytest.fail("xxhsum (the oracle for hash_file) is not installed")
    out = subprocess.run([tool, "-H2", str(path)], check=True, capture_output=True, text=True)
    return out.stdout.split()[0].removeprefix("XXH3_")


@pytest.mark.parametrize("size", [0, 1, 15, 240, 241, 4096, 1 << 20, (5 << 20) + 3])
def test_hash_file_equals_xxhsum(tmp_path, size):
    f = tmp_path / "data.bin"
    data = os.urandom(size)
    f.write_bytes(data)
    h = bpatch.hash_file(f)
    assert len(h) == 32 and h == h.lower()
    assert h == xxhsum(f)
    assert bpatch.hash_bytes(data) == h == bpatch.hash_file(str(f))


def test_expect_takes_hash_file_output(root):
    f = root / "a.bin"
    f.write_bytes(b"hello")
    for spell in (str, str.upper, lambda h: "xxh3:" + h):
        with bpatch.Transaction(root) as tx:
            tx.expect(Path("a.bin"), spell(bpatch.hash_file(f)))
            tx.append("a.bin", b"!")
    assert f.read_bytes() == b"hello!!!"


def test_expect_only_checks_without_rewriting(root):
    f = root / "a.bin"
    f.write_bytes(b"same")
    inode = f.stat().st_ino
    with bpatch.Transaction(root) as tx:
        tx.expect("a.bin", bpatch.hash_file(f))
        tx.put("b.bin", b"x")
    assert f.stat().st_ino == inode
    with pytest.raises(bpatch.Error) as info:
        with bpatch.Transaction(root) as tx:
            tx.expect("a.bin", bpatch.hash_bytes(b"other"))
            tx.put("c.bin", b"x")
    assert info.value.code == "wrong_source" and not (root / "c.bin").exists()


def test_hash_file_errors(tmp_path):
    with pytest.raises(bpatch.Error) as info:
        bpatch.hash_file(tmp_path / "missing")
    assert info.value.code == "not_found" and "missing" in str(info.value)

"""Every edit op, and sequences of them over several files, against the
pure-Python model (model.py); put, remove and delta beside them."""

import os
import shutil
import subprocess

import pytest
from hypothesis import given, strategies as st

import bpatch
from conftest import snapshot
from model import OutOfRange, apply_ops

ORIGINAL = bytes(range(200)) * 3  # 600 bytes, every byte value distinct nearby

# One row per op: (op tuple, what the model says is valid).
SINGLE_OPS = [
    ("write", 0, b"\xde\xad"),
    ("write", 598, b"tail-extends"),
    ("write", 600, b"at-end"),
    ("write", 601, b"x"),  # past the end: refused
    ("fill", 16, 64, 0xAA),
    ("fill", 590, 20, 0),
    ("fill", 700, 1, 0),  # refused
    ("insert", 0, b"hdr"),
    ("insert", 300, b"mid"),
    ("insert", 600, b"end"),
    ("insert", 601, b"x"),  # refused
    ("delete", 0, 10),
    ("delete", 590, 10),
    ("delete", 590, 11),  # refused
    ("delete", 600, 0),
    ("truncate", 0),
    ("truncate", 100),
    ("truncate", 4096),
    ("append", b"END"),
    ("append", b""),
]


def run_ops(root, files, ops):
    """Applies [(name, op)] in one transaction; returns the CommitResult."""
    with bpatch.Transaction(root) as tx:
        for name, op in ops:
            getattr(tx, op[0])(name, *op[1:])
    return tx.result


@pytest.mark.parametrize("op", SINGLE_OPS, ids=lambda op: f"{op[0]}{op[1:]}"[:40])
def test_single_op_matches_model(root, op):
    (root / "f.bin").write_bytes(ORIGINAL)
    try:
        want = apply_ops(ORIGINAL, [op])
    except OutOfRange:
        before = snapshot(root)
        with pytest.raises(bpatch.Error) as info:
            run_ops(root, ["f.bin"], [("f.bin", op)])
        assert info.value.code == "usage"
        assert "f.bin" in str(info.value) and info.value.path.endswith("f.bin")
        assert snapshot(root) == before
        return
    result = run_ops(root, ["f.bin"], [("f.bin", op)])
    assert (root / "f.bin").read_bytes() == want
    (r,) = result
    assert r.action == "replaced" and r.kind == "edit" and r.size == len(want)
    assert r.post_hash == bpatch.hash_bytes(want) == bpatch.hash_file(root / "f.bin")
    assert r["action"] == r.action and r.as_dict()["size"] == r.size


def test_ops_accumulate_in_call_order(root):
    (root / "f.bin").write_bytes(b"abcdef")
    with bpatch.Transaction(root) as tx:
        tx.insert("f.bin", 0, b"XY")  # XYabcdef
        tx.write("f.bin", 2, b"Q")  # XYQbcdef: offsets see the previous op's result
        tx.delete("f.bin", 0, 1)  # YQbcdef
        tx.append("f.bin", b"!")
    assert (root / "f.bin").read_bytes() == b"YQbcdef!"
    assert len(tx.result) == 1  # one Change per file


def test_buffer_types(root):
    (root / "f.bin").write_bytes(b"0123456789")
    with bpatch.Transaction(root) as tx:
        tx.write("f.bin", 0, bytearray(b"ab"))
        tx.write("f.bin", 2, memoryview(b"__cd__")[2:4])
        tx.put("g.bin", memoryview(bytearray(b"whole")))
    assert (root / "f.bin").read_bytes() == b"abcd456789"
    assert (root / "g.bin").read_bytes() == b"whole"
    with pytest.raises(TypeError):
        bpatch.Transaction(root).write("f.bin", 0, "text")


def test_put_remove_delta_and_edits_together(root, tmp_path):
    """The seed's scenario: a series of operations on several binary files."""
    if shutil.which("bsdiff") is None:
        pytest.fail("bsdiff (the oracle for delta) is not installed")
    old_e = os.urandom(50_000)
    new_e = old_e[:20_000] + os.urandom(3_000) + old_e[25_000:]
    (root / "e.bin").write_bytes(old_e)
    (tmp_path / "e.new").write_bytes(new_e)
    subprocess.run(["bsdiff", root / "e.bin", tmp_path / "e.new", tmp_path / "e.bsdiff"], check=True)
    (root / "a.bin").write_bytes(bytes(0x200))
    (root / "b.bin").write_bytes(b"0123456789abcdef")
    (root / "c.bin").write_bytes(b"c" * 10_000)
    (root / "old.bin").write_bytes(b"obsolete")
    a_hash = bpatch.hash_file(root / "a.bin")

    with bpatch.Transaction(root) as tx:
        tx.expect("a.bin", a_hash)
        tx.write("a.bin", 16, b"\xde\xad")
        tx.fill("a.bin", 0x100, 64, 0xFF)
        tx.insert("b.bin", 0, b"hdr")
        tx.delete("b.bin", 10, 4)
        tx.truncate("c.bin", 4096)
        tx.append("c.bin", b"END")
        tx.put("new/d.bin", b"...", mode=0o640)
        tx.delta("e.bin", tmp_path / "e.bsdiff")
        tx.remove("old.bin")

    a = bytearray(0x200)
    a[16:18] = b"\xde\xad"
    a[0x100:0x140] = b"\xff" * 64
    assert (root / "a.bin").read_bytes() == a
    assert (root / "b.bin").read_bytes() == apply_ops(
        b"0123456789abcdef", [("insert", 0, b"hdr"), ("delete", 10, 4)]
    )
    assert (root / "c.bin").read_bytes() == b"c" * 4096 + b"END"
    assert (root / "new/d.bin").read_bytes() == b"..."
    assert (root / "new/d.bin").stat().st_mode & 0o777 == 0o640
    assert (root / "e.bin").read_bytes() == new_e
    assert not (root / "old.bin").exists()
    actions = {os.path.basename(r.target): r.action for r in tx.result}
    assert actions == {
        "a.bin": "replaced", "b.bin": "replaced", "c.bin": "replaced",
        "d.bin": "created", "e.bin": "replaced", "old.bin": "removed",
    }
    assert tx.result[0].pre_hash == a_hash
    assert tx.result.txid and bpatch.status(root) == []


# --- generated sequences ----------------------------------------------------

payloads = st.binary(min_size=0, max_size=24)


@st.composite
def op_sequences(draw):
    """Initial contents of 1-3 files and up to 12 ops on them, offsets drawn
    near the (model's) current size so some ops fall just out of range."""
    n = draw(st.integers(1, 3))
    files = {f"f{i}.bin": draw(st.binary(min_size=0, max_size=80)) for i in range(n)}
    sizes = {k: len(v) for k, v in files.items()}
    ops = []
    for _ in range(draw(st.integers(1, 12))):
        name = draw(st.sampled_from(sorted(files)))
        size = sizes[name]
        offset = draw(st.integers(0, size + 2))
        kind = draw(st.sampled_from(["write", "fill", "insert", "delete", "truncate", "append"]))
        if kind in ("write", "insert"):
            op = (kind, offset, draw(payloads))
        elif kind == "fill":
            op = (kind, offset, draw(st.integers(0, 20)), draw(st.integers(0, 255)))
        elif kind == "delete":
            op = (kind, offset, draw(st.integers(0, max(0, size - offset) + 1)))
        elif kind == "truncate":
            op = (kind, draw(st.integers(0, size + 30)))
        else:
            op = (kind, draw(payloads))
        ops.append((name, op))
        try:
            sizes[name] = len(apply_ops(bytes(size), [op]))
        except OutOfRange:
            pass
    return files, ops


@given(op_sequences())
def test_generated_sequences_match_model(tmp_path_factory, case):
    files, ops = case
    root = tmp_path_factory.mktemp("gen")
    for name, content in files.items():
        (root / name).write_bytes(content)
    want = {}
    failed = False
    for name, content in files.items():
        try:
            want[name] = apply_ops(content, [op for n, op in ops if n == name])
        except OutOfRange:
            failed = True
    before = snapshot(root)
    if failed:
        with pytest.raises(bpatch.Error) as info:
            run_ops(root, files, ops)
        assert info.value.code == "usage"
        assert snapshot(root) == before  # all-or-nothing: no file changed
    else:
        run_ops(root, files, ops)
        for name, content in want.items():
            assert (root / name).read_bytes() == content, name
        assert set(snapshot(root)) == set(before)  # no shadow or record left


def test_tree_statements(root):
    """symlink, mkdir, rmdir and chmod commit with the rest, all or nothing."""
    (root / "f").write_bytes(b"file")
    os.chmod(root / "f", 0o644)
    (root / "old").mkdir()
    (root / "old" / "x").write_bytes(b"x")
    os.symlink("f", root / "link")
    with bpatch.Transaction(root) as tx:
        tx.symlink("link", "cache")
        tx.symlink("new-link", "f")
        tx.mkdir("cache/deep", 0o750)
        tx.chmod("f", 0o600)
        tx.remove("old/x")
        tx.rmdir("old")
    assert os.readlink(root / "link") == "cache"
    assert os.readlink(root / "new-link") == "f"
    assert os.stat(root / "cache" / "deep").st_mode & 0o7777 == 0o750
    assert os.stat(root / "f").st_mode & 0o7777 == 0o600
    assert (root / "f").read_bytes() == b"file"
    assert not (root / "old").exists()
    before = snapshot(root)
    tx = bpatch.Transaction(root)
    tx.mkdir("d2", 0o755)
    tx.rmdir("cache")  # not empty: deep stays
    with pytest.raises(bpatch.Error, match="is not empty"):
        tx.commit()
    assert snapshot(root) == before

"""Failures: the exception types and their attributes, and that nothing on
disk changed (no file, no shadow, no journal record)."""

import errno
import os

import pytest

import bpatch
from conftest import snapshot


@pytest.fixture
def tree(root):
    (root / "a.bin").write_bytes(b"A" * 1000)
    (root / "b.bin").write_bytes(b"B" * 1000)
    (root / "c.bin").write_bytes(b"C" * 1000)
    return root


def test_exception_in_block_discards_everything(tree):
    before = snapshot(tree)
    with pytest.raises(ZeroDivisionError):
        with bpatch.Transaction(tree) as tx:
            tx.write("a.bin", 0, b"x")
            tx.put("b.bin", b"new")
            tx.remove("c.bin")
            1 / 0
    assert snapshot(tree) == before
    assert tx.result is None and tx.closed
    with pytest.raises(bpatch.Error):
        tx.write("a.bin", 0, b"late")  # a discarded transaction takes no more ops


def test_failing_halfway_changes_nothing(tree):
    """Several files, the third op's expectation is wrong: nothing is written."""
    before = snapshot(tree)
    with pytest.raises(bpatch.Error) as info:
        with bpatch.Transaction(tree) as tx:
            tx.write("a.bin", 0, b"first")
            tx.put("new/x.bin", b"created?")
            tx.expect("b.bin", "0" * 32)
            tx.write("b.bin", 0, b"second")
            tx.write("c.bin", 0, b"third")
    e = info.value
    assert type(e) is bpatch.Error
    assert e.code == "wrong_source" and e.path == str(tree / "b.bin")
    assert "b.bin" in e.message and str(e) == e.message and e.errno == 0
    assert snapshot(tree) == before and not (tree / "new").exists()


@pytest.mark.parametrize(
    "setup, code",
    [
        (lambda tx: tx.write("missing.bin", 0, b"x"), "not_found"),
        (lambda tx: tx.remove("missing.bin"), "not_found"),
        (lambda tx: tx.put("../outside.bin", b"x"), "invalid_path"),
        (lambda tx: tx.put("/etc/outside.bin", b"x"), "invalid_path"),
        (lambda tx: tx.write("a.bin", 5000, b"x"), "usage"),
        (lambda tx: tx.delete("a.bin", 999, 2), "usage"),
        (lambda tx: tx.expect("a.bin", "not-a-hash"), "usage"),
        (lambda tx: tx.fill("a.bin", 0, 1, 256), "usage"),
        (lambda tx: tx.put("a.bin", b"x", mode=0o17777), "usage"),
        (lambda tx: (tx.put("a.bin", b"x"), tx.write("a.bin", 0, b"y")), "usage"),
        (lambda tx: (tx.write("a.bin", 0, b"y"), tx.remove("a.bin")), "usage"),
        (lambda tx: tx.delta("a.bin", "no-such.patch"), "not_found"),
    ],
)
def test_error_codes_and_nothing_changed(tree, setup, code):
    before = snapshot(tree)
    with pytest.raises(bpatch.Error) as info:
        with bpatch.Transaction(tree) as tx:
            tx.write("c.bin", 0, b"would change")
            setup(tx)
    assert info.value.code == code, info.value
    assert info.value.message
    assert snapshot(tree) == before


def test_not_found_carries_errno(tree):
    with pytest.raises(bpatch.Error) as info:
        with bpatch.Transaction(tree) as tx:
            tx.write("nope.bin", 0, b"x")
    assert info.value.errno == errno.ENOENT and "nope.bin" in str(info.value)
    with pytest.raises(bpatch.Error) as info:
        bpatch.Transaction(tree / "no-such-root")
    assert info.value.code == "not_found"


def test_corrupt_patch_changes_nothing(tree, tmp_path):
    bad = tmp_path / "bad.bps"
    bad.write_bytes(b"BPS1" + os.urandom(40))
    before = snapshot(tree)
    with pytest.raises(bpatch.Error) as info:
        with bpatch.Transaction(tree) as tx:
            tx.write("a.bin", 0, b"x")
            tx.delta("b.bin", bad)
    assert info.value.code in ("bad_patch", "checksum", "wrong_source")
    assert snapshot(tree) == before


def test_progress_callback_raising_aborts_cleanly(tree):
    before = snapshot(tree)
    calls = []

    def progress(*args):
        calls.append(args)
        raise KeyError("stop")

    with pytest.raises(KeyError):
        with bpatch.Transaction(tree, progress=progress) as tx:
            tx.put("big.bin", os.urandom(3 << 20))
            tx.write("a.bin", 0, b"x")
    assert calls and snapshot(tree) == before
    assert bpatch.status(tree) == []


def test_progress_is_reported(tree):
    seen = []
    with bpatch.Transaction(tree, progress=lambda *a: seen.append(a)) as tx:
        tx.put("big.bin", bytes(3 << 20))
        tx.write("a.bin", 0, b"x")
    assert seen and all(len(a) == 4 for a in seen)
    bytes_done, bytes_total, files_done, files_total = seen[-1]
    assert files_total == 2 and files_done == 2
    assert bytes_done == bytes_total >= 3 << 20


def test_commit_once_and_explicit_commit(tree):
    tx = bpatch.Transaction(tree)
    tx.append("a.bin", b"!")
    tx.expect("a.bin", bpatch.hash_file(tree / "a.bin"))
    tx.expect("b.bin", bpatch.hash_file(tree / "b.bin"))
    assert len(tx) == 2 and "files=2" in repr(tx)
    result = tx.commit()
    assert result is tx.result and (tree / "a.bin").read_bytes().endswith(b"!")
    with pytest.raises(bpatch.Error) as info:
        tx.commit()
    assert info.value.code == "usage"
    with bpatch.Transaction(tree) as tx:  # commit() inside the block: exit does not re-commit
        tx.append("b.bin", b"?")
        tx.commit()
    assert (tree / "b.bin").read_bytes() == b"B" * 1000 + b"?"


def test_exception_hierarchy():
    assert issubclass(bpatch.IncompleteCommit, bpatch.Error)
    assert issubclass(bpatch.LockedError, bpatch.Error)
    assert issubclass(bpatch.Error, Exception)
    e = bpatch.IncompleteCommit("made by hand")
    assert e.txid is None and e.code is None and e.errno == 0


def test_dry_run_writes_nothing(tree):
    before = snapshot(tree)
    with bpatch.Transaction(tree, dry_run=True) as tx:
        tx.write("a.bin", 0, b"x")
        tx.put("n.bin", b"new")
    assert tx.result.dry_run and tx.result.txid is None and len(tx.result) == 2
    assert tx.result[1].post_hash == bpatch.hash_bytes(b"new")
    assert snapshot(tree) == before

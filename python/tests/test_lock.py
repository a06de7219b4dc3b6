"""The journal lock across processes: a second transaction on a journal
another process holds raises LockedError at once with wait=0, and waits for
it with wait=SECONDS."""

import subprocess
import sys
import time

import pytest

import bpatch
from conftest import package_path_env

# A child that stops inside its commit (in the progress callback, with the
# journal locked) until its stdin is closed.
HOLDER = r"""
import sys, bpatch
def progress(*args):
    if not progress.said:
        progress.said = True
        print("locked", flush=True)
        sys.stdin.read()
progress.said = False
with bpatch.Transaction(sys.argv[1], progress=progress) as tx:
    tx.put("held.bin", bytes(1 << 20))
print("done", flush=True)
"""


@pytest.fixture
def holder(root):
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(root)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=package_path_env(),
    )
    try:
        assert child.stdout.readline().strip() == "locked"
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=30)


def test_locked_journal_raises_quickly(root, holder):
    (root / "a.bin").write_bytes(b"old")
    start = time.monotonic()
    with pytest.raises(bpatch.LockedError) as info:
        with bpatch.Transaction(root, wait=0) as tx:
            tx.write("a.bin", 0, b"new")
    assert time.monotonic() - start < 1.0
    assert info.value.code == "locked" and isinstance(info.value, bpatch.Error)
    assert ".bpatch" in str(info.value)
    assert (root / "a.bin").read_bytes() == b"old"
    with pytest.raises(bpatch.LockedError):
        bpatch.recover(root)


def test_wait_for_the_lock(root, holder):
    (root / "a.bin").write_bytes(b"old")
    start = time.monotonic()
    # Free the lock in 0.5 s, while this process waits up to 20 s for it.
    import threading

    threading.Timer(0.5, holder.stdin.close).start()
    with bpatch.Transaction(root, wait=20) as tx:
        tx.write("a.bin", 0, b"new")
    elapsed = time.monotonic() - start
    assert 0.4 < elapsed < 20
    assert (root / "a.bin").read_bytes() == b"new"
    assert holder.wait(timeout=30) == 0 and (root / "held.bin").stat().st_size == 1 << 20

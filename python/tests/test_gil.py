"""The GIL is released while the library works: another Python thread keeps
running through a large (48 MiB) commit."""

import os
import threading
import time

import bpatch

BUCKET = 0.02  # seconds


def ticks_during(action):
    """Runs action() while a thread records when it gets to run; returns the
    tick times that fell inside the call and the call's start and end."""
    ticks = []
    stop = threading.Event()

    def counter():
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.001)

    thread = threading.Thread(target=counter)
    thread.start()
    time.sleep(0.05)
    start = time.monotonic()
    action()
    end = time.monotonic()
    stop.set()
    thread.join()
    return [t for t in ticks if start <= t <= end], start, end


def test_thread_runs_during_large_commit(root):
    (root / "big.bin").write_bytes(bytes(48 << 20))
    data = os.urandom(48 << 20)

    def commit():
        with bpatch.Transaction(root) as tx:
            tx.put("new.bin", data)
            tx.write("big.bin", 1 << 20, b"x" * 4096)

    inside, start, end = ticks_during(commit)
    assert (root / "new.bin").read_bytes() == data
    # Holding the GIL, the commit would leave the thread a few ticks at its
    # start at most (3 of 93 slices, measured); released, the thread runs in
    # most 20 ms slices of it — fewer on a loaded machine, so the bar is a
    # fifth, still far above what a held GIL allows.
    slices = max(1, int((end - start) / BUCKET))
    covered = len({int((t - start) / BUCKET) for t in inside})
    assert end - start > 0.1, "commit too fast to tell"
    assert covered >= max(3, slices * 0.2), (covered, slices)

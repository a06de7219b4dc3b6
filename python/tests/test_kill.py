"""SIGKILL of a Python process in the middle of a many-file transaction,
then bpatch.recover(): the files are all as before or all as committed,
never a mix, and no shadow or record is left. Many rounds, each killed at a
random instant of the commit (calibrated by one uninterrupted run)."""

import os
import random
import signal
import subprocess
import sys
import time

import bpatch
from conftest import package_path_env, snapshot
from kill_scenario import new_state, old_state

ROUNDS = int(os.environ.get("BPATCH_KILL_ROUNDS", "24"))
TIME_LIMIT = 40.0  # seconds for all rounds; at least MIN_ROUNDS run regardless
MIN_ROUNDS = 8

# The child runs kill_scenario's transaction. It says "go" just before
# committing and "done" after.
CHILD = r"""
import sys, bpatch
from kill_scenario import OPS, new_put
tx = bpatch.Transaction(sys.argv[1])
for name, ops in OPS.items():
    for op in ops:
        getattr(tx, op[0])(name, *op[1:])
tx.put("sub/new.bin", new_put())
tx.remove("gone.bin")
print("go", flush=True)
tx.commit()
print("done", flush=True)
"""


def reset(root, state):
    for dirpath, _dirs, files in os.walk(root, topdown=False):
        for name in files:
            os.unlink(os.path.join(dirpath, name))
        if dirpath != str(root) and not dirpath.endswith(".bpatch"):
            os.rmdir(dirpath)
    for name, content in state.items():
        (root / name).write_bytes(content)


def start_child(root):
    here = os.path.dirname(os.path.abspath(__file__))
    env = package_path_env()
    env["PYTHONPATH"] += os.pathsep + here
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(root)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert child.stdout.readline().strip() == "go"
    return child


def test_sigkill_mid_commit_then_recover(root):
    old = old_state()
    new = new_state(old)

    # Calibration: how long an uninterrupted commit takes here.
    reset(root, old)
    child = start_child(root)
    began = time.monotonic()
    assert child.stdout.readline().strip() == "done"
    full = time.monotonic() - began
    assert child.wait(timeout=120) == 0
    child.stdout.close()
    assert snapshot(root) == new

    rng = random.Random(12)
    outcomes = {"old": 0, "new": 0}
    interrupted = 0
    deadline = time.monotonic() + TIME_LIMIT
    rounds = 0
    while rounds < ROUNDS and (rounds < MIN_ROUNDS or time.monotonic() < deadline):
        rounds += 1
        reset(root, old)
        child = start_child(root)
        time.sleep(rng.uniform(0, full))
        child.send_signal(signal.SIGKILL)
        if child.wait(timeout=60) == 0:
            full *= 0.7  # finished before the kill: this machine got faster; aim earlier
        child.stdout.close()
        if bpatch.status(root):
            interrupted += 1
        bpatch.recover(root)
        after = snapshot(root)
        assert after in (old, new), f"round {rounds}: a mix of old and new after recovery"
        outcomes["old" if after == old else "new"] += 1
        assert bpatch.status(root) == []
    print(f"\n{rounds} kills, commit {full:.2f}s: {outcomes}, {interrupted} left a record")
    assert rounds >= MIN_ROUNDS
    # The kills landed inside commits, not only before or after them.
    assert interrupted >= 1

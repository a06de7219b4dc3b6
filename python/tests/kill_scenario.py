"""The transaction test_kill.py's child processes run and get killed in: four
4 MiB files edited, a 4 MiB file created, one removed. Kept free of pytest
imports so that a child starts fast."""

import os
import random

from model import apply_ops

SIZE = 4 << 20

OPS = {
    "f0.bin": [("write", 1 << 20, b"\xab" * 65536)],
    "f1.bin": [("insert", 0, b"HDR" * 10), ("delete", 3 << 20, 4096)],
    "f2.bin": [("truncate", 2 << 20), ("append", b"END")],
    "f3.bin": [("fill", 100, 1 << 20, 0x5A)],
}


def new_put():
    return random.Random(7).randbytes(SIZE)


def old_state():
    rng = random.Random(1)
    state = {name: rng.randbytes(SIZE) for name in OPS}
    state["gone.bin"] = b"to be removed"
    return state


def new_state(old):
    state = {name: apply_ops(old[name], ops) for name, ops in OPS.items()}
    state[os.path.join("sub", "new.bin")] = new_put()
    return state

"""Reflink case: does the cost of sparse edits grow with the file's size?

On a loop-mounted XFS image made with reflinks (mkfs.xfs -m reflink=1), the
same 64 x 4 KiB block writes are applied to a 512 MiB file and to a 16 MiB
file, alternately; the ratio of the medians is the result (SPEC §7: with
reflinks the cost must not grow with the file's size; target <= 2x). The
naive copy+pwrite program and `cp --reflink=always` are measured on the big
file for reference. Skipped with a message when not root or when mkfs/mount
fail (no loop devices in a container, no XFS module...).
"""
import os
import shutil
import subprocess

import cases
from measure import Side, alternate


def _try(cmd):
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return p.returncode == 0, p.stderr.decode(errors="replace").strip()


def xfs_case(ctx):
    """Returns (Row or None, message, reference Sides)."""
    if os.geteuid() != 0:
        return None, "skipped: mounting a loop XFS image needs root", []
    if not shutil.which("mkfs.xfs"):
        return None, "skipped: mkfs.xfs is not installed (apt-get install xfsprogs)", []
    d = os.path.join(ctx.work, "xfs")
    os.makedirs(d, exist_ok=True)
    image, mnt = os.path.join(d, "xfs.img"), os.path.join(d, "mnt")
    os.makedirs(mnt, exist_ok=True)
    with open(image, "wb") as f:
        f.truncate(2 << 30)
    ok, err = _try(["mkfs.xfs", "-q", "-f", "-m", "reflink=1", image])
    if not ok:
        return None, "skipped: mkfs.xfs failed: " + err, []
    ok, err = _try(["mount", "-o", "loop", image, mnt])
    if not ok:
        return None, "skipped: mount -o loop failed: " + err, []
    try:
        return _measure(ctx, mnt)
    finally:
        subprocess.run(["umount", mnt], check=False)
        os.unlink(image)


def _measure(ctx, mnt):
    sides = {}
    for mib in (512, 16):
        d = os.path.join(mnt, "f%d" % mib)
        target, script = cases.sparse_setup(ctx, d, mib << 20, 64, seed=mib, data_seed=mib)
        sides[mib] = Side("bpatch %d MiB" % mib, [ctx.bpatch, "apply", "-q", "--root",
                                                   os.path.join(d, "tree"), script])
        sides["naive%d" % mib] = Side("naive %d MiB" % mib,
                                      [ctx.naive_copy, target, os.path.join(d, "edits.bin")])
    big = os.path.join(mnt, "f512", "tree", "big.bin")
    clone = os.path.join(mnt, "f512", "clone.bin")
    cp = Side("cp --reflink 512 MiB", ["cp", "--reflink=always", big, clone],
              prep=lambda: os.path.exists(clone) and os.unlink(clone))
    os.sync()
    alternate([sides[512], sides[16]], ctx.rounds, ctx.log)
    refs = [sides["naive512"], sides["naive16"], cp]
    alternate(refs, max(1, ctx.rounds // 2), ctx.log)
    row = cases.Row("XFS reflink: 512 MiB vs 16 MiB file, 64 x 4 KiB writes", sides[512], sides[16],
                    "<= 2x", 2.0, "both sides are bpatch; ratio = big / small")
    return row, "", refs

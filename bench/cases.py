"""The benchmark's head-to-head cases (SPEC §7); each returns a Row.

Every case builds its data under `work`, runs bpatch against a peer A B A B
for `rounds` rounds, verifies the first output of each side, and reports the
medians. Edits whose runs are repeated are idempotent (the same bytes written
again), so a rerun does the same work without a reset; in-place delta
applies reset the target from a synced copy before each run (untimed).
"""
import os
import random
import shutil
import struct
import subprocess

import encoders
import gen
from measure import Side, alternate, copy_synced, same_content


class Row:
    """bpatch (a) against a peer (b); passes when the wall ratio of medians is
    at most `limit` and, with `cpu_limit`, the CPU ratio too."""

    def __init__(self, case, a, b, target, limit, note="", cpu_limit=None):
        self.case, self.a, self.b, self.target, self.limit, self.note = case, a, b, target, limit, note
        self.cpu_limit = cpu_limit

    def ratio(self):
        return self.a.median() / self.b.median()

    def cpu_ratio(self):
        return self.a.cpu_median() / max(self.b.cpu_median(), 1e-6)

    def passed(self):
        return self.ratio() <= self.limit and (self.cpu_limit is None or self.cpu_ratio() <= self.cpu_limit)


def _bp(ctx, *args):
    return [ctx.bpatch, "apply", "-q", *args]


def delta_pair(ctx, size_mib=24):
    """An old/new pair of `size_mib`, its bsdiff and xdelta3 patches. The bsdiff
    patch is the real bsdiff's up to 64 MiB; above, where bsdiff needs 17 bytes
    of RAM per input byte and minutes, encoders.py writes it from the edits."""
    d = os.path.join(ctx.work, "delta%d" % size_mib)
    os.makedirs(os.path.join(d, "tree"), exist_ok=True)
    old, new = os.path.join(d, "old.bin"), os.path.join(d, "new.bin")
    gen.write_binary_like(old, size_mib << 20, seed=24)
    segs = gen.make_edits(size_mib << 20, 16 << 10, seed=25)
    gen.write_new(old, segs, new)
    patch = os.path.join(d, "p.bsdiff")
    if shutil.which("bsdiff") and size_mib <= 64:
        subprocess.run(["bsdiff", old, new, patch], check=True)
    else:  # the same edits, written directly
        encoders.write_bsdiff(old, segs, gen.new_size(segs), patch)
    subprocess.run(["xdelta3", "-e", "-f", "-s", old, new, os.path.join(d, "p.vcdiff")], check=True)
    return d


def delta_rows(ctx, d, formats, have_hpatchz):
    """bsdiff against bspatch, VCDIFF against xdelta3 -d, and both against
    HDiffPatch's hpatchz, bare and with an fsync of its output (bpatch always
    fsyncs), when it is on PATH (not in Debian: build it from its public sources)."""
    peers = {"bsdiff": ("bspatch", ["bspatch", "{old}", "{out}", "{patch}"], 1.0, "<= 1.0x, RSS <= 1/4"),
             "vcdiff": ("xdelta3 -d", ["xdelta3", "-d", "-f", "-s", "{old}", "{patch}", "{out}"], 1.0, "<= 1.0x")}
    hpatchz = ["hpatchz", "-f", "{old}", "{patch}", "{out}"]
    rows = []
    for fmt in formats:
        label, cmd, limit, target = peers[fmt]
        rows.append(delta_case(ctx, d, fmt, label, cmd, limit, target))
        if have_hpatchz:
            rows.append(delta_case(ctx, d, fmt, "hpatchz", hpatchz, 0.9, "<= 0.9x wall and CPU",
                                   cpu_limit=0.9))
            synced = ["sh", "-c", 'hpatchz -f "$0" "$1" "$2" >/dev/null && sync "$2"', "{old}", "{patch}", "{out}"]
            rows.append(delta_case(ctx, d, fmt, "hpatchz+fsync", synced, 0.9, "<= 0.9x wall and CPU",
                                   cpu_limit=0.9))
    return rows


def delta_case(ctx, d, fmt, peer_label, peer_cmd, limit, target, cpu_limit=None):
    old, new = os.path.join(d, "old.bin"), os.path.join(d, "new.bin")
    tgt, out = os.path.join(d, "tree", "target.bin"), os.path.join(d, "peer.out")
    patch = os.path.join(d, "p." + fmt)
    a = Side("bpatch", _bp(ctx, patch, tgt), prep=lambda: copy_synced(old, tgt),
             check=lambda: _verify(tgt, new))
    b = Side(peer_label, [c.format(old=old, patch=patch, out=out) for c in peer_cmd],
             prep=lambda: os.path.exists(out) and os.unlink(out), check=lambda: _verify(out, new))
    alternate([a, b], ctx.rounds, ctx.log)
    size = os.path.getsize(new) / 2**20
    return Row("%s %.0f MiB (patch %d KiB)" % (fmt, size, os.path.getsize(patch) // 1024), a, b, target, limit,
               cpu_limit=cpu_limit)


def _verify(out, expected):
    if not same_content(out, expected):
        raise RuntimeError("%s does not match %s" % (out, expected))


def write_edits(path, blocks):
    with open(path, "wb") as f:
        for off, data in blocks:
            f.write(struct.pack("<QI", off, len(data)) + data)


def sparse_blocks(size, count, block, seed):
    rng = random.Random(seed)
    slots = sorted(rng.sample(range(size // block), count))
    return [(s * block, rng.randbytes(block)) for s in slots]


def sparse_setup(ctx, d, size, count, seed, data_seed):
    """A file of `size` bytes and `count` 4 KiB block writes: script + edit list."""
    os.makedirs(os.path.join(d, "tree"), exist_ok=True)
    target = os.path.join(d, "tree", "big.bin")
    gen.write_binary_like(target, size, seed=data_seed)
    blocks = sparse_blocks(size, count, 4096, seed)
    script = os.path.join(d, "edits.bpatch")
    with open(script, "w") as f:
        f.write("bpatch 1\nedit big.bin\n")
        for off, data in blocks:
            f.write("  write %d hex:%s\n" % (off, data.hex()))
    write_edits(os.path.join(d, "edits.bin"), blocks)
    return target, script


def sparse_case(ctx):
    d = os.path.join(ctx.work, "sparse256")
    target, script = sparse_setup(ctx, d, 256 << 20, 1000, seed=7, data_seed=256)
    a = Side("bpatch", _bp(ctx, "--root", os.path.join(d, "tree"), script))
    b = Side("naive", [ctx.naive_copy, target, os.path.join(d, "edits.bin")])
    alternate([a, b], ctx.rounds, ctx.log)
    return Row("256 MiB file, 1,000 x 4 KiB writes", a, b, "<= 1.0x", 1.0,
               "naive = copy (read/write 1 MiB) + pwrite + fsync + rename + dir fsync")


def many_files_case(ctx, count=2000):
    d = os.path.join(ctx.work, "files")
    root = os.path.join(d, "tree")
    rng = random.Random(2000)
    lines, script = [], ["bpatch 1"]
    for i in range(count):
        rel = "dir%02d/file%04d.dat" % (i % 20, i)
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        size = rng.randint(2, 32) << 10
        with open(path, "wb") as f:
            f.write(rng.randbytes(size))
        off, data = rng.randrange(size - 64), rng.randbytes(16)
        lines.append("%s %d %s" % (rel, off, data.hex()))
        script.append("edit %s\n  write %d hex:%s" % (rel, off, data.hex()))
    with open(os.path.join(d, "list.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(d, "edits.bpatch"), "w") as f:
        f.write("\n".join(script) + "\n")
    os.sync()
    a = Side("bpatch", _bp(ctx, "--root", root, os.path.join(d, "edits.bpatch")))
    b = Side("naive loop", [ctx.naive_files, root, os.path.join(d, "list.txt")])
    alternate([a, b], ctx.files_rounds, ctx.log)  # ~15-50 s a round on a virtual disk
    return Row("%d files (2-32 KiB), 16-byte edit each" % count, a, b, "<= 0.5x", 0.5,
               "naive = per file: temp + fsync + rename + dir fsync")

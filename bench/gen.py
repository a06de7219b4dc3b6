"""Benchmark data: binary-like files, scattered edits, and the patches of them.

A generated "old" file is a mix of blocks that look like the parts of a real
executable or game image: low-entropy code, incompressible resources, zero
padding, string tables and pointer tables. The "new" file is described by a
list of segments over the old one (an edit model), so that every patch format
can be written straight from it without running a slow differ:

  ("copy", old_offset, length)   unchanged bytes of the old file
  ("mod",  old_offset, data)     bytes that replace as many old bytes in place
  ("ins",  data)                 bytes with no counterpart in the old file
  a jump in old_offset between two copy/mod segments is a deletion.

Everything is deterministic for a given seed, and streamed: a 1 GiB pair
never sits in Python's memory.
"""
import array
import mmap
import random

CHUNK = 4 << 20
_WORDS = (b"init config error texture sound player level shader vertex buffer "
          b"update render network socket thread mutex string version archive "
          b"header payload checksum invalid unknown default resource loader").split()


def _code_table(rng):
    # Machine code: a skewed alphabet of ~48 byte values (opcodes, ModRM, 0x00/0xff).
    common = rng.sample(range(256), 48)
    return bytes(common[min(int(rng.expovariate(0.12)), 47)] for _ in range(256))


def write_binary_like(path, size, seed):
    """Writes `size` bytes of binary-like content to `path`."""
    rng = random.Random(seed)
    code = _code_table(rng)
    text = b"\0".join(_WORDS) + b"\0"
    with open(path, "wb") as out:
        left = size
        base = rng.getrandbits(32) & 0xFFFF0000
        while left > 0:
            kind = rng.random()
            n = min(left, rng.choice((512, 1024, 4096, 16384, 65536)) * rng.randint(1, 4))
            if kind < 0.45:
                block = rng.randbytes(n).translate(code)
            elif kind < 0.70:
                block = rng.randbytes(n)
            elif kind < 0.80:
                block = bytes(n)
            elif kind < 0.90:
                block = (text * (n // len(text) + 1))[:n]
            else:
                count = n // 4 + 1
                step = rng.choice((4, 8, 16, 32))
                start = (base + rng.getrandbits(20)) & 0xFFFFFFFF
                stop = min(start + count * step, 0xFFFFFFFF)
                block = array.array("I", range(start, stop, step)).tobytes()
                block = (block + bytes(n))[:n]
            out.write(block)
            left -= n


def make_edits(old_size, spacing, seed):
    """Scattered edits over a file of old_size bytes, one every ~spacing bytes.

    Returns the segment list (see the module comment). The mix: small in-place
    changes (relocated pointers, constants) are most common, then rewritten
    runs, insertions and deletions.
    """
    rng = random.Random(seed)
    segs = []
    pos = 0
    while True:
        gap = max(1, int(rng.expovariate(1.0 / spacing)))
        if pos + gap >= old_size:
            break
        segs.append(("copy", pos, gap))
        pos += gap
        r = rng.random()
        if r < 0.60:
            n = min(rng.choice((1, 2, 4, 4, 4, 8)), old_size - pos)
            segs.append(("mod", pos, rng.randbytes(n)))
            pos += n
        elif r < 0.80:
            n = min(rng.randint(16, 256), old_size - pos)
            segs.append(("mod", pos, rng.randbytes(n)))
            pos += n
        elif r < 0.90:
            segs.append(("ins", rng.randbytes(rng.randint(16, 2048))))
        else:
            pos = min(old_size, pos + rng.randint(16, 2048))  # delete
    if pos < old_size:
        segs.append(("copy", pos, old_size - pos))
    return segs


def new_size(segs):
    return sum(s[2] if s[0] == "copy" else len(s[-1]) for s in segs)


def write_new(old_path, segs, new_path):
    """Writes the file the segments describe."""
    with open(old_path, "rb") as f, open(new_path, "wb") as out:
        old = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if f.seek(0, 2) else b""
        for s in segs:
            if s[0] == "copy":
                off, n = s[1], s[2]
                while n > 0:
                    k = min(n, CHUNK)
                    out.write(old[off:off + k])
                    off += k
                    n -= k
            else:
                out.write(s[-1])


def write_script(segs, old_size, target, script_path):
    """A .bpatch script that turns the old file into the new one with edit ops.

    Ops are in ascending order of the new file's offsets: offsets refer to the
    file as the previous ops left it (SPEC §4), whose prefix is then new.
    """
    with open(script_path, "w") as out:
        out.write("bpatch 1\nedit %s\n" % target)
        newpos = 0
        oldpos = 0
        for s in segs:
            if s[0] in ("copy", "mod") and s[1] != oldpos:
                out.write("  delete %d %d\n" % (newpos, s[1] - oldpos))
                oldpos = s[1]
            if s[0] == "copy":
                newpos += s[2]
                oldpos += s[2]
            elif s[0] == "mod":
                out.write("  write %d hex:%s\n" % (newpos, s[2].hex()))
                newpos += len(s[2])
                oldpos += len(s[2])
            else:
                out.write("  insert %d hex:%s\n" % (newpos, s[1].hex()))
                newpos += len(s[1])
        if oldpos < old_size:
            out.write("  delete %d %d\n" % (newpos, old_size - oldpos))

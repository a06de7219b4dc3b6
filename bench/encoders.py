"""Patch writers for the growth series, straight from gen.py's segment list.

bsdiff (BSDIFF40): what `bsdiff` would emit for these edits, without its
O(n log n) suffix sort, which cannot run on 1 GiB here (17 bytes of RAM per
input byte, tens of minutes):
  "BSDIFF40" ctrl_len:off diff_len:off new_size:off
  bzip2(ctrl) bzip2(diff) bzip2(extra)
  ctrl  := (add:off copy:off seek:off)*   off = 8 bytes LE, sign in bit 63
  Each triple: new += old[pos..+add] + diff[..add]; pos += add;
               new += extra[..copy]; pos += seek.
  Copied and rewritten ranges become diff bytes (new - old mod 256, so
  mostly zeros, as in a real bsdiff patch); insertions become extra bytes;
  deletions a seek.

BPS ("beat", byuu): only SourceRead, TargetRead and SourceCopy:
  "BPS1" source_size:varint target_size:varint metadata_size:varint(0)
  action* source_crc32 target_crc32 patch_crc32   (u32 LE)
  action := ((length - 1) << 2 | kind):varint, kind 0 SourceRead (source at
  the output offset), 1 TargetRead (literal bytes follow), 2 SourceCopy
  (delta:varint, signed as (d >> 1) * (d & 1 ? -1 : 1), moves the source
  cursor, which then advances by length).
"""
import bz2
import mmap
import os
import struct
import zlib

_ZEROS = bytes(1 << 20)


def _off(v):
    return struct.pack("<Q", (-v) | (1 << 63) if v < 0 else v)


def write_bsdiff(old_path, segs, new_size, out_path):
    ctrl = bz2.BZ2Compressor(9)
    diff = bz2.BZ2Compressor(9)
    extra = bz2.BZ2Compressor(9)
    ctrl_out, diff_out, extra_out = [], [], []
    with open(old_path, "rb") as f:
        old = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        add = copy = 0
        old_after = 0  # old position after the current triple's add run
        for s in segs:
            if s[0] == "ins":
                extra_out.append(extra.compress(s[1]))
                copy += len(s[1])
                continue
            off = s[1]
            if copy or off != old_after:  # close the triple, seeking to off
                ctrl_out.append(ctrl.compress(_off(add) + _off(copy) + _off(off - old_after)))
                add = copy = 0
                old_after = off
            if s[0] == "copy":
                n = s[2]
                while n > 0:
                    k = min(n, len(_ZEROS))
                    diff_out.append(diff.compress(memoryview(_ZEROS)[:k]))
                    n -= k
                add += s[2]
                old_after += s[2]
            else:
                data = s[2]
                d = bytes((a - b) & 0xFF for a, b in zip(data, old[off:off + len(data)]))
                diff_out.append(diff.compress(d))
                add += len(data)
                old_after += len(data)
        ctrl_out.append(ctrl.compress(_off(add) + _off(copy) + _off(0)))
    c = b"".join(ctrl_out) + ctrl.flush()
    d = b"".join(diff_out) + diff.flush()
    e = b"".join(extra_out) + extra.flush()
    with open(out_path, "wb") as out:
        out.write(b"BSDIFF40" + _off(len(c)) + _off(len(d)) + _off(new_size))
        out.write(c)
        out.write(d)
        out.write(e)


def _varint(v):
    out = bytearray()
    while True:
        low = v & 0x7F
        v >>= 7
        if v == 0:
            out.append(low | 0x80)
            return bytes(out)
        out.append(low)
        v -= 1


def _file_crc(path):
    crc = 0
    with open(path, "rb") as f:
        while chunk := f.read(4 << 20):
            crc = zlib.crc32(chunk, crc)
    return crc


class _CrcWriter:
    def __init__(self, f):
        self.f, self.crc = f, 0

    def write(self, b):
        self.crc = zlib.crc32(b, self.crc)
        self.f.write(b)


def write_bps(old_path, new_path, segs, out_path):
    old_size = os.path.getsize(old_path)
    new_size = os.path.getsize(new_path)
    with open(out_path, "wb") as f:
        w = _CrcWriter(f)
        w.write(b"BPS1" + _varint(old_size) + _varint(new_size) + _varint(0))
        out_pos = 0
        src_cursor = 0
        for s in segs:
            if s[0] == "copy" and s[2] > 0:
                off, n = s[1], s[2]
                if off == out_pos:
                    w.write(_varint(((n - 1) << 2) | 0))
                else:
                    delta = off - src_cursor
                    w.write(_varint(((n - 1) << 2) | 2) +
                            _varint((-delta << 1) | 1 if delta < 0 else delta << 1))
                    src_cursor = off + n
                out_pos += n
            elif s[0] != "copy":
                data = s[-1]
                w.write(_varint(((len(data) - 1) << 2) | 1) + data)
                out_pos += len(data)
        w.write(struct.pack("<II", _file_crc(old_path), _file_crc(new_path)))
        f.write(struct.pack("<I", w.crc))

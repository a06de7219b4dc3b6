"""Running commands side by side: wall time and peak RSS of each run.

A run is one child process, timed with perf_counter around fork/exec and
reaped with os.wait4, whose rusage gives the child's peak resident set size
(ru_maxrss, KiB). Two sides are measured alternately, A B A B ..., each run
preceded by its side's untimed `prep` (resetting a patched file), so that
machine load drifts onto both sides alike; the report uses medians.
"""
import os
import statistics
import subprocess
import tempfile
import time


class RunError(RuntimeError):
    pass


TIME = "/usr/bin/time"


def run(cmd, cwd=None):
    """Runs cmd (a list, no shell); returns (seconds, peak_rss_kib, cpu_seconds).

    The RSS comes from GNU time's %M when it is installed: the rusage that
    os.wait4 reports for a child of this process would include the pages
    Python's own memory had when it forked (Linux keeps the high-water mark
    across exec). Without /usr/bin/time that larger number is reported.
    """
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as rss_out:
        full = [TIME, "-f", "%M %U %S", "-o", rss_out.name, *cmd] if os.access(TIME, os.X_OK) else list(cmd)
        t0 = time.perf_counter()
        p = subprocess.Popen(full, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        seconds = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0:
            err.seek(0)
            raise RunError("%s exited %d: %s" % (" ".join(map(str, cmd)), p.returncode,
                                                 err.read().decode(errors="replace").strip()))
        text = rss_out.read().split()
        if full[0] == TIME and len(text) >= 3:
            rss, cpu = int(text[-3]), float(text[-2]) + float(text[-1])
        else:
            rss, cpu = ru.ru_maxrss, ru.ru_utime + ru.ru_stime
    return seconds, rss, cpu


class Side:
    """One contestant: a label, a command, an untimed prep and an optional check."""

    def __init__(self, label, cmd, prep=None, check=None, cwd=None):
        self.label, self.cmd, self.prep, self.check, self.cwd = label, cmd, prep, check, cwd
        self.times, self.rss, self.cpu = [], [], []
        self.checked = False

    def once(self):
        if self.prep:
            self.prep()
        t, rss, cpu = run(self.cmd, self.cwd)
        if self.check and not self.checked:
            self.check()  # the first run's output is verified; later ones are the same work
            self.checked = True
        self.times.append(t)
        self.rss.append(rss)
        self.cpu.append(cpu)

    def median(self):
        return statistics.median(self.times)

    def cpu_median(self):
        return statistics.median(self.cpu)

    def peak_rss_mib(self):
        return max(self.rss) / 1024.0


def alternate(sides, rounds, log=None, warmup=1):
    """Runs every side once per round, in order, for `rounds` rounds.

    `warmup` untimed rounds come first (and verify each side's output): the
    first run after generating data pays for cold metadata and the data's
    own writeback, which is not what a case measures.
    """
    for _ in range(warmup):
        for s in sides:
            s.once()
            s.times.pop()
            s.rss.pop()
            s.cpu.pop()
    for r in range(rounds):
        for s in sides:
            s.once()
            if log:
                log(s, r)


def sync_file(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_synced(src, dst):
    """Copies src to dst and makes the copy durable (an untimed reset)."""
    if os.path.exists(dst):
        os.unlink(dst)
    with open(src, "rb") as i, open(dst, "wb") as o:
        left = os.fstat(i.fileno()).st_size
        while left > 0:
            n = os.copy_file_range(i.fileno(), o.fileno(), min(left, 1 << 30))
            if n == 0:
                break
            left -= n
        o.flush()
        os.fsync(o.fileno())


def same_content(a, b):
    with open(a, "rb") as x, open(b, "rb") as y:
        while True:
            p, q = x.read(4 << 20), y.read(4 << 20)
            if p != q:
                return False
            if not p:
                return True


def fs_type(path, with_options=False):
    """The filesystem type of the mount holding path (and its mount options), from /proc/mounts."""
    path = os.path.realpath(path)
    best, kind, opts, dev = "", "?", "", ""
    with open("/proc/mounts") as f:
        for line in f:
            parts = line.split()
            mnt = parts[1].replace("\\040", " ")
            if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                best, kind, opts, dev = mnt, parts[2], parts[3], parts[0]
    if not with_options:
        return kind
    if kind == "ext4" and os.path.isdir("/proc/fs/jbd2"):
        # ext4 without a journal behaves differently (fsync, inode reuse): say so.
        name = os.path.basename(os.path.realpath(dev)) if dev.startswith("/dev/") else dev
        if not any(j.startswith(name + "-") for j in os.listdir("/proc/fs/jbd2")):
            kind += " WITHOUT a journal"
    return "%s, mount options %s" % (kind, opts)

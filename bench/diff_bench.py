#!/usr/bin/env python3
"""bpatch diff against the per-file best of its peers, on real updates.

For each update pair (two versions of a Debian package that the archive
serves, fetched with `apt-get download PKG=VERSION` and unpacked with
`dpkg-deb -x`; or any two directories given with --pair OLD NEW):

  * peers, per changed or new file (a new file is diffed against an empty
    one): `bsdiff`, `xdelta3 -e -9 -D -s OLD` (-D: byte-exact, without
    xdelta3 decompressing .gz inputs and recompressing them, which need not
    give the same bytes back), `zstd -19 --long --patch-from=OLD`;
    "per-file best" is the sum over files of the smallest of the three;
  * `bpatch diff OLD NEW -o BUNDLE` (auto format): wall and CPU time and
    bundle size (the script and every data file);
  * shipping NEW whole: `tar -C NEW -cf - . | zstd -19`;
  * `bpatch apply` of that bundle to a copy of OLD: wall time and peak RSS,
    and a check that the copy is then exactly NEW.

How bytes are counted: the sum of the file sizes (st_size), for the bundle
(its script, packs and data files) as for the peers (one patch file per
changed file, with nothing naming the file it is for, nor its hashes, which
favours the peers). On disk (`du`: allocated blocks, 4 KiB per small file)
both sides are also printed; there a bundle's few packs beat hundreds of
separate patch files by far, so that column is not the one the targets use.
Times: bpatch's wall time against the sum of bsdiff's wall times per file
(each run alone), and CPU (user + sys) against bsdiff's CPU, which a loaded
machine disturbs less.

Prints one table and the ratios the issue sets as targets: bundle <= 1.0x
the per-file best, diff time <= the sum of bsdiff's times on the changed
files, apply peak RSS <= 64 MiB.

    bench/diff_bench.py --bpatch build/bpatch [--work /tmp/diff-bench]
        [--package libssl3=3.0.17-1~deb12u2,3.0.20-1~deb12u2 ...] [--pair OLD NEW]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

DEFAULT_PACKAGES = [
    # (package, old version, new version): point releases Debian 12 serves.
    ("libssl3", "3.0.17-1~deb12u2", "3.0.20-1~deb12u2"),
    ("libcurl4", "7.88.1-10+deb12u5", "7.88.1-10+deb12u15"),
    ("tzdata", "2025b-0+deb12u1", "2026b-0+deb12u1"),
]


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def timed_full(cmd, quiet=False):
    """Runs cmd: (wall seconds, CPU seconds, peak RSS in KiB) of that one child."""
    t = time.monotonic()
    pid = os.fork()
    if pid == 0:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        if quiet:
            os.dup2(devnull, 2)
        os.execvp(cmd[0], cmd)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.monotonic() - t
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def timed_rss(cmd, quiet=False):
    """Runs cmd: (wall seconds, peak RSS in KiB) of that one child."""
    wall, _, rss = timed_full(cmd, quiet)
    return wall, rss


def timed(cmd):
    return timed_full(cmd, quiet=True)[:2]


def fetch_package(work, pkg, version):
    """Unpacks PKG=VERSION (downloaded once into work/debs) and returns the tree."""
    debs = os.path.join(work, "debs")
    os.makedirs(debs, exist_ok=True)
    tree = os.path.join(work, "trees", f"{pkg}_{version}")
    if os.path.isdir(tree):
        return tree
    found = [f for f in os.listdir(debs) if f.startswith(pkg + "_")
             and version.split(":")[-1].replace("~", "%7e") in f.replace("~", "%7e")]
    if not found:
        run(["apt-get", "download", f"{pkg}={version}"], cwd=debs)
        found = [f for f in os.listdir(debs) if f.startswith(pkg + "_")
                 and version.split(":")[-1].replace("~", "%7e") in f.replace("~", "%7e")]
    os.makedirs(tree)
    run(["dpkg-deb", "-x", os.path.join(debs, found[0]), tree])
    return tree


def regular_files(root):
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            if os.path.isfile(p) and not os.path.islink(p):
                out[os.path.relpath(p, root)] = p
    return out


def same(a, b):
    if os.path.getsize(a) != os.path.getsize(b):
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return fa.read() == fb.read()


def peers(old_root, new_root, scratch):
    """Per-file sizes and times of bsdiff, xdelta3 -9 and zstd --patch-from."""
    empty = os.path.join(scratch, "empty")
    open(empty, "wb").close()
    old_files = regular_files(old_root)
    totals = {"bsdiff": [0, 0.0, 0.0, 0], "xdelta3": [0, 0.0, 0.0, 0], "zstd": [0, 0.0, 0.0, 0]}
    best = 0
    best_du = 0
    changed = 0
    patch = os.path.join(scratch, "p")
    for rel, new in sorted(regular_files(new_root).items()):
        old = old_files.get(rel, empty)
        if old != empty and same(old, new):
            continue
        changed += 1
        sizes = {}
        for name, cmd in (
            ("bsdiff", ["bsdiff", old, new, patch]),
            ("xdelta3", ["xdelta3", "-e", "-9", "-D", "-f", "-s", old, new, patch]),
            ("zstd", ["zstd", "-q", "-f", "-19", "--long=31", f"--patch-from={old}", new, "-o",
                      patch]),
        ):
            if os.path.exists(patch):
                os.unlink(patch)
            secs, cpu = timed(cmd)
            sizes[name] = os.path.getsize(patch)
            totals[name][0] += sizes[name]
            totals[name][1] += secs
            totals[name][2] += cpu
            totals[name][3] += on_disk(patch)
        best_name = min(sizes, key=sizes.get)
        best += sizes[best_name]
        best_du += 4096 * ((sizes[best_name] + 4095) // 4096)
    return totals, best, best_du, changed


def on_disk(path):
    return os.stat(path).st_blocks * 512


def tree_bytes(root):
    return sum(os.path.getsize(p) for p in regular_files(root).values())


def tree_du(root):
    return sum(on_disk(p) for p in regular_files(root).values())


def tree_state(root):
    """Path -> (kind, content or link text, mode), for an exact comparison."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            if rel == ".bpatch" or rel.startswith(".bpatch/"):
                continue
            st = os.lstat(p)
            if os.path.islink(p):
                out[rel] = ("link", os.readlink(p), 0)
            elif os.path.isdir(p):
                out[rel] = ("dir", "", st.st_mode & 0o7777)
            else:
                with open(p, "rb") as f:
                    out[rel] = ("file", f.read(), st.st_mode & 0o7777)
    return out


def bench_pair(label, old_root, new_root, bpatch, scratch):
    totals, best, best_du, changed = peers(old_root, new_root, scratch)
    bundle = os.path.join(scratch, "bundle")
    shutil.rmtree(bundle, ignore_errors=True)
    diff_secs, diff_cpu, diff_rss = timed_full([bpatch, "diff", "-q", old_root, new_root, "-o", bundle])
    bundle_size = tree_bytes(bundle)
    bundle_du = tree_du(bundle)

    tar_zst = os.path.join(scratch, "new.tar.zst")
    with open(tar_zst, "wb") as out:
        tar = subprocess.Popen(["tar", "-C", new_root, "-cf", "-", "."], stdout=subprocess.PIPE)
        subprocess.run(["zstd", "-q", "-19", "-c"], stdin=tar.stdout, stdout=out, check=True)
        tar.wait()
    tar_size = os.path.getsize(tar_zst)

    # Apply the same bundle to a copy of OLD; the copy must then be NEW.
    copy = os.path.join(scratch, "tree")
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(old_root, copy, symlinks=True)
    apply_secs, apply_rss = timed_rss([bpatch, "apply", "-q", bundle, "--root", copy])
    exact = tree_state(copy) == tree_state(new_root)

    bsdiff_secs, bsdiff_cpu = totals["bsdiff"][1], totals["bsdiff"][2]
    print(f"\n== {label}: {changed} changed/new files, NEW is {tree_bytes(new_root)} bytes")
    print(f"{'tool':<28}{'bytes':>12}{'du bytes':>12}{'seconds':>10}{'cpu s':>8}")
    for name, (size, secs, cpu, du) in totals.items():
        print(f"{name + ' (per file)':<28}{size:>12}{du:>12}{secs:>10.2f}{cpu:>8.2f}")
    print(f"{'per-file best of the peers':<28}{best:>12}{best_du:>12}")
    print(f"{'bpatch diff (auto)':<28}{bundle_size:>12}{bundle_du:>12}{diff_secs:>10.2f}{diff_cpu:>8.2f}"
          f"   peak RSS {diff_rss // 1024} MiB")
    print(f"{'tar | zstd -19':<28}{tar_size:>12}")
    print(f"{'bpatch apply':<28}{'':>12}{'':>12}{apply_secs:>10.2f}   peak RSS {apply_rss // 1024} MiB"
          f"   result {'exactly NEW' if exact else 'DIFFERS FROM NEW'}")
    print(f"ratios: bundle/best {bundle_size / max(best, 1):.3f} (du {bundle_du / max(best_du, 1):.3f})  "
          f"bundle/tar.zst {bundle_size / max(tar_size, 1):.3f}  "
          f"diff time/sum bsdiff {diff_secs / max(bsdiff_secs, 1e-9):.2f} (cpu {diff_cpu / max(bsdiff_cpu, 1e-9):.2f})  "
          f"apply RSS {apply_rss // 1024} MiB")
    return bundle_size, best, diff_secs, bsdiff_secs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bpatch", default="build/bpatch")
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "bpatch-diff-bench"))
    ap.add_argument("--package", action="append", default=[],
                    help="PKG=OLDVERSION,NEWVERSION (default: a few Debian 12 point releases)")
    ap.add_argument("--pair", nargs=2, action="append", default=[], metavar=("OLD", "NEW"))
    args = ap.parse_args()
    bpatch = os.path.abspath(args.bpatch)
    for tool in ("bsdiff", "xdelta3", "zstd", "tar", "dpkg-deb"):
        if not shutil.which(tool):
            sys.exit(f"diff_bench: {tool} is needed (.ci/install-deps installs it)")
    packages = DEFAULT_PACKAGES if not args.package and not args.pair else []
    for spec in args.package:
        pkg, versions = spec.split("=", 1)
        old, new = versions.split(",")
        packages.append((pkg, old, new))
    pairs = [(f"{p} {o} -> {n}", fetch_package(args.work, p, o), fetch_package(args.work, p, n))
             for p, o, n in packages]
    pairs += [(f"{o} -> {n}", os.path.abspath(o), os.path.abspath(n)) for o, n in args.pair]
    totals = [0, 0, 0.0, 0.0]
    for label, old, new in pairs:
        scratch = os.path.join(args.work, "scratch")
        shutil.rmtree(scratch, ignore_errors=True)
        os.makedirs(scratch)
        for i, v in enumerate(bench_pair(label, old, new, bpatch, scratch)):
            totals[i] += v
    if len(pairs) > 1:
        print(f"\nall pairs: bundle/best {totals[0] / max(totals[1], 1):.3f}  "
              f"diff time/sum bsdiff {totals[2] / max(totals[3], 1e-9):.2f}")


if __name__ == "__main__":
    main()

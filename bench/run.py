#!/usr/bin/env python3
"""bpatch's benchmark (SPEC §7): bpatch against its peers, side by side.

  python3 bench/run.py [--quick] [--out bench/results] [--bpatch PATH]
                       [--work DIR] [--rounds N] [--keep] [--only CASE,...]

Generates its data in a temp dir (under --work, else $TMPDIR, else /var/tmp:
on disk, not tmpfs, so fsync costs what it costs), runs bpatch and each peer
alternately for several rounds, prints a table of medians, ratios and peak
RSS, and writes results.md, results.csv and growth.png into --out.
Cases: bsdiff, vcdiff, sparse, files, xfs, growth. Python 3 stdlib, a C
compiler, bsdiff/bspatch, xdelta3, gnuplot; xfsprogs and root for the XFS case.
"""
import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases  # noqa: E402
import growth  # noqa: E402
import report  # noqa: E402
import xfs  # noqa: E402
from measure import fs_type  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
ALL = ("bsdiff", "vcdiff", "sparse", "files", "xfs", "growth")  # bsdiff/vcdiff: 24 and 256 MiB


def find_bpatch(explicit):
    if explicit:
        return os.path.abspath(explicit)
    for b in ("build-bench", "build"):
        p = os.path.join(REPO, b, "bpatch")
        if os.access(p, os.X_OK):
            return p
    build = os.path.join(REPO, "build-bench")
    print("building bpatch (Release) in %s ..." % build, file=sys.stderr)
    subprocess.run(["cmake", "-S", REPO, "-B", build, "-DCMAKE_BUILD_TYPE=Release"], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", build, "-j2", "--target", "bpatch_cli"], check=True,
                   stdout=subprocess.DEVNULL)
    return os.path.join(build, "bpatch")


def compile_c(work, name):
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    exe = os.path.join(work, name)
    subprocess.run([cc, "-O2", "-o", exe, os.path.join(HERE, name + ".c")], check=True)
    return exe


class Ctx:
    pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds, growth series up to 64 MiB")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--bpatch", help="bpatch binary (default: build-bench/bpatch, built if missing)")
    ap.add_argument("--work", help="directory for the temp data dir (default $TMPDIR or /var/tmp)")
    ap.add_argument("--rounds", type=int, help="rounds per head-to-head case (default 9, quick 3)")
    ap.add_argument("--keep", action="store_true", help="keep the generated data")
    ap.add_argument("--only", help="comma-separated subset of: " + ",".join(ALL))
    args = ap.parse_args()
    only = args.only.split(",") if args.only else list(ALL)
    for name in only:
        if name not in ALL:
            ap.error("unknown case %r" % name)

    for tool in ("bspatch", "bsdiff", "xdelta3"):
        if not shutil.which(tool):
            sys.exit("run.py: %s is not installed (apt-get install bsdiff xdelta3)" % tool)
    base = args.work or os.environ.get("TMPDIR") or "/var/tmp"
    ctx = Ctx()
    ctx.quick = args.quick
    ctx.rounds = args.rounds or (3 if args.quick else 9)
    ctx.files_rounds = min(ctx.rounds, 1 if args.quick else 5)
    ctx.bpatch = find_bpatch(args.bpatch)
    ctx.work = tempfile.mkdtemp(prefix="bpatch-bench-", dir=base)
    kind = fs_type(ctx.work)
    print("data in %s (%s)%s" % (ctx.work, kind, "  WARNING: tmpfs, fsync is free here" if kind == "tmpfs" else ""))
    ctx.naive_copy = compile_c(ctx.work, "naive_copy_pwrite")
    ctx.naive_files = compile_c(ctx.work, "naive_per_file")
    ctx.log = lambda side, r: print("  %-28s round %d: %7.3f s  %8.1f MiB" %
                                    (side.label, r + 1, side.times[-1], side.rss[-1] / 1024),
                                    file=sys.stderr, flush=True)
    env = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "host": "%s, %d CPUs, %s" % (platform.machine(), os.cpu_count(), platform.release()),
        "load_start": "%.2f %.2f %.2f" % os.getloadavg(),
        "fs": "%s (%s)" % (fs_type(ctx.work, with_options=True), ctx.work),
        "bpatch": ctx.bpatch,
        "mode": "quick" if args.quick else "full",
        "rounds": ctx.rounds,
    }
    print("load average at start: %s" % env["load_start"])
    rows, notes, refs, grown = [], [], [], {}
    t0 = time.time()
    try:
        if "bsdiff" in only or "vcdiff" in only:
            have_hpatchz = shutil.which("hpatchz") is not None
            if not have_hpatchz:
                notes.append("hpatchz is not on PATH: its bsdiff/vcdiff rows are skipped")
                print("hpatchz is not on PATH: skipping the hpatchz peer", file=sys.stderr)
            for mib in (24,) if args.quick else (24, 256):
                print("== generating the %d MiB pair and its bsdiff/xdelta3 patches" % mib, file=sys.stderr)
                d = cases.delta_pair(ctx, mib)
                rows.extend(cases.delta_rows(ctx, d, [f for f in ("bsdiff", "vcdiff") if f in only],
                                             have_hpatchz))
                shutil.rmtree(d)
        if "sparse" in only:
            print("== 256 MiB sparse writes", file=sys.stderr)
            rows.append(cases.sparse_case(ctx))
        if "files" in only:
            print("== 2,000-file transaction", file=sys.stderr)
            rows.append(cases.many_files_case(ctx))
        if "xfs" in only:
            print("== XFS reflinks", file=sys.stderr)
            row, msg, refs = xfs.xfs_case(ctx)
            if row:
                rows.append(row)
            else:
                notes.append("XFS case " + msg)
                print("XFS case " + msg)
        if "growth" in only:
            for mib in growth.sizes(args.quick):
                print("== growth %d MiB" % mib, file=sys.stderr)
                grown[mib] = growth.one_size(ctx, mib)
    finally:
        if not args.keep:
            shutil.rmtree(ctx.work, ignore_errors=True)
    env["load_end"] = "%.2f %.2f %.2f" % os.getloadavg()
    env["elapsed"] = "%.0f s" % (time.time() - t0)
    os.makedirs(args.out, exist_ok=True)
    if grown:
        err = growth.plot(grown, os.path.join(args.out, "growth.png"), args.out)
        if err:
            notes.append(err)
    text = report.render(env, rows, refs, grown, notes)
    print(report.table(rows, refs))
    if grown:
        print(report.growth_table(grown))
    print("load average at end: %s; elapsed %s" % (env["load_end"], env["elapsed"]))
    report.write(args.out, env, rows, refs, grown, text)
    print("wrote %s" % os.path.join(args.out, "results.md"))


if __name__ == "__main__":
    main()

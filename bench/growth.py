"""Growth series: apply time and peak RSS as the file grows 1 MiB -> 1 GiB.

For each size: a binary-like old file, scattered edits (one per ~16 KiB:
small in-place changes, rewritten runs, insertions, deletions), and their
patches: bsdiff (written by encoders.py from the edits, since bsdiff itself
needs 17 bytes of RAM per input byte), VCDIFF (xdelta3 -e, defaults), BPS
(encoders.py) and an edit script (one idempotent 4 KiB write per MiB).
Deltas are applied with `-o` to a fresh output (the old file stays, so no
reset copy is needed); bspatch and xdelta3 -d run alongside for reference.
"""
import os
import shutil
import subprocess

import cases
import encoders
import gen
from measure import Side, alternate, same_content

SERIES = ("bsdiff", "vcdiff", "bps", "edits", "bspatch", "xdelta3 -d")


def sizes(quick):
    full = [1, 4, 16, 64, 256, 1024]
    return [s for s in full if s <= 64] if quick else full


def rounds_for(ctx, mib):
    return min(ctx.rounds, 5) if mib <= 64 else (3 if mib <= 256 else 2)


def one_size(ctx, mib):
    """Returns {series: (median seconds, peak RSS MiB)} for one file size."""
    d = os.path.join(ctx.work, "growth%d" % mib)
    os.makedirs(os.path.join(d, "tree"), exist_ok=True)
    size = mib << 20
    old, new, out = (os.path.join(d, n) for n in ("old.bin", "new.bin", "out.bin"))
    gen.write_binary_like(old, size, seed=mib)
    segs = gen.make_edits(size, 16 << 10, seed=mib + 1)
    gen.write_new(old, segs, new)
    encoders.write_bsdiff(old, segs, gen.new_size(segs), os.path.join(d, "p.bsdiff"))
    encoders.write_bps(old, new, segs, os.path.join(d, "p.bps"))
    subprocess.run(["xdelta3", "-e", "-f", "-s", old, new, os.path.join(d, "p.vcdiff")], check=True)
    target, script = cases.sparse_setup(ctx, os.path.join(d, "edits"), size, max(1, mib), seed=mib,
                                        data_seed=mib + 2)

    def reset():
        if os.path.exists(out):
            os.unlink(out)

    def verify():
        if not same_content(out, new):
            raise RuntimeError("growth %d MiB: wrong output" % mib)

    sides = {
        "bsdiff": Side("bpatch bsdiff %d MiB" % mib,
                       [ctx.bpatch, "apply", "-q", os.path.join(d, "p.bsdiff"), old, "-o", out],
                       prep=reset, check=verify),
        "vcdiff": Side("bpatch vcdiff %d MiB" % mib,
                       [ctx.bpatch, "apply", "-q", os.path.join(d, "p.vcdiff"), old, "-o", out],
                       prep=reset, check=verify),
        "bps": Side("bpatch bps %d MiB" % mib,
                    [ctx.bpatch, "apply", "-q", os.path.join(d, "p.bps"), old, "-o", out],
                    prep=reset, check=verify),
        "edits": Side("bpatch edits %d MiB" % mib,
                      [ctx.bpatch, "apply", "-q", "--root", os.path.join(d, "edits", "tree"), script]),
        "bspatch": Side("bspatch %d MiB" % mib, ["bspatch", old, out, os.path.join(d, "p.bsdiff")],
                        prep=reset, check=verify),
        "xdelta3 -d": Side("xdelta3 -d %d MiB" % mib,
                           ["xdelta3", "-d", "-f", "-s", old, os.path.join(d, "p.vcdiff"), out],
                           prep=reset, check=verify),
    }
    os.sync()
    alternate([sides[s] for s in SERIES], rounds_for(ctx, mib), ctx.log, warmup=1 if mib <= 256 else 0)
    shutil.rmtree(d)
    return {s: (sides[s].median(), sides[s].peak_rss_mib()) for s in SERIES}


def plot(results, png, gnuplot_dir):
    """Draws time and peak RSS against size with gnuplot; returns an error text or ''."""
    if not shutil.which("gnuplot"):
        return "gnuplot not installed: no plot"
    dat = os.path.join(gnuplot_dir, "growth.dat")
    with open(dat, "w") as f:
        f.write("# MiB " + " ".join('"%s_s" "%s_MiB"' % (s, s) for s in SERIES) + "\n")
        for mib in sorted(results):
            f.write("%d %s\n" % (mib, " ".join("%.4f %.1f" % results[mib][s] for s in SERIES)))
    styles = ["lw 2 pt 7 lc rgb '#7b2cbf'", "lw 2 pt 5 lc rgb '#1b9e77'", "lw 2 pt 9 lc rgb '#377eb8'",
              "lw 2 pt 11 lc rgb '#e6550d'", "dt 2 lw 2 pt 6 lc rgb '#7b2cbf'", "dt 2 lw 2 pt 4 lc rgb '#1b9e77'"]

    def plots(col):
        return ", ".join("'%s' using 1:%d with linespoints %s title '%s'" %
                         (dat, 2 + 2 * i + col, styles[i], ("bpatch " if i < 4 else "") + s)
                         for i, s in enumerate(SERIES))

    gp = os.path.join(gnuplot_dir, "growth.gp")
    with open(gp, "w") as f:
        f.write("""set terminal pngcairo size 1300,520 font 'sans,10'
set output '%s'
set multiplot layout 1,2 title 'bpatch apply as the file grows (an edit per 16 KiB on average; bpatch fsyncs, the peers do not)'
set logscale x 2
set logscale y 10
set grid
set key top left
set xlabel 'file size (MiB)'
set ylabel 'wall time (s, median)'
set title 'apply time'
plot %s
set ylabel 'peak RSS (MiB)'
set title 'peak resident memory'
plot %s
unset multiplot
""" % (png, plots(0), plots(1)))
    p = subprocess.run(["gnuplot", gp], stderr=subprocess.PIPE)
    if p.returncode != 0 and b"pngcairo" in p.stderr:  # gnuplot-nox may lack cairo
        with open(gp) as f:
            text = f.read().replace("pngcairo size 1300,520 font 'sans,10'", "png size 1300,520")
        with open(gp, "w") as f:
            f.write(text)
        p = subprocess.run(["gnuplot", gp], stderr=subprocess.PIPE)
    return "" if p.returncode == 0 else "gnuplot failed: " + p.stderr.decode(errors="replace")

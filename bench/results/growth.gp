set terminal pngcairo size 1300,520 font 'sans,10'
set output '/work/main/bench/results/growth.png'
set multiplot layout 1,2 title 'bpatch apply as the file grows (an edit per 16 KiB on average; bpatch fsyncs, the peers do not)'
set logscale x 2
set logscale y 10
set grid
set key top left
set xlabel 'file size (MiB)'
set ylabel 'wall time (s, median)'
set title 'apply time'
plot '/work/main/bench/results/growth.dat' using 1:2 with linespoints lw 2 pt 7 lc rgb '#7b2cbf' title 'bpatch bsdiff', '/work/main/bench/results/growth.dat' using 1:4 with linespoints lw 2 pt 5 lc rgb '#1b9e77' title 'bpatch vcdiff', '/work/main/bench/results/growth.dat' using 1:6 with linespoints lw 2 pt 9 lc rgb '#377eb8' title 'bpatch bps', '/work/main/bench/results/growth.dat' using 1:8 with linespoints lw 2 pt 11 lc rgb '#e6550d' title 'bpatch edits', '/work/main/bench/results/growth.dat' using 1:10 with linespoints dt 2 lw 2 pt 6 lc rgb '#7b2cbf' title 'bspatch', '/work/main/bench/results/growth.dat' using 1:12 with linespoints dt 2 lw 2 pt 4 lc rgb '#1b9e77' title 'xdelta3 -d'
set ylabel 'peak RSS (MiB)'
set title 'peak resident memory'
plot '/work/main/bench/results/growth.dat' using 1:3 with linespoints lw 2 pt 7 lc rgb '#7b2cbf' title 'bpatch bsdiff', '/work/main/bench/results/growth.dat' using 1:5 with linespoints lw 2 pt 5 lc rgb '#1b9e77' title 'bpatch vcdiff', '/work/main/bench/results/growth.dat' using 1:7 with linespoints lw 2 pt 9 lc rgb '#377eb8' title 'bpatch bps', '/work/main/bench/results/growth.dat' using 1:9 with linespoints lw 2 pt 11 lc rgb '#e6550d' title 'bpatch edits', '/work/main/bench/results/growth.dat' using 1:11 with linespoints dt 2 lw 2 pt 6 lc rgb '#7b2cbf' title 'bspatch', '/work/main/bench/results/growth.dat' using 1:13 with linespoints dt 2 lw 2 pt 4 lc rgb '#1b9e77' title 'xdelta3 -d'
unset multiplot

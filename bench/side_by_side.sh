#!/bin/sh
# side_by_side.sh - libautoenc's bench programs and the same work in
# PyTorch and scikit-learn (torch_side_by_side.py), in alternating runs on
# the same machine, best of each; prints one table of ratios.  Needs
# Debian's python3-torch, python3-sklearn and python3-numpy for
# /usr/bin/python3, and a build with the benchmarks.
#
# The rows, the seed shapes first: experiment 1's deep autoencoder
# (dense_epoch), experiment 2's one-hidden-layer models (shallow_h*),
# experiment 3's sparse 1024 model (sparse1024), experiment 7's conv
# model, inference latency at batch 1, 8 and 64, and PCA-30.
#
#   bench/side_by_side.sh [BUILD_DIR [ROUNDS]]     (default: build 3)
#
# THREADS (default 2) is the thread count of both sides: ae_set_threads
# for libautoenc, torch.set_num_threads for PyTorch, whose OpenBLAS (used
# by numpy) is kept to one thread beside torch's, and OPENBLAS_NUM_THREADS
# for scikit-learn's PCA, run on its own.  The pca_mse_randomized row
# gives the two reconstruction errors (the smallest seen) and their
# difference, not times.  The ratio is
# PyTorch's time over libautoenc's: above 1, libautoenc is faster.  The
# machines are shared: each side's best of ROUNDS is kept, and the two
# sides take turns so that both meet the same neighbours.
set -eu
build=${1:-build}
rounds=${2:-3}
threads=${THREADS:-2}
here=$(cd "$(dirname "$0")" && pwd)
data=${DATA:-/usr/share/datasets/fashion-mnist}
py=/usr/bin/python3
# Without them every PyTorch row would be empty: say so instead.
if ! "$py" -c 'import torch, sklearn, numpy' 2>/dev/null; then
    echo "side_by_side.sh: $py cannot import torch, sklearn and numpy" \
         "(apt-get install python3-torch python3-sklearn)" >&2
    exit 1
fi
out=$(mktemp)
blas=$(mktemp) # the BLAS bench_train names in its first line
trap 'rm -f "$out" "$blas"' EXIT

lib_round() {
    "$build/bench/bench_train" --threads "$threads" --data "$data" \
        --only dense --images 20000 |
        awk -v blas="$blas" '
            NR == 1 { sub(/^[^,]*, [^,]*, /, ""); sub(/, data .*/, "")
                      print > blas }
            /^dense AE epoch/ { print "lib dense_epoch", $6 }'
    "$build/bench/bench_train" --threads "$threads" --data "$data" \
        --only shallow --images 20000 |
        awk '/^shallow h[0-9]+ epoch/ { print "lib shallow_" $2 "_epoch", $6 }'
    "$build/bench/bench_train" --threads "$threads" --data "$data" \
        --only sparse --images 20000 |
        awk '/^sparse 1024 epoch/ { print "lib sparse1024_epoch", $6 }'
    "$build/bench/bench_train" --threads "$threads" --data "$data" \
        --only conv --images 10000 |
        awk '/^conv AE epoch/ { print "lib conv_epoch", $6 }'
    "$build/bench/bench_infer" --threads "$threads" |
        awk '/batch +[0-9]+:/ { b = $4; sub(":", "", b);
                                 print "lib " $2 "_us_b" b, $5 }'
    "$build/bench/bench_train" --threads "$threads" --data "$data" \
        --only pca | awk '/^PCA-30 fit/ { print "lib pca_fit", $3 }'
    "$build/bench/bench_train" --threads "$threads" --data "$data" \
        --only pca --pca-solver randomized |
        awk '/^PCA-30 fit, randomized/ { print "lib pca_fit_randomized", $4 }
             /reconstruction MSE/ { print "lib pca_mse_randomized", $4 }'
}

torch_round() {
    OPENBLAS_NUM_THREADS=1 "$py" "$here/torch_side_by_side.py" \
        --threads "$threads" --data "$data" --images 10000 \
        --dense-images 20000 --only dense,shallow,sparse,conv,latency |
        awk '{ print "torch", $1, $2 }'
    # scikit-learn's PCA is numpy and OpenBLAS alone: give OpenBLAS the
    # library's thread count.  Its one fit is set against both of the
    # library's solvers.
    OPENBLAS_NUM_THREADS="$threads" "$py" "$here/torch_side_by_side.py" \
        --threads "$threads" --data "$data" --only pca |
        awk '/^pca_fit/ { print "torch pca_fit", $2
                          print "torch pca_fit_randomized", $2 }
             /^pca_mse/ { print "torch pca_mse_randomized", $2 }'
}

r=0
while [ "$r" -lt "$rounds" ]; do
    lib_round >>"$out"
    torch_round >>"$out"
    r=$((r + 1))
done

echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $threads threads, best of $rounds alternating rounds"
# Both sides' OpenBLAS (PyTorch's dense layers use it too, its convolutions
# oneDNN) run the kernels OPENBLAS_CORETYPE names, or the ones it picks.
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)}; libautoenc's BLAS: $(cat "$blas")"
awk '
    { key = $2; v = $3 + 0
      if (!(($1, key) in best) || v < best[$1, key]) best[$1, key] = v
      if (!(key in seen)) { seen[key] = 1; order[n++] = key } }
    END {
      printf "%-19s %12s %12s %8s\n", "work", "libautoenc", "PyTorch", "ratio"
      for (i = 0; i < n; i++) {
        k = order[i]
        unit = k ~ /_us_/ ? " us" : " s"
        if (!((("lib", k) in best) && (("torch", k) in best)))
          continue
        if (k ~ /_mse/)   # errors, not times: both, and their difference
          printf "%-19s %12.10f %12.10f   diff %.2g\n", k, best["lib", k],
                 best["torch", k], best["lib", k] - best["torch", k]
        else
          printf "%-19s %10.3f%s %10.3f%s %7.2fx\n", k, best["lib", k], unit,
                 best["torch", k], unit, best["torch", k] / best["lib", k]
      }
    }' "$out"

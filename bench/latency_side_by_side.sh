#!/bin/sh
# latency_side_by_side.sh - one-image and small-batch inference latency of
# libautoenc (bench_infer) and PyTorch (torch_side_by_side.py --only
# latency), at 1 and 2 threads, in alternating rounds, best of each; with
# a second build directory (another commit's build), that build's
# bench_infer takes its turn too, for before/after ratios in the same run.
#
#   bench/latency_side_by_side.sh [BUILD_DIR [BASE_BUILD_DIR [ROUNDS]]]
#
# Prints "side threads model_bBATCH microseconds-per-image" for the best
# round of each, side being new, base or torch; at one thread also
# dense_sgemv_b1 and dense_read_b1, the dense model's weights through
# BLAS's sgemv alone and only read (the floors under its one-image
# latency).  Needs Debian's
# python3-torch for /usr/bin/python3.  The machines are shared: write down
# the load (uptime) with the figures.
set -eu
build=${1:-build}
base=${2:-}
rounds=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    echo "latency_side_by_side.sh: /usr/bin/python3 cannot import torch" \
         "(apt-get install python3-torch)" >&2
    exit 1
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT

lib_round() { # side build threads
    "$2/bench/bench_infer" --threads "$3" --reps 3 |
        awk -v s="$1" -v t="$3" '/sgemv alone/ { print s, t, $2 "_sgemv_b1", $7; next }
                                 /weights read/ { print s, t, $2 "_read_b1", $7; next }
                                 /batch +[0-9]+:/ { b = $4; sub(":", "", b);
                                  print s, t, $2 "_b" b, $5 }'
}

for t in 1 2; do
    r=0
    while [ "$r" -lt "$rounds" ]; do
        lib_round new "$build" "$t" >>"$out"
        [ -n "$base" ] && lib_round base "$base" "$t" >>"$out"
        OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "$here/torch_side_by_side.py" \
            --threads "$t" --only latency |
            awk -v t="$t" '{ k = $1; sub("_us", "", k); print "torch", t, k, $2 }' \
            >>"$out"
        r=$((r + 1))
    done
done
awk '{ k = $1 " " $2 " " $3; if (!(k in b) || $4 < b[k]) b[k] = $4 }
     END { for (k in b) print k, b[k] }' "$out" | sort -k2,2 -k3,3 -k1,1

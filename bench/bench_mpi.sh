#!/usr/bin/env bash
# bench_mpi.sh - the machine's two cores used two ways for one epoch:
# 1 rank x 2 threads against 2 ranks x 1 thread (libautoenc-mpi over
# shared memory), runs alternated, best of each, for experiment 1's dense
# model and experiment 7's conv model.  Prints bench_mpi's lines and, per
# model, the ratio of the two epoch times.
#
# usage: bench_mpi.sh BUILD_DIR [REPEATS] [extra bench_mpi options]
set -euo pipefail
build=${1:-build}
repeats=${2:-3}
shift $(( $# > 2 ? 2 : $# )) || true
mpi=(mpirun --oversubscribe --allow-run-as-root --bind-to none
     --mca btl self,vader --mca btl_vader_single_copy_mechanism none)
for model in dense conv; do
  images=20000
  [ "$model" = conv ] && images=5000
  best1= best2=
  for _ in $(seq "$repeats"); do
    for ranks in 1 2; do
      threads=$((2 / ranks))
      line=$("${mpi[@]}" -np "$ranks" "$build/bench/bench_mpi" --model "$model" \
        --images "$images" --threads "$threads" "$@")
      echo "$line"
      s=$(sed -n 's/.*: epoch \([0-9.]*\) s.*/\1/p' <<<"$line")
      if [ "$ranks" = 1 ]; then
        best1=$(awk -v a="${best1:-1e9}" -v b="$s" 'BEGIN{print (b<a)?b:a}')
      else
        best2=$(awk -v a="${best2:-1e9}" -v b="$s" 'BEGIN{print (b<a)?b:a}')
      fi
    done
  done
  awk -v m="$model" -v a="$best1" -v b="$best2" 'BEGIN{printf "%s: best epoch 1x2 %.3f s, 2x1 %.3f s: 2 ranks take %.2fx the time of 1\n", m, a, b, b/a}'
done

#!/usr/bin/env bash
# example_npy_test.sh - the .npy files the example programs write beside
# their figures load in NumPy (Debian's python3-numpy), with finite values.
#
# usage: example_npy_test.sh BUILD_ROOT NPY_TOOL MNIST_DIR
set -euo pipefail
build=$1 npy_tool=$2 data=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for e in exp1_pca_vs_autoencoder exp5_manifold exp8_vae; do
  "$build/examples/$e" --quick --data "$data" --out "$work/$e" >/dev/null
done
exec /usr/bin/python3 "$(dirname "$0")/npy_numpy_test.py" "$npy_tool" \
  "$work/exp1_pca_vs_autoencoder" "$work/exp5_manifold" "$work/exp8_vae"

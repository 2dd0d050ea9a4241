#!/usr/bin/env bash
# Run every experiment program on the default data and gather their results
# in report/.  Arguments are passed on to each program (e.g. --quick,
# --data DIR, --epochs N, --threads N).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
report=${REPORT_DIR:-report}
mkdir -p "$report"

experiments=(exp1_pca_vs_autoencoder exp2_hidden_sizes exp3_sparse
             exp4_denoising exp5_manifold exp6_conv_decoders exp7_conv_denoising
             exp8_vae)
for e in "${experiments[@]}"; do
  echo "== $e"
  "$build/examples/$e" --out "$report/$e" "$@" | tee "$report/$e.txt"
done

# One self-contained page with every figure and table, and one JSON array
# of every experiment's numbers.
"$build/examples/make_report" "$report"

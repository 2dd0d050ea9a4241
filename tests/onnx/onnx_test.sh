#!/usr/bin/env bash
# onnx_test.sh - the ONNX files the library exports, run in ONNX Runtime
# and compared with the library's own outputs (onnx_cases.c writes the
# files, inputs and expected outputs; run_onnx.js runs and compares them).
#
# usage: onnx_test.sh ONNX_CASES
#
# Needs node and the onnxruntime-node package installed beside this
# script (npm ci --ignore-scripts --prefix tests/onnx; .ci/setup does it).
# Without them the test is skipped (exit 77), except in CI (CI set), where
# it fails.
set -uo pipefail
cases=$1
here=$(cd "$(dirname "$0")" && pwd)

missing() {
    if [ -n "${CI:-}" ]; then
        echo "FAIL: $1 (CI is set, so the ONNX Runtime check must run;" \
             "bash .ci/setup installs it)"
        exit 1
    fi
    echo "skip: $1; install it with: npm ci --ignore-scripts --prefix tests/onnx"
    exit 77
}

command -v node >/dev/null || missing "node is not installed"
node -e "require.resolve('onnxruntime-node', {paths: ['$here']})" \
    >/dev/null 2>&1 || missing "onnxruntime-node is not installed in $here/node_modules"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$cases" "$work" || { echo "FAIL: onnx_cases could not write the files"; exit 1; }
node "$here/run_onnx.js" "$work"

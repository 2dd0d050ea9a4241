#!/usr/bin/env bash
# doc_program_test.sh - the program of docs/API.md's "Writing your own loss"
# compiles against the public header and the shared library, and runs.
#
# usage: doc_program_test.sh SOURCE_ROOT BUILD_ROOT MNIST_DIR
set -euo pipefail
src=$1 build=$2 data=$3
if [ ! -r "$data/t10k-images-idx3-ubyte.gz" ] && [ -n "${AE_TEST_ALLOW_MISSING_DATA:-}" ]; then
  echo "no MNIST in $data: skipping"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# shellcheck source=shell_lib.sh
. "$(dirname "$0")/shell_lib.sh"
extract_c_program "$src/docs/API.md" "Writing your own loss" "$work/own_loss.c"

cc -std=c11 -Wall -Wextra -Werror -O2 "$work/own_loss.c" \
   -I"$src/include" -I"$build/include" -L"$build/lib" -lautoenc \
   -Wl,-rpath,"$build/lib" -o "$work/own_loss"
"$work/own_loss" "$data" | tee "$work/out.txt"
# It learned: the last MSE is well below the first.
awk '/^step/ { gsub(",", "", $4); if (first == "") first = $4; last = $4 }
     END { if (!(last < first / 2)) { print "the loss did not fall: " first " -> " last; exit 1 } }' \
    "$work/out.txt"
echo "docs/API.md's program: built and ran"

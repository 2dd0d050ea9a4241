#!/usr/bin/env bash
# tutorial_test.sh - the program of docs/TUTORIAL.md's "Your first
# experiment", as a newcomer builds it: taken from the page, compiled with
# `cc ... $(pkg-config --cflags --libs autoenc)` against the library
# installed into a temporary prefix (tests/shell_lib.sh), and run on 5,000
# MNIST training images for 4 epochs.  Its PSNR must rise every epoch and
# end above that of the squares left black, and its picture and model
# must be written.
#
# usage: tutorial_test.sh SOURCE_ROOT BUILD_ROOT MNIST_DIR
set -euo pipefail
src=$1 build=$(cd "$2" && pwd) data=$3
cc=${CC:-cc}
if [ ! -r "$data/train-images-idx3-ubyte.gz" ] && [ -n "${AE_TEST_ALLOW_MISSING_DATA:-}" ]; then
  echo "no MNIST in $data: skipping"
  exit 77
fi
command -v pkg-config >/dev/null || { echo "no pkg-config: skipped"; exit 77; }
data=$(cd "$data" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/autoenc-tutorial.XXXXXX")
trap 'rm -rf "$work"' EXIT

# shellcheck source=shell_lib.sh
. "$(dirname "$0")/shell_lib.sh"
extract_c_program "$src/docs/TUTORIAL.md" "Your first experiment" \
  "$work/first_experiment.c"
install_into_sysroot "$build" "$work/root"

cd "$work"
# The page's command, with warnings as errors.
# shellcheck disable=SC2046
"$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror first_experiment.c \
  $(pkg-config --cflags --libs autoenc) -o first_experiment
LD_LIBRARY_PATH="$sysroot$installed_libdir" ./first_experiment "$data" 5000 4 |
  tee out.txt

awk '/^squares left black/ { black = $5 }
     /^epoch/ { epochs++; psnr = $NF == "dB" ? $(NF - 1) : $NF
                if (epochs > 1 && !(psnr > last)) {
                  print "PSNR did not rise: " last " -> " psnr; bad = 1 }
                last = psnr }
     END { if (epochs != 4) { print epochs " epochs printed, not 4"; exit 1 }
           if (black == "" || !(last > black + 2)) {
             print "restored squares " last " dB, black ones " black " dB"; exit 1 }
           exit bad }' out.txt
[ -s first_experiment.png ] && [ -s first_experiment.aemodel ] || {
  echo "the picture or the model was not written"; exit 1; }
echo "docs/TUTORIAL.md's program: built against the installed library and ran"

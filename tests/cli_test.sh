#!/usr/bin/env bash
# cli_test.sh - the autoenc tool as a user runs it: its subcommands, its
# outputs (read back with npy_tool), its exit statuses and its errors.
#
# usage: cli_test.sh AUTOENC CLI_FIXTURE NPY_TOOL MNIST_DIR
set -uo pipefail
tool=$1 fixture=$2 npy_tool=$3 data=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }
expect() { # expect NAME WANTED_STATUS COMMAND...: runs it, checks status
    local name=$1 want=$2; shift 2
    "$@" >"$work/out" 2>"$work/err"
    local got=$?
    if [ "$got" -eq "$want" ]; then ok "$name (exit $got)"
    else bad "$name: exit $got, wanted $want; stderr: $(cat "$work/err")"; fi
}

params=$("$fixture" "$work") || { echo "fixture failed"; exit 1; }

expect "--help" 0 "$tool" --help
grep -q '^usage: autoenc info MODEL' "$work/out" && ok "--help prints the usage on stdout" || bad "--help output"
expect "no arguments" 2 "$tool"
expect "unknown command" 2 "$tool" frobnicate x
expect "encode without -o" 2 "$tool" encode "$work/model.aemodel" "$work/f32.npy"

expect "info" 0 "$tool" info "$work/model.aemodel"
grep -q "^Total params: $params\$" "$work/out" && ok "info: total params $params" || bad "info: no 'Total params: $params' in: $(cat "$work/out")"
grep -q "Dense (relu)" "$work/out" && grep -q "(None, 784)" "$work/out" && ok "info: kinds and output shapes" || bad "info: layers"
grep -q "format version 1" "$work/out" && ok "info: format version" || bad "info: version"

if [ -r "$data/t10k-images-idx3-ubyte.gz" ]; then
  expect "encode MNIST IDX" 0 "$tool" encode "$work/model.aemodel" "$data/t10k-images-idx3-ubyte.gz" -o "$work/codes.npy"
  [ ! -s "$work/out" ] && ok "encode: nothing on stdout" || bad "encode printed: $(cat "$work/out")"
  read -r kind ndim n k _ < <("$npy_tool" read "$work/codes.npy")
  [ "$kind $ndim $n $k" = "f32 2 10000 16" ] && ok "encode: codes are 10000 x 16 float32" || bad "encode: got $kind $ndim $n $k"
elif [ -n "${AE_TEST_ALLOW_MISSING_DATA:-}" ]; then
  echo "skip encode of the MNIST IDX file: no data in $data"
else
  bad "no MNIST test images in $data"
fi

expect "reconstruct uint8 .npy" 0 "$tool" reconstruct "$work/model.aemodel" "$work/u8.npy" -o "$work/rec.npy"
read -r kind ndim a b c d _ < <("$npy_tool" read "$work/rec.npy")
[ "$kind $ndim $a $b $c $d" = "f32 4 5 1 28 28" ] && ok "reconstruct: 5 x 1 x 28 x 28 float32" || bad "reconstruct: got $kind $ndim $a $b $c $d"

expect "reconstruct float .npy to PNG" 0 "$tool" reconstruct "$work/model.aemodel" "$work/f32.npy" -o "$work/rec.png"
head -c 8 "$work/rec.png" | od -An -tx1 | tr -d ' \n' | grep -q '^89504e470d0a1a0a$' && ok "reconstruct: a PNG grid" || bad "reconstruct: not a PNG"

expect "export" 0 "$tool" export "$work/model.aemodel" "$work/model.onnx"
[ ! -s "$work/out" ] && ok "export: nothing on stdout" || bad "export printed: $(cat "$work/out")"
# An ONNX ModelProto starts with field 1, ir_version (key 0x08), here 7.
head -c 2 "$work/model.onnx" | od -An -tx1 | tr -d ' \n' | grep -q '^0807$' && ok "export: an ONNX file of IR version 7" || bad "export: $(head -c 16 "$work/model.onnx" | od -An -tx1)"
expect "export --part encoder" 0 "$tool" export "$work/model.aemodel" "$work/enc.onnx" --part encoder
expect "export --part decoder" 0 "$tool" export "$work/model.aemodel" "$work/dec.onnx" --part decoder
enc=$(stat -c %s "$work/enc.onnx") dec=$(stat -c %s "$work/dec.onnx") all=$(stat -c %s "$work/model.onnx")
[ "$enc" -gt 4 ] && [ "$dec" -gt 4 ] && [ "$enc" -lt "$all" ] && [ "$dec" -lt "$all" ] && ok "export: encoder ($enc bytes) and decoder ($dec) smaller than the model ($all)" || bad "export sizes: $enc $dec $all"
expect "export --part unknown" 2 "$tool" export "$work/model.aemodel" "$work/x.onnx" --part middle
expect "export without an output" 2 "$tool" export "$work/model.aemodel"
expect "export of a decoder that needs the encoder's positions" 1 "$tool" export "$work/unpool.aemodel" "$work/x.onnx" --part decoder
grep -q "x.onnx" "$work/err" && grep -q "whole model" "$work/err" && ok "export refusal: stderr names the file and says why" || bad "export refusal: $(cat "$work/err")"
expect "export of the same model whole" 0 "$tool" export "$work/unpool.aemodel" "$work/unpool.onnx"
expect "export into a missing folder" 1 "$tool" export "$work/model.aemodel" "$work/no/such/dir/m.onnx"
grep -q "m.onnx" "$work/err" && ok "export into a missing folder: stderr names the file" || bad "export missing folder: $(cat "$work/err")"
expect "export of a missing model" 1 "$tool" export "$work/none.aemodel" "$work/x.onnx"
[ ! -e "$work/x.onnx" ] && ok "a failed export writes no file" || bad "a failed export left $work/x.onnx"

expect "missing model" 1 "$tool" info "$work/none.aemodel"
grep -q "none.aemodel" "$work/err" && ok "missing model: stderr names the file" || bad "missing model: $(cat "$work/err")"
expect "images of the wrong size" 1 "$tool" encode "$work/model.aemodel" "$work/wrong.npy" -o "$work/x.npy"
grep -q "wrong.npy" "$work/err" && ok "wrong size: stderr names the file" || bad "wrong size: $(cat "$work/err")"
expect "not a model" 1 "$tool" info "$work/u8.npy"
expect "codes as PNG" 2 "$tool" encode "$work/model.aemodel" "$work/f32.npy" -o "$work/c.png"
[ ! -e "$work/x.npy" ] && ok "a failed run writes no output" || bad "a failed run left $work/x.npy"

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# mpi_test.sh - data-parallel training on 2 ranks of this machine (shared
# memory), under Open MPI's mpirun: weights equal across ranks and across
# runs, agreement with one process, exact resume, a NaN on one rank, refused
# mismatches, a killed rank and a hung rank.  Each mpirun is bounded by
# `timeout`, so a hang fails the test instead of stalling the suite.
#
# usage: mpi_test.sh MPI_WORKER MNIST_DIR
set -uo pipefail
worker=$1 data=$2
work=$(mktemp -d)
trap 'kill -9 $(cat "$work"/pids/*.pid 2>/dev/null) 2>/dev/null; rm -rf "$work"' EXIT
passed=0 failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }

command -v mpirun >/dev/null || {
    echo "mpirun not found (apt-get install openmpi-bin)"
    [ -n "${CI:-}" ] && exit 1
    exit 77
}
# Two ranks, one thread each, over shared memory only; as root in CI.
mpi=(mpirun -np 2 --oversubscribe --allow-run-as-root --bind-to none
     --mca btl self,vader --mca btl_vader_single_copy_mechanism none
     -x OPENBLAS_NUM_THREADS=1)

run() { # run NAME SECONDS WORKER_ARGS...: one job, output in $work/NAME
    local name=$1 limit=$2; shift 2
    timeout -k 5 "$limit" "${mpi[@]}" "$worker" "$data" "$@" \
        >"$work/$name" 2>&1
}

if run equal1 120 equal "$work/a.aemodel" &&
   grep -q "identical: weights after" "$work/equal1"; then
    ok "weights identical on both ranks: $(grep identical "$work/equal1")"
else
    bad "equal: $(cat "$work/equal1")"
fi
if run equal2 120 equal "$work/b.aemodel" && cmp -s "$work/a.aemodel" "$work/b.aemodel"; then
    ok "two runs on 2 ranks give the same model, byte for byte"
else
    bad "second run differs or failed: $(cat "$work/equal2")"
fi

if run agree 180 agree; then
    ok "agreement with one process:"
    grep "rank 0" "$work/agree" | sed 's/^/       /'
else
    bad "agree: $(cat "$work/agree")"
fi

if run resume 180 resume "$work/resume.ckpt" &&
   [ "$(grep -c 'weights identical to' "$work/resume")" -eq 2 ]; then
    ok "exact resume from rank 0's checkpoint, on both ranks"
else
    bad "resume: $(cat "$work/resume")"
fi

if run nan 60 nan && [ "$(grep -c 'AE_ERR_NOT_FINITE.*as they were' "$work/nan")" -eq 2 ]; then
    ok "a NaN in rank 1's slice stops both ranks with AE_ERR_NOT_FINITE"
else
    bad "nan: $(cat "$work/nan")"
fi

if run badargs 60 badargs &&
   [ "$(grep -c 'binding trained on after them' "$work/badargs")" -eq 2 ]; then
    ok "NULL and out-of-range arguments refused, saying why: $(grep -c 'refused as it must' "$work/badargs") calls on 2 ranks"
else
    bad "badargs: $(cat "$work/badargs")"
fi

for what in seed batch width lr data schedule; do
    if run "mismatch-$what" 60 mismatch "$what" &&
       [ "$(grep -c 'refused AE_ERR_INVALID_ARGUMENT: the 2 ranks differ' "$work/mismatch-$what")" -eq 2 ]; then
        ok "rank 1 with another $what: both refused: $(grep -m1 -o 'differ in.*' "$work/mismatch-$what" | cut -c1-110)"
    else
        bad "mismatch $what: $(cat "$work/mismatch-$what")"
    fi
done

# A rank killed mid-epoch: mpirun must end the other within the bound, and
# the checkpoint rank 0 wrote must be whole.
kill_case() { # kill_case NAME SIGNAL TIMEOUT EXPECT_REGEX
    local name=$1 sig=$2 limit=$3 want=$4
    mkdir -p "$work/pids"
    rm -f "$work/pids/"*.pid "$work/$name.ckpt"
    timeout -k 5 60 "${mpi[@]}" "$worker" "$data" long "$work/$name.ckpt" \
        "$work/pids" "$limit" >"$work/$name" 2>&1 &
    local job=$!
    for _ in $(seq 200); do # until a first checkpoint exists (20 s at most)
        [ -f "$work/$name.ckpt" ] && [ -f "$work/pids/rank-1.pid" ] && break
        sleep 0.1
    done
    sleep 0.3 # mid-epoch, between checkpoints
    local t0=$SECONDS
    kill "-$sig" "$(cat "$work/pids/rank-1.pid")"
    wait "$job"
    local rc=$? took=$((SECONDS - t0))
    kill -9 "$(cat "$work/pids/rank-1.pid")" 2>/dev/null # a stopped rank
    # Not 0, and not ended by `timeout` (124, or 137 after 60 s).
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$took" -lt 30 ] &&
       grep -Eq "$want" "$work/$name"; then
        ok "rank 1 $name: the job ended in ${took} s (exit $rc): $(grep -Em1 "$want" "$work/$name" | cut -c1-150)"
    else
        bad "rank 1 $name: exit $rc after ${took} s: $(cat "$work/$name")"
    fi
    if "$worker" "$data" verify "$work/$name.ckpt" >"$work/$name.verify" 2>&1; then
        ok "after rank 1 $name: $(cat "$work/$name.verify")"
    else
        bad "after rank 1 $name: checkpoint broken: $(cat "$work/$name.verify")"
    fi
}
kill_case killed KILL 60 "exited on signal 9|killed"
kill_case hung STOP 3 "rank 0: training stopped: AE_ERR_IO: .*the workers' reduction: MPI rank 0 of 2: no answer"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

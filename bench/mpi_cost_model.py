#!/usr/bin/env python3
"""mpi_cost_model.py - what data-parallel training would cost past this
machine: a ring all-reduce of each step's gradient, 2 (N-1)/N x bytes /
bandwidth plus 2 (N-1) message latencies, for N machines at several link
speeds, and the batch per machine at which that stays under 10% of a
step.  docs/DISTRIBUTED.md's tables are this program's output.

usage: mpi_cost_model.py [DENSE_US_PER_IMAGE CONV_US_PER_IMAGE [LATENCY_US]]
  compute time per image of one machine (bench_mpi's 1-rank "compute"
  figure, or bench_train's images/s inverted); latency per message step,
  default 30 us (TCP over Ethernet; RDMA is nearer 2-5 us).
"""
import sys

MODELS = [  # name, parameters (+1 float for the loss), default us/image
    ("experiment 1 deep AE-30", 808494, 46.0),
    ("experiment 7 conv denoiser", 74497, 1000.0),
]
MACHINES = [8, 64, 512]
LINKS_GBIT = [10, 25, 100]


def allreduce_seconds(n, nbytes, gbit, latency):
    return 2 * (n - 1) / n * nbytes / (gbit * 1e9 / 8) + 2 * (n - 1) * latency


def main(argv):
    us = [m[2] for m in MODELS]
    if len(argv) >= 3:
        us = [float(argv[1]), float(argv[2])]
    latency = (float(argv[3]) if len(argv) >= 4 else 30.0) * 1e-6
    print(f"ring all-reduce, latency {latency * 1e6:.0f} us a message step")
    for (name, params, _), per_image in zip(MODELS, us):
        nbytes = (params + 1) * 4
        print(f"\n{name}: {nbytes:,} bytes a step, "
              f"{per_image:g} us of compute an image on one machine")
        print("| machines | link | all-reduce | batch per machine for "
              "< 10% | global batch |")
        print("|---:|---:|---:|---:|---:|")
        for n in MACHINES:
            for gbit in LINKS_GBIT:
                t = allreduce_seconds(n, nbytes, gbit, latency)
                # t / (t + b * per_image) < 0.1  <=>  b > 9 t / per_image
                b = int(9 * t / (per_image * 1e-6)) + 1
                print(f"| {n} | {gbit} Gb/s | {t * 1e3:.2f} ms | {b:,} | "
                      f"{b * n:,} |")


if __name__ == "__main__":
    main(sys.argv)

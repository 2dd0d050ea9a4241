#!/usr/bin/python3
"""torch_side_by_side.py - the bench programs' work in PyTorch and
scikit-learn, for same-run ratios (bench/side_by_side.sh alternates it with
libautoenc's bench_train and bench_infer and prints the table).

The same models, batch sizes, losses and optimizer settings as
bench/bench_train.c and bench/bench_infer.c:

- dense: experiment 1's deep autoencoder as the notebooks define it,
  784-512-256-128-30 (ReLU, linear code) / 30-128-256-784 (ReLU, sigmoid),
  Adam 1e-3, MSE, batch 64, one epoch over the first N training images in
  shuffled order;
- shallow: experiment 2's one-hidden-layer models 784-h (ReLU) / h-784
  (sigmoid), h = 64, 128, 256, the same settings as dense;
- sparse: experiment 3's over-complete model 784-1024 (ReLU) / 1024-784
  (sigmoid), loss MSE + 1e-4 x the code's L1 norm averaged over the
  batch's images, otherwise as dense;
- conv: experiment 7's model (conv 1->32, pool, conv 32->64, pool; conv
  64->64, upsample, conv 64->32, upsample, conv 32->1 sigmoid; 3x3 'same'),
  Adam 1e-3, BCE, batch 128, one epoch;
- latency: microseconds per image of a forward pass under no_grad at
  batch 1, 8 and 64, dense and conv, best of 5 rounds of about 0.2 s;
- pca: PCA(30) fit (scikit-learn's default solver, randomized on these
  shapes) on all 60,000 images, and its reconstruction MSE (not timed).

Each figure is printed as one line 'name value' (seconds, or us/image).
Run it with Debian's interpreter and a single-threaded OpenBLAS beside
torch's own threads, and the PCA part alone with OpenBLAS at the
library's thread count (scikit-learn's PCA is all numpy / OpenBLAS), as
the driver does:

  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/torch_side_by_side.py \\
      --threads 2 --images 10000 --only dense,shallow,sparse,conv,latency
  OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/torch_side_by_side.py \\
      --threads 2 --only pca
"""
import argparse
import gzip
import os
import time

import numpy as np
import torch
from torch import nn


def load_images(data_dir):
    path = os.path.join(data_dir, "train-images-idx3-ubyte.gz")
    with gzip.open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[4:8], "big")
    pixels = np.frombuffer(raw, dtype=np.uint8, offset=16)
    return pixels.reshape(n, 784).astype(np.float32) / 255.0


def dense_model():
    sizes_enc, sizes_dec = [784, 512, 256, 128, 30], [30, 128, 256, 784]
    layers = []
    for i in range(4):
        layers.append(nn.Linear(sizes_enc[i], sizes_enc[i + 1]))
        if i < 3:
            layers.append(nn.ReLU())
    for i in range(3):
        layers.append(nn.Linear(sizes_dec[i], sizes_dec[i + 1]))
        layers.append(nn.ReLU() if i < 2 else nn.Sigmoid())
    return nn.Sequential(*layers)


class OneHidden(nn.Module):
    """784-h-784; forward returns the reconstruction and the code."""
    def __init__(self, hidden):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(784, hidden), nn.ReLU())
        self.dec = nn.Sequential(nn.Linear(hidden, 784), nn.Sigmoid())

    def forward(self, x):
        h = self.enc(x)
        return self.dec(h), h


def mse_only(out, x):
    return nn.functional.mse_loss(out[0], x)


def mse_l1_code(out, x, lam=1e-4):
    recon, h = out
    return nn.functional.mse_loss(recon, x) + lam * h.abs().sum(1).mean()


class ConvModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(64, 32, 3, padding=1), nn.ReLU(),
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(32, 1, 3, padding=1), nn.Sigmoid())

    def forward(self, x):
        return self.net(x.view(-1, 1, 28, 28)).view(-1, 784)


def epoch_seconds(model, x, batch, loss_fn):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(1))
    t = time.perf_counter()
    for first in range(0, x.shape[0], batch):
        xb = x[order[first:first + batch]]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), xb)
        loss.backward()
        opt.step()
    return time.perf_counter() - t


def us_per_image(model, x, batch, reps=5):
    xb = x[:batch]
    with torch.no_grad():
        model(xb)
        t0, calls = time.perf_counter(), 0
        while time.perf_counter() - t0 < 0.05:
            model(xb)
            calls += 1
        calls = calls * 4 + 1
        best = float("inf")
        for _ in range(reps):
            t = time.perf_counter()
            for _ in range(calls):
                model(xb)
            best = min(best, (time.perf_counter() - t) / calls / batch * 1e6)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--images", type=int, default=10000)
    ap.add_argument("--dense-images", type=int, default=20000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only",
                    default="dense,shallow,sparse,conv,latency,pca")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    parts = set(args.only.split(","))
    images = load_images(args.data)
    x = torch.from_numpy(images)
    if "dense" in parts:
        print("dense_epoch %.4f" % epoch_seconds(
            dense_model(), x[:args.dense_images], 64, nn.MSELoss()), flush=True)
    if "shallow" in parts:
        for h in (64, 128, 256):
            print("shallow_h%d_epoch %.4f" % (h, epoch_seconds(
                OneHidden(h), x[:args.dense_images], 64, mse_only)),
                flush=True)
    if "sparse" in parts:
        print("sparse1024_epoch %.4f" % epoch_seconds(
            OneHidden(1024), x[:args.dense_images], 64, mse_l1_code),
            flush=True)
    if "conv" in parts:
        print("conv_epoch %.4f" % epoch_seconds(
            ConvModel(), x[:args.images], 128, nn.BCELoss()), flush=True)
    if "latency" in parts:
        for name, model in (("dense", dense_model()), ("conv", ConvModel())):
            model.eval()
            for batch in (1, 8, 64):
                print("%s_us_b%d %.1f" % (name, batch,
                                          us_per_image(model, x, batch)),
                      flush=True)
    if "pca" in parts:
        from sklearn.decomposition import PCA
        t = time.perf_counter()
        pca = PCA(n_components=30).fit(images)
        print("pca_fit %.4f" % (time.perf_counter() - t), flush=True)
        back = pca.inverse_transform(pca.transform(images))
        print("pca_mse %.10f" % np.mean(
            (images.astype(np.float64) - back) ** 2), flush=True)


if __name__ == "__main__":
    main()

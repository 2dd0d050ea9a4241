#!/usr/bin/python3
"""Reference SSIM / PSNR / MSE / BCE values for tests/test_ssim.c and
tests/test_metrics.c, computed with scikit-image (0.19) in float64.

Dev tool only; the build does not run it.  Usage:
    /usr/bin/python3 tests/reference/ssim_reference.py

The image pairs come from integer formulas that test_ssim.c reproduces
exactly (pixel = v / 256 for data range 1, v / 128 - 1 for data range 2,
both exact in float32), so C and Python see bit-identical inputs.
"""
import numpy as np
from skimage.metrics import structural_similarity, peak_signal_noise_ratio


def mix32(k):
    k = (k * 2654435761) & 0xFFFFFFFF
    k ^= k >> 16
    k = (k * 0x45D9F3B) & 0xFFFFFFFF
    k ^= k >> 16
    return k


def base_pixel(pattern, r, c, h, w):
    if pattern == 0:  # diagonal ramp with a wrap-around edge
        return (r * 7 + c * 4) & 255
    if pattern == 1:  # round blob, like a stroke of a digit
        d = (r - h // 2) ** 2 + (c - w // 2) ** 2
        return max(0, 255 - 3 * d)
    return mix32(r * 1000 + c + 7) & 255  # texture


def pair_pixels(i, ch, r, c, h, w):
    pattern = (i + ch) % 3
    amp = 16 + 24 * pattern
    ref = base_pixel(pattern, r, c, h, w)
    noise = mix32(((i * 8 + ch) * 64 + r) * 64 + c + 1) % (2 * amp + 1) - amp
    test = min(255, max(0, ref + noise))
    return ref, test


def make_pairs(n, channels, h, w):
    ref = np.zeros((n, channels, h, w), np.int64)
    test = np.zeros_like(ref)
    for i in range(n):
        for ch in range(channels):
            for r in range(h):
                for c in range(w):
                    ref[i, ch, r, c], test[i, ch, r, c] = pair_pixels(i, ch, r, c, h, w)
    return ref, test


def scale(v, data_range):
    # float64 of exactly the float32 values the C test uses
    if data_range == 1:
        return v.astype(np.float64) / 256.0
    return v.astype(np.float64) / 128.0 - 1.0


def ssim(a, b, data_range, gaussian):
    kw = dict(data_range=data_range, channel_axis=0)
    if gaussian:
        kw.update(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    return structural_similarity(a, b, **kw)


def bce(pred, target):
    # PyTorch BCELoss: logs clamped at >= -100 (log 0 = -inf becomes -100)
    with np.errstate(divide="ignore"):
        lp = np.maximum(np.log(pred), -100.0)
        lq = np.maximum(np.log(1.0 - pred), -100.0)
    return float(np.mean(-(target * lp + (1.0 - target) * lq)))


def main():
    for (n, channels, h, w) in [(3, 1, 28, 28), (2, 2, 12, 15)]:
        ref, test = make_pairs(n, channels, h, w)
        print(f"/* {n} pairs of {channels}x{h}x{w} */")
        for data_range in (1, 2):
            r = scale(ref, data_range)
            t = scale(test, data_range)
            print(f"/* data_range {data_range}: per image "
                  "{ssim uniform7, ssim gaussian11, psnr, mse} */")
            for i in range(n):
                su = ssim(r[i], t[i], data_range, False)
                sg = ssim(r[i], t[i], data_range, True)
                ps = peak_signal_noise_ratio(r[i], t[i], data_range=data_range)
                mse = float(np.mean((r[i] - t[i]) ** 2))
                print(f"{{{su:.12f}, {sg:.12f}, {ps:.12f}, {mse:.12e}}},")
            if data_range == 1:
                print(f"/* bce over all {n} pairs (test as prediction) */")
                print(f"{bce(t, r):.12f}")


if __name__ == "__main__":
    main()

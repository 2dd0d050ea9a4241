#!/usr/bin/env python3
"""Reference outputs for tests/test_conv.c, computed with PyTorch.

Run with Debian's python3-torch (/usr/bin/python3 conv_reference.py) and
paste the printed arrays into test_conv.c.  Inputs and parameters come from
integer formulas that test_conv.c reproduces exactly in float (every value
is a small multiple of a power of two); the reference itself is computed in
float64, so the C side only adds its own float rounding.
"""
import torch
import torch.nn.functional as F

from c_arrays import emit

torch.set_default_dtype(torch.float64)


def ramp(n, mul, add, mod, off, scale):
    """v[i] = ((i * mul + add) % mod - off) / scale, as tc_ramp() in C."""
    return torch.tensor([((i * mul + add) % mod - off) / scale
                         for i in range(n)])


def x_of(shape):
    n = 1
    for d in shape:
        n *= d
    return ramp(n, 7, 3, 11, 5, 4.0).reshape(shape)


def w_of(shape):
    n = 1
    for d in shape:
        n *= d
    return ramp(n, 5, 1, 9, 4, 8.0).reshape(shape)


def b_of(n):
    return ramp(n, 1, 0, 3, 1, 2.0)


def distinct(shape):
    """Tie-free values for pooling: (i * 37) % 101 / 16, distinct for
    i < 101."""
    n = 1
    for d in shape:
        n *= d
    return ramp(n, 37, 0, 101, 0, 16.0).reshape(shape)




def conv_case(name, n, c, h, w, oc, k, s, p):
    x = x_of((n, c, h, w))
    wt = w_of((oc, c, k, k))
    b = b_of(oc)
    emit(name, F.conv2d(x, wt, b, stride=s, padding=p), "float")


def convt_case(name, n, c, h, w, oc, k, s, p, op):
    x = x_of((n, c, h, w))
    wt = w_of((c, oc, k, k))
    b = b_of(oc)
    emit(name, F.conv_transpose2d(x, wt, b, stride=s, padding=p,
                                  output_padding=op), "float")


# conv2d: odd input, stride 2, padding 1, several channels
conv_case("ref_conv_a", 2, 2, 5, 5, 3, 3, 2, 1)
# conv2d: 'same' 3x3, one channel in, two out, even size
conv_case("ref_conv_b", 1, 1, 4, 4, 2, 3, 1, 1)
# conv2d: 2x2 kernel, no padding, stride 1, odd non-square input
conv_case("ref_conv_c", 1, 3, 5, 4, 2, 2, 1, 0)
# conv2d narrowing 4 -> 1 and 8 -> 1 (computed tap by tap in the library)
conv_case("ref_conv_d", 2, 4, 5, 5, 1, 3, 1, 1)
conv_case("ref_conv_e", 1, 8, 4, 4, 1, 3, 2, 1)
# transposed: 3x3 stride 2 (3 -> 7), as experiment 6
convt_case("ref_convt_a", 2, 2, 3, 3, 2, 3, 2, 0, 0)
# transposed: 4x4 stride 2 padding 1 (doubling)
convt_case("ref_convt_b", 1, 3, 2, 3, 2, 4, 2, 1, 0)
# transposed: 3x3 stride 2 padding 1 output padding 1 (doubling)
convt_case("ref_convt_c", 1, 2, 3, 3, 1, 3, 2, 1, 1)

# max pooling 3x3 stride 2 on 7x7 (overlapping windows), then unpooling
x = distinct((1, 2, 7, 7))
y, idx = F.max_pool2d(x, 3, stride=2, return_indices=True)
emit("ref_pool_a", y, "float")
emit("ref_unpool_a",
     F.max_unpool2d(y, idx, 3, stride=2, output_size=(7, 7)), "float")
# max pooling 2x2 stride 2 on 7x7 (7 -> 3, as experiment 6), unpooled
x = distinct((1, 2, 7, 7))
y, idx = F.max_pool2d(x, 2, stride=2, return_indices=True)
emit("ref_pool_b", y, "float")
emit("ref_unpool_b",
     F.max_unpool2d(y, idx, 2, stride=2, output_size=(7, 7)), "float")

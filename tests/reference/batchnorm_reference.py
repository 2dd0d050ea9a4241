#!/usr/bin/env python3
"""Reference values for tests/test_batchnorm.c, computed with PyTorch.

Run with Debian's python3-torch:

    /usr/bin/python3 tests/reference/batchnorm_reference.py \
        > tests/reference/batchnorm_fixture.h

and commit both.  nn.BatchNorm1d on N x C inputs and nn.BatchNorm2d on
N x C x H x W inputs, momentum 0.1 and eps 1e-5, in both modes: forward,
the running statistics after one training step, and backward (the input's,
gamma's and beta's gradients) of sum(dy * y).  Inputs, parameters and the
evaluation mode's running statistics come from the integer formulas that
test_batchnorm.c reproduces exactly in float (small multiples of powers of
two); the reference is computed in float64, so the C side adds only its own
float rounding.
"""
import torch

from c_arrays import emit

torch.set_default_dtype(torch.float64)


def ramp(n, mul, add, mod, off, scale):
    """v[i] = ((i * mul + add) % mod - off) / scale, as bn_ramp() in C."""
    return torch.tensor([((i * mul + add) % mod - off) / scale
                         for i in range(n)])




def case(prefix, module, shape):
    n = 1
    for d in shape:
        n *= d
    c = shape[1]
    x = ramp(n, 7, 3, 11, 5, 4.0).reshape(shape)
    dy = ramp(n, 5, 2, 13, 6, 8.0).reshape(shape)
    gamma = ramp(c, 3, 1, 5, -2, 4.0)   # positive: 0.75, 1.5, ...
    beta = ramp(c, 1, 0, 3, 1, 2.0)
    run_mean = ramp(c, 1, 1, 4, 2, 8.0)
    run_var = ramp(c, 3, 2, 5, -1, 4.0)  # positive

    for mode in ("train", "eval"):
        bn = module(c, momentum=0.1, eps=1e-5)
        with torch.no_grad():
            bn.weight.copy_(gamma)
            bn.bias.copy_(beta)
            if mode == "eval":
                bn.running_mean.copy_(run_mean)
                bn.running_var.copy_(run_var)
        bn.train(mode == "train")
        xi = x.clone().requires_grad_(True)
        y = bn(xi)
        (y * dy).sum().backward()
        emit(f"{prefix}_{mode}_y", y)
        emit(f"{prefix}_{mode}_dx", xi.grad)
        emit(f"{prefix}_{mode}_dgamma", bn.weight.grad)
        emit(f"{prefix}_{mode}_dbeta", bn.bias.grad)
        if mode == "train":
            emit(f"{prefix}_train_running_mean", bn.running_mean)
            emit(f"{prefix}_train_running_var", bn.running_var)


print("/* batchnorm_fixture.h - printed by tests/reference/"
      "batchnorm_reference.py")
print(f" * (PyTorch {torch.__version__}); do not edit by hand. */")
case("bn1d", torch.nn.BatchNorm1d, (4, 3))
case("bn2d", torch.nn.BatchNorm2d, (2, 3, 3, 4))

#!/usr/bin/python3
"""controls_reference.py - PyTorch's numbers for the training controls.

Run with Debian's python3-torch (/usr/bin/python3); it writes
controls_fixture.h beside itself, which tests/test_schedule.c includes:

  - the learning rate of every epoch under torch.optim.lr_scheduler's
    StepLR, ExponentialLR, CosineAnnealingLR (run past T_max, and with
    eta_min 0, where it reaches exactly 0) and ReduceLROnPlateau (fed a
    scripted loss sequence that improves, stalls, plateaus within the
    threshold and improves again), each stepped once per epoch after the
    epoch's training, as a training loop does;
  - six torch.optim.AdamW steps on five float32 weights with given
    gradients, the learning rate changed between steps as a scheduler
    changes it, so that the decoupled decay sees the scheduled rate.

lrs[k] is the rate of epoch k + 1 (k = 0: the base rate), as a Python float
printed with 17 significant digits (exact for a double).
"""
import os
import torch

BASE_LR = 0.1
EPOCHS = 16


def rates(make, metrics=None):
    w = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([w], lr=BASE_LR)
    sched = make(opt)
    out = []
    for e in range(EPOCHS):
        out.append(opt.param_groups[0]['lr'])
        opt.step()  # the epoch's training
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[e])
    return out


PLATEAU_LOSSES = [1.0, 0.8, 0.795, 0.797, 0.9, 0.79, 0.7, 0.71, 0.72, 0.73,
                  0.74, 0.5, 0.5, 0.5, 0.5, 0.5]

cases = [
    ("step", "step_size 3, gamma 0.5",
     lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
     None),
    ("exponential", "gamma 0.9",
     lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9), None),
    ("cosine", "T_max 5, eta_min 0.001 (past T_max it rises again)",
     lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(
         o, T_max=5, eta_min=0.001), None),
    ("cosine_zero", "T_max 4, eta_min 0",
     lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=4), None),
    ("plateau", "factor 0.5, patience 1, threshold 0.01 (rel), cooldown 1, "
     "min_lr 0.02",
     lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(
         o, factor=0.5, patience=1, threshold=0.01, cooldown=1,
         min_lr=0.02), PLATEAU_LOSSES),
]

ADAMW_LRS = [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]
ADAMW_DECAY = 0.05
W0 = [0.7, -0.3, 1.5, 0.0, -2.0]
GRADS = [[0.5, -0.25, 0.125, 1.0, -0.75],
         [0.25, 0.5, -0.5, 0.0, 0.3],
         [-0.1, 0.2, 0.3, -0.4, 0.5],
         [1.5, -1.0, 0.05, 0.2, -0.2],
         [0.0, 0.01, -0.02, 0.03, 0.6],
         [-0.3, 0.3, 0.9, -0.9, 0.1]]


def adamw():
    w = torch.nn.Parameter(torch.tensor(W0, dtype=torch.float32))
    opt = torch.optim.AdamW([w], lr=ADAMW_LRS[0], weight_decay=ADAMW_DECAY)
    out = []
    for lr, g in zip(ADAMW_LRS, GRADS):
        opt.param_groups[0]['lr'] = lr
        w.grad = torch.tensor(g, dtype=torch.float32)
        opt.step()
        out.append(w.detach().clone())
    return out


def c_floats(values):
    return ", ".join("%.9ef" % v for v in values)


def main():
    lines = ["/* controls_fixture.h - written by controls_reference.py with "
             "PyTorch %s; do not edit. */" % torch.__version__,
             "#define CF_EPOCHS %d" % EPOCHS,
             "#define CF_BASE_LR %r" % BASE_LR]
    for name, what, make, metrics in cases:
        lrs = rates(make, metrics)
        lines.append("/* %s: %s */" % (name, what))
        lines.append("static const double cf_%s[CF_EPOCHS] = {\n    %s};"
                     % (name, ",\n    ".join("%.17g" % v for v in lrs)))
    lines.append("static const double cf_plateau_losses[CF_EPOCHS] = {%s};"
                 % ", ".join(repr(v) for v in PLATEAU_LOSSES))
    lines.append("/* AdamW, weight decay %r, the rate of each step in "
                 "cf_adamw_lrs */" % ADAMW_DECAY)
    lines.append("#define CF_ADAMW_STEPS %d" % len(GRADS))
    lines.append("#define CF_ADAMW_DECAY %r" % ADAMW_DECAY)
    lines.append("static const double cf_adamw_lrs[CF_ADAMW_STEPS] = {%s};"
                 % ", ".join(repr(v) for v in ADAMW_LRS))
    lines.append("static const float cf_adamw_w0[5] = {%s};" % c_floats(W0))
    lines.append("static const float cf_adamw_grads[CF_ADAMW_STEPS][5] = {\n"
                 "    %s};" % ",\n    ".join("{%s}" % c_floats(g)
                                             for g in GRADS))
    lines.append("static const float cf_adamw_w[CF_ADAMW_STEPS][5] = {\n"
                 "    %s};" % ",\n    ".join("{%s}" % c_floats(w.tolist())
                                             for w in adamw()))
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "controls_fixture.h")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", path)


if __name__ == "__main__":
    main()

/* schedule.c - learning-rate schedules stepped once per epoch, with the
 * semantics and the arithmetic of torch.optim.lr_scheduler (PyTorch 1.13):
 * StepLR, ExponentialLR, CosineAnnealingLR and ReduceLROnPlateau (mode
 * "min", threshold mode "rel", eps 1e-8).  PyTorch computes each rate from
 * the previous one (its "chainable" form), not from a closed formula; the
 * two round differently, so this file repeats PyTorch's recursions
 * operation for operation in double, and tests/test_schedule.c checks the
 * rates against PyTorch's bit for bit. */
#include <math.h>

#include "train/schedule.h"

/* ReduceLROnPlateau's eps: a reduction smaller than this is skipped. */
#define PLATEAU_EPS 1e-8

void ae__schedule_defaults(ae__schedule *s)
{
    /* PyTorch's defaults where it has them (StepLR's gamma, the plateau's
     * factor, patience, threshold and cooldown); step size and T_max have
     * none there. */
    *s = (ae__schedule){.kind = AE_SCHEDULE_NONE, .step_size = 1,
                        .gamma = 0.1, .t_max = 10, .min_lr = 0.0,
                        .factor = 0.1, .patience = 10, .threshold = 1e-4,
                        .cooldown = 0};
}

void ae__schedule_reset(ae__schedule_state *st)
{
    *st = (ae__schedule_state){.best = INFINITY};
}

void ae__schedule_begin(ae__schedule_state *st, double base_lr)
{
    ae__schedule_reset(st);
    st->started = 1;
    st->base_lr = st->lr = base_lr;
}

/* CosineAnnealingLR.get_lr for last_epoch e >= 1 (the branch for a
 * scheduler built at a later epoch never applies: ours start at 0). */
static double cosine(const ae__schedule *s, const ae__schedule_state *st,
                     uint64_t e)
{
    const double pi = 3.141592653589793; /* Python's math.pi */
    const double t_max = (double)s->t_max, de = (double)e;
    /* (e - 1 - T_max) % (2 T_max) == 0, with Python's modulo */
    int64_t period = 2 * (int64_t)s->t_max;
    int64_t r = ((int64_t)e - 1 - (int64_t)s->t_max) % period;
    if (r < 0)
        r += period;
    if (r == 0)
        return st->lr + (st->base_lr - s->min_lr) *
                            (1.0 - cos(pi / t_max)) / 2.0;
    return (1.0 + cos(pi * de / t_max)) /
               (1.0 + cos(pi * (de - 1.0) / t_max)) * (st->lr - s->min_lr) +
           s->min_lr;
}

static void plateau(const ae__schedule *s, ae__schedule_state *st,
                    double metric)
{
    if (metric < st->best * (1.0 - s->threshold)) {
        st->best = metric;
        st->bad_epochs = 0;
    } else {
        st->bad_epochs++;
    }
    if (st->cooldown_left > 0) {
        st->cooldown_left--;
        st->bad_epochs = 0; /* bad epochs in the cooldown do not count */
    }
    if (st->bad_epochs > s->patience) {
        double old_lr = st->lr;
        double new_lr = fmax(old_lr * s->factor, s->min_lr);
        if (old_lr - new_lr > PLATEAU_EPS)
            st->lr = new_lr;
        st->cooldown_left = s->cooldown;
        st->bad_epochs = 0;
    }
}

void ae__schedule_step(const ae__schedule *s, ae__schedule_state *st,
                       double metric)
{
    uint64_t e = ++st->epoch;
    switch (s->kind) {
    case AE_SCHEDULE_NONE:
        break;
    case AE_SCHEDULE_STEP:
        if (e % s->step_size == 0)
            st->lr = st->lr * s->gamma;
        break;
    case AE_SCHEDULE_EXPONENTIAL:
        st->lr = st->lr * s->gamma;
        break;
    case AE_SCHEDULE_COSINE:
        st->lr = cosine(s, st, e);
        break;
    case AE_SCHEDULE_PLATEAU:
        plateau(s, st, metric);
        break;
    }
}

int ae__schedule_state_valid(const ae__schedule_state *st)
{
    if (!st->started) {
        ae__schedule_state fresh;
        ae__schedule_reset(&fresh);
        return st->epoch == 0 && st->base_lr == 0.0 && st->lr == 0.0 &&
               st->best == fresh.best && st->bad_epochs == 0 &&
               st->cooldown_left == 0;
    }
    /* A rate may reach 0 (cosine annealing to eta_min 0) or grow (gamma
     * above 1) but is never negative or NaN; the plateau's best is a loss
     * or +inf. */
    return st->started == 1 && st->epoch <= ((uint64_t)1 << 53) &&
           isfinite(st->base_lr) && st->base_lr > 0.0 &&
           isfinite(st->lr) && st->lr >= 0.0 && !isnan(st->best) &&
           st->best != -INFINITY && st->bad_epochs <= st->epoch &&
           st->cooldown_left <= UINT32_MAX;
}

/* schedule.h - learning-rate schedules (private): the settings, the state
 * a schedule carries from epoch to epoch (which checkpoints save), and one
 * epoch's step, as torch.optim.lr_scheduler computes it. */
#ifndef AE_SCHEDULE_H
#define AE_SCHEDULE_H

#include "common/internal.h"

/* The settings (AE_TRAIN_LR_* and AE_TRAIN_PLATEAU_*), checked by
 * ae_trainer_set. */
typedef struct ae__schedule {
    ae_lr_schedule kind;
    uint32_t step_size; /* step: epochs between decays */
    double gamma;       /* step and exponential: the decay factor */
    uint32_t t_max;     /* cosine: epochs of a half period */
    double min_lr;      /* cosine's eta_min, plateau's min_lr */
    double factor;      /* plateau: lr *= factor */
    uint32_t patience;  /* plateau: bad epochs tolerated */
    double threshold;   /* plateau: relative improvement that counts */
    uint32_t cooldown;  /* plateau: epochs ignored after a reduction */
} ae__schedule;

/* Where a schedule stands.  Before it starts (started 0) every field is
 * as ae__schedule_reset leaves it; it starts at the trainer's first step,
 * from the optimizer's learning rate then. */
typedef struct ae__schedule_state {
    uint32_t started;
    uint64_t epoch;         /* steps taken: PyTorch's last_epoch */
    double base_lr;         /* the rate it started from */
    double lr;              /* the rate of the trainer's steps */
    double best;            /* plateau: best metric so far, +inf first */
    uint64_t bad_epochs;    /* plateau: num_bad_epochs */
    uint64_t cooldown_left; /* plateau: cooldown_counter */
} ae__schedule_state;

/* The defaults of the settings (documented with ae_train_param). */
void ae__schedule_defaults(ae__schedule *s);
/* Not started. */
void ae__schedule_reset(ae__schedule_state *st);
/* Start at epoch 0 from base_lr. */
void ae__schedule_begin(ae__schedule_state *st, double base_lr);
/* One epoch's step (a no-op for AE_SCHEDULE_NONE); metric is the epoch's
 * loss, read by the plateau schedule only.  The state must be started. */
void ae__schedule_step(const ae__schedule *s, ae__schedule_state *st,
                       double metric);
/* 1 if st is a state a schedule could be in (checkpoint loading); the
 * settings are not compared, as they may change during a training. */
int ae__schedule_state_valid(const ae__schedule_state *st);

#endif

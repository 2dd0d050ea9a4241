/* optimizer.h - the optimizer's update step (private). */
#ifndef AE_OPTIMIZER_H
#define AE_OPTIMIZER_H

#include "common/internal.h"

/* One update of n parameters from their gradients.  The first call binds
 * the optimizer's moment buffers to n; a later call with another n fails
 * with AE_ERR_SHAPE until ae_optimizer_reset. */
ae_status ae__optimizer_update(ae_optimizer *opt, float *params,
                               const float *grads, size_t n);

/* The same at learning rate lr (>= 0) instead of the optimizer's own: a
 * trainer's schedule sets the rate of its steps this way, leaving the
 * optimizer's setting alone (AdamW's decoupled decay uses lr too, as
 * PyTorch's does with a scheduler's rate). */
ae_status ae__optimizer_update_lr(ae_optimizer *opt, float *params,
                                  const float *grads, size_t n, double lr);

/* One step's update, begun by ae__optimizer_begin_step and applied range
 * by range by ae__optimizer_apply: the trainer's fused step updates each
 * layer's parameters as soon as the backward pass has written their
 * gradients, while these are still in cache (ae__model_backward_params).
 * The fields are the step's constants; range updates parameters [first,
 * last) of w from grad, with moments m (and v). */
typedef struct ae__optimizer_step {
    float *w, *m, *v;
    const float *grad;
    float b1, b2, wd, eps, step, inv_sqrt_bc2; /* Adam */
    float decay;                               /* AdamW: 1 - lr wd */
    float lr, mu;                              /* SGD */
    void (*range)(const struct ae__optimizer_step *j, size_t first,
                  size_t last);
} ae__optimizer_step;

/* Count a step of n parameters at rate lr, as ae__optimizer_update_lr
 * would (binding the moments first, which can fail with AE_ERR_NO_MEMORY
 * or AE_ERR_SHAPE before anything changes), and fill *step for it.  The
 * caller must then apply the step to every parameter exactly once. */
ae_status ae__optimizer_begin_step(ae_optimizer *opt, float *params,
                                   const float *grads, size_t n, double lr,
                                   ae__optimizer_step *step);

/* Apply *step (an ae__optimizer_step) to the n parameters at params, a
 * range of the array the step was begun with; the signature is
 * ae__param_update's (nn/layer.h).  Safe from several threads on
 * disjoint ranges. */
void ae__optimizer_apply(const void *step, float *params, size_t n);

/* An optimizer's whole state, for checkpoints (checkpoint.c).  kind is
 * AE__OPT_ADAM or AE__OPT_SGD; hp holds the ae_optimizer_param values in
 * enum order; n is 0 before the first update (m and v NULL), else the
 * bound parameter count, m its first moments (SGD: momentum buffer) and v
 * its second moments (Adam only, NULL for SGD). */
enum { AE__OPT_ADAM = 1, AE__OPT_SGD = 2, AE__OPT_ADAMW = 3,
       AE__OPT_PARAMS = 6 };

/* Moment arrays an optimizer kind keeps (Adam and AdamW 2, SGD 1), or 0
 * for a number that is no kind. */
int ae__optimizer_moments(uint32_t kind);
typedef struct ae__opt_state {
    uint32_t kind;
    double hp[AE__OPT_PARAMS];
    uint64_t steps;
    size_t n;
    float *m, *v;
} ae__opt_state;

/* The state of o; m and v are borrowed from it. */
void ae__optimizer_export(const ae_optimizer *o, ae__opt_state *st);
/* Check st for o: the same kind (AE_ERR_INVALID_ARGUMENT), valid
 * hyperparameters and steps 0 when n is 0 (AE_ERR_FORMAT).  Moments are
 * not looked at. */
ae_status ae__optimizer_check_state(const ae_optimizer *o,
                                    const ae__opt_state *st);
/* Replace o's state with st (checked first), taking ownership of st->m
 * and st->v (from ae__alloc).  Cannot fail. */
void ae__optimizer_adopt(ae_optimizer *o, const ae__opt_state *st);

#endif

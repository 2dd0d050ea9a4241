/* early_stop.h - early stopping on the validation loss (private): the
 * state of one fit call, which checkpoints save, and one epoch's
 * decision. */
#ifndef AE_EARLY_STOP_H
#define AE_EARLY_STOP_H

#include "common/internal.h"

typedef struct ae__early_stop {
    uint32_t patience; /* AE_TRAIN_EARLY_STOP_PATIENCE; 0: off */
    double min_delta;  /* AE_TRAIN_EARLY_STOP_MIN_DELTA */
    /* the fit call's state */
    double best;         /* best validation loss, +inf before the first */
    uint64_t best_epoch; /* its epoch in the fit call (1-based), 0: none */
    uint32_t stopped;    /* 1: it stopped the call and restored the best */
    float *weights;      /* the weights of best_epoch (ae__alloc), n */
    size_t n, cap;       /* n: best_epoch ? parameters : 0 */
} ae__early_stop;

/* A new fit call: no best yet (the buffer is kept). */
void ae__early_stop_reset(ae__early_stop *es);
/* Room for the best weights of n parameters, so that a fit fails before
 * its first step rather than at an epoch's end when memory is short. */
ae_status ae__early_stop_reserve(ae__early_stop *es, size_t n);
void ae__early_stop_free(ae__early_stop *es);
/* The end of epoch `epoch` (1-based in the fit call) with validation loss
 * `loss`: keep params if it improves on the best by more than min_delta,
 * else, after `patience` epochs in a row without, copy the best weights
 * back into params and set es->stopped. */
ae_status ae__early_stop_update(ae__early_stop *es, double loss,
                                uint64_t epoch, float *params, size_t n);

#endif

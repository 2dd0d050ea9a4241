/* early_stop.c - early stopping on the validation loss, with Keras's
 * EarlyStopping(monitor="val_loss", min_delta, patience,
 * restore_best_weights=True) rule: an epoch improves when loss + min_delta
 * is below the best so far (it betters the best by more than min_delta); after `patience` epochs in a row that do not,
 * training stops and the weights of the best epoch come back.  The state
 * belongs to one fit call (a new call starts afresh, a resumed one goes
 * on) and is saved in checkpoints with the best weights themselves. */
#include <math.h>
#include <string.h>

#include "train/early_stop.h"

void ae__early_stop_reset(ae__early_stop *es)
{
    es->best = INFINITY;
    es->best_epoch = 0;
    es->stopped = 0;
    es->n = 0;
}

ae_status ae__early_stop_reserve(ae__early_stop *es, size_t n)
{
    if (n <= es->cap)
        return AE_OK;
    float *w = ae__calloc(n, sizeof(float));
    if (w == NULL)
        return ae__fail(AE_ERR_NO_MEMORY, "early stopping: cannot allocate "
                        "a copy of the %zu best weights", n);
    if (es->n > 0)
        memcpy(w, es->weights, es->n * sizeof(float));
    ae__free(es->weights);
    es->weights = w;
    es->cap = n;
    return AE_OK;
}

void ae__early_stop_free(ae__early_stop *es)
{
    ae__free(es->weights);
    es->weights = NULL;
    es->cap = es->n = 0;
}

ae_status ae__early_stop_update(ae__early_stop *es, double loss,
                                uint64_t epoch, float *params, size_t n)
{
    ae_status s = ae__early_stop_reserve(es, n);
    if (s != AE_OK)
        return s;
    if (loss + es->min_delta < es->best) { /* Keras: current + min_delta */
        es->best = loss;
        es->best_epoch = epoch;
        es->n = n;
        if (n > 0)
            memcpy(es->weights, params, n * sizeof(float));
        return AE_OK;
    }
    /* Every epoch of the call is judged, so the epochs without an
     * improvement are those since the best. */
    if (es->best_epoch > 0 && epoch - es->best_epoch >= es->patience) {
        if (n > 0)
            memcpy(params, es->weights, n * sizeof(float));
        es->stopped = 1;
    }
    return AE_OK;
}

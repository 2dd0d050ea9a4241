/* gradcheck.h - finite-difference checks of the model's backward pass. */
#ifndef AE_GRADCHECK_H
#define AE_GRADCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "autoenc.h"

typedef struct gc_result {
    double max_abs_err;  /* largest |analytic - numeric| */
    double max_rel_err;  /* largest error / max(1, |numeric|) */
    size_t checked;      /* parameters compared */
    size_t worst_param;  /* index of the largest error */
} gc_result;

/* Compare ae__model_backward's parameter gradients with central differences
 * of L = sum_i r_i y_i, where y is the output of the model's last layer for
 * a random input batch and r a fixed random vector.  Up to max_params
 * parameters per layer are checked (spread evenly), every one if 0.
 * Inputs are drawn in [lo, hi).  The model need not be a complete
 * autoencoder. */
gc_result gc_check_model(ae_model *m, size_t batch, float lo, float hi,
                         size_t max_params, uint32_t seed);

/* Fail the running Check test unless the gradients agree to tol (relative
 * to max(1, |numeric|)); prints the worst parameter. */
void gc_assert_model(ae_model *m, size_t batch, float lo, float hi,
                     size_t max_params, uint32_t seed, double tol);

#endif

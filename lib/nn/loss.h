/* loss.h - reconstruction losses and their gradients (private). */
#ifndef AE_LOSS_H
#define AE_LOSS_H

#include "common/internal.h"

/* Mean loss of predictions y against targets t over n values, and its
 * gradient into grad (n floats).  With sigmoid_fused set (BCE after a
 * Sigmoid output), grad is taken with respect to the sigmoid's input,
 * where it simplifies to (y - t) / n and stays finite when y saturates. */
double ae__loss(ae_loss kind, const float *y, const float *t, size_t n,
                float *grad, int sigmoid_fused);

/* lambda * sum |h| over n values (the L1 code penalty of experiment 3). */
double ae__l1_penalty(const float *h, size_t n, float lambda);

#endif

/* kl.h - the KL divergence of a VAE's diagonal Gaussians to N(0, I) and
 * its gradient (private). */
#ifndef AE_KL_H
#define AE_KL_H

#include "common/internal.h"

/* The sum over batch images of KL(N(mu, exp(logvar)) || N(0, I)), where
 * stats holds per image k means then k log-variances (the sampling
 * layer's input). */
double ae__kl_divergence(const float *stats, size_t batch, size_t k);

/* Add weight * dKL/d(stats) to grad (batch * 2k floats, laid out as
 * stats): mu for the means, (exp(logvar) - 1) / 2 for the log-variances. */
void ae__kl_add_gradient(const float *stats, size_t batch, size_t k,
                         float weight, float *grad);

#endif

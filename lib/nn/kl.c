/* kl.c - the VAE's regulariser, beside the reconstruction losses:
 *   KL(N(mu, exp(logvar)) || N(0, I)) = -0.5 * sum_j (1 + logvar_j - mu_j^2
 *                                                    - exp(logvar_j))
 * per image, summed over its k units.  The trainer weighs it by beta and
 * divides it as the reconstruction loss is divided (per value or per
 * image); the sampling layer (layers/gaussian_sample.c) adds its gradient
 * on the way back. */
#include <math.h>

#include "nn/kl.h"

double ae__kl_divergence(const float *stats, size_t batch, size_t k)
{
    /* In double: a sum over a whole batch of terms of either sign. */
    double sum = 0.0;
    for (size_t b = 0; b < batch; b++) {
        const float *mu = stats + b * 2 * k, *lv = mu + k;
        for (size_t j = 0; j < k; j++) {
            double m = mu[j], v = lv[j];
            sum += -0.5 * (1.0 + v - m * m - exp(v));
        }
    }
    return sum;
}

void ae__kl_add_gradient(const float *stats, size_t batch, size_t k,
                         float weight, float *grad)
{
    for (size_t b = 0; b < batch; b++) {
        const float *mu = stats + b * 2 * k, *lv = mu + k;
        float *gmu = grad + b * 2 * k, *glv = gmu + k;
        for (size_t j = 0; j < k; j++) {
            gmu[j] += weight * mu[j];
            glv[j] += weight * 0.5f * (expf(lv[j]) - 1.0f);
        }
    }
}

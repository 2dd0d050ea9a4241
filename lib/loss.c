/* loss.c - MSE and binary cross-entropy, mean-reduced like PyTorch's
 * MSELoss and BCELoss, and the L1 penalty on the code. */
#include <math.h>

#include "loss.h"

/* PyTorch clamps each log term at -100 so a saturated prediction gives a
 * large finite loss, and bounds the BCE gradient's denominator below. */
#define BCE_LOG_FLOOR (-100.0)
#define BCE_GRAD_EPS 1e-12

static double mse(const float *y, const float *t, size_t n, float *grad)
{
    double sum = 0.0;
    const float scale = 2.0f / (float)n;
    for (size_t i = 0; i < n; i++) {
        float d = y[i] - t[i];
        sum += (double)d * d;
        grad[i] = scale * d; /* d/dy (y - t)^2 / n */
    }
    return sum / (double)n;
}

static double bce(const float *y, const float *t, size_t n, float *grad,
                  int sigmoid_fused)
{
    double sum = 0.0;
    const double inv_n = 1.0 / (double)n;
    for (size_t i = 0; i < n; i++) {
        double yi = y[i], ti = t[i];
        double log_y = fmax(log(yi), BCE_LOG_FLOOR);
        double log_1my = fmax(log1p(-yi), BCE_LOG_FLOOR);
        sum -= ti * log_y + (1.0 - ti) * log_1my;
        if (sigmoid_fused) /* dL/dz = (y - t) / n through the sigmoid */
            grad[i] = (float)((yi - ti) * inv_n);
        else /* dL/dy = (y - t) / (y (1 - y)) / n */
            grad[i] = (float)((yi - ti) /
                              fmax(yi * (1.0 - yi), BCE_GRAD_EPS) * inv_n);
    }
    return sum * inv_n;
}

double ae__loss(ae_loss kind, const float *y, const float *t, size_t n,
                float *grad, int sigmoid_fused)
{
    return kind == AE_LOSS_BCE ? bce(y, t, n, grad, sigmoid_fused)
                               : mse(y, t, n, grad);
}

double ae__l1_penalty(const float *h, size_t n, float lambda)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += fabsf(h[i]);
    return (double)lambda * sum;
}

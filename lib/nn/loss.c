/* loss.c - MSE and binary cross-entropy, mean-reduced like PyTorch's
 * MSELoss and BCELoss, and the L1 penalty on the code. */
#include <math.h>

#include "common/finite.h"
#include "common/parallel.h"
#include "common/vector_clones.h"
#include "nn/loss.h"

/* PyTorch clamps each log term at -100 so a saturated prediction gives a
 * large finite loss, and bounds the BCE gradient's denominator below. */
#define BCE_LOG_FLOOR (-100.0)
#define BCE_GRAD_EPS 1e-12

/* Sums are taken in fixed blocks (their count depends on n alone), each
 * in double, and the block sums added in order: the threads share the
 * blocks, and the result does not depend on how many there are. */
#define LOSS_BLOCK ((size_t)1 << 12)

typedef struct loss_job {
    const float *y, *t;
    float *grad;
    size_t n, blocks;
    int sigmoid_fused;
    double sum[AE__PARALLEL_MAX_BLOCKS];
} loss_job;

static void block_range(const loss_job *j, size_t b, size_t *lo, size_t *hi)
{
    *lo = j->n * b / j->blocks;
    *hi = j->n * (b + 1) / j->blocks;
}

/* A block's sum of squares in MSE_LANES partial sums, value i into lane
 * i % MSE_LANES, added in lane order at the end: one sum was a chain of
 * dependent double additions, 4 cycles a value (1.6% of the dense epoch's
 * samples, on one thread), and the lanes are a fixed order, so the bits
 * still do not depend on the threads. */
enum { MSE_LANES = 4 };

AE__VECTOR_CLONES
static double mse_block(const float *restrict y, const float *restrict t,
                        float *restrict grad, size_t n, float scale)
{
    double lane[MSE_LANES] = {0.0};
    size_t i = 0;
    for (; i + MSE_LANES <= n; i += MSE_LANES)
        for (size_t k = 0; k < MSE_LANES; k++) {
            float d = y[i + k] - t[i + k];
            lane[k] += (double)d * d;
            grad[i + k] = scale * d; /* d/dy (y - t)^2 / n */
        }
    for (size_t k = 0; i < n; i++, k++) {
        float d = y[i] - t[i];
        lane[k] += (double)d * d;
        grad[i] = scale * d;
    }
    double sum = 0.0;
    for (size_t k = 0; k < MSE_LANES; k++)
        sum += lane[k];
    return sum;
}

static void mse_blocks(void *ctx, size_t first, size_t last, int part)
{
    (void)part;
    loss_job *j = ctx;
    const float scale = 2.0f / (float)j->n;
    for (size_t b = first; b < last; b++) {
        size_t lo, hi;
        block_range(j, b, &lo, &hi);
        j->sum[b] = mse_block(j->y + lo, j->t + lo, j->grad + lo, hi - lo,
                              scale);
    }
}

static void bce_blocks(void *ctx, size_t first, size_t last, int part)
{
    (void)part;
    loss_job *j = ctx;
    const double inv_n = 1.0 / (double)j->n;
    for (size_t b = first; b < last; b++) {
        size_t lo, hi;
        block_range(j, b, &lo, &hi);
        double sum = 0.0;
        for (size_t i = lo; i < hi; i++) {
            double yi = j->y[i], ti = j->t[i];
            double log_y = fmax(log(yi), BCE_LOG_FLOOR);
            double log_1my = fmax(log1p(-yi), BCE_LOG_FLOOR);
            sum -= ti * log_y + (1.0 - ti) * log_1my;
            if (j->sigmoid_fused) /* dL/dz = (y - t) / n through sigmoid */
                j->grad[i] = (float)((yi - ti) * inv_n);
            else /* dL/dy = (y - t) / (y (1 - y)) / n */
                j->grad[i] = (float)((yi - ti) /
                                     fmax(yi * (1.0 - yi), BCE_GRAD_EPS) *
                                     inv_n);
        }
        j->sum[b] = sum;
    }
}

/* Blocks per thread below which one thread does them all: MSE streams,
 * BCE takes two logarithms per value. */
enum { MSE_GRAIN_BLOCKS = 16, BCE_GRAIN_BLOCKS = 1 };

double ae__loss(ae_loss kind, const float *y, const float *t, size_t n,
                float *grad, int sigmoid_fused)
{
    loss_job j;
    j.y = y;
    j.t = t;
    j.grad = grad;
    j.n = n;
    j.blocks = ae__parallel_blocks(n, LOSS_BLOCK);
    j.sigmoid_fused = sigmoid_fused;
    if (kind == AE_LOSS_BCE)
        ae__parallel_for(j.blocks, BCE_GRAIN_BLOCKS, 0, bce_blocks, &j);
    else
        ae__parallel_for(j.blocks, MSE_GRAIN_BLOCKS, 0, mse_blocks, &j);
    double sum = 0.0;
    for (size_t b = 0; b < j.blocks; b++)
        sum += j.sum[b];
    return kind == AE_LOSS_BCE ? sum * (1.0 / (double)n) : sum / (double)n;
}

double ae__l1_penalty(const float *h, size_t n, float lambda)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += fabsf(h[i]);
    return (double)lambda * sum;
}

ae_status ae_loss_compute(ae_loss kind, const float *output,
                          const float *target, size_t n, unsigned flags,
                          float *grad, double *loss)
{
    AE_REQUIRE(output);
    AE_REQUIRE(target);
    AE_REQUIRE(grad);
    AE_REQUIRE(loss);
    if (kind != AE_LOSS_MSE && kind != AE_LOSS_BCE)
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "ae_loss_compute: unknown "
                        "loss %d", (int)kind);
    if ((flags & ~(unsigned)AE_GRAD_PREACTIVATION) != 0 ||
        ((flags & AE_GRAD_PREACTIVATION) && kind != AE_LOSS_BCE))
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "ae_loss_compute: flags "
                        "0x%x (AE_GRAD_PREACTIVATION is for BCE after a "
                        "sigmoid only)", flags);
    if (n == 0)
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "ae_loss_compute: n is 0");
    /* Checked first, so that a failure writes nothing. */
    const char *bad = !ae__all_finite(output, n)   ? "outputs"
                      : !ae__all_finite(target, n) ? "targets"
                                                   : NULL;
    if (bad != NULL)
        return ae__fail(AE_ERR_NOT_FINITE, "ae_loss_compute: the %s hold NaN "
                        "or infinity", bad);
    for (size_t i = 0; kind == AE_LOSS_BCE && i < n; i++)
        if (output[i] < 0.0f || output[i] > 1.0f || target[i] < 0.0f ||
            target[i] > 1.0f)
            return ae__fail(AE_ERR_INVALID_ARGUMENT, "ae_loss_compute: BCE "
                            "needs outputs and targets in [0, 1]; value %zu "
                            "is %g against %g", i, (double)output[i],
                            (double)target[i]);
    /* Finite values (in [0, 1] for BCE) give a finite loss. */
    *loss = ae__loss(kind, output, target, n, grad,
                     (flags & AE_GRAD_PREACTIVATION) != 0);
    return AE_OK;
}

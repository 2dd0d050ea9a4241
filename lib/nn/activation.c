/* activation.c - activations applied in place after a layer, and their
 * derivatives expressed through the output y (so no pre-activation copy is
 * kept for the backward pass). */
#include <math.h>

#include "common/parallel.h"
#include "common/vector_clones.h"
#include "nn/activation.h"

int ae__activation_valid(ae_activation act, float param)
{
    switch (act) {
    case AE_ACT_NONE:
    case AE_ACT_RELU:
    case AE_ACT_TANH:
    case AE_ACT_SIGMOID:
        return 1;
    case AE_ACT_LEAKY_RELU:
        /* A negative slope would make the sign of y ambiguous, and the
         * backward pass reads the derivative off the sign of y. */
        return isfinite(param) && param >= 0.0f && param < 1.0f;
    }
    return 0;
}

AE__VECTOR_CLONES
static void forward_range(ae_activation act, float param, float *y,
                          size_t n)
{
    switch (act) {
    case AE_ACT_NONE:
        break;
    case AE_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            y[i] = y[i] < 0.0f ? 0.0f : y[i]; /* NaN passes through */
        break;
    case AE_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++)
            y[i] = y[i] < 0.0f ? param * y[i] : y[i];
        break;
    case AE_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            y[i] = tanhf(y[i]);
        break;
    case AE_ACT_SIGMOID:
        /* 1 / (1 + e^-x) overflows harmlessly to 0 for very negative x. */
        for (size_t i = 0; i < n; i++)
            y[i] = 1.0f / (1.0f + expf(-y[i]));
        break;
    }
}

AE__VECTOR_CLONES
static void backward_range(ae_activation act, float param, const float *y,
                           float *g, size_t n)
{
    switch (act) {
    case AE_ACT_NONE:
        break;
    case AE_ACT_RELU: /* y' = [y > 0] */
        for (size_t i = 0; i < n; i++)
            g[i] = y[i] > 0.0f ? g[i] : 0.0f;
        break;
    case AE_ACT_LEAKY_RELU: /* y' = 1 if y > 0 else slope */
        for (size_t i = 0; i < n; i++)
            g[i] = y[i] > 0.0f ? g[i] : param * g[i];
        break;
    case AE_ACT_TANH: /* y' = 1 - y^2 */
        for (size_t i = 0; i < n; i++)
            g[i] *= 1.0f - y[i] * y[i];
        break;
    case AE_ACT_SIGMOID: /* y' = y (1 - y) */
        for (size_t i = 0; i < n; i++)
            g[i] *= y[i] * (1.0f - y[i]);
        break;
    }
}

/* Values per thread below which one thread does them all: a thread's
 * wake-up costs about as much as a streaming pass over the larger count,
 * or a transcendental one over the smaller. */
#define CHEAP_GRAIN ((size_t)1 << 16)
#define COSTLY_GRAIN ((size_t)1 << 12)

static size_t grain(ae_activation act)
{
    return act == AE_ACT_TANH || act == AE_ACT_SIGMOID ? COSTLY_GRAIN
                                                       : CHEAP_GRAIN;
}

typedef struct act_job {
    ae_activation act;
    float param;
    const float *y;
    float *out; /* forward: y itself; backward: g */
} act_job;

static void forward_part(void *ctx, size_t first, size_t last, int part)
{
    (void)part;
    const act_job *j = ctx;
    forward_range(j->act, j->param, j->out + first, last - first);
}

static void backward_part(void *ctx, size_t first, size_t last, int part)
{
    (void)part;
    const act_job *j = ctx;
    backward_range(j->act, j->param, j->y + first, j->out + first,
                   last - first);
}

void ae__activation_forward_serial(ae_activation act, float param, float *y,
                                   size_t n)
{
    forward_range(act, param, y, n);
}

void ae__activation_forward(ae_activation act, float param, float *y,
                            size_t n)
{
    if (act == AE_ACT_NONE)
        return;
    act_job j = {act, param, y, y};
    ae__parallel_for(n, grain(act), 0, forward_part, &j);
}

void ae__activation_backward(ae_activation act, float param, const float *y,
                             float *g, size_t n)
{
    if (act == AE_ACT_NONE)
        return;
    act_job j = {act, param, y, g};
    ae__parallel_for(n, grain(act), 0, backward_part, &j);
}

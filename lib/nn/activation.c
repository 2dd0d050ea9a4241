/* activation.c - activations applied in place after a layer, and their
 * derivatives expressed through the output y (so no pre-activation copy is
 * kept for the backward pass). */
#include <math.h>
#include <string.h>

#include "common/exp_float.h"
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
        /* 1 / (1 + e^-x) overflows harmlessly to 0 for very negative x;
         * e^-x in vectors (exp_float.h), within 0.99 ulp */
        for (size_t i = 0; i < n; i++)
            y[i] = 1.0f / (1.0f + ae__exp_float(-y[i]));
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

/* The sum of a plane in a fixed order: four vectors of eight independent
 * float sums (a GCC / Clang vector, as in tsne.c), added pairwise, then
 * their lanes in order, then the tail.  One chain of dependent additions
 * runs at one addition per add latency; with one vector of lanes the sums
 * took 3.4% of an experiment-7 epoch's samples, on planes the activation's
 * step had just left in cache. */
typedef float sum_lanes __attribute__((vector_size(8 * sizeof(float))));

AE__VECTOR_CLONES
static float plane_sum(const float *d, size_t n)
{
    sum_lanes acc[4] = {{0}};
    size_t k = 0;
    for (; k + 32 <= n; k += 32)
        for (int a = 0; a < 4; a++) {
            sum_lanes v;
            memcpy(&v, d + k + 8 * a, sizeof v);
            acc[a] += v;
        }
    for (; k + 8 <= n; k += 8) {
        sum_lanes v;
        memcpy(&v, d + k, sizeof v);
        acc[0] += v;
    }
    const sum_lanes total = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    float s = 0.0f;
    for (int l = 0; l < 8; l++)
        s += total[l];
    for (; k < n; k++)
        s += d[k];
    return s;
}

typedef struct channel_job {
    ae_activation act;
    float act_param;
    const float *y;
    float *dy;
    int c;
    size_t plane, nb;
    float *db;
} channel_job;

/* Channels at a time: each image's planes of them are one run in memory,
 * which the hardware's prefetch follows, where channel by channel every
 * plane was a jump of a whole image (the sums alone took 4% of an
 * experiment-7 epoch that way, the activation's pass apart). */
enum { CHANNEL_TILE = 64 };

static void channel_sums_range(void *ctx, size_t first, size_t last, int part)
{
    (void)part;
    const channel_job *j = ctx;
    for (size_t c0 = first; c0 < last; c0 += CHANNEL_TILE) {
        const size_t c1 = last - c0 < CHANNEL_TILE ? last : c0 + CHANNEL_TILE;
        /* Double accumulators, each over the images in order: planes of
         * 784 values over 128 images would lose digits in float. */
        double sum[CHANNEL_TILE] = {0};
        for (size_t b = 0; b < j->nb; b++)
            for (size_t ci = c0; ci < c1; ci++) {
                const size_t at = (b * (size_t)j->c + ci) * j->plane;
                if (j->act != AE_ACT_NONE)
                    backward_range(j->act, j->act_param, j->y + at,
                                   j->dy + at, j->plane);
                sum[ci - c0] += plane_sum(j->dy + at, j->plane);
            }
        for (size_t ci = c0; ci < c1; ci++)
            j->db[ci] = (float)sum[ci - c0];
    }
}

/* Channels per thread below which one thread does them all: each channel
 * reads nb planes. */
#define CHANNEL_GRAIN_FLOATS ((size_t)1 << 15)

void ae__activation_backward_channels(ae_activation act, float act_param,
                                      const float *y, float *dy, int c,
                                      size_t plane, size_t nb, float *db)
{
    channel_job j = {act, act_param, y, dy, c, plane, nb, db};
    size_t per_channel = plane * nb;
    size_t grain = per_channel >= CHANNEL_GRAIN_FLOATS
                       ? 1
                       : CHANNEL_GRAIN_FLOATS / (per_channel + 1) + 1;
    ae__parallel_for((size_t)c, grain, 0, channel_sums_range, &j);
}

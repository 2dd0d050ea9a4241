/* batchnorm.c - batch normalisation, as PyTorch's nn.BatchNorm1d (dense
 * inputs: C x 1 x 1, one feature per channel) and nn.BatchNorm2d (images):
 *   y[b,c,i,j] = gamma[c] (x[b,c,i,j] - mean[c]) / sqrt(var[c] + eps) + beta[c]
 *   in: C x H x W -> out: C x H x W; weights gamma (C), biases beta (C)
 * mean and var are, in a training pass, the batch's over its N H W values
 * of channel c (var biased), and in evaluation the running statistics,
 * which each committed training pass moves by
 *   running = (1 - momentum) running + momentum batch   (var unbiased). */
#include <math.h>
#include <string.h>

#include "common/bytes.h"
#include "common/parallel.h"
#include "layers/layer_config.h"
#include "nn/model.h"


typedef struct bn_state {
    float *running;     /* 2C: running mean, then running variance */
    float *pending;     /* 2C: a training pass's batch mean and unbiased
                           variance, until committed */
    float *mean, *inv_std; /* C each: what the latest forward normalised
                              with, for backward */
    int has_pending;    /* pending holds an uncommitted pass's statistics */
    int batch_stats;    /* the latest forward used the batch's statistics */
} bn_state;

static ae_status bn_configure(ae_layer *l)
{
    const float momentum = ae__cfg_float(l, AE__BN_MOMENTUM);
    const float eps = ae__cfg_float(l, AE__BN_EPS);
    if (!(momentum >= 0.0f && momentum <= 1.0f))
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "layer %zu (batchnorm): momentum %g is outside "
                        "[0, 1]", l->index, (double)momentum);
    if (!(isfinite(eps) && eps > 0.0f))
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "layer %zu (batchnorm): eps %g must be positive and "
                        "finite", l->index, (double)eps);
    const size_t c = (size_t)l->in.c;
    l->out = l->in;
    l->n_weights = c;
    l->n_bias = c;
    /* The state is allocated here rather than at the first pass: a model
     * file's running statistics are loaded into it right after the layer
     * is appended, and its size (6 C floats) is that of the parameters. */
    if (l->state == NULL) {
        bn_state *st = ae__calloc(1, sizeof *st);
        float *f = st != NULL ? ae__calloc(6 * c, sizeof(float)) : NULL;
        if (f == NULL) {
            ae__free(st);
            return ae__fail(AE_ERR_NO_MEMORY,
                            "layer %zu (batchnorm): cannot allocate the "
                            "statistics of %zu channels", l->index, c);
        }
        st->running = f;
        st->pending = f + 2 * c;
        st->mean = f + 4 * c;
        st->inv_std = f + 5 * c;
        l->state = st;
    }
    return AE_OK;
}

/* PyTorch's reset_parameters and reset_running_stats: gamma 1, beta 0,
 * running mean 0, running variance 1.  Nothing is drawn. */
static void bn_init(ae_layer *l, ae__rng *rng)
{
    (void)rng;
    bn_state *st = l->state;
    const size_t c = (size_t)l->in.c;
    for (size_t k = 0; k < c; k++) {
        l->weights[k] = 1.0f;
        l->bias[k] = 0.0f;
        st->running[k] = 0.0f;
        st->running[c + k] = 1.0f;
    }
    st->has_pending = 0;
}

typedef struct bn_job {
    ae_layer *l;
    const float *x, *dy;
    float *y, *dx;
    size_t batch;
    int training;
} bn_job;

/* Values per thread below which one thread does the whole pass. */
enum { BN_GRAIN_VALUES = 1 << 15 };

static size_t bn_grain(const ae_layer *l, size_t batch)
{
    size_t per_channel = batch * (size_t)l->in.h * (size_t)l->in.w;
    return per_channel >= BN_GRAIN_VALUES ? 1
                                          : BN_GRAIN_VALUES / per_channel + 1;
}

/* Channels [first, last): their statistics, in double and in a fixed
 * order whatever the thread count, then y. */
static void forward_channels(void *ctx, size_t first, size_t last, int part)
{
    (void)part;
    const bn_job *j = ctx;
    const ae_layer *l = j->l;
    bn_state *st = l->state;
    const size_t C = (size_t)l->in.c, plane = (size_t)l->in.h * l->in.w;
    const size_t M = j->batch * plane;
    const double eps = (double)ae__cfg_float(l, AE__BN_EPS);
    for (size_t c = first; c < last; c++) {
        double mean, var;
        if (j->training) {
            double sum = 0.0, sq = 0.0;
            for (size_t b = 0; b < j->batch; b++) {
                const float *xp = j->x + (b * C + c) * plane;
                for (size_t k = 0; k < plane; k++)
                    sum += xp[k];
            }
            mean = sum / (double)M;
            for (size_t b = 0; b < j->batch; b++) {
                const float *xp = j->x + (b * C + c) * plane;
                for (size_t k = 0; k < plane; k++) {
                    double d = xp[k] - mean;
                    sq += d * d;
                }
            }
            var = sq / (double)M;
            st->pending[c] = (float)mean;
            /* M >= 2: check_batch refused anything less. */
            st->pending[C + c] = (float)(sq / (double)(M - 1));
        } else {
            mean = st->running[c];
            var = st->running[C + c];
        }
        const float m = (float)mean, inv = (float)(1.0 / sqrt(var + eps));
        st->mean[c] = m;
        st->inv_std[c] = inv;
        const float a = l->weights[c] * inv, beta = l->bias[c];
        for (size_t b = 0; b < j->batch; b++) {
            const float *xp = j->x + (b * C + c) * plane;
            float *yp = j->y + (b * C + c) * plane;
            for (size_t k = 0; k < plane; k++)
                yp[k] = (xp[k] - m) * a + beta;
        }
    }
}

static void bn_forward(ae_layer *l, const float *x, float *y, size_t batch,
                       float *scratch)
{
    (void)scratch;
    bn_state *st = l->state;
    bn_job j = {l, x, NULL, y, NULL, batch,
                ae__model_training_pass(l->model)};
    ae__parallel_for((size_t)l->in.c, bn_grain(l, batch), 0,
                     forward_channels, &j);
    st->batch_stats = j.training;
    if (j.training)
        st->has_pending = 1;
}

/* With xhat = (x - mean) inv_std: dgamma = sum dy xhat, dbeta = sum dy,
 * and through the batch's statistics (which depend on x)
 *   dx = gamma inv_std (dy - sum dy / M - xhat sum(dy xhat) / M),
 * or, with the running statistics (constants), dx = gamma inv_std dy. */
static void backward_channels(void *ctx, size_t first, size_t last, int part)
{
    (void)part;
    const bn_job *j = ctx;
    const ae_layer *l = j->l;
    const bn_state *st = l->state;
    const size_t C = (size_t)l->in.c, plane = (size_t)l->in.h * l->in.w;
    const double M = (double)(j->batch * plane);
    for (size_t c = first; c < last; c++) {
        const float m = st->mean[c], inv = st->inv_std[c];
        double sdy = 0.0, sdyx = 0.0;
        for (size_t b = 0; b < j->batch; b++) {
            const float *xp = j->x + (b * C + c) * plane;
            const float *gp = j->dy + (b * C + c) * plane;
            for (size_t k = 0; k < plane; k++) {
                sdy += gp[k];
                sdyx += (double)gp[k] * ((xp[k] - m) * inv);
            }
        }
        l->grad_weights[c] = (float)sdyx;
        l->grad_bias[c] = (float)sdy;
        if (j->dx == NULL)
            continue;
        const float a = l->weights[c] * inv;
        const float mdy = (float)(sdy / M), mdyx = (float)(sdyx / M);
        for (size_t b = 0; b < j->batch; b++) {
            const float *xp = j->x + (b * C + c) * plane;
            const float *gp = j->dy + (b * C + c) * plane;
            float *dp = j->dx + (b * C + c) * plane;
            if (st->batch_stats)
                for (size_t k = 0; k < plane; k++)
                    dp[k] = a * (gp[k] - mdy - (xp[k] - m) * inv * mdyx);
            else
                for (size_t k = 0; k < plane; k++)
                    dp[k] = a * gp[k];
        }
    }
}

static void bn_backward(ae_layer *l, const float *x, const float *dy,
                        float *dx, size_t batch, float *scratch)
{
    (void)scratch;
    bn_job j = {l, x, dy, NULL, dx, batch, 0};
    ae__parallel_for((size_t)l->in.c, bn_grain(l, batch), 0,
                     backward_channels, &j);
}

/* Optional op (destroy). */
static void bn_destroy(ae_layer *l)
{
    bn_state *st = l->state;
    if (st != NULL)
        ae__free(st->running);
    ae__free(st);
    l->state = NULL;
}

/* Optional op (commit): the running update of the latest training pass. */
static void bn_commit(ae_layer *l)
{
    bn_state *st = l->state;
    if (!st->has_pending)
        return;
    const size_t n = 2 * (size_t)l->in.c;
    const float mom = ae__cfg_float(l, AE__BN_MOMENTUM);
    for (size_t k = 0; k < n; k++)
        st->running[k] = (1.0f - mom) * st->running[k] + mom * st->pending[k];
    st->has_pending = 0;
}

/* Optional op (check_batch): the batch's variance needs two values. */
static ae_status bn_check_batch(const ae_layer *l, size_t batch)
{
    const size_t per_channel = batch * (size_t)l->in.h * (size_t)l->in.w;
    if (per_channel < 2)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "layer %zu (batchnorm): a training pass needs more "
                        "than one value per channel, and a batch of %zu "
                        "image(s) of %d x %d x %d gives %zu (train on larger "
                        "batches, or put the model in evaluation mode)",
                        l->index, batch, l->in.c, l->in.h, l->in.w,
                        per_channel);
    return AE_OK;
}

/* Optional op (running): what data-parallel workers average. */
static float *bn_running(ae_layer *l, size_t *n)
{
    bn_state *st = l->state;
    *n = 2 * (size_t)l->in.c;
    return st->running;
}

/* Optional ops (state_*): the running mean, then the running variance, as
 * f32: 8 C bytes. */
static size_t bn_state_size(const ae_layer *l)
{
    return 8 * (size_t)l->in.c;
}

static void bn_state_save(const ae_layer *l, uint8_t *p)
{
    const bn_state *st = l->state;
    for (size_t k = 0; k < 2 * (size_t)l->in.c; k++)
        ae__put_f32(p + 4 * k, st->running[k]);
}

static ae_status bn_state_load(ae_layer *l, const uint8_t *p, int commit)
{
    bn_state *st = l->state;
    const size_t c = (size_t)l->in.c;
    for (size_t k = 0; k < 2 * c; k++) {
        float f = ae__get_f32(p + 4 * k);
        if (!isfinite(f) || (k >= c && f < 0.0f))
            return ae__fail(AE_ERR_NOT_FINITE,
                            "layer %zu (batchnorm): running %s of channel "
                            "%zu is %g (must be finite%s)", l->index,
                            k < c ? "mean" : "variance", k % c, (double)f,
                            k < c ? "" : " and >= 0");
        if (commit)
            st->running[k] = f;
    }
    if (commit)
        st->has_pending = 0;
    return AE_OK;
}

const ae__layer_ops ae__batchnorm_ops = {
    .kind = AE_LAYER_BATCHNORM,
    .name = "batchnorm",
    .has_activation = 1,
    .configure = bn_configure,
    .init = bn_init,
    .forward = bn_forward,
    .backward = bn_backward,
    .destroy = bn_destroy,
    .state_size = bn_state_size,
    .state_save = bn_state_save,
    .state_load = bn_state_load,
    .commit = bn_commit,
    .check_batch = bn_check_batch,
    .running = bn_running,
};

ae_status ae_model_add_batchnorm(ae_model *m, ae_part part, float momentum,
                                 float eps, ae_activation act)
{
    AE_REQUIRE(m);
    int cfg[AE__LAYER_CFG_MAX] = {0};
    memcpy(&cfg[AE__BN_MOMENTUM], &momentum, sizeof momentum);
    memcpy(&cfg[AE__BN_EPS], &eps, sizeof eps);
    return ae__model_append(m, part, &ae__batchnorm_ops, cfg, act,
                            act == AE_ACT_LEAKY_RELU ? 0.01f : 0.0f);
}

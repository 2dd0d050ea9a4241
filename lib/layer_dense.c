/* layer_dense.c - fully connected layer: y = x W^T + b.
 * W is out x in, row-major, as in PyTorch's nn.Linear. */
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "layer.h"

enum { DENSE_UNITS = 0 }; /* cfg slot */

static ae_status dense_configure(ae_layer *l)
{
    int units = l->cfg[DENSE_UNITS];
    size_t fan_in = ae__shape_size(l->in);
    if (units < 1)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "layer %zu (dense): %d units, need at least 1",
                        l->index, units);
    if (fan_in > (size_t)INT32_MAX / (size_t)units)
        return ae__fail(AE_ERR_LIMIT,
                        "layer %zu (dense): %zu x %d weights is too many",
                        l->index, fan_in, units);
    l->out = (ae__shape){units, 1, 1};
    l->n_weights = fan_in * (size_t)units;
    l->n_bias = (size_t)units;
    return AE_OK;
}

/* PyTorch's nn.Linear.reset_parameters: kaiming_uniform_(a = sqrt(5)) gives
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the weights, and the bias uses the
 * same bound. */
static void dense_init(ae_layer *l, ae__rng *rng)
{
    float bound = 1.0f / sqrtf((float)ae__shape_size(l->in));
    for (size_t i = 0; i < l->n_weights; i++)
        l->weights[i] = (2.0f * ae__rng_uniformf(rng) - 1.0f) * bound;
    for (size_t i = 0; i < l->n_bias; i++)
        l->bias[i] = (2.0f * ae__rng_uniformf(rng) - 1.0f) * bound;
}

static void dense_forward(ae_layer *l, const float *x, float *y, size_t batch,
                          float *scratch)
{
    (void)scratch;
    const int in = (int)ae__shape_size(l->in), out = l->cfg[DENSE_UNITS];
    /* Start every row from the bias, then accumulate x W^T on top (beta 1):
     * the bias costs one streaming pass and no extra buffer. */
    for (size_t b = 0; b < batch; b++)
        memcpy(y + b * (size_t)out, l->bias, (size_t)out * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)batch, out, in,
                1.0f, x, in, l->weights, in, 1.0f, y, out);
}

static void dense_backward(ae_layer *l, const float *x, const float *dy,
                           float *dx, size_t batch, float *scratch)
{
    (void)scratch;
    const int in = (int)ae__shape_size(l->in), out = l->cfg[DENSE_UNITS];
    /* dW = dy^T x (out x in); db = column sums of dy; dx = dy W. */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, (int)batch,
                1.0f, dy, out, x, in, 0.0f, l->grad_weights, in);
    memset(l->grad_bias, 0, (size_t)out * sizeof(float));
    for (size_t b = 0; b < batch; b++) {
        const float *row = dy + b * (size_t)out;
        for (int j = 0; j < out; j++)
            l->grad_bias[j] += row[j];
    }
    if (dx != NULL)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)batch, in,
                    out, 1.0f, dy, out, l->weights, in, 0.0f, dx, in);
}

const ae__layer_ops ae__dense_ops = {
    .kind = AE_LAYER_DENSE,
    .name = "dense",
    .has_activation = 1,
    .configure = dense_configure,
    .init = dense_init,
    .forward = dense_forward,
    .backward = dense_backward,
};

ae_status ae_model_add_dense(ae_model *m, ae_part part, int units,
                             ae_activation act)
{
    AE_REQUIRE(m);
    int cfg[AE__LAYER_CFG_MAX] = {0};
    cfg[DENSE_UNITS] = units;
    return ae__model_append(m, part, &ae__dense_ops, cfg, act,
                            act == AE_ACT_LEAKY_RELU ? 0.01f : 0.0f);
}

/* layer_upsample2d.c - nearest-neighbour upsampling by an integer factor f,
 * as Keras' UpSampling2D: y[c][i][j] = x[c][i / f][j / f]. */
#include <string.h>

#include "layer_image.h"

enum { UP_FACTOR = 0 };

#define SIDE_LIMIT (1LL << 28)

static ae_status up_configure(ae_layer *l)
{
    const int f = l->cfg[UP_FACTOR];
    if (f < 1)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "layer %zu (upsample2d): factor %d, need at least 1",
                        l->index, f);
    const long long oh = (long long)l->in.h * f, ow = (long long)l->in.w * f;
    if (oh > SIDE_LIMIT || ow > SIDE_LIMIT)
        return ae__fail(AE_ERR_LIMIT,
                        "layer %zu (upsample2d): output %lld x %lld is too "
                        "large", l->index, oh, ow);
    l->out = (ae__shape){l->in.c, (int)oh, (int)ow};
    l->n_weights = 0;
    l->n_bias = 0;
    return AE_OK;
}

static void up_init(ae_layer *l, ae__rng *rng)
{
    (void)l;
    (void)rng;
}

static void up_forward(ae_layer *l, const float *x, float *y, size_t batch,
                       float *scratch)
{
    (void)scratch;
    const int f = l->cfg[UP_FACTOR], h = l->in.h, w = l->in.w;
    const size_t ow = (size_t)l->out.w;
    const size_t rows = batch * (size_t)l->in.c * (size_t)h;
    /* One input row becomes one widened output row, copied f times. */
    for (size_t r = 0; r < rows; r++) {
        const float *src = x + r * (size_t)w;
        float *dst = y + r * (size_t)f * ow;
        for (int j = 0; j < w; j++)
            for (int t = 0; t < f; t++)
                dst[(size_t)j * f + t] = src[j];
        for (int t = 1; t < f; t++)
            memcpy(dst + (size_t)t * ow, dst, ow * sizeof(float));
    }
}

/* dx[c][i][j] = sum over the f x f block it was copied to. */
static void up_backward(ae_layer *l, const float *x, const float *dy,
                        float *dx, size_t batch, float *scratch)
{
    (void)x;
    (void)scratch;
    if (dx == NULL)
        return;
    const int f = l->cfg[UP_FACTOR], h = l->in.h, w = l->in.w;
    const size_t ow = (size_t)l->out.w;
    const size_t rows = batch * (size_t)l->in.c * (size_t)h;
    for (size_t r = 0; r < rows; r++) {
        const float *g = dy + r * (size_t)f * ow;
        float *d = dx + r * (size_t)w;
        for (int j = 0; j < w; j++)
            d[j] = 0.0f;
        for (int t = 0; t < f; t++)
            for (int j = 0; j < w; j++)
                for (int u = 0; u < f; u++)
                    d[j] += g[(size_t)t * ow + (size_t)j * f + u];
    }
}

const ae__layer_ops ae__upsample2d_ops = {
    .kind = AE_LAYER_UPSAMPLE2D,
    .name = "upsample2d",
    .has_activation = 0,
    .configure = up_configure,
    .init = up_init,
    .forward = up_forward,
    .backward = up_backward,
};

ae_status ae_model_add_upsample2d(ae_model *m, ae_part part, int factor)
{
    AE_REQUIRE(m);
    int cfg[AE__LAYER_CFG_MAX] = {0};
    cfg[UP_FACTOR] = factor;
    return ae__model_append(m, part, &ae__upsample2d_ops, cfg, AE_ACT_NONE,
                            0.0f);
}

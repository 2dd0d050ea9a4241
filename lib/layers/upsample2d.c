/* upsample2d.c - nearest-neighbour upsampling by an integer factor f,
 * as Keras' UpSampling2D:
 *   y[c,i,j] = x[c, i/f, j/f]   (integer division)
 *   in: C x H x W -> out: C x fH x fW */
#include <string.h>

#include "common/parallel.h"
#include "common/vector_clones.h"
#include "layers/image_layout.h"
#include "layers/layer_config.h"
#include "nn/model.h"

#define SIDE_LIMIT (1LL << 28)

static ae_status up_configure(ae_layer *l)
{
    const int f = l->cfg[AE__UP_FACTOR];
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

typedef struct up_job {
    const ae_layer *l;
    const float *x, *dy;
    float *y, *dx;
} up_job;

/* Input rows [first, last) of the batch (images x channels x height). */
AE__VECTOR_CLONES
static void forward_rows(void *ctx, size_t first, size_t last, int part)
{
    (void)part;
    const up_job *jb = ctx;
    const int f = jb->l->cfg[AE__UP_FACTOR], w = jb->l->in.w;
    const size_t ow = (size_t)jb->l->out.w;
    /* One input row becomes one widened output row, copied f times. */
    for (size_t r = first; r < last; r++) {
        const float *src = jb->x + r * (size_t)w;
        float *dst = jb->y + r * (size_t)f * ow;
        if (f == 2) /* the common case, with loops the compiler unrolls */
            for (int j = 0; j < w; j++) {
                dst[2 * j] = dst[2 * j + 1] = src[j];
                dst[ow + 2 * (size_t)j] = dst[ow + 2 * (size_t)j + 1] =
                    src[j];
            }
        else {
            for (int j = 0; j < w; j++)
                for (int t = 0; t < f; t++)
                    dst[(size_t)j * f + t] = src[j];
            for (int t = 1; t < f; t++)
                memcpy(dst + (size_t)t * ow, dst, ow * sizeof(float));
        }
    }
}

static void up_forward(ae_layer *l, const float *x, float *y, size_t batch,
                       float *scratch)
{
    (void)scratch;
    up_job jb = {l, x, NULL, y, NULL};
    const size_t rows = batch * (size_t)l->in.c * (size_t)l->in.h;
    ae__parallel_for(rows, ae__plane_grain((size_t)l->out.w * l->cfg[AE__UP_FACTOR]),
                     0, forward_rows, &jb);
}

/* dx[c][i][j] = sum over the f x f block it was copied to. */
AE__VECTOR_CLONES
static void backward_rows(void *ctx, size_t first, size_t last, int part)
{
    (void)part;
    const up_job *jb = ctx;
    const int f = jb->l->cfg[AE__UP_FACTOR], w = jb->l->in.w;
    const size_t ow = (size_t)jb->l->out.w;
    for (size_t r = first; r < last; r++) {
        const float *g = jb->dy + r * (size_t)f * ow;
        float *d = jb->dx + r * (size_t)w;
        if (f == 2) { /* the sums below, in their order, vectorised */
            const float *g1 = g + ow;
            for (int j = 0; j < w; j++)
                d[j] = (((0.0f + g[2 * j]) + g[2 * j + 1]) + g1[2 * j]) +
                       g1[2 * j + 1];
            continue;
        }
        for (int j = 0; j < w; j++)
            d[j] = 0.0f;
        for (int t = 0; t < f; t++)
            for (int j = 0; j < w; j++)
                for (int u = 0; u < f; u++)
                    d[j] += g[(size_t)t * ow + (size_t)j * f + u];
    }
}

static void up_backward(ae_layer *l, const float *x, const float *dy,
                        float *dx, size_t batch, float *scratch)
{
    (void)x;
    (void)scratch;
    if (dx == NULL)
        return;
    up_job jb = {l, NULL, dy, NULL, dx};
    const size_t rows = batch * (size_t)l->in.c * (size_t)l->in.h;
    ae__parallel_for(rows, ae__plane_grain((size_t)l->out.w * l->cfg[AE__UP_FACTOR]),
                     0, backward_rows, &jb);
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
    cfg[AE__UP_FACTOR] = factor;
    return ae__model_append(m, part, &ae__upsample2d_ops, cfg, AE_ACT_NONE,
                            0.0f);
}

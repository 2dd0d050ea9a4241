/* maxunpool2d.c - 2-D max unpooling, as PyTorch's nn.MaxUnpool2d:
 *   y[c, argmax[c,o]] = x[c,o], and y = 0 everywhere else
 *   in: C x h x w (the partner's output) -> out: C x H x W (its input)
 * Each value goes back to the position its partner max-pooling layer took
 * it from, argmax[c,o], an index within the H x W plane.  Where
 * overlapping windows (stride < kernel) picked one position twice, the
 * later output wins, as in PyTorch; both carry the same value when the
 * unpooling directly follows its pooling layer.
 *
 * The positions are read from the partner's latest forward pass: image b
 * uses the positions recorded for image b of that pass.  A decoder run on
 * its own (ae_model_decode) therefore reuses the positions of the latest
 * encoder pass, so decoding the codes of the latest encode call reproduces
 * the reconstruction.  Images beyond the recorded batch (including every
 * image when the pooling layer has not run yet) go to the top-left
 * position of their window: defined, safe, and never a read of
 * unrecorded memory. */
#include <string.h>

#include "common/parallel.h"
#include "layers/image_layout.h"
#include "layers/layer_config.h"
#include "nn/model.h"

static ae_status unpool_configure(ae_layer *l)
{
    const int idx = l->cfg[AE__UNPOOL_PARTNER];
    const int oh = l->cfg[AE__UNPOOL_HEIGHT], ow = l->cfg[AE__UNPOOL_WIDTH];
    if (idx < 0 || (size_t)idx >= l->index)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "layer %zu (maxunpool2d): its pooling partner must "
                        "be an earlier layer, not layer %d",
                        l->index, idx);
    ae_layer *p = NULL;
    ae_status s = ae_model_layer(l->model, (size_t)idx, &p);
    if (s != AE_OK)
        return s;
    if (p->ops->kind != AE_LAYER_MAXPOOL2D)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "layer %zu (maxunpool2d): its partner, layer %d, is "
                        "a %s layer, not maxpool2d",
                        l->index, idx, p->ops->name);
    if (p->out.c != l->in.c || p->out.h != l->in.h || p->out.w != l->in.w)
        return ae__fail(AE_ERR_SHAPE,
                        "layer %zu (maxunpool2d): its input %d x %d x %d "
                        "differs from the output %d x %d x %d of its "
                        "partner, layer %d (maxpool2d)",
                        l->index, l->in.c, l->in.h, l->in.w, p->out.c,
                        p->out.h, p->out.w, idx);
    if (p->in.h != oh || p->in.w != ow)
        return ae__fail(AE_ERR_SHAPE,
                        "layer %zu (maxunpool2d): output size %d x %d "
                        "differs from the input %d x %d x %d of its "
                        "partner, layer %d (maxpool2d)",
                        l->index, oh, ow, p->in.c, p->in.h, p->in.w, idx);
    l->out = (ae__shape){l->in.c, oh, ow};
    l->n_weights = 0;
    l->n_bias = 0;
    return AE_OK;
}

static void unpool_init(ae_layer *l, ae__rng *rng)
{
    (void)l;
    (void)rng;
}

/* Optional op (scratch, asked for before the passes): one output plane
 * per thread, the gradient copy the backward pass consumes. */
static size_t unpool_scratch(const ae_layer *l, size_t batch)
{
    (void)batch;
    return (size_t)ae__thread_count() * (size_t)l->out.h * (size_t)l->out.w;
}

/* The partner exists and is a pooling layer: configure checked it, and
 * layers are never removed. */
static const ae_layer *partner(const ae_layer *l)
{
    ae_layer *p = NULL;
    ae_model_layer(l->model, (size_t)l->cfg[AE__UNPOOL_PARTNER], &p);
    return p;
}

/* Where plane q's values go (q / c the image of this pass, first + q / c
 * that of the call): the partner's recorded argmax, or NULL when that
 * image was not recorded (then the window's top-left corner). */
static const int32_t *positions(const ae_layer *l, size_t q, size_t c,
                                size_t first, const int32_t *argmax,
                                size_t recorded)
{
    const size_t in_plane = (size_t)l->in.h * (size_t)l->in.w;
    return first + q / c < recorded ? argmax + (first * c + q) * in_plane
                                    : NULL;
}

typedef struct unpool_job {
    const ae_layer *l;
    int s;               /* the partner's stride */
    const int32_t *argmax;
    size_t recorded;
    size_t first;        /* the call's image that is image 0 of the pass */
    const float *x, *dy;
    float *y, *dx;
    float *scratch;      /* one output plane per thread */
} unpool_job;

/* Planes [first, last) of the batch (images x channels). */
static void forward_planes(void *ctx, size_t first, size_t last, int part)
{
    (void)part;
    const unpool_job *jb = ctx;
    const ae_layer *l = jb->l;
    const int s = jb->s, h = l->in.h, w = l->in.w, out_w = l->out.w;
    const size_t in_plane = (size_t)h * (size_t)w;
    const size_t out_plane = (size_t)l->out.h * (size_t)out_w;
    const size_t c = (size_t)l->in.c;
    for (size_t q = first; q < last; q++) {
        const int32_t *ap =
            positions(l, q, c, jb->first, jb->argmax, jb->recorded);
        const float *xp = jb->x + q * in_plane;
        float *yp = jb->y + q * out_plane;
        memset(yp, 0, out_plane * sizeof(float));
        if (ap != NULL)
            for (size_t o = 0; o < in_plane; o++)
                yp[ap[o]] = xp[o];
        else
            for (int i = 0; i < h; i++)
                for (int j = 0; j < w; j++)
                    yp[(size_t)i * s * out_w + (size_t)j * s] = xp[i * w + j];
    }
}

static void unpool_forward(ae_layer *l, const float *x, float *y,
                           size_t batch, float *scratch)
{
    const ae_layer *p = partner(l);
    unpool_job jb = {l, p->cfg[AE__POOL_STRIDE], NULL, 0,
                     ae__model_pass_first(l->model), x, NULL, y, NULL,
                     scratch};
    jb.argmax = ae__maxpool2d_argmax(p, &jb.recorded);
    const size_t out_plane = (size_t)l->out.h * (size_t)l->out.w;
    ae__parallel_for(batch * (size_t)l->in.c, ae__plane_grain(out_plane), 0,
                     forward_planes, &jb);
}

/* dx[o] = dy[argmax(o)] for the input that wrote that position last, 0
 * for any earlier one it overwrote (overlapping windows only): the exact
 * gradient of the forward pass.  Walking backwards through a copy of the
 * plane's gradient and clearing each position once taken finds the last
 * writer in one pass. */
static void backward_planes(void *ctx, size_t first, size_t last, int part)
{
    const unpool_job *jb = ctx;
    const ae_layer *l = jb->l;
    const int s = jb->s, h = l->in.h, w = l->in.w, out_w = l->out.w;
    const size_t in_plane = (size_t)h * (size_t)w;
    const size_t out_plane = (size_t)l->out.h * (size_t)out_w;
    const size_t c = (size_t)l->in.c;
    float *copy = jb->scratch + (size_t)part * out_plane;
    for (size_t q = first; q < last; q++) {
        const int32_t *ap =
            positions(l, q, c, jb->first, jb->argmax, jb->recorded);
        const float *g = jb->dy + q * out_plane;
        float *d = jb->dx + q * in_plane;
        if (ap != NULL) {
            memcpy(copy, g, out_plane * sizeof(float));
            for (size_t o = in_plane; o-- > 0;) {
                d[o] = copy[ap[o]];
                copy[ap[o]] = 0.0f;
            }
        } else {
            /* Top-left corners never coincide. */
            for (int i = 0; i < h; i++)
                for (int j = 0; j < w; j++)
                    d[i * w + j] = g[(size_t)i * s * out_w + (size_t)j * s];
        }
    }
}

static void unpool_backward(ae_layer *l, const float *x, const float *dy,
                            float *dx, size_t batch, float *scratch)
{
    (void)x;
    if (dx == NULL)
        return;
    const ae_layer *p = partner(l);
    unpool_job jb = {l, p->cfg[AE__POOL_STRIDE], NULL, 0, 0, NULL, dy, NULL,
                     dx, scratch};
    jb.argmax = ae__maxpool2d_argmax(p, &jb.recorded);
    const size_t out_plane = (size_t)l->out.h * (size_t)l->out.w;
    ae__parallel_for(batch * (size_t)l->in.c, ae__plane_grain(out_plane), 0,
                     backward_planes, &jb);
}

/* Optional op (partner): the pooling layer whose positions this reads. */
static size_t unpool_partner(const ae_layer *l)
{
    return (size_t)l->cfg[AE__UNPOOL_PARTNER];
}

const ae__layer_ops ae__maxunpool2d_ops = {
    .kind = AE_LAYER_MAXUNPOOL2D,
    .name = "maxunpool2d",
    .has_activation = 0,
    .configure = unpool_configure,
    .init = unpool_init,
    .scratch = unpool_scratch,
    .forward = unpool_forward,
    .backward = unpool_backward,
    .partner = unpool_partner,
};

ae_status ae_model_add_maxunpool2d(ae_model *m, ae_part part,
                                   size_t pool_layer, int out_height,
                                   int out_width)
{
    AE_REQUIRE(m);
    if (pool_layer >= ae_model_layer_count(m))
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "layer %zu (maxunpool2d): its pooling partner must "
                        "be an earlier layer, not layer %zu",
                        ae_model_layer_count(m), pool_layer);
    int cfg[AE__LAYER_CFG_MAX] = {0};
    cfg[AE__UNPOOL_PARTNER] = (int)pool_layer;
    cfg[AE__UNPOOL_HEIGHT] = out_height;
    cfg[AE__UNPOOL_WIDTH] = out_width;
    return ae__model_append(m, part, &ae__maxunpool2d_ops, cfg, AE_ACT_NONE,
                            0.0f);
}

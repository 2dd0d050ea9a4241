/* layer_conv_transpose2d.c - 2-D transposed convolution, as PyTorch's
 * nn.ConvTranspose2d: the adjoint of a convolution of the output shape,
 * y[co][i*s - p + kh][j*s - p + kw] += W[ci][co][kh][kw] * x[ci][i][j],
 * plus b[co].  W is in_c x out_c x k x k; the output side is
 * (H - 1) * s - 2p + k + output_padding.
 *
 * A chunk of nb images is one sgemm and a columns-to-image pass:
 * cols (out_c*k*k x nb*H*W) = W^T * X (in_c x nb*H*W), then y = col2im;
 * the library's threads share the chunks (ae__conv_split). */
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "layer_image.h"
#include "parallel.h"

enum {
    CONVT_OUT = 0,
    CONVT_KERNEL = 1,
    CONVT_STRIDE = 2,
    CONVT_PAD = 3,
    CONVT_OUT_PAD = 4
};

#define SIDE_LIMIT (1LL << 28)

/* The patches of the output image that each input pixel writes to: the
 * geometry of the convolution this layer is the adjoint of. */
static ae__patches convt_patches(const ae_layer *l)
{
    ae__patches g;
    g.c = l->out.c;
    g.h = l->out.h;
    g.w = l->out.w;
    g.k = l->cfg[CONVT_KERNEL];
    g.stride = l->cfg[CONVT_STRIDE];
    g.pad = l->cfg[CONVT_PAD];
    g.oh = l->in.h;
    g.ow = l->in.w;
    return g;
}

static ae_status convt_configure(ae_layer *l)
{
    const int out_c = l->cfg[CONVT_OUT], k = l->cfg[CONVT_KERNEL];
    const int s = l->cfg[CONVT_STRIDE], p = l->cfg[CONVT_PAD];
    const int op = l->cfg[CONVT_OUT_PAD];
    if (out_c < 1 || k < 1 || s < 1)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "layer %zu (conv_transpose2d): %d output channels, "
                        "kernel %d, stride %d; each must be at least 1",
                        l->index, out_c, k, s);
    if (p < 0)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "layer %zu (conv_transpose2d): padding %d is "
                        "negative", l->index, p);
    /* Bounded so that every tap index i * stride - pad + kh stays in int. */
    if (p > SIDE_LIMIT)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "layer %zu (conv_transpose2d): padding %d is too "
                        "large", l->index, p);
    /* PyTorch's rule (dilation 1): output_padding < stride, since a larger
     * one would add rows no input pixel reaches. */
    if (op < 0 || op >= s)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "layer %zu (conv_transpose2d): output padding %d "
                        "must be in [0, stride %d)", l->index, op, s);
    const long long oh = (long long)(l->in.h - 1) * s - 2LL * p + k + op;
    const long long ow = (long long)(l->in.w - 1) * s - 2LL * p + k + op;
    if (oh < 1 || ow < 1)
        return ae__fail(AE_ERR_SHAPE,
                        "layer %zu (conv_transpose2d): output size %lld x "
                        "%lld is not positive: (%d - 1) * %d - 2 * %d + %d + "
                        "%d for input %d x %d x %d",
                        l->index, oh, ow, l->in.h, s, p, k, op, l->in.c,
                        l->in.h, l->in.w);
    if (oh > SIDE_LIMIT || ow > SIDE_LIMIT)
        return ae__fail(AE_ERR_LIMIT,
                        "layer %zu (conv_transpose2d): output %lld x %lld is "
                        "too large", l->index, oh, ow);
    const double rows = (double)out_c * k * k;
    if (rows * l->in.c > INT32_MAX ||
        rows * ((double)l->in.h * l->in.w) > INT32_MAX)
        return ae__fail(AE_ERR_LIMIT,
                        "layer %zu (conv_transpose2d): %d x %d x %d x %d "
                        "weights over a %d x %d input is too large",
                        l->index, l->in.c, out_c, k, k, l->in.h, l->in.w);
    l->out = (ae__shape){out_c, (int)oh, (int)ow};
    l->n_weights = (size_t)l->in.c * (size_t)rows;
    l->n_bias = (size_t)out_c;
    return AE_OK;
}

/* PyTorch draws like nn.Conv2d, but its fan_in comes from the weight's
 * second dimension, which for a transposed convolution is out_c:
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = out_c * k * k. */
static void convt_init(ae_layer *l, ae__rng *rng)
{
    const int k = l->cfg[CONVT_KERNEL];
    float bound = 1.0f / sqrtf((float)l->out.c * (float)k * (float)k);
    for (size_t i = 0; i < l->n_weights; i++)
        l->weights[i] = (2.0f * ae__rng_uniformf(rng) - 1.0f) * bound;
    for (size_t i = 0; i < l->n_bias; i++)
        l->bias[i] = (2.0f * ae__rng_uniformf(rng) - 1.0f) * bound;
}

/* Per image: its columns (out_c*k*k x H*W) and its input or input gradient
 * in channel-major order (in_c x H*W). */
static size_t per_image(const ae_layer *l)
{
    ae__patches g = convt_patches(l);
    return (ae__patch_rows(&g) + (size_t)l->in.c) * ae__patch_cols(&g);
}

/* Scratch: per-group weight-gradient partials and each thread's chunk
 * buffers (layer_image.h). */
static size_t convt_scratch(const ae_layer *l, size_t batch)
{
    return ae__conv_scratch(per_image(l), batch, l->n_weights, 0);
}

typedef struct convt_job {
    ae_layer *l;
    ae__patches g;
    ae__conv_split sp;
    const float *x, *dy;
    float *y, *dx;
    float *partials; /* groups x n_weights */
    float *parts;    /* sp.parts x sp.part_floats */
} convt_job;

static convt_job make_job(ae_layer *l, size_t batch, float *scratch)
{
    convt_job j = {0};
    j.l = l;
    j.g = convt_patches(l);
    j.sp = ae__conv_split_for(per_image(l), batch);
    j.partials = scratch;
    j.parts = scratch + (size_t)AE__CONV_GROUPS * l->n_weights;
    return j;
}

static void chunk_images(const ae__conv_split *sp, size_t c, size_t *b0,
                         size_t *nb)
{
    *b0 = c * sp->chunk;
    *nb = sp->batch - *b0 < sp->chunk ? sp->batch - *b0 : sp->chunk;
}

static void forward_chunks(void *ctx, size_t first, size_t last, int part)
{
    const convt_job *j = ctx;
    const ae_layer *l = j->l;
    const int in_c = l->in.c, rows = (int)ae__patch_rows(&j->g);
    const size_t per = ae__patch_cols(&j->g);
    const size_t in_size = ae__shape_size(l->in);
    const size_t out_size = ae__shape_size(l->out);
    const size_t out_plane = (size_t)l->out.h * (size_t)l->out.w;
    float *cols = j->parts + (size_t)part * j->sp.part_floats;
    float *xc = cols + j->sp.chunk * per * (size_t)rows;
    for (size_t c = first; c < last; c++) {
        size_t b0, nb;
        chunk_images(&j->sp, c, &b0, &nb);
        const int n = (int)(nb * per);
        ae__to_channel_major(j->x + b0 * in_size, in_c, per, nb, xc);
        /* cols (rows x n) = W^T (rows x in_c) Xc (in_c x n) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, rows, n, in_c,
                    1.0f, l->weights, rows, xc, n, 0.0f, cols, n);
        float *yb = j->y + b0 * out_size;
        /* Every output starts at its bias; col2im adds the products. */
        for (size_t b = 0; b < nb; b++)
            for (int co = 0; co < l->out.c; co++) {
                float *plane = yb + (b * (size_t)l->out.c + (size_t)co) *
                                        out_plane;
                for (size_t k = 0; k < out_plane; k++)
                    plane[k] = l->bias[co];
            }
        ae__col2im(&j->g, cols, nb, yb);
    }
}

static void convt_forward(ae_layer *l, const float *x, float *y,
                          size_t batch, float *scratch)
{
    convt_job j = make_job(l, batch, scratch);
    j.x = x;
    j.y = y;
    ae__parallel_for_blas(j.sp.chunks, 1, j.sp.parts, forward_chunks, &j);
}

static void backward_groups(void *ctx, size_t first, size_t last, int part)
{
    const convt_job *j = ctx;
    const ae_layer *l = j->l;
    const int in_c = l->in.c, rows = (int)ae__patch_rows(&j->g);
    const size_t per = ae__patch_cols(&j->g);
    const size_t in_size = ae__shape_size(l->in);
    const size_t out_size = ae__shape_size(l->out);
    float *cols = j->parts + (size_t)part * j->sp.part_floats;
    float *xc = cols + j->sp.chunk * per * (size_t)rows;
    for (size_t gi = first; gi < last; gi++) {
        float *dw = j->partials + gi * l->n_weights;
        size_t c0, c1;
        ae__conv_group_chunks(&j->sp, gi, &c0, &c1);
        for (size_t c = c0; c < c1; c++) {
            size_t b0, nb;
            chunk_images(&j->sp, c, &b0, &nb);
            const int n = (int)(nb * per);
            /* The output gradient seen through the patches:
             * dcols = im2col(dy). */
            ae__im2col(&j->g, j->dy + b0 * out_size, nb, cols);
            ae__to_channel_major(j->x + b0 * in_size, in_c, per, nb, xc);
            /* dW_group (in_c x rows) += Xc (in_c x n) dcols^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, in_c, rows,
                        n, 1.0f, xc, n, cols, n, c == c0 ? 0.0f : 1.0f, dw,
                        rows);
            if (j->dx != NULL) {
                /* dXc (in_c x n) = W (in_c x rows) dcols (rows x n) */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, in_c,
                            n, rows, 1.0f, l->weights, rows, cols, n, 0.0f,
                            xc, n);
                ae__from_channel_major(xc, in_c, per, nb, NULL,
                                       j->dx + b0 * in_size);
            }
        }
    }
}

static void convt_backward(ae_layer *l, const float *x, const float *dy,
                           float *dx, size_t batch, float *scratch)
{
    convt_job j = make_job(l, batch, scratch);
    j.x = x;
    j.dy = dy;
    j.dx = dx;
    ae__parallel_for_blas(j.sp.groups, 1, j.sp.parts, backward_groups, &j);
    ae__sum_partials(j.partials, j.sp.groups, l->n_weights, l->grad_weights);
    ae__channel_sums(dy, l->out.c, (size_t)l->out.h * (size_t)l->out.w,
                     batch, l->grad_bias);
}

const ae__layer_ops ae__conv_transpose2d_ops = {
    .kind = AE_LAYER_CONV_TRANSPOSE2D,
    .name = "conv_transpose2d",
    .has_activation = 1,
    .configure = convt_configure,
    .init = convt_init,
    .scratch = convt_scratch,
    .forward = convt_forward,
    .backward = convt_backward,
};

ae_status ae_model_add_conv_transpose2d(ae_model *m, ae_part part,
                                        int out_channels, int kernel,
                                        int stride, int padding,
                                        int output_padding, ae_activation act)
{
    AE_REQUIRE(m);
    int cfg[AE__LAYER_CFG_MAX] = {0};
    cfg[CONVT_OUT] = out_channels;
    cfg[CONVT_KERNEL] = kernel;
    cfg[CONVT_STRIDE] = stride;
    cfg[CONVT_PAD] = padding;
    cfg[CONVT_OUT_PAD] = output_padding;
    return ae__model_append(m, part, &ae__conv_transpose2d_ops, cfg, act,
                            act == AE_ACT_LEAKY_RELU ? 0.01f : 0.0f);
}

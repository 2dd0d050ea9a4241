/* layer_conv2d.c - 2-D convolution (cross-correlation, as PyTorch's
 * nn.Conv2d): y[co][i][j] = b[co] + sum_{ci,kh,kw} W[co][ci][kh][kw] *
 * x[ci][i*s - p + kh][j*s - p + kw], zero outside the input.  W is
 * out_c x in_c x k x k.
 *
 * A chunk of nb images is one sgemm, either through image-to-columns,
 * Y (out_c x nb*oh*ow) = W (out_c x in_c*k*k) * cols (in_c*k*k x nb*oh*ow),
 * or tap by tap (see by_taps); the library's threads share the chunks
 * (ae__conv_split in layer_image.h). */
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "layer_image.h"
#include "parallel.h"

enum { CONV_OUT = 0, CONV_KERNEL = 1, CONV_STRIDE = 2, CONV_PAD = 3 };

/* Largest output side accepted; the model bounds the total anyway, this
 * keeps every side product in range while configuring. */
#define SIDE_LIMIT (1LL << 28)

/* padding -1 asks for (k - 1) / 2, which keeps the size at stride 1. */
static int conv_pad(const ae_layer *l)
{
    return l->cfg[CONV_PAD] == -1 ? (l->cfg[CONV_KERNEL] - 1) / 2
                                  : l->cfg[CONV_PAD];
}

static ae__patches conv_patches(const ae_layer *l)
{
    ae__patches g;
    g.c = l->in.c;
    g.h = l->in.h;
    g.w = l->in.w;
    g.k = l->cfg[CONV_KERNEL];
    g.stride = l->cfg[CONV_STRIDE];
    g.pad = conv_pad(l);
    g.oh = l->out.h;
    g.ow = l->out.w;
    return g;
}

static ae_status conv_configure(ae_layer *l)
{
    const int out_c = l->cfg[CONV_OUT], k = l->cfg[CONV_KERNEL];
    const int s = l->cfg[CONV_STRIDE], pad_arg = l->cfg[CONV_PAD];
    if (out_c < 1 || k < 1 || s < 1)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "layer %zu (conv2d): %d output channels, kernel %d, "
                        "stride %d; each must be at least 1",
                        l->index, out_c, k, s);
    if (pad_arg < -1)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "layer %zu (conv2d): padding %d, need >= 0 or -1 "
                        "(same)", l->index, pad_arg);
    if (pad_arg == -1 && k % 2 == 0)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "layer %zu (conv2d): 'same' padding (-1) needs an "
                        "odd kernel, not %d", l->index, k);
    /* Bounded so that every tap index i * stride - pad + kh stays in int. */
    if (pad_arg > SIDE_LIMIT)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "layer %zu (conv2d): padding %d is too large",
                        l->index, pad_arg);
    const long long p = conv_pad(l);
    const long long ph = l->in.h + 2 * p, pw = l->in.w + 2 * p;
    if (k > ph || k > pw)
        return ae__fail(AE_ERR_SHAPE,
                        "layer %zu (conv2d): kernel %d x %d is bigger than "
                        "the padded input %lld x %lld (input %d x %d x %d, "
                        "padding %lld)",
                        l->index, k, k, ph, pw, l->in.c, l->in.h, l->in.w, p);
    const long long oh = (ph - k) / s + 1, ow = (pw - k) / s + 1;
    if (oh > SIDE_LIMIT || ow > SIDE_LIMIT)
        return ae__fail(AE_ERR_LIMIT,
                        "layer %zu (conv2d): output %lld x %lld is too large",
                        l->index, oh, ow);
    /* sgemm takes int sizes: the weights and one image's columns must fit. */
    const double rows = (double)l->in.c * k * k;
    if (rows * out_c > INT32_MAX || rows * (double)(oh * ow) > INT32_MAX)
        return ae__fail(AE_ERR_LIMIT,
                        "layer %zu (conv2d): %d x %d x %d x %d weights over "
                        "a %lld x %lld output is too large",
                        l->index, out_c, l->in.c, k, k, oh, ow);
    l->out = (ae__shape){out_c, (int)oh, (int)ow};
    l->n_weights = (size_t)out_c * (size_t)rows;
    l->n_bias = (size_t)out_c;
    return AE_OK;
}

/* PyTorch's _ConvNd.reset_parameters: kaiming_uniform_(a = sqrt(5)) gives
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in_c * k * k, and the bias
 * uses the same bound. */
static void conv_init(ae_layer *l, ae__rng *rng)
{
    const int k = l->cfg[CONV_KERNEL];
    float bound = 1.0f / sqrtf((float)l->in.c * (float)k * (float)k);
    for (size_t i = 0; i < l->n_weights; i++)
        l->weights[i] = (2.0f * ae__rng_uniformf(rng) - 1.0f) * bound;
    for (size_t i = 0; i < l->n_bias; i++)
        l->bias[i] = (2.0f * ae__rng_uniformf(rng) - 1.0f) * bound;
}

/* Two formulations, chosen by shape, each one sgemm per chunk of images:
 *  - columns: Y = W cols, cols = im2col(X) of in_c*k*k rows over the output
 *    grid;
 *  - taps: Z = W_taps X of out_c*k*k rows over the input grid, then
 *    y[o] = sum over taps of shifted Z rows.
 * Their buffers hold in_c*k*k resp. out_c*k*k rows, so the columns suit
 * widening layers and the taps narrowing ones (a 32 -> 1 output layer moves
 * 32 times less memory by taps). */
static int by_taps(const ae_layer *l)
{
    const size_t kk = (size_t)l->cfg[CONV_KERNEL] * (size_t)l->cfg[CONV_KERNEL];
    const size_t in_plane = (size_t)l->in.h * (size_t)l->in.w;
    const size_t out_plane = (size_t)l->out.h * (size_t)l->out.w;
    const size_t taps = ((size_t)l->out.c * kk + (size_t)l->in.c) * in_plane;
    const size_t cols = ((size_t)l->in.c * kk + (size_t)l->out.c) * out_plane;
    return taps < cols;
}

/* Scratch floats per image: the column (or tap) matrix and the channel-major
 * output (or input) beside it. */
static size_t per_image(const ae_layer *l)
{
    const size_t kk = (size_t)l->cfg[CONV_KERNEL] * (size_t)l->cfg[CONV_KERNEL];
    if (by_taps(l))
        return ((size_t)l->out.c * kk + (size_t)l->in.c) *
               ((size_t)l->in.h * (size_t)l->in.w);
    return ((size_t)l->in.c * kk + (size_t)l->out.c) *
           ((size_t)l->out.h * (size_t)l->out.w);
}

/* Scratch: the per-group weight-gradient partials, the taps form's
 * tap-major weights, and each thread's chunk buffers (layer_image.h). */
static size_t conv_scratch(const ae_layer *l, size_t batch)
{
    return ae__conv_scratch(per_image(l), batch, l->n_weights,
                            by_taps(l) ? l->n_weights : 0);
}

/* wt[(o*kk + t) * in_c + c] = w[(o*in_c + c) * kk + t], or back. */
static void tap_major(const ae_layer *l, const float *w, float *wt,
                      int back)
{
    const size_t in_c = (size_t)l->in.c, out_c = (size_t)l->out.c;
    const size_t kk = (size_t)l->cfg[CONV_KERNEL] * (size_t)l->cfg[CONV_KERNEL];
    for (size_t o = 0; o < out_c; o++)
        for (size_t c = 0; c < in_c; c++)
            for (size_t t = 0; t < kk; t++) {
                size_t a = (o * in_c + c) * kk + t, b = (o * kk + t) * in_c + c;
                if (back)
                    wt[a] = w[b];
                else
                    wt[b] = w[a];
            }
}

/* One pass over a batch, shared by the threads. */
typedef struct conv_job {
    ae_layer *l;
    ae__patches g;
    ae__conv_split sp;
    const float *x, *dy;
    float *y, *dx;
    float *partials; /* groups x n_weights */
    float *wt;       /* taps form: tap-major weights */
    float *parts;    /* sp.parts x sp.part_floats */
} conv_job;

static conv_job make_job(ae_layer *l, size_t batch, float *scratch)
{
    conv_job j = {0};
    j.l = l;
    j.g = conv_patches(l);
    j.sp = ae__conv_split_for(per_image(l), batch);
    j.partials = scratch;
    j.wt = scratch + (size_t)AE__CONV_GROUPS * l->n_weights;
    j.parts = j.wt + (by_taps(l) ? l->n_weights : 0);
    return j;
}

/* Images [*b0, *b0 + *nb) of chunk c. */
static void chunk_images(const ae__conv_split *sp, size_t c, size_t *b0,
                         size_t *nb)
{
    *b0 = c * sp->chunk;
    *nb = sp->batch - *b0 < sp->chunk ? sp->batch - *b0 : sp->chunk;
}

static void cols_forward_chunks(void *ctx, size_t first, size_t last,
                                int part)
{
    const conv_job *j = ctx;
    const ae_layer *l = j->l;
    const int out_c = l->out.c, rows = (int)ae__patch_rows(&j->g);
    const size_t per = ae__patch_cols(&j->g);
    const size_t in_size = ae__shape_size(l->in);
    const size_t out_size = ae__shape_size(l->out);
    float *cols = j->parts + (size_t)part * j->sp.part_floats;
    float *yc = cols + j->sp.chunk * per * (size_t)rows;
    for (size_t c = first; c < last; c++) {
        size_t b0, nb;
        chunk_images(&j->sp, c, &b0, &nb);
        const int n = (int)(nb * per);
        ae__im2col(&j->g, j->x + b0 * in_size, nb, cols);
        /* Yc (out_c x n) = W (out_c x rows) cols (rows x n) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, out_c, n, rows,
                    1.0f, l->weights, rows, cols, n, 0.0f, yc, n);
        ae__from_channel_major(yc, out_c, per, nb, l->bias,
                               j->y + b0 * out_size);
    }
}

static void taps_forward_chunks(void *ctx, size_t first, size_t last,
                                int part)
{
    const conv_job *j = ctx;
    const ae_layer *l = j->l;
    const int in_c = l->in.c, out_c = l->out.c;
    const int rows = out_c * j->g.k * j->g.k;
    const size_t in_plane = (size_t)j->g.h * (size_t)j->g.w;
    const size_t out_plane = ae__patch_cols(&j->g);
    const size_t in_size = ae__shape_size(l->in);
    const size_t out_size = ae__shape_size(l->out);
    float *z = j->parts + (size_t)part * j->sp.part_floats;
    float *xc = z + j->sp.chunk * in_plane * (size_t)rows;
    for (size_t c = first; c < last; c++) {
        size_t b0, nb;
        chunk_images(&j->sp, c, &b0, &nb);
        const int n = (int)(nb * in_plane);
        ae__to_channel_major(j->x + b0 * in_size, in_c, in_plane, nb, xc);
        /* Z (rows x n) = W_taps (rows x in_c) Xc (in_c x n) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, n, in_c,
                    1.0f, j->wt, in_c, xc, n, 0.0f, z, n);
        float *yb = j->y + b0 * out_size;
        for (size_t b = 0; b < nb; b++)
            for (int o = 0; o < out_c; o++) {
                float *plane = yb + (b * (size_t)out_c + (size_t)o) * out_plane;
                for (size_t k = 0; k < out_plane; k++)
                    plane[k] = l->bias[o];
            }
        ae__taps_gather(&j->g, out_c, z, nb, yb);
    }
}

static void conv_forward(ae_layer *l, const float *x, float *y, size_t batch,
                         float *scratch)
{
    conv_job j = make_job(l, batch, scratch);
    j.x = x;
    j.y = y;
    if (by_taps(l)) {
        tap_major(l, l->weights, j.wt, 0);
        ae__parallel_for_blas(j.sp.chunks, 1, j.sp.parts, taps_forward_chunks,
                              &j);
    } else {
        ae__parallel_for_blas(j.sp.chunks, 1, j.sp.parts, cols_forward_chunks,
                              &j);
    }
}

static void cols_backward_groups(void *ctx, size_t first, size_t last,
                                 int part)
{
    const conv_job *j = ctx;
    const ae_layer *l = j->l;
    const int out_c = l->out.c, rows = (int)ae__patch_rows(&j->g);
    const size_t per = ae__patch_cols(&j->g);
    const size_t in_size = ae__shape_size(l->in);
    const size_t out_size = ae__shape_size(l->out);
    float *cols = j->parts + (size_t)part * j->sp.part_floats;
    float *dyc = cols + j->sp.chunk * per * (size_t)rows;
    for (size_t gi = first; gi < last; gi++) {
        float *dw = j->partials + gi * l->n_weights;
        size_t c0, c1;
        ae__conv_group_chunks(&j->sp, gi, &c0, &c1);
        for (size_t c = c0; c < c1; c++) {
            size_t b0, nb;
            chunk_images(&j->sp, c, &b0, &nb);
            const int n = (int)(nb * per);
            /* The columns are rebuilt rather than kept from the forward
             * pass: keeping them for a whole batch would cost rows / out_c
             * times the output's memory, and rebuilding is a cheap
             * streaming pass. */
            ae__im2col(&j->g, j->x + b0 * in_size, nb, cols);
            ae__to_channel_major(j->dy + b0 * out_size, out_c, per, nb, dyc);
            /* dW_group (out_c x rows) += dYc (out_c x n) cols^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, out_c, rows,
                        n, 1.0f, dyc, n, cols, n, c == c0 ? 0.0f : 1.0f, dw,
                        rows);
            if (j->dx != NULL) {
                /* dcols (rows x n) = W^T dYc, scattered back onto dx. */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, rows, n,
                            out_c, 1.0f, l->weights, rows, dyc, n, 0.0f, cols,
                            n);
                memset(j->dx + b0 * in_size, 0, nb * in_size * sizeof(float));
                ae__col2im(&j->g, cols, nb, j->dx + b0 * in_size);
            }
        }
    }
}

static void taps_backward_groups(void *ctx, size_t first, size_t last,
                                 int part)
{
    const conv_job *j = ctx;
    const ae_layer *l = j->l;
    const int in_c = l->in.c, out_c = l->out.c;
    const int rows = out_c * j->g.k * j->g.k;
    const size_t in_plane = (size_t)j->g.h * (size_t)j->g.w;
    const size_t in_size = ae__shape_size(l->in);
    const size_t out_size = ae__shape_size(l->out);
    float *dz = j->parts + (size_t)part * j->sp.part_floats;
    float *xc = dz + j->sp.chunk * in_plane * (size_t)rows;
    for (size_t gi = first; gi < last; gi++) {
        float *dwt = j->partials + gi * l->n_weights;
        size_t c0, c1;
        ae__conv_group_chunks(&j->sp, gi, &c0, &c1);
        for (size_t c = c0; c < c1; c++) {
            size_t b0, nb;
            chunk_images(&j->sp, c, &b0, &nb);
            const int n = (int)(nb * in_plane);
            ae__taps_scatter(&j->g, out_c, j->dy + b0 * out_size, nb, dz);
            ae__to_channel_major(j->x + b0 * in_size, in_c, in_plane, nb, xc);
            /* dW_taps,group (rows x in_c) += dZ (rows x n) Xc^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, in_c,
                        n, 1.0f, dz, n, xc, n, c == c0 ? 0.0f : 1.0f, dwt,
                        in_c);
            if (j->dx != NULL) {
                /* dXc (in_c x n) = W_taps^T dZ */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in_c, n,
                            rows, 1.0f, j->wt, in_c, dz, n, 0.0f, xc, n);
                ae__from_channel_major(xc, in_c, in_plane, nb, NULL,
                                       j->dx + b0 * in_size);
            }
        }
    }
}

static void conv_backward(ae_layer *l, const float *x, const float *dy,
                          float *dx, size_t batch, float *scratch)
{
    conv_job j = make_job(l, batch, scratch);
    j.x = x;
    j.dy = dy;
    j.dx = dx;
    if (by_taps(l)) {
        tap_major(l, l->weights, j.wt, 0);
        ae__parallel_for_blas(j.sp.groups, 1, j.sp.parts,
                              taps_backward_groups, &j);
        /* The tap-major sum lands in the partials' first slot, then goes
         * back to the weights' order. */
        ae__sum_partials(j.partials, j.sp.groups, l->n_weights, j.partials);
        tap_major(l, j.partials, l->grad_weights, 1);
    } else {
        ae__parallel_for_blas(j.sp.groups, 1, j.sp.parts,
                              cols_backward_groups, &j);
        ae__sum_partials(j.partials, j.sp.groups, l->n_weights,
                         l->grad_weights);
    }
    ae__channel_sums(dy, l->out.c, (size_t)l->out.h * (size_t)l->out.w,
                     batch, l->grad_bias);
}

const ae__layer_ops ae__conv2d_ops = {
    .kind = AE_LAYER_CONV2D,
    .name = "conv2d",
    .has_activation = 1,
    .configure = conv_configure,
    .init = conv_init,
    .scratch = conv_scratch,
    .forward = conv_forward,
    .backward = conv_backward,
};

ae_status ae_model_add_conv2d(ae_model *m, ae_part part, int out_channels,
                              int kernel, int stride, int padding,
                              ae_activation act)
{
    AE_REQUIRE(m);
    int cfg[AE__LAYER_CFG_MAX] = {0};
    cfg[CONV_OUT] = out_channels;
    cfg[CONV_KERNEL] = kernel;
    cfg[CONV_STRIDE] = stride;
    cfg[CONV_PAD] = padding;
    return ae__model_append(m, part, &ae__conv2d_ops, cfg, act,
                            act == AE_ACT_LEAKY_RELU ? 0.01f : 0.0f);
}

/* conv2d.c - 2-D convolution (cross-correlation, as PyTorch's nn.Conv2d):
 *   y[o,i,j] = b[o] + sum_{c,u,v} W[o,c,u,v] x[c, s*i+u-p, s*j+v-p]
 *   in: C x H x W -> out: O x H' x W', H' = floor((H + 2p - k)/s) + 1
 * with x zero outside the input; W is O x C x k x k (O = out_c and
 * C = in_c below), k the kernel side, s the stride, p the padding.
 *
 * A 3x3 stride-1 convolution between enough channels runs by Winograd's
 * F(4x4, 3x3) (conv_winograd.h, which says when).  Otherwise a chunk of nb
 * images is one sgemm, either through image-to-columns,
 * Y (out_c x nb*oh*ow) = W (out_c x in_c*k*k) * cols (in_c*k*k x nb*oh*ow),
 * or tap by tap (see by_taps); the library's threads share the chunks
 * (conv_gemm.h). */
#include <math.h>

#include <cblas.h>

#include "common/long_dots.h"
#include "common/parallel.h"
#include "common/sgemm.h"
#include "common/small_gemm.h"
#include "layers/conv_gemm.h"
#include "layers/layer_config.h"
#include "layers/conv_winograd.h"
#include "nn/activation.h"
#include "nn/model.h"

/* Largest output side accepted; the model bounds the total anyway, this
 * keeps every side product in range while configuring. */
#define SIDE_LIMIT (1LL << 28)

static ae_status conv_configure(ae_layer *l)
{
    const int out_c = l->cfg[AE__CONV_OUT], k = l->cfg[AE__CONV_KERNEL];
    const int s = l->cfg[AE__CONV_STRIDE], pad_arg = l->cfg[AE__CONV_PAD];
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
    const long long p = ae__conv2d_padding(l);
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
    const int k = l->cfg[AE__CONV_KERNEL];
    ae__layer_init_uniform(
        l, rng, 1.0f / sqrtf((float)l->in.c * (float)k * (float)k));
}

/* The patches the input is read through (image_layout.h). */
static ae__patches conv_patches(const ae_layer *l)
{
    ae__patches g;
    g.c = l->in.c;
    g.h = l->in.h;
    g.w = l->in.w;
    g.k = l->cfg[AE__CONV_KERNEL];
    g.stride = l->cfg[AE__CONV_STRIDE];
    g.pad = ae__conv2d_padding(l);
    g.oh = l->out.h;
    g.ow = l->out.w;
    return g;
}

/* The columns formulation (conv_gemm.h): the input is the patch side, the
 * output the grid side. */
static ae__conv_cols cols_form(const ae_layer *l)
{
    return (ae__conv_cols){conv_patches(l), l->out.c, l->weights, l->bias};
}

/* The taps formulation: Z = W_taps Xc, the weights in tap-major order
 * (out_c*k*k x in_c) times the input in channel-major order, over the
 * input grid; then y[o] = sum over taps of shifted Z rows
 * (ae__taps_gather). */
typedef struct taps_form {
    ae__patches g;
    int in_c, out_c;
    int rows;        /* of Z: out_c*k*k */
    size_t in_plane; /* Z's and Xc's columns per image */
    const float *wt; /* tap-major weights, rows x in_c */
    const float *bias;
    ae_activation act; /* applied by the forward pass to each chunk */
    float act_param;
} taps_form;

/* Chunk scratch per image: Z, then Xc unless the products work in place
 * (conv_gemm.h), one per image on the batch's own channel planes. */
static size_t taps_per_image(const ae_layer *l)
{
    const size_t k = (size_t)l->cfg[AE__CONV_KERNEL], kk = k * k;
    const size_t plane = (size_t)l->in.h * (size_t)l->in.w;
    const size_t xc = ae__in_place(plane) ? 0 : (size_t)l->in.c;
    return ((size_t)l->out.c * kk + xc) * plane;
}

/* Either formulation is one product per chunk of images, or per image
 * where the products work in place (conv_gemm.h).  The columns hold
 * in_c*k*k rows over the output grid and Z out_c*k*k rows over the input
 * grid, so the columns suit widening layers and the taps narrowing ones (a
 * 32 -> 1 output layer moves 32 times less memory by taps): the one of
 * less scratch per image wins. */
static int by_taps(const ae_layer *l)
{
    const ae__conv_cols f = cols_form(l);
    return taps_per_image(l) < ae__cols_per_image(&f);
}

/* The schedule's methods of the two direct forms (passes still to set). */
static ae__conv_method taps_method(const ae_layer *l)
{
    return ae__direct_method(taps_per_image(l),
                             (size_t)l->in.h * (size_t)l->in.w);
}

static ae__conv_method cols_method(const ae_layer *l)
{
    const ae__conv_cols f = cols_form(l);
    return ae__direct_method(ae__cols_per_image(&f),
                             ae__patch_cols(&f.g));
}

/* Whether the layer runs by Winograd, and the convolution it computes. */
static int by_winograd(const ae_layer *l)
{
    return ae__winograd_suits(l->in.c, l->out.c, l->cfg[AE__CONV_KERNEL],
                              l->cfg[AE__CONV_STRIDE], 0);
}

static ae__winograd winograd_form(const ae_layer *l)
{
    return (ae__winograd){l->in.c,
                          l->out.c,
                          l->in.h,
                          l->in.w,
                          ae__conv2d_padding(l),
                          l->out.h,
                          l->out.w,
                          ae__winograd_tiles(l->out.h),
                          ae__winograd_tiles(l->out.w),
                          0,
                          l->weights,
                          l->bias,
                          l->act,
                          l->act_param,
                          NULL};
}

/* Optional op (scratch, asked for before the passes): the taps form's
 * tap-major weights, then the schedule's; or Winograd's.  Sized for the
 * larger of the direct and the Winograd path where either may run, so
 * that switching the fast path (ae__winograd_allow) between passes is
 * safe. */
static size_t conv_scratch(const ae_layer *l, size_t batch)
{
    size_t direct;
    if (by_taps(l)) {
        const ae__conv_method m = taps_method(l);
        direct = l->n_weights + ae__conv_scratch_of(&m, batch, l->n_weights);
    } else {
        const ae__conv_method m = cols_method(l);
        direct = ae__conv_scratch_of(&m, batch, l->n_weights);
    }
    if (l->cfg[AE__CONV_KERNEL] != 3 || l->cfg[AE__CONV_STRIDE] != 1)
        return direct;
    const ae__winograd w = winograd_form(l);
    const size_t fast = ae__winograd_scratch(&w, batch, l->n_weights);
    return fast > direct ? fast : direct;
}

/* Optional op (forward_scratch): what a forward pass alone needs, the
 * same paths without gradient room.  Winograd, which keeps its own
 * layout, is counted only where the layer takes it. */
static size_t conv_forward_scratch(const ae_layer *l, size_t batch)
{
    size_t direct;
    if (by_taps(l)) {
        const ae__conv_method m = taps_method(l);
        direct = l->n_weights + ae__conv_forward_scratch_of(&m, batch);
    } else {
        const ae__conv_method m = cols_method(l);
        direct = ae__conv_forward_scratch_of(&m, batch);
    }
    if (!by_winograd(l))
        return direct;
    const ae__winograd w = winograd_form(l);
    const size_t fast = ae__winograd_scratch(&w, batch, l->n_weights);
    return fast > direct ? fast : direct;
}

/* The columns form of a forward pass, with the activation the chunk
 * applies to its output while it is still in cache: a pass of its own
 * over the whole batch's output read and wrote experiment 7's 1 -> 32
 * layer's 12.8 MB a step once more. */
typedef struct cols_act {
    ae__conv_cols f;
    ae_activation act;
    float act_param;
} cols_act;

static void cols_forward(const void *ctx, const float *x, float *y,
                         size_t nb, float *scratch)
{
    const cols_act *ca = ctx;
    const ae__conv_cols *f = &ca->f;
    ae__cols_lay_patch(f, x, nb, scratch);
    ae__cols_to_grid(f, nb, f->bias, y, scratch);
    ae__activation_forward_serial(ca->act, ca->act_param, y,
                                  nb * (size_t)f->m * ae__patch_cols(&f->g));
}

/* wt[(o*kk + t) * in_c + c] = w[(o*in_c + c) * kk + t], or back, for
 * output channels o in [o0, o1). */
static void tap_major_channels(const ae_layer *l, const float *w, float *wt,
                               int back, size_t o0, size_t o1)
{
    const size_t in_c = (size_t)l->in.c;
    const size_t k = (size_t)l->cfg[AE__CONV_KERNEL], kk = k * k;
    for (size_t o = o0; o < o1; o++)
        for (size_t c = 0; c < in_c; c++)
            for (size_t t = 0; t < kk; t++) {
                size_t a = (o * in_c + c) * kk + t, b = (o * kk + t) * in_c + c;
                if (back)
                    wt[a] = w[b];
                else
                    wt[b] = w[a];
            }
}

static void tap_major(const ae_layer *l, const float *w, float *wt,
                      int back)
{
    tap_major_channels(l, w, wt, back, 0, (size_t)l->out.c);
}

/* The tap-major weights take the scratch's first n_weights floats. */
static taps_form taps_form_of(ae_layer *l, float *scratch)
{
    const ae__patches g = conv_patches(l);
    tap_major(l, l->weights, scratch, 0);
    return (taps_form){g,
                       l->in.c,
                       l->out.c,
                       l->out.c * g.k * g.k,
                       (size_t)g.h * (size_t)g.w,
                       scratch,
                       l->bias,
                       l->act,
                       l->act_param};
}

static void taps_forward(const void *ctx, const float *x, float *y,
                         size_t nb, float *scratch)
{
    const taps_form *f = ctx;
    const int n = (int)(nb * f->in_plane);
    float *z = scratch, *xc = z + (size_t)f->rows * (size_t)n;
    if (ae__in_place(f->in_plane)) {
        /* Z_b (rows x plane) = W_taps (rows x in_c) X_b (in_c x plane) */
        const size_t in_size = (size_t)f->in_c * f->in_plane;
        ae__small_gemm g;
        ae__small_gemm_plan(&g, 0, f->rows, (int)f->in_plane, f->in_c,
                            f->in_c, (int)f->in_plane, n);
        for (size_t b = 0; b < nb; b++)
            ae__small_gemm_run(&g, f->wt, x + b * in_size,
                               z + b * f->in_plane);
    } else {
        ae__to_channel_major(x, f->in_c, f->in_plane, nb, xc);
        /* Z (rows x n) = W_taps (rows x in_c) Xc (in_c x n) */
        ae__sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, f->rows, n,
                  f->in_c, 1.0f, f->wt, f->in_c, xc, n, 0.0f, z, n);
    }
    ae__fill_channels(y, f->out_c, ae__patch_cols(&f->g), nb, f->bias);
    ae__taps_gather(&f->g, f->out_c, z, nb, y);
    ae__activation_forward_serial(f->act, f->act_param, y,
                                  nb * (size_t)f->out_c *
                                      ae__patch_cols(&f->g));
}

/* ---- one image of a forward-only call ---------------------------------
 * The schedule gives one image one chunk, so one thread.  A forward-only
 * call (ae__model_forward_only: training passes keep the schedule and
 * their bits) splits the image's product by output channel instead, in
 * blocks fixed by the shape alone: each block is the same sgemm call,
 * over the whole input, whichever thread runs it and however many there
 * are, so the result does not depend on the thread count.  Each block
 * writes its channels of y directly (one image's grid, channel-major, is
 * its layout in y) and adds their bias; by taps it also builds its rows
 * of the tap-major weights and does its channels' shifted sum.  The
 * image's columns are built first, shared out by input channel. */
enum { ONE_IMAGE_BLOCK_CHANNELS = 16, ONE_IMAGE_MAX_BLOCKS = 4 };
/* Floats of columns a thread builds at least. */
#define ONE_IMAGE_COLUMN_FLOATS ((size_t)4096)

static size_t one_image_blocks(const ae_layer *l)
{
    size_t b = ((size_t)l->out.c + ONE_IMAGE_BLOCK_CHANNELS - 1) /
               ONE_IMAGE_BLOCK_CHANNELS;
    return b < ONE_IMAGE_MAX_BLOCKS ? b : ONE_IMAGE_MAX_BLOCKS;
}

typedef struct one_image {
    const ae_layer *l;
    ae__patches g;
    const float *x;
    float *y;
    float *work; /* the columns (rows x out plane), or Z (by taps) */
    float *wt;   /* by taps: the tap-major weights */
    size_t blocks;
} one_image;

static void one_image_columns(void *ctx, size_t c0, size_t c1, int part)
{
    const one_image *j = ctx;
    (void)part;
    ae__im2col_channels(&j->g, j->x, 1, j->work, (int)c0, (int)c1);
}

static void one_image_channels(void *ctx, size_t first, size_t last,
                               int part)
{
    const one_image *j = ctx;
    const ae_layer *l = j->l;
    const size_t out_c = (size_t)l->out.c, plane = ae__patch_cols(&j->g);
    (void)part;
    for (size_t b = first; b < last; b++) {
        const size_t o0 = out_c * b / j->blocks;
        const size_t o1 = out_c * (b + 1) / j->blocks;
        const int m = (int)(o1 - o0);
        float *yb = j->y + o0 * plane;
        if (j->wt != NULL) {
            const size_t kk = (size_t)j->g.k * (size_t)j->g.k;
            const int in_c = l->in.c;
            const int n = (int)((size_t)j->g.h * (size_t)j->g.w);
            float *wt = j->wt + o0 * kk * (size_t)in_c;
            float *z = j->work + o0 * kk * (size_t)n;
            tap_major_channels(l, l->weights, j->wt, 0, o0, o1);
            /* Z rows of these channels = W_taps rows x the image, which
             * is its own channel-major form. */
            ae__sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                      m * (int)kk, n, in_c, 1.0f, wt, in_c, j->x, n, 0.0f,
                      z, n);
            ae__fill_channels(yb, m, plane, 1, l->bias + o0);
            ae__taps_gather(&j->g, m, z, 1, yb);
        } else {
            const int rows = (int)ae__patch_rows(&j->g);
            ae__sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m,
                      (int)plane, rows, 1.0f, l->weights + o0 * rows, rows,
                      j->work, (int)plane, 0.0f, yb, (int)plane);
            ae__add_channel_bias(yb, m, plane, l->bias + o0);
        }
        /* The activation on the channels just written, still in cache. */
        if (l->act != AE_ACT_NONE)
            ae__activation_forward_serial(l->act, l->act_param, yb,
                                          (size_t)m * plane);
    }
}

/* Scratch: by columns, the image's columns; by taps, the tap-major
 * weights and Z.  Both fit in the schedule's scratch for one image. */
static void one_image_forward(ae_layer *l, const float *x, float *y,
                              float *scratch)
{
    one_image j = {l, conv_patches(l), x, y, scratch, NULL,
                   one_image_blocks(l)};
    if (by_taps(l)) {
        j.wt = scratch;
        j.work = scratch + l->n_weights;
    } else {
        const size_t per_channel = (size_t)j.g.k * (size_t)j.g.k *
                                   ae__patch_cols(&j.g);
        ae__parallel_for((size_t)l->in.c,
                         ONE_IMAGE_COLUMN_FLOATS / per_channel + 1, 0,
                         one_image_columns, &j);
    }
    ae__parallel_for_blas(j.blocks, 1, 0, one_image_channels, &j);
}

/* The layer applies its activation itself (fuses_activation): the
 * one-image path in each block, Winograd on each part's output rows, the
 * columns and taps paths on each chunk's output. */
static void conv_forward(ae_layer *l, const float *x, float *y, size_t batch,
                         float *scratch)
{
    if (batch == 1 && ae__model_forward_only(l->model) &&
        !by_winograd(l)) {
        one_image_forward(l, x, y, scratch);
        return;
    }
    if (by_winograd(l)) { /* the activation on its rows as they come */
        ae__winograd w = winograd_form(l);
        w.cache = ae__winograd_cache_of(l, &w);
        ae__winograd_forward(l, &w, x, y, batch, scratch);
        return;
    }
    if (by_taps(l)) {
        const taps_form f = taps_form_of(l, scratch);
        ae__conv_method m = taps_method(l);
        m.forward = taps_forward;
        m.ctx = &f;
        ae__conv_forward(l, &m, x, y, batch, scratch + l->n_weights);
    } else {
        const cols_act f = {cols_form(l), l->act, l->act_param};
        ae__conv_method m = cols_method(l);
        m.forward = cols_forward;
        m.ctx = &f;
        ae__conv_forward(l, &m, x, y, batch, scratch);
    }
}

static void cols_backward(const void *ctx, const float *x, const float *dy,
                          float *dx, size_t nb, float *dw, float beta,
                          float *scratch)
{
    const ae__conv_cols *f = ctx;
    /* The columns are rebuilt rather than kept from the forward pass:
     * keeping them for a whole batch would cost in_c*k*k / out_c times the
     * output's memory, and rebuilding is a cheap streaming pass. */
    ae__cols_lay_patch(f, x, nb, scratch);
    ae__cols_lay_grid(f, dy, nb, scratch);
    ae__cols_weight_grad(f, nb, dy, dw, beta, scratch);
    if (dx != NULL)
        ae__cols_to_patch(f, nb, NULL, dy, dx, scratch);
}

static void taps_backward(const void *ctx, const float *x, const float *dy,
                          float *dx, size_t nb, float *dwt, float beta,
                          float *scratch)
{
    const taps_form *f = ctx;
    const int n = (int)(nb * f->in_plane);
    float *dz = scratch, *xc = dz + (size_t)f->rows * (size_t)n;
    ae__taps_scatter(&f->g, f->out_c, dy, nb, dz);
    if (ae__in_place(f->in_plane)) {
        const int plane = (int)f->in_plane;
        const size_t in_size = (size_t)f->in_c * f->in_plane;
        ae__small_gemm g;
        ae__small_gemm_plan(&g, 1, f->in_c, plane, f->rows, f->in_c, n,
                            plane);
        for (size_t b = 0; b < nb; b++) {
            const float *dzb = dz + b * f->in_plane;
            /* dW_taps = beta dW_taps + sum over b of dZ_b X_b^T */
            ae__long_dots(f->rows, f->in_c, plane, dzb, (size_t)n,
                          x + b * in_size, (size_t)plane,
                          b == 0 ? beta : 1.0f, dwt, (size_t)f->in_c);
            /* dX_b (in_c x plane) = W_taps^T dZ_b */
            if (dx != NULL)
                ae__small_gemm_run(&g, f->wt, dzb, dx + b * in_size);
        }
        return;
    }
    ae__to_channel_major(x, f->in_c, f->in_plane, nb, xc);
    /* dW_taps (rows x in_c) = beta dW_taps + dZ (rows x n) Xc^T */
    ae__sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, f->rows, f->in_c, n,
              1.0f, dz, n, xc, n, beta, dwt, f->in_c);
    if (dx != NULL) {
        /* dXc (in_c x n) = W_taps^T dZ */
        ae__sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, f->in_c, n,
                  f->rows, 1.0f, f->wt, f->in_c, dz, n, 0.0f, xc, n);
        ae__from_channel_major(xc, f->in_c, f->in_plane, nb, NULL, dx);
    }
}

static void conv_backward(ae_layer *l, const float *x, const float *dy,
                          float *dx, size_t batch, float *scratch)
{
    if (by_winograd(l)) {
        const ae__winograd w = winograd_form(l);
        ae__winograd_backward(l, &w, x, dy, dx, batch, scratch);
    } else if (by_taps(l)) {
        const taps_form f = taps_form_of(l, scratch);
        ae__conv_method m = taps_method(l);
        m.backward = taps_backward;
        m.ctx = &f;
        /* The tap-major gradient lands where the tap-major weights were,
         * done with by then, and goes back to the weights' order. */
        ae__conv_backward(l, &m, x, dy, dx, batch, scratch + l->n_weights,
                          scratch);
        tap_major(l, scratch, l->grad_weights, 1);
    } else {
        const ae__conv_cols f = cols_form(l);
        ae__conv_method m = cols_method(l);
        m.backward = cols_backward;
        m.ctx = &f;
        ae__conv_backward(l, &m, x, dy, dx, batch, scratch, l->grad_weights);
    }
}

const ae__layer_ops ae__conv2d_ops = {
    .kind = AE_LAYER_CONV2D,
    .name = "conv2d",
    .has_activation = 1,
    .fuses_activation = 1,
    .sums_channel_bias = 1,
    .configure = conv_configure,
    .init = conv_init,
    .scratch = conv_scratch,
    .forward_scratch = conv_forward_scratch,
    .forward = conv_forward,
    .backward = conv_backward,
    .destroy = ae__winograd_cache_destroy,
};

ae_status ae_model_add_conv2d(ae_model *m, ae_part part, int out_channels,
                              int kernel, int stride, int padding,
                              ae_activation act)
{
    AE_REQUIRE(m);
    int cfg[AE__LAYER_CFG_MAX] = {0};
    cfg[AE__CONV_OUT] = out_channels;
    cfg[AE__CONV_KERNEL] = kernel;
    cfg[AE__CONV_STRIDE] = stride;
    cfg[AE__CONV_PAD] = padding;
    return ae__model_append(m, part, &ae__conv2d_ops, cfg, act,
                            act == AE_ACT_LEAKY_RELU ? 0.01f : 0.0f);
}

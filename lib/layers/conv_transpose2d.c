/* conv_transpose2d.c - 2-D transposed convolution, as PyTorch's
 * nn.ConvTranspose2d: the adjoint of a convolution of the output shape,
 *   y[o, s*i+u-p, s*j+v-p] += W[c,o,u,v] x[c,i,j], from y[o,.,.] = b[o]
 *   in: C x H x W -> out: O x H' x W', H' = (H - 1)s - 2p + k + op
 * over every c, i, j and u, v < k, what falls outside the output dropped;
 * W is C x O x k x k (C = in_c and O = out_c below), s the stride, p the
 * padding, op the output padding.
 *
 * A chunk of nb images is one sgemm and a columns-to-image pass:
 * cols (out_c*k*k x nb*H*W) = W^T * X (in_c x nb*H*W), then y = col2im;
 * the library's threads share the chunks (conv_gemm.h).  At stride 1 with
 * a 3x3 kernel and padding p <= 2 the layer is a convolution by the
 * flipped kernel at padding 2 - p, and between enough channels it runs by
 * Winograd's F(4x4, 3x3) (conv_winograd.h). */
#include <math.h>

#include "layers/conv_gemm.h"
#include "layers/layer_config.h"
#include "layers/conv_winograd.h"
#include "nn/model.h"

#define SIDE_LIMIT (1LL << 28)

static ae_status convt_configure(ae_layer *l)
{
    const int out_c = l->cfg[AE__CONVT_OUT], k = l->cfg[AE__CONVT_KERNEL];
    const int s = l->cfg[AE__CONVT_STRIDE], p = l->cfg[AE__CONVT_PAD];
    const int op = l->cfg[AE__CONVT_OUT_PAD];
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
    const int k = l->cfg[AE__CONVT_KERNEL];
    ae__layer_init_uniform(
        l, rng, 1.0f / sqrtf((float)l->out.c * (float)k * (float)k));
}

/* The patches of the output image that each input pixel writes to: the
 * geometry of the convolution this layer is the adjoint of. */
static ae__patches convt_patches(const ae_layer *l)
{
    ae__patches g;
    g.c = l->out.c;
    g.h = l->out.h;
    g.w = l->out.w;
    g.k = l->cfg[AE__CONVT_KERNEL];
    g.stride = l->cfg[AE__CONVT_STRIDE];
    g.pad = l->cfg[AE__CONVT_PAD];
    g.oh = l->in.h;
    g.ow = l->in.w;
    return g;
}

/* The columns formulation (conv_gemm.h) of the convolution this layer is
 * the adjoint of: the output is the patch side, the input the grid side,
 * and the weights (in_c x out_c*k*k) are that convolution's. */
static ae__conv_cols cols_form(const ae_layer *l)
{
    return (ae__conv_cols){convt_patches(l), l->in.c, l->weights, l->bias};
}

/* The schedule's method (passes still to set). */
static ae__conv_method cols_method(const ae_layer *l)
{
    const ae__conv_cols f = cols_form(l);
    return ae__direct_method(ae__cols_per_image(&f), ae__patch_cols(&f.g));
}

/* Whether the layer is a 3x3 stride-1 convolution Winograd can compute
 * (output padding is 0 at stride 1), and whether the layer runs that
 * way. */
static int winograd_shape(const ae_layer *l)
{
    return l->cfg[AE__CONVT_KERNEL] == 3 && l->cfg[AE__CONVT_STRIDE] == 1 &&
           l->cfg[AE__CONVT_PAD] <= 2;
}

static int by_winograd(const ae_layer *l)
{
    return winograd_shape(l) &&
           ae__winograd_suits(l->in.c, l->out.c, l->cfg[AE__CONVT_KERNEL],
                              l->cfg[AE__CONVT_STRIDE], 1);
}

static ae__winograd winograd_form(const ae_layer *l)
{
    return (ae__winograd){l->in.c,
                          l->out.c,
                          l->in.h,
                          l->in.w,
                          2 - l->cfg[AE__CONVT_PAD],
                          l->out.h,
                          l->out.w,
                          ae__winograd_tiles(l->out.h),
                          ae__winograd_tiles(l->out.w),
                          1,
                          l->weights,
                          l->bias,
                          AE_ACT_NONE, /* the model applies it */
                          0.0f,
                          NULL};
}

/* Optional op (scratch, asked for before the passes): the schedule's, for
 * the larger of the direct and the Winograd path where either may run
 * (conv2d.c says why). */
static size_t convt_scratch(const ae_layer *l, size_t batch)
{
    const ae__conv_method m = cols_method(l);
    const size_t direct = ae__conv_scratch_of(&m, batch, l->n_weights);
    if (!winograd_shape(l))
        return direct;
    const ae__winograd w = winograd_form(l);
    const size_t fast = ae__winograd_scratch(&w, batch, l->n_weights);
    return fast > direct ? fast : direct;
}

/* Optional op (forward_scratch): a forward pass alone, without gradient
 * room (conv2d.c says how). */
static size_t convt_forward_scratch(const ae_layer *l, size_t batch)
{
    const ae__conv_method m = cols_method(l);
    const size_t direct = ae__conv_forward_scratch_of(&m, batch);
    if (!by_winograd(l))
        return direct;
    const ae__winograd w = winograd_form(l);
    const size_t fast = ae__winograd_scratch(&w, batch, l->n_weights);
    return fast > direct ? fast : direct;
}

/* That convolution's input-gradient pass, starting from the bias. */
static void forward_chunk(const void *ctx, const float *x, float *y,
                          size_t nb, float *scratch)
{
    const ae__conv_cols *f = ctx;
    ae__cols_lay_grid(f, x, nb, scratch);
    ae__cols_to_patch(f, nb, f->bias, x, y, scratch);
}

static void convt_forward(ae_layer *l, const float *x, float *y,
                          size_t batch, float *scratch)
{
    if (by_winograd(l)) {
        ae__winograd w = winograd_form(l);
        w.cache = ae__winograd_cache_of(l, &w);
        ae__winograd_forward(l, &w, x, y, batch, scratch);
        return;
    }
    const ae__conv_cols f = cols_form(l);
    ae__conv_method m = cols_method(l);
    m.forward = forward_chunk;
    m.ctx = &f;
    ae__conv_forward(l, &m, x, y, batch, scratch);
}

/* That convolution's weight gradient, with this layer's output gradient
 * on the patch side and its input on the grid side; and its forward pass,
 * without bias, for dx. */
static void backward_chunk(const void *ctx, const float *x, const float *dy,
                           float *dx, size_t nb, float *dw, float beta,
                           float *scratch)
{
    const ae__conv_cols *f = ctx;
    ae__cols_lay_patch(f, dy, nb, scratch);
    ae__cols_lay_grid(f, x, nb, scratch);
    ae__cols_weight_grad(f, nb, x, dw, beta, scratch);
    if (dx != NULL)
        ae__cols_to_grid(f, nb, NULL, dx, scratch);
}

static void convt_backward(ae_layer *l, const float *x, const float *dy,
                           float *dx, size_t batch, float *scratch)
{
    if (by_winograd(l)) {
        const ae__winograd w = winograd_form(l);
        ae__winograd_backward(l, &w, x, dy, dx, batch, scratch);
        return;
    }
    const ae__conv_cols f = cols_form(l);
    ae__conv_method m = cols_method(l);
    m.backward = backward_chunk;
    m.ctx = &f;
    ae__conv_backward(l, &m, x, dy, dx, batch, scratch, l->grad_weights);
}

const ae__layer_ops ae__conv_transpose2d_ops = {
    .kind = AE_LAYER_CONV_TRANSPOSE2D,
    .name = "conv_transpose2d",
    .has_activation = 1,
    .sums_channel_bias = 1,
    .configure = convt_configure,
    .init = convt_init,
    .scratch = convt_scratch,
    .forward_scratch = convt_forward_scratch,
    .forward = convt_forward,
    .backward = convt_backward,
    .destroy = ae__winograd_cache_destroy,
};

ae_status ae_model_add_conv_transpose2d(ae_model *m, ae_part part,
                                        int out_channels, int kernel,
                                        int stride, int padding,
                                        int output_padding, ae_activation act)
{
    AE_REQUIRE(m);
    int cfg[AE__LAYER_CFG_MAX] = {0};
    cfg[AE__CONVT_OUT] = out_channels;
    cfg[AE__CONVT_KERNEL] = kernel;
    cfg[AE__CONVT_STRIDE] = stride;
    cfg[AE__CONVT_PAD] = padding;
    cfg[AE__CONVT_OUT_PAD] = output_padding;
    return ae__model_append(m, part, &ae__conv_transpose2d_ops, cfg, act,
                            act == AE_ACT_LEAKY_RELU ? 0.01f : 0.0f);
}

/* reshape.c - reinterpret each image as channels x height x width of
 * the same total size:
 *   y = x   (the same values in the same order)
 *   in: C x H x W -> out: C' x H' x W', C'H'W' = CHW
 * Flatten is a reshape to (n, 1, 1), and a reshape after a dense layer
 * feeds convolutions. */
#include <string.h>

#include "layers/image_layout.h"
#include "layers/layer_config.h"
#include "nn/model.h"

static ae_status reshape_configure(ae_layer *l)
{
    const int c = l->cfg[AE__RESHAPE_C], h = l->cfg[AE__RESHAPE_H];
    const int w = l->cfg[AE__RESHAPE_W];
    if (c < 1 || h < 1 || w < 1)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "layer %zu (reshape): shape %d x %d x %d, each side "
                        "must be at least 1", l->index, c, h, w);
    const ae__shape out = {c, h, w};
    /* Sides are ints, so the product of three fits in 64 bits. */
    const unsigned long long n =
        (unsigned long long)c * (unsigned long long)h * (unsigned long long)w;
    if (n != (unsigned long long)ae__shape_size(l->in))
        return ae__fail(AE_ERR_SHAPE,
                        "layer %zu (reshape): %d x %d x %d = %llu values, but "
                        "its input %d x %d x %d has %zu",
                        l->index, c, h, w, n, l->in.c, l->in.h, l->in.w,
                        ae__shape_size(l->in));
    l->out = out;
    l->n_weights = 0;
    l->n_bias = 0;
    return AE_OK;
}

static void reshape_init(ae_layer *l, ae__rng *rng)
{
    (void)l;
    (void)rng;
}

static void reshape_forward(ae_layer *l, const float *x, float *y,
                            size_t batch, float *scratch)
{
    (void)scratch;
    memcpy(y, x, batch * ae__shape_size(l->in) * sizeof(float));
}

static void reshape_backward(ae_layer *l, const float *x, const float *dy,
                             float *dx, size_t batch, float *scratch)
{
    (void)x;
    (void)scratch;
    if (dx != NULL)
        memcpy(dx, dy, batch * ae__shape_size(l->in) * sizeof(float));
}

const ae__layer_ops ae__reshape_ops = {
    .kind = AE_LAYER_RESHAPE,
    .name = "reshape",
    .has_activation = 0,
    .configure = reshape_configure,
    .init = reshape_init,
    .forward = reshape_forward,
    .backward = reshape_backward,
};

ae_status ae_model_add_reshape(ae_model *m, ae_part part, int channels,
                               int height, int width)
{
    AE_REQUIRE(m);
    int cfg[AE__LAYER_CFG_MAX] = {0};
    cfg[AE__RESHAPE_C] = channels;
    cfg[AE__RESHAPE_H] = height;
    cfg[AE__RESHAPE_W] = width;
    return ae__model_append(m, part, &ae__reshape_ops, cfg, AE_ACT_NONE,
                            0.0f);
}

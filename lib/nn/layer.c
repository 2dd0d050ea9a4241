/* layer.c - what every layer type shares: the public accessors of a layer
 * handle and PyTorch's default initialisation. */
#include <math.h>
#include <string.h>

#include "common/finite.h"
#include "nn/activation.h"
#include "nn/layer.h"

void ae__layer_init_uniform(ae_layer *l, ae__rng *rng, float bound)
{
    for (size_t i = 0; i < l->n_weights; i++)
        l->weights[i] = (2.0f * ae__rng_uniformf(rng) - 1.0f) * bound;
    for (size_t i = 0; i < l->n_bias; i++)
        l->bias[i] = (2.0f * ae__rng_uniformf(rng) - 1.0f) * bound;
}

ae_layer_kind ae_layer_get_kind(const ae_layer *l)
{
    return l ? l->ops->kind : (ae_layer_kind)0;
}

static void shape_out(ae__shape s, int *c, int *h, int *w)
{
    if (c)
        *c = s.c;
    if (h)
        *h = s.h;
    if (w)
        *w = s.w;
}

ae_status ae_layer_input_shape(const ae_layer *l, int *channels, int *height,
                               int *width)
{
    AE_REQUIRE(l);
    shape_out(l->in, channels, height, width);
    return AE_OK;
}

ae_status ae_layer_output_shape(const ae_layer *l, int *channels, int *height,
                                int *width)
{
    AE_REQUIRE(l);
    shape_out(l->out, channels, height, width);
    return AE_OK;
}

size_t ae_layer_output_size(const ae_layer *l)
{
    return l ? ae__shape_size(l->out) : 0;
}

ae_status ae_layer_set_activation(ae_layer *l, ae_activation act, float param)
{
    AE_REQUIRE(l);
    if (!l->ops->has_activation && act != AE_ACT_NONE)
        return ae__fail(AE_ERR_UNSUPPORTED,
                        "layer %zu (%s) takes no activation", l->index,
                        l->ops->name);
    if (!ae__activation_valid(act, param))
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "layer %zu: activation %d with parameter %g is not "
                        "valid (LeakyReLU slope must be in [0, 1))",
                        l->index, (int)act, (double)param);
    l->act = act;
    l->act_param = act == AE_ACT_LEAKY_RELU ? param : 0.0f;
    return AE_OK;
}

ae_activation ae_layer_activation(const ae_layer *l)
{
    return l ? l->act : AE_ACT_NONE;
}

size_t ae_layer_weight_count(const ae_layer *l)
{
    return l ? l->n_weights : 0;
}

size_t ae_layer_bias_count(const ae_layer *l)
{
    return l ? l->n_bias : 0;
}

static ae_status check_count(const ae_layer *l, size_t have, size_t want,
                             const char *what)
{
    if (have != want)
        return ae__fail(AE_ERR_SHAPE, "layer %zu (%s) has %zu %s, not %zu",
                        l->index, l->ops->name, want, what, have);
    return AE_OK;
}

ae_status ae_layer_get_weights(const ae_layer *l, float *w, size_t n)
{
    AE_REQUIRE(l);
    AE_REQUIRE(w);
    ae_status s = check_count(l, n, l->n_weights, "weights");
    if (s == AE_OK && n > 0) /* a layer without weights has no array */
        memcpy(w, l->weights, n * sizeof(float));
    return s;
}

ae_status ae_layer_get_bias(const ae_layer *l, float *b, size_t n)
{
    AE_REQUIRE(l);
    AE_REQUIRE(b);
    ae_status s = check_count(l, n, l->n_bias, "biases");
    if (s == AE_OK && n > 0)
        memcpy(b, l->bias, n * sizeof(float));
    return s;
}

/* Setting parameters refuses NaN and infinity: one bad value would poison
 * every later output without saying where it came from. */
static ae_status set_params(ae_layer *l, float *dst, size_t count,
                            const float *src, size_t n, const char *what)
{
    ae_status s = check_count(l, n, count, what);
    if (s != AE_OK)
        return s;
    if (!ae__all_finite(src, n))
        return ae__fail(AE_ERR_NOT_FINITE,
                        "layer %zu: new %s contain NaN or infinity", l->index,
                        what);
    if (n > 0)
        memcpy(dst, src, n * sizeof(float));
    ae__layer_params_changed(l);
    return AE_OK;
}

ae_status ae_layer_set_weights(ae_layer *l, const float *w, size_t n)
{
    AE_REQUIRE(l);
    AE_REQUIRE(w);
    return set_params(l, l->weights, l->n_weights, w, n, "weights");
}

ae_status ae_layer_set_bias(ae_layer *l, const float *b, size_t n)
{
    AE_REQUIRE(l);
    AE_REQUIRE(b);
    return set_params(l, l->bias, l->n_bias, b, n, "biases");
}

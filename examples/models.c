/* models.c - the experiments' models (see models.h). */
#include "models.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { PIXELS = 28 * 28 };

/* Evaluate a library call; on failure free the half-built model and
 * return its status. */
#define TRY(call)                                                           \
    do {                                                                    \
        ae_status s_ = (call);                                              \
        if (s_ != AE_OK) {                                                  \
            ae_model_free(m);                                               \
            *out = NULL;                                                    \
            return s_;                                                      \
        }                                                                   \
    } while (0)

ae_status model_dense(ae_model **out, const int *enc, int n_enc,
                      const int *dec, int n_dec, ae_activation hidden,
                      ae_activation code, ae_activation output,
                      unsigned long seed)
{
    ae_model *m = NULL;
    TRY(ae_model_create(&m, 1, 28, 28, seed));
    for (int i = 0; i < n_enc; i++)
        TRY(ae_model_add_dense(m, AE_ENCODER, enc[i],
                               i < n_enc - 1 ? hidden : code));
    for (int i = 0; i < n_dec; i++)
        TRY(ae_model_add_dense(m, AE_DECODER, dec[i],
                               i < n_dec - 1 ? hidden : output));
    *out = m;
    return AE_OK;
}

ae_status model_one_hidden(ae_model **out, int hidden, unsigned long seed)
{
    const int enc[] = {hidden}, dec[] = {PIXELS};
    return model_dense(out, enc, 1, dec, 1, AE_ACT_RELU, AE_ACT_RELU,
                       AE_ACT_SIGMOID, seed);
}

ae_status model_exp1_deep30(ae_model **out, unsigned long seed)
{
    /* seeds 000 and 002: nn.Linear(30, 128), ReLU, nn.Linear(128, 256),
     * ReLU, nn.Linear(256, 784), Sigmoid */
    static const int enc[] = {512, 256, 128, 30}, dec[] = {128, 256, PIXELS};
    return model_dense(out, enc, 4, dec, 3, AE_ACT_RELU, AE_ACT_NONE,
                       AE_ACT_SIGMOID, seed);
}

ae_status model_exp1_deep32(ae_model **out, ae_activation act,
                            unsigned long seed)
{
    static const int enc[] = {256, 64, 32}, dec[] = {64, 256, PIXELS};
    return model_dense(out, enc, 3, dec, 3, act, act, AE_ACT_SIGMOID, seed);
}

ae_status model_exp4_deep_denoiser(ae_model **out, unsigned long seed)
{
    static const int enc[] = {256, 128, 64}, dec[] = {128, 256, PIXELS};
    return model_dense(out, enc, 3, dec, 3, AE_ACT_RELU, AE_ACT_NONE,
                       AE_ACT_TANH, seed);
}

ae_status model_exp5_small_code(ae_model **out, unsigned long seed)
{
    static const int enc[] = {64, 8}, dec[] = {64, PIXELS};
    return model_dense(out, enc, 2, dec, 2, AE_ACT_RELU, AE_ACT_RELU,
                       AE_ACT_SIGMOID, seed);
}

ae_status model_exp8_vae(ae_model **out, int latent, unsigned long seed)
{
    ae_model *m = NULL;
    TRY(ae_model_create(&m, 1, 28, 28, seed));
    TRY(ae_model_add_dense(m, AE_ENCODER, 512, AE_ACT_RELU));
    TRY(ae_model_add_dense(m, AE_ENCODER, 256, AE_ACT_RELU));
    TRY(ae_model_add_dense(m, AE_ENCODER, 2 * latent, AE_ACT_NONE));
    TRY(ae_model_add_gaussian_sample(m, AE_ENCODER));
    TRY(ae_model_add_dense(m, AE_DECODER, 256, AE_ACT_RELU));
    TRY(ae_model_add_dense(m, AE_DECODER, 512, AE_ACT_RELU));
    TRY(ae_model_add_dense(m, AE_DECODER, PIXELS, AE_ACT_SIGMOID));
    *out = m;
    return AE_OK;
}

ae_status model_exp8_ae(ae_model **out, int latent, unsigned long seed)
{
    const int enc[] = {512, 256, latent}, dec[] = {256, 512, PIXELS};
    return model_dense(out, enc, 3, dec, 3, AE_ACT_RELU, AE_ACT_NONE,
                       AE_ACT_SIGMOID, seed);
}

ae_status model_exp6_conv(ae_model **out, conv_decoder kind,
                          unsigned long seed)
{
    ae_model *m = NULL;
    TRY(ae_model_create(&m, 1, 28, 28, seed));
    static const int widths[] = {8, 16, 16};
    for (int i = 0; i < 3; i++) {
        TRY(ae_model_add_conv2d(m, AE_ENCODER, widths[i], 3, 1, 1,
                                AE_ACT_RELU));
        TRY(ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2));
    }
    static const int sides[] = {7, 14, 28}, pools[] = {5, 3, 1},
                     outs[] = {16, 8, 1};
    for (int i = 0; i < 3; i++) {
        ae_activation act = i < 2 ? AE_ACT_RELU : AE_ACT_SIGMOID;
        if (kind == CONV_DECONV) {
            /* 3->7: k3 s2; 7->14 and 14->28: k4 s2 p1 */
            int k = i == 0 ? 3 : 4, pad = i == 0 ? 0 : 1;
            TRY(ae_model_add_conv_transpose2d(m, AE_DECODER, outs[i], k, 2,
                                              pad, 0, act));
            continue;
        }
        TRY(ae_model_add_maxunpool2d(m, AE_DECODER, (size_t)pools[i],
                                     sides[i], sides[i]));
        if (kind == CONV_UNPOOL)
            TRY(ae_model_add_conv2d(m, AE_DECODER, outs[i], 3, 1, 1, act));
        else
            TRY(ae_model_add_conv_transpose2d(m, AE_DECODER, outs[i], 3, 1,
                                              1, 0, act));
    }
    *out = m;
    return AE_OK;
}

ae_status model_exp7_conv_denoiser(ae_model **out, int height, int width,
                                   unsigned long seed)
{
    ae_model *m = NULL;
    TRY(ae_model_create(&m, 1, height, width, seed));
    TRY(ae_model_add_conv2d(m, AE_ENCODER, 32, 3, 1, -1, AE_ACT_RELU));
    TRY(ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2));
    TRY(ae_model_add_conv2d(m, AE_ENCODER, 64, 3, 1, -1, AE_ACT_RELU));
    TRY(ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2));
    TRY(ae_model_add_conv2d(m, AE_DECODER, 64, 3, 1, -1, AE_ACT_RELU));
    TRY(ae_model_add_upsample2d(m, AE_DECODER, 2));
    TRY(ae_model_add_conv2d(m, AE_DECODER, 32, 3, 1, -1, AE_ACT_RELU));
    TRY(ae_model_add_upsample2d(m, AE_DECODER, 2));
    TRY(ae_model_add_conv2d(m, AE_DECODER, 1, 3, 1, -1, AE_ACT_SIGMOID));
    *out = m;
    return AE_OK;
}

/* ---- model_describe ---------------------------------------------------- */

/* Append printf-style text to buf (size bytes, holding a string). */
__attribute__((format(printf, 3, 4)))
static void append(char *buf, size_t size, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used + 1 >= size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, size - used, fmt, ap);
    va_end(ap);
}

static const char *activation_name(ae_activation a)
{
    switch (a) {
    case AE_ACT_RELU: return " relu";
    case AE_ACT_LEAKY_RELU: return " leaky_relu";
    case AE_ACT_TANH: return " tanh";
    case AE_ACT_SIGMOID: return " sigmoid";
    default: return "";
    }
}

const char *model_describe(const ae_model *m, char *buf, size_t size)
{
    if (size == 0)
        return buf;
    buf[0] = '\0';
    size_t layers = ae_model_layer_count(m);
    size_t encoder = ae_model_encoder_layer_count(m);
    for (size_t i = 0; i < layers; i++) {
        ae_layer *l = NULL;
        int ic = 0, ih = 0, iw = 0, c = 0, h = 0, w = 0;
        if (ae_model_layer(m, i, &l) != AE_OK ||
            ae_layer_input_shape(l, &ic, &ih, &iw) != AE_OK ||
            ae_layer_output_shape(l, &c, &h, &w) != AE_OK) {
            append(buf, size, "%s?", i ? ", " : "");
            continue;
        }
        if (i == 0)
            append(buf, size, "%dx%dx%d: ", ic, ih, iw);
        else
            append(buf, size, i == encoder ? " | " : ", ");
        /* a convolution's kernel side: weights = in x out x k x k */
        size_t kk = ae_layer_weight_count(l) / ((size_t)ic * (size_t)c);
        int k = 1;
        while ((size_t)(k * k) < kk)
            k++;
        const char *act = "";
        switch (ae_layer_get_kind(l)) {
        case AE_LAYER_DENSE:
            append(buf, size, "dense %zu", ae_layer_output_size(l));
            act = activation_name(ae_layer_activation(l));
            break;
        case AE_LAYER_CONV2D:
        case AE_LAYER_CONV_TRANSPOSE2D:
            append(buf, size, "%s %dx%d %dx%dx%d",
                   ae_layer_get_kind(l) == AE_LAYER_CONV2D ? "conv"
                                                           : "deconv",
                   k, k, c, h, w);
            act = activation_name(ae_layer_activation(l));
            break;
        case AE_LAYER_MAXPOOL2D:
            append(buf, size, "maxpool %dx%dx%d", c, h, w);
            break;
        case AE_LAYER_MAXUNPOOL2D:
            append(buf, size, "unpool %dx%dx%d", c, h, w);
            break;
        case AE_LAYER_UPSAMPLE2D:
            append(buf, size, "upsample %dx%dx%d", c, h, w);
            break;
        case AE_LAYER_GAUSSIAN_SAMPLE:
            append(buf, size, "sample %d", c);
            break;
        default:
            append(buf, size, "layer %dx%dx%d", c, h, w);
            break;
        }
        append(buf, size, "%s", act);
    }
    return buf;
}

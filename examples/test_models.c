/* test_models.c - the experiments' models are the notebooks' models.
 *
 * Builds every model through models.c, the code the example programs and
 * the benchmarks build theirs with, and compares it with the originals
 * (../shared/seeds, restated in ../shared/EXPERIMENTS.md): the parameter
 * count with the figure a notebook printed or its layer list implies,
 * and the layers (kind, width or output shape, activation) with the
 * notebook's list.  One line per check; exits 1 if any check fails. */
#include <stdio.h>
#include <string.h>

#include <autoenc.h>

#include "models.h"

static int failures;

/* Parameters of PyTorch's nn.Linear(in, out) and nn.Conv2d(in, out, k) /
 * nn.ConvTranspose2d(in, out, k) (Keras' Conv2D the same): weights and
 * biases. */
static size_t linear(size_t in, size_t out) { return in * out + out; }
static size_t conv(size_t in, size_t out, size_t k)
{
    return in * out * k * k + out;
}

/* Check the model that builder status s made: its parameter count against
 * `params` (whose origin `source` names) and its layers against `layers`
 * (model_describe's form).  Frees the model. */
static void check_model(const char *what, ae_status s, ae_model *m,
                        size_t params, const char *source,
                        const char *layers)
{
    if (s != AE_OK) {
        printf("FAIL      %s: not built: %s (%s)\n", what,
               ae_status_name(s), ae_last_error());
        failures++;
        return;
    }
    size_t got = ae_model_param_count(m);
    int same = got == params;
    printf("%-9s %s: %zu parameters, %s %zu\n", same ? "ok" : "MISMATCH",
           what, got, source, params);
    failures += !same;

    char buf[1024];
    model_describe(m, buf, sizeof buf);
    same = strcmp(buf, layers) == 0;
    printf("%-9s %s: layers %s\n", same ? "ok" : "MISMATCH", what, buf);
    if (!same)
        printf("          the notebook's: %s\n", layers);
    failures += !same;
    ae_model_free(m);
}

int main(void)
{
    enum { SEED = 42 };
    ae_model *m = NULL;
    ae_status s;

    /* Experiment 1, code 30 (seeds 000 and 002): nn.Linear 784-512-256-
     * 128-30 with ReLU between, then 30-128-256-784, Sigmoid. */
    s = model_exp1_deep30(&m, SEED);
    check_model("exp1 deep AE-30", s, m, 808494, "the notebooks (seeds 000, 002)",
                "1x28x28: dense 512 relu, dense 256 relu, dense 128 relu, "
                "dense 30 | dense 128 relu, dense 256 relu, "
                "dense 784 sigmoid");

    /* Experiment 1, code 32 (seed 001): DeepEncoder 784-256-64-32 and
     * DeepDecoder 32-64-256-784, the activation after every layer but
     * the Sigmoid output. */
    const size_t deep32 = linear(784, 256) + linear(256, 64) +
                          linear(64, 32) + linear(32, 64) +
                          linear(64, 256) + linear(256, 784);
    static const struct { ae_activation act; const char *name; } acts[] = {
        {AE_ACT_RELU, "relu"}, {AE_ACT_TANH, "tanh"},
        {AE_ACT_LEAKY_RELU, "leaky_relu"}};
    for (int i = 0; i < 3; i++) {
        const char *a = acts[i].name;
        char what[64], layers[512];
        snprintf(what, sizeof what, "exp1 deep AE-32 %s", a);
        snprintf(layers, sizeof layers,
                 "1x28x28: dense 256 %s, dense 64 %s, dense 32 %s | "
                 "dense 64 %s, dense 256 %s, dense 784 sigmoid",
                 a, a, a, a, a);
        s = model_exp1_deep32(&m, acts[i].act, SEED);
        check_model(what, s, m, deep32, "seed 001's layers", layers);
    }

    /* One hidden layer, 784-h (ReLU) / h-784 (Sigmoid): 784h + h + 784h +
     * 784, for every h the experiments use. */
    static const struct { int h; const char *where; } one[] = {
        {32, "exp1"}, {64, "exp2"}, {128, "exp2"}, {256, "exp2, exp3, exp4"},
        {1024, "exp3"}};
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
        size_t h = (size_t)one[i].h;
        char what[64], layers[256];
        snprintf(what, sizeof what, "%s one hidden layer h=%zu", one[i].where,
                 h);
        snprintf(layers, sizeof layers,
                 "1x28x28: dense %zu relu | dense 784 sigmoid", h);
        s = model_one_hidden(&m, (int)h, SEED);
        check_model(what, s, m, 784 * h + h + h * 784 + 784,
                    "784h + h + h*784 + 784 =", layers);
    }

    /* Experiment 4's variant (seed 003): 784-256-128-64, ReLU between, /
     * 64-128-256-784, Tanh. */
    s = model_exp4_deep_denoiser(&m, SEED);
    check_model("exp4 deep denoiser", s, m,
                linear(784, 256) + linear(256, 128) + linear(128, 64) +
                    linear(64, 128) + linear(128, 256) + linear(256, 784),
                "seed 003's layers",
                "1x28x28: dense 256 relu, dense 128 relu, dense 64 | "
                "dense 128 relu, dense 256 relu, dense 784 tanh");

    /* Experiment 5 (EXPERIMENTS.md): 784-64-8 (ReLU, the code too) /
     * 8-64-784 (Sigmoid). */
    s = model_exp5_small_code(&m, SEED);
    check_model("exp5 small code", s, m,
                linear(784, 64) + linear(64, 8) + linear(8, 64) +
                    linear(64, 784),
                "EXPERIMENTS.md's layers",
                "1x28x28: dense 64 relu, dense 8 relu | dense 64 relu, "
                "dense 784 sigmoid");

    /* Experiment 8 (issue 12): experiment 1's dense shape around the
     * Gaussian sampling layer, which has no parameters; the plain
     * autoencoder of the same code size. */
    s = model_exp8_vae(&m, 20, SEED);
    check_model("exp8 VAE-20", s, m,
                linear(784, 512) + linear(512, 256) + linear(256, 40) +
                    linear(20, 256) + linear(256, 512) + linear(512, 784),
                "issue 12's layers",
                "1x28x28: dense 512 relu, dense 256 relu, dense 40, "
                "sample 20 | dense 256 relu, dense 512 relu, dense 784 "
                "sigmoid");
    s = model_exp8_ae(&m, 2, SEED);
    check_model("exp8 AE-2", s, m,
                linear(784, 512) + linear(512, 256) + linear(256, 2) +
                    linear(2, 256) + linear(256, 512) + linear(512, 784),
                "issue 12's layers",
                "1x28x28: dense 512 relu, dense 256 relu, dense 2 | "
                "dense 256 relu, dense 512 relu, dense 784 sigmoid");

    /* Experiment 6 (seed 002, EXPERIMENTS.md): conv 1->8, 8->16, 16->16
     * (3x3, padding 1), each max-pooled, then three decoders. */
    const size_t encoder6 = conv(1, 8, 3) + conv(8, 16, 3) + conv(16, 16, 3);
    const char *enc6 = "1x28x28: conv 3x3 8x28x28 relu, maxpool 8x14x14, "
                       "conv 3x3 16x14x14 relu, maxpool 16x7x7, "
                       "conv 3x3 16x7x7 relu, maxpool 16x3x3";
    static const struct { conv_decoder kind; const char *name, *layers; }
    decoders[] = {
        {CONV_UNPOOL, "unpool",
         " | unpool 16x7x7, conv 3x3 16x7x7 relu, unpool 16x14x14, "
         "conv 3x3 8x14x14 relu, unpool 8x28x28, conv 3x3 1x28x28 sigmoid"},
        {CONV_DECONV, "deconv",
         " | deconv 3x3 16x7x7 relu, deconv 4x4 8x14x14 relu, "
         "deconv 4x4 1x28x28 sigmoid"},
        {CONV_BOTH, "both",
         " | unpool 16x7x7, deconv 3x3 16x7x7 relu, unpool 16x14x14, "
         "deconv 3x3 8x14x14 relu, unpool 8x28x28, "
         "deconv 3x3 1x28x28 sigmoid"}};
    const size_t decoder6[] = {
        conv(16, 16, 3) + conv(16, 8, 3) + conv(8, 1, 3),
        conv(16, 16, 3) + conv(16, 8, 4) + conv(8, 1, 4),
        conv(16, 16, 3) + conv(16, 8, 3) + conv(8, 1, 3)};
    for (int i = 0; i < 3; i++) {
        char what[64], layers[512];
        snprintf(what, sizeof what, "exp6 %s decoder", decoders[i].name);
        snprintf(layers, sizeof layers, "%s%s", enc6, decoders[i].layers);
        s = model_exp6_conv(&m, decoders[i].kind, SEED);
        check_model(what, s, m, encoder6 + decoder6[i], "seed 002's layers",
                    layers);
    }

    /* Experiment 7: the Keras sheet's (seed 004) summary, "Total params:
     * 74,497", with its output shapes and, layer by layer, 320, 0,
     * 18,496, 0, 36,928, 0, 18,464, 0, 289 parameters. */
    s = model_exp7_conv_denoiser(&m, 28, 28, SEED);
    if (s == AE_OK) {
        static const size_t keras[] = {320, 0, 18496, 0, 36928,
                                       0, 18464, 0, 289};
        enum { LAYERS = sizeof keras / sizeof keras[0] };
        int same = ae_model_layer_count(m) == LAYERS;
        char got[256] = "";
        for (size_t i = 0; i < ae_model_layer_count(m); i++) {
            ae_layer *l = NULL;
            size_t n = 0;
            if (ae_model_layer(m, i, &l) == AE_OK)
                n = ae_layer_weight_count(l) + ae_layer_bias_count(l);
            same &= i < LAYERS && n == keras[i];
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%zu",
                     i ? " " : "", n);
        }
        printf("%-9s exp7 conv denoiser: parameters per layer %s, the Keras "
               "summary (seed 004) 320 0 18496 0 36928 0 18464 0 289\n",
               same ? "ok" : "MISMATCH", got);
        failures += !same;
    }
    check_model("exp7 conv denoiser", s, m, 74497, "the Keras summary",
                "1x28x28: conv 3x3 32x28x28 relu, maxpool 32x14x14, "
                "conv 3x3 64x14x14 relu, maxpool 64x7x7 | "
                "conv 3x3 64x7x7 relu, upsample 64x14x14, "
                "conv 3x3 32x14x14 relu, upsample 32x28x28, "
                "conv 3x3 1x28x28 sigmoid");

    if (failures) {
        printf("%d check%s FAILED: an example's model is not the "
               "notebook's\n", failures, failures == 1 ? "" : "s");
        return 1;
    }
    printf("all models match the notebooks\n");
    return 0;
}

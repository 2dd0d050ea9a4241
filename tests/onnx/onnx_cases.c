/* onnx_cases.c - the files tests/onnx/onnx_test.sh runs in ONNX Runtime.
 *
 *   onnx_cases DIR
 *
 * Builds every experiment's model (examples/models.c) and one small model
 * per layer kind, exports each as a whole, its encoder and its decoder
 * (ae_model_export_onnx), and writes, for batches of 1 and 5 images, the
 * inputs and what the library computes from them: ae_model_reconstruct,
 * ae_model_encode and ae_model_decode (of those codes), as .npy files.
 * DIR/manifest.tsv lists one check a line:
 *   run     MODEL PART FILE.onnx PARAMS IN.npy EXPECTED.npy
 *   refused MODEL PART MESSAGE
 * PARAMS is the number of parameters the part holds, which the file's
 * initializers must hold too.  A part the exporter refuses is listed only
 * where the refusal is expected (a decoder that unpools with the
 * encoder's positions); any other failure exits 1.  Public API only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <autoenc.h>

#include "models.h"

static const char *dir;
static FILE *manifest;

static void die(const char *what, ae_status s)
{
    fprintf(stderr, "onnx_cases: %s: %s (%s)\n", what, ae_status_name(s),
            ae_last_error());
    exit(1);
}

static void check(ae_status s, const char *what)
{
    if (s != AE_OK)
        die(what, s);
}

static const char *path_of(const char *model, const char *what)
{
    static char path[8][4200];
    static int turn;
    turn = (turn + 1) % 8;
    snprintf(path[turn], sizeof path[turn], "%s/%s-%s", dir, model, what);
    return path[turn];
}

/* Images of bright rectangles on a background: of faint noise, or, with
 * zero_background, of exact zeros, as digits have.
 *
 * A flat region makes every pooling window in it a tie that exact
 * arithmetic would not break but rounding does: a convolution over it
 * gives values equal but for the last bit, each summed in its own order,
 * which differs between the library and the runtime (and within the
 * library between batch sizes), so an unpooling layer would put the value
 * at another position of the window; the noise keeps the windows' values
 * apart.  Zeros are used where a pooling layer reads the input itself:
 * there the ties are exact in both, and both must take the first maximum
 * of a window. */
static void fill_images(float *x, size_t n, int c, int h, int w,
                        unsigned seed, int zero_background)
{
    unsigned r = seed * 2654435761u + 1u;
    const size_t total = n * (size_t)c * h * w;
    for (size_t i = 0; i < total; i++) {
        r = r * 1103515245u + 12345u;
        x[i] = zero_background ? 0.0f
                               : 0.2f * (float)(r >> 8) / 16777216.0f;
    }
    for (size_t b = 0; b < n; b++)
        for (int ch = 0; ch < c; ch++) {
            float *p = x + (b * (size_t)c + (size_t)ch) * h * w;
            for (int k = 0; k < 4; k++) {
                r = r * 1103515245u + 12345u;
                int i0 = (int)(r >> 8) % h, j0 = (int)(r >> 16) % w;
                r = r * 1103515245u + 12345u;
                int hh = 1 + (int)(r >> 8) % (h / 2 + 1);
                int ww = 1 + (int)(r >> 16) % (w / 2 + 1);
                for (int i = i0; i < h && i < i0 + hh; i++)
                    for (int j = j0; j < w && j < j0 + ww; j++) {
                        r = r * 1103515245u + 12345u;
                        p[i * w + j] = 0.25f + 0.75f * (float)(r >> 8) /
                                                   16777216.0f;
                    }
            }
        }
}

/* 1 if layer i's output is 2-D in the file: a dense layer's, and that of
 * a batch-norm or dropout layer whose input is. */
static int is_flat(const ae_model *m, size_t i)
{
    for (;; i--) {
        ae_layer *l;
        check(ae_model_layer(m, i, &l), "layer");
        ae_layer_kind kind = ae_layer_get_kind(l);
        if (kind == AE_LAYER_DENSE || kind == AE_LAYER_GAUSSIAN_SAMPLE)
            return 1;
        if ((kind != AE_LAYER_BATCHNORM && kind != AE_LAYER_DROPOUT) ||
            i == 0)
            return 0;
    }
}

/* The shape of layer i's output as the exported file gives it: [n, units]
 * after a dense layer (and batch norm or dropout after one), [n, c, h, w]
 * after the others. */
static int tensor_shape(const ae_model *m, size_t i, size_t n, size_t *shape)
{
    ae_layer *l;
    int c, h, w;
    check(ae_model_layer(m, i, &l), "layer");
    check(ae_layer_output_shape(l, &c, &h, &w), "shape");
    shape[0] = n;
    if (is_flat(m, i)) {
        shape[1] = (size_t)c;
        return 2;
    }
    shape[1] = (size_t)c;
    shape[2] = (size_t)h;
    shape[3] = (size_t)w;
    return 4;
}

/* Parameters of layers [first, last]. */
static size_t params_of(const ae_model *m, size_t first, size_t last)
{
    size_t total = 0;
    for (size_t i = first; i <= last; i++) {
        ae_layer *l;
        check(ae_model_layer(m, i, &l), "layer");
        total += ae_layer_weight_count(l) + ae_layer_bias_count(l);
    }
    return total;
}

/* 1 if unpooling layer i's partner is in the encoder.  The public API
 * does not name the partner, so it is found as the test's models build
 * it: the nearest pooling layer before i whose output shape is i's input
 * shape and whose input size is i's output size. */
static int unpools_from_encoder(const ae_model *m, size_t i)
{
    ae_layer *u;
    int c, h, w, oc, oh, ow;
    check(ae_model_layer(m, i, &u), "layer");
    check(ae_layer_input_shape(u, &c, &h, &w), "shape");
    check(ae_layer_output_shape(u, &oc, &oh, &ow), "shape");
    for (size_t p = i; p-- > 0;) {
        ae_layer *l;
        int pc, ph, pw, qc, qh, qw;
        check(ae_model_layer(m, p, &l), "layer");
        if (ae_layer_get_kind(l) != AE_LAYER_MAXPOOL2D)
            continue;
        check(ae_layer_output_shape(l, &pc, &ph, &pw), "shape");
        check(ae_layer_input_shape(l, &qc, &qh, &qw), "shape");
        if (pc == c && ph == h && pw == w && qh == oh && qw == ow)
            return p < ae_model_encoder_layer_count(m);
    }
    return 0;
}

static const char *part_label[] = {"model", "encoder", "decoder"};

/* Export every part of m and write its checks, on images with a zero
 * background or not (fill_images); frees m. */
static void add_model_on(const char *name, ae_status built, ae_model *m,
                         int zero_background)
{
    if (built != AE_OK)
        die(name, built);
    ae_layer *first;
    int c, h, w;
    check(ae_model_layer(m, 0, &first), "layer 0");
    check(ae_layer_input_shape(first, &c, &h, &w), "input shape");
    const size_t layers = ae_model_layer_count(m);
    const size_t enc = ae_model_encoder_layer_count(m);
    const size_t in = ae_model_input_size(m), code = ae_model_code_size(m);

    /* The decoder alone cannot be exported when it unpools with positions
     * the encoder's pooling found, and only then. */
    int refusal_expected = 0;
    for (size_t i = enc; i < layers; i++) {
        ae_layer *l;
        check(ae_model_layer(m, i, &l), "layer");
        if (ae_layer_get_kind(l) == AE_LAYER_MAXUNPOOL2D)
            refusal_expected |= unpools_from_encoder(m, i);
    }
    int exported[3];
    for (int part = 0; part < 3; part++) {
        const char *file = path_of(name, part == 0   ? "model.onnx"
                                         : part == 1 ? "encoder.onnx"
                                                     : "decoder.onnx");
        ae_status s = ae_model_export_onnx(m, file, (ae_onnx_part)part);
        exported[part] = s == AE_OK;
        if (s == AE_ERR_UNSUPPORTED && part == AE_ONNX_DECODER &&
            refusal_expected) {
            fprintf(manifest, "refused\t%s\t%s\t%s\n", name, part_label[part],
                    ae_last_error());
            continue;
        }
        check(s, file);
        if (part == AE_ONNX_DECODER && refusal_expected) {
            fprintf(stderr, "onnx_cases: %s: the decoder was exported, but "
                    "it unpools with the encoder's positions\n", name);
            exit(1);
        }
    }

    static const size_t batches[] = {1, 5};
    for (int k = 0; k < 2; k++) {
        const size_t n = batches[k];
        float *x = malloc(n * in * sizeof *x);
        float *y = malloc(n * in * sizeof *y);
        float *z = malloc(n * code * sizeof *z);
        float *d = malloc(n * in * sizeof *d);
        if (!x || !y || !z || !d)
            die("malloc", AE_ERR_NO_MEMORY);
        fill_images(x, n, c, h, w, (unsigned)(n * 7 + strlen(name)),
                    zero_background);
        check(ae_model_reconstruct(m, x, n, y), "reconstruct");
        check(ae_model_encode(m, x, n, z), "encode");
        check(ae_model_decode(m, z, n, d), "decode");

        char tag[32];
        size_t image[4] = {n, (size_t)c, (size_t)h, (size_t)w}, cs[4];
        int crank = tensor_shape(m, enc - 1, n, cs);
        snprintf(tag, sizeof tag, "input-%zu.npy", n);
        const char *xin = path_of(name, tag);
        check(ae_npy_save(xin, AE_NPY_F32, x, image, 4), xin);
        snprintf(tag, sizeof tag, "reconstruct-%zu.npy", n);
        const char *yout = path_of(name, tag);
        check(ae_npy_save(yout, AE_NPY_F32, y, image, 4), yout);
        snprintf(tag, sizeof tag, "code-%zu.npy", n);
        const char *zout = path_of(name, tag);
        check(ae_npy_save(zout, AE_NPY_F32, z, cs, crank), zout);
        snprintf(tag, sizeof tag, "decode-%zu.npy", n);
        const char *dout = path_of(name, tag);
        check(ae_npy_save(dout, AE_NPY_F32, d, image, 4), dout);

        if (exported[0])
            fprintf(manifest, "run\t%s\tmodel\t%s\t%zu\t%s\t%s\n", name,
                    path_of(name, "model.onnx"), params_of(m, 0, layers - 1),
                    xin, yout);
        if (exported[1])
            fprintf(manifest, "run\t%s\tencoder\t%s\t%zu\t%s\t%s\n", name,
                    path_of(name, "encoder.onnx"), params_of(m, 0, enc - 1),
                    xin, zout);
        if (exported[2])
            fprintf(manifest, "run\t%s\tdecoder\t%s\t%zu\t%s\t%s\n", name,
                    path_of(name, "decoder.onnx"),
                    params_of(m, enc, layers - 1), zout, dout);
        free(x);
        free(y);
        free(z);
        free(d);
    }
    ae_model_free(m);
}

static void add_model(const char *name, ae_status built, ae_model *m)
{
    add_model_on(name, built, m, 0);
}

/* The small models, one a layer kind (and every activation), each with
 * the geometry that is easiest to get wrong. */

#define TRY(call) check((call), #call)

/* Dense layers on an image input (flattened), every activation. */
static ae_model *kind_dense(void)
{
    ae_model *m;
    ae_layer *l;
    TRY(ae_model_create(&m, 1, 5, 5, 11));
    TRY(ae_model_add_dense(m, AE_ENCODER, 7, AE_ACT_LEAKY_RELU));
    TRY(ae_model_layer(m, 0, &l));
    TRY(ae_layer_set_activation(l, AE_ACT_LEAKY_RELU, 0.3f));
    TRY(ae_model_add_dense(m, AE_ENCODER, 4, AE_ACT_NONE));
    TRY(ae_model_add_dense(m, AE_DECODER, 6, AE_ACT_TANH));
    TRY(ae_model_add_dense(m, AE_DECODER, 9, AE_ACT_LEAKY_RELU));
    TRY(ae_model_add_dense(m, AE_DECODER, 10, AE_ACT_RELU));
    TRY(ae_model_add_dense(m, AE_DECODER, 25, AE_ACT_SIGMOID));
    return m;
}

/* Convolutions: stride 2 with padding, an even kernel, "same" padding,
 * then a dense decoder whose output is reshaped back to the image. */
static ae_model *kind_conv2d(void)
{
    ae_model *m;
    TRY(ae_model_create(&m, 2, 9, 9, 12));
    TRY(ae_model_add_conv2d(m, AE_ENCODER, 4, 3, 2, 1, AE_ACT_RELU));
    TRY(ae_model_add_conv2d(m, AE_ENCODER, 3, 2, 1, 0, AE_ACT_LEAKY_RELU));
    TRY(ae_model_add_conv2d(m, AE_ENCODER, 3, 3, 1, -1, AE_ACT_NONE));
    TRY(ae_model_add_dense(m, AE_DECODER, 162, AE_ACT_SIGMOID));
    return m;
}

/* Overlapping pooling windows (kernel 3, stride 2), unpooled by the
 * decoder with the encoder's positions. */
static ae_model *kind_maxpool_overlapping(void)
{
    ae_model *m;
    TRY(ae_model_create(&m, 1, 7, 7, 13));
    TRY(ae_model_add_conv2d(m, AE_ENCODER, 3, 3, 1, -1, AE_ACT_RELU));
    TRY(ae_model_add_maxpool2d(m, AE_ENCODER, 3, 2));
    TRY(ae_model_add_maxunpool2d(m, AE_DECODER, 1, 7, 7));
    TRY(ae_model_add_conv2d(m, AE_DECODER, 1, 3, 1, -1, AE_ACT_SIGMOID));
    return m;
}

/* Pooling that drops a row and a column (7 -> 3), undone exactly by the
 * unpooling (3 -> 7); on the input itself, so that its zeros are exact
 * ties. */
static ae_model *kind_maxunpool_odd(void)
{
    ae_model *m;
    TRY(ae_model_create(&m, 2, 7, 7, 14));
    TRY(ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2));
    TRY(ae_model_add_maxunpool2d(m, AE_DECODER, 0, 7, 7));
    TRY(ae_model_add_conv2d(m, AE_DECODER, 2, 1, 1, 0, AE_ACT_TANH));
    return m;
}

/* Pooling and unpooling both in the decoder, after a dense code: the
 * decoder alone exports.  Reshape and upsampling on the way. */
static ae_model *kind_unpool_in_decoder(void)
{
    ae_model *m;
    TRY(ae_model_create(&m, 1, 8, 8, 15));
    TRY(ae_model_add_dense(m, AE_ENCODER, 16, AE_ACT_RELU));
    TRY(ae_model_add_reshape(m, AE_DECODER, 1, 4, 4));
    TRY(ae_model_add_conv2d(m, AE_DECODER, 2, 3, 1, -1, AE_ACT_RELU));
    TRY(ae_model_add_maxpool2d(m, AE_DECODER, 2, 2));
    TRY(ae_model_add_maxunpool2d(m, AE_DECODER, 3, 4, 4));
    TRY(ae_model_add_upsample2d(m, AE_DECODER, 2));
    TRY(ae_model_add_conv2d(m, AE_DECODER, 1, 3, 1, -1, AE_ACT_SIGMOID));
    return m;
}

/* Upsampling by 3, and an image layer straight after a dense code (the
 * code [N, 4] becomes [N, 4, 1, 1]). */
static ae_model *kind_upsample(void)
{
    ae_model *m;
    TRY(ae_model_create(&m, 1, 6, 6, 16));
    TRY(ae_model_add_dense(m, AE_ENCODER, 4, AE_ACT_RELU));
    TRY(ae_model_add_upsample2d(m, AE_DECODER, 3));
    TRY(ae_model_add_conv2d(m, AE_DECODER, 4, 1, 1, 0, AE_ACT_NONE));
    TRY(ae_model_add_upsample2d(m, AE_DECODER, 2));
    TRY(ae_model_add_conv2d(m, AE_DECODER, 1, 3, 1, -1, AE_ACT_SIGMOID));
    return m;
}

/* Transposed convolutions with padding and output padding. */
static ae_model *kind_conv_transpose(void)
{
    ae_model *m;
    TRY(ae_model_create(&m, 1, 10, 10, 17));
    TRY(ae_model_add_conv2d(m, AE_ENCODER, 4, 3, 2, 1, AE_ACT_RELU));
    TRY(ae_model_add_conv_transpose2d(m, AE_DECODER, 3, 3, 2, 1, 1,
                                      AE_ACT_LEAKY_RELU));
    TRY(ae_model_add_conv_transpose2d(m, AE_DECODER, 1, 1, 1, 0, 0,
                                      AE_ACT_SIGMOID));
    return m;
}

/* A few training steps, so that batch norm's running statistics are not
 * their starting 0 and 1 (the export must carry them, not the batch's);
 * the model is then put in evaluation mode, as the export assumes. */
static ae_model *trained(ae_model *m, unsigned seed)
{
    enum { BATCH = 8 };
    ae_optimizer *opt;
    ae_trainer *t;
    const size_t n = ae_model_input_size(m);
    float *x = malloc(BATCH * n * sizeof *x);
    if (x == NULL)
        die("trained: out of memory", AE_ERR_NO_MEMORY);
    TRY(ae_optimizer_create_adam(&opt, 1e-2f));
    TRY(ae_trainer_create(&t, m, opt));
    ae_layer *l;
    int c, h, w;
    TRY(ae_model_layer(m, 0, &l));
    TRY(ae_layer_input_shape(l, &c, &h, &w));
    for (unsigned k = 0; k < 4; k++) {
        fill_images(x, BATCH, c, h, w, seed + k, 0);
        TRY(ae_trainer_step(t, x, NULL, BATCH, NULL));
    }
    ae_trainer_free(t);
    ae_optimizer_free(opt);
    free(x);
    TRY(ae_model_set_training(m, 0));
    return m;
}

/* A VAE: the sampling layer gives the means in evaluation, after a
 * convolution (its 2k values flattened first) and after a dense layer. */
static ae_model *kind_gaussian_sample_conv(void)
{
    ae_model *m;
    TRY(ae_model_create(&m, 1, 4, 4, 17));
    TRY(ae_model_add_conv2d(m, AE_ENCODER, 2, 3, 2, 1, AE_ACT_TANH));
    TRY(ae_model_add_gaussian_sample(m, AE_ENCODER));
    TRY(ae_model_add_dense(m, AE_DECODER, 16, AE_ACT_SIGMOID));
    return m;
}

static ae_model *kind_gaussian_sample_dense(void)
{
    ae_model *m;
    TRY(ae_model_create(&m, 1, 5, 5, 19));
    TRY(ae_model_add_dense(m, AE_ENCODER, 8, AE_ACT_RELU));
    TRY(ae_model_add_dense(m, AE_ENCODER, 6, AE_ACT_NONE));
    TRY(ae_model_add_gaussian_sample(m, AE_ENCODER));
    TRY(ae_model_add_dense(m, AE_DECODER, 12, AE_ACT_RELU));
    TRY(ae_model_add_reshape(m, AE_DECODER, 3, 2, 2));
    TRY(ae_model_add_upsample2d(m, AE_DECODER, 2));
    TRY(ae_model_add_conv2d(m, AE_DECODER, 1, 2, 1, 1, AE_ACT_SIGMOID));
    return m;
}

/* Batch norm over a dense layer's features ([N, C] in the file) and over
 * an image's channels, with their activations; dropout on both kinds of
 * tensor, at the code too. */
static ae_model *kind_batchnorm_dropout(void)
{
    ae_model *m;
    TRY(ae_model_create(&m, 1, 6, 6, 13));
    TRY(ae_model_add_conv2d(m, AE_ENCODER, 3, 3, 1, -1, AE_ACT_NONE));
    TRY(ae_model_add_batchnorm(m, AE_ENCODER, 0.1f, 1e-5f, AE_ACT_RELU));
    TRY(ae_model_add_dropout(m, AE_ENCODER, 0.25f));
    TRY(ae_model_add_dense(m, AE_ENCODER, 10, AE_ACT_NONE));
    TRY(ae_model_add_batchnorm(m, AE_ENCODER, 0.3f, 1e-3f, AE_ACT_TANH));
    TRY(ae_model_add_dropout(m, AE_ENCODER, 0.5f));
    TRY(ae_model_add_dense(m, AE_DECODER, 36, AE_ACT_NONE));
    TRY(ae_model_add_batchnorm(m, AE_DECODER, 0.1f, 1e-5f, AE_ACT_SIGMOID));
    return trained(m, 5);
}

/* Reshape layers: a flatten before a dense layer, a dense output fed to a
 * 1 x 1 convolution, a reshape back to the image. */
static ae_model *kind_reshape(void)
{
    ae_model *m;
    TRY(ae_model_create(&m, 1, 6, 6, 18));
    TRY(ae_model_add_conv2d(m, AE_ENCODER, 2, 3, 1, -1, AE_ACT_RELU));
    TRY(ae_model_add_reshape(m, AE_ENCODER, 72, 1, 1));
    TRY(ae_model_add_dense(m, AE_ENCODER, 12, AE_ACT_TANH));
    TRY(ae_model_add_dense(m, AE_DECODER, 18, AE_ACT_RELU));
    TRY(ae_model_add_conv2d(m, AE_DECODER, 36, 1, 1, 0, AE_ACT_SIGMOID));
    TRY(ae_model_add_reshape(m, AE_DECODER, 1, 6, 6));
    return m;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: onnx_cases DIR\n");
        return 2;
    }
    dir = argv[1];
    char path[4200];
    snprintf(path, sizeof path, "%s/manifest.tsv", dir);
    manifest = fopen(path, "w");
    if (manifest == NULL) {
        perror(path);
        return 1;
    }
    enum { SEED = 42 };
    ae_model *m = NULL;
    ae_status s;

    /* Every model the experiments train. */
    s = model_exp1_deep30(&m, SEED);
    add_model("exp1_deep30", s, m);
    static const struct { ae_activation act; const char *name; } acts[] = {
        {AE_ACT_RELU, "exp1_deep32_relu"}, {AE_ACT_TANH, "exp1_deep32_tanh"},
        {AE_ACT_LEAKY_RELU, "exp1_deep32_leaky_relu"}};
    for (int i = 0; i < 3; i++) {
        s = model_exp1_deep32(&m, acts[i].act, SEED);
        add_model(acts[i].name, s, m);
    }
    static const int hidden[] = {32, 64, 128, 256, 1024};
    for (int i = 0; i < 5; i++) {
        char name[64];
        snprintf(name, sizeof name, "one_hidden_%d", hidden[i]);
        s = model_one_hidden(&m, hidden[i], SEED);
        add_model(name, s, m);
    }
    s = model_exp4_deep_denoiser(&m, SEED);
    add_model("exp4_deep_denoiser", s, m);
    s = model_exp5_small_code(&m, SEED);
    add_model("exp5_small_code", s, m);
    static const struct { conv_decoder kind; const char *name; } dec[] = {
        {CONV_UNPOOL, "exp6_unpool"}, {CONV_DECONV, "exp6_deconv"},
        {CONV_BOTH, "exp6_both"}};
    for (int i = 0; i < 3; i++) {
        s = model_exp6_conv(&m, dec[i].kind, SEED);
        add_model(dec[i].name, s, m);
    }
    s = model_exp7_conv_denoiser(&m, 28, 28, SEED);
    add_model("exp7_conv_denoiser", s, m);

    /* One model a layer kind. */
    add_model("kind_dense", AE_OK, kind_dense());
    add_model("kind_conv2d", AE_OK, kind_conv2d());
    add_model("kind_maxpool_overlapping", AE_OK, kind_maxpool_overlapping());
    add_model_on("kind_maxunpool_odd", AE_OK, kind_maxunpool_odd(), 1);
    add_model("kind_unpool_in_decoder", AE_OK, kind_unpool_in_decoder());
    add_model("kind_upsample", AE_OK, kind_upsample());
    add_model("kind_conv_transpose", AE_OK, kind_conv_transpose());
    add_model("kind_reshape", AE_OK, kind_reshape());
    add_model("kind_batchnorm_dropout", AE_OK, kind_batchnorm_dropout());
    add_model("kind_gaussian_sample_conv", AE_OK, kind_gaussian_sample_conv());
    add_model("kind_gaussian_sample_dense", AE_OK,
              kind_gaussian_sample_dense());

    if (fclose(manifest) != 0) {
        perror(path);
        return 1;
    }
    return 0;
}

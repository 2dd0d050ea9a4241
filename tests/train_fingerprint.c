/* train_fingerprint.c - print the exact bits of a few training steps, for
 * .ci/clones to compare between two builds of the shared library.
 *
 * The library's elementwise loops are compiled for several instruction
 * sets and picked at load time (lib/common/vector_clones.h), on the
 * promise that every clone computes the baseline's bits.  This program,
 * linked against libautoenc.so through the public API only, trains small
 * models on data it makes itself and prints every loss in hexadecimal
 * floating point and a 64-bit FNV-1a hash of each saved model and of a
 * reconstruction; run against the normal library and against one built
 * with -DAE_NO_VECTOR_CLONES, the two outputs must be the same text.
 *
 * The models cover the cloned loops: the experiment-7 denoiser's Winograd
 * layers (all three passes and the weight-gradient transform), ReLU and
 * sigmoid, upsampling and Adam; transposed convolutions (stride 1 through
 * Winograd), leaky ReLU, tanh and SGD with momentum; a dense model's tanh,
 * leaky ReLU and AdamW.
 *
 * usage: train_fingerprint [THREADS]   (default 2) */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "autoenc.h"

static void check(ae_status s, const char *what)
{
    if (s != AE_OK) {
        fprintf(stderr, "train_fingerprint: %s: %s\n", what,
                ae_last_error());
        exit(1);
    }
}

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 14695981039346656037u;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211u;
    }
    return h;
}

/* Images in [0, 1] from a fixed linear congruential sequence: the same on
 * every machine. */
static float *make_images(size_t n, uint32_t seed)
{
    float *x = malloc(n * sizeof *x);
    if (x == NULL)
        check(AE_ERR_NO_MEMORY, "images");
    uint32_t s = seed;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)(s >> 8) / 16777216.0f;
    }
    return x;
}

static void print_model_hash(const char *name, const ae_model *m)
{
    size_t size = 0;
    check(ae_model_save_memory(m, NULL, 0, &size), "model size");
    unsigned char *buf = malloc(size);
    if (buf == NULL)
        check(AE_ERR_NO_MEMORY, "model buffer");
    check(ae_model_save_memory(m, buf, size, &size), "save");
    printf("%s model %016" PRIx64 "\n", name, fnv1a(buf, size));
    free(buf);
}

/* steps training steps of batch images, then one reconstruction. */
static void train(const char *name, ae_model *m, ae_optimizer *opt,
                  ae_loss loss, size_t batch, int steps)
{
    const size_t in = ae_model_input_size(m);
    float *x = make_images(batch * in, 12345u);
    ae_trainer *t;
    check(ae_trainer_create(&t, m, opt), "trainer");
    check(ae_trainer_set(t, AE_TRAIN_BATCH_SIZE, (double)batch), "batch");
    check(ae_trainer_set(t, AE_TRAIN_LOSS, loss), "loss");
    for (int i = 0; i < steps; i++) {
        float l;
        check(ae_trainer_step(t, x, NULL, batch, &l), "step");
        printf("%s step %d loss %a\n", name, i, l);
    }
    print_model_hash(name, m);
    float *y = malloc(batch * in * sizeof *y);
    if (y == NULL)
        check(AE_ERR_NO_MEMORY, "output");
    check(ae_model_reconstruct(m, x, batch, y), "reconstruct");
    printf("%s output %016" PRIx64 "\n", name,
           fnv1a((const unsigned char *)y, batch * in * sizeof *y));
    free(y);
    free(x);
    ae_trainer_free(t);
}

int main(int argc, char **argv)
{
    check(ae_set_threads(argc > 1 ? atoi(argv[1]) : 2), "threads");
    ae_model *m;
    ae_optimizer *opt;

    /* Experiment 7's denoiser on 28 x 28 images. */
    check(ae_model_create(&m, 1, 28, 28, 7), "model");
    check(ae_model_add_conv2d(m, AE_ENCODER, 32, 3, 1, -1, AE_ACT_RELU), "c1");
    check(ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2), "p1");
    check(ae_model_add_conv2d(m, AE_ENCODER, 64, 3, 1, -1, AE_ACT_RELU), "c2");
    check(ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2), "p2");
    check(ae_model_add_conv2d(m, AE_DECODER, 64, 3, 1, -1, AE_ACT_RELU), "c3");
    check(ae_model_add_upsample2d(m, AE_DECODER, 2), "u1");
    check(ae_model_add_conv2d(m, AE_DECODER, 32, 3, 1, -1, AE_ACT_RELU), "c4");
    check(ae_model_add_upsample2d(m, AE_DECODER, 2), "u2");
    check(ae_model_add_conv2d(m, AE_DECODER, 1, 3, 1, -1, AE_ACT_SIGMOID),
          "c5");
    check(ae_optimizer_create_adam(&opt, 1e-3f), "adam");
    train("conv", m, opt, AE_LOSS_BCE, 40, 3);
    ae_optimizer_free(opt);
    ae_model_free(m);

    /* Transposed convolutions at stride 1 (the Winograd path) and 2. */
    check(ae_model_create(&m, 1, 14, 14, 8), "model");
    check(ae_model_add_conv2d(m, AE_ENCODER, 16, 3, 2, 1, AE_ACT_LEAKY_RELU),
          "c1");
    check(ae_model_add_conv_transpose2d(m, AE_DECODER, 24, 3, 1, 1, 0,
                                        AE_ACT_TANH),
          "t1");
    check(ae_model_add_conv_transpose2d(m, AE_DECODER, 1, 3, 2, 1, 1,
                                        AE_ACT_SIGMOID),
          "t2");
    check(ae_optimizer_create_sgd(&opt, 0.05f, 0.9f), "sgd");
    train("transposed", m, opt, AE_LOSS_MSE, 16, 3);
    ae_optimizer_free(opt);
    ae_model_free(m);

    /* A dense autoencoder. */
    check(ae_model_create(&m, 1, 28, 28, 9), "model");
    check(ae_model_add_dense(m, AE_ENCODER, 128, AE_ACT_TANH), "d1");
    check(ae_model_add_dense(m, AE_ENCODER, 30, AE_ACT_LEAKY_RELU), "d2");
    check(ae_model_add_dense(m, AE_DECODER, 128, AE_ACT_RELU), "d3");
    check(ae_model_add_dense(m, AE_DECODER, 784, AE_ACT_SIGMOID), "d4");
    check(ae_optimizer_create_adamw(&opt, 1e-3f, 0.01f), "adamw");
    train("dense", m, opt, AE_LOSS_MSE, 64, 3);
    ae_optimizer_free(opt);
    ae_model_free(m);
    return 0;
}

/* cli_fixture.c - the files tests/cli_test.sh runs the autoenc tool on:
 * a small saved model and arrays of images, made with the public API.
 *
 *   cli_fixture DIR    writes DIR/model.aemodel, DIR/u8.npy (5 x 28 x 28
 *                      uint8), DIR/f32.npy (3 x 784 float32),
 *                      DIR/wrong.npy (2 x 10 float32), DIR/unpool.aemodel
 *                      (a decoder that unpools with the encoder's
 *                      positions); prints the first model's parameter
 *                      count */
#include <stdio.h>
#include <stdlib.h>

#include "autoenc.h"

static void check(ae_status s, const char *what)
{
    if (s != AE_OK) {
        fprintf(stderr, "cli_fixture: %s: %s\n", what, ae_last_error());
        exit(1);
    }
}

static const char *in(const char *dir, const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    ae_model *m;
    check(ae_model_create(&m, 1, 28, 28, 3), "model");
    check(ae_model_add_dense(m, AE_ENCODER, 16, AE_ACT_RELU), "layer");
    check(ae_model_add_dense(m, AE_DECODER, 784, AE_ACT_SIGMOID), "layer");
    check(ae_model_save(m, in(argv[1], "model.aemodel")), "save");
    static unsigned char u8[5 * 784];
    static float f[3 * 784], wrong[20];
    for (int i = 0; i < 5 * 784; i++)
        u8[i] = (unsigned char)(i * 7);
    for (int i = 0; i < 3 * 784; i++)
        f[i] = (float)(i % 100) / 100.0f;
    size_t s_u8[3] = {5, 28, 28}, s_f[2] = {3, 784}, s_w[2] = {2, 10};
    check(ae_npy_save(in(argv[1], "u8.npy"), AE_NPY_U8, u8, s_u8, 3), "u8");
    check(ae_npy_save(in(argv[1], "f32.npy"), AE_NPY_F32, f, s_f, 2), "f32");
    check(ae_npy_save(in(argv[1], "wrong.npy"), AE_NPY_F32, wrong, s_w, 2),
          "wrong");
    printf("%zu\n", ae_model_param_count(m));
    ae_model_free(m);
    check(ae_model_create(&m, 1, 4, 4, 3), "unpool model");
    check(ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2), "layer");
    check(ae_model_add_maxunpool2d(m, AE_DECODER, 0, 4, 4), "layer");
    check(ae_model_add_conv2d(m, AE_DECODER, 1, 1, 1, 0, AE_ACT_NONE),
          "layer");
    check(ae_model_save(m, in(argv[1], "unpool.aemodel")), "save");
    ae_model_free(m);
    return 0;
}

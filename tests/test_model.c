/* test_model.c - building models, forward passes, activations and errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* The deep autoencoder of experiment 1. */
static ae_model *deep_autoencoder(uint64_t seed)
{
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 1, 28, 28, seed));
    const int enc[] = {512, 256, 128, 30}, dec[] = {128, 256, 512, 784};
    for (int i = 0; i < 4; i++)
        ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, enc[i],
                                           i < 3 ? AE_ACT_RELU : AE_ACT_NONE));
    for (int i = 0; i < 4; i++)
        ck_assert_ae_ok(ae_model_add_dense(
            m, AE_DECODER, dec[i], i < 3 ? AE_ACT_RELU : AE_ACT_SIGMOID));
    return m;
}

START_TEST(deep_autoencoder_shape_and_count)
{
    ae_model *m = deep_autoencoder(1);
    const size_t sizes[] = {784, 512, 256, 128, 30, 128, 256, 512, 784};
    size_t want = 0;
    for (int i = 0; i < 8; i++)
        want += sizes[i] * sizes[i + 1] + sizes[i + 1];
    ck_assert_uint_eq(ae_model_param_count(m), want);
    ck_assert_uint_eq(ae_model_layer_count(m), 8);
    ck_assert_uint_eq(ae_model_encoder_layer_count(m), 4);
    ck_assert_uint_eq(ae_model_input_size(m), 784);
    ck_assert_uint_eq(ae_model_code_size(m), 30);
    ck_assert_ae_ok(ae_model_validate(m));
    ae_model_free(m);
}
END_TEST

START_TEST(encode_decode_equals_reconstruct)
{
    ae_model *m = deep_autoencoder(2);
    enum { B = 7 };
    float *x = malloc(B * 784 * sizeof *x), *code = malloc(B * 30 * sizeof *code);
    float *y1 = malloc(B * 784 * sizeof *y1), *y2 = malloc(B * 784 * sizeof *y2);
    tu_fill_uniform(x, B * 784, 0, 1, 3);
    ck_assert_ae_ok(ae_model_encode(m, x, B, code));
    ck_assert_ae_ok(ae_model_decode(m, code, B, y1));
    ck_assert_ae_ok(ae_model_reconstruct(m, x, B, y2));
    ck_assert_int_eq(memcmp(y1, y2, B * 784 * sizeof *y1), 0);
    for (int i = 0; i < B * 784; i++)
        ck_assert(y1[i] > 0.0f && y1[i] < 1.0f); /* sigmoid output */
    /* The code equals the last encoder layer's activations. */
    float *act = malloc(B * 30 * sizeof *act);
    ck_assert_ae_ok(ae_model_activations(m, 3, x, B, act));
    ck_assert_int_eq(memcmp(act, code, B * 30 * sizeof *act), 0);
    /* One image alone gives (nearly) the same result as in a batch. */
    float single[784];
    ck_assert_ae_ok(ae_model_reconstruct(m, x + 784 * 4, 1, single));
    for (int i = 0; i < 784; i++)
        ck_assert_float_eq_tol(single[i], y2[784 * 4 + i], 1e-6f);
    /* Output may alias the input. */
    ck_assert_ae_ok(ae_model_reconstruct(m, x, B, x));
    ck_assert_int_eq(memcmp(x, y2, B * 784 * sizeof *x), 0);
    free(x); free(code); free(y1); free(y2); free(act);
    ae_model_free(m);
}
END_TEST

START_TEST(building_errors)
{
    ae_model *m = (ae_model *)1;
    ck_assert_ae_status(ae_model_create(&m, 0, 28, 28, 1),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(m);
    ck_assert_ae_status(ae_model_create(&m, 1, -3, 28, 1),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_model_create(NULL, 1, 28, 28, 1), AE_ERR_NULL);
    ck_assert_ae_status(ae_model_add_dense(NULL, AE_ENCODER, 3, AE_ACT_NONE),
                        AE_ERR_NULL);
    ck_assert_ae_ok(ae_model_create(&m, 1, 4, 4, 1));
    float x[16] = {0}, y[16];
    ck_assert_ae_status(ae_model_validate(m), AE_ERR_SHAPE);
    ck_assert_ae_status(ae_model_reconstruct(m, x, 1, y), AE_ERR_SHAPE);
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 3, AE_ACT_RELU));
    ck_assert_ae_status(ae_model_validate(m), AE_ERR_SHAPE); /* no decoder */
    ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 15, AE_ACT_SIGMOID));
    ck_assert_ae_status(ae_model_validate(m), AE_ERR_SHAPE); /* 15 != 16 */
    ck_assert_ae_status(ae_model_add_dense(m, AE_ENCODER, 3, AE_ACT_RELU),
                        AE_ERR_INVALID_ARGUMENT); /* encoder after decoder */
    ck_assert_ae_status(ae_model_add_dense(m, (ae_part)5, 3, AE_ACT_RELU),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 16, AE_ACT_SIGMOID));
    ck_assert_ae_ok(ae_model_validate(m));
    ae_layer *l = NULL;
    ck_assert_ae_status(ae_model_layer(m, 3, &l), AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_model_layer(m, 0, NULL), AE_ERR_NULL);
    ck_assert_ae_status(ae_model_reconstruct(m, x, 0, y),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_model_reconstruct(m, NULL, 1, y), AE_ERR_NULL);
    ck_assert_ae_status(ae_model_encode(m, x, 1, NULL), AE_ERR_NULL);
    x[3] = NAN;
    ck_assert_ae_status(ae_model_reconstruct(m, x, 1, y), AE_ERR_NOT_FINITE);
    x[3] = INFINITY;
    ck_assert_ae_status(ae_model_encode(m, x, 1, y), AE_ERR_NOT_FINITE);
    x[3] = 0;
    ck_assert_ae_status(ae_model_activations(m, 9, x, 1, y),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_uint_eq(ae_model_layer_count(NULL), 0);
    ck_assert_uint_eq(ae_model_param_count(NULL), 0);
    ae_model_free(m);
    ae_model_free(NULL);
}
END_TEST

/* Bytes requested through the library's allocator hook. */
static size_t allocated_bytes;

static void *counting_alloc(void *opaque, size_t size)
{
    (void)opaque;
    allocated_bytes += size;
    return malloc(size);
}

static void plain_free(void *opaque, void *ptr)
{
    (void)opaque;
    free(ptr);
}

/* Appending a layer must not copy every earlier parameter each time: a
 * model of many layers (built, or loaded from a file) would cost time and
 * allocation quadratic in its layer count. */
START_TEST(many_layers_allocate_linearly)
{
    enum { LAYERS = 256, UNITS = 16 };
    ck_assert_int_eq(ae_set_allocator(counting_alloc, plain_free, NULL),
                     AE_OK);
    allocated_bytes = 0;
    ae_model *m;
    ck_assert_int_eq(ae_model_create(&m, 1, 4, 4, 1), AE_OK);
    for (int i = 0; i < LAYERS; i++)
        ck_assert_int_eq(ae_model_add_dense(m, AE_ENCODER, UNITS,
                                            AE_ACT_RELU), AE_OK);
    const size_t param_bytes = ae_model_param_count(m) * sizeof(float);
    ck_assert_uint_eq(param_bytes, (size_t)LAYERS * (UNITS * 16 + UNITS) * 4);
    /* Parameters and gradients, doubling: under 4x their final size, plus
     * the layers themselves.  Copying on every append requested ~128x. */
    ck_assert_uint_lt(allocated_bytes, 8 * param_bytes);
    ae_model_free(m);
    ck_assert_int_eq(ae_set_allocator(NULL, NULL, NULL), AE_OK);
}
END_TEST

START_TEST(mean_activation_over_dataset)
{
    size_t size;
    uint8_t *idx = tu_idx_images(10, 2, 2, NULL, &size);
    ae_dataset *ds;
    ck_assert_ae_ok(ae_dataset_load_idx_memory(&ds, idx, size, NULL, 0));
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 1, 2, 2, 4));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 3, AE_ACT_RELU));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 4, AE_ACT_SIGMOID));
    float per_unit[3], images[40], acts[30];
    double overall;
    ck_assert_ae_ok(ae_model_mean_activation(m, 0, ds, per_unit, &overall));
    ck_assert_ae_ok(ae_dataset_batch(ds, 0, 10, images, NULL));
    ck_assert_ae_ok(ae_model_activations(m, 0, images, 10, acts));
    double total = 0;
    for (int u = 0; u < 3; u++) {
        double sum = 0;
        for (int i = 0; i < 10; i++)
            sum += acts[i * 3 + u];
        ck_assert_double_eq_tol(per_unit[u], sum / 10, 1e-6);
        total += sum;
    }
    ck_assert_double_eq_tol(overall, total / 30, 1e-6);
    ae_model *wrong;
    ck_assert_ae_ok(ae_model_create(&wrong, 1, 3, 3, 1));
    ck_assert_ae_ok(ae_model_add_dense(wrong, AE_ENCODER, 2, AE_ACT_RELU));
    ck_assert_ae_status(ae_model_mean_activation(wrong, 0, ds, NULL, &overall),
                        AE_ERR_SHAPE);
    ae_model_free(wrong);
    ae_model_free(m);
    ae_dataset_free(ds);
    free(idx);
}
END_TEST

/* ---- forward-only memory ----------------------------------------------- */

/* Live and peak bytes of the library's allocations (each block carries its
 * size in front). */
static size_t mem_live, mem_peak;

static void *peak_alloc(void *opaque, size_t size)
{
    (void)opaque;
    size_t *p = malloc(size + sizeof(size_t) * 2);
    if (p == NULL)
        return NULL;
    p[0] = size;
    mem_live += size;
    if (mem_live > mem_peak)
        mem_peak = mem_live;
    return p + 2;
}

static void peak_free(void *opaque, void *ptr)
{
    (void)opaque;
    if (ptr == NULL)
        return;
    size_t *p = (size_t *)ptr - 2;
    mem_live -= p[0];
    free(p);
}

/* The experiment-7 model's kind at a smaller scale: convolutions,
 * pooling, upsampling. */
static ae_model *conv_model(void)
{
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 1, 28, 28, 3));
    ck_assert_ae_ok(ae_model_add_conv2d(m, AE_ENCODER, 8, 3, 1, -1,
                                        AE_ACT_RELU));
    ck_assert_ae_ok(ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2));
    ck_assert_ae_ok(ae_model_add_conv2d(m, AE_DECODER, 8, 3, 1, -1,
                                        AE_ACT_RELU));
    ck_assert_ae_ok(ae_model_add_upsample2d(m, AE_DECODER, 2));
    ck_assert_ae_ok(ae_model_add_conv2d(m, AE_DECODER, 1, 3, 1, -1,
                                        AE_ACT_SIGMOID));
    return m;
}

/* Bytes the library holds at its peak while reconstructing n images, and
 * after the call; the images themselves are the caller's (plain malloc). */
static void reconstruct_memory(size_t n, size_t *peak, size_t *after,
                               float **out)
{
    ae_model *m = conv_model();
    float *x = malloc(n * 784 * sizeof *x);
    *out = malloc(n * 784 * sizeof **out);
    ck_assert(x && *out);
    tu_fill_uniform(x, n * 784, 0.0f, 1.0f, 21);
    size_t before = mem_live;
    mem_peak = mem_live;
    ck_assert_ae_ok(ae_model_reconstruct(m, x, n, *out));
    *peak = mem_peak - before;
    *after = mem_live - before;
    ae_model_free(m);
    free(x);
}

/* encode, decode, reconstruct and activations run in passes of a bounded
 * number of images: the memory a call needs does not grow with its batch,
 * the model keeps none of it after the call, and the results are those of
 * passes of any size. */
START_TEST(forward_only_memory_is_bounded)
{
    ck_assert_ae_ok(ae_set_allocator(peak_alloc, peak_free, NULL));
    size_t peak_small, peak_big, after_small, after_big;
    float *small, *big;
    reconstruct_memory(300, &peak_small, &after_small, &small);
    reconstruct_memory(3000, &peak_big, &after_big, &big);
    ck_assert_ae_ok(ae_set_allocator(NULL, NULL, NULL));
    printf("model: reconstructing 300 images peaks at %zu bytes, 3000 at "
           "%zu\n", peak_small, peak_big);
    ck_assert_uint_eq(peak_big, peak_small);
    /* What the model keeps is the same for any batch: the Winograd
     * layer's transformed kernels (conv_winograd.h), 36/9 floats a
     * weight and a gap of 16 floats after each of their 36 blocks. */
    ae_model *probe = conv_model();
    const size_t params = ae_model_param_count(probe);
    ae_model_free(probe);
    ck_assert_uint_eq(after_small, after_big);
    ck_assert_uint_le(after_small, 4 * (4 * params + 36 * 16 + 512));
    /* Keeping every layer's output for 3000 images would take 198 MB (66
     * KB an image); passes of at most 128 need under 8 MB. */
    ck_assert_uint_lt(peak_big, (size_t)16 << 20);
    /* The same inputs (the generator is seeded) give the same images, up
     * to the float rounding the header allows between batch sizes: the
     * last pass of the small call is shorter, and a product of another
     * size may sum in another order (under Valgrind, OpenBLAS's kernel
     * for the short pass did). */
    for (size_t i = 0; i < 300 * 784; i++)
        ck_assert_float_eq_tol(small[i], big[i], 1e-5f);
    free(small);
    free(big);
}
END_TEST

/* An unpooling decoder still finds, for each image, the positions its
 * encoder recorded, across the passes of a large call. */
START_TEST(unpooling_across_passes)
{
    enum { N = 300 };
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 1, 8, 8, 4));
    ck_assert_ae_ok(ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2));
    ck_assert_ae_ok(ae_model_add_maxunpool2d(m, AE_DECODER, 0, 8, 8));
    float *x = malloc(N * 64 * sizeof *x);
    float *code = malloc(N * 16 * sizeof *code);
    float *y = malloc(N * 64 * sizeof *y), *z = malloc(N * 64 * sizeof *z);
    ck_assert(x && code && y && z);
    tu_fill_uniform(x, N * 64, 0.0f, 1.0f, 5);
    ck_assert_ae_ok(ae_model_reconstruct(m, x, N, y));
    ck_assert_ae_ok(ae_model_encode(m, x, N, code));
    ck_assert_ae_ok(ae_model_decode(m, code, N, z));
    ck_assert_int_eq(memcmp(y, z, N * 64 * sizeof(float)), 0);
    /* every maximum is back in its place, and only maxima */
    size_t kept = 0;
    for (size_t i = 0; i < N * 64; i++) {
        ck_assert(y[i] == 0.0f || y[i] == x[i]);
        kept += y[i] != 0.0f;
    }
    ck_assert_uint_eq(kept, N * 16);
    free(x);
    free(code);
    free(y);
    free(z);
    ae_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, deep_autoencoder_shape_and_count);
    tcase_add_test(tc, encode_decode_equals_reconstruct);
    tcase_add_test(tc, building_errors);
    tcase_add_test(tc, many_layers_allocate_linearly);
    tcase_add_test(tc, mean_activation_over_dataset);
    tcase_add_test(tc, forward_only_memory_is_bounded);
    tcase_add_test(tc, unpooling_across_passes);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}

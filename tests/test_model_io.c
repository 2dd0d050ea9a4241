/* test_model_io.c - model files: round trips, the byte layout of
 * docs/FORMAT.md, corrupted, truncated and crafted data, atomic saving,
 * allocation failures. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "nn/layer.h" /* private: act_param, cfg and seed for exact comparison */
#include "nn/model.h"
#include "testutil.h"

/* ---- models ------------------------------------------------------------ */

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

/* 2 x 3 x 4 inputs; LeakyReLU with a custom slope, Tanh code, LeakyReLU
 * with the default slope, Sigmoid output. */
static ae_model *small_model(uint64_t seed)
{
    ae_model *m;
    ae_layer *l;
    ck_assert_ae_ok(ae_model_create(&m, 2, 3, 4, seed));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 10, AE_ACT_NONE));
    ck_assert_ae_ok(ae_model_layer(m, 0, &l));
    ck_assert_ae_ok(ae_layer_set_activation(l, AE_ACT_LEAKY_RELU, 0.2f));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 5, AE_ACT_TANH));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 10,
                                       AE_ACT_LEAKY_RELU));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 24, AE_ACT_SIGMOID));
    return m;
}

/* 1 x 1 x 2 inputs, one dense layer of 1 unit each side: 7 parameters,
 * a 208-byte file. */
static ae_model *tiny_model(void)
{
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 1, 1, 2, 0x0102030405060708ull));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 1, AE_ACT_LEAKY_RELU));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 2, AE_ACT_SIGMOID));
    ae_layer *l;
    const float w0[2] = {1.0f, -2.0f}, b0[1] = {0.5f};
    const float w1[2] = {0.25f, -0.75f}, b1[2] = {0.0f, 1.0f};
    ck_assert_ae_ok(ae_model_layer(m, 0, &l));
    ck_assert_ae_ok(ae_layer_set_activation(l, AE_ACT_LEAKY_RELU, 0.25f));
    ck_assert_ae_ok(ae_layer_set_weights(l, w0, 2));
    ck_assert_ae_ok(ae_layer_set_bias(l, b0, 1));
    ck_assert_ae_ok(ae_model_layer(m, 1, &l));
    ck_assert_ae_ok(ae_layer_set_weights(l, w1, 2));
    ck_assert_ae_ok(ae_layer_set_bias(l, b1, 2));
    return m;
}

/* Every image-shaped layer kind: 1 x 8 x 8 inputs, a code of 6. */
static ae_model *conv_model(uint64_t seed)
{
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 1, 8, 8, seed));
    ck_assert_ae_ok(ae_model_add_conv2d(m, AE_ENCODER, 4, 3, 1, -1,
                                        AE_ACT_RELU));          /* 4x8x8 */
    ck_assert_ae_ok(ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2)); /* 4x4x4 */
    ck_assert_ae_ok(ae_model_add_reshape(m, AE_ENCODER, 64, 1, 1));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 6, AE_ACT_TANH));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 64, AE_ACT_RELU));
    ck_assert_ae_ok(ae_model_add_reshape(m, AE_DECODER, 4, 4, 4));
    ck_assert_ae_ok(ae_model_add_maxunpool2d(m, AE_DECODER, 1, 8, 8));
    ck_assert_ae_ok(ae_model_add_conv2d(m, AE_DECODER, 2, 3, 2, 1,
                                        AE_ACT_LEAKY_RELU));    /* 2x4x4 */
    ck_assert_ae_ok(ae_model_add_upsample2d(m, AE_DECODER, 2));  /* 2x8x8 */
    ck_assert_ae_ok(ae_model_add_conv_transpose2d(m, AE_DECODER, 1, 3, 1, 1,
                                                  0, AE_ACT_SIGMOID));
    ck_assert_ae_ok(ae_model_validate(m));
    return m;
}

static uint8_t *save_to_memory(const ae_model *m, size_t *size)
{
    ck_assert_ae_ok(ae_model_save_memory(m, NULL, 0, size));
    uint8_t *buf = malloc(*size);
    ck_assert_ptr_nonnull(buf);
    size_t written = 0;
    ck_assert_ae_ok(ae_model_save_memory(m, buf, *size, &written));
    ck_assert_uint_eq(written, *size);
    return buf;
}

/* Same architecture, same bits in every parameter and setting. */
static void assert_same_model(const ae_model *a, const ae_model *b)
{
    ck_assert_uint_eq(ae_model_layer_count(a), ae_model_layer_count(b));
    ck_assert_uint_eq(ae_model_encoder_layer_count(a),
                      ae_model_encoder_layer_count(b));
    ck_assert_uint_eq(ae_model_param_count(a), ae_model_param_count(b));
    ck_assert_uint_eq(ae_model_input_size(a), ae_model_input_size(b));
    ck_assert_uint_eq(ae_model_code_size(a), ae_model_code_size(b));
    ae__shape ia = ae__model_input_shape(a), ib = ae__model_input_shape(b);
    ck_assert(ia.c == ib.c && ia.h == ib.h && ia.w == ib.w);
    ck_assert(ae__model_seed(a) == ae__model_seed(b));
    for (size_t i = 0; i < ae_model_layer_count(a); i++) {
        ae_layer *la, *lb;
        ck_assert_ae_ok(ae_model_layer(a, i, &la));
        ck_assert_ae_ok(ae_model_layer(b, i, &lb));
        ck_assert_int_eq(ae_layer_get_kind(la), ae_layer_get_kind(lb));
        ck_assert_int_eq(ae_layer_activation(la), ae_layer_activation(lb));
        ck_assert_int_eq(memcmp(&la->act_param, &lb->act_param,
                                sizeof la->act_param), 0);
        ck_assert_int_eq(la->part, lb->part);
        ck_assert_int_eq(memcmp(la->cfg, lb->cfg, sizeof la->cfg), 0);
        int s[2][6];
        ck_assert_ae_ok(ae_layer_input_shape(la, &s[0][0], &s[0][1], &s[0][2]));
        ck_assert_ae_ok(ae_layer_output_shape(la, &s[0][3], &s[0][4], &s[0][5]));
        ck_assert_ae_ok(ae_layer_input_shape(lb, &s[1][0], &s[1][1], &s[1][2]));
        ck_assert_ae_ok(ae_layer_output_shape(lb, &s[1][3], &s[1][4], &s[1][5]));
        ck_assert_int_eq(memcmp(s[0], s[1], sizeof s[0]), 0);
        ck_assert_uint_eq(ae_layer_weight_count(la), ae_layer_weight_count(lb));
        ck_assert_uint_eq(ae_layer_bias_count(la), ae_layer_bias_count(lb));
    }
    size_t n = ae_model_param_count(a);
    if (n > 0)
        ck_assert_int_eq(memcmp(ae__model_params_const(a),
                                ae__model_params_const(b), n * sizeof(float)),
                         0);
}

/* Reconstructions of the same inputs are bit-for-bit equal. */
static void assert_same_outputs(ae_model *a, ae_model *b)
{
    enum { B = 5 };
    size_t n = ae_model_input_size(a);
    float *x = malloc(B * n * sizeof *x), *ya = malloc(B * n * sizeof *ya);
    float *yb = malloc(B * n * sizeof *yb);
    ck_assert(x && ya && yb);
    tu_fill_uniform(x, B * n, 0.0f, 1.0f, 11);
    ck_assert_ae_ok(ae_model_reconstruct(a, x, B, ya));
    ck_assert_ae_ok(ae_model_reconstruct(b, x, B, yb));
    ck_assert_int_eq(memcmp(ya, yb, B * n * sizeof *ya), 0);
    free(x);
    free(ya);
    free(yb);
}

/* ---- raw bytes --------------------------------------------------------- */

static void le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void lef32(uint8_t *p, float f)
{
    uint32_t bits;
    memcpy(&bits, &f, 4);
    le32(p, bits);
}

/* Recompute the trailing CRC-32, as a crafted file would. */
static void fix_crc(uint8_t *buf, size_t size)
{
    le32(buf + size - 4, (uint32_t)crc32(0L, buf, (uInt)(size - 4)));
}

/* ---- directories ------------------------------------------------------- */

/* Number of entries in dir besides . and ..; *tmp_files counts those whose
 * name holds ".tmp.". */
static int dir_entries(const char *dir, int *tmp_files)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0, t = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        n++;
        t += strstr(e->d_name, ".tmp.") != NULL;
    }
    closedir(d);
    if (tmp_files)
        *tmp_files = t;
    return n;
}

static const char *fresh_dir(const char *name)
{
    const char *dir = tu_tmp_path(name);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    return dir;
}

/* ---- counting allocator ------------------------------------------------ */

static size_t alloc_calls, alloc_live, alloc_largest, alloc_fail_at;

static void *counting_alloc(void *opaque, size_t size)
{
    (void)opaque;
    if (alloc_calls++ == alloc_fail_at)
        return NULL;
    if (size > alloc_largest)
        alloc_largest = size;
    void *p = malloc(size);
    if (p != NULL)
        alloc_live++;
    return p;
}

static void counting_free(void *opaque, void *p)
{
    (void)opaque;
    if (p != NULL) {
        alloc_live--;
        free(p);
    }
}

static void counting_start(size_t fail_at)
{
    alloc_calls = alloc_live = alloc_largest = 0;
    alloc_fail_at = fail_at;
    ck_assert_ae_ok(ae_set_allocator(counting_alloc, counting_free, NULL));
}

static void counting_stop(void)
{
    ck_assert_ae_ok(ae_set_allocator(NULL, NULL, NULL));
}

/* ---- round trips ------------------------------------------------------- */

START_TEST(deep_autoencoder_round_trip)
{
    ae_model *m = deep_autoencoder(7), *back = NULL, *from_file = NULL;
    size_t size;
    uint8_t *buf = save_to_memory(m, &size);
    ck_assert_uint_eq(size, 48 + 64 * 8 + 4 * ae_model_param_count(m) + 4);
    ck_assert_ae_ok(ae_model_load_memory(&back, buf, size));
    assert_same_model(m, back);
    assert_same_outputs(m, back);

    const char *path = tu_tmp_path("deep.aemodel");
    ck_assert_ae_ok(ae_model_save(m, path));
    ck_assert_ae_ok(ae_model_load(&from_file, path));
    assert_same_model(m, from_file);
    assert_same_outputs(m, from_file);
    /* The file holds exactly the memory image, and saving a loaded model
     * reproduces it byte for byte. */
    size_t file_size, again_size;
    uint8_t *file = tu_read_file(path, &file_size);
    ck_assert_uint_eq(file_size, size);
    ck_assert_int_eq(memcmp(file, buf, size), 0);
    uint8_t *again = save_to_memory(from_file, &again_size);
    ck_assert_uint_eq(again_size, size);
    ck_assert_int_eq(memcmp(again, buf, size), 0);
    free(buf);
    free(file);
    free(again);
    ae_model_free(m);
    ae_model_free(back);
    ae_model_free(from_file);
}
END_TEST

START_TEST(small_model_round_trip)
{
    ae_model *m = small_model(3), *back = NULL, *from_file = NULL;
    size_t size;
    uint8_t *buf = save_to_memory(m, &size);
    ck_assert_ae_ok(ae_model_load_memory(&back, buf, size));
    assert_same_model(m, back);
    assert_same_outputs(m, back);
    ae_layer *l;
    ck_assert_ae_ok(ae_model_layer(back, 0, &l));
    ck_assert_int_eq(ae_layer_activation(l), AE_ACT_LEAKY_RELU);
    ck_assert(l->act_param == 0.2f);
    ck_assert_ae_ok(ae_model_layer(back, 1, &l));
    ck_assert_int_eq(ae_layer_activation(l), AE_ACT_TANH);
    ck_assert_ae_ok(ae_model_layer(back, 2, &l));
    ck_assert(l->act_param == 0.01f);

    const char *path = tu_tmp_path("small.aemodel");
    ck_assert_ae_ok(ae_model_save(m, path));
    ck_assert_ae_ok(ae_model_load(&from_file, path));
    assert_same_model(m, from_file);
    assert_same_outputs(m, from_file);
    free(buf);
    ae_model_free(m);
    ae_model_free(back);
    ae_model_free(from_file);
}
END_TEST

START_TEST(conv_model_round_trip)
{
    ae_model *m = conv_model(4), *back = NULL;
    size_t size;
    uint8_t *buf = save_to_memory(m, &size);
    ck_assert_uint_eq(size, 48 + 64 * 10 + 4 * ae_model_param_count(m) + 4);
    ck_assert_ae_ok(ae_model_load_memory(&back, buf, size));
    assert_same_model(m, back);
    assert_same_outputs(m, back);
    const ae_layer_kind kinds[10] = {
        AE_LAYER_CONV2D,  AE_LAYER_MAXPOOL2D,   AE_LAYER_RESHAPE,
        AE_LAYER_DENSE,   AE_LAYER_DENSE,       AE_LAYER_RESHAPE,
        AE_LAYER_MAXUNPOOL2D, AE_LAYER_CONV2D,  AE_LAYER_UPSAMPLE2D,
        AE_LAYER_CONV_TRANSPOSE2D};
    for (size_t i = 0; i < 10; i++) {
        ae_layer *l;
        ck_assert_ae_ok(ae_model_layer(back, i, &l));
        ck_assert_int_eq(ae_layer_get_kind(l), kinds[i]);
    }

    /* An unpooling layer whose recorded partner is not a pooling layer, or
     * not an earlier one, is refused even with a valid checksum. */
    uint8_t *bad = malloc(size);
    const int32_t partners[] = {0, 6, 7, -1, 1000};
    for (size_t k = 0; k < sizeof partners / sizeof partners[0]; k++) {
        memcpy(bad, buf, size);
        le32(bad + 48 + 64 * 6 + 16, (uint32_t)partners[k]);
        fix_crc(bad, size);
        ae_model *out = (ae_model *)&out;
        ck_assert_ae_status(ae_model_load_memory(&out, bad, size),
                            AE_ERR_FORMAT);
        ck_assert_ptr_null(out);
    }
    /* An activation on a layer that takes none. */
    memcpy(bad, buf, size);
    le32(bad + 48 + 64 * 1 + 8, AE_ACT_RELU);
    fix_crc(bad, size);
    ae_model *out;
    ck_assert_ae_status(ae_model_load_memory(&out, bad, size), AE_ERR_FORMAT);
    free(bad);
    free(buf);
    ae_model_free(m);
    ae_model_free(back);
}
END_TEST

/* Models built through the API but incomplete save and load as they are;
 * layers added after loading draw the weights they would have drawn in the
 * original model. */
START_TEST(incomplete_models_round_trip)
{
    ae_model *empty, *back;
    ck_assert_ae_ok(ae_model_create(&empty, 3, 5, 7, 99));
    size_t size;
    uint8_t *buf = save_to_memory(empty, &size);
    ck_assert_uint_eq(size, 52);
    ck_assert_ae_ok(ae_model_load_memory(&back, buf, size));
    assert_same_model(empty, back);
    ck_assert_ae_status(ae_model_validate(back), AE_ERR_SHAPE);
    free(buf);
    ae_model_free(back);
    ae_model_free(empty);

    ae_model *half;
    ck_assert_ae_ok(ae_model_create(&half, 1, 4, 4, 5));
    ck_assert_ae_ok(ae_model_add_dense(half, AE_ENCODER, 6, AE_ACT_RELU));
    buf = save_to_memory(half, &size);
    ck_assert_ae_ok(ae_model_load_memory(&back, buf, size));
    assert_same_model(half, back);
    ck_assert_ae_ok(ae_model_add_dense(half, AE_DECODER, 16, AE_ACT_SIGMOID));
    ck_assert_ae_ok(ae_model_add_dense(back, AE_DECODER, 16, AE_ACT_SIGMOID));
    assert_same_model(half, back);
    assert_same_outputs(half, back);
    free(buf);
    ae_model_free(back);
    ae_model_free(half);
}
END_TEST

/* The bytes of docs/FORMAT.md, built here field by field. */
START_TEST(byte_layout_matches_the_spec)
{
    ae_model *m = tiny_model();
    uint8_t want[208];
    memset(want, 0, sizeof want);
    memcpy(want, "AENCMODL", 8);
    le32(want + 8, 1);                     /* version */
    le32(want + 12, 1);                    /* channels */
    le32(want + 16, 1);                    /* height */
    le32(want + 20, 2);                    /* width */
    le64(want + 24, 0x0102030405060708ull); /* seed */
    le32(want + 32, 2);                    /* layers */
    le32(want + 36, 1);                    /* encoder layers */
    le64(want + 40, 7);                    /* parameters */
    uint8_t *r = want + 48;                /* layer 0 */
    le32(r + 0, AE_LAYER_DENSE);
    le32(r + 4, AE_ENCODER);
    le32(r + 8, AE_ACT_LEAKY_RELU);
    lef32(r + 12, 0.25f);
    le32(r + 16, 1); /* cfg[0] = units */
    le64(r + 48, 2);
    le64(r + 56, 1);
    r += 64; /* layer 1 */
    le32(r + 0, AE_LAYER_DENSE);
    le32(r + 4, AE_DECODER);
    le32(r + 8, AE_ACT_SIGMOID);
    le32(r + 16, 2);
    le64(r + 48, 2);
    le64(r + 56, 2);
    const float params[7] = {1.0f, -2.0f, 0.5f, 0.25f, -0.75f, 0.0f, 1.0f};
    for (int i = 0; i < 7; i++)
        lef32(want + 176 + 4 * i, params[i]);
    fix_crc(want, sizeof want);

    size_t size;
    uint8_t *buf = save_to_memory(m, &size);
    ck_assert_uint_eq(size, sizeof want);
    for (size_t i = 0; i < size; i++)
        ck_assert_msg(buf[i] == want[i], "byte %zu: 0x%02x, expected 0x%02x",
                      i, buf[i], want[i]);
    /* And the hand-built bytes load. */
    ae_model *back;
    ck_assert_ae_ok(ae_model_load_memory(&back, want, sizeof want));
    assert_same_model(m, back);
    free(buf);
    ae_model_free(back);
    ae_model_free(m);
}
END_TEST

START_TEST(save_memory_sizes_and_capacity)
{
    ae_model *m = small_model(1);
    size_t size = 0, reported = 0;
    ck_assert_ae_ok(ae_model_save_memory(m, NULL, 0, &size));
    ck_assert_ae_ok(ae_model_save_memory(m, NULL, 12345, &reported));
    ck_assert_uint_eq(reported, size);
    uint8_t *buf = malloc(size);
    memset(buf, 0xab, size);
    reported = 0;
    ck_assert_ae_status(ae_model_save_memory(m, buf, size - 1, &reported),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_uint_eq(reported, size);
    for (size_t i = 0; i < size; i++)
        ck_assert_uint_eq(buf[i], 0xab); /* nothing written */
    ck_assert_ae_ok(ae_model_save_memory(m, buf, size, &reported));

    /* A non-finite parameter (impossible through the API) is refused: the
     * file could not be loaded back. */
    ae__model_params(m)[3] = NAN;
    memset(buf, 0xab, size);
    ck_assert_ae_status(ae_model_save_memory(m, buf, size, &reported),
                        AE_ERR_NOT_FINITE);
    ck_assert_uint_eq(buf[0], 0xab);
    ck_assert_ae_status(ae_model_save(m, tu_tmp_path("nan.aemodel")),
                        AE_ERR_NOT_FINITE);
    ck_assert_int_ne(access(tu_tmp_path("nan.aemodel"), F_OK), 0);
    free(buf);
    ae_model_free(m);
}
END_TEST

START_TEST(null_arguments)
{
    ae_model *m = tiny_model(), *out = (ae_model *)&out;
    size_t size;
    uint8_t buf[256];
    ck_assert_ae_status(ae_model_save(NULL, tu_tmp_path("x")), AE_ERR_NULL);
    ck_assert_ae_status(ae_model_save(m, NULL), AE_ERR_NULL);
    ck_assert_ae_status(ae_model_save(m, ""), AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_model_save_memory(NULL, buf, sizeof buf, &size),
                        AE_ERR_NULL);
    ck_assert_ae_status(ae_model_save_memory(m, buf, sizeof buf, NULL),
                        AE_ERR_NULL);
    ck_assert_ae_status(ae_model_load(NULL, "x"), AE_ERR_NULL);
    ck_assert_ae_status(ae_model_load(&out, NULL), AE_ERR_NULL);
    ck_assert_ptr_null(out);
    out = (ae_model *)&out;
    ck_assert_ae_status(ae_model_load_memory(NULL, buf, 10), AE_ERR_NULL);
    ck_assert_ae_status(ae_model_load_memory(&out, NULL, 10), AE_ERR_NULL);
    ck_assert_ptr_null(out);
    ae_model_free(m);
}
END_TEST

/* ---- damaged data ------------------------------------------------------ */

/* Every single-byte change is caught.  Damage to the content proper gives
 * AE_ERR_CHECKSUM; the magic, version and counts are checked first and
 * give their own statuses. */
START_TEST(every_byte_corruption_is_rejected)
{
    ae_model *m = small_model(5);
    const char *path = tu_tmp_path("corrupt-every-byte.aemodel");
    ck_assert_ae_ok(ae_model_save(m, path));
    size_t size;
    uint8_t *good = tu_read_file(path, &size);
    uint8_t *bad = malloc(size);
    const uint8_t flips[] = {0x01, 0x80, 0xff};
    for (size_t off = 0; off < size; off++)
        for (size_t f = 0; f < sizeof flips; f++) {
            memcpy(bad, good, size);
            bad[off] ^= flips[f];
            ae_model *out = (ae_model *)&out;
            ae_status s = ae_model_load_memory(&out, bad, size);
            ck_assert_msg(s != AE_OK, "offset %zu ^ 0x%02x loaded", off,
                          flips[f]);
            ck_assert_ptr_null(out);
            ck_assert(ae_last_error()[0] != '\0');
            int header = off < 12 || (off >= 32 && off < 48);
            if (!header)
                ck_assert_msg(s == AE_ERR_CHECKSUM,
                              "offset %zu ^ 0x%02x: %s (%s)", off, flips[f],
                              ae_status_name(s), ae_last_error());
        }
    free(good);
    free(bad);
    ae_model_free(m);
}
END_TEST

START_TEST(every_truncation_is_rejected)
{
    ae_model *m = small_model(6);
    size_t size;
    uint8_t *good = save_to_memory(m, &size);
    for (size_t n = 0; n < size; n++) {
        /* A copy of exactly n bytes, so reading past it would be seen by
         * valgrind or ASan. */
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, good, n);
        ae_model *out = (ae_model *)&out;
        ck_assert_msg(ae_model_load_memory(&out, cut, n) != AE_OK,
                      "prefix of %zu bytes loaded", n);
        ck_assert_ptr_null(out);
        free(cut);
    }
    /* Trailing bytes too. */
    uint8_t *longer = malloc(size + 1);
    memcpy(longer, good, size);
    longer[size] = 0;
    ae_model *out;
    ck_assert_ae_status(ae_model_load_memory(&out, longer, size + 1),
                        AE_ERR_FORMAT);
    ck_assert_ptr_null(out);
    free(longer);
    free(good);
    ae_model_free(m);
}
END_TEST

/* Files with a correct CRC but lying fields: each one is refused with the
 * expected status, a message naming the offset, and no large
 * allocation. */
typedef struct crafted {
    const char *what;
    size_t offset; /* where the lie goes */
    int width;     /* 4 or 8 bytes; 0: a float */
    uint64_t value;
    float fvalue;
    ae_status expected;
} crafted;

START_TEST(crafted_files_with_valid_crc_are_rejected)
{
    ae_model *m = tiny_model();
    size_t size;
    uint8_t *good = save_to_memory(m, &size);
    ae_model_free(m);
    const size_t L0 = 48, L1 = 112, P = 176; /* records, parameters */
    const crafted cases[] = {
        {"params 2^60", 40, 8, (uint64_t)1 << 60, 0, AE_ERR_LIMIT},
        {"params 2^64-1", 40, 8, UINT64_MAX, 0, AE_ERR_LIMIT},
        {"params +1", 40, 8, 8, 0, AE_ERR_FORMAT},
        {"layers 2^32-1", 32, 4, UINT32_MAX, 0, AE_ERR_LIMIT},
        {"layers 3", 32, 4, 3, 0, AE_ERR_FORMAT},
        {"layers 0", 32, 4, 0, 0, AE_ERR_FORMAT},
        {"version 0", 8, 4, 0, 0, AE_ERR_FORMAT},
        {"version 3", 8, 4, 3, 0, AE_ERR_UNSUPPORTED},
        {"encoder 3", 36, 4, 3, 0, AE_ERR_FORMAT},
        {"encoder 0", 36, 4, 0, 0, AE_ERR_FORMAT},
        {"encoder 2", 36, 4, 2, 0, AE_ERR_FORMAT},
        {"channels 0", 12, 4, 0, 0, AE_ERR_FORMAT},
        {"channels 2^31", 12, 4, 0x80000000u, 0, AE_ERR_FORMAT},
        {"height 70000", 16, 4, 70000, 0, AE_ERR_FORMAT},
        {"kind 0", L0, 4, 0, 0, AE_ERR_UNSUPPORTED},
        {"kind 99", L0, 4, 99, 0, AE_ERR_UNSUPPORTED},
        {"kind 2^31+1", L0, 4, 0x80000001u, 0, AE_ERR_UNSUPPORTED},
        {"part 2", L0 + 4, 4, 2, 0, AE_ERR_FORMAT},
        {"part decoder", L0 + 4, 4, AE_DECODER, 0, AE_ERR_FORMAT},
        {"part encoder", L1 + 4, 4, AE_ENCODER, 0, AE_ERR_FORMAT},
        {"activation 5", L0 + 8, 4, 5, 0, AE_ERR_UNSUPPORTED},
        {"activation 2^32-1", L0 + 8, 4, UINT32_MAX, 0, AE_ERR_UNSUPPORTED},
        {"slope -0.5", L0 + 12, 0, 0, -0.5f, AE_ERR_FORMAT},
        {"slope 1", L0 + 12, 0, 0, 1.0f, AE_ERR_FORMAT},
        {"slope NaN", L0 + 12, 0, 0, NAN, AE_ERR_FORMAT},
        {"param for sigmoid NaN", L1 + 12, 0, 0, NAN, AE_ERR_FORMAT},
        {"units 0", L0 + 16, 4, 0, 0, AE_ERR_FORMAT},
        {"units -5", L0 + 16, 4, (uint32_t)-5, 0, AE_ERR_FORMAT},
        {"units 10^8", L0 + 16, 4, 100000000, 0, AE_ERR_FORMAT},
        {"units 2^31-1", L0 + 16, 4, INT32_MAX, 0, AE_ERR_LIMIT},
        {"decoder units 3", L1 + 16, 4, 3, 0, AE_ERR_FORMAT},
        {"weights 2^60", L0 + 48, 8, (uint64_t)1 << 60, 0, AE_ERR_FORMAT},
        {"weights 2^64-1", L0 + 48, 8, UINT64_MAX, 0, AE_ERR_FORMAT},
        {"weights 1 (bias 2)", L0 + 48, 8, 1, 0, AE_ERR_FORMAT},
        {"bias 2^63", L1 + 56, 8, (uint64_t)1 << 63, 0, AE_ERR_FORMAT},
        {"bias 0", L1 + 56, 8, 0, 0, AE_ERR_FORMAT},
        {"weight NaN", P, 0, 0, NAN, AE_ERR_NOT_FINITE},
        {"weight -Inf", P + 4, 0, 0, -INFINITY, AE_ERR_NOT_FINITE},
        {"last bias +Inf", P + 24, 0, 0, INFINITY, AE_ERR_NOT_FINITE},
    };
    uint8_t *bad = malloc(size);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const crafted *c = &cases[k];
        memcpy(bad, good, size);
        if (c->width == 8)
            le64(bad + c->offset, c->value);
        else if (c->width == 4)
            le32(bad + c->offset, (uint32_t)c->value);
        else
            lef32(bad + c->offset, c->fvalue);
        /* "weights 1 (bias 2)": keep the layer's total, move one to the
         * bias so only the layer's own check can catch it. */
        if (strcmp(c->what, "weights 1 (bias 2)") == 0)
            le64(bad + L0 + 56, 2);
        fix_crc(bad, size);
        counting_start(SIZE_MAX);
        ae_model *out = (ae_model *)&out;
        ae_status s = ae_model_load_memory(&out, bad, size);
        size_t largest = alloc_largest, live = alloc_live;
        counting_stop();
        ck_assert_msg(s == c->expected, "%s: %s, expected %s (%s)", c->what,
                      ae_status_name(s), ae_status_name(c->expected),
                      ae_last_error());
        ck_assert_ptr_null(out);
        ck_assert_msg(strstr(ae_last_error(), "offset") != NULL,
                      "%s: message names no offset: %s", c->what,
                      ae_last_error());
        ck_assert_msg(largest < 4096, "%s: allocated %zu bytes", c->what,
                      largest);
        ck_assert_msg(live == 0, "%s: %zu allocations leaked", c->what, live);
    }
    /* The same data with the lie undone loads. */
    ae_model *out;
    ck_assert_ae_ok(ae_model_load_memory(&out, good, size));
    ae_model_free(out);

    /* Not a model at all. */
    ck_assert_ae_status(ae_model_load_memory(&out, "AENCMODX and more", 17),
                        AE_ERR_FORMAT);
    ck_assert_ae_status(ae_model_load_memory(&out, good, 0), AE_ERR_FORMAT);
    free(bad);
    free(good);
}
END_TEST

/* Make each allocation of a load fail in turn: NO_MEMORY, *out NULL,
 * nothing leaked; then the load succeeds. */
START_TEST(allocation_failures_leak_nothing)
{
    ae_model *m = small_model(8);
    size_t size;
    uint8_t *buf = save_to_memory(m, &size);
    const char *path = tu_tmp_path("alloc.aemodel");
    ck_assert_ae_ok(ae_model_save(m, path));
    ae_model_free(m);

    for (int from_file = 0; from_file < 2; from_file++) {
        size_t fail_at = 0;
        for (;; fail_at++) {
            counting_start(fail_at);
            ae_model *out = (ae_model *)&out;
            ae_status s = from_file ? ae_model_load(&out, path)
                                    : ae_model_load_memory(&out, buf, size);
            size_t live = alloc_live;
            if (s == AE_OK) {
                ae_model_free(out);
                ck_assert_uint_eq(alloc_live, 0);
                counting_stop();
                break;
            }
            counting_stop();
            ck_assert_msg(s == AE_ERR_NO_MEMORY, "failing allocation %zu: %s",
                          fail_at, ae_status_name(s));
            ck_assert_ptr_null(out);
            ck_assert_msg(live == 0, "failing allocation %zu: %zu leaked",
                          fail_at, live);
        }
        ck_assert_uint_gt(fail_at, 4);
    }

    /* Saving: a failed allocation leaves no file and no temporary. */
    ck_assert_ae_ok(ae_model_load_memory(&m, buf, size));
    const char *dir = fresh_dir("alloc-save");
    char target[4096];
    snprintf(target, sizeof target, "%s/m.aemodel", dir);
    for (size_t fail_at = 0;; fail_at++) {
        counting_start(fail_at);
        ae_status s = ae_model_save(m, target);
        size_t live = alloc_live;
        counting_stop();
        ck_assert_uint_eq(live, 0);
        if (s == AE_OK)
            break;
        ck_assert_int_eq(s, AE_ERR_NO_MEMORY);
        ck_assert_int_eq(dir_entries(dir, NULL), 0);
    }
    ae_model_free(m);
    free(buf);
}
END_TEST

/* ---- files ------------------------------------------------------------- */

START_TEST(save_replaces_atomically)
{
    ae_model *a = small_model(1), *b = small_model(2), *back;
    const char *dir = fresh_dir("replace");
    char path[4096];
    snprintf(path, sizeof path, "%s/model.aemodel", dir);
    tu_write_file(path, "old content", 11, 0);
    ck_assert_int_eq(chmod(path, 0640), 0);

    ck_assert_ae_ok(ae_model_save(a, path));
    int tmp;
    ck_assert_int_eq(dir_entries(dir, &tmp), 1);
    ck_assert_int_eq(tmp, 0);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0640); /* permissions kept */
    ck_assert_ae_ok(ae_model_load(&back, path));
    assert_same_model(a, back);
    ae_model_free(back);

    ck_assert_ae_ok(ae_model_save(b, path));
    ck_assert_int_eq(dir_entries(dir, &tmp), 1);
    ck_assert_int_eq(tmp, 0);
    ck_assert_ae_ok(ae_model_load(&back, path));
    assert_same_model(b, back);
    ae_model_free(back);

    /* A new file gets 0666 less the umask. */
    mode_t old_mask = umask(027);
    char fresh[4096];
    snprintf(fresh, sizeof fresh, "%s/new.aemodel", dir);
    ck_assert_ae_ok(ae_model_save(a, fresh));
    umask(old_mask);
    ck_assert_int_eq(stat(fresh, &st), 0);
    /* (The umask is read from /proc; without it new files stay 0600.) */
    if (access("/proc/self/status", R_OK) == 0)
        ck_assert_int_eq(st.st_mode & 0777, 0640);
    ck_assert_int_eq(dir_entries(dir, &tmp), 2);
    ck_assert_int_eq(tmp, 0);
    ae_model_free(a);
    ae_model_free(b);
}
END_TEST

START_TEST(save_failures_leave_nothing_behind)
{
    ae_model *m = small_model(1);
    const char *dir = fresh_dir("failures");
    char path[4096];

    /* A directory that does not exist. */
    snprintf(path, sizeof path, "%s/missing/model.aemodel", dir);
    ck_assert_ae_status(ae_model_save(m, path), AE_ERR_IO);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), path));
    ck_assert_ptr_nonnull(strstr(ae_last_error(), strerror(ENOENT)));
    ck_assert_int_eq(dir_entries(dir, NULL), 0);

    /* The destination is a directory: the rename fails, the temporary file
     * is removed and the directory is untouched. */
    snprintf(path, sizeof path, "%s/sub", dir);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    ck_assert_ae_status(ae_model_save(m, path), AE_ERR_IO);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), path));
    int tmp;
    ck_assert_int_eq(dir_entries(dir, &tmp), 1);
    ck_assert_int_eq(tmp, 0);
    ck_assert_int_eq(dir_entries(path, NULL), 0);

    /* An unwritable directory (permissions do not bind root): the old file
     * keeps its content. */
    if (geteuid() != 0) {
        snprintf(path, sizeof path, "%s/sub/model.aemodel", dir);
        tu_write_file(path, "old content", 11, 0);
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/sub", dir);
        ck_assert_int_eq(chmod(sub, 0500), 0);
        ck_assert_ae_status(ae_model_save(m, path), AE_ERR_IO);
        ck_assert_int_eq(chmod(sub, 0700), 0);
        size_t n;
        uint8_t *content = tu_read_file(path, &n);
        ck_assert_uint_eq(n, 11);
        ck_assert_int_eq(memcmp(content, "old content", 11), 0);
        free(content);
        ck_assert_int_eq(dir_entries(sub, NULL), 1);
    }
    ae_model_free(m);
}
END_TEST

START_TEST(load_file_errors)
{
    ae_model *out = (ae_model *)&out;
    const char *missing = tu_tmp_path("no-such-model.aemodel");
    ck_assert_ae_status(ae_model_load(&out, missing), AE_ERR_IO);
    ck_assert_ptr_null(out);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), missing));

    ck_assert_ae_status(ae_model_load(&out, tu_tmpdir()), AE_ERR_IO);
    ck_assert_ptr_null(out);

    const char *empty = tu_tmp_path("empty.aemodel");
    tu_write_file(empty, "", 0, 0);
    ck_assert_ae_status(ae_model_load(&out, empty), AE_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), empty));

    /* A corrupted file names the path and the offset. */
    ae_model *m = tiny_model();
    const char *path = tu_tmp_path("corrupt.aemodel");
    ck_assert_ae_ok(ae_model_save(m, path));
    size_t n;
    uint8_t *bytes = tu_read_file(path, &n);
    bytes[180] ^= 0x10;
    tu_write_file(path, bytes, n, 0);
    ck_assert_ae_status(ae_model_load(&out, path), AE_ERR_CHECKSUM);
    ck_assert_ptr_null(out);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), path));
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "offset 204"));
    /* A gzip-compressed model is not a model. */
    bytes[180] ^= 0x10;
    tu_write_file(path, bytes, n, 1);
    ck_assert_ae_status(ae_model_load(&out, path), AE_ERR_FORMAT);
    free(bytes);
    ae_model_free(m);
}
END_TEST

/* ---- format versions 1 and 2 (batch norm and dropout) -------------------- */

/* tests/fixtures/model_v1.aemodel: written by the library before format
 * version 2 existed (1 x 2 x 2 inputs, seed 4242, dense 2 Tanh, dense 4
 * Sigmoid), with its parameters and the reconstruction of V1_INPUT as
 * that library computed them. */
static const float v1_params[22] = {
    -0x1.407p-11, -0x1.7135f8p-3, 0x1.32eddp-2, 0x1.8e9378p-3, 0x1.9ca41p-2, -0x1.c56c7cp-2, 0x1.87296p-3, -0x1.68e9ecp-2, -0x1.d3287p-3, -0x1.ddc4c8p-2, -0x1.55f3fep-2, 0x1.a2b174p-4, -0x1.42091ep-1, 0x1.27010ep-1, 0x1.92b43p-2, 0x1.a4d08ep-2, 0x1.72c66ap-2, -0x1.625314p-2, -0x1.1a6238p-2, 0x1.077414p-1, 0x1.3ed912p-1, -0x1.57401ep-3
};
static const float v1_input[8] = {0.0f, 0.25f, 0.5f, 1.0f,
                                  1.0f, 0.75f, 0.125f, 0.0f};
static const float v1_recon[8] = {
    0x1.a28326p-2, 0x1.09c644p-1, 0x1.2ed936p-1, 0x1.0c1382p-1, 0x1.cb3e88p-2, 0x1.3fa994p-1, 0x1.2cac1cp-1, 0x1.d77292p-2
};

START_TEST(version_1_fixture_loads)
{
    ae_model *m = NULL;
    ck_assert_ae_ok(ae_model_load(&m, AE_TEST_SOURCE_DIR
                                  "/fixtures/model_v1.aemodel"));
    ck_assert_uint_eq(ae_model_layer_count(m), 2);
    ck_assert_uint_eq(ae_model_param_count(m), 22);
    ck_assert_uint_eq(ae__model_seed(m), 4242);
    float *p = tu_model_params(m);
    ck_assert_int_eq(memcmp(p, v1_params, sizeof v1_params), 0);
    float y[8];
    ck_assert_ae_ok(ae_model_reconstruct(m, v1_input, 2, y));
    /* Computed here, by this machine's OpenBLAS kernels: to the last
     * places (tu_ulps_apart), not bit for bit. */
    for (int i = 0; i < 8; i++)
        ck_assert_msg(tu_ulps_apart(y[i], v1_recon[i]) <= 16,
                      "output %d: %a, the fixture's %a", i, (double)y[i],
                      (double)v1_recon[i]);
    /* Saved again, a model without layer state is still version 1, byte
     * for byte the file it came from. */
    size_t size = 0, fsize = 0;
    uint8_t *again = save_to_memory(m, &size);
    uint8_t *file = tu_read_file(AE_TEST_SOURCE_DIR
                                 "/fixtures/model_v1.aemodel", &fsize);
    ck_assert_uint_eq(size, fsize);
    ck_assert_int_eq(memcmp(again, file, size), 0);
    free(again);
    free(file);
    free(p);
    ae_model_free(m);
}
END_TEST

/* 1 x 4 x 4 inputs: dense 3, batch norm (ReLU), dropout, dense 16: the
 * layer state is 2 x 3 floats of running statistics and the dropout
 * counter, 32 bytes. */
static ae_model *stateful_model(void)
{
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 1, 4, 4, 17));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 3, AE_ACT_NONE));
    ck_assert_ae_ok(ae_model_add_batchnorm(m, AE_ENCODER, 0.1f, 1e-5f,
                                           AE_ACT_RELU));
    ck_assert_ae_ok(ae_model_add_dropout(m, AE_DECODER, 0.2f));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 16, AE_ACT_SIGMOID));
    float x[4 * 16];
    tu_fill_uniform(x, 4 * 16, 0.0f, 1.0f, 3);
    const float *y;
    ck_assert_ae_ok(ae_model_forward_train(m, x, 4, &y, NULL));
    ck_assert_ae_ok(ae_model_forward_train(m, x, 4, &y, NULL));
    return m;
}

enum { SM_PARAMS = 16 * 3 + 3 + 3 + 3 + 3 * 16 + 16, SM_STATE = 32 };

START_TEST(version_2_layout_and_damage)
{
    ae_model *m = stateful_model();
    ck_assert_uint_eq(ae_model_param_count(m), SM_PARAMS);
    size_t size;
    uint8_t *good = save_to_memory(m, &size);
    const size_t state_off = 48 + 64 * 4 + 4 * SM_PARAMS;
    ck_assert_uint_eq(size, state_off + 8 + SM_STATE + 4);
    ck_assert_uint_eq(good[8], 2);
    ck_assert_uint_eq(good[state_off], SM_STATE);
    /* The running statistics, then the counter: 2 committed passes. */
    ae_layer *bn;
    ck_assert_ae_ok(ae_model_layer(m, 1, &bn));
    size_t nr;
    const float *run = bn->ops->running(bn, &nr);
    ck_assert_int_eq(memcmp(good + state_off + 8, run, 24), 0);
    ck_assert_uint_eq(good[state_off + 8 + 24], 2);

    ae_model *back = NULL;
    ck_assert_ae_ok(ae_model_load_memory(&back, good, size));
    float x[16], y1[16], y2[16];
    tu_fill_uniform(x, 16, 0.0f, 1.0f, 8);
    ck_assert_ae_ok(ae_model_reconstruct(m, x, 1, y1));
    ck_assert_ae_ok(ae_model_reconstruct(back, x, 1, y2));
    ck_assert_int_eq(memcmp(y1, y2, sizeof y1), 0);
    ae_model_free(back);

    /* Every byte flipped, every truncation: refused. */
    uint8_t *bad = malloc(size + 1);
    for (size_t off = 0; off < size; off++) {
        memcpy(bad, good, size);
        bad[off] ^= 0x40;
        ae_model *out = (ae_model *)&out;
        ck_assert_msg(ae_model_load_memory(&out, bad, size) != AE_OK,
                      "offset %zu ^ 0x40 loaded", off);
        ck_assert_ptr_null(out);
    }
    for (size_t n = 0; n < size; n++) {
        ae_model *out = (ae_model *)&out;
        ck_assert_msg(ae_model_load_memory(&out, good, n) != AE_OK,
                      "prefix of %zu bytes loaded", n);
        ck_assert_ptr_null(out);
    }

    /* Lies under a valid CRC. */
    struct {
        const char *what;
        size_t off;
        int width; /* 8: u64, 4: f32 */
        uint64_t value;
        float f;
        ae_status expected;
        const char *says;
    } lies[] = {
        {"state size 24", state_off, 8, 24, 0, AE_ERR_FORMAT, "offset"},
        {"state size huge", state_off, 8, (uint64_t)1 << 40, 0,
         AE_ERR_LIMIT, "layer state size"},
        {"negative running variance", state_off + 8 + 12, 4, 0, -1.0f,
         AE_ERR_NOT_FINITE, "running variance"},
        {"NaN running mean", state_off + 8 + 4, 4, 0, NAN,
         AE_ERR_NOT_FINITE, "running mean"},
        {"momentum 2", 48 + 64 + 16, 4, 0, 2.0f, AE_ERR_FORMAT,
         "momentum"},
        {"dropout rate 1", 48 + 128 + 16, 4, 0, 1.0f, AE_ERR_FORMAT,
         "rate"},
    };
    for (size_t k = 0; k < sizeof lies / sizeof lies[0]; k++) {
        memcpy(bad, good, size);
        if (lies[k].width == 8)
            le64(bad + lies[k].off, lies[k].value);
        else
            lef32(bad + lies[k].off, lies[k].f);
        fix_crc(bad, size);
        ae_model *out = (ae_model *)&out;
        ae_status s = ae_model_load_memory(&out, bad, size);
        ck_assert_msg(s == lies[k].expected && strstr(ae_last_error(),
                                                      lies[k].says),
                      "%s: %s (%s)", lies[k].what, ae_status_name(s),
                      ae_last_error());
        ck_assert_ptr_null(out);
    }

    /* A version-1 file cannot hold the new layers' state: the same file
     * without its state section, marked version 1, is refused. */
    memcpy(bad, good, state_off);
    le32(bad + 8, 1);
    fix_crc(bad, state_off + 4);
    ae_model *out = (ae_model *)&out;
    ck_assert_ae_status(ae_model_load_memory(&out, bad, state_off + 4),
                        AE_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "version-1"));
    ck_assert_ptr_null(out);
    free(bad);
    free(good);
    ae_model_free(m);
}
END_TEST

/* A model whose running statistics went to infinity cannot be loaded
 * back, so it is not saved. */
START_TEST(non_finite_state_is_not_saved)
{
    ae_model *m = stateful_model();
    ae_layer *bn;
    ck_assert_ae_ok(ae_model_layer(m, 1, &bn));
    size_t nr;
    bn->ops->running(bn, &nr)[4] = INFINITY;
    size_t size = 0;
    ck_assert_ae_ok(ae_model_save_memory(m, NULL, 0, &size));
    uint8_t *buf = malloc(size);
    ck_assert_ae_status(ae_model_save_memory(m, buf, size, &size),
                        AE_ERR_NOT_FINITE);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "running variance"));
    ck_assert_ae_status(ae_model_save(m, tu_tmp_path("inf.aemodel")),
                        AE_ERR_NOT_FINITE);
    free(buf);
    ae_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("model_io");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, deep_autoencoder_round_trip);
    tcase_add_test(tc, small_model_round_trip);
    tcase_add_test(tc, conv_model_round_trip);
    tcase_add_test(tc, incomplete_models_round_trip);
    tcase_add_test(tc, byte_layout_matches_the_spec);
    tcase_add_test(tc, save_memory_sizes_and_capacity);
    tcase_add_test(tc, null_arguments);
    tcase_add_test(tc, every_byte_corruption_is_rejected);
    tcase_add_test(tc, every_truncation_is_rejected);
    tcase_add_test(tc, crafted_files_with_valid_crc_are_rejected);
    tcase_add_test(tc, allocation_failures_leak_nothing);
    tcase_add_test(tc, save_replaces_atomically);
    tcase_add_test(tc, save_failures_leave_nothing_behind);
    tcase_add_test(tc, load_file_errors);
    tcase_add_test(tc, version_1_fixture_loads);
    tcase_add_test(tc, version_2_layout_and_damage);
    tcase_add_test(tc, non_finite_state_is_not_saved);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}

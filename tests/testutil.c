/* testutil.c - helpers shared by the unit tests. */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

const char *tu_mnist_path(const char *name)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", AE_TEST_MNIST_DIR, name);
    return buf;
}

int tu_have_mnist(void)
{
    return access(tu_mnist_path("t10k-images-idx3-ubyte.gz"), R_OK) == 0;
}

static char tmp_dir[256];
static pid_t tmp_dir_owner;

void tu_remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d == NULL) {
        remove(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            tu_remove_tree(sub);
        else
            remove(sub);
    }
    closedir(d);
    rmdir(path);
}

/* At the exit of the process that made the folder (Check runs each test
 * in a process of its own, and the tests' own children leave by _exit).
 * Without it every test process left its folder in /tmp: about 5,000 on
 * a development machine after a day of runs.  AE_TEST_KEEP_TMP set keeps
 * them, to look at what a failing test wrote. */
static void remove_tmpdir(void)
{
    if (getpid() == tmp_dir_owner && getenv("AE_TEST_KEEP_TMP") == NULL)
        tu_remove_tree(tmp_dir);
}

const char *tu_tmpdir(void)
{
    if (tmp_dir[0] == '\0') {
        const char *base = getenv("TMPDIR");
        snprintf(tmp_dir, sizeof tmp_dir, "%s/ae-test-XXXXXX",
                 base ? base : "/tmp");
        if (mkdtemp(tmp_dir) == NULL) {
            perror("mkdtemp");
            exit(2);
        }
        tmp_dir_owner = getpid();
        atexit(remove_tmpdir);
    }
    return tmp_dir;
}

const char *tu_tmp_path(const char *name)
{
    static char bufs[4][4096];
    static int next;
    char *b = bufs[next++ & 3];
    snprintf(b, 4096, "%s/%s", tu_tmpdir(), name);
    return b;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

uint8_t *tu_idx_images(uint32_t n, uint32_t h, uint32_t w,
                       const uint8_t *pixels, size_t *size)
{
    size_t body = (size_t)n * h * w;
    uint8_t *b = malloc(16 + body + 1);
    ck_assert_ptr_nonnull(b);
    put_be32(b, 0x00000803);
    put_be32(b + 4, n);
    put_be32(b + 8, h);
    put_be32(b + 12, w);
    for (size_t i = 0; i < n; i++)
        for (size_t r = 0; r < h; r++)
            for (size_t c = 0; c < w; c++) {
                size_t k = (i * h + r) * w + c;
                b[16 + k] = pixels ? pixels[k] : (uint8_t)((i * 7 + r * 3 + c) & 255);
            }
    *size = 16 + body;
    return b;
}

uint8_t *tu_idx_labels(uint32_t n, const uint8_t *labels, size_t *size)
{
    uint8_t *b = malloc(8 + (size_t)n + 1);
    ck_assert_ptr_nonnull(b);
    put_be32(b, 0x00000801);
    put_be32(b + 4, n);
    for (uint32_t i = 0; i < n; i++)
        b[8 + i] = labels ? labels[i] : (uint8_t)(i % 10);
    *size = 8 + (size_t)n;
    return b;
}

void tu_write_file(const char *path, const void *data, size_t size, int gzip)
{
    if (gzip) {
        gzFile f = gzopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        if (size > 0)
            ck_assert_int_eq(gzwrite(f, data, (unsigned)size), (int)size);
        ck_assert_int_eq(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(data, 1, size, f), size);
        ck_assert_int_eq(fclose(f), 0);
    }
}

uint8_t *tu_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    ck_assert_int_ge(n, 0);
    rewind(f);
    uint8_t *buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return buf;
}

void tu_fill_uniform(float *x, size_t n, float lo, float hi, uint32_t seed)
{
    uint32_t s = seed * 2654435761u + 12345u;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        x[i] = lo + (hi - lo) * (float)(s >> 8) * (1.0f / 16777216.0f);
    }
}

int tu_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* ---- appended: dataset tests ------------------------------------------- */

uint8_t *tu_gzip(const void *data, size_t size, size_t *out_size)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    ck_assert_int_eq(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8,
                                  Z_DEFAULT_STRATEGY), Z_OK);
    uLong cap = deflateBound(&z, (uLong)size);
    uint8_t *out = malloc(cap);
    ck_assert_ptr_nonnull(out);
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)size;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    *out_size = (size_t)z.total_out;
    ck_assert_int_eq(deflateEnd(&z), Z_OK);
    return out;
}

int tu_require_mnist(void)
{
    if (tu_have_mnist())
        return 1;
    ck_assert_msg(getenv("AE_TEST_ALLOW_MISSING_DATA") != NULL,
                  "MNIST data missing at %s (set AE_TEST_ALLOW_MISSING_DATA "
                  "to skip)", tu_mnist_path("t10k-images-idx3-ubyte.gz"));
    return 0;
}

/* ---- image pairs for the metric tests (tests/reference/ssim_reference.py
 * builds the same ones) ---- */

static uint32_t tu_mix32(uint32_t k)
{
    k *= 2654435761u;
    k ^= k >> 16;
    k *= 0x45d9f3bu;
    k ^= k >> 16;
    return k;
}

static int tu_base_pixel(int pattern, int r, int c, int h, int w)
{
    if (pattern == 0) /* diagonal ramp with a wrap-around edge */
        return (r * 7 + c * 4) & 255;
    if (pattern == 1) { /* round blob */
        int d = (r - h / 2) * (r - h / 2) + (c - w / 2) * (c - w / 2);
        return 255 - 3 * d > 0 ? 255 - 3 * d : 0;
    }
    return (int)(tu_mix32((uint32_t)(r * 1000 + c + 7)) & 255); /* texture */
}

void tu_image_pairs(int n, int channels, int h, int w, int range, float *ref,
                    float *test)
{
    size_t k = 0;
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < channels; ch++)
            for (int r = 0; r < h; r++)
                for (int c = 0; c < w; c++, k++) {
                    int pattern = (i + ch) % 3, amp = 16 + 24 * pattern;
                    int a = tu_base_pixel(pattern, r, c, h, w);
                    uint32_t key = (uint32_t)(((i * 8 + ch) * 64 + r) * 64 + c + 1);
                    int noise = (int)(tu_mix32(key) % (uint32_t)(2 * amp + 1)) - amp;
                    int b = a + noise;
                    b = b < 0 ? 0 : b > 255 ? 255 : b;
                    if (range == 1) {
                        ref[k] = (float)a / 256.0f;
                        test[k] = (float)b / 256.0f;
                    } else {
                        ref[k] = (float)a / 128.0f - 1.0f;
                        test[k] = (float)b / 128.0f - 1.0f;
                    }
                }
}

/* The float's place on a line of integers in the floats' order. */
static int64_t float_rank(float x)
{
    int32_t bits;
    memcpy(&bits, &x, sizeof bits);
    return bits < 0 ? (int64_t)INT32_MIN - bits : bits;
}

uint32_t tu_ulps_apart(float a, float b)
{
    if (a != a || b != b)
        return UINT32_MAX;
    const int64_t d = float_rank(a) - float_rank(b);
    return (uint32_t)(d < 0 ? -d : d);
}

float *tu_model_params(ae_model *m)
{
    size_t n = ae_model_param_count(m), off = 0;
    float *p = malloc(n * sizeof *p + 1);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < ae_model_layer_count(m); i++) {
        ae_layer *l;
        ck_assert_ae_ok(ae_model_layer(m, i, &l));
        size_t nw = ae_layer_weight_count(l), nb = ae_layer_bias_count(l);
        ck_assert_ae_ok(ae_layer_get_weights(l, p + off, nw));
        ck_assert_ae_ok(ae_layer_get_bias(l, p + off + nw, nb));
        off += nw + nb;
    }
    return p;
}

_Atomic long tu_walk_calls, tu_walk_live, tu_walk_fail_at;
_Atomic int tu_walk_sticky;

void *tu_walk_alloc(void *opaque, size_t size)
{
    (void)opaque;
    long k = ++tu_walk_calls;
    long f = tu_walk_fail_at;
    if (f > 0 && (k == f || (tu_walk_sticky && k > f)))
        return NULL;
    void *p = malloc(size);
    if (p != NULL)
        tu_walk_live++;
    return p;
}

void tu_walk_free(void *opaque, void *p)
{
    (void)opaque;
    if (p != NULL) {
        tu_walk_live--;
        free(p);
    }
}

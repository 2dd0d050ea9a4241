/* test_png.c - PNG image grids and PNG-folder datasets, checked by reading
 * and writing the files with libpng directly. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "testutil.h"

/* ---- helpers ----------------------------------------------------------- */

/* A PNG read back as 8-bit samples (gray or RGB, exactly as stored). */
typedef struct picture {
    int width, height, channels;
    uint8_t *px; /* height x width x channels */
} picture;

static picture read_picture(const char *path)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    ck_assert_msg(png_image_begin_read_from_file(&im, path), "%s: %s", path,
                  im.message);
    /* 8-bit gray or RGB, nothing else: the format the writer promises. */
    ck_assert_msg(im.format == PNG_FORMAT_GRAY || im.format == PNG_FORMAT_RGB,
                  "%s: format 0x%x", path, im.format);
    picture p = {(int)im.width, (int)im.height,
                 im.format == PNG_FORMAT_RGB ? 3 : 1, NULL};
    p.px = malloc(PNG_IMAGE_SIZE(im));
    ck_assert_ptr_nonnull(p.px);
    ck_assert_msg(png_image_finish_read(&im, NULL, p.px, 0, NULL), "%s: %s",
                  path, im.message);
    return p;
}

static uint8_t at(const picture *p, int y, int x, int ch)
{
    ck_assert_int_lt(y, p->height);
    ck_assert_int_lt(x, p->width);
    return p->px[((size_t)y * p->width + x) * p->channels + ch];
}

/* Write a PNG with libpng's classic API: rows of `rowbytes` bytes each,
 * already packed as the colour type and depth want. */
static void write_png_file(const char *path, int w, int h, int color_type,
                           int depth, int interlace, const uint8_t *data,
                           size_t rowbytes, const png_color *palette,
                           int npalette)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL,
                                              NULL, NULL);
    ck_assert_ptr_nonnull(png);
    png_infop info = png_create_info_struct(png);
    ck_assert_ptr_nonnull(info);
    png_bytep *rows = malloc(sizeof *rows * (size_t)h);
    ck_assert_ptr_nonnull(rows);
    for (int r = 0; r < h; r++)
        rows[r] = (png_bytep)(uintptr_t)(data + (size_t)r * rowbytes);
    if (setjmp(png_jmpbuf(png)))
        ck_abort_msg("libpng failed writing %s", path);
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, color_type,
                 interlace, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (palette)
        png_set_PLTE(png, info, palette, npalette);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    ck_assert_int_eq(fclose(f), 0);
}

static void write_gray8(const char *path, int w, int h, const uint8_t *px)
{
    write_png_file(path, w, h, PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_NONE, px,
                   (size_t)w, NULL, 0);
}

static void make_dir(const char *path)
{
    ck_assert_msg(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s: %s",
                  path, strerror(errno));
}

/* tu_tmp_path(a/b/c) without the rotating-buffer limits: a fresh copy. */
static char *tmp_join(const char *a, const char *b, const char *c)
{
    char *p = malloc(4096);
    ck_assert_ptr_nonnull(p);
    if (b == NULL)
        snprintf(p, 4096, "%s", tu_tmp_path(a));
    else if (c == NULL)
        snprintf(p, 4096, "%s/%s", tu_tmp_path(a), b);
    else
        snprintf(p, 4096, "%s/%s/%s", tu_tmp_path(a), b, c);
    return p;
}

static void expect_message_has(const char *part)
{
    ck_assert_msg(strstr(ae_last_error(), part) != NULL,
                  "message '%s' lacks '%s'", ae_last_error(), part);
}

static void *read_all(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    ck_assert_int_gt(n, 0);
    rewind(f);
    void *b = malloc((size_t)n);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return b;
}

/* Number of entries of dir whose name contains part. */
static int count_entries(const char *dir, const char *part)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strstr(e->d_name, part) != NULL;
    closedir(d);
    return n;
}

/* The test pattern of the conversion images: h 5, w 7. */
enum { CH = 5, CW = 7 };
static uint8_t pattern(int r, int c)
{
    return (uint8_t)((r * 37 + c * 11 + 3) & 255);
}

/* ---- grids ------------------------------------------------------------- */

START_TEST(grid_gray_layout)
{
    /* 5 tiles of 3 x 4, 2 columns: 3 rows, the last with one empty cell. */
    enum { N = 5, H = 3, W = 4 };
    float t[N * H * W];
    for (int k = 0; k < N; k++)
        for (int r = 0; r < H; r++)
            for (int c = 0; c < W; c++)
                t[(k * H + r) * W + c] = (float)(k * 12 + r * 4 + c) / 255.0f;
    const char *path = tu_tmp_path("gray.png");
    ck_assert_ae_ok(ae_image_grid_write_png(path, t, N, 2, 1, H, W, 0.0f,
                                            1.0f, 1));
    picture p = read_picture(path);
    ck_assert_int_eq(p.channels, 1);
    ck_assert_int_eq(p.width, 2 + 2 * (W + 2));
    ck_assert_int_eq(p.height, 2 + 3 * (H + 2));
    for (int k = 0; k < N; k++)
        for (int r = 0; r < H; r++)
            for (int c = 0; c < W; c++)
                ck_assert_uint_eq(at(&p, 2 + (k / 2) * (H + 2) + r,
                                     2 + (k % 2) * (W + 2) + c, 0),
                                  (unsigned)(k * 12 + r * 4 + c));
    /* Gaps, border and the empty cell are mid-gray: every pixel that is
     * not inside a tile. */
    int tile_pixels = 0, gap_pixels = 0;
    for (int y = 0; y < p.height; y++)
        for (int x = 0; x < p.width; x++) {
            int in_y = y >= 2 && (y - 2) % (H + 2) < H;
            int in_x = x >= 2 && (x - 2) % (W + 2) < W;
            int k = ((y - 2) / (H + 2)) * 2 + (x - 2) / (W + 2);
            if (in_y && in_x && k < N) {
                tile_pixels++;
                continue;
            }
            ck_assert_uint_eq(at(&p, y, x, 0), 128);
            gap_pixels++;
        }
    ck_assert_int_eq(tile_pixels, N * H * W);
    ck_assert_int_eq(gap_pixels, p.width * p.height - N * H * W);
    free(p.px);
}
END_TEST

START_TEST(grid_scale_and_columns)
{
    /* 3 tiles of 2 x 2 at scale 3; cols 10 is cut down to the count. */
    float t[3 * 4];
    for (int i = 0; i < 12; i++)
        t[i] = (float)(i * 20) / 255.0f;
    const char *path = tu_tmp_path("scaled.png");
    ck_assert_ae_ok(ae_image_grid_write_png(path, t, 3, 10, 1, 2, 2, 0.0f,
                                            1.0f, 3));
    picture p = read_picture(path);
    ck_assert_int_eq(p.width, 2 + 3 * (2 * 3 + 2));
    ck_assert_int_eq(p.height, 2 + 1 * (2 * 3 + 2));
    for (int k = 0; k < 3; k++)
        for (int y = 0; y < 6; y++)
            for (int x = 0; x < 6; x++)
                ck_assert_uint_eq(at(&p, 2 + y, 2 + k * 8 + x, 0),
                                  (unsigned)((k * 4 + (y / 3) * 2 + x / 3) *
                                             20));
    free(p.px);

    /* The documented MNIST case: 28 x 28 digits at scale 2 are 56 x 56. */
    float *d = calloc(4 * 784, sizeof *d);
    ck_assert_ae_ok(ae_image_grid_write_png(path, d, 4, 2, 1, 28, 28, 0.0f,
                                            1.0f, 2));
    p = read_picture(path);
    ck_assert_int_eq(p.width, 2 + 2 * 58);
    ck_assert_int_eq(p.height, 2 + 2 * 58);
    free(p.px);
    free(d);
}
END_TEST

START_TEST(grid_rgb)
{
    /* 2 tiles of 3 channels x 2 x 2, planar R, G, B. */
    float t[2 * 3 * 4];
    for (int k = 0; k < 2; k++)
        for (int ch = 0; ch < 3; ch++)
            for (int i = 0; i < 4; i++)
                t[(k * 3 + ch) * 4 + i] =
                    (float)(k * 100 + ch * 30 + i * 5) / 255.0f;
    const char *path = tu_tmp_path("rgb.png");
    ck_assert_ae_ok(ae_image_grid_write_png(path, t, 2, 1, 3, 2, 2, 0.0f,
                                            1.0f, 1));
    picture p = read_picture(path);
    ck_assert_int_eq(p.channels, 3);
    ck_assert_int_eq(p.width, 2 + 4);
    ck_assert_int_eq(p.height, 2 + 2 * 4);
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 4; i++)
            for (int ch = 0; ch < 3; ch++)
                ck_assert_uint_eq(at(&p, 2 + k * 4 + i / 2, 2 + i % 2, ch),
                                  (unsigned)(k * 100 + ch * 30 + i * 5));
    for (int ch = 0; ch < 3; ch++)
        ck_assert_uint_eq(at(&p, 0, 0, ch), 128);
    free(p.px);
}
END_TEST

START_TEST(grid_mapping_and_clipping)
{
    const float v[8] = {-0.5f, 0.0f, 0.5f, 1.0f, 1.5f, 0.2f, 1.0f / 255.0f,
                        254.0f / 255.0f};
    const unsigned want[8] = {0, 0, 128, 255, 255, 51, 1, 254};
    const char *path = tu_tmp_path("clip.png");
    ck_assert_ae_ok(ae_image_grid_write_png(path, v, 1, 1, 1, 1, 8, 0.0f,
                                            1.0f, 1));
    picture p = read_picture(path);
    for (int i = 0; i < 8; i++)
        ck_assert_uint_eq(at(&p, 2, 2 + i, 0), want[i]);
    free(p.px);

    /* [-1, 1] data: -1 black, 0 mid (127.5 rounds up), 1 white. */
    const float s[5] = {-1.0f, 0.0f, 1.0f, -2.0f, 3.0f};
    const unsigned ws[5] = {0, 128, 255, 0, 255};
    ck_assert_ae_ok(ae_image_grid_write_png(path, s, 1, 1, 1, 1, 5, -1.0f,
                                            1.0f, 1));
    p = read_picture(path);
    for (int i = 0; i < 5; i++)
        ck_assert_uint_eq(at(&p, 2, 2 + i, 0), ws[i]);
    free(p.px);
}
END_TEST

START_TEST(grid_per_tile_scaling)
{
    /* lo >= hi: each tile to its own min .. max; a constant one mid-gray. */
    const float t[3 * 4] = {-3.0f, 1.0f, 5.0f, 3.0f,        /* tile 0 */
                            7.0f, 7.0f, 7.0f, 7.0f,         /* tile 1 */
                            100.0f, 100.5f, 101.0f, 100.25f}; /* tile 2 */
    const unsigned want[3][4] = {{0, 128, 255, 191},
                                 {128, 128, 128, 128},
                                 {0, 128, 255, 64}};
    const char *path = tu_tmp_path("pertile.png");
    for (int mode = 0; mode < 2; mode++) {
        float lo = mode ? 1.0f : 0.0f, hi = mode ? -1.0f : 0.0f;
        ck_assert_ae_ok(ae_image_grid_write_png(path, t, 3, 3, 1, 2, 2, lo, hi,
                                                1));
        picture p = read_picture(path);
        for (int k = 0; k < 3; k++)
            for (int i = 0; i < 4; i++)
                ck_assert_uint_eq(at(&p, 2 + i / 2, 2 + k * 4 + i % 2, 0),
                                  want[k][i]);
        free(p.px);
    }
    /* RGB: one range over all three channels of a tile. */
    const float c[3 * 1] = {0.0f, 2.0f, 4.0f};
    ck_assert_ae_ok(ae_image_grid_write_png(path, c, 1, 1, 3, 1, 1, 0.0f,
                                            0.0f, 1));
    picture p = read_picture(path);
    ck_assert_uint_eq(at(&p, 2, 2, 0), 0);
    ck_assert_uint_eq(at(&p, 2, 2, 1), 128);
    ck_assert_uint_eq(at(&p, 2, 2, 2), 255);
    free(p.px);
}
END_TEST

START_TEST(grid_of_dense_filters)
{
    /* The documented use: a dense layer's weight rows as 28 x 28 tiles. */
    ae_model *m = NULL;
    ck_assert_ae_ok(ae_model_create(&m, 1, 28, 28, 3));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 16, AE_ACT_RELU));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 784, AE_ACT_SIGMOID));
    ae_layer *l = NULL;
    ck_assert_ae_ok(ae_model_layer(m, 0, &l));
    size_t n = ae_layer_weight_count(l);
    ck_assert_uint_eq(n, 16 * 784);
    float *w = malloc(n * sizeof *w);
    ck_assert_ae_ok(ae_layer_get_weights(l, w, n));
    const char *path = tu_tmp_path("filters.png");
    ck_assert_ae_ok(ae_image_grid_write_png(path, w, 16, 4, 1, 28, 28, 0.0f,
                                            0.0f, 2));
    picture p = read_picture(path);
    ck_assert_int_eq(p.width, 2 + 4 * 58);
    ck_assert_int_eq(p.height, 2 + 4 * 58);
    /* Per-tile scaling uses the whole range in every tile. */
    for (int k = 0; k < 16; k++) {
        int lo = 255, hi = 0;
        for (int y = 0; y < 56; y++)
            for (int x = 0; x < 56; x++) {
                int v = at(&p, 2 + (k / 4) * 58 + y, 2 + (k % 4) * 58 + x, 0);
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
            }
        ck_assert_int_eq(lo, 0);
        ck_assert_int_eq(hi, 255);
    }
    free(p.px);
    free(w);
    ae_model_free(m);
}
END_TEST

START_TEST(grid_replaces_atomically)
{
    const char *path = tu_tmp_path("replace.png");
    float a[4] = {0, 0, 0, 0}, b[4] = {1, 1, 1, 1};
    ck_assert_ae_ok(ae_image_grid_write_png(path, a, 1, 1, 1, 2, 2, 0, 1, 1));
    ck_assert_int_eq(chmod(path, 0640), 0);
    ck_assert_ae_ok(ae_image_grid_write_png(path, b, 1, 1, 1, 2, 2, 0, 1, 1));
    picture p = read_picture(path);
    ck_assert_uint_eq(at(&p, 2, 2, 0), 255);
    free(p.px);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0640); /* permissions kept */
    ck_assert_int_eq(count_entries(tu_tmpdir(), ".tmp."), 0);
}
END_TEST

START_TEST(grid_argument_errors)
{
    float t[2 * 3 * 4 * 4] = {0};
    const char *path = tu_tmp_path("bad.png");
    ck_assert_ae_status(ae_image_grid_write_png(NULL, t, 1, 1, 1, 4, 4, 0, 1,
                                                1), AE_ERR_NULL);
    ck_assert_ae_status(ae_image_grid_write_png(path, NULL, 1, 1, 1, 4, 4, 0,
                                                1, 1), AE_ERR_NULL);
    ck_assert_ae_status(ae_image_grid_write_png("", t, 1, 1, 1, 4, 4, 0, 1,
                                                1), AE_ERR_INVALID_ARGUMENT);
    const struct {
        size_t count;
        int cols, channels, h, w, scale;
        float lo, hi;
    } bad[] = {
        {0, 1, 1, 4, 4, 1, 0, 1},      /* no tiles */
        {1, 0, 1, 4, 4, 1, 0, 1},      /* cols 0 */
        {1, -2, 1, 4, 4, 1, 0, 1},     /* cols < 0 */
        {1, 1, 2, 4, 4, 1, 0, 1},      /* 2 channels */
        {1, 1, 4, 4, 4, 1, 0, 1},      /* 4 channels */
        {1, 1, 0, 4, 4, 1, 0, 1},      /* 0 channels */
        {1, 1, 1, 0, 4, 1, 0, 1},      /* height 0 */
        {1, 1, 1, 4, -1, 1, 0, 1},     /* width < 0 */
        {1, 1, 1, 4097, 1, 1, 0, 1},   /* height over the limit */
        {1, 1, 1, 4, 4, 0, 0, 1},      /* scale 0 */
        {1, 1, 1, 4, 4, 17, 0, 1},     /* scale too large */
        {1, 1, 1, 4, 4, 1, NAN, 1},    /* lo NaN */
        {1, 1, 1, 4, 4, 1, 0, INFINITY}, /* hi infinite */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_ae_status(ae_image_grid_write_png(path, t, bad[i].count,
                                                    bad[i].cols,
                                                    bad[i].channels, bad[i].h,
                                                    bad[i].w, bad[i].lo,
                                                    bad[i].hi, bad[i].scale),
                            AE_ERR_INVALID_ARGUMENT);
    /* Non-finite values, named by tile. */
    t[16 + 5] = NAN;
    ck_assert_ae_status(ae_image_grid_write_png(path, t, 2, 2, 1, 4, 4, 0, 1,
                                                1), AE_ERR_NOT_FINITE);
    expect_message_has("tile 1");
    t[16 + 5] = -INFINITY;
    ck_assert_ae_status(ae_image_grid_write_png(path, t, 2, 2, 1, 4, 4, 0, 0,
                                                1), AE_ERR_NOT_FINITE);
    /* Too large a picture. */
    float *big = calloc(2000 * 16, sizeof *big);
    ck_assert_ae_status(ae_image_grid_write_png(path, big, 2000, 2000, 1, 4, 4,
                                                0, 1, 16), AE_ERR_LIMIT);
    ck_assert_ae_status(ae_image_grid_write_png(path, big, 2000, 1, 1, 4, 4,
                                                0, 1, 16), AE_ERR_LIMIT);
    free(big);
    /* Nothing was written by any of these. */
    ck_assert_int_eq(access(path, F_OK), -1);
    ck_assert_int_eq(count_entries(tu_tmpdir(), ".tmp."), 0);
}
END_TEST

START_TEST(grid_io_errors)
{
    float t[16] = {0};
    /* A folder that does not exist. */
    char *missing = tmp_join("no-such-dir", "x.png", NULL);
    ck_assert_ae_status(ae_image_grid_write_png(missing, t, 1, 1, 1, 4, 4, 0,
                                                1, 1), AE_ERR_IO);
    expect_message_has(missing);
    free(missing);
    /* A destination that is a folder: the rename fails, the temporary file
     * must be gone. */
    char *dir = tmp_join("iodir", NULL, NULL);
    make_dir(dir);
    char *target = tmp_join("iodir", "target.png", NULL);
    make_dir(target);
    ck_assert_ae_status(ae_image_grid_write_png(target, t, 1, 1, 1, 4, 4, 0, 1,
                                                1), AE_ERR_IO);
    expect_message_has(target);
    ck_assert_int_eq(count_entries(dir, ".tmp."), 0);
    /* A read-only folder (root ignores permissions, so only as a user). */
    if (geteuid() != 0) {
        char *ro = tmp_join("ro", NULL, NULL);
        make_dir(ro);
        ck_assert_int_eq(chmod(ro, 0555), 0);
        char *f = tmp_join("ro", "x.png", NULL);
        ck_assert_ae_status(ae_image_grid_write_png(f, t, 1, 1, 1, 4, 4, 0, 1,
                                                    1), AE_ERR_IO);
        expect_message_has("Permission denied");
        ck_assert_int_eq(count_entries(ro, ".tmp."), 0);
        chmod(ro, 0755);
        free(f);
        free(ro);
    }
    free(target);
    free(dir);
}
END_TEST

/* ---- the PNG-folder dataset: MNIST round trip -------------------------- */

START_TEST(folder_mnist_round_trip)
{
    if (!tu_require_mnist())
        return;
    char *im_path = strdup(tu_mnist_path("t10k-images-idx3-ubyte.gz"));
    char *lb_path = strdup(tu_mnist_path("t10k-labels-idx1-ubyte.gz"));
    ae_dataset *mn = NULL;
    ck_assert_ae_ok(ae_dataset_load_idx(&mn, im_path, lb_path));
    free(im_path);
    free(lb_path);

    /* The first 20 images of each digit, as dir/<digit>/<index>.png. */
    enum { PER = 20 };
    size_t picked[10][PER];
    int have[10] = {0}, done = 0;
    for (size_t i = 0; i < ae_dataset_count(mn) && done < 10; i++) {
        uint8_t y;
        ck_assert_ae_ok(ae_dataset_label(mn, i, &y));
        if (have[y] < PER) {
            picked[y][have[y]++] = i;
            done += have[y] == PER;
        }
    }
    ck_assert_int_eq(done, 10);
    char *root = tmp_join("mnist", NULL, NULL);
    make_dir(root);
    float *img = malloc(784 * sizeof *img);
    uint8_t px[784];
    for (int d = 0; d < 10; d++) {
        char cls[4], name[32];
        snprintf(cls, sizeof cls, "%d", d);
        char *cdir = tmp_join("mnist", cls, NULL);
        make_dir(cdir);
        free(cdir);
        for (int j = 0; j < PER; j++) {
            ck_assert_ae_ok(ae_dataset_batch(mn, picked[d][j], 1, img, NULL));
            for (int k = 0; k < 784; k++)
                px[k] = (uint8_t)lrintf(img[k] * 255.0f);
            snprintf(name, sizeof name, "%05zu.png", picked[d][j]);
            char *f = tmp_join("mnist", cls, name);
            write_gray8(f, 28, 28, px);
            free(f);
        }
    }
    /* Things the loader must ignore. */
    char *junk = tmp_join("mnist", "README.txt", NULL);
    tu_write_file(junk, "not a class", 11, 0);
    free(junk);
    junk = tmp_join("mnist", "3", "notes.txt");
    tu_write_file(junk, "not an image", 12, 0);
    free(junk);
    junk = tmp_join("mnist", "3", ".hidden.png");
    tu_write_file(junk, "not an image", 12, 0);
    free(junk);
    junk = tmp_join("mnist", ".cache", NULL);
    make_dir(junk);
    free(junk);
    junk = tmp_join("mnist", ".cache", "x.png");
    write_gray8(junk, 2, 2, px);
    free(junk);
    junk = tmp_join("mnist", "5", "deeper");
    make_dir(junk);
    free(junk);
    junk = tmp_join("mnist", "5", "deeper/y.png");
    write_gray8(junk, 2, 2, px);
    free(junk);

    ae_dataset *ds = NULL;
    ck_assert_ae_ok(ae_dataset_load_png_folder(&ds, root));
    ck_assert_uint_eq(ae_dataset_count(ds), 10 * PER);
    int c, h, w;
    ck_assert_ae_ok(ae_dataset_shape(ds, &c, &h, &w));
    ck_assert_int_eq(c, 1);
    ck_assert_int_eq(h, 28);
    ck_assert_int_eq(w, 28);
    ck_assert_int_eq(ae_dataset_has_labels(ds), 1);
    ck_assert_uint_eq(ae_dataset_class_count(ds), 10);

    /* Class by class, by file name within a class (= MNIST order here):
     * the same pixels as the IDX originals, as the same floats. */
    float *got = malloc(10 * PER * 784 * sizeof *got);
    float *want = malloc(10 * PER * 784 * sizeof *want);
    uint8_t labels[10 * PER];
    size_t idx[10 * PER];
    for (int d = 0; d < 10; d++)
        for (int j = 0; j < PER; j++)
            idx[d * PER + j] = picked[d][j];
    ck_assert_ae_ok(ae_dataset_batch(ds, 0, 10 * PER, got, labels));
    ck_assert_ae_ok(ae_dataset_gather(mn, idx, 10 * PER, want, NULL));
    ck_assert_int_eq(memcmp(got, want, 10 * PER * 784 * sizeof *got), 0);
    for (int k = 0; k < 10 * PER; k++)
        ck_assert_uint_eq(labels[k], (unsigned)(k / PER));
    for (int d = 0; d < 10; d++) {
        const char *name = NULL;
        char want_name[4];
        snprintf(want_name, sizeof want_name, "%d", d);
        ck_assert_ae_ok(ae_dataset_class_name(ds, d, &name));
        ck_assert_str_eq(name, want_name);
    }
    /* A split shares the names, and they outlive the parent handle. */
    ae_dataset *tr = NULL, *va = NULL;
    ck_assert_ae_ok(ae_dataset_split(ds, 0.5, 7, &tr, &va));
    ae_dataset_free(ds);
    ck_assert_uint_eq(ae_dataset_class_count(va), 10);
    const char *name = NULL;
    ck_assert_ae_ok(ae_dataset_class_name(va, 9, &name));
    ck_assert_str_eq(name, "9");
    ae_dataset_free(tr);
    ae_dataset_free(va);
    ae_dataset_free(mn);
    free(got);
    free(want);
    free(img);
    free(root);
}
END_TEST

/* ---- the PNG-folder dataset: formats ----------------------------------- */

/* One class folder per PNG flavour, each one CH x CW image; the expected
 * gray values into want (CH * CW each, in class-name order). */
START_TEST(folder_conversions)
{
    char *root = tmp_join("conv", NULL, NULL);
    make_dir(root);
    static const char *classes[] = {
        "a_gray8", "b_rgb", "c_palette", "d_gray16", "e_gray_alpha",
        "f_rgba", "g_interlaced", "h_gray1", "i_gray4", "j_rgb16",
    };
    enum { NC = sizeof classes / sizeof classes[0] };
    uint8_t want[NC][CH * CW];
    uint8_t buf[CH * CW * 8];
    for (int k = 0; k < NC; k++) {
        char *d = tmp_join("conv", classes[k], NULL);
        make_dir(d);
        free(d);
    }
    /* Expected values and the files. */
    for (int r = 0; r < CH; r++)
        for (int c = 0; c < CW; c++) {
            uint8_t v = pattern(r, c);
            int i = r * CW + c;
            want[0][i] = v;
            want[1][i] = v;
            want[3][i] = v;
            want[4][i] = v;
            want[5][i] = v;
            want[6][i] = v;
            want[7][i] = (r + c) & 1 ? 255 : 0;
            want[8][i] = (uint8_t)(((r + c) % 16) * 17);
            want[9][i] = v;
        }
    char *f;
    /* gray 8-bit */
    for (int i = 0; i < CH * CW; i++)
        buf[i] = want[0][i];
    f = tmp_join("conv", classes[0], "img.png");
    write_gray8(f, CW, CH, buf);
    free(f);
    /* RGB with r = g = b, but for pure red, green and blue in row 0. */
    for (int i = 0; i < CH * CW; i++)
        buf[3 * i] = buf[3 * i + 1] = buf[3 * i + 2] = want[1][i];
    for (int i = 0; i < 3; i++) {
        buf[3 * i] = buf[3 * i + 1] = buf[3 * i + 2] = 0;
        buf[3 * i + i] = 255;
    }
    f = tmp_join("conv", classes[1], "img.png");
    write_png_file(f, CW, CH, PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_NONE, buf,
                   3 * CW, NULL, 0);
    free(f);
    /* palette */
    const png_color pal[4] = {{0, 0, 0}, {90, 90, 90}, {255, 255, 255},
                              {10, 10, 10}};
    const uint8_t pal_gray[4] = {0, 90, 255, 10};
    for (int r = 0; r < CH; r++)
        for (int c = 0; c < CW; c++) {
            buf[r * CW + c] = (uint8_t)((r + 2 * c) % 4);
            want[2][r * CW + c] = pal_gray[(r + 2 * c) % 4];
        }
    f = tmp_join("conv", classes[2], "img.png");
    write_png_file(f, CW, CH, PNG_COLOR_TYPE_PALETTE, 8, PNG_INTERLACE_NONE,
                   buf, CW, pal, 4);
    free(f);
    /* gray 16-bit: v * 257 scales back to v exactly */
    for (int i = 0; i < CH * CW; i++)
        buf[2 * i] = buf[2 * i + 1] = want[3][i];
    f = tmp_join("conv", classes[3], "img.png");
    write_png_file(f, CW, CH, PNG_COLOR_TYPE_GRAY, 16, PNG_INTERLACE_NONE, buf,
                   2 * CW, NULL, 0);
    free(f);
    /* gray + alpha: alpha dropped */
    for (int i = 0; i < CH * CW; i++) {
        buf[2 * i] = want[4][i];
        buf[2 * i + 1] = (uint8_t)(i * 7);
    }
    f = tmp_join("conv", classes[4], "img.png");
    write_png_file(f, CW, CH, PNG_COLOR_TYPE_GRAY_ALPHA, 8, PNG_INTERLACE_NONE,
                   buf, 2 * CW, NULL, 0);
    free(f);
    /* RGBA */
    for (int i = 0; i < CH * CW; i++) {
        buf[4 * i] = buf[4 * i + 1] = buf[4 * i + 2] = want[5][i];
        buf[4 * i + 3] = (uint8_t)(255 - i);
    }
    f = tmp_join("conv", classes[5], "img.png");
    write_png_file(f, CW, CH, PNG_COLOR_TYPE_RGB_ALPHA, 8, PNG_INTERLACE_NONE,
                   buf, 4 * CW, NULL, 0);
    free(f);
    /* Adam7-interlaced gray */
    for (int i = 0; i < CH * CW; i++)
        buf[i] = want[6][i];
    f = tmp_join("conv", classes[6], "img.png");
    write_png_file(f, CW, CH, PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_ADAM7, buf,
                   CW, NULL, 0);
    free(f);
    /* 1-bit gray, MSB first, one byte per row */
    memset(buf, 0, sizeof buf);
    for (int r = 0; r < CH; r++)
        for (int c = 0; c < CW; c++)
            if ((r + c) & 1)
                buf[r] |= (uint8_t)(0x80 >> c);
    f = tmp_join("conv", classes[7], "img.png");
    write_png_file(f, CW, CH, PNG_COLOR_TYPE_GRAY, 1, PNG_INTERLACE_NONE, buf,
                   1, NULL, 0);
    free(f);
    /* 4-bit gray, two pixels a byte, four bytes a row */
    memset(buf, 0, sizeof buf);
    for (int r = 0; r < CH; r++)
        for (int c = 0; c < CW; c++)
            buf[r * 4 + c / 2] |= (uint8_t)(((r + c) % 16) << (c % 2 ? 0 : 4));
    f = tmp_join("conv", classes[8], "img.png");
    write_png_file(f, CW, CH, PNG_COLOR_TYPE_GRAY, 4, PNG_INTERLACE_NONE, buf,
                   4, NULL, 0);
    free(f);
    /* RGB 16-bit, r = g = b = v * 257 */
    for (int i = 0; i < CH * CW; i++)
        for (int b = 0; b < 6; b++)
            buf[6 * i + b] = want[9][i];
    f = tmp_join("conv", classes[9], "img.png");
    write_png_file(f, CW, CH, PNG_COLOR_TYPE_RGB, 16, PNG_INTERLACE_NONE, buf,
                   6 * CW, NULL, 0);
    free(f);

    ae_dataset *ds = NULL;
    ck_assert_ae_ok(ae_dataset_load_png_folder(&ds, root));
    ck_assert_uint_eq(ae_dataset_count(ds), NC);
    int h, w;
    ck_assert_ae_ok(ae_dataset_shape(ds, NULL, &h, &w));
    ck_assert_int_eq(h, CH);
    ck_assert_int_eq(w, CW);
    float x[NC * CH * CW];
    uint8_t y[NC];
    ck_assert_ae_ok(ae_dataset_batch(ds, 0, NC, x, y));
    for (int k = 0; k < NC; k++) {
        ck_assert_uint_eq(y[k], (unsigned)k);
        const char *name;
        ck_assert_ae_ok(ae_dataset_class_name(ds, k, &name));
        ck_assert_str_eq(name, classes[k]);
        for (int i = 0; i < CH * CW; i++) {
            int got = (int)lrintf(x[k * CH * CW + i] * 255.0f);
            if (k == 1 && i < 3) {
                /* 0.299 R + 0.587 G + 0.114 B of pure primaries */
                const int primary[3] = {76, 150, 29};
                ck_assert_msg(abs(got - primary[i]) <= 1,
                              "%s pixel %d: %d, expected %d", classes[k], i,
                              got, primary[i]);
                continue;
            }
            ck_assert_msg(got == want[k][i], "%s pixel %d: %d, expected %d",
                          classes[k], i, got, want[k][i]);
        }
    }
    ae_dataset_free(ds);
    free(root);
}
END_TEST

/* A 4 x 1 RGB picture, with sRGB, gAMA and cHRM chunks when tagged. */
static void write_rgb_tagged(const char *path, int tagged)
{
    static const png_byte row[12] = {255, 0, 0, 0, 255, 0, 40, 90, 200,
                                     100, 100, 100};
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL,
                                              NULL, NULL);
    png_infop info = png_create_info_struct(png);
    ck_assert_ptr_nonnull(info);
    if (setjmp(png_jmpbuf(png)))
        ck_abort_msg("libpng failed writing %s", path);
    png_init_io(png, f);
    png_set_IHDR(png, info, 4, 1, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (tagged) {
        png_set_gAMA(png, info, 1.0 / 2.2);
        png_set_cHRM(png, info, 0.3127, 0.3290, 0.64, 0.33, 0.30, 0.60, 0.15,
                     0.06);
    }
    png_write_info(png, info);
    png_write_row(png, row);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(folder_gray_ignores_colour_metadata)
{
    /* The same stored colours give the same gray whether or not the file
     * declares its gamma and chromaticities. */
    char *d = tmp_join("meta", NULL, NULL);
    make_dir(d);
    free(d);
    d = tmp_join("meta", "c", NULL);
    make_dir(d);
    free(d);
    char *f = tmp_join("meta", "c", "a_plain.png");
    write_rgb_tagged(f, 0);
    free(f);
    f = tmp_join("meta", "c", "b_tagged.png");
    write_rgb_tagged(f, 1);
    free(f);
    char *root = tmp_join("meta", NULL, NULL);
    ae_dataset *ds = NULL;
    ck_assert_ae_ok(ae_dataset_load_png_folder(&ds, root));
    float x[2][4];
    ck_assert_ae_ok(ae_dataset_batch(ds, 0, 2, &x[0][0], NULL));
    /* PIL's convert("L"): (R*19595 + G*38470 + B*7471 + 0x8000) >> 16 */
    const int pil[4] = {76, 150, 88, 100};
    for (int i = 0; i < 4; i++) {
        ck_assert_float_eq(x[0][i], x[1][i]);
        int got = (int)lrintf(x[0][i] * 255.0f);
        ck_assert_msg(abs(got - pil[i]) <= 1, "pixel %d: %d, PIL %d", i, got,
                      pil[i]);
    }
    ck_assert_int_eq((int)lrintf(x[0][3] * 255.0f), 100); /* gray exact */
    ae_dataset_free(ds);
    free(root);
}
END_TEST

START_TEST(folder_order_and_names)
{
    /* strcmp order of class names ("10" before "2"), upper-case .PNG
     * counted, files by name within a class. */
    const char *cls[3] = {"2", "10", "b"};
    for (int k = 0; k < 3; k++) {
        char *d = tmp_join("order", cls[k], NULL);
        if (k == 0) {
            char *root = tmp_join("order", NULL, NULL);
            make_dir(root);
            free(root);
        }
        make_dir(d);
        free(d);
    }
    uint8_t px[4];
    const struct {
        int cls;
        const char *name;
        uint8_t value;
    } files[] = {{0, "z.png", 1}, {1, "b.png", 2}, {1, "a.png", 3},
                 {2, "B.PNG", 4}, {2, "a.Png", 5}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        memset(px, files[i].value, sizeof px);
        char *f = tmp_join("order", cls[files[i].cls], files[i].name);
        write_gray8(f, 2, 2, px);
        free(f);
    }
    char *root = tmp_join("order", NULL, NULL);
    ae_dataset *ds = NULL;
    ck_assert_ae_ok(ae_dataset_load_png_folder(&ds, root));
    ck_assert_uint_eq(ae_dataset_count(ds), 5);
    ck_assert_uint_eq(ae_dataset_class_count(ds), 3);
    /* Sorted: "10" {a, b}, "2" {z}, "b" {B.PNG, a.Png} */
    const uint8_t want_value[5] = {3, 2, 1, 4, 5};
    const uint8_t want_label[5] = {0, 0, 1, 2, 2};
    const char *want_name[3] = {"10", "2", "b"};
    for (size_t i = 0; i < 5; i++) {
        float x[4];
        uint8_t y;
        ck_assert_ae_ok(ae_dataset_batch(ds, i, 1, x, &y));
        ck_assert_uint_eq(y, want_label[i]);
        ck_assert_int_eq((int)lrintf(x[0] * 255.0f), want_value[i]);
    }
    for (int k = 0; k < 3; k++) {
        const char *name = NULL;
        ck_assert_ae_ok(ae_dataset_class_name(ds, k, &name));
        ck_assert_str_eq(name, want_name[k]);
    }
    /* Class-name errors. */
    const char *name = "untouched";
    ck_assert_ae_status(ae_dataset_class_name(ds, 3, &name),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_dataset_class_name(ds, -1, &name),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(name, "untouched");
    ck_assert_ae_status(ae_dataset_class_name(NULL, 0, &name), AE_ERR_NULL);
    ck_assert_ae_status(ae_dataset_class_name(ds, 0, NULL), AE_ERR_NULL);
    ck_assert_uint_eq(ae_dataset_class_count(NULL), 0);
    ae_dataset_free(ds);
    /* An IDX dataset has labels but no class names. */
    size_t ni;
    uint8_t *im = tu_idx_images(3, 2, 2, NULL, &ni);
    ck_assert_ae_ok(ae_dataset_load_idx_memory(&ds, im, ni, NULL, 0));
    ck_assert_uint_eq(ae_dataset_class_count(ds), 0);
    ck_assert_ae_status(ae_dataset_class_name(ds, 0, &name),
                        AE_ERR_UNSUPPORTED);
    ae_dataset_free(ds);
    free(im);
    free(root);
}
END_TEST

/* ---- the PNG-folder dataset: errors ------------------------------------ */

/* Load dir (under the temporary folder), expecting status and a message
 * naming `part`; *out must be NULL. */
static void expect_folder(const char *dir, ae_status status, const char *part)
{
    char *root = tmp_join(dir, NULL, NULL);
    ae_dataset *ds = (ae_dataset *)&ds;
    ck_assert_ae_status(ae_dataset_load_png_folder(&ds, root), status);
    ck_assert_ptr_null(ds);
    if (part)
        expect_message_has(part);
    free(root);
}

/* dir/cls/name as a gray h x w image of value v. */
static void put_image(const char *dir, const char *cls, const char *name,
                      int h, int w, uint8_t v)
{
    char *d = tmp_join(dir, NULL, NULL);
    make_dir(d);
    free(d);
    d = tmp_join(dir, cls, NULL);
    make_dir(d);
    free(d);
    uint8_t *px = malloc((size_t)h * w);
    memset(px, v, (size_t)h * w);
    char *f = tmp_join(dir, cls, name);
    write_gray8(f, w, h, px);
    free(f);
    free(px);
}

START_TEST(folder_mixed_sizes)
{
    put_image("mixed", "a", "first.png", 5, 7, 1);
    put_image("mixed", "a", "second.png", 5, 7, 2);
    put_image("mixed", "b", "odd.png", 7, 5, 3);
    expect_folder("mixed", AE_ERR_SHAPE, "b/odd.png");
    expect_message_has("a/first.png");
    expect_message_has("7 x 5");
    expect_message_has("5 x 7");
}
END_TEST

START_TEST(folder_corrupt_files)
{
    /* Not a PNG at all. */
    put_image("bad1", "a", "good.png", 4, 4, 1);
    char *f = tmp_join("bad1", "a", "text.png");
    tu_write_file(f, "hello, world", 12, 0);
    expect_folder("bad1", AE_ERR_FORMAT, f);
    expect_message_has("not a PNG");
    free(f);

    /* Truncated halfway, and just the IEND chunk missing. */
    put_image("bad2", "a", "good.png", 4, 4, 1);
    put_image("bad3", "a", "good.png", 4, 4, 1);
    put_image("bad4", "a", "good.png", 4, 4, 1);
    uint8_t px[64 * 64];
    for (int i = 0; i < 64 * 64; i++)
        px[i] = (uint8_t)(i * 31 + i / 64);
    char *src = tmp_join("bad2", "a", "source.png");
    write_gray8(src, 64, 64, px);
    size_t n;
    uint8_t *bytes = read_all(src, &n);
    unlink(src);
    free(src);
    ck_assert_uint_gt(n, 100);
    f = tmp_join("bad2", "a", "half.png");
    tu_write_file(f, bytes, n / 2, 0);
    expect_folder("bad2", AE_ERR_FORMAT, f);
    free(f);
    f = tmp_join("bad3", "a", "no-iend.png");
    tu_write_file(f, bytes, n - 12, 0);
    expect_folder("bad3", AE_ERR_FORMAT, f);
    free(f);

    /* A flipped byte inside the IDAT data: CRC error. */
    uint8_t *idat = NULL;
    for (size_t i = 0; i + 4 < n; i++)
        if (memcmp(bytes + i, "IDAT", 4) == 0) {
            idat = bytes + i;
            break;
        }
    ck_assert_ptr_nonnull(idat);
    idat[10] ^= 0x40;
    f = tmp_join("bad4", "a", "flipped.png");
    tu_write_file(f, bytes, n, 0);
    expect_folder("bad4", AE_ERR_FORMAT, f);
    free(f);
    free(bytes);

    /* A PNG signature and nothing else; an empty .png file. */
    put_image("bad5", "a", "good.png", 4, 4, 1);
    f = tmp_join("bad5", "a", "sig.png");
    tu_write_file(f, "\x89PNG\r\n\x1a\n", 8, 0);
    expect_folder("bad5", AE_ERR_FORMAT, f);
    free(f);
    put_image("bad6", "a", "good.png", 4, 4, 1);
    f = tmp_join("bad6", "a", "empty.png");
    tu_write_file(f, "", 0, 0);
    expect_folder("bad6", AE_ERR_FORMAT, f);
    free(f);
}
END_TEST

/* The largest single allocation asked of the library's allocator. */
static size_t largest_alloc;

static void *noting_alloc(void *opaque, size_t size)
{
    (void)opaque;
    if (size > largest_alloc)
        largest_alloc = size;
    return malloc(size);
}

static void plain_free(void *opaque, void *p)
{
    (void)opaque;
    free(p);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    for (int k = 0; k < 4; k++)
        p[k] = (uint8_t)(v >> (24 - 8 * k));
}

/* bytes[0 .. n) with a chunk of `type` inserted after the IHDR chunk: its
 * length field says `declared`, then `len` data bytes of value 'x' and,
 * when whole (len == declared), its CRC.  *out_n is the new size. */
static uint8_t *with_chunk_after_ihdr(const uint8_t *bytes, size_t n,
                                      const char *type, uint32_t declared,
                                      size_t len, size_t *out_n)
{
    const size_t at = 8 + 12 + 13; /* signature, IHDR */
    ck_assert_uint_gt(n, at);
    const int whole = len == declared;
    size_t add = 8 + len + (whole ? 4 : 0);
    uint8_t *out = malloc(n + add);
    ck_assert_ptr_nonnull(out);
    memcpy(out, bytes, at);
    uint8_t *c = out + at;
    put_be32(c, declared);
    memcpy(c + 4, type, 4);
    memset(c + 8, 'x', len);
    if (whole)
        put_be32(c + 8 + len, (uint32_t)crc32(0L, c + 4, (uInt)len + 4));
    /* A truncated chunk runs to the end of the file. */
    size_t rest = whole ? n - at : 0;
    memcpy(c + add, bytes + at, rest);
    *out_n = at + add + rest;
    return out;
}

/* A chunk's declared length is not an allocation: libpng buffers a chunk
 * whole before reading it, so a short file declaring a 2 GB chunk once
 * made the loader ask for 2 GB (found by fuzz_png).  Ancillary chunks are
 * skipped unread, whatever their size, and the picture still loads. */
START_TEST(folder_huge_chunk_lengths)
{
    uint8_t px[8 * 8];
    for (int i = 0; i < 64; i++)
        px[i] = (uint8_t)(3 * i);
    put_image("huge", "a", "source.png", 1, 1, 0); /* the folders */
    char *src = tmp_join("huge", "a", "source.png");
    write_gray8(src, 8, 8, px);
    size_t n;
    uint8_t *bytes = read_all(src, &n);
    unlink(src);
    free(src);
    ck_assert_ae_ok(ae_set_allocator(noting_alloc, plain_free, NULL));

    /* Declared 2 GB, 16 bytes present: the file is truncated, and nothing
     * near the declared size is asked for. */
    static const char *types[] = {"sPLT", "zTXt", "iCCP", "tEXt", "abCd"};
    for (size_t t = 0; t < sizeof types / sizeof *types; t++) {
        size_t m;
        uint8_t *cut = with_chunk_after_ihdr(bytes, n, types[t], 0x7ffffff0u,
                                             16, &m);
        char *f = tmp_join("huge", "a", "cut.png");
        tu_write_file(f, cut, m, 0);
        largest_alloc = 0;
        expect_folder("huge", AE_ERR_FORMAT, f);
        ck_assert_msg(largest_alloc < (1u << 21), "%s: asked for %zu bytes",
                      types[t], largest_alloc);
        unlink(f);
        free(f);
        free(cut);
    }

    /* A whole 3 MB text chunk, over the buffering cap: skipped, and the
     * picture loads as it is. */
    size_t m;
    uint8_t *big = with_chunk_after_ihdr(bytes, n, "tEXt", 3u << 20, 3u << 20,
                                         &m);
    char *f = tmp_join("huge", "a", "text.png");
    tu_write_file(f, big, m, 0);
    free(big);
    ae_dataset *ds = NULL;
    char *root = tmp_join("huge", NULL, NULL);
    largest_alloc = 0;
    ck_assert_ae_ok(ae_dataset_load_png_folder(&ds, root));
    ck_assert_uint_lt(largest_alloc, 1u << 21);
    ck_assert_uint_eq(ae_dataset_count(ds), 1);
    float img[64];
    ck_assert_ae_ok(ae_dataset_batch(ds, 0, 1, img, NULL));
    for (int i = 0; i < 64; i++)
        ck_assert_float_eq_tol(img[i], px[i] / 255.0f, 1e-7f);
    ae_dataset_free(ds);
    ck_assert_ae_ok(ae_set_allocator(NULL, NULL, NULL));
    unlink(f);
    free(f);
    free(root);
    free(bytes);
}
END_TEST

START_TEST(folder_empty_and_missing)
{
    /* An empty folder; one with files but no subfolders. */
    char *d = tmp_join("empty", NULL, NULL);
    make_dir(d);
    expect_folder("empty", AE_ERR_FORMAT, "no class subfolders");
    free(d);
    d = tmp_join("flat", NULL, NULL);
    make_dir(d);
    free(d);
    d = tmp_join("flat", "img.png", NULL);
    uint8_t px[4] = {0};
    write_gray8(d, 2, 2, px);
    free(d);
    expect_folder("flat", AE_ERR_FORMAT, "no class subfolders");
    /* A class folder without images. */
    put_image("hole", "a", "x.png", 2, 2, 1);
    d = tmp_join("hole", "b", NULL);
    make_dir(d);
    free(d);
    d = tmp_join("hole", "b", "readme.txt");
    tu_write_file(d, "empty", 5, 0);
    free(d);
    expect_folder("hole", AE_ERR_FORMAT, "hole/b");
    /* Missing, and a file instead of a folder. */
    expect_folder("does-not-exist", AE_ERR_IO, "does-not-exist");
    d = tmp_join("plain-file", NULL, NULL);
    tu_write_file(d, "x", 1, 0);
    free(d);
    expect_folder("plain-file", AE_ERR_IO, "plain-file");
    /* NULL and empty arguments. */
    ae_dataset *ds = (ae_dataset *)&ds;
    ck_assert_ae_status(ae_dataset_load_png_folder(&ds, NULL), AE_ERR_NULL);
    ck_assert_ptr_null(ds);
    ck_assert_ae_status(ae_dataset_load_png_folder(NULL, "x"), AE_ERR_NULL);
    ds = (ae_dataset *)&ds;
    ck_assert_ae_status(ae_dataset_load_png_folder(&ds, ""),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(ds);
}
END_TEST

START_TEST(folder_limits)
{
    /* A side over 4096 pixels. */
    put_image("wide", "a", "wide.png", 1, 4097, 9);
    expect_folder("wide", AE_ERR_LIMIT, "wide.png");
    expect_message_has("4096");
    /* More than 256 classes. */
    char *root = tmp_join("many", NULL, NULL);
    make_dir(root);
    for (int k = 0; k < 257; k++) {
        char cls[8];
        snprintf(cls, sizeof cls, "%03d", k);
        char *d = tmp_join("many", cls, NULL);
        make_dir(d);
        free(d);
    }
    expect_folder("many", AE_ERR_LIMIT, "256");
    free(root);
}
END_TEST

/* ---- out of memory ----------------------------------------------------- */

static long alloc_calls, fail_at, outstanding;

static void *failing_alloc(void *opaque, size_t size)
{
    (void)opaque;
    if (++alloc_calls >= fail_at)
        return NULL;
    outstanding++;
    return malloc(size);
}

static void counting_free(void *opaque, void *p)
{
    (void)opaque;
    outstanding--;
    free(p);
}

START_TEST(allocation_failures)
{
    put_image("oom", "a", "1.png", 6, 5, 10);
    put_image("oom", "a", "2.png", 6, 5, 20);
    put_image("oom", "b", "3.png", 6, 5, 30);
    char *root = tmp_join("oom", NULL, NULL);
    const char *pic = tu_tmp_path("oom.png");
    float t[3 * 30];
    tu_fill_uniform(t, 3 * 30, -1.0f, 1.0f, 5);
    ck_assert_ae_ok(ae_set_allocator(failing_alloc, counting_free, NULL));
    for (int which = 0; which < 2; which++) {
        long n = 1;
        ae_status s;
        for (;; n++) {
            alloc_calls = 0;
            fail_at = n;
            ae_dataset *ds = NULL;
            if (which == 0) {
                s = ae_dataset_load_png_folder(&ds, root);
                if (s == AE_OK)
                    ck_assert_uint_eq(ae_dataset_count(ds), 3);
                ae_dataset_free(ds);
            } else {
                s = ae_image_grid_write_png(pic, t, 3, 2, 1, 6, 5, 0.0f, 0.0f,
                                            2);
            }
            ck_assert_int_eq(outstanding, 0);
            if (s == AE_OK)
                break;
            ck_assert_msg(s == AE_ERR_NO_MEMORY, "allocation %ld: %s: %s", n,
                          ae_status_name(s), ae_last_error());
        }
        ck_assert_int_gt(n, 5); /* libpng's allocations were hit too */
        ck_assert_int_eq(count_entries(tu_tmpdir(), ".tmp."), 0);
    }
    ck_assert_ae_ok(ae_set_allocator(NULL, NULL, NULL));
    free(root);
}
END_TEST

/* ---- writing one image ------------------------------------------------ */

/* ae_image_write_png writes each image at its own size, without gaps, so
 * a folder of them loads back through ae_dataset_load_png_folder with the
 * very same pixels (as floats, exactly). */
START_TEST(single_image_round_trip)
{
    enum { N = 6, H = 9, W = 13 };
    char *root = tmp_join("single", NULL, NULL);
    make_dir(root);
    static const char *classes[] = {"a", "b"};
    /* The images, as the library turns 8-bit pixels into floats: an IDX
     * dataset of the same bytes, 0 and 255 included. */
    uint8_t bytes[N * H * W];
    for (int p = 0; p < N * H * W; p++)
        bytes[p] = (uint8_t)((p * 37 + p / 7) % 256);
    bytes[0] = 0;
    bytes[1] = 255;
    size_t idx_size;
    uint8_t *idx = tu_idx_images(N, H, W, bytes, &idx_size);
    ae_dataset *src = NULL;
    ck_assert_ae_ok(ae_dataset_load_idx_memory(&src, idx, idx_size, NULL, 0));
    float *want = malloc((size_t)N * H * W * sizeof *want);
    ck_assert_ptr_nonnull(want);
    ck_assert_ae_ok(ae_dataset_batch(src, 0, N, want, NULL));
    ae_dataset_free(src);
    free(idx);
    for (int i = 0; i < N; i++) {
        const float *img = want + (size_t)i * H * W;
        char *dir = tmp_join("single", classes[i / 3], NULL);
        make_dir(dir);
        free(dir);
        char name[32];
        snprintf(name, sizeof name, "%02d.png", i);
        char *f = tmp_join("single", classes[i / 3], name);
        ck_assert_ae_ok(ae_image_write_png(f, img, 1, H, W, 0.0f, 1.0f));
        picture pic = read_picture(f);
        ck_assert_int_eq(pic.width, W);
        ck_assert_int_eq(pic.height, H);
        ck_assert_int_eq(pic.channels, 1);
        free(pic.px);
        free(f);
    }
    ae_dataset *ds = NULL;
    ck_assert_ae_ok(ae_dataset_load_png_folder(&ds, root));
    ck_assert_uint_eq(ae_dataset_count(ds), N);
    int c, h, w;
    ck_assert_ae_ok(ae_dataset_shape(ds, &c, &h, &w));
    ck_assert_int_eq(h, H);
    ck_assert_int_eq(w, W);
    float *got = malloc((size_t)N * H * W * sizeof *got);
    uint8_t labels[N];
    ck_assert_ptr_nonnull(got);
    ck_assert_ae_ok(ae_dataset_batch(ds, 0, N, got, labels));
    ck_assert_int_eq(memcmp(got, want, (size_t)N * H * W * sizeof *got), 0);
    for (int i = 0; i < N; i++)
        ck_assert_uint_eq(labels[i], (unsigned)(i / 3));
    ae_dataset_free(ds);

    /* Per-image stretching (lo >= hi), RGB planes, a constant image. */
    const float ramp[4] = {-2.0f, 0.0f, 1.0f, 3.0f};
    char *f = tmp_join("single_stretch.png", NULL, NULL);
    ck_assert_ae_ok(ae_image_write_png(f, ramp, 1, 1, 4, 0.0f, 0.0f));
    picture p = read_picture(f);
    ck_assert_uint_eq(at(&p, 0, 0, 0), 0);
    ck_assert_uint_eq(at(&p, 0, 1, 0), 102);
    ck_assert_uint_eq(at(&p, 0, 2, 0), 153);
    ck_assert_uint_eq(at(&p, 0, 3, 0), 255);
    free(p.px);
    const float rgb[6] = {1.0f, 0.0f, 0.0f, 1.0f, 0.5f, 0.5f}; /* 1 x 2 */
    ck_assert_ae_ok(ae_image_write_png(f, rgb, 3, 1, 2, 0.0f, 1.0f));
    p = read_picture(f);
    ck_assert_int_eq(p.channels, 3);
    ck_assert_uint_eq(at(&p, 0, 0, 0), 255);
    ck_assert_uint_eq(at(&p, 0, 0, 1), 0);
    ck_assert_uint_eq(at(&p, 0, 0, 2), 128);
    ck_assert_uint_eq(at(&p, 0, 1, 0), 0);
    ck_assert_uint_eq(at(&p, 0, 1, 1), 255);
    free(p.px);
    const float flat[4] = {0.3f, 0.3f, 0.3f, 0.3f};
    ck_assert_ae_ok(ae_image_write_png(f, flat, 1, 2, 2, 1.0f, 1.0f));
    p = read_picture(f);
    ck_assert_uint_eq(at(&p, 1, 1, 0), 128);
    free(p.px);

    /* Errors: nothing written, no temporary file left behind. */
    const float bad[2] = {0.0f, NAN};
    ck_assert_ae_status(ae_image_write_png(NULL, flat, 1, 2, 2, 0, 1),
                        AE_ERR_NULL);
    ck_assert_ae_status(ae_image_write_png(f, NULL, 1, 2, 2, 0, 1),
                        AE_ERR_NULL);
    ck_assert_ae_status(ae_image_write_png("", flat, 1, 2, 2, 0, 1),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_image_write_png(f, flat, 2, 1, 2, 0, 1),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_image_write_png(f, flat, 1, 0, 2, 0, 1),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_image_write_png(f, flat, 1, 1, 4097, 0, 1),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_image_write_png(f, flat, 1, 2, 2, 0, INFINITY),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_image_write_png(f, bad, 1, 1, 2, 0, 1),
                        AE_ERR_NOT_FINITE);
    expect_message_has("pixel 1");
    char *missing = tmp_join("no_such_dir", "x.png", NULL);
    ck_assert_ae_status(ae_image_write_png(missing, flat, 1, 2, 2, 0, 1),
                        AE_ERR_IO);
    expect_message_has("no_such_dir");
    ck_assert_int_eq(count_entries(tu_tmpdir(), ".tmp."), 0);
    free(missing);
    free(f);
    free(got);
    free(want);
    free(root);
}
END_TEST

static Suite *png_suite(void)
{
    Suite *s = suite_create("png");
    TCase *grid = tcase_create("grid");
    tcase_add_test(grid, grid_gray_layout);
    tcase_add_test(grid, grid_scale_and_columns);
    tcase_add_test(grid, grid_rgb);
    tcase_add_test(grid, grid_mapping_and_clipping);
    tcase_add_test(grid, grid_per_tile_scaling);
    tcase_add_test(grid, grid_of_dense_filters);
    tcase_add_test(grid, grid_replaces_atomically);
    tcase_add_test(grid, grid_argument_errors);
    tcase_add_test(grid, grid_io_errors);
    suite_add_tcase(s, grid);
    TCase *folder = tcase_create("folder");
    tcase_add_test(folder, folder_mnist_round_trip);
    tcase_add_test(folder, folder_conversions);
    tcase_add_test(folder, folder_gray_ignores_colour_metadata);
    tcase_add_test(folder, folder_order_and_names);
    tcase_add_test(folder, folder_mixed_sizes);
    tcase_add_test(folder, folder_corrupt_files);
    tcase_add_test(folder, folder_huge_chunk_lengths);
    tcase_add_test(folder, folder_empty_and_missing);
    tcase_add_test(folder, folder_limits);
    tcase_add_test(folder, single_image_round_trip);
    suite_add_tcase(s, folder);
    TCase *oom = tcase_create("oom");
    tcase_add_test(oom, allocation_failures);
    suite_add_tcase(s, oom);
    return s;
}

int main(void)
{
    return tu_run_suite(png_suite());
}

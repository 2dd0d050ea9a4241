/*
 * make_corpus.c - writes the seed corpus of one fuzz harness.
 *
 *   make_corpus HARNESS OUTDIR
 *
 * writes OUTDIR/HARNESS-seed-01 .. -NN (N as fuzz/meson.build and
 * tests/meson.build list it): small valid inputs of every flavour the
 * parser knows, made with the public API (models, checkpoints), zlib
 * (gzip) and libpng (PNG), so the seeds follow the formats as they
 * evolve.  Each seed is checked to load before it is written (PNGs
 * through the private ae__png_read_gray_memory, so this links the
 * library's objects).  The seeds are built at build time rather than
 * committed.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "autoenc.h"
#include "checkpoint_rigs.h"
#include "data/png_folder.h"

static const char *out_dir, *harness;
static int seed_no;

static void die(const char *what)
{
    fprintf(stderr, "make_corpus %s: %s (%s)\n", harness, what,
            ae_last_error());
    exit(1);
}

/* The path of the next seed. */
static void next_seed_path(char *path, size_t size)
{
    snprintf(path, size, "%s/%s-seed-%02d", out_dir, harness, ++seed_no);
}

static void put_seed(const void *data, size_t size)
{
    char path[4096];
    next_seed_path(path, sizeof path);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        die("cannot write a seed");
}

/* ---- growable byte buffer ---------------------------------------------- */

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static void buf_put(buf *b, const void *data, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = 2 * (b->n + n) + 64;
        b->p = realloc(b->p, b->cap);
        if (b->p == NULL)
            die("out of memory");
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void buf_be32(buf *b, uint32_t v)
{
    uint8_t q[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
                    (uint8_t)v};
    buf_put(b, q, 4);
}

/* ---- IDX --------------------------------------------------------------- */

/* An IDX image file of n h x w images with a pattern (a blurry ring, so
 * values span 0..255). */
static buf idx_images(uint32_t n, uint32_t h, uint32_t w)
{
    buf b = {0};
    buf_be32(&b, 0x803);
    buf_be32(&b, n);
    buf_be32(&b, h);
    buf_be32(&b, w);
    for (uint32_t k = 0; k < n; k++)
        for (uint32_t y = 0; y < h; y++)
            for (uint32_t x = 0; x < w; x++) {
                int dy = 2 * (int)y - (int)h, dx = 2 * (int)x - (int)w;
                int r2 = dy * dy + dx * dx, ring = (int)(h * h) / 2;
                int v = 255 - abs(r2 - ring) * (int)(k + 3);
                uint8_t p = (uint8_t)(v < 0 ? 0 : v);
                buf_put(&b, &p, 1);
            }
    return b;
}

static buf idx_labels(const uint8_t *labels, uint32_t n)
{
    buf b = {0};
    buf_be32(&b, 0x801);
    buf_be32(&b, n);
    buf_put(&b, labels, n);
    return b;
}

/* gzip of data as `members` gzip members, at compression level `level`. */
static buf gzip(const buf *in, int members, int level)
{
    buf out = {0};
    size_t per = in->n / (size_t)members + 1, done = 0;
    for (int m = 0; m < members; m++) {
        size_t n = in->n - done < per ? in->n - done : per;
        z_stream z;
        memset(&z, 0, sizeof z);
        if (deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8,
                         Z_DEFAULT_STRATEGY) != Z_OK)
            die("deflateInit2");
        uint8_t chunk[1 << 14];
        z.next_in = in->p + done;
        z.avail_in = (uInt)n;
        int r;
        do {
            z.next_out = chunk;
            z.avail_out = sizeof chunk;
            r = deflate(&z, Z_FINISH);
            buf_put(&out, chunk, sizeof chunk - z.avail_out);
        } while (r == Z_OK);
        if (r != Z_STREAM_END)
            die("deflate");
        deflateEnd(&z);
        done += n;
    }
    return out;
}

static void check_images(const buf *b)
{
    ae_dataset *ds;
    if (ae_dataset_load_idx_memory(&ds, b->p, b->n, NULL, 0) != AE_OK)
        die("an image seed does not load");
    ae_dataset_free(ds);
}

static void seeds_idx_images(void)
{
    const uint32_t shapes[][3] = {{1, 1, 1}, {3, 2, 2}, {2, 28, 28},
                                  {4, 5, 3}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        buf b = idx_images(shapes[i][0], shapes[i][1], shapes[i][2]);
        check_images(&b);
        put_seed(b.p, b.n);
        free(b.p);
    }
}

/* Labels for fuzz_idx_labels' fixed three images. */
static void seeds_idx_labels(void)
{
    const uint8_t sets[][3] = {{0, 1, 2}, {9, 255, 0}, {7, 7, 7}};
    static const uint8_t images[16 + 12] = {
        0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2,
        0, 64, 128, 255, 1, 2, 3, 4, 250, 251, 252, 253};
    for (size_t i = 0; i < 3; i++) {
        buf b = idx_labels(sets[i], 3);
        buf g = i == 2 ? gzip(&b, 1, 9) : b; /* one gzip'd label file */
        ae_dataset *ds;
        if (ae_dataset_load_idx_memory(&ds, images, sizeof images, g.p,
                                       g.n) != AE_OK)
            die("a label seed does not load");
        ae_dataset_free(ds);
        put_seed(g.p, g.n);
        if (g.p != b.p)
            free(g.p);
        free(b.p);
    }
}

static void seeds_idx_gzip(void)
{
    struct { uint32_t n, h, w; int members, level; } v[] = {
        {3, 2, 2, 1, 9}, {2, 28, 28, 1, 6}, {2, 28, 28, 3, 1},
        {4, 5, 3, 1, 0}, /* level 0: stored blocks */
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        buf b = idx_images(v[i].n, v[i].h, v[i].w);
        buf g = gzip(&b, v[i].members, v[i].level);
        check_images(&g);
        put_seed(g.p, g.n);
        free(g.p);
        free(b.p);
    }
}

/* ---- models ------------------------------------------------------------ */

static void put_model(ae_model *m)
{
    if (ae_model_validate(m) != AE_OK)
        die("a seed model is not complete");
    size_t n = 0;
    if (ae_model_save_memory(m, NULL, 0, &n) != AE_OK)
        die("cannot size a model");
    uint8_t *p = malloc(n);
    if (p == NULL || ae_model_save_memory(m, p, n, &n) != AE_OK)
        die("cannot save a model");
    ae_model *back;
    if (ae_model_load_memory(&back, p, n) != AE_OK)
        die("a seed model does not load");
    ae_model_free(back);
    put_seed(p, n);
    free(p);
    ae_model_free(m);
}

#define OK(call)                                                               \
    do {                                                                       \
        if ((call) != AE_OK)                                                   \
            die(#call);                                                        \
    } while (0)

static void seeds_model(void)
{
    ae_model *m;
    /* Dense, 1 x 4 x 4 -> 3 -> 16. */
    OK(ae_model_create(&m, 1, 4, 4, 1));
    OK(ae_model_add_dense(m, AE_ENCODER, 3, AE_ACT_RELU));
    OK(ae_model_add_dense(m, AE_DECODER, 16, AE_ACT_SIGMOID));
    put_model(m);

    /* Dense with every activation, a LeakyReLU slope set. */
    OK(ae_model_create(&m, 1, 3, 3, 2));
    OK(ae_model_add_dense(m, AE_ENCODER, 4, AE_ACT_LEAKY_RELU));
    OK(ae_model_add_dense(m, AE_ENCODER, 2, AE_ACT_TANH));
    OK(ae_model_add_dense(m, AE_DECODER, 4, AE_ACT_NONE));
    OK(ae_model_add_dense(m, AE_DECODER, 9, AE_ACT_SIGMOID));
    ae_layer *l;
    OK(ae_model_layer(m, 0, &l));
    OK(ae_layer_set_activation(l, AE_ACT_LEAKY_RELU, 0.2f));
    put_model(m);

    /* Convolution, pooling and unpooling: 1 x 6 x 6 -> 2 x 6 x 6 ->
     * 2 x 3 x 3 | unpool -> 2 x 6 x 6 -> 1 x 6 x 6. */
    OK(ae_model_create(&m, 1, 6, 6, 3));
    OK(ae_model_add_conv2d(m, AE_ENCODER, 2, 3, 1, -1, AE_ACT_RELU));
    OK(ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2));
    OK(ae_model_add_maxunpool2d(m, AE_DECODER, 1, 6, 6));
    OK(ae_model_add_conv2d(m, AE_DECODER, 1, 3, 1, 1, AE_ACT_SIGMOID));
    put_model(m);

    /* Strided convolution, dense code, reshape, upsampling and transposed
     * convolution: 1 x 5 x 5 -> 2 x 2 x 2 -> 4 | 8 -> 2 x 2 x 2 ->
     * 2 x 4 x 4 -> 1 x 5 x 5. */
    OK(ae_model_create(&m, 1, 5, 5, 4));
    OK(ae_model_add_conv2d(m, AE_ENCODER, 2, 3, 2, 0, AE_ACT_TANH));
    OK(ae_model_add_dense(m, AE_ENCODER, 4, AE_ACT_NONE));
    OK(ae_model_add_dense(m, AE_DECODER, 8, AE_ACT_RELU));
    OK(ae_model_add_reshape(m, AE_DECODER, 2, 2, 2));
    OK(ae_model_add_upsample2d(m, AE_DECODER, 2));
    OK(ae_model_add_conv_transpose2d(m, AE_DECODER, 1, 2, 1, 0, 0,
                                     AE_ACT_SIGMOID));
    put_model(m);

    /* Batch norm over images and over features, and dropout: a version-2
     * file, its running statistics moved by two training passes. */
    OK(ae_model_create(&m, 2, 3, 3, 5));
    OK(ae_model_add_batchnorm(m, AE_ENCODER, 0.1f, 1e-5f, AE_ACT_NONE));
    OK(ae_model_add_dense(m, AE_ENCODER, 3, AE_ACT_NONE));
    OK(ae_model_add_batchnorm(m, AE_ENCODER, 0.25f, 1e-3f, AE_ACT_TANH));
    OK(ae_model_add_dropout(m, AE_DECODER, 0.5f));
    OK(ae_model_add_dense(m, AE_DECODER, 18, AE_ACT_SIGMOID));
    float x[3 * 18];
    for (int i = 0; i < 3 * 18; i++)
        x[i] = (float)((i * 7) % 11) / 10.0f;
    const float *y;
    OK(ae_model_forward_train(m, x, 3, &y, NULL));
    OK(ae_model_forward_train(m, x, 3, &y, NULL));
    put_model(m);

    /* A VAE: 6 means and log-variances, sampled to a code of 3. */
    OK(ae_model_create(&m, 1, 3, 3, 5));
    OK(ae_model_add_dense(m, AE_ENCODER, 6, AE_ACT_NONE));
    OK(ae_model_add_gaussian_sample(m, AE_ENCODER));
    OK(ae_model_add_dense(m, AE_DECODER, 9, AE_ACT_SIGMOID));
    put_model(m);
}

/* ---- checkpoints ------------------------------------------------------- */

/* Checkpoints of fuzz_checkpoint's two trainers (checkpoint_rigs.h) at
 * each stage: no moments and no fit call yet, in the middle of an epoch
 * (what the harness's trainers hold), after a finished fit call; and one
 * of the dense model with SGD, which the harness's Adam trainer refuses;
 * and, for checkpoint version 2's state, each in the middle of an epoch
 * with the training controls on (a schedule, clipping, early stopping
 * holding the best weights). */
static void seeds_checkpoint(void)
{
    const struct { int kind; rig_stage stage; int other; } v[] = {
        {RIG_DENSE, RIG_FRESH, 0},     {RIG_DENSE, RIG_MID_EPOCH, 0},
        {RIG_DENSE, RIG_FINISHED, 0},  {RIG_CONV, RIG_FRESH, 0},
        {RIG_CONV, RIG_MID_EPOCH, 0},  {RIG_CONV, RIG_FINISHED, 0},
        {RIG_DENSE, RIG_MID_EPOCH, 1},
        {RIG_NORM, RIG_MID_EPOCH, 0},  {RIG_VAE, RIG_MID_EPOCH, 0},
        {RIG_VAE, RIG_FINISHED, 0},
        {RIG_DENSE, RIG_CONTROLS, 0},  {RIG_CONV, RIG_CONTROLS, 0},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        ckpt_rig r, back;
        char path[4096];
        next_seed_path(path, sizeof path);
        OK(rig_create(&r, v[i].kind, v[i].stage, v[i].other));
        OK(ae_trainer_save_checkpoint(r.trainer, path));
        OK(rig_create(&back, v[i].kind, RIG_FRESH, v[i].other));
        OK(ae_trainer_load_checkpoint(back.trainer, path));
        rig_free(&back);
        rig_free(&r);
    }
}

/* ---- PNG --------------------------------------------------------------- */

/* In-memory PNG writing through libpng's classic API. */
static void png_put(png_structp png, png_bytep data, size_t n)
{
    buf_put(png_get_io_ptr(png), data, n);
}

static void png_flush_none(png_structp png)
{
    (void)png;
}

static buf make_png(int w, int h, int color_type, int depth, int interlace,
                    const png_color *palette, int npalette,
                    const png_byte *trans, int ntrans)
{
    buf b = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL,
                                              NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (info == NULL)
        die("libpng");
    int channels = color_type == PNG_COLOR_TYPE_RGB         ? 3
                   : color_type == PNG_COLOR_TYPE_RGB_ALPHA  ? 4
                   : color_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
                                                            : 1;
    size_t rowbytes = ((size_t)w * (size_t)channels * (size_t)depth + 7) / 8;
    png_bytep rows = calloc((size_t)h, rowbytes);
    png_bytepp rowp = calloc((size_t)h, sizeof *rowp);
    if (rows == NULL || rowp == NULL)
        die("out of memory");
    for (int y = 0; y < h; y++) {
        rowp[y] = rows + (size_t)y * rowbytes;
        for (size_t i = 0; i < rowbytes; i++)
            rowp[y][i] = (png_byte)(37 * y + 11 * (int)i + 5);
    }
    if (color_type == PNG_COLOR_TYPE_PALETTE) /* indices within the palette */
        for (size_t i = 0; i < (size_t)h * rowbytes; i++)
            rows[i] = depth == 8 ? (png_byte)(rows[i] % npalette) : 0x1b;
    if (setjmp(png_jmpbuf(png)))
        die("libpng failed writing a seed");
    png_set_write_fn(png, &b, png_put, png_flush_none);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, color_type,
                 interlace, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (palette)
        png_set_PLTE(png, info, palette, npalette);
    if (trans)
        png_set_tRNS(png, info, trans, ntrans, NULL);
    png_set_gAMA(png, info, 0.45455);
    png_write_info(png, info);
    png_write_image(png, rowp);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    free(rowp);
    return b;
}

static void seeds_png(void)
{
    const png_color pal[4] = {{0, 0, 0}, {255, 0, 0}, {0, 255, 0},
                              {20, 40, 250}};
    const png_byte trans[2] = {0, 128};
    buf v[] = {
        make_png(3, 2, PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_NONE, NULL, 0,
                 NULL, 0),
        make_png(5, 4, PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_NONE, NULL, 0,
                 NULL, 0),
        make_png(4, 4, PNG_COLOR_TYPE_PALETTE, 2, PNG_INTERLACE_NONE, pal, 4,
                 trans, 2),
        make_png(4, 3, PNG_COLOR_TYPE_GRAY, 16, PNG_INTERLACE_NONE, NULL, 0,
                 NULL, 0),
        make_png(3, 3, PNG_COLOR_TYPE_GRAY_ALPHA, 8, PNG_INTERLACE_NONE, NULL,
                 0, NULL, 0),
        make_png(2, 5, PNG_COLOR_TYPE_RGB_ALPHA, 16, PNG_INTERLACE_NONE, NULL,
                 0, NULL, 0),
        make_png(9, 3, PNG_COLOR_TYPE_GRAY, 1, PNG_INTERLACE_NONE, NULL, 0,
                 NULL, 0),
        make_png(8, 8, PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_ADAM7, NULL, 0,
                 NULL, 0),
        make_png(6, 6, PNG_COLOR_TYPE_PALETTE, 8, PNG_INTERLACE_ADAM7, pal, 4,
                 NULL, 0),
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t *px;
        int h, w;
        if (ae__png_read_gray_memory(v[i].p, v[i].n, &px, &h, &w) != AE_OK)
            die("a PNG seed does not decode");
        ae__free(px);
        put_seed(v[i].p, v[i].n);
        free(v[i].p);
    }
}

/* NumPy arrays as ae_npy_save writes them (every element type, 0 to 4
 * dimensions, an empty one) and as people write them (double quotes,
 * format 2.0); each is checked to load. */
static void seeds_npy(void)
{
    static const float x[12] = {0.5f, -1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1e-3f};
    static const uint8_t u[5] = {0, 1, 2, 254, 255};
    static const size_t s1[1] = {5}, s2[2] = {3, 4}, s4[4] = {1, 1, 3, 4},
                        s0[3] = {2, 0, 3};
    const struct {
        ae_npy_type type;
        const void *data;
        const size_t *shape;
        int ndim;
    } arrays[] = {
        {AE_NPY_F32, x, s2, 2}, {AE_NPY_U8, u, s1, 1},
        {AE_NPY_F32, x, s4, 4}, {AE_NPY_F32, x, NULL, 0},
        {AE_NPY_F32, x, s0, 3},
    };
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) {
        size_t n = 0;
        if (ae_npy_save_memory(arrays[i].type, arrays[i].data,
                               arrays[i].shape, arrays[i].ndim, NULL, 0,
                               &n) != AE_OK)
            die("cannot size an array seed");
        uint8_t *b = malloc(n);
        if (b == NULL ||
            ae_npy_save_memory(arrays[i].type, arrays[i].data,
                               arrays[i].shape, arrays[i].ndim, b, n,
                               &n) != AE_OK)
            die("cannot write an array seed");
        put_seed(b, n);
        free(b);
    }
    /* Format 2.0 with a hand-written header in double quotes. */
    static const char h[] =
        "{\"descr\": \"|u1\", \"fortran_order\": False, \"shape\": (2, 2)}"
        "     \n";
    uint8_t v2[12 + sizeof h - 1 + 4];
    memcpy(v2, "\x93NUMPY\x02\x00", 8);
    uint32_t hl = sizeof h - 1;
    v2[8] = (uint8_t)hl;
    v2[9] = (uint8_t)(hl >> 8);
    v2[10] = v2[11] = 0;
    memcpy(v2 + 12, h, hl);
    memcpy(v2 + 12 + hl, u, 4);
    ae_npy *a;
    if (ae_npy_load_memory(&a, v2, sizeof v2) != AE_OK)
        die("the format 2.0 seed does not load");
    ae_npy_free(a);
    put_seed(v2, sizeof v2);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: make_corpus HARNESS OUTDIR\n");
        return 2;
    }
    harness = argv[1];
    out_dir = argv[2];
    if (strcmp(harness, "idx_images") == 0)
        seeds_idx_images();
    else if (strcmp(harness, "idx_labels") == 0)
        seeds_idx_labels();
    else if (strcmp(harness, "idx_gzip") == 0)
        seeds_idx_gzip();
    else if (strcmp(harness, "model") == 0)
        seeds_model();
    else if (strcmp(harness, "png") == 0)
        seeds_png();
    else if (strcmp(harness, "checkpoint") == 0)
        seeds_checkpoint();
    else if (strcmp(harness, "npy") == 0)
        seeds_npy();
    else
        die("unknown harness");
    return 0;
}

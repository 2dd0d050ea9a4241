/* test_idx.c - IDX loading: good files, raw and gzip, and hostile ones. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

/* ---- helpers ----------------------------------------------------------- */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A bare 16-byte image header, for dimensions too large to fill. */
static void image_header(uint8_t *h, uint32_t n, uint32_t rows, uint32_t cols)
{
    put_be32(h, 0x803);
    put_be32(h + 4, n);
    put_be32(h + 8, rows);
    put_be32(h + 12, cols);
}

/* Load from memory, expecting `expected`; *out must be NULL on failure. */
static void expect_memory(const void *im, size_t im_size, const void *lb,
                          size_t lb_size, ae_status expected)
{
    ae_dataset *ds = (ae_dataset *)&ds; /* not NULL: must be reset */
    ck_assert_ae_status(ae_dataset_load_idx_memory(&ds, im, im_size, lb,
                                                   lb_size),
                        expected);
    ck_assert_ptr_null(ds);
}

static void expect_files(const char *im, const char *lb, ae_status expected)
{
    ae_dataset *ds = (ae_dataset *)&ds;
    ck_assert_ae_status(ae_dataset_load_idx(&ds, im, lb), expected);
    ck_assert_ptr_null(ds);
}

static void expect_message_has(const char *part)
{
    ck_assert_msg(strstr(ae_last_error(), part) != NULL,
                  "message '%s' lacks '%s'", ae_last_error(), part);
}

/* The dataset holds tu_idx_images' default pattern and labels i % 10. */
static void check_pattern(ae_dataset *ds, uint32_t n, uint32_t h, uint32_t w,
                          int labels)
{
    int c, hh, ww;
    ck_assert_uint_eq(ae_dataset_count(ds), n);
    ck_assert_ae_ok(ae_dataset_shape(ds, &c, &hh, &ww));
    ck_assert_int_eq(c, 1);
    ck_assert_int_eq(hh, (int)h);
    ck_assert_int_eq(ww, (int)w);
    ck_assert_int_eq(ae_dataset_has_labels(ds), labels);
    float *x = malloc(sizeof(float) * n * h * w);
    uint8_t *y = malloc(n);
    ck_assert_ae_ok(ae_dataset_batch(ds, 0, n, x, labels ? y : NULL));
    for (size_t i = 0; i < n; i++) {
        for (size_t r = 0; r < h; r++)
            for (size_t q = 0; q < w; q++) {
                uint8_t p = (uint8_t)((i * 7 + r * 3 + q) & 255);
                /* A multiply by 1/255, so within an ulp of p / 255. */
                ck_assert_float_eq_tol(x[(i * h + r) * w + q], p / 255.0f,
                                       1e-7f);
            }
        if (labels)
            ck_assert_uint_eq(y[i], i % 10);
    }
    free(x);
    free(y);
}

/* ---- good input -------------------------------------------------------- */

START_TEST(memory_raw)
{
    size_t ni, nl;
    uint8_t *im = tu_idx_images(5, 3, 4, NULL, &ni);
    uint8_t *lb = tu_idx_labels(5, NULL, &nl);
    ae_dataset *ds = NULL;
    ck_assert_ae_ok(ae_dataset_load_idx_memory(&ds, im, ni, lb, nl));
    /* The buffers were copied: clobbering them changes nothing. */
    memset(im, 0xAB, ni);
    memset(lb, 0xAB, nl);
    check_pattern(ds, 5, 3, 4, 1);
    ae_dataset_free(ds);
    free(im);
    free(lb);
}
END_TEST

START_TEST(memory_gzip)
{
    size_t ni, nl, gi, gl;
    uint8_t *im = tu_idx_images(7, 2, 5, NULL, &ni);
    uint8_t *lb = tu_idx_labels(7, NULL, &nl);
    uint8_t *zi = tu_gzip(im, ni, &gi);
    uint8_t *zl = tu_gzip(lb, nl, &gl);
    ae_dataset *ds = NULL;
    ck_assert_ae_ok(ae_dataset_load_idx_memory(&ds, zi, gi, zl, gl));
    check_pattern(ds, 7, 2, 5, 1);
    ae_dataset_free(ds);
    /* Mixed: gzip images, raw labels, and no labels at all. */
    ck_assert_ae_ok(ae_dataset_load_idx_memory(&ds, zi, gi, lb, nl));
    check_pattern(ds, 7, 2, 5, 1);
    ae_dataset_free(ds);
    ck_assert_ae_ok(ae_dataset_load_idx_memory(&ds, zi, gi, NULL, 0));
    check_pattern(ds, 7, 2, 5, 0);
    ae_dataset_free(ds);
    free(im);
    free(lb);
    free(zi);
    free(zl);
}
END_TEST

START_TEST(files_raw_and_gzip)
{
    size_t ni, nl;
    /* Big enough to span several read chunks of the loader. */
    uint8_t *im = tu_idx_images(300, 28, 28, NULL, &ni);
    uint8_t *lb = tu_idx_labels(300, NULL, &nl);
    tu_write_file(tu_tmp_path("im.idx"), im, ni, 0);
    tu_write_file(tu_tmp_path("im.idx.gz"), im, ni, 1);
    tu_write_file(tu_tmp_path("lb.idx"), lb, nl, 0);
    tu_write_file(tu_tmp_path("lb.idx.gz"), lb, nl, 1);
    const char *ims[] = {"im.idx", "im.idx.gz"};
    const char *lbs[] = {"lb.idx", "lb.idx.gz"};
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            ae_dataset *ds = NULL;
            ck_assert_ae_ok(ae_dataset_load_idx(&ds, tu_tmp_path(ims[a]),
                                                tu_tmp_path(lbs[b])));
            check_pattern(ds, 300, 28, 28, 1);
            ae_dataset_free(ds);
        }
    ae_dataset *ds = NULL;
    ck_assert_ae_ok(ae_dataset_load_idx(&ds, tu_tmp_path("im.idx.gz"), NULL));
    check_pattern(ds, 300, 28, 28, 0);
    ae_dataset_free(ds);
    free(im);
    free(lb);
}
END_TEST

START_TEST(gzip_concatenated_members)
{
    /* gzip allows several members back to back; `cat a.gz b.gz` works. */
    size_t ni, g1, g2;
    uint8_t *im = tu_idx_images(4, 3, 3, NULL, &ni);
    uint8_t *z1 = tu_gzip(im, 20, &g1);
    uint8_t *z2 = tu_gzip(im + 20, ni - 20, &g2);
    uint8_t *both = malloc(g1 + g2);
    memcpy(both, z1, g1);
    memcpy(both + g1, z2, g2);
    ae_dataset *ds = NULL;
    ck_assert_ae_ok(ae_dataset_load_idx_memory(&ds, both, g1 + g2, NULL, 0));
    check_pattern(ds, 4, 3, 3, 0);
    ae_dataset_free(ds);
    free(im);
    free(z1);
    free(z2);
    free(both);
}
END_TEST

START_TEST(any_label_value)
{
    uint8_t labels[3] = {0, 255, 200};
    size_t ni, nl;
    uint8_t *im = tu_idx_images(3, 1, 1, NULL, &ni);
    uint8_t *lb = tu_idx_labels(3, labels, &nl);
    ae_dataset *ds = NULL;
    ck_assert_ae_ok(ae_dataset_load_idx_memory(&ds, im, ni, lb, nl));
    for (size_t i = 0; i < 3; i++) {
        uint8_t y;
        ck_assert_ae_ok(ae_dataset_label(ds, i, &y));
        ck_assert_uint_eq(y, labels[i]);
    }
    ae_dataset_free(ds);
    free(im);
    free(lb);
}
END_TEST

/* ---- hostile input ----------------------------------------------------- */

START_TEST(wrong_magic)
{
    size_t ni, nl;
    uint8_t *im = tu_idx_images(2, 2, 2, NULL, &ni);
    uint8_t *lb = tu_idx_labels(16, NULL, &nl);
    /* Each file given in the other's place. */
    expect_memory(lb, nl, NULL, 0, AE_ERR_FORMAT);
    expect_message_has("magic");
    expect_memory(im, ni, im, ni, AE_ERR_FORMAT);
    expect_message_has("label buffer");
    im[2] = 0x0C; /* type byte: int instead of unsigned byte */
    expect_memory(im, ni, NULL, 0, AE_ERR_FORMAT);
    expect_message_has("0x00000C03");
    free(im);
    free(lb);
}
END_TEST

START_TEST(truncated_header)
{
    size_t ni, nl;
    uint8_t *im = tu_idx_images(2, 2, 2, NULL, &ni);
    uint8_t *lb = tu_idx_labels(2, NULL, &nl);
    expect_memory(im, 10, NULL, 0, AE_ERR_FORMAT);
    expect_message_has("10 of 16");
    expect_memory(im, ni, lb, 5, AE_ERR_FORMAT);
    expect_message_has("5 of 8");
    tu_write_file(tu_tmp_path("short.idx"), im, 3, 0);
    expect_files(tu_tmp_path("short.idx"), NULL, AE_ERR_FORMAT);
    expect_message_has("short.idx");
    size_t g;
    uint8_t *z = tu_gzip(im, 12, &g);
    expect_memory(z, g, NULL, 0, AE_ERR_FORMAT);
    expect_message_has("12 of 16");
    free(z);
    free(im);
    free(lb);
}
END_TEST

START_TEST(truncated_body)
{
    size_t ni, nl;
    uint8_t *im = tu_idx_images(3, 4, 4, NULL, &ni); /* 16 + 48 bytes */
    uint8_t *lb = tu_idx_labels(3, NULL, &nl);
    expect_memory(im, ni - 1, NULL, 0, AE_ERR_FORMAT);
    expect_message_has("expected 64 bytes");
    expect_message_has("found 63");
    expect_memory(im, ni, lb, nl - 2, AE_ERR_FORMAT);
    expect_message_has("expected 11 bytes");
    expect_message_has("found 9");
    /* The same through a file, and through gzip (whose length is only known
     * after inflating). */
    tu_write_file(tu_tmp_path("trunc.idx"), im, ni - 5, 0);
    expect_files(tu_tmp_path("trunc.idx"), NULL, AE_ERR_FORMAT);
    expect_message_has("found 59");
    tu_write_file(tu_tmp_path("trunc.idx.gz"), im, ni - 5, 1);
    expect_files(tu_tmp_path("trunc.idx.gz"), NULL, AE_ERR_FORMAT);
    expect_message_has("trunc.idx.gz");
    expect_message_has("expected 64 bytes");
    expect_message_has("found 59");
    free(im);
    free(lb);
}
END_TEST

START_TEST(trailing_bytes)
{
    size_t ni, nl;
    uint8_t *im = tu_idx_images(2, 3, 3, NULL, &ni);
    uint8_t *lb = tu_idx_labels(2, NULL, &nl);
    /* tu_idx_* leave room for one byte more. */
    im[ni] = 0;
    lb[nl] = 0;
    expect_memory(im, ni + 1, NULL, 0, AE_ERR_FORMAT);
    expect_message_has("1 trailing byte");
    expect_memory(im, ni, lb, nl + 1, AE_ERR_FORMAT);
    expect_message_has("label buffer");
    tu_write_file(tu_tmp_path("trail.idx"), im, ni + 1, 0);
    expect_files(tu_tmp_path("trail.idx"), NULL, AE_ERR_FORMAT);
    expect_message_has("trail.idx");
    tu_write_file(tu_tmp_path("trail.idx.gz"), im, ni + 1, 1);
    expect_files(tu_tmp_path("trail.idx.gz"), NULL, AE_ERR_FORMAT);
    expect_message_has("continues past");
    free(im);
    free(lb);
}
END_TEST

START_TEST(garbage_after_gzip_stream)
{
    size_t ni, g;
    uint8_t *im = tu_idx_images(2, 3, 3, NULL, &ni);
    uint8_t *z = tu_gzip(im, ni, &g);
    uint8_t *zz = malloc(g + 4);
    memcpy(zz, z, g);
    memset(zz + g, 0, 4);
    expect_memory(zz, g + 4, NULL, 0, AE_ERR_FORMAT);
    expect_message_has("gzip");
    free(im);
    free(z);
    free(zz);
}
END_TEST

START_TEST(corrupt_gzip)
{
    size_t ni, g;
    uint8_t *im = tu_idx_images(20, 8, 8, NULL, &ni);
    uint8_t *z = tu_gzip(im, ni, &g);
    /* Cut before the 8-byte trailer (CRC and length): data complete, stream
     * not. */
    expect_memory(z, g - 8, NULL, 0, AE_ERR_FORMAT);
    expect_message_has("trailer");
    /* A wrong CRC. */
    z[g - 8] ^= 0xFF;
    expect_memory(z, g, NULL, 0, AE_ERR_FORMAT);
    expect_message_has("corrupt gzip");
    z[g - 8] ^= 0xFF;
    /* A flipped bit in the middle of the deflate data. */
    z[g / 2] ^= 0x55;
    ae_dataset *ds = (ae_dataset *)&ds;
    ae_status s = ae_dataset_load_idx_memory(&ds, z, g, NULL, 0);
    ck_assert_int_eq(s, AE_ERR_FORMAT);
    ck_assert_ptr_null(ds);
    free(im);
    free(z);
}
END_TEST

START_TEST(size_overflow_and_limits)
{
    uint8_t h[16 + 8] = {0};
    image_header(h, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu);
    expect_memory(h, sizeof h, NULL, 0, AE_ERR_LIMIT);
    expect_message_has("overflow");
    image_header(h, 1, 4097, 1);
    expect_memory(h, sizeof h, NULL, 0, AE_ERR_LIMIT);
    expect_message_has("4096");
    image_header(h, 1, 2, 5000);
    expect_memory(h, sizeof h, NULL, 0, AE_ERR_LIMIT);
}
END_TEST

START_TEST(huge_count_small_input)
{
    /* A header declaring 4 billion images must fail as truncated, quickly
     * and without trying to allocate them. */
    uint8_t h[16 + 8] = {0};
    image_header(h, 0xFFFFFFFFu, 28, 28);
    expect_memory(h, sizeof h, NULL, 0, AE_ERR_FORMAT);
    expect_message_has("truncated");
    tu_write_file(tu_tmp_path("huge.idx"), h, sizeof h, 0);
    expect_files(tu_tmp_path("huge.idx"), NULL, AE_ERR_FORMAT);
    expect_message_has("truncated");
    tu_write_file(tu_tmp_path("huge.idx.gz"), h, sizeof h, 1);
    expect_files(tu_tmp_path("huge.idx.gz"), NULL, AE_ERR_FORMAT);
    expect_message_has("truncated");
    size_t g;
    uint8_t *z = tu_gzip(h, sizeof h, &g);
    expect_memory(z, g, NULL, 0, AE_ERR_FORMAT);
    expect_message_has("truncated");
    free(z);
}
END_TEST

START_TEST(zero_sizes)
{
    uint8_t h[16 + 4] = {0};
    image_header(h, 0, 28, 28);
    expect_memory(h, 16, NULL, 0, AE_ERR_FORMAT);
    expect_message_has("zero images");
    image_header(h, 1, 0, 28);
    expect_memory(h, 16, NULL, 0, AE_ERR_FORMAT);
    expect_message_has("zero size");
    image_header(h, 1, 2, 0);
    expect_memory(h, 16, NULL, 0, AE_ERR_FORMAT);
}
END_TEST

START_TEST(count_mismatch)
{
    size_t ni, nl;
    uint8_t *im = tu_idx_images(5, 2, 2, NULL, &ni);
    uint8_t *lb = tu_idx_labels(4, NULL, &nl);
    expect_memory(im, ni, lb, nl, AE_ERR_SHAPE);
    expect_message_has("5 images");
    expect_message_has("4 labels");
    tu_write_file(tu_tmp_path("mm-im.idx"), im, ni, 1);
    tu_write_file(tu_tmp_path("mm-lb.idx"), lb, nl, 0);
    expect_files(tu_tmp_path("mm-im.idx"), tu_tmp_path("mm-lb.idx"),
                 AE_ERR_SHAPE);
    expect_message_has("mm-lb.idx");
    free(lb);
    lb = tu_idx_labels(0, NULL, &nl);
    expect_memory(im, ni, lb, nl, AE_ERR_SHAPE);
    free(im);
    free(lb);
}
END_TEST

START_TEST(gzip_bomb)
{
    /* The header declares one 28 x 28 image; the stream inflates to 64 MiB
     * of zeros.  The loader must stop one byte past the declared size. */
    const size_t big = (size_t)64 << 20;
    uint8_t *im = calloc(1, big);
    image_header(im, 1, 28, 28);
    size_t g;
    uint8_t *z = tu_gzip(im, big, &g);
    free(im);
    ck_assert_uint_lt(g, 1 << 20);
    expect_memory(z, g, NULL, 0, AE_ERR_FORMAT);
    expect_message_has("continues past the 800 bytes");
    tu_write_file(tu_tmp_path("bomb.gz"), z, g, 0);
    expect_files(tu_tmp_path("bomb.gz"), NULL, AE_ERR_FORMAT);
    free(z);
}
END_TEST

/* The largest single allocation made through the library's hook. */
static size_t largest_alloc;

static void *recording_alloc(void *opaque, size_t size)
{
    (void)opaque;
    if (size > largest_alloc)
        largest_alloc = size;
    return malloc(size);
}

static void plain_free(void *opaque, void *ptr)
{
    (void)opaque;
    free(ptr);
}

/* A header may declare far more than the input holds when the input's
 * length does not bound it tightly: gzip data (up to 1032-fold) or a pipe.
 * Loading must fail as truncated having allocated about what arrived, not
 * what the header declared. */
START_TEST(lying_header_allocates_what_arrives)
{
    /* 100,000 incompressible bytes behind a header declaring 1,500 images
     * of 256 x 256 (98 MB, within what 100 KB of gzip could inflate to). */
    const size_t sent = 100000;
    uint8_t *im = malloc(16 + sent);
    image_header(im, 1500, 256, 256);
    uint32_t x = 12345;
    for (size_t i = 16; i < 16 + sent; i++) {
        x = x * 1664525u + 1013904223u;
        im[i] = (uint8_t)(x >> 24);
    }
    size_t g;
    uint8_t *z = tu_gzip(im, 16 + sent, &g);
    ck_assert_uint_ge(g * 1032, (size_t)1500 * 256 * 256);
    ck_assert_int_eq(ae_set_allocator(recording_alloc, plain_free, NULL),
                     AE_OK);
    largest_alloc = 0;
    expect_memory(z, g, NULL, 0, AE_ERR_FORMAT);
    expect_message_has("truncated");
    ck_assert_uint_le(largest_alloc, (size_t)4 << 20);

    /* The same bytes, uncompressed, through a FIFO: its length is unknown
     * until the writer closes it. */
    const char *fifo = tu_tmp_path("lying.fifo");
    unlink(fifo);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        FILE *f = fopen(fifo, "wb");
        size_t w = f ? fwrite(im, 1, 16 + sent, f) : 0;
        if (f)
            fclose(f);
        /* Under Valgrind the child's exit is leak-checked too. */
        free(z);
        free(im);
        _exit(w == 16 + sent ? 0 : 1);
    }
    largest_alloc = 0;
    ae_dataset *ds = NULL;
    ck_assert_int_eq(ae_dataset_load_idx(&ds, fifo, NULL), AE_ERR_FORMAT);
    expect_message_has("truncated");
    ck_assert_uint_le(largest_alloc, (size_t)4 << 20);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_int_eq(ae_set_allocator(NULL, NULL, NULL), AE_OK);
    unlink(fifo);
    free(z);
    free(im);
}
END_TEST

START_TEST(missing_and_empty_files)
{
    const char *nope = tu_tmp_path("does-not-exist.idx");
    expect_files(nope, NULL, AE_ERR_IO);
    expect_message_has(nope);
    expect_message_has("No such file");
    size_t ni;
    uint8_t *im = tu_idx_images(2, 2, 2, NULL, &ni);
    tu_write_file(tu_tmp_path("ok.idx"), im, ni, 0);
    expect_files(tu_tmp_path("ok.idx"), nope, AE_ERR_IO);
    expect_message_has("does-not-exist");
    tu_write_file(tu_tmp_path("empty.idx"), "", 0, 0);
    expect_files(tu_tmp_path("empty.idx"), NULL, AE_ERR_FORMAT);
    expect_message_has("empty");
    expect_files(tu_tmp_path("ok.idx"), tu_tmp_path("empty.idx"),
                 AE_ERR_FORMAT);
    expect_message_has("empty.idx");
    /* A gzip file holding nothing. */
    tu_write_file(tu_tmp_path("empty.gz"), "", 0, 1);
    expect_files(tu_tmp_path("empty.gz"), NULL, AE_ERR_FORMAT);
    expect_message_has("0 of 16");
    /* A directory opens on Linux but cannot be read. */
    expect_files(tu_tmpdir(), NULL, AE_ERR_IO);
    expect_message_has(tu_tmpdir());
    expect_memory(im, 0, NULL, 0, AE_ERR_FORMAT);
    expect_message_has("empty");
    free(im);
}
END_TEST

START_TEST(null_arguments)
{
    size_t ni;
    uint8_t *im = tu_idx_images(2, 2, 2, NULL, &ni);
    ae_dataset *ds = (ae_dataset *)&ds;
    ck_assert_ae_status(ae_dataset_load_idx(NULL, "x", NULL), AE_ERR_NULL);
    ck_assert_ae_status(ae_dataset_load_idx(&ds, NULL, NULL), AE_ERR_NULL);
    ck_assert_ptr_null(ds);
    ck_assert_ae_status(ae_dataset_load_idx_memory(NULL, im, ni, NULL, 0),
                        AE_ERR_NULL);
    ds = (ae_dataset *)&ds;
    ck_assert_ae_status(ae_dataset_load_idx_memory(&ds, NULL, ni, NULL, 0),
                        AE_ERR_NULL);
    ck_assert_ptr_null(ds);
    expect_memory(im, ni, NULL, 8, AE_ERR_NULL);
    expect_message_has("labels");
    /* A label buffer given but empty is an empty label file. */
    expect_memory(im, ni, im, 0, AE_ERR_FORMAT);
    free(im);
}
END_TEST

/* ---- the real data ----------------------------------------------------- */

START_TEST(real_mnist)
{
    if (!tu_require_mnist())
        return;
    /* tu_mnist_path returns one static buffer: copy before the next call. */
    char paths[4][4096];
    const char *names[4] = {"t10k-images-idx3-ubyte.gz",
                            "t10k-labels-idx1-ubyte.gz",
                            "train-images-idx3-ubyte.gz",
                            "train-labels-idx1-ubyte.gz"};
    for (int k = 0; k < 4; k++)
        snprintf(paths[k], sizeof paths[k], "%s", tu_mnist_path(names[k]));
    ae_dataset *test = NULL, *train = NULL;
    ck_assert_ae_ok(ae_dataset_load_idx(&test, paths[0], paths[1]));
    ck_assert_ae_ok(ae_dataset_load_idx(&train, paths[2], paths[3]));
    ck_assert_uint_eq(ae_dataset_count(test), 10000);
    ck_assert_uint_eq(ae_dataset_count(train), 22699);
    int c, h, w;
    ck_assert_ae_ok(ae_dataset_shape(test, &c, &h, &w));
    ck_assert_int_eq(c, 1);
    ck_assert_int_eq(h, 28);
    ck_assert_int_eq(w, 28);
    ck_assert_uint_eq(ae_dataset_image_size(train), 784);
    const uint8_t first[5] = {7, 2, 1, 0, 4};
    for (size_t i = 0; i < 5; i++) {
        uint8_t y;
        ck_assert_ae_ok(ae_dataset_label(test, i, &y));
        ck_assert_uint_eq(y, first[i]);
    }
    /* The training set begins 5, 0, 4, 1, 9. */
    const uint8_t first_train[5] = {5, 0, 4, 1, 9};
    for (size_t i = 0; i < 5; i++) {
        uint8_t y;
        ck_assert_ae_ok(ae_dataset_label(train, i, &y));
        ck_assert_uint_eq(y, first_train[i]);
    }
    /* The test set's mean pixel is about 0.1325 (33.8 / 255). */
    float *x = malloc(sizeof(float) * 10000 * 784);
    ck_assert_ae_ok(ae_dataset_batch(test, 0, 10000, x, NULL));
    double sum = 0;
    for (size_t k = 0; k < (size_t)10000 * 784; k++)
        sum += x[k];
    ck_assert_double_eq_tol(sum / (10000.0 * 784.0), 0.1325, 0.001);
    free(x);
    ae_dataset_free(test);
    ae_dataset_free(train);
}
END_TEST

static Suite *idx_suite(void)
{
    Suite *s = suite_create("idx");
    TCase *good = tcase_create("good");
    tcase_add_test(good, memory_raw);
    tcase_add_test(good, memory_gzip);
    tcase_add_test(good, files_raw_and_gzip);
    tcase_add_test(good, gzip_concatenated_members);
    tcase_add_test(good, any_label_value);
    suite_add_tcase(s, good);
    TCase *bad = tcase_create("hostile");
    tcase_add_test(bad, wrong_magic);
    tcase_add_test(bad, truncated_header);
    tcase_add_test(bad, truncated_body);
    tcase_add_test(bad, trailing_bytes);
    tcase_add_test(bad, garbage_after_gzip_stream);
    tcase_add_test(bad, corrupt_gzip);
    tcase_add_test(bad, size_overflow_and_limits);
    tcase_add_test(bad, huge_count_small_input);
    tcase_add_test(bad, zero_sizes);
    tcase_add_test(bad, count_mismatch);
    tcase_add_test(bad, gzip_bomb);
    tcase_add_test(bad, lying_header_allocates_what_arrives);
    tcase_add_test(bad, missing_and_empty_files);
    tcase_add_test(bad, null_arguments);
    suite_add_tcase(s, bad);
    TCase *real = tcase_create("mnist");
    tcase_add_test(real, real_mnist);
    suite_add_tcase(s, real);
    return s;
}

int main(void)
{
    return tu_run_suite(idx_suite());
}

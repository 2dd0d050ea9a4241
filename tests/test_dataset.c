/* test_dataset.c - dataset handles, subsets, splits and batch iteration. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "testutil.h"

/* ---- helpers ----------------------------------------------------------- */

enum { H = 2, W = 3, IMG = H * W };

/* n <= 256 images of H x W whose first pixel is their index (so a float
 * batch tells which images it holds), with labels 255 - index if
 * `labels`. */
static ae_dataset *make_ds(uint32_t n, int labels)
{
    uint8_t px[256 * IMG], lb[256];
    ck_assert_uint_le(n, 256);
    for (uint32_t i = 0; i < n; i++) {
        for (int k = 0; k < IMG; k++)
            px[i * IMG + k] = (uint8_t)(k == 0 ? i : (i * 5 + k * 11) & 255);
        lb[i] = (uint8_t)(255 - i);
    }
    size_t ni, nl;
    uint8_t *im = tu_idx_images(n, H, W, px, &ni);
    uint8_t *ll = tu_idx_labels(n, lb, &nl);
    ae_dataset *ds = NULL;
    ck_assert_ae_ok(ae_dataset_load_idx_memory(&ds, im, ni, labels ? ll : NULL,
                                               labels ? nl : 0));
    free(im);
    free(ll);
    return ds;
}

/* Index of the make_ds image held in x (unit range). */
static size_t which(const float *x)
{
    return (size_t)lroundf(x[0] * 255.0f);
}

/* The make_ds indices of every image of ds, in order. */
static void indices_of(const ae_dataset *ds, size_t *out)
{
    size_t n = ae_dataset_count(ds);
    float *x = malloc(sizeof(float) * n * IMG);
    ck_assert_ae_ok(ae_dataset_batch(ds, 0, n, x, NULL));
    for (size_t i = 0; i < n; i++)
        out[i] = which(x + i * IMG);
    free(x);
}

static void expect_message_has(const char *part)
{
    ck_assert_msg(strstr(ae_last_error(), part) != NULL,
                  "message '%s' lacks '%s'", ae_last_error(), part);
}

/* ---- basics ------------------------------------------------------------ */

START_TEST(properties)
{
    ae_dataset *ds = make_ds(10, 1);
    int c = 0, h = 0, w = 0;
    ck_assert_uint_eq(ae_dataset_count(ds), 10);
    ck_assert_ae_ok(ae_dataset_shape(ds, &c, &h, &w));
    ck_assert_int_eq(c, 1);
    ck_assert_int_eq(h, H);
    ck_assert_int_eq(w, W);
    ck_assert_ae_ok(ae_dataset_shape(ds, NULL, NULL, NULL));
    ck_assert_ae_ok(ae_dataset_shape(ds, NULL, &h, NULL));
    ck_assert_uint_eq(ae_dataset_image_size(ds), IMG);
    ck_assert_int_eq(ae_dataset_has_labels(ds), 1);
    ck_assert_int_eq(ae_dataset_range(ds), AE_RANGE_UNIT);
    ck_assert_ae_ok(ae_dataset_set_range(ds, AE_RANGE_SYMMETRIC));
    ck_assert_int_eq(ae_dataset_range(ds), AE_RANGE_SYMMETRIC);
    ck_assert_ae_status(ae_dataset_set_range(ds, (ae_pixel_range)7),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ae_dataset_range(ds), AE_RANGE_SYMMETRIC);
    ae_dataset_free(ds);
    ds = make_ds(3, 0);
    ck_assert_int_eq(ae_dataset_has_labels(ds), 0);
    ae_dataset_free(ds);
}
END_TEST

START_TEST(null_handles)
{
    ae_dataset *ds = make_ds(4, 1);
    float x[4 * IMG];
    uint8_t y[4];
    size_t idx[1] = {0};
    int c;
    ae_dataset *out = (ae_dataset *)&out, *out2 = (ae_dataset *)&out2;
    ae_batches *it = (ae_batches *)&it;

    ae_dataset_free(NULL);
    ae_batches_free(NULL);
    ck_assert_uint_eq(ae_dataset_count(NULL), 0);
    ck_assert_uint_eq(ae_dataset_image_size(NULL), 0);
    ck_assert_int_eq(ae_dataset_has_labels(NULL), 0);
    ck_assert_int_eq(ae_dataset_range(NULL), AE_RANGE_UNIT);
    ck_assert_uint_eq(ae_batches_per_epoch(NULL), 0);
    ck_assert_ptr_null(ae__dataset_image_u8(NULL, 0));

    ck_assert_ae_status(ae_dataset_shape(NULL, &c, &c, &c), AE_ERR_NULL);
    ck_assert_ae_status(ae_dataset_set_range(NULL, AE_RANGE_UNIT),
                        AE_ERR_NULL);
    ck_assert_ae_status(ae_dataset_batch(NULL, 0, 1, x, y), AE_ERR_NULL);
    ck_assert_ae_status(ae_dataset_batch(ds, 0, 1, NULL, y), AE_ERR_NULL);
    ck_assert_ae_status(ae_dataset_gather(NULL, idx, 1, x, y), AE_ERR_NULL);
    ck_assert_ae_status(ae_dataset_gather(ds, NULL, 1, x, y), AE_ERR_NULL);
    ck_assert_ae_status(ae_dataset_gather(ds, idx, 1, NULL, y), AE_ERR_NULL);
    ck_assert_ae_status(ae_dataset_label(NULL, 0, y), AE_ERR_NULL);
    ck_assert_ae_status(ae_dataset_label(ds, 0, NULL), AE_ERR_NULL);
    ck_assert_ae_status(ae_dataset_subset(NULL, 0, 1, &out), AE_ERR_NULL);
    ck_assert_ptr_null(out);
    ck_assert_ae_status(ae_dataset_subset(ds, 0, 1, NULL), AE_ERR_NULL);
    out = (ae_dataset *)&out;
    ck_assert_ae_status(ae_dataset_split(NULL, 0.5, 1, &out, &out2),
                        AE_ERR_NULL);
    ck_assert_ptr_null(out);
    ck_assert_ptr_null(out2);
    ck_assert_ae_status(ae_dataset_split(ds, 0.5, 1, NULL, &out2),
                        AE_ERR_NULL);
    ck_assert_ae_status(ae_dataset_split(ds, 0.5, 1, &out, NULL),
                        AE_ERR_NULL);
    ck_assert_ae_status(ae_batches_create(NULL, ds, 2, 1, 0), AE_ERR_NULL);
    ck_assert_ae_status(ae_batches_create(&it, NULL, 2, 1, 0), AE_ERR_NULL);
    ck_assert_ptr_null(it);
    size_t n;
    ck_assert_ae_ok(ae_batches_create(&it, ds, 2, 1, 0));
    ck_assert_ae_status(ae_batches_next(NULL, x, y, &n), AE_ERR_NULL);
    ck_assert_ae_status(ae_batches_next(it, NULL, y, &n), AE_ERR_NULL);
    ck_assert_ae_status(ae_batches_next(it, x, y, NULL), AE_ERR_NULL);
    ae_batches_free(it);
    ae_dataset_free(ds);
}
END_TEST

START_TEST(range_scaling_exact)
{
    /* Every byte value, in both ranges. */
    uint8_t px[256];
    for (int i = 0; i < 256; i++)
        px[i] = (uint8_t)i;
    size_t ni;
    uint8_t *im = tu_idx_images(1, 16, 16, px, &ni);
    ae_dataset *ds = NULL;
    ck_assert_ae_ok(ae_dataset_load_idx_memory(&ds, im, ni, NULL, 0));
    float x[256];
    ck_assert_ae_ok(ae_dataset_batch(ds, 0, 1, x, NULL));
    ck_assert_float_eq(x[0], 0.0f);
    ck_assert_float_eq(x[255], 1.0f);
    for (int i = 0; i < 256; i++) {
        ck_assert_float_eq_tol(x[i], i / 255.0f, 1e-7f);
        ck_assert(x[i] >= 0.0f && x[i] <= 1.0f);
    }
    ck_assert_ae_ok(ae_dataset_set_range(ds, AE_RANGE_SYMMETRIC));
    ck_assert_ae_ok(ae_dataset_batch(ds, 0, 1, x, NULL));
    ck_assert_float_eq(x[0], -1.0f);
    ck_assert_float_eq(x[255], 1.0f);
    for (int i = 0; i < 256; i++) {
        ck_assert_float_eq_tol(x[i], i / 127.5f - 1.0f, 2e-7f);
        ck_assert(x[i] >= -1.0f && x[i] <= 1.0f);
    }
    /* The private conversion agrees. */
    float z[256];
    ae__pixels_to_float(px, 256, AE_RANGE_SYMMETRIC, z);
    ck_assert_mem_eq(x, z, sizeof x);
    ae_dataset_free(ds);
    free(im);
}
END_TEST

START_TEST(batch_and_gather)
{
    ae_dataset *ds = make_ds(10, 1);
    float x[10 * IMG];
    uint8_t y[10];
    ck_assert_ae_ok(ae_dataset_batch(ds, 3, 4, x, y));
    for (size_t k = 0; k < 4; k++) {
        ck_assert_uint_eq(which(x + k * IMG), 3 + k);
        ck_assert_uint_eq(y[k], 255 - (3 + k));
    }
    ck_assert_ae_ok(ae_dataset_batch(ds, 10, 0, x, NULL)); /* empty, at end */
    size_t idx[5] = {9, 0, 9, 4, 2};
    ck_assert_ae_ok(ae_dataset_gather(ds, idx, 5, x, y));
    for (size_t k = 0; k < 5; k++) {
        ck_assert_uint_eq(which(x + k * IMG), idx[k]);
        ck_assert_uint_eq(y[k], 255 - idx[k]);
    }
    ck_assert_ae_ok(ae_dataset_gather(ds, idx, 0, x, y));
    const uint8_t *p = ae__dataset_image_u8(ds, 7);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p[0], 7);
    ck_assert_ptr_null(ae__dataset_image_u8(ds, 10));
    ae_dataset_free(ds);
}
END_TEST

START_TEST(out_of_range_writes_nothing)
{
    ae_dataset *ds = make_ds(10, 1);
    float x[10 * IMG];
    uint8_t y[10];
    memset(x, 0x7F, sizeof x);
    memset(y, 0x7F, sizeof y);
    float x0[10 * IMG];
    memcpy(x0, x, sizeof x);
    ck_assert_ae_status(ae_dataset_batch(ds, 8, 3, x, y),
                        AE_ERR_INVALID_ARGUMENT);
    expect_message_has("10 images");
    ck_assert_ae_status(ae_dataset_batch(ds, 11, 0, x, y),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_dataset_batch(ds, 1, SIZE_MAX, x, y),
                        AE_ERR_INVALID_ARGUMENT);
    size_t idx[4] = {1, 2, 10, 3};
    ck_assert_ae_status(ae_dataset_gather(ds, idx, 4, x, y),
                        AE_ERR_INVALID_ARGUMENT);
    expect_message_has("indices[2] = 10");
    expect_message_has("10 images");
    ck_assert_mem_eq(x, x0, sizeof x);
    for (int k = 0; k < 10; k++)
        ck_assert_uint_eq(y[k], 0x7F);
    uint8_t label = 0x7F;
    ck_assert_ae_status(ae_dataset_label(ds, 10, &label),
                        AE_ERR_INVALID_ARGUMENT);
    expect_message_has("index 10");
    ck_assert_uint_eq(label, 0x7F);
    ae_dataset_free(ds);
}
END_TEST

START_TEST(labels_missing)
{
    ae_dataset *ds = make_ds(4, 0);
    float x[4 * IMG];
    uint8_t y[4];
    size_t idx[1] = {0};
    ck_assert_ae_status(ae_dataset_batch(ds, 0, 1, x, y), AE_ERR_UNSUPPORTED);
    ck_assert_ae_status(ae_dataset_gather(ds, idx, 1, x, y),
                        AE_ERR_UNSUPPORTED);
    ck_assert_ae_status(ae_dataset_label(ds, 0, y), AE_ERR_UNSUPPORTED);
    ck_assert_ae_ok(ae_dataset_batch(ds, 0, 4, x, NULL));
    ae_batches *it = NULL;
    size_t n = 99;
    ck_assert_ae_ok(ae_batches_create(&it, ds, 3, 1, 1));
    ck_assert_ae_status(ae_batches_next(it, x, y, &n), AE_ERR_UNSUPPORTED);
    ck_assert_uint_eq(n, 99);
    ck_assert_ae_ok(ae_batches_next(it, x, NULL, &n));
    ck_assert_uint_eq(n, 3); /* the failed call consumed nothing */
    ae_batches_free(it);
    ae_dataset_free(ds);
}
END_TEST

/* ---- subsets ----------------------------------------------------------- */

START_TEST(subsets)
{
    ae_dataset *ds = make_ds(20, 1);
    ck_assert_ae_ok(ae_dataset_set_range(ds, AE_RANGE_SYMMETRIC));
    ae_dataset *sub = NULL, *subsub = NULL;
    ck_assert_ae_ok(ae_dataset_subset(ds, 5, 10, &sub));
    ck_assert_uint_eq(ae_dataset_count(sub), 10);
    ck_assert_int_eq(ae_dataset_range(sub), AE_RANGE_SYMMETRIC);
    ck_assert_int_eq(ae_dataset_has_labels(sub), 1);
    ck_assert_ae_ok(ae_dataset_subset(sub, 2, 3, &subsub));
    /* Freeing the parents first is safe. */
    ae_dataset_free(ds);
    ae_dataset_free(sub);
    ck_assert_ae_ok(ae_dataset_set_range(subsub, AE_RANGE_UNIT));
    size_t got[3];
    indices_of(subsub, got);
    for (size_t k = 0; k < 3; k++)
        ck_assert_uint_eq(got[k], 7 + k);
    uint8_t y;
    ck_assert_ae_ok(ae_dataset_label(subsub, 0, &y));
    ck_assert_uint_eq(y, 255 - 7);
    ae_dataset_free(subsub);
}
END_TEST

START_TEST(subset_bounds)
{
    ae_dataset *ds = make_ds(10, 0);
    const size_t bad[][2] = {{0, 11}, {10, 1}, {11, 0}, {5, 6},
                             {1, SIZE_MAX}, {SIZE_MAX, 2}, {3, 0}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        ae_dataset *sub = (ae_dataset *)&sub;
        ck_assert_ae_status(ae_dataset_subset(ds, bad[k][0], bad[k][1], &sub),
                            AE_ERR_INVALID_ARGUMENT);
        ck_assert_ptr_null(sub);
    }
    ae_dataset *all = NULL;
    ck_assert_ae_ok(ae_dataset_subset(ds, 0, 10, &all));
    ae_dataset_free(all);
    ck_assert_ae_ok(ae_dataset_subset(ds, 9, 1, &all));
    ae_dataset_free(all);
    ae_dataset_free(ds);
}
END_TEST

/* ---- splits ------------------------------------------------------------ */

static void split_indices(const ae_dataset *ds, double f, uint64_t seed,
                          size_t *train, size_t *n_train, size_t *val,
                          size_t *n_val)
{
    ae_dataset *a = NULL, *b = NULL;
    ck_assert_ae_ok(ae_dataset_split(ds, f, seed, &a, &b));
    *n_train = ae_dataset_count(a);
    *n_val = ae_dataset_count(b);
    indices_of(a, train);
    indices_of(b, val);
    ae_dataset_free(a);
    ae_dataset_free(b);
}

START_TEST(split_partition)
{
    ae_dataset *ds = make_ds(200, 1);
    size_t t[200], v[200], nt, nv;
    split_indices(ds, 0.8, 42, t, &nt, v, &nv);
    ck_assert_uint_eq(nt, 160);
    ck_assert_uint_eq(nv, 40);
    int seen[200] = {0};
    for (size_t k = 0; k < nt; k++)
        seen[t[k]]++;
    for (size_t k = 0; k < nv; k++)
        seen[v[k]]++;
    for (size_t i = 0; i < 200; i++)
        ck_assert_int_eq(seen[i], 1); /* disjoint and covering */
    /* Not simply the first 160 in order. */
    int in_order = 1;
    for (size_t k = 0; k < nt; k++)
        in_order &= t[k] == k;
    ck_assert_int_eq(in_order, 0);
    ae_dataset_free(ds);
}
END_TEST

START_TEST(split_determinism)
{
    ae_dataset *ds = make_ds(100, 0);
    size_t t1[100], v1[100], t2[100], v2[100], n1, m1, n2, m2;
    split_indices(ds, 0.5, 7, t1, &n1, v1, &m1);
    split_indices(ds, 0.5, 7, t2, &n2, v2, &m2);
    ck_assert_uint_eq(n1, n2);
    ck_assert_mem_eq(t1, t2, n1 * sizeof t1[0]);
    ck_assert_mem_eq(v1, v2, m1 * sizeof v1[0]);
    split_indices(ds, 0.5, 8, t2, &n2, v2, &m2);
    ck_assert(memcmp(t1, t2, n1 * sizeof t1[0]) != 0);
    ae_dataset_free(ds);
}
END_TEST

START_TEST(split_sizes_and_errors)
{
    ae_dataset *ds = make_ds(10, 0);
    ck_assert_ae_ok(ae_dataset_set_range(ds, AE_RANGE_SYMMETRIC));
    ae_dataset *a = NULL, *b = NULL;
    ck_assert_ae_ok(ae_dataset_split(ds, 0.25, 1, &a, &b)); /* 2.5 -> 3 */
    ck_assert_uint_eq(ae_dataset_count(a), 3);
    ck_assert_uint_eq(ae_dataset_count(b), 7);
    ck_assert_int_eq(ae_dataset_range(a), AE_RANGE_SYMMETRIC);
    ck_assert_int_eq(ae_dataset_range(b), AE_RANGE_SYMMETRIC);
    ae_dataset_free(a);
    ae_dataset_free(b);
    ck_assert_ae_ok(ae_dataset_split(ds, 0.9, 1, &a, &b));
    ck_assert_uint_eq(ae_dataset_count(b), 1);
    ae_dataset_free(a);
    ae_dataset_free(b);
    const double bad[] = {0.0, 1.0, -0.5, 1.5, NAN, INFINITY, 0.04, 0.96};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        a = (ae_dataset *)&a;
        b = (ae_dataset *)&b;
        ck_assert_ae_status(ae_dataset_split(ds, bad[k], 1, &a, &b),
                            AE_ERR_INVALID_ARGUMENT);
        ck_assert_ptr_null(a);
        ck_assert_ptr_null(b);
    }
    ae_dataset_free(ds);
    /* A single image cannot be split. */
    ds = make_ds(1, 0);
    ck_assert_ae_status(ae_dataset_split(ds, 0.5, 1, &a, &b),
                        AE_ERR_INVALID_ARGUMENT);
    ae_dataset_free(ds);
}
END_TEST

START_TEST(split_of_views)
{
    /* Splitting a subset and subsetting a split go through index arrays. */
    ae_dataset *ds = make_ds(100, 1);
    ae_dataset *sub = NULL, *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    ck_assert_ae_ok(ae_dataset_subset(ds, 50, 40, &sub));
    ck_assert_ae_ok(ae_dataset_split(sub, 0.5, 3, &a, &b));
    ae_dataset_free(ds);
    ae_dataset_free(sub);
    size_t ia[20], ib[20];
    indices_of(a, ia);
    indices_of(b, ib);
    for (size_t k = 0; k < 20; k++) {
        ck_assert(ia[k] >= 50 && ia[k] < 90);
        ck_assert(ib[k] >= 50 && ib[k] < 90);
        uint8_t y;
        ck_assert_ae_ok(ae_dataset_label(a, k, &y));
        ck_assert_uint_eq(y, 255 - ia[k]);
        ck_assert_uint_eq(ae__dataset_image_u8(a, k)[0], ia[k]);
    }
    ck_assert_ae_ok(ae_dataset_subset(a, 5, 10, &c));
    ck_assert_ae_ok(ae_dataset_split(a, 0.5, 4, &d, &sub));
    ae_dataset_free(a);
    size_t ic[10];
    indices_of(c, ic);
    for (size_t k = 0; k < 10; k++)
        ck_assert_uint_eq(ic[k], ia[5 + k]);
    ae_dataset_free(b);
    ae_dataset_free(c);
    ae_dataset_free(d);
    ae_dataset_free(sub);
}
END_TEST

/* Views made and dropped on several threads at once: the shared count must
 * free the storage exactly once (ASan/TSan builds catch a miscount). */
static void *churn(void *arg)
{
    const ae_dataset *ds = arg;
    for (int k = 0; k < 20000; k++) {
        ae_dataset *sub = NULL;
        if (ae_dataset_subset(ds, (size_t)k % 10, 5, &sub) != AE_OK)
            return (void *)1;
        ae_dataset_free(sub);
    }
    return NULL;
}

START_TEST(shared_across_threads)
{
    ae_dataset *ds = make_ds(20, 1);
    ae_dataset *keep = NULL;
    ck_assert_ae_ok(ae_dataset_subset(ds, 0, 20, &keep));
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, churn, keep), 0);
    ae_dataset_free(ds);
    for (int i = 0; i < 4; i++) {
        void *r;
        ck_assert_int_eq(pthread_join(th[i], &r), 0);
        ck_assert_ptr_null(r);
    }
    size_t got[20];
    indices_of(keep, got);
    for (size_t k = 0; k < 20; k++)
        ck_assert_uint_eq(got[k], k);
    ae_dataset_free(keep);
}
END_TEST

/* ---- batches ----------------------------------------------------------- */

/* One epoch of `it` into order[] (make_ds indices); returns the sizes of
 * its batches in sizes[] and their number. */
static size_t run_epoch(ae_batches *it, size_t batch, size_t *order,
                        size_t *sizes)
{
    float *x = malloc(sizeof(float) * batch * IMG);
    uint8_t *y = malloc(batch);
    size_t pos = 0, nb = 0, n;
    for (;;) {
        ck_assert_ae_ok(ae_batches_next(it, x, y, &n));
        if (n == 0)
            break;
        ck_assert_uint_le(n, batch);
        for (size_t k = 0; k < n; k++) {
            order[pos + k] = which(x + k * IMG);
            ck_assert_uint_eq(y[k], 255 - order[pos + k]);
        }
        pos += n;
        sizes[nb++] = n;
    }
    free(x);
    free(y);
    return nb;
}

static void check_permutation(const size_t *order, size_t n)
{
    int seen[256] = {0};
    for (size_t k = 0; k < n; k++)
        seen[order[k]]++;
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(seen[i], 1);
}

START_TEST(batches_epochs)
{
    ae_dataset *ds = make_ds(10, 1);
    ae_batches *it = NULL;
    ck_assert_ae_status(ae_batches_create(&it, ds, 0, 1, 5),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_ok(ae_batches_create(&it, ds, 4, 1, 5));
    ck_assert_uint_eq(ae_batches_per_epoch(it), 3);
    size_t o1[10], o2[10], o3[10], sizes[10];
    ck_assert_uint_eq(run_epoch(it, 4, o1, sizes), 3);
    ck_assert_uint_eq(sizes[0], 4);
    ck_assert_uint_eq(sizes[1], 4);
    ck_assert_uint_eq(sizes[2], 2); /* the last, short batch */
    ck_assert_uint_eq(run_epoch(it, 4, o2, sizes), 3);
    ck_assert_uint_eq(run_epoch(it, 4, o3, sizes), 3);
    check_permutation(o1, 10);
    check_permutation(o2, 10);
    check_permutation(o3, 10);
    ck_assert(memcmp(o1, o2, sizeof o1) != 0 || memcmp(o2, o3, sizeof o2) != 0);
    ck_assert(memcmp(o1, o2, sizeof o1) != 0);
    ae_batches_free(it);
    ae_dataset_free(ds);
}
END_TEST

START_TEST(batches_deterministic)
{
    ae_dataset *ds = make_ds(100, 1);
    ae_batches *a = NULL, *b = NULL, *c = NULL;
    /* Same seed, different batch sizes: the epoch orders depend on the seed
     * and the epoch alone. */
    ck_assert_ae_ok(ae_batches_create(&a, ds, 7, 1, 123));
    ck_assert_ae_ok(ae_batches_create(&b, ds, 64, 1, 123));
    ck_assert_ae_ok(ae_batches_create(&c, ds, 7, 1, 124));
    size_t oa[100], ob[100], oc[100], sizes[100];
    for (int e = 0; e < 3; e++) {
        ck_assert_uint_eq(run_epoch(a, 7, oa, sizes), 15);
        ck_assert_uint_eq(run_epoch(b, 64, ob, sizes), 2);
        ck_assert_uint_eq(run_epoch(c, 7, oc, sizes), 15);
        ck_assert_mem_eq(oa, ob, sizeof oa);
        ck_assert(memcmp(oa, oc, sizeof oa) != 0);
        check_permutation(oa, 100);
    }
    ae_batches_free(a);
    ae_batches_free(b);
    ae_batches_free(c);
    ae_dataset_free(ds);
}
END_TEST

START_TEST(batches_stored_order)
{
    ae_dataset *ds = make_ds(10, 1);
    ae_batches *it = NULL;
    ck_assert_ae_ok(ae_batches_create(&it, ds, 3, 0, 99));
    size_t o[10], sizes[10];
    for (int e = 0; e < 2; e++) {
        ck_assert_uint_eq(run_epoch(it, 3, o, sizes), 4);
        for (size_t k = 0; k < 10; k++)
            ck_assert_uint_eq(o[k], k);
    }
    ae_batches_free(it);
    ae_dataset_free(ds);
}
END_TEST

START_TEST(batches_larger_than_dataset)
{
    ae_dataset *ds = make_ds(5, 1);
    ae_batches *it = NULL;
    ck_assert_ae_ok(ae_batches_create(&it, ds, 1000, 1, 1));
    /* The iterator keeps the images alive on its own. */
    ae_dataset_free(ds);
    ck_assert_uint_eq(ae_batches_per_epoch(it), 1);
    size_t o[5], sizes[5];
    ck_assert_uint_eq(run_epoch(it, 1000, o, sizes), 1);
    ck_assert_uint_eq(sizes[0], 5);
    check_permutation(o, 5);
    ae_batches_free(it);
}
END_TEST

START_TEST(batches_use_range)
{
    ae_dataset *ds = make_ds(4, 0);
    ck_assert_ae_ok(ae_dataset_set_range(ds, AE_RANGE_SYMMETRIC));
    ae_batches *it = NULL;
    ck_assert_ae_ok(ae_batches_create(&it, ds, 4, 0, 0));
    float x[4 * IMG];
    size_t n;
    ck_assert_ae_ok(ae_batches_next(it, x, NULL, &n));
    ck_assert_uint_eq(n, 4);
    ck_assert_float_eq(x[0], -1.0f); /* image 0's first pixel is 0 */
    ae_batches_free(it);
    ae_dataset_free(ds);
}
END_TEST

/* ---- the real data ----------------------------------------------------- */

START_TEST(real_mnist_split_and_batches)
{
    if (!tu_require_mnist())
        return;
    char im[4096], lb[4096];
    snprintf(im, sizeof im, "%s", tu_mnist_path("train-images-idx3-ubyte.gz"));
    snprintf(lb, sizeof lb, "%s", tu_mnist_path("train-labels-idx1-ubyte.gz"));
    ae_dataset *ds = NULL, *tr = NULL, *va = NULL;
    ck_assert_ae_ok(ae_dataset_load_idx(&ds, im, lb));
    ck_assert_ae_ok(ae_dataset_split(ds, 0.9, 2024, &tr, &va));
    ck_assert_uint_eq(ae_dataset_count(tr), 20429); /* round(20429.1) */
    ck_assert_uint_eq(ae_dataset_count(va), 2270);
    ae_dataset_free(ds);
    ae_batches *it = NULL;
    ck_assert_ae_ok(ae_batches_create(&it, tr, 64, 1, 7));
    ck_assert_uint_eq(ae_batches_per_epoch(it), 320); /* 20429 / 64 */
    float *x = malloc(sizeof(float) * 64 * 784);
    uint8_t y[64];
    size_t n, total = 0, batches = 0, per_digit[10] = {0};
    for (;;) {
        ck_assert_ae_ok(ae_batches_next(it, x, y, &n));
        if (n == 0)
            break;
        total += n;
        batches++;
        for (size_t k = 0; k < n; k++) {
            ck_assert_uint_lt(y[k], 10);
            per_digit[y[k]]++;
        }
    }
    ck_assert_uint_eq(total, 20429);
    ck_assert_uint_eq(batches, 320);
    for (int d = 0; d < 10; d++)
        ck_assert_uint_gt(per_digit[d], 1500);
    free(x);
    ae_batches_free(it);
    ae_dataset_free(tr);
    ae_dataset_free(va);
}
END_TEST

/* ---- out of memory ----------------------------------------------------- */

/* An allocator that fails from the `fail_at`-th call on and counts what is
 * still outstanding, to show every failure path frees what it took. */
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

/* Make a dataset, a split, a subset and an iterator with allocation number
 * `n` failing; returns the status of the first failing call. */
static ae_status build_all(long n, const uint8_t *im, size_t ni,
                           const uint8_t *lb, size_t nl)
{
    alloc_calls = 0;
    fail_at = n;
    ae_dataset *ds = NULL, *a = NULL, *b = NULL, *c = NULL;
    ae_batches *it = NULL;
    ae_status s = ae_dataset_load_idx_memory(&ds, im, ni, lb, nl);
    if (s == AE_OK)
        s = ae_dataset_split(ds, 0.5, 1, &a, &b);
    if (s == AE_OK)
        s = ae_dataset_subset(a, 1, 2, &c);
    if (s == AE_OK)
        s = ae_batches_create(&it, c, 2, 1, 1);
    ae_batches_free(it);
    ae_dataset_free(a);
    ae_dataset_free(b);
    ae_dataset_free(c);
    ae_dataset_free(ds);
    return s;
}

START_TEST(allocation_failures)
{
    size_t ni, nl, gi;
    uint8_t *im = tu_idx_images(10, 4, 4, NULL, &ni);
    uint8_t *lb = tu_idx_labels(10, NULL, &nl);
    uint8_t *zi = tu_gzip(im, ni, &gi);
    ck_assert_ae_ok(ae_set_allocator(failing_alloc, counting_free, NULL));
    for (int gz = 0; gz < 2; gz++) {
        long n = 1;
        ae_status s;
        while ((s = build_all(n, gz ? zi : im, gz ? gi : ni, lb, nl)) !=
               AE_OK) {
            ck_assert_msg(s == AE_ERR_NO_MEMORY, "allocation %ld: %s", n,
                          ae_status_name(s));
            ck_assert_int_eq(outstanding, 0);
            n++;
        }
        ck_assert_int_eq(outstanding, 0);
        ck_assert_int_gt(n, 8); /* every allocation was made to fail once */
    }
    ck_assert_ae_ok(ae_set_allocator(NULL, NULL, NULL));
    free(im);
    free(lb);
    free(zi);
}
END_TEST

static Suite *dataset_suite(void)
{
    Suite *s = suite_create("dataset");
    TCase *basic = tcase_create("basic");
    tcase_add_test(basic, properties);
    tcase_add_test(basic, null_handles);
    tcase_add_test(basic, range_scaling_exact);
    tcase_add_test(basic, batch_and_gather);
    tcase_add_test(basic, out_of_range_writes_nothing);
    tcase_add_test(basic, labels_missing);
    suite_add_tcase(s, basic);
    TCase *views = tcase_create("views");
    tcase_add_test(views, subsets);
    tcase_add_test(views, subset_bounds);
    tcase_add_test(views, split_partition);
    tcase_add_test(views, split_determinism);
    tcase_add_test(views, split_sizes_and_errors);
    tcase_add_test(views, split_of_views);
    tcase_add_test(views, shared_across_threads);
    suite_add_tcase(s, views);
    TCase *batches = tcase_create("batches");
    tcase_add_test(batches, batches_epochs);
    tcase_add_test(batches, batches_deterministic);
    tcase_add_test(batches, batches_stored_order);
    tcase_add_test(batches, batches_larger_than_dataset);
    tcase_add_test(batches, batches_use_range);
    suite_add_tcase(s, batches);
    TCase *oom = tcase_create("oom");
    tcase_add_test(oom, allocation_failures);
    suite_add_tcase(s, oom);
    TCase *real = tcase_create("mnist");
    tcase_add_test(real, real_mnist_split_and_batches);
    suite_add_tcase(s, real);
    return s;
}

int main(void)
{
    return tu_run_suite(dataset_suite());
}

/* test_map.c - memory-mapped IDX datasets (ae_dataset_map_idx): the same
 * images, labels and batches as ae_dataset_load_idx gives for the same
 * file; the loader's checks and a few of its own; handles freed in any
 * order; and a resident set that stays bounded while every image is read. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* unlink */
#endif

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/dataset.h"
#include "testutil.h"

enum { N = 300, SIDE = 28, PIXELS = SIDE * SIDE };

/* Raw images (tu_idx_images' pattern) and labels (i % 10) of N images,
 * written once per test process; *images and *labels get the paths. */
static void write_files(const char **images, const char **labels)
{
    /* Own copies: tu_tmp_path's buffers are reused. */
    static char im_path[4096], lb_path[4096];
    size_t ni, nl;
    uint8_t *im = tu_idx_images(N, SIDE, SIDE, NULL, &ni);
    uint8_t *lb = tu_idx_labels(N, NULL, &nl);
    snprintf(im_path, sizeof im_path, "%s", tu_tmp_path("images"));
    snprintf(lb_path, sizeof lb_path, "%s", tu_tmp_path("labels"));
    *images = im_path;
    *labels = lb_path;
    tu_write_file(*images, im, ni, 0);
    tu_write_file(*labels, lb, nl, 0);
    free(im);
    free(lb);
}

static void expect_map(const char *im, const char *lb, ae_status expected)
{
    ae_dataset *ds = (ae_dataset *)&ds; /* not NULL: must be reset */
    ck_assert_ae_status(ae_dataset_map_idx(&ds, im, lb), expected);
    ck_assert_ptr_null(ds);
}

static void expect_message_has(const char *part)
{
    ck_assert_msg(strstr(ae_last_error(), part) != NULL,
                  "message '%s' lacks '%s'", ae_last_error(), part);
}

/* Every image and label of a and b, in order, are the same. */
static void same_dataset(const ae_dataset *a, const ae_dataset *b)
{
    size_t n = ae_dataset_count(a);
    ck_assert_uint_eq(ae_dataset_count(b), n);
    ck_assert_uint_eq(ae_dataset_image_size(b), ae_dataset_image_size(a));
    ck_assert_int_eq(ae_dataset_has_labels(b), ae_dataset_has_labels(a));
    size_t px = ae_dataset_image_size(a);
    float *xa = malloc(n * px * sizeof *xa), *xb = malloc(n * px * sizeof *xb);
    uint8_t *la = malloc(n), *lb = malloc(n);
    ck_assert_ptr_nonnull(xa);
    ck_assert_ptr_nonnull(xb);
    ck_assert_ptr_nonnull(la);
    ck_assert_ptr_nonnull(lb);
    int labels = ae_dataset_has_labels(a);
    ck_assert_ae_ok(ae_dataset_batch(a, 0, n, xa, labels ? la : NULL));
    ck_assert_ae_ok(ae_dataset_batch(b, 0, n, xb, labels ? lb : NULL));
    ck_assert_int_eq(memcmp(xa, xb, n * px * sizeof *xa), 0);
    if (labels)
        ck_assert_int_eq(memcmp(la, lb, n), 0);
    free(xa);
    free(xb);
    free(la);
    free(lb);
}

/* Two epochs of batches of a and b, created alike, are the same. */
static void same_batches(const ae_dataset *a, const ae_dataset *b,
                         size_t batch, int shuffle, uint64_t seed)
{
    ae_batches *ia, *ib;
    ck_assert_ae_ok(ae_batches_create(&ia, a, batch, shuffle, seed));
    ck_assert_ae_ok(ae_batches_create(&ib, b, batch, shuffle, seed));
    size_t px = ae_dataset_image_size(a);
    float *xa = malloc(batch * px * sizeof *xa);
    float *xb = malloc(batch * px * sizeof *xb);
    uint8_t *la = malloc(batch), *lb = malloc(batch);
    int labels = ae_dataset_has_labels(a);
    size_t batches = 0;
    for (int epoch = 0; epoch < 2; epoch++) {
        for (;;) {
            size_t na, nb;
            ck_assert_ae_ok(ae_batches_next(ia, xa, labels ? la : NULL, &na));
            ck_assert_ae_ok(ae_batches_next(ib, xb, labels ? lb : NULL, &nb));
            ck_assert_uint_eq(na, nb);
            if (na == 0)
                break;
            ck_assert_int_eq(memcmp(xa, xb, na * px * sizeof *xa), 0);
            if (labels)
                ck_assert_int_eq(memcmp(la, lb, na), 0);
            batches++;
        }
    }
    ck_assert_uint_eq(batches, 2 * ae_batches_per_epoch(ia));
    free(xa);
    free(xb);
    free(la);
    free(lb);
    ae_batches_free(ia);
    ae_batches_free(ib);
}

/* ---- the same data as the loader --------------------------------------- */

START_TEST(test_map_matches_load)
{
    const char *im, *lb;
    write_files(&im, &lb);
    ae_dataset *loaded, *mapped;
    ck_assert_ae_ok(ae_dataset_load_idx(&loaded, im, lb));
    ck_assert_ae_ok(ae_dataset_map_idx(&mapped, im, lb));
    int c, h, w;
    ck_assert_ae_ok(ae_dataset_shape(mapped, &c, &h, &w));
    ck_assert_int_eq(c, 1);
    ck_assert_int_eq(h, SIDE);
    ck_assert_int_eq(w, SIDE);
    ck_assert_int_eq(ae_dataset_range(mapped), AE_RANGE_UNIT);
    same_dataset(loaded, mapped);
    /* The uint8 pixels are the file's bytes. */
    ck_assert_int_eq(memcmp(ae__dataset_image_u8(loaded, N - 1),
                            ae__dataset_image_u8(mapped, N - 1), PIXELS), 0);
    for (size_t k = 0; k < N; k += 37) {
        uint8_t a, b;
        ck_assert_ae_ok(ae_dataset_label(loaded, k, &a));
        ck_assert_ae_ok(ae_dataset_label(mapped, k, &b));
        ck_assert_uint_eq(a, b);
    }
    /* Batches: shuffled and not, a batch size that does not divide N, one
     * above N, in both pixel ranges. */
    for (int range = 0; range < 2; range++) {
        ck_assert_ae_ok(ae_dataset_set_range(loaded, (ae_pixel_range)range));
        ck_assert_ae_ok(ae_dataset_set_range(mapped, (ae_pixel_range)range));
        same_batches(loaded, mapped, 64, 1, 42);
        same_batches(loaded, mapped, 7, 0, 0);
        same_batches(loaded, mapped, N + 5, 1, 3);
    }
    /* Gather with repeats. */
    size_t idx[] = {5, 299, 5, 0, 128};
    float ga[5 * PIXELS], gb[5 * PIXELS];
    uint8_t gla[5], glb[5];
    ck_assert_ae_ok(ae_dataset_gather(loaded, idx, 5, ga, gla));
    ck_assert_ae_ok(ae_dataset_gather(mapped, idx, 5, gb, glb));
    ck_assert_int_eq(memcmp(ga, gb, sizeof ga), 0);
    ck_assert_int_eq(memcmp(gla, glb, sizeof gla), 0);
    ae_dataset_free(loaded);
    ae_dataset_free(mapped);
}
END_TEST

START_TEST(test_map_subsets_and_splits)
{
    const char *im, *lb;
    write_files(&im, &lb);
    ae_dataset *loaded, *mapped;
    ck_assert_ae_ok(ae_dataset_load_idx(&loaded, im, lb));
    ck_assert_ae_ok(ae_dataset_map_idx(&mapped, im, lb));
    ae_dataset *sl, *sm, *tl, *vl, *tm, *vm;
    ck_assert_ae_ok(ae_dataset_subset(loaded, 17, 200, &sl));
    ck_assert_ae_ok(ae_dataset_subset(mapped, 17, 200, &sm));
    same_dataset(sl, sm);
    same_batches(sl, sm, 32, 1, 9);
    ck_assert_ae_ok(ae_dataset_split(sl, 0.75, 11, &tl, &vl));
    ck_assert_ae_ok(ae_dataset_split(sm, 0.75, 11, &tm, &vm));
    same_dataset(tl, tm);
    same_dataset(vl, vm);
    same_batches(tl, tm, 16, 1, 5);
    same_batches(vm, vl, 16, 0, 0);
    ae_dataset *ssl, *ssm; /* a subset of a split: an index view */
    ck_assert_ae_ok(ae_dataset_subset(tl, 3, 40, &ssl));
    ck_assert_ae_ok(ae_dataset_subset(tm, 3, 40, &ssm));
    same_dataset(ssl, ssm);
    ae_dataset *all[] = {loaded, mapped, sl, sm, tl, vl, tm, vm, ssl, ssm};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        ae_dataset_free(all[k]);
}
END_TEST

/* Without labels, and a labels file in gzip (read into memory). */
START_TEST(test_map_labels_optional_and_gzip)
{
    const char *im, *lb;
    write_files(&im, &lb);
    size_t nl, ngz;
    uint8_t *raw = tu_idx_labels(N, NULL, &nl);
    uint8_t *gz = tu_gzip(raw, nl, &ngz);
    const char *lbgz = tu_tmp_path("labels.gz");
    tu_write_file(lbgz, gz, ngz, 0);
    free(raw);
    free(gz);
    ae_dataset *a, *b, *c;
    ck_assert_ae_ok(ae_dataset_map_idx(&a, im, NULL));
    ck_assert_int_eq(ae_dataset_has_labels(a), 0);
    uint8_t l;
    ck_assert_ae_status(ae_dataset_label(a, 0, &l), AE_ERR_UNSUPPORTED);
    ck_assert_ae_ok(ae_dataset_map_idx(&b, im, lbgz));
    ck_assert_ae_ok(ae_dataset_load_idx(&c, im, lb));
    same_dataset(b, c);
    ae_dataset_free(a);
    ae_dataset_free(b);
    ae_dataset_free(c);
}
END_TEST

/* ---- errors -------------------------------------------------------------- */

START_TEST(test_map_errors)
{
    const char *im, *lb;
    write_files(&im, &lb);
    size_t ni;
    uint8_t *raw = tu_idx_images(N, SIDE, SIDE, NULL, &ni);

    /* NULL arguments. */
    ck_assert_ae_status(ae_dataset_map_idx(NULL, im, NULL), AE_ERR_NULL);
    expect_map(NULL, NULL, AE_ERR_NULL);

    /* gzip: unsupported, and the message says what to do instead. */
    char gz[4096], p[4096];
    snprintf(gz, sizeof gz, "%s", tu_tmp_path("images.gz"));
    snprintf(p, sizeof p, "%s", tu_tmp_path("bad"));
    tu_write_file(gz, raw, ni, 1);
    expect_map(gz, NULL, AE_ERR_UNSUPPORTED);
    expect_message_has("ae_dataset_load_idx");
    expect_message_has("decompress");
    expect_message_has(gz);

    /* Truncated by one byte, one byte too long, header only, empty. */
    tu_write_file(p, raw, ni - 1, 0);
    expect_map(p, NULL, AE_ERR_FORMAT);
    expect_message_has("truncated");
    uint8_t *longer = malloc(ni + 1);
    memcpy(longer, raw, ni);
    longer[ni] = 0;
    tu_write_file(p, longer, ni + 1, 0);
    expect_map(p, NULL, AE_ERR_FORMAT);
    expect_message_has("trailing");
    free(longer);
    tu_write_file(p, raw, 16, 0);
    expect_map(p, NULL, AE_ERR_FORMAT);
    tu_write_file(p, raw, 10, 0);
    expect_map(p, NULL, AE_ERR_FORMAT);
    tu_write_file(p, raw, 0, 0);
    expect_map(p, NULL, AE_ERR_FORMAT);

    /* Wrong magic: a labels file as images, and a flipped byte. */
    expect_map(lb, NULL, AE_ERR_FORMAT);
    expect_message_has("magic");
    raw[3] ^= 0x10;
    tu_write_file(p, raw, ni, 0);
    expect_map(p, NULL, AE_ERR_FORMAT);
    expect_message_has("magic");
    raw[3] ^= 0x10;

    /* Zero images; images too large (checked before the size). */
    uint8_t h[16];
    memcpy(h, raw, 16);
    h[4] = h[5] = h[6] = h[7] = 0;
    tu_write_file(p, h, 16, 0);
    expect_map(p, NULL, AE_ERR_FORMAT);
    memcpy(h, raw, 16);
    h[8] = 0x7f; /* 2 Gi rows */
    tu_write_file(p, h, 16, 0);
    expect_map(p, NULL, AE_ERR_LIMIT);

    /* Missing files, a folder, a device that is not a regular file. */
    expect_map(tu_tmp_path("no-such-file"), NULL, AE_ERR_IO);
    expect_map(im, tu_tmp_path("no-such-labels"), AE_ERR_IO);
    expect_map(tu_tmpdir(), NULL, AE_ERR_IO);
    if (access("/dev/zero", R_OK) == 0) {
        expect_map("/dev/zero", NULL, AE_ERR_UNSUPPORTED);
        expect_message_has("regular file");
    }

    /* Labels: a count that disagrees, images given as labels. */
    size_t n5;
    uint8_t *l5 = tu_idx_labels(5, NULL, &n5);
    const char *p5 = tu_tmp_path("labels5");
    tu_write_file(p5, l5, n5, 0);
    free(l5);
    expect_map(im, p5, AE_ERR_SHAPE);
    expect_map(im, im, AE_ERR_FORMAT);
    free(raw);
}
END_TEST

/* ---- lifetime -------------------------------------------------------------- */

/* Views of a mapped file freed in every order still read the file. */
START_TEST(test_map_free_any_order)
{
    const char *im, *lb;
    write_files(&im, &lb);
    ae_dataset *ref;
    ck_assert_ae_ok(ae_dataset_load_idx(&ref, im, lb));
    for (int order = 0; order < 6; order++) {
        ae_dataset *ds, *sub, *tr, *va, *refsub;
        ae_batches *it;
        ck_assert_ae_ok(ae_dataset_map_idx(&ds, im, lb));
        ck_assert_ae_ok(ae_dataset_subset(ds, 100, 150, &sub));
        ck_assert_ae_ok(ae_dataset_split(ds, 0.5, 1, &tr, &va));
        ck_assert_ae_ok(ae_batches_create(&it, sub, 10, 1, 2));
        ck_assert_ae_ok(ae_dataset_subset(ref, 100, 150, &refsub));
        /* Free in a rotating order, checking the survivors each time. */
        void *h[4] = {ds, sub, tr, it};
        for (int k = 0; k < 4; k++) {
            int victim = (k + order) % 4;
            if (victim == 3) {
                ae_batches_free(it);
                it = NULL;
            } else {
                ae_dataset_free(h[victim]);
            }
            if (victim == 0)
                ds = NULL;
            if (victim == 1)
                sub = NULL;
            if (victim == 2)
                tr = NULL;
            if (sub)
                same_dataset(refsub, sub);
            if (it) {
                float x[10 * PIXELS];
                size_t n;
                ck_assert_ae_ok(ae_batches_next(it, x, NULL, &n));
                ck_assert_uint_eq(n, 10);
            }
        }
        /* va was never freed above: the last handle on the mapping. */
        float x[PIXELS];
        ck_assert_ae_ok(ae_dataset_batch(va, ae_dataset_count(va) - 1, 1, x,
                                         NULL));
        ae_dataset_free(va);
        ae_dataset_free(refsub);
    }
    ae_dataset_free(ref);
    ae_dataset_free(NULL);
}
END_TEST

/* ---- resident memory ---------------------------------------------------- */

/* This process's resident file-backed memory in KiB, or -1 if unknown. */
static long rss_file_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "RssFile: %ld", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

enum { BIG_N = 200000 }; /* 157 MB of pixels, about 2.5 budgets */

/* Every image of a file several times the drop budget, read in shuffled
 * batches and then in order: the mapped pages resident at any time stay
 * within the budget (plus slack), and the pixels read are right. */
START_TEST(test_map_resident_bounded)
{
    size_t size = 16 + (size_t)BIG_N * PIXELS;
    uint8_t *raw = malloc(size);
    ck_assert_ptr_nonnull(raw);
    memcpy(raw, "\0\0\x08\x03", 4);
    const uint8_t dims[12] = {0, (BIG_N >> 16) & 255, (BIG_N >> 8) & 255,
                              BIG_N & 255, 0, 0, 0, SIDE, 0, 0, 0, SIDE};
    memcpy(raw + 4, dims, 12);
    for (size_t k = 16; k < size; k++)
        raw[k] = (uint8_t)(k * 2654435761u >> 13);
    const char *path = tu_tmp_path("big");
    tu_write_file(path, raw, size, 0);
    long before = rss_file_kib();
    ae_dataset *ds;
    ck_assert_ae_ok(ae_dataset_map_idx(&ds, path, NULL));
    ae_batches *it;
    float x[64 * PIXELS];
    long peak = 0;
    for (int shuffle = 1; shuffle >= 0; shuffle--) {
        ck_assert_ae_ok(ae_batches_create(&it, ds, 64, shuffle, 7));
        size_t n, seen = 0;
        while (ae_batches_next(it, x, NULL, &n) == AE_OK && n > 0) {
            seen += n;
            if (seen % (64 * 64) == 0) {
                long now = rss_file_kib();
                if (now > peak)
                    peak = now;
            }
        }
        ck_assert_uint_eq(seen, BIG_N);
        ae_batches_free(it);
    }
    /* Spot-check pixels against the bytes written. */
    for (size_t i = 0; i < BIG_N; i += 9973) {
        float y[PIXELS], want[PIXELS];
        ck_assert_ae_ok(ae_dataset_batch(ds, i, 1, y, NULL));
        ae__pixels_to_float(raw + 16 + i * PIXELS, PIXELS, AE_RANGE_UNIT,
                            want);
        ck_assert_int_eq(memcmp(y, want, sizeof y), 0);
    }
    ae_dataset_free(ds);
    unlink(path);
    free(raw);
    if (before < 0)
        return; /* no /proc: nothing more to check */
    long budget_kib = (long)(AE__MAP_RESIDENT_BUDGET >> 10);
    ck_assert_msg(peak - before <= budget_kib + 8192,
                  "mapped pages resident: %ld KiB over %ld KiB before; "
                  "budget %ld KiB", peak - before, before, budget_kib);
}
END_TEST

/* ---- threads ------------------------------------------------------------- */

typedef struct reader {
    const ae_dataset *ds;
    uint64_t seed;
    double sum;
} reader;

/* Read three shuffled epochs (drops happen meanwhile on other threads) and
 * sum every pixel: the sum does not depend on the order. */
static void *read_epochs(void *arg)
{
    reader *r = arg;
    ae_batches *it;
    if (ae_batches_create(&it, r->ds, 32, 1, r->seed) != AE_OK)
        return NULL;
    float *x = malloc(32 * PIXELS * sizeof *x);
    for (int e = 0; e < 3 && x; e++) {
        size_t n;
        while (ae_batches_next(it, x, NULL, &n) == AE_OK && n > 0)
            for (size_t k = 0; k < n * PIXELS; k++)
                r->sum += x[k];
    }
    free(x);
    ae_batches_free(it);
    return NULL;
}

START_TEST(test_map_threads)
{
    const char *im, *lb;
    write_files(&im, &lb);
    ae_dataset *ds, *ref;
    ck_assert_ae_ok(ae_dataset_map_idx(&ds, im, NULL));
    ck_assert_ae_ok(ae_dataset_load_idx(&ref, im, NULL));
    reader want = {ref, 1, 0};
    read_epochs(&want);
    reader r[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        r[i] = (reader){ds, (uint64_t)i + 1, 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, read_epochs, &r[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_double_eq_tol(r[i].sum, want.sum, 1e-6 * want.sum);
    }
    ae_dataset_free(ds);
    ae_dataset_free(ref);
}
END_TEST

static Suite *map_suite(void)
{
    Suite *s = suite_create("map");
    TCase *tc = tcase_create("map");
    tcase_add_test(tc, test_map_matches_load);
    tcase_add_test(tc, test_map_subsets_and_splits);
    tcase_add_test(tc, test_map_labels_optional_and_gzip);
    tcase_add_test(tc, test_map_errors);
    tcase_add_test(tc, test_map_free_any_order);
    tcase_add_test(tc, test_map_resident_bounded);
    tcase_add_test(tc, test_map_threads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(map_suite());
}

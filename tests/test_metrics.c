/* test_metrics.c - MSE, BCE and PSNR accumulation, batching and errors.
 * (SSIM against scikit-image is in test_ssim.c.) */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* BCE of tu_image_pairs(3, 1, 28, 28, 1) and (2, 2, 12, 15, 1), test as
 * prediction; printed by /usr/bin/python3 tests/reference/ssim_reference.py
 * (numpy, logs clamped at -100 like torch.nn.BCELoss). */
#define BCE_A 0.649089808653
#define BCE_B 0.703281502207

static ae_metrics *make(int c, int h, int w, float range)
{
    ae_metrics *mt = NULL;
    ck_assert_ae_ok(ae_metrics_create(&mt, c, h, w, range));
    ck_assert_ptr_nonnull(mt);
    return mt;
}

static double value(const ae_metrics *mt, ae_metric which)
{
    double v = NAN;
    ck_assert_ae_ok(ae_metrics_value(mt, which, &v));
    return v;
}

/* MSE and PSNR by hand on a tiny example: diffs 0.5 and 0 per image. */
START_TEST(test_mse_psnr_by_hand)
{
    ae_metrics *mt = make(1, 1, 2, 1.0f);
    const float ref[4] = {0.0f, 1.0f, 0.25f, 0.75f};
    const float test[4] = {0.5f, 1.0f, 0.25f, 0.5f};
    ck_assert_ae_ok(ae_metrics_update(mt, ref, test, 2));
    ck_assert_uint_eq(ae_metrics_count(mt), 2);
    /* (0.25 + 0 + 0 + 0.0625) / 4 */
    ck_assert_double_eq_tol(value(mt, AE_METRIC_MSE), 0.078125, 1e-15);
    /* image mses 0.125 and 0.03125: mean of 10 log10(1/mse) */
    double want = (10 * log10(1 / 0.125) + 10 * log10(1 / 0.03125)) / 2;
    ck_assert_double_eq_tol(value(mt, AE_METRIC_PSNR), want, 1e-12);
    ae_metrics_free(mt);

    /* data_range 2 adds 20 log10(2) dB to every image */
    mt = make(1, 1, 2, 2.0f);
    ck_assert_ae_ok(ae_metrics_update(mt, ref, test, 2));
    ck_assert_double_eq_tol(value(mt, AE_METRIC_PSNR), want + 20 * log10(2.0),
                            1e-12);
    ae_metrics_free(mt);
}
END_TEST

/* Identical images: MSE 0, PSNR at its documented 100 dB cap (skimage
 * would give inf), SSIM 1; a perfect image mixed with an imperfect one
 * averages the cap in. */
START_TEST(test_identical_images)
{
    float a[3 * 28 * 28], b[28 * 28];
    tu_fill_uniform(a, 3 * 28 * 28, 0.0f, 1.0f, 11);
    for (int win = 0; win < 2; win++) {
        ae_metrics *mt = make(3, 28, 28, 1.0f);
        ck_assert_ae_ok(ae_metrics_set_ssim_window(mt, (ae_ssim_window)win));
        ck_assert_ae_ok(ae_metrics_update(mt, a, a, 1));
        ck_assert_double_eq(value(mt, AE_METRIC_MSE), 0.0);
        ck_assert_double_eq(value(mt, AE_METRIC_PSNR), 100.0);
        ck_assert_double_eq_tol(value(mt, AE_METRIC_SSIM), 1.0, 1e-12);
        ae_metrics_free(mt);
    }
    /* one identical pair and one with mse 0.01 (diff 0.1 everywhere, in
     * float) -> mean of 100 and ~20 dB */
    ae_metrics *mt = make(1, 28, 28, 1.0f);
    float ref[2 * 28 * 28], test[2 * 28 * 28];
    memcpy(ref, a, sizeof ref);
    memcpy(test, a, sizeof test);
    double sq = 0;
    for (int i = 0; i < 28 * 28; i++) {
        b[i] = a[28 * 28 + i] + 0.1f;
        test[28 * 28 + i] = b[i];
        double e = (double)b[i] - (double)a[28 * 28 + i];
        sq += e * e;
    }
    ck_assert_ae_ok(ae_metrics_update(mt, ref, test, 2));
    double psnr1 = 10 * log10(1.0 / (sq / (28 * 28)));
    ck_assert_double_eq_tol(value(mt, AE_METRIC_PSNR), (100.0 + psnr1) / 2,
                            1e-12);
    ck_assert(fabs(psnr1 - 20.0) < 1e-4);
    ae_metrics_free(mt);
}
END_TEST

/* BCE against numpy, and the -100 clamp of log 0. */
START_TEST(test_bce)
{
    float ref[3 * 28 * 28], test[3 * 28 * 28];
    tu_image_pairs(3, 1, 28, 28, 1, ref, test);
    ae_metrics *mt = make(1, 28, 28, 1.0f);
    ck_assert_ae_ok(ae_metrics_update(mt, ref, test, 3));
    double v = value(mt, AE_METRIC_BCE);
    ck_assert_msg(fabs(v - BCE_A) < 1e-9, "BCE %.12f, numpy %.12f", v, BCE_A);
    ae_metrics_free(mt);

    tu_image_pairs(2, 2, 12, 15, 1, ref, test);
    mt = make(2, 12, 15, 1.0f);
    ck_assert_ae_ok(ae_metrics_update(mt, ref, test, 2));
    v = value(mt, AE_METRIC_BCE);
    ck_assert_msg(fabs(v - BCE_B) < 1e-9, "BCE %.12f, numpy %.12f", v, BCE_B);
    ae_metrics_free(mt);

    /* prediction 0 for target 1 and prediction 1 for target 0: each term
     * -log 0 clamped to 100; a perfect 0/1 prediction costs 0 */
    mt = make(1, 1, 4, 1.0f);
    const float t[4] = {1.0f, 0.0f, 0.0f, 1.0f};
    const float y[4] = {0.0f, 1.0f, 0.0f, 1.0f};
    ck_assert_ae_ok(ae_metrics_update(mt, t, y, 1));
    ck_assert_double_eq_tol(value(mt, AE_METRIC_BCE), 50.0, 1e-12);
    ae_metrics_free(mt);

    /* p = 0.25 for target 0.5: -(0.5 log 0.25 + 0.5 log 0.75) */
    mt = make(1, 1, 1, 1.0f);
    const float half = 0.5f, quarter = 0.25f;
    ck_assert_ae_ok(ae_metrics_update(mt, &half, &quarter, 1));
    ck_assert_double_eq_tol(value(mt, AE_METRIC_BCE),
                            -(0.5 * log(0.25) + 0.5 * log(0.75)), 1e-15);
    ae_metrics_free(mt);

    /* predictions outside [0, 1] (e.g. [-1, 1] data): BCE is refused, the
     * other metrics still work */
    mt = make(1, 1, 2, 2.0f);
    const float r2[2] = {-1.0f, 0.5f}, y2[2] = {-0.5f, 0.5f};
    ck_assert_ae_ok(ae_metrics_update(mt, r2, y2, 1));
    ck_assert_ae_status(ae_metrics_value(mt, AE_METRIC_BCE, &v),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_double_eq_tol(value(mt, AE_METRIC_MSE), 0.125, 1e-15);
    ae_metrics_reset(mt);
    ck_assert_ae_ok(ae_metrics_update(mt, r2 + 1, y2 + 1, 0));
    const float r3[2] = {0.0f, 0.5f};
    ck_assert_ae_ok(ae_metrics_update(mt, r3, r3, 1));
    ck_assert_ae_ok(ae_metrics_value(mt, AE_METRIC_BCE, &v));
    ae_metrics_free(mt);
}
END_TEST

/* Any split into batches gives the values of one update on everything. */
START_TEST(test_batches_equal_concatenation)
{
    enum { N = 37, C = 2, H = 14, W = 13 };
    size_t size = (size_t)C * H * W;
    float *ref = malloc(N * size * sizeof(float));
    float *test = malloc(N * size * sizeof(float));
    ck_assert_ptr_nonnull(ref);
    ck_assert_ptr_nonnull(test);
    tu_fill_uniform(ref, N * size, 0.0f, 1.0f, 21);
    tu_fill_uniform(test, N * size, 0.0f, 1.0f, 22);
    for (size_t i = 0; i < N * size; i++)
        test[i] = 0.8f * ref[i] + 0.2f * test[i];

    for (int win = 0; win < 2; win++) {
        ae_metrics *whole = make(C, H, W, 1.0f), *parts = make(C, H, W, 1.0f);
        ck_assert_ae_ok(ae_metrics_set_ssim_window(whole, (ae_ssim_window)win));
        ck_assert_ae_ok(ae_metrics_set_ssim_window(parts, (ae_ssim_window)win));
        ck_assert_ae_ok(ae_metrics_update(whole, ref, test, N));
        const size_t cuts[] = {0, 1, 5, 5, 17, 36, N};
        for (size_t k = 0; k + 1 < sizeof cuts / sizeof cuts[0]; k++)
            ck_assert_ae_ok(ae_metrics_update(parts, ref + cuts[k] * size,
                                              test + cuts[k] * size,
                                              cuts[k + 1] - cuts[k]));
        ck_assert_uint_eq(ae_metrics_count(parts), N);
        for (int m = AE_METRIC_MSE; m <= AE_METRIC_SSIM; m++) {
            double a = value(whole, (ae_metric)m), b = value(parts, (ae_metric)m);
            ck_assert_msg(fabs(a - b) <= 1e-12 * fabs(a), "metric %d: %.17g vs %.17g",
                          m, a, b);
        }
        /* reset forgets everything */
        ae_metrics_reset(parts);
        ck_assert_uint_eq(ae_metrics_count(parts), 0);
        double v;
        ck_assert_ae_status(ae_metrics_value(parts, AE_METRIC_MSE, &v),
                            AE_ERR_INVALID_ARGUMENT);
        ck_assert_ae_ok(ae_metrics_update(parts, ref, test, N));
        ck_assert_double_eq(value(parts, AE_METRIC_SSIM), value(whole, AE_METRIC_SSIM));
        ae_metrics_free(whole);
        ae_metrics_free(parts);
    }
    free(ref);
    free(test);
}
END_TEST

/* A NaN or infinity anywhere in a batch: AE_ERR_NOT_FINITE and nothing
 * accumulated. */
START_TEST(test_not_finite_leaves_state)
{
    float ref[4 * 64], test[4 * 64];
    tu_fill_uniform(ref, 4 * 64, 0.0f, 1.0f, 31);
    tu_fill_uniform(test, 4 * 64, 0.0f, 1.0f, 32);
    ae_metrics *mt = make(1, 8, 8, 1.0f);
    ck_assert_ae_ok(ae_metrics_update(mt, ref, test, 2));
    double before[4];
    for (int m = 0; m < 4; m++)
        before[m] = value(mt, (ae_metric)m);

    test[3 * 64 + 5] = NAN;
    ck_assert_ae_status(ae_metrics_update(mt, ref + 128, test + 128, 2),
                        AE_ERR_NOT_FINITE);
    test[3 * 64 + 5] = 0.5f;
    ref[2 * 64] = INFINITY;
    ck_assert_ae_status(ae_metrics_update(mt, ref + 128, test + 128, 2),
                        AE_ERR_NOT_FINITE);
    ck_assert_uint_eq(ae_metrics_count(mt), 2);
    for (int m = 0; m < 4; m++)
        ck_assert_double_eq(value(mt, (ae_metric)m), before[m]);
    ae_metrics_free(mt);
}
END_TEST

START_TEST(test_errors)
{
    ae_metrics *mt = (ae_metrics *)&mt; /* must be reset to NULL on failure */
    ck_assert_ae_status(ae_metrics_create(NULL, 1, 28, 28, 1.0f), AE_ERR_NULL);
    ck_assert_ae_status(ae_metrics_create(&mt, 0, 28, 28, 1.0f),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(mt);
    ck_assert_ae_status(ae_metrics_create(&mt, 1, -1, 28, 1.0f),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_metrics_create(&mt, 1, 28, 28, 0.0f),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_metrics_create(&mt, 1, 28, 28, -1.0f),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_metrics_create(&mt, 1, 28, 28, NAN),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_metrics_create(&mt, 1, 28, 28, INFINITY),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(mt);

    mt = make(1, 28, 28, 1.0f);
    float x[28 * 28] = {0};
    double v = 42.0;
    /* no images yet */
    ck_assert_ae_status(ae_metrics_value(mt, AE_METRIC_MSE, &v),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_double_eq(v, 42.0);
    ck_assert_ae_status(ae_metrics_update(NULL, x, x, 1), AE_ERR_NULL);
    ck_assert_ae_status(ae_metrics_update(mt, NULL, x, 1), AE_ERR_NULL);
    ck_assert_ae_status(ae_metrics_update(mt, x, NULL, 1), AE_ERR_NULL);
    ck_assert_ae_ok(ae_metrics_update(mt, x, x, 0));
    ck_assert_uint_eq(ae_metrics_count(mt), 0);
    ck_assert_ae_status(ae_metrics_update(mt, x, x, SIZE_MAX / 100),
                        AE_ERR_LIMIT);
    ck_assert_ae_ok(ae_metrics_update(mt, x, x, 1));
    ck_assert_ae_status(ae_metrics_value(NULL, AE_METRIC_MSE, &v), AE_ERR_NULL);
    ck_assert_ae_status(ae_metrics_value(mt, AE_METRIC_MSE, NULL), AE_ERR_NULL);
    ck_assert_ae_status(ae_metrics_value(mt, (ae_metric)4, &v),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_metrics_value(mt, (ae_metric)-1, &v),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_metrics_set_ssim_window(NULL, AE_SSIM_UNIFORM7),
                        AE_ERR_NULL);
    /* setting the window already in use is always fine */
    ck_assert_ae_ok(ae_metrics_set_ssim_window(mt, AE_SSIM_UNIFORM7));
    ck_assert_uint_eq(ae_metrics_count(NULL), 0);
    ae_metrics_reset(NULL);
    ae_metrics_free(NULL);
    ae_metrics_free(mt);
}
END_TEST

static Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_mse_psnr_by_hand);
    tcase_add_test(tc, test_identical_images);
    tcase_add_test(tc, test_bce);
    tcase_add_test(tc, test_batches_equal_concatenation);
    tcase_add_test(tc, test_not_finite_leaves_state);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(metrics_suite());
}

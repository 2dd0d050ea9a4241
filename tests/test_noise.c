/* test_noise.c - input corruption: statistics, clipping, determinism. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "data/noise.h"
#include "testutil.h"

enum { N = 200000 };

static float *filled(size_t n, float v)
{
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = v;
    return x;
}

START_TEST(gaussian_statistics)
{
    float *in = filled(N, 0.5f), *out = malloc(N * sizeof *out);
    ck_assert_ae_ok(ae_corrupt(AE_NOISE_GAUSSIAN, 0.1f, -100.0f, 100.0f, 1,
                               in, out, N));
    double sum = 0, sq = 0;
    for (size_t i = 0; i < N; i++) {
        sum += out[i];
        sq += (out[i] - 0.5) * (out[i] - 0.5);
    }
    double mean = sum / N, sd = sqrt(sq / N);
    /* Standard errors: 0.1 / sqrt(N) = 2.2e-4 for the mean, about 1.6e-4
     * for the deviation; 5 sigma. */
    ck_assert_double_eq_tol(mean, 0.5, 1.2e-3);
    ck_assert_double_eq_tol(sd, 0.1, 1e-3);
    ck_assert_float_eq(in[0], 0.5f); /* input untouched */
    free(in);
    free(out);
}
END_TEST

START_TEST(gaussian_clipping)
{
    float *in = filled(N, 0.5f), *out = malloc(N * sizeof *out);
    ck_assert_ae_ok(ae_corrupt(AE_NOISE_GAUSSIAN, 1.0f, 0.0f, 1.0f, 2, in,
                               out, N));
    size_t low = 0, high = 0;
    for (size_t i = 0; i < N; i++) {
        ck_assert(out[i] >= 0.0f && out[i] <= 1.0f);
        low += out[i] == 0.0f;
        high += out[i] == 1.0f;
    }
    /* P(0.5 + Z < 0) = P(Z < -0.5) = 0.3085. */
    ck_assert_double_eq_tol((double)low / N, 0.3085, 0.005);
    ck_assert_double_eq_tol((double)high / N, 0.3085, 0.005);
    /* Level 0 only clips. */
    float v[3] = {-2.0f, 0.25f, 3.0f}, w[3];
    ck_assert_ae_ok(ae_corrupt(AE_NOISE_GAUSSIAN, 0.0f, -1.0f, 1.0f, 2, v, w,
                               3));
    ck_assert_float_eq(w[0], -1.0f);
    ck_assert_float_eq(w[1], 0.25f);
    ck_assert_float_eq(w[2], 1.0f);
    free(in);
    free(out);
}
END_TEST

START_TEST(salt_pepper_fractions)
{
    float *in = filled(N, 0.5f), *out = malloc(N * sizeof *out);
    ck_assert_ae_ok(ae_corrupt(AE_NOISE_SALT_PEPPER, 0.2f, -1.0f, 1.0f, 3, in,
                               out, N));
    size_t lo = 0, hi = 0, kept = 0;
    for (size_t i = 0; i < N; i++) {
        lo += out[i] == -1.0f;
        hi += out[i] == 1.0f;
        kept += out[i] == 0.5f;
    }
    ck_assert_uint_eq(lo + hi + kept, N);
    ck_assert_double_eq_tol((double)lo / N, 0.1, 0.004);
    ck_assert_double_eq_tol((double)hi / N, 0.1, 0.004);
    /* Level 1: every value replaced, half each way. */
    ck_assert_ae_ok(ae_corrupt(AE_NOISE_SALT_PEPPER, 1.0f, 0.0f, 1.0f, 3, in,
                               out, N));
    lo = 0;
    for (size_t i = 0; i < N; i++) {
        ck_assert(out[i] == 0.0f || out[i] == 1.0f);
        lo += out[i] == 0.0f;
    }
    ck_assert_double_eq_tol((double)lo / N, 0.5, 0.005);
    /* Level 0: nothing changes (and nothing is clipped). */
    in[0] = 7.0f;
    ck_assert_ae_ok(ae_corrupt(AE_NOISE_SALT_PEPPER, 0.0f, 0.0f, 1.0f, 3, in,
                               out, N));
    ck_assert_mem_eq(in, out, N * sizeof *in);
    free(in);
    free(out);
}
END_TEST

START_TEST(none_copies)
{
    float in[5] = {-3, 0, 0.5f, 1, 9}, out[5];
    ck_assert_ae_ok(ae_corrupt(AE_NOISE_NONE, 0.0f, 0.0f, 1.0f, 0, in, out,
                               5));
    ck_assert_mem_eq(in, out, sizeof in);
    ck_assert_ae_ok(ae_corrupt(AE_NOISE_NONE, 0.0f, 0.0f, 1.0f, 0, in, in, 5));
    ck_assert_mem_eq(in, out, sizeof in);
}
END_TEST

START_TEST(deterministic)
{
    const size_t n = 1000;
    float *in = malloc(n * sizeof *in), *a = malloc(n * sizeof *a),
          *b = malloc(n * sizeof *b);
    tu_fill_uniform(in, n, 0.0f, 1.0f, 9);
    const ae_noise kinds[2] = {AE_NOISE_GAUSSIAN, AE_NOISE_SALT_PEPPER};
    for (int k = 0; k < 2; k++) {
        ck_assert_ae_ok(ae_corrupt(kinds[k], 0.3f, 0.0f, 1.0f, 77, in, a, n));
        ck_assert_ae_ok(ae_corrupt(kinds[k], 0.3f, 0.0f, 1.0f, 77, in, b, n));
        ck_assert_mem_eq(a, b, n * sizeof *a);
        ck_assert_ae_ok(ae_corrupt(kinds[k], 0.3f, 0.0f, 1.0f, 78, in, b, n));
        ck_assert(memcmp(a, b, n * sizeof *a) != 0);
        /* In place gives the same values. */
        memcpy(b, in, n * sizeof *b);
        ck_assert_ae_ok(ae_corrupt(kinds[k], 0.3f, 0.0f, 1.0f, 77, b, b, n));
        ck_assert_mem_eq(a, b, n * sizeof *a);
    }
    free(in);
    free(a);
    free(b);
}
END_TEST

START_TEST(caller_rng)
{
    /* The trainer's entry point: reproducible from the generator's state,
     * and a generator moves on between calls. */
    float in[64], a[64], b[64];
    tu_fill_uniform(in, 64, 0.0f, 1.0f, 4);
    ae__rng r1, r2;
    ae__rng_seed(&r1, 5, 1);
    ae__rng_seed(&r2, 5, 1);
    ae__corrupt_rng(AE_NOISE_GAUSSIAN, 0.2f, 0.0f, 1.0f, &r1, in, a, 64);
    ae__corrupt_rng(AE_NOISE_GAUSSIAN, 0.2f, 0.0f, 1.0f, &r2, in, b, 64);
    ck_assert_mem_eq(a, b, sizeof a);
    ae__corrupt_rng(AE_NOISE_GAUSSIAN, 0.2f, 0.0f, 1.0f, &r1, in, b, 64);
    ck_assert(memcmp(a, b, sizeof a) != 0);
    ck_assert_ae_ok(ae__noise_check("t", AE_NOISE_GAUSSIAN, 0.2f, 0, 1));
    ck_assert_ae_status(ae__noise_check("caller", AE_NOISE_GAUSSIAN, -1, 0,
                                        1),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "caller"));
}
END_TEST

START_TEST(errors)
{
    float in[4] = {0.1f, 0.2f, 0.3f, 0.4f}, out[4] = {9, 9, 9, 9};
    ck_assert_ae_status(ae_corrupt(AE_NOISE_GAUSSIAN, 0.1f, 0, 1, 0, NULL,
                                   out, 4),
                        AE_ERR_NULL);
    ck_assert_ae_status(ae_corrupt(AE_NOISE_GAUSSIAN, 0.1f, 0, 1, 0, in,
                                   NULL, 4),
                        AE_ERR_NULL);
    const struct {
        ae_noise kind;
        float level, lo, hi;
    } bad[] = {
        {AE_NOISE_GAUSSIAN, -0.1f, 0, 1},
        {AE_NOISE_GAUSSIAN, NAN, 0, 1},
        {AE_NOISE_GAUSSIAN, INFINITY, 0, 1},
        {AE_NOISE_SALT_PEPPER, 1.5f, 0, 1},
        {AE_NOISE_SALT_PEPPER, -0.5f, 0, 1},
        {AE_NOISE_GAUSSIAN, 0.1f, 1, 1},
        {AE_NOISE_GAUSSIAN, 0.1f, 1, 0},
        {AE_NOISE_GAUSSIAN, 0.1f, NAN, 1},
        {AE_NOISE_NONE, 0.1f, 0, NAN},
        {(ae_noise)7, 0.1f, 0, 1},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        ck_assert_ae_status(ae_corrupt(bad[k].kind, bad[k].level, bad[k].lo,
                                       bad[k].hi, 0, in, out, 4),
                            AE_ERR_INVALID_ARGUMENT);
        for (int i = 0; i < 4; i++)
            ck_assert_float_eq(out[i], 9.0f); /* nothing written */
    }
    /* n == 0 is fine; a salt-and-pepper level of exactly 1 too. */
    ck_assert_ae_ok(ae_corrupt(AE_NOISE_GAUSSIAN, 0.1f, 0, 1, 0, in, out, 0));
    ck_assert_float_eq(out[0], 9.0f);
    ck_assert_ae_ok(ae_corrupt(AE_NOISE_SALT_PEPPER, 1.0f, 0, 1, 0, in, out,
                               4));
}
END_TEST

static Suite *noise_suite(void)
{
    Suite *s = suite_create("noise");
    TCase *tc = tcase_create("noise");
    tcase_add_test(tc, gaussian_statistics);
    tcase_add_test(tc, gaussian_clipping);
    tcase_add_test(tc, salt_pepper_fractions);
    tcase_add_test(tc, none_copies);
    tcase_add_test(tc, deterministic);
    tcase_add_test(tc, caller_rng);
    tcase_add_test(tc, errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(noise_suite());
}

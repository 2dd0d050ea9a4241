/* test_products.c - the matrix products the layers share
 * (lib/common/small_gemm.c, lib/common/long_dots.c) against sums in
 * double, on the convolutions' shapes and on edges: both of long_dots'
 * orientations, partial tiles, sums whose length is no multiple of the
 * lanes, beta 0 over a NaN-filled output and beta 1 on top of one; and a
 * product's bits the same from call to call. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/long_dots.h"
#include "common/small_gemm.h"
#include "testutil.h"

/* Each value of got against the sum in double, to a few float roundings
 * of the terms' magnitudes. */
static void assert_near(const float *got, const double *want,
                        const double *scale, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabs(got[i] - want[i]) <= 1e-5 * scale[i] + 1e-30,
                      "%s: value %zu is %.9g, want %.9g", what, i,
                      (double)got[i], want[i]);
}

typedef struct dots_case {
    int m, n, k;
} dots_case;

static const dots_case dots_cases[] = {
    {32, 9, 784}, /* the columns path at 28 x 28 */
    {9, 32, 784}, /* the taps path (rows of B outermost) */
    {3, 9, 196},  /* a tail of 4 */
    {9, 3, 210},  /* a tail of 2 */
    {20, 13, 7},  /* shorter than the lanes; partial tiles */
    {1, 1, 1},
};

START_TEST(long_dots_match_double_sums)
{
    const dots_case *dc = &dots_cases[_i];
    const int m = dc->m, n = dc->n, k = dc->k;
    const size_t lda = (size_t)k + 3, ldb = (size_t)k + 5, ldc = (size_t)n + 2;
    float *a = malloc((size_t)m * lda * sizeof *a);
    float *b = malloc((size_t)n * ldb * sizeof *b);
    float *c = malloc((size_t)m * ldc * sizeof *c);
    float *again = malloc((size_t)m * ldc * sizeof *again);
    double *want = malloc((size_t)m * n * sizeof *want);
    double *scale = malloc((size_t)m * n * sizeof *scale);
    float *got = malloc((size_t)m * n * sizeof *got);
    ck_assert(a && b && c && again && want && scale && got);
    tu_fill_uniform(a, (size_t)m * lda, -1.0f, 1.0f, 3 + (uint32_t)_i);
    tu_fill_uniform(b, (size_t)n * ldb, -1.0f, 1.0f, 5 + (uint32_t)_i);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = 0.0, mag = 0.0;
            for (int p = 0; p < k; p++) {
                s += (double)a[i * lda + p] * b[j * ldb + p];
                mag += fabs((double)a[i * lda + p] * b[j * ldb + p]);
            }
            want[i * n + j] = s;
            scale[i * n + j] = mag + 1.0;
        }
    for (int beta = 0; beta <= 1; beta++) {
        /* beta 0 ignores what is there, NaN included; beta 1 adds to 1. */
        for (size_t i = 0; i < (size_t)m * ldc; i++)
            c[i] = beta ? 1.0f : NAN;
        ae__long_dots(m, n, k, a, lda, b, ldb, (float)beta, c, ldc);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                got[i * n + j] = c[i * ldc + j] - (float)beta;
        assert_near(got, want, scale, (size_t)m * n,
                    beta ? "long_dots, beta 1" : "long_dots, beta 0");
        for (int i = 0; i < m; i++) /* the padding is left alone */
            for (size_t j = (size_t)n; j < ldc; j++)
                ck_assert(beta ? c[i * ldc + j] == 1.0f
                               : isnan(c[i * ldc + j]));
    }
    /* The same bits on every call. */
    memcpy(again, c, (size_t)m * ldc * sizeof *c);
    for (size_t i = 0; i < (size_t)m * ldc; i++)
        c[i] = 1.0f;
    ae__long_dots(m, n, k, a, lda, b, ldb, 1.0f, c, ldc);
    ck_assert(memcmp(again, c, (size_t)m * ldc * sizeof *c) == 0);
    free(a);
    free(b);
    free(c);
    free(again);
    free(want);
    free(scale);
    free(got);
}
END_TEST

typedef struct gemm_case {
    int trans_a, m, n, k;
} gemm_case;

static const gemm_case gemm_cases[] = {
    {0, 32, 784, 9},   /* the columns path's forward product */
    {0, 9, 784, 32},   /* the taps path's forward product */
    {1, 32, 784, 9},   /* the taps path's input gradient */
    {0, 144, 64, 32},  /* a Winograd chunk's forward product */
    {1, 64, 32, 144},  /* a weight gradient cut into pieces */
    {1, 64, 64, 290},  /* three pieces, the last shorter */
};

START_TEST(small_gemm_matches_double_sums)
{
    const gemm_case *gc = &gemm_cases[_i];
    const int m = gc->m, n = gc->n, k = gc->k;
    /* op(A) is m x k: A is k x m when transposed. */
    const int a_rows = gc->trans_a ? k : m, a_cols = gc->trans_a ? m : k;
    const int lda = a_cols + 1, ldb = n + 3, ldc = n + 2;
    float *a = malloc((size_t)a_rows * lda * sizeof *a);
    float *b = malloc((size_t)k * ldb * sizeof *b);
    float *c = malloc((size_t)m * ldc * sizeof *c);
    double *want = malloc((size_t)m * n * sizeof *want);
    double *scale = malloc((size_t)m * n * sizeof *scale);
    float *got = malloc((size_t)m * n * sizeof *got);
    ck_assert(a && b && c && want && scale && got);
    tu_fill_uniform(a, (size_t)a_rows * lda, -1.0f, 1.0f, 7 + (uint32_t)_i);
    tu_fill_uniform(b, (size_t)k * ldb, -1.0f, 1.0f, 11 + (uint32_t)_i);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = 0.0, mag = 0.0;
            for (int p = 0; p < k; p++) {
                const double av = gc->trans_a ? a[(size_t)p * lda + i]
                                              : a[(size_t)i * lda + p];
                s += av * b[(size_t)p * ldb + j];
                mag += fabs(av * b[(size_t)p * ldb + j]);
            }
            want[i * n + j] = s;
            scale[i * n + j] = mag + 1.0;
        }
    for (size_t i = 0; i < (size_t)m * ldc; i++)
        c[i] = NAN; /* beta 0: what is there is ignored */
    ae__small_gemm g;
    ae__small_gemm_plan(&g, gc->trans_a, m, n, k, lda, ldb, ldc);
    ae__small_gemm_run(&g, a, b, c);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
            got[i * n + j] = c[(size_t)i * ldc + j];
    assert_near(got, want, scale, (size_t)m * n, "small_gemm");
    free(a);
    free(b);
    free(c);
    free(want);
    free(scale);
    free(got);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("products");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, long_dots_match_double_sums, 0,
                        sizeof dots_cases / sizeof dots_cases[0]);
    tcase_add_loop_test(tc, small_gemm_matches_double_sums, 0,
                        sizeof gemm_cases / sizeof gemm_cases[0]);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}

/* test_products.c - the matrix products the layers share
 * (lib/common/small_gemm.c, lib/common/long_dots.c) against sums in
 * double, on the convolutions' shapes and on edges: both of long_dots'
 * orientations, partial tiles, sums whose length is no multiple of the
 * lanes, beta 0 over a NaN-filled output and beta 1 on top of one; and a
 * product's bits the same from call to call. */
#include <math.h>
#include <stdint.h>
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

/* want[i n + j] = sum over p < k of A(i, p) B(j, p) in double, A(i, p) at
 * a[i ai + p ap] and B(j, p) at b[j bj + p bp]; scale the sum of the
 * terms' magnitudes, plus 1. */
static void reference(int m, int n, int k, const float *a, size_t ai,
                      size_t ap, const float *b, size_t bj, size_t bp,
                      double *want, double *scale)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = 0.0, mag = 0.0;
            for (int p = 0; p < k; p++) {
                const double t = (double)a[i * ai + p * ap] * b[j * bj + p * bp];
                s += t;
                mag += fabs(t);
            }
            want[i * n + j] = s;
            scale[i * n + j] = mag + 1.0;
        }
}

/* A test's arrays: the operands (uniform in [-1, 1]), the output, the
 * reference and its scale, and the output gathered without padding. */
typedef struct arrays {
    float *a, *b, *c, *got;
    double *want, *scale;
} arrays;

static arrays arrays_new(size_t na, size_t nb, size_t nc, size_t out,
                         uint32_t seed)
{
    arrays r = {malloc(na * sizeof(float)), malloc(nb * sizeof(float)),
                malloc(nc * sizeof(float)), malloc(out * sizeof(float)),
                malloc(out * sizeof(double)), malloc(out * sizeof(double))};
    ck_assert(r.a && r.b && r.c && r.got && r.want && r.scale);
    tu_fill_uniform(r.a, na, -1.0f, 1.0f, seed);
    tu_fill_uniform(r.b, nb, -1.0f, 1.0f, seed + 1);
    return r;
}

static void arrays_free(arrays *r)
{
    free(r->a);
    free(r->b);
    free(r->c);
    free(r->got);
    free(r->want);
    free(r->scale);
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
    arrays r = arrays_new((size_t)m * lda, (size_t)n * ldb, (size_t)m * ldc,
                          (size_t)m * n, 3 + 2 * (uint32_t)_i);
    float *a = r.a, *b = r.b, *c = r.c, *got = r.got;
    double *want = r.want, *scale = r.scale;
    float *again = malloc((size_t)m * ldc * sizeof *again);
    ck_assert(again);
    reference(m, n, k, a, lda, 1, b, ldb, 1, want, scale);
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
    free(again);
    arrays_free(&r);
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
    arrays r = arrays_new((size_t)a_rows * lda, (size_t)k * ldb,
                          (size_t)m * ldc, (size_t)m * n, 7 + 2 * (uint32_t)_i);
    float *a = r.a, *b = r.b, *c = r.c, *got = r.got;
    double *want = r.want, *scale = r.scale;
    reference(m, n, k, a, gc->trans_a ? 1 : (size_t)lda,
              gc->trans_a ? (size_t)lda : 1, b, 1, (size_t)ldb, want, scale);
    for (size_t i = 0; i < (size_t)m * ldc; i++)
        c[i] = NAN; /* beta 0: what is there is ignored */
    ae__small_gemm g;
    ae__small_gemm_plan(&g, gc->trans_a, m, n, k, lda, ldb, ldc);
    ae__small_gemm_run(&g, a, b, c);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
            got[i * n + j] = c[(size_t)i * ldc + j];
    assert_near(got, want, scale, (size_t)m * n, "small_gemm");
    arrays_free(&r);
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

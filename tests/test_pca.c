/* test_pca.c - PCA against constructed decompositions and, on the real
 * MNIST test set, against a direct LAPACKE SVD of the whole centred data. */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* ---- a matrix with a known decomposition -------------------------------- */

/* Orthonormalise the columns of a (rows x cols, row-major) in place by
 * modified Gram-Schmidt, applied twice for full double accuracy. */
static void orthonormalise(double *a, int rows, int cols)
{
    for (int pass = 0; pass < 2; pass++)
        for (int j = 0; j < cols; j++) {
            for (int i = 0; i < j; i++) {
                double dot = 0;
                for (int r = 0; r < rows; r++)
                    dot += a[r * cols + i] * a[r * cols + j];
                for (int r = 0; r < rows; r++)
                    a[r * cols + j] -= dot * a[r * cols + i];
            }
            double norm = 0;
            for (int r = 0; r < rows; r++)
                norm += a[r * cols + j] * a[r * cols + j];
            norm = sqrt(norm);
            for (int r = 0; r < rows; r++)
                a[r * cols + j] /= norm;
        }
}

enum { KN = 60, KD = 10, KR = 4 };
static const double ks[KR] = {8.0, 5.0, 3.0, 1.5};

/* X = U diag(s) V^T + mean, with U (n x r) orthonormal and orthogonal to
 * the ones vector (so the columns of U diag(s) V^T have mean 0 and the
 * data's mean is `mean`), V (d x r) orthonormal.  Then the covariance is
 * V diag(s^2 / (n-1)) V^T. */
typedef struct known {
    float x[KN * KD];
    double u[KN * KR], v[KD * KR], mean[KD];
} known;

static void make_known(known *k)
{
    double ua[KN * (KR + 1)];
    float tmp[KN * (KR + 1)];
    tu_fill_uniform(tmp, KN * (KR + 1), -1.0f, 1.0f, 101);
    for (int i = 0; i < KN * (KR + 1); i++)
        ua[i] = tmp[i];
    for (int r = 0; r < KN; r++)
        ua[r * (KR + 1)] = 1.0; /* first column: ones, dropped after */
    orthonormalise(ua, KN, KR + 1);
    for (int r = 0; r < KN; r++)
        for (int j = 0; j < KR; j++)
            k->u[r * KR + j] = ua[r * (KR + 1) + j + 1];
    tu_fill_uniform(tmp, KD * KR, -1.0f, 1.0f, 102);
    for (int i = 0; i < KD * KR; i++)
        k->v[i] = tmp[i];
    orthonormalise(k->v, KD, KR);
    tu_fill_uniform(tmp, KD, 0.0f, 1.0f, 103);
    for (int j = 0; j < KD; j++)
        k->mean[j] = tmp[j];
    for (int r = 0; r < KN; r++)
        for (int c = 0; c < KD; c++) {
            double s = k->mean[c];
            for (int j = 0; j < KR; j++)
                s += k->u[r * KR + j] * ks[j] * k->v[c * KR + j];
            k->x[r * KD + c] = (float)s;
        }
}

static ae_pca *make_pca(int k)
{
    ae_pca *p = NULL;
    ck_assert_ae_ok(ae_pca_create(&p, k));
    ck_assert_ptr_nonnull(p);
    return p;
}

START_TEST(test_known_decomposition)
{
    static known k;
    make_known(&k);
    ae_pca *p = make_pca(KR);
    ck_assert_uint_eq(ae_pca_dim(p), 0);
    ck_assert_int_eq(ae_pca_components(p), KR);
    ck_assert_ae_ok(ae_pca_fit(p, k.x, KN, KD));
    ck_assert_uint_eq(ae_pca_dim(p), KD);

    float comp[KR * KD], mean[KD];
    double var[KR], ratio[KR];
    ck_assert_ae_ok(ae_pca_get_components(p, comp, KR * KD));
    ck_assert_ae_ok(ae_pca_get_mean(p, mean, KD));
    ck_assert_ae_ok(ae_pca_explained_variance(p, var, KR));
    ck_assert_ae_ok(ae_pca_explained_variance_ratio(p, ratio, KR));

    for (int j = 0; j < KD; j++)
        ck_assert_double_eq_tol(mean[j], k.mean[j], 1e-6);
    double ratio_sum = 0;
    for (int i = 0; i < KR; i++) {
        /* component i = +-v_i, unit length, largest entry positive */
        double dot = 0, norm = 0, big = 0;
        for (int c = 0; c < KD; c++) {
            dot += comp[i * KD + c] * k.v[c * KR + i];
            norm += (double)comp[i * KD + c] * comp[i * KD + c];
            if (fabs(comp[i * KD + c]) > fabs(big))
                big = comp[i * KD + c];
        }
        ck_assert_msg(fabs(fabs(dot) - 1.0) < 1e-6, "component %d: |<c, v>| = %.9f",
                      i, fabs(dot));
        ck_assert_double_eq_tol(norm, 1.0, 1e-6);
        ck_assert_msg(big > 0, "component %d: largest entry %g is negative", i, big);
        double want = ks[i] * ks[i] / (KN - 1);
        ck_assert_msg(fabs(var[i] - want) < 1e-5 * want,
                      "variance %d: %.9g, want %.9g", i, var[i], want);
        ratio_sum += ratio[i];
    }
    /* rank KR: the KR components carry all the variance */
    ck_assert_msg(fabs(ratio_sum - 1.0) < 1e-6, "ratio sum %.12f", ratio_sum);

    /* codes = +-U diag(s); the round trip is exact up to float rounding */
    float codes[KN * KR], back[KN * KD];
    ck_assert_ae_ok(ae_pca_transform(p, k.x, KN, codes));
    for (int r = 0; r < KN; r++)
        for (int i = 0; i < KR; i++)
            ck_assert_msg(fabs(fabs(codes[r * KR + i]) - fabs(k.u[r * KR + i] * ks[i])) < 1e-5,
                          "code %d,%d: %g vs +-%g", r, i, codes[r * KR + i],
                          k.u[r * KR + i] * ks[i]);
    ck_assert_ae_ok(ae_pca_inverse_transform(p, codes, KN, back));
    for (int i = 0; i < KN * KD; i++)
        ck_assert_msg(fabs(back[i] - k.x[i]) < 2e-6, "x[%d]: %.9g vs %.9g", i,
                      back[i], k.x[i]);
    /* inverse_transform may write over its codes' source row by row: not
     * promised, so only check n = 0 is a no-op */
    ck_assert_ae_ok(ae_pca_transform(p, k.x, 0, codes));
    ck_assert_ae_ok(ae_pca_inverse_transform(p, codes, 0, back));
    ae_pca_free(p);
}
END_TEST

/* Explained variance ratio: <= 1 for fewer components, 1 at full rank,
 * each equal to variance / trace. */
START_TEST(test_ratio)
{
    enum { N = 40, D = 7 };
    float x[N * D];
    tu_fill_uniform(x, N * D, 0.0f, 1.0f, 7);
    for (int i = 0; i < N * D; i++) /* unequal variances per column */
        x[i] *= (float)(1 + i % D);
    double full_var[D], full_ratio[D], total = 0, sum = 0;
    ae_pca *p = make_pca(D);
    ck_assert_ae_ok(ae_pca_fit(p, x, N, D));
    ck_assert_ae_ok(ae_pca_explained_variance(p, full_var, D));
    ck_assert_ae_ok(ae_pca_explained_variance_ratio(p, full_ratio, D));
    /* total variance = sum of column variances (n - 1 denominator) */
    for (int c = 0; c < D; c++) {
        double m = 0, v = 0;
        for (int r = 0; r < N; r++)
            m += x[r * D + c];
        m /= N;
        for (int r = 0; r < N; r++)
            v += (x[r * D + c] - m) * (x[r * D + c] - m);
        total += v / (N - 1);
    }
    for (int i = 0; i < D; i++) {
        sum += full_ratio[i];
        ck_assert_double_eq_tol(full_ratio[i], full_var[i] / total, 1e-12);
        if (i > 0)
            ck_assert(full_var[i] <= full_var[i - 1]);
    }
    ck_assert_msg(fabs(sum - 1.0) < 1e-12, "full-rank ratio sum %.15f", sum);
    ae_pca_free(p);

    p = make_pca(3);
    double ratio[3];
    ck_assert_ae_ok(ae_pca_fit(p, x, N, D));
    ck_assert_ae_ok(ae_pca_explained_variance_ratio(p, ratio, 3));
    sum = 0;
    for (int i = 0; i < 3; i++) {
        ck_assert_double_eq_tol(ratio[i], full_ratio[i], 1e-12);
        sum += ratio[i];
    }
    ck_assert(sum < 1.0);
    ae_pca_free(p);
}
END_TEST

/* Full rank k = d: transform then inverse gives x back. */
START_TEST(test_full_rank_round_trip)
{
    enum { N = 30, D = 6 };
    float x[N * D], codes[N * D], back[N * D];
    tu_fill_uniform(x, N * D, -2.0f, 3.0f, 9);
    ae_pca *p = make_pca(D);
    ck_assert_ae_ok(ae_pca_fit(p, x, N, D));
    ck_assert_ae_ok(ae_pca_transform(p, x, N, codes));
    ck_assert_ae_ok(ae_pca_inverse_transform(p, codes, N, back));
    for (int i = 0; i < N * D; i++)
        ck_assert_double_eq_tol(back[i], x[i], 1e-5);
    /* k = n with n < d is allowed too (the last component then spans a
     * zero-variance direction) */
    ae_pca_free(p);
    p = make_pca(3);
    ck_assert_ae_ok(ae_pca_fit(p, x, 3, D));
    ae_pca_free(p);
}
END_TEST

/* fit_dataset reads the dataset batch by batch and gives the fit of its
 * floats. */
START_TEST(test_fit_dataset_matches_fit)
{
    enum { N = 50, H = 5, W = 4, K = 3 };
    size_t size;
    uint8_t *idx = tu_idx_images(N, H, W, NULL, &size);
    for (size_t i = 16; i < size; i++) /* less regular pixels */
        idx[i] = (uint8_t)((idx[i] * 37u + (unsigned)i * (unsigned)i) & 255);
    ae_dataset *ds = NULL;
    ck_assert_ae_ok(ae_dataset_load_idx_memory(&ds, idx, size, NULL, 0));
    free(idx);
    float x[N * H * W];
    ck_assert_ae_ok(ae_dataset_batch(ds, 0, N, x, NULL));
    ae_pca *a = make_pca(K), *b = make_pca(K);
    ck_assert_ae_ok(ae_pca_fit(a, x, N, H * W));
    ck_assert_ae_ok(ae_pca_fit_dataset(b, ds));
    ck_assert_uint_eq(ae_pca_dim(b), H * W);
    float ca[K * H * W], cb[K * H * W];
    ck_assert_ae_ok(ae_pca_get_components(a, ca, K * H * W));
    ck_assert_ae_ok(ae_pca_get_components(b, cb, K * H * W));
    for (int i = 0; i < K * H * W; i++)
        ck_assert_float_eq(ca[i], cb[i]);
    ae_pca_free(a);
    ae_pca_free(b);
    ae_dataset_free(ds);
}
END_TEST

START_TEST(test_errors)
{
    static known k;
    make_known(&k);
    ae_pca *p = (ae_pca *)&p;
    float out[KN * KD] = {0}; /* read as codes below: defined values */
    double dv[KD];
    ck_assert_ae_status(ae_pca_create(NULL, 2), AE_ERR_NULL);
    ck_assert_ae_status(ae_pca_create(&p, 0), AE_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(p);
    ck_assert_ae_status(ae_pca_create(&p, -3), AE_ERR_INVALID_ARGUMENT);

    p = make_pca(2);
    /* not fitted */
    ck_assert_ae_status(ae_pca_transform(p, k.x, 1, out), AE_ERR_BAD_STATE);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "not fitted"));
    ck_assert_ae_status(ae_pca_inverse_transform(p, out, 1, out), AE_ERR_BAD_STATE);
    ck_assert_ae_status(ae_pca_get_components(p, out, 0), AE_ERR_BAD_STATE);
    ck_assert_ae_status(ae_pca_get_mean(p, out, 0), AE_ERR_BAD_STATE);
    ck_assert_ae_status(ae_pca_explained_variance(p, dv, 2), AE_ERR_BAD_STATE);
    ck_assert_ae_status(ae_pca_explained_variance_ratio(p, dv, 2),
                        AE_ERR_BAD_STATE);

    /* bad fits */
    ck_assert_ae_status(ae_pca_fit(NULL, k.x, KN, KD), AE_ERR_NULL);
    ck_assert_ae_status(ae_pca_fit(p, NULL, KN, KD), AE_ERR_NULL);
    ck_assert_ae_status(ae_pca_fit(p, k.x, 1, KD), AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_pca_fit(p, k.x, KN, 0), AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_pca_fit(p, k.x, KN, 1), AE_ERR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(ae_last_error(), "n = 60") &&
                      strstr(ae_last_error(), "d = 1"),
                  "message should name n and d: %s", ae_last_error());
    ck_assert_ae_status(ae_pca_fit(p, k.x, 1, KD), AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_pca_fit_dataset(p, NULL), AE_ERR_NULL);
    /* a d x d covariance beyond 32-bit LAPACK indexing is refused early */
    float *wide = calloc(2 * 46341, sizeof(float));
    ck_assert_ptr_nonnull(wide);
    ck_assert_ae_status(ae_pca_fit(p, wide, 2, 46341), AE_ERR_LIMIT);
    free(wide);
    ck_assert_uint_eq(ae_pca_dim(p), 0);

    /* a good fit, then failing fits leave it intact */
    ck_assert_ae_ok(ae_pca_fit(p, k.x, KN, KD));
    float before[2 * KD], after[2 * KD];
    double var_before[2], var_after[2];
    ck_assert_ae_ok(ae_pca_get_components(p, before, 2 * KD));
    ck_assert_ae_ok(ae_pca_explained_variance(p, var_before, 2));
    float bad[KN * KD];
    memcpy(bad, k.x, sizeof bad);
    bad[KN * KD - 3] = NAN;
    ck_assert_ae_status(ae_pca_fit(p, bad, KN, KD), AE_ERR_NOT_FINITE);
    bad[KN * KD - 3] = -INFINITY;
    ck_assert_ae_status(ae_pca_fit(p, bad, KN, KD), AE_ERR_NOT_FINITE);
    ck_assert_ae_status(ae_pca_fit(p, k.x, 1, 5), AE_ERR_INVALID_ARGUMENT);
    ck_assert_uint_eq(ae_pca_dim(p), KD);
    ck_assert_ae_ok(ae_pca_get_components(p, after, 2 * KD));
    ck_assert_ae_ok(ae_pca_explained_variance(p, var_after, 2));
    ck_assert_mem_eq(before, after, sizeof before);
    ck_assert_mem_eq(var_before, var_after, sizeof var_before);

    /* getters need n equal to the count */
    ck_assert_ae_status(ae_pca_get_components(p, out, 2 * KD - 1), AE_ERR_SHAPE);
    ck_assert_ae_status(ae_pca_get_components(p, out, 2 * KD + 1), AE_ERR_SHAPE);
    ck_assert_ae_status(ae_pca_get_mean(p, out, KD + 1), AE_ERR_SHAPE);
    ck_assert_ae_status(ae_pca_explained_variance(p, dv, 1), AE_ERR_SHAPE);
    ck_assert_ae_status(ae_pca_explained_variance_ratio(p, dv, 3), AE_ERR_SHAPE);
    ck_assert_ae_status(ae_pca_get_mean(NULL, out, KD), AE_ERR_NULL);
    ck_assert_ae_status(ae_pca_get_mean(p, NULL, KD), AE_ERR_NULL);

    /* transform inputs */
    ck_assert_ae_status(ae_pca_transform(p, NULL, 1, out), AE_ERR_NULL);
    ck_assert_ae_status(ae_pca_transform(p, k.x, 1, NULL), AE_ERR_NULL);
    ck_assert_ae_status(ae_pca_transform(p, bad, KN, out), AE_ERR_NOT_FINITE);
    out[1] = NAN;
    ck_assert_ae_status(ae_pca_inverse_transform(p, out, 1, out + 2),
                        AE_ERR_NOT_FINITE);
    ck_assert_ae_status(ae_pca_inverse_transform(NULL, out, 1, out), AE_ERR_NULL);

    /* refit on data of another dimension replaces everything */
    ck_assert_ae_ok(ae_pca_fit(p, k.x, KN * KD / 5, 5));
    ck_assert_uint_eq(ae_pca_dim(p), 5);

    ck_assert_uint_eq(ae_pca_dim(NULL), 0);
    ck_assert_int_eq(ae_pca_components(NULL), 0);
    ae_pca_free(NULL);
    ae_pca_free(p);
}
END_TEST

/* ---- real data ------------------------------------------------------------ */

/* PCA-30 on the 10,000 MNIST test images: the reconstruction MSE of the
 * library (float data, double covariance, SVD of the covariance, float
 * transforms) against an exact decomposition: LAPACKE_dgesdd of the whole
 * centred 10000 x 784 matrix in double, reconstructed from its top 30
 * right singular vectors. */
START_TEST(test_mnist_pca30_matches_direct_svd)
{
    if (!tu_require_mnist())
        return;
    enum { K = 30 };
    ae_dataset *ds = NULL;
    ck_assert_ae_ok(ae_dataset_load_idx(&ds, tu_mnist_path("t10k-images-idx3-ubyte.gz"),
                                        NULL));
    const size_t n = ae_dataset_count(ds), d = ae_dataset_image_size(ds);
    ck_assert_uint_eq(n, 10000);
    ck_assert_uint_eq(d, 784);
    float *x = malloc(n * d * sizeof(float));
    ck_assert_ptr_nonnull(x);
    ck_assert_ae_ok(ae_dataset_batch(ds, 0, n, x, NULL));

    /* the library: fit from the dataset, and from the array (same result) */
    ae_pca *p = make_pca(K), *q = make_pca(K);
    ck_assert_ae_ok(ae_pca_fit_dataset(p, ds));
    ck_assert_ae_ok(ae_pca_fit(q, x, n, d));
    float *cp = malloc(K * d * sizeof(float)), *cq = malloc(K * d * sizeof(float));
    ck_assert_ae_ok(ae_pca_get_components(p, cp, K * d));
    ck_assert_ae_ok(ae_pca_get_components(q, cq, K * d));
    ck_assert_mem_eq(cp, cq, K * d * sizeof(float));
    float *codes = malloc(n * K * sizeof(float));
    float *recon = malloc(n * d * sizeof(float));
    ck_assert_ae_ok(ae_pca_transform(p, x, n, codes));
    ck_assert_ae_ok(ae_pca_inverse_transform(p, codes, n, recon));
    double mse_lib = 0;
    for (size_t i = 0; i < n * d; i++)
        mse_lib += ((double)x[i] - recon[i]) * ((double)x[i] - recon[i]);
    mse_lib /= (double)(n * d);
    double var[K];
    ck_assert_ae_ok(ae_pca_explained_variance(p, var, K));

    /* exact: the row-major n x d matrix is the column-major d x n matrix
     * X^T = V S U^T, so dgesdd's left singular vectors (jobz 'O', m < n:
     * U returned, A overwritten) are X's right singular vectors */
    double *mean = calloc(d, sizeof(double));
    double *xc = malloc(n * d * sizeof(double));
    double *v = malloc(d * d * sizeof(double));
    double *s = malloc(d * sizeof(double));
    ck_assert(mean && xc && v && s);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            mean[j] += x[i * d + j];
    for (size_t j = 0; j < d; j++)
        mean[j] /= (double)n;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            xc[i * d + j] = x[i * d + j] - mean[j];
    lapack_int info = LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'O', (lapack_int)d,
                                     (lapack_int)n, xc, (lapack_int)d, s, v,
                                     (lapack_int)d, NULL, 1);
    ck_assert_int_eq(info, 0);
    /* residual of projecting the centred data on the top K columns of V */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            xc[i * d + j] = x[i * d + j] - mean[j];
    double *z = malloc(n * K * sizeof(double));
    ck_assert_ptr_nonnull(z);
    /* column-major V (d x d): V_K as row-major is K x d with ld... use
     * ColMajor views: Z^T (K x n) = V_K^T (K x d) Xc^T (d x n) */
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, K, (int)n, (int)d, 1.0,
                v, (int)d, xc, (int)d, 0.0, z, K);
    /* Xc^T -= V_K Z^T */
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)n, K,
                -1.0, v, (int)d, z, K, 1.0, xc, (int)d);
    double mse_exact = 0, tail = 0;
    for (size_t i = 0; i < n * d; i++)
        mse_exact += xc[i] * xc[i];
    mse_exact /= (double)(n * d);
    for (size_t i = K; i < d; i++)
        tail += s[i] * s[i];
    tail /= (double)(n * d);

    printf("mnist pca-%d: mse library %.10f, exact %.10f (tail of s^2: %.10f), "
           "|diff| %.3g\n", K, mse_lib, mse_exact, tail, fabs(mse_lib - mse_exact));
    ck_assert_msg(fabs(mse_exact - tail) < 1e-10, "exact %.12f vs tail %.12f",
                  mse_exact, tail);
    ck_assert_msg(fabs(mse_lib - mse_exact) < 1e-5,
                  "PCA-30 MSE: library %.10f, direct SVD %.10f", mse_lib, mse_exact);
    /* explained variance = s^2 / (n - 1) */
    for (int i = 0; i < K; i++) {
        double want = s[i] * s[i] / (double)(n - 1);
        ck_assert_msg(fabs(var[i] - want) < 1e-9 * want,
                      "variance %d: %.12g vs %.12g", i, var[i], want);
    }

    free(z);
    free(mean);
    free(xc);
    free(v);
    free(s);
    free(codes);
    free(recon);
    free(cp);
    free(cq);
    free(x);
    ae_pca_free(p);
    ae_pca_free(q);
    ae_dataset_free(ds);
}
END_TEST

/* The randomized solver against the exact one on the 10,000 MNIST test
 * images, 30 components, default settings: the bound the header states
 * (reconstruction MSE within 1e-5, each explained variance within 1%),
 * components nearly parallel, the same result from the dataset and from
 * the array, and a different seed giving a different but equally good
 * fit. */
static double recon_mse(const ae_pca *p, const float *x, size_t n, size_t d)
{
    size_t k = (size_t)ae_pca_components(p);
    float *codes = malloc(n * k * sizeof(float));
    float *recon = malloc(n * d * sizeof(float));
    ck_assert(codes && recon);
    ck_assert_ae_ok(ae_pca_transform(p, x, n, codes));
    ck_assert_ae_ok(ae_pca_inverse_transform(p, codes, n, recon));
    double mse = 0;
    for (size_t i = 0; i < n * d; i++)
        mse += ((double)x[i] - recon[i]) * ((double)x[i] - recon[i]);
    free(codes);
    free(recon);
    return mse / (double)(n * d);
}

START_TEST(test_mnist_randomized_within_bound)
{
    if (!tu_require_mnist())
        return;
    enum { K = 30 };
    ae_dataset *ds = NULL;
    ck_assert_ae_ok(ae_dataset_load_idx(
        &ds, tu_mnist_path("t10k-images-idx3-ubyte.gz"), NULL));
    const size_t n = ae_dataset_count(ds), d = ae_dataset_image_size(ds);
    float *x = malloc(n * d * sizeof(float));
    ck_assert_ptr_nonnull(x);
    ck_assert_ae_ok(ae_dataset_batch(ds, 0, n, x, NULL));
    ae_pca *exact = make_pca(K), *r = make_pca(K), *rd = make_pca(K),
           *r2 = make_pca(K);
    ck_assert_ae_ok(ae_pca_fit(exact, x, n, d));
    for (int i = 0; i < 3; i++) {
        ae_pca *p = i == 0 ? r : i == 1 ? rd : r2;
        ck_assert_ae_ok(ae_pca_set(p, AE_PCA_SOLVER, AE_PCA_RANDOMIZED));
    }
    ck_assert_ae_ok(ae_pca_set(r2, AE_PCA_SEED, 7));
    ck_assert_ae_ok(ae_pca_fit(r, x, n, d));
    ck_assert_ae_ok(ae_pca_fit_dataset(rd, ds));
    ck_assert_ae_ok(ae_pca_fit(r2, x, n, d));

    double me = recon_mse(exact, x, n, d), mr = recon_mse(r, x, n, d);
    double mr2 = recon_mse(r2, x, n, d);
    printf("mnist pca-%d: exact MSE %.10f, randomized %.10f (seed 7: %.10f), "
           "|diff| %.3g\n", K, me, mr, mr2, fabs(mr - me));
    ck_assert_msg(fabs(mr - me) < 1e-5, "randomized %.10f, exact %.10f", mr,
                  me);
    ck_assert_msg(fabs(mr2 - me) < 1e-5, "seed 7: %.10f, exact %.10f", mr2,
                  me);
    double ve[K], vr[K], ratio[K];
    ck_assert_ae_ok(ae_pca_explained_variance(exact, ve, K));
    ck_assert_ae_ok(ae_pca_explained_variance(r, vr, K));
    ck_assert_ae_ok(ae_pca_explained_variance_ratio(r, ratio, K));
    float *ce = malloc(K * d * sizeof(float)), *cr = malloc(K * d * sizeof(float));
    float *crd = malloc(K * d * sizeof(float)), *cr2 = malloc(K * d * sizeof(float));
    ck_assert(ce && cr && crd && cr2);
    ck_assert_ae_ok(ae_pca_get_components(exact, ce, K * d));
    ck_assert_ae_ok(ae_pca_get_components(r, cr, K * d));
    ck_assert_ae_ok(ae_pca_get_components(rd, crd, K * d));
    ck_assert_ae_ok(ae_pca_get_components(r2, cr2, K * d));
    /* A dataset's mean comes from exact integer sums of its pixels, an
     * array's from double sums of its floats: the two fits differ by
     * that rounding only. */
    for (size_t i = 0; i < K * d; i++)
        ck_assert_msg(fabs(cr[i] - crd[i]) < 1e-5, "dataset %zu: %g, array %g",
                      i, crd[i], cr[i]);
    ck_assert_double_eq_tol(recon_mse(rd, x, n, d), mr, 1e-9);
    ck_assert_int_ne(memcmp(cr, cr2, K * d * sizeof(float)), 0);
    for (int c = 0; c < K; c++) {
        ck_assert_msg(fabs(vr[c] - ve[c]) < 0.01 * ve[c],
                      "variance %d: randomized %.6g, exact %.6g", c, vr[c],
                      ve[c]);
        ck_assert(ratio[c] > 0 && ratio[c] < 1);
    }
    /* the leading components are the same directions (|cos| near 1) */
    for (int c = 0; c < 10; c++) {
        double dot = 0;
        for (size_t j = 0; j < d; j++)
            dot += (double)ce[c * d + j] * cr[c * d + j];
        ck_assert_msg(fabs(dot) > 0.999, "component %d: cos %.6f", c, dot);
    }
    free(ce);
    free(cr);
    free(crd);
    free(cr2);
    free(x);
    ae_pca_free(exact);
    ae_pca_free(r);
    ae_pca_free(rd);
    ae_pca_free(r2);
    ae_dataset_free(ds);
}
END_TEST

/* The bound of the header on Fashion-MNIST's 60,000 training images, the
 * data set whose spectrum falls slowest of the two, when it is installed:
 * reconstruction MSE within 1e-5 of the exact solver's and every
 * explained variance within 1%, for seeds 0 and 1. */
START_TEST(test_fashion_randomized_within_bound)
{
    const char *path =
        "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
    /* Real data runs where the build has MNIST (not in the Valgrind build,
     * where 60,000 images took over 20 minutes). */
    if (!tu_have_mnist()) {
        printf("no real data in this build: fashion-mnist skipped\n");
        return;
    }
    FILE *probe = fopen(path, "rb");
    if (probe == NULL) {
        printf("fashion-mnist not installed: skipped\n");
        return;
    }
    fclose(probe);
    enum { K = 30 };
    ae_dataset *ds = NULL;
    ck_assert_ae_ok(ae_dataset_load_idx(&ds, path, NULL));
    const size_t n = ae_dataset_count(ds), d = ae_dataset_image_size(ds);
    float *x = malloc(n * d * sizeof(float));
    ck_assert_ptr_nonnull(x);
    ck_assert_ae_ok(ae_dataset_batch(ds, 0, n, x, NULL));
    ae_pca *exact = make_pca(K);
    ck_assert_ae_ok(ae_pca_fit_dataset(exact, ds));
    const double me = recon_mse(exact, x, n, d);
    double ve[K];
    ck_assert_ae_ok(ae_pca_explained_variance(exact, ve, K));
    for (int seed = 0; seed < 2; seed++) {
        ae_pca *r = make_pca(K);
        ck_assert_ae_ok(ae_pca_set(r, AE_PCA_SOLVER, AE_PCA_RANDOMIZED));
        ck_assert_ae_ok(ae_pca_set(r, AE_PCA_SEED, seed));
        ck_assert_ae_ok(ae_pca_fit_dataset(r, ds));
        const double mr = recon_mse(r, x, n, d);
        printf("fashion pca-%d: exact MSE %.10f, randomized (seed %d) "
               "%.10f, diff %.3g\n", K, me, seed, mr, mr - me);
        ck_assert_msg(fabs(mr - me) < 1e-5, "seed %d: randomized %.10f, "
                      "exact %.10f", seed, mr, me);
        double vr[K];
        ck_assert_ae_ok(ae_pca_explained_variance(r, vr, K));
        for (int c = 0; c < K; c++)
            ck_assert_msg(fabs(vr[c] - ve[c]) < 0.01 * ve[c],
                          "variance %d: randomized %.6g, exact %.6g", c,
                          vr[c], ve[c]);
        ae_pca_free(r);
    }
    free(x);
    ae_pca_free(exact);
    ae_dataset_free(ds);
}
END_TEST

/* Rows of a rank-r matrix plus a mean, n x d, from seed: with no noise the
 * exact solver finds r nonzero variances. */
static float *low_rank_rows(size_t n, size_t d, size_t r, uint64_t seed)
{
    float *a = malloc(n * r * sizeof(float)), *b = malloc(r * d * sizeof(float));
    float *x = malloc(n * d * sizeof(float));
    ck_assert(a && b && x);
    tu_fill_uniform(a, n * r, -1.0f, 1.0f, seed);
    tu_fill_uniform(b, r * d, -1.0f, 1.0f, seed + 1);
    for (size_t j = 0; j < r; j++) /* falling scales, as images have */
        for (size_t c = 0; c < d; c++)
            b[j * d + c] *= (float)(1.0 / (1.0 + (double)j));
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < d; c++) {
            double v = 0.5 + 0.01 * (double)c;
            for (size_t j = 0; j < r; j++)
                v += (double)a[i * r + j] * b[j * d + c];
            x[i * d + c] = (float)v;
        }
    free(a);
    free(b);
    return x;
}

/* The first `check` variances within rel of the exact solver's, and
 * those components the same directions, for fits p and exact of k
 * components in d. */
static void assert_matches_exact(const ae_pca *p, const ae_pca *exact,
                                 size_t k, size_t check, size_t d,
                                 double rel, double cos_min)
{
    double vr[64], ve[64];
    float *cr = malloc(k * d * sizeof(float)), *ce = malloc(k * d * sizeof(float));
    ck_assert(k <= 64 && cr && ce);
    ck_assert_ae_ok(ae_pca_explained_variance(p, vr, k));
    ck_assert_ae_ok(ae_pca_explained_variance(exact, ve, k));
    ck_assert_ae_ok(ae_pca_get_components(p, cr, k * d));
    ck_assert_ae_ok(ae_pca_get_components(exact, ce, k * d));
    for (size_t c = 0; c < check; c++) {
        ck_assert_msg(fabs(vr[c] - ve[c]) <= rel * ve[c] + 1e-9,
                      "variance %zu: randomized %.9g, exact %.9g", c, vr[c],
                      ve[c]);
        double dot = 0;
        for (size_t j = 0; j < d; j++)
            dot += (double)cr[c * d + j] * ce[c * d + j];
        ck_assert_msg(fabs(dot) > cos_min, "component %zu: cos %.9f", c,
                      dot);
    }
    free(cr);
    free(ce);
}

/* When the Krylov basis spans every direction (blocks of l = 20 columns,
 * three of them, in d = 60), the randomized solver is exact up to float
 * rounding: this checks the one-pass products by row groups, their mean
 * corrections and the final Cholesky QR against the exact solver, on
 * more rows than one group holds. */
START_TEST(test_randomized_full_basis_is_exact)
{
    enum { N = 9000, D = 60, K = 8 };
    float *x = low_rank_rows(N, D, D, 31); /* full rank */
    ae_pca *exact = make_pca(K), *r = make_pca(K);
    ck_assert_ae_ok(ae_pca_fit(exact, x, N, D));
    ck_assert_ae_ok(ae_pca_set(r, AE_PCA_SOLVER, AE_PCA_RANDOMIZED));
    ck_assert_ae_ok(ae_pca_set(r, AE_PCA_OVERSAMPLES, 12));
    ck_assert_ae_ok(ae_pca_set(r, AE_PCA_POWER_ITERATIONS, 2));
    ck_assert_ae_ok(ae_pca_fit(r, x, N, D));
    assert_matches_exact(r, exact, K, K, D, 1e-5, 1 - 1e-5);
    float me[D], mr[D];
    ck_assert_ae_ok(ae_pca_get_mean(exact, me, D));
    ck_assert_ae_ok(ae_pca_get_mean(r, mr, D));
    for (int j = 0; j < D; j++)
        ck_assert_float_eq_tol(mr[j], me[j], 1e-6f);
    ae_pca_free(exact);
    ae_pca_free(r);
    free(x);
}
END_TEST

/* Data of rank 6 and a basis of 3 x 25 columns: past the rank, the
 * Krylov blocks hold rounding noise only and the Gram matrix of the range
 * is singular; the shifted Cholesky must still give the 6 variances (and
 * the directions) of the exact solver, and 0 for the 7th. */
START_TEST(test_randomized_rank_deficient)
{
    enum { N = 3000, D = 100, R = 6, K = 7 };
    float *x = low_rank_rows(N, D, R, 41);
    ae_pca *exact = make_pca(K), *r = make_pca(K);
    ck_assert_ae_ok(ae_pca_fit(exact, x, N, D));
    ck_assert_ae_ok(ae_pca_set(r, AE_PCA_SOLVER, AE_PCA_RANDOMIZED));
    ck_assert_ae_ok(ae_pca_set(r, AE_PCA_OVERSAMPLES, 18));
    ck_assert_ae_ok(ae_pca_fit(r, x, N, D));
    assert_matches_exact(r, exact, K, R, D, 1e-4, 1 - 1e-5);
    double v[K];
    ck_assert_ae_ok(ae_pca_explained_variance(r, v, K));
    ck_assert_msg(v[R] < 1e-6 * v[0], "variance past the rank: %g (first %g)",
                  v[R], v[0]);
    /* all-constant data: every variance 0, no failure */
    for (size_t i = 0; i < (size_t)N * D; i++)
        x[i] = 0.25f;
    ck_assert_ae_ok(ae_pca_fit(r, x, N, D));
    ck_assert_ae_ok(ae_pca_explained_variance(r, v, K));
    for (int c = 0; c < K; c++)
        ck_assert(v[c] >= 0 && v[c] < 1e-12);
    ae_pca_free(exact);
    ae_pca_free(r);
    free(x);
}
END_TEST

/* The same bits at 1, 2 and 3 threads, from an array and from a dataset
 * (groups of rows fixed by n, summed in order; single-threaded BLAS in
 * every product). */
START_TEST(test_randomized_same_bits_any_threads)
{
    if (!tu_require_mnist())
        return;
    enum { K = 30 };
    ae_dataset *ds = NULL;
    ck_assert_ae_ok(ae_dataset_load_idx(
        &ds, tu_mnist_path("t10k-images-idx3-ubyte.gz"), NULL));
    const size_t n = ae_dataset_count(ds), d = ae_dataset_image_size(ds);
    float *x = malloc(n * d * sizeof(float));
    ck_assert_ptr_nonnull(x);
    ck_assert_ae_ok(ae_dataset_batch(ds, 0, n, x, NULL));
    float *first[2] = {NULL, NULL};
    double first_var[2][K];
    for (int threads = 1; threads <= 3; threads++) {
        ck_assert_ae_ok(ae_set_threads(threads));
        for (int from = 0; from < 2; from++) {
            ae_pca *p = make_pca(K);
            ck_assert_ae_ok(ae_pca_set(p, AE_PCA_SOLVER, AE_PCA_RANDOMIZED));
            ck_assert_ae_ok(from ? ae_pca_fit_dataset(p, ds)
                                 : ae_pca_fit(p, x, n, d));
            float *c = malloc((K + 1) * d * sizeof(float));
            double var[K];
            ck_assert_ptr_nonnull(c);
            ck_assert_ae_ok(ae_pca_get_components(p, c, K * d));
            ck_assert_ae_ok(ae_pca_get_mean(p, c + K * d, d));
            ck_assert_ae_ok(ae_pca_explained_variance(p, var, K));
            if (first[from] == NULL) {
                first[from] = c;
                memcpy(first_var[from], var, sizeof var);
            } else {
                ck_assert_msg(memcmp(first[from], c,
                                     (K + 1) * d * sizeof(float)) == 0,
                              "%s at %d threads: other bits than at 1",
                              from ? "dataset" : "array", threads);
                ck_assert_mem_eq(first_var[from], var, sizeof var);
                free(c);
            }
            ae_pca_free(p);
        }
    }
    ck_assert_ae_ok(ae_set_threads(0));
    free(first[0]);
    free(first[1]);
    free(x);
    ae_dataset_free(ds);
}
END_TEST

START_TEST(test_solver_settings)
{
    ae_pca *p = make_pca(3);
    double v;
    ck_assert_ae_ok(ae_pca_get(p, AE_PCA_SOLVER, &v));
    ck_assert(v == AE_PCA_EXACT);
    ck_assert_ae_ok(ae_pca_get(p, AE_PCA_OVERSAMPLES, &v));
    ck_assert(v == 18);
    ck_assert_ae_ok(ae_pca_get(p, AE_PCA_POWER_ITERATIONS, &v));
    ck_assert(v == 2);
    ck_assert_ae_status(ae_pca_set(p, AE_PCA_SOLVER, 2),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_pca_set(p, AE_PCA_OVERSAMPLES, -1),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_pca_set(p, AE_PCA_POWER_ITERATIONS, 1.5),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_pca_set(p, AE_PCA_SEED, NAN),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_pca_set(p, (ae_pca_param)9, 0),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_pca_get(p, (ae_pca_param)9, &v),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_pca_get(p, AE_PCA_SEED, NULL), AE_ERR_NULL);
    ck_assert_ae_status(ae_pca_set(NULL, AE_PCA_SEED, 1), AE_ERR_NULL);
    ck_assert_ae_ok(ae_pca_get(p, AE_PCA_OVERSAMPLES, &v));
    ck_assert(v == 18); /* failures changed nothing */
    /* a small exact case: three orthogonal directions of variance 9, 4, 1
     * are found by the randomized solver to rounding */
    enum { N = 200, D = 6 };
    float x[N * D];
    memset(x, 0, sizeof x);
    for (int i = 0; i < N; i++) {
        float s = (i % 2 ? 1.0f : -1.0f);
        x[i * D + 0] = 3.0f * s * (float)((i / 2) % 2 ? 1 : -1);
        x[i * D + 2] = 2.0f * s;
        x[i * D + 4] = (float)(((i / 4) % 2) ? 1 : -1);
    }
    ck_assert_ae_ok(ae_pca_set(p, AE_PCA_SOLVER, AE_PCA_RANDOMIZED));
    ck_assert_ae_ok(ae_pca_set(p, AE_PCA_OVERSAMPLES, 0));
    ck_assert_ae_ok(ae_pca_fit(p, x, N, D));
    double var[3];
    ck_assert_ae_ok(ae_pca_explained_variance(p, var, 3));
    double scale = (double)N / (N - 1);
    ck_assert_double_eq_tol(var[0], 9 * scale, 1e-4);
    ck_assert_double_eq_tol(var[1], 4 * scale, 1e-4);
    ck_assert_double_eq_tol(var[2], 1 * scale, 1e-4);
    ae_pca_free(p);
}
END_TEST

static Suite *pca_suite(void)
{
    Suite *s = suite_create("pca");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_known_decomposition);
    tcase_add_test(tc, test_ratio);
    tcase_add_test(tc, test_full_rank_round_trip);
    tcase_add_test(tc, test_fit_dataset_matches_fit);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_solver_settings);
    tcase_add_test(tc, test_randomized_full_basis_is_exact);
    tcase_add_test(tc, test_randomized_rank_deficient);
    suite_add_tcase(s, tc);
    TCase *real = tcase_create("mnist");
    tcase_add_test(real, test_mnist_pca30_matches_direct_svd);
    tcase_add_test(real, test_mnist_randomized_within_bound);
    tcase_add_test(real, test_randomized_same_bits_any_threads);
    tcase_add_test(real, test_fashion_randomized_within_bound);
    suite_add_tcase(s, real);
    return s;
}

int main(void)
{
    return tu_run_suite(pca_suite());
}

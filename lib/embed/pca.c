/* pca.c - principal component analysis through LAPACKE.
 *
 * Fit: mean in double; C = (X - mean)^T (X - mean) / (n - 1) accumulated
 * block by block into a double d x d matrix with dsyrk; C is symmetric
 * positive semi-definite, so its SVD C = V S V^T is its eigendecomposition:
 * components are the top rows of V^T, explained variances the top singular
 * values (n - 1 denominator, as sklearn), and the ratio divides by
 * trace(C), the total variance.  Rows are read in blocks, so a dataset is
 * converted batch by batch and never held whole as floats. */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "common/finite.h"
#include "common/internal.h"
#include "embed/pca_randomized.h"
#include "embed/pca_source.h"

enum { PCA_BLOCK_ROWS = AE__PCA_BLOCK_ROWS, PCA_MAX_DIM = 46340 };

struct ae_pca {
    int k;              /* components requested */
    size_t d;           /* dimension of the fitted data, 0 before a fit */
    float *components;  /* k x d */
    float *mean;        /* d */
    double *variance;   /* k */
    double *ratio;      /* k */

    ae_pca_solver solver;
    ae__pca_randomized_settings randomized;
};

ae_status ae_pca_create(ae_pca **out, int components)
{
    AE_REQUIRE(out);
    *out = NULL;
    if (components < 1)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_pca_create: components %d must be >= 1",
                        components);
    ae_pca *p;
    AE_ALLOC_OR_FAIL(p, 1, "the PCA handle");
    p->k = components;
    p->solver = AE_PCA_EXACT;
    /* 18: 48 columns for 30 components.  OpenBLAS's kernels on Zen 3
     * took 10% longer a pass for 50 columns (2 past a multiple of 4),
     * and the bound holds with a 13x margin (docs/PERFORMANCE.md). */
    p->randomized.oversamples = 18;
    p->randomized.power_iterations = 2;
    p->randomized.seed = 0;
    *out = p;
    return AE_OK;
}

void ae_pca_free(ae_pca *p)
{
    if (p == NULL)
        return;
    ae__free(p->components);
    ae__free(p->mean);
    ae__free(p->variance);
    ae__free(p->ratio);
    ae__free(p);
}

/* The whole fit from a row source; on success moves the result into p. */
static ae_status fit_exact(const ae__pca_source *src, size_t k,
                           ae__pca_fit *f, const char *fn)
{
    const size_t n = src->n, d = src->d;
    size_t dd, block_vals;
    const size_t block = n < PCA_BLOCK_ROWS ? n : PCA_BLOCK_ROWS;
    /* LAPACK indexes the d x d matrix with 32-bit integers: d^2 < 2^31. */
    if (d > PCA_MAX_DIM)
        return ae__fail(AE_ERR_LIMIT,
                        "%s: dimension d = %zu exceeds %d (the covariance "
                        "would not fit 32-bit LAPACK indexing)", fn, d,
                        (int)PCA_MAX_DIM);
    if (!ae__mul_size(d, d, &dd) || !ae__mul_size(block, d, &block_vals))
        return ae__fail(AE_ERR_LIMIT, "%s: dimension d = %zu is too large",
                        fn, d);

    ae_status status = AE_OK;
    double total_unused;
    double *mean = ae__calloc(d, sizeof(double));
    double *cov = ae__calloc(dd, sizeof(double));
    double *vt = ae__calloc(dd, sizeof(double));
    double *sv = ae__calloc(d, sizeof(double));
    double *centred = ae__calloc(block_vals, sizeof(double));
    float *buf = src->ds != NULL ? ae__calloc(block_vals, sizeof(float)) : NULL;
    if (!mean || !cov || !vt || !sv || !centred ||
        (src->ds != NULL && !buf)) {
        status = ae__fail(AE_ERR_NO_MEMORY,
                          "%s: cannot allocate the covariance workspace "
                          "(d = %zu)", fn, d);
        goto done;
    }

    /* Pass 1: mean = sum x / n (and the finiteness check).  The total
     * variance comes exactly from the covariance's trace below. */
    status = ae__pca_moments(src, buf, mean, &total_unused, fn);
    if (status != AE_OK)
        goto done;

    /* Pass 2: upper triangle of sum (x - mean)^T (x - mean), in double all
     * the way.  Float block products (ssyrk) added into a double
     * accumulator were measured on MNIST: entries off by 2e-6 of the
     * largest, for 0.07 s saved out of ~0.5 s; double keeps the covariance
     * exact to rounding for little cost. */
    for (size_t first = 0; first < n; first += block) {
        size_t m = n - first < block ? n - first : block;
        const float *rows;
        if ((status = ae__pca_rows(src, first, m, buf, &rows)) != AE_OK)
            goto done;
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < d; j++)
                centred[i * d + j] = (double)rows[i * d + j] - mean[j];
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)m,
                    1.0, centred, (int)d, 1.0, cov, (int)d);
    }
    double total = 0.0;
    const double scale = 1.0 / (double)(n - 1);
    for (size_t i = 0; i < d; i++) {
        for (size_t j = i; j < d; j++) {
            double c = cov[i * d + j] * scale;
            cov[i * d + j] = c;
            cov[j * d + i] = c;
        }
        total += cov[i * d + i];
    }

    /* C is symmetric, so its row-major and column-major layouts agree and
     * LAPACK needs no transposed copy.  jobz 'O' (m >= n) overwrites cov
     * with U, which is not needed, and returns V^T in vt.  The SVD is what
     * the design asks for, and it is not what a fit waits for: on 60,000 x
     * 784 on a quiet machine it took 0.11 s of a 0.6-0.75 s fit, the
     * covariance product (dsyrk) 0.44 s.  dgesvdx for the top k alone took
     * 0.06 s and dsyevr 0.025 s, should the SVD ever matter. */
    lapack_int info = LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'O', (lapack_int)d,
                                     (lapack_int)d, cov, (lapack_int)d, sv,
                                     NULL, 1, vt, (lapack_int)d);
    if (info == LAPACK_WORK_MEMORY_ERROR) {
        status = ae__fail(AE_ERR_NO_MEMORY,
                          "%s: LAPACKE_dgesdd could not allocate its "
                          "workspace (d = %zu)", fn, d);
        goto done;
    }
    if (info != 0) {
        status = ae__fail(AE_ERR_NUMERIC,
                          "%s: LAPACKE_dgesdd on the %zu x %zu covariance "
                          "returned info = %d", fn, d, d, (int)info);
        goto done;
    }

    for (size_t c = 0; c < k; c++) {
        /* Column-major V^T: row c is vt[c + j d]. */
        ae__pca_set_component(f, c, d, vt + c, d);
        f->variance[c] = sv[c];
        f->ratio[c] = total > 0.0 ? sv[c] / total : 0.0;
    }
    for (size_t j = 0; j < d; j++)
        f->mean[j] = (float)mean[j];

done:
    ae__free(mean);
    ae__free(cov);
    ae__free(vt);
    ae__free(sv);
    ae__free(centred);
    ae__free(buf);
    return status;
}

/* The fit by p's solver; on success it replaces p's previous fit. */
static ae_status fit_source(ae_pca *p, const ae__pca_source *src,
                            const char *fn)
{
    const size_t n = src->n, d = src->d, k = (size_t)p->k;
    if (n < 2)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "%s: n = %zu rows, need at least 2", fn, n);
    if (d < 1)
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "%s: dimension d is 0", fn);
    if (k > n || k > d)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "%s: %zu components exceed min(n, d) with n = %zu "
                        "rows and d = %zu", fn, k, n, d);
    size_t kd, nd;
    if (!ae__mul_size(k, d, &kd) || !ae__mul_size(n, d, &nd))
        return ae__fail(AE_ERR_LIMIT, "%s: n = %zu rows of d = %zu values "
                        "overflow the address space", fn, n, d);
    (void)ae__thread_count(); /* make sure BLAS runs with our thread count */
    ae__pca_fit f = {0};
    ae_status s = ae__pca_fit_alloc(&f, k, d, fn);
    if (s == AE_OK)
        s = p->solver == AE_PCA_RANDOMIZED
                ? ae__pca_fit_randomized(src, k, &p->randomized, &f, fn)
                : fit_exact(src, k, &f, fn);
    if (s != AE_OK) {
        ae__pca_fit_free(&f);
        return s;
    }
    ae__free(p->components);
    ae__free(p->mean);
    ae__free(p->variance);
    ae__free(p->ratio);
    p->components = f.components;
    p->mean = f.mean;
    p->variance = f.variance;
    p->ratio = f.ratio;
    p->d = d;
    return AE_OK;
}

ae_status ae_pca_fit(ae_pca *p, const float *x, size_t n, size_t d)
{
    AE_REQUIRE(p);
    AE_REQUIRE(x);
    ae__pca_source src = {x, NULL, n, d};
    return fit_source(p, &src, "ae_pca_fit");
}

ae_status ae_pca_fit_dataset(ae_pca *p, const ae_dataset *ds)
{
    AE_REQUIRE(p);
    AE_REQUIRE(ds);
    ae__pca_source src = {NULL, ds, ae_dataset_count(ds),
                          ae_dataset_image_size(ds)};
    return fit_source(p, &src, "ae_pca_fit_dataset");
}

static ae_status require_fitted(const ae_pca *p, const char *fn)
{
    if (p->d == 0)
        return ae__fail(AE_ERR_BAD_STATE,
                        "%s: the PCA is not fitted (call ae_pca_fit first)",
                        fn);
    return AE_OK;
}

ae_status ae_pca_transform(const ae_pca *p, const float *x, size_t n,
                           float *codes)
{
    AE_REQUIRE(p);
    AE_REQUIRE(x);
    AE_REQUIRE(codes);
    ae_status s = require_fitted(p, __func__);
    if (s != AE_OK)
        return s;
    const size_t d = p->d, k = (size_t)p->k;
    size_t total;
    if (!ae__mul_size(n, d, &total) || n > (size_t)INT32_MAX)
        return ae__fail(AE_ERR_LIMIT, "%s: %zu rows of %zu values overflow",
                        __func__, n, d);
    if (!ae__all_finite(x, total))
        return ae__fail(AE_ERR_NOT_FINITE, "%s: x holds a NaN or infinity",
                        __func__);
    if (n == 0)
        return AE_OK;
    /* codes = (x - mean) W^T, centring a block of rows at a time so the
     * subtraction is exact-ish in float rather than cancelling later. */
    const size_t block = n < PCA_BLOCK_ROWS ? n : PCA_BLOCK_ROWS;
    float *centred = ae__calloc(block * d, sizeof(float));
    if (centred == NULL)
        return ae__fail(AE_ERR_NO_MEMORY,
                        "%s: cannot allocate %zu x %zu floats", __func__,
                        block, d);
    (void)ae__thread_count();
    for (size_t first = 0; first < n; first += block) {
        size_t m = n - first < block ? n - first : block;
        const float *rows = x + first * d;
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < d; j++)
                centred[i * d + j] = rows[i * d + j] - p->mean[j];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)k,
                    (int)d, 1.0f, centred, (int)d, p->components, (int)d,
                    0.0f, codes + first * k, (int)k);
    }
    ae__free(centred);
    return AE_OK;
}

ae_status ae_pca_inverse_transform(const ae_pca *p, const float *codes,
                                   size_t n, float *x)
{
    AE_REQUIRE(p);
    AE_REQUIRE(codes);
    AE_REQUIRE(x);
    ae_status s = require_fitted(p, __func__);
    if (s != AE_OK)
        return s;
    const size_t d = p->d, k = (size_t)p->k;
    size_t total;
    if (!ae__mul_size(n, d, &total) || n > (size_t)INT32_MAX)
        return ae__fail(AE_ERR_LIMIT, "%s: %zu rows of %zu values overflow",
                        __func__, n, d);
    if (!ae__all_finite(codes, n * k))
        return ae__fail(AE_ERR_NOT_FINITE,
                        "%s: codes hold a NaN or infinity", __func__);
    if (n == 0)
        return AE_OK;
    /* x = codes W + mean: start from the mean and let sgemm add. */
    for (size_t i = 0; i < n; i++)
        memcpy(x + i * d, p->mean, d * sizeof(float));
    (void)ae__thread_count();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)d,
                (int)k, 1.0f, codes, (int)k, p->components, (int)d, 1.0f, x,
                (int)d);
    return AE_OK;
}

size_t ae_pca_dim(const ae_pca *p)
{
    return p == NULL ? 0 : p->d;
}

int ae_pca_components(const ae_pca *p)
{
    return p == NULL ? 0 : p->k;
}

/* Shared checks of the getters: fitted, and n equal to the count. */
static ae_status check_get(const ae_pca *p, const void *out, size_t n,
                           size_t want, const char *fn, const char *what)
{
    if (p == NULL)
        return ae__fail(AE_ERR_NULL, "%s: argument 'p' is NULL", fn);
    if (out == NULL)
        return ae__fail(AE_ERR_NULL, "%s: argument 'out' is NULL", fn);
    ae_status s = require_fitted(p, fn);
    if (s != AE_OK)
        return s;
    if (n != want)
        return ae__fail(AE_ERR_SHAPE, "%s: n = %zu, but the %s has %zu values",
                        fn, n, what, want);
    return AE_OK;
}

ae_status ae_pca_get_components(const ae_pca *p, float *out, size_t n)
{
    ae_status s = check_get(p, out, n, p ? (size_t)p->k * p->d : 0, __func__,
                            "components matrix (components x d)");
    if (s == AE_OK)
        memcpy(out, p->components, n * sizeof(float));
    return s;
}

ae_status ae_pca_get_mean(const ae_pca *p, float *out, size_t n)
{
    ae_status s = check_get(p, out, n, p ? p->d : 0, __func__, "mean");
    if (s == AE_OK)
        memcpy(out, p->mean, n * sizeof(float));
    return s;
}

ae_status ae_pca_explained_variance(const ae_pca *p, double *out, size_t n)
{
    ae_status s = check_get(p, out, n, p ? (size_t)p->k : 0, __func__,
                            "explained variance");
    if (s == AE_OK)
        memcpy(out, p->variance, n * sizeof(double));
    return s;
}

ae_status ae_pca_explained_variance_ratio(const ae_pca *p, double *out,
                                          size_t n)
{
    ae_status s = check_get(p, out, n, p ? (size_t)p->k : 0, __func__,
                            "explained variance ratio");
    if (s == AE_OK)
        memcpy(out, p->ratio, n * sizeof(double));
    return s;
}

static int is_whole(double v, double lo, double hi)
{
    return isfinite(v) && v >= lo && v <= hi && v == floor(v);
}

ae_status ae_pca_set(ae_pca *p, ae_pca_param param, double v)
{
    AE_REQUIRE(p);
    int ok = 0;
    switch (param) {
    case AE_PCA_SOLVER:
        if ((ok = is_whole(v, AE_PCA_EXACT, AE_PCA_RANDOMIZED)))
            p->solver = (ae_pca_solver)v;
        break;
    case AE_PCA_OVERSAMPLES:
        if ((ok = is_whole(v, 0, 1000)))
            p->randomized.oversamples = (int)v;
        break;
    case AE_PCA_POWER_ITERATIONS:
        if ((ok = is_whole(v, 0, 100)))
            p->randomized.power_iterations = (int)v;
        break;
    case AE_PCA_SEED:
        if ((ok = is_whole(v, 0, 9007199254740992.0)))
            p->randomized.seed = (uint64_t)v;
        break;
    default:
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_pca_set: unknown PCA parameter %d", (int)param);
    }
    if (!ok)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_pca_set: PCA parameter %d: %g is out of range",
                        (int)param, v);
    return AE_OK;
}

ae_status ae_pca_get(const ae_pca *p, ae_pca_param param, double *v)
{
    AE_REQUIRE(p);
    AE_REQUIRE(v);
    switch (param) {
    case AE_PCA_SOLVER: *v = p->solver; break;
    case AE_PCA_OVERSAMPLES: *v = p->randomized.oversamples; break;
    case AE_PCA_POWER_ITERATIONS: *v = p->randomized.power_iterations; break;
    case AE_PCA_SEED: *v = (double)p->randomized.seed; break;
    default:
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_pca_get: unknown PCA parameter %d", (int)param);
    }
    return AE_OK;
}

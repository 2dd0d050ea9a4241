/* pca_randomized.c - PCA through a randomized SVD (Halko, Martinsson and
 * Tropp 2011, algorithms 4.4 and 5.1), in float, on the data as it is.
 *
 * With A = X - 1 mean^T the centred n x d data, M = A^T A, l = k +
 * oversamples and q power iterations:
 *   Z = orth(Omega)                Omega a d x l Gaussian test matrix
 *   q + 1 times: W = M Z           one pass over the rows (below)
 *                Z = orth(W)       except the last time
 *   R^T R = Z^T W                  Cholesky, in double
 *   B^T = W R^-1 = U S V^T         components: the first k columns of U,
 *                                  explained variances S^2 / (n - 1)
 * This is Halko's algorithm, not an approximation of it.  After q
 * orthonormalisations range(Z) = range(M^q Omega), so Y = A Z spans
 * (A A^T)^q A Omega, the range Halko's q power iterations build; and since
 * Y^T Y = Z^T M Z = Z^T W, Q = Y R^-1 is the Cholesky QR of Y and
 * A^T Q = M Z R^-1 = W R^-1 is Halko's B^T, so Q and Y (n x l) are never
 * formed.  Each W = M Z is one pass over X by blocks of rows, Y_b = A_b Z
 * then W += A_b^T Y_b while the block is in cache: q + 1 passes over X
 * with two products each, against 2q + 2 passes and 2q + 1 tall thin QRs
 * of n x l for the textbook form, which took half of the fit's time (see
 * docs/PERFORMANCE.md).  A is never formed either: A_b Z = X_b Z -
 * 1 (mean^T Z), and A^T Y = X^T Y - mean (1^T Y) with Y centred, so the
 * products stream the rows of X (or of a dataset, converted block by
 * block), and the memory is O(d l) beyond one block of rows per thread.
 *
 * Stability.  (1) Orthonormalising after the two products of M rather
 * than after each: the columns of W = M Z spread as the eigenvalues of M
 * (lambda = sigma^2) instead of the singular values, and Householder QR
 * is backward stable whatever their spread, so the computed range(Z) is
 * that of W + E with |E| of order eps |W| = eps lambda_1: a direction of
 * M whose eigenvalue is below about eps lambda_1 (a component with a
 * variance under 1.2e-7 of the first one's, in float) can be lost, which
 * costs the reconstruction at most that variance; image data's 30th
 * component holds about 1e-2 of the first's.  The textbook form keeps
 * directions down to eps sigma_1 instead, which only matters for
 * components that hold almost none of the variance.  (2) The Cholesky QR
 * squares the condition of Y, as (1) does; it runs in double on a Gram
 * matrix accurate to float rounding, so it sees the same eps lambda_1.
 * When l exceeds the rank of A, Z^T W is singular: the Cholesky is of
 * Z^T (W + nu Z) = Z^T (M + nu I) Z with nu = eps |W|_F, raised sixteen-
 * fold until it succeeds, and nu is taken back off the squared singular
 * values (Tropp, Yurtsever, Udell and Cevher 2017, the stable Nystrom
 * approximation, which this final step is); it moves the eigenvalues by
 * at most nu.
 *
 * Determinism.  The rows are cut into groups by n alone (never by the
 * thread count); each group's share of W is summed by one thread with
 * single-threaded BLAS, and the shares are added in group order in
 * double, so a fit gives the same bits at any thread count.
 *
 * Accuracy (Halko et al., theorem 10.6 with the power scheme, section
 * 10.4): the expected spectral error of the rank-l range is within a small
 * factor of sigma_{l+1}, and each power iteration raises the gap between
 * sigma_k and sigma_{l+1} to the (2q+1)-th power.  On image data, whose
 * spectrum falls fast, q = 4 and 20 oversamples give components whose
 * reconstruction MSE is within 1e-5 of the exact solver's (measured,
 * above the exact one: 2e-7 - 7e-7 on the 10,000 MNIST test images,
 * 2e-7 - 6e-7 on MNIST's 60,000 training images, 9e-7 - 1.1e-6 on
 * Fashion-MNIST's, seeds 0 - 2; with q = 3, 2e-6 - 4.5e-6, a margin too
 * thin to make it the default; tests/test_pca.c checks the bound the
 * header promises). */
#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "common/parallel.h"
#include "embed/pca_randomized.h"

/* Rows a thread converts and multiplies at a time: the converted block
 * (784 floats a row, 800 KB) and its products stay in L2.  Groups: at
 * least GROUP_ROWS rows each, fixed by n. */
enum { BLOCK_ROWS = 256, GROUP_ROWS = 2048 };

/* One pass of W = M Z over groups of rows. */
typedef struct power_job {
    const ae__pca_source *src;
    size_t n, d, l, groups;
    const float *z;      /* d x l, column-major */
    const float *z_mean; /* l: mean^T z, taken off every entry of X z */
    float *scratch;      /* per part: rows (dataset) then y, BLOCK_ROWS each */
    size_t scratch_part; /* floats of one part's scratch */
    float *w_groups;     /* groups x (d x l, column-major) */
    double *ysum_groups; /* groups x l: column sums of the centred y */
    ae_status *status;   /* groups */
} power_job;

static void power_groups(void *ctx, size_t begin, size_t end, int part)
{
    const power_job *j = ctx;
    const size_t n = j->n, d = j->d, l = j->l;
    float *scratch = j->scratch + (size_t)part * j->scratch_part;
    float *buf = j->src->ds != NULL ? scratch : NULL;
    float *y = scratch + (j->src->ds != NULL ? BLOCK_ROWS * d : 0);
    for (size_t g = begin; g < end; g++) {
        const size_t first = n * g / j->groups,
                     last = n * (g + 1) / j->groups;
        float *w = j->w_groups + g * d * l;
        double *ysum = j->ysum_groups + g * l;
        for (size_t c = 0; c < l; c++)
            ysum[c] = 0.0;
        for (size_t r = first; r < last; r += BLOCK_ROWS) {
            const size_t m = last - r < BLOCK_ROWS ? last - r : BLOCK_ROWS;
            const float *rows;
            ae_status s = ae__pca_rows(j->src, r, m, buf, &rows);
            if (s != AE_OK) {
                j->status[g] = s;
                break;
            }
            /* y (m x l, column-major) = rows (m x d row-major, i.e. d x m
             * column-major, transposed) times z, then centred. */
            cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)m,
                        (int)l, (int)d, 1.0f, rows, (int)d, j->z, (int)d,
                        0.0f, y, (int)m);
            for (size_t c = 0; c < l; c++) {
                float *col = y + c * m;
                const float zm = j->z_mean[c];
                double sum = 0.0;
                for (size_t i = 0; i < m; i++) {
                    col[i] -= zm;
                    sum += col[i];
                }
                ysum[c] += sum;
            }
            cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)d,
                        (int)l, (int)m, 1.0f, rows, (int)d, y, (int)m,
                        r == first ? 0.0f : 1.0f, w, (int)d);
        }
    }
}

typedef struct work {
    const ae__pca_source *src;
    size_t n, d, l;
    const double *mean;
    float *z;       /* d x l, column-major: Omega, then orth(M z) */
    float *w;       /* d x l, column-major: M z */
    float *z_mean;  /* l */
    float *tau;     /* l */
    power_job job;
} work;

/* w->w = M w->z: one pass over the rows, its groups shared by the
 * threads, then the groups' shares added in order. */
static ae_status times_m(work *w, const char *fn)
{
    const size_t d = w->d, l = w->l;
    for (size_t c = 0; c < l; c++) {
        double s = 0.0;
        for (size_t i = 0; i < d; i++)
            s += w->mean[i] * w->z[c * d + i];
        w->z_mean[c] = (float)s;
    }
    power_job *j = &w->job;
    j->z = w->z;
    for (size_t g = 0; g < j->groups; g++)
        j->status[g] = AE_OK;
    ae__parallel_for_blas(j->groups, 1, 0, power_groups, j);
    for (size_t g = 0; g < j->groups; g++)
        if (j->status[g] != AE_OK)
            return ae__fail(j->status[g], "%s: reading rows %zu..%zu failed",
                            fn, w->n * g / j->groups,
                            w->n * (g + 1) / j->groups - 1);
    /* minus mean (1^T y): small, as y is centred; 1^T y in double */
    for (size_t c = 0; c < l; c++) {
        double ysum = 0.0;
        for (size_t g = 0; g < j->groups; g++)
            ysum += j->ysum_groups[g * l + c];
        for (size_t i = 0; i < d; i++) {
            double acc = 0.0;
            for (size_t g = 0; g < j->groups; g++)
                acc += j->w_groups[g * d * l + c * d + i];
            w->w[c * d + i] = (float)(acc - w->mean[i] * ysum);
        }
    }
    return AE_OK;
}

/* a (d x l, column-major) := an orthonormal basis of its columns. */
static ae_status orthonormalize(work *w, float *a, const char *fn)
{
    const size_t d = w->d, l = w->l;
    lapack_int info = LAPACKE_sgeqrf(LAPACK_COL_MAJOR, (lapack_int)d,
                                     (lapack_int)l, a, (lapack_int)d,
                                     w->tau);
    if (info == 0)
        info = LAPACKE_sorgqr(LAPACK_COL_MAJOR, (lapack_int)d,
                              (lapack_int)l, (lapack_int)l, a,
                              (lapack_int)d, w->tau);
    if (info == LAPACK_WORK_MEMORY_ERROR)
        return ae__fail(AE_ERR_NO_MEMORY, "%s: LAPACK could not allocate "
                        "the workspace of a %zu x %zu QR", fn, d, l);
    if (info != 0)
        return ae__fail(AE_ERR_NUMERIC, "%s: the QR of a %zu x %zu matrix "
                        "returned info = %d", fn, d, l, (int)info);
    return AE_OK;
}

static void fill_gaussian(float *x, size_t n, uint64_t seed)
{
    ae__rng r;
    ae__rng_seed(&r, seed, 0x9ca);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)ae__rng_normal(&r);
}

/* The Cholesky factor R of b = Z^T (W + nu Z) into r (l x l, column-major,
 * upper), from the double copies z and wn = W + nu Z; 0 when b is not
 * positive definite at this nu. */
static lapack_int shifted_cholesky(size_t d, size_t l, const double *z,
                                   const double *wn, double *r)
{
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)l, (int)l,
                (int)d, 1.0, z, (int)d, wn, (int)d, 0.0, r, (int)l);
    for (size_t a = 0; a < l; a++) /* symmetric up to rounding */
        for (size_t b = a + 1; b < l; b++) {
            double s = 0.5 * (r[a * l + b] + r[b * l + a]);
            r[a * l + b] = r[b * l + a] = s;
        }
    return LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', (lapack_int)l, r,
                          (lapack_int)l);
}

/* The last step from z (orthonormal) and w = M z: B^T = (W + nu Z) R^-1
 * and its SVD in double; the first k left singular vectors and the
 * squared singular values less nu into f. */
static ae_status small_svd(const work *w, size_t k, double total,
                           ae__pca_fit *f, const char *fn)
{
    const size_t d = w->d, l = w->l;
    double *z = ae__calloc(d * l, sizeof(double));
    double *bt = ae__calloc(d * l, sizeof(double));
    double *u = ae__calloc(d * l, sizeof(double));
    double *r = ae__calloc(l * l, sizeof(double));
    double *sv = ae__calloc(l, sizeof(double));
    double *vt = ae__calloc(l * l, sizeof(double));
    ae_status s = AE_OK;
    if (!z || !bt || !u || !r || !sv || !vt)
        s = ae__fail(AE_ERR_NO_MEMORY, "%s: cannot allocate the %zu x %zu "
                     "SVD", fn, d, l);
    double norm = 0.0;
    for (size_t i = 0; s == AE_OK && i < d * l; i++) {
        z[i] = w->z[i];
        norm += (double)w->w[i] * w->w[i];
    }
    /* nu: float rounding's worth of |W|; zero data leaves nu = 0 and a
     * zero Gram, which no shift of 0 can factor: start at the smallest
     * normal double then. */
    double nu = fmax((double)FLT_EPSILON * sqrt(norm), DBL_MIN);
    lapack_int info = 1;
    for (int attempt = 0; s == AE_OK && info > 0 && attempt < 12;
         attempt++, nu *= 16.0) {
        for (size_t i = 0; i < d * l; i++)
            bt[i] = (double)w->w[i] + nu * z[i];
        info = shifted_cholesky(d, l, z, bt, r);
        if (info == 0)
            break;
    }
    if (s == AE_OK && info != 0)
        s = ae__fail(AE_ERR_NUMERIC, "%s: the %zu x %zu Gram matrix of the "
                     "range is not positive definite (dpotrf info = %d)",
                     fn, l, l, (int)info);
    if (s == AE_OK) {
        cblas_dtrsm(CblasColMajor, CblasRight, CblasUpper, CblasNoTrans,
                    CblasNonUnit, (int)d, (int)l, 1.0, r, (int)l, bt,
                    (int)d);
        info = LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'S', (lapack_int)d,
                              (lapack_int)l, bt, (lapack_int)d, sv, u,
                              (lapack_int)d, vt, (lapack_int)l);
        if (info == LAPACK_WORK_MEMORY_ERROR)
            s = ae__fail(AE_ERR_NO_MEMORY, "%s: LAPACKE_dgesdd could not "
                         "allocate its workspace", fn);
        else if (info != 0)
            s = ae__fail(AE_ERR_NUMERIC, "%s: LAPACKE_dgesdd on the %zu x "
                         "%zu projection returned info = %d", fn, d, l,
                         (int)info);
    }
    for (size_t c = 0; s == AE_OK && c < k; c++) {
        ae__pca_set_component(f, c, d, u + c * d, 1);
        f->variance[c] = fmax(sv[c] * sv[c] - nu, 0.0) / (double)(w->n - 1);
        f->ratio[c] = total > 0.0 ? f->variance[c] / total : 0.0;
    }
    ae__free(z);
    ae__free(bt);
    ae__free(u);
    ae__free(r);
    ae__free(sv);
    ae__free(vt);
    return s;
}

ae_status ae__pca_fit_randomized(const ae__pca_source *src, size_t k,
                                 const ae__pca_randomized_settings *set,
                                 ae__pca_fit *f, const char *fn)
{
    const size_t n = src->n, d = src->d;
    size_t l = k + (size_t)set->oversamples;
    if (l > n)
        l = n;
    if (l > d)
        l = d;
    const size_t groups = ae__parallel_blocks(n, GROUP_ROWS);
    const size_t parts = (size_t)ae__thread_count();
    const size_t block = n < AE__PCA_BLOCK_ROWS ? n : AE__PCA_BLOCK_ROWS;
    size_t dl, block_vals, scratch_part, scratch, w_groups;
    if (!ae__mul_size(d, l, &dl) || !ae__mul_size(block, d, &block_vals) ||
        !ae__mul_size(BLOCK_ROWS, d + l, &scratch_part) ||
        !ae__mul_size(parts, scratch_part, &scratch) ||
        !ae__mul_size(groups, dl, &w_groups) || n > (size_t)INT32_MAX)
        return ae__fail(AE_ERR_LIMIT, "%s: n = %zu rows of d = %zu are too "
                        "many for the randomized solver", fn, n, d);
    work w = {src, n, d, l, NULL, NULL, NULL, NULL, NULL, {0}};
    double *mean = ae__calloc(d, sizeof(double));
    float *buf = src->ds != NULL ? ae__calloc(block_vals, sizeof(float))
                                 : NULL;
    w.mean = mean;
    w.z = ae__calloc(dl, sizeof(float));
    w.w = ae__calloc(dl, sizeof(float));
    w.z_mean = ae__calloc(l, sizeof(float));
    w.tau = ae__calloc(l, sizeof(float));
    w.job = (power_job){src, n, d, l, groups, NULL, w.z_mean,
                        ae__calloc(scratch, sizeof(float)), scratch_part,
                        ae__calloc(w_groups, sizeof(float)),
                        ae__calloc(groups * l, sizeof(double)),
                        ae__calloc(groups, sizeof(ae_status))};
    ae_status s = AE_OK;
    if (!mean || (src->ds != NULL && !buf) || !w.z || !w.w ||
        !w.z_mean || !w.tau || !w.job.scratch || !w.job.w_groups ||
        !w.job.ysum_groups || !w.job.status)
        s = ae__fail(AE_ERR_NO_MEMORY, "%s: cannot allocate the randomized "
                     "solver's %zu x %zu range", fn, d, l);
    double total = 0.0;
    if (s == AE_OK)
        s = ae__pca_moments(src, buf, mean, &total, fn);
    if (s == AE_OK) {
        fill_gaussian(w.z, dl, set->seed);
        s = orthonormalize(&w, w.z, fn);
    }
    for (int it = 0; s == AE_OK && it <= set->power_iterations; it++) {
        s = times_m(&w, fn);
        if (s == AE_OK && it < set->power_iterations) {
            memcpy(w.z, w.w, dl * sizeof(float));
            s = orthonormalize(&w, w.z, fn);
        }
    }
    if (s == AE_OK)
        s = small_svd(&w, k, total, f, fn);
    for (size_t j = 0; s == AE_OK && j < d; j++)
        f->mean[j] = (float)mean[j];
    ae__free(mean);
    ae__free(buf);
    ae__free(w.z);
    ae__free(w.w);
    ae__free(w.z_mean);
    ae__free(w.tau);
    ae__free(w.job.scratch);
    ae__free(w.job.w_groups);
    ae__free(w.job.ysum_groups);
    ae__free(w.job.status);
    return s;
}

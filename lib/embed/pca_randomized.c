/* pca_randomized.c - PCA through a randomized SVD (Halko, Martinsson and
 * Tropp 2011, algorithms 4.4 and 5.1) whose range is the block Krylov
 * space of its power iterations (Rokhlin, Szlam and Tygert 2009; Musco
 * and Musco 2015), in float, on the data as it is.
 *
 * With A = X - 1 mean^T the centred n x d data, M = A^T A, l = k +
 * oversamples and q power iterations:
 *   Z_0 = orth(Omega)                  Omega a d x l Gaussian test matrix
 *   for b = 0 .. q:  W_b = M Z_b       one pass over the rows (below)
 *     Z_{b+1} = orth(W_b) orthogonal to Z_0 .. Z_b     (b < q)
 *   K = [Z_0 .. Z_q], M K = [W_0 .. W_q]   d x L, L = (q + 1) l (fewer
 *                                      blocks where L would pass d)
 *   R^T R = K^T M K                    Cholesky, in double
 *   B^T = (M K) R^-1 = U S V^T         components: the first k columns of
 *                                      U, explained variances S^2/(n - 1)
 * The last two lines are Halko's final step for Y = A K, done without
 * forming Y: Y^T Y = K^T M K, so Q = Y R^-1 is the Cholesky QR of Y and
 * B^T = A^T Q = M K R^-1.  range(Y) = A span{Omega, M Omega, ..,
 * M^q Omega} contains the range Halko's q power iterations keep, A M^q
 * Omega, so the estimate is at least as good as Halko's in exact
 * arithmetic, and on image data far better for the same passes: on
 * Fashion-MNIST, PCA-30 with 20 oversamples, Halko's q = 4 came within
 * 7e-7 - 1.1e-6 of the exact reconstruction MSE, the Krylov range with
 * q = 2 within 4.6e-7 - 5.1e-7, with q = 4 within 2e-12.
 *
 * One pass per power iteration.  W = M Z is computed by blocks of rows,
 * Y_b = A_b Z then W += A_b^T Y_b while the block is in cache: q + 1
 * passes over X with two products each, and no n x l matrix at all.  The
 * textbook form read X 2q + 2 times and did q + 1 tall thin QRs of n x l,
 * which with its threads' spinning took over half of its time
 * (docs/PERFORMANCE.md).  A is
 * never formed either: A_b Z = X_b Z - 1 (mean^T Z), and A^T Y = X^T Y -
 * mean (1^T Y) with Y centred, so the products stream the rows of X (or
 * of a dataset, converted block by block).  The mean and the total
 * variance come from a first pass, over a dataset's uint8 pixels as
 * exact integer sums.
 *
 * Stability.  (1) Orthonormalising after the two products of M rather
 * than after each: the columns of W = M Z spread as the eigenvalues of M
 * (lambda = sigma^2) instead of the singular values, and Householder QR
 * is backward stable whatever their spread, so the computed range is
 * that of W + E with |E| of order eps |W| = eps lambda_1: a direction
 * whose eigenvalue is below about eps lambda_1 (a component with a
 * variance under 1.2e-7 of the first one's, in float) can be lost, which
 * costs the reconstruction at most that variance; image data's 30th
 * component holds about 1e-2 of the first's.  Halko's form keeps
 * directions down to eps sigma_1, which only matters for components that
 * hold almost none of the variance.  (2) Each new block is made
 * orthogonal to the earlier ones by projecting twice and orthonormalised
 * twice ("twice is enough"), so K stays orthonormal to working precision
 * even where the Krylov space has run out of new directions (a block
 * left with rounding noise only: it is still orthogonal to K, and its
 * product by M is computed like any other).  (3) The Cholesky QR squares
 * the condition of Y, as (1) does; it runs in double on a Gram matrix
 * accurate to float rounding, so it sees the same eps lambda_1.  When L
 * exceeds the rank of A, K^T M K is singular: the Cholesky is of
 * K^T (M K + nu K) = K^T (M + nu I) K with nu = eps |M K|_F, raised
 * sixteenfold until it succeeds, and nu is taken back off the squared
 * singular values (Tropp, Yurtsever, Udell and Cevher 2017, the stable
 * Nystrom approximation, which this final step is); it moves an
 * eigenvalue by at most nu.
 *
 * Determinism.  The rows are cut into groups by n alone (never by the
 * thread count); each group's share of W is summed by one thread with
 * single-threaded BLAS, the shares are added in group order in double,
 * and the small products on the basis run single-threaded too, so a fit
 * gives the same bits at any thread count.
 *
 * Accuracy (Halko et al., theorem 10.6 with the power scheme, section
 * 10.4; Musco and Musco for the Krylov space): the error falls as the
 * gap between sigma_k and sigma_{L+1} raised to the power 2q + 1 or
 * better.  On image data, whose spectrum falls fast, q = 2 and 18
 * oversamples (the default) give components whose reconstruction MSE is
 * within 1e-5 of the exact solver's (measured by the library, above the
 * exact one, worst of seeds 0 - 3: 2.0e-7 on the 10,000 MNIST test
 * images and on the first 22,699 training images, 7.6e-7 on
 * Fashion-MNIST's 60,000; 20 oversamples gave 1.0e-7 and 4.7e-7, 10
 * gave 4.7e-6 on Fashion-MNIST, a margin too thin for a default;
 * tests/test_pca.c checks the bound the header promises). */
#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "common/parallel.h"
#include "data/dataset.h"
#include "embed/pca_randomized.h"

/* Rows a thread converts and multiplies at a time: the converted block
 * (784 floats a row, 800 KB) and its products stay in L2.  Groups: at
 * least GROUP_ROWS rows each, their number fixed by n. */
enum { BLOCK_ROWS = 256, GROUP_ROWS = 2048 };

/* One pass over the rows, by groups: the moments, or W = M Z. */
typedef struct power_job {
    const ae__pca_source *src;
    size_t n, d, l, groups;
    const float *z;      /* d x l, column-major */
    const float *z_mean; /* l: mean^T z, taken off every entry of X z */
    float *scratch;      /* per part: rows (dataset) then y, BLOCK_ROWS each */
    size_t scratch_part; /* floats of one part's scratch */
    float *w_groups;     /* groups x (d x l, column-major) */
    double *ysum_groups; /* groups x l: column sums of the centred y */
    double *sums_groups; /* array rows: groups x 2d, sums of x and x^2 */
    uint64_t *pixel_groups; /* dataset rows: the same of the uint8 pixels */
    ae_status *status;   /* groups */
} power_job;

/* The first pass: each group's sums of x and of x^2 by column (by
 * column, so that the loops vectorise without reordering a sum); for a
 * dataset, of its uint8 pixels, exactly and without converting them. */
static void moment_groups(void *ctx, size_t begin, size_t end, int part)
{
    (void)part;
    const power_job *j = ctx;
    const size_t n = j->n, d = j->d;
    for (size_t g = begin; g < end; g++) {
        const size_t first = n * g / j->groups,
                     last = n * (g + 1) / j->groups;
        if (j->src->ds != NULL) {
            uint64_t *sum = j->pixel_groups + g * 2 * d;
            for (size_t c = 0; c < 2 * d; c++)
                sum[c] = 0;
            ae__dataset_pixel_sums(j->src->ds, first, last - first, sum,
                                   sum + d);
            continue;
        }
        double *sum = j->sums_groups + g * 2 * d, *squares = sum + d;
        for (size_t c = 0; c < 2 * d; c++)
            sum[c] = 0.0;
        for (size_t r = first; r < last; r++) {
            const float *row = j->src->x + r * d;
            for (size_t c = 0; c < d; c++) {
                double v = row[c];
                sum[c] += v;
                squares[c] += v * v;
            }
        }
    }
}

/* Each group's share of W = M Z, by blocks of BLOCK_ROWS rows: y = A_b Z
 * (centred through z_mean), its column sums, then A_b^T y added up. */
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
    double *mean;   /* d */
    float *z;       /* d x l, column-major: the block the next pass uses */
    double *basis;  /* d x (blocks l), column-major: K, the blocks so far */
    double *mbasis; /* d x (blocks l): M K */
    double *spare;  /* d x l, then (blocks l) x l: set_block's scratch */
    double *tau;    /* l */
    float *z_mean;  /* l */
    power_job job;
} work;

/* The first row of group g that holds a NaN or an infinity. */
static size_t first_not_finite(const work *w, size_t g)
{
    const size_t d = w->d, groups = w->job.groups;
    size_t r = w->n * g / groups;
    for (; r + 1 < w->n * (g + 1) / groups; r++) {
        const float *row = w->src->x + r * d;
        double sq = 0.0;
        for (size_t c = 0; c < d; c++)
            sq += (double)row[c] * row[c];
        if (!isfinite(sq))
            break;
    }
    return r;
}

/* Mean and total variance of a dataset from its groups' integer sums: a
 * value is (p - offset) scale, so mean = (sum p / n - offset) scale and
 * sum (x - mean)^2 = scale^2 sum (p^2 - (sum p)^2 / n), by pixel.  The
 * sums are exact (at most 2^47 for 2^31 rows), the rest in double. */
static ae_status pixel_moments(work *w, double *total)
{
    const size_t d = w->d, n = w->n;
    const power_job *j = &w->job;
    const int symmetric = ae_dataset_range(w->src->ds) == AE_RANGE_SYMMETRIC;
    const double offset = symmetric ? 127.5 : 0.0;
    const double scale = symmetric ? 1.0 / 127.5 : 1.0 / 255.0;
    double spread = 0.0;
    for (size_t c = 0; c < d; c++) {
        uint64_t sum = 0, sum_sq = 0;
        for (size_t g = 0; g < j->groups; g++) {
            sum += j->pixel_groups[g * 2 * d + c];
            sum_sq += j->pixel_groups[g * 2 * d + d + c];
        }
        const double mean_p = (double)sum / (double)n;
        w->mean[c] = (mean_p - offset) * scale;
        spread += fmax((double)sum_sq - (double)sum * mean_p, 0.0);
    }
    *total = spread * scale * scale / (double)(n - 1);
    return AE_OK;
}

/* Mean (into w->mean) and total variance (n - 1 denominator) in one pass,
 * the groups shared by the threads; AE_ERR_NOT_FINITE naming the first
 * row that holds a NaN or an infinity.  A non-finite value makes its
 * column's sum of squares non-finite (a float squared stays finite in
 * double), so the sums are the check; a dataset's uint8 pixels need
 * none. */
static ae_status moments(work *w, double *total, const char *fn)
{
    const size_t d = w->d, n = w->n;
    power_job *j = &w->job;
    ae__parallel_for(j->groups, 1, 0, moment_groups, j);
    if (w->src->ds != NULL)
        return pixel_moments(w, total);
    double squares = 0.0;
    for (size_t c = 0; c < d; c++)
        w->mean[c] = 0.0;
    for (size_t g = 0; g < j->groups; g++) {
        const double *sum = j->sums_groups + g * 2 * d;
        double sq = 0.0;
        for (size_t c = 0; c < d; c++) {
            w->mean[c] += sum[c];
            sq += sum[d + c];
        }
        if (!isfinite(sq))
            return ae__fail(AE_ERR_NOT_FINITE, "%s: row %zu holds a NaN or "
                            "infinity", fn, first_not_finite(w, g));
        squares += sq;
    }
    double sum_mean_sq = 0.0;
    for (size_t c = 0; c < d; c++) {
        w->mean[c] /= (double)n;
        sum_mean_sq += w->mean[c] * w->mean[c];
    }
    /* sum (x - mean)^2 = sum x^2 - n sum mean^2: in double, for pixel
     * data, the cancellation costs far less than a float's precision. */
    *total = fmax(squares - (double)n * sum_mean_sq, 0.0) / (double)(n - 1);
    return AE_OK;
}

/* Block b of mbasis = M z: one pass over the rows, its groups shared by
 * the threads, then the groups' shares added in order, in double. */
static ae_status times_m(work *w, size_t b, const char *fn)
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
    ae__blas_set_threads(1); /* see ae__pca_fit_randomized */
    for (size_t g = 0; g < j->groups; g++)
        if (j->status[g] != AE_OK)
            return ae__fail(j->status[g], "%s: reading rows %zu..%zu failed",
                            fn, w->n * g / j->groups,
                            w->n * (g + 1) / j->groups - 1);
    /* The groups' shares added in group order, each streamed whole (by
     * element across the groups, the sum read 29 arrays at a stride of
     * 157 KB and took 2.6 ms a pass); then minus mean (1^T y), small as y
     * is centred. */
    double *out = w->mbasis + b * d * l;
    for (size_t i = 0; i < d * l; i++)
        out[i] = 0.0;
    for (size_t g = 0; g < j->groups; g++) {
        const float *share = j->w_groups + g * d * l;
        for (size_t i = 0; i < d * l; i++)
            out[i] += share[i];
    }
    for (size_t c = 0; c < l; c++) {
        double ysum = 0.0;
        for (size_t g = 0; g < j->groups; g++)
            ysum += j->ysum_groups[g * l + c];
        for (size_t i = 0; i < d; i++)
            out[c * d + i] -= w->mean[i] * ysum;
    }
    return AE_OK;
}

/* a (d x l, column-major, double) := an orthonormal basis of its
 * columns (Householder QR). */
static ae_status orthonormalize(work *w, double *a, const char *fn)
{
    const size_t d = w->d, l = w->l;
    lapack_int info = LAPACKE_dgeqrf(LAPACK_COL_MAJOR, (lapack_int)d,
                                     (lapack_int)l, a, (lapack_int)d,
                                     w->tau);
    if (info == 0)
        info = LAPACKE_dorgqr(LAPACK_COL_MAJOR, (lapack_int)d,
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

/* a (d x l) -= K (K^T a) for the first `cols` columns K of the basis. */
static void project_out(work *w, size_t cols, double *a)
{
    const size_t d = w->d, l = w->l;
    double *c = w->spare + d * l; /* cols x l */
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)cols, (int)l,
                (int)d, 1.0, w->basis, (int)d, a, (int)d, 0.0, c,
                (int)cols);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)l,
                (int)cols, -1.0, w->basis, (int)d, c, (int)cols, 1.0, a,
                (int)d);
}

/* Block b of the basis from a (d x l, overwritten): orthonormal, and
 * orthogonal to blocks 0 .. b-1, each step twice ("twice is enough":
 * once more makes the new block orthogonal to working precision even
 * where a has little left after the first projection); then rounded to
 * the float z the next pass multiplies by, and stored as exactly that. */
static ae_status set_block(work *w, size_t b, double *a, const char *fn)
{
    const size_t d = w->d, l = w->l, cols = b * l;
    ae_status s = AE_OK;
    for (int twice = 0; twice < 2 && s == AE_OK; twice++) {
        if (cols > 0) {
            project_out(w, cols, a);
            project_out(w, cols, a);
        }
        s = orthonormalize(w, a, fn);
    }
    for (size_t i = 0; s == AE_OK && i < d * l; i++) {
        w->z[i] = (float)a[i];
        w->basis[cols * d + i] = w->z[i];
    }
    return s;
}

static void fill_gaussian(float *x, size_t n, uint64_t seed)
{
    ae__rng r;
    ae__rng_seed(&r, seed, 0x9ca);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)ae__rng_normal(&r);
}

/* The Cholesky factor R of b = K^T (M K + nu K) into r (cols x cols,
 * column-major, upper), from wn = M K + nu K; nonzero when b is not
 * positive definite at this nu. */
static lapack_int shifted_cholesky(size_t d, size_t cols, const double *k,
                                   const double *wn, double *r)
{
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)cols,
                (int)cols, (int)d, 1.0, k, (int)d, wn, (int)d, 0.0, r,
                (int)cols);
    for (size_t a = 0; a < cols; a++) /* symmetric up to rounding */
        for (size_t b = a + 1; b < cols; b++) {
            double s = 0.5 * (r[a * cols + b] + r[b * cols + a]);
            r[a * cols + b] = r[b * cols + a] = s;
        }
    return LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', (lapack_int)cols, r,
                          (lapack_int)cols);
}

/* The last step from the basis K (d x cols, orthonormal) and M K:
 * B^T = (M K + nu K) R^-1, and the top k of its SVD U S V^T through the
 * eigenpairs of its Gram matrix, B B^T = V S^2 V^T, then U = B^T V S^-1,
 * in double: the k left singular vectors and the squared singular values
 * less nu into f.  dgesdd of the whole d x cols matrix took 13 ms, 4% of
 * a fit; the Gram matrix squares the spread of S, which double holds
 * with room to spare (S^2 spreads as the eigenvalues of M, and B^T is
 * only float-accurate). */
static ae_status small_svd(const work *w, size_t cols, size_t k,
                           double total, ae__pca_fit *f, const char *fn)
{
    const size_t d = w->d, dc = d * cols;
    double *bt = ae__calloc(dc, sizeof(double));
    double *r = ae__calloc(cols * cols, sizeof(double));
    double *s2 = ae__calloc(cols, sizeof(double));
    double *v = ae__calloc(cols * k, sizeof(double));
    double *u = ae__calloc(d * k, sizeof(double));
    lapack_int *support = ae__calloc(2 * k, sizeof(lapack_int));
    ae_status s = AE_OK;
    if (!bt || !r || !s2 || !v || !u || !support)
        s = ae__fail(AE_ERR_NO_MEMORY, "%s: cannot allocate the %zu x %zu "
                     "SVD", fn, d, cols);
    double norm = 0.0;
    for (size_t i = 0; s == AE_OK && i < dc; i++)
        norm += w->mbasis[i] * w->mbasis[i];
    /* nu: float rounding's worth of |M K|; all-constant data leaves
     * M K = 0, and the smallest normal double then. */
    double nu = fmax((double)FLT_EPSILON * sqrt(norm), DBL_MIN);
    lapack_int info = 1;
    for (int attempt = 0; s == AE_OK && attempt < 12; attempt++) {
        for (size_t i = 0; i < dc; i++)
            bt[i] = w->mbasis[i] + nu * w->basis[i];
        info = shifted_cholesky(d, cols, w->basis, bt, r);
        if (info == 0)
            break;
        nu *= 16.0;
    }
    if (s == AE_OK && info != 0)
        s = ae__fail(AE_ERR_NUMERIC, "%s: the %zu x %zu Gram matrix of the "
                     "range is not positive definite (dpotrf info = %d)",
                     fn, cols, cols, (int)info);
    lapack_int found = 0;
    if (s == AE_OK) {
        cblas_dtrsm(CblasColMajor, CblasRight, CblasUpper, CblasNoTrans,
                    CblasNonUnit, (int)d, (int)cols, 1.0, r, (int)cols, bt,
                    (int)d);
        /* r := B B^T, upper triangle; its k largest eigenpairs, ascending */
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, (int)cols, (int)d,
                    1.0, bt, (int)d, 0.0, r, (int)cols);
        info = LAPACKE_dsyevr(LAPACK_COL_MAJOR, 'V', 'I', 'U',
                              (lapack_int)cols, r, (lapack_int)cols, 0.0,
                              0.0, (lapack_int)(cols - k + 1),
                              (lapack_int)cols, 0.0, &found, s2, v,
                              (lapack_int)cols, support);
        if (info == LAPACK_WORK_MEMORY_ERROR)
            s = ae__fail(AE_ERR_NO_MEMORY, "%s: LAPACKE_dsyevr could not "
                         "allocate its workspace", fn);
        else if (info != 0 || found != (lapack_int)k)
            s = ae__fail(AE_ERR_NUMERIC, "%s: LAPACKE_dsyevr on the %zu x "
                         "%zu projection returned info = %d", fn, cols, cols,
                         (int)info);
    }
    if (s == AE_OK)
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)d,
                    (int)k, (int)cols, 1.0, bt, (int)d, v, (int)cols, 0.0, u,
                    (int)d);
    for (size_t c = 0; s == AE_OK && c < k; c++) {
        /* component c is the (c+1)-th largest: column k-1-c.  B^T v has
         * length S; dividing by the computed length keeps it a unit
         * vector however S was rounded (B^T has full rank, as M + nu I
         * is positive definite). */
        const size_t col = k - 1 - c;
        double *uc = u + col * d, length = 0.0;
        for (size_t i = 0; i < d; i++)
            length += uc[i] * uc[i];
        length = sqrt(length);
        for (size_t i = 0; i < d; i++)
            uc[i] /= length;
        ae__pca_set_component(f, c, d, uc, 1);
        f->variance[c] = fmax(s2[col] - nu, 0.0) / (double)(w->n - 1);
        f->ratio[c] = total > 0.0 ? f->variance[c] / total : 0.0;
    }
    ae__free(bt);
    ae__free(r);
    ae__free(s2);
    ae__free(v);
    ae__free(u);
    ae__free(support);
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
    /* q + 1 blocks of l, at most d columns in all (the basis then spans
     * everything a further block could add). */
    size_t blocks = (size_t)set->power_iterations + 1;
    if (blocks > d / l)
        blocks = d / l;
    /* A multiple of 4 groups where there are 4 or more, so that 2 or 4
     * threads get equal shares: of 29, one thread's 15th left the other
     * waiting for 3% of each pass. */
    size_t groups = ae__parallel_blocks(n, GROUP_ROWS);
    if (groups >= 4)
        groups -= groups % 4;
    const size_t parts = (size_t)ae__thread_count();
    size_t dl, dcols, scratch_part, scratch, w_groups;
    if (!ae__mul_size(d, l, &dl) || !ae__mul_size(dl, blocks, &dcols) ||
        !ae__mul_size(BLOCK_ROWS, d + l, &scratch_part) ||
        !ae__mul_size(parts, scratch_part, &scratch) ||
        !ae__mul_size(groups, dl, &w_groups) || n > (size_t)INT32_MAX)
        return ae__fail(AE_ERR_LIMIT, "%s: n = %zu rows of d = %zu are too "
                        "many for the randomized solver", fn, n, d);
    work w = {src, n, d, l, NULL, NULL, NULL, NULL, NULL, NULL, NULL, {0}};
    w.mean = ae__calloc(d, sizeof(double));
    w.z = ae__calloc(dl, sizeof(float));
    w.basis = ae__calloc(dcols, sizeof(double));
    w.mbasis = ae__calloc(dcols, sizeof(double));
    w.spare = ae__calloc(dl + l * l * blocks, sizeof(double));
    w.tau = ae__calloc(l, sizeof(double));
    w.z_mean = ae__calloc(l, sizeof(float));
    w.job = (power_job){src, n, d, l, groups, NULL, w.z_mean,
                        ae__calloc(scratch, sizeof(float)), scratch_part,
                        ae__calloc(w_groups, sizeof(float)),
                        ae__calloc(groups * l, sizeof(double)),
                        src->ds == NULL
                            ? ae__calloc(groups * 2 * d, sizeof(double))
                            : NULL,
                        src->ds != NULL
                            ? ae__calloc(groups * 2 * d, sizeof(uint64_t))
                            : NULL,
                        ae__calloc(groups, sizeof(ae_status))};
    ae_status s = AE_OK;
    if (!w.mean || !w.z || !w.basis || !w.mbasis || !w.spare || !w.tau ||
        !w.z_mean || !w.job.scratch || !w.job.w_groups ||
        !w.job.ysum_groups || !(w.job.sums_groups || w.job.pixel_groups) ||
        !w.job.status)
        s = ae__fail(AE_ERR_NO_MEMORY, "%s: cannot allocate the randomized "
                     "solver's %zu x %zu basis", fn, d, l * blocks);
    double total = 0.0;
    /* The small products on the basis (d x l at a time) run single-
     * threaded: threaded, they took no time off and left OpenBLAS's
     * threads spinning for the next pass to wait on (6% of the samples),
     * and their bits followed the thread count. */
    ae__blas_set_threads(1);
    if (s == AE_OK)
        s = moments(&w, &total, fn);
    if (s == AE_OK) {
        fill_gaussian(w.z, dl, set->seed);
        for (size_t i = 0; i < dl; i++)
            w.spare[i] = w.z[i];
        s = set_block(&w, 0, w.spare, fn);
    }
    for (size_t b = 0; s == AE_OK && b < blocks; b++) {
        s = times_m(&w, b, fn);
        if (s == AE_OK && b + 1 < blocks) {
            memcpy(w.spare, w.mbasis + b * dl, dl * sizeof(double));
            s = set_block(&w, b + 1, w.spare, fn);
        }
    }
    if (s == AE_OK)
        s = small_svd(&w, blocks * l, k, total, f, fn);
    ae__blas_set_threads(ae__thread_count());
    for (size_t j = 0; s == AE_OK && j < d; j++)
        f->mean[j] = (float)w.mean[j];
    ae__free(w.mean);
    ae__free(w.z);
    ae__free(w.basis);
    ae__free(w.mbasis);
    ae__free(w.spare);
    ae__free(w.tau);
    ae__free(w.z_mean);
    ae__free(w.job.scratch);
    ae__free(w.job.w_groups);
    ae__free(w.job.ysum_groups);
    ae__free(w.job.sums_groups);
    ae__free(w.job.pixel_groups);
    ae__free(w.job.status);
    return s;
}

/* tsne.c - exact t-SNE (van der Maaten and Hinton, 2008).
 *
 * Input affinities: squared distances D_ij = |x_i|^2 + |x_j|^2 - 2 x_i.x_j
 * of the centred rows (dgemm, a block of rows at a time, in double, kept as
 * float); per row, bisection on beta_i makes the entropy of
 * p_j|i = exp(-beta_i D_ij) / sum_k exp(-beta_i D_ik) equal log(perplexity);
 * then P = (P_cond + P_cond^T) / sum, floored at 1e-12 as the reference.
 *
 * Map: K_ij = 1 / (1 + |y_i - y_j|^2), q_ij = K_ij / Z, Z = sum_{k!=l} K_kl.
 * Gradient: dC/dy_i = 4 sum_j (p_ij - q_ij) K_ij (y_i - y_j)
 *                   = 4 (A_i - R_i / Z),
 * A_i = sum_j p_ij K_ij (y_i - y_j), R_i = sum_j K_ij^2 (y_i - y_j), so one
 * pass over P's rows gives A, R and the row sums of K with no n x n kernel
 * matrix, and rows are independent: the library's threads (parallel.h)
 * take contiguous row ranges and every row is summed the same way whatever
 * the thread count.
 *
 * Optimiser (reference tsne.py): u = momentum u - eta gains g, y += u,
 * gains + 0.2 where g and u differ in sign, else gains * 0.8, floor 0.01. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "common/finite.h"
#include "common/internal.h"
#include "common/parallel.h"

/* Rows of the distance matrix per dgemm call: 64 x n doubles (2.5 MB at
 * n = 5,000) keep BLAS efficient without a second n x n buffer. */
enum { TSNE_BLOCK_ROWS = 64, TSNE_BISECTION_STEPS = 100 };
/* Rows per thread below which more threads cost more than they save. */
enum { TSNE_MIN_ROWS_PER_THREAD = 64 };
/* The pair loop keeps LANES independent partial sums per row in a GCC /
 * Clang vector (the library already needs GNU C: rng.c uses __uint128_t):
 * SIMD without -ffast-math, and a summation order fixed by the code rather
 * than by the compiler or the thread count.  Without AVX a vector of 8 is
 * two SSE registers, which also gives two independent add chains. */
enum { LANES = 8 };
typedef float lanes __attribute__((vector_size(LANES * sizeof(float))));

#define TSNE_STREAM UINT64_C(0x54534e45) /* "TSNE" */
#define TSNE_ENTROPY_TOL 1e-5
#define TSNE_P_FLOOR 1e-12f
#define TSNE_MIN_GAIN 0.01

struct ae_tsne {
    int dims;
    double perplexity, learning_rate, exaggeration;
    long iterations, exaggeration_iterations;
    uint64_t seed;
    int has_kl;
    double kl;
};

/* ---- handle and parameters ---------------------------------------------- */

ae_status ae_tsne_create(ae_tsne **out, int out_dims)
{
    AE_REQUIRE(out);
    *out = NULL;
    if (out_dims != 2 && out_dims != 3)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_tsne_create: out_dims %d must be 2 or 3",
                        out_dims);
    ae_tsne *t;
    AE_ALLOC_OR_FAIL(t, 1, "the t-SNE handle");
    t->dims = out_dims;
    t->perplexity = 30.0;
    t->iterations = 1000;
    t->learning_rate = 200.0;
    t->exaggeration = 12.0;
    t->exaggeration_iterations = 250;
    t->seed = 0;
    *out = t;
    return AE_OK;
}

void ae_tsne_free(ae_tsne *t)
{
    ae__free(t);
}

/* 1 if v is a whole number in [lo, hi] (NaN fails every comparison). */
static int is_whole(double v, double lo, double hi)
{
    return v >= lo && v <= hi && v == floor(v);
}

ae_status ae_tsne_set(ae_tsne *t, ae_tsne_param p, double v)
{
    AE_REQUIRE(t);
    int ok = 0;
    switch (p) {
    case AE_TSNE_PERPLEXITY:
        /* perplexity 1 is entropy 0, a single neighbour: nothing lower
         * exists.  The upper bound depends on n and is checked by run. */
        if ((ok = v >= 1.0 && v <= (double)AE_TSNE_MAX_POINTS))
            t->perplexity = v;
        break;
    case AE_TSNE_ITERATIONS:
        if ((ok = is_whole(v, 1.0, 1e6)))
            t->iterations = (long)v;
        break;
    case AE_TSNE_LEARNING_RATE:
        if ((ok = v > 0.0 && v <= 1e6))
            t->learning_rate = v;
        break;
    case AE_TSNE_EARLY_EXAGGERATION:
        if ((ok = v >= 1.0 && v <= 1000.0))
            t->exaggeration = v;
        break;
    case AE_TSNE_SEED:
        /* Seeds are exact in a double up to 2^53, which is plenty. */
        if ((ok = is_whole(v, 0.0, 9007199254740992.0)))
            t->seed = (uint64_t)v;
        break;
    case AE_TSNE_EXAGGERATION_ITERATIONS:
        if ((ok = is_whole(v, 0.0, 1e6)))
            t->exaggeration_iterations = (long)v;
        break;
    default:
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_tsne_set: unknown t-SNE parameter %d", (int)p);
    }
    if (!ok)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_tsne_set: t-SNE parameter %d: %g is out of range",
                        (int)p, v);
    return AE_OK;
}

ae_status ae_tsne_get(const ae_tsne *t, ae_tsne_param p, double *v)
{
    AE_REQUIRE(t);
    AE_REQUIRE(v);
    switch (p) {
    case AE_TSNE_PERPLEXITY: *v = t->perplexity; break;
    case AE_TSNE_ITERATIONS: *v = (double)t->iterations; break;
    case AE_TSNE_LEARNING_RATE: *v = t->learning_rate; break;
    case AE_TSNE_EARLY_EXAGGERATION: *v = t->exaggeration; break;
    case AE_TSNE_SEED: *v = (double)t->seed; break;
    case AE_TSNE_EXAGGERATION_ITERATIONS:
        *v = (double)t->exaggeration_iterations;
        break;
    default:
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_tsne_get: unknown t-SNE parameter %d", (int)p);
    }
    return AE_OK;
}

ae_status ae_tsne_kl_divergence(const ae_tsne *t, double *kl)
{
    AE_REQUIRE(t);
    AE_REQUIRE(kl);
    if (!t->has_kl)
        return ae__fail(AE_ERR_BAD_STATE,
                        "ae_tsne_kl_divergence: no successful ae_tsne_run "
                        "yet");
    *kl = t->kl;
    return AE_OK;
}

/* ---- input affinities --------------------------------------------------- */

/* Squared distances of the centred rows xc (n x d doubles, norms = |row|^2)
 * into dist (n x n floats), through rows x all-rows dgemm blocks in g. */
static void squared_distances(const double *xc, const double *norms,
                              size_t n, size_t d, double *g, float *dist)
{
    for (size_t first = 0; first < n; first += TSNE_BLOCK_ROWS) {
        size_t m = n - first < TSNE_BLOCK_ROWS ? n - first : TSNE_BLOCK_ROWS;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n,
                    (int)d, 1.0, xc + first * d, (int)d, xc, (int)d, 0.0, g,
                    (int)n);
        for (size_t r = 0; r < m; r++) {
            const size_t i = first + r;
            float *row = dist + i * n;
            for (size_t j = 0; j < n; j++) {
                /* Rounding can take a tiny distance below 0. */
                double v = norms[i] + norms[j] - 2.0 * g[r * n + j];
                row[j] = v > 0.0 ? (float)v : 0.0f;
            }
            row[i] = 0.0f;
        }
    }
}

typedef struct affinity_job {
    float *p; /* n x n: distances in, conditional p_j|i out */
    size_t n;
    double log_perplexity;
} affinity_job;

/* Entropy H = log S + beta sum_j D_j e_j / S, e_j = exp(-beta D_j),
 * S = sum_j e_j, of row i's Gaussian at beta, distances taken relative to
 * the row's smallest (dmin) so that S >= 1 never underflows; the shift
 * cancels in p_j|i. */
static double row_entropy(const float *row, size_t i, size_t n, double dmin,
                          double beta)
{
    double s = 0.0, sde = 0.0;
    for (size_t j = 0; j < n; j++) {
        if (j == i)
            continue;
        double dj = (double)row[j] - dmin;
        double e = exp(-beta * dj);
        s += e;
        sde += dj * e;
    }
    return log(s) + beta * sde / s;
}

/* Rows first .. last-1: bisection on beta for H = log(perplexity) (beta
 * doubles or halves until the target is bracketed), then p_j|i. */
static void affinity_rows(void *ctx, size_t first, size_t last, int part)
{
    (void)part;
    const affinity_job *job = ctx;
    const size_t n = job->n;
    for (size_t i = first; i < last; i++) {
        float *row = job->p + i * n;
        double dmin = INFINITY;
        for (size_t j = 0; j < n; j++)
            if (j != i && row[j] < dmin)
                dmin = row[j];
        double beta = 1.0, lo = 0.0, hi = INFINITY;
        for (int step = 0; step < TSNE_BISECTION_STEPS; step++) {
            double h = row_entropy(row, i, n, dmin, beta);
            if (fabs(h - job->log_perplexity) < TSNE_ENTROPY_TOL)
                break;
            if (h > job->log_perplexity) { /* too flat: narrow the kernel */
                lo = beta;
                beta = isinf(hi) ? 2.0 * beta : 0.5 * (beta + hi);
            } else {
                hi = beta;
                beta = 0.5 * (beta + lo);
            }
        }
        double s = 0.0;
        for (size_t j = 0; j < n; j++) {
            double e = j == i ? 0.0 : exp(-beta * ((double)row[j] - dmin));
            s += e;
            row[j] = (float)e;
        }
        const float inv = (float)(1.0 / s);
        for (size_t j = 0; j < n; j++)
            row[j] *= inv;
    }
}

/* P = (P + P^T) / sum, floored at TSNE_P_FLOOR off the diagonal, in place;
 * tiles keep the transposed reads in cache. */
static void symmetrize(float *p, size_t n)
{
    enum { TILE = 64 };
    double sum = 0.0;
    for (size_t ib = 0; ib < n; ib += TILE)
        for (size_t jb = ib; jb < n; jb += TILE)
            for (size_t i = ib; i < ib + TILE && i < n; i++)
                for (size_t j = jb > i + 1 ? jb : i + 1;
                     j < jb + TILE && j < n; j++) {
                    float v = p[i * n + j] + p[j * n + i];
                    p[i * n + j] = v;
                    p[j * n + i] = v;
                    sum += 2.0 * (double)v;
                }
    const float scale = (float)(1.0 / sum);
    for (size_t i = 0; i < n; i++) {
        float *row = p + i * n;
        for (size_t j = 0; j < n; j++) {
            float v = row[j] * scale;
            row[j] = v > TSNE_P_FLOOR ? v : TSNE_P_FLOOR;
        }
        row[i] = 0.0f;
    }
}

/* ---- the map: one pass over every pair ---------------------------------- */

typedef struct force_job {
    const float *p;  /* n x n symmetric P, zero diagonal */
    size_t n;
    int dims;
    const float *y[3]; /* map coordinates, one array per dimension */
    double *attr;      /* n x dims: A_i */
    double *rep;       /* n x dims: R_i */
    double *z;         /* n: sum_{j != i} K_ij */
    double *kl;        /* NULL, or n: sum_j p_ij log(p_ij / K_ij) */
    double *psum;      /* with kl, n: sum_j p_ij */
} force_job;

/* Lane sums to one double, in a fixed order. */
static double lane_sum(const lanes *v)
{
    double s = 0.0;
    for (int l = 0; l < LANES; l++)
        s += (*v)[l];
    return s;
}

/* LANES floats from p, any alignment (a macro: passing vectors wider than
 * the baseline ABI's registers by value draws -Wpsabi). */
#define LOAD_LANES(v, ptr) memcpy(&(v), (ptr), sizeof(lanes))

/* Row i in 2-D: A_i, R_i and Z_i.  The j = i term adds K_ii = 1 to Z_i and
 * nothing to A_i or R_i (y_i - y_i = 0, p_ii = 0); it is taken out after
 * rather than tested for in the loop.  Points past the last whole group of
 * LANES go to the first lanes. */
static void forces_row2(const force_job *job, size_t i)
{
    const size_t n = job->n;
    const float *p = job->p + i * n, *y0 = job->y[0], *y1 = job->y[1];
    const lanes one = (lanes){0} + 1.0f;
    const lanes a0 = (lanes){0} + y0[i], a1 = (lanes){0} + y1[i];
    lanes z = {0}, at0 = {0}, at1 = {0}, re0 = {0}, re1 = {0};
    size_t j = 0;
    for (; j + LANES <= n; j += LANES) {
        lanes v0, v1, pv;
        LOAD_LANES(v0, y0 + j);
        LOAD_LANES(v1, y1 + j);
        LOAD_LANES(pv, p + j);
        lanes d0 = a0 - v0, d1 = a1 - v1;
        lanes k = one / (one + d0 * d0 + d1 * d1);
        lanes pk = pv * k, kk = k * k;
        z += k;
        at0 += pk * d0;
        at1 += pk * d1;
        re0 += kk * d0;
        re1 += kk * d1;
    }
    for (int l = 0; j < n; j++, l++) {
        float d0 = a0[0] - y0[j], d1 = a1[0] - y1[j];
        float k = 1.0f / (1.0f + d0 * d0 + d1 * d1);
        float pk = p[j] * k, kk = k * k;
        z[l] += k;
        at0[l] += pk * d0;
        at1[l] += pk * d1;
        re0[l] += kk * d0;
        re1[l] += kk * d1;
    }
    job->z[i] = lane_sum(&z) - 1.0;
    job->attr[2 * i] = lane_sum(&at0);
    job->attr[2 * i + 1] = lane_sum(&at1);
    job->rep[2 * i] = lane_sum(&re0);
    job->rep[2 * i + 1] = lane_sum(&re1);
}

/* The same in 3-D. */
static void forces_row3(const force_job *job, size_t i)
{
    const size_t n = job->n;
    const float *p = job->p + i * n, *y0 = job->y[0], *y1 = job->y[1],
                *y2 = job->y[2];
    const lanes one = (lanes){0} + 1.0f;
    const lanes a0 = (lanes){0} + y0[i], a1 = (lanes){0} + y1[i],
                a2 = (lanes){0} + y2[i];
    lanes z = {0}, at0 = {0}, at1 = {0}, at2 = {0};
    lanes re0 = {0}, re1 = {0}, re2 = {0};
    size_t j = 0;
    for (; j + LANES <= n; j += LANES) {
        lanes v0, v1, v2, pv;
        LOAD_LANES(v0, y0 + j);
        LOAD_LANES(v1, y1 + j);
        LOAD_LANES(v2, y2 + j);
        LOAD_LANES(pv, p + j);
        lanes d0 = a0 - v0, d1 = a1 - v1, d2 = a2 - v2;
        lanes k = one / (one + d0 * d0 + d1 * d1 + d2 * d2);
        lanes pk = pv * k, kk = k * k;
        z += k;
        at0 += pk * d0;
        at1 += pk * d1;
        at2 += pk * d2;
        re0 += kk * d0;
        re1 += kk * d1;
        re2 += kk * d2;
    }
    for (int l = 0; j < n; j++, l++) {
        float d0 = a0[0] - y0[j], d1 = a1[0] - y1[j], d2 = a2[0] - y2[j];
        float k = 1.0f / (1.0f + d0 * d0 + d1 * d1 + d2 * d2);
        float pk = p[j] * k, kk = k * k;
        z[l] += k;
        at0[l] += pk * d0;
        at1[l] += pk * d1;
        at2[l] += pk * d2;
        re0[l] += kk * d0;
        re1[l] += kk * d1;
        re2[l] += kk * d2;
    }
    job->z[i] = lane_sum(&z) - 1.0;
    job->attr[3 * i] = lane_sum(&at0);
    job->attr[3 * i + 1] = lane_sum(&at1);
    job->attr[3 * i + 2] = lane_sum(&at2);
    job->rep[3 * i] = lane_sum(&re0);
    job->rep[3 * i + 1] = lane_sum(&re1);
    job->rep[3 * i + 2] = lane_sum(&re2);
}

static void force_rows(void *ctx, size_t first, size_t last, int part)
{
    (void)part;
    const force_job *job = ctx;
    for (size_t i = first; i < last; i++) {
        if (job->dims == 2)
            forces_row2(job, i);
        else
            forces_row3(job, i);
    }
}

/* Row i's share of KL(P || Q) = sum_ij p_ij log(p_ij / K_ij) + log(Z)
 * sum_ij p_ij, in double (once per run), with Z_i for the total. */
static void kl_rows(void *ctx, size_t first, size_t last, int part)
{
    (void)part;
    const force_job *job = ctx;
    const size_t n = job->n;
    for (size_t i = first; i < last; i++) {
        const float *p = job->p + i * n;
        double z = 0.0, kl = 0.0, psum = 0.0;
        for (size_t j = 0; j < n; j++) {
            if (j == i)
                continue;
            double d2 = 0.0;
            for (int c = 0; c < job->dims; c++) {
                double dc = (double)job->y[c][i] - job->y[c][j];
                d2 += dc * dc;
            }
            double k = 1.0 / (1.0 + d2);
            z += k;
            psum += p[j];
            kl += p[j] * log((double)p[j] / k);
        }
        job->z[i] = z;
        job->kl[i] = kl;
        job->psum[i] = psum;
    }
}

/* ---- the run ------------------------------------------------------------ */

/* Everything one run allocates. */
typedef struct tsne_work {
    float *p;          /* n x n */
    double *xc, *norms, *g, *mean;
    double *y, *update, *gains; /* n x dims */
    float *yf;                  /* dims x n */
    double *attr, *rep, *z, *kl, *psum;
} tsne_work;

static void work_free(tsne_work *w)
{
    ae__free(w->p);
    ae__free(w->xc);
    ae__free(w->norms);
    ae__free(w->g);
    ae__free(w->mean);
    ae__free(w->y);
    ae__free(w->update);
    ae__free(w->gains);
    ae__free(w->yf);
    ae__free(w->attr);
    ae__free(w->rep);
    ae__free(w->z);
    ae__free(w->kl);
    ae__free(w->psum);
}

/* y -= mean(y), then the float copy the pair loop reads. */
static void centre_map(double *y, float *yf, size_t n, int dims)
{
    for (int c = 0; c < dims; c++) {
        double mean = 0.0;
        for (size_t i = 0; i < n; i++)
            mean += y[i * dims + c];
        mean /= (double)n;
        for (size_t i = 0; i < n; i++) {
            y[i * dims + c] -= mean;
            yf[(size_t)c * n + i] = (float)y[i * dims + c];
        }
    }
}

static int map_finite(const double *y, size_t count)
{
    double acc = 0.0;
    for (size_t i = 0; i < count; i++)
        acc += y[i] * 0.0;
    return acc == 0.0;
}

ae_status ae_tsne_run(ae_tsne *t, const float *x, size_t n, size_t d,
                      float *y)
{
    AE_REQUIRE(t);
    AE_REQUIRE(x);
    AE_REQUIRE(y);
    const int dims = t->dims;
    if (n < 4)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_tsne_run: n = %zu points, need at least 4", n);
    if (n > AE_TSNE_MAX_POINTS)
        return ae__fail(AE_ERR_LIMIT,
                        "ae_tsne_run: n = %zu points exceeds the exact "
                        "t-SNE limit of %d", n, AE_TSNE_MAX_POINTS);
    if (d == 0)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_tsne_run: dimension d is 0");
    if (3.0 * t->perplexity > (double)(n - 1))
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_tsne_run: perplexity %g is too large for n = %zu "
                        "points (need 3 * perplexity <= n - 1, so at most "
                        "%g)", t->perplexity, n, (double)(n - 1) / 3.0);
    size_t nd, nn;
    if (d > (size_t)INT32_MAX || !ae__mul_size(n, d, &nd) ||
        !ae__mul_size(n, n, &nn))
        return ae__fail(AE_ERR_LIMIT,
                        "ae_tsne_run: dimension d = %zu is too large", d);
    if (!ae__all_finite(x, nd))
        return ae__fail(AE_ERR_NOT_FINITE,
                        "ae_tsne_run: x holds a NaN or infinity");

    const size_t nk = n * (size_t)dims;
    tsne_work w = {0};
    w.p = ae__calloc(nn, sizeof(float));
    w.xc = ae__calloc(nd, sizeof(double));
    w.norms = ae__calloc(n, sizeof(double));
    w.g = ae__calloc((size_t)TSNE_BLOCK_ROWS * n, sizeof(double));
    w.mean = ae__calloc(d, sizeof(double));
    w.y = ae__calloc(nk, sizeof(double));
    w.update = ae__calloc(nk, sizeof(double));
    w.gains = ae__calloc(nk, sizeof(double));
    w.yf = ae__calloc(nk, sizeof(float));
    w.attr = ae__calloc(nk, sizeof(double));
    w.rep = ae__calloc(nk, sizeof(double));
    w.z = ae__calloc(n, sizeof(double));
    w.kl = ae__calloc(n, sizeof(double));
    w.psum = ae__calloc(n, sizeof(double));
    if (!w.p || !w.xc || !w.norms || !w.g || !w.mean || !w.y || !w.update || !w.gains ||
        !w.yf || !w.attr || !w.rep || !w.z || !w.kl || !w.psum) {
        work_free(&w);
        return ae__fail(AE_ERR_NO_MEMORY,
                        "ae_tsne_run: cannot allocate the workspace for "
                        "n = %zu points of d = %zu (%zu MB for P)", n, d,
                        nn * sizeof(float) >> 20);
    }

    /* Centring changes no distance but shrinks the norms, and with them
     * the cancellation in |a|^2 + |b|^2 - 2 a.b. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            w.mean[j] += x[i * d + j];
    for (size_t j = 0; j < d; j++)
        w.mean[j] /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double s = 0.0;
        for (size_t j = 0; j < d; j++) {
            double v = (double)x[i * d + j] - w.mean[j];
            w.xc[i * d + j] = v;
            s += v * v;
        }
        w.norms[i] = s;
    }
    (void)ae__thread_count(); /* make sure BLAS runs with our thread count */
    squared_distances(w.xc, w.norms, n, d, w.g, w.p);

    /* BLAS is done: the library's threads take over (parallel.h). */
    affinity_job aj = {w.p, n, log(t->perplexity)};
    ae__parallel_for(n, TSNE_MIN_ROWS_PER_THREAD, 0, affinity_rows, &aj);
    symmetrize(w.p, n);

    ae__rng rng;
    ae__rng_seed(&rng, t->seed, TSNE_STREAM);
    for (size_t i = 0; i < nk; i++) {
        w.y[i] = 1e-4 * ae__rng_normal(&rng);
        w.gains[i] = 1.0;
    }
    centre_map(w.y, w.yf, n, dims);

    force_job fj = {w.p, n, dims, {w.yf, w.yf + n, dims == 3 ? w.yf + 2 * n
                                                               : NULL},
                    w.attr, w.rep, w.z, NULL, NULL};
    ae_status status = AE_OK;
    const double eta = t->learning_rate;
    for (long it = 0; it < t->iterations; it++) {
        const int early = it < t->exaggeration_iterations;
        const double exaggeration = early ? t->exaggeration : 1.0;
        const double momentum = early ? 0.5 : 0.8;
        ae__parallel_for(n, TSNE_MIN_ROWS_PER_THREAD, 0, force_rows, &fj);
        double z = 0.0;
        for (size_t i = 0; i < n; i++)
            z += w.z[i];
        const double inv_z = 1.0 / z;
        for (size_t i = 0; i < nk; i++) {
            double g = 4.0 * (exaggeration * w.attr[i] - w.rep[i] * inv_z);
            double u = w.update[i];
            double gain = (g > 0.0) != (u > 0.0) ? w.gains[i] + 0.2
                                                 : w.gains[i] * 0.8;
            if (gain < TSNE_MIN_GAIN)
                gain = TSNE_MIN_GAIN;
            w.gains[i] = gain;
            u = momentum * u - eta * gain * g;
            w.update[i] = u;
            w.y[i] += u;
        }
        centre_map(w.y, w.yf, n, dims);
        /* A diverging map stays NaN; stop early rather than iterate on. */
        if ((it % 50 == 49 || it + 1 == t->iterations) &&
            !map_finite(w.y, nk)) {
            status = ae__fail(AE_ERR_NOT_FINITE,
                              "ae_tsne_run: the map diverged by iteration "
                              "%ld (learning rate %g too large?)", it + 1,
                              eta);
            break;
        }
    }

    if (status == AE_OK) {
        fj.kl = w.kl;
        fj.psum = w.psum;
        ae__parallel_for(n, TSNE_MIN_ROWS_PER_THREAD, 0, kl_rows, &fj);
        double z = 0.0, kl = 0.0, psum = 0.0;
        for (size_t i = 0; i < n; i++) {
            z += w.z[i];
            kl += w.kl[i];
            psum += w.psum[i];
        }
        t->kl = kl + log(z) * psum;
        t->has_kl = 1;
        for (size_t i = 0; i < nk; i++)
            y[i] = (float)w.y[i];
    }
    work_free(&w);
    return status;
}

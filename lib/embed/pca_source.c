/* pca_source.c - the data side of a PCA fit, shared by the exact solver
 * (pca.c) and the randomized one (pca_randomized.c). */
#include <math.h>

#include "common/finite.h"
#include "embed/pca_source.h"

ae_status ae__pca_rows(const ae__pca_source *src, size_t first, size_t count,
                       float *buf, const float **rows)
{
    if (src->x != NULL) {
        *rows = src->x + first * src->d;
        return AE_OK;
    }
    ae_status s = ae_dataset_batch(src->ds, first, count, buf, NULL);
    if (s != AE_OK)
        return s;
    *rows = buf;
    return AE_OK;
}

ae_status ae__pca_fit_alloc(ae__pca_fit *f, size_t k, size_t d,
                            const char *fn)
{
    f->components = ae__calloc(k * d, sizeof(float)); /* k * d checked */
    f->mean = ae__calloc(d, sizeof(float));
    f->variance = ae__calloc(k, sizeof(double));
    f->ratio = ae__calloc(k, sizeof(double));
    if (!f->components || !f->mean || !f->variance || !f->ratio) {
        ae__pca_fit_free(f);
        return ae__fail(AE_ERR_NO_MEMORY, "%s: cannot allocate %zu "
                        "components of dimension %zu", fn, k, d);
    }
    return AE_OK;
}

void ae__pca_fit_free(ae__pca_fit *f)
{
    ae__free(f->components);
    ae__free(f->mean);
    ae__free(f->variance);
    ae__free(f->ratio);
    f->components = f->mean = NULL;
    f->variance = f->ratio = NULL;
}

ae_status ae__pca_moments(const ae__pca_source *src, float *buf,
                          double *mean, double *total, const char *fn)
{
    const size_t n = src->n, d = src->d;
    const size_t block = n < AE__PCA_BLOCK_ROWS ? n : AE__PCA_BLOCK_ROWS;
    double squares = 0.0;
    for (size_t j = 0; j < d; j++)
        mean[j] = 0.0;
    for (size_t first = 0; first < n; first += block) {
        size_t m = n - first < block ? n - first : block;
        const float *rows;
        ae_status s = ae__pca_rows(src, first, m, buf, &rows);
        if (s != AE_OK)
            return s;
        if (!ae__all_finite(rows, m * d))
            return ae__fail(AE_ERR_NOT_FINITE, "%s: rows %zu..%zu hold a NaN "
                            "or infinity", fn, first, first + m - 1);
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < d; j++) {
                double v = rows[i * d + j];
                mean[j] += v;
                squares += v * v;
            }
    }
    double sum_mean_sq = 0.0;
    for (size_t j = 0; j < d; j++) {
        mean[j] /= (double)n;
        sum_mean_sq += mean[j] * mean[j];
    }
    /* sum (x - mean)^2 = sum x^2 - n sum mean^2; in double, for pixel
     * data, the cancellation costs far less than a float's precision. */
    *total = fmax(squares - (double)n * sum_mean_sq, 0.0) / (double)(n - 1);
    return AE_OK;
}

void ae__pca_set_component(ae__pca_fit *f, size_t c, size_t d,
                           const double *v, size_t stride)
{
    size_t arg = 0;
    double best = -1.0;
    for (size_t j = 0; j < d; j++) {
        double a = fabs(v[j * stride]);
        if (a > best) {
            best = a;
            arg = j;
        }
    }
    double sign = v[arg * stride] < 0.0 ? -1.0 : 1.0;
    for (size_t j = 0; j < d; j++)
        f->components[c * d + j] = (float)(sign * v[j * stride]);
}

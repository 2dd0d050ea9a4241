/* pca_source.h - what both PCA solvers share (private): where a fit reads
 * its rows and the result of a fit built aside; and the exact solver's
 * first pass over the data (mean, total variance, the NaN check; the
 * randomized solver does its own on the library's threads). */
#ifndef AE_PCA_SOURCE_H
#define AE_PCA_SOURCE_H

#include <stddef.h>

#include "common/internal.h"

/* Rows per block: big enough for BLAS to run near peak, small enough that
 * the float and double copies of a block of MNIST (784 values a row) stay
 * a few megabytes. */
enum { AE__PCA_BLOCK_ROWS = 2048 };

/* Where a fit reads its rows: an array, or a dataset through its
 * batches. */
typedef struct ae__pca_source {
    const float *x;        /* array rows, or NULL */
    const ae_dataset *ds;  /* dataset, or NULL */
    size_t n, d;
} ae__pca_source;

/* Rows first .. first+count-1 of src: a pointer into the array, or
 * converted into buf (count x d floats). */
ae_status ae__pca_rows(const ae__pca_source *src, size_t first, size_t count,
                       float *buf, const float **rows);

/* Results of one fit, built aside so that a failure leaves the handle's
 * previous fit as it was. */
typedef struct ae__pca_fit {
    float *components; /* k x d */
    float *mean;       /* d */
    double *variance, *ratio; /* k each */
} ae__pca_fit;

/* Allocate the arrays of a fit of k components in dimension d. */
ae_status ae__pca_fit_alloc(ae__pca_fit *f, size_t k, size_t d,
                            const char *fn);
void ae__pca_fit_free(ae__pca_fit *f);

/* One pass over src: the mean in double into mean (d values) and the
 * total variance (n - 1 denominator) into *total; AE_ERR_NOT_FINITE naming
 * the rows that hold a NaN or an infinity.  buf: AE__PCA_BLOCK_ROWS x d
 * floats for a dataset source, else unused. */
ae_status ae__pca_moments(const ae__pca_source *src, float *buf,
                          double *mean, double *total, const char *fn);

/* Component row c of f (d values, from a unit vector v read with stride
 * `stride`), with its sign fixed so that the first entry of largest
 * magnitude is positive: the convention every solver follows, so that
 * their components can be compared. */
void ae__pca_set_component(ae__pca_fit *f, size_t c, size_t d,
                           const double *v, size_t stride);

#endif /* AE_PCA_SOURCE_H */

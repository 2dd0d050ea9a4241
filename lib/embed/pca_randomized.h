/* pca_randomized.h - PCA by a randomized range finder (private). */
#ifndef AE_PCA_RANDOMIZED_H
#define AE_PCA_RANDOMIZED_H

#include <stdint.h>

#include "embed/pca_source.h"

typedef struct ae__pca_randomized_settings {
    int oversamples;      /* extra directions beyond the k components */
    int power_iterations; /* passes of (X^T X) that sharpen the range */
    uint64_t seed;        /* of the Gaussian test matrix */
} ae__pca_randomized_settings;

/* Fit k components of src into f (allocated by the caller) by Halko,
 * Martinsson and Tropp's randomized SVD of the centred data. */
ae_status ae__pca_fit_randomized(const ae__pca_source *src, size_t k,
                                 const ae__pca_randomized_settings *set,
                                 ae__pca_fit *f, const char *fn);

#endif /* AE_PCA_RANDOMIZED_H */

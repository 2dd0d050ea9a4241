/*
 * ssim.h - structural similarity of one image plane (private).
 *
 * Matches scikit-image's structural_similarity with a given data_range:
 * local means, variances and covariance under a separable window, then the
 * mean of S over the window positions that lie wholly inside the plane
 * (skimage filters the whole plane and crops a (win-1)/2 border, which is
 * the same thing).
 */
#ifndef AE_SSIM_H
#define AE_SSIM_H

#include <stddef.h>

#include "common/internal.h"

enum { AE__SSIM_MAX_TAPS = 11 };

/* A separable window: 2-D weight = taps[i] * taps[j], taps sum to 1. */
typedef struct ae__ssim_kernel {
    int size;                        /* 7 (uniform) or 11 (Gaussian) */
    int uniform;                     /* 1: all taps equal (sliding sums) */
    double taps[AE__SSIM_MAX_TAPS];
    double cov_norm;                 /* NP/(NP-1) (sample) or 1 */
} ae__ssim_kernel;

/* Fill k for a window kind; AE_ERR_INVALID_ARGUMENT (k untouched) for an
 * unknown kind. */
ae_status ae__ssim_kernel_init(ae__ssim_kernel *k, ae_ssim_window window);

/* Doubles of workspace ae__ssim_plane needs for a height x width plane
 * (0 when the plane is smaller than the window). */
size_t ae__ssim_workspace(const ae__ssim_kernel *k, int height, int width);

/* Mean SSIM of planes x and y (height x width, row-major), values spanning
 * data_range > 0.  Requires height, width >= k->size and a workspace of
 * ae__ssim_workspace doubles.  Computed in double. */
double ae__ssim_plane(const ae__ssim_kernel *k, const float *x, const float *y,
                      int height, int width, double data_range, double *work);

#endif /* AE_SSIM_H */

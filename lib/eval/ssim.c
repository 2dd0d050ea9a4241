/* ssim.c - structural similarity (Wang et al. 2004) as scikit-image does it.
 *
 * For each window position p wholly inside the plane, with weights w:
 *   ux = sum w x, uy = sum w y,
 *   vx = cov_norm (sum w x^2 - ux^2), vy likewise, vxy = cov_norm (sum w xy - ux uy)
 *   S  = (2 ux uy + C1)(2 vxy + C2) / ((ux^2 + uy^2 + C1)(vx + vy + C2))
 * with C1 = (0.01 R)^2, C2 = (0.03 R)^2; the result is the mean of S.
 * The five weighted sums are separable: a horizontal pass over every row,
 * then a vertical pass over the horizontal results. */
#include "eval/ssim.h"

#include <math.h>
#include <string.h>

enum { SUMS = 5 }; /* x, y, xx, yy, xy */

/* Fill *k from the window kind; *k is untouched on failure. */
static int kernel_fill(ae__ssim_kernel *k, ae_ssim_window window)
{
    switch (window) {
    case AE_SSIM_UNIFORM7:
        /* skimage default: win_size 7, use_sample_covariance=True */
        k->size = 7;
        k->uniform = 1;
        for (int i = 0; i < 7; i++)
            k->taps[i] = 1.0 / 7.0;
        k->cov_norm = 49.0 / 48.0;
        return 1;
    case AE_SSIM_GAUSSIAN11: {
        /* skimage gaussian_weights=True: scipy gaussian_filter, sigma 1.5,
         * truncate 3.5 -> radius int(3.5 * 1.5 + 0.5) = 5; taps
         * exp(-x^2 / (2 sigma^2)) normalised to sum 1; population
         * covariance as in Wang et al. */
        const double sigma = 1.5;
        double sum = 0.0;
        k->size = 11;
        k->uniform = 0;
        for (int i = 0; i < 11; i++) {
            double x = (double)(i - 5);
            k->taps[i] = exp(-0.5 / (sigma * sigma) * x * x);
            sum += k->taps[i];
        }
        for (int i = 0; i < 11; i++)
            k->taps[i] /= sum;
        k->cov_norm = 1.0;
        return 1;
    }
    }
    return 0;
}

ae_status ae__ssim_kernel_init(ae__ssim_kernel *k, ae_ssim_window window)
{
    ae__ssim_kernel tmp;
    memset(&tmp, 0, sizeof tmp);
    if (kernel_fill(&tmp, window)) {
        *k = tmp;
        return AE_OK;
    }
    return ae__fail(AE_ERR_INVALID_ARGUMENT,
                    "SSIM window %d is not an ae_ssim_window", (int)window);
}

size_t ae__ssim_workspace(const ae__ssim_kernel *k, int height, int width)
{
    if (height < k->size || width < k->size)
        return 0;
    size_t ow = (size_t)(width - k->size + 1);
    /* horizontal sums of every row, plus one output row of vertical sums */
    return SUMS * ow * ((size_t)height + 1);
}

/* Horizontal pass of one row: out[s * ow + c] = sum_t taps[t] q_s(c + t). */
static void row_sums(const ae__ssim_kernel *k, const float *x, const float *y,
                     int ow, double *out)
{
    double *sx = out, *sy = out + ow, *sxx = sy + ow, *syy = sxx + ow,
           *sxy = syy + ow;
    int n = k->size;
    if (k->uniform) {
        /* Sliding sums; scaled by the tap at the end.  Products of two
         * floats are exact in double, so only the additions round. */
        double a = 0, b = 0, aa = 0, bb = 0, ab = 0;
        for (int t = 0; t < n; t++) {
            double u = x[t], v = y[t];
            a += u, b += v, aa += u * u, bb += v * v, ab += u * v;
        }
        double w = k->taps[0];
        for (int c = 0;; c++) {
            sx[c] = w * a, sy[c] = w * b;
            sxx[c] = w * aa, syy[c] = w * bb, sxy[c] = w * ab;
            if (c + 1 >= ow)
                break;
            double u0 = x[c], v0 = y[c], u1 = x[c + n], v1 = y[c + n];
            a += u1 - u0, b += v1 - v0;
            aa += u1 * u1 - u0 * u0, bb += v1 * v1 - v0 * v0;
            ab += u1 * v1 - u0 * v0;
        }
        return;
    }
    for (int c = 0; c < ow; c++) {
        double a = 0, b = 0, aa = 0, bb = 0, ab = 0;
        for (int t = 0; t < n; t++) {
            double w = k->taps[t], u = x[c + t], v = y[c + t];
            a += w * u, b += w * v;
            aa += w * (u * u), bb += w * (v * v), ab += w * (u * v);
        }
        sx[c] = a, sy[c] = b, sxx[c] = aa, syy[c] = bb, sxy[c] = ab;
    }
}

double ae__ssim_plane(const ae__ssim_kernel *k, const float *x, const float *y,
                      int height, int width, double data_range, double *work)
{
    const int n = k->size, ow = width - n + 1, oh = height - n + 1;
    const size_t row = (size_t)SUMS * (size_t)ow;
    const double c1 = (0.01 * data_range) * (0.01 * data_range);
    const double c2 = (0.03 * data_range) * (0.03 * data_range);
    double *hs = work;                        /* height rows of SUMS x ow */
    double *vs = work + row * (size_t)height; /* one row of SUMS x ow */
    double total = 0.0;

    for (int r = 0; r < height; r++)
        row_sums(k, x + (size_t)r * (size_t)width, y + (size_t)r * (size_t)width,
                 ow, hs + (size_t)r * row);

    for (int i = 0; i < oh; i++) {
        /* Vertical pass: weighted sum of rows i .. i+n-1, all five sums at
         * once (they are laid out contiguously, so one loop of 5*ow). */
        const double *h0 = hs + (size_t)i * row;
        double w0 = k->taps[0];
        for (size_t j = 0; j < row; j++)
            vs[j] = w0 * h0[j];
        for (int t = 1; t < n; t++) {
            const double *ht = hs + (size_t)(i + t) * row;
            double w = k->taps[t];
            for (size_t j = 0; j < row; j++)
                vs[j] += w * ht[j];
        }
        const double *ux = vs, *uy = vs + ow, *uxx = uy + ow, *uyy = uxx + ow,
                     *uxy = uyy + ow;
        for (int j = 0; j < ow; j++) {
            double mx = ux[j], my = uy[j];
            double vx = k->cov_norm * (uxx[j] - mx * mx);
            double vy = k->cov_norm * (uyy[j] - my * my);
            double vxy = k->cov_norm * (uxy[j] - mx * my);
            double num = (2.0 * mx * my + c1) * (2.0 * vxy + c2);
            double den = (mx * mx + my * my + c1) * (vx + vy + c2);
            total += num / den;
        }
    }
    return total / ((double)oh * (double)ow);
}

/*
 * sgemm.h - the library's matrix product (private).
 *
 * cblas_sgemm, with one difference: a product with beta 0 has its output
 * zeroed here, by memset, and is then asked of BLAS with beta 1.  OpenBLAS
 * scales C by beta in a pass of its own (sgemm_beta) before the product,
 * and on a Zen 3 that pass was the third-heaviest symbol of the
 * experiment-7 epoch (6% of its samples, perf) and 8% of one image's
 * inference; beta 1 skips it.  The 36 Winograd products of one image's
 * 32 -> 64 layer (16 x 64 x 32 each) took 65.4 us this way against 77.2
 * with beta 0 (best of 20 rounds, one thread); whole runs of
 * bench_train's conv epoch (2,000 images, 10 alternating pairs) took a
 * median 3.6% less wall time.  The bits are the same: either way the
 * kernel adds its sum to a C of +0.0 (with BLIS, which adds nothing for
 * beta 0, a -0.0 result becomes +0.0).  As with beta 0, C's old contents,
 * NaN included, are ignored.
 */
#ifndef AE_SGEMM_H
#define AE_SGEMM_H

#include <cblas.h>

void ae__sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE trans_a,
               enum CBLAS_TRANSPOSE trans_b, int m, int n, int k,
               float alpha, const float *a, int lda, const float *b, int ldb,
               float beta, float *c, int ldc);

#endif /* AE_SGEMM_H */

/*
 * long_dots.h - products whose sum is long and whose outputs are few
 * (private).
 *
 * Row-major C (m x n) = beta C + A (m x k) B (n x k)^T, beta 0 or 1: every
 * output a dot product of a row of A with a row of B, both read in
 * memory order.  The direct convolutions' weight gradients are this shape
 * for one image, 32 x 9 outputs over the 784 pixels of a plane.  BLAS
 * packed both operands on every call (its kernel and packing were 21-25%
 * of those layers' samples), and libxsmm's kernels do not take this
 * transposed case; these loops cut the layers' passes by 4-14%
 * (docs/PERFORMANCE.md, 2026-12-07).
 *
 * Each output sums its terms in eight lanes (k mod 8), the lanes then
 * added in a fixed order, then the tail: the same bits in every clone
 * (vector_clones.h), at any thread count.
 */
#ifndef AE_LONG_DOTS_H
#define AE_LONG_DOTS_H

#include <stddef.h>

void ae__long_dots(int m, int n, int k, const float *a, size_t lda,
                   const float *b, size_t ldb, float beta, float *c,
                   size_t ldc);

#endif /* AE_LONG_DOTS_H */

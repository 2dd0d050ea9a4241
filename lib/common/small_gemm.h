/*
 * small_gemm.h - the convolutions' small products (private).
 *
 * Row-major C (m x n) = op(A) (m x k) B (k x n), beta 0, op(A) = A or A^T:
 * cblas_sgemm's meaning, for the products of a few dozen to a few hundred
 * rows that the 3x3 convolutions make by the thousand (Winograd's), and
 * the direct paths' products of one image with 9 rows or a sum of 9
 * (conv_gemm.h, conv2d.c).  Built with libxsmm
 * (the meson option of that name), a product runs a kernel libxsmm
 * generates for its shape, which reads the operands where they are;
 * OpenBLAS packs both operands into its own layout on every call, which
 * at these shapes costs about what the product does.  Without libxsmm, or
 * where it has no kernel for a shape, the product is ae__sgemm's.
 *
 * A plan is made for one shape and used for any number of products, from
 * any thread.  Which path a plan takes depends only on its shape, so the
 * bits of a product do not depend on the thread that runs it.
 */
#ifndef AE_SMALL_GEMM_H
#define AE_SMALL_GEMM_H

typedef void (*ae__small_kernel)(const float *, const float *, float *);

typedef struct ae__small_gemm {
    int trans_a, m, n, k, lda, ldb, ldc;
    /* The generated kernels; first is NULL on ae__sgemm's path.  A sum
     * over rows (op(A) = A^T) longer than SMALL_GEMM_PIECE is cut into
     * `pieces` pieces of `piece` rows but the last, of `last_rows`: the
     * first piece is written by `first`, the middle ones added by `more`,
     * the last by `last`. */
    ae__small_kernel first, more, last;
    int pieces, piece, last_rows;
} ae__small_gemm;

/* Plans C = op(A) B for these shapes and leading dimensions. */
void ae__small_gemm_plan(ae__small_gemm *g, int trans_a, int m, int n, int k,
                         int lda, int ldb, int ldc);

void ae__small_gemm_run(const ae__small_gemm *g, const float *a,
                        const float *b, float *c);

#endif /* AE_SMALL_GEMM_H */

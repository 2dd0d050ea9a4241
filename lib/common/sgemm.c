/* sgemm.c - cblas_sgemm with beta 0 as memset and beta 1 (sgemm.h says
 * why). */
#include "common/sgemm.h"

#include <string.h>

void ae__sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE trans_a,
               enum CBLAS_TRANSPOSE trans_b, int m, int n, int k,
               float alpha, const float *a, int lda, const float *b, int ldb,
               float beta, float *c, int ldc)
{
    if (beta == 0.0f && m > 0 && n > 0) {
        /* C's lines: rows when row-major, columns when column-major. */
        const size_t lines = (size_t)(order == CblasRowMajor ? m : n);
        const size_t len = (size_t)(order == CblasRowMajor ? n : m);
        if ((size_t)ldc == len)
            memset(c, 0, lines * len * sizeof *c);
        else
            for (size_t i = 0; i < lines; i++)
                memset(c + i * (size_t)ldc, 0, len * sizeof *c);
        beta = 1.0f;
    }
    cblas_sgemm(order, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta,
                c, ldc);
}

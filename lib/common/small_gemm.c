/* small_gemm.c - small row-major products by libxsmm's generated kernels,
 * or by ae__sgemm (small_gemm.h says when and why). */
#include "common/small_gemm.h"

#include "common/sgemm.h"

#ifdef AE_HAVE_LIBXSMM
#include <libxsmm.h>
#include <pthread.h>

/* The longest sum over rows given to one transposed kernel.  libxsmm's
 * kernel for dU = dM^T V at 144 rows of 64 x 64 ran at 65 GFLOP/s against
 * 70-82 at 96 and 128 rows (one thread, measured with this file,
 * docs/PERFORMANCE.md); two pieces of 72 rows keep it on the fast side. */
enum { SMALL_GEMM_PIECE = 128 };

static pthread_once_t xsmm_once = PTHREAD_ONCE_INIT;

static void xsmm_start(void)
{
    libxsmm_init();
}

/* libxsmm is column-major: row-major C = op(A) B is column-major
 * C^T = B^T op(A)^T, with B's storage read as B^T and A's as A^T. */
static ae__small_kernel kernel(const ae__small_gemm *g, int rows, int add)
{
    const libxsmm_blasint m = g->n, n = g->m, k = rows;
    const libxsmm_blasint lda = g->ldb, ldb = g->lda, ldc = g->ldc;
    const float alpha = 1.0f, beta = add ? 1.0f : 0.0f;
    const int flags = (g->trans_a ? LIBXSMM_GEMM_FLAG_TRANS_B : 0) |
                      (add ? 0 : LIBXSMM_GEMM_FLAG_BETA_0);
    return (ae__small_kernel)libxsmm_smmdispatch(m, n, k, &lda, &ldb, &ldc,
                                                 &alpha, &beta, &flags, NULL);
}

static void plan_generated(ae__small_gemm *g)
{
    pthread_once(&xsmm_once, xsmm_start);
    g->pieces = 1;
    g->piece = g->last_rows = g->k;
    if (g->trans_a && g->k > SMALL_GEMM_PIECE) {
        g->pieces = (g->k + SMALL_GEMM_PIECE - 1) / SMALL_GEMM_PIECE;
        g->piece = (g->k + g->pieces - 1) / g->pieces;
        g->last_rows = g->k - (g->pieces - 1) * g->piece;
    }
    g->first = kernel(g, g->piece, 0);
    g->more = g->pieces > 2 ? kernel(g, g->piece, 1) : NULL;
    g->last = g->pieces > 1 ? kernel(g, g->last_rows, 1) : NULL;
    if (g->first == NULL || (g->pieces > 2 && g->more == NULL) ||
        (g->pieces > 1 && g->last == NULL))
        g->first = NULL; /* no kernel for this shape: BLAS's path */
}
#else
static void plan_generated(ae__small_gemm *g)
{
    g->first = NULL;
}
#endif

/* libxsmm's kernels return with the upper halves of the vector registers
 * in use (no vzeroupper); code compiled for plain SSE2 that runs after
 * them on the same thread then pays a penalty on every vector
 * instruction.  (Measured: experiment 7's BCE loss, which follows the
 * last layer's products, took 22% of an epoch's samples against 2%.)
 * A kernel exists only where the processor has AVX, so the instruction
 * is there whenever it runs. */
static inline void clear_upper_state(void)
{
#if defined(AE_HAVE_LIBXSMM) && defined(__x86_64__)
    __asm__ volatile("vzeroupper" ::: "memory");
#endif
}

void ae__small_gemm_plan(ae__small_gemm *g, int trans_a, int m, int n, int k,
                         int lda, int ldb, int ldc)
{
    *g = (ae__small_gemm){.trans_a = trans_a, .m = m, .n = n, .k = k,
                          .lda = lda, .ldb = ldb, .ldc = ldc};
    if (m > 0 && n > 0 && k > 0)
        plan_generated(g);
}

void ae__small_gemm_run(const ae__small_gemm *g, const float *a,
                        const float *b, float *c)
{
    if (g->first == NULL) {
        ae__sgemm(CblasRowMajor, g->trans_a ? CblasTrans : CblasNoTrans,
                  CblasNoTrans, g->m, g->n, g->k, 1.0f, a, g->lda, b, g->ldb,
                  0.0f, c, g->ldc);
        return;
    }
    /* Piece p sums rows [p piece, ...) of A's and B's storage. */
    const size_t a_step = (size_t)g->piece * (size_t)g->lda;
    const size_t b_step = (size_t)g->piece * (size_t)g->ldb;
    g->first(b, a, c);
    for (int p = 1; p < g->pieces; p++) {
        ae__small_kernel add = p == g->pieces - 1 ? g->last : g->more;
        add(b + (size_t)p * b_step, a + (size_t)p * a_step, c);
    }
    clear_upper_state();
}

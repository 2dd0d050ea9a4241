/* threads.c - one setting for the BLAS threads and the library's own. */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "parallel.h"

#if defined(AE_BLAS_OPENBLAS)
void openblas_set_num_threads(int num_threads);
#elif defined(AE_BLAS_BLIS)
void bli_thread_set_num_threads(long n_threads);
#endif

static int thread_count; /* 0 until set: the default is read lazily */

static int online_processors(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n >= 1 && n <= 4096 ? (int)n : 1;
}

void ae__blas_set_threads(int n)
{
#if defined(AE_BLAS_OPENBLAS)
    openblas_set_num_threads(n);
#elif defined(AE_BLAS_BLIS)
    bli_thread_set_num_threads(n);
#else
    (void)n;
#endif
}

ae_status ae_set_threads(int n)
{
    if (n < 0 || n > 4096)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_set_threads: %d is outside 0..4096", n);
    thread_count = n == 0 ? online_processors() : n;
    ae__blas_set_threads(thread_count);
    return AE_OK;
}

int ae_threads(void)
{
    return ae__thread_count();
}

int ae__thread_count(void)
{
    if (thread_count == 0) {
        thread_count = online_processors();
        ae__blas_set_threads(thread_count);
    }
    return thread_count;
}

/* Sixteen independent sums (a GCC / Clang vector, as in tsne.c): the
 * compiler may not reorder one float sum without -ffast-math, and a single
 * chain of dependent additions runs at one value per add latency. */
typedef float finite_lanes __attribute__((vector_size(16 * sizeof(float))));

static int range_finite(const float *x, size_t n)
{
    /* Sum of x*0 is NaN iff some x is NaN or infinite: branch-free. */
    finite_lanes acc = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        finite_lanes v;
        memcpy(&v, x + i, sizeof v);
        acc += v * 0.0f;
    }
    float tail = 0.0f;
    for (; i < n; i++)
        tail += x[i] * 0.0f;
    for (int l = 0; l < 16; l++)
        tail += acc[l];
    return tail == 0.0f;
}

typedef struct finite_job {
    const float *x;
    int ok[AE__PARALLEL_MAX_BLOCKS];
    size_t blocks, n;
} finite_job;

static void finite_blocks(void *ctx, size_t first, size_t last, int part)
{
    (void)part;
    finite_job *j = ctx;
    for (size_t b = first; b < last; b++) {
        size_t lo = j->n * b / j->blocks, hi = j->n * (b + 1) / j->blocks;
        j->ok[b] = range_finite(j->x + lo, hi - lo);
    }
}

/* Values per thread below which one thread checks them all. */
#define FINITE_GRAIN ((size_t)1 << 18)

int ae__all_finite(const float *x, size_t n)
{
    if (n < 2 * FINITE_GRAIN)
        return range_finite(x, n);
    finite_job j;
    j.x = x;
    j.n = n;
    j.blocks = ae__parallel_blocks(n, FINITE_GRAIN);
    ae__parallel_for(j.blocks, 1, 0, finite_blocks, &j);
    for (size_t b = 0; b < j.blocks; b++)
        if (!j.ok[b])
            return 0;
    return 1;
}

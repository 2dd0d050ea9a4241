/* finite.c - is every value of an array finite?  The trainer asks it of
 * every batch and step, so it runs at memory speed, on the worker pool for
 * large arrays. */
#include <string.h>

#include "common/finite.h"
#include "common/parallel.h"

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

/* finite.c - is every value of an array finite?  The trainer asks it of
 * every batch and step, so it runs at memory speed, on the worker pool for
 * large arrays. */
#include <stdint.h>
#include <string.h>

#include "common/finite.h"
#include "common/parallel.h"
#include "common/vector_clones.h"

/* A float is NaN or infinite iff its exponent bits are all ones, that is
 * iff its bits without the sign, read as an integer, exceed FLT_MAX's.
 * Eight lanes of integers OR the verdicts together: no chain of float
 * additions (one vector of sums of x * 0 ran at the add latency), and the
 * AVX2 clone reads eight values an instruction.  The trainer checks every
 * step's gradient this way (3% of the dense epoch's samples with the
 * float sums). */
typedef int32_t finite_lanes __attribute__((vector_size(8 * sizeof(int32_t))));

/* Signed, since the masked bits are never negative: SSE2 compares signed
 * integers only. */
enum { FINITE_BITS = 0x7fffffff, LARGEST_FINITE = 0x7f7fffff };

AE__VECTOR_CLONES
static int range_finite(const float *x, size_t n)
{
    finite_lanes bad = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        finite_lanes v;
        memcpy(&v, x + i, sizeof v);
        bad |= (v & FINITE_BITS) > LARGEST_FINITE;
    }
    int32_t any = 0;
    for (int l = 0; l < 8; l++)
        any |= bad[l];
    for (; i < n; i++) {
        int32_t u;
        memcpy(&u, x + i, sizeof u);
        any |= (u & FINITE_BITS) > LARGEST_FINITE;
    }
    return any == 0;
}

/* Magnitudes compare as their bits without the sign, read as integers,
 * the NaNs above infinity: a maximum of integers, eight lanes a step. */
AE__VECTOR_CLONES
float ae__max_magnitude(const float *x, size_t n)
{
    finite_lanes most = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        finite_lanes v;
        memcpy(&v, x + i, sizeof v);
        v &= FINITE_BITS;
        const finite_lanes above = v > most;
        most = (v & above) | (most & ~above);
    }
    int32_t top = 0;
    for (int l = 0; l < 8; l++)
        top = most[l] > top ? most[l] : top;
    for (; i < n; i++) {
        int32_t u;
        memcpy(&u, x + i, sizeof u);
        u &= FINITE_BITS;
        top = u > top ? u : top;
    }
    float f;
    memcpy(&f, &top, sizeof f);
    return f;
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

/* Values a block at least, and below twice which one thread checks them
 * all.  Blocks of 2^18 gave a dense model's 808,000 gradients three
 * blocks, two for one thread and one for the other. */
#define FINITE_GRAIN ((size_t)1 << 15)

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

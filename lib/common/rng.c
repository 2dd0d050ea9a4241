/* rng.c - xoshiro256** (Blackman and Vigna), seeded with splitmix64. */
#include <math.h>

#include "common/internal.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* `stream` separates generators that share a user seed (shuffling and noise
 * of one trainer, say) so they never produce correlated sequences. */
void ae__rng_seed(ae__rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ULL);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

uint64_t ae__rng_next(ae__rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float ae__rng_uniformf(ae__rng *r)
{
    return (float)(ae__rng_next(r) >> 40) * 0x1.0p-24f;
}

double ae__rng_uniform(ae__rng *r)
{
    return (double)(ae__rng_next(r) >> 11) * 0x1.0p-53;
}

/* Lemire's multiply-and-reject: unbiased without a division per draw. */
uint64_t ae__rng_below(ae__rng *r, uint64_t n)
{
    __uint128_t m = (__uint128_t)ae__rng_next(r) * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        uint64_t threshold = -n % n;
        while (low < threshold) {
            m = (__uint128_t)ae__rng_next(r) * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double ae__rng_normal(ae__rng *r)
{
    /* Box-Muller, one deviate per call: simpler state than caching the
     * second one, and the cost is negligible beside a training step. */
    double u1 = 1.0 - ae__rng_uniform(r); /* (0, 1], so log is finite */
    double u2 = ae__rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void ae__rng_shuffle(ae__rng *r, size_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)ae__rng_below(r, i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

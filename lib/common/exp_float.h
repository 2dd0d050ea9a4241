/*
 * exp_float.h - e^x in plain float arithmetic, for loops the compiler
 * vectorises (private).
 *
 * glibc's expf is a call per element, which no clone of a loop
 * (vector_clones.h) can put in a vector: the sigmoid of the deep
 * autoencoder's 784 outputs took a third of its last layer's forward time
 * that way (a Zen 4, 2 threads: 85 ms of an epoch's 0.725 s for that
 * layer, 60 ms for its product alone).  This one is made of additions,
 * multiplications and bit moves only, so every clone vectorises it, and
 * every clone returns the same bits, since the operations and their order
 * are the same (no fused multiply-add: the library is built with
 * -ffp-contract=off).
 *
 * Method (Cephes' expf): e^x = 2^k e^r, k = x / ln 2 rounded to nearest
 * (by adding and subtracting 1.5 * 2^23), r = x - k ln 2 with ln 2 in two
 * parts (k times the first is exact), |r| <= ln 2 / 2, and e^r = 1 + r +
 * r^2 p(r), p Cephes' degree-5 minimax polynomial.  2^k is built in the
 * exponent field, in two factors so that k = 128 does not overflow it.
 *
 * Accuracy: within 0.99 ulp of e^x (computed in double) for every float x
 * in [-86.5, 88.72] (all 2,236,612,608 of them, checked once; the tests
 * check a sample of every 509th).  Outside that range: +inf above
 * 88.72283935546875 (as expf, whose result overflows there), 0 below -86.5
 * (where e^x < 2^-124: flushed, not subnormal), NaN for NaN.
 */
#ifndef AE_EXP_FLOAT_H
#define AE_EXP_FLOAT_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* y 2^n, for n in [-126, 127]. */
static inline float ae__times_power_of_2(float y, int32_t n)
{
    const uint32_t bits = (uint32_t)(n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return y * scale;
}

static inline float ae__exp_float(float x)
{
    const float lowest = -86.5f, highest = 88.72283935546875f;
    /* Clamped so that k stays in [-125, 128]: a NaN x is clamped too (its
     * comparisons are false), so no NaN reaches the integer conversion. */
    float c = x > lowest ? x : lowest;
    c = c < highest ? c : highest;
    const float k = (c * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    const float r = (c - k * 0.693359375f) - k * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const float er = p * (r * r) + r + 1.0f;
    float e = ae__times_power_of_2(ae__times_power_of_2(er, (int32_t)k - 1),
                                   1);
    e = x > highest ? INFINITY : e;
    e = x < lowest ? 0.0f : e;
    return x != x ? x : e;
}

#endif /* AE_EXP_FLOAT_H */

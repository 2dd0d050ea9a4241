/* noise.c - input corruption for denoising autoencoders. */
#include <math.h>
#include <string.h>

#include "data/noise.h"

/* Stream of ae_corrupt's generator: apart from the streams other modules
 * take from the same user seed. */
#define AE_NOISE_STREAM UINT64_C(0x4e4f495345) /* "NOISE" */

ae_status ae__noise_check(const char *fn, ae_noise kind, float level,
                          float lo, float hi)
{
    if (kind != AE_NOISE_NONE && kind != AE_NOISE_GAUSSIAN &&
        kind != AE_NOISE_SALT_PEPPER)
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "%s: unknown noise kind %d",
                        fn, (int)kind);
    if (!isfinite(level) || level < 0.0f)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "%s: noise level %g is not finite and >= 0", fn,
                        (double)level);
    if (kind == AE_NOISE_SALT_PEPPER && level > 1.0f)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "%s: salt-and-pepper level %g is a probability above 1",
                        fn, (double)level);
    /* Written so that a NaN bound fails too; an infinite bound would let
     * salt and pepper write infinities. */
    if (!(lo < hi) || !isfinite(lo) || !isfinite(hi))
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "%s: bounds lo = %g, hi = %g are not finite with "
                        "lo < hi", fn, (double)lo, (double)hi);
    return AE_OK;
}

static void gaussian(float level, float lo, float hi, ae__rng *rng,
                     const float *in, float *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = in[i] + level * (float)ae__rng_normal(rng);
        out[i] = v < lo ? lo : v > hi ? hi : v;
    }
}

static void salt_pepper(float level, float lo, float hi, ae__rng *rng,
                        const float *in, float *out, size_t n)
{
    /* One uniform draw per value: below level/2 pepper, below level salt. */
    const float half = 0.5f * level;
    for (size_t i = 0; i < n; i++) {
        float u = ae__rng_uniformf(rng);
        out[i] = u < half ? lo : u < level ? hi : in[i];
    }
}

void ae__corrupt_rng(ae_noise kind, float level, float lo, float hi,
                     ae__rng *rng, const float *in, float *out, size_t n)
{
    switch (kind) {
    case AE_NOISE_GAUSSIAN:
        gaussian(level, lo, hi, rng, in, out, n);
        break;
    case AE_NOISE_SALT_PEPPER:
        salt_pepper(level, lo, hi, rng, in, out, n);
        break;
    case AE_NOISE_NONE:
        if (out != in && n > 0)
            memmove(out, in, n * sizeof *out);
        break;
    }
}

ae_status ae_corrupt(ae_noise kind, float level, float lo, float hi,
                     uint64_t seed, const float *in, float *out, size_t n)
{
    AE_REQUIRE(in);
    AE_REQUIRE(out);
    ae_status s = ae__noise_check(__func__, kind, level, lo, hi);
    if (s != AE_OK)
        return s;
    ae__rng rng;
    ae__rng_seed(&rng, seed, AE_NOISE_STREAM);
    ae__corrupt_rng(kind, level, lo, hi, &rng, in, out, n);
    return AE_OK;
}

/*
 * noise.h - input corruption with a caller-owned generator, for the trainer.
 */
#ifndef AE_NOISE_H
#define AE_NOISE_H

#include <stddef.h>

#include "common/internal.h"

/* AE_OK if (kind, level, lo, hi) are valid for ae_corrupt, else
 * AE_ERR_INVALID_ARGUMENT naming the bad one: kind known, level finite and
 * >= 0 (<= 1 for salt and pepper), lo < hi.  fn names the caller in the
 * message. */
ae_status ae__noise_check(const char *fn, ae_noise kind, float level,
                          float lo, float hi);

/* ae_corrupt's work, drawing from rng (which advances) instead of a seed.
 * Arguments must have passed ae__noise_check; in and out may be the same
 * array (or, for AE_NOISE_NONE, overlap). */
void ae__corrupt_rng(ae_noise kind, float level, float lo, float hi,
                     ae__rng *rng, const float *in, float *out, size_t n);

#endif /* AE_NOISE_H */

/*
 * internal.h - helpers shared by every source file of the library.
 * Nothing here is part of the public API; private names start with ae__.
 */
#ifndef AE_INTERNAL_H
#define AE_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "autoenc.h"

/* ---- errors ------------------------------------------------------------ */

/* Record a detailed message for ae_last_error() and return status, so that
 * error paths read `return ae__fail(AE_ERR_SHAPE, "layer %zu: ...", i);`. */
ae_status ae__fail(ae_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Fail with status, prefixing the current detail message with a context
 * ("epoch 3, batch 7: <what the inner call said>"). */
ae_status ae__fail_context(ae_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Empty the thread's error detail, so that a callback's failure can be
 * told apart from an earlier one (see ae_set_last_error). */
void ae__clear_error(void);

/* AE_ERR_IO: "cannot <what> <path>: <the system's reason for err>", as
 * every file error reads: ae__fail_io("open", path, errno). */
ae_status ae__fail_io(const char *what, const char *path, int err);

/* Return AE_ERR_NULL naming the argument when a required pointer is NULL. */
#define AE_REQUIRE(ptr)                                                        \
    do {                                                                       \
        if ((ptr) == NULL)                                                     \
            return ae__fail(AE_ERR_NULL, "%s: argument '%s' is NULL",          \
                            __func__, #ptr);                                   \
    } while (0)

/* ---- memory ------------------------------------------------------------ */

/* Allocation through the user's hook (or malloc).  ae__alloc returns NULL on
 * failure or for size 0 overflow; callers report AE_ERR_NO_MEMORY. */
void *ae__alloc(size_t size);
/* Zeroed array of n elements of size bytes, NULL on overflow or failure. */
void *ae__calloc(size_t n, size_t size);
void ae__free(void *ptr);
/* Allocate or fail with a message naming what was being allocated. */
#define AE_ALLOC_OR_FAIL(dst, n, what)                                         \
    do {                                                                       \
        (dst) = ae__calloc((n), sizeof(*(dst)));                               \
        if ((dst) == NULL)                                                     \
            return ae__fail(AE_ERR_NO_MEMORY, "%s: cannot allocate %s",        \
                            __func__, what);                                   \
    } while (0)

/* a * b without overflow: 1 and *out set, or 0 on overflow. */
static inline int ae__mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

/* ---- random numbers ---------------------------------------------------- */

/* xoshiro256** seeded through splitmix64: fast, good quality, and every
 * handle owns its own state so results never depend on call order across
 * handles. */
typedef struct ae__rng {
    uint64_t s[4];
} ae__rng;

void ae__rng_seed(ae__rng *r, uint64_t seed, uint64_t stream);
uint64_t ae__rng_next(ae__rng *r);
/* Uniform in [0, 1) with 24 (float) or 53 (double) random bits. */
float ae__rng_uniformf(ae__rng *r);
double ae__rng_uniform(ae__rng *r);
/* Uniform integer in [0, n), unbiased; n >= 1. */
uint64_t ae__rng_below(ae__rng *r, uint64_t n);
/* Standard normal deviate (Box-Muller; pairs cached in no global state). */
double ae__rng_normal(ae__rng *r);
/* Fisher-Yates shuffle of n indices. */
void ae__rng_shuffle(ae__rng *r, size_t *idx, size_t n);

/* ---- threads ----------------------------------------------------------- */

/* Thread count in force (>= 1). */
int ae__thread_count(void);

/* Set BLAS's thread count (no effect with a BLAS we cannot steer). */
void ae__blas_set_threads(int n);

#endif /* AE_INTERNAL_H */

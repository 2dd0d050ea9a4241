/*
 * fuzz_common.h - shared by the fuzz harnesses (fuzz_*.c).
 *
 * Each harness defines LLVMFuzzerTestOneInput and is built twice: with
 * libFuzzer (-Dfuzz=true, clang, fuzz/meson.build) to search for crashes,
 * and with replay.c instead of libFuzzer (tests/meson.build, every build)
 * to run the seed corpus and the saved crash inputs of fuzz/regressions/
 * as ordinary tests.  A harness must never leak, and it aborts (through
 * FUZZ_CHECK) when the library breaks one of its documented promises, so
 * a broken promise counts as a crash in both builds.
 */
#ifndef AE_FUZZ_COMMON_H
#define AE_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "autoenc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort with a message unless cond holds: a bug the harness caught. */
#define FUZZ_CHECK(cond)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: fuzz check failed: %s (last error: %s)\n", \
                    __FILE__, __LINE__, #cond, ae_last_error());               \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* Once per process: one thread, so runs are deterministic and no worker
 * threads outlive an input. */
static inline void fuzz_setup(void)
{
    static int done;
    if (!done) {
        FUZZ_CHECK(ae_set_threads(1) == AE_OK);
        done = 1;
    }
}

/* A failing call must leave a detail message and a known status. */
static inline void fuzz_check_failure(ae_status s)
{
    FUZZ_CHECK(s > AE_OK && s <= AE_ERR_LIMIT);
    FUZZ_CHECK(ae_last_error()[0] != '\0');
}

/* Read every pixel of ds through the public API (so ASan sees any
 * out-of-bounds storage) and check the values are within range. */
static inline void fuzz_walk_dataset(const ae_dataset *ds)
{
    size_t n = ae_dataset_count(ds), isz = ae_dataset_image_size(ds);
    int c = 0, h = 0, w = 0;
    FUZZ_CHECK(n >= 1 && isz >= 1);
    FUZZ_CHECK(ae_dataset_shape(ds, &c, &h, &w) == AE_OK);
    FUZZ_CHECK(c == 1 && h >= 1 && w >= 1 && (size_t)h * (size_t)w == isz);
    float *img = malloc(isz * sizeof *img);
    FUZZ_CHECK(img != NULL);
    /* The first and the last image, and a range past the end. */
    size_t probe[2] = {0, n - 1};
    for (int k = 0; k < 2; k++) {
        FUZZ_CHECK(ae_dataset_batch(ds, probe[k], 1, img, NULL) == AE_OK);
        for (size_t i = 0; i < isz; i++)
            FUZZ_CHECK(img[i] >= 0.0f && img[i] <= 1.0f);
    }
    FUZZ_CHECK(ae_dataset_batch(ds, n, 1, img, NULL) ==
               AE_ERR_INVALID_ARGUMENT);
    free(img);
}

#endif /* AE_FUZZ_COMMON_H */

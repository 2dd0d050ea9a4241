/* testutil.h - helpers shared by the unit tests. */
#ifndef AE_TESTUTIL_H
#define AE_TESTUTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "autoenc.h"

/* Fail the test with the status name and ae_last_error() unless s == AE_OK. */
#define ck_assert_ae_ok(s)                                                     \
    do {                                                                       \
        ae_status s_ = (s);                                                    \
        ck_assert_msg(s_ == AE_OK, "%s returned %s: %s", #s,                   \
                      ae_status_name(s_), ae_last_error());                    \
    } while (0)

/* Expect a given failure status, and a non-empty detail message. */
#define ck_assert_ae_status(s, expected)                                       \
    do {                                                                       \
        ae_status s_ = (s);                                                    \
        ck_assert_msg(s_ == (expected), "%s returned %s, expected %s (%s)",    \
                      #s, ae_status_name(s_), ae_status_name(expected),        \
                      ae_last_error());                                        \
        ck_assert_msg(ae_last_error()[0] != '\0', "no detail message");        \
    } while (0)

/* Path of a real MNIST file in the shared data folder (static buffer). */
const char *tu_mnist_path(const char *name);
/* 1 if the real MNIST data is present (tests that need it skip otherwise
 * only when AE_TEST_ALLOW_MISSING_DATA is set; CI always has it). */
int tu_have_mnist(void);

/* A fresh temporary directory for this process (created once). */
const char *tu_tmpdir(void);
/* tu_tmpdir()/name in a static buffer (rotating among 4 buffers). */
const char *tu_tmp_path(const char *name);
/* Remove path and everything under it, if it exists. */
void tu_remove_tree(const char *path);

/* Build an IDX image file in memory: magic 0x803, n x h x w pixels given
 * (or pixel = (i * 7 + r * 3 + c) & 255 when pixels is NULL).  Returns a
 * malloc'd buffer, size in *size. */
uint8_t *tu_idx_images(uint32_t n, uint32_t h, uint32_t w,
                       const uint8_t *pixels, size_t *size);
/* IDX label file: magic 0x801, n labels (or i % 10 when labels is NULL). */
uint8_t *tu_idx_labels(uint32_t n, const uint8_t *labels, size_t *size);
/* Write a buffer to a file, raw or gzip-compressed. */
void tu_write_file(const char *path, const void *data, size_t size, int gzip);

/* The whole file at path, malloc'd, with one spare byte; *size its length.
 * Fails the test if it cannot be read. */
uint8_t *tu_read_file(const char *path, size_t *size);

/* Deterministic pseudo-random floats in [lo, hi) for test inputs. */
void tu_fill_uniform(float *x, size_t n, float lo, float hi, uint32_t seed);

/* How many floats lie between a and b: 0 for the same value (+0 and -0
 * included), UINT32_MAX if either is NaN.  Results computed here are
 * compared so with fixtures written on another machine: OpenBLAS picks
 * its kernels by CPU, and one kernel's sums may round otherwise in the
 * last place than another's. */
uint32_t tu_ulps_apart(float a, float b);

/* Every parameter of m through the public accessors, layer by layer,
 * weights then biases (the order of ae_model_get_gradients), in a new
 * malloc'd array of ae_model_param_count floats (one spare). */
float *tu_model_params(ae_model *m);

/* A counting allocator for allocation-failure walks, installed with
 * ae_set_allocator(tu_walk_alloc, tu_walk_free, NULL): it counts the
 * allocations since tu_walk_calls was last zeroed and the blocks still
 * live, and fails allocation tu_walk_fail_at (0: none) and, when
 * tu_walk_sticky is set, every later one (the way memory runs out). */
extern _Atomic long tu_walk_calls, tu_walk_live, tu_walk_fail_at;
extern _Atomic int tu_walk_sticky;
void *tu_walk_alloc(void *opaque, size_t size);
void tu_walk_free(void *opaque, void *p);

/* Run a suite and return the process exit code. */
int tu_run_suite(Suite *s);

/* ---- appended: dataset tests ------------------------------------------- */

/* gzip-encode a buffer in memory (one gzip member).  Returns a malloc'd
 * buffer, size in *out_size. */
uint8_t *tu_gzip(const void *data, size_t size, size_t *out_size);
/* For tests on the real MNIST data: 1 if it is present.  If it is missing
 * the test fails, unless AE_TEST_ALLOW_MISSING_DATA is set: then 0 is
 * returned and the caller returns early (the test is skipped). */
int tu_require_mnist(void);

/* ---- appended: metric tests ------------------------------------------ */

/* n reference/test image pairs of channels x h x w from integer formulas
 * that tests/reference/ssim_reference.py reproduces exactly: pixel v in
 * 0..255 becomes v / 256 (range 1) or v / 128 - 1 (range 2), exact in
 * float.  Patterns by (image + channel) % 3: ramp, blob, texture; test =
 * reference + bounded noise, clipped. */
void tu_image_pairs(int n, int channels, int h, int w, int range, float *ref,
                    float *test);

#endif

/* bench_util.h - what the benchmark programs measure the same way: the
 * clock, the machine's sgemm rate, medians, and the experiment-1 model. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <autoenc.h>

/* Exit with the status and the library's detail unless s is AE_OK. */
void bench_check(ae_status s, const char *what);

/* The BLAS and, for OpenBLAS, the kernel set it chose for this CPU
 * ("OpenBLAS, core SkylakeX"): an OpenBLAS older than the processor falls
 * back to its SSE3 kernels ("Prescott"), several times slower, so every
 * figure says which one ran (docs/PERFORMANCE.md). */
const char *bench_blas_kernel(void);

/* Monotonic seconds. */
double bench_now(void);

/* Three n x n matrices for timing C = A B; exits if memory runs out. */
typedef struct bench_sgemm {
    int n;
    float *a, *b, *c;
} bench_sgemm;

void bench_sgemm_init(bench_sgemm *g, int n);
void bench_sgemm_free(bench_sgemm *g);
/* GFLOP/s of one product. */
double bench_sgemm_once(const bench_sgemm *g);
/* Wait, with the caller's clock stopped, until BLAS's threads have gone
 * back to sleep after a product.  OpenBLAS's threads spin for about a
 * tenth of a second after each threaded call (2^28 cycles); a probe taken
 * during an epoch would otherwise leave them competing with the library's
 * threads for the two cores, and the epoch would be charged for the
 * benchmark's own measurement. */
void bench_sgemm_settle(void);
/* Best GFLOP/s of `reps` n x n products: the machine's practical
 * single-precision peak with this BLAS and thread count. */
double bench_sgemm_best(int n, int reps);

/* Median of count >= 1 values (sorts them). */
double bench_median(double *values, int count);

/* Experiment 1's deep autoencoder as the notebooks wrote it (built by
 * examples/models.c, seed 1): 784-512-256-128-30 / 30-128-256-784,
 * 808,494 parameters. */
ae_model *bench_dense_autoencoder(void);

/* The same encoder with a decoder mirroring it, 30-128-256-512-784
 * (1,140,782 parameters): not the notebooks' model, kept as an extra
 * measurement to set beside figures taken with it before. */
ae_model *bench_dense_autoencoder_symmetric(void);

/* m's layers in one line (examples/models.h: model_describe), in a static
 * buffer. */
const char *bench_describe(const ae_model *m);

#endif

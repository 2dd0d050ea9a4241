/* bench_util.c - helpers shared by the benchmark programs. */
#include "bench_util.h"

#include "models.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cblas.h>

const char *bench_blas_kernel(void)
{
#if defined(AE_BLAS_OPENBLAS)
    static char name[64];
    snprintf(name, sizeof name, "OpenBLAS, core %s", openblas_get_corename());
    return name;
#elif defined(AE_BLAS_BLIS)
    return "BLIS";
#else
    return "CBLAS";
#endif
}

void bench_check(ae_status s, const char *what)
{
    if (s != AE_OK) {
        fprintf(stderr, "bench: %s: %s: %s\n", what, ae_status_name(s),
                ae_last_error());
        exit(1);
    }
}

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void bench_sgemm_init(bench_sgemm *g, int n)
{
    size_t nn = (size_t)n * n;
    g->n = n;
    g->a = malloc(nn * sizeof *g->a);
    g->b = malloc(nn * sizeof *g->b);
    g->c = malloc(nn * sizeof *g->c);
    if (!g->a || !g->b || !g->c) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < nn; i++) {
        g->a[i] = (float)(i % 13) * 0.01f;
        g->b[i] = (float)(i % 7) * 0.02f;
    }
}

void bench_sgemm_free(bench_sgemm *g)
{
    free(g->a);
    free(g->b);
    free(g->c);
    g->a = g->b = g->c = NULL;
}

double bench_sgemm_once(const bench_sgemm *g)
{
    const int n = g->n;
    double t0 = bench_now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f,
                g->a, n, g->b, n, 0.0f, g->c, n);
    return 2.0 * n * (double)n * n / (bench_now() - t0) * 1e-9;
}

void bench_sgemm_settle(void)
{
    struct timespec pause = {0, 250 * 1000 * 1000};
    nanosleep(&pause, NULL);
}

double bench_sgemm_best(int n, int reps)
{
    bench_sgemm g;
    bench_sgemm_init(&g, n);
    double best = 0;
    for (int r = 0; r < reps; r++) {
        double rate = bench_sgemm_once(&g);
        best = rate > best ? rate : best;
    }
    bench_sgemm_free(&g);
    return best;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *values, int count)
{
    qsort(values, (size_t)count, sizeof *values, cmp_double);
    return values[count / 2];
}

ae_model *bench_dense_autoencoder(void)
{
    ae_model *m;
    bench_check(model_exp1_deep30(&m, 1), "model");
    return m;
}

ae_model *bench_dense_autoencoder_symmetric(void)
{
    ae_model *m;
    const int enc[] = {512, 256, 128, 30}, dec[] = {128, 256, 512, 784};
    bench_check(model_dense(&m, enc, 4, dec, 4, AE_ACT_RELU, AE_ACT_NONE,
                            AE_ACT_SIGMOID, 1),
                "model");
    return m;
}

const char *bench_describe(const ae_model *m)
{
    static char buf[1024];
    return model_describe(m, buf, sizeof buf);
}

/* bench_infer.c - inference as a user calls it: microseconds per image of
 * ae_model_reconstruct at batch 1, 8 and 64 for the experiment-1 dense
 * model and the experiment-7 conv model, and the memory and speed of
 * reconstructing 10,000 images in one call against batches of 128.
 *
 *   bench_infer [--threads N] [--reps N] [--only dense|conv] [--batch N]
 *
 * At one thread it also times the dense model's weights through BLAS's
 * sgemv alone and only read (sasum), the floors under its one-image
 * latency.
 * --only times one model; --batch one batch size, 1 to 64 (and skips the
 * 10,000-image call), for profiling one case or comparing the paths at
 * the sizes between.
 * Times are the best of --reps rounds (default 5) of enough calls to take
 * about 0.2 s; peak memory is the process's resident high-water mark
 * (VmHWM), reset before each measurement through /proc/self/clear_refs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "bench_util.h"
#include "models.h"

static long peak_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static void reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

/* Best microseconds per image of reconstructing `batch` images. */
static double us_per_image(ae_model *m, const float *x, float *y,
                           size_t batch, int reps)
{
    bench_check(ae_model_reconstruct(m, x, batch, y), "warming up");
    double t0 = bench_now();
    int calls = 0;
    while (bench_now() - t0 < 0.05) {
        bench_check(ae_model_reconstruct(m, x, batch, y), "reconstructing");
        calls++;
    }
    calls = calls * 4 + 1; /* about 0.2 s a round */
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t = bench_now();
        for (int c = 0; c < calls; c++)
            bench_check(ae_model_reconstruct(m, x, batch, y),
                        "reconstructing");
        double per = (bench_now() - t) / calls / (double)batch * 1e6;
        best = per < best ? per : best;
    }
    return best;
}

static void latency(const char *name, ae_model *m, int reps, size_t one)
{
    enum { MAX_BATCH = 64 };
    size_t in = ae_model_input_size(m);
    float *x = malloc(MAX_BATCH * in * sizeof *x);
    float *y = malloc(MAX_BATCH * in * sizeof *y);
    if (x == NULL || y == NULL)
        bench_check(AE_ERR_NO_MEMORY, "allocating");
    for (size_t i = 0; i < MAX_BATCH * in; i++)
        x[i] = (float)(i % 97) / 97.0f;
    /* The three sizes, or the one asked for (--batch, up to MAX_BATCH). */
    const size_t three[] = {1, 8, 64};
    const size_t *batches = one == 0 ? three : &one;
    for (int b = 0; b < (one == 0 ? 3 : 1); b++)
        printf("%-26s batch %2zu: %9.1f us per image (%d threads)\n", name,
               batches[b], us_per_image(m, x, y, batches[b], reps),
               ae_threads());
    free(x);
    free(y);
}

/* The floors under one image through a dense model, at one thread: the
 * model's weights (copied out of it) through BLAS's sgemv alone, a whole
 * layer a call and the layers in a row, with nothing else (no bias,
 * activation or threads); and the same weights only read, by BLAS's
 * sasum, which no product of them can beat: every weight must come from
 * wherever it sits in the caches once per image.  Best of reps rounds. */
static void dense_floors(const char *name, const ae_model *m, int reps)
{
    enum { MAX_LAYERS = 16, CALLS = 2000 };
    const size_t n_layers = ae_model_layer_count(m);
    float *w[MAX_LAYERS] = {0};
    size_t rows[MAX_LAYERS], cols[MAX_LAYERS], widest = 0;
    size_t in = ae_model_input_size(m);
    if (n_layers > MAX_LAYERS)
        return;
    for (size_t i = 0; i < n_layers; i++) {
        ae_layer *l;
        bench_check(ae_model_layer(m, i, &l), "reading the layers");
        rows[i] = ae_layer_output_size(l);
        cols[i] = in;
        in = rows[i];
        widest = rows[i] > widest ? rows[i] : widest;
        widest = cols[i] > widest ? cols[i] : widest;
        w[i] = malloc(rows[i] * cols[i] * sizeof(float));
        if (w[i] == NULL)
            bench_check(AE_ERR_NO_MEMORY, "allocating");
        bench_check(ae_layer_get_weights(l, w[i], rows[i] * cols[i]),
                    "copying the weights (a dense model only)");
    }
    float *a = calloc(widest, sizeof *a), *b = calloc(widest, sizeof *b);
    if (a == NULL || b == NULL)
        bench_check(AE_ERR_NO_MEMORY, "allocating");
    for (size_t i = 0; i < widest; i++)
        a[i] = (float)(i % 97) / 97.0f;
    double gemv = 1e30, read = 1e30;
    volatile float sink = 0.0f;
    for (int r = 0; r < reps; r++) {
        double t = bench_now();
        for (int c = 0; c < CALLS; c++)
            for (size_t i = 0; i < n_layers; i++)
                cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)rows[i],
                            (int)cols[i], 1.0f, w[i], (int)cols[i],
                            i % 2 ? b : a, 1, 0.0f, i % 2 ? a : b, 1);
        double per = (bench_now() - t) / CALLS * 1e6;
        gemv = per < gemv ? per : gemv;
        t = bench_now();
        for (int c = 0; c < CALLS; c++)
            for (size_t i = 0; i < n_layers; i++)
                sink += cblas_sasum((int)(rows[i] * cols[i]), w[i], 1);
        per = (bench_now() - t) / CALLS * 1e6;
        read = per < read ? per : read;
    }
    (void)sink;
    printf("%-26s sgemv alone, batch 1: %9.1f us per image (BLAS, a layer "
           "a call, one thread)\n", name, gemv);
    printf("%-26s weights read, batch 1: %8.1f us per image (BLAS sasum "
           "over them, one thread)\n", name, read);
    for (size_t i = 0; i < n_layers; i++)
        free(w[i]);
    free(a);
    free(b);
}

/* Reconstruct n images in one call, then in calls of 128: seconds per
 * image and the peak resident memory each way. */
static void one_call(const char *name, ae_model *m, size_t n)
{
    size_t in = ae_model_input_size(m);
    float *x = malloc(n * in * sizeof *x), *y = malloc(n * in * sizeof *y);
    if (x == NULL || y == NULL)
        bench_check(AE_ERR_NO_MEMORY, "allocating");
    for (size_t i = 0; i < n * in; i++)
        x[i] = (float)(i % 89) / 89.0f;
    memset(y, 0, n * in * sizeof *y); /* the caller's arrays, resident */
    long base = peak_kb();
    reset_peak();
    base = peak_kb();
    double t = bench_now();
    bench_check(ae_model_reconstruct(m, x, n, y), "reconstructing");
    double whole = bench_now() - t;
    long whole_kb = peak_kb() - base;
    reset_peak();
    base = peak_kb();
    t = bench_now();
    for (size_t first = 0; first < n; first += 128) {
        size_t k = n - first < 128 ? n - first : 128;
        bench_check(ae_model_reconstruct(m, x + first * in, k,
                                         y + first * in),
                    "reconstructing");
    }
    double chunked = bench_now() - t;
    long chunked_kb = peak_kb() - base;
    printf("%-26s %zu images in one call: %.1f us per image, peak +%ld MB; "
           "in calls of 128: %.1f us per image, peak +%ld MB\n", name, n,
           whole / (double)n * 1e6, whole_kb / 1024, chunked / (double)n * 1e6,
           chunked_kb / 1024);
    free(x);
    free(y);
}

int main(int argc, char **argv)
{
    int threads = 0, reps = 5;
    const char *only = NULL;
    size_t one = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc &&
                 atoi(argv[i + 1]) >= 1 && atoi(argv[i + 1]) <= 64)
            one = (size_t)atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_infer [--threads N] [--reps N] "
                            "[--only dense|conv] [--batch 1..64]\n");
            return 2;
        }
    }
    bench_check(ae_set_threads(threads), "setting the threads");
    ae_model *dense = bench_dense_autoencoder(), *conv = NULL;
    bench_check(model_exp7_conv_denoiser(&conv, 28, 28, 1), "building");
    /* bench_describe returns one static buffer: one call per printf. */
    printf("dense: %s\n", bench_describe(dense));
    printf("conv: %s\n", bench_describe(conv));
    if (only == NULL || strcmp(only, "dense") == 0) {
        latency("experiment-1 dense", dense, reps, one);
        if ((one == 0 || one == 1) && ae_threads() == 1)
            dense_floors("experiment-1 dense", dense, reps);
    }
    if (only == NULL || strcmp(only, "conv") == 0)
        latency("experiment-7 conv", conv, reps, one);
    if (one == 0 && (only == NULL || strcmp(only, "conv") == 0))
        one_call("experiment-7 conv", conv, 10000);
    ae_model_free(dense);
    ae_model_free(conv);
    return 0;
}

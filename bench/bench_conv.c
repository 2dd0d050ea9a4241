/* bench_conv.c - one convolution layer's training passes (forward, then
 * backward with the input gradient) by the direct path and by Winograd,
 * alternating, at the shapes of experiments 6 and 7: the measurements
 * behind the rule in lib/layers/conv_winograd.c.
 *
 *   bench_conv [--threads N] [--batch N] [--reps N]  [--only direct|winograd]
 *              [--shape I]
 *
 * Each figure is the best of --reps rounds (default 5) of about 0.1 s,
 * the two paths taking turns, so that both see the same machine; the
 * ratio is direct time over Winograd time (above 1: Winograd wins). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "layers/conv_winograd.h"
#include "nn/model.h"

typedef struct shape {
    const char *where;
    int in_c, out_c, side, transposed;
} shape;

static const shape shapes[] = {
    {"exp7 enc 1", 1, 32, 28, 0},   {"exp7 enc 2", 32, 64, 14, 0},
    {"exp7 dec 1", 64, 64, 7, 0},   {"exp7 dec 2", 64, 32, 14, 0},
    {"exp7 dec 3", 32, 1, 28, 0},   {"exp6 enc 1", 1, 8, 28, 0},
    {"exp6 enc 2", 8, 16, 14, 0},   {"exp6 enc 3", 16, 16, 7, 0},
    {"exp6 dec 1", 16, 16, 7, 0},   {"exp6 dec 2", 16, 8, 14, 0},
    {"exp6 dec 3", 8, 1, 28, 0},    {"exp6 deconv 1", 16, 16, 7, 1},
    {"exp6 deconv 2", 16, 8, 14, 1}, {"exp6 deconv 3", 8, 1, 28, 1},
    /* transposed at experiment 7's widths (no seed model has them) */
    {"deconv 32-64", 32, 64, 14, 1}, {"deconv 64-64", 64, 64, 7, 1},
};

/* Seconds of one forward and backward pass over batch images. */
static double passes(ae_model *m, const float *x, const float *dy,
                     size_t batch, int fast)
{
    ae__winograd_allow(fast ? 2 : 0); /* 2: Winograd whatever the rule */
    const float *out;
    double t = bench_now();
    int n = 0;
    do {
        bench_check(ae__model_forward(m, 0, 1, x, batch, 1, &out),
                    "forward");
        bench_check(ae__model_backward(m, x, batch, dy, 0, 0.0f, NULL),
                    "backward");
        n++;
    } while (bench_now() - t < 0.1);
    return (bench_now() - t) / n;
}

int main(int argc, char **argv)
{
    int threads = 0, reps = 5, only = -1, pick = -1;
    size_t batch = 128;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
            batch = (size_t)atol(argv[++i]);
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = strcmp(argv[++i], "winograd") == 0;
        else if (strcmp(argv[i], "--shape") == 0 && i + 1 < argc)
            pick = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_conv [--threads N] [--batch N] "
                            "[--reps N] [--only direct|winograd] "
                            "[--shape I]\n");
            return 2;
        }
    }
    bench_check(ae_set_threads(threads), "setting the threads");
    printf("%d threads, batch %zu; direct and Winograd ms per training "
           "pass of the layer (best of %d)\n", ae_threads(), batch, reps);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        if (pick >= 0 && (size_t)pick != s)
            continue;
        const shape *sh = &shapes[s];
        ae_model *m;
        bench_check(ae_model_create(&m, sh->in_c, sh->side, sh->side, 1),
                    "model");
        /* A first layer, so that the convolution computes its input
         * gradient as it does inside a model. */
        bench_check(ae_model_add_reshape(m, AE_ENCODER, sh->in_c, sh->side,
                                         sh->side),
                    "reshape");
        if (sh->transposed)
            bench_check(ae_model_add_conv_transpose2d(
                            m, AE_ENCODER, sh->out_c, 3, 1, 1, 0,
                            AE_ACT_NONE),
                        "layer");
        else
            bench_check(ae_model_add_conv2d(m, AE_ENCODER, sh->out_c, 3, 1,
                                            1, AE_ACT_NONE),
                        "layer");
        const size_t n_in = batch * (size_t)sh->in_c * sh->side * sh->side;
        const size_t n_out = batch * (size_t)sh->out_c * sh->side * sh->side;
        float *x = malloc(n_in * sizeof *x), *dy = malloc(n_out * sizeof *dy);
        if (x == NULL || dy == NULL)
            bench_check(AE_ERR_NO_MEMORY, "buffers");
        for (size_t i = 0; i < n_in; i++)
            x[i] = (float)(i % 97) / 97.0f;
        for (size_t i = 0; i < n_out; i++)
            dy[i] = (float)(i % 89) / 89.0f - 0.5f;
        double best[2] = {1e30, 1e30};
        for (int r = 0; r < reps; r++)
            for (int fast = 0; fast < 2; fast++) {
                if (only >= 0 && fast != only)
                    continue;
                double t = passes(m, x, dy, batch, fast);
                best[fast] = t < best[fast] ? t : best[fast];
            }
        if (only >= 0)
            printf("%-14s %2d -> %2d at %2d x %2d%s: %s %8.3f ms\n",
                   sh->where, sh->in_c, sh->out_c, sh->side, sh->side,
                   sh->transposed ? " (T)" : "    ",
                   only ? "Winograd" : "direct", best[only] * 1e3);
        else
            printf("%-14s %2d -> %2d at %2d x %2d%s: direct %8.3f ms, "
                   "Winograd %8.3f ms, ratio %.2f\n",
                   sh->where, sh->in_c, sh->out_c, sh->side, sh->side,
                   sh->transposed ? " (T)" : "    ", best[0] * 1e3,
                   best[1] * 1e3, best[0] / best[1]);
        free(x);
        free(dy);
        ae_model_free(m);
    }
    ae__winograd_allow(1);
    return 0;
}

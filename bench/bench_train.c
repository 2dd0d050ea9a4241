/* bench_train.c - how fast libautoenc trains, as a fraction of what this
 * machine's BLAS can do, measured in the same run.
 *
 * The machines this runs on are shared and noisy, so absolute seconds mean
 * little: every training figure is reported beside the sgemm rate measured
 * moments before, and as a ratio to it; each training epoch is also
 * compared with the median of sgemm probes timed during the epoch itself
 * (the clock stopped meanwhile), which follows the load as it changes.
 *
 * The dense model is experiment 1's deep autoencoder as the notebooks
 * wrote it (784-512-256-128-30 / 30-128-256-784), the conv model
 * experiment 7's; both come from examples/models.c, as the experiments'
 * do.  `--only dense-symmetric` times, as an extra measurement run only
 * when asked, the same encoder with a decoder mirroring it
 * (30-128-256-512-784), the model earlier figures were taken with.
 *
 * Also experiment 2's one-hidden-layer models (784-h-784, h = 64, 128,
 * 256) and experiment 3's over-complete sparse model (784-1024-784, L1 on
 * the code, lambda 1e-4 per image), batch 64, MSE.
 *
 * usage: bench_train [--data DIR] [--images N] [--threads N] [--json FILE]
 *                    [--only dense|shallow|sparse|conv|pca|load|
 *                            dense-symmetric]
 *                    [--pca-solver exact|randomized] [--pca-reps N]
 * The PCA part fits with the chosen solver (default exact, the library's
 * default) N times (default 1), reports the best, and prints the fit's
 * reconstruction MSE on the same images (not timed).
 * Default data: Debian's Fashion-MNIST (60,000 training images). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <autoenc.h>
#include <cblas.h>

#include "bench_util.h"
#include "models.h"

#define DEFAULT_DATA "/usr/share/datasets/fashion-mnist"

static double peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* Linux reports KiB */
}

/* Useful floating-point work of one training step per image: every layer
 * with weights does 2 * weights * positions in the forward pass, where
 * positions is the number of output pixels a kernel slides over (1 for
 * dense); the backward pass does twice that (weight and input gradients),
 * except the first layer, which needs no input gradient.  Pooling,
 * upsampling, activations and the optimizer are left out: they are
 * memory-bound and small beside the products. */
static double flops_per_image(ae_model *m)
{
    double total = 0;
    for (size_t i = 0; i < ae_model_layer_count(m); i++) {
        ae_layer *l;
        bench_check(ae_model_layer(m, i, &l), "layer");
        int c, h, w;
        double positions = 1;
        switch (ae_layer_get_kind(l)) {
        case AE_LAYER_CONV2D:
            bench_check(ae_layer_output_shape(l, &c, &h, &w), "shape");
            positions = (double)h * w;
            break;
        case AE_LAYER_CONV_TRANSPOSE2D:
            bench_check(ae_layer_input_shape(l, &c, &h, &w), "shape");
            positions = (double)h * w;
            break;
        default:
            break;
        }
        double fwd = 2.0 * (double)ae_layer_weight_count(l) * positions;
        total += fwd + (i == 0 ? fwd : 2 * fwd);
    }
    return total;
}

/* GFLOP/s of one row-major product C = op(A) op(B), m x n x k, repeated
 * for at least 50 ms with BLAS's own threads. */
static double sgemm_shape(int trans_a, int trans_b, int m, int n, int k)
{
    float *a = calloc((size_t)m * k, sizeof *a);
    float *b = calloc((size_t)k * n, sizeof *b);
    float *c = calloc((size_t)m * n, sizeof *c);
    if (a == NULL || b == NULL || c == NULL) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    double t0 = bench_now(), t;
    long reps = 0;
    do {
        cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                    trans_b ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a,
                    trans_a ? m : k, b, trans_b ? k : n, 0.0f, c, n);
        reps++;
    } while ((t = bench_now() - t0) < 0.05);
    free(a);
    free(b);
    free(c);
    return 2.0 * m * (double)n * k * (double)reps / t * 1e-9;
}

/* The sgemm rate at the products a dense model's training step makes at
 * this batch size (forward x W^T, weight gradient dy^T x, input gradient
 * dy W; none for the first layer), weighted by their work: what BLAS
 * alone achieves on these small shapes, the ceiling for the epoch beside
 * the large square product. */
static double sgemm_dense_shapes(ae_model *m, int batch)
{
    double flops = 0, seconds = 0;
    for (size_t i = 0; i < ae_model_layer_count(m); i++) {
        ae_layer *l;
        int c, h, w;
        bench_check(ae_model_layer(m, i, &l), "layer");
        bench_check(ae_layer_input_shape(l, &c, &h, &w), "shape");
        const int in = c * h * w;
        bench_check(ae_layer_output_shape(l, &c, &h, &w), "shape");
        const int out = c * h * w;
        const double f = 2.0 * batch * (double)in * out;
        seconds += f / (sgemm_shape(0, 1, batch, out, in) * 1e9);
        seconds += f / (sgemm_shape(1, 0, out, in, batch) * 1e9);
        flops += 2 * f;
        if (i > 0) {
            seconds += f / (sgemm_shape(0, 0, batch, in, out) * 1e9);
            flops += f;
        }
    }
    return flops / seconds * 1e-9;
}

typedef struct result {
    char name[48]; /* a copy: the shallow models' labels are built in turn */
    double seconds, images, gflops, ratio, rss_mb;
    double probe; /* median sgemm rate probed during the run, or 0 */
} result;

/* Every part of a run without --only takes 8 (load, PCA, dense, three
 * shallow, sparse, conv). */
enum { MAX_RESULTS = 16 };
static result results[MAX_RESULTS];
static int n_results;

static void record(const char *name, double seconds, double images,
                   double flops, double sgemm)
{
    result r = {"", seconds, images, flops / seconds * 1e-9, 0,
                peak_rss_mb(), 0};
    snprintf(r.name, sizeof r.name, "%s", name);
    r.ratio = flops > 0 ? r.gflops / sgemm : 0;
    if (n_results == MAX_RESULTS) {
        fprintf(stderr, "bench: more than %d results\n", MAX_RESULTS);
        exit(1);
    }
    results[n_results++] = r;
    if (flops > 0)
        printf("%-28s %8.3f s %10.0f img/s %8.1f GFLOP/s %6.1f%% of sgemm  "
               "peak RSS %.0f MB\n", name, seconds, images / seconds,
               r.gflops, 100 * r.ratio, r.rss_mb);
    else
        printf("%-28s %8.3f s %10.0f img/s  peak RSS %.0f MB\n", name,
               seconds, images / seconds, r.rss_mb);
    fflush(stdout);
}

/* The machine is shared: other jobs come and go during an epoch, so a
 * single sgemm figure taken before it can flatter or wrong it.  While the
 * epoch runs, every PROBE_SECONDS the progress callback stops the clock,
 * times one large sgemm, and starts the clock again; the epoch is then also
 * compared with the median of those probes, taken under the same load. */
#define PROBE_SECONDS 1.0
enum { PROBE_N = 1024, MAX_PROBES = 512 };

typedef struct probes {
    bench_sgemm g;
    double last, paused; /* time of the last probe, seconds spent probing */
    double rate[MAX_PROBES];
    int count;
} probes;

static int probe_progress(const ae_progress *pr, void *user)
{
    (void)pr;
    probes *p = user;
    double t = bench_now();
    if (t - p->last < PROBE_SECONDS || p->count == MAX_PROBES)
        return 0;
    p->rate[p->count++] = bench_sgemm_once(&p->g);
    bench_sgemm_settle();
    p->last = bench_now();
    p->paused += p->last - t;
    return 0;
}

/* One epoch, timed; the first step (buffer allocation) runs before the
 * clock starts.  l1 > 0 adds experiment 3's penalty: l1 times the sum of
 * the code's magnitudes, averaged over the batch's images. */
static void time_epoch(const char *name, ae_model *m, ae_dataset *ds,
                       int batch, ae_loss loss, float l1, double sgemm)
{
    ae_optimizer *adam;
    ae_trainer *t;
    bench_check(ae_optimizer_create_adam(&adam, 1e-3f), "adam");
    bench_check(ae_trainer_create(&t, m, adam), "trainer");
    bench_check(ae_trainer_set(t, AE_TRAIN_BATCH_SIZE, batch), "batch");
    bench_check(ae_trainer_set(t, AE_TRAIN_LOSS, loss), "loss");
    if (l1 > 0.0f) {
        bench_check(ae_trainer_set(t, AE_TRAIN_L1_CODE, l1), "L1");
        bench_check(ae_trainer_set(t, AE_TRAIN_L1_PER_IMAGE, 1), "L1");
    }
    size_t in = ae_model_input_size(m);
    float *warm = malloc((size_t)batch * in * sizeof *warm);
    bench_check(ae_dataset_batch(ds, 0, (size_t)batch, warm, NULL), "batch");
    bench_check(ae_trainer_step(t, warm, NULL, (size_t)batch, NULL), "warm-up");
    free(warm);
    probes p = {0};
    bench_sgemm_init(&p.g, PROBE_N);
    bench_sgemm_settle(); /* after the machine-wide sgemm measured first */
    double t0 = bench_now();
    p.last = t0;
    bench_check(ae_trainer_fit(t, ds, NULL, 1, probe_progress, &p), name);
    double dt = bench_now() - t0 - p.paused;
    p.rate[p.count++] = bench_sgemm_once(&p.g); /* at least one probe */
    double n = (double)ae_dataset_count(ds);
    record(name, dt, n, flops_per_image(m) * n, sgemm);
    double median = bench_median(p.rate, p.count);
    double gf = flops_per_image(m) * n / dt * 1e-9;
    printf("%-28s %8.1f GFLOP/s median of %d sgemm probes during the "
           "epoch; epoch at %.1f%% of it\n", "", median, p.count,
           100 * gf / median);
    results[n_results - 1].probe = median;
    bench_sgemm_free(&p.g);
    ae_trainer_free(t);
    ae_optimizer_free(adam);
}

/* Experiment 7's convolutional denoising autoencoder (74,497 weights). */
static ae_model *conv_model(void)
{
    ae_model *m;
    bench_check(model_exp7_conv_denoiser(&m, 28, 28, 1), "model");
    return m;
}

static void path_join(char *buf, size_t size, const char *dir,
                      const char *file)
{
    snprintf(buf, size, "%s/%s", dir, file);
}

/* 1 if --only may name part. */
static int known_part(const char *part)
{
    static const char *const parts[] = {"dense",   "shallow", "sparse",
                                        "conv",    "pca",     "load",
                                        "dense-symmetric"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (strcmp(part, parts[i]) == 0)
            return 1;
    return 0;
}

static int wanted(const char *only, const char *what)
{
    return only == NULL || strcmp(only, what) == 0;
}

/* An extra measurement: only when --only names it. */
static int asked(const char *only, const char *what)
{
    return only != NULL && strcmp(only, what) == 0;
}

/* Mean squared error of reconstructing ds's images through p, in double;
 * by blocks, so the images are never all floats at once. */
static double pca_recon_mse(const ae_pca *p, const ae_dataset *ds)
{
    enum { ROWS = 2048 };
    const size_t n = ae_dataset_count(ds), d = ae_dataset_image_size(ds);
    const size_t k = (size_t)ae_pca_components(p);
    float *x = malloc(ROWS * d * sizeof *x), *back = malloc(ROWS * d * sizeof *x);
    float *codes = malloc(ROWS * k * sizeof *codes);
    if (!x || !back || !codes) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    double sum = 0;
    for (size_t first = 0; first < n; first += ROWS) {
        size_t m = n - first < ROWS ? n - first : ROWS;
        bench_check(ae_dataset_batch(ds, first, m, x, NULL), "pca batch");
        bench_check(ae_pca_transform(p, x, m, codes), "pca transform");
        bench_check(ae_pca_inverse_transform(p, codes, m, back), "pca back");
        for (size_t i = 0; i < m * d; i++)
            sum += ((double)x[i] - back[i]) * ((double)x[i] - back[i]);
    }
    free(x);
    free(back);
    free(codes);
    return sum / ((double)n * (double)d);
}

/* Time one epoch of the dense model m at batch 64, after the sgemm rate
 * at its own shapes; returns that rate. */
static double dense_epoch(const char *label, const char *shapes_label,
                          ae_model *m, ae_dataset *ds, double sgemm)
{
    printf("%-28s %s, %zu parameters\n", "  its layers", bench_describe(m),
           ae_model_param_count(m));
    double shapes = sgemm_dense_shapes(m, 64);
    printf("%-28s %8.1f GFLOP/s (%.1f%% of 2048^3)\n", shapes_label, shapes,
           100 * shapes / sgemm);
    time_epoch(label, m, ds, 64, AE_LOSS_MSE, 0.0f, sgemm);
    return shapes;
}

int main(int argc, char **argv)
{
    const char *data = DEFAULT_DATA, *json = NULL, *only = NULL;
    long images = 0;
    int threads = 0, pca_solver = AE_PCA_EXACT, pca_reps = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
            data = argv[++i];
        else if (strcmp(argv[i], "--images") == 0 && i + 1 < argc)
            images = atol(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
            json = argv[++i];
        else if (strcmp(argv[i], "--pca-solver") == 0 && i + 1 < argc &&
                 (strcmp(argv[i + 1], "exact") == 0 ||
                  strcmp(argv[i + 1], "randomized") == 0))
            pca_solver = strcmp(argv[++i], "exact") == 0 ? AE_PCA_EXACT
                                                          : AE_PCA_RANDOMIZED;
        else if (strcmp(argv[i], "--pca-reps") == 0 && i + 1 < argc &&
                 atoi(argv[i + 1]) > 0)
            pca_reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc &&
                 known_part(argv[i + 1]))
            only = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--data DIR] [--images N] "
                    "[--threads N] [--json FILE] "
                    "[--only dense|shallow|sparse|conv|pca|load|"
                    "dense-symmetric] "
                    "[--pca-solver exact|randomized] [--pca-reps N]\n",
                    argv[0]);
            return 2;
        }
    }
    bench_check(ae_set_threads(threads), "threads");
    printf("libautoenc %s, %d threads, %s, data %s\n",
           ae_version_string(), ae_threads(), bench_blas_kernel(), data);

    double sgemm = bench_sgemm_best(2048, 5);
    printf("%-28s %8.1f GFLOP/s (2048^3, best of 5)\n", "sgemm", sgemm);

    char img_path[4096];
    path_join(img_path, sizeof img_path, data, "train-images-idx3-ubyte.gz");
    ae_dataset *full;
    double t0 = bench_now();
    bench_check(ae_dataset_load_idx(&full, img_path, NULL), "loading");
    double load_s = bench_now() - t0;
    if (wanted(only, "load"))
        record("load gzip IDX", load_s, (double)ae_dataset_count(full), 0,
               sgemm);
    ae_dataset *ds = full;
    if (images > 0 && (size_t)images < ae_dataset_count(full))
        bench_check(ae_dataset_subset(full, 0, (size_t)images, &ds), "subset");

    if (wanted(only, "pca")) {
        ae_pca *pca;
        bench_check(ae_pca_create(&pca, 30), "pca");
        bench_check(ae_pca_set(pca, AE_PCA_SOLVER, pca_solver), "pca solver");
        double best = 0;
        for (int r = 0; r < pca_reps; r++) {
            t0 = bench_now();
            bench_check(ae_pca_fit_dataset(pca, ds), "pca fit");
            double t = bench_now() - t0;
            if (r == 0 || t < best)
                best = t;
        }
        record(pca_solver == AE_PCA_EXACT ? "PCA-30 fit"
                                          : "PCA-30 fit, randomized",
               best, (double)ae_dataset_count(ds), 0, sgemm);
        printf("%-28s %.10f\n", "  its reconstruction MSE",
               pca_recon_mse(pca, ds));
        ae_pca_free(pca);
    }
    double dense_shapes = 0, symmetric_shapes = 0;
    if (wanted(only, "dense")) {
        ae_model *m = bench_dense_autoencoder();
        dense_shapes = dense_epoch("dense AE epoch (batch 64)",
                                   "sgemm, dense shapes, b. 64", m, ds,
                                   sgemm);
        ae_model_free(m);
    }
    if (wanted(only, "shallow")) { /* experiment 2's three models */
        static const int hidden[] = {64, 128, 256};
        for (int i = 0; i < 3; i++) {
            ae_model *m;
            char label[64];
            bench_check(model_one_hidden(&m, hidden[i], 1), "model");
            snprintf(label, sizeof label, "shallow h%d epoch (batch 64)",
                     hidden[i]);
            time_epoch(label, m, ds, 64, AE_LOSS_MSE, 0.0f, sgemm);
            ae_model_free(m);
        }
    }
    if (wanted(only, "sparse")) { /* experiment 3's, lambda 1e-4 */
        ae_model *m;
        bench_check(model_one_hidden(&m, 1024, 1), "model");
        time_epoch("sparse 1024 epoch (batch 64)", m, ds, 64, AE_LOSS_MSE,
                   1e-4f, sgemm);
        ae_model_free(m);
    }
    if (asked(only, "dense-symmetric")) {
        ae_model *m = bench_dense_autoencoder_symmetric();
        symmetric_shapes = dense_epoch("symmetric AE (extra), b. 64",
                                       "sgemm, symmetric shapes", m, ds,
                                       sgemm);
        ae_model_free(m);
    }
    if (wanted(only, "conv")) {
        ae_model *m = conv_model();
        time_epoch("conv AE epoch (batch 128)", m, ds, 128, AE_LOSS_BCE,
                   0.0f, sgemm);
        ae_model_free(m);
    }

    if (json != NULL) {
        FILE *f = fopen(json, "w");
        if (f == NULL) {
            fprintf(stderr, "bench: %s: %s\n", json, strerror(errno));
            return 1;
        }
        fprintf(f, "{\"threads\": %d, \"sgemm_gflops\": %.2f, "
                "\"sgemm_dense_shapes_gflops\": %.2f, "
                "\"sgemm_symmetric_shapes_gflops\": %.2f, \"results\": [",
                ae_threads(), sgemm, dense_shapes, symmetric_shapes);
        for (int i = 0; i < n_results; i++)
            fprintf(f, "%s\n  {\"name\": \"%s\", \"seconds\": %.4f, "
                    "\"images\": %.0f, \"gflops\": %.2f, "
                    "\"ratio_to_sgemm\": %.4f, \"probe_sgemm_gflops\": %.2f, "
                    "\"ratio_to_probes\": %.4f, \"peak_rss_mb\": %.1f}",
                    i ? "," : "", results[i].name, results[i].seconds,
                    results[i].images, results[i].gflops, results[i].ratio,
                    results[i].probe,
                    results[i].probe > 0 ? results[i].gflops / results[i].probe
                                         : 0.0,
                    results[i].rss_mb);
        fprintf(f, "\n]}\n");
        fclose(f);
    }
    if (ds != full)
        ae_dataset_free(ds);
    ae_dataset_free(full);
    return 0;
}

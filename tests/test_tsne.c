/* test_tsne.c - exact t-SNE: separated clusters stay separated, runs are
 * reproducible, P and the KL divergence agree with an independent double
 * computation, errors are reported, and on the codes of a real MNIST
 * autoencoder a 10-nearest-neighbour vote in the map recovers the digit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Fraction of points whose label wins the vote of their k nearest
 * neighbours in y (n x dims), self excluded; a tied vote goes to the label
 * of the nearest point among the tied ones. */
static double knn_accuracy(const float *y, size_t n, int dims,
                           const int *labels, int k)
{
    enum { MAX_K = 32, MAX_LABEL = 256 };
    ck_assert(k <= MAX_K);
    size_t correct = 0;
    for (size_t i = 0; i < n; i++) {
        double best_d[MAX_K];
        int best_l[MAX_K], have = 0;
        for (size_t j = 0; j < n; j++) {
            if (j == i)
                continue;
            double d2 = 0.0;
            for (int c = 0; c < dims; c++) {
                double dc = (double)y[i * dims + c] - y[j * dims + c];
                d2 += dc * dc;
            }
            if (have == k && d2 >= best_d[k - 1])
                continue;
            int pos = have < k ? have++ : k - 1;
            while (pos > 0 && best_d[pos - 1] > d2) {
                best_d[pos] = best_d[pos - 1];
                best_l[pos] = best_l[pos - 1];
                pos--;
            }
            best_d[pos] = d2;
            best_l[pos] = labels[j];
        }
        int votes[MAX_LABEL] = {0}, top = 0;
        for (int m = 0; m < have; m++)
            if (++votes[best_l[m]] > top)
                top = votes[best_l[m]];
        int winner = -1;
        for (int m = 0; m < have && winner < 0; m++)
            if (votes[best_l[m]] == top)
                winner = best_l[m];
        correct += winner == labels[i];
    }
    return (double)correct / (double)n;
}

/* `clusters` Gaussian-like blobs of `per` points in d dimensions: centres
 * uniform in [-10, 10]^d, points centre + uniform noise in [-1, 1]^d. */
static float *make_clusters(int clusters, int per, int d, uint32_t seed,
                            int *labels)
{
    const size_t n = (size_t)clusters * (size_t)per;
    float *x = malloc(n * (size_t)d * sizeof *x);
    float *centres = malloc((size_t)clusters * (size_t)d * sizeof *centres);
    ck_assert(x && centres);
    tu_fill_uniform(centres, (size_t)clusters * (size_t)d, -10.0f, 10.0f,
                    seed);
    tu_fill_uniform(x, n * (size_t)d, -1.0f, 1.0f, seed + 1);
    for (size_t i = 0; i < n; i++) {
        /* interleave the clusters so that no input order helps */
        int c = (int)(i % (size_t)clusters);
        labels[i] = c;
        for (int j = 0; j < d; j++)
            x[i * d + j] += centres[c * d + j];
    }
    free(centres);
    return x;
}

static ae_tsne *make_tsne(int dims, double perplexity, int iterations,
                          uint64_t seed)
{
    ae_tsne *t = NULL;
    ck_assert_ae_ok(ae_tsne_create(&t, dims));
    ck_assert_ae_ok(ae_tsne_set(t, AE_TSNE_PERPLEXITY, perplexity));
    ck_assert_ae_ok(ae_tsne_set(t, AE_TSNE_ITERATIONS, iterations));
    ck_assert_ae_ok(ae_tsne_set(t, AE_TSNE_SEED, (double)seed));
    return t;
}

START_TEST(test_clusters_stay_separated)
{
    enum { K = 5, PER = 60, D = 10, N = K * PER };
    int labels[N];
    float *x = make_clusters(K, PER, D, 11, labels);
    for (int dims = 2; dims <= 3; dims++) {
        ae_tsne *t = make_tsne(dims, 30.0, 1000, 3);
        float *y = malloc((size_t)N * dims * sizeof *y);
        ck_assert_ptr_nonnull(y);
        ck_assert_ae_ok(ae_tsne_run(t, x, N, D, y));
        double acc = knn_accuracy(y, N, dims, labels, 10);
        double kl;
        ck_assert_ae_ok(ae_tsne_kl_divergence(t, &kl));
        printf("clusters, %d-D map: 10-NN accuracy %.4f, KL %.4f\n", dims,
               acc, kl);
        ck_assert_msg(acc >= 0.95, "%d-D: 10-NN accuracy %.4f < 0.95", dims,
                      acc);
        ck_assert(isfinite(kl) && kl > 0.0);
        /* the map is centred */
        for (int c = 0; c < dims; c++) {
            double mean = 0.0, spread = 0.0;
            for (int i = 0; i < N; i++) {
                mean += y[i * dims + c];
                spread += fabs(y[i * dims + c]);
            }
            ck_assert_msg(fabs(mean) < 1e-4 * spread, "axis %d mean %g", c,
                          mean / N);
        }
        free(y);
        ae_tsne_free(t);
    }
    free(x);
}
END_TEST

START_TEST(test_deterministic)
{
    enum { K = 4, PER = 50, D = 8, N = K * PER, DIMS = 2 };
    int labels[N];
    float *x = make_clusters(K, PER, D, 21, labels);
    float a[N * DIMS], b[N * DIMS], c[N * DIMS], e[N * DIMS];
    ae_tsne *t = make_tsne(DIMS, 20.0, 300, 42);
    ck_assert_ae_ok(ae_tsne_run(t, x, N, D, a));
    ck_assert_ae_ok(ae_tsne_run(t, x, N, D, b));
    ck_assert_mem_eq(a, b, sizeof a);
    /* a fresh handle with the same settings, and one or three threads
     * instead of the default: rows are summed the same way whoever sums
     * them (BLAS only forms distances, row by row) */
    int threads = ae_threads();
    ae_tsne *u = make_tsne(DIMS, 20.0, 300, 42);
    for (int k = 1; k <= 3; k += 2) {
        ck_assert_ae_ok(ae_set_threads(k));
        memset(c, 0, sizeof c);
        ck_assert_ae_ok(ae_tsne_run(u, x, N, D, c));
        ck_assert_mem_eq(a, c, sizeof a);
    }
    ck_assert_ae_ok(ae_set_threads(threads));
    ck_assert_ae_ok(ae_tsne_set(u, AE_TSNE_SEED, 43));
    ck_assert_ae_ok(ae_tsne_run(u, x, N, D, e));
    ck_assert(memcmp(a, e, sizeof a) != 0);
    ae_tsne_free(t);
    ae_tsne_free(u);
    free(x);
}
END_TEST

/* ---- independent P and KL in double ------------------------------------- */

/* p_j|i by bisection on beta to 1e-12 in entropy, straight from the
 * definition, then P = (P + P^T) / 2n floored at 1e-12 as the library. */
static void reference_p(const float *x, int n, int d, double perplexity,
                        double *p)
{
    double *dist = malloc((size_t)n * n * sizeof *dist);
    ck_assert_ptr_nonnull(dist);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0.0;
            for (int c = 0; c < d; c++) {
                double v = (double)x[i * d + c] - x[j * d + c];
                s += v * v;
            }
            dist[i * n + j] = s;
        }
    for (int i = 0; i < n; i++) {
        double lo = 0.0, hi = 1e6, beta = 1.0;
        for (int step = 0; step < 200; step++) {
            beta = 0.5 * (lo + hi);
            double s = 0.0, h = 0.0;
            for (int j = 0; j < n; j++)
                if (j != i)
                    s += exp(-beta * dist[i * n + j]);
            for (int j = 0; j < n; j++)
                if (j != i) {
                    double q = exp(-beta * dist[i * n + j]) / s;
                    if (q > 0)
                        h -= q * log(q);
                }
            if (h > log(perplexity))
                lo = beta;
            else
                hi = beta;
        }
        double s = 0.0;
        for (int j = 0; j < n; j++)
            s += j == i ? 0.0 : exp(-beta * dist[i * n + j]);
        for (int j = 0; j < n; j++)
            p[i * n + j] = j == i ? 0.0 : exp(-beta * dist[i * n + j]) / s;
    }
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            double v = (p[i * n + j] + p[j * n + i]) / (2.0 * n);
            p[i * n + j] = p[j * n + i] = v > 1e-12 ? v : 1e-12;
        }
    free(dist);
}

START_TEST(test_kl_matches_reference)
{
    enum { N = 120, D = 6, DIMS = 2 };
    float x[N * D], y[N * DIMS];
    /* small-scale data, so the kernel widths are far from the first guess */
    tu_fill_uniform(x, N * D, 0.0f, 0.05f, 77);
    ae_tsne *t = make_tsne(DIMS, 15.0, 400, 5);
    ck_assert_ae_ok(ae_tsne_run(t, x, N, D, y));
    double kl;
    ck_assert_ae_ok(ae_tsne_kl_divergence(t, &kl));

    double *p = malloc((size_t)N * N * sizeof *p);
    ck_assert_ptr_nonnull(p);
    reference_p(x, N, D, 15.0, p);
    /* KL = sum p log(p / q), q_ij = K_ij / sum K, K = 1 / (1 + |yi-yj|^2) */
    double z = 0.0, want = 0.0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            if (i != j) {
                double dx = (double)y[i * 2] - y[j * 2];
                double dy = (double)y[i * 2 + 1] - y[j * 2 + 1];
                z += 1.0 / (1.0 + dx * dx + dy * dy);
            }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            if (i != j) {
                double dx = (double)y[i * 2] - y[j * 2];
                double dy = (double)y[i * 2 + 1] - y[j * 2 + 1];
                double q = 1.0 / (1.0 + dx * dx + dy * dy) / z;
                want += p[i * N + j] * log(p[i * N + j] / q);
            }
    printf("KL: library %.8f, reference %.8f\n", kl, want);
    ck_assert_msg(fabs(kl - want) < 1e-4 * want + 1e-6,
                  "KL %.8f vs reference %.8f", kl, want);
    /* descent ends below the KL of the start, where every q is about
     * 1 / (n (n - 1)) (not far below: uniform data has no structure) */
    double start = 0.0;
    for (int i = 0; i < N * N; i++)
        if (i % (N + 1) != 0)
            start += p[i] * log(p[i] * N * (N - 1));
    ck_assert_msg(kl < start, "KL %.4f, at the start %.4f", kl, start);
    free(p);
    ae_tsne_free(t);
}
END_TEST

START_TEST(test_errors)
{
    ae_tsne *t = NULL;
    ck_assert_ae_status(ae_tsne_create(NULL, 2), AE_ERR_NULL);
    ck_assert_ae_status(ae_tsne_create(&t, 1), AE_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(t);
    ck_assert_ae_status(ae_tsne_create(&t, 4), AE_ERR_INVALID_ARGUMENT);
    ae_tsne_free(NULL);
    ck_assert_ae_ok(ae_tsne_create(&t, 2));

    /* defaults, and set / get round trips */
    double v;
    const struct { ae_tsne_param p; double def, good; } params[] = {
        {AE_TSNE_PERPLEXITY, 30, 5.5},
        {AE_TSNE_ITERATIONS, 1000, 250},
        {AE_TSNE_LEARNING_RATE, 200, 10},
        {AE_TSNE_EARLY_EXAGGERATION, 12, 4},
        {AE_TSNE_SEED, 0, 123456789},
        {AE_TSNE_EXAGGERATION_ITERATIONS, 250, 0},
    };
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++) {
        ck_assert_ae_ok(ae_tsne_get(t, params[i].p, &v));
        ck_assert_double_eq(v, params[i].def);
        ck_assert_ae_ok(ae_tsne_set(t, params[i].p, params[i].good));
        ck_assert_ae_ok(ae_tsne_get(t, params[i].p, &v));
        ck_assert_double_eq(v, params[i].good);
        ck_assert_ae_ok(ae_tsne_set(t, params[i].p, params[i].def));
    }
    const struct { ae_tsne_param p; double bad; } bad[] = {
        {AE_TSNE_PERPLEXITY, 0.5}, {AE_TSNE_PERPLEXITY, NAN},
        {AE_TSNE_PERPLEXITY, INFINITY}, {AE_TSNE_ITERATIONS, 0},
        {AE_TSNE_ITERATIONS, 2.5}, {AE_TSNE_ITERATIONS, 2e6},
        {AE_TSNE_LEARNING_RATE, 0}, {AE_TSNE_LEARNING_RATE, -1},
        {AE_TSNE_LEARNING_RATE, NAN}, {AE_TSNE_EARLY_EXAGGERATION, 0.5},
        {AE_TSNE_SEED, -1}, {AE_TSNE_SEED, 0.5}, {AE_TSNE_SEED, 1e300},
        {AE_TSNE_EXAGGERATION_ITERATIONS, -1}, {(ae_tsne_param)99, 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_ae_status(ae_tsne_set(t, bad[i].p, bad[i].bad),
                            AE_ERR_INVALID_ARGUMENT);
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++) {
        ck_assert_ae_ok(ae_tsne_get(t, params[i].p, &v));
        ck_assert_double_eq(v, params[i].def); /* nothing changed */
    }
    ck_assert_ae_status(ae_tsne_get(t, (ae_tsne_param)99, &v),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_tsne_get(NULL, AE_TSNE_SEED, &v), AE_ERR_NULL);
    ck_assert_ae_status(ae_tsne_get(t, AE_TSNE_SEED, NULL), AE_ERR_NULL);
    ck_assert_ae_status(ae_tsne_set(NULL, AE_TSNE_SEED, 1), AE_ERR_NULL);
    ck_assert_ae_status(ae_tsne_kl_divergence(t, &v), AE_ERR_BAD_STATE);

    /* run: arguments, sizes, perplexity against n, finiteness */
    enum { N = 60, D = 3 };
    float x[N * D], y[N * 2], sentinel[N * 2];
    tu_fill_uniform(x, N * D, -1.0f, 1.0f, 9);
    for (int i = 0; i < N * 2; i++)
        y[i] = sentinel[i] = -7.0f;
    ck_assert_ae_status(ae_tsne_run(NULL, x, N, D, y), AE_ERR_NULL);
    ck_assert_ae_status(ae_tsne_run(t, NULL, N, D, y), AE_ERR_NULL);
    ck_assert_ae_status(ae_tsne_run(t, x, N, D, NULL), AE_ERR_NULL);
    ck_assert_ae_status(ae_tsne_run(t, x, 3, D, y), AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_tsne_run(t, x, N, 0, y), AE_ERR_INVALID_ARGUMENT);
    /* default perplexity 30 needs n >= 91 */
    ck_assert_ae_status(ae_tsne_run(t, x, N, D, y), AE_ERR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(ae_last_error(), "perplexity") != NULL, "%s",
                  ae_last_error());
    float *big = calloc((AE_TSNE_MAX_POINTS + 1) * 2, sizeof *big);
    ck_assert_ptr_nonnull(big);
    ck_assert_ae_status(ae_tsne_run(t, big, AE_TSNE_MAX_POINTS + 1, 1, big),
                        AE_ERR_LIMIT);
    free(big);
    ck_assert_ae_ok(ae_tsne_set(t, AE_TSNE_PERPLEXITY, 20.0));
    ck_assert_ae_ok(ae_tsne_set(t, AE_TSNE_ITERATIONS, 50));
    ck_assert_ae_status(ae_tsne_run(t, x, N, D, y), AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_ok(ae_tsne_set(t, AE_TSNE_PERPLEXITY, 10.0));
    x[17] = NAN;
    ck_assert_ae_status(ae_tsne_run(t, x, N, D, y), AE_ERR_NOT_FINITE);
    x[17] = INFINITY;
    ck_assert_ae_status(ae_tsne_run(t, x, N, D, y), AE_ERR_NOT_FINITE);
    x[17] = 0.25f;
    ck_assert_mem_eq(y, sentinel, sizeof y); /* failures write nothing */
    ck_assert_ae_status(ae_tsne_kl_divergence(t, &v), AE_ERR_BAD_STATE);
    ck_assert_ae_ok(ae_tsne_run(t, x, N, D, y));
    ck_assert_ae_ok(ae_tsne_kl_divergence(t, &v));
    ck_assert(isfinite(v));
    ck_assert_ae_status(ae_tsne_kl_divergence(t, NULL), AE_ERR_NULL);

    /* duplicate points and the smallest n still work */
    float same[4 * 2] = {1, 1, 1, 1, 1, 1, 1, 1}, ys[4 * 2];
    ck_assert_ae_ok(ae_tsne_set(t, AE_TSNE_PERPLEXITY, 1.0));
    ck_assert_ae_ok(ae_tsne_run(t, same, 4, 2, ys));
    for (int i = 0; i < 8; i++)
        ck_assert(isfinite(ys[i]));
    ae_tsne_free(t);
}
END_TEST

/* ---- the requirement: MNIST codes ------------------------------- */

START_TEST(test_mnist_codes)
{
    if (!tu_require_mnist())
        return;
    /* 3 epochs leave codes whose own 10-NN vote is ~0.86 and a map at
     * ~0.82; 5 epochs give ~0.89 and ~0.87 (seeds 1-3), 10 epochs ~0.92
     * and ~0.89: the bound is about the codes as much as the map. */
    enum { CODE = 30, SHOWN = 2000, EPOCHS = 5 };
    /* tu_mnist_path returns a shared static buffer */
    char train_images[4096], train_labels[4096], test_images[4096],
        test_labels[4096];
    snprintf(train_images, sizeof train_images, "%s",
             tu_mnist_path("train-images-idx3-ubyte.gz"));
    snprintf(train_labels, sizeof train_labels, "%s",
             tu_mnist_path("train-labels-idx1-ubyte.gz"));
    snprintf(test_images, sizeof test_images, "%s",
             tu_mnist_path("t10k-images-idx3-ubyte.gz"));
    snprintf(test_labels, sizeof test_labels, "%s",
             tu_mnist_path("t10k-labels-idx1-ubyte.gz"));
    ae_dataset *train = NULL, *test = NULL;
    ck_assert_ae_ok(ae_dataset_load_idx(&train, train_images, train_labels));
    ck_assert_ae_ok(ae_dataset_load_idx(&test, test_images, test_labels));
    ck_assert_uint_ge(ae_dataset_count(test), SHOWN);

    /* experiment 1's deep autoencoder, 784-512-256-128-30-128-256-512-784 */
    double t0 = seconds_now();
    ae_model *m = NULL;
    ck_assert_ae_ok(ae_model_create(&m, 1, 28, 28, 1));
    const int enc[] = {512, 256, 128, CODE}, dec[] = {128, 256, 512, 784};
    for (int i = 0; i < 4; i++)
        ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, enc[i],
                                           i < 3 ? AE_ACT_RELU
                                                 : AE_ACT_NONE));
    for (int i = 0; i < 4; i++)
        ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, dec[i],
                                           i < 3 ? AE_ACT_RELU
                                                 : AE_ACT_SIGMOID));
    ae_optimizer *adam = NULL;
    ae_trainer *tr = NULL;
    ck_assert_ae_ok(ae_optimizer_create_adam(&adam, 1e-3f));
    ck_assert_ae_ok(ae_trainer_create(&tr, m, adam));
    ck_assert_ae_ok(ae_trainer_set(tr, AE_TRAIN_BATCH_SIZE, 64));
    ck_assert_ae_ok(ae_trainer_set(tr, AE_TRAIN_LOSS, AE_LOSS_MSE));
    ck_assert_ae_ok(ae_trainer_set(tr, AE_TRAIN_SEED, 1));
    ck_assert_ae_ok(ae_trainer_fit(tr, train, NULL, EPOCHS, NULL, NULL));
    double mse;
    ck_assert_ae_ok(ae_trainer_evaluate(tr, test, &mse));
    double t1 = seconds_now();

    float *images = malloc((size_t)SHOWN * 784 * sizeof *images);
    float *codes = malloc((size_t)SHOWN * CODE * sizeof *codes);
    float *map = malloc((size_t)SHOWN * 2 * sizeof *map);
    uint8_t labels8[SHOWN];
    int labels[SHOWN];
    ck_assert(images && codes && map);
    ck_assert_ae_ok(ae_dataset_batch(test, 0, SHOWN, images, labels8));
    ck_assert_ae_ok(ae_model_encode(m, images, SHOWN, codes));
    for (int i = 0; i < SHOWN; i++)
        labels[i] = labels8[i];

    ae_tsne *t = make_tsne(2, 30.0, 1000, 0);
    double t2 = seconds_now();
    ck_assert_ae_ok(ae_tsne_run(t, codes, SHOWN, CODE, map));
    double t3 = seconds_now();
    double kl;
    ck_assert_ae_ok(ae_tsne_kl_divergence(t, &kl));
    double acc = knn_accuracy(map, SHOWN, 2, labels, 10);
    double code_acc = knn_accuracy(codes, SHOWN, CODE, labels, 10);
    printf("MNIST: %d epochs on %zu images in %.1f s (test MSE %.5f); "
           "t-SNE of %d codes in %.1f s on %d threads, KL %.3f; 10-NN "
           "accuracy %.4f in the map, %.4f in the 30-D codes\n",
           EPOCHS, ae_dataset_count(train), t1 - t0, mse, SHOWN, t3 - t2,
           ae_threads(), kl, acc, code_acc);
    ck_assert_msg(acc >= 0.85, "10-NN accuracy in the t-SNE map %.4f < 0.85",
                  acc);

    ae_tsne_free(t);
    free(images);
    free(codes);
    free(map);
    ae_trainer_free(tr);
    ae_optimizer_free(adam);
    ae_model_free(m);
    ae_dataset_free(train);
    ae_dataset_free(test);
}
END_TEST

static Suite *tsne_suite(void)
{
    Suite *s = suite_create("tsne");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_clusters_stay_separated);
    tcase_add_test(tc, test_deterministic);
    tcase_add_test(tc, test_kl_matches_reference);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    TCase *real = tcase_create("mnist");
    tcase_add_test(real, test_mnist_codes);
    suite_add_tcase(s, real);
    return s;
}

int main(void)
{
    return tu_run_suite(tsne_suite());
}

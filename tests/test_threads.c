/* test_threads.c - the library's own threads (lib/common/parallel.c) and what they
 * promise: every item of a loop done once, the same bits for the same
 * thread count, results close across thread counts, and two models trained
 * on two threads at once matching their results trained alone. */
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/finite.h"
#include "common/parallel.h"
#include "nn/layer.h"
#include "nn/model.h"
#include "testutil.h"

/* ---- the pool itself ------------------------------------------------------ */

typedef struct count_job {
    unsigned char *seen;
    int parts_seen[64];
    int nested; /* start a loop from inside each part */
} count_job;

static void count_items(void *ctx, size_t begin, size_t end, int part)
{
    count_job *j = ctx;
    if (part < 0 || part >= 64)
        abort(); /* Check's assertions are for the test's own thread */
    __atomic_add_fetch(&j->parts_seen[part], 1, __ATOMIC_RELAXED);
    for (size_t i = begin; i < end; i++)
        j->seen[i]++;
}

static void nested_items(void *ctx, size_t begin, size_t end, int part)
{
    count_job *j = ctx;
    (void)part;
    /* A loop inside a part runs serially on this thread, over its own
     * items: no deadlock, nothing done twice. */
    count_job inner = {j->seen + begin, {0}, 0};
    ae__parallel_for(end - begin, 1, 0, count_items, &inner);
    if (inner.parts_seen[0] != 1)
        abort();
}

START_TEST(every_item_once)
{
    const int threads_before = ae_threads();
    const size_t sizes[] = {0, 1, 2, 3, 7, 100, 1001, 65536};
    const size_t grains[] = {1, 3, 1000};
    for (int t = 1; t <= 4; t++) {
        ck_assert_ae_ok(ae_set_threads(t));
        for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++)
            for (size_t gi = 0; gi < sizeof grains / sizeof *grains; gi++)
                for (int nested = 0; nested < 2; nested++) {
                    size_t n = sizes[si];
                    count_job j = {calloc(n + 1, 1), {0}, nested};
                    ck_assert_ptr_nonnull(j.seen);
                    ae__parallel_for(n, grains[gi], 0,
                                     nested ? nested_items : count_items, &j);
                    /* one assertion per loop: each costs a message to
                     * Check's parent process */
                    size_t bad = n;
                    for (size_t i = 0; i < n && bad == n; i++)
                        if (j.seen[i] != 1)
                            bad = i;
                    ck_assert_msg(bad == n,
                                  "item %zu of %zu done %d times (%d "
                                  "threads, grain %zu)", bad, n,
                                  bad < n ? j.seen[bad] : 1, t, grains[gi]);
                    if (!nested) {
                        /* at most t parts, each of >= grain items, each
                         * run once */
                        int parts = 0;
                        for (int p = 0; p < 64; p++) {
                            ck_assert_int_le(j.parts_seen[p], 1);
                            parts += j.parts_seen[p];
                        }
                        ck_assert_int_ge(parts, 1);
                        ck_assert_int_le(parts, t);
                        if (parts > 1)
                            ck_assert_uint_ge(n / (size_t)parts, grains[gi]);
                    }
                    free(j.seen);
                }
        /* max_parts limits the split */
        count_job j = {calloc(1000, 1), {0}, 0};
        ae__parallel_for(1000, 1, 1, count_items, &j);
        ck_assert_int_eq(j.parts_seen[0], 1);
        for (int p = 1; p < 64; p++)
            ck_assert_int_eq(j.parts_seen[p], 0);
        free(j.seen);
    }
    ck_assert_ae_ok(ae_set_threads(threads_before));
}
END_TEST

START_TEST(all_finite_any_block)
{
    const int threads_before = ae_threads();
    const size_t n = (size_t)3 << 19; /* several blocks of the threaded check */
    float *x = malloc(n * sizeof *x);
    ck_assert_ptr_nonnull(x);
    tu_fill_uniform(x, n, -1e30f, 1e30f, 5);
    const size_t where[] = {0, 1, n / 3, n / 2 + 17, n - 1};
    for (int t = 1; t <= 3; t++) {
        ck_assert_ae_ok(ae_set_threads(t));
        ck_assert(ae__all_finite(x, n));
        for (size_t w = 0; w < sizeof where / sizeof *where; w++) {
            const float bad[] = {NAN, INFINITY, -INFINITY};
            for (int b = 0; b < 3; b++) {
                float keep = x[where[w]];
                x[where[w]] = bad[b];
                ck_assert_msg(!ae__all_finite(x, n),
                              "value %g at %zu not seen (%d threads)",
                              (double)bad[b], where[w], t);
                ck_assert(!ae__all_finite(x + where[w], 1));
                x[where[w]] = keep;
            }
            /* The edges of the finite: the largest, a subnormal, -0. */
            const float edge[] = {FLT_MAX, -FLT_MAX, 1e-45f, -0.0f};
            for (int e = 0; e < 4; e++) {
                float keep = x[where[w]];
                x[where[w]] = edge[e];
                ck_assert_msg(ae__all_finite(x, n), "value %g at %zu taken "
                              "for non-finite", (double)edge[e], where[w]);
                ck_assert(ae__all_finite(x + where[w], 1));
                x[where[w]] = keep;
            }
        }
    }
    free(x);
    ck_assert_ae_ok(ae_set_threads(threads_before));
}
END_TEST

/* ---- training ------------------------------------------------------------ */

enum { N_IMAGES = 96, SIDE = 28, PIXELS = SIDE * SIDE };

/* Digit-like blobs: smooth, varied, 0..255. */
static ae_dataset *images(void)
{
    uint8_t *pixels = malloc((size_t)N_IMAGES * PIXELS);
    ck_assert_ptr_nonnull(pixels);
    for (int i = 0; i < N_IMAGES; i++)
        for (int r = 0; r < SIDE; r++)
            for (int c = 0; c < SIDE; c++) {
                double cr = 8 + (i * 7) % 12, cc = 8 + (i * 5) % 12;
                double d2 = (r - cr) * (r - cr) + (c - cc) * (c - cc);
                double v = 255.0 * exp(-d2 / (10.0 + i % 9)) +
                           ((r * 3 + c * 5 + i) % 17);
                pixels[(size_t)i * PIXELS + (size_t)r * SIDE + c] =
                    (uint8_t)(v > 255 ? 255 : v);
            }
    size_t size;
    uint8_t *idx = tu_idx_images(N_IMAGES, SIDE, SIDE, pixels, &size);
    ae_dataset *ds;
    ck_assert_ae_ok(ae_dataset_load_idx_memory(&ds, idx, size, NULL, 0));
    free(idx);
    free(pixels);
    return ds;
}

typedef enum { DENSE, CONV, CONV_STRIDED } kind;

/* Large enough that the threaded paths run: the optimizer's update, the
 * activations, the loss, and for the conv model several sgemm chunks,
 * pooling, upsampling and unpooling. */
static ae_model *build(kind k)
{
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 1, SIDE, SIDE, 77));
    if (k == DENSE) {
        ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 256, AE_ACT_RELU));
        ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 16, AE_ACT_TANH));
        ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 256, AE_ACT_RELU));
        ck_assert_ae_ok(
            ae_model_add_dense(m, AE_DECODER, PIXELS, AE_ACT_SIGMOID));
    } else {
        ck_assert_ae_ok(
            ae_model_add_conv2d(m, AE_ENCODER, 8, 3, 1, -1, AE_ACT_RELU));
        ck_assert_ae_ok(ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2));
        ck_assert_ae_ok(
            ae_model_add_conv2d(m, AE_ENCODER, 16, 3, 1, -1, AE_ACT_RELU));
        ck_assert_ae_ok(ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2));
        ck_assert_ae_ok(
            ae_model_add_conv2d(m, AE_DECODER, 16, 3, 1, -1, AE_ACT_RELU));
        ck_assert_ae_ok(ae_model_add_maxunpool2d(m, AE_DECODER, 3, 14, 14));
        ck_assert_ae_ok(ae_model_add_conv_transpose2d(m, AE_DECODER, 8, 3, 1,
                                                      1, 0, AE_ACT_RELU));
        ck_assert_ae_ok(ae_model_add_upsample2d(m, AE_DECODER, 2));
        ck_assert_ae_ok(
            ae_model_add_conv2d(m, AE_DECODER, 1, 3, 1, -1, AE_ACT_SIGMOID));
    }
    ck_assert_ae_ok(ae_model_validate(m));
    return m;
}

typedef struct run {
    kind k;
    ae_dataset *ds;
    float *params; /* out: malloc'd */
    size_t n;
    double loss; /* evaluation loss after training */
} run;

/* Copy m's parameters into r, then free the training objects. */
static void keep_params_and_free(run *r, ae_model *m, ae_trainer *t,
                                 ae_optimizer *o)
{
    r->n = ae_model_param_count(m);
    r->params = malloc(r->n * sizeof(float));
    ck_assert_ptr_nonnull(r->params);
    memcpy(r->params, ae__model_params_const(m), r->n * sizeof(float));
    ae_trainer_free(t);
    ae_optimizer_free(o);
    ae_model_free(m);
}

/* Two epochs, Adam, BCE, with noise: the params after. */
static void train(run *r)
{
    ae_model *m = build(r->k);
    ae_optimizer *o;
    ae_trainer *t;
    ck_assert_ae_ok(ae_optimizer_create_adam(&o, 1e-3f));
    ck_assert_ae_ok(ae_trainer_create(&t, m, o));
    ck_assert_ae_ok(ae_trainer_set(t, AE_TRAIN_BATCH_SIZE, 32));
    ck_assert_ae_ok(ae_trainer_set(t, AE_TRAIN_LOSS, AE_LOSS_BCE));
    ck_assert_ae_ok(ae_trainer_set(t, AE_TRAIN_NOISE, AE_NOISE_GAUSSIAN));
    ck_assert_ae_ok(ae_trainer_set(t, AE_TRAIN_NOISE_LEVEL, 0.2));
    ck_assert_ae_ok(ae_trainer_set(t, AE_TRAIN_SEED, 3));
    ck_assert_ae_ok(ae_trainer_fit(t, r->ds, NULL, 2, NULL, NULL));
    ck_assert_ae_ok(ae_trainer_evaluate(t, r->ds, &r->loss));
    keep_params_and_free(r, m, t, o);
}

static run train_with(kind k, ae_dataset *ds, int threads)
{
    ck_assert_ae_ok(ae_set_threads(threads));
    run r = {k, ds, NULL, 0, 0.0};
    train(&r);
    return r;
}

static void assert_identical(const run *a, const run *b, const char *what)
{
    ck_assert_uint_eq(a->n, b->n);
    ck_assert_msg(memcmp(a->params, b->params, a->n * sizeof(float)) == 0,
                  "%s: parameters differ", what);
    ck_assert_msg(memcmp(&a->loss, &b->loss, sizeof a->loss) == 0,
                  "%s: loss %.17g vs %.17g", what, a->loss, b->loss);
}

/* BLAS may round differently with another thread count; after a few Adam
 * steps of lr 1e-3 the parameters stay within 1e-5. */
static void assert_close(const run *a, const run *b, const char *what)
{
    ck_assert_uint_eq(a->n, b->n);
    double worst = 0.0;
    size_t at = 0;
    for (size_t i = 0; i < a->n; i++) {
        double d = fabs((double)a->params[i] - b->params[i]);
        if (!(d <= worst)) {
            worst = d;
            at = i;
        }
    }
    ck_assert_msg(worst <= 1e-5, "%s: parameter %zu differs by %g", what,
                  at, worst);
    ck_assert_msg(fabs(a->loss - b->loss) <= 1e-5 * fmax(1.0, fabs(a->loss)),
                  "%s: loss %.9g vs %.9g", what, a->loss, b->loss);
}

static void drop(run *r)
{
    free(r->params);
    r->params = NULL;
}

START_TEST(same_threads_same_bits)
{
    const kind k = _i == 0 ? DENSE : CONV;
    const int threads_before = ae_threads();
    ae_dataset *ds = images();
    run one = train_with(k, ds, 1);
    run one_again = train_with(k, ds, 1);
    run two = train_with(k, ds, 2);
    run two_again = train_with(k, ds, 2);
    run three = train_with(k, ds, 3);
    assert_identical(&one, &one_again, "1 thread, twice");
    assert_identical(&two, &two_again, "2 threads, twice");
    /* The image layers run each sgemm single-threaded on a chunk of
     * images fixed by the shapes, and sum the weight gradient's partials
     * in a fixed order; dense layers make one BLAS call per block of
     * columns fixed by the shapes; everything else splits by item.  So
     * neither model's bits depend on the thread count at all.  (Before
     * dense layers' calls were fixed, a part made one call over all its
     * columns, and on a Zen 3, whose OpenBLAS kernels round an element by
     * where the call's edges fall, the dense model's bits followed the
     * thread count.) */
    assert_identical(&one, &two, "1 vs 2 threads");
    assert_identical(&one, &three, "1 vs 3 threads");
    drop(&one);
    drop(&one_again);
    drop(&two);
    drop(&two_again);
    drop(&three);
    ae_dataset_free(ds);
    ck_assert_ae_ok(ae_set_threads(threads_before));
}
END_TEST

/* A batch of one image is a single chunk, which runs on the calling thread
 * alone: its products must still run single-threaded in BLAS, or they
 * round as BLAS's thread count decides and the bits follow the thread
 * count. */
static void one_image_steps(ae_dataset *ds, int threads, float *out,
                            run *r)
{
    ck_assert_ae_ok(ae_set_threads(threads));
    /* Products large enough that BLAS would thread them (32 x 784 x 144
     * for the second layer). */
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 1, SIDE, SIDE, 77));
    ck_assert_ae_ok(
        ae_model_add_conv2d(m, AE_ENCODER, 16, 3, 1, -1, AE_ACT_RELU));
    ck_assert_ae_ok(
        ae_model_add_conv2d(m, AE_ENCODER, 32, 3, 1, -1, AE_ACT_RELU));
    ck_assert_ae_ok(
        ae_model_add_conv2d(m, AE_DECODER, 1, 3, 1, -1, AE_ACT_SIGMOID));
    ae_optimizer *o;
    ae_trainer *t;
    float x[PIXELS], loss = 0.0f;
    ck_assert_ae_ok(ae_dataset_batch(ds, 0, 1, x, NULL));
    ck_assert_ae_ok(ae_model_reconstruct(m, x, 1, out));
    ck_assert_ae_ok(ae_optimizer_create_adam(&o, 1e-3f));
    ck_assert_ae_ok(ae_trainer_create(&t, m, o));
    ck_assert_ae_ok(ae_trainer_set(t, AE_TRAIN_LOSS, AE_LOSS_BCE));
    for (int i = 0; i < 3; i++)
        ck_assert_ae_ok(ae_trainer_step(t, x, NULL, 1, &loss));
    r->loss = loss;
    keep_params_and_free(r, m, t, o);
}

START_TEST(one_image_same_bits)
{
    const int threads_before = ae_threads();
    ae_dataset *ds = images();
    static float y1[PIXELS], y2[PIXELS];
    run one = {CONV, ds, NULL, 0, 0.0}, two = {CONV, ds, NULL, 0, 0.0};
    one_image_steps(ds, 1, y1, &one);
    one_image_steps(ds, 2, y2, &two);
    ck_assert_msg(memcmp(y1, y2, sizeof y1) == 0,
                  "one image's reconstruction differs with 1 and 2 threads");
    assert_identical(&one, &two, "conv, one image, 1 vs 2 threads");
    drop(&one);
    drop(&two);
    ae_dataset_free(ds);
    ck_assert_ae_ok(ae_set_threads(threads_before));
}
END_TEST

/* Forward-only calls split one image's products among the threads (conv2d
 * by output channel, by columns and by taps; dense by weight rows) in
 * blocks fixed by the shape: the bits must not follow the thread count,
 * at one image or at the small batches around it, and one image alone
 * must agree with the same image in a batch (the schedule's path) to
 * float rounding. */
static ae_model *wide_model(kind k)
{
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 1, SIDE, SIDE, 91));
    if (k == DENSE) {
        /* 784 -> 512: several row blocks an image. */
        ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 512, AE_ACT_RELU));
        ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 30, AE_ACT_NONE));
        ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 256, AE_ACT_RELU));
        ck_assert_ae_ok(
            ae_model_add_dense(m, AE_DECODER, PIXELS, AE_ACT_SIGMOID));
    } else if (k == CONV_STRIDED) {
        /* A 5x5 stride-2 layer (columns), 20 channels (blocks of
         * unequal size), and a taps layer out of them. */
        ck_assert_ae_ok(
            ae_model_add_conv2d(m, AE_ENCODER, 20, 5, 2, 2, AE_ACT_TANH));
        ck_assert_ae_ok(ae_model_add_upsample2d(m, AE_DECODER, 2));
        ck_assert_ae_ok(
            ae_model_add_conv2d(m, AE_DECODER, 1, 3, 1, -1, AE_ACT_SIGMOID));
    } else { /* experiment 7's model */
        ck_assert_ae_ok(
            ae_model_add_conv2d(m, AE_ENCODER, 32, 3, 1, -1, AE_ACT_RELU));
        ck_assert_ae_ok(ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2));
        ck_assert_ae_ok(
            ae_model_add_conv2d(m, AE_ENCODER, 64, 3, 1, -1, AE_ACT_RELU));
        ck_assert_ae_ok(ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2));
        ck_assert_ae_ok(
            ae_model_add_conv2d(m, AE_DECODER, 64, 3, 1, -1, AE_ACT_RELU));
        ck_assert_ae_ok(ae_model_add_upsample2d(m, AE_DECODER, 2));
        ck_assert_ae_ok(
            ae_model_add_conv2d(m, AE_DECODER, 32, 3, 1, -1, AE_ACT_RELU));
        ck_assert_ae_ok(ae_model_add_upsample2d(m, AE_DECODER, 2));
        ck_assert_ae_ok(
            ae_model_add_conv2d(m, AE_DECODER, 1, 3, 1, -1, AE_ACT_SIGMOID));
    }
    return m;
}

START_TEST(forward_only_small_batches_same_bits)
{
    const int threads_before = ae_threads();
    enum { MAX_BATCH = 20 };
    static const size_t batches[] = {1, 2, 3, 5, 17, 20};
    ae_dataset *ds = images();
    static float x[MAX_BATCH * PIXELS], y1[MAX_BATCH * PIXELS],
        y2[MAX_BATCH * PIXELS];
    ck_assert_ae_ok(ae_dataset_batch(ds, 0, MAX_BATCH, x, NULL));
    static const kind kinds[] = {DENSE, CONV, CONV_STRIDED};
    for (int k = 0; k < 4; k++) {
        ae_model *m = k == 3 ? build(CONV) : wide_model(kinds[k]);
        for (size_t i = 0; i < sizeof batches / sizeof *batches; i++) {
            const size_t n = batches[i] * PIXELS;
            ck_assert_ae_ok(ae_set_threads(1));
            ck_assert_ae_ok(ae_model_reconstruct(m, x, batches[i], y1));
            ck_assert_ae_ok(ae_set_threads(2));
            ck_assert_ae_ok(ae_model_reconstruct(m, x, batches[i], y2));
            ck_assert_msg(memcmp(y1, y2, n * sizeof(float)) == 0,
                          "model %d, batch %zu: 1 and 2 threads differ", k,
                          batches[i]);
        }
        /* Each image alone against its place in a batch of 5. */
        ck_assert_ae_ok(ae_model_reconstruct(m, x, 5, y2));
        for (size_t b = 0; b < 5; b++) {
            ck_assert_ae_ok(ae_model_reconstruct(m, x + b * PIXELS, 1, y1));
            for (size_t j = 0; j < PIXELS; j++)
                ck_assert_msg(fabsf(y1[j] - y2[b * PIXELS + j]) <= 1e-5f,
                              "model %d, image %zu, pixel %zu: %g alone, "
                              "%g in a batch", k, b, j, (double)y1[j],
                              (double)y2[b * PIXELS + j]);
        }
        ae_model_free(m);
    }
    ae_dataset_free(ds);
    ck_assert_ae_ok(ae_set_threads(threads_before));
}
END_TEST

/* The thread count changed between calls on one model: its per-thread
 * scratch follows (a third thread needs more), and the conv model's bits,
 * which do not depend on the thread count, match a run on one thread. */
static void fit_twice(ae_dataset *ds, int first_threads, int second_threads,
                      run *r)
{
    ae_model *m = build(CONV);
    ae_optimizer *o;
    ae_trainer *t;
    ck_assert_ae_ok(ae_optimizer_create_adam(&o, 1e-3f));
    ck_assert_ae_ok(ae_trainer_create(&t, m, o));
    ck_assert_ae_ok(ae_trainer_set(t, AE_TRAIN_BATCH_SIZE, 32));
    ck_assert_ae_ok(ae_trainer_set(t, AE_TRAIN_LOSS, AE_LOSS_BCE));
    ck_assert_ae_ok(ae_set_threads(first_threads));
    ck_assert_ae_ok(ae_trainer_fit(t, ds, NULL, 1, NULL, NULL));
    ck_assert_ae_ok(ae_set_threads(second_threads));
    ck_assert_ae_ok(ae_trainer_fit(t, ds, NULL, 1, NULL, NULL));
    ck_assert_ae_ok(ae_trainer_evaluate(t, ds, &r->loss));
    keep_params_and_free(r, m, t, o);
}

START_TEST(thread_count_changes_midway)
{
    const int threads_before = ae_threads();
    ae_dataset *ds = images();
    run ones = {CONV, ds, NULL, 0, 0.0}, mixed = {CONV, ds, NULL, 0, 0.0};
    fit_twice(ds, 1, 1, &ones);
    fit_twice(ds, 2, 3, &mixed);
    assert_identical(&ones, &mixed, "conv, 2 then 3 threads vs 1");
    drop(&ones);
    drop(&mixed);
    ae_dataset_free(ds);
    ck_assert_ae_ok(ae_set_threads(threads_before));
}
END_TEST

static void *train_thread(void *arg)
{
    train(arg);
    return NULL;
}

/* Issue 5: two models trained on two threads at once match their results
 * trained alone.  With one library thread everything runs on the calling
 * threads and the bits match; with two, the pool serves one caller at a
 * time and the other runs its loops itself (same bits for those) while
 * BLAS may run with another thread count meanwhile, so the results are
 * close. */
START_TEST(two_models_two_threads)
{
    const int threads_before = ae_threads();
    ae_dataset *ds = images();
    for (int t = 1; t <= 2; t++) {
        run dense_alone = train_with(DENSE, ds, t);
        run conv_alone = train_with(CONV, ds, t);
        run dense = {DENSE, ds, NULL, 0, 0.0};
        run conv = {CONV, ds, NULL, 0, 0.0};
        pthread_t a, b;
        ck_assert_int_eq(pthread_create(&a, NULL, train_thread, &dense), 0);
        ck_assert_int_eq(pthread_create(&b, NULL, train_thread, &conv), 0);
        ck_assert_int_eq(pthread_join(a, NULL), 0);
        ck_assert_int_eq(pthread_join(b, NULL), 0);
        if (t == 1) {
            assert_identical(&dense, &dense_alone, "dense, concurrent");
            assert_identical(&conv, &conv_alone, "conv, concurrent");
        } else {
            assert_close(&dense, &dense_alone, "dense, concurrent");
            assert_close(&conv, &conv_alone, "conv, concurrent");
        }
        drop(&dense_alone);
        drop(&conv_alone);
        drop(&dense);
        drop(&conv);
    }
    ae_dataset_free(ds);
    ck_assert_ae_ok(ae_set_threads(threads_before));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("threads");
    TCase *pool = tcase_create("pool");
    tcase_add_test(pool, every_item_once);
    tcase_add_test(pool, all_finite_any_block);
    suite_add_tcase(s, pool);
    TCase *training = tcase_create("training");
    tcase_set_timeout(training, 120);
    tcase_add_loop_test(training, same_threads_same_bits, 0, 2);
    tcase_add_test(training, thread_count_changes_midway);
    tcase_add_test(training, one_image_same_bits);
    tcase_add_test(training, forward_only_small_batches_same_bits);
    tcase_add_test(training, two_models_two_threads);
    suite_add_tcase(s, training);
    return tu_run_suite(s);
}

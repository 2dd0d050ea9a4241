/* test_reduce.c - data-parallel training through the reduction hook, with
 * two workers as two threads of this process and an all-reduce over
 * shared memory: the workers keep the same weights bit for bit, their
 * first summed gradient is one process's to float rounding, a fit stays
 * close to one process's, a NaN on one worker stops both, a transport's
 * failure says why, and worker 0 alone writes checkpoints. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/model.h"
#include "testutil.h"

enum { WORKERS = 2, SIDE = 8, PIX = SIDE * SIDE, IMAGES = 96, BATCH = 16 };

/* An all-reduce over shared memory: every worker publishes its array,
 * each sums them in rank order (so every worker gets the same bits), and
 * nobody leaves before everybody has read. */
typedef struct shared {
    pthread_barrier_t barrier;
    float *data[WORKERS];
    float *sum;
    size_t cap;
    int poison_rank; /* this worker's data gets a NaN, or -1 */
    int calls;
} shared;

typedef struct worker {
    shared *sh;
    int rank;
} worker;

static ae_status all_reduce(float *data, size_t n, void *user)
{
    worker *w = user;
    shared *sh = w->sh;
    if (w->rank == sh->poison_rank && n > 0)
        data[n / 2] = NAN;
    sh->data[w->rank] = data;
    pthread_barrier_wait(&sh->barrier);
    if (w->rank == 0) {
        if (n > sh->cap) {
            free(sh->sum);
            sh->sum = malloc(n * sizeof(float));
            sh->cap = n;
        }
        for (size_t i = 0; i < n; i++) {
            float s = 0.0f;
            for (int r = 0; r < WORKERS; r++)
                s += sh->data[r][i];
            sh->sum[i] = s;
        }
        sh->calls++;
    }
    pthread_barrier_wait(&sh->barrier);
    memcpy(data, sh->sum, n * sizeof(float));
    pthread_barrier_wait(&sh->barrier);
    return AE_OK;
}

static ae_dataset *images(void)
{
    size_t size;
    uint8_t *buf = tu_idx_images(IMAGES, SIDE, SIDE, NULL, &size);
    ae_dataset *ds;
    ck_assert_ae_ok(ae_dataset_load_idx_memory(&ds, buf, size, NULL, 0));
    free(buf);
    return ds;
}

typedef struct run {
    ae_model *m;
    ae_optimizer *opt;
    ae_trainer *t;
} run;

/* Set by the VAE tests: start() then builds a VAE (4 means and 4
 * log-variances sampled to the code, BCE summed per image plus KL). */
static int use_vae;

static run start(void)
{
    run r;
    ck_assert_ae_ok(ae_model_create(&r.m, 1, SIDE, SIDE, 5));
    ck_assert_ae_ok(ae_model_add_dense(r.m, AE_ENCODER, 12, AE_ACT_RELU));
    ck_assert_ae_ok(ae_model_add_dense(r.m, AE_ENCODER, use_vae ? 8 : 4,
                                       AE_ACT_NONE));
    if (use_vae)
        ck_assert_ae_ok(ae_model_add_gaussian_sample(r.m, AE_ENCODER));
    ck_assert_ae_ok(ae_model_add_dense(r.m, AE_DECODER, 12, AE_ACT_RELU));
    ck_assert_ae_ok(ae_model_add_dense(r.m, AE_DECODER, PIX,
                                       AE_ACT_SIGMOID));
    ck_assert_ae_ok(ae_optimizer_create_adam(&r.opt, 1e-2f));
    ck_assert_ae_ok(ae_trainer_create(&r.t, r.m, r.opt));
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_BATCH_SIZE, BATCH));
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_SEED, 11));
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_L1_CODE, 1e-3));
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_NOISE, AE_NOISE_GAUSSIAN));
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_NOISE_LEVEL, 0.1));
    if (use_vae) {
        ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_LOSS, AE_LOSS_BCE));
        ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_SUM_PER_IMAGE, 1));
        ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_KL_BETA, 0.5));
    }
    return r;
}

static void finish(run *r)
{
    ae_trainer_free(r->t);
    ae_optimizer_free(r->opt);
    ae_model_free(r->m);
}

/* What each worker thread does, and what it leaves for the test. */
typedef enum job { JOB_FIT, JOB_STEP } job;

typedef struct task {
    worker w;
    job what;
    const ae_dataset *ds;
    const float *batch;
    ae_status status;
    float loss;
    float *params, *grads;
} task;

static void *work(void *arg)
{
    task *k = arg;
    run r = start();
    ae_trainer_set(r.t, AE_TRAIN_RANK, k->w.rank);
    ae_trainer_set(r.t, AE_TRAIN_WORKERS, WORKERS);
    ae_trainer_set_reduce(r.t, all_reduce, &k->w);
    if (k->what == JOB_FIT)
        k->status = ae_trainer_fit(r.t, k->ds, NULL, 2, NULL, NULL);
    else
        k->status = ae_trainer_step(r.t, k->batch, NULL, BATCH, &k->loss);
    size_t n = ae_model_param_count(r.m);
    k->params = tu_model_params(r.m);
    k->grads = malloc(n * sizeof(float));
    ae_model_get_gradients(r.m, k->grads, n);
    finish(&r);
    return NULL;
}

static void run_workers(task *tasks, shared *sh)
{
    pthread_t th[WORKERS];
    for (int r = 0; r < WORKERS; r++) {
        tasks[r].w.sh = sh;
        tasks[r].w.rank = r;
        ck_assert_int_eq(pthread_create(&th[r], NULL, work, &tasks[r]), 0);
    }
    for (int r = 0; r < WORKERS; r++)
        pthread_join(th[r], NULL);
}

static void free_tasks(task *tasks)
{
    for (int r = 0; r < WORKERS; r++) {
        free(tasks[r].params);
        free(tasks[r].grads);
    }
}

static void shared_init(shared *sh, int poison)
{
    memset(sh, 0, sizeof *sh);
    pthread_barrier_init(&sh->barrier, NULL, WORKERS);
    sh->poison_rank = poison;
}

static void shared_free(shared *sh)
{
    pthread_barrier_destroy(&sh->barrier);
    free(sh->sum);
}

static void check_first_step_sums(void)
{
    float x[BATCH * PIX];
    tu_fill_uniform(x, BATCH * PIX, 0.0f, 1.0f, 21);
    run one = start();
    float loss1;
    ck_assert_ae_ok(ae_trainer_step(one.t, x, NULL, BATCH, &loss1));
    size_t n = ae_model_param_count(one.m);
    float *g1 = malloc(n * sizeof *g1);
    ck_assert(g1);
    ck_assert_ae_ok(ae_model_get_gradients(one.m, g1, n));

    shared sh;
    shared_init(&sh, -1);
    task tasks[WORKERS] = {0};
    for (int r = 0; r < WORKERS; r++) {
        tasks[r].what = JOB_STEP;
        tasks[r].batch = x;
    }
    run_workers(tasks, &sh);
    ck_assert_int_eq(sh.calls, 2); /* the gradient and the loss */
    for (int r = 0; r < WORKERS; r++)
        ck_assert_ae_ok(tasks[r].status);
    ck_assert_mem_eq(tasks[0].params, tasks[1].params, n * sizeof(float));
    ck_assert_mem_eq(&tasks[0].loss, &tasks[1].loss, sizeof(float));
    double worst = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        worst = fmax(worst, fabs((double)tasks[0].grads[i] - g1[i]));
        scale = fmax(scale, fabs(g1[i]));
    }
    ck_assert_msg(worst <= 1e-5 * scale, "summed gradient off by %g (of %g)",
                  worst, scale);
    ck_assert_float_eq_tol(tasks[0].loss, loss1,
                           1e-6f * fmaxf(1.0f, fabsf(loss1)));
    free_tasks(tasks);
    shared_free(&sh);
    free(g1);
    finish(&one);
}

START_TEST(first_step_sums_to_one_process)
{
    check_first_step_sums();
}
END_TEST

/* A VAE: each worker draws the eps one process draws for its slice of the
 * batch, so the summed gradient (KL term included) is one process's. */
START_TEST(vae_first_step_sums_to_one_process)
{
    use_vae = 1;
    check_first_step_sums();
    use_vae = 0;
}
END_TEST

START_TEST(fit_keeps_the_workers_equal)
{
    ae_dataset *ds = images();
    run one = start();
    ck_assert_ae_ok(ae_trainer_fit(one.t, ds, NULL, 2, NULL, NULL));
    float *p1 = tu_model_params(one.m);
    size_t n = ae_model_param_count(one.m);

    shared sh;
    shared_init(&sh, -1);
    task tasks[WORKERS] = {0};
    for (int r = 0; r < WORKERS; r++) {
        tasks[r].what = JOB_FIT;
        tasks[r].ds = ds;
    }
    run_workers(tasks, &sh);
    for (int r = 0; r < WORKERS; r++)
        ck_assert_ae_ok(tasks[r].status);
    ck_assert_int_eq(sh.calls, 2 * 2 * (IMAGES / BATCH));
    ck_assert_mem_eq(tasks[0].params, tasks[1].params, n * sizeof(float));
    double worst = 0;
    for (size_t i = 0; i < n; i++)
        worst = fmax(worst, fabs((double)tasks[0].params[i] - p1[i]));
    ck_assert_msg(worst < 1e-3, "weights off one process's by %g", worst);
    free_tasks(tasks);
    shared_free(&sh);
    free(p1);
    finish(&one);
    ae_dataset_free(ds);
}
END_TEST

START_TEST(nan_on_one_worker_stops_both)
{
    float x[BATCH * PIX];
    tu_fill_uniform(x, BATCH * PIX, 0.0f, 1.0f, 22);
    run fresh = start();
    float *p0 = tu_model_params(fresh.m);
    size_t n = ae_model_param_count(fresh.m);
    finish(&fresh);
    shared sh;
    shared_init(&sh, 1);
    task tasks[WORKERS] = {0};
    for (int r = 0; r < WORKERS; r++) {
        tasks[r].what = JOB_STEP;
        tasks[r].batch = x;
    }
    run_workers(tasks, &sh);
    for (int r = 0; r < WORKERS; r++) {
        ck_assert_int_eq(tasks[r].status, AE_ERR_NOT_FINITE);
        ck_assert_mem_eq(tasks[r].params, p0, n * sizeof(float));
    }
    free_tasks(tasks);
    shared_free(&sh);
    free(p0);
}
END_TEST

static ae_status never_called(float *data, size_t n, void *user)
{
    (void)data;
    (void)n;
    (void)user;
    return AE_ERR_IO;
}

static ae_status says_why(float *data, size_t n, void *user)
{
    (void)data;
    (void)n;
    (void)user;
    return ae_set_last_error(AE_ERR_IO, "rank 1 did not answer");
}

/* The transport's own words reach the caller after the trainer's prefix;
 * a transport that gives none gets its status's message, never the text
 * of an earlier, unrelated failure. */
START_TEST(transport_failure_says_why)
{
    run r = start();
    float x[BATCH * PIX];
    tu_fill_uniform(x, BATCH * PIX, 0.0f, 1.0f, 24);
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_WORKERS, 2));
    ck_assert_ae_ok(ae_trainer_set_reduce(r.t, says_why, NULL));
    ck_assert_ae_status(ae_trainer_step(r.t, x, NULL, BATCH, NULL),
                        AE_ERR_IO);
    ck_assert_str_eq(ae_last_error(),
                     "the workers' reduction: rank 1 did not answer");
    ck_assert_ae_status(ae_trainer_set(r.t, AE_TRAIN_SEED, -1),
                        AE_ERR_INVALID_ARGUMENT); /* an unrelated message */
    ck_assert_ae_ok(ae_trainer_set_reduce(r.t, never_called, NULL));
    ck_assert_ae_status(ae_trainer_step(r.t, x, NULL, BATCH, NULL),
                        AE_ERR_IO);
    ck_assert_str_eq(ae_last_error(), "the workers' reduction failed: file "
                     "could not be opened, read or written");
    ck_assert_int_eq(ae_set_last_error(AE_ERR_SHAPE, NULL), AE_ERR_SHAPE);
    ck_assert_str_eq(ae_last_error(), ae_status_message(AE_ERR_SHAPE));
    finish(&r);
}
END_TEST

/* Worker 0 writes the checkpoints; the others need no path and write
 * nothing, so one file is written whole by one process. */
static ae_status keep(float *data, size_t n, void *user)
{
    (void)data;
    (void)n;
    (void)user;
    return AE_OK;
}

START_TEST(only_worker_zero_writes_checkpoints)
{
    ae_dataset *ds = images();
    char path[] = "/tmp/ae_reduce_ckpt_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    unlink(path);
    for (int rank = 0; rank < 2; rank++) {
        run r = start();
        ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_WORKERS, 2));
        ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_RANK, rank));
        ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_CHECKPOINT_EVERY, 2));
        ck_assert_ae_ok(ae_trainer_set_reduce(r.t, keep, NULL));
        if (rank == 0) /* worker 0 without a path: refused as always */
            ck_assert_ae_status(ae_trainer_fit(r.t, ds, NULL, 1, NULL, NULL),
                                AE_ERR_INVALID_ARGUMENT);
        else /* the others go on without one */
            ck_assert_ae_ok(ae_trainer_fit(r.t, ds, NULL, 1, NULL, NULL));
        ck_assert_ae_ok(ae_trainer_set_checkpoint_path(r.t, path));
        ck_assert_ae_ok(ae_trainer_fit(r.t, ds, NULL, 1, NULL, NULL));
        ck_assert_int_eq(access(path, F_OK) == 0, rank == 0);
        unlink(path);
        finish(&r);
    }
    ae_dataset_free(ds);
}
END_TEST

START_TEST(settings_and_errors)
{
    run r = start();
    double v;
    ck_assert_ae_ok(ae_trainer_get(r.t, AE_TRAIN_WORKERS, &v));
    ck_assert(v == 1);
    ck_assert_ae_ok(ae_trainer_get(r.t, AE_TRAIN_RANK, &v));
    ck_assert(v == 0);
    ck_assert_ae_status(ae_trainer_set(r.t, AE_TRAIN_WORKERS, 0),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_trainer_set(r.t, AE_TRAIN_RANK, -1),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_trainer_set_reduce(NULL, never_called, NULL),
                        AE_ERR_NULL);
    float x[BATCH * PIX];
    tu_fill_uniform(x, BATCH * PIX, 0.0f, 1.0f, 23);
    /* rank outside the workers: refused before any reduction */
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_RANK, 2));
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_WORKERS, 2));
    ck_assert_ae_ok(ae_trainer_set_reduce(r.t, never_called, NULL));
    ck_assert_ae_status(ae_trainer_step(r.t, x, NULL, BATCH, NULL),
                        AE_ERR_INVALID_ARGUMENT);
    /* a failing transport fails the step, weights untouched */
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_RANK, 1));
    float *p0 = tu_model_params(r.m);
    ck_assert_ae_status(ae_trainer_step(r.t, x, NULL, BATCH, NULL),
                        AE_ERR_IO);
    float *p1 = tu_model_params(r.m);
    ck_assert_mem_eq(p0, p1, ae_model_param_count(r.m) * sizeof(float));
    /* removed, the trainer is one process again */
    ck_assert_ae_ok(ae_trainer_set_reduce(r.t, NULL, NULL));
    ck_assert_ae_ok(ae_trainer_step(r.t, x, NULL, BATCH, NULL));
    free(p0);
    free(p1);
    finish(&r);
}
END_TEST

/* ---- batch norm and dropout across workers ------------------------------ */

/* Dense 12, then batch norm (with ReLU) when bn is set, dropout at rate
 * 0.3 when drop is set, then a code of 4 and back. */
static ae_model *norm_model(int bn, int drop)
{
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 1, SIDE, SIDE, 5));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 12,
                                       bn ? AE_ACT_NONE : AE_ACT_RELU));
    if (bn)
        ck_assert_ae_ok(ae_model_add_batchnorm(m, AE_ENCODER, 0.1f, 1e-5f,
                                               AE_ACT_RELU));
    if (drop)
        ck_assert_ae_ok(ae_model_add_dropout(m, AE_ENCODER, 0.3f));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 4, AE_ACT_NONE));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, PIX, AE_ACT_SIGMOID));
    return m;
}

typedef struct norm_task {
    worker w;
    int bn, drop, steps; /* steps 0: a fit of 2 epochs */
    const float *batch;
    const ae_dataset *ds;
    ae_status status;
    float *params, *grads;
    uint8_t *state; /* ae__model_state_save */
    float running[24];
} norm_task;

static void *norm_work(void *arg)
{
    norm_task *k = arg;
    ae_model *m = norm_model(k->bn, k->drop);
    ae_optimizer *opt;
    ae_trainer *t;
    ck_assert_ae_ok(ae_optimizer_create_adam(&opt, 1e-2f));
    ck_assert_ae_ok(ae_trainer_create(&t, m, opt));
    ae_trainer_set(t, AE_TRAIN_BATCH_SIZE, BATCH);
    if (k->w.sh != NULL) {
        ae_trainer_set(t, AE_TRAIN_RANK, k->w.rank);
        ae_trainer_set(t, AE_TRAIN_WORKERS, WORKERS);
        ae_trainer_set_reduce(t, all_reduce, &k->w);
    }
    k->status = AE_OK;
    if (k->steps == 0)
        k->status = ae_trainer_fit(t, k->ds, NULL, 2, NULL, NULL);
    for (int i = 0; i < k->steps && k->status == AE_OK; i++)
        k->status = ae_trainer_step(t, k->batch, NULL, BATCH, NULL);
    size_t n = ae_model_param_count(m);
    k->params = tu_model_params(m);
    k->grads = malloc(n * sizeof(float));
    ae_model_get_gradients(m, k->grads, n);
    k->state = malloc(ae__model_state_size(m) + 1);
    ae__model_state_save(m, k->state);
    if (k->bn) {
        ae_layer *l;
        size_t nr;
        ae_model_layer(m, 1, &l);
        memcpy(k->running, l->ops->running(l, &nr), 24 * sizeof(float));
    }
    ae_trainer_free(t);
    ae_optimizer_free(opt);
    ae_model_free(m);
    return NULL;
}

static void norm_run(norm_task *tasks, shared *sh)
{
    pthread_t th[WORKERS];
    for (int r = 0; r < WORKERS; r++) {
        tasks[r].w.sh = sh;
        tasks[r].w.rank = r;
        ck_assert_int_eq(pthread_create(&th[r], NULL, norm_work, &tasks[r]),
                         0);
    }
    for (int r = 0; r < WORKERS; r++)
        pthread_join(th[r], NULL);
}

static void norm_free(norm_task *k)
{
    free(k->params);
    free(k->grads);
    free(k->state);
}

/* Each worker normalises its half of the batch with that half's
 * statistics, which differ; after the step both hold the same running
 * statistics, bit for bit, and their mean is the whole batch's, as one
 * process computes it. */
START_TEST(batchnorm_statistics_agree)
{
    float x[BATCH * PIX];
    tu_fill_uniform(x, BATCH * PIX, 0.0f, 1.0f, 21);
    norm_task one = {.bn = 1, .steps = 1, .batch = x};
    norm_work(&one);
    ck_assert_ae_ok(one.status);

    shared sh;
    shared_init(&sh, -1);
    norm_task tasks[WORKERS] = {{.bn = 1, .steps = 1, .batch = x},
                                {.bn = 1, .steps = 1, .batch = x}};
    norm_run(tasks, &sh);
    ck_assert_int_eq(sh.calls, 3); /* gradient, loss, running statistics */
    for (int r = 0; r < WORKERS; r++)
        ck_assert_ae_ok(tasks[r].status);
    ck_assert_mem_eq(tasks[0].running, tasks[1].running, sizeof one.running);
    /* The halves' own means differ: without the reduction the workers'
     * statistics would have parted. */
    ae_model *m = norm_model(1, 0);
    float act[BATCH * 12];
    ck_assert_ae_ok(ae_model_activations(m, 0, x, BATCH, act));
    double half[2][12] = {{0}};
    for (int b = 0; b < BATCH; b++)
        for (int c = 0; c < 12; c++)
            half[b >= BATCH / 2][c] += act[b * 12 + c] / (BATCH / 2);
    double apart = 0.0;
    for (int c = 0; c < 12; c++) {
        apart = fmax(apart, fabs(half[0][c] - half[1][c]));
        /* running mean = 0.1 * the batch's mean, as one process has it */
        ck_assert_double_eq_tol(tasks[0].running[c], one.running[c], 1e-6);
        ck_assert_double_eq_tol(tasks[0].running[c],
                                0.1 * (half[0][c] + half[1][c]) / 2, 1e-6);
    }
    ck_assert_double_gt(apart, 1e-2);
    /* The variances: the mean of the halves' unbiased variances, near the
     * whole batch's. */
    for (int c = 12; c < 24; c++)
        ck_assert_double_eq_tol(tasks[0].running[c], one.running[c], 0.05);
    ae_model_free(m);
    norm_free(&one);
    for (int r = 0; r < WORKERS; r++)
        norm_free(&tasks[r]);
    shared_free(&sh);
}
END_TEST

/* Dropout draws for each image of the global batch the mask one process
 * draws: the summed first gradient is one process's to float rounding. */
START_TEST(dropout_masks_are_one_process_s)
{
    float x[BATCH * PIX];
    tu_fill_uniform(x, BATCH * PIX, 0.0f, 1.0f, 22);
    norm_task one = {.drop = 1, .steps = 1, .batch = x};
    norm_work(&one);
    ck_assert_ae_ok(one.status);
    shared sh;
    shared_init(&sh, -1);
    norm_task tasks[WORKERS] = {{.drop = 1, .steps = 1, .batch = x},
                                {.drop = 1, .steps = 1, .batch = x}};
    norm_run(tasks, &sh);
    ae_model *m = norm_model(0, 1);
    size_t n = ae_model_param_count(m);
    ae_model_free(m);
    double worst = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        worst = fmax(worst, fabs((double)tasks[0].grads[i] - one.grads[i]));
        scale = fmax(scale, fabs(one.grads[i]));
    }
    ck_assert_msg(worst <= 1e-5 * scale, "summed gradient off by %g (of %g)",
                  worst, scale);
    ck_assert_mem_eq(tasks[0].state, tasks[1].state, 8);
    ck_assert_mem_eq(tasks[0].state, one.state, 8);
    norm_free(&one);
    for (int r = 0; r < WORKERS; r++)
        norm_free(&tasks[r]);
    shared_free(&sh);
}
END_TEST

/* Over a whole fit, both layers' state stays the same on both workers. */
START_TEST(norm_fit_keeps_the_workers_equal)
{
    ae_dataset *ds = images();
    shared sh;
    shared_init(&sh, -1);
    norm_task tasks[WORKERS] = {{.bn = 1, .drop = 1, .ds = ds},
                                {.bn = 1, .drop = 1, .ds = ds}};
    norm_run(tasks, &sh);
    for (int r = 0; r < WORKERS; r++)
        ck_assert_ae_ok(tasks[r].status);
    ae_model *m = norm_model(1, 1);
    size_t n = ae_model_param_count(m), sn = ae__model_state_size(m);
    ae_model_free(m);
    ck_assert_mem_eq(tasks[0].params, tasks[1].params, n * sizeof(float));
    ck_assert_mem_eq(tasks[0].state, tasks[1].state, sn);
    for (int r = 0; r < WORKERS; r++)
        norm_free(&tasks[r]);
    shared_free(&sh);
    ae_dataset_free(ds);
}
END_TEST

/* A share of the batch of one image is refused by both workers before
 * either waits for the other. */
START_TEST(a_share_too_small_is_refused_by_all)
{
    ae_dataset *ds = images();
    float x[3 * PIX];
    tu_fill_uniform(x, 3 * PIX, 0.0f, 1.0f, 23);
    for (int r = 0; r < WORKERS; r++) {
        ae_model *m = norm_model(1, 0);
        ae_optimizer *opt;
        ae_trainer *t;
        ck_assert_ae_ok(ae_optimizer_create_adam(&opt, 1e-2f));
        ck_assert_ae_ok(ae_trainer_create(&t, m, opt));
        ae_trainer_set(t, AE_TRAIN_RANK, r);
        ae_trainer_set(t, AE_TRAIN_WORKERS, WORKERS);
        worker w = {NULL, r};
        ae_trainer_set_reduce(t, all_reduce, &w); /* never reached */
        ck_assert_ae_status(ae_trainer_step(t, x, NULL, 3, NULL),
                            AE_ERR_INVALID_ARGUMENT);
        ck_assert_ptr_nonnull(strstr(ae_last_error(), "smallest share"));
        ae_trainer_free(t);
        ae_optimizer_free(opt);
        ae_model_free(m);
    }
    ae_dataset_free(ds);
}
END_TEST

/* ---- training controls: one decision for every worker ------------------ */

enum { MAX_EPOCHS = 200 };

typedef struct controlled {
    worker w;
    const ae_dataset *train, *val;
    ae_status status;
    int epochs;
    double val_loss[MAX_EPOCHS + 1], lr[MAX_EPOCHS + 1];
    ae_fit_end end;
    int best_epoch;
    float *params;
    ae_trainer *t;
} controlled;

static int log_epoch(const ae_progress *p, void *user)
{
    controlled *c = user;
    if (p->epoch_done) {
        c->epochs = p->epoch;
        c->val_loss[p->epoch] = p->val_loss;
        ae_trainer_learning_rate(c->t, &c->lr[p->epoch]);
    }
    return 0;
}

static void *work_controlled(void *arg)
{
    controlled *c = arg;
    run r = start();
    c->t = r.t;
    ae_trainer_set(r.t, AE_TRAIN_RANK, c->w.rank);
    ae_trainer_set(r.t, AE_TRAIN_WORKERS, WORKERS);
    ae_trainer_set(r.t, AE_TRAIN_EARLY_STOP_PATIENCE, 2);
    ae_trainer_set(r.t, AE_TRAIN_EARLY_STOP_MIN_DELTA, 2e-4);
    ae_trainer_set(r.t, AE_TRAIN_LR_SCHEDULE, AE_SCHEDULE_PLATEAU);
    ae_trainer_set(r.t, AE_TRAIN_PLATEAU_PATIENCE, 0);
    ae_trainer_set(r.t, AE_TRAIN_PLATEAU_THRESHOLD, 0.05);
    ae_trainer_set(r.t, AE_TRAIN_PLATEAU_FACTOR, 0.7);
    ae_trainer_set_reduce(r.t, all_reduce, &c->w);
    c->status = ae_trainer_fit(r.t, c->train, c->val, MAX_EPOCHS, log_epoch,
                               c);
    ae_trainer_fit_outcome(r.t, &c->end, NULL, &c->best_epoch, NULL);
    c->params = tu_model_params(r.m);
    finish(&r);
    return NULL;
}

/* n images whose pixels depend on salt. */
static ae_dataset *salted_images(uint32_t n, uint32_t salt)
{
    size_t size, px = (size_t)n * PIX;
    uint8_t *pixels = malloc(px);
    for (size_t i = 0; i < px; i++)
        pixels[i] = (uint8_t)((i * 13 + salt * 71 + (i / PIX) * 29) % 256);
    uint8_t *buf = tu_idx_images(n, SIDE, SIDE, pixels, &size);
    ae_dataset *ds;
    ck_assert_ae_ok(ae_dataset_load_idx_memory(&ds, buf, size, NULL, 0));
    free(buf);
    free(pixels);
    return ds;
}

/* Each worker validates on a set of its own, so the losses they see
 * differ; the reduction makes them judge one loss, the mean, and both
 * step the plateau schedule alike and stop at the same epoch, with the
 * same weights, where Keras's rule on the mean says. */
START_TEST(early_stopping_and_plateau_agree_across_workers)
{
    ae_dataset *ds = images();
    ae_dataset *val[WORKERS] = {salted_images(9, 1), salted_images(14, 2)};
    shared sh;
    shared_init(&sh, -1);
    controlled c[WORKERS] = {0};
    pthread_t th[WORKERS];
    for (int r = 0; r < WORKERS; r++) {
        c[r].w = (worker){&sh, r};
        c[r].train = ds;
        c[r].val = val[r];
        ck_assert_int_eq(pthread_create(&th[r], NULL, work_controlled,
                                        &c[r]), 0);
    }
    for (int r = 0; r < WORKERS; r++)
        pthread_join(th[r], NULL);
    for (int r = 0; r < WORKERS; r++) {
        ck_assert_ae_ok(c[r].status);
        ck_assert_int_eq(c[r].end, AE_FIT_EARLY_STOPPED);
    }
    int epochs = c[0].epochs;
    ck_assert_int_eq(c[1].epochs, epochs);
    ck_assert_int_lt(epochs, MAX_EPOCHS);
    ck_assert_int_eq(c[0].best_epoch, c[1].best_epoch);
    ck_assert_mem_eq(c[0].params, c[1].params,
                     (PIX * 12 + 12 + 12 * 4 + 4 + 4 * 12 + 12 + 12 * PIX +
                      PIX) * sizeof(float));
    ck_assert_mem_eq(c[0].lr + 1, c[1].lr + 1, epochs * sizeof(double));
    /* The rule on the mean of the workers' losses, in rank order. */
    double best = INFINITY;
    int best_epoch = 0, stop = 0, differ = 0;
    for (int e = 1; e <= epochs && !stop; e++) {
        double mean = (0.0 + c[0].val_loss[e] + c[1].val_loss[e]) / 2;
        differ += c[0].val_loss[e] != c[1].val_loss[e];
        if (mean + 2e-4 < best) {
            best = mean;
            best_epoch = e;
        } else if (e - best_epoch >= 2) {
            stop = e;
        }
    }
    ck_assert_int_eq(differ, epochs); /* their own losses always differ */
    ck_assert_int_eq(stop, epochs);
    ck_assert_int_eq(c[0].best_epoch, best_epoch);
    ck_assert(c[0].lr[epochs] < c[0].lr[1]); /* the plateau reduced */
    /* per epoch: the batches' two reductions, and one for the loss */
    ck_assert_int_eq(sh.calls, epochs * (2 * (IMAGES / BATCH) + 1));
    for (int r = 0; r < WORKERS; r++) {
        free(c[r].params);
        ae_dataset_free(val[r]);
    }
    shared_free(&sh);
    ae_dataset_free(ds);
}
END_TEST

static Suite *reduce_suite(void)
{
    Suite *s = suite_create("reduce");
    TCase *tc = tcase_create("workers");
    tcase_add_test(tc, first_step_sums_to_one_process);
    tcase_add_test(tc, vae_first_step_sums_to_one_process);
    tcase_add_test(tc, fit_keeps_the_workers_equal);
    tcase_add_test(tc, nan_on_one_worker_stops_both);
    tcase_add_test(tc, settings_and_errors);
    tcase_add_test(tc, transport_failure_says_why);
    tcase_add_test(tc, only_worker_zero_writes_checkpoints);
    tcase_add_test(tc, batchnorm_statistics_agree);
    tcase_add_test(tc, dropout_masks_are_one_process_s);
    tcase_add_test(tc, norm_fit_keeps_the_workers_equal);
    tcase_add_test(tc, a_share_too_small_is_refused_by_all);
    tcase_add_test(tc, early_stopping_and_plateau_agree_across_workers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(reduce_suite());
}

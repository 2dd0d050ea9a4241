/* mpi_worker.c - one rank of the data-parallel tests, run by mpi_test.sh
 * under mpirun.  Each mode checks one promise of libautoenc-mpi on real
 * MNIST images and prints what it measured; the exit status says whether
 * the promise held (0), failed (1) or the run was misused (2).
 *
 *   equal OUT       after two epochs every rank holds the same weights,
 *                   bit for bit; rank 0 saves them to OUT (two runs must
 *                   write the same bytes)
 *   agree           the first step's summed gradient is one process's to
 *                   float rounding, and an epoch's loss curve stays within
 *                   the spread that different seeds give
 *   resume CKPT     a fit stopped mid-epoch and resumed from rank 0's
 *                   checkpoint ends with the weights of one never stopped
 *   nan             a NaN in one rank's slice stops every rank with
 *                   AE_ERR_NOT_FINITE, weights as they were
 *   mismatch WHAT   rank 1 differs (seed, batch, width, lr, data,
 *                   schedule): every
 *                   rank is refused before the first step
 *   long CKPT DIR S trains until killed, checkpointing; writes its pid to
 *                   DIR/rank-R.pid; reduction timeout S seconds
 *   verify CKPT     (no MPI) the checkpoint loads and trains a step
 *   badargs         every call refuses NULL and out-of-range arguments
 *                   with a clear error, and a refused call changes nothing
 *
 * Usage: mpi_worker MNIST_DIR MODE [ARGS]. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <autoenc.h>
#include <autoenc_mpi.h>

#include "models.h"

enum { IMAGES = 1024, BATCH = 64, STEPS = IMAGES / BATCH };

static int rank, ranks;

#define SAY(...)                                                               \
    do {                                                                       \
        printf("rank %d: ", rank);                                             \
        printf(__VA_ARGS__);                                                   \
        printf("\n");                                                          \
        fflush(stdout);                                                        \
    } while (0)

/* A library call that must succeed; otherwise this rank reports and the
 * whole job ends (a failed collective leaves the others waiting). */
static void must(ae_status s, const char *what)
{
    if (s == AE_OK)
        return;
    fprintf(stderr, "rank %d: %s: %s: %s\n", rank, what, ae_status_name(s),
            ae_last_error());
    MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1);
}

static ae_dataset *load_images(const char *dir, size_t first)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", dir);
    ae_dataset *all, *some;
    must(ae_dataset_load_idx(&all, path, NULL), "load MNIST");
    must(ae_dataset_subset(all, first, IMAGES, &some), "subset");
    ae_dataset_free(all);
    return some;
}

/* One rank's training: a small dense autoencoder, Adam, Gaussian input
 * noise (so the workers must corrupt the global batch as one process). */
typedef struct run {
    ae_model *m;
    ae_optimizer *opt;
    ae_trainer *t;
    ae_mpi *w;
} run;

static run start(int hidden, int batch, unsigned long seed, float lr)
{
    run r = {0};
    const int enc[] = {hidden, 16}, dec[] = {hidden, 784};
    must(model_dense(&r.m, enc, 2, dec, 2, AE_ACT_RELU, AE_ACT_NONE,
                     AE_ACT_SIGMOID, seed), "model");
    must(ae_optimizer_create_adam(&r.opt, lr), "optimizer");
    must(ae_trainer_create(&r.t, r.m, r.opt), "trainer");
    must(ae_trainer_set(r.t, AE_TRAIN_BATCH_SIZE, batch), "batch size");
    must(ae_trainer_set(r.t, AE_TRAIN_SEED, (double)seed), "seed");
    must(ae_trainer_set(r.t, AE_TRAIN_NOISE, AE_NOISE_GAUSSIAN), "noise");
    must(ae_trainer_set(r.t, AE_TRAIN_NOISE_LEVEL, 0.1), "noise level");
    return r;
}

static run start_default(void)
{
    return start(64, BATCH, 5, 1e-3f);
}

static void attach(run *r, const ae_dataset *ds)
{
    must(ae_mpi_attach(&r->w, r->t, r->m, r->opt, MPI_COMM_WORLD), "attach");
    must(ae_mpi_check_dataset(r->w, ds), "check data");
}

static void finish(run *r)
{
    ae_mpi_free(r->w);
    ae_trainer_free(r->t);
    ae_optimizer_free(r->opt);
    ae_model_free(r->m);
}

static float *params_of(const ae_model *m)
{
    size_t n = ae_model_param_count(m);
    float *p = malloc(n * sizeof *p);
    if (p == NULL) {
        fprintf(stderr, "rank %d: out of memory\n", rank);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    size_t at = 0;
    for (size_t i = 0; i < ae_model_layer_count(m); i++) {
        ae_layer *l;
        ae_model_layer(m, i, &l);
        size_t nw = ae_layer_weight_count(l), nb = ae_layer_bias_count(l);
        if (nw > 0)
            ae_layer_get_weights(l, p + at, nw);
        if (nb > 0)
            ae_layer_get_bias(l, p + at + nw, nb);
        at += nw + nb;
    }
    return p;
}

/* Every rank's weights against rank 0's, bit for bit: 1 if all equal. */
static int same_on_every_rank(const ae_model *m)
{
    size_t n = ae_model_param_count(m);
    float *mine = params_of(m), *theirs = malloc(n * sizeof *theirs);
    int equal = 1;
    if (rank == 0) {
        for (int r = 1; r < ranks; r++) {
            MPI_Recv(theirs, (int)n, MPI_FLOAT, r, 7, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            if (memcmp(mine, theirs, n * sizeof *mine) != 0) {
                size_t i = 0;
                while (mine[i] == theirs[i])
                    i++;
                SAY("rank %d differs first at parameter %zu: %.9g vs %.9g",
                    r, i, mine[i], theirs[i]);
                equal = 0;
            }
        }
    } else {
        MPI_Send(mine, (int)n, MPI_FLOAT, 0, 7, MPI_COMM_WORLD);
    }
    MPI_Bcast(&equal, 1, MPI_INT, 0, MPI_COMM_WORLD);
    free(mine);
    free(theirs);
    return equal;
}

static int mode_equal(const char *dir, const char *out)
{
    ae_dataset *ds = load_images(dir, 0);
    run r = start_default();
    attach(&r, ds);
    must(ae_trainer_fit(r.t, ds, NULL, 2, NULL, NULL), "fit");
    int ok = same_on_every_rank(r.m);
    ae_mpi_stats st = {.size = sizeof st};
    must(ae_mpi_get_stats(r.w, &st), "stats");
    if (rank == 0) {
        SAY("%s: weights after %d steps on %d ranks (%llu reductions, "
            "%.3f s in them)", ok ? "identical" : "DIFFERENT", 2 * STEPS,
            ranks, (unsigned long long)st.calls, st.seconds);
        must(ae_model_save(r.m, out), "save");
    }
    finish(&r);
    ae_dataset_free(ds);
    return ok ? 0 : 1;
}

/* ---- agree ---------------------------------------------------------------- */

typedef struct curve {
    double loss[2 * STEPS];
    int n;
} curve;

static int record(const ae_progress *p, void *user)
{
    curve *c = user;
    if (!p->epoch_done && c->n < 2 * STEPS)
        c->loss[c->n++] = p->loss;
    return 0;
}

/* One process alone (no MPI), seed s, one epoch: its loss curve. */
static void alone(const ae_dataset *ds, unsigned long seed, curve *c)
{
    run r = start(64, BATCH, seed, 1e-3f);
    c->n = 0;
    must(ae_trainer_fit(r.t, ds, NULL, 1, record, c), "fit alone");
    finish(&r);
}

enum { WINDOW = 4 };

static double window_mean(const curve *c, int w)
{
    double s = 0;
    for (int i = 0; i < WINDOW; i++)
        s += c->loss[w * WINDOW + i];
    return s / WINDOW;
}

static int mode_agree(const char *dir)
{
    ae_dataset *ds = load_images(dir, 0);
    const size_t in = 784;
    float *x = malloc(BATCH * in * sizeof *x);
    must(ae_dataset_batch(ds, 0, BATCH, x, NULL), "batch");

    /* The first step, summed over the ranks, against one process's. */
    run r = start_default();
    attach(&r, ds);
    float loss_mpi, loss_one;
    must(ae_trainer_step(r.t, x, NULL, BATCH, &loss_mpi), "step");
    size_t n = ae_model_param_count(r.m);
    float *g = malloc(n * sizeof *g), *g1 = malloc(n * sizeof *g1);
    must(ae_model_get_gradients(r.m, g, n), "gradients");
    finish(&r);
    run one = start_default();
    must(ae_trainer_step(one.t, x, NULL, BATCH, &loss_one), "step alone");
    must(ae_model_get_gradients(one.m, g1, n), "gradients alone");
    finish(&one);
    double worst = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        worst = fmax(worst, fabs((double)g[i] - g1[i]));
        scale = fmax(scale, fabs(g1[i]));
    }
    int ok = worst <= 1e-5 * scale &&
             fabs((double)loss_mpi - loss_one) <= 1e-6 * fabs(loss_one);
    SAY("first step: summed gradient off one process's by %.3g (largest "
        "component %.3g, ratio %.2g); loss %.9g vs %.9g", worst, scale,
        worst / scale, loss_mpi, loss_one);

    /* An epoch: the ranks' curve against one process's with the same seed,
     * and against the spread of three seeds. */
    curve mpi = {.n = 0}, same, other1, other2;
    r = start_default();
    attach(&r, ds);
    must(ae_trainer_fit(r.t, ds, NULL, 1, record, &mpi), "fit");
    finish(&r);
    alone(ds, 5, &same);
    alone(ds, 6, &other1);
    alone(ds, 7, &other2);
    for (int w = 0; w < STEPS / WINDOW; w++) {
        double a = window_mean(&mpi, w), b = window_mean(&same, w);
        double c = window_mean(&other1, w), d = window_mean(&other2, w);
        double lo = fmin(b, fmin(c, d)), hi = fmax(b, fmax(c, d));
        int inside = fabs(a - b) <= hi - lo;
        ok = ok && inside;
        SAY("batches %2d-%2d: loss %.6f on %d ranks, %.6f alone (seeds 5-7 "
            "spread %.6f): %s", w * WINDOW + 1, (w + 1) * WINDOW, a, ranks, b,
            hi - lo, inside ? "within" : "OUTSIDE");
    }
    free(x);
    free(g);
    free(g1);
    ae_dataset_free(ds);
    return ok ? 0 : 1;
}

/* ---- resume --------------------------------------------------------------- */

typedef struct stopper {
    int epoch;
    size_t batch;
} stopper;

static int stop_at(const ae_progress *p, void *user)
{
    const stopper *s = user;
    return p->epoch == s->epoch && p->batch == s->batch && !p->epoch_done;
}

static int mode_resume(const char *dir, const char *ckpt)
{
    ae_dataset *ds = load_images(dir, 0);
    /* Never stopped. */
    run a = start_default();
    attach(&a, ds);
    must(ae_trainer_fit(a.t, ds, NULL, 2, NULL, NULL), "fit");
    float *want = params_of(a.m);
    finish(&a);

    /* Stopped at epoch 2, batch 7; its last checkpoint is batch 4's. */
    run b = start_default();
    must(ae_trainer_set(b.t, AE_TRAIN_CHECKPOINT_EVERY, 5), "period");
    must(ae_trainer_set_checkpoint_path(b.t, ckpt), "path");
    attach(&b, ds);
    stopper at = {2, 7};
    must(ae_trainer_fit(b.t, ds, NULL, 2, stop_at, &at), "fit");
    finish(&b);
    MPI_Barrier(MPI_COMM_WORLD);

    /* Resumed on every rank from the one file rank 0 wrote. */
    run c = start_default();
    must(ae_trainer_load_checkpoint(c.t, ckpt), "load checkpoint");
    must(ae_trainer_set_checkpoint_path(c.t, ckpt), "path"); /* t's own */
    attach(&c, ds);
    must(ae_trainer_fit(c.t, ds, NULL, 2, NULL, NULL), "resumed fit");
    float *got = params_of(c.m);
    size_t n = ae_model_param_count(c.m);
    int ok = memcmp(want, got, n * sizeof *got) == 0;
    ok = same_on_every_rank(c.m) && ok;
    SAY("resumed from the checkpoint: weights %s those of a fit never "
        "stopped", ok ? "identical to" : "DIFFERENT from");
    finish(&c);
    free(want);
    free(got);
    ae_dataset_free(ds);
    return ok ? 0 : 1;
}

/* ---- nan ------------------------------------------------------------------ */

static int mode_nan(const char *dir)
{
    ae_dataset *ds = load_images(dir, 0);
    float *x = malloc(BATCH * 784 * sizeof *x);
    must(ae_dataset_batch(ds, 0, BATCH, x, NULL), "batch");
    x[(BATCH - 1) * 784 + 400] = NAN; /* in the last rank's slice */
    run r = start_default();
    attach(&r, ds);
    float *before = params_of(r.m);
    ae_status s = ae_trainer_step(r.t, x, NULL, BATCH, NULL);
    float *after = params_of(r.m);
    int kept = memcmp(before, after,
                      ae_model_param_count(r.m) * sizeof *after) == 0;
    int ok = s == AE_ERR_NOT_FINITE && kept;
    SAY("%s (%s), weights %s", ae_status_name(s), ae_last_error(),
        kept ? "as they were" : "CHANGED");
    finish(&r);
    free(x);
    free(before);
    free(after);
    ae_dataset_free(ds);
    return ok ? 0 : 1;
}

/* ---- mismatch ------------------------------------------------------------- */

static int mode_mismatch(const char *dir, const char *what)
{
    int odd = rank == 1;
    ae_dataset *ds = load_images(dir, odd && !strcmp(what, "data") ? 1 : 0);
    run r = start(odd && !strcmp(what, "width") ? 48 : 64,
                  odd && !strcmp(what, "batch") ? 32 : BATCH,
                  odd && !strcmp(what, "seed") ? 6 : 5,
                  odd && !strcmp(what, "lr") ? 2e-3f : 1e-3f);
    if (odd && !strcmp(what, "schedule")) /* a training control (0.2) */
        must(ae_trainer_set(r.t, AE_TRAIN_LR_SCHEDULE, AE_SCHEDULE_COSINE),
             "schedule");
    ae_status s = ae_mpi_attach(&r.w, r.t, r.m, r.opt, MPI_COMM_WORLD);
    if (s == AE_OK)
        s = ae_mpi_check_dataset(r.w, ds);
    int refused = s == AE_ERR_INVALID_ARGUMENT;
    SAY("%s %s: %s", refused ? "refused" : "NOT refused", ae_status_name(s),
        ae_last_error());
    finish(&r);
    ae_dataset_free(ds);
    return refused ? 0 : 1;
}

/* ---- long, verify --------------------------------------------------------- */

static int mode_long(const char *dir, const char *ckpt, const char *piddir,
                     double timeout)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/rank-%d.pid", piddir, rank);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return 2;
    fprintf(f, "%ld\n", (long)getpid());
    fclose(f);
    ae_dataset *ds = load_images(dir, 0);
    ae_model *m;
    must(model_exp1_deep30(&m, 5), "model");
    run r = {.m = m};
    must(ae_optimizer_create_adam(&r.opt, 1e-3f), "optimizer");
    must(ae_trainer_create(&r.t, r.m, r.opt), "trainer");
    must(ae_trainer_set(r.t, AE_TRAIN_CHECKPOINT_EVERY, 4), "period");
    must(ae_trainer_set_checkpoint_path(r.t, ckpt), "path");
    attach(&r, ds);
    must(ae_mpi_set_timeout(r.w, timeout), "timeout");
    ae_status s = ae_trainer_fit(r.t, ds, NULL, 100000, NULL, NULL);
    /* Only a failure ends this fit. */
    fprintf(stderr, "rank %d: training stopped: %s: %s\n", rank,
            ae_status_name(s), ae_last_error());
    MPI_Abort(MPI_COMM_WORLD, 1);
    return 1;
}

static int mode_verify(const char *dir, const char *ckpt)
{
    ae_dataset *ds = load_images(dir, 0);
    ae_model *m;
    ae_optimizer *opt;
    ae_trainer *t;
    if (model_exp1_deep30(&m, 9) != AE_OK ||
        ae_optimizer_create_adam(&opt, 1e-3f) != AE_OK ||
        ae_trainer_create(&t, m, opt) != AE_OK)
        return 2;
    ae_status s = ae_trainer_load_checkpoint(t, ckpt);
    float x[4 * 784];
    if (s == AE_OK)
        s = ae_dataset_batch(ds, 0, 4, x, NULL);
    if (s == AE_OK) {
        ae_trainer_set(t, AE_TRAIN_CHECKPOINT_EVERY, 0);
        s = ae_trainer_step(t, x, NULL, 4, NULL);
    }
    printf("checkpoint %s: %s %s\n", ckpt, ae_status_name(s),
           s == AE_OK ? "(loads and trains on)" : ae_last_error());
    ae_trainer_free(t);
    ae_optimizer_free(opt);
    ae_model_free(m);
    ae_dataset_free(ds);
    return s == AE_OK ? 0 : 1;
}

/* Each row: a call that must fail with the status named, and say so. */
static int expect(ae_status got, ae_status want, const char *what)
{
    if (got == want && ae_last_error()[0] != '\0') {
        SAY("refused as it must: %s: %s: %s", what, ae_status_name(got),
            ae_last_error());
        return 0;
    }
    SAY("FAIL: %s gave %s (%s), not %s", what, ae_status_name(got),
        ae_last_error(), ae_status_name(want));
    return 1;
}

static int mode_badargs(const char *dir)
{
    ae_dataset *ds = load_images(dir, 0);
    run r = start_default();
    ae_mpi *w = (ae_mpi *)&r; /* must stay untouched by refused calls */
    int bad = 0;
    bad |= expect(ae_mpi_attach(NULL, r.t, r.m, r.opt, MPI_COMM_WORLD),
                  AE_ERR_NULL, "attach, out NULL");
    bad |= expect(ae_mpi_attach(&w, NULL, r.m, r.opt, MPI_COMM_WORLD),
                  AE_ERR_NULL, "attach, trainer NULL");
    bad |= w != (ae_mpi *)&r && w != NULL;
    bad |= expect(ae_mpi_attach(&w, r.t, NULL, r.opt, MPI_COMM_WORLD),
                  AE_ERR_NULL, "attach, model NULL");
    bad |= expect(ae_mpi_attach(&w, r.t, r.m, NULL, MPI_COMM_WORLD),
                  AE_ERR_NULL, "attach, optimizer NULL");
    double workers = 0;
    must(ae_trainer_get(r.t, AE_TRAIN_WORKERS, &workers), "workers");
    if (workers != 1) {
        SAY("FAIL: a refused attach changed the trainer (%g workers)",
            workers);
        bad = 1;
    }
    attach(&r, ds);
    bad |= expect(ae_mpi_check_dataset(r.w, NULL), AE_ERR_NULL,
                  "check_dataset, data set NULL");
    bad |= expect(ae_mpi_check_dataset(NULL, ds), AE_ERR_NULL,
                  "check_dataset, binding NULL");
    bad |= expect(ae_mpi_set_timeout(NULL, 1.0), AE_ERR_NULL,
                  "set_timeout, binding NULL");
    bad |= expect(ae_mpi_set_timeout(r.w, -1.0), AE_ERR_INVALID_ARGUMENT,
                  "set_timeout -1 s");
    bad |= expect(ae_mpi_set_timeout(r.w, NAN), AE_ERR_INVALID_ARGUMENT,
                  "set_timeout NaN");
    bad |= expect(ae_mpi_set_timeout(r.w, INFINITY), AE_ERR_INVALID_ARGUMENT,
                  "set_timeout infinite");
    ae_mpi_stats st = {0};
    bad |= expect(ae_mpi_get_stats(r.w, NULL), AE_ERR_NULL,
                  "get_stats, stats NULL");
    bad |= expect(ae_mpi_get_stats(NULL, &st), AE_ERR_NULL,
                  "get_stats, binding NULL");
    st.size = sizeof st - 1;
    bad |= expect(ae_mpi_get_stats(r.w, &st), AE_ERR_INVALID_ARGUMENT,
                  "get_stats, size too small");
    if (ae_mpi_rank(NULL) != -1 || ae_mpi_size(NULL) != -1) {
        SAY("FAIL: rank or size of NULL is not -1");
        bad = 1;
    }
    ae_mpi_reset_stats(NULL);
    ae_mpi_free(NULL);
    /* The binding still works after the refused calls. */
    must(ae_trainer_fit(r.t, ds, NULL, 1, NULL, NULL),
         "fit after refused calls");
    st.size = sizeof st;
    must(ae_mpi_get_stats(r.w, &st), "stats");
    if (st.calls == 0) {
        SAY("FAIL: no reduction ran in the fit");
        bad = 1;
    }
    if (!bad)
        SAY("all refused calls said why; the binding trained on after them");
    finish(&r);
    ae_dataset_free(ds);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s MNIST_DIR MODE [ARGS]\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1], *mode = argv[2];
    if (!strcmp(mode, "verify"))
        return argc == 4 ? mode_verify(dir, argv[3]) : 2;
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    ae_set_threads(1); /* the ranks share this machine's cores */
    int rc = 2;
    if (!strcmp(mode, "equal") && argc == 4)
        rc = mode_equal(dir, argv[3]);
    else if (!strcmp(mode, "agree"))
        rc = mode_agree(dir);
    else if (!strcmp(mode, "resume") && argc == 4)
        rc = mode_resume(dir, argv[3]);
    else if (!strcmp(mode, "nan"))
        rc = mode_nan(dir);
    else if (!strcmp(mode, "mismatch") && argc == 4)
        rc = mode_mismatch(dir, argv[3]);
    else if (!strcmp(mode, "long") && argc == 6)
        rc = mode_long(dir, argv[3], argv[4], atof(argv[5]));
    else if (!strcmp(mode, "badargs"))
        rc = mode_badargs(dir);
    MPI_Finalize();
    return rc;
}

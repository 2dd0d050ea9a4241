/* autoenc_mpi.c - the core's reduction hook bound to MPI_Allreduce, and
 * the collective checks that every rank trains the same thing.
 *
 * Sum: the gradient and the loss, MPI_SUM over MPI_FLOAT, in place.  Every
 * rank receives the same bits (an all-reduce hands every rank the result
 * of one reduction), so the weights stay equal without ever being sent.
 *
 * Waiting: with a timeout, the sum runs as MPI_Iallreduce polled with
 * MPI_Test against a deadline, which turns a peer that hangs into an error
 * on this rank instead of a wait without end. */
#include "autoenc_mpi.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct ae_mpi {
    ae_trainer *trainer;
    MPI_Comm comm; /* our duplicate of the caller's, errors returned */
    int rank, size;
    double timeout; /* seconds, 0 = blocking */
    int broken;     /* a reduction failed: the communicator is unusable */
    ae_mpi_stats stats;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* An MPI failure as the library's error: AE_ERR_IO with MPI's words. */
static ae_status mpi_failed(const ae_mpi *w, const char *call, int code)
{
    char reason[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    if (MPI_Error_string(code, reason, &len) != MPI_SUCCESS)
        snprintf(reason, sizeof reason, "MPI error %d", code);
    char msg[MPI_MAX_ERROR_STRING + 96];
    snprintf(msg, sizeof msg, "MPI rank %d of %d: %s failed: %s", w->rank,
             w->size, call, reason);
    return ae_set_last_error(AE_ERR_IO, msg);
}

/* ---- The reduction ------------------------------------------------------ */

/* Sum one piece of at most INT_MAX floats: MPI counts are ints. */
static ae_status sum_piece(ae_mpi *w, float *data, int n)
{
    if (w->timeout <= 0.0) {
        int rc = MPI_Allreduce(MPI_IN_PLACE, data, n, MPI_FLOAT, MPI_SUM,
                               w->comm);
        return rc == MPI_SUCCESS ? AE_OK
                                 : mpi_failed(w, "MPI_Allreduce", rc);
    }
    MPI_Request req;
    int rc = MPI_Iallreduce(MPI_IN_PLACE, data, n, MPI_FLOAT, MPI_SUM,
                            w->comm, &req);
    if (rc != MPI_SUCCESS)
        return mpi_failed(w, "MPI_Iallreduce", rc);
    const double deadline = now() + w->timeout;
    for (unsigned spin = 0;; spin++) {
        int done = 0;
        rc = MPI_Test(&req, &done, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS)
            return mpi_failed(w, "MPI_Test", rc);
        if (done)
            return AE_OK;
        /* The clock costs more than a test; read it now and then. */
        if ((spin & 1023) == 1023 && now() > deadline) {
            char msg[256];
            snprintf(msg, sizeof msg,
                     "MPI rank %d of %d: no answer from the other ranks "
                     "within %g s (a rank died, hangs, or left training "
                     "early); end the job with MPI_Abort",
                     w->rank, w->size, w->timeout);
            return ae_set_last_error(AE_ERR_IO, msg);
        }
    }
}

static ae_status reduce(float *data, size_t n, void *user)
{
    ae_mpi *w = user;
    if (w->broken)
        return ae_set_last_error(AE_ERR_BAD_STATE,
                                 "an earlier reduction failed: the ranks no "
                                 "longer agree on where they are");
    const double start = now();
    ae_status s = AE_OK;
    for (size_t done = 0; s == AE_OK && done < n;) {
        size_t piece = n - done < (size_t)INT_MAX ? n - done : (size_t)INT_MAX;
        s = sum_piece(w, data + done, (int)piece);
        done += piece;
    }
    w->stats.calls++;
    w->stats.floats += n;
    w->stats.seconds += now() - start;
    if (s != AE_OK)
        w->broken = 1;
    return s;
}

/* ---- Agreement checks --------------------------------------------------- */

/* 64-bit FNV-1a: a checksum to compare, not a defence against forgery. */
static uint64_t hash_bytes(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static const uint64_t HASH_START = 0xcbf29ce484222325ull;

typedef enum shown { SHOW_INT, SHOW_REAL, SHOW_NONE } shown;

/* One thing every rank must have the same of. */
typedef struct item {
    const char *what;
    shown how;
    uint64_t value; /* an integer, a double's bits, or a hash */
} item;

enum { MAX_ITEMS = 64 };

typedef struct fingerprint {
    item items[MAX_ITEMS];
    int count;
} fingerprint;

static void add(fingerprint *f, const char *what, shown how, uint64_t value)
{
    if (f->count < MAX_ITEMS)
        f->items[f->count++] = (item){what, how, value};
}

static void add_real(fingerprint *f, const char *what, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    add(f, what, SHOW_REAL, bits);
}

static void show(char *buf, size_t size, shown how, uint64_t v)
{
    double d;
    memcpy(&d, &v, sizeof d);
    if (how == SHOW_REAL)
        snprintf(buf, size, "%.9g", d);
    else
        snprintf(buf, size, "%llu", (unsigned long long)v);
}

/* Every rank learns, item by item, whether any rank differs: the minimum
 * and the maximum over the ranks are equal exactly when all agree.  Every
 * rank then builds the same message and fails the same way. */
static ae_status agree(ae_mpi *w, const fingerprint *f, const char *subject)
{
    uint64_t mine[MAX_ITEMS], lo[MAX_ITEMS], hi[MAX_ITEMS];
    for (int i = 0; i < f->count; i++)
        mine[i] = f->items[i].value;
    int rc = MPI_Allreduce(mine, lo, f->count, MPI_UINT64_T, MPI_MIN, w->comm);
    if (rc == MPI_SUCCESS)
        rc = MPI_Allreduce(mine, hi, f->count, MPI_UINT64_T, MPI_MAX,
                           w->comm);
    if (rc != MPI_SUCCESS)
        return mpi_failed(w, "MPI_Allreduce", rc);
    char msg[1024];
    int len = snprintf(msg, sizeof msg, "the %d ranks differ in %s:", w->size,
                       subject);
    int differ = 0;
    for (int i = 0; i < f->count && len < (int)sizeof msg; i++) {
        const item *it = &f->items[i];
        if (lo[i] == hi[i])
            continue;
        differ++;
        /* The two values shown are two that occur, whichever is which. */
        char a[40], b[40];
        if (it->how == SHOW_NONE) {
            len += snprintf(msg + len, sizeof msg - (size_t)len, "%s %s",
                            differ > 1 ? ";" : "", it->what);
        } else {
            show(a, sizeof a, it->how, lo[i]);
            show(b, sizeof b, it->how, hi[i]);
            len += snprintf(msg + len, sizeof msg - (size_t)len,
                            "%s %s (%s on some ranks, %s on others)",
                            differ > 1 ? ";" : "", it->what, a, b);
        }
    }
    if (differ == 0)
        return AE_OK;
    return ae_set_last_error(AE_ERR_INVALID_ARGUMENT, msg);
}

static ae_status model_fingerprint(fingerprint *f, const ae_model *m)
{
    add(f, "library version", SHOW_INT, ae_version_number());
    add(f, "model layer count", SHOW_INT, ae_model_layer_count(m));
    add(f, "model encoder layer count", SHOW_INT,
        ae_model_encoder_layer_count(m));
    add(f, "model input size", SHOW_INT, ae_model_input_size(m));
    add(f, "model code size", SHOW_INT, ae_model_code_size(m));
    add(f, "model parameter count", SHOW_INT, ae_model_param_count(m));
    uint64_t shape = HASH_START;
    for (size_t i = 0; i < ae_model_layer_count(m); i++) {
        ae_layer *l;
        ae_status s = ae_model_layer(m, i, &l);
        if (s != AE_OK)
            return s;
        int v[8] = {(int)ae_layer_get_kind(l), (int)ae_layer_activation(l)};
        ae_layer_input_shape(l, &v[2], &v[3], &v[4]);
        ae_layer_output_shape(l, &v[5], &v[6], &v[7]);
        shape = hash_bytes(shape, v, sizeof v);
    }
    add(f, "model layers (kinds, activations or shapes)", SHOW_NONE, shape);
    /* The whole model as its file holds it: the weights, so the seed that
     * drew them or the checkpoint they came from. */
    size_t size = 0;
    ae_status s = ae_model_save_memory(m, NULL, 0, &size);
    if (s != AE_OK && s != AE_ERR_INVALID_ARGUMENT)
        return s;
    void *bytes = malloc(size);
    if (bytes == NULL)
        return ae_set_last_error(AE_ERR_NO_MEMORY,
                                 "ae_mpi_attach: cannot allocate a copy of "
                                 "the model to compare");
    s = ae_model_save_memory(m, bytes, size, &size);
    uint64_t h = hash_bytes(HASH_START, bytes, size);
    free(bytes);
    if (s != AE_OK)
        return s;
    add(f, "model weights (another seed, or another checkpoint?)",
        SHOW_NONE, h);
    return AE_OK;
}

static void optimizer_fingerprint(fingerprint *f, const ae_optimizer *opt)
{
    static const struct {
        ae_optimizer_param p;
        const char *what;
    } params[] = {
        {AE_OPT_LEARNING_RATE, "optimizer learning rate"},
        {AE_OPT_BETA1, "optimizer beta1"},
        {AE_OPT_BETA2, "optimizer beta2"},
        {AE_OPT_EPSILON, "optimizer epsilon"},
        {AE_OPT_MOMENTUM, "optimizer momentum"},
        {AE_OPT_WEIGHT_DECAY, "optimizer weight decay"},
    };
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++) {
        double v;
        /* A parameter the kind lacks counts as -1: SGD and Adam differ. */
        if (ae_optimizer_get(opt, params[i].p, &v) != AE_OK)
            v = -1.0;
        add_real(f, params[i].what, v);
    }
}

static ae_status trainer_fingerprint(fingerprint *f, const ae_trainer *t)
{
    static const struct {
        ae_train_param p;
        const char *what;
    } params[] = {
        {AE_TRAIN_LOSS, "trainer loss"},
        {AE_TRAIN_L1_CODE, "trainer L1 code weight"},
        {AE_TRAIN_NOISE, "trainer noise kind"},
        {AE_TRAIN_NOISE_LEVEL, "trainer noise level"},
        {AE_TRAIN_BATCH_SIZE, "trainer batch size"},
        {AE_TRAIN_SHUFFLE, "trainer shuffle"},
        {AE_TRAIN_SEED, "trainer seed"},
        {AE_TRAIN_RANGE, "trainer pixel range"},
        {AE_TRAIN_L1_PER_IMAGE, "trainer L1 per image"},
        {AE_TRAIN_CHECKPOINT_EVERY, "trainer checkpoint period"},
        /* variational autoencoders (since 0.2) */
        {AE_TRAIN_KL_BETA, "trainer KL weight beta"},
        {AE_TRAIN_SUM_PER_IMAGE, "trainer per-image sum"},
        /* the training controls (since 0.2) */
        {AE_TRAIN_LR_SCHEDULE, "trainer learning-rate schedule"},
        {AE_TRAIN_LR_STEP_SIZE, "trainer schedule step size"},
        {AE_TRAIN_LR_GAMMA, "trainer schedule gamma"},
        {AE_TRAIN_LR_T_MAX, "trainer schedule T_max"},
        {AE_TRAIN_LR_MIN, "trainer schedule minimum rate"},
        {AE_TRAIN_PLATEAU_FACTOR, "trainer plateau factor"},
        {AE_TRAIN_PLATEAU_PATIENCE, "trainer plateau patience"},
        {AE_TRAIN_PLATEAU_THRESHOLD, "trainer plateau threshold"},
        {AE_TRAIN_PLATEAU_COOLDOWN, "trainer plateau cooldown"},
        {AE_TRAIN_EARLY_STOP_PATIENCE, "trainer early-stopping patience"},
        {AE_TRAIN_EARLY_STOP_MIN_DELTA, "trainer early-stopping min delta"},
        {AE_TRAIN_CLIP_NORM, "trainer gradient clipping norm"},
    };
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++) {
        double v;
        ae_status s = ae_trainer_get(t, params[i].p, &v);
        if (s != AE_OK)
            return s;
        add_real(f, params[i].what, v);
    }
    return AE_OK;
}

/* Everything else a checkpoint holds (the optimizer's kind, step count
 * and moments, the noise generator, where a fit stands), compared through
 * the checkpoint itself, written to a private temporary file. */
static ae_status state_fingerprint(fingerprint *f, const ae_trainer *t)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/autoenc-mpi-XXXXXX",
             dir != NULL && dir[0] != '\0' ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        return ae_set_last_error(AE_ERR_IO, "ae_mpi_attach: cannot create a "
                                 "temporary file to compare the training "
                                 "state (TMPDIR)");
    close(fd);
    ae_status s = ae_trainer_save_checkpoint(t, path);
    uint64_t h = HASH_START;
    if (s == AE_OK) {
        FILE *in = fopen(path, "rb");
        unsigned char buf[65536];
        size_t got;
        if (in == NULL) {
            s = ae_set_last_error(AE_ERR_IO, "ae_mpi_attach: cannot read "
                                  "back the training state");
        } else {
            while ((got = fread(buf, 1, sizeof buf, in)) > 0)
                h = hash_bytes(h, buf, got);
            if (ferror(in))
                s = ae_set_last_error(AE_ERR_IO, "ae_mpi_attach: cannot read "
                                      "back the training state");
            fclose(in);
        }
    }
    unlink(path);
    if (s == AE_OK)
        add(f, "training state (optimizer kind or moments, noise generator, "
               "or position in a fit)", SHOW_NONE, h);
    return s;
}

/* The local part of a check fails on one rank only; the ranks then agree
 * on a flag first, so that nobody goes on to a collective the failed rank
 * will never join. */
static ae_status all_ok(ae_mpi *w, ae_status local)
{
    int bad = local != AE_OK, any = 0;
    int rc = MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, w->comm);
    if (rc != MPI_SUCCESS)
        return mpi_failed(w, "MPI_Allreduce", rc);
    if (local != AE_OK)
        return local;
    if (any)
        return ae_set_last_error(AE_ERR_INVALID_ARGUMENT,
                                 "another rank could not describe its "
                                 "configuration (its error says why)");
    return AE_OK;
}

/* ---- The handle --------------------------------------------------------- */

ae_status ae_mpi_attach(ae_mpi **out, ae_trainer *t, const ae_model *m,
                        const ae_optimizer *opt, MPI_Comm comm)
{
    if (out == NULL || t == NULL || m == NULL || opt == NULL)
        return ae_set_last_error(AE_ERR_NULL, "ae_mpi_attach: out, trainer, "
                                 "model and optimizer are required");
    *out = NULL;
    int initialised = 0;
    MPI_Initialized(&initialised);
    if (!initialised)
        return ae_set_last_error(AE_ERR_BAD_STATE, "ae_mpi_attach: MPI is "
                                 "not initialised (MPI_Init first)");
    ae_mpi *w = calloc(1, sizeof *w);
    if (w == NULL)
        return ae_set_last_error(AE_ERR_NO_MEMORY,
                                 "ae_mpi_attach: cannot allocate the binding");
    w->trainer = t;
    w->timeout = 60.0;
    w->stats.size = sizeof w->stats;
    int rc = MPI_Comm_dup(comm, &w->comm);
    if (rc != MPI_SUCCESS) {
        free(w);
        return ae_set_last_error(AE_ERR_IO,
                                 "ae_mpi_attach: MPI_Comm_dup failed");
    }
    MPI_Comm_set_errhandler(w->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(w->comm, &w->rank);
    MPI_Comm_size(w->comm, &w->size);

    fingerprint f = {.count = 0};
    ae_status s = model_fingerprint(&f, m);
    optimizer_fingerprint(&f, opt);
    if (s == AE_OK)
        s = trainer_fingerprint(&f, t);
    if (s == AE_OK)
        s = state_fingerprint(&f, t);
    s = all_ok(w, s);
    if (s == AE_OK)
        s = agree(w, &f, "their configuration");
    if (s == AE_OK)
        s = ae_trainer_set(t, AE_TRAIN_WORKERS, w->size);
    if (s == AE_OK)
        s = ae_trainer_set(t, AE_TRAIN_RANK, w->rank);
    if (s == AE_OK)
        s = ae_trainer_set_reduce(t, reduce, w);
    if (s != AE_OK) {
        ae_trainer_set(t, AE_TRAIN_RANK, 0);
        ae_trainer_set(t, AE_TRAIN_WORKERS, 1);
        MPI_Comm_free(&w->comm);
        free(w);
        return s;
    }
    *out = w;
    return AE_OK;
}

ae_status ae_mpi_check_dataset(ae_mpi *w, const ae_dataset *ds)
{
    if (w == NULL || ds == NULL)
        return ae_set_last_error(AE_ERR_NULL, "ae_mpi_check_dataset: the "
                                 "binding and the dataset are required");
    int c = 0, h = 0, wd = 0;
    ae_status s = ae_dataset_shape(ds, &c, &h, &wd);
    const size_t count = ae_dataset_count(ds), pix = (size_t)c * h * wd;
    /* The pixels as training sees them (the range applied), in pieces. */
    enum { PIECE = 256 };
    float *buf = s == AE_OK ? malloc(PIECE * (pix > 0 ? pix : 1) *
                                     sizeof *buf)
                            : NULL;
    if (s == AE_OK && buf == NULL)
        s = ae_set_last_error(AE_ERR_NO_MEMORY, "ae_mpi_check_dataset: "
                              "cannot allocate a batch buffer");
    uint64_t pixels = HASH_START;
    for (size_t first = 0; s == AE_OK && first < count; first += PIECE) {
        size_t n = count - first < PIECE ? count - first : PIECE;
        s = ae_dataset_batch(ds, first, n, buf, NULL);
        if (s == AE_OK)
            pixels = hash_bytes(pixels, buf, n * pix * sizeof *buf);
    }
    free(buf);
    s = all_ok(w, s);
    if (s != AE_OK)
        return s;
    fingerprint f = {.count = 0};
    add(&f, "data set image count", SHOW_INT, count);
    add(&f, "data set channels", SHOW_INT, (uint64_t)c);
    add(&f, "data set height", SHOW_INT, (uint64_t)h);
    add(&f, "data set width", SHOW_INT, (uint64_t)wd);
    add(&f, "data set pixels (another file, or another pixel range?)",
        SHOW_NONE, pixels);
    return agree(w, &f, "their training data");
}

ae_status ae_mpi_set_timeout(ae_mpi *w, double seconds)
{
    if (w == NULL)
        return ae_set_last_error(AE_ERR_NULL, "ae_mpi_set_timeout: NULL");
    if (!(seconds >= 0.0) || isinf(seconds))
        return ae_set_last_error(AE_ERR_INVALID_ARGUMENT,
                                 "ae_mpi_set_timeout: seconds must be finite "
                                 "and >= 0 (0 waits forever)");
    w->timeout = seconds;
    return AE_OK;
}

ae_status ae_mpi_get_stats(const ae_mpi *w, ae_mpi_stats *stats)
{
    if (w == NULL || stats == NULL)
        return ae_set_last_error(AE_ERR_NULL, "ae_mpi_get_stats: NULL");
    if (stats->size < sizeof *stats)
        return ae_set_last_error(AE_ERR_INVALID_ARGUMENT, "ae_mpi_get_stats: "
                                 "stats->size must be sizeof(ae_mpi_stats)");
    *stats = w->stats;
    return AE_OK;
}

void ae_mpi_reset_stats(ae_mpi *w)
{
    if (w != NULL) {
        w->stats.calls = 0;
        w->stats.floats = 0;
        w->stats.seconds = 0.0;
    }
}

int ae_mpi_rank(const ae_mpi *w)
{
    return w != NULL ? w->rank : -1;
}

int ae_mpi_size(const ae_mpi *w)
{
    return w != NULL ? w->size : -1;
}

void ae_mpi_free(ae_mpi *w)
{
    if (w == NULL)
        return;
    ae_trainer_set_reduce(w->trainer, NULL, NULL);
    ae_trainer_set(w->trainer, AE_TRAIN_RANK, 0);
    ae_trainer_set(w->trainer, AE_TRAIN_WORKERS, 1);
    MPI_Comm_free(&w->comm);
    free(w);
}

/* test_alloc_walk.c - every allocation of representative calls made to fail
 * in turn.
 *
 * A counting allocator is installed through ae_set_allocator.  For each
 * call below, the walk makes allocation 1 fail, then allocation 2, ..., in
 * a fresh fixture each time, until the call gets through without reaching
 * the failing allocation.  Each failing call must
 *   - return AE_ERR_NO_MEMORY with a new, non-empty ae_last_error() that
 *     says what could not be allocated,
 *   - change nothing that can be observed: a snapshot of the fixture's
 *     state (weights, settings, outputs, files, a fit, ...) taken before the
 *     call equals the one taken after it, and output handles are NULL,
 *   - leave the handles usable: the same call, retried with allocations
 *     succeeding, gives bit for bit the state a call that never failed gives
 *     (so a failed training step consumed no random numbers and no
 *     optimizer step),
 *   - leak nothing: once the fixture's handles are freed, the number of live
 *     blocks is back to what it was before the fixture was made.
 * The walk runs twice: failing only allocation n ("once"), and failing
 * allocation n and every later one ("sticky", the way memory really runs
 * out).  The number of allocation points of each call is printed; the figures
 * are in docs/RELIABILITY.md.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn/model.h" /* private: the layers' state, for the norm model */
#include "snapshot.h"
#include "testutil.h"

/* The counting allocator is testutil.c's (tu_walk_alloc). */

/* ---- snapshots of observable state -------------------------------------- */

static void put_status(bytes *b, ae_status s)
{
    bytes_put_u64(b, (uint64_t)s);
}

static void snap_floats(bytes *b, const float *x, size_t n)
{
    bytes_put(b, x, n * sizeof(float));
}

/* ---- test data ----------------------------------------------------------- */

enum { IMAGES = 6, SIDE = 8, PIXELS = SIDE * SIDE, BATCH = 4 };

/* Images in [0, 1) with some structure, for models of 1 x 8 x 8 inputs. */
static void fill_images(float *x, size_t n, uint32_t seed)
{
    tu_fill_uniform(x, n * PIXELS, 0.0f, 1.0f, seed);
    for (size_t i = 0; i < n * PIXELS; i++)
        x[i] = 0.5f * x[i] + 0.5f * (float)((i % PIXELS) % 7) / 7.0f;
}

/* A fresh folder under the test's temporary folder. */
static const char *fresh_dir(const char *name)
{
    const char *dir = tu_tmp_path(name);
    tu_remove_tree(dir);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    return dir;
}

/* ---- the fixture ----------------------------------------------------------
 * Every case uses the fields it needs; fixture_free frees them all. */

typedef struct fixture {
    ae_dataset *ds, *ds2, *out_ds, *out_ds2;
    ae_batches *it;
    ae_model *m, *out_m;
    ae_optimizer *opt;
    ae_trainer *t;
    ae_pca *pca;
    ae_metrics *mt;
    ae_tsne *ts;
    float *x, *y;    /* inputs, outputs (plain malloc) */
    size_t nx, ny;   /* floats in each */
    uint8_t *data;   /* a serialized model or an IDX file (plain malloc) */
    size_t size;
    uint8_t *data2;
    size_t size2;
    float loss;
    int gzip;
    int conv;        /* dense or conv model */
    char dir[1024];  /* a folder of files the case writes */
    char path[1100];
} fixture;

static void fixture_free(fixture *f)
{
    ae_batches_free(f->it);
    ae_dataset_free(f->out_ds2);
    ae_dataset_free(f->out_ds);
    ae_dataset_free(f->ds2);
    ae_dataset_free(f->ds);
    ae_trainer_free(f->t);
    ae_optimizer_free(f->opt);
    ae_model_free(f->out_m);
    ae_model_free(f->m);
    ae_pca_free(f->pca);
    ae_metrics_free(f->mt);
    ae_tsne_free(f->ts);
    free(f->x);
    free(f->y);
    free(f->data);
    free(f->data2);
    memset(f, 0, sizeof *f);
}

static float *new_floats(size_t n)
{
    float *x = calloc(n ? n : 1, sizeof(float));
    ck_assert_ptr_nonnull(x);
    return x;
}

/* Output arrays start as a pattern no call writes, so that a failed call
 * that wrote to one shows. */
static float *sentinel_floats(size_t n)
{
    float *y = new_floats(n);
    memset(y, 0xA5, n * sizeof(float));
    return y;
}

/* Output handles start as this address: a failing call must set them to
 * NULL. */
static char not_a_handle;
#define NOT_SET ((void *)&not_a_handle)

/* Take an output handle from a call: NULL after a failure, and never left
 * as it was. */
#define TAKE_HANDLE(dst, tmp, s)                                               \
    do {                                                                       \
        ck_assert_msg((void *)(tmp) != NOT_SET,                                \
                      "output handle left unset (%s)", ae_status_name(s));     \
        if ((s) != AE_OK)                                                      \
            ck_assert_msg((tmp) == NULL, "output handle not NULL after %s",    \
                          ae_status_name(s));                                  \
        (dst) = (tmp);                                                         \
    } while (0)

/* ---- models ----------------------------------------------------------------
 * The dense one: 64 - 16 - 6 - 16 - 64.  The conv one uses every layer
 * kind: conv 4x8x8, pool 4x4x4, conv stride 2 2x2x2, dense 6 | dense 8,
 * reshape 2x2x2, upsample 2x4x4, transposed conv 4x4x4, unpool (partner
 * layer 1) 4x8x8, conv 1x8x8. */

/* conv 2, the norm model: dense 16, batch norm (ReLU), dropout, dense 6
 * | dense 16, dense 64: the layers with state besides their weights. */
static ae_status add_norm_layer(ae_model *m, size_t i)
{
    switch (i) {
    case 0: return ae_model_add_dense(m, AE_ENCODER, 16, AE_ACT_NONE);
    case 1:
        return ae_model_add_batchnorm(m, AE_ENCODER, 0.1f, 1e-5f,
                                      AE_ACT_RELU);
    case 2: return ae_model_add_dropout(m, AE_ENCODER, 0.25f);
    case 3: return ae_model_add_dense(m, AE_ENCODER, 6, AE_ACT_TANH);
    case 4: return ae_model_add_dense(m, AE_DECODER, 16, AE_ACT_RELU);
    default: return ae_model_add_dense(m, AE_DECODER, PIXELS, AE_ACT_SIGMOID);
    }
}

/* conv 2: the VAE, dense 16 relu, dense 12 (6 means, 6 log-variances),
 * Gaussian sampling (the code, 6) | dense 16 relu, dense 64 sigmoid. */
enum { VAE_MODEL = 3 };

static ae_status add_vae_layer(ae_model *m, size_t i)
{
    switch (i) {
    case 0: return ae_model_add_dense(m, AE_ENCODER, 16, AE_ACT_RELU);
    case 1: return ae_model_add_dense(m, AE_ENCODER, 12, AE_ACT_NONE);
    case 2: return ae_model_add_gaussian_sample(m, AE_ENCODER);
    case 3: return ae_model_add_dense(m, AE_DECODER, 16, AE_ACT_RELU);
    default: return ae_model_add_dense(m, AE_DECODER, PIXELS, AE_ACT_SIGMOID);
    }
}

static ae_status add_layer(ae_model *m, int conv, size_t i)
{
    if (conv == 2)
        return add_norm_layer(m, i);
    if (conv == VAE_MODEL)
        return add_vae_layer(m, i);
    if (!conv) {
        static const int units[] = {16, 6, 16, PIXELS};
        static const ae_activation act[] = {AE_ACT_RELU, AE_ACT_TANH,
                                            AE_ACT_RELU, AE_ACT_SIGMOID};
        return ae_model_add_dense(m, i < 2 ? AE_ENCODER : AE_DECODER,
                                  units[i], act[i]);
    }
    switch (i) {
    case 0: return ae_model_add_conv2d(m, AE_ENCODER, 4, 3, 1, -1, AE_ACT_RELU);
    case 1: return ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2);
    case 2: return ae_model_add_conv2d(m, AE_ENCODER, 2, 3, 2, 1, AE_ACT_RELU);
    case 3: return ae_model_add_dense(m, AE_ENCODER, 6, AE_ACT_TANH);
    case 4: return ae_model_add_dense(m, AE_DECODER, 8, AE_ACT_RELU);
    case 5: return ae_model_add_reshape(m, AE_DECODER, 2, 2, 2);
    case 6: return ae_model_add_upsample2d(m, AE_DECODER, 2);
    case 7:
        return ae_model_add_conv_transpose2d(m, AE_DECODER, 4, 3, 1, 1, 0,
                                             AE_ACT_LEAKY_RELU);
    case 8: return ae_model_add_maxunpool2d(m, AE_DECODER, 1, SIDE, SIDE);
    default:
        return ae_model_add_conv2d(m, AE_DECODER, 1, 3, 1, -1, AE_ACT_SIGMOID);
    }
}

static size_t layer_total(int conv)
{
    return conv == VAE_MODEL ? 5 : conv == 2 ? 6 : conv ? 10 : 4;
}

/* Build (or finish building) f->m: creates it if needed and adds the
 * layers it does not have yet, so a retry picks up where a failure
 * stopped. */
static ae_status build_model(fixture *f)
{
    ae_status s;
    if (f->m == NULL) {
        ae_model *m = NOT_SET;
        s = ae_model_create(&m, 1, SIDE, SIDE, 1234);
        TAKE_HANDLE(f->m, m, s);
        if (s != AE_OK)
            return s;
    }
    for (size_t i = ae_model_layer_count(f->m); i < layer_total(f->conv);
         i++) {
        /* A failing add leaves the model as it was. */
        bytes before = {0}, after = {0};
        snap_model(&before, f->m);
        s = add_layer(f->m, f->conv, i);
        if (s != AE_OK) {
            snap_model(&after, f->m);
            ck_assert_msg(bytes_same(&before, &after),
                          "a failing add of layer %zu changed the model", i);
        }
        bytes_free(&before);
        bytes_free(&after);
        if (s != AE_OK)
            return s;
    }
    return AE_OK;
}

static void must_build_model(fixture *f, int conv)
{
    f->conv = conv;
    ck_assert_ae_ok(build_model(f));
}

/* ---- the cases ------------------------------------------------------------ */

typedef struct walk_case {
    const char *name;
    void (*setup)(fixture *f);      /* allocations succeed here */
    ae_status (*call)(fixture *f);  /* the call walked */
    void (*snap)(fixture *f, bytes *b); /* observable state */
    /* The call is a sequence of library calls (build a model layer by
     * layer): the earlier ones may have succeeded when a later one fails,
     * so the state is compared around each of them, not around the
     * whole. */
    int sequence;
} walk_case;

/* Datasets. */

static void setup_idx(fixture *f, int gzip)
{
    size_t ni, nl;
    uint8_t *im = tu_idx_images(IMAGES, SIDE, SIDE, NULL, &ni);
    uint8_t *lb = tu_idx_labels(IMAGES, NULL, &nl);
    f->gzip = gzip;
    if (gzip) {
        f->data = tu_gzip(im, ni, &f->size);
        f->data2 = tu_gzip(lb, nl, &f->size2);
        free(im);
        free(lb);
    } else {
        f->data = im;
        f->size = ni;
        f->data2 = lb;
        f->size2 = nl;
    }
}

static void setup_idx_raw(fixture *f) { setup_idx(f, 0); }
static void setup_idx_gzip(fixture *f) { setup_idx(f, 1); }

static ae_status call_idx_memory(fixture *f)
{
    ae_dataset *ds = NOT_SET;
    ae_status s = ae_dataset_load_idx_memory(&ds, f->data, f->size, f->data2,
                                             f->size2);
    TAKE_HANDLE(f->out_ds, ds, s);
    return s;
}

static void snap_out_ds(fixture *f, bytes *b)
{
    snap_dataset(b, f->out_ds);
}

static void setup_idx_files(fixture *f)
{
    setup_idx(f, 1);
    snprintf(f->dir, sizeof f->dir, "%s", fresh_dir("idx"));
    snprintf(f->path, sizeof f->path, "%s/images.gz", f->dir);
    tu_write_file(f->path, f->data, f->size, 0);
    char labels[1200];
    snprintf(labels, sizeof labels, "%s/labels", f->dir);
    uint8_t *lb = tu_idx_labels(IMAGES, NULL, &f->size2);
    tu_write_file(labels, lb, f->size2, 0);
    free(lb);
}

static ae_status call_idx_files(fixture *f)
{
    char labels[1200];
    snprintf(labels, sizeof labels, "%s/labels", f->dir);
    ae_dataset *ds = NOT_SET;
    ae_status s = ae_dataset_load_idx(&ds, f->path, labels);
    TAKE_HANDLE(f->out_ds, ds, s);
    return s;
}

/* Raw images and labels files, for mapping. */
static void setup_idx_map_files(fixture *f)
{
    setup_idx(f, 0);
    snprintf(f->dir, sizeof f->dir, "%s", fresh_dir("idxmap"));
    snprintf(f->path, sizeof f->path, "%s/images", f->dir);
    tu_write_file(f->path, f->data, f->size, 0);
    char labels[1200];
    snprintf(labels, sizeof labels, "%s/labels", f->dir);
    tu_write_file(labels, f->data2, f->size2, 0);
}

static ae_status call_idx_map(fixture *f)
{
    char labels[1200];
    snprintf(labels, sizeof labels, "%s/labels", f->dir);
    ae_dataset *ds = NOT_SET;
    ae_status s = ae_dataset_map_idx(&ds, f->path, labels);
    TAKE_HANDLE(f->out_ds, ds, s);
    return s;
}

/* Two classes of two and three 6 x 5 images, written as PNG files. */
static void setup_png_folder(fixture *f)
{
    snprintf(f->dir, sizeof f->dir, "%s", fresh_dir("pngfolder"));
    float tile[30];
    for (int k = 0; k < 5; k++) {
        char path[1300];
        snprintf(path, sizeof path, "%s/%s", f->dir, k < 2 ? "cat" : "dog");
        mkdir(path, 0700);
        snprintf(path + strlen(path), 64, "/img%d.png", k);
        tu_fill_uniform(tile, 30, 0.0f, 1.0f, (uint32_t)k + 1);
        ck_assert_ae_ok(ae_image_grid_write_png(path, tile, 1, 1, 1, 6, 5,
                                                0.0f, 1.0f, 1));
    }
}

static ae_status call_png_folder(fixture *f)
{
    ae_dataset *ds = NOT_SET;
    ae_status s = ae_dataset_load_png_folder(&ds, f->dir);
    TAKE_HANDLE(f->out_ds, ds, s);
    return s;
}

static void setup_dataset(fixture *f)
{
    setup_idx(f, 0);
    ck_assert_ae_ok(ae_dataset_load_idx_memory(&f->ds, f->data, f->size,
                                               f->data2, f->size2));
    ck_assert_ae_ok(ae_dataset_set_range(f->ds, AE_RANGE_SYMMETRIC));
}

static ae_status call_split(fixture *f)
{
    ae_dataset *a = NOT_SET, *b = NOT_SET;
    ae_status s = ae_dataset_split(f->ds, 0.5, 7, &a, &b);
    TAKE_HANDLE(f->out_ds, a, s);
    TAKE_HANDLE(f->out_ds2, b, s);
    return s;
}

static void snap_split(fixture *f, bytes *b)
{
    snap_dataset(b, f->ds);
    snap_dataset(b, f->out_ds);
    snap_dataset(b, f->out_ds2);
}

static ae_status call_subset(fixture *f)
{
    ae_dataset *a = NOT_SET;
    ae_status s = ae_dataset_subset(f->ds, 1, 3, &a);
    TAKE_HANDLE(f->out_ds, a, s);
    return s;
}

static ae_status call_batches(fixture *f)
{
    ae_batches *it = NOT_SET;
    ae_status s = ae_batches_create(&it, f->ds, 4, 1, 3);
    TAKE_HANDLE(f->it, it, s);
    return s;
}

static void snap_batches(fixture *f, bytes *b)
{
    snap_dataset(b, f->ds);
    if (f->it == NULL) {
        bytes_put_str(b, "no iterator");
        return;
    }
    float x[4 * PIXELS];
    uint8_t l[4];
    size_t count;
    do {
        ck_assert_ae_ok(ae_batches_next(f->it, x, l, &count));
        bytes_put(b, x, count * sizeof(float) * PIXELS);
        bytes_put(b, l, count);
    } while (count > 0);
}

/* Models. */

static void setup_nothing(fixture *f) { (void)f; }
static void setup_conv_flag(fixture *f) { f->conv = 1; }

static void snap_m(fixture *f, bytes *b)
{
    snap_model(b, f->m);
}

/* Training.  The trainer adds Gaussian noise to the inputs, so a failed step
 * that drew noise anyway would show in the retry. */

static void setup_trainer(fixture *f, int conv, int warm)
{
    must_build_model(f, conv);
    ck_assert_ae_ok(ae_optimizer_create_adam(&f->opt, 1e-2f));
    ck_assert_ae_ok(ae_trainer_create(&f->t, f->m, f->opt));
    ck_assert_ae_ok(ae_trainer_set(f->t, AE_TRAIN_NOISE, AE_NOISE_GAUSSIAN));
    ck_assert_ae_ok(ae_trainer_set(f->t, AE_TRAIN_NOISE_LEVEL, 0.1));
    ck_assert_ae_ok(ae_trainer_set(f->t, AE_TRAIN_SEED, 99));
    f->nx = 2 * BATCH * PIXELS;
    f->x = new_floats(f->nx);
    fill_images(f->x, 2 * BATCH, 5);
    if (warm)
        ck_assert_ae_ok(ae_trainer_step(f->t, f->x, NULL, BATCH, NULL));
    f->loss = -1.0f;
}

static void setup_step_dense(fixture *f) { setup_trainer(f, 0, 0); }
static void setup_step_conv(fixture *f) { setup_trainer(f, 1, 0); }
static void setup_warm_dense(fixture *f) { setup_trainer(f, 0, 1); }
static void setup_warm_conv(fixture *f) { setup_trainer(f, 1, 1); }

/* The loss goes straight into the fixture: a failing step must not write
 * it. */
static ae_status call_step(fixture *f)
{
    return ae_trainer_step(f->t, f->x, NULL, BATCH, &f->loss);
}

/* A batch larger than the one the buffers were sized for. */
static ae_status call_step_grow(fixture *f)
{
    return ae_trainer_step(f->t, f->x, NULL, 2 * BATCH, &f->loss);
}

/* Set while taking the snapshots compared with the reference, which may
 * change the fixture; clear for the ones taken around a call. */
static int snap_probe;

static void snap_training(fixture *f, bytes *b)
{
    snap_model(b, f->m);
    snap_optimizer(b, f->opt);
    snap_trainer(b, f->t);
    bytes_put(b, &f->loss, sizeof f->loss);
    if (!snap_probe)
        return;
    /* The state a next step starts from: moments, step count and noise
     * generator all show in its result. */
    float loss = 0.0f;
    ck_assert_ae_ok(ae_trainer_step(f->t, f->x, NULL, BATCH, &loss));
    bytes_put(b, &loss, sizeof loss);
    snap_model(b, f->m);
}

static void setup_fit(fixture *f)
{
    setup_trainer(f, 0, 0);
    setup_dataset(f);
    ck_assert_ae_ok(ae_dataset_split(f->ds, 0.5, 3, &f->ds2, &f->out_ds2));
    ck_assert_ae_ok(ae_trainer_set(f->t, AE_TRAIN_BATCH_SIZE, 2));
}

static ae_status call_fit(fixture *f)
{
    return ae_trainer_fit(f->t, f->ds2, f->out_ds2, 1, NULL, NULL);
}

/* The training controls (since 0.2): early stopping's copy of the best
 * weights, and a schedule, in a fit and in checkpoints that hold them. */
static void set_controls(fixture *f)
{
    ck_assert_ae_ok(ae_trainer_set(f->t, AE_TRAIN_EARLY_STOP_PATIENCE, 1));
    ck_assert_ae_ok(ae_trainer_set(f->t, AE_TRAIN_LR_SCHEDULE,
                                   AE_SCHEDULE_PLATEAU));
    ck_assert_ae_ok(ae_trainer_set(f->t, AE_TRAIN_CLIP_NORM, 0.5));
}

static void setup_fit_controls(fixture *f)
{
    setup_fit(f);
    set_controls(f);
}

static void setup_ckpt_controls(fixture *f)
{
    setup_fit_controls(f);
    snprintf(f->dir, sizeof f->dir, "%s", fresh_dir("ckpt-controls"));
    snprintf(f->path, sizeof f->path, "%s/train.aeckpt", f->dir);
    ck_assert_ae_ok(call_fit(f)); /* a best epoch and its weights */
    ck_assert_ae_ok(ae_trainer_save_checkpoint(f->t, f->path));
    ck_assert_ae_ok(ae_trainer_step(f->t, f->x, NULL, BATCH, NULL));
}

static ae_status call_evaluate(fixture *f)
{
    double loss = -1.0;
    ae_status s = ae_trainer_evaluate(f->t, f->ds, &loss);
    if (s == AE_OK)
        f->loss = (float)loss;
    else
        ck_assert(loss == -1.0); /* not written */
    return s;
}

/* Forward passes on a cold model. */

static void setup_cold(fixture *f, int conv)
{
    must_build_model(f, conv);
    f->nx = BATCH * PIXELS;
    f->x = new_floats(f->nx);
    fill_images(f->x, BATCH, 9);
    f->ny = BATCH * PIXELS;
    f->y = sentinel_floats(f->ny);
}

static void setup_cold_dense(fixture *f) { setup_cold(f, 0); }
static void setup_cold_conv(fixture *f) { setup_cold(f, 1); }

static ae_status call_reconstruct(fixture *f)
{
    return ae_model_reconstruct(f->m, f->x, BATCH, f->y);
}

static ae_status call_encode(fixture *f)
{
    return ae_model_encode(f->m, f->x, BATCH, f->y);
}

static void snap_forward(fixture *f, bytes *b)
{
    snap_model(b, f->m);
    snap_floats(b, f->y, f->ny);
}

static void setup_mean_activation(fixture *f)
{
    setup_cold(f, 1);
    setup_dataset(f);
}

static ae_status call_mean_activation(fixture *f)
{
    double overall = -1.0;
    ae_status s = ae_model_mean_activation(f->m, 3, f->ds, f->y, &overall);
    if (s == AE_OK)
        f->loss = (float)overall;
    return s;
}

static void snap_mean_activation(fixture *f, bytes *b)
{
    snap_forward(f, b);
    bytes_put(b, &f->loss, sizeof f->loss);
}

/* Saving and loading. */

static void setup_saved(fixture *f, int conv)
{
    must_build_model(f, conv);
    ck_assert_ae_ok(ae_model_save_memory(f->m, NULL, 0, &f->size));
    f->data = malloc(f->size);
    ck_assert_ptr_nonnull(f->data);
    ck_assert_ae_ok(ae_model_save_memory(f->m, f->data, f->size, &f->size));
    snprintf(f->dir, sizeof f->dir, "%s",
             fresh_dir(conv ? "model-conv" : "model-dense"));
    snprintf(f->path, sizeof f->path, "%s/model.aem", f->dir);
    tu_write_file(f->path, f->data, f->size, 0);
}

static void setup_saved_dense(fixture *f) { setup_saved(f, 0); }
static void setup_saved_conv(fixture *f) { setup_saved(f, 1); }

static ae_status call_save_memory(fixture *f)
{
    size_t size = 0;
    ae_status s = ae_model_save_memory(f->m, f->data, f->size, &size);
    if (s == AE_OK)
        ck_assert_uint_eq(size, f->size);
    return s;
}

static void snap_save_memory(fixture *f, bytes *b)
{
    snap_model(b, f->m);
    bytes_put(b, f->data, f->size);
}

/* Replace an older file: the old content must survive a failure. */
static void setup_save_file(fixture *f, int conv)
{
    setup_saved(f, conv);
    tu_write_file(f->path, "old content", 11, 0);
}

static void setup_save_file_dense(fixture *f) { setup_save_file(f, 0); }
static void setup_save_file_conv(fixture *f) { setup_save_file(f, 1); }

static ae_status call_save_file(fixture *f)
{
    return ae_model_save(f->m, f->path);
}

static void snap_files(fixture *f, bytes *b)
{
    snap_folder(b, f->dir, 0);
    snap_file(b, f->path);
}

static void snap_save_file(fixture *f, bytes *b)
{
    snap_model(b, f->m);
    snap_files(f, b);
}

/* ONNX export: into memory (a buffer of the exact size), and to a file
 * replacing an older one, which must survive a failure. */
static void setup_onnx_memory(fixture *f)
{
    setup_saved(f, 1);
    ck_assert_ae_ok(ae_model_export_onnx_memory(f->m, AE_ONNX_MODEL, NULL, 0,
                                                &f->size2));
    f->data2 = malloc(f->size2);
    ck_assert_ptr_nonnull(f->data2);
    memset(f->data2, 0xA5, f->size2);
}

static ae_status call_onnx_memory(fixture *f)
{
    size_t size = 0;
    ae_status s = ae_model_export_onnx_memory(f->m, AE_ONNX_MODEL, f->data2,
                                              f->size2, &size);
    if (s == AE_OK)
        ck_assert_uint_eq(size, f->size2);
    return s;
}

static void snap_onnx_memory(fixture *f, bytes *b)
{
    snap_model(b, f->m);
    bytes_put(b, f->data2, f->size2);
}

static ae_status call_onnx_file(fixture *f)
{
    return ae_model_export_onnx(f->m, f->path, AE_ONNX_ENCODER);
}

static ae_status call_load_memory(fixture *f)
{
    ae_model *m = NOT_SET;
    ae_status s = ae_model_load_memory(&m, f->data, f->size);
    TAKE_HANDLE(f->out_m, m, s);
    return s;
}

static ae_status call_load_file(fixture *f)
{
    ae_model *m = NOT_SET;
    ae_status s = ae_model_load(&m, f->path);
    TAKE_HANDLE(f->out_m, m, s);
    return s;
}

static void snap_loaded(fixture *f, bytes *b)
{
    snap_model(b, f->out_m);
    snap_files(f, b);
}

/* Checkpoints: saving a trained trainer over an old file; loading one
 * into a trainer whose own state (one step further) must survive a
 * failure. */

static void setup_checkpoint(fixture *f, int conv)
{
    setup_trainer(f, conv, 1);
    snprintf(f->dir, sizeof f->dir, "%s",
             fresh_dir(conv == VAE_MODEL ? "ckpt-vae"
                       : conv ? "ckpt-conv" : "ckpt-dense"));
    snprintf(f->path, sizeof f->path, "%s/train.aeckpt", f->dir);
    tu_write_file(f->path, "old content", 11, 0);
}

static void setup_ckpt_save_dense(fixture *f) { setup_checkpoint(f, 0); }

static void setup_ckpt_load(fixture *f, int conv)
{
    setup_checkpoint(f, conv);
    ck_assert_ae_ok(ae_trainer_save_checkpoint(f->t, f->path));
    ck_assert_ae_ok(ae_trainer_step(f->t, f->x, NULL, BATCH, NULL));
}

static void setup_ckpt_load_dense(fixture *f) { setup_ckpt_load(f, 0); }
static void setup_ckpt_load_conv(fixture *f) { setup_ckpt_load(f, 1); }

static ae_status call_ckpt_save(fixture *f)
{
    return ae_trainer_save_checkpoint(f->t, f->path);
}

static ae_status call_ckpt_load(fixture *f)
{
    return ae_trainer_load_checkpoint(f->t, f->path);
}

static void snap_checkpoint(fixture *f, bytes *b)
{
    snap_training(f, b);
    snap_files(f, b);
}

/* PCA: a fit over an earlier one, which must stay in place on failure. */

enum { PCA_ROWS = 12, PCA_DIM = 10, PCA_K = 3 };

static void setup_pca(fixture *f)
{
    ck_assert_ae_ok(ae_pca_create(&f->pca, PCA_K));
    f->nx = PCA_ROWS * PCA_DIM;
    f->x = new_floats(f->nx);
    tu_fill_uniform(f->x, f->nx, -1.0f, 1.0f, 17);
    ck_assert_ae_ok(ae_pca_fit(f->pca, f->x, PCA_ROWS, PCA_DIM));
    tu_fill_uniform(f->x, f->nx, -2.0f, 1.0f, 18);
}

static ae_status call_pca_fit(fixture *f)
{
    return ae_pca_fit(f->pca, f->x, PCA_ROWS, PCA_DIM);
}

/* The same with the randomized solver (its range, test matrix and small
 * SVD), over a previous exact fit that a failure must keep. */
static void setup_pca_randomized(fixture *f)
{
    setup_pca(f);
    ck_assert_ae_ok(ae_pca_set(f->pca, AE_PCA_SOLVER, AE_PCA_RANDOMIZED));
    ck_assert_ae_ok(ae_pca_set(f->pca, AE_PCA_OVERSAMPLES, 2));
}

static void snap_pca(fixture *f, bytes *b)
{
    size_t d = ae_pca_dim(f->pca);
    int k = ae_pca_components(f->pca);
    bytes_put_u64(b, d);
    bytes_put_u64(b, (uint64_t)k);
    float *c = new_floats((size_t)k * d + d);
    double v[PCA_K], r[PCA_K];
    put_status(b, ae_pca_get_components(f->pca, c, (size_t)k * d));
    put_status(b, ae_pca_get_mean(f->pca, c + (size_t)k * d, d));
    bytes_put(b, c, ((size_t)k * d + d) * sizeof(float));
    put_status(b, ae_pca_explained_variance(f->pca, v, PCA_K));
    put_status(b, ae_pca_explained_variance_ratio(f->pca, r, PCA_K));
    bytes_put(b, v, sizeof v);
    bytes_put(b, r, sizeof r);
    free(c);
}

static void setup_pca_dataset(fixture *f)
{
    setup_dataset(f);
    ck_assert_ae_ok(ae_pca_create(&f->pca, PCA_K));
}

/* The randomized solver from a dataset: its integer moments pass. */
static void setup_pca_dataset_randomized(fixture *f)
{
    setup_pca_dataset(f);
    ck_assert_ae_ok(ae_pca_set(f->pca, AE_PCA_SOLVER, AE_PCA_RANDOMIZED));
    ck_assert_ae_ok(ae_pca_set(f->pca, AE_PCA_OVERSAMPLES, 2));
}

static ae_status call_pca_fit_dataset(fixture *f)
{
    return ae_pca_fit_dataset(f->pca, f->ds);
}

static void snap_pca_dataset(fixture *f, bytes *b)
{
    if (ae_pca_dim(f->pca) == 0) {
        bytes_put_str(b, "not fitted");
        return;
    }
    snap_pca(f, b);
}

/* Metrics: one batch added, then another. */

static void setup_metrics(fixture *f, ae_ssim_window window)
{
    ck_assert_ae_ok(ae_metrics_create(&f->mt, 1, SIDE, SIDE, 1.0f));
    ck_assert_ae_ok(ae_metrics_set_ssim_window(f->mt, window));
    f->nx = f->ny = 2 * BATCH * PIXELS;
    f->x = new_floats(f->nx);
    f->y = new_floats(f->ny);
    fill_images(f->x, 2 * BATCH, 3);
    fill_images(f->y, 2 * BATCH, 4);
    ck_assert_ae_ok(ae_metrics_update(f->mt, f->x, f->y, BATCH));
}

static void setup_metrics7(fixture *f) { setup_metrics(f, AE_SSIM_UNIFORM7); }
static void setup_metrics11(fixture *f)
{
    /* The 11 x 11 window needs images of 11 pixels or more a side: a
     * separate metrics handle of 12 x 12 images. */
    ck_assert_ae_ok(ae_metrics_create(&f->mt, 1, 12, 12, 1.0f));
    ck_assert_ae_ok(ae_metrics_set_ssim_window(f->mt, AE_SSIM_GAUSSIAN11));
    f->nx = f->ny = 2 * BATCH * 144;
    f->x = new_floats(f->nx);
    f->y = new_floats(f->ny);
    tu_fill_uniform(f->x, f->nx, 0.0f, 1.0f, 3);
    tu_fill_uniform(f->y, f->ny, 0.0f, 1.0f, 4);
    ck_assert_ae_ok(ae_metrics_update(f->mt, f->x, f->y, BATCH));
}

static ae_status call_metrics_update(fixture *f)
{
    size_t per = f->nx / (2 * BATCH);
    return ae_metrics_update(f->mt, f->x + BATCH * per, f->y + BATCH * per,
                             BATCH);
}

static void snap_metrics(fixture *f, bytes *b)
{
    bytes_put_u64(b, ae_metrics_count(f->mt));
    for (int k = AE_METRIC_MSE; k <= AE_METRIC_SSIM; k++) {
        double v = 0.0;
        put_status(b, ae_metrics_value(f->mt, (ae_metric)k, &v));
        bytes_put(b, &v, sizeof v);
    }
}

/* t-SNE: a run over an earlier one, whose KL must stay on failure. */

enum { TSNE_N = 24, TSNE_D = 5 };

static void setup_tsne(fixture *f)
{
    ck_assert_ae_ok(ae_tsne_create(&f->ts, 2));
    ck_assert_ae_ok(ae_tsne_set(f->ts, AE_TSNE_PERPLEXITY, 4));
    ck_assert_ae_ok(ae_tsne_set(f->ts, AE_TSNE_ITERATIONS, 60));
    ck_assert_ae_ok(ae_tsne_set(f->ts, AE_TSNE_EXAGGERATION_ITERATIONS, 20));
    f->nx = TSNE_N * TSNE_D;
    f->x = new_floats(f->nx);
    f->ny = TSNE_N * 2;
    f->y = new_floats(f->ny);
    tu_fill_uniform(f->x, f->nx, -1.0f, 1.0f, 21);
    ck_assert_ae_ok(ae_tsne_run(f->ts, f->x, TSNE_N, TSNE_D, f->y));
    tu_fill_uniform(f->x, f->nx, -1.0f, 1.0f, 22);
    memset(f->y, 0xA5, f->ny * sizeof(float));
}

static ae_status call_tsne(fixture *f)
{
    return ae_tsne_run(f->ts, f->x, TSNE_N, TSNE_D, f->y);
}

static void snap_tsne(fixture *f, bytes *b)
{
    double kl = -1.0;
    put_status(b, ae_tsne_kl_divergence(f->ts, &kl));
    bytes_put(b, &kl, sizeof kl);
    snap_floats(b, f->y, f->ny);
}

/* PNG grids: replace an older file. */

static void setup_png(fixture *f)
{
    snprintf(f->dir, sizeof f->dir, "%s", fresh_dir("grid"));
    snprintf(f->path, sizeof f->path, "%s/grid.png", f->dir);
    tu_write_file(f->path, "old picture", 11, 0);
    f->nx = 5 * 3 * PIXELS;
    f->x = new_floats(f->nx);
    fill_images(f->x, 15, 8);
}

static ae_status call_png_gray(fixture *f)
{
    return ae_image_grid_write_png(f->path, f->x, 5, 3, 1, SIDE, SIDE, 0.0f,
                                   1.0f, 2);
}

static ae_status call_png_rgb_stretched(fixture *f)
{
    return ae_image_grid_write_png(f->path, f->x, 5, 2, 3, SIDE, SIDE, 1.0f,
                                   0.0f, 1);
}

static ae_status call_png_image(fixture *f)
{
    return ae_image_write_png(f->path, f->x, 3, SIDE, SIDE, 0.0f, 1.0f);
}

/* Handle creation. */

static ae_status call_create_all(fixture *f)
{
    ae_status s = AE_OK;
    if (f->opt == NULL) {
        ae_optimizer *o = NOT_SET;
        s = ae_optimizer_create_sgd(&o, 0.1f, 0.9f);
        TAKE_HANDLE(f->opt, o, s);
        if (s != AE_OK)
            return s;
    }
    if (f->t == NULL) {
        ae_trainer *t = NOT_SET;
        s = ae_trainer_create(&t, f->m, f->opt);
        TAKE_HANDLE(f->t, t, s);
        if (s != AE_OK)
            return s;
    }
    if (f->pca == NULL) {
        ae_pca *p = NOT_SET;
        s = ae_pca_create(&p, 2);
        TAKE_HANDLE(f->pca, p, s);
        if (s != AE_OK)
            return s;
    }
    if (f->mt == NULL) {
        ae_metrics *mt = NOT_SET;
        s = ae_metrics_create(&mt, 3, 9, 9, 2.0f);
        TAKE_HANDLE(f->mt, mt, s);
        if (s != AE_OK)
            return s;
    }
    if (f->ts == NULL) {
        ae_tsne *ts = NOT_SET;
        s = ae_tsne_create(&ts, 3);
        TAKE_HANDLE(f->ts, ts, s);
    }
    return s;
}

static void setup_create_all(fixture *f)
{
    must_build_model(f, 0);
}

static void snap_created(fixture *f, bytes *b)
{
    bytes_put_u64(b, (f->opt != NULL) | (f->t != NULL) << 1 |
                   (f->pca != NULL) << 2 | (f->mt != NULL) << 3 |
                   (f->ts != NULL) << 4);
}

/* Training step by step: a training pass on a model that never ran (its
 * input copy and buffers), and a second backward pass, the first that
 * accumulates (its room for the gradients so far). */
static ae_status call_forward_train(fixture *f)
{
    const float *y = NULL;
    ae_status s = ae_model_forward_train(f->m, f->x, BATCH, &y, NULL);
    if (s == AE_OK)
        memcpy(f->y, y, f->ny * sizeof(float));
    return s;
}

static void setup_backward_again(fixture *f)
{
    setup_cold(f, f->conv);
    ck_assert_ae_ok(call_forward_train(f));
    ck_assert_ae_ok(ae_model_backward(f->m, f->x, NULL, 0));
}

static void setup_backward_again_dense(fixture *f) { setup_backward_again(f); }

static void setup_backward_again_conv(fixture *f)
{
    f->conv = 1;
    setup_backward_again(f);
}

static ae_status call_backward(fixture *f)
{
    return ae_model_backward(f->m, f->x, NULL, 0);
}

static void snap_gradients(fixture *f, bytes *b)
{
    size_t n = ae_model_param_count(f->m);
    float *g = new_floats(n);
    ck_assert_ae_ok(ae_model_get_gradients(f->m, g, n));
    snap_floats(b, g, n);
    free(g);
    snap_model(b, f->m);
}

/* NumPy arrays: a file written (the old content stays on failure) and
 * read back from memory and from the file. */
static void setup_npy(fixture *f)
{
    snprintf(f->dir, sizeof f->dir, "%s", fresh_dir("npy"));
    snprintf(f->path, sizeof f->path, "%s/codes.npy", f->dir);
    f->nx = 5 * PIXELS;
    f->x = new_floats(f->nx);
    fill_images(f->x, 5, 9);
    size_t shape[2] = {5, PIXELS};
    ck_assert_ae_ok(ae_npy_save_memory(AE_NPY_F32, f->x, shape, 2, NULL, 0,
                                       &f->size));
    f->data = malloc(f->size);
    ck_assert_ptr_nonnull(f->data);
    ck_assert_ae_ok(ae_npy_save_memory(AE_NPY_F32, f->x, shape, 2, f->data,
                                       f->size, &f->size));
    tu_write_file(f->path, f->data, f->size, 0);
}

static void setup_npy_old_file(fixture *f)
{
    setup_npy(f);
    tu_write_file(f->path, "old array", 9, 0);
}

static ae_status call_npy_save(fixture *f)
{
    size_t shape[2] = {5, PIXELS};
    return ae_npy_save(f->path, AE_NPY_F32, f->x, shape, 2);
}

static ae_npy *npy_out;

static ae_status take_npy(ae_status s, ae_npy *a)
{
    ck_assert_msg(s == AE_OK ? a != NULL : a == NULL,
                  "the output array is not NULL after a failure");
    ae_npy_free(npy_out);
    npy_out = a;
    return s;
}

static ae_status call_npy_load_memory(fixture *f)
{
    ae_npy *a = NOT_SET;
    ae_status s = ae_npy_load_memory(&a, f->data, f->size);
    return take_npy(s, a);
}

static ae_status call_npy_load_file(fixture *f)
{
    ae_npy *a = NOT_SET;
    ae_status s = ae_npy_load(&a, f->path);
    return take_npy(s, a);
}

/* The loaded array's shape and elements (a marker for none), and the
 * folder, so that a failed load shows nothing loaded and nothing
 * written. */
static void snap_npy(fixture *f, bytes *b)
{
    bytes_put_u64(b, npy_out != NULL);
    if (npy_out != NULL) {
        bytes_put_u64(b, (uint64_t)ae_npy_ndim(npy_out));
        bytes_put(b, ae_npy_data(npy_out), 4 * ae_npy_count(npy_out));
        ae_npy_free(npy_out);
        npy_out = NULL;
    }
    snap_files(f, b);
}

/* The norm model (batch norm and dropout): the same calls, and the layers'
 * state (running statistics, dropout's counter) in the snapshots. */
static void snap_state(const ae_model *m, bytes *b)
{
    bytes_put_u64(b, m != NULL);
    if (m == NULL)
        return;
    size_t n = ae__model_state_size(m);
    uint8_t *st = malloc(n + 1);
    ck_assert_ptr_nonnull(st);
    ae__model_state_save(m, st);
    bytes_put(b, st, n);
    free(st);
}

static void setup_norm_flag(fixture *f) { f->conv = 2; }
static void snap_m_norm(fixture *f, bytes *b)
{
    snap_state(f->m, b);
    snap_m(f, b);
}
static void setup_step_norm(fixture *f) { setup_trainer(f, 2, 0); }
static void setup_warm_norm(fixture *f) { setup_trainer(f, 2, 1); }
static void snap_training_norm(fixture *f, bytes *b)
{
    snap_state(f->m, b); /* before the probe's step moves it */
    snap_training(f, b);
}
static void setup_cold_norm(fixture *f) { setup_cold(f, 2); }
static void snap_forward_norm(fixture *f, bytes *b)
{
    snap_state(f->m, b);
    snap_forward(f, b);
}
static void setup_saved_norm(fixture *f) { setup_saved(f, 2); }
static void snap_loaded_norm(fixture *f, bytes *b)
{
    snap_state(f->out_m, b);
    snap_loaded(f, b);
}
static void setup_ckpt_load_norm(fixture *f) { setup_ckpt_load(f, 2); }
static void snap_checkpoint_norm(fixture *f, bytes *b)
{
    snap_state(f->m, b);
    snap_checkpoint(f, b);
}

/* Variational autoencoders: the sampling layer's eps buffer, the trainer's
 * eps generator (a failed step must not advance it: the retry's result
 * shows), the terms, generation. */

static void setup_vae_flag(fixture *f) { f->conv = VAE_MODEL; }
static void setup_step_vae(fixture *f) { setup_trainer(f, VAE_MODEL, 0); }
static void setup_warm_vae(fixture *f) { setup_trainer(f, VAE_MODEL, 1); }
static void setup_cold_vae(fixture *f) { setup_cold(f, VAE_MODEL); }
static void setup_ckpt_save_vae(fixture *f)
{
    setup_checkpoint(f, VAE_MODEL);
}
static void setup_ckpt_load_vae(fixture *f) { setup_ckpt_load(f, VAE_MODEL); }

static void setup_fit_vae(fixture *f)
{
    setup_fit(f);
    ae_trainer_free(f->t);
    ae_model_free(f->m);
    f->t = NULL;
    f->m = NULL;
    must_build_model(f, VAE_MODEL);
    ck_assert_ae_ok(ae_trainer_create(&f->t, f->m, f->opt));
    ck_assert_ae_ok(ae_trainer_set(f->t, AE_TRAIN_LOSS, AE_LOSS_BCE));
    ck_assert_ae_ok(ae_trainer_set(f->t, AE_TRAIN_SUM_PER_IMAGE, 1));
    ck_assert_ae_ok(ae_trainer_set(f->t, AE_TRAIN_BATCH_SIZE, 2));
}

static ae_status call_generate(fixture *f)
{
    return ae_model_generate(f->m, 7, BATCH, f->y);
}

static ae_status call_evaluate_terms(fixture *f)
{
    ae_loss_terms terms = {-1.0, -1.0, -1.0, -1.0};
    ae_status s = ae_trainer_evaluate_terms(f->t, f->ds, &terms);
    if (s == AE_OK)
        f->loss = (float)terms.kl;
    else
        ck_assert(terms.loss == -1.0 && terms.kl == -1.0); /* not written */
    return s;
}

static const walk_case cases[] = {
    {"model_build_norm", setup_norm_flag, build_model, snap_m_norm, 1},
    {"first_step_norm", setup_step_norm, call_step, snap_training_norm, 0},
    {"warm_step_norm", setup_warm_norm, call_step, snap_training_norm, 0},
    {"forward_train_cold_norm", setup_cold_norm, call_forward_train,
     snap_forward_norm, 0},
    {"reconstruct_cold_norm", setup_cold_norm, call_reconstruct,
     snap_forward_norm, 0},
    {"save_memory_norm", setup_saved_norm, call_save_memory,
     snap_save_memory, 0},
    {"load_memory_norm", setup_saved_norm, call_load_memory,
     snap_loaded_norm, 0},
    {"checkpoint_load_norm", setup_ckpt_load_norm, call_ckpt_load,
     snap_checkpoint_norm, 0},
    {"model_build_vae", setup_vae_flag, build_model, snap_m, 1},
    {"first_step_vae", setup_step_vae, call_step, snap_training, 0},
    {"warm_step_vae", setup_warm_vae, call_step, snap_training, 0},
    {"trainer_fit_vae", setup_fit_vae, call_fit, snap_training, 0},
    {"evaluate_terms_vae", setup_fit_vae, call_evaluate_terms, snap_training,
     0},
    {"generate_vae", setup_cold_vae, call_generate, snap_forward, 0},
    {"forward_train_cold_vae", setup_cold_vae, call_forward_train,
     snap_forward, 0},
    {"checkpoint_save_vae", setup_ckpt_save_vae, call_ckpt_save,
     snap_checkpoint, 0},
    {"checkpoint_load_vae", setup_ckpt_load_vae, call_ckpt_load,
     snap_checkpoint, 0},
    {"idx_memory_raw", setup_idx_raw, call_idx_memory, snap_out_ds, 0},
    {"idx_memory_gzip", setup_idx_gzip, call_idx_memory, snap_out_ds, 0},
    {"idx_files_gzip", setup_idx_files, call_idx_files, snap_out_ds, 0},
    {"idx_map_raw", setup_idx_map_files, call_idx_map, snap_out_ds, 0},
    {"png_folder", setup_png_folder, call_png_folder, snap_out_ds, 0},
    {"dataset_split", setup_dataset, call_split, snap_split, 0},
    {"dataset_subset", setup_dataset, call_subset, snap_split, 0},
    {"batches_create", setup_dataset, call_batches, snap_batches, 0},
    {"model_build_dense", setup_nothing, build_model, snap_m, 1},
    {"model_build_conv", setup_conv_flag, build_model, snap_m, 1},
    {"create_handles", setup_create_all, call_create_all, snap_created, 1},
    {"first_step_dense", setup_step_dense, call_step, snap_training, 0},
    {"first_step_conv", setup_step_conv, call_step, snap_training, 0},
    {"warm_step_dense", setup_warm_dense, call_step, snap_training, 0},
    {"warm_step_conv", setup_warm_conv, call_step, snap_training, 0},
    {"grown_step_conv", setup_warm_conv, call_step_grow, snap_training, 0},
    {"trainer_fit", setup_fit, call_fit, snap_training, 0},
    {"trainer_evaluate", setup_fit, call_evaluate, snap_training, 0},
    {"trainer_fit_controls", setup_fit_controls, call_fit, snap_training, 0},
    {"reconstruct_cold_dense", setup_cold_dense, call_reconstruct,
     snap_forward, 0},
    {"encode_cold_conv", setup_cold_conv, call_encode, snap_forward, 0},
    {"mean_activation", setup_mean_activation, call_mean_activation,
     snap_mean_activation, 0},
    {"save_memory_dense", setup_saved_dense, call_save_memory,
     snap_save_memory, 0},
    {"save_memory_conv", setup_saved_conv, call_save_memory,
     snap_save_memory, 0},
    {"save_file_dense", setup_save_file_dense, call_save_file,
     snap_save_file, 0},
    {"save_file_conv", setup_save_file_conv, call_save_file, snap_save_file, 0},
    {"onnx_export_memory_conv", setup_onnx_memory, call_onnx_memory,
     snap_onnx_memory, 0},
    {"onnx_export_file_conv", setup_save_file_conv, call_onnx_file,
     snap_save_file, 0},
    {"load_memory_dense", setup_saved_dense, call_load_memory, snap_loaded, 0},
    {"load_memory_conv", setup_saved_conv, call_load_memory, snap_loaded, 0},
    {"load_file_dense", setup_saved_dense, call_load_file, snap_loaded, 0},
    {"load_file_conv", setup_saved_conv, call_load_file, snap_loaded, 0},
    {"checkpoint_save_dense", setup_ckpt_save_dense, call_ckpt_save,
     snap_checkpoint, 0},
    {"checkpoint_load_dense", setup_ckpt_load_dense, call_ckpt_load,
     snap_checkpoint, 0},
    {"checkpoint_load_conv", setup_ckpt_load_conv, call_ckpt_load,
     snap_checkpoint, 0},
    {"checkpoint_save_controls", setup_ckpt_controls, call_ckpt_save,
     snap_checkpoint, 0},
    {"checkpoint_load_controls", setup_ckpt_controls, call_ckpt_load,
     snap_checkpoint, 0},
    {"pca_fit", setup_pca, call_pca_fit, snap_pca, 0},
    {"pca_fit_randomized", setup_pca_randomized, call_pca_fit, snap_pca, 0},
    {"pca_fit_dataset", setup_pca_dataset, call_pca_fit_dataset,
     snap_pca_dataset, 0},
    {"pca_fit_dataset_randomized", setup_pca_dataset_randomized,
     call_pca_fit_dataset, snap_pca_dataset, 0},
    {"metrics_update_uniform7", setup_metrics7, call_metrics_update,
     snap_metrics, 0},
    {"metrics_update_gaussian11", setup_metrics11, call_metrics_update,
     snap_metrics, 0},
    {"tsne_run", setup_tsne, call_tsne, snap_tsne, 0},
    {"png_grid_gray", setup_png, call_png_gray, snap_files, 0},
    {"png_grid_rgb_stretched", setup_png, call_png_rgb_stretched,
     snap_files, 0},
    {"png_image_rgb", setup_png, call_png_image, snap_files, 0},
    {"forward_train_cold_dense", setup_cold_dense, call_forward_train,
     snap_forward, 0},
    {"forward_train_cold_conv", setup_cold_conv, call_forward_train,
     snap_forward, 0},
    {"backward_accumulate_dense", setup_backward_again_dense, call_backward,
     snap_gradients, 0},
    {"backward_accumulate_conv", setup_backward_again_conv, call_backward,
     snap_gradients, 0},
    {"npy_save", setup_npy_old_file, call_npy_save, snap_files, 0},
    {"npy_load_memory", setup_npy, call_npy_load_memory, snap_npy, 0},
    {"npy_load_file", setup_npy, call_npy_load_file, snap_npy, 0},
};
enum { N_CASES = sizeof cases / sizeof cases[0] };

/* ---- the walk ------------------------------------------------------------- */

/* An error the library is known to report, so that the test sees whether a
 * failing call wrote its own message. */
static void provoke_sentinel_error(char *msg, size_t size)
{
    ck_assert_int_eq(ae_set_allocator(tu_walk_alloc, NULL, NULL),
                     AE_ERR_INVALID_ARGUMENT);
    snprintf(msg, size, "%s", ae_last_error());
    ck_assert_msg(msg[0] != '\0', "sentinel error has no message");
}

static int mentions_memory(const char *msg)
{
    return strstr(msg, "alloc") != NULL || strstr(msg, "memory") != NULL;
}

/* Walk one case; returns the number of allocation points. */
static long walk(const walk_case *c, int sticky)
{
    /* The reference: the call never failing. */
    long base = tu_walk_live;
    fixture f = {0};
    bytes want = {0}, before = {0}, after = {0};
    tu_walk_fail_at = 0;
    c->setup(&f);
    ck_assert_ae_ok(c->call(&f));
    snap_probe = 1;
    c->snap(&f, &want);
    snap_probe = 0;
    fixture_free(&f);
    ck_assert_msg(tu_walk_live == base, "%s: %ld blocks leaked without failure",
                  c->name, (long)(tu_walk_live - base));

    long n;
    for (n = 1;; n++) {
        ck_assert_msg(n < 100000, "%s: the walk does not end", c->name);
        tu_walk_fail_at = 0;
        c->setup(&f);
        c->snap(&f, &before);
        char sentinel[512];
        provoke_sentinel_error(sentinel, sizeof sentinel);

        tu_walk_calls = 0;
        tu_walk_sticky = sticky;
        tu_walk_fail_at = n;
        ae_status s = c->call(&f);
        long made = tu_walk_calls;
        tu_walk_fail_at = 0;

        if (s == AE_OK) {
            /* Allocation n was never reached: every point is covered. */
            ck_assert_msg(made < n, "%s: allocation %ld failed but the call "
                          "returned AE_OK", c->name, n);
            snap_probe = 1;
            c->snap(&f, &after);
            snap_probe = 0;
            ck_assert_msg(bytes_same(&after, &want),
                          "%s: result differs from the reference", c->name);
            fixture_free(&f);
            ck_assert_msg(tu_walk_live == base, "%s: %ld blocks leaked",
                          c->name, (long)(tu_walk_live - base));
            break;
        }
        const char *msg = ae_last_error();
        ck_assert_msg(s == AE_ERR_NO_MEMORY,
                      "%s, allocation %ld failing (%s): returned %s: %s",
                      c->name, n, sticky ? "sticky" : "once",
                      ae_status_name(s), msg);
        ck_assert_msg(made >= n, "%s: failed with only %ld allocations",
                      c->name, made);
        ck_assert_msg(msg[0] != '\0' && strcmp(msg, sentinel) != 0,
                      "%s, allocation %ld: no new error message (\"%s\")",
                      c->name, n, msg);
        ck_assert_msg(mentions_memory(msg),
                      "%s, allocation %ld: message does not say what could "
                      "not be allocated: \"%s\"", c->name, n, msg);

        /* Nothing changed... */
        after.n = 0;
        c->snap(&f, &after);
        ck_assert_msg(c->sequence || bytes_same(&after, &before),
                      "%s, allocation %ld failing (%s): state changed",
                      c->name, n, sticky ? "sticky" : "once");
        /* ... and the handles work: a retry gives the reference result. */
        ck_assert_msg(c->call(&f) == AE_OK, "%s, allocation %ld: retry "
                      "failed: %s", c->name, n, ae_last_error());
        after.n = 0;
        snap_probe = 1;
        c->snap(&f, &after);
        snap_probe = 0;
        ck_assert_msg(bytes_same(&after, &want),
                      "%s, allocation %ld failing (%s): retry differs from "
                      "the reference", c->name, n, sticky ? "sticky" : "once");
        fixture_free(&f);
        ck_assert_msg(tu_walk_live == base, "%s, allocation %ld failing: %ld "
                      "blocks leaked", c->name, n,
                      (long)(tu_walk_live - base));
        before.n = after.n = 0;
    }
    bytes_free(&want);
    bytes_free(&before);
    bytes_free(&after);
    return n - 1;
}

static void setup_allocator(void)
{
    ck_assert_ae_ok(ae_set_allocator(tu_walk_alloc, tu_walk_free, NULL));
}

/* Every case, failing each allocation once (sticky 0) or from then on
 * (sticky 1); prints the allocation points each case reached. */
static void walk_all(int sticky)
{
    const char *label = sticky ? "sticky" : "once  ";
    setup_allocator();
    long total = 0;
    for (int i = 0; i < N_CASES; i++) {
        long points = walk(&cases[i], sticky);
        printf("alloc_walk %s %-28s %4ld allocation points\n", label,
               cases[i].name, points);
        fflush(stdout);
        total += points;
    }
    printf("alloc_walk %s %-28s %4ld allocation points\n", label, "(total)",
           total);
}

START_TEST(walk_once)
{
    walk_all(0);
}
END_TEST

START_TEST(walk_sticky)
{
    walk_all(1);
}
END_TEST

/* A warm training step allocates nothing at all: steps in a loop cannot run
 * out of memory half-way through an epoch. */
START_TEST(warm_step_allocates_nothing)
{
    setup_allocator();
    for (int conv = 0; conv < 2; conv++) {
        fixture f = {0};
        setup_trainer(&f, conv, 1);
        tu_walk_calls = 0;
        ck_assert_ae_ok(call_step(&f));
        ck_assert_ae_ok(call_step(&f));
        ck_assert_int_eq(tu_walk_calls, 0);
        fixture_free(&f);
    }
}
END_TEST

static Suite *alloc_walk_suite(void)
{
    Suite *s = suite_create("alloc_walk");
    TCase *tc = tcase_create("walk");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, walk_once);
    tcase_add_test(tc, walk_sticky);
    tcase_add_test(tc, warm_step_allocates_nothing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(alloc_walk_suite());
}

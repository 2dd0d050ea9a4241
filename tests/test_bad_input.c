/* test_bad_input.c - every public function of autoenc.h, top to bottom, fed
 * bad input: NULL handles and pointers, zero and negative sizes, mismatched
 * shapes, NaN and infinity in inputs and weights, absurd hyperparameters.
 *
 * The table below has one row per bad call: a name, the call (a small
 * function over a shared "world" of valid handles and buffers) and the
 * status it must return.  For every row the test checks that
 *   - the status is the expected one,
 *   - ae_last_error() is non-empty and is a new message (a known, different
 *     error is provoked just before the call),
 *   - nothing changed: a snapshot of the whole world - every dataset, model
 *     (layers, activations, weights), optimizer and trainer setting, metrics
 *     accumulation, PCA fit, t-SNE setting, the output buffers (filled with a
 *     sentinel pattern), the files of the test folder and the thread count -
 *     is the same after the call as before,
 *   - a handle output (`ae_x **out`) was set to NULL, and no allocation made
 *     by the call is still live (a counting allocator is installed).
 * Functions that return no status (counts, getters, free calls) are checked
 * separately: NULL handles give 0 or the documented default and no error.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "snapshot.h"
#include "testutil.h"

/* ---- counting allocator ------------------------------------------------- */

static long alloc_live;

static void *count_alloc(void *opaque, size_t size)
{
    (void)opaque;
    void *p = malloc(size);
    if (p != NULL)
        alloc_live++;
    return p;
}

static void count_free(void *opaque, void *p)
{
    (void)opaque;
    if (p != NULL) {
        alloc_live--;
        free(p);
    }
}

/* ---- the world ------------------------------------------------------------- */

enum { N = 6, SIDE = 8, PIXELS = SIDE * SIDE, BIG = 65536 };
enum { PCA_ROWS = 12, PCA_DIM = 10, PCA_K = 3 };

typedef struct world {
    /* datasets: labelled 6 x 8 x 8, unlabelled, 5 x 4 x 4, PNG folder */
    ae_dataset *ds, *ds_nl, *ds4, *dspng;
    ae_batches *it, *it_nl;
    /* models: complete dense 64-16-6-16-64, one being built (conv + pool
     * encoder), an empty one */
    ae_model *m, *mb, *me;
    ae_layer *dense0, *pool;
    ae_optimizer *adam, *sgd;
    /* trainers: on m; on m with salt and pepper at level 2; on the
     * incomplete mb */
    ae_trainer *t, *t_sp, *t_inc;
    ae_metrics *mt, *mt_empty, *mt4;
    ae_pca *pca, *pca_u, *pca_big;
    ae_tsne *ts;
    /* batch norm (dense, so one image is one value per channel) and
     * dropout: a complete model and its trainer */
    ae_model *mbn;
    ae_trainer *t_bn;

    /* inputs: valid values in [0, 1], the same with a NaN (the 4th value),
     * with +inf (the 6th), with a NaN as the last value of the 2nd image */
    float *x, *xnan, *xinf, *xlate;
    /* outputs, filled with a sentinel pattern before every row */
    float *out;
    uint8_t *out8;
    double out_d[8];
    size_t out_sz;
    int out_i[3];
    size_t idx[4];

    /* handle outputs, NOT_SET before every row */
    ae_dataset *o_ds, *o_ds2;
    ae_batches *o_it;
    ae_model *o_m;
    ae_layer *o_layer;
    ae_optimizer *o_opt;
    ae_trainer *o_t;
    ae_metrics *o_mt;
    ae_pca *o_pca;
    ae_tsne *o_ts;
    ae_npy *o_npy;
    const char *o_name;

    /* serialized data */
    uint8_t *idx_images, *idx_labels5, *model_bytes;
    size_t idx_images_size, idx_labels5_size, model_size;

    char dir[256]; /* the test's files */
    char path[600], missing[600], labels5[600], png_empty[600],
        png_noclassfiles[600], png_corrupt[600], png_mixed[600],
        model_path[600], grid[600], ckpt_path[600];
} world;

static world W;

static char not_a_handle;
#define NOT_SET ((void *)&not_a_handle)

static float *floats(size_t n)
{
    float *x = calloc(n, sizeof(float));
    ck_assert_ptr_nonnull(x);
    return x;
}

static void write_png(const char *path, int h, int w)
{
    float tile[64 * 64];
    tu_fill_uniform(tile, (size_t)h * w, 0.0f, 1.0f, 5);
    ck_assert_ae_ok(ae_image_grid_write_png(path, tile, 1, 1, 1, h, w, 0.0f,
                                            1.0f, 1));
}

static void make_dir(char *dst, const char *name)
{
    snprintf(dst, 600, "%s/%s", W.dir, name);
    ck_assert_int_eq(mkdir(dst, 0700), 0);
}

static void make_files(void)
{
    snprintf(W.dir, sizeof W.dir, "%s", tu_tmp_path("bad_input"));
    ck_assert_int_eq(mkdir(W.dir, 0700), 0);
    snprintf(W.missing, sizeof W.missing, "%s/no/such/file", W.dir);

    snprintf(W.path, sizeof W.path, "%s/images.idx", W.dir);
    tu_write_file(W.path, W.idx_images, W.idx_images_size, 0);
    snprintf(W.labels5, sizeof W.labels5, "%s/labels5.idx", W.dir);
    tu_write_file(W.labels5, W.idx_labels5, W.idx_labels5_size, 0);
    snprintf(W.model_path, sizeof W.model_path, "%s/model.aem", W.dir);
    tu_write_file(W.model_path, W.model_bytes, W.model_size, 0);
    snprintf(W.ckpt_path, sizeof W.ckpt_path, "%s/train.aeckpt", W.dir);
    ck_assert_ae_ok(ae_trainer_save_checkpoint(W.t, W.ckpt_path));
    snprintf(W.grid, sizeof W.grid, "%s/grid.png", W.dir);
    tu_write_file(W.grid, "old picture", 11, 0);

    char p[700];
    /* good PNG folder: classes a, b */
    char good[600];
    make_dir(good, "png_good");
    snprintf(p, sizeof p, "%s/a", good);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/a/1.png", good);
    write_png(p, 6, 5);
    snprintf(p, sizeof p, "%s/b", good);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/b/1.png", good);
    write_png(p, 6, 5);
    ck_assert_ae_ok(ae_dataset_load_png_folder(&W.dspng, good));
    /* no class folders at all */
    make_dir(W.png_empty, "png_empty");
    /* a class folder without .png files */
    make_dir(W.png_noclassfiles, "png_noclassfiles");
    snprintf(p, sizeof p, "%s/a", W.png_noclassfiles);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/a/README", W.png_noclassfiles);
    tu_write_file(p, "hello", 5, 0);
    /* a .png that is not one */
    make_dir(W.png_corrupt, "png_corrupt");
    snprintf(p, sizeof p, "%s/a", W.png_corrupt);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/a/1.png", W.png_corrupt);
    tu_write_file(p, "\x89PNG\r\n\x1a\n garbage", 17, 0);
    /* two sizes */
    make_dir(W.png_mixed, "png_mixed");
    snprintf(p, sizeof p, "%s/a", W.png_mixed);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/a/1.png", W.png_mixed);
    write_png(p, 6, 5);
    snprintf(p, sizeof p, "%s/a/2.png", W.png_mixed);
    write_png(p, 5, 6);
}

static void build_world(void)
{
    memset(&W, 0, sizeof W);
    W.idx_images = tu_idx_images(N, SIDE, SIDE, NULL, &W.idx_images_size);
    W.idx_labels5 = tu_idx_labels(N - 1, NULL, &W.idx_labels5_size);
    size_t nl, n4, nl4;
    uint8_t *labels = tu_idx_labels(N, NULL, &nl);
    uint8_t *im4 = tu_idx_images(5, 4, 4, NULL, &n4);
    uint8_t *lb4 = tu_idx_labels(5, NULL, &nl4);
    ck_assert_ae_ok(ae_dataset_load_idx_memory(&W.ds, W.idx_images,
                                               W.idx_images_size, labels, nl));
    ck_assert_ae_ok(ae_dataset_load_idx_memory(&W.ds_nl, W.idx_images,
                                               W.idx_images_size, NULL, 0));
    ck_assert_ae_ok(ae_dataset_load_idx_memory(&W.ds4, im4, n4, lb4, nl4));
    free(labels);
    free(im4);
    free(lb4);
    ck_assert_ae_ok(ae_batches_create(&W.it, W.ds, 4, 1, 1));
    ck_assert_ae_ok(ae_batches_create(&W.it_nl, W.ds_nl, 4, 1, 1));

    ck_assert_ae_ok(ae_model_create(&W.m, 1, SIDE, SIDE, 7));
    ck_assert_ae_ok(ae_model_add_dense(W.m, AE_ENCODER, 16, AE_ACT_RELU));
    ck_assert_ae_ok(ae_model_add_dense(W.m, AE_ENCODER, 6, AE_ACT_TANH));
    ck_assert_ae_ok(ae_model_add_dense(W.m, AE_DECODER, 16, AE_ACT_RELU));
    ck_assert_ae_ok(ae_model_add_dense(W.m, AE_DECODER, PIXELS,
                                       AE_ACT_SIGMOID));
    ck_assert_ae_ok(ae_model_layer(W.m, 0, &W.dense0));
    ck_assert_ae_ok(ae_model_create(&W.mb, 1, SIDE, SIDE, 8));
    ck_assert_ae_ok(ae_model_add_conv2d(W.mb, AE_ENCODER, 4, 3, 1, -1,
                                        AE_ACT_RELU));
    ck_assert_ae_ok(ae_model_add_maxpool2d(W.mb, AE_ENCODER, 2, 2));
    ck_assert_ae_ok(ae_model_layer(W.mb, 1, &W.pool));
    ck_assert_ae_ok(ae_model_create(&W.me, 1, SIDE, SIDE, 9));
    ck_assert_ae_ok(ae_model_save_memory(W.m, NULL, 0, &W.model_size));
    W.model_bytes = malloc(W.model_size);
    ck_assert_ae_ok(ae_model_save_memory(W.m, W.model_bytes, W.model_size,
                                         &W.model_size));

    ck_assert_ae_ok(ae_optimizer_create_adam(&W.adam, 1e-3f));
    ck_assert_ae_ok(ae_optimizer_create_sgd(&W.sgd, 0.1f, 0.5f));
    ck_assert_ae_ok(ae_trainer_create(&W.t, W.m, W.adam));
    ck_assert_ae_ok(ae_trainer_set(W.t, AE_TRAIN_BATCH_SIZE, 4));
    ck_assert_ae_ok(ae_trainer_create(&W.t_sp, W.m, W.sgd));
    ck_assert_ae_ok(ae_trainer_set(W.t_sp, AE_TRAIN_NOISE,
                                   AE_NOISE_SALT_PEPPER));
    ck_assert_ae_ok(ae_trainer_set(W.t_sp, AE_TRAIN_NOISE_LEVEL, 2.0));
    ck_assert_ae_ok(ae_trainer_set(W.t_sp, AE_TRAIN_BATCH_SIZE, 2));
    ck_assert_ae_ok(ae_trainer_create(&W.t_inc, W.mb, W.sgd));
    ck_assert_ae_ok(ae_model_create(&W.mbn, 1, SIDE, SIDE, 10));
    ck_assert_ae_ok(ae_model_add_dense(W.mbn, AE_ENCODER, 6, AE_ACT_NONE));
    ck_assert_ae_ok(ae_model_add_batchnorm(W.mbn, AE_ENCODER, 0.1f, 1e-5f,
                                           AE_ACT_RELU));
    ck_assert_ae_ok(ae_model_add_dropout(W.mbn, AE_ENCODER, 0.5f));
    ck_assert_ae_ok(ae_model_add_dense(W.mbn, AE_DECODER, PIXELS,
                                       AE_ACT_SIGMOID));
    ck_assert_ae_ok(ae_trainer_create(&W.t_bn, W.mbn, W.sgd));

    W.x = floats(BIG);
    W.xnan = floats(BIG);
    W.xinf = floats(BIG);
    W.out = floats(BIG);
    W.out8 = malloc(BIG);
    tu_fill_uniform(W.x, BIG, 0.0f, 1.0f, 3);
    memcpy(W.xnan, W.x, BIG * sizeof(float));
    memcpy(W.xinf, W.x, BIG * sizeof(float));
    W.xnan[3] = NAN;
    W.xinf[5] = INFINITY;
    W.xlate = floats(BIG);
    memcpy(W.xlate, W.x, BIG * sizeof(float));
    W.xlate[2 * PIXELS - 1] = NAN;

    ck_assert_ae_ok(ae_metrics_create(&W.mt, 1, SIDE, SIDE, 1.0f));
    ck_assert_ae_ok(ae_metrics_update(W.mt, W.x, W.x + PIXELS, 2));
    ck_assert_ae_ok(ae_metrics_create(&W.mt_empty, 1, SIDE, SIDE, 1.0f));
    ck_assert_ae_ok(ae_metrics_create(&W.mt4, 1, 4, 4, 1.0f));
    ck_assert_ae_ok(ae_metrics_update(W.mt4, W.x, W.x + 16, 2));

    ck_assert_ae_ok(ae_pca_create(&W.pca, PCA_K));
    ck_assert_ae_ok(ae_pca_fit(W.pca, W.x, PCA_ROWS, PCA_DIM));
    ck_assert_ae_ok(ae_pca_create(&W.pca_u, PCA_K));
    ck_assert_ae_ok(ae_pca_create(&W.pca_big, 100));
    ck_assert_ae_ok(ae_tsne_create(&W.ts, 2));

    make_files();
}

static void free_world(void)
{
    ae_batches_free(W.it);
    ae_batches_free(W.it_nl);
    ae_dataset_free(W.ds);
    ae_dataset_free(W.ds_nl);
    ae_dataset_free(W.ds4);
    ae_dataset_free(W.dspng);
    ae_trainer_free(W.t);
    ae_trainer_free(W.t_sp);
    ae_trainer_free(W.t_inc);
    ae_trainer_free(W.t_bn);
    ae_model_free(W.mbn);
    ae_optimizer_free(W.adam);
    ae_optimizer_free(W.sgd);
    ae_model_free(W.m);
    ae_model_free(W.mb);
    ae_model_free(W.me);
    ae_metrics_free(W.mt);
    ae_metrics_free(W.mt_empty);
    ae_metrics_free(W.mt4);
    ae_pca_free(W.pca);
    ae_pca_free(W.pca_u);
    ae_pca_free(W.pca_big);
    ae_tsne_free(W.ts);
    free(W.x);
    free(W.xnan);
    free(W.xinf);
    free(W.xlate);
    free(W.out);
    free(W.out8);
    free(W.idx_images);
    free(W.idx_labels5);
    free(W.model_bytes);
}

/* Before every row: sentinel outputs and unset handle outputs. */
static void reset_outputs(void)
{
    memset(W.out, 0xA5, BIG * sizeof(float));
    memset(W.out8, 0x5A, BIG);
    memset(W.out_d, 0xA5, sizeof W.out_d);
    memset(&W.out_sz, 0xA5, sizeof W.out_sz);
    memset(W.out_i, 0xA5, sizeof W.out_i);
    for (size_t i = 0; i < 4; i++)
        W.idx[i] = i;
    W.o_ds = W.o_ds2 = NOT_SET;
    W.o_it = NOT_SET;
    W.o_m = NOT_SET;
    W.o_layer = NOT_SET;
    W.o_opt = NOT_SET;
    W.o_t = NOT_SET;
    W.o_mt = NOT_SET;
    W.o_pca = NOT_SET;
    W.o_ts = NOT_SET;
    W.o_npy = NOT_SET;
    W.o_name = NOT_SET;
}

/* ---- snapshot of the world ------------------------------------------------ */

static void snap_metrics(bytes *b, const ae_metrics *mt)
{
    bytes_put_u64(b, ae_metrics_count(mt));
    for (int k = AE_METRIC_MSE; k <= AE_METRIC_SSIM; k++) {
        double v = 0.0;
        bytes_put_u64(b, (uint64_t)ae_metrics_value(mt, (ae_metric)k, &v));
        bytes_put(b, &v, sizeof v);
    }
}

static void snap_pca(bytes *b, const ae_pca *p)
{
    size_t d = ae_pca_dim(p);
    int k = ae_pca_components(p);
    bytes_put_u64(b, d);
    bytes_put_u64(b, (uint64_t)k);
    if (d == 0)
        return;
    float *c = floats((size_t)k * d + d);
    double v[PCA_K], r[PCA_K];
    ck_assert_ae_ok(ae_pca_get_components(p, c, (size_t)k * d));
    ck_assert_ae_ok(ae_pca_get_mean(p, c + (size_t)k * d, d));
    ck_assert_ae_ok(ae_pca_explained_variance(p, v, PCA_K));
    ck_assert_ae_ok(ae_pca_explained_variance_ratio(p, r, PCA_K));
    bytes_put(b, c, ((size_t)k * d + d) * sizeof(float));
    bytes_put(b, v, sizeof v);
    bytes_put(b, r, sizeof r);
    free(c);
}

static void snap_tsne(bytes *b, const ae_tsne *t)
{
    for (int p = AE_TSNE_PERPLEXITY; p <= AE_TSNE_EXAGGERATION_ITERATIONS;
         p++) {
        double v;
        ck_assert_ae_ok(ae_tsne_get(t, (ae_tsne_param)p, &v));
        bytes_put(b, &v, sizeof v);
    }
    double kl = 0.0;
    bytes_put_u64(b, (uint64_t)ae_tsne_kl_divergence(t, &kl));
}

static void snap_world(bytes *b)
{
    b->n = 0;
    bytes_put_u64(b, (uint64_t)ae_threads());
    snap_dataset(b, W.ds);
    snap_dataset(b, W.ds_nl);
    snap_dataset(b, W.ds4);
    snap_dataset(b, W.dspng);
    bytes_put_u64(b, ae_batches_per_epoch(W.it));
    bytes_put_u64(b, ae_batches_per_epoch(W.it_nl));
    snap_model(b, W.m);
    snap_model(b, W.mb);
    snap_model(b, W.me);
    snap_optimizer(b, W.adam);
    snap_optimizer(b, W.sgd);
    snap_trainer(b, W.t);
    snap_trainer(b, W.t_sp);
    snap_trainer(b, W.t_inc);
    /* the batch-norm model's file holds its running statistics and the
     * dropout counter; its mode besides */
    snap_model(b, W.mbn);
    size_t bn_size = 0;
    ck_assert_ae_ok(ae_model_save_memory(W.mbn, NULL, 0, &bn_size));
    uint8_t *bn_bytes = malloc(bn_size);
    ck_assert_ptr_nonnull(bn_bytes);
    ck_assert_ae_ok(ae_model_save_memory(W.mbn, bn_bytes, bn_size, &bn_size));
    bytes_put(b, bn_bytes, bn_size);
    free(bn_bytes);
    bytes_put_u64(b, (uint64_t)ae_model_training(W.mbn));
    snap_trainer(b, W.t_bn);
    snap_metrics(b, W.mt);
    snap_metrics(b, W.mt_empty);
    snap_metrics(b, W.mt4);
    snap_pca(b, W.pca);
    snap_pca(b, W.pca_u);
    snap_pca(b, W.pca_big);
    snap_tsne(b, W.ts);
    bytes_put(b, W.x, BIG * sizeof(float));
    bytes_put(b, W.out, BIG * sizeof(float));
    bytes_put(b, W.out8, BIG);
    bytes_put(b, W.out_d, sizeof W.out_d);
    bytes_put(b, &W.out_sz, sizeof W.out_sz);
    bytes_put(b, W.out_i, sizeof W.out_i);
    bytes_put(b, W.idx, sizeof W.idx);
    snap_folder(b, W.dir, 2);
    ck_assert_int_eq(access(W.grid, R_OK), 0);
    ck_assert_int_eq(access(W.model_path, R_OK), 0);
    snap_file(b, W.grid);
    snap_file(b, W.model_path);
}

/* A path in the test folder an export may not leave behind. */
static const char *onnx_path(void)
{
    static char p[700];
    snprintf(p, sizeof p, "%s/model.onnx", W.dir);
    return p;
}

/* The decoder alone of a model whose decoder unpools with the positions
 * of the encoder's pooling: refused, with no file written.  The model is
 * the row's own, freed before it returns. */
static ae_status export_unpooling_decoder(void)
{
    ae_model *m = NULL;
    ck_assert_ae_ok(ae_model_create(&m, 1, 4, 4, 1));
    ck_assert_ae_ok(ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2));
    ck_assert_ae_ok(ae_model_add_maxunpool2d(m, AE_DECODER, 0, 4, 4));
    ae_status s = ae_model_export_onnx(m, onnx_path(), AE_ONNX_DECODER);
    ae_model_free(m);
    return s;
}

/* ---- the table ------------------------------------------------------------
 * X(name, expected status, handle output set to NULL (1) or not (0),
 *   body returning the call's status).  Rows follow autoenc.h from top to
 * bottom.  A body may use locals for documented outputs that do change on
 * failure (ae_model_save_memory's *size) and check them itself. */

#define S AE_ERR_SHAPE
#define NUL AE_ERR_NULL
#define INV AE_ERR_INVALID_ARGUMENT
#define NF AE_ERR_NOT_FINITE

#define BAD_ROWS(X)                                                            \
    /* ---- process-wide settings ---- */                                     \
    X(set_threads_negative, INV, 0, return ae_set_threads(-1);)                \
    X(set_threads_int_min, INV, 0, return ae_set_threads(INT_MIN);)            \
    X(set_threads_huge, INV, 0, return ae_set_threads(1 << 20);)               \
    X(set_allocator_alloc_only, INV, 0,                                        \
      return ae_set_allocator(count_alloc, NULL, NULL);)                       \
    X(set_allocator_free_only, INV, 0,                                         \
      return ae_set_allocator(NULL, count_free, NULL);)                        \
    /* ---- ae_dataset_load_idx ---- */                                       \
    X(load_idx_null_out, NUL, 0,                                               \
      return ae_dataset_load_idx(NULL, W.path, NULL);)                         \
    X(load_idx_null_path, NUL, 1,                                              \
      return ae_dataset_load_idx(&W.o_ds, NULL, NULL);)                        \
    X(load_idx_empty_path, AE_ERR_IO, 1,                                       \
      return ae_dataset_load_idx(&W.o_ds, "", NULL);)                          \
    X(load_idx_missing, AE_ERR_IO, 1,                                          \
      return ae_dataset_load_idx(&W.o_ds, W.missing, NULL);)                   \
    X(load_idx_missing_labels, AE_ERR_IO, 1,                                   \
      return ae_dataset_load_idx(&W.o_ds, W.path, W.missing);)                 \
    X(load_idx_folder, AE_ERR_IO, 1,                                           \
      return ae_dataset_load_idx(&W.o_ds, W.dir, NULL);)                       \
    X(load_idx_labels_count_mismatch, S, 1,                                    \
      return ae_dataset_load_idx(&W.o_ds, W.path, W.labels5);)                 \
    X(load_idx_labels_as_images, AE_ERR_FORMAT, 1,                             \
      return ae_dataset_load_idx(&W.o_ds, W.labels5, NULL);)                   \
    X(load_idx_images_as_labels, AE_ERR_FORMAT, 1,                             \
      return ae_dataset_load_idx(&W.o_ds, W.path, W.path);)                    \
    /* ---- ae_dataset_load_idx_memory ---- */                                \
    X(load_mem_null_out, NUL, 0,                                               \
      return ae_dataset_load_idx_memory(NULL, W.idx_images,                    \
                                        W.idx_images_size, NULL, 0);)          \
    X(load_mem_null_images, NUL, 1,                                            \
      return ae_dataset_load_idx_memory(&W.o_ds, NULL, 100, NULL, 0);)         \
    X(load_mem_null_images_size0, NUL, 1,                                      \
      return ae_dataset_load_idx_memory(&W.o_ds, NULL, 0, NULL, 0);)           \
    X(load_mem_null_labels_nonzero, NUL, 1,                                    \
      return ae_dataset_load_idx_memory(&W.o_ds, W.idx_images,                 \
                                        W.idx_images_size, NULL, 5);)          \
    X(load_mem_size0, AE_ERR_FORMAT, 1,                                        \
      return ae_dataset_load_idx_memory(&W.o_ds, W.idx_images, 0, NULL, 0);)   \
    X(load_mem_header_only, AE_ERR_FORMAT, 1,                                  \
      return ae_dataset_load_idx_memory(&W.o_ds, W.idx_images, 16, NULL, 0);)  \
    X(load_mem_truncated, AE_ERR_FORMAT, 1,                                    \
      return ae_dataset_load_idx_memory(&W.o_ds, W.idx_images,                 \
                                        W.idx_images_size - 1, NULL, 0);)      \
    X(load_mem_trailing, AE_ERR_FORMAT, 1,                                     \
      return ae_dataset_load_idx_memory(&W.o_ds, W.idx_images,                 \
                                        W.idx_images_size + 1, NULL, 0);)      \
    X(load_mem_labels_mismatch, S, 1,                                          \
      return ae_dataset_load_idx_memory(&W.o_ds, W.idx_images,                 \
                                        W.idx_images_size, W.idx_labels5,      \
                                        W.idx_labels5_size);)                  \
    X(load_mem_labels_truncated, AE_ERR_FORMAT, 1,                             \
      return ae_dataset_load_idx_memory(&W.o_ds, W.idx_images,                 \
                                        W.idx_images_size, W.idx_labels5,      \
                                        W.idx_labels5_size - 1);)              \
    X(load_mem_zero_images, AE_ERR_FORMAT, 1,                                  \
      return load_idx_header(0, 8, 8);)                                        \
    X(load_mem_zero_height, AE_ERR_FORMAT, 1,                                  \
      return load_idx_header(2, 0, 8);)                                        \
    X(load_mem_huge_width, AE_ERR_LIMIT, 1,                                    \
      return load_idx_header(1, 1, 5000);)                                     \
    X(load_mem_negative_count, AE_ERR_FORMAT, 1,                               \
      return load_idx_header(0xFFFFFFFFu, 8, 8);)                              \
    X(load_mem_labels_magic, AE_ERR_FORMAT, 1,                                 \
      return load_idx_magic(0x0801u);)                                         \
    X(load_mem_bad_magic, AE_ERR_FORMAT, 1, return load_idx_magic(0x0308u);)   \
    X(load_mem_float_type, AE_ERR_FORMAT, 1,                                   \
      return load_idx_magic(0x00000D03u);)                                     \
    /* ---- ae_dataset_map_idx ---- */                                        \
    X(map_idx_null_out, NUL, 0,                                                \
      return ae_dataset_map_idx(NULL, W.path, NULL);)                          \
    X(map_idx_null_path, NUL, 1,                                               \
      return ae_dataset_map_idx(&W.o_ds, NULL, NULL);)                         \
    X(map_idx_empty_path, AE_ERR_IO, 1,                                        \
      return ae_dataset_map_idx(&W.o_ds, "", NULL);)                           \
    X(map_idx_missing, AE_ERR_IO, 1,                                           \
      return ae_dataset_map_idx(&W.o_ds, W.missing, NULL);)                    \
    X(map_idx_missing_labels, AE_ERR_IO, 1,                                    \
      return ae_dataset_map_idx(&W.o_ds, W.path, W.missing);)                  \
    X(map_idx_folder, AE_ERR_IO, 1,                                            \
      return ae_dataset_map_idx(&W.o_ds, W.dir, NULL);)                        \
    X(map_idx_not_regular, AE_ERR_UNSUPPORTED, 1,                              \
      return ae_dataset_map_idx(&W.o_ds, "/dev/zero", NULL);)                  \
    X(map_idx_labels_count_mismatch, S, 1,                                     \
      return ae_dataset_map_idx(&W.o_ds, W.path, W.labels5);)                  \
    X(map_idx_labels_as_images, AE_ERR_FORMAT, 1,                              \
      return ae_dataset_map_idx(&W.o_ds, W.labels5, NULL);)                    \
    X(map_idx_images_as_labels, AE_ERR_FORMAT, 1,                              \
      return ae_dataset_map_idx(&W.o_ds, W.path, W.path);)                     \
    /* ---- dataset properties ---- */                                        \
    X(dataset_shape_null, NUL, 0,                                              \
      return ae_dataset_shape(NULL, &W.out_i[0], &W.out_i[1], &W.out_i[2]);)   \
    X(dataset_set_range_null, NUL, 0,                                          \
      return ae_dataset_set_range(NULL, AE_RANGE_SYMMETRIC);)                  \
    X(dataset_set_range_unknown, INV, 0,                                       \
      return ae_dataset_set_range(W.ds, (ae_pixel_range)2);)                   \
    X(dataset_set_range_negative, INV, 0,                                      \
      return ae_dataset_set_range(W.ds, (ae_pixel_range)-1);)                  \
    /* ---- ae_dataset_batch ---- */                                          \
    X(batch_null_ds, NUL, 0, return ae_dataset_batch(NULL, 0, 1, W.out, NULL);) \
    X(batch_null_images, NUL, 0,                                               \
      return ae_dataset_batch(W.ds, 0, 1, NULL, W.out8);)                      \
    X(batch_past_end, INV, 0,                                                  \
      return ae_dataset_batch(W.ds, N - 1, 2, W.out, W.out8);)                 \
    X(batch_first_past_end, INV, 0,                                            \
      return ae_dataset_batch(W.ds, N, 1, W.out, NULL);)                       \
    X(batch_overflow, INV, 0,                                                  \
      return ae_dataset_batch(W.ds, SIZE_MAX, 2, W.out, NULL);)                \
    X(batch_count_overflow, INV, 0,                                            \
      return ae_dataset_batch(W.ds, 1, SIZE_MAX, W.out, NULL);)                \
    X(batch_count_zero, AE_OK, 0,                                              \
      return ae_dataset_batch(W.ds, 0, 0, W.out, NULL);)                       \
    X(batch_labels_missing, AE_ERR_UNSUPPORTED, 0,                             \
      return ae_dataset_batch(W.ds_nl, 0, 2, W.out, W.out8);)                  \
    /* ---- ae_dataset_gather ---- */                                         \
    X(gather_null_ds, NUL, 0,                                                  \
      return ae_dataset_gather(NULL, W.idx, 2, W.out, NULL);)                  \
    X(gather_null_indices, NUL, 0,                                             \
      return ae_dataset_gather(W.ds, NULL, 2, W.out, NULL);)                   \
    X(gather_null_images, NUL, 0,                                              \
      return ae_dataset_gather(W.ds, W.idx, 2, NULL, NULL);)                   \
    X(gather_index_past_end, INV, 0, W.idx[2] = N;                             \
      ae_status s = ae_dataset_gather(W.ds, W.idx, 3, W.out, W.out8);          \
      W.idx[2] = 2; return s;)                                                 \
    X(gather_index_huge, INV, 0, W.idx[1] = SIZE_MAX;                          \
      ae_status s = ae_dataset_gather(W.ds, W.idx, 3, W.out, NULL);            \
      W.idx[1] = 1; return s;)                                                 \
    X(gather_count_zero, AE_OK, 0,                                             \
      return ae_dataset_gather(W.ds, W.idx, 0, W.out, NULL);)                  \
    X(gather_labels_missing, AE_ERR_UNSUPPORTED, 0,                            \
      return ae_dataset_gather(W.ds_nl, W.idx, 2, W.out, W.out8);)             \
    /* ---- ae_dataset_label ---- */                                          \
    X(label_null_ds, NUL, 0, return ae_dataset_label(NULL, 0, W.out8);)        \
    X(label_null_out, NUL, 0, return ae_dataset_label(W.ds, 0, NULL);)         \
    X(label_past_end, INV, 0, return ae_dataset_label(W.ds, N, W.out8);)       \
    X(label_missing, AE_ERR_UNSUPPORTED, 0,                                    \
      return ae_dataset_label(W.ds_nl, 0, W.out8);)                            \
    /* ---- ae_dataset_subset ---- */                                         \
    X(subset_null_ds, NUL, 1, return ae_dataset_subset(NULL, 0, 1, &W.o_ds);)  \
    X(subset_null_out, NUL, 0, return ae_dataset_subset(W.ds, 0, 1, NULL);)    \
    X(subset_count_zero, INV, 1,                                               \
      return ae_dataset_subset(W.ds, 0, 0, &W.o_ds);)                          \
    X(subset_past_end, INV, 1,                                                 \
      return ae_dataset_subset(W.ds, 4, 3, &W.o_ds);)                          \
    X(subset_overflow, INV, 1,                                                 \
      return ae_dataset_subset(W.ds, SIZE_MAX, 2, &W.o_ds);)                   \
    /* ---- ae_dataset_split ---- */                                          \
    X(split_null_ds, NUL, 1,                                                   \
      return ae_dataset_split(NULL, 0.5, 1, &W.o_ds, &W.o_ds2);)               \
    X(split_null_train, NUL, 1,                                                \
      return ae_dataset_split(W.ds, 0.5, 1, NULL, &W.o_ds2);)                  \
    X(split_null_validation, NUL, 1,                                           \
      return ae_dataset_split(W.ds, 0.5, 1, &W.o_ds, NULL);)                   \
    X(split_fraction_zero, INV, 1,                                             \
      return ae_dataset_split(W.ds, 0.0, 1, &W.o_ds, &W.o_ds2);)               \
    X(split_fraction_one, INV, 1,                                              \
      return ae_dataset_split(W.ds, 1.0, 1, &W.o_ds, &W.o_ds2);)               \
    X(split_fraction_negative, INV, 1,                                         \
      return ae_dataset_split(W.ds, -0.5, 1, &W.o_ds, &W.o_ds2);)              \
    X(split_fraction_above_one, INV, 1,                                        \
      return ae_dataset_split(W.ds, 1.5, 1, &W.o_ds, &W.o_ds2);)               \
    X(split_fraction_nan, INV, 1,                                              \
      return ae_dataset_split(W.ds, NAN, 1, &W.o_ds, &W.o_ds2);)               \
    X(split_fraction_inf, INV, 1,                                              \
      return ae_dataset_split(W.ds, INFINITY, 1, &W.o_ds, &W.o_ds2);)          \
    X(split_empty_train, INV, 1,                                               \
      return ae_dataset_split(W.ds, 0.01, 1, &W.o_ds, &W.o_ds2);)              \
    X(split_empty_validation, INV, 1,                                          \
      return ae_dataset_split(W.ds, 0.99, 1, &W.o_ds, &W.o_ds2);)              \
    /* ---- ae_batches ---- */                                                \
    X(batches_null_out, NUL, 0, return ae_batches_create(NULL, W.ds, 2, 1, 1);) \
    X(batches_null_ds, NUL, 1,                                                 \
      return ae_batches_create(&W.o_it, NULL, 2, 1, 1);)                       \
    X(batches_size_zero, INV, 1,                                               \
      return ae_batches_create(&W.o_it, W.ds, 0, 1, 1);)                       \
    X(batches_next_null_it, NUL, 0,                                            \
      return ae_batches_next(NULL, W.out, NULL, &W.out_sz);)                   \
    X(batches_next_null_images, NUL, 0,                                        \
      return ae_batches_next(W.it, NULL, NULL, &W.out_sz);)                    \
    X(batches_next_null_count, NUL, 0,                                         \
      return ae_batches_next(W.it, W.out, NULL, NULL);)                        \
    X(batches_next_labels_missing, AE_ERR_UNSUPPORTED, 0,                      \
      return ae_batches_next(W.it_nl, W.out, W.out8, &W.out_sz);)              \
    /* ---- ae_corrupt ---- */                                                \
    X(corrupt_null_in, NUL, 0,                                                 \
      return ae_corrupt(AE_NOISE_GAUSSIAN, 0.1f, 0, 1, 1, NULL, W.out, 10);)   \
    X(corrupt_null_out, NUL, 0,                                                \
      return ae_corrupt(AE_NOISE_GAUSSIAN, 0.1f, 0, 1, 1, W.x, NULL, 10);)     \
    X(corrupt_unknown_kind, INV, 0,                                            \
      return ae_corrupt((ae_noise)3, 0.1f, 0, 1, 1, W.x, W.out, 10);)          \
    X(corrupt_negative_kind, INV, 0,                                           \
      return ae_corrupt((ae_noise)-1, 0.1f, 0, 1, 1, W.x, W.out, 10);)         \
    X(corrupt_level_negative, INV, 0,                                          \
      return ae_corrupt(AE_NOISE_GAUSSIAN, -0.1f, 0, 1, 1, W.x, W.out, 10);)   \
    X(corrupt_level_nan, INV, 0,                                               \
      return ae_corrupt(AE_NOISE_GAUSSIAN, NAN, 0, 1, 1, W.x, W.out, 10);)     \
    X(corrupt_level_inf, INV, 0,                                               \
      return ae_corrupt(AE_NOISE_GAUSSIAN, INFINITY, 0, 1, 1, W.x, W.out,      \
                        10);)                                                  \
    X(corrupt_salt_pepper_above_one, INV, 0,                                   \
      return ae_corrupt(AE_NOISE_SALT_PEPPER, 1.5f, 0, 1, 1, W.x, W.out,       \
                        10);)                                                  \
    X(corrupt_lo_equals_hi, INV, 0,                                            \
      return ae_corrupt(AE_NOISE_GAUSSIAN, 0.1f, 1, 1, 1, W.x, W.out, 10);)    \
    X(corrupt_lo_above_hi, INV, 0,                                             \
      return ae_corrupt(AE_NOISE_SALT_PEPPER, 0.1f, 1, -1, 1, W.x, W.out,      \
                        10);)                                                  \
    X(corrupt_lo_nan, INV, 0,                                                  \
      return ae_corrupt(AE_NOISE_GAUSSIAN, 0.1f, NAN, 1, 1, W.x, W.out, 10);)  \
    X(corrupt_hi_inf, INV, 0,                                                  \
      return ae_corrupt(AE_NOISE_GAUSSIAN, 0.1f, 0, INFINITY, 1, W.x, W.out,   \
                        10);)                                                  \
    /* ---- ae_model_create ---- */                                           \
    X(model_create_null_out, NUL, 0, return ae_model_create(NULL, 1, 8, 8, 1);) \
    X(model_create_channels_zero, INV, 1,                                      \
      return ae_model_create(&W.o_m, 0, 8, 8, 1);)                             \
    X(model_create_height_negative, INV, 1,                                    \
      return ae_model_create(&W.o_m, 1, -8, 8, 1);)                            \
    X(model_create_width_zero, INV, 1,                                         \
      return ae_model_create(&W.o_m, 1, 8, 0, 1);)                             \
    X(model_create_side_huge, INV, 1,                                          \
      return ae_model_create(&W.o_m, 1, 8, INT_MAX, 1);)                       \
    X(model_create_too_large, AE_ERR_LIMIT, 1,                                 \
      return ae_model_create(&W.o_m, 64, 65536, 65536, 1);)                    \
    /* ---- ae_model_add_dense ---- */                                        \
    X(dense_null_model, NUL, 0,                                                \
      return ae_model_add_dense(NULL, AE_ENCODER, 4, AE_ACT_RELU);)            \
    X(dense_units_zero, INV, 0,                                                \
      return ae_model_add_dense(W.mb, AE_ENCODER, 0, AE_ACT_RELU);)            \
    X(dense_units_negative, INV, 0,                                            \
      return ae_model_add_dense(W.mb, AE_ENCODER, -4, AE_ACT_RELU);)           \
    X(dense_units_huge, AE_ERR_LIMIT, 0,                                       \
      return ae_model_add_dense(W.mb, AE_ENCODER, INT_MAX, AE_ACT_RELU);)      \
    X(dense_part_unknown, INV, 0,                                              \
      return ae_model_add_dense(W.mb, (ae_part)2, 4, AE_ACT_RELU);)            \
    X(dense_activation_unknown, INV, 0,                                        \
      return ae_model_add_dense(W.mb, AE_ENCODER, 4, (ae_activation)5);)       \
    X(dense_activation_negative, INV, 0,                                       \
      return ae_model_add_dense(W.mb, AE_ENCODER, 4, (ae_activation)-1);)      \
    X(dense_encoder_after_decoder, INV, 0,                                     \
      return ae_model_add_dense(W.m, AE_ENCODER, 4, AE_ACT_RELU);)             \
    /* ---- ae_model_add_conv2d ---- */                                       \
    X(conv_null_model, NUL, 0,                                                 \
      return ae_model_add_conv2d(NULL, AE_ENCODER, 2, 3, 1, 1, AE_ACT_RELU);)  \
    X(conv_channels_zero, INV, 0,                                              \
      return ae_model_add_conv2d(W.mb, AE_ENCODER, 0, 3, 1, 1, AE_ACT_RELU);)  \
    X(conv_kernel_zero, INV, 0,                                                \
      return ae_model_add_conv2d(W.mb, AE_ENCODER, 2, 0, 1, 1, AE_ACT_RELU);)  \
    X(conv_kernel_negative, INV, 0,                                            \
      return ae_model_add_conv2d(W.mb, AE_ENCODER, 2, -3, 1, 1,                \
                                 AE_ACT_RELU);)                                \
    X(conv_stride_zero, INV, 0,                                                \
      return ae_model_add_conv2d(W.mb, AE_ENCODER, 2, 3, 0, 1, AE_ACT_RELU);)  \
    X(conv_padding_below_same, INV, 0,                                         \
      return ae_model_add_conv2d(W.mb, AE_ENCODER, 2, 3, 1, -2,                \
                                 AE_ACT_RELU);)                                \
    X(conv_same_even_kernel, INV, 0,                                           \
      return ae_model_add_conv2d(W.mb, AE_ENCODER, 2, 2, 1, -1,                \
                                 AE_ACT_RELU);)                                \
    X(conv_kernel_too_big, S, 0,                                               \
      return ae_model_add_conv2d(W.mb, AE_ENCODER, 2, 7, 1, 0, AE_ACT_RELU);)  \
    X(conv_huge, AE_ERR_LIMIT, 0,                                              \
      return ae_model_add_conv2d(W.mb, AE_ENCODER, INT_MAX, 3, 1, 1,           \
                                 AE_ACT_RELU);)                                \
    X(conv_part_unknown, INV, 0,                                               \
      return ae_model_add_conv2d(W.mb, (ae_part)7, 2, 3, 1, 1, AE_ACT_RELU);)  \
    X(conv_activation_unknown, INV, 0,                                         \
      return ae_model_add_conv2d(W.mb, AE_ENCODER, 2, 3, 1, 1,                 \
                                 (ae_activation)99);)                          \
    X(conv_encoder_after_decoder, INV, 0,                                      \
      return ae_model_add_conv2d(W.m, AE_ENCODER, 1, 1, 1, 0, AE_ACT_NONE);)   \
    /* ---- ae_model_add_maxpool2d ---- */                                    \
    X(pool_null_model, NUL, 0,                                                 \
      return ae_model_add_maxpool2d(NULL, AE_ENCODER, 2, 2);)                  \
    X(pool_kernel_zero, INV, 0,                                                \
      return ae_model_add_maxpool2d(W.mb, AE_ENCODER, 0, 2);)                  \
    X(pool_stride_negative, INV, 0,                                            \
      return ae_model_add_maxpool2d(W.mb, AE_ENCODER, 2, -2);)                 \
    X(pool_kernel_too_big, S, 0,                                               \
      return ae_model_add_maxpool2d(W.mb, AE_ENCODER, 5, 1);)                  \
    X(pool_part_unknown, INV, 0,                                               \
      return ae_model_add_maxpool2d(W.mb, (ae_part)-1, 2, 2);)                 \
    /* ---- ae_model_add_maxunpool2d ---- */                                  \
    X(unpool_null_model, NUL, 0,                                               \
      return ae_model_add_maxunpool2d(NULL, AE_DECODER, 1, 8, 8);)             \
    X(unpool_partner_not_earlier, INV, 0,                                      \
      return ae_model_add_maxunpool2d(W.mb, AE_DECODER, 2, 8, 8);)             \
    X(unpool_partner_huge, INV, 0,                                             \
      return ae_model_add_maxunpool2d(W.mb, AE_DECODER, SIZE_MAX, 8, 8);)      \
    X(unpool_partner_not_pool, INV, 0,                                         \
      return ae_model_add_maxunpool2d(W.mb, AE_DECODER, 0, 8, 8);)             \
    X(unpool_wrong_size, S, 0,                                                 \
      return ae_model_add_maxunpool2d(W.mb, AE_DECODER, 1, 7, 8);)             \
    X(unpool_negative_size, S, 0,                                              \
      return ae_model_add_maxunpool2d(W.mb, AE_DECODER, 1, -8, -8);)           \
    X(unpool_part_unknown, INV, 0,                                             \
      return ae_model_add_maxunpool2d(W.mb, (ae_part)9, 1, 8, 8);)             \
    /* ---- ae_model_add_upsample2d ---- */                                   \
    X(upsample_null_model, NUL, 0,                                             \
      return ae_model_add_upsample2d(NULL, AE_DECODER, 2);)                    \
    X(upsample_factor_zero, INV, 0,                                            \
      return ae_model_add_upsample2d(W.mb, AE_DECODER, 0);)                    \
    X(upsample_factor_negative, INV, 0,                                        \
      return ae_model_add_upsample2d(W.mb, AE_DECODER, -2);)                   \
    X(upsample_factor_huge, AE_ERR_LIMIT, 0,                                   \
      return ae_model_add_upsample2d(W.mb, AE_DECODER, INT_MAX);)              \
    /* ---- ae_model_add_conv_transpose2d ---- */                             \
    X(convt_null_model, NUL, 0,                                                \
      return ae_model_add_conv_transpose2d(NULL, AE_DECODER, 1, 3, 2, 1, 1,    \
                                           AE_ACT_NONE);)                      \
    X(convt_channels_zero, INV, 0,                                             \
      return ae_model_add_conv_transpose2d(W.mb, AE_DECODER, 0, 3, 2, 1, 1,    \
                                           AE_ACT_NONE);)                      \
    X(convt_kernel_zero, INV, 0,                                               \
      return ae_model_add_conv_transpose2d(W.mb, AE_DECODER, 1, 0, 2, 1, 1,    \
                                           AE_ACT_NONE);)                      \
    X(convt_stride_zero, INV, 0,                                               \
      return ae_model_add_conv_transpose2d(W.mb, AE_DECODER, 1, 3, 0, 1, 0,    \
                                           AE_ACT_NONE);)                      \
    X(convt_padding_negative, INV, 0,                                          \
      return ae_model_add_conv_transpose2d(W.mb, AE_DECODER, 1, 3, 2, -1, 1,   \
                                           AE_ACT_NONE);)                      \
    X(convt_output_padding_stride, INV, 0,                                     \
      return ae_model_add_conv_transpose2d(W.mb, AE_DECODER, 1, 3, 2, 1, 2,    \
                                           AE_ACT_NONE);)                      \
    X(convt_output_padding_negative, INV, 0,                                   \
      return ae_model_add_conv_transpose2d(W.mb, AE_DECODER, 1, 3, 2, 1, -1,   \
                                           AE_ACT_NONE);)                      \
    X(convt_output_empty, S, 0,                                                \
      return ae_model_add_conv_transpose2d(W.mb, AE_DECODER, 1, 1, 1, 5, 0,    \
                                           AE_ACT_NONE);)                      \
    X(convt_huge, AE_ERR_LIMIT, 0,                                             \
      return ae_model_add_conv_transpose2d(W.mb, AE_DECODER, 1, 3,             \
                                           INT_MAX / 2, 0, 0, AE_ACT_NONE);)   \
    X(convt_activation_unknown, INV, 0,                                        \
      return ae_model_add_conv_transpose2d(W.mb, AE_DECODER, 1, 3, 2, 1, 1,    \
                                           (ae_activation)6);)                 \
    /* ---- ae_model_add_reshape ---- */                                      \
    X(reshape_null_model, NUL, 0,                                              \
      return ae_model_add_reshape(NULL, AE_DECODER, 4, 4, 4);)                 \
    X(reshape_side_zero, INV, 0,                                               \
      return ae_model_add_reshape(W.mb, AE_DECODER, 4, 0, 16);)                \
    X(reshape_negative, INV, 0,                                                \
      return ae_model_add_reshape(W.mb, AE_DECODER, -4, -4, 4);)               \
    X(reshape_total_differs, S, 0,                                             \
      return ae_model_add_reshape(W.mb, AE_DECODER, 4, 4, 5);)                 \
    X(reshape_overflow, S, 0,                                                  \
      return ae_model_add_reshape(W.mb, AE_DECODER, 65536, 65536, 65536);)     \
    /* ---- ae_model_add_batchnorm, ae_model_add_dropout, the mode ---- */    \
    X(batchnorm_null_model, NUL, 0,                                            \
      return ae_model_add_batchnorm(NULL, AE_DECODER, 0.1f, 1e-5f,             \
                                    AE_ACT_NONE);)                             \
    X(batchnorm_momentum_negative, INV, 0,                                     \
      return ae_model_add_batchnorm(W.mb, AE_ENCODER, -0.1f, 1e-5f,            \
                                    AE_ACT_NONE);)                             \
    X(batchnorm_momentum_above_one, INV, 0,                                    \
      return ae_model_add_batchnorm(W.mb, AE_ENCODER, 1.5f, 1e-5f,             \
                                    AE_ACT_NONE);)                             \
    X(batchnorm_momentum_nan, INV, 0,                                          \
      return ae_model_add_batchnorm(W.mb, AE_ENCODER, NAN, 1e-5f,              \
                                    AE_ACT_NONE);)                             \
    X(batchnorm_eps_zero, INV, 0,                                              \
      return ae_model_add_batchnorm(W.mb, AE_ENCODER, 0.1f, 0.0f,              \
                                    AE_ACT_NONE);)                             \
    X(batchnorm_eps_infinite, INV, 0,                                          \
      return ae_model_add_batchnorm(W.mb, AE_ENCODER, 0.1f, INFINITY,          \
                                    AE_ACT_NONE);)                             \
    X(batchnorm_part_unknown, INV, 0,                                          \
      return ae_model_add_batchnorm(W.mb, (ae_part)7, 0.1f, 1e-5f,             \
                                    AE_ACT_NONE);)                             \
    X(batchnorm_activation_unknown, INV, 0,                                    \
      return ae_model_add_batchnorm(W.mb, AE_ENCODER, 0.1f, 1e-5f,             \
                                    (ae_activation)6);)                        \
    X(batchnorm_encoder_after_decoder, INV, 0,                                 \
      return ae_model_add_batchnorm(W.m, AE_ENCODER, 0.1f, 1e-5f,              \
                                    AE_ACT_NONE);)                             \
    X(batchnorm_train_one_value_per_channel, INV, 0,                           \
      return ae_trainer_step(W.t_bn, W.x, NULL, 1, (float *)W.out_d);)         \
    X(batchnorm_forward_train_one_value_per_channel, INV, 0,                   \
      const float *y; return ae_model_forward_train(W.mbn, W.x, 1, &y, NULL);) \
    X(dropout_null_model, NUL, 0,                                              \
      return ae_model_add_dropout(NULL, AE_DECODER, 0.5f);)                    \
    X(dropout_rate_one, INV, 0,                                                \
      return ae_model_add_dropout(W.mb, AE_ENCODER, 1.0f);)                    \
    X(dropout_rate_above_one, INV, 0,                                          \
      return ae_model_add_dropout(W.mb, AE_ENCODER, 1.5f);)                    \
    X(dropout_rate_negative, INV, 0,                                           \
      return ae_model_add_dropout(W.mb, AE_ENCODER, -0.25f);)                  \
    X(dropout_rate_nan, INV, 0,                                                \
      return ae_model_add_dropout(W.mb, AE_ENCODER, NAN);)                     \
    X(dropout_part_unknown, INV, 0,                                            \
      return ae_model_add_dropout(W.mb, (ae_part)2, 0.5f);)                    \
    X(dropout_encoder_after_decoder, INV, 0,                                   \
      return ae_model_add_dropout(W.m, AE_ENCODER, 0.5f);)                     \
    X(set_training_null, NUL, 0, return ae_model_set_training(NULL, 1);)       \
    X(set_training_two, INV, 0, return ae_model_set_training(W.mbn, 2);)       \
    X(set_training_negative, INV, 0, return ae_model_set_training(W.mbn, -1);) \
    /* ---- model properties ---- */                                         \
    X(model_layer_null_model, NUL, 1,                                          \
      return ae_model_layer(NULL, 0, &W.o_layer);)                             \
    X(model_layer_null_out, NUL, 0, return ae_model_layer(W.m, 0, NULL);)      \
    X(model_layer_past_end, INV, 1, return ae_model_layer(W.m, 4, &W.o_layer);) \
    X(validate_null, NUL, 0, return ae_model_validate(NULL);)                  \
    X(validate_empty, S, 0, return ae_model_validate(W.me);)                   \
    X(validate_no_decoder, S, 0, return ae_model_validate(W.mb);)              \
    /* ---- ae_model_encode / decode / reconstruct ---- */                    \
    X(encode_null_model, NUL, 0, return ae_model_encode(NULL, W.x, 1, W.out);) \
    X(encode_null_input, NUL, 0,                                               \
      return ae_model_encode(W.m, NULL, 1, W.out);)                            \
    X(encode_null_code, NUL, 0, return ae_model_encode(W.m, W.x, 1, NULL);)    \
    X(encode_batch_zero, INV, 0, return ae_model_encode(W.m, W.x, 0, W.out);)  \
    X(encode_batch_huge, AE_ERR_LIMIT, 0,                                      \
      return ae_model_encode(W.m, W.x, SIZE_MAX / 8, W.out);)                  \
    X(encode_incomplete, S, 0, return ae_model_encode(W.mb, W.x, 1, W.out);)   \
    X(encode_empty, S, 0, return ae_model_encode(W.me, W.x, 1, W.out);)        \
    X(encode_nan, NF, 0, return ae_model_encode(W.m, W.xnan, 1, W.out);)       \
    X(encode_inf, NF, 0, return ae_model_encode(W.m, W.xinf, 1, W.out);)       \
    X(decode_null_model, NUL, 0, return ae_model_decode(NULL, W.x, 1, W.out);) \
    X(decode_null_code, NUL, 0, return ae_model_decode(W.m, NULL, 1, W.out);)  \
    X(decode_null_output, NUL, 0, return ae_model_decode(W.m, W.x, 1, NULL);)  \
    X(decode_batch_zero, INV, 0, return ae_model_decode(W.m, W.x, 0, W.out);)  \
    X(decode_incomplete, S, 0, return ae_model_decode(W.mb, W.x, 1, W.out);)   \
    X(decode_nan, NF, 0, return ae_model_decode(W.m, W.xnan, 1, W.out);)       \
    X(decode_inf, NF, 0, return ae_model_decode(W.m, W.xinf, 1, W.out);)       \
    X(reconstruct_null_model, NUL, 0,                                          \
      return ae_model_reconstruct(NULL, W.x, 1, W.out);)                       \
    X(reconstruct_null_input, NUL, 0,                                          \
      return ae_model_reconstruct(W.m, NULL, 1, W.out);)                       \
    X(reconstruct_null_output, NUL, 0,                                         \
      return ae_model_reconstruct(W.m, W.x, 1, NULL);)                         \
    X(reconstruct_batch_zero, INV, 0,                                          \
      return ae_model_reconstruct(W.m, W.x, 0, W.out);)                        \
    X(reconstruct_incomplete, S, 0,                                            \
      return ae_model_reconstruct(W.me, W.x, 1, W.out);)                       \
    X(reconstruct_nan, NF, 0,                                                  \
      return ae_model_reconstruct(W.m, W.xnan, 2, W.out);)                     \
    X(reconstruct_nan_last_pixel, NF, 0,                                       \
      return ae_model_reconstruct(W.m, W.xlate, 2, W.out);)                    \
    /* ---- ae_model_activations ---- */                                      \
    X(activations_null_model, NUL, 0,                                          \
      return ae_model_activations(NULL, 0, W.x, 1, W.out);)                    \
    X(activations_null_input, NUL, 0,                                          \
      return ae_model_activations(W.m, 0, NULL, 1, W.out);)                    \
    X(activations_null_out, NUL, 0,                                            \
      return ae_model_activations(W.m, 0, W.x, 1, NULL);)                      \
    X(activations_index_past_end, INV, 0,                                      \
      return ae_model_activations(W.m, 4, W.x, 1, W.out);)                     \
    X(activations_batch_zero, INV, 0,                                          \
      return ae_model_activations(W.m, 0, W.x, 0, W.out);)                     \
    X(activations_nan, NF, 0,                                                  \
      return ae_model_activations(W.m, 1, W.xnan, 1, W.out);)                  \
    X(activations_empty_model, INV, 0,                                         \
      return ae_model_activations(W.me, 0, W.x, 1, W.out);)                    \
    /* ---- ae_model_mean_activation ---- */                                  \
    X(mean_act_null_model, NUL, 0,                                             \
      return ae_model_mean_activation(NULL, 0, W.ds, W.out, W.out_d);)         \
    X(mean_act_null_ds, NUL, 0,                                                \
      return ae_model_mean_activation(W.m, 0, NULL, W.out, W.out_d);)          \
    X(mean_act_index_past_end, INV, 0,                                         \
      return ae_model_mean_activation(W.m, 9, W.ds, W.out, W.out_d);)          \
    X(mean_act_shape_mismatch, S, 0,                                           \
      return ae_model_mean_activation(W.m, 0, W.ds4, W.out, W.out_d);)         \
    /* ---- ae_model_save / load ---- */                                      \
    X(save_null_model, NUL, 0, return ae_model_save(NULL, W.model_path);)      \
    X(save_null_path, NUL, 0, return ae_model_save(W.m, NULL);)                \
    X(save_empty_path, INV, 0, return ae_model_save(W.m, "");)                 \
    X(save_missing_folder, AE_ERR_IO, 0,                                       \
      return ae_model_save(W.m, W.missing);)                                   \
    X(save_onto_folder, AE_ERR_IO, 0, return ae_model_save(W.m, W.dir);)       \
    X(load_null_out, NUL, 0, return ae_model_load(NULL, W.model_path);)        \
    X(load_null_path, NUL, 1, return ae_model_load(&W.o_m, NULL);)             \
    X(load_empty_path, AE_ERR_IO, 1, return ae_model_load(&W.o_m, "");)        \
    X(load_missing, AE_ERR_IO, 1, return ae_model_load(&W.o_m, W.missing);)    \
    X(load_folder, AE_ERR_IO, 1, return ae_model_load(&W.o_m, W.dir);)         \
    X(load_not_a_model, AE_ERR_FORMAT, 1,                                      \
      return ae_model_load(&W.o_m, W.path);)                                   \
    X(save_memory_null_model, NUL, 0,                                          \
      return ae_model_save_memory(NULL, W.out8, BIG, &W.out_sz);)              \
    X(save_memory_null_size, NUL, 0,                                           \
      return ae_model_save_memory(W.m, W.out8, BIG, NULL);)                    \
    X(save_memory_too_small, INV, 0, size_t size = 0;                          \
      ae_status s = ae_model_save_memory(W.m, W.out8, W.model_size - 1,        \
                                         &size);                               \
      ck_assert_uint_eq(size, W.model_size); return s;)                        \
    X(save_memory_size_query, AE_OK, 0, size_t size = 0;                       \
      ae_status s = ae_model_save_memory(W.m, NULL, BIG, &size);               \
      ck_assert_uint_eq(size, W.model_size); return s;)                        \
    X(load_memory_null_out, NUL, 0,                                            \
      return ae_model_load_memory(NULL, W.model_bytes, W.model_size);)         \
    X(load_memory_null_data, NUL, 1,                                           \
      return ae_model_load_memory(&W.o_m, NULL, W.model_size);)                \
    X(load_memory_size_zero, AE_ERR_FORMAT, 1,                                 \
      return ae_model_load_memory(&W.o_m, W.model_bytes, 0);)                  \
    X(load_memory_truncated, AE_ERR_FORMAT, 1,                                 \
      return ae_model_load_memory(&W.o_m, W.model_bytes, W.model_size - 1);)   \
    X(load_memory_idx_file, AE_ERR_FORMAT, 1,                                  \
      return ae_model_load_memory(&W.o_m, W.idx_images, W.idx_images_size);)   \
    X(load_memory_flipped_weight, AE_ERR_CHECKSUM, 1,                          \
      return load_modified(W.model_size - 10, 0x40, 0);)                       \
    X(load_memory_newer_version, AE_ERR_UNSUPPORTED, 1,                        \
      return load_modified(8, 2, 0);)                                          \
    X(load_memory_nan_weight, NF, 1, return load_nan_weight();)                \
    /* ---- layers ---- */                                                    \
    X(layer_input_shape_null, NUL, 0,                                          \
      return ae_layer_input_shape(NULL, &W.out_i[0], NULL, NULL);)             \
    X(layer_output_shape_null, NUL, 0,                                         \
      return ae_layer_output_shape(NULL, NULL, &W.out_i[1], NULL);)            \
    X(set_activation_null, NUL, 0,                                             \
      return ae_layer_set_activation(NULL, AE_ACT_RELU, 0);)                   \
    X(set_activation_unknown, INV, 0,                                          \
      return ae_layer_set_activation(W.dense0, (ae_activation)5, 0);)          \
    X(set_activation_leaky_negative, INV, 0,                                   \
      return ae_layer_set_activation(W.dense0, AE_ACT_LEAKY_RELU, -0.1f);)     \
    X(set_activation_leaky_nan, INV, 0,                                        \
      return ae_layer_set_activation(W.dense0, AE_ACT_LEAKY_RELU, NAN);)       \
    X(set_activation_leaky_inf, INV, 0,                                        \
      return ae_layer_set_activation(W.dense0, AE_ACT_LEAKY_RELU, INFINITY);)  \
    X(set_activation_on_pool, AE_ERR_UNSUPPORTED, 0,                           \
      return ae_layer_set_activation(W.pool, AE_ACT_RELU, 0);)                 \
    X(get_weights_null_layer, NUL, 0,                                          \
      return ae_layer_get_weights(NULL, W.out, 16 * 64);)                      \
    X(get_weights_null_out, NUL, 0,                                            \
      return ae_layer_get_weights(W.dense0, NULL, 16 * 64);)                   \
    X(get_weights_wrong_count, S, 0,                                           \
      return ae_layer_get_weights(W.dense0, W.out, 16 * 64 - 1);)              \
    X(get_weights_count_zero, S, 0,                                            \
      return ae_layer_get_weights(W.dense0, W.out, 0);)                        \
    X(get_weights_pool_nonzero, S, 0,                                          \
      return ae_layer_get_weights(W.pool, W.out, 1);)                          \
    X(set_weights_null_layer, NUL, 0,                                          \
      return ae_layer_set_weights(NULL, W.x, 16 * 64);)                        \
    X(set_weights_null_in, NUL, 0,                                             \
      return ae_layer_set_weights(W.dense0, NULL, 16 * 64);)                   \
    X(set_weights_wrong_count, S, 0,                                           \
      return ae_layer_set_weights(W.dense0, W.x, 16 * 64 + 1);)                \
    X(set_weights_nan, NF, 0,                                                  \
      return ae_layer_set_weights(W.dense0, W.xnan, 16 * 64);)                 \
    X(set_weights_inf, NF, 0,                                                  \
      return ae_layer_set_weights(W.dense0, W.xinf, 16 * 64);)                 \
    X(get_bias_null_layer, NUL, 0, return ae_layer_get_bias(NULL, W.out, 16);) \
    X(get_bias_null_out, NUL, 0, return ae_layer_get_bias(W.dense0, NULL, 16);) \
    X(get_bias_wrong_count, S, 0,                                              \
      return ae_layer_get_bias(W.dense0, W.out, 15);)                          \
    X(set_bias_null_layer, NUL, 0, return ae_layer_set_bias(NULL, W.x, 16);)   \
    X(set_bias_null_in, NUL, 0, return ae_layer_set_bias(W.dense0, NULL, 16);) \
    X(set_bias_wrong_count, S, 0,                                              \
      return ae_layer_set_bias(W.dense0, W.x, 17);)                            \
    X(set_bias_nan, NF, 0, return ae_layer_set_bias(W.dense0, W.xnan, 16);)    \
    X(set_bias_inf, NF, 0, return ae_layer_set_bias(W.dense0, W.xinf, 16);)    \
    /* ---- ae_model_export_onnx / _memory ---- */                             \
    X(export_onnx_null_model, NUL, 0,                                          \
      return ae_model_export_onnx(NULL, onnx_path(), AE_ONNX_MODEL);)          \
    X(export_onnx_null_path, NUL, 0,                                           \
      return ae_model_export_onnx(W.m, NULL, AE_ONNX_MODEL);)                  \
    X(export_onnx_empty_path, INV, 0,                                          \
      return ae_model_export_onnx(W.m, "", AE_ONNX_MODEL);)                    \
    X(export_onnx_part_3, INV, 0,                                              \
      return ae_model_export_onnx(W.m, onnx_path(), (ae_onnx_part)3);)         \
    X(export_onnx_part_negative, INV, 0,                                       \
      return ae_model_export_onnx(W.m, onnx_path(), (ae_onnx_part)-1);)        \
    X(export_onnx_incomplete_model, S, 0,                                      \
      return ae_model_export_onnx(W.mb, onnx_path(), AE_ONNX_ENCODER);)        \
    X(export_onnx_empty_model, S, 0,                                           \
      return ae_model_export_onnx(W.me, onnx_path(), AE_ONNX_MODEL);)          \
    X(export_onnx_missing_folder, AE_ERR_IO, 0,                                \
      return ae_model_export_onnx(W.m, W.missing, AE_ONNX_MODEL);)             \
    X(export_onnx_onto_folder, AE_ERR_IO, 0,                                   \
      return ae_model_export_onnx(W.m, W.dir, AE_ONNX_MODEL);)                 \
    X(export_onnx_decoder_of_encoder_positions, AE_ERR_UNSUPPORTED, 0,         \
      return export_unpooling_decoder();)                                      \
    X(export_onnx_memory_null_model, NUL, 0,                                   \
      return ae_model_export_onnx_memory(NULL, AE_ONNX_MODEL, W.out8, BIG,     \
                                         &W.out_sz);)                          \
    X(export_onnx_memory_null_size, NUL, 0,                                    \
      return ae_model_export_onnx_memory(W.m, AE_ONNX_MODEL, W.out8, BIG,      \
                                         NULL);)                               \
    X(export_onnx_memory_part_3, INV, 0,                                       \
      return ae_model_export_onnx_memory(W.m, (ae_onnx_part)3, W.out8, BIG,    \
                                         &W.out_sz);)                          \
    X(export_onnx_memory_too_small, INV, 0, size_t need = 0, size = 0;         \
      ck_assert_ae_ok(ae_model_export_onnx_memory(W.m, AE_ONNX_DECODER, NULL,  \
                                                  0, &need));                  \
      ae_status s = ae_model_export_onnx_memory(W.m, AE_ONNX_DECODER, W.out8,  \
                                                need - 1, &size);              \
      ck_assert_uint_eq(size, need); return s;)                                \
    /* ---- optimizers ---- */                                                \
    X(adam_null_out, NUL, 0, return ae_optimizer_create_adam(NULL, 0.1f);)     \
    X(adam_lr_zero, INV, 1, return ae_optimizer_create_adam(&W.o_opt, 0.0f);)  \
    X(adam_lr_negative, INV, 1,                                                \
      return ae_optimizer_create_adam(&W.o_opt, -1e-3f);)                      \
    X(adam_lr_nan, INV, 1, return ae_optimizer_create_adam(&W.o_opt, NAN);)    \
    X(adam_lr_inf, INV, 1,                                                     \
      return ae_optimizer_create_adam(&W.o_opt, INFINITY);)                    \
    X(adamw_null_out, NUL, 0,                                                  \
      return ae_optimizer_create_adamw(NULL, 0.1f, 0.01f);)                    \
    X(adamw_zero_lr, INV, 1,                                                   \
      return ae_optimizer_create_adamw(&W.o_opt, 0.0f, 0.01f);)                \
    X(adamw_negative_decay, INV, 1,                                            \
      return ae_optimizer_create_adamw(&W.o_opt, 0.1f, -0.01f);)               \
    X(adamw_nan_decay, INV, 1,                                                 \
      return ae_optimizer_create_adamw(&W.o_opt, 0.1f, NAN);)                  \
    X(sgd_null_out, NUL, 0, return ae_optimizer_create_sgd(NULL, 0.1f, 0.0f);) \
    X(sgd_lr_negative, INV, 1,                                                 \
      return ae_optimizer_create_sgd(&W.o_opt, -0.1f, 0.0f);)                  \
    X(sgd_momentum_negative, INV, 1,                                           \
      return ae_optimizer_create_sgd(&W.o_opt, 0.1f, -0.5f);)                  \
    X(sgd_momentum_one, INV, 1,                                                \
      return ae_optimizer_create_sgd(&W.o_opt, 0.1f, 1.0f);)                   \
    X(sgd_momentum_nan, INV, 1,                                                \
      return ae_optimizer_create_sgd(&W.o_opt, 0.1f, NAN);)                    \
    X(opt_set_null, NUL, 0,                                                    \
      return ae_optimizer_set(NULL, AE_OPT_LEARNING_RATE, 0.1);)               \
    X(opt_set_unknown, INV, 0,                                                 \
      return ae_optimizer_set(W.adam, (ae_optimizer_param)6, 0.1);)            \
    X(opt_set_negative_param, INV, 0,                                          \
      return ae_optimizer_set(W.adam, (ae_optimizer_param)-1, 0.1);)           \
    X(opt_set_lr_negative, INV, 0,                                             \
      return ae_optimizer_set(W.adam, AE_OPT_LEARNING_RATE, -0.1);)            \
    X(opt_set_lr_zero, INV, 0,                                                 \
      return ae_optimizer_set(W.sgd, AE_OPT_LEARNING_RATE, 0.0);)              \
    X(opt_set_lr_nan, INV, 0,                                                  \
      return ae_optimizer_set(W.adam, AE_OPT_LEARNING_RATE, NAN);)             \
    X(opt_set_lr_inf, INV, 0,                                                  \
      return ae_optimizer_set(W.adam, AE_OPT_LEARNING_RATE, INFINITY);)        \
    X(opt_set_beta1_one, INV, 0,                                               \
      return ae_optimizer_set(W.adam, AE_OPT_BETA1, 1.0);)                     \
    X(opt_set_beta2_negative, INV, 0,                                          \
      return ae_optimizer_set(W.adam, AE_OPT_BETA2, -0.1);)                    \
    X(opt_set_epsilon_zero, INV, 0,                                            \
      return ae_optimizer_set(W.adam, AE_OPT_EPSILON, 0.0);)                   \
    X(opt_set_momentum_one, INV, 0,                                            \
      return ae_optimizer_set(W.sgd, AE_OPT_MOMENTUM, 1.0);)                   \
    X(opt_set_weight_decay_negative, INV, 0,                                   \
      return ae_optimizer_set(W.sgd, AE_OPT_WEIGHT_DECAY, -1e-4);)             \
    X(opt_get_null, NUL, 0,                                                    \
      return ae_optimizer_get(NULL, AE_OPT_BETA1, W.out_d);)                   \
    X(opt_get_null_value, NUL, 0,                                              \
      return ae_optimizer_get(W.adam, AE_OPT_BETA1, NULL);)                    \
    X(opt_get_unknown, INV, 0,                                                 \
      return ae_optimizer_get(W.adam, (ae_optimizer_param)42, W.out_d);)       \
    X(opt_reset_null, NUL, 0, return ae_optimizer_reset(NULL);)                \
    /* ---- trainer ---- */                                                   \
    X(trainer_create_null_out, NUL, 0,                                         \
      return ae_trainer_create(NULL, W.m, W.adam);)                            \
    X(trainer_create_null_model, NUL, 1,                                       \
      return ae_trainer_create(&W.o_t, NULL, W.adam);)                         \
    X(trainer_create_null_opt, NUL, 1,                                         \
      return ae_trainer_create(&W.o_t, W.m, NULL);)                            \
    X(trainer_set_null, NUL, 0,                                                \
      return ae_trainer_set(NULL, AE_TRAIN_BATCH_SIZE, 8);)                    \
    X(trainer_set_unknown, INV, 0,                                             \
      return ae_trainer_set(W.t, (ae_train_param)99, 1);)                      \
    X(trainer_set_negative_param, INV, 0,                                      \
      return ae_trainer_set(W.t, (ae_train_param)-1, 1);)                      \
    X(trainer_set_loss_unknown, INV, 0,                                        \
      return ae_trainer_set(W.t, AE_TRAIN_LOSS, 2);)                           \
    X(trainer_set_loss_fraction, INV, 0,                                       \
      return ae_trainer_set(W.t, AE_TRAIN_LOSS, 0.5);)                         \
    X(trainer_set_l1_negative, INV, 0,                                         \
      return ae_trainer_set(W.t, AE_TRAIN_L1_CODE, -1e-3);)                    \
    X(trainer_set_l1_nan, INV, 0,                                              \
      return ae_trainer_set(W.t, AE_TRAIN_L1_CODE, NAN);)                      \
    X(trainer_set_noise_unknown, INV, 0,                                       \
      return ae_trainer_set(W.t, AE_TRAIN_NOISE, 3);)                          \
    X(trainer_set_noise_level_negative, INV, 0,                                \
      return ae_trainer_set(W.t, AE_TRAIN_NOISE_LEVEL, -0.3);)                 \
    X(trainer_set_noise_level_inf, INV, 0,                                     \
      return ae_trainer_set(W.t, AE_TRAIN_NOISE_LEVEL, INFINITY);)             \
    X(trainer_set_batch_zero, INV, 0,                                          \
      return ae_trainer_set(W.t, AE_TRAIN_BATCH_SIZE, 0);)                     \
    X(trainer_set_batch_negative, INV, 0,                                      \
      return ae_trainer_set(W.t, AE_TRAIN_BATCH_SIZE, -64);)                   \
    X(trainer_set_batch_fraction, INV, 0,                                      \
      return ae_trainer_set(W.t, AE_TRAIN_BATCH_SIZE, 2.5);)                   \
    X(trainer_set_batch_huge, INV, 0,                                          \
      return ae_trainer_set(W.t, AE_TRAIN_BATCH_SIZE, 1e300);)                 \
    X(trainer_set_shuffle_two, INV, 0,                                         \
      return ae_trainer_set(W.t, AE_TRAIN_SHUFFLE, 2);)                        \
    X(trainer_set_seed_negative, INV, 0,                                       \
      return ae_trainer_set(W.t, AE_TRAIN_SEED, -1);)                          \
    X(trainer_set_seed_huge, INV, 0,                                           \
      return ae_trainer_set(W.t, AE_TRAIN_SEED, 1e30);)                        \
    X(trainer_set_range_unknown, INV, 0,                                       \
      return ae_trainer_set(W.t, AE_TRAIN_RANGE, 2);)                          \
    X(trainer_get_null, NUL, 0,                                                \
      return ae_trainer_get(NULL, AE_TRAIN_SEED, W.out_d);)                    \
    X(trainer_get_null_value, NUL, 0,                                          \
      return ae_trainer_get(W.t, AE_TRAIN_SEED, NULL);)                        \
    X(trainer_get_unknown, INV, 0,                                             \
      return ae_trainer_get(W.t, (ae_train_param)99, W.out_d);)                \
    X(step_null_trainer, NUL, 0,                                               \
      return ae_trainer_step(NULL, W.x, NULL, 2, (float *)W.out_d);)           \
    X(step_null_input, NUL, 0,                                                 \
      return ae_trainer_step(W.t, NULL, NULL, 2, (float *)W.out_d);)           \
    X(step_batch_zero, INV, 0,                                                 \
      return ae_trainer_step(W.t, W.x, NULL, 0, (float *)W.out_d);)            \
    X(step_batch_huge, AE_ERR_LIMIT, 0,                                        \
      return ae_trainer_step(W.t, W.x, NULL, SIZE_MAX / 16,                    \
                             (float *)W.out_d);)                               \
    X(step_nan_input, NF, 0,                                                   \
      return ae_trainer_step(W.t, W.xnan, NULL, 2, (float *)W.out_d);)         \
    X(step_inf_target, NF, 0,                                                  \
      return ae_trainer_step(W.t, W.x, W.xinf, 2, (float *)W.out_d);)          \
    X(step_incomplete_model, S, 0,                                             \
      return ae_trainer_step(W.t_inc, W.x, NULL, 2, (float *)W.out_d);)        \
    X(step_salt_pepper_above_one, INV, 0,                                      \
      return ae_trainer_step(W.t_sp, W.x, NULL, 2, (float *)W.out_d);)         \
    X(fit_null_trainer, NUL, 0,                                                \
      return ae_trainer_fit(NULL, W.ds, NULL, 1, NULL, NULL);)                 \
    X(fit_null_train, NUL, 0,                                                  \
      return ae_trainer_fit(W.t, NULL, NULL, 1, NULL, NULL);)                  \
    X(fit_epochs_zero, INV, 0,                                                 \
      return ae_trainer_fit(W.t, W.ds, NULL, 0, NULL, NULL);)                  \
    X(fit_epochs_negative, INV, 0,                                             \
      return ae_trainer_fit(W.t, W.ds, NULL, -3, NULL, NULL);)                 \
    X(fit_shape_mismatch, S, 0,                                                \
      return ae_trainer_fit(W.t, W.ds4, NULL, 1, NULL, NULL);)                 \
    X(fit_validation_mismatch, S, 0,                                           \
      return ae_trainer_fit(W.t, W.ds, W.ds4, 1, NULL, NULL);)                 \
    X(fit_batch_larger_than_data, INV, 0, return fit_batch_too_large();)       \
    X(fit_salt_pepper_above_one, INV, 0,                                       \
      return ae_trainer_fit(W.t_sp, W.ds, NULL, 1, NULL, NULL);)               \
    X(fit_incomplete_model, S, 0,                                              \
      return ae_trainer_fit(W.t_inc, W.ds, NULL, 1, NULL, NULL);)              \
    X(evaluate_null_trainer, NUL, 0,                                           \
      return ae_trainer_evaluate(NULL, W.ds, W.out_d);)                        \
    X(evaluate_null_ds, NUL, 0, return ae_trainer_evaluate(W.t, NULL, W.out_d);) \
    X(evaluate_null_loss, NUL, 0, return ae_trainer_evaluate(W.t, W.ds, NULL);) \
    X(evaluate_shape_mismatch, S, 0,                                           \
      return ae_trainer_evaluate(W.t, W.ds4, W.out_d);)                        \
    X(evaluate_incomplete_model, S, 0,                                         \
      return ae_trainer_evaluate(W.t_inc, W.ds, W.out_d);)                     \
    X(trainer_set_checkpoint_every_negative, INV, 0,                           \
      return ae_trainer_set(W.t, AE_TRAIN_CHECKPOINT_EVERY, -1);)              \
    X(trainer_set_checkpoint_every_fraction, INV, 0,                           \
      return ae_trainer_set(W.t, AE_TRAIN_CHECKPOINT_EVERY, 0.5);)             \
    X(fit_checkpoints_without_path, INV, 0, return fit_without_path();)       \
    X(ckpt_save_null_trainer, NUL, 0,                                          \
      return ae_trainer_save_checkpoint(NULL, W.ckpt_path);)                   \
    X(ckpt_save_null_path, NUL, 0,                                             \
      return ae_trainer_save_checkpoint(W.t, NULL);)                           \
    X(ckpt_save_empty_path, INV, 0, return ae_trainer_save_checkpoint(W.t, "");) \
    X(ckpt_save_missing_folder, AE_ERR_IO, 0,                                  \
      return ae_trainer_save_checkpoint(W.t, W.missing);)                      \
    X(ckpt_save_onto_folder, AE_ERR_IO, 0,                                     \
      return ae_trainer_save_checkpoint(W.t, W.dir);)                          \
    X(ckpt_load_null_trainer, NUL, 0,                                          \
      return ae_trainer_load_checkpoint(NULL, W.ckpt_path);)                   \
    X(ckpt_load_null_path, NUL, 0,                                             \
      return ae_trainer_load_checkpoint(W.t, NULL);)                           \
    X(ckpt_load_missing, AE_ERR_IO, 0,                                         \
      return ae_trainer_load_checkpoint(W.t, W.missing);)                      \
    X(ckpt_load_folder, AE_ERR_IO, 0,                                          \
      return ae_trainer_load_checkpoint(W.t, W.dir);)                          \
    X(ckpt_load_model_file, AE_ERR_FORMAT, 0,                                  \
      return ae_trainer_load_checkpoint(W.t, W.model_path);)                   \
    X(ckpt_load_other_architecture, S, 0,                                      \
      return ae_trainer_load_checkpoint(W.t_inc, W.ckpt_path);)                \
    X(ckpt_load_other_optimizer, INV, 0,                                       \
      return ae_trainer_load_checkpoint(W.t_sp, W.ckpt_path);)                 \
    X(ckpt_path_null_trainer, NUL, 0,                                          \
      return ae_trainer_set_checkpoint_path(NULL, W.ckpt_path);)               \
    X(ckpt_path_empty, INV, 0, return ae_trainer_set_checkpoint_path(W.t, "");) \
    /* ---- training controls (since 0.2) ---- */                              \
    X(schedule_unknown, INV, 0,                                                \
      return ae_trainer_set(W.t, AE_TRAIN_LR_SCHEDULE, 5);)                    \
    X(schedule_negative, INV, 0,                                               \
      return ae_trainer_set(W.t, AE_TRAIN_LR_SCHEDULE, -1);)                   \
    X(schedule_step_size_zero, INV, 0,                                         \
      return ae_trainer_set(W.t, AE_TRAIN_LR_STEP_SIZE, 0);)                   \
    X(schedule_step_size_fraction, INV, 0,                                     \
      return ae_trainer_set(W.t, AE_TRAIN_LR_STEP_SIZE, 1.5);)                 \
    X(schedule_gamma_zero, INV, 0,                                             \
      return ae_trainer_set(W.t, AE_TRAIN_LR_GAMMA, 0);)                       \
    X(schedule_gamma_negative, INV, 0,                                         \
      return ae_trainer_set(W.t, AE_TRAIN_LR_GAMMA, -0.5);)                    \
    X(schedule_gamma_nan, INV, 0,                                              \
      return ae_trainer_set(W.t, AE_TRAIN_LR_GAMMA, NAN);)                     \
    X(schedule_t_max_zero, INV, 0,                                             \
      return ae_trainer_set(W.t, AE_TRAIN_LR_T_MAX, 0);)                       \
    X(schedule_t_max_huge, INV, 0,                                             \
      return ae_trainer_set(W.t, AE_TRAIN_LR_T_MAX, 1e10);)                    \
    X(schedule_min_lr_negative, INV, 0,                                        \
      return ae_trainer_set(W.t, AE_TRAIN_LR_MIN, -1e-6);)                     \
    X(schedule_min_lr_inf, INV, 0,                                             \
      return ae_trainer_set(W.t, AE_TRAIN_LR_MIN, INFINITY);)                  \
    X(plateau_factor_zero, INV, 0,                                             \
      return ae_trainer_set(W.t, AE_TRAIN_PLATEAU_FACTOR, 0);)                 \
    X(plateau_factor_one, INV, 0,                                              \
      return ae_trainer_set(W.t, AE_TRAIN_PLATEAU_FACTOR, 1);)                 \
    X(plateau_patience_negative, INV, 0,                                       \
      return ae_trainer_set(W.t, AE_TRAIN_PLATEAU_PATIENCE, -1);)              \
    X(plateau_threshold_one, INV, 0,                                           \
      return ae_trainer_set(W.t, AE_TRAIN_PLATEAU_THRESHOLD, 1);)              \
    X(plateau_threshold_negative, INV, 0,                                      \
      return ae_trainer_set(W.t, AE_TRAIN_PLATEAU_THRESHOLD, -1e-4);)          \
    X(plateau_cooldown_negative, INV, 0,                                       \
      return ae_trainer_set(W.t, AE_TRAIN_PLATEAU_COOLDOWN, -2);)              \
    X(early_stop_patience_negative, INV, 0,                                    \
      return ae_trainer_set(W.t, AE_TRAIN_EARLY_STOP_PATIENCE, -1);)           \
    X(early_stop_patience_fraction, INV, 0,                                    \
      return ae_trainer_set(W.t, AE_TRAIN_EARLY_STOP_PATIENCE, 2.5);)          \
    X(early_stop_min_delta_negative, INV, 0,                                   \
      return ae_trainer_set(W.t, AE_TRAIN_EARLY_STOP_MIN_DELTA, -1e-3);)       \
    X(early_stop_min_delta_nan, INV, 0,                                        \
      return ae_trainer_set(W.t, AE_TRAIN_EARLY_STOP_MIN_DELTA, NAN);)         \
    X(clip_norm_negative, INV, 0,                                              \
      return ae_trainer_set(W.t, AE_TRAIN_CLIP_NORM, -1);)                     \
    X(clip_norm_inf, INV, 0,                                                   \
      return ae_trainer_set(W.t, AE_TRAIN_CLIP_NORM, INFINITY);)               \
    X(early_stop_without_validation, INV, 0,                                   \
      return fit_early_stop_without_validation();)                             \
    X(fit_outcome_null, NUL, 0,                                                \
      return ae_trainer_fit_outcome(NULL, NULL, NULL, NULL, W.out_d);)         \
    X(learning_rate_null_trainer, NUL, 0,                                      \
      return ae_trainer_learning_rate(NULL, W.out_d);)                         \
    X(learning_rate_null_out, NUL, 0,                                          \
      return ae_trainer_learning_rate(W.t, NULL);)                             \
    /* ---- metrics ---- */                                                   \
    X(metrics_create_null_out, NUL, 0,                                         \
      return ae_metrics_create(NULL, 1, 8, 8, 1.0f);)                          \
    X(metrics_create_channels_zero, INV, 1,                                    \
      return ae_metrics_create(&W.o_mt, 0, 8, 8, 1.0f);)                       \
    X(metrics_create_height_negative, INV, 1,                                  \
      return ae_metrics_create(&W.o_mt, 1, -8, 8, 1.0f);)                      \
    X(metrics_create_range_zero, INV, 1,                                       \
      return ae_metrics_create(&W.o_mt, 1, 8, 8, 0.0f);)                       \
    X(metrics_create_range_negative, INV, 1,                                   \
      return ae_metrics_create(&W.o_mt, 1, 8, 8, -1.0f);)                      \
    X(metrics_create_range_nan, INV, 1,                                        \
      return ae_metrics_create(&W.o_mt, 1, 8, 8, NAN);)                        \
    X(metrics_create_range_inf, INV, 1,                                        \
      return ae_metrics_create(&W.o_mt, 1, 8, 8, INFINITY);)                   \
    X(metrics_create_too_large, AE_ERR_LIMIT, 1,                               \
      return ae_metrics_create(&W.o_mt, INT_MAX, INT_MAX, INT_MAX, 1.0f);)     \
    X(metrics_window_null, NUL, 0,                                             \
      return ae_metrics_set_ssim_window(NULL, AE_SSIM_GAUSSIAN11);)            \
    X(metrics_window_unknown, INV, 0,                                          \
      return ae_metrics_set_ssim_window(W.mt_empty, (ae_ssim_window)2);)       \
    X(metrics_window_after_images, AE_ERR_BAD_STATE, 0,                        \
      return ae_metrics_set_ssim_window(W.mt, AE_SSIM_GAUSSIAN11);)            \
    X(metrics_update_null, NUL, 0,                                             \
      return ae_metrics_update(NULL, W.x, W.x, 1);)                            \
    X(metrics_update_null_reference, NUL, 0,                                   \
      return ae_metrics_update(W.mt, NULL, W.x, 1);)                           \
    X(metrics_update_null_test, NUL, 0,                                        \
      return ae_metrics_update(W.mt, W.x, NULL, 1);)                           \
    X(metrics_update_batch_zero, AE_OK, 0,                                     \
      return ae_metrics_update(W.mt, W.x, W.x, 0);)                            \
    X(metrics_update_batch_huge, AE_ERR_LIMIT, 0,                              \
      return ae_metrics_update(W.mt, W.x, W.x, SIZE_MAX / 8);)                 \
    X(metrics_update_nan_reference, NF, 0,                                     \
      return ae_metrics_update(W.mt, W.xnan, W.x, 2);)                         \
    X(metrics_update_inf_test, NF, 0,                                          \
      return ae_metrics_update(W.mt, W.x, W.xinf, 2);)                         \
    X(metrics_update_nan_in_second_image, NF, 0,                               \
      return ae_metrics_update(W.mt, W.x, W.xlate, 2);)                        \
    X(metrics_value_null, NUL, 0,                                              \
      return ae_metrics_value(NULL, AE_METRIC_MSE, W.out_d);)                  \
    X(metrics_value_null_out, NUL, 0,                                          \
      return ae_metrics_value(W.mt, AE_METRIC_MSE, NULL);)                     \
    X(metrics_value_unknown, INV, 0,                                           \
      return ae_metrics_value(W.mt, (ae_metric)4, W.out_d);)                   \
    X(metrics_value_negative, INV, 0,                                          \
      return ae_metrics_value(W.mt, (ae_metric)-1, W.out_d);)                  \
    X(metrics_value_nothing_added, INV, 0,                                     \
      return ae_metrics_value(W.mt_empty, AE_METRIC_PSNR, W.out_d);)           \
    X(metrics_value_ssim_too_small, S, 0,                                      \
      return ae_metrics_value(W.mt4, AE_METRIC_SSIM, W.out_d);)                \
    /* ---- PCA ---- */                                                       \
    X(pca_create_null_out, NUL, 0, return ae_pca_create(NULL, 2);)             \
    X(pca_create_zero, INV, 1, return ae_pca_create(&W.o_pca, 0);)             \
    X(pca_create_negative, INV, 1, return ae_pca_create(&W.o_pca, -2);)        \
    X(pca_fit_null, NUL, 0, return ae_pca_fit(NULL, W.x, 12, 10);)             \
    X(pca_fit_null_x, NUL, 0, return ae_pca_fit(W.pca, NULL, 12, 10);)         \
    X(pca_fit_one_row, INV, 0, return ae_pca_fit(W.pca, W.x, 1, 10);)          \
    X(pca_fit_zero_rows, INV, 0, return ae_pca_fit(W.pca, W.x, 0, 10);)        \
    X(pca_fit_zero_dim, INV, 0, return ae_pca_fit(W.pca, W.x, 12, 0);)         \
    X(pca_fit_components_above_dim, INV, 0,                                    \
      return ae_pca_fit(W.pca, W.x, 12, 2);)                                   \
    X(pca_fit_components_above_rows, INV, 0,                                   \
      return ae_pca_fit(W.pca, W.x, 2, 10);)                                   \
    X(pca_fit_overflow, AE_ERR_LIMIT, 0,                                       \
      return ae_pca_fit(W.pca, W.x, SIZE_MAX / 2, 10);)                        \
    X(pca_fit_nan, NF, 0, return ae_pca_fit(W.pca, W.xnan, 12, 10);)           \
    X(pca_fit_inf, NF, 0, return ae_pca_fit(W.pca, W.xinf, 12, 10);)           \
    X(pca_fit_dataset_null, NUL, 0, return ae_pca_fit_dataset(NULL, W.ds);)    \
    X(pca_fit_dataset_null_ds, NUL, 0, return ae_pca_fit_dataset(W.pca, NULL);) \
    X(pca_fit_dataset_components_above_rows, INV, 0,                           \
      return ae_pca_fit_dataset(W.pca_big, W.ds);)                             \
    X(pca_transform_null, NUL, 0,                                              \
      return ae_pca_transform(NULL, W.x, 1, W.out);)                           \
    X(pca_transform_null_x, NUL, 0,                                            \
      return ae_pca_transform(W.pca, NULL, 1, W.out);)                         \
    X(pca_transform_null_codes, NUL, 0,                                        \
      return ae_pca_transform(W.pca, W.x, 1, NULL);)                           \
    X(pca_transform_unfitted, AE_ERR_BAD_STATE, 0,                             \
      return ae_pca_transform(W.pca_u, W.x, 1, W.out);)                        \
    X(pca_transform_zero_rows, AE_OK, 0,                                       \
      return ae_pca_transform(W.pca, W.x, 0, W.out);)                          \
    X(pca_transform_overflow, AE_ERR_LIMIT, 0,                                 \
      return ae_pca_transform(W.pca, W.x, SIZE_MAX / 4, W.out);)               \
    X(pca_transform_nan, NF, 0,                                                \
      return ae_pca_transform(W.pca, W.xnan, 2, W.out);)                       \
    X(pca_inverse_null, NUL, 0,                                                \
      return ae_pca_inverse_transform(NULL, W.x, 1, W.out);)                   \
    X(pca_inverse_null_codes, NUL, 0,                                          \
      return ae_pca_inverse_transform(W.pca, NULL, 1, W.out);)                 \
    X(pca_inverse_null_x, NUL, 0,                                              \
      return ae_pca_inverse_transform(W.pca, W.x, 1, NULL);)                   \
    X(pca_inverse_unfitted, AE_ERR_BAD_STATE, 0,                               \
      return ae_pca_inverse_transform(W.pca_u, W.x, 1, W.out);)                \
    X(pca_inverse_zero_rows, AE_OK, 0,                                         \
      return ae_pca_inverse_transform(W.pca, W.x, 0, W.out);)                  \
    X(pca_inverse_inf, NF, 0,                                                  \
      return ae_pca_inverse_transform(W.pca, W.xinf, 2, W.out);)               \
    X(pca_components_null, NUL, 0,                                             \
      return ae_pca_get_components(NULL, W.out, 30);)                          \
    X(pca_components_null_out, NUL, 0,                                         \
      return ae_pca_get_components(W.pca, NULL, 30);)                          \
    X(pca_components_wrong_count, S, 0,                                        \
      return ae_pca_get_components(W.pca, W.out, 29);)                         \
    X(pca_components_unfitted, AE_ERR_BAD_STATE, 0,                            \
      return ae_pca_get_components(W.pca_u, W.out, 30);)                       \
    X(pca_mean_null, NUL, 0, return ae_pca_get_mean(NULL, W.out, 10);)         \
    X(pca_mean_wrong_count, S, 0, return ae_pca_get_mean(W.pca, W.out, 11);)   \
    X(pca_mean_unfitted, AE_ERR_BAD_STATE, 0,                                  \
      return ae_pca_get_mean(W.pca_u, W.out, 10);)                             \
    X(pca_variance_null_out, NUL, 0,                                           \
      return ae_pca_explained_variance(W.pca, NULL, 3);)                       \
    X(pca_variance_wrong_count, S, 0,                                          \
      return ae_pca_explained_variance(W.pca, W.out_d, 2);)                    \
    X(pca_variance_unfitted, AE_ERR_BAD_STATE, 0,                              \
      return ae_pca_explained_variance(W.pca_u, W.out_d, 3);)                  \
    X(pca_ratio_null, NUL, 0,                                                  \
      return ae_pca_explained_variance_ratio(NULL, W.out_d, 3);)               \
    X(pca_ratio_wrong_count, S, 0,                                             \
      return ae_pca_explained_variance_ratio(W.pca, W.out_d, 4);)              \
    X(pca_ratio_unfitted, AE_ERR_BAD_STATE, 0,                                 \
      return ae_pca_explained_variance_ratio(W.pca_u, W.out_d, 3);)            \
    /* ---- t-SNE ---- */                                                     \
    X(tsne_create_null_out, NUL, 0, return ae_tsne_create(NULL, 2);)           \
    X(tsne_create_one_dim, INV, 1, return ae_tsne_create(&W.o_ts, 1);)         \
    X(tsne_create_four_dims, INV, 1, return ae_tsne_create(&W.o_ts, 4);)       \
    X(tsne_set_null, NUL, 0, return ae_tsne_set(NULL, AE_TSNE_SEED, 1);)       \
    X(tsne_set_unknown, INV, 0, return ae_tsne_set(W.ts, (ae_tsne_param)6, 1);) \
    X(tsne_set_negative_param, INV, 0,                                         \
      return ae_tsne_set(W.ts, (ae_tsne_param)-1, 1);)                         \
    X(tsne_set_perplexity_below_one, INV, 0,                                   \
      return ae_tsne_set(W.ts, AE_TSNE_PERPLEXITY, 0.5);)                      \
    X(tsne_set_perplexity_nan, INV, 0,                                         \
      return ae_tsne_set(W.ts, AE_TSNE_PERPLEXITY, NAN);)                      \
    X(tsne_set_perplexity_inf, INV, 0,                                         \
      return ae_tsne_set(W.ts, AE_TSNE_PERPLEXITY, INFINITY);)                 \
    X(tsne_set_iterations_zero, INV, 0,                                        \
      return ae_tsne_set(W.ts, AE_TSNE_ITERATIONS, 0);)                        \
    X(tsne_set_iterations_fraction, INV, 0,                                    \
      return ae_tsne_set(W.ts, AE_TSNE_ITERATIONS, 10.5);)                     \
    X(tsne_set_iterations_huge, INV, 0,                                        \
      return ae_tsne_set(W.ts, AE_TSNE_ITERATIONS, 1e7);)                      \
    X(tsne_set_learning_rate_zero, INV, 0,                                     \
      return ae_tsne_set(W.ts, AE_TSNE_LEARNING_RATE, 0);)                     \
    X(tsne_set_learning_rate_negative, INV, 0,                                 \
      return ae_tsne_set(W.ts, AE_TSNE_LEARNING_RATE, -200);)                  \
    X(tsne_set_learning_rate_huge, INV, 0,                                     \
      return ae_tsne_set(W.ts, AE_TSNE_LEARNING_RATE, 2e6);)                   \
    X(tsne_set_exaggeration_below_one, INV, 0,                                 \
      return ae_tsne_set(W.ts, AE_TSNE_EARLY_EXAGGERATION, 0.5);)              \
    X(tsne_set_exaggeration_huge, INV, 0,                                      \
      return ae_tsne_set(W.ts, AE_TSNE_EARLY_EXAGGERATION, 1001);)             \
    X(tsne_set_seed_negative, INV, 0,                                          \
      return ae_tsne_set(W.ts, AE_TSNE_SEED, -1);)                             \
    X(tsne_set_seed_huge, INV, 0, return ae_tsne_set(W.ts, AE_TSNE_SEED, 1e20);) \
    X(tsne_set_exaggeration_iterations_negative, INV, 0,                       \
      return ae_tsne_set(W.ts, AE_TSNE_EXAGGERATION_ITERATIONS, -1);)          \
    X(tsne_get_null, NUL, 0,                                                   \
      return ae_tsne_get(NULL, AE_TSNE_SEED, W.out_d);)                        \
    X(tsne_get_null_value, NUL, 0,                                             \
      return ae_tsne_get(W.ts, AE_TSNE_SEED, NULL);)                           \
    X(tsne_get_unknown, INV, 0,                                                \
      return ae_tsne_get(W.ts, (ae_tsne_param)17, W.out_d);)                   \
    X(tsne_run_null, NUL, 0, return ae_tsne_run(NULL, W.x, 100, 3, W.out);)    \
    X(tsne_run_null_x, NUL, 0, return ae_tsne_run(W.ts, NULL, 100, 3, W.out);) \
    X(tsne_run_null_y, NUL, 0, return ae_tsne_run(W.ts, W.x, 100, 3, NULL);)   \
    X(tsne_run_three_points, INV, 0,                                           \
      return ae_tsne_run(W.ts, W.x, 3, 3, W.out);)                             \
    X(tsne_run_dim_zero, INV, 0, return ae_tsne_run(W.ts, W.x, 100, 0, W.out);) \
    X(tsne_run_too_many_points, AE_ERR_LIMIT, 0,                               \
      return ae_tsne_run(W.ts, W.x, AE_TSNE_MAX_POINTS + 1, 1, W.out);)        \
    X(tsne_run_perplexity_too_large, INV, 0,                                   \
      return ae_tsne_run(W.ts, W.x, 90, 3, W.out);)                            \
    X(tsne_run_dim_overflow, AE_ERR_LIMIT, 0,                                  \
      return ae_tsne_run(W.ts, W.x, 100, SIZE_MAX / 50, W.out);)               \
    X(tsne_run_nan, NF, 0, return ae_tsne_run(W.ts, W.xnan, 100, 3, W.out);)   \
    X(tsne_run_inf, NF, 0, return ae_tsne_run(W.ts, W.xinf, 100, 3, W.out);)   \
    X(tsne_kl_null, NUL, 0, return ae_tsne_kl_divergence(NULL, W.out_d);)      \
    X(tsne_kl_null_out, NUL, 0, return ae_tsne_kl_divergence(W.ts, NULL);)     \
    X(tsne_kl_before_run, AE_ERR_BAD_STATE, 0,                                 \
      return ae_tsne_kl_divergence(W.ts, W.out_d);)                            \
    /* ---- ae_image_grid_write_png ---- */                                   \
    X(grid_null_path, NUL, 0,                                                  \
      return ae_image_grid_write_png(NULL, W.x, 2, 2, 1, 8, 8, 0, 1, 1);)      \
    X(grid_null_tiles, NUL, 0,                                                 \
      return ae_image_grid_write_png(W.grid, NULL, 2, 2, 1, 8, 8, 0, 1, 1);)   \
    X(grid_empty_path, INV, 0,                                                 \
      return ae_image_grid_write_png("", W.x, 2, 2, 1, 8, 8, 0, 1, 1);)        \
    X(grid_count_zero, INV, 0,                                                 \
      return ae_image_grid_write_png(W.grid, W.x, 0, 2, 1, 8, 8, 0, 1, 1);)    \
    X(grid_cols_zero, INV, 0,                                                  \
      return ae_image_grid_write_png(W.grid, W.x, 2, 0, 1, 8, 8, 0, 1, 1);)    \
    X(grid_cols_negative, INV, 0,                                              \
      return ae_image_grid_write_png(W.grid, W.x, 2, -2, 1, 8, 8, 0, 1, 1);)   \
    X(grid_channels_two, INV, 0,                                               \
      return ae_image_grid_write_png(W.grid, W.x, 2, 2, 2, 8, 8, 0, 1, 1);)    \
    X(grid_channels_zero, INV, 0,                                              \
      return ae_image_grid_write_png(W.grid, W.x, 2, 2, 0, 8, 8, 0, 1, 1);)    \
    X(grid_height_zero, INV, 0,                                                \
      return ae_image_grid_write_png(W.grid, W.x, 2, 2, 1, 0, 8, 0, 1, 1);)    \
    X(grid_width_huge, INV, 0,                                                 \
      return ae_image_grid_write_png(W.grid, W.x, 2, 2, 1, 8, 4097, 0, 1, 1);) \
    X(grid_scale_zero, INV, 0,                                                 \
      return ae_image_grid_write_png(W.grid, W.x, 2, 2, 1, 8, 8, 0, 1, 0);)    \
    X(grid_scale_17, INV, 0,                                                   \
      return ae_image_grid_write_png(W.grid, W.x, 2, 2, 1, 8, 8, 0, 1, 17);)   \
    X(grid_lo_nan, INV, 0,                                                     \
      return ae_image_grid_write_png(W.grid, W.x, 2, 2, 1, 8, 8, NAN, 1, 1);)  \
    X(grid_hi_inf, INV, 0,                                                     \
      return ae_image_grid_write_png(W.grid, W.x, 2, 2, 1, 8, 8, 0, INFINITY,  \
                                     1);)                                      \
    X(grid_nan_tile, NF, 0,                                                    \
      return ae_image_grid_write_png(W.grid, W.xnan, 2, 2, 1, 8, 8, 0, 1, 1);) \
    X(grid_inf_tile_stretched, NF, 0,                                          \
      return ae_image_grid_write_png(W.grid, W.xinf, 2, 2, 1, 8, 8, 1, 0, 1);) \
    X(grid_too_wide, AE_ERR_LIMIT, 0,                                          \
      return ae_image_grid_write_png(W.grid, W.x, 10, 10, 1, 1, 4096, 0, 1,    \
                                     16);)                                     \
    X(grid_count_overflow, AE_ERR_LIMIT, 0,                                    \
      return ae_image_grid_write_png(W.grid, W.x, SIZE_MAX / 2, 1 << 30, 1,    \
                                     8, 8, 0, 1, 1);)                          \
    X(grid_missing_folder, AE_ERR_IO, 0,                                       \
      return ae_image_grid_write_png(W.missing, W.x, 2, 2, 1, 8, 8, 0, 1,      \
                                     1);)                                      \
    X(grid_onto_folder, AE_ERR_IO, 0,                                          \
      return ae_image_grid_write_png(W.dir, W.x, 2, 2, 1, 8, 8, 0, 1, 1);)     \
    /* ---- ae_image_write_png ---- */                                        \
    X(image_null_path, NUL, 0,                                                 \
      return ae_image_write_png(NULL, W.x, 1, 8, 8, 0, 1);)                    \
    X(image_null_pixels, NUL, 0,                                               \
      return ae_image_write_png(W.grid, NULL, 1, 8, 8, 0, 1);)                 \
    X(image_empty_path, INV, 0,                                                \
      return ae_image_write_png("", W.x, 1, 8, 8, 0, 1);)                      \
    X(image_channels_two, INV, 0,                                              \
      return ae_image_write_png(W.grid, W.x, 2, 8, 8, 0, 1);)                  \
    X(image_height_zero, INV, 0,                                               \
      return ae_image_write_png(W.grid, W.x, 1, 0, 8, 0, 1);)                  \
    X(image_width_negative, INV, 0,                                            \
      return ae_image_write_png(W.grid, W.x, 1, 8, -8, 0, 1);)                 \
    X(image_width_huge, INV, 0,                                                \
      return ae_image_write_png(W.grid, W.x, 1, 8, 4097, 0, 1);)               \
    X(image_lo_inf, INV, 0,                                                    \
      return ae_image_write_png(W.grid, W.x, 1, 8, 8, -INFINITY, 1);)          \
    X(image_hi_nan, INV, 0,                                                    \
      return ae_image_write_png(W.grid, W.x, 1, 8, 8, 0, NAN);)                \
    X(image_nan_pixel, NF, 0,                                                  \
      return ae_image_write_png(W.grid, W.xnan, 1, 8, 8, 0, 1);)               \
    X(image_inf_pixel_stretched, NF, 0,                                        \
      return ae_image_write_png(W.grid, W.xinf, 3, 8, 8, 1, 0);)               \
    X(image_missing_folder, AE_ERR_IO, 0,                                      \
      return ae_image_write_png(W.missing, W.x, 1, 8, 8, 0, 1);)               \
    X(image_onto_folder, AE_ERR_IO, 0,                                         \
      return ae_image_write_png(W.dir, W.x, 1, 8, 8, 0, 1);)                   \
    /* ---- ae_dataset_load_png_folder ---- */                                \
    X(png_folder_null_out, NUL, 0,                                             \
      return ae_dataset_load_png_folder(NULL, W.dir);)                         \
    X(png_folder_null_dir, NUL, 1,                                             \
      return ae_dataset_load_png_folder(&W.o_ds, NULL);)                       \
    X(png_folder_empty_path, INV, 1,                                           \
      return ae_dataset_load_png_folder(&W.o_ds, "");)                         \
    X(png_folder_missing, AE_ERR_IO, 1,                                        \
      return ae_dataset_load_png_folder(&W.o_ds, W.missing);)                  \
    X(png_folder_a_file, AE_ERR_IO, 1,                                         \
      return ae_dataset_load_png_folder(&W.o_ds, W.path);)                     \
    X(png_folder_no_classes, AE_ERR_FORMAT, 1,                                 \
      return ae_dataset_load_png_folder(&W.o_ds, W.png_empty);)                \
    X(png_folder_class_without_png, AE_ERR_FORMAT, 1,                          \
      return ae_dataset_load_png_folder(&W.o_ds, W.png_noclassfiles);)         \
    X(png_folder_corrupt_png, AE_ERR_FORMAT, 1,                                \
      return ae_dataset_load_png_folder(&W.o_ds, W.png_corrupt);)              \
    X(png_folder_mixed_sizes, S, 1,                                            \
      return ae_dataset_load_png_folder(&W.o_ds, W.png_mixed);)                \
    /* ---- ae_dataset_class_name ---- */                                     \
    X(class_name_null_ds, NUL, 0,                                              \
      return ae_dataset_class_name(NULL, 0, &W.o_name);)                       \
    X(class_name_null_out, NUL, 0,                                             \
      return ae_dataset_class_name(W.dspng, 0, NULL);)                         \
    X(class_name_idx_dataset, AE_ERR_UNSUPPORTED, 0,                           \
      return ae_dataset_class_name(W.ds, 0, &W.o_name);)                       \
    X(class_name_past_end, INV, 0,                                             \
      return ae_dataset_class_name(W.dspng, 2, &W.o_name);)                    \
    X(class_name_negative, INV, 0,                                             \
      return ae_dataset_class_name(W.dspng, -1, &W.o_name);)                   \
    /* ---- training step by step ---- */                                     \
    X(forward_train_null_model, NUL, 0,                                        \
      const float *y; return ae_model_forward_train(NULL, W.x, 1, &y, NULL);) \
    X(forward_train_null_input, NUL, 0,                                        \
      const float *y; return ae_model_forward_train(W.m, NULL, 1, &y, NULL);) \
    X(forward_train_null_output, NUL, 0,                                       \
      return ae_model_forward_train(W.m, W.x, 1, NULL, NULL);)                 \
    X(forward_train_zero_batch, INV, 0,                                        \
      const float *y; return ae_model_forward_train(W.m, W.x, 0, &y, NULL);)  \
    X(forward_train_nan, NF, 0,                                                \
      const float *y; return ae_model_forward_train(W.m, W.xnan, N, &y, NULL);) \
    X(forward_train_late_nan, NF, 0,                                           \
      const float *y;                                                          \
      return ae_model_forward_train(W.m, W.xlate, 2, &y, NULL);)               \
    X(forward_train_incomplete, S, 0,                                          \
      const float *y; return ae_model_forward_train(W.mb, W.x, 1, &y, NULL);) \
    X(backward_null_model, NUL, 0,                                             \
      return ae_model_backward(NULL, W.x, NULL, 0);)                           \
    X(backward_null_gradient, NUL, 0,                                          \
      return ae_model_backward(W.m, NULL, NULL, 0);)                           \
    X(backward_unknown_flags, INV, 0,                                          \
      return ae_model_backward(W.m, W.x, NULL, 2);)                            \
    X(backward_before_forward, AE_ERR_BAD_STATE, 0,                            \
      return ae_model_backward(W.m, W.x, NULL, 0);)                            \
    X(zero_gradients_null, NUL, 0, return ae_model_zero_gradients(NULL);)     \
    X(get_gradients_null_model, NUL, 0,                                        \
      return ae_model_get_gradients(NULL, W.out, 1);)                          \
    X(get_gradients_null_out, NUL, 0,                                          \
      return ae_model_get_gradients(W.m, NULL, ae_model_param_count(W.m));)    \
    X(get_gradients_wrong_count, S, 0,                                         \
      return ae_model_get_gradients(W.m, W.out, 3);)                           \
    X(optimizer_step_null_opt, NUL, 0, return ae_optimizer_step(NULL, W.m);)  \
    X(optimizer_step_null_model, NUL, 0,                                       \
      return ae_optimizer_step(W.adam, NULL);)                                 \
    X(loss_null_output, NUL, 0,                                                \
      return ae_loss_compute(AE_LOSS_MSE, NULL, W.x, 4, 0, W.out, W.out_d);)   \
    X(loss_null_target, NUL, 0,                                                \
      return ae_loss_compute(AE_LOSS_MSE, W.x, NULL, 4, 0, W.out, W.out_d);)   \
    X(loss_null_grad, NUL, 0,                                                  \
      return ae_loss_compute(AE_LOSS_MSE, W.x, W.x, 4, 0, NULL, W.out_d);)     \
    X(loss_null_value, NUL, 0,                                                 \
      return ae_loss_compute(AE_LOSS_MSE, W.x, W.x, 4, 0, W.out, NULL);)       \
    X(loss_unknown_kind, INV, 0,                                               \
      return ae_loss_compute((ae_loss)7, W.x, W.x, 4, 0, W.out, W.out_d);)     \
    X(loss_zero_n, INV, 0,                                                     \
      return ae_loss_compute(AE_LOSS_MSE, W.x, W.x, 0, 0, W.out, W.out_d);)    \
    X(loss_preactivation_mse, INV, 0,                                          \
      return ae_loss_compute(AE_LOSS_MSE, W.x, W.x, 4,                         \
                             AE_GRAD_PREACTIVATION, W.out, W.out_d);)          \
    X(loss_bce_out_of_range, INV, 0,                                           \
      const float y[4] = {0.5f, 2.0f, 0.5f, 0.5f};                             \
      return ae_loss_compute(AE_LOSS_BCE, y, W.x, 4, 0, W.out, W.out_d);)      \
    X(loss_inf, NF, 0,                                                         \
      return ae_loss_compute(AE_LOSS_BCE, W.xinf, W.x, 8, 0, W.out, W.out_d);) \
    X(loss_mse_nan, NF, 0,                                                     \
      return ae_loss_compute(AE_LOSS_MSE, W.xnan, W.x, 8, 0, W.out, W.out_d);) \
    /* ---- variational autoencoders ---- */                                 \
    X(gaussian_sample_null, NUL, 0,                                            \
      return ae_model_add_gaussian_sample(NULL, AE_ENCODER);)                  \
    X(gaussian_sample_odd_input, S, 0, return odd_input_to_sampling();)        \
    X(gaussian_sample_in_decoder, INV, 0,                                      \
      return ae_model_add_gaussian_sample(W.m, AE_DECODER);)                   \
    X(gaussian_sample_after_decoder, INV, 0,                                   \
      return ae_model_add_gaussian_sample(W.m, AE_ENCODER);)                   \
    X(gaussian_sample_bad_part, INV, 0,                                        \
      return ae_model_add_gaussian_sample(W.mb, (ae_part)5);)                  \
    X(encoder_layer_after_sampling, INV, 0,                                    \
      return encoder_layer_after_sampling();)                                  \
    X(train_kl_beta_negative, INV, 0,                                          \
      return ae_trainer_set(W.t, AE_TRAIN_KL_BETA, -0.5);)                     \
    X(train_kl_beta_nan, INV, 0,                                               \
      return ae_trainer_set(W.t, AE_TRAIN_KL_BETA, NAN);)                      \
    X(train_kl_beta_inf, INV, 0,                                               \
      return ae_trainer_set(W.t, AE_TRAIN_KL_BETA, INFINITY);)                 \
    X(train_kl_beta_beyond_float, INV, 0,                                      \
      return ae_trainer_set(W.t, AE_TRAIN_KL_BETA, 1e300);)                    \
    X(train_sum_per_image_2, INV, 0,                                           \
      return ae_trainer_set(W.t, AE_TRAIN_SUM_PER_IMAGE, 2);)                  \
    X(train_sum_per_image_half, INV, 0,                                        \
      return ae_trainer_set(W.t, AE_TRAIN_SUM_PER_IMAGE, 0.5);)                \
    X(set_sample_seed_null, NUL, 0, return ae_model_set_sample_seed(NULL, 1);) \
    X(set_kl_weight_null, NUL, 0, return ae_model_set_kl_weight(NULL, 1.0);)  \
    X(set_kl_weight_negative, INV, 0,                                          \
      return ae_model_set_kl_weight(W.m, -1.0);)                               \
    X(set_kl_weight_nan, INV, 0, return ae_model_set_kl_weight(W.m, NAN);)    \
    X(kl_divergence_null_model, NUL, 0,                                        \
      return ae_model_kl_divergence(NULL, W.out_d);)                           \
    X(kl_divergence_null_out, NUL, 0,                                          \
      return ae_model_kl_divergence(W.m, NULL);)                               \
    X(kl_divergence_no_sampling_layer, INV, 0,                                 \
      return ae_model_kl_divergence(W.m, W.out_d);)                            \
    X(kl_divergence_before_forward, AE_ERR_BAD_STATE, 0,                       \
      return kl_before_forward();)                                             \
    X(generate_null_model, NUL, 0,                                             \
      return ae_model_generate(NULL, 1, 2, W.out);)                            \
    X(generate_null_out, NUL, 0, return ae_model_generate(W.m, 1, 2, NULL);)  \
    X(generate_zero, INV, 0, return ae_model_generate(W.m, 1, 0, W.out);)     \
    X(generate_incomplete, S, 0, return ae_model_generate(W.mb, 1, 2, W.out);) \
    X(generate_too_many, AE_ERR_LIMIT, 0,                                      \
      return ae_model_generate(W.m, 1, SIZE_MAX / 2, W.out);)                  \
    X(last_terms_null, NUL, 0,                                                 \
      return ae_trainer_last_terms(NULL, NULL, NULL);)                         \
    X(evaluate_terms_null_trainer, NUL, 0,                                     \
      ae_loss_terms lt; return ae_trainer_evaluate_terms(NULL, W.ds, &lt);)    \
    X(evaluate_terms_null_dataset, NUL, 0,                                     \
      ae_loss_terms lt; return ae_trainer_evaluate_terms(W.t, NULL, &lt);)     \
    X(evaluate_terms_null_out, NUL, 0,                                         \
      return ae_trainer_evaluate_terms(W.t, W.ds, NULL);)                      \
    X(evaluate_terms_wrong_shape, S, 0,                                        \
      ae_loss_terms lt; return ae_trainer_evaluate_terms(W.t, W.ds4, &lt);)    \
    /* ---- NumPy arrays ---- */                                              \
    X(npy_save_null_path, NUL, 0,                                              \
      size_t sh[1] = {4}; return ae_npy_save(NULL, AE_NPY_F32, W.x, sh, 1);)  \
    X(npy_save_null_data, NUL, 0,                                              \
      size_t sh[1] = {4};                                                      \
      return ae_npy_save(W.path, AE_NPY_F32, NULL, sh, 1);)                    \
    X(npy_save_null_shape, NUL, 0,                                             \
      return ae_npy_save(W.path, AE_NPY_F32, W.x, NULL, 1);)                   \
    X(npy_save_empty_path, INV, 0,                                             \
      size_t sh[1] = {4}; return ae_npy_save("", AE_NPY_F32, W.x, sh, 1);)    \
    X(npy_save_unknown_type, INV, 0,                                           \
      size_t sh[1] = {4};                                                      \
      return ae_npy_save(W.path, (ae_npy_type)5, W.x, sh, 1);)                 \
    X(npy_save_too_many_dims, INV, 0,                                          \
      size_t sh[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};                              \
      return ae_npy_save(W.path, AE_NPY_F32, W.x, sh, 9);)                     \
    X(npy_save_negative_dims, INV, 0,                                          \
      size_t sh[1] = {4}; return ae_npy_save(W.path, AE_NPY_F32, W.x, sh, -1);) \
    X(npy_save_overflow, AE_ERR_LIMIT, 0,                                      \
      size_t sh[2] = {SIZE_MAX / 2, 3};                                        \
      return ae_npy_save(W.path, AE_NPY_F32, W.x, sh, 2);)                     \
    X(npy_save_missing_folder, AE_ERR_IO, 0,                                   \
      size_t sh[1] = {4};                                                      \
      return ae_npy_save(W.missing, AE_NPY_F32, W.x, sh, 1);)                  \
    X(npy_save_memory_null_size, NUL, 0,                                       \
      size_t sh[1] = {4};                                                      \
      return ae_npy_save_memory(AE_NPY_F32, W.x, sh, 1, NULL, 0, NULL);)       \
    X(npy_save_memory_too_small, INV, 0,                                       \
      size_t sh[1] = {4}, sz = 0;                                              \
      ae_status s = ae_npy_save_memory(AE_NPY_F32, W.x, sh, 1, W.out8, 8,      \
                                       &sz);                                   \
      ck_assert_uint_eq(sz, 128 + 16); return s;)                              \
    X(npy_load_null_out, NUL, 0, return ae_npy_load(NULL, W.path);)            \
    X(npy_load_null_path, NUL, 1, return ae_npy_load(&W.o_npy, NULL);)         \
    X(npy_load_missing, AE_ERR_IO, 1, return ae_npy_load(&W.o_npy, W.missing);) \
    X(npy_load_not_npy, AE_ERR_FORMAT, 1,                                      \
      return ae_npy_load(&W.o_npy, W.model_path);)                             \
    X(npy_load_memory_null_data, NUL, 1,                                       \
      return ae_npy_load_memory(&W.o_npy, NULL, 10);)                          \
    X(npy_load_memory_garbage, AE_ERR_FORMAT, 1,                               \
      return ae_npy_load_memory(&W.o_npy, W.idx_images, W.idx_images_size);)

/* ---- helpers the rows call ------------------------------------------------ */

/* Variational autoencoders: models of the rows' own, freed before they
 * return (the world's models stay as they are). */
static ae_status odd_input_to_sampling(void)
{
    ae_model *m = NULL;
    ck_assert_ae_ok(ae_model_create(&m, 1, 1, 3, 1));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 5, AE_ACT_NONE));
    ae_status s = ae_model_add_gaussian_sample(m, AE_ENCODER);
    ck_assert_uint_eq(ae_model_layer_count(m), 1);
    ae_model_free(m);
    return s;
}

static ae_status encoder_layer_after_sampling(void)
{
    ae_model *m = NULL;
    ck_assert_ae_ok(ae_model_create(&m, 1, 2, 2, 1));
    ck_assert_ae_ok(ae_model_add_gaussian_sample(m, AE_ENCODER));
    ae_status s = ae_model_add_dense(m, AE_ENCODER, 3, AE_ACT_NONE);
    ck_assert_uint_eq(ae_model_layer_count(m), 1);
    ae_model_free(m);
    return s;
}

static ae_status kl_before_forward(void)
{
    ae_model *m = NULL;
    double kl = -1.0;
    ck_assert_ae_ok(ae_model_create(&m, 1, 2, 2, 1));
    ck_assert_ae_ok(ae_model_add_gaussian_sample(m, AE_ENCODER));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 4, AE_ACT_SIGMOID));
    ae_status s = ae_model_kl_divergence(m, &kl);
    ck_assert(kl == -1.0);
    ae_model_free(m);
    return s;
}

/* An IDX image buffer with the given header and n*h*w pixels (capped). */
static ae_status load_idx_header(uint32_t n, uint32_t h, uint32_t w)
{
    size_t body = (size_t)n * h * w;
    if (body > 4096)
        body = 4096;
    uint8_t *b = calloc(16 + body, 1);
    ck_assert_ptr_nonnull(b);
    uint32_t v[4] = {0x803, n, h, w};
    for (int k = 0; k < 4; k++)
        for (int j = 0; j < 4; j++)
            b[4 * k + j] = (uint8_t)(v[k] >> (24 - 8 * j));
    ae_status s = ae_dataset_load_idx_memory(&W.o_ds, b, 16 + body, NULL, 0);
    free(b);
    return s;
}

static ae_status load_idx_magic(uint32_t magic)
{
    uint8_t *b = malloc(W.idx_images_size);
    ck_assert_ptr_nonnull(b);
    memcpy(b, W.idx_images, W.idx_images_size);
    for (int j = 0; j < 4; j++)
        b[j] = (uint8_t)(magic >> (24 - 8 * j));
    ae_status s = ae_dataset_load_idx_memory(&W.o_ds, b, W.idx_images_size,
                                             NULL, 0);
    free(b);
    return s;
}

/* The saved model with byte `offset` xor-ed with `mask`; the CRC is
 * recomputed when fix_crc is set, so that only the later checks see the
 * damage. */
static ae_status load_bytes(uint8_t *b, size_t size, int fix_crc)
{
    if (fix_crc) {
        uLong crc = crc32(0L, Z_NULL, 0);
        crc = crc32(crc, b, (uInt)(size - 4));
        for (int j = 0; j < 4; j++)
            b[size - 4 + j] = (uint8_t)(crc >> (8 * j));
    }
    return ae_model_load_memory(&W.o_m, b, size);
}

static ae_status load_modified(size_t offset, uint8_t mask, int fix_crc)
{
    uint8_t *b = malloc(W.model_size);
    ck_assert_ptr_nonnull(b);
    memcpy(b, W.model_bytes, W.model_size);
    b[offset] ^= mask;
    ae_status s = load_bytes(b, W.model_size, fix_crc);
    free(b);
    return s;
}

/* A model file with a valid CRC and a NaN among the parameters. */
static ae_status load_nan_weight(void)
{
    uint8_t *b = malloc(W.model_size);
    ck_assert_ptr_nonnull(b);
    memcpy(b, W.model_bytes, W.model_size);
    size_t at = W.model_size - 4 - 4 * 20; /* a decoder bias */
    const uint8_t nan_le[4] = {0x00, 0x00, 0xC0, 0x7F};
    memcpy(b + at, nan_le, 4);
    ae_status s = load_bytes(b, W.model_size, 1);
    free(b);
    return s;
}

/* Batch size above the 6 images (the setting is put back afterwards). */
static ae_status fit_batch_too_large(void)
{
    ck_assert_ae_ok(ae_trainer_set(W.t, AE_TRAIN_BATCH_SIZE, N + 1));
    ae_status s = ae_trainer_fit(W.t, W.ds, NULL, 1, NULL, NULL);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", ae_last_error());
    ck_assert_ae_ok(ae_trainer_set(W.t, AE_TRAIN_BATCH_SIZE, 4));
    /* ae_last_error is the fit's again for the caller's checks */
    ck_assert_str_eq(ae_last_error(), msg);
    return s;
}

/* Checkpoints every 2 batches but no path (the setting is put back
 * afterwards). */
static ae_status fit_without_path(void)
{
    ck_assert_ae_ok(ae_trainer_set(W.t, AE_TRAIN_CHECKPOINT_EVERY, 2));
    ae_status s = ae_trainer_fit(W.t, W.ds, NULL, 1, NULL, NULL);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", ae_last_error());
    ck_assert_ae_ok(ae_trainer_set(W.t, AE_TRAIN_CHECKPOINT_EVERY, 0));
    ck_assert_str_eq(ae_last_error(), msg);
    return s;
}

/* Early stopping on but no validation set (the setting is put back
 * afterwards). */
static ae_status fit_early_stop_without_validation(void)
{
    ck_assert_ae_ok(ae_trainer_set(W.t, AE_TRAIN_EARLY_STOP_PATIENCE, 2));
    ae_status s = ae_trainer_fit(W.t, W.ds, NULL, 1, NULL, NULL);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", ae_last_error());
    ck_assert_ae_ok(ae_trainer_set(W.t, AE_TRAIN_EARLY_STOP_PATIENCE, 0));
    ck_assert_str_eq(ae_last_error(), msg);
    return s;
}

/* ---- the rows as functions and as a table --------------------------------- */

#define DEFINE_ROW(name, expected, out, ...)                                   \
    static ae_status row_##name(void) { __VA_ARGS__ }
BAD_ROWS(DEFINE_ROW)
#undef DEFINE_ROW

typedef struct bad_row {
    const char *name;
    ae_status (*call)(void);
    ae_status expected;
    int sets_handle_null; /* the call has a handle output given non-NULL */
} bad_row;

#define TABLE_ROW(name, expected, out, ...) {#name, row_##name, expected, out},
static const bad_row rows[] = {BAD_ROWS(TABLE_ROW)};
#undef TABLE_ROW
enum { N_ROWS = sizeof rows / sizeof rows[0] };

/* ---- the test -------------------------------------------------------------- */

/* A known error with a message no row produces. */
static void provoke_sentinel(char *msg, size_t size)
{
    ae_model *m = NOT_SET;
    ck_assert_int_eq(ae_model_create(&m, 12345, -777, 1, 0),
                     AE_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(m);
    snprintf(msg, size, "%s", ae_last_error());
    ck_assert_msg(strstr(msg, "-777") != NULL, "sentinel: %s", msg);
}

static int handle_outputs_null_or_unset(int *nulls)
{
    void *h[] = {W.o_ds, W.o_ds2, W.o_it, W.o_m, W.o_layer, W.o_opt,
                 W.o_t, W.o_mt, W.o_pca, W.o_ts, W.o_npy};
    *nulls = 0;
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++) {
        if (h[i] == NULL)
            (*nulls)++;
        else if (h[i] != NOT_SET)
            return 0;
    }
    return 1;
}

START_TEST(every_bad_call)
{
    ck_assert_ae_ok(ae_set_allocator(count_alloc, count_free, NULL));
    build_world();
    bytes before = {0}, after = {0};
    int failures = 0;
    for (int i = 0; i < N_ROWS; i++) {
        const bad_row *r = &rows[i];
        reset_outputs();
        snap_world(&before);
        long live = alloc_live;
        char sentinel[512];
        provoke_sentinel(sentinel, sizeof sentinel);

        ae_status s = r->call();

        char msg[512];
        snprintf(msg, sizeof msg, "%s", ae_last_error());
        int nulls = 0;
        int handles_ok = handle_outputs_null_or_unset(&nulls);
        snap_world(&after);
        int changed = before.n != after.n ||
                      memcmp(before.p, after.p, before.n) != 0;
        const char *why = NULL;
        if (s != r->expected)
            why = "wrong status";
        else if (s == AE_OK) {
            /* A zero size is a no-op: success, and nothing written. */
            if (changed)
                why = "state changed";
        } else if (msg[0] == '\0')
            why = "empty error message";
        else if (strcmp(msg, sentinel) == 0)
            why = "error message not set by the call";
        else if (!handles_ok)
            why = "a handle output holds a handle";
        else if (r->sets_handle_null && nulls == 0)
            why = "handle output not set to NULL";
        else if (changed)
            why = "state changed";
        else if (alloc_live != live)
            why = "allocation left live";
        /* Whatever went wrong, free what a row returned so that the rows
         * after it see the same world. */
        void **outs[] = {(void **)&W.o_ds, (void **)&W.o_ds2, (void **)&W.o_it,
                         (void **)&W.o_m, (void **)&W.o_opt, (void **)&W.o_t,
                         (void **)&W.o_mt, (void **)&W.o_pca, (void **)&W.o_ts,
                         (void **)&W.o_npy};
        if (W.o_ds != NOT_SET) ae_dataset_free(W.o_ds);
        if (W.o_ds2 != NOT_SET) ae_dataset_free(W.o_ds2);
        if (W.o_it != NOT_SET) ae_batches_free(W.o_it);
        if (W.o_m != NOT_SET) ae_model_free(W.o_m);
        if (W.o_opt != NOT_SET) ae_optimizer_free(W.o_opt);
        if (W.o_t != NOT_SET) ae_trainer_free(W.o_t);
        if (W.o_mt != NOT_SET) ae_metrics_free(W.o_mt);
        if (W.o_pca != NOT_SET) ae_pca_free(W.o_pca);
        if (W.o_ts != NOT_SET) ae_tsne_free(W.o_ts);
        if (W.o_npy != NOT_SET) ae_npy_free(W.o_npy);
        for (size_t k = 0; k < sizeof outs / sizeof outs[0]; k++)
            *outs[k] = NOT_SET;
        if (why != NULL) {
            failures++;
            printf("FAIL %-44s %s: got %s, want %s: \"%s\"\n", r->name, why,
                   ae_status_name(s), ae_status_name(r->expected), msg);
        } else if (getenv("AE_TEST_VERBOSE") != NULL) {
            printf("ok   %-44s %-26s \"%s\"\n", r->name, ae_status_name(s),
                   msg);
        }
    }
    printf("bad_input: %d calls, %d failures\n", N_ROWS, failures);
    fflush(stdout);
    free(before.p);
    free(after.p);
    free_world();
    ck_assert_int_eq(alloc_live, 0);
    ck_assert_msg(failures == 0, "%d of %d bad calls misbehaved (see above)",
                  failures, N_ROWS);
}
END_TEST

/* Functions without a status: NULL handles give 0 or the default, free
 * calls accept NULL, and none of them touches ae_last_error(). */
START_TEST(null_handles_without_status)
{
    char sentinel[512];
    provoke_sentinel(sentinel, sizeof sentinel);
    ck_assert_uint_eq(ae_dataset_count(NULL), 0);
    ck_assert_uint_eq(ae_dataset_image_size(NULL), 0);
    ck_assert_int_eq(ae_dataset_has_labels(NULL), 0);
    ck_assert_int_eq(ae_dataset_range(NULL), AE_RANGE_UNIT);
    ck_assert_uint_eq(ae_batches_per_epoch(NULL), 0);
    ck_assert_uint_eq(ae_model_layer_count(NULL), 0);
    ck_assert_int_eq(ae_model_training(NULL), 0);
    ck_assert_uint_eq(ae_model_encoder_layer_count(NULL), 0);
    ck_assert_uint_eq(ae_model_input_size(NULL), 0);
    ck_assert_uint_eq(ae_model_code_size(NULL), 0);
    ck_assert_uint_eq(ae_model_param_count(NULL), 0);
    ck_assert_uint_eq(ae_layer_output_size(NULL), 0);
    ck_assert_int_eq(ae_layer_activation(NULL), AE_ACT_NONE);
    ck_assert_uint_eq(ae_layer_weight_count(NULL), 0);
    ck_assert_uint_eq(ae_layer_bias_count(NULL), 0);
    ck_assert_uint_eq(ae_metrics_count(NULL), 0);
    ck_assert_uint_eq(ae_pca_dim(NULL), 0);
    ck_assert_int_eq(ae_pca_components(NULL), 0);
    ck_assert_uint_eq(ae_dataset_class_count(NULL), 0);
    (void)ae_layer_get_kind(NULL); /* no crash; the value is unspecified */
    ae_metrics_reset(NULL);
    ae_dataset_free(NULL);
    ae_batches_free(NULL);
    ae_model_free(NULL);
    ae_optimizer_free(NULL);
    ae_trainer_free(NULL);
    ae_metrics_free(NULL);
    ae_pca_free(NULL);
    ae_tsne_free(NULL);
    /* Unknown status codes still have a name and a message. */
    ck_assert_ptr_nonnull(ae_status_name((ae_status)-1));
    ck_assert_ptr_nonnull(ae_status_message((ae_status)999));
    ck_assert_str_eq(ae_status_name((ae_status)13), "AE_UNKNOWN_STATUS");
    ck_assert_uint_eq(ae_version_number(), AE_VERSION_NUMBER);
    ck_assert_str_eq(ae_version_string(), AE_VERSION_STRING);
    ck_assert_str_eq(ae_last_error(), sentinel);
}
END_TEST

static Suite *bad_input_suite(void)
{
    Suite *s = suite_create("bad_input");
    TCase *tc = tcase_create("table");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, every_bad_call);
    tcase_add_test(tc, null_handles_without_status);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    return tu_run_suite(bad_input_suite());
}

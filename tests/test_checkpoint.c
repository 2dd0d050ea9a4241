/* test_checkpoint.c - training checkpoints: a training resumed from a
 * checkpoint goes on bit for bit as one that never stopped (dense and conv
 * models, Adam and SGD, noise and shuffling on, stopped at every batch);
 * checkpoints written by ae_trainer_fit; damaged, truncated and crafted
 * files refused with the trainer unchanged; NULLs, architecture and
 * optimizer mismatches, resume mismatches. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "train/optimizer.h" /* private: the optimizer's state, to check it */
#include "testutil.h"
#include "train/trainer_settings.h"   /* private: the trainer's fields, to check them */

/* ---- fixtures ----------------------------------------------------------- */

enum { DENSE, CONV, TINY, VAE };

static ae_model *make_model(int kind, uint64_t seed)
{
    ae_model *m;
    if (kind == TINY) {
        ck_assert_ae_ok(ae_model_create(&m, 1, 1, 2, seed));
        ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 1, AE_ACT_TANH));
        ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 2, AE_ACT_SIGMOID));
        return m;
    }
    if (kind == VAE) { /* 4 means and 4 log-variances sampled to a code */
        ck_assert_ae_ok(ae_model_create(&m, 1, 6, 6, seed));
        ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 12, AE_ACT_RELU));
        ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 8, AE_ACT_NONE));
        ck_assert_ae_ok(ae_model_add_gaussian_sample(m, AE_ENCODER));
        ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 12, AE_ACT_RELU));
        ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 36, AE_ACT_SIGMOID));
        return m;
    }
    if (kind == DENSE) {
        ck_assert_ae_ok(ae_model_create(&m, 1, 6, 6, seed));
        ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 12, AE_ACT_RELU));
        ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 4, AE_ACT_NONE));
        ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 12, AE_ACT_RELU));
        ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 36, AE_ACT_SIGMOID));
        return m;
    }
    ck_assert_ae_ok(ae_model_create(&m, 1, 6, 6, seed));
    ck_assert_ae_ok(ae_model_add_conv2d(m, AE_ENCODER, 3, 3, 1, -1,
                                        AE_ACT_RELU));           /* 3x6x6 */
    ck_assert_ae_ok(ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2));  /* 3x3x3 */
    ck_assert_ae_ok(ae_model_add_reshape(m, AE_ENCODER, 27, 1, 1));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 5, AE_ACT_TANH));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 27, AE_ACT_RELU));
    ck_assert_ae_ok(ae_model_add_reshape(m, AE_DECODER, 3, 3, 3));
    ck_assert_ae_ok(ae_model_add_upsample2d(m, AE_DECODER, 2));    /* 3x6x6 */
    ck_assert_ae_ok(ae_model_add_conv2d(m, AE_DECODER, 1, 3, 1, -1,
                                        AE_ACT_SIGMOID));
    ck_assert_ae_ok(ae_model_validate(m));
    return m;
}

/* n images of side x side pixels, varied enough that the order matters. */
static ae_dataset *make_dataset(uint32_t n, uint32_t side, uint32_t salt)
{
    size_t size, px = (size_t)n * side * side;
    uint8_t *pixels = malloc(px);
    for (size_t i = 0; i < px; i++)
        pixels[i] = (uint8_t)((i * 37 + (i / 7) * 11 + salt * 101) % 251);
    uint8_t *idx = tu_idx_images(n, side, side, pixels, &size);
    ae_dataset *ds;
    ck_assert_ae_ok(ae_dataset_load_idx_memory(&ds, idx, size, NULL, 0));
    free(idx);
    free(pixels);
    return ds;
}

typedef struct rig {
    ae_model *m;
    ae_optimizer *o;
    ae_trainer *t;
} rig;

/* The training controls a rig trains with (test_controls sets it):
 * none, or each schedule, or early stopping forced to stop at epoch 2 (a
 * minimum improvement no epoch reaches) with cosine annealing, clipping
 * and a plateau schedule on the training loss. */
enum { CTL_NONE, CTL_STEP, CTL_EXP, CTL_COSINE, CTL_PLATEAU, CTL_EARLY,
       CTL_EARLY_PATIENT, CTL_COUNT };
static int controls = CTL_NONE;

static void set_controls(ae_trainer *t, int which)
{
    static const struct {
        ae_train_param p;
        double v;
    } settings[CTL_COUNT][6] = {
        [CTL_STEP] = {{AE_TRAIN_LR_SCHEDULE, AE_SCHEDULE_STEP},
                      {AE_TRAIN_LR_STEP_SIZE, 2},
                      {AE_TRAIN_LR_GAMMA, 0.5}},
        [CTL_EXP] = {{AE_TRAIN_LR_SCHEDULE, AE_SCHEDULE_EXPONENTIAL},
                     {AE_TRAIN_LR_GAMMA, 0.7}},
        [CTL_COSINE] = {{AE_TRAIN_LR_SCHEDULE, AE_SCHEDULE_COSINE},
                        {AE_TRAIN_LR_T_MAX, 2},
                        {AE_TRAIN_LR_MIN, 1e-3}},
        [CTL_PLATEAU] = {{AE_TRAIN_LR_SCHEDULE, AE_SCHEDULE_PLATEAU},
                         {AE_TRAIN_PLATEAU_PATIENCE, 0},
                         {AE_TRAIN_PLATEAU_THRESHOLD, 0.5},
                         {AE_TRAIN_PLATEAU_FACTOR, 0.5},
                         {AE_TRAIN_PLATEAU_COOLDOWN, 1},
                         {AE_TRAIN_LR_MIN, 1e-4}},
        [CTL_EARLY] = {{AE_TRAIN_EARLY_STOP_PATIENCE, 1},
                       {AE_TRAIN_EARLY_STOP_MIN_DELTA, 10},
                       {AE_TRAIN_LR_SCHEDULE, AE_SCHEDULE_COSINE},
                       {AE_TRAIN_LR_T_MAX, 3},
                       {AE_TRAIN_CLIP_NORM, 0.05}},
        [CTL_EARLY_PATIENT] = {{AE_TRAIN_EARLY_STOP_PATIENCE, 2},
                               {AE_TRAIN_LR_SCHEDULE, AE_SCHEDULE_PLATEAU},
                               {AE_TRAIN_PLATEAU_PATIENCE, 1},
                               {AE_TRAIN_CLIP_NORM, 0.1}},
    };
    for (int k = 0; k < 6 && settings[which][k].p != 0; k++)
        ck_assert_ae_ok(ae_trainer_set(t, settings[which][k].p,
                                       settings[which][k].v));
}

/* A model, an optimizer (Adam unless sgd) and a trainer with Gaussian (or
 * salt-and-pepper) noise, shuffling, seed 7, batch 4.  A model seed or
 * learning rate other than the reference one shows they are restored. */
static rig make_rig(int kind, int sgd, uint64_t model_seed, float lr)
{
    rig r;
    r.m = make_model(kind, model_seed);
    if (sgd)
        ck_assert_ae_ok(ae_optimizer_create_sgd(&r.o, lr, 0.9f));
    else
        ck_assert_ae_ok(ae_optimizer_create_adam(&r.o, lr));
    ck_assert_ae_ok(ae_trainer_create(&r.t, r.m, r.o));
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_NOISE,
                                   kind == CONV ? AE_NOISE_SALT_PEPPER
                                                : AE_NOISE_GAUSSIAN));
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_NOISE_LEVEL, 0.2));
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_SHUFFLE, 1));
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_SEED, 7));
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_BATCH_SIZE, 4));
    if (kind == VAE) { /* eps, beta and the per-image sum restored too */
        ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_LOSS, AE_LOSS_BCE));
        ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_KL_BETA, 0.5));
        ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_SUM_PER_IMAGE, 1));
    }
    set_controls(r.t, controls);
    return r;
}

/* A rig whose settings all differ from make_rig's, to be overwritten by a
 * checkpoint. */
static rig make_fresh_rig(int kind, int sgd)
{
    rig r = make_rig(kind, sgd, 999, 0.5f);
    set_controls(r.t, controls == CTL_EXP ? CTL_PLATEAU : CTL_EXP);
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_EARLY_STOP_PATIENCE, 0));
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_CLIP_NORM, 3));
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_NOISE, AE_NOISE_NONE));
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_SEED, 12345));
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_BATCH_SIZE, 3));
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_L1_CODE, 0.5));
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_KL_BETA, 3.0));
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_SUM_PER_IMAGE, 0));
    return r;
}

static void free_rig(rig *r)
{
    ae_trainer_free(r->t);
    ae_optimizer_free(r->o);
    ae_model_free(r->m);
}

/* The bytes of t's checkpoint, with the model's creation seed (which only
 * matters for layers added later) and so the model's own CRC blanked, so
 * rigs built from other seeds compare. */
static uint8_t *checkpoint_bytes(const ae_trainer *t, size_t *size)
{
    const char *path = tu_tmp_path("bytes.aeckpt");
    ck_assert_ae_ok(ae_trainer_save_checkpoint(t, path));
    uint8_t *b = tu_read_file(path, size);
    size_t model_size = 0;
    for (int k = 7; k >= 0; k--)
        model_size = model_size << 8 | b[16 + k];
    memset(b + 32 + 24, 0, 8);
    memset(b + 32 + model_size - 4, 0, 4);
    return b;
}

/* ---- progress records --------------------------------------------------- */

typedef struct event {
    int epoch, epoch_done;
    size_t batch;
    double loss, val_loss;
    double lr;      /* the rate of the next step */
    ae_fit_end end; /* ae_trainer_fit_outcome's */
} event;

typedef struct recorder {
    event ev[256];
    int n;
    int stop_at;         /* stop after this many events (0: never) */
    const char *save_to; /* save a checkpoint there before stopping */
    const ae_trainer *t;
} recorder;

static int record(const ae_progress *p, void *user)
{
    recorder *r = user;
    ck_assert_int_lt(r->n, 256);
    double lr = NAN;
    ae_fit_end end = AE_FIT_NONE;
    if (r->t != NULL) {
        ck_assert_ae_ok(ae_trainer_learning_rate(r->t, &lr));
        ck_assert_ae_ok(ae_trainer_fit_outcome(r->t, &end, NULL, NULL,
                                               NULL));
    }
    r->ev[r->n++] = (event){p->epoch, p->epoch_done, p->batch, p->loss,
                            p->val_loss, lr, end};
    if (r->stop_at == 0 || r->n < r->stop_at)
        return 0;
    if (r->save_to != NULL)
        ck_assert_ae_ok(ae_trainer_save_checkpoint(r->t, r->save_to));
    return 1;
}

static void assert_same_event(const event *a, const event *b, int i)
{
    ck_assert_msg(a->epoch == b->epoch && a->batch == b->batch &&
                      a->epoch_done == b->epoch_done,
                  "event %d: epoch %d batch %zu done %d, expected %d %zu %d",
                  i, b->epoch, b->batch, b->epoch_done, a->epoch, a->batch,
                  a->epoch_done);
    ck_assert_msg(memcmp(&a->loss, &b->loss, sizeof a->loss) == 0,
                  "event %d: loss %.17g, expected %.17g", i, b->loss,
                  a->loss);
    ck_assert_msg(memcmp(&a->val_loss, &b->val_loss, sizeof a->val_loss) ==
                      0 || (isnan(a->val_loss) && isnan(b->val_loss)),
                  "event %d: validation loss %.17g, expected %.17g", i,
                  b->val_loss, a->val_loss);
    ck_assert_msg(memcmp(&a->lr, &b->lr, sizeof a->lr) == 0,
                  "event %d: learning rate %.17g, expected %.17g", i, b->lr,
                  a->lr);
    ck_assert_msg(a->end == b->end, "event %d: fit outcome %d, expected %d",
                  i, (int)b->end, (int)a->end);
}

/* ---- resuming ----------------------------------------------------------- */

enum { EPOCHS = 3, IMAGES = 21, VAL_IMAGES = 5 }; /* 6 batches per epoch */

typedef struct reference {
    recorder rec;
    float *params;
    uint8_t *ckpt;
    size_t ckpt_size;
} reference;

/* The unbroken run. */
static void train_straight(int kind, int sgd, const ae_dataset *train,
                           const ae_dataset *val, reference *ref)
{
    rig r = make_rig(kind, sgd, 3, 0.01f);
    memset(&ref->rec, 0, sizeof ref->rec);
    ref->rec.t = r.t;
    ck_assert_ae_ok(ae_trainer_fit(r.t, train, val, EPOCHS, record,
                                   &ref->rec));
    ref->params = tu_model_params(r.m);
    ref->ckpt = checkpoint_bytes(r.t, &ref->ckpt_size);
    free_rig(&r);
}

static void free_reference(reference *ref)
{
    free(ref->params);
    free(ref->ckpt);
}

/* Resume from path in a fresh rig, finish, compare with ref: events from
 * event `from` on, weights, and the final checkpoint's bytes. */
static void resume_and_compare(int kind, int sgd, const char *path,
                               const ae_dataset *train, const ae_dataset *val,
                               const reference *ref, int from)
{
    rig r = make_fresh_rig(kind, sgd);
    ck_assert_ae_ok(ae_trainer_load_checkpoint(r.t, path));
    recorder rec = {.t = r.t};
    ck_assert_ae_ok(ae_trainer_fit(r.t, train, val, EPOCHS, record, &rec));
    ck_assert_int_eq(from + rec.n, ref->rec.n);
    for (int i = 0; i < rec.n; i++)
        assert_same_event(&ref->rec.ev[from + i], &rec.ev[i], from + i);
    float *p = tu_model_params(r.m);
    ck_assert_msg(memcmp(p, ref->params,
                         ae_model_param_count(r.m) * sizeof *p) == 0,
                  "weights differ after resuming at event %d", from);
    size_t size;
    uint8_t *b = checkpoint_bytes(r.t, &size);
    ck_assert_uint_eq(size, ref->ckpt_size);
    ck_assert_msg(memcmp(b, ref->ckpt, size) == 0,
                  "final state differs after resuming at event %d", from);
    free(b);
    free(p);
    free_rig(&r);
}

/* Stop after every event in turn (each batch, each epoch end), saving a
 * checkpoint from the callback; free everything; resume in fresh handles. */
static void check_every_stop(int kind, int sgd)
{
    ae_dataset *train = make_dataset(IMAGES, 6, 1);
    ae_dataset *val = make_dataset(VAL_IMAGES, 6, 2);
    reference ref;
    train_straight(kind, sgd, train, val, &ref);
    /* forced early stopping ends the fit after epoch 2 */
    ck_assert_int_eq(ref.rec.n, (controls == CTL_EARLY ? 2 : EPOCHS) * 7);
    const char *path = tu_tmp_path("stop.aeckpt");
    for (int stop = 1; stop < ref.rec.n; stop++) {
        rig r = make_rig(kind, sgd, 3, 0.01f);
        recorder rec = {.stop_at = stop, .save_to = path, .t = r.t};
        ck_assert_ae_ok(ae_trainer_fit(r.t, train, val, EPOCHS, record,
                                       &rec));
        ck_assert_int_eq(rec.n, stop);
        for (int i = 0; i < rec.n; i++)
            assert_same_event(&ref.rec.ev[i], &rec.ev[i], i);
        free_rig(&r);
        resume_and_compare(kind, sgd, path, train, val, &ref, stop);
    }
    free_reference(&ref);
    ae_dataset_free(train);
    ae_dataset_free(val);
}

/* Each training control on: stopped at every event and resumed, the
 * same weights, losses, learning rate at every event, outcome and final
 * state bit for bit as the unbroken run. */
START_TEST(controls_resume_bit_identically)
{
    controls = _i;
    check_every_stop(DENSE, _i % 2);
    if (_i == CTL_EARLY) {
        /* It stopped early, restored epoch 1's weights and said so. */
        ae_dataset *train = make_dataset(IMAGES, 6, 1);
        ae_dataset *val = make_dataset(VAL_IMAGES, 6, 2);
        reference ref;
        train_straight(DENSE, 1, train, val, &ref);
        ck_assert_int_eq(ref.rec.ev[13].end, AE_FIT_EARLY_STOPPED);
        ck_assert_int_eq(ref.rec.ev[12].end, AE_FIT_RUNNING);
        free_reference(&ref);
        /* Its checkpoint says so and resumes nothing: the next fit call
         * is a new one, which early stopping judges afresh. */
        rig a = make_rig(DENSE, 1, 3, 0.01f);
        ck_assert_ae_ok(ae_trainer_fit(a.t, train, val, EPOCHS, NULL, NULL));
        const char *path = tu_tmp_path("early.aeckpt");
        ck_assert_ae_ok(ae_trainer_save_checkpoint(a.t, path));
        rig b = make_fresh_rig(DENSE, 1);
        ck_assert_ae_ok(ae_trainer_load_checkpoint(b.t, path));
        ae_fit_end end;
        int epochs, best;
        ck_assert_ae_ok(ae_trainer_fit_outcome(b.t, &end, &epochs, &best,
                                               NULL));
        ck_assert_int_eq(end, AE_FIT_EARLY_STOPPED);
        ck_assert_int_eq(epochs, 2);
        ck_assert_int_eq(best, 1);
        recorder rec = {.t = b.t};
        ck_assert_ae_ok(ae_trainer_fit(b.t, train, val, EPOCHS, record,
                                       &rec));
        ck_assert_int_eq(rec.n, 2 * 7); /* two epochs again, from epoch 1 */
        ck_assert_int_eq(rec.ev[0].epoch, 1);
        ck_assert_ae_ok(ae_trainer_fit_outcome(b.t, &end, &epochs, &best,
                                               NULL));
        ck_assert_int_eq(end, AE_FIT_EARLY_STOPPED);
        ck_assert_int_eq(epochs, 2);
        free_rig(&a);
        free_rig(&b);
        ae_dataset_free(train);
        ae_dataset_free(val);
    }
    controls = CTL_NONE;
}
END_TEST

START_TEST(dense_adam_resumes_bit_identically)
{
    check_every_stop(DENSE, 0);
}
END_TEST

START_TEST(dense_sgd_resumes_bit_identically)
{
    check_every_stop(DENSE, 1);
}
END_TEST

START_TEST(conv_adam_resumes_bit_identically)
{
    check_every_stop(CONV, 0);
}
END_TEST

/* A VAE: its eps generator, beta, reduction and the epoch's sums of the
 * loss's terms come back, so every stop resumes bit for bit. */
START_TEST(vae_resumes_bit_identically)
{
    check_every_stop(VAE, 0);
}
END_TEST

/* Values computed here against a fixture's, computed by the library that
 * wrote it, on another machine: within FIXTURE_ULPS floats of each other
 * (tu_ulps_apart says why not bit for bit).  A machine with other
 * OpenBLAS kernels than the writer's (COOPERLAKE, not SKYLAKEX) came
 * within 1-7 floats after a step or two and 26 after a resumed fit of
 * three epochs. */
enum { FIXTURE_ULPS = 64 };

static void assert_near_fixture(const float *got, const float *want,
                                size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(tu_ulps_apart(got[i], want[i]) <= FIXTURE_ULPS,
                      "%s: parameter %zu is %a, the fixture's %a (%u floats "
                      "apart)", what, i, (double)got[i], (double)want[i],
                      tu_ulps_apart(got[i], want[i]));
}

/* A version-1 checkpoint (tests/fixtures/checkpoint_v1.ckpt, written by
 * the library before version 2: a 1 x 4 x 4 model, dense 3 tanh / dense 16
 * sigmoid, model seed 5, Adam 1e-2, BCE, trainer seed 9, one step on the
 * images below) loads: the same weights and next step as the trainer
 * that wrote it, rebuilt here, and the version-2 settings at their
 * defaults. */
START_TEST(version_1_checkpoint_loads)
{
    float x[3 * 16];
    for (int i = 0; i < 3 * 16; i++)
        x[i] = (float)((i * 7 + 3) % 11) / 10.0f;
    rig r[2];
    for (int k = 0; k < 2; k++) {
        ck_assert_ae_ok(ae_model_create(&r[k].m, 1, 4, 4, k ? 77 : 5));
        ck_assert_ae_ok(ae_model_add_dense(r[k].m, AE_ENCODER, 3,
                                           AE_ACT_TANH));
        ck_assert_ae_ok(ae_model_add_dense(r[k].m, AE_DECODER, 16,
                                           AE_ACT_SIGMOID));
        ck_assert_ae_ok(ae_optimizer_create_adam(&r[k].o, 1e-2f));
        ck_assert_ae_ok(ae_trainer_create(&r[k].t, r[k].m, r[k].o));
    }
    ck_assert_ae_ok(ae_trainer_set(r[0].t, AE_TRAIN_LOSS, AE_LOSS_BCE));
    ck_assert_ae_ok(ae_trainer_set(r[0].t, AE_TRAIN_SEED, 9));
    float loss;
    ck_assert_ae_ok(ae_trainer_step(r[0].t, x, x, 3, &loss));
    /* as the writer printed */
    ck_assert_uint_le(tu_ulps_apart(loss, 0.691576064f), FIXTURE_ULPS);
    ck_assert_ae_ok(ae_trainer_set(r[1].t, AE_TRAIN_KL_BETA, 4.0));
    ck_assert_ae_ok(ae_trainer_set(r[1].t, AE_TRAIN_SUM_PER_IMAGE, 1));
    ck_assert_ae_ok(ae_trainer_load_checkpoint(r[1].t,
                        AE_TEST_SOURCE_DIR "/fixtures/checkpoint_v1.ckpt"));
    size_t n = ae_model_param_count(r[0].m);
    float *a = tu_model_params(r[0].m), *b = tu_model_params(r[1].m);
    assert_near_fixture(a, b, n, "the version-1 checkpoint's weights");
    double beta, per_image, seed;
    ck_assert_ae_ok(ae_trainer_get(r[1].t, AE_TRAIN_KL_BETA, &beta));
    ck_assert_ae_ok(ae_trainer_get(r[1].t, AE_TRAIN_SUM_PER_IMAGE,
                                   &per_image));
    ck_assert_ae_ok(ae_trainer_get(r[1].t, AE_TRAIN_SEED, &seed));
    ck_assert(beta == 1.0 && per_image == 0.0 && seed == 9.0);
    float la, lb;
    ck_assert_ae_ok(ae_trainer_step(r[0].t, x, x, 3, &la));
    ck_assert_ae_ok(ae_trainer_step(r[1].t, x, x, 3, &lb));
    free(a);
    free(b);
    a = tu_model_params(r[0].m);
    b = tu_model_params(r[1].m);
    ck_assert_uint_le(tu_ulps_apart(la, lb), FIXTURE_ULPS);
    assert_near_fixture(a, b, n, "the next step after the version-1 "
                                 "checkpoint");
    /* Saved again, it is a version-2 file. */
    const char *path = tu_tmp_path("v1-again.aeckpt");
    ck_assert_ae_ok(ae_trainer_save_checkpoint(r[1].t, path));
    size_t size;
    uint8_t *bytes = tu_read_file(path, &size);
    ck_assert_uint_eq(bytes[8], 2);
    free(bytes);
    free(a);
    free(b);
    free_rig(&r[0]);
    free_rig(&r[1]);
}
END_TEST

/* AE_TRAIN_CHECKPOINT_EVERY: the fit writes the checkpoints; a "crash"
 * (the callback stopping) after batch 15 leaves the one of batch 10 (every
 * 5 batches; epoch ends also write one, the last after batch 12), from
 * which the run resumes, re-running batches 13 to 15 identically. */
START_TEST(fit_writes_checkpoints_to_resume_from)
{
    ae_dataset *train = make_dataset(IMAGES, 6, 1);
    ae_dataset *val = make_dataset(VAL_IMAGES, 6, 2);
    reference ref;
    train_straight(DENSE, 0, train, val, &ref);
    const char *path = tu_tmp_path("every.aeckpt");
    for (int every = 1; every <= 7; every++) {
        rig r = make_rig(DENSE, 0, 3, 0.01f);
        ck_assert_ae_ok(ae_trainer_set_checkpoint_path(r.t, path));
        ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_CHECKPOINT_EVERY, every));
        unlink(path);
        /* events: 6 batches + 1 epoch end per epoch; event 17 is batch 3
         * of epoch 3, batch 15 of the run. */
        recorder rec = {.stop_at = 17};
        ck_assert_ae_ok(ae_trainer_fit(r.t, train, val, EPOCHS, record,
                                       &rec));
        free_rig(&r);
        /* The last checkpoint written: after run batch 15 - (15 % every),
         * or the epoch-2 end (after run batch 12) if that is later. */
        int last = 15 - 15 % every;
        int from = last >= 12 ? last + 2 : 14; /* events before it */
        rig f = make_fresh_rig(DENSE, 0);
        ck_assert_ae_ok(ae_trainer_load_checkpoint(f.t, path));
        double v;
        ck_assert_ae_ok(ae_trainer_get(f.t, AE_TRAIN_CHECKPOINT_EVERY, &v));
        ck_assert_double_eq(v, every);
        free_rig(&f);
        /* The resumed trainer checkpoints too (no path: refused). */
        rig g = make_fresh_rig(DENSE, 0);
        ck_assert_ae_ok(ae_trainer_load_checkpoint(g.t, path));
        ck_assert_ae_status(ae_trainer_fit(g.t, train, val, EPOCHS, NULL,
                                           NULL), AE_ERR_INVALID_ARGUMENT);
        free_rig(&g);
        rig h = make_fresh_rig(DENSE, 0);
        ck_assert_ae_ok(ae_trainer_load_checkpoint(h.t, path));
        ck_assert_ae_ok(ae_trainer_set(h.t, AE_TRAIN_CHECKPOINT_EVERY, 0));
        recorder rest = {.t = h.t};
        ck_assert_ae_ok(ae_trainer_fit(h.t, train, val, EPOCHS, record,
                                       &rest));
        ck_assert_int_eq(from + rest.n, ref.rec.n);
        for (int i = 0; i < rest.n; i++)
            assert_same_event(&ref.rec.ev[from + i], &rest.ev[i], from + i);
        float *p = tu_model_params(h.m);
        ck_assert(memcmp(p, ref.params,
                         ae_model_param_count(h.m) * sizeof *p) == 0);
        free(p);
        free_rig(&h);
    }
    free_reference(&ref);
    ae_dataset_free(train);
    ae_dataset_free(val);
}
END_TEST

/* Two fit calls of 1 and 2 epochs with a checkpoint between them equal
 * the same two calls on one trainer; a finished call resumes nothing. */
START_TEST(checkpoint_between_fit_calls)
{
    ae_dataset *train = make_dataset(IMAGES, 6, 1);
    rig a = make_rig(DENSE, 0, 3, 0.01f);
    ck_assert_ae_ok(ae_trainer_fit(a.t, train, NULL, 1, NULL, NULL));
    const char *path = tu_tmp_path("between.aeckpt");
    ck_assert_ae_ok(ae_trainer_save_checkpoint(a.t, path));
    ck_assert_ae_ok(ae_trainer_fit(a.t, train, NULL, 2, NULL, NULL));
    rig b = make_fresh_rig(DENSE, 0);
    ck_assert_ae_ok(ae_trainer_load_checkpoint(b.t, path));
    ck_assert_ae_ok(ae_trainer_fit(b.t, train, NULL, 2, NULL, NULL));
    size_t na, nb;
    uint8_t *ba = checkpoint_bytes(a.t, &na), *bb = checkpoint_bytes(b.t, &nb);
    ck_assert_uint_eq(na, nb);
    ck_assert(memcmp(ba, bb, na) == 0);
    free(ba);
    free(bb);
    free_rig(&a);
    free_rig(&b);
    ae_dataset_free(train);
}
END_TEST

/* A resumed fit call needs the interrupted call's data size and order
 * settings, and epochs beyond those already done. */
START_TEST(resume_mismatches_are_refused)
{
    ae_dataset *train = make_dataset(IMAGES, 6, 1);
    ae_dataset *other = make_dataset(IMAGES + 1, 6, 1);
    rig a = make_rig(DENSE, 0, 3, 0.01f);
    const char *path = tu_tmp_path("mismatch.aeckpt");
    recorder rec = {.stop_at = 10, .save_to = path, .t = a.t}; /* epoch 2 */
    ck_assert_ae_ok(ae_trainer_fit(a.t, train, NULL, EPOCHS, record, &rec));
    rig b = make_fresh_rig(DENSE, 0);
    ck_assert_ae_ok(ae_trainer_load_checkpoint(b.t, path));
    ck_assert_ae_status(ae_trainer_fit(b.t, other, NULL, 3, NULL, NULL),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_trainer_fit(b.t, train, NULL, 1, NULL, NULL),
                        AE_ERR_INVALID_ARGUMENT);
    const ae_train_param changed[] = {AE_TRAIN_BATCH_SIZE, AE_TRAIN_SEED,
                                      AE_TRAIN_SHUFFLE};
    const double values[] = {5, 8, 0};
    for (int k = 0; k < 3; k++) {
        rig c = make_fresh_rig(DENSE, 0);
        ck_assert_ae_ok(ae_trainer_load_checkpoint(c.t, path));
        ck_assert_ae_ok(ae_trainer_set(c.t, changed[k], values[k]));
        ck_assert_ae_status(ae_trainer_fit(c.t, train, NULL, 3, NULL, NULL),
                            AE_ERR_INVALID_ARGUMENT);
        free_rig(&c);
    }
    /* The refused calls changed nothing: resuming still works. */
    ck_assert_ae_ok(ae_trainer_fit(b.t, train, NULL, 3, NULL, NULL));
    ck_assert_ae_ok(ae_trainer_fit(a.t, train, NULL, 3, NULL, NULL));
    free_rig(&a);
    free_rig(&b);
    ae_dataset_free(train);
    ae_dataset_free(other);
}
END_TEST

/* ---- damaged files ------------------------------------------------------ */

/* Everything a failed load must leave alone. */
typedef struct snapshot {
    ae_trainer t;
    ae__opt_state o;
    float m[16], v[16];
    float *params;
} snapshot;

static void take(snapshot *s, const rig *r)
{
    memcpy(&s->t, r->t, sizeof s->t);
    ae__optimizer_export(r->o, &s->o);
    ck_assert_uint_le(s->o.n, 16);
    if (s->o.n) {
        memcpy(s->m, s->o.m, s->o.n * sizeof(float));
        memcpy(s->v, s->o.v, s->o.n * sizeof(float));
    }
    s->params = tu_model_params(r->m);
}

static void assert_unchanged(const snapshot *s, const rig *r)
{
    snapshot now;
    take(&now, r);
    ck_assert(memcmp(&s->t, &now.t, sizeof s->t) == 0);
    ck_assert(memcmp(s->o.hp, now.o.hp, sizeof s->o.hp) == 0);
    ck_assert(s->o.n == now.o.n && s->o.steps == now.o.steps &&
              s->o.m == now.o.m && s->o.v == now.o.v);
    ck_assert(memcmp(s->m, now.m, s->o.n * sizeof(float)) == 0);
    ck_assert(memcmp(s->v, now.v, s->o.n * sizeof(float)) == 0);
    ck_assert(memcmp(s->params, now.params,
                     ae_model_param_count(r->m) * sizeof(float)) == 0);
    free(now.params);
}

/* Where the tiny checkpoint's state section, moments and best weights
 * start (header 32, model 208, state 448, moments 2 x 7 x 4). */
enum { ST = 240, MOM = 688, BEST = 744 };

/* A small checkpoint (tiny model, Adam, mid-epoch) and a trainer that has
 * its own, different state to keep. */
static uint8_t *tiny_checkpoint(size_t *size)
{
    size_t n, px = 7 * 2;
    uint8_t pixels[7 * 2];
    for (size_t i = 0; i < px; i++)
        pixels[i] = (uint8_t)(i * 29);
    uint8_t *idx = tu_idx_images(7, 1, 2, pixels, &n);
    ae_dataset *ds;
    ck_assert_ae_ok(ae_dataset_load_idx_memory(&ds, idx, n, NULL, 0));
    free(idx);
    rig r = make_rig(TINY, 0, 1, 0.01f);
    const char *path = tu_tmp_path("tiny.aeckpt");
    /* In epoch 2 (batches of 2: 4 a epoch, then its end), with a cosine
     * schedule under way and early stopping holding epoch 1's weights. */
    recorder rec = {.stop_at = 7, .save_to = path, .t = r.t};
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_BATCH_SIZE, 2));
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_LR_SCHEDULE,
                                   AE_SCHEDULE_COSINE));
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_EARLY_STOP_PATIENCE, 3));
    ck_assert_ae_ok(ae_trainer_fit(r.t, ds, ds, 2, record, &rec));
    free_rig(&r);
    ae_dataset_free(ds);
    return tu_read_file(path, size);
}

static rig trained_tiny_rig(void)
{
    rig r = make_fresh_rig(TINY, 0);
    float x[2 * 2] = {0.1f, 0.9f, 0.4f, 0.3f};
    ck_assert_ae_ok(ae_trainer_step(r.t, x, NULL, 2, NULL));
    return r;
}

START_TEST(every_byte_corruption_is_rejected)
{
    size_t size;
    uint8_t *good = tiny_checkpoint(&size);
    /* header, model, state, moments, best weights, CRC */
    ck_assert_uint_eq(size, 32 + 208 + 448 + 7 * 4 * 2 + 7 * 4 + 4);
    uint8_t *bad = malloc(size);
    rig r = trained_tiny_rig();
    snapshot before;
    take(&before, &r);
    const char *path = tu_tmp_path("flipped.aeckpt");
    const uint8_t flips[] = {0x01, 0x80, 0xff};
    for (size_t off = 0; off < size; off++)
        for (size_t f = 0; f < sizeof flips; f++) {
            memcpy(bad, good, size);
            bad[off] ^= flips[f];
            tu_write_file(path, bad, size, 0);
            ae_status s = ae_trainer_load_checkpoint(r.t, path);
            ck_assert_msg(s != AE_OK, "offset %zu ^ 0x%02x loaded", off,
                          flips[f]);
            ck_assert(ae_last_error()[0] != '\0');
            /* Past the header, the CRC catches it, except in the count
             * of best weights, a size read (as the header's) before the
             * CRC is checked. */
            int size_field = off >= ST + 368 && off < ST + 376;
            if (off >= 32 && !size_field)
                ck_assert_msg(s == AE_ERR_CHECKSUM, "offset %zu ^ 0x%02x: "
                              "%s (%s)", off, flips[f], ae_status_name(s),
                              ae_last_error());
        }
    assert_unchanged(&before, &r);
    /* The undamaged file loads into the same trainer. */
    tu_write_file(path, good, size, 0);
    ck_assert_ae_ok(ae_trainer_load_checkpoint(r.t, path));
    free(before.params);
    free_rig(&r);
    free(bad);
    free(good);
}
END_TEST

START_TEST(every_truncation_is_rejected)
{
    size_t size;
    uint8_t *good = tiny_checkpoint(&size);
    rig r = trained_tiny_rig();
    snapshot before;
    take(&before, &r);
    const char *path = tu_tmp_path("cut.aeckpt");
    for (size_t n = 0; n < size; n++) {
        tu_write_file(path, good, n, 0);
        ck_assert_msg(ae_trainer_load_checkpoint(r.t, path) != AE_OK,
                      "prefix of %zu bytes loaded", n);
    }
    uint8_t *longer = malloc(size + 1);
    memcpy(longer, good, size);
    longer[size] = 0;
    tu_write_file(path, longer, size + 1, 0);
    ck_assert_ae_status(ae_trainer_load_checkpoint(r.t, path), AE_ERR_FORMAT);
    assert_unchanged(&before, &r);
    free(before.params);
    free(longer);
    free_rig(&r);
    free(good);
}
END_TEST

static void le32(uint8_t *p, uint32_t v)
{
    for (int k = 0; k < 4; k++)
        p[k] = (uint8_t)(v >> (8 * k));
}

static void le64(uint8_t *p, uint64_t v)
{
    le32(p, (uint32_t)v);
    le32(p + 4, (uint32_t)(v >> 32));
}

static void fix_crc(uint8_t *b, size_t size)
{
    le32(b + size - 4, (uint32_t)crc32(0L, b, (uInt)(size - 4)));
}

/* Lies with a valid CRC, each at an offset in the state section (which
 * starts at 32 + 208 = 240 in the tiny checkpoint) or the moments (688). */
typedef struct crafted {
    const char *what;
    size_t offset;
    int width; /* 4 or 8; 0: f32; -1: f64 */
    uint64_t value;
    double fvalue;
    ae_status expected;
} crafted;


static const crafted lies[] = {
    {"version 3", 8, 4, 3, 0, AE_ERR_UNSUPPORTED},
    {"version 1 (sizes no longer fit)", 8, 4, 1, 0, AE_ERR_FORMAT},
    {"version 0", 8, 4, 0, 0, AE_ERR_FORMAT},
    {"optimizer kind 4 (no such kind)", 12, 4, 4, 0, AE_ERR_FORMAT},
    {"optimizer kind AdamW (not the trainer's Adam)", 12, 4, 3, 0,
     AE_ERR_INVALID_ARGUMENT},
    {"optimizer kind SGD (sizes no longer fit)", 12, 4, 2, 0, AE_ERR_FORMAT},
    {"huge model size", 16, 8, UINT64_C(1) << 40, 0, AE_ERR_LIMIT},
    {"huge moment count", 24, 8, UINT64_C(1) << 40, 0, AE_ERR_LIMIT},
    {"learning rate 0", ST + 0, -1, 0, 0.0, AE_ERR_FORMAT},
    {"beta1 1", ST + 8, -1, 0, 1.0, AE_ERR_FORMAT},
    {"epsilon NaN", ST + 24, -1, 0, NAN, AE_ERR_FORMAT},
    {"loss 2", ST + 56, 4, 2, 0, AE_ERR_FORMAT},
    {"noise 7", ST + 60, 4, 7, 0, AE_ERR_FORMAT},
    {"L1 -1", ST + 64, 0, 0, -1.0, AE_ERR_FORMAT},
    {"noise level inf", ST + 68, 0, 0, INFINITY, AE_ERR_FORMAT},
    {"shuffle 2", ST + 76, 4, 2, 0, AE_ERR_FORMAT},
    {"range 5", ST + 80, 4, 5, 0, AE_ERR_FORMAT},
    {"reserved 1", ST + 84, 4, 1, 0, AE_ERR_FORMAT},
    {"batch size 0", ST + 88, 8, 0, 0, AE_ERR_FORMAT},
    {"seed 2^60", ST + 96, 8, UINT64_C(1) << 60, 0, AE_ERR_FORMAT},
    {"generator all zero", ST + 112, 32, 0, 0, AE_ERR_FORMAT},
    {"run start after epochs done", ST + 152, 8, 5, 0, AE_ERR_FORMAT},
    {"run of 0 epochs", ST + 160, 8, 0, 0, AE_ERR_FORMAT},
    {"run of 2^40 epochs", ST + 160, 8, UINT64_C(1) << 40, 0, AE_ERR_FORMAT},
    {"run images 0", ST + 168, 8, 0, 0, AE_ERR_FORMAT},
    {"run batch size over images", ST + 176, 8, 8, 0, AE_ERR_FORMAT},
    {"run shuffle 3", ST + 192, 4, 3, 0, AE_ERR_FORMAT},
    {"reserved 2", ST + 196, 4, 9, 0, AE_ERR_FORMAT},
    {"batch past the epoch", ST + 200, 8, 5, 0, AE_ERR_FORMAT},
    {"seen disagrees", ST + 208, 8, 3, 0, AE_ERR_FORMAT},
    {"loss sum NaN", ST + 216, -1, 0, NAN, AE_ERR_FORMAT},
    {"loss sum negative", ST + 216, -1, 0, -1.0, AE_ERR_FORMAT},
    /* version 2: the training controls */
    {"schedule 5", ST + 224, 4, 5, 0, AE_ERR_FORMAT},
    {"step size 0", ST + 228, 4, 0, 0, AE_ERR_FORMAT},
    {"gamma 0", ST + 232, -1, 0, 0.0, AE_ERR_FORMAT},
    {"gamma NaN", ST + 232, -1, 0, NAN, AE_ERR_FORMAT},
    {"T_max 0", ST + 240, 4, 0, 0, AE_ERR_FORMAT},
    {"plateau patience 2^31", ST + 244, 4, UINT32_C(1) << 31, 0,
     AE_ERR_FORMAT},
    {"minimum rate -1", ST + 248, -1, 0, -1.0, AE_ERR_FORMAT},
    {"plateau factor 1", ST + 256, -1, 0, 1.0, AE_ERR_FORMAT},
    {"plateau threshold 1", ST + 264, -1, 0, 1.0, AE_ERR_FORMAT},
    {"early-stopping min delta inf", ST + 280, -1, 0, INFINITY,
     AE_ERR_FORMAT},
    {"clip norm -1", ST + 288, -1, 0, -1.0, AE_ERR_FORMAT},
    {"schedule started 2", ST + 296, 4, 2, 0, AE_ERR_FORMAT},
    {"schedule not started, with a state", ST + 296, 4, 0, 0,
     AE_ERR_FORMAT},
    {"reserved 3", ST + 300, 4, 1, 0, AE_ERR_FORMAT},
    {"schedule base rate 0", ST + 312, -1, 0, 0.0, AE_ERR_FORMAT},
    {"schedule rate NaN", ST + 320, -1, 0, NAN, AE_ERR_FORMAT},
    {"schedule rate negative", ST + 320, -1, 0, -1e-3, AE_ERR_FORMAT},
    {"plateau best NaN", ST + 328, -1, 0, NAN, AE_ERR_FORMAT},
    {"best loss NaN", ST + 352, -1, 0, NAN, AE_ERR_FORMAT},
    {"best loss +inf with a best epoch", ST + 352, -1, 0, INFINITY,
     AE_ERR_FORMAT},
    {"best epoch 0 with a best", ST + 360, 4, 0, 0, AE_ERR_FORMAT},
    {"best epoch after the epochs done", ST + 360, 4, 2, 0, AE_ERR_FORMAT},
    {"stopped mid-epoch", ST + 364, 4, 1, 0, AE_ERR_FORMAT},
    {"stopped 2", ST + 364, 4, 2, 0, AE_ERR_FORMAT},
    {"best count 0 (sizes no longer fit)", ST + 368, 8, 0, 0,
     AE_ERR_FORMAT},
    {"best count 2^60", ST + 368, 8, UINT64_C(1) << 60, 0, AE_ERR_LIMIT},
    {"best weight NaN", BEST + 8, 0, 0, NAN, AE_ERR_NOT_FINITE},
    /* version 2: the VAE's block */
    {"KL beta -1", ST + 376, -1, 0, -1.0, AE_ERR_FORMAT},
    {"KL beta NaN", ST + 376, -1, 0, NAN, AE_ERR_FORMAT},
    {"KL beta 1e300 (no float)", ST + 376, -1, 0, 1e300, AE_ERR_FORMAT},
    {"per-image sum 2", ST + 384, 4, 2, 0, AE_ERR_FORMAT},
    {"reserved 3", ST + 388, 4, 1, 0, AE_ERR_FORMAT},
    {"eps generator all zero", ST + 392, 32, 0, 0, AE_ERR_FORMAT},
    {"reconstruction sum NaN", ST + 424, -1, 0, NAN, AE_ERR_FORMAT},
    {"KL sum infinite", ST + 432, -1, 0, INFINITY, AE_ERR_FORMAT},
    {"L1 sum NaN", ST + 440, -1, 0, NAN, AE_ERR_FORMAT},
    {"first moment NaN", MOM, 0, 0, NAN, AE_ERR_NOT_FINITE},
    {"second moment negative", MOM + 28, 0, 0, -1.0, AE_ERR_NOT_FINITE},
    {"model weight (inner CRC)", 32 + 176, 4, 0x3f800000, 0, AE_ERR_CHECKSUM},
};

static void apply_lie(uint8_t *b, const crafted *c)
{
    if (c->width == 4)
        le32(b + c->offset, (uint32_t)c->value);
    else if (c->width == 8)
        le64(b + c->offset, c->value);
    else if (c->width == 32)
        memset(b + c->offset, 0, 32);
    else if (c->width == 0) {
        float f = (float)c->fvalue;
        uint32_t u;
        memcpy(&u, &f, 4);
        le32(b + c->offset, u);
    } else {
        uint64_t u;
        memcpy(&u, &c->fvalue, 8);
        le64(b + c->offset, u);
    }
}

START_TEST(crafted_files_with_valid_crc_are_rejected)
{
    size_t size;
    uint8_t *good = tiny_checkpoint(&size);
    uint8_t *bad = malloc(size);
    rig r = trained_tiny_rig();
    snapshot before;
    take(&before, &r);
    const char *path = tu_tmp_path("crafted.aeckpt");
    for (size_t k = 0; k < sizeof lies / sizeof lies[0]; k++) {
        const crafted *c = &lies[k];
        memcpy(bad, good, size);
        apply_lie(bad, c);
        fix_crc(bad, size);
        tu_write_file(path, bad, size, 0);
        ae_status s = ae_trainer_load_checkpoint(r.t, path);
        ck_assert_msg(s == c->expected, "%s: %s, expected %s (%s)", c->what,
                      ae_status_name(s), ae_status_name(c->expected),
                      ae_last_error());
        ck_assert_ptr_nonnull(strstr(ae_last_error(), path));
    }
    assert_unchanged(&before, &r);
    free(before.params);
    free_rig(&r);
    free(bad);
    free(good);
}
END_TEST

/* ---- version 1 ---------------------------------------------------------- */

/* A trainer for tests/reference/checkpoint_v1.aeckpt's model (1 x 1 x 3
 * inputs, dense 2 tanh, dense 3 sigmoid), its settings all otherwise. */
static rig v1_rig(void)
{
    rig r;
    ck_assert_ae_ok(ae_model_create(&r.m, 1, 1, 3, 99));
    ck_assert_ae_ok(ae_model_add_dense(r.m, AE_ENCODER, 2, AE_ACT_TANH));
    ck_assert_ae_ok(ae_model_add_dense(r.m, AE_DECODER, 3, AE_ACT_SIGMOID));
    ck_assert_ae_ok(ae_optimizer_create_adam(&r.o, 0.5f));
    ck_assert_ae_ok(ae_trainer_create(&r.t, r.m, r.o));
    set_controls(r.t, CTL_EARLY);
    return r;
}

static void assert_params_as(ae_model *m, const uint32_t *want, size_t n)
{
    ck_assert_uint_eq(ae_model_param_count(m), n);
    float *p = tu_model_params(m), *w = malloc(n * sizeof *w);
    ck_assert_ptr_nonnull(w);
    memcpy(w, want, n * sizeof *w);
    assert_near_fixture(p, w, n, "after the version-1 checkpoint");
    free(w);
    free(p);
}

/* A checkpoint written by the library when checkpoints were version 1
 * (tests/reference/make_checkpoint_v1.c made it, mid-fit, Adam with
 * Gaussian noise) still loads: the training controls take their defaults,
 * and the next step, and the resumed fit, give the weights that library
 * gave (to the float rounding of another machine's kernels,
 * assert_near_fixture). */
START_TEST(version_1_checkpoint_still_loads)
{
    static const uint32_t after_step[17] = {
        0xbe3c6290, 0x3d09a167, 0x3f40919e, 0xbe7fa8e7, 0x3ec8ea64,
        0xbeafcf8d, 0xbcebc8fc, 0x3e071f22, 0xbecb544b, 0xbe97b449,
        0xbef63676, 0x3f0545c2, 0x3f3bbb2f, 0xbf243e78, 0xbd379215,
        0x3e9c39d9, 0x3f265e37};
    static const uint32_t after_fit[17] = {
        0xbea01e25, 0xbd941c81, 0x3f1e5db0, 0xbe8e8149, 0x3ebb1b19,
        0xbeb74a40, 0xbc002a7f, 0x3e573ece, 0xbe7564dc, 0xbed167bb,
        0xbeb30b74, 0x3ea6cac9, 0x3f4c8552, 0xbf3a6030, 0xbdc5d459,
        0x3e681bee, 0x3f0c7ab6};
    const char *path = AE_TEST_SOURCE_DIR "/reference/checkpoint_v1.aeckpt";
    size_t size;
    uint8_t *b = tu_read_file(path, &size);
    ck_assert_uint_eq(b[8], 1); /* version 1 */
    free(b);
    rig r = v1_rig();
    ck_assert_ae_ok(ae_trainer_load_checkpoint(r.t, path));
    const ae_train_param controls_params[] = {
        AE_TRAIN_LR_SCHEDULE, AE_TRAIN_LR_STEP_SIZE, AE_TRAIN_LR_GAMMA,
        AE_TRAIN_LR_T_MAX, AE_TRAIN_LR_MIN, AE_TRAIN_PLATEAU_FACTOR,
        AE_TRAIN_PLATEAU_PATIENCE, AE_TRAIN_PLATEAU_THRESHOLD,
        AE_TRAIN_PLATEAU_COOLDOWN, AE_TRAIN_EARLY_STOP_PATIENCE,
        AE_TRAIN_EARLY_STOP_MIN_DELTA, AE_TRAIN_CLIP_NORM};
    const double defaults[] = {AE_SCHEDULE_NONE, 1, 0.1, 10, 0, 0.1, 10,
                               1e-4, 0, 0, 0, 0};
    for (size_t k = 0; k < sizeof defaults / sizeof defaults[0]; k++) {
        double v;
        ck_assert_ae_ok(ae_trainer_get(r.t, controls_params[k], &v));
        ck_assert_msg(v == defaults[k], "setting %d: %g, expected %g",
                      (int)controls_params[k], v, defaults[k]);
    }
    double lr, saved_lr;
    ck_assert_ae_ok(ae_trainer_learning_rate(r.t, &lr));
    ck_assert_ae_ok(ae_optimizer_get(r.o, AE_OPT_LEARNING_RATE, &saved_lr));
    ck_assert_double_eq(lr, saved_lr);
    ck_assert_float_eq((float)lr, 0.05f);
    const float x[6] = {0.25f, 0.5f, 0.75f, 0.125f, 0.875f, 0.375f};
    float loss;
    ck_assert_ae_ok(ae_trainer_step(r.t, x, NULL, 2, &loss));
    ck_assert_uint_le(tu_ulps_apart(loss, 0x1.9b83p-5f), FIXTURE_ULPS);
    assert_params_as(r.m, after_step, 17);
    free_rig(&r);
    /* The fit it was saved in, resumed to its end. */
    uint8_t idx[16 + 15] = {0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 3};
    for (int i = 0; i < 15; i++)
        idx[16 + i] = (uint8_t)(i * 17 + 3);
    ae_dataset *ds;
    ck_assert_ae_ok(ae_dataset_load_idx_memory(&ds, idx, sizeof idx, NULL,
                                               0));
    rig f = v1_rig();
    ck_assert_ae_ok(ae_trainer_load_checkpoint(f.t, path));
    ck_assert_ae_ok(ae_trainer_fit(f.t, ds, NULL, 3, NULL, NULL));
    assert_params_as(f.m, after_fit, 17);
    free_rig(&f);
    ae_dataset_free(ds);
}
END_TEST

/* ---- mismatches and bad arguments --------------------------------------- */

START_TEST(architecture_and_optimizer_mismatches)
{
    size_t size;
    uint8_t *good = tiny_checkpoint(&size);
    const char *path = tu_tmp_path("good.aeckpt");
    tu_write_file(path, good, size, 0);
    /* Another architecture: refused with AE_ERR_SHAPE, nothing changed. */
    rig d = make_fresh_rig(DENSE, 0);
    snapshot before;
    take(&before, &d);
    ck_assert_ae_status(ae_trainer_load_checkpoint(d.t, path), AE_ERR_SHAPE);
    assert_unchanged(&before, &d);
    free(before.params);
    free_rig(&d);
    /* Same layers, another activation or width. */
    ae_model *m;
    ae_optimizer *o;
    ae_trainer *t;
    ck_assert_ae_ok(ae_model_create(&m, 1, 1, 2, 1));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 1, AE_ACT_RELU));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 2, AE_ACT_SIGMOID));
    ck_assert_ae_ok(ae_optimizer_create_adam(&o, 0.1f));
    ck_assert_ae_ok(ae_trainer_create(&t, m, o));
    ck_assert_ae_status(ae_trainer_load_checkpoint(t, path), AE_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "layer 0"));
    ae_trainer_free(t);
    ae_model_free(m);
    ck_assert_ae_ok(ae_model_create(&m, 1, 2, 1, 1));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 1, AE_ACT_TANH));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 2, AE_ACT_SIGMOID));
    ck_assert_ae_ok(ae_trainer_create(&t, m, o));
    ck_assert_ae_status(ae_trainer_load_checkpoint(t, path), AE_ERR_SHAPE);
    ae_trainer_free(t);
    ae_model_free(m);
    ae_optimizer_free(o);
    /* Same model, an SGD optimizer for an Adam checkpoint. */
    rig s = make_fresh_rig(TINY, 1);
    take(&before, &s);
    ck_assert_ae_status(ae_trainer_load_checkpoint(s.t, path),
                        AE_ERR_INVALID_ARGUMENT);
    assert_unchanged(&before, &s);
    free(before.params);
    free_rig(&s);
    free(good);
}
END_TEST

START_TEST(null_and_bad_arguments)
{
    rig r = make_rig(TINY, 0, 1, 0.01f);
    const char *path = tu_tmp_path("args.aeckpt");
    ck_assert_ae_status(ae_trainer_save_checkpoint(NULL, path), AE_ERR_NULL);
    ck_assert_ae_status(ae_trainer_save_checkpoint(r.t, NULL), AE_ERR_NULL);
    ck_assert_ae_status(ae_trainer_save_checkpoint(r.t, ""),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_trainer_save_checkpoint(r.t,
                            tu_tmp_path("no-such-dir/x.aeckpt")), AE_ERR_IO);
    ck_assert_ae_status(ae_trainer_load_checkpoint(NULL, path), AE_ERR_NULL);
    ck_assert_ae_status(ae_trainer_load_checkpoint(r.t, NULL), AE_ERR_NULL);
    ck_assert_ae_status(ae_trainer_load_checkpoint(r.t,
                            tu_tmp_path("missing.aeckpt")), AE_ERR_IO);
    ck_assert_ae_status(ae_trainer_load_checkpoint(r.t, tu_tmpdir()),
                        AE_ERR_IO);
    ck_assert_ae_status(ae_trainer_set_checkpoint_path(NULL, path),
                        AE_ERR_NULL);
    ck_assert_ae_status(ae_trainer_set_checkpoint_path(r.t, ""),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_ok(ae_trainer_set_checkpoint_path(r.t, path));
    ck_assert_ae_ok(ae_trainer_set_checkpoint_path(r.t, NULL));
    ck_assert_ae_status(ae_trainer_set(r.t, AE_TRAIN_CHECKPOINT_EVERY, -1),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_trainer_set(r.t, AE_TRAIN_CHECKPOINT_EVERY, 1.5),
                        AE_ERR_INVALID_ARGUMENT);
    /* Checkpoints on without a path: the fit refuses before training. */
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_CHECKPOINT_EVERY, 2));
    uint8_t px[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    size_t n;
    uint8_t *idx = tu_idx_images(4, 1, 2, px, &n);
    ae_dataset *ds;
    ck_assert_ae_ok(ae_dataset_load_idx_memory(&ds, idx, n, NULL, 0));
    free(idx);
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_BATCH_SIZE, 2));
    ck_assert_ae_status(ae_trainer_fit(r.t, ds, NULL, 1, NULL, NULL),
                        AE_ERR_INVALID_ARGUMENT);
    /* A checkpoint that cannot be written stops the fit with AE_ERR_IO. */
    ck_assert_ae_ok(ae_trainer_set_checkpoint_path(r.t,
                        tu_tmp_path("no-such-dir/fit.aeckpt")));
    ck_assert_ae_status(ae_trainer_fit(r.t, ds, NULL, 1, NULL, NULL),
                        AE_ERR_IO);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "checkpoint"));
    /* A fresh trainer's checkpoint (no fit yet) round-trips. */
    rig f = make_rig(TINY, 0, 1, 0.01f);
    ck_assert_ae_ok(ae_trainer_save_checkpoint(f.t, path));
    ck_assert_ae_ok(ae_trainer_load_checkpoint(r.t, path));
    ck_assert_ae_ok(ae_trainer_fit(r.t, ds, NULL, 1, NULL, NULL));
    ae_dataset_free(ds);
    free_rig(&f);
    free_rig(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("checkpoint");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, dense_adam_resumes_bit_identically);
    tcase_add_test(tc, dense_sgd_resumes_bit_identically);
    tcase_add_test(tc, conv_adam_resumes_bit_identically);
    tcase_add_test(tc, vae_resumes_bit_identically);
    tcase_add_test(tc, version_1_checkpoint_loads);
    tcase_add_loop_test(tc, controls_resume_bit_identically, CTL_STEP,
                        CTL_COUNT);
    tcase_add_test(tc, fit_writes_checkpoints_to_resume_from);
    tcase_add_test(tc, checkpoint_between_fit_calls);
    tcase_add_test(tc, resume_mismatches_are_refused);
    tcase_add_test(tc, every_byte_corruption_is_rejected);
    tcase_add_test(tc, every_truncation_is_rejected);
    tcase_add_test(tc, crafted_files_with_valid_crc_are_rejected);
    tcase_add_test(tc, version_1_checkpoint_still_loads);
    tcase_add_test(tc, architecture_and_optimizer_mismatches);
    tcase_add_test(tc, null_and_bad_arguments);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}

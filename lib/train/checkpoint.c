/*
 * checkpoint.c - training checkpoints (docs/FORMAT.md, "Checkpoint
 * files"): the model in its own file format, the optimizer's
 * hyperparameters, step count and moments, the trainer's settings, its
 * noise generator and where its fit call stands.  Saved atomically
 * (atomic_file.c); loaded as hostile data, everything checked and staged
 * before the trainer, its model or its optimizer is touched.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/atomic_file.h"
#include "common/bytes.h"
#include "common/finite.h"
#include "common/read_file.h"
#include "nn/layer.h"
#include "nn/model.h"
#include "train/optimizer.h"
#include "train/trainer_settings.h"

static const uint8_t CKPT_MAGIC[8] = {'A', 'E', 'N', 'C', 'C', 'K', 'P', 'T'};

enum {
    CKPT_VERSION = 2,
    /* header */
    H_VERSION = 8,
    H_OPT_KIND = 12,
    H_MODEL_SIZE = 16,
    H_MOMENTS = 24,
    HEADER_SIZE = 32,
    /* state section, from its start (after the model) */
    S_HP = 0, /* 6 f64: the ae_optimizer_param values in enum order */
    S_STEPS = 48,
    S_LOSS = 56,
    S_NOISE = 60,
    S_L1 = 64,
    S_NOISE_LEVEL = 68,
    S_L1_PER_IMAGE = 72,
    S_SHUFFLE = 76,
    S_RANGE = 80,
    S_RESERVED1 = 84,
    S_BATCH_SIZE = 88,
    S_SEED = 96,
    S_CKPT_EVERY = 104,
    S_RNG = 112, /* 4 u64 */
    S_EPOCHS_DONE = 144,
    S_RUN_START = 152,
    S_RUN_EPOCHS = 160,
    S_RUN_IMAGES = 168,
    S_RUN_BATCH_SIZE = 176,
    S_RUN_SEED = 184,
    S_RUN_SHUFFLE = 192,
    S_RESERVED2 = 196,
    S_RUN_BATCH = 200,
    S_RUN_SEEN = 208,
    S_RUN_LOSS_SUM = 216,
    STATE_SIZE_V1 = 224,
    /* Version 2 (0.2) appends to the state section of version 1, which it
     * keeps as it was: the training controls' settings, the schedule's
     * state and early stopping's, then the variational autoencoders' block
     * (docs/FORMAT.md).  Fields that 0.2 adds
     * later go at the end, before S2_END, which moves; once 0.2 has
     * shipped, new fields take version 3 and append after S2_END. */
    S2_SCHEDULE = 224,
    S2_STEP_SIZE = 228,
    S2_GAMMA = 232,
    S2_T_MAX = 240,
    S2_PLATEAU_PATIENCE = 244,
    S2_MIN_LR = 248,
    S2_FACTOR = 256,
    S2_THRESHOLD = 264,
    S2_COOLDOWN = 272,
    S2_ES_PATIENCE = 276,
    S2_ES_MIN_DELTA = 280,
    S2_CLIP_NORM = 288,
    S2_SCHED_STARTED = 296,
    S2_RESERVED3 = 300,
    S2_SCHED_EPOCH = 304,
    S2_SCHED_BASE_LR = 312,
    S2_SCHED_LR = 320,
    S2_PLATEAU_BEST = 328,
    S2_PLATEAU_BAD = 336,
    S2_PLATEAU_COOLDOWN_LEFT = 344,
    S2_ES_BEST = 352,
    S2_ES_BEST_EPOCH = 360,
    S2_ES_STOPPED = 364,
    S2_BEST_COUNT = 368, /* B: the best weights after the moments */
    /* Variational autoencoders: */
    S2_KL_BETA = 376,         /* f64 */
    S2_SUM_PER_IMAGE = 384,   /* u32 */
    S2_RESERVED4 = 388,       /* u32, 0 */
    S2_SAMPLE_RNG = 392,      /* 4 u64: the generator of eps */
    S2_RUN_RECON_SUM = 424,   /* f64: the fit run's sums of the terms */
    S2_RUN_KL_SUM = 432,      /* f64 */
    S2_RUN_L1_SUM = 440,      /* f64 */
    S2_END = 448,
    STATE_SIZE_V2 = S2_END,
    CRC_SIZE = 4,
    MIN_MODEL_SIZE = 52 /* an empty model's file */
};

/* Largest checkpoint written or read: 8 GiB (a 2 GiB model and Adam's two
 * moments), less on machines with a smaller address space. */
#define MAX_CKPT_BYTES                                                        \
    ((uint64_t)SIZE_MAX / 2 < ((uint64_t)1 << 33) ? (uint64_t)SIZE_MAX / 2   \
                                                   : ((uint64_t)1 << 33))

static int moments_per_param(uint32_t kind)
{
    return ae__optimizer_moments(kind);
}

static uint64_t state_size(uint32_t version)
{
    return version == 1 ? STATE_SIZE_V1 : STATE_SIZE_V2;
}

/* Bytes of a checkpoint of a version with a model file of model_size
 * bytes, n parameters' moments and b best weights; 0 if over the limit. */
static uint64_t checkpoint_size(uint32_t version, uint64_t model_size,
                                uint64_t n, uint32_t kind, uint64_t b)
{
    uint64_t max = MAX_CKPT_BYTES;
    uint64_t fixed = HEADER_SIZE + state_size(version) + CRC_SIZE;
    uint64_t k = (uint64_t)moments_per_param(kind);
    if (model_size > max - fixed || n > (max - fixed - model_size) / 4 / k)
        return 0;
    uint64_t size = fixed + model_size + 4 * n * k;
    if (b > (max - size) / 4)
        return 0;
    return size + 4 * b;
}

/* ---- saving ------------------------------------------------------------ */

static void put_optimizer(uint8_t *p, const ae__opt_state *st)
{
    for (int k = 0; k < AE__OPT_PARAMS; k++)
        ae__put_f64(p + S_HP + 8 * k, st->hp[k]);
    ae__put_u64(p + S_STEPS, st->steps);
}

static void put_settings(uint8_t *p, const ae_trainer *t)
{
    ae__put_u32(p + S_LOSS, (uint32_t)t->loss);
    ae__put_u32(p + S_NOISE, (uint32_t)t->noise);
    ae__put_f32(p + S_L1, t->l1_code);
    ae__put_f32(p + S_NOISE_LEVEL, t->noise_level);
    ae__put_u32(p + S_L1_PER_IMAGE, (uint32_t)t->l1_per_image);
    ae__put_u32(p + S_SHUFFLE, (uint32_t)t->shuffle);
    ae__put_u32(p + S_RANGE, (uint32_t)t->range);
    ae__put_u32(p + S_RESERVED1, 0);
    ae__put_u64(p + S_BATCH_SIZE, (uint64_t)t->batch_size);
    ae__put_u64(p + S_SEED, t->seed);
    ae__put_u64(p + S_CKPT_EVERY, t->checkpoint_every);
    for (int k = 0; k < 4; k++)
        ae__put_u64(p + S_RNG + 8 * k, t->noise_rng.s[k]);
}

static void put_position(uint8_t *p, const ae_trainer *t)
{
    const ae__fit_run *r = &t->run;
    ae__put_u64(p + S_EPOCHS_DONE, t->epochs_done);
    ae__put_u64(p + S_RUN_START, r->start);
    ae__put_u64(p + S_RUN_EPOCHS, r->epochs);
    ae__put_u64(p + S_RUN_IMAGES, r->images);
    ae__put_u64(p + S_RUN_BATCH_SIZE, r->batch_size);
    ae__put_u64(p + S_RUN_SEED, r->seed);
    ae__put_u32(p + S_RUN_SHUFFLE, r->shuffle);
    ae__put_u32(p + S_RESERVED2, 0);
    ae__put_u64(p + S_RUN_BATCH, r->batch);
    ae__put_u64(p + S_RUN_SEEN, r->seen);
    ae__put_f64(p + S_RUN_LOSS_SUM, r->loss_sum);
}

/* Version 2's VAE block: the settings, eps generator and term sums. */
static void put_vae(uint8_t *p, const ae_trainer *t)
{
    ae__put_f64(p + S2_KL_BETA, (double)t->kl_beta);
    ae__put_u32(p + S2_SUM_PER_IMAGE, (uint32_t)t->sum_per_image);
    ae__put_u32(p + S2_RESERVED4, 0);
    for (int k = 0; k < 4; k++)
        ae__put_u64(p + S2_SAMPLE_RNG + 8 * k, t->sample_rng.s[k]);
    ae__put_f64(p + S2_RUN_RECON_SUM, t->run.recon_sum);
    ae__put_f64(p + S2_RUN_KL_SUM, t->run.kl_sum);
    ae__put_f64(p + S2_RUN_L1_SUM, t->run.l1_sum);
}

/* Version 2: the training controls' settings and state. */
static void put_controls(uint8_t *p, const ae_trainer *t)
{
    const ae__schedule *c = &t->sched;
    const ae__schedule_state *st = &t->sched_state;
    const ae__early_stop *es = &t->es;
    ae__put_u32(p + S2_SCHEDULE, (uint32_t)c->kind);
    ae__put_u32(p + S2_STEP_SIZE, c->step_size);
    ae__put_f64(p + S2_GAMMA, c->gamma);
    ae__put_u32(p + S2_T_MAX, c->t_max);
    ae__put_u32(p + S2_PLATEAU_PATIENCE, c->patience);
    ae__put_f64(p + S2_MIN_LR, c->min_lr);
    ae__put_f64(p + S2_FACTOR, c->factor);
    ae__put_f64(p + S2_THRESHOLD, c->threshold);
    ae__put_u32(p + S2_COOLDOWN, c->cooldown);
    ae__put_u32(p + S2_ES_PATIENCE, es->patience);
    ae__put_f64(p + S2_ES_MIN_DELTA, es->min_delta);
    ae__put_f64(p + S2_CLIP_NORM, t->clip_norm);
    ae__put_u32(p + S2_SCHED_STARTED, st->started);
    ae__put_u32(p + S2_RESERVED3, 0);
    ae__put_u64(p + S2_SCHED_EPOCH, st->epoch);
    ae__put_f64(p + S2_SCHED_BASE_LR, st->base_lr);
    ae__put_f64(p + S2_SCHED_LR, st->lr);
    ae__put_f64(p + S2_PLATEAU_BEST, st->best);
    ae__put_u64(p + S2_PLATEAU_BAD, st->bad_epochs);
    ae__put_u64(p + S2_PLATEAU_COOLDOWN_LEFT, st->cooldown_left);
    ae__put_f64(p + S2_ES_BEST, es->best);
    ae__put_u32(p + S2_ES_BEST_EPOCH, (uint32_t)es->best_epoch);
    ae__put_u32(p + S2_ES_STOPPED, es->stopped);
    ae__put_u64(p + S2_BEST_COUNT, (uint64_t)es->n);
}

static void put_floats(uint8_t *p, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ae__put_f32(p + 4 * i, x[i]);
}

/* What a loader accepts: first moments not NaN, second moments >= 0 (an
 * infinity is a float overflow of g^2, a state training can be in). */
static ae_status check_moments(const float *m, const float *v, size_t n,
                               const char *when)
{
    for (size_t i = 0; i < n; i++)
        if (isnan(m[i]) || (v != NULL && !(v[i] >= 0.0f)))
            return ae__fail(AE_ERR_NOT_FINITE,
                            "%s: optimizer moment %zu is NaN%s", when, i,
                            v != NULL ? " or negative" : "");
    return AE_OK;
}

/* The size a checkpoint of t takes, checking what saving needs. */
static ae_status plan_save(const ae_trainer *t, const ae__opt_state *st,
                           size_t *model_size, size_t *total)
{
    ae_status s = ae_model_save_memory(t->model, NULL, 0, model_size);
    if (s != AE_OK)
        return s;
    size_t params = ae_model_param_count(t->model);
    if (st->n != 0 && st->n != params)
        return ae__fail(AE_ERR_SHAPE,
                        "the optimizer holds state for %zu parameters, the "
                        "trainer's model has %zu", st->n, params);
    uint64_t bytes = checkpoint_size(CKPT_VERSION, *model_size, st->n,
                                     st->kind, t->es.n);
    if (bytes == 0)
        return ae__fail(AE_ERR_LIMIT,
                        "a checkpoint of a %zu-byte model and %zu moments "
                        "exceeds the limit of %llu bytes", *model_size, st->n,
                        (unsigned long long)MAX_CKPT_BYTES);
    *total = (size_t)bytes;
    return check_moments(st->m, st->v, st->n, "cannot save a checkpoint");
}

/* Fill buf (total bytes) with t's checkpoint. */
static ae_status serialize(const ae_trainer *t, const ae__opt_state *st,
                           uint8_t *buf, size_t model_size, size_t total)
{
    size_t written = 0;
    ae_status s = ae_model_save_memory(t->model, buf + HEADER_SIZE,
                                       model_size, &written);
    if (s != AE_OK)
        return s;
    memcpy(buf, CKPT_MAGIC, sizeof CKPT_MAGIC);
    ae__put_u32(buf + H_VERSION, CKPT_VERSION);
    ae__put_u32(buf + H_OPT_KIND, st->kind);
    ae__put_u64(buf + H_MODEL_SIZE, (uint64_t)model_size);
    ae__put_u64(buf + H_MOMENTS, (uint64_t)st->n);
    uint8_t *p = buf + HEADER_SIZE + model_size;
    put_optimizer(p, st);
    put_settings(p, t);
    put_position(p, t);
    put_controls(p, t);
    put_vae(p, t);
    p += STATE_SIZE_V2;
    put_floats(p, st->m, st->n);
    p += 4 * st->n;
    if (ae__optimizer_moments(st->kind) == 2) {
        put_floats(p, st->v, st->n);
        p += 4 * st->n;
    }
    put_floats(p, t->es.weights, t->es.n);
    ae__put_u32(buf + total - CRC_SIZE, ae__crc32(buf, total - CRC_SIZE));
    return AE_OK;
}

ae_status ae_trainer_save_checkpoint(const ae_trainer *t, const char *path)
{
    AE_REQUIRE(t);
    AE_REQUIRE(path);
    if (path[0] == '\0')
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_trainer_save_checkpoint: empty path");
    ae__opt_state st;
    ae__optimizer_export(t->opt, &st);
    size_t model_size = 0, total = 0;
    ae_status s = plan_save(t, &st, &model_size, &total);
    if (s != AE_OK)
        return s;
    uint8_t *buf = ae__alloc(total);
    if (buf == NULL)
        return ae__fail(AE_ERR_NO_MEMORY,
                        "ae_trainer_save_checkpoint: cannot allocate %zu "
                        "bytes for %s", total, path);
    s = serialize(t, &st, buf, model_size, total);
    if (s == AE_OK)
        s = ae__write_file_atomic(path, buf, total);
    ae__free(buf);
    return s;
}

/* ---- loading: the envelope --------------------------------------------- */

/* Magic, the header's presence, version, optimizer kind. */
static ae_status check_header(const uint8_t *d, size_t size)
{
    if (size < sizeof CKPT_MAGIC ||
        memcmp(d, CKPT_MAGIC, sizeof CKPT_MAGIC) != 0)
        return ae__fail(AE_ERR_FORMAT, "offset 0 (magic): not a libautoenc "
                        "checkpoint (%zu bytes, expected \"AENCCKPT\" "
                        "first)", size);
    if (size < HEADER_SIZE)
        return ae__fail(AE_ERR_FORMAT, "offset %zu (header): truncated at "
                        "%zu bytes, the header takes %d", size, size,
                        HEADER_SIZE);
    uint32_t version = ae__get_u32(d + H_VERSION);
    if (version == 0 || version > CKPT_VERSION)
        return ae__fail(version ? AE_ERR_UNSUPPORTED : AE_ERR_FORMAT,
                        "offset %d (version): checkpoint version %lu, this "
                        "library reads 1 to %d", H_VERSION,
                        (unsigned long)version, CKPT_VERSION);
    uint32_t kind = ae__get_u32(d + H_OPT_KIND);
    if (ae__optimizer_moments(kind) == 0)
        return ae__fail(AE_ERR_FORMAT, "offset %d (optimizer kind): %lu is "
                        "none of Adam (1), SGD (2), AdamW (3)", H_OPT_KIND,
                        (unsigned long)kind);
    return AE_OK;
}

/* The number of best weights a version-2 checkpoint declares in its
 * state section, read before the CRC is checked, as the sizes in the
 * header are; 0 for version 1, or when the state is not there (the size
 * check then refuses the file). */
static uint64_t best_count(const uint8_t *d, size_t size, uint64_t msize)
{
    uint32_t version = ae__get_u32(d + H_VERSION);
    if (version < 2 || msize > MAX_CKPT_BYTES ||
        HEADER_SIZE + msize + S2_BEST_COUNT + 8 > (uint64_t)size)
        return 0;
    return ae__get_u64(d + HEADER_SIZE + msize + S2_BEST_COUNT);
}

/* The header, the sizes against the limit and the data's length, the
 * CRC-32.  On success the model section is data[32 .. 32 + *model_size). */
static ae_status check_envelope(const uint8_t *d, size_t size,
                                size_t *model_size, size_t *n_moments)
{
    ae_status s = check_header(d, size);
    if (s != AE_OK)
        return s;
    uint64_t msize = ae__get_u64(d + H_MODEL_SIZE);
    uint64_t n = ae__get_u64(d + H_MOMENTS);
    uint64_t b = best_count(d, size, msize);
    uint64_t declared = checkpoint_size(ae__get_u32(d + H_VERSION), msize, n,
                                        ae__get_u32(d + H_OPT_KIND), b);
    if (declared == 0)
        return ae__fail(AE_ERR_LIMIT, "offsets %d-%d (sizes): a %llu-byte "
                        "model, %llu moments and %llu best weights exceed "
                        "the limit of %llu bytes", H_MODEL_SIZE,
                        H_MOMENTS + 7, (unsigned long long)msize,
                        (unsigned long long)n, (unsigned long long)b,
                        (unsigned long long)MAX_CKPT_BYTES);
    if (declared != (uint64_t)size || msize < MIN_MODEL_SIZE)
        return ae__fail(AE_ERR_FORMAT, "offsets %d-%d (sizes): a %llu-byte "
                        "model, %llu moments and %llu best weights make "
                        "%llu bytes, the data has %zu", H_MODEL_SIZE,
                        H_MOMENTS + 7, (unsigned long long)msize,
                        (unsigned long long)n, (unsigned long long)b,
                        (unsigned long long)declared, size);
    uint32_t stored = ae__get_u32(d + size - CRC_SIZE);
    uint32_t computed = ae__crc32(d, size - CRC_SIZE);
    if (stored != computed)
        return ae__fail(AE_ERR_CHECKSUM, "offset %zu (CRC-32): stored "
                        "0x%08lx, the content gives 0x%08lx",
                        size - CRC_SIZE, (unsigned long)stored,
                        (unsigned long)computed);
    *model_size = (size_t)msize;
    *n_moments = (size_t)n;
    return AE_OK;
}

/* ---- loading: the model ------------------------------------------------ */

static ae_status layer_differs(size_t i, const ae_layer *a, const ae_layer *b)
{
    return ae__fail(AE_ERR_SHAPE,
                    "the checkpoint's model differs from the trainer's at "
                    "layer %zu: a %s layer (activation %d, %zu weights) "
                    "where the trainer's has a %s layer (activation %d, %zu "
                    "weights)", i, b->ops->name, (int)b->act, b->n_weights,
                    a->ops->name, (int)a->act, a->n_weights);
}

/* The same input shape and layers (kind, part, configuration, activation,
 * parameter counts): AE_ERR_SHAPE naming the first difference. */
static ae_status same_architecture(const ae_model *a, const ae_model *b)
{
    ae__shape sa = ae__model_input_shape(a), sb = ae__model_input_shape(b);
    size_t n = ae_model_layer_count(a);
    if (sa.c != sb.c || sa.h != sb.h || sa.w != sb.w ||
        n != ae_model_layer_count(b) ||
        ae_model_encoder_layer_count(a) != ae_model_encoder_layer_count(b))
        return ae__fail(AE_ERR_SHAPE,
                        "the checkpoint's model (%d x %d x %d inputs, %zu "
                        "layers, %zu in the encoder) differs from the "
                        "trainer's (%d x %d x %d, %zu, %zu)", sb.c, sb.h,
                        sb.w, ae_model_layer_count(b),
                        ae_model_encoder_layer_count(b), sa.c, sa.h, sa.w, n,
                        ae_model_encoder_layer_count(a));
    for (size_t i = 0; i < n; i++) {
        ae_layer *la = NULL, *lb = NULL;
        (void)ae_model_layer(a, i, &la);
        (void)ae_model_layer(b, i, &lb);
        if (la->ops != lb->ops || la->part != lb->part ||
            la->act != lb->act || la->act_param != lb->act_param ||
            memcmp(la->cfg, lb->cfg, sizeof la->cfg) != 0 ||
            la->n_weights != lb->n_weights || la->n_bias != lb->n_bias)
            return layer_differs(i, la, lb);
    }
    return AE_OK;
}

static ae_status read_model(const ae_trainer *t, const uint8_t *d,
                            size_t model_size, ae_model **out)
{
    ae_status s = ae_model_load_memory(out, d + HEADER_SIZE, model_size);
    if (s != AE_OK)
        return ae__fail_context(s, "offset %d (model section)", HEADER_SIZE);
    s = same_architecture(t->model, *out);
    if (s != AE_OK) {
        ae_model_free(*out);
        *out = NULL;
    }
    return s;
}

/* ---- loading: optimizer, settings, position ---------------------------- */

static ae_status read_optimizer(const ae_trainer *t, const uint8_t *d,
                                const uint8_t *p, size_t n,
                                ae__opt_state *st)
{
    st->kind = ae__get_u32(d + H_OPT_KIND);
    for (int k = 0; k < AE__OPT_PARAMS; k++)
        st->hp[k] = ae__get_f64(p + S_HP + 8 * k);
    st->steps = ae__get_u64(p + S_STEPS);
    st->n = n;
    size_t params = ae_model_param_count(t->model);
    if (n != 0 && n != params)
        return ae__fail(AE_ERR_FORMAT, "offset %d (moment count): %zu, the "
                        "model has %zu parameters", H_MOMENTS, n, params);
    return ae__optimizer_check_state(t->opt, st);
}

/* Apply the stored settings to nt through ae_trainer_set, which checks
 * each one. */
static ae_status read_settings(ae_trainer *nt, const uint8_t *p)
{
    const double v[] = {
        [AE_TRAIN_LOSS] = ae__get_u32(p + S_LOSS),
        [AE_TRAIN_L1_CODE] = ae__get_f32(p + S_L1),
        [AE_TRAIN_NOISE] = ae__get_u32(p + S_NOISE),
        [AE_TRAIN_NOISE_LEVEL] = ae__get_f32(p + S_NOISE_LEVEL),
        [AE_TRAIN_BATCH_SIZE] = (double)ae__get_u64(p + S_BATCH_SIZE),
        [AE_TRAIN_SHUFFLE] = ae__get_u32(p + S_SHUFFLE),
        [AE_TRAIN_SEED] = (double)ae__get_u64(p + S_SEED),
        [AE_TRAIN_RANGE] = ae__get_u32(p + S_RANGE),
        [AE_TRAIN_L1_PER_IMAGE] = ae__get_u32(p + S_L1_PER_IMAGE),
        [AE_TRAIN_CHECKPOINT_EVERY] = (double)ae__get_u64(p + S_CKPT_EVERY),
    };
    for (int k = 0; k < (int)(sizeof v / sizeof v[0]); k++)
        if (ae_trainer_set(nt, (ae_train_param)k, v[k]) != AE_OK)
            return ae__fail_context(AE_ERR_FORMAT, "trainer setting %d", k);
    /* Values that do not survive the round trip through a double. */
    if ((uint64_t)nt->seed != ae__get_u64(p + S_SEED) ||
        nt->checkpoint_every != ae__get_u64(p + S_CKPT_EVERY) ||
        ae__get_u32(p + S_RESERVED1) != 0)
        return ae__fail(AE_ERR_FORMAT, "trainer settings: a seed or period "
                        "over 2^53, or a reserved field not 0");
    for (int k = 0; k < 4; k++)
        nt->noise_rng.s[k] = ae__get_u64(p + S_RNG + 8 * k);
    if ((nt->noise_rng.s[0] | nt->noise_rng.s[1] | nt->noise_rng.s[2] |
         nt->noise_rng.s[3]) == 0)
        return ae__fail(AE_ERR_FORMAT, "noise generator state is all zero");
    return AE_OK;
}

static void get_run(const uint8_t *p, ae_trainer *nt)
{
    ae__fit_run *r = &nt->run;
    nt->epochs_done = ae__get_u64(p + S_EPOCHS_DONE);
    r->start = ae__get_u64(p + S_RUN_START);
    r->epochs = ae__get_u64(p + S_RUN_EPOCHS);
    r->images = ae__get_u64(p + S_RUN_IMAGES);
    r->batch_size = ae__get_u64(p + S_RUN_BATCH_SIZE);
    r->seed = ae__get_u64(p + S_RUN_SEED);
    r->shuffle = ae__get_u32(p + S_RUN_SHUFFLE);
    r->batch = ae__get_u64(p + S_RUN_BATCH);
    r->seen = ae__get_u64(p + S_RUN_SEEN);
    r->loss_sum = ae__get_f64(p + S_RUN_LOSS_SUM);
}

/* 1 if the run's settings are ones a fit call could have had. */
static int run_settings_valid(const ae__fit_run *r)
{
    return r->epochs <= (uint64_t)INT32_MAX && r->images >= 1 &&
           r->images <= (uint64_t)SIZE_MAX && r->batch_size >= 1 &&
           r->batch_size <= ((uint64_t)1 << 24) &&
           r->batch_size <= r->images && r->shuffle <= 1 &&
           r->seed <= ((uint64_t)1 << 53);
}

/* 1 if the position within the run is consistent. */
static int run_position_valid(const ae_trainer *nt)
{
    const ae__fit_run *r = &nt->run;
    if (nt->epochs_done < r->start || nt->epochs_done - r->start > r->epochs)
        return 0;
    uint64_t per =
        r->images / r->batch_size + (r->images % r->batch_size != 0);
    uint64_t seen = r->batch >= per ? r->images : r->batch * r->batch_size;
    int finished = nt->epochs_done - r->start == r->epochs;
    return r->batch <= per && r->seen == seen && !(finished && r->batch) &&
           isfinite(r->loss_sum) && r->loss_sum >= 0.0 &&
           (r->batch > 0 || r->loss_sum == 0.0);
}

/* Before any fit call everything is 0. */
static int run_empty(const ae_trainer *nt)
{
    const ae__fit_run *r = &nt->run;
    return nt->epochs_done == 0 && r->start == 0 && r->images == 0 &&
           r->batch_size == 0 && r->seed == 0 && r->shuffle == 0 &&
           r->batch == 0 && r->seen == 0 && r->loss_sum == 0.0;
}

static ae_status read_position(ae_trainer *nt, const uint8_t *p)
{
    get_run(p, nt);
    const ae__fit_run *r = &nt->run;
    int valid = ae__get_u32(p + S_RESERVED2) == 0 &&
                (r->epochs == 0 ? run_empty(nt)
                                : run_settings_valid(r) &&
                                      run_position_valid(nt));
    if (!valid)
        return ae__fail(AE_ERR_FORMAT,
                        "fit position (epochs done %llu, fit call from epoch "
                        "%llu for %llu epochs, batch %llu) is not consistent",
                        (unsigned long long)nt->epochs_done,
                        (unsigned long long)r->start,
                        (unsigned long long)r->epochs,
                        (unsigned long long)r->batch);
    return AE_OK;
}

/* Version 2's VAE block into nt; a version 1 file leaves nt's VAE settings at
 * their defaults (beta 1, mean reduction) and its eps generator seeded
 * from the file's seed, as ae_trainer_set would. */
static ae_status read_vae(ae_trainer *nt, const uint8_t *p, uint32_t version)
{
    if (version < 2) {
        nt->kl_beta = 1.0f;
        nt->sum_per_image = 0;
        ae__rng_seed(&nt->sample_rng, nt->seed, AE__STREAM_SAMPLE);
        nt->run.recon_sum = nt->run.kl_sum = nt->run.l1_sum = 0.0;
        return AE_OK;
    }
    const double beta = ae__get_f64(p + S2_KL_BETA);
    if (ae_trainer_set(nt, AE_TRAIN_KL_BETA, beta) != AE_OK ||
        (double)nt->kl_beta != beta)
        return ae__fail_context(AE_ERR_FORMAT, "offset %d (KL beta)",
                                S2_KL_BETA);
    if (ae_trainer_set(nt, AE_TRAIN_SUM_PER_IMAGE,
                       ae__get_u32(p + S2_SUM_PER_IMAGE)) != AE_OK ||
        ae__get_u32(p + S2_RESERVED4) != 0)
        return ae__fail(AE_ERR_FORMAT, "state offset %d (per-image sum): "
                        "%lu is not 0 or 1, or the reserved field is not 0",
                        S2_SUM_PER_IMAGE,
                        (unsigned long)ae__get_u32(p + S2_SUM_PER_IMAGE));
    uint64_t any = 0;
    for (int k = 0; k < 4; k++)
        any |= nt->sample_rng.s[k] = ae__get_u64(p + S2_SAMPLE_RNG + 8 * k);
    if (any == 0)
        return ae__fail(AE_ERR_FORMAT, "eps generator state is all zero");
    ae__fit_run *r = &nt->run;
    r->recon_sum = ae__get_f64(p + S2_RUN_RECON_SUM);
    r->kl_sum = ae__get_f64(p + S2_RUN_KL_SUM);
    r->l1_sum = ae__get_f64(p + S2_RUN_L1_SUM);
    /* Finite (not checked >= 0: a KL term near 0 may round below it), and
     * 0 when no batch of the epoch is done, as loss_sum. */
    const double sums[3] = {r->recon_sum, r->kl_sum, r->l1_sum};
    for (int k = 0; k < 3; k++)
        if (!isfinite(sums[k]) ||
            (r->batch == 0 && sums[k] != 0.0))
            return ae__fail(AE_ERR_FORMAT, "state offset %d (the fit's sum "
                            "of loss term %d): %g is not consistent",
                            S2_RUN_RECON_SUM + 8 * k, k, sums[k]);
    return AE_OK;
}

/* ---- loading: the training controls (version 2) ------------------------ */

/* The controls' settings through ae_trainer_set, which checks each one,
 * and their state, checked here.  A version-1 file has none: they take
 * their defaults.  *best is the count of best weights the file holds. */
static ae_status read_controls(ae_trainer *nt, const uint8_t *p,
                               uint32_t version, size_t n_params,
                               size_t *best)
{
    *best = 0;
    ae__trainer_controls_default(nt);
    if (version < 2)
        return AE_OK;
    const struct {
        ae_train_param param;
        double value;
    } v[] = {
        {AE_TRAIN_LR_SCHEDULE, ae__get_u32(p + S2_SCHEDULE)},
        {AE_TRAIN_LR_STEP_SIZE, ae__get_u32(p + S2_STEP_SIZE)},
        {AE_TRAIN_LR_GAMMA, ae__get_f64(p + S2_GAMMA)},
        {AE_TRAIN_LR_T_MAX, ae__get_u32(p + S2_T_MAX)},
        {AE_TRAIN_LR_MIN, ae__get_f64(p + S2_MIN_LR)},
        {AE_TRAIN_PLATEAU_FACTOR, ae__get_f64(p + S2_FACTOR)},
        {AE_TRAIN_PLATEAU_PATIENCE, ae__get_u32(p + S2_PLATEAU_PATIENCE)},
        {AE_TRAIN_PLATEAU_THRESHOLD, ae__get_f64(p + S2_THRESHOLD)},
        {AE_TRAIN_PLATEAU_COOLDOWN, ae__get_u32(p + S2_COOLDOWN)},
        {AE_TRAIN_EARLY_STOP_PATIENCE, ae__get_u32(p + S2_ES_PATIENCE)},
        {AE_TRAIN_EARLY_STOP_MIN_DELTA, ae__get_f64(p + S2_ES_MIN_DELTA)},
        {AE_TRAIN_CLIP_NORM, ae__get_f64(p + S2_CLIP_NORM)},
    };
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
        if (ae_trainer_set(nt, v[k].param, v[k].value) != AE_OK)
            return ae__fail_context(AE_ERR_FORMAT, "trainer setting %d",
                                    (int)v[k].param);
    ae__schedule_state *st = &nt->sched_state;
    st->started = ae__get_u32(p + S2_SCHED_STARTED);
    st->epoch = ae__get_u64(p + S2_SCHED_EPOCH);
    st->base_lr = ae__get_f64(p + S2_SCHED_BASE_LR);
    st->lr = ae__get_f64(p + S2_SCHED_LR);
    st->best = ae__get_f64(p + S2_PLATEAU_BEST);
    st->bad_epochs = ae__get_u64(p + S2_PLATEAU_BAD);
    st->cooldown_left = ae__get_u64(p + S2_PLATEAU_COOLDOWN_LEFT);
    if (!ae__schedule_state_valid(st) || ae__get_u32(p + S2_RESERVED3) != 0)
        return ae__fail(AE_ERR_FORMAT, "learning-rate schedule state "
                        "(started %lu, epoch %llu, rate %g from %g) is not "
                        "consistent", (unsigned long)st->started,
                        (unsigned long long)st->epoch, st->lr, st->base_lr);
    ae__early_stop *es = &nt->es;
    es->best = ae__get_f64(p + S2_ES_BEST);
    es->best_epoch = ae__get_u32(p + S2_ES_BEST_EPOCH);
    es->stopped = ae__get_u32(p + S2_ES_STOPPED);
    uint64_t b = ae__get_u64(p + S2_BEST_COUNT);
    const ae__fit_run *r = &nt->run;
    uint64_t done = r->epochs ? nt->epochs_done - r->start : 0;
    /* No best yet: +inf, no epoch, no weights, not stopped.  A best: a
     * loss of an epoch done, and the weights of every parameter; a stop
     * only at an epoch's end. */
    int none = es->best == INFINITY && es->best_epoch == 0 && b == 0 &&
               es->stopped == 0;
    int some = isfinite(es->best) && es->best_epoch >= 1 &&
               es->best_epoch <= done && b == n_params && es->stopped <= 1 &&
               !(es->stopped && r->batch > 0);
    if (!none && !some)
        return ae__fail(AE_ERR_FORMAT, "early-stopping state (best loss %g "
                        "at epoch %llu of %llu done, %llu weights for %zu "
                        "parameters, stopped %lu) is not consistent",
                        es->best, (unsigned long long)es->best_epoch,
                        (unsigned long long)done, (unsigned long long)b,
                        n_params, (unsigned long)es->stopped);
    es->n = (size_t)b;
    *best = (size_t)b;
    return AE_OK;
}

/* The best weights, n floats at p, into a new buffer (from ae__alloc). */
static ae_status read_best(const uint8_t *p, size_t n, float **out)
{
    *out = NULL;
    if (n == 0)
        return AE_OK;
    float *w = ae__calloc(n, sizeof(float));
    if (w == NULL)
        return ae__fail(AE_ERR_NO_MEMORY, "cannot allocate the %zu best "
                        "weights of early stopping", n);
    for (size_t i = 0; i < n; i++)
        w[i] = ae__get_f32(p + 4 * i);
    if (!ae__all_finite(w, n)) {
        ae__free(w);
        return ae__fail(AE_ERR_NOT_FINITE, "a best weight of early "
                        "stopping is NaN or infinite");
    }
    *out = w;
    return AE_OK;
}

/* ---- loading: moments --------------------------------------------------- */

static ae_status read_moments(const uint8_t *p, ae__opt_state *st)
{
    st->m = st->v = NULL;
    if (st->n == 0)
        return AE_OK;
    int adam = ae__optimizer_moments(st->kind) == 2;
    st->m = ae__calloc(st->n, sizeof(float));
    st->v = adam ? ae__calloc(st->n, sizeof(float)) : NULL;
    ae_status s = AE_OK;
    if (st->m == NULL || (adam && st->v == NULL))
        s = ae__fail(AE_ERR_NO_MEMORY, "cannot allocate optimizer state for "
                     "%zu parameters", st->n);
    for (size_t i = 0; s == AE_OK && i < st->n; i++) {
        st->m[i] = ae__get_f32(p + 4 * i);
        if (adam)
            st->v[i] = ae__get_f32(p + 4 * (st->n + i));
    }
    if (s == AE_OK)
        s = check_moments(st->m, st->v, st->n, "optimizer moments");
    if (s != AE_OK) {
        ae__free(st->m);
        ae__free(st->v);
        st->m = st->v = NULL;
    }
    return s;
}

/* ---- loading: the whole ------------------------------------------------- */

/* Everything checked and staged; then committed, which cannot fail. */
static ae_status parse(ae_trainer *t, const uint8_t *d, size_t size)
{
    size_t model_size = 0, n = 0, n_best = 0;
    ae_model *cm = NULL;
    ae__opt_state st = {0};
    float *best = NULL;
    ae_trainer nt = *t; /* shares t's buffers; only its fields are used */
    ae_status s = check_envelope(d, size, &model_size, &n);
    if (s == AE_OK)
        s = read_model(t, d, model_size, &cm);
    const uint8_t *p = d + HEADER_SIZE + model_size;
    if (s == AE_OK)
        s = read_optimizer(t, d, p, n, &st);
    if (s == AE_OK)
        s = read_settings(&nt, p);
    if (s == AE_OK)
        s = read_position(&nt, p);
    const uint32_t version = s == AE_OK ? ae__get_u32(d + H_VERSION) : 0;
    if (s == AE_OK)
        s = read_controls(&nt, p, version, ae_model_param_count(t->model),
                          &n_best);
    if (s == AE_OK)
        s = read_vae(&nt, p, version);
    const uint8_t *moments = p + state_size(version);
    if (s == AE_OK)
        s = read_moments(moments, &st);
    if (s == AE_OK)
        s = read_best(moments + 4 * n * (size_t)moments_per_param(st.kind),
                      n_best, &best);
    /* The layers' state besides their parameters (batch norm's running
     * statistics, dropout's generator) comes with the model's file;
     * staged here, committed below with the weights. */
    uint8_t *layer_state = NULL;
    size_t layer_bytes = s == AE_OK ? ae__model_state_size(cm) : 0;
    if (layer_bytes > 0) {
        layer_state = ae__alloc(layer_bytes);
        if (layer_state == NULL)
            s = ae__fail(AE_ERR_NO_MEMORY, "cannot allocate %zu bytes of "
                         "layer state", layer_bytes);
        else
            ae__model_state_save(cm, layer_state);
    }
    if (s != AE_OK) {
        ae__free(st.m);
        ae__free(st.v);
        ae__free(best);
        best = NULL;
    }
    if (s == AE_OK) {
        if (layer_state != NULL) /* checked when cm loaded: cannot fail */
            (void)ae__model_state_load(t->model, layer_state, 1);
        size_t n_params = ae_model_param_count(cm);
        if (n_params > 0) /* a model without parameters has no array */
            memcpy(ae__model_params(t->model), ae__model_params_const(cm),
                   n_params * sizeof(float));
        ae__optimizer_adopt(t->opt, &st);
        if (best != NULL) {
            ae__free(nt.es.weights);
            nt.es.weights = best;
            nt.es.cap = n_best;
        }
        *t = nt;
        t->resume = 1;
        t->fit_end = t->es.stopped ? AE_FIT_EARLY_STOPPED : AE_FIT_NONE;
    }
    ae__free(layer_state);
    ae_model_free(cm);
    return s;
}

ae_status ae_trainer_load_checkpoint(ae_trainer *t, const char *path)
{
    AE_REQUIRE(t);
    AE_REQUIRE(path);
    uint8_t *data = NULL;
    size_t size = 0;
    ae_status s = ae__read_file(path, MAX_CKPT_BYTES, &data, &size);
    if (s != AE_OK)
        return s;
    s = parse(t, data, size);
    if (s != AE_OK)
        s = ae__fail_context(s, "%s", path);
    ae__free(data);
    return s;
}

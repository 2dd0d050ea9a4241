/*
 * fuzz_checkpoint.c - the training-checkpoint loader
 * (ae_trainer_load_checkpoint).
 *
 * The loader reads a path, so each input is written to a file in a
 * per-process temporary folder and loaded into each of two fixed trainers
 * (checkpoint_rigs.h: a dense model with Adam, a convolutional one with
 * SGD), both stopped in the middle of a fit call, so that they hold
 * moments, a step count, a generator and a fit position that a failed load
 * could damage.  When the checkpoint's CRC-32 is wrong, the input is
 * loaded once more with it made right; when the embedded model's own CRC-32
 * is then wrong, once more with both made right, so that mutations reach
 * the model's layer records, the state section and the moments.
 *
 * Promises checked: no crash, leak or undefined behaviour.  A failure has
 * a status and a message naming the path, and leaves the trainer, its
 * model and its optimizer exactly as they were: the same model bytes
 * (ae_model_save_memory), every ae_trainer_get and ae_optimizer_get value,
 * and, when the input's CRC-32 is right, the same bytes when the trainer's
 * checkpoint is saved again (they hold the moments, step count, generator
 * and fit position, which no other call shows).  A success saves back to
 * the input's bytes but for what the trainer's model keeps of its own:
 * its creation seed (which the loader does not compare) and the bits of
 * activation parameters equal as floats (-0 and 0); that checkpoint
 * loads again; one ae_trainer_step then runs with a finite loss, or fails
 * only as a non-finite state the checkpoint was allowed to hold explains.
 */
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "checkpoint_rigs.h"
#include "fuzz_common.h"

/* Offsets from docs/FORMAT.md.  Checkpoint: the embedded model's size in
 * the header, where the model starts.  Model file: its creation seed, its
 * layer count and parameter count, the header's and a record's sizes. */
enum {
    CK_VERSION = 8,
    CK_MODEL_SIZE = 16,
    CK_HEADER = 32,
    STATE_V1 = 224, /* the state section of version 1, of version 2 */
    STATE_V2 = 448,
    STATE_BEST_COUNT = 368, /* version 2: the best weights' count */
    MODEL_SEED = 24,
    MODEL_LAYERS = 32,
    MODEL_PARAMS = 40,
    MODEL_HEADER = 48,
    MODEL_RECORD = 64,
    RECORD_ACT_PARAM = 12,
    CRC_BYTES = 4
};

enum { TRAIN_PARAMS = AE_TRAIN_CLIP_NORM + 1, /* every setting, 0.2's too */
       OPT_PARAMS = AE_OPT_WEIGHT_DECAY + 1 };

/* Everything a failed load must leave as it was, as the public API shows
 * it. */
typedef struct snapshot {
    uint8_t *model;
    size_t model_size;
    double train[TRAIN_PARAMS];
    double opt[OPT_PARAMS];
    uint8_t *ckpt;
    size_t ckpt_size;
} snapshot;

static char tmp_dir[64];
static char input_path[96]; /* the input, rewritten for each load */
static char state_path[96]; /* where the rigs' checkpoints are saved */
static ckpt_rig rigs[RIG_KINDS];
static snapshot before[RIG_KINDS]; /* each rig as rig_create leaves it */

/* ---- bytes and files --------------------------------------------------- */

static uint64_t get_le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int k = bytes - 1; k >= 0; k--)
        v = v << 8 | p[k];
    return v;
}

static float get_f32(const uint8_t *p)
{
    uint32_t bits = (uint32_t)get_le(p, 4);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Store the CRC-32 of the first n - 4 bytes of p in its last 4. */
static void put_crc(uint8_t *p, size_t n)
{
    uint32_t crc = (uint32_t)crc32(0L, p, (uInt)(n - CRC_BYTES));
    for (int k = 0; k < CRC_BYTES; k++)
        p[n - CRC_BYTES + (size_t)k] = (uint8_t)(crc >> (8 * k));
}

static void write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    FUZZ_CHECK(f != NULL);
    FUZZ_CHECK(size == 0 || fwrite(data, 1, size, f) == size);
    FUZZ_CHECK(fclose(f) == 0);
}

static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    FUZZ_CHECK(f != NULL);
    FUZZ_CHECK(fseek(f, 0, SEEK_END) == 0);
    long n = ftell(f);
    FUZZ_CHECK(n > 0 && fseek(f, 0, SEEK_SET) == 0);
    uint8_t *p = malloc((size_t)n);
    FUZZ_CHECK(p != NULL && fread(p, 1, (size_t)n, f) == (size_t)n);
    FUZZ_CHECK(fclose(f) == 0);
    *size = (size_t)n;
    return p;
}

/* ---- the trainers' observable state ------------------------------------ */

static uint8_t *model_bytes(const ae_model *m, size_t *size)
{
    FUZZ_CHECK(ae_model_save_memory(m, NULL, 0, size) == AE_OK);
    uint8_t *p = malloc(*size);
    size_t wrote = 0;
    FUZZ_CHECK(p != NULL);
    FUZZ_CHECK(ae_model_save_memory(m, p, *size, &wrote) == AE_OK);
    FUZZ_CHECK(wrote == *size);
    return p;
}

/* The checkpoint (full) is the costly part: a file written, synced,
 * renamed and read back. */
static void take_snapshot(const ckpt_rig *r, snapshot *sn, int full)
{
    sn->model = model_bytes(r->model, &sn->model_size);
    for (int k = 0; k < TRAIN_PARAMS; k++)
        FUZZ_CHECK(ae_trainer_get(r->trainer, (ae_train_param)k,
                                  &sn->train[k]) == AE_OK);
    for (int k = 0; k < OPT_PARAMS; k++)
        FUZZ_CHECK(ae_optimizer_get(r->opt, (ae_optimizer_param)k,
                                    &sn->opt[k]) == AE_OK);
    sn->ckpt = NULL;
    sn->ckpt_size = 0;
    if (full) {
        FUZZ_CHECK(ae_trainer_save_checkpoint(r->trainer, state_path) ==
                   AE_OK);
        sn->ckpt = read_file(state_path, &sn->ckpt_size);
    }
}

static void free_snapshot(snapshot *sn)
{
    free(sn->model);
    free(sn->ckpt);
    sn->model = sn->ckpt = NULL;
}

/* Rig k after a failed load: as it was before.  full: the checkpoint's
 * bytes too, needed only when the input's CRC-32 was right (else the
 * loader stopped at it at the latest, and the copy with it made right is
 * compared in full next). */
static void check_unchanged(int k, int full)
{
    const snapshot *was = &before[k];
    snapshot now;
    take_snapshot(&rigs[k], &now, full);
    FUZZ_CHECK(now.model_size == was->model_size &&
               memcmp(now.model, was->model, now.model_size) == 0);
    /* Bit patterns: a value changed to itself is no change. */
    FUZZ_CHECK(memcmp(now.train, was->train, sizeof now.train) == 0);
    FUZZ_CHECK(memcmp(now.opt, was->opt, sizeof now.opt) == 0);
    FUZZ_CHECK(!full || (now.ckpt_size == was->ckpt_size &&
                         memcmp(now.ckpt, was->ckpt, now.ckpt_size) == 0));
    free_snapshot(&now);
}

/* ---- after a successful load ------------------------------------------- */

/* 1 if every parameter in the model file m is within +-16: then a forward
 * pass over inputs in [0, 1] cannot overflow in either rig. */
static int params_modest(const uint8_t *m, float bound)
{
    uint64_t layers = get_le(m + MODEL_LAYERS, 4);
    uint64_t n = get_le(m + MODEL_PARAMS, 8);
    const uint8_t *p = m + MODEL_HEADER + MODEL_RECORD * layers;
    for (uint64_t i = 0; i < n; i++)
        if (!(fabsf(get_f32(p + 4 * i)) <= bound))
            return 0;
    return 1;
}

/* One step on two images in [0, 1] (targets either loss takes, inside
 * either pixel range).  It must succeed when the loaded state is modest:
 * parameters within +-16, an L1 weight of at most 1, a salt-and-pepper
 * level of at most 1.  Otherwise the loss may overflow (AE_ERR_NOT_FINITE,
 * the weights untouched) and a salt-and-pepper level above 1, which
 * ae_trainer_set also accepts, is refused when used. */
static void step_once(const ckpt_rig *r)
{
    float x[2 * 36];
    size_t n = 2 * ae_model_input_size(r->model);
    FUZZ_CHECK(n <= sizeof x / sizeof x[0]);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(i % 7) / 6.0f;
    double l1 = 0.0, noise = 0.0, level = 0.0;
    FUZZ_CHECK(ae_trainer_get(r->trainer, AE_TRAIN_L1_CODE, &l1) == AE_OK);
    FUZZ_CHECK(ae_trainer_get(r->trainer, AE_TRAIN_NOISE, &noise) == AE_OK);
    FUZZ_CHECK(ae_trainer_get(r->trainer, AE_TRAIN_NOISE_LEVEL, &level) ==
               AE_OK);
    int bad_level = noise == AE_NOISE_SALT_PEPPER && level > 1.0;
    size_t size = 0;
    uint8_t *m0 = model_bytes(r->model, &size);
    /* A VAE's log-variances go through exp: parameters within +-2 (a
     * log-variance below 34) and beta at most 1000 keep its loss finite. */
    int vae = 0;
    for (size_t i = 0; i < ae_model_layer_count(r->model); i++) {
        ae_layer *l = NULL;
        FUZZ_CHECK(ae_model_layer(r->model, i, &l) == AE_OK);
        vae |= ae_layer_get_kind(l) == AE_LAYER_GAUSSIAN_SAMPLE;
    }
    double beta = 0.0;
    FUZZ_CHECK(ae_trainer_get(r->trainer, AE_TRAIN_KL_BETA, &beta) == AE_OK);
    int modest = params_modest(m0, vae ? 2.0f : 16.0f) && l1 <= 1.0 &&
                 !bad_level && (!vae || beta <= 1000.0);

    float loss = NAN;
    ae_status s = ae_trainer_step(r->trainer, x, NULL, 2, &loss);
    if (s == AE_OK) {
        /* A finite double loss past FLT_MAX (a huge L1 term) comes back
         * as +inf, never as NaN. */
        FUZZ_CHECK(!isnan(loss) && loss >= 0.0f);
        FUZZ_CHECK(isfinite(loss) || !modest);
    } else {
        fuzz_check_failure(s);
        FUZZ_CHECK(!modest);
        FUZZ_CHECK(s == AE_ERR_NOT_FINITE ||
                   (s == AE_ERR_INVALID_ARGUMENT && bad_level));
        size_t size1 = 0;
        uint8_t *m1 = model_bytes(r->model, &size1);
        FUZZ_CHECK(size1 == size && memcmp(m0, m1, size) == 0);
        free(m1);
    }
    free(m0);
}

/* Rig k after loading data (size bytes) successfully. */
static void check_loaded(int k, const uint8_t *data, size_t size)
{
    ckpt_rig *r = &rigs[k];
    /* The load checked the sizes: the model section fits. */
    size_t msize = (size_t)get_le(data + CK_MODEL_SIZE, 8);
    FUZZ_CHECK(msize >= MODEL_HEADER + CRC_BYTES &&
               msize <= size - CK_HEADER - CRC_BYTES);

    /* What saving must give: the input with both CRCs redone, but for
     * what the loader compares loosely and keeps from the trainer's model
     * (its records and seed, before[k].model): the creation seed, and
     * activation parameters equal as floats but not as bits (-0 and 0). */
    const uint8_t *own = before[k].model;
    uint8_t *want = malloc(size);
    FUZZ_CHECK(want != NULL);
    memcpy(want, data, size);
    uint8_t *model = want + CK_HEADER;
    memcpy(model + MODEL_SEED, own + MODEL_SEED, 8);
    size_t layers = (size_t)get_le(own + MODEL_LAYERS, 4);
    FUZZ_CHECK(get_le(model + MODEL_LAYERS, 4) == layers);
    for (size_t i = 0; i < layers; i++) {
        size_t at = MODEL_HEADER + MODEL_RECORD * i + RECORD_ACT_PARAM;
        FUZZ_CHECK(get_f32(model + at) == get_f32(own + at));
        memcpy(model + at, own + at, 4);
    }
    put_crc(model, msize);
    put_crc(want, size);
    FUZZ_CHECK(ae_trainer_save_checkpoint(r->trainer, state_path) == AE_OK);
    size_t got_size = 0;
    uint8_t *got = read_file(state_path, &got_size);
    if (get_le(data + CK_VERSION, 4) == 1) {
        /* A version-1 input saves as version 2: the same header (but for
         * the version), model, version-1 state and moments, version 2's
         * blocks (the training controls', the VAE's) between them at their
         * defaults, no best weights. */
        size_t head = CK_HEADER + msize + STATE_V1;
        size_t moments = size - head - CRC_BYTES;
        FUZZ_CHECK(got_size == size + (STATE_V2 - STATE_V1));
        FUZZ_CHECK(get_le(got + CK_VERSION, 4) == 2);
        FUZZ_CHECK(memcmp(got, want, CK_VERSION) == 0 &&
                   memcmp(got + CK_VERSION + 4, want + CK_VERSION + 4,
                          head - CK_VERSION - 4) == 0);
        FUZZ_CHECK(memcmp(got + head + (STATE_V2 - STATE_V1), want + head,
                          moments) == 0);
        FUZZ_CHECK(get_le(got + CK_HEADER + msize + STATE_BEST_COUNT, 8) == 0);
    } else {
        FUZZ_CHECK(got_size == size && memcmp(got, want, size) == 0);
    }
    free(got);
    free(want);

    FUZZ_CHECK(ae_trainer_load_checkpoint(r->trainer, state_path) == AE_OK);
    step_once(r);

    /* Back to the state every load starts from. */
    rig_free(r);
    FUZZ_CHECK(rig_create(r, k, RIG_MID_EPOCH, 0) == AE_OK);
}

/* ---- the harness ------------------------------------------------------- */

static void cleanup(void)
{
    for (int k = 0; k < RIG_KINDS; k++) {
        rig_free(&rigs[k]);
        free_snapshot(&before[k]);
    }
    unlink(input_path);
    unlink(state_path);
    rmdir(tmp_dir);
}

static void setup(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    fuzz_setup();
    /* tmpfs when there is one, as in fuzz_idx_gzip, where a file on disk
     * made each run a hundred times slower; here most failed loads also
     * save a checkpoint, which is synced. */
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(tmp_dir, sizeof tmp_dir, "%s/ae_fuzz_ckpt.XXXXXX", base);
    FUZZ_CHECK(mkdtemp(tmp_dir) != NULL);
    snprintf(input_path, sizeof input_path, "%s/input.aeckpt", tmp_dir);
    snprintf(state_path, sizeof state_path, "%s/state.aeckpt", tmp_dir);
    atexit(cleanup);
    for (int k = 0; k < RIG_KINDS; k++) {
        FUZZ_CHECK(rig_create(&rigs[k], k, RIG_MID_EPOCH, 0) == AE_OK);
        take_snapshot(&rigs[k], &before[k], 1);
    }
}

/* Load data into every rig and check the outcome; 1 if a load stopped at
 * a CRC-32 (the checkpoint's or, once that is right, the model's). */
static int load_all(const uint8_t *data, size_t size)
{
    write_file(input_path, data, size);
    int crc_ok = size >= CK_HEADER + CRC_BYTES &&
                 get_le(data + size - CRC_BYTES, 4) ==
                     (uint32_t)crc32(0L, data, (uInt)(size - CRC_BYTES));
    int checksum = 0;
    for (int k = 0; k < RIG_KINDS; k++) {
        ae_status s = ae_trainer_load_checkpoint(rigs[k].trainer,
                                                 input_path);
        if (s == AE_OK) {
            check_loaded(k, data, size);
            continue;
        }
        fuzz_check_failure(s);
        FUZZ_CHECK(strstr(ae_last_error(), input_path) != NULL);
        check_unchanged(k, crc_ok);
        checksum |= s == AE_ERR_CHECKSUM;
    }
    return checksum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    static const uint8_t empty[1];
    if (!load_all(size ? data : empty, size))
        return 0;
    /* Almost every mutation breaks the trailing CRC-32, and then almost
     * every one in the model section breaks the model's own: so copies
     * with them made right are loaded too, reaching everything behind the
     * checksums. */
    FUZZ_CHECK(size >= CK_HEADER + CRC_BYTES);
    uint8_t *fixed = malloc(size);
    FUZZ_CHECK(fixed != NULL);
    memcpy(fixed, data, size);
    put_crc(fixed, size);
    if (load_all(fixed, size)) {
        /* The envelope passed, so the model's size is within the data. */
        size_t msize = (size_t)get_le(fixed + CK_MODEL_SIZE, 8);
        FUZZ_CHECK(msize >= CRC_BYTES &&
                   msize <= size - CK_HEADER - CRC_BYTES);
        put_crc(fixed + CK_HEADER, msize);
        put_crc(fixed, size);
        FUZZ_CHECK(!load_all(fixed, size));
    }
    free(fixed);
    return 0;
}

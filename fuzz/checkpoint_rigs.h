/*
 * checkpoint_rigs.h - the trainers that fuzz_checkpoint.c loads its inputs
 * into, shared with make_corpus.c: the checkpoint seeds must come from
 * trainers of the same architecture and optimizer kind, or every seed
 * would stop at the loader's architecture check.
 *
 * Two rigs, each a model, an optimizer and a trainer:
 *   RIG_DENSE  1 x 4 x 4 -> dense 3 (ReLU) | dense 16 (sigmoid); Adam with
 *              weight decay; MSE, L1 on the code per image, Gaussian noise,
 *              shuffled batches of 2, data in [-1, 1].
 *   RIG_CONV   1 x 6 x 6 -> conv 2 x 3 x 3 (ReLU), max-pool 2 | max-unpool,
 *              conv 1 x 3 x 3 (sigmoid); SGD with momentum; BCE,
 *              salt-and-pepper noise, batches of 3 in order, data in [0, 1].
 *   RIG_NORM   1 x 4 x 4 -> dense 3, batch norm (ReLU), dropout 0.25 |
 *              dense 16 (sigmoid); Adam; MSE, shuffled batches of 2: the
 *              layers whose state (running statistics, dropout's counter)
 *              the embedded model file holds besides the weights.
 *   RIG_VAE    1 x 4 x 4 -> dense 4, Gaussian sampling (2) | dense 16
 *              (sigmoid); Adam; BCE summed per image plus KL with beta
 *              0.5, shuffled batches of 2 (the checkpoint's version-2
 *              block: beta, the per-image sum, eps generator, term sums).
 * Everything is deterministic (the harness runs one library thread), so a
 * rig built twice gives the same checkpoint bytes.
 */
#ifndef AE_FUZZ_CHECKPOINT_RIGS_H
#define AE_FUZZ_CHECKPOINT_RIGS_H

#include <stddef.h>
#include <stdint.h>

#include "autoenc.h"

enum { RIG_DENSE = 0, RIG_CONV = 1, RIG_NORM = 2, RIG_VAE = 3, RIG_KINDS = 4 };

/* How far a rig is trained: not at all (the optimizer holds no moments
 * yet), stopped in the middle of its fit call's second epoch, or through
 * a whole one-epoch fit call. */
typedef enum rig_stage {
    RIG_FRESH = 0,
    RIG_MID_EPOCH = 1,
    RIG_FINISHED = 2,
    /* In the middle of the second epoch as RIG_MID_EPOCH, with the
     * training controls on (checkpoint version 2's state): a plateau
     * schedule (dense) or cosine annealing (conv) under way, clipping,
     * and early stopping on a validation set holding epoch 1's weights. */
    RIG_CONTROLS = 3
} rig_stage;

typedef struct ckpt_rig {
    ae_model *model;
    ae_optimizer *opt;
    ae_trainer *trainer;
} ckpt_rig;

static void rig_free(ckpt_rig *r)
{
    ae_trainer_free(r->trainer);
    ae_optimizer_free(r->opt);
    ae_model_free(r->model);
    r->trainer = NULL;
    r->opt = NULL;
    r->model = NULL;
}

/* An IDX file of n h x w images (a ramp that differs per image), loaded. */
static ae_status rig_dataset(ae_dataset **out, int n, int h, int w)
{
    uint8_t idx[16 + 256];
    const uint32_t head[4] = {0x803, (uint32_t)n, (uint32_t)h, (uint32_t)w};
    size_t values = (size_t)n * (size_t)h * (size_t)w;
    if (values > sizeof idx - 16)
        return AE_ERR_LIMIT;
    for (int k = 0; k < 4; k++)
        for (int b = 0; b < 4; b++)
            idx[4 * k + b] = (uint8_t)(head[k] >> (24 - 8 * b));
    for (size_t i = 0; i < values; i++)
        idx[16 + i] = (uint8_t)((i * 37 + (i / (size_t)(h * w)) * 11) % 256);
    return ae_dataset_load_idx_memory(out, idx, 16 + values, NULL, 0);
}

/* Fit callback: counts down the events left before stopping. */
static int rig_stop_after(const ae_progress *p, void *user)
{
    (void)p;
    int *left = user;
    return --*left <= 0;
}

#define RIG_TRY(call)                                                          \
    do {                                                                       \
        if ((s = (call)) != AE_OK)                                             \
            goto done;                                                         \
    } while (0)

/* Build rig `kind` trained to `stage`.  other_optimizer swaps Adam and
 * SGD (for seeds whose optimizer kind the harness's rig refuses). */
static ae_status rig_create(ckpt_rig *r, int kind, rig_stage stage,
                            int other_optimizer)
{
    ae_status s;
    ae_dataset *ds = NULL;
    ae_trainer *t = NULL;
    int dense = kind == RIG_DENSE, norm = kind == RIG_NORM;
    int vae = kind == RIG_VAE; /* on the dense rig's data and schedule */
    int adam = (dense || norm || vae) != (other_optimizer != 0);
    r->model = NULL;
    r->opt = NULL;
    r->trainer = NULL;
    if (norm) {
        RIG_TRY(ae_model_create(&r->model, 1, 4, 4, 303));
        RIG_TRY(ae_model_add_dense(r->model, AE_ENCODER, 3, AE_ACT_NONE));
        RIG_TRY(ae_model_add_batchnorm(r->model, AE_ENCODER, 0.1f, 1e-5f,
                                       AE_ACT_RELU));
        RIG_TRY(ae_model_add_dropout(r->model, AE_ENCODER, 0.25f));
        RIG_TRY(ae_model_add_dense(r->model, AE_DECODER, 16,
                                   AE_ACT_SIGMOID));
    } else if (vae) {
        RIG_TRY(ae_model_create(&r->model, 1, 4, 4, 303));
        RIG_TRY(ae_model_add_dense(r->model, AE_ENCODER, 4, AE_ACT_NONE));
        RIG_TRY(ae_model_add_gaussian_sample(r->model, AE_ENCODER));
        RIG_TRY(ae_model_add_dense(r->model, AE_DECODER, 16,
                                   AE_ACT_SIGMOID));
    } else if (dense) {
        RIG_TRY(ae_model_create(&r->model, 1, 4, 4, 101));
        RIG_TRY(ae_model_add_dense(r->model, AE_ENCODER, 3, AE_ACT_RELU));
        RIG_TRY(ae_model_add_dense(r->model, AE_DECODER, 16,
                                   AE_ACT_SIGMOID));
    } else {
        RIG_TRY(ae_model_create(&r->model, 1, 6, 6, 202));
        RIG_TRY(ae_model_add_conv2d(r->model, AE_ENCODER, 2, 3, 1, -1,
                                    AE_ACT_RELU));
        RIG_TRY(ae_model_add_maxpool2d(r->model, AE_ENCODER, 2, 2));
        RIG_TRY(ae_model_add_maxunpool2d(r->model, AE_DECODER, 1, 6, 6));
        RIG_TRY(ae_model_add_conv2d(r->model, AE_DECODER, 1, 3, 1, 1,
                                    AE_ACT_SIGMOID));
    }
    if (adam) {
        RIG_TRY(ae_optimizer_create_adam(&r->opt, 0.01f));
        RIG_TRY(ae_optimizer_set(r->opt, AE_OPT_WEIGHT_DECAY, 1e-4));
    } else {
        RIG_TRY(ae_optimizer_create_sgd(&r->opt, 0.05f, 0.9f));
    }
    RIG_TRY(ae_trainer_create(&r->trainer, r->model, r->opt));
    t = r->trainer;
    if (norm) {
        RIG_TRY(ae_trainer_set(t, AE_TRAIN_BATCH_SIZE, 2));
        RIG_TRY(ae_trainer_set(t, AE_TRAIN_SEED, 5));
    } else if (vae) {
        RIG_TRY(ae_trainer_set(t, AE_TRAIN_LOSS, AE_LOSS_BCE));
        RIG_TRY(ae_trainer_set(t, AE_TRAIN_SUM_PER_IMAGE, 1));
        RIG_TRY(ae_trainer_set(t, AE_TRAIN_KL_BETA, 0.5));
        RIG_TRY(ae_trainer_set(t, AE_TRAIN_BATCH_SIZE, 2));
        RIG_TRY(ae_trainer_set(t, AE_TRAIN_SEED, 11));
    } else if (dense) {
        RIG_TRY(ae_trainer_set(t, AE_TRAIN_BATCH_SIZE, 2));
        RIG_TRY(ae_trainer_set(t, AE_TRAIN_SEED, 7));
        RIG_TRY(ae_trainer_set(t, AE_TRAIN_L1_CODE, 1e-3));
        RIG_TRY(ae_trainer_set(t, AE_TRAIN_L1_PER_IMAGE, 1));
        RIG_TRY(ae_trainer_set(t, AE_TRAIN_NOISE, AE_NOISE_GAUSSIAN));
        RIG_TRY(ae_trainer_set(t, AE_TRAIN_NOISE_LEVEL, 0.1));
    } else {
        RIG_TRY(ae_trainer_set(t, AE_TRAIN_LOSS, AE_LOSS_BCE));
        RIG_TRY(ae_trainer_set(t, AE_TRAIN_BATCH_SIZE, 3));
        RIG_TRY(ae_trainer_set(t, AE_TRAIN_SHUFFLE, 0));
        RIG_TRY(ae_trainer_set(t, AE_TRAIN_SEED, 9));
        RIG_TRY(ae_trainer_set(t, AE_TRAIN_NOISE, AE_NOISE_SALT_PEPPER));
        RIG_TRY(ae_trainer_set(t, AE_TRAIN_NOISE_LEVEL, 0.1));
    }
    if (stage != RIG_FRESH) {
        /* Dense: 5 images in batches of 2, 4 events per epoch (3 batches
         * and the epoch's end); conv: 4 images in batches of 3, 3 events.
         * Stopping after 6 (dense) or 4 (conv) leaves the second epoch
         * one or two batches in, with a loss sum under way. */
        /* Norm: 4 images in batches of 2 (no batch of one, which batch
         * norm refuses), 3 events per epoch; stopping after 4 leaves the
         * second epoch one batch in.  The VAE as dense. */
        RIG_TRY(dense || vae ? rig_dataset(&ds, 5, 4, 4)
                : norm       ? rig_dataset(&ds, 4, 4, 4)
                             : rig_dataset(&ds, 4, 6, 6));
        if (dense)
            RIG_TRY(ae_dataset_set_range(ds, AE_RANGE_SYMMETRIC));
        int left = dense || vae ? 6 : 4;
        if (stage == RIG_CONTROLS) {
            RIG_TRY(ae_trainer_set(t, AE_TRAIN_LR_SCHEDULE,
                                   dense ? AE_SCHEDULE_PLATEAU
                                         : AE_SCHEDULE_COSINE));
            RIG_TRY(ae_trainer_set(t, AE_TRAIN_LR_T_MAX, 3));
            RIG_TRY(ae_trainer_set(t, AE_TRAIN_PLATEAU_PATIENCE, 0));
            RIG_TRY(ae_trainer_set(t, AE_TRAIN_CLIP_NORM, 0.5));
            RIG_TRY(ae_trainer_set(t, AE_TRAIN_EARLY_STOP_PATIENCE, 2));
            RIG_TRY(ae_trainer_fit(t, ds, ds, 2, rig_stop_after, &left));
        } else if (stage == RIG_MID_EPOCH)
            RIG_TRY(ae_trainer_fit(t, ds, NULL, 2, rig_stop_after, &left));
        else
            RIG_TRY(ae_trainer_fit(t, ds, NULL, 1, NULL, NULL));
    }
    /* Set after fitting, which would otherwise need a checkpoint path. */
    if (kind == RIG_DENSE)
        RIG_TRY(ae_trainer_set(t, AE_TRAIN_CHECKPOINT_EVERY, 5));
done:
    ae_dataset_free(ds);
    if (s != AE_OK)
        rig_free(r);
    return s;
}

#undef RIG_TRY

#endif /* AE_FUZZ_CHECKPOINT_RIGS_H */

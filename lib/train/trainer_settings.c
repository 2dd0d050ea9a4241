/* trainer_settings.c - the trainer handle and its settings.  The trainer
 * owns the training settings and the random state for input noise; model
 * and optimizer are borrowed.  Kept apart from the training loop
 * (trainer.c) because checkpoints restore settings through
 * ae_trainer_set, and the loop writes checkpoints. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "train/trainer_settings.h"

ae_status ae_trainer_create(ae_trainer **out, ae_model *m, ae_optimizer *opt)
{
    AE_REQUIRE(out);
    *out = NULL;
    AE_REQUIRE(m);
    AE_REQUIRE(opt);
    ae_trainer *t;
    AE_ALLOC_OR_FAIL(t, 1, "the trainer");
    t->model = m;
    t->opt = opt;
    t->loss = AE_LOSS_MSE;
    t->noise = AE_NOISE_NONE;
    t->batch_size = 64;
    t->shuffle = 1;
    t->range = AE_RANGE_UNIT;
    t->workers = 1;
    ae__rng_seed(&t->noise_rng, 0, AE__STREAM_NOISE);
    t->kl_beta = 1.0f;
    ae__rng_seed(&t->sample_rng, 0, AE__STREAM_SAMPLE);
    ae__loss_terms_unknown(&t->last);
    ae__loss_terms_unknown(&t->last_val);
    *out = t;
    return AE_OK;
}

void ae_trainer_free(ae_trainer *t)
{
    if (t == NULL)
        return;
    ae__free(t->noisy);
    ae__free(t->dy);
    ae__free(t->images);
    ae__free(t->checkpoint_path);
    ae__free(t);
}

static int is_whole(double v, double lo, double hi)
{
    return isfinite(v) && v >= lo && v <= hi && v == floor(v);
}

ae_status ae_trainer_set(ae_trainer *t, ae_train_param p, double v)
{
    AE_REQUIRE(t);
    int ok = 0;
    switch (p) {
    case AE_TRAIN_LOSS:
        if ((ok = is_whole(v, AE_LOSS_MSE, AE_LOSS_BCE)))
            t->loss = (ae_loss)v;
        break;
    case AE_TRAIN_L1_CODE:
        if ((ok = isfinite(v) && v >= 0.0))
            t->l1_code = (float)v;
        break;
    case AE_TRAIN_L1_PER_IMAGE:
        if ((ok = is_whole(v, 0, 1)))
            t->l1_per_image = (int)v;
        break;
    case AE_TRAIN_NOISE:
        if ((ok = is_whole(v, AE_NOISE_NONE, AE_NOISE_SALT_PEPPER)))
            t->noise = (ae_noise)v;
        break;
    case AE_TRAIN_NOISE_LEVEL:
        if ((ok = isfinite(v) && v >= 0.0))
            t->noise_level = (float)v;
        break;
    case AE_TRAIN_BATCH_SIZE:
        if ((ok = is_whole(v, 1, 1 << 24)))
            t->batch_size = (size_t)v;
        break;
    case AE_TRAIN_SHUFFLE:
        if ((ok = is_whole(v, 0, 1)))
            t->shuffle = (int)v;
        break;
    case AE_TRAIN_SEED:
        /* Seeds are exact in a double up to 2^53, which is plenty. */
        if ((ok = is_whole(v, 0, AE__TRAIN_WHOLE_MAX))) {
            t->seed = (uint64_t)v;
            ae__rng_seed(&t->noise_rng, t->seed, AE__STREAM_NOISE);
            ae__rng_seed(&t->sample_rng, t->seed, AE__STREAM_SAMPLE);
        }
        break;
    case AE_TRAIN_RANGE:
        if ((ok = is_whole(v, AE_RANGE_UNIT, AE_RANGE_SYMMETRIC)))
            t->range = (ae_pixel_range)v;
        break;
    case AE_TRAIN_CHECKPOINT_EVERY:
        if ((ok = is_whole(v, 0, AE__TRAIN_WHOLE_MAX)))
            t->checkpoint_every = (uint64_t)v;
        break;
    case AE_TRAIN_RANK: /* below the worker count: checked by each step */
        if ((ok = is_whole(v, 0, 1 << 24)))
            t->rank = (int)v;
        break;
    case AE_TRAIN_WORKERS:
        if ((ok = is_whole(v, 1, 1 << 24)))
            t->workers = (int)v;
        break;
    case AE_TRAIN_KL_BETA:
        if ((ok = isfinite(v) && v >= 0.0 && v <= FLT_MAX))
            t->kl_beta = (float)v;
        break;
    case AE_TRAIN_SUM_PER_IMAGE:
        if ((ok = is_whole(v, 0, 1)))
            t->sum_per_image = (int)v;
        break;
    default:
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "unknown training parameter %d", (int)p);
    }
    if (!ok && p == AE_TRAIN_KL_BETA)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "AE_TRAIN_KL_BETA: beta %g must be >= 0 and finite",
                        v);
    if (!ok)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "training parameter %d: %g is out of range", (int)p,
                        v);
    return AE_OK;
}

ae_status ae_trainer_get(const ae_trainer *t, ae_train_param p, double *v)
{
    AE_REQUIRE(t);
    AE_REQUIRE(v);
    switch (p) {
    case AE_TRAIN_LOSS: *v = t->loss; break;
    case AE_TRAIN_L1_CODE: *v = t->l1_code; break;
    case AE_TRAIN_L1_PER_IMAGE: *v = t->l1_per_image; break;
    case AE_TRAIN_NOISE: *v = t->noise; break;
    case AE_TRAIN_NOISE_LEVEL: *v = t->noise_level; break;
    case AE_TRAIN_BATCH_SIZE: *v = (double)t->batch_size; break;
    case AE_TRAIN_SHUFFLE: *v = t->shuffle; break;
    case AE_TRAIN_SEED: *v = (double)t->seed; break;
    case AE_TRAIN_RANGE: *v = t->range; break;
    case AE_TRAIN_CHECKPOINT_EVERY: *v = (double)t->checkpoint_every; break;
    case AE_TRAIN_RANK: *v = t->rank; break;
    case AE_TRAIN_WORKERS: *v = t->workers; break;
    case AE_TRAIN_KL_BETA: *v = t->kl_beta; break;
    case AE_TRAIN_SUM_PER_IMAGE: *v = t->sum_per_image; break;
    default:
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "unknown training parameter %d", (int)p);
    }
    return AE_OK;
}

ae_status ae_trainer_set_checkpoint_path(ae_trainer *t, const char *path)
{
    AE_REQUIRE(t);
    char *copy = NULL;
    if (path != NULL) {
        size_t n = strlen(path);
        if (n == 0)
            return ae__fail(AE_ERR_INVALID_ARGUMENT,
                            "ae_trainer_set_checkpoint_path: empty path");
        copy = ae__alloc(n + 1);
        if (copy == NULL)
            return ae__fail(AE_ERR_NO_MEMORY,
                            "ae_trainer_set_checkpoint_path: cannot copy "
                            "a path of %zu bytes", n);
        memcpy(copy, path, n + 1);
    }
    ae__free(t->checkpoint_path);
    t->checkpoint_path = copy;
    return AE_OK;
}

void ae__loss_terms_unknown(ae_loss_terms *terms)
{
    terms->loss = terms->reconstruction = terms->kl = terms->l1 = NAN;
}

ae_status ae_trainer_last_terms(const ae_trainer *t, ae_loss_terms *train,
                                ae_loss_terms *validation)
{
    AE_REQUIRE(t);
    if (train != NULL)
        *train = t->last;
    if (validation != NULL)
        *validation = t->last_val;
    return AE_OK;
}

ae_status ae_trainer_set_reduce(ae_trainer *t, ae_reduce_fn fn, void *user)
{
    AE_REQUIRE(t);
    t->reduce = fn;
    t->reduce_user = fn != NULL ? user : NULL;
    return AE_OK;
}

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
    ae__trainer_controls_default(t);
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
    ae__early_stop_free(&t->es);
    ae__free(t->agree);
    ae__free(t);
}

static int is_whole(double v, double lo, double hi)
{
    return isfinite(v) && v >= lo && v <= hi && v == floor(v);
}

/* ---- training controls (since 0.2) -------------------------------------- */

void ae__trainer_controls_default(ae_trainer *t)
{
    ae__schedule_defaults(&t->sched);
    ae__schedule_reset(&t->sched_state);
    t->es.patience = 0;
    t->es.min_delta = 0.0;
    ae__early_stop_reset(&t->es);
    t->clip_norm = 0.0;
}

/* Whole numbers of epochs fit in an int: ae_progress counts in ints. */
#define EPOCHS_MAX 2147483647.0

/* The names of the controls' settings, for the errors. */
static const char *control_name(ae_train_param p)
{
    switch (p) {
    case AE_TRAIN_LR_SCHEDULE: return "AE_TRAIN_LR_SCHEDULE";
    case AE_TRAIN_LR_STEP_SIZE: return "AE_TRAIN_LR_STEP_SIZE";
    case AE_TRAIN_LR_GAMMA: return "AE_TRAIN_LR_GAMMA";
    case AE_TRAIN_LR_T_MAX: return "AE_TRAIN_LR_T_MAX";
    case AE_TRAIN_LR_MIN: return "AE_TRAIN_LR_MIN";
    case AE_TRAIN_PLATEAU_FACTOR: return "AE_TRAIN_PLATEAU_FACTOR";
    case AE_TRAIN_PLATEAU_PATIENCE: return "AE_TRAIN_PLATEAU_PATIENCE";
    case AE_TRAIN_PLATEAU_THRESHOLD: return "AE_TRAIN_PLATEAU_THRESHOLD";
    case AE_TRAIN_PLATEAU_COOLDOWN: return "AE_TRAIN_PLATEAU_COOLDOWN";
    case AE_TRAIN_EARLY_STOP_PATIENCE: return "AE_TRAIN_EARLY_STOP_PATIENCE";
    case AE_TRAIN_EARLY_STOP_MIN_DELTA:
        return "AE_TRAIN_EARLY_STOP_MIN_DELTA";
    case AE_TRAIN_CLIP_NORM: return "AE_TRAIN_CLIP_NORM";
    default: return NULL;
    }
}

static ae_status set_control(ae_trainer *t, ae_train_param p, double v)
{
    const char *name = control_name(p);
    if (name == NULL)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "unknown training parameter %d", (int)p);
    const char *want = NULL;
    ae__schedule *s = &t->sched;
    switch (p) {
    case AE_TRAIN_LR_SCHEDULE:
        if (!is_whole(v, AE_SCHEDULE_NONE, AE_SCHEDULE_PLATEAU)) {
            want = "an ae_lr_schedule, 0 to 4";
            break;
        }
        s->kind = (ae_lr_schedule)v;
        ae__schedule_reset(&t->sched_state);
        break;
    case AE_TRAIN_LR_STEP_SIZE:
        if (!is_whole(v, 1, EPOCHS_MAX))
            want = "a whole number of epochs >= 1";
        else
            s->step_size = (uint32_t)v;
        break;
    case AE_TRAIN_LR_GAMMA:
        if (!(isfinite(v) && v > 0.0))
            want = "> 0 and finite";
        else
            s->gamma = v;
        break;
    case AE_TRAIN_LR_T_MAX:
        if (!is_whole(v, 1, EPOCHS_MAX))
            want = "a whole number of epochs >= 1";
        else
            s->t_max = (uint32_t)v;
        break;
    case AE_TRAIN_LR_MIN:
        if (!(isfinite(v) && v >= 0.0))
            want = ">= 0 and finite";
        else
            s->min_lr = v;
        break;
    case AE_TRAIN_PLATEAU_FACTOR:
        if (!(v > 0.0 && v < 1.0))
            want = "in (0, 1)";
        else
            s->factor = v;
        break;
    case AE_TRAIN_PLATEAU_PATIENCE:
        if (!is_whole(v, 0, EPOCHS_MAX))
            want = "a whole number of epochs >= 0";
        else
            s->patience = (uint32_t)v;
        break;
    case AE_TRAIN_PLATEAU_THRESHOLD:
        if (!(v >= 0.0 && v < 1.0))
            want = "in [0, 1)";
        else
            s->threshold = v;
        break;
    case AE_TRAIN_PLATEAU_COOLDOWN:
        if (!is_whole(v, 0, EPOCHS_MAX))
            want = "a whole number of epochs >= 0";
        else
            s->cooldown = (uint32_t)v;
        break;
    case AE_TRAIN_EARLY_STOP_PATIENCE:
        if (!is_whole(v, 0, EPOCHS_MAX))
            want = "a whole number of epochs >= 0 (0: off)";
        else
            t->es.patience = (uint32_t)v;
        break;
    case AE_TRAIN_EARLY_STOP_MIN_DELTA:
        if (!(isfinite(v) && v >= 0.0))
            want = ">= 0 and finite";
        else
            t->es.min_delta = v;
        break;
    case AE_TRAIN_CLIP_NORM:
        if (!(isfinite(v) && v >= 0.0))
            want = "> 0 and finite, or 0 for off";
        else
            t->clip_norm = v;
        break;
    default:
        break;
    }
    if (want != NULL)
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "%s: %g is out of range "
                        "(%s)", name, v, want);
    return AE_OK;
}

static ae_status get_control(const ae_trainer *t, ae_train_param p,
                             double *v)
{
    const ae__schedule *s = &t->sched;
    switch (p) {
    case AE_TRAIN_LR_SCHEDULE: *v = s->kind; break;
    case AE_TRAIN_LR_STEP_SIZE: *v = s->step_size; break;
    case AE_TRAIN_LR_GAMMA: *v = s->gamma; break;
    case AE_TRAIN_LR_T_MAX: *v = s->t_max; break;
    case AE_TRAIN_LR_MIN: *v = s->min_lr; break;
    case AE_TRAIN_PLATEAU_FACTOR: *v = s->factor; break;
    case AE_TRAIN_PLATEAU_PATIENCE: *v = s->patience; break;
    case AE_TRAIN_PLATEAU_THRESHOLD: *v = s->threshold; break;
    case AE_TRAIN_PLATEAU_COOLDOWN: *v = s->cooldown; break;
    case AE_TRAIN_EARLY_STOP_PATIENCE: *v = t->es.patience; break;
    case AE_TRAIN_EARLY_STOP_MIN_DELTA: *v = t->es.min_delta; break;
    case AE_TRAIN_CLIP_NORM: *v = t->clip_norm; break;
    default:
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "unknown training parameter %d", (int)p);
    }
    return AE_OK;
}

ae_status ae_trainer_fit_outcome(const ae_trainer *t, ae_fit_end *end,
                                 int *epochs, int *best_epoch,
                                 double *best_loss)
{
    AE_REQUIRE(t);
    if (end != NULL)
        *end = t->fit_end;
    if (epochs != NULL)
        *epochs = t->run.epochs ? (int)(t->epochs_done - t->run.start) : 0;
    if (best_epoch != NULL)
        *best_epoch = (int)t->es.best_epoch;
    if (best_loss != NULL)
        *best_loss = t->es.best_epoch ? t->es.best : NAN;
    return AE_OK;
}

ae_status ae_trainer_learning_rate(const ae_trainer *t, double *lr)
{
    AE_REQUIRE(t);
    AE_REQUIRE(lr);
    *lr = ae__trainer_lr(t);
    return AE_OK;
}

double ae__trainer_lr(const ae_trainer *t)
{
    if (t->sched.kind != AE_SCHEDULE_NONE && t->sched_state.started)
        return t->sched_state.lr;
    double lr = 0.0;
    (void)ae_optimizer_get(t->opt, AE_OPT_LEARNING_RATE, &lr);
    return lr;
}

/* ---- the settings of 0.1 ------------------------------------------------- */

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
        return set_control(t, p, v);
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
        return get_control(t, p, v);
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

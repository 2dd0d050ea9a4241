/* trainer.c - one optimisation step, the epoch loop around it, and loss
 * evaluation.  The trainer owns the training settings and the random state
 * for input noise; model and optimizer are borrowed. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "layer.h"
#include "loss.h"
#include "noise.h"
#include "optimizer.h"

/* Streams separate the generators drawn from one user seed. */
enum { STREAM_NOISE = 0x401, STREAM_EVAL = 0x402, STREAM_SHUFFLE = 0x403 };

struct ae_trainer {
    ae_model *model;
    ae_optimizer *opt;

    ae_loss loss;
    float l1_code;
    int l1_per_image;     /* divide the L1 term by the batch size */
    ae_noise noise;
    float noise_level;
    size_t batch_size;
    int shuffle;
    uint64_t seed;
    ae_pixel_range range;

    ae__rng noise_rng;
    uint64_t epochs_done; /* over every fit call: each epoch its own order */

    size_t cap;       /* images the buffers below hold */
    float *noisy;     /* corrupted inputs */
    float *dy;        /* loss gradient */
    float *images;    /* a batch of the dataset, for fit and evaluate */
};

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
    ae__rng_seed(&t->noise_rng, 0, STREAM_NOISE);
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
    ae__free(t);
}

/* ---- settings ---------------------------------------------------------- */

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
        if ((ok = is_whole(v, 0, 9007199254740992.0))) {
            t->seed = (uint64_t)v;
            ae__rng_seed(&t->noise_rng, t->seed, STREAM_NOISE);
        }
        break;
    case AE_TRAIN_RANGE:
        if ((ok = is_whole(v, AE_RANGE_UNIT, AE_RANGE_SYMMETRIC)))
            t->range = (ae_pixel_range)v;
        break;
    default:
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "unknown training parameter %d", (int)p);
    }
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
    default:
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "unknown training parameter %d", (int)p);
    }
    return AE_OK;
}

/* ---- one step ---------------------------------------------------------- */

static ae_status reserve(ae_trainer *t, size_t batch)
{
    if (batch <= t->cap)
        return AE_OK;
    size_t n = ae_model_input_size(t->model);
    float *noisy = ae__calloc(batch, n * sizeof(float));
    float *dy = ae__calloc(batch, n * sizeof(float));
    float *images = ae__calloc(batch, n * sizeof(float));
    if (noisy == NULL || dy == NULL || images == NULL) {
        ae__free(noisy);
        ae__free(dy);
        ae__free(images);
        return ae__fail(AE_ERR_NO_MEMORY,
                        "cannot allocate training buffers for %zu images",
                        batch);
    }
    ae__free(t->noisy);
    ae__free(t->dy);
    ae__free(t->images);
    t->noisy = noisy;
    t->dy = dy;
    t->images = images;
    t->cap = batch;
    return AE_OK;
}

static void range_bounds(ae_pixel_range r, float *lo, float *hi)
{
    *lo = r == AE_RANGE_SYMMETRIC ? -1.0f : 0.0f;
    *hi = 1.0f;
}

/* Corrupt the inputs if noise is set; returns what the model should see. */
static const float *corrupt(ae_trainer *t, ae__rng *rng, const float *input,
                            size_t n)
{
    if (t->noise == AE_NOISE_NONE)
        return input;
    float lo, hi;
    range_bounds(t->range, &lo, &hi);
    ae__corrupt_rng(t->noise, t->noise_level, lo, hi, rng, input, t->noisy,
                    n);
    return t->noisy;
}

/* The weight of sum |code| over the batch in the loss. */
static float l1_weight(const ae_trainer *t, size_t batch)
{
    return t->l1_per_image ? t->l1_code / (float)batch : t->l1_code;
}

/* Forward pass and loss (reconstruction + L1 on the code); the gradient of
 * the reconstruction term is left in t->dy.  *fused tells whether it is
 * with respect to the output's pre-activation. */
static ae_status forward_loss(ae_trainer *t, const float *x,
                              const float *target, size_t batch,
                              double *loss, int *fused)
{
    ae_model *m = t->model;
    size_t layers = ae_model_layer_count(m);
    ae_layer *out_layer = NULL;
    const float *y = NULL;
    ae_model_layer(m, layers - 1, &out_layer);
    ae_status s = ae__model_forward(m, 0, layers - 1, x, batch, &y);
    if (s != AE_OK)
        return s;
    *fused = t->loss == AE_LOSS_BCE && out_layer->act == AE_ACT_SIGMOID;
    size_t n = batch * ae_model_input_size(m);
    *loss = ae__loss(t->loss, y, target, n, t->dy, *fused);
    if (t->l1_code > 0.0f)
        *loss += ae__l1_penalty(ae__model_code(m),
                                batch * ae_model_code_size(m),
                                l1_weight(t, batch));
    if (!isfinite(*loss))
        return ae__fail(AE_ERR_NOT_FINITE,
                        "loss is %g: training diverged or the data holds "
                        "values the loss cannot take (BCE needs [0, 1])",
                        *loss);
    return AE_OK;
}

/* The step proper, on inputs already checked and corrupted. */
static ae_status train_on(ae_trainer *t, const float *x, const float *target,
                          size_t batch, double *loss)
{
    ae_model *m = t->model;
    int fused = 0;
    ae_status s = forward_loss(t, x, target, batch, loss, &fused);
    if (s == AE_OK)
        s = ae__model_backward(m, x, batch, t->dy, fused,
                               l1_weight(t, batch));
    if (s != AE_OK)
        return s;
    size_t n = ae_model_param_count(m);
    /* Checked before the update so that a blow-up leaves the weights as
     * they were. */
    if (!ae__all_finite(ae__model_grads(m), n))
        return ae__fail(AE_ERR_NOT_FINITE,
                        "a gradient is NaN or infinite (loss %g)", *loss);
    return ae__optimizer_update(t->opt, ae__model_params(m),
                                ae__model_grads(m), n);
}

/* The noise settings are checked one by one when set; a salt-and-pepper
 * level above 1 (set before the kind, say) is refused when used. */
static ae_status check_noise(const ae_trainer *t, const char *fn)
{
    float lo, hi;
    range_bounds(t->range, &lo, &hi);
    return ae__noise_check(fn, t->noise, t->noise_level, lo, hi);
}

static ae_status check_arrays(ae_trainer *t, const float *input,
                              const float *target, size_t batch)
{
    ae_status s = ae_model_validate(t->model);
    if (s == AE_OK)
        s = check_noise(t, "ae_trainer_step");
    if (s != AE_OK)
        return s;
    if (batch == 0)
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "batch size is 0");
    size_t n;
    if (!ae__mul_size(batch, ae_model_input_size(t->model), &n))
        return ae__fail(AE_ERR_LIMIT, "batch of %zu is too large", batch);
    if (!ae__all_finite(input, n))
        return ae__fail(AE_ERR_NOT_FINITE, "input holds NaN or infinity");
    if (target != NULL && !ae__all_finite(target, n))
        return ae__fail(AE_ERR_NOT_FINITE, "target holds NaN or infinity");
    return reserve(t, batch);
}

ae_status ae_trainer_step(ae_trainer *t, const float *input,
                          const float *target, size_t batch, float *loss)
{
    AE_REQUIRE(t);
    AE_REQUIRE(input);
    ae_status s = check_arrays(t, input, target, batch);
    if (s != AE_OK)
        return s;
    size_t n = batch * ae_model_input_size(t->model);
    /* The noise is drawn from a copy of the generator, kept only if the
     * step succeeds: a failed step (out of memory, a non-finite loss)
     * leaves the trainer as it was, and its retry draws the same noise. */
    ae__rng rng = t->noise_rng;
    const float *x = corrupt(t, &rng, input, n);
    double value = 0.0;
    s = train_on(t, x, target ? target : input, batch, &value);
    if (s != AE_OK)
        return s;
    t->noise_rng = rng;
    if (loss != NULL)
        *loss = (float)value;
    return AE_OK;
}

/* ---- datasets ---------------------------------------------------------- */

static ae_status check_dataset(ae_trainer *t, const ae_dataset *ds,
                               const char *what)
{
    size_t want = ae_model_input_size(t->model);
    if (ae_dataset_image_size(ds) != want)
        return ae__fail(AE_ERR_SHAPE,
                        "%s images have %zu values, the model takes %zu",
                        what, ae_dataset_image_size(ds), want);
    if (ae_dataset_count(ds) == 0)
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "%s set is empty", what);
    return AE_OK;
}

ae_status ae_trainer_evaluate(ae_trainer *t, const ae_dataset *ds,
                              double *loss)
{
    AE_REQUIRE(t);
    AE_REQUIRE(ds);
    AE_REQUIRE(loss);
    ae_status s = ae_model_validate(t->model);
    if (s == AE_OK)
        s = check_noise(t, "ae_trainer_evaluate");
    if (s == AE_OK)
        s = check_dataset(t, ds, "evaluation");
    if (s == AE_OK)
        s = reserve(t, t->batch_size);
    if (s != AE_OK)
        return s;
    /* The same noise at every call, so that losses compare across epochs. */
    ae__rng rng;
    ae__rng_seed(&rng, t->seed, STREAM_EVAL);
    size_t count = ae_dataset_count(ds), in = ae_model_input_size(t->model);
    double sum = 0.0;
    for (size_t first = 0; first < count; first += t->batch_size) {
        size_t b = count - first < t->batch_size ? count - first
                                                 : t->batch_size;
        double value;
        int fused;
        s = ae_dataset_batch(ds, first, b, t->images, NULL);
        if (s != AE_OK)
            return s;
        const float *x = corrupt(t, &rng, t->images, b * in);
        s = forward_loss(t, x, t->images, b, &value, &fused);
        if (s != AE_OK)
            return s;
        sum += value * (double)b;
    }
    *loss = sum / (double)count;
    return AE_OK;
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) +
           1e-9 * (double)(now.tv_nsec - start->tv_nsec);
}

/* Run one epoch; *stop is set when the callback asks to stop. */
static ae_status run_epoch(ae_trainer *t, ae_batches *it, ae_progress *p,
                           ae_progress_fn progress, void *user,
                           const struct timespec *start, int *stop)
{
    size_t in = ae_model_input_size(t->model), seen = 0, b = 0;
    double sum = 0.0;
    for (;;) {
        size_t count = 0;
        ae_status s = ae_batches_next(it, t->images, NULL, &count);
        if (s != AE_OK)
            return s;
        if (count == 0)
            break;
        const float *x = corrupt(t, &t->noise_rng, t->images, count * in);
        double loss = 0.0;
        s = train_on(t, x, t->images, count, &loss);
        if (s != AE_OK) {
            char why[256]; /* ae__fail rewrites ae_last_error's buffer */
            snprintf(why, sizeof why, "%s", ae_last_error());
            return ae__fail(s, "epoch %d, batch %zu: %s", p->epoch, b + 1,
                            why);
        }
        sum += loss * (double)count;
        seen += count;
        p->batch = ++b;
        p->loss = loss;
        p->seconds = seconds_since(start);
        if (progress && progress(p, user) != 0) {
            *stop = 1;
            break;
        }
    }
    p->loss = seen ? sum / (double)seen : NAN;
    return AE_OK;
}

ae_status ae_trainer_fit(ae_trainer *t, const ae_dataset *train,
                         const ae_dataset *validation, int epochs,
                         ae_progress_fn progress, void *user)
{
    AE_REQUIRE(t);
    AE_REQUIRE(train);
    ae_status s = ae_model_validate(t->model);
    if (s == AE_OK)
        s = check_dataset(t, train, "training");
    if (s == AE_OK && validation != NULL)
        s = check_dataset(t, validation, "validation");
    if (s != AE_OK)
        return s;
    if (epochs < 1)
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "epochs %d, need >= 1",
                        epochs);
    if (t->batch_size > ae_dataset_count(train))
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "batch size %zu is larger than the %zu training "
                        "images", t->batch_size, ae_dataset_count(train));
    if (t->noise == AE_NOISE_SALT_PEPPER && t->noise_level > 1.0f)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "salt-and-pepper level %g is above 1",
                        (double)t->noise_level);
    s = reserve(t, t->batch_size);
    if (s != AE_OK)
        return s;

    ae_batches *it = NULL;
    ae__rng order;
    ae__rng_seed(&order, t->seed ^ t->epochs_done, STREAM_SHUFFLE);
    s = ae_batches_create(&it, train, t->batch_size, t->shuffle,
                          ae__rng_next(&order));
    if (s != AE_OK)
        return s;
    /* A fit that fails before its first step completes (out of memory in
     * the first step's buffers, say) leaves the trainer as it was. */
    const ae__rng saved_rng = t->noise_rng;
    const ae_pixel_range saved_range = t->range;
    t->range = ae_dataset_range(train);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    ae_progress p = {.size = sizeof p, .epochs = epochs,
                     .batches = ae_batches_per_epoch(it)};
    int stop = 0;
    for (int e = 1; s == AE_OK && e <= epochs && !stop; e++) {
        p.epoch = e;
        p.epoch_done = 0;
        p.val_loss = NAN;
        s = run_epoch(t, it, &p, progress, user, &start, &stop);
        if (s != AE_OK || stop)
            break;
        t->epochs_done++;
        if (validation != NULL)
            s = ae_trainer_evaluate(t, validation, &p.val_loss);
        p.epoch_done = 1;
        p.seconds = seconds_since(&start);
        if (s == AE_OK && progress && progress(&p, user) != 0)
            stop = 1;
    }
    ae_batches_free(it);
    if (s != AE_OK && p.batch == 0) {
        t->noise_rng = saved_rng;
        t->range = saved_range;
    }
    return s;
}

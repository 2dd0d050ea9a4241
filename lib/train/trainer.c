/* trainer.c - one optimisation step, the epoch loop around it, and loss
 * evaluation.  The handle and its settings are in trainer_settings.c; the
 * fit loop writes checkpoints through checkpoint.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/finite.h"
#include "data/batches.h"
#include "data/noise.h"
#include "nn/layer.h"
#include "nn/loss.h"
#include "nn/model.h"
#include "train/optimizer.h"
#include "train/trainer_settings.h"

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

/* What the summed reconstruction and KL terms are divided by: every
 * value of the `images` of the step, or with AE_TRAIN_SUM_PER_IMAGE the
 * images alone. */
static double reduction(const ae_trainer *t, size_t images)
{
    double n = (double)images;
    return t->sum_per_image ? n : n * (double)ae_model_input_size(t->model);
}

/* The generator of eps, advanced past the eps of `images` images (k
 * normals each, in order), as a worker skips the images of the batch
 * before its slice. */
static void skip_samples(const ae_trainer *t, ae__rng *rng, size_t images)
{
    const size_t n = ae__model_sampling_layer(t->model) == SIZE_MAX
                         ? 0
                         : images * ae_model_code_size(t->model);
    for (size_t i = 0; i < n; i++)
        (void)ae__rng_normal(rng);
}

/* Training passes of the model from now until ae__model_sampling_end draw
 * eps from rng, and backward adds the KL term's gradient for a step on
 * `images` images. */
static void begin_sampling(ae_trainer *t, ae__rng *rng, size_t images)
{
    ae__model_sampling_begin(t->model, rng,
                             (float)((double)t->kl_beta /
                                     reduction(t, images)));
}

/* Forward pass and its loss's terms: the reconstruction term's value
 * in *recon and its gradient in t->dy, the L1 term's value (weight
 * l1_weight(t, images)) in *penalty, the KL term (before beta, divided by
 * reduction(t, images)) in *kl.  *fused tells whether the gradient is
 * with respect to the output's pre-activation. */
static ae_status forward_terms(ae_trainer *t, const float *x,
                               const float *target, size_t batch,
                               size_t images, int training, double *recon,
                               double *penalty, double *kl, int *fused)
{
    ae_model *m = t->model;
    size_t layers = ae_model_layer_count(m);
    ae_layer *out_layer = NULL;
    const float *y = NULL;
    ae_model_layer(m, layers - 1, &out_layer);
    ae_status s = ae__model_forward(m, 0, layers - 1, x, batch, training,
                                    &y);
    if (s != AE_OK)
        return s;
    *fused = t->loss == AE_LOSS_BCE && out_layer->act == AE_ACT_SIGMOID;
    size_t n = batch * ae_model_input_size(m);
    *recon = ae__loss(t->loss, y, target, n, t->dy, *fused);
    if (t->sum_per_image) { /* the mean over values times the image size */
        const size_t in = ae_model_input_size(m);
        *recon *= (double)in;
        for (size_t i = 0; i < n; i++)
            t->dy[i] *= (float)in;
    }
    *kl = ae__model_kl(m, x, batch) / reduction(t, images);
    *penalty = t->l1_code > 0.0f
                   ? ae__l1_penalty(ae__model_code(m),
                                    batch * ae_model_code_size(m),
                                    l1_weight(t, images))
                   : 0.0;
    return AE_OK;
}

/* Forward pass and loss (reconstruction + L1 on the code + beta KL) of one
 * process, and its terms; the gradient of the reconstruction term is left
 * in t->dy.  training 0 for evaluation, whose pass only reads the model
 * (batch norm and dropout in their evaluation form). */
static ae_status forward_loss(ae_trainer *t, const float *x,
                              const float *target, size_t batch,
                              int training, ae_loss_terms *terms, int *fused)
{
    double recon = 0.0, penalty = 0.0, kl = 0.0;
    ae_status s = forward_terms(t, x, target, batch, batch, training, &recon,
                                &penalty, &kl, fused);
    if (s != AE_OK)
        return s;
    double *loss = &terms->loss;
    *terms = (ae_loss_terms){.reconstruction = recon, .kl = kl,
                             .l1 = penalty};
    *loss = recon;
    if (t->l1_code > 0.0f)
        *loss += penalty;
    if (ae__model_sampling_layer(t->model) != SIZE_MAX)
        *loss += (double)t->kl_beta * kl;
    if (!isfinite(*loss))
        return ae__fail(AE_ERR_NOT_FINITE,
                        "loss is %g: training diverged or the data holds "
                        "values the loss cannot take (BCE needs [0, 1])",
                        *loss);
    return AE_OK;
}

/* The update of a step from the model's gradient array (with workers,
 * already summed): clipped to AE_TRAIN_CLIP_NORM, at the schedule's rate.
 * A schedule that has not started starts with this step, from the
 * optimizer's rate, once the step has succeeded. */
static ae_status update(ae_trainer *t)
{
    ae_model *m = t->model;
    if (t->clip_norm > 0.0) {
        ae_status s = ae_model_clip_gradients(m, t->clip_norm, NULL);
        if (s != AE_OK)
            return s;
    }
    double lr = ae__trainer_lr(t);
    ae_status s = ae__optimizer_update_lr(t->opt, ae__model_params(m),
                                          ae__model_grads(m),
                                          ae_model_param_count(m), lr);
    if (s == AE_OK && t->sched.kind != AE_SCHEDULE_NONE &&
        !t->sched_state.started)
        ae__schedule_begin(&t->sched_state, lr);
    return s;
}

/* The step with each layer updated as soon as its gradients are written
 * (model.c's fused step), when the model's layers allow it and no
 * clipping needs the whole gradient first: *done = 1 if the step is
 * made, 0 if the caller must check the gradient, now written in full, and
 * update as usual (the gradient may not be finite). */
static ae_status backward_update(ae_trainer *t, const float *x, size_t batch,
                                 int fused, int *done)
{
    ae_model *m = t->model;
    *done = 0;
    ae_status s = ae__model_backward_inputs(m, batch, t->dy, fused,
                                            l1_weight(t, batch));
    if (s != AE_OK)
        return s; /* out of memory for its buffer, with nothing changed:
                     every failed allocation fails the call (the
                     allocation walk's rule), none is worked around */
    if (!ae__model_gradient_bounded(m, x, batch)) {
        ae__model_backward_params(m, x, batch, NULL);
        return AE_OK;
    }
    const double lr = ae__trainer_lr(t);
    ae__optimizer_step step;
    s = ae__optimizer_begin_step(t->opt, ae__model_params(m),
                                 ae__model_grads(m),
                                 ae_model_param_count(m), lr, &step);
    if (s != AE_OK) {
        /* the gradient written all the same, as a failed update leaves it */
        ae__model_backward_params(m, x, batch, NULL);
        return s;
    }
    const ae__param_update update = {ae__optimizer_apply, &step};
    ae__model_backward_params(m, x, batch, &update);
    if (t->sched.kind != AE_SCHEDULE_NONE && !t->sched_state.started)
        ae__schedule_begin(&t->sched_state, lr);
    *done = 1;
    return AE_OK;
}

/* The step proper, on inputs already checked and corrupted. */
static ae_status train_on(ae_trainer *t, const float *x, const float *target,
                          size_t batch, ae_loss_terms *terms)
{
    ae_model *m = t->model;
    int fused = 0;
    const double *loss = &terms->loss;
    ae_status s = forward_loss(t, x, target, batch, 1, terms, &fused);
    if (s != AE_OK)
        return s;
    if (t->clip_norm <= 0.0 && ae__model_splits_backward(m)) {
        int done;
        s = backward_update(t, x, batch, fused, &done);
        if (s == AE_OK && done) {
            ae__model_commit(m);
            return AE_OK;
        }
    } else {
        s = ae__model_backward(m, x, batch, t->dy, fused,
                               l1_weight(t, batch), NULL);
    }
    if (s != AE_OK)
        return s;
    size_t n = ae_model_param_count(m);
    /* Checked before the update so that a blow-up leaves the weights as
     * they were. */
    if (!ae__all_finite(ae__model_grads(m), n))
        return ae__fail(AE_ERR_NOT_FINITE,
                        "a gradient is NaN or infinite (loss %g)", *loss);
    s = update(t);
    if (s == AE_OK) /* batch norm's running statistics, dropout's counter */
        ae__model_commit(m);
    return s;
}

/* The fewest images a worker trains on in a step of count images (workers
 * with none aside): what batch norm's check must pass on every worker. */
static size_t smallest_share(size_t count, int workers)
{
    size_t smallest = 0;
    for (size_t r = 0; r < (size_t)workers; r++) {
        size_t a = count * r / (size_t)workers;
        size_t b = count * (r + 1) / (size_t)workers;
        if (b > a && (smallest == 0 || b - a < smallest))
            smallest = b - a;
    }
    return smallest;
}

/* The step of worker t->rank of t->workers on the global batch x of count
 * images (see "Data-parallel training" in autoenc.h): its slice's
 * gradient, scaled by the slice's share, summed over the workers through
 * t->reduce, then the update.  Every worker reaches both reductions
 * whatever its slice held, so that a NaN on one stops them all together
 * rather than leaving the others waiting. */
static ae_status train_shared(ae_trainer *t, const float *x,
                              const float *target, size_t count,
                              ae_loss_terms *terms)
{
    double *loss = &terms->loss;
    ae_model *m = t->model;
    const size_t in = ae_model_input_size(m), n = ae_model_param_count(m);
    const size_t lo = count * (size_t)t->rank / (size_t)t->workers;
    const size_t hi = count * ((size_t)t->rank + 1) / (size_t)t->workers;
    const size_t mine = hi - lo;
    double recon = 0.0, penalty = 0.0, kl = 0.0;
    ae_status s = AE_OK;
    /* A share of the batch too small for batch norm is refused by every
     * worker alike, before any of them waits for the others. */
    const size_t smallest = smallest_share(count, t->workers);
    if (ae_model_training(m))
        s = ae__model_check_training_batch(m, smallest);
    if (s != AE_OK)
        return ae__fail_context(s, "the smallest share of the batch, %zu of "
                                "%zu images over %d workers", smallest,
                                count, t->workers);
    if (mine > 0) {
        int fused = 0;
        ae__model_set_image_offset(m, lo);
        s = forward_terms(t, x + lo * in, target + lo * in, mine, count, 1,
                          &recon, &penalty, &kl, &fused);
        /* The slice's mean-reduced gradient times its share of the batch:
         * the workers' gradients then sum to the batch's. */
        const float share = (float)((double)mine / (double)count);
        for (size_t i = 0; s == AE_OK && i < mine * in; i++)
            t->dy[i] *= share;
        if (s == AE_OK)
            s = ae__model_backward(m, x + lo * in, mine, t->dy, fused,
                                   l1_weight(t, count), NULL);
        ae__model_set_image_offset(m, 0);
    } else if (n > 0) {
        memset(ae__model_grads(m), 0, n * sizeof(float));
    }
    if (s != AE_OK)
        return s; /* out of memory: the transport must notice the absence */
    /* This worker's shares of the terms; the reduction sums the total. */
    *terms = (ae_loss_terms){
        .reconstruction = recon * (double)mine / (double)count,
        .kl = kl, .l1 = penalty};
    double mine_total = terms->reconstruction + penalty;
    if (ae__model_sampling_layer(m) != SIZE_MAX)
        mine_total += (double)t->kl_beta * kl;
    float total = (float)mine_total;
    ae__clear_error();
    s = t->reduce(ae__model_grads(m), n, t->reduce_user);
    if (s == AE_OK)
        s = t->reduce(&total, 1, t->reduce_user);
    if (s != AE_OK && ae_last_error()[0] == '\0')
        return ae__fail(s, "the workers' reduction failed: %s",
                        ae_status_message(s));
    if (s != AE_OK)
        return ae__fail_context(s, "the workers' reduction");
    *loss = total;
    if (!isfinite(total))
        return ae__fail(AE_ERR_NOT_FINITE,
                        "loss is %g on some worker: training diverged or the "
                        "data holds values the loss cannot take", total);
    if (!ae__all_finite(ae__model_grads(m), n))
        return ae__fail(AE_ERR_NOT_FINITE,
                        "a summed gradient is NaN or infinite (loss %g)",
                        *loss);
    s = update(t);
    if (s != AE_OK)
        return s;
    /* Batch norm's running statistics moved with this worker's share of
     * the batch; their share-weighted mean over the workers is what every
     * worker keeps, so the workers agree. */
    ae__model_commit(m);
    ae__clear_error();
    s = ae__model_average_running(m, (float)((double)mine / (double)count),
                                  t->reduce, t->reduce_user);
    if (s != AE_OK)
        return ae_last_error()[0] == '\0'
                   ? ae__fail(s, "the workers' reduction of the running "
                              "statistics failed: %s", ae_status_message(s))
                   : ae__fail_context(s, "the workers' reduction of the "
                                      "running statistics");
    return AE_OK;
}

/* One step on a batch: this process's, or the workers' share of it.  eps
 * come from t->sample_rng, which moves past the batch's only if the step
 * succeeds; t->last gets the step's terms. */
static ae_status train_batch(ae_trainer *t, const float *x,
                             const float *target, size_t count, double *loss)
{
    if (t->reduce != NULL && t->rank >= t->workers)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "rank %d of %d workers (AE_TRAIN_RANK must be below "
                        "AE_TRAIN_WORKERS)", t->rank, t->workers);
    ae__rng rng = t->sample_rng;
    ae_loss_terms terms;
    ae_status s;
    if (t->reduce == NULL) {
        begin_sampling(t, &rng, count);
        s = train_on(t, x, target, count, &terms);
    } else {
        /* Worker r draws the eps one process draws for its slice. */
        skip_samples(t, &rng, count * (size_t)t->rank / (size_t)t->workers);
        begin_sampling(t, &rng, count);
        s = train_shared(t, x, target, count, &terms);
        rng = t->sample_rng;
        skip_samples(t, &rng, count);
    }
    ae__model_sampling_end(t->model);
    if (s != AE_OK)
        return s;
    t->sample_rng = rng;
    t->last = terms;
    *loss = terms.loss;
    return AE_OK;
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
    /* Before any buffer is allocated for it (train_shared checks the
     * workers' shares instead). */
    if (t->reduce == NULL && ae_model_training(t->model))
        s = ae__model_check_training_batch(t->model, batch);
    return s != AE_OK ? s : reserve(t, batch);
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
    s = train_batch(t, x, target ? target : input, batch, &value);
    if (s != AE_OK)
        return s;
    t->noise_rng = rng;
    if (loss != NULL)
        *loss = (float)value;
    return AE_OK;
}

/* ---- datasets ---------------------------------------------------------- */

static ae_status check_dataset(const ae_trainer *t, const ae_dataset *ds,
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
    ae_loss_terms terms;
    ae_status s = ae_trainer_evaluate_terms(t, ds, &terms);
    if (s == AE_OK)
        *loss = terms.loss;
    return s;
}

ae_status ae_trainer_evaluate_terms(ae_trainer *t, const ae_dataset *ds,
                                    ae_loss_terms *terms)
{
    AE_REQUIRE(t);
    AE_REQUIRE(ds);
    AE_REQUIRE(terms);
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
    ae__rng rng, sample_rng;
    ae__rng_seed(&rng, t->seed, AE__STREAM_EVAL);
    ae__rng_seed(&sample_rng, t->seed, AE__STREAM_EVAL_SAMPLE);
    size_t count = ae_dataset_count(ds), in = ae_model_input_size(t->model);
    ae_loss_terms sum = {0.0, 0.0, 0.0, 0.0};
    for (size_t first = 0; s == AE_OK && first < count;
         first += t->batch_size) {
        size_t b = count - first < t->batch_size ? count - first
                                                 : t->batch_size;
        ae_loss_terms value;
        int fused;
        s = ae_dataset_batch(ds, first, b, t->images, NULL);
        if (s != AE_OK)
            break;
        const float *x = corrupt(t, &rng, t->images, b * in);
        /* A VAE's loss is estimated with one sample of each image's code,
         * from a seed fixed for the call, while batch norm and dropout
         * take their evaluation form. */
        begin_sampling(t, &sample_rng, b);
        s = forward_loss(t, x, t->images, b, 0, &value, &fused);
        ae__model_sampling_end(t->model);
        sum.loss += value.loss * (double)b;
        sum.reconstruction += value.reconstruction * (double)b;
        sum.kl += value.kl * (double)b;
        sum.l1 += value.l1 * (double)b;
    }
    if (s != AE_OK)
        return s;
    terms->loss = sum.loss / (double)count;
    terms->reconstruction = sum.reconstruction / (double)count;
    terms->kl = sum.kl / (double)count;
    terms->l1 = sum.l1 / (double)count;
    return AE_OK;
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) +
           1e-9 * (double)(now.tv_nsec - start->tv_nsec);
}

/* One fit call's loop state. */
typedef struct fit_ctx {
    ae_batches *it;
    ae_progress p;
    ae_progress_fn progress;
    void *user;
    struct timespec start;
    size_t trained; /* steps this call completed */
    int stop;       /* the callback asked to stop */
} fit_ctx;

/* In data-parallel training only worker 0 writes the checkpoints: every
 * worker holds the same state, and one writer keeps the file whole. */
static int writes_checkpoints(const ae_trainer *t)
{
    return t->reduce == NULL || t->rank == 0;
}

/* Write a checkpoint if checkpointing is on and, unless at_epoch_end, the
 * run's batch count is a multiple of the period. */
static ae_status checkpoint_if_due(ae_trainer *t, const fit_ctx *c,
                                   int at_epoch_end)
{
    if (t->checkpoint_every == 0 || !writes_checkpoints(t))
        return AE_OK;
    uint64_t run_batch = (t->epochs_done - t->run.start) *
                             (uint64_t)c->p.batches + t->run.batch;
    if (!at_epoch_end && run_batch % t->checkpoint_every != 0)
        return AE_OK;
    ae_status s = ae_trainer_save_checkpoint(t, t->checkpoint_path);
    if (s == AE_OK)
        return AE_OK;
    return ae__fail_context(s, "epoch %d, batch %zu: checkpoint", c->p.epoch,
                            c->p.batch);
}

/* Account for a completed step of count images and tell the callback. */
static ae_status after_step(ae_trainer *t, fit_ctx *c, size_t count,
                            double loss)
{
    c->trained++;
    t->run.loss_sum += loss * (double)count;
    t->run.recon_sum += t->last.reconstruction * (double)count;
    t->run.kl_sum += t->last.kl * (double)count;
    t->run.l1_sum += t->last.l1 * (double)count;
    t->run.seen += count;
    c->p.batch = (size_t)++t->run.batch;
    c->p.loss = loss;
    c->p.seconds = seconds_since(&c->start);
    ae_status s = checkpoint_if_due(t, c, 0);
    if (s == AE_OK && c->progress && c->progress(&c->p, c->user) != 0)
        c->stop = 1;
    return s;
}

/* Run the rest of the epoch under way; c->stop is set when the callback
 * asks to stop. */
static ae_status run_epoch(ae_trainer *t, fit_ctx *c)
{
    size_t in = ae_model_input_size(t->model);
    while (!c->stop) {
        size_t count = 0;
        ae_status s = ae_batches_next(c->it, t->images, NULL, &count);
        if (s != AE_OK)
            return s;
        if (count == 0)
            break;
        const float *x = corrupt(t, &t->noise_rng, t->images, count * in);
        double loss = 0.0;
        s = train_batch(t, x, t->images, count, &loss);
        if (s != AE_OK) {
            return ae__fail_context(s, "epoch %d, batch %zu", c->p.epoch,
                                    (size_t)t->run.batch + 1);
        }
        s = after_step(t, c, count, loss);
        if (s != AE_OK)
            return s;
    }
    c->p.loss = t->run.seen ? t->run.loss_sum / (double)t->run.seen : NAN;
    if (t->run.seen) { /* the epoch's means, as ae_progress's loss */
        const double seen = (double)t->run.seen;
        t->last = (ae_loss_terms){c->p.loss, t->run.recon_sum / seen,
                                  t->run.kl_sum / seen,
                                  t->run.l1_sum / seen};
    }
    return AE_OK;
}

/* 1 if the next fit call continues t->run (see ae_trainer_fit). */
static int resuming(const ae_trainer *t)
{
    const ae__fit_run *r = &t->run;
    return t->resume && r->epochs > 0 && !t->es.stopped &&
           (t->epochs_done - r->start < r->epochs || r->batch > 0);
}

/* The run this fit call makes: a new one, or, after a checkpoint was
 * loaded, the rest of the one it holds (which this call must match). */
static ae_status plan_run(const ae_trainer *t, const ae_dataset *train,
                          int epochs, ae__fit_run *run)
{
    if (!resuming(t)) {
        *run = (ae__fit_run){.start = t->epochs_done,
                             .epochs = (uint64_t)epochs,
                             .images = ae_dataset_count(train),
                             .batch_size = t->batch_size,
                             .seed = t->seed,
                             .shuffle = (uint32_t)t->shuffle};
        return AE_OK;
    }
    const ae__fit_run *r = &t->run;
    if (r->images != ae_dataset_count(train) ||
        r->batch_size != t->batch_size || r->seed != t->seed ||
        r->shuffle != (uint32_t)t->shuffle)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "cannot resume the checkpoint's fit call (%llu "
                        "images, batch size %llu, seed %llu, shuffle %u) "
                        "with %zu images, batch size %zu, seed %llu, shuffle "
                        "%d", (unsigned long long)r->images,
                        (unsigned long long)r->batch_size,
                        (unsigned long long)r->seed, (unsigned)r->shuffle,
                        ae_dataset_count(train), t->batch_size,
                        (unsigned long long)t->seed, t->shuffle);
    uint64_t done = t->epochs_done - r->start;
    if ((uint64_t)epochs <= done)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "epochs %d: the checkpoint's fit call already did "
                        "%llu epochs (epochs counts from that call's start)",
                        epochs, (unsigned long long)done);
    *run = *r;
    run->epochs = (uint64_t)epochs;
    return AE_OK;
}

/* The batches of run, placed where it stands. */
static ae_status open_batches(const ae_trainer *t, const ae_dataset *train,
                              const ae__fit_run *run, ae_batches **it)
{
    ae__rng order;
    ae__rng_seed(&order, run->seed ^ run->start, AE__STREAM_SHUFFLE);
    ae_status s = ae_batches_create(it, train, (size_t)run->batch_size,
                                    (int)run->shuffle, ae__rng_next(&order));
    uint64_t epoch = t->epochs_done - run->start;
    if (s == AE_OK && (epoch > 0 || run->seen > 0))
        s = ae__batches_seek(*it, epoch, (size_t)run->seen);
    if (s != AE_OK) {
        ae_batches_free(*it);
        *it = NULL;
    }
    return s;
}

static ae_status check_fit(const ae_trainer *t, const ae_dataset *train,
                           const ae_dataset *validation, int epochs)
{
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
    if (t->es.patience > 0 && validation == NULL)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "early stopping (AE_TRAIN_EARLY_STOP_PATIENCE %lu) "
                        "judges the validation loss: ae_trainer_fit needs a "
                        "validation set", (unsigned long)t->es.patience);
    if (t->checkpoint_every > 0 && t->checkpoint_path == NULL &&
        writes_checkpoints(t))
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "checkpoints every %llu batches need a path "
                        "(ae_trainer_set_checkpoint_path)",
                        (unsigned long long)t->checkpoint_every);
    /* Batch norm refuses a batch (or a worker's share of one) of one value
     * per channel: an epoch whose last batch would be one is refused
     * before it starts, not in its middle. */
    size_t last = ae_dataset_count(train) % t->batch_size;
    size_t least = last > 0 ? last : t->batch_size;
    if (t->reduce != NULL && t->workers > 1)
        least = smallest_share(least, t->workers);
    if (ae_model_training(t->model))
        s = ae__model_check_training_batch(t->model, least);
    if (s != AE_OK)
        return ae__fail_context(s, "the smallest batch of an epoch (or "
                                "worker's share of one), %zu images, of %zu "
                                "in batches of %zu", least,
                                ae_dataset_count(train), t->batch_size);
    return AE_OK;
}

/* ---- training controls at an epoch's end (since 0.2) ------------------- */

/* 1 if the controls judge a loss at this epoch's end. */
static int judges(const ae_trainer *t, const ae_dataset *validation)
{
    return t->sched.kind == AE_SCHEDULE_PLATEAU ||
           (t->es.patience > 0 && validation != NULL);
}

/* Room for the controls' state, taken before a fit's first step so that
 * a lack of memory fails the call before it trains. */
static ae_status reserve_controls(ae_trainer *t, const ae_dataset *validation)
{
    ae_status s = AE_OK;
    if (t->es.patience > 0)
        s = ae__early_stop_reserve(&t->es, ae_model_param_count(t->model));
    size_t n = 4 * (size_t)t->workers;
    if (s == AE_OK && t->reduce != NULL && judges(t, validation) &&
        n > t->agree_cap) {
        float *a = ae__calloc(n, sizeof(float));
        if (a == NULL)
            return ae__fail(AE_ERR_NO_MEMORY, "cannot allocate the %zu "
                            "floats the workers agree on a loss through",
                            n);
        ae__free(t->agree);
        t->agree = a;
        t->agree_cap = n;
    }
    return s;
}

/* Every worker's value of *value, exactly, through a reduction that sums
 * floats: each sends its 64 bits as four 16-bit pieces (whole numbers
 * below 2^16, exact in a float) in its own four slots and zeros in the
 * others', and a sum with zeros is exact.  Every worker then takes the
 * same value: the workers' common one, or their mean in rank order. */
static ae_status agree_on(ae_trainer *t, double *value)
{
    const size_t n = 4 * (size_t)t->workers;
    float *a = t->agree;
    uint64_t bits;
    memcpy(&bits, value, sizeof bits);
    memset(a, 0, n * sizeof(float));
    for (size_t k = 0; k < 4; k++)
        a[4 * (size_t)t->rank + k] = (float)((bits >> (16 * k)) & 0xffff);
    ae__clear_error();
    ae_status s = t->reduce(a, n, t->reduce_user);
    if (s != AE_OK && ae_last_error()[0] == '\0')
        return ae__fail(s, "the workers' reduction of the epoch's loss "
                        "failed: %s", ae_status_message(s));
    if (s != AE_OK)
        return ae__fail_context(s, "the workers' reduction of the epoch's "
                                "loss");
    double sum = 0.0, first = 0.0;
    int same = 1;
    for (size_t r = 0; r < (size_t)t->workers; r++) {
        uint64_t b = 0;
        for (size_t k = 0; k < 4; k++) {
            float f = a[4 * r + k];
            if (!(f >= 0.0f && f <= 65535.0f && f == floorf(f)))
                return ae__fail(AE_ERR_FORMAT, "the workers' reduction of "
                                "the epoch's loss gave %g for worker %zu, "
                                "not a sum of its piece and zeros",
                                (double)f, r);
            b |= (uint64_t)f << (16 * k);
        }
        double v;
        memcpy(&v, &b, sizeof v);
        if (r == 0)
            first = v;
        else if (memcmp(&v, &first, sizeof v) != 0)
            same = 0;
        sum += v;
    }
    *value = same ? first : sum / (double)t->workers;
    return AE_OK;
}

/* Step the schedule and judge early stopping on the epoch's loss: the
 * validation loss if there is a validation set, else the mean training
 * loss (the plateau schedule's, when early stopping is off). */
static ae_status run_controls(ae_trainer *t, const fit_ctx *c,
                              const ae_dataset *validation)
{
    double loss = validation != NULL ? c->p.val_loss : c->p.loss;
    ae_status s = AE_OK;
    if (judges(t, validation) && t->reduce != NULL)
        s = agree_on(t, &loss);
    if (s != AE_OK)
        return s;
    if (t->sched.kind != AE_SCHEDULE_NONE) {
        if (!t->sched_state.started) /* set from the callback mid-epoch */
            ae__schedule_begin(&t->sched_state, ae__trainer_lr(t));
        ae__schedule_step(&t->sched, &t->sched_state, loss);
    }
    if (t->es.patience > 0 && validation != NULL) {
        s = ae__early_stop_update(&t->es, loss,
                                  t->epochs_done - t->run.start,
                                  ae__model_params(t->model),
                                  ae_model_param_count(t->model));
        if (s == AE_OK && t->es.stopped)
            t->fit_end = AE_FIT_EARLY_STOPPED;
    }
    return s;
}

/* Finish the epoch just run: validation loss, schedule and early stopping,
 * checkpoint, callback. */
static ae_status end_epoch(ae_trainer *t, fit_ctx *c,
                           const ae_dataset *validation)
{
    t->epochs_done++;
    t->run.batch = t->run.seen = 0;
    t->run.loss_sum = 0.0;
    t->run.recon_sum = t->run.kl_sum = t->run.l1_sum = 0.0;
    ae_status s = AE_OK;
    ae__loss_terms_unknown(&t->last_val);
    if (validation != NULL)
        s = ae_trainer_evaluate_terms(t, validation, &t->last_val);
    if (validation != NULL && s == AE_OK)
        c->p.val_loss = t->last_val.loss;
    if (s == AE_OK)
        s = run_controls(t, c, validation);
    if (s == AE_OK)
        s = checkpoint_if_due(t, c, 1);
    c->p.epoch_done = 1;
    c->p.seconds = seconds_since(&c->start);
    if (s == AE_OK && c->progress && c->progress(&c->p, c->user) != 0)
        c->stop = 1;
    return s;
}

ae_status ae_trainer_fit(ae_trainer *t, const ae_dataset *train,
                         const ae_dataset *validation, int epochs,
                         ae_progress_fn progress, void *user)
{
    AE_REQUIRE(t);
    AE_REQUIRE(train);
    ae__fit_run run;
    ae_status s = check_fit(t, train, validation, epochs);
    if (s == AE_OK)
        s = plan_run(t, train, epochs, &run);
    if (s == AE_OK)
        s = reserve(t, t->batch_size);
    if (s == AE_OK)
        s = reserve_controls(t, validation);
    fit_ctx c = {.progress = progress, .user = user};
    if (s == AE_OK)
        s = open_batches(t, train, &run, &c.it);
    if (s != AE_OK)
        return s;
    /* A fit that fails before its first step completes (out of memory in
     * the first step's buffers, say) leaves the trainer as it was. */
    const ae_trainer saved = *t;
    if (!resuming(t))
        ae__early_stop_reset(&t->es); /* early stopping is per fit call */
    t->fit_end = AE_FIT_RUNNING;
    t->run = run;
    t->resume = 0;
    t->range = ae_dataset_range(train);
    clock_gettime(CLOCK_MONOTONIC, &c.start);
    c.p = (ae_progress){.size = sizeof c.p, .epochs = epochs,
                        .batches = ae_batches_per_epoch(c.it)};
    while (s == AE_OK && !c.stop && !t->es.stopped &&
           t->epochs_done - run.start < (uint64_t)epochs) {
        c.p.epoch = (int)(t->epochs_done - run.start) + 1;
        c.p.batch = (size_t)t->run.batch;
        c.p.epoch_done = 0;
        c.p.val_loss = NAN;
        s = run_epoch(t, &c);
        if (s == AE_OK && !c.stop)
            s = end_epoch(t, &c, validation);
    }
    ae_batches_free(c.it);
    if (s != AE_OK && c.trained == 0) {
        t->noise_rng = saved.noise_rng;
        t->sample_rng = saved.sample_rng;
        t->last = saved.last;
        t->last_val = saved.last_val;
        t->range = saved.range;
        t->run = saved.run;
        t->resume = saved.resume;
        t->es = saved.es;
        t->sched_state = saved.sched_state;
        t->fit_end = saved.fit_end;
    } else if (t->fit_end != AE_FIT_EARLY_STOPPED) {
        t->fit_end = s != AE_OK ? AE_FIT_FAILED
                     : c.stop   ? AE_FIT_STOPPED
                                : AE_FIT_COMPLETED;
    }
    return s;
}

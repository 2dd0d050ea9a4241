/* test_layer_table.c - every registered layer type through the same checks.
 *
 * For each kind that lib/layers/layer_table.c knows, a rig below builds a
 * small complete autoencoder around one layer of that kind (the layer
 * under test), and every rig goes through:
 *   - a finite-difference check of the layer's weight and bias gradients
 *     and of its input gradient, through the layer's own ops row;
 *   - a model-file round trip: the loaded model has the same layers and
 *     parameters and reconstructs the same bits;
 *   - a checkpoint round trip: a trainer restored from a checkpoint takes
 *     the same next step as the one that wrote it;
 *   - the allocation-failure walk of building the model: every allocation
 *     made to fail in turn gives AE_ERR_NO_MEMORY with a message, leaves
 *     the model consistent, and leaks nothing.
 * A kind registered in the table without a rig here fails the suite, so a
 * new layer type cannot skip any of these (docs/ARCHITECTURE.md's
 * checklist). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers/layer_table.h"
#include "nn/activation.h"
#include "nn/model.h"
#include "testutil.h"

/* Model inputs: two channels of 6 x 6, so that every image layer sees
 * more than one channel and more than one window per side. */
enum { IN_C = 2, IN_H = 6, IN_W = 6, IN_SIZE = IN_C * IN_H * IN_W };
enum { BATCH = 3 };

typedef struct layer_rig {
    ae_layer_kind kind;
    const char *what;  /* in failure messages */
    size_t tested;     /* index of the layer under test */
    /* Append the rig's layers to an empty IN_C x IN_H x IN_W model. */
    ae_status (*build)(ae_model *m);
} layer_rig;

/* Each rig ends with a decoder that brings the code back to IN_SIZE, so
 * that the model is complete (model files and trainers need that). */
static ae_status dense_back(ae_model *m)
{
    return ae_model_add_dense(m, AE_DECODER, IN_SIZE, AE_ACT_SIGMOID);
}

static ae_status build_dense(ae_model *m)
{
    ae_status s = ae_model_add_dense(m, AE_ENCODER, 7, AE_ACT_TANH);
    return s != AE_OK ? s : dense_back(m);
}

static ae_status build_conv2d(ae_model *m)
{
    ae_status s = ae_model_add_conv2d(m, AE_ENCODER, 3, 3, 1, 1,
                                      AE_ACT_RELU);
    return s != AE_OK ? s : dense_back(m);
}

static ae_status build_maxpool2d(ae_model *m)
{
    ae_status s = ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2);
    return s != AE_OK ? s : dense_back(m);
}

static ae_status build_maxunpool2d(ae_model *m)
{
    ae_status s = ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2);
    if (s == AE_OK)
        s = ae_model_add_conv2d(m, AE_ENCODER, IN_C, 3, 1, 1, AE_ACT_NONE);
    if (s == AE_OK)
        s = ae_model_add_maxunpool2d(m, AE_DECODER, 0, IN_H, IN_W);
    return s;
}

static ae_status build_upsample2d(ae_model *m)
{
    ae_status s = ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2);
    if (s == AE_OK)
        s = ae_model_add_upsample2d(m, AE_DECODER, 2);
    return s;
}

static ae_status build_conv_transpose2d(ae_model *m)
{
    ae_status s = ae_model_add_conv2d(m, AE_ENCODER, 3, 3, 2, 1,
                                      AE_ACT_RELU);
    if (s == AE_OK) /* 3 x 3 x 3 -> 2 x 6 x 6 */
        s = ae_model_add_conv_transpose2d(m, AE_DECODER, IN_C, 4, 2, 1, 0,
                                          AE_ACT_SIGMOID);
    return s;
}

static ae_status build_reshape(ae_model *m)
{
    ae_status s = ae_model_add_dense(m, AE_ENCODER, 12, AE_ACT_RELU);
    if (s == AE_OK)
        s = ae_model_add_reshape(m, AE_ENCODER, 3, 2, 2);
    return s != AE_OK ? s : dense_back(m);
}

/* Batch norm over the channels of images (BatchNorm2d); the layer under
 * test follows another, so the rig's passes are training passes, through
 * the batch statistics.  tests/test_batchnorm.c has the dense form. */
static ae_status build_batchnorm(ae_model *m)
{
    ae_status s = ae_model_add_conv2d(m, AE_ENCODER, 3, 3, 1, 1,
                                      AE_ACT_NONE);
    if (s == AE_OK)
        s = ae_model_add_batchnorm(m, AE_ENCODER, 0.1f, 1e-5f, AE_ACT_RELU);
    return s != AE_OK ? s : dense_back(m);
}

/* Dropout in a training pass: the rig's forward calls commit nothing, so
 * they all draw the same mask, and finite differences see one function. */
static ae_status build_dropout(ae_model *m)
{
    ae_status s = ae_model_add_dense(m, AE_ENCODER, 12, AE_ACT_TANH);
    if (s == AE_OK)
        s = ae_model_add_dropout(m, AE_ENCODER, 0.5f);
    return s != AE_OK ? s : dense_back(m);
}

/* 12 linear values, 6 means and 6 log-variances, sampled to a code of 6. */
static ae_status build_gaussian_sample(ae_model *m)
{
    ae_status s = ae_model_add_dense(m, AE_ENCODER, 12, AE_ACT_NONE);
    if (s == AE_OK)
        s = ae_model_add_gaussian_sample(m, AE_ENCODER);
    return s != AE_OK ? s : dense_back(m);
}

static const layer_rig rigs[] = {
    {AE_LAYER_DENSE, "dense", 0, build_dense},
    {AE_LAYER_CONV2D, "conv2d", 0, build_conv2d},
    {AE_LAYER_MAXPOOL2D, "maxpool2d", 0, build_maxpool2d},
    {AE_LAYER_MAXUNPOOL2D, "maxunpool2d", 2, build_maxunpool2d},
    {AE_LAYER_UPSAMPLE2D, "upsample2d", 1, build_upsample2d},
    {AE_LAYER_CONV_TRANSPOSE2D, "conv_transpose2d", 1,
     build_conv_transpose2d},
    {AE_LAYER_RESHAPE, "reshape", 1, build_reshape},
    {AE_LAYER_BATCHNORM, "batchnorm", 1, build_batchnorm},
    {AE_LAYER_DROPOUT, "dropout", 1, build_dropout},
    {AE_LAYER_GAUSSIAN_SAMPLE, "gaussian_sample", 1, build_gaussian_sample},
};
enum { RIG_COUNT = sizeof rigs / sizeof rigs[0] };

/* Kind numbers the test looks for rows under: well past the last kind. */
enum { KIND_PROBE_MAX = 64 };

static ae_model *rig_model(const layer_rig *r)
{
    ae_model *m = NULL;
    ck_assert_ae_ok(ae_model_create(&m, IN_C, IN_H, IN_W, 1234));
    ck_assert_ae_ok(r->build(m));
    ck_assert_ae_ok(ae_model_validate(m));
    return m;
}

/* Values spread at least 1/(n+1) apart, in a shuffled order: no two inputs
 * of a pooling window are within a finite-difference step of each other,
 * so perturbing one never moves a maximum. */
static void fill_distinct(float *x, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++)
        x[i] = -1.0f + 2.0f * (float)(i + 1) / (float)(n + 1);
    uint32_t s = seed * 2654435761u + 1;
    for (size_t i = n - 1; i > 0; i--) {
        s = s * 1664525u + 1013904223u;
        size_t j = (size_t)(s >> 8) % (i + 1);
        float t = x[i];
        x[i] = x[j];
        x[j] = t;
    }
}

START_TEST(every_registered_kind_has_a_rig)
{
    size_t registered = 0;
    for (int k = 0; k < KIND_PROBE_MAX; k++) {
        const ae__layer_ops *ops = ae__layer_ops_for_kind((ae_layer_kind)k);
        if (ops == NULL)
            continue;
        registered++;
        ck_assert_msg((int)ops->kind == k,
                      "the table gives kind %d the row of kind %d (%s)", k,
                      (int)ops->kind, ops->name);
        int found = 0;
        for (size_t i = 0; i < RIG_COUNT; i++)
            found |= (int)rigs[i].kind == k;
        ck_assert_msg(found,
                      "layer kind %d (%s) is in the layer table but has no "
                      "rig in tests/test_layer_table.c: add one (see the "
                      "checklist in docs/ARCHITECTURE.md)", k, ops->name);
    }
    ck_assert_uint_eq(registered, RIG_COUNT);
}
END_TEST

START_TEST(every_rig_builds_its_kind)
{
    const layer_rig *r = &rigs[_i];
    ae_model *m = rig_model(r);
    ae_layer *l;
    ck_assert_ae_ok(ae_model_layer(m, r->tested, &l));
    ck_assert_msg(ae_layer_get_kind(l) == r->kind,
                  "%s rig: layer %zu is of kind %d", r->what, r->tested,
                  (int)ae_layer_get_kind(l));
    ck_assert_ptr_eq(l->ops, ae__layer_ops_for_kind(r->kind));
    ae_model_free(m);
}
END_TEST

/* ---- gradients ---------------------------------------------------------- */

/* L = sum_i r_i y_i for y the layer's output (before any activation) on
 * input x, through the layer's own forward. */
static double weighted_output(ae_layer *l, const float *x, const float *r,
                              float *y, size_t n_out, float *scratch)
{
    l->ops->forward(l, x, y, BATCH, scratch);
    double sum = 0.0;
    for (size_t i = 0; i < n_out; i++)
        sum += (double)r[i] * y[i];
    return sum;
}

/* Central difference of weighted_output in *v, restored after. */
static double numeric(ae_layer *l, float *v, const float *x, const float *r,
                      float *y, size_t n_out, float *scratch)
{
    const float step = 1e-3f;
    float saved = *v;
    *v = saved + step;
    double up = weighted_output(l, x, r, y, n_out, scratch);
    *v = saved - step;
    double down = weighted_output(l, x, r, y, n_out, scratch);
    *v = saved;
    return (up - down) / (2.0 * (double)step);
}

static void expect_close(const layer_rig *r, const char *what, size_t i,
                         double analytic, double num)
{
    double err = fabs(analytic - num) / fmax(1.0, fabs(num));
    ck_assert_msg(err <= 5e-3,
                  "%s layer: d/d%s[%zu] is %.6g by backward, %.6g by finite "
                  "differences", r->what, what, i, analytic, num);
}

START_TEST(gradients_match_finite_differences)
{
    const layer_rig *r = &rigs[_i];
    ae_model *m = rig_model(r);
    ae_layer *l;
    ck_assert_ae_ok(ae_model_layer(m, r->tested, &l));
    ae_activation act = l->act;
    float act_param = l->act_param;
    if (l->ops->has_activation) /* the ops row's passes are pre-activation */
        ck_assert_ae_ok(ae_layer_set_activation(l, AE_ACT_NONE, 0.0f));

    /* The layer's input: the model input through the layers before it, so
     * that a layer reading another's state (unpooling its partner's
     * positions) has it. */
    size_t n_in = BATCH * ae__shape_size(l->in);
    size_t n_out = BATCH * ae__shape_size(l->out);
    float *input = malloc(BATCH * IN_SIZE * sizeof *input);
    float *x = malloc(n_in * sizeof *x), *y = malloc(n_out * sizeof *y);
    float *rw = malloc(n_out * sizeof *rw), *dx = malloc(n_in * sizeof *dx);
    ck_assert(input && x && y && rw && dx);
    fill_distinct(input, BATCH * IN_SIZE, 7 + (uint32_t)_i);
    if (r->tested == 0) {
        memcpy(x, input, n_in * sizeof *x);
    } else {
        const float *before = NULL;
        ck_assert_ae_ok(ae__model_forward(m, 0, r->tested - 1, input, BATCH, 1,
                                          &before));
        memcpy(x, before, n_in * sizeof *x);
    }
    /* A pooling input must keep its spread; other inputs are re-spread
     * too, which costs nothing. */
    if (r->kind != AE_LAYER_MAXUNPOOL2D)
        fill_distinct(x, n_in, 11 + (uint32_t)_i);
    tu_fill_uniform(rw, n_out, -1.0f, 1.0f, 13 + (uint32_t)_i);

    size_t scratch_n = l->ops->scratch ? l->ops->scratch(l, BATCH) : 0;
    float *scratch = malloc((scratch_n + 1) * sizeof *scratch);
    ck_assert(scratch);
    if (l->ops->reserve)
        ck_assert_ae_ok(l->ops->reserve(l, BATCH));
    /* Random numbers of a training pass (the sampling layer's eps), drawn
     * once: every forward below reuses them, so the differences see one
     * function. */
    if (l->ops->draw) {
        ae__rng rng;
        ae__rng_seed(&rng, 23 + (uint64_t)_i, 1);
        l->ops->draw(l, &rng, BATCH);
    }

    l->ops->forward(l, x, y, BATCH, scratch);
    l->ops->backward(l, x, rw, dx, BATCH, scratch);
    if (l->ops->sums_channel_bias) /* the model's part of the pass */
        ae__activation_backward_channels(AE_ACT_NONE, 0.0f, NULL, rw,
                                         l->out.c,
                                         (size_t)l->out.h * (size_t)l->out.w,
                                         BATCH, l->grad_bias);
    size_t n_par = l->n_weights + l->n_bias;
    float *grads = malloc((n_par + 1) * sizeof *grads);
    ck_assert(grads);
    if (l->n_weights)
        memcpy(grads, l->grad_weights, l->n_weights * sizeof *grads);
    if (l->n_bias)
        memcpy(grads + l->n_weights, l->grad_bias, l->n_bias * sizeof *grads);

    /* Up to 40 weights and every bias, spread over the arrays. */
    size_t stride = l->n_weights > 40 ? l->n_weights / 40 : 1;
    for (size_t i = 0; i < l->n_weights; i += stride)
        expect_close(r, "W", i, grads[i],
                     numeric(l, &l->weights[i], x, rw, y, n_out, scratch));
    for (size_t i = 0; i < l->n_bias; i++)
        expect_close(r, "b", i, grads[l->n_weights + i],
                     numeric(l, &l->bias[i], x, rw, y, n_out, scratch));
    size_t xstride = n_in > 60 ? n_in / 60 : 1;
    for (size_t i = 0; i < n_in; i += xstride)
        expect_close(r, "x", i, dx[i],
                     numeric(l, &x[i], x, rw, y, n_out, scratch));

    if (l->ops->has_activation)
        ck_assert_ae_ok(ae_layer_set_activation(l, act, act_param));
    free(grads);
    free(scratch);
    free(input);
    free(x);
    free(y);
    free(rw);
    free(dx);
    ae_model_free(m);
}
END_TEST

/* ---- files ---------------------------------------------------------- */

static float *reconstruct(ae_model *m, const float *input)
{
    float *out = malloc(BATCH * IN_SIZE * sizeof *out);
    ck_assert(out);
    ck_assert_ae_ok(ae_model_reconstruct(m, input, BATCH, out));
    return out;
}

/* The layers' state besides their parameters (batch norm's running
 * statistics, dropout's generator) is the same in a and b. */
static void expect_same_state(const layer_rig *r, const ae_model *a,
                              const ae_model *b, const char *after)
{
    size_t n = ae__model_state_size(a);
    ck_assert_uint_eq(ae__model_state_size(b), n);
    if (n == 0)
        return;
    uint8_t *sa = malloc(n), *sb = malloc(n);
    ck_assert(sa && sb);
    ae__model_state_save(a, sa);
    ae__model_state_save(b, sb);
    ck_assert_msg(memcmp(sa, sb, n) == 0,
                  "%s rig: the layer state differs after %s", r->what,
                  after);
    free(sa);
    free(sb);
}

START_TEST(model_file_round_trip)
{
    const layer_rig *r = &rigs[_i];
    ae_model *m = rig_model(r);
    /* A training pass first, so that state which training moves (batch
     * norm's running statistics) is not at its initial values. */
    float warm[BATCH * IN_SIZE];
    fill_distinct(warm, BATCH * IN_SIZE, 23);
    const float *wy = NULL;
    ck_assert_ae_ok(ae_model_forward_train(m, warm, BATCH, &wy, NULL));
    size_t size = 0;
    ck_assert_ae_ok(ae_model_save_memory(m, NULL, 0, &size));
    void *buf = malloc(size);
    ck_assert(buf);
    ck_assert_ae_ok(ae_model_save_memory(m, buf, size, &size));
    ae_model *back = NULL;
    ck_assert_ae_ok(ae_model_load_memory(&back, buf, size));

    ck_assert_uint_eq(ae_model_layer_count(back), ae_model_layer_count(m));
    for (size_t i = 0; i < ae_model_layer_count(m); i++) {
        ae_layer *a, *b;
        ck_assert_ae_ok(ae_model_layer(m, i, &a));
        ck_assert_ae_ok(ae_model_layer(back, i, &b));
        ck_assert_int_eq(ae_layer_get_kind(a), ae_layer_get_kind(b));
        ck_assert_int_eq(ae_layer_activation(a), ae_layer_activation(b));
        ck_assert_uint_eq(ae_layer_output_size(a), ae_layer_output_size(b));
        ck_assert_int_eq(memcmp(a->cfg, b->cfg, sizeof a->cfg), 0);
    }
    size_t n = ae_model_param_count(m);
    ck_assert_uint_eq(ae_model_param_count(back), n);
    ck_assert(n == 0 || memcmp(ae__model_params(m), ae__model_params(back),
                               n * sizeof(float)) == 0);

    float input[BATCH * IN_SIZE];
    fill_distinct(input, BATCH * IN_SIZE, 17);
    float *y1 = reconstruct(m, input), *y2 = reconstruct(back, input);
    ck_assert_msg(memcmp(y1, y2, sizeof input) == 0,
                  "%s rig: the loaded model reconstructs other bits",
                  r->what);
    expect_same_state(r, m, back, "a model-file round trip");
    free(y1);
    free(y2);
    free(buf);
    ae_model_free(back);
    ae_model_free(m);
}
END_TEST

typedef struct training {
    ae_model *m;
    ae_optimizer *opt;
    ae_trainer *t;
} training;

static training training_start(const layer_rig *r)
{
    training tr = {rig_model(r), NULL, NULL};
    ck_assert_ae_ok(ae_optimizer_create_adam(&tr.opt, 1e-2f));
    ck_assert_ae_ok(ae_trainer_create(&tr.t, tr.m, tr.opt));
    ck_assert_ae_ok(ae_trainer_set(tr.t, AE_TRAIN_LOSS, AE_LOSS_BCE));
    return tr;
}

static void training_free(training *tr)
{
    ae_trainer_free(tr->t);
    ae_optimizer_free(tr->opt);
    ae_model_free(tr->m);
}

START_TEST(checkpoint_round_trip)
{
    const layer_rig *r = &rigs[_i];
    float input[BATCH * IN_SIZE];
    tu_fill_uniform(input, BATCH * IN_SIZE, 0.0f, 1.0f, 19);
    training a = training_start(r);
    float loss;
    ck_assert_ae_ok(ae_trainer_step(a.t, input, input, BATCH, &loss));
    const char *path = tu_tmp_path(r->what);
    ck_assert_ae_ok(ae_trainer_save_checkpoint(a.t, path));

    training b = training_start(r);
    ck_assert_ae_ok(ae_trainer_load_checkpoint(b.t, path));
    size_t n = ae_model_param_count(a.m);
    ck_assert(n == 0 || memcmp(ae__model_params(a.m), ae__model_params(b.m),
                               n * sizeof(float)) == 0);
    expect_same_state(r, a.m, b.m, "a checkpoint round trip");
    float la, lb;
    ck_assert_ae_ok(ae_trainer_step(a.t, input, input, BATCH, &la));
    ck_assert_ae_ok(ae_trainer_step(b.t, input, input, BATCH, &lb));
    ck_assert_msg(memcmp(&la, &lb, sizeof la) == 0 &&
                      (n == 0 || memcmp(ae__model_params(a.m),
                                        ae__model_params(b.m),
                                        n * sizeof(float)) == 0),
                  "%s rig: the restored trainer's next step differs",
                  r->what);
    training_free(&a);
    training_free(&b);
}
END_TEST

/* ---- the allocation-failure walk --------------------------------------- */

/* The parameter count must be what the layers hold: a failed append that
 * grew the arrays but not the layer list would show here. */
static void expect_consistent(const layer_rig *r, ae_model *m, long at)
{
    size_t sum = 0;
    for (size_t i = 0; i < ae_model_layer_count(m); i++) {
        ae_layer *l;
        ck_assert_ae_ok(ae_model_layer(m, i, &l));
        sum += ae_layer_weight_count(l) + ae_layer_bias_count(l);
    }
    ck_assert_msg(sum == ae_model_param_count(m),
                  "%s rig, allocation %ld failed: %zu parameters counted, "
                  "the layers hold %zu", r->what, at,
                  ae_model_param_count(m), sum);
}

START_TEST(building_survives_every_failed_allocation)
{
    const layer_rig *r = &rigs[_i];
    ck_assert_ae_ok(ae_set_allocator(tu_walk_alloc, tu_walk_free, NULL));
    long points = 0;
    for (long at = 1;; at++) {
        tu_walk_calls = 0;
        tu_walk_live = 0;
        tu_walk_sticky = 1; /* memory stays short */
        tu_walk_fail_at = at;
        ae_model *m = NULL;
        ae_status s = ae_model_create(&m, IN_C, IN_H, IN_W, 1234);
        if (s == AE_OK) {
            s = r->build(m);
            if (s != AE_OK)
                expect_consistent(r, m, at);
        }
        long reached = tu_walk_calls;
        ae_model_free(m);
        ck_assert_msg(tu_walk_live == 0,
                      "%s rig: %ld blocks leaked when allocation %ld failed",
                      r->what, (long)tu_walk_live, at);
        if (reached < at) { /* nothing failed: the walk is over */
            ck_assert_ae_ok(s);
            break;
        }
        ck_assert_msg(s == AE_ERR_NO_MEMORY,
                      "%s rig: allocation %ld failed and building returned "
                      "%s (%s)", r->what, at, ae_status_name(s),
                      ae_last_error());
        ck_assert_msg(ae_last_error()[0] != '\0', "no detail message");
        points++;
    }
    tu_walk_fail_at = 0;
    ck_assert_ae_ok(ae_set_allocator(NULL, NULL, NULL));
    ck_assert_msg(points > 0, "%s rig: building allocated nothing",
                  r->what);
    printf("layer table: building the %s rig has %ld allocation points\n",
           r->what, points);
}
END_TEST

static Suite *layer_table_suite(void)
{
    Suite *s = suite_create("layer_table");
    TCase *tc = tcase_create("every kind");
    tcase_add_test(tc, every_registered_kind_has_a_rig);
    tcase_add_loop_test(tc, every_rig_builds_its_kind, 0, RIG_COUNT);
    tcase_add_loop_test(tc, gradients_match_finite_differences, 0,
                        RIG_COUNT);
    tcase_add_loop_test(tc, model_file_round_trip, 0, RIG_COUNT);
    tcase_add_loop_test(tc, checkpoint_round_trip, 0, RIG_COUNT);
    tcase_add_loop_test(tc, building_survives_every_failed_allocation, 0,
                        RIG_COUNT);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(layer_table_suite());
}

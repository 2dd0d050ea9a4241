/* test_dropout.c - the dropout layer: the share of values dropped and the
 * scaling of the kept ones, the identity in evaluation, the backward pass
 * through the forward's mask, determinism by seed (and a new mask each
 * committed step), the generator's position kept by model files, and a
 * resumed fit that goes on bit for bit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/model.h"
#include "testutil.h"

enum { UNITS = 1000, BATCH = 20 };

/* A model whose layer 0 is dropout at rate p over UNITS inputs. */
static ae_model *drop_model(float p, uint64_t seed, ae_layer **l)
{
    ae_model *m = NULL;
    ck_assert_ae_ok(ae_model_create(&m, UNITS, 1, 1, seed));
    ck_assert_ae_ok(ae_model_add_dropout(m, AE_ENCODER, p));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, UNITS, AE_ACT_NONE));
    ck_assert_ae_ok(ae_model_layer(m, 0, l));
    ck_assert_int_eq(ae_layer_get_kind(*l), AE_LAYER_DROPOUT);
    return m;
}

static float *ones(size_t n)
{
    float *x = malloc(n * sizeof *x);
    ck_assert(x);
    for (size_t i = 0; i < n; i++)
        x[i] = 1.0f + (float)(i % 7) / 8.0f;
    return x;
}

/* Each value kept with probability 1 - p and scaled by 1 / (1 - p): over
 * 20,000 values the dropped share is within 4 standard deviations of p,
 * and every kept value is exactly x / (1 - p) rounded once. */
START_TEST(rate_and_scaling)
{
    const float rates[] = {0.0f, 0.1f, 0.5f, 0.9f};
    const float p = rates[_i];
    ae_layer *l;
    ae_model *m = drop_model(p, 3, &l);
    const size_t n = (size_t)UNITS * BATCH;
    float *x = ones(n);
    const float *y = NULL;
    ck_assert_ae_ok(ae__model_forward(m, 0, 0, x, BATCH, 1, &y));
    size_t dropped = 0;
    const float scale = 1.0f / (1.0f - p);
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (y[i] == 0.0f)
            dropped++;
        else
            ck_assert_msg(y[i] == x[i] * scale, "y[%zu] = %.9g, x / (1 - p) "
                          "= %.9g", i, (double)y[i], (double)(x[i] * scale));
        sum += y[i] - x[i];
    }
    double share = (double)dropped / (double)n;
    double sd = sqrt(p * (1.0 - p) / (double)n);
    printf("dropout p = %.1f: dropped %.4f of %zu values\n", (double)p,
           share, n);
    ck_assert_msg(fabs(share - p) <= 4.0 * sd + 1e-12,
                  "p = %g: dropped %.5f of the values", (double)p, share);
    /* Inverted: the mean is kept, to the same sampling error. */
    ck_assert_double_le(fabs(sum / (double)n), 4.5 * sd * scale * 1.5 + 1e-6);
    free(x);
    ae_model_free(m);
}
END_TEST

/* Evaluation form: the identity, in every call that only reads, and in
 * training passes of a model in evaluation mode. */
START_TEST(identity_in_evaluation)
{
    ae_layer *l;
    ae_model *m = drop_model(0.5f, 3, &l);
    const size_t n = (size_t)UNITS * BATCH;
    float *x = ones(n), *code = malloc(n * sizeof *code);
    ck_assert(code);
    ck_assert_ae_ok(ae_model_encode(m, x, BATCH, code));
    ck_assert_int_eq(memcmp(code, x, n * sizeof(float)), 0);
    ck_assert_ae_ok(ae_model_activations(m, 0, x, BATCH, code));
    ck_assert_int_eq(memcmp(code, x, n * sizeof(float)), 0);
    ck_assert_ae_ok(ae_model_set_training(m, 0));
    const float *y = NULL, *c = NULL;
    ck_assert_ae_ok(ae_model_forward_train(m, x, BATCH, &y, &c));
    ck_assert_int_eq(memcmp(c, x, n * sizeof(float)), 0);
    ck_assert_ae_ok(ae_model_set_training(m, 1));
    ck_assert_ae_ok(ae_model_forward_train(m, x, BATCH, &y, &c));
    ck_assert_int_ne(memcmp(c, x, n * sizeof(float)), 0);
    free(x);
    free(code);
    ae_model_free(m);
}
END_TEST

/* Backward routes the gradient through the forward's mask, scaled. */
START_TEST(backward_uses_the_forward_mask)
{
    ae_layer *l;
    ae_model *m = drop_model(0.3f, 11, &l);
    const size_t n = (size_t)UNITS * BATCH;
    float *x = ones(n), *dy = malloc(n * sizeof *dy);
    float *dx = malloc(n * sizeof *dx);
    ck_assert(dy && dx);
    tu_fill_uniform(dy, n, -1.0f, 1.0f, 5);
    const float *y = NULL;
    ck_assert_ae_ok(ae__model_forward(m, 0, 0, x, BATCH, 1, &y));
    l->ops->backward(l, x, dy, dx, BATCH, NULL);
    const float scale = 1.0f / 0.7f;
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(y[i] == 0.0f ? dx[i] == 0.0f : dx[i] == dy[i] * scale,
                      "dx[%zu] = %g for y %g, dy %g", i, (double)dx[i],
                      (double)y[i], (double)dy[i]);
    free(x);
    free(dy);
    free(dx);
    ae_model_free(m);
}
END_TEST

static float *masked(ae_model *m, const float *x)
{
    const float *y = NULL, *code = NULL;
    ck_assert_ae_ok(ae_model_forward_train(m, x, BATCH, &y, &code));
    float *out = malloc((size_t)UNITS * BATCH * sizeof *out);
    ck_assert(out);
    memcpy(out, code, (size_t)UNITS * BATCH * sizeof *out);
    return out;
}

/* The same seed gives the same masks; another seed, or the next step,
 * others; and a model file keeps the position. */
START_TEST(determinism_by_seed)
{
    ae_layer *l;
    ae_model *a = drop_model(0.5f, 7, &l), *b = drop_model(0.5f, 7, &l);
    ae_model *c = drop_model(0.5f, 8, &l);
    const size_t bytes = (size_t)UNITS * BATCH * sizeof(float);
    float *x = ones((size_t)UNITS * BATCH);
    float *a1 = masked(a, x), *b1 = masked(b, x), *c1 = masked(c, x);
    ck_assert_int_eq(memcmp(a1, b1, bytes), 0);
    ck_assert_int_ne(memcmp(a1, c1, bytes), 0);

    /* Saved after one step, loaded: the next masks are the original's. */
    size_t size = 0;
    ck_assert_ae_ok(ae_model_save_memory(a, NULL, 0, &size));
    void *buf = malloc(size);
    ck_assert(buf);
    ck_assert_ae_ok(ae_model_save_memory(a, buf, size, &size));
    ck_assert_uint_eq(((uint8_t *)buf)[8], 2); /* format version 2 */
    ae_model *back = NULL;
    ck_assert_ae_ok(ae_model_load_memory(&back, buf, size));
    float *a2 = masked(a, x), *back2 = masked(back, x), *b2 = masked(b, x);
    ck_assert_int_ne(memcmp(a1, a2, bytes), 0); /* a new mask each step */
    ck_assert_int_eq(memcmp(a2, back2, bytes), 0);
    ck_assert_int_eq(memcmp(a2, b2, bytes), 0);
    /* The images of a batch get different masks. */
    ck_assert_int_ne(memcmp(a2, a2 + UNITS, UNITS * sizeof(float)), 0);
    free(buf);
    free(x);
    free(a1);
    free(b1);
    free(c1);
    free(a2);
    free(back2);
    free(b2);
    ae_model_free(a);
    ae_model_free(b);
    ae_model_free(c);
    ae_model_free(back);
}
END_TEST

/* A fit interrupted by a checkpoint and resumed gives the weights of an
 * unbroken fit bit for bit: the masks after the resume are the ones the
 * unbroken fit drew (and batch norm's statistics go on as they were). */
typedef struct stop_at {
    size_t calls, stop;
    ae_trainer *t;
    const char *path;
} stop_at;

static int stop_after(const ae_progress *p, void *user)
{
    stop_at *s = user;
    (void)p;
    if (++s->calls == s->stop) {
        ck_assert_ae_ok(ae_trainer_save_checkpoint(s->t, s->path));
        return 1;
    }
    return 0;
}

static void build(ae_model **m, ae_optimizer **opt, ae_trainer **t)
{
    ck_assert_ae_ok(ae_model_create(m, 1, 4, 4, 99));
    ck_assert_ae_ok(ae_model_add_dense(*m, AE_ENCODER, 8, AE_ACT_NONE));
    ck_assert_ae_ok(ae_model_add_batchnorm(*m, AE_ENCODER, 0.1f, 1e-5f,
                                           AE_ACT_RELU));
    ck_assert_ae_ok(ae_model_add_dropout(*m, AE_ENCODER, 0.25f));
    ck_assert_ae_ok(ae_model_add_dense(*m, AE_DECODER, 16, AE_ACT_SIGMOID));
    ck_assert_ae_ok(ae_optimizer_create_adam(opt, 1e-2f));
    ck_assert_ae_ok(ae_trainer_create(t, *m, *opt));
    ck_assert_ae_ok(ae_trainer_set(*t, AE_TRAIN_BATCH_SIZE, 8));
}

START_TEST(a_resumed_fit_is_bit_identical)
{
    enum { N = 40 };
    uint8_t *px = malloc(N * 16);
    ck_assert(px);
    for (size_t i = 0; i < N * 16; i++)
        px[i] = (uint8_t)((i * 37 + i / 16 * 11) % 256);
    size_t size = 0;
    uint8_t *idx = tu_idx_images(N, 4, 4, px, &size);
    ae_dataset *ds = NULL;
    ck_assert_ae_ok(ae_dataset_load_idx_memory(&ds, idx, size, NULL, 0));

    ae_model *m1, *m2, *m3;
    ae_optimizer *o1, *o2, *o3;
    ae_trainer *t1, *t2, *t3;
    build(&m1, &o1, &t1);
    ck_assert_ae_ok(ae_trainer_fit(t1, ds, NULL, 3, NULL, NULL));

    build(&m2, &o2, &t2);
    stop_at st = {0, 7, t2, tu_tmp_path("dropout_resume.aeckpt")};
    ck_assert_ae_ok(ae_trainer_fit(t2, ds, NULL, 3, stop_after, &st));
    build(&m3, &o3, &t3);
    ck_assert_ae_ok(ae_trainer_load_checkpoint(t3, st.path));
    ck_assert_ae_ok(ae_trainer_fit(t3, ds, NULL, 3, NULL, NULL));

    size_t n = ae_model_param_count(m1);
    ck_assert_int_eq(memcmp(ae__model_params(m1), ae__model_params(m3),
                            n * sizeof(float)), 0);
    size_t sn = ae__model_state_size(m1);
    ck_assert_uint_eq(sn, 8 * 8 + 8);
    uint8_t *s1 = malloc(sn), *s3 = malloc(sn);
    ck_assert(s1 && s3);
    ae__model_state_save(m1, s1);
    ae__model_state_save(m3, s3);
    ck_assert_int_eq(memcmp(s1, s3, sn), 0);
    /* 3 epochs of 5 batches: the counter is at 15 steps. */
    ck_assert_uint_eq(s1[64], 15);
    free(s1);
    free(s3);
    ae_trainer_free(t1);
    ae_trainer_free(t2);
    ae_trainer_free(t3);
    ae_optimizer_free(o1);
    ae_optimizer_free(o2);
    ae_optimizer_free(o3);
    ae_model_free(m1);
    ae_model_free(m2);
    ae_model_free(m3);
    ae_dataset_free(ds);
    free(idx);
    free(px);
}
END_TEST

static Suite *dropout_suite(void)
{
    Suite *s = suite_create("dropout");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, rate_and_scaling, 0, 4);
    tcase_add_test(tc, identity_in_evaluation);
    tcase_add_test(tc, backward_uses_the_forward_mask);
    tcase_add_test(tc, determinism_by_seed);
    tcase_add_test(tc, a_resumed_fit_is_bit_identical);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(dropout_suite());
}

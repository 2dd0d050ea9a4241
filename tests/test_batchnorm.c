/* test_batchnorm.c - the batch normalisation layer: PyTorch parity of
 * BatchNorm1d and BatchNorm2d, forward and backward, in training and in
 * evaluation (tests/reference/batchnorm_reference.py made the fixture);
 * finite differences of the whole model through the batch statistics; the
 * running statistics' update; the mode rule (which calls normalise with
 * which statistics); and the batch of one value per channel. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "nn/model.h"
#include "reference/batchnorm_fixture.h"
#include "testutil.h"

/* v[i] = ((i * mul + add) % mod - off) / scale, as ramp() of the script:
 * exact in float. */
static void bn_ramp(float *v, size_t n, int mul, int add, int mod, int off,
                    float scale)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (float)((int)((i * (size_t)mul + (size_t)add) % (size_t)mod) -
                       off) / scale;
}

/* The largest parity error seen, over every case: the closing number. */
static double worst_parity = 0.0;

static void expect_near(const char *what, const float *got,
                        const double *want, size_t n)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - want[i]);
        worst = fmax(worst, err / fmax(1.0, fabs(want[i])));
        ck_assert_msg(err <= 1e-6 * fmax(1.0, fabs(want[i])),
                      "%s[%zu]: %.9g, PyTorch %.9g", what, i,
                      (double)got[i], want[i]);
    }
    worst_parity = fmax(worst_parity, worst);
    printf("batchnorm parity: %-18s max error %.3g\n", what, worst);
}

typedef struct bn_case {
    const char *name;
    int n, c, h, w;
    const double *y[2], *dx[2], *dgamma[2], *dbeta[2]; /* [train, eval] */
    const double *run_mean, *run_var; /* after the training step */
} bn_case;

static const bn_case cases[] = {
    {"bn1d", 4, 3, 1, 1,
     {bn1d_train_y, bn1d_eval_y}, {bn1d_train_dx, bn1d_eval_dx},
     {bn1d_train_dgamma, bn1d_eval_dgamma},
     {bn1d_train_dbeta, bn1d_eval_dbeta},
     bn1d_train_running_mean, bn1d_train_running_var},
    {"bn2d", 2, 3, 3, 4,
     {bn2d_train_y, bn2d_eval_y}, {bn2d_train_dx, bn2d_eval_dx},
     {bn2d_train_dgamma, bn2d_eval_dgamma},
     {bn2d_train_dbeta, bn2d_eval_dbeta},
     bn2d_train_running_mean, bn2d_train_running_var},
};

/* A model whose layer 0 is the batch norm under test. */
static ae_model *bn_model(const bn_case *k, ae_layer **l)
{
    ae_model *m = NULL;
    ck_assert_ae_ok(ae_model_create(&m, k->c, k->h, k->w, 5));
    ck_assert_ae_ok(ae_model_add_batchnorm(m, AE_ENCODER, 0.1f, 1e-5f,
                                           AE_ACT_NONE));
    ck_assert_ae_ok(ae_model_layer(m, 0, l));
    ck_assert_int_eq(ae_layer_get_kind(*l), AE_LAYER_BATCHNORM);
    return m;
}

START_TEST(matches_pytorch)
{
    const bn_case *k = &cases[_i / 2];
    const int eval = _i % 2;
    const size_t n = (size_t)k->n * k->c * k->h * k->w, c = (size_t)k->c;
    float *x = malloc(n * sizeof *x), *dy = malloc(n * sizeof *dy);
    float *dx = malloc(n * sizeof *dx);
    float gamma[8], beta[8], rm[8], rv[8];
    ck_assert(x && dy && dx && c <= 8);
    bn_ramp(x, n, 7, 3, 11, 5, 4.0f);
    bn_ramp(dy, n, 5, 2, 13, 6, 8.0f);
    bn_ramp(gamma, c, 3, 1, 5, -2, 4.0f);
    bn_ramp(beta, c, 1, 0, 3, 1, 2.0f);
    bn_ramp(rm, c, 1, 1, 4, 2, 8.0f);
    bn_ramp(rv, c, 3, 2, 5, -1, 4.0f);

    ae_layer *l;
    ae_model *m = bn_model(k, &l);
    ck_assert_ae_ok(ae_layer_set_weights(l, gamma, c));
    ck_assert_ae_ok(ae_layer_set_bias(l, beta, c));
    size_t nr = 0;
    float *running = l->ops->running(l, &nr);
    ck_assert_uint_eq(nr, 2 * c);
    if (eval) {
        memcpy(running, rm, c * sizeof(float));
        memcpy(running + c, rv, c * sizeof(float));
    }
    const float *y = NULL;
    ck_assert_ae_ok(ae__model_forward(m, 0, 0, x, (size_t)k->n, !eval, &y));
    char what[64];
    snprintf(what, sizeof what, "%s %s y", k->name, eval ? "eval" : "train");
    expect_near(what, y, k->y[eval], n);
    l->ops->backward(l, x, dy, dx, (size_t)k->n, NULL);
    snprintf(what, sizeof what, "%s %s dx", k->name, eval ? "eval" : "train");
    expect_near(what, dx, k->dx[eval], n);
    snprintf(what, sizeof what, "%s %s dgamma", k->name,
             eval ? "eval" : "train");
    expect_near(what, l->grad_weights, k->dgamma[eval], c);
    snprintf(what, sizeof what, "%s %s dbeta", k->name,
             eval ? "eval" : "train");
    expect_near(what, l->grad_bias, k->dbeta[eval], c);

    ae__model_commit(m);
    if (eval) { /* an evaluation pass leaves the statistics alone */
        ck_assert_int_eq(memcmp(running, rm, c * sizeof(float)), 0);
        ck_assert_int_eq(memcmp(running + c, rv, c * sizeof(float)), 0);
    } else {
        snprintf(what, sizeof what, "%s running mean", k->name);
        expect_near(what, running, k->run_mean, c);
        snprintf(what, sizeof what, "%s running var", k->name);
        expect_near(what, running + c, k->run_var, c);
    }
    printf("batchnorm parity: worst so far %.3g\n", worst_parity);
    free(x);
    free(dy);
    free(dx);
    ae_model_free(m);
}
END_TEST

/* Every parameter's gradient, and the input's, through the batch
 * statistics of a dense BatchNorm1d between two dense layers. */
START_TEST(gradients_through_batch_statistics)
{
    ae_model *m = NULL;
    ck_assert_ae_ok(ae_model_create(&m, 1, 3, 3, 8));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 5, AE_ACT_NONE));
    ck_assert_ae_ok(ae_model_add_batchnorm(m, AE_ENCODER, 0.1f, 1e-5f,
                                           AE_ACT_TANH));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 9, AE_ACT_NONE));
    ae_layer *l;
    ck_assert_ae_ok(ae_model_layer(m, 1, &l));
    float g[5] = {0.5f, 1.5f, -1.0f, 2.0f, 0.75f};
    float b[5] = {0.1f, -0.2f, 0.3f, 0.0f, -0.4f};
    ck_assert_ae_ok(ae_layer_set_weights(l, g, 5));
    ck_assert_ae_ok(ae_layer_set_bias(l, b, 5));
    gc_assert_model(m, 6, -1.0f, 1.0f, 0, 31, 5e-3);

    /* The input's gradient, which the batch statistics couple across the
     * batch: every image's dx depends on every other image. */
    enum { B = 4, N = 5 };
    float x[B * N], r[B * N], dx[B * N], y[B * N];
    tu_fill_uniform(x, B * N, -2.0f, 2.0f, 3);
    tu_fill_uniform(r, B * N, -1.0f, 1.0f, 4);
    ae_model *one = NULL;
    ck_assert_ae_ok(ae_model_create(&one, N, 1, 1, 8));
    ck_assert_ae_ok(ae_model_add_batchnorm(one, AE_ENCODER, 0.1f, 1e-5f,
                                           AE_ACT_NONE));
    ck_assert_ae_ok(ae_model_layer(one, 0, &l));
    ck_assert_ae_ok(ae_layer_set_weights(l, g, 5));
    const float *out;
    ck_assert_ae_ok(ae__model_forward(one, 0, 0, x, B, 1, &out));
    l->ops->backward(l, x, r, dx, B, NULL);
    for (size_t i = 0; i < B * N; i++) {
        const float step = 1e-2f, saved = x[i];
        double sum[2];
        for (int sgn = 0; sgn < 2; sgn++) {
            x[i] = saved + (sgn ? -step : step);
            ck_assert_ae_ok(ae__model_forward(one, 0, 0, x, B, 1, &out));
            memcpy(y, out, sizeof y);
            sum[sgn] = 0.0;
            for (size_t k = 0; k < B * N; k++)
                sum[sgn] += (double)r[k] * y[k];
        }
        x[i] = saved;
        double num = (sum[0] - sum[1]) / (2.0 * step);
        ck_assert_msg(fabs(num - dx[i]) <= 2e-3 * fmax(1.0, fabs(num)),
                      "dx[%zu]: backward %.6g, finite differences %.6g", i,
                      (double)dx[i], num);
    }
    ae_model_free(one);
    ae_model_free(m);
}
END_TEST

/* A dense BatchNorm1d autoencoder of 4 inputs, its trainer. */
typedef struct bn_setup {
    ae_model *m;
    ae_optimizer *opt;
    ae_trainer *t;
    ae_layer *bn;
} bn_setup;

static bn_setup setup(void)
{
    bn_setup s = {0};
    ck_assert_ae_ok(ae_model_create(&s.m, 1, 2, 2, 21));
    ck_assert_ae_ok(ae_model_add_dense(s.m, AE_ENCODER, 3, AE_ACT_NONE));
    ck_assert_ae_ok(ae_model_add_batchnorm(s.m, AE_ENCODER, 0.1f, 1e-5f,
                                           AE_ACT_RELU));
    ck_assert_ae_ok(ae_model_add_dense(s.m, AE_DECODER, 4, AE_ACT_SIGMOID));
    ck_assert_ae_ok(ae_model_layer(s.m, 1, &s.bn));
    ck_assert_ae_ok(ae_optimizer_create_adam(&s.opt, 1e-2f));
    ck_assert_ae_ok(ae_trainer_create(&s.t, s.m, s.opt));
    return s;
}

static void teardown(bn_setup *s)
{
    ae_trainer_free(s->t);
    ae_optimizer_free(s->opt);
    ae_model_free(s->m);
}

static void running_copy(ae_layer *l, float out[6])
{
    size_t n;
    memcpy(out, l->ops->running(l, &n), 6 * sizeof(float));
}

/* Which calls move the running statistics, and which read them. */
START_TEST(the_mode_rule)
{
    bn_setup s = setup();
    ck_assert_int_eq(ae_model_training(s.m), 1);
    float x[5 * 4], y[5 * 4], before[6], after[6];
    tu_fill_uniform(x, 5 * 4, 0.0f, 1.0f, 9);
    running_copy(s.bn, before);
    ck_assert_float_eq(before[0], 0.0f);
    ck_assert_float_eq(before[3], 1.0f);

    /* Forward-only calls and evaluation read them and leave them. */
    ck_assert_ae_ok(ae_model_reconstruct(s.m, x, 5, y));
    ck_assert_ae_ok(ae_model_reconstruct(s.m, x, 1, y)); /* batch 1: fine */
    running_copy(s.bn, after);
    ck_assert_int_eq(memcmp(before, after, sizeof after), 0);

    /* A step moves them by momentum 0.1 towards the batch's statistics:
     * the dense layer's outputs, computed here from the public calls. */
    float code_in[5 * 3];
    ck_assert_ae_ok(ae_model_activations(s.m, 0, x, 5, code_in));
    double mean[3] = {0}, var[3] = {0};
    for (int c = 0; c < 3; c++) {
        for (int b = 0; b < 5; b++)
            mean[c] += code_in[b * 3 + c] / 5.0;
        for (int b = 0; b < 5; b++)
            var[c] += pow(code_in[b * 3 + c] - mean[c], 2) / 4.0;
    }
    ck_assert_ae_ok(ae_trainer_step(s.t, x, NULL, 5, NULL));
    running_copy(s.bn, after);
    for (int c = 0; c < 3; c++) {
        ck_assert_double_eq_tol(after[c], 0.1 * mean[c], 1e-6);
        ck_assert_double_eq_tol(after[3 + c], 0.9 + 0.1 * var[c], 1e-6);
    }

    /* Reconstructing normalises with them and moves nothing. */
    memcpy(before, after, sizeof after);
    float yr[5 * 4], yr2[5 * 4];
    ck_assert_ae_ok(ae_model_reconstruct(s.m, x, 5, yr));
    ck_assert_ae_ok(ae_model_reconstruct(s.m, x + 4, 1, yr2));
    /* Evaluation form: an image's reconstruction does not depend on the
     * other images of the call. */
    ck_assert_int_eq(memcmp(yr + 4, yr2, 4 * sizeof(float)), 0);
    running_copy(s.bn, after);
    ck_assert_int_eq(memcmp(before, after, sizeof after), 0);

    /* In evaluation mode a step trains with the running statistics
     * frozen, and a batch of one is no longer refused. */
    ck_assert_ae_ok(ae_model_set_training(s.m, 0));
    ck_assert_int_eq(ae_model_training(s.m), 0);
    float *w0 = tu_model_params(s.m);
    ck_assert_ae_ok(ae_trainer_step(s.t, x, NULL, 1, NULL));
    float *w1 = tu_model_params(s.m);
    ck_assert_int_ne(memcmp(w0, w1, ae_model_param_count(s.m) *
                                        sizeof(float)), 0);
    running_copy(s.bn, after);
    ck_assert_int_eq(memcmp(before, after, sizeof after), 0);
    free(w0);
    free(w1);

    /* ae_model_forward_train moves them at once, as PyTorch's forward. */
    ck_assert_ae_ok(ae_model_set_training(s.m, 1));
    const float *out = NULL;
    ck_assert_ae_ok(ae_model_forward_train(s.m, x, 5, &out, NULL));
    running_copy(s.bn, after);
    ck_assert_int_ne(memcmp(before, after, sizeof after), 0);
    teardown(&s);
}
END_TEST

/* A failed step leaves the statistics as it leaves the weights. */
START_TEST(a_failed_step_moves_nothing)
{
    bn_setup s = setup();
    float x[5 * 4], before[6], after[6];
    tu_fill_uniform(x, 5 * 4, 0.0f, 1.0f, 9);
    /* A decoder of huge weights overflows the output: an infinite loss,
     * found after the forward pass has run the batch norm. */
    ae_layer *dec;
    ck_assert_ae_ok(ae_model_layer(s.m, 2, &dec));
    ck_assert_ae_ok(ae_layer_set_activation(dec, AE_ACT_NONE, 0.0f));
    float huge[12];
    for (int i = 0; i < 12; i++)
        huge[i] = 3e38f;
    ck_assert_ae_ok(ae_layer_set_weights(dec, huge, 12));
    running_copy(s.bn, before);
    float *w0 = tu_model_params(s.m);
    ae_status st = ae_trainer_step(s.t, x, x, 5, NULL);
    ck_assert_int_eq(st, AE_ERR_NOT_FINITE);
    running_copy(s.bn, after);
    ck_assert_int_eq(memcmp(before, after, sizeof after), 0);
    float *w1 = tu_model_params(s.m);
    ck_assert_int_eq(memcmp(w0, w1, ae_model_param_count(s.m) *
                                        sizeof(float)), 0);
    free(w0);
    free(w1);
    teardown(&s);
}
END_TEST

/* Training on one value per channel has no variance: refused, naming the
 * layer, with nothing changed; a 2-D batch norm's one image has H x W. */
START_TEST(one_value_per_channel_is_refused)
{
    bn_setup s = setup();
    float x[4], before[6], after[6];
    tu_fill_uniform(x, 4, 0.0f, 1.0f, 2);
    running_copy(s.bn, before);
    float *w0 = tu_model_params(s.m);
    ck_assert_int_eq(ae_trainer_step(s.t, x, NULL, 1, NULL),
                     AE_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "layer 1 (batchnorm)"));
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "one value per channel"));
    const float *out = (const float *)x;
    ck_assert_int_eq(ae_model_forward_train(s.m, x, 1, &out, NULL),
                     AE_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(out);
    running_copy(s.bn, after);
    ck_assert_int_eq(memcmp(before, after, sizeof after), 0);
    float *w1 = tu_model_params(s.m);
    ck_assert_int_eq(memcmp(w0, w1, ae_model_param_count(s.m) *
                                        sizeof(float)), 0);
    free(w0);
    free(w1);
    teardown(&s);

    ae_model *m = NULL;
    ck_assert_ae_ok(ae_model_create(&m, 2, 2, 2, 1));
    ck_assert_ae_ok(ae_model_add_batchnorm(m, AE_ENCODER, 0.1f, 1e-5f,
                                           AE_ACT_NONE));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 8, AE_ACT_NONE));
    float im[8];
    tu_fill_uniform(im, 8, 0.0f, 1.0f, 3);
    ck_assert_ae_ok(ae_model_forward_train(m, im, 1, &out, NULL));
    ae_model_free(m);
}
END_TEST

/* A fit whose epochs would end on a batch of one image (5 images in
 * batches of 2) is refused before its first step, not in its middle. */
START_TEST(a_fit_ending_on_one_image_is_refused_up_front)
{
    bn_setup s = setup();
    uint8_t px[5 * 4];
    for (int i = 0; i < 5 * 4; i++)
        px[i] = (uint8_t)(i * 13);
    size_t size;
    uint8_t *idx = tu_idx_images(5, 2, 2, px, &size);
    ae_dataset *ds = NULL;
    ck_assert_ae_ok(ae_dataset_load_idx_memory(&ds, idx, size, NULL, 0));
    ck_assert_ae_ok(ae_trainer_set(s.t, AE_TRAIN_BATCH_SIZE, 2));
    float *w0 = tu_model_params(s.m);
    ck_assert_ae_status(ae_trainer_fit(s.t, ds, NULL, 1, NULL, NULL),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "smallest batch"));
    float *w1 = tu_model_params(s.m);
    ck_assert_int_eq(memcmp(w0, w1, ae_model_param_count(s.m) *
                                        sizeof(float)), 0);
    /* Batches of 5, or of 4 and 1 in evaluation mode: fine. */
    ck_assert_ae_ok(ae_trainer_set(s.t, AE_TRAIN_BATCH_SIZE, 5));
    ck_assert_ae_ok(ae_trainer_fit(s.t, ds, NULL, 1, NULL, NULL));
    ck_assert_ae_ok(ae_trainer_set(s.t, AE_TRAIN_BATCH_SIZE, 4));
    ck_assert_ae_ok(ae_model_set_training(s.m, 0));
    ck_assert_ae_ok(ae_trainer_fit(s.t, ds, NULL, 1, NULL, NULL));
    free(w0);
    free(w1);
    ae_dataset_free(ds);
    free(idx);
    teardown(&s);
}
END_TEST

static Suite *batchnorm_suite(void)
{
    Suite *s = suite_create("batchnorm");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, matches_pytorch, 0, 4);
    tcase_add_test(tc, gradients_through_batch_statistics);
    tcase_add_test(tc, the_mode_rule);
    tcase_add_test(tc, a_failed_step_moves_nothing);
    tcase_add_test(tc, one_value_per_channel_is_refused);
    tcase_add_test(tc, a_fit_ending_on_one_image_is_refused_up_front);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(batchnorm_suite());
}

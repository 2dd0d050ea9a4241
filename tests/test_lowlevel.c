/* test_lowlevel.c - training step by step through the public header alone:
 * the library's losses through the low-level calls give ae_trainer_step's
 * bits, a loss written here (a total-variation term on the output and a
 * contractive-style penalty on the code) has the gradients finite
 * differences give, gradients accumulate, and calls in the wrong order are
 * refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

enum { SIDE = 8, PIX = SIDE * SIDE, CODE = 5, BATCH = 6 };

static ae_model *small_model(ae_activation out_act)
{
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 1, SIDE, SIDE, 77));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 16, AE_ACT_RELU));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, CODE, AE_ACT_TANH));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 16, AE_ACT_RELU));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, PIX, out_act));
    return m;
}

/* ---- the library's losses, by hand ----------------------------------- */

typedef struct setting {
    ae_loss loss;
    ae_activation out;
    float l1; /* on the code */
} setting;

static const setting settings[] = {
    {AE_LOSS_MSE, AE_ACT_SIGMOID, 0.0f},
    {AE_LOSS_BCE, AE_ACT_SIGMOID, 0.0f}, /* fused: pre-activation gradient */
    {AE_LOSS_MSE, AE_ACT_NONE, 1e-2f},   /* L1 on the code */
    {AE_LOSS_BCE, AE_ACT_SIGMOID, 3e-3f},
};

static void step_by_hand(ae_model *m, ae_optimizer *opt, const setting *st,
                         const float *x)
{
    const float *y, *code;
    float dy[BATCH * PIX], dcode[BATCH * CODE];
    double loss;
    ck_assert_ae_ok(ae_model_zero_gradients(m));
    ck_assert_ae_ok(ae_model_forward_train(m, x, BATCH, &y, &code));
    unsigned flags = st->loss == AE_LOSS_BCE && st->out == AE_ACT_SIGMOID
                         ? AE_GRAD_PREACTIVATION
                         : 0;
    ck_assert_ae_ok(ae_loss_compute(st->loss, y, x, BATCH * PIX, flags, dy,
                                    &loss));
    for (int i = 0; i < BATCH * CODE; i++) /* d lambda|c| = lambda sign(c) */
        dcode[i] = code[i] > 0.0f ? st->l1 : code[i] < 0.0f ? -st->l1 : 0.0f;
    ck_assert_ae_ok(ae_model_backward(m, dy, st->l1 > 0.0f ? dcode : NULL,
                                      flags));
    ck_assert_ae_ok(ae_optimizer_step(opt, m));
}

START_TEST(library_losses_give_the_trainers_bits)
{
    const setting *st = &settings[_i];
    ae_model *a = small_model(st->out), *b = small_model(st->out);
    ae_optimizer *oa, *ob;
    ae_trainer *t;
    ck_assert_ae_ok(ae_optimizer_create_adam(&oa, 1e-2f));
    ck_assert_ae_ok(ae_optimizer_create_adam(&ob, 1e-2f));
    ck_assert_ae_ok(ae_trainer_create(&t, a, oa));
    ck_assert_ae_ok(ae_trainer_set(t, AE_TRAIN_LOSS, st->loss));
    ck_assert_ae_ok(ae_trainer_set(t, AE_TRAIN_L1_CODE, st->l1));
    float x[BATCH * PIX];
    for (int step = 0; step < 5; step++) {
        tu_fill_uniform(x, BATCH * PIX, 0.0f, 1.0f, 100 + (uint32_t)step);
        float loss;
        ck_assert_ae_ok(ae_trainer_step(t, x, x, BATCH, &loss));
        step_by_hand(b, ob, st, x);
    }
    float *pa = tu_model_params(a), *pb = tu_model_params(b);
    ck_assert_msg(memcmp(pa, pb, ae_model_param_count(a) * sizeof *pa) == 0,
                  "setting %d: the weights differ from ae_trainer_step's",
                  _i);
    free(pa);
    free(pb);
    ae_trainer_free(t);
    ae_optimizer_free(oa);
    ae_optimizer_free(ob);
    ae_model_free(a);
    ae_model_free(b);
}
END_TEST

/* ---- a loss of our own -------------------------------------------------- */

/* L = sum over images of the total variation of y (squared differences of
 * horizontal and vertical neighbours) + mu * sum code^4, a stand-in for a
 * penalty that reads the code. */
static const double MU = 0.3;

static double own_loss(const float *y, const float *code, float *dy,
                       float *dcode)
{
    double l = 0.0;
    if (dy)
        memset(dy, 0, sizeof(float) * BATCH * PIX);
    for (int b = 0; b < BATCH; b++) {
        const float *p = y + b * PIX;
        for (int r = 0; r < SIDE; r++)
            for (int c = 0; c < SIDE; c++) {
                int i = r * SIDE + c;
                if (c + 1 < SIDE) {
                    double d = (double)p[i + 1] - p[i];
                    l += d * d;
                    if (dy) {
                        dy[b * PIX + i + 1] += (float)(2 * d);
                        dy[b * PIX + i] -= (float)(2 * d);
                    }
                }
                if (r + 1 < SIDE) {
                    double d = (double)p[i + SIDE] - p[i];
                    l += d * d;
                    if (dy) {
                        dy[b * PIX + i + SIDE] += (float)(2 * d);
                        dy[b * PIX + i] -= (float)(2 * d);
                    }
                }
            }
    }
    for (int i = 0; i < BATCH * CODE; i++) {
        double c = code[i];
        l += MU * c * c * c * c;
        if (dcode)
            dcode[i] = (float)(4 * MU * c * c * c);
    }
    return l;
}

static double loss_at(ae_model *m, const float *x)
{
    const float *y, *code;
    ck_assert_ae_ok(ae_model_forward_train(m, x, BATCH, &y, &code));
    return own_loss(y, code, NULL, NULL);
}

START_TEST(own_loss_matches_finite_differences)
{
    ae_model *m = small_model(AE_ACT_SIGMOID);
    float x[BATCH * PIX], dy[BATCH * PIX], dcode[BATCH * CODE];
    tu_fill_uniform(x, BATCH * PIX, 0.0f, 1.0f, 3);
    const float *y, *code;
    ck_assert_ae_ok(ae_model_zero_gradients(m));
    ck_assert_ae_ok(ae_model_forward_train(m, x, BATCH, &y, &code));
    own_loss(y, code, dy, dcode);
    ck_assert_ae_ok(ae_model_backward(m, dy, dcode, 0));
    size_t n = ae_model_param_count(m), checked = 0;
    float *g = malloc(n * sizeof *g);
    ck_assert(g);
    ck_assert_ae_ok(ae_model_get_gradients(m, g, n));
    size_t off = 0;
    for (size_t li = 0; li < ae_model_layer_count(m); li++) {
        ae_layer *l;
        ck_assert_ae_ok(ae_model_layer(m, li, &l));
        size_t nw = ae_layer_weight_count(l);
        float *w = malloc(nw * sizeof *w);
        ck_assert(w);
        ck_assert_ae_ok(ae_layer_get_weights(l, w, nw));
        for (size_t k = 0; k < nw; k += nw / 23 + 1) {
            const float h = 1e-3f, saved = w[k];
            w[k] = saved + h;
            ck_assert_ae_ok(ae_layer_set_weights(l, w, nw));
            double up = loss_at(m, x);
            w[k] = saved - h;
            ck_assert_ae_ok(ae_layer_set_weights(l, w, nw));
            double down = loss_at(m, x);
            w[k] = saved;
            ck_assert_ae_ok(ae_layer_set_weights(l, w, nw));
            double num = (up - down) / (2.0 * h);
            double err = fabs(num - g[off + k]) / fmax(1.0, fabs(num));
            ck_assert_msg(err < 2e-3, "layer %zu weight %zu: backward %.6g, "
                          "finite differences %.6g", li, k, g[off + k], num);
            checked++;
        }
        off += nw + ae_layer_bias_count(l);
        free(w);
    }
    ck_assert_uint_gt(checked, 60);
    free(g);
    ae_model_free(m);
}
END_TEST

START_TEST(gradients_accumulate)
{
    ae_model *m = small_model(AE_ACT_SIGMOID);
    float x[BATCH * PIX], dy[BATCH * PIX];
    tu_fill_uniform(x, BATCH * PIX, 0.0f, 1.0f, 4);
    tu_fill_uniform(dy, BATCH * PIX, -1.0f, 1.0f, 5);
    size_t n = ae_model_param_count(m);
    float *once = malloc(n * sizeof *once), *twice = malloc(n * sizeof *twice);
    ck_assert(once && twice);
    const float *y;
    ck_assert_ae_ok(ae_model_zero_gradients(m));
    ck_assert_ae_ok(ae_model_forward_train(m, x, BATCH, &y, NULL));
    ck_assert_ae_ok(ae_model_backward(m, dy, NULL, 0));
    ck_assert_ae_ok(ae_model_get_gradients(m, once, n));
    ck_assert_ae_ok(ae_model_backward(m, dy, NULL, 0));
    ck_assert_ae_ok(ae_model_get_gradients(m, twice, n));
    for (size_t i = 0; i < n; i++)
        ck_assert_float_eq(twice[i], once[i] + once[i]);
    ck_assert_ae_ok(ae_model_zero_gradients(m));
    ck_assert_ae_ok(ae_model_get_gradients(m, twice, n));
    for (size_t i = 0; i < n; i++)
        ck_assert_float_eq(twice[i], 0.0f);
    free(once);
    free(twice);
    ae_model_free(m);
}
END_TEST

START_TEST(wrong_order_and_bad_arguments)
{
    ae_model *m = small_model(AE_ACT_SIGMOID);
    ae_optimizer *opt;
    ck_assert_ae_ok(ae_optimizer_create_adam(&opt, 1e-3f));
    float x[BATCH * PIX], dy[BATCH * PIX], code[BATCH * CODE];
    tu_fill_uniform(x, BATCH * PIX, 0.0f, 1.0f, 6);
    tu_fill_uniform(dy, BATCH * PIX, -1.0f, 1.0f, 7);
    /* backward before any training pass */
    ck_assert_ae_status(ae_model_backward(m, dy, NULL, 0), AE_ERR_BAD_STATE);
    const float *y;
    ck_assert_ae_ok(ae_model_forward_train(m, x, BATCH, &y, NULL));
    /* an inference call replaces the buffers */
    ck_assert_ae_ok(ae_model_encode(m, x, 2, code));
    ck_assert_ae_status(ae_model_backward(m, dy, NULL, 0), AE_ERR_BAD_STATE);
    ck_assert_ae_ok(ae_model_forward_train(m, x, BATCH, &y, NULL));
    ck_assert_ae_status(ae_model_backward(m, dy, NULL, 8),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_model_backward(m, NULL, NULL, 0), AE_ERR_NULL);
    float bad[BATCH * PIX];
    memcpy(bad, dy, sizeof bad);
    bad[17] = NAN;
    size_t n = ae_model_param_count(m);
    float *before = malloc(n * sizeof *before), *after = malloc(n * sizeof *after);
    ck_assert(before && after);
    ck_assert_ae_ok(ae_model_zero_gradients(m));
    ck_assert_ae_ok(ae_model_get_gradients(m, before, n));
    ck_assert_ae_status(ae_model_backward(m, bad, NULL, 0), AE_ERR_NOT_FINITE);
    ck_assert_ae_ok(ae_model_get_gradients(m, after, n));
    ck_assert_int_eq(memcmp(before, after, n * sizeof *before), 0);
    ck_assert_ae_status(ae_model_get_gradients(m, after, n - 1), AE_ERR_SHAPE);
    ck_assert_ae_status(ae_model_forward_train(m, x, 0, &y, NULL),
                        AE_ERR_INVALID_ARGUMENT);
    x[3] = INFINITY;
    ck_assert_ae_status(ae_model_forward_train(m, x, BATCH, &y, NULL),
                        AE_ERR_NOT_FINITE);
    ck_assert_ptr_null(y);
    /* a step after a good pass moves the weights; a NULL optimizer none */
    float *start = tu_model_params(m);
    ck_assert_ae_ok(ae_model_zero_gradients(m));
    tu_fill_uniform(x, BATCH * PIX, 0.0f, 1.0f, 6);
    ck_assert_ae_ok(ae_model_forward_train(m, x, BATCH, &y, NULL));
    ck_assert_ae_ok(ae_model_backward(m, dy, NULL, 0));
    ck_assert_ae_ok(ae_optimizer_step(opt, m));
    float *p0 = tu_model_params(m);
    ck_assert_int_ne(memcmp(start, p0, n * sizeof *p0), 0);
    free(start);
    ck_assert_ae_status(ae_optimizer_step(NULL, m), AE_ERR_NULL);
    float *p1 = tu_model_params(m);
    ck_assert_int_eq(memcmp(p0, p1, n * sizeof *p0), 0);
    /* losses */
    double loss;
    float grad[4];
    const float yy[4] = {0.1f, 0.5f, 0.9f, 0.3f}, tt[4] = {0, 1, 1, 0};
    ck_assert_ae_status(ae_loss_compute(AE_LOSS_MSE, yy, tt, 4,
                                        AE_GRAD_PREACTIVATION, grad, &loss),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_loss_compute((ae_loss)9, yy, tt, 4, 0, grad,
                                        &loss), AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_loss_compute(AE_LOSS_MSE, yy, tt, 0, 0, grad,
                                        &loss), AE_ERR_INVALID_ARGUMENT);
    const float outside[4] = {1.5f, 0.5f, 0.5f, 0.5f};
    ck_assert_ae_status(ae_loss_compute(AE_LOSS_BCE, outside, tt, 4, 0, grad,
                                        &loss), AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_ok(ae_loss_compute(AE_LOSS_MSE, yy, tt, 4, 0, grad, &loss));
    ck_assert_double_eq_tol(loss, (0.01 + 0.25 + 0.01 + 0.09) / 4, 1e-7);
    ck_assert_float_eq_tol(grad[1], 2 * (0.5f - 1) / 4, 1e-7f);
    free(p0);
    free(p1);
    free(before);
    free(after);
    ae_optimizer_free(opt);
    ae_model_free(m);
}
END_TEST

/* A NaN in the gradient array stops the optimizer before it moves. */
START_TEST(optimizer_refuses_nan_gradients)
{
    ae_model *m = small_model(AE_ACT_SIGMOID);
    ae_optimizer *opt;
    ck_assert_ae_ok(ae_optimizer_create_sgd(&opt, 0.1f, 0.0f));
    float x[BATCH * PIX], dy[BATCH * PIX];
    tu_fill_uniform(x, BATCH * PIX, 0.0f, 1.0f, 8);
    for (int i = 0; i < BATCH * PIX; i++)
        dy[i] = 3e38f; /* finite, but sums of them are not */
    const float *y;
    ck_assert_ae_ok(ae_model_zero_gradients(m));
    ck_assert_ae_ok(ae_model_forward_train(m, x, BATCH, &y, NULL));
    for (int k = 0; k < 3; k++) /* the sums overflow to infinity */
        ck_assert_ae_ok(ae_model_backward(m, dy, NULL, 0));
    float *p0 = tu_model_params(m);
    ck_assert_ae_status(ae_optimizer_step(opt, m), AE_ERR_NOT_FINITE);
    float *p1 = tu_model_params(m);
    ck_assert_int_eq(memcmp(p0, p1, ae_model_param_count(m) * sizeof *p0),
                     0);
    free(p0);
    free(p1);
    ae_optimizer_free(opt);
    ae_model_free(m);
}
END_TEST

/* Clipping by the gradient's norm, as torch.nn.utils.clip_grad_norm_. */
START_TEST(clipping_by_norm)
{
    ae_model *m = small_model(AE_ACT_SIGMOID);
    float x[BATCH * PIX], dy[BATCH * PIX];
    tu_fill_uniform(x, BATCH * PIX, 0.0f, 1.0f, 10);
    tu_fill_uniform(dy, BATCH * PIX, -1.0f, 1.0f, 11);
    const float *y;
    ck_assert_ae_ok(ae_model_zero_gradients(m));
    ck_assert_ae_ok(ae_model_forward_train(m, x, BATCH, &y, NULL));
    ck_assert_ae_ok(ae_model_backward(m, dy, NULL, 0));
    size_t n = ae_model_param_count(m);
    float *g = malloc(n * sizeof *g), *h = malloc(n * sizeof *h);
    ck_assert(g && h);
    ck_assert_ae_ok(ae_model_get_gradients(m, g, n));
    double want = 0;
    for (size_t i = 0; i < n; i++)
        want += (double)g[i] * g[i];
    want = sqrt(want);
    double norm;
    /* a bound above the norm changes nothing */
    ck_assert_ae_ok(ae_model_clip_gradients(m, 2 * want, &norm));
    ck_assert_double_eq_tol(norm, want, 1e-9 * want);
    ck_assert_ae_ok(ae_model_get_gradients(m, h, n));
    ck_assert_mem_eq(g, h, n * sizeof *g);
    /* a bound below it scales every gradient by max / (norm + 1e-6) */
    ck_assert_ae_ok(ae_model_clip_gradients(m, want / 4, &norm));
    ck_assert_ae_ok(ae_model_get_gradients(m, h, n));
    float c = (float)((want / 4) / (want + 1e-6));
    double after = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_float_eq(h[i], g[i] * c);
        after += (double)h[i] * h[i];
    }
    ck_assert_double_eq_tol(sqrt(after), want / 4, 1e-5 * want);
    ck_assert_ae_status(ae_model_clip_gradients(m, 0.0, NULL),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_model_clip_gradients(m, NAN, NULL),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_model_clip_gradients(NULL, 1.0, NULL),
                        AE_ERR_NULL);
    free(g);
    free(h);
    ae_model_free(m);
}
END_TEST

static Suite *lowlevel_suite(void)
{
    Suite *s = suite_create("lowlevel");
    TCase *tc = tcase_create("lowlevel");
    tcase_add_loop_test(tc, library_losses_give_the_trainers_bits, 0,
                        sizeof settings / sizeof settings[0]);
    tcase_add_test(tc, own_loss_matches_finite_differences);
    tcase_add_test(tc, gradients_accumulate);
    tcase_add_test(tc, wrong_order_and_bad_arguments);
    tcase_add_test(tc, optimizer_refuses_nan_gradients);
    tcase_add_test(tc, clipping_by_norm);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(lowlevel_suite());
}

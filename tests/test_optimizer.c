/* test_optimizer.c - Adam and SGD against steps computed by hand. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "train/optimizer.h"
#include "testutil.h"

START_TEST(adam_first_step_is_lr_times_sign)
{
    ae_optimizer *o;
    ck_assert_ae_ok(ae_optimizer_create_adam(&o, 0.01f));
    float w[3] = {1.0f, -2.0f, 0.5f};
    const float g[3] = {0.3f, -4.0f, 1e-3f};
    ck_assert_ae_ok(ae__optimizer_update(o, w, g, 3));
    /* m = 0.1 g, v = 0.001 g^2; after bias correction m/sqrt(v) = sign(g) */
    ck_assert_float_eq_tol(w[0], 1.0f - 0.01f, 1e-6f);
    ck_assert_float_eq_tol(w[1], -2.0f + 0.01f, 1e-6f);
    ck_assert_float_eq_tol(w[2], 0.5f - 0.01f * 1e-3f / (1e-3f + 1e-8f),
                           1e-6f);
    ae_optimizer_free(o);
}
END_TEST

/* Three steps with weight decay, against the update written out in
 * double. */
START_TEST(adam_three_steps_with_weight_decay)
{
    ae_optimizer *o;
    ck_assert_ae_ok(ae_optimizer_create_adam(&o, 0.1f));
    ck_assert_ae_ok(ae_optimizer_set(o, AE_OPT_WEIGHT_DECAY, 0.01));
    ck_assert_ae_ok(ae_optimizer_set(o, AE_OPT_BETA1, 0.8));
    float w = 0.7f;
    double ref = 0.7, m = 0, v = 0;
    const float grads[3] = {0.5f, -0.25f, 0.125f};
    for (int t = 1; t <= 3; t++) {
        ck_assert_ae_ok(ae__optimizer_update(o, &w, &grads[t - 1], 1));
        double g = grads[t - 1] + 0.01 * ref;
        m = 0.8 * m + 0.2 * g;
        v = 0.999 * v + 0.001 * g * g;
        double mhat = m / (1 - pow(0.8, t)), vhat = v / (1 - pow(0.999, t));
        ref -= 0.1 * mhat / (sqrt(vhat) + 1e-8);
        ck_assert_double_eq_tol(w, ref, 1e-6);
    }
    ae_optimizer_free(o);
}
END_TEST

/* Moments never go subnormal (optimizer.c: they cost a microcode assist a
 * use), nor SGD's momentum buffer: a first moment decaying after its gradient has gone to 0, and a
 * second moment of a gradient whose square is below FLT_MIN, are kept as
 * 0 instead, for Adam and AdamW (its weight decay 0: its path, without
 * the decay's float rounding).  The weights still follow the update
 * written out in double, which keeps them. */
START_TEST(adam_moments_never_subnormal)
{
    for (int adamw = 0; adamw < 2; adamw++) {
        ae_optimizer *o;
        if (adamw)
            ck_assert_ae_ok(ae_optimizer_create_adamw(&o, 1e-3f, 0.0f));
        else
            ck_assert_ae_ok(ae_optimizer_create_adam(&o, 1e-3f));
        float w[2] = {0.5f, -0.25f};
        double ref[2] = {0.5, -0.25}, m[2] = {0, 0}, v[2] = {0, 0};
        /* Parameter 0: one gradient of 1e-3, then 0 for 2,000 steps (its
         * first moment would pass FLT_MIN after about 750).  Parameter 1: a
         * gradient of 1e-21 every step (its square is subnormal). */
        for (int t = 1; t <= 2000; t++) {
            const float g[2] = {t == 1 ? 1e-3f : 0.0f, 1e-21f};
            ck_assert_ae_ok(ae__optimizer_update(o, w, g, 2));
            for (int i = 0; i < 2; i++) {
                m[i] = 0.9 * m[i] + 0.1 * g[i];
                v[i] = 0.999 * v[i] + 0.001 * (double)g[i] * g[i];
                double mhat = m[i] / (1 - pow(0.9, t));
                double vhat = v[i] / (1 - pow(0.999, t));
                ref[i] -= 1e-3 * mhat / (sqrt(vhat) + 1e-8);
            }
        }
        ae__opt_state st;
        ae__optimizer_export(o, &st);
        ck_assert_uint_eq(st.n, 2);
        for (int i = 0; i < 2; i++) {
            ck_assert_msg(st.m[i] == 0.0f || fabsf(st.m[i]) >= FLT_MIN,
                          "%s: m[%d] = %g is subnormal", adamw ? "AdamW" : "Adam",
                          i, (double)st.m[i]);
            ck_assert_msg(st.v[i] == 0.0f || fabsf(st.v[i]) >= FLT_MIN,
                          "%s: v[%d] = %g is subnormal", adamw ? "AdamW" : "Adam",
                          i, (double)st.v[i]);
            ck_assert_double_eq_tol(w[i], ref[i], 1e-6);
        }
        ck_assert_float_eq(st.m[0], 0.0f); /* it did decay that far */
        ae_optimizer_free(o);
    }
    /* SGD's momentum buffer, decaying by the momentum. */
    ae_optimizer *o;
    ck_assert_ae_ok(ae_optimizer_create_sgd(&o, 1e-2f, 0.9f));
    float w = 0.5f;
    double ref = 0.5, buf = 0;
    for (int t = 1; t <= 2000; t++) {
        const float g = t == 1 ? 1e-3f : 0.0f;
        ck_assert_ae_ok(ae__optimizer_update(o, &w, &g, 1));
        buf = 0.9 * buf + g;
        ref -= 1e-2 * buf;
    }
    ae__opt_state st;
    ae__optimizer_export(o, &st);
    ck_assert_float_eq(st.m[0], 0.0f);
    ck_assert_double_eq_tol(w, ref, 1e-7);
    ae_optimizer_free(o);
}
END_TEST

/* AdamW, as torch.optim.AdamW steps it: w *= 1 - lr wd, then Adam on the
 * gradient alone; three steps against the rule written out in double. */
START_TEST(adamw_three_steps_decoupled_decay)
{
    ae_optimizer *o;
    ck_assert_ae_ok(ae_optimizer_create_adamw(&o, 0.1f, 0.05f));
    double wd;
    ck_assert_ae_ok(ae_optimizer_get(o, AE_OPT_WEIGHT_DECAY, &wd));
    ck_assert_double_eq_tol(wd, 0.05, 1e-9);
    float w = 0.7f;
    double ref = 0.7, m = 0, v = 0;
    const float grads[3] = {0.5f, -0.25f, 0.125f};
    for (int t = 1; t <= 3; t++) {
        ck_assert_ae_ok(ae__optimizer_update(o, &w, &grads[t - 1], 1));
        double g = grads[t - 1];
        ref *= 1 - 0.1 * 0.05;
        m = 0.9 * m + 0.1 * g;
        v = 0.999 * v + 0.001 * g * g;
        double mhat = m / (1 - pow(0.9, t)), vhat = v / (1 - pow(0.999, t));
        ref -= 0.1 * mhat / (sqrt(vhat) + 1e-8);
        ck_assert_double_eq_tol(w, ref, 3e-6); /* float steps */
    }
    /* with no weight decay it is Adam, bit for bit */
    ae_optimizer *a, *b;
    ck_assert_ae_ok(ae_optimizer_create_adamw(&a, 0.01f, 0.0f));
    ck_assert_ae_ok(ae_optimizer_create_adam(&b, 0.01f));
    float wa[2] = {1.0f, -0.5f}, wb[2] = {1.0f, -0.5f};
    const float g[2] = {0.3f, 0.7f};
    for (int t = 0; t < 4; t++) {
        ck_assert_ae_ok(ae__optimizer_update(a, wa, g, 2));
        ck_assert_ae_ok(ae__optimizer_update(b, wb, g, 2));
    }
    ck_assert_mem_eq(wa, wb, sizeof wa);
    ae_optimizer_free(a);
    ck_assert_ae_status(ae_optimizer_create_adamw(&a, 0.01f, -1.0f),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(a);
    ck_assert_ae_status(ae_optimizer_create_adamw(&a, 0.0f, 0.1f),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_optimizer_create_adamw(&a, 0.01f, NAN),
                        AE_ERR_INVALID_ARGUMENT);
    ae_optimizer_free(b);
    ae_optimizer_free(o);
}
END_TEST

/* An AdamW training resumes from its checkpoint exactly, and a trainer
 * with Adam refuses AdamW's state. */
START_TEST(adamw_checkpoint_resumes)
{
    ae_model *m1, *m2;
    ae_optimizer *o1, *o2, *adam;
    ae_trainer *t1, *t2, *t3;
    for (int k = 0; k < 2; k++) {
        ae_model **m = k ? &m2 : &m1;
        ck_assert_ae_ok(ae_model_create(m, 1, 4, 4, 9));
        ck_assert_ae_ok(ae_model_add_dense(*m, AE_ENCODER, 3, AE_ACT_RELU));
        ck_assert_ae_ok(ae_model_add_dense(*m, AE_DECODER, 16,
                                           AE_ACT_SIGMOID));
    }
    ck_assert_ae_ok(ae_optimizer_create_adamw(&o1, 0.01f, 0.1f));
    ck_assert_ae_ok(ae_optimizer_create_adamw(&o2, 0.01f, 0.1f));
    ck_assert_ae_ok(ae_optimizer_create_adam(&adam, 0.01f));
    ck_assert_ae_ok(ae_trainer_create(&t1, m1, o1));
    ck_assert_ae_ok(ae_trainer_create(&t2, m2, o2));
    ck_assert_ae_ok(ae_trainer_create(&t3, m2, adam));
    float x[5 * 16];
    tu_fill_uniform(x, 5 * 16, 0.0f, 1.0f, 3);
    float l1, l2;
    ck_assert_ae_ok(ae_trainer_step(t1, x, NULL, 5, &l1));
    const char *path = tu_tmp_path("adamw.ckpt");
    ck_assert_ae_ok(ae_trainer_save_checkpoint(t1, path));
    ck_assert_ae_status(ae_trainer_load_checkpoint(t3, path),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_ok(ae_trainer_load_checkpoint(t2, path));
    ck_assert_ae_ok(ae_trainer_step(t1, x, NULL, 5, &l1));
    ck_assert_ae_ok(ae_trainer_step(t2, x, NULL, 5, &l2));
    ck_assert_mem_eq(&l1, &l2, sizeof l1);
    size_t n = ae_model_param_count(m1);
    float *g1 = malloc(n * sizeof *g1), *g2 = malloc(n * sizeof *g2);
    ck_assert(g1 && g2);
    ae_layer *a, *b;
    for (size_t i = 0; i < 2; i++) {
        ck_assert_ae_ok(ae_model_layer(m1, i, &a));
        ck_assert_ae_ok(ae_model_layer(m2, i, &b));
        size_t nw = ae_layer_weight_count(a);
        ck_assert_ae_ok(ae_layer_get_weights(a, g1, nw));
        ck_assert_ae_ok(ae_layer_get_weights(b, g2, nw));
        ck_assert_mem_eq(g1, g2, nw * sizeof *g1);
    }
    free(g1);
    free(g2);
    ae_trainer_free(t1);
    ae_trainer_free(t2);
    ae_trainer_free(t3);
    ae_optimizer_free(o1);
    ae_optimizer_free(o2);
    ae_optimizer_free(adam);
    ae_model_free(m1);
    ae_model_free(m2);
}
END_TEST

START_TEST(sgd_momentum_steps)
{
    ae_optimizer *o;
    ck_assert_ae_ok(ae_optimizer_create_sgd(&o, 0.5f, 0.9f));
    float w = 1.0f;
    const float g1 = 0.2f, g2 = -0.1f;
    ck_assert_ae_ok(ae__optimizer_update(o, &w, &g1, 1));
    ck_assert_float_eq_tol(w, 1.0f - 0.5f * 0.2f, 1e-7f); /* buf = g1 */
    ck_assert_ae_ok(ae__optimizer_update(o, &w, &g2, 1));
    /* buf = 0.9 * 0.2 - 0.1 = 0.08 */
    ck_assert_float_eq_tol(w, 0.9f - 0.5f * 0.08f, 1e-7f);
    ae_optimizer_free(o);
}
END_TEST

START_TEST(plain_sgd_with_weight_decay)
{
    ae_optimizer *o;
    ck_assert_ae_ok(ae_optimizer_create_sgd(&o, 0.1f, 0.0f));
    ck_assert_ae_ok(ae_optimizer_set(o, AE_OPT_WEIGHT_DECAY, 0.5));
    float w = 2.0f;
    const float g = 1.0f;
    ck_assert_ae_ok(ae__optimizer_update(o, &w, &g, 1));
    ck_assert_float_eq_tol(w, 2.0f - 0.1f * (1.0f + 0.5f * 2.0f), 1e-7f);
    ae_optimizer_free(o);
}
END_TEST

START_TEST(parameters_and_errors)
{
    ae_optimizer *o = (ae_optimizer *)1;
    ck_assert_ae_status(ae_optimizer_create_adam(&o, -1.0f),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(o);
    ck_assert_ae_status(ae_optimizer_create_adam(&o, NAN),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_optimizer_create_sgd(&o, 0.1f, 1.0f),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_optimizer_create_adam(NULL, 0.1f), AE_ERR_NULL);
    ck_assert_ae_ok(ae_optimizer_create_adam(&o, 0.001f));
    double v;
    ck_assert_ae_ok(ae_optimizer_get(o, AE_OPT_BETA2, &v));
    ck_assert_double_eq(v, 0.999);
    ck_assert_ae_ok(ae_optimizer_get(o, AE_OPT_EPSILON, &v));
    ck_assert_double_eq(v, 1e-8);
    ck_assert_ae_status(ae_optimizer_set(o, AE_OPT_BETA1, 1.0),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_optimizer_set(o, AE_OPT_LEARNING_RATE, 0.0),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_optimizer_set(o, (ae_optimizer_param)42, 1.0),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_ok(ae_optimizer_get(o, AE_OPT_BETA1, &v));
    ck_assert_double_eq(v, 0.9); /* failed sets changed nothing */
    ck_assert_ae_status(ae_optimizer_set(NULL, AE_OPT_BETA1, 0.5),
                        AE_ERR_NULL);

    /* State binds to the first parameter count. */
    float w[4] = {0}, g[4] = {1, 1, 1, 1};
    ck_assert_ae_ok(ae__optimizer_update(o, w, g, 4));
    ck_assert_ae_status(ae__optimizer_update(o, w, g, 3), AE_ERR_SHAPE);
    ck_assert_ae_ok(ae_optimizer_reset(o));
    ck_assert_ae_ok(ae__optimizer_update(o, w, g, 3));
    ae_optimizer_free(o);
    ae_optimizer_free(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("optimizer");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, adam_first_step_is_lr_times_sign);
    tcase_add_test(tc, adam_three_steps_with_weight_decay);
    tcase_add_test(tc, adamw_three_steps_decoupled_decay);
    tcase_add_test(tc, adam_moments_never_subnormal);
    tcase_add_test(tc, adamw_checkpoint_resumes);
    tcase_add_test(tc, sgd_momentum_steps);
    tcase_add_test(tc, plain_sgd_with_weight_decay);
    tcase_add_test(tc, parameters_and_errors);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}

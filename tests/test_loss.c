/* test_loss.c - loss values and gradients, and the L1 code penalty. */
#include <math.h>
#include <stdlib.h>

#include "gradcheck.h"
#include "nn/activation.h"
#include "nn/layer.h"
#include "nn/loss.h"
#include "nn/model.h"
#include "testutil.h"

enum { N = 40 };

static double loss_at(ae_loss kind, const float *y, const float *t)
{
    float g[N];
    return ae__loss(kind, y, t, N, g, 0);
}

START_TEST(mse_value_and_gradient)
{
    float y[N], t[N], g[N];
    tu_fill_uniform(y, N, 0, 1, 1);
    tu_fill_uniform(t, N, 0, 1, 2);
    double want = 0;
    for (int i = 0; i < N; i++)
        want += (double)(y[i] - t[i]) * (y[i] - t[i]);
    ck_assert_double_eq_tol(ae__loss(AE_LOSS_MSE, y, t, N, g, 0), want / N,
                            1e-9);
    for (int i = 0; i < N; i++) {
        float keep = y[i], h = 1e-3f;
        y[i] = keep + h;
        double up = loss_at(AE_LOSS_MSE, y, t);
        y[i] = keep - h;
        double down = loss_at(AE_LOSS_MSE, y, t);
        y[i] = keep;
        ck_assert_double_eq_tol(g[i], (up - down) / (2 * h), 1e-5);
    }
}
END_TEST

START_TEST(bce_value_and_gradient)
{
    float y[N], t[N], g[N];
    tu_fill_uniform(y, N, 0.05f, 0.95f, 3);
    tu_fill_uniform(t, N, 0, 1, 4);
    double want = 0;
    for (int i = 0; i < N; i++)
        want -= t[i] * log(y[i]) + (1 - t[i]) * log(1 - y[i]);
    ck_assert_double_eq_tol(ae__loss(AE_LOSS_BCE, y, t, N, g, 0), want / N,
                            1e-6);
    for (int i = 0; i < N; i++) {
        float keep = y[i], h = 1e-4f;
        y[i] = keep + h;
        double up = loss_at(AE_LOSS_BCE, y, t);
        y[i] = keep - h;
        double down = loss_at(AE_LOSS_BCE, y, t);
        y[i] = keep;
        ck_assert_double_eq_tol(g[i], (up - down) / (2 * h), 1e-3);
    }
}
END_TEST

/* With a Sigmoid output the fused gradient is d loss / d z. */
START_TEST(bce_fused_gradient_through_sigmoid)
{
    float z[N], y[N], t[N], g[N];
    tu_fill_uniform(z, N, -4, 4, 5);
    tu_fill_uniform(t, N, 0, 1, 6);
    for (int i = 0; i < N; i++)
        y[i] = z[i];
    ae__activation_forward(AE_ACT_SIGMOID, 0, y, N);
    ae__loss(AE_LOSS_BCE, y, t, N, g, 1);
    for (int i = 0; i < N; i++) {
        float keep = z[i], h = 1e-3f, yy[N];
        for (int j = 0; j < N; j++)
            yy[j] = y[j];
        yy[i] = keep + h;
        ae__activation_forward(AE_ACT_SIGMOID, 0, yy + i, 1);
        double up = loss_at(AE_LOSS_BCE, yy, t);
        yy[i] = keep - h;
        ae__activation_forward(AE_ACT_SIGMOID, 0, yy + i, 1);
        double down = loss_at(AE_LOSS_BCE, yy, t);
        ck_assert_double_eq_tol(g[i], (up - down) / (2 * h), 1e-4);
    }
}
END_TEST

START_TEST(bce_saturated_is_finite)
{
    float y[2] = {0.0f, 1.0f}, t[2] = {1.0f, 0.0f}, g[2];
    double l = ae__loss(AE_LOSS_BCE, y, t, 2, g, 0);
    ck_assert_double_eq_tol(l, 100.0, 1e-9); /* PyTorch's clamp at -100 */
    ck_assert(isfinite(g[0]) && isfinite(g[1]));
    ae__loss(AE_LOSS_BCE, y, t, 2, g, 1);
    ck_assert_float_eq(g[0], -0.5f);
}
END_TEST

/* The L1 term's gradient, through a model: d/dW of lambda sum |code|. */
START_TEST(l1_penalty_gradient)
{
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 1, 3, 3, 7));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 5, AE_ACT_TANH));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 9, AE_ACT_NONE));
    const size_t batch = 4;
    float x[36], zero[36] = {0};
    tu_fill_uniform(x, 36, -1, 1, 8);
    const float lambda = 0.3f;
    const float *y;
    ck_assert_ae_ok(ae__model_forward(m, 0, 1, x, batch, 1, &y));
    ck_assert_ae_ok(ae__model_backward(m, x, batch, zero, 0, lambda, NULL));
    size_t np = ae_model_param_count(m);
    float *grad = malloc(np * sizeof *grad);
    for (size_t i = 0; i < np; i++)
        grad[i] = ae__model_grads(m)[i];
    float *p = ae__model_params(m);
    for (size_t i = 0; i < 9 * 5 + 5; i++) { /* encoder parameters */
        float keep = p[i], h = 1e-3f;
        p[i] = keep + h;
        ck_assert_ae_ok(ae__model_forward(m, 0, 1, x, batch, 1, &y));
        double up = ae__l1_penalty(ae__model_code(m), batch * 5, lambda);
        p[i] = keep - h;
        ck_assert_ae_ok(ae__model_forward(m, 0, 1, x, batch, 1, &y));
        double down = ae__l1_penalty(ae__model_code(m), batch * 5, lambda);
        p[i] = keep;
        ck_assert_double_eq_tol(grad[i], (up - down) / (2 * h), 2e-3);
    }
    for (size_t i = 9 * 5 + 5; i < np; i++)
        ck_assert_float_eq(grad[i], 0.0f); /* decoder sees no L1 term */
    free(grad);
    ae_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("loss");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, mse_value_and_gradient);
    tcase_add_test(tc, bce_value_and_gradient);
    tcase_add_test(tc, bce_fused_gradient_through_sigmoid);
    tcase_add_test(tc, bce_saturated_is_finite);
    tcase_add_test(tc, l1_penalty_gradient);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}

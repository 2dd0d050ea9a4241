/* test_activation.c - activation values and derivatives. */
#include <math.h>

#include "nn/activation.h"
#include "nn/layer.h"
#include "testutil.h"

static const ae_activation all_acts[] = {AE_ACT_NONE, AE_ACT_RELU,
                                         AE_ACT_LEAKY_RELU, AE_ACT_TANH,
                                         AE_ACT_SIGMOID};

START_TEST(forward_values)
{
    float x[] = {-2.0f, -0.5f, 0.0f, 0.5f, 2.0f};
    float y[5];
    for (int i = 0; i < 5; i++)
        y[i] = x[i];
    ae__activation_forward(AE_ACT_RELU, 0, y, 5);
    ck_assert_float_eq(y[0], 0.0f);
    ck_assert_float_eq(y[4], 2.0f);
    for (int i = 0; i < 5; i++)
        y[i] = x[i];
    ae__activation_forward(AE_ACT_LEAKY_RELU, 0.1f, y, 5);
    ck_assert_float_eq_tol(y[0], -0.2f, 1e-7f);
    ck_assert_float_eq(y[3], 0.5f);
    for (int i = 0; i < 5; i++)
        y[i] = x[i];
    ae__activation_forward(AE_ACT_SIGMOID, 0, y, 5);
    ck_assert_float_eq_tol(y[2], 0.5f, 1e-7f);
    ck_assert_float_eq_tol(y[4], 1.0f / (1.0f + expf(-2.0f)), 1e-7f);
    for (int i = 0; i < 5; i++)
        y[i] = x[i];
    ae__activation_forward(AE_ACT_TANH, 0, y, 5);
    ck_assert_float_eq_tol(y[0], tanhf(-2.0f), 1e-7f);
}
END_TEST

START_TEST(relu_keeps_nan)
{
    float y[1] = {NAN};
    ae__activation_forward(AE_ACT_RELU, 0, y, 1);
    ck_assert(isnan(y[0]));
}
END_TEST

/* d act(x)/dx by central differences against the y-based derivative. */
START_TEST(derivatives_match_finite_differences)
{
    ae_activation act = all_acts[_i];
    const float slope = 0.05f, h = 1e-3f;
    for (float x = -3.0f; x <= 3.0f; x += 0.137f) {
        if (fabsf(x) < 2 * h)
            continue; /* the ReLU kink */
        float y = x, up = x + h, down = x - h, g = 1.0f;
        ae__activation_forward(act, slope, &y, 1);
        ae__activation_forward(act, slope, &up, 1);
        ae__activation_forward(act, slope, &down, 1);
        ae__activation_backward(act, slope, &y, &g, 1);
        float numeric = (up - down) / (2 * h);
        ck_assert_msg(fabsf(numeric - g) < 2e-3f,
                      "activation %d at %g: analytic %g numeric %g", act,
                      (double)x, (double)g, (double)numeric);
    }
}
END_TEST

START_TEST(validity)
{
    ck_assert(ae__activation_valid(AE_ACT_LEAKY_RELU, 0.01f));
    ck_assert(!ae__activation_valid(AE_ACT_LEAKY_RELU, -0.1f));
    ck_assert(!ae__activation_valid(AE_ACT_LEAKY_RELU, NAN));
    ck_assert(!ae__activation_valid((ae_activation)99, 0));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("activation");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, forward_values);
    tcase_add_test(tc, relu_keeps_nan);
    tcase_add_loop_test(tc, derivatives_match_finite_differences, 0, 5);
    tcase_add_test(tc, validity);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}

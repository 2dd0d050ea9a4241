/* test_activation.c - activation values and derivatives. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "common/exp_float.h"
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

/* |got - want| in units of the last place of a float near want (want a
 * normal float's magnitude, as every case below). */
static double ulps(float got, double want)
{
    int e;
    frexp(want, &e);
    return fabs((double)got - want) / ldexp(1.0, e - 24);
}

static float float_of_bits(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static uint32_t bits_of_float(float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bits;
}

/* Every 509th float of [-86.5, 88.72] (exp_float.h's measured bound over
 * all of them is 0.99 ulp): a wrong coefficient or split of ln 2 shows as
 * many ulps. */
START_TEST(exp_float_within_an_ulp)
{
    const uint32_t top = bits_of_float(88.72283935546875f) - 1;
    const uint32_t bottom = bits_of_float(-86.5f); /* sign bit set */
    double worst = 0.0;
    float worst_x = 0.0f;
    size_t count = 0;
    for (uint32_t b = 0; b <= top; b += 509) {
        const float x = float_of_bits(b);
        const double e = ulps(ae__exp_float(x), exp((double)x));
        if (e > worst)
            worst = e, worst_x = x;
        count++;
    }
    for (uint32_t b = 0x80000000u; b <= bottom; b += 509) {
        const float x = float_of_bits(b);
        const double e = ulps(ae__exp_float(x), exp((double)x));
        if (e > worst)
            worst = e, worst_x = x;
        count++;
    }
    ck_assert_uint_gt(count, 4000000);
    ck_assert_msg(worst < 1.0, "e^%a off by %.3f ulp", (double)worst_x,
                  worst);
}
END_TEST

START_TEST(exp_float_edges)
{
    ck_assert(isnan(ae__exp_float(NAN)));
    ck_assert(isnan(ae__exp_float(-NAN)));
    ck_assert(isinf(ae__exp_float(INFINITY)));
    ck_assert_float_eq(ae__exp_float(-INFINITY), 0.0f);
    ck_assert(isinf(ae__exp_float(89.0f)));
    ck_assert(isinf(ae__exp_float(nextafterf(88.72283935546875f, 100.0f))));
    const float below_top = nextafterf(88.72283935546875f, 0.0f);
    ck_assert(isfinite(ae__exp_float(below_top)));
    ck_assert_double_lt(ulps(ae__exp_float(below_top), exp(below_top)), 1.0);
    ck_assert_double_lt(ulps(ae__exp_float(-86.5f), exp(-86.5)), 1.0);
    ck_assert_float_eq(ae__exp_float(nextafterf(-86.5f, -100.0f)), 0.0f);
    ck_assert_float_eq(ae__exp_float(-1000.0f), 0.0f);
    ck_assert_float_eq(ae__exp_float(0.0f), 1.0f);
    ck_assert_float_eq(ae__exp_float(-0.0f), 1.0f);
}
END_TEST

/* The sigmoid in the vector loop, against the sigmoid in double: within
 * 3 ulp (2.2 measured) where it is a normal float, 0 or 1 where it
 * rounds there, and NaN for NaN; and the same bits whether a value is
 * computed in a vector or alone (the loop's scalar tail). */
START_TEST(sigmoid_accuracy_and_bits)
{
    enum { N = 4003 };
    static float y[N];
    for (int i = 0; i < N; i++)
        y[i] = -45.0f + 90.0f * (float)i / (float)(N - 1);
    ae__activation_forward(AE_ACT_SIGMOID, 0, y, N);
    for (int i = 0; i < N; i++) {
        const float x = -45.0f + 90.0f * (float)i / (float)(N - 1);
        const double want = 1.0 / (1.0 + exp(-(double)x));
        ck_assert_msg(ulps(y[i], want) < 3.0, "sigmoid(%g) = %a, not %a",
                      (double)x, (double)y[i], want);
        float alone = x;
        ae__activation_forward(AE_ACT_SIGMOID, 0, &alone, 1);
        ck_assert_uint_eq(bits_of_float(alone), bits_of_float(y[i]));
    }
    float edges[] = {-100.0f, 100.0f, -INFINITY, INFINITY, NAN};
    ae__activation_forward(AE_ACT_SIGMOID, 0, edges, 5);
    ck_assert_float_eq(edges[0], 0.0f);
    ck_assert_float_eq(edges[1], 1.0f);
    ck_assert_float_eq(edges[2], 0.0f);
    ck_assert_float_eq(edges[3], 1.0f);
    ck_assert(isnan(edges[4]));
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
    tcase_add_test(tc, exp_float_within_an_ulp);
    tcase_add_test(tc, exp_float_edges);
    tcase_add_test(tc, sigmoid_accuracy_and_bits);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}

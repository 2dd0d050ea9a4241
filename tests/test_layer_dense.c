/* test_layer_dense.c - the dense layer: forward values, PyTorch-style
 * initialisation, parameter access and gradients. */
#include <math.h>
#include <stdlib.h>

#include "gradcheck.h"
#include "testutil.h"

static const ae_activation acts[] = {AE_ACT_NONE, AE_ACT_RELU,
                                     AE_ACT_LEAKY_RELU, AE_ACT_TANH,
                                     AE_ACT_SIGMOID};

START_TEST(forward_matches_definition)
{
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 1, 1, 3, 1));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 2, AE_ACT_NONE));
    ae_layer *l;
    ck_assert_ae_ok(ae_model_layer(m, 0, &l));
    const float w[6] = {1, 2, 3, -1, 0, 0.5f}, b[2] = {0.25f, -1};
    ck_assert_ae_ok(ae_layer_set_weights(l, w, 6));
    ck_assert_ae_ok(ae_layer_set_bias(l, b, 2));
    const float x[6] = {1, 1, 1, 2, 0, -2};
    float y[4];
    ck_assert_ae_ok(ae_model_activations(m, 0, x, 2, y));
    ck_assert_float_eq(y[0], 6.25f);  /* 1+2+3 + 0.25 */
    ck_assert_float_eq(y[1], -1.5f);  /* -1+0+0.5 - 1 */
    ck_assert_float_eq(y[2], -3.75f); /* 2-6 + 0.25 */
    ck_assert_float_eq(y[3], -4.0f);  /* -2-1 - 1 */
    ck_assert_ae_ok(ae_layer_set_activation(l, AE_ACT_RELU, 0));
    ck_assert_ae_ok(ae_model_activations(m, 0, x, 2, y));
    ck_assert_float_eq(y[1], 0.0f);
    ae_model_free(m);
}
END_TEST

/* nn.Linear: weights and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
START_TEST(initialisation_like_pytorch)
{
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 1, 28, 28, 3));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 256, AE_ACT_RELU));
    ae_layer *l;
    ck_assert_ae_ok(ae_model_layer(m, 0, &l));
    size_t n = ae_layer_weight_count(l);
    ck_assert_uint_eq(n, 784 * 256);
    ck_assert_uint_eq(ae_layer_bias_count(l), 256);
    float *w = malloc(n * sizeof *w);
    ck_assert_ae_ok(ae_layer_get_weights(l, w, n));
    double bound = 1.0 / sqrt(784.0), sum = 0, sq = 0, maxabs = 0;
    for (size_t i = 0; i < n; i++) {
        sum += w[i];
        sq += (double)w[i] * w[i];
        maxabs = fmax(maxabs, fabs(w[i]));
    }
    ck_assert(maxabs <= bound);
    ck_assert(maxabs > 0.99 * bound);
    ck_assert_double_lt(fabs(sum / n), 0.01 * bound);
    /* variance of U(-a, a) is a^2 / 3 */
    ck_assert_double_eq_tol(sq / n, bound * bound / 3, 0.02 * bound * bound);
    free(w);
    ae_model_free(m);
}
END_TEST

START_TEST(same_seed_same_weights)
{
    ae_model *a, *b;
    ck_assert_ae_ok(ae_model_create(&a, 1, 4, 4, 99));
    ck_assert_ae_ok(ae_model_create(&b, 1, 4, 4, 99));
    ck_assert_ae_ok(ae_model_add_dense(a, AE_ENCODER, 3, AE_ACT_RELU));
    ck_assert_ae_ok(ae_model_add_dense(b, AE_ENCODER, 3, AE_ACT_RELU));
    ae_layer *la, *lb;
    ae_model_layer(a, 0, &la);
    ae_model_layer(b, 0, &lb);
    float wa[48], wb[48];
    ae_layer_get_weights(la, wa, 48);
    ae_layer_get_weights(lb, wb, 48);
    for (int i = 0; i < 48; i++)
        ck_assert_float_eq(wa[i], wb[i]);
    ae_model_free(a);
    ae_model_free(b);
}
END_TEST

/* A linear layer in front lets the check cover the layer's input gradient
 * too, through the first layer's weight gradients. */
START_TEST(gradient_per_activation)
{
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 2, 3, 2, 11));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 7, AE_ACT_NONE));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 5, acts[_i]));
    if (acts[_i] == AE_ACT_LEAKY_RELU) {
        ae_layer *l;
        ae_model_layer(m, 1, &l);
        ck_assert_ae_ok(ae_layer_set_activation(l, AE_ACT_LEAKY_RELU, 0.2f));
    }
    gc_assert_model(m, 3, -1.0f, 1.0f, 0, 5 + (uint32_t)_i, 5e-3);
    ae_model_free(m);
}
END_TEST

START_TEST(gradient_deep_stack)
{
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 1, 5, 5, 2));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 16, AE_ACT_TANH));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 4, AE_ACT_NONE));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 16, AE_ACT_LEAKY_RELU));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 25, AE_ACT_SIGMOID));
    gc_assert_model(m, 5, 0.0f, 1.0f, 60, 17, 5e-3);
    ae_model_free(m);
}
END_TEST

START_TEST(parameter_access_errors)
{
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 1, 2, 2, 1));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 3, AE_ACT_RELU));
    ae_layer *l;
    ck_assert_ae_ok(ae_model_layer(m, 0, &l));
    float w[12], bad[12];
    ck_assert_ae_status(ae_layer_get_weights(l, w, 11), AE_ERR_SHAPE);
    ck_assert_ae_status(ae_layer_get_weights(NULL, w, 12), AE_ERR_NULL);
    ck_assert_ae_status(ae_layer_get_weights(l, NULL, 12), AE_ERR_NULL);
    ck_assert_ae_ok(ae_layer_get_weights(l, w, 12));
    for (int i = 0; i < 12; i++)
        bad[i] = 1.0f;
    bad[5] = NAN;
    ck_assert_ae_status(ae_layer_set_weights(l, bad, 12), AE_ERR_NOT_FINITE);
    float after[12];
    ck_assert_ae_ok(ae_layer_get_weights(l, after, 12));
    for (int i = 0; i < 12; i++)
        ck_assert_float_eq(after[i], w[i]); /* unchanged by the failure */
    ck_assert_ae_status(ae_layer_set_bias(l, bad, 2), AE_ERR_SHAPE);
    ck_assert_ae_status(ae_layer_set_activation(l, AE_ACT_LEAKY_RELU, -1.0f),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ae_layer_activation(l), AE_ACT_RELU);
    ck_assert_int_eq(ae_layer_get_kind(l), AE_LAYER_DENSE);
    int c, h, wd;
    ck_assert_ae_ok(ae_layer_output_shape(l, &c, &h, &wd));
    ck_assert(c == 3 && h == 1 && wd == 1);
    ck_assert_ae_ok(ae_layer_input_shape(l, &c, NULL, NULL));
    ck_assert_int_eq(c, 1);
    ck_assert_ae_status(ae_model_add_dense(m, AE_ENCODER, 0, AE_ACT_RELU),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_model_add_dense(m, AE_ENCODER, 2, (ae_activation)9),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_uint_eq(ae_model_layer_count(m), 1); /* failures added nothing */
    ae_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("layer_dense");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, forward_matches_definition);
    tcase_add_test(tc, initialisation_like_pytorch);
    tcase_add_test(tc, same_seed_same_weights);
    tcase_add_loop_test(tc, gradient_per_activation, 0, 5);
    tcase_add_test(tc, gradient_deep_stack);
    tcase_add_test(tc, parameter_access_errors);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}

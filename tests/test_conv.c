/* test_conv.c - the image-shaped layers: convolution, max pooling and
 * unpooling, upsampling, transposed convolution and reshape.  Forward
 * values against PyTorch (tests/reference/conv_reference.py) and hand
 * computations, PyTorch-style initialisation, finite-difference gradients,
 * shape errors, and the models of experiments 6 and 7. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "layers/conv_gemm.h"
#include "layers/conv_winograd.h"
#include "layers/image_layout.h"
#include "nn/layer.h"
#include "nn/model.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------ */

/* v[i] = ((i * mul + add) % mod - off) / scale: ramp() of
 * conv_reference.py, exact in float. */
static void ramp(float *v, size_t n, int mul, int add, int mod, int off,
                 float scale)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (float)((long)((i * (size_t)mul + (size_t)add) % (size_t)mod) -
                       off) /
               scale;
}

static void x_of(float *v, size_t n) { ramp(v, n, 7, 3, 11, 5, 4.0f); }
static void w_of(float *v, size_t n) { ramp(v, n, 5, 1, 9, 4, 8.0f); }
static void b_of(float *v, size_t n) { ramp(v, n, 1, 0, 3, 1, 2.0f); }
static void distinct(float *v, size_t n) { ramp(v, n, 37, 0, 101, 0, 16.0f); }

static ae_layer *layer_at(ae_model *m, size_t i)
{
    ae_layer *l = NULL;
    ck_assert_ae_ok(ae_model_layer(m, i, &l));
    return l;
}

/* Weights and bias from the reference formulas. */
static void set_ref_params(ae_layer *l)
{
    size_t nw = ae_layer_weight_count(l), nb = ae_layer_bias_count(l);
    float *w = malloc(nw * sizeof *w), *b = malloc(nb * sizeof *b);
    ck_assert(w && b);
    w_of(w, nw);
    b_of(b, nb);
    ck_assert_ae_ok(ae_layer_set_weights(l, w, nw));
    ck_assert_ae_ok(ae_layer_set_bias(l, b, nb));
    free(w);
    free(b);
}

static void assert_close(const float *got, const float *want, size_t n,
                         double tol, const char *what)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabs((double)got[i] - want[i]) <=
                          tol * fmax(1.0, fabs(want[i])),
                      "%s[%zu] = %.9g, expected %.9g", what, i,
                      (double)got[i], (double)want[i]);
}

static void assert_shape(const ae_layer *l, int c, int h, int w)
{
    int lc, lh, lw;
    ck_assert_ae_ok(ae_layer_output_shape(l, &lc, &lh, &lw));
    ck_assert_msg(lc == c && lh == h && lw == w,
                  "layer shape %d x %d x %d, expected %d x %d x %d", lc, lh,
                  lw, c, h, w);
}

/* The detail message names the layer and carries the sizes. */
static void assert_error_mentions(const char *a, const char *b)
{
    const char *e = ae_last_error();
    ck_assert_msg(strstr(e, a) != NULL, "'%s' does not mention '%s'", e, a);
    if (b != NULL)
        ck_assert_msg(strstr(e, b) != NULL, "'%s' does not mention '%s'", e,
                      b);
}

/* ---- reference values (printed by tests/reference/conv_reference.py) -- */

/* ref_conv_a: (2, 3, 3, 3) */
static const float ref_conv_a[54] = {
    0.625f, -1.28125f, -1.375f, -1.625f, 1.5f, 0.46875f, 0.375f, 0.28125f,
    -0.34375f, 1.125f, -0.78125f, -0.875f, -1.125f, 2.0f, 0.96875f, 0.875f,
    0.78125f, 0.15625f, 1.625f, -0.28125f, -0.375f, -0.625f, 2.5f, 1.46875f,
    1.375f, 1.28125f, 0.65625f, 1.3125f, -0.28125f, -1.46875f, -3.0f,
    -3.3125f, 1.1875f, -0.34375f, 1.28125f, -0.46875f, 1.8125f, 0.21875f,
    -0.96875f, -2.5f, -2.8125f, 1.6875f, 0.15625f, 1.78125f, 0.03125f,
    2.3125f, 0.71875f, -0.46875f, -2.0f, -2.3125f, 2.1875f, 0.65625f,
    2.28125f, 0.53125f,
};
/* ref_conv_b: (1, 2, 4, 4) */
static const float ref_conv_b[32] = {
    -0.3125f, -0.84375f, 0.15625f, -0.6875f, -1.09375f, 0.5f, -0.53125f,
    -1.0f, -1.4375f, -0.53125f, -1.21875f, -0.1875f, -0.28125f, -0.78125f,
    0.90625f, -1.21875f, 0.1875f, -0.34375f, 0.65625f, -0.1875f, -0.59375f,
    1.0f, -0.03125f, -0.5f, -0.9375f, -0.03125f, -0.71875f, 0.3125f, 0.21875f,
    -0.28125f, 1.40625f, -0.71875f,
};
/* ref_conv_c: (1, 2, 4, 3) */
static const float ref_conv_c[24] = {
    0.28125f, -1.40625f, 0.34375f, -2.34375f, 0.78125f, 0.125f, 0.1875f,
    -1.15625f, -1.125f, -1.40625f, 0.34375f, 0.03125f, 0.96875f, 0.21875f,
    -0.1875f, 1.0625f, -1.0625f, -0.78125f, 0.125f, -0.28125f, -0.34375f,
    0.21875f, -0.1875f, -0.59375f,
};
/* ref_conv_d: (2, 1, 5, 5) */
static const float ref_conv_d[50] = {
    2.4375f, -2.3125f, -1.0625f, 2.25f, -2.34375f, -2.75f, 4.1875f, -4.75f,
    0.40625f, 0.5f, -4.125f, 2.8125f, -1.3125f, -2.6875f, 2.15625f, -1.375f,
    -2.0f, 4.1875f, -4.75f, 0.375f, 0.53125f, -2.96875f, 2.0625f, -1.5f,
    -0.3125f, -1.0f, -1.0625f, 2.25f, -3.03125f, 0.375f, 3.4375f, -4.75f,
    0.40625f, 1.4375f, -2.46875f, 2.0625f, -1.3125f, -2.6875f, 3.5f, -2.875f,
    -2.75f, 4.1875f, -4.75f, 0.40625f, 0.5f, -2.6875f, 2.0625f, -1.5f,
    -1.625f, 0.90625f,
};
/* ref_conv_e: (1, 1, 2, 2) */
static const float ref_conv_e[4] = {
    -0.71875f, 0.03125f, -0.78125f, -2.46875f,
};
/* ref_convt_a: (2, 2, 7, 7) */
static const float ref_convt_a[196] = {
    0.15625f, -0.9375f, -0.71875f, -0.0625f, -0.84375f, -0.5625f, -0.4375f,
    -1.15625f, -0.28125f, -0.71875f, -0.71875f, 0.28125f, -0.46875f, -0.625f,
    -0.6875f, 0.5f, -1.3125f, -1.0625f, -0.3125f, -0.5625f, -0.34375f,
    -0.3125f, -0.5625f, 0.21875f, -0.65625f, -0.15625f, -0.40625f, -0.875f,
    -0.5f, -0.75f, -0.71875f, -0.9375f, -0.0625f, -0.4375f, -0.28125f, -0.5f,
    -0.5f, -0.21875f, -0.59375f, -0.59375f, -0.34375f, -1.125f, -0.5f, -0.5f,
    -0.5f, -0.875f, -0.40625f, 0.125f, -0.65625f, 0.65625f, -0.4375f,
    -0.21875f, 0.4375f, -0.34375f, -0.0625f, 0.0625f, -0.65625f, 0.21875f,
    -0.21875f, -0.21875f, 0.78125f, 0.03125f, -0.125f, -0.1875f, 1.0f,
    -0.8125f, -0.5625f, 0.1875f, -0.0625f, 0.15625f, 0.1875f, -0.0625f,
    0.71875f, -0.15625f, 0.34375f, 0.09375f, -0.375f, 0.0f, -0.25f, -0.21875f,
    -0.4375f, 0.4375f, 0.0625f, 0.21875f, 0.0f, 0.0f, 0.28125f, -0.09375f,
    -0.09375f, 0.15625f, -0.625f, 0.0f, 0.0f, 0.0f, -0.375f, 0.09375f, 0.625f,
    -0.15625f, -0.78125f, -0.3125f, -0.21875f, -0.8125f, 0.0f, -0.625f,
    -0.375f, -0.21875f, -0.59375f, -0.59375f, -0.34375f, -1.3125f, -0.4375f,
    -0.75f, -0.59375f, -0.8125f, 0.1875f, -0.3125f, -0.875f, 0.1875f, -1.0f,
    -0.40625f, -0.53125f, -1.03125f, -0.28125f, -0.71875f, -0.71875f, 0.375f,
    -0.40625f, -0.6875f, -0.59375f, 0.5f, -1.3125f, -1.0625f, -0.59375f,
    -0.59375f, -0.46875f, -0.4375f, -0.5625f, 0.21875f, -0.65625f, 0.125f,
    -0.5f, -0.375f, -0.53125f, -0.75f, -0.4375f, -1.125f, -0.34375f,
    -0.28125f, 0.1875f, 0.28125f, -0.3125f, 0.5f, -0.125f, 0.125f, 0.28125f,
    -0.09375f, -0.09375f, 0.15625f, -0.8125f, 0.0625f, -0.25f, -0.09375f,
    -0.3125f, 0.6875f, 0.1875f, -0.375f, 0.6875f, -0.5f, 0.09375f, -0.03125f,
    -0.53125f, 0.21875f, -0.21875f, -0.21875f, 0.875f, 0.09375f, -0.1875f,
    -0.09375f, 1.0f, -0.8125f, -0.5625f, -0.09375f, -0.09375f, 0.03125f,
    0.0625f, -0.0625f, 0.71875f, -0.15625f, 0.625f, 0.0f, 0.125f, -0.03125f,
    -0.25f, 0.0625f, -0.625f, 0.15625f,
};
/* ref_convt_b: (1, 2, 4, 6) */
static const float ref_convt_b[48] = {
    -1.0f, -1.1875f, 0.34375f, -1.125f, -0.75f, -0.0625f, -0.9375f, 0.09375f,
    0.25f, -0.90625f, -0.8125f, -0.375f, -0.125f, -0.96875f, -0.53125f,
    0.03125f, -1.5625f, 0.1875f, -0.59375f, -0.875f, 0.5625f, 0.1875f, -1.5f,
    -0.25f, -0.46875f, 0.46875f, 0.03125f, -0.53125f, 0.96875f, -0.3125f,
    -0.28125f, -1.125f, -0.6875f, -0.03125f, 0.34375f, -0.15625f, 0.53125f,
    0.34375f, 0.21875f, 0.34375f, 0.15625f, -0.15625f, 0.03125f, -0.4375f,
    -0.40625f, 0.6875f, -0.4375f, 0.4375f,
};
/* ref_convt_c: (1, 1, 6, 6) */
static const float ref_convt_c[36] = {
    -0.28125f, -0.71875f, -0.71875f, 0.28125f, -0.46875f, -0.625f, 0.5f,
    -1.3125f, -1.0625f, -0.3125f, -0.5625f, -0.34375f, -0.5625f, 0.21875f,
    -0.65625f, -0.15625f, -0.40625f, -0.875f, -0.75f, -0.71875f, -0.9375f,
    -0.0625f, -0.4375f, -0.28125f, -0.5f, -0.21875f, -0.59375f, -0.59375f,
    -0.34375f, -1.125f, -0.5f, -0.5f, -0.875f, -0.40625f, 0.125f, -0.65625f,
};
/* ref_pool_a: (1, 2, 3, 3) */
static const float ref_pool_a[18] = {
    5.875f, 5.4375f, 6.0625f, 6.25f, 6.25f, 6.0625f, 6.25f, 6.25f, 5.375f,
    6.0f, 6.1875f, 6.1875f, 5.9375f, 5.9375f, 5.75f, 5.9375f, 5.9375f, 6.125f,
};
/* ref_unpool_a: (1, 2, 7, 7) */
static const float ref_unpool_a[98] = {
    0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 5.875f, 0.0f, 0.0f, 0.0f,
    0.0f, 0.0f, 0.0f, 0.0f, 5.4375f, 0.0f, 0.0f, 6.0625f, 0.0f, 0.0f, 0.0f,
    0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 6.25f, 0.0f, 0.0f, 0.0f, 0.0f,
    0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 5.375f,
    0.0f, 0.0f, 6.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f,
    0.0f, 6.1875f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 5.75f, 0.0f,
    0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 5.9375f, 0.0f, 0.0f,
    0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 6.125f, 0.0f, 0.0f, 0.0f,
    0.0f, 0.0f, 0.0f, 0.0f,
};
/* ref_pool_b: (1, 2, 3, 3) */
static const float ref_pool_b[18] = {
    5.875f, 4.625f, 5.25f, 4.375f, 5.4375f, 6.0625f, 5.1875f, 6.25f, 4.5625f,
    6.0f, 4.3125f, 6.1875f, 4.0625f, 5.125f, 5.75f, 4.875f, 5.9375f, 4.25f,
};
/* ref_unpool_b: (1, 2, 7, 7) */
static const float ref_unpool_b[98] = {
    0.0f, 0.0f, 4.625f, 0.0f, 0.0f, 5.25f, 0.0f, 0.0f, 5.875f, 0.0f, 0.0f,
    0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 5.4375f, 0.0f, 0.0f, 6.0625f, 0.0f, 4.375f,
    0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 6.25f, 0.0f, 4.5625f,
    0.0f, 0.0f, 5.1875f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f,
    0.0f, 0.0f, 0.0f, 0.0f, 6.0f, 0.0f, 4.3125f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f,
    0.0f, 0.0f, 0.0f, 6.1875f, 0.0f, 0.0f, 0.0f, 0.0f, 5.125f, 0.0f, 0.0f,
    5.75f, 0.0f, 4.0625f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f,
    5.9375f, 0.0f, 4.25f, 0.0f, 0.0f, 4.875f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f,
    0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f,
};

/* ---- forward values ----------------------------------------------------- */

typedef struct ref_case {
    int transposed;
    int n, c, h, w, oc, k, s, p, op;
    int oh, ow;
    const float *want;
    size_t count;
} ref_case;

#define REF(t, n, c, h, w, oc, k, s, p, op, oh, ow, arr)                       \
    {t, n, c, h, w, oc, k, s, p, op, oh, ow, arr, sizeof arr / sizeof arr[0]}

static const ref_case ref_cases[] = {
    REF(0, 2, 2, 5, 5, 3, 3, 2, 1, 0, 3, 3, ref_conv_a),
    REF(0, 1, 1, 4, 4, 2, 3, 1, 1, 0, 4, 4, ref_conv_b),
    REF(0, 1, 3, 5, 4, 2, 2, 1, 0, 0, 4, 3, ref_conv_c),
    REF(0, 2, 4, 5, 5, 1, 3, 1, 1, 0, 5, 5, ref_conv_d),
    REF(0, 1, 8, 4, 4, 1, 3, 2, 1, 0, 2, 2, ref_conv_e),
    REF(1, 2, 2, 3, 3, 2, 3, 2, 0, 0, 7, 7, ref_convt_a),
    REF(1, 1, 3, 2, 3, 2, 4, 2, 1, 0, 4, 6, ref_convt_b),
    REF(1, 1, 2, 3, 3, 1, 3, 2, 1, 1, 6, 6, ref_convt_c),
};

START_TEST(forward_matches_pytorch)
{
    const ref_case *rc = &ref_cases[_i];
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, rc->c, rc->h, rc->w, 1));
    if (rc->transposed)
        ck_assert_ae_ok(ae_model_add_conv_transpose2d(
            m, AE_ENCODER, rc->oc, rc->k, rc->s, rc->p, rc->op,
            AE_ACT_NONE));
    else
        ck_assert_ae_ok(ae_model_add_conv2d(m, AE_ENCODER, rc->oc, rc->k,
                                            rc->s, rc->p, AE_ACT_NONE));
    ae_layer *l = layer_at(m, 0);
    assert_shape(l, rc->oc, rc->oh, rc->ow);
    ck_assert_uint_eq(ae_layer_output_size(l) * (size_t)rc->n, rc->count);
    set_ref_params(l);
    size_t n_in = (size_t)rc->n * rc->c * rc->h * rc->w;
    float *x = malloc(n_in * sizeof *x), *y = malloc(rc->count * sizeof *y);
    ck_assert(x && y);
    x_of(x, n_in);
    ck_assert_ae_ok(ae_model_activations(m, 0, x, (size_t)rc->n, y));
    assert_close(y, rc->want, rc->count, 1e-5, "y");
    /* With an activation, the model applies it on top. */
    ck_assert_ae_ok(ae_layer_set_activation(l, AE_ACT_RELU, 0));
    ck_assert_ae_ok(ae_model_activations(m, 0, x, (size_t)rc->n, y));
    for (size_t i = 0; i < rc->count; i++)
        ck_assert_float_eq_tol(y[i], fmaxf(rc->want[i], 0.0f), 1e-5f);
    free(x);
    free(y);
    ae_model_free(m);
}
END_TEST

START_TEST(pool_and_unpool_match_pytorch)
{
    const int k = _i == 0 ? 3 : 2;
    const float *want_pool = _i == 0 ? ref_pool_a : ref_pool_b;
    const float *want_unpool = _i == 0 ? ref_unpool_a : ref_unpool_b;
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 2, 7, 7, 1));
    ck_assert_ae_ok(ae_model_add_maxpool2d(m, AE_ENCODER, k, 2));
    ck_assert_ae_ok(ae_model_add_maxunpool2d(m, AE_DECODER, 0, 7, 7));
    assert_shape(layer_at(m, 0), 2, 3, 3);
    assert_shape(layer_at(m, 1), 2, 7, 7);
    ck_assert_uint_eq(ae_model_param_count(m), 0);
    float x[98], pooled[18], y[98];
    distinct(x, 98);
    ck_assert_ae_ok(ae_model_activations(m, 0, x, 1, pooled));
    assert_close(pooled, want_pool, 18, 0, "pooled");
    ck_assert_ae_ok(ae_model_reconstruct(m, x, 1, y));
    assert_close(y, want_unpool, 98, 0, "unpooled");
    ae_model_free(m);
}
END_TEST

/* Max pooling 2x2 / 2 on 5x5 by hand: the last row and column drop. */
START_TEST(pool_floor_by_hand)
{
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 1, 5, 5, 1));
    ck_assert_ae_ok(ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2));
    assert_shape(layer_at(m, 0), 1, 2, 2);
    float x[25], y[4];
    for (int i = 0; i < 25; i++)
        x[i] = (float)((i * 13) % 25); /* a permutation of 0..24 */
    x[24] = 100.0f;                     /* outside every window */
    ck_assert_ae_ok(ae_model_activations(m, 0, x, 1, y));
    /* windows {0,1,5,6}, {2,3,7,8}, {10,11,15,16}, {12,13,17,18} */
    ck_assert_float_eq(y[0], 15.0f); /* x[5] = 65 % 25 */
    ck_assert_float_eq(y[1], 16.0f); /* x[7] = 91 % 25 */
    ck_assert_float_eq(y[2], 20.0f); /* x[15] = 195 % 25 */
    ck_assert_float_eq(y[3], 21.0f); /* x[17] = 221 % 25 */
    ae_model_free(m);
}
END_TEST

/* 2x2 / 2 pooling on planes wide enough for the vectorised paths (8
 * lanes with AVX2, else 4) and their last step, which overlaps the one
 * before it (11 x 19 -> 5 x 9), with ties and signed zeros: the first largest
 * value in scan order wins (top left, top right, bottom left, bottom
 * right), as in PyTorch, by value (pooling alone, positions not kept) and
 * by position (unpooling puts each value back where it was found). */
START_TEST(pool_2x2_ties_by_scan_order)
{
    enum { C = 3, H = 11, W = 19, OH = 5, OW = 9 };
    float x[C * H * W], pooled[C * OH * OW], y[C * H * W];
    for (int i = 0; i < C * H * W; i++)
        x[i] = (float)((i * 7) % 5) - 2.0f; /* -2 .. 2, many ties */
    x[0] = -0.0f; /* window (0, 0): -0 first, then +0 ties it */
    x[1] = 0.0f;
    x[W] = x[W + 1] = -1.0f;
    ae_model *m, *pool;
    ck_assert_ae_ok(ae_model_create(&pool, C, H, W, 1));
    ck_assert_ae_ok(ae_model_add_maxpool2d(pool, AE_ENCODER, 2, 2));
    ck_assert_ae_ok(ae_model_create(&m, C, H, W, 1));
    ck_assert_ae_ok(ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2));
    ck_assert_ae_ok(ae_model_add_maxunpool2d(m, AE_DECODER, 0, H, W));
    ck_assert_ae_ok(ae_model_activations(pool, 0, x, 1, pooled));
    ck_assert_ae_ok(ae_model_reconstruct(m, x, 1, y));
    for (int c = 0; c < C; c++)
        for (int i = 0; i < OH; i++)
            for (int j = 0; j < OW; j++) {
                const float *p = x + (c * H + 2 * i) * W + 2 * j;
                const int at[4] = {0, 1, W, W + 1};
                int best = 0;
                for (int q = 1; q < 4; q++)
                    if (p[at[q]] > p[at[best]])
                        best = q;
                const float got = pooled[(c * OH + i) * OW + j];
                ck_assert_msg(got == p[at[best]] &&
                                  signbit(got) == signbit(p[at[best]]),
                              "channel %d, output (%d, %d): %g", c, i, j,
                              (double)got);
                for (int q = 0; q < 4; q++) {
                    const float back = y[(c * H + 2 * i) * W + 2 * j + at[q]];
                    ck_assert_msg(q == best ? back == p[at[q]] : back == 0.0f,
                                  "channel %d, window (%d, %d), place %d: %g",
                                  c, i, j, q, (double)back);
                }
            }
    ck_assert(signbit(pooled[0])); /* -0 kept: +0 is not larger */
    ae_model_free(pool);
    ae_model_free(m);
}
END_TEST

START_TEST(upsample_by_hand)
{
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 2, 2, 3, 1));
    ck_assert_ae_ok(ae_model_add_upsample2d(m, AE_ENCODER, 3));
    assert_shape(layer_at(m, 0), 2, 6, 9);
    float x[12], y[108];
    for (int i = 0; i < 12; i++)
        x[i] = (float)i;
    ck_assert_ae_ok(ae_model_activations(m, 0, x, 1, y));
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 9; j++)
                ck_assert_float_eq(y[(c * 6 + i) * 9 + j],
                                   x[(c * 2 + i / 3) * 3 + j / 3]);
    ae_model_free(m);
}
END_TEST

START_TEST(reshape_keeps_values)
{
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 2, 3, 4, 1));
    ck_assert_ae_ok(ae_model_add_reshape(m, AE_ENCODER, 24, 1, 1));
    ck_assert_ae_ok(ae_model_add_reshape(m, AE_ENCODER, 4, 2, 3));
    assert_shape(layer_at(m, 0), 24, 1, 1);
    assert_shape(layer_at(m, 1), 4, 2, 3);
    ck_assert_int_eq(ae_layer_get_kind(layer_at(m, 1)), AE_LAYER_RESHAPE);
    float x[48], y[48];
    x_of(x, 48);
    ck_assert_ae_ok(ae_model_activations(m, 1, x, 2, y));
    assert_close(y, x, 48, 0, "reshaped");
    ae_model_free(m);
}
END_TEST

/* Unpooling with and without the positions of a recent encoder pass. */
START_TEST(unpool_positions_of_latest_pass)
{
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 1, 4, 4, 1));
    ck_assert_ae_ok(ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2));
    ck_assert_ae_ok(ae_model_add_maxunpool2d(m, AE_DECODER, 0, 4, 4));
    const float code[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    float y[32];
    /* Nothing recorded yet: every value goes to its window's top-left. */
    ck_assert_ae_ok(ae_model_decode(m, code, 2, y));
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < 16; i++) {
            int r = i / 4, c = i % 4;
            float want = r % 2 == 0 && c % 2 == 0
                             ? code[b * 4 + (r / 2) * 2 + c / 2]
                             : 0.0f;
            ck_assert_float_eq(y[b * 16 + i], want);
        }
    /* One image encoded: its maxima sit at the bottom-right of each
     * window.  Decoding two images uses them for image 0 only. */
    float x[16], c1[4];
    for (int i = 0; i < 16; i++)
        x[i] = (float)((i / 4) % 2 + (i % 4) % 2 * 2); /* 3 bottom-right */
    ck_assert_ae_ok(ae_model_encode(m, x, 1, c1));
    ck_assert_ae_ok(ae_model_decode(m, code, 2, y));
    for (int i = 0; i < 16; i++) {
        int r = i / 4, c = i % 4;
        float want0 = r % 2 == 1 && c % 2 == 1
                          ? code[(r / 2) * 2 + c / 2]
                          : 0.0f;
        float want1 = r % 2 == 0 && c % 2 == 0
                          ? code[4 + (r / 2) * 2 + c / 2]
                          : 0.0f;
        ck_assert_float_eq(y[i], want0);
        ck_assert_float_eq(y[16 + i], want1);
    }
    ae_model_free(m);
}
END_TEST

/* ---- initialisation ----------------------------------------------------- */

static void check_uniform(const float *w, size_t n, double bound)
{
    double maxabs = 0, sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++) {
        maxabs = fmax(maxabs, fabs(w[i]));
        sum += w[i];
        sq += (double)w[i] * w[i];
    }
    ck_assert_msg(maxabs <= bound, "max |w| %g above bound %g", maxabs,
                  bound);
    ck_assert_msg(maxabs > 0.98 * bound, "max |w| %g far below bound %g",
                  maxabs, bound);
    ck_assert_double_lt(fabs(sum / n), 0.05 * bound);
    ck_assert_double_eq_tol(sq / n, bound * bound / 3, 0.05 * bound * bound);
}

/* nn.Conv2d: bound 1/sqrt(in_c k k); nn.ConvTranspose2d: the weight's
 * second dimension is out_c, so bound 1/sqrt(out_c k k). */
START_TEST(initialisation_like_pytorch)
{
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 32, 8, 8, 5));
    ck_assert_ae_ok(ae_model_add_conv2d(m, AE_ENCODER, 64, 3, 1, -1,
                                        AE_ACT_RELU));
    ck_assert_ae_ok(ae_model_add_conv_transpose2d(m, AE_DECODER, 16, 4, 2,
                                                  1, 0, AE_ACT_NONE));
    ae_layer *conv = layer_at(m, 0), *convt = layer_at(m, 1);
    ck_assert_uint_eq(ae_layer_weight_count(conv), 64 * 32 * 9);
    ck_assert_uint_eq(ae_layer_bias_count(conv), 64);
    ck_assert_uint_eq(ae_layer_weight_count(convt), 64 * 16 * 16);
    ck_assert_uint_eq(ae_layer_bias_count(convt), 16);
    assert_shape(convt, 16, 16, 16);
    size_t n = 64 * 32 * 9;
    float *w = malloc(n * sizeof *w), b[64];
    ck_assert_ae_ok(ae_layer_get_weights(conv, w, n));
    check_uniform(w, n, 1.0 / sqrt(32 * 9.0));
    ck_assert_ae_ok(ae_layer_get_bias(conv, b, 64));
    for (int i = 0; i < 64; i++)
        ck_assert(fabs(b[i]) <= 1.0 / sqrt(32 * 9.0));
    n = 64 * 16 * 16;
    ck_assert_ae_ok(ae_layer_get_weights(convt, w, n));
    check_uniform(w, n, 1.0 / sqrt(16 * 16.0));
    ck_assert_ae_ok(ae_layer_get_bias(convt, b, 16));
    for (int i = 0; i < 16; i++)
        ck_assert(fabs(b[i]) <= 1.0 / sqrt(16 * 16.0));
    free(w);
    ae_model_free(m);
}
END_TEST

/* ---- gradients ---------------------------------------------------------- */

/* A dense layer (linear) and a reshape in front: the check then covers the
 * tested layer's input gradient through the dense weights' gradients. */
static ae_model *front_dense(int c, int h, int w, uint64_t seed)
{
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 1, 2, 3, seed));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, c * h * w,
                                       AE_ACT_NONE));
    ck_assert_ae_ok(ae_model_add_reshape(m, AE_ENCODER, c, h, w));
    return m;
}

typedef struct conv_grad_case {
    int c, h, w, oc, k, s, p, op;
    ae_activation act;
} conv_grad_case;

static const conv_grad_case conv_grads[] = {
    {1, 5, 5, 1, 3, 1, 0, 0, AE_ACT_NONE},
    {2, 7, 6, 3, 3, 2, 1, 0, AE_ACT_NONE},
    {3, 6, 6, 2, 2, 2, 0, 0, AE_ACT_TANH},
    {2, 5, 5, 4, 3, 1, -1, 0, AE_ACT_SIGMOID},
    {1, 4, 4, 2, 5, 1, 2, 0, AE_ACT_NONE},
    {2, 9, 7, 2, 4, 3, 1, 0, AE_ACT_NONE},
    {3, 1, 1, 2, 1, 1, 0, 0, AE_ACT_NONE},
    /* Narrowing layers go tap by tap (out_c*k*k*in_plane + in_c*in_plane
     * below in_c*k*k*out_plane + out_c*out_plane): */
    {4, 5, 5, 1, 3, 1, 1, 0, AE_ACT_SIGMOID},
    {5, 6, 6, 2, 3, 1, 1, 0, AE_ACT_NONE},
    {6, 7, 7, 2, 2, 1, 0, 0, AE_ACT_NONE},
    {8, 4, 4, 1, 3, 2, 1, 0, AE_ACT_NONE}, /* stride 2 */
    {6, 5, 6, 2, 3, 1, 2, 0, AE_ACT_TANH}, /* padding 2 grows the output */
    /* Planes of AE__IN_PLACE_PLANE and more: products in place, one image
     * a chunk, by columns and by taps. */
    {1, 14, 14, 3, 3, 1, 1, 0, AE_ACT_TANH},
    {3, 14, 15, 1, 3, 1, 1, 0, AE_ACT_SIGMOID},
};

START_TEST(conv2d_gradients)
{
    const conv_grad_case *g = &conv_grads[_i];
    ae_model *m = front_dense(g->c, g->h, g->w, 100 + (uint64_t)_i);
    ck_assert_ae_ok(ae_model_add_conv2d(m, AE_ENCODER, g->oc, g->k, g->s,
                                        g->p, g->act));
    gc_assert_model(m, 3, -1.0f, 1.0f, 0, 7 + (uint32_t)_i, 5e-3);
    ae_model_free(m);
}
END_TEST

static const conv_grad_case convt_grads[] = {
    {2, 3, 3, 3, 3, 2, 0, 0, AE_ACT_NONE}, /* 3 -> 7 */
    {3, 4, 4, 2, 4, 2, 1, 0, AE_ACT_NONE}, /* 4 -> 8 */
    {1, 3, 3, 2, 3, 2, 1, 1, AE_ACT_TANH}, /* 3 -> 6, output padding */
    {2, 5, 5, 1, 3, 1, 1, 0, AE_ACT_NONE}, /* same size */
    {2, 3, 4, 2, 2, 3, 0, 2, AE_ACT_NONE}, /* output padding 2, stride 3 */
    {1, 1, 1, 4, 3, 1, 0, 0, AE_ACT_SIGMOID}, /* 1 -> 3 */
    {2, 5, 4, 2, 3, 2, 2, 1, AE_ACT_NONE}, /* padding 2 */
    {2, 14, 14, 1, 4, 2, 1, 0, AE_ACT_NONE}, /* 14 -> 28, in place */
};

START_TEST(conv_transpose2d_gradients)
{
    const conv_grad_case *g = &convt_grads[_i];
    ae_model *m = front_dense(g->c, g->h, g->w, 200 + (uint64_t)_i);
    ck_assert_ae_ok(ae_model_add_conv_transpose2d(m, AE_ENCODER, g->oc, g->k,
                                                  g->s, g->p, g->op, g->act));
    gc_assert_model(m, 3, -1.0f, 1.0f, 0, 11 + (uint32_t)_i, 5e-3);
    ae_model_free(m);
}
END_TEST

/* Pooling after a 1x1 convolution from one input channel: the check
 * perturbs a scale or an offset of each plane, which never reorders a
 * window, so every difference stays on one side of every max. */
typedef struct pool_case {
    int c, h, w, k, s;
} pool_case;

static const pool_case pools[] = {
    {2, 7, 7, 2, 2}, /* 7 -> 3 */
    {1, 5, 5, 2, 2},
    {3, 7, 7, 3, 2}, /* overlapping windows */
    {2, 6, 5, 2, 1}, /* stride 1 */
    {2, 4, 6, 3, 3},
};

START_TEST(pool_gradients)
{
    const pool_case *p = &pools[_i];
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 1, p->h, p->w, 300 + (uint64_t)_i));
    ck_assert_ae_ok(ae_model_add_conv2d(m, AE_ENCODER, p->c, 1, 1, 0,
                                        AE_ACT_NONE));
    ck_assert_ae_ok(ae_model_add_maxpool2d(m, AE_ENCODER, p->k, p->s));
    gc_assert_model(m, 3, 0.0f, 1.0f, 0, 13 + (uint32_t)_i, 5e-3);
    ae_model_free(m);
}
END_TEST

/* conv 1x1 (1 -> c), pool, conv 1x1 (c -> c), unpool into the pool's
 * positions, conv 3x3: unpooling's backward is checked through both 1x1
 * convolutions, pooling's through the first. */
START_TEST(unpool_gradients)
{
    const pool_case *p = &pools[_i];
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 1, p->h, p->w, 400 + (uint64_t)_i));
    ck_assert_ae_ok(ae_model_add_conv2d(m, AE_ENCODER, p->c, 1, 1, 0,
                                        AE_ACT_NONE));
    ck_assert_ae_ok(ae_model_add_maxpool2d(m, AE_ENCODER, p->k, p->s));
    ck_assert_ae_ok(ae_model_add_conv2d(m, AE_DECODER, p->c, 1, 1, 0,
                                        AE_ACT_NONE));
    ck_assert_ae_ok(ae_model_add_maxunpool2d(m, AE_DECODER, 1, p->h, p->w));
    ck_assert_ae_ok(ae_model_add_conv2d(m, AE_DECODER, 2, 3, 1, 1,
                                        AE_ACT_NONE));
    assert_shape(layer_at(m, 3), p->c, p->h, p->w);
    gc_assert_model(m, 3, 0.0f, 1.0f, 0, 17 + (uint32_t)_i, 5e-3);
    ae_model_free(m);
}
END_TEST

START_TEST(upsample_gradients)
{
    const int factor = 2 + _i; /* 2, 3 */
    ae_model *m = front_dense(2, 3, 2, 500 + (uint64_t)_i);
    ck_assert_ae_ok(ae_model_add_upsample2d(m, AE_ENCODER, factor));
    ck_assert_ae_ok(ae_model_add_conv2d(m, AE_ENCODER, 2, 3, 1, 0,
                                        AE_ACT_NONE));
    gc_assert_model(m, 3, -1.0f, 1.0f, 0, 19 + (uint32_t)_i, 5e-3);
    ae_model_free(m);
}
END_TEST

/* A dense bottleneck between conv stacks: conv, flatten, dense, dense,
 * reshape, transposed conv. */
START_TEST(dense_bottleneck_gradients)
{
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 1, 6, 6, 600));
    ck_assert_ae_ok(ae_model_add_conv2d(m, AE_ENCODER, 3, 3, 2, 1,
                                        AE_ACT_TANH));
    ck_assert_ae_ok(ae_model_add_reshape(m, AE_ENCODER, 27, 1, 1));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 4, AE_ACT_NONE));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 18, AE_ACT_TANH));
    ck_assert_ae_ok(ae_model_add_reshape(m, AE_DECODER, 2, 3, 3));
    ck_assert_ae_ok(ae_model_add_conv_transpose2d(m, AE_DECODER, 1, 4, 2, 1,
                                                  0, AE_ACT_SIGMOID));
    assert_shape(layer_at(m, 5), 1, 6, 6);
    ck_assert_ae_ok(ae_model_validate(m));
    gc_assert_model(m, 4, 0.0f, 1.0f, 0, 23, 5e-3);
    ae_model_free(m);
}
END_TEST

/* Batches larger than one sgemm chunk give the same outputs and gradients
 * as the images run one at a time.  Cases: a convolution by columns, one
 * tap by tap, a transposed convolution, all on the direct paths (the rule
 * would take Winograd for these shapes; test_conv_winograd.c checks its
 * chunks against the direct path), at 13 x 13 through channel-major
 * copies of chunks of several images (per_image is their scratch per
 * image, to make sure the batch spans several chunks) and at 14 x 14 in
 * place, an image a chunk (conv_gemm.h). */
typedef struct chunk_case {
    int in_c, out_c, transposed, h;
    size_t per_image;
} chunk_case;

static const chunk_case chunk_cases[] = {
    {16, 16, 0, 13, (16 * 9 + 16) * 169},
    {64, 8, 0, 13, (8 * 9 + 64) * 169},
    {16, 16, 1, 13, (16 * 9 + 16) * 169},
    {16, 16, 0, 14, 0},
    {64, 8, 0, 14, 0},
    {16, 16, 1, 14, 0},
};

START_TEST(chunked_batches_match_single_images)
{
    const chunk_case *cc = &chunk_cases[_i];
    enum { B = 11 };
    const int H = cc->h;
    if (cc->per_image > 0) {
        /* Several chunks of several images, and a shorter last one. */
        const size_t chunk = ae__image_chunk(cc->per_image, B);
        ck_assert_msg(chunk > 1 && chunk < B && B % chunk != 0,
                      "chunks of %zu images do not test much", chunk);
        ck_assert(!ae__in_place((size_t)H * H));
    } else {
        ck_assert(ae__in_place((size_t)H * H));
    }
    ae__winograd_allow(0);
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, cc->in_c, H, H, 9));
    if (cc->transposed)
        ck_assert_ae_ok(ae_model_add_conv_transpose2d(
            m, AE_ENCODER, cc->out_c, 3, 1, 1, 0, AE_ACT_NONE));
    else
        ck_assert_ae_ok(ae_model_add_conv2d(m, AE_ENCODER, cc->out_c, 3, 1,
                                            1, AE_ACT_NONE));
    const size_t n_in = (size_t)cc->in_c * H * H;
    const size_t n_out = (size_t)cc->out_c * H * H;
    const size_t n_par = ae_model_param_count(m);
    float *x = malloc(B * n_in * sizeof *x);
    float *dy = malloc(B * n_out * sizeof *dy);
    float *y = malloc(B * n_out * sizeof *y);
    float *g_all = malloc(n_par * sizeof *g_all);
    double *g_sum = calloc(n_par, sizeof *g_sum);
    ck_assert(x && dy && y && g_all && g_sum);
    tu_fill_uniform(x, B * n_in, -1, 1, 1);
    tu_fill_uniform(dy, B * n_out, -1, 1, 2);
    const float *out;
    ck_assert_ae_ok(ae__model_forward(m, 0, 0, x, B, 1, &out));
    memcpy(y, out, B * n_out * sizeof *y);
    ck_assert_ae_ok(ae__model_backward(m, x, B, dy, 0, 0.0f, NULL));
    memcpy(g_all, ae__model_grads(m), n_par * sizeof *g_all);
    for (size_t b = 0; b < B; b++) {
        ck_assert_ae_ok(ae__model_forward(m, 0, 0, x + b * n_in, 1, 1, &out));
        assert_close(out, y + b * n_out, n_out, 1e-5, "chunked y");
        ck_assert_ae_ok(
            ae__model_backward(m, x + b * n_in, 1, dy + b * n_out, 0, 0.0f,
                               NULL));
        for (size_t i = 0; i < n_par; i++)
            g_sum[i] += ae__model_grads(m)[i];
    }
    for (size_t i = 0; i < n_par; i++)
        ck_assert_msg(fabs(g_all[i] - g_sum[i]) <=
                          1e-4 * fmax(1, fabs(g_sum[i])),
                      "gradient %zu: %g batched, %g summed", i,
                      (double)g_all[i], g_sum[i]);
    free(x);
    free(dy);
    free(y);
    free(g_all);
    free(g_sum);
    ae_model_free(m);
    ae__winograd_allow(1);
}
END_TEST

/* ---- errors ------------------------------------------------------------- */

START_TEST(shape_errors)
{
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 1, 8, 8, 1));
    ck_assert_ae_ok(ae_model_add_conv2d(m, AE_ENCODER, 4, 3, 1, 1,
                                        AE_ACT_RELU));          /* 4x8x8 */
    ck_assert_ae_ok(ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2)); /* 4x4x4 */
    ck_assert_ae_ok(ae_model_add_conv2d(m, AE_ENCODER, 2, 3, 1, 1,
                                        AE_ACT_RELU));          /* 2x4x4 */
    /* The unpooling partner's output is 4x4x4, this input 2x4x4. */
    ck_assert_ae_status(ae_model_add_maxunpool2d(m, AE_DECODER, 1, 8, 8),
                        AE_ERR_SHAPE);
    assert_error_mentions("layer 3", "layer 1");
    assert_error_mentions("2 x 4 x 4", "4 x 4 x 4");
    ck_assert_ae_ok(ae_model_add_conv2d(m, AE_DECODER, 4, 3, 1, 1,
                                        AE_ACT_RELU));          /* 4x4x4 */
    /* Output size other than the partner's input. */
    ck_assert_ae_status(ae_model_add_maxunpool2d(m, AE_DECODER, 1, 9, 9),
                        AE_ERR_SHAPE);
    assert_error_mentions("layer 4", "9 x 9");
    /* Partner not a pooling layer, or not an earlier layer. */
    ck_assert_ae_status(ae_model_add_maxunpool2d(m, AE_DECODER, 0, 8, 8),
                        AE_ERR_INVALID_ARGUMENT);
    assert_error_mentions("layer 4", "conv2d");
    ck_assert_ae_status(ae_model_add_maxunpool2d(m, AE_DECODER, 4, 8, 8),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_model_add_maxunpool2d(m, AE_DECODER, 99, 8, 8),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_ok(ae_model_add_maxunpool2d(m, AE_DECODER, 1, 8, 8));
    /* Kernel bigger than the padded input (8 + 2 * 1 = 10). */
    ck_assert_ae_status(ae_model_add_conv2d(m, AE_DECODER, 1, 11, 1, 1,
                                            AE_ACT_NONE),
                        AE_ERR_SHAPE);
    assert_error_mentions("layer 5", "10 x 10");
    ck_assert_ae_status(ae_model_add_maxpool2d(m, AE_DECODER, 9, 1),
                        AE_ERR_SHAPE);
    /* Bad numbers. */
    ck_assert_ae_status(ae_model_add_conv2d(m, AE_DECODER, 1, 3, 0, 1,
                                            AE_ACT_NONE),
                        AE_ERR_INVALID_ARGUMENT);
    assert_error_mentions("layer 5", "stride 0");
    ck_assert_ae_status(ae_model_add_conv2d(m, AE_DECODER, 0, 3, 1, 1,
                                            AE_ACT_NONE),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_model_add_conv2d(m, AE_DECODER, 1, 4, 1, -1,
                                            AE_ACT_NONE),
                        AE_ERR_INVALID_ARGUMENT); /* 'same', even kernel */
    ck_assert_ae_status(ae_model_add_conv2d(m, AE_DECODER, 1, 3, 1, -2,
                                            AE_ACT_NONE),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_model_add_maxpool2d(m, AE_DECODER, 2, 0),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_model_add_upsample2d(m, AE_DECODER, 0),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_model_add_conv_transpose2d(m, AE_DECODER, 1, 3, 2,
                                                      1, 2, AE_ACT_NONE),
                        AE_ERR_INVALID_ARGUMENT); /* output padding 2 >= 2 */
    assert_error_mentions("layer 5", "output padding 2");
    ck_assert_ae_status(ae_model_add_conv_transpose2d(m, AE_DECODER, 1, 3, 1,
                                                      -1, 0, AE_ACT_NONE),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_model_add_reshape(m, AE_DECODER, 4, 4, 4),
                        AE_ERR_SHAPE); /* 64 values, the input 256 */
    assert_error_mentions("layer 5", "256");
    ck_assert_ae_status(ae_model_add_reshape(m, AE_DECODER, 0, 4, 4),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_uint_eq(ae_model_layer_count(m), 5); /* failures added nothing */
    /* Layers without an activation refuse one. */
    ck_assert_ae_status(ae_layer_set_activation(layer_at(m, 1), AE_ACT_RELU,
                                                0),
                        AE_ERR_UNSUPPORTED);
    ae_model_free(m);
}
END_TEST

/* A negative output size: a 1x1 input through a transposed convolution
 * of kernel 1 and padding 1 gives (1 - 1) * 1 - 2 + 1 = -1. */
START_TEST(negative_output_size)
{
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 2, 1, 1, 1));
    ck_assert_ae_status(ae_model_add_conv_transpose2d(m, AE_ENCODER, 1, 1, 1,
                                                      1, 0, AE_ACT_NONE),
                        AE_ERR_SHAPE);
    assert_error_mentions("layer 0", "-1 x -1");
    /* Zero: kernel 2, padding 1: 0 - 2 + 2 = 0. */
    ck_assert_ae_status(ae_model_add_conv_transpose2d(m, AE_ENCODER, 1, 2, 1,
                                                      1, 0, AE_ACT_NONE),
                        AE_ERR_SHAPE);
    /* And a convolution whose kernel exceeds the unpadded 1x1 input. */
    ck_assert_ae_status(ae_model_add_conv2d(m, AE_ENCODER, 1, 3, 1, 0,
                                            AE_ACT_NONE),
                        AE_ERR_SHAPE);
    assert_error_mentions("layer 0", "kernel 3 x 3");
    ck_assert_uint_eq(ae_model_layer_count(m), 0);
    ae_model_free(m);
}
END_TEST

/* ---- the models of experiments 6 and 7 --------------------------------- */

/* 1x28x28 -> 8x14x14 -> 16x7x7 -> 16x3x3. */
static ae_model *exp6_encoder(void)
{
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 1, 28, 28, 6));
    ck_assert_ae_ok(ae_model_add_conv2d(m, AE_ENCODER, 8, 3, 1, 1,
                                        AE_ACT_RELU));
    ck_assert_ae_ok(ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2));
    ck_assert_ae_ok(ae_model_add_conv2d(m, AE_ENCODER, 16, 3, 1, 1,
                                        AE_ACT_RELU));
    ck_assert_ae_ok(ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2));
    ck_assert_ae_ok(ae_model_add_conv2d(m, AE_ENCODER, 16, 3, 1, 1,
                                        AE_ACT_RELU));
    ck_assert_ae_ok(ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2));
    return m;
}

enum { DEC_UNPOOL = 0, DEC_DECONV = 1, DEC_BOTH = 2 };

static ae_model *exp6_model(int decoder)
{
    ae_model *m = exp6_encoder();
    const ae_part d = AE_DECODER;
    switch (decoder) {
    case DEC_UNPOOL:
        ck_assert_ae_ok(ae_model_add_maxunpool2d(m, d, 5, 7, 7));
        ck_assert_ae_ok(ae_model_add_conv2d(m, d, 16, 3, 1, 1, AE_ACT_RELU));
        ck_assert_ae_ok(ae_model_add_maxunpool2d(m, d, 3, 14, 14));
        ck_assert_ae_ok(ae_model_add_conv2d(m, d, 8, 3, 1, 1, AE_ACT_RELU));
        ck_assert_ae_ok(ae_model_add_maxunpool2d(m, d, 1, 28, 28));
        ck_assert_ae_ok(ae_model_add_conv2d(m, d, 1, 3, 1, 1,
                                            AE_ACT_SIGMOID));
        break;
    case DEC_DECONV:
        ck_assert_ae_ok(ae_model_add_conv_transpose2d(m, d, 16, 3, 2, 0, 0,
                                                      AE_ACT_RELU));
        ck_assert_ae_ok(ae_model_add_conv_transpose2d(m, d, 8, 4, 2, 1, 0,
                                                      AE_ACT_RELU));
        ck_assert_ae_ok(ae_model_add_conv_transpose2d(m, d, 1, 4, 2, 1, 0,
                                                      AE_ACT_SIGMOID));
        break;
    default:
        ck_assert_ae_ok(ae_model_add_maxunpool2d(m, d, 5, 7, 7));
        ck_assert_ae_ok(ae_model_add_conv_transpose2d(m, d, 16, 3, 1, 1, 0,
                                                      AE_ACT_RELU));
        ck_assert_ae_ok(ae_model_add_maxunpool2d(m, d, 3, 14, 14));
        ck_assert_ae_ok(ae_model_add_conv_transpose2d(m, d, 8, 3, 1, 1, 0,
                                                      AE_ACT_RELU));
        ck_assert_ae_ok(ae_model_add_maxunpool2d(m, d, 1, 28, 28));
        ck_assert_ae_ok(ae_model_add_conv_transpose2d(m, d, 1, 3, 1, 1, 0,
                                                      AE_ACT_SIGMOID));
        break;
    }
    return m;
}

/* conv 1->32 same ReLU, pool 2; conv 32->64 ReLU, pool 2 (64x7x7);
 * conv 64->64 ReLU, upsample 2; conv 64->32 ReLU, upsample 2; conv 32->1
 * Sigmoid. */
static ae_model *exp7_model(void)
{
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 1, 28, 28, 7));
    ck_assert_ae_ok(ae_model_add_conv2d(m, AE_ENCODER, 32, 3, 1, -1,
                                        AE_ACT_RELU));
    ck_assert_ae_ok(ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2));
    ck_assert_ae_ok(ae_model_add_conv2d(m, AE_ENCODER, 64, 3, 1, -1,
                                        AE_ACT_RELU));
    ck_assert_ae_ok(ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2));
    ck_assert_ae_ok(ae_model_add_conv2d(m, AE_DECODER, 64, 3, 1, -1,
                                        AE_ACT_RELU));
    ck_assert_ae_ok(ae_model_add_upsample2d(m, AE_DECODER, 2));
    ck_assert_ae_ok(ae_model_add_conv2d(m, AE_DECODER, 32, 3, 1, -1,
                                        AE_ACT_RELU));
    ck_assert_ae_ok(ae_model_add_upsample2d(m, AE_DECODER, 2));
    ck_assert_ae_ok(ae_model_add_conv2d(m, AE_DECODER, 1, 3, 1, -1,
                                        AE_ACT_SIGMOID));
    return m;
}

/* Digit-like images: a few bright strokes (rectangles) on black. */
static void strokes(float *x, size_t n, uint32_t seed)
{
    uint32_t s = seed * 2654435761u + 1;
    memset(x, 0, n * 784 * sizeof *x);
    for (size_t b = 0; b < n; b++)
        for (int r = 0; r < 3; r++) {
            s = s * 1664525u + 1013904223u;
            int i0 = 4 + (int)(s >> 8) % 16, j0 = 4 + (int)(s >> 16) % 16;
            int tall = (s >> 30) & 1;
            int hh = tall ? 12 : 3, ww = tall ? 3 : 12;
            for (int i = i0; i < i0 + hh && i < 28; i++)
                for (int j = j0; j < j0 + ww && j < 28; j++)
                    x[b * 784 + (size_t)i * 28 + j] = 1.0f;
        }
}

/* A few Adam steps on one batch lower its loss; the reconstruction has the
 * input's shape and lies in (0, 1). */
static void check_trains(ae_model *m, ae_loss loss, size_t batch, int steps)
{
    ck_assert_ae_ok(ae_model_validate(m));
    ck_assert_uint_eq(ae_model_input_size(m), 784);
    float *x = malloc(batch * 784 * sizeof *x);
    float *y = malloc(batch * 784 * sizeof *y);
    ck_assert(x && y);
    strokes(x, batch, 3);
    ck_assert_ae_ok(ae_model_reconstruct(m, x, batch, y));
    for (size_t i = 0; i < batch * 784; i++)
        ck_assert(y[i] > 0.0f && y[i] < 1.0f);
    ae_optimizer *opt;
    ae_trainer *t;
    ck_assert_ae_ok(ae_optimizer_create_adam(&opt, 5e-3f));
    ck_assert_ae_ok(ae_trainer_create(&t, m, opt));
    ck_assert_ae_ok(ae_trainer_set(t, AE_TRAIN_LOSS, loss));
    float first = 0, last = 0;
    for (int s = 0; s < steps; s++)
        ck_assert_ae_ok(ae_trainer_step(t, x, NULL, batch,
                                        s == 0 ? &first : &last));
    ck_assert_msg(last < 0.97f * first, "loss %g -> %g after %d steps",
                  (double)first, (double)last, steps);
    ae_trainer_free(t);
    ae_optimizer_free(opt);
    free(x);
    free(y);
}

START_TEST(experiment6_models)
{
    static const size_t params[] = {3568 + 2320 + 1160 + 73,
                                    3568 + 2320 + 2056 + 129,
                                    3568 + 2320 + 1160 + 73};
    ae_model *m = exp6_model(_i);
    ck_assert_uint_eq(ae_model_encoder_layer_count(m), 6);
    ck_assert_uint_eq(ae_model_code_size(m), 16 * 3 * 3);
    assert_shape(layer_at(m, 5), 16, 3, 3);
    assert_shape(layer_at(m, 6), 16, 7, 7);
    assert_shape(layer_at(m, ae_model_layer_count(m) - 1), 1, 28, 28);
    ck_assert_uint_eq(ae_model_param_count(m), params[_i]);
    check_trains(m, AE_LOSS_MSE, 16, 8);
    ae_model_free(m);
}
END_TEST

START_TEST(experiment7_model)
{
    ae_model *m = exp7_model();
    ck_assert_uint_eq(ae_model_param_count(m), 74497);
    ck_assert_uint_eq(ae_model_code_size(m), 64 * 7 * 7);
    assert_shape(layer_at(m, 4), 64, 7, 7);
    assert_shape(layer_at(m, 7), 32, 28, 28);
    check_trains(m, AE_LOSS_BCE, 16, 6);
    ae_model_free(m);
}
END_TEST

/* Decoding the codes of the latest encode call reproduces the
 * reconstruction: the unpooling layers reuse that pass's positions. */
START_TEST(decode_after_encode_reconstructs)
{
    ae_model *m = exp6_model(DEC_BOTH);
    enum { B = 5 };
    float *x = malloc(B * 784 * sizeof *x), *y = malloc(B * 784 * 4);
    float *z = malloc(B * 784 * 4), code[B * 144];
    ck_assert(x && y && z);
    strokes(x, B, 8);
    ck_assert_ae_ok(ae_model_reconstruct(m, x, B, y));
    ck_assert_ae_ok(ae_model_encode(m, x, B, code));
    ck_assert_ae_ok(ae_model_decode(m, code, B, z));
    assert_close(z, y, B * 784, 0, "decoded");
    free(x);
    free(y);
    free(z);
    ae_model_free(m);
}
END_TEST

/* Every setting lives in the layer configuration, so a saved model comes
 * back with the same architecture and outputs. */
START_TEST(save_and_load_round_trip)
{
    ae_model *m = _i == 0 ? exp7_model() : exp6_model(DEC_UNPOOL), *back;
    size_t size = 0;
    ck_assert_ae_ok(ae_model_save_memory(m, NULL, 0, &size));
    void *buf = malloc(size);
    ck_assert_ae_ok(ae_model_save_memory(m, buf, size, &size));
    ck_assert_ae_ok(ae_model_load_memory(&back, buf, size));
    ck_assert_uint_eq(ae_model_layer_count(back), ae_model_layer_count(m));
    ck_assert_uint_eq(ae_model_param_count(back), ae_model_param_count(m));
    float x[2 * 784], y[2 * 784], z[2 * 784];
    strokes(x, 2, 4);
    ck_assert_ae_ok(ae_model_reconstruct(m, x, 2, y));
    ck_assert_ae_ok(ae_model_reconstruct(back, x, 2, z));
    assert_close(z, y, 2 * 784, 0, "reloaded");
    free(buf);
    ae_model_free(back);
    ae_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("conv");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, forward_matches_pytorch, 0,
                        sizeof ref_cases / sizeof ref_cases[0]);
    tcase_add_loop_test(tc, pool_and_unpool_match_pytorch, 0, 2);
    tcase_add_test(tc, pool_floor_by_hand);
    tcase_add_test(tc, pool_2x2_ties_by_scan_order);
    tcase_add_test(tc, upsample_by_hand);
    tcase_add_test(tc, reshape_keeps_values);
    tcase_add_test(tc, unpool_positions_of_latest_pass);
    tcase_add_test(tc, initialisation_like_pytorch);
    tcase_add_loop_test(tc, conv2d_gradients, 0,
                        sizeof conv_grads / sizeof conv_grads[0]);
    tcase_add_loop_test(tc, conv_transpose2d_gradients, 0,
                        sizeof convt_grads / sizeof convt_grads[0]);
    tcase_add_loop_test(tc, pool_gradients, 0, sizeof pools / sizeof pools[0]);
    tcase_add_loop_test(tc, unpool_gradients, 0,
                        sizeof pools / sizeof pools[0]);
    tcase_add_loop_test(tc, upsample_gradients, 0, 2);
    tcase_add_test(tc, dense_bottleneck_gradients);
    tcase_add_loop_test(tc, chunked_batches_match_single_images, 0,
                        sizeof chunk_cases / sizeof chunk_cases[0]);
    tcase_add_test(tc, shape_errors);
    tcase_add_test(tc, negative_output_size);
    tcase_add_loop_test(tc, experiment6_models, 0, 3);
    tcase_add_test(tc, experiment7_model);
    tcase_add_test(tc, decode_after_encode_reconstructs);
    tcase_add_loop_test(tc, save_and_load_round_trip, 0, 2);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}

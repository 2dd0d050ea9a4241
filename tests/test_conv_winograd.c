/* test_conv_winograd.c - the 3x3 stride-1 convolutions by Winograd's
 * F(4x4, 3x3) (lib/layers/conv_winograd.c) against the direct path they
 * replace: outputs, weight, bias and input gradients on the layer shapes
 * of experiments 6 and 7 and on edge shapes; the seed models end to end,
 * and one image through them as inference runs it; the transformed
 * kernels kept between inference calls, after each way the weights
 * change (a checkpoint restored included); finite-difference
 * gradients through the fast path; and the same bits
 * at any thread count, for batches of one image (whose stages share the
 * threads) and of several chunks.
 *
 * The tolerance: every value within TOL times the largest magnitude of
 * the direct path's values of that array (outputs, or one layer's weight
 * gradient).  F(4x4, 3x3)'s transforms have coefficients up to 8 (A^T),
 * 5 (B^T) and 1/24 (G), so its rounding differs from the direct sums by
 * some units in the last place of the largest terms, scaled by A.  The
 * largest difference seen on these cases was 7.2e-6 of the scale (an
 * output of 37 images; median 7.6e-7), against 1.9e-6 for F(2x2, 3x3),
 * whose coefficients were 0, +-1 and +-1/2; TOL = 5e-5 leaves a margin
 * of about 7.  The channel counts include ones that are not a
 * multiple of 4, for the transposes' SSE blocks and their scalar tails. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "layers/conv_winograd.h"
#include "nn/model.h"
#include "testutil.h"

#define TOL 5e-5

enum { DIRECT = 0, RULE = 1, FORCED = 2 };

/* Largest |got - want| over the largest |want|. */
static double scaled_error(const float *got, const float *want, size_t n)
{
    double err = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        err = fmax(err, fabs((double)got[i] - want[i]));
        scale = fmax(scale, fabs((double)want[i]));
    }
    return err / fmax(scale, 1e-30);
}

static void assert_agree(const float *got, const float *want, size_t n,
                         const char *what)
{

    const double e = scaled_error(got, want, n);
    ck_assert_msg(e <= TOL, "%s: Winograd differs from the direct path by "
                            "%.3g of the largest value (bound %g)",
                  what, e, TOL);
}

/* ---- one layer ----------------------------------------------------------- */

typedef struct layer_case {
    int in_c, out_c, h, w, pad, transposed;
    int by_rule; /* 1 if the rule takes Winograd for it */
} layer_case;

static const layer_case layer_cases[] = {
    /* experiment 7's convolutions between many channels */
    {32, 64, 14, 14, 1, 0, 1},
    {64, 64, 7, 7, 1, 0, 1},
    {64, 32, 14, 14, 1, 0, 1},
    /* experiment 6's, convolutions and stride-1 transposed ones */
    {8, 16, 14, 14, 1, 0, 1},
    {16, 16, 7, 7, 1, 0, 1},
    {16, 8, 14, 14, 1, 0, 1},
    {16, 16, 7, 7, 1, 1, 1},
    {16, 8, 14, 14, 1, 1, 1},
    /* transposed at experiment 7's widths */
    {32, 64, 14, 14, 1, 1, 1},
    /* edges: odd and uneven sides, padding 0 and 2, a 1x1 input, and
     * transposed convolutions at padding 0 and 2 (convolutions at 2, 0);
     * channel counts that are not a multiple of the vector width */
    {9, 8, 5, 6, 0, 0, 1},
    {8, 9, 3, 3, 2, 0, 1},
    {8, 8, 1, 1, 1, 0, 1},
    {8, 8, 6, 5, 0, 1, 1},
    {8, 8, 9, 9, 2, 1, 1},
    {5, 7, 7, 7, 1, 0, 0},
    {7, 3, 6, 6, 1, 1, 0},
    /* one channel in, one out: Winograd's products are then rank-1 */
    {1, 8, 8, 8, 1, 0, 0},
    {8, 1, 8, 8, 1, 1, 0},
};

/* A 1x1 convolution in front, so that the tested layer computes its input
 * gradient and the front layer's gradients show it (dW = sum dx x^T, db =
 * sum dx), then the layer under test. */
static ae_model *layer_model(const layer_case *lc)
{
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, lc->in_c, lc->h, lc->w, 5));
    ck_assert_ae_ok(ae_model_add_conv2d(m, AE_ENCODER, lc->in_c, 1, 1, 0,
                                        AE_ACT_NONE));
    if (lc->transposed)
        ck_assert_ae_ok(ae_model_add_conv_transpose2d(
            m, AE_ENCODER, lc->out_c, 3, 1, lc->pad, 0, AE_ACT_NONE));
    else
        ck_assert_ae_ok(ae_model_add_conv2d(m, AE_ENCODER, lc->out_c, 3, 1,
                                            lc->pad, AE_ACT_NONE));
    return m;
}

/* Output and gradients of model m on x and dy under a mode. */
static void passes(ae_model *m, int mode, const float *x, size_t batch,
                   const float *dy, float *y, size_t n_out, float *grads)
{
    ae__winograd_allow(mode);
    const float *out;
    ck_assert_ae_ok(ae__model_forward(m, 0, ae_model_layer_count(m) - 1, x,
                                      batch, 1, &out));
    memcpy(y, out, n_out * sizeof *y);
    ck_assert_ae_ok(ae__model_backward(m, x, batch, dy, 0, 0.0f, NULL));
    memcpy(grads, ae__model_grads(m),
           ae_model_param_count(m) * sizeof *grads);
    ae__winograd_allow(RULE);
}

/* Compare the gradients layer by layer, weights and bias apart. */
static void assert_grads_agree(ae_model *m, const float *got,
                               const float *want)
{
    size_t off = 0;
    char what[64];
    for (size_t i = 0; i < ae_model_layer_count(m); i++) {
        ae_layer *l;
        ck_assert_ae_ok(ae_model_layer(m, i, &l));
        const size_t nw = ae_layer_weight_count(l),
                     nb = ae_layer_bias_count(l);
        snprintf(what, sizeof what, "layer %zu weight gradient", i);
        if (nw)
            assert_agree(got + off, want + off, nw, what);
        snprintf(what, sizeof what, "layer %zu bias gradient", i);
        if (nb)
            assert_agree(got + off + nw, want + off + nw, nb, what);
        off += nw + nb;
    }
    ck_assert_uint_eq(off, ae_model_param_count(m));
}

START_TEST(layer_matches_direct)
{
    const layer_case *lc = &layer_cases[_i];
    ck_assert_int_eq(
        ae__winograd_suits(lc->in_c, lc->out_c, 3, 1, lc->transposed),
        lc->by_rule);
    ae__winograd_allow(DIRECT);
    ck_assert_int_eq(
        ae__winograd_suits(lc->in_c, lc->out_c, 3, 1, lc->transposed), 0);
    ae__winograd_allow(RULE);
    ae_model *m = layer_model(lc);
    ae_layer *l;
    ck_assert_ae_ok(ae_model_layer(m, 1, &l));
    const size_t n_in = ae_model_input_size(m);
    const size_t n_out = ae_layer_output_size(l);
    const size_t n_par = ae_model_param_count(m);
    /* One image (its stages share the threads), a few (one chunk), and
     * enough for several chunks with a shorter last one. */
    static const size_t batches[] = {1, 5, 37};
    for (int bi = 0; bi < 3; bi++) {
        const size_t batch = batches[bi];
        float *x = malloc(batch * n_in * sizeof *x);
        float *dy = malloc(batch * n_out * sizeof *dy);
        float *y[2] = {malloc(batch * n_out * sizeof(float)),
                       malloc(batch * n_out * sizeof(float))};
        float *g[2] = {malloc(n_par * sizeof(float)),
                       malloc(n_par * sizeof(float))};
        ck_assert(x && dy && y[0] && y[1] && g[0] && g[1]);
        tu_fill_uniform(x, batch * n_in, -1, 1, 11 + (uint32_t)bi);
        tu_fill_uniform(dy, batch * n_out, -1, 1, 21 + (uint32_t)bi);
        passes(m, DIRECT, x, batch, dy, y[0], batch * n_out, g[0]);
        passes(m, FORCED, x, batch, dy, y[1], batch * n_out, g[1]);
        char what[64];
        snprintf(what, sizeof what, "output of %zu images", batch);
        assert_agree(y[1], y[0], batch * n_out, what);
        assert_grads_agree(m, g[1], g[0]);
        /* The paths did differ: the fast one's rounding is its own. */
        ck_assert_msg(memcmp(y[0], y[1], batch * n_out * sizeof(float)) ||
                          memcmp(g[0], g[1], n_par * sizeof(float)),
                      "the Winograd path gave the direct path's bits");
        free(x);
        free(dy);
        for (int k = 0; k < 2; k++) {
            free(y[k]);
            free(g[k]);
        }
    }
    ae_model_free(m);
}
END_TEST

/* ---- finite differences through the fast path ---------------------------- */

START_TEST(gradients_through_winograd)
{
    ae__winograd_allow(FORCED);
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 3, 7, 6, 31));
    ck_assert_ae_ok(ae_model_add_conv2d(m, AE_ENCODER, 4, 3, 1, 1,
                                        AE_ACT_TANH)); /* 4x7x6 */
    ck_assert_ae_ok(ae_model_add_conv2d(m, AE_ENCODER, 5, 3, 1, 0,
                                        AE_ACT_TANH)); /* 5x5x4 */
    ck_assert_ae_ok(ae_model_add_conv_transpose2d(m, AE_DECODER, 4, 3, 1, 0,
                                                  0, AE_ACT_TANH)); /* 4x7x6 */
    ck_assert_ae_ok(ae_model_add_conv_transpose2d(m, AE_DECODER, 3, 3, 1, 2,
                                                  0, AE_ACT_NONE)); /* 3x5x4 */
    gc_assert_model(m, 2, -1.0f, 1.0f, 0, 41, 5e-3);
    ae_model_free(m);
    ae__winograd_allow(RULE);
}
END_TEST

/* ---- the seed models ------------------------------------------------------ */

/* Experiment 7's model (examples/models.c) and experiment 6's with both
 * stride-1 decoders. */
static ae_model *seed_model(int which)
{
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 1, 28, 28, 7));
    const ae_part e = AE_ENCODER, d = AE_DECODER;
    if (which == 0) {
        ck_assert_ae_ok(ae_model_add_conv2d(m, e, 32, 3, 1, -1, AE_ACT_RELU));
        ck_assert_ae_ok(ae_model_add_maxpool2d(m, e, 2, 2));
        ck_assert_ae_ok(ae_model_add_conv2d(m, e, 64, 3, 1, -1, AE_ACT_RELU));
        ck_assert_ae_ok(ae_model_add_maxpool2d(m, e, 2, 2));
        ck_assert_ae_ok(ae_model_add_conv2d(m, d, 64, 3, 1, -1, AE_ACT_RELU));
        ck_assert_ae_ok(ae_model_add_upsample2d(m, d, 2));
        ck_assert_ae_ok(ae_model_add_conv2d(m, d, 32, 3, 1, -1, AE_ACT_RELU));
        ck_assert_ae_ok(ae_model_add_upsample2d(m, d, 2));
        ck_assert_ae_ok(ae_model_add_conv2d(m, d, 1, 3, 1, -1,
                                            AE_ACT_SIGMOID));
        return m;
    }
    static const int widths[] = {8, 16, 16};
    for (int i = 0; i < 3; i++) {
        ck_assert_ae_ok(ae_model_add_conv2d(m, e, widths[i], 3, 1, 1,
                                            AE_ACT_RELU));
        ck_assert_ae_ok(ae_model_add_maxpool2d(m, e, 2, 2));
    }
    static const int sides[] = {7, 14, 28}, pools[] = {5, 3, 1},
                     outs[] = {16, 8, 1};
    for (int i = 0; i < 3; i++) {
        ck_assert_ae_ok(ae_model_add_maxunpool2d(m, d, (size_t)pools[i],
                                                 sides[i], sides[i]));
        ck_assert_ae_ok(ae_model_add_conv_transpose2d(
            m, d, outs[i], 3, 1, 1, 0, i < 2 ? AE_ACT_RELU : AE_ACT_SIGMOID));
    }
    return m;
}

START_TEST(seed_models_agree)
{
    ae_model *m = seed_model(_i);
    enum { B = 19 };
    const size_t n = ae_model_input_size(m), n_par = ae_model_param_count(m);
    float *x = malloc(B * n * sizeof *x), *dy = malloc(B * n * sizeof *dy);
    float *y[2] = {malloc(B * n * sizeof(float)), malloc(B * n * sizeof(float))};
    float *g[2] = {malloc(n_par * sizeof(float)), malloc(n_par * sizeof(float))};
    ck_assert(x && dy && y[0] && y[1] && g[0] && g[1]);
    tu_fill_uniform(x, B * n, 0, 1, 3);
    tu_fill_uniform(dy, B * n, -1, 1, 4);
    passes(m, DIRECT, x, B, dy, y[0], B * n, g[0]);
    passes(m, FORCED, x, B, dy, y[1], B * n, g[1]);
    assert_agree(y[1], y[0], B * n, "model output");
    assert_grads_agree(m, g[1], g[0]);
    passes(m, RULE, x, B, dy, y[1], B * n, g[1]);
    assert_agree(y[1], y[0], B * n, "model output");
    assert_grads_agree(m, g[1], g[0]);
    free(x);
    free(dy);
    for (int k = 0; k < 2; k++) {
        free(y[k]);
        free(g[k]);
    }
    ae_model_free(m);
}
END_TEST

/* One image through ae_model_reconstruct, as a user calls it: by the rule
 * its Winograd layers split the image's transforms by tile rows and its
 * products among the threads (conv_winograd.c, run_stage).  It agrees
 * with the direct path, and gives the same bits at 1, 2 and 3 threads. */
START_TEST(one_image_inference)
{
    const int before = ae_threads();
    ae_model *m = seed_model(_i);
    const size_t n = ae_model_input_size(m);
    float *x = malloc(n * sizeof *x), *direct = malloc(n * sizeof *direct);
    float *y[3] = {malloc(n * sizeof(float)), malloc(n * sizeof(float)),
                   malloc(n * sizeof(float))};
    ck_assert(x && direct && y[0] && y[1] && y[2]);
    tu_fill_uniform(x, n, 0, 1, 5);
    ae__winograd_allow(DIRECT);
    ck_assert_ae_ok(ae_model_reconstruct(m, x, 1, direct));
    ae__winograd_allow(RULE);
    for (int t = 0; t < 3; t++) {
        ck_assert_ae_ok(ae_set_threads(t + 1));
        ck_assert_ae_ok(ae_model_reconstruct(m, x, 1, y[t]));
    }
    assert_agree(y[0], direct, n, "one image's reconstruction");
    ck_assert_msg(memcmp(y[0], direct, n * sizeof *direct) != 0,
                  "one image did not take the Winograd path");
    for (int t = 1; t < 3; t++)
        ck_assert_msg(memcmp(y[0], y[t], n * sizeof *direct) == 0,
                      "one image: %d threads gave other bits than 1", t + 1);
    free(x);
    free(direct);
    for (int t = 0; t < 3; t++)
        free(y[t]);
    ae_model_free(m);
    ck_assert_ae_ok(ae_set_threads(before));
}
END_TEST

/* ---- the transformed kernels kept between inference calls -------------- */

/* m's reconstruction of x must be that of a copy of m (loaded from its
 * saved bytes, so with no kernels kept): the kept kernels follow every
 * change of the weights. */
static void assert_as_fresh_copy(ae_model *m, const float *x, size_t batch,
                                 const char *after)
{
    size_t size = 0;
    ck_assert_ae_ok(ae_model_save_memory(m, NULL, 0, &size));
    void *bytes = malloc(size);
    ck_assert_ptr_nonnull(bytes);
    ck_assert_ae_ok(ae_model_save_memory(m, bytes, size, &size));
    ae_model *copy;
    ck_assert_ae_ok(ae_model_load_memory(&copy, bytes, size));
    const size_t n = batch * ae_model_input_size(m);
    float *got = malloc(n * sizeof *got), *want = malloc(n * sizeof *want);
    ck_assert(got && want);
    ck_assert_ae_ok(ae_model_reconstruct(m, x, batch, got));
    ck_assert_ae_ok(ae_model_reconstruct(copy, x, batch, want));
    ck_assert_msg(memcmp(got, want, n * sizeof *got) == 0,
                  "after %s, the reconstruction is not the fresh model's",
                  after);
    free(got);
    free(want);
    free(bytes);
    ae_model_free(copy);
}

START_TEST(kept_kernels_follow_the_weights)
{
    ae_model *m = seed_model(_i);
    enum { B = 3 };
    const size_t n = ae_model_input_size(m);
    float *x = malloc(B * n * sizeof *x);
    ck_assert_ptr_nonnull(x);
    tu_fill_uniform(x, B * n, 0, 1, 8);
    assert_as_fresh_copy(m, x, 1, "the first call");
    assert_as_fresh_copy(m, x, 1, "a second call");

    ae_layer *l; /* a layer on the Winograd path (32 -> 64, or 8 -> 16) */
    ck_assert_ae_ok(ae_model_layer(m, 2, &l));
    const size_t nw = ae_layer_weight_count(l);
    float *w = malloc(nw * sizeof *w);
    ck_assert_ptr_nonnull(w);
    ck_assert_ae_ok(ae_layer_get_weights(l, w, nw));
    for (size_t i = 0; i < nw; i++)
        w[i] = -0.5f * w[i];
    ck_assert_ae_ok(ae_layer_set_weights(l, w, nw));
    assert_as_fresh_copy(m, x, 1, "ae_layer_set_weights");

    /* A trainer's step, a checkpoint restored over the next one, then
     * the low-level calls' step. */
    ae_optimizer *o;
    ae_trainer *t;
    ck_assert_ae_ok(ae_optimizer_create_adam(&o, 1e-2f));
    ck_assert_ae_ok(ae_trainer_create(&t, m, o));
    ck_assert_ae_ok(ae_trainer_step(t, x, NULL, B, NULL));
    assert_as_fresh_copy(m, x, B, "a trainer's step");
    const char *path = tu_tmp_path(_i == 0 ? "kept0.aeckpt" : "kept1.aeckpt");
    ck_assert_ae_ok(ae_trainer_save_checkpoint(t, path));
    ck_assert_ae_ok(ae_trainer_step(t, x, NULL, B, NULL));
    assert_as_fresh_copy(m, x, 1, "another step");
    ck_assert_ae_ok(ae_trainer_load_checkpoint(t, path));
    assert_as_fresh_copy(m, x, 1, "ae_trainer_load_checkpoint");
    remove(path);
    ae_trainer_free(t);
    const float *y = NULL;
    ck_assert_ae_ok(ae_model_forward_train(m, x, B, &y, NULL));
    float *g = malloc(B * n * sizeof *g);
    ck_assert_ptr_nonnull(g);
    for (size_t i = 0; i < B * n; i++)
        g[i] = y[i] - x[i];
    ck_assert_ae_ok(ae_model_zero_gradients(m));
    ck_assert_ae_ok(ae_model_backward(m, g, NULL, 0));
    ck_assert_ae_ok(ae_optimizer_step(o, m));
    assert_as_fresh_copy(m, x, 1, "ae_optimizer_step");
    free(g);
    free(w);
    free(x);
    ae_optimizer_free(o);
    ae_model_free(m);
}
END_TEST

/* ---- the same bits at any thread count ------------------------------------ */

/* Parameters after a few Adam steps on fixed images at a thread count. */
static float *train_params(int threads, size_t batch)
{
    ck_assert_ae_ok(ae_set_threads(threads));
    ae_model *m = seed_model(0);
    ae_optimizer *o;
    ae_trainer *t;
    ck_assert_ae_ok(ae_optimizer_create_adam(&o, 1e-3f));
    ck_assert_ae_ok(ae_trainer_create(&t, m, o));
    ck_assert_ae_ok(ae_trainer_set(t, AE_TRAIN_LOSS, AE_LOSS_BCE));
    float *x = malloc(batch * 784 * sizeof *x);
    ck_assert_ptr_nonnull(x);
    tu_fill_uniform(x, batch * 784, 0, 1, 9);
    for (int s = 0; s < 3; s++)
        ck_assert_ae_ok(ae_trainer_step(t, x, NULL, batch, NULL));
    const size_t n = ae_model_param_count(m);
    float *p = malloc(n * sizeof *p);
    ck_assert_ptr_nonnull(p);
    memcpy(p, ae__model_params_const(m), n * sizeof *p);
    free(x);
    ae_trainer_free(t);
    ae_optimizer_free(o);
    ae_model_free(m);
    return p;
}

START_TEST(same_bits_at_any_thread_count)
{
    const int before = ae_threads();
    /* Every 3x3 layer by Winograd, the 1 -> 32 and 32 -> 1 ones too (the
     * rule would leave them to the direct path).  One image: its Winograd
     * stages share the threads; 24: several chunks, shared by the
     * threads. */
    ae__winograd_allow(FORCED);
    static const size_t batches[] = {1, 24};
    const size_t batch = batches[_i];
    ae_model *probe = seed_model(0);
    const size_t n = ae_model_param_count(probe);
    ae_model_free(probe);
    float *one = train_params(1, batch);
    for (int threads = 2; threads <= 3; threads++) {
        float *other = train_params(threads, batch);
        ck_assert_msg(memcmp(one, other, n * sizeof *one) == 0,
                      "batch %zu: %d threads trained other bits than 1",
                      batch, threads);
        free(other);
    }
    free(one);
    ae__winograd_allow(RULE);
    ck_assert_ae_ok(ae_set_threads(before));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("conv_winograd");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, layer_matches_direct, 0,
                        sizeof layer_cases / sizeof layer_cases[0]);
    tcase_add_test(tc, gradients_through_winograd);
    tcase_add_loop_test(tc, seed_models_agree, 0, 2);
    tcase_add_loop_test(tc, one_image_inference, 0, 2);
    tcase_add_loop_test(tc, kept_kernels_follow_the_weights, 0, 2);
    tcase_add_loop_test(tc, same_bits_at_any_thread_count, 0, 2);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}

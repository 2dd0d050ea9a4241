/* test_vae.c - variational autoencoders: the Gaussian sampling layer, the
 * KL term, the trainer's terms and generation.
 *   - PyTorch parity (tests/reference/vae_reference.py, its output
 *     vae_fixture.h): the same weights and eps give the same code, output,
 *     loss terms and every parameter gradient, through the public
 *     step-by-step calls;
 *   - finite differences of the whole loss (BCE summed per image plus beta
 *     KL) with eps held fixed by ae_model_set_sample_seed;
 *   - forward-only passes give the means; eps follows the seed;
 *   - the trainer's terms (ae_trainer_last_terms, _evaluate_terms), the
 *     per-image sum's scale, beta 0, an exploding log-variance;
 *   - ae_model_generate is deterministic by seed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "nn/model.h"
#include "reference/vae_fixture.h"
#include "testutil.h"

/* v[i] = ((i * mul + add) % mod - off) / scale, as the script's ramp(). */
static void vr_ramp(float *v, size_t n, int mul, int add, int mod, int off,
                    float scale)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(((int)i * mul + add) % mod - off) / scale;
}

/* The script's model: dense 5 tanh, dense 4, sampling, dense 5 relu, dense
 * 6 sigmoid, with its formula weights. */
static ae_model *reference_model(void)
{
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 1, 2, 3, 1));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, VR_HIDDEN,
                                       AE_ACT_TANH));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 2 * VR_K, AE_ACT_NONE));
    ck_assert_ae_ok(ae_model_add_gaussian_sample(m, AE_ENCODER));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, VR_HIDDEN,
                                       AE_ACT_RELU));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, VR_D, AE_ACT_SIGMOID));
    ck_assert_uint_eq(ae_model_code_size(m), VR_K);
    const size_t dense[4] = {0, 1, 3, 4};
    for (int salt = 0; salt < 4; salt++) {
        ae_layer *l;
        ck_assert_ae_ok(ae_model_layer(m, dense[salt], &l));
        vr_ramp(l->weights, l->n_weights, 5 + 2 * salt, salt, 9, 4, 8.0f);
        vr_ramp(l->bias, l->n_bias, 3, salt, 5, 2, 4.0f);
    }
    return m;
}

static void reference_input(float *x)
{
    vr_ramp(x, VR_BATCH * VR_D, 7, 3, 11, 0, 10.0f);
}

static void expect_near(const char *what, size_t i, double got, double want,
                        double tol)
{
    double err = fabs(got - want) / fmax(1.0, fabs(want));
    ck_assert_msg(err <= tol, "%s[%zu]: %.9g, PyTorch %.9g (error %.3g)",
                  what, i, got, want, err);
}

/* The experiment-8 loss of the latest training pass through the public
 * calls: BCE summed per image and beta KL, both averaged over the batch;
 * its gradients applied by ae_model_backward. */
static double elbo_loss(ae_model *m, const float *x, size_t batch,
                        double beta, int backward, double *recon,
                        double *kl)
{
    const size_t d = ae_model_input_size(m), n = batch * d;
    const float *y = NULL;
    ck_assert_ae_ok(ae_model_forward_train(m, x, batch, &y, NULL));
    float *grad = malloc(n * sizeof *grad);
    ck_assert_ptr_nonnull(grad);
    double mean = 0.0, kl_sum = 0.0;
    ck_assert_ae_ok(ae_loss_compute(AE_LOSS_BCE, y, x, n,
                                    AE_GRAD_PREACTIVATION, grad, &mean));
    ck_assert_ae_ok(ae_model_kl_divergence(m, &kl_sum));
    for (size_t i = 0; i < n; i++) /* the mean over values, times d */
        grad[i] *= (float)d;
    if (backward) {
        ck_assert_ae_ok(ae_model_set_kl_weight(m, beta / (double)batch));
        ck_assert_ae_ok(ae_model_zero_gradients(m));
        ck_assert_ae_ok(ae_model_backward(m, grad, NULL,
                                          AE_GRAD_PREACTIVATION));
    }
    free(grad);
    *recon = mean * (double)d;
    *kl = kl_sum / (double)batch;
    return *recon + beta * *kl;
}

START_TEST(matches_pytorch)
{
    ae_model *m = reference_model();
    float x[VR_BATCH * VR_D];
    reference_input(x);
    ck_assert_ae_ok(ae_model_set_sample_seed(m, VR_SEED));
    const float *y = NULL, *code = NULL;
    ck_assert_ae_ok(ae_model_forward_train(m, x, VR_BATCH, &y, &code));
    for (size_t i = 0; i < VR_BATCH * VR_K; i++)
        expect_near("code", i, code[i], vr_code[i], 1e-5);
    for (size_t i = 0; i < VR_BATCH * VR_D; i++)
        expect_near("output", i, y[i], vr_output[i], 1e-5);

    double recon, kl;
    ck_assert_ae_ok(ae_model_set_sample_seed(m, VR_SEED));
    double loss = elbo_loss(m, x, VR_BATCH, VR_BETA, 1, &recon, &kl);
    expect_near("reconstruction", 0, recon, vr_recon, 1e-5);
    expect_near("KL", 0, kl, vr_kl, 1e-5);
    expect_near("loss", 0, loss, vr_loss, 1e-5);

    size_t n = ae_model_param_count(m);
    float *g = malloc(n * sizeof *g);
    ck_assert_ae_ok(ae_model_get_gradients(m, g, n));
    const double *want_w[4] = {vr_grad_w0, vr_grad_w1, vr_grad_w2,
                               vr_grad_w3};
    const double *want_b[4] = {vr_grad_b0, vr_grad_b1, vr_grad_b2,
                               vr_grad_b3};
    const size_t dense[4] = {0, 1, 3, 4};
    size_t off = 0;
    double worst = 0.0;
    for (int k = 0; k < 4; k++) {
        ae_layer *l;
        ck_assert_ae_ok(ae_model_layer(m, dense[k], &l));
        for (size_t i = 0; i < l->n_weights; i++) {
            expect_near("dW", off + i, g[off + i], want_w[k][i], 1e-4);
            worst = fmax(worst, fabs(g[off + i] - want_w[k][i]));
        }
        off += l->n_weights;
        for (size_t i = 0; i < l->n_bias; i++) {
            expect_near("db", off + i, g[off + i], want_b[k][i], 1e-4);
            worst = fmax(worst, fabs(g[off + i] - want_b[k][i]));
        }
        off += l->n_bias;
    }
    ck_assert_uint_eq(off, n);
    printf("vae: PyTorch parity, largest gradient difference %.3g over %zu "
           "parameters\n", worst, n);
    free(g);
    ae_model_free(m);
}
END_TEST

/* Central differences of the whole loss in every parameter, eps held
 * fixed by reseeding before each pass; a wider model (k = 3, random
 * weights) than the reference one, and beta other than 1. */
START_TEST(gradients_match_finite_differences)
{
    enum { B = 4, D = 8, K = 3 };
    const double beta = 1.7;
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 1, 2, 4, 77));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 6, AE_ACT_TANH));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 2 * K, AE_ACT_NONE));
    ck_assert_ae_ok(ae_model_add_gaussian_sample(m, AE_ENCODER));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 6, AE_ACT_TANH));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, D, AE_ACT_SIGMOID));
    float x[B * D];
    tu_fill_uniform(x, B * D, 0.05f, 0.95f, 5);
    const size_t n = ae_model_param_count(m);
    float *g = malloc(n * sizeof *g), *p = ae__model_params(m);
    double recon, kl;
    ck_assert_ae_ok(ae_model_set_sample_seed(m, 31));
    elbo_loss(m, x, B, beta, 1, &recon, &kl);
    ck_assert(kl > 0.0);
    ck_assert_ae_ok(ae_model_get_gradients(m, g, n));
    const float step = 1e-3f;
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        float saved = p[i];
        p[i] = saved + step;
        ck_assert_ae_ok(ae_model_set_sample_seed(m, 31));
        double up = elbo_loss(m, x, B, beta, 0, &recon, &kl);
        p[i] = saved - step;
        ck_assert_ae_ok(ae_model_set_sample_seed(m, 31));
        double down = elbo_loss(m, x, B, beta, 0, &recon, &kl);
        p[i] = saved;
        double num = (up - down) / (2.0 * (double)step);
        double err = fabs(g[i] - num) / fmax(1.0, fabs(num));
        worst = fmax(worst, err);
        ck_assert_msg(err <= 5e-3, "parameter %zu: %.6g by backward, %.6g "
                      "by finite differences", i, (double)g[i], num);
    }
    printf("vae: finite differences over %zu parameters, worst relative "
           "error %.3g\n", n, worst);

    /* Only the KL term (the reconstruction's gradient left out): the
     * weight ae_model_set_kl_weight gives reaches the encoder alone. */
    const float *y;
    float *zero = calloc(B * D, sizeof *zero);
    ck_assert_ae_ok(ae_model_set_sample_seed(m, 31));
    ck_assert_ae_ok(ae_model_forward_train(m, x, B, &y, NULL));
    ck_assert_ae_ok(ae_model_set_kl_weight(m, 1.0));
    ck_assert_ae_ok(ae_model_zero_gradients(m));
    ck_assert_ae_ok(ae_model_backward(m, zero, NULL, 0));
    ck_assert_ae_ok(ae_model_get_gradients(m, g, n));
    ae_layer *l0, *l1;
    ck_assert_ae_ok(ae_model_layer(m, 0, &l0));
    ck_assert_ae_ok(ae_model_layer(m, 1, &l1));
    size_t enc = l0->n_weights + l0->n_bias + l1->n_weights + l1->n_bias;
    double enc_norm = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (i < enc)
            enc_norm += fabs(g[i]);
        else
            ck_assert_msg(g[i] == 0.0f, "KL gradient in decoder %zu", i);
    }
    ck_assert(enc_norm > 0.0);
    free(zero);
    free(g);
    ae_model_free(m);
}
END_TEST

START_TEST(evaluation_gives_the_means_and_eps_follows_the_seed)
{
    ae_model *m = reference_model();
    float x[VR_BATCH * VR_D], code[VR_BATCH * VR_K];
    float stats[VR_BATCH * 2 * VR_K];
    reference_input(x);
    ck_assert_ae_ok(ae_model_encode(m, x, VR_BATCH, code));
    ck_assert_ae_ok(ae_model_activations(m, 1, x, VR_BATCH, stats));
    for (size_t b = 0; b < VR_BATCH; b++)
        for (size_t j = 0; j < VR_K; j++) {
            ck_assert_msg(code[b * VR_K + j] == stats[b * 2 * VR_K + j],
                          "encode gave no mean at %zu, %zu", b, j);
            expect_near("mu", b * VR_K + j, code[b * VR_K + j],
                        vr_mu[b * VR_K + j], 1e-5);
        }
    /* Reconstruct decodes the means: the same as decode(encode). */
    float r1[VR_BATCH * VR_D], r2[VR_BATCH * VR_D];
    ck_assert_ae_ok(ae_model_reconstruct(m, x, VR_BATCH, r1));
    ck_assert_ae_ok(ae_model_decode(m, code, VR_BATCH, r2));
    ck_assert_int_eq(memcmp(r1, r2, sizeof r1), 0);

    /* Training passes: z - mu = exp(logvar / 2) eps, the same for the
     * same seed, other for another seed or the next pass. */
    float z[3][VR_BATCH * VR_K];
    const uint64_t seeds[3] = {5, 5, 6};
    for (int k = 0; k < 3; k++) {
        const float *y, *c;
        ck_assert_ae_ok(ae_model_set_sample_seed(m, seeds[k]));
        ck_assert_ae_ok(ae_model_forward_train(m, x, VR_BATCH, &y, &c));
        memcpy(z[k], c, sizeof z[k]);
    }
    ck_assert_int_eq(memcmp(z[0], z[1], sizeof z[0]), 0);
    ck_assert_int_ne(memcmp(z[0], z[2], sizeof z[0]), 0);
    const float *y, *c;
    ck_assert_ae_ok(ae_model_forward_train(m, x, VR_BATCH, &y, &c));
    ck_assert_int_ne(memcmp(z[2], c, sizeof z[2]), 0);
    for (size_t i = 0; i < VR_BATCH * VR_K; i++)
        ck_assert(z[0][i] != code[i]);
    ae_model_free(m);
}
END_TEST

START_TEST(generation_is_deterministic_by_seed)
{
    ae_model *m = reference_model();
    enum { N = 5 };
    float a[N * VR_D], b[N * VR_D], c[N * VR_D], one[VR_D];
    ck_assert_ae_ok(ae_model_generate(m, 42, N, a));
    ck_assert_ae_ok(ae_model_generate(m, 42, N, b));
    ck_assert_ae_ok(ae_model_generate(m, 43, N, c));
    ck_assert_ae_ok(ae_model_generate(m, 42, 1, one));
    ck_assert_int_eq(memcmp(a, b, sizeof a), 0);
    ck_assert_int_ne(memcmp(a, c, sizeof a), 0);
    ck_assert_int_eq(memcmp(a, one, sizeof one), 0); /* the first code */
    for (size_t i = 0; i < N * VR_D; i++)
        ck_assert(a[i] > 0.0f && a[i] < 1.0f);
    /* Images differ from one another: each has its own code. */
    ck_assert_int_ne(memcmp(a, a + VR_D, sizeof one), 0);
    /* Not the decoded zero code, nor the same as training's draws. */
    float zero[VR_K] = {0}, y0[VR_D];
    ck_assert_ae_ok(ae_model_decode(m, zero, 1, y0));
    ck_assert_int_ne(memcmp(a, y0, sizeof y0), 0);
    ae_model_free(m);
}
END_TEST

/* The model file keeps the sampling layer (kind 8, no configuration) and
 * the loaded model gives the same codes; a record whose configuration is
 * not 0, or that puts the layer in the decoder, is refused. */
START_TEST(model_file_round_trip_and_hostile_records)
{
    ae_model *m = reference_model();
    size_t size = 0;
    ck_assert_ae_ok(ae_model_save_memory(m, NULL, 0, &size));
    uint8_t *buf = malloc(size), *bad = malloc(size);
    ck_assert_ae_ok(ae_model_save_memory(m, buf, size, &size));
    ae_model *back = NULL;
    ck_assert_ae_ok(ae_model_load_memory(&back, buf, size));
    float x[VR_BATCH * VR_D], a[VR_BATCH * VR_K], b[VR_BATCH * VR_K];
    reference_input(x);
    ck_assert_ae_ok(ae_model_encode(m, x, VR_BATCH, a));
    ck_assert_ae_ok(ae_model_encode(back, x, VR_BATCH, b));
    ck_assert_int_eq(memcmp(a, b, sizeof a), 0);
    ae_model_free(back);
    /* Layer 2's record: header 48 bytes, 64 a record; cfg at 16, part
     * at 4.  The model's CRC-32 (its last 4 bytes) redone each time. */
    const size_t rec = 48 + 2 * 64;
    ck_assert_uint_eq(buf[rec], AE_LAYER_GAUSSIAN_SAMPLE);
    const size_t at[2] = {rec + 16 + 4 * 3, rec + 4};
    for (int k = 0; k < 2; k++) {
        memcpy(bad, buf, size);
        bad[at[k]] = 1;
        uLong crc = crc32(0L, bad, (uInt)(size - 4));
        for (int j = 0; j < 4; j++)
            bad[size - 4 + j] = (uint8_t)(crc >> (8 * j));
        back = NULL;
        ck_assert_ae_status(ae_model_load_memory(&back, bad, size),
                            AE_ERR_FORMAT);
        ck_assert_ptr_null(back);
    }
    free(buf);
    free(bad);
    ae_model_free(m);
}
END_TEST

/* ---- the trainer ---------------------------------------------------------- */

typedef struct vae_rig {
    ae_model *m;
    ae_optimizer *o;
    ae_trainer *t;
} vae_rig;

static vae_rig vae_trainer(double beta, int per_image)
{
    vae_rig r;
    r.m = reference_model();
    ck_assert_ae_ok(ae_optimizer_create_adam(&r.o, 1e-2f));
    ck_assert_ae_ok(ae_trainer_create(&r.t, r.m, r.o));
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_LOSS, AE_LOSS_BCE));
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_KL_BETA, beta));
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_SUM_PER_IMAGE, per_image));
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_BATCH_SIZE, 2));
    return r;
}

static void vae_free(vae_rig *r)
{
    ae_trainer_free(r->t);
    ae_optimizer_free(r->o);
    ae_model_free(r->m);
}

static ae_dataset *small_dataset(void)
{
    uint8_t px[7 * 6];
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)((i * 53 + 17) % 256);
    size_t size;
    uint8_t *idx = tu_idx_images(7, 2, 3, px, &size);
    ae_dataset *ds;
    ck_assert_ae_ok(ae_dataset_load_idx_memory(&ds, idx, size, NULL, 0));
    free(idx);
    return ds;
}

typedef struct term_log {
    const ae_trainer *t;
    int epoch_ends, checked;
} term_log;

static int check_terms(const ae_progress *p, void *user)
{
    term_log *log = user;
    ae_loss_terms tr, val;
    ck_assert_ae_ok(ae_trainer_last_terms(log->t, &tr, &val));
    ck_assert_msg(tr.loss == p->loss, "terms' loss %.17g, progress %.17g",
                  tr.loss, p->loss);
    ck_assert(tr.kl > 0.0 && tr.reconstruction > 0.0 && tr.l1 == 0.0);
    ck_assert(fabs(tr.reconstruction + 0.5 * tr.kl - tr.loss) <=
              1e-5 * tr.loss);
    if (p->epoch_done) {
        log->epoch_ends++;
        ck_assert(val.loss == p->val_loss);
        ck_assert(fabs(val.reconstruction + 0.5 * val.kl - val.loss) <=
                  1e-9 * val.loss);
    } else {
        ck_assert(isnan(val.loss) || log->epoch_ends > 0);
    }
    log->checked++;
    return 0;
}

START_TEST(trainer_reports_the_terms)
{
    ae_dataset *ds = small_dataset();
    vae_rig r = vae_trainer(0.5, 1);
    ae_loss_terms before;
    ck_assert_ae_ok(ae_trainer_last_terms(r.t, &before, NULL));
    ck_assert(isnan(before.loss) && isnan(before.kl));
    term_log log = {.t = r.t};
    ck_assert_ae_ok(ae_trainer_fit(r.t, ds, ds, 2, check_terms, &log));
    ck_assert_int_eq(log.epoch_ends, 2);
    ck_assert_int_eq(log.checked, 2 * (4 + 1));

    /* Evaluation: the same terms at every call (its eps from a fixed
     * seed), and as ae_trainer_evaluate's loss. */
    ae_loss_terms e1, e2;
    double loss;
    ck_assert_ae_ok(ae_trainer_evaluate_terms(r.t, ds, &e1));
    ck_assert_ae_ok(ae_trainer_evaluate_terms(r.t, ds, &e2));
    ck_assert_ae_ok(ae_trainer_evaluate(r.t, ds, &loss));
    ck_assert_int_eq(memcmp(&e1, &e2, sizeof e1), 0);
    ck_assert(loss == e1.loss && e1.kl > 0.0);

    /* The per-image sum: the reconstruction and KL terms are the mean
     * reduction's times the image size. */
    ae_loss_terms mean;
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_SUM_PER_IMAGE, 0));
    ck_assert_ae_ok(ae_trainer_evaluate_terms(r.t, ds, &mean));
    ck_assert(fabs(mean.reconstruction * VR_D - e1.reconstruction) <=
              1e-9 * e1.reconstruction);
    ck_assert(fabs(mean.kl * VR_D - e1.kl) <= 1e-9 * e1.kl);
    vae_free(&r);
    ae_dataset_free(ds);
}
END_TEST

/* beta 0: the loss is the reconstruction term alone, and the encoder's
 * log-variances get no pull towards 1 (the KL gradient is gone): a step
 * with beta 0 differs from a step with beta 1. */
START_TEST(beta_weighs_the_kl_term)
{
    float x[VR_BATCH * VR_D];
    reference_input(x);
    vae_rig a = vae_trainer(0.0, 1), b = vae_trainer(1.0, 1);
    float la, lb;
    ck_assert_ae_ok(ae_trainer_step(a.t, x, NULL, VR_BATCH, &la));
    ck_assert_ae_ok(ae_trainer_step(b.t, x, NULL, VR_BATCH, &lb));
    ae_loss_terms ta, tb;
    ck_assert_ae_ok(ae_trainer_last_terms(a.t, &ta, NULL));
    ck_assert_ae_ok(ae_trainer_last_terms(b.t, &tb, NULL));
    ck_assert(ta.loss == ta.reconstruction && ta.kl > 0.0);
    /* The same eps (the same trainer seed) and weights: the same terms. */
    ck_assert(ta.reconstruction == tb.reconstruction && ta.kl == tb.kl);
    ck_assert(fabs(tb.loss - (tb.reconstruction + tb.kl)) <= 1e-12 * tb.loss);
    ck_assert_int_ne(memcmp(ae__model_params(a.m), ae__model_params(b.m),
                            ae_model_param_count(a.m) * sizeof(float)), 0);
    vae_free(&a);
    vae_free(&b);
}
END_TEST

/* A log-variance that overflows exp: the step stops with
 * AE_ERR_NOT_FINITE and the weights and the eps generator stay. */
START_TEST(exploding_log_variance_stops_training)
{
    float x[VR_BATCH * VR_D];
    reference_input(x);
    vae_rig r = vae_trainer(1.0, 1);
    ae_layer *l;
    ck_assert_ae_ok(ae_model_layer(r.m, 1, &l));
    for (int j = VR_K; j < 2 * VR_K; j++)
        l->bias[j] = 400.0f;
    size_t n = ae_model_param_count(r.m);
    float *before = tu_model_params(r.m);
    ck_assert_ae_status(ae_trainer_step(r.t, x, NULL, VR_BATCH, NULL),
                        AE_ERR_NOT_FINITE);
    float *after = tu_model_params(r.m);
    ck_assert_int_eq(memcmp(before, after, n * sizeof *before), 0);
    /* Put right, the next step draws what the first would have. */
    for (int j = VR_K; j < 2 * VR_K; j++)
        l->bias[j] = 0.0f;
    vae_rig fresh = vae_trainer(1.0, 1);
    memcpy(ae__model_params(fresh.m), ae__model_params(r.m),
           n * sizeof(float));
    float la, lb;
    ck_assert_ae_ok(ae_trainer_step(r.t, x, NULL, VR_BATCH, &la));
    ck_assert_ae_ok(ae_trainer_step(fresh.t, x, NULL, VR_BATCH, &lb));
    ck_assert(la == lb);
    free(before);
    free(after);
    vae_free(&fresh);
    vae_free(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vae");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, matches_pytorch);
    tcase_add_test(tc, gradients_match_finite_differences);
    tcase_add_test(tc, evaluation_gives_the_means_and_eps_follows_the_seed);
    tcase_add_test(tc, generation_is_deterministic_by_seed);
    tcase_add_test(tc, model_file_round_trip_and_hostile_records);
    tcase_add_test(tc, trainer_reports_the_terms);
    tcase_add_test(tc, beta_weighs_the_kl_term);
    tcase_add_test(tc, exploding_log_variance_stops_training);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}

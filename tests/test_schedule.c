/* test_schedule.c - the training controls against PyTorch: the learning
 * rate of every epoch under each schedule (tests/reference/
 * controls_reference.py wrote controls_fixture.h with torch.optim.
 * lr_scheduler), bit for bit, through the schedule's own step and through
 * ae_trainer_fit; AdamW against torch.optim.AdamW with the rate changing
 * between steps; gradient clipping as a trainer setting; the settings'
 * defaults, ranges and errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/optimizer.h" /* private: the update at a given rate */
#include "train/schedule.h"  /* private: one schedule step at a time */
#include "reference/controls_fixture.h"
#include "testutil.h"

static void assert_rates(const char *name, const double *got,
                         const double *want, int n)
{
    for (int e = 0; e < n; e++)
        ck_assert_msg(memcmp(&got[e], &want[e], sizeof got[e]) == 0,
                      "%s, epoch %d: rate %.17g, PyTorch's %.17g", name,
                      e + 1, got[e], want[e]);
}

/* The rates of CF_EPOCHS epochs from the schedule's own step. */
static void schedule_rates(const ae__schedule *s, const double *losses,
                           double *out)
{
    ae__schedule_state st;
    ae__schedule_begin(&st, CF_BASE_LR);
    for (int e = 0; e < CF_EPOCHS; e++) {
        out[e] = st.lr;
        ae__schedule_step(s, &st, losses ? losses[e] : NAN);
    }
}

START_TEST(rates_match_pytorch_bit_for_bit)
{
    ae__schedule s;
    double got[CF_EPOCHS];
    ae__schedule_defaults(&s);
    s.kind = AE_SCHEDULE_STEP;
    s.step_size = 3;
    s.gamma = 0.5;
    schedule_rates(&s, NULL, got);
    assert_rates("StepLR", got, cf_step, CF_EPOCHS);

    ae__schedule_defaults(&s);
    s.kind = AE_SCHEDULE_EXPONENTIAL;
    s.gamma = 0.9;
    schedule_rates(&s, NULL, got);
    assert_rates("ExponentialLR", got, cf_exponential, CF_EPOCHS);

    ae__schedule_defaults(&s);
    s.kind = AE_SCHEDULE_COSINE;
    s.t_max = 5;
    s.min_lr = 0.001;
    schedule_rates(&s, NULL, got);
    assert_rates("CosineAnnealingLR", got, cf_cosine, CF_EPOCHS);

    s.t_max = 4;
    s.min_lr = 0.0;
    schedule_rates(&s, NULL, got);
    assert_rates("CosineAnnealingLR to 0", got, cf_cosine_zero, CF_EPOCHS);

    ae__schedule_defaults(&s);
    s.kind = AE_SCHEDULE_PLATEAU;
    s.factor = 0.5;
    s.patience = 1;
    s.threshold = 0.01;
    s.cooldown = 1;
    s.min_lr = 0.02;
    schedule_rates(&s, cf_plateau_losses, got);
    assert_rates("ReduceLROnPlateau", got, cf_plateau, CF_EPOCHS);
    /* The fixture is not flat: it reduces three times, down to min_lr. */
    ck_assert(cf_plateau[CF_EPOCHS - 1] < cf_plateau[0] / 4);

    /* No schedule: the rate stays. */
    ae__schedule_defaults(&s);
    schedule_rates(&s, NULL, got);
    for (int e = 0; e < CF_EPOCHS; e++)
        ck_assert(got[e] == CF_BASE_LR);
}
END_TEST

/* 10 images of 2 x 2 pixels. */
static ae_dataset *images(void)
{
    size_t size;
    uint8_t *idx = tu_idx_images(10, 2, 2, NULL, &size);
    ae_dataset *ds;
    ck_assert_ae_ok(ae_dataset_load_idx_memory(&ds, idx, size, NULL, 0));
    free(idx);
    return ds;
}

typedef struct rates {
    ae_trainer *t;
    double lr[CF_EPOCHS];
    int offset; /* epochs of the earlier fit calls */
} rates;

/* After each epoch, the rate the next one trains at. */
static int on_epoch(const ae_progress *p, void *user)
{
    rates *r = user;
    int e = r->offset + p->epoch;
    if (p->epoch_done && e < CF_EPOCHS)
        ck_assert_ae_ok(ae_trainer_learning_rate(r->t, &r->lr[e]));
    return 0;
}

/* The public path: ae_trainer_fit with SGD at PyTorch's base rate, in two
 * fit calls (the schedule runs on across them, as one PyTorch scheduler
 * over two loops would), the rates read back with
 * ae_trainer_learning_rate after every epoch; the optimizer's own rate is
 * left alone. */
static void fit_rates(ae_lr_schedule kind, const ae_train_param *p,
                      const double *v, int n, const double *want,
                      const char *name)
{
    ae_model *m;
    ae_optimizer *o;
    ck_assert_ae_ok(ae_model_create(&m, 1, 2, 2, 4));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 2, AE_ACT_TANH));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 4, AE_ACT_SIGMOID));
    ck_assert_ae_ok(ae_optimizer_create_sgd(&o, (float)CF_BASE_LR, 0.0f));
    ck_assert_ae_ok(ae_optimizer_set(o, AE_OPT_LEARNING_RATE, CF_BASE_LR));
    rates r = {0};
    ck_assert_ae_ok(ae_trainer_create(&r.t, m, o));
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_BATCH_SIZE, 5));
    for (int k = 0; k < n; k++)
        ck_assert_ae_ok(ae_trainer_set(r.t, p[k], v[k]));
    ck_assert_ae_ok(ae_trainer_set(r.t, AE_TRAIN_LR_SCHEDULE, kind));
    ck_assert_ae_ok(ae_trainer_learning_rate(r.t, &r.lr[0]));
    ae_dataset *ds = images();
    ck_assert_ae_ok(ae_trainer_fit(r.t, ds, NULL, 6, on_epoch, &r));
    r.offset = 6;
    ck_assert_ae_ok(ae_trainer_fit(r.t, ds, NULL, CF_EPOCHS - 1 - 6,
                                   on_epoch, &r));
    assert_rates(name, r.lr, want, CF_EPOCHS);
    double own;
    ck_assert_ae_ok(ae_optimizer_get(o, AE_OPT_LEARNING_RATE, &own));
    ck_assert(own == CF_BASE_LR);
    ae_trainer_free(r.t);
    ae_dataset_free(ds);
    ae_optimizer_free(o);
    ae_model_free(m);
}

START_TEST(fit_steps_the_schedule_per_epoch)
{
    const ae_train_param step_p[] = {AE_TRAIN_LR_STEP_SIZE,
                                     AE_TRAIN_LR_GAMMA};
    const double step_v[] = {3, 0.5};
    fit_rates(AE_SCHEDULE_STEP, step_p, step_v, 2, cf_step, "StepLR fit");
    const ae_train_param exp_p[] = {AE_TRAIN_LR_GAMMA};
    const double exp_v[] = {0.9};
    fit_rates(AE_SCHEDULE_EXPONENTIAL, exp_p, exp_v, 1, cf_exponential,
              "ExponentialLR fit");
    const ae_train_param cos_p[] = {AE_TRAIN_LR_T_MAX, AE_TRAIN_LR_MIN};
    const double cos_v[] = {5, 0.001};
    fit_rates(AE_SCHEDULE_COSINE, cos_p, cos_v, 2, cf_cosine,
              "CosineAnnealingLR fit");
    const double cos0_v[] = {4, 0};
    fit_rates(AE_SCHEDULE_COSINE, cos_p, cos0_v, 2, cf_cosine_zero,
              "CosineAnnealingLR to 0 fit");
}
END_TEST

/* The scheduled rate is the rate the steps take: a fit under a schedule
 * equals, bit for bit, fits of one epoch each with the optimizer's own
 * rate set to the schedule's rate of that epoch. */
START_TEST(steps_train_at_the_scheduled_rate)
{
    ae_dataset *ds = images();
    float *w[2];
    for (int way = 0; way < 2; way++) {
        ae_model *m;
        ae_optimizer *o;
        ae_trainer *t;
        ck_assert_ae_ok(ae_model_create(&m, 1, 2, 2, 4));
        ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 2, AE_ACT_TANH));
        ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 4,
                                           AE_ACT_SIGMOID));
        ck_assert_ae_ok(ae_optimizer_create_adamw(&o, 0.1f, 0.05f));
        ck_assert_ae_ok(ae_optimizer_set(o, AE_OPT_LEARNING_RATE,
                                         CF_BASE_LR));
        ck_assert_ae_ok(ae_trainer_create(&t, m, o));
        ck_assert_ae_ok(ae_trainer_set(t, AE_TRAIN_BATCH_SIZE, 5));
        ck_assert_ae_ok(ae_trainer_set(t, AE_TRAIN_SHUFFLE, 0));
        if (way == 0) {
            ck_assert_ae_ok(ae_trainer_set(t, AE_TRAIN_LR_SCHEDULE,
                                           AE_SCHEDULE_COSINE));
            ck_assert_ae_ok(ae_trainer_set(t, AE_TRAIN_LR_T_MAX, 5));
            ck_assert_ae_ok(ae_trainer_set(t, AE_TRAIN_LR_MIN, 0.001));
            ck_assert_ae_ok(ae_trainer_fit(t, ds, NULL, 8, NULL, NULL));
        } else {
            for (int e = 0; e < 8; e++) {
                ck_assert_ae_ok(ae_optimizer_set(o, AE_OPT_LEARNING_RATE,
                                                 cf_cosine[e]));
                ck_assert_ae_ok(ae_trainer_fit(t, ds, NULL, 1, NULL, NULL));
            }
        }
        w[way] = tu_model_params(m);
        ck_assert_mem_eq(w[way], w[0],
                         ae_model_param_count(m) * sizeof(float));
        ae_trainer_free(t);
        ae_optimizer_free(o);
        ae_model_free(m);
    }
    free(w[0]);
    free(w[1]);
    ae_dataset_free(ds);
}
END_TEST

/* torch.optim.AdamW, the rate changed between steps as a scheduler
 * changes it (the decoupled decay w *= 1 - lr wd takes the new rate).
 * Float32 both sides, but not the same bits: the library takes Adam's
 * 1 - beta1 and 1 - beta2 in float (1 - 0.9f = 0.100000024, 1 - 0.999f =
 * 0.00100004673) where PyTorch rounds the double differences, which
 * makes each step's size 2.3e-5 of the rate larger (measured: 1.9e-6 after
 * six steps of rates 0.1 to 0.025).  The bound, 1.5e-5 of the rates summed
 * so far, is far below what a coupled decay would give (the first step
 * alone would be off by 3.5e-3). */
START_TEST(adamw_matches_pytorch)
{
    ae_optimizer *o;
    ck_assert_ae_ok(ae_optimizer_create_adamw(&o, (float)cf_adamw_lrs[0],
                                              (float)CF_ADAMW_DECAY));
    ck_assert_ae_ok(ae_optimizer_set(o, AE_OPT_WEIGHT_DECAY, CF_ADAMW_DECAY));
    float w[5];
    memcpy(w, cf_adamw_w0, sizeof w);
    double worst = 0.0, rate_sum = 0.0;
    for (int k = 0; k < CF_ADAMW_STEPS; k++) {
        rate_sum += cf_adamw_lrs[k];
        ck_assert_ae_ok(ae__optimizer_update_lr(o, w, cf_adamw_grads[k], 5,
                                                cf_adamw_lrs[k]));
        for (int i = 0; i < 5; i++) {
            double d = fabs((double)w[i] - cf_adamw_w[k][i]);
            worst = fmax(worst, d);
            ck_assert_msg(d <= 1.5e-5 * rate_sum,
                          "step %d, weight %d: %.9g, PyTorch %.9g", k + 1, i,
                          (double)w[i], (double)cf_adamw_w[k][i]);
        }
    }
    ck_assert(worst > 0.0); /* compared, and the weights moved far */
    ck_assert(fabs(w[0] - cf_adamw_w0[0]) > 0.2);
    ae_optimizer_free(o);
}
END_TEST

/* AE_TRAIN_CLIP_NORM: a trainer step equals the low-level calls with
 * ae_model_clip_gradients between backward and the update. */
START_TEST(clip_norm_is_a_trainer_setting)
{
    float x[4 * 4];
    tu_fill_uniform(x, 16, 0.0f, 1.0f, 5);
    float *w[2];
    for (int way = 0; way < 2; way++) {
        ae_model *m;
        ae_optimizer *o;
        ck_assert_ae_ok(ae_model_create(&m, 1, 2, 2, 8));
        ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 3, AE_ACT_RELU));
        ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 4, AE_ACT_NONE));
        ck_assert_ae_ok(ae_optimizer_create_sgd(&o, 0.5f, 0.0f));
        if (way == 0) {
            ae_trainer *t;
            ck_assert_ae_ok(ae_trainer_create(&t, m, o));
            ck_assert_ae_ok(ae_trainer_set(t, AE_TRAIN_CLIP_NORM, 0.01));
            double v;
            ck_assert_ae_ok(ae_trainer_get(t, AE_TRAIN_CLIP_NORM, &v));
            ck_assert(v == 0.01);
            ck_assert_ae_ok(ae_trainer_step(t, x, NULL, 4, NULL));
            ae_trainer_free(t);
        } else {
            const float *y;
            float g[16];
            double loss, norm;
            ck_assert_ae_ok(ae_model_zero_gradients(m));
            ck_assert_ae_ok(ae_model_forward_train(m, x, 4, &y, NULL));
            ck_assert_ae_ok(ae_loss_compute(AE_LOSS_MSE, y, x, 16, 0, g,
                                            &loss));
            ck_assert_ae_ok(ae_model_backward(m, g, NULL, 0));
            ck_assert_ae_ok(ae_model_clip_gradients(m, 0.01, &norm));
            ck_assert_double_gt(norm, 0.01); /* it did clip */
            ck_assert_ae_ok(ae_optimizer_step(o, m));
        }
        w[way] = tu_model_params(m);
        ae_optimizer_free(o);
        ae_model_free(m);
    }
    ck_assert_mem_eq(w[0], w[1], (3 * 4 + 3 + 4 * 3 + 4) * sizeof(float));
    free(w[0]);
    free(w[1]);
}
END_TEST

START_TEST(settings_defaults_and_ranges)
{
    ae_model *m;
    ae_optimizer *o;
    ae_trainer *t;
    ck_assert_ae_ok(ae_model_create(&m, 1, 2, 2, 1));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 2, AE_ACT_RELU));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 4, AE_ACT_SIGMOID));
    ck_assert_ae_ok(ae_optimizer_create_adam(&o, 0.01f));
    ck_assert_ae_ok(ae_trainer_create(&t, m, o));
    const struct {
        ae_train_param p;
        double def, good, bad[4];
    } rows[] = {
        {AE_TRAIN_LR_SCHEDULE, 0, 4, {-1, 5, 1.5, NAN}},
        {AE_TRAIN_LR_STEP_SIZE, 1, 7, {0, -1, 2.5, 2147483648.0}},
        {AE_TRAIN_LR_GAMMA, 0.1, 2, {0, -0.5, INFINITY, NAN}},
        {AE_TRAIN_LR_T_MAX, 10, 3, {0, -2, 0.5, INFINITY}},
        {AE_TRAIN_LR_MIN, 0, 1e-5, {-1e-9, INFINITY, NAN, -1}},
        {AE_TRAIN_PLATEAU_FACTOR, 0.1, 0.5, {0, 1, 1.5, NAN}},
        {AE_TRAIN_PLATEAU_PATIENCE, 10, 0, {-1, 0.5, 3e9, NAN}},
        {AE_TRAIN_PLATEAU_THRESHOLD, 1e-4, 0, {-0.1, 1, NAN, 2}},
        {AE_TRAIN_PLATEAU_COOLDOWN, 0, 2, {-1, 1.25, NAN, INFINITY}},
        {AE_TRAIN_EARLY_STOP_PATIENCE, 0, 3, {-1, 0.5, NAN, 3e9}},
        {AE_TRAIN_EARLY_STOP_MIN_DELTA, 0, 0.01, {-0.01, NAN, INFINITY, -1}},
        {AE_TRAIN_CLIP_NORM, 0, 1, {-1, NAN, INFINITY, -INFINITY}},
    };
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        double v;
        ck_assert_ae_ok(ae_trainer_get(t, rows[k].p, &v));
        ck_assert_msg(v == rows[k].def, "setting %d default %g", rows[k].p,
                      v);
        for (int b = 0; b < 4; b++) {
            ck_assert_ae_status(ae_trainer_set(t, rows[k].p, rows[k].bad[b]),
                                AE_ERR_INVALID_ARGUMENT);
            ck_assert_ptr_nonnull(strstr(ae_last_error(), "AE_TRAIN_"));
        }
        ck_assert_ae_ok(ae_trainer_get(t, rows[k].p, &v));
        ck_assert(v == rows[k].def); /* refused values changed nothing */
        ck_assert_ae_ok(ae_trainer_set(t, rows[k].p, rows[k].good));
        ck_assert_ae_ok(ae_trainer_get(t, rows[k].p, &v));
        ck_assert(v == rows[k].good);
    }
    double lr;
    ck_assert_ae_status(ae_trainer_learning_rate(NULL, &lr), AE_ERR_NULL);
    ck_assert_ae_status(ae_trainer_learning_rate(t, NULL), AE_ERR_NULL);
    ck_assert_ae_status(ae_trainer_fit_outcome(NULL, NULL, NULL, NULL, NULL),
                        AE_ERR_NULL);
    ae_fit_end end = AE_FIT_FAILED;
    int epochs = -1, best = -1;
    double best_loss = 0;
    ck_assert_ae_ok(ae_trainer_fit_outcome(t, &end, &epochs, &best,
                                           &best_loss));
    ck_assert_int_eq(end, AE_FIT_NONE);
    ck_assert_int_eq(epochs, 0);
    ck_assert_int_eq(best, 0);
    ck_assert(isnan(best_loss));
    ae_trainer_free(t);
    ae_optimizer_free(o);
    ae_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("schedule");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, rates_match_pytorch_bit_for_bit);
    tcase_add_test(tc, fit_steps_the_schedule_per_epoch);
    tcase_add_test(tc, steps_train_at_the_scheduled_rate);
    tcase_add_test(tc, adamw_matches_pytorch);
    tcase_add_test(tc, clip_norm_is_a_trainer_setting);
    tcase_add_test(tc, settings_defaults_and_ranges);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}

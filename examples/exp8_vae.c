/* Experiment 8: variational autoencoders (Kingma and Welling).
 *
 * Two VAEs in the shape of experiment 1's dense models, 784-512-256 /
 * 256-512-784 around a latent space of 2 and of 20 dimensions: the
 * encoder gives the means and log-variances of a diagonal Gaussian, the
 * Gaussian sampling layer draws the code z = mu + exp(logvar / 2) eps,
 * and the loss is the negative ELBO: BCE summed over each image's pixels
 * plus the KL divergence of the Gaussian to N(0, I), averaged over the
 * batch.  Measured per epoch on the training and test sets: the ELBO and
 * its two terms.
 *
 * Then what the KL term buys.  A VAE's codes are pulled towards N(0, I),
 * so decoding samples of N(0, I) gives images (ae_model_generate).  A
 * plain autoencoder of the same code size, trained on the same
 * reconstruction loss, has codes anywhere: the fairest way to sample it
 * is to fit a Gaussian to its training codes (mean and full covariance)
 * and decode samples of that.  Both are shown side by side, with each
 * model's reconstruction MSE.  For the 2-D models: the latent codes of
 * the test set coloured by label, and the manifold the VAE's decoder draws
 * over a 20 x 20 grid of points at the Gaussian's quantiles.
 *
 * Public API only.  Default 10 epochs. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "models.h"
#include "plot.h"
#include "report.h"

enum { PIXELS = 28 * 28, LATENTS = 2, GRID = 20, SAMPLE_ROWS = 4,
       SAMPLE_COLS = 10, SAMPLES = SAMPLE_ROWS * SAMPLE_COLS, SCATTER = 5000,
       FIT_CODES = 10000 /* training codes the Gaussian is fitted to */ };
static const int latent_dims[LATENTS] = {2, 20};

/* ---- the inverse of the normal CDF --------------------------------------- */

/* norm.ppf(p) for p in (0, 1): Acklam's rational approximation (relative
 * error below 1.2e-9), then one Halley step on erfc, which brings it to
 * double precision.  scipy.stats.norm.ppf gives the same values. */
static double norm_ppf(double p)
{
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                               -2.759285104469687e+02, 1.383577518672690e+02,
                               -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                               -1.556989798598866e+02, 6.680131188771972e+01,
                               -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                               -2.400758277161838e+00, -2.549732539343734e+00,
                               4.374664141464968e+00, 2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                               2.445134137142996e+00, 3.754408661907416e+00};
    const double low = 0.02425;
    double x;
    if (p < low) {
        double q = sqrt(-2 * log(p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q +
             c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else if (p <= 1 - low) {
        double q = p - 0.5, r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r +
             a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r +
             1);
    } else {
        double q = sqrt(-2 * log(1 - p));
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q +
              c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    /* Halley: e = Phi(x) - p, u = e sqrt(2 pi) exp(x^2 / 2). */
    double e = 0.5 * erfc(-x / sqrt(2)) - p;
    double u = e * 2.5066282746310002 * exp(x * x / 2); /* sqrt(2 pi) */
    return x - u / (1 + x * u / 2);
}

/* ---- a Gaussian fitted to codes ------------------------------------------- */

/* The mean and the lower Cholesky factor L of the covariance of n codes of
 * k values (L L^T = covariance + a tiny ridge, should the codes span less
 * than k dimensions). */
static void fit_gaussian(const float *codes, size_t n, int k, double *mean,
                         double *chol)
{
    for (int j = 0; j < k; j++) {
        mean[j] = 0;
        for (size_t i = 0; i < n; i++)
            mean[j] += codes[i * k + j];
        mean[j] /= (double)n;
    }
    double *cov = xmalloc((size_t)k * k * sizeof *cov);
    for (int a = 0; a < k; a++)
        for (int b = 0; b <= a; b++) {
            double s = 0;
            for (size_t i = 0; i < n; i++)
                s += (codes[i * k + a] - mean[a]) * (codes[i * k + b] - mean[b]);
            cov[a * k + b] = cov[b * k + a] = s / (double)(n - 1);
        }
    double ridge = 0;
    for (int a = 0; a < k; a++)
        ridge += cov[a * k + a];
    ridge = 1e-9 * ridge / k + DBL_MIN;
    for (int a = 0; a < k; a++) {
        for (int b = 0; b <= a; b++) {
            double s = cov[a * k + b] + (a == b ? ridge : 0);
            for (int j = 0; j < b; j++)
                s -= chol[a * k + j] * chol[b * k + j];
            chol[a * k + b] = a == b ? sqrt(fmax(s, ridge)) : s / chol[b * k + b];
        }
        for (int b = a + 1; b < k; b++)
            chol[a * k + b] = 0;
    }
    free(cov);
}

/* n codes mean + L eps, eps ~ N(0, I) drawn from seed through the public
 * noise call (noise of level 1 on zeros, unclipped). */
static float *sample_gaussian(const double *mean, const double *chol, int k,
                              size_t n, unsigned long seed)
{
    size_t count = n * (size_t)k;
    float *zero = xmalloc(count * sizeof *zero);
    float *eps = xmalloc(count * sizeof *eps), *z = xmalloc(count * sizeof *z);
    check(ae_corrupt(AE_NOISE_GAUSSIAN, 1.0f, -FLT_MAX, FLT_MAX, seed, zero,
                     eps, count), "drawing N(0, I)");
    for (size_t i = 0; i < n; i++)
        for (int a = 0; a < k; a++) {
            double s = mean[a];
            for (int b = 0; b <= a; b++)
                s += chol[a * k + b] * eps[i * k + b];
            z[i * k + a] = (float)s;
        }
    free(zero);
    free(eps);
    return z;
}

/* ---- the runs --------------------------------------------------------------- */

/* Each epoch's terms of the loss (nats per image) on the training and the
 * test set, read from the trainer after the epoch (ae_trainer_last_terms). */
typedef struct terms_log {
    double recon[2][64], kl[2][64], elbo[2][64];
} terms_log;

static void record_terms(run *r, void *user)
{
    terms_log *log = user;
    ae_loss_terms t[2];
    check(ae_trainer_last_terms(r->trainer, &t[0], &t[1]),
          "reading the loss terms");
    int e = r->epochs - 1;
    if (e >= 64)
        return;
    for (int s = 0; s < 2; s++) {
        log->recon[s][e] = t[s].reconstruction;
        log->kl[s][e] = t[s].kl;
        log->elbo[s][e] = -(t[s].reconstruction + t[s].kl);
    }
}

/* BCE summed per image (the VAE's reconstruction term) for both kinds of
 * model, and, with a sampling layer, the KL term with beta 1. */
static void set_elbo_loss(run *r)
{
    check(ae_trainer_set(r->trainer, AE_TRAIN_LOSS, AE_LOSS_BCE),
          "choosing BCE");
    check(ae_trainer_set(r->trainer, AE_TRAIN_SUM_PER_IMAGE, 1),
          "summing the loss per image");
    check(ae_trainer_set(r->trainer, AE_TRAIN_KL_BETA, 1.0),
          "setting beta");
}

/* One latent size: the VAE, the plain autoencoder, and what they give. */
typedef struct result {
    int k;
    run vae, ae;
    terms_log log;
    double vae_mse, ae_mse, test_elbo, test_recon, test_kl, ae_test_bce;
    float *vae_codes, *ae_codes; /* of the first n_codes test images */
    float *vae_samples, *ae_samples;
} result;

static void train_pair(result *res, int k, const experiment *ex, int epochs,
                       const float *test_x, size_t n_codes)
{
    const options *opt = &ex->opt;
    res->k = k;
    ae_model *m = NULL;
    check(model_exp8_vae(&m, k, opt->seed), "building the VAE");
    run_start(&res->vae, k == 2 ? "VAE-2" : "VAE-20", m, opt);
    set_elbo_loss(&res->vae);
    res->vae.after_epoch = record_terms;
    res->vae.user = &res->log;
    run_fit(&res->vae, ex->train, ex->test, epochs);

    check(model_exp8_ae(&m, k, opt->seed), "building the autoencoder");
    run_start(&res->ae, k == 2 ? "AE-2" : "AE-20", m, opt);
    set_elbo_loss(&res->ae);
    run_fit(&res->ae, ex->train, ex->test, epochs);

    ae_loss_terms t;
    check(ae_trainer_evaluate_terms(res->vae.trainer, ex->test, &t),
          "evaluating the VAE");
    res->test_recon = t.reconstruction;
    res->test_kl = t.kl;
    res->test_elbo = -(t.reconstruction + t.kl);
    res->ae_test_bce = res->ae.val_loss[res->ae.epochs - 1];

    /* Reconstructions decode the means (ae_model_reconstruct is a
     * forward-only pass: z = mu). */
    measure_reconstruction(res->vae.model, test_x, test_x, n_codes, 1.0f,
                           &res->vae_mse, NULL, NULL);
    measure_reconstruction(res->ae.model, test_x, test_x, n_codes, 1.0f,
                           &res->ae_mse, NULL, NULL);
    res->vae_codes = xmalloc(n_codes * k * sizeof(float));
    res->ae_codes = xmalloc(n_codes * k * sizeof(float));
    check(ae_model_encode(res->vae.model, test_x, n_codes, res->vae_codes),
          "encoding with the VAE");
    check(ae_model_encode(res->ae.model, test_x, n_codes, res->ae_codes),
          "encoding with the autoencoder");
    write_npy_rows(opt, cell("codes_vae%d.npy", k), res->vae_codes, n_codes,
                   (size_t)k);
    write_npy_rows(opt, cell("codes_ae%d.npy", k), res->ae_codes, n_codes,
                   (size_t)k);

    /* Samples: the VAE's from N(0, I); the autoencoder's from the
     * Gaussian fitted to its codes of the training images. */
    res->vae_samples = xmalloc(SAMPLES * PIXELS * sizeof(float));
    res->ae_samples = xmalloc(SAMPLES * PIXELS * sizeof(float));
    check(ae_model_generate(res->vae.model, opt->seed + 8, SAMPLES,
                            res->vae_samples), "generating");
    const size_t n_fit = ex->n_train < FIT_CODES ? ex->n_train : FIT_CODES;
    float *train_x = read_images(ex->train, 0, n_fit, NULL);
    float *train_codes = xmalloc(n_fit * k * sizeof(float));
    check(ae_model_encode(res->ae.model, train_x, n_fit, train_codes),
          "encoding the training images");
    double mean[20], chol[20 * 20];
    fit_gaussian(train_codes, n_fit, k, mean, chol);
    float *z = sample_gaussian(mean, chol, k, SAMPLES, opt->seed + 8);
    check(ae_model_decode(res->ae.model, z, SAMPLES, res->ae_samples),
          "decoding the fitted Gaussian's samples");
    free(z);
    free(train_codes);
    free(train_x);
    write_npy_rows(opt, cell("samples_vae%d.npy", k), res->vae_samples,
                   SAMPLES, PIXELS);
    write_npy_rows(opt, cell("samples_ae%d.npy", k), res->ae_samples,
                   SAMPLES, PIXELS);
}

static void free_result(result *res)
{
    free(res->vae_codes);
    free(res->ae_codes);
    free(res->vae_samples);
    free(res->ae_samples);
    run_free(&res->vae);
    run_free(&res->ae);
}

/* ---- figures ------------------------------------------------------------------ */

/* The VAE's samples above the autoencoder's, SAMPLE_ROWS rows each. */
static void samples_figure(const result *res, const char *file)
{
    sheet s;
    sheet_init(&s, 2 * SAMPLE_ROWS, SAMPLE_COLS, 28, 28);
    for (int r = 0; r < SAMPLE_ROWS; r++) {
        sheet_set_row(&s, r, res->vae_samples +
                                 (size_t)r * SAMPLE_COLS * PIXELS);
        sheet_set_row(&s, SAMPLE_ROWS + r, res->ae_samples +
                                               (size_t)r * SAMPLE_COLS *
                                                   PIXELS);
        sheet_label_row(&s, r, "VAE-%d, z ~ N(0, I)", res->k);
        sheet_label_row(&s, SAMPLE_ROWS + r, "AE-%d, z ~ fitted Gaussian",
                        res->k);
    }
    sheet_col_heading(&s, "sample");
    for (int c = 0; c < SAMPLE_COLS; c++)
        sheet_label_col(&s, c, "%d", c + 1);
    sheet_title(&s, "Decoded samples, %d-D codes: VAE against a plain "
                "autoencoder", res->k);
    sheet_write(&s, file, 0.0f, 1.0f);
    sheet_free(&s);
}

/* The 2-D VAE's decoder over a GRID x GRID lattice of quantiles:
 * z = (ppf(p_j), ppf(p_i)), p = (i + 0.5) / GRID, z2 falling down the
 * rows as a plot's y axis rises. */
static void manifold_figure(ae_model *vae, const char *file, double *lo,
                            double *hi)
{
    float *z = xmalloc((size_t)GRID * GRID * 2 * sizeof *z);
    float *img = xmalloc((size_t)GRID * GRID * PIXELS * sizeof *img);
    double q[GRID];
    for (int i = 0; i < GRID; i++)
        q[i] = norm_ppf((i + 0.5) / GRID);
    for (int r = 0; r < GRID; r++)
        for (int c = 0; c < GRID; c++) {
            z[(r * GRID + c) * 2] = (float)q[c];
            z[(r * GRID + c) * 2 + 1] = (float)q[GRID - 1 - r];
        }
    check(ae_model_decode(vae, z, GRID * GRID, img), "decoding the grid");
    sheet s;
    sheet_init(&s, GRID, GRID, 28, 28);
    for (int r = 0; r < GRID; r++) {
        sheet_set_row(&s, r, img + (size_t)r * GRID * PIXELS);
        sheet_label_row(&s, r, "z2 = %.2f", q[GRID - 1 - r]);
    }
    for (int c = 0; c < GRID; c++)
        sheet_label_col(&s, c, "%.2f", q[c]);
    sheet_col_heading(&s, "z1");
    sheet_title(&s, "The 2-D VAE's decoder at the quantiles of N(0, 1): "
                "p = 0.025 .. 0.975");
    sheet_write(&s, file, 0.0f, 1.0f);
    sheet_free(&s);
    *lo = q[0];
    *hi = q[GRID - 1];
    free(z);
    free(img);
}

/* Training and test curves of one quantity for both VAEs. */
static int terms_chart(const char *path, const char *title,
                       const char *ylabel, const result *res, int which)
{
    plot_series s[2 * LATENTS];
    static const char *const set[2] = {"training", "test"};
    for (int l = 0; l < LATENTS; l++)
        for (int k = 0; k < 2; k++) {
            const terms_log *g = &res[l].log;
            const double *y = which == 0   ? g->elbo[k]
                              : which == 1 ? g->recon[k]
                                           : g->kl[k];
            s[2 * l + k] = (plot_series){
                cell("VAE-%d, %s", res[l].k, set[k]), res[l].vae.epoch, y,
                (size_t)(res[l].vae.epochs < 64 ? res[l].vae.epochs : 64)};
        }
    return plot_lines(path, title, "epoch", ylabel, s, 2 * LATENTS);
}

int main(int argc, char **argv)
{
    experiment ex;
    experiment_start(&ex, argc, argv, 8, "Variational autoencoders");
    const options *opt = &ex.opt;
    report *rep = ex.rep;
    int epochs = epochs_for(opt, 10);
    experiment_banner(&ex, epochs, NULL);
    const char *items = item_word(opt, 1);

    uint8_t *labels = NULL;
    const size_t n_codes = ex.n_test < SCATTER ? ex.n_test : SCATTER;
    float *test_x = read_images(ex.test, 0, n_codes, &labels);
    write_npy_labels(opt, "test_labels.npy", labels, n_codes);

    result res[LATENTS];
    memset(res, 0, sizeof res);
    for (int l = 0; l < LATENTS; l++) {
        train_pair(&res[l], latent_dims[l], &ex, epochs, test_x, n_codes);
        printf("latent %d: test ELBO %.2f nats (reconstruction %.2f, KL "
               "%.2f); reconstruction MSE VAE %.5f, AE %.5f\n", res[l].k,
               res[l].test_elbo, res[l].test_recon, res[l].test_kl,
               res[l].vae_mse, res[l].ae_mse);
    }

    report_text(rep, "Two variational autoencoders in the shape of "
                "experiment 1's dense models: 784-512-256 (ReLU), a linear "
                "layer giving the means and log-variances of a diagonal "
                "Gaussian over a latent space of 2 or 20 dimensions, the "
                "Gaussian sampling layer (z = mu + exp(logvar / 2) eps in "
                "training, z = mu otherwise) / 256-512-784 (ReLU, Sigmoid). "
                "Loss: the negative ELBO of Kingma and Welling, binary "
                "cross-entropy summed over each image's 784 pixels plus the "
                "KL divergence of the Gaussian to N(0, I), averaged over "
                "the batch (AE_TRAIN_SUM_PER_IMAGE, AE_TRAIN_KL_BETA 1). "
                "Adam 1e-3, batch 64, %d epochs on %zu %s training images; "
                "the test figures use the %zu test images (one sample of z "
                "per image for the ELBO). Beside each, a plain autoencoder "
                "with a linear code of the same size, trained on the same "
                "summed BCE.", epochs, ex.n_train, opt->data_name,
                ex.n_test);
    const char *headers[] = {"latent", "test ELBO (nats)",
                             "reconstruction term", "KL term",
                             "VAE recon. MSE", "AE recon. MSE",
                             "AE test BCE (nats)"};
    report_table(rep, cell("Per test image: the VAE's ELBO and its two "
                           "terms, and the reconstruction MSE of the VAE "
                           "(decoding the means) and of the plain "
                           "autoencoder over %zu test %s.", n_codes, items),
                 7, headers);
    for (int l = 0; l < LATENTS; l++) {
        const char *row[7] = {
            cell("%d", res[l].k), cell("%.2f", res[l].test_elbo),
            cell("%.2f", res[l].test_recon), cell("%.2f", res[l].test_kl),
            cell("%.5f", res[l].vae_mse), cell("%.5f", res[l].ae_mse),
            cell("%.2f", res[l].ae_test_bce)};
        report_row(rep, row);
        report_value(rep, cell("vae%d_test_elbo", res[l].k), res[l].test_elbo);
        report_value(rep, cell("vae%d_test_reconstruction", res[l].k),
                     res[l].test_recon);
        report_value(rep, cell("vae%d_test_kl", res[l].k), res[l].test_kl);
        report_value(rep, cell("vae%d_mse", res[l].k), res[l].vae_mse);
        report_value(rep, cell("ae%d_mse", res[l].k), res[l].ae_mse);
    }

    if (terms_chart(out_path(opt, "elbo.png"), "ELBO per epoch",
                    "ELBO (nats per image)", res, 0) != 0 ||
        terms_chart(out_path(opt, "reconstruction_term.png"),
                    "Reconstruction term per epoch",
                    "summed BCE (nats per image)", res, 1) != 0 ||
        terms_chart(out_path(opt, "kl_term.png"), "KL term per epoch",
                    "KL to N(0, I) (nats per image)", res, 2) != 0)
        return 1;
    const int last = res[1].vae.epochs - 1;
    report_figure(rep, "elbo.png", cell(
        "The ELBO (higher is better) per epoch, on the training set (the "
        "mean over the epoch's batches) and the test set. After the last "
        "epoch the 20-D VAE's test ELBO is %.2f nats, the 2-D one's %.2f.",
        res[1].test_elbo, res[0].test_elbo));
    report_figure(rep, "reconstruction_term.png", cell(
        "Its reconstruction term, the summed BCE: %.2f nats on the test set "
        "for 20 dimensions against %.2f for 2.", res[1].test_recon,
        res[0].test_recon));
    report_figure(rep, "kl_term.png", cell(
        "Its KL term: the 20-D VAE spends %.2f nats per image on its code "
        "(%.2f in its last training epoch), the 2-D one %.2f.",
        res[1].test_kl, last >= 0 && last < 64 ? res[1].log.kl[0][last] : NAN,
        res[0].test_kl));

    for (int l = 0; l < LATENTS; l++) {
        const char *file = cell("samples_%d.png", res[l].k);
        samples_figure(&res[l], out_path(opt, file));
        report_figure(rep, file, cell(
            "Top %d rows: the %d-D VAE decoding samples of N(0, I) "
            "(ae_model_generate). Bottom %d rows: the plain autoencoder "
            "with a %d-D code decoding samples of a Gaussian fitted to its "
            "codes of the training images (mean and full covariance). "
            "Reconstruction MSE on the test set: VAE %.5f, autoencoder "
            "%.5f.", SAMPLE_ROWS, res[l].k, SAMPLE_ROWS, res[l].k,
            res[l].vae_mse, res[l].ae_mse));
    }

    double lo, hi;
    manifold_figure(res[0].vae.model, out_path(opt, "manifold_2d.png"), &lo,
                    &hi);
    report_figure(rep, "manifold_2d.png", cell(
        "The 2-D VAE's decoder over a %d x %d grid of latent points at the "
        "quantiles of N(0, 1), p = 0.025 to 0.975 (z from %.2f to %.2f in "
        "each coordinate): what it draws over the square where the prior "
        "N(0, I), which the KL term pulls the codes towards, puts 95%% of "
        "its mass per coordinate.", GRID, GRID, lo, hi));

    float *xy[2] = {res[0].vae_codes, res[0].ae_codes};
    static const char *const scatter_name[2] = {"codes_vae2.png",
                                                "codes_ae2.png"};
    for (int s = 0; s < 2; s++)
        if (plot_scatter(out_path(opt, scatter_name[s]),
                         s == 0 ? "2-D VAE: the means of the test codes"
                                : "2-D autoencoder: the test codes",
                         "z1", "z2", xy[s], labels, n_codes,
                         class_names(opt), 10) != 0)
            return 1;
    double sd[2][2];
    for (int s = 0; s < 2; s++)
        for (int a = 0; a < 2; a++) {
            double m = 0, v = 0;
            for (size_t i = 0; i < n_codes; i++)
                m += xy[s][2 * i + a];
            m /= (double)n_codes;
            for (size_t i = 0; i < n_codes; i++)
                v += (xy[s][2 * i + a] - m) * (xy[s][2 * i + a] - m);
            sd[s][a] = sqrt(v / (double)(n_codes - 1));
            report_value(rep, cell("%s2_code_sd_%d", s ? "ae" : "vae", a + 1),
                         sd[s][a]);
        }
    report_figure(rep, "codes_vae2.png", cell(
        "The 2-D VAE's codes (the means) of %zu test %s, coloured by "
        "label. Their standard deviations per axis: %.2f and %.2f (the "
        "prior's: 1).", n_codes, items, sd[0][0], sd[0][1]));
    report_figure(rep, "codes_ae2.png", cell(
        "The plain 2-D autoencoder's codes of the same %s: standard "
        "deviations %.2f and %.2f. Nothing in its loss ties them to a scale "
        "or a shape; its samples above come from a Gaussian fitted to "
        "them.", items, sd[1][0], sd[1][1]));

    for (int l = 0; l < LATENTS; l++)
        free_result(&res[l]);
    free(test_x);
    free(labels);
    experiment_finish(&ex);
    return 0;
}

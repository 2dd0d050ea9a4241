/* Experiment 4: denoising autoencoders.
 *
 * Part 1: corrupt images with x + f N(0,1), clipped to [0, 1], for
 * f = 0.3, 0.5, 0.8, 0.9.  For each f, train a one-hidden-layer
 * autoencoder 784-256 (ReLU) / 256-784 (Sigmoid) on noisy inputs against
 * the clean images, and compare it on the same noisy test images with a
 * standard autoencoder of the same shape trained on clean ones.  The
 * denoising one should come closer to the clean digits at every level.
 *
 * Part 2, the variant with quality metrics: pixels in [-1, 1], noise 0.3
 * clipped to [-1, 1], 784-256-128-64 (ReLU, linear code) / 64-128-256-784
 * (ReLU, Tanh output), batch 128, an 80/20 split of the training set.  After
 * every epoch: training loss, validation loss, and PSNR and SSIM of the
 * denoised validation images (data range 2).  Then the correlations
 * between the 64 code units over the validation set, and a t-SNE map of
 * the codes of up to 2,000 validation images.
 *
 * Default epochs: 5 for part 1 (as the original), 15 for part 2 (as the
 * original); about 4 min in all on 60,000 images on 2 cores. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "models.h"
#include "plot.h"
#include "report.h"

enum { LEVELS = 4, SHOWN = 10, PIXELS = 28 * 28, CODE = 64,
       TSNE_POINTS = 2000 };
static const float levels[LEVELS] = {0.3f, 0.5f, 0.8f, 0.9f};

/* ---- Part 1: standard against denoising, across noise levels ---------- */

/* The one-hidden-layer model of 256 units both parts use. */
static ae_model *model_256(const options *opt)
{
    ae_model *m = NULL;
    check(model_one_hidden(&m, 256, opt->seed), "building a model");
    return m;
}

static void noise_sweep(const options *opt, const ae_dataset *train,
                        const ae_dataset *test, report *rep)
{
    int epochs = epochs_for(opt, 5);
    size_t n = ae_dataset_count(test);
    uint8_t *labels = NULL;
    float *clean = read_images(test, 0, n, &labels);
    /* Rows of each level's figure: clean, noisy, standard, denoising. */
    sheet grid;
    sheet_init(&grid, 4, SHOWN, 28, 28);
    sheet_set_row(&grid, 0, clean);
    sheet_label_row(&grid, 0, "original");
    sheet_label_row(&grid, 2, "standard AE");
    sheet_label_cols_by_class(&grid, 0, SHOWN, opt, test, labels);

    report_text(rep, "Part 1. One hidden layer of 256 units (ReLU, Sigmoid "
                "output), %d epochs on %zu %s training images: a standard "
                "autoencoder trained on clean images, and one denoising "
                "autoencoder per noise level f trained on x + f N(0,1) "
                "(clipped to [0,1]) against the clean x. All are measured on "
                "the same noisy copies of the %zu test images, against the "
                "clean ones.", epochs, ae_dataset_count(train),
                opt->data_name, n);
    run runs[LEVELS + 1];
    run *standard = &runs[0];
    run_start(standard, "standard", model_256(opt), opt);
    run_fit(standard, train, test, epochs);
    write_dense_filters(out_path(opt, "encoder_standard.png"),
                        "Encoder weights, standard autoencoder: the first 64 "
                        "hidden units", standard->model, 0, NULL, 64, 8);

    const char *headers[] = {"noise f", "noisy input", "standard AE",
                             "denoising AE", "denoising wins"};
    double mse_in[LEVELS], mse_std[LEVELS], mse_dae[LEVELS];
    int wins = 1;
    for (int k = 0; k < LEVELS; k++) {
        run *r = &runs[k + 1];
        static char names[LEVELS][32];
        snprintf(names[k], sizeof names[k], "denoising f=%.1f", levels[k]);
        run_start(r, names[k], model_256(opt), opt);
        check(ae_trainer_set(r->trainer, AE_TRAIN_NOISE, AE_NOISE_GAUSSIAN),
              "setting the noise");
        check(ae_trainer_set(r->trainer, AE_TRAIN_NOISE_LEVEL, levels[k]),
              "setting the noise level");
        run_fit(r, train, test, epochs);

        float *noisy = noisy_copy(clean, n * PIXELS, AE_NOISE_GAUSSIAN,
                                  levels[k], 0.0f, 1.0f,
                                  opt->seed + 100 + (unsigned)k);
        mse_in[k] = images_mse(clean, noisy, n);
        measure_reconstruction(standard->model, noisy, clean, n, 1.0f,
                               &mse_std[k], NULL, NULL);
        measure_reconstruction(r->model, noisy, clean, n, 1.0f, &mse_dae[k],
                               NULL, NULL);
        wins &= mse_dae[k] < mse_std[k];
        printf("f = %.1f: noisy input MSE %.5f, standard AE %.5f, denoising "
               "AE %.5f\n", levels[k], mse_in[k], mse_std[k], mse_dae[k]);

        sheet_set_row(&grid, 1, noisy);
        sheet_reconstruct_row(&grid, 2, standard->model, noisy);
        sheet_reconstruct_row(&grid, 3, r->model, noisy);
        sheet_title(&grid, "Noise f = %.1f: standard against denoising "
                    "autoencoder", levels[k]);
        sheet_label_row(&grid, 1, "noisy f=%.1f", levels[k]);
        sheet_label_row(&grid, 3, "denoising AE f=%.1f", levels[k]);
        sheet_write(&grid, out_path(opt, cell("denoising_f%.1f.png",
                                              levels[k])), 0.0f, 1.0f);
        write_dense_filters(out_path(opt, cell("encoder_f%.1f.png",
                                               levels[k])),
                            cell("Encoder weights, denoising autoencoder "
                                 "f=%.1f: the first 64 hidden units",
                                 levels[k]), r->model, 0, NULL, 64, 8);
        free(noisy);
    }

    report_table(rep, "MSE against the clean test images: of the noisy "
                 "inputs themselves, of the standard autoencoder's output "
                 "and of the denoising autoencoder's output.", 5, headers);
    for (int k = 0; k < LEVELS; k++) {
        const char *row[] = {cell("%.1f", levels[k]), cell("%.5f", mse_in[k]),
                             cell("%.5f", mse_std[k]),
                             cell("%.5f", mse_dae[k]),
                             mse_dae[k] < mse_std[k] ? "yes" : "no"};
        report_row(rep, row);
        report_value(rep, cell("f%.1f_noisy_input_mse", levels[k]),
                     mse_in[k]);
        report_value(rep, cell("f%.1f_standard_mse", levels[k]), mse_std[k]);
        report_value(rep, cell("f%.1f_denoising_mse", levels[k]), mse_dae[k]);
    }
    report_text(rep, "The denoising autoencoder beats the standard one on "
                "noisy inputs at every level: %s.", wins ? "yes" : "NO");
    report_value(rep, "denoising_wins_every_level", wins);
    for (int k = 0; k < LEVELS; k++)
        report_figure(rep, cell("denoising_f%.1f.png", levels[k]),
                      cell("Noise f = %.1f. Rows: clean test %s, noisy "
                           "inputs, the standard autoencoder's output, the "
                           "denoising autoencoder's output.", levels[k],
                           item_word(opt, 1)));
    plot_run_losses(out_path(opt, "losses.png"), "Part 1: loss per epoch",
                    "MSE", runs, LEVELS + 1);
    /* The denoising models' final test losses, in order of noise level. */
    int last = epochs - 1, rises = 1;
    for (int k = 1; k < LEVELS; k++)
        rises &= runs[k + 1].val_loss[last] > runs[k].val_loss[last];
    report_figure(rep, "losses.png", cell(
        "Training and test loss per epoch (noisy input against clean target "
        "for the denoising models). The denoising models' final test loss "
        "%s with the noise level: %.5f, %.5f, %.5f, %.5f for f = 0.3, 0.5, "
        "0.8, 0.9.", rises ? "rises" : "does not rise steadily",
        runs[1].val_loss[last], runs[2].val_loss[last],
        runs[3].val_loss[last], runs[4].val_loss[last]));
    report_figure(rep, "encoder_standard.png", "Encoder weights of the first "
                  "64 hidden units of the standard autoencoder.");
    for (int k = 0; k < LEVELS; k++)
        report_figure(rep, cell("encoder_f%.1f.png", levels[k]),
                      cell("Encoder weights of the first 64 hidden units of "
                           "the denoising autoencoder for f = %.1f, to set "
                           "beside the standard autoencoder's above. A unit "
                           "that never fires keeps its random start, a tile "
                           "of pure noise.", levels[k]));
    for (int k = 0; k <= LEVELS; k++)
        run_free(&runs[k]);
    sheet_free(&grid);
    free(clean);
    free(labels);
}

/* ---- Part 2: [-1, 1] pixels, deeper model, per-epoch quality ---------- */

typedef struct quality {
    const float *noisy, *clean; /* the validation images */
    size_t n;
    double *psnr, *ssim;       /* per epoch */
} quality;

static void measure_epoch(run *r, void *user)
{
    quality *q = user;
    int e = r->epochs - 1;
    measure_reconstruction(r->model, q->noisy, q->clean, q->n, 2.0f, NULL,
                           &q->psnr[e], &q->ssim[e]);
    fprintf(stderr, "  validation PSNR %.2f dB, SSIM %.3f\n", q->psnr[e],
            q->ssim[e]);
}

/* Pearson correlation between the columns of codes (n x d) into corr
 * (d x d); a constant unit correlates 0 with the others. */
static void correlations(const float *codes, size_t n, int d, float *corr)
{
    double *mean = xmalloc((size_t)d * sizeof *mean);
    double *sd = xmalloc((size_t)d * sizeof *sd);
    for (int a = 0; a < d; a++) {
        double s = 0, ss = 0;
        for (size_t i = 0; i < n; i++)
            s += codes[i * d + a];
        mean[a] = s / n;
        for (size_t i = 0; i < n; i++)
            ss += (codes[i * d + a] - mean[a]) * (codes[i * d + a] - mean[a]);
        sd[a] = sqrt(ss);
    }
    for (int a = 0; a < d; a++)
        for (int b = 0; b < d; b++) {
            double s = 0;
            for (size_t i = 0; i < n; i++)
                s += (codes[i * d + a] - mean[a]) * (codes[i * d + b] - mean[b]);
            corr[a * d + b] = a == b ? 1.0f
                              : sd[a] > 0 && sd[b] > 0
                                  ? (float)(s / (sd[a] * sd[b]))
                                  : 0.0f;
        }
    free(mean);
    free(sd);
}

/* Share of points whose 10 nearest neighbours in the map mostly carry
 * their own label. */
static double knn_agreement(const float *y, const uint8_t *labels, size_t n)
{
    enum { K = 10 };
    size_t hits = 0;
    for (size_t i = 0; i < n; i++) {
        double best[K];
        int votes[256] = {0};
        size_t who[K];
        for (int k = 0; k < K; k++)
            best[k] = INFINITY, who[k] = i;
        for (size_t j = 0; j < n; j++) {
            double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
            double d = dx * dx + dy * dy;
            if (j == i || d >= best[K - 1])
                continue;
            int k = K - 1;
            for (; k > 0 && best[k - 1] > d; k--)
                best[k] = best[k - 1], who[k] = who[k - 1];
            best[k] = d, who[k] = j;
        }
        int top = 0;
        for (int k = 0; k < K; k++)
            if (++votes[labels[who[k]]] > votes[top])
                top = labels[who[k]];
        hits += top == labels[i];
    }
    return (double)hits / n;
}

static void quality_variant(const options *opt, const ae_dataset *full,
                            report *rep)
{
    int epochs = epochs_for(opt, 15);
    ae_dataset *train = NULL, *val = NULL;
    check(ae_dataset_split(full, 0.8, opt->seed, &train, &val), "splitting");
    check(ae_dataset_set_range(train, AE_RANGE_SYMMETRIC), "setting range");
    check(ae_dataset_set_range(val, AE_RANGE_SYMMETRIC), "setting range");
    size_t n = ae_dataset_count(val);
    uint8_t *labels = NULL;
    float *clean = read_images(val, 0, n, &labels);
    float *noisy = noisy_copy(clean, n * PIXELS, AE_NOISE_GAUSSIAN, 0.3f,
                              -1.0f, 1.0f, opt->seed + 200);
    report_text(rep, "Part 2. Pixels in [-1, 1], noise 0.3 N(0,1) clipped to "
                "[-1, 1]; 784-256-128-64 (ReLU, linear code) / "
                "64-128-256-784 (ReLU, Tanh output), Adam 1e-3, batch 128, "
                "MSE, %d epochs on %zu images with %zu held out for "
                "validation (an 80/20 split of the %s training set).",
                epochs, ae_dataset_count(train), n, opt->data_name);

    quality q = {noisy, clean, n, xmalloc((size_t)epochs * sizeof(double)),
                 xmalloc((size_t)epochs * sizeof(double))};
    run r;
    ae_model *model = NULL;
    check(model_exp4_deep_denoiser(&model, opt->seed), "building the model");
    run_start(&r, "deep denoiser", model, opt);
    check(ae_trainer_set(r.trainer, AE_TRAIN_BATCH_SIZE, 128), "batch size");
    check(ae_trainer_set(r.trainer, AE_TRAIN_NOISE, AE_NOISE_GAUSSIAN),
          "setting the noise");
    check(ae_trainer_set(r.trainer, AE_TRAIN_NOISE_LEVEL, 0.3), "noise level");
    r.after_epoch = measure_epoch;
    r.user = &q;
    run_fit(&r, train, val, epochs);

    const char *headers[] = {"epoch", "train loss", "validation loss",
                             "PSNR (dB)", "SSIM"};
    report_table(rep, "Per epoch: mean training loss, validation loss (noisy "
                 "input against clean image) and the PSNR and SSIM of the "
                 "denoised validation images.", 5, headers);
    for (int e = 0; e < epochs; e++) {
        const char *row[] = {cell("%d", e + 1), cell("%.5f", r.train_loss[e]),
                             cell("%.5f", r.val_loss[e]),
                             cell("%.2f", q.psnr[e]), cell("%.3f", q.ssim[e])};
        report_row(rep, row);
    }
    report_value(rep, "variant_final_val_loss", r.val_loss[epochs - 1]);
    report_value(rep, "variant_final_psnr_db", q.psnr[epochs - 1]);
    report_value(rep, "variant_final_ssim", q.ssim[epochs - 1]);
    printf("variant: after %d epochs validation loss %.5f, PSNR %.2f dB, "
           "SSIM %.3f\n", epochs, r.val_loss[epochs - 1], q.psnr[epochs - 1],
           q.ssim[epochs - 1]);
    plot_series ls[] = {{"train", r.epoch, r.train_loss, (size_t)epochs},
                        {"validation", r.epoch, r.val_loss, (size_t)epochs}};
    plot_series ps = {"PSNR", r.epoch, q.psnr, (size_t)epochs};
    plot_series ss = {"SSIM", r.epoch, q.ssim, (size_t)epochs};
    if (plot_lines(out_path(opt, "variant_losses.png"), "Part 2: loss per "
                   "epoch", "epoch", "MSE", ls, 2) != 0 ||
        plot_lines(out_path(opt, "variant_psnr.png"), "Denoised validation "
                   "images: PSNR", "epoch", "PSNR (dB)", &ps, 1) != 0 ||
        plot_lines(out_path(opt, "variant_ssim.png"), "Denoised validation "
                   "images: SSIM", "epoch", "SSIM", &ss, 1) != 0)
        exit(1);
    report_figure(rep, "variant_losses.png", "Training and validation loss "
                  "per epoch of the [-1, 1] denoiser.");
    report_figure(rep, "variant_psnr.png", "PSNR of the denoised validation "
                  "images against the clean ones, per epoch.");
    report_figure(rep, "variant_ssim.png", "SSIM (7x7 window, data range 2) "
                  "of the denoised validation images, per epoch.");

    /* Rows: clean, noisy, denoised validation images, in [-1, 1]. */
    sheet grid;
    sheet_init(&grid, 3, SHOWN, 28, 28);
    sheet_set_row(&grid, 0, clean);
    sheet_set_row(&grid, 1, noisy);
    sheet_reconstruct_row(&grid, 2, r.model, noisy);
    sheet_title(&grid, "Validation %s in [-1, 1], noise 0.3, denoised",
                item_word(opt, 1));
    sheet_label_row(&grid, 0, "original");
    sheet_label_row(&grid, 1, "noisy 0.3");
    sheet_label_row(&grid, 2, "denoised");
    sheet_label_cols_by_class(&grid, 0, SHOWN, opt, val, labels);
    sheet_write(&grid, out_path(opt, "variant_denoising.png"), -1.0f, 1.0f);
    report_figure(rep, "variant_denoising.png", "Rows: clean validation "
                  "images, with noise 0.3, denoised.");

    /* The codes of the clean validation images: how the units correlate,
     * and a t-SNE map coloured by label. */
    float *codes = xmalloc(n * CODE * sizeof *codes);
    check(ae_model_encode(r.model, clean, n, codes), "encoding");
    float *corr = xmalloc(CODE * CODE * sizeof *corr);
    correlations(codes, n, CODE, corr);
    /* Off the diagonal: mean and largest |r|, and the share below 0.3. */
    double off = 0, top = 0, weak = 0;
    for (int i = 0; i < CODE * CODE; i++)
        if (i / CODE != i % CODE) {
            off += fabs(corr[i]);
            top = fabs(corr[i]) > top ? fabs(corr[i]) : top;
            weak += fabs(corr[i]) < 0.3;
        }
    off /= CODE * (CODE - 1);
    weak /= CODE * (CODE - 1);
    report_value(rep, "variant_mean_abs_code_correlation", off);
    report_value(rep, "variant_max_abs_code_correlation", top);
    if (plot_heatmap(out_path(opt, "variant_code_correlation.png"),
                     "Correlation between code units", "code unit",
                     "code unit", corr, CODE, CODE, -1.0f, 1.0f) != 0)
        exit(1);
    report_figure(rep, "variant_code_correlation.png",
                  cell("Correlation between the 64 code units over the "
                       "clean validation images: off the diagonal the mean "
                       "|r| is %.3f, the strongest pair reaches %.3f, and "
                       "%.0f%% of the pairs have |r| < 0.3.", off, top,
                       100 * weak));

    size_t m = n < TSNE_POINTS ? n : TSNE_POINTS;
    if (opt->quick && m > 300)
        m = 300;
    float *map = xmalloc(m * 2 * sizeof *map);
    ae_tsne *tsne = NULL;
    check(ae_tsne_create(&tsne, 2), "creating the t-SNE");
    check(ae_tsne_set(tsne, AE_TSNE_SEED, (double)opt->seed), "seeding");
    if (opt->quick)
        check(ae_tsne_set(tsne, AE_TSNE_ITERATIONS, 300), "iterations");
    check(ae_tsne_run(tsne, codes, m, CODE, map), "running t-SNE");
    double agree = knn_agreement(map, labels, m);
    report_value(rep, "variant_tsne_knn10_agreement", agree);
    printf("t-SNE of %zu codes: 10-nearest-neighbour vote recovers the label "
           "of %.1f%% of points\n", m, 100 * agree);
    if (plot_scatter(out_path(opt, "variant_tsne.png"),
                     "t-SNE of the 64-D codes", "t-SNE 1", "t-SNE 2", map,
                     labels, m, class_names(opt), 10) != 0)
        exit(1);
    report_figure(rep, "variant_tsne.png",
                  cell("t-SNE map of the codes of %zu validation images, "
                       "coloured by class; a 10-nearest-neighbour vote in the "
                       "map gives the right label for %.1f%% of them.", m,
                       100 * agree));

    ae_tsne_free(tsne);
    free(map);
    free(corr);
    free(codes);
    sheet_free(&grid);
    free(q.psnr);
    free(q.ssim);
    run_free(&r);
    free(noisy);
    free(clean);
    free(labels);
    ae_dataset_free(train);
    ae_dataset_free(val);
}

int main(int argc, char **argv)
{
    experiment x;
    experiment_start(&x, argc, argv, 4, "Denoising autoencoders");
    experiment_banner(&x, 0, NULL); /* each part has its own epochs */
    noise_sweep(&x.opt, x.train, x.test, x.rep);
    quality_variant(&x.opt, x.train, x.rep);
    experiment_finish(&x);
    return 0;
}

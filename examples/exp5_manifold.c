/* Experiment 5: noise in input space against noise in the code.
 *
 * The autoencoder 784-64-8 (ReLU, also on the 8-D code) / 8-64-784 (ReLU,
 * Sigmoid output) squeezes every digit into 8 numbers.  Take a test digit
 * and add Gaussian noise of level s = 0.1 .. 1.0 in two places: to the
 * image (x + s N(0,1), clipped to [0, 1]), then reconstruct it; or to its
 * 8-D code (c + s N(0,1)), then decode.  The codes turn out to be large
 * (their root mean square R is about 14 on MNIST), so code noise is also
 * tried at the codes' own scale, c + s R N(0,1): as large next to the code
 * as s is next to the [0, 1] pixel range.  Digits fill a thin manifold of
 * the 784-D pixel space: pixel noise pushes the image off it, while a
 * decoded code is always drawn on it, so latent noise should give other
 * plausible digits rather than snow.
 *
 * To put numbers on "still a recognisable digit", each result is matched
 * to its nearest training image (by MSE): how far that neighbour is (near
 * = on the manifold) and whether it shows the same digit as the original
 * (a 1-nearest-neighbour classifier's verdict), over 100 test digits.
 *
 * Default 10 epochs (the original trained 5): about 2 s an epoch on 60,000
 * images on 2 cores. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "models.h"
#include "plot.h"
#include "report.h"

enum { LEVELS = 10, KINDS = 4, PIXELS = 28 * 28, CODE = 8,
       REFERENCE = 10000, PROBES = 100, SHOWN = 2 };
static const char *const kinds[KINDS] = {
    "noisy input", "reconstructed noisy input", "decoded code + s N(0,1)",
    "decoded code + s R N(0,1)"};
static const char *const tags[KINDS] = {"input", "reconstruction", "code",
                                        "scaled_code"};

/* Index of the reference image nearest to q (mean squared difference),
 * and that distance. */
static size_t nearest(const float *ref, size_t n, const float *q,
                      double *dist)
{
    double best = DBL_MAX;
    size_t who = 0;
    for (size_t i = 0; i < n; i++) {
        const float *r = ref + i * PIXELS;
        double d = 0;
        for (int p = 0; p < PIXELS && d < best; p += 28)
            for (int k = p; k < p + 28; k++)
                d += (double)(q[k] - r[k]) * (q[k] - r[k]);
        if (d < best)
            best = d, who = i;
    }
    *dist = best / PIXELS;
    return who;
}

int main(int argc, char **argv)
{
    experiment ex;
    experiment_start(&ex, argc, argv, 5, "Manifold learning: input noise "
                     "against code noise");
    const options *opt = &ex.opt;
    report *rep = ex.rep;
    int epochs = epochs_for(opt, 10);
    size_t n_ref = ex.n_train < REFERENCE ? ex.n_train : REFERENCE;
    size_t probes = opt->quick ? 20 : PROBES;
    experiment_banner(&ex, epochs, NULL);
    const char *item = item_word(opt, 0), *items = item_word(opt, 1);

    run r;
    ae_model *m = NULL;
    check(model_exp5_small_code(&m, opt->seed), "building the model");
    run_start(&r, "784-64-8", m, opt);
    run_fit(&r, ex.train, ex.test, epochs);

    uint8_t *ref_labels = NULL, *labels = NULL;
    float *ref = read_images(ex.train, 0, n_ref, &ref_labels);
    float *x = read_images(ex.test, 0, probes, &labels);
    float *codes = xmalloc(probes * CODE * sizeof *codes);
    check(ae_model_encode(r.model, x, probes, codes), "encoding");
    write_npy_rows(opt, "codes_8.npy", codes, probes, CODE);
    write_npy_labels(opt, "test_labels.npy", labels, probes);
    double spread = 0; /* R, the codes' typical size */
    for (size_t i = 0; i < probes * CODE; i++)
        spread += (double)codes[i] * codes[i];
    spread = sqrt(spread / (probes * CODE));
    printf("root mean square of the codes: %.2f\n", spread);

    /* For each level and kind: every probe's result, and the averages of
     * MSE to the clean image, distance to the nearest training image, and
     * how often that image has the original's label. */
    float *out[KINDS], *noisy_code = xmalloc(probes * CODE * sizeof(float));
    for (int k = 0; k < KINDS; k++)
        out[k] = xmalloc(probes * PIXELS * sizeof(float));
    double mse[KINDS][LEVELS], near[KINDS][LEVELS], same[KINDS][LEVELS];
    double level[LEVELS];
    /* Figure: for each shown digit, one row per kind, one column per
     * level after a first column without noise. */
    enum { COLS = LEVELS + 1 };
    sheet grid;
    sheet_init(&grid, SHOWN * KINDS, COLS, 28, 28);
    float clean_out[SHOWN * PIXELS];
    check(ae_model_reconstruct(r.model, x, SHOWN, clean_out), "reconstructing");
    for (int d = 0; d < SHOWN; d++)
        for (int k = 0; k < KINDS; k++)
            memcpy(sheet_tile(&grid, d * KINDS + k, 0),
                   (k == 0 ? x : clean_out) + (size_t)d * PIXELS,
                   PIXELS * sizeof *x);
    for (int l = 0; l < LEVELS; l++) {
        level[l] = 0.1 * (l + 1);
        float s = (float)level[l];
        check(ae_corrupt(AE_NOISE_GAUSSIAN, s, 0.0f, 1.0f, opt->seed + l, x,
                         out[0], probes * PIXELS), "adding input noise");
        check(ae_model_reconstruct(r.model, out[0], probes, out[1]),
              "reconstructing");
        /* No clipping in the code: bounds far beyond any value.  The same
         * draws for both code-noise rows, only scaled. */
        for (int k = 2; k < KINDS; k++) {
            float level_k = k == 2 ? s : s * (float)spread;
            check(ae_corrupt(AE_NOISE_GAUSSIAN, level_k, -FLT_MAX, FLT_MAX,
                             opt->seed + 100 + l, codes, noisy_code,
                             probes * CODE), "adding code noise");
            check(ae_model_decode(r.model, noisy_code, probes, out[k]),
                  "decoding");
        }
        for (int k = 0; k < KINDS; k++) {
            mse[k][l] = images_mse(x, out[k], probes);
            near[k][l] = same[k][l] = 0;
            for (size_t i = 0; i < probes; i++) {
                double dist;
                size_t j = nearest(ref, n_ref, out[k] + i * PIXELS, &dist);
                near[k][l] += dist / probes;
                same[k][l] += (ref_labels[j] == labels[i]) / (double)probes;
            }
            for (int d = 0; d < SHOWN; d++)
                memcpy(sheet_tile(&grid, d * KINDS + k, 1 + l),
                       out[k] + (size_t)d * PIXELS, PIXELS * sizeof *x);
        }
        printf("s = %.1f: to nearest training %s %.4f / %.4f / %.4f / "
               "%.4f, same label %.0f%% / %.0f%% / %.0f%% / %.0f%% (input / "
               "reconstruction / code / scaled code)\n", s, item, near[0][l],
               near[1][l], near[2][l], near[3][l], 100 * same[0][l],
               100 * same[1][l], 100 * same[2][l], 100 * same[3][l]);
    }

    report_text(rep, "Autoencoder 784-64-8 (ReLU, ReLU code) / 8-64-784 "
                "(ReLU, Sigmoid), Adam 1e-3, batch 64, MSE, %d epochs on %zu "
                "%s training images (test MSE %.5f). Gaussian noise of level "
                "s is added to the image (clipped to [0, 1]) and the result "
                "reconstructed, or added to its 8-D code and the code "
                "decoded. The codes have a root mean square R = %.2f, so "
                "code noise of level s <= 1 is small next to them; the last "
                "kind scales it by R. Each result is matched to the nearest "
                "of %zu training images; the numbers are averages over %zu "
                "test %s.", epochs, ex.n_train, opt->data_name,
                r.val_loss[r.epochs - 1], spread, n_ref, probes, items);
    report_value(rep, "test_mse", r.val_loss[r.epochs - 1]);
    report_value(rep, "code_rms", spread);
    sheet_title(&grid, "Noise of level s in the image and in the 8-D code "
                "(R = %.2f)", spread);
    for (int d = 0; d < SHOWN; d++)
        for (int k = 0; k < KINDS; k++)
            sheet_label_row(&grid, d * KINDS + k, "%s: %s",
                            item_label(opt, ex.test, labels[d]), kinds[k]);
    sheet_col_heading(&grid, "noise s");
    sheet_label_col(&grid, 0, "0");
    for (int l = 0; l < LEVELS; l++)
        sheet_label_col(&grid, 1 + l, "%.1f", level[l]);
    sheet_write(&grid, out_path(opt, "input_vs_code_noise.png"), 0.0f, 1.0f);
    /* The caption quotes, for each row kind, how often the result still
     * has the original's label at the lowest and the highest level. */
    int last = LEVELS - 1;
    report_figure(rep, "input_vs_code_noise.png", cell(
        "For two test %s, four rows each: the image with input noise, its "
        "reconstruction, the decoded code with noise s, and with noise s R. "
        "Columns: no noise, then s = 0.1 to 1.0. Over all %zu test %s (the "
        "tables below), the share of results whose nearest training image "
        "has the original's label goes from s = 0.1 to s = 1.0 from %.0f%% "
        "to %.0f%% for the noisy input, %.0f%% to %.0f%% for its "
        "reconstruction, %.0f%% to %.0f%% for code noise s and %.0f%% to "
        "%.0f%% for code noise s R.", items, probes, items, 100 * same[0][0],
        100 * same[0][last], 100 * same[1][0], 100 * same[1][last],
        100 * same[2][0], 100 * same[2][last], 100 * same[3][0],
        100 * same[3][last]));

    const char *h1[KINDS + 1] = {"noise s"};
    for (int k = 0; k < KINDS; k++)
        h1[k + 1] = kinds[k];
    const char *h2[] = {"noise s", "to clean: input", "to clean: recon.",
                        "to clean: code + s", "to clean: code + sR",
                        "to nearest: input", "to nearest: recon.",
                        "to nearest: code + s", "to nearest: code + sR"};
    report_table(rep, cell("Mean squared distance of each result to the "
                           "clean image, and to the nearest training image "
                           "(small: on the %s manifold).", item), 9, h2);
    for (int l = 0; l < LEVELS; l++) {
        const char *row[9] = {cell("%.1f", level[l])};
        for (int k = 0; k < KINDS; k++) {
            row[1 + k] = cell("%.4f", mse[k][l]);
            row[5 + k] = cell("%.4f", near[k][l]);
        }
        report_row(rep, row);
    }
    report_table(rep, "How often the nearest training image has the "
                 "original's label (a 1-nearest-neighbour verdict, %).",
                 KINDS + 1, h1);
    for (int l = 0; l < LEVELS; l++) {
        const char *row[KINDS + 1] = {cell("%.1f", level[l])};
        for (int k = 0; k < KINDS; k++)
            row[1 + k] = cell("%.0f", 100 * same[k][l]);
        report_row(rep, row);
    }
    for (int k = 0; k < KINDS; k++)
        for (int l = 0; l < LEVELS; l += 4) { /* s = 0.1, 0.5, 0.9 */
            report_value(rep, cell("s%.1f_%s_to_clean", level[l], tags[k]),
                         mse[k][l]);
            report_value(rep, cell("s%.1f_%s_to_nearest", level[l], tags[k]),
                         near[k][l]);
            report_value(rep, cell("s%.1f_%s_same_digit", level[l], tags[k]),
                         same[k][l]);
        }
    /* Nearer the training images at s = 1.0 with code noise s R than with
     * input noise: the decoder keeps its output on the manifold.  If the
     * noisy image nevertheless keeps its label more often, pixel-space
     * matching sees through isotropic noise. */
    int on = near[3][last] < near[0][last];
    int sees_through = on && same[0][last] > same[3][last];
    report_text(rep, "At s = 1.0 the nearest training %s is %.4f away from "
                "a noisy image, %.4f from a decoded code with noise R (as "
                "large as the code): %s. The 1-nearest-neighbour verdict "
                "finds the original's label for %.0f%% of the noisy images "
                "and %.0f%% of those decoded codes%s", item, near[0][last],
                near[3][last],
                on ? "code noise stays nearer the manifold than input noise"
                   : "code noise does NOT stay nearer the manifold than "
                     "input noise",
                100 * same[0][last], 100 * same[3][last],
                sees_through
                    ? ": isotropic pixel noise moves an image away from all "
                      "training images about equally, so pixel-space "
                      "matching sees through it even though the image is "
                      "far off the manifold, while a decoded code that "
                      "drifted lies near training images of another label."
                    : ".");
    report_value(rep, "code_noise_stays_on_manifold", on);

    plot_series same_s[KINDS], near_s[KINDS];
    double same_pc[KINDS][LEVELS];
    for (int k = 0; k < KINDS; k++) {
        for (int l = 0; l < LEVELS; l++)
            same_pc[k][l] = 100 * same[k][l];
        same_s[k] = (plot_series){kinds[k], level, same_pc[k], LEVELS};
        near_s[k] = (plot_series){kinds[k], level, near[k], LEVELS};
    }
    if (plot_lines(out_path(opt, "distance_to_digits.png"),
                   cell("Distance to the nearest training %s", item),
                   "noise level s", "mean squared distance", near_s,
                   KINDS) != 0 ||
        plot_lines(out_path(opt, "same_digit.png"),
                   "Same label as the original?", "noise level s",
                   "nearest training image agrees (%)", same_s, KINDS) != 0)
        return 1;
    int away = near[0][last] > near[0][0];
    int codes_nearer = near[2][last] < near[0][last] && on;
    report_figure(rep, "distance_to_digits.png", cell(
        "Mean squared distance from each result to its nearest training "
        "image, per noise level. From s = 0.1 to 1.0 the noisy inputs' "
        "distance %s (%.4f to %.4f); at s = 1.0 the decoded codes are %s "
        "(%.4f with noise s, %.4f with noise s R).",
        away ? "grows" : "does not grow", near[0][0], near[0][last],
        codes_nearer ? "both nearer than the noisy inputs"
                     : "not both nearer than the noisy inputs",
        near[2][last], near[3][last]));
    report_figure(rep, "same_digit.png", "Share of results whose nearest "
                  "training image has the original's label, per noise "
                  "level.");
    plot_run_losses(out_path(opt, "losses.png"), "Loss per epoch", "MSE", &r,
                    1);
    report_figure(rep, "losses.png", "Training and test loss per epoch of the "
                  "784-64-8 autoencoder.");

    for (int k = 0; k < KINDS; k++)
        free(out[k]);
    sheet_free(&grid);
    free(noisy_code);
    free(codes);
    free(x);
    free(labels);
    free(ref);
    free(ref_labels);
    run_free(&r);
    experiment_finish(&ex);
    return 0;
}

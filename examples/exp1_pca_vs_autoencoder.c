/* Experiment 1: PCA against autoencoders.
 *
 * Compress each image to a code of 30 or 32 numbers and back, linearly
 * (PCA fitted on the training images) or with an autoencoder (Adam 1e-3,
 * MSE, Sigmoid output), and compare the test reconstruction errors:
 *   code 30: PCA-30 against the notebooks' deep autoencoder
 *            784-512-256-128-30 (ReLU hidden layers, linear code) /
 *            30-128-256-784, batch 64;
 *   code 32: PCA-32 against the one-layer autoencoder 784-32 (ReLU) /
 *            32-784, and the deep one 784-256-64-32 / 32-64-256-784 with
 *            ReLU, Tanh or LeakyReLU after every layer but the last, all
 *            with batch 128.
 * Before that, look at the data through PCA-2: the test images projected
 * on their first two principal components, coloured by label; and the
 * same for the 32-D codes of the one-layer autoencoder.
 *
 * The notebooks trained every model for 10 epochs over 60,000 images; by
 * default each model here gets the same number of updates: 10 epochs on
 * 60,000 images (Fashion-MNIST: about 5 minutes on 2 cores, most of it the
 * deep 30-D autoencoder), 27 on the 22,699-image MNIST subset. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "models.h"
#include "plot.h"
#include "report.h"

enum { SHOWN = 10, PIXELS = 28 * 28, SCATTER = 5000 };

/* PCA with k components fitted on the rows of fit_x (n_fit x d), then
 * applied to x (n x d): the MSE of the reconstructions; the first SHOWN
 * reconstructions into shown, every code into codes and the share of
 * fit_x's variance the components keep into kept (each may be NULL; kept
 * needs k <= 32). */
static double pca_run(int k, const float *fit_x, size_t n_fit, const float *x,
                      size_t n, size_t d, float *shown, float *codes,
                      double *kept)
{
    ae_pca *pca = NULL;
    check(ae_pca_create(&pca, k), "creating a PCA");
    check(ae_pca_fit(pca, fit_x, n_fit, d), "fitting a PCA");
    if (kept) {
        double ratio[32];
        check(ae_pca_explained_variance_ratio(pca, ratio, (size_t)k),
              "reading the explained variance");
        *kept = 0;
        for (int i = 0; i < k; i++)
            *kept += ratio[i];
    }
    float *c = codes ? codes : xmalloc(n * (size_t)k * sizeof *c);
    float *y = xmalloc(n * d * sizeof *y);
    check(ae_pca_transform(pca, x, n, c), "projecting");
    check(ae_pca_inverse_transform(pca, c, n, y), "reconstructing");
    double mse = mean_squared_difference(y, x, n * d);
    if (shown)
        memcpy(shown, y, SHOWN * d * sizeof *y);
    if (!codes)
        free(c);
    free(y);
    ae_pca_free(pca);
    return mse;
}

/* The autoencoders, in the order of the table. */
enum { DEEP30, ONE32, RELU32, TANH32, LEAKY32, MODELS };
static const char *const names[MODELS] = {
    "deep AE-30", "one-layer AE-32", "deep AE-32 ReLU", "deep AE-32 Tanh",
    "deep AE-32 LeakyReLU"};
static const char *const legend[MODELS] = {
    "deep AE-30", "1-layer AE", "deep ReLU", "deep Tanh", "deep LeakyReLU"};
static const char *const keys[MODELS] = {
    "deep_ae30", "one_layer_ae32", "deep_ae32_relu", "deep_ae32_tanh",
    "deep_ae32_leaky_relu"};
static const double notebook[MODELS] = {0.01177, 0.01397, 0.01279, 0.01102,
                                        0.00853};

static ae_model *build(int which, unsigned long seed)
{
    static const ae_activation act[] = {AE_ACT_RELU, AE_ACT_TANH,
                                        AE_ACT_LEAKY_RELU};
    ae_model *m = NULL;
    check(which == DEEP30  ? model_exp1_deep30(&m, seed)
          : which == ONE32 ? model_one_hidden(&m, 32, seed)
                           : model_exp1_deep32(&m, act[which - RELU32], seed),
          cell("building the model %s", names[which]));
    return m;
}

static void scatter(const options *opt, const char *file, const char *title,
                    const float *xy, const uint8_t *labels, size_t n)
{
    if (plot_scatter(out_path(opt, file), title, "first principal component",
                     "second principal component", xy, labels, n,
                     class_names(opt), 10) != 0)
        exit(1);
}

int main(int argc, char **argv)
{
    experiment x;
    experiment_start(&x, argc, argv, 1, "PCA against autoencoders");
    const options *opt = &x.opt;
    size_t n_train = x.n_train, n_test = x.n_test;
    int epochs = epochs_for(opt, (int)((600000 + n_train - 1) / n_train));
    experiment_banner(&x, epochs, NULL);
    report *rep = x.rep;
    report_text(rep, "PCA and autoencoders fitted on %zu %s training images "
                "compress each image to 30 or 32 numbers; errors are measured "
                "on %zu test images. Code 30: PCA-30 against the notebooks' "
                "deep autoencoder 784-512-256-128-30 (ReLU, linear code) / "
                "30-128-256-784 (ReLU, Sigmoid output), batch 64. Code "
                "32: PCA-32 against the one-layer autoencoder 784-32 (ReLU) / "
                "32-784 (Sigmoid) and the deep autoencoder 784-256-64-32 / "
                "32-64-256-784 with ReLU, Tanh or LeakyReLU (slope 0.01) after "
                "every layer but the Sigmoid output, batch 128. All: Adam "
                "1e-3, MSE, %d epochs%s.", n_train, opt->data_name, n_test,
                epochs, opt->epochs > 0 || opt->quick ? "" :
                " (as many updates as the notebooks' 10 epochs over 60,000 "
                "images)");

    float *train_x = read_images(x.train, 0, n_train, NULL);
    uint8_t *labels = NULL;
    float *test_x = read_images(x.test, 0, n_test, &labels);
    size_t n_dots = n_test < SCATTER ? n_test : SCATTER;

    /* Rows of the reconstruction figure: originals, PCA-30, deep AE-30,
     * PCA-32, then the four 32-D autoencoders. */
    sheet grid;
    sheet_init(&grid, 8, SHOWN, 28, 28);
    sheet_set_row(&grid, 0, test_x);
    double pca30 = pca_run(30, train_x, n_train, test_x, n_test, PIXELS,
                           sheet_tile(&grid, 1, 0), NULL, NULL);
    double pca32 = pca_run(32, train_x, n_train, test_x, n_test, PIXELS,
                           sheet_tile(&grid, 3, 0), NULL, NULL);
    float *xy = xmalloc(n_test * 2 * sizeof *xy);
    double kept_images, kept_codes; /* variance kept by the PCA-2 maps */
    pca_run(2, train_x, n_train, test_x, n_test, PIXELS, NULL, xy,
            &kept_images);
    scatter(opt, "pca2_images.png",
            cell("PCA-2 of the %s test images", opt->data_name), xy, labels,
            n_dots);
    printf("PCA-30 test MSE %.5f, PCA-32 %.5f\n", pca30, pca32);

    run runs[MODELS];
    double mse[MODELS];
    for (int k = 0; k < MODELS; k++) {
        run_start(&runs[k], legend[k], build(k, opt->seed), opt);
        if (k != DEEP30)
            check(ae_trainer_set(runs[k].trainer, AE_TRAIN_BATCH_SIZE, 128),
                  "setting the batch size");
        run_fit(&runs[k], x.train, x.test, epochs);
        measure_reconstruction(runs[k].model, test_x, test_x, n_test, 1.0f,
                               &mse[k], NULL, NULL);
        sheet_reconstruct_row(&grid, k == DEEP30 ? 2 : k + 3, runs[k].model,
                              test_x);
        printf("%s: test MSE %.5f\n", names[k], mse[k]);
    }

    /* PCA-2 of the one-layer autoencoder's 32-D codes of the test images. */
    float *codes = xmalloc(n_test * 32 * sizeof *codes);
    check(ae_model_encode(runs[ONE32].model, test_x, n_test, codes),
          "encoding");
    write_npy_rows(opt, "codes_one_layer_32.npy", codes, n_test, 32);
    write_npy_labels(opt, "test_labels.npy", labels, n_test);
    float *deep_codes = xmalloc(n_test * 30 * sizeof *deep_codes);
    check(ae_model_encode(runs[DEEP30].model, test_x, n_test, deep_codes),
          "encoding");
    write_npy_rows(opt, "codes_deep_30.npy", deep_codes, n_test, 30);
    free(deep_codes);
    float *shown = xmalloc(SHOWN * PIXELS * sizeof *shown);
    check(ae_model_reconstruct(runs[DEEP30].model, test_x, SHOWN, shown),
          "reconstructing");
    write_npy_rows(opt, "reconstructions_deep_30.npy", shown, SHOWN, PIXELS);
    write_npy_rows(opt, "originals.npy", test_x, SHOWN, PIXELS);
    free(shown);
    pca_run(2, codes, n_test, codes, n_test, 32, NULL, xy, &kept_codes);
    scatter(opt, "pca2_codes.png",
            "PCA-2 of the one-layer autoencoder's 32-D codes", xy, labels,
            n_dots);

    /* PCA keeps k components of 784 numbers and the mean image. */
    const char *headers[] = {"method", "code size", "parameters",
                             "test MSE", "notebook (MNIST)"};
    report_table(rep, "Test reconstruction error (MSE per pixel). "
                 "Parameters: the autoencoder's weights and biases; for PCA "
                 "its k components of 784 numbers and the mean image. Every "
                 "autoencoder here has the notebook's layers.", 5, headers);
    report_row(rep, (const char *[]){"PCA-30", "30", cell("%d", 31 * PIXELS),
                                     cell("%.5f", pca30), "0.01812"});
    report_row(rep, (const char *[]){
                        names[DEEP30], "30",
                        cell("%zu", ae_model_param_count(runs[DEEP30].model)),
                        cell("%.5f", mse[DEEP30]), "0.01177"});
    report_row(rep, (const char *[]){"PCA-32", "32", cell("%d", 33 * PIXELS),
                                     cell("%.5f", pca32), "0.01718"});
    for (int k = ONE32; k < MODELS; k++)
        report_row(rep, (const char *[]){
                            names[k], "32",
                            cell("%zu", ae_model_param_count(runs[k].model)),
                            cell("%.5f", mse[k]), cell("%.5f", notebook[k])});
    report_value(rep, "epochs", epochs);
    report_value(rep, "pca30_test_mse", pca30);
    report_value(rep, "pca32_test_mse", pca32);
    for (int k = 0; k < MODELS; k++)
        report_value(rep, cell("%s_test_mse", keys[k]), mse[k]);
    for (int k = 0; k < MODELS; k++)
        report_value(rep, cell("%s_params", keys[k]),
                     (double)ae_model_param_count(runs[k].model));

    /* How many autoencoders beat PCA of their code size, and the best of
     * the three deep 32-D ones. */
    int best = RELU32, below = mse[DEEP30] < pca30;
    for (int k = ONE32; k < MODELS; k++) {
        below += mse[k] < pca32;
        if (k > RELU32 && mse[k] < mse[best])
            best = k;
    }
    char verdict[64];
    if (below == MODELS || below == 0)
        snprintf(verdict, sizeof verdict, "%s autoencoder beats PCA",
                 below ? "every" : "no");
    else
        snprintf(verdict, sizeof verdict, "only %d of the %d autoencoders "
                 "beat PCA", below, MODELS);
    report_value(rep, "autoencoders_beat_pca", below == MODELS);
    report_text(rep, "At equal code size %s (test MSE): code 30, %.5f "
                "against %.5f (notebook: 0.01177 against 0.01812); code 32, "
                "the one-layer autoencoder %.5f and the best deep one (%s) "
                "%.5f against PCA-32's %.5f (notebook: one-layer 0.01397, "
                "LeakyReLU 0.00853 against 0.01718). The notebook measured on "
                "the training images (PCA-32 on all 70,000); here every error "
                "is on held-out test images.", verdict, mse[DEEP30], pca30,
                mse[ONE32], names[best], mse[best], pca32);

    sheet_title(&grid, "Test %s and their reconstructions from codes of 30 "
                "and 32 numbers", item_word(opt, 1));
    sheet_label_row(&grid, 0, "original");
    sheet_label_row(&grid, 1, "PCA-30");
    sheet_label_row(&grid, 3, "PCA-32");
    for (int k = 0; k < MODELS; k++)
        sheet_label_row(&grid, k == DEEP30 ? 2 : k + 3, "%s", names[k]);
    sheet_label_cols_by_class(&grid, 0, SHOWN, opt, x.test, labels);
    sheet_write(&grid, out_path(opt, "reconstructions.png"), 0.0f, 1.0f);
    report_figure(rep, "reconstructions.png",
                  cell("Rows, top to bottom: ten test images; PCA-30; the "
                       "deep autoencoder with code 30 (784-512-256-128-30 / "
                       "30-128-256-784); PCA-32; the one-layer "
                       "autoencoder; the deep 32-D autoencoders with ReLU, "
                       "Tanh and LeakyReLU. By test MSE (table above), at "
                       "the same code size %s.", verdict));
    report_figure(rep, "pca2_images.png",
                  cell("The first %zu test images projected on the first two "
                       "principal components of the training images, "
                       "coloured by label. These two directions keep %.0f%% "
                       "of the training images' pixel variance.", n_dots,
                       100 * kept_images));
    report_figure(rep, "pca2_codes.png",
                  cell("The same images' 32-D codes from the one-layer "
                       "autoencoder, projected on the codes' own first two "
                       "principal components (which keep %.0f%% of the "
                       "codes' variance): a different, nonlinear view of the "
                       "same classes. (The notebook's PCA-2 of PCA-32 codes "
                       "is the same picture as the first scatter plot, since "
                       "PCA of PCA codes gives the same leading directions.)",
                       100 * kept_codes));
    plot_run_losses(out_path(opt, "losses_30.png"),
                    "Code 30: deep autoencoder", "loss (MSE)", runs, 1);
    report_figure(rep, "losses_30.png", "Training loss (mean over each "
                  "epoch's batches) and test loss after each epoch of the "
                  "deep autoencoder with code 30.");
    plot_run_losses(out_path(opt, "losses_32.png"),
                    "Code 32: four autoencoders", "loss (MSE)", runs + ONE32,
                    MODELS - ONE32);
    report_figure(rep, "losses_32.png", "Training and test loss per epoch of "
                  "the four autoencoders with code 32.");

    for (int k = 0; k < MODELS; k++)
        run_free(&runs[k]);
    free(codes);
    free(xy);
    sheet_free(&grid);
    free(labels);
    free(test_x);
    free(train_x);
    experiment_finish(&x);
    return 0;
}

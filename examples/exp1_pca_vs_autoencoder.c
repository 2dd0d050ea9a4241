/* Experiment 1: PCA against a deep autoencoder.
 *
 * Fit PCA with 30 components on the training images and train the deep
 * autoencoder 784-512-256-128-30 / 30-128-256-784 (ReLU hidden layers, a
 * linear code, Sigmoid output; Adam 1e-3, batch 64, MSE).  Both compress an
 * image to 30 numbers; compare their test reconstruction error and look at
 * the reconstructions side by side. */
#include <stdlib.h>

#include "common.h"
#include "report.h"

enum { CODE = 30, SHOWN = 10, PIXELS = 28 * 28 };

static double pca_test_mse(ae_dataset *train, ae_dataset *test, float *shown)
{
    ae_pca *pca = NULL;
    check(ae_pca_create(&pca, CODE), "creating the PCA");
    check(ae_pca_fit_dataset(pca, train), "fitting PCA");

    size_t n = ae_dataset_count(test);
    float *x = malloc(n * PIXELS * sizeof *x), *y = malloc(n * PIXELS * sizeof *y);
    float *codes = malloc(n * CODE * sizeof *codes);
    if (!x || !y || !codes)
        check(AE_ERR_NO_MEMORY, "allocating the test images");
    check(ae_dataset_batch(test, 0, n, x, NULL), "reading the test images");
    check(ae_pca_transform(pca, x, n, codes), "projecting");
    check(ae_pca_inverse_transform(pca, codes, n, y), "reconstructing");

    ae_metrics *mt = NULL;
    double mse;
    check(ae_metrics_create(&mt, 1, 28, 28, 1.0f), "creating metrics");
    check(ae_metrics_update(mt, x, y, n), "measuring");
    check(ae_metrics_value(mt, AE_METRIC_MSE, &mse), "measuring");
    for (size_t i = 0; i < SHOWN * PIXELS; i++)
        shown[i] = y[i];
    ae_metrics_free(mt);
    free(x);
    free(y);
    free(codes);
    ae_pca_free(pca);
    return mse;
}

static ae_model *deep_autoencoder(unsigned long seed)
{
    ae_model *m = NULL;
    check(ae_model_create(&m, 1, 28, 28, seed), "creating the model");
    const int enc[] = {512, 256, 128, CODE}, dec[] = {128, 256, 512, PIXELS};
    for (int i = 0; i < 4; i++)
        check(ae_model_add_dense(m, AE_ENCODER, enc[i],
                                 i < 3 ? AE_ACT_RELU : AE_ACT_NONE),
              "adding an encoder layer");
    for (int i = 0; i < 4; i++)
        check(ae_model_add_dense(m, AE_DECODER, dec[i],
                                 i < 3 ? AE_ACT_RELU : AE_ACT_SIGMOID),
              "adding a decoder layer");
    return m;
}

int main(int argc, char **argv)
{
    options opt;
    parse_options(argc, argv, "out/exp1", &opt);
    ae_dataset *train = load_split(&opt, "train", 2000);
    ae_dataset *test = load_split(&opt, "t10k", 500);
    int epochs = epochs_for(&opt, 10);
    printf("Experiment 1 on %s (%zu training, %zu test images)\n",
           opt.data_name, ae_dataset_count(train), ae_dataset_count(test));
    report *rep = report_open(&opt, 1, "PCA against a deep autoencoder");
    report_text(rep, "PCA with %d components against the deep autoencoder "
                "784-512-256-128-%d / %d-128-256-512-784 (ReLU, linear code, "
                "Sigmoid output; Adam 1e-3, batch 64, MSE, %d epochs), both "
                "fitted on %zu training images and measured on %zu test "
                "images: both compress an image to %d numbers.", CODE, CODE,
                CODE, epochs, ae_dataset_count(train), ae_dataset_count(test),
                CODE);

    /* Rows of the figure: originals, PCA-30, autoencoder. */
    float *grid = malloc(3 * SHOWN * PIXELS * sizeof *grid);
    if (grid == NULL)
        check(AE_ERR_NO_MEMORY, "allocating the figure");
    check(ae_dataset_batch(test, 0, SHOWN, grid, NULL), "reading digits");
    double pca_mse = pca_test_mse(train, test, grid + SHOWN * PIXELS);

    run deep;
    run_start(&deep, "deep AE", deep_autoencoder(opt.seed), &opt);
    run_fit(&deep, train, test, epochs);
    double ae_mse;
    check(ae_trainer_evaluate(deep.trainer, test, &ae_mse), "evaluating");
    check(ae_model_reconstruct(deep.model, grid, SHOWN,
                               grid + 2 * SHOWN * PIXELS), "reconstructing");

    printf("PCA-%d test MSE %.5f; deep autoencoder test MSE %.5f\n", CODE,
           pca_mse, ae_mse);
    const char *headers[] = {"method", "code size", "test MSE"};
    report_table(rep, "Test reconstruction error at equal code size", 3,
                 headers);
    report_row(rep, (const char *[]){"PCA", cell("%d", CODE),
                                     cell("%.5f", pca_mse)});
    report_row(rep, (const char *[]){cell("deep autoencoder (%d epochs)",
                                          epochs),
                                     cell("%d", CODE), cell("%.5f", ae_mse)});
    report_text(rep, "The autoencoder %s PCA at equal code size (test MSE "
                "%.5f against %.5f; the notebook reported 0.01177 against "
                "0.01812).", ae_mse < pca_mse ? "beats" : "does NOT beat",
                ae_mse, pca_mse);
    report_value(rep, "epochs", epochs);
    report_value(rep, "pca30_test_mse", pca_mse);
    report_value(rep, "deep_ae30_test_mse", ae_mse);

    write_digits_png(out_path(&opt, "reconstructions.png"), grid, 3, SHOWN,
                     0.0f, 1.0f);
    report_figure(rep, "reconstructions.png",
                  "Top row: ten test images; middle: their PCA-30 "
                  "reconstructions; bottom: the deep autoencoder's. PCA "
                  "gives blurred, ghosted shapes, the autoencoder sharper "
                  "strokes from the same 30 numbers.");
    plot_run_losses(out_path(&opt, "losses.png"),
                    "Deep autoencoder: loss per epoch", "loss (MSE)", &deep,
                    1);
    report_figure(rep, "losses.png", "Training loss (mean over each epoch's "
                  "batches) and test loss after each epoch of the deep "
                  "autoencoder.");
    report_close(rep);

    run_free(&deep);
    ae_dataset_free(train);
    ae_dataset_free(test);
    free(grid);
    return 0;
}

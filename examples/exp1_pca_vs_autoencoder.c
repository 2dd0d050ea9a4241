/* Experiment 1: PCA against a deep autoencoder.
 *
 * Fit PCA with 30 components on the training images and train the deep
 * autoencoder 784-512-256-128-30 / 30-128-256-784 (ReLU hidden layers, a
 * linear code, Sigmoid output; Adam 1e-3, batch 64, MSE).  Both compress an
 * image to 30 numbers; compare their test reconstruction error and look at
 * the reconstructions side by side. */
#include <stdlib.h>

#include "common.h"

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

    /* Rows of the figure: originals, PCA-30, autoencoder. */
    float *grid = malloc(3 * SHOWN * PIXELS * sizeof *grid);
    if (grid == NULL)
        check(AE_ERR_NO_MEMORY, "allocating the figure");
    check(ae_dataset_batch(test, 0, SHOWN, grid, NULL), "reading digits");
    double pca_mse = pca_test_mse(train, test, grid + SHOWN * PIXELS);

    ae_model *m = deep_autoencoder(opt.seed);
    ae_optimizer *adam = NULL;
    ae_trainer *t = NULL;
    check(ae_optimizer_create_adam(&adam, 1e-3f), "creating Adam");
    check(ae_trainer_create(&t, m, adam), "creating the trainer");
    check(ae_trainer_set(t, AE_TRAIN_BATCH_SIZE, 64), "setting the batch");
    check(ae_trainer_set(t, AE_TRAIN_SEED, (double)opt.seed), "seeding");
    check(ae_trainer_fit(t, train, test, epochs, print_epoch, "deep AE"),
          "training");
    double ae_mse;
    check(ae_trainer_evaluate(t, test, &ae_mse), "evaluating");
    check(ae_model_reconstruct(m, grid, SHOWN, grid + 2 * SHOWN * PIXELS),
          "reconstructing");

    printf("\n| method | code size | test MSE |\n|---|---|---|\n");
    printf("| PCA | %d | %.5f |\n", CODE, pca_mse);
    printf("| deep autoencoder (%d epochs) | %d | %.5f |\n", epochs, CODE,
           ae_mse);
    write_digits_png(out_path(&opt, "reconstructions.png"), grid, 3, SHOWN, 0.0f,
                     1.0f);

    FILE *f = fopen(out_path(&opt, "results.json"), "w");
    if (f == NULL)
        check(AE_ERR_IO, "writing results.json");
    fprintf(f, "{\"experiment\": 1, \"data\": \"%s\", \"epochs\": %d,\n"
               " \"pca30_test_mse\": %.6f, \"deep_ae30_test_mse\": %.6f}\n",
            opt.data_name, epochs, pca_mse, ae_mse);
    fclose(f);
    printf("figure: %s (rows: originals, PCA-30, autoencoder)\n",
           out_path(&opt, "reconstructions.png"));

    ae_trainer_free(t);
    ae_optimizer_free(adam);
    ae_model_free(m);
    ae_dataset_free(train);
    ae_dataset_free(test);
    free(grid);
    return 0;
}

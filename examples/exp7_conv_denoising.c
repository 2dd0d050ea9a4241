/* Experiment 7: a convolutional denoising autoencoder.
 *
 * conv 1->32 (3x3, same) ReLU, max-pool 2; conv 32->64 ReLU, max-pool 2
 * (64x7x7); conv 64->64 ReLU, upsample x2; conv 64->32 ReLU, upsample x2;
 * conv 32->1 Sigmoid: 74,497 parameters.  Trained with binary
 * cross-entropy on inputs corrupted by Gaussian noise (factor 0.5, clipped
 * to [0, 1]) against the clean images; then the same with salt-and-pepper
 * noise. */
#include <stdlib.h>

#include "common.h"

enum { SHOWN = 10, PIXELS = 28 * 28 };

static ae_model *build(unsigned long seed)
{
    ae_model *m = NULL;
    check(ae_model_create(&m, 1, 28, 28, seed), "creating the model");
    check(ae_model_add_conv2d(m, AE_ENCODER, 32, 3, 1, -1, AE_ACT_RELU), "conv");
    check(ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2), "pool");
    check(ae_model_add_conv2d(m, AE_ENCODER, 64, 3, 1, -1, AE_ACT_RELU), "conv");
    check(ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2), "pool");
    check(ae_model_add_conv2d(m, AE_DECODER, 64, 3, 1, -1, AE_ACT_RELU), "conv");
    check(ae_model_add_upsample2d(m, AE_DECODER, 2), "upsample");
    check(ae_model_add_conv2d(m, AE_DECODER, 32, 3, 1, -1, AE_ACT_RELU), "conv");
    check(ae_model_add_upsample2d(m, AE_DECODER, 2), "upsample");
    check(ae_model_add_conv2d(m, AE_DECODER, 1, 3, 1, -1, AE_ACT_SIGMOID),
          "conv");
    return m;
}

/* Train one model on `noise`, then show noisy / denoised / clean rows. */
static double run(const options *opt, ae_dataset *train, ae_dataset *test,
                  ae_noise noise, float level, const char *name, int epochs)
{
    ae_model *m = build(opt->seed);
    ae_optimizer *adam = NULL;
    ae_trainer *t = NULL;
    check(ae_optimizer_create_adam(&adam, 1e-3f), "creating Adam");
    check(ae_trainer_create(&t, m, adam), "creating the trainer");
    check(ae_trainer_set(t, AE_TRAIN_LOSS, AE_LOSS_BCE), "setting the loss");
    check(ae_trainer_set(t, AE_TRAIN_BATCH_SIZE, 128), "setting the batch");
    check(ae_trainer_set(t, AE_TRAIN_NOISE, noise), "setting the noise");
    check(ae_trainer_set(t, AE_TRAIN_NOISE_LEVEL, level), "setting the noise");
    check(ae_trainer_set(t, AE_TRAIN_SEED, (double)opt->seed), "seeding");
    check(ae_trainer_fit(t, train, test, epochs, print_epoch, (void *)name),
          "training");

    float *rows = malloc(3 * SHOWN * PIXELS * sizeof *rows);
    if (rows == NULL)
        check(AE_ERR_NO_MEMORY, "allocating the figure");
    float *noisy = rows, *denoised = rows + SHOWN * PIXELS,
          *clean = rows + 2 * SHOWN * PIXELS;
    check(ae_dataset_batch(test, 0, SHOWN, clean, NULL), "reading digits");
    check(ae_corrupt(noise, level, 0.0f, 1.0f, opt->seed + 1, clean, noisy,
                     SHOWN * PIXELS), "adding noise");
    check(ae_model_reconstruct(m, noisy, SHOWN, denoised), "denoising");

    /* Denoising quality on the whole test set: MSE of denoised vs clean. */
    size_t n = ae_dataset_count(test);
    float *x = malloc(n * PIXELS * sizeof *x), *xn = malloc(n * PIXELS * sizeof *xn);
    if (!x || !xn)
        check(AE_ERR_NO_MEMORY, "allocating the test set");
    check(ae_dataset_batch(test, 0, n, x, NULL), "reading the test set");
    check(ae_corrupt(noise, level, 0.0f, 1.0f, opt->seed + 2, x, xn,
                     n * PIXELS), "adding noise");
    check(ae_model_reconstruct(m, xn, n, xn), "denoising");
    ae_metrics *mt = NULL;
    double mse;
    check(ae_metrics_create(&mt, 1, 28, 28, 1.0f), "creating metrics");
    check(ae_metrics_update(mt, x, xn, n), "measuring");
    check(ae_metrics_value(mt, AE_METRIC_MSE, &mse), "measuring");

    char file[256];
    snprintf(file, sizeof file, "denoising_%s.png", name);
    write_digits_png(out_path(opt, file), rows, 3, SHOWN, 0.0f, 1.0f);
    printf("%s: denoised test MSE %.5f; figure %s (rows: noisy, denoised, "
           "clean)\n", name, mse, out_path(opt, file));
    ae_metrics_free(mt);
    free(x);
    free(xn);
    free(rows);
    ae_trainer_free(t);
    ae_optimizer_free(adam);
    ae_model_free(m);
    return mse;
}

int main(int argc, char **argv)
{
    options opt;
    parse_options(argc, argv, "out/exp7", &opt);
    ae_dataset *train = load_split(&opt, "train", 2000);
    ae_dataset *test = load_split(&opt, "t10k", 500);
    int epochs = epochs_for(&opt, 10);
    ae_model *probe = build(opt.seed);
    printf("Experiment 7 on %s (%zu training, %zu test images, %d epochs); "
           "model of %zu parameters\n", opt.data_name,
           ae_dataset_count(train), ae_dataset_count(test), epochs,
           ae_model_param_count(probe));
    ae_model_free(probe);

    double gauss = run(&opt, train, test, AE_NOISE_GAUSSIAN, 0.5f,
                       "gaussian", epochs);
    double sp = run(&opt, train, test, AE_NOISE_SALT_PEPPER, 0.2f,
                    "salt_pepper", epochs);
    FILE *json = fopen(out_path(&opt, "results.json"), "w");
    if (json == NULL)
        check(AE_ERR_IO, "writing results.json");
    fprintf(json, "{\"experiment\": 7, \"data\": \"%s\", \"epochs\": %d,\n"
                  " \"gaussian_0.5_denoised_mse\": %.6f,\n"
                  " \"salt_pepper_0.2_denoised_mse\": %.6f}\n",
            opt.data_name, epochs, gauss, sp);
    fclose(json);
    ae_dataset_free(train);
    ae_dataset_free(test);
    return 0;
}

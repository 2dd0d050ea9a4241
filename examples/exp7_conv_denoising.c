/* Experiment 7: a convolutional denoising autoencoder.
 *
 * conv 1->32 (3x3, same) ReLU, max-pool 2; conv 32->64 ReLU, max-pool 2
 * (64x7x7); conv 64->64 ReLU, upsample x2; conv 64->32 ReLU, upsample x2;
 * conv 32->1 Sigmoid: 74,497 parameters.  Trained with binary
 * cross-entropy on inputs corrupted by Gaussian noise (factor 0.5, clipped
 * to [0, 1]) against the clean images; then the same with salt-and-pepper
 * noise. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "report.h"

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

/* Train one model on inputs with `noise` (r->name names it), then write
 * the noisy / denoised / clean rows of ten test digits; returns the MSE of
 * the denoised test images against the clean ones. */
static double train_denoiser(const options *opt, run *r, ae_dataset *train,
                             ae_dataset *test, ae_noise noise, float level,
                             int epochs)
{
    run_start(r, r->name, build(opt->seed), opt);
    check(ae_trainer_set(r->trainer, AE_TRAIN_LOSS, AE_LOSS_BCE), "the loss");
    check(ae_trainer_set(r->trainer, AE_TRAIN_BATCH_SIZE, 128), "the batch");
    check(ae_trainer_set(r->trainer, AE_TRAIN_NOISE, noise), "the noise");
    check(ae_trainer_set(r->trainer, AE_TRAIN_NOISE_LEVEL, level), "noise");
    run_fit(r, train, test, epochs);

    size_t n = ae_dataset_count(test);
    float *clean = read_images(test, 0, n, NULL);
    float *noisy = xmalloc(n * PIXELS * sizeof *noisy);
    check(ae_corrupt(noise, level, 0.0f, 1.0f, opt->seed + 1, clean, noisy,
                     n * PIXELS), "adding noise");
    double mse;
    measure_reconstruction(r->model, noisy, clean, n, 1.0f, &mse, NULL, NULL);

    float *rows = xmalloc(3 * SHOWN * PIXELS * sizeof *rows);
    memcpy(rows, noisy, SHOWN * PIXELS * sizeof *rows);
    check(ae_model_reconstruct(r->model, noisy, SHOWN, rows + SHOWN * PIXELS),
          "denoising");
    memcpy(rows + 2 * SHOWN * PIXELS, clean, SHOWN * PIXELS * sizeof *rows);
    write_digits_png(out_path(opt, cell("denoising_%s.png", r->name)), rows,
                     3, SHOWN, 0.0f, 1.0f);
    printf("%s: denoised test MSE %.5f\n", r->name, mse);
    free(rows);
    free(noisy);
    free(clean);
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
    size_t params = ae_model_param_count(probe);
    ae_model_free(probe);
    printf("Experiment 7 on %s (%zu training, %zu test images, %d epochs); "
           "model of %zu parameters\n", opt.data_name,
           ae_dataset_count(train), ae_dataset_count(test), epochs, params);
    report *rep = report_open(&opt, 7, "A convolutional denoising autoencoder");
    report_text(rep, "conv 1->32 (3x3) ReLU, max-pool; conv 32->64 ReLU, "
                "max-pool; conv 64->64 ReLU, upsample x2; conv 64->32 ReLU, "
                "upsample x2; conv 32->1 Sigmoid: %zu parameters. Trained "
                "with binary cross-entropy (Adam 1e-3, batch 128, %d epochs "
                "on %zu training images) to map corrupted images to clean "
                "ones: once with Gaussian noise (x + 0.5 N(0,1), clipped to "
                "[0, 1]), once with salt-and-pepper noise (20%% of the "
                "pixels set to 0 or 1).", params, epochs,
                ae_dataset_count(train));

    struct { const char *name, *what; ae_noise noise; float level; }
    kinds[] = {{"gaussian", "Gaussian noise 0.5", AE_NOISE_GAUSSIAN, 0.5f},
               {"salt_pepper", "salt-and-pepper noise 0.2",
                AE_NOISE_SALT_PEPPER, 0.2f}};
    run runs[2];
    double mse[2];
    for (int k = 0; k < 2; k++) {
        runs[k].name = kinds[k].name;
        mse[k] = train_denoiser(&opt, &runs[k], train, test, kinds[k].noise,
                                kinds[k].level, epochs);
    }

    const char *headers[] = {"noise", "final training BCE", "test BCE",
                             "denoised vs clean MSE"};
    report_table(rep, "Denoising on the test images (inputs corrupted with "
                 "the noise the model was trained on)", 4, headers);
    for (int k = 0; k < 2; k++) {
        int last = runs[k].epochs - 1;
        report_row(rep, (const char *[]){
                            kinds[k].what,
                            cell("%.5f", runs[k].train_loss[last]),
                            cell("%.5f", runs[k].val_loss[last]),
                            cell("%.5f", mse[k])});
        report_value(rep, cell("%s_%g_test_bce", kinds[k].name,
                               kinds[k].level), runs[k].val_loss[last]);
        report_value(rep, cell("%s_%g_denoised_mse", kinds[k].name,
                               kinds[k].level), mse[k]);
    }
    report_value(rep, "epochs", epochs);
    report_value(rep, "parameters", (double)params);
    for (int k = 0; k < 2; k++)
        report_figure(rep, cell("denoising_%s.png", kinds[k].name),
                      cell("Trained on %s. Rows: ten test digits with the "
                           "noise; the model's output; the clean digits.",
                           kinds[k].what));
    plot_run_losses(out_path(&opt, "losses.png"),
                    "Denoising autoencoder: loss per epoch",
                    "loss (binary cross-entropy)", runs, 2);
    report_figure(rep, "losses.png", "Training and test loss (binary "
                  "cross-entropy of the output on a noisy input against the "
                  "clean image) per epoch, for each kind of noise.");
    report_close(rep);

    for (int k = 0; k < 2; k++)
        run_free(&runs[k]);
    ae_dataset_free(train);
    ae_dataset_free(test);
    return 0;
}

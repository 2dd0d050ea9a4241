/* Experiment 2: one hidden layer of varying size.
 *
 * Autoencoders 784-h (ReLU) / h-784 (Sigmoid) with h = 64, 128 and 256,
 * trained with Adam (1e-3), batch 64 and MSE.  A wider hidden layer can
 * keep more of an image, so the test error should fall as h grows.  Then
 * give each model three kinds of input: a test digit, an image of uniform
 * random noise (not a digit at all) and the digit with Gaussian noise
 * (x + 0.3 N(0,1), clipped to [0, 1]); and look at what the models learned:
 * the encoder weights of the first 64 hidden units as 28 x 28 pictures,
 * and the decoder weights the same way.
 *
 * Default 10 epochs (the original trained 5-10): about 3 s an epoch for
 * h = 256 on 60,000 images on 2 cores. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "models.h"
#include "plot.h"
#include "report.h"

enum { MODELS = 3, PIXELS = 28 * 28, NOISE_IMAGES = 1000 };
static const int hidden[MODELS] = {64, 128, 256};
static const char *const names[MODELS] = {"h=64", "h=128", "h=256"};

/* n images of uniform noise in [0, 1) (splitmix64: the library's noise
 * functions perturb an image, they do not draw one from nothing). */
static void uniform_noise(float *x, size_t n, unsigned long seed)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        uint64_t z = (s += 0x9e3779b97f4a7c15u);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        x[i] = (float)((z ^ (z >> 31)) >> 40) / 16777216.0f;
    }
}

int main(int argc, char **argv)
{
    experiment x;
    experiment_start(&x, argc, argv, 2, "Hidden layers of varying size");
    const options *opt = &x.opt;
    report *rep = x.rep;
    int epochs = epochs_for(opt, 10);
    size_t n_test = x.n_test;
    experiment_banner(&x, epochs, NULL);

    /* The inputs: the test set, a noisy copy of it, and uniform noise. */
    uint8_t *labels = NULL;
    float *clean = read_images(x.test, 0, n_test, &labels);
    float *noisy = noisy_copy(clean, n_test * PIXELS, AE_NOISE_GAUSSIAN, 0.3f,
                              0.0f, 1.0f, opt->seed + 1);
    float *random = xmalloc(NOISE_IMAGES * PIXELS * sizeof *random);
    uniform_noise(random, NOISE_IMAGES * PIXELS, opt->seed + 2);
    /* of the noisy inputs: what denoising must beat */
    double noise_mse = mean_squared_difference(noisy, clean, n_test * PIXELS);
    const char *item = item_word(opt, 0), *items = item_word(opt, 1);

    /* Figure: the first row holds three test digits, three noise images
     * and the three digits with noise; each further row one model's
     * reconstructions of them. */
    enum { EACH = 3, COLS = 3 * EACH };
    sheet grid;
    sheet_init(&grid, MODELS + 1, COLS, 28, 28);
    const float *inputs[3] = {clean, random, noisy};
    for (int k = 0; k < 3; k++)
        memcpy(sheet_tile(&grid, 0, k * EACH), inputs[k],
               EACH * PIXELS * sizeof *inputs[k]);

    report_text(rep, "One hidden layer of h units, 784-h (ReLU) / h-784 "
                "(Sigmoid), h = 64, 128, 256; Adam 1e-3, batch 64, MSE, %d "
                "epochs on %zu %s training images; errors on %zu test images.",
                epochs, x.n_train, opt->data_name, n_test);
    double mse[MODELS], mse_noisy[MODELS], mse_random[MODELS];
    run runs[MODELS];
    for (int i = 0; i < MODELS; i++) {
        run *r = &runs[i];
        ae_model *m = NULL;
        check(model_one_hidden(&m, hidden[i], opt->seed), "building a model");
        run_start(r, names[i], m, opt);
        run_fit(r, x.train, x.test, epochs);
        measure_reconstruction(r->model, clean, clean, n_test, 1.0f, &mse[i],
                               NULL, NULL);
        measure_reconstruction(r->model, noisy, clean, n_test, 1.0f,
                               &mse_noisy[i], NULL, NULL);
        measure_reconstruction(r->model, random, random, NOISE_IMAGES, 1.0f,
                               &mse_random[i], NULL, NULL);
        sheet_reconstruct_row(&grid, i + 1, r->model, sheet_tile(&grid, 0, 0));
        write_filter_pair(opt, r->model, cell("h%d", hidden[i]), names[i],
                          NULL);
        printf("h = %3d: test MSE %.5f, noisy %s %.5f, uniform noise "
               "%.5f\n", hidden[i], mse[i], items, mse_noisy[i],
               mse_random[i]);
    }

    const char *headers[] = {"hidden units", "parameters", "test MSE",
                             cell("noisy %s (0.3) vs clean %s", item, item),
                             "uniform noise vs itself"};
    report_table(rep, cell("Reconstruction error (MSE) of each model: on the "
                      "test %s, on the noisy test %s measured against the "
                      "clean ones (the noisy inputs themselves: %.5f), and "
                      "on 1,000 uniform-noise images measured against "
                      "themselves.", items, items, noise_mse), 5, headers);
    for (int i = 0; i < MODELS; i++) {
        const char *row[] = {cell("%d", hidden[i]),
                             cell("%zu", ae_model_param_count(runs[i].model)),
                             cell("%.5f", mse[i]), cell("%.5f", mse_noisy[i]),
                             cell("%.5f", mse_random[i])};
        report_row(rep, row);
        report_value(rep, cell("h%d_test_mse", hidden[i]), mse[i]);
        report_value(rep, cell("h%d_noisy_digit_mse", hidden[i]),
                     mse_noisy[i]);
        report_value(rep, cell("h%d_uniform_noise_mse", hidden[i]),
                     mse_random[i]);
    }
    report_value(rep, "noisy_input_mse", noise_mse);
    int ordered = mse[0] > mse[1] && mse[1] > mse[2];
    report_text(rep, "Larger hidden layers reconstruct better: %s (%.5f, "
                "%.5f, %.5f).", ordered ? "yes" : "NO", mse[0], mse[1],
                mse[2]);
    report_value(rep, "larger_is_better", ordered);

    /* What the figure shows, in numbers: how many models bring the noisy
     * inputs closer to the clean ones, and whether every model does worse
     * on uniform noise than on the test images. */
    int cleaner = 0, noise_worse = 1;
    for (int i = 0; i < MODELS; i++) {
        cleaner += mse_noisy[i] < noise_mse;
        noise_worse &= mse_random[i] > mse[i];
    }
    const char *denoised =
        cleaner == MODELS ? "every model's output is closer"
        : cleaner == 0    ? "no model's output is closer"
                          : cell("only %d of the %d models' outputs are "
                                 "closer", cleaner, MODELS);

    sheet_title(&grid, "Three kinds of input and their reconstructions");
    sheet_label_row(&grid, 0, "input");
    for (int i = 0; i < MODELS; i++)
        sheet_label_row(&grid, i + 1, "%s", names[i]);
    for (int k = 0; k < EACH; k++) {
        const char *name = item_label(opt, x.test, labels[k]);
        sheet_label_col(&grid, k, "%s", name);
        sheet_label_col(&grid, EACH + k, "uniform noise");
        sheet_label_col(&grid, 2 * EACH + k, "%s + noise", name);
    }
    sheet_write(&grid, out_path(opt, "reconstructions.png"), 0.0f, 1.0f);
    report_figure(rep, "reconstructions.png", cell(
        "Top row: three test %s, three images of uniform random noise, the "
        "three %s with Gaussian noise 0.3. Below: their reconstructions "
        "with h = 64, 128, 256. Over all test images (table above): the "
        "test MSE %s as h grows; for the noisy %s, %s to the clean %s than "
        "the noisy input is (MSE %.5f); %s reconstructs uniform noise worse "
        "than the test %s.", items, items,
        ordered ? "falls" : "does not fall steadily", items, denoised, items,
        noise_mse, noise_worse ? "every model" : "not every model", items));
    plot_run_losses(out_path(opt, "losses.png"), "Loss per epoch", "MSE",
                    runs, MODELS);
    double final[MODELS]; /* the last point of each test curve */
    for (int i = 0; i < MODELS; i++)
        final[i] = runs[i].val_loss[epochs - 1];
    int lower = final[0] > final[1] && final[1] > final[2];
    report_figure(rep, "losses.png", cell(
        "Training loss and test loss per epoch for each hidden size; the "
        "final test loss %s (%.5f, %.5f, %.5f for h = 64, 128, 256).",
        lower ? "is lower the wider the layer" : "is not ordered by width",
        final[0], final[1], final[2]));
    for (int i = 0; i < MODELS; i++) {
        report_figure(rep, cell("encoder_h%d.png", hidden[i]),
                      cell("Encoder weights of the first 64 of %d hidden "
                           "units (h = %d), each stretched to its own range.",
                           hidden[i], hidden[i]));
        report_figure(rep, cell("decoder_h%d.png", hidden[i]),
                      cell("Decoder weights of the same units (column j of "
                           "the 784 x %d matrix), each stretched.",
                           hidden[i]));
    }

    for (int i = 0; i < MODELS; i++)
        run_free(&runs[i]);
    sheet_free(&grid);
    free(labels);
    free(random);
    free(noisy);
    free(clean);
    experiment_finish(&x);
    return 0;
}

/* Experiment 7: a convolutional denoising autoencoder.
 *
 * conv 1->32 (3x3, same) ReLU, max-pool 2; conv 32->64 ReLU, max-pool 2
 * (64x7x7); conv 64->64 ReLU, upsample x2; conv 64->32 ReLU, upsample x2;
 * conv 32->1 Sigmoid: 74,497 parameters.  Trained with binary
 * cross-entropy on inputs corrupted by Gaussian noise (x + f N(0,1),
 * clipped to [0, 1]) against the clean images, one model for each of the
 * Keras sheet's two factors, f = 0.1 and 0.5; then the same with
 * salt-and-pepper noise.  Then the f = 0.5 model once more on a second
 * dataset read from a folder of PNG images (one subfolder per class),
 * split 80/20 into training and validation images: the folder given with
 * --png-data DIR, else one this program writes from 2,000 IDX test
 * images. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "models.h"
#include "report.h"

enum { SHOWN = 10, PIXELS = 28 * 28 };

enum { PNG_IMAGES = 2000 };

/* The images of ds with `noise` of `level` (clipped to [0, 1]), drawn as
 * every model here is tested: from the seed after opt->seed. */
static float *noisy_images(const options *opt, const float *clean,
                           const ae_dataset *ds, ae_noise noise, float level)
{
    return noisy_copy(clean, ae_dataset_count(ds) * ae_dataset_image_size(ds),
                      noise, level, 0.0f, 1.0f, opt->seed + 1);
}

/* Train one model on inputs with `noise` (r->name names it), then write
 * the noisy / denoised / clean rows of ten test images; returns the MSE of
 * the denoised test images against the clean ones. */
static double train_denoiser(const options *opt, run *r, const char *what,
                             ae_dataset *train, ae_dataset *test,
                             ae_noise noise, float level, int epochs)
{
    int h, w;
    check(ae_dataset_shape(train, NULL, &h, &w), "reading the image size");
    ae_model *m = NULL;
    check(model_exp7_conv_denoiser(&m, h, w, opt->seed), "building the model");
    run_start(r, r->name, m, opt);
    check(ae_trainer_set(r->trainer, AE_TRAIN_LOSS, AE_LOSS_BCE), "the loss");
    check(ae_trainer_set(r->trainer, AE_TRAIN_BATCH_SIZE, 128), "the batch");
    check(ae_trainer_set(r->trainer, AE_TRAIN_NOISE, noise), "the noise");
    check(ae_trainer_set(r->trainer, AE_TRAIN_NOISE_LEVEL, level), "noise");
    run_fit(r, train, test, epochs);

    size_t n = ae_dataset_count(test);
    uint8_t *labels = NULL;
    float *clean = read_images(test, 0, n, &labels);
    float *noisy = noisy_images(opt, clean, test, noise, level);
    double mse;
    measure_reconstruction(r->model, noisy, clean, n, 1.0f, &mse, NULL, NULL);

    sheet rows;
    sheet_init(&rows, 3, SHOWN, h, w);
    sheet_set_row(&rows, 0, noisy);
    sheet_reconstruct_row(&rows, 1, r->model, noisy);
    sheet_set_row(&rows, 2, clean);
    sheet_title(&rows, "Trained on %s", what);
    sheet_label_row(&rows, 0, "with the noise");
    sheet_label_row(&rows, 1, "denoised");
    sheet_label_row(&rows, 2, "original");
    sheet_label_cols_by_class(&rows, 0, SHOWN, opt, test, labels);
    sheet_write(&rows, out_path(opt, cell("denoising_%s.png", r->name)), 0.0f,
                1.0f);
    printf("%s: denoised held-out MSE %.5f\n", r->name, mse);
    sheet_free(&rows);
    free(noisy);
    free(clean);
    free(labels);
    return mse;
}

/* The Keras sheet's first figure: three test images (rows), each clean
 * and with Gaussian noise 0.1 and 0.5 as the models see them (columns). */
static void write_noise_levels(const options *opt, const ae_dataset *test,
                               const char *file)
{
    enum { IMAGES = 3 };
    size_t n = ae_dataset_count(test);
    uint8_t *labels = NULL;
    float *clean = read_images(test, 0, n, &labels);
    float *low = noisy_images(opt, clean, test, AE_NOISE_GAUSSIAN, 0.1f);
    float *high = noisy_images(opt, clean, test, AE_NOISE_GAUSSIAN, 0.5f);
    sheet s;
    sheet_init(&s, IMAGES, 3, 28, 28);
    for (int i = 0; i < IMAGES; i++) {
        const float *column[3] = {clean, low, high};
        for (int c = 0; c < 3; c++)
            memcpy(sheet_tile(&s, i, c), column[c] + (size_t)i * PIXELS,
                   PIXELS * sizeof *clean);
    }
    sheet_title(&s, "Gaussian noise as the models see it");
    for (int i = 0; i < IMAGES; i++) {
        const char *name = item_label(opt, test, labels[i]);
        if (class_names(opt))
            sheet_label_row(&s, i, "%s", name);
        else
            sheet_label_row(&s, i, "digit %s", name);
    }
    sheet_col_heading(&s, "noise");
    sheet_label_col(&s, 0, "none");
    sheet_label_col(&s, 1, "f=0.1");
    sheet_label_col(&s, 2, "f=0.5");
    sheet_write(&s, out_path(opt, file), 0.0f, 1.0f);
    sheet_free(&s);
    free(labels);
    free(high);
    free(low);
    free(clean);
}

/* This program's own option, --png-data DIR: taken out of argv (so that
 * parse_options reads the rest) and returned, or NULL. */
static const char *take_png_option(int *argc, char **argv)
{
    const char *dir = NULL;
    int kept = 1;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--png-data") == 0 && i + 1 < *argc)
            dir = argv[++i];
        else
            argv[kept++] = argv[i];
    }
    *argc = kept;
    argv[kept] = NULL;
    return dir;
}

/* A folder as ae_dataset_load_png_folder reads it: the first `count`
 * images of ds as dir/<class>/<index>.png, one subfolder per label, named
 * "3" (digits) or "3_Dress" (Fashion-MNIST). */
static void write_png_folder(const options *opt, const ae_dataset *ds,
                             size_t count, const char *dir)
{
    const char *const *names = class_names(opt);
    uint8_t *labels = NULL;
    float *x = read_images(ds, 0, count, &labels);
    make_dir(dir);
    for (size_t i = 0; i < count; i++) {
        const char *cls = names ? cell("%d_%s", labels[i], names[labels[i]])
                                : cell("%d", labels[i]);
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, cls);
        for (char *c = path + strlen(dir) + 1; *c; c++)
            *c = *c == '/' ? '-' : *c; /* "T-shirt/top" */
        make_dir(path);
        snprintf(path + strlen(path), sizeof path - strlen(path),
                 "/%05zu.png", i);
        check(ae_image_write_png(path, x + i * PIXELS, 1, 28, 28, 0.0f, 1.0f),
              "writing a PNG image");
    }
    free(labels);
    free(x);
}

int main(int argc, char **argv)
{
    const char *png_dir = take_png_option(&argc, argv);
    experiment x;
    experiment_start(&x, argc, argv, 7,
                     "A convolutional denoising autoencoder");
    const options *opt = &x.opt;
    report *rep = x.rep;
    int epochs = epochs_for(opt, 10);
    ae_model *probe = NULL;
    check(model_exp7_conv_denoiser(&probe, 28, 28, opt->seed),
          "building the model");
    size_t params = ae_model_param_count(probe);
    ae_model_free(probe);
    experiment_banner(&x, epochs, cell("; model of %zu parameters", params));
    report_text(rep, "conv 1->32 (3x3) ReLU, max-pool; conv 32->64 ReLU, "
                "max-pool; conv 64->64 ReLU, upsample x2; conv 64->32 ReLU, "
                "upsample x2; conv 32->1 Sigmoid: %zu parameters. Trained "
                "with binary cross-entropy (Adam 1e-3, batch 128, %d epochs "
                "on %zu training images) to map corrupted images to clean "
                "ones: with Gaussian noise (x + f N(0,1), clipped to [0, 1]) "
                "of the Keras sheet's two factors, f = 0.1 and 0.5, one "
                "model each; and with salt-and-pepper noise (20%% of the "
                "pixels set to 0 or 1).", params, epochs,
                x.n_train);

    /* The run names name the figures and model files ("gaussian" is the
     * factor 0.5), the labels the loss curves, the keys the results. */
    enum { KINDS = 3, PNG = KINDS };
    struct {
        const char *name, *label, *key, *what;
        ae_noise noise;
        float level;
    } kinds[KINDS] = {
        {"gaussian_0.1", "Gaussian 0.1", "gaussian", "Gaussian noise 0.1",
         AE_NOISE_GAUSSIAN, 0.1f},
        {"gaussian", "Gaussian 0.5", "gaussian", "Gaussian noise 0.5",
         AE_NOISE_GAUSSIAN, 0.5f},
        {"salt_pepper", "salt-and-pepper 0.2", "salt_pepper",
         "salt-and-pepper noise 0.2", AE_NOISE_SALT_PEPPER, 0.2f}};
    run runs[KINDS + 1];
    double mse[KINDS + 1];
    for (int k = 0; k < KINDS; k++) {
        runs[k].name = kinds[k].name;
        mse[k] = train_denoiser(opt, &runs[k], kinds[k].what, x.train,
                                x.test,
                                kinds[k].noise, kinds[k].level, epochs);
        runs[k].label = kinds[k].label;
    }
    write_noise_levels(opt, x.test, "noise_levels.png");

    /* The second dataset: a folder of PNG images, split 80/20. */
    int generated = png_dir == NULL;
    if (generated) {
        ae_dataset *idx = load_split(opt, "t10k", PNG_IMAGES);
        png_dir = out_path(opt, "png_folder");
        write_png_folder(opt, idx, PNG_IMAGES, png_dir);
        ae_dataset_free(idx);
    }
    ae_dataset *folder = NULL, *png_train = NULL, *png_val = NULL;
    check(ae_dataset_load_png_folder(&folder, png_dir), "loading PNG images");
    check(ae_dataset_split(folder, 0.8, opt->seed, &png_train, &png_val),
          "splitting the PNG images");
    size_t n_classes = ae_dataset_class_count(folder);
    const char *first_class = NULL, *last_class = NULL;
    check(ae_dataset_class_name(folder, 0, &first_class), "naming a class");
    check(ae_dataset_class_name(folder, (int)n_classes - 1, &last_class),
          "naming a class");
    printf("PNG folder %s: %zu images in %zu classes (%zu training, %zu "
           "validation)\n", png_dir, ae_dataset_count(folder), n_classes,
           ae_dataset_count(png_train), ae_dataset_count(png_val));
    runs[PNG].name = "png_gaussian";
    mse[PNG] = train_denoiser(opt, &runs[PNG],
                              "Gaussian noise 0.5, the PNG-folder dataset",
                              png_train, png_val,
                              AE_NOISE_GAUSSIAN, 0.5f, epochs);

    const char *headers[] = {"noise", "final training BCE", "test BCE",
                             "denoised vs clean MSE"};
    report_table(rep, "Denoising on the test images (inputs corrupted with "
                 "the noise the model was trained on)", 4, headers);
    for (int k = 0; k < KINDS; k++) {
        int last = runs[k].epochs - 1;
        report_row(rep, (const char *[]){
                            kinds[k].what,
                            cell("%.5f", runs[k].train_loss[last]),
                            cell("%.5f", runs[k].val_loss[last]),
                            cell("%.5f", mse[k])});
        report_value(rep, cell("%s_%g_test_bce", kinds[k].key,
                               kinds[k].level), runs[k].val_loss[last]);
        report_value(rep, cell("%s_%g_denoised_mse", kinds[k].key,
                               kinds[k].level), mse[k]);
    }
    int last = runs[PNG].epochs - 1;
    report_row(rep, (const char *[]){
                        "Gaussian noise 0.5, PNG folder (validation images)",
                        cell("%.5f", runs[PNG].train_loss[last]),
                        cell("%.5f", runs[PNG].val_loss[last]),
                        cell("%.5f", mse[PNG])});
    report_value(rep, "png_gaussian_0.5_validation_bce",
                 runs[PNG].val_loss[last]);
    report_value(rep, "png_gaussian_0.5_denoised_mse", mse[PNG]);
    report_value(rep, "png_images", (double)ae_dataset_count(folder));
    report_value(rep, "png_classes", (double)n_classes);
    report_value(rep, "epochs", epochs);
    report_value(rep, "parameters", (double)params);
    report_text(rep, "The second dataset: %zu PNG images in %zu class "
                "folders (%s .. %s) read by ae_dataset_load_png_folder from "
                "%s, split at random into %zu training and %zu validation "
                "images; the Gaussian-noise model (factor 0.5) trained on it "
                "from scratch in the same way.", ae_dataset_count(folder),
                n_classes, first_class, last_class,
                generated
                    ? cell("a folder this program wrote from the first %d %s "
                           "test images (ae_image_write_png, one subfolder "
                           "per label)", PNG_IMAGES, opt->data_name)
                    : png_dir,
                ae_dataset_count(png_train), ae_dataset_count(png_val));
    report_figure(rep, "noise_levels.png", cell(
        "The two Gaussian noise levels, as the Keras sheet shows them: three "
        "test %s (rows), clean, with noise 0.1 and with noise 0.5 "
        "(columns), the inputs the two Gaussian models are tested on.",
        item_word(opt, 1)));
    for (int k = 0; k < KINDS; k++)
        report_figure(rep, cell("denoising_%s.png", kinds[k].name),
                      cell("Trained on %s. Rows: ten test %s with the "
                           "noise; the model's output; the clean %s.",
                           kinds[k].what, item_word(opt, 1),
                           item_word(opt, 1)));
    plot_run_losses(out_path(opt, "losses.png"),
                    "Denoising autoencoder: loss per epoch",
                    "loss (binary cross-entropy)", runs, KINDS);
    report_figure(rep, "losses.png", "Training and test loss (binary "
                  "cross-entropy of the output on a noisy input against the "
                  "clean image) per epoch, for each kind of noise.");
    report_figure(rep, "denoising_png_gaussian.png",
                  "The PNG-folder dataset, trained on Gaussian noise 0.5. "
                  "Rows: ten validation images with the noise; the model's "
                  "output; the clean images.");
    plot_run_losses(out_path(opt, "losses_png.png"),
                    "PNG-folder dataset: loss per epoch",
                    "loss (binary cross-entropy)", &runs[PNG], 1);
    report_figure(rep, "losses_png.png", "Training and validation loss per "
                  "epoch of the denoising autoencoder on the PNG-folder "
                  "dataset.");

    for (int k = 0; k <= PNG; k++)
        run_free(&runs[k]);
    ae_dataset_free(png_train);
    ae_dataset_free(png_val);
    ae_dataset_free(folder);
    experiment_finish(&x);
    return 0;
}

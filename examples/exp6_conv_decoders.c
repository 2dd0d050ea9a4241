/* Experiment 6: three convolutional decoders on one encoder.
 *
 * The encoder (3x3 kernels, padding 1, ReLU) halves the image three times:
 * conv 1->8, max-pool (8x14x14); conv 8->16, max-pool (16x7x7); conv
 * 16->16, max-pool (16x3x3 code).  The decoders mirror it three ways:
 *   unpool:  max-unpool with the encoder's pooling positions, then conv 3x3;
 *   deconv:  transposed convolutions with stride 2 (3->7->14->28);
 *   both:    max-unpool, then a stride-1 transposed convolution.
 * Train each and compare test losses, reconstructions, and the first
 * decoder convolution: its 3x3 kernels and the feature maps it makes of
 * one test image from the 16x3x3 code. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "grid_figure.h"
#include "models.h"
#include "report.h"

enum { SHOWN = 10, PIXELS = 28 * 28 };

/* Indexed by conv_decoder (models.h). */
static const char *const names[] = {"unpool", "deconv", "both"};

/* The first convolution or transposed convolution of m's decoder. */
static size_t first_decoder_conv(const ae_model *m, ae_layer **layer)
{
    for (size_t i = ae_model_encoder_layer_count(m);; i++) {
        check(ae_model_layer(m, i, layer), "finding the decoder's filters");
        ae_layer_kind kind = ae_layer_get_kind(*layer);
        if (kind == AE_LAYER_CONV2D || kind == AE_LAYER_CONV_TRANSPOSE2D)
            return i;
    }
}

/* That layer's kernels as a labelled grid: row o holds the in_c kernels
 * that make output channel o, each stretched to its own range.  (A
 * transposed convolution stores them in_c x out_c, so it is read
 * transposed.) */
static void write_decoder_filters(const char *path, const char *decoder,
                                  const ae_layer *l)
{
    int in_c, out_c;
    check(ae_layer_input_shape(l, &in_c, NULL, NULL), "reading a shape");
    check(ae_layer_output_shape(l, &out_c, NULL, NULL), "reading a shape");
    size_t n = ae_layer_weight_count(l), kk = n / ((size_t)in_c * out_c);
    int k = 1;
    while ((size_t)(k * k) < kk)
        k++;
    float *w = xmalloc(n * sizeof *w);
    float *tiles = xmalloc(n * sizeof *tiles);
    check(ae_layer_get_weights(l, w, n), "reading the filters");
    int transposed = ae_layer_get_kind(l) == AE_LAYER_CONV_TRANSPOSE2D;
    for (int o = 0; o < out_c; o++)
        for (int c = 0; c < in_c; c++) {
            const float *kernel = w + (transposed ? (size_t)c * out_c + o
                                                  : (size_t)o * in_c + c) * kk;
            memcpy(tiles + ((size_t)o * in_c + c) * kk, kernel,
                   kk * sizeof *kernel);
        }
    char (*texts)[24] = xmalloc(((size_t)out_c + in_c) * sizeof *texts);
    const char **rows = xmalloc((size_t)out_c * sizeof *rows);
    const char **cols = xmalloc((size_t)in_c * sizeof *cols);
    for (int o = 0; o < out_c; o++)
        snprintf(texts[o], sizeof texts[o], "output %d", o),
            rows[o] = texts[o];
    for (int c = 0; c < in_c; c++)
        snprintf(texts[out_c + c], sizeof texts[0], "%d", c),
            cols[c] = texts[out_c + c];
    const char *title = cell("Kernels of the %s decoder's first %s, each "
                             "stretched", decoder,
                             transposed ? "transposed convolution"
                                        : "convolution");
    grid_figure g = {out_c, in_c, k, k, tiles, 0.0f, 0.0f, 10, title, rows,
                     cols, "input channel", NULL};
    if (grid_figure_write(path, &g) != 0)
        exit(1);
    free(cols);
    free(rows);
    free(texts);
    free(tiles);
    free(w);
}

/* The MSE of drawing nothing: an all-black picture against every image
 * of ds.  A decoder whose error comes near it has learnt nothing. */
static double blank_mse(const ae_dataset *ds)
{
    size_t n = ae_dataset_count(ds);
    float *x = read_images(ds, 0, n, NULL);
    double mse = mean_squared_difference(x, NULL, n * PIXELS);
    free(x);
    return mse;
}

int main(int argc, char **argv)
{
    experiment x;
    experiment_start(&x, argc, argv, 6, "Three convolutional decoders");
    const options *opt = &x.opt;
    report *rep = x.rep;
    int epochs = epochs_for(opt, 5);
    experiment_banner(&x, epochs, NULL);
    report_text(rep, "One convolutional encoder (conv 1->8, 8->16, 16->16, "
                "3x3, ReLU, each followed by a 2x2 max-pool: a 16x3x3 code) "
                "with three decoders: unpool (max-unpooling at the encoder's "
                "pooling positions, then a 3x3 convolution), deconv "
                "(transposed convolutions of stride 2) and both (unpooling, "
                "then a stride-1 transposed convolution). Adam 1e-3, batch "
                "64, MSE, %d epochs on %zu training images; losses on %zu "
                "test images.", epochs, x.n_train, x.n_test);

    /* Rows: ten test images, then each decoder's reconstructions. */
    sheet grid;
    sheet_init(&grid, 4, SHOWN, 28, 28);
    const float *shown = sheet_tile(&grid, 0, 0);
    uint8_t labels[SHOWN];
    check(ae_dataset_batch(x.test, 0, SHOWN, sheet_tile(&grid, 0, 0),
                           labels), "reading images");
    sheet_title(&grid, "Test %s and their reconstructions by three "
                "convolutional decoders", item_word(opt, 1));
    sheet_label_row(&grid, 0, "original");
    for (int k = CONV_UNPOOL; k <= CONV_BOTH; k++)
        sheet_label_row(&grid, k + 1, "%s decoder", names[k]);
    sheet_label_cols_by_class(&grid, 0, SHOWN, opt, x.test, labels);
    double loss[3];
    size_t params[3];
    int collapsed[3];
    run runs[3];
    /* The first decoder convolution's feature maps (16 x 7 x 7 in every
     * decoder) of the first test image: MAPS channels per decoder. */
    enum { MAPS = 8, SIDE = 7 };
    float *maps = xmalloc(3 * MAPS * SIDE * SIDE * sizeof *maps);
    float *all_maps = NULL;
    for (int k = CONV_UNPOOL; k <= CONV_BOTH; k++) {
        ae_model *m = NULL;
        check(model_exp6_conv(&m, (conv_decoder)k, opt->seed),
              "building a model");
        run_start(&runs[k], names[k], m, opt);
        run_fit(&runs[k], x.train, x.test, epochs);
        check(ae_trainer_evaluate(runs[k].trainer, x.test, &loss[k]),
              "evaluating");
        /* Encode and decode together, so the unpooling layers use the
         * positions recorded for these very images. */
        sheet_reconstruct_row(&grid, k + 1, m, shown);
        params[k] = ae_model_param_count(m);
        ae_layer *l = NULL;
        size_t index = first_decoder_conv(m, &l);
        write_decoder_filters(out_path(opt, cell("filters_%s.png", names[k])),
                              names[k], l);
        if (all_maps == NULL)
            all_maps = xmalloc(ae_layer_output_size(l) * sizeof *all_maps);
        check(ae_model_activations(m, index, shown, 1, all_maps),
              "computing feature maps");
        memcpy(maps + (size_t)k * MAPS * SIDE * SIDE, all_maps,
               MAPS * SIDE * SIDE * sizeof *maps);
        printf("%-7s decoder: %zu parameters, test MSE %.5f\n", names[k],
               params[k], loss[k]);
    }
    double blank = blank_mse(x.test);
    printf("an all-black picture: test MSE %.5f\n", blank);
    for (int k = CONV_UNPOOL; k <= CONV_BOTH; k++)
        collapsed[k] = !opt->quick && loss[k] > 0.9 * blank;
    int best = 0;
    for (int k = 1; k < 3; k++)
        best = loss[k] < loss[best] ? k : best;
    printf("best decoder: %s\n", names[best]);

    const char *headers[] = {"decoder", "parameters", "final training loss",
                             "test MSE"};
    report_table(rep, "The three decoders after training", 4, headers);
    for (int k = CONV_UNPOOL; k <= CONV_BOTH; k++) {
        report_row(rep, (const char *[]){
                            names[k], cell("%zu", params[k]),
                            cell("%.5f", runs[k].train_loss[epochs - 1]),
                            cell("%.5f", loss[k])});
        report_value(rep, cell("%s_params", names[k]), (double)params[k]);
        report_value(rep, cell("%s_test_mse", names[k]), loss[k]);
        report_value(rep, cell("%s_collapsed", names[k]), collapsed[k]);
    }
    for (int k = CONV_UNPOOL; k <= CONV_BOTH; k++) {
        if (collapsed[k])
            report_text(rep, "The %s decoder's training collapsed: its "
                        "test MSE %.5f is about that of drawing an all-black "
                        "picture (%.5f), and its reconstructions are black. "
                        "(Seen with every seed tried; the notebook's deconv "
                        "model did learn, so this needs looking into.)",
                        names[k], loss[k], blank);
    }
    report_value(rep, "all_black_test_mse", blank);
    report_value(rep, "epochs", epochs);
    report_text(rep, "Best on the test images: %s (test MSE %.5f). The "
                "original notebook found \"both\" best.", names[best],
                loss[best]);

    sheet_write(&grid, out_path(opt, "reconstructions.png"), 0.0f, 1.0f);
    report_figure(rep, "reconstructions.png",
                  "Top row: ten test images; then their reconstructions by "
                  "the unpool, deconv and both decoders, one row each.");
    plot_run_losses(out_path(opt, "losses.png"),
                    "Three decoders: loss per epoch", "loss (MSE)", runs, 3);
    report_figure(rep, "losses.png", "Training loss and test loss per epoch "
                  "of the three decoders: the lowest test curve is the best "
                  "decoder.");
    for (int k = CONV_UNPOOL; k <= CONV_BOTH; k++)
        report_figure(rep, cell("filters_%s.png", names[k]), cell(
            "The %s decoder's first %s (16 -> 16 channels, 3x3): row o holds "
            "the 16 kernels that make output channel o from the 16 input "
            "channels, each stretched to its own range (darkest to "
            "lightest gray).", names[k],
            k == CONV_UNPOOL ? "convolution, after the first unpooling"
            : k == CONV_DECONV ? "transposed convolution (stride 2, 3x3 code "
                                 "to 7x7)"
                               : "transposed convolution (stride 1), after "
                                 "the first unpooling"));
    char decoder_text[3][32], channel_text[MAPS][8];
    const char *decoders[3], *channels[MAPS];
    for (int k = CONV_UNPOOL; k <= CONV_BOTH; k++)
        snprintf(decoder_text[k], sizeof decoder_text[k], "%s decoder",
                 names[k]),
            decoders[k] = decoder_text[k];
    for (int c = 0; c < MAPS; c++)
        snprintf(channel_text[c], sizeof channel_text[c], "%d", c),
            channels[c] = channel_text[c];
    grid_figure maps_figure = {3, MAPS, SIDE, SIDE, maps, 0.0f, 0.0f, 8,
                               cell("Feature maps of the first test %s "
                                    "(%s), each stretched",
                                    item_word(opt, 0),
                                    item_label(opt, x.test, labels[0])),
                               decoders, channels, "channel", NULL};
    if (grid_figure_write(out_path(opt, "feature_maps.png"), &maps_figure) !=
        0)
        exit(1);
    report_figure(rep, "feature_maps.png", cell(
        "What those layers make of the first test image (the top-left %s "
        "above): channels 0 to 7 of the 7x7 output of the first decoder "
        "layer with weights, one row per decoder (unpool, deconv, both), "
        "each map stretched to its own range (an all-zero map, a channel the "
        "ReLU switched off, is mid-gray).", item_word(opt, 0)));

    free(all_maps);
    free(maps);
    for (int k = CONV_UNPOOL; k <= CONV_BOTH; k++)
        run_free(&runs[k]);
    sheet_free(&grid);
    experiment_finish(&x);
    return 0;
}

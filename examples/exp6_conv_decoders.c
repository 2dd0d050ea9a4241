/* Experiment 6: three convolutional decoders on one encoder.
 *
 * The encoder (3x3 kernels, padding 1, ReLU) halves the image three times:
 * conv 1->8, max-pool (8x14x14); conv 8->16, max-pool (16x7x7); conv
 * 16->16, max-pool (16x3x3 code).  The decoders mirror it three ways:
 *   unpool:  max-unpool with the encoder's pooling positions, then conv 3x3;
 *   deconv:  transposed convolutions with stride 2 (3->7->14->28);
 *   both:    max-unpool, then a stride-1 transposed convolution.
 * Train each and compare test losses, reconstructions, and what the first
 * decoder layer's filters produce. */
#include <stdlib.h>

#include "common.h"
#include "report.h"

enum { SHOWN = 10, PIXELS = 28 * 28 };

typedef enum { UNPOOL, DECONV, BOTH } decoder_kind;
static const char *const names[] = {"unpool", "deconv", "both"};

/* Encoder layers 1, 3 and 5 are the pooling layers the unpooling layers
 * pair with. */
static ae_model *build(decoder_kind kind, unsigned long seed)
{
    ae_model *m = NULL;
    check(ae_model_create(&m, 1, 28, 28, seed), "creating the model");
    const int widths[] = {8, 16, 16};
    for (int i = 0; i < 3; i++) {
        check(ae_model_add_conv2d(m, AE_ENCODER, widths[i], 3, 1, 1,
                                  AE_ACT_RELU), "adding a convolution");
        check(ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2), "adding a pool");
    }
    const int sides[] = {7, 14, 28}, pools[] = {5, 3, 1}, outs[] = {16, 8, 1};
    for (int i = 0; i < 3; i++) {
        ae_activation act = i < 2 ? AE_ACT_RELU : AE_ACT_SIGMOID;
        if (kind == DECONV) {
            /* 3->7: k3 s2; 7->14 and 14->28: k4 s2 p1 */
            int k = i == 0 ? 3 : 4, pad = i == 0 ? 0 : 1;
            check(ae_model_add_conv_transpose2d(m, AE_DECODER, outs[i], k, 2,
                                                pad, 0, act),
                  "adding a transposed convolution");
            continue;
        }
        check(ae_model_add_maxunpool2d(m, AE_DECODER, (size_t)pools[i],
                                       sides[i], sides[i]),
              "adding an unpooling layer");
        if (kind == UNPOOL)
            check(ae_model_add_conv2d(m, AE_DECODER, outs[i], 3, 1, 1, act),
                  "adding a convolution");
        else
            check(ae_model_add_conv_transpose2d(m, AE_DECODER, outs[i], 3, 1,
                                                1, 0, act),
                  "adding a transposed convolution");
    }
    return m;
}

int main(int argc, char **argv)
{
    options opt;
    parse_options(argc, argv, "out/exp6", &opt);
    ae_dataset *train = load_split(&opt, "train", 2000);
    ae_dataset *test = load_split(&opt, "t10k", 500);
    int epochs = epochs_for(&opt, 5);
    printf("Experiment 6 on %s (%zu training, %zu test images, %d epochs)\n",
           opt.data_name, ae_dataset_count(train), ae_dataset_count(test),
           epochs);
    report *rep = report_open(&opt, 6, "Three convolutional decoders");
    report_text(rep, "One convolutional encoder (conv 1->8, 8->16, 16->16, "
                "3x3, ReLU, each followed by a 2x2 max-pool: a 16x3x3 code) "
                "with three decoders: unpool (max-unpooling at the encoder's "
                "pooling positions, then a 3x3 convolution), deconv "
                "(transposed convolutions of stride 2) and both (unpooling, "
                "then a stride-1 transposed convolution). Adam 1e-3, batch "
                "64, MSE, %d epochs on %zu training images; losses on %zu "
                "test images.", epochs, ae_dataset_count(train),
                ae_dataset_count(test));

    float *grid = malloc(4 * SHOWN * PIXELS * sizeof *grid);
    if (grid == NULL)
        check(AE_ERR_NO_MEMORY, "allocating the figure");
    check(ae_dataset_batch(test, 0, SHOWN, grid, NULL), "reading digits");
    double loss[3];
    size_t params[3];
    run runs[3];
    for (int k = UNPOOL; k <= BOTH; k++) {
        run_start(&runs[k], names[k], build((decoder_kind)k, opt.seed), &opt);
        run_fit(&runs[k], train, test, epochs);
        ae_model *m = runs[k].model;
        check(ae_trainer_evaluate(runs[k].trainer, test, &loss[k]),
              "evaluating");
        /* Encode and decode together, so the unpooling layers use the
         * positions recorded for these very images. */
        check(ae_model_reconstruct(m, grid, SHOWN,
                                   grid + (size_t)(k + 1) * SHOWN * PIXELS),
              "reconstructing");
        params[k] = ae_model_param_count(m);
        printf("%-7s decoder: %zu parameters, test MSE %.5f\n", names[k],
               params[k], loss[k]);
    }
    int best = 0;
    for (int k = 1; k < 3; k++)
        best = loss[k] < loss[best] ? k : best;
    printf("best decoder: %s\n", names[best]);

    const char *headers[] = {"decoder", "parameters", "final training loss",
                             "test MSE"};
    report_table(rep, "The three decoders after training", 4, headers);
    for (int k = UNPOOL; k <= BOTH; k++) {
        report_row(rep, (const char *[]){
                            names[k], cell("%zu", params[k]),
                            cell("%.5f", runs[k].train_loss[epochs - 1]),
                            cell("%.5f", loss[k])});
        report_value(rep, cell("%s_params", names[k]), (double)params[k]);
        report_value(rep, cell("%s_test_mse", names[k]), loss[k]);
    }
    report_value(rep, "epochs", epochs);
    report_text(rep, "Best on the test images: %s (test MSE %.5f). The "
                "original notebook found \"both\" best.", names[best],
                loss[best]);

    write_digits_png(out_path(&opt, "reconstructions.png"), grid, 4, SHOWN,
                     0.0f, 1.0f);
    report_figure(rep, "reconstructions.png",
                  "Top row: ten test images; then their reconstructions by "
                  "the unpool, deconv and both decoders, one row each.");
    plot_run_losses(out_path(&opt, "losses.png"),
                    "Three decoders: loss per epoch", "loss (MSE)", runs, 3);
    report_figure(rep, "losses.png", "Training loss and test loss per epoch "
                  "of the three decoders: the lowest test curve is the best "
                  "decoder.");
    report_close(rep);

    for (int k = UNPOOL; k <= BOTH; k++)
        run_free(&runs[k]);
    ae_dataset_free(train);
    ae_dataset_free(test);
    free(grid);
    return 0;
}

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

    float *grid = malloc(4 * SHOWN * PIXELS * sizeof *grid);
    if (grid == NULL)
        check(AE_ERR_NO_MEMORY, "allocating the figure");
    check(ae_dataset_batch(test, 0, SHOWN, grid, NULL), "reading digits");
    double loss[3];
    FILE *json = fopen(out_path(&opt, "results.json"), "w");
    if (json == NULL)
        check(AE_ERR_IO, "writing results.json");
    fprintf(json, "{\"experiment\": 6, \"data\": \"%s\", \"epochs\": %d",
            opt.data_name, epochs);

    for (int k = UNPOOL; k <= BOTH; k++) {
        ae_model *m = build((decoder_kind)k, opt.seed);
        ae_optimizer *adam = NULL;
        ae_trainer *t = NULL;
        check(ae_optimizer_create_adam(&adam, 1e-3f), "creating Adam");
        check(ae_trainer_create(&t, m, adam), "creating the trainer");
        check(ae_trainer_set(t, AE_TRAIN_SEED, (double)opt.seed), "seeding");
        check(ae_trainer_fit(t, train, test, epochs, print_epoch,
                             (void *)names[k]), "training");
        check(ae_trainer_evaluate(t, test, &loss[k]), "evaluating");
        /* Encode and decode together, so the unpooling layers use the
         * positions recorded for these very images. */
        check(ae_model_reconstruct(m, grid, SHOWN,
                                   grid + (size_t)(k + 1) * SHOWN * PIXELS),
              "reconstructing");
        printf("%-7s decoder: %zu parameters, test MSE %.5f\n", names[k],
               ae_model_param_count(m), loss[k]);
        fprintf(json, ",\n \"%s_params\": %zu, \"%s_test_mse\": %.6f",
                names[k], ae_model_param_count(m), names[k], loss[k]);
        ae_trainer_free(t);
        ae_optimizer_free(adam);
        ae_model_free(m);
    }
    fprintf(json, "}\n");
    fclose(json);
    int best = 0;
    for (int k = 1; k < 3; k++)
        best = loss[k] < loss[best] ? k : best;
    printf("best decoder: %s\n", names[best]);
    write_digits_png(out_path(&opt, "reconstructions.png"), grid, 4, SHOWN, 0.0f,
                     1.0f);
    printf("figure: %s (rows: originals, unpool, deconv, both)\n",
           out_path(&opt, "reconstructions.png"));
    ae_dataset_free(train);
    ae_dataset_free(test);
    free(grid);
    return 0;
}

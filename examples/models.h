/* models.h - every model the experiments train, built in one place.
 *
 * The example programs, the benchmarks (bench/) and examples/test_models.c
 * all build their models through these functions, so the shapes the test
 * checks against the notebooks are the shapes that are trained and timed.
 * Public libautoenc API only, and no exits: each builder returns AE_OK
 * with a new model in *out (the caller frees it), or the library's error
 * with *out NULL (ae_last_error() names the layer at fault).
 *
 * Layers are added in the order listed, encoder first; a model's initial
 * weights are drawn from `seed` in that order, so the same builder and
 * seed give the same weights, bit for bit. */
#ifndef EXAMPLES_MODELS_H
#define EXAMPLES_MODELS_H

#include <autoenc.h>

/* A dense autoencoder on 1 x 28 x 28 images: encoder layers of enc[0],
 * ..., enc[n_enc - 1] units (the last is the code), then decoder layers of
 * dec[0], ..., dec[n_dec - 1] units (the last must be 784).  Activations:
 * `hidden` after every layer but the last of each part, `code` after the
 * code layer, `output` after the decoder's last layer. */
ae_status model_dense(ae_model **out, const int *enc, int n_enc,
                      const int *dec, int n_dec, ae_activation hidden,
                      ae_activation code, ae_activation output,
                      unsigned long seed);

/* One hidden layer, 784-h (ReLU) / h-784 (Sigmoid), 784h + h + 784h + 784
 * parameters: experiment 1 (h = 32), 2 (64, 128, 256), 3 (1024, and the
 * standard 256) and 4 (256). */
ae_status model_one_hidden(ae_model **out, int hidden, unsigned long seed);

/* Experiment 1's deep autoencoder with code 30, as the notebooks wrote
 * it: 784-512-256-128-30 (ReLU, linear code) / 30-128-256-784 (ReLU,
 * Sigmoid output); 808,494 parameters. */
ae_status model_exp1_deep30(ae_model **out, unsigned long seed);

/* Experiment 1's deep autoencoders with code 32: 784-256-64-32 /
 * 32-64-256-784 with `act` (ReLU, Tanh or LeakyReLU) after every layer,
 * the code included, but the Sigmoid output. */
ae_status model_exp1_deep32(ae_model **out, ae_activation act,
                            unsigned long seed);

/* Experiment 4's [-1, 1] denoiser: 784-256-128-64 (ReLU, linear code) /
 * 64-128-256-784 (ReLU, Tanh output). */
ae_status model_exp4_deep_denoiser(ae_model **out, unsigned long seed);

/* Experiment 5's small code: 784-64-8 (ReLU, the code too) / 8-64-784
 * (ReLU, Sigmoid output). */
ae_status model_exp5_small_code(ae_model **out, unsigned long seed);

/* Experiment 8's variational autoencoder with a latent space of `latent`
 * dimensions, in the shape of experiment 1's dense models: 784-512-256
 * (ReLU), a linear layer of 2 * latent (the means, then the
 * log-variances), the Gaussian sampling layer (the code, latent values) /
 * latent-256-512 (ReLU), 784 (Sigmoid). */
ae_status model_exp8_vae(ae_model **out, int latent, unsigned long seed);

/* Its plain counterpart with a code of the same size: 784-512-256 (ReLU),
 * a linear code of `latent` / latent-256-512 (ReLU), 784 (Sigmoid). */
ae_status model_exp8_ae(ae_model **out, int latent, unsigned long seed);

/* Experiment 6's three decoders on one encoder. */
typedef enum conv_decoder {
    CONV_UNPOOL, /* max-unpool (the encoder's positions), then conv 3x3 */
    CONV_DECONV, /* transposed convolutions of stride 2: 3->7->14->28 */
    CONV_BOTH    /* max-unpool, then a stride-1 transposed convolution */
} conv_decoder;

/* The encoder (3x3 kernels, padding 1, ReLU) conv 1->8, max-pool 2
 * (8x14x14); conv 8->16, max-pool 2 (16x7x7); conv 16->16, max-pool 2
 * (16x3x3 code), layers 0 to 5; then the decoder `kind`, channels 16 ->
 * 16 -> 8 -> 1, ReLU between, Sigmoid at the end.  The unpooling layers
 * pair with the pooling layers 5, 3 and 1. */
ae_status model_exp6_conv(ae_model **out, conv_decoder kind,
                          unsigned long seed);

/* Experiment 7's convolutional denoiser (the Keras sheet's), for images
 * of 1 x height x width (both multiples of 4): conv 1->32 (3x3, same)
 * ReLU, max-pool 2; conv 32->64 ReLU, max-pool 2; conv 64->64 ReLU,
 * upsample x2; conv 64->32 ReLU, upsample x2; conv 32->1 Sigmoid; 74,497
 * parameters. */
ae_status model_exp7_conv_denoiser(ae_model **out, int height, int width,
                                   unsigned long seed);

/* The layers of m in one line, into buf (returned; truncated to size):
 * the input shape, then one entry per layer, " | " where the decoder
 * begins, e.g. "784 > dense 30 none | dense 784 sigmoid" or
 * "1x28x28 > conv 32 3x3 relu, maxpool 2 | ...". */
const char *model_describe(const ae_model *m, char *buf, size_t size);

#endif

/* model.h - what the layer files, the model file and the trainer need of
 * the model's internals (private).  The struct stays opaque in model.c. */
#ifndef AE_MODEL_H
#define AE_MODEL_H

#include "nn/layer.h"

/* Append a layer of the given type and configuration: configure it against
 * the current output shape, grow the parameter arrays, draw its initial
 * parameters from the model's generator.  On failure the model is as it
 * was. */
ae_status ae__model_append(ae_model *m, ae_part part,
                           const ae__layer_ops *ops,
                           const int cfg[AE__LAYER_CFG_MAX],
                           ae_activation act, float act_param);

/* The contiguous parameter and gradient arrays (ae_model_param_count
 * floats each).  ae__model_params is for writing: it counts as a change
 * of the parameters (ae__model_params_changed), and a caller writing
 * through its pointer again after a pass calls it again. */
float *ae__model_params(ae_model *m);
float *ae__model_grads(ae_model *m);
const float *ae__model_params_const(const ae_model *m);

/* ae__layer_params_changed on every layer. */
void ae__model_params_changed(ae_model *m);

/* The model's input shape and the seed it was created with. */
ae__shape ae__model_input_shape(const ae_model *m);
uint64_t ae__model_seed(const ae_model *m);

/* Forward layers [first, last] on batch inputs, keeping every layer's output
 * for a following backward pass; returns a pointer to layer last's output
 * (owned by the model, valid until the next pass).  training says which
 * behaviour layers that differ between the two take (see
 * ae__model_training_pass). */
ae_status ae__model_forward(ae_model *m, size_t first, size_t last,
                            const float *input, size_t batch, int training,
                            const float **output);

/* 1 while the current pass is a training pass (the trainer's step,
 * ae_model_forward_train) of a model in training mode
 * (ae_model_set_training), 0 in a forward-only one (encode, decode,
 * reconstruct, activations, metrics) or in any pass of a model in
 * evaluation mode: what a layer whose training and evaluation forms
 * differ reads in its forward. */
int ae__model_training_pass(const ae_model *m);

/* 1 while the current pass belongs to a forward-only call (encode,
 * decode, reconstruct, activations), never in a trainer's pass: layers
 * may then compute one image in their own way (split over the threads),
 * as the header allows forward-only results to differ by rounding, while
 * training keeps its bits. */
int ae__model_forward_only(const ae_model *m);

/* 1 while the current pass draws a VAE's code rather than taking its
 * means: a training pass, or a trainer's pass between
 * ae__model_sampling_begin and _end (its evaluation estimates the loss
 * with one sample, while batch norm and dropout take their evaluation
 * form). */
int ae__model_samples(const ae_model *m);

/* Backward through every layer after a forward over all of them.  dy is
 * the loss gradient with respect to the model output; when
 * dy_is_preactivation is set it is already with respect to the last
 * layer's pre-activation (the fused sigmoid + cross-entropy case).  When
 * l1_code > 0, l1_code * sign(code) is added to the code's gradient, and
 * dcode (batch * code size floats), if not NULL, too.  Parameter
 * gradients are written (not added) to ae__model_grads(). */
ae_status ae__model_backward(ae_model *m, const float *input, size_t batch,
                             const float *dy, int dy_is_preactivation,
                             float l1_code, const float *dcode);

/* The backward pass in two halves, for a trainer that updates each layer
 * as soon as its gradients are written (see model.c).
 * ae__model_splits_backward: 1 if every layer with parameters has
 * layer.h's backward_input, param_blocks and backward_params_block and
 * no per-channel bias (and the model has parameters).
 * ae__model_backward_inputs: after a training forward pass, what
 * ae__model_backward does but the parameter gradients, keeping every
 * layer's gradient (dcode not supported); AE_ERR_NO_MEMORY, with nothing
 * changed, if it cannot allocate the room to keep them.
 * ae__model_gradient_bounded: 1 if the parameter gradients these give are
 * sure to be finite, 0 if they may not be (or the batch exceeds 2^22).
 * ae__model_backward_params: the parameter gradients, to
 * ae__model_backward's bits, each range given to update (if not NULL)
 * once written. */
int ae__model_splits_backward(const ae_model *m);
ae_status ae__model_backward_inputs(ae_model *m, size_t batch,
                                    const float *dy, int dy_is_preactivation,
                                    float l1_code);
int ae__model_gradient_bounded(const ae_model *m, const float *input,
                               size_t batch);
void ae__model_backward_params(ae_model *m, const float *input, size_t batch,
                               const ae__param_update *update);

/* The image of the call that image 0 of the current pass is: a
 * forward-only call runs its images in passes of a bounded size, and a
 * layer that keeps per-image state for another (max pooling) records it
 * at this offset.  0 for training passes. */
size_t ae__model_pass_first(const ae_model *m);

/* ---- state besides the parameters, and the training mode ---------------
 * (batch norm's running statistics, dropout's generator; see the state_*
 * operations of layer.h) */

/* Bytes of every layer's state, layer after layer (0 without such
 * layers), and the state itself written into p. */
size_t ae__model_state_size(const ae_model *m);
void ae__model_state_save(const ae_model *m, uint8_t *p);
/* Check the ae__model_state_size bytes at p, layer by layer; with commit
 * set and every layer's check passed, make them the layers' state.  A
 * failure changes nothing. */
ae_status ae__model_state_load(ae_model *m, const uint8_t *p, int commit);
/* The step whose training pass ran has succeeded: each layer adopts what
 * that pass left pending (ops->commit). */
void ae__model_commit(ae_model *m);
/* AE_OK if a training pass of batch images may run (see check_batch). */
ae_status ae__model_check_training_batch(const ae_model *m, size_t batch);
/* Data-parallel: scale every layer's running statistics by share (this
 * worker's part of the batch) and sum them over the workers through fn,
 * one call per layer that has them, so every worker holds their
 * share-weighted mean. */
ae_status ae__model_average_running(ae_model *m, float share,
                                    ae_reduce_fn fn, void *user);
/* Data-parallel: the index, within the global batch, of image 0 of this
 * worker's training passes (0 otherwise), so that a layer drawing random
 * numbers per image (dropout) draws what one process would. */
void ae__model_set_image_offset(ae_model *m, size_t first);
size_t ae__model_image_offset(const ae_model *m);

/* Code (last encoder layer output) of the last forward pass. */
const float *ae__model_code(const ae_model *m);

/* ---- variational autoencoders (layers/gaussian_sample.c) ---- */

/* Index of the model's Gaussian sampling layer (always the encoder's
 * last), or SIZE_MAX if it has none. */
size_t ae__model_sampling_layer(const ae_model *m);

/* What the training passes until ae__model_sampling_end use: eps drawn
 * from rng (NULL: the model's own generator) and kl_weight for the KL
 * gradient of backward (instead of ae_model_set_kl_weight's). */
void ae__model_sampling_begin(ae_model *m, ae__rng *rng, float kl_weight);
void ae__model_sampling_end(ae_model *m);

/* The weight backward gives the KL term's gradient (read by the sampling
 * layer). */
float ae__model_kl_weight(const ae_model *m);

/* The KL term summed over the batch of the latest training pass, whose
 * input was `input`; 0 without a sampling layer. */
double ae__model_kl(const ae_model *m, const float *input, size_t batch);

#endif /* AE_MODEL_H */

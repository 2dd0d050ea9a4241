/*
 * layer.h - what a layer is: its shapes, its state and the row of
 * operations every layer type provides (private).
 *
 * Every layer type is one file of layers/ giving one ae__layer_ops row: how
 * it checks its configuration against its input shape, how it draws its
 * parameters, and its forward and backward passes.  The table from kind to
 * row is layers/layer_table.c; docs/ARCHITECTURE.md lists every file a new
 * layer type touches.
 *
 * The model owns every parameter and gradient in two contiguous arrays;
 * a layer's weights/bias pointers point into them, so the optimizer updates
 * the whole model in one pass.
 */
#ifndef AE_LAYER_H
#define AE_LAYER_H

#include "common/internal.h"

typedef struct ae__shape {
    int c, h, w;
} ae__shape;

static inline size_t ae__shape_size(ae__shape s)
{
    return (size_t)s.c * (size_t)s.h * (size_t)s.w;
}

/* Integer configuration of a layer; its meaning is the layer type's own
 * (dense: cfg[0] = units).  Saved to model files as it stands. */
enum { AE__LAYER_CFG_MAX = 8 };

/* An update applied to parameters as soon as the backward pass has
 * written their gradients (the trainer's fused step): params points at n
 * parameters of the model's array, their gradients at the same place of
 * the gradient array. */
typedef struct ae__param_update {
    void (*apply)(const void *ctx, float *params, size_t n);
    const void *ctx;
} ae__param_update;

typedef struct ae__layer_ops {
    ae_layer_kind kind;
    const char *name;
    /* 1 if an activation may follow the layer (dense, convolutions). */
    int has_activation;
    /* 1 if forward applies l->act itself, on values it has just written
     * and that are still in cache, rather than leaving it to a separate
     * pass over the whole output. */
    int fuses_activation;
    /* 1 if the bias is one per output channel of planes (the
     * convolutions): the model then applies the activation's backward
     * step and sums l->grad_bias in one pass over the output gradient
     * (ae__activation_backward_channels), and backward leaves l->grad_bias alone. */
    int sums_channel_bias;
    /* From l->in and l->cfg, set l->out, l->n_weights and l->n_bias, or
     * return AE_ERR_SHAPE / AE_ERR_INVALID_ARGUMENT with a message naming
     * layer l->index. */
    ae_status (*configure)(ae_layer *l);
    /* Draw initial weights and bias (PyTorch's default for the type). */
    void (*init)(ae_layer *l, ae__rng *rng);
    /* Optional: floats of scratch the passes need for `batch` images; the
     * model provides one shared scratch array of the largest such size. */
    size_t (*scratch)(const ae_layer *l, size_t batch);
    /* Optional: the same for forward passes alone, when they need less
     * (no room for gradients); forward-only calls allocate their scratch
     * per call, and zeroing megabytes of gradient room every call was a
     * quarter of a one-image convolutional pass.  scratch's if not set. */
    size_t (*forward_scratch)(const ae_layer *l, size_t batch);
    /* Optional: prepare per-batch state (pooling keeps argmax positions)
     * for passes of up to `batch` images.  Forward must also work without
     * it, keeping no state: forward-only passes (encode, reconstruct) skip
     * it unless another layer reads the state (partner below). */
    ae_status (*reserve)(ae_layer *l, size_t batch);
    /* y = layer(x) before the activation (after it, if the row says
     * fuses_activation), for `batch` images. */
    void (*forward)(ae_layer *l, const float *x, float *y, size_t batch,
                    float *scratch);
    /* dy is the gradient of the loss with respect to the pre-activation
     * output.  Write (not add) the parameter gradients into l->grad_weights
     * and l->grad_bias (unless sums_channel_bias), and, if dx is not NULL,
     * the gradient with respect to x.  x is the input of the last forward
     * call. */
    void (*backward)(ae_layer *l, const float *x, const float *dy, float *dx,
                     size_t batch, float *scratch);
    /* Optional trio, for the trainer's fused step (ae__model_backward_inputs,
     * then ae__model_backward_params): together they do what backward
     * does, to the same bits.  backward_input writes dx alone, from
     * weights no update has touched yet.  The parameter gradients (those
     * of backward given dx when l->index > 0) then come in param_blocks
     * blocks, each independent of the others, so that the model can share
     * every layer's blocks among its threads in one parallel pass, and
     * each of about the same size.  backward_params_block writes block b
     * on the calling thread and, if update is not NULL, applies it to the
     * block's parameters once their gradients are written, while those
     * are in cache.  Each parameter gradient must be a sum of at most
     * `batch` products of one dy and one x value (the bias's, of `batch`
     * dy values): the finiteness bound of ae__model_gradient_bounded
     * rests on it. */
    void (*backward_input)(ae_layer *l, const float *x, const float *dy,
                           float *dx, size_t batch, float *scratch);
    size_t (*param_blocks)(const ae_layer *l);
    void (*backward_params_block)(ae_layer *l, const float *x,
                                  const float *dy, size_t batch, size_t b,
                                  const ae__param_update *update);
    /* Optional: free l->state. */
    void (*destroy)(ae_layer *l);
    /* Optional: the index of an earlier layer whose per-image state this
     * layer reads (max unpooling: its pooling layer's positions).  A
     * forward-only pass reserves that layer for every image of the call,
     * so that image b of a later pass still finds image b's state. */
    size_t (*partner)(const ae_layer *l);

    /* ---- layers with state besides their parameters (batch norm's
     * running statistics, dropout's generator); all optional ---- */
    /* Bytes of the state a model file (format version 2) and so a
     * checkpoint keep for the layer; fixed by its configuration. */
    size_t (*state_size)(const ae_layer *l);
    /* Write that state, state_size bytes, little-endian. */
    void (*state_save)(const ae_layer *l, uint8_t *p);
    /* Check state_size bytes read from a file (AE_ERR_FORMAT or
     * AE_ERR_NOT_FINITE naming the layer); with commit set and the check
     * passed, make it the layer's state. */
    ae_status (*state_load)(ae_layer *l, const uint8_t *p, int commit);
    /* A training pass's forward leaves what it would change in the state
     * pending (batch norm's batch statistics); commit makes it the state
     * once the step that ran the pass has succeeded (ae__model_commit). */
    void (*commit)(ae_layer *l);
    /* A training pass of `batch` images would be refused (batch norm with
     * one value per channel): say why, before any layer runs. */
    ae_status (*check_batch)(const ae_layer *l, size_t batch);
    /* The state floats that data-parallel workers average after every
     * step (batch norm's running mean and variance), *n of them. */
    float *(*running)(ae_layer *l, size_t *n);
    /* Optional: draw the random numbers a training pass of `batch` images
     * uses (the Gaussian sampling layer's eps) from rng into l->state.
     * The model calls it in a training pass just before the layer's
     * forward; forward only reads them, so that calling forward again (a
     * finite-difference check) repeats the same pass. */
    void (*draw)(ae_layer *l, ae__rng *rng, size_t batch);
    /* 1 if the layer must end the encoder: its output is the code (the
     * sampling layer, whose evaluation form gives the means). */
    int at_code;
} ae__layer_ops;

struct ae_layer {
    const ae__layer_ops *ops;
    ae_model *model;
    size_t index; /* position in the model */
    ae_part part;
    ae__shape in, out;
    ae_activation act;
    float act_param; /* LeakyReLU slope */
    int cfg[AE__LAYER_CFG_MAX];
    size_t n_weights, n_bias;
    float *weights, *bias;           /* into the model's parameter array */
    float *grad_weights, *grad_bias; /* into the model's gradient array */
    void *state;                     /* type-owned runtime state */
    uint64_t params_version;         /* see ae__layer_params_changed */
};

/* The layer's parameters may have changed: every write to them goes
 * through ae_layer_set_weights or _bias, ae__model_params (which counts
 * for every layer), a layer's initialisation or a model file's, and
 * each calls this.  A layer keeping something computed from its weights
 * between passes (conv_winograd.h's transformed kernels) keeps the
 * params_version it was computed at, and computes it again when the
 * version has moved. */
static inline void ae__layer_params_changed(ae_layer *l)
{
    l->params_version++;
}

/* Weights, then bias, drawn from U(-bound, bound) in order: PyTorch's
 * default for nn.Linear and the convolutions, bound = 1/sqrt(fan_in). */
void ae__layer_init_uniform(ae_layer *l, ae__rng *rng, float bound);

#endif /* AE_LAYER_H */

/*
 * layer.h - the private table of layer types.
 *
 * Every layer type is one file giving one ae__layer_ops row: how it checks
 * its configuration against its input shape, how it draws its parameters,
 * and its forward and backward passes.  Adding a layer type means adding a
 * file and a row in ae__layer_ops_for_kind() (layer.c).
 *
 * The model owns every parameter and gradient in two contiguous arrays;
 * a layer's weights/bias pointers point into them, so the optimizer updates
 * the whole model in one pass.
 */
#ifndef AE_LAYER_H
#define AE_LAYER_H

#include "internal.h"

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

typedef struct ae__layer_ops {
    ae_layer_kind kind;
    const char *name;
    /* 1 if an activation may follow the layer (dense, convolutions). */
    int has_activation;
    /* 1 if forward applies l->act itself, on values it has just written
     * and that are still in cache, rather than leaving it to a separate
     * pass over the whole output. */
    int fuses_activation;
    /* From l->in and l->cfg, set l->out, l->n_weights and l->n_bias, or
     * return AE_ERR_SHAPE / AE_ERR_INVALID_ARGUMENT with a message naming
     * layer l->index. */
    ae_status (*configure)(ae_layer *l);
    /* Draw initial weights and bias (PyTorch's default for the type). */
    void (*init)(ae_layer *l, ae__rng *rng);
    /* Optional: floats of scratch the passes need for `batch` images; the
     * model provides one shared scratch array of the largest such size. */
    size_t (*scratch)(const ae_layer *l, size_t batch);
    /* Optional: prepare per-batch state (pooling keeps argmax positions). */
    ae_status (*reserve)(ae_layer *l, size_t batch);
    /* y = layer(x) before the activation (after it, if the row says
     * fuses_activation), for `batch` images. */
    void (*forward)(ae_layer *l, const float *x, float *y, size_t batch,
                    float *scratch);
    /* dy is the gradient of the loss with respect to the pre-activation
     * output.  Write (not add) the parameter gradients into l->grad_weights
     * and l->grad_bias, and, if dx is not NULL, the gradient with respect to
     * x.  x is the input of the last forward call. */
    void (*backward)(ae_layer *l, const float *x, const float *dy, float *dx,
                     size_t batch, float *scratch);
    /* Optional: free l->state. */
    void (*destroy)(ae_layer *l);
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
};

/* The ops row for a kind, or NULL if the kind is unknown. */
const ae__layer_ops *ae__layer_ops_for_kind(ae_layer_kind kind);

/* Weights, then bias, drawn from U(-bound, bound) in order: PyTorch's
 * default for nn.Linear and the convolutions, bound = 1/sqrt(fan_in). */
void ae__layer_init_uniform(ae_layer *l, ae__rng *rng, float bound);

/* Rows defined by the layer files. */
extern const ae__layer_ops ae__dense_ops;
extern const ae__layer_ops ae__conv2d_ops;
extern const ae__layer_ops ae__maxpool2d_ops;
extern const ae__layer_ops ae__maxunpool2d_ops;
extern const ae__layer_ops ae__upsample2d_ops;
extern const ae__layer_ops ae__conv_transpose2d_ops;
extern const ae__layer_ops ae__reshape_ops;

/* ---- activations (activation.c) ---------------------------------------- */

/* Apply in place to n values. */
/* The same on the calling thread alone, for a layer's forward that has
 * split its output among threads already. */
void ae__activation_forward_serial(ae_activation act, float param, float *y,
                                   size_t n);
void ae__activation_forward(ae_activation act, float param, float *y,
                            size_t n);
/* g *= act'(.) in place, written in terms of the activation's output y,
 * which every supported activation allows. */
void ae__activation_backward(ae_activation act, float param, const float *y,
                             float *g, size_t n);
/* 1 if act is a known activation and param suits it. */
int ae__activation_valid(ae_activation act, float param);

/* ---- model internals (model.c) ----------------------------------------- */

/* Append a layer of the given type and configuration: configure it against
 * the current output shape, grow the parameter arrays, draw its initial
 * parameters from the model's generator.  On failure the model is as it
 * was. */
ae_status ae__model_append(ae_model *m, ae_part part,
                           const ae__layer_ops *ops,
                           const int cfg[AE__LAYER_CFG_MAX],
                           ae_activation act, float act_param);

/* The contiguous parameter and gradient arrays (ae_model_param_count
 * floats each). */
float *ae__model_params(ae_model *m);
float *ae__model_grads(ae_model *m);
const float *ae__model_params_const(const ae_model *m);

/* The model's input shape and the seed it was created with. */
ae__shape ae__model_input_shape(const ae_model *m);
uint64_t ae__model_seed(const ae_model *m);

/* Forward layers [first, last] on batch inputs, keeping every layer's output
 * for a following backward pass; returns a pointer to layer last's output
 * (owned by the model, valid until the next pass). */
ae_status ae__model_forward(ae_model *m, size_t first, size_t last,
                            const float *input, size_t batch,
                            const float **output);

/* Backward through every layer after a forward over all of them.  dy is
 * the loss gradient with respect to the model output; when
 * dy_is_preactivation is set it is already with respect to the last
 * layer's pre-activation (the fused sigmoid + cross-entropy case).  When
 * l1_code > 0, l1_code * sign(code) is added to the code's gradient.
 * Parameter gradients land in ae__model_grads(). */
ae_status ae__model_backward(ae_model *m, const float *input, size_t batch,
                             const float *dy, int dy_is_preactivation,
                             float l1_code);

/* Code (last encoder layer output) of the last forward pass. */
const float *ae__model_code(const ae_model *m);

#endif /* AE_LAYER_H */

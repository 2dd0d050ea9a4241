/* model.c - an autoencoder: an encoder stack and a decoder stack of layers,
 * their parameters in one contiguous array, and the forward and backward
 * passes over them. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "common/finite.h"
#include "common/parallel.h"
#include "nn/activation.h"
#include "nn/kl.h"
#include "nn/layer.h"
#include "nn/model.h"

/* Limits on the input shape: generous for images, small enough that every
 * size product below fits comfortably in an int for BLAS. */
enum { AE_MAX_SIDE = 65536, AE_MAX_CHANNELS = 65536 };
#define AE_MAX_IMAGE_FLOATS ((size_t)1 << 28)

struct ae_model {
    ae__shape input;
    uint64_t seed;
    ae__rng init_rng; /* draws initial weights, layer after layer */

    ae_layer **layers;
    size_t n_layers, cap_layers;
    size_t n_encoder;

    float *params, *grads; /* n_params each; layers point into them */
    size_t n_params, cap_params; /* n_params in use, room for cap_params */

    /* Buffers for batches of up to ws_batch images, grown on demand and
     * reused, so a training step allocates nothing once warmed up. */
    size_t ws_batch;
    int ws_threads;        /* thread count the scratch was sized for */
    float **outputs;       /* output of each layer */
    float *grad_a, *grad_b; /* gradients flowing backward, ping-pong */
    float *scratch;        /* shared by the layers' passes */
    float *layer_dy;       /* every layer's pre-activation output gradient,
                              for ae__model_backward_params; allocated by
                              ae__model_backward_inputs for ws_batch
                              images, freed with the workspace */

    size_t pass_first; /* see ae__model_pass_first */
    int training_pass; /* see ae__model_training_pass */
    int forward_only_pass; /* see ae__model_forward_only */
    int training_mode; /* ae_model_set_training; 1 from creation */
    size_t image_offset; /* see ae__model_set_image_offset */

    /* The low-level training calls (ae_model_forward_train and after). */
    size_t train_batch;   /* images of the training pass whose outputs the
                             workspace holds, 0 when none (see there) */
    float *train_input;   /* a copy of that pass's input */
    size_t train_input_cap; /* images train_input has room for */
    float *grad_saved;    /* gradients accumulated before a backward call */
    int grads_zero;       /* the gradient array holds zeros only */

    /* Variational autoencoders (the Gaussian sampling layer). */
    ae__rng sample_rng;   /* eps of ae_model_forward_train */
    ae__rng *pass_rng;    /* a trainer's, while it runs passes; or NULL */
    float kl_weight;      /* ae_model_set_kl_weight */
    float pass_kl_weight; /* the trainer's, used while pass_rng is set */
    int sampling_pass;    /* between ae__model_sampling_begin and _end */
};

/* Stream of the model's own eps generator, and of ae_model_generate's. */
enum { SAMPLE_STREAM = 0x5a3e1, GENERATE_STREAM = 0x5a3e2 };

/* Images per pass of a forward-only call (encode, decode, reconstruct,
 * activations), at most: the memory such a call needs is bounded by this,
 * not by its batch, and at 128 images the passes run as fast per image as
 * one large pass does (see docs/PERFORMANCE.md).  Fewer for layers with
 * wide outputs: a pass
 * takes the largest power of two of images whose two widest layer
 * outputs (the pair a layer reads and writes) fit in INFER_PASS_BYTES.
 * The experiment-7 conv model (two 100 KB outputs an image) then runs
 * in passes of 16, 1.2-1.4 times as fast per image as in passes of 64 or
 * 128 in calls of 64 or 128 images: buffers of 12-25 MB are fresh
 * mappings every call whose pages fault in again, while 3 MB ones are
 * reused from the heap (a single call of 10,000 images, which allocates
 * once, ran as fast either way on one thread and 20% faster in passes of
 * 128 on two).  The dense models keep 128. */
enum { INFER_CHUNK = 128 };
#define INFER_PASS_BYTES ((size_t)4 << 20)

/* ---- creation and destruction ------------------------------------------ */

ae_status ae_model_create(ae_model **out, int channels, int height, int width,
                          uint64_t seed)
{
    AE_REQUIRE(out);
    *out = NULL;
    if (channels < 1 || channels > AE_MAX_CHANNELS || height < 1 ||
        height > AE_MAX_SIDE || width < 1 || width > AE_MAX_SIDE)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_model_create: input shape %d x %d x %d is not "
                        "valid (each side 1..%d)",
                        channels, height, width, AE_MAX_SIDE);
    ae__shape in = {channels, height, width};
    if (ae__shape_size(in) > AE_MAX_IMAGE_FLOATS)
        return ae__fail(AE_ERR_LIMIT,
                        "ae_model_create: input of %zu values is too large",
                        ae__shape_size(in));
    ae_model *m;
    AE_ALLOC_OR_FAIL(m, 1, "the model");
    m->input = in;
    m->seed = seed;
    m->grads_zero = 1;
    m->training_mode = 1;
    ae__rng_seed(&m->init_rng, seed, 0x1a7e5);
    ae__rng_seed(&m->sample_rng, seed, SAMPLE_STREAM);
    (void)ae__thread_count(); /* BLAS gets the thread count before use */
    *out = m;
    return AE_OK;
}

static void free_workspace(ae_model *m)
{
    if (m->outputs != NULL)
        for (size_t i = 0; i < m->n_layers; i++)
            ae__free(m->outputs[i]);
    ae__free(m->outputs);
    ae__free(m->grad_a);
    ae__free(m->grad_b);
    ae__free(m->scratch);
    ae__free(m->layer_dy);
    m->layer_dy = NULL;
    m->outputs = NULL;
    m->grad_a = m->grad_b = m->scratch = NULL;
    m->ws_batch = 0;
    m->train_batch = 0;
}

static void free_layer(ae_layer *l)
{
    if (l == NULL)
        return;
    if (l->ops->destroy)
        l->ops->destroy(l);
    ae__free(l);
}

void ae_model_free(ae_model *m)
{
    if (m == NULL)
        return;
    free_workspace(m);
    ae__free(m->train_input);
    ae__free(m->grad_saved);
    for (size_t i = 0; i < m->n_layers; i++)
        free_layer(m->layers[i]);
    ae__free(m->layers);
    ae__free(m->params);
    ae__free(m->grads);
    ae__free(m);
}

/* ---- building ---------------------------------------------------------- */

static void point_layer_params(ae_model *m)
{
    /* Until a layer with parameters arrives there are no arrays, and
     * NULL + 0 is undefined in C; the layers' pointers stay NULL (from
     * calloc), which layers without parameters never use. */
    if (m->params == NULL)
        return;
    size_t off = 0;
    for (size_t i = 0; i < m->n_layers; i++) {
        ae_layer *l = m->layers[i];
        l->weights = m->params + off;
        l->grad_weights = m->grads + off;
        off += l->n_weights;
        l->bias = m->params + off;
        l->grad_bias = m->grads + off;
        off += l->n_bias;
    }
}

ae_status ae__model_append(ae_model *m, ae_part part, const ae__layer_ops *ops,
                           const int cfg[AE__LAYER_CFG_MAX], ae_activation act,
                           float act_param)
{
    AE_REQUIRE(m);
    size_t index = m->n_layers;
    if (part != AE_ENCODER && part != AE_DECODER)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "layer %zu: part %d is neither AE_ENCODER nor "
                        "AE_DECODER", index, (int)part);
    if (part == AE_ENCODER && m->n_encoder != m->n_layers)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "layer %zu: encoder layers must come before the "
                        "decoder's", index);
    if (!ops->has_activation && act != AE_ACT_NONE)
        return ae__fail(AE_ERR_UNSUPPORTED,
                        "layer %zu (%s) takes no activation", index,
                        ops->name);
    if (ops->at_code && part != AE_ENCODER)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "layer %zu (%s): it ends the encoder (its output is "
                        "the code), so its part must be AE_ENCODER", index,
                        ops->name);
    if (part == AE_ENCODER && index > 0 && m->layers[index - 1]->ops->at_code)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "layer %zu: the encoder ends at layer %zu (%s), "
                        "whose output is the code; add decoder layers after "
                        "it", index, index - 1, m->layers[index - 1]->ops->name);
    if (!ae__activation_valid(act, act_param))
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "layer %zu: unknown activation %d", index, (int)act);

    ae_layer *l;
    AE_ALLOC_OR_FAIL(l, 1, "a layer");
    l->ops = ops;
    l->model = m;
    l->index = index;
    l->part = part;
    l->in = index == 0 ? m->input : m->layers[index - 1]->out;
    l->act = act;
    l->act_param = act_param;
    memcpy(l->cfg, cfg, sizeof l->cfg);
    ae_status s = ops->configure(l);
    if (s == AE_OK && ae__shape_size(l->out) > AE_MAX_IMAGE_FLOATS)
        s = ae__fail(AE_ERR_LIMIT, "layer %zu (%s): output of %zu values is "
                     "too large", index, ops->name, ae__shape_size(l->out));
    if (s != AE_OK) {
        free_layer(l);
        return s;
    }

    /* Grow the layer list and the parameter arrays; commit only once every
     * allocation has succeeded, so a failure leaves the model as it was.
     * The arrays at least double when they grow, so that building (or
     * loading) a model of many layers copies each parameter a bounded
     * number of times rather than once per later layer. */
    size_t n_new = m->n_params + l->n_weights + l->n_bias;
    ae_layer **layers = m->layers;
    size_t cap = m->cap_layers;
    float *params = m->params, *grads = m->grads;
    size_t cap_params = m->cap_params;
    const int grow = n_new > m->cap_params;
    if (grow) {
        /* Not zeroed: the room beyond what is in use stays untouched, so
         * it costs address space, not resident memory. */
        size_t bytes;
        cap_params = m->cap_params > n_new / 2 ? 2 * m->cap_params : n_new;
        params = grads = NULL;
        if (ae__mul_size(cap_params, sizeof(float), &bytes)) {
            params = ae__alloc(bytes);
            grads = ae__alloc(bytes);
        }
    }
    if (index == m->cap_layers) {
        cap = m->cap_layers ? 2 * m->cap_layers : 8;
        layers = ae__calloc(cap, sizeof(*layers));
        if (layers != NULL && index > 0)
            memcpy(layers, m->layers, index * sizeof(*layers));
    }
    if ((grow && (params == NULL || grads == NULL)) || layers == NULL) {
        if (grow) {
            ae__free(params);
            ae__free(grads);
        }
        if (layers != m->layers)
            ae__free(layers);
        free_layer(l);
        return ae__fail(AE_ERR_NO_MEMORY,
                        "layer %zu (%s): cannot allocate %zu parameters",
                        index, ops->name, n_new);
    }
    free_workspace(m); /* shapes changed: buffers are rebuilt on next use */
    if (grow) {
        if (m->n_params > 0)
            memcpy(params, m->params, m->n_params * sizeof(float));
        ae__free(m->params);
        ae__free(m->grads);
    }
    if (layers != m->layers)
        ae__free(m->layers);
    m->params = params;
    m->grads = grads;
    m->cap_params = cap_params;
    m->layers = layers;
    m->cap_layers = cap;
    m->layers[index] = l;
    m->n_layers++;
    if (n_new > m->n_params) { /* the new layer's share starts at zero */
        memset(params + m->n_params, 0, (n_new - m->n_params) * sizeof(float));
        memset(grads + m->n_params, 0, (n_new - m->n_params) * sizeof(float));
    }
    m->n_params = n_new;
    if (part == AE_ENCODER)
        m->n_encoder++;
    point_layer_params(m);
    ops->init(l, &m->init_rng);
    ae__model_params_changed(m); /* and moved, if the arrays grew */
    return AE_OK;
}

/* ---- properties -------------------------------------------------------- */

size_t ae_model_layer_count(const ae_model *m)
{
    return m ? m->n_layers : 0;
}

size_t ae_model_encoder_layer_count(const ae_model *m)
{
    return m ? m->n_encoder : 0;
}

ae_status ae_model_layer(const ae_model *m, size_t index, ae_layer **layer)
{
    AE_REQUIRE(layer);
    *layer = NULL;
    AE_REQUIRE(m);
    if (index >= m->n_layers)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_model_layer: index %zu, but the model has %zu "
                        "layers", index, m->n_layers);
    *layer = m->layers[index];
    return AE_OK;
}

size_t ae_model_input_size(const ae_model *m)
{
    return m ? ae__shape_size(m->input) : 0;
}

size_t ae_model_code_size(const ae_model *m)
{
    if (m == NULL || m->n_encoder == 0)
        return 0;
    return ae__shape_size(m->layers[m->n_encoder - 1]->out);
}

size_t ae_model_param_count(const ae_model *m)
{
    return m ? m->n_params : 0;
}

ae_status ae_model_validate(const ae_model *m)
{
    AE_REQUIRE(m);
    if (m->n_encoder == 0)
        return ae__fail(AE_ERR_SHAPE, "model has no encoder layer");
    if (m->n_layers == m->n_encoder)
        return ae__fail(AE_ERR_SHAPE, "model has no decoder layer");
    size_t out = ae__shape_size(m->layers[m->n_layers - 1]->out);
    if (out != ae__shape_size(m->input))
        return ae__fail(AE_ERR_SHAPE,
                        "decoder output (layer %zu) has %zu values, the input "
                        "%zu", m->n_layers - 1, out, ae__shape_size(m->input));
    return AE_OK;
}

float *ae__model_params(ae_model *m)
{
    ae__model_params_changed(m);
    return m->params;
}

void ae__model_params_changed(ae_model *m)
{
    for (size_t i = 0; i < m->n_layers; i++)
        ae__layer_params_changed(m->layers[i]);
}

float *ae__model_grads(ae_model *m)
{
    return m->grads;
}

const float *ae__model_params_const(const ae_model *m)
{
    return m->params;
}

ae__shape ae__model_input_shape(const ae_model *m)
{
    return m->input;
}

uint64_t ae__model_seed(const ae_model *m)
{
    return m->seed;
}

size_t ae__model_pass_first(const ae_model *m)
{
    return m->pass_first;
}

int ae__model_training_pass(const ae_model *m)
{
    return m->training_pass;
}

int ae__model_forward_only(const ae_model *m)
{
    return m->forward_only_pass;
}

int ae__model_samples(const ae_model *m)
{
    return m->training_pass || m->sampling_pass;
}

/* ---- workspace --------------------------------------------------------- */

static ae_status reserve(ae_model *m, size_t batch)
{
    /* Layers keep per-thread scratch: a new thread count resizes it. */
    const int threads = ae__thread_count();
    if (batch <= m->ws_batch && threads == m->ws_threads)
        return AE_OK;
    if (batch < m->ws_batch)
        batch = m->ws_batch;
    size_t widest = ae__shape_size(m->input), scratch = 0;
    for (size_t i = 0; i < m->n_layers; i++) {
        ae_layer *l = m->layers[i];
        size_t n = ae__shape_size(l->out);
        widest = n > widest ? n : widest;
        if (l->ops->scratch) {
            size_t s = l->ops->scratch(l, batch);
            scratch = s > scratch ? s : scratch;
        }
    }
    size_t wide_floats;
    if (!ae__mul_size(widest, batch, &wide_floats))
        return ae__fail(AE_ERR_LIMIT, "batch of %zu images is too large",
                        batch);
    free_workspace(m);
    int ok = (m->outputs = ae__calloc(m->n_layers, sizeof(float *))) != NULL;
    for (size_t i = 0; ok && i < m->n_layers; i++)
        ok = (m->outputs[i] = ae__calloc(
                  batch, ae__shape_size(m->layers[i]->out) * sizeof(float))) !=
             NULL;
    ok = ok && (m->grad_a = ae__calloc(wide_floats, sizeof(float))) != NULL;
    ok = ok && (m->grad_b = ae__calloc(wide_floats, sizeof(float))) != NULL;
    ok = ok && (m->scratch = ae__calloc(scratch + 1, sizeof(float))) != NULL;
    for (size_t i = 0; ok && i < m->n_layers; i++) {
        ae_layer *l = m->layers[i];
        if (l->ops->reserve && l->ops->reserve(l, batch) != AE_OK) {
            free_workspace(m);
            return AE_ERR_NO_MEMORY; /* the layer said why */
        }
    }
    if (!ok) {
        free_workspace(m);
        return ae__fail(AE_ERR_NO_MEMORY,
                        "cannot allocate buffers for a batch of %zu images",
                        batch);
    }
    m->ws_batch = batch;
    m->ws_threads = threads;
    return AE_OK;
}

/* ---- passes ------------------------------------------------------------ */

ae_status ae__model_forward(ae_model *m, size_t first, size_t last,
                            const float *input, size_t batch, int training,
                            const float **output)
{
    m->train_batch = 0; /* the outputs are this pass's from now on */
    m->training_pass = training && m->training_mode;
    ae_status s = m->training_pass
                      ? ae__model_check_training_batch(m, batch)
                      : AE_OK;
    if (s == AE_OK)
        s = reserve(m, batch);
    if (s != AE_OK)
        return s;
    const float *x = input;
    for (size_t i = first; i <= last; i++) {
        ae_layer *l = m->layers[i];
        float *y = m->outputs[i];
        if (ae__model_samples(m) && l->ops->draw)
            l->ops->draw(l, m->pass_rng ? m->pass_rng : &m->sample_rng,
                         batch);
        l->ops->forward(l, x, y, batch, m->scratch);
        if (!l->ops->fuses_activation)
            ae__activation_forward(l->act, l->act_param, y,
                                   batch * ae__shape_size(l->out));
        x = y;
    }
    *output = x;
    return AE_OK;
}

/* d|y|/dy = sign(y), 0 at 0 (as torch.abs's gradient). */
static void add_l1_gradient(float *g, const float *y, size_t n, float lambda)
{
    for (size_t i = 0; i < n; i++)
        g[i] += y[i] > 0.0f ? lambda : (y[i] < 0.0f ? -lambda : 0.0f);
}

/* Layer i's output gradient g, made the gradient of its pre-activation
 * in place: the code's L1 and dcode terms added where the encoder ends,
 * then the activation's backward step (with the per-channel bias sums of
 * the layers that keep them). */
static void to_preactivation(ae_model *m, size_t i, float *g, size_t batch,
                             int dy_is_preactivation, float l1_code,
                             const float *dcode)
{
    ae_layer *l = m->layers[i];
    const float *y = m->outputs[i];
    const size_t n = batch * ae__shape_size(l->out);
    if (l1_code > 0.0f && i + 1 == m->n_encoder)
        add_l1_gradient(g, y, n, l1_code);
    if (dcode != NULL && i + 1 == m->n_encoder)
        for (size_t k = 0; k < n; k++)
            g[k] += dcode[k];
    const ae_activation act =
        i + 1 == m->n_layers && dy_is_preactivation ? AE_ACT_NONE : l->act;
    if (l->ops->sums_channel_bias)
        ae__activation_backward_channels(
            act, l->act_param, y, g, l->out.c,
            (size_t)l->out.h * (size_t)l->out.w, batch, l->grad_bias);
    else
        ae__activation_backward(act, l->act_param, y, g, n);
}

ae_status ae__model_backward(ae_model *m, const float *input, size_t batch,
                             const float *dy, int dy_is_preactivation,
                             float l1_code, const float *dcode)
{
    size_t last = m->n_layers - 1;
    float *g = m->grad_a, *other = m->grad_b;
    m->grads_zero = 0;
    memcpy(g, dy, batch * ae__shape_size(m->layers[last]->out) * sizeof(float));
    for (size_t i = last + 1; i-- > 0;) {
        ae_layer *l = m->layers[i];
        to_preactivation(m, i, g, batch, dy_is_preactivation, l1_code, dcode);
        const float *x = i > 0 ? m->outputs[i - 1] : input;
        l->ops->backward(l, x, g, i > 0 ? other : NULL, batch, m->scratch);
        float *t = g;
        g = other;
        other = t;
    }
    return AE_OK;
}

/* ---- the trainer's fused step ------------------------------------------
 * The backward pass in two halves, so that a trainer can update each
 * layer's parameters as soon as their gradients are written, while they
 * are in cache, instead of in a pass of its own over the whole model: the
 * input gradients of every layer first (ae__model_backward_inputs), which
 * need the weights as they were; then a bound that tells, from those
 * alone, that every parameter gradient will be finite
 * (ae__model_gradient_bounded), since a step with a NaN gradient must
 * leave the weights as they were; then the parameter gradients, each
 * range updated once written (ae__model_backward_params).  It spares
 * the finite check's pass and Adam's read of a gradient gone cold: about
 * 3% of the experiment-1 model's epoch, paired median of alternating runs
 * on a noisy machine (docs/PERFORMANCE.md, 2026-12-07 21:37). */

int ae__model_splits_backward(const ae_model *m)
{
    for (size_t i = 0; i < m->n_layers; i++) {
        const ae_layer *l = m->layers[i];
        if (l->n_weights + l->n_bias > 0 &&
            (l->ops->backward_input == NULL ||
             l->ops->param_blocks == NULL ||
             l->ops->backward_params_block == NULL ||
             l->ops->sums_channel_bias))
            return 0;
    }
    return m->n_params > 0;
}

/* Layer i's gradient in m->layer_dy, for batch images. */
static float *layer_dy(const ae_model *m, size_t i, size_t batch)
{
    size_t off = 0;
    for (size_t k = 0; k < i; k++)
        off += ae__shape_size(m->layers[k]->out);
    return m->layer_dy + off * batch;
}

ae_status ae__model_backward_inputs(ae_model *m, size_t batch,
                                    const float *dy, int dy_is_preactivation,
                                    float l1_code)
{
    if (m->layer_dy == NULL) {
        size_t floats = 0;
        for (size_t i = 0; i < m->n_layers; i++)
            floats += ae__shape_size(m->layers[i]->out);
        /* ws_batch >= batch since the forward pass, and floats *
         * ws_batch is what outputs[] already holds, so no overflow; not
         * zeroed, since every layer's part is written before it is read */
        m->layer_dy = ae__alloc(floats * m->ws_batch * sizeof(float));
        if (m->layer_dy == NULL)
            return ae__fail(AE_ERR_NO_MEMORY, "cannot allocate the "
                            "gradients of a batch of %zu images",
                            m->ws_batch);
    }
    const size_t last = m->n_layers - 1;
    m->grads_zero = 0;
    memcpy(layer_dy(m, last, batch), dy,
           batch * ae__shape_size(m->layers[last]->out) * sizeof(float));
    for (size_t i = last + 1; i-- > 0;) {
        ae_layer *l = m->layers[i];
        float *g = layer_dy(m, i, batch);
        to_preactivation(m, i, g, batch, dy_is_preactivation, l1_code, NULL);
        if (i == 0)
            break;
        const float *x = m->outputs[i - 1];
        float *dx = layer_dy(m, i - 1, batch);
        if (l->n_weights + l->n_bias > 0)
            l->ops->backward_input(l, x, g, dx, batch, m->scratch);
        else
            l->ops->backward(l, x, g, dx, batch, m->scratch);
    }
    return AE_OK;
}

/* 1 if layer i's parameter gradient is sure to be finite. */
static int layer_bounded(const ae_model *m, size_t i, const float *input,
                         size_t batch)
{
    const ae_layer *l = m->layers[i];
    if (l->n_weights + l->n_bias == 0)
        return 1;
    const float *x = i > 0 ? m->outputs[i - 1] : input;
    const double dy_most = ae__max_magnitude(layer_dy(m, i, batch),
                                             batch * ae__shape_size(l->out));
    const double x_most = ae__max_magnitude(x, batch * ae__shape_size(l->in));
    /* A sum of batch terms each at most dy_most * x_most (or dy_most) in
     * magnitude, and its partial sums, stay below twice batch times that
     * in float, rounding included, while (1 + 2^-24)^batch < 2: batches
     * up to 2^22 are well inside. */
    const double terms = 2.0 * (double)batch;
    return terms * dy_most * x_most < FLT_MAX && terms * dy_most < FLT_MAX;
}

/* The layers shared among the threads, each part's verdict in a slot of
 * its own (at most BOUND_PARTS parts).  The scans read every layer's
 * input and output gradient: on one thread, with the other waiting, 2%
 * of the deep autoencoder's epoch (a Zen 4, 2 threads, timed in the same
 * runs); shared, 1.1-1.4%.  The verdict is the same for any split. */
enum { BOUND_PARTS = 8 };

typedef struct bound_pass {
    const ae_model *m;
    const float *input;
    size_t batch;
    int unbounded[BOUND_PARTS]; /* 1 where a part found a layer unbounded */
} bound_pass;

static void bound_layers(void *ctx, size_t first, size_t last, int part)
{
    bound_pass *p = ctx;
    int all = 1;
    for (size_t i = first; i < last && all; i++)
        all = layer_bounded(p->m, i, p->input, p->batch);
    p->unbounded[part] = !all;
}

/* Values scanned below which one thread scans them all (finite.c's grain
 * for its checks). */
#define BOUND_GRAIN_FLOATS 32768.0

int ae__model_gradient_bounded(const ae_model *m, const float *input,
                               size_t batch)
{
    if (batch > ((size_t)1 << 22))
        return 0;
    double floats = 0.0;
    for (size_t i = 0; i < m->n_layers; i++)
        floats += (double)batch * (double)(ae__shape_size(m->layers[i]->in) +
                                           ae__shape_size(m->layers[i]->out));
    bound_pass p = {m, input, batch, {0}};
    ae__parallel_for(m->n_layers, 1,
                     floats < 2.0 * BOUND_GRAIN_FLOATS ? 1 : BOUND_PARTS,
                     bound_layers, &p);
    for (int k = 0; k < BOUND_PARTS; k++)
        if (p.unbounded[k])
            return 0;
    return 1;
}

/* The parameter gradients' blocks of every layer, the last layer's
 * first, shared among the threads in one parallel pass rather than a pass
 * a layer: lanes of about equal work, lane k taking the blocks whose
 * middle falls in the k-th of `lanes` equal shares of the whole.  A
 * block's work is its share of its layer's parameters (a dense layer's
 * gradient is 2 batch flops a parameter, and its update a fixed cost a
 * parameter).  Which lane takes a block does not change its bits. */
typedef struct params_pass {
    ae_model *m;
    const float *input;
    size_t batch, lanes;
    double total; /* parameters of the layers that have blocks: all of
                     them, as ae__model_splits_backward requires */
    const ae__param_update *update;
} params_pass;

static void params_lanes(void *ctx, size_t first, size_t last, int part)
{
    (void)part;
    const params_pass *p = ctx;
    ae_model *m = p->m;
    double before = 0.0;
    for (size_t i = m->n_layers; i-- > 0;) {
        ae_layer *l = m->layers[i];
        const double params = (double)(l->n_weights + l->n_bias);
        if (params == 0.0)
            continue;
        const size_t blocks = l->ops->param_blocks(l);
        const float *x = i > 0 ? m->outputs[i - 1] : p->input;
        const float *dy = layer_dy(m, i, p->batch);
        for (size_t b = 0; b < blocks; b++) {
            const double middle =
                before + params * ((double)b + 0.5) / (double)blocks;
            size_t lane = (size_t)(middle / p->total * (double)p->lanes);
            if (lane >= p->lanes) /* middle < total: only for safety */
                lane = p->lanes - 1;
            if (lane >= first && lane < last)
                l->ops->backward_params_block(l, x, dy, p->batch, b,
                                              p->update);
        }
        before += params;
    }
}

/* Work per thread below which one thread makes every block: a thread's
 * wake-up costs about as much (dense.c's grain); the gradient is 2 batch
 * flops a parameter. */
#define PARAMS_GRAIN_FLOPS 1e6

void ae__model_backward_params(ae_model *m, const float *input, size_t batch,
                               const ae__param_update *update)
{
    params_pass p = {m, input, batch, (size_t)ae__thread_count(),
                     (double)m->n_params, update};
    if (2.0 * (double)batch * p.total < 2.0 * PARAMS_GRAIN_FLOPS ||
        p.lanes < 1)
        p.lanes = 1;
    ae__parallel_for_blas(p.lanes, 1, 0, params_lanes, &p);
    if (update != NULL)
        ae__model_params_changed(m);
}

const float *ae__model_code(const ae_model *m)
{
    return m->outputs[m->n_encoder - 1];
}

/* ---- public forward calls ---------------------------------------------- */

static ae_status check_args(const ae_model *m, const void *in, size_t batch,
                            const void *out)
{
    AE_REQUIRE(m);
    AE_REQUIRE(in);
    AE_REQUIRE(out);
    if (batch == 0)
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "batch size is 0");
    return AE_OK;
}

/* Encoding, decoding and reconstructing need a complete autoencoder. */
static ae_status check_call(const ae_model *m, const void *in, size_t batch,
                            const void *out)
{
    ae_status s = check_args(m, in, batch, out);
    return s != AE_OK ? s : ae_model_validate(m);
}

static ae_status check_finite(const float *x, size_t batch, size_t per_image,
                              const char *what)
{
    size_t n;
    if (!ae__mul_size(batch, per_image, &n))
        return ae__fail(AE_ERR_LIMIT, "batch of %zu is too large", batch);
    if (!ae__all_finite(x, n))
        return ae__fail(AE_ERR_NOT_FINITE, "%s holds NaN or infinity", what);
    return AE_OK;
}

/* ---- forward-only passes in bounded memory ------------------------------ */

/* Buffers of one forward-only call that the training workspace cannot
 * serve: two outputs in turn and the layers' scratch, for passes of
 * `chunk` images, freed when the call ends. */
typedef struct pass_buffers {
    float *out[2];
    float *scratch;
    size_t chunk;
} pass_buffers;

static void pass_buffers_free(pass_buffers *b)
{
    ae__free(b->out[0]);
    ae__free(b->out[1]);
    ae__free(b->scratch);
    b->out[0] = b->out[1] = b->scratch = NULL;
}

static ae_status pass_buffers_alloc(ae_model *m, size_t first, size_t last,
                                    size_t chunk, pass_buffers *b)
{
    size_t widest = 0, scratch = 0, n;
    for (size_t i = first; i <= last; i++) {
        ae_layer *l = m->layers[i];
        size_t w = ae__shape_size(l->out);
        widest = w > widest ? w : widest;
        size_t s = l->ops->forward_scratch ? l->ops->forward_scratch(l, chunk)
                   : l->ops->scratch      ? l->ops->scratch(l, chunk)
                                          : 0;
        scratch = s > scratch ? s : scratch;
    }
    b->chunk = chunk;
    size_t out_bytes, scratch_bytes;
    if (!ae__mul_size(widest, chunk, &n) ||
        !ae__mul_size(n, sizeof(float), &out_bytes) ||
        !ae__mul_size(scratch + 1, sizeof(float), &scratch_bytes))
        return ae__fail(AE_ERR_LIMIT, "passes of %zu images are too large",
                        chunk);
    /* Not zeroed: every layer writes its whole output, and reads no
     * scratch it has not written (the training workspace's scratch is
     * shared by all layers and passes, so none could rely on zeros).
     * Zeroing them was a tenth of a one-image pass. */
    b->out[0] = ae__alloc(out_bytes);
    b->out[1] = last > first ? ae__alloc(out_bytes) : NULL;
    b->scratch = ae__alloc(scratch_bytes);
    if (b->out[0] == NULL || (last > first && b->out[1] == NULL) ||
        b->scratch == NULL) {
        pass_buffers_free(b);
        return ae__fail(AE_ERR_NO_MEMORY, "cannot allocate buffers for "
                        "passes of %zu images", chunk);
    }
    return AE_OK;
}

/* Images per pass of layers [first, last] (see INFER_CHUNK). */
static size_t infer_pass_images(const ae_model *m, size_t first, size_t last)
{
    size_t widest = 1;
    for (size_t i = first; i <= last; i++) {
        size_t w = ae__shape_size(m->layers[i]->out);
        widest = w > widest ? w : widest;
    }
    const size_t per_image = 2 * widest * sizeof(float);
    size_t n = INFER_CHUNK;
    while (n > 1 && n * per_image > INFER_PASS_BYTES)
        n /= 2;
    return n;
}

/* Layers [first, last] on n images through b's buffers; returns the last
 * layer's output (in b). */
static const float *forward_through(ae_model *m, size_t first, size_t last,
                                    const float *x, size_t n,
                                    pass_buffers *b)
{
    m->training_pass = 0;
    for (size_t i = first; i <= last; i++) {
        ae_layer *l = m->layers[i];
        float *y = b->out[(i - first) & 1];
        l->ops->forward(l, x, y, n, b->scratch);
        if (!l->ops->fuses_activation)
            ae__activation_forward(l->act, l->act_param, y,
                                   n * ae__shape_size(l->out));
        x = y;
    }
    return x;
}

/* A layer that reads another's per-image state (an unpooling layer, its
 * pooling partner's positions) needs that state for every image of the
 * call whenever the other layer runs in it, whether or not the reader
 * does: a decode call reads what the latest encode call recorded. */
static ae_status reserve_partners(ae_model *m, size_t first, size_t last,
                                  size_t batch)
{
    for (size_t i = first + 1; i < m->n_layers; i++) {
        ae_layer *l = m->layers[i];
        if (l->ops->partner == NULL)
            continue;
        size_t p = l->ops->partner(l);
        ae_layer *pl = m->layers[p];
        if (p >= first && p <= last && pl->ops->reserve) {
            ae_status s = pl->ops->reserve(pl, batch);
            if (s != AE_OK)
                return s;
        }
    }
    return AE_OK;
}

/* Layers [first, last] on batch images of in, the last layer's output
 * copied to out (which may alias in when both have one image's size per
 * image: each pass reads its images before it writes them), in passes of
 * infer_pass_images images: through the training workspace when it holds
 * them, else through buffers that live for this call only. */
static ae_status forward_only(ae_model *m, size_t first, size_t last,
                              const float *in, size_t batch, float *out)
{
    const size_t in_size = first == 0
                               ? ae__shape_size(m->input)
                               : ae__shape_size(m->layers[first - 1]->out);
    const size_t out_size = ae__shape_size(m->layers[last]->out);
    const int warm = ae__thread_count() == m->ws_threads;
    const size_t pass = infer_pass_images(m, first, last);
    const size_t chunk = batch < pass ? batch : pass;
    int own_buffers = !(warm && chunk <= m->ws_batch);
    pass_buffers b = {{NULL, NULL}, NULL, 0};
    ae_status s = reserve_partners(m, first, last, batch);
    if (s == AE_OK && own_buffers)
        s = pass_buffers_alloc(m, first, last, chunk, &b);
    m->forward_only_pass = 1;
    for (size_t b0 = 0; s == AE_OK && b0 < batch; b0 += chunk) {
        size_t n = batch - b0 < chunk ? batch - b0 : chunk;
        const float *y = NULL;
        m->pass_first = b0;
        if (own_buffers)
            y = forward_through(m, first, last, in + b0 * in_size, n, &b);
        else
            s = ae__model_forward(m, first, last, in + b0 * in_size, n, 0,
                                  &y);
        if (s == AE_OK)
            memmove(out + b0 * out_size, y, n * out_size * sizeof(float));
    }
    m->forward_only_pass = 0;
    m->pass_first = 0;
    m->train_batch = 0; /* pooling positions, if not the outputs, moved */
    pass_buffers_free(&b);
    return s;
}

/* Check the input, then forward_only. */
static ae_status run_and_copy(ae_model *m, size_t first, size_t last,
                              const float *in, size_t batch, float *out,
                              const char *what)
{
    size_t in_size = first == 0 ? ae__shape_size(m->input)
                                : ae__shape_size(m->layers[first - 1]->out);
    ae_status s = check_finite(in, batch, in_size, what);
    return s != AE_OK ? s : forward_only(m, first, last, in, batch, out);
}

ae_status ae_model_encode(ae_model *m, const float *input, size_t batch,
                          float *code)
{
    ae_status s = check_call(m, input, batch, code);
    return s != AE_OK ? s
                      : run_and_copy(m, 0, m->n_encoder - 1, input, batch,
                                     code, "input");
}

ae_status ae_model_decode(ae_model *m, const float *code, size_t batch,
                          float *output)
{
    ae_status s = check_call(m, code, batch, output);
    return s != AE_OK ? s
                      : run_and_copy(m, m->n_encoder, m->n_layers - 1, code,
                                     batch, output, "code");
}

ae_status ae_model_reconstruct(ae_model *m, const float *input, size_t batch,
                               float *output)
{
    ae_status s = check_call(m, input, batch, output);
    return s != AE_OK ? s
                      : run_and_copy(m, 0, m->n_layers - 1, input, batch,
                                     output, "input");
}

ae_status ae_model_activations(ae_model *m, size_t index, const float *input,
                               size_t batch, float *out)
{
    ae_status s = check_args(m, input, batch, out);
    if (s != AE_OK)
        return s;
    if (index >= m->n_layers)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_model_activations: layer %zu, but the model has "
                        "%zu", index, m->n_layers);
    return run_and_copy(m, 0, index, input, batch, out, "input");
}

ae_status ae_model_mean_activation(ae_model *m, size_t index,
                                   const ae_dataset *ds, float *per_unit,
                                   double *overall)
{
    AE_REQUIRE(m);
    AE_REQUIRE(ds);
    ae_status s = AE_OK;
    if (index >= m->n_layers)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_model_mean_activation: layer %zu, but the model "
                        "has %zu", index, m->n_layers);
    size_t in_size = ae__shape_size(m->input);
    if (ae_dataset_image_size(ds) != in_size)
        return ae__fail(AE_ERR_SHAPE,
                        "dataset images have %zu values, the model takes %zu",
                        ae_dataset_image_size(ds), in_size);
    size_t count = ae_dataset_count(ds);
    if (count == 0)
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "dataset is empty");

    enum { CHUNK = INFER_CHUNK };
    size_t units = ae__shape_size(m->layers[index]->out);
    float *images = ae__calloc((size_t)CHUNK * in_size, sizeof(float));
    float *y = ae__calloc((size_t)CHUNK * units, sizeof(float));
    double *sums = ae__calloc(units, sizeof(double));
    if (images == NULL || y == NULL || sums == NULL) {
        ae__free(images);
        ae__free(y);
        ae__free(sums);
        return ae__fail(AE_ERR_NO_MEMORY, "cannot allocate activation sums");
    }
    for (size_t first = 0; s == AE_OK && first < count; first += CHUNK) {
        size_t n = count - first < CHUNK ? count - first : CHUNK;
        s = ae_dataset_batch(ds, first, n, images, NULL);
        if (s == AE_OK)
            s = forward_only(m, 0, index, images, n, y);
        for (size_t b = 0; s == AE_OK && b < n; b++)
            for (size_t u = 0; u < units; u++)
                sums[u] += y[b * units + u];
    }
    if (s == AE_OK) {
        double total = 0.0;
        for (size_t u = 0; u < units; u++) {
            total += sums[u];
            if (per_unit)
                per_unit[u] = (float)(sums[u] / (double)count);
        }
        if (overall)
            *overall = total / ((double)count * (double)units);
    }
    ae__free(images);
    ae__free(y);
    ae__free(sums);
    return s;
}

/* ---- training step by step (the low-level API) --------------------------- */

ae_status ae_model_forward_train(ae_model *m, const float *input,
                                 size_t batch, const float **output,
                                 const float **code)
{
    AE_REQUIRE(output);
    *output = NULL;
    if (code != NULL)
        *code = NULL;
    ae_status s = check_call(m, input, batch, output);
    size_t in_size = ae_model_input_size(m), n = 0;
    if (s == AE_OK)
        s = check_finite(input, batch, in_size, "input");
    if (s == AE_OK && !ae__mul_size(batch, in_size, &n))
        s = ae__fail(AE_ERR_LIMIT, "batch of %zu is too large", batch);
    if (s == AE_OK && m->training_mode)
        s = ae__model_check_training_batch(m, batch);
    if (s != AE_OK)
        return s;
    /* The input is copied: backward needs it, and the caller's array may
     * change before then. */
    if (batch > m->train_input_cap) {
        float *copy = ae__calloc(n, sizeof(float));
        if (copy == NULL)
            return ae__fail(AE_ERR_NO_MEMORY, "ae_model_forward_train: "
                            "cannot allocate a copy of %zu images", batch);
        ae__free(m->train_input);
        m->train_input = copy;
        m->train_input_cap = batch;
    }
    memcpy(m->train_input, input, n * sizeof(float));
    const float *y = NULL;
    s = ae__model_forward(m, 0, m->n_layers - 1, m->train_input, batch, 1,
                          &y);
    if (s != AE_OK)
        return s;
    m->train_batch = batch;
    /* As in PyTorch, a training forward pass updates the running
     * statistics (and moves dropout's generator on) at once: nothing here
     * can fail after it. */
    ae__model_commit(m);
    *output = y;
    if (code != NULL)
        *code = m->outputs[m->n_encoder - 1];
    return AE_OK;
}

ae_status ae_model_backward(ae_model *m, const float *grad_output,
                            const float *grad_code, unsigned flags)
{
    AE_REQUIRE(m);
    AE_REQUIRE(grad_output);
    if ((flags & ~(unsigned)AE_GRAD_PREACTIVATION) != 0)
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "ae_model_backward: "
                        "unknown flags 0x%x", flags & ~(unsigned)
                        AE_GRAD_PREACTIVATION);
    const size_t batch = m->train_batch;
    if (batch == 0)
        return ae__fail(AE_ERR_BAD_STATE, "ae_model_backward: no training "
                        "forward pass to go back through (call "
                        "ae_model_forward_train first; an encode, decode, "
                        "reconstruct, trainer call or new layer since then "
                        "replaced its buffers)");
    ae_status s = check_finite(grad_output, batch, ae_model_input_size(m),
                               "the output gradient");
    if (s == AE_OK && grad_code != NULL)
        s = check_finite(grad_code, batch, ae_model_code_size(m),
                         "the code gradient");
    if (s != AE_OK)
        return s;
    const int accumulate = !m->grads_zero;
    if (accumulate && m->grad_saved == NULL && m->n_params > 0) {
        m->grad_saved = ae__calloc(m->cap_params, sizeof(float));
        if (m->grad_saved == NULL)
            return ae__fail(AE_ERR_NO_MEMORY, "ae_model_backward: cannot "
                            "allocate room to accumulate %zu gradients",
                            m->n_params);
    }
    if (accumulate && m->n_params > 0)
        memcpy(m->grad_saved, m->grads, m->n_params * sizeof(float));
    s = ae__model_backward(m, m->train_input, batch, grad_output,
                           (flags & AE_GRAD_PREACTIVATION) != 0, 0.0f,
                           grad_code);
    if (s == AE_OK && accumulate)
        for (size_t i = 0; i < m->n_params; i++)
            m->grads[i] += m->grad_saved[i];
    return s;
}

ae_status ae_model_zero_gradients(ae_model *m)
{
    AE_REQUIRE(m);
    if (m->n_params > 0)
        memset(m->grads, 0, m->n_params * sizeof(float));
    m->grads_zero = 1;
    return AE_OK;
}

ae_status ae_model_get_gradients(const ae_model *m, float *grads, size_t n)
{
    AE_REQUIRE(m);
    AE_REQUIRE(grads);
    if (n != m->n_params)
        return ae__fail(AE_ERR_SHAPE, "ae_model_get_gradients: the model has "
                        "%zu parameters, not %zu", m->n_params, n);
    if (n > 0)
        memcpy(grads, m->grads, n * sizeof(float));
    return AE_OK;
}

ae_status ae_model_clip_gradients(ae_model *m, double max_norm,
                                  double *norm)
{
    AE_REQUIRE(m);
    if (!(isfinite(max_norm) && max_norm > 0.0))
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "ae_model_clip_gradients: "
                        "max_norm %g must be positive and finite", max_norm);
    double sum = 0.0;
    for (size_t i = 0; i < m->n_params; i++)
        sum += (double)m->grads[i] * m->grads[i];
    double total = sqrt(sum);
    if (!isfinite(total))
        return ae__fail(AE_ERR_NOT_FINITE, "ae_model_clip_gradients: the "
                        "gradient's norm is %g", total);
    /* torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6)
     * when that is below 1. */
    double coef = max_norm / (total + 1e-6);
    if (coef < 1.0) {
        float c = (float)coef;
        for (size_t i = 0; i < m->n_params; i++)
            m->grads[i] *= c;
    }
    if (norm != NULL)
        *norm = total;
    return AE_OK;
}

/* ---- training mode and the layers' state (batch norm, dropout) ---------- */

ae_status ae_model_set_training(ae_model *m, int training)
{
    AE_REQUIRE(m);
    if (training != 0 && training != 1)
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "ae_model_set_training: "
                        "%d is neither 1 (training) nor 0 (evaluation)",
                        training);
    m->training_mode = training;
    return AE_OK;
}

int ae_model_training(const ae_model *m)
{
    return m ? m->training_mode : 0;
}

size_t ae__model_state_size(const ae_model *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_layers; i++)
        if (m->layers[i]->ops->state_size)
            n += m->layers[i]->ops->state_size(m->layers[i]);
    return n;
}

void ae__model_state_save(const ae_model *m, uint8_t *p)
{
    for (size_t i = 0; i < m->n_layers; i++) {
        const ae_layer *l = m->layers[i];
        if (l->ops->state_size) {
            l->ops->state_save(l, p);
            p += l->ops->state_size(l);
        }
    }
}

ae_status ae__model_state_load(ae_model *m, const uint8_t *p, int commit)
{
    /* Every layer checked before any is changed. */
    for (int pass = 0; pass < (commit ? 2 : 1); pass++) {
        const uint8_t *q = p;
        for (size_t i = 0; i < m->n_layers; i++) {
            ae_layer *l = m->layers[i];
            if (l->ops->state_size == NULL)
                continue;
            ae_status s = l->ops->state_load(l, q, pass);
            if (s != AE_OK)
                return s;
            q += l->ops->state_size(l);
        }
    }
    return AE_OK;
}

void ae__model_commit(ae_model *m)
{
    for (size_t i = 0; i < m->n_layers; i++)
        if (m->layers[i]->ops->commit)
            m->layers[i]->ops->commit(m->layers[i]);
}

ae_status ae__model_check_training_batch(const ae_model *m, size_t batch)
{
    for (size_t i = 0; i < m->n_layers; i++) {
        const ae_layer *l = m->layers[i];
        if (l->ops->check_batch) {
            ae_status s = l->ops->check_batch(l, batch);
            if (s != AE_OK)
                return s;
        }
    }
    return AE_OK;
}

ae_status ae__model_average_running(ae_model *m, float share,
                                    ae_reduce_fn fn, void *user)
{
    for (size_t i = 0; i < m->n_layers; i++) {
        ae_layer *l = m->layers[i];
        if (l->ops->running == NULL)
            continue;
        size_t n = 0;
        float *r = l->ops->running(l, &n);
        for (size_t k = 0; k < n; k++)
            r[k] *= share;
        ae_status s = fn(r, n, user);
        if (s != AE_OK)
            return s;
    }
    return AE_OK;
}

void ae__model_set_image_offset(ae_model *m, size_t first)
{
    m->image_offset = first;
}

size_t ae__model_image_offset(const ae_model *m)
{
    return m->image_offset;
}

/* ---- variational autoencoders -------------------------------------------- */

size_t ae__model_sampling_layer(const ae_model *m)
{
    /* Only the encoder's last layer can be one (ae__model_append). */
    if (m->n_encoder > 0 && m->layers[m->n_encoder - 1]->ops->at_code)
        return m->n_encoder - 1;
    return SIZE_MAX;
}

void ae__model_sampling_begin(ae_model *m, ae__rng *rng, float kl_weight)
{
    m->pass_rng = rng;
    m->pass_kl_weight = kl_weight;
    m->sampling_pass = 1;
}

void ae__model_sampling_end(ae_model *m)
{
    m->pass_rng = NULL;
    m->pass_kl_weight = 0.0f;
    m->sampling_pass = 0;
}

float ae__model_kl_weight(const ae_model *m)
{
    return m->sampling_pass ? m->pass_kl_weight : m->kl_weight;
}

double ae__model_kl(const ae_model *m, const float *input, size_t batch)
{
    size_t s = ae__model_sampling_layer(m);
    if (s == SIZE_MAX)
        return 0.0;
    const float *stats = s == 0 ? input : m->outputs[s - 1];
    return ae__kl_divergence(stats, batch,
                             ae__shape_size(m->layers[s]->out));
}

ae_status ae_model_set_sample_seed(ae_model *m, uint64_t seed)
{
    AE_REQUIRE(m);
    ae__rng_seed(&m->sample_rng, seed, SAMPLE_STREAM);
    return AE_OK;
}

ae_status ae_model_set_kl_weight(ae_model *m, double weight)
{
    AE_REQUIRE(m);
    if (!(isfinite(weight) && weight >= 0.0 && weight <= FLT_MAX))
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "ae_model_set_kl_weight: "
                        "weight %g must be >= 0 and finite", weight);
    m->kl_weight = (float)weight;
    return AE_OK;
}

ae_status ae_model_kl_divergence(const ae_model *m, double *kl)
{
    AE_REQUIRE(m);
    AE_REQUIRE(kl);
    if (ae__model_sampling_layer(m) == SIZE_MAX)
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "ae_model_kl_divergence: "
                        "the model has no Gaussian sampling layer "
                        "(ae_model_add_gaussian_sample)");
    if (m->train_batch == 0)
        return ae__fail(AE_ERR_BAD_STATE, "ae_model_kl_divergence: no "
                        "training forward pass to read (call "
                        "ae_model_forward_train first; a forward-only or "
                        "trainer call since then replaced its buffers)");
    *kl = ae__model_kl(m, m->train_input, m->train_batch);
    return AE_OK;
}

ae_status ae_model_generate(ae_model *m, uint64_t seed, size_t n, float *out)
{
    AE_REQUIRE(m);
    AE_REQUIRE(out);
    if (n == 0)
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "ae_model_generate: n is 0, "
                        "need at least one image");
    ae_status s = check_call(m, out, n, out);
    if (s != AE_OK)
        return s;
    const size_t k = ae_model_code_size(m);
    size_t count;
    if (!ae__mul_size(n, k, &count))
        return ae__fail(AE_ERR_LIMIT, "ae_model_generate: %zu codes of %zu "
                        "values are too many", n, k);
    float *codes = ae__calloc(count, sizeof(float));
    if (codes == NULL)
        return ae__fail(AE_ERR_NO_MEMORY, "ae_model_generate: cannot "
                        "allocate %zu codes", n);
    ae__rng rng;
    ae__rng_seed(&rng, seed, GENERATE_STREAM);
    for (size_t i = 0; i < count; i++)
        codes[i] = (float)ae__rng_normal(&rng);
    s = ae_model_decode(m, codes, n, out);
    ae__free(codes);
    return s;
}

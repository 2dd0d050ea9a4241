/* onnx_export.c - a model, its encoder or its decoder as an ONNX file
 * (ae_model_export_onnx; docs/FORMAT.md, "ONNX export", lists what each
 * layer becomes).
 *
 * The graph is a chain: each layer becomes one operator (two when an
 * activation follows it, three when its input must change rank first),
 * reading the tensor the layer before it wrote.  Tensor names follow the
 * layer numbers ("layer3", "layer3_pre" before its activation,
 * "layer3_weight"), so a file reads against `autoenc info`.  Tensors are
 * NCHW as the library's images are; a dense layer's output is 2-D
 * [N, units], which a following image layer reshapes back to
 * [N, units, 1, 1].
 *
 * The file is a protobuf message (io/protobuf.h), emitted three times by
 * the same code: to count its nested messages, to measure them and to
 * write them. */
#include <stdio.h>
#include <string.h>

#include "common/atomic_file.h"
#include "io/protobuf.h"
#include "layers/layer_config.h"
#include "nn/layer.h"
#include "nn/model.h"

/* Every layer kind and activation must have its operators here: a kind
 * added to autoenc.h without a case below fails the build. */
#if defined(__GNUC__)
#pragma GCC diagnostic error "-Wswitch"
#endif

/* What the file declares: IR version 7 is the one of operator set 13. */
enum { ONNX_IR_VERSION = 7, ONNX_OPSET = 13 };

/* Protobuf limits a message to 2 GiB - 1; larger models need ONNX's
 * external data files. */
#define ONNX_MAX_BYTES ((size_t)INT32_MAX)

/* Field numbers of onnx.proto (the messages and fields used here). */
enum {
    MODEL_IR_VERSION = 1, MODEL_PRODUCER_NAME = 2, MODEL_PRODUCER_VERSION = 3,
    MODEL_DOC_STRING = 6, MODEL_GRAPH = 7, MODEL_OPSET_IMPORT = 8,
    OPSET_DOMAIN = 1, OPSET_VERSION = 2,
    GRAPH_NODE = 1, GRAPH_NAME = 2, GRAPH_INITIALIZER = 5, GRAPH_INPUT = 11,
    GRAPH_OUTPUT = 12,
    NODE_INPUT = 1, NODE_OUTPUT = 2, NODE_NAME = 3, NODE_OP_TYPE = 4,
    NODE_ATTRIBUTE = 5,
    ATTR_NAME = 1, ATTR_F = 2, ATTR_I = 3, ATTR_S = 4, ATTR_INTS = 8,
    ATTR_TYPE = 20,
    TENSOR_DIMS = 1, TENSOR_DATA_TYPE = 2, TENSOR_NAME = 8, TENSOR_RAW = 9,
    VALUE_NAME = 1, VALUE_TYPE = 2,
    TYPE_TENSOR = 1, TENSOR_TYPE_ELEM = 1, TENSOR_TYPE_SHAPE = 2,
    SHAPE_DIM = 1, DIM_VALUE = 1, DIM_PARAM = 2
};

/* AttributeProto.AttributeType and TensorProto.DataType values. */
enum { ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_STRING = 3, ATTR_INTS_TYPE = 7 };
enum { DATA_FLOAT = 1, DATA_INT64 = 7 };

/* The part being exported: layers first .. last of m. */
typedef struct graph {
    const ae_model *m;
    ae_onnx_part part;
    size_t first, last;
    ae__shape image; /* the model's input shape */
} graph;

/* A tensor or node name. */
typedef struct name {
    char s[48];
} name;

/* "layer<i><suffix>": what layer i writes or holds. */
static name layer_name(size_t i, const char *suffix)
{
    name n;
    snprintf(n.s, sizeof n.s, "layer%zu%s", i, suffix);
    return n;
}

/* "layer<i>_<what>": a node of layer i. */
static name node_name(size_t i, const char *what)
{
    name n;
    snprintf(n.s, sizeof n.s, "layer%zu_%s", i, what);
    return n;
}

static name fixed_name(const char *s)
{
    name n;
    snprintf(n.s, sizeof n.s, "%s", s);
    return n;
}

static const ae_layer *layer(const graph *g, size_t i)
{
    ae_layer *l = NULL;
    ae_model_layer(g->m, i, &l); /* i is a layer of the model: cannot fail */
    return l;
}

static const char *part_name(ae_onnx_part part)
{
    return part == AE_ONNX_ENCODER   ? "encoder"
           : part == AE_ONNX_DECODER ? "decoder"
                                     : "model";
}

/* ---- tensor names and ranks --------------------------------------------- */

/* Layers that keep their input's shape, rank included: batch norm
 * (BatchNormalization takes [N, C] as well as [N, C, H, W]) and dropout. */
static int keeps_rank(const ae_layer *l)
{
    return l->ops->kind == AE_LAYER_BATCHNORM ||
           l->ops->kind == AE_LAYER_DROPOUT;
}

/* The rank of layer i's output in the model: dense layers and the VAE's
 * sampling layer give 2-D tensors [N, units], the layers that keep their input's rank that of
 * their input (the image's, 4, before layer 0), the rest 4-D NCHW. */
static int rank_of(const graph *g, size_t i)
{
    for (;; i--) {
        const ae_layer *l = layer(g, i);
        if (l->ops->kind == AE_LAYER_DENSE ||
            l->ops->kind == AE_LAYER_GAUSSIAN_SAMPLE)
            return 2;
        if (!keeps_rank(l) || i == 0)
            return 4;
    }
}

/* The graph's input: the image, or for a decoder the code, shaped as the
 * encoder's last layer wrote it. */
static int input_rank(const graph *g)
{
    return g->part == AE_ONNX_DECODER ? rank_of(g, g->first - 1) : 4;
}

static ae__shape input_shape(const graph *g)
{
    return g->part == AE_ONNX_DECODER ? layer(g, g->first - 1)->out
                                      : g->image;
}

static name input_name(const graph *g)
{
    return fixed_name(g->part == AE_ONNX_DECODER ? "code" : "input");
}

/* A reconstruction is reshaped to the input's shape at the end unless the
 * last layer writes exactly that (a dense output layer writes [N, C*H*W]). */
static int needs_final_reshape(const graph *g)
{
    const ae_layer *l = layer(g, g->last);
    return g->part != AE_ONNX_ENCODER &&
           (rank_of(g, g->last) != 4 || l->out.c != g->image.c ||
            l->out.h != g->image.h || l->out.w != g->image.w);
}

/* Layer i's output (after its activation). */
static name output_name(const graph *g, size_t i)
{
    if (i == g->last && g->part == AE_ONNX_ENCODER)
        return fixed_name("code");
    if (i == g->last && !needs_final_reshape(g))
        return fixed_name("reconstruction");
    return layer_name(i, "");
}

/* What layer i's operator writes: its output, or the value its activation
 * node then reads. */
static name op_output_name(const graph *g, size_t i)
{
    return layer(g, i)->act != AE_ACT_NONE ? layer_name(i, "_pre")
                                           : output_name(g, i);
}

/* The tensor layer i reads, and its rank. */
static name input_of(const graph *g, size_t i)
{
    return i == g->first ? input_name(g) : output_name(g, i - 1);
}

static int input_rank_of(const graph *g, size_t i)
{
    return i == g->first ? input_rank(g) : rank_of(g, i - 1);
}

/* Image layers read NCHW: a 2-D input ([N, units] from a dense layer) is
 * reshaped to [N, units, 1, 1] first, into this tensor. */
static int needs_image_input(const graph *g, size_t i)
{
    const ae_layer *l = layer(g, i);
    return l->ops->kind != AE_LAYER_DENSE &&
           l->ops->kind != AE_LAYER_RESHAPE && !keeps_rank(l) &&
           input_rank_of(g, i) == 2;
}

static name image_input_of(const graph *g, size_t i)
{
    return needs_image_input(g, i) ? layer_name(i, "_input")
                                   : input_of(g, i);
}

/* 1 if an unpooling layer of the part reads max-pooling layer p's
 * positions, which p then writes as a second output. */
static int indices_wanted(const graph *g, size_t p)
{
    for (size_t j = p + 1; j <= g->last; j++) {
        const ae_layer *l = layer(g, j);
        if (l->ops->kind == AE_LAYER_MAXUNPOOL2D &&
            (size_t)l->cfg[AE__UNPOOL_PARTNER] == p)
            return 1;
    }
    return 0;
}

/* ---- protobuf pieces ----------------------------------------------------- */

static void attr_int(ae__pb_writer *w, const char *key, int64_t v)
{
    ae__pb_begin(w, NODE_ATTRIBUTE);
    ae__pb_string(w, ATTR_NAME, key);
    ae__pb_uint(w, ATTR_TYPE, ATTR_INT);
    ae__pb_int(w, ATTR_I, v);
    ae__pb_end(w);
}

static void attr_float(ae__pb_writer *w, const char *key, float v)
{
    ae__pb_begin(w, NODE_ATTRIBUTE);
    ae__pb_string(w, ATTR_NAME, key);
    ae__pb_uint(w, ATTR_TYPE, ATTR_FLOAT);
    ae__pb_float(w, ATTR_F, v);
    ae__pb_end(w);
}

static void attr_string(ae__pb_writer *w, const char *key, const char *v)
{
    ae__pb_begin(w, NODE_ATTRIBUTE);
    ae__pb_string(w, ATTR_NAME, key);
    ae__pb_uint(w, ATTR_TYPE, ATTR_STRING);
    ae__pb_string(w, ATTR_S, v);
    ae__pb_end(w);
}

/* Repeated int64 fields written one key a value, as proto2 declares them
 * (onnx.proto is proto2, and its repeated scalars are not packed). */
static void attr_ints(ae__pb_writer *w, const char *key, const int64_t *v,
                      size_t n)
{
    ae__pb_begin(w, NODE_ATTRIBUTE);
    ae__pb_string(w, ATTR_NAME, key);
    ae__pb_uint(w, ATTR_TYPE, ATTR_INTS_TYPE);
    for (size_t k = 0; k < n; k++)
        ae__pb_int(w, ATTR_INTS, v[k]);
    ae__pb_end(w);
}

/* The same value for both spatial axes. */
static void attr_pair(ae__pb_writer *w, const char *key, int v)
{
    const int64_t p[2] = {v, v};
    attr_ints(w, key, p, 2);
}

/* Padding on every side: ONNX's pads are begin, begin, end, end. */
static void attr_pads(ae__pb_writer *w, int pad)
{
    const int64_t p[4] = {pad, pad, pad, pad};
    attr_ints(w, "pads", p, 4);
}

/* A node's head: op_type, name, inputs (an empty name is an omitted
 * optional input) and outputs; its attributes follow before ae__pb_end. */
static void node_begin(ae__pb_writer *w, const char *op, const name *node,
                       const name *in, size_t n_in, const name *out,
                       size_t n_out)
{
    ae__pb_begin(w, GRAPH_NODE);
    for (size_t k = 0; k < n_in; k++)
        ae__pb_string(w, NODE_INPUT, in[k].s);
    for (size_t k = 0; k < n_out; k++)
        ae__pb_string(w, NODE_OUTPUT, out[k].s);
    ae__pb_string(w, NODE_NAME, node->s);
    ae__pb_string(w, NODE_OP_TYPE, op);
}

/* A node without attributes, one input and one output. */
static void simple_node(ae__pb_writer *w, const char *op, const name *node,
                        const name *in, const name *out)
{
    node_begin(w, op, node, in, 1, out, 1);
    ae__pb_end(w);
}

/* Reshape `in` to the constant shape tensor `shape` into `out`. */
static void reshape_node(ae__pb_writer *w, const name *node, const name *in,
                         const name *shape, const name *out)
{
    const name ins[2] = {*in, *shape};
    node_begin(w, "Reshape", node, ins, 2, out, 1);
    ae__pb_end(w);
}

static void tensor_f32(ae__pb_writer *w, const name *tn, const int64_t *dims,
                       size_t ndims, const float *data, size_t n)
{
    ae__pb_begin(w, GRAPH_INITIALIZER);
    for (size_t k = 0; k < ndims; k++)
        ae__pb_int(w, TENSOR_DIMS, dims[k]);
    ae__pb_uint(w, TENSOR_DATA_TYPE, DATA_FLOAT);
    ae__pb_string(w, TENSOR_NAME, tn->s);
    ae__pb_floats_le(w, TENSOR_RAW, data, n);
    ae__pb_end(w);
}

static void tensor_i64(ae__pb_writer *w, const name *tn, const int64_t *v,
                       size_t n)
{
    const int64_t dims[1] = {(int64_t)n};
    ae__pb_begin(w, GRAPH_INITIALIZER);
    ae__pb_int(w, TENSOR_DIMS, dims[0]);
    ae__pb_uint(w, TENSOR_DATA_TYPE, DATA_INT64);
    ae__pb_string(w, TENSOR_NAME, tn->s);
    ae__pb_int64s_le(w, TENSOR_RAW, v, n);
    ae__pb_end(w);
}

/* The shape tensor of a Reshape to [N, c, h, w]: 0 copies the batch
 * dimension from the input, whatever N is. */
static void shape_tensor(ae__pb_writer *w, const name *tn, ae__shape s)
{
    const int64_t v[4] = {0, s.c, s.h, s.w};
    tensor_i64(w, tn, v, 4);
}

/* A graph input or output: float, [N, size] (rank 2) or [N, c, h, w]. */
static void value_info(ae__pb_writer *w, uint32_t field, const name *vn,
                       ae__shape s, int rank)
{
    ae__pb_begin(w, field);
    ae__pb_string(w, VALUE_NAME, vn->s);
    ae__pb_begin(w, VALUE_TYPE);
    ae__pb_begin(w, TYPE_TENSOR);
    ae__pb_uint(w, TENSOR_TYPE_ELEM, DATA_FLOAT);
    ae__pb_begin(w, TENSOR_TYPE_SHAPE);
    ae__pb_begin(w, SHAPE_DIM);
    ae__pb_string(w, DIM_PARAM, "N");
    ae__pb_end(w);
    const int64_t dims[3] = {s.c, s.h, s.w};
    const int64_t flat = (int64_t)ae__shape_size(s);
    for (int k = 0; k < (rank == 2 ? 1 : 3); k++) {
        ae__pb_begin(w, SHAPE_DIM);
        ae__pb_int(w, DIM_VALUE, rank == 2 ? flat : dims[k]);
        ae__pb_end(w);
    }
    ae__pb_end(w);
    ae__pb_end(w);
    ae__pb_end(w);
    ae__pb_end(w);
}

/* ---- layers as nodes ----------------------------------------------------- */

static const char *activation_op(ae_activation act)
{
    switch (act) {
    case AE_ACT_NONE: return NULL;
    case AE_ACT_RELU: return "Relu";
    case AE_ACT_LEAKY_RELU: return "LeakyRelu";
    case AE_ACT_TANH: return "Tanh";
    case AE_ACT_SIGMOID: return "Sigmoid";
    }
    return NULL;
}

static void activation_node(ae__pb_writer *w, const graph *g, size_t i)
{
    const ae_layer *l = layer(g, i);
    const char *op = activation_op(l->act);
    if (op == NULL)
        return;
    const name node = node_name(i, op);
    const name in = op_output_name(g, i), out = output_name(g, i);
    node_begin(w, op, &node, &in, 1, &out, 1);
    if (l->act == AE_ACT_LEAKY_RELU)
        attr_float(w, "alpha", l->act_param);
    ae__pb_end(w);
}

/* The 2-D tensor layer i reads: its input, or when that is 4-D, a Flatten
 * of it ([N, C, H, W] -> [N, C*H*W]) written here. */
static name flat_input_of(ae__pb_writer *w, const graph *g, size_t i)
{
    const name x = input_of(g, i);
    if (input_rank_of(g, i) != 4)
        return x;
    const name node = node_name(i, "flatten");
    const name flat = layer_name(i, "_input");
    node_begin(w, "Flatten", &node, &x, 1, &flat, 1);
    attr_int(w, "axis", 1);
    ae__pb_end(w);
    return flat;
}

static void dense_nodes(ae__pb_writer *w, const graph *g, size_t i)
{
    const name x = flat_input_of(w, g, i);
    /* y = x W^T + b, W units x in as stored. */
    const name node = node_name(i, "dense");
    const name ins[3] = {x, layer_name(i, "_weight"),
                         layer_name(i, "_bias")};
    const name out = op_output_name(g, i);
    node_begin(w, "Gemm", &node, ins, 3, &out, 1);
    attr_int(w, "transB", 1);
    ae__pb_end(w);
}

static void conv_nodes(ae__pb_writer *w, const graph *g, size_t i,
                       int transposed)
{
    const ae_layer *l = layer(g, i);
    const name node = node_name(i, l->ops->name);
    const name ins[3] = {image_input_of(g, i),
                         layer_name(i, "_weight"),
                         layer_name(i, "_bias")};
    const name out = op_output_name(g, i);
    node_begin(w, transposed ? "ConvTranspose" : "Conv", &node, ins, 3, &out,
               1);
    if (transposed) {
        attr_pair(w, "kernel_shape", l->cfg[AE__CONVT_KERNEL]);
        attr_pair(w, "strides", l->cfg[AE__CONVT_STRIDE]);
        attr_pads(w, l->cfg[AE__CONVT_PAD]);
        attr_pair(w, "output_padding", l->cfg[AE__CONVT_OUT_PAD]);
    } else {
        attr_pair(w, "kernel_shape", l->cfg[AE__CONV_KERNEL]);
        attr_pair(w, "strides", l->cfg[AE__CONV_STRIDE]);
        attr_pads(w, ae__conv2d_padding(l));
    }
    ae__pb_end(w);
}

static void pool_nodes(ae__pb_writer *w, const graph *g, size_t i)
{
    const ae_layer *l = layer(g, i);
    const name node = node_name(i, "maxpool2d");
    const name in = image_input_of(g, i);
    /* Indices are flat over the whole tensor, (n C + c) H W + h W + w,
     * which MaxUnpool reads as they are. */
    const name outs[2] = {op_output_name(g, i),
                          layer_name(i, "_indices")};
    node_begin(w, "MaxPool", &node, &in, 1, outs, indices_wanted(g, i) ? 2 : 1);
    attr_pair(w, "kernel_shape", l->cfg[AE__POOL_KERNEL]);
    attr_pair(w, "strides", l->cfg[AE__POOL_STRIDE]);
    ae__pb_end(w);
}

static void unpool_nodes(ae__pb_writer *w, const graph *g, size_t i)
{
    const ae_layer *l = layer(g, i);
    const size_t p = (size_t)l->cfg[AE__UNPOOL_PARTNER];
    const ae_layer *pool = layer(g, p);
    /* The output is the partner's input size exactly, which MaxUnpool's
     * own rule ((in - 1) stride + kernel) misses when the pooling dropped
     * a row (7 -> 3 -> 6): so its shape, batch included, is given as the
     * third input, the shape of the tensor the partner pooled. */
    const name shape_node = node_name(i, "output_shape");
    const name pooled = image_input_of(g, p);
    const name shape = layer_name(i, "_output_shape");
    simple_node(w, "Shape", &shape_node, &pooled, &shape);
    const name node = node_name(i, "maxunpool2d");
    const name ins[3] = {image_input_of(g, i),
                         layer_name(p, "_indices"), shape};
    const name out = op_output_name(g, i);
    node_begin(w, "MaxUnpool", &node, ins, 3, &out, 1);
    attr_pair(w, "kernel_shape", pool->cfg[AE__POOL_KERNEL]);
    attr_pair(w, "strides", pool->cfg[AE__POOL_STRIDE]);
    ae__pb_end(w);
}

static void upsample_nodes(ae__pb_writer *w, const graph *g, size_t i)
{
    /* y[i][j] = x[floor(i / f)][floor(j / f)]: nearest, with output
     * coordinates mapped to input ones as i / f ("asymmetric") and rounded
     * down ("floor"). */
    const name node = node_name(i, "upsample2d");
    const name ins[3] = {image_input_of(g, i), fixed_name(""),
                         layer_name(i, "_scales")};
    const name out = op_output_name(g, i);
    node_begin(w, "Resize", &node, ins, 3, &out, 1);
    attr_string(w, "mode", "nearest");
    attr_string(w, "coordinate_transformation_mode", "asymmetric");
    attr_string(w, "nearest_mode", "floor");
    ae__pb_end(w);
}

/* Evaluation form: y = gamma (x - running mean) / sqrt(running var + eps)
 * + beta, what ae_model_reconstruct computes (it runs in evaluation). */
static void batchnorm_nodes(ae__pb_writer *w, const graph *g, size_t i)
{
    const ae_layer *l = layer(g, i);
    const name node = node_name(i, "batchnorm");
    const name ins[5] = {input_of(g, i), layer_name(i, "_weight"),
                         layer_name(i, "_bias"), layer_name(i, "_mean"),
                         layer_name(i, "_var")};
    const name out = op_output_name(g, i);
    node_begin(w, "BatchNormalization", &node, ins, 5, &out, 1);
    attr_float(w, "epsilon", ae__cfg_float(l, AE__BN_EPS));
    ae__pb_end(w);
}

/* Dropout is the identity in evaluation. */
static void dropout_nodes(ae__pb_writer *w, const graph *g, size_t i)
{
    const name node = node_name(i, "dropout");
    const name in = input_of(g, i), out = op_output_name(g, i);
    simple_node(w, "Identity", &node, &in, &out);
}

/* A VAE's code in evaluation: z = mu, the first k of the 2k values. */
static void gaussian_sample_nodes(ae__pb_writer *w, const graph *g, size_t i)
{
    const name x = flat_input_of(w, g, i);
    const name node = node_name(i, "means");
    const name ins[4] = {x, layer_name(i, "_starts"), layer_name(i, "_ends"),
                         layer_name(i, "_axes")};
    const name out = op_output_name(g, i);
    node_begin(w, "Slice", &node, ins, 4, &out, 1);
    ae__pb_end(w);
}

static void layer_nodes(ae__pb_writer *w, const graph *g, size_t i)
{
    const ae_layer *l = layer(g, i);
    if (needs_image_input(g, i)) {
        const name node = node_name(i, "to_image");
        const name in = input_of(g, i), out = image_input_of(g, i);
        const name shape = layer_name(i, "_input_shape");
        reshape_node(w, &node, &in, &shape, &out);
    }
    switch (l->ops->kind) {
    case AE_LAYER_DENSE: dense_nodes(w, g, i); break;
    case AE_LAYER_CONV2D: conv_nodes(w, g, i, 0); break;
    case AE_LAYER_CONV_TRANSPOSE2D: conv_nodes(w, g, i, 1); break;
    case AE_LAYER_MAXPOOL2D: pool_nodes(w, g, i); break;
    case AE_LAYER_MAXUNPOOL2D: unpool_nodes(w, g, i); break;
    case AE_LAYER_UPSAMPLE2D: upsample_nodes(w, g, i); break;
    case AE_LAYER_BATCHNORM: batchnorm_nodes(w, g, i); break;
    case AE_LAYER_DROPOUT: dropout_nodes(w, g, i); break;
    case AE_LAYER_GAUSSIAN_SAMPLE: gaussian_sample_nodes(w, g, i); break;
    case AE_LAYER_RESHAPE: {
        const name node = node_name(i, "reshape");
        const name in = input_of(g, i), out = op_output_name(g, i);
        const name shape = layer_name(i, "_shape");
        reshape_node(w, &node, &in, &shape, &out);
        break;
    }
    }
    activation_node(w, g, i);
}

/* The constants layer_nodes refers to: weights and biases, shapes, the
 * upsampling's scales. */
static void layer_tensors(ae__pb_writer *w, const graph *g, size_t i)
{
    const ae_layer *l = layer(g, i);
    if (needs_image_input(g, i)) {
        const name tn = layer_name(i, "_input_shape");
        shape_tensor(w, &tn, l->in);
    }
    const name wn = layer_name(i, "_weight");
    const name bn = layer_name(i, "_bias");
    const int64_t bias_dims[1] = {(int64_t)l->n_bias};
    switch (l->ops->kind) {
    case AE_LAYER_DENSE: {
        const int64_t dims[2] = {l->out.c, (int64_t)ae__shape_size(l->in)};
        tensor_f32(w, &wn, dims, 2, l->weights, l->n_weights);
        tensor_f32(w, &bn, bias_dims, 1, l->bias, l->n_bias);
        break;
    }
    case AE_LAYER_CONV2D: { /* out x in x k x k */
        const int k = l->cfg[AE__CONV_KERNEL];
        const int64_t dims[4] = {l->out.c, l->in.c, k, k};
        tensor_f32(w, &wn, dims, 4, l->weights, l->n_weights);
        tensor_f32(w, &bn, bias_dims, 1, l->bias, l->n_bias);
        break;
    }
    case AE_LAYER_CONV_TRANSPOSE2D: { /* in x out x k x k */
        const int k = l->cfg[AE__CONVT_KERNEL];
        const int64_t dims[4] = {l->in.c, l->out.c, k, k};
        tensor_f32(w, &wn, dims, 4, l->weights, l->n_weights);
        tensor_f32(w, &bn, bias_dims, 1, l->bias, l->n_bias);
        break;
    }
    case AE_LAYER_UPSAMPLE2D: {
        const float f = (float)l->cfg[AE__UP_FACTOR];
        const float scales[4] = {1.0f, 1.0f, f, f};
        const int64_t dims[1] = {4};
        const name tn = layer_name(i, "_scales");
        tensor_f32(w, &tn, dims, 1, scales, 4);
        break;
    }
    case AE_LAYER_RESHAPE: {
        const name tn = layer_name(i, "_shape");
        shape_tensor(w, &tn, l->out);
        break;
    }
    case AE_LAYER_BATCHNORM: { /* gamma, beta, running mean and variance */
        size_t n = 0; /* the running op only reads here: 2 C floats */
        const float *run = l->ops->running((ae_layer *)l, &n);
        const name mn = layer_name(i, "_mean"), vn = layer_name(i, "_var");
        tensor_f32(w, &wn, bias_dims, 1, l->weights, l->n_weights);
        tensor_f32(w, &bn, bias_dims, 1, l->bias, l->n_bias);
        tensor_f32(w, &mn, bias_dims, 1, run, n / 2);
        tensor_f32(w, &vn, bias_dims, 1, run + n / 2, n / 2);
        break;
    }
    case AE_LAYER_GAUSSIAN_SAMPLE: { /* values [0, k) of axis 1 */
        const int64_t starts[1] = {0};
        const int64_t ends[1] = {(int64_t)ae__shape_size(l->out)};
        const int64_t axes[1] = {1};
        const name sn = layer_name(i, "_starts"), en = layer_name(i, "_ends");
        const name an = layer_name(i, "_axes");
        tensor_i64(w, &sn, starts, 1);
        tensor_i64(w, &en, ends, 1);
        tensor_i64(w, &an, axes, 1);
        break;
    }
    case AE_LAYER_MAXPOOL2D:
    case AE_LAYER_MAXUNPOOL2D:
    case AE_LAYER_DROPOUT:
        break;
    }
}

/* ---- the model ------------------------------------------------------------ */

static void emit_graph(ae__pb_writer *w, const graph *g)
{
    char doc[160];
    ae__pb_uint(w, MODEL_IR_VERSION, ONNX_IR_VERSION);
    ae__pb_string(w, MODEL_PRODUCER_NAME, "libautoenc");
    ae__pb_string(w, MODEL_PRODUCER_VERSION, ae_version_string());
    snprintf(doc, sizeof doc,
             "the %s of an autoencoder of %d x %d x %d inputs, layers %zu to "
             "%zu", part_name(g->part), g->image.c, g->image.h, g->image.w,
             g->first, g->last);
    ae__pb_string(w, MODEL_DOC_STRING, doc);
    ae__pb_begin(w, MODEL_OPSET_IMPORT);
    ae__pb_string(w, OPSET_DOMAIN, "");
    ae__pb_int(w, OPSET_VERSION, ONNX_OPSET);
    ae__pb_end(w);

    ae__pb_begin(w, MODEL_GRAPH);
    snprintf(doc, sizeof doc, "autoenc_%s", part_name(g->part));
    ae__pb_string(w, GRAPH_NAME, doc);
    for (size_t i = g->first; i <= g->last; i++)
        layer_nodes(w, g, i);
    const name final_shape = fixed_name("reconstruction_shape");
    const name result = fixed_name(g->part == AE_ONNX_ENCODER
                                       ? "code" : "reconstruction");
    if (needs_final_reshape(g)) {
        const name node = fixed_name("reconstruction_reshape");
        const name last = output_name(g, g->last);
        reshape_node(w, &node, &last, &final_shape, &result);
    }
    for (size_t i = g->first; i <= g->last; i++)
        layer_tensors(w, g, i);
    if (needs_final_reshape(g))
        shape_tensor(w, &final_shape, g->image);
    const name in = input_name(g);
    value_info(w, GRAPH_INPUT, &in, input_shape(g), input_rank(g));
    if (g->part == AE_ONNX_ENCODER)
        value_info(w, GRAPH_OUTPUT, &result, layer(g, g->last)->out,
                   rank_of(g, g->last));
    else
        value_info(w, GRAPH_OUTPUT, &result, g->image, 4);
    ae__pb_end(w);
}

/* Check the model and the part, and find the part's layers. */
static ae_status graph_of(const ae_model *m, ae_onnx_part part, graph *g)
{
    AE_REQUIRE(m);
    if (part != AE_ONNX_MODEL && part != AE_ONNX_ENCODER &&
        part != AE_ONNX_DECODER)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ONNX export: part %d is none of AE_ONNX_MODEL, "
                        "AE_ONNX_ENCODER, AE_ONNX_DECODER", (int)part);
    ae_status s = ae_model_validate(m);
    if (s != AE_OK)
        return ae__fail_context(s, "ONNX export");
    const size_t n = ae_model_layer_count(m);
    const size_t e = ae_model_encoder_layer_count(m);
    g->m = m;
    g->part = part;
    g->first = part == AE_ONNX_DECODER ? e : 0;
    g->last = part == AE_ONNX_ENCODER ? e - 1 : n - 1;
    g->image = ae__model_input_shape(m);
    for (size_t i = g->first; i <= g->last; i++) {
        const ae_layer *l = layer(g, i);
        if (l->ops->kind != AE_LAYER_MAXUNPOOL2D)
            continue;
        const size_t p = (size_t)l->cfg[AE__UNPOOL_PARTNER];
        if (p < g->first)
            return ae__fail(AE_ERR_UNSUPPORTED,
                            "ONNX export of the decoder: layer %zu "
                            "(maxunpool2d) puts its values where layer %zu "
                            "(maxpool2d), in the encoder, found its maxima; "
                            "ae_model_decode takes those positions from the "
                            "latest ae_model_encode call, which a graph of "
                            "the decoder alone cannot see: export the whole "
                            "model (AE_ONNX_MODEL) instead", i, p);
    }
    return AE_OK;
}

/* Count, then measure: the file's size into *size and its message sizes
 * into a new array (*sizes, *n_sizes; the caller frees it). */
static ae_status measure(const graph *g, size_t **sizes, size_t *n_sizes,
                         size_t *size)
{
    ae__pb_writer w;
    ae__pb_start(&w, AE__PB_COUNT, NULL, 0, NULL, 0);
    emit_graph(&w, g);
    ae_status s = ae__pb_status(&w);
    if (s != AE_OK)
        return s;
    *n_sizes = w.n_sizes;
    *sizes = ae__calloc(w.n_sizes + 1, sizeof **sizes);
    if (*sizes == NULL)
        return ae__fail(AE_ERR_NO_MEMORY, "ONNX export: cannot allocate the "
                        "sizes of %zu messages", w.n_sizes);
    ae__pb_start(&w, AE__PB_MEASURE, *sizes, *n_sizes, NULL, 0);
    emit_graph(&w, g);
    s = ae__pb_status(&w);
    if (s == AE_OK && w.len > ONNX_MAX_BYTES)
        s = ae__fail(AE_ERR_LIMIT,
                     "ONNX export: the %s's file would take %zu bytes, over "
                     "protobuf's limit of %zu (2 GiB)", part_name(g->part),
                     w.len, ONNX_MAX_BYTES);
    if (s != AE_OK) {
        ae__free(*sizes);
        *sizes = NULL;
        return s;
    }
    *size = w.len;
    return AE_OK;
}

static ae_status write_graph(const graph *g, size_t *sizes, size_t n_sizes,
                             uint8_t *buf, size_t size)
{
    ae__pb_writer w;
    ae__pb_start(&w, AE__PB_WRITE, sizes, n_sizes, buf, size);
    emit_graph(&w, g);
    ae_status s = ae__pb_status(&w);
    if (s == AE_OK && w.len != size)
        s = ae__fail(AE_ERR_BAD_STATE, "ONNX export: wrote %zu bytes, "
                     "measured %zu", w.len, size);
    return s;
}

ae_status ae_model_export_onnx_memory(const ae_model *m, ae_onnx_part part,
                                      void *buffer, size_t capacity,
                                      size_t *size)
{
    AE_REQUIRE(size);
    graph g;
    ae_status s = graph_of(m, part, &g);
    if (s != AE_OK)
        return s;
    size_t *sizes = NULL, n_sizes = 0, need = 0;
    s = measure(&g, &sizes, &n_sizes, &need);
    if (s != AE_OK)
        return s;
    *size = need;
    if (buffer != NULL && capacity < need)
        s = ae__fail(AE_ERR_INVALID_ARGUMENT,
                     "ae_model_export_onnx_memory: buffer of %zu bytes, the "
                     "%s's file needs %zu", capacity, part_name(part), need);
    else if (buffer != NULL)
        s = write_graph(&g, sizes, n_sizes, buffer, need);
    ae__free(sizes);
    return s;
}

ae_status ae_model_export_onnx(const ae_model *m, const char *path,
                               ae_onnx_part part)
{
    AE_REQUIRE(m);
    AE_REQUIRE(path);
    if (path[0] == '\0')
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_model_export_onnx: empty path");
    graph g;
    ae_status s = graph_of(m, part, &g);
    if (s != AE_OK)
        return s;
    size_t *sizes = NULL, n_sizes = 0, size = 0;
    s = measure(&g, &sizes, &n_sizes, &size);
    if (s != AE_OK)
        return s;
    uint8_t *buf = ae__alloc(size);
    if (buf == NULL)
        s = ae__fail(AE_ERR_NO_MEMORY, "ae_model_export_onnx: cannot "
                     "allocate %zu bytes for %s", size, path);
    if (s == AE_OK)
        s = write_graph(&g, sizes, n_sizes, buf, size);
    if (s == AE_OK)
        s = ae__write_file_atomic(path, buf, size);
    ae__free(buf);
    ae__free(sizes);
    return s;
}

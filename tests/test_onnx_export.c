/* test_onnx_export.c - the ONNX export (io/onnx_export.c) and the
 * protobuf writer under it (io/protobuf.c).
 *
 * What the files compute is checked in ONNX Runtime by tests/onnx/; here
 * the files are read back with a small protobuf reader of the test's own
 * and checked field by field against onnx.proto: versions, graph inputs
 * and outputs with their symbolic batch dimension, the operators each
 * layer becomes, and every weight stored bit for bit as an initializer.
 * Then the calls' contracts: memory and file give the same bytes, a size
 * query, the refusal of a decoder that needs the encoder's positions,
 * and a failed export that leaves the old file.  The writer's own tests
 * check the encoding of each wire type against hand-encoded bytes, and
 * that it never writes past its buffer nor accepts a message whose size
 * changed between measuring and writing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/protobuf.h"
#include "testutil.h"

/* ---- a protobuf reader for the checks ----------------------------------- */

typedef struct field {
    uint32_t number;
    int wire;
    uint64_t value;       /* varint, fixed32 */
    const uint8_t *data;  /* length-delimited */
    size_t size;
} field;

static uint64_t read_varint(const uint8_t *p, size_t n, size_t *at)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        ck_assert_msg(*at < n, "varint runs past the message");
        uint8_t b = p[(*at)++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    ck_abort_msg("varint longer than 10 bytes");
    return 0;
}

/* Every field of the message p[0..n), into out (room for cap); returns
 * the count.  Fails the test on a malformed message. */
static size_t read_fields(const uint8_t *p, size_t n, field *out, size_t cap)
{
    size_t at = 0, k = 0;
    while (at < n) {
        ck_assert_uint_lt(k, cap);
        uint64_t key = read_varint(p, n, &at);
        field f = {(uint32_t)(key >> 3), (int)(key & 7), 0, NULL, 0};
        ck_assert_uint_ne(f.number, 0);
        if (f.wire == 0) {
            f.value = read_varint(p, n, &at);
        } else if (f.wire == 5) {
            ck_assert_uint_le(at + 4, n);
            f.value = (uint64_t)p[at] | (uint64_t)p[at + 1] << 8 |
                      (uint64_t)p[at + 2] << 16 | (uint64_t)p[at + 3] << 24;
            at += 4;
        } else if (f.wire == 2) {
            f.size = (size_t)read_varint(p, n, &at);
            ck_assert_msg(f.size <= n - at, "field %u: %zu bytes past the "
                          "end", f.number, f.size);
            f.data = p + at;
            at += f.size;
        } else {
            ck_abort_msg("wire type %d", f.wire);
        }
        out[k++] = f;
    }
    return k;
}

/* The fields of a message as an allocated list. */
typedef struct msg {
    field *f;
    size_t n;
} msg;

static msg parse(const uint8_t *p, size_t n)
{
    msg m;
    m.f = malloc((n + 1) * sizeof *m.f);
    ck_assert_ptr_nonnull(m.f);
    m.n = read_fields(p, n, m.f, n + 1);
    return m;
}

static msg sub(const field *f)
{
    ck_assert_int_eq(f->wire, 2);
    return parse(f->data, f->size);
}

static size_t count(const msg *m, uint32_t number)
{
    size_t c = 0;
    for (size_t i = 0; i < m->n; i++)
        c += m->f[i].number == number;
    return c;
}

/* The k-th field of that number. */
static const field *nth(const msg *m, uint32_t number, size_t k)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->f[i].number == number && k-- == 0)
            return &m->f[i];
    return NULL;
}

static int str_is(const field *f, const char *s)
{
    return f != NULL && f->wire == 2 && f->size == strlen(s) &&
           memcmp(f->data, s, f->size) == 0;
}

/* ---- the exported files ----------------------------------------------- */

/* Field numbers of onnx.proto, restated from the standard rather than
 * taken from the exporter. */
enum {
    M_IR = 1, M_PRODUCER = 2, M_GRAPH = 7, M_OPSET = 8,
    G_NODE = 1, G_INIT = 5, G_INPUT = 11, G_OUTPUT = 12,
    N_INPUT = 1, N_OUTPUT = 2, N_OP = 4, N_ATTR = 5,
    A_NAME = 1, A_F = 2, A_I = 3, A_INTS = 8, A_TYPE = 20,
    T_DIMS = 1, T_TYPE = 2, T_NAME = 8, T_RAW = 9,
};

static uint8_t *export_memory(ae_model *m, ae_onnx_part part, size_t *size)
{
    ck_assert_ae_ok(ae_model_export_onnx_memory(m, part, NULL, 0, size));
    uint8_t *buf = malloc(*size);
    ck_assert_ptr_nonnull(buf);
    size_t written = 0;
    ck_assert_ae_ok(ae_model_export_onnx_memory(m, part, buf, *size,
                                                &written));
    ck_assert_uint_eq(written, *size);
    return buf;
}

/* On 1 x 8 x 8: conv 1->3 k3 s2 p1 (LeakyReLU 0.2), maxpool 2, dense 5
 * (Tanh; the code) | dense 12 (ReLU), reshape 3 x 2 x 2, upsample 2,
 * transposed conv 3->1 k3 s2 p1 op1 (Sigmoid): every weighted kind, rank
 * changes both ways and an activation parameter. */
static ae_model *small_model(void)
{
    ae_model *m;
    ae_layer *l;
    ck_assert_ae_ok(ae_model_create(&m, 1, 8, 8, 5));
    ck_assert_ae_ok(ae_model_add_conv2d(m, AE_ENCODER, 3, 3, 2, 1,
                                        AE_ACT_LEAKY_RELU));
    ck_assert_ae_ok(ae_model_layer(m, 0, &l));
    ck_assert_ae_ok(ae_layer_set_activation(l, AE_ACT_LEAKY_RELU, 0.2f));
    ck_assert_ae_ok(ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, 5, AE_ACT_TANH));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 12, AE_ACT_RELU));
    ck_assert_ae_ok(ae_model_add_reshape(m, AE_DECODER, 3, 2, 2));
    ck_assert_ae_ok(ae_model_add_upsample2d(m, AE_DECODER, 2));
    ck_assert_ae_ok(ae_model_add_conv_transpose2d(m, AE_DECODER, 1, 3, 2, 1,
                                                  1, AE_ACT_SIGMOID));
    return m;
}

/* The op types of the graph's nodes, space-separated, into buf. */
static void node_ops(const msg *graph, char *buf, size_t size)
{
    buf[0] = '\0';
    for (size_t k = 0; k < count(graph, G_NODE); k++) {
        msg node = sub(nth(graph, G_NODE, k));
        const field *op = nth(&node, N_OP, 0);
        ck_assert_ptr_nonnull(op);
        snprintf(buf + strlen(buf), size - strlen(buf), "%s%.*s",
                 k ? " " : "", (int)op->size, (const char *)op->data);
        free(node.f);
    }
}

/* The dims of a graph input or output: "N,1,8,8". */
static void value_dims(const field *vi, char *buf, size_t size)
{
    msg v = sub(vi), type, tensor, shape;
    type = sub(nth(&v, 2, 0));
    tensor = sub(nth(&type, 1, 0));
    ck_assert_uint_eq(nth(&tensor, 1, 0)->value, 1); /* FLOAT */
    shape = sub(nth(&tensor, 2, 0));
    buf[0] = '\0';
    for (size_t k = 0; k < count(&shape, 1); k++) {
        msg dim = sub(nth(&shape, 1, k));
        const field *param = nth(&dim, 2, 0), *value = nth(&dim, 1, 0);
        if (param != NULL)
            snprintf(buf + strlen(buf), size - strlen(buf), "%s%.*s",
                     k ? "," : "", (int)param->size,
                     (const char *)param->data);
        else
            snprintf(buf + strlen(buf), size - strlen(buf), "%s%llu",
                     k ? "," : "", (unsigned long long)value->value);
        free(dim.f);
    }
    free(shape.f);
    free(tensor.f);
    free(type.f);
    free(v.f);
}

static const field *initializer(const msg *graph, const char *name)
{
    for (size_t k = 0; k < count(graph, G_INIT); k++) {
        const field *f = nth(graph, G_INIT, k);
        msg t = sub(f);
        int is = str_is(nth(&t, T_NAME, 0), name);
        free(t.f);
        if (is)
            return f;
    }
    return NULL;
}

/* Initializer `name` holds exactly the floats v[0..n) as little-endian
 * binary32, with these dims. */
static void check_floats(const msg *graph, const char *name, const float *v,
                         size_t n, const int64_t *dims, size_t ndims)
{
    const field *f = initializer(graph, name);
    ck_assert_msg(f != NULL, "no initializer %s", name);
    msg t = sub(f);
    ck_assert_uint_eq(nth(&t, T_TYPE, 0)->value, 1);
    ck_assert_uint_eq(count(&t, T_DIMS), ndims);
    for (size_t k = 0; k < ndims; k++)
        ck_assert_uint_eq(nth(&t, T_DIMS, k)->value, (uint64_t)dims[k]);
    const field *raw = nth(&t, T_RAW, 0);
    ck_assert_uint_eq(raw->size, 4 * n);
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &v[i], 4);
        const uint8_t *p = raw->data + 4 * i;
        ck_assert_uint_eq((uint32_t)p[0] | (uint32_t)p[1] << 8 |
                              (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24,
                          bits);
    }
    free(t.f);
}

static void check_layer_weights(ae_model *m, const msg *graph, size_t i,
                                const int64_t *dims, size_t ndims)
{
    ae_layer *l;
    ck_assert_ae_ok(ae_model_layer(m, i, &l));
    size_t nw = ae_layer_weight_count(l), nb = ae_layer_bias_count(l);
    float *w = malloc((nw + nb) * sizeof *w);
    ck_assert_ae_ok(ae_layer_get_weights(l, w, nw));
    ck_assert_ae_ok(ae_layer_get_bias(l, w + nw, nb));
    char name[64];
    snprintf(name, sizeof name, "layer%zu_weight", i);
    check_floats(graph, name, w, nw, dims, ndims);
    snprintf(name, sizeof name, "layer%zu_bias", i);
    const int64_t bdims[1] = {(int64_t)nb};
    check_floats(graph, name, w + nw, nb, bdims, 1);
    free(w);
}

START_TEST(model_file_as_onnx_declares)
{
    ae_model *m = small_model();
    size_t size;
    uint8_t *buf = export_memory(m, AE_ONNX_MODEL, &size);
    msg model = parse(buf, size);
    ck_assert_uint_eq(nth(&model, M_IR, 0)->value, 7);
    ck_assert(str_is(nth(&model, M_PRODUCER, 0), "libautoenc"));
    ck_assert_uint_eq(count(&model, M_OPSET), 1);
    msg opset = sub(nth(&model, M_OPSET, 0));
    const field *domain = nth(&opset, 1, 0);
    ck_assert(domain == NULL || domain->size == 0);
    ck_assert_uint_eq(nth(&opset, 2, 0)->value, 13);
    free(opset.f);

    msg graph = sub(nth(&model, M_GRAPH, 0));
    char buf2[512];
    node_ops(&graph, buf2, sizeof buf2);
    ck_assert_str_eq(buf2, "Conv LeakyRelu MaxPool Flatten Gemm Tanh Gemm "
                           "Relu Reshape Resize ConvTranspose Sigmoid");
    ck_assert_uint_eq(count(&graph, G_INPUT), 1);
    ck_assert_uint_eq(count(&graph, G_OUTPUT), 1);
    value_dims(nth(&graph, G_INPUT, 0), buf2, sizeof buf2);
    ck_assert_str_eq(buf2, "N,1,8,8");
    value_dims(nth(&graph, G_OUTPUT, 0), buf2, sizeof buf2);
    ck_assert_str_eq(buf2, "N,1,8,8");

    /* Every parameter, bit for bit, in the layouts ONNX's operators
     * read: Conv O x C x k x k, Gemm with transB units x in,
     * ConvTranspose C x O x k x k. */
    const int64_t conv[4] = {3, 1, 3, 3}, d2[2] = {5, 12}, d3[2] = {12, 5},
                  convt[4] = {3, 1, 3, 3};
    check_layer_weights(m, &graph, 0, conv, 4);
    check_layer_weights(m, &graph, 2, d2, 2);
    check_layer_weights(m, &graph, 3, d3, 2);
    check_layer_weights(m, &graph, 6, convt, 4);
    const float scales[4] = {1, 1, 2, 2};
    const int64_t four[1] = {4};
    check_floats(&graph, "layer5_scales", scales, 4, four, 1);

    /* The activation parameter and the convolution's geometry. */
    msg relu = sub(nth(&graph, G_NODE, 1));
    msg alpha = sub(nth(&relu, N_ATTR, 0));
    ck_assert(str_is(nth(&alpha, A_NAME, 0), "alpha"));
    ck_assert_uint_eq(nth(&alpha, A_TYPE, 0)->value, 1);
    float a;
    uint32_t bits = (uint32_t)nth(&alpha, A_F, 0)->value;
    memcpy(&a, &bits, 4);
    ck_assert_float_eq(a, 0.2f);
    free(alpha.f);
    free(relu.f);
    msg node = sub(nth(&graph, G_NODE, 0));
    int seen = 0;
    for (size_t k = 0; k < count(&node, N_ATTR); k++) {
        msg at = sub(nth(&node, N_ATTR, k));
        if (str_is(nth(&at, A_NAME, 0), "pads")) {
            ck_assert_uint_eq(count(&at, A_INTS), 4);
            for (size_t j = 0; j < 4; j++)
                ck_assert_uint_eq(nth(&at, A_INTS, j)->value, 1);
            seen |= 1;
        }
        if (str_is(nth(&at, A_NAME, 0), "strides")) {
            ck_assert_uint_eq(nth(&at, A_INTS, 1)->value, 2);
            seen |= 2;
        }
        free(at.f);
    }
    ck_assert_int_eq(seen, 3);
    free(node.f);
    free(graph.f);
    free(model.f);
    free(buf);
    ae_model_free(m);
}
END_TEST

/* The encoder ends at the code, shaped as its last layer writes it; the
 * decoder starts there. */
START_TEST(encoder_and_decoder_meet_at_the_code)
{
    ae_model *m = small_model();
    char dims[128], ops[512];
    size_t size;
    uint8_t *buf = export_memory(m, AE_ONNX_ENCODER, &size);
    msg model = parse(buf, size), graph = sub(nth(&model, M_GRAPH, 0));
    msg out = sub(nth(&graph, G_OUTPUT, 0));
    ck_assert(str_is(nth(&out, 1, 0), "code"));
    value_dims(nth(&graph, G_OUTPUT, 0), dims, sizeof dims);
    ck_assert_str_eq(dims, "N,5");
    node_ops(&graph, ops, sizeof ops);
    ck_assert_str_eq(ops, "Conv LeakyRelu MaxPool Flatten Gemm Tanh");
    free(out.f);
    free(graph.f);
    free(model.f);
    free(buf);

    buf = export_memory(m, AE_ONNX_DECODER, &size);
    model = parse(buf, size);
    graph = sub(nth(&model, M_GRAPH, 0));
    msg in = sub(nth(&graph, G_INPUT, 0));
    ck_assert(str_is(nth(&in, 1, 0), "code"));
    value_dims(nth(&graph, G_INPUT, 0), dims, sizeof dims);
    ck_assert_str_eq(dims, "N,5");
    value_dims(nth(&graph, G_OUTPUT, 0), dims, sizeof dims);
    ck_assert_str_eq(dims, "N,1,8,8");
    node_ops(&graph, ops, sizeof ops);
    ck_assert_str_eq(ops, "Gemm Relu Reshape Resize ConvTranspose Sigmoid");
    ck_assert_ptr_null(initializer(&graph, "layer0_weight"));
    free(in.f);
    free(graph.f);
    free(model.f);
    free(buf);
    ae_model_free(m);
}
END_TEST

/* A pooling layer writes its indices only where an unpooling layer of the
 * part reads them; a decoder that needs the encoder's is refused, saying
 * why, and the old file stays. */
START_TEST(unpooling_needs_its_pooling_in_the_same_part)
{
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 1, 7, 7, 2));
    ck_assert_ae_ok(ae_model_add_maxpool2d(m, AE_ENCODER, 2, 2));
    ck_assert_ae_ok(ae_model_add_maxunpool2d(m, AE_DECODER, 0, 7, 7));
    ck_assert_ae_ok(ae_model_add_conv2d(m, AE_DECODER, 1, 1, 1, 0,
                                        AE_ACT_NONE));
    char ops[256];
    size_t size;
    uint8_t *buf = export_memory(m, AE_ONNX_MODEL, &size);
    msg model = parse(buf, size), graph = sub(nth(&model, M_GRAPH, 0));
    node_ops(&graph, ops, sizeof ops);
    ck_assert_str_eq(ops, "MaxPool Shape MaxUnpool Conv");
    msg pool = sub(nth(&graph, G_NODE, 0));
    ck_assert_uint_eq(count(&pool, N_OUTPUT), 2);
    free(pool.f);
    /* MaxUnpool's output shape is the shape of what was pooled (7 x 7,
     * where its own rule would give 6 x 6). */
    msg shape = sub(nth(&graph, G_NODE, 1)), unpool = sub(nth(&graph, G_NODE, 2));
    ck_assert(str_is(nth(&shape, N_INPUT, 0), "input"));
    ck_assert_uint_eq(count(&unpool, N_INPUT), 3);
    ck_assert(nth(&unpool, N_INPUT, 2)->size == nth(&shape, N_OUTPUT, 0)->size &&
              memcmp(nth(&unpool, N_INPUT, 2)->data,
                     nth(&shape, N_OUTPUT, 0)->data,
                     nth(&shape, N_OUTPUT, 0)->size) == 0);
    free(shape.f);
    free(unpool.f);
    free(graph.f);
    free(model.f);
    free(buf);

    buf = export_memory(m, AE_ONNX_ENCODER, &size);
    model = parse(buf, size);
    graph = sub(nth(&model, M_GRAPH, 0));
    pool = sub(nth(&graph, G_NODE, 0));
    ck_assert_uint_eq(count(&pool, N_OUTPUT), 1);
    free(pool.f);
    free(graph.f);
    free(model.f);
    free(buf);

    const char *path = tu_tmp_path("refused.onnx");
    tu_write_file(path, "old", 3, 0);
    ck_assert_ae_status(ae_model_export_onnx(m, path, AE_ONNX_DECODER),
                        AE_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "layer 1 (maxunpool2d)"));
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "layer 0 (maxpool2d)"));
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "AE_ONNX_MODEL"));
    size_t n;
    uint8_t *old = tu_read_file(path, &n);
    ck_assert_uint_eq(n, 3);
    ck_assert_mem_eq(old, "old", 3);
    free(old);
    size_t sz = 99;
    ck_assert_ae_status(ae_model_export_onnx_memory(m, AE_ONNX_DECODER, NULL,
                                                    0, &sz),
                        AE_ERR_UNSUPPORTED);
    ck_assert_uint_eq(sz, 99);
    ae_model_free(m);
}
END_TEST

/* The file holds the bytes of the memory export; exports are repeatable;
 * a buffer one byte short is refused with the size; an exact one works. */
START_TEST(file_and_memory_agree)
{
    ae_model *m = small_model();
    size_t size;
    uint8_t *mem = export_memory(m, AE_ONNX_MODEL, &size);
    const char *path = tu_tmp_path("model.onnx");
    tu_write_file(path, "old content", 11, 0);
    ck_assert_ae_ok(ae_model_export_onnx(m, path, AE_ONNX_MODEL));
    size_t n;
    uint8_t *file = tu_read_file(path, &n);
    ck_assert_uint_eq(n, size);
    ck_assert_mem_eq(file, mem, size);
    free(file);
    size_t again_size;
    uint8_t *again = export_memory(m, AE_ONNX_MODEL, &again_size);
    ck_assert_uint_eq(again_size, size);
    ck_assert_mem_eq(again, mem, size);
    free(again);

    uint8_t *small = malloc(size + 8);
    memset(small, 0xA5, size + 8);
    size_t got = 0;
    ck_assert_ae_status(ae_model_export_onnx_memory(m, AE_ONNX_MODEL, small,
                                                    size - 1, &got),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_uint_eq(got, size);
    for (size_t i = 0; i < size + 8; i++)
        ck_assert_uint_eq(small[i], 0xA5);
    ck_assert_ae_ok(ae_model_export_onnx_memory(m, AE_ONNX_MODEL, small, size,
                                                &got));
    ck_assert_mem_eq(small, mem, size);
    for (size_t i = size; i < size + 8; i++)
        ck_assert_uint_eq(small[i], 0xA5);
    free(small);
    free(mem);
    ae_model_free(m);
}
END_TEST

/* ---- the protobuf writer ------------------------------------------------ */

/* One message of every kind of field, nested two deep. */
static void emit_sample(ae__pb_writer *w, int extra)
{
    ae__pb_uint(w, 1, 150);
    ae__pb_int(w, 2, -1);
    ae__pb_float(w, 3, 1.0f);
    ae__pb_begin(w, 4);
    ae__pb_string(w, 1, "ab");
    ae__pb_begin(w, 2);
    ae__pb_uint(w, 1, extra ? 300 : 1);
    ae__pb_end(w);
    ae__pb_end(w);
    const float f[2] = {-2.0f, 0.5f};
    ae__pb_floats_le(w, 5, f, 2);
    const int64_t v[1] = {-2};
    ae__pb_int64s_le(w, 6, v, 1);
}

START_TEST(protobuf_encodes_each_wire_type)
{
    ae__pb_writer w;
    ae__pb_start(&w, AE__PB_COUNT, NULL, 0, NULL, 0);
    emit_sample(&w, 0);
    ck_assert_ae_ok(ae__pb_status(&w));
    ck_assert_uint_eq(w.n_sizes, 2);
    size_t sizes[2];
    ae__pb_start(&w, AE__PB_MEASURE, sizes, 2, NULL, 0);
    emit_sample(&w, 0);
    ck_assert_ae_ok(ae__pb_status(&w));
    static const uint8_t want[] = {
        0x08, 0x96, 0x01,                       /* 1: 150 */
        0x10, 0xff, 0xff, 0xff, 0xff, 0xff,     /* 2: -1, ten bytes */
        0xff, 0xff, 0xff, 0xff, 0x01,
        0x1d, 0x00, 0x00, 0x80, 0x3f,           /* 3: 1.0f */
        0x22, 0x08,                             /* 4: 8 bytes */
        0x0a, 0x02, 'a', 'b',                   /*   1: "ab" */
        0x12, 0x02, 0x08, 0x01,                 /*   2: {1: 1} */
        0x2a, 0x08, 0x00, 0x00, 0x00, 0xc0,     /* 5: -2.0f, 0.5f */
        0x00, 0x00, 0x00, 0x3f,
        0x32, 0x08, 0xfe, 0xff, 0xff, 0xff,     /* 6: int64 -2 */
        0xff, 0xff, 0xff, 0xff};
    ck_assert_uint_eq(w.len, sizeof want);
    ck_assert_uint_eq(sizes[0], 8);
    ck_assert_uint_eq(sizes[1], 2);
    uint8_t out[sizeof want + 4];
    memset(out, 0xA5, sizeof out);
    ae__pb_start(&w, AE__PB_WRITE, sizes, 2, out, sizeof want);
    emit_sample(&w, 0);
    ck_assert_ae_ok(ae__pb_status(&w));
    ck_assert_mem_eq(out, want, sizeof want);
    ck_assert_uint_eq(out[sizeof want], 0xA5);

    /* A message that grew since it was measured is caught, and nothing is
     * written past the buffer. */
    memset(out, 0xA5, sizeof out);
    ae__pb_start(&w, AE__PB_WRITE, sizes, 2, out, sizeof want);
    emit_sample(&w, 1);
    ck_assert_int_eq(ae__pb_status(&w), AE_ERR_BAD_STATE);
    for (size_t i = sizeof want; i < sizeof out; i++)
        ck_assert_uint_eq(out[i], 0xA5);

    /* A buffer too small is never overrun. */
    memset(out, 0xA5, sizeof out);
    ae__pb_start(&w, AE__PB_WRITE, sizes, 2, out, 10);
    emit_sample(&w, 0);
    ck_assert_int_eq(ae__pb_status(&w), AE_ERR_BAD_STATE);
    for (size_t i = 10; i < sizeof out; i++)
        ck_assert_uint_eq(out[i], 0xA5);
}
END_TEST

START_TEST(protobuf_refuses_misuse)
{
    ae__pb_writer w;
    /* nesting past the limit */
    ae__pb_start(&w, AE__PB_COUNT, NULL, 0, NULL, 0);
    for (int k = 0; k <= AE__PB_MAX_DEPTH; k++)
        ae__pb_begin(&w, 1);
    ck_assert_int_eq(ae__pb_status(&w), AE_ERR_LIMIT);
    /* a message left open, an end without a begin */
    ae__pb_start(&w, AE__PB_COUNT, NULL, 0, NULL, 0);
    ae__pb_begin(&w, 1);
    ck_assert_int_eq(ae__pb_status(&w), AE_ERR_BAD_STATE);
    ae__pb_start(&w, AE__PB_COUNT, NULL, 0, NULL, 0);
    ae__pb_end(&w);
    ck_assert_int_eq(ae__pb_status(&w), AE_ERR_BAD_STATE);
    /* more messages than were counted; field numbers out of range */
    size_t sizes[1] = {0};
    ae__pb_start(&w, AE__PB_MEASURE, sizes, 1, NULL, 0);
    ae__pb_begin(&w, 1);
    ae__pb_end(&w);
    ae__pb_begin(&w, 1);
    ck_assert_int_eq(ae__pb_status(&w), AE_ERR_BAD_STATE);
    ae__pb_start(&w, AE__PB_MEASURE, NULL, 0, NULL, 0);
    ae__pb_uint(&w, 0, 1);
    ck_assert_int_eq(ae__pb_status(&w), AE_ERR_BAD_STATE);
    ae__pb_start(&w, AE__PB_MEASURE, NULL, 0, NULL, 0);
    ae__pb_uint(&w, (uint32_t)1 << 29, 1);
    ck_assert_int_eq(ae__pb_status(&w), AE_ERR_BAD_STATE);
}
END_TEST

static Suite *onnx_suite(void)
{
    Suite *s = suite_create("onnx_export");
    TCase *tc = tcase_create("export");
    tcase_add_test(tc, model_file_as_onnx_declares);
    tcase_add_test(tc, encoder_and_decoder_meet_at_the_code);
    tcase_add_test(tc, unpooling_needs_its_pooling_in_the_same_part);
    tcase_add_test(tc, file_and_memory_agree);
    tcase_add_test(tc, protobuf_encodes_each_wire_type);
    tcase_add_test(tc, protobuf_refuses_misuse);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(onnx_suite());
}

/*
 * model_file.c - the model file format (docs/FORMAT.md): save and load, to
 * files and to memory.
 *
 * Writing: every field is put byte by byte in little-endian order, never as
 * a host struct, so files move between machines.  Files are written to a
 * temporary name beside the destination, synced and renamed into place
 * (atomic_file.c).
 *
 * Reading treats the data as hostile.  In order: magic, version, the
 * header's counts against the limits and against the data's length (before
 * anything is allocated), the CRC-32, then every layer record.  Each layer
 * is first configured on a probe against the shape rebuilt so far and its
 * parameter counts compared with the record's (which the length check has
 * already bounded); only then is it appended to the model being rebuilt, so
 * no allocation is ever larger than the data justifies.  Parameters are
 * copied last and must be finite.  Any failure frees everything.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/atomic_file.h"
#include "common/bytes.h"
#include "common/read_file.h"
#include "common/finite.h"
#include "layers/layer_table.h"
#include "nn/activation.h"
#include "nn/layer.h"
#include "nn/model.h"

/* ---- format constants (docs/FORMAT.md) --------------------------------- */

static const uint8_t FILE_MAGIC[8] = {'A', 'E', 'N', 'C', 'M', 'O', 'D', 'L'};

enum {
    FORMAT_VERSION = 2,  /* the newest version this library reads/writes;
                            a model without layer state is written as
                            version 1, which readers of 0.1 read */
    STATE_COUNT_SIZE = 8, /* version 2: u64 byte count of the layer state */
    HEADER_SIZE = 48,    /* magic .. parameter count */
    RECORD_SIZE = 64,    /* one layer record */
    CRC_SIZE = 4,        /* trailing CRC-32 */
    MAX_LAYERS = 1024,   /* records per file */
    /* header field offsets */
    OFF_VERSION = 8,
    OFF_CHANNELS = 12,
    OFF_HEIGHT = 16,
    OFF_WIDTH = 20,
    OFF_SEED = 24,
    OFF_LAYERS = 32,
    OFF_ENCODER = 36,
    OFF_PARAMS = 40,
    /* offsets inside a layer record */
    REC_KIND = 0,
    REC_PART = 4,
    REC_ACT = 8,
    REC_ACT_PARAM = 12,
    REC_CFG = 16, /* AE__LAYER_CFG_MAX int32 */
    REC_WEIGHTS = 48,
    REC_BIAS = 56
};

/* Largest file, in bytes, that is written or read: 2 GiB. */
#define MAX_FILE_BYTES ((uint64_t)1 << 31)

_Static_assert(REC_CFG + 4 * AE__LAYER_CFG_MAX == REC_WEIGHTS,
               "a layer record holds exactly AE__LAYER_CFG_MAX cfg slots");

/* ---- saving ------------------------------------------------------------ */

static const ae_layer *layer_at(const ae_model *m, size_t i)
{
    ae_layer *l = NULL;
    (void)ae_model_layer(m, i, &l); /* i < layer count: cannot fail */
    return l;
}

/* Serialized size of m, or AE_ERR_LIMIT if it is beyond what the format
 * (and so the loader) accepts. */
static ae_status serialized_size(const ae_model *m, size_t *size)
{
    size_t n_layers = ae_model_layer_count(m);
    uint64_t n_params = ae_model_param_count(m);
    if (n_layers > MAX_LAYERS)
        return ae__fail(AE_ERR_LIMIT,
                        "cannot save a model of %zu layers: the format holds "
                        "at most %d", n_layers, MAX_LAYERS);
    if (n_params > MAX_FILE_BYTES / 4)
        return ae__fail(AE_ERR_LIMIT,
                        "cannot save a model of %llu parameters: files are "
                        "limited to %llu bytes", (unsigned long long)n_params,
                        (unsigned long long)MAX_FILE_BYTES);
    uint64_t state = ae__model_state_size(m);
    uint64_t bytes = HEADER_SIZE + (uint64_t)RECORD_SIZE * n_layers +
                     4 * n_params + CRC_SIZE;
    if (state > 0)
        bytes += STATE_COUNT_SIZE + state;
    if (bytes > MAX_FILE_BYTES || bytes > SIZE_MAX)
        return ae__fail(AE_ERR_LIMIT,
                        "cannot save the model: %llu bytes exceed the limit "
                        "of %llu", (unsigned long long)bytes,
                        (unsigned long long)MAX_FILE_BYTES);
    *size = (size_t)bytes;
    return AE_OK;
}

/* A model whose file could not be loaded back is refused up front. */
static ae_status check_saveable(const ae_model *m)
{
    for (size_t i = 0; i < ae_model_layer_count(m); i++) {
        const ae_layer *l = layer_at(m, i);
        if (!isfinite(l->act_param))
            return ae__fail(AE_ERR_NOT_FINITE,
                            "cannot save: layer %zu has a non-finite "
                            "activation parameter", i);
        if (!ae__all_finite(l->weights, l->n_weights) ||
            !ae__all_finite(l->bias, l->n_bias))
            return ae__fail(AE_ERR_NOT_FINITE,
                            "cannot save: layer %zu (%s) has NaN or infinite "
                            "parameters", i, l->ops->name);
    }
    /* Layer state (batch norm's running statistics): checked as the
     * loader will check it. */
    size_t state = ae__model_state_size(m);
    if (state == 0)
        return AE_OK;
    uint8_t *buf = ae__alloc(state);
    if (buf == NULL)
        return ae__fail(AE_ERR_NO_MEMORY, "cannot save: cannot allocate "
                        "%zu bytes to check the layer state", state);
    ae__model_state_save(m, buf);
    ae_status s = ae__model_state_load((ae_model *)m, buf, 0);
    ae__free(buf);
    return s != AE_OK ? ae__fail_context(s, "cannot save") : AE_OK;
}

/* Write the whole file image; buf holds exactly serialized_size() bytes. */
static void serialize(const ae_model *m, uint8_t *buf, size_t size)
{
    ae__shape in = ae__model_input_shape(m);
    size_t n_layers = ae_model_layer_count(m);
    memcpy(buf, FILE_MAGIC, sizeof FILE_MAGIC);
    const size_t state = ae__model_state_size(m);
    ae__put_u32(buf + OFF_VERSION, state > 0 ? FORMAT_VERSION : 1);
    ae__put_u32(buf + OFF_CHANNELS, (uint32_t)in.c);
    ae__put_u32(buf + OFF_HEIGHT, (uint32_t)in.h);
    ae__put_u32(buf + OFF_WIDTH, (uint32_t)in.w);
    ae__put_u64(buf + OFF_SEED, ae__model_seed(m));
    ae__put_u32(buf + OFF_LAYERS, (uint32_t)n_layers);
    ae__put_u32(buf + OFF_ENCODER, (uint32_t)ae_model_encoder_layer_count(m));
    ae__put_u64(buf + OFF_PARAMS, (uint64_t)ae_model_param_count(m));

    uint8_t *rec = buf + HEADER_SIZE;
    for (size_t i = 0; i < n_layers; i++, rec += RECORD_SIZE) {
        const ae_layer *l = layer_at(m, i);
        ae__put_u32(rec + REC_KIND, (uint32_t)l->ops->kind);
        ae__put_u32(rec + REC_PART, (uint32_t)l->part);
        ae__put_u32(rec + REC_ACT, (uint32_t)l->act);
        ae__put_f32(rec + REC_ACT_PARAM, l->act_param);
        for (int k = 0; k < AE__LAYER_CFG_MAX; k++)
            ae__put_u32(rec + REC_CFG + 4 * k, (uint32_t)l->cfg[k]);
        ae__put_u64(rec + REC_WEIGHTS, (uint64_t)l->n_weights);
        ae__put_u64(rec + REC_BIAS, (uint64_t)l->n_bias);
    }

    uint8_t *p = rec;
    for (size_t i = 0; i < n_layers; i++) {
        const ae_layer *l = layer_at(m, i);
        for (size_t j = 0; j < l->n_weights; j++, p += 4)
            ae__put_f32(p, l->weights[j]);
        for (size_t j = 0; j < l->n_bias; j++, p += 4)
            ae__put_f32(p, l->bias[j]);
    }
    if (state > 0) {
        ae__put_u64(p, (uint64_t)state);
        ae__model_state_save(m, p + STATE_COUNT_SIZE);
        p += STATE_COUNT_SIZE + state;
    }
    ae__put_u32(p, ae__crc32(buf, size - CRC_SIZE));
}

ae_status ae_model_save_memory(const ae_model *m, void *buffer,
                               size_t capacity, size_t *size)
{
    AE_REQUIRE(m);
    AE_REQUIRE(size);
    size_t need = 0;
    ae_status s = serialized_size(m, &need);
    if (s != AE_OK)
        return s;
    if (buffer == NULL) {
        *size = need;
        return AE_OK;
    }
    if (capacity < need) {
        *size = need; /* so the caller learns how much to provide */
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_model_save_memory: buffer of %zu bytes, the "
                        "model needs %zu", capacity, need);
    }
    s = check_saveable(m);
    if (s != AE_OK)
        return s;
    serialize(m, buffer, need);
    *size = need;
    return AE_OK;
}

ae_status ae_model_save(const ae_model *m, const char *path)
{
    AE_REQUIRE(m);
    AE_REQUIRE(path);
    if (path[0] == '\0')
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "ae_model_save: empty path");
    size_t size = 0;
    ae_status s = serialized_size(m, &size);
    if (s == AE_OK)
        s = check_saveable(m);
    if (s != AE_OK)
        return s;

    uint8_t *buf = ae__alloc(size);
    if (buf == NULL)
        return ae__fail(AE_ERR_NO_MEMORY,
                        "ae_model_save: cannot allocate %zu bytes for %s",
                        size, path);
    serialize(m, buf, size);
    s = ae__write_file_atomic(path, buf, size);
    ae__free(buf);
    return s;
}

/* ---- loading ----------------------------------------------------------- */

static const char *part_name(uint32_t part)
{
    return part == AE_ENCODER ? "an encoder" : "a decoder";
}

/* Rebuild layer i from its record at offset off (data already bounded by
 * the length check); *used counts the parameters claimed so far. */
static ae_status load_layer(ae_model *m, size_t i, const uint8_t *data,
                            size_t off, uint64_t n_params, size_t n_encoder,
                            uint64_t *used)
{
    const uint8_t *rec = data + off;
    uint32_t kind = ae__get_u32(rec + REC_KIND);
    uint32_t part = ae__get_u32(rec + REC_PART);
    uint32_t act = ae__get_u32(rec + REC_ACT);
    float act_param = ae__get_f32(rec + REC_ACT_PARAM);
    uint64_t n_weights = ae__get_u64(rec + REC_WEIGHTS);
    uint64_t n_bias = ae__get_u64(rec + REC_BIAS);
    int cfg[AE__LAYER_CFG_MAX];
    for (int k = 0; k < AE__LAYER_CFG_MAX; k++)
        cfg[k] = ae__get_i32(rec + REC_CFG + 4 * k);

    const ae__layer_ops *ops =
        kind <= (uint32_t)INT32_MAX
            ? ae__layer_ops_for_kind((ae_layer_kind)(int32_t)kind)
            : NULL;
    if (ops == NULL || (uint32_t)ops->kind != kind)
        return ae__fail(AE_ERR_UNSUPPORTED,
                        "model data: offset %zu (layer %zu kind): layer kind "
                        "%lu is unknown to this version of libautoenc",
                        off + REC_KIND, i, (unsigned long)kind);
    if (part != AE_ENCODER && part != AE_DECODER)
        return ae__fail(AE_ERR_FORMAT,
                        "model data: offset %zu (layer %zu part): %lu is "
                        "neither encoder (0) nor decoder (1)",
                        off + REC_PART, i, (unsigned long)part);
    if ((part == AE_ENCODER) != (i < n_encoder))
        return ae__fail(AE_ERR_FORMAT,
                        "model data: offset %zu (layer %zu part): %s "
                        "layer, but the header (offset %d) puts %zu layers "
                        "in the encoder", off + REC_PART, i, part_name(part),
                        OFF_ENCODER, n_encoder);
    ae_activation a = (ae_activation)(int)(act & 0xffu);
    if (act > 0xffu || (uint32_t)a != act || !ae__activation_valid(a, 0.0f))
        return ae__fail(AE_ERR_UNSUPPORTED,
                        "model data: offset %zu (layer %zu activation): "
                        "activation %lu is unknown to this version of "
                        "libautoenc", off + REC_ACT, i, (unsigned long)act);
    if (!isfinite(act_param) || !ae__activation_valid(a, act_param))
        return ae__fail(AE_ERR_FORMAT,
                        "model data: offset %zu (layer %zu activation "
                        "parameter): %g is not valid for activation %lu",
                        off + REC_ACT_PARAM, i, (double)act_param,
                        (unsigned long)act);
    if (!ops->has_activation && a != AE_ACT_NONE)
        return ae__fail(AE_ERR_FORMAT,
                        "model data: offset %zu (layer %zu activation): a %s "
                        "layer takes no activation", off + REC_ACT, i,
                        ops->name);
    if (n_weights > n_params - *used)
        return ae__fail(AE_ERR_FORMAT,
                        "model data: offset %zu (layer %zu weight count): "
                        "%llu weights, but only %llu of the header's %llu "
                        "parameters remain", off + REC_WEIGHTS, i,
                        (unsigned long long)n_weights,
                        (unsigned long long)(n_params - *used),
                        (unsigned long long)n_params);
    *used += n_weights;
    if (n_bias > n_params - *used)
        return ae__fail(AE_ERR_FORMAT,
                        "model data: offset %zu (layer %zu bias count): "
                        "%llu biases, but only %llu of the header's %llu "
                        "parameters remain", off + REC_BIAS, i,
                        (unsigned long long)n_bias,
                        (unsigned long long)(n_params - *used),
                        (unsigned long long)n_params);
    *used += n_bias;

    /* Configure a probe first: the layer's own check of its configuration,
     * and its parameter counts, before the model allocates anything. */
    ae_layer probe;
    memset(&probe, 0, sizeof probe);
    probe.ops = ops;
    probe.model = m;
    probe.index = i;
    probe.part = (ae_part)part;
    probe.in = i == 0 ? ae__model_input_shape(m) : layer_at(m, i - 1)->out;
    probe.act = a;
    probe.act_param = act_param;
    memcpy(probe.cfg, cfg, sizeof probe.cfg);
    ae_status s = ops->configure(&probe);
    if (probe.state != NULL && ops->destroy != NULL)
        ops->destroy(&probe);
    if (s != AE_OK)
        return ae__fail_context(s == AE_ERR_LIMIT || s == AE_ERR_NO_MEMORY
                                    ? s
                                    : AE_ERR_FORMAT,
                          "model data: offset %zu (layer %zu configuration)",
                          off + REC_CFG, i);
    if ((uint64_t)probe.n_weights != n_weights ||
        (uint64_t)probe.n_bias != n_bias)
        return ae__fail(AE_ERR_FORMAT,
                        "model data: offset %zu (layer %zu weight and bias "
                        "counts): the file says %llu and %llu, its "
                        "configuration gives %zu and %zu", off + REC_WEIGHTS,
                        i, (unsigned long long)n_weights,
                        (unsigned long long)n_bias, probe.n_weights,
                        probe.n_bias);

    s = ae__model_append(m, (ae_part)part, ops, cfg, a, act_param);
    if (s != AE_OK)
        return ae__fail_context(s == AE_ERR_NO_MEMORY || s == AE_ERR_LIMIT
                              ? s
                              : AE_ERR_FORMAT,
                          "model data: offset %zu (layer %zu)", off, i);
    const ae_layer *l = layer_at(m, i);
    if ((uint64_t)l->n_weights != n_weights || (uint64_t)l->n_bias != n_bias)
        return ae__fail(AE_ERR_FORMAT,
                        "model data: offset %zu (layer %zu): rebuilt layer "
                        "has %zu weights and %zu biases, the file %llu and "
                        "%llu", off + REC_WEIGHTS, i, l->n_weights, l->n_bias,
                        (unsigned long long)n_weights,
                        (unsigned long long)n_bias);
    return AE_OK;
}

/* Copy n floats from data + off into dst, refusing NaN and infinity. */
static ae_status load_floats(float *dst, size_t n, const uint8_t *data,
                             size_t off, size_t layer, const char *what)
{
    for (size_t j = 0; j < n; j++) {
        float f = ae__get_f32(data + off + 4 * j);
        if (!isfinite(f))
            return ae__fail(AE_ERR_NOT_FINITE,
                            "model data: offset %zu (layer %zu %s %zu): NaN "
                            "or infinity", off + 4 * j, layer, what, j);
        dst[j] = f;
    }
    return AE_OK;
}

/* Shape field: 1 .. INT32_MAX here, ae_model_create checks the rest. */
static int shape_field(const uint8_t *data, size_t off, int *v)
{
    uint32_t u = ae__get_u32(data + off);
    if (u > (uint32_t)INT32_MAX)
        return 0;
    *v = (int)u;
    return 1;
}

static ae_status parse(ae_model **out, const uint8_t *data, size_t size)
{
    if (size < sizeof FILE_MAGIC ||
        memcmp(data, FILE_MAGIC, sizeof FILE_MAGIC) != 0)
        return ae__fail(AE_ERR_FORMAT,
                        "model data: offset 0 (magic): not a libautoenc "
                        "model (%zu bytes, expected \"AENCMODL\" first)",
                        size);
    if (size < OFF_VERSION + 4)
        return ae__fail(AE_ERR_FORMAT,
                        "model data: offset %d (version): truncated at %zu "
                        "bytes", OFF_VERSION, size);
    uint32_t version = ae__get_u32(data + OFF_VERSION);
    if (version == 0)
        return ae__fail(AE_ERR_FORMAT,
                        "model data: offset %d (version): version 0 is not "
                        "valid", OFF_VERSION);
    if (version > FORMAT_VERSION)
        return ae__fail(AE_ERR_UNSUPPORTED,
                        "model data: offset %d (version): format version %lu "
                        "is newer than this library's (%d)", OFF_VERSION,
                        (unsigned long)version, FORMAT_VERSION);
    if (size < HEADER_SIZE + CRC_SIZE)
        return ae__fail(AE_ERR_FORMAT,
                        "model data: offset %zu (header): truncated: %zu "
                        "bytes, the header and checksum alone take %d",
                        size, size, HEADER_SIZE + CRC_SIZE);

    /* Counts against limits and the data's length, before any allocation. */
    uint32_t n_layers = ae__get_u32(data + OFF_LAYERS);
    uint32_t n_encoder = ae__get_u32(data + OFF_ENCODER);
    uint64_t n_params = ae__get_u64(data + OFF_PARAMS);
    if (n_layers > MAX_LAYERS)
        return ae__fail(AE_ERR_LIMIT,
                        "model data: offset %d (layer count): %lu layers, "
                        "the limit is %d", OFF_LAYERS,
                        (unsigned long)n_layers, MAX_LAYERS);
    if (n_params > MAX_FILE_BYTES / 4)
        return ae__fail(AE_ERR_LIMIT,
                        "model data: offset %d (parameter count): %llu "
                        "parameters exceed the %llu-byte file limit",
                        OFF_PARAMS, (unsigned long long)n_params,
                        (unsigned long long)MAX_FILE_BYTES);
    uint64_t declared = HEADER_SIZE + (uint64_t)RECORD_SIZE * n_layers +
                        4 * n_params + CRC_SIZE;
    /* Version 2: the layer state's byte count follows the parameters. */
    const uint64_t state_off = declared - CRC_SIZE;
    uint64_t state = 0;
    if (version >= 2 && declared <= MAX_FILE_BYTES) {
        if ((uint64_t)size < state_off + STATE_COUNT_SIZE + CRC_SIZE)
            return ae__fail(AE_ERR_FORMAT,
                            "model data: offset %llu (layer state size): "
                            "truncated: the data has %zu bytes",
                            (unsigned long long)state_off, size);
        state = ae__get_u64(data + state_off);
        if (state > MAX_FILE_BYTES)
            return ae__fail(AE_ERR_LIMIT,
                            "model data: offset %llu (layer state size): "
                            "%llu bytes exceed the file limit of %llu",
                            (unsigned long long)state_off,
                            (unsigned long long)state,
                            (unsigned long long)MAX_FILE_BYTES);
        declared += STATE_COUNT_SIZE + state;
    }
    if (declared > MAX_FILE_BYTES)
        return ae__fail(AE_ERR_LIMIT,
                        "model data: offsets %d-%d (counts): %lu layers and "
                        "%llu parameters make %llu bytes, over the limit of "
                        "%llu", OFF_LAYERS, OFF_PARAMS + 7,
                        (unsigned long)n_layers,
                        (unsigned long long)n_params,
                        (unsigned long long)declared,
                        (unsigned long long)MAX_FILE_BYTES);
    if (declared != (uint64_t)size)
        return ae__fail(AE_ERR_FORMAT,
                        "model data: offsets %d-%d (counts): %lu layers and "
                        "%llu parameters make %llu bytes, but the data has "
                        "%zu (%s)", OFF_LAYERS, OFF_PARAMS + 7,
                        (unsigned long)n_layers,
                        (unsigned long long)n_params,
                        (unsigned long long)declared, size,
                        declared > (uint64_t)size ? "truncated"
                                                  : "trailing bytes");

    uint32_t stored = ae__get_u32(data + size - CRC_SIZE);
    uint32_t computed = ae__crc32(data, size - CRC_SIZE);
    if (stored != computed)
        return ae__fail(AE_ERR_CHECKSUM,
                        "model data: offset %zu (CRC-32): stored 0x%08lx, "
                        "the content gives 0x%08lx", size - CRC_SIZE,
                        (unsigned long)stored, (unsigned long)computed);

    /* The checksum matched; a crafted file may still lie, so go on
     * checking everything. */
    if (n_encoder > n_layers)
        return ae__fail(AE_ERR_FORMAT,
                        "model data: offset %d (encoder layer count): %lu, "
                        "more than the %lu layers", OFF_ENCODER,
                        (unsigned long)n_encoder, (unsigned long)n_layers);
    int c, h, w;
    if (!shape_field(data, OFF_CHANNELS, &c) ||
        !shape_field(data, OFF_HEIGHT, &h) || !shape_field(data, OFF_WIDTH, &w))
        return ae__fail(AE_ERR_FORMAT,
                        "model data: offset %d (input shape): %lu x %lu x "
                        "%lu is not valid", OFF_CHANNELS,
                        (unsigned long)ae__get_u32(data + OFF_CHANNELS),
                        (unsigned long)ae__get_u32(data + OFF_HEIGHT),
                        (unsigned long)ae__get_u32(data + OFF_WIDTH));
    ae_model *m = NULL;
    ae_status s = ae_model_create(&m, c, h, w, ae__get_u64(data + OFF_SEED));
    if (s != AE_OK)
        return ae__fail_context(s == AE_ERR_NO_MEMORY ? s : AE_ERR_FORMAT,
                          "model data: offset %d (input shape)",
                          OFF_CHANNELS);

    uint64_t used = 0;
    for (size_t i = 0; s == AE_OK && i < n_layers; i++)
        s = load_layer(m, i, data, HEADER_SIZE + RECORD_SIZE * i, n_params,
                       n_encoder, &used);
    if (s == AE_OK && used != n_params)
        s = ae__fail(AE_ERR_FORMAT,
                     "model data: offset %d (parameter count): %llu, but "
                     "the layers hold %llu", OFF_PARAMS,
                     (unsigned long long)n_params, (unsigned long long)used);
    if (s == AE_OK && (ae_model_encoder_layer_count(m) != n_encoder ||
                       ae_model_param_count(m) != n_params))
        s = ae__fail(AE_ERR_FORMAT,
                     "model data: offset %d (counts): the rebuilt model "
                     "disagrees with the header", OFF_LAYERS);

    if (s == AE_OK && ae__model_state_size(m) != state)
        s = ae__fail(AE_ERR_FORMAT,
                     "model data: offset %llu (layer state size): %llu "
                     "bytes of layer state, the layers hold %zu%s",
                     (unsigned long long)state_off, (unsigned long long)state,
                     ae__model_state_size(m),
                     version < 2 ? " (a version-1 file holds none: layers "
                                   "with state need version 2)"
                                 : "");

    size_t off = HEADER_SIZE + (size_t)RECORD_SIZE * n_layers;
    for (size_t i = 0; s == AE_OK && i < n_layers; i++) {
        ae_layer *l = NULL;
        (void)ae_model_layer(m, i, &l);
        s = load_floats(l->weights, l->n_weights, data, off, i, "weight");
        off += 4 * l->n_weights;
        if (s == AE_OK)
            s = load_floats(l->bias, l->n_bias, data, off, i, "bias");
        off += 4 * l->n_bias;
        ae__layer_params_changed(l);
    }
    if (s == AE_OK && state > 0) {
        s = ae__model_state_load(m, data + off + STATE_COUNT_SIZE, 1);
        if (s != AE_OK)
            s = ae__fail_context(s == AE_ERR_NOT_FINITE ? s : AE_ERR_FORMAT,
                                 "model data: offset %zu (layer state)",
                                 off + STATE_COUNT_SIZE);
    }
    if (s != AE_OK) {
        ae_model_free(m);
        return s;
    }
    *out = m;
    return AE_OK;
}

ae_status ae_model_load_memory(ae_model **out, const void *data, size_t size)
{
    AE_REQUIRE(out);
    *out = NULL;
    AE_REQUIRE(data);
    return parse(out, data, size);
}

/* Open path for reading: a regular file of at most limit bytes, or a
 * pipe or the like (read up to the limit). */
ae_status ae_model_load(ae_model **out, const char *path)
{
    AE_REQUIRE(out);
    *out = NULL;
    AE_REQUIRE(path);
    uint8_t *buf = NULL;
    size_t len = 0;
    ae_status s = ae__read_file(path, MAX_FILE_BYTES, &buf, &len);
    if (s != AE_OK)
        return s;
    s = parse(out, buf, len);
    if (s != AE_OK)
        s = ae__fail_context(s, "%s", path);
    ae__free(buf);
    return s;
}

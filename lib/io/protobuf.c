/* protobuf.c - Protocol Buffers encoding, in three runs over the same
 * emitting code: count the nested messages, measure them, write them
 * (protobuf.h).  Wire format: each field is a varint key (field << 3 |
 * wire type) and a value: a varint (type 0), 4 little-endian bytes (type
 * 5) or a varint length and that many bytes (type 2). */
#include <string.h>

#include "common/bytes.h"
#include "io/protobuf.h"

enum { WIRE_VARINT = 0, WIRE_LEN = 2, WIRE_FIXED32 = 5 };

/* Field numbers protobuf allows: 1 .. 2^29 - 1. */
#define FIELD_MAX ((uint32_t)1 << 29)

void ae__pb_start(ae__pb_writer *w, ae__pb_mode mode, size_t *sizes,
                  size_t n_sizes, uint8_t *buf, size_t cap)
{
    memset(w, 0, sizeof *w);
    w->mode = mode;
    w->sizes = sizes;
    w->n_sizes = mode == AE__PB_COUNT ? 0 : n_sizes;
    w->buf = buf;
    w->cap = buf != NULL ? cap : 0;
    w->status = AE_OK;
    if (mode != AE__PB_COUNT && n_sizes > 0 && sizes == NULL)
        w->status = ae__fail(AE_ERR_BAD_STATE,
                             "protobuf writer: no room for message sizes");
    if (mode == AE__PB_WRITE && buf == NULL)
        w->status = ae__fail(AE_ERR_BAD_STATE,
                             "protobuf writer: no output buffer");
}

ae_status ae__pb_status(const ae__pb_writer *w)
{
    if (w->status != AE_OK)
        return w->status;
    if (w->depth != 0)
        return ae__fail(AE_ERR_BAD_STATE,
                        "protobuf writer: %d messages left open", w->depth);
    if (w->mode != AE__PB_COUNT && w->next != w->n_sizes)
        return ae__fail(AE_ERR_BAD_STATE,
                        "protobuf writer: %zu messages emitted, %zu counted",
                        w->next, w->n_sizes);
    return AE_OK;
}

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Account for n more bytes and, when writing, return where they go (NULL
 * when not writing or on failure). */
static uint8_t *take(ae__pb_writer *w, size_t n)
{
    if (w->status != AE_OK)
        return NULL;
    if (n > SIZE_MAX - w->len) {
        w->status = ae__fail(AE_ERR_LIMIT,
                             "protobuf writer: the message exceeds %zu bytes",
                             (size_t)SIZE_MAX);
        return NULL;
    }
    if (w->mode != AE__PB_WRITE) {
        w->len += n;
        return NULL;
    }
    if (n > w->cap - w->len) {
        w->status = ae__fail(AE_ERR_BAD_STATE,
                             "protobuf writer: %zu bytes at offset %zu overrun "
                             "the %zu-byte buffer", n, w->len, w->cap);
        return NULL;
    }
    uint8_t *p = w->buf + w->len;
    w->len += n;
    return p;
}

static void put_varint(ae__pb_writer *w, uint64_t v)
{
    uint8_t *p = take(w, varint_size(v));
    if (p == NULL)
        return;
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p = (uint8_t)v;
}

static void put_key(ae__pb_writer *w, uint32_t field, int wire)
{
    if (field == 0 || field >= FIELD_MAX) {
        if (w->status == AE_OK)
            w->status = ae__fail(AE_ERR_BAD_STATE,
                                 "protobuf writer: field number %u",
                                 (unsigned)field);
        return;
    }
    put_varint(w, (uint64_t)field << 3 | (uint64_t)wire);
}

void ae__pb_uint(ae__pb_writer *w, uint32_t field, uint64_t v)
{
    put_key(w, field, WIRE_VARINT);
    put_varint(w, v);
}

void ae__pb_int(ae__pb_writer *w, uint32_t field, int64_t v)
{
    /* int64 fields carry the two's-complement bits as a varint. */
    ae__pb_uint(w, field, (uint64_t)v);
}

void ae__pb_float(ae__pb_writer *w, uint32_t field, float v)
{
    put_key(w, field, WIRE_FIXED32);
    uint8_t *p = take(w, 4);
    if (p != NULL)
        ae__put_f32(p, v);
}

/* Key and length of a length-delimited field; where its n bytes go. */
static uint8_t *put_len(ae__pb_writer *w, uint32_t field, size_t n)
{
    put_key(w, field, WIRE_LEN);
    put_varint(w, (uint64_t)n);
    return take(w, n);
}

void ae__pb_bytes(ae__pb_writer *w, uint32_t field, const void *data,
                  size_t n)
{
    uint8_t *p = put_len(w, field, n);
    if (p != NULL && n > 0)
        memcpy(p, data, n);
}

void ae__pb_string(ae__pb_writer *w, uint32_t field, const char *s)
{
    ae__pb_bytes(w, field, s, strlen(s));
}

void ae__pb_floats_le(ae__pb_writer *w, uint32_t field, const float *v,
                      size_t n)
{
    size_t bytes;
    if (!ae__mul_size(n, 4, &bytes)) {
        if (w->status == AE_OK)
            w->status = ae__fail(AE_ERR_LIMIT, "protobuf writer: %zu floats "
                                 "are too many for one field", n);
        return;
    }
    uint8_t *p = put_len(w, field, bytes);
    if (p != NULL)
        for (size_t i = 0; i < n; i++)
            ae__put_f32(p + 4 * i, v[i]);
}

void ae__pb_int64s_le(ae__pb_writer *w, uint32_t field, const int64_t *v,
                      size_t n)
{
    size_t bytes;
    if (!ae__mul_size(n, 8, &bytes)) {
        if (w->status == AE_OK)
            w->status = ae__fail(AE_ERR_LIMIT, "protobuf writer: %zu integers "
                                 "are too many for one field", n);
        return;
    }
    uint8_t *p = put_len(w, field, bytes);
    if (p != NULL)
        for (size_t i = 0; i < n; i++)
            ae__put_u64(p + 8 * i, (uint64_t)v[i]);
}

void ae__pb_begin(ae__pb_writer *w, uint32_t field)
{
    if (w->status != AE_OK)
        return;
    if (w->depth == AE__PB_MAX_DEPTH) {
        w->status = ae__fail(AE_ERR_LIMIT, "protobuf writer: messages nested "
                             "more than %d deep", AE__PB_MAX_DEPTH);
        return;
    }
    size_t index = w->next;
    if (w->mode == AE__PB_COUNT) {
        w->n_sizes++;
    } else if (index >= w->n_sizes) {
        w->status = ae__fail(AE_ERR_BAD_STATE, "protobuf writer: message %zu "
                             "was not counted (%zu were)", index, w->n_sizes);
        return;
    }
    w->next++;
    put_key(w, field, WIRE_LEN);
    /* Writing, the length goes first; measuring, its varint is added at
     * the end, once the content's size is known. */
    if (w->mode == AE__PB_WRITE)
        put_varint(w, (uint64_t)w->sizes[index]);
    w->open[w->depth] = index;
    w->start[w->depth] = w->len;
    w->depth++;
}

void ae__pb_end(ae__pb_writer *w)
{
    if (w->status != AE_OK)
        return;
    if (w->depth == 0) {
        w->status = ae__fail(AE_ERR_BAD_STATE,
                             "protobuf writer: end without a begin");
        return;
    }
    w->depth--;
    const size_t index = w->open[w->depth];
    const size_t size = w->len - w->start[w->depth];
    switch (w->mode) {
    case AE__PB_COUNT:
        break;
    case AE__PB_MEASURE:
        w->sizes[index] = size;
        take(w, varint_size((uint64_t)size));
        break;
    case AE__PB_WRITE:
        if (size != w->sizes[index])
            w->status = ae__fail(AE_ERR_BAD_STATE,
                                 "protobuf writer: message %zu took %zu "
                                 "bytes, %zu were measured",
                                 index, size, w->sizes[index]);
        break;
    }
}

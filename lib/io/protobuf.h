/*
 * protobuf.h - writing Protocol Buffers messages, the encoding of ONNX
 * files (private).
 *
 * Only what a writer of ONNX needs: varint fields (integers and enums),
 * fixed32 floats, length-delimited fields (strings, bytes, little-endian
 * float arrays) and nested messages.  A nested message is prefixed by its
 * length, so every length must be known before the message is written: the
 * caller runs the same emitting code three times over one writer,
 *
 *   1. AE__PB_COUNT:   counts the nested messages (n_sizes, after it, is
 *                      how many sizes to keep);
 *   2. AE__PB_MEASURE: records the size of each nested message, in the
 *                      order they begin, and the total size;
 *   3. AE__PB_WRITE:   writes into a buffer of exactly that size, each
 *                      length prefix from the recorded sizes.
 *
 * Every write is bounds-checked against the buffer, every size against
 * overflow, and each message's written length against its measured one.
 * A failure sticks: later calls do nothing and ae__pb_status reports it.
 * The emitting code must be the same in all three runs (it may skip the
 * work of producing bytes while not writing, see ae__pb_writing).
 */
#ifndef AE_PROTOBUF_H
#define AE_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

#include "common/internal.h"

typedef enum ae__pb_mode {
    AE__PB_COUNT = 0,
    AE__PB_MEASURE = 1,
    AE__PB_WRITE = 2
} ae__pb_mode;

/* Deepest nesting of messages (ONNX tensor types nest five deep). */
enum { AE__PB_MAX_DEPTH = 16 };

typedef struct ae__pb_writer {
    ae__pb_mode mode;
    uint8_t *buf;      /* WRITE: the output, cap bytes */
    size_t cap;
    size_t len;        /* bytes emitted so far */
    size_t *sizes;     /* MEASURE, WRITE: one size a nested message */
    size_t n_sizes;    /* COUNT: messages seen; else entries of sizes */
    size_t next;       /* the next message's index into sizes */
    size_t open[AE__PB_MAX_DEPTH];  /* index of each open message */
    size_t start[AE__PB_MAX_DEPTH]; /* len where its content began */
    int depth;
    ae_status status;  /* AE_OK until something failed */
} ae__pb_writer;

/* Start a run.  COUNT needs no arrays; MEASURE needs sizes with room for
 * the n_sizes that COUNT found; WRITE the same sizes, as MEASURE filled
 * them, and buf with room for the size MEASURE found (len). */
void ae__pb_start(ae__pb_writer *w, ae__pb_mode mode, size_t *sizes,
                  size_t n_sizes, uint8_t *buf, size_t cap);
/* AE_OK if the run got through with every message closed, else the first
 * failure (AE_ERR_LIMIT for sizes past SIZE_MAX or nesting too deep; an
 * internal inconsistency as AE_ERR_BAD_STATE), recorded with ae__fail. */
ae_status ae__pb_status(const ae__pb_writer *w);
/* 1 in a WRITE run, when producing bytes pays. */
static inline int ae__pb_writing(const ae__pb_writer *w)
{
    return w->mode == AE__PB_WRITE;
}

/* Field `field` (1 .. 2^29 - 1) of each wire type.  int64 values are
 * two's complement, as protobuf's int64 (a negative one takes 10 bytes). */
void ae__pb_uint(ae__pb_writer *w, uint32_t field, uint64_t v);
void ae__pb_int(ae__pb_writer *w, uint32_t field, int64_t v);
void ae__pb_float(ae__pb_writer *w, uint32_t field, float v);
void ae__pb_bytes(ae__pb_writer *w, uint32_t field, const void *data,
                  size_t n);
void ae__pb_string(ae__pb_writer *w, uint32_t field, const char *s);
/* n floats as one bytes field of 4 n bytes, each IEEE-754 binary32
 * little-endian (ONNX's raw_data). */
void ae__pb_floats_le(ae__pb_writer *w, uint32_t field, const float *v,
                      size_t n);
/* n int64 values as one bytes field of 8 n bytes, little-endian. */
void ae__pb_int64s_le(ae__pb_writer *w, uint32_t field, const int64_t *v,
                      size_t n);

/* A nested message as field `field`: what is emitted between begin and
 * its end is its content. */
void ae__pb_begin(ae__pb_writer *w, uint32_t field);
void ae__pb_end(ae__pb_writer *w);

#endif /* AE_PROTOBUF_H */

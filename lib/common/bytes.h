/*
 * bytes.h - little-endian fields and the CRC-32 of the file formats
 * (docs/FORMAT.md).  Fields are put byte by byte, never as host structs,
 * so files move between machines of any byte order.  Private.
 */
#ifndef AE_BYTES_H
#define AE_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

#include "common/internal.h"

_Static_assert(sizeof(float) == sizeof(uint32_t),
               "floats are stored as IEEE-754 binary32");
_Static_assert(sizeof(double) == sizeof(uint64_t),
               "doubles are stored as IEEE-754 binary64");

static inline void ae__put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void ae__put_u64(uint8_t *p, uint64_t v)
{
    ae__put_u32(p, (uint32_t)v);
    ae__put_u32(p + 4, (uint32_t)(v >> 32));
}

static inline void ae__put_f32(uint8_t *p, float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    ae__put_u32(p, bits);
}

static inline void ae__put_f64(uint8_t *p, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    ae__put_u64(p, bits);
}

static inline uint32_t ae__get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline uint64_t ae__get_u64(const uint8_t *p)
{
    return (uint64_t)ae__get_u32(p) | (uint64_t)ae__get_u32(p + 4) << 32;
}

static inline float ae__get_f32(const uint8_t *p)
{
    uint32_t bits = ae__get_u32(p);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline double ae__get_f64(const uint8_t *p)
{
    uint64_t bits = ae__get_u64(p);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* Two's-complement int32 without implementation-defined conversions. */
static inline int ae__get_i32(const uint8_t *p)
{
    uint32_t v = ae__get_u32(p);
    return v <= (uint32_t)INT32_MAX ? (int)v : -(int)(~v) - 1;
}

/* zlib's CRC-32 of n bytes, fed in pieces that fit its uInt length. */
static inline uint32_t ae__crc32(const uint8_t *p, size_t n)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    while (n > 0) {
        size_t piece = n < ((size_t)1 << 30) ? n : ((size_t)1 << 30);
        crc = crc32(crc, p, (uInt)piece);
        p += piece;
        n -= piece;
    }
    return (uint32_t)crc;
}

#endif /* AE_BYTES_H */

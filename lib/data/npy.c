/*
 * npy.c - arrays in NumPy's .npy format (numpy.lib.format), so that codes,
 * reconstructions and labels reach NumPy as np.load reads them, and arrays
 * made in NumPy reach the library.
 *
 * A file is the magic "\x93NUMPY", a major and a minor version byte, the
 * header's length (2 bytes little-endian in version 1.0, 4 in 2.0 and
 * 3.0), the header, and the raw data.  The header is a Python dict literal
 * such as
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (2, 784), }
 * padded with spaces to a newline that ends it, so that the data starts
 * at a multiple of 64 bytes.  We write version 1.0 exactly as NumPy does,
 * and read 1.0, 2.0 and 3.0 with the care of every other loader here: the
 * dict is parsed by a small grammar that accepts what NumPy writes and
 * what a person might (either quotes, any spacing, keys in any order, a
 * trailing comma), and refuses everything else with the offset of the
 * byte at fault; the shape's product is checked for overflow and must
 * match the data's length exactly.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/atomic_file.h"
#include "common/bytes.h"
#include "common/read_file.h"

static const uint8_t NPY_MAGIC[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

enum {
    PREAMBLE_V1 = 10,          /* magic, version, 2-byte header length */
    PREAMBLE_V2 = 12,          /* ... 4-byte header length */
    HEADER_ALIGN = 64,         /* the data starts at a multiple of this */
    MAX_HEADER = 1 << 16       /* NumPy's own reading limit, about */
};

/* Largest file ae_npy_load reads: 16 GiB, far beyond any array of these
 * experiments, so that a hostile length cannot make it allocate more. */
#define MAX_NPY_BYTES ((uint64_t)1 << 34)

struct ae_npy {
    ae_npy_type type;
    int ndim;
    size_t shape[AE_NPY_MAX_DIMS];
    size_t count; /* product of the shape */
    void *data;   /* count floats or bytes, from ae__alloc */
};

static size_t elem_size(ae_npy_type t)
{
    return t == AE_NPY_F32 ? 4 : 1;
}

static const char *descr_of(ae_npy_type t)
{
    return t == AE_NPY_F32 ? "<f4" : "|u1";
}

/* ---- writing ------------------------------------------------------------ */

/* The header dict, padded, with its newline: what follows the preamble.
 * Returns its length (at most `room`), or 0 if it does not fit. */
static size_t format_header(char *h, size_t room, ae_npy_type type,
                            const size_t *shape, int ndim)
{
    size_t n = (size_t)snprintf(h, room, "{'descr': '%s', 'fortran_order': "
                                "False, 'shape': (", descr_of(type));
    for (int i = 0; i < ndim && n < room; i++)
        n += (size_t)snprintf(h + n, room - n, "%s%zu", i ? ", " : "",
                              shape[i]);
    if (n < room)
        n += (size_t)snprintf(h + n, room - n, "%s), }",
                              ndim == 1 ? "," : "");
    /* Spaces, then the newline, up to the next multiple of 64 bytes of
     * preamble + header, as NumPy pads. */
    size_t total = PREAMBLE_V1 + n + 1;
    size_t padded = (total + HEADER_ALIGN - 1) / HEADER_ALIGN * HEADER_ALIGN;
    size_t len = padded - PREAMBLE_V1;
    if (n >= room || len > room)
        return 0;
    memset(h + n, ' ', len - 1 - n);
    h[len - 1] = '\n';
    return len;
}

static ae_status check_array(const char *fn, ae_npy_type type,
                             const void *data, const size_t *shape, int ndim,
                             size_t *count)
{
    AE_REQUIRE(data);
    if (ndim > 0)
        AE_REQUIRE(shape);
    if (type != AE_NPY_F32 && type != AE_NPY_U8)
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "%s: unknown element type "
                        "%d", fn, (int)type);
    if (ndim < 0 || ndim > AE_NPY_MAX_DIMS)
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "%s: %d dimensions, not "
                        "0 .. %d", fn, ndim, AE_NPY_MAX_DIMS);
    size_t c = 1;
    for (int i = 0; i < ndim; i++)
        if (!ae__mul_size(c, shape[i], &c))
            return ae__fail(AE_ERR_LIMIT, "%s: the shape's product "
                            "overflows at dimension %d", fn, i);
    if (!ae__mul_size(c, elem_size(type), &(size_t){0}))
        return ae__fail(AE_ERR_LIMIT, "%s: %zu elements overflow a size",
                        fn, c);
    *count = c;
    return AE_OK;
}

/* Element i of data as little-endian bytes at p. */
static void put_elements(uint8_t *p, ae_npy_type type, const void *data,
                         size_t first, size_t n)
{
    if (type == AE_NPY_U8) {
        memcpy(p, (const uint8_t *)data + first, n);
        return;
    }
    const float *x = (const float *)data + first;
    for (size_t i = 0; i < n; i++)
        ae__put_f32(p + 4 * i, x[i]);
}

static size_t preamble(uint8_t *p, size_t header_len)
{
    memcpy(p, NPY_MAGIC, sizeof NPY_MAGIC);
    p[6] = 1; /* version 1.0 */
    p[7] = 0;
    p[8] = (uint8_t)(header_len & 0xff);
    p[9] = (uint8_t)(header_len >> 8);
    return PREAMBLE_V1;
}

/* A header for up to AE_NPY_MAX_DIMS dimensions of 20 digits each fits in
 * well under 512 bytes. */
enum { HEADER_ROOM = 512 };

ae_status ae_npy_save_memory(ae_npy_type type, const void *data,
                             const size_t *shape, int ndim, void *buffer,
                             size_t capacity, size_t *size)
{
    AE_REQUIRE(size);
    size_t count = 0;
    ae_status s = check_array("ae_npy_save_memory", type, data, shape, ndim,
                              &count);
    if (s != AE_OK)
        return s;
    char header[HEADER_ROOM];
    size_t hlen = format_header(header, sizeof header, type, shape, ndim);
    size_t need = PREAMBLE_V1 + hlen + count * elem_size(type);
    *size = need;
    if (buffer == NULL && capacity == 0)
        return AE_OK;
    AE_REQUIRE(buffer);
    if (capacity < need)
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "ae_npy_save_memory: the "
                        "array needs %zu bytes, the buffer holds %zu", need,
                        capacity);
    uint8_t *p = buffer;
    p += preamble(p, hlen);
    memcpy(p, header, hlen);
    put_elements(p + hlen, type, data, 0, count);
    return AE_OK;
}

/* Elements converted per write: 64 KiB of floats. */
enum { WRITE_CHUNK = 16384 };

static ae_status write_body(FILE *f, ae_npy_type type, const void *data,
                            size_t count, const char *header, size_t hlen)
{
    uint8_t pre[PREAMBLE_V1];
    preamble(pre, hlen);
    if (fwrite(pre, 1, sizeof pre, f) != sizeof pre ||
        fwrite(header, 1, hlen, f) != hlen)
        return AE_ERR_IO;
    uint8_t chunk[WRITE_CHUNK * 4];
    size_t per = elem_size(type);
    for (size_t first = 0; first < count; first += WRITE_CHUNK) {
        size_t n = count - first < WRITE_CHUNK ? count - first : WRITE_CHUNK;
        put_elements(chunk, type, data, first, n);
        if (fwrite(chunk, per, n, f) != n)
            return AE_ERR_IO;
    }
    return AE_OK;
}

ae_status ae_npy_save(const char *path, ae_npy_type type, const void *data,
                      const size_t *shape, int ndim)
{
    AE_REQUIRE(path);
    size_t count = 0;
    ae_status s = check_array("ae_npy_save", type, data, shape, ndim,
                              &count);
    if (s != AE_OK)
        return s;
    if (path[0] == '\0')
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "ae_npy_save: empty path");
    char header[HEADER_ROOM];
    size_t hlen = format_header(header, sizeof header, type, shape, ndim);
    ae__atomic_file file;
    s = ae__atomic_open(&file, path);
    if (s != AE_OK)
        return s;
    if (write_body(file.f, type, data, count, header, hlen) != AE_OK) {
        s = ae__fail_io("write", path, errno);
        ae__atomic_abort(&file);
        return s;
    }
    return ae__atomic_commit(&file);
}

/* ---- reading ------------------------------------------------------------ */

/* A cursor over the header dict; errors name the byte's offset in the
 * file. */
typedef struct scan {
    const char *h;
    size_t n, i, base; /* base: the header's offset in the file */
} scan;

static void skip_space(scan *c)
{
    while (c->i < c->n && (c->h[c->i] == ' ' || c->h[c->i] == '\t'))
        c->i++;
}

static ae_status bad(const scan *c, const char *what)
{
    return ae__fail(AE_ERR_FORMAT, "NumPy header: offset %zu: %s",
                    c->base + c->i, what);
}

static int take(scan *c, char ch)
{
    skip_space(c);
    if (c->i < c->n && c->h[c->i] == ch) {
        c->i++;
        return 1;
    }
    return 0;
}

/* A quoted string of at most room - 1 characters, without escapes. */
static ae_status read_string(scan *c, char *out, size_t room)
{
    skip_space(c);
    if (c->i >= c->n || (c->h[c->i] != '\'' && c->h[c->i] != '"'))
        return bad(c, "expected a quoted string");
    char quote = c->h[c->i++];
    size_t len = 0;
    while (c->i < c->n && c->h[c->i] != quote) {
        char ch = c->h[c->i];
        if (ch == '\\' || (unsigned char)ch < 0x20 || (unsigned char)ch > 0x7e)
            return bad(c, "unexpected character in a string");
        if (len + 1 >= room)
            return bad(c, "string too long");
        out[len++] = ch;
        c->i++;
    }
    if (c->i >= c->n)
        return bad(c, "unterminated string");
    c->i++;
    out[len] = '\0';
    return AE_OK;
}

static ae_status read_bool(scan *c, int *v)
{
    skip_space(c);
    if (c->n - c->i >= 4 && memcmp(c->h + c->i, "True", 4) == 0) {
        c->i += 4;
        *v = 1;
    } else if (c->n - c->i >= 5 && memcmp(c->h + c->i, "False", 5) == 0) {
        c->i += 5;
        *v = 0;
    } else {
        return bad(c, "expected True or False");
    }
    return AE_OK;
}

static ae_status read_shape(scan *c, size_t *shape, int *ndim)
{
    if (!take(c, '('))
        return bad(c, "expected '(' to open the shape");
    int d = 0;
    for (;;) {
        skip_space(c);
        if (take(c, ')'))
            break;
        if (c->i >= c->n || c->h[c->i] < '0' || c->h[c->i] > '9')
            return bad(c, "expected a dimension");
        if (d == AE_NPY_MAX_DIMS)
            return ae__fail(AE_ERR_LIMIT, "NumPy header: offset %zu: more "
                            "than %d dimensions", c->base + c->i,
                            AE_NPY_MAX_DIMS);
        size_t v = 0;
        while (c->i < c->n && c->h[c->i] >= '0' && c->h[c->i] <= '9') {
            size_t digit = (size_t)(c->h[c->i] - '0');
            if (v > (SIZE_MAX - digit) / 10)
                return ae__fail(AE_ERR_LIMIT, "NumPy header: offset %zu: "
                                "dimension too large", c->base + c->i);
            v = v * 10 + digit;
            c->i++;
        }
        shape[d++] = v;
        if (take(c, ','))
            continue;
        if (take(c, ')'))
            break;
        return bad(c, "expected ',' or ')' in the shape");
    }
    *ndim = d;
    return AE_OK;
}

typedef struct header {
    ae_npy_type type;
    int fortran;
    size_t shape[AE_NPY_MAX_DIMS];
    int ndim;
} header;

static ae_status read_descr(scan *c, header *hd)
{
    char d[16];
    size_t at = c->base + c->i;
    ae_status s = read_string(c, d, sizeof d);
    if (s != AE_OK)
        return s;
    if (strcmp(d, "<f4") == 0)
        hd->type = AE_NPY_F32;
    else if (strcmp(d, "|u1") == 0 || strcmp(d, "<u1") == 0 ||
             strcmp(d, ">u1") == 0 || strcmp(d, "u1") == 0)
        hd->type = AE_NPY_U8;
    else
        return ae__fail(AE_ERR_UNSUPPORTED, "NumPy header: offset %zu: "
                        "element type '%s' is neither little-endian "
                        "float32 ('<f4') nor uint8 ('|u1')", at, d);
    return AE_OK;
}

static ae_status parse_header(const char *h, size_t n, size_t base,
                              header *hd)
{
    scan c = {h, n, 0, base};
    enum { DESCR = 1, FORTRAN = 2, SHAPE = 4 };
    int seen = 0;
    if (!take(&c, '{'))
        return bad(&c, "expected '{'");
    while (!take(&c, '}')) {
        char key[32];
        ae_status s = read_string(&c, key, sizeof key);
        if (s != AE_OK)
            return s;
        int which = strcmp(key, "descr") == 0           ? DESCR
                    : strcmp(key, "fortran_order") == 0 ? FORTRAN
                    : strcmp(key, "shape") == 0         ? SHAPE
                                                        : 0;
        if (which == 0)
            return bad(&c, "unknown key (only 'descr', 'fortran_order' and "
                           "'shape' belong in a .npy header)");
        if (seen & which)
            return bad(&c, "key given twice");
        seen |= which;
        if (!take(&c, ':'))
            return bad(&c, "expected ':'");
        s = which == DESCR     ? read_descr(&c, hd)
            : which == FORTRAN ? read_bool(&c, &hd->fortran)
                               : read_shape(&c, hd->shape, &hd->ndim);
        if (s != AE_OK)
            return s;
        if (take(&c, ','))
            continue;
        if (take(&c, '}'))
            break;
        return bad(&c, "expected ',' or '}'");
    }
    if (seen != (DESCR | FORTRAN | SHAPE))
        return bad(&c, !(seen & DESCR)     ? "no 'descr' key"
                       : !(seen & FORTRAN) ? "no 'fortran_order' key"
                                           : "no 'shape' key");
    skip_space(&c);
    if (c.i + 1 != c.n || c.h[c.i] != '\n')
        return bad(&c, "the header must end with spaces and a newline");
    return AE_OK;
}

/* Where the header and the data start, from the preamble. */
static ae_status read_preamble(const uint8_t *p, size_t size,
                               size_t *header_at, size_t *header_len)
{
    if (size < PREAMBLE_V1 || memcmp(p, NPY_MAGIC, sizeof NPY_MAGIC) != 0)
        return ae__fail(AE_ERR_FORMAT, "not a NumPy .npy file (no "
                        "\\x93NUMPY magic at offset 0)");
    unsigned major = p[6], minor = p[7];
    if (major < 1 || major > 3 || minor != 0)
        return ae__fail(AE_ERR_UNSUPPORTED, "offset 6: .npy format version "
                        "%u.%u (1.0, 2.0 and 3.0 are read)", major, minor);
    if (major == 1) {
        *header_at = PREAMBLE_V1;
        *header_len = (size_t)p[8] | (size_t)p[9] << 8;
    } else {
        if (size < PREAMBLE_V2)
            return ae__fail(AE_ERR_FORMAT, "truncated: %zu bytes, the "
                            "version %u preamble needs %d", size, major,
                            PREAMBLE_V2);
        *header_at = PREAMBLE_V2;
        *header_len = ae__get_u32(p + 8);
    }
    if (*header_len > MAX_HEADER)
        return ae__fail(AE_ERR_LIMIT, "offset 8: a header of %zu bytes "
                        "(the limit is %d)", *header_len, MAX_HEADER);
    if (*header_len == 0 || *header_len > size - *header_at)
        return ae__fail(AE_ERR_FORMAT, "offset 8: a header of %zu bytes, "
                        "the file has %zu after the preamble", *header_len,
                        size - *header_at);
    return AE_OK;
}

static ae_status parse(ae_npy **out, const uint8_t *p, size_t size)
{
    size_t at = 0, hlen = 0;
    ae_status s = read_preamble(p, size, &at, &hlen);
    header hd = {0};
    if (s == AE_OK)
        s = parse_header((const char *)p + at, hlen, at, &hd);
    if (s != AE_OK)
        return s;
    if (hd.fortran && hd.ndim > 1)
        return ae__fail(AE_ERR_UNSUPPORTED, "the array is in Fortran "
                        "order; write it in C order (np.ascontiguousarray)");
    size_t count = 1, bytes;
    for (int i = 0; i < hd.ndim; i++)
        if (!ae__mul_size(count, hd.shape[i], &count))
            return ae__fail(AE_ERR_LIMIT, "the shape's product overflows "
                            "at dimension %d", i);
    if (!ae__mul_size(count, elem_size(hd.type), &bytes))
        return ae__fail(AE_ERR_LIMIT, "%zu elements overflow a size", count);
    size_t data_at = at + hlen, have = size - data_at;
    if (have != bytes)
        return ae__fail(AE_ERR_FORMAT, "offset %zu: %zu bytes of data, the "
                        "shape needs %zu (%s)", data_at, have, bytes,
                        have < bytes ? "truncated" : "trailing bytes");
    ae_npy *a;
    AE_ALLOC_OR_FAIL(a, 1, "the array handle");
    a->data = ae__alloc(bytes ? bytes : 1);
    if (a->data == NULL) {
        ae__free(a);
        return ae__fail(AE_ERR_NO_MEMORY, "cannot allocate %zu bytes for "
                        "the array", bytes);
    }
    a->type = hd.type;
    a->ndim = hd.ndim;
    memcpy(a->shape, hd.shape, sizeof a->shape);
    a->count = count;
    const uint8_t *d = p + data_at;
    if (hd.type == AE_NPY_U8) {
        memcpy(a->data, d, count);
    } else {
        float *x = a->data;
        for (size_t i = 0; i < count; i++)
            x[i] = ae__get_f32(d + 4 * i);
    }
    *out = a;
    return AE_OK;
}

ae_status ae_npy_load_memory(ae_npy **out, const void *data, size_t size)
{
    AE_REQUIRE(out);
    *out = NULL;
    AE_REQUIRE(data);
    return parse(out, data, size);
}

ae_status ae_npy_load(ae_npy **out, const char *path)
{
    AE_REQUIRE(out);
    *out = NULL;
    AE_REQUIRE(path);
    uint8_t *buf = NULL;
    size_t len = 0;
    ae_status s = ae__read_file(path, MAX_NPY_BYTES, &buf, &len);
    if (s == AE_OK)
        s = parse(out, buf, len);
    ae__free(buf);
    if (s != AE_OK && s != AE_ERR_IO && s != AE_ERR_NO_MEMORY)
        return ae__fail_context(s, "%s", path);
    return s;
}

void ae_npy_free(ae_npy *a)
{
    if (a == NULL)
        return;
    ae__free(a->data);
    ae__free(a);
}

ae_npy_type ae_npy_element_type(const ae_npy *a)
{
    return a ? a->type : (ae_npy_type)0;
}

int ae_npy_ndim(const ae_npy *a)
{
    return a ? a->ndim : 0;
}

size_t ae_npy_dim(const ae_npy *a, int axis)
{
    return a && axis >= 0 && axis < a->ndim ? a->shape[axis] : 0;
}

size_t ae_npy_count(const ae_npy *a)
{
    return a ? a->count : 0;
}

const void *ae_npy_data(const ae_npy *a)
{
    return a ? a->data : NULL;
}

/*
 * idx.c - MNIST IDX files, raw or gzip-compressed, from a path or memory.
 *
 * Every input is hostile until checked.  The header is read first; the
 * declared size is checked for overflow, limits and (when the input's length
 * is known) against that length before anything is allocated; then the
 * declared bytes are read, and one byte more is asked for, so trailing data
 * is caught and a gzip bomb never inflates past the declared size + 1.
 * Where the input's length does not bound the declared size tightly (a
 * pipe, or gzip data declaring more than GZIP_EAGER_RATIO times its own
 * size, though deflate may inflate up to 1032-fold), the buffer grows with
 * the data that arrives instead of being allocated at the declared size,
 * so a lying header costs at most about twice what the input holds.
 *
 * ae_dataset_map_idx checks a raw image file's header and exact size the
 * same way, then maps the file instead of reading its data (dataset.c).
 *
 * Format: big-endian uint32 magic 0x00000803 (images) or 0x00000801
 * (labels), then one big-endian uint32 per dimension (N, H, W or N), then
 * the uint8 data.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* fileno, fstat, XSI strerror_r */
#endif

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "data/dataset.h"

enum {
    IDX_MAGIC_IMAGES = 0x00000803,
    IDX_MAGIC_LABELS = 0x00000801,
    IDX_MAX_SIDE = 4096,     /* larger images are surely not MNIST-style */
    IDX_READ_CHUNK = 1 << 16,
    GZIP_MAX_RATIO = 1032,   /* deflate's largest possible expansion */
    /* Image data compresses 2-5 fold (MNIST 4.8, Fashion-MNIST 1.8).  Up
     * to this ratio the declared size is allocated at once; beyond it the
     * buffer grows as the data inflates.  Growing for every file cost 16
     * MB of peak memory: the buffers freed on the way raise glibc's mmap
     * threshold, and later allocations stay in the heap. */
    GZIP_EAGER_RATIO = 16
};

/* Where one IDX input comes from: a path, or a memory buffer. */
typedef struct idx_origin {
    const char *path;  /* file input, or NULL */
    const uint8_t *data;
    size_t size;
    const char *name;  /* for messages: the path, or "image buffer" */
} idx_origin;

/* An open input being decoded. */
typedef struct idx_src {
    const char *name;
    FILE *file;            /* file input, or NULL */
    uint8_t *chunk;        /* file read buffer */
    const uint8_t *next;   /* input read but not yet decoded */
    size_t avail;
    size_t consumed;       /* input bytes decoded so far */
    size_t raw_size;       /* whole input length, or SIZE_MAX if unknown */
    int gzip;
    int z_open;            /* z needs inflateEnd */
    int z_done;            /* the last gzip member ended cleanly */
    z_stream z;
} idx_src;

/* One decoded IDX file. */
typedef struct idx_data {
    uint8_t *bytes;  /* dim[0] * dim[1] * dim[2] bytes, from ae__alloc */
    uint32_t dim[3]; /* unused dimensions are 1 */
} idx_data;

/* ---- reading undecoded input ------------------------------------------- */

/* Make input available in next/avail unless the input is over (avail 0). */
static ae_status src_fill(idx_src *src)
{
    if (src->avail > 0 || src->file == NULL)
        return AE_OK;
    size_t n = fread(src->chunk, 1, IDX_READ_CHUNK, src->file);
    if (n == 0 && ferror(src->file))
        return ae__fail_io("read", src->name, errno);
    src->next = src->chunk;
    src->avail = n;
    return AE_OK;
}

static void src_consume(idx_src *src, size_t n)
{
    src->next += n;
    src->avail -= n;
    src->consumed += n;
}

static ae_status src_open(idx_src *src, const idx_origin *in)
{
    memset(src, 0, sizeof *src);
    src->name = in->name;
    src->raw_size = SIZE_MAX;
    if (in->path == NULL) {
        src->next = in->data;
        src->avail = in->size;
        src->raw_size = in->size;
        return AE_OK;
    }
    src->file = fopen(in->path, "rb");
    if (src->file == NULL)
        return ae__fail_io("open", in->path, errno);
    struct stat sb;
    if (fstat(fileno(src->file), &sb) == 0 && S_ISREG(sb.st_mode) &&
        (uintmax_t)sb.st_size < SIZE_MAX)
        src->raw_size = (size_t)sb.st_size;
    src->chunk = ae__alloc(IDX_READ_CHUNK);
    if (src->chunk == NULL)
        return ae__fail(AE_ERR_NO_MEMORY, "%s: cannot allocate a read buffer",
                        src->name);
    return AE_OK;
}

static void src_close(idx_src *src)
{
    if (src->z_open)
        inflateEnd(&src->z);
    if (src->file)
        fclose(src->file);
    ae__free(src->chunk);
}

/* Reject empty input and recognise gzip by its magic bytes. */
static ae_status src_start(idx_src *src)
{
    ae_status s = src_fill(src);
    if (s != AE_OK)
        return s;
    if (src->avail == 0)
        return ae__fail(AE_ERR_FORMAT, "%s: is empty", src->name);
    src->gzip = src->avail >= 2 && src->next[0] == 0x1f && src->next[1] == 0x8b;
    if (!src->gzip)
        return AE_OK;
    /* 16 + MAX_WBITS: gzip wrapper only, with its CRC and length checked. */
    int r = inflateInit2(&src->z, 16 + MAX_WBITS);
    if (r != Z_OK)
        return ae__fail(AE_ERR_NO_MEMORY, "%s: cannot start zlib (%d)",
                        src->name, r);
    src->z_open = 1;
    return AE_OK;
}

/* ---- reading decoded bytes --------------------------------------------- */

static ae_status raw_read(idx_src *src, uint8_t *dst, size_t n, size_t *got)
{
    while (*got < n) {
        ae_status s = src_fill(src);
        if (s != AE_OK)
            return s;
        if (src->avail == 0)
            break;
        size_t take = n - *got < src->avail ? n - *got : src->avail;
        memcpy(dst + *got, src->next, take);
        src_consume(src, take);
        *got += take;
    }
    return AE_OK;
}

static ae_status gz_error(const idx_src *src, int r)
{
    if (r == Z_MEM_ERROR)
        return ae__fail(AE_ERR_NO_MEMORY, "%s: zlib is out of memory",
                        src->name);
    return ae__fail(AE_ERR_FORMAT,
                    "%s: corrupt gzip data near compressed offset %zu: %s",
                    src->name, src->consumed,
                    src->z.msg ? src->z.msg : "inflate failed");
}

/* A gzip member ended: input left over must be a further member (as gzip
 * itself allows); if it is not, inflate reports a bad header. */
static ae_status gz_member_end(idx_src *src)
{
    ae_status s = src_fill(src);
    if (s != AE_OK)
        return s;
    if (src->avail == 0) {
        src->z_done = 1;
        return AE_OK;
    }
    int r = inflateReset(&src->z);
    return r == Z_OK ? AE_OK : gz_error(src, r);
}

static ae_status gz_read(idx_src *src, uint8_t *dst, size_t n, size_t *got)
{
    z_stream *z = &src->z;
    while (*got < n && !src->z_done) {
        ae_status s = src_fill(src);
        if (s != AE_OK)
            return s;
        if (src->avail == 0)
            break; /* input over mid-stream: the caller reports truncation */
        uInt in0 = src->avail < UINT_MAX ? (uInt)src->avail : UINT_MAX;
        uInt out0 = n - *got < UINT_MAX ? (uInt)(n - *got) : UINT_MAX;
        z->next_in = (Bytef *)(uintptr_t)src->next; /* zlib's API is not
                                                       const-correct */
        z->avail_in = in0;
        z->next_out = dst + *got;
        z->avail_out = out0;
        int r = inflate(z, Z_NO_FLUSH);
        src_consume(src, in0 - z->avail_in);
        *got += out0 - z->avail_out;
        if (r == Z_STREAM_END)
            s = gz_member_end(src);
        else if (r != Z_OK || (z->avail_in == in0 && z->avail_out == out0))
            s = gz_error(src, r); /* an error, or no progress at all */
        if (s != AE_OK)
            return s;
    }
    return AE_OK;
}

/* Read up to n decoded bytes; *got < n only when the data is over. */
static ae_status src_read(idx_src *src, uint8_t *dst, size_t n, size_t *got)
{
    *got = 0;
    return src->gzip ? gz_read(src, dst, n, got) : raw_read(src, dst, n, got);
}

/* ---- the IDX layout ---------------------------------------------------- */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

/* Check the dimensions of an image file and compute its data size. */
static ae_status check_image_dims(const idx_src *src, const uint32_t *d,
                                  size_t *size)
{
    if (d[0] == 0)
        return ae__fail(AE_ERR_FORMAT, "%s: holds zero images", src->name);
    if (d[1] == 0 || d[2] == 0)
        return ae__fail(AE_ERR_FORMAT, "%s: images of zero size (%" PRIu32
                        " x %" PRIu32 ")", src->name, d[1], d[2]);
    size_t plane;
    if (!ae__mul_size(d[1], d[2], &plane) || !ae__mul_size(d[0], plane, size))
        return ae__fail(AE_ERR_LIMIT, "%s: %" PRIu32 " x %" PRIu32 " x %" PRIu32
                        " pixels overflow size_t", src->name, d[0], d[1], d[2]);
    if (d[1] > IDX_MAX_SIDE || d[2] > IDX_MAX_SIDE)
        return ae__fail(AE_ERR_LIMIT, "%s: images of %" PRIu32 " x %" PRIu32
                        " exceed the %d x %d limit", src->name, d[1], d[2],
                        IDX_MAX_SIDE, IDX_MAX_SIDE);
    return AE_OK;
}

/* Refuse a declared size the input cannot hold, before allocating it. */
static ae_status check_declared_size(const idx_src *src, size_t head,
                                     size_t body)
{
    size_t total = head + body;
    if (src->raw_size == SIZE_MAX)
        return AE_OK; /* a pipe, say: only reading tells */
    if (!src->gzip && src->raw_size < total)
        return ae__fail(AE_ERR_FORMAT, "%s: truncated: expected %zu bytes "
                        "(%zu-byte header + %zu data bytes), found %zu",
                        src->name, total, head, body, src->raw_size);
    if (!src->gzip && src->raw_size > total)
        return ae__fail(AE_ERR_FORMAT, "%s: %zu trailing byte(s) after the "
                        "%zu bytes the header declares", src->name,
                        src->raw_size - total, total);
    size_t most;
    if (src->gzip && ae__mul_size(src->raw_size, GZIP_MAX_RATIO, &most) &&
        total > most)
        return ae__fail(AE_ERR_FORMAT, "%s: truncated: header declares %zu "
                        "bytes but %zu bytes of gzip data hold at most %zu",
                        src->name, total, src->raw_size, most);
    return AE_OK;
}

/* First size of a buffer that grows with the data (see the top). */
#define IDX_GROW_FIRST ((size_t)1 << 20)

/* Read up to `body` bytes into *bytes (allocated here, freed by the
 * caller), *got of them before the input ended: allocated at once when
 * the input's length has bounded body tightly, else doubled as data
 * arrives. */
static ae_status read_growing(idx_src *src, size_t body, uint8_t **bytes,
                              size_t *got)
{
    size_t eager;
    const int grow =
        src->raw_size == SIZE_MAX ||
        (src->gzip && (!ae__mul_size(src->raw_size, GZIP_EAGER_RATIO, &eager) ||
                       body > eager));
    size_t cap = grow && body > IDX_GROW_FIRST ? IDX_GROW_FIRST : body;
    *got = 0;
    *bytes = ae__alloc(cap);
    if (*bytes == NULL)
        return ae__fail(AE_ERR_NO_MEMORY, "%s: cannot allocate %zu bytes",
                        src->name, cap);
    for (;;) {
        size_t n;
        ae_status s = src_read(src, *bytes + *got, cap - *got, &n);
        *got += n;
        if (s != AE_OK || *got < cap || cap == body)
            return s;
        size_t next = cap > body / 2 ? body : 2 * cap;
        uint8_t *bigger = ae__alloc(next);
        if (bigger == NULL)
            return ae__fail(AE_ERR_NO_MEMORY, "%s: cannot allocate %zu bytes",
                            src->name, next);
        memcpy(bigger, *bytes, *got);
        ae__free(*bytes);
        *bytes = bigger;
        cap = next;
    }
}

/* Read the data after the header: exactly `body` bytes, then nothing. */
static ae_status read_body(idx_src *src, size_t head, size_t body,
                           uint8_t **out)
{
    uint8_t *bytes;
    size_t got, extra;
    uint8_t probe;
    ae_status s = read_growing(src, body, &bytes, &got);
    if (s == AE_OK && got < body)
        s = ae__fail(AE_ERR_FORMAT, "%s: truncated: expected %zu bytes "
                     "(%zu-byte header + %zu data bytes), found %zu",
                     src->name, head + body, head, body, head + got);
    if (s == AE_OK)
        s = src_read(src, &probe, 1, &extra);
    if (s == AE_OK && extra > 0)
        s = ae__fail(AE_ERR_FORMAT, "%s: data continues past the %zu bytes "
                     "the header declares", src->name, head + body);
    if (s == AE_OK && src->gzip && !src->z_done)
        s = ae__fail(AE_ERR_FORMAT, "%s: truncated: the gzip stream ends "
                     "without its trailer", src->name);
    if (s != AE_OK) {
        ae__free(bytes);
        return s;
    }
    *out = bytes;
    return AE_OK;
}

/* Read and check the header of an IDX file of ndims dimensions (3: images,
 * 1: labels): dim (unused dimensions 1), the header and data sizes, the
 * latter checked for overflow, limits and (when the input's length is
 * known) against that length. */
static ae_status idx_header(idx_src *src, int ndims, uint32_t *dim,
                            size_t *head_out, size_t *body_out)
{
    const uint32_t magic = ndims == 3 ? IDX_MAGIC_IMAGES : IDX_MAGIC_LABELS;
    const size_t head = 4 + 4 * (size_t)ndims;
    uint8_t h[16];
    size_t got;
    ae_status s = src_read(src, h, head, &got);
    if (s != AE_OK)
        return s;
    if (got < head)
        return ae__fail(AE_ERR_FORMAT, "%s: truncated header: %zu of %zu "
                        "bytes", src->name, got, head);
    if (be32(h) != magic)
        return ae__fail(AE_ERR_FORMAT, "%s: magic 0x%08" PRIX32 " is not that "
                        "of an IDX %s file (0x%08" PRIX32 ")", src->name,
                        be32(h), ndims == 3 ? "image" : "label", magic);
    dim[0] = dim[1] = dim[2] = 1;
    for (int k = 0; k < ndims; k++)
        dim[k] = be32(h + 4 + 4 * k);
    size_t body = dim[0];
    s = ndims == 3 ? check_image_dims(src, dim, &body) : AE_OK;
    if (s == AE_OK && body > SIZE_MAX - head)
        s = ae__fail(AE_ERR_LIMIT, "%s: %zu data bytes overflow size_t",
                     src->name, body);
    if (s == AE_OK)
        s = check_declared_size(src, head, body);
    *head_out = head;
    *body_out = body;
    return s;
}

/* Read one IDX file of ndims dimensions (3: images, 1: labels). */
static ae_status idx_read(idx_src *src, int ndims, idx_data *out)
{
    size_t head = 0, body = 0;
    ae_status s = idx_header(src, ndims, out->dim, &head, &body);
    if (s == AE_OK)
        s = read_body(src, head, body, &out->bytes);
    return s;
}

static ae_status idx_read_origin(const idx_origin *in, int ndims,
                                 idx_data *out)
{
    idx_src src;
    ae_status s = src_open(&src, in);
    if (s == AE_OK)
        s = src_start(&src);
    if (s == AE_OK)
        s = idx_read(&src, ndims, out);
    src_close(&src);
    return s;
}

/* ---- public loaders ---------------------------------------------------- */

static ae_status load(ae_dataset **out, const idx_origin *images,
                      const idx_origin *labels)
{
    idx_data im = {0}, lb = {0};
    ae_status s = idx_read_origin(images, 3, &im);
    if (s == AE_OK && labels)
        s = idx_read_origin(labels, 1, &lb);
    if (s == AE_OK && labels && lb.dim[0] != im.dim[0])
        s = ae__fail(AE_ERR_SHAPE, "%s holds %" PRIu32 " images but %s holds %"
                     PRIu32 " labels", images->name, im.dim[0], labels->name,
                     lb.dim[0]);
    if (s != AE_OK) {
        ae__free(im.bytes);
        ae__free(lb.bytes);
        return s;
    }
    return ae__dataset_adopt(out, im.bytes, lb.bytes, im.dim[0],
                             (int)im.dim[1], (int)im.dim[2]);
}

ae_status ae_dataset_load_idx(ae_dataset **out, const char *images_path,
                              const char *labels_path)
{
    AE_REQUIRE(out);
    *out = NULL;
    AE_REQUIRE(images_path);
    idx_origin im = {.path = images_path, .name = images_path};
    idx_origin lb = {.path = labels_path, .name = labels_path};
    return load(out, &im, labels_path ? &lb : NULL);
}

/* Open a raw IDX image file for mapping: its header checked and its size
 * exactly what the header declares.  src stays open for the caller. */
static ae_status map_open(idx_src *src, const idx_origin *in, uint32_t *dim,
                          size_t *head, size_t *body)
{
    ae_status s = src_open(src, in);
    if (s == AE_OK)
        s = src_start(src);
    if (s != AE_OK)
        return s;
    if (src->gzip)
        return ae__fail(AE_ERR_UNSUPPORTED, "%s: is gzip-compressed and "
                        "cannot be memory-mapped: decompress it (gunzip -k) "
                        "or read it with ae_dataset_load_idx", src->name);
    if (src->raw_size == SIZE_MAX)
        return ae__fail(AE_ERR_UNSUPPORTED, "%s: is not a regular file and "
                        "cannot be memory-mapped: read it with "
                        "ae_dataset_load_idx", src->name);
    return idx_header(src, 3, dim, head, body);
}

ae_status ae_dataset_map_idx(ae_dataset **out, const char *images_path,
                             const char *labels_path)
{
    AE_REQUIRE(out);
    *out = NULL;
    AE_REQUIRE(images_path);
    idx_origin im = {.path = images_path, .name = images_path};
    idx_origin lb_in = {.path = labels_path, .name = labels_path};
    idx_src src;
    idx_data lb = {0};
    uint32_t dim[3];
    size_t head = 0, body = 0;
    ae_status s = map_open(&src, &im, dim, &head, &body);
    if (s == AE_OK && labels_path)
        s = idx_read_origin(&lb_in, 1, &lb);
    if (s == AE_OK && labels_path && lb.dim[0] != dim[0])
        s = ae__fail(AE_ERR_SHAPE, "%s holds %" PRIu32 " images but %s holds %"
                     PRIu32 " labels", images_path, dim[0], labels_path,
                     lb.dim[0]);
    if (s == AE_OK)
        s = ae__dataset_adopt_mapped(out, fileno(src.file), head + body, head,
                                     lb.bytes, dim[0], (int)dim[1],
                                     (int)dim[2], images_path);
    else
        ae__free(lb.bytes);
    src_close(&src);
    return s;
}

ae_status ae_dataset_load_idx_memory(ae_dataset **out, const void *images,
                                     size_t images_size, const void *labels,
                                     size_t labels_size)
{
    AE_REQUIRE(out);
    *out = NULL;
    AE_REQUIRE(images);
    if (labels == NULL && labels_size != 0)
        return ae__fail(AE_ERR_NULL, "ae_dataset_load_idx_memory: labels is "
                        "NULL but labels_size is %zu", labels_size);
    idx_origin im = {.data = images, .size = images_size,
                     .name = "image buffer"};
    idx_origin lb = {.data = labels, .size = labels_size,
                     .name = "label buffer"};
    return load(out, &im, labels ? &lb : NULL);
}

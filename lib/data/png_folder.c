/*
 * image_png.c - pictures through libpng: image grids written as PNG, and
 * datasets read from a folder of PNG images (one subfolder per class).
 *
 * libpng reports errors by longjmp.  Each function that calls setjmp keeps
 * everything it must see after a longjmp in a struct reached through an
 * unchanging pointer parameter, and touches none of its own locals after
 * the jump; so none needs to be volatile, and the caller, which never calls
 * setjmp, does all the cleaning up.  libpng's warnings are swallowed (the
 * library never prints), its errors become the ae_last_error() detail, and
 * its memory (zlib's included) comes from ae__alloc.
 *
 * Pictures are written row by row, so a large grid never needs its whole
 * raster in memory, into a temporary file beside the destination that is
 * synced and renamed into place (atomic_file.c).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* strerror_r, opendir */
#endif

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic_file.h"
#include "dataset.h"
#include "image_png.h"

enum {
    GRID_GAP = 2,            /* pixels between tiles and around the grid */
    GRID_GAP_VALUE = 128,    /* their gray level */
    GRID_CONST_VALUE = 128,  /* a constant tile under per-tile scaling */
    GRID_MAX_SCALE = 16,
    GRID_MAX_SIDE = 32768,   /* of the whole picture */
    PNG_MAX_SIDE = 4096,     /* of a tile, and of an image read */
    PNG_MAX_CLASSES = 256,   /* labels are uint8 */
    PNG_MAX_IMAGES = 10000000,
    /* ITU-R 601 luma, as PIL's convert("L") and so torchvision's
     * Grayscale: 0.299 R + 0.587 G + 0.114 B (libpng fixed point, 1e-5) */
    GRAY_RED = 29900,
    GRAY_GREEN = 58700
};

static ae_status io_error(const char *what, const char *path, int err)
{
    char msg[128];
    if (strerror_r(err, msg, sizeof msg) != 0)
        snprintf(msg, sizeof msg, "error %d", err);
    return ae__fail(AE_ERR_IO, "cannot %s %s: %s", what, path, msg);
}

/* ---- libpng glue --------------------------------------------------------- */

/* What libpng's callbacks need, and what they leave for the caller. */
typedef struct png_glue {
    FILE *file;
    char msg[200];    /* libpng's error message */
    int io_errno;     /* errno of a failed read or write, else 0 */
    int alloc_failed; /* an allocation for libpng failed */
} png_glue;

static void glue_error(png_structp png, png_const_charp msg)
{
    png_glue *g = png_get_error_ptr(png);
    snprintf(g->msg, sizeof g->msg, "%s", msg ? msg : "unknown error");
    png_longjmp(png, 1);
}

static void glue_warning(png_structp png, png_const_charp msg)
{
    (void)png; /* the library never prints */
    (void)msg;
}

static png_voidp glue_alloc(png_structp png, png_alloc_size_t size)
{
    void *p = ae__alloc((size_t)size);
    if (p == NULL) {
        png_glue *g = png_get_mem_ptr(png);
        g->alloc_failed = 1;
    }
    return p;
}

static void glue_free(png_structp png, png_voidp ptr)
{
    (void)png;
    ae__free(ptr);
}

static void glue_read(png_structp png, png_bytep data, size_t size)
{
    png_glue *g = png_get_io_ptr(png);
    if (fread(data, 1, size, g->file) == size)
        return;
    if (ferror(g->file)) {
        g->io_errno = errno != 0 ? errno : EIO;
        png_error(png, "read error");
    }
    png_error(png, "the file is truncated");
}

static void glue_write(png_structp png, png_bytep data, size_t size)
{
    png_glue *g = png_get_io_ptr(png);
    if (fwrite(data, 1, size, g->file) != size) {
        g->io_errno = errno != 0 ? errno : EIO;
        png_error(png, "write error");
    }
}

static void glue_flush(png_structp png)
{
    (void)png; /* the file is flushed and synced once, at the end */
}

/* ---- writing grids ----------------------------------------------------- */

/* A grid being drawn.  Tile k's value v becomes (v - off[k]) * mul[k],
 * rounded and clipped to 0..255; mul[k] == 0 marks a constant tile. */
typedef struct grid {
    const float *tiles;
    size_t count, cols, rows;
    size_t channels, height, width, scale;
    size_t tile_size;      /* channels * height * width */
    size_t out_w, out_h;   /* picture size in pixels */
    double *off, *mul;     /* count each */
} grid;

static uint8_t to_byte(float v, double off, double mul)
{
    if (mul == 0.0)
        return GRID_CONST_VALUE;
    double t = ((double)v - off) * mul;
    if (!(t > 0.0))
        return 0;
    if (t >= 255.0)
        return 255;
    return (uint8_t)(t + 0.5);
}

/* Picture row y into row (out_w * channels bytes). */
static void grid_row(const grid *g, size_t y, uint8_t *row)
{
    const size_t nc = g->channels, plane = g->height * g->width;
    const size_t cell_w = g->width * g->scale + GRID_GAP;
    const size_t cell_h = g->height * g->scale + GRID_GAP;
    memset(row, GRID_GAP_VALUE, g->out_w * nc);
    if (y < GRID_GAP)
        return;
    size_t r = (y - GRID_GAP) / cell_h, in = (y - GRID_GAP) % cell_h;
    if (in >= g->height * g->scale)
        return;
    size_t py = in / g->scale;
    for (size_t c = 0; c < g->cols; c++) {
        size_t k = r * g->cols + c;
        if (k >= g->count)
            break;
        const float *src = g->tiles + k * g->tile_size + py * g->width;
        uint8_t *dst = row + (GRID_GAP + c * cell_w) * nc;
        for (size_t px = 0; px < g->width; px++)
            for (size_t ch = 0; ch < nc; ch++) {
                uint8_t b = to_byte(src[ch * plane + px], g->off[k], g->mul[k]);
                for (size_t s = 0; s < g->scale; s++)
                    dst[(px * g->scale + s) * nc + ch] = b;
            }
    }
}

/* Encode the grid through png, whose error and io pointers are set.
 * Returns 0, or -1 after a libpng error.  Nothing read after the longjmp
 * was changed after setjmp, so nothing here needs to be volatile. */
static int grid_encode(png_structp png, png_infop info, const void *what,
                       uint8_t *row)
{
    const grid *g = what;
    if (setjmp(png_jmpbuf(png)))
        return -1;
    png_set_IHDR(png, info, (png_uint_32)g->out_w, (png_uint_32)g->out_h, 8,
                 g->channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (size_t y = 0; y < g->out_h; y++) {
        grid_row(g, y, row);
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    return 0;
}

static ae_status grid_check(const char *path, const float *tiles, size_t count,
                            int cols, int channels, int height, int width,
                            float lo, float hi, int scale)
{
    const char *fn = "ae_image_grid_write_png";
    if (path[0] == '\0')
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "%s: empty path", fn);
    if (count == 0)
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "%s: no tiles (count 0)", fn);
    if (cols < 1)
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "%s: cols %d is not >= 1",
                        fn, cols);
    if (channels != 1 && channels != 3)
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "%s: channels %d is neither "
                        "1 (gray) nor 3 (RGB); draw other channel counts as "
                        "count * channels gray tiles", fn, channels);
    if (height < 1 || height > PNG_MAX_SIDE || width < 1 ||
        width > PNG_MAX_SIDE)
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "%s: tile size %d x %d is "
                        "outside 1 .. %d", fn, height, width, PNG_MAX_SIDE);
    if (scale < 1 || scale > GRID_MAX_SCALE)
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "%s: scale %d is outside "
                        "1 .. %d", fn, scale, GRID_MAX_SCALE);
    if (!isfinite(lo) || !isfinite(hi))
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "%s: lo %g and hi %g must "
                        "be finite", fn, (double)lo, (double)hi);
    size_t tile = (size_t)channels * (size_t)height * (size_t)width, n;
    if (!ae__mul_size(count, tile, &n))
        return ae__fail(AE_ERR_LIMIT, "%s: %zu tiles of %zu values overflow "
                        "size_t", fn, count, tile);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(tiles[i]))
            return ae__fail(AE_ERR_NOT_FINITE, "%s: tile %zu holds %g at "
                            "offset %zu", fn, i / tile, (double)tiles[i],
                            i % tile);
    return AE_OK;
}

/* Picture size and the per-tile value mapping. */
static ae_status grid_plan(grid *g, float lo, float hi)
{
    const char *fn = "ae_image_grid_write_png";
    size_t cell_w = g->width * g->scale + GRID_GAP;
    size_t cell_h = g->height * g->scale + GRID_GAP;
    g->rows = g->count / g->cols + (g->count % g->cols != 0);
    /* Sides are checked tile by tile so nothing overflows. */
    if (g->cols > (GRID_MAX_SIDE - GRID_GAP) / cell_w ||
        g->rows > (GRID_MAX_SIDE - GRID_GAP) / cell_h)
        return ae__fail(AE_ERR_LIMIT, "%s: %zu rows x %zu columns of %zu x "
                        "%zu-pixel tiles exceed the %d-pixel limit of a "
                        "picture's side", fn, g->rows, g->cols,
                        g->height * g->scale, g->width * g->scale,
                        GRID_MAX_SIDE);
    g->out_w = GRID_GAP + g->cols * cell_w;
    g->out_h = GRID_GAP + g->rows * cell_h;
    g->off = ae__calloc(g->count, sizeof *g->off);
    g->mul = ae__calloc(g->count, sizeof *g->mul);
    if (g->off == NULL || g->mul == NULL)
        return ae__fail(AE_ERR_NO_MEMORY, "%s: cannot allocate the scales of "
                        "%zu tiles", fn, g->count);
    for (size_t k = 0; k < g->count; k++) {
        double a = lo, b = hi;
        if (!(lo < hi)) { /* per tile: its own min .. max */
            const float *t = g->tiles + k * g->tile_size;
            a = b = t[0];
            for (size_t i = 1; i < g->tile_size; i++) {
                a = t[i] < a ? t[i] : a;
                b = t[i] > b ? t[i] : b;
            }
        }
        g->off[k] = a;
        g->mul[k] = b > a ? 255.0 / (b - a) : 0.0;
    }
    return AE_OK;
}

/* Encodes one picture through png, a row at a time in `row`: grid_encode or
 * image_encode. */
typedef int (*encode_fn)(png_structp png, png_infop info, const void *what,
                         uint8_t *row);

/* Encode `what` into the open file with a row buffer of row_bytes; on
 * libpng failure, the detail, under the public function's name fn. */
static ae_status write_encoded(const char *fn, const char *path, FILE *file,
                               size_t row_bytes, encode_fn encode,
                               const void *what)
{
    png_glue glue;
    memset(&glue, 0, sizeof glue);
    glue.file = file;
    uint8_t *row = ae__alloc(row_bytes);
    png_structp png = png_create_write_struct_2(
        PNG_LIBPNG_VER_STRING, &glue, glue_error, glue_warning, &glue,
        glue_alloc, glue_free);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    ae_status s = AE_OK;
    if (row == NULL || info == NULL) {
        s = ae__fail(AE_ERR_NO_MEMORY, "%s: cannot allocate the PNG encoder "
                     "for %s", fn, path);
    } else {
        png_set_write_fn(png, &glue, glue_write, glue_flush);
        if (encode(png, info, what, row) != 0) {
            if (glue.io_errno != 0)
                s = io_error("write", path, glue.io_errno);
            else if (glue.alloc_failed)
                s = ae__fail(AE_ERR_NO_MEMORY, "%s: out of memory encoding "
                             "%s", fn, path);
            else
                s = ae__fail(AE_ERR_FORMAT, "%s: libpng cannot encode %s: %s",
                             fn, path, glue.msg);
        }
    }
    if (png != NULL)
        png_destroy_write_struct(&png, info ? &info : NULL);
    ae__free(row);
    return s;
}

ae_status ae_image_grid_write_png(const char *path, const float *tiles,
                                  size_t count, int cols, int channels,
                                  int height, int width, float lo, float hi,
                                  int scale)
{
    AE_REQUIRE(path);
    AE_REQUIRE(tiles);
    ae_status s = grid_check(path, tiles, count, cols, channels, height, width,
                             lo, hi, scale);
    if (s != AE_OK)
        return s;
    grid g = {
        .tiles = tiles,
        .count = count,
        .cols = (size_t)cols < count ? (size_t)cols : count,
        .channels = (size_t)channels,
        .height = (size_t)height,
        .width = (size_t)width,
        .scale = (size_t)scale,
        .tile_size = (size_t)channels * (size_t)height * (size_t)width,
    };
    ae__atomic_file file;
    s = grid_plan(&g, lo, hi);
    if (s == AE_OK)
        s = ae__atomic_open(&file, path);
    if (s == AE_OK) {
        s = write_encoded("ae_image_grid_write_png", path, file.f,
                          g.out_w * g.channels, grid_encode, &g);
        if (s == AE_OK)
            s = ae__atomic_commit(&file);
        else
            ae__atomic_abort(&file);
    }
    ae__free(g.off);
    ae__free(g.mul);
    return s;
}

/* ---- reading one PNG as 8-bit gray ------------------------------------- */

typedef struct png_reader {
    png_glue glue;
    png_structp png;
    png_infop info;
    uint8_t *pixels;           /* height * width, from ae__alloc */
    png_uint_32 height, width;
    int too_large;             /* a side is over PNG_MAX_SIDE */
} png_reader;

/* Decode rd's file (signature already read and checked) into rd->pixels.
 * Returns 0, or -1 after a libpng error or a check failed.  Like
 * grid_encode, reads nothing after a longjmp but through rd. */
static int reader_decode(png_reader *rd)
{
    if (setjmp(png_jmpbuf(rd->png)))
        return -1;
    png_structp png = rd->png;
    png_infop info = rd->info;
    png_set_read_fn(png, &rd->glue, glue_read);
    png_set_sig_bytes(png, 8);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info);
    png_uint_32 h = png_get_image_height(png, info);
    rd->height = h;
    rd->width = w;
    if (w > PNG_MAX_SIDE || h > PNG_MAX_SIDE) {
        rd->too_large = 1;
        return -1;
    }
    /* To 8-bit gray: palette to RGB, small depths to 8 bits, tRNS to
     * alpha; 16 bits scaled to 8; colour to gray with PIL's weights; alpha
     * dropped.  Setting both gammas to 1 makes libpng ignore a gAMA or sRGB
     * chunk, which would otherwise make it mix colours in linear light, so
     * one picture gives the same gray whatever its metadata; explicit
     * weights likewise override a cHRM chunk's. */
    png_set_expand(png);
    png_set_scale_16(png);
    png_set_gamma_fixed(png, PNG_FP_1, PNG_FP_1);
    if (png_get_color_type(png, info) & PNG_COLOR_MASK_COLOR)
        png_set_rgb_to_gray_fixed(png, PNG_ERROR_ACTION_NONE, GRAY_RED,
                                  GRAY_GREEN);
    png_set_strip_alpha(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_channels(png, info) != 1 || png_get_bit_depth(png, info) != 8)
        png_error(png, "cannot be converted to 8-bit gray");
    rd->pixels = ae__alloc((size_t)h * w);
    if (rd->pixels == NULL) {
        rd->glue.alloc_failed = 1;
        png_error(png, "out of memory");
    }
    for (int pass = 0; pass < passes; pass++)
        for (png_uint_32 r = 0; r < h; r++)
            png_read_row(png, rd->pixels + (size_t)r * w, NULL);
    png_read_end(png, NULL);
    return 0;
}

/* Decode the PNG open in `file` as 8-bit gray: *pixels (height x width,
 * from ae__alloc) on success; errors name `name`.  The caller closes file. */
static ae_status read_gray_stream(FILE *file, const char *name,
                                  uint8_t **pixels, int *height, int *width)
{
    png_reader rd;
    memset(&rd, 0, sizeof rd);
    rd.glue.file = file;
    ae_status s = AE_OK;
    png_byte sig[8];
    size_t got = fread(sig, 1, sizeof sig, rd.glue.file);
    if (got < sizeof sig && ferror(rd.glue.file))
        s = io_error("read", name, errno);
    else if (got < sizeof sig || png_sig_cmp(sig, 0, sizeof sig) != 0)
        s = ae__fail(AE_ERR_FORMAT, "%s: not a PNG file (no PNG signature)",
                     name);
    if (s == AE_OK) {
        rd.png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, &rd.glue,
                                          glue_error, glue_warning, &rd.glue,
                                          glue_alloc, glue_free);
        rd.info = rd.png ? png_create_info_struct(rd.png) : NULL;
        if (rd.info == NULL)
            s = ae__fail(AE_ERR_NO_MEMORY, "%s: cannot allocate the PNG "
                         "decoder", name);
    }
    if (s == AE_OK && reader_decode(&rd) != 0) {
        if (rd.too_large)
            s = ae__fail(AE_ERR_LIMIT, "%s: image of %lu x %lu pixels "
                         "(height x width) exceeds the %d x %d limit", name,
                         (unsigned long)rd.height, (unsigned long)rd.width,
                         PNG_MAX_SIDE, PNG_MAX_SIDE);
        else if (rd.glue.io_errno != 0)
            s = io_error("read", name, rd.glue.io_errno);
        else if (rd.glue.alloc_failed)
            s = ae__fail(AE_ERR_NO_MEMORY, "%s: out of memory decoding it",
                         name);
        else
            s = ae__fail(AE_ERR_FORMAT, "%s: corrupt PNG: %s", name,
                         rd.glue.msg);
    }
    if (rd.png != NULL)
        png_destroy_read_struct(&rd.png, rd.info ? &rd.info : NULL, NULL);
    if (s != AE_OK) {
        ae__free(rd.pixels);
        return s;
    }
    *pixels = rd.pixels;
    *height = (int)rd.height;
    *width = (int)rd.width;
    return AE_OK;
}

/* Read path as 8-bit gray: *pixels (height x width, from ae__alloc) on
 * success; errors name the file. */
static ae_status read_gray_png(const char *path, uint8_t **pixels,
                               int *height, int *width)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        return io_error("open", path, errno);
    ae_status s = read_gray_stream(file, path, pixels, height, width);
    fclose(file);
    return s;
}

ae_status ae__png_read_gray_memory(const void *data, size_t size,
                                   uint8_t **pixels, int *height, int *width)
{
    AE_REQUIRE(data);
    AE_REQUIRE(pixels);
    AE_REQUIRE(height);
    AE_REQUIRE(width);
    const char *name = "PNG buffer";
    if (size < 8) /* fmemopen refuses size 0; no PNG is this short */
        return ae__fail(AE_ERR_FORMAT, "%s: not a PNG file (no PNG "
                        "signature)", name);
    /* Mode "r" only reads the buffer, so casting const away is safe. */
    FILE *file = fmemopen((void *)(uintptr_t)data, size, "r");
    if (file == NULL)
        return io_error("open", name, errno);
    ae_status s = read_gray_stream(file, name, pixels, height, width);
    fclose(file);
    return s;
}

/* ---- listing folders --------------------------------------------------- */

typedef struct name_list {
    char **v; /* each from ae__alloc */
    size_t n, cap;
} name_list;

static void list_free(name_list *l)
{
    for (size_t k = 0; k < l->n; k++)
        ae__free(l->v[k]);
    ae__free(l->v);
    memset(l, 0, sizeof *l);
}

static int list_push(name_list *l, const char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char **v = ae__calloc(cap, sizeof *v);
        if (v == NULL)
            return -1;
        if (l->n > 0)
            memcpy(v, l->v, l->n * sizeof *v);
        ae__free(l->v);
        l->v = v;
        l->cap = cap;
    }
    size_t len = strlen(s);
    char *copy = ae__alloc(len + 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, s, len + 1);
    l->v[l->n++] = copy;
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* a/b, or a/b/c when c is not NULL, from ae__alloc (NULL if out of memory). */
static char *join_path(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = c ? strlen(c) : 0;
    char *p = ae__alloc(la + lb + lc + 3);
    if (p == NULL)
        return NULL;
    if (c)
        sprintf(p, "%s/%s/%s", a, b, c);
    else
        sprintf(p, "%s/%s", a, b);
    return p;
}

static int is_png_name(const char *name)
{
    size_t n = strlen(name);
    if (n <= 4)
        return 0;
    const char *e = name + n - 4;
    return e[0] == '.' && (e[1] | 0x20) == 'p' && (e[2] | 0x20) == 'n' &&
           (e[3] | 0x20) == 'g';
}

enum list_kind { LIST_CLASSES, LIST_PNGS };

/* Names in dir, sorted by strcmp: its subfolders (LIST_CLASSES) or its
 * regular files named *.png (LIST_PNGS), never names starting with '.'.
 * More than `max` of them is AE_ERR_LIMIT. */
static ae_status list_dir(const char *dir, enum list_kind kind, size_t max,
                          name_list *out)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return io_error("open the folder", dir, errno);
    ae_status s = AE_OK;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (e == NULL) {
            if (errno != 0)
                s = io_error("list the folder", dir, errno);
            break;
        }
        if (e->d_name[0] == '.' || (kind == LIST_PNGS && !is_png_name(e->d_name)))
            continue;
        char *path = join_path(dir, e->d_name, NULL);
        if (path == NULL) {
            s = ae__fail(AE_ERR_NO_MEMORY, "%s: cannot allocate a path", dir);
            break;
        }
        struct stat st;
        int keep = 0;
        if (stat(path, &st) != 0)
            s = io_error("examine", path, errno);
        else
            keep = kind == LIST_CLASSES ? S_ISDIR(st.st_mode)
                                        : S_ISREG(st.st_mode);
        ae__free(path);
        if (s != AE_OK)
            break;
        if (!keep)
            continue;
        if (out->n >= max) {
            s = kind == LIST_CLASSES
                    ? ae__fail(AE_ERR_LIMIT, "%s: more than %zu class "
                               "subfolders", dir, max)
                    : ae__fail(AE_ERR_LIMIT, "%s: the folder holds more than "
                               "%d images", dir, PNG_MAX_IMAGES);
            break;
        }
        if (list_push(out, e->d_name) != 0) {
            s = ae__fail(AE_ERR_NO_MEMORY, "%s: cannot allocate the file "
                         "list", dir);
            break;
        }
    }
    closedir(d);
    if (s == AE_OK && out->n > 1)
        qsort(out->v, out->n, sizeof *out->v, cmp_names);
    return s;
}

/* ---- the PNG-folder dataset -------------------------------------------- */

/* What a folder load holds while it runs. */
typedef struct folder_load {
    const char *dir;
    name_list classes;
    name_list *files; /* classes.n lists */
    size_t total;
    uint8_t *pixels, *labels;
    int height, width;
} folder_load;

static ae_status folder_list(folder_load *fl)
{
    ae_status s = list_dir(fl->dir, LIST_CLASSES, PNG_MAX_CLASSES,
                           &fl->classes);
    if (s != AE_OK)
        return s;
    if (fl->classes.n == 0)
        return ae__fail(AE_ERR_FORMAT, "%s: no class subfolders (expected "
                        "one subfolder of PNG images per class)", fl->dir);
    fl->files = ae__calloc(fl->classes.n, sizeof *fl->files);
    if (fl->files == NULL)
        return ae__fail(AE_ERR_NO_MEMORY, "%s: cannot allocate the file "
                        "lists", fl->dir);
    for (size_t c = 0; c < fl->classes.n && s == AE_OK; c++) {
        char *sub = join_path(fl->dir, fl->classes.v[c], NULL);
        if (sub == NULL)
            return ae__fail(AE_ERR_NO_MEMORY, "%s: cannot allocate a path",
                            fl->dir);
        s = list_dir(sub, LIST_PNGS, PNG_MAX_IMAGES - fl->total, &fl->files[c]);
        if (s == AE_OK && fl->files[c].n == 0)
            s = ae__fail(AE_ERR_FORMAT, "%s: class folder holds no .png files",
                         sub);
        ae__free(sub);
        if (s == AE_OK)
            fl->total += fl->files[c].n;
    }
    return s;
}

/* Room for every image, once the first one gave the size. */
static ae_status folder_alloc(folder_load *fl, const char *first)
{
    size_t plane, bytes;
    if (!ae__mul_size((size_t)fl->height, (size_t)fl->width, &plane) ||
        !ae__mul_size(plane, fl->total, &bytes))
        return ae__fail(AE_ERR_LIMIT, "%s: %zu images of %d x %d pixels "
                        "overflow size_t", fl->dir, fl->total, fl->height,
                        fl->width);
    fl->pixels = ae__alloc(bytes);
    fl->labels = ae__alloc(fl->total);
    if (fl->pixels == NULL || fl->labels == NULL)
        return ae__fail(AE_ERR_NO_MEMORY, "%s: cannot allocate %zu bytes for "
                        "%zu images of %d x %d pixels like %s", fl->dir, bytes,
                        fl->total, fl->height, fl->width, first);
    return AE_OK;
}

static ae_status folder_decode(folder_load *fl)
{
    char *first = NULL;
    size_t k = 0;
    ae_status s = AE_OK;
    for (size_t c = 0; c < fl->classes.n && s == AE_OK; c++)
        for (size_t i = 0; i < fl->files[c].n && s == AE_OK; i++, k++) {
            char *path = join_path(fl->dir, fl->classes.v[c],
                                   fl->files[c].v[i]);
            if (path == NULL) {
                s = ae__fail(AE_ERR_NO_MEMORY, "%s: cannot allocate a path",
                             fl->dir);
                break;
            }
            uint8_t *img = NULL;
            int h = 0, w = 0;
            s = read_gray_png(path, &img, &h, &w);
            if (s == AE_OK && first == NULL) {
                fl->height = h;
                fl->width = w;
                first = path;
                path = NULL;
                s = folder_alloc(fl, first);
            } else if (s == AE_OK && (h != fl->height || w != fl->width)) {
                s = ae__fail(AE_ERR_SHAPE, "%s is %d x %d pixels (height x "
                             "width) but %s, the first image, is %d x %d",
                             path, h, w, first, fl->height, fl->width);
            }
            if (s == AE_OK) {
                size_t plane = (size_t)h * (size_t)w;
                memcpy(fl->pixels + k * plane, img, plane);
                fl->labels[k] = (uint8_t)c;
            }
            ae__free(img);
            ae__free(path);
        }
    ae__free(first);
    return s;
}

ae_status ae_dataset_load_png_folder(ae_dataset **out, const char *dir)
{
    AE_REQUIRE(out);
    *out = NULL;
    AE_REQUIRE(dir);
    if (dir[0] == '\0')
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_dataset_load_png_folder: empty folder name");
    folder_load fl;
    memset(&fl, 0, sizeof fl);
    fl.dir = dir;
    ae_status s = folder_list(&fl);
    if (s == AE_OK)
        s = folder_decode(&fl);
    if (fl.files != NULL)
        for (size_t c = 0; c < fl.classes.n; c++)
            list_free(&fl.files[c]);
    ae__free(fl.files);
    if (s == AE_OK) {
        /* adopt owns the pixels and labels from here, even on failure. */
        s = ae__dataset_adopt(out, fl.pixels, fl.labels, fl.total, fl.height,
                              fl.width);
        fl.pixels = fl.labels = NULL;
    }
    if (s == AE_OK) {
        ae__dataset_set_class_names(*out, fl.classes.v, fl.classes.n);
        fl.classes.v = NULL;
        fl.classes.n = 0;
    }
    list_free(&fl.classes);
    ae__free(fl.pixels);
    ae__free(fl.labels);
    return s;
}

/* ---- writing one image ------------------------------------------------- */

/* One picture without gaps or borders: pixel (y, x) of channel ch is
 * value[ch][y][x] mapped as a grid's tile (off, mul as grid.off / mul). */
typedef struct single_image {
    const float *pixels;
    size_t channels, height, width;
    double off, mul;
} single_image;

/* Like grid_encode: 0, or -1 after a libpng error; nothing read after the
 * longjmp was changed after setjmp. */
static int image_encode(png_structp png, png_infop info, const void *what,
                        uint8_t *row)
{
    const single_image *im = what;
    if (setjmp(png_jmpbuf(png)))
        return -1;
    png_set_IHDR(png, info, (png_uint_32)im->width, (png_uint_32)im->height,
                 8, im->channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    const size_t plane = im->height * im->width;
    for (size_t y = 0; y < im->height; y++) {
        for (size_t x = 0; x < im->width; x++)
            for (size_t ch = 0; ch < im->channels; ch++)
                row[x * im->channels + ch] =
                    to_byte(im->pixels[ch * plane + y * im->width + x],
                            im->off, im->mul);
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    return 0;
}

ae_status ae_image_write_png(const char *path, const float *pixels,
                             int channels, int height, int width, float lo,
                             float hi)
{
    AE_REQUIRE(path);
    AE_REQUIRE(pixels);
    const char *fn = "ae_image_write_png";
    if (path[0] == '\0')
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "%s: empty path", fn);
    if (channels != 1 && channels != 3)
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "%s: channels %d is neither "
                        "1 (gray) nor 3 (RGB)", fn, channels);
    if (height < 1 || height > PNG_MAX_SIDE || width < 1 ||
        width > PNG_MAX_SIDE)
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "%s: image size %d x %d is "
                        "outside 1 .. %d", fn, height, width, PNG_MAX_SIDE);
    if (!isfinite(lo) || !isfinite(hi))
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "%s: lo %g and hi %g must "
                        "be finite", fn, (double)lo, (double)hi);
    single_image im = {pixels, (size_t)channels, (size_t)height,
                       (size_t)width, lo, 0.0};
    const size_t n = im.channels * im.height * im.width;
    double a = pixels[0], b = pixels[0];
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(pixels[i]))
            return ae__fail(AE_ERR_NOT_FINITE, "%s: pixel %zu holds %g", fn,
                            i, (double)pixels[i]);
        a = pixels[i] < a ? pixels[i] : a;
        b = pixels[i] > b ? pixels[i] : b;
    }
    if (lo < hi) {
        a = lo;
        b = hi;
    }
    im.off = a;
    im.mul = b > a ? 255.0 / (b - a) : 0.0;
    ae__atomic_file file;
    ae_status s = ae__atomic_open(&file, path);
    if (s != AE_OK)
        return s;
    s = write_encoded(fn, path, file.f, im.width * im.channels,
                      image_encode, &im);
    if (s == AE_OK)
        return ae__atomic_commit(&file);
    ae__atomic_abort(&file);
    return s;
}

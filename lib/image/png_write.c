/*
 * png_write.c - pictures written as PNG: grids of tiles for the figures,
 * and single images.
 *
 * Pictures are written row by row, so a large grid never needs its whole
 * raster in memory, into a temporary file beside the destination that is
 * synced and renamed into place (atomic_file.c).  How libpng is driven
 * (errors, memory) is in common/png_glue.h.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "common/atomic_file.h"
#include "common/png_glue.h"

enum {
    GRID_GAP = 2,            /* pixels between tiles and around the grid */
    GRID_GAP_VALUE = 128,    /* their gray level */
    GRID_CONST_VALUE = 128,  /* a constant tile under per-tile scaling */
    GRID_MAX_SCALE = 16,
    GRID_MAX_SIDE = 32768    /* of the whole picture */
};

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
    if (height < 1 || height > AE__PNG_MAX_SIDE || width < 1 ||
        width > AE__PNG_MAX_SIDE)
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "%s: tile size %d x %d is "
                        "outside 1 .. %d", fn, height, width, AE__PNG_MAX_SIDE);
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
    ae__png_glue glue;
    memset(&glue, 0, sizeof glue);
    glue.file = file;
    uint8_t *row = ae__alloc(row_bytes);
    png_structp png = ae__png_create_write(&glue);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    ae_status s = AE_OK;
    if (row == NULL || info == NULL) {
        s = ae__fail(AE_ERR_NO_MEMORY, "%s: cannot allocate the PNG encoder "
                     "for %s", fn, path);
    } else {
        if (encode(png, info, what, row) != 0) {
            if (glue.io_errno != 0)
                s = ae__fail_io("write", path, glue.io_errno);
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
    if (height < 1 || height > AE__PNG_MAX_SIDE || width < 1 ||
        width > AE__PNG_MAX_SIDE)
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "%s: image size %d x %d is "
                        "outside 1 .. %d", fn, height, width, AE__PNG_MAX_SIDE);
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

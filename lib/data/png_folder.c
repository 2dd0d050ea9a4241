/*
 * png_folder.c - datasets read from a folder of PNG images (one subfolder
 * per class), each decoded to 8-bit gray as torchvision's Grayscale does.
 * How libpng is driven (errors, memory) is in common/png_glue.h.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* opendir */
#endif

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/png_glue.h"
#include "data/dataset.h"
#include "data/png_folder.h"

enum {
    PNG_MAX_CLASSES = 256,   /* labels are uint8 */
    PNG_MAX_IMAGES = 10000000,
    PNG_MAX_CHUNK = 1 << 20, /* the largest chunk libpng may buffer whole */
    /* ITU-R 601 luma, as PIL's convert("L") and so torchvision's
     * Grayscale: 0.299 R + 0.587 G + 0.114 B (libpng fixed point, 1e-5) */
    GRAY_RED = 29900,
    GRAY_GREEN = 58700
};

/* ---- reading one PNG as 8-bit gray ------------------------------------- */

typedef struct png_reader {
    ae__png_glue glue;
    png_structp png;
    png_infop info;
    uint8_t *pixels;           /* height * width, from ae__alloc */
    png_uint_32 height, width;
    int too_large;             /* a side is over AE__PNG_MAX_SIDE */
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
    /* Only the pixels are read, so every ancillary chunk but tRNS is
     * skipped unread (num_chunks < 0).  libpng would otherwise allocate a
     * chunk's declared length before reading it: a 100-byte file declaring
     * a 2 GB sPLT chunk made it ask for 2 GB.  The cap covers whatever is
     * still buffered whole.  Both calls allocate, so they come after the
     * setjmp. */
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);
    png_set_chunk_malloc_max(png, PNG_MAX_CHUNK);
    png_set_sig_bytes(png, 8);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info);
    png_uint_32 h = png_get_image_height(png, info);
    rd->height = h;
    rd->width = w;
    if (w > AE__PNG_MAX_SIDE || h > AE__PNG_MAX_SIDE) {
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
        s = ae__fail_io("read", name, errno);
    else if (got < sizeof sig || png_sig_cmp(sig, 0, sizeof sig) != 0)
        s = ae__fail(AE_ERR_FORMAT, "%s: not a PNG file (no PNG signature)",
                     name);
    if (s == AE_OK) {
        rd.png = ae__png_create_read(&rd.glue);
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
                         AE__PNG_MAX_SIDE, AE__PNG_MAX_SIDE);
        else if (rd.glue.io_errno != 0)
            s = ae__fail_io("read", name, rd.glue.io_errno);
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
        return ae__fail_io("open", path, errno);
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
        return ae__fail_io("open", name, errno);
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
        return ae__fail_io("open the folder", dir, errno);
    ae_status s = AE_OK;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (e == NULL) {
            if (errno != 0)
                s = ae__fail_io("list the folder", dir, errno);
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
            s = ae__fail_io("examine", path, errno);
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


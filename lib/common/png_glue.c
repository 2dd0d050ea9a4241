/* png_glue.c - libpng set up the library's way (see png_glue.h): errors
 * into a message and a longjmp, warnings swallowed, memory from ae__alloc,
 * bytes through stdio. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* strerror_r */
#endif

#include <errno.h>
#include <string.h>

#include "common/png_glue.h"

static void glue_error(png_structp png, png_const_charp msg)
{
    ae__png_glue *g = png_get_error_ptr(png);
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
        ae__png_glue *g = png_get_mem_ptr(png);
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
    ae__png_glue *g = png_get_io_ptr(png);
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
    ae__png_glue *g = png_get_io_ptr(png);
    if (fwrite(data, 1, size, g->file) != size) {
        g->io_errno = errno != 0 ? errno : EIO;
        png_error(png, "write error");
    }
}

static void glue_flush(png_structp png)
{
    (void)png; /* the file is flushed and synced once, at the end */
}

png_structp ae__png_create_read(ae__png_glue *g)
{
    png_structp png = png_create_read_struct_2(
        PNG_LIBPNG_VER_STRING, g, glue_error, glue_warning, g, glue_alloc,
        glue_free);
    if (png != NULL)
        png_set_read_fn(png, g, glue_read);
    return png;
}

png_structp ae__png_create_write(ae__png_glue *g)
{
    png_structp png = png_create_write_struct_2(
        PNG_LIBPNG_VER_STRING, g, glue_error, glue_warning, g, glue_alloc,
        glue_free);
    if (png != NULL)
        png_set_write_fn(png, g, glue_write, glue_flush);
    return png;
}

/* png_glue.h - libpng as the library uses it (private), shared by the
 * PNG-folder loader (data/) and the picture writers (image/).
 *
 * libpng reports errors by longjmp.  A function that calls setjmp keeps
 * everything it must see after the jump in a struct reached through an
 * unchanging pointer, and touches none of its own locals after it; so none
 * needs to be volatile.  libpng's warnings are swallowed (the library never
 * prints), its errors become a message in the glue, and its memory (zlib's
 * included) comes from ae__alloc. */
#ifndef AE_PNG_GLUE_H
#define AE_PNG_GLUE_H

#include <png.h>
#include <stdio.h>

#include "common/internal.h"

/* Largest side of a picture read, and of a tile written. */
enum { AE__PNG_MAX_SIDE = 4096 };

/* What libpng's callbacks need, and what they leave for the caller. */
typedef struct ae__png_glue {
    FILE *file;
    char msg[200];    /* libpng's error message */
    int io_errno;     /* errno of a failed read or write, else 0 */
    int alloc_failed; /* an allocation for libpng failed */
} ae__png_glue;

/* A read (write) struct whose errors, warnings and memory go through g, and
 * which reads (writes) g->file; NULL when out of memory.  Destroy it with
 * png_destroy_read_struct (png_destroy_write_struct). */
png_structp ae__png_create_read(ae__png_glue *g);
png_structp ae__png_create_write(ae__png_glue *g);

#endif /* AE_PNG_GLUE_H */

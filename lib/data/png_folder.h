/*
 * png_folder.h - private entry points of png_folder.c for the fuzz harnesses
 * and tests.  Not part of the public API.
 */
#ifndef AE_PNG_FOLDER_H
#define AE_PNG_FOLDER_H

#include <stddef.h>
#include <stdint.h>

#include "common/internal.h"

/* Decode the PNG in data[0 .. size-1] to 8-bit gray exactly as
 * ae_dataset_load_png_folder decodes each of its files (same libpng
 * transformations, same limits, same errors, with "PNG buffer" for the
 * file name).  On AE_OK, *pixels holds height x width bytes from ae__alloc,
 * which the caller frees with ae__free; on failure nothing is written. */
ae_status ae__png_read_gray_memory(const void *data, size_t size,
                                   uint8_t **pixels, int *height, int *width);

#endif /* AE_PNG_FOLDER_H */

/*
 * dataset.h - private dataset helpers for the rest of the library (the
 * loaders, the trainer, PCA).  The struct itself stays opaque in dataset.c.
 */
#ifndef AE_DATASET_H
#define AE_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "common/internal.h"

/* Make a dataset of `count` single-channel height x width images.  It takes
 * ownership of pixels (count * height * width bytes) and labels (count bytes,
 * or NULL), both from ae__alloc: they belong to *out on success and are
 * freed on failure, so the caller never frees them after this call. */
ae_status ae__dataset_adopt(ae_dataset **out, uint8_t *pixels,
                            uint8_t *labels, size_t count, int height,
                            int width);

/* The same for pixels read in place from a file: bytes data_offset ..
 * data_offset + count * height * width - 1 of the open regular file fd,
 * whose file_size bytes (checked by the caller) are mapped read-only.  The
 * mapping outlives fd (the caller still closes it) and is unmapped when the
 * last handle sharing the storage is freed.  Takes ownership of labels as
 * adopt does.  name is for messages. */
ae_status ae__dataset_adopt_mapped(ae_dataset **out, int fd, size_t file_size,
                                   size_t data_offset, uint8_t *labels,
                                   size_t count, int height, int width,
                                   const char *name);

/* Mapped storage: drop the mapping's pages from the resident set after at
 * most this many bytes' worth of reads (see dataset.c).  Not for users. */
#define AE__MAP_RESIDENT_BUDGET ((size_t)64 << 20)

/* Image i's uint8 pixels (ae_dataset_image_size bytes), or NULL when ds is
 * NULL or i >= ae_dataset_count(ds).  Valid while ds lives. */
const uint8_t *ae__dataset_image_u8(const ae_dataset *ds, size_t i);

/* dst[k] = src[k] mapped to floats by range (p/255, or p/127.5 - 1).  0 and
 * 255 map exactly to the ends of the range. */
void ae__pixels_to_float(const uint8_t *src, size_t n, ae_pixel_range range,
                         float *dst);

/* Add, pixel by pixel, the uint8 values of images first .. first+count-1
 * of ds into sum and their squares into sum_sq (ae_dataset_image_size
 * values each), charging the reads as ae_dataset_batch does.  Exact, and
 * cheaper than converting to floats first: PCA's mean and total variance
 * follow from these and the range's affine map.  The range must be
 * valid (first + count <= ae_dataset_count). */
void ae__dataset_pixel_sums(const ae_dataset *ds, size_t first, size_t count,
                            uint64_t *sum, uint64_t *sum_sq);

/* Give ds's storage (and so every handle sharing it) the names of its
 * classes: names[label] for label < count.  Takes ownership of the array
 * and of each string (all from ae__alloc); any names set before are freed.
 * Only for a dataset no other handle shares yet (right after adopt). */
void ae__dataset_set_class_names(ae_dataset *ds, char **names, size_t count);

#endif /* AE_DATASET_H */

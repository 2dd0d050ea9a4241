/* snapshot.h - byte snapshots of everything a caller can observe about a
 * handle, a file or a folder, so a test can check that a failing call
 * changed nothing (bytes_same before and after). */
#ifndef AE_SNAPSHOT_H
#define AE_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "autoenc.h"

typedef struct bytes {
    unsigned char *p;
    size_t n, cap;
} bytes;

void bytes_put(bytes *b, const void *data, size_t n);
void bytes_put_u64(bytes *b, uint64_t v);
void bytes_put_str(bytes *b, const char *s); /* with its NUL */
int bytes_same(const bytes *a, const bytes *b);
void bytes_free(bytes *b);

/* Count, shape, range, classes, every pixel as floats and the labels (a
 * marker for NULL). */
void snap_dataset(bytes *b, const ae_dataset *ds);
/* Layers with kind, activation, output shape, weights and biases (a marker
 * for NULL). */
void snap_model(bytes *b, const ae_model *m);
/* Every hyperparameter readable through the getters. */
void snap_optimizer(bytes *b, const ae_optimizer *opt);
void snap_trainer(bytes *b, const ae_trainer *t);
/* Sorted names and sizes of a folder's entries, recursing `depth` levels
 * into subfolders, so that a temporary file left behind shows. */
void snap_folder(bytes *b, const char *dir, int depth);
/* A file's content, or a marker if it does not exist. */
void snap_file(bytes *b, const char *path);

#endif

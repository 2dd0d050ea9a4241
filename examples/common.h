/* common.h - what every experiment program does the same way: read the
 * command line, find the data, report errors, write small result files.
 * Uses only the public libautoenc API. */
#ifndef EXAMPLES_COMMON_H
#define EXAMPLES_COMMON_H

#include <stdio.h>

#include <autoenc.h>

typedef struct options {
    const char *data_dir;  /* folder with the four IDX files */
    const char *data_name; /* "MNIST" or "Fashion-MNIST" */
    const char *out_dir;   /* where figures and results go */
    int epochs;            /* 0: the experiment's own default */
    unsigned long seed;
    int threads;           /* 0: all cores */
    int quick;             /* small subset, one epoch: a smoke test */
} options;

/* Parse --data DIR --out DIR --epochs N --seed N --threads N --quick.
 * Exits with a usage message on a bad command line (a program may; the
 * library never does). */
void parse_options(int argc, char **argv, const char *default_out,
                   options *opt);

/* Exit with the status, its message and the library's detail, if s is not
 * AE_OK.  `what` says which step failed. */
void check(ae_status s, const char *what);

/* Load <data_dir>/<prefix>-images-idx3-ubyte(.gz) and its labels.  In quick
 * mode only the first `quick_count` images are kept. */
ae_dataset *load_split(const options *opt, const char *prefix,
                       size_t quick_count);

/* Epochs to run: the user's, 1 in quick mode, or the experiment's default. */
int epochs_for(const options *opt, int default_epochs);

/* A progress callback: one line per epoch on stderr. */
int print_epoch(const ae_progress *p, void *user);

/* Write rows x cols grayscale 28 x 28 tiles (values in [lo, hi]) as a PNG
 * grid at twice the size, so digits are large enough to see. */
void write_digits_png(const char *path, const float *tiles, int rows,
                      int cols, float lo, float hi);

/* path = out_dir/name, in a static buffer (rotating among 4). */
const char *out_path(const options *opt, const char *name);

#endif

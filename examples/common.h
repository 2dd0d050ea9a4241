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

/* Parse --data DIR --out DIR --epochs N --seed N --threads N --quick,
 * create the output folder and set the library's thread count.  Exits
 * with a usage message on a bad command line (a program may; the library
 * never does). */
void parse_options(int argc, char **argv, const char *default_out,
                   options *opt);

/* Create the folder path unless it exists; exits saying why if it can't. */
void make_dir(const char *path);

/* Exit with the status, its message and the library's detail, if s is not
 * AE_OK.  `what` says which step failed. */
void check(ae_status s, const char *what);

/* Load <data_dir>/<prefix>-images-idx3-ubyte(.gz) and its labels.  In quick
 * mode only the first `quick_count` images are kept. */
ae_dataset *load_split(const options *opt, const char *prefix,
                       size_t quick_count);

/* Epochs to run: the user's, 1 in quick mode, or the experiment's default. */
int epochs_for(const options *opt, int default_epochs);

/* A progress callback (user: the run's name, a string).  On a terminal,
 * stderr shows a progress bar (epoch, batch, loss, rate) redrawn in place;
 * otherwise one plain line per epoch. */
int print_epoch(const ae_progress *p, void *user);

/* The number of training images per epoch of the coming fit, so that
 * print_epoch can show the rate in images/s (0: batches/s). */
void progress_set_images(size_t images);

/* path = out_dir/name, in a static buffer (rotating among 4). */
const char *out_path(const options *opt, const char *name);

/* Results for NumPy, beside the figures: n rows of `per` floats as
 * out_dir/name, a float32 .npy of shape (n, per), or (n, 1, 28, 28) for
 * rows of 784 pixels; labels as a uint8 .npy of shape (n,).  Exit with a
 * message if the file cannot be written. */
void write_npy_rows(const options *opt, const char *name, const float *x,
                    size_t n, size_t per);
void write_npy_labels(const options *opt, const char *name,
                      const uint8_t *labels, size_t n);

/* ---- The prologue every experiment program shares ---------------------- */

typedef struct report report; /* report.h */

/* An experiment's command line, data and report section. */
typedef struct experiment {
    int number;
    options opt;
    ae_dataset *train, *test; /* the "train" and "t10k" splits: in quick
                                 mode their first 2,000 and 500 images */
    size_t n_train, n_test;
    report *rep;              /* its part of the report, titled */
} experiment;

/* Parse the command line (output by default in out/expNUMBER), load both
 * splits and open the report section. */
void experiment_start(experiment *x, int argc, char **argv, int number,
                      const char *title);
/* Print "Experiment N on DATA (T training, E test images, K epochs)",
 * then `more` (may be NULL) and a newline; epochs < 1 leaves out ", K
 * epochs". */
void experiment_banner(const experiment *x, int epochs, const char *more);
/* Write the report section (report_close) and free the splits. */
void experiment_finish(experiment *x);

/* ---- Buffers, training runs, measurements, filters, table cells -------- */

#include <stdint.h>

/* Zeroed memory (calloc); exits with a message when memory runs out. */
void *xmalloc(size_t size);

/* Images first .. first+n-1 of ds as floats in a new array (free it); if
 * labels is not NULL, their labels in another new array. */
float *read_images(const ae_dataset *ds, size_t first, size_t n,
                   uint8_t **labels);

/* A copy of the n values of clean with noise of `kind` and `level`,
 * clipped to [lo, hi], drawn from seed (ae_corrupt), in a new array. */
float *noisy_copy(const float *clean, size_t n, ae_noise kind, float level,
                  float lo, float hi, unsigned long seed);

/* The mean of (a[i] - b[i])^2 over n values, summed in double; b NULL
 * stands for zeros. */
double mean_squared_difference(const float *a, const float *b, size_t n);

/* The MSE of n 28 x 28 images test against reference, as ae_metrics
 * measures it (values in [0, 1]). */
double images_mse(const float *reference, const float *test, size_t n);

/* A model trained with Adam (learning rate 1e-3) and MSE, and the losses
 * of its epochs.  Change the trainer (batch size, L1, noise) between
 * run_start and run_fit. */
typedef struct run {
    const char *name;     /* in progress lines, file names and, unless
                             label is set, chart legends */
    const char *label;    /* chart legends, if not NULL */
    const char *out_dir;  /* run_free saves the model there */
    ae_model *model;      /* owned: run_free frees it */
    ae_optimizer *adam;
    ae_trainer *trainer;
    int epochs;           /* epochs recorded so far */
    double *epoch;        /* 1, 2, ...: the x axis of loss curves */
    double *train_loss, *val_loss; /* per epoch; val_loss NaN without
                                      validation data */
    /* If set, called after each epoch is recorded. */
    void (*after_epoch)(struct run *r, void *user);
    void *user;
} run;

/* Start a run of model m (batch size 64, seeded with opt->seed). */
void run_start(run *r, const char *name, ae_model *m, const options *opt);
/* Train for `epochs` more epochs (validation may be NULL), showing
 * progress with print_epoch and recording each epoch's losses. */
void run_fit(run *r, const ae_dataset *train, const ae_dataset *validation,
             int epochs);
/* Save the trained model as out_dir/model-NAME.aemodel (NAME: the run's
 * name, spaces and punctuation as '-'), then free the model, trainer,
 * optimizer and record. */
void run_free(run *r);

/* Training and (where recorded) held-out loss per epoch of `count` runs as
 * one line chart; exits if it cannot be drawn. */
void plot_run_losses(const char *path, const char *title, const char *ylabel,
                     const run *runs, size_t count);

/* Reconstruct n inputs through m and compare the outputs with clean (the
 * targets): mean squared error, PSNR and SSIM for values spanning
 * data_range.  Any of the outputs may be NULL. */
void measure_reconstruction(ae_model *m, const float *input,
                            const float *clean, size_t n, float data_range,
                            double *mse, double *psnr, double *ssim);

/* The weights of `count` units of dense layer `index` (those listed in
 * units, or the first ones if units is NULL) as 28 x 28 tiles in a grid
 * `cols` wide, each tile stretched to its own range and labelled with its
 * unit's number, under `title`: rows of the weight matrix for a layer
 * reading the image (units x 784), columns for a layer writing it
 * (784 x units). */
void write_dense_filters(const char *path, const char *title, ae_model *m,
                         size_t index, const int *units, int count, int cols);

/* The filters of a one-hidden-layer model: out_dir/encoder_TAG.png and
 * out_dir/decoder_TAG.png, 64 units (those listed in units, or the first
 * 64) 8 to a row, as write_dense_filters draws them; `name` names the
 * model in their titles. */
void write_filter_pair(const options *opt, ae_model *m, const char *tag,
                       const char *name, const int *units);

/* A sheet of rows x cols pictures of 1 x h x w pixels (originals beside
 * reconstructions, noise levels), written as one PNG grid that carries its
 * labels (grid_figure.h): a title, a label for every row and every column
 * and, optionally, a heading saying what the column labels are. */
typedef struct sheet {
    int rows, cols, h, w;
    float *tiles;      /* rows x cols x h x w, row by row */
    char *title, *col_heading;
    char **row_labels; /* rows entries, NULL until labelled */
    char **col_labels; /* cols entries */
} sheet;

/* A sheet of zeros, without labels. */
void sheet_init(sheet *s, int rows, int cols, int h, int w);
/* The picture in row `row`, column `col`: h x w floats. */
float *sheet_tile(const sheet *s, int row, int col);
/* Copy cols pictures (from images, one after another) into row `row`. */
void sheet_set_row(sheet *s, int row, const float *images);
/* Row `row` = m's reconstructions of the cols pictures of input. */
void sheet_reconstruct_row(sheet *s, int row, ae_model *m,
                           const float *input);
/* The sheet's title, the label of row `row`, of column `col`, and the
 * heading of the column labels (printf-style; each replaces an earlier
 * one, so a sheet drawn again with other rows can be relabelled). */
void sheet_title(sheet *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sheet_label_row(sheet *s, int row, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sheet_label_col(sheet *s, int col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sheet_col_heading(sheet *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Label columns first .. first+n-1 with the classes of labels[0 .. n-1]
 * (item_label), under the heading "label" (digits) or "class". */
void sheet_label_cols_by_class(sheet *s, int first, int n,
                               const options *opt, const ae_dataset *ds,
                               const uint8_t *labels);
/* Write the sheet to path as a labelled PNG grid at twice the size (so
 * digits are large enough to see), values lo..hi black to white.  Exits
 * naming the row or column if one has no label. */
void sheet_write(const sheet *s, const char *path, float lo, float hi);
void sheet_free(sheet *s);

/* Legend names of the labels for plot_scatter: Fashion-MNIST's ten
 * clothing classes, or NULL (digits "0".."9") for MNIST. */
const char *const *class_names(const options *opt);

/* The name of class `label` for labels and captions: the folder's name
 * for a dataset read from a PNG folder (ds may be NULL), else the
 * Fashion-MNIST class name or the digit.  The text is borrowed (from ds,
 * a table or cell()'s buffers). */
const char *item_label(const options *opt, const ae_dataset *ds, int label);

/* The noun for the data set's pictures in captions, titles and sentences:
 * "digit" ("digits" if plural) on MNIST, "image" ("images") on
 * Fashion-MNIST, whose pictures are clothes, not digits. */
const char *item_word(const options *opt, int plural);

/* printf into one of 16 rotating static buffers of 1024 bytes, for table
 * cells, file names and captions (long enough for a caption that quotes
 * its numbers). */
const char *cell(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

/* common.c - what the experiment programs share: the command line, the
 * data, the prologue, training runs, measurements and figures. */
#include "common.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "grid_figure.h"
#include "plot.h"
#include "report.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [--data DIR] [--out DIR] [--epochs N] [--seed N] "
            "[--threads N] [--quick]\n"
            "  --data DIR   folder with the MNIST IDX files (default: "
            "$AUTOENC_DATA, ./data/mnist, else Fashion-MNIST in "
            FASHION_DIR ")\n",
            prog);
    exit(2);
}

static int has_images(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", dir);
    if (access(path, R_OK) == 0)
        return 1;
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte", dir);
    return access(path, R_OK) == 0;
}

static long parse_number(const char *prog, const char *text)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < 0)
        usage(prog);
    return v;
}

void parse_options(int argc, char **argv, const char *default_out,
                   options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->out_dir = default_out;
    opt->seed = 42;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (strcmp(a, "--quick") == 0)
            opt->quick = 1;
        else if (strcmp(a, "--data") == 0 && has_value)
            opt->data_dir = argv[++i];
        else if (strcmp(a, "--out") == 0 && has_value)
            opt->out_dir = argv[++i];
        else if (strcmp(a, "--epochs") == 0 && has_value)
            opt->epochs = (int)parse_number(argv[0], argv[++i]);
        else if (strcmp(a, "--seed") == 0 && has_value)
            opt->seed = (unsigned long)parse_number(argv[0], argv[++i]);
        else if (strcmp(a, "--threads") == 0 && has_value)
            opt->threads = (int)parse_number(argv[0], argv[++i]);
        else
            usage(argv[0]);
    }
    if (opt->data_dir == NULL)
        opt->data_dir = getenv("AUTOENC_DATA");
    if (opt->data_dir == NULL && has_images("data/mnist"))
        opt->data_dir = "data/mnist";
    if (opt->data_dir == NULL)
        opt->data_dir = FASHION_DIR;
    opt->data_name = strstr(opt->data_dir, "fashion") ? "Fashion-MNIST"
                                                      : "MNIST";
    make_dir(opt->out_dir);
    check(ae_set_threads(opt->threads), "setting the thread count");
}

void make_dir(const char *path)
{
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "cannot create %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

void check(ae_status s, const char *what)
{
    if (s == AE_OK)
        return;
    fprintf(stderr, "error while %s: %s (%s)\n  %s\n", what,
            ae_status_message(s), ae_status_name(s), ae_last_error());
    exit(1);
}

static const char *idx_path(const char *dir, const char *prefix,
                            const char *kind, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s-%s.gz", dir, prefix, kind);
    if (access(buf, R_OK) != 0)
        snprintf(buf, size, "%s/%s-%s", dir, prefix, kind);
    return buf;
}

ae_dataset *load_split(const options *opt, const char *prefix,
                       size_t quick_count)
{
    char images[4096], labels[4096];
    ae_dataset *ds = NULL;
    check(ae_dataset_load_idx(&ds,
                              idx_path(opt->data_dir, prefix, "images-idx3-ubyte",
                                       images, sizeof images),
                              idx_path(opt->data_dir, prefix, "labels-idx1-ubyte",
                                       labels, sizeof labels)),
          "loading the data");
    if (opt->quick && ae_dataset_count(ds) > quick_count) {
        ae_dataset *part = NULL;
        check(ae_dataset_subset(ds, 0, quick_count, &part), "taking a subset");
        ae_dataset_free(ds);
        ds = part;
    }
    return ds;
}

int epochs_for(const options *opt, int default_epochs)
{
    if (opt->epochs > 0)
        return opt->epochs;
    return opt->quick ? 1 : default_epochs;
}

void experiment_start(experiment *x, int argc, char **argv, int number,
                      const char *title)
{
    static char default_out[32];
    memset(x, 0, sizeof *x);
    x->number = number;
    snprintf(default_out, sizeof default_out, "out/exp%d", number);
    parse_options(argc, argv, default_out, &x->opt);
    x->train = load_split(&x->opt, "train", 2000);
    x->test = load_split(&x->opt, "t10k", 500);
    x->n_train = ae_dataset_count(x->train);
    x->n_test = ae_dataset_count(x->test);
    x->rep = report_open(&x->opt, number, title);
}

void experiment_banner(const experiment *x, int epochs, const char *more)
{
    printf("Experiment %d on %s (%zu training, %zu test images", x->number,
           x->opt.data_name, x->n_train, x->n_test);
    if (epochs > 0)
        printf(", %d epochs", epochs);
    printf(")%s\n", more ? more : "");
}

void experiment_finish(experiment *x)
{
    report_close(x->rep);
    ae_dataset_free(x->train);
    ae_dataset_free(x->test);
    memset(x, 0, sizeof *x);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Training progress on stderr: a bar redrawn at most every 100 ms on a
 * terminal, one line per epoch elsewhere (a log file, a CI job).  images
 * is the number of training images per epoch, 0 if unknown. */
static void show_progress(const ae_progress *p, const char *name,
                          size_t images)
{
    static int tty = -1;
    static double last_draw, epoch_start;
    if (tty < 0)
        tty = isatty(STDERR_FILENO);
    if (p->epoch == 1 && p->batch <= 1 && !p->epoch_done)
        epoch_start = last_draw = 0; /* a new fit */

    double elapsed = p->seconds - epoch_start, done = 0;
    if (p->batches > 0)
        done = (double)(p->epoch_done ? p->batches : p->batch) / p->batches;
    char rate[48] = "";
    if (elapsed > 0 && images > 0)
        snprintf(rate, sizeof rate, "%.0f images/s", done * images / elapsed);
    else if (elapsed > 0)
        snprintf(rate, sizeof rate, "%.1f batches/s",
                 done * p->batches / elapsed);

    if (p->epoch_done) {
        char val[48] = "";
        if (!isnan(p->val_loss))
            snprintf(val, sizeof val, "  held-out loss %.5f", p->val_loss);
        fprintf(stderr, "%s%s: epoch %d/%d  train loss %.5f%s  (%.1f s, %s)\n",
                tty ? "\r\033[K" : "", name, p->epoch, p->epochs, p->loss,
                val, p->seconds, rate);
        epoch_start = p->seconds;
        return;
    }
    if (!tty)
        return;
    double t = now();
    if (t - last_draw < 0.1 && p->batch != p->batches)
        return;
    last_draw = t;
    char bar[25];
    int filled = (int)(done * 24 + 0.5);
    for (int i = 0; i < 24; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[24] = '\0';
    fprintf(stderr, "\r%s: epoch %d/%d [%s] batch %zu/%zu  loss %.5f  %s"
            "\033[K", name, p->epoch, p->epochs, bar, p->batch, p->batches,
            p->loss, rate);
    fflush(stderr);
}

static size_t progress_images;

void progress_set_images(size_t images)
{
    progress_images = images;
}

int print_epoch(const ae_progress *p, void *user)
{
    show_progress(p, user ? (const char *)user : "training",
                  progress_images);
    return 0;
}

const char *out_path(const options *opt, const char *name)
{
    static char bufs[4][4096];
    static int next;
    char *b = bufs[next++ & 3];
    snprintf(b, sizeof bufs[0], "%s/%s", opt->out_dir, name);
    return b;
}

void write_npy_rows(const options *opt, const char *name, const float *x,
                    size_t n, size_t per)
{
    size_t image[4] = {n, 1, 28, 28}, rows[2] = {n, per};
    int is_image = per == 28 * 28;
    check(ae_npy_save(out_path(opt, name), AE_NPY_F32, x,
                      is_image ? image : rows, is_image ? 4 : 2),
          "writing a NumPy array");
}

void write_npy_labels(const options *opt, const char *name,
                      const uint8_t *labels, size_t n)
{
    check(ae_npy_save(out_path(opt, name), AE_NPY_U8, labels, &n, 1),
          "writing the labels as a NumPy array");
}

/* ---- Buffers, training runs, measurements, filters, table cells -------- */

void *xmalloc(size_t size)
{
    void *p = calloc(1, size ? size : 1);
    if (p == NULL)
        check(AE_ERR_NO_MEMORY, "allocating memory");
    return p;
}

float *read_images(const ae_dataset *ds, size_t first, size_t n,
                   uint8_t **labels)
{
    float *x = xmalloc(n * ae_dataset_image_size(ds) * sizeof *x);
    if (labels != NULL)
        *labels = xmalloc(n);
    check(ae_dataset_batch(ds, first, n, x, labels ? *labels : NULL),
          "reading images");
    return x;
}

float *noisy_copy(const float *clean, size_t n, ae_noise kind, float level,
                  float lo, float hi, unsigned long seed)
{
    float *noisy = xmalloc(n * sizeof *noisy);
    check(ae_corrupt(kind, level, lo, hi, seed, clean, noisy, n),
          "adding noise");
    return noisy;
}

double mean_squared_difference(const float *a, const float *b, size_t n)
{
    double se = 0;
    for (size_t i = 0; i < n; i++) {
        double e = (double)a[i] - (b ? b[i] : 0.0f);
        se += e * e;
    }
    return se / (double)n;
}

double images_mse(const float *reference, const float *test, size_t n)
{
    ae_metrics *mt = NULL;
    double mse;
    check(ae_metrics_create(&mt, 1, 28, 28, 1.0f), "creating metrics");
    check(ae_metrics_update(mt, reference, test, n), "measuring");
    check(ae_metrics_value(mt, AE_METRIC_MSE, &mse), "measuring the MSE");
    ae_metrics_free(mt);
    return mse;
}

void run_start(run *r, const char *name, ae_model *m, const options *opt)
{
    memset(r, 0, sizeof *r);
    r->name = name;
    r->model = m;
    r->out_dir = opt->out_dir;
    check(ae_optimizer_create_adam(&r->adam, 1e-3f), "creating Adam");
    check(ae_trainer_create(&r->trainer, m, r->adam), "creating the trainer");
    check(ae_trainer_set(r->trainer, AE_TRAIN_BATCH_SIZE, 64),
          "setting the batch size");
    check(ae_trainer_set(r->trainer, AE_TRAIN_SEED, (double)opt->seed),
          "seeding the trainer");
}

static int record_run_epoch(const ae_progress *p, void *user)
{
    run *r = user;
    print_epoch(p, (void *)r->name);
    if (!p->epoch_done)
        return 0;
    r->epoch[r->epochs] = r->epochs + 1;
    r->train_loss[r->epochs] = p->loss;
    r->val_loss[r->epochs] = p->val_loss;
    r->epochs++;
    if (r->after_epoch)
        r->after_epoch(r, r->user);
    return 0;
}

void run_fit(run *r, const ae_dataset *train, const ae_dataset *validation,
             int epochs)
{
    size_t n = (size_t)(r->epochs + epochs) * sizeof(double);
    double *e = realloc(r->epoch, n), *t = NULL, *v = NULL;
    if (e != NULL)
        r->epoch = e;
    if (e != NULL && (t = realloc(r->train_loss, n)) != NULL)
        r->train_loss = t;
    if (t != NULL && (v = realloc(r->val_loss, n)) != NULL)
        r->val_loss = v;
    if (v == NULL)
        check(AE_ERR_NO_MEMORY, "allocating the loss record");
    progress_set_images(ae_dataset_count(train));
    check(ae_trainer_fit(r->trainer, train, validation, epochs,
                         record_run_epoch, r), "training");
}

/* "deep AE-30" -> "model-deep-AE-30.aemodel": file names without spaces or
 * characters a shell would need quoted. */
static const char *model_file_name(const char *run_name)
{
    char name[256];
    size_t n = 0;
    for (const char *c = run_name; *c != '\0' && n + 1 < sizeof name; c++) {
        int keep = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                   (*c >= '0' && *c <= '9') || *c == '.' || *c == '-';
        name[n++] = keep ? *c : '-';
    }
    name[n] = '\0';
    return cell("model-%s.aemodel", name);
}

void run_free(run *r)
{
    if (r->out_dir != NULL && r->name != NULL && r->model != NULL) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", r->out_dir,
                 model_file_name(r->name));
        check(ae_model_save(r->model, path), "saving the trained model");
    }
    ae_trainer_free(r->trainer);
    ae_optimizer_free(r->adam);
    ae_model_free(r->model);
    free(r->epoch);
    free(r->train_loss);
    free(r->val_loss);
    memset(r, 0, sizeof *r);
}

void plot_run_losses(const char *path, const char *title, const char *ylabel,
                     const run *runs, size_t count)
{
    plot_series *s = xmalloc(2 * count * sizeof *s);
    char(*names)[128] = xmalloc(2 * count * sizeof *names);
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        const run *r = &runs[i];
        const char *label = r->label ? r->label : r->name;
        size_t e = (size_t)r->epochs;
        snprintf(names[n], sizeof names[n], "%s train", label);
        s[n] = (plot_series){names[n], r->epoch, r->train_loss, e};
        n++;
        if (e > 0 && !isnan(r->val_loss[0])) {
            snprintf(names[n], sizeof names[n], "%s held-out", label);
            s[n] = (plot_series){names[n], r->epoch, r->val_loss, e};
            n++;
        }
    }
    if (plot_lines(path, title, "epoch", ylabel, s, n) != 0)
        exit(1);
    free(names);
    free(s);
}

void measure_reconstruction(ae_model *m, const float *input,
                            const float *clean, size_t n, float data_range,
                            double *mse, double *psnr, double *ssim)
{
    enum { CHUNK = 500 };
    ae_layer *first_layer = NULL;
    int c, h, w;
    check(ae_model_layer(m, 0, &first_layer), "finding the input shape");
    check(ae_layer_input_shape(first_layer, &c, &h, &w),
          "finding the input shape");
    size_t d = ae_model_input_size(m);
    float *y = xmalloc((n < CHUNK ? n : CHUNK) * d * sizeof *y);
    ae_metrics *mt = NULL;
    check(ae_metrics_create(&mt, c, h, w, data_range), "creating metrics");
    for (size_t first = 0; first < n; first += CHUNK) {
        size_t b = n - first < CHUNK ? n - first : CHUNK;
        check(ae_model_reconstruct(m, input + first * d, b, y),
              "reconstructing");
        check(ae_metrics_update(mt, clean + first * d, y, b), "measuring");
    }
    if (mse)
        check(ae_metrics_value(mt, AE_METRIC_MSE, mse), "measuring MSE");
    if (psnr)
        check(ae_metrics_value(mt, AE_METRIC_PSNR, psnr), "measuring PSNR");
    if (ssim)
        check(ae_metrics_value(mt, AE_METRIC_SSIM, ssim), "measuring SSIM");
    ae_metrics_free(mt);
    free(y);
}

void write_dense_filters(const char *path, const char *title, ae_model *m,
                         size_t index, const int *units, int count, int cols)
{
    enum { PIXELS = 28 * 28 };
    ae_layer *l = NULL;
    check(ae_model_layer(m, index, &l), "finding the layer");
    size_t n = ae_layer_weight_count(l), out = ae_layer_output_size(l);
    size_t in = n / out;
    if (in != PIXELS && out != PIXELS)
        check(AE_ERR_SHAPE, "drawing filters of a layer that neither reads "
                            "nor writes a 28 x 28 image");
    int rows = (count + cols - 1) / cols;
    float *w = xmalloc(n * sizeof *w), *tiles = xmalloc(
        (size_t)rows * cols * PIXELS * sizeof *tiles);
    char (*numbers)[16] = xmalloc((size_t)rows * cols * sizeof *numbers);
    const char **tile_labels = xmalloc((size_t)rows * cols *
                                       sizeof *tile_labels);
    check(ae_layer_get_weights(l, w, n), "reading the weights");
    for (int t = 0; t < count; t++) {
        size_t j = (size_t)(units ? units[t] : t);
        for (size_t p = 0; p < PIXELS; p++)
            /* weights are out x in: a reading layer's unit j is row j, a
             * writing layer's unit j is column j */
            tiles[(size_t)t * PIXELS + p] =
                in == PIXELS ? w[j * in + p] : w[p * in + j];
        snprintf(numbers[t], sizeof numbers[t], "%zu", j);
        tile_labels[t] = numbers[t];
    }
    /* Cells of a last row left empty are constant: mid-gray, unlabelled. */
    grid_figure g = {rows, cols, 28, 28, tiles, 0.0f, 0.0f, 2, title, NULL,
                     NULL, NULL, tile_labels};
    if (grid_figure_write(path, &g) != 0)
        exit(1);
    free(tile_labels);
    free(numbers);
    free(w);
    free(tiles);
}

void write_filter_pair(const options *opt, ae_model *m, const char *tag,
                       const char *name, const int *units)
{
    const char *which = units ? "64 most active" : "first 64";
    write_dense_filters(out_path(opt, cell("encoder_%s.png", tag)),
                        cell("Encoder weights, %s: the %s hidden units, "
                             "by number", name, which), m, 0, units, 64, 8);
    write_dense_filters(out_path(opt, cell("decoder_%s.png", tag)),
                        cell("Decoder weights, %s: the %s hidden units, "
                             "by number", name, which), m, 1, units, 64, 8);
}

void sheet_init(sheet *s, int rows, int cols, int h, int w)
{
    *s = (sheet){rows, cols, h, w, NULL, NULL, NULL, NULL, NULL};
    s->tiles = xmalloc((size_t)rows * cols * h * w * sizeof *s->tiles);
    s->row_labels = xmalloc((size_t)rows * sizeof *s->row_labels);
    s->col_labels = xmalloc((size_t)cols * sizeof *s->col_labels);
}

float *sheet_tile(const sheet *s, int row, int col)
{
    return s->tiles + ((size_t)row * s->cols + col) * s->h * s->w;
}

void sheet_set_row(sheet *s, int row, const float *images)
{
    memcpy(sheet_tile(s, row, 0), images,
           (size_t)s->cols * s->h * s->w * sizeof *s->tiles);
}

void sheet_reconstruct_row(sheet *s, int row, ae_model *m,
                           const float *input)
{
    check(ae_model_reconstruct(m, input, (size_t)s->cols,
                               sheet_tile(s, row, 0)),
          "reconstructing");
}

/* *slot = the formatted text, replacing what it held. */
static void set_text(char **slot, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    free(*slot);
    *slot = xmalloc(n < 0 ? 1 : (size_t)n + 1);
    vsnprintf(*slot, (size_t)n + 1, fmt, again);
    va_end(again);
}

void sheet_title(sheet *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_text(&s->title, fmt, ap);
    va_end(ap);
}

void sheet_label_row(sheet *s, int row, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_text(&s->row_labels[row], fmt, ap);
    va_end(ap);
}

void sheet_label_col(sheet *s, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_text(&s->col_labels[col], fmt, ap);
    va_end(ap);
}

void sheet_col_heading(sheet *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_text(&s->col_heading, fmt, ap);
    va_end(ap);
}

void sheet_label_cols_by_class(sheet *s, int first, int n,
                               const options *opt, const ae_dataset *ds,
                               const uint8_t *labels)
{
    for (int c = 0; c < n; c++)
        sheet_label_col(s, first + c, "%s", item_label(opt, ds, labels[c]));
    int digits = strcmp(opt->data_name, "MNIST") == 0 &&
                 ae_dataset_class_count(ds) == 0;
    sheet_col_heading(s, "%s", digits ? "label" : "class");
}

void sheet_write(const sheet *s, const char *path, float lo, float hi)
{
    for (int r = 0; r < s->rows; r++)
        if (s->row_labels[r] == NULL) {
            fprintf(stderr, "%s: row %d of the grid has no label\n", path, r);
            exit(1);
        }
    for (int c = 0; c < s->cols; c++)
        if (s->col_labels[c] == NULL) {
            fprintf(stderr, "%s: column %d of the grid has no label\n", path,
                    c);
            exit(1);
        }
    grid_figure g = {s->rows, s->cols, s->h, s->w, s->tiles, lo, hi, 2,
                     s->title, (const char *const *)s->row_labels,
                     (const char *const *)s->col_labels, s->col_heading,
                     NULL};
    if (grid_figure_write(path, &g) != 0)
        exit(1);
}

void sheet_free(sheet *s)
{
    for (int r = 0; s->row_labels && r < s->rows; r++)
        free(s->row_labels[r]);
    for (int c = 0; s->col_labels && c < s->cols; c++)
        free(s->col_labels[c]);
    free(s->row_labels);
    free(s->col_labels);
    free(s->title);
    free(s->col_heading);
    free(s->tiles);
    *s = (sheet){0};
}

const char *const *class_names(const options *opt)
{
    static const char *const fashion[10] = {
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
    return strcmp(opt->data_name, "Fashion-MNIST") == 0 ? fashion : NULL;
}

const char *item_label(const options *opt, const ae_dataset *ds, int label)
{
    const char *name = NULL;
    if (ds && ae_dataset_class_count(ds) > 0 &&
        ae_dataset_class_name(ds, label, &name) == AE_OK)
        return name;
    const char *const *names = class_names(opt);
    if (names && label >= 0 && label < 10)
        return names[label];
    return cell("%d", label);
}

const char *item_word(const options *opt, int plural)
{
    if (strcmp(opt->data_name, "MNIST") == 0)
        return plural ? "digits" : "digit";
    return plural ? "images" : "image";
}

const char *cell(const char *fmt, ...)
{
    static char bufs[16][1024];
    static int next;
    char *b = bufs[next++ & 15];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof bufs[0], fmt, ap);
    va_end(ap);
    return b;
}

/* common.c - command line, data location and output helpers shared by the
 * experiment programs. */
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    if (mkdir(opt->out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "cannot create %s: %s\n", opt->out_dir,
                strerror(errno));
        exit(1);
    }
    check(ae_set_threads(opt->threads), "setting the thread count");
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

int print_epoch(const ae_progress *p, void *user)
{
    const char *name = user;
    if (p->epoch_done)
        fprintf(stderr, "%s: epoch %d/%d  train loss %.5f  val loss %.5f  "
                "(%.1f s)\n", name, p->epoch, p->epochs, p->loss, p->val_loss,
                p->seconds);
    return 0;
}

void write_digits_png(const char *path, const float *tiles, int rows,
                      int cols, float lo, float hi)
{
    check(ae_image_grid_write_png(path, tiles, (size_t)rows * cols, cols, 1,
                                  28, 28, lo, hi, 2),
          "writing a picture");
}

const char *out_path(const options *opt, const char *name)
{
    static char bufs[4][4096];
    static int next;
    char *b = bufs[next++ & 3];
    snprintf(b, sizeof bufs[0], "%s/%s", opt->out_dir, name);
    return b;
}

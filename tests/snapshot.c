/* snapshot.c - byte snapshots of observable state, for "nothing changed"
 * checks. */
#include "snapshot.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

void bytes_put(bytes *b, const void *data, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        ck_assert_ptr_nonnull(b->p);
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->p + b->n, data, n);
    b->n += n;
}

void bytes_put_u64(bytes *b, uint64_t v)
{
    bytes_put(b, &v, sizeof v);
}

void bytes_put_str(bytes *b, const char *s)
{
    bytes_put(b, s, strlen(s) + 1);
}

int bytes_same(const bytes *a, const bytes *b)
{
    return a->n == b->n && (a->n == 0 || memcmp(a->p, b->p, a->n) == 0);
}

void bytes_free(bytes *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static uint64_t packed_shape(int c, int h, int w)
{
    return ((uint64_t)c << 40) | ((uint64_t)h << 20) | (uint64_t)w;
}

void snap_dataset(bytes *b, const ae_dataset *ds)
{
    if (ds == NULL) {
        bytes_put_str(b, "no dataset");
        return;
    }
    int c = 0, h = 0, w = 0;
    ck_assert_ae_ok(ae_dataset_shape(ds, &c, &h, &w));
    size_t n = ae_dataset_count(ds), per = ae_dataset_image_size(ds);
    bytes_put_u64(b, n);
    bytes_put_u64(b, packed_shape(c, h, w));
    bytes_put_u64(b, (uint64_t)ae_dataset_range(ds));
    bytes_put_u64(b, ae_dataset_class_count(ds));
    float *x = malloc(n * per * sizeof(float));
    uint8_t *l = malloc(n);
    ck_assert_ptr_nonnull(x);
    ck_assert_ptr_nonnull(l);
    int labels = ae_dataset_has_labels(ds);
    ck_assert_ae_ok(ae_dataset_batch(ds, 0, n, x, labels ? l : NULL));
    bytes_put(b, x, n * per * sizeof(float));
    if (labels)
        bytes_put(b, l, n);
    free(x);
    free(l);
}

void snap_model(bytes *b, const ae_model *m)
{
    if (m == NULL) {
        bytes_put_str(b, "no model");
        return;
    }
    size_t layers = ae_model_layer_count(m);
    bytes_put_u64(b, layers);
    bytes_put_u64(b, ae_model_encoder_layer_count(m));
    bytes_put_u64(b, ae_model_param_count(m));
    for (size_t i = 0; i < layers; i++) {
        ae_layer *l = NULL;
        ck_assert_ae_ok(ae_model_layer(m, i, &l));
        int c, h, w;
        ck_assert_ae_ok(ae_layer_output_shape(l, &c, &h, &w));
        bytes_put_u64(b, (uint64_t)ae_layer_get_kind(l));
        bytes_put_u64(b, (uint64_t)ae_layer_activation(l));
        bytes_put_u64(b, packed_shape(c, h, w));
        size_t nw = ae_layer_weight_count(l), nb = ae_layer_bias_count(l);
        float *v = malloc((nw + nb + 1) * sizeof(float));
        ck_assert_ptr_nonnull(v);
        if (nw > 0)
            ck_assert_ae_ok(ae_layer_get_weights(l, v, nw));
        if (nb > 0)
            ck_assert_ae_ok(ae_layer_get_bias(l, v + nw, nb));
        bytes_put(b, v, (nw + nb) * sizeof(float));
        free(v);
    }
}

void snap_optimizer(bytes *b, const ae_optimizer *opt)
{
    for (int p = AE_OPT_LEARNING_RATE; p <= AE_OPT_WEIGHT_DECAY; p++) {
        double v = 0.0;
        ck_assert_ae_ok(ae_optimizer_get(opt, (ae_optimizer_param)p, &v));
        bytes_put(b, &v, sizeof v);
    }
}

void snap_trainer(bytes *b, const ae_trainer *t)
{
    for (int p = AE_TRAIN_LOSS; p <= AE_TRAIN_CHECKPOINT_EVERY; p++) {
        double v = 0.0;
        ck_assert_ae_ok(ae_trainer_get(t, (ae_train_param)p, &v));
        bytes_put(b, &v, sizeof v);
    }
    /* The VAE's settings and the loss terms last reported (since 0.2). */
    const ae_train_param vae[] = {AE_TRAIN_KL_BETA, AE_TRAIN_SUM_PER_IMAGE};
    for (size_t k = 0; k < sizeof vae / sizeof vae[0]; k++) {
        double v = 0.0;
        ck_assert_ae_ok(ae_trainer_get(t, vae[k], &v));
        bytes_put(b, &v, sizeof v);
    }
    ae_loss_terms terms[2];
    ck_assert_ae_ok(ae_trainer_last_terms(t, &terms[0], &terms[1]));
    bytes_put(b, terms, sizeof terms);
    /* the training controls (since 0.2): settings, rate, outcome */
    for (int p = AE_TRAIN_LR_SCHEDULE; p <= AE_TRAIN_CLIP_NORM; p++) {
        double v = 0.0;
        ck_assert_ae_ok(ae_trainer_get(t, (ae_train_param)p, &v));
        bytes_put(b, &v, sizeof v);
    }
    double lr = 0.0, best_loss = 0.0;
    ae_fit_end end = AE_FIT_NONE;
    int epochs = 0, best = 0;
    ck_assert_ae_ok(ae_trainer_learning_rate(t, &lr));
    ck_assert_ae_ok(ae_trainer_fit_outcome(t, &end, &epochs, &best,
                                           &best_loss));
    bytes_put(b, &lr, sizeof lr);
    bytes_put(b, &end, sizeof end);
    bytes_put(b, &epochs, sizeof epochs);
    bytes_put(b, &best, sizeof best);
    bytes_put(b, &best_loss, sizeof best_loss);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void snap_folder(bytes *b, const char *dir, int depth)
{
    enum { MAX_ENTRIES = 256 };
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    char *names[MAX_ENTRIES];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        ck_assert_uint_lt(n, MAX_ENTRIES);
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    bytes_put_u64(b, n);
    for (size_t i = 0; i < n; i++) {
        char p[1200];
        struct stat st;
        int len = snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        ck_assert(len > 0 && (size_t)len < sizeof p);
        ck_assert_int_eq(stat(p, &st), 0);
        bytes_put_str(b, names[i]);
        bytes_put_u64(b, (uint64_t)st.st_size);
        if (S_ISDIR(st.st_mode) && depth > 0)
            snap_folder(b, p, depth - 1);
        free(names[i]);
    }
}

void snap_file(bytes *b, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        bytes_put_str(b, "no file");
        return;
    }
    char buf[4096];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        bytes_put(b, buf, got);
    fclose(f);
}

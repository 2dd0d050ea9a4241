/* bench_scale.c - training on a memory-mapped IDX file larger than the
 * data sets the library is usually given: resident memory must not grow with
 * the number of images, and epoch time must grow linearly with it.
 *
 * It builds a 1,000,000-image raw IDX file from the 60,000 Fashion-MNIST
 * training images (copy c of the images is shifted by a small offset that
 * depends on c, and every other copy mirrored, so copies differ), or reuses
 * one already at the path with the right header and size.  Then, for 10k,
 * 30k, 60k and all images of the mapped file, it trains experiment 1's deep
 * autoencoder as the notebooks wrote it (784-512-256-128-30 /
 * 30-128-256-784, from examples/models.c; batch 64, Adam 1e-3, MSE,
 * shuffled) for one epoch, each size in its own child process so that
 * its peak resident memory (getrusage's ru_maxrss) is its own.  It prints
 * seconds, images/s, the time per image relative to the 60k run, the
 * highest resident memory sampled from /proc/self/status during the epoch
 * (anonymous and file-backed apart) and the peak from ru_maxrss; and for
 * comparison the same epoch on 60k images loaded into memory.  Because the
 * machines are shared, each child also times a large sgemm just before its
 * epoch: a size whose per-image time differs from the others' because the
 * machine was busier shows a lower sgemm rate too.  Each size is run
 * --repeat times (3) and the least disturbed run kept, judged by the
 * median time per image of the stretches between probes (see sample).
 *
 * usage: bench_scale [--data DIR] [--file PATH] [--images N] [--threads N]
 *                    [--rebuild] [--remove] [--sizes a,b,...] [--repeat N]
 * Default file: /tmp/autoenc-scale-1m-idx3-ubyte (~784 MB), kept for the
 * next run unless --remove.  Needs that much free disk space (checked). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>


#include <autoenc.h>

#include "bench_util.h"

#define DEFAULT_DATA "/usr/share/datasets/fashion-mnist"
#define DEFAULT_FILE "/tmp/autoenc-scale-1m-idx3-ubyte"
enum { SIDE = 28, PIXELS = SIDE * SIDE, MAX_SIZES = 16 };

/* ---- building the file ------------------------------------------------ */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* 1 if path is an IDX image file of n 28 x 28 images of the exact size. */
static int file_is_ready(const char *path, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    uint8_t h[16], want[16];
    put_be32(want, 0x803);
    put_be32(want + 4, (uint32_t)n);
    put_be32(want + 8, SIDE);
    put_be32(want + 12, SIDE);
    struct stat sb;
    int ok = fread(h, 1, 16, f) == 16 && memcmp(h, want, 16) == 0 &&
             fstat(fileno(f), &sb) == 0 &&
             (uintmax_t)sb.st_size == 16 + (uintmax_t)n * PIXELS;
    fclose(f);
    return ok;
}

/* Copy c of image src: shifted by (dx, dy) in -2..2 and, for odd c,
 * mirrored left to right; pixels shifted in are 0. */
static void transform(const uint8_t *src, size_t c, uint8_t *dst)
{
    static const int shift[][2] = {{0, 0},  {1, 0},  {-1, 0}, {0, 1},
                                   {0, -1}, {1, 1},  {-1, -1}, {1, -1},
                                   {-1, 1}, {2, 0},  {-2, 0}, {0, 2},
                                   {0, -2}, {2, 1},  {-2, -1}, {1, 2},
                                   {-1, -2}};
    const size_t nshift = sizeof shift / sizeof shift[0];
    int dx = shift[c % nshift][0], dy = shift[c % nshift][1];
    int mirror = (int)(c / nshift + c) % 2;
    for (int r = 0; r < SIDE; r++)
        for (int x = 0; x < SIDE; x++) {
            int sr = r - dy, sx = x - dx;
            if (mirror)
                sx = SIDE - 1 - sx;
            dst[r * SIDE + x] = sr >= 0 && sr < SIDE && sx >= 0 && sx < SIDE
                                    ? src[sr * SIDE + sx]
                                    : 0;
        }
}

/* Write n images built from the Fashion-MNIST training images to path. */
static void build_file(const char *data, const char *path, size_t n)
{
    char src_path[4096];
    snprintf(src_path, sizeof src_path, "%s/train-images-idx3-ubyte.gz", data);
    ae_dataset *ds;
    bench_check(ae_dataset_load_idx(&ds, src_path, NULL), src_path);
    size_t m = ae_dataset_count(ds);
    if (ae_dataset_image_size(ds) != PIXELS) {
        fprintf(stderr, "bench_scale: %s: not 28 x 28 images\n", src_path);
        exit(1);
    }
    /* Back to bytes: p / 255 as a float times 255 rounds back to p. */
    float *x = malloc(m * PIXELS * sizeof *x);
    uint8_t *px = malloc(m * PIXELS);
    uint8_t *out = malloc(4096 * PIXELS);
    if (!x || !px || !out) {
        fprintf(stderr, "bench_scale: out of memory\n");
        exit(1);
    }
    bench_check(ae_dataset_batch(ds, 0, m, x, NULL), "batch");
    for (size_t k = 0; k < m * PIXELS; k++)
        px[k] = (uint8_t)lrintf(x[k] * 255.0f);
    free(x);
    ae_dataset_free(ds);

    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.part", path);
    FILE *f = fopen(tmp, "wb");
    if (f == NULL) {
        fprintf(stderr, "bench_scale: cannot create %s: %s\n", tmp,
                strerror(errno));
        exit(1);
    }
    uint8_t h[16];
    put_be32(h, 0x803);
    put_be32(h + 4, (uint32_t)n);
    put_be32(h + 8, SIDE);
    put_be32(h + 12, SIDE);
    int ok = fwrite(h, 1, 16, f) == 16;
    for (size_t i = 0; i < n && ok;) {
        size_t chunk = 0;
        for (; chunk < 4096 && i < n; chunk++, i++)
            transform(px + (i % m) * PIXELS, i / m, out + chunk * PIXELS);
        ok = fwrite(out, PIXELS, chunk, f) == chunk;
    }
    if (fclose(f) != 0 || !ok || rename(tmp, path) != 0) {
        fprintf(stderr, "bench_scale: cannot write %s: %s\n", path,
                strerror(errno));
        remove(tmp);
        exit(1);
    }
    free(px);
    free(out);
}

/* ---- one epoch in a child process ------------------------------------- */

/* During an epoch: resident memory sampled every 0.25 s, and every second
 * a 1024^3 sgemm timed with the epoch's clock stopped, so that each epoch
 * can be compared with the machine's speed under the same load.  The
 * stretches of training between probes are timed too: a neighbour's burst
 * of work slows a few of them, and their median time per image is what
 * the epoch would have taken without it (a long epoch is hit by more
 * bursts than a short one, which would otherwise read as non-linearity). */
enum { PROBE_N = 1024, MAX_PROBES = 4096, BATCH = 64 };

typedef struct sample {
    long anon_kib, file_kib; /* highest RssAnon + RssFile sum seen */
    double last, last_probe, paused;
    bench_sgemm g;
    double rate[MAX_PROBES];
    int probes;
    double stretch_start;      /* when the current stretch began */
    size_t stretch_batch;      /* batches done when it began */
    double stretch[MAX_PROBES + 1]; /* seconds per image of each stretch */
    int stretches;
    size_t images;             /* in the epoch */
} sample;

static void rss_now(long *anon, long *file)
{
    *anon = *file = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        sscanf(line, "RssAnon: %ld", anon);
        sscanf(line, "RssFile: %ld", file);
    }
    fclose(f);
}

static void take_sample(sample *s)
{
    long a, f;
    rss_now(&a, &f);
    if (a + f > s->anon_kib + s->file_kib) {
        s->anon_kib = a;
        s->file_kib = f;
    }
}

/* Close the stretch that ends at time t after `batch` batches. */
static void end_stretch(sample *s, double t, size_t batch)
{
    size_t done = batch * BATCH < s->images ? batch * BATCH : s->images;
    size_t images = done - s->stretch_batch * BATCH;
    if (batch > s->stretch_batch && s->stretches <= MAX_PROBES)
        s->stretch[s->stretches++] = (t - s->stretch_start) / (double)images;
}

static int on_progress(const ae_progress *p, void *user)
{
    sample *s = user;
    double t = bench_now();
    if (t - s->last >= 0.25 || p->epoch_done) {
        take_sample(s);
        s->last = t;
    }
    if (p->epoch_done) {
        /* A short tail would be a noisy stretch: only if it is the only
         * one, or long enough. */
        if (s->stretches == 0 || t - s->stretch_start >= 0.5)
            end_stretch(s, t, p->batches);
    } else if (t - s->last_probe >= 1.0 && s->probes < MAX_PROBES) {
        end_stretch(s, t, p->batch);
        s->rate[s->probes++] = bench_sgemm_once(&s->g);
        bench_sgemm_settle();
        s->last_probe = bench_now();
        s->paused += s->last_probe - t;
        s->stretch_start = s->last_probe;
        s->stretch_batch = p->batch;
    }
    return 0;
}

typedef struct run {
    size_t images;
    double map_seconds, seconds, sgemm, loss;
    double fetch_seconds; /* one shuffled epoch of batches, no training */
    double probe;         /* median sgemm GFLOP/s probed during the epoch */
    double stretch;       /* median seconds per image of its stretches */
    long anon_kib, file_kib, maxrss_kib;
} run;

/* Train one epoch on the first n images of the file (mapped), or on the
 * gzip training images loaded into memory when path is NULL. */
static run one_epoch(const char *path, const char *data, size_t n,
                     int threads)
{
    run r = {0};
    bench_check(ae_set_threads(threads), "threads");
    r.sgemm = bench_sgemm_best(1024, 3);
    ae_dataset *all, *ds;
    double t0 = bench_now();
    if (path) {
        bench_check(ae_dataset_map_idx(&all, path, NULL), path);
    } else {
        char p[4096];
        snprintf(p, sizeof p, "%s/train-images-idx3-ubyte.gz", data);
        bench_check(ae_dataset_load_idx(&all, p, NULL), p);
    }
    r.map_seconds = bench_now() - t0;
    if (n > ae_dataset_count(all))
        n = ae_dataset_count(all);
    bench_check(ae_dataset_subset(all, 0, n, &ds), "subset");
    ae_dataset_free(all);
    r.images = n;

    ae_model *m = bench_dense_autoencoder();
    ae_optimizer *adam;
    ae_trainer *t;
    bench_check(ae_optimizer_create_adam(&adam, 1e-3f), "adam");
    bench_check(ae_trainer_create(&t, m, adam), "trainer");
    bench_check(ae_trainer_set(t, AE_TRAIN_BATCH_SIZE, BATCH), "batch");
    bench_check(ae_trainer_set(t, AE_TRAIN_LOSS, AE_LOSS_MSE), "loss");
    /* The first step allocates the trainer's buffers: before the clock. */
    float *warm = malloc(BATCH * PIXELS * sizeof *warm);
    bench_check(ae_dataset_batch(ds, 0, BATCH, warm, NULL), "batch");
    bench_check(ae_trainer_step(t, warm, NULL, BATCH, NULL), "warm-up");
    free(warm);
    static sample s; /* large: not on the stack */
    bench_sgemm_init(&s.g, PROBE_N);
    take_sample(&s);
    bench_sgemm_settle(); /* after the sgemm measured before the epochs */
    t0 = bench_now();
    s.last = s.last_probe = s.stretch_start = t0;
    s.images = n;
    bench_check(ae_trainer_fit(t, ds, NULL, 1, on_progress, &s), "fit");
    r.seconds = bench_now() - t0 - s.paused;
    s.rate[s.probes++] = bench_sgemm_once(&s.g); /* at least one */
    r.probe = bench_median(s.rate, s.probes);
    r.stretch = bench_median(s.stretch, s.stretches);
    bench_sgemm_free(&s.g);
    take_sample(&s);
    bench_check(ae_trainer_evaluate(t, ds, &r.loss), "evaluate");
    /* The data path alone: what reading the mapped file (and dropping its
     * pages) costs per image, next to the training step. */
    ae_batches *it;
    bench_check(ae_batches_create(&it, ds, BATCH, 1, 99), "batches");
    float *x = malloc(BATCH * PIXELS * sizeof *x);
    size_t got;
    t0 = bench_now();
    do
        bench_check(ae_batches_next(it, x, NULL, &got), "next");
    while (got > 0);
    r.fetch_seconds = bench_now() - t0;
    take_sample(&s);
    free(x);
    ae_batches_free(it);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    r.anon_kib = s.anon_kib;
    r.file_kib = s.file_kib;
    r.maxrss_kib = ru.ru_maxrss;
    ae_trainer_free(t);
    ae_optimizer_free(adam);
    ae_model_free(m);
    ae_dataset_free(ds);
    return r;
}

/* one_epoch in a child process, its result sent back through a pipe. */
static run in_child(const char *path, const char *data, size_t n, int threads)
{
    int fd[2];
    if (pipe(fd) != 0) {
        perror("bench_scale: pipe");
        exit(1);
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("bench_scale: fork");
        exit(1);
    }
    if (pid == 0) {
        close(fd[0]);
        run r = one_epoch(path, data, n, threads);
        ssize_t w = write(fd[1], &r, sizeof r);
        _exit(w == (ssize_t)sizeof r ? 0 : 1);
    }
    close(fd[1]);
    run r;
    ssize_t got = read(fd[0], &r, sizeof r);
    close(fd[0]);
    int status;
    waitpid(pid, &status, 0);
    if (got != (ssize_t)sizeof r || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench_scale: the run on %zu images failed\n", n);
        exit(1);
    }
    return r;
}

/* Time per image in units of the machine's speed during the epoch:
 * seconds per image x the probes' median GFLOP/s. */
static double cost(const run *r)
{
    return r->seconds / (double)r->images * r->probe;
}

static void print_run(const char *name, const run *r, double ref)
{
    double per = r->seconds / (double)r->images;
    printf("%-14s %9zu %8.2f %9.0f %8.1f %8.1f %7.1f %6.2f %7.1f %8.0f %6.0f %7.0f "
           "%6.3f %8.4f %7.2f\n",
           name, r->images, r->seconds, (double)r->images / r->seconds,
           per * 1e6, r->stretch * 1e6, r->probe, cost(r) / ref, r->sgemm, (double)(r->anon_kib + r->file_kib) / 1024.0,
           (double)r->file_kib / 1024.0, (double)r->maxrss_kib / 1024.0,
           r->map_seconds, r->loss, r->fetch_seconds / (double)r->images * 1e6);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    const char *data = DEFAULT_DATA, *path = DEFAULT_FILE;
    size_t total = 1000000;
    int threads = 2, rebuild = 0, remove_after = 0, repeat = 3;
    size_t sizes[MAX_SIZES] = {10000, 30000, 60000, 0};
    int nsizes = 4;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
            data = argv[++i];
        else if (strcmp(argv[i], "--file") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "--images") == 0 && i + 1 < argc)
            total = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--rebuild") == 0)
            rebuild = 1;
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (strcmp(argv[i], "--remove") == 0)
            remove_after = 1;
        else if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc) {
            nsizes = 0;
            for (char *p = argv[++i]; *p && nsizes < MAX_SIZES;) {
                sizes[nsizes++] = strtoul(p, &p, 10);
                if (*p == ',')
                    p++;
            }
        } else {
            fprintf(stderr,
                    "usage: %s [--data DIR] [--file PATH] [--images N] "
                    "[--threads N] [--rebuild] [--remove] [--sizes a,b,...] "
                    "[--repeat N]"
                    "\n  (a size of 0 means all images)\n", argv[0]);
            return 2;
        }
    }
    if (repeat < 1 || repeat > 100) {
        fprintf(stderr, "bench_scale: --repeat must be 1 .. 100\n");
        return 2;
    }
    if (nsizes == 0) {
        fprintf(stderr, "bench_scale: --sizes lists no size\n");
        return 2;
    }
    if (total == 0 || total > UINT32_MAX) {
        fprintf(stderr, "bench_scale: --images must be 1 .. %u\n", UINT32_MAX);
        return 2;
    }
    size_t bytes = 16 + total * PIXELS;

    if (rebuild || !file_is_ready(path, total)) {
        /* Free space where the file goes, with 64 MiB to spare. */
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash == NULL)
            snprintf(dir, sizeof dir, ".");
        else if (slash == dir)
            dir[1] = '\0';
        else
            *slash = '\0';
        struct statvfs vfs;
        if (statvfs(dir, &vfs) != 0) {
            fprintf(stderr, "bench_scale: cannot check free space in %s: %s\n",
                    dir, strerror(errno));
            return 1;
        }
        double avail = (double)vfs.f_bavail * (double)vfs.f_frsize;
        if (avail < (double)bytes + 64.0 * 1048576.0) {
            fprintf(stderr,
                    "bench_scale: %s has %.0f MB free, but the %zu-image file "
                    "needs %.0f MB (plus 64 MB to spare).  Choose another "
                    "place with --file PATH, or fewer images with --images N."
                    "\n", dir, avail / 1e6, total, (double)bytes / 1e6);
            return 1;
        }
        printf("building %s: %zu images, %.0f MB ...\n", path, total,
               (double)bytes / 1e6);
        fflush(stdout);
        double t0 = bench_now();
        /* In a child, so the parent stays small for the runs it forks. */
        pid_t pid = fork();
        if (pid == 0) {
            build_file(data, path, total);
            _exit(0);
        }
        int status;
        if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0) {
            fprintf(stderr, "bench_scale: building the file failed\n");
            return 1;
        }
        printf("built in %.1f s\n", bench_now() - t0);
    } else {
        printf("reusing %s (%zu images, %.0f MB)\n", path, total,
               (double)bytes / 1e6);
    }

    ae_model *model = bench_dense_autoencoder();
    printf("\nexperiment 1's deep autoencoder 784-512-256-128-30 / "
           "30-128-256-784 (%zu parameters; batch 64, Adam, MSE), one "
           "shuffled epoch, %d threads\n", ae_model_param_count(model),
           threads);
    ae_model_free(model);
    printf("%-14s %9s %8s %9s %8s %8s %7s %6s %7s %8s %6s %7s %6s %8s %7s\n",
           "dataset", "images", "seconds", "img/s", "us/img", "median", "probe",
           "x60k", "sgemm", "RSS MB", "file", "maxrss", "open s", "MSE",
           "read us");
    run runs[MAX_SIZES] = {{0}};
    double ref = 0;
    for (int k = 0; k < nsizes; k++) {
        size_t n = sizes[k] == 0 || sizes[k] > total ? total : sizes[k];
        /* The least disturbed of `repeat` epochs: a neighbour's work can
         * only slow an epoch down, never speed it up. */
        for (int r = 0; r < repeat; r++) {
            run one = in_child(path, data, n, threads);
            if (r == 0 || one.stretch < runs[k].stretch)
                runs[k] = one;
        }
        if (n == 60000 || (ref == 0 && k == nsizes - 1))
            ref = cost(&runs[k]);
    }
    if (ref == 0)
        ref = cost(&runs[0]);
    double lo = INFINITY, hi = 0, raw_lo = INFINITY, raw_hi = 0;
    double raw_ref = 0, med_ref = 0, med_lo = INFINITY, med_hi = 0;
    for (int k = 0; k < nsizes; k++)
        if (runs[k].images == 60000 || raw_ref == 0) {
            raw_ref = runs[k].seconds / (double)runs[k].images;
            med_ref = runs[k].stretch;
        }
    long worst_rss = 0, big_rss = 0;
    for (int k = 0; k < nsizes; k++) {
        char name[32];
        snprintf(name, sizeof name, "mapped %zuk", runs[k].images / 1000);
        print_run(name, &runs[k], ref);
        double ratio = cost(&runs[k]) / ref;
        lo = ratio < lo ? ratio : lo;
        hi = ratio > hi ? ratio : hi;
        double raw = runs[k].seconds / (double)runs[k].images / raw_ref;
        raw_lo = raw < raw_lo ? raw : raw_lo;
        raw_hi = raw > raw_hi ? raw : raw_hi;
        double med = runs[k].stretch / med_ref;
        med_lo = med < med_lo ? med : med_lo;
        med_hi = med > med_hi ? med : med_hi;
        if (runs[k].maxrss_kib > worst_rss)
            worst_rss = runs[k].maxrss_kib;
        if (runs[k].images == total)
            big_rss = runs[k].maxrss_kib;
    }
    run mem = in_child(NULL, data, 60000, threads);
    for (int r = 1; r < repeat; r++) {
        run one = in_child(NULL, data, 60000, threads);
        if (one.stretch < mem.stretch)
            mem = one;
    }
    print_run("in-memory 60k", &mem, ref);
    printf("\n(us/img: microseconds per image; median: the median over the "
           "epoch's stretches between probes of microseconds per image; "
           "probe: median GFLOP/s of "
           "1024^3 sgemm probes timed once a second during the epoch, clock "
           "stopped; x60k: time per image x probe, over the mapped 60k run's; "
           "sgemm: best of 3 sgemm just before the epoch; RSS: highest RssAnon + RssFile sampled during the "
           "epoch, file: its RssFile part; maxrss: the child's ru_maxrss; "
           "open s: time to map or load; MSE: after the epoch; read us: "
           "microseconds per image of a shuffled epoch of batches alone)\n");
    /* Both ways: the probes follow the load, but a batch-64 training step
     * does not speed up or slow down with it exactly as a large sgemm does,
     * so on a busy machine neither figure alone is exact. */
    printf("time per image across sizes, relative to the mapped 60k run: "
           "%.2f .. %.2f as measured, %.2f .. %.2f by the median stretch, "
           "%.2f .. %.2f x probe rate\n", raw_lo, raw_hi, med_lo, med_hi,
           lo, hi);
    printf("linear within 15%%: %s as measured, %s by the median stretch, "
           "%s x probe rate\n", raw_hi / raw_lo <= 1.15 ? "yes" : "no",
           med_hi / med_lo <= 1.15 ? "yes" : "no",
           hi / lo <= 1.15 ? "yes" : "no");
    printf("peak resident memory on the %zu-image mapped file: %.0f MB "
           "(target < 200 MB): %s; largest over all sizes %.0f MB\n", total,
           (double)big_rss / 1024.0, big_rss < 200 * 1024 ? "met" : "MISSED",
           (double)worst_rss / 1024.0);
    if (remove_after)
        remove(path);
    return 0;
}

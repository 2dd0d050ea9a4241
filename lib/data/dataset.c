/*
 * dataset.c - the dataset handle.
 *
 * The pixels live once, in a reference-counted storage block; a handle is a
 * view on it: an index array, or (NULL index) a contiguous run of images.
 * Subsets and splits are new views, so they cost no pixel copies and any
 * handle may be freed first.  The count is atomic because datasets may be
 * shared between threads, and freeing two views of one storage on two
 * threads at once must still free it exactly once.
 *
 * Storage from ae_dataset_map_idx holds no copy of the pixels: they are read
 * in place from a read-only shared mapping of the file, unmapped with the
 * storage.  Pages of a file mapping that a reader touched stay in the
 * process's resident set (and so in its RSS) until the mapping is unmapped
 * or they are dropped, even though they are clean page cache the kernel could
 * reclaim; a shuffled epoch touches every page, so a 1,000,000-image file
 * would end an epoch with 784 MB resident.  To keep the resident set flat,
 * every read of mapped pixels is charged to the storage, and once the
 * charges reach AE__MAP_RESIDENT_BUDGET the reader that crossed it drops the
 * whole mapping with madvise(MADV_DONTNEED), between two images.  For a
 * read-only file mapping that only unmaps the pages: they stay in the page
 * cache, and the next read of one is a minor fault that maps it again (no
 * disk read unless the kernel evicted it meanwhile), with the same bytes.  It is safe while other threads
 * read the same storage.  The charge is an upper bound on what a read can
 * bring in: the bytes read plus, for every image read apart from its
 * neighbours, the largest folio a fault maps (MAP_FAULT_MAX).  This works
 * for any access order - shuffled batches, splits, PCA passes - without
 * changing it; the cost is a madvise call every budget's worth of reads
 * (every 32 images of a shuffled epoch) and a minor fault per image read
 * after it.  A windowed shuffle (shuffle within blocks of images, drop each
 * block's pages after it) would fault less but would change the batch order
 * of mapped datasets; measured, the drops cost little (docs/PERFORMANCE.md),
 * so the order stays the same for every dataset.
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* madvise, MADV_DONTNEED */
#endif

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "data/dataset.h"

typedef struct storage {
    atomic_size_t refs;
    uint8_t *pixels;   /* count x image_size: from ae__alloc, or in map */
    void *map;         /* read-only file mapping of map_size bytes, or NULL */
    size_t map_size;
    atomic_size_t charged; /* mapped bytes read since the last drop */
    uint8_t *labels;   /* count, or NULL */
    size_t count;
    size_t image_size; /* height * width (one channel) */
    int height, width;
    char **class_names; /* class_count strings, or NULL (png_folder.c) */
    size_t class_count;
} storage;

struct ae_dataset {
    storage *st;
    size_t *index;  /* storage image of each handle image, or NULL: ... */
    size_t offset;  /* ... then image i is storage image offset + i */
    size_t count;   /* >= 1: a dataset is never empty */
    ae_pixel_range range;
};

/* Seeds the split permutation; distinct from the streams other modules draw
 * from the same user seed so a split never mirrors a batch order. */
#define AE_SPLIT_STREAM UINT64_C(0x53504c4954) /* "SPLIT" */

static void storage_free(storage *st)
{
    for (size_t k = 0; k < st->class_count; k++)
        ae__free(st->class_names[k]);
    ae__free(st->class_names);
    if (st->map != NULL)
        munmap(st->map, st->map_size);
    else
        ae__free(st->pixels);
    ae__free(st->labels);
    ae__free(st);
}

/* The most a read fault on a file mapping can make resident at once: the
 * whole page-cache folio holding the address, which with large folios (ext4,
 * xfs on recent kernels) is up to one PMD, 2 MiB on x86-64 and arm64 with
 * 4 KiB pages - not just the 4 KiB page or the 64 KiB fault-around window.
 * Measured on Linux 6.18, ext4: 1.2 MB resident per random 784-byte read. */
#define MAP_FAULT_MAX ((size_t)2 << 20)

/* Charge `bytes` of reads of st's mapping (nothing for memory storage), and
 * drop the mapping's pages from the resident set when the charges reach the
 * budget.  Only the reader whose charge crosses the budget drops, so
 * concurrent readers drop once per crossing. */
static void storage_charge(storage *st, size_t bytes)
{
    if (st->map == NULL)
        return;
    size_t before = atomic_fetch_add_explicit(&st->charged, bytes,
                                              memory_order_relaxed);
    if (before < AE__MAP_RESIDENT_BUDGET &&
        bytes >= AE__MAP_RESIDENT_BUDGET - before) {
        /* Cannot fail for a valid mapping; if it did, the pages would only
         * stay resident longer. */
        (void)madvise(st->map, st->map_size, MADV_DONTNEED);
        atomic_store_explicit(&st->charged, 0, memory_order_relaxed);
    }
}

static void storage_release(storage *st)
{
    /* acq_rel: the last owner must see every other owner's reads done
     * before it frees. */
    if (atomic_fetch_sub_explicit(&st->refs, 1, memory_order_acq_rel) == 1)
        storage_free(st);
}

static size_t storage_image(const ae_dataset *ds, size_t i)
{
    return ds->index ? ds->index[i] : ds->offset + i;
}

/* A new view of st: through index (owned by the view, freed on failure) or,
 * when index is NULL, over images offset .. offset+count-1.  Takes a new
 * reference on st. */
static ae_status view_new(ae_dataset **out, storage *st, size_t *index,
                          size_t offset, size_t count, ae_pixel_range range)
{
    ae_dataset *ds = ae__calloc(1, sizeof *ds);
    if (ds == NULL) {
        ae__free(index);
        return ae__fail(AE_ERR_NO_MEMORY, "cannot allocate a dataset handle");
    }
    atomic_fetch_add_explicit(&st->refs, 1, memory_order_relaxed);
    ds->st = st;
    ds->index = index;
    ds->offset = offset;
    ds->count = count;
    ds->range = range;
    *out = ds;
    return AE_OK;
}

ae_status ae__dataset_adopt(ae_dataset **out, uint8_t *pixels,
                            uint8_t *labels, size_t count, int height,
                            int width)
{
    storage *st = ae__calloc(1, sizeof *st);
    if (st == NULL) {
        ae__free(pixels);
        ae__free(labels);
        return ae__fail(AE_ERR_NO_MEMORY, "cannot allocate dataset storage");
    }
    atomic_init(&st->refs, 0);
    st->pixels = pixels;
    st->labels = labels;
    st->count = count;
    st->image_size = (size_t)height * (size_t)width;
    st->height = height;
    st->width = width;
    ae_status s = view_new(out, st, NULL, 0, count, AE_RANGE_UNIT);
    if (s != AE_OK)
        storage_free(st); /* no view holds a reference */
    return s;
}

ae_status ae__dataset_adopt_mapped(ae_dataset **out, int fd, size_t file_size,
                                   size_t data_offset, uint8_t *labels,
                                   size_t count, int height, int width,
                                   const char *name)
{
    void *map = mmap(NULL, file_size, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        int err = errno;
        char msg[128];
        if (strerror_r(err, msg, sizeof msg) != 0)
            snprintf(msg, sizeof msg, "error %d", err);
        ae__free(labels);
        return ae__fail(err == ENOMEM ? AE_ERR_NO_MEMORY : AE_ERR_IO,
                        "%s: cannot map %zu bytes: %s", name, file_size, msg);
    }
    /* Start reading the file into the page cache when it surely fits in
     * memory (readahead; the pages do not become resident in this process
     * until read).  A larger file is left to the kernel's own readahead,
     * which backs off for random reads. */
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0 &&
        file_size / (size_t)page <= (size_t)pages / 4)
        (void)madvise(map, file_size, MADV_WILLNEED);
    storage *st = ae__calloc(1, sizeof *st);
    if (st == NULL) {
        munmap(map, file_size);
        ae__free(labels);
        return ae__fail(AE_ERR_NO_MEMORY, "cannot allocate dataset storage");
    }
    atomic_init(&st->refs, 0);
    atomic_init(&st->charged, 0);
    st->map = map;
    st->map_size = file_size;
    st->pixels = (uint8_t *)map + data_offset;
    st->labels = labels;
    st->count = count;
    st->image_size = (size_t)height * (size_t)width;
    st->height = height;
    st->width = width;
    ae_status s = view_new(out, st, NULL, 0, count, AE_RANGE_UNIT);
    if (s != AE_OK)
        storage_free(st);
    return s;
}

void ae_dataset_free(ae_dataset *ds)
{
    if (ds == NULL)
        return;
    storage_release(ds->st);
    ae__free(ds->index);
    ae__free(ds);
}

size_t ae_dataset_count(const ae_dataset *ds)
{
    return ds ? ds->count : 0;
}

ae_status ae_dataset_shape(const ae_dataset *ds, int *channels, int *height,
                           int *width)
{
    AE_REQUIRE(ds);
    if (channels)
        *channels = 1;
    if (height)
        *height = ds->st->height;
    if (width)
        *width = ds->st->width;
    return AE_OK;
}

size_t ae_dataset_image_size(const ae_dataset *ds)
{
    return ds ? ds->st->image_size : 0;
}

int ae_dataset_has_labels(const ae_dataset *ds)
{
    return ds != NULL && ds->st->labels != NULL;
}

ae_status ae_dataset_set_range(ae_dataset *ds, ae_pixel_range range)
{
    AE_REQUIRE(ds);
    if (range != AE_RANGE_UNIT && range != AE_RANGE_SYMMETRIC)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_dataset_set_range: unknown pixel range %d",
                        (int)range);
    ds->range = range;
    return AE_OK;
}

ae_pixel_range ae_dataset_range(const ae_dataset *ds)
{
    return ds ? ds->range : AE_RANGE_UNIT;
}

/* The pixel loops run once per value of every pass over a dataset (the
 * trainer's batches, PCA's passes) and are bound by instructions, not
 * memory: baseline x86-64 converts 16 pixels a step, AVX2 32.  A copy for
 * each, chosen when the library loads (GCC's and Clang's ifuncs, ELF
 * only), took PCA-30's conversions from 11.6% to 7.4% of its samples.
 * The same operations in the same order: the same bits either way. */
#if defined(__x86_64__) && defined(__ELF__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define AE_PIXEL_LOOP_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef AE_PIXEL_LOOP_CLONES
#define AE_PIXEL_LOOP_CLONES
#endif

/* The loop of ae__pixels_to_float, static: Clang 14 names a clone
 * function's dispatcher "name.ifunc", so other files could not link to a
 * cloned function that is not static. */
AE_PIXEL_LOOP_CLONES
static void pixels_to_float_loop(const uint8_t *restrict src, size_t n,
                                 float offset, float scale,
                                 float *restrict dst)
{
    for (size_t k = 0; k < n; k++)
        dst[k] = ((float)src[k] - offset) * scale;
}

void ae__pixels_to_float(const uint8_t *restrict src, size_t n,
                         ae_pixel_range range, float *restrict dst)
{
    /* (p - offset) * scale rather than p * scale + offset: the subtraction
     * is exact, 255 * (1/255.f) and 127.5 * (1/127.5f) both round to 1, so
     * the ends of the range come out exact; and a compiler may not fuse it
     * into an FMA, which would round differently. */
    const float offset = range == AE_RANGE_SYMMETRIC ? 127.5f : 0.0f;
    const float scale = range == AE_RANGE_SYMMETRIC ? 1.0f / 127.5f
                                                    : 1.0f / 255.0f;
    pixels_to_float_loop(src, n, offset, scale, dst);
}

const uint8_t *ae__dataset_image_u8(const ae_dataset *ds, size_t i)
{
    if (ds == NULL || i >= ds->count)
        return NULL;
    return ds->st->pixels + storage_image(ds, i) * ds->st->image_size;
}

/* Image i of the view (and its label, when labels is not NULL) into slot
 * `slot` of the caller's arrays. */
static void copy_image(const ae_dataset *ds, size_t i, size_t slot,
                       float *images, uint8_t *labels)
{
    const storage *st = ds->st;
    size_t j = storage_image(ds, i);
    ae__pixels_to_float(st->pixels + j * st->image_size, st->image_size,
                        ds->range, images + slot * st->image_size);
    if (labels)
        labels[slot] = st->labels[j];
}

/* Charge a read of image i of ds alone (its neighbours not read with it):
 * one fault's worth.  Per image, so that the drop comes in the middle of a
 * large scattered batch rather than after it. */
static void charge_image(const ae_dataset *ds)
{
    if (ds->st->map != NULL)
        storage_charge(ds->st, ds->st->image_size + MAP_FAULT_MAX);
}

/* Charge the read of image i of ds, the next of a run of neighbouring
 * images (first: the run's first): its bytes, plus a fault at the start of
 * the run and another when the run ends (charged up front). */
static void charge_next(const ae_dataset *ds, int first)
{
    if (ds->st->map != NULL)
        storage_charge(ds->st, ds->st->image_size +
                                   (first ? 2 * MAP_FAULT_MAX : 0));
}

static ae_status check_labels_wanted(const ae_dataset *ds,
                                     const uint8_t *labels, const char *fn)
{
    if (labels != NULL && ds->st->labels == NULL)
        return ae__fail(AE_ERR_UNSUPPORTED,
                        "%s: labels requested but the dataset has none", fn);
    return AE_OK;
}

ae_status ae_dataset_batch(const ae_dataset *ds, size_t first, size_t count,
                           float *images, uint8_t *labels)
{
    AE_REQUIRE(ds);
    AE_REQUIRE(images);
    if (first > ds->count || count > ds->count - first)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_dataset_batch: %zu images from index %zu run past "
                        "the end of a dataset of %zu images",
                        count, first, ds->count);
    ae_status s = check_labels_wanted(ds, labels, __func__);
    if (s != AE_OK)
        return s;
    for (size_t k = 0; k < count; k++) {
        copy_image(ds, first + k, k, images, labels);
        if (ds->index == NULL)
            charge_next(ds, k == 0);
        else
            charge_image(ds);
    }
    return AE_OK;
}

/* One image's pixels and their squares added into sum and sum_sq (static
 * for Clang's sake, as pixels_to_float_loop). */
AE_PIXEL_LOOP_CLONES
static void add_pixel_sums(const uint8_t *restrict p, size_t d,
                           uint64_t *restrict sum, uint64_t *restrict sum_sq)
{
    for (size_t c = 0; c < d; c++) {
        uint32_t v = p[c];
        sum[c] += v;
        sum_sq[c] += v * v;
    }
}

void ae__dataset_pixel_sums(const ae_dataset *ds, size_t first, size_t count,
                            uint64_t *sum, uint64_t *sum_sq)
{
    const size_t d = ds->st->image_size;
    for (size_t k = 0; k < count; k++) {
        add_pixel_sums(ds->st->pixels + storage_image(ds, first + k) * d, d,
                       sum, sum_sq);
        if (ds->index == NULL)
            charge_next(ds, k == 0);
        else
            charge_image(ds);
    }
}

ae_status ae_dataset_gather(const ae_dataset *ds, const size_t *indices,
                            size_t count, float *images, uint8_t *labels)
{
    AE_REQUIRE(ds);
    AE_REQUIRE(indices);
    AE_REQUIRE(images);
    /* Every index is checked before anything is written, so a bad list
     * leaves the caller's arrays untouched. */
    for (size_t k = 0; k < count; k++)
        if (indices[k] >= ds->count)
            return ae__fail(AE_ERR_INVALID_ARGUMENT,
                            "ae_dataset_gather: indices[%zu] = %zu is out of "
                            "range for a dataset of %zu images",
                            k, indices[k], ds->count);
    ae_status s = check_labels_wanted(ds, labels, __func__);
    if (s != AE_OK)
        return s;
    /* A shuffled batch's images lie anywhere in the pixels: the reads of
     * the image GATHER_AHEAD places on are started before this one is
     * converted, so that the conversion does not wait on each image's
     * cache misses in turn (the gather of a batch of 64 took 1.4% of the
     * dense epoch's samples, all on the calling thread). */
    enum { GATHER_AHEAD = 2, LINE = 64 };
    const size_t d = ds->st->image_size;
    for (size_t k = 0; k < count; k++) {
        if (k + GATHER_AHEAD < count) {
            const uint8_t *next =
                ds->st->pixels +
                storage_image(ds, indices[k + GATHER_AHEAD]) * d;
            for (size_t b = 0; b < d; b += LINE)
                __builtin_prefetch(next + b);
        }
        copy_image(ds, indices[k], k, images, labels);
        charge_image(ds);
    }
    return AE_OK;
}

ae_status ae_dataset_label(const ae_dataset *ds, size_t index, uint8_t *label)
{
    AE_REQUIRE(ds);
    AE_REQUIRE(label);
    if (ds->st->labels == NULL)
        return ae__fail(AE_ERR_UNSUPPORTED,
                        "ae_dataset_label: the dataset has no labels");
    if (index >= ds->count)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_dataset_label: index %zu is out of range for a "
                        "dataset of %zu images",
                        index, ds->count);
    *label = ds->st->labels[storage_image(ds, index)];
    return AE_OK;
}

ae_status ae_dataset_subset(const ae_dataset *ds, size_t first, size_t count,
                            ae_dataset **out)
{
    AE_REQUIRE(out);
    *out = NULL;
    AE_REQUIRE(ds);
    if (count == 0 || first > ds->count || count > ds->count - first)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_dataset_subset: %zu images from index %zu are "
                        "not a non-empty range of a dataset of %zu images",
                        count, first, ds->count);
    if (ds->index == NULL)
        return view_new(out, ds->st, NULL, ds->offset + first, count,
                        ds->range);
    size_t *index;
    AE_ALLOC_OR_FAIL(index, count, "the subset's index");
    memcpy(index, ds->index + first, count * sizeof *index);
    return view_new(out, ds->st, index, 0, count, ds->range);
}

/* The split's halves: perm[0 .. n_train) and perm[n_train .. count), as
 * storage indices.  Frees perm in every case. */
static ae_status split_views(const ae_dataset *ds, size_t *perm,
                             size_t n_train, ae_dataset **train,
                             ae_dataset **validation)
{
    size_t n_val = ds->count - n_train;
    size_t *ti = ae__calloc(n_train, sizeof *ti);
    size_t *vi = ae__calloc(n_val, sizeof *vi);
    if (ti == NULL || vi == NULL) {
        ae__free(perm);
        ae__free(ti);
        ae__free(vi);
        return ae__fail(AE_ERR_NO_MEMORY,
                        "ae_dataset_split: cannot allocate the index arrays");
    }
    for (size_t k = 0; k < ds->count; k++) {
        size_t j = storage_image(ds, perm[k]);
        if (k < n_train)
            ti[k] = j;
        else
            vi[k - n_train] = j;
    }
    ae__free(perm);
    ae_status s = view_new(train, ds->st, ti, 0, n_train, ds->range);
    if (s != AE_OK) {
        ae__free(vi);
        return s;
    }
    s = view_new(validation, ds->st, vi, 0, n_val, ds->range);
    if (s != AE_OK) {
        ae_dataset_free(*train);
        *train = NULL;
    }
    return s;
}

ae_status ae_dataset_split(const ae_dataset *ds, double train_fraction,
                           uint64_t seed, ae_dataset **train,
                           ae_dataset **validation)
{
    if (train != NULL)
        *train = NULL;
    if (validation != NULL)
        *validation = NULL;
    AE_REQUIRE(train);
    AE_REQUIRE(validation);
    AE_REQUIRE(ds);
    /* Written so that NaN fails too. */
    if (!(train_fraction > 0.0 && train_fraction < 1.0))
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_dataset_split: train_fraction %g is not strictly "
                        "between 0 and 1",
                        train_fraction);
    size_t n_train = (size_t)llround(train_fraction * (double)ds->count);
    if (n_train == 0 || n_train >= ds->count)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_dataset_split: train_fraction %g of %zu images "
                        "leaves an empty part (%zu train)",
                        train_fraction, ds->count, n_train);
    size_t *perm;
    AE_ALLOC_OR_FAIL(perm, ds->count, "the split permutation");
    for (size_t k = 0; k < ds->count; k++)
        perm[k] = k;
    ae__rng rng;
    ae__rng_seed(&rng, seed, AE_SPLIT_STREAM);
    ae__rng_shuffle(&rng, perm, ds->count);
    return split_views(ds, perm, n_train, train, validation);
}

/* ---- class names (datasets loaded from class folders) ------------------ */

void ae__dataset_set_class_names(ae_dataset *ds, char **names, size_t count)
{
    storage *st = ds->st;
    for (size_t k = 0; k < st->class_count; k++)
        ae__free(st->class_names[k]);
    ae__free(st->class_names);
    st->class_names = names;
    st->class_count = names ? count : 0;
}

size_t ae_dataset_class_count(const ae_dataset *ds)
{
    return ds ? ds->st->class_count : 0;
}

ae_status ae_dataset_class_name(const ae_dataset *ds, int label,
                                const char **name)
{
    AE_REQUIRE(ds);
    AE_REQUIRE(name);
    if (ds->st->class_count == 0)
        return ae__fail(AE_ERR_UNSUPPORTED,
                        "ae_dataset_class_name: the dataset has no class "
                        "names");
    if (label < 0 || (size_t)label >= ds->st->class_count)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_dataset_class_name: label %d is out of range for "
                        "%zu classes",
                        label, ds->st->class_count);
    *name = ds->st->class_names[label];
    return AE_OK;
}

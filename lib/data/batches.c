/*
 * batches.c - mini-batch iteration over a dataset.
 *
 * Epoch e's order is a permutation drawn from a generator seeded with
 * (seed, e) alone, so it does not depend on how many batches were taken
 * before: a run resumed at epoch e sees the same order as an unbroken one.
 */
#include <string.h>

#include "data/batches.h"

struct ae_batches {
    ae_dataset *ds;    /* own view of the caller's dataset */
    size_t *order;     /* this epoch's order of the ds->count images */
    size_t count;
    size_t batch_size;
    size_t pos;        /* next position in order */
    uint64_t epoch;    /* 0-based */
    uint64_t seed;
    int shuffle;
};

/* Epoch e draws from stream AE_BATCHES_STREAM + e: apart from the streams
 * other modules take from the same user seed. */
#define AE_BATCHES_STREAM UINT64_C(0x4241544348000000) /* "BATCH" */

static void start_epoch(ae_batches *it)
{
    it->pos = 0;
    for (size_t k = 0; k < it->count; k++)
        it->order[k] = k;
    if (it->shuffle) {
        ae__rng rng;
        ae__rng_seed(&rng, it->seed, AE_BATCHES_STREAM + it->epoch);
        ae__rng_shuffle(&rng, it->order, it->count);
    }
}

ae_status ae_batches_create(ae_batches **out, const ae_dataset *ds,
                            size_t batch_size, int shuffle, uint64_t seed)
{
    AE_REQUIRE(out);
    *out = NULL;
    AE_REQUIRE(ds);
    if (batch_size == 0)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_batches_create: batch_size is 0");
    ae_batches *it;
    AE_ALLOC_OR_FAIL(it, 1, "the iterator");
    it->count = ae_dataset_count(ds);
    it->batch_size = batch_size;
    it->seed = seed;
    it->shuffle = shuffle != 0;
    it->order = ae__calloc(it->count, sizeof *it->order);
    /* A view of our own keeps the images alive if ds is freed first. */
    ae_status s = it->order ? ae_dataset_subset(ds, 0, it->count, &it->ds)
                            : ae__fail(AE_ERR_NO_MEMORY,
                                       "ae_batches_create: cannot allocate "
                                       "the order of %zu images", it->count);
    if (s != AE_OK) {
        ae_batches_free(it);
        return s;
    }
    start_epoch(it);
    *out = it;
    return AE_OK;
}

void ae_batches_free(ae_batches *it)
{
    if (it == NULL)
        return;
    ae_dataset_free(it->ds);
    ae__free(it->order);
    ae__free(it);
}

ae_status ae_batches_next(ae_batches *it, float *images, uint8_t *labels,
                          size_t *count)
{
    AE_REQUIRE(it);
    AE_REQUIRE(images);
    AE_REQUIRE(count);
    if (labels != NULL && !ae_dataset_has_labels(it->ds))
        return ae__fail(AE_ERR_UNSUPPORTED,
                        "ae_batches_next: labels requested but the dataset "
                        "has none");
    if (it->pos == it->count) {
        it->epoch++;
        start_epoch(it);
        *count = 0;
        return AE_OK;
    }
    size_t n = it->count - it->pos;
    if (n > it->batch_size)
        n = it->batch_size;
    ae_status s = ae_dataset_gather(it->ds, it->order + it->pos, n, images,
                                    labels);
    if (s != AE_OK)
        return s;
    it->pos += n;
    *count = n;
    return AE_OK;
}

size_t ae_batches_per_epoch(const ae_batches *it)
{
    if (it == NULL)
        return 0;
    return it->count / it->batch_size + (it->count % it->batch_size != 0);
}

ae_status ae__batches_seek(ae_batches *it, uint64_t epoch, size_t pos)
{
    if (pos > it->count)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "cannot resume at image %zu of an epoch of %zu", pos,
                        it->count);
    it->epoch = epoch;
    start_epoch(it);
    it->pos = pos;
    return AE_OK;
}

/*
 * fuzz_idx_labels.c - the IDX label parser: a fixed, valid image file of
 * three 2 x 2 images with the input as its label file (raw, or gzip when
 * it starts with 1f 8b).
 *
 * Promises checked: no crash, leak or undefined behaviour; a failure has
 * a status and a message; a success has exactly three labels, the bytes
 * after the 8-byte header when the input is raw, readable one by one and
 * in batches.
 */
#include "fuzz_common.h"

/* Magic 0x803, N = 3, H = 2, W = 2, then 12 pixels. */
static const uint8_t images[16 + 12] = {
    0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2,
    0, 64, 128, 255, 1, 2, 3, 4, 250, 251, 252, 253};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    ae_dataset *ds = (ae_dataset *)1;
    static const uint8_t empty[1];
    ae_status s = ae_dataset_load_idx_memory(&ds, images, sizeof images,
                                             size ? data : empty, size);
    if (s != AE_OK) {
        FUZZ_CHECK(ds == NULL);
        fuzz_check_failure(s);
        return 0;
    }
    FUZZ_CHECK(ds != NULL);
    FUZZ_CHECK(ae_dataset_has_labels(ds));
    FUZZ_CHECK(ae_dataset_count(ds) == 3);
    uint8_t one[3], batch[3], gathered[2];
    float px[3 * 4];
    for (size_t i = 0; i < 3; i++)
        FUZZ_CHECK(ae_dataset_label(ds, i, &one[i]) == AE_OK);
    FUZZ_CHECK(ae_dataset_label(ds, 3, &one[0]) == AE_ERR_INVALID_ARGUMENT);
    FUZZ_CHECK(ae_dataset_batch(ds, 0, 3, px, batch) == AE_OK);
    size_t idx[2] = {2, 0};
    FUZZ_CHECK(ae_dataset_gather(ds, idx, 2, px, gathered) == AE_OK);
    for (size_t i = 0; i < 3; i++)
        FUZZ_CHECK(one[i] == batch[i]);
    FUZZ_CHECK(gathered[0] == one[2] && gathered[1] == one[0]);
    if (!(size >= 2 && data[0] == 0x1f && data[1] == 0x8b)) {
        FUZZ_CHECK(size == 8 + 3);
        for (size_t i = 0; i < 3; i++)
            FUZZ_CHECK(one[i] == data[8 + i]);
    }
    ae_dataset_free(ds);
    return 0;
}

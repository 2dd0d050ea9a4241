/*
 * fuzz_idx_images.c - the IDX image parser: the input is one image file
 * (raw, or gzip when it starts with 1f 8b), loaded from memory with no
 * labels.
 *
 * Promises checked: no crash, leak or undefined behaviour; a failure has
 * a status and a message; a success is a non-empty 1 x H x W dataset whose
 * pixels are all readable, whose size matches the header, and without
 * labels.
 */
#include <math.h>
#include <string.h>

#include "fuzz_common.h"

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    ae_dataset *ds = (ae_dataset *)1; /* must be set to NULL on failure */
    /* A zero-length buffer still needs a valid pointer. */
    static const uint8_t empty[1];
    ae_status s = ae_dataset_load_idx_memory(&ds, size ? data : empty, size,
                                             NULL, 0);
    if (s != AE_OK) {
        FUZZ_CHECK(ds == NULL);
        fuzz_check_failure(s);
        return 0;
    }
    FUZZ_CHECK(ds != NULL);
    FUZZ_CHECK(!ae_dataset_has_labels(ds));
    if (size >= 16 && !(data[0] == 0x1f && data[1] == 0x8b)) {
        /* Raw: exactly the header's N x H x W bytes follow it. */
        uint64_t n = be32(data + 4), h = be32(data + 8), w = be32(data + 12);
        FUZZ_CHECK(ae_dataset_count(ds) == n);
        FUZZ_CHECK(ae_dataset_image_size(ds) == h * w);
        FUZZ_CHECK(16 + n * h * w == size);
        /* Pixel values are the stored bytes / 255 (0 and 255 exactly). */
        float *img = malloc(h * w * sizeof *img);
        FUZZ_CHECK(img != NULL);
        FUZZ_CHECK(ae_dataset_batch(ds, 0, 1, img, NULL) == AE_OK);
        for (size_t i = 0; i < h * w; i++) {
            FUZZ_CHECK(fabsf(img[i] - data[16 + i] / 255.0f) <= 1e-6f);
            FUZZ_CHECK(data[16 + i] != 0 || img[i] == 0.0f);
            FUZZ_CHECK(data[16 + i] != 255 || img[i] == 1.0f);
        }
        free(img);
    }
    fuzz_walk_dataset(ds);
    uint8_t label;
    FUZZ_CHECK(ae_dataset_label(ds, 0, &label) == AE_ERR_UNSUPPORTED);
    ae_dataset_free(ds);
    return 0;
}

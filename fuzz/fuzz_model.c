/*
 * fuzz_model.c - the model file parser (ae_model_load_memory).
 *
 * Each input is parsed as it is and, when only its trailing CRC-32 is
 * wrong, once more with the CRC made right.  On a successful load:
 * ae_model_validate; if the model is complete and
 * small enough to run quickly (see run_cost), one ae_model_reconstruct of
 * a zero image; then ae_model_save_memory, which must give back exactly
 * the input bytes (the format has one encoding of each model, but for an
 * empty version-2 state section, which saves as version 1), and those
 * must load again; and, for a complete model of a few MB at most, its
 * ONNX export, whole, encoder and decoder, into memory.
 *
 * Promises checked: no crash, leak or undefined behaviour; a failure has
 * a status and a message and leaves *out NULL; a loaded model runs and
 * re-serialises to the same bytes; a complete model exports to ONNX, or
 * is refused with AE_ERR_UNSUPPORTED (only a decoder that unpools with the
 * encoder's positions), into exactly the size the size query gave.
 */
#include <string.h>
#include <zlib.h>

#include "common/bytes.h"
#include "fuzz_common.h"

/* Limits of the models the harness runs, so each input takes milliseconds:
 * every layer's input and output at most MAX_VALUES floats, and at most
 * MAX_WORK multiply-adds by a generous estimate. */
enum { MAX_VALUES = 1 << 14 };
#define MAX_WORK ((double)(1 << 26))

static int small_enough(ae_model *m)
{
    if (ae_model_input_size(m) > MAX_VALUES)
        return 0;
    double work = 0.0;
    for (size_t i = 0; i < ae_model_layer_count(m); i++) {
        ae_layer *l = NULL;
        FUZZ_CHECK(ae_model_layer(m, i, &l) == AE_OK);
        int c, h, w;
        FUZZ_CHECK(ae_layer_input_shape(l, &c, &h, &w) == AE_OK);
        double in = (double)c * h * w;
        double out = (double)ae_layer_output_size(l);
        if (in > MAX_VALUES || out > MAX_VALUES)
            return 0;
        /* Each weight meets each input or output position at most once
         * (convolutions), and pooling windows never exceed the input. */
        work += ((double)ae_layer_weight_count(l) + 1.0) * (in + out) +
                in * in;
    }
    return work <= MAX_WORK;
}

/* Export every part of a complete model into memory.  The ONNX file is
 * about as large as the model file, so size bounds the work. */
static void export_onnx(ae_model *m)
{
    for (int part = AE_ONNX_MODEL; part <= AE_ONNX_DECODER; part++) {
        size_t need = 0;
        ae_status s = ae_model_export_onnx_memory(m, (ae_onnx_part)part,
                                                  NULL, 0, &need);
        if (s != AE_OK) {
            FUZZ_CHECK(s == AE_ERR_UNSUPPORTED && part == AE_ONNX_DECODER);
            fuzz_check_failure(s);
            continue;
        }
        uint8_t *buf = malloc(need);
        FUZZ_CHECK(buf != NULL);
        size_t wrote = 0;
        s = ae_model_export_onnx_memory(m, (ae_onnx_part)part, buf, need,
                                        &wrote);
        FUZZ_CHECK(s == AE_OK && wrote == need);
        free(buf);
    }
}

/* The bytes a loaded model of `size` bytes must save as (`need` of them):
 * NULL when they are the input itself.  The one other encoding is a
 * version-2 file whose layer state is empty (S = 0), which the format
 * accepts but writers never make (docs/FORMAT.md): it saves as version 1,
 * without the 8-byte state count before the CRC-32. */
static uint8_t *canonical_form(const uint8_t *data, size_t size, size_t need)
{
    if (need == size)
        return NULL;
    enum { VERSION_AT = 8, STATE_COUNT = 8, CRC = 4 };
    FUZZ_CHECK(size >= VERSION_AT + 4 + STATE_COUNT + CRC &&
               need == size - STATE_COUNT && data[VERSION_AT] == 2);
    const uint8_t *count = data + size - CRC - STATE_COUNT;
    for (int k = 0; k < STATE_COUNT; k++)
        FUZZ_CHECK(count[k] == 0);
    uint8_t *v1 = malloc(need);
    FUZZ_CHECK(v1 != NULL);
    memcpy(v1, data, need - CRC);
    v1[VERSION_AT] = 1;
    ae__put_u32(v1 + need - CRC, ae__crc32(v1, need - CRC));
    return v1;
}

/* Load data; on success run, re-serialise and reload the model. */
static void one_input(const uint8_t *data, size_t size, ae_status *status)
{
    ae_model *m = (ae_model *)1;
    ae_status s = ae_model_load_memory(&m, data, size);
    *status = s;
    if (s != AE_OK) {
        FUZZ_CHECK(m == NULL);
        fuzz_check_failure(s);
        return;
    }
    FUZZ_CHECK(m != NULL);

    if (ae_model_validate(m) == AE_OK && small_enough(m)) {
        size_t n = ae_model_input_size(m);
        float *x = calloc(n, sizeof *x), *y = malloc(n * sizeof *y);
        FUZZ_CHECK(x != NULL && y != NULL);
        s = ae_model_reconstruct(m, x, 1, y);
        FUZZ_CHECK(s == AE_OK || s == AE_ERR_NO_MEMORY);
        free(x);
        free(y);
    }

    if (ae_model_validate(m) == AE_OK && size <= ((size_t)4 << 20))
        export_onnx(m);

    size_t need = 0;
    FUZZ_CHECK(ae_model_save_memory(m, NULL, 0, &need) == AE_OK);
    uint8_t *canonical = canonical_form(data, size, need);
    uint8_t *again = malloc(need);
    FUZZ_CHECK(again != NULL);
    size_t wrote = 0;
    FUZZ_CHECK(ae_model_save_memory(m, again, need, &wrote) == AE_OK);
    FUZZ_CHECK(wrote == need &&
               memcmp(again, canonical ? canonical : data, need) == 0);
    free(canonical);
    ae_model *m2 = NULL;
    FUZZ_CHECK(ae_model_load_memory(&m2, again, need) == AE_OK);
    FUZZ_CHECK(ae_model_param_count(m2) == ae_model_param_count(m));
    ae_model_free(m2);
    free(again);
    ae_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    static const uint8_t empty[1];
    ae_status s;
    one_input(size ? data : empty, size, &s);
    /* Almost every mutation breaks the trailing CRC-32, which would stop
     * the parser before the layer records: so a copy whose CRC is made
     * right is parsed too, reaching everything after the checksum. */
    if (s == AE_ERR_CHECKSUM && size >= 4) {
        uint8_t *fixed = malloc(size);
        FUZZ_CHECK(fixed != NULL);
        memcpy(fixed, data, size);
        uint32_t crc = (uint32_t)crc32(0L, fixed, (uInt)(size - 4));
        for (int k = 0; k < 4; k++)
            fixed[size - 4 + (size_t)k] = (uint8_t)(crc >> (8 * k));
        one_input(fixed, size, &s);
        FUZZ_CHECK(s != AE_ERR_CHECKSUM);
        free(fixed);
    }
    return 0;
}

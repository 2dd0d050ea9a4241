/*
 * fuzz_model.c - the model file parser (ae_model_load_memory).
 *
 * On a successful load: ae_model_validate; if the model is complete and
 * small enough to run quickly (see run_cost), one ae_model_reconstruct of
 * a zero image; then ae_model_save_memory, which must give back exactly
 * the input bytes (the format has one encoding of each model), and those
 * must load again.
 *
 * Promises checked: no crash, leak or undefined behaviour; a failure has
 * a status and a message and leaves *out NULL; a loaded model runs and
 * re-serialises to the same bytes.
 */
#include <string.h>

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    static const uint8_t empty[1];
    ae_model *m = (ae_model *)1;
    ae_status s = ae_model_load_memory(&m, size ? data : empty, size);
    if (s != AE_OK) {
        FUZZ_CHECK(m == NULL);
        fuzz_check_failure(s);
        return 0;
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

    size_t need = 0;
    FUZZ_CHECK(ae_model_save_memory(m, NULL, 0, &need) == AE_OK);
    FUZZ_CHECK(need == size);
    uint8_t *again = malloc(need);
    FUZZ_CHECK(again != NULL);
    size_t wrote = 0;
    FUZZ_CHECK(ae_model_save_memory(m, again, need, &wrote) == AE_OK);
    FUZZ_CHECK(wrote == need && memcmp(again, data, need) == 0);
    ae_model *m2 = NULL;
    FUZZ_CHECK(ae_model_load_memory(&m2, again, need) == AE_OK);
    FUZZ_CHECK(ae_model_param_count(m2) == ae_model_param_count(m));
    ae_model_free(m2);
    free(again);
    ae_model_free(m);
    return 0;
}

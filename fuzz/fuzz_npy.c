/*
 * fuzz_npy.c - the NumPy .npy reader on any bytes.
 *
 * Promises checked: no crash, leak or undefined behaviour; a failure has
 * a status, a message and no array; a success has a known element type,
 * at most AE_NPY_MAX_DIMS dimensions whose product is the element count,
 * readable elements, and survives a round trip: saved again and loaded,
 * it has the same shape and the same bytes.
 */
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    static const uint8_t empty[1];
    ae_npy *a = (ae_npy *)1;
    ae_status s = ae_npy_load_memory(&a, size ? data : empty, size);
    if (s != AE_OK) {
        FUZZ_CHECK(a == NULL);
        fuzz_check_failure(s);
        return 0;
    }
    ae_npy_type type = ae_npy_element_type(a);
    FUZZ_CHECK(type == AE_NPY_F32 || type == AE_NPY_U8);
    int ndim = ae_npy_ndim(a);
    FUZZ_CHECK(ndim >= 0 && ndim <= AE_NPY_MAX_DIMS);
    size_t shape[AE_NPY_MAX_DIMS], count = 1;
    for (int i = 0; i < ndim; i++) {
        shape[i] = ae_npy_dim(a, i);
        count *= shape[i];
    }
    FUZZ_CHECK(ae_npy_dim(a, ndim) == 0 && ae_npy_dim(a, -1) == 0);
    FUZZ_CHECK(ae_npy_count(a) == count);
    size_t bytes = count * (type == AE_NPY_F32 ? 4 : 1);
    FUZZ_CHECK(bytes <= size);
    const uint8_t *elems = ae_npy_data(a);
    FUZZ_CHECK(elems != NULL);
    unsigned sum = 0; /* touch every byte, for ASan */
    for (size_t i = 0; i < bytes; i++)
        sum += elems[i];
    (void)sum;

    size_t n = 0;
    FUZZ_CHECK(ae_npy_save_memory(type, elems, shape, ndim, NULL, 0, &n) ==
               AE_OK);
    uint8_t *again = malloc(n);
    FUZZ_CHECK(again != NULL);
    FUZZ_CHECK(ae_npy_save_memory(type, elems, shape, ndim, again, n, &n) ==
               AE_OK);
    ae_npy *b = NULL;
    FUZZ_CHECK(ae_npy_load_memory(&b, again, n) == AE_OK);
    FUZZ_CHECK(ae_npy_element_type(b) == type && ae_npy_ndim(b) == ndim &&
               ae_npy_count(b) == count);
    for (int i = 0; i < ndim; i++)
        FUZZ_CHECK(ae_npy_dim(b, i) == shape[i]);
    FUZZ_CHECK(bytes == 0 || memcmp(ae_npy_data(b), elems, bytes) == 0);
    ae_npy_free(b);
    free(again);
    ae_npy_free(a);
    return 0;
}

/*
 * fuzz_png.c - the PNG decoder of the PNG-folder loader
 * (ae_dataset_load_png_folder), through its private memory entry point
 * ae__png_read_gray_memory (lib/image_png.h), which decodes with the same
 * code, libpng transformations, limits and errors as each file of a
 * folder.  libpng itself is not instrumented; what is fuzzed is our use
 * of it: the setjmp/longjmp error paths, the allocator glue, the limits
 * and the conversion of every PNG flavour to 8-bit gray.
 *
 * Promises checked: no crash, leak or undefined behaviour; a failure has
 * a status and a message and writes nothing; a success gives sides of
 * 1 .. 4096 and height x width readable pixels.
 */
#include "fuzz_common.h"
#include "image_png.h"

/* Where the pixel sum goes, so the reads are not optimised away. */
volatile unsigned fuzz_png_sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    static const uint8_t empty[1];
    uint8_t *px = NULL;
    int h = -1, w = -1;
    ae_status s = ae__png_read_gray_memory(size ? data : empty, size, &px, &h,
                                           &w);
    if (s != AE_OK) {
        FUZZ_CHECK(px == NULL && h == -1 && w == -1);
        fuzz_check_failure(s);
        return 0;
    }
    FUZZ_CHECK(px != NULL);
    FUZZ_CHECK(h >= 1 && h <= 4096 && w >= 1 && w <= 4096);
    /* Touch every pixel: ASan checks the buffer really is h x w. */
    unsigned sum = 0;
    for (size_t i = 0; i < (size_t)h * (size_t)w; i++)
        sum += px[i];
    fuzz_png_sink = sum;
    ae__free(px);
    return 0;
}

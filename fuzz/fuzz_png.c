/*
 * fuzz_png.c - the PNG decoder of the PNG-folder loader
 * (ae_dataset_load_png_folder), through its private memory entry point
 * ae__png_read_gray_memory (lib/data/png_folder.h), which decodes with the same
 * code, libpng transformations, limits and errors as each file of a
 * folder.  libpng itself is not instrumented; what is fuzzed is our use
 * of it: the setjmp/longjmp error paths, the allocator glue, the limits
 * and the conversion of every PNG flavour to 8-bit gray.
 *
 * Each input is decoded as it is and, when some chunk CRCs are wrong, once
 * more with them made right.
 *
 * Promises checked: no crash, leak or undefined behaviour; a failure has
 * a status and a message and writes nothing; a success gives sides of
 * 1 .. 4096 and height x width readable pixels.
 */
#include <string.h>
#include <zlib.h>

#include "fuzz_common.h"
#include "data/png_folder.h"

/* Where the pixel sum goes, so the reads are not optimised away. */
volatile unsigned fuzz_png_sink;

static void one_input(const uint8_t *data, size_t size)
{
    uint8_t *px = NULL;
    int h = -1, w = -1;
    ae_status s = ae__png_read_gray_memory(data, size, &px, &h, &w);
    if (s != AE_OK) {
        FUZZ_CHECK(px == NULL && h == -1 && w == -1);
        fuzz_check_failure(s);
        return;
    }
    FUZZ_CHECK(px != NULL);
    FUZZ_CHECK(h >= 1 && h <= 4096 && w >= 1 && w <= 4096);
    /* Touch every pixel: ASan checks the buffer really is h x w. */
    unsigned sum = 0;
    for (size_t i = 0; i < (size_t)h * (size_t)w; i++)
        sum += px[i];
    fuzz_png_sink = sum;
    ae__free(px);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

/* A copy of data with the CRC of every complete chunk made right; NULL if
 * nothing needed fixing. */
static uint8_t *fix_chunk_crcs(const uint8_t *data, size_t size)
{
    uint8_t *fixed = NULL;
    size_t pos = 8; /* after the signature */
    while (pos + 12 <= size) {
        uint32_t len = be32(data + pos);
        if (len > size - pos - 12)
            break;
        uint32_t crc = (uint32_t)crc32(0L, data + pos + 4, (uInt)len + 4);
        if (crc != be32(data + pos + 8 + len)) {
            if (fixed == NULL) {
                fixed = malloc(size);
                FUZZ_CHECK(fixed != NULL);
                memcpy(fixed, data, size);
            }
            uint8_t *at = fixed + pos + 8 + len;
            for (int k = 0; k < 4; k++)
                at[k] = (uint8_t)(crc >> (24 - 8 * k));
        }
        pos += 12 + (size_t)len;
    }
    return fixed;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    static const uint8_t empty[1];
    one_input(size ? data : empty, size);
    /* libpng refuses a chunk whose CRC is wrong, as almost every mutation
     * leaves it: so a copy with the CRCs made right is decoded too. */
    uint8_t *fixed = fix_chunk_crcs(data, size);
    if (fixed != NULL) {
        one_input(fixed, size);
        free(fixed);
    }
    return 0;
}

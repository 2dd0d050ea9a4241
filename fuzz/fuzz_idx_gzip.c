/*
 * fuzz_idx_gzip.c - gzip-wrapped IDX image files, and the file reader.
 *
 * The input goes to the loader as it is; the loader takes it for gzip when
 * it starts with 1f 8b, which every seed does (gzip'd IDX files, some of
 * several members).  The same bytes are then written to a file in a
 * per-process temporary folder and loaded through ae_dataset_load_idx,
 * whose reader works in chunks from a FILE: both loads must agree on the
 * status and, on success, on every pixel.
 *
 * Promises checked: no crash, leak or undefined behaviour (a gzip bomb
 * never inflates past the declared size, so memory stays bounded); a
 * failure has a status and a message; memory and file loads agree.
 */
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"

static char tmp_dir[64];
static char tmp_file[96];

static void remove_tmp(void)
{
    unlink(tmp_file);
    rmdir(tmp_dir);
}

/* Path of the per-process file holding the input. */
static const char *write_tmp(const uint8_t *data, size_t size)
{
    if (tmp_dir[0] == '\0') {
        /* tmpfs when there is one: a file system on disk can make each
         * run a hundred times slower. */
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(tmp_dir, sizeof tmp_dir, "%s/ae_fuzz_gzip.XXXXXX", base);
        FUZZ_CHECK(mkdtemp(tmp_dir) != NULL);
        snprintf(tmp_file, sizeof tmp_file, "%s/input.idx", tmp_dir);
        atexit(remove_tmp);
    }
    FILE *f = fopen(tmp_file, "wb");
    FUZZ_CHECK(f != NULL);
    FUZZ_CHECK(size == 0 || fwrite(data, 1, size, f) == size);
    FUZZ_CHECK(fclose(f) == 0);
    return tmp_file;
}

/* Pixel comparison of at most this many values (the rest: first and last
 * images only), to keep each run fast. */
enum { COMPARE_ALL_MAX = 1 << 18 };

static void compare(const ae_dataset *a, const ae_dataset *b)
{
    size_t n = ae_dataset_count(a), isz = ae_dataset_image_size(a);
    FUZZ_CHECK(ae_dataset_count(b) == n);
    FUZZ_CHECK(ae_dataset_image_size(b) == isz);
    int ha, wa, hb, wb;
    FUZZ_CHECK(ae_dataset_shape(a, NULL, &ha, &wa) == AE_OK);
    FUZZ_CHECK(ae_dataset_shape(b, NULL, &hb, &wb) == AE_OK);
    FUZZ_CHECK(ha == hb && wa == wb);
    size_t first = 0, count = n;
    if (n * isz > COMPARE_ALL_MAX)
        count = 1; /* then also the last image, below */
    for (int pass = 0; pass < 2; pass++) {
        float *pa = malloc(count * isz * sizeof *pa);
        float *pb = malloc(count * isz * sizeof *pb);
        FUZZ_CHECK(pa != NULL && pb != NULL);
        FUZZ_CHECK(ae_dataset_batch(a, first, count, pa, NULL) == AE_OK);
        FUZZ_CHECK(ae_dataset_batch(b, first, count, pb, NULL) == AE_OK);
        FUZZ_CHECK(memcmp(pa, pb, count * isz * sizeof *pa) == 0);
        free(pa);
        free(pb);
        if (count == n)
            break;
        first = n - 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    static const uint8_t empty[1];
    ae_dataset *mem = (ae_dataset *)1, *file = (ae_dataset *)1;
    ae_status sm = ae_dataset_load_idx_memory(&mem, size ? data : empty, size,
                                              NULL, 0);
    if (sm != AE_OK) {
        FUZZ_CHECK(mem == NULL);
        fuzz_check_failure(sm);
    } else {
        fuzz_walk_dataset(mem);
    }
    ae_status sf = ae_dataset_load_idx(&file, write_tmp(data, size), NULL);
    FUZZ_CHECK(sf == sm);
    if (sf != AE_OK) {
        FUZZ_CHECK(file == NULL);
        fuzz_check_failure(sf);
    } else {
        compare(mem, file);
    }
    ae_dataset_free(mem);
    ae_dataset_free(file);
    return 0;
}

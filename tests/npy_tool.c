/* npy_tool.c - the C side of tests/npy_numpy_test.py.
 *
 *   npy_tool write DIR   writes the arrays the script checks with NumPy
 *   npy_tool read FILE   prints "TYPE NDIM D0 .. Dn-1 HASH" for a file
 *                        NumPy wrote (HASH: 64-bit FNV-1a of the elements'
 *                        little-endian bytes, in hex)
 *
 * Only the public API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoenc.h"

static void check(ae_status s, const char *what)
{
    if (s != AE_OK) {
        fprintf(stderr, "npy_tool: %s: %s\n", what, ae_last_error());
        exit(1);
    }
}

static const char *join(const char *dir, const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

/* Values the script recomputes: x[i] = (i * 7 % 13 - 6) / 4, exact in
 * float; labels i % 10. */
static int write_all(const char *dir)
{
    float x[4 * 1 * 3 * 5];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        x[i] = (float)((int)(i * 7 % 13) - 6) / 4.0f;
    uint8_t labels[11];
    for (size_t i = 0; i < sizeof labels; i++)
        labels[i] = (uint8_t)(i % 10);
    size_t s4[4] = {4, 1, 3, 5}, s2[2] = {6, 10}, s1[1] = {11},
           empty[3] = {2, 0, 4};
    check(ae_npy_save(join(dir, "f32_4d.npy"), AE_NPY_F32, x, s4, 4), "4d");
    check(ae_npy_save(join(dir, "f32_2d.npy"), AE_NPY_F32, x, s2, 2), "2d");
    check(ae_npy_save(join(dir, "u8_1d.npy"), AE_NPY_U8, labels, s1, 1),
          "labels");
    check(ae_npy_save(join(dir, "f32_scalar.npy"), AE_NPY_F32, x, NULL, 0),
          "scalar");
    check(ae_npy_save(join(dir, "f32_empty.npy"), AE_NPY_F32, x, empty, 3),
          "empty");
    return 0;
}

static int read_one(const char *path)
{
    ae_npy *a = NULL;
    check(ae_npy_load(&a, path), path);
    size_t bytes = ae_npy_count(a) *
                   (ae_npy_element_type(a) == AE_NPY_F32 ? 4 : 1);
    const unsigned char *p = ae_npy_data(a);
    unsigned long long h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < bytes; i++) {
        h ^= p[i]; /* the host is little-endian, as the test's hosts are */
        h *= 0x100000001b3ULL;
    }
    printf("%s %d", ae_npy_element_type(a) == AE_NPY_F32 ? "f32" : "u8",
           ae_npy_ndim(a));
    for (int i = 0; i < ae_npy_ndim(a); i++)
        printf(" %zu", ae_npy_dim(a, i));
    printf(" %016llx\n", h);
    ae_npy_free(a);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "write") == 0)
        return write_all(argv[2]);
    if (argc == 3 && strcmp(argv[1], "read") == 0)
        return read_one(argv[2]);
    fprintf(stderr, "usage: npy_tool write DIR | read FILE\n");
    return 2;
}

/* test_npy.c - NumPy .npy arrays: the bytes NumPy writes, round trips of
 * every shape kind, and hostile files (tests/npy_numpy_test.py checks the
 * same files against NumPy itself). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* What np.save(f, np.arange(6, dtype='<f4').reshape(2, 3)) writes, up to
 * the data: magic, version 1.0, header length 118, the dict padded with
 * spaces to a newline at byte 127. */
static const char numpy_2x3_header[] =
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";

static uint8_t *save_mem(ae_npy_type type, const void *data,
                         const size_t *shape, int ndim, size_t *size)
{
    ck_assert_ae_ok(ae_npy_save_memory(type, data, shape, ndim, NULL, 0,
                                       size));
    uint8_t *buf = malloc(*size);
    ck_assert(buf);
    ck_assert_ae_ok(ae_npy_save_memory(type, data, shape, ndim, buf, *size,
                                       size));
    return buf;
}

START_TEST(writes_what_numpy_writes)
{
    float x[6] = {0, 1, 2, 3, 4, 5};
    size_t shape[2] = {2, 3}, size;
    uint8_t *buf = save_mem(AE_NPY_F32, x, shape, 2, &size);
    ck_assert_uint_eq(size, 128 + sizeof x);
    ck_assert_int_eq(memcmp(buf, "\x93NUMPY\x01\x00", 8), 0);
    ck_assert_uint_eq(buf[8] | buf[9] << 8, 118);
    size_t n = strlen(numpy_2x3_header);
    ck_assert_int_eq(memcmp(buf + 10, numpy_2x3_header, n), 0);
    for (size_t i = 10 + n; i < 127; i++)
        ck_assert_int_eq(buf[i], ' ');
    ck_assert_int_eq(buf[127], '\n');
    /* little-endian IEEE floats: 1.0f is 00 00 80 3f */
    ck_assert_int_eq(memcmp(buf + 128 + 4, "\x00\x00\x80\x3f", 4), 0);
    free(buf);
}
END_TEST

/* One- and zero-dimensional shapes are written as Python writes tuples. */
START_TEST(tuples_as_python_writes_them)
{
    uint8_t v[3] = {7, 8, 9};
    size_t one = 3, size;
    uint8_t *buf = save_mem(AE_NPY_U8, v, &one, 1, &size);
    ck_assert_ptr_nonnull(strstr((char *)buf + 10,
                                 "{'descr': '|u1', 'fortran_order': False, "
                                 "'shape': (3,), }"));
    ck_assert_uint_eq((size - 3) % 64, 0);
    free(buf);
    buf = save_mem(AE_NPY_U8, v, NULL, 0, &size);
    ck_assert_ptr_nonnull(strstr((char *)buf + 10, "'shape': (), }"));
    ck_assert_uint_eq(size, 128 + 1); /* 10 + 56 + 1 bytes round up to 128 */
    free(buf);
}
END_TEST

static void round_trip(ae_npy_type type, const size_t *shape, int ndim)
{
    size_t count = 1;
    for (int i = 0; i < ndim; i++)
        count *= shape[i];
    size_t bytes = count * (type == AE_NPY_F32 ? 4 : 1);
    uint8_t *data = malloc(bytes + 1);
    ck_assert(data);
    if (type == AE_NPY_F32)
        tu_fill_uniform((float *)(void *)data, count, -3.0f, 3.0f, 5);
    else
        for (size_t i = 0; i < count; i++)
            data[i] = (uint8_t)(i * 37 + 1);
    size_t size;
    uint8_t *buf = save_mem(type, data, shape, ndim, &size);
    ae_npy *a = NULL;
    ck_assert_ae_ok(ae_npy_load_memory(&a, buf, size));
    ck_assert_int_eq(ae_npy_element_type(a), type);
    ck_assert_int_eq(ae_npy_ndim(a), ndim);
    for (int i = 0; i < ndim; i++)
        ck_assert_uint_eq(ae_npy_dim(a, i), shape[i]);
    ck_assert_uint_eq(ae_npy_dim(a, ndim), 0);
    ck_assert_uint_eq(ae_npy_count(a), count);
    ck_assert_int_eq(memcmp(ae_npy_data(a), data, bytes), 0);

    /* and through a file, which holds the same bytes */
    const char *path = tu_tmp_path("round.npy");
    ck_assert_ae_ok(ae_npy_save(path, type, data, shape, ndim));
    size_t fsize;
    uint8_t *file = tu_read_file(path, &fsize);
    ck_assert_uint_eq(fsize, size);
    ck_assert_int_eq(memcmp(file, buf, size), 0);
    ae_npy *b = NULL;
    ck_assert_ae_ok(ae_npy_load(&b, path));
    ck_assert_int_eq(memcmp(ae_npy_data(b), data, bytes), 0);
    ae_npy_free(b);
    free(file);
    ae_npy_free(a);
    free(buf);
    free(data);
}

START_TEST(round_trips)
{
    static const size_t s1[] = {5}, s2[] = {2, 3}, s3[] = {2, 0, 4},
                        s4[] = {10, 1, 28, 28},
                        s8[] = {2, 1, 2, 1, 2, 1, 2, 3}, s0[] = {0};
    round_trip(AE_NPY_F32, NULL, 0);
    round_trip(AE_NPY_F32, s1, 1);
    round_trip(AE_NPY_F32, s2, 2);
    round_trip(AE_NPY_F32, s3, 3);
    round_trip(AE_NPY_F32, s4, 4);
    round_trip(AE_NPY_F32, s8, 8);
    round_trip(AE_NPY_F32, s0, 1);
    round_trip(AE_NPY_U8, s1, 1);
    round_trip(AE_NPY_U8, s4, 4);
}
END_TEST

/* A file made of a version, a header text and `data` bytes of data. */
static uint8_t *craft(int major, const char *header, size_t data,
                      size_t *size)
{
    size_t pre = major == 1 ? 10 : 12, h = strlen(header);
    *size = pre + h + data;
    uint8_t *b = calloc(*size + 1, 1);
    ck_assert(b);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (uint8_t)major;
    b[7] = 0;
    if (major == 1) {
        b[8] = (uint8_t)(h & 0xff);
        b[9] = (uint8_t)(h >> 8);
    } else {
        b[8] = (uint8_t)(h & 0xff);
        b[9] = (uint8_t)(h >> 8);
        b[10] = (uint8_t)(h >> 16);
        b[11] = (uint8_t)(h >> 24);
    }
    memcpy(b + pre, header, h);
    return b;
}

static ae_status load_crafted(int major, const char *header, size_t data,
                              ae_npy **out)
{
    size_t size;
    uint8_t *b = craft(major, header, data, &size);
    ae_status s = ae_npy_load_memory(out, b, size);
    free(b);
    return s;
}

START_TEST(accepts_what_people_write)
{
    static const char *const ok[] = {
        "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2, 3)}\n",
        "{'shape':(2,3),'fortran_order':False,'descr':'<f4'}   \n",
        "{ 'descr' : '<f4' , 'fortran_order' : False , 'shape' : ( 2 , 3 , ) , }\n",
        "{'descr': '<f4', 'fortran_order': True, 'shape': (6,), }\n",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        ae_npy *a = NULL;
        ck_assert_ae_ok(load_crafted(1, ok[i], 24, &a));
        ck_assert_uint_eq(ae_npy_count(a), 6);
        ae_npy_free(a);
    }
    ae_npy *a = NULL;
    ck_assert_ae_ok(load_crafted(2, ok[0], 24, &a));
    ae_npy_free(a);
    ck_assert_ae_ok(load_crafted(3, ok[0], 24, &a));
    ae_npy_free(a);
}
END_TEST

START_TEST(refuses_hostile_headers)
{
    static const struct {
        const char *header;
        size_t data;
        ae_status want;
    } bad[] = {
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\n", 16,
         AE_ERR_UNSUPPORTED},
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }\n", 8,
         AE_ERR_UNSUPPORTED},
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }\n", 24,
         AE_ERR_UNSUPPORTED},
        {"{'descr': '<f4', 'fortran_order': False}\n", 4, AE_ERR_FORMAT},
        {"{'descr': '<f4', 'descr': '<f4', 'shape': (1,)}\n", 4,
         AE_ERR_FORMAT},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), "
         "'extra': 1}\n", 4, AE_ERR_FORMAT},
        {"{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}\n", 4,
         AE_ERR_FORMAT},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}\n", 4,
         AE_ERR_FORMAT},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", 4,
         AE_ERR_FORMAT},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x\n", 4,
         AE_ERR_FORMAT},
        {"{'descr': '<f4}\n", 4, AE_ERR_FORMAT},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1 2)}\n", 4,
         AE_ERR_FORMAT},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}\n", 23,
         AE_ERR_FORMAT},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}\n", 25,
         AE_ERR_FORMAT},
        {"{'descr': '<f4', 'fortran_order': False, "
         "'shape': (1,1,1,1,1,1,1,1,1)}\n", 4, AE_ERR_LIMIT},
        {"{'descr': '<f4', 'fortran_order': False, "
         "'shape': (4294967296, 4294967296)}\n", 0, AE_ERR_LIMIT},
        {"{'descr': '<f4', 'fortran_order': False, "
         "'shape': (99999999999999999999999,)}\n", 0, AE_ERR_LIMIT},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ae_npy *a = (ae_npy *)1;
        ae_status s = load_crafted(1, bad[i].header, bad[i].data, &a);
        ck_assert_msg(s == bad[i].want, "case %zu: %s, expected %s (%s)", i,
                      ae_status_name(s), ae_status_name(bad[i].want),
                      ae_last_error());
        ck_assert_ptr_null(a);
        ck_assert(ae_last_error()[0] != '\0');
    }
}
END_TEST

START_TEST(refuses_broken_preambles)
{
    float x[6] = {0};
    size_t shape[2] = {2, 3}, size;
    uint8_t *good = save_mem(AE_NPY_F32, x, shape, 2, &size);
    ae_npy *a = (ae_npy *)1;
    /* every truncation */
    for (size_t n = 0; n < size; n++) {
        ck_assert_int_ne(ae_npy_load_memory(&a, good, n), AE_OK);
        ck_assert_ptr_null(a);
    }
    uint8_t *b = malloc(size);
    ck_assert(b);
    memcpy(b, good, size);
    b[0] = 0x92;
    ck_assert_ae_status(ae_npy_load_memory(&a, b, size), AE_ERR_FORMAT);
    memcpy(b, good, size);
    b[6] = 4;
    ck_assert_ae_status(ae_npy_load_memory(&a, b, size), AE_ERR_UNSUPPORTED);
    memcpy(b, good, size);
    b[7] = 1;
    ck_assert_ae_status(ae_npy_load_memory(&a, b, size), AE_ERR_UNSUPPORTED);
    memcpy(b, good, size);
    b[9] = 0xff; /* a header longer than the file */
    ck_assert_ae_status(ae_npy_load_memory(&a, b, size), AE_ERR_FORMAT);
    /* every single-byte change of the preamble and header is an error or
     * a valid array: never a crash (the fuzz harness goes further) */
    for (size_t i = 0; i < 128; i++) {
        memcpy(b, good, size);
        b[i] ^= 0x5a;
        if (ae_npy_load_memory(&a, b, size) == AE_OK)
            ae_npy_free(a);
        else
            ck_assert_ptr_null(a);
    }
    free(b);
    free(good);
}
END_TEST

START_TEST(argument_errors)
{
    float x[2] = {1, 2};
    size_t shape[1] = {2}, size = 0;
    ck_assert_ae_status(ae_npy_save_memory(AE_NPY_F32, x, shape, 1, NULL, 0,
                                           NULL), AE_ERR_NULL);
    ck_assert_ae_status(ae_npy_save_memory((ae_npy_type)3, x, shape, 1,
                                           NULL, 0, &size),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_npy_save_memory(AE_NPY_F32, x, shape, 9, NULL, 0,
                                           &size), AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_npy_save_memory(AE_NPY_F32, x, NULL, 1, NULL, 0,
                                           &size), AE_ERR_NULL);
    size_t huge[2] = {SIZE_MAX / 2, 3};
    ck_assert_ae_status(ae_npy_save_memory(AE_NPY_F32, x, huge, 2, NULL, 0,
                                           &size), AE_ERR_LIMIT);
    uint8_t small[16];
    size = 0;
    ck_assert_ae_status(ae_npy_save_memory(AE_NPY_F32, x, shape, 1, small,
                                           sizeof small, &size),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_uint_eq(size, 128 + sizeof x);
    ck_assert_ae_status(ae_npy_save("", AE_NPY_F32, x, shape, 1),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_status(ae_npy_save("/nonexistent-dir/a.npy", AE_NPY_F32, x,
                                    shape, 1), AE_ERR_IO);
    ae_npy *a = (ae_npy *)1;
    ck_assert_ae_status(ae_npy_load(&a, "/nonexistent-dir/a.npy"), AE_ERR_IO);
    ck_assert_ptr_null(a);
    ck_assert_ae_status(ae_npy_load(NULL, "x"), AE_ERR_NULL);
    ck_assert_ae_status(ae_npy_load_memory(&a, NULL, 3), AE_ERR_NULL);
    ck_assert_int_eq(ae_npy_element_type(NULL), 0);
    ck_assert_int_eq(ae_npy_ndim(NULL), 0);
    ck_assert_uint_eq(ae_npy_dim(NULL, 0), 0);
    ck_assert_uint_eq(ae_npy_count(NULL), 0);
    ck_assert_ptr_null(ae_npy_data(NULL));
    ae_npy_free(NULL);
}
END_TEST

/* A failed save leaves the old file as it was. */
START_TEST(failed_save_keeps_the_old_file)
{
    float x[2] = {1, 2};
    size_t shape[1] = {2}, bad_shape[1] = {SIZE_MAX};
    const char *path = tu_tmp_path("keep.npy");
    ck_assert_ae_ok(ae_npy_save(path, AE_NPY_F32, x, shape, 1));
    size_t before_n, after_n;
    uint8_t *before = tu_read_file(path, &before_n);
    ck_assert_ae_status(ae_npy_save(path, AE_NPY_F32, x, bad_shape, 1),
                        AE_ERR_LIMIT);
    uint8_t *after = tu_read_file(path, &after_n);
    ck_assert_uint_eq(before_n, after_n);
    ck_assert_int_eq(memcmp(before, after, before_n), 0);
    free(before);
    free(after);
}
END_TEST

static Suite *npy_suite(void)
{
    Suite *s = suite_create("npy");
    TCase *tc = tcase_create("npy");
    tcase_add_test(tc, writes_what_numpy_writes);
    tcase_add_test(tc, tuples_as_python_writes_them);
    tcase_add_test(tc, round_trips);
    tcase_add_test(tc, accepts_what_people_write);
    tcase_add_test(tc, refuses_hostile_headers);
    tcase_add_test(tc, refuses_broken_preambles);
    tcase_add_test(tc, argument_errors);
    tcase_add_test(tc, failed_save_keeps_the_old_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(npy_suite());
}

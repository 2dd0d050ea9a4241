/* test_status.c - status codes, messages, version, threads, allocator. */
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "testutil.h"

START_TEST(names_and_messages)
{
#define CHECK_ONE(name, value, message)                                        \
    ck_assert_str_eq(ae_status_name(name), #name);                             \
    ck_assert_str_eq(ae_status_message(name), message);                        \
    ck_assert_int_eq(name, value);
    AE_STATUS_LIST(CHECK_ONE)
#undef CHECK_ONE
    ck_assert_str_eq(ae_status_name((ae_status)999), "AE_UNKNOWN_STATUS");
    ck_assert_str_eq(ae_status_message((ae_status)-1), "unknown status code");
}
END_TEST

START_TEST(detail_message_names_the_argument)
{
    ck_assert_int_eq(ae_model_create(NULL, 1, 1, 1, 0), AE_ERR_NULL);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "out"));
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "ae_model_create"));
}
END_TEST

START_TEST(version)
{
    ck_assert_uint_eq(ae_version_number(), AE_VERSION_NUMBER);
    ck_assert_str_eq(ae_version_string(), AE_VERSION_STRING);
    ck_assert_uint_eq(AE_VERSION_NUMBER, AE_VERSION_MAJOR * 10000 +
                                             AE_VERSION_MINOR * 100 +
                                             AE_VERSION_PATCH);
}
END_TEST

START_TEST(threads)
{
    ck_assert_int_ge(ae_threads(), 1);
    ck_assert_ae_ok(ae_set_threads(1));
    ck_assert_int_eq(ae_threads(), 1);
    ck_assert_ae_status(ae_set_threads(-1), AE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ae_threads(), 1);
    ck_assert_ae_ok(ae_set_threads(0));
    ck_assert_int_ge(ae_threads(), 1);
}
END_TEST

static size_t live_blocks, fail_at, calls;

static void *counting_alloc(void *opaque, size_t size)
{
    (void)opaque;
    if (++calls == fail_at)
        return NULL;
    live_blocks++;
    return malloc(size);
}

static void counting_free(void *opaque, void *p)
{
    (void)opaque;
    live_blocks--;
    free(p);
}

/* Every allocation of building a small model goes through the hook, each
 * failure is reported as AE_ERR_NO_MEMORY, and nothing leaks. */
START_TEST(allocator_hook_and_failures)
{
    ck_assert_ae_status(ae_set_allocator(counting_alloc, NULL, NULL),
                        AE_ERR_INVALID_ARGUMENT);
    ck_assert_ae_ok(ae_set_allocator(counting_alloc, counting_free, NULL));
    size_t total = 0;
    for (fail_at = 1;; fail_at++) {
        calls = 0;
        ae_model *m = NULL;
        ae_status s = ae_model_create(&m, 1, 4, 4, 1);
        if (s == AE_OK)
            s = ae_model_add_dense(m, AE_ENCODER, 3, AE_ACT_RELU);
        if (s == AE_OK)
            s = ae_model_add_dense(m, AE_DECODER, 16, AE_ACT_SIGMOID);
        float x[16] = {0}, y[16];
        if (s == AE_OK)
            s = ae_model_reconstruct(m, x, 1, y);
        ae_model_free(m);
        ck_assert_uint_eq(live_blocks, 0);
        if (s == AE_OK) {
            total = calls;
            break;
        }
        ck_assert_ae_status(s, AE_ERR_NO_MEMORY);
    }
    ck_assert_uint_gt(total, 3);
    ck_assert_ae_ok(ae_set_allocator(NULL, NULL, NULL));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("status");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, names_and_messages);
    tcase_add_test(tc, detail_message_names_the_argument);
    tcase_add_test(tc, version);
    tcase_add_test(tc, threads);
    tcase_add_test(tc, allocator_hook_and_failures);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}

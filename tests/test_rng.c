/* test_rng.c - the per-handle random generator. */
#include <math.h>
#include <stdlib.h>

#include "common/internal.h"
#include "testutil.h"

START_TEST(deterministic_and_stream_separated)
{
    ae__rng a, b, c;
    ae__rng_seed(&a, 42, 1);
    ae__rng_seed(&b, 42, 1);
    ae__rng_seed(&c, 42, 2);
    int differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = ae__rng_next(&a);
        ck_assert_uint_eq(x, ae__rng_next(&b));
        differ += x != ae__rng_next(&c);
    }
    ck_assert_int_gt(differ, 95);
}
END_TEST

START_TEST(distributions)
{
    ae__rng r;
    ae__rng_seed(&r, 7, 0);
    enum { N = 200000 };
    double su = 0, sn = 0, sn2 = 0;
    int counts[7] = {0};
    for (int i = 0; i < N; i++) {
        float u = ae__rng_uniformf(&r);
        ck_assert(u >= 0.0f && u < 1.0f);
        su += u;
        double z = ae__rng_normal(&r);
        ck_assert(isfinite(z));
        sn += z;
        sn2 += z * z;
        counts[ae__rng_below(&r, 7)]++;
    }
    ck_assert_double_eq_tol(su / N, 0.5, 0.005);
    ck_assert_double_eq_tol(sn / N, 0.0, 0.01);
    ck_assert_double_eq_tol(sn2 / N, 1.0, 0.02);
    for (int k = 0; k < 7; k++)
        ck_assert_int_lt(abs(counts[k] - N / 7), N / 70);
}
END_TEST

START_TEST(shuffle_is_a_permutation)
{
    ae__rng r;
    ae__rng_seed(&r, 3, 0);
    size_t idx[50];
    int seen[50] = {0}, moved = 0;
    for (size_t i = 0; i < 50; i++)
        idx[i] = i;
    ae__rng_shuffle(&r, idx, 50);
    for (size_t i = 0; i < 50; i++) {
        seen[idx[i]]++;
        moved += idx[i] != i;
    }
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(seen[i], 1);
    ck_assert_int_gt(moved, 30);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rng");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, deterministic_and_stream_separated);
    tcase_add_test(tc, distributions);
    tcase_add_test(tc, shuffle_is_a_permutation);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}

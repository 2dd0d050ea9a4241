/* threads.c - one setting for the BLAS threads and the library's own. */
#include <unistd.h>

#include "common/internal.h"

#if defined(AE_BLAS_OPENBLAS)
void openblas_set_num_threads(int num_threads);
#elif defined(AE_BLAS_BLIS)
void bli_thread_set_num_threads(long n_threads);
#endif

static int thread_count; /* 0 until set: the default is read lazily */

static int online_processors(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n >= 1 && n <= 4096 ? (int)n : 1;
}

void ae__blas_set_threads(int n)
{
#if defined(AE_BLAS_OPENBLAS)
    openblas_set_num_threads(n);
#elif defined(AE_BLAS_BLIS)
    bli_thread_set_num_threads(n);
#else
    (void)n;
#endif
}

ae_status ae_set_threads(int n)
{
    if (n < 0 || n > 4096)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_set_threads: %d is outside 0..4096", n);
    thread_count = n == 0 ? online_processors() : n;
    ae__blas_set_threads(thread_count);
    return AE_OK;
}

int ae_threads(void)
{
    return ae__thread_count();
}

int ae__thread_count(void)
{
    if (thread_count == 0) {
        thread_count = online_processors();
        ae__blas_set_threads(thread_count);
    }
    return thread_count;
}

/* parallel.c - a persistent pool of worker threads for the library's own
 * loops (see parallel.h).
 *
 * State is static (no allocation, so an allocation-failure walk never sees
 * the pool): up to AE_MAX_WORKERS threads, created when a job first needs
 * them.  `owner` is held by the thread running a job for its whole length;
 * a call that cannot take it (another thread's job, or a call from inside a
 * part) runs serially instead, which changes the speed, never the result
 * of a loop whose items are independent.
 *
 * Waiting spins a little before it sleeps.  A training step posts some
 * thirty short jobs per batch, and waking a thread from a condition
 * variable takes tens of microseconds, which at batch 64 was a quarter of
 * the step; a worker that has just finished a part is usually needed again
 * within a few microseconds.  The spin is bounded (SPIN_NS), so an idle
 * pool still sleeps rather than burning a core. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "common/internal.h"
#include "common/parallel.h"

enum { AE_MAX_WORKERS = 4095 }; /* ae_set_threads accepts up to 4096 */

typedef struct worker {
    int index;               /* 1-based: the caller's thread is part 0 */
    unsigned long seen;      /* last job generation looked at */
} worker;

static pthread_mutex_t owner = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done = PTHREAD_COND_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static pthread_t threads[AE_MAX_WORKERS];
static worker workers[AE_MAX_WORKERS];
static int started;   /* workers running (read and written under owner) */
static int attempted; /* largest worker count tried: a refusal is final */
static int stopping;

/* The posted job.  Its fields are written under lock; generation and
 * pending are also read without it, by threads that spin. */
static atomic_ulong generation;
static atomic_int pending;
static int job_parts;
static size_t job_n;
static ae__parallel_fn job_fn;
static void *job_ctx;

static void part_range(size_t n, int part, int parts, size_t *begin,
                       size_t *end)
{
    *begin = (size_t)((unsigned __int128)n * (unsigned)part / (unsigned)parts);
    *end = (size_t)((unsigned __int128)n * (unsigned)(part + 1) /
                    (unsigned)parts);
}

/* How long a thread spins for a job or for its parts to finish before it
 * sleeps: longer than the gaps between the jobs of one training step,
 * short enough that an idle pool costs nothing measurable. */
#define SPIN_NS 100000L

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static long elapsed_ns(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - since->tv_sec) * 1000000000L +
           (now.tv_nsec - since->tv_nsec);
}

/* Spin while generation == seen, at most SPIN_NS. */
static void spin_for_job(unsigned long seen)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (unsigned i = 1; atomic_load_explicit(&generation,
                                              memory_order_acquire) == seen;
         i++) {
        cpu_relax();
        if (i % 64 == 0 && elapsed_ns(&start) > SPIN_NS)
            return;
    }
}

/* Spin while parts are pending, at most SPIN_NS. */
static void spin_for_parts(void)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (unsigned i = 1;
         atomic_load_explicit(&pending, memory_order_acquire) > 0; i++) {
        cpu_relax();
        if (i % 64 == 0 && elapsed_ns(&start) > SPIN_NS)
            return;
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    for (;;) {
        spin_for_job(w->seen);
        pthread_mutex_lock(&lock);
        while (!stopping && atomic_load(&generation) == w->seen)
            pthread_cond_wait(&work, &lock);
        if (stopping) {
            pthread_mutex_unlock(&lock);
            return NULL;
        }
        w->seen = atomic_load(&generation);
        if (w->index >= job_parts) { /* not needed for this job */
            pthread_mutex_unlock(&lock);
            continue;
        }
        ae__parallel_fn fn = job_fn;
        void *ctx = job_ctx;
        size_t begin, end;
        part_range(job_n, w->index, job_parts, &begin, &end);
        const int part = w->index;
        pthread_mutex_unlock(&lock);
        fn(ctx, begin, end, part);
        /* The last part wakes the caller, if it stopped spinning. */
        if (atomic_fetch_sub(&pending, 1) == 1) {
            pthread_mutex_lock(&lock);
            pthread_cond_signal(&done);
            pthread_mutex_unlock(&lock);
        }
    }
}

/* A forked child has none of the parent's workers. */
static void atfork_child(void)
{
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    owner = m;
    lock = m;
    work = c;
    done = c;
    started = 0;
    attempted = 0;
    stopping = 0;
    pending = 0;
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, atfork_child);
}

/* With owner held: have want workers running, or as many as the system
 * allows.  Each starts at the current generation, so it waits for the next
 * job; no job is posted while owner is held by the caller here. */
static void ensure_workers(int want)
{
    if (want > AE_MAX_WORKERS)
        want = AE_MAX_WORKERS;
    if (want <= started || want <= attempted)
        return;
    pthread_once(&atfork_once, register_atfork);
    attempted = want;
    const unsigned long gen = atomic_load(&generation);
    while (started < want) {
        worker *w = &workers[started];
        w->index = started + 1;
        w->seen = gen;
        if (pthread_create(&threads[started], NULL, worker_main, w) != 0)
            break; /* fewer threads: slower, same results */
        started++;
    }
}

/* Parts for n items at this thread count. */
static int plan(size_t n, size_t grain, int max_parts)
{
    size_t parts = (size_t)ae__thread_count();
    if (grain == 0)
        grain = 1;
    if (n / grain < parts)
        parts = n / grain;
    if (max_parts > 0 && (size_t)max_parts < parts)
        parts = (size_t)max_parts;
    return parts < 1 ? 1 : (int)parts;
}

static void run(size_t n, size_t grain, int max_parts, ae__parallel_fn fn,
                void *ctx, int blas)
{
    int parts = plan(n, grain, max_parts);
    if (pthread_mutex_trylock(&owner) != 0) {
        /* Inside a part (BLAS already single-threaded), or another
         * thread's job: that job's owner sets BLAS's threads. */
        fn(ctx, 0, n, 0);
        return;
    }
    /* A job's products run single-threaded in BLAS even when the job runs
     * as one part on this thread: BLAS threading a product rounds it
     * differently, and the bits would follow the thread count. */
    if (blas)
        ae__blas_set_threads(1);
    if (parts > 1) {
        ensure_workers(ae__thread_count() - 1);
        if (parts > started + 1)
            parts = started + 1;
    }
    if (parts <= 1) {
        fn(ctx, 0, n, 0);
        if (blas)
            ae__blas_set_threads(ae__thread_count());
        pthread_mutex_unlock(&owner);
        return;
    }
    pthread_mutex_lock(&lock);
    job_fn = fn;
    job_ctx = ctx;
    job_n = n;
    job_parts = parts;
    atomic_store(&pending, parts - 1);
    atomic_fetch_add(&generation, 1);
    pthread_cond_broadcast(&work);
    pthread_mutex_unlock(&lock);
    size_t begin, end;
    part_range(n, 0, parts, &begin, &end);
    fn(ctx, begin, end, 0);
    spin_for_parts();
    pthread_mutex_lock(&lock);
    while (atomic_load(&pending) > 0)
        pthread_cond_wait(&done, &lock);
    pthread_mutex_unlock(&lock);
    if (blas)
        ae__blas_set_threads(ae__thread_count());
    pthread_mutex_unlock(&owner);
}

void ae__parallel_for(size_t n, size_t grain, int max_parts,
                      ae__parallel_fn fn, void *ctx)
{
    run(n, grain, max_parts, fn, ctx, 0);
}

void ae__parallel_for_blas(size_t n, size_t grain, int max_parts,
                           ae__parallel_fn fn, void *ctx)
{
    run(n, grain, max_parts, fn, ctx, 1);
}

size_t ae__parallel_blocks(size_t n, size_t min_block)
{
    size_t blocks = min_block == 0 ? n : n / min_block;
    if (blocks > AE__PARALLEL_MAX_BLOCKS)
        blocks = AE__PARALLEL_MAX_BLOCKS;
    return blocks < 1 ? 1 : blocks;
}

/* Workers are joined when the library is unloaded or the program exits
 * normally, so that leak checkers see no thread left behind.  A job still
 * running on another thread then keeps its workers. */
__attribute__((destructor)) static void stop_workers(void)
{
    if (pthread_mutex_trylock(&owner) != 0)
        return;
    if (started == 0) {
        pthread_mutex_unlock(&owner);
        return;
    }
    pthread_mutex_lock(&lock);
    stopping = 1;
    pthread_cond_broadcast(&work);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    started = 0;
    attempted = 0;
    stopping = 0;
    pthread_mutex_unlock(&owner);
}

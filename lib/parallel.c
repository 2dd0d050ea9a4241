/* parallel.c - a persistent pool of worker threads for the library's own
 * loops (see parallel.h).
 *
 * State is static (no allocation, so an allocation-failure walk never sees
 * the pool): up to AE_MAX_WORKERS threads, created when a job first needs
 * them.  `owner` is held by the thread running a job for its whole length;
 * a call that cannot take it (another thread's job, or a call from inside a
 * part) runs serially instead, which changes the speed, never the result
 * of a loop whose items are independent. */
#include <pthread.h>
#include <stdint.h>

#include "internal.h"
#include "parallel.h"

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

/* The posted job, under lock. */
static unsigned long generation;
static int pending;
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

static void *worker_main(void *arg)
{
    worker *w = arg;
    for (;;) {
        pthread_mutex_lock(&lock);
        while (!stopping && generation == w->seen)
            pthread_cond_wait(&work, &lock);
        if (stopping) {
            pthread_mutex_unlock(&lock);
            return NULL;
        }
        w->seen = generation;
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
        pthread_mutex_lock(&lock);
        if (--pending == 0)
            pthread_cond_signal(&done);
        pthread_mutex_unlock(&lock);
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
    pthread_mutex_lock(&lock);
    const unsigned long gen = generation;
    pthread_mutex_unlock(&lock);
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
    if (parts <= 1 || pthread_mutex_trylock(&owner) != 0) {
        fn(ctx, 0, n, 0);
        return;
    }
    ensure_workers(ae__thread_count() - 1);
    if (parts > started + 1)
        parts = started + 1;
    if (parts <= 1) {
        pthread_mutex_unlock(&owner);
        fn(ctx, 0, n, 0);
        return;
    }
    if (blas)
        ae__blas_set_threads(1);
    pthread_mutex_lock(&lock);
    job_fn = fn;
    job_ctx = ctx;
    job_n = n;
    job_parts = parts;
    pending = parts - 1;
    generation++;
    pthread_cond_broadcast(&work);
    pthread_mutex_unlock(&lock);
    size_t begin, end;
    part_range(n, 0, parts, &begin, &end);
    fn(ctx, begin, end, 0);
    pthread_mutex_lock(&lock);
    while (pending > 0)
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

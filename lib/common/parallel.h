/*
 * parallel.h - the library's own threads (private).
 *
 * One process-wide pool of persistent worker threads, started on first use
 * and sized to ae__thread_count().  A call splits a range of items into
 * contiguous parts; the caller's thread takes part 0 and the workers the
 * rest.  A worker that has finished a part spins for at most a tenth of
 * a millisecond, in case the next job comes at once (as the jobs of a
 * training step do), then sleeps on a condition variable, so an idle pool
 * does not compete with BLAS's threads for the cores.
 *
 * Determinism: part p of `parts` is always [n*p/parts, n*(p+1)/parts), and
 * every item is computed by the same code whichever thread runs it, so a
 * loop whose items are independent gives the same bits for any number of
 * parts.  Loops that reduce should sum fixed blocks (ae__parallel_blocks)
 * in a fixed order rather than per-part sums.  Parts that call BLAS make
 * one call per item (an item a block fixed by the shape), never one call
 * over their range: BLAS rounds an element by where the call's edges
 * fall (lib/layers/dense.c has the measurement).
 *
 * Whenever the pool cannot be used - one thread configured, threads could
 * not be created, the pool is already busy (another thread of the program,
 * or a call from inside a part) - the whole range runs on the caller's
 * thread as a single part.  Nothing here allocates: the pool's state is
 * static.
 */
#ifndef AE_PARALLEL_H
#define AE_PARALLEL_H

#include <stddef.h>

/* Items [begin, end) of a job; part is 0 .. parts-1, distinct for the
 * parts of one call (callers index per-part scratch with it). */
typedef void (*ae__parallel_fn)(void *ctx, size_t begin, size_t end,
                                int part);

/* fn over [0, n): at most ae__thread_count() parts and at most max_parts
 * (0: no further limit), each of at least `grain` items (so n < 2 * grain
 * runs as one part on the caller's thread).  Returns once every part is
 * done. */
void ae__parallel_for(size_t n, size_t grain, int max_parts,
                      ae__parallel_fn fn, void *ctx);

/* The same for parts that call BLAS: while the parts run, BLAS is set to
 * one thread, so that the library's threads and BLAS's never share the
 * cores; BLAS gets the full thread count back after. */
void ae__parallel_for_blas(size_t n, size_t grain, int max_parts,
                           ae__parallel_fn fn, void *ctx);

/* Blocks of a reduction over n items: a block count that depends on n
 * alone (never on the thread count), at most AE__PARALLEL_MAX_BLOCKS,
 * blocks of at least min_block items. */
enum { AE__PARALLEL_MAX_BLOCKS = 64 };
size_t ae__parallel_blocks(size_t n, size_t min_block);

#endif /* AE_PARALLEL_H */

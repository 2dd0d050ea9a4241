/*
 * autoenc_mpi.h - data-parallel training of libautoenc models over MPI.
 *
 * libautoenc-mpi is a small library of its own (pkg-config autoenc-mpi),
 * so that the core library, and every program that trains on one
 * machine, links no MPI at all.  It binds the core's reduction hook
 * (ae_trainer_set_reduce, "Data-parallel training" in autoenc.h) to
 * MPI_Allreduce on a communicator the caller passes in.
 *
 * A run: every rank of the communicator
 *   1. builds the same model with the same seed and the same optimizer
 *      and trainer settings (or loads the same checkpoint),
 *   2. opens the same data set (the same file, or a file mapped from
 *      shared storage: ae_dataset_map_idx),
 *   3. calls ae_mpi_attach, and ae_mpi_check_dataset with that data set:
 *      both are collective and refuse, on every rank and before the first
 *      step, a configuration in which the ranks differ,
 *   4. calls ae_trainer_fit (or ae_trainer_step on the same global
 *      batches): rank r trains on its slice of each global batch and the
 *      gradients are summed, so every rank keeps the same weights bit for
 *      bit.  Rank 0 alone writes the checkpoints.
 *
 * Failures: a rank that dies is noticed by the MPI launcher, which ends
 * the others (Open MPI's mpirun does so at once).  A rank that hangs, or
 * stops training early, is noticed by the others' timeout: their
 * reduction fails with AE_ERR_IO and ae_last_error() says which rank
 * waited and for how long.  After any failure of a collective call the
 * communicator is in an unknown state: end the job with
 * MPI_Abort(comm, 1) rather than MPI_Finalize, which could wait forever.
 *
 * Thread safety: one ae_mpi per trainer; MPI must be initialised with at
 * least MPI_THREAD_FUNNELED and the adapter called from the thread that
 * initialised it (the trainer calls the reduction from the calling
 * thread).  Since 0.2.
 */
#ifndef AUTOENC_MPI_H
#define AUTOENC_MPI_H

#include <mpi.h>
#include <stdint.h>

#include <autoenc.h>

#if defined(AE_BUILDING_MPI) && defined(__GNUC__)
#define AE_MPI_API __attribute__((visibility("default")))
#else
#define AE_MPI_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup mpi Data-parallel training over MPI (libautoenc-mpi)
 * The calls of libautoenc-mpi (`#include <autoenc_mpi.h>`, `pkg-config
 * autoenc-mpi`): the core's reduction hook (ae_trainer_set_reduce) bound
 * to MPI_Allreduce on a communicator the caller passes in.  A run, the
 * failures it survives and its thread rules are in this header's opening
 * comment and in docs/DISTRIBUTED.md.  All since 0.2.
 * @{ */

/** The binding of one trainer to one communicator (opaque). */
typedef struct ae_mpi ae_mpi;

/** Check that every rank has the same configuration, then bind the
 * trainer to the communicator.  Collective over comm.
 *
 * Compared across the ranks: the library version, the model's
 * architecture and weights (so the same seed), the optimizer's
 * hyperparameters and state, and every trainer setting (loss, noise,
 * batch size, shuffling, seed, checkpoint period).  When they agree, t's
 * AE_TRAIN_RANK and AE_TRAIN_WORKERS are set from comm and the reduction
 * is installed.  On a difference every rank fails with the same message,
 * naming what differs and the range of values ("trainer batch size: 64 on
 * some ranks, 128 on others"), and t is left as it was.  The adapter
 * talks on its own duplicate of comm, with errors returned rather than
 * fatal, so the caller's communicator is untouched.  Since 0.2.
 * @param[out] out the binding, to free with ae_mpi_free
 * @param t the trainer
 * @param m the model t was created with
 * @param opt the optimizer t was created with
 * @param comm the ranks that train together
 * @return AE_OK, or: AE_ERR_NULL; AE_ERR_INVALID_ARGUMENT when the ranks
 *         differ; AE_ERR_IO if MPI fails; AE_ERR_NO_MEMORY */
AE_MPI_API ae_status ae_mpi_attach(ae_mpi **out, ae_trainer *t,
                                   const ae_model *m, const ae_optimizer *opt,
                                   MPI_Comm comm);

/** Check that every rank opened the same data set.  Collective.
 *
 * Compared: the image count, shape, pixel range and pixels (a 64-bit hash
 * of them as training sees them).  Since 0.2.
 * @param w the binding
 * @param ds this rank's training set
 * @return AE_OK, or: AE_ERR_NULL; AE_ERR_INVALID_ARGUMENT on every rank
 *         if they differ; AE_ERR_IO if MPI fails */
AE_MPI_API ae_status ae_mpi_check_dataset(ae_mpi *w, const ae_dataset *ds);

/** Set how long a reduction waits for the other ranks.
 *
 * A reduction that has waited this long fails with AE_ERR_IO.  A step's
 * reduction waits for the slowest rank's forward and backward pass, so
 * the timeout must exceed a step's time.  Local: set the same value on
 * every rank.  Since 0.2.
 * @param w the binding
 * @param seconds >= 0 (default 60); 0 waits forever, through a blocking
 *        MPI_Allreduce
 * @return AE_OK, or AE_ERR_NULL, or AE_ERR_INVALID_ARGUMENT for a
 *         negative or non-finite value */
AE_MPI_API ae_status ae_mpi_set_timeout(ae_mpi *w, double seconds);

/** What the reductions cost so far on this rank.  The caller sets size to
 * sizeof(ae_mpi_stats), so that later versions can append fields. */
typedef struct ae_mpi_stats {
    size_t size;     /**< set by the caller: sizeof(ae_mpi_stats) */
    uint64_t calls;  /**< reductions (a step makes two: gradient and loss) */
    uint64_t floats; /**< floats summed, over all calls */
    double seconds;  /**< wall time inside the reductions, waits included */
} ae_mpi_stats;

/** Copy the counters out.  Since 0.2.
 * @param w the binding
 * @param[in,out] stats its size field set by the caller
 * @return AE_OK, or AE_ERR_NULL, or AE_ERR_INVALID_ARGUMENT for a size
 *         smaller than version 0.2's struct */
AE_MPI_API ae_status ae_mpi_get_stats(const ae_mpi *w, ae_mpi_stats *stats);
/** Zero the counters, to time one epoch on its own.  Since 0.2.
 * @param w the binding; NULL is accepted */
AE_MPI_API void ae_mpi_reset_stats(ae_mpi *w);

/** This rank's number in the communicator.  Since 0.2.
 * @param w the binding
 * @return 0 to ae_mpi_size - 1, or -1 for NULL */
AE_MPI_API int ae_mpi_rank(const ae_mpi *w);
/** The number of ranks.  Since 0.2.
 * @param w the binding
 * @return the count, or -1 for NULL */
AE_MPI_API int ae_mpi_size(const ae_mpi *w);

/** Unbind and free.
 *
 * Removes the reduction from the trainer (it is one process again:
 * AE_TRAIN_RANK 0, AE_TRAIN_WORKERS 1) and frees the binding and its
 * duplicate communicator.  Call it on every rank, before MPI_Finalize and
 * before freeing the trainer; after a failed reduction, call MPI_Abort
 * instead.  Since 0.2.
 * @param w the binding; NULL is accepted */
AE_MPI_API void ae_mpi_free(ae_mpi *w);
/** @} */

#ifdef __cplusplus
}
#endif

#endif /* AUTOENC_MPI_H */

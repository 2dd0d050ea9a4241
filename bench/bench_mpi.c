/* bench_mpi.c - one epoch of data-parallel training through
 * libautoenc-mpi, timed on every rank: the epoch, the reductions and their
 * share of a step.  Run by bench_mpi.sh as 1 rank x 2 threads and as 2
 * ranks x 1 thread on the same data, so that the two ways of using the
 * machine's cores are compared in one sitting.
 *
 *   mpirun -np R bench_mpi [--model dense|conv] [--images N]
 *                          [--threads T] [--epochs E] [--data DIR]
 *                          [--timeout S]   (0: blocking MPI_Allreduce)
 *
 * dense: experiment 1's deep autoencoder (808,494 parameters, batch 64);
 * conv: experiment 7's convolutional denoiser (74,497 parameters, batch
 * 128).  Prints one line for rank 0 with the slowest rank's figures:
 *   ranks R threads T model M images N: epoch S s, I img/s, reductions
 *   X s (P% of the epoch), Y us a step, Z bytes a step (V us for the
 *   transport alone); compute U us an image.  The reductions' time
 *   includes waiting for the slower rank; "the transport alone" times
 *   MPI_Allreduce of the gradient with the ranks in step. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <autoenc_mpi.h>

#include "bench_util.h"
#include "models.h"

static void must(ae_status s, const char *what)
{
    if (s != AE_OK) {
        fprintf(stderr, "bench_mpi: %s: %s\n", what, ae_last_error());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
}

int main(int argc, char **argv)
{
    int provided, rank, ranks;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    const char *model = "dense";
    const char *data = "/usr/share/datasets/fashion-mnist";
    size_t images = 20000;
    int threads = 1, epochs = 1;
    double timeout = -1; /* the adapter's default */
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--model"))
            model = argv[i + 1];
        else if (!strcmp(argv[i], "--images"))
            images = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--epochs"))
            epochs = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--timeout"))
            timeout = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--data"))
            data = argv[i + 1];
    }
    must(ae_set_threads(threads), "threads");
    char path[4096];
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", data);
    ae_dataset *all, *ds;
    must(ae_dataset_load_idx(&all, path, NULL), path);
    if (images > ae_dataset_count(all))
        images = ae_dataset_count(all);
    must(ae_dataset_subset(all, 0, images, &ds), "subset");
    ae_dataset_free(all);

    const int conv = !strcmp(model, "conv");
    const int batch = conv ? 128 : 64;
    ae_model *m;
    ae_optimizer *adam;
    ae_trainer *t;
    ae_mpi *w;
    if (conv)
        must(model_exp7_conv_denoiser(&m, 28, 28, 1), "model");
    else
        must(model_exp1_deep30(&m, 1), "model");
    must(ae_optimizer_create_adam(&adam, 1e-3f), "optimizer");
    must(ae_trainer_create(&t, m, adam), "trainer");
    must(ae_trainer_set(t, AE_TRAIN_BATCH_SIZE, batch), "batch");
    if (conv)
        must(ae_trainer_set(t, AE_TRAIN_LOSS, AE_LOSS_BCE), "loss");
    must(ae_mpi_attach(&w, t, m, adam, MPI_COMM_WORLD), "attach");
    if (timeout >= 0)
        must(ae_mpi_set_timeout(w, timeout), "timeout");

    /* The transport alone: all-reduces of the gradient's size, the ranks
     * in step, so no rank waits for another's compute. */
    const size_t n = ae_model_param_count(m);
    float *g = calloc(n, sizeof *g);
    double transport = 0;
    for (int k = 0; k < 22 && g != NULL; k++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = bench_now();
        MPI_Allreduce(MPI_IN_PLACE, g, (int)n, MPI_FLOAT, MPI_SUM,
                      MPI_COMM_WORLD);
        if (k >= 2) /* the first two set up the shared-memory segments */
            transport += (bench_now() - t0) / 20;
    }
    free(g);

    MPI_Barrier(MPI_COMM_WORLD);
    double start = bench_now();
    must(ae_trainer_fit(t, ds, NULL, epochs, NULL, NULL), "fit");
    double mine[2] = {bench_now() - start, 0};
    ae_mpi_stats st = {.size = sizeof st};
    must(ae_mpi_get_stats(w, &st), "stats");
    mine[1] = st.seconds;
    double worst[2];
    MPI_Reduce(mine, worst, 2, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        const double steps = (double)st.calls / 2.0; /* gradient + loss */
        const double epoch = worst[0] / epochs;
        /* Compute per image of the global batch: the step's time without
         * its reductions, times the ranks sharing the batch. */
        const double compute = (worst[0] - worst[1]) / steps / batch;
        printf("ranks %d threads %d model %s images %zu: epoch %.3f s, "
               "%.0f img/s, reductions %.3f s (%.1f%% of the epoch), %.0f us "
               "a step, %zu bytes a step (%.0f us for the transport alone); "
               "compute %.2f us an image of the batch\n", ranks, threads, model, images, epoch,
               (double)images / epoch, worst[1] / epochs,
               100.0 * worst[1] / worst[0], 1e6 * worst[1] / steps,
               (ae_model_param_count(m) + 1) * sizeof(float),
               1e6 * transport, 1e6 * compute);
    }
    ae_mpi_free(w);
    ae_trainer_free(t);
    ae_optimizer_free(adam);
    ae_model_free(m);
    ae_dataset_free(ds);
    MPI_Finalize();
    return 0;
}

/* exp1_mpi.c - experiment 1's deep autoencoder (784-512-256-128-30 /
 * 30-128-256-784, the notebooks' model) trained data-parallel over MPI
 * with libautoenc-mpi.
 *
 * Every rank opens the same data, builds the same model from the same
 * seed and trains its slice of every global batch of 64; the gradients
 * are summed, so every rank keeps the same weights.  Rank 0 prints the
 * progress, writes a checkpoint every 100 batches (a run started again
 * with the same options resumes from it), and at the end the test MSE and
 * the model.  Every rank reports the time its reductions took.
 *
 *   mpirun -np 2 build/examples/exp1_mpi --threads 1 --data DIR
 *   mpirun -np 8 --hostfile hosts build/examples/exp1_mpi --data DIR
 *
 * Options as the other experiments (--data, --out, --epochs, --seed,
 * --threads, --quick); --threads is per rank (0: all the machine's cores,
 * right for one rank per machine). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <autoenc_mpi.h>

#include "common.h"
#include "models.h"

static int rank;

/* Any failure ends the whole job: the other ranks would wait for this one
 * at their next reduction. */
static void must(ae_status s, const char *what)
{
    if (s == AE_OK)
        return;
    fprintf(stderr, "exp1_mpi: rank %d: %s: %s\n", rank, what,
            ae_last_error());
    MPI_Abort(MPI_COMM_WORLD, 1);
}

int main(int argc, char **argv)
{
    int provided, ranks;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    options opt;
    parse_options(argc, argv, "results/exp1_mpi", &opt);
    if (rank == 0)
        make_dir(opt.out_dir);
    MPI_Barrier(MPI_COMM_WORLD);
    must(ae_set_threads(opt.threads), "threads");

    ae_dataset *train = load_split(&opt, "train", 2000);
    ae_dataset *test = load_split(&opt, "t10k", 500);
    const int epochs = epochs_for(&opt, 10);

    ae_model *m;
    ae_optimizer *adam;
    ae_trainer *t;
    must(model_exp1_deep30(&m, opt.seed), "model");
    must(ae_optimizer_create_adam(&adam, 1e-3f), "optimizer");
    must(ae_trainer_create(&t, m, adam), "trainer");
    must(ae_trainer_set(t, AE_TRAIN_LOSS, AE_LOSS_MSE), "loss");
    must(ae_trainer_set(t, AE_TRAIN_BATCH_SIZE, 64), "batch size");
    must(ae_trainer_set(t, AE_TRAIN_SEED, (double)opt.seed), "seed");
    must(ae_trainer_set(t, AE_TRAIN_CHECKPOINT_EVERY, 100), "period");
    char ckpt[4096]; /* out_path's buffer is reused by the next call */
    snprintf(ckpt, sizeof ckpt, "%s", out_path(&opt, "exp1_mpi.ckpt"));
    must(ae_trainer_set_checkpoint_path(t, ckpt), "checkpoint path");
    /* Resume where an earlier run of the same job stopped.  Every rank
     * reads rank 0's file (shared storage across machines). */
    if (access(ckpt, R_OK) == 0) {
        must(ae_trainer_load_checkpoint(t, ckpt), "resume");
        if (rank == 0)
            printf("resuming from %s\n", ckpt);
    }

    ae_mpi *w;
    must(ae_mpi_attach(&w, t, m, adam, MPI_COMM_WORLD), "attach");
    must(ae_mpi_check_dataset(w, train), "training data");
    if (rank == 0) {
        printf("Experiment 1 over MPI: deep AE-30 (%zu parameters) on %zu "
               "%s images, %d ranks, batch 64 (%d images a rank), %d "
               "epochs\n", ae_model_param_count(m), ae_dataset_count(train),
               opt.data_name, ranks, 64 / ranks, epochs);
        progress_set_images(ae_dataset_count(train));
    }
    must(ae_trainer_fit(t, train, NULL, epochs,
                        rank == 0 ? print_epoch : NULL, NULL),
         "training");

    ae_mpi_stats st = {.size = sizeof st};
    must(ae_mpi_get_stats(w, &st), "stats");
    double *seconds = rank == 0 ? xmalloc((size_t)ranks * sizeof *seconds)
                                : NULL;
    MPI_Gather(&st.seconds, 1, MPI_DOUBLE, seconds, 1, MPI_DOUBLE, 0,
               MPI_COMM_WORLD);
    if (rank == 0) {
        double loss;
        must(ae_trainer_evaluate(t, test, &loss), "test loss");
        printf("test MSE %.5f on %zu images\n", loss, ae_dataset_count(test));
        printf("reductions: %llu, %.1f MB summed on each rank; seconds in "
               "them:", (unsigned long long)st.calls,
               (double)st.floats * 4.0 / 1e6);
        for (int r = 0; r < ranks; r++)
            printf(" rank %d %.2f", r, seconds[r]);
        printf("\n");
        must(ae_model_save(m, out_path(&opt, "model-deep-AE-30-mpi.aemodel")),
             "save");
        /* The job finished: a later run starts afresh. */
        unlink(ckpt);
    }
    free(seconds);
    ae_mpi_free(w);
    ae_trainer_free(t);
    ae_optimizer_free(adam);
    ae_model_free(m);
    ae_dataset_free(train);
    ae_dataset_free(test);
    MPI_Finalize();
    return 0;
}

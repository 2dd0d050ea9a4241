/* consumer_mpi.c - a program outside the tree, built against the installed
 * libautoenc-mpi through `pkg-config autoenc-mpi` alone: one data-parallel
 * step on however many ranks mpirun gives it. */
#include <stdio.h>

#include <autoenc_mpi.h>

#define CHECK(call)                                                            \
    do {                                                                       \
        ae_status s_ = (call);                                                 \
        if (s_ != AE_OK) {                                                     \
            fprintf(stderr, "%s: %s\n", #call, ae_last_error());               \
            MPI_Abort(MPI_COMM_WORLD, 1);                                      \
        }                                                                      \
    } while (0)

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    ae_model *m;
    ae_optimizer *opt;
    ae_trainer *t;
    ae_mpi *w;
    CHECK(ae_model_create(&m, 1, 4, 4, 1));
    CHECK(ae_model_add_dense(m, AE_ENCODER, 3, AE_ACT_RELU));
    CHECK(ae_model_add_dense(m, AE_DECODER, 16, AE_ACT_SIGMOID));
    CHECK(ae_optimizer_create_sgd(&opt, 0.1f, 0.0f));
    CHECK(ae_trainer_create(&t, m, opt));
    CHECK(ae_mpi_attach(&w, t, m, opt, MPI_COMM_WORLD));
    float x[2 * 16], loss;
    for (int i = 0; i < 2 * 16; i++)
        x[i] = (float)(i % 7) / 7.0f;
    CHECK(ae_trainer_step(t, x, NULL, 2, &loss));
    ae_mpi_stats st = {.size = sizeof st};
    CHECK(ae_mpi_get_stats(w, &st));
    printf("rank %d of %d: loss %.6f after one step, %llu reductions\n",
           ae_mpi_rank(w), ae_mpi_size(w), loss,
           (unsigned long long)st.calls);
    ae_mpi_free(w);
    ae_trainer_free(t);
    ae_optimizer_free(opt);
    ae_model_free(m);
    MPI_Finalize();
    return st.calls == 2 ? 0 : 1;
}

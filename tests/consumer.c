/* consumer.c - a program built the way a user builds one: against the
 * installed header and the installed autoenc.pc, outside the build tree.
 * tests/consumer_test.sh compiles it twice (shared and static library) and
 * runs both.  It touches each part of the API a little: version, model
 * building, a training step, a save/load round trip, PCA and metrics. */
#include <autoenc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call)                                                            \
    do {                                                                       \
        ae_status s_ = (call);                                                 \
        if (s_ != AE_OK) {                                                     \
            fprintf(stderr, "%s:%d: %s: %s (%s)\n", __FILE__, __LINE__,        \
                    #call, ae_status_name(s_), ae_last_error());               \
            return 1;                                                          \
        }                                                                      \
    } while (0)

enum { N = 8, SIDE = 6, PIXELS = SIDE * SIDE };

int main(void)
{
    if (ae_version_number() != AE_VERSION_NUMBER ||
        strcmp(ae_version_string(), AE_VERSION_STRING) != 0) {
        fprintf(stderr, "header %s, library %s\n", AE_VERSION_STRING,
                ae_version_string());
        return 1;
    }
    static float x[N * PIXELS], y[N * PIXELS];
    for (int i = 0; i < N * PIXELS; i++)
        x[i] = (float)((i * 37) % 101) / 100.0f;

    ae_model *m = NULL, *back = NULL;
    ae_optimizer *opt = NULL;
    ae_trainer *t = NULL;
    CHECK(ae_model_create(&m, 1, SIDE, SIDE, 42));
    CHECK(ae_model_add_conv2d(m, AE_ENCODER, 2, 3, 1, -1, AE_ACT_RELU));
    CHECK(ae_model_add_dense(m, AE_ENCODER, 4, AE_ACT_TANH));
    CHECK(ae_model_add_dense(m, AE_DECODER, PIXELS, AE_ACT_SIGMOID));
    CHECK(ae_optimizer_create_adam(&opt, 1e-2f));
    CHECK(ae_trainer_create(&t, m, opt));
    float first = 0.0f, loss = 0.0f;
    for (int step = 0; step < 20; step++)
        CHECK(ae_trainer_step(t, x, NULL, N, step == 0 ? &first : &loss));
    if (!(loss < first)) {
        fprintf(stderr, "loss did not go down: %g -> %g\n", (double)first,
                (double)loss);
        return 1;
    }

    size_t size = 0;
    (void)ae_model_save_memory(m, NULL, 0, &size);
    void *buf = malloc(size);
    if (buf == NULL)
        return 1;
    CHECK(ae_model_save_memory(m, buf, size, &size));
    CHECK(ae_model_load_memory(&back, buf, size));
    free(buf);
    CHECK(ae_model_reconstruct(m, x, N, y));
    static float y2[N * PIXELS];
    CHECK(ae_model_reconstruct(back, x, N, y2));
    if (memcmp(y, y2, sizeof y) != 0) {
        fprintf(stderr, "loaded model differs\n");
        return 1;
    }

    ae_pca *p = NULL;
    CHECK(ae_pca_create(&p, 2));
    CHECK(ae_pca_fit(p, x, N, PIXELS));
    ae_metrics *mt = NULL;
    double mse = -1.0;
    CHECK(ae_metrics_create(&mt, 1, SIDE, SIDE, 1.0f));
    CHECK(ae_metrics_update(mt, x, y, N));
    CHECK(ae_metrics_value(mt, AE_METRIC_MSE, &mse));

    ae_metrics_free(mt);
    ae_pca_free(p);
    ae_trainer_free(t);
    ae_optimizer_free(opt);
    ae_model_free(back);
    ae_model_free(m);
    printf("consumer OK: libautoenc %s, loss %.4f -> %.4f, MSE %.4f\n",
           ae_version_string(), (double)first, (double)loss, mse);
    return 0;
}

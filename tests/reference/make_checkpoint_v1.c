/* make_checkpoint_v1.c - made tests/reference/checkpoint_v1.aeckpt, once,
 * with the library of commit 93eb2a0 (the last to write checkpoint
 * version 1), and printed the weights tests/test_checkpoint.c compares
 * after loading it: the next ae_trainer_step and a resumed fit.  Built
 * against a later library it writes the later version: it is kept to say
 * how the fixture was made, not to remake it. */
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include "autoenc.h"
static ae_trainer *gT;
static int save_and_stop(const ae_progress *p, void *u)
{
    (void)p;
    int *n = u;
    if (--*n == 0) {
        ae_trainer_save_checkpoint(gT, "checkpoint_v1.aeckpt");
        return 1;
    }
    return 0;
}
int main(void)
{
    ae_model *m; ae_optimizer *o; ae_trainer *t;
    ae_model_create(&m, 1, 1, 3, 5);
    ae_model_add_dense(m, AE_ENCODER, 2, AE_ACT_TANH);
    ae_model_add_dense(m, AE_DECODER, 3, AE_ACT_SIGMOID);
    ae_optimizer_create_adam(&o, 0.05f);
    ae_trainer_create(&t, m, o);
    gT = t;
    ae_trainer_set(t, AE_TRAIN_BATCH_SIZE, 2);
    ae_trainer_set(t, AE_TRAIN_SEED, 3);
    ae_trainer_set(t, AE_TRAIN_NOISE, AE_NOISE_GAUSSIAN);
    ae_trainer_set(t, AE_TRAIN_NOISE_LEVEL, 0.1);
    /* 5 images of 1x3 as IDX */
    uint8_t idx[16 + 15] = {0,0,8,3, 0,0,0,5, 0,0,0,1, 0,0,0,3};
    for (int i = 0; i < 15; i++) idx[16 + i] = (uint8_t)(i * 17 + 3);
    ae_dataset *ds;
    if (ae_dataset_load_idx_memory(&ds, idx, sizeof idx, NULL, 0)) { puts(ae_last_error()); return 1; }
    int n = 5; /* 3 batches per epoch, events: b1 b2 b3 end; stop at 5 = epoch 2 batch 1 */
    if (ae_trainer_fit(t, ds, NULL, 3, save_and_stop, &n)) { puts(ae_last_error()); return 1; }
    /* load in fresh handles, one step, print */
    ae_model *m2; ae_optimizer *o2; ae_trainer *t2;
    ae_model_create(&m2, 1, 1, 3, 99);
    ae_model_add_dense(m2, AE_ENCODER, 2, AE_ACT_TANH);
    ae_model_add_dense(m2, AE_DECODER, 3, AE_ACT_SIGMOID);
    ae_optimizer_create_adam(&o2, 0.5f);
    ae_trainer_create(&t2, m2, o2);
    if (ae_trainer_load_checkpoint(t2, "checkpoint_v1.aeckpt")) { puts(ae_last_error()); return 1; }
    float x[6] = {0.25f, 0.5f, 0.75f, 0.125f, 0.875f, 0.375f};
    float loss;
    if (ae_trainer_step(t2, x, NULL, 2, &loss)) { puts(ae_last_error()); return 1; }
    float w[64]; size_t off = 0;
    for (size_t i = 0; i < ae_model_layer_count(m2); i++) {
        ae_layer *l; ae_model_layer(m2, i, &l);
        size_t nw = ae_layer_weight_count(l), nb = ae_layer_bias_count(l);
        ae_layer_get_weights(l, w + off, nw); ae_layer_get_bias(l, w + off + nw, nb);
        off += nw + nb;
    }
    printf("params %zu loss %a\n", off, loss);
    for (size_t i = 0; i < off; i++) { uint32_t u; memcpy(&u, &w[i], 4); printf("0x%08x, ", u); }
    puts("");
    /* and a finished fit to the end from the checkpoint: final weights */
    ae_model *m3; ae_optimizer *o3; ae_trainer *t3;
    ae_model_create(&m3, 1, 1, 3, 99);
    ae_model_add_dense(m3, AE_ENCODER, 2, AE_ACT_TANH);
    ae_model_add_dense(m3, AE_DECODER, 3, AE_ACT_SIGMOID);
    ae_optimizer_create_adam(&o3, 0.5f);
    ae_trainer_create(&t3, m3, o3);
    ae_trainer_load_checkpoint(t3, "checkpoint_v1.aeckpt");
    if (ae_trainer_fit(t3, ds, NULL, 3, NULL, NULL)) { puts(ae_last_error()); return 1; }
    off = 0;
    for (size_t i = 0; i < ae_model_layer_count(m3); i++) {
        ae_layer *l; ae_model_layer(m3, i, &l);
        size_t nw = ae_layer_weight_count(l), nb = ae_layer_bias_count(l);
        ae_layer_get_weights(l, w + off, nw); ae_layer_get_bias(l, w + off + nw, nb);
        off += nw + nb;
    }
    printf("after resumed fit:\n");
    for (size_t i = 0; i < off; i++) { uint32_t u; memcpy(&u, &w[i], 4); printf("0x%08x, ", u); }
    puts("");
    return 0;
}

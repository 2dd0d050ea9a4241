/* dropout.c - inverted dropout, as PyTorch's nn.Dropout:
 *   y = x * m / (1 - p), m ~ Bernoulli(1 - p) per value, in a training pass;
 *   y = x in evaluation
 *   in: C x H x W -> out: C x H x W
 * The masks come from a counter-based generator: the mask of image g of
 * the batch is drawn from a stream seeded by (key, step, g), where key
 * follows from the model's seed and the layer's index and step counts the
 * committed training passes.  So backward recomputes the forward's mask
 * instead of storing it, data-parallel workers draw for their images what
 * one process would, and the whole generator is one counter, saved in
 * model files and so in checkpoints. */
#include <math.h>
#include <string.h>

#include "common/bytes.h"
#include "common/parallel.h"
#include "layers/layer_config.h"
#include "nn/model.h"

typedef struct drop_state {
    uint64_t key;  /* from the model's seed and the layer's index */
    uint64_t step; /* committed training passes */
} drop_state;

static float drop_rate(const ae_layer *l)
{
    return ae__cfg_float(l, AE__DROP_P);
}

/* splitmix64's finaliser: a bijection that spreads every input bit. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static ae_status drop_configure(ae_layer *l)
{
    const float p = drop_rate(l);
    if (!(p >= 0.0f && p < 1.0f))
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "layer %zu (dropout): rate %g is outside [0, 1)",
                        l->index, (double)p);
    l->out = l->in;
    l->n_weights = 0;
    l->n_bias = 0;
    /* Allocated here, not at the first pass: a model file's counter is
     * loaded into it right after the layer is appended. */
    if (l->state == NULL) {
        drop_state *st = ae__calloc(1, sizeof *st);
        if (st == NULL)
            return ae__fail(AE_ERR_NO_MEMORY, "layer %zu (dropout): cannot "
                            "allocate its generator", l->index);
        l->state = st;
    }
    return AE_OK;
}

/* Nothing is drawn from the weights' generator: adding a dropout layer
 * leaves the other layers' initial weights as they were. */
static void drop_init(ae_layer *l, ae__rng *rng)
{
    (void)rng;
    drop_state *st = l->state;
    st->key = mix64(ae__model_seed(l->model) ^
                    mix64(0xd0d0d0d0ULL + (uint64_t)l->index));
    st->step = 0;
}

typedef struct drop_job {
    const ae_layer *l;
    const float *in; /* x (forward) or dy (backward) */
    float *out;      /* y or dx */
} drop_job;

/* Images [first, last): out = in * mask / (1 - p), each image's mask from
 * its own stream, so the parts and the thread count do not matter. */
static void mask_images(void *ctx, size_t first, size_t last, int part)
{
    (void)part;
    const drop_job *j = ctx;
    const ae_layer *l = j->l;
    const drop_state *st = l->state;
    const float p = drop_rate(l), scale = 1.0f / (1.0f - p);
    const size_t n = ae__shape_size(l->in);
    const uint64_t seed = mix64(st->key ^ mix64(st->step));
    const size_t offset = ae__model_image_offset(l->model);
    for (size_t b = first; b < last; b++) {
        ae__rng r;
        ae__rng_seed(&r, seed, (uint64_t)(offset + b));
        const float *x = j->in + b * n;
        float *y = j->out + b * n;
        for (size_t k = 0; k < n; k++)
            y[k] = ae__rng_uniformf(&r) >= p ? x[k] * scale : 0.0f;
    }
}

static void drop_apply(ae_layer *l, const float *in, float *out,
                       size_t batch)
{
    if (!ae__model_training_pass(l->model)) {
        memmove(out, in, batch * ae__shape_size(l->in) * sizeof(float));
        return;
    }
    drop_job j = {l, in, out};
    size_t n = ae__shape_size(l->in);
    ae__parallel_for(batch, n >= 16384 ? 1 : 16384 / n + 1, 0, mask_images,
                     &j);
}

static void drop_forward(ae_layer *l, const float *x, float *y, size_t batch,
                         float *scratch)
{
    (void)scratch;
    drop_apply(l, x, y, batch);
}

/* dx = dy * mask / (1 - p): the forward's mask, drawn again from the same
 * counter (commit moves it on only after backward). */
static void drop_backward(ae_layer *l, const float *x, const float *dy,
                          float *dx, size_t batch, float *scratch)
{
    (void)x;
    (void)scratch;
    if (dx != NULL)
        drop_apply(l, dy, dx, batch);
}

static void drop_destroy(ae_layer *l)
{
    ae__free(l->state);
    l->state = NULL;
}

/* Optional op (commit): the next training pass draws new masks.  Every
 * committed step moves the counter, whether or not this process's share
 * of the batch ran the layer, so data-parallel workers stay together. */
static void drop_commit(ae_layer *l)
{
    drop_state *st = l->state;
    st->step++;
}

/* Optional ops (state_*): the counter, u64. */
static size_t drop_state_size(const ae_layer *l)
{
    (void)l;
    return 8;
}

static void drop_state_save(const ae_layer *l, uint8_t *p)
{
    const drop_state *st = l->state;
    ae__put_u64(p, st->step);
}

static ae_status drop_state_load(ae_layer *l, const uint8_t *p, int commit)
{
    drop_state *st = l->state;
    if (commit)
        st->step = ae__get_u64(p); /* any count is a valid position */
    return AE_OK;
}

const ae__layer_ops ae__dropout_ops = {
    .kind = AE_LAYER_DROPOUT,
    .name = "dropout",
    .has_activation = 0,
    .configure = drop_configure,
    .init = drop_init,
    .forward = drop_forward,
    .backward = drop_backward,
    .destroy = drop_destroy,
    .state_size = drop_state_size,
    .state_save = drop_state_save,
    .state_load = drop_state_load,
    .commit = drop_commit,
};

ae_status ae_model_add_dropout(ae_model *m, ae_part part, float p)
{
    AE_REQUIRE(m);
    int cfg[AE__LAYER_CFG_MAX] = {0};
    memcpy(&cfg[AE__DROP_P], &p, sizeof p);
    return ae__model_append(m, part, &ae__dropout_ops, cfg, AE_ACT_NONE,
                            0.0f);
}

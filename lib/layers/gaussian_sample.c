/* gaussian_sample.c - the VAE's reparameterisation, at the code:
 *   z = mu + exp(logvar / 2) * eps  (passes that sample),  z = mu  (others)
 *   in: 2k values (k means, then k log-variances) -> out: k x 1 x 1
 * eps ~ N(0, I) is drawn by `draw` before each training pass (from the
 * trainer's generator, or the model's own: see "Variational autoencoders"
 * in autoenc.h) and kept for backward.  Backward also adds the gradient
 * of the KL term (nn/kl.c) with the weight the model gives, since the KL
 * term reads the layer's input and no gradient at the code carries it. */
#include <limits.h>
#include <math.h>

#include "nn/kl.h"
#include "nn/model.h"

/* eps of the latest training pass, k per image. */
typedef struct sample_state {
    float *eps;
    size_t cap; /* images eps has room for */
    int sampled; /* the latest forward drew z (else it gave mu) */
} sample_state;

static ae_status sample_configure(ae_layer *l)
{
    /* No configuration: slots that are not 0 (a model file's) are refused,
     * so that a later version may give them a meaning. */
    for (int k = 0; k < AE__LAYER_CFG_MAX; k++)
        if (l->cfg[k] != 0)
            return ae__fail(AE_ERR_INVALID_ARGUMENT,
                            "layer %zu (gaussian_sample): configuration "
                            "slot %d is %d, it takes none (0)", l->index, k,
                            l->cfg[k]);
    const size_t n = ae__shape_size(l->in);
    if (n < 2 || n % 2 != 0)
        return ae__fail(AE_ERR_SHAPE,
                        "layer %zu (gaussian_sample): its input has %zu "
                        "values per image, it needs an even number: k means "
                        "then k log-variances", l->index, n);
    if (n / 2 > (size_t)INT_MAX)
        return ae__fail(AE_ERR_LIMIT, "layer %zu (gaussian_sample): %zu "
                        "latent values are too many", l->index, n / 2);
    l->out = (ae__shape){(int)(n / 2), 1, 1};
    l->n_weights = 0;
    l->n_bias = 0;
    return AE_OK;
}

static void sample_init(ae_layer *l, ae__rng *rng)
{
    (void)l;
    (void)rng;
}

static ae_status sample_reserve(ae_layer *l, size_t batch)
{
    sample_state *st = l->state;
    if (st != NULL && batch <= st->cap)
        return AE_OK;
    const size_t k = ae__shape_size(l->out);
    float *eps = ae__calloc(batch, k * sizeof(float));
    sample_state *fresh = st != NULL ? st : ae__calloc(1, sizeof *fresh);
    if (eps == NULL || fresh == NULL) {
        ae__free(eps);
        if (fresh != st)
            ae__free(fresh);
        return ae__fail(AE_ERR_NO_MEMORY, "layer %zu (gaussian_sample): "
                        "cannot allocate eps for %zu images", l->index,
                        batch);
    }
    ae__free(fresh->eps);
    fresh->eps = eps;
    fresh->cap = batch;
    l->state = fresh;
    return AE_OK;
}

static void sample_draw(ae_layer *l, ae__rng *rng, size_t batch)
{
    sample_state *st = l->state;
    const size_t n = batch * ae__shape_size(l->out);
    for (size_t i = 0; i < n; i++)
        st->eps[i] = (float)ae__rng_normal(rng);
}

static void sample_forward(ae_layer *l, const float *x, float *y,
                           size_t batch, float *scratch)
{
    (void)scratch;
    const size_t k = ae__shape_size(l->out);
    sample_state *st = l->state;
    const int training = ae__model_samples(l->model);
    if (st != NULL) /* forward-only passes need no state */
        st->sampled = training;
    for (size_t b = 0; b < batch; b++) {
        const float *mu = x + b * 2 * k, *lv = mu + k;
        float *z = y + b * k;
        if (training) {
            const float *eps = st->eps + b * k;
            for (size_t j = 0; j < k; j++)
                z[j] = mu[j] + expf(0.5f * lv[j]) * eps[j];
        } else {
            for (size_t j = 0; j < k; j++)
                z[j] = mu[j];
        }
    }
}

/* dz/dmu = 1, dz/dlogvar = eps exp(logvar / 2) / 2; then the KL term. */
static void sample_backward(ae_layer *l, const float *x, const float *dy,
                            float *dx, size_t batch, float *scratch)
{
    (void)scratch;
    if (dx == NULL) /* the first layer: nothing before it to train */
        return;
    const size_t k = ae__shape_size(l->out);
    const sample_state *st = l->state;
    for (size_t b = 0; b < batch; b++) {
        const float *lv = x + b * 2 * k + k, *dz = dy + b * k;
        const float *eps = st->eps + b * k;
        float *dmu = dx + b * 2 * k, *dlv = dmu + k;
        for (size_t j = 0; j < k; j++) {
            dmu[j] = dz[j];
            /* z = mu in a pass that did not sample (evaluation mode) */
            dlv[j] = st->sampled ? dz[j] * eps[j] * 0.5f * expf(0.5f * lv[j])
                                 : 0.0f;
        }
    }
    const float w = ae__model_kl_weight(l->model);
    if (w != 0.0f)
        ae__kl_add_gradient(x, batch, k, w, dx);
}

static void sample_destroy(ae_layer *l)
{
    sample_state *st = l->state;
    if (st != NULL)
        ae__free(st->eps);
    ae__free(st);
    l->state = NULL;
}

const ae__layer_ops ae__gaussian_sample_ops = {
    .kind = AE_LAYER_GAUSSIAN_SAMPLE,
    .name = "gaussian_sample",
    .has_activation = 0,
    .configure = sample_configure,
    .init = sample_init,
    .reserve = sample_reserve,
    .forward = sample_forward,
    .backward = sample_backward,
    .destroy = sample_destroy,
    .draw = sample_draw,
    .at_code = 1,
};

ae_status ae_model_add_gaussian_sample(ae_model *m, ae_part part)
{
    AE_REQUIRE(m);
    int cfg[AE__LAYER_CFG_MAX] = {0};
    return ae__model_append(m, part, &ae__gaussian_sample_ops, cfg,
                            AE_ACT_NONE, 0.0f);
}

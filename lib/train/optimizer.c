/* optimizer.c - Adam and SGD with momentum, step for step as PyTorch's
 * torch.optim.Adam and torch.optim.SGD (weight decay added to the
 * gradient, no dampening, no Nesterov). */
#include <float.h>
#include <math.h>

#include "common/finite.h"
#include "common/parallel.h"
#include "common/vector_clones.h"
#include "nn/model.h"
#include "train/optimizer.h"

typedef enum {
    OPT_ADAM = AE__OPT_ADAM,
    OPT_SGD = AE__OPT_SGD,
    OPT_ADAMW = AE__OPT_ADAMW
} opt_kind;

int ae__optimizer_moments(uint32_t kind)
{
    return kind == OPT_ADAM || kind == OPT_ADAMW ? 2 : kind == OPT_SGD ? 1 : 0;
}

struct ae_optimizer {
    opt_kind kind;
    double lr, beta1, beta2, epsilon, momentum, weight_decay;
    size_t n;       /* parameters bound by the first update, 0 before */
    float *m, *v;   /* Adam moments, or SGD's momentum buffer in m */
    uint64_t steps; /* updates since creation or reset */
};

static ae_status create(ae_optimizer **out, opt_kind kind, float lr)
{
    AE_REQUIRE(out);
    *out = NULL;
    if (!(isfinite(lr) && lr > 0.0f))
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "learning rate %g must be positive and finite",
                        (double)lr);
    ae_optimizer *o;
    AE_ALLOC_OR_FAIL(o, 1, "the optimizer");
    o->kind = kind;
    o->lr = lr;
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->epsilon = 1e-8;
    *out = o;
    return AE_OK;
}

ae_status ae_optimizer_create_adam(ae_optimizer **out, float learning_rate)
{
    return create(out, OPT_ADAM, learning_rate);
}

ae_status ae_optimizer_create_adamw(ae_optimizer **out, float learning_rate,
                                    float weight_decay)
{
    if (!(isfinite(weight_decay) && weight_decay >= 0.0f)) {
        if (out)
            *out = NULL;
        return ae__fail(AE_ERR_INVALID_ARGUMENT, "AdamW weight decay %g "
                        "must be finite and >= 0", (double)weight_decay);
    }
    ae_status s = create(out, OPT_ADAMW, learning_rate);
    if (s == AE_OK)
        (*out)->weight_decay = weight_decay;
    return s;
}

ae_status ae_optimizer_create_sgd(ae_optimizer **out, float learning_rate,
                                  float momentum)
{
    if (!(momentum >= 0.0f && momentum < 1.0f)) {
        if (out)
            *out = NULL;
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "SGD momentum %g is outside [0, 1)", (double)momentum);
    }
    ae_status s = create(out, OPT_SGD, learning_rate);
    if (s == AE_OK)
        (*out)->momentum = momentum;
    return s;
}

static void release_state(ae_optimizer *o)
{
    ae__free(o->m);
    ae__free(o->v);
    o->m = o->v = NULL;
    o->n = 0;
    o->steps = 0;
}

void ae_optimizer_free(ae_optimizer *opt)
{
    if (opt == NULL)
        return;
    release_state(opt);
    ae__free(opt);
}

ae_status ae_optimizer_reset(ae_optimizer *opt)
{
    AE_REQUIRE(opt);
    release_state(opt);
    return AE_OK;
}

static double *param_slot(ae_optimizer *o, ae_optimizer_param p)
{
    switch (p) {
    case AE_OPT_LEARNING_RATE: return &o->lr;
    case AE_OPT_BETA1: return &o->beta1;
    case AE_OPT_BETA2: return &o->beta2;
    case AE_OPT_EPSILON: return &o->epsilon;
    case AE_OPT_MOMENTUM: return &o->momentum;
    case AE_OPT_WEIGHT_DECAY: return &o->weight_decay;
    }
    return NULL;
}

static int param_valid(ae_optimizer_param p, double v)
{
    if (!isfinite(v))
        return 0;
    switch (p) {
    case AE_OPT_LEARNING_RATE:
    case AE_OPT_EPSILON:
        return v > 0.0;
    case AE_OPT_BETA1:
    case AE_OPT_BETA2:
    case AE_OPT_MOMENTUM:
        return v >= 0.0 && v < 1.0;
    case AE_OPT_WEIGHT_DECAY:
        return v >= 0.0;
    }
    return 0;
}

ae_status ae_optimizer_set(ae_optimizer *opt, ae_optimizer_param p,
                           double value)
{
    AE_REQUIRE(opt);
    double *slot = param_slot(opt, p);
    if (slot == NULL)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "unknown optimizer parameter %d", (int)p);
    if (!param_valid(p, value))
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "optimizer parameter %d: %g is out of range",
                        (int)p, value);
    *slot = value;
    return AE_OK;
}

ae_status ae_optimizer_get(const ae_optimizer *opt, ae_optimizer_param p,
                           double *value)
{
    AE_REQUIRE(opt);
    AE_REQUIRE(value);
    double *slot = param_slot((ae_optimizer *)opt, p);
    if (slot == NULL)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "unknown optimizer parameter %d", (int)p);
    *value = *slot;
    return AE_OK;
}

static ae_status bind(ae_optimizer *o, size_t n)
{
    if (o->n == n)
        return AE_OK;
    if (o->n != 0)
        return ae__fail(AE_ERR_SHAPE,
                        "optimizer holds state for %zu parameters, the model "
                        "has %zu (call ae_optimizer_reset to reuse it)",
                        o->n, n);
    float *m = ae__calloc(n, sizeof(float));
    const int two = ae__optimizer_moments(o->kind) == 2;
    float *v = two ? ae__calloc(n, sizeof(float)) : NULL;
    if (m == NULL || (two && v == NULL)) {
        ae__free(m);
        ae__free(v);
        return ae__fail(AE_ERR_NO_MEMORY,
                        "cannot allocate optimizer state for %zu parameters",
                        n);
    }
    o->m = m;
    o->v = v;
    o->n = n;
    return AE_OK;
}

/* One update, shared by the threads by parameter range: every parameter
 * gets the same arithmetic whichever thread updates it, and whichever
 * range a call covers (ae__optimizer_apply's ranges give the bits of one
 * call over all). */
typedef ae__optimizer_step update_job;

/* A moment (or SGD's momentum buffer) below FLT_MIN in magnitude is kept
 * as 0.  The first moment of
 * a parameter whose gradient stays 0 (a unit ReLU has switched off)
 * decays by beta1 a step and goes subnormal after about 700 steps; from
 * then on every step's arithmetic on it takes a microcode assist.  On
 * experiment 2's 784-h-784 models, one 60,000-image epoch (bench_train
 * --only shallow, alternating): h = 64 0.63-0.67 s -> 0.49-0.52 s, h = 256
 * 1.66-1.69 s -> 1.18-1.26 s; with the processor told to flush subnormals
 * (MXCSR, which a library must not set for its caller) h = 64 took
 * 0.45-0.49 s.  The update such a moment gives, about lr 1e-38 / eps, is
 * under half an ulp of any weight above 1e-26 in magnitude, so the weights
 * come out as PyTorch's, which keeps the subnormal moments. */
static inline float normal_or_zero(float x)
{
    return fabsf(x) < FLT_MIN ? 0.0f : x;
}

/* One fused pass over parameters, gradients and moments:
 * w -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps), as PyTorch orders it. */
AE__VECTOR_CLONES
static void adam_range(const update_job *j, size_t first, size_t last)
{
    const float b1 = j->b1, b2 = j->b2, wd = j->wd, eps = j->eps;
    const float step = j->step, inv_sqrt_bc2 = j->inv_sqrt_bc2;
    float *restrict w = j->w, *restrict m = j->m, *restrict v = j->v;
    const float *restrict grad = j->grad;
    for (size_t i = first; i < last; i++) {
        float g = grad[i] + wd * w[i];
        m[i] = normal_or_zero(b1 * m[i] + (1.0f - b1) * g);
        v[i] = normal_or_zero(b2 * v[i] + (1.0f - b2) * g * g);
        w[i] -= step * m[i] / (sqrtf(v[i]) * inv_sqrt_bc2 + eps);
    }
}

/* AdamW (torch.optim.AdamW): the weight decay is decoupled from the
 * gradient, w *= 1 - lr wd, then Adam's step on the gradient alone. */
AE__VECTOR_CLONES
static void adamw_range(const update_job *j, size_t first, size_t last)
{
    const float b1 = j->b1, b2 = j->b2, eps = j->eps, decay = j->decay;
    const float step = j->step, inv_sqrt_bc2 = j->inv_sqrt_bc2;
    float *restrict w = j->w, *restrict m = j->m, *restrict v = j->v;
    const float *restrict grad = j->grad;
    for (size_t i = first; i < last; i++) {
        float g = grad[i];
        w[i] *= decay;
        m[i] = normal_or_zero(b1 * m[i] + (1.0f - b1) * g);
        v[i] = normal_or_zero(b2 * v[i] + (1.0f - b2) * g * g);
        w[i] -= step * m[i] / (sqrtf(v[i]) * inv_sqrt_bc2 + eps);
    }
}

/* The buffer starts at zero, so the first step sets it to the gradient
 * itself, as PyTorch does. */
AE__VECTOR_CLONES
static void sgd_range(const update_job *j, size_t first, size_t last)
{
    const float lr = j->lr, mu = j->mu, wd = j->wd;
    float *restrict w = j->w, *restrict buf = j->m;
    const float *restrict grad = j->grad;
    if (mu == 0.0f) {
        for (size_t i = first; i < last; i++)
            w[i] -= lr * (grad[i] + wd * w[i]);
        return;
    }
    for (size_t i = first; i < last; i++) {
        float g = grad[i] + wd * w[i];
        buf[i] = normal_or_zero(mu * buf[i] + g); /* as Adam's moments */
        w[i] -= lr * buf[i];
    }
}

/* An update in a pass of its own (the trainer's step when it cannot fuse
 * the update into the backward pass, model.c): the threads take the
 * parameters in chunks dealt round-robin rather than one contiguous range
 * each.  The gradients the backward pass wrote last
 * (the first layers') are still in cache when the update runs, those it
 * wrote first are not; split in two halves, one thread got all the cold
 * ones and took twice as long as the other. */
enum { UPDATE_CHUNK = 1 << 14 };

/* Parameters per thread below which one thread updates them all: a
 * thread's wake-up costs about what updating this many does. */
#define UPDATE_GRAIN ((size_t)1 << 15)

typedef struct dealt_job {
    const update_job *update;
    size_t n, lanes;
} dealt_job;

/* Lanes [first, last): lane k takes chunks k, k + lanes, k + 2 lanes... */
static void dealt_lanes(void *ctx, size_t first, size_t last, int part)
{
    (void)part;
    const dealt_job *d = ctx;
    for (size_t lane = first; lane < last; lane++)
        for (size_t at = lane * UPDATE_CHUNK; at < d->n;
             at += d->lanes * UPDATE_CHUNK)
            d->update->range(d->update, at,
                             d->n - at < UPDATE_CHUNK ? d->n
                                                      : at + UPDATE_CHUNK);
}

static void update_all(const update_job *j, size_t n)
{
    size_t lanes = n / UPDATE_GRAIN;
    if (lanes > (size_t)ae__thread_count())
        lanes = (size_t)ae__thread_count();
    if (lanes < 2) {
        j->range(j, 0, n);
        return;
    }
    dealt_job d = {j, n, lanes};
    ae__parallel_for(lanes, 1, 0, dealt_lanes, &d);
}

/* The step's constants at rate lr, for the o->steps-th step. */
static void prepare(const ae_optimizer *o, float *w, const float *grad,
                    double lr, update_job *j)
{
    *j = (update_job){0};
    j->w = w;
    j->m = o->m;
    j->v = o->v;
    j->grad = grad;
    j->wd = (float)o->weight_decay;
    if (o->kind == OPT_ADAM || o->kind == OPT_ADAMW) {
        double t = (double)o->steps;
        double bc1 = 1.0 - pow(o->beta1, t), bc2 = 1.0 - pow(o->beta2, t);
        j->b1 = (float)o->beta1;
        j->b2 = (float)o->beta2;
        j->eps = (float)o->epsilon;
        j->step = (float)(lr / bc1);
        j->inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2));
        j->decay = (float)(1.0 - lr * o->weight_decay);
        j->range = o->kind == OPT_ADAMW ? adamw_range : adam_range;
    } else {
        j->lr = (float)lr;
        j->mu = (float)o->momentum;
        j->range = sgd_range;
    }
}

ae_status ae__optimizer_update(ae_optimizer *opt, float *params,
                               const float *grads, size_t n)
{
    return ae__optimizer_update_lr(opt, params, grads, n, opt->lr);
}

ae_status ae__optimizer_update_lr(ae_optimizer *opt, float *params,
                                  const float *grads, size_t n, double lr)
{
    if (n == 0)
        return bind(opt, n); /* a model with no parameters takes no step:
                                counting one would leave steps without
                                moments, which a checkpoint rightly
                                refuses as inconsistent */
    update_job j;
    ae_status s = ae__optimizer_begin_step(opt, params, grads, n, lr, &j);
    if (s == AE_OK)
        update_all(&j, n);
    return s;
}

ae_status ae__optimizer_begin_step(ae_optimizer *opt, float *params,
                                   const float *grads, size_t n, double lr,
                                   ae__optimizer_step *step)
{
    if (n == 0) /* as ae__optimizer_update_lr: no step without moments */
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "a step of no parameters cannot be begun");
    ae_status s = bind(opt, n);
    if (s != AE_OK)
        return s;
    opt->steps++;
    prepare(opt, params, grads, lr, step);
    return AE_OK;
}

void ae__optimizer_apply(const void *step, float *params, size_t n)
{
    const update_job *j = step;
    const size_t first = (size_t)(params - j->w);
    j->range(j, first, first + n);
}

/* ---- checkpoints -------------------------------------------------------- */

void ae__optimizer_export(const ae_optimizer *o, ae__opt_state *st)
{
    st->kind = (uint32_t)o->kind;
    for (int p = 0; p < AE__OPT_PARAMS; p++)
        st->hp[p] = *param_slot((ae_optimizer *)o, (ae_optimizer_param)p);
    st->steps = o->steps;
    st->n = o->n;
    st->m = o->m;
    st->v = o->v;
}

static const char *kind_name(uint32_t kind)
{
    return kind == OPT_ADAM    ? "Adam"
           : kind == OPT_SGD   ? "SGD"
           : kind == OPT_ADAMW ? "AdamW"
                               : "unknown";
}

ae_status ae__optimizer_check_state(const ae_optimizer *o,
                                    const ae__opt_state *st)
{
    if (ae__optimizer_moments(st->kind) == 0)
        return ae__fail(AE_ERR_FORMAT, "optimizer kind %lu is unknown",
                        (unsigned long)st->kind);
    if (st->kind != (uint32_t)o->kind)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "the checkpoint holds %s state, the trainer's "
                        "optimizer is %s", kind_name(st->kind),
                        kind_name((uint32_t)o->kind));
    for (int p = 0; p < AE__OPT_PARAMS; p++)
        if (!param_valid((ae_optimizer_param)p, st->hp[p]))
            return ae__fail(AE_ERR_FORMAT,
                            "optimizer parameter %d: %g is out of range", p,
                            st->hp[p]);
    if (st->n == 0 && st->steps != 0)
        return ae__fail(AE_ERR_FORMAT, "optimizer: %llu steps but no "
                        "moments", (unsigned long long)st->steps);
    return AE_OK;
}

void ae__optimizer_adopt(ae_optimizer *o, const ae__opt_state *st)
{
    release_state(o);
    for (int p = 0; p < AE__OPT_PARAMS; p++)
        *param_slot(o, (ae_optimizer_param)p) = st->hp[p];
    o->steps = st->steps;
    o->n = st->n;
    o->m = st->m;
    o->v = st->v;
}

ae_status ae_optimizer_step(ae_optimizer *opt, ae_model *m)
{
    AE_REQUIRE(opt);
    AE_REQUIRE(m);
    size_t n = ae_model_param_count(m);
    /* Checked before the update, so that a blow-up leaves the weights as
     * they were (as ae_trainer_step does). */
    if (!ae__all_finite(ae__model_grads(m), n))
        return ae__fail(AE_ERR_NOT_FINITE, "ae_optimizer_step: a gradient "
                        "is NaN or infinite");
    return ae__optimizer_update(opt, ae__model_params(m), ae__model_grads(m),
                                n);
}

/* maxpool2d.c - 2-D max pooling without padding, as PyTorch's
 * nn.MaxPool2d:
 *   y[c,i,j] = max_{u,v < k} x[c, s*i+u, s*j+v]
 *   in: C x H x W -> out: C x H' x W', H' = floor((H - k)/s) + 1
 * k the kernel side, s the stride.  The position of each maximum is kept
 * for the backward pass and for a max-unpooling layer of the decoder. */
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "common/parallel.h"
#include "common/vector_clones.h"
#include "layers/image_layout.h"
#include "layers/layer_config.h"
#include "nn/model.h"

#ifdef AE__HAVE_VECTOR_CLONES
#include <immintrin.h>
#define AE_POOL_AVX2 1
#endif

typedef struct pool_state {
    int32_t *argmax;  /* cap x output size, indices within the input plane */
    size_t cap;       /* images argmax has room for */
    size_t recorded;  /* images the latest call's passes recorded */
} pool_state;

static ae_status pool_configure(ae_layer *l)
{
    const int k = l->cfg[AE__POOL_KERNEL], s = l->cfg[AE__POOL_STRIDE];
    if (k < 1 || s < 1)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "layer %zu (maxpool2d): kernel %d, stride %d; each "
                        "must be at least 1", l->index, k, s);
    if (k > l->in.h || k > l->in.w)
        return ae__fail(AE_ERR_SHAPE,
                        "layer %zu (maxpool2d): kernel %d x %d is bigger "
                        "than the input %d x %d x %d",
                        l->index, k, k, l->in.c, l->in.h, l->in.w);
    l->out = (ae__shape){l->in.c, (l->in.h - k) / s + 1,
                         (l->in.w - k) / s + 1};
    l->n_weights = 0;
    l->n_bias = 0;
    return AE_OK;
}

static void pool_init(ae_layer *l, ae__rng *rng)
{
    (void)l;
    (void)rng;
}

/* Optional op (scratch, asked for before the passes): one plane of
 * positions per thread, for a forward pass without room to record them
 * (pool_forward). */
static size_t pool_scratch(const ae_layer *l, size_t batch)
{
    (void)batch;
    return (size_t)ae__thread_count() * (size_t)l->out.h * (size_t)l->out.w;
}

/* Optional op (reserve, before the passes): room for the argmax of
 * `batch` images.  Positions already recorded are kept, so an unpooling
 * layer still finds them after the batch grew. */
static ae_status pool_reserve(ae_layer *l, size_t batch)
{
    pool_state *st = l->state;
    if (st != NULL && st->cap >= batch)
        return AE_OK;
    const size_t out = ae__shape_size(l->out);
    if (st == NULL) {
        st = ae__calloc(1, sizeof *st);
        if (st == NULL)
            return ae__fail(AE_ERR_NO_MEMORY,
                            "layer %zu (maxpool2d): cannot allocate its "
                            "state", l->index);
        l->state = st;
    }
    int32_t *argmax = ae__calloc(batch, out * sizeof(int32_t));
    if (argmax == NULL)
        return ae__fail(AE_ERR_NO_MEMORY,
                        "layer %zu (maxpool2d): cannot allocate argmax "
                        "positions for %zu images", l->index, batch);
    if (st->recorded > 0)
        memcpy(argmax, st->argmax, st->recorded * out * sizeof(int32_t));
    ae__free(st->argmax);
    st->argmax = argmax;
    st->cap = batch;
    return AE_OK;
}

/* Output (i, j) of a plane: its window's largest value and where it is,
 * the first in scan order among equals.  NaN wins, as in PyTorch, so it
 * is not hidden.  Selects, not branches: on image data the comparison is
 * a coin toss the predictor loses. */
static inline __attribute__((always_inline)) float
pool_window(const float *xp, int k, int s, int w, int i, int j, int *at)
{
    int best = i * s * w + j * s;
    float v = xp[best];
    for (int kh = 0; kh < k; kh++) {
        const int row = (i * s + kh) * w + j * s;
        for (int kw = 0; kw < k; kw++) {
            const float u = xp[row + kw];
            const int take = (u > v) | (u != u);
            v = take ? u : v;
            best = take ? row + kw : best;
        }
    }
    *at = best;
    return v;
}

/* One plane; always inlined so that the common 2x2 / 2 case below gets a
 * version with constant kernel and stride, fully unrolled. */
static inline __attribute__((always_inline)) void
pool_plane(const float *xp, float *yp, int32_t *ap, int k, int s, int w,
           int oh, int ow)
{
    for (int i = 0; i < oh; i++)
        for (int j = 0; j < ow; j++) {
            int best;
            yp[i * ow + j] = pool_window(xp, k, s, w, i, j, &best);
            ap[i * ow + j] = best;
        }
}

#ifdef __SSE2__
/* u where take is set, v elsewhere (take all ones or all zeros a lane). */
static inline __m128 select_ps(__m128 take, __m128 u, __m128 v)
{
    return _mm_or_ps(_mm_and_ps(take, u), _mm_andnot_ps(take, v));
}

/* Outputs j .. j + 3 of output row i in the 2 x 2, stride-2 case, in SSE
 * lanes: each lane does pool_window's comparisons in its order (top
 * left, top right, bottom left, bottom right; the larger value or a NaN
 * takes over), so values and positions are the scalar code's.  ar NULL:
 * the values alone. */
static inline __attribute__((always_inline)) void
pool4_2x2(const float *r0, const float *r1, float *yr, int32_t *ar, int w,
          int i, int j)
{
    const __m128 t0 = _mm_loadu_ps(r0 + 2 * j), t1 = _mm_loadu_ps(r0 + 2 * j + 4),
                 b0 = _mm_loadu_ps(r1 + 2 * j), b1 = _mm_loadu_ps(r1 + 2 * j + 4);
    const __m128 cand[3] = {_mm_shuffle_ps(t0, t1, _MM_SHUFFLE(3, 1, 3, 1)),
                            _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(2, 0, 2, 0)),
                            _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(3, 1, 3, 1))};
    const int offset[3] = {1, w, w + 1};
    __m128 v = _mm_shuffle_ps(t0, t1, _MM_SHUFFLE(2, 0, 2, 0));
    const __m128i at = _mm_add_epi32(_mm_set1_epi32(2 * i * w + 2 * j),
                                     _mm_setr_epi32(0, 2, 4, 6));
    __m128 best = _mm_castsi128_ps(at);
    for (int q = 0; q < 3; q++) {
        const __m128 u = cand[q];
        const __m128 take =
            _mm_or_ps(_mm_cmpgt_ps(u, v), _mm_cmpunord_ps(u, u));
        v = select_ps(take, u, v);
        if (ar != NULL)
            best = select_ps(take,
                             _mm_castsi128_ps(_mm_add_epi32(
                                 at, _mm_set1_epi32(offset[q]))),
                             best);
    }
    _mm_storeu_ps(yr + j, v);
    if (ar != NULL)
        _mm_storeu_si128((__m128i *)(void *)(ar + j), _mm_castps_si128(best));
}

/* The 2 x 2, stride-2 case, four outputs to a step (pool4_2x2).  A row
 * whose width is not a multiple of 4 ends with a step that overlaps the
 * one before it and writes the same values again, rather than with
 * scalar outputs (at 7 x 7, 3 in 7).  ap NULL: the values alone, for a
 * forward pass that keeps no positions.  Experiment 7's two pooling
 * layers on one image, hot in cache, one thread: 9.9 us by pool_plane,
 * 7.9 by this, 5.0 without positions. */
static inline __attribute__((always_inline)) void
pool_plane_2x2(const float *xp, float *yp, int32_t *ap, int w, int oh, int ow)
{
    for (int i = 0; i < oh; i++) {
        const float *r0 = xp + (size_t)(2 * i) * (size_t)w, *r1 = r0 + w;
        float *yr = yp + (size_t)i * (size_t)ow;
        int32_t *ar = ap != NULL ? ap + (size_t)i * (size_t)ow : NULL;
        if (ow < 4) {
            for (int j = 0; j < ow; j++) {
                int best;
                yr[j] = pool_window(xp, 2, 2, w, i, j, &best);
                if (ar != NULL)
                    ar[j] = best;
            }
            continue;
        }
        for (int j = 0; j < ow; j += 4)
            pool4_2x2(r0, r1, yr, ar, w, i, j + 4 <= ow ? j : ow - 4);
    }
}
#endif

#ifdef AE_POOL_AVX2
/* pool4_2x2's comparisons eight outputs at a time, for processors with
 * AVX2.  The pass is bound by its instructions (shuffles, compares,
 * selects), not its reads: in SSE the forward pooling took 4.3% of the
 * samples of experiment 7's epoch, with this 2.7% (perf, 10,000 images,
 * two threads), its 14 x 14 outputs in two steps of eight.  Each lane
 * compares as the scalar code does, so values and positions are the
 * same. */
__attribute__((target("avx2"))) static inline void
pool8_2x2(const float *r0, const float *r1, float *yr, int32_t *ar, int w,
          int i, int j)
{
    /* Even and odd columns of 16: shuffle within the 128-bit halves, then
     * put the 64-bit quarters in order. */
#define AE_POOL_EVEN(a, b)                                                     \
    _mm256_castpd_ps(_mm256_permute4x64_pd(                                    \
        _mm256_castps_pd(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0))),    \
        _MM_SHUFFLE(3, 1, 2, 0)))
#define AE_POOL_ODD(a, b)                                                      \
    _mm256_castpd_ps(_mm256_permute4x64_pd(                                    \
        _mm256_castps_pd(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1))),    \
        _MM_SHUFFLE(3, 1, 2, 0)))
    const __m256 t0 = _mm256_loadu_ps(r0 + 2 * j),
                 t1 = _mm256_loadu_ps(r0 + 2 * j + 8),
                 b0 = _mm256_loadu_ps(r1 + 2 * j),
                 b1 = _mm256_loadu_ps(r1 + 2 * j + 8);
    const __m256 cand[3] = {AE_POOL_ODD(t0, t1), AE_POOL_EVEN(b0, b1),
                            AE_POOL_ODD(b0, b1)};
    __m256 v = AE_POOL_EVEN(t0, t1);
#undef AE_POOL_EVEN
#undef AE_POOL_ODD
    const int offset[3] = {1, w, w + 1};
    const __m256i at =
        _mm256_add_epi32(_mm256_set1_epi32(2 * i * w + 2 * j),
                         _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14));
    __m256i best = at;
    for (int q = 0; q < 3; q++) {
        const __m256 u = cand[q];
        const __m256 take = _mm256_or_ps(_mm256_cmp_ps(u, v, _CMP_GT_OQ),
                                         _mm256_cmp_ps(u, u, _CMP_UNORD_Q));
        v = _mm256_blendv_ps(v, u, take);
        if (ar != NULL)
            best = _mm256_castps_si256(_mm256_blendv_ps(
                _mm256_castsi256_ps(best),
                _mm256_castsi256_ps(
                    _mm256_add_epi32(at, _mm256_set1_epi32(offset[q]))),
                take));
    }
    _mm256_storeu_ps(yr + j, v);
    if (ar != NULL)
        _mm256_storeu_si256((__m256i *)(void *)(ar + j), best);
}

/* pool_plane_2x2 by eight outputs a step where a row has eight, the last
 * step overlapping the one before it as there. */
__attribute__((target("avx2"))) static void
pool_plane_2x2_avx2(const float *xp, float *yp, int32_t *ap, int w, int oh,
                    int ow)
{
    for (int i = 0; i < oh; i++) {
        const float *r0 = xp + (size_t)(2 * i) * (size_t)w, *r1 = r0 + w;
        float *yr = yp + (size_t)i * (size_t)ow;
        int32_t *ar = ap != NULL ? ap + (size_t)i * (size_t)ow : NULL;
        for (int j = 0; j < ow; j += 8)
            pool8_2x2(r0, r1, yr, ar, w, i, j + 8 <= ow ? j : ow - 8);
    }
}

static int has_avx2(void)
{
    __builtin_cpu_init(); /* once; later calls return at once */
    return __builtin_cpu_supports("avx2");
}
#endif

typedef struct pool_job {
    const ae_layer *l;
    const float *x, *dy;
    float *y, *dx;
    int32_t *argmax; /* NULL: positions go to per-thread scratch planes */
    float *scratch;
} pool_job;

/* Planes [first, last) of a batch (images x channels). */
static void forward_planes(void *ctx, size_t first, size_t last, int part)
{
    const pool_job *j = ctx;
    const ae_layer *l = j->l;
    const int k = l->cfg[AE__POOL_KERNEL], s = l->cfg[AE__POOL_STRIDE];
    const int w = l->in.w, oh = l->out.h, ow = l->out.w;
    const size_t in_plane = (size_t)l->in.h * (size_t)w;
    const size_t out_plane = (size_t)oh * (size_t)ow;
    for (size_t q = first; q < last; q++) {
        const float *xp = j->x + q * in_plane;
        float *yp = j->y + q * out_plane;
        int32_t *ap = j->argmax != NULL
                          ? j->argmax + q * out_plane
                          : (int32_t *)j->scratch + (size_t)part * out_plane;
#ifdef AE_POOL_AVX2
        if (k == 2 && s == 2 && ow >= 8 && has_avx2())
            pool_plane_2x2_avx2(xp, yp, j->argmax != NULL ? ap : NULL, w, oh,
                                ow);
        else
#endif
#ifdef __SSE2__
        if (k == 2 && s == 2 && j->argmax == NULL) /* positions not kept */
            pool_plane_2x2(xp, yp, NULL, w, oh, ow);
        else if (k == 2 && s == 2)
            pool_plane_2x2(xp, yp, ap, w, oh, ow);
        else
#else
        if (k == 2 && s == 2)
            pool_plane(xp, yp, ap, 2, 2, w, oh, ow);
        else
#endif
            pool_plane(xp, yp, ap, k, s, w, oh, ow);
    }
}

static void pool_forward(ae_layer *l, const float *x, float *y, size_t batch,
                         float *scratch)
{
    pool_state *st = l->state;
    /* Positions are kept for images first .. first + batch - 1 of the
     * call (a forward-only call runs in passes).  Training reserves before
     * its passes, and so does a forward-only call when an unpooling layer
     * reads the positions; otherwise they go to the scratch planes and are
     * not kept. */
    const size_t first = ae__model_pass_first(l->model);
    const int record = st != NULL && st->cap >= first + batch;
    const size_t out = ae__shape_size(l->out);
    pool_job j = {l, x, NULL, y, NULL,
                  record ? st->argmax + first * out : NULL, scratch};
    ae__parallel_for(batch * (size_t)l->in.c,
                     ae__plane_grain(ae__shape_size(l->in) / (size_t)l->in.c),
                     0, forward_planes, &j);
    if (record)
        st->recorded = first + batch;
}

/* dx[argmax(o)] += dy[o]: overlapping windows (stride < kernel) may route
 * several outputs to one input; a plane is one thread's, in order. */
static void backward_planes(void *ctx, size_t first, size_t last, int part)
{
    (void)part;
    const pool_job *j = ctx;
    const ae_layer *l = j->l;
    const size_t in_plane = (size_t)l->in.h * (size_t)l->in.w;
    const size_t out_plane = (size_t)l->out.h * (size_t)l->out.w;
    for (size_t q = first; q < last; q++) {
        const int32_t *ap = j->argmax + q * out_plane;
        const float *g = j->dy + q * out_plane;
        float *d = j->dx + q * in_plane;
        memset(d, 0, in_plane * sizeof(float));
        for (size_t o = 0; o < out_plane; o++)
            d[ap[o]] += g[o];
    }
}

static void pool_backward(ae_layer *l, const float *x, const float *dy,
                          float *dx, size_t batch, float *scratch)
{
    (void)x;
    (void)scratch;
    const pool_state *st = l->state;
    if (dx == NULL)
        return;
    if (st == NULL || st->recorded < batch) {
        /* no forward pass ran: nothing to route */
        memset(dx, 0, batch * ae__shape_size(l->in) * sizeof(float));
        return;
    }
    pool_job j = {l, NULL, dy, NULL, dx, st->argmax, NULL};
    ae__parallel_for(batch * (size_t)l->in.c,
                     ae__plane_grain(ae__shape_size(l->in) / (size_t)l->in.c),
                     0, backward_planes, &j);
}

/* Optional op (destroy): free the state and its argmax positions. */
static void pool_destroy(ae_layer *l)
{
    pool_state *st = l->state;
    if (st != NULL)
        ae__free(st->argmax);
    ae__free(st);
    l->state = NULL;
}

/* Not an op: used by maxunpool2d.c to read its partner's positions
 * (declared, with what it returns, in image_layout.h). */
const int32_t *ae__maxpool2d_argmax(const ae_layer *pool, size_t *recorded)
{
    const pool_state *st = pool->state;
    if (st == NULL || st->recorded == 0) {
        *recorded = 0;
        return NULL;
    }
    *recorded = st->recorded;
    return st->argmax;
}

const ae__layer_ops ae__maxpool2d_ops = {
    .kind = AE_LAYER_MAXPOOL2D,
    .name = "maxpool2d",
    .has_activation = 0,
    .configure = pool_configure,
    .init = pool_init,
    .scratch = pool_scratch,
    .reserve = pool_reserve,
    .forward = pool_forward,
    .backward = pool_backward,
    .destroy = pool_destroy,
};

ae_status ae_model_add_maxpool2d(ae_model *m, ae_part part, int kernel,
                                 int stride)
{
    AE_REQUIRE(m);
    int cfg[AE__LAYER_CFG_MAX] = {0};
    cfg[AE__POOL_KERNEL] = kernel;
    cfg[AE__POOL_STRIDE] = stride;
    return ae__model_append(m, part, &ae__maxpool2d_ops, cfg, AE_ACT_NONE,
                            0.0f);
}

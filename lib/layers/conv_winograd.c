/* conv_winograd.c - 3x3, stride-1 convolutions by Winograd's minimal
 * filtering F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms for
 * Convolutional Neural Networks", 2016), in all three passes.
 *
 * The math.  Cut the output plane into tiles of 2 x 2; tile (i, j) reads
 * the 4 x 4 input window d at rows 2i - pad .. 2i - pad + 3 and the same
 * columns (0 outside the input).  For a 3 x 3 kernel g,
 *   Y = A^T [ (G g G^T) (.) (B^T d B) ] A        ((.): elementwise)
 * with
 *   B^T = | 1  0 -1  0 |   G = | 1    0    0  |   A^T = | 1  1  1  0 |
 *         | 0  1  1  0 |       | 1/2  1/2  1/2|         | 0  1 -1 -1 |
 *         | 0 -1  1  0 |       | 1/2 -1/2  1/2|
 *         | 0  1  0 -1 |       | 0    0    1  |
 * is exactly the 2 x 2 outputs of the cross-correlation: 16 products per
 * tile and channel pair instead of 36.  Summed over input channels, each of
 * the 16 positions xi of the 4 x 4 transformed tile is a matrix product
 * over the tiles T of a chunk of images:
 *   U[xi] = (G g G^T)[xi]      k x c   (weights, once per pass)
 *   V[xi] = (B^T d B)[xi]      c x T   (input, per chunk)
 *   M[xi] = U[xi] V[xi]        k x T   (16 sgemm calls)
 *   y     = A^T M A per tile, + bias
 * The backward pass is the exact adjoint of those steps, so the gradients
 * are those of the function the forward pass computes:
 *   dM[xi] = (A dY A^T)[xi]           per tile of the output gradient
 *   dU[xi] = dM[xi] V[xi]^T           16 sgemm calls, k x c
 *   dg     = G^T dU G                 back to the 3 x 3 kernel
 *   dV[xi] = U[xi]^T dM[xi]           16 sgemm calls, c x T
 *   dx    += B dV B^T per tile, windows overlapping by 2
 * A transposed convolution at stride 1 is the convolution of its input by
 * g[o][ci][u][v] = W[ci][o][2-u][2-v] at padding 2 - p, which is how it
 * comes here (conv_winograd.h).
 *
 * Accuracy.  The transforms' coefficients are 0, +-1 and +-1/2, so the
 * products see at most a few extra roundings: on the experiments' layer
 * shapes outputs and gradients agree with the direct path to about 1e-6
 * relative (tests/test_conv_winograd.c bounds them at 1e-5 of the largest
 * value, and checks the gradients by finite differences through this
 * path).  F(4x4, 3x3) saves more products (36 per 16 outputs instead of
 * 64) but its transforms carry factors up to 8 and lose about two more
 * digits; it was not taken.
 *
 * Where it is used (ae__winograd_suits): both channel counts at least
 * AE__WINOGRAD_MIN_CHANNELS.  A layer with one input channel makes each
 * product a rank-1 update, and one with one output channel a
 * matrix-vector product, where the direct paths (columns, taps) already
 * run a single well-shaped sgemm; the transforms then cost more than the
 * products they save (measured in docs/PERFORMANCE.md). */
#include <string.h>

#include <cblas.h>

#include "layers/conv_winograd.h"
#include "common/parallel.h"
#include "layers/conv_gemm.h"
#include "layers/image_layout.h"

enum { XI = 16 };

/* The smaller channel count at which this path is taken. */
#define AE__WINOGRAD_MIN_CHANNELS 8

/* Chunk budget in floats (2 MB): the transformed input and output of a
 * chunk.  Larger than the direct paths' 512 KB because each of the 16
 * products has only T = tiles x images columns: at 14 x 14 (49 tiles) the
 * direct budget would give one image a chunk and products of 49 columns,
 * which sgemm runs far below its rate. */
#define CHUNK_FLOATS ((size_t)1 << 19)

static int allowed = 1;

void ae__winograd_allow(int on) { allowed = on != 0; }

int ae__winograd_suits(int in_c, int out_c, int kernel, int stride)
{
    return allowed && kernel == 3 && stride == 1 &&
           in_c >= AE__WINOGRAD_MIN_CHANNELS &&
           out_c >= AE__WINOGRAD_MIN_CHANNELS;
}

static size_t tiles_of(const ae__winograd *f)
{
    return (size_t)f->th * (size_t)f->tw;
}

static size_t per_image(const ae__winograd *f)
{
    return (size_t)XI * (size_t)(f->c + f->k) * tiles_of(f);
}

static size_t u_floats(const ae__winograd *f)
{
    return (size_t)XI * (size_t)f->k * (size_t)f->c;
}

/* ---- the 1-D transforms ------------------------------------------------ */

/* B^T x and its adjoint B y. */
static inline void bt4(const float x[4], float o[4])
{
    o[0] = x[0] - x[2];
    o[1] = x[1] + x[2];
    o[2] = x[2] - x[1];
    o[3] = x[1] - x[3];
}

static inline void b4(const float y[4], float o[4])
{
    o[0] = y[0];
    o[1] = y[1] - y[2] + y[3];
    o[2] = -y[0] + y[1] + y[2];
    o[3] = -y[3];
}

/* A^T m (4 -> 2) and its adjoint A q (2 -> 4). */
static inline void at4(const float m[4], float o[2])
{
    o[0] = m[0] + m[1] + m[2];
    o[1] = m[1] - m[2] - m[3];
}

static inline void a2(const float q[2], float o[4])
{
    o[0] = q[0];
    o[1] = q[0] + q[1];
    o[2] = q[0] - q[1];
    o[3] = -q[1];
}

/* G g (3 -> 4) and its adjoint G^T y (4 -> 3). */
static inline void g3(const float g[3], float o[4])
{
    o[0] = g[0];
    o[1] = 0.5f * (g[0] + g[1] + g[2]);
    o[2] = 0.5f * (g[0] - g[1] + g[2]);
    o[3] = g[2];
}

static inline void gt4(const float y[4], float o[3])
{
    o[0] = y[0] + 0.5f * (y[1] + y[2]);
    o[1] = 0.5f * (y[1] - y[2]);
    o[2] = 0.5f * (y[1] + y[2]) + y[3];
}

/* ---- the weights --------------------------------------------------------- */

/* The 3 x 3 kernel g[u][v] from output channel o to input channel ci. */
static void kernel_of(const ae__winograd *f, int o, int ci, float g[9])
{
    if (!f->transposed) {
        memcpy(g, f->weights + ((size_t)o * f->c + ci) * 9, 9 * sizeof(float));
        return;
    }
    const float *w = f->weights + ((size_t)ci * f->k + o) * 9;
    for (int t = 0; t < 9; t++)
        g[t] = w[8 - t];
}

/* U[xi][o][ci] = (G g G^T)[xi]. */
static void transform_weights(const ae__winograd *f, float *u)
{
    const size_t kc = (size_t)f->k * (size_t)f->c;
    for (int o = 0; o < f->k; o++)
        for (int ci = 0; ci < f->c; ci++) {
            float g[9], q[4][3], col[3], r[4];
            kernel_of(f, o, ci, g);
            for (int v = 0; v < 3; v++) { /* columns: G over u */
                const float gc[3] = {g[v], g[3 + v], g[6 + v]};
                g3(gc, r);
                for (int a = 0; a < 4; a++)
                    q[a][v] = r[a];
            }
            for (int a = 0; a < 4; a++) { /* rows: G over v */
                col[0] = q[a][0];
                col[1] = q[a][1];
                col[2] = q[a][2];
                g3(col, r);
                for (int b = 0; b < 4; b++)
                    u[(size_t)(a * 4 + b) * kc + (size_t)o * f->c + ci] = r[b];
            }
        }
}

/* dw = beta dw + G^T dU G, written in the layer's weight order. */
static void gradient_to_weights(const ae__winograd *f, const float *du,
                                float *dw, float beta)
{
    const size_t kc = (size_t)f->k * (size_t)f->c;
    for (int o = 0; o < f->k; o++)
        for (int ci = 0; ci < f->c; ci++) {
            float q[4][3], y[4], r[3], g[9];
            for (int a = 0; a < 4; a++) { /* rows: G^T over the columns */
                for (int b = 0; b < 4; b++)
                    y[b] = du[(size_t)(a * 4 + b) * kc + (size_t)o * f->c + ci];
                gt4(y, q[a]);
            }
            for (int v = 0; v < 3; v++) { /* columns: G^T over the rows */
                const float yc[4] = {q[0][v], q[1][v], q[2][v], q[3][v]};
                gt4(yc, r);
                for (int u = 0; u < 3; u++)
                    g[u * 3 + v] = r[u];
            }
            float *w;
            if (!f->transposed) {
                w = dw + ((size_t)o * f->c + ci) * 9;
                for (int t = 0; t < 9; t++)
                    w[t] = beta == 0.0f ? g[t] : w[t] + g[t];
            } else {
                w = dw + ((size_t)ci * f->k + o) * 9;
                for (int t = 0; t < 9; t++)
                    w[8 - t] = beta == 0.0f ? g[t] : w[8 - t] + g[t];
            }
        }
}

/* ---- the tile transforms, one plane at a time ---------------------------- */

/* The chunk's matrices: 16 blocks of rows x T, row r of block xi at
 * base[(xi * rows + r) * T]. */
typedef struct chunk {
    const ae__winograd *f;
    size_t nb, T;
    const float *u;
    float *v;  /* XI x c x T */
    float *m;  /* XI x k x T */
    float *du; /* XI x k x c */
    const float *x, *dy;
    float *y, *dx;
} chunk;

/* V for input plane p = b * c + ci. */
static void input_plane(const chunk *ch, size_t p)
{
    const ae__winograd *f = ch->f;
    const size_t b = p / (size_t)f->c, ci = p % (size_t)f->c;
    const float *src = ch->x + p * (size_t)f->h * (size_t)f->w;
    const size_t step = (size_t)f->c * ch->T;
    float *dst = ch->v + ci * ch->T + b * tiles_of(f);
    for (int ti = 0; ti < f->th; ti++) {
        const int r0 = 2 * ti - f->pad;
        for (int tj = 0; tj < f->tw; tj++, dst++) {
            const int c0 = 2 * tj - f->pad;
            float d[4][4], t[4][4];
            if (r0 >= 0 && c0 >= 0 && r0 + 4 <= f->h && c0 + 4 <= f->w) {
                for (int a = 0; a < 4; a++)
                    memcpy(d[a], src + (size_t)(r0 + a) * f->w + c0,
                           4 * sizeof(float));
            } else {
                for (int a = 0; a < 4; a++)
                    for (int e = 0; e < 4; e++) {
                        const int r = r0 + a, c = c0 + e;
                        d[a][e] = r >= 0 && r < f->h && c >= 0 && c < f->w
                                      ? src[(size_t)r * f->w + c]
                                      : 0.0f;
                    }
            }
            for (int e = 0; e < 4; e++) { /* B^T over the rows */
                const float col[4] = {d[0][e], d[1][e], d[2][e], d[3][e]};
                float o[4];
                bt4(col, o);
                for (int a = 0; a < 4; a++)
                    t[a][e] = o[a];
            }
            for (int a = 0; a < 4; a++) { /* B over the columns */
                float o[4];
                bt4(t[a], o);
                for (int e = 0; e < 4; e++)
                    dst[(size_t)(a * 4 + e) * step] = o[e];
            }
        }
    }
}

/* Output plane p = b * k + o from M, + bias. */
static void output_plane(const chunk *ch, size_t p)
{
    const ae__winograd *f = ch->f;
    const size_t b = p / (size_t)f->k, o = p % (size_t)f->k;
    float *out = ch->y + p * (size_t)f->oh * (size_t)f->ow;
    const float bias = f->bias != NULL ? f->bias[o] : 0.0f;
    const size_t step = (size_t)f->k * ch->T;
    const float *src = ch->m + o * ch->T + b * tiles_of(f);
    for (int ti = 0; ti < f->th; ti++)
        for (int tj = 0; tj < f->tw; tj++, src++) {
            float q[2][4], r[2][2];
            for (int e = 0; e < 4; e++) { /* A^T over the rows */
                const float col[4] = {src[(size_t)e * step],
                                      src[(size_t)(4 + e) * step],
                                      src[(size_t)(8 + e) * step],
                                      src[(size_t)(12 + e) * step]};
                float s[2];
                at4(col, s);
                q[0][e] = s[0];
                q[1][e] = s[1];
            }
            at4(q[0], r[0]); /* A over the columns */
            at4(q[1], r[1]);
            for (int a = 0; a < 2; a++) {
                const int i = 2 * ti + a;
                if (i >= f->oh)
                    break;
                for (int e = 0; e < 2; e++) {
                    const int j = 2 * tj + e;
                    if (j < f->ow)
                        out[(size_t)i * f->ow + j] = r[a][e] + bias;
                }
            }
        }
}

/* dM for output-gradient plane p = b * k + o. */
static void grad_output_plane(const chunk *ch, size_t p)
{
    const ae__winograd *f = ch->f;
    const size_t b = p / (size_t)f->k, o = p % (size_t)f->k;
    const float *g = ch->dy + p * (size_t)f->oh * (size_t)f->ow;
    const size_t step = (size_t)f->k * ch->T;
    float *dst = ch->m + o * ch->T + b * tiles_of(f);
    for (int ti = 0; ti < f->th; ti++)
        for (int tj = 0; tj < f->tw; tj++, dst++) {
            float q[2][2] = {{0}}, e2[2][4];
            for (int a = 0; a < 2; a++)
                for (int e = 0; e < 2; e++) {
                    const int i = 2 * ti + a, j = 2 * tj + e;
                    if (i < f->oh && j < f->ow)
                        q[a][e] = g[(size_t)i * f->ow + j];
                }
            a2(q[0], e2[0]); /* A over the columns */
            a2(q[1], e2[1]);
            for (int e = 0; e < 4; e++) { /* A over the rows */
                const float pair[2] = {e2[0][e], e2[1][e]};
                float col[4];
                a2(pair, col);
                for (int a = 0; a < 4; a++)
                    dst[(size_t)(a * 4 + e) * step] = col[a];
            }
        }
}

/* dx plane p = b * c + ci from dV (in the V block): written, tiles added
 * where their windows overlap. */
static void grad_input_plane(const chunk *ch, size_t p)
{
    const ae__winograd *f = ch->f;
    const size_t b = p / (size_t)f->c, ci = p % (size_t)f->c;
    float *dst = ch->dx + p * (size_t)f->h * (size_t)f->w;
    const size_t step = (size_t)f->c * ch->T;
    const float *src = ch->v + ci * ch->T + b * tiles_of(f);
    memset(dst, 0, (size_t)f->h * (size_t)f->w * sizeof(float));
    for (int ti = 0; ti < f->th; ti++) {
        const int r0 = 2 * ti - f->pad;
        for (int tj = 0; tj < f->tw; tj++, src++) {
            const int c0 = 2 * tj - f->pad;
            float t[4][4], d[4][4];
            for (int a = 0; a < 4; a++) { /* B^T's adjoint over the columns */
                float y[4];
                for (int e = 0; e < 4; e++)
                    y[e] = src[(size_t)(a * 4 + e) * step];
                b4(y, t[a]);
            }
            for (int e = 0; e < 4; e++) { /* and over the rows */
                const float col[4] = {t[0][e], t[1][e], t[2][e], t[3][e]};
                float o[4];
                b4(col, o);
                for (int a = 0; a < 4; a++)
                    d[a][e] = o[a];
            }
            for (int a = 0; a < 4; a++) {
                const int r = r0 + a;
                if (r < 0 || r >= f->h)
                    continue;
                for (int e = 0; e < 4; e++) {
                    const int c = c0 + e;
                    if (c >= 0 && c < f->w)
                        dst[(size_t)r * f->w + c] += d[a][e];
                }
            }
        }
    }
}

/* ---- the stages of a chunk ----------------------------------------------- */

/* Each stage is a loop over independent items (planes, or the 16 products)
 * run through the pool: inside the schedule's parts it runs on the calling
 * thread (the pool is busy), and for a batch that is a single chunk (one
 * image, say) it spreads over the threads, with the same bits either way
 * since every item is computed by the same code. */
typedef enum stage {
    INPUT,       /* V from x */
    PRODUCT,     /* M = U V */
    OUTPUT,      /* y from M */
    GRAD_OUTPUT, /* dM from dy */
    GRAD_U,      /* dU = dM V^T */
    GRAD_V,      /* dV = U^T dM, over V */
    GRAD_INPUT   /* dx from dV */
} stage;

typedef struct stage_job {
    const chunk *ch;
    stage s;
} stage_job;

static void stage_items(void *ctx, size_t first, size_t last, int part)
{
    (void)part;
    const stage_job *j = ctx;
    const chunk *ch = j->ch;
    const ae__winograd *f = ch->f;
    const int k = f->k, c = f->c, T = (int)ch->T;
    const size_t kc = (size_t)k * c, cT = (size_t)c * ch->T,
                 kT = (size_t)k * ch->T;
    for (size_t i = first; i < last; i++)
        switch (j->s) {
        case INPUT:
            input_plane(ch, i);
            break;
        case PRODUCT: /* M[xi] (k x T) = U[xi] (k x c) V[xi] (c x T) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, k, T, c,
                        1.0f, ch->u + i * kc, c, ch->v + i * cT, T, 0.0f,
                        ch->m + i * kT, T);
            break;
        case OUTPUT:
            output_plane(ch, i);
            break;
        case GRAD_OUTPUT:
            grad_output_plane(ch, i);
            break;
        case GRAD_U: /* dU[xi] (k x c) = dM[xi] (k x T) V[xi]^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, k, c, T,
                        1.0f, ch->m + i * kT, T, ch->v + i * cT, T, 0.0f,
                        ch->du + i * kc, c);
            break;
        case GRAD_V: /* dV[xi] (c x T) = U[xi]^T (c x k) dM[xi] (k x T) */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c, T, k,
                        1.0f, ch->u + i * kc, c, ch->m + i * kT, T, 0.0f,
                        ch->v + i * cT, T);
            break;
        case GRAD_INPUT:
            grad_input_plane(ch, i);
            break;
        }
}

static void run_stage(const chunk *ch, stage s)
{
    const ae__winograd *f = ch->f;
    stage_job j = {ch, s};
    size_t n, grain;
    if (s == PRODUCT || s == GRAD_U || s == GRAD_V) {
        n = XI;
        grain = 1;
    } else {
        const int in_side = s == INPUT || s == GRAD_INPUT;
        n = ch->nb * (size_t)(in_side ? f->c : f->k);
        grain = ae__plane_grain(in_side ? (size_t)f->h * f->w
                                        : (size_t)f->oh * f->ow);
    }
    ae__parallel_for_blas(n, grain, 0, stage_items, &j);
}

/* The layer's scratch: U, then the schedule's.  The method's context is
 * the chunk template with f and u set. */
typedef struct ctx {
    const ae__winograd *f;
    const float *u;
} ctx;

static chunk chunk_at(const ctx *cx, size_t nb, float *scratch)
{
    const ae__winograd *f = cx->f;
    chunk ch = {0};
    ch.f = f;
    ch.nb = nb;
    ch.T = nb * tiles_of(f);
    ch.u = cx->u;
    ch.v = scratch;
    ch.m = ch.v + (size_t)XI * f->c * ch.T;
    ch.du = ch.m + (size_t)XI * f->k * ch.T;
    return ch;
}

static void forward_chunk(const void *c, const float *x, float *y, size_t nb,
                          float *scratch)
{
    chunk ch = chunk_at(c, nb, scratch);
    ch.x = x;
    ch.y = y;
    run_stage(&ch, INPUT);
    run_stage(&ch, PRODUCT);
    run_stage(&ch, OUTPUT);
}

static void backward_chunk(const void *c, const float *x, const float *dy,
                           float *dx, size_t nb, float *dw, float beta,
                           float *scratch)
{
    chunk ch = chunk_at(c, nb, scratch);
    ch.x = x;
    ch.dy = dy;
    ch.dx = dx;
    run_stage(&ch, INPUT);
    run_stage(&ch, GRAD_OUTPUT);
    run_stage(&ch, GRAD_U);
    gradient_to_weights(ch.f, ch.du, dw, beta);
    if (dx != NULL) {
        run_stage(&ch, GRAD_V);
        run_stage(&ch, GRAD_INPUT);
    }
}

static ae__conv_method method_of(const ae__winograd *f, const ctx *cx)
{
    ae__conv_method m = {0};
    m.per_image = per_image(f);
    m.forward = forward_chunk;
    m.backward = backward_chunk;
    m.ctx = cx;
    m.per_chunk = u_floats(f); /* dU */
    m.chunk_floats = CHUNK_FLOATS;
    return m;
}

size_t ae__winograd_scratch(const ae__winograd *f, size_t batch,
                            size_t n_weights)
{
    const ctx cx = {f, NULL};
    const ae__conv_method m = method_of(f, &cx);
    /* A single chunk runs outside the schedule and needs only its own. */
    return u_floats(f) + ae__conv_scratch_of(&m, batch, n_weights);
}

void ae__winograd_forward(const ae_layer *l, const ae__winograd *f,
                          const float *x, float *y, size_t batch,
                          float *scratch)
{
    transform_weights(f, scratch);
    const ctx cx = {f, scratch};
    const ae__conv_method m = method_of(f, &cx);
    float *rest = scratch + u_floats(f);
    if (ae__conv_chunk(&m, batch) >= batch) {
        /* One chunk: its stages share the threads (run_stage). */
        forward_chunk(&cx, x, y, batch, rest);
        return;
    }
    ae__conv_forward(l, &m, x, y, batch, rest);
}

void ae__winograd_backward(ae_layer *l, const ae__winograd *f,
                           const float *x, const float *dy, float *dx,
                           size_t batch, float *scratch)
{
    transform_weights(f, scratch);
    const ctx cx = {f, scratch};
    const ae__conv_method m = method_of(f, &cx);
    float *rest = scratch + u_floats(f);
    if (ae__conv_chunk(&m, batch) >= batch) {
        /* One chunk is one gradient group: the schedule's sum of one
         * partial is a copy, so writing the gradient in place gives the
         * same bits. */
        backward_chunk(&cx, x, dy, dx, batch, l->grad_weights, 0.0f, rest);
        ae__channel_sums(dy, l->out.c, (size_t)l->out.h * (size_t)l->out.w,
                         batch, l->grad_bias);
        return;
    }
    ae__conv_backward(l, &m, x, dy, dx, batch, rest, l->grad_weights);
}

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
 * products see only a few extra roundings: on the experiments' layer
 * shapes outputs and gradients agree with the direct path to about 1e-6
 * of the array's largest value, 2.3e-6 at worst (a seed model's first
 * weight gradient); tests/test_conv_winograd.c bounds them at 2e-5 and
 * checks the gradients by finite differences through this path.
 * F(4x4, 3x3) would save more products (36 per 4 x 4 outputs instead of
 * 64) but its transforms carry coefficients up to 8 and lose accuracy
 * accordingly (Lavin and Gray report it; not measured here), and the
 * transforms, not the products, are what limits this file (below): it was
 * not tried.
 *
 * Where it is used (ae__winograd_suits), from bench/bench_conv's
 * alternating runs of one layer's training passes at batch 128
 * (docs/PERFORMANCE.md has the table): a layer that does not narrow
 * (out_c >= in_c) with at least 16 input channels for a conv2d, 32 for a
 * conv_transpose2d (8 -> 16 at 14 x 14 measured 0.90-1.10x, a tie).  Narrowing layers keep the direct path: a conv2d's
 * taps form (conv2d.c) is then one long sgemm over the input grid, and
 * Winograd's transforms of the wider input side cost more than its
 * products save (64 -> 32 at 14 x 14: 0.64x; 16 -> 8: 0.65x).  With one
 * input or output channel the products are rank-1 updates or
 * matrix-vector products and the transforms are all there is (1 -> 32:
 * 0.50x, 32 -> 1: 0.32x).  A transposed convolution's direct path,
 * one sgemm and a columns-to-image pass, is cheaper than a convolution's
 * at few channels (16 -> 16 at 7 x 7: 0.93x by Winograd, against 1.1-1.4x
 * for the conv2d of that shape) but not at 32 and more (32 -> 64 at
 * 14 x 14: 1.27x).  And a pass of at least 8 images: the kernels'
 * transform, once a pass, made one image through experiment 7's model
 * 2.4 times slower than the direct path (bench/bench_infer). */
#include <string.h>

#include <cblas.h>

#include "layers/conv_winograd.h"
#include "common/internal.h"
#include "common/parallel.h"
#include "layers/conv_gemm.h"
#include "layers/image_layout.h"

enum { XI = 16 };

/* The fewest input channels at which this path is taken (the rule: see
 * the head comment). */
enum { MIN_IN_CONV = 16, MIN_IN_TRANSPOSED = 32 };

/* The fewest images a pass must have: the kernels are transformed once a
 * pass (k x c of them), which a pass of one image does not repay. */
enum { MIN_BATCH = 8 };

/* Chunk budget in floats (1 MB): the transformed input and output of a
 * chunk.  Larger than the direct paths' 512 KB because each of the 16
 * products has only T = tiles x images columns: at 14 x 14 (49 tiles) the
 * direct budget would give one image a chunk and products of 49 columns.
 * On experiment 7's three Winograd layers (bench_conv, one thread,
 * alternating runs on a loaded machine) 2^16 floats was 5-25% slower than
 * 2^17-2^19, which were within the noise of each other; 2^18 keeps a
 * chunk's V and M inside one core's L2 (4 MB on these machines) beside
 * the weights. */
#define CHUNK_FLOATS ((size_t)1 << 18)

static int allowed = 1;

void ae__winograd_allow(int mode) { allowed = mode; }

int ae__winograd_suits(int in_c, int out_c, int kernel, int stride,
                       int transposed, size_t batch)
{
    if (allowed == 0 || kernel != 3 || stride != 1)
        return 0;
    return allowed == 2 ||
           (out_c >= in_c && batch >= MIN_BATCH &&
            in_c >= (transposed ? MIN_IN_TRANSPOSED : MIN_IN_CONV));
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

/* ---- the kernel transform ----------------------------------------------- */

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

/* Floats between two of the 16 blocks beyond the block itself.  Without
 * it the blocks lie a multiple of 4 KB apart whenever rows x T is (64
 * channels of 256 tiles, say), and the 16 streams a transform writes, one
 * per block, fall into the same cache sets. */
enum { BLOCK_GAP = 16 };

/* The chunk's matrices: 16 blocks of rows x T, row r of block xi at
 * base[xi * step + r * T]; and each part's row workspace (ws_floats). */
typedef struct chunk {
    const ae__winograd *f;
    size_t nb, T;
    size_t vstep, mstep; /* block strides of V and M */
    const float *u;
    float *v;  /* XI x c x T */
    float *m;  /* XI x k x T */
    float *du; /* XI x k c */
    float *ws; /* per part */
    const float *x, *dy;
    float *y, *dx;
} chunk;

/* The transforms work a row of tiles at a time on arrays over the tiles
 * of that row (index j), so that the loops are contiguous in j and the
 * compiler vectorises them (the helpers below take restrict pointers for
 * that); the 16 transformed values of a tile go to 16 rows of V or M, each
 * a contiguous run of the row's tiles.  The planes are read and written in
 * place, the tiles whose windows cross the plane's edge apart
 * (interior_tiles): copying rows into a padded buffer first made every
 * wide load wait on the narrower stores just made (store forwarding),
 * which cost more than the arithmetic. */
static size_t ws_floats(const ae__winograd *f)
{
    return 34 * ((size_t)f->tw + 2);
}

/* Tiles j in [*lo, *hi) of a row of tw whose columns 2j - pad .. 2j - pad
 * + span - 1 all lie in [0, n). */
static void interior_tiles(int n, int pad, int span, int tw, int *lo,
                           int *hi)
{
    int l = (pad + 1) / 2, h = (n - span + pad) / 2 + 1;
    if (n - span + pad < 0)
        h = 0;
    if (h > tw)
        h = tw;
    if (l > h)
        l = h;
    *lo = l;
    *hi = h;
}

static inline float at(const float *row, int col, int n)
{
    return col >= 0 && col < n ? row[col] : 0.0f;
}

/* o = B^T (d0, d1, d2, d3), elementwise over n tiles. */
static void bt_rows(int n, const float *restrict d0, const float *restrict d1,
                    const float *restrict d2, const float *restrict d3,
                    float *restrict o0, float *restrict o1,
                    float *restrict o2, float *restrict o3)
{
    for (int j = 0; j < n; j++) {
        o0[j] = d0[j] - d2[j];
        o1[j] = d1[j] + d2[j];
        o2[j] = d2[j] - d1[j];
        o3[j] = d1[j] - d3[j];
    }
}

/* o = B (y0, y1, y2, y3), B^T's adjoint. */
static void b_rows(int n, const float *restrict y0, const float *restrict y1,
                   const float *restrict y2, const float *restrict y3,
                   float *restrict o0, float *restrict o1, float *restrict o2,
                   float *restrict o3)
{
    for (int j = 0; j < n; j++) {
        o0[j] = y0[j];
        o1[j] = y1[j] - y2[j] + y3[j];
        o2[j] = -y0[j] + y1[j] + y2[j];
        o3[j] = -y3[j];
    }
}

/* (s0, s1) = A^T (m0, m1, m2, m3). */
static void at_rows(int n, const float *restrict m0, const float *restrict m1,
                    const float *restrict m2, const float *restrict m3,
                    float *restrict s0, float *restrict s1)
{
    for (int j = 0; j < n; j++) {
        s0[j] = m0[j] + m1[j] + m2[j];
        s1[j] = m1[j] - m2[j] - m3[j];
    }
}

/* o = A (q0, q1), A^T's adjoint. */
static void a_rows(int n, const float *restrict q0, const float *restrict q1,
                   float *restrict o0, float *restrict o1, float *restrict o2,
                   float *restrict o3)
{
    for (int j = 0; j < n; j++) {
        o0[j] = q0[j];
        o1[j] = q0[j] + q1[j];
        o2[j] = q0[j] - q1[j];
        o3[j] = -q1[j];
    }
}

/* B^T along a row: tile j reads x[2j .. 2j + 3]. */
static void bt_cols(int lo, int hi, const float *restrict x,
                    float *restrict c0, float *restrict c1,
                    float *restrict c2, float *restrict c3)
{
    for (int j = lo; j < hi; j++) {
        const float x0 = x[2 * j], x1 = x[2 * j + 1], x2 = x[2 * j + 2],
                    x3 = x[2 * j + 3];
        c0[j] = x0 - x2;
        c1[j] = x1 + x2;
        c2[j] = x2 - x1;
        c3[j] = x1 - x3;
    }
}

/* A^T along a row, + bias: tile j writes y[2j], y[2j + 1]. */
static void at_cols(int n, const float *restrict q0, const float *restrict q1,
                    const float *restrict q2, const float *restrict q3,
                    float bias, float *restrict y)
{
    for (int j = 0; j < n; j++) {
        y[2 * j] = q0[j] + q1[j] + q2[j] + bias;
        y[2 * j + 1] = q1[j] - q2[j] - q3[j] + bias;
    }
}

/* A along a row: tile j reads g[2j], g[2j + 1]. */
static void a_cols(int n, const float *restrict g, float *restrict e0,
                   float *restrict e1, float *restrict e2, float *restrict e3)
{
    for (int j = 0; j < n; j++) {
        const float q0 = g[2 * j], q1 = g[2 * j + 1];
        e0[j] = q0;
        e1[j] = q0 + q1;
        e2[j] = q0 - q1;
        e3[j] = -q1;
    }
}

/* x[2j + off] += d0[j], x[2j + off + 1] += d1[j]. */
static void add_cols(int lo, int hi, float *restrict x,
                     const float *restrict d0, const float *restrict d1)
{
    for (int j = lo; j < hi; j++) {
        x[2 * j] += d0[j];
        x[2 * j + 1] += d1[j];
    }
}

/* V for input plane p = b * c + ci. */
static void input_plane(const chunk *ch, size_t p, float *ws)
{
    const ae__winograd *f = ch->f;
    const size_t b = p / (size_t)f->c, ci = p % (size_t)f->c;
    const int tw = f->tw, pad = f->pad, w = f->w;
    const float *src = ch->x + p * (size_t)f->h * (size_t)w;
    const size_t step = ch->vstep, n = (size_t)tw;
    int jl, jh;
    interior_tiles(w, pad, 4, tw, &jl, &jh);
    /* cc[a][e]: B^T over the columns of window row a, per tile. */
    float *cc = ws;
    for (int ti = 0; ti < f->th; ti++) {
        float *dst = ch->v + ci * ch->T + b * tiles_of(f) + (size_t)ti * n;
        for (int a = 0; a < 4; a++) {
            const int r = 2 * ti - pad + a;
            float *c0 = cc + (size_t)(a * 4) * n, *c1 = c0 + n, *c2 = c1 + n,
                  *c3 = c2 + n;
            if (r < 0 || r >= f->h) {
                memset(c0, 0, 4 * n * sizeof(float));
                continue;
            }
            const float *row = src + (size_t)r * w;
            bt_cols(jl, jh, row - pad, c0, c1, c2, c3);
            for (int j = 0; j < tw; j++) {
                if (j == jl)
                    j = jh;
                if (j >= tw)
                    break;
                const int q = 2 * j - pad;
                const float x0 = at(row, q, w), x1 = at(row, q + 1, w),
                            x2 = at(row, q + 2, w), x3 = at(row, q + 3, w);
                c0[j] = x0 - x2;
                c1[j] = x1 + x2;
                c2[j] = x2 - x1;
                c3[j] = x1 - x3;
            }
        }
        for (int e = 0; e < 4; e++) { /* B^T over the rows */
            const float *d0 = cc + (size_t)e * n;
            float *v0 = dst + (size_t)e * step;
            bt_rows(tw, d0, d0 + 4 * n, d0 + 8 * n, d0 + 12 * n, v0,
                    v0 + 4 * step, v0 + 8 * step, v0 + 12 * step);
        }
    }
}

/* Output plane p = b * k + o from M, + bias. */
static void output_plane(const chunk *ch, size_t p, float *ws)
{
    const ae__winograd *f = ch->f;
    const size_t b = p / (size_t)f->k, o = p % (size_t)f->k;
    const int tw = f->tw, ow = f->ow, full = ow / 2;
    float *out = ch->y + p * (size_t)f->oh * (size_t)ow;
    const float bias = f->bias != NULL ? f->bias[o] : 0.0f;
    const size_t step = ch->mstep, n = (size_t)tw;
    /* s[a][e]: A^T over the rows, per tile. */
    float *sa = ws;
    for (int ti = 0; ti < f->th; ti++) {
        const float *src = ch->m + o * ch->T + b * tiles_of(f) + (size_t)ti * n;
        for (int e = 0; e < 4; e++) {
            const float *m0 = src + (size_t)e * step;
            at_rows(tw, m0, m0 + 4 * step, m0 + 8 * step, m0 + 12 * step,
                    sa + (size_t)e * n, sa + (size_t)(4 + e) * n);
        }
        for (int a = 0; a < 2; a++) { /* A^T over the columns */
            const int i = 2 * ti + a;
            if (i >= f->oh)
                break;
            const float *q0 = sa + (size_t)(a * 4) * n;
            float *y = out + (size_t)i * ow;
            at_cols(full, q0, q0 + n, q0 + 2 * n, q0 + 3 * n, bias, y);
            if (ow % 2) /* the last tile's left column only */
                y[2 * full] = q0[full] + q0[n + full] + q0[2 * n + full] + bias;
        }
    }
}

/* dM for output-gradient plane p = b * k + o. */
static void grad_output_plane(const chunk *ch, size_t p, float *ws)
{
    const ae__winograd *f = ch->f;
    const size_t b = p / (size_t)f->k, o = p % (size_t)f->k;
    const int tw = f->tw, ow = f->ow, full = ow / 2;
    const float *g = ch->dy + p * (size_t)f->oh * (size_t)ow;
    const size_t step = ch->mstep, n = (size_t)tw;
    /* ea[a][e]: A over the columns of output row a, per tile. */
    float *ea = ws;
    for (int ti = 0; ti < f->th; ti++) {
        float *dst = ch->m + o * ch->T + b * tiles_of(f) + (size_t)ti * n;
        for (int a = 0; a < 2; a++) {
            const int i = 2 * ti + a;
            float *e0 = ea + (size_t)(a * 4) * n, *e1 = e0 + n, *e2 = e1 + n,
                  *e3 = e2 + n;
            if (i >= f->oh) {
                memset(e0, 0, 4 * n * sizeof(float));
                continue;
            }
            const float *line = g + (size_t)i * ow;
            a_cols(full, line, e0, e1, e2, e3);
            if (ow % 2) { /* the last tile's right column is outside */
                e0[full] = e1[full] = e2[full] = line[2 * full];
                e3[full] = 0.0f;
            }
        }
        for (int e = 0; e < 4; e++) { /* A over the rows */
            float *d0 = dst + (size_t)e * step;
            a_rows(tw, ea + (size_t)e * n, ea + (size_t)(4 + e) * n, d0,
                   d0 + 4 * step, d0 + 8 * step, d0 + 12 * step);
        }
    }
}

/* dx plane p = b * c + ci from dV (in the V block): written, the tiles'
 * windows added where they overlap, in a fixed order. */
static void grad_input_plane(const chunk *ch, size_t p, float *ws)
{
    const ae__winograd *f = ch->f;
    const size_t b = p / (size_t)f->c, ci = p % (size_t)f->c;
    const int tw = f->tw, pad = f->pad, w = f->w;
    float *dst = ch->dx + p * (size_t)f->h * (size_t)w;
    const size_t step = ch->vstep, n = (size_t)tw;
    int jl, jh;
    interior_tiles(w, pad, 4, tw, &jl, &jh);
    /* t[a][e]: B over the columns of row a of dV, per tile; d[a][e]: then
     * B over the rows. */
    float *t = ws, *d = ws + 16 * n;
    memset(dst, 0, (size_t)f->h * (size_t)w * sizeof(float));
    for (int ti = 0; ti < f->th; ti++) {
        const float *src = ch->v + ci * ch->T + b * tiles_of(f) + (size_t)ti * n;
        for (int a = 0; a < 4; a++) {
            const float *y0 = src + (size_t)(a * 4) * step;
            float *t0 = t + (size_t)(a * 4) * n;
            b_rows(tw, y0, y0 + step, y0 + 2 * step, y0 + 3 * step, t0,
                   t0 + n, t0 + 2 * n, t0 + 3 * n);
        }
        for (int e = 0; e < 4; e++) {
            const float *r0 = t + (size_t)e * n;
            float *o0 = d + (size_t)e * n;
            b_rows(tw, r0, r0 + 4 * n, r0 + 8 * n, r0 + 12 * n, o0,
                   o0 + 4 * n, o0 + 8 * n, o0 + 12 * n);
        }
        for (int a = 0; a < 4; a++) {
            const int r = 2 * ti - pad + a;
            if (r < 0 || r >= f->h)
                continue;
            const float *d0 = d + (size_t)(a * 4) * n, *d1 = d0 + n,
                        *d2 = d1 + n, *d3 = d2 + n;
            float *row = dst + (size_t)r * w;
            /* Columns 2j - pad + e: the left halves of all tiles, then the
             * right halves, so that no loop writes a column twice. */
            for (int half = 0; half < 2; half++) {
                const float *l = half ? d2 : d0, *rr = half ? d3 : d1;
                add_cols(jl, jh, row - pad + 2 * half, l, rr);
                for (int j = 0; j < tw; j++) {
                    if (j == jl)
                        j = jh;
                    if (j >= tw)
                        break;
                    const int q = 2 * j - pad + 2 * half;
                    if (q >= 0 && q < w)
                        row[q] += l[j];
                    if (q + 1 >= 0 && q + 1 < w)
                        row[q + 1] += rr[j];
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
    const stage_job *j = ctx;
    const chunk *ch = j->ch;
    const ae__winograd *f = ch->f;
    float *ws = ch->ws + (size_t)part * ws_floats(f);
    const int k = f->k, c = f->c, T = (int)ch->T;
    const size_t kc = (size_t)k * c, cT = ch->vstep, kT = ch->mstep;
    for (size_t i = first; i < last; i++)
        switch (j->s) {
        case INPUT:
            input_plane(ch, i, ws);
            break;
        case PRODUCT: /* M[xi] (k x T) = U[xi] (k x c) V[xi] (c x T) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, k, T, c,
                        1.0f, ch->u + i * kc, c, ch->v + i * cT, T, 0.0f,
                        ch->m + i * kT, T);
            break;
        case OUTPUT:
            output_plane(ch, i, ws);
            break;
        case GRAD_OUTPUT:
            grad_output_plane(ch, i, ws);
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
            grad_input_plane(ch, i, ws);
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
    ch.vstep = (size_t)f->c * ch.T + BLOCK_GAP;
    ch.mstep = (size_t)f->k * ch.T + BLOCK_GAP;
    ch.v = scratch;
    ch.m = ch.v + XI * ch.vstep;
    ch.du = ch.m + XI * ch.mstep;
    ch.ws = ch.du + u_floats(f);
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
    /* dU, and a row workspace for each thread the stages may use. */
    m.per_chunk = 2 * XI * BLOCK_GAP + u_floats(f) +
                  (size_t)ae__thread_count() * ws_floats(f);
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

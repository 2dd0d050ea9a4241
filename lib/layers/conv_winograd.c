/* conv_winograd.c - 3x3, stride-1 convolutions by Winograd's minimal
 * filtering F(4x4, 3x3) (Lavin and Gray, "Fast Algorithms for
 * Convolutional Neural Networks", 2016), in all three passes.
 *
 * The math.  Cut the output plane into tiles of 4 x 4; tile (i, j) reads
 * the 6 x 6 input window d at rows 4i - pad .. 4i - pad + 5 and the same
 * columns (0 outside the input).  For a 3 x 3 kernel g,
 *   Y = A^T [ (G g G^T) (.) (B^T d B) ] A        ((.): elementwise)
 * with
 *   B^T = | 4  0 -5  0  1  0 |   G = |  1/4     0     0  |
 *         | 0 -4 -4  1  1  0 |       | -1/6  -1/6  -1/6  |
 *         | 0  4 -4 -1  1  0 |       | -1/6   1/6  -1/6  |
 *         | 0 -2 -1  2  1  0 |       |  1/24  1/12  1/6  |
 *         | 0  2 -1 -2  1  0 |       |  1/24 -1/12  1/6  |
 *         | 0  4  0 -5  0  1 |       |  0     0     1    |
 *   A^T = | 1  1  1  1  1  0 |
 *         | 0  1 -1  2 -2  0 |
 *         | 0  1  1  4  4  0 |
 *         | 0  1 -1  8 -8  1 |
 * is exactly the 4 x 4 outputs of the cross-correlation: 36 products per
 * tile and channel pair instead of 144.  Summed over input channels, each
 * of the 36 positions xi of the 6 x 6 transformed tile is a matrix product
 * over the tiles T of a chunk of images:
 *   U[xi] = (G g G^T)[xi]      k x c   (weights, once per pass)
 *   V[xi] = (B^T d B)[xi]      T x c   (input, per chunk)
 *   M[xi] = V[xi] U[xi]^T      36 products (small_gemm.h), T x k
 *   y     = A^T M A per tile, + bias
 * The backward pass is the exact adjoint of those steps, so the gradients
 * are those of the function the forward pass computes:
 *   dM[xi] = (A dY A^T)[xi]           per tile of the output gradient
 *   dU[xi] = dM[xi]^T V[xi]           36 products (small_gemm.h), k x c
 *   dg     = G^T dU G                 back to the 3 x 3 kernel
 *   dV[xi] = dM[xi] U[xi]             36 products (small_gemm.h), T x c
 *   dx    += B dV B^T per tile, windows overlapping by 2
 * The forward pass keeps U transposed (c x k), so that its products are
 * NoTrans x NoTrans: OpenBLAS runs those at the sizes of a chunk (T up to
 * about 1,000) by its small-matrix kernels, which read the operands in
 * place, and packs both operands for a transposed one (measured with
 * F(2x2): one thread, experiment 7's 32 -> 64 layer, 36 -> 20 us for one
 * image, 90 -> 60 us for a training chunk).  The backward pass's
 * dV = dM U is NoTrans x NoTrans with U as k x c.
 * V and M keep the channels innermost (a tile's row of c or k floats), so
 * that the tile transforms are the same few additions on contiguous runs
 * of channels, which vectorise, to the widest vectors the processor has
 * (AE__VECTOR_CLONES: with AVX-512 they took 24% of an epoch's samples in
 * SSE2); the images come in and go out channel-major by a blocked
 * transpose (planes_to_grid, grid_to_planes).
 * A transposed convolution at stride 1 is the convolution of its input by
 * g[o][ci][u][v] = W[ci][o][2-u][2-v] at padding 2 - p, which is how it
 * comes here (conv_winograd.h).
 *
 * Why 4 x 4 tiles.  Against F(2x2, 3x3) (tiles of 2 x 2 from 4 x 4
 * windows, 16 products; this file's first versions), the products and the
 * transformed data per image fall by 27% at 14 x 14 (16 tiles of 36
 * against 49 of 16) and by 44% at 7 x 7 (4 of 36 against 16 of 16); the
 * transforms cost about 1.7 times as much arithmetic per output.  Measured
 * (docs/PERFORMANCE.md), experiment 7's epoch took 6-13% less time and
 * its Winograd layers up to 30% less (7 x 7), ties at 16 -> 8; larger
 * tiles (F(6x6, 3x3)) would leave a 7 x 7 plane mostly padding and need
 * coefficients that lose several bits, and were not tried.
 *
 * Accuracy.  The transforms' coefficients reach 8 (A), 5 (B) and 1/24
 * (G), against 0, +-1 and +-1/2 for F(2x2): each product carries a few
 * more roundings, scaled up by A.  On tests/test_conv_winograd.c's shapes
 * outputs and gradients agree with the direct path to a median of 7.6e-7
 * of the array's largest value, 7.2e-6 at worst (an output of 37 images;
 * F(2x2): 1.9e-6); the test bounds them at 5e-5 and checks the gradients
 * by finite differences through this path.  The kernel transform divides
 * by -6 rather than multiplying by -1/6, so that rows 1 and 2 of G g are
 * exact negations of each other's sums, as in the adjoint.
 *
 * Where it is used (ae__winograd_suits), from bench/bench_conv's
 * alternating runs of one layer's training passes at batch 128
 * (docs/PERFORMANCE.md has the table): a 3x3 stride-1 layer with at
 * least 8 input and 8 output channels, conv2d or conv_transpose2d, at any
 * batch.  Every such shape of experiments 6 and 7 measured 1.1-2.9x
 * faster than the direct path at one and two threads (16 -> 8 at 14 x 14,
 * the narrowest, 1.1-1.4x; 64 -> 64 at 7 x 7 2.2-2.6x).  With one input
 * or output channel the products are rank-1 updates or matrix-vector
 * products and the transforms, on runs of one channel, are all there is
 * (1 -> 32: 0.66-1.0x, 32 -> 1: 0.45-0.48x): those keep the direct path.
 * Any batch: one image through experiment 7's model is faster by this
 * path than by the direct one (bench/bench_infer), since the kernels'
 * transform is vectorised and one image's tile transforms are shared
 * among the threads; before that, at 38% of one image's time, the kernel
 * transform made one image slower and the rule asked for 8 images. */
#include <math.h>
#include <string.h>
#include <unistd.h>

#ifdef __SSE__
#include <xmmintrin.h>
#endif

#include <cblas.h>

#include "layers/conv_winograd.h"
#include "common/internal.h"
#include "common/parallel.h"
#include "common/small_gemm.h"
#include "common/vector_clones.h"
#include "layers/conv_gemm.h"
#include "layers/image_layout.h"
#include "nn/activation.h"
#include "nn/model.h"

/* A tile: TILE x TILE outputs from a WINDOW x WINDOW input window, XI
 * transformed values. */
enum { TILE = AE__WINOGRAD_TILE, WINDOW = TILE + 2, XI = WINDOW * WINDOW };

/* The fewest input and output channels at which this path is taken (the
 * rule: see the head comment). */
enum { MIN_CHANNELS = 8 };

/* Chunk budget in floats: the transformed input and output of a chunk.
 * Larger than the direct paths' 512 KB because each of the XI products
 * has only T = tiles x images rows: at 14 x 14 (16 tiles) the direct
 * budget would give one image a chunk and products of 16 rows.  Which
 * budget is best follows the L2 cache, measured on two machines:
 * - with 2 MB of L2 a core, 2^18 floats (1 MB: a chunk stays in L2
 *   beside the weights) beat 2^17 and 2^19 by 3-7% (docs/PERFORMANCE.md,
 *   2026-12-03, with F(2x2) tiles: three alternating rounds of the conv
 *   epoch);
 * - with 512 KB (a Zen 3), where no chunk fits, the larger products win:
 *   2^19 (T = 144 against 64 at 32 -> 64, 14 x 14) made the conv epoch of
 *   5,000 images 5% faster than 2^18 (median of 5 alternating runs, two
 *   threads), and 2^20 was slower than 2^19 on each of experiment 7's
 *   Winograd layers (bench_conv, best of 3).
 * So 2^18 where L2 holds 1 MB, else (or when the system does not say)
 * 2^19.  The budget fixes the chunks and so the order of the weight
 * gradient's sums: a model trains to the same bits at any thread count
 * on a machine, as on any machine with the same cache and BLAS kernels. */
static size_t chunk_floats(void)
{
    long l2 = 0;
#ifdef _SC_LEVEL2_CACHE_SIZE
    l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
    return l2 >= (1L << 20) ? (size_t)1 << 18 : (size_t)1 << 19;
}

static int allowed = 1;

void ae__winograd_allow(int mode) { allowed = mode; }

int ae__winograd_suits(int in_c, int out_c, int kernel, int stride,
                       int transposed)
{
    (void)transposed; /* both kinds measured alike (docs/PERFORMANCE.md) */
    if (allowed == 0 || kernel != 3 || stride != 1)
        return 0;
    return allowed == 2 || (in_c >= MIN_CHANNELS && out_c >= MIN_CHANNELS);
}

static size_t tiles_of(const ae__winograd *f)
{
    return (size_t)f->th * (size_t)f->tw;
}

static size_t per_image(const ae__winograd *f)
{
    return (size_t)XI * (size_t)(f->c + f->k) * tiles_of(f);
}

/* Floats between two of the XI blocks beyond the block itself.  Without
 * it the blocks lie a multiple of 4 KB apart whenever T x rows is (256
 * tiles of 64 channels, say, or k x c is: 64 x 64 kernels), and the XI
 * streams a transform writes, one per block, fall into the same cache
 * sets.  Without it in U, one image through experiment 7's model took
 * 256 us instead of 175 (bench_infer, one thread: the kernels' transform
 * writes U's blocks at once; measured with F(2x2)'s 16). */
enum { BLOCK_GAP = 16 };

/* U's and dU's block stride: xi's k x c block at xi * u_step. */
static size_t u_step(const ae__winograd *f)
{
    return (size_t)f->k * (size_t)f->c + BLOCK_GAP;
}

static size_t u_floats(const ae__winograd *f)
{
    return (size_t)XI * u_step(f);
}

/* ---- the kernel transform ----------------------------------------------- */

/* G g (3 -> 6) and its adjoint G^T y (6 -> 3). */
static inline void g3(const float g[3], float o[6])
{
    const float ends = g[0] + g[2], mid = 0.25f * g[0] + g[2];
    o[0] = 0.25f * g[0];
    o[1] = (ends + g[1]) / -6.0f;
    o[2] = (ends - g[1]) / -6.0f;
    o[3] = mid / 6.0f + g[1] / 12.0f;
    o[4] = mid / 6.0f - g[1] / 12.0f;
    o[5] = g[2];
}

static inline void gt6(const float y[6], float o[3])
{
    const float s12 = y[1] + y[2], d12 = y[1] - y[2], s34 = y[3] + y[4],
                d34 = y[3] - y[4];
    o[0] = 0.25f * y[0] - s12 / 6.0f + s34 / 24.0f;
    o[1] = d34 / 12.0f - d12 / 6.0f;
    o[2] = (s34 - s12) / 6.0f + y[5];
}

/* ---- the weights --------------------------------------------------------- */

/* The channel loops of this file store to several rows of one array at
 * run-time strides, which the compiler cannot prove apart, so without
 * this it leaves them scalar: no iteration reads what another writes. */
#if defined(__clang__)
#define INDEPENDENT_CHANNELS _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define INDEPENDENT_CHANNELS _Pragma("GCC ivdep")
#else
#define INDEPENDENT_CHANNELS
#endif

/* A small inner loop (a window's six rows, a kernel's three), unrolled
 * before the channel loop around it is vectorised: without it GCC 12 left
 * grad_input_tile's read-modify-write of six rows ("not suitable for
 * strided load", -fopt-info-vec-missed) and gradient_to_weights' nested
 * loops ("control flow in loop") scalar in every clone, 13% and 8% of a
 * conv epoch's samples once the products ran in AVX-512. */
#if defined(__clang__)
#define UNROLL_WINDOW _Pragma("clang loop unroll(full)")
#elif defined(__GNUC__)
#define UNROLL_WINDOW _Pragma("GCC unroll 6")
#else
#define UNROLL_WINDOW
#endif

/* The kernels' transform, four kernels at a time in SSE lanes: each lane
 * does the scalar code's arithmetic (G over the columns, then over the
 * rows), so the bits are the scalar code's.  The four kernels' taps are
 * gathered straight into the lanes and each of the 36 results is one
 * 4-float store into U.  Through a block of gathered taps on the stack
 * with the arithmetic left to the compiler, this took 38% of one image
 * through experiment 7's model by Winograd (bench_infer, one thread); as
 * one sgemm of (G (x) G) (16 x 9, F(2x2)) by the kernels it was still 30%, BLAS
 * being slow at an inner dimension of 9.
 *
 * U's layout is the pass's (u_layout): the four lanes are four adjacent
 * floats of a row of U, four input channels of one kernel row (U_KC) or
 * four output channels at one input channel (U_CK). */
typedef enum u_layout {
    U_KC, /* xi's block k x c, ci innermost: dV = dM U (backward) */
    U_CK  /* xi's block c x k, o innermost: M = V U (forward) */
} u_layout;

typedef struct kernel_taps {
    const float *first; /* tap 0 of kernel (o, 0) */
    size_t ci_step;     /* from kernel (o, ci) to (o, ci + 1) */
    size_t o_step;      /* from kernel (o, ci) to (o + 1, ci) */
    int flip;           /* tap t at 8 - t (a transposed layer's) */
} kernel_taps;

static kernel_taps taps_of(const ae__winograd *f)
{
    const size_t c = (size_t)f->c, k = (size_t)f->k;
    if (!f->transposed)
        return (kernel_taps){f->weights, 9, c * 9, 0};
    /* g[o][ci][u][v] = weights[ci][o][2-u][2-v] */
    return (kernel_taps){f->weights, k * 9, 9, 1};
}

/* Kernel (o, ci)'s taps. */
static const float *kernel_at(const kernel_taps *kt, int o, int ci)
{
    return kt->first + (size_t)o * kt->o_step + (size_t)ci * kt->ci_step;
}

static float tap(const kernel_taps *kt, const float *g, int t)
{
    return g[kt->flip ? 8 - t : t];
}

/* One kernel, scalar: its XI values at row, stride us. */
static void transform_kernel(const kernel_taps *kt, const float *g, float *row,
                             size_t us)
{
    float q[WINDOW][3], r[WINDOW];
    for (int v = 0; v < 3; v++) { /* columns: G over u */
        const float gc[3] = {tap(kt, g, v), tap(kt, g, 3 + v),
                             tap(kt, g, 6 + v)};
        g3(gc, r);
        for (int a = 0; a < WINDOW; a++)
            q[a][v] = r[a];
    }
    for (int a = 0; a < WINDOW; a++) { /* rows: G over v */
        g3(q[a], r);
        for (int b = 0; b < WINDOW; b++)
            row[(size_t)(a * WINDOW + b) * us] = r[b];
    }
}

#ifdef __SSE__
/* g3 on four lanes, the same operations in the same order. */
static inline void g3_lanes(__m128 g0, __m128 g1, __m128 g2,
                            __m128 o[WINDOW])
{
    const __m128 quarter = _mm_set1_ps(0.25f), six = _mm_set1_ps(6.0f),
                 minus_six = _mm_set1_ps(-6.0f),
                 twelve = _mm_set1_ps(12.0f);
    const __m128 ends = _mm_add_ps(g0, g2),
                 mid = _mm_add_ps(_mm_mul_ps(quarter, g0), g2);
    o[0] = _mm_mul_ps(quarter, g0);
    o[1] = _mm_div_ps(_mm_add_ps(ends, g1), minus_six);
    o[2] = _mm_div_ps(_mm_sub_ps(ends, g1), minus_six);
    o[3] = _mm_add_ps(_mm_div_ps(mid, six), _mm_div_ps(g1, twelve));
    o[4] = _mm_sub_ps(_mm_div_ps(mid, six), _mm_div_ps(g1, twelve));
    o[5] = g2;
}

/* Kernels g, g + lane, g + 2 lane, g + 3 lane into row[0..3]. */
static void transform_4_kernels(const kernel_taps *kt, const float *g,
                                size_t lane, float *row, size_t us)
{
    __m128 gl[9];
    for (int t = 0; t < 9; t++)
        gl[t] = _mm_setr_ps(tap(kt, g, t), tap(kt, g + lane, t),
                            tap(kt, g + 2 * lane, t),
                            tap(kt, g + 3 * lane, t));
    __m128 q[WINDOW][3], r[WINDOW];
    for (int v = 0; v < 3; v++) {
        g3_lanes(gl[v], gl[3 + v], gl[6 + v], r);
        for (int a = 0; a < WINDOW; a++)
            q[a][v] = r[a];
    }
    for (int a = 0; a < WINDOW; a++) {
        g3_lanes(q[a][0], q[a][1], q[a][2], r);
        for (int b = 0; b < WINDOW; b++)
            _mm_storeu_ps(row + (size_t)(a * WINDOW + b) * us, r[b]);
    }
}
#endif

typedef struct kernel_job {
    const ae__winograd *f;
    float *u;
    u_layout layout;
} kernel_job;

/* Output channels 4 first .. 4 last (quads, the last one perhaps short):
 * (G g G^T)[xi] of kernel (o, ci) at U[xi][o][ci] (U_KC) or U[xi][ci][o]
 * (U_CK). */
static void transform_channels(void *ctx, size_t first, size_t last,
                               int part)
{
    (void)part;
    const kernel_job *j = ctx;
    const ae__winograd *f = j->f;
    const kernel_taps kt = taps_of(f);
    const size_t us = u_step(f), c = (size_t)f->c, k = (size_t)f->k;
    first *= 4;
    last = 4 * last < k ? 4 * last : k;
    if (j->layout == U_KC) {
        for (size_t o = first; o < last; o++) {
            float *row = j->u + o * c;
            int ci = 0;
#ifdef __SSE__
            for (; ci + 4 <= f->c; ci += 4)
                transform_4_kernels(&kt, kernel_at(&kt, (int)o, ci),
                                    kt.ci_step, row + ci, us);
#endif
            for (; ci < f->c; ci++)
                transform_kernel(&kt, kernel_at(&kt, (int)o, ci), row + ci,
                                 us);
        }
        return;
    }
    for (int ci = 0; ci < f->c; ci++) {
        float *row = j->u + (size_t)ci * k;
        size_t o = first;
#ifdef __SSE__
        for (; o + 4 <= last; o += 4)
            transform_4_kernels(&kt, kernel_at(&kt, (int)o, ci), kt.o_step,
                                row + o, us);
#endif
        for (; o < last; o++)
            transform_kernel(&kt, kernel_at(&kt, (int)o, ci), row + o, us);
    }
}

/* Kernel floats a thread transforms at least.  Experiment 7's 64 x 64
 * kernels take about 10 us on one thread (perf's share of bench_infer),
 * and handing a part to another thread and waiting for it about 0.75 us:
 * a few hundred kernels a part still gain. */
enum { KERNEL_GRAIN_FLOATS = 4096 };

static void transform_weights(const ae__winograd *f, float *u,
                              u_layout layout)
{
    kernel_job j = {f, u, layout};
    const size_t per_quad = 4 * (size_t)f->c * 9;
    ae__parallel_for(((size_t)f->k + 3) / 4, KERNEL_GRAIN_FLOATS / per_quad + 1,
                     0, transform_channels, &j);
}

/* The gradient goes back to the kernels a block of input channels at a
 * time, so that the arithmetic runs over contiguous channels (dU holds ci
 * innermost); the results are scattered to the kernels' own 3 x 3 order
 * from a block. */
enum { WBLOCK = 64 };

/* dw = beta dw + G^T dU G, written in the layer's weight order. */
AE__VECTOR_CLONES
static void gradient_to_weights(const ae__winograd *f, const float *du,
                                float *dw, float beta)
{
    const size_t us = u_step(f);
    float g[9][WBLOCK];
    for (int o = 0; o < f->k; o++)
        for (int c0 = 0; c0 < f->c; c0 += WBLOCK) {
            const int n = f->c - c0 < WBLOCK ? f->c - c0 : WBLOCK;
            const float *row = du + (size_t)o * f->c + c0;
            INDEPENDENT_CHANNELS
            for (int i = 0; i < n; i++) {
                float q[WINDOW][3], y[WINDOW], r[3];
                UNROLL_WINDOW
                for (int a = 0; a < WINDOW; a++) { /* rows: G^T over columns */
                    UNROLL_WINDOW
                    for (int b = 0; b < WINDOW; b++)
                        y[b] = row[(size_t)(a * WINDOW + b) * us + i];
                    gt6(y, q[a]);
                }
                UNROLL_WINDOW
                for (int v = 0; v < 3; v++) { /* columns: G^T over the rows */
                    float yc[WINDOW];
                    UNROLL_WINDOW
                    for (int a = 0; a < WINDOW; a++)
                        yc[a] = q[a][v];
                    gt6(yc, r);
                    UNROLL_WINDOW
                    for (int uu = 0; uu < 3; uu++)
                        g[uu * 3 + v][i] = r[uu];
                }
            }
            for (int i = 0; i < n; i++) {
                const int ci = c0 + i;
                if (!f->transposed) {
                    float *w = dw + ((size_t)o * f->c + ci) * 9;
                    for (int t = 0; t < 9; t++)
                        w[t] = beta == 0.0f ? g[t][i] : w[t] + g[t][i];
                } else {
                    float *w = dw + ((size_t)ci * f->k + o) * 9;
                    for (int t = 0; t < 9; t++)
                        w[8 - t] = beta == 0.0f ? g[t][i] : w[8 - t] + g[t][i];
                }
            }
        }
}

/* ---- the tile transforms, channels innermost ---------------------------- */

/* The chunk's matrices: XI blocks of T x channels, tile t's row of block
 * xi at base[xi * step + t * channels] (channels contiguous); and each
 * part's image workspace (ws_floats). */
typedef struct chunk {
    const ae__winograd *f;
    size_t nb, T;
    size_t vstep, mstep; /* block strides of V and M */
    const float *u;
    float *v;  /* XI x T x c */
    float *m;  /* XI x T x k */
    float *du; /* XI blocks of k x c, u_step apart */
    float *ws; /* per part */
    const float *x, *dy;
    float *y, *dx;
} chunk;

/* The transforms work on one image at a time with the channels innermost:
 * the image is first copied into a zero-padded grid of pixels x channels
 * (ph x pw x c, every tile's window inside it), so that one step of a
 * tile's transform is the same arithmetic on c contiguous floats, which
 * the compiler vectorises, and the XI values of a tile go to XI rows of
 * c (or k) contiguous floats.  Per plane with the tiles innermost (the
 * first version of this file) the runs were a row of tiles, 4 to 7 long
 * on these layers, and the transforms took about half a layer's time. */
static int padded_h(const ae__winograd *f) { return TILE * f->th + 2; }
static int padded_w(const ae__winograd *f) { return TILE * f->tw + 2; }

static size_t ws_floats(const ae__winograd *f)
{
    const size_t wide = (size_t)(f->c > f->k ? f->c : f->k);
    return (size_t)padded_h(f) * (size_t)padded_w(f) * wide;
}

/* The n-channel rows of the 36 window pixels of a tile (row stride rs,
 * pixel stride n) to V's 36 rows (block stride step): B^T d B. */
AE__VECTOR_CLONES
static void input_tile(int n, size_t rs, const float *restrict d,
                       size_t step, float *restrict v)
{
    const size_t p = (size_t)n;
    INDEPENDENT_CHANNELS
    for (int q = 0; q < n; q++) {
        float t[WINDOW][WINDOW];
        for (int e = 0; e < WINDOW; e++) { /* B^T over the window's rows */
            const float *c = d + e * p + q;
            const float d0 = c[0], d1 = c[rs], d2 = c[2 * rs], d3 = c[3 * rs],
                        d4 = c[4 * rs], d5 = c[5 * rs];
            const float a = d4 - 4.0f * d2, b = d3 - 4.0f * d1,
                        s = d4 - d2, u = 2.0f * (d3 - d1);
            t[0][e] = 4.0f * d0 - 5.0f * d2 + d4;
            t[1][e] = a + b;
            t[2][e] = a - b;
            t[3][e] = s + u;
            t[4][e] = s - u;
            t[5][e] = 4.0f * d1 - 5.0f * d3 + d5;
        }
        for (int r = 0; r < WINDOW; r++) { /* then over its columns */
            const float *x = t[r];
            const float a = x[4] - 4.0f * x[2], b = x[3] - 4.0f * x[1],
                        s = x[4] - x[2], u = 2.0f * (x[3] - x[1]);
            float *o = v + (size_t)(r * WINDOW) * step + q;
            o[0] = 4.0f * x[0] - 5.0f * x[2] + x[4];
            o[step] = a + b;
            o[2 * step] = a - b;
            o[3 * step] = s + u;
            o[4 * step] = s - u;
            o[5 * step] = 4.0f * x[1] - 5.0f * x[3] + x[5];
        }
    }
}

/* M's 36 rows of n channels of a tile to its 4 x 4 outputs (row stride
 * rs, pixel stride n): A^T M A. */
AE__VECTOR_CLONES
static void output_tile(int n, size_t step, const float *restrict m,
                        size_t rs, float *restrict y)
{
    const size_t p = (size_t)n;
    INDEPENDENT_CHANNELS
    for (int q = 0; q < n; q++) {
        float s[TILE][WINDOW];
        for (int e = 0; e < WINDOW; e++) { /* A^T over the rows */
            const float *c = m + (size_t)e * step + q;
            const size_t row = (size_t)WINDOW * step;
            const float m0 = c[0], m1 = c[row], m2 = c[2 * row],
                        m3 = c[3 * row], m4 = c[4 * row], m5 = c[5 * row];
            const float a = m1 + m2, b = m1 - m2, u = m3 + m4, w = m3 - m4;
            s[0][e] = m0 + a + u;
            s[1][e] = b + 2.0f * w;
            s[2][e] = a + 4.0f * u;
            s[3][e] = b + 8.0f * w + m5;
        }
        for (int r = 0; r < TILE; r++) { /* then over the columns */
            const float *x = s[r];
            const float a = x[1] + x[2], b = x[1] - x[2], u = x[3] + x[4],
                        w = x[3] - x[4];
            float *o = y + r * rs + q;
            o[0] = x[0] + a + u;
            o[p] = b + 2.0f * w;
            o[2 * p] = a + 4.0f * u;
            o[3 * p] = b + 8.0f * w + x[5];
        }
    }
}

/* A tile's 4 x 4 output gradients (row stride rs, pixel stride n) to dM's
 * 36 rows: A g A^T, the adjoint of output_tile. */
AE__VECTOR_CLONES
static void grad_output_tile(int n, size_t rs, const float *restrict g,
                             size_t step, float *restrict m)
{
    const size_t p = (size_t)n;
    INDEPENDENT_CHANNELS
    for (int q = 0; q < n; q++) {
        float e6[TILE][WINDOW];
        for (int r = 0; r < TILE; r++) { /* A over the columns */
            const float *c = g + r * rs + q;
            const float g0 = c[0], g1 = c[p], g2 = c[2 * p], g3 = c[3 * p];
            const float a = g0 + g2, b = g1 + g3, u = g0 + 4.0f * g2,
                        w = 2.0f * g1 + 8.0f * g3;
            e6[r][0] = g0;
            e6[r][1] = a + b;
            e6[r][2] = a - b;
            e6[r][3] = u + w;
            e6[r][4] = u - w;
            e6[r][5] = g3;
        }
        for (int e = 0; e < WINDOW; e++) { /* then over the rows */
            const float g0 = e6[0][e], g1 = e6[1][e], g2 = e6[2][e],
                        g3 = e6[3][e];
            const float a = g0 + g2, b = g1 + g3, u = g0 + 4.0f * g2,
                        w = 2.0f * g1 + 8.0f * g3;
            float *o = m + (size_t)e * step + q;
            const size_t row = (size_t)WINDOW * step;
            o[0] = g0;
            o[row] = a + b;
            o[2 * row] = a - b;
            o[3 * row] = u + w;
            o[4 * row] = u - w;
            o[5 * row] = g3;
        }
    }
}

/* dV's 36 rows of a tile, B dV B^T (the adjoint of input_tile), added to
 * the 6 x 6 window of the padded input gradient (row stride rs). */
AE__VECTOR_CLONES
static void grad_input_tile(int n, size_t step, const float *restrict dv,
                            size_t rs, float *restrict dx)
{
    const size_t p = (size_t)n;
    INDEPENDENT_CHANNELS
    for (int q = 0; q < n; q++) {
        float t[WINDOW][WINDOW];
        for (int r = 0; r < WINDOW; r++) { /* B over the columns */
            const float *c = dv + (size_t)(r * WINDOW) * step + q;
            const float y0 = c[0], y1 = c[step], y2 = c[2 * step],
                        y3 = c[3 * step], y4 = c[4 * step], y5 = c[5 * step];
            t[r][0] = 4.0f * y0;
            t[r][1] = 4.0f * (y2 - y1 + y5) + 2.0f * (y4 - y3);
            t[r][2] = -5.0f * y0 - 4.0f * (y1 + y2) - (y3 + y4);
            t[r][3] = y1 - y2 + 2.0f * (y3 - y4) - 5.0f * y5;
            t[r][4] = y0 + y1 + y2 + y3 + y4;
            t[r][5] = y5;
        }
        UNROLL_WINDOW
        for (int e = 0; e < WINDOW; e++) { /* then over the rows */
            const float y0 = t[0][e], y1 = t[1][e], y2 = t[2][e],
                        y3 = t[3][e], y4 = t[4][e], y5 = t[5][e];
            float *o = dx + e * p + q;
            o[0] += 4.0f * y0;
            o[rs] += 4.0f * (y2 - y1 + y5) + 2.0f * (y4 - y3);
            o[2 * rs] += -5.0f * y0 - 4.0f * (y1 + y2) - (y3 + y4);
            o[3 * rs] += y1 - y2 + 2.0f * (y3 - y4) - 5.0f * y5;
            o[4 * rs] += y0 + y1 + y2 + y3 + y4;
            o[5 * rs] += y5;
        }
    }
}

/* Between the planes (channel-major, as the layers hold images) and the
 * grids (channels innermost) the transforms work on: a transpose of
 * channels x pixels.  Element by element it took about half of the
 * transforms' time (strided scalar stores, perf), so it goes by blocks of
 * 4 channels x 4 pixels, transposed in registers where SSE is there.  A
 * row or a channel count that is not a multiple of 4 ends with a block
 * that overlaps the one before it (both copy the same values), not with
 * scalar tails: at 7 x 7 those were 3 columns in 7. */
static int block_start(int i, int n)
{
    return i + 4 <= n ? i : n - 4;
}

/* h rows of w pixels of n planes (src at the first row of plane 0; plane:
 * the floats from one plane to the next) into rows r0 .. r0 + h, columns
 * c0 .. c0 + w of a grid gw pixels wide.
 * Four planes at a time over all their rows, so that the reads are four
 * runs in memory order.  Row by row over all the planes (a jump of a
 * plane between two reads, which the hardware's prefetch did not follow)
 * this was 16% of experiment 7's 32 -> 64 layer's training pass, waiting
 * on its loads, and 7.6% this way; the pass took 13% less time
 * (bench_conv, two threads, median of 7 alternating runs). */
static void planes_to_grid(const float *restrict src, int n, int h, int w,
                           size_t plane, float *restrict grid, int gw, int r0,
                           int c0)
{
    const size_t px = (size_t)n;
#ifdef __SSE__
    if (n >= 4 && w >= 4) {
        for (int cb = 0; cb < n; cb += 4) {
            const int ch = block_start(cb, n);
            for (int r = 0; r < h; r++) {
                float *g = grid + ((size_t)(r0 + r) * gw + c0) * px;
                const float *s0 = src + (size_t)r * w + (size_t)ch * plane;
                for (int cc = 0; cc < w; cc += 4) {
                    const int col = block_start(cc, w);
                    __m128 a = _mm_loadu_ps(s0 + col),
                           b = _mm_loadu_ps(s0 + plane + col),
                           c = _mm_loadu_ps(s0 + 2 * plane + col),
                           d = _mm_loadu_ps(s0 + 3 * plane + col);
                    _MM_TRANSPOSE4_PS(a, b, c, d);
                    float *o = g + (size_t)col * px + ch;
                    _mm_storeu_ps(o, a);
                    _mm_storeu_ps(o + px, b);
                    _mm_storeu_ps(o + 2 * px, c);
                    _mm_storeu_ps(o + 3 * px, d);
                }
            }
        }
        return;
    }
#endif
    for (int r = 0; r < h; r++) {
        float *g = grid + ((size_t)(r0 + r) * gw + c0) * px;
        const float *s = src + (size_t)r * w;
        for (int ch = 0; ch < n; ch++)
            for (int col = 0; col < w; col++)
                g[(size_t)col * px + ch] = s[(size_t)ch * plane + col];
    }
}

/* The inverse, rows r0 .. r0 + h and columns c0 .. c0 + w of the grid to
 * h rows of w pixels of n planes, plane floats apart, plus bias[ch] if
 * bias is not NULL, then through ReLU if relu is set (as the activation
 * pass would, on values still in registers). */
static void grid_to_planes(const float *restrict grid, int n, int gw, int r0,
                           int c0, int h, int w, const float *bias, int relu,
                           float *restrict dst, size_t plane)
{
    const size_t px = (size_t)n;
#ifdef __SSE__
    if (n >= 4 && w >= 4) {
        /* max(lowest, v) is v < 0 ? 0 : v with lowest 0 (NaN passes:
         * maxps returns its second operand when unordered), and v with
         * lowest -infinity. */
        const __m128 lowest = _mm_set1_ps(relu ? 0.0f : -INFINITY);
        for (int cb = 0; cb < n; cb += 4) {
            const int ch = block_start(cb, n);
            const __m128 vb0 = _mm_set1_ps(bias ? bias[ch] : 0.0f),
                         vb1 = _mm_set1_ps(bias ? bias[ch + 1] : 0.0f),
                         vb2 = _mm_set1_ps(bias ? bias[ch + 2] : 0.0f),
                         vb3 = _mm_set1_ps(bias ? bias[ch + 3] : 0.0f);
            for (int r = 0; r < h; r++) {
                const float *g = grid + ((size_t)(r0 + r) * gw + c0) * px;
                float *o0 = dst + (size_t)ch * plane + (size_t)r * w;
                for (int cc = 0; cc < w; cc += 4) {
                    const int col = block_start(cc, w);
                    const float *gi = g + (size_t)col * px + ch;
                    __m128 a = _mm_loadu_ps(gi), b = _mm_loadu_ps(gi + px),
                           c = _mm_loadu_ps(gi + 2 * px),
                           d = _mm_loadu_ps(gi + 3 * px);
                    _MM_TRANSPOSE4_PS(a, b, c, d);
                    _mm_storeu_ps(o0 + col,
                                  _mm_max_ps(lowest, _mm_add_ps(a, vb0)));
                    _mm_storeu_ps(o0 + plane + col,
                                  _mm_max_ps(lowest, _mm_add_ps(b, vb1)));
                    _mm_storeu_ps(o0 + 2 * plane + col,
                                  _mm_max_ps(lowest, _mm_add_ps(c, vb2)));
                    _mm_storeu_ps(o0 + 3 * plane + col,
                                  _mm_max_ps(lowest, _mm_add_ps(d, vb3)));
                }
            }
        }
        return;
    }
#endif
    for (int ch = 0; ch < n; ch++) {
        const float b = bias ? bias[ch] : 0.0f;
        for (int r = 0; r < h; r++) {
            const float *g = grid + ((size_t)(r0 + r) * gw + c0) * px;
            float *o = dst + (size_t)ch * plane + (size_t)r * w;
            for (int col = 0; col < w; col++) {
                const float v = g[(size_t)col * px + ch] + b;
                o[col] = relu && v < 0.0f ? 0.0f : v;
            }
        }
    }
}

/* Zero the grid (gh x gw pixels x n channels) outside rows r0 .. r0 + h
 * and columns c0 .. c0 + w. */
static void zero_border(float *grid, int n, int gh, int gw, int r0, int c0,
                        int h, int w)
{
    const size_t px = (size_t)n, row = (size_t)gw * px;
    memset(grid, 0, (size_t)r0 * row * sizeof(float));
    memset(grid + (size_t)(r0 + h) * row, 0,
           (size_t)(gh - r0 - h) * row * sizeof(float));
    for (int r = r0; r < r0 + h; r++) {
        float *g = grid + (size_t)r * row;
        memset(g, 0, (size_t)c0 * px * sizeof(float));
        memset(g + (size_t)(c0 + w) * px, 0,
               (size_t)(gw - c0 - w) * px * sizeof(float));
    }
}

/* Tile t of image b within the chunk. */
static size_t tile_index(const ae__winograd *f, size_t b, int ti, int tj)
{
    return b * tiles_of(f) + (size_t)ti * (size_t)f->tw + (size_t)tj;
}

/* The corner of tile (ti, tj) in a grid of row stride rs, n channels. */
static float *tile_corner(float *grid, size_t rs, int n, int ti, int tj)
{
    return grid + (size_t)(TILE * ti) * rs + (size_t)(TILE * tj) * (size_t)n;
}

/* V for tile rows t0 .. t1 of image b of the chunk.  The grid in ws
 * holds the padded rows those tiles read, 4 t0 .. 4 t1 + 2; whole images
 * take all the rows at once, a single image's rows are shared among the
 * threads (run_stage).  Each tile is the same arithmetic either way. */
static void input_rows(const chunk *ch, size_t b, int t0, int t1, float *ws)
{
    const ae__winograd *f = ch->f;
    const int c = f->c, pw = padded_w(f), gh = TILE * (t1 - t0) + 2;
    const size_t plane = (size_t)f->h * (size_t)f->w;
    /* The input rows inside the grid, and where the first one lands. */
    const int first = TILE * t0 - f->pad, end = TILE * t1 + 2 - f->pad;
    const int i0 = first > 0 ? first : 0, i1 = end < f->h ? end : f->h;
    const int rows = i1 > i0 ? i1 - i0 : 0;
    const int r0 = rows > 0 ? i0 - first : 0;
    zero_border(ws, c, gh, pw, r0, f->pad, rows, f->w);
    planes_to_grid(ch->x + b * (size_t)c * plane + (size_t)i0 * f->w, c, rows,
                   f->w, plane, ws, pw, r0, f->pad);
    const size_t rs = (size_t)pw * c;
    for (int ti = t0; ti < t1; ti++)
        for (int tj = 0; tj < f->tw; tj++)
            input_tile(c, rs, tile_corner(ws, rs, c, ti - t0, tj), ch->vstep,
                       ch->v + tile_index(f, b, ti, tj) * c);
}

/* Output rows 4 t0 .. 4 t1 of image b from M, + bias, then the
 * activation on each channel's rows. */
static void output_rows(const chunk *ch, size_t b, int t0, int t1, float *ws)
{
    const ae__winograd *f = ch->f;
    const int k = f->k, gw = TILE * f->tw;
    const size_t rs = (size_t)gw * k, plane = (size_t)f->oh * (size_t)f->ow;
    for (int ti = t0; ti < t1; ti++)
        for (int tj = 0; tj < f->tw; tj++)
            output_tile(k, ch->mstep, ch->m + tile_index(f, b, ti, tj) * k, rs,
                        tile_corner(ws, rs, k, ti - t0, tj));
    const int top = TILE * t0, last = TILE * t1 < f->oh ? TILE * t1 : f->oh;
    float *y = ch->y + b * (size_t)k * plane + (size_t)top * f->ow;
    const size_t run = (size_t)(last - top) * (size_t)f->ow;
    const int relu = f->act == AE_ACT_RELU;
    grid_to_planes(ws, k, gw, 0, 0, last - top, f->ow, f->bias, relu, y,
                   plane);
    if (f->act != AE_ACT_NONE && !relu)
        for (int o = 0; o < k; o++)
            ae__activation_forward_serial(f->act, f->act_param,
                                          y + (size_t)o * plane, run);
}

/* dM for image b's output gradient (the tiles' parts beyond the output
 * read as 0). */
static void grad_output_image(const chunk *ch, size_t b, float *ws)
{
    const ae__winograd *f = ch->f;
    const int k = f->k, gh = TILE * f->th, gw = TILE * f->tw;
    const size_t plane = (size_t)f->oh * (size_t)f->ow;
    zero_border(ws, k, gh, gw, 0, 0, f->oh, f->ow);
    planes_to_grid(ch->dy + b * (size_t)k * plane, k, f->oh, f->ow, plane, ws,
                   gw, 0, 0);
    const size_t rs = (size_t)gw * k;
    for (int ti = 0; ti < f->th; ti++)
        for (int tj = 0; tj < f->tw; tj++)
            grad_output_tile(k, rs, tile_corner(ws, rs, k, ti, tj),
                             ch->mstep, ch->m + tile_index(f, b, ti, tj) * k);
}

/* Image b's input gradient from dV (in the V block): the tiles' windows
 * added in a fixed order into the padded grid, then its interior
 * written out. */
static void grad_input_image(const chunk *ch, size_t b, float *ws)
{
    const ae__winograd *f = ch->f;
    const int c = f->c, pw = padded_w(f);
    const size_t rs = (size_t)pw * c;
    memset(ws, 0, (size_t)padded_h(f) * rs * sizeof(float));
    for (int ti = 0; ti < f->th; ti++)
        for (int tj = 0; tj < f->tw; tj++)
            grad_input_tile(c, ch->vstep,
                            ch->v + tile_index(f, b, ti, tj) * c, rs,
                            tile_corner(ws, rs, c, ti, tj));
    const size_t plane = (size_t)f->h * (size_t)f->w;
    grid_to_planes(ws, c, pw, f->pad, f->pad, f->h, f->w, NULL, 0,
                   ch->dx + b * (size_t)c * plane, plane);
}

/* ---- the stages of a chunk ----------------------------------------------- */

/* Each stage is a loop over independent items (images, or the XI products)
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
    const size_t us = u_step(f), cT = ch->vstep, kT = ch->mstep;
    /* One plan for this call's products: they all have one shape. */
    ae__small_gemm g;
    if (j->s == PRODUCT) /* M[xi] (T x k) = V[xi] (T x c) U[xi] (c x k) */
        ae__small_gemm_plan(&g, 0, T, k, c, c, k, k);
    else if (j->s == GRAD_U) /* dU[xi] (k x c) = dM[xi]^T V[xi] */
        ae__small_gemm_plan(&g, 1, k, c, T, k, c, c);
    else if (j->s == GRAD_V) /* dV[xi] (T x c) = dM[xi] (T x k) U[xi] (k x c) */
        ae__small_gemm_plan(&g, 0, T, c, k, k, c, c);
    for (size_t i = first; i < last; i++)
        switch (j->s) {
        case INPUT:
            input_rows(ch, i, 0, f->th, ws);
            break;
        case PRODUCT:
            ae__small_gemm_run(&g, ch->v + i * cT, ch->u + i * us,
                               ch->m + i * kT);
            break;
        case OUTPUT:
            output_rows(ch, i, 0, f->th, ws);
            break;
        case GRAD_OUTPUT:
            grad_output_image(ch, i, ws);
            break;
        case GRAD_U:
            ae__small_gemm_run(&g, ch->m + i * kT, ch->v + i * cT,
                               ch->du + i * us);
            break;
        case GRAD_V:
            ae__small_gemm_run(&g, ch->m + i * kT, ch->u + i * us,
                               ch->v + i * cT);
            break;
        case GRAD_INPUT:
            grad_input_image(ch, i, ws);
            break;
        }
}

/* A single image's forward transforms, by tile rows. */
static void tile_row_items(void *ctx, size_t first, size_t last, int part)
{
    const stage_job *j = ctx;
    float *ws = j->ch->ws + (size_t)part * ws_floats(j->ch->f);
    if (j->s == INPUT)
        input_rows(j->ch, 0, (int)first, (int)last, ws);
    else
        output_rows(j->ch, 0, (int)first, (int)last, ws);
}

static void run_stage(const chunk *ch, stage s)
{
    stage_job j = {ch, s};
    if (ch->nb == 1 && (s == INPUT || s == OUTPUT)) {
        ae__parallel_for_blas((size_t)ch->f->th, 1, 0, tile_row_items, &j);
        return;
    }
    /* The XI products, or the images of the chunk. */
    const size_t n = s == PRODUCT || s == GRAD_U || s == GRAD_V ? XI : ch->nb;
    ae__parallel_for_blas(n, 1, 0, stage_items, &j);
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
    /* dU, and one image workspace: inside the schedule a chunk's stages
     * run on its own thread (as part 0).  A batch of one chunk, whose
     * stages share the threads, gets the others' in
     * ae__winograd_scratch; sizing every chunk for every thread grew
     * as the threads squared once the workspace was a whole image. */
    m.per_chunk = 2 * XI * BLOCK_GAP + u_floats(f) + ws_floats(f);
    m.chunk_floats = chunk_floats();
    return m;
}

size_t ae__winograd_scratch(const ae__winograd *f, size_t batch,
                            size_t n_weights)
{
    const ctx cx = {f, NULL};
    const ae__conv_method m = method_of(f, &cx);
    /* A single chunk runs outside the schedule from the start of the
     * rest, with an image workspace for each thread after its own. */
    const size_t threads = (size_t)ae__thread_count();
    return u_floats(f) + ae__conv_scratch_of(&m, batch, n_weights) +
           (threads - 1) * ws_floats(f);
}

ae__winograd_cache *ae__winograd_cache_of(ae_layer *l, const ae__winograd *f)
{
    if (!ae__model_forward_only(l->model))
        return NULL;
    if (l->state != NULL)
        return l->state;
    ae__winograd_cache *cache = ae__calloc(1, sizeof *cache);
    float *u = ae__calloc(u_floats(f), sizeof(float));
    if (cache == NULL || u == NULL) {
        ae__free(cache);
        ae__free(u);
        return NULL;
    }
    cache->u = u;
    l->state = cache;
    return cache;
}

void ae__winograd_cache_destroy(ae_layer *l)
{
    ae__winograd_cache *cache = l->state;
    if (cache != NULL)
        ae__free(cache->u);
    ae__free(cache);
    l->state = NULL;
}

/* The forward pass's U: the cache's, brought up to the layer's parameter
 * version, or transformed into scratch without a cache. */
static const float *forward_u(const ae_layer *l, const ae__winograd *f,
                              float *scratch)
{
    ae__winograd_cache *cache = f->cache;
    if (cache == NULL) {
        transform_weights(f, scratch, U_CK);
        return scratch;
    }
    if (!cache->filled || cache->version != l->params_version) {
        transform_weights(f, cache->u, U_CK);
        cache->filled = 1;
        cache->version = l->params_version;
    }
    return cache->u;
}

void ae__winograd_forward(const ae_layer *l, const ae__winograd *f,
                          const float *x, float *y, size_t batch,
                          float *scratch)
{
    const ctx cx = {f, forward_u(l, f, scratch)};
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
    transform_weights(f, scratch, U_KC);
    const ctx cx = {f, scratch};
    const ae__conv_method m = method_of(f, &cx);
    float *rest = scratch + u_floats(f);
    if (ae__conv_chunk(&m, batch) >= batch) {
        /* One chunk is one gradient group: the schedule's sum of one
         * partial is a copy, so writing the gradient in place gives the
         * same bits. */
        backward_chunk(&cx, x, dy, dx, batch, l->grad_weights, 0.0f, rest);
        return;
    }
    ae__conv_backward(l, &m, x, dy, dx, batch, rest, l->grad_weights);
}

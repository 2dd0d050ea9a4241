/*
 * conv_winograd.h - 3x3, stride-1 convolutions by Winograd's minimal
 * filtering F(4x4, 3x3) (private; the math is in conv_winograd.c).
 *
 * Both convolution layers use it where it wins (ae__winograd_suits): a
 * conv2d with a 3x3 kernel at stride 1, and a conv_transpose2d with a 3x3
 * kernel at stride 1, which is the convolution of its input by the
 * flipped, transposed kernel at padding 2 - p.  It computes on the layers'
 * own weights and gradients and runs on the convolutions' schedule
 * (conv_gemm.h), so the chunks, the gradient groups and the bits
 * across thread counts are as for the direct paths.
 */
#ifndef AE_CONV_WINOGRAD_H
#define AE_CONV_WINOGRAD_H

#include "nn/layer.h"

/* Outputs per side of a tile: F(4x4, 3x3). */
#define AE__WINOGRAD_TILE 4

/* Tiles along a side of n outputs. */
static inline int ae__winograd_tiles(int n)
{
    return (n + AE__WINOGRAD_TILE - 1) / AE__WINOGRAD_TILE;
}

/* The convolution computed: c input channels of h x w, zero-padded by pad,
 * to k output channels of oh x ow = (h + 2 pad - 2) x (w + 2 pad - 2),
 * covered by th x tw tiles of 4 x 4 outputs (ae__winograd_tiles). */
typedef struct ae__winograd {
    int c, k;
    int h, w, pad;
    int oh, ow, th, tw;
    /* 0: the weights are a conv2d's, k x c x 3 x 3, g[o][ci] = weights[o][ci];
     * 1: a conv_transpose2d's, c x k x 3 x 3 (its input channels first),
     *    g[o][ci][u][v] = weights[ci][o][2-u][2-v]. */
    int transposed;
    const float *weights; /* the layer's */
    const float *bias; /* k, added by the forward pass */
    /* Applied by the forward pass to the rows it has just written, still
     * in cache (a conv2d's; AE_ACT_NONE for a layer whose model applies
     * it). */
    ae_activation act;
    float act_param;
    /* Optional (NULL: none): where the forward pass keeps the transformed
     * kernels for the next one (ae__winograd_cache_of). */
    struct ae__winograd_cache *cache;
} ae__winograd;

/* The forward pass's transformed kernels, kept by the layer between
 * forward-only passes: one image through experiment 7's model spent 13%
 * of its time transforming the same kernels again (bench_infer, one
 * thread).  They are computed again when the layer's params_version
 * (layer.h) has moved since, and so are the same floats either way. */
typedef struct ae__winograd_cache {
    float *u;         /* the forward pass's U */
    int filled;       /* 1 once u holds the kernels of */
    uint64_t version; /* this parameter version */
} ae__winograd_cache;

/* The cache of layer l, computing f, for a forward-only pass: l->state,
 * made on the layer's first such pass.  NULL in a training pass (the
 * weights change every step) or out of memory (the pass then transforms
 * the kernels into its scratch, as training does). */
ae__winograd_cache *ae__winograd_cache_of(ae_layer *l, const ae__winograd *f);

/* The destroy op of a layer whose state is such a cache. */
void ae__winograd_cache_destroy(ae_layer *l);

/* Whether a layer of this shape runs by Winograd, at any batch: 3x3
 * kernel, stride 1, at least 8 input and 8 output channels (a conv2d, or
 * a conv_transpose2d: transposed = 1, measured alike); the measurements
 * behind it are in conv_winograd.c.  in_c and out_c are the layer's.  The
 * choice depends on the shapes alone, never on the batch or the thread
 * count.  Always 0 while the fast path is switched off
 * (ae__winograd_allow). */
int ae__winograd_suits(int in_c, int out_c, int kernel, int stride,
                       int transposed);

/* Tests and benchmarks only: 0 sends every convolution down its direct
 * path, 1 (the default) lets ae__winograd_suits choose, 2 takes Winograd
 * for every 3x3 stride-1 shape (to test it where the rule leaves the
 * direct path).  Set it between passes, never during one; the layers
 * size their scratch for either path, so a model needs nothing else. */
void ae__winograd_allow(int mode);

/* Floats of layer scratch for batch images: the transformed weights, the
 * schedule's partial gradients and each thread's chunk scratch. */
size_t ae__winograd_scratch(const ae__winograd *f, size_t batch,
                            size_t n_weights);

/* y = act(the convolution of batch images of x, + bias). */
void ae__winograd_forward(const ae_layer *l, const ae__winograd *f,
                          const float *x, float *y, size_t batch,
                          float *scratch);

/* l->grad_weights (in the layer's own weight order) and l->grad_bias from
 * dy, and dx (if not NULL) the input gradient. */
void ae__winograd_backward(ae_layer *l, const ae__winograd *f,
                           const float *x, const float *dy, float *dx,
                           size_t batch, float *scratch);

#endif /* AE_CONV_WINOGRAD_H */

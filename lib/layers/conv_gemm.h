/*
 * conv_gemm.h - the sgemm work of the two convolution layers (private).
 *
 * The schedule.  A batch is cut into chunks of ae__image_chunk images
 * (one image where the products work in place, ae__in_place), each one
 * sgemm on one thread (BLAS single-threaded meanwhile, parallel.h), with
 * per-image work (image-to-columns, layouts) beside it in cache.  For the
 * weight gradient the chunks form 16 contiguous groups
 * (fewer if there are fewer chunks); each group accumulates its chunks
 * into a partial gradient of its own and the partials are summed in group
 * order, so the result depends on the batch and the shapes, never on the
 * thread count.  Threads take contiguous ranges of chunks (forward) or of
 * groups (backward), each with its own chunk scratch.  A layer hands the
 * schedule what it computes on one chunk (ae__conv_method).
 *
 * The columns formulation, which both layers compute with: a transposed
 * convolution's forward pass is a convolution's input-gradient pass and
 * the other way round.  It joins a patch side, an image of g.c x g.h x g.w
 * read through patches g (image_layout.h), and a grid side, m channels over
 * the g.oh x g.ow patch positions, by weights W of m x g.c*k*k:
 *   grid  = W cols, cols = im2col(patch)   conv2d forward,
 *                                          conv_transpose2d dx
 *   patch = col2im(W^T grid)               conv2d dx,
 *                                          conv_transpose2d forward
 *   dW    = grid cols^T                    both weight gradients, with
 *                                          the output gradient on its side
 * A conv2d's input is its patch side, a transposed convolution's output.
 */
#ifndef AE_CONV_GEMM_H
#define AE_CONV_GEMM_H

#include "layers/image_layout.h"

/* ---- the schedule ------------------------------------------------------ */

/* What a layer computes on one chunk of nb images.  The data pointers are
 * at the chunk's first image; scratch holds nb * per_image + per_chunk
 * floats, the calling thread's own.  backward sets dw = beta * dw + the chunk's weight
 * gradient (beta 0 for the first chunk of a group, 1 after), and the
 * chunk's input gradient if dx is not NULL. */
typedef struct ae__conv_method {
    size_t per_image;
    void (*forward)(const void *ctx, const float *x, float *y, size_t nb,
                    float *scratch);
    void (*backward)(const void *ctx, const float *x, const float *dy,
                     float *dx, size_t nb, float *dw, float beta,
                     float *scratch);
    const void *ctx;
    /* Optional (0 if not): floats a chunk needs whatever its size, and a
     * chunk budget other than ae__image_chunk's, for a method whose
     * products want more images each. */
    size_t per_chunk;
    size_t chunk_floats;
} ae__conv_method;

/* Scratch floats the schedule needs for a layer with n_weights weights
 * under that method: the per-group partial gradients and each thread's
 * chunk scratch. */
size_t ae__conv_scratch_of(const ae__conv_method *method, size_t batch,
                           size_t n_weights);
/* Scratch floats ae__conv_forward alone needs (the threads' chunk
 * scratch, no partial gradients). */
size_t ae__conv_forward_scratch_of(const ae__conv_method *method,
                                   size_t batch);
/* Images per chunk of a batch under that method (monotone in batch). */
size_t ae__conv_chunk(const ae__conv_method *method, size_t batch);

/* y = the layer's output on batch images of x, method->forward on every
 * chunk.  scratch holds ae__conv_forward_scratch_of floats (fewer than
 * ae__conv_scratch_of's). */
void ae__conv_forward(const ae_layer *l, const ae__conv_method *method,
                      const float *x, float *y, size_t batch, float *scratch);

/* method->backward on every chunk; the partial weight gradients are summed
 * into dw (n_weights floats, not in scratch), and dx (if not NULL)
 * receives the input gradient.  The bias gradient is the model's
 * (ae__activation_backward_channels). */
void ae__conv_backward(ae_layer *l, const ae__conv_method *method,
                       const float *x, const float *dy, float *dx,
                       size_t batch, float *scratch, float *dw);

/* ---- the columns formulation ------------------------------------------- */

/* Whether a chunk's products read and write the batch where it lies, one
 * product per image, rather than through a channel-major copy of the
 * chunk, one product for all its images: the copy and its way back
 * (ae__to_channel_major, ae__from_channel_major) took a fifth of
 * experiment 7's 1 -> 32 layer's samples at 28 x 28, where one image's
 * products are long enough (docs/PERFORMANCE.md, 2026-12-07).  Smaller
 * planes keep the copies, which give a product the columns of several
 * images: measured only at 28 x 28 (the exp7 and exp6 layers that take
 * this path there), the bound at 14 x 14 is a choice. */
#define AE__IN_PLACE_PLANE ((size_t)196)

static inline int ae__in_place(size_t plane)
{
    return plane >= AE__IN_PLACE_PLANE;
}

/* A direct path's method, passes and context still to set: where its
 * products work in place, a chunk is one image, whose columns and
 * products then stay in the core's cache (at 28 x 28 the schedule's
 * budget gave 1 -> 32 chunks of 18 images, 1.8 MB of output). */
static inline ae__conv_method ae__direct_method(size_t per_image,
                                                size_t plane)
{
    return (ae__conv_method){
        .per_image = per_image,
        .chunk_floats = ae__in_place(plane) ? per_image : 0};
}

typedef struct ae__conv_cols {
    ae__patches g;     /* the patch side and its patches */
    int m;             /* channels of the grid side */
    const float *w;    /* m x g.c*k*k, row-major */
    const float *bias; /* per output channel, for the forward passes */
} ae__conv_cols;

/* Chunk scratch per image: the columns (c*k*k x oh*ow) and, unless the
 * products work in place, after all of a chunk's columns the grid side in
 * channel-major order (m x oh*ow).  The passes below lay out a chunk's
 * data there and compute from it. */
size_t ae__cols_per_image(const ae__conv_cols *f);

/* Lay out nb images of the patch side as columns, or of the grid side in
 * channel-major order (nothing to do when the products work in place). */
void ae__cols_lay_patch(const ae__conv_cols *f, const float *patch,
                        size_t nb, float *scratch);
void ae__cols_lay_grid(const ae__conv_cols *f, const float *grid, size_t nb,
                       float *scratch);

/* From laid-out columns: grid = W cols (+ bias[channel], if not NULL).
 * Overwrites the laid-out grid side. */
void ae__cols_to_grid(const ae__conv_cols *f, size_t nb, const float *bias,
                      float *grid, float *scratch);

/* From the grid side (nb images of it, laid out): patch = (bias[channel]
 * or 0) + col2im(W^T grid).  Overwrites the columns. */
void ae__cols_to_patch(const ae__conv_cols *f, size_t nb, const float *bias,
                       const float *grid, float *patch, float *scratch);

/* From both laid out: dw = beta * dw + grid cols^T. */
void ae__cols_weight_grad(const ae__conv_cols *f, size_t nb,
                          const float *grid, float *dw, float beta,
                          float *scratch);

#endif /* AE_CONV_GEMM_H */

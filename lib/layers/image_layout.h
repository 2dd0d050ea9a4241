/*
 * image_layout.h - helpers shared by the image-shaped layers: the patch
 * geometry behind convolutions (image-to-columns and its adjoint), layout
 * changes between a batch and the channel-major matrices sgemm works on,
 * the images per sgemm chunk, and the pooling layer's recorded argmax
 * positions that the unpooling layer reads.
 */
#ifndef AE_IMAGE_LAYOUT_H
#define AE_IMAGE_LAYOUT_H

#include "nn/layer.h"

/* Patches of k x k taken from an image of c x h x w, zero-padded by pad on
 * every side, at stride `stride`, on a grid of oh x ow positions.  A
 * convolution reads its input through it; a transposed convolution writes
 * its output through the adjoint. */
typedef struct ae__patches {
    int c, h, w;
    int k, stride, pad;
    int oh, ow;
} ae__patches;

/* Rows of the column matrix: c * k * k. */
static inline size_t ae__patch_rows(const ae__patches *g)
{
    return (size_t)g->c * (size_t)g->k * (size_t)g->k;
}

/* Columns per image: oh * ow. */
static inline size_t ae__patch_cols(const ae__patches *g)
{
    return (size_t)g->oh * (size_t)g->ow;
}

/* Image-to-columns for nb images, image b at img + b * c*h*w:
 * cols[(ci*k + kh)*k + kw][b*oh*ow + i*ow + j]
 *     = img_b[ci][i*stride - pad + kh][j*stride - pad + kw], 0 outside. */
void ae__im2col(const ae__patches *g, const float *img, size_t nb,
                float *cols);
/* The same for the rows of input channels [c0, c1) only (independent of
 * the other rows, so threads can share one image's columns). */
void ae__im2col_channels(const ae__patches *g, const float *img, size_t nb,
                         float *cols, int c0, int c1);
/* The adjoint: img_b[ci][ih][iw] += every column entry im2col would have
 * read from there.  img must hold its starting values. */
void ae__col2im(const ae__patches *g, const float *cols, size_t nb,
                float *img);

/* A convolution computed tap by tap, Z = W_taps X and then a shifted sum:
 * z holds, for each of `planes` output channels o and each tap
 * t = kh * k + kw, row o*k*k + t of nb*h*w values (the input grid,
 * channel-major).  With pos_t(i, j) = (i*stride - pad + kh) * w +
 * j*stride - pad + kw:
 *   y_b[o][i][j] += sum over valid t of z[o*k*k + t][b*h*w + pos_t(i, j)]. */
void ae__taps_gather(const ae__patches *g, int planes, const float *z,
                     size_t nb, float *y);
/* The adjoint: dz[o*k*k + t][b*h*w + pos_t(i, j)] = dy_b[o][i][j], and 0
 * wherever no output reads. */
void ae__taps_scatter(const ae__patches *g, int planes, const float *dy,
                      size_t nb, float *dz);

/* Batch layout (nb x c x plane) to channel-major (c x nb*plane):
 * dst[ci][b*plane + j] = src[b][ci][j]. */
void ae__to_channel_major(const float *src, int c, size_t plane, size_t nb,
                          float *dst);
/* And back: dst[b][ci][j] = src[ci][b*plane + j] (+ bias[ci] if bias is
 * not NULL). */
void ae__from_channel_major(const float *src, int c, size_t plane, size_t nb,
                            const float *bias, float *dst);
/* dst[ci][j] += bias[ci] over one image's c planes: after a product that
 * wrote the image without its bias. */
void ae__add_channel_bias(float *dst, int c, size_t plane,
                          const float *bias);
/* dst[b][ci][j] = bias[ci], or 0 if bias is NULL: where a pass that adds
 * (col2im, the taps' gather) starts. */
void ae__fill_channels(float *dst, int c, size_t plane, size_t nb,
                       const float *bias);

/* Images handled by one sgemm when each needs per_image scratch floats:
 * as many as fit in a fixed budget, at least 1, at most batch.  Monotone
 * in batch, so scratch sized for a batch also serves smaller ones. */
size_t ae__image_chunk(size_t per_image, size_t batch);

/* Planes per thread (the grain of ae__parallel_for) for a pass over
 * planes of `plane` floats: enough that waking a thread pays. */
size_t ae__plane_grain(size_t plane);

/* The argmax positions a max-pooling layer recorded in its latest forward
 * pass: for image b < *recorded, out[b * out_size + o] is the index
 * (ih * in_w + iw) within its input plane of the maximum that output o
 * took.  Returns NULL with *recorded = 0 when nothing was recorded. */
const int32_t *ae__maxpool2d_argmax(const ae_layer *pool, size_t *recorded);

#endif /* AE_IMAGE_LAYOUT_H */

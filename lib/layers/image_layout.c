/* image_layout.c - image-to-columns, its adjoint, and the layout changes the
 * convolution layers put around their sgemm calls. */
#include <string.h>

#include "layers/image_layout.h"
#include "common/parallel.h"

/* Scratch budget of one sgemm chunk, in floats (512 KB).  Batching images
 * into one sgemm gives BLAS longer matrices, but the column matrix should
 * stay in a core's L2 cache while sgemm packs it: on the experiment-7
 * model at batch 128 (one thread, 2 MB L2), 2^17 floats gave the fastest
 * training step, about 5% ahead of one image per sgemm and 10% ahead of
 * 2^20 floats.  With two threads, each on its own chunks with 1 MB of L2,
 * 2^16 and 2^17 tied (median epoch 9.6 and 9.7 s on 5,000 images, four
 * runs each) ahead of 2^18 (10.8 s) and 2^19 (12.1 s). */
#define CHUNK_FLOATS ((size_t)1 << 17)

size_t ae__image_chunk(size_t per_image, size_t batch)
{
    size_t n = per_image == 0 ? batch : CHUNK_FLOATS / per_image;
    if (n < 1)
        n = 1;
    return n < batch ? n : batch;
}

/* Floats of planes per thread below which one thread does them all: at
 * 2^12 rather than 2^14 one image's pooling and upsampling through
 * experiment 7's model are shared too (one image, 2 threads: 219 -> 200 us
 * with the finer column grain of conv2d.c's one-image path). */
#define PLANE_GRAIN_FLOATS ((size_t)1 << 12)

size_t ae__plane_grain(size_t plane)
{
    return plane >= PLANE_GRAIN_FLOATS ? 1
                                       : PLANE_GRAIN_FLOATS / (plane + 1) + 1;
}

/* Grid positions j in [lo, hi) whose tap j*s - pad + kk lies in [0, n):
 * j >= ceil((pad - kk) / s) and j <= (n - 1 + pad - kk) / s. */
static void tap_range(int n, int s, int pad, int kk, int grid, int *lo,
                      int *hi)
{
    long long a = (long long)pad - kk, b = (long long)n - 1 + pad - kk;
    long long l = a <= 0 ? 0 : (a + s - 1) / s;
    long long h = b < 0 ? 0 : b / s + 1;
    if (l > grid)
        l = grid;
    if (h > grid)
        h = grid;
    if (h < l)
        h = l;
    *lo = (int)l;
    *hi = (int)h;
}

void ae__im2col(const ae__patches *g, const float *img, size_t nb,
                float *cols)
{
    ae__im2col_channels(g, img, nb, cols, 0, g->c);
}

void ae__im2col_channels(const ae__patches *g, const float *img, size_t nb,
                         float *cols, int c0, int c1)
{
    const int k = g->k, s = g->stride, p = g->pad, oh = g->oh, ow = g->ow;
    const size_t plane = (size_t)g->h * (size_t)g->w;
    const size_t image = plane * (size_t)g->c;
    const size_t per = ae__patch_cols(g), ld = per * nb;
    for (int ci = c0; ci < c1; ci++)
        for (int kh = 0; kh < k; kh++) {
            int i_lo, i_hi;
            tap_range(g->h, s, p, kh, oh, &i_lo, &i_hi);
            for (int kw = 0; kw < k; kw++) {
                int j_lo, j_hi;
                tap_range(g->w, s, p, kw, ow, &j_lo, &j_hi);
                float *row = cols + ((size_t)(ci * k + kh) * k + kw) * ld;
                for (size_t b = 0; b < nb; b++) {
                    const float *src = img + b * image + (size_t)ci * plane;
                    float *dst = row + b * per;
                    memset(dst, 0, (size_t)i_lo * ow * sizeof(float));
                    for (int i = i_lo; i < i_hi; i++) {
                        float *d = dst + (size_t)i * ow;
                        const float *sr =
                            src + (size_t)(i * s - p + kh) * g->w;
                        for (int j = 0; j < j_lo; j++)
                            d[j] = 0.0f;
                        /* A loop, not memcpy: rows are 7-28 values in
                         * the models here, and a call per row was most
                         * of the columns' time for one image. */
                        if (s == 1) {
                            const float *sj = sr - p + kw;
                            for (int j = j_lo; j < j_hi; j++)
                                d[j] = sj[j];
                        } else {
                            for (int j = j_lo; j < j_hi; j++)
                                d[j] = sr[j * s - p + kw];
                        }
                        for (int j = j_hi; j < ow; j++)
                            d[j] = 0.0f;
                    }
                    memset(dst + (size_t)i_hi * ow, 0,
                           (size_t)(oh - i_hi) * ow * sizeof(float));
                }
            }
        }
}

void ae__col2im(const ae__patches *g, const float *cols, size_t nb,
                float *img)
{
    const int k = g->k, s = g->stride, p = g->pad, ow = g->ow;
    const size_t plane = (size_t)g->h * (size_t)g->w;
    const size_t image = plane * (size_t)g->c;
    const size_t per = ae__patch_cols(g), ld = per * nb;
    for (int ci = 0; ci < g->c; ci++)
        for (int kh = 0; kh < k; kh++) {
            int i_lo, i_hi;
            tap_range(g->h, s, p, kh, g->oh, &i_lo, &i_hi);
            for (int kw = 0; kw < k; kw++) {
                int j_lo, j_hi;
                tap_range(g->w, s, p, kw, ow, &j_lo, &j_hi);
                const float *row =
                    cols + ((size_t)(ci * k + kh) * k + kw) * ld;
                for (size_t b = 0; b < nb; b++) {
                    float *dst = img + b * image + (size_t)ci * plane;
                    const float *src = row + b * per;
                    for (int i = i_lo; i < i_hi; i++) {
                        const float *sr = src + (size_t)i * ow;
                        float *d = dst + (size_t)(i * s - p + kh) * g->w;
                        const int off = kw - p;
                        if (s == 1)
                            for (int j = j_lo; j < j_hi; j++)
                                d[j + off] += sr[j];
                        else
                            for (int j = j_lo; j < j_hi; j++)
                                d[j * s + off] += sr[j];
                    }
                }
            }
        }
}

void ae__to_channel_major(const float *src, int c, size_t plane, size_t nb,
                          float *dst)
{
    for (int ci = 0; ci < c; ci++)
        for (size_t b = 0; b < nb; b++)
            memcpy(dst + ((size_t)ci * nb + b) * plane,
                   src + (b * (size_t)c + (size_t)ci) * plane,
                   plane * sizeof(float));
}

void ae__from_channel_major(const float *src, int c, size_t plane, size_t nb,
                            const float *bias, float *dst)
{
    for (int ci = 0; ci < c; ci++)
        for (size_t b = 0; b < nb; b++) {
            const float *s = src + ((size_t)ci * nb + b) * plane;
            float *d = dst + (b * (size_t)c + (size_t)ci) * plane;
            if (bias == NULL) {
                memcpy(d, s, plane * sizeof(float));
            } else {
                const float bc = bias[ci];
                for (size_t j = 0; j < plane; j++)
                    d[j] = s[j] + bc;
            }
        }
}

void ae__fill_channels(float *dst, int c, size_t plane, size_t nb,
                       const float *bias)
{
    if (bias == NULL) {
        memset(dst, 0, nb * (size_t)c * plane * sizeof(float));
        return;
    }
    for (size_t b = 0; b < nb; b++)
        for (int ci = 0; ci < c; ci++) {
            float *d = dst + (b * (size_t)c + (size_t)ci) * plane;
            for (size_t j = 0; j < plane; j++)
                d[j] = bias[ci];
        }
}

void ae__add_channel_bias(float *dst, int c, size_t plane,
                          const float *bias)
{
    for (int ci = 0; ci < c; ci++) {
        float *d = dst + (size_t)ci * plane;
        const float bc = bias[ci];
        for (size_t j = 0; j < plane; j++)
            d[j] += bc;
    }
}

void ae__taps_gather(const ae__patches *g, int planes, const float *z,
                     size_t nb, float *y)
{
    const int k = g->k, s = g->stride, p = g->pad, ow = g->ow;
    const size_t in_plane = (size_t)g->h * (size_t)g->w;
    const size_t out_plane = ae__patch_cols(g), ld = in_plane * nb;
    for (int o = 0; o < planes; o++)
        for (int kh = 0; kh < k; kh++) {
            int i_lo, i_hi;
            tap_range(g->h, s, p, kh, g->oh, &i_lo, &i_hi);
            for (int kw = 0; kw < k; kw++) {
                int j_lo, j_hi;
                tap_range(g->w, s, p, kw, ow, &j_lo, &j_hi);
                const int off = kw - p;
                const float *row = z + ((size_t)(o * k + kh) * k + kw) * ld;
                for (size_t b = 0; b < nb; b++) {
                    const float *zp = row + b * in_plane;
                    float *yp = y + (b * (size_t)planes + (size_t)o) *
                                        out_plane;
                    for (int i = i_lo; i < i_hi; i++) {
                        const float *zr =
                            zp + (size_t)(i * s - p + kh) * g->w;
                        float *yr = yp + (size_t)i * ow;
                        if (s == 1)
                            for (int j = j_lo; j < j_hi; j++)
                                yr[j] += zr[j + off];
                        else
                            for (int j = j_lo; j < j_hi; j++)
                                yr[j] += zr[j * s + off];
                    }
                }
            }
        }
}

void ae__taps_scatter(const ae__patches *g, int planes, const float *dy,
                      size_t nb, float *dz)
{
    const int k = g->k, s = g->stride, p = g->pad, ow = g->ow;
    const size_t in_plane = (size_t)g->h * (size_t)g->w;
    const size_t out_plane = ae__patch_cols(g), ld = in_plane * nb;
    for (int o = 0; o < planes; o++)
        for (int kh = 0; kh < k; kh++) {
            int i_lo, i_hi;
            tap_range(g->h, s, p, kh, g->oh, &i_lo, &i_hi);
            for (int kw = 0; kw < k; kw++) {
                int j_lo, j_hi;
                tap_range(g->w, s, p, kw, ow, &j_lo, &j_hi);
                const int off = kw - p;
                float *row = dz + ((size_t)(o * k + kh) * k + kw) * ld;
                for (size_t b = 0; b < nb; b++) {
                    float *zp = row + b * in_plane;
                    const float *yp = dy + (b * (size_t)planes + (size_t)o) *
                                               out_plane;
                    /* Positions no output reads from this tap stay 0;
                     * zeroing the plane first keeps it in cache. */
                    memset(zp, 0, in_plane * sizeof(float));
                    for (int i = i_lo; i < i_hi; i++) {
                        float *zr = zp + (size_t)(i * s - p + kh) * g->w;
                        const float *yr = yp + (size_t)i * ow;
                        if (s == 1)
                            memcpy(zr + j_lo + off, yr + j_lo,
                                   (size_t)(j_hi - j_lo) * sizeof(float));
                        else
                            for (int j = j_lo; j < j_hi; j++)
                                zr[j * s + off] = yr[j];
                    }
                }
            }
        }
}

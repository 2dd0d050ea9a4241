/* conv_gemm.c - the convolution layers' schedule over chunks of images and
 * their shared columns formulation (conv_gemm.h). */
#include <string.h>

#include <cblas.h>

#include "layers/conv_gemm.h"
#include "common/parallel.h"
#include "common/long_dots.h"
#include "common/sgemm.h"
#include "common/small_gemm.h"

/* ---- the schedule ------------------------------------------------------ */

enum { GROUPS = 16 };

/* How a batch is cut: chunks of `chunk` images (the last may be shorter),
 * `groups` contiguous groups of them for the weight gradient, and `parts`
 * threads' scratch of part_floats each. */
typedef struct split {
    size_t batch, chunk, chunks, groups;
    size_t part_floats;
    int parts;
} split;

size_t ae__conv_chunk(const ae__conv_method *m, size_t batch)
{
    if (m->chunk_floats == 0)
        return ae__image_chunk(m->per_image, batch);
    size_t n = m->per_image == 0 ? batch : m->chunk_floats / m->per_image;
    if (n < 1)
        n = 1;
    return n < batch ? n : batch;
}

static split split_for(const ae__conv_method *m, size_t batch)
{
    split sp;
    sp.batch = batch;
    sp.chunk = ae__conv_chunk(m, batch);
    sp.chunks = (batch + sp.chunk - 1) / sp.chunk;
    sp.groups = sp.chunks < GROUPS ? sp.chunks : GROUPS;
    sp.part_floats = sp.chunk * m->per_image + m->per_chunk;
    sp.parts = ae__thread_count();
    return sp;
}

size_t ae__conv_scratch_of(const ae__conv_method *m, size_t batch,
                           size_t n_weights)
{
    const split sp = split_for(m, batch);
    return (size_t)GROUPS * n_weights + (size_t)sp.parts * sp.part_floats;
}

size_t ae__conv_forward_scratch_of(const ae__conv_method *m, size_t batch)
{
    const split sp = split_for(m, batch);
    return (size_t)sp.parts * sp.part_floats;
}

/* Images [*b0, *b0 + *nb) of chunk c. */
static void chunk_images(const split *sp, size_t c, size_t *b0, size_t *nb)
{
    *b0 = c * sp->chunk;
    *nb = sp->batch - *b0 < sp->chunk ? sp->batch - *b0 : sp->chunk;
}

/* One pass over a batch, shared by the threads.  Scratch: the partials
 * (GROUPS x n_weights), then each thread's chunk scratch. */
typedef struct run {
    const ae__conv_method *method;
    split sp;
    size_t in_size, out_size, n_weights;
    const float *x, *dy;
    float *y, *dx;
    float *partials, *parts;
} run;

static run make_run(const ae_layer *l, const ae__conv_method *method,
                    size_t batch, float *scratch)
{
    run r = {0};
    r.method = method;
    r.sp = split_for(method, batch);
    r.in_size = ae__shape_size(l->in);
    r.out_size = ae__shape_size(l->out);
    r.n_weights = l->n_weights;
    r.partials = scratch;
    r.parts = scratch + (size_t)GROUPS * l->n_weights;
    return r;
}

static void forward_chunks(void *ctx, size_t first, size_t last, int part)
{
    const run *r = ctx;
    float *scratch = r->parts + (size_t)part * r->sp.part_floats;
    for (size_t c = first; c < last; c++) {
        size_t b0, nb;
        chunk_images(&r->sp, c, &b0, &nb);
        r->method->forward(r->method->ctx, r->x + b0 * r->in_size,
                           r->y + b0 * r->out_size, nb, scratch);
    }
}

void ae__conv_forward(const ae_layer *l, const ae__conv_method *method,
                      const float *x, float *y, size_t batch, float *scratch)
{
    run r = make_run(l, method, batch, scratch);
    r.partials = NULL; /* a forward pass needs no gradient room */
    r.parts = scratch;
    r.x = x;
    r.y = y;
    ae__parallel_for_blas(r.sp.chunks, 1, r.sp.parts, forward_chunks, &r);
}

static void backward_groups(void *ctx, size_t first, size_t last, int part)
{
    const run *r = ctx;
    float *scratch = r->parts + (size_t)part * r->sp.part_floats;
    for (size_t g = first; g < last; g++) {
        /* Chunks [c0, c1) of group g. */
        const size_t c0 = r->sp.chunks * g / r->sp.groups;
        const size_t c1 = r->sp.chunks * (g + 1) / r->sp.groups;
        for (size_t c = c0; c < c1; c++) {
            size_t b0, nb;
            chunk_images(&r->sp, c, &b0, &nb);
            r->method->backward(r->method->ctx, r->x + b0 * r->in_size,
                                r->dy + b0 * r->out_size,
                                r->dx != NULL ? r->dx + b0 * r->in_size
                                              : NULL,
                                nb, r->partials + g * r->n_weights,
                                c == c0 ? 0.0f : 1.0f, scratch);
        }
    }
}

void ae__conv_backward(ae_layer *l, const ae__conv_method *method,
                       const float *x, const float *dy, float *dx,
                       size_t batch, float *scratch, float *dw)
{
    run r = make_run(l, method, batch, scratch);
    r.x = x;
    r.dy = dy;
    r.dx = dx;
    ae__parallel_for_blas(r.sp.groups, 1, r.sp.parts, backward_groups, &r);
    /* The partials in group order, whatever thread computed them. */
    memcpy(dw, r.partials, l->n_weights * sizeof(float));
    for (size_t g = 1; g < r.sp.groups; g++) {
        const float *p = r.partials + g * l->n_weights;
        for (size_t i = 0; i < l->n_weights; i++)
            dw[i] += p[i];
    }
}

/* ---- the columns formulation ------------------------------------------- */

size_t ae__cols_per_image(const ae__conv_cols *f)
{
    const size_t per = ae__patch_cols(&f->g);
    const size_t grid = ae__in_place(per) ? 0 : (size_t)f->m;
    return (ae__patch_rows(&f->g) + grid) * per;
}

/* The chunk's columns start the scratch; its grid side follows them. */
static float *grid_part(const ae__conv_cols *f, size_t nb, float *scratch)
{
    return scratch + ae__patch_rows(&f->g) * nb * ae__patch_cols(&f->g);
}

/* Floats of one image's grid side. */
static size_t grid_image(const ae__conv_cols *f)
{
    return (size_t)f->m * ae__patch_cols(&f->g);
}

void ae__cols_lay_patch(const ae__conv_cols *f, const float *patch,
                        size_t nb, float *scratch)
{
    ae__im2col(&f->g, patch, nb, scratch);
}

void ae__cols_lay_grid(const ae__conv_cols *f, const float *grid, size_t nb,
                       float *scratch)
{
    const size_t per = ae__patch_cols(&f->g);
    if (!ae__in_place(per))
        ae__to_channel_major(grid, f->m, per, nb, grid_part(f, nb, scratch));
}

void ae__cols_to_grid(const ae__conv_cols *f, size_t nb, const float *bias,
                      float *grid, float *scratch)
{
    const int rows = (int)ae__patch_rows(&f->g);
    const size_t per = ae__patch_cols(&f->g);
    const int n = (int)(nb * per);
    if (ae__in_place(per)) {
        /* grid_b (m x per) = W (m x rows) cols_b (rows x per) + bias */
        ae__small_gemm g;
        ae__small_gemm_plan(&g, 0, f->m, (int)per, rows, rows, n, (int)per);
        for (size_t b = 0; b < nb; b++) {
            float *gb = grid + b * grid_image(f);
            ae__small_gemm_run(&g, f->w, scratch + b * per, gb);
            if (bias != NULL)
                ae__add_channel_bias(gb, f->m, per, bias);
        }
        return;
    }
    float *gc = grid_part(f, nb, scratch);
    /* Gc (m x n) = W (m x rows) cols (rows x n) */
    ae__sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, f->m, n, rows,
              1.0f, f->w, rows, scratch, n, 0.0f, gc, n);
    ae__from_channel_major(gc, f->m, per, nb, bias, grid);
}

void ae__cols_to_patch(const ae__conv_cols *f, size_t nb, const float *bias,
                       const float *grid, float *patch, float *scratch)
{
    const int rows = (int)ae__patch_rows(&f->g);
    const size_t per = ae__patch_cols(&f->g);
    const int n = (int)(nb * per);
    if (ae__in_place(per)) {
        /* cols_b (rows x per) = W^T (rows x m) grid_b (m x per) */
        ae__small_gemm g;
        ae__small_gemm_plan(&g, 1, rows, (int)per, f->m, rows, (int)per, n);
        for (size_t b = 0; b < nb; b++)
            ae__small_gemm_run(&g, f->w, grid + b * grid_image(f),
                               scratch + b * per);
    } else
        /* cols (rows x n) = W^T (rows x m) Gc (m x n) */
        ae__sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, rows, n, f->m,
                  1.0f, f->w, rows, grid_part(f, nb, scratch), n, 0.0f,
                  scratch, n);
    /* col2im adds onto what is there. */
    ae__fill_channels(patch, f->g.c, (size_t)f->g.h * (size_t)f->g.w, nb,
                      bias);
    ae__col2im(&f->g, scratch, nb, patch);
}

void ae__cols_weight_grad(const ae__conv_cols *f, size_t nb,
                          const float *grid, float *dw, float beta,
                          float *scratch)
{
    const int rows = (int)ae__patch_rows(&f->g);
    const size_t per = ae__patch_cols(&f->g);
    const int n = (int)(nb * per);
    if (ae__in_place(per)) {
        /* dW (m x rows) = beta dW + sum over b of grid_b cols_b^T */
        for (size_t b = 0; b < nb; b++)
            ae__long_dots(f->m, rows, (int)per, grid + b * grid_image(f),
                          per, scratch + b * per, (size_t)n,
                          b == 0 ? beta : 1.0f, dw, (size_t)rows);
        return;
    }
    /* dW (m x rows) = beta dW + Gc (m x n) cols^T */
    ae__sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, f->m, rows, n, 1.0f,
              grid_part(f, nb, scratch), n, scratch, n, beta, dw, rows);
}

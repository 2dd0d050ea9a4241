/* dense.c - fully connected layer, as PyTorch's nn.Linear:
 *   y = x W^T + b
 *   in: C x H x W, read as n = C*H*W values -> out: units x 1 x 1
 * W is units x n, row-major; each row of x is one image. */
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "common/parallel.h"
#include "common/sgemm.h"
#include "layers/layer_config.h"
#include "nn/activation.h"
#include "nn/layer.h"
#include "nn/model.h"

static ae_status dense_configure(ae_layer *l)
{
    int units = l->cfg[AE__DENSE_UNITS];
    size_t fan_in = ae__shape_size(l->in);
    if (units < 1)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "layer %zu (dense): %d units, need at least 1",
                        l->index, units);
    if (fan_in > (size_t)INT32_MAX / (size_t)units)
        return ae__fail(AE_ERR_LIMIT,
                        "layer %zu (dense): %zu x %d weights is too many",
                        l->index, fan_in, units);
    l->out = (ae__shape){units, 1, 1};
    l->n_weights = fan_in * (size_t)units;
    l->n_bias = (size_t)units;
    return AE_OK;
}

/* PyTorch's nn.Linear.reset_parameters: kaiming_uniform_(a = sqrt(5)) gives
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the weights, and the bias uses the
 * same bound. */
static void dense_init(ae_layer *l, ae__rng *rng)
{
    ae__layer_init_uniform(l, rng,
                           1.0f / sqrtf((float)ae__shape_size(l->in)));
}

/* The products are split among the library's threads by hand, BLAS
 * single-threaded meanwhile (parallel.h), so no two threads write the same
 * value and nothing is reduced across threads.  At batch 64 this ran the
 * experiment-1 model's epoch about 1.7 times as fast as OpenBLAS's own
 * threads on the whole products, whose start-up and spinning cost more
 * than these small products take.
 *
 * Each product is cut into call blocks fixed by the layer's shape alone,
 * and each block is one BLAS call whichever thread runs it: a thread takes
 * whole blocks, never one call over a range of them.  The call's shape
 * must not follow the thread count, because BLAS rounds an output element
 * differently depending on where the call's edges fall: on a Zen 3, whose
 * OpenBLAS kernels are Haswell's, a 20 x 512 x 784 product made as one
 * call and as two calls of 256 columns differ in 18% of their elements,
 * and even the fallback kernels differ when a call is 1 or 2 columns
 * wide.  With fixed calls a dense layer trains to the same bits at any
 * thread count.
 *
 * A block is a run of whole BLOCK_UNIT-column units (the kernels' 16-row
 * unroll), the units shared evenly among the blocks; at least
 * CALL_MIN_COLS columns a block, since each call repacks the operand all
 * blocks share, and at most CALL_MAX_BLOCKS blocks.  bench_train's dense
 * epoch on the Zen 3, three alternating runs: 6.96-7.02 s at one thread
 * against 6.62-7.13 s with one call a part, 3.91-6.33 s at two threads
 * against 4.46-5.07 s (a noisy neighbour).  The cap keeps a product to 4
 * threads (8 items in the backward pass); since the blocks decide the
 * bits, changing these numbers changes every dense layer's results. */
enum { BLOCK_UNIT = 16, CALL_MIN_COLS = 64, CALL_MAX_BLOCKS = 4 };

/* Floating-point work per thread below which one thread does it all: a
 * thread's wake-up costs about as much. */
#define GRAIN_FLOPS 1e6

typedef struct dense_job {
    ae_layer *l;
    const float *x, *dy;
    float *y, *dx;
    size_t batch;
    size_t blocks; /* call blocks of each product */
} dense_job;

static size_t call_blocks(int n)
{
    size_t blocks = (size_t)n / CALL_MIN_COLS;
    if (blocks > CALL_MAX_BLOCKS)
        blocks = CALL_MAX_BLOCKS;
    return blocks < 1 ? 1 : blocks;
}

/* Columns [*c0, *c1) of n in call block b of `blocks`. */
static void block_cols(size_t b, size_t blocks, int n, int *c0, int *c1)
{
    const size_t units = ((size_t)n + BLOCK_UNIT - 1) / BLOCK_UNIT;
    const size_t a = units * b / blocks * BLOCK_UNIT;
    const size_t e = units * (b + 1) / blocks * BLOCK_UNIT;
    *c0 = (int)(a < (size_t)n ? a : (size_t)n);
    *c1 = (int)(e < (size_t)n ? e : (size_t)n);
}

/* Blocks per thread for blocks of `flops` work each. */
static size_t grain(double flops)
{
    return flops >= GRAIN_FLOPS ? 1 : (size_t)(GRAIN_FLOPS / flops) + 1;
}

/* y[:, c0:c1] = act(bias[c0:c1] + x W[c0:c1, :]^T), one BLAS call: start
 * every row from the bias, then accumulate on top (beta 1), one streaming
 * pass and no extra buffer; then the activation, on the columns just
 * written. */
static void forward_columns(const dense_job *j, int c0, int c1)
{
    const ae_layer *l = j->l;
    const int in = (int)ae__shape_size(l->in), out = l->cfg[AE__DENSE_UNITS];
    if (c1 <= c0)
        return;
    for (size_t b = 0; b < j->batch; b++)
        memcpy(j->y + b * (size_t)out + c0, l->bias + c0,
               (size_t)(c1 - c0) * sizeof(float));
    if (j->batch == 1) /* one image: a matrix-vector product, which BLAS
                          runs several times faster than sgemm with M = 1 */
        cblas_sgemv(CblasRowMajor, CblasNoTrans, c1 - c0, in, 1.0f,
                    l->weights + (size_t)c0 * in, in, j->x, 1, 1.0f,
                    j->y + c0, 1);
    else
        ae__sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)j->batch,
                  c1 - c0, in, 1.0f, j->x, in, l->weights + (size_t)c0 * in,
                  in, 1.0f, j->y + c0, out);
    if (l->act != AE_ACT_NONE)
        for (size_t b = 0; b < j->batch; b++)
            ae__activation_forward_serial(l->act, l->act_param,
                                          j->y + b * (size_t)out + c0,
                                          (size_t)(c1 - c0));
}

static void forward_blocks(void *ctx, size_t first, size_t last, int part)
{
    (void)part;
    const dense_job *j = ctx;
    const int out = j->l->cfg[AE__DENSE_UNITS];
    for (size_t blk = first; blk < last; blk++) {
        int c0, c1;
        block_cols(blk, j->blocks, out, &c0, &c1);
        forward_columns(j, c0, c1);
    }
}

/* Small batches of a forward-only call (ae__model_forward_only; training
 * passes keep the path above and their bits).  One image is a
 * matrix-vector product, which reads every weight once for 2 flops: bound
 * by memory, not arithmetic, and the flop grain above kept it on one
 * thread.  Here the threads share the weight rows, at least
 * SMALL_PART_FLOATS of them a thread, each reading only its own (which
 * then stay in its core's cache from one call to the next).  Every block
 * of rows (block_rows) is its own BLAS call whichever thread runs it, so
 * the output does not depend on the thread count.  Up to SMALL_MAX_BATCH
 * images; larger batches repack their inputs too often in blocks this
 * narrow. */
enum { SMALL_MAX_BATCH = 16 };
#define SMALL_PART_FLOATS 32768.0

/* Rows a block: 128 for one image, 64 for more.  Experiment 1's model,
 * bench_infer, 5 alternating rounds: one image at 2 threads 28.2-31.3 us
 * with 128 against 31.2-33.7 with 64 (fewer sgemv calls), the same at one
 * thread; 16 images 16.2-16.8 us per image against 10.0-11.1, the wider
 * blocks' sgemm calls slower. */
static int block_rows(size_t batch)
{
    return batch == 1 ? 128 : 64;
}

static void forward_small_batch(void *ctx, size_t first, size_t last,
                                int part)
{
    (void)part;
    const dense_job *j = ctx;
    const int out = j->l->cfg[AE__DENSE_UNITS], rows = block_rows(j->batch);
    for (size_t blk = first; blk < last; blk++) {
        const int r0 = (int)blk * rows;
        forward_columns(j, r0, r0 + rows < out ? r0 + rows : out);
    }
}

static void dense_forward(ae_layer *l, const float *x, float *y, size_t batch,
                          float *scratch)
{
    (void)scratch;
    const int in = (int)ae__shape_size(l->in), out = l->cfg[AE__DENSE_UNITS];
    dense_job j = {l, x, NULL, y, NULL, batch, 0};
    if (batch <= SMALL_MAX_BATCH && ae__model_forward_only(l->model)) {
        const size_t rows = (size_t)block_rows(batch);
        const size_t blocks = ((size_t)out + rows - 1) / rows;
        const double block_floats = (double)rows * in;
        const size_t grain =
            block_floats >= SMALL_PART_FLOATS
                ? 1
                : (size_t)(SMALL_PART_FLOATS / block_floats) + 1;
        ae__parallel_for_blas(blocks, grain, 0, forward_small_batch, &j);
        return;
    }
    j.blocks = call_blocks(out);
    ae__parallel_for_blas(
        j.blocks, grain(2.0 * (double)batch * out / j.blocks * in), 0,
        forward_blocks, &j);
}

/* The backward pass's items alternate between the two products' call
 * blocks, item 2i the weight gradient's block i and item 2i + 1 the input
 * gradient's, so that each part takes its share of both (both products
 * are batch x in x out; numbering one product's blocks after the other's
 * gave one thread all of the weight gradient, whose inner dimension is
 * the batch, and the other all of the input gradient).
 *   dW[c0:c1, :] = dy[:, c0:c1]^T x,  db[c0:c1] = column sums of
 *   dy[:, c0:c1];  dx[:, c0:c1] = dy W[:, c0:c1]. */
static void weight_grad_block(const dense_job *j, size_t blk)
{
    const ae_layer *l = j->l;
    const int in = (int)ae__shape_size(l->in), out = l->cfg[AE__DENSE_UNITS];
    int c0, c1;
    block_cols(blk, j->blocks, out, &c0, &c1);
    if (c1 <= c0)
        return;
    ae__sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c1 - c0, in,
              (int)j->batch, 1.0f, j->dy + c0, out, j->x, in, 0.0f,
              l->grad_weights + (size_t)c0 * in, in);
    float *db = l->grad_bias;
    memset(db + c0, 0, (size_t)(c1 - c0) * sizeof(float));
    for (size_t b = 0; b < j->batch; b++) {
        const float *row = j->dy + b * (size_t)out;
        for (int k = c0; k < c1; k++)
            db[k] += row[k];
    }
}

static void input_grad_block(const dense_job *j, size_t blk)
{
    const ae_layer *l = j->l;
    const int in = (int)ae__shape_size(l->in), out = l->cfg[AE__DENSE_UNITS];
    int c0, c1;
    block_cols(blk, j->blocks, in, &c0, &c1);
    if (c1 > c0)
        ae__sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)j->batch,
                  c1 - c0, out, 1.0f, j->dy, out, l->weights + c0, in, 0.0f,
                  j->dx + c0, in);
}

static void backward_items(void *ctx, size_t first, size_t last, int part)
{
    (void)part;
    const dense_job *j = ctx;
    for (size_t i = first; i < last; i++) {
        if (j->dx == NULL)
            weight_grad_block(j, i);
        else if (i % 2 == 0)
            weight_grad_block(j, i / 2);
        else
            input_grad_block(j, i / 2);
    }
}

/* Both products in the same number of blocks, so that every item is the
 * same work: the fewer of the two when dx is wanted.  The fused step's
 * passes below take the same blocks, and so the same bits. */
static size_t backward_blocks(const ae_layer *l, int with_dx)
{
    const int in = (int)ae__shape_size(l->in), out = l->cfg[AE__DENSE_UNITS];
    return call_blocks(with_dx && in < out ? in : out);
}

static void dense_backward(ae_layer *l, const float *x, const float *dy,
                           float *dx, size_t batch, float *scratch)
{
    (void)scratch;
    const int in = (int)ae__shape_size(l->in), out = l->cfg[AE__DENSE_UNITS];
    dense_job j = {l, x, dy, NULL, dx, batch, backward_blocks(l, dx != NULL)};
    const size_t items = j.blocks * (dx != NULL ? 2 : 1);
    const double flops =
        2.0 * (double)batch * in * out * (dx != NULL ? 2 : 1);
    ae__parallel_for_blas(items, grain(flops / (double)items), 0,
                          backward_items, &j);
}

/* The trainer's fused step (layer.h's backward_input, param_blocks and
 * backward_params_block): the same call blocks as dense_backward, so the same
 * bits; the input gradient's blocks in one parallel pass, then the weight
 * gradient's blocks one at a time for the model, which shares every
 * layer's among the threads; each block's rows of weights and bias are
 * updated by the thread that wrote their gradients, while these are in
 * its cache. */
static void input_blocks(void *ctx, size_t first, size_t last, int part)
{
    (void)part;
    for (size_t i = first; i < last; i++)
        input_grad_block(ctx, i);
}

static void dense_backward_input(ae_layer *l, const float *x, const float *dy,
                                 float *dx, size_t batch, float *scratch)
{
    (void)scratch;
    dense_job j = {l, x, dy, NULL, dx, batch, backward_blocks(l, 1)};
    const double flops = 2.0 * (double)batch * ae__shape_size(l->in) *
                         l->cfg[AE__DENSE_UNITS];
    ae__parallel_for_blas(j.blocks, grain(flops / (double)j.blocks), 0,
                          input_blocks, &j);
}

/* The blocks dense_backward takes with dx wanted, as it is of every layer
 * but the first. */
static size_t dense_param_blocks(const ae_layer *l)
{
    return backward_blocks(l, l->index > 0);
}

static void dense_backward_params_block(ae_layer *l, const float *x,
                                        const float *dy, size_t batch,
                                        size_t b,
                                        const ae__param_update *update)
{
    const dense_job j = {l, x, dy, NULL, NULL, batch, dense_param_blocks(l)};
    weight_grad_block(&j, b);
    int c0, c1;
    block_cols(b, j.blocks, l->cfg[AE__DENSE_UNITS], &c0, &c1);
    if (update == NULL || c1 <= c0)
        return;
    const size_t rows = (size_t)(c1 - c0), in = ae__shape_size(l->in);
    update->apply(update->ctx, l->weights + (size_t)c0 * in, rows * in);
    update->apply(update->ctx, l->bias + c0, rows);
}

const ae__layer_ops ae__dense_ops = {
    .kind = AE_LAYER_DENSE,
    .name = "dense",
    .has_activation = 1,
    .fuses_activation = 1,
    .configure = dense_configure,
    .init = dense_init,
    .forward = dense_forward,
    .backward = dense_backward,
    .backward_input = dense_backward_input,
    .param_blocks = dense_param_blocks,
    .backward_params_block = dense_backward_params_block,
};

ae_status ae_model_add_dense(ae_model *m, ae_part part, int units,
                             ae_activation act)
{
    AE_REQUIRE(m);
    int cfg[AE__LAYER_CFG_MAX] = {0};
    cfg[AE__DENSE_UNITS] = units;
    return ae__model_append(m, part, &ae__dense_ops, cfg, act,
                            act == AE_ACT_LEAKY_RELU ? 0.01f : 0.0f);
}

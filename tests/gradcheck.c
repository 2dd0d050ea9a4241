/* gradcheck.c - finite-difference checks of the model's backward pass. */
#include "gradcheck.h"
#include "nn/model.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "nn/layer.h"
#include "testutil.h"

/* Central differences in float need a step well above rounding noise yet
 * small beside the curvature; 1e-3 on O(1) weights does both. */
#define GC_STEP 1e-3f

static double weighted_sum(ae_model *m, const float *x, size_t batch,
                           const float *r, size_t n_out)
{
    const float *y = NULL;
    size_t last = ae_model_layer_count(m) - 1;
    ck_assert_ae_ok(ae__model_forward(m, 0, last, x, batch, 1, &y));
    double sum = 0.0;
    for (size_t i = 0; i < n_out; i++)
        sum += (double)r[i] * y[i];
    return sum;
}

gc_result gc_check_model(ae_model *m, size_t batch, float lo, float hi,
                         size_t max_params, uint32_t seed)
{
    size_t layers = ae_model_layer_count(m);
    ae_layer *last;
    ck_assert_ae_ok(ae_model_layer(m, layers - 1, &last));
    size_t n_in = batch * ae_model_input_size(m);
    size_t n_out = batch * ae_layer_output_size(last);
    size_t n_par = ae_model_param_count(m);
    float *x = malloc(n_in * sizeof *x), *r = malloc(n_out * sizeof *r);
    float *grad = malloc(n_par * sizeof *grad);
    ck_assert(x && r && grad);
    tu_fill_uniform(x, n_in, lo, hi, seed);
    tu_fill_uniform(r, n_out, -1.0f, 1.0f, seed + 1);

    const float *y = NULL;
    ck_assert_ae_ok(ae__model_forward(m, 0, layers - 1, x, batch, 1, &y));
    ck_assert_ae_ok(ae__model_backward(m, x, batch, r, 0, 0.0f, NULL));
    float *params = ae__model_params(m);
    for (size_t i = 0; i < n_par; i++)
        grad[i] = ae__model_grads(m)[i];

    gc_result res = {0};
    size_t offset = 0;
    for (size_t li = 0; li < layers; li++) {
        ae_layer *l;
        ck_assert_ae_ok(ae_model_layer(m, li, &l));
        size_t count = ae_layer_weight_count(l) + ae_layer_bias_count(l);
        size_t stride = max_params && count > max_params ? count / max_params
                                                         : 1;
        for (size_t k = 0; k < count; k += stride) {
            size_t p = offset + k;
            float saved = params[p];
            params[p] = saved + GC_STEP;
            double up = weighted_sum(m, x, batch, r, n_out);
            params[p] = saved - GC_STEP;
            double down = weighted_sum(m, x, batch, r, n_out);
            params[p] = saved;
            double numeric = (up - down) / (2.0 * GC_STEP);
            double err = fabs(numeric - grad[p]);
            double rel = err / fmax(1.0, fabs(numeric));
            if (rel > res.max_rel_err) {
                res.max_rel_err = rel;
                res.worst_param = p;
            }
            res.max_abs_err = fmax(res.max_abs_err, err);
            res.checked++;
        }
        offset += count;
    }
    free(x);
    free(r);
    free(grad);
    return res;
}

void gc_assert_model(ae_model *m, size_t batch, float lo, float hi,
                     size_t max_params, uint32_t seed, double tol)
{
    gc_result r = gc_check_model(m, batch, lo, hi, max_params, seed);
    ck_assert_msg(r.checked > 0, "no parameters checked");
    ck_assert_msg(r.max_rel_err <= tol,
                  "gradient check: worst relative error %.3g at parameter "
                  "%zu (abs %.3g, %zu checked, tolerance %.3g)",
                  r.max_rel_err, r.worst_param, r.max_abs_err, r.checked,
                  tol);
}

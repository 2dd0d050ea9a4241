/* activation.h - the activations a dense or convolution layer may apply
 * after its product (private). */
#ifndef AE_ACTIVATION_H
#define AE_ACTIVATION_H

#include <stddef.h>

#include "common/internal.h"

/* Apply in place to n values. */
/* The same on the calling thread alone, for a layer's forward that has
 * split its output among threads already. */
void ae__activation_forward_serial(ae_activation act, float param, float *y,
                                   size_t n);
void ae__activation_forward(ae_activation act, float param, float *y,
                            size_t n);
/* g *= act'(.) in place, written in terms of the activation's output y,
 * which every supported activation allows. */
void ae__activation_backward(ae_activation act, float param, const float *y,
                             float *g, size_t n);
/* The same on nb images of c planes of `plane` values each, then
 * db[ci] = sum over b < nb and j of g[b][ci][j] (written, not added),
 * plane by plane: each plane is summed while the step has it in cache,
 * where a pass of its own over a batch's gradient read experiment 7's
 * 12.8 MB a step once more.  AE_ACT_NONE sums alone.  The model calls it
 * for the layers whose bias is one per channel (sums_channel_bias). */
void ae__activation_backward_channels(ae_activation act, float param,
                                      const float *y, float *g, int c,
                                      size_t plane, size_t nb, float *db);
/* 1 if act is a known activation and param suits it. */
int ae__activation_valid(ae_activation act, float param);

#endif /* AE_ACTIVATION_H */

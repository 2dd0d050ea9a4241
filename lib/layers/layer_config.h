/* layer_config.h - what each slot of a layer's cfg[] means, kind by kind
 * (private).
 *
 * The slots are stored in model files as they stand, so their meanings are
 * fixed by docs/FORMAT.md ("Configuration by layer kind"): each layer file
 * configures itself from its own, and io/ reads them to write a layer in
 * another format (io/onnx_export.c).  One list, so the two cannot differ. */
#ifndef AE_LAYER_CONFIG_H
#define AE_LAYER_CONFIG_H

#include <string.h>

#include "nn/layer.h"

/* dense: units */
enum { AE__DENSE_UNITS = 0 };

/* conv2d: output channels, kernel side, stride, padding (-1 = "same") */
enum {
    AE__CONV_OUT = 0,
    AE__CONV_KERNEL = 1,
    AE__CONV_STRIDE = 2,
    AE__CONV_PAD = 3
};

/* maxpool2d: kernel side, stride */
enum { AE__POOL_KERNEL = 0, AE__POOL_STRIDE = 1 };

/* maxunpool2d: index of its pooling partner, output height and width */
enum { AE__UNPOOL_PARTNER = 0, AE__UNPOOL_HEIGHT = 1, AE__UNPOOL_WIDTH = 2 };

/* upsample2d: factor */
enum { AE__UP_FACTOR = 0 };

/* conv_transpose2d: output channels, kernel side, stride, padding, output
 * padding */
enum {
    AE__CONVT_OUT = 0,
    AE__CONVT_KERNEL = 1,
    AE__CONVT_STRIDE = 2,
    AE__CONVT_PAD = 3,
    AE__CONVT_OUT_PAD = 4
};

/* reshape: channels, height, width */
enum { AE__RESHAPE_C = 0, AE__RESHAPE_H = 1, AE__RESHAPE_W = 2 };

/* batchnorm: momentum and eps, each the bit pattern of an f32 */
enum { AE__BN_MOMENTUM = 0, AE__BN_EPS = 1 };

/* dropout: the rate p, the bit pattern of an f32 */
enum { AE__DROP_P = 0 };

/* The f32 a slot holds as its bit pattern (batchnorm, dropout). */
static inline float ae__cfg_float(const ae_layer *l, int slot)
{
    float f;
    memcpy(&f, &l->cfg[slot], sizeof f);
    return f;
}

/* The padding a conv2d layer applies on every side: its cfg value, or for
 * -1 ("same") (kernel - 1) / 2, which keeps the size at stride 1. */
static inline int ae__conv2d_padding(const ae_layer *l)
{
    return l->cfg[AE__CONV_PAD] == -1 ? (l->cfg[AE__CONV_KERNEL] - 1) / 2
                                      : l->cfg[AE__CONV_PAD];
}

#endif /* AE_LAYER_CONFIG_H */

/* layer_table.c - the table from ae_layer_kind to each layer file's row.
 *
 * A switch rather than an array so that the compiler checks the table
 * against the enum: every kind must have a case, and with -Werror=switch
 * (below) a kind added to autoenc.h without a row here fails the build. */
#include "layers/layer_table.h"

#if defined(__GNUC__)
#pragma GCC diagnostic error "-Wswitch"
#endif

const ae__layer_ops *ae__layer_ops_for_kind(ae_layer_kind kind)
{
    switch (kind) {
    case AE_LAYER_DENSE: return &ae__dense_ops;
    case AE_LAYER_CONV2D: return &ae__conv2d_ops;
    case AE_LAYER_MAXPOOL2D: return &ae__maxpool2d_ops;
    case AE_LAYER_MAXUNPOOL2D: return &ae__maxunpool2d_ops;
    case AE_LAYER_UPSAMPLE2D: return &ae__upsample2d_ops;
    case AE_LAYER_CONV_TRANSPOSE2D: return &ae__conv_transpose2d_ops;
    case AE_LAYER_RESHAPE: return &ae__reshape_ops;
    case AE_LAYER_BATCHNORM: return &ae__batchnorm_ops;
    case AE_LAYER_DROPOUT: return &ae__dropout_ops;
    case AE_LAYER_GAUSSIAN_SAMPLE: return &ae__gaussian_sample_ops;
    }
    return NULL; /* a number that is no kind, read from a file */
}

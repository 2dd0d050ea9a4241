/* layer_table.h - every layer type the library has, by kind (private).
 * The model file and ONNX-style exporters find a layer's operations from
 * the kind number stored for it. */
#ifndef AE_LAYER_TABLE_H
#define AE_LAYER_TABLE_H

#include "nn/layer.h"

/* The ops row for a kind, or NULL if the kind is unknown. */
const ae__layer_ops *ae__layer_ops_for_kind(ae_layer_kind kind);

/* The rows, one defined by each layer file. */
extern const ae__layer_ops ae__dense_ops;
extern const ae__layer_ops ae__conv2d_ops;
extern const ae__layer_ops ae__maxpool2d_ops;
extern const ae__layer_ops ae__maxunpool2d_ops;
extern const ae__layer_ops ae__upsample2d_ops;
extern const ae__layer_ops ae__conv_transpose2d_ops;
extern const ae__layer_ops ae__reshape_ops;
extern const ae__layer_ops ae__batchnorm_ops;
extern const ae__layer_ops ae__dropout_ops;
extern const ae__layer_ops ae__gaussian_sample_ops;

#endif /* AE_LAYER_TABLE_H */

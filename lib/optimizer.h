/* optimizer.h - the optimizer's update step (private). */
#ifndef AE_OPTIMIZER_H
#define AE_OPTIMIZER_H

#include "internal.h"

/* One update of n parameters from their gradients.  The first call binds
 * the optimizer's moment buffers to n; a later call with another n fails
 * with AE_ERR_SHAPE until ae_optimizer_reset. */
ae_status ae__optimizer_update(ae_optimizer *opt, float *params,
                               const float *grads, size_t n);

#endif

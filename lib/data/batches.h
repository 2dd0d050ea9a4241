/* batches.h - private access to the mini-batch iterator (batches.c). */
#ifndef AE_BATCHES_H
#define AE_BATCHES_H

#include "common/internal.h"

/* Put the iterator at position pos (0 .. image count) of epoch `epoch`
 * (0-based, that epoch's order drawn afresh), as if that many images had
 * been taken: a resumed fit sees the order an unbroken one saw.  pos past
 * the image count is AE_ERR_INVALID_ARGUMENT. */
ae_status ae__batches_seek(ae_batches *it, uint64_t epoch, size_t pos);

#endif /* AE_BATCHES_H */

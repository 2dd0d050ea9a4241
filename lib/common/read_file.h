/* read_file.h - reading a whole file, bounded (private). */
#ifndef AE_READ_FILE_H
#define AE_READ_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "common/internal.h"

/* Read the whole file at path into a new buffer (ae__alloc; the caller
 * frees it with ae__free), refusing a file over limit bytes
 * (AE_ERR_LIMIT).  AE_ERR_IO names path and the system's reason;
 * AE_ERR_NO_MEMORY.  On failure *data is NULL.  limit must be below
 * SIZE_MAX. */
ae_status ae__read_file(const char *path, uint64_t limit, uint8_t **data,
                        size_t *size);

#endif /* AE_READ_FILE_H */

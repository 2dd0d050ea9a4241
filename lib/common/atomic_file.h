/*
 * atomic_file.h - replacing a file all at once.  The new content goes to a
 * temporary file beside the destination, which is synced and renamed into
 * place: a reader, or the file system after a crash, sees the old file or
 * the new one, never a mix, and a failure leaves the old file untouched and
 * no temporary file behind.  Private to the library.
 */
#ifndef AE_ATOMIC_FILE_H
#define AE_ATOMIC_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "common/internal.h"

/* A file being written.  Between a successful ae__atomic_open and
 * ae__atomic_commit or ae__atomic_abort, write to f (or its descriptor);
 * once committed or aborted every field is NULL. */
typedef struct ae__atomic_file {
    FILE *f;          /* the temporary file, open for writing */
    char *tmp_path;   /* its name, from ae__alloc */
    const char *path; /* the destination, borrowed from the caller */
} ae__atomic_file;

/* Create the temporary file beside path (named path.tmp.<pid>.<n>) with the
 * permissions of the file it will replace, or 0666 less the umask if there
 * is none.  AE_ERR_NO_MEMORY for its name, AE_ERR_IO naming path and the
 * system's reason.  On failure *af holds nothing: aborting it does nothing.
 * path must outlive the commit or abort. */
ae_status ae__atomic_open(ae__atomic_file *af, const char *path);

/* Flush, sync and close the temporary file and rename it onto the
 * destination.  A write error the caller missed (the stream's error flag)
 * fails it too.  On failure (AE_ERR_IO naming the destination) the
 * temporary file is removed and the destination is untouched.  Either way
 * *af is closed afterwards; committing it again is AE_ERR_BAD_STATE. */
ae_status ae__atomic_commit(ae__atomic_file *af);

/* Close and remove the temporary file.  Does nothing for a file already
 * committed or aborted, or one whose open failed. */
void ae__atomic_abort(ae__atomic_file *af);

/* Replace path with the size bytes at data, all through the above. */
ae_status ae__write_file_atomic(const char *path, const void *data,
                                size_t size);

#endif /* AE_ATOMIC_FILE_H */

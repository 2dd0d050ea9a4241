/*
 * atomic_file.c - write a temporary file beside the destination, sync it,
 * rename it into place and sync the directory (atomic_file.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/atomic_file.h"

/* Room for ".tmp.<pid>.<n>" and the terminating zero. */
enum { TMP_SUFFIX_MAX = 64 };

/* The name is chosen here rather than by mkstemp because mkstemp creates
 * the file 0600: giving a new file 0666 less the umask would then need the
 * umask, which cannot be read without racing other threads (umask() sets
 * it).  open(O_EXCL, 0666) lets the kernel apply the umask.  The pid and a
 * process-wide counter keep concurrent writers apart; a name left over by
 * a dead process with the same pid is skipped. */
ae_status ae__atomic_open(ae__atomic_file *af, const char *path)
{
    static atomic_uint counter;
    af->f = NULL;
    af->tmp_path = NULL;
    af->path = path;
    size_t path_len = strlen(path);
    char *name = path_len < SIZE_MAX - TMP_SUFFIX_MAX
                     ? ae__alloc(path_len + TMP_SUFFIX_MAX)
                     : NULL;
    if (name == NULL)
        return ae__fail(AE_ERR_NO_MEMORY, "cannot allocate a temporary file "
                        "name for %s", path);
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        unsigned n = atomic_fetch_add_explicit(&counter, 1,
                                               memory_order_relaxed);
        snprintf(name, path_len + TMP_SUFFIX_MAX, "%s.tmp.%ld.%u", path,
                 (long)getpid(), n);
        fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        ae_status s = ae__fail_io("create a temporary file beside", path, errno);
        ae__free(name);
        return s;
    }
    /* Keep an existing file's permissions. */
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
        (void)fchmod(fd, st.st_mode & 07777); /* best effort */
    FILE *f = fdopen(fd, "wb");
    if (f == NULL) {
        ae_status s = ae__fail_io("open a temporary file beside", path, errno);
        close(fd);
        unlink(name);
        ae__free(name);
        return s;
    }
    af->f = f;
    af->tmp_path = name;
    return AE_OK;
}

/* Make the rename durable: it changes only the directory, and until the
 * directory itself is synced a crash can undo it, leaving the old file (or
 * none).  dir_buf holds a path in that directory and is overwritten, so no
 * allocation is needed.  Best effort: some file systems refuse to sync
 * directories. */
static void sync_parent_dir(char *dir_buf)
{
    char *slash = strrchr(dir_buf, '/');
    const char *dir = ".";
    if (slash != NULL) {
        slash[slash == dir_buf] = '\0'; /* "/name" keeps its "/" */
        dir = dir_buf;
    }
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

ae_status ae__atomic_commit(ae__atomic_file *af)
{
    if (af->f == NULL)
        return ae__fail(AE_ERR_BAD_STATE, "ae__atomic_commit: the file was "
                        "never opened, or already committed or aborted");
    const char *step = NULL;
    int err = 0;
    if (fflush(af->f) != 0) {
        step = "write";
        err = errno;
    } else if (ferror(af->f)) {
        step = "write";
        err = EIO;
    } else if (fsync(fileno(af->f)) != 0) {
        step = "sync";
        err = errno;
    }
    if (fclose(af->f) != 0 && step == NULL) {
        step = "close";
        err = errno;
    }
    af->f = NULL;
    if (step == NULL && rename(af->tmp_path, af->path) != 0) {
        step = "rename the temporary file onto";
        err = errno;
    }
    ae_status s = AE_OK;
    if (step != NULL) {
        unlink(af->tmp_path);
        s = ae__fail_io(step, af->path, err);
    } else {
        sync_parent_dir(af->tmp_path); /* the name is no longer needed */
    }
    ae__free(af->tmp_path);
    af->tmp_path = NULL;
    af->path = NULL;
    return s;
}

void ae__atomic_abort(ae__atomic_file *af)
{
    if (af->f != NULL)
        fclose(af->f);
    if (af->tmp_path != NULL)
        unlink(af->tmp_path);
    ae__free(af->tmp_path);
    af->f = NULL;
    af->tmp_path = NULL;
    af->path = NULL;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        size_t piece = n < ((size_t)1 << 30) ? n : ((size_t)1 << 30);
        ssize_t w = write(fd, p, piece);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (w == 0) {
            errno = EIO;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

ae_status ae__write_file_atomic(const char *path, const void *data,
                                size_t size)
{
    ae__atomic_file af;
    ae_status s = ae__atomic_open(&af, path);
    if (s != AE_OK)
        return s;
    /* Straight to the descriptor: nothing is buffered in af.f, and stdio's
     * copy gains nothing for one large buffer. */
    if (write_all(fileno(af.f), data, size) != 0) {
        s = ae__fail_io("write", path, errno); /* before abort changes errno */
        ae__atomic_abort(&af);
        return s;
    }
    return ae__atomic_commit(&af);
}

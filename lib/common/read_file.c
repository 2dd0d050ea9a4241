/* read_file.c - a whole file into memory, never more than a limit: the
 * loaders of model files, checkpoints and NumPy arrays read what they
 * parse this way, so a file that grows while it is read, a pipe, or a
 * file far larger than any valid one cannot make them allocate without
 * bound. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/read_file.h"

static ae_status open_for_read(const char *path, uint64_t limit, int *fd_out,
                               struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ae__fail_io("open", path, errno);
    ae_status s = AE_OK;
    if (fstat(fd, st) != 0)
        s = ae__fail_io("stat", path, errno);
    else if (S_ISDIR(st->st_mode))
        s = ae__fail_io("read", path, EISDIR);
    else if (S_ISREG(st->st_mode) && (uint64_t)st->st_size > limit)
        s = ae__fail(AE_ERR_LIMIT, "%s: %llu bytes, over the file limit of "
                     "%llu", path, (unsigned long long)st->st_size,
                     (unsigned long long)limit);
    if (s != AE_OK) {
        close(fd);
        return s;
    }
    *fd_out = fd;
    return AE_OK;
}

/* Double buf's capacity (to at most limit + 1 bytes). */
static ae_status grow(uint8_t **buf, size_t *cap, size_t len, uint64_t limit,
                      const char *path)
{
    if ((uint64_t)*cap > limit)
        return ae__fail(AE_ERR_LIMIT, "%s: over the file limit of %llu "
                        "bytes", path, (unsigned long long)limit);
    size_t grown = (uint64_t)*cap > limit / 2 ? (size_t)limit + 1 : *cap * 2;
    uint8_t *bigger = ae__alloc(grown);
    if (bigger == NULL)
        return ae__fail(AE_ERR_NO_MEMORY, "%s: cannot allocate %zu bytes",
                        path, grown);
    memcpy(bigger, *buf, len);
    ae__free(*buf);
    *buf = bigger;
    *cap = grown;
    return AE_OK;
}

/* Read to the end (one byte past a regular file's size, to notice growth;
 * pipes and the like grow the buffer), never past the limit.  limit must
 * be below SIZE_MAX. */
ae_status ae__read_file(const char *path, uint64_t limit, uint8_t **data,
                        size_t *size)
{
    *data = NULL;
    int fd = -1;
    struct stat st;
    ae_status s = open_for_read(path, limit, &fd, &st);
    if (s != AE_OK)
        return s;
    size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 1 << 16;
    size_t len = 0;
    uint8_t *buf = ae__alloc(cap);
    if (buf == NULL)
        s = ae__fail(AE_ERR_NO_MEMORY, "%s: cannot allocate %zu bytes", path,
                     cap);
    while (s == AE_OK) {
        if (len == cap && (s = grow(&buf, &cap, len, limit, path)) != AE_OK)
            break;
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno != EINTR)
            s = ae__fail_io("read", path, errno);
        else if (r == 0)
            break;
        else if (r > 0)
            len += (size_t)r;
    }
    close(fd);
    if (s != AE_OK) {
        ae__free(buf);
        return s;
    }
    *data = buf;
    *size = len;
    return AE_OK;
}

/* alloc.c - every allocation of the library goes through here, so that an
 * embedding program can supply its own allocator (and tests can make the
 * Nth allocation fail). */
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"

static ae_alloc_fn user_alloc;
static ae_free_fn user_free;
static void *user_opaque;

ae_status ae_set_allocator(ae_alloc_fn alloc_fn, ae_free_fn free_fn,
                           void *opaque)
{
    if ((alloc_fn == NULL) != (free_fn == NULL))
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_set_allocator: give both functions or neither");
    user_alloc = alloc_fn;
    user_free = free_fn;
    user_opaque = opaque;
    return AE_OK;
}

void *ae__alloc(size_t size)
{
    if (size == 0)
        size = 1;
    return user_alloc ? user_alloc(user_opaque, size) : malloc(size);
}

void *ae__calloc(size_t n, size_t size)
{
    size_t bytes;
    if (!ae__mul_size(n, size, &bytes))
        return NULL;
    void *p = ae__alloc(bytes);
    if (p != NULL)
        memset(p, 0, bytes == 0 ? 1 : bytes);
    return p;
}

void ae__free(void *ptr)
{
    if (ptr == NULL)
        return;
    if (user_free)
        user_free(user_opaque, ptr);
    else
        free(ptr);
}

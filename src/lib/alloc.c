/* The pluggable allocator.  One process-wide setting: libzlmdb has no
 * context object to carry it, and mixing allocators is never allowed. */
#include <stdlib.h>

#include "common_int.h"

static void *std_malloc(size_t size, void *payload) { (void)payload; return malloc(size); }
static void *std_realloc(void *ptr, size_t size, void *payload)
{
    (void)payload;
    return realloc(ptr, size);
}
static void std_free(void *ptr, void *payload) { (void)payload; free(ptr); }

static zlmdb_allocator current = {
    ZLMDB_ALLOCATOR_VERSION, std_malloc, std_realloc, std_free, NULL
};

int zlmdb_set_allocator(const zlmdb_allocator *alloc)
{
    if (alloc == NULL) {
        current.malloc_fn = std_malloc;
        current.realloc_fn = std_realloc;
        current.free_fn = std_free;
        current.payload = NULL;
        return ZLMDB_OK;
    }
    if (alloc->version != ZLMDB_ALLOCATOR_VERSION)
        return zlmdb__error_set(ZLMDB_EINVAL, "allocator version %u is not supported",
                                alloc->version);
    if (!alloc->malloc_fn || !alloc->realloc_fn || !alloc->free_fn)
        return zlmdb__error_set(ZLMDB_EINVAL, "allocator lacks a function");
    current = *alloc;
    return ZLMDB_OK;
}

void *zlmdb__malloc(size_t size)
{
    return current.malloc_fn(size ? size : 1, current.payload);
}

void *zlmdb__realloc(void *ptr, size_t size)
{
    return current.realloc_fn(ptr, size ? size : 1, current.payload);
}

void zlmdb__free(void *ptr)
{
    if (ptr)
        current.free_fn(ptr, current.payload);
}

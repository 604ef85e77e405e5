/* An allocator that fails once `fail_after` allocations have succeeded,
 * for the table tests' fault injection (zlmdb_set_allocator). */
#ifndef ZLMDB_TEST_TABLE_FAULTS_H
#define ZLMDB_TEST_TABLE_FAULTS_H

#include <stdlib.h>

static int fail_after;

static void *fi_malloc(size_t s, void *p)
{
    (void)p;
    return fail_after-- > 0 ? malloc(s) : NULL;
}

static void *fi_realloc(void *o, size_t s, void *p)
{
    (void)p;
    return fail_after-- > 0 ? realloc(o, s) : NULL;
}

static void fi_free(void *o, void *p)
{
    (void)p;
    free(o);
}

#endif

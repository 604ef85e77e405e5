/* zlmdb_buf and the pluggable allocator. */
#include <stdlib.h>

#include "harness.h"

void test_buf__append_grows_and_terminates(void)
{
    zlmdb_buf buf = ZLMDB_BUF_INIT;
    size_t i;

    for (i = 0; i < 1000; i++)
        CHECK_OK(zlmdb_buf_append(&buf, "abc", 3));
    CHECK(buf.size == 3000);
    CHECK(buf.asize > buf.size);
    CHECK(buf.ptr[buf.size] == 0);
    CHECK(memcmp(buf.ptr + 2997, "abc", 3) == 0);
    zlmdb_buf_clear(&buf);
    CHECK(buf.size == 0 && buf.ptr[0] == 0 && buf.asize > 0);
    zlmdb_buf_dispose(&buf);
    CHECK(buf.ptr == NULL && buf.size == 0 && buf.asize == 0);
    zlmdb_buf_dispose(&buf);  /* twice is harmless */
    zlmdb_buf_dispose(NULL);
}

void test_buf__empty_append_and_null_arguments(void)
{
    zlmdb_buf buf = ZLMDB_BUF_INIT;

    CHECK_OK(zlmdb_buf_append(&buf, NULL, 0));
    CHECK(buf.size == 0 && buf.ptr != NULL && buf.ptr[0] == 0);
    CHECK_RC(zlmdb_buf_append(NULL, "x", 1), ZLMDB_EINVAL);
    zlmdb_buf_dispose(&buf);
}

void test_buf__size_overflow_is_refused(void)
{
    zlmdb_buf buf = ZLMDB_BUF_INIT;

    CHECK_OK(zlmdb_buf_append(&buf, "x", 1));
    CHECK_RC(zlmdb_buf_reserve(&buf, SIZE_MAX), ZLMDB_TOO_LARGE);
    CHECK(buf.size == 1 && buf.ptr[0] == 'x');
    zlmdb_buf_dispose(&buf);
}

static int allocations_left;
static size_t live_blocks;

static void *counting_malloc(size_t size, void *payload)
{
    (void)payload;
    if (allocations_left-- <= 0)
        return NULL;
    live_blocks++;
    return malloc(size);
}

static void *counting_realloc(void *ptr, size_t size, void *payload)
{
    (void)payload;
    if (allocations_left-- <= 0)
        return NULL;
    if (ptr == NULL)
        live_blocks++;
    return realloc(ptr, size);
}

static void counting_free(void *ptr, void *payload)
{
    (void)payload;
    live_blocks--;
    free(ptr);
}

void test_buf__allocation_failure_leaves_buffer_unchanged(void)
{
    zlmdb_allocator alloc = {ZLMDB_ALLOCATOR_VERSION, counting_malloc, counting_realloc,
                             counting_free, NULL};
    zlmdb_buf buf = ZLMDB_BUF_INIT;
    char block[100];
    int k;

    memset(block, 'q', sizeof(block));
    CHECK_OK(zlmdb_set_allocator(&alloc));
    /* Fail the k-th allocation for k = 0..4: each failure is clean. */
    for (k = 0; k < 5; k++) {
        int i, rc = 0;
        allocations_left = k;
        for (i = 0; i < 50 && rc == 0; i++)
            rc = zlmdb_buf_append(&buf, block, sizeof(block));
        CHECK_RC(rc, ZLMDB_ENOMEM);
        CHECK(buf.size == (size_t)(i - 1) * sizeof(block));
        CHECK(zlmdb_error_last() != NULL);
        zlmdb_buf_dispose(&buf);
        CHECK(live_blocks == 0);
    }
    CHECK_OK(zlmdb_set_allocator(NULL));
}

void test_buf__bad_allocator_is_refused(void)
{
    zlmdb_allocator alloc = {ZLMDB_ALLOCATOR_VERSION + 1, counting_malloc,
                             counting_realloc, counting_free, NULL};

    CHECK_RC(zlmdb_set_allocator(&alloc), ZLMDB_EINVAL);
    alloc.version = ZLMDB_ALLOCATOR_VERSION;
    alloc.free_fn = NULL;
    CHECK_RC(zlmdb_set_allocator(&alloc), ZLMDB_EINVAL);
}

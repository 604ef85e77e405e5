/* zlmdb_buf: the growable output buffer every encoder writes into. */
#include <string.h>

#include "common_int.h"

int zlmdb_buf_reserve(zlmdb_buf *buf, size_t extra)
{
    size_t need, asize;
    unsigned char *p;

    if (buf == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "buf is NULL");
    /* +1 keeps room for the NUL terminator promised by the header. */
    if (extra > SIZE_MAX - buf->size - 1)
        return zlmdb__error_set(ZLMDB_TOO_LARGE, "buffer size overflows");
    need = buf->size + extra + 1;
    if (need <= buf->asize)
        return ZLMDB_OK;
    asize = buf->asize ? buf->asize : 64;
    while (asize < need)
        asize = (asize > SIZE_MAX / 2) ? need : asize * 2;
    p = zlmdb__realloc(buf->ptr, asize);
    if (p == NULL)
        return zlmdb__error_set(ZLMDB_ENOMEM, "out of memory growing a buffer to %zu bytes",
                                asize);
    buf->ptr = p;
    buf->asize = asize;
    buf->ptr[buf->size] = 0;
    return ZLMDB_OK;
}

int zlmdb_buf_append(zlmdb_buf *buf, const void *data, size_t len)
{
    int rc = zlmdb_buf_reserve(buf, len);
    if (rc)
        return rc;
    if (len)
        memcpy(buf->ptr + buf->size, data, len);
    buf->size += len;
    buf->ptr[buf->size] = 0;
    return ZLMDB_OK;
}

void zlmdb_buf_clear(zlmdb_buf *buf)
{
    if (buf == NULL)
        return;
    buf->size = 0;
    if (buf->asize)
        buf->ptr[0] = 0;
}

void zlmdb_buf_dispose(zlmdb_buf *buf)
{
    if (buf == NULL)
        return;
    zlmdb__free(buf->ptr);
    buf->ptr = NULL;
    buf->size = buf->asize = 0;
}

/* Return codes, their descriptions, and the thread-local detail message. */
#include <stdarg.h>
#include <stdio.h>

#include <lmdb.h>

#include "common_int.h"

static const struct {
    int code;
    const char *text;
} own_codes[] = {
    {ZLMDB_ERROR, "ZLMDB_ERROR: operation failed"},
    {ZLMDB_EINVAL, "ZLMDB_EINVAL: invalid argument"},
    {ZLMDB_ENOMEM, "ZLMDB_ENOMEM: out of memory"},
    {ZLMDB_NOTFOUND, "ZLMDB_NOTFOUND: not found"},
    {ZLMDB_BAD_TXN, "ZLMDB_BAD_TXN: transaction failed earlier and must be aborted"},
    {ZLMDB_READONLY, "ZLMDB_READONLY: write in a read-only transaction"},
    {ZLMDB_CLOSED, "ZLMDB_CLOSED: handle is closed"},
    {ZLMDB_ENCODE, "ZLMDB_ENCODE: value cannot be encoded"},
    {ZLMDB_DECODE, "ZLMDB_DECODE: malformed input"},
    {ZLMDB_TRUNCATED, "ZLMDB_TRUNCATED: input ends inside an item"},
    {ZLMDB_KEY_TYPE, "ZLMDB_KEY_TYPE: key component has the wrong type or size"},
    {ZLMDB_KEY_RANGE, "ZLMDB_KEY_RANGE: key component out of range"},
    {ZLMDB_UNIQUE, "ZLMDB_UNIQUE: unique index already holds this key"},
    {ZLMDB_NULL_KEY, "ZLMDB_NULL_KEY: null key for a non-nullable index"},
    {ZLMDB_CALLBACK, "ZLMDB_CALLBACK: an index callback failed"},
    {ZLMDB_HALF, "ZLMDB_HALF: a write failed part way; abort the transaction"},
    {ZLMDB_TOO_DEEP, "ZLMDB_TOO_DEEP: nesting too deep"},
    {ZLMDB_TOO_LARGE, "ZLMDB_TOO_LARGE: size limit exceeded"},
    {ZLMDB_BAD_FORMAT, "ZLMDB_BAD_FORMAT: not a file of an LMDB format this build reads"},
    {ZLMDB_FORMAT_MISMATCH, "ZLMDB_FORMAT_MISMATCH: the environment has another LMDB format"},
    {ZLMDB_VERIFY_FAILED, "ZLMDB_VERIFY_FAILED: the data file failed verification"},
    {ZLMDB_VERIFY_UNSUPPORTED,
     "ZLMDB_VERIFY_UNSUPPORTED: not an LMDB data file of a layout the verifier handles"},
};

const char *zlmdb_strerror(int rc)
{
    size_t i;

    if (rc <= ZLMDB_ERRCODE_FIRST && rc >= ZLMDB_ERRCODE_LAST) {
        for (i = 0; i < sizeof(own_codes) / sizeof(own_codes[0]); i++)
            if (own_codes[i].code == rc)
                return own_codes[i].text;
        return "ZLMDB: unknown error code";
    }
    /* LMDB describes its own codes and falls back to strerror() for errno;
     * the newest engine knows the codes of both release lines. */
    return zlmdb__engine_newest()->strerror(rc);
}

/* One message per thread; a fixed array, so recording never allocates and
 * cannot fail (an out-of-memory report must not need memory). */
static _Thread_local char last_message[512];
static _Thread_local int have_message;

int zlmdb__error_set(int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(last_message, sizeof(last_message), fmt, ap);
    va_end(ap);
    have_message = 1;
    return rc;
}

const char *zlmdb_error_last(void)
{
    return have_message ? last_message : NULL;
}

void zlmdb_error_clear(void)
{
    have_message = 0;
    last_message[0] = 0;
}

/* CBOR (RFC 8949): an encoder that writes what cbor2 writes, the UTF-8
 * check, and the public face of the bounded pull reader (cbor_read_int.h). */
#include <math.h>
#include <string.h>

#include "codec_int.h"
#include "common_int.h"
#include "cbor_read_int.h"

/* ---------------------------------------------------------------- UTF-8 */

int zlmdb__utf8_check(const unsigned char *s, size_t len, size_t *bad_off)
{
    size_t i = 0;

    while (i < len) {
        unsigned char c;
        size_t n;
        unsigned char lo = 0x80, hi = 0xBF;

        /* Runs of ASCII (most text, and every key) eight bytes at a time. */
        while (len - i >= 8) {
            uint64_t x;
            memcpy(&x, s + i, 8);
            if (x & 0x8080808080808080ULL)
                break;
            i += 8;
        }
        if (i >= len)
            break;
        c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        /* The second-byte ranges below exclude overlong forms, UTF-16
         * surrogates (ED A0..BF) and code points above U+10FFFF. */
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            if (c == 0xE0)
                lo = 0xA0;
            else if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F;
        } else {
            goto bad;
        }
        if (len - i <= n)
            goto bad;
        if (s[i + 1] < lo || s[i + 1] > hi)
            goto bad;
        if (n >= 2 && (s[i + 2] & 0xC0) != 0x80)
            goto bad;
        if (n == 3 && (s[i + 3] & 0xC0) != 0x80)
            goto bad;
        i += n + 1;
    }
    return 1;
bad:
    if (bad_off)
        *bad_off = i;
    return 0;
}

/* ---------------------------------------------------------------- encoder */

/* The byte writers are in codec_int.h; each function here reserves room,
 * writes, and commits the new size, so a failure appends nothing. */

static int put_head(zlmdb_buf *out, unsigned major, uint64_t v)
{
    unsigned char *p = NULL;
    int rc = zlmdb__buf_room(out, ZLMDB__CBOR_HEAD_MAX, &p);

    return rc ? rc : zlmdb__buf_commit(out, zlmdb__cbor_head(p, major, v));
}

static int put_string(zlmdb_buf *out, unsigned major, const void *data, size_t len)
{
    unsigned char *p = NULL;
    int rc;

    if (out == NULL || (data == NULL && len))
        return zlmdb__error_set(ZLMDB_EINVAL, "CBOR string: NULL argument");
    if (len > SIZE_MAX - ZLMDB__CBOR_HEAD_MAX)
        return zlmdb__error_set(ZLMDB_TOO_LARGE, "CBOR string of %zu bytes is too large", len);
    if (data == NULL)
        data = ""; /* len is 0; memcpy wants a pointer all the same */
    rc = zlmdb__buf_room(out, ZLMDB__CBOR_HEAD_MAX + len, &p);
    return rc ? rc : zlmdb__buf_commit(out, zlmdb__cbor_string(p, major, data, len));
}

int zlmdb_cbor_encode_uint(zlmdb_buf *out, uint64_t v)
{
    return put_head(out, ZLMDB__CBOR_MT_UINT, v);
}

int zlmdb_cbor_encode_negint(zlmdb_buf *out, uint64_t n)
{
    return put_head(out, ZLMDB__CBOR_MT_NEGINT, n);
}

int zlmdb_cbor_encode_int(zlmdb_buf *out, int64_t v)
{
    unsigned char *p = NULL;
    int rc = zlmdb__buf_room(out, ZLMDB__CBOR_HEAD_MAX, &p);

    return rc ? rc : zlmdb__buf_commit(out, zlmdb__cbor_int(p, v));
}

unsigned char *zlmdb__cbor_bigint(unsigned char *p, int negative, const unsigned char *mag,
                                  size_t len)
{
    while (len && mag[0] == 0) {
        mag++;
        len--;
    }
    if (len <= 8) {
        uint64_t v = 0;
        for (size_t i = 0; i < len; i++)
            v = (v << 8) | mag[i];
        return zlmdb__cbor_head(p, negative ? ZLMDB__CBOR_MT_NEGINT : ZLMDB__CBOR_MT_UINT, v);
    }
    p = zlmdb__cbor_head(p, ZLMDB__CBOR_MT_TAG, negative ? 3 : 2);
    return zlmdb__cbor_string(p, ZLMDB__CBOR_MT_BYTES, mag, len);
}

int zlmdb_cbor_encode_bigint(zlmdb_buf *out, int negative, const unsigned char *mag,
                             size_t len)
{
    unsigned char *p = NULL;
    int rc;

    if (out == NULL || (mag == NULL && len))
        return zlmdb__error_set(ZLMDB_EINVAL, "CBOR bigint: NULL argument");
    if (len > SIZE_MAX - 2 * ZLMDB__CBOR_HEAD_MAX)
        return zlmdb__error_set(ZLMDB_TOO_LARGE, "CBOR bigint of %zu bytes is too large", len);
    rc = zlmdb__buf_room(out, 2 * ZLMDB__CBOR_HEAD_MAX + len, &p);
    return rc ? rc : zlmdb__buf_commit(out, zlmdb__cbor_bigint(p, negative, mag, len));
}

int zlmdb_cbor_encode_bytes(zlmdb_buf *out, const void *data, size_t len)
{
    return put_string(out, ZLMDB__CBOR_MT_BYTES, data, len);
}

int zlmdb_cbor_encode_text(zlmdb_buf *out, const char *text, size_t len)
{
    size_t bad;

    if (text == NULL && len)
        return zlmdb__error_set(ZLMDB_EINVAL, "CBOR text: NULL argument");
    if (len && !zlmdb__utf8_check((const unsigned char *)text, len, &bad))
        return zlmdb__error_set(ZLMDB_ENCODE, "CBOR text: not UTF-8 at byte %zu", bad);
    return put_string(out, ZLMDB__CBOR_MT_TEXT, text, len);
}

int zlmdb_cbor_encode_text_unchecked(zlmdb_buf *out, const char *text, size_t len)
{
    return put_string(out, ZLMDB__CBOR_MT_TEXT, text, len);
}

int zlmdb_cbor_encode_array(zlmdb_buf *out, uint64_t count)
{
    return put_head(out, ZLMDB__CBOR_MT_ARRAY, count);
}

int zlmdb_cbor_encode_map(zlmdb_buf *out, uint64_t count)
{
    return put_head(out, ZLMDB__CBOR_MT_MAP, count);
}

int zlmdb_cbor_encode_tag(zlmdb_buf *out, uint64_t tag)
{
    return put_head(out, ZLMDB__CBOR_MT_TAG, tag);
}

int zlmdb_cbor_encode_bool(zlmdb_buf *out, int v)
{
    return put_head(out, ZLMDB__CBOR_MT_SIMPLE, v ? ZLMDB__CBOR_TRUE : ZLMDB__CBOR_FALSE);
}

int zlmdb_cbor_encode_null(zlmdb_buf *out)
{
    return put_head(out, ZLMDB__CBOR_MT_SIMPLE, ZLMDB__CBOR_NULL);
}

int zlmdb_cbor_encode_undefined(zlmdb_buf *out)
{
    return put_head(out, ZLMDB__CBOR_MT_SIMPLE, ZLMDB__CBOR_UNDEFINED);
}

int zlmdb_cbor_encode_simple(zlmdb_buf *out, unsigned v)
{
    if ((v >= 20 && v <= 31) || v > 255)
        return zlmdb__error_set(ZLMDB_EINVAL, "CBOR simple value %u is not encodable as such",
                                v);
    return put_head(out, ZLMDB__CBOR_MT_SIMPLE, v);
}

int zlmdb_cbor_encode_double(zlmdb_buf *out, double v)
{
    unsigned char *p = NULL;
    int rc = zlmdb__buf_room(out, ZLMDB__CBOR_HEAD_MAX, &p);

    return rc ? rc : zlmdb__buf_commit(out, zlmdb__cbor_double(p, v));
}

/* ---------------------------------------------------------------- reader */

/* The reader itself is in cbor_read_int.h, inlined here and into the
 * extension's cbor_loads. */

int zlmdb_cbor_reader_init(zlmdb_cbor_reader *reader, const void *data, size_t len,
                           size_t max_depth)
{
    if (reader == NULL || (data == NULL && len))
        return zlmdb__error_set(ZLMDB_EINVAL, "CBOR reader: NULL argument");
    memset(reader, 0, sizeof(*reader));
    /* An empty input may come as NULL; point at "" so no item pointer is
     * ever derived from a null pointer. */
    reader->data = data ? (const unsigned char *)data : (const unsigned char *)"";
    reader->len = len;
    reader->max_depth = max_depth ? max_depth : ZLMDB_CBOR_DEFAULT_MAX_DEPTH;
    reader->stack = reader->inline_stack;
    reader->stack_cap = ZLMDB__CBOR_INLINE_FRAMES;
    return ZLMDB_OK;
}

void zlmdb_cbor_reader_dispose(zlmdb_cbor_reader *reader)
{
    if (reader == NULL)
        return;
    if (reader->stack != reader->inline_stack)
        zlmdb__free(reader->stack);
    reader->stack = reader->inline_stack;
    reader->stack_cap = ZLMDB__CBOR_INLINE_FRAMES;
}

int zlmdb__cbor_fail(zlmdb_cbor_reader *r, int rc, size_t off, const char *what)
{
    r->error = rc;
    r->error_offset = off;
    return zlmdb__error_set(rc, "CBOR: %s at offset %zu", what, off);
}

int zlmdb_cbor_reader_next(zlmdb_cbor_reader *r, zlmdb_cbor_item *out)
{
    if (r == NULL || out == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "CBOR reader: NULL argument");
    return zlmdb__cbor_next(r, out);
}

int zlmdb_cbor_reader_finish(zlmdb_cbor_reader *r)
{
    if (r == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "CBOR reader is NULL");
    if (r->error)
        return zlmdb__error_set(r->error, "CBOR: earlier error at offset %zu",
                                r->error_offset);
    if (r->depth || r->top_tagged || r->ntop == 0)
        return zlmdb__cbor_fail(r, ZLMDB_TRUNCATED, r->pos, "input ends inside an item");
    if (r->ntop > 1 || r->pos != r->len)
        return zlmdb__cbor_fail(r, ZLMDB_DECODE, r->pos, "trailing bytes after the item");
    return ZLMDB_OK;
}

int zlmdb_cbor_validate(const void *data, size_t len, size_t max_depth)
{
    zlmdb_cbor_reader r;
    zlmdb_cbor_item it;
    int rc = zlmdb_cbor_reader_init(&r, data, len, max_depth);

    if (rc)
        return rc;
    do {
        rc = zlmdb_cbor_reader_next(&r, &it);
    } while (rc == 0 && !it.done);
    if (rc == 0)
        rc = zlmdb_cbor_reader_finish(&r);
    zlmdb_cbor_reader_dispose(&r);
    return rc;
}

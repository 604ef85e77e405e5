/* CBOR (RFC 8949): an encoder that writes what cbor2 writes, and a bounded
 * pull reader.
 *
 * The reader's input is attacker-controlled (a corrupt or hostile database
 * value): every length is checked against the bytes that remain before it
 * is used, nesting lives on an explicit, depth-limited stack, and a count
 * that the rest of the input could not possibly hold is refused at once, so
 * a caller that pre-allocates by count cannot be made to allocate 2^63. */
#include <math.h>
#include <string.h>

#include "codec_int.h"
#include "common_int.h"

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

static int fail(zlmdb_cbor_reader *r, int rc, size_t off, const char *what)
{
    r->error = rc;
    r->error_offset = off;
    return zlmdb__error_set(rc, "CBOR: %s at offset %zu", what, off);
}

static int push(zlmdb_cbor_reader *r, zlmdb_cbor_kind kind, int indefinite, uint64_t remaining,
                size_t off)
{
    zlmdb__cbor_frame *f;

    if (r->depth >= r->max_depth)
        return fail(r, ZLMDB_TOO_DEEP, off, "nesting deeper than the limit");
    if (r->depth == r->stack_cap) {
        size_t cap = r->stack_cap * 2;
        zlmdb__cbor_frame *ns;
        if (cap > r->max_depth)
            cap = r->max_depth;
        if (cap > SIZE_MAX / sizeof(*ns))
            return fail(r, ZLMDB_ENOMEM, off, "nesting stack too large");
        if (r->stack == r->inline_stack) {
            ns = zlmdb__malloc(cap * sizeof(*ns));
            if (ns)
                memcpy(ns, r->inline_stack, sizeof(r->inline_stack));
        } else {
            ns = zlmdb__realloc(r->stack, cap * sizeof(*ns));
        }
        if (ns == NULL)
            return fail(r, ZLMDB_ENOMEM, off, "out of memory for the nesting stack");
        r->stack = ns;
        r->stack_cap = cap;
    }
    f = &r->stack[r->depth++];
    f->remaining = remaining;
    f->kind = (unsigned char)kind;
    f->indefinite = (unsigned char)(indefinite != 0);
    f->tagged = 0;
    return ZLMDB_OK;
}

/* Read the argument of a head whose additional info is `ai`.  Returns 0,
 * 1 for "indefinite" (ai 31), or an error. */
static int read_arg(zlmdb_cbor_reader *r, unsigned ai, size_t off, uint64_t *arg)
{
    size_t n, i;
    uint64_t v = 0;

    if (ai < 24) {
        *arg = ai;
        return 0;
    }
    if (ai >= 28 && ai <= 30)
        return fail(r, ZLMDB_DECODE, off, "reserved additional information 28-30");
    if (ai == 31)
        return 1;
    n = (size_t)1 << (ai - 24);
    if (r->len - r->pos < n)
        return fail(r, ZLMDB_TRUNCATED, off, "input ends inside an item head");
    for (i = 0; i < n; i++)
        v = (v << 8) | r->data[r->pos + i];
    r->pos += n;
    *arg = v;
    return 0;
}

static double half_to_double(unsigned h)
{
    unsigned exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
    double v;

    if (exp == 0)
        v = ldexp((double)mant, -24);
    else if (exp == 31)
        v = mant ? NAN : INFINITY;
    else
        v = ldexp((double)(mant + 1024), (int)exp - 25);
    return (h & 0x8000) ? -v : v;
}

/* Called once an item (scalar, or a container at its END) is complete:
 * count it against the enclosing container and set `done` at top level. */
static void complete_item(zlmdb_cbor_reader *r, zlmdb_cbor_item *out)
{
    if (r->depth == 0) {
        r->top_tagged = 0;
        r->ntop++;
        out->done = 1;
        return;
    }
    r->stack[r->depth - 1].tagged = 0;
    /* Definite: count down to the implicit end.  Indefinite: count up, so a
     * break can tell a map that ends after a key. */
    if (r->stack[r->depth - 1].indefinite)
        r->stack[r->depth - 1].remaining++;
    else
        r->stack[r->depth - 1].remaining--;
}

int zlmdb_cbor_reader_next(zlmdb_cbor_reader *r, zlmdb_cbor_item *out)
{
    size_t off;
    unsigned ib, major, ai;
    uint64_t arg = 0;
    int ind;
    zlmdb__cbor_frame *top;

    if (r == NULL || out == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "CBOR reader: NULL argument");
    if (r->error)
        return zlmdb__error_set(r->error, "CBOR: earlier error at offset %zu",
                                r->error_offset);
    memset(out, 0, sizeof(*out));
    off = r->pos;
    out->offset = off;
    top = r->depth ? &r->stack[r->depth - 1] : NULL;

    /* A definite container whose items are all read ends without a byte. */
    if (top && !top->indefinite && top->remaining == 0) {
        out->kind = ZLMDB_CBOR_END;
        out->end_of = (zlmdb_cbor_kind)top->kind;
        r->depth--;
        out->depth = r->depth;
        complete_item(r, out);
        return ZLMDB_OK;
    }
    if (r->pos == r->len) {
        if (top == NULL && !r->top_tagged && r->ntop > 0) {
            out->kind = ZLMDB_CBOR_EOF;
            return ZLMDB_OK;
        }
        return fail(r, ZLMDB_TRUNCATED, off, "input ends inside an item");
    }
    ib = r->data[r->pos++];
    major = ib >> 5;
    ai = ib & 0x1F;
    out->depth = r->depth;

    if (ib == 0xFF) {
        if (top == NULL || !top->indefinite)
            return fail(r, ZLMDB_DECODE, off, "break outside an indefinite-length item");
        if (top->tagged)
            return fail(r, ZLMDB_DECODE, off, "break where a tagged item should be");
        if (top->kind == ZLMDB_CBOR_MAP && (top->remaining & 1))
            return fail(r, ZLMDB_DECODE, off, "map ends after a key without its value");
        out->kind = ZLMDB_CBOR_END;
        out->end_of = (zlmdb_cbor_kind)top->kind;
        r->depth--;
        out->depth = r->depth;
        complete_item(r, out);
        return ZLMDB_OK;
    }

    /* Inside an indefinite string only definite strings of the same major
     * type may appear (RFC 8949 3.2.3). */
    if (top && top->indefinite &&
        (top->kind == ZLMDB_CBOR_BYTES || top->kind == ZLMDB_CBOR_TEXT)) {
        unsigned want = top->kind == ZLMDB_CBOR_BYTES ? 2 : 3;
        if (major != want || ai == 31)
            return fail(r, ZLMDB_DECODE, off,
                        "indefinite-length string holds something other than a chunk");
    }

    ind = read_arg(r, ai, off, &arg);
    if (ind < 0)
        return ind;
    if (ind && (major == 0 || major == 1 || major == 6))
        return fail(r, ZLMDB_DECODE, off, "indefinite length on an integer or tag");
    if (ind && major == 7)
        return fail(r, ZLMDB_DECODE, off, "break outside an indefinite-length item");

    switch (major) {
    case 0:
    case 1:
        out->kind = major == 0 ? ZLMDB_CBOR_UINT : ZLMDB_CBOR_NEGINT;
        out->u = arg;
        break;
    case 2:
    case 3:
        out->kind = major == 2 ? ZLMDB_CBOR_BYTES : ZLMDB_CBOR_TEXT;
        if (ind) {
            out->indefinite = 1;
            if (push(r, out->kind, 1, 0, off))
                return r->error;
            /* Counted against the parent when its END comes. */
            return ZLMDB_OK;
        }
        if (arg > (uint64_t)(r->len - r->pos))
            return fail(r, ZLMDB_TRUNCATED, off, "string longer than the rest of the input");
        out->data = r->data + r->pos;
        out->len = (size_t)arg;
        if (major == 3 && out->len) {
            size_t bad;
            if (!zlmdb__utf8_check(out->data, out->len, &bad))
                return fail(r, ZLMDB_DECODE, r->pos + bad, "text string is not valid UTF-8");
        }
        r->pos += out->len;
        break;
    case 4:
    case 5:
        out->kind = major == 4 ? ZLMDB_CBOR_ARRAY : ZLMDB_CBOR_MAP;
        if (ind) {
            out->indefinite = 1;
            if (push(r, out->kind, 1, 0, off))
                return r->error;
            return ZLMDB_OK;
        }
        /* Each item takes at least one byte: a count beyond the rest of the
         * input is a lie, refused before anyone allocates for it.  This also
         * keeps 2 * count (map) from overflowing. */
        if (arg > (uint64_t)(r->len - r->pos) / (major == 5 ? 2 : 1))
            return fail(r, ZLMDB_TRUNCATED, off, "count larger than the rest of the input");
        out->u = arg;
        if (push(r, out->kind, 0, major == 5 ? arg * 2 : arg, off))
            return r->error;
        return ZLMDB_OK;
    case 6:
        out->kind = ZLMDB_CBOR_TAG;
        out->u = arg;
        if (top)
            top->tagged = 1;
        else
            r->top_tagged = 1;
        return ZLMDB_OK;
    default: /* 7 */
        if (ai < 24) {
            if (ai == 20)
                out->kind = ZLMDB_CBOR_FALSE;
            else if (ai == 21)
                out->kind = ZLMDB_CBOR_TRUE;
            else if (ai == 22)
                out->kind = ZLMDB_CBOR_NULL;
            else if (ai == 23)
                out->kind = ZLMDB_CBOR_UNDEFINED;
            else {
                out->kind = ZLMDB_CBOR_SIMPLE;
                out->u = ai;
            }
        } else if (ai == 24) {
            if (arg < 32)
                return fail(r, ZLMDB_DECODE, off, "two-byte simple value below 32");
            out->kind = ZLMDB_CBOR_SIMPLE;
            out->u = arg;
        } else {
            out->kind = ZLMDB_CBOR_FLOAT;
            if (ai == 25) {
                out->width = 2;
                out->f = half_to_double((unsigned)arg);
            } else if (ai == 26) {
                float f;
                uint32_t b32 = (uint32_t)arg;
                memcpy(&f, &b32, 4);
                out->width = 4;
                out->f = (double)f;
            } else {
                double d;
                memcpy(&d, &arg, 8);
                out->width = 8;
                out->f = d;
            }
        }
        break;
    }
    complete_item(r, out);
    return ZLMDB_OK;
}

int zlmdb_cbor_reader_finish(zlmdb_cbor_reader *r)
{
    if (r == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "CBOR reader is NULL");
    if (r->error)
        return zlmdb__error_set(r->error, "CBOR: earlier error at offset %zu",
                                r->error_offset);
    if (r->depth || r->top_tagged || r->ntop == 0)
        return fail(r, ZLMDB_TRUNCATED, r->pos, "input ends inside an item");
    if (r->ntop > 1 || r->pos != r->len)
        return fail(r, ZLMDB_DECODE, r->pos, "trailing bytes after the item");
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

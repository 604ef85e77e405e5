/* codec_cbor: C of the CFFI module for python/zlmdb/_cffi/codec_cbor.py.
 *
 * Encoding: the Python side walks the object graph and calls these
 * writers, each a thin layer over libzlmdb's public zlmdb_cbor_encode_*
 * (the byte rules are the library's: shortest heads, cbor2's floats,
 * bignums); a few combine two items in one call to save calls.
 *
 * Decoding: zl_cbor_tape() runs libzlmdb's CBOR reader over the whole input
 * in one call and stores its items in a flat array the Python side walks.
 * A string-form datetime in the one form cbor2 writes is parsed here into
 * its fields (one DATETIME item instead of TAG + TEXT). */
#include "cbor_read_int.h"   /* src/lib: zlmdb__cbor_next, the reader inlined */

#define ZL_CBOR_UINT ZLMDB_CBOR_UINT
#define ZL_CBOR_NEGINT ZLMDB_CBOR_NEGINT
#define ZL_CBOR_BYTES ZLMDB_CBOR_BYTES
#define ZL_CBOR_TEXT ZLMDB_CBOR_TEXT
#define ZL_CBOR_ARRAY ZLMDB_CBOR_ARRAY
#define ZL_CBOR_MAP ZLMDB_CBOR_MAP
#define ZL_CBOR_TAG ZLMDB_CBOR_TAG
#define ZL_CBOR_SIMPLE ZLMDB_CBOR_SIMPLE
#define ZL_CBOR_FALSE ZLMDB_CBOR_FALSE
#define ZL_CBOR_TRUE ZLMDB_CBOR_TRUE
#define ZL_CBOR_NULL ZLMDB_CBOR_NULL
#define ZL_CBOR_UNDEFINED ZLMDB_CBOR_UNDEFINED
#define ZL_CBOR_FLOAT ZLMDB_CBOR_FLOAT
#define ZL_CBOR_END ZLMDB_CBOR_END
/* Tag 0 over text of the form YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+HH:MM|-HH:MM):
 * u = year << 40 | month << 32 | day << 24 | hour << 16 | minute << 8 | second,
 * off = microseconds, len = offset in minutes + ZL_CBOR_TZ_BIAS. */
#define ZL_CBOR_DATETIME 100
#define ZL_CBOR_TZ_BIAS 2000
/* flags */
#define ZL_CBOR_INDEFINITE 1
/* zl_cbor_tape() results */
#define ZL_CBOR_TAPE_OK 0
#define ZL_CBOR_TAPE_FULL 1
#define ZL_CBOR_TAPE_ERROR 2
/* zlmdb.codec.MAX_DEPTH; the CPython extension's ZPY_CODEC_MAX_DEPTH */
#define ZL_CBOR_MAX_DEPTH 1000

/* ============================================================ encoding */

typedef struct zl_cbor_out {
    zlmdb_buf b;
    int failed;
} zl_cbor_out;

static zl_cbor_out *zl_cbor_out_new(void)
{
    zl_cbor_out *o = calloc(1, sizeof *o);
    return o;
}

static void zl_cbor_out_free(zl_cbor_out *o)
{
    if (o != NULL) {
        zlmdb_buf_dispose(&o->b);
        free(o);
    }
}

/* The bytes written; nonzero when an append failed (out of memory). */
static int zl_cbor_out_view(zl_cbor_out *o, zl_val *v)
{
    v->size = o->b.size;
    v->data = (char *)o->b.ptr;
    return o->failed;
}

/* Empty again; a large allocation is not kept for the next value. */
static void zl_cbor_out_reset(zl_cbor_out *o)
{
    if (o->b.asize > ((size_t)1 << 20))
        zlmdb_buf_dispose(&o->b);
    else
        zlmdb_buf_clear(&o->b);
    o->failed = 0;
}

#define ZL_CBOR_CHECK(o, call) do { if ((call) != 0) (o)->failed = 1; } while (0)

/* A head of major type 0 (uint), 1 (negint: -1 - v), 4 (array), 5 (map),
 * 6 (tag) or 7 (simple value v, as cbor2 writes it: one byte below 24). */
static void zl_cbor_head(zl_cbor_out *o, int major, uint64_t v)
{
    int rc;
    switch (major) {
    case 0: rc = zlmdb_cbor_encode_uint(&o->b, v); break;
    case 1: rc = zlmdb_cbor_encode_negint(&o->b, v); break;
    case 4: rc = zlmdb_cbor_encode_array(&o->b, v); break;
    case 5: rc = zlmdb_cbor_encode_map(&o->b, v); break;
    case 6: rc = zlmdb_cbor_encode_tag(&o->b, v); break;
    case 7:
        switch (v) {
        case ZLMDB__CBOR_FALSE: rc = zlmdb_cbor_encode_bool(&o->b, 0); break;
        case ZLMDB__CBOR_TRUE: rc = zlmdb_cbor_encode_bool(&o->b, 1); break;
        case ZLMDB__CBOR_NULL: rc = zlmdb_cbor_encode_null(&o->b); break;
        case ZLMDB__CBOR_UNDEFINED: rc = zlmdb_cbor_encode_undefined(&o->b); break;
        default: rc = zlmdb_cbor_encode_simple(&o->b, (unsigned)v); break;
        }
        break;
    default: rc = ZLMDB_EINVAL; break;
    }
    if (rc != 0)
        o->failed = 1;
}

static void zl_cbor_int(zl_cbor_out *o, int64_t v)
{
    ZL_CBOR_CHECK(o, zlmdb_cbor_encode_int(&o->b, v));
}

static void zl_cbor_double(zl_cbor_out *o, double v)
{
    ZL_CBOR_CHECK(o, zlmdb_cbor_encode_double(&o->b, v));
}

/* Text the caller has from str.encode("utf-8"): valid by construction. */
static void zl_cbor_text(zl_cbor_out *o, const char *p, size_t n)
{
    ZL_CBOR_CHECK(o, zlmdb_cbor_encode_text_unchecked(&o->b, p, n));
}

/* Two texts (a map's str key and str value). */
static void zl_cbor_text2(zl_cbor_out *o, const char *a, size_t an, const char *b, size_t bn)
{
    ZL_CBOR_CHECK(o, zlmdb_cbor_encode_text_unchecked(&o->b, a, an));
    ZL_CBOR_CHECK(o, zlmdb_cbor_encode_text_unchecked(&o->b, b, bn));
}

/* A text and a 64-bit integer (a map's str key and int value). */
static void zl_cbor_text_int(zl_cbor_out *o, const char *a, size_t an, int64_t v)
{
    ZL_CBOR_CHECK(o, zlmdb_cbor_encode_text_unchecked(&o->b, a, an));
    ZL_CBOR_CHECK(o, zlmdb_cbor_encode_int(&o->b, v));
}

static void zl_cbor_bytes(zl_cbor_out *o, const char *p, size_t n)
{
    ZL_CBOR_CHECK(o, zlmdb_cbor_encode_bytes(&o->b, p, n));
}

/* Any Python int from its big-endian magnitude (v, or ~v when negative). */
static void zl_cbor_bigint(zl_cbor_out *o, int negative, const char *mag, size_t n)
{
    ZL_CBOR_CHECK(o, zlmdb_cbor_encode_bigint(&o->b, negative, (const unsigned char *)mag, n));
}

static void zl_cbor_tag_bytes(zl_cbor_out *o, uint64_t tag, const char *p, size_t n)
{
    ZL_CBOR_CHECK(o, zlmdb_cbor_encode_tag(&o->b, tag));
    ZL_CBOR_CHECK(o, zlmdb_cbor_encode_bytes(&o->b, p, n));
}

static void zl_cbor_tag_text(zl_cbor_out *o, uint64_t tag, const char *p, size_t n)
{
    ZL_CBOR_CHECK(o, zlmdb_cbor_encode_tag(&o->b, tag));
    ZL_CBOR_CHECK(o, zlmdb_cbor_encode_text_unchecked(&o->b, p, n));
}

/* date: tag 1004 over date.isoformat() (YYYY-MM-DD), as cbor2 writes it. */
static void zl_cbor_date(zl_cbor_out *o, int y, int m, int d)
{
    char buf[16], *p = buf;
    if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31) {
        o->failed = 1;
        return;
    }
    p = zlmdb__two_digits(p, y / 100);
    p = zlmdb__two_digits(p, y % 100);
    *p++ = '-';
    p = zlmdb__two_digits(p, m);
    *p++ = '-';
    p = zlmdb__two_digits(p, d);
    zl_cbor_tag_text(o, 1004, buf, (size_t)(p - buf));
}

/* An aware datetime with a fixed UTC offset (off_us, below a day either
 * way): tag 0 over cbor2's text form, written by libzlmdb's
 * zlmdb__datetime_format() (codec_int.h), as the extension writes it. */
static void zl_cbor_datetime(zl_cbor_out *o, int y, int mo, int d, int h, int mi, int s,
                             int us, int64_t off_us)
{
    char buf[ZLMDB__DATETIME_TEXT_MAX];
    zlmdb__datetime t;

    if (y < 1 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 ||
        mi < 0 || mi > 59 || s < 0 || s > 59 || us < 0 || us > 999999 ||
        off_us <= -86400000000LL || off_us >= 86400000000LL) {
        o->failed = 1;
        return;
    }
    t.year = y;
    t.month = mo;
    t.day = d;
    t.hour = h;
    t.minute = mi;
    t.second = s;
    t.microsecond = us;
    t.offset_us = off_us;
    zl_cbor_tag_text(o, 0, buf, zlmdb__datetime_format(&t, buf));
}

/* ============================================================ decoding */

typedef struct {
    int kind;     /* ZL_CBOR_*: a zlmdb_cbor_kind, or ZL_CBOR_DATETIME */
    int flags;    /* ZL_CBOR_INDEFINITE */
    int64_t u;    /* the bits of the reader's u; DATETIME: the packed fields */
    int64_t pos;  /* offset of the item in the input */
    int64_t off;  /* BYTES/TEXT: offset of the bytes; DATETIME: microseconds */
    int64_t len;  /* BYTES/TEXT: their length; DATETIME: offset minutes + bias */
    double f;     /* FLOAT */
    /* (signed: PyPy's JIT reads int64_t fields inline, 64-bit unsigned ones
     * through a slow path) */
} zl_cbor_titem;

/* cbor2's form of a string-form datetime, read by libzlmdb's
 * zlmdb__datetime_parse() (codec_int.h) as in the extension: only the
 * digits are checked (the ranges are the datetime constructor's), and hour
 * 24 is left to the Python side's datetime.fromisoformat().  Returns 1 and
 * fills the item, or 0. */
static int zl_cbor_rfc3339(const unsigned char *p, size_t n, zl_cbor_titem *t)
{
    zlmdb__datetime dt;

    if (!zlmdb__datetime_parse(p, n, &dt))
        return 0;
    t->kind = ZL_CBOR_DATETIME;
    t->u = (int64_t)((uint64_t)dt.year << 40 | (uint64_t)dt.month << 32 |
                     (uint64_t)dt.day << 24 | (uint64_t)dt.hour << 16 |
                     (uint64_t)dt.minute << 8 | (uint64_t)dt.second);
    t->off = dt.microsecond;
    t->len = dt.offset_us / 60000000 + ZL_CBOR_TZ_BIAS;
    return 1;
}

/* Read one whole CBOR document (one item, nothing after it) into `tape`.
 * Every ARRAY, MAP and indefinite BYTES/TEXT is closed by an END item.
 * ZL_CBOR_TAPE_OK: *count items.  ZL_CBOR_TAPE_FULL: the input is well
 * formed but needs *count items, more than `cap`.  ZL_CBOR_TAPE_ERROR:
 * malformed, with the message in msg and its offset in *err_pos; the
 * *count items read before the error are on the tape as far as `cap` goes
 * (the caller builds them first: an error they hold, such as a bad tagged
 * value, comes first in the input and is the one to report). */
static int zl_cbor_tape(const char *data, size_t len, zl_cbor_titem *tape, int64_t cap_,
                        int64_t *count, int64_t *err_pos, char *msg, size_t msgcap)
{
    zlmdb_cbor_reader r;
    zlmdb_cbor_item it;
    size_t n = 0, tag0 = (size_t)-1; /* index of a tag 0 just stored */
    size_t cap = cap_ > 0 ? (size_t)cap_ : 0;
    int rc;

    zlmdb_cbor_reader_init(&r, data, len, ZL_CBOR_MAX_DEPTH);
    for (;;) {
        rc = zlmdb__cbor_next(&r, &it);
        if (rc != 0)
            break;
        if (it.kind == ZLMDB_CBOR_TEXT && !it.indefinite && tag0 + 1 == n && n > 0 &&
            n - 1 < cap) {
            /* The text of a tag 0: in cbor2's form it replaces the tag. */
            zl_cbor_titem *t = &tape[n - 1];
            if (zl_cbor_rfc3339(it.data, it.len, t)) {
                t->pos = (int64_t)it.offset;
                tag0 = (size_t)-1;
                if (it.done)
                    break;
                continue;
            }
        }
        tag0 = it.kind == ZLMDB_CBOR_TAG && it.u == 0 ? n : (size_t)-1;
        if (n < cap) {
            zl_cbor_titem *t = &tape[n];
            t->kind = (int)it.kind;
            t->flags = it.indefinite ? ZL_CBOR_INDEFINITE : 0;
            t->u = (int64_t)it.u;
            t->pos = (int64_t)it.offset;
            if (it.kind == ZLMDB_CBOR_BYTES || it.kind == ZLMDB_CBOR_TEXT) {
                t->off = it.indefinite ? 0 : (int64_t)(it.data - (const unsigned char *)data);
                t->len = it.indefinite ? 0 : (int64_t)it.len;
            } else {
                t->off = 0;
                t->len = 0;
            }
            t->f = it.kind == ZLMDB_CBOR_FLOAT ? it.f : 0.0;
        }
        n++;
        if (it.done)
            break;
    }
    if (rc == 0)
        rc = zlmdb_cbor_reader_finish(&r);
    if (rc != 0) {
        const char *m = zlmdb_error_last();
        if (m == NULL)
            m = zlmdb_strerror(rc);
        snprintf(msg, msgcap, "%s", m);
        *err_pos = (int64_t)r.error_offset;
        *count = (int64_t)n;
        zlmdb_cbor_reader_dispose(&r);
        return ZL_CBOR_TAPE_ERROR;
    }
    zlmdb_cbor_reader_dispose(&r);
    *count = (int64_t)n;
    return n > cap ? ZL_CBOR_TAPE_FULL : ZL_CBOR_TAPE_OK;
}

/* libzlmdb's JSON pull reader, inline: json.c's zlmdb_json_reader_next()
 * is zlmdb__json_next(), and the CPython extension's json_loads calls the
 * same function inlined into its loop (one reader, no call per item).
 * Not installed.
 *
 * The input is attacker-controlled: the reader never reads past `len`,
 * keeps nesting on an explicit depth-limited stack, and reports every
 * error with its byte offset. */
#ifndef ZLMDB_JSON_READ_INT_H
#define ZLMDB_JSON_READ_INT_H

#include <string.h>
#if defined(__SSE2__)
#  include <emmintrin.h>
#endif

#include <float.h>
#include <stdint.h>

#include "codec_int.h"
#include "common_int.h"
#include "platform.h"

enum {
    ZLMDB__JST_VALUE = 0,   /* a value must come */
    ZLMDB__JST_ARRAY_FIRST, /* after '[': a value or ']' */
    ZLMDB__JST_OBJECT_FIRST,/* after '{': a key or '}' */
    ZLMDB__JST_KEY,         /* after ',' in an object: a key */
    ZLMDB__JST_AFTER,       /* after a value in a container: ',' or the closer */
    ZLMDB__JST_DONE         /* the top-level value is complete */
};

/* Record the sticky error at `off` and return `rc` (json.c; cold). */
int zlmdb__json_fail(zlmdb_json_reader *r, int rc, size_t off, const char *what);

/* Truncated when the input simply stopped, malformed otherwise. */
static inline int jr_jfail_at(zlmdb_json_reader *r, size_t off, const char *what)
{
    return zlmdb__json_fail(r, off >= r->len ? ZLMDB_TRUNCATED : ZLMDB_DECODE, off, what);
}

/* JSON's four whitespace bytes (RFC 8259 section 2). */
static inline int jr_is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static inline void jr_skip_ws(zlmdb_json_reader *r)
{
    /* Compact JSON (what LMDB values mostly hold) has none: one test. */
    if (r->pos < r->len && r->data[r->pos] > ' ')
        return;
    while (r->pos < r->len) {
        if (!jr_is_ws(r->data[r->pos]))
            break;
        r->pos++;
    }
}

/* The next byte after whitespace, or -1 at the end: what the decoders'
 * recursive-descent fast paths branch on. */
static inline int jr_peek(zlmdb_json_reader *r)
{
    if (ZLMDB__LIKELY(r->pos < r->len && r->data[r->pos] > ' '))
        return r->data[r->pos];
    jr_skip_ws(r);
    return r->pos < r->len ? r->data[r->pos] : -1;
}

/* Read 4 hex digits of a \u escape at `p`. */
static inline int jr_read_u4(zlmdb_json_reader *r, size_t p, unsigned *cp)
{
    unsigned v = 0;
    int i;

    for (i = 0; i < 4; i++) {
        int h;
        if (p + (size_t)i >= r->len)
            return zlmdb__json_fail(r, ZLMDB_TRUNCATED, p + (size_t)i,
                                    "input ends inside a \\u escape");
        h = zlmdb__hexval(r->data[p + (size_t)i]);
        if (h < 0)
            return zlmdb__json_fail(r, ZLMDB_DECODE, p - 2, "invalid \\uXXXX escape");
        v = (v << 4) | (unsigned)h;
    }
    *cp = v;
    return 0;
}

/* Append a code point as UTF-8; lone surrogates get the generalized 3-byte
 * form that Python's 'surrogatepass' decodes back to the same str. */
static inline int jr_put_cp(zlmdb_buf *b, unsigned cp)
{
    unsigned char u[4];
    size_t n;

    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xC0 | (cp >> 6));
        u[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xE0 | (cp >> 12));
        u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (unsigned char)(0xF0 | (cp >> 18));
        u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return zlmdb_buf_append(b, u, n);
}

/* The end of the run of plain string bytes from p (neither '"', '\\' nor
 * a control character): sixteen bytes at a time with SSE2, else eight with
 * integer masks.  *nonascii becomes nonzero when the run holds a byte >=
 * 0x80 (a UTF-8 sequence to check). */
static inline size_t jr_scan_plain(const unsigned char *d, size_t p, size_t len, int *nonascii)
{
    uint64_t acc = 0;
    unsigned hi = 0;

#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
                  ctl = _mm_set1_epi8(0x1f);
    while (len - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(d + p));
        __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote),
                                                 _mm_cmpeq_epi8(x, bslash)),
                                    _mm_cmpeq_epi8(_mm_max_epu8(x, ctl), ctl));
        unsigned m = (unsigned)_mm_movemask_epi8(stop), h = (unsigned)_mm_movemask_epi8(x);
        if (m) {
            unsigned k = (unsigned)__builtin_ctz(m);
            *nonascii = (hi | (h & ((1u << k) - 1))) != 0;
            return p + k;
        }
        hi |= h;
        p += 16;
    }
#endif
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (len - p >= 8) {
        uint64_t x, m;
        memcpy(&x, d + p, 8);
        m = zlmdb__json_escape_mask(x);
        if (m) {
            /* The lowest flagged byte is exact (borrows only run upward);
             * only the bytes before it count. */
            unsigned k = (unsigned)__builtin_ctzll(m) >> 3;
            acc |= k ? x & (~0ULL >> (64 - 8 * k)) : 0;
            *nonascii = hi != 0 || (acc & 0x8080808080808080ULL) != 0;
            return p + k;
        }
        acc |= x;
        p += 8;
    }
#endif
    while (p < len && d[p] != '"' && d[p] != '\\' && d[p] >= 0x20)
        acc |= d[p++];
    *nonascii = hi != 0 || (acc & 0x8080808080808080ULL) != 0;
    return p;
}

/* The rest of a string after its first run of plain bytes, [seg, p):
 * UTF-8 to check, escapes, errors.  Out of line, so the common case below
 * stays small enough to inline. */
static ZLMDB__NOINLINE int jr_read_string_rest(zlmdb_json_reader *r, zlmdb_json_item *out,
                                               size_t seg, size_t p, int nonascii)
{
    const unsigned char *d = r->data;
    size_t bad;
    int copying = 0;

    for (;; seg = p, p = jr_scan_plain(d, p, r->len, &nonascii)) {
        /* Running off the end is truncation, even if the cut also left a
         * partial UTF-8 sequence behind. */
        if (p >= r->len)
            return zlmdb__json_fail(r, ZLMDB_TRUNCATED, p, "unterminated string");
        /* ASCII runs need no UTF-8 check. */
        if (nonascii && !zlmdb__utf8_check(d + seg, p - seg, &bad))
            return zlmdb__json_fail(r, ZLMDB_DECODE, seg + bad, "invalid UTF-8 in a string");
        if (copying && p > seg && zlmdb_buf_append(&r->scratch, d + seg, p - seg))
            return zlmdb__json_fail(r, ZLMDB_ENOMEM, seg, "out of memory");
        if (d[p] == '"')
            break;
        if (d[p] < 0x20)
            return zlmdb__json_fail(r, ZLMDB_DECODE, p, "invalid control character in a string");
        /* An escape: from here on the string is built in scratch. */
        if (!copying) {
            zlmdb_buf_clear(&r->scratch);
            if (zlmdb_buf_append(&r->scratch, d + r->pos + 1, p - (r->pos + 1)))
                return zlmdb__json_fail(r, ZLMDB_ENOMEM, p, "out of memory");
            copying = 1;
        }
        if (p + 1 >= r->len)
            return zlmdb__json_fail(r, ZLMDB_TRUNCATED, p, "input ends inside an escape");
        {
            unsigned char c = d[p + 1], e = 0;
            unsigned cp = 0, cp2 = 0;
            int rc;

            switch (c) {
            case '"': e = '"'; break;
            case '\\': e = '\\'; break;
            case '/': e = '/'; break;
            case 'b': e = '\b'; break;
            case 'f': e = '\f'; break;
            case 'n': e = '\n'; break;
            case 'r': e = '\r'; break;
            case 't': e = '\t'; break;
            case 'u': break;
            default: return zlmdb__json_fail(r, ZLMDB_DECODE, p, "invalid escape");
            }
            if (e) {
                if (zlmdb_buf_append(&r->scratch, &e, 1))
                    return zlmdb__json_fail(r, ZLMDB_ENOMEM, p, "out of memory");
                p += 2;
                continue;
            }
            rc = jr_read_u4(r, p + 2, &cp);
            if (rc)
                return rc;
            p += 6;
            /* Like json.loads: a high surrogate pairs with an immediately
             * following low-surrogate escape; any other surrogate stays. */
            if (cp >= 0xD800 && cp <= 0xDBFF && p + 1 < r->len && d[p] == '\\' &&
                d[p + 1] == 'u') {
                rc = jr_read_u4(r, p + 2, &cp2);
                if (rc)
                    return rc;
                if (cp2 >= 0xDC00 && cp2 <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (cp2 - 0xDC00);
                    p += 6;
                }
            }
            if (cp >= 0xD800 && cp <= 0xDFFF)
                out->has_surrogates = 1;
            if (jr_put_cp(&r->scratch, cp))
                return zlmdb__json_fail(r, ZLMDB_ENOMEM, p, "out of memory");
        }
    }
    if (copying) {
        out->str = (const char *)r->scratch.ptr;
        out->len = r->scratch.size;
    } else {
        out->str = (const char *)d + r->pos + 1;
        out->len = p - (r->pos + 1);
    }
    r->pos = p + 1;
    return ZLMDB_OK;
}

/* Parse the string whose opening quote is at r->pos.  Without escapes the
 * result points into the input; with them, into the scratch buffer.  The
 * common case, one ASCII run up to the closing quote, is all inline. */
static inline int jr_read_string(zlmdb_json_reader *r, zlmdb_json_item *out)
{
    const unsigned char *d = r->data;
    size_t seg = r->pos + 1, p;
    int nonascii;

    p = jr_scan_plain(d, seg, r->len, &nonascii);
    if (ZLMDB__LIKELY(p < r->len && d[p] == '"' && !nonascii)) {
        out->str = (const char *)d + seg;
        out->len = p - seg;
        r->pos = p + 1;
        return ZLMDB_OK;
    }
    return jr_read_string_rest(r, out, seg, p, nonascii);
}

/* Match the literal `lit` at r->pos. */
static inline int jr_read_literal(zlmdb_json_reader *r, const char *lit, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (r->pos + i >= r->len)
            return zlmdb__json_fail(r, ZLMDB_TRUNCATED, r->pos + i, "input ends inside a literal");
        if (r->data[r->pos + i] != (unsigned char)lit[i])
            return zlmdb__json_fail(r, ZLMDB_DECODE, r->pos, "expecting value");
    }
    r->pos += n;
    return 0;
}

/* The end of the run of decimal digits from p. */
static inline size_t jr_digits(const unsigned char *d, size_t p, size_t len)
{
    while (p < len && (unsigned)(d[p] - '0') < 10)
        p++;
    return p;
}

/* The sign and magnitude of an integer's text as jr_read_number() found it
 * (-?digits): 1 when the magnitude fits in 64 bits, else 0 (the caller
 * takes its big-int route).  Shared by both bindings' decoders. */
static inline int zlmdb__json_int_value(const char *s, size_t len, int *neg, uint64_t *mag)
{
    const char *p = s, *e = s + len;
    uint64_t v = 0;

    *neg = p < e && *p == '-';
    if (*neg)
        p++;
    if (e - p <= 19) { /* below 10**19 < 2**64 */
        for (; p < e; p++)
            v = v * 10 + (uint64_t)(*p - '0');
    } else if (e - p == 20) {
        for (; p < e; p++) {
            uint64_t dg = (uint64_t)(*p - '0');
            if (v > (UINT64_MAX - dg) / 10)
                return 0;
            v = v * 10 + dg;
        }
    } else {
        return 0;
    }
    *mag = v;
    return 1;
}

/* The powers of ten that are exact doubles. */
static const double zlmdb__json_pow10[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

#if defined(__x86_64__) && LDBL_MANT_DIG == 64
/* x87 extended precision: 64-bit significands, so every integer below
 * 2**64 and every power of ten up to 1e27 (5**27 < 2**63) is exact. */
#  define ZLMDB__JSON_LD64 1
static const long double zlmdb__json_pow10_ld[28] = {
    1e0L, 1e1L, 1e2L, 1e3L, 1e4L, 1e5L, 1e6L, 1e7L, 1e8L, 1e9L, 1e10L, 1e11L, 1e12L, 1e13L,
    1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L, 1e20L, 1e21L, 1e22L, 1e23L, 1e24L, 1e25L,
    1e26L, 1e27L,
};
#endif

/* The correctly rounded double of a float's text as jr_read_number() found
 * it (-?digits[.digits][e[+-]digits]), without strtod when that is exact.
 * m is its significant digits (at most 19, so m < 2**64), x = m * 10**ex.
 * - Clinger's fast path: m <= 2**53 and |ex| <= 22, so m and 10**|ex| are
 *   exact doubles and one correctly rounded operation rounds x correctly.
 * - Else, with x87 long doubles and |ex| <= 27: m and 10**|ex| are exact
 *   there, so one operation gives x correctly rounded to 64 bits; rounding
 *   that to 53 bits is x correctly rounded unless it lies exactly halfway
 *   between two doubles (x itself may be just off the midpoint), which is
 *   left to strtod.  Whether the FPU really rounds to 64 bits is checked
 *   too (a caller may have set 53-bit precision).
 * - Else the C library's strtod in the "C" locale where it is correctly
 *   rounded (zlmdb__plat_strtod_c), for texts under 64 bytes.
 * Returns 0 and *out, or -1: the caller converts the text its own way
 * (Python's float()).  Shared by both bindings' decoders. */
static inline int zlmdb__json_double(const char *s, size_t len, double *out)
{
    const char *p = s, *e = s + len;
    unsigned long long m = 0;
    int neg = 0, ndig = 0, scale = 0, ex = 0, exneg = 0;
    char tmp[64];

    if (p < e && *p == '-') {
        neg = 1;
        p++;
    }
    for (; p < e && *p >= '0' && *p <= '9'; p++) {
        if (m == 0 && *p == '0')
            continue;
        if (++ndig > 19)
            goto general;
        m = m * 10 + (unsigned)(*p - '0');
    }
    if (p < e && *p == '.') {
        for (p++; p < e && *p >= '0' && *p <= '9'; p++) {
            scale--;
            if (m == 0 && *p == '0')
                continue;
            if (++ndig > 19)
                goto general;
            m = m * 10 + (unsigned)(*p - '0');
        }
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '-' || *p == '+'))
            exneg = *p++ == '-';
        for (; p < e; p++) {
            if (ex > 1000)
                goto general;
            ex = ex * 10 + (*p - '0');
        }
    }
    ex = (exneg ? -ex : ex) + scale;
    if (m == 0) {
        *out = neg ? -0.0 : 0.0;
        return 0;
    }
    if (m <= 9007199254740992ULL && ex >= -22 && ex <= 22) {
        *out = ex >= 0 ? (double)m * zlmdb__json_pow10[ex]
                       : (double)m / zlmdb__json_pow10[-ex];
    } else {
#ifdef ZLMDB__JSON_LD64
        volatile long double one = 1.0L;
        long double x;
        uint64_t sig;

        if (ex < -27 || ex > 27 || one + 0x1p-63L == one)
            goto general;
        x = ex >= 0 ? (long double)m * zlmdb__json_pow10_ld[ex]
                    : (long double)m / zlmdb__json_pow10_ld[-ex];
        memcpy(&sig, &x, 8); /* the 64-bit significand, little-endian first */
        if ((sig & 0x7FF) == 0x400)
            goto general;
        *out = (double)x;
#else
        goto general;
#endif
    }
    if (neg)
        *out = -*out;
    return 0;
general:
    if (len >= sizeof tmp)
        return -1;
    memcpy(tmp, s, len);
    tmp[len] = 0;
    return zlmdb__plat_strtod_c(tmp, out) == 0 ? 0 : -1;
}

/* json.loads' number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?
 * A '.' or 'e' not followed by digits ends the number (the rest is then
 * "extra data", as in Python). */
static inline int jr_read_number(zlmdb_json_reader *r, zlmdb_json_item *out)
{
    const unsigned char *d = r->data;
    size_t len = r->len, p = r->pos, q;

    if (d[p] == '-')
        p++;
    q = jr_digits(d, p, len);
    if (q == p)
        return jr_jfail_at(r, p, "expecting value");
    p = d[p] == '0' ? p + 1 : q;
    if (p + 1 < len && d[p] == '.' && (unsigned)(d[p + 1] - '0') < 10) {
        p = jr_digits(d, p + 2, len);
        out->is_float = 1;
    }
    if (p < len && (d[p] == 'e' || d[p] == 'E')) {
        q = p + 1;
        if (q < len && (d[q] == '+' || d[q] == '-'))
            q++;
        if (q < len && (unsigned)(d[q] - '0') < 10) {
            p = jr_digits(d, q + 1, len);
            out->is_float = 1;
        }
    }
    out->kind = ZLMDB_JSON_NUMBER;
    out->str = (const char *)d + r->pos;
    out->len = p - r->pos;
    r->pos = p;
    return 0;
}

static inline int jr_push_container(zlmdb_json_reader *r, unsigned char c)
{
    if (r->stack.size >= r->max_depth)
        return zlmdb__json_fail(r, ZLMDB_TOO_DEEP, r->pos, "nesting deeper than the limit");
    /* In place while there is room (keeping the buffer's NUL), so a
     * container costs no call. */
    if (r->stack.size + 1 < r->stack.asize) {
        r->stack.ptr[r->stack.size++] = c;
        r->stack.ptr[r->stack.size] = 0;
        return 0;
    }
    if (zlmdb_buf_append(&r->stack, &c, 1))
        return zlmdb__json_fail(r, ZLMDB_ENOMEM, r->pos, "out of memory");
    return 0;
}

static inline void jr_after_value(zlmdb_json_reader *r, zlmdb_json_item *out)
{
    if (r->stack.size == 0) {
        r->state = ZLMDB__JST_DONE;
        out->done = 1;
    } else {
        r->state = ZLMDB__JST_AFTER;
    }
}

static inline int jr_close_container(zlmdb_json_reader *r, zlmdb_json_item *out, unsigned char c)
{
    out->kind = c == ']' ? ZLMDB_JSON_ARRAY_END : ZLMDB_JSON_OBJECT_END;
    r->stack.size--;
    r->pos++;
    out->depth = r->stack.size;
    jr_after_value(r, out);
    return ZLMDB_OK;
}

/* A value of any kind at r->pos (not whitespace).  Inlined into the one
 * place that calls it, even where the compiler would keep it a call: the
 * call's prologue was a tenth of a record's decode. */
static ZLMDB__ALWAYS_INLINE int jr_read_value(zlmdb_json_reader *r, zlmdb_json_item *out)
{
    unsigned char c = r->data[r->pos];
    int rc;

    switch (c) {
    case '{':
    case '[':
        rc = jr_push_container(r, c);
        if (rc)
            return rc;
        r->pos++;
        out->kind = c == '{' ? ZLMDB_JSON_OBJECT_START : ZLMDB_JSON_ARRAY_START;
        r->state = c == '{' ? ZLMDB__JST_OBJECT_FIRST : ZLMDB__JST_ARRAY_FIRST;
        return ZLMDB_OK;
    case '"':
        rc = jr_read_string(r, out);
        if (rc)
            return rc;
        out->kind = ZLMDB_JSON_STRING;
        break;
    case 't':
        if ((rc = jr_read_literal(r, "true", 4)) != 0)
            return rc;
        out->kind = ZLMDB_JSON_TRUE;
        break;
    case 'f':
        if ((rc = jr_read_literal(r, "false", 5)) != 0)
            return rc;
        out->kind = ZLMDB_JSON_FALSE;
        break;
    case 'n':
        if ((rc = jr_read_literal(r, "null", 4)) != 0)
            return rc;
        out->kind = ZLMDB_JSON_NULL;
        break;
    case 'N':
        if ((rc = jr_read_literal(r, "NaN", 3)) != 0)
            return rc;
        out->kind = ZLMDB_JSON_NAN;
        break;
    case 'I':
        if ((rc = jr_read_literal(r, "Infinity", 8)) != 0)
            return rc;
        out->kind = ZLMDB_JSON_INFINITY;
        break;
    default:
        if (c == '-' && r->pos + 1 < r->len && r->data[r->pos + 1] == 'I') {
            if ((rc = jr_read_literal(r, "-Infinity", 9)) != 0)
                return rc;
            out->kind = ZLMDB_JSON_NEG_INFINITY;
            break;
        }
        if (c == '-' || (c >= '0' && c <= '9')) {
            if ((rc = jr_read_number(r, out)) != 0)
                return rc;
            break;
        }
        return zlmdb__json_fail(r, ZLMDB_DECODE, r->pos, "expecting value");
    }
    jr_after_value(r, out);
    return ZLMDB_OK;
}

static inline int zlmdb__json_next(zlmdb_json_reader *r, zlmdb_json_item *out)
{
    unsigned char c;
    int rc;

    if (r->error)
        return zlmdb__error_set(r->error, "JSON: earlier error at offset %zu",
                                r->error_offset);
    memset(out, 0, sizeof(*out));
    jr_skip_ws(r);
    /* After a value in a container: a ',' (then the next item) or the
     * closer.  Only this state looks at the open container. */
    if (r->state == ZLMDB__JST_AFTER && r->pos < r->len) {
        unsigned char top = r->stack.size ? r->stack.ptr[r->stack.size - 1] : 0;
        c = r->data[r->pos];
        if (c == ',') {
            r->pos++;
            r->state = top == '[' ? ZLMDB__JST_VALUE : ZLMDB__JST_KEY;
            jr_skip_ws(r);
        } else {
            out->offset = r->pos;
            if ((c == ']' && top == '[') || (c == '}' && top == '{'))
                return jr_close_container(r, out, c);
            return zlmdb__json_fail(r, ZLMDB_DECODE, r->pos, "expecting ',' delimiter");
        }
    }
    out->offset = r->pos;
    out->depth = r->stack.size;
    if (r->state == ZLMDB__JST_DONE) {
        if (r->pos == r->len) {
            out->kind = ZLMDB_JSON_EOF;
            return ZLMDB_OK;
        }
        return zlmdb__json_fail(r, ZLMDB_DECODE, r->pos, "extra data after the value");
    }
    if (r->pos == r->len)
        return zlmdb__json_fail(r, ZLMDB_TRUNCATED, r->pos, "input ends inside the value");
    c = r->data[r->pos];
    switch (r->state) {
    case ZLMDB__JST_OBJECT_FIRST:
        if (c == '}')
            return jr_close_container(r, out, c);
        /* fall through */
    case ZLMDB__JST_KEY:
        if (c != '"')
            return zlmdb__json_fail(
                r, ZLMDB_DECODE, r->pos, "expecting property name enclosed in double quotes");
        rc = jr_read_string(r, out);
        if (rc)
            return rc;
        out->kind = ZLMDB_JSON_KEY;
        jr_skip_ws(r);
        if (r->pos == r->len)
            return zlmdb__json_fail(r, ZLMDB_TRUNCATED, r->pos, "input ends before ':'");
        if (r->data[r->pos] != ':')
            return zlmdb__json_fail(r, ZLMDB_DECODE, r->pos, "expecting ':' delimiter");
        r->pos++;
        r->state = ZLMDB__JST_VALUE;
        return ZLMDB_OK;
    case ZLMDB__JST_ARRAY_FIRST:
        if (c == ']')
            return jr_close_container(r, out, c);
        /* fall through */
    default:
        return jr_read_value(r, out);
    }
}

#endif

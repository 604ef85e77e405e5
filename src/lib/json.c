/* JSON: encoder primitives matching Python's json.dumps(separators=(",", ":"),
 * ensure_ascii=False), and a bounded pull reader accepting what json.loads
 * accepts.
 *
 * The reader's input is attacker-controlled: it never reads past `len`,
 * keeps nesting on an explicit depth-limited stack, and reports every error
 * with its byte offset. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common_int.h"

/* ---------------------------------------------------------------- encoder */

static void restore(zlmdb_buf *out, size_t size)
{
    out->size = size;
    if (out->asize)
        out->ptr[size] = 0;
}

/* Bytes that json.dumps(ensure_ascii=False) escapes: '"', '\\' and < 0x20. */
static int needs_escape(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
}

int zlmdb_json_encode_string(zlmdb_buf *out, const char *text, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)text;
    size_t start, i = 0;
    int rc;

    if (out == NULL || (text == NULL && len))
        return zlmdb__error_set(ZLMDB_EINVAL, "JSON string: NULL argument");
    start = out->size;
    rc = zlmdb_buf_append(out, "\"", 1);
    while (rc == 0 && i < len) {
        size_t run = i;
        char esc[6];
        size_t n = 2;

        while (run < len && !needs_escape(s[run]))
            run++;
        if (run > i) {
            rc = zlmdb_buf_append(out, s + i, run - i);
            i = run;
            continue;
        }
        esc[0] = '\\';
        switch (s[i]) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[s[i] >> 4];
            esc[5] = hex[s[i] & 15];
            n = 6;
            break;
        }
        rc = zlmdb_buf_append(out, esc, n);
        i++;
    }
    if (rc == 0)
        rc = zlmdb_buf_append(out, "\"", 1);
    if (rc)
        restore(out, start);
    return rc;
}

int zlmdb_json_encode_uint64(zlmdb_buf *out, uint64_t v)
{
    char b[24];
    size_t n = sizeof(b);

    do {
        b[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return zlmdb_buf_append(out, b + n, sizeof(b) - n);
}

int zlmdb_json_encode_int64(zlmdb_buf *out, int64_t v)
{
    char b[24];
    size_t n = sizeof(b);
    /* The magnitude via unsigned negation: INT64_MIN has no positive twin. */
    uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    do {
        b[--n] = (char)('0' + m % 10);
        m /= 10;
    } while (m);
    if (v < 0)
        b[--n] = '-';
    return zlmdb_buf_append(out, b + n, sizeof(b) - n);
}

int zlmdb_json_encode_literal(zlmdb_buf *out, int v)
{
    if (v == 0)
        return zlmdb_buf_append(out, "false", 5);
    if (v == 1)
        return zlmdb_buf_append(out, "true", 4);
    return zlmdb_buf_append(out, "null", 4);
}

/* Split "d.ddde[+-]x" (from %e) into its digits and decimal exponent. */
static int split_sci(const char *b, char *dig)
{
    int i, k = 0;

    for (i = 0; b[i] && b[i] != 'e'; i++)
        if (b[i] >= '0' && b[i] <= '9')
            dig[k++] = b[i];
    dig[k] = 0;
    return b[i] == 'e' ? atoi(b + i + 1) : 0;
}

/* Does "d.ddd" x 10^exp read back as v? */
static int digits_roundtrip(const char *dig, int exp, double v)
{
    char b[48];

    snprintf(b, sizeof(b), "%c.%se%d", dig[0], dig + 1, exp);
    return strtod(b, NULL) == v;
}

/* Add `delta` (+1 or -1) to the last of the p digits, carrying through;
 * returns 0 when the result leaves the p-digit range of this exponent. */
static int bump(char *dig, int p, int delta)
{
    int i;

    for (i = p - 1; i >= 0; i--) {
        int d = dig[i] - '0' + delta;
        if (d >= 0 && d <= 9) {
            dig[i] = (char)('0' + d);
            return dig[0] != '0';
        }
        dig[i] = delta > 0 ? '0' : '9';
    }
    return 0;
}

/* Is there a p-digit decimal that reads back as v?  Usually the correctly
 * rounded one.  Only at an exact power of two is the rounding interval
 * lopsided (the gap below is half the gap above), and there the neighbour
 * on the wide side may read back when the nearest does not. */
static int shortest_at(double v, int p, int pow2, char *dig, int *exp)
{
    char b[48], alt[24];
    int d;

    snprintf(b, sizeof(b), "%.*e", p - 1, v);
    *exp = split_sci(b, dig);
    if (strtod(b, NULL) == v)
        return 1;
    if (!pow2)
        return 0;
    for (d = -1; d <= 1; d += 2) {
        memcpy(alt, dig, (size_t)p + 1);
        if (bump(alt, p, d) && digits_roundtrip(alt, *exp, v)) {
            memcpy(dig, alt, (size_t)p + 1);
            return 1;
        }
    }
    return 0;
}

size_t zlmdb_json_format_double(double v, char *out)
{
    char dig[24], best[24];
    int lo, hi, exp = 0, best_exp = 0, nd, i, pow2;
    size_t n = 0;
    uint64_t bits;

    if (isnan(v)) {
        memcpy(out, "NaN", 4);
        return 3;
    }
    if (isinf(v)) {
        memcpy(out, v > 0 ? "Infinity" : "-Infinity", v > 0 ? 9 : 10);
        return v > 0 ? 8 : 9;
    }
    if (signbit(v)) {
        out[n++] = '-';
        v = -v;
    }
    if (v == 0) {
        memcpy(out + n, "0.0", 4);
        return n + 3;
    }
    memcpy(&bits, &v, 8);
    pow2 = (bits & 0xFFFFFFFFFFFFFull) == 0;
    /* Fewest digits that read back: if p digits do, p + 1 digits do too (the
     * nearest (p+1)-digit decimal is no farther), so search.  Most doubles
     * need 15..17 digits or few, so probe 15 first: 2 probes for the
     * former, a binary search below 15 for the latter. */
    if (shortest_at(v, 15, pow2, best, &best_exp)) {
        lo = 1;
        hi = 15;
    } else if (shortest_at(v, 16, pow2, best, &best_exp)) {
        lo = hi = 16;
    } else {
        shortest_at(v, 17, pow2, best, &best_exp); /* 17 always reads back */
        lo = hi = 17;
    }
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (shortest_at(v, mid, pow2, dig, &exp)) {
            memcpy(best, dig, sizeof(dig));
            best_exp = exp;
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    nd = (int)strlen(best);
    while (nd > 1 && best[nd - 1] == '0')
        nd--;
    exp = best_exp;
    /* float.__repr__: positional for 1e-4 <= |v| < 1e16, else scientific. */
    if (exp >= -4 && exp < 16) {
        if (exp < 0) {
            out[n++] = '0';
            out[n++] = '.';
            for (i = 0; i < -exp - 1; i++)
                out[n++] = '0';
            for (i = 0; i < nd; i++)
                out[n++] = best[i];
        } else {
            for (i = 0; i <= exp; i++)
                out[n++] = i < nd ? best[i] : '0';
            out[n++] = '.';
            if (nd > exp + 1)
                for (i = exp + 1; i < nd; i++)
                    out[n++] = best[i];
            else
                out[n++] = '0';
        }
    } else {
        out[n++] = best[0];
        if (nd > 1) {
            out[n++] = '.';
            for (i = 1; i < nd; i++)
                out[n++] = best[i];
        }
        n += (size_t)snprintf(out + n, ZLMDB_JSON_DOUBLE_MAX - n, "e%c%02d",
                              exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    }
    out[n] = 0;
    return n;
}

int zlmdb_json_encode_double(zlmdb_buf *out, double v)
{
    char b[ZLMDB_JSON_DOUBLE_MAX];
    size_t n = zlmdb_json_format_double(v, b);

    return zlmdb_buf_append(out, b, n);
}

/* ---------------------------------------------------------------- reader */

enum {
    ST_VALUE = 0,   /* a value must come */
    ST_ARRAY_FIRST, /* after '[': a value or ']' */
    ST_OBJECT_FIRST,/* after '{': a key or '}' */
    ST_KEY,         /* after ',' in an object: a key */
    ST_AFTER,       /* after a value in a container: ',' or the closer */
    ST_DONE         /* the top-level value is complete */
};

int zlmdb_json_reader_init(zlmdb_json_reader *reader, const void *data, size_t len,
                           size_t max_depth)
{
    if (reader == NULL || (data == NULL && len))
        return zlmdb__error_set(ZLMDB_EINVAL, "JSON reader: NULL argument");
    memset(reader, 0, sizeof(*reader));
    /* An empty input may come as NULL; point at "" so no item pointer is
     * ever derived from a null pointer. */
    reader->data = data ? (const unsigned char *)data : (const unsigned char *)"";
    reader->len = len;
    reader->max_depth = max_depth ? max_depth : ZLMDB_JSON_DEFAULT_MAX_DEPTH;
    reader->state = ST_VALUE;
    return ZLMDB_OK;
}

void zlmdb_json_reader_dispose(zlmdb_json_reader *reader)
{
    if (reader == NULL)
        return;
    zlmdb_buf_dispose(&reader->stack);
    zlmdb_buf_dispose(&reader->scratch);
}

static int jfail(zlmdb_json_reader *r, int rc, size_t off, const char *what)
{
    r->error = rc;
    r->error_offset = off;
    return zlmdb__error_set(rc, "JSON: %s at offset %zu", what, off);
}

/* Truncated when the input simply stopped, malformed otherwise. */
static int jfail_at(zlmdb_json_reader *r, size_t off, const char *what)
{
    return jfail(r, off >= r->len ? ZLMDB_TRUNCATED : ZLMDB_DECODE, off, what);
}

static void skip_ws(zlmdb_json_reader *r)
{
    while (r->pos < r->len) {
        unsigned char c = r->data[r->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        r->pos++;
    }
}

/* Read 4 hex digits of a \u escape at `p`. */
static int read_u4(zlmdb_json_reader *r, size_t p, unsigned *cp)
{
    unsigned v = 0;
    int i;

    for (i = 0; i < 4; i++) {
        int h;
        if (p + (size_t)i >= r->len)
            return jfail(r, ZLMDB_TRUNCATED, p + (size_t)i, "input ends inside a \\u escape");
        h = zlmdb__hexval(r->data[p + (size_t)i]);
        if (h < 0)
            return jfail(r, ZLMDB_DECODE, p - 2, "invalid \\uXXXX escape");
        v = (v << 4) | (unsigned)h;
    }
    *cp = v;
    return 0;
}

/* Append a code point as UTF-8; lone surrogates get the generalized 3-byte
 * form that Python's 'surrogatepass' decodes back to the same str. */
static int put_cp(zlmdb_buf *b, unsigned cp)
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

/* Parse the string whose opening quote is at r->pos.  Without escapes the
 * result points into the input; with them, into the scratch buffer. */
static int read_string(zlmdb_json_reader *r, zlmdb_json_item *out)
{
    const unsigned char *d = r->data;
    size_t p = r->pos + 1, seg, bad;
    int copying = 0;

    for (;;) {
        seg = p;
        while (p < r->len && d[p] != '"' && d[p] != '\\' && d[p] >= 0x20)
            p++;
        /* Running off the end is truncation, even if the cut also left a
         * partial UTF-8 sequence behind. */
        if (p >= r->len)
            return jfail(r, ZLMDB_TRUNCATED, p, "unterminated string");
        if (p > seg && !zlmdb__utf8_check(d + seg, p - seg, &bad))
            return jfail(r, ZLMDB_DECODE, seg + bad, "invalid UTF-8 in a string");
        if (copying && p > seg && zlmdb_buf_append(&r->scratch, d + seg, p - seg))
            return jfail(r, ZLMDB_ENOMEM, seg, "out of memory");
        if (d[p] == '"')
            break;
        if (d[p] < 0x20)
            return jfail(r, ZLMDB_DECODE, p, "invalid control character in a string");
        /* An escape: from here on the string is built in scratch. */
        if (!copying) {
            zlmdb_buf_clear(&r->scratch);
            if (zlmdb_buf_append(&r->scratch, d + r->pos + 1, p - (r->pos + 1)))
                return jfail(r, ZLMDB_ENOMEM, p, "out of memory");
            copying = 1;
        }
        if (p + 1 >= r->len)
            return jfail(r, ZLMDB_TRUNCATED, p, "input ends inside an escape");
        {
            unsigned char c = d[p + 1], e = 0;
            unsigned cp, cp2;
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
            default: return jfail(r, ZLMDB_DECODE, p, "invalid escape");
            }
            if (e) {
                if (zlmdb_buf_append(&r->scratch, &e, 1))
                    return jfail(r, ZLMDB_ENOMEM, p, "out of memory");
                p += 2;
                continue;
            }
            rc = read_u4(r, p + 2, &cp);
            if (rc)
                return rc;
            p += 6;
            /* Like json.loads: a high surrogate pairs with an immediately
             * following low-surrogate escape; any other surrogate stays. */
            if (cp >= 0xD800 && cp <= 0xDBFF && p + 1 < r->len && d[p] == '\\' &&
                d[p + 1] == 'u') {
                rc = read_u4(r, p + 2, &cp2);
                if (rc)
                    return rc;
                if (cp2 >= 0xDC00 && cp2 <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (cp2 - 0xDC00);
                    p += 6;
                }
            }
            if (cp >= 0xD800 && cp <= 0xDFFF)
                out->has_surrogates = 1;
            if (put_cp(&r->scratch, cp))
                return jfail(r, ZLMDB_ENOMEM, p, "out of memory");
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

/* Match the literal `lit` at r->pos. */
static int read_literal(zlmdb_json_reader *r, const char *lit, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (r->pos + i >= r->len)
            return jfail(r, ZLMDB_TRUNCATED, r->pos + i, "input ends inside a literal");
        if (r->data[r->pos + i] != (unsigned char)lit[i])
            return jfail(r, ZLMDB_DECODE, r->pos, "expecting value");
    }
    r->pos += n;
    return 0;
}

static int is_digit(const zlmdb_json_reader *r, size_t p)
{
    return p < r->len && r->data[p] >= '0' && r->data[p] <= '9';
}

/* json.loads' number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?
 * A '.' or 'e' not followed by digits ends the number (the rest is then
 * "extra data", as in Python). */
static int read_number(zlmdb_json_reader *r, zlmdb_json_item *out)
{
    size_t p = r->pos, q;

    if (r->data[p] == '-')
        p++;
    if (!is_digit(r, p))
        return jfail_at(r, p, "expecting value");
    if (r->data[p] == '0')
        p++;
    else
        while (is_digit(r, p))
            p++;
    if (p < r->len && r->data[p] == '.' && is_digit(r, p + 1)) {
        p += 2;
        while (is_digit(r, p))
            p++;
        out->is_float = 1;
    }
    if (p < r->len && (r->data[p] == 'e' || r->data[p] == 'E')) {
        q = p + 1;
        if (q < r->len && (r->data[q] == '+' || r->data[q] == '-'))
            q++;
        if (is_digit(r, q)) {
            p = q;
            while (is_digit(r, p))
                p++;
            out->is_float = 1;
        }
    }
    out->kind = ZLMDB_JSON_NUMBER;
    out->str = (const char *)r->data + r->pos;
    out->len = p - r->pos;
    r->pos = p;
    return 0;
}

static int push_container(zlmdb_json_reader *r, unsigned char c)
{
    if (r->stack.size >= r->max_depth)
        return jfail(r, ZLMDB_TOO_DEEP, r->pos, "nesting deeper than the limit");
    if (zlmdb_buf_append(&r->stack, &c, 1))
        return jfail(r, ZLMDB_ENOMEM, r->pos, "out of memory");
    return 0;
}

static void after_value(zlmdb_json_reader *r, zlmdb_json_item *out)
{
    if (r->stack.size == 0) {
        r->state = ST_DONE;
        out->done = 1;
    } else {
        r->state = ST_AFTER;
    }
}

static int close_container(zlmdb_json_reader *r, zlmdb_json_item *out, unsigned char c)
{
    out->kind = c == ']' ? ZLMDB_JSON_ARRAY_END : ZLMDB_JSON_OBJECT_END;
    r->stack.size--;
    r->pos++;
    out->depth = r->stack.size;
    after_value(r, out);
    return ZLMDB_OK;
}

static int read_value(zlmdb_json_reader *r, zlmdb_json_item *out)
{
    unsigned char c = r->data[r->pos];
    int rc;

    switch (c) {
    case '{':
    case '[':
        rc = push_container(r, c);
        if (rc)
            return rc;
        r->pos++;
        out->kind = c == '{' ? ZLMDB_JSON_OBJECT_START : ZLMDB_JSON_ARRAY_START;
        r->state = c == '{' ? ST_OBJECT_FIRST : ST_ARRAY_FIRST;
        return ZLMDB_OK;
    case '"':
        rc = read_string(r, out);
        if (rc)
            return rc;
        out->kind = ZLMDB_JSON_STRING;
        break;
    case 't':
        if ((rc = read_literal(r, "true", 4)) != 0)
            return rc;
        out->kind = ZLMDB_JSON_TRUE;
        break;
    case 'f':
        if ((rc = read_literal(r, "false", 5)) != 0)
            return rc;
        out->kind = ZLMDB_JSON_FALSE;
        break;
    case 'n':
        if ((rc = read_literal(r, "null", 4)) != 0)
            return rc;
        out->kind = ZLMDB_JSON_NULL;
        break;
    case 'N':
        if ((rc = read_literal(r, "NaN", 3)) != 0)
            return rc;
        out->kind = ZLMDB_JSON_NAN;
        break;
    case 'I':
        if ((rc = read_literal(r, "Infinity", 8)) != 0)
            return rc;
        out->kind = ZLMDB_JSON_INFINITY;
        break;
    default:
        if (c == '-' && r->pos + 1 < r->len && r->data[r->pos + 1] == 'I') {
            if ((rc = read_literal(r, "-Infinity", 9)) != 0)
                return rc;
            out->kind = ZLMDB_JSON_NEG_INFINITY;
            break;
        }
        if (c == '-' || (c >= '0' && c <= '9')) {
            if ((rc = read_number(r, out)) != 0)
                return rc;
            break;
        }
        return jfail(r, ZLMDB_DECODE, r->pos, "expecting value");
    }
    after_value(r, out);
    return ZLMDB_OK;
}

int zlmdb_json_reader_next(zlmdb_json_reader *r, zlmdb_json_item *out)
{
    unsigned char c, top;
    int rc;

    if (r == NULL || out == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "JSON reader: NULL argument");
    if (r->error)
        return zlmdb__error_set(r->error, "JSON: earlier error at offset %zu",
                                r->error_offset);
    memset(out, 0, sizeof(*out));
    for (;;) {
        skip_ws(r);
        out->offset = r->pos;
        out->depth = r->stack.size;
        if (r->state == ST_DONE) {
            if (r->pos == r->len) {
                out->kind = ZLMDB_JSON_EOF;
                return ZLMDB_OK;
            }
            return jfail(r, ZLMDB_DECODE, r->pos, "extra data after the value");
        }
        if (r->pos == r->len)
            return jfail(r, ZLMDB_TRUNCATED, r->pos, "input ends inside the value");
        c = r->data[r->pos];
        top = r->stack.size ? r->stack.ptr[r->stack.size - 1] : 0;
        switch (r->state) {
        case ST_AFTER:
            if (c == ',') {
                r->pos++;
                r->state = top == '[' ? ST_VALUE : ST_KEY;
                continue;
            }
            if ((c == ']' && top == '[') || (c == '}' && top == '{'))
                return close_container(r, out, c);
            return jfail(r, ZLMDB_DECODE, r->pos, "expecting ',' delimiter");
        case ST_ARRAY_FIRST:
            if (c == ']')
                return close_container(r, out, c);
            return read_value(r, out);
        case ST_OBJECT_FIRST:
            if (c == '}')
                return close_container(r, out, c);
            /* fall through */
        case ST_KEY:
            if (c != '"')
                return jfail(r, ZLMDB_DECODE, r->pos,
                             "expecting property name enclosed in double quotes");
            rc = read_string(r, out);
            if (rc)
                return rc;
            out->kind = ZLMDB_JSON_KEY;
            skip_ws(r);
            if (r->pos == r->len)
                return jfail(r, ZLMDB_TRUNCATED, r->pos, "input ends before ':'");
            if (r->data[r->pos] != ':')
                return jfail(r, ZLMDB_DECODE, r->pos, "expecting ':' delimiter");
            r->pos++;
            r->state = ST_VALUE;
            return ZLMDB_OK;
        default:
            return read_value(r, out);
        }
    }
}

int zlmdb_json_reader_finish(zlmdb_json_reader *r)
{
    if (r == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "JSON reader is NULL");
    if (r->error)
        return zlmdb__error_set(r->error, "JSON: earlier error at offset %zu",
                                r->error_offset);
    if (r->state != ST_DONE)
        return jfail(r, ZLMDB_TRUNCATED, r->pos, "input ends inside the value");
    skip_ws(r);
    if (r->pos != r->len)
        return jfail(r, ZLMDB_DECODE, r->pos, "extra data after the value");
    return ZLMDB_OK;
}

int zlmdb_json_validate(const void *data, size_t len, size_t max_depth)
{
    zlmdb_json_reader r;
    zlmdb_json_item it;
    int rc = zlmdb_json_reader_init(&r, data, len, max_depth);

    if (rc)
        return rc;
    do {
        rc = zlmdb_json_reader_next(&r, &it);
    } while (rc == 0 && !it.done);
    if (rc == 0)
        rc = zlmdb_json_reader_finish(&r);
    zlmdb_json_reader_dispose(&r);
    return rc;
}

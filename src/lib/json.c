/* JSON: encoder primitives matching Python's json.dumps(separators=(",", ":"),
 * ensure_ascii=False), and the public face of the bounded pull reader
 * (json_read_int.h) accepting what json.loads accepts. */
#include <math.h>
#include <string.h>

#include "codec_int.h"
#include "common_int.h"
#include "json_read_int.h"

/* ---------------------------------------------------------------- encoder */

/* The byte writers are in codec_int.h; each function here reserves room,
 * writes, and commits the new size, so a failure appends nothing. */

/* 0: copy; otherwise the character of the short escape, or 'u'. */
static const char escape_tab[128] = {
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
    0, 0, '"', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '\\', 0, 0, 0,
};

unsigned char *zlmdb__json_quote_escaped(unsigned char *p, const unsigned char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;

    *p++ = '"';
    for (i = 0; i < n; i++) {
        unsigned char ch;
        char e;
        /* Eight bytes at a time while none needs an escape. */
        while (n - i >= 8) {
            uint64_t x;
            memcpy(&x, s + i, 8);
            if (zlmdb__json_escape_mask(x))
                break;
            memcpy(p, s + i, 8);
            p += 8;
            i += 8;
        }
        if (i >= n)
            break;
        ch = s[i];
        e = ch < 128 ? escape_tab[ch] : 0;
        if (e == 0) {
            *p++ = ch;
        } else if (e != 'u') {
            p[0] = '\\';
            p[1] = (unsigned char)e;
            p += 2;
        } else {
            memcpy(p, "\\u00", 4);
            p[4] = (unsigned char)hex[ch >> 4];
            p[5] = (unsigned char)hex[ch & 15];
            p += 6;
        }
    }
    *p++ = '"';
    return p;
}

int zlmdb_json_encode_string(zlmdb_buf *out, const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    unsigned char *p = NULL;
    size_t room;
    int esc, rc;

    if (out == NULL || (text == NULL && len))
        return zlmdb__error_set(ZLMDB_EINVAL, "JSON string: NULL argument");
    esc = zlmdb__json_needs_escape(s, len);
    room = zlmdb__json_string_room(len, esc);
    if (room == SIZE_MAX)
        return zlmdb__error_set(ZLMDB_TOO_LARGE, "JSON string of %zu bytes is too large", len);
    rc = zlmdb__buf_room(out, room, &p);
    return rc ? rc : zlmdb__buf_commit(out, zlmdb__json_string(p, s, len, esc));
}

int zlmdb_json_encode_uint64(zlmdb_buf *out, uint64_t v)
{
    unsigned char *p = NULL;
    int rc = zlmdb__buf_room(out, ZLMDB__JSON_INT_MAX, &p);

    return rc ? rc : zlmdb__buf_commit(out, zlmdb__json_uint(p, v));
}

int zlmdb_json_encode_int64(zlmdb_buf *out, int64_t v)
{
    unsigned char *p = NULL;
    int rc = zlmdb__buf_room(out, ZLMDB__JSON_INT_MAX, &p);

    return rc ? rc : zlmdb__buf_commit(out, zlmdb__json_int(p, v));
}

int zlmdb_json_encode_literal(zlmdb_buf *out, int v)
{
    unsigned char *p = NULL;
    int rc = zlmdb__buf_room(out, ZLMDB__JSON_LITERAL_MAX, &p);

    return rc ? rc : zlmdb__buf_commit(out, zlmdb__json_literal(p, v));
}

/* float.__repr__ for every finite double, in 64-bit integer arithmetic.
 *
 * repr(x) is the shortest decimal that reads back as x, the nearest one to
 * x when several are that short (the even one on a tie).  With x = c * 2**q
 * (c the 53-bit significand), the decimals that read back as x are those
 * in the rounding interval [x - u/2, x + u/2], u = 2**q (only u/4 below
 * when c is a power of two and the gap below is narrower), the bounds
 * themselves only when c is even (round-half-even reads them back).
 *
 * Scaled by 10**-k with k = floor(log10(u)) (for the narrow case, of 3u/4),
 * the interval is between 1 and 10 units wide, so it holds at most one
 * multiple of 10, and at least one integer besides: when exactly one of the
 * two multiples of 10 around x is inside, it is the shortest decimal (its
 * trailing zeros stripped); otherwise the shortest has as many digits as
 * the integer part s of the scaled x, and is s or s + 1, whichever is
 * inside (the nearer, or the even, when both are).
 *
 * Scaling multiplies 4 * c * 2**h (h = 1..8, so the product of the 126-bit
 * power of ten and it stays in reach of 64x64-bit products) by g, a
 * one-more-than-truncated 126-bit 10**-k (json_pow10.h, from the exact
 * generator), keeping the integer part and, in the lowest bit, whether
 * anything was cut off ("round to odd").  This is the method of
 * R. Giulietti, "The Schubfach way to render doubles" (2020), which shows
 * that 126 bits make every comparison below exact. */
#include "json_pow10.h"

/* The high 64 bits of a * b. */
static inline uint64_t mul_hi64(uint64_t a, uint64_t b)
{
#if defined(__SIZEOF_INT128__)
    return (uint64_t)(((unsigned __int128)a * b) >> 64);
#else
    uint64_t al = a & 0xFFFFFFFFu, ah = a >> 32, bl = b & 0xFFFFFFFFu, bh = b >> 32;
    uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
    uint64_t mid = (ll >> 32) + (lh & 0xFFFFFFFFu) + (hl & 0xFFFFFFFFu);
    return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
#endif
}

/* floor(x / 2**sh) for a signed x (not relying on >> of negatives). */
static inline int floor_shift(int64_t x, int sh)
{
    return x >= 0 ? (int)(x >> sh) : -(int)((-x + ((int64_t)1 << sh) - 1) >> sh);
}

/* floor(log10(2**q)), floor(log10(3/4 * 2**q)) and floor(log2(10**e)), exact
 * for |q| <= 1100 and |e| <= 400 (checked by the generator's test). */
static inline int flog10_pow2(int q)
{
    return floor_shift((int64_t)q * 661971961083LL, 41);
}

static inline int flog10_three_quarters_pow2(int q)
{
    return floor_shift((int64_t)q * 661971961083LL - 274743187321LL, 41);
}

static inline int flog2_pow10(int e)
{
    return floor_shift((int64_t)e * 913124641741LL, 38);
}

/* cp * g / 2**127, rounded to odd: floor, with the lowest bit set when
 * anything nonzero was dropped.  g = g1 * 2**63 + g0. */
static inline uint64_t round_odd(uint64_t g1, uint64_t g0, uint64_t cp)
{
    uint64_t x1 = mul_hi64(g0, cp), y0 = g1 * cp, y1 = mul_hi64(g1, cp);
    uint64_t z = (y0 >> 1) + x1, vbp = y1 + (z >> 63);
    const uint64_t m63 = (1ULL << 63) - 1;

    return vbp | (((z & m63) + m63) >> 63);
}

/* The digits m (trailing zeros allowed) and exponent k of repr(x) for a
 * positive normal double x: repr(x) == m * 10**k. */
static void shortest_decimal(uint64_t bits, uint64_t *m, int *k10)
{
    int bq = (int)(bits >> 52), q = (bq ? bq : 1) - 1075, k, h;
    uint64_t c = (bits & ((1ULL << 52) - 1)) | (bq ? 1ULL << 52 : 0);
    uint64_t out = c & 1, cb = c << 2, cbr = cb + 2, cbl, g1, g0, vb, vbl, vbr, s, t;
    const uint64_t *g;

    if (c != (1ULL << 52) || q == -1074) {
        cbl = cb - 2;
        k = flog10_pow2(q);
    } else {
        cbl = cb - 1; /* a power of two: the gap below is half as wide */
        k = flog10_three_quarters_pow2(q);
    }
    h = q + flog2_pow10(-k) + 2;
    g = zlmdb__pow10_g[-k - ZLMDB__POW10_EMIN];
    g1 = g[0];
    g0 = g[1];
    vb = round_odd(g1, g0, cb << h);
    vbl = round_odd(g1, g0, cbl << h);
    vbr = round_odd(g1, g0, cbr << h);
    s = vb >> 2;
    {
        uint64_t sp10 = s / 10 * 10, tp10 = sp10 + 10;
        int upin = vbl + out <= sp10 << 2, wpin = (tp10 << 2) + out <= vbr;
        if (upin != wpin) {
            *m = upin ? sp10 : tp10;
            *k10 = k;
            return;
        }
    }
    t = s + 1;
    {
        int uin = vbl + out <= s << 2, win = (t << 2) + out <= vbr;
        if (uin != win) {
            *m = uin ? s : t;
        } else {
            /* both read back: the nearer, or the even one on a tie */
            int64_t cmp = (int64_t)(vb - ((s + t) << 1));
            *m = cmp < 0 || (cmp == 0 && (s & 1) == 0) ? s : t;
        }
    }
    *k10 = k;
}

/* Write m * 10**k as float.__repr__ does (m > 0): positional when the
 * decimal exponent is in -4 .. 15, else d[.ddd]e+XX / e-XX. */
static size_t write_repr(char *out, int neg, uint64_t m, int k)
{
    char dig[24], *q = out;
    int nd, i, decpt, ex;

    /* Strip trailing zeros, coarsely first: fewer than 8, 4, 2, 1 remain
     * after each step. */
    while (m % 100000000 == 0) {
        m /= 100000000;
        k += 8;
    }
    if (m % 10000 == 0) {
        m /= 10000;
        k += 4;
    }
    if (m % 100 == 0) {
        m /= 100;
        k += 2;
    }
    if (m % 10 == 0) {
        m /= 10;
        k++;
    }
    nd = (int)zlmdb__ndigits(m);
    zlmdb__digits_backward((unsigned char *)dig + nd, m);
    decpt = nd + k; /* x = 0.DIG * 10**decpt */
    ex = decpt - 1;
    if (neg)
        *q++ = '-';
    if (ex < -4 || ex >= 16) {
        *q++ = dig[0];
        if (nd > 1) {
            *q++ = '.';
            memcpy(q, dig + 1, (size_t)nd - 1);
            q += nd - 1;
        }
        *q++ = 'e';
        *q++ = ex < 0 ? '-' : '+';
        ex = ex < 0 ? -ex : ex;
        if (ex >= 100)
            *q++ = (char)('0' + ex / 100);
        *q++ = (char)('0' + ex / 10 % 10);
        *q++ = (char)('0' + ex % 10);
    } else if (decpt <= 0) {
        *q++ = '0';
        *q++ = '.';
        for (i = 0; i < -decpt; i++)
            *q++ = '0';
        memcpy(q, dig, (size_t)nd);
        q += nd;
    } else if (decpt < nd) {
        memcpy(q, dig, (size_t)decpt);
        q += decpt;
        *q++ = '.';
        memcpy(q, dig + decpt, (size_t)(nd - decpt));
        q += nd - decpt;
    } else {
        memcpy(q, dig, (size_t)nd);
        q += nd;
        for (i = nd; i < decpt; i++)
            *q++ = '0';
        *q++ = '.';
        *q++ = '0';
    }
    return (size_t)(q - out);
}

/* repr(d) for finite nonzero d. */
static size_t format_repr(double d, char *out)
{
    uint64_t bits, m;
    int k;

    memcpy(&bits, &d, 8);
    shortest_decimal(bits & ~(1ULL << 63), &m, &k);
    return write_repr(out, (int)(bits >> 63), m, k);
}

size_t zlmdb_json_format_double(double v, char *out)
{
    size_t n;

    if (isnan(v)) {
        memcpy(out, "NaN", 4);
        return 3;
    }
    if (isinf(v)) {
        memcpy(out, v > 0 ? "Infinity" : "-Infinity", v > 0 ? 9 : 10);
        return v > 0 ? 8 : 9;
    }
    if (v == 0) {
        n = signbit(v) ? 4 : 3;
        memcpy(out, signbit(v) ? "-0.0" : "0.0", n + 1);
        return n;
    }
    n = format_repr(v, out);
    out[n] = 0;
    return n;
}

int zlmdb_json_encode_double(zlmdb_buf *out, double v)
{
    unsigned char *p = NULL;
    int rc = zlmdb__buf_room(out, ZLMDB_JSON_DOUBLE_MAX, &p);

    return rc ? rc : zlmdb__buf_commit(out, p + zlmdb_json_format_double(v, (char *)p));
}

/* ---------------------------------------------------------------- reader */

/* The reader itself is in json_read_int.h, inlined here and into the
 * extension's json_loads. */

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
    reader->state = ZLMDB__JST_VALUE;
    return ZLMDB_OK;
}

void zlmdb_json_reader_dispose(zlmdb_json_reader *reader)
{
    if (reader == NULL)
        return;
    zlmdb_buf_dispose(&reader->stack);
    zlmdb_buf_dispose(&reader->scratch);
}

int zlmdb__json_fail(zlmdb_json_reader *r, int rc, size_t off, const char *what)
{
    r->error = rc;
    r->error_offset = off;
    return zlmdb__error_set(rc, "JSON: %s at offset %zu", what, off);
}

int zlmdb_json_reader_next(zlmdb_json_reader *r, zlmdb_json_item *out)
{
    if (r == NULL || out == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "JSON reader: NULL argument");
    return zlmdb__json_next(r, out);
}

int zlmdb_json_reader_finish(zlmdb_json_reader *r)
{
    if (r == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "JSON reader is NULL");
    if (r->error)
        return zlmdb__error_set(r->error, "JSON: earlier error at offset %zu",
                                r->error_offset);
    if (r->state != ZLMDB__JST_DONE)
        return zlmdb__json_fail(r, ZLMDB_TRUNCATED, r->pos, "input ends inside the value");
    jr_skip_ws(r);
    if (r->pos != r->len)
        return zlmdb__json_fail(r, ZLMDB_DECODE, r->pos, "extra data after the value");
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

/* JSON: encoder primitives matching Python's json.dumps(separators=(",", ":"),
 * ensure_ascii=False), and the public face of the bounded pull reader
 * (json_read_int.h) accepting what json.loads accepts. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
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

#define TWO53 9007199254740992.0

/* float.__repr__ for the common case, in exact integer arithmetic (the
 * search in format_slow() below costs a dozen printf/strtod round trips).
 *
 * repr(x) is the shortest decimal that reads back as x (the closest one
 * when several are that short), positional when its decimal point
 * position decpt (x = 0.DIGITS * 10**decpt) is in -3 .. 16, else
 * scientific.  With x = M * 2**-s (53-bit M), x * 10**k is
 * M * 5**k * 2**(k-s), and the decimals of x that read back as x, scaled by
 * 10**k, are the integers within half an ulp (scaled alike) of it.  For
 * 1e-14 <= x < 2**53 and k <= 27 all of that is exact in 128-bit integers
 * (M * 5**27 * 4 < 2**118), so one pass at 17 or 18 digits finds the
 * shortest candidate and the nearest one (repr_shortest below).  Exact ties
 * between two candidates are left to the slow path.  Returns the length written into out, or 0 for "not handled". */
static const uint64_t pow5_tab[28] = { /* 5**0 .. 5**27 (5**27 < 2**63) */
    1ULL, 5ULL, 25ULL, 125ULL, 625ULL, 3125ULL, 15625ULL, 78125ULL, 390625ULL,
    1953125ULL, 9765625ULL, 48828125ULL, 244140625ULL, 1220703125ULL, 6103515625ULL,
    30517578125ULL, 152587890625ULL, 762939453125ULL, 3814697265625ULL,
    19073486328125ULL, 95367431640625ULL, 476837158203125ULL, 2384185791015625ULL,
    11920928955078125ULL, 59604644775390625ULL, 298023223876953125ULL,
    1490116119384765625ULL, 7450580596923828125ULL,
};

#if defined(__SIZEOF_INT128__)
typedef unsigned __int128 u128;

/* The shortest decimal of x = M * 2**-s that reads back as x, nearest
 * to x among those as short, in exact 128-bit integers.
 *
 * At k fraction digits (k chosen for 17 or 18 significant digits, which
 * always suffice, or k = 27 at most for the smallest x), x * 10**k is v / 2**sh with v = 4 * M * 5**k and
 * sh = s + 2 - k, and the decimals that read back are the integers in
 * [mlo, mhi]: those within half an ulp of x (scaled alike), the bounds
 * themselves only when M is even (round-half-even reads them back as x).
 * Fewer digits are the multiples of 10**j in that range: the largest j
 * with one is the shortest form, and the multiple of 10**j nearest to
 * v / 2**sh is the digits repr() prints.  Returns 1 with the digits in *m
 * and *k decreased by j; 0 when not handled (no candidate at this k, or two
 * candidates equally near: the slow path decides). */
static int repr_shortest(uint64_t M, int s, int even, int lower_half, int *kp, uint64_t *m)
{
    int k = *kp, sh = s + 2 - k, j = 0;
    u128 p5 = pow5_tab[k];
    u128 v = (u128)M * p5 * 4, hi = v + 2 * p5, lo = v - (lower_half ? 1 : 2) * p5;
    u128 mask, mlo, mhi, qq, rem, twice;
    uint64_t lo64, hi64, pw = 1, c0, c;

    if (sh < 0 || sh > 120)
        return 0;
    mask = ((u128)1 << sh) - 1;
    mlo = (lo + mask) >> sh; /* ceil */
    if (!even && (mlo << sh) == lo)
        mlo++;
    mhi = hi >> sh;          /* floor */
    if (!even && (mhi << sh) == hi)
        mhi--;
    if (mlo > mhi || (mhi >> 63) != 0)
        return 0;
    lo64 = (uint64_t)mlo;
    hi64 = (uint64_t)mhi;
    /* The largest power of ten pw = 10**j with a multiple in [lo64, hi64]:
     * while ceil(lo64 / 10**(j+1)) <= floor(hi64 / 10**(j+1)), kept by
     * dividing by the constant 10 (ceil of a ceil is the ceil). */
    {
        uint64_t l = lo64, h = hi64;
        while ((l + 9) / 10 <= h / 10) {
            l = (l + 9) / 10;
            h /= 10;
            pw *= 10;
            j++;
        }
    }
    /* The multiple of pw nearest to v / 2**sh: c0 below it, or c0 + pw. */
    qq = v >> sh; /* <= mhi + 1 < 2**63 */
    rem = v & mask;
    {
        uint64_t t = (uint64_t)qq;
        for (int i = 0; i < j; i++)
            t /= 10; /* by the constant: no division instruction */
        c0 = t * pw;
    }
    /* twice the distance from c0, in units of 2**-sh (fits: <= 2 * v) */
    twice = ((qq - c0) << sh | rem) * 2;
    if (twice == (u128)pw << sh) {
        /* Exactly halfway: a tie only if both neighbours read back. */
        if (c0 >= lo64 && c0 + pw <= hi64)
            return 0;
        c = c0 >= lo64 ? c0 : c0 + pw;
    } else {
        c = twice > ((u128)pw << sh) ? c0 + pw : c0;
    }
    /* v / 2**sh lies within a step of [lo64, hi64], so one step back into
     * the range is the nearest candidate there. */
    if (c < lo64)
        c += pw;
    else if (c > hi64)
        c -= pw;
    if (c < lo64 || c > hi64 || c == 0)
        return 0;
    *m = c / pw;
    *kp = k - j;
    return 1;
}

/* floor(log10(2**e)) for |e| < 1650: 78913 / 2**18 is log10(2) to within
 * 4e-7, with floor division for negative e. */
static inline int floor_log10_pow2(int e)
{
    return e >= 0 ? (int)(((uint32_t)e * 78913u) >> 18)
                  : -(int)((((uint32_t)-e * 78913u) + (1u << 18) - 1) >> 18);
}

static size_t format_fast(double d, char *out)
{
    double a = fabs(d);
    uint64_t bits, M, m = 0;
    char dig[24], *q = out;
    int s, k, nd, decpt, i, even, lower_half, e10;

    if (!(a >= 1e-14 && a < 1e16))
        return 0;
    if (a >= TWO53) {
        /* Multiples of 2 below 1e16: repr is the integer and ".0" (no
         * shorter decimal lies within +-1 of an even integer). */
        uint64_t u = (uint64_t)a;
        char tmp[24], *e = tmp + sizeof tmp, *p = e;
        do {
            *--p = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        if (signbit(d))
            *q++ = '-';
        memcpy(q, p, (size_t)(e - p));
        q += e - p;
        memcpy(q, ".0", 2);
        return (size_t)(q + 2 - out);
    }
    memcpy(&bits, &a, 8);
    M = (bits & ((1ULL << 52) - 1)) | (1ULL << 52); /* normal: a >= 1e-14 */
    s = 1075 - (int)(bits >> 52);                   /* a = M * 2**-s, s >= 1 */
    lower_half = (bits & ((1ULL << 52) - 1)) == 0;  /* the gap below is half as wide */
    even = (M & 1) == 0;                            /* round-half-even keeps ties */
    /* floor(log10 a) is e10 or e10 + 1, from the binary exponent: k gives
     * 17 or 18 significant digits (below 10**18 < 2**63). */
    e10 = floor_log10_pow2(52 - s);
    k = 16 - e10;
    if (k < 0)
        k = 0;
    if (k > 27)
        k = 27;
    if (!repr_shortest(M, s, even, lower_half, &k, &m))
        return 0;
    if (m == 0)
        return 0;
    nd = 0;
    while (m) {
        dig[nd++] = (char)('0' + m % 10);
        m /= 10;
    }
    for (i = 0; i < nd / 2; i++) {
        char t = dig[i];
        dig[i] = dig[nd - 1 - i];
        dig[nd - 1 - i] = t;
    }
    decpt = nd - k; /* x = 0.DIG * 10**decpt */
    if (decpt > 16)
        return 0;
    if (signbit(d))
        *q++ = '-';
    if (decpt < -3) {
        /* scientific: D[.DDD]e-XX */
        int ex = decpt - 1;
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
#else
static size_t format_fast(double d, char *out)
{
    (void)d;
    (void)out;
    return 0; /* no 128-bit integers: always the search */
}
#endif

/* The general case of zlmdb_json_format_double() (beyond 1e-14 .. 1e16, or
 * an exact tie), by search: printf's "%.*e" is correctly rounded, so the
 * nearest p-digit decimal is at hand for any p, and strtod() tells whether
 * it reads back.
 *
 * Split "d.ddde[+-]x" (from %e) into its digits and decimal exponent; the
 * radix character (locale-dependent) is skipped with the other non-digits. */
static int split_sci(const char *b, char *dig)
{
    int i, k = 0;

    for (i = 0; b[i] && b[i] != 'e'; i++)
        if (b[i] >= '0' && b[i] <= '9')
            dig[k++] = b[i];
    dig[k] = 0;
    return b[i] == 'e' ? atoi(b + i + 1) : 0;
}

/* Does "d.ddd" x 10^exp read back as v?  Written as the integer "dddd"
 * with its exponent shifted, because the radix character that strtod()
 * expects depends on the process's LC_NUMERIC, and the digits do not. */
static int digits_roundtrip(const char *dig, int exp, double v)
{
    char b[48], t[8];
    size_t n = strlen(dig);
    int e = exp - ((int)n - 1), k = 0;
    char *q = b + n;

    /* by hand: this runs once or twice per probe, printf costs as much as
     * the strtod() it feeds */
    memcpy(b, dig, n);
    *q++ = 'e';
    if (e < 0) {
        *q++ = '-';
        e = -e;
    }
    do {
        t[k++] = (char)('0' + e % 10);
        e /= 10;
    } while (e);
    while (k)
        *q++ = t[--k];
    *q = 0;
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
    if (digits_roundtrip(dig, *exp, v))
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
    nd = (int)format_fast(v, out + n);
    if (nd > 0) {
        n += (size_t)nd;
        out[n] = 0;
        return n;
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

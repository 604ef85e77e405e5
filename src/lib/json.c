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

static const double pow10_tab[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};
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
 * (M * 5**27 * 4 < 2**118), so we find the smallest k with a candidate and
 * take the nearest one.  Exact ties between two candidates are left to the
 * slow path.  Returns the length written into out, or 0 for "not handled". */
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

/* The decimal candidates of x = M * 2**-s at k fraction digits (see
 * format_fast).  Returns 1 with the nearest in *m, 0 when there is none, -1
 * for an exact tie between two. */
static int repr_candidate(uint64_t M, int s, int even, int lower_half, int k, uint64_t *m)
{
    u128 p5 = pow5_tab[k];
    u128 v = (u128)M * p5 * 4, hi = v + 2 * p5, lo = v - (lower_half ? 1 : 2) * p5;
    u128 mlo, mhi, mask, qq, rem, half, c;
    int sh = s + 2 - k; /* units of 2**(k-s-2) per integer */

    if (sh < 0)
        return -1; /* not reached for |x| < 2**53 and k <= 17 - log10(x) */
    if (sh <= 2) {
        /* x * 10**k is an integer (k >= s): it is the nearest candidate. */
        *m = (uint64_t)(v >> sh);
        return (v >> sh) >> 63 ? -1 : 1;
    }
    mask = ((u128)1 << sh) - 1;
    mlo = (lo + mask) >> sh; /* ceil */
    if (!even && (mlo << sh) == lo)
        mlo++;
    mhi = hi >> sh;          /* floor */
    if (!even && (mhi << sh) == hi)
        mhi--;
    if (mlo > mhi)
        return 0;
    qq = v >> sh;
    rem = v & mask;
    half = (u128)1 << (sh - 1);
    if (rem == half && mlo <= qq && qq + 1 <= mhi)
        return -1;
    c = qq + (rem > half);
    if (c < mlo)
        c = mlo;
    if (c > mhi)
        c = mhi;
    if (c >> 63)
        return -1;
    *m = (uint64_t)c;
    return 1;
}

static size_t format_fast(double d, char *out)
{
    double a = fabs(d);
    uint64_t bits, M, m = 0, mk = 0;
    char dig[24], *q = out;
    int s, k, nd, decpt, i, even, lower_half, e10, klo, khi, r;

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
    /* floor(log10 a) is e10 or e10 + 1, from the binary exponent. */
    e10 = (int)floor((double)(52 - s) * 0.30102999566398120);
    klo = -e10 - 1;
    khi = 17 - e10;
    if (klo < 0)
        klo = 0;
    if (khi > 27)
        khi = 27;
    if (klo > khi)
        return 0;
    /* Short decimals (prices, measurements) first, in doubles: m / 10**k
     * is correctly rounded like strtod (m < 2**53 and 10**k exact), so a
     * nearest m that reads back, with neither neighbour reading back, is
     * the one candidate at k.  A miss proves nothing (a * 10**k is itself
     * rounded), so a hit is confirmed minimal by the exact test at k - 1,
     * and misses fall through to the exact search. */
    for (k = klo; k <= klo + 6 && k <= 22; k++) {
        double p = pow10_tab[k], x = a * p, md;
        if (x >= TWO53)
            break;
        /* round to nearest integer: exact for x < 2**53 */
        md = x >= 4503599627370496.0 ? x : (x + 4503599627370496.0) - 4503599627370496.0;
        if (md / p == a) {
            if ((md - 1) / p == a || (md + 1) / p == a)
                break;
            if (k > klo && repr_candidate(M, s, even, lower_half, k - 1, &mk) != 0)
                break;
            m = (uint64_t)md;
            goto digits;
        }
    }
    /* Having a candidate is monotone in k (m at k gives 10m at k+1), so
     * binary-search the smallest k between 1 and 17 significant digits
     * (with a digit of slack for the estimate of floor(log10 a)). */
    if (klo > khi)
        return 0;
    r = repr_candidate(M, s, even, lower_half, khi, &mk);
    if (r != 1)
        return 0;
    k = khi;
    m = mk;
    while (klo < k) {
        int mid = klo + (k - klo) / 2;
        r = repr_candidate(M, s, even, lower_half, mid, &mk);
        if (r < 0)
            return 0;
        if (r == 1) {
            k = mid;
            m = mk;
        } else {
            klo = mid + 1;
        }
    }
digits:
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

/* The CBOR and JSON writers, shared by libzlmdb's public encoder functions
 * (cbor.c, json.c) and the CPython extension's object walk (src/ext/pyconv*):
 * one writer per format, inlined into both.  Not installed.
 *
 * Every writer here stores into memory the caller has already reserved
 * (at most the *_MAX bytes named next to it) and returns the end of what it
 * wrote.  Reserving first is what lets each caller keep its own buffer type
 * (zlmdb_buf in the library, a PyMem buffer with an inline first block in
 * the extension) and what makes a failed append leave nothing behind. */
#ifndef ZLMDB_CODEC_INT_H
#define ZLMDB_CODEC_INT_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "zlmdb.h"

/* For libzlmdb's public encoders: room for `room` more bytes of `out`
 * (#ZLMDB_EINVAL for a NULL buffer, as zlmdb_buf_reserve()), then the new
 * size once written up to `end`, keeping the NUL the header promises. */
static inline int zlmdb__buf_room(zlmdb_buf *out, size_t room, unsigned char **p)
{
    int rc;

    /* Room already (with the NUL's byte): no call into buf.c. */
    if (out != NULL && out->size < out->asize && room < out->asize - out->size) {
        *p = out->ptr + out->size;
        return 0;
    }
    rc = zlmdb_buf_reserve(out, room);

    if (rc == 0)
        *p = out->ptr + out->size;
    return rc;
}

static inline int zlmdb__buf_commit(zlmdb_buf *out, unsigned char *end)
{
    out->size = (size_t)(end - out->ptr);
    out->ptr[out->size] = 0;
    return 0;
}

/* Whether s[0..n) is all ASCII (so valid UTF-8 without further ado):
 * whole words, the last one overlapping, so a short key costs a load or
 * two.  The readers test this before zlmdb__utf8_check(). */
static inline int zlmdb__is_ascii(const unsigned char *s, size_t n)
{
    const uint64_t highs = 0x8080808080808080ULL;
    uint64_t acc = 0, x;
    size_t i;

    if (n >= 8) {
        for (i = 0; i + 8 < n; i += 8) {
            memcpy(&x, s + i, 8);
            acc |= x;
        }
        memcpy(&x, s + n - 8, 8);
        return ((acc | x) & highs) == 0;
    }
    if (n >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, s, 4);
        memcpy(&hi, s + n - 4, 4);
        return ((lo | hi) & 0x80808080u) == 0;
    }
    for (i = 0; i < n; i++)
        acc |= s[i];
    return (acc & 0x80) == 0;
}

/* ================================================================ CBOR */

/** Longest head (1 + 8 bytes); also the longest float item. */
#define ZLMDB__CBOR_HEAD_MAX 9

/* The major types, in the head's top three bits. */
enum {
    ZLMDB__CBOR_MT_UINT = 0,
    ZLMDB__CBOR_MT_NEGINT = 1,
    ZLMDB__CBOR_MT_BYTES = 2,
    ZLMDB__CBOR_MT_TEXT = 3,
    ZLMDB__CBOR_MT_ARRAY = 4,
    ZLMDB__CBOR_MT_MAP = 5,
    ZLMDB__CBOR_MT_TAG = 6,
    ZLMDB__CBOR_MT_SIMPLE = 7
};

/* Simple values of major type 7, as head arguments. */
enum {
    ZLMDB__CBOR_FALSE = 20,
    ZLMDB__CBOR_TRUE = 21,
    ZLMDB__CBOR_NULL = 22,
    ZLMDB__CBOR_UNDEFINED = 23
};

/* The shortest head for `v`, as cbor2 writes it.  Room: HEAD_MAX. */
static inline unsigned char *zlmdb__cbor_head(unsigned char *p, unsigned major, uint64_t v)
{
    major <<= 5;
    if (v < 24) {
        p[0] = (unsigned char)(major | v);
        return p + 1;
    }
    if (v <= 0xFF) {
        p[0] = (unsigned char)(major | 24);
        p[1] = (unsigned char)v;
        return p + 2;
    }
    if (v <= 0xFFFF) {
        p[0] = (unsigned char)(major | 25);
        p[1] = (unsigned char)(v >> 8);
        p[2] = (unsigned char)v;
        return p + 3;
    }
    if (v <= 0xFFFFFFFFu) {
        p[0] = (unsigned char)(major | 26);
        p[1] = (unsigned char)(v >> 24);
        p[2] = (unsigned char)(v >> 16);
        p[3] = (unsigned char)(v >> 8);
        p[4] = (unsigned char)v;
        return p + 5;
    }
    p[0] = (unsigned char)(major | 27);
    for (int i = 8; i >= 1; i--) {
        p[i] = (unsigned char)v;
        v >>= 8;
    }
    return p + 9;
}

/* A signed integer: major type 0, or 1 with argument -1 - v (computed as
 * ~v on the unsigned pattern, so INT64_MIN does not overflow).
 * Room: HEAD_MAX. */
static inline unsigned char *zlmdb__cbor_int(unsigned char *p, int64_t v)
{
    if (v < 0)
        return zlmdb__cbor_head(p, ZLMDB__CBOR_MT_NEGINT, ~(uint64_t)v);
    return zlmdb__cbor_head(p, ZLMDB__CBOR_MT_UINT, (uint64_t)v);
}

/* A byte or text string: head, then the bytes (`data` not NULL, even when
 * len is 0).  Room: HEAD_MAX + len. */
static inline unsigned char *zlmdb__cbor_string(unsigned char *p, unsigned major,
                                                const void *data, size_t len)
{
    p = zlmdb__cbor_head(p, major, (uint64_t)len);
    memcpy(p, data, len);
    return p + len;
}

/* A float as cbor2 writes it: every NaN as the half-precision quiet NaN,
 * infinities as half floats, every finite value (-0.0 too) as a double.
 * Room: HEAD_MAX. */
static inline unsigned char *zlmdb__cbor_double(unsigned char *p, double v)
{
    uint64_t bits;

    if (isnan(v) || isinf(v)) {
        p[0] = 0xf9;
        p[1] = isnan(v) ? 0x7e : v > 0 ? 0x7c : 0xfc;
        p[2] = 0x00;
        return p + 3;
    }
    memcpy(&bits, &v, 8);
    p[0] = 0xfb;
    for (int i = 8; i >= 1; i--) {
        p[i] = (unsigned char)bits;
        bits >>= 8;
    }
    return p + 9;
}

/* An integer of any size from its big-endian magnitude (leading zero bytes
 * allowed): a plain integer when it fits in 64 bits, else tag 2 (value
 * `mag`) or 3 (value -1 - `mag`) over the minimal bytes, as cbor2 writes a
 * Python int.  Room: 2 * HEAD_MAX + len.  (cbor.c) */
unsigned char *zlmdb__cbor_bigint(unsigned char *p, int negative, const unsigned char *mag,
                                  size_t len);

/* ================================================================ JSON */

/** Longest decimal integer: "-9223372036854775808" or 2^64 - 1. */
#define ZLMDB__JSON_INT_MAX 20
/** Longest literal: "false". */
#define ZLMDB__JSON_LITERAL_MAX 5

/* The bytes of x (as a 0x80 mask) that json.dumps escapes: below 0x20,
 * '"' or '\\'.  Bytes >= 0x80 (UTF-8 sequences) never match. */
static inline uint64_t zlmdb__json_escape_mask(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t q = x ^ (ones * 0x22), bs = x ^ (ones * 0x5c);
    return (((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((bs - ones) & ~bs)) & highs;
}

/* Whether any byte of s needs an escape.  Whole words, the last one
 * overlapping, so a short key costs a load or two. */
static inline int zlmdb__json_needs_escape(const unsigned char *s, size_t n)
{
    uint64_t hit = 0, x;
    size_t i = 0;

    if (n >= 8) {
        for (; i + 8 <= n; i += 8) {
            memcpy(&x, s + i, 8);
            hit |= zlmdb__json_escape_mask(x);
        }
        if (i < n) {
            memcpy(&x, s + n - 8, 8);
            hit |= zlmdb__json_escape_mask(x);
        }
    } else if (n >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, s, 4);
        memcpy(&hi, s + n - 4, 4);
        hit = zlmdb__json_escape_mask(((uint64_t)hi << 32) | lo);
    } else if (n > 0) {
        /* padded with 'A', which needs no escape */
        x = 0x4141414141414141ULL;
        x = (x << 24) | ((uint64_t)s[0] << 16) | ((uint64_t)s[n >> 1] << 8) | s[n - 1];
        hit = zlmdb__json_escape_mask(x);
    }
    return hit != 0;
}

/* Room for a quoted string of n bytes: n + 2 when nothing needs an escape,
 * else at most 6 bytes per input byte (\u00XX).  SIZE_MAX when that does
 * not fit in a size_t. */
static inline size_t zlmdb__json_string_room(size_t n, int escape)
{
    if (!escape)
        return n <= SIZE_MAX - 2 ? n + 2 : SIZE_MAX;
    return n <= (SIZE_MAX - 2) / 6 ? n * 6 + 2 : SIZE_MAX;
}

/* Copy n <= 16 bytes with fixed-size overlapping moves rather than a
 * memcpy call (most keys and short strings). */
static inline void zlmdb__copy_short(unsigned char *d, const unsigned char *s, size_t n)
{
    if (n >= 8) {
        memcpy(d, s, 8);
        memcpy(d + n - 8, s + n - 8, 8);
    } else if (n >= 4) {
        memcpy(d, s, 4);
        memcpy(d + n - 4, s + n - 4, 4);
    } else {
        for (size_t j = 0; j < n; j++)
            d[j] = s[j];
    }
}

/* Quote s (n <= 16) when zlmdb__json_needs_escape() said no.
 * Room: n + 2. */
static inline unsigned char *zlmdb__json_quote_short(unsigned char *p, const unsigned char *s,
                                                     size_t n)
{
    p[0] = '"';
    zlmdb__copy_short(p + 1, s, n);
    p[n + 1] = '"';
    return p + n + 2;
}

/* Quote s when zlmdb__json_needs_escape() said no.  Room: n + 2. */
static inline unsigned char *zlmdb__json_quote_plain(unsigned char *p, const unsigned char *s,
                                                     size_t n)
{
    if (n <= 16)
        return zlmdb__json_quote_short(p, s, n);
    p[0] = '"';
    memcpy(p + 1, s, n);
    p[n + 1] = '"';
    return p + n + 2;
}

/* Quote s (n >= 8) in one pass that copies eight bytes at a time and
 * checks them on the way; NULL, with the room scribbled on, when some byte
 * needs an escape (then the caller writes it with
 * zlmdb__json_quote_escaped()).  Room: n + 2. */
static inline unsigned char *zlmdb__json_quote_if_plain(unsigned char *p,
                                                        const unsigned char *s, size_t n)
{
    uint64_t x, hit = 0;
    size_t i;

    p[0] = '"';
    for (i = 0; i + 8 <= n; i += 8) {
        memcpy(&x, s + i, 8);
        hit |= zlmdb__json_escape_mask(x);
        memcpy(p + 1 + i, &x, 8);
    }
    if (i < n) {
        memcpy(&x, s + n - 8, 8);
        hit |= zlmdb__json_escape_mask(x);
        memcpy(p + 1 + n - 8, &x, 8);
    }
    if (hit)
        return NULL;
    p[n + 1] = '"';
    return p + n + 2;
}

/* Quote and escape s as json.dumps(ensure_ascii=False): short escapes for
 * '"' '\\' \n \r \t \b \f, \u00xx (lowercase) for the other bytes below
 * 0x20, every other byte unchanged.  Room: 6 * n + 2.  (json.c) */
unsigned char *zlmdb__json_quote_escaped(unsigned char *p, const unsigned char *s, size_t n);

/* Quote s, escaping only when needed.  `escape` is
 * zlmdb__json_needs_escape(s, n); room: zlmdb__json_string_room(n, escape). */
static inline unsigned char *zlmdb__json_string(unsigned char *p, const unsigned char *s,
                                                size_t n, int escape)
{
    if (escape)
        return zlmdb__json_quote_escaped(p, s, n);
    return zlmdb__json_quote_plain(p, s, n);
}

/* "00" .. "99", for writing decimal digits two at a time. */
static const char zlmdb__digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* The decimal digits of v at end - ndigits(v) .. end, two at a time from
 * the end; returns their start. */
static inline unsigned char *zlmdb__digits_backward(unsigned char *end, uint64_t v)
{
    while (v >= 100) {
        end -= 2;
        memcpy(end, zlmdb__digit_pairs + 2 * (v % 100), 2);
        v /= 100;
    }
    if (v >= 10) {
        end -= 2;
        memcpy(end, zlmdb__digit_pairs + 2 * v, 2);
    } else {
        *--end = (unsigned char)('0' + v);
    }
    return end;
}

/* The number of decimal digits of v (1 for 0).  With a count-leading-zeros
 * instruction: the bit length times log10(2) (1233 / 4096, exact enough up
 * to 64 bits) gives the count or one more, and one compare with a power of
 * ten decides; a loop of compares elsewhere.  Counting by a loop cost about
 * as much as writing the digits. */
static inline size_t zlmdb__ndigits(uint64_t v)
{
#if defined(__GNUC__)
    static const uint64_t p10[20] = {
        1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
        100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL,
        10000000000000ULL, 100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
        100000000000000000ULL, 1000000000000000000ULL, 10000000000000000000ULL,
    };
    unsigned t = ((64u - (unsigned)__builtin_clzll(v | 1)) * 1233u) >> 12;

    return (size_t)t + 1 - ((v | 1) < p10[t]);
#else
    uint64_t p10 = 10;
    size_t nd = 1;

    while (nd < 20 && v >= p10) {
        nd++;
        p10 *= 10;
    }
    return nd;
#endif
}

/* An unsigned integer in decimal, written in place.  Room: JSON_INT_MAX. */
static inline unsigned char *zlmdb__json_uint(unsigned char *p, uint64_t v)
{
    size_t nd = zlmdb__ndigits(v);

    zlmdb__digits_backward(p + nd, v);
    return p + nd;
}

/* A signed integer in decimal.  Room: JSON_INT_MAX. */
static inline unsigned char *zlmdb__json_int(unsigned char *p, int64_t v)
{
    if (v < 0) {
        *p++ = '-';
        /* the magnitude by unsigned negation: INT64_MIN has no positive twin */
        return zlmdb__json_uint(p, (uint64_t)0 - (uint64_t)v);
    }
    return zlmdb__json_uint(p, (uint64_t)v);
}

/* `false` (v == 0), `true` (v == 1) or `null`.  Room: JSON_LITERAL_MAX. */
static inline unsigned char *zlmdb__json_literal(unsigned char *p, int v)
{
    if (v == 0) {
        memcpy(p, "false", 5);
        return p + 5;
    }
    memcpy(p, v == 1 ? "true" : "null", 4);
    return p + 4;
}

/* Doubles have no inline writer: zlmdb_json_format_double() (json.c) is
 * the one formatter, called with ZLMDB_JSON_DOUBLE_MAX bytes of room. */

/* ---------------------------------------------- datetimes as text (CBOR) */

/* An aware datetime as its fields, for cbor2's text form (tag 0): both
 * bindings write and read that form through the two functions below, so
 * its bytes are defined once.  `offset_us` is the UTC offset in
 * microseconds, below one day either way. */
typedef struct {
    int year, month, day, hour, minute, second, microsecond;
    int64_t offset_us;
} zlmdb__datetime;

/* Room for zlmdb__datetime_format()'s longest output. */
#define ZLMDB__DATETIME_TEXT_MAX 48

static inline char *zlmdb__two_digits(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

/* datetime.isoformat() with "+00:00" written "Z", as cbor2 writes an aware
 * datetime: YYYY-MM-DDTHH:MM:SS[.ffffff], then +HH:MM or -HH:MM, or Z for
 * an offset of 0 up to a minute, then :SS[.ffffff] when the offset has
 * seconds or microseconds.  The fields must be in datetime's ranges.
 * Returns the length written to `out` (ZLMDB__DATETIME_TEXT_MAX bytes). */
static inline size_t zlmdb__datetime_format(const zlmdb__datetime *t, char *out)
{
    char *p = out;
    int64_t a = t->offset_us < 0 ? -t->offset_us : t->offset_us, secs = a / 1000000;
    int frac = (int)(a % 1000000), us = t->microsecond;

    p = zlmdb__two_digits(p, t->year / 100);
    p = zlmdb__two_digits(p, t->year % 100);
    *p++ = '-';
    p = zlmdb__two_digits(p, t->month);
    *p++ = '-';
    p = zlmdb__two_digits(p, t->day);
    *p++ = 'T';
    p = zlmdb__two_digits(p, t->hour);
    *p++ = ':';
    p = zlmdb__two_digits(p, t->minute);
    *p++ = ':';
    p = zlmdb__two_digits(p, t->second);
    if (us) {
        *p++ = '.';
        p = zlmdb__two_digits(p, us / 10000);
        p = zlmdb__two_digits(p, us / 100 % 100);
        p = zlmdb__two_digits(p, us % 100);
    }
    if (t->offset_us >= 0 && secs < 60) {
        *p++ = 'Z';                 /* cbor2 replaces "+00:00" by "Z" */
    } else {
        *p++ = t->offset_us < 0 ? '-' : '+';
        p = zlmdb__two_digits(p, (int)(secs / 3600));
        *p++ = ':';
        p = zlmdb__two_digits(p, (int)(secs / 60 % 60));
    }
    if (secs % 60 || frac) {
        *p++ = ':';
        p = zlmdb__two_digits(p, (int)(secs % 60));
    }
    if (frac) {
        *p++ = '.';
        p = zlmdb__two_digits(p, frac / 10000);
        p = zlmdb__two_digits(p, frac / 100 % 100);
        p = zlmdb__two_digits(p, frac % 100);
    }
    return (size_t)(p - out);
}

static inline int zlmdb__read_two_digits(const unsigned char *p)
{
    unsigned a = (unsigned)p[0] - '0', b = (unsigned)p[1] - '0';
    return a <= 9 && b <= 9 ? (int)(a * 10 + b) : -1;
}

/* Read the form cbor2 writes: YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+HH:MM|-HH:MM).
 * Only the shape and the digits are checked (the date's and time's ranges
 * are the datetime constructor's), and hour 24 is not taken (Python 3.14's
 * fromisoformat reads T24:00 as the next day, earlier ones refuse it).
 * Returns 1 with `t` filled, 0 for any other text (the caller hands it to
 * fromisoformat). */
static inline int zlmdb__datetime_parse(const unsigned char *p, size_t n, zlmdb__datetime *t)
{
    int y1, y2, us = 0, tzm = 0, i;

    if (n != 20 && n != 25 && n != 27 && n != 32)
        return 0;
    if (p[4] != '-' || p[7] != '-' || p[10] != 'T' || p[13] != ':' || p[16] != ':')
        return 0;
    y1 = zlmdb__read_two_digits(p);
    y2 = zlmdb__read_two_digits(p + 2);
    t->month = zlmdb__read_two_digits(p + 5);
    t->day = zlmdb__read_two_digits(p + 8);
    t->hour = zlmdb__read_two_digits(p + 11);
    t->minute = zlmdb__read_two_digits(p + 14);
    t->second = zlmdb__read_two_digits(p + 17);
    if (y1 < 0 || y2 < 0 || t->month < 0 || t->day < 0 || t->hour < 0 || t->minute < 0 ||
        t->second < 0 || t->hour == 24)
        return 0;
    t->year = y1 * 100 + y2;
    p += 19;
    n -= 19;
    if (n == 8 || n == 13) { /* .ffffff */
        if (p[0] != '.')
            return 0;
        for (i = 1; i <= 6; i++) {
            unsigned dg = (unsigned)p[i] - '0';
            if (dg > 9)
                return 0;
            us = us * 10 + (int)dg;
        }
        p += 7;
        n -= 7;
    }
    if (n == 1) {
        if (p[0] != 'Z')
            return 0;
    } else { /* n == 6: +HH:MM */
        int oh = zlmdb__read_two_digits(p + 1), om = zlmdb__read_two_digits(p + 4);
        if ((p[0] != '+' && p[0] != '-') || p[3] != ':' || oh < 0 || om < 0 || oh > 23 ||
            om > 59)
            return 0;
        tzm = (oh * 60 + om) * (p[0] == '-' ? -1 : 1);
    }
    t->microsecond = us;
    t->offset_us = (int64_t)tzm * 60 * 1000000;
    return 1;
}

/* --------------------------------------- timestamps (key components) */

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar, and
 * back: the timestamp keys' datetime conversions, shared by both bindings. */
static inline int64_t zlmdb__days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static inline void zlmdb__civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era;
    unsigned doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* A datetime's fields, less its UTC offset in seconds (`off_s`: what
 * utcoffset() gives; 0 for naive, taken as UTC), as int64 nanoseconds since
 * 1970: 0, or -1 when they fall outside int64 nanoseconds. */
static inline int zlmdb__datetime_to_ns(int64_t y, unsigned m, unsigned d, int hh, int mi,
                                        int ss, int us, int64_t off_s, int64_t *ns)
{
    int64_t secs = zlmdb__days_from_civil(y, m, d) * 86400 + hh * 3600 + mi * 60 + ss - off_s;

    if (secs > INT64_MAX / 1000000000 - 1 || secs < INT64_MIN / 1000000000 + 1)
        return -1;
    *ns = secs * 1000000000 + (int64_t)us * 1000;
    return 0;
}

/* Nanoseconds since 1970 floored to microseconds, as a datetime's fields in
 * UTC (every int64 count is within years 1677..2262). */
static inline void zlmdb__ns_to_datetime(int64_t ns, zlmdb__datetime *t)
{
    int64_t us = ns / 1000 - (ns % 1000 < 0), y;
    int64_t days = us / 86400000000LL - (us % 86400000000LL < 0);
    int64_t rem = us - days * 86400000000LL;
    unsigned m, d;

    zlmdb__civil_from_days(days, &y, &m, &d);
    t->year = (int)y;
    t->month = (int)m;
    t->day = (int)d;
    t->hour = (int)(rem / 3600000000LL);
    t->minute = (int)(rem / 60000000 % 60);
    t->second = (int)(rem / 1000000 % 60);
    t->microsecond = (int)(rem % 1000000);
    t->offset_us = 0;
}

#endif

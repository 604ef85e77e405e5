/* The codec bridge, JSON half: writes exactly what
 * json.dumps(obj, separators=(",", ":"), ensure_ascii=False) returns, and
 * reads what json.loads reads, with libzlmdb's JSON pull reader.
 * Same structure as the CBOR half in pyconv.c. */
#include "zpy.h"
#include <math.h>
#if defined(__GLIBC__)
/* glibc's strtod is correctly rounded; strtod_l with a "C" locale makes it
 * independent of the process locale.  (pyconfig.h defines _GNU_SOURCE.) */
#  include <locale.h>
#  define ZPY_HAVE_STRTOD_L 1
#endif

/* ============================================================ encode */

typedef struct {
    zpy_codec_state *cs;
    zpy_obuf out;
    PyObject *deflt;
    int depth;
    int nonascii;      /**< some text is not ASCII: decode the result */
    int surrogates;    /**< some text has lone surrogates: 'surrogatepass' */
    PyObject *path[ZPY_CODEC_MAX_DEPTH + 1];
} jenc;

/* 0: copy; otherwise the character of the short escape, or 'u'. */
static const char escape_tab[256] = {
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
    0, 0, '"', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '\\', 0, 0, 0,
};

static ZPY_NOINLINE int put_escaped_slow(zpy_obuf *b, const unsigned char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char *p;
    size_t i;

    /* Worst case 6 output bytes per input byte, plus the quotes. */
    if (n > ((size_t)PY_SSIZE_T_MAX - 2) / 6) {
        PyErr_NoMemory();
        return -1;
    }
    if (zpy_obuf_reserve(b, n * 6 + 2) < 0)
        return -1;
    p = b->p + b->len;
    *p++ = '"';
    for (i = 0; i < n; i++) {
        unsigned char ch;
        /* Eight bytes at a time while none needs escaping: no byte below
         * 0x20, no '"' (0x22), no '\\' (0x5c); bytes >= 0x80 never match. */
        while (n - i >= 8) {
            const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
            uint64_t x, q, bs, hit;
            memcpy(&x, s + i, 8);
            q = x ^ (ones * 0x22);
            bs = x ^ (ones * 0x5c);
            hit = ((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((bs - ones) & ~bs);
            if (hit & highs)
                break;
            memcpy(p, s + i, 8);
            p += 8;
            i += 8;
        }
        if (i >= n)
            break;
        ch = s[i];
        char e = ch < 128 ? escape_tab[ch] : 0;
        if (ZPY_LIKELY(e == 0)) {
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
    b->len = (size_t)(p - b->p);
    return 0;
}

/* Bytes of x (as a 0x80 mask) that need escaping: below 0x20, '"' or
 * '\\'.  Bytes >= 0x80 (UTF-8 sequences) never match. */
static inline uint64_t escape_mask(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t q = x ^ (ones * 0x22), bs = x ^ (ones * 0x5c);
    return (((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((bs - ones) & ~bs)) & highs;
}

/* Whether any byte of s needs escaping; whole words, overlapping at the
 * end, so short keys cost a load or two. */
static inline int needs_escape(const unsigned char *s, size_t n)
{
    uint64_t hit = 0, x;
    size_t i = 0;

    if (n >= 8) {
        for (; i + 8 <= n; i += 8) {
            memcpy(&x, s + i, 8);
            hit |= escape_mask(x);
        }
        if (i < n) {
            memcpy(&x, s + n - 8, 8);
            hit |= escape_mask(x);
        }
    } else if (n >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, s, 4);
        memcpy(&hi, s + n - 4, 4);
        hit = escape_mask(((uint64_t)hi << 32) | lo);
    } else if (n > 0) {
        /* pad with 'A', which needs no escape */
        x = 0x4141414141414141ULL;
        x = (x << 24) | ((uint64_t)s[0] << 16) | ((uint64_t)s[n >> 1] << 8) | s[n - 1];
        hit = escape_mask(x);
    }
    return hit != 0;
}

static int put_escaped(zpy_obuf *b, const unsigned char *s, size_t n)
{
    if (ZPY_LIKELY(!needs_escape(s, n))) {
        unsigned char *p;
        if (zpy_obuf_reserve(b, n + 2) < 0)
            return -1;
        p = b->p + b->len;
        p[0] = '"';
        /* Short strings (most keys) with fixed-size overlapping moves
         * rather than a memcpy call. */
        if (n >= 8 && n <= 16) {
            memcpy(p + 1, s, 8);
            memcpy(p + 1 + n - 8, s + n - 8, 8);
        } else if (n >= 4 && n < 8) {
            memcpy(p + 1, s, 4);
            memcpy(p + 1 + n - 4, s + n - 4, 4);
        } else if (n < 4) {
            size_t j;
            for (j = 0; j < n; j++)
                p[1 + j] = s[j];
        } else {
            memcpy(p + 1, s, n);
        }
        p[n + 1] = '"';
        b->len += n + 2;
        return 0;
    }
    return put_escaped_slow(b, s, n);
}

static int json_str(jenc *c, PyObject *s)
{
    const char *p;
    Py_ssize_t n;
    int rc;

    if (PyUnicode_IS_COMPACT_ASCII(s))
        return put_escaped(&c->out, PyUnicode_DATA(s), (size_t)PyUnicode_GET_LENGTH(s));
    c->nonascii = 1;
    p = PyUnicode_AsUTF8AndSize(s, &n);
    if (p != NULL)
        return put_escaped(&c->out, (const unsigned char *)p, (size_t)n);
    /* Lone surrogates: json.dumps(ensure_ascii=False) returns them as
     * they are; carry them as generalized UTF-8 to the final decode. */
    if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError))
        return -1;
    PyErr_Clear();
    {
        PyObject *bytes = PyUnicode_AsEncodedString(s, "utf-8", "surrogatepass");
        if (bytes == NULL)
            return -1;
        c->surrogates = 1;
        rc = put_escaped(&c->out, (const unsigned char *)PyBytes_AS_STRING(bytes),
                         (size_t)PyBytes_GET_SIZE(bytes));
        Py_DECREF(bytes);
    }
    return rc;
}

static inline int put_lit(zpy_obuf *b, const char *s, size_t n)
{
    if (zpy_obuf_reserve(b, n) < 0)
        return -1;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

static inline int put_ch(zpy_obuf *b, char ch)
{
    if (zpy_obuf_reserve(b, 1) < 0)
        return -1;
    b->p[b->len++] = (unsigned char)ch;
    return 0;
}

static ZPY_NOINLINE int json_bigint(zpy_obuf *b, PyObject *v)
{
    /* int.__repr__, also for subclasses (IntEnum writes its number). */
    PyObject *s = PyLong_Type.tp_repr(v);
    const char *p;
    Py_ssize_t n;
    int rc;
    if (s == NULL)
        return -1;
    p = PyUnicode_AsUTF8AndSize(s, &n);
    rc = p ? put_lit(b, p, (size_t)n) : -1;
    Py_DECREF(s);
    return rc;
}

static inline int json_int(zpy_obuf *b, PyObject *v)
{
    int overflow;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    char tmp[24], *e = tmp + sizeof tmp, *p = e;
    unsigned long long u;

    if (ZPY_UNLIKELY(overflow)) {
        /* 2**63 .. 2**64-1 (full 64-bit ids and tokens) without repr() */
        if (overflow > 0) {
            u = PyLong_AsUnsignedLongLong(v);
            if (!(u == (unsigned long long)-1 && PyErr_Occurred())) {
                do {
                    *--p = (char)('0' + u % 10);
                    u /= 10;
                } while (u);
                return put_lit(b, p, (size_t)(e - p));
            }
            PyErr_Clear();
        }
        return json_bigint(b, v);
    }
    if (x == -1 && PyErr_Occurred())
        return -1;
    u = x < 0 ? 0ULL - (unsigned long long)x : (unsigned long long)x;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (x < 0)
        *--p = '-';
    return put_lit(b, p, (size_t)(e - p));
}

static const double pow10_tab[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};
#define TWO53 9007199254740992.0

/* float.__repr__ for the common case, without PyOS_double_to_string (slow:
 * it switches the x87 control word and runs the full dtoa).
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
typedef unsigned __int128 zpy_u128;

/* The decimal candidates of x = M * 2**-s at k fraction digits (see
 * fast_repr).  Returns 1 with the nearest in *m, 0 when there is none, -1
 * for an exact tie between two. */
static int repr_candidate(uint64_t M, int s, int even, int lower_half, int k, uint64_t *m)
{
    zpy_u128 p5 = pow5_tab[k];
    zpy_u128 v = (zpy_u128)M * p5 * 4, hi = v + 2 * p5, lo = v - (lower_half ? 1 : 2) * p5;
    zpy_u128 mlo, mhi, mask, qq, rem, half, c;
    int sh = s + 2 - k; /* units of 2**(k-s-2) per integer */

    if (sh < 0)
        return -1; /* not reached for |x| < 2**53 and k <= 17 - log10(x) */
    if (sh <= 2) {
        /* x * 10**k is an integer (k >= s): it is the nearest candidate. */
        *m = (uint64_t)(v >> sh);
        return (v >> sh) >> 63 ? -1 : 1;
    }
    mask = ((zpy_u128)1 << sh) - 1;
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
    half = (zpy_u128)1 << (sh - 1);
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

static size_t fast_repr(double d, char *out)
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
static size_t fast_repr(double d, char *out)
{
    (void)d;
    (void)out;
    return 0; /* no 128-bit integers: always the exact slow path */
}
#endif

static int json_double(zpy_obuf *b, double d)
{
    char *s;
    int rc;
    size_t n;

    if (zpy_obuf_reserve(b, 32) < 0)
        return -1;
    n = fast_repr(d, (char *)b->p + b->len);
    if (n > 0) {
        b->len += n;
        return 0;
    }
    if (!isfinite(d)) {
        if (isnan(d))
            return put_lit(b, "NaN", 3);
        return d > 0 ? put_lit(b, "Infinity", 8) : put_lit(b, "-Infinity", 9);
    }
    /* Exactly float.__repr__ (which json uses). */
    s = PyOS_double_to_string(d, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    if (s == NULL)
        return -1;
    rc = put_lit(b, s, strlen(s));
    PyMem_Free(s);
    return rc;
}

static int json_enc(jenc *c, PyObject *o);

static ZPY_NOINLINE int jtoo_deep(jenc *c, PyObject *o)
{
    int i;
    for (i = 0; i < c->depth; i++) {
        if (c->path[i] == o) {
            PyErr_SetString(PyExc_ValueError, "Circular reference detected");
            return -1;
        }
    }
    PyErr_Format(PyExc_RecursionError, "maximum nesting depth (%d) exceeded while encoding "
                 "a JSON object", ZPY_CODEC_MAX_DEPTH);
    return -1;
}

static inline int jenter(jenc *c, PyObject *o)
{
    if (ZPY_UNLIKELY(c->depth >= ZPY_CODEC_MAX_DEPTH))
        return jtoo_deep(c, o);
    c->path[c->depth++] = o;
    return 0;
}

static int json_seq(jenc *c, PyObject *o)
{
    Py_ssize_t i;
    int islist = PyList_Check(o);

    if (jenter(c, o) < 0 || put_ch(&c->out, '[') < 0)
        return -1;
    for (i = 0; i < (islist ? PyList_GET_SIZE(o) : PyTuple_GET_SIZE(o)); i++) {
        PyObject *it = islist ? PyList_GET_ITEM(o, i) : PyTuple_GET_ITEM(o, i);
        int rc;
        if (i > 0 && put_ch(&c->out, ',') < 0)
            return -1;
        Py_INCREF(it);
        rc = json_enc(c, it);
        Py_DECREF(it);
        if (rc < 0)
            return -1;
    }
    c->depth--;
    return put_ch(&c->out, ']');
}

/* A dict key as json.dumps coerces it. */
static int json_key(jenc *c, PyObject *k)
{
    if (PyUnicode_Check(k))
        return json_str(c, k);
    if (put_ch(&c->out, '"') < 0)
        return -1;
    if (PyFloat_Check(k)) {
        if (json_double(&c->out, PyFloat_AS_DOUBLE(k)) < 0)
            return -1;
    } else if (k == Py_True) {
        if (put_lit(&c->out, "true", 4) < 0)
            return -1;
    } else if (k == Py_False) {
        if (put_lit(&c->out, "false", 5) < 0)
            return -1;
    } else if (k == Py_None) {
        if (put_lit(&c->out, "null", 4) < 0)
            return -1;
    } else if (PyLong_Check(k)) {
        if (json_int(&c->out, k) < 0)
            return -1;
    } else {
        PyErr_Format(PyExc_TypeError, "keys must be str, int, float, bool or None, not %.200s",
                     Py_TYPE(k)->tp_name);
        return -1;
    }
    return put_ch(&c->out, '"');
}

/* Whether encoding `o` runs no Python code (so `o` cannot be freed under
 * us by a default hook mutating its container). */
static inline int is_plain_scalar(PyObject *o)
{
    PyTypeObject *tp = Py_TYPE(o);
    return tp == &PyUnicode_Type || tp == &PyLong_Type || tp == &PyFloat_Type ||
           o == Py_None || tp == &PyBool_Type;
}

static int json_pair(jenc *c, PyObject *k, PyObject *v, int first)
{
    int rc;
    if (!first && put_ch(&c->out, ',') < 0)
        return -1;
    /* Keys of exact builtin types run no Python code and are not used
     * after this; only other keys and non-scalar values need a reference
     * of their own (a default hook may mutate the dict). */
    if (ZPY_LIKELY(is_plain_scalar(k))) {
        rc = json_key(c, k);
    } else {
        Py_INCREF(k);
        rc = json_key(c, k);
        Py_DECREF(k);
    }
    if (rc == 0)
        rc = put_ch(&c->out, ':');
    if (rc < 0)
        return -1;
    if (ZPY_LIKELY(is_plain_scalar(v)))
        return json_enc(c, v);
    Py_INCREF(v);
    rc = json_enc(c, v);
    Py_DECREF(v);
    return rc;
}

static int json_dict(jenc *c, PyObject *o)
{
    if (jenter(c, o) < 0 || put_ch(&c->out, '{') < 0)
        return -1;
    if (PyDict_CheckExact(o)) {
        Py_ssize_t pos = 0, n = PyDict_GET_SIZE(o), seen = 0;
        PyObject *k, *v;
        while (PyDict_Next(o, &pos, &k, &v)) {
            if (++seen > n)
                break;
            if (json_pair(c, k, v, seen == 1) < 0)
                return -1;
        }
        if (seen != n || PyDict_GET_SIZE(o) != n) {
            PyErr_SetString(PyExc_RuntimeError, "dictionary changed size during iteration");
            return -1;
        }
    } else {
        /* Subclasses: their items(), as json does. */
        PyObject *items = PyMapping_Items(o);
        Py_ssize_t i;
        if (items == NULL)
            return -1;
        for (i = 0; i < PyList_GET_SIZE(items); i++) {
            PyObject *kv = PyList_GET_ITEM(items, i);
            if (!PyTuple_Check(kv) || PyTuple_GET_SIZE(kv) != 2) {
                Py_DECREF(items);
                PyErr_SetString(PyExc_ValueError, "items must return 2-tuples");
                return -1;
            }
            if (json_pair(c, PyTuple_GET_ITEM(kv, 0), PyTuple_GET_ITEM(kv, 1), i == 0) < 0) {
                Py_DECREF(items);
                return -1;
            }
        }
        Py_DECREF(items);
    }
    c->depth--;
    return put_ch(&c->out, '}');
}

static ZPY_NOINLINE int json_slow(jenc *c, PyObject *o)
{
    if (PyUnicode_Check(o))
        return json_str(c, o);
    if (PyLong_Check(o))
        return json_int(&c->out, o);
    if (PyFloat_Check(o))
        return json_double(&c->out, PyFloat_AS_DOUBLE(o));
    if (PyList_Check(o) || PyTuple_Check(o))
        return json_seq(c, o);
    if (PyDict_Check(o))
        return json_dict(c, o);
    if (c->deflt != NULL) {
        PyObject *r;
        int rc;
        if (jenter(c, o) < 0)
            return -1;
        r = PyObject_CallOneArg(c->deflt, o);
        if (r == NULL)
            return -1;
        rc = json_enc(c, r);
        Py_DECREF(r);
        c->depth--;
        return rc;
    }
    PyErr_Format(PyExc_TypeError, "Object of type %.200s is not JSON serializable",
                 zpy_type_name(Py_TYPE(o)));
    return -1;
}

static int json_enc(jenc *c, PyObject *o)
{
    PyTypeObject *tp = Py_TYPE(o);

    if (tp == &PyUnicode_Type)
        return json_str(c, o);
    if (tp == &PyLong_Type)
        return json_int(&c->out, o);
    if (tp == &PyDict_Type)
        return json_dict(c, o);
    if (tp == &PyFloat_Type)
        return json_double(&c->out, PyFloat_AS_DOUBLE(o));
    if (o == Py_None)
        return put_lit(&c->out, "null", 4);
    if (o == Py_True)
        return put_lit(&c->out, "true", 4);
    if (o == Py_False)
        return put_lit(&c->out, "false", 5);
    if (tp == &PyList_Type || tp == &PyTuple_Type)
        return json_seq(c, o);
    return json_slow(c, o);
}

/* Encode args[0] into *c (on the caller's stack: the path array is a few
 * KB and this avoids a malloc per call).  0, or -1 with an exception. */
static int json_run(jenc *c, PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                    PyObject *kwnames, const char *fname)
{
    zpy_codec_state *cs = zpy_codec_ready(module);
    Py_ssize_t i, nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;

    if (cs == NULL)
        return -1;
    if (nargs != 1) {
        PyErr_Format(PyExc_TypeError, "%s() takes exactly 1 positional argument (%zd given)",
                     fname, nargs);
        return -1;
    }
    c->cs = cs;
    c->deflt = NULL;
    c->depth = 0;
    c->nonascii = c->surrogates = 0;
    zpy_obuf_init(&c->out);
    for (i = 0; i < nkw; i++) {
        PyObject *k = PyTuple_GET_ITEM(kwnames, i);
        if (PyUnicode_CompareWithASCIIString(k, "default") != 0) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'",
                         fname, k);
            goto fail;
        }
        c->deflt = args[nargs + i] == Py_None ? NULL : args[nargs + i];
    }
    if (json_enc(c, args[0]) == 0)
        return 0;
fail:
    zpy_obuf_free(&c->out);
    return -1;
}

PyObject *zpy_json_dumps(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                         PyObject *kwnames)
{
    jenc cbuf, *c = &cbuf;
    PyObject *res;

    if (json_run(c, module, args, nargs, kwnames, "json_dumps") < 0)
        return NULL;
    if (!c->nonascii) {
        res = PyUnicode_New((Py_ssize_t)c->out.len, 127);
        if (res != NULL)
            memcpy(PyUnicode_DATA(res), c->out.p, c->out.len);
    } else {
        res = PyUnicode_DecodeUTF8((const char *)c->out.p, (Py_ssize_t)c->out.len,
                                   c->surrogates ? "surrogatepass" : NULL);
    }
    zpy_obuf_free(&c->out);
    return res;
}

PyObject *zpy_json_dumpb(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                         PyObject *kwnames)
{
    jenc cbuf, *c = &cbuf;
    PyObject *res = NULL;

    if (json_run(c, module, args, nargs, kwnames, "json_dumpb") < 0)
        return NULL;
    if (c->surrogates) {
        /* Raise what json.dumps(...).encode() raises. */
        PyObject *text = PyUnicode_DecodeUTF8((const char *)c->out.p, (Py_ssize_t)c->out.len,
                                              "surrogatepass");
        if (text != NULL) {
            res = PyUnicode_AsUTF8String(text);
            Py_DECREF(text);
        }
    } else
        res = PyBytes_FromStringAndSize((const char *)c->out.p, (Py_ssize_t)c->out.len);
    zpy_obuf_free(&c->out);
    return res;
}

/* ============================================================ decode */

/* Decoding keeps every value of the open containers on one value stack
 * (an object's as key, value, key, value...) and builds each container
 * once, at its end, at its final size: no list or dict regrowth. */
typedef struct {
    PyObject **v;
    size_t n, cap;
} vstack;

static int vpush(vstack *vs, PyObject *o)
{
    if (o == NULL)
        return -1;
    if (vs->n == vs->cap) {
        size_t cap = vs->cap ? vs->cap * 2 : 64;
        PyObject **p = PyMem_Realloc(vs->v, cap * sizeof *p);
        if (p == NULL) {
            Py_DECREF(o);
            PyErr_NoMemory();
            return -1;
        }
        vs->v = p;
        vs->cap = cap;
    }
    vs->v[vs->n++] = o;
    return 0;
}

/* Pop the values from `start` into a new list (moving the references). */
static PyObject *vlist(vstack *vs, size_t start)
{
    size_t i, n = vs->n - start;
    PyObject *l = PyList_New((Py_ssize_t)n);
    if (l == NULL)
        return NULL;
    for (i = 0; i < n; i++)
        PyList_SET_ITEM(l, (Py_ssize_t)i, vs->v[start + i]);
    vs->n = start;
    return l;
}

/* Pop key/value pairs from `start` into a new dict; later duplicates win,
 * keeping the first key's position, as json.loads does. */
static PyObject *vdict(vstack *vs, size_t start)
{
    size_t i, n = vs->n - start;
    PyObject *d = zpy_dict_presized((Py_ssize_t)(n / 2));
    int rc = 0;
    if (d == NULL)
        return NULL;
    for (i = 0; i + 1 < n; i += 2) {
        if (rc == 0)
            rc = PyDict_SetItem(d, vs->v[start + i], vs->v[start + i + 1]);
        Py_DECREF(vs->v[start + i]);
        Py_DECREF(vs->v[start + i + 1]);
    }
    vs->n = start;
    if (rc < 0)
        Py_CLEAR(d);
    return d;
}

/* float(text) without PyOS_string_to_double when Clinger's fast path
 * applies: significant digits forming an exact double m <= 2**53, and a
 * decimal exponent within +-22 (an exact power of ten), so one correctly
 * rounded multiplication or division gives the correctly rounded result.
 * The text is already validated JSON.  Returns 0 and *out, or -1. */
static int fast_float(const char *p, size_t len, double *out)
{
    const char *e = p + len;
    unsigned long long m = 0;
    int neg = 0, ndig = 0, scale = 0, ex = 0, exneg = 0;

    if (*p == '-') {
        neg = 1;
        p++;
    }
    for (; p < e && *p >= '0' && *p <= '9'; p++) {
        if (m == 0 && *p == '0')
            continue;
        if (++ndig > 17)
            return -1;
        m = m * 10 + (unsigned)(*p - '0');
    }
    if (p < e && *p == '.') {
        for (p++; p < e && *p >= '0' && *p <= '9'; p++) {
            scale--;
            if (m == 0 && *p == '0')
                continue;
            if (++ndig > 17)
                return -1;
            m = m * 10 + (unsigned)(*p - '0');
        }
    }
    if (m > 9007199254740992ULL)
        return -1;
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (*p == '-' || *p == '+')
            exneg = *p++ == '-';
        for (; p < e; p++) {
            if (ex > 1000)
                return -1;
            ex = ex * 10 + (*p - '0');
        }
    }
    ex = (exneg ? -ex : ex) + scale;
    if (m == 0) {
        *out = neg ? -0.0 : 0.0;
        return 0;
    }
    if (ex < -22 || ex > 22)
        return -1;
    *out = ex >= 0 ? (double)m * pow10_tab[ex] : (double)m / pow10_tab[-ex];
    if (neg)
        *out = -*out;
    return 0;
}

void zpy_json_clear(zpy_codec_state *cs)
{
#ifdef ZPY_HAVE_STRTOD_L
    if (cs->c_locale != NULL)
        freelocale((locale_t)cs->c_locale);
#endif
    cs->c_locale = NULL;
}

static PyObject *json_number(zpy_codec_state *cs, const zlmdb_json_item *it)
{
    char tmp[64], *s = tmp;
    PyObject *r;

    if (it->is_float) {
        double d;
        if (fast_float(it->str, it->len, &d) == 0)
            return PyFloat_FromDouble(d);
    }
#ifdef ZPY_HAVE_STRTOD_L
    /* Long mantissas: glibc's strtod (correctly rounded, and much faster
     * here than PyOS_string_to_double, which also switches the x87 control
     * word on every call). */
    if (it->is_float && it->len < sizeof tmp) {
        if (cs->c_locale == NULL)
            cs->c_locale = (void *)newlocale(LC_ALL_MASK, "C", (locale_t)0);
        if (cs->c_locale != NULL) {
            memcpy(tmp, it->str, it->len);
            tmp[it->len] = 0;
            return PyFloat_FromDouble(strtod_l(tmp, NULL, (locale_t)cs->c_locale));
        }
    }
#endif

    if (!it->is_float && it->len <= 18) {
        /* Fits in int64: no allocation, no string round trip. */
        const char *p = it->str, *e = p + it->len;
        int neg = *p == '-';
        long long v = 0;
        if (neg)
            p++;
        for (; p < e; p++)
            v = v * 10 + (*p - '0');
        return PyLong_FromLongLong(neg ? -v : v);
    }
    if (it->len >= sizeof tmp) {
        s = PyMem_Malloc(it->len + 1);
        if (s == NULL)
            return PyErr_NoMemory();
    }
    memcpy(s, it->str, it->len);
    s[it->len] = 0;
    if (it->is_float) {
        double d = PyOS_string_to_double(s, NULL, NULL);
        r = (d == -1.0 && PyErr_Occurred()) ? NULL : PyFloat_FromDouble(d);
    } else {
        r = PyLong_FromString(s, NULL, 10);
    }
    if (s != tmp)
        PyMem_Free(s);
    return r;
}

static int json_error_class(zpy_codec_state *cs)
{
    if (cs->JSONDecodeError == NULL) {
        PyObject *json = PyImport_ImportModule("json");
        if (json == NULL)
            return -1;
        cs->JSONDecodeError = PyObject_GetAttrString(json, "JSONDecodeError");
        cs->json_loads = PyObject_GetAttrString(json, "loads");
        Py_DECREF(json);
        if (cs->JSONDecodeError == NULL || cs->json_loads == NULL)
            return -1;
    }
    return 0;
}

/* Raise json.JSONDecodeError(msg, doc, pos) with pos in characters when
 * the input was a str (as json.loads reports it), in bytes otherwise. */
static ZPY_NOINLINE void json_raise(zpy_codec_state *cs, const char *msg, PyObject *input,
                                    const unsigned char *data, size_t len, size_t off)
{
    char text[256];
    const char *cut;
    PyObject *doc, *exc;
    size_t pos = off, i;

    if (json_error_class(cs) < 0)
        return;
    /* libzlmdb says "JSON: <what> at offset N"; JSONDecodeError adds the
     * position itself. */
    if (strncmp(msg, "JSON: ", 6) == 0)
        msg += 6;
    snprintf(text, sizeof text, "%s", msg);
    cut = strstr(text, " at offset ");
    if (cut != NULL)
        text[cut - text] = 0;
    if (text[0] >= 'a' && text[0] <= 'z')
        text[0] = (char)(text[0] - 'a' + 'A');
    if (off > len)
        off = len;
    if (PyUnicode_Check(input)) {
        doc = Py_NewRef(input);
        for (pos = 0, i = 0; i < off; i++)
            pos += (data[i] & 0xc0) != 0x80;
    } else {
        doc = PyUnicode_DecodeUTF8((const char *)data, (Py_ssize_t)len, "replace");
        if (doc == NULL)
            return;
    }
    exc = PyObject_CallFunction(cs->JSONDecodeError, "sOn", text, doc, (Py_ssize_t)pos);
    Py_DECREF(doc);
    if (exc != NULL) {
        PyErr_SetObject(cs->JSONDecodeError, exc);
        Py_DECREF(exc);
    }
}

PyObject *zpy_json_loads(PyObject *module, PyObject *arg)
{
    zpy_codec_state *cs = zpy_codec_ready(module);
    zlmdb_json_reader r;
    zlmdb_json_item it;
    Py_buffer view;
    const unsigned char *data;
    size_t len;
    vstack vs = {NULL, 0, 0};
    size_t *starts = NULL;  /* value-stack index where each open container began */
    size_t n = 0, cap = 0;
    PyObject *result = NULL;
    int rc;

    if (cs == NULL)
        return NULL;
    view.obj = NULL;
    if (PyUnicode_Check(arg)) {
        Py_ssize_t sl;
        const char *s = PyUnicode_AsUTF8AndSize(arg, &sl);
        if (s == NULL) {
            /* A str holding lone surrogates has no UTF-8: let json do it. */
            if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError) ||
                (PyErr_Clear(), json_error_class(cs) < 0))
                return NULL;
            return PyObject_CallOneArg(cs->json_loads, arg);
        }
        data = (const unsigned char *)s;
        len = (size_t)sl;
    } else {
        if (zpy_get_input(arg, &view, "json_loads") < 0) {
            PyErr_Format(PyExc_TypeError,
                         "the JSON object must be str, bytes or bytearray, not %.200s",
                         Py_TYPE(arg)->tp_name);
            return NULL;
        }
        data = view.buf;
        len = (size_t)view.len;
        /* json.loads(bytes) accepts a UTF-8 BOM (it decodes 'utf-8-sig'). */
        if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) {
            data += 3;
            len -= 3;
        }
    }
    zlmdb_json_reader_init(&r, data, len, ZPY_CODEC_MAX_DEPTH);
    for (;;) {
        PyObject *v;
        rc = zlmdb_json_reader_next(&r, &it);
        if (rc != 0)
            break;
        switch (it.kind) {
        case ZLMDB_JSON_OBJECT_START:
        case ZLMDB_JSON_ARRAY_START:
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 16;
                size_t *p = PyMem_Realloc(starts, nc * sizeof *p);
                if (p == NULL) {
                    PyErr_NoMemory();
                    goto fail;
                }
                starts = p;
                cap = nc;
            }
            starts[n++] = vs.n;
            continue;
        case ZLMDB_JSON_OBJECT_END:
            v = vdict(&vs, starts[--n]);
            break;
        case ZLMDB_JSON_ARRAY_END:
            v = vlist(&vs, starts[--n]);
            break;
        case ZLMDB_JSON_KEY:
            v = it.has_surrogates
                    ? PyUnicode_DecodeUTF8(it.str, (Py_ssize_t)it.len, "surrogatepass")
                    : zpy_key_str(cs, it.str, it.len);
            break;
        case ZLMDB_JSON_STRING:
            v = it.has_surrogates
                    ? PyUnicode_DecodeUTF8(it.str, (Py_ssize_t)it.len, "surrogatepass")
                    : zpy_str_from_valid_utf8(it.str, it.len);
            break;
        case ZLMDB_JSON_NUMBER:
            v = json_number(cs, &it);
            break;
        case ZLMDB_JSON_TRUE:
            v = Py_NewRef(Py_True);
            break;
        case ZLMDB_JSON_FALSE:
            v = Py_NewRef(Py_False);
            break;
        case ZLMDB_JSON_NULL:
            v = Py_NewRef(Py_None);
            break;
        case ZLMDB_JSON_NAN:
            v = PyFloat_FromDouble(NAN);
            break;
        case ZLMDB_JSON_INFINITY:
            v = PyFloat_FromDouble(INFINITY);
            break;
        case ZLMDB_JSON_NEG_INFINITY:
            v = PyFloat_FromDouble(-INFINITY);
            break;
        default:
            PyErr_SetString(PyExc_SystemError, "JSON: unexpected item");
            goto fail;
        }
        if (v == NULL)
            goto fail;
        if (n == 0) {
            result = v;
            break;
        }
        if (vpush(&vs, v) < 0)
            goto fail;
    }
    if (rc == 0)
        rc = zlmdb_json_reader_finish(&r);
    if (rc != 0) {
        const char *msg = zlmdb_error_last();
        Py_CLEAR(result);
        json_raise(cs, msg ? msg : zlmdb_strerror(rc), arg, data, len, r.error_offset);
    }
    goto out;
fail:
    Py_CLEAR(result);
out:
    while (vs.n > 0)
        Py_DECREF(vs.v[--vs.n]);
    PyMem_Free(vs.v);
    PyMem_Free(starts);
    zlmdb_json_reader_dispose(&r);
    if (view.obj != NULL)
        PyBuffer_Release(&view);
    return result;
}

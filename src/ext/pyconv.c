/* The codec bridge: walks Python objects and writes CBOR (cbor2's bytes),
 * and builds Python objects from libzlmdb's CBOR pull reader.  JSON is in
 * pyconv_json.c and keys in pyconv_key.c.
 *
 * Encoding writes into one zpy_obuf and creates the result once.  It
 * recurses on the C stack, bounded by ZPY_CODEC_MAX_DEPTH; the containers
 * on the current path are remembered so that, when the limit is hit, a
 * cycle can be told apart from mere depth at no cost on the hot path.
 * Decoding never recurses: the reader yields items and we keep our own
 * stack of containers under construction. */
#include "zpy.h"
#include "codec_int.h"
#include "cbor_read_int.h"
#include <datetime.h>
#include <structmember.h>
#include <math.h>

/* ============================================================ helpers */

int zpy_obuf_grow(zpy_obuf *b, size_t extra)
{
    size_t need, cap;

    if (extra > (size_t)PY_SSIZE_T_MAX - b->len) {
        PyErr_NoMemory();
        return -1;
    }
    need = b->len + extra;
    cap = b->cap * 2;
    if (cap < need)
        cap = need;
    if (b->bytes == NULL && cap < b->hint)
        cap = b->hint;
    if (cap > (size_t)PY_SSIZE_T_MAX)
        cap = (size_t)PY_SSIZE_T_MAX;
    if (b->bytes == NULL) {
        b->bytes = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)cap);
        if (b->bytes == NULL)
            return -1;
        memcpy(PyBytes_AS_STRING(b->bytes), b->inl, b->len);
    } else if (_PyBytes_Resize(&b->bytes, (Py_ssize_t)cap) < 0) {
        /* b->bytes is gone: back to the (abandoned) inline state */
        b->p = b->inl;
        b->len = 0;
        b->cap = sizeof(b->inl);
        return -1;
    }
    b->p = (unsigned char *)PyBytes_AS_STRING(b->bytes);
    b->cap = cap;
    return 0;
}

PyObject *zpy_obuf_take_bytes(zpy_obuf *b)
{
    PyObject *r;

    if (b->bytes == NULL) {
        r = PyBytes_FromStringAndSize((const char *)b->inl, (Py_ssize_t)b->len);
    } else {
        r = b->bytes;
        b->bytes = NULL;
        if (_PyBytes_Resize(&r, (Py_ssize_t)b->len) < 0)
            r = NULL;
    }
    zpy_obuf_free(b);
    return r;
}

static PyObject *import_attr(const char *mod, const char *name)
{
    PyObject *m = PyImport_ImportModule(mod), *r;
    if (m == NULL)
        return NULL;
    r = PyObject_GetAttrString(m, name);
    Py_DECREF(m);
    return r;
}

zpy_codec_state *zpy_codec_ready(PyObject *module)
{
    zpy_state *st = PyModule_GetState(module);
    zpy_codec_state *cs = &st->codec;

    if (ZPY_UNLIKELY(cs->CBORTag == NULL)) {
        /* zlmdb.codec registers its classes when imported. */
        PyObject *m = PyImport_ImportModule("zlmdb.codec");
        if (m == NULL)
            return NULL;
        Py_DECREF(m);
        if (cs->CBORTag == NULL) {
            PyErr_SetString(PyExc_RuntimeError, "zlmdb.codec did not register its classes");
            return NULL;
        }
    }
    return cs;
}

PyObject *zpy_codec_numpy(zpy_codec_state *cs)
{
    if (cs->numpy == NULL) {
        PyObject *np = PyImport_ImportModule("numpy");
        if (np == NULL) {
            PyErr_Clear();
            cs->numpy = Py_NewRef(Py_None);
        } else {
            cs->np_datetime64 = PyObject_GetAttrString(np, "datetime64");
            if (cs->np_datetime64 == NULL) {
                PyErr_Clear();
                Py_DECREF(np);
                cs->numpy = Py_NewRef(Py_None);
            } else {
                cs->numpy = np;
            }
        }
    }
    return cs->numpy == Py_None ? NULL : cs->numpy;
}

PyObject *zpy_key_str_fill(PyObject **slot, const char *p, size_t n)
{
    PyObject *s = zpy_str_from_valid_utf8(p, n);

    if (s != NULL && PyUnicode_IS_COMPACT_ASCII(s)) {
        if (PyObject_Hash(s) == -1) {
            Py_DECREF(s);
            return NULL;
        }
        Py_XSETREF(*slot, Py_NewRef(s));
    }
    return s;
}

/* Text the reader has already checked (strict UTF-8: no overlongs, no
 * surrogates, nothing above U+10FFFF), decoded without checking again.
 * The largest lead byte decides the str's kind exactly, as CPython needs
 * it canonical: C2..C3 only (U+0080..U+00FF) is 1-byte, up to EF 2-byte,
 * F0..F4 4-byte. */
PyObject *zpy_str_from_checked_utf8(const unsigned char *p, size_t n)
{
    size_t i, nch = 0;
    unsigned lead = 0;
    PyObject *s;
    void *data;
    int kind;

    for (i = 0; i < n; i++) {
        nch += (p[i] & 0xC0) != 0x80;
        if (p[i] > lead)
            lead = p[i];
    }
    s = PyUnicode_New((Py_ssize_t)nch, lead <= 0xC3 ? 0xFF : lead <= 0xEF ? 0xFFFF : 0x10FFFF);
    if (s == NULL)
        return NULL;
    kind = PyUnicode_KIND(s);
    data = PyUnicode_DATA(s);
    for (i = 0, nch = 0; i < n; nch++) {
        Py_UCS4 c = p[i];
        if (c < 0x80) {
            i++;
        } else if (c < 0xE0) {
            c = ((c & 0x1F) << 6) | (p[i + 1] & 0x3F);
            i += 2;
        } else if (c < 0xF0) {
            c = ((c & 0x0F) << 12) | ((Py_UCS4)(p[i + 1] & 0x3F) << 6) | (p[i + 2] & 0x3F);
            i += 3;
        } else {
            c = ((c & 0x07) << 18) | ((Py_UCS4)(p[i + 1] & 0x3F) << 12) |
                ((Py_UCS4)(p[i + 2] & 0x3F) << 6) | (p[i + 3] & 0x3F);
            i += 4;
        }
        PyUnicode_WRITE(kind, data, nch, c);
    }
    return s;
}


PyObject *zpy_dict_presized(Py_ssize_t n)
{
#if PY_VERSION_HEX < 0x030E0000
    if (n > 5)
        return _PyDict_NewPresized(n);
#endif
    return PyDict_New();
}

/* UUIDs' 128-bit ints without CPython's general byte conversion (a loop
 * per byte with its checks, a quarter of a declared record's decode or
 * encode with two UUIDs).  CPython 3.11 to 3.13 keep an int as 30-bit
 * digits, least significant first, with the digit count and sign in
 * ob_size (3.11) or in lv_tag (3.12, 3.13: count << 3, sign in the low
 * two bits, 2 = negative); _PyLong_New(n) makes a positive int of n
 * digits.  zpy_u128_check() compares both directions with CPython's own
 * conversion at module init and leaves u128_layout 0 (the general path)
 * if they ever differ; other versions always take the general path. */
#if PyLong_SHIFT == 30 && PY_VERSION_HEX < 0x030E0000 && defined(__SIZEOF_INT128__)
#define ZPY_U128_DIGITS 1
typedef unsigned __int128 zpy_u128;

static inline const digit *u128_digits(PyObject *v, Py_ssize_t *n, int *neg)
{
#if PY_VERSION_HEX >= 0x030C0000
    uintptr_t tag = ((PyLongObject *)v)->long_value.lv_tag;
    *n = (Py_ssize_t)(tag >> 3);
    *neg = (tag & 3) == 2;
    return ((PyLongObject *)v)->long_value.ob_digit;
#else
    Py_ssize_t size = Py_SIZE(v);
    *n = size < 0 ? -size : size;
    *neg = size < 0;
    return ((PyLongObject *)v)->ob_digit;
#endif
}

/* 1 with the 16 bytes of a non-negative int below 2**128; 0 otherwise
 * (the caller takes the general path, which words the error). */
static int u128_to_be(PyObject *v, unsigned char out[16])
{
    Py_ssize_t n, i;
    int neg;
    const digit *d = u128_digits(v, &n, &neg);
    zpy_u128 x = 0;

    if (neg || n > 5 || (n == 5 && d[4] >= 256)) /* 4 * 30 + 8 = 128 bits */
        return 0;
    uint64_t hi, lo;
    for (i = n - 1; i >= 0; i--)
        x = (x << PyLong_SHIFT) | d[i];
    hi = (uint64_t)(x >> 64);
    lo = (uint64_t)x;
#if PY_LITTLE_ENDIAN
    hi = __builtin_bswap64(hi);
    lo = __builtin_bswap64(lo);
#endif
    memcpy(out, &hi, 8);
    memcpy(out + 8, &lo, 8);
    return 1;
}

static PyObject *u128_from_be(const unsigned char b[16])
{
    zpy_u128 x;
    uint64_t hi, lo;
    Py_ssize_t n, i;
    PyLongObject *v;
    digit *d;

    memcpy(&hi, b, 8);
    memcpy(&lo, b + 8, 8);
#if PY_LITTLE_ENDIAN
    hi = __builtin_bswap64(hi);
    lo = __builtin_bswap64(lo);
#endif
    if (hi == 0)
        return PyLong_FromUnsignedLongLong(lo);
    x = ((zpy_u128)hi << 64) | lo;
    n = (64 + (64 - __builtin_clzll(hi)) + PyLong_SHIFT - 1) / PyLong_SHIFT; /* 3 .. 5 */
    if ((v = _PyLong_New(n)) == NULL)
        return NULL;
#if PY_VERSION_HEX >= 0x030C0000
    d = v->long_value.ob_digit;
#else
    d = v->ob_digit;
#endif
    for (i = 0; i < n; i++) {
        d[i] = (digit)(x & PyLong_MASK);
        x >>= PyLong_SHIFT;
    }
    return (PyObject *)v;
}
#endif

PyObject *zpy_u128_from_be(zpy_codec_state *cs, const unsigned char b[16])
{
#ifdef ZPY_U128_DIGITS
    if (cs->u128_layout)
        return u128_from_be(b);
#else
    (void)cs;
#endif
#if PY_VERSION_HEX >= 0x030D0000
    return PyLong_FromUnsignedNativeBytes(b, 16, Py_ASNATIVEBYTES_BIG_ENDIAN |
                                                 Py_ASNATIVEBYTES_UNSIGNED_BUFFER);
#else
    return _PyLong_FromByteArray(b, 16, 0, 0); /* big-endian, unsigned */
#endif
}

/* Module init: the digit paths against CPython's conversion, both ways, for
 * ints of every digit count around the 64- and 128-bit edges. */
static int zpy_u128_check(zpy_codec_state *cs)
{
    cs->u128_layout = 0;
#ifdef ZPY_U128_DIGITS
    static const int shifts[] = {0, 1, 29, 30, 31, 59, 60, 63, 64, 65, 89, 90, 100, 119,
                                 120, 121, 127};
    size_t k;
    int agree = 1;

    for (k = 0; agree && k < sizeof shifts / sizeof shifts[0]; k++) {
        for (int low = 0; agree && low < 3; low++) {
            unsigned char want[16], got[16];
            zpy_u128 x = ((zpy_u128)1 << shifts[k]) - (low == 1) + (low == 2 ? 0x5a5a5a5a : 0);
            PyObject *mine, *theirs;
            int eq;
            for (int i = 15; i >= 0; i--) {
                want[i] = (unsigned char)x;
                x >>= 8;
            }
            if ((mine = u128_from_be(want)) == NULL)
                return -1;
            if ((theirs = _PyLong_FromByteArray(want, 16, 0, 0)) == NULL) {
                Py_DECREF(mine);
                return -1;
            }
            eq = PyObject_RichCompareBool(mine, theirs, Py_EQ);
            agree = eq == 1 && u128_to_be(theirs, got) == 1 && memcmp(got, want, 16) == 0 &&
                    u128_to_be(mine, got) == 1 && memcmp(got, want, 16) == 0;
            Py_DECREF(mine);
            Py_DECREF(theirs);
            if (eq < 0)
                return -1;
        }
    }
    cs->u128_layout = agree;
#endif
    return 0;
}

int zpy_uuid_to_bytes(zpy_codec_state *cs, PyObject *u, unsigned char out[16])
{
    PyObject *iv;
    int rc;

#ifdef ZPY_U128_DIGITS
    /* uuid.UUID itself: its 'int' slot read directly, a plain int's digits */
    if (cs->u128_layout && cs->uuid_int_off && Py_IS_TYPE(u, (PyTypeObject *)cs->UUID)) {
        iv = *(PyObject **)((char *)u + cs->uuid_int_off);
        if (iv != NULL && PyLong_CheckExact(iv) && u128_to_be(iv, out))
            return 0;
    }
#endif
    /* UUID keeps its value in the slot 'int' (a 128-bit int). */
    iv = PyObject_GetAttr(u, cs->s_int);
    if (iv == NULL)
        return -1;
    if (!PyLong_Check(iv)) {
        Py_DECREF(iv);
        PyErr_SetString(PyExc_TypeError, "UUID.int is not an int");
        return -1;
    }
    /* The int's 16 bytes, big-endian, straight from its digits. */
#if PY_VERSION_HEX >= 0x030D0000
    {
        /* The errors worded as _PyLong_AsByteArray words them up to 3.12
         * (and the PyPy binding too), so they do not change with CPython. */
        Py_ssize_t need = PyLong_AsNativeBytes(iv, out, 16, Py_ASNATIVEBYTES_BIG_ENDIAN |
                                               Py_ASNATIVEBYTES_UNSIGNED_BUFFER |
                                               Py_ASNATIVEBYTES_REJECT_NEGATIVE);
        rc = need < 0 || need > 16 ? -1 : 0;
        if (need < 0 && PyErr_ExceptionMatches(PyExc_ValueError)) {
            PyErr_SetString(PyExc_OverflowError, "can't convert negative int to unsigned");
        } else if (need > 16) {
            PyErr_SetString(PyExc_OverflowError, "int too big to convert");
        }
    }
#else
    rc = _PyLong_AsByteArray((PyLongObject *)iv, out, 16, 0, 0);
#endif
    Py_DECREF(iv);
    return rc;
}

PyObject *zpy_uuid_from_bytes(zpy_codec_state *cs, const unsigned char b[16])
{
    PyObject *iv, *u;

    iv = zpy_u128_from_be(cs, b);
    if (iv == NULL)
        return NULL;
    /* What UUID.__init__ does, minus its argument parsing: the class is
     * immutable through its __setattr__, so fill the slots directly (the
     * fresh object's slots are NULL), or set them generically. */
    u = ((PyTypeObject *)cs->UUID)->tp_alloc((PyTypeObject *)cs->UUID, 0);
    if (u == NULL) {
        Py_DECREF(iv);
        return NULL;
    }
    if (cs->uuid_int_off) {
        *(PyObject **)((char *)u + cs->uuid_int_off) = iv;
        *(PyObject **)((char *)u + cs->uuid_safe_off) = Py_NewRef(cs->safe_unknown);
        return u;
    }
    if (PyObject_GenericSetAttr(u, cs->s_int, iv) < 0 ||
        PyObject_GenericSetAttr(u, cs->s_is_safe, cs->safe_unknown) < 0) {
        Py_DECREF(iv);
        Py_DECREF(u);
        return NULL;
    }
    Py_DECREF(iv);
    return u;
}

int zpy_get_input(PyObject *obj, Py_buffer *view, const char *what)
{
    if (PyBytes_CheckExact(obj)) {
        view->obj = NULL;
        view->buf = PyBytes_AS_STRING(obj);
        view->len = PyBytes_GET_SIZE(obj);
        return 0;
    }
    if (PyUnicode_Check(obj) || !PyObject_CheckBuffer(obj)) {
        PyErr_Format(PyExc_TypeError, "%s: a bytes-like object is required, not '%.200s'",
                     what, Py_TYPE(obj)->tp_name);
        return -1;
    }
    return PyObject_GetBuffer(obj, view, PyBUF_SIMPLE);
}

/* ============================================================ CBOR encode */

typedef struct {
    zpy_codec_state *cs;
    zpy_obuf out;
    PyObject *deflt;          /**< default= hook or NULL */
    int depth;
    PyObject *path[ZPY_CODEC_MAX_DEPTH + 1]; /**< containers being encoded */
} cenc;

/* Every byte goes through libzlmdb's CBOR writers (codec_int.h, inlined
 * here); these only reserve room in the output buffer first. */
static inline int put_head(zpy_obuf *b, unsigned major, uint64_t v)
{
    if (zpy_obuf_reserve(b, ZLMDB__CBOR_HEAD_MAX) < 0)
        return -1;
    b->len = (size_t)(zlmdb__cbor_head(b->p + b->len, major, v) - b->p);
    return 0;
}

static inline int put_simple(zpy_obuf *b, unsigned v)
{
    return put_head(b, ZLMDB__CBOR_MT_SIMPLE, v);
}

/* Room for `heads` heads and n more bytes.  n is the size of a Python
 * object, at most PY_SSIZE_T_MAX = SIZE_MAX / 2, so the sum cannot wrap;
 * zpy_obuf_grow() refuses what would pass PY_SSIZE_T_MAX. */
static inline int reserve_string(zpy_obuf *b, size_t n, size_t heads)
{
    return zpy_obuf_reserve(b, heads * ZLMDB__CBOR_HEAD_MAX + n);
}

static inline int put_string(zpy_obuf *b, unsigned major, const void *data, size_t n)
{
    if (reserve_string(b, n, 1) < 0)
        return -1;
    b->len = (size_t)(zlmdb__cbor_string(b->p + b->len, major, data, n) - b->p);
    return 0;
}

static inline int cbor_double(zpy_obuf *b, double d)
{
    if (zpy_obuf_reserve(b, ZLMDB__CBOR_HEAD_MAX) < 0)
        return -1;
    b->len = (size_t)(zlmdb__cbor_double(b->p + b->len, d) - b->p);
    return 0;
}

/* Any Python int, as cbor2 writes it. */
static ZPY_NOINLINE int cbor_bigint(zpy_obuf *b, PyObject *v)
{
    int neg = zpy_long_sign(v) < 0;
    PyObject *m, *bytes;
    unsigned long long u;
    size_t nbits, nbytes;
    int rc = -1;

    m = neg ? PyNumber_Invert(v) : Py_NewRef(v); /* ~v == -1 - v */
    if (m == NULL)
        return -1;
    u = PyLong_AsUnsignedLongLong(m);
    if (!(u == (unsigned long long)-1 && PyErr_Occurred())) {
        Py_DECREF(m);
        return put_head(b, neg ? ZLMDB__CBOR_MT_NEGINT : ZLMDB__CBOR_MT_UINT, u);
    }
    PyErr_Clear();
    nbits = _PyLong_NumBits(m);
    if (nbits == (size_t)-1 && PyErr_Occurred()) {
        Py_DECREF(m);
        return -1;
    }
    nbytes = (nbits + 7) / 8;
    bytes = PyObject_CallMethod(m, "to_bytes", "ns", (Py_ssize_t)nbytes, "big");
    Py_DECREF(m);
    if (bytes == NULL)
        return -1;
    if (reserve_string(b, (size_t)PyBytes_GET_SIZE(bytes), 2) == 0) {
        unsigned char *end = zlmdb__cbor_bigint(
            b->p + b->len, neg, (const unsigned char *)PyBytes_AS_STRING(bytes),
            (size_t)PyBytes_GET_SIZE(bytes));
        b->len = (size_t)(end - b->p);
        rc = 0;
    }
    Py_DECREF(bytes);
    return rc;
}

static inline int cbor_int(zpy_obuf *b, PyObject *v)
{
    int overflow;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (ZPY_LIKELY(!overflow)) {
        if (x >= 0)
            return put_head(b, ZLMDB__CBOR_MT_UINT, (uint64_t)x);
        if (x == -1 && PyErr_Occurred())
            return -1;
        if (zpy_obuf_reserve(b, ZLMDB__CBOR_HEAD_MAX) < 0)
            return -1;
        b->len = (size_t)(zlmdb__cbor_int(b->p + b->len, (int64_t)x) - b->p);
        return 0;
    }
    return cbor_bigint(b, v);
}

static inline int cbor_str(zpy_obuf *b, PyObject *s)
{
    const char *p;
    Py_ssize_t n;
    if (PyUnicode_IS_COMPACT_ASCII(s)) {
        p = (const char *)PyUnicode_DATA(s);
        n = PyUnicode_GET_LENGTH(s);
    } else {
        p = PyUnicode_AsUTF8AndSize(s, &n);
        if (p == NULL)
            return -1;
    }
    return put_string(b, ZLMDB__CBOR_MT_TEXT, p, (size_t)n);
}

static int cbor_enc(cenc *c, PyObject *o);

/* Called when the depth limit is reached with `o` about to be entered. */
static ZPY_NOINLINE int too_deep(cenc *c, PyObject *o, const char *cyclic_msg,
                                 PyObject *cyclic_exc)
{
    int i;
    for (i = 0; i < c->depth; i++) {
        if (c->path[i] == o) {
            PyErr_SetString(cyclic_exc, cyclic_msg);
            return -1;
        }
    }
    PyErr_Format(PyExc_RecursionError, "maximum nesting depth (%d) exceeded while encoding",
                 ZPY_CODEC_MAX_DEPTH);
    return -1;
}

static inline int enter(cenc *c, PyObject *o)
{
    if (ZPY_UNLIKELY(c->depth >= ZPY_CODEC_MAX_DEPTH))
        return too_deep(c, o, "cyclic data structure detected", PyExc_ValueError);
    c->path[c->depth++] = o;
    return 0;
}

/* Encode an item we hold a reference to while encoding (the container may
 * be mutated by a default hook meanwhile). */
static inline int cbor_item(cenc *c, PyObject *o)
{
    int rc;
    Py_INCREF(o);
    rc = cbor_enc(c, o);
    Py_DECREF(o);
    return rc;
}

static int cbor_seq(cenc *c, PyObject *o)
{
    Py_ssize_t i, n = Py_SIZE(o);
    int islist = PyList_Check(o);

    if (put_head(&c->out, ZLMDB__CBOR_MT_ARRAY, (uint64_t)n) < 0 || enter(c, o) < 0)
        return -1;
    for (i = 0; i < n; i++) {
        PyObject *it;
        if (islist) {
            if (ZPY_UNLIKELY(i >= PyList_GET_SIZE(o)))
                goto changed;
            it = PyList_GET_ITEM(o, i);
        } else {
            it = PyTuple_GET_ITEM(o, i);
        }
        if (cbor_item(c, it) < 0)
            return -1;
    }
    if (islist && PyList_GET_SIZE(o) != n)
        goto changed;
    c->depth--;
    return 0;
changed:
    PyErr_SetString(PyExc_RuntimeError, "list changed size during encoding");
    return -1;
}

static int cbor_map(cenc *c, PyObject *o)
{
    Py_ssize_t pos = 0, n = PyDict_GET_SIZE(o), seen = 0;
    PyObject *k, *v;

    if (put_head(&c->out, ZLMDB__CBOR_MT_MAP, (uint64_t)n) < 0 || enter(c, o) < 0)
        return -1;
    while (zpy_dict_next(c->cs, o, &pos, &k, &v)) {
        int rc;
        if (++seen > n)
            break;
        Py_INCREF(k);
        Py_INCREF(v);
        rc = cbor_enc(c, k);
        if (rc == 0)
            rc = cbor_enc(c, v);
        Py_DECREF(k);
        Py_DECREF(v);
        if (rc < 0)
            return -1;
    }
    if (seen != n || PyDict_GET_SIZE(o) != n) {
        PyErr_SetString(PyExc_RuntimeError, "dictionary changed size during encoding");
        return -1;
    }
    c->depth--;
    return 0;
}

static int cbor_set(cenc *c, PyObject *o)
{
    Py_ssize_t n = PySet_GET_SIZE(o), seen = 0;
    PyObject *it, *x;

    if (put_head(&c->out, ZLMDB__CBOR_MT_TAG, 258) < 0 || put_head(&c->out, ZLMDB__CBOR_MT_ARRAY, (uint64_t)n) < 0 ||
        enter(c, o) < 0)
        return -1;
    it = PyObject_GetIter(o);
    if (it == NULL)
        return -1;
    while ((x = PyIter_Next(it)) != NULL) {
        int rc = ++seen > n ? -1 : cbor_enc(c, x);
        Py_DECREF(x);
        if (rc < 0) {
            Py_DECREF(it);
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_RuntimeError, "set changed size during encoding");
            return -1;
        }
    }
    Py_DECREF(it);
    if (PyErr_Occurred())
        return -1;
    if (seen != n) {
        PyErr_SetString(PyExc_RuntimeError, "set changed size during encoding");
        return -1;
    }
    c->depth--;
    return 0;
}

/* datetime.isoformat() of an aware datetime whose tzinfo is a
 * datetime.timezone (fixed offset), written here rather than by calling
 * isoformat(): that call, with its utcoffset() and PyUnicode_FromFormat(),
 * was most of the cost of encoding a record with a timestamp.  A zero
 * offset is "Z", as cbor2 writes it.  Returns the length, or -1 with an
 * exception set. */
static int iso_datetime_fixed(zpy_codec_state *cs, PyObject *o, PyObject *tz, char *buf)
{
    zlmdb__datetime t;

    t.offset_us = 0;
    if (tz != cs->utc) {
        PyObject *d = PyObject_CallMethodOneArg(tz, cs->s_utcoffset, o);
        if (d == NULL)
            return -1;
        if (PyDelta_Check(d))
            t.offset_us = ((int64_t)PyDateTime_DELTA_GET_DAYS(d) * 86400 +
                           PyDateTime_DELTA_GET_SECONDS(d)) * 1000000 +
                          PyDateTime_DELTA_GET_MICROSECONDS(d);
        Py_DECREF(d);
    }
    t.year = PyDateTime_GET_YEAR(o);
    t.month = PyDateTime_GET_MONTH(o);
    t.day = PyDateTime_GET_DAY(o);
    t.hour = PyDateTime_DATE_GET_HOUR(o);
    t.minute = PyDateTime_DATE_GET_MINUTE(o);
    t.second = PyDateTime_DATE_GET_SECOND(o);
    t.microsecond = PyDateTime_DATE_GET_MICROSECOND(o);
    return (int)zlmdb__datetime_format(&t, buf); /* libzlmdb's codec_int.h, as on PyPy */
}

static int cbor_datetime(cenc *c, PyObject *o)
{
    PyObject *s, *tz;
    const char *p, *at;
    Py_ssize_t n;
    int rc;

    if (((PyDateTime_DateTime *)o)->hastzinfo == 0 ||
        ((PyDateTime_DateTime *)o)->tzinfo == Py_None) {
        PyErr_SetString(PyExc_ValueError,
                        "naive datetime encountered and no default timezone has been set");
        return -1;
    }
    tz = ((PyDateTime_DateTime *)o)->tzinfo;
    if (Py_IS_TYPE(tz, Py_TYPE(c->cs->utc)) && PyDateTime_CheckExact(o)) {
        char buf[ZLMDB__DATETIME_TEXT_MAX];
        int len = iso_datetime_fixed(c->cs, o, tz, buf);
        if (len < 0 || put_head(&c->out, ZLMDB__CBOR_MT_TAG, 0) < 0)
            return -1;
        return put_string(&c->out, ZLMDB__CBOR_MT_TEXT, buf, (size_t)len);
    }
    s = PyObject_CallMethodNoArgs(o, c->cs->s_isoformat);
    if (s == NULL)
        return -1;
    p = PyUnicode_AsUTF8AndSize(s, &n);
    if (p == NULL) {
        Py_DECREF(s);
        return -1;
    }
    rc = put_head(&c->out, ZLMDB__CBOR_MT_TAG, 0);
    /* cbor2 writes a zero offset as "Z": isoformat() with "+00:00" replaced
     * (the offset follows the 19 characters of the date and time). */
    for (at = n > 19 ? p + 19 : p + n; at + 6 <= p + n && memcmp(at, "+00:00", 6) != 0; at++)
        ;
    if (at + 6 > p + n)
        at = NULL;
    if (rc == 0 && at != NULL) {
        size_t head = (size_t)(at - p), tail = (size_t)n - head - 6;
        rc = reserve_string(&c->out, head + 1 + tail, 1);
        if (rc == 0) {
            unsigned char *q = zlmdb__cbor_head(c->out.p + c->out.len, ZLMDB__CBOR_MT_TEXT,
                                                (uint64_t)(head + 1 + tail));
            memcpy(q, p, head);
            q[head] = 'Z';
            memcpy(q + head + 1, at + 6, tail);
            c->out.len = (size_t)(q + head + 1 + tail - c->out.p);
        }
    } else if (rc == 0) {
        rc = put_string(&c->out, ZLMDB__CBOR_MT_TEXT, p, (size_t)n);
    }
    Py_DECREF(s);
    return rc;
}

static int cbor_date(cenc *c, PyObject *o)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%04d-%02d-%02d", PyDateTime_GET_YEAR(o),
                     PyDateTime_GET_MONTH(o), PyDateTime_GET_DAY(o));
    if (put_head(&c->out, ZLMDB__CBOR_MT_TAG, 1004) < 0)
        return -1;
    return put_string(&c->out, ZLMDB__CBOR_MT_TEXT, tmp, (size_t)n);
}

static int cbor_decimal(cenc *c, PyObject *o)
{
    PyObject *t, *digits, *exp, *mant = NULL;
    Py_ssize_t i, n;
    char *s = NULL;
    long sign;
    int rc = -1;

    t = PyObject_CallMethodNoArgs(o, c->cs->s_as_tuple);
    if (t == NULL)
        return -1;
    if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 3) {
        PyErr_SetString(PyExc_TypeError, "Decimal.as_tuple() did not return a 3-tuple");
        goto done;
    }
    sign = PyLong_AsLong(PyTuple_GET_ITEM(t, 0));
    digits = PyTuple_GET_ITEM(t, 1);
    exp = PyTuple_GET_ITEM(t, 2);
    if (sign == -1 && PyErr_Occurred())
        goto done;
    if (PyUnicode_Check(exp)) {
        /* 'n'/'N': NaN (cbor2 writes every NaN alike), 'F': infinity. */
        if (PyUnicode_CompareWithASCIIString(exp, "F") == 0)
            rc = cbor_double(&c->out, sign ? -INFINITY : INFINITY);
        else
            rc = cbor_double(&c->out, NAN);
        goto done;
    }
    if (!PyTuple_Check(digits))
        goto done;
    n = PyTuple_GET_SIZE(digits);
    s = PyMem_Malloc((size_t)n + 3);
    if (s == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    s[0] = sign ? '-' : '+';
    for (i = 0; i < n; i++) {
        long d = PyLong_AsLong(PyTuple_GET_ITEM(digits, i));
        if (d < 0 || d > 9) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "bad Decimal digit");
            goto done;
        }
        s[i + 1] = (char)('0' + d);
    }
    if (n == 0)
        s[++n] = '0';
    s[n + 1] = 0;
    mant = PyLong_FromString(s, NULL, 10);
    if (mant == NULL)
        goto done;
    if (put_head(&c->out, ZLMDB__CBOR_MT_TAG, 4) < 0 || put_head(&c->out, ZLMDB__CBOR_MT_ARRAY, 2) < 0 ||
        cbor_int(&c->out, exp) < 0 || cbor_int(&c->out, mant) < 0)
        goto done;
    rc = 0;
done:
    PyMem_Free(s);
    Py_XDECREF(mant);
    Py_DECREF(t);
    return rc;
}

static ZPY_NOINLINE int cbor_slow(cenc *c, PyObject *o)
{
    zpy_codec_state *cs = c->cs;
    PyTypeObject *tp = Py_TYPE(o);

    if (PyLong_Check(o))
        return cbor_int(&c->out, o);
    if (PyFloat_Check(o))
        return cbor_double(&c->out, PyFloat_AS_DOUBLE(o));
    if (PyUnicode_Check(o))
        return cbor_str(&c->out, o);
    if (PyBytes_Check(o))
        return put_string(&c->out, ZLMDB__CBOR_MT_BYTES, PyBytes_AS_STRING(o), (size_t)PyBytes_GET_SIZE(o));
    if (PyByteArray_Check(o))
        return put_string(&c->out, ZLMDB__CBOR_MT_BYTES, PyByteArray_AS_STRING(o),
                          (size_t)PyByteArray_GET_SIZE(o));
    if (PyList_Check(o) || PyTuple_Check(o))
        return cbor_seq(c, o);
    if (PyDict_Check(o))
        return cbor_map(c, o);
    if (PyAnySet_Check(o))
        return cbor_set(c, o);
    if (PyDateTime_Check(o))
        return cbor_datetime(c, o);
    if (PyDate_Check(o))
        return cbor_date(c, o);
    if (PyObject_TypeCheck(o, (PyTypeObject *)cs->UUID)) {
        unsigned char u[16];
        if (zpy_uuid_to_bytes(cs, o, u) < 0 || put_head(&c->out, ZLMDB__CBOR_MT_TAG, 37) < 0)
            return -1;
        return put_string(&c->out, ZLMDB__CBOR_MT_BYTES, u, 16);
    }
    if (PyObject_TypeCheck(o, (PyTypeObject *)cs->Decimal))
        return cbor_decimal(c, o);
    if (o == cs->undefined)
        return put_simple(&c->out, ZLMDB__CBOR_UNDEFINED);
    if (PyObject_TypeCheck(o, (PyTypeObject *)cs->CBORTag)) {
        PyObject *tag = PyObject_GetAttr(o, cs->s_tag), *val;
        unsigned long long t;
        int rc;
        if (tag == NULL)
            return -1;
        if (!PyLong_Check(tag)) {
            Py_DECREF(tag);
            PyErr_SetString(PyExc_TypeError, "CBORTag.tag must be an int");
            return -1;
        }
        t = PyLong_AsUnsignedLongLong(tag);
        Py_DECREF(tag);
        if (t == (unsigned long long)-1 && PyErr_Occurred()) {
            PyErr_Clear();
            PyErr_SetString(PyExc_ValueError, "CBORTag.tag must be an int in 0 .. 2**64-1");
            return -1;
        }
        val = PyObject_GetAttr(o, cs->s_value);
        if (val == NULL || put_head(&c->out, ZLMDB__CBOR_MT_TAG, t) < 0 || enter(c, o) < 0) {
            Py_XDECREF(val);
            return -1;
        }
        rc = cbor_enc(c, val);
        Py_DECREF(val);
        c->depth--;
        return rc;
    }
    if (PyObject_TypeCheck(o, (PyTypeObject *)cs->CBORSimpleValue)) {
        PyObject *val = PyObject_GetAttr(o, cs->s_value);
        long v;
        if (val == NULL)
            return -1;
        v = PyLong_AsLong(val);
        Py_DECREF(val);
        if (v == -1 && PyErr_Occurred())
            return -1;
        if (v < 0 || v > 255 || (v >= 20 && v < 32)) {
            PyErr_SetString(PyExc_ValueError, "simple value out of range");
            return -1;
        }
        return put_simple(&c->out, (unsigned)v);
    }
    if (c->deflt != NULL) {
        PyObject *r;
        int rc;
        if (enter(c, o) < 0)
            return -1;
        r = PyObject_CallOneArg(c->deflt, o);
        if (r == NULL)
            return -1;
        rc = cbor_enc(c, r);
        Py_DECREF(r);
        c->depth--;
        return rc;
    }
    PyErr_Format(PyExc_TypeError, "cannot encode type %R", (PyObject *)tp);
    return -1;
}

static int cbor_enc(cenc *c, PyObject *o)
{
    PyTypeObject *tp = Py_TYPE(o);

    if (tp == &PyUnicode_Type)
        return cbor_str(&c->out, o);
    if (tp == &PyLong_Type)
        return cbor_int(&c->out, o);
    if (tp == &PyDict_Type)
        return cbor_map(c, o);
    if (tp == &PyFloat_Type)
        return cbor_double(&c->out, PyFloat_AS_DOUBLE(o));
    if (o == Py_None)
        return put_simple(&c->out, ZLMDB__CBOR_NULL);
    if (tp == &PyBool_Type)
        return put_simple(&c->out, o == Py_True ? ZLMDB__CBOR_TRUE : ZLMDB__CBOR_FALSE);
    if (tp == &PyList_Type || tp == &PyTuple_Type)
        return cbor_seq(c, o);
    if (tp == &PyBytes_Type)
        return put_string(&c->out, ZLMDB__CBOR_MT_BYTES, PyBytes_AS_STRING(o), (size_t)PyBytes_GET_SIZE(o));
    return cbor_slow(c, o);
}

static int parse_default(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                         const char *fname, PyObject **deflt)
{
    Py_ssize_t i, nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;

    *deflt = NULL;
    if (nargs != 1) {
        PyErr_Format(PyExc_TypeError, "%s() takes exactly 1 positional argument (%zd given)",
                     fname, nargs);
        return -1;
    }
    for (i = 0; i < nkw; i++) {
        PyObject *k = PyTuple_GET_ITEM(kwnames, i);
        if (PyUnicode_CompareWithASCIIString(k, "default") != 0) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'",
                         fname, k);
            return -1;
        }
        *deflt = args[nargs + i] == Py_None ? NULL : args[nargs + i];
    }
    return 0;
}

static PyObject *cbor_dumps(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                            PyObject *kwnames)
{
    zpy_codec_state *cs = zpy_codec_ready(module);
    PyObject *res = NULL;
    cenc cbuf, *c = &cbuf; /* on the stack: no malloc per call */

    if (cs == NULL)
        return NULL;
    c->cs = cs;
    c->depth = 0;
    zpy_obuf_init(&c->out);
    c->out.hint = cs->cbor_out_hint;
    if (parse_default(args, nargs, kwnames, "cbor_dumps", &c->deflt) == 0 &&
        cbor_enc(c, args[0]) == 0) {
        zpy_obuf_learn(&c->out, &cs->cbor_out_hint);
        res = zpy_obuf_take_bytes(&c->out);
    }
    zpy_obuf_free(&c->out);
    return res;
}

/* ============================================================ CBOR decode */

enum { F_ARRAY, F_MAP, F_TAG, F_STRING };

typedef struct {
    PyObject *obj;       /**< list / dict; NULL for tags and strings */
    PyObject *key;       /**< map: the key waiting for its value */
    Py_ssize_t idx;      /**< definite array: next index; -1 indefinite */
    uint64_t tag;
    unsigned char kind;
    unsigned char immutable; /**< build hashable values (map keys, tag content) */
    unsigned char text;  /**< F_STRING: text (else bytes) */
} dframe;

typedef struct {
    zpy_codec_state *cs;
    dframe *st;          /**< `inl`, or the heap beyond 32 levels */
    size_t n, cap;
    dframe inl[32];
    zpy_obuf sbuf;       /**< indefinite string chunks */
    size_t offset;       /**< offset of the current item, for messages */
} cdec;

static ZPY_NOINLINE PyObject *cbor_decode_error(zpy_codec_state *cs, const char *msg,
                                                size_t pos)
{
    PyObject *exc = PyObject_CallFunction(cs->CBORDecodeError, "sn", msg, (Py_ssize_t)pos);
    if (exc != NULL) {
        PyErr_SetObject(cs->CBORDecodeError, exc);
        Py_DECREF(exc);
    }
    return NULL;
}

/* Re-raise a Python error met while building a tagged value as a decode
 * error, as cbor2 does ("error decoding X"). */
static PyObject *tag_error(cdec *d, const char *what)
{
    char msg[128];
    PyErr_Clear();
    snprintf(msg, sizeof msg, "error decoding %s", what);
    return cbor_decode_error(d->cs, msg, d->offset);
}

static int push(cdec *d, unsigned char kind, PyObject *obj, int immutable)
{
    dframe *f;
    if (d->n == d->cap) {
        size_t cap = d->cap * 2;
        dframe *p = d->st == d->inl ? PyMem_Malloc(cap * sizeof *p)
                                    : PyMem_Realloc(d->st, cap * sizeof *p);
        if (p == NULL) {
            Py_XDECREF(obj);
            PyErr_NoMemory();
            return -1;
        }
        if (d->st == d->inl)
            memcpy(p, d->inl, sizeof d->inl);
        d->st = p;
        d->cap = cap;
    }
    f = &d->st[d->n++];
    f->obj = obj;
    f->key = NULL;
    f->idx = 0;
    f->tag = 0;
    f->kind = kind;
    f->immutable = (unsigned char)immutable;
    f->text = 0;
    return 0;
}

/* Whether a container starting now must be hashable. */
static inline int ctx_immutable(cdec *d)
{
    dframe *f;
    if (d->n == 0)
        return 0;
    f = &d->st[d->n - 1];
    if (f->immutable)
        return 1;
    if (f->kind == F_MAP && f->key == NULL)
        return 1;
    return f->kind == F_TAG;
}

/* The one form cbor2 writes for an aware datetime, without a Python call
 * (pyconv.h). */
int zpy_rfc3339_datetime(zpy_codec_state *cs, const char *p, size_t n, PyObject **out)
{
    zlmdb__datetime t;
    int tzm;
    PyObject *tz;

    /* the form's reader is libzlmdb's (codec_int.h), shared with PyPy's binding */
    if (!zlmdb__datetime_parse((const unsigned char *)p, n, &t))
        return 0;
    tzm = (int)(t.offset_us / 60000000);
    if (tzm == 0) {
        tz = Py_NewRef(cs->utc);
    } else if (cs->tz_last != NULL && cs->tz_last_minutes == tzm) {
        tz = Py_NewRef(cs->tz_last);
    } else {
        PyObject *delta = PyDelta_FromDSU(0, tzm * 60, 0);
        if (delta == NULL)
            return -1;
        tz = PyTimeZone_FromOffset(delta);
        Py_DECREF(delta);
        if (tz == NULL)
            return -1;
        Py_XSETREF(cs->tz_last, Py_NewRef(tz));
        cs->tz_last_minutes = tzm;
    }
    *out = PyDateTimeAPI->DateTime_FromDateAndTime(t.year, t.month, t.day, t.hour, t.minute,
                                                   t.second, t.microsecond, tz,
                                                   PyDateTimeAPI->DateTimeType);
    Py_DECREF(tz);
    return *out != NULL ? 1 : -1;
}

static PyObject *apply_tag(cdec *d, uint64_t tag, PyObject *v, int immutable)
{
    zpy_codec_state *cs = d->cs;
    PyObject *r;

    switch (tag) {
    case 0:
        if (!PyUnicode_Check(v))
            return tag_error(d, "string-form datetime");
        /* (cbor2's own form is parsed before a str is made, in cbor_loads) */
        r = PyObject_CallOneArg(cs->dt_fromisoformat, v);
        if (r == NULL || !PyDateTime_Check(r) ||
            ((PyDateTime_DateTime *)r)->hastzinfo == 0) {
            Py_XDECREF(r);
            return tag_error(d, "string-form datetime");
        }
        return r;
    case 1:
        if (!(PyLong_CheckExact(v) || PyFloat_CheckExact(v)))
            return tag_error(d, "epoch-form datetime");
        {
            PyObject *a = PyTuple_Pack(2, v, cs->utc);
            if (a == NULL)
                return NULL;
            r = PyDateTimeAPI->DateTime_FromTimestamp((PyObject *)PyDateTimeAPI->DateTimeType,
                                                      a, NULL);
            Py_DECREF(a);
        }
        return r ? r : tag_error(d, "epoch-form datetime");
    case 2:
    case 3:
        if (!PyBytes_CheckExact(v))
            return tag_error(d, tag == 2 ? "positive bignum" : "negative bignum");
        r = _PyLong_FromByteArray((const unsigned char *)PyBytes_AS_STRING(v),
                                  (size_t)PyBytes_GET_SIZE(v), 0, 0);
        if (r != NULL && tag == 3)
            Py_SETREF(r, PyNumber_Invert(r));
        return r;
    case 4: {
        PyObject *s;
        if (!PyTuple_CheckExact(v) || PyTuple_GET_SIZE(v) != 2 ||
            !PyLong_CheckExact(PyTuple_GET_ITEM(v, 0)) ||
            !PyLong_CheckExact(PyTuple_GET_ITEM(v, 1)))
            return tag_error(d, "decimal fraction");
        s = PyUnicode_FromFormat("%SE%S", PyTuple_GET_ITEM(v, 1), PyTuple_GET_ITEM(v, 0));
        if (s == NULL)
            return NULL;
        r = PyObject_CallOneArg(cs->Decimal, s);
        Py_DECREF(s);
        return r ? r : tag_error(d, "decimal fraction");
    }
    case 37:
        if (!PyBytes_CheckExact(v) || PyBytes_GET_SIZE(v) != 16)
            return tag_error(d, "UUID");
        return zpy_uuid_from_bytes(cs, (const unsigned char *)PyBytes_AS_STRING(v));
    case 100: {
        long long days;
        PyObject *o;
        if (!PyLong_CheckExact(v))
            return tag_error(d, "epoch-form date");
        days = PyLong_AsLongLong(v);
        if ((days == -1 && PyErr_Occurred()) || days < -719162 || days > 2932896)
            return tag_error(d, "epoch-form date");
        o = PyLong_FromLongLong(days + 719163);
        if (o == NULL)
            return NULL;
        r = PyObject_CallOneArg(cs->date_fromordinal, o);
        Py_DECREF(o);
        return r ? r : tag_error(d, "epoch-form date");
    }
    case 258:
        if (!PyTuple_CheckExact(v))
            return tag_error(d, "set: input value must be an array");
        r = immutable ? PyFrozenSet_New(v) : PySet_New(v);
        return r ? r : tag_error(d, "set");
    case 1004:
        if (!PyUnicode_Check(v))
            return tag_error(d, "string-form date");
        r = PyObject_CallOneArg(cs->date_fromisoformat, v);
        return r ? r : tag_error(d, "string-form date");
    case 55799:
        return Py_NewRef(v);
    default: {
        PyObject *t = PyLong_FromUnsignedLongLong(tag);
        if (t == NULL)
            return NULL;
        r = PyObject_CallFunctionObjArgs(cs->CBORTag, t, v, NULL);
        Py_DECREF(t);
        return r;
    }
    }
}

/* Hand a finished value (reference stolen) to the innermost container.
 * Returns 1 when it completes the top-level value (*out set), 0, or -1. */
static int emit(cdec *d, PyObject *v, PyObject **out)
{
    for (;;) {
        dframe *f;
        if (v == NULL)
            return -1;
        if (d->n == 0) {
            *out = v;
            return 1;
        }
        f = &d->st[d->n - 1];
        switch (f->kind) {
        case F_ARRAY:
            if (f->idx >= 0) {
                PyList_SET_ITEM(f->obj, f->idx, v);
                f->idx++;
            } else {
                int rc = PyList_Append(f->obj, v);
                Py_DECREF(v);
                if (rc < 0)
                    return -1;
            }
            return 0;
        case F_MAP:
            if (f->key == NULL) {
                f->key = v;
            } else {
                int rc = PyDict_SetItem(f->obj, f->key, v);
                Py_DECREF(v);
                Py_CLEAR(f->key);
                if (rc < 0) {
                    if (PyErr_ExceptionMatches(PyExc_TypeError)) {
                        PyErr_Clear();
                        cbor_decode_error(d->cs, "unhashable map key", d->offset);
                    }
                    return -1;
                }
            }
            return 0;
        case F_TAG: {
            uint64_t tag = f->tag;
            int imm = f->immutable;
            PyObject *r;
            d->n--;
            r = apply_tag(d, tag, v, imm);
            Py_DECREF(v);
            v = r;
            continue;
        }
        default: /* F_STRING gets chunks directly, never values */
            Py_DECREF(v);
            PyErr_SetString(PyExc_SystemError, "CBOR: value inside a string");
            return -1;
        }
    }
}

static PyObject *cbor_pop(cdec *d)
{
    dframe *f = &d->st[--d->n];
    PyObject *v;

    switch (f->kind) {
    case F_ARRAY:
        v = f->obj;
        if (f->immutable) {
            PyObject *t = PyList_AsTuple(v);
            Py_DECREF(v);
            v = t;
        }
        return v;
    case F_MAP:
        Py_XDECREF(f->key);
        return f->obj;
    case F_STRING:
        if (f->text)
            v = PyUnicode_DecodeUTF8((const char *)d->sbuf.p, (Py_ssize_t)d->sbuf.len, NULL);
        else
            v = PyBytes_FromStringAndSize((const char *)d->sbuf.p, (Py_ssize_t)d->sbuf.len);
        d->sbuf.len = 0;
        return v;
    default:
        PyErr_SetString(PyExc_SystemError, "CBOR: unbalanced END");
        return NULL;
    }
}

/* ------------------------------------------- cbor_loads, the fast path */

/* What cbor_dumps (and cbor2) write, read by recursive descent straight
 * from the bytes: definite lengths, ints within 64 bits, floats, text and
 * byte strings, text/int/bytes/float/bool/None map keys, UUIDs (tag 37)
 * and cbor2's datetimes (tag 0).  The first thing it does not take (any
 * other tag, an array or map where a hashable value is needed, an
 * indefinite length, a simple value, malformed, truncated or trailing
 * input, nesting beyond GFAST_MAX_DEPTH) makes it give up with no
 * exception set, and the pull reader below reads the input again; it is
 * the reference for every error.  tests/python/test_codec_cbor.py holds
 * both to the same result (_cbor_loads_pull is the pull path alone). */
typedef struct {
    const unsigned char *p, *end;
    zpy_codec_state *cs;
    int bail;
    int depth;
} gfast;

#define GFAST_MAX_DEPTH 64

static inline int gf_head(gfast *g, unsigned *major, uint64_t *arg)
{
    return zlmdb__cbor_head_at(&g->p, g->end, major, arg);
}

static PyObject *gf_bail(gfast *g)
{
    g->bail = 1;
    return NULL;
}

/* One item; `key`: a map key (hashable, text through the key cache). */
static PyObject *gf_value(gfast *g, int key)
{
    const unsigned char *start = g->p, *s;
    unsigned major;
    uint64_t arg;
    PyObject *res, *v;
    size_t bad;

    if (gf_head(g, &major, &arg) < 0)
        return gf_bail(g);
    switch (major) {
    case 0:
        return PyLong_FromUnsignedLongLong(arg);
    case 1:
        if (arg <= (uint64_t)INT64_MAX)
            return PyLong_FromLongLong(-1 - (long long)arg);
        break;
    case 2:
        if (arg > (uint64_t)(g->end - g->p))
            break;
        s = g->p;
        g->p += arg;
        return PyBytes_FromStringAndSize((const char *)s, (Py_ssize_t)arg);
    case 3:
        if (arg > (uint64_t)(g->end - g->p))
            break;
        s = g->p;
        g->p += arg;
        if (!zlmdb__is_ascii(s, (size_t)arg) && !zlmdb__utf8_check(s, (size_t)arg, &bad))
            break;
        return key ? zpy_key_str(g->cs, (const char *)s, (size_t)arg)
                   : zpy_str_from_valid_utf8((const char *)s, (size_t)arg);
    case 4:
        if (key || arg > (uint64_t)(g->end - g->p) || g->depth >= GFAST_MAX_DEPTH)
            break;
        if ((res = PyList_New((Py_ssize_t)arg)) == NULL)
            return NULL;
        g->depth++;
        for (Py_ssize_t i = 0; i < (Py_ssize_t)arg; i++) {
            if ((v = gf_value(g, 0)) == NULL) {
                Py_DECREF(res);
                return NULL;
            }
            PyList_SET_ITEM(res, i, v);
        }
        g->depth--;
        return res;
    case 5:
        if (key || arg > (uint64_t)(g->end - g->p) / 2 || g->depth >= GFAST_MAX_DEPTH)
            break;
        if ((res = zpy_dict_presized((Py_ssize_t)arg)) == NULL)
            return NULL;
        g->depth++;
        for (uint64_t i = 0; i < arg; i++) {
            PyObject *k = gf_value(g, 1);
            int rc;
            if (k == NULL || (v = gf_value(g, 0)) == NULL) {
                Py_XDECREF(k);
                Py_DECREF(res);
                return NULL;
            }
            rc = PyDict_SetItem(res, k, v);
            Py_DECREF(k);
            Py_DECREF(v);
            if (rc < 0) {
                Py_DECREF(res);
                return NULL;
            }
        }
        g->depth--;
        return res;
    case 6:
        if (arg == 37) {            /* UUID over 16 bytes */
            if (gf_head(g, &major, &arg) < 0 || major != 2 || arg != 16 ||
                g->end - g->p < 16)
                break;
            s = g->p;
            g->p += 16;
            return zpy_uuid_from_bytes(g->cs, s);
        }
        if (arg == 0) {             /* cbor2's datetime text */
            if (gf_head(g, &major, &arg) < 0 || major != 3 ||
                arg > (uint64_t)(g->end - g->p))
                break;
            s = g->p;
            g->p += arg;
            switch (zpy_rfc3339_datetime(g->cs, (const char *)s, (size_t)arg, &v)) {
            case 1:
                return v;
            case -1:
                PyErr_Clear();  /* the pull path words it */
            }
        }
        break;
    case 7:
        switch (start[0] & 31) {
        case 20:
            Py_RETURN_FALSE;
        case 21:
            Py_RETURN_TRUE;
        case 22:
            Py_RETURN_NONE;
        case 23:
            return Py_NewRef(g->cs->undefined);
        case 25:
            return PyFloat_FromDouble(cr_half_to_double((unsigned)arg));
        case 26: {
            uint32_t u32 = (uint32_t)arg;
            float f;
            memcpy(&f, &u32, sizeof f);
            return PyFloat_FromDouble((double)f);
        }
        case 27: {
            double d;
            memcpy(&d, &arg, sizeof d);
            return PyFloat_FromDouble(d);
        }
        }
        break;
    }
    return gf_bail(g);
}

static PyObject *cbor_loads_impl(PyObject *module, PyObject *arg, int fast)
{
    zpy_codec_state *cs = zpy_codec_ready(module);
    zlmdb_cbor_reader r;
    zlmdb_cbor_item it;
    Py_buffer view;
    PyObject *result = NULL;
    cdec d;
    int rc;

    if (cs == NULL || zpy_get_input(arg, &view, "cbor_loads") < 0)
        return NULL;
    if (fast) {
        gfast g = {(const unsigned char *)view.buf,
                   (const unsigned char *)view.buf + view.len, cs, 0, 0};
        result = gf_value(&g, 0);
        if (result != NULL && g.p != g.end) {
            Py_CLEAR(result);   /* trailing bytes: the pull reader words it */
            g.bail = 1;
        }
        if (result != NULL || !g.bail) {
            if (view.obj != NULL)
                PyBuffer_Release(&view);
            return result;
        }
    }
    d.cs = cs;
    d.st = d.inl;
    d.n = 0;
    d.cap = sizeof d.inl / sizeof d.inl[0];
    d.offset = 0;
    zpy_obuf_init(&d.sbuf);
    zlmdb_cbor_reader_init(&r, view.buf, (size_t)view.len, ZPY_CODEC_MAX_DEPTH);
    for (;;) {
        PyObject *v;
        int e;
        rc = zlmdb__cbor_next(&r, &it); /* zlmdb_cbor_reader_next(), inlined */
        if (rc != 0)
            break;
        d.offset = it.offset;
        switch (it.kind) {
        case ZLMDB_CBOR_UINT:
            v = PyLong_FromUnsignedLongLong(it.u);
            break;
        case ZLMDB_CBOR_NEGINT:
            if (it.u <= (uint64_t)INT64_MAX) {
                v = PyLong_FromLongLong(-1 - (long long)it.u);
            } else {
                PyObject *t = PyLong_FromUnsignedLongLong(it.u);
                v = t ? PyNumber_Invert(t) : NULL;
                Py_XDECREF(t);
            }
            break;
        case ZLMDB_CBOR_BYTES:
        case ZLMDB_CBOR_TEXT:
            if (it.indefinite) {
                if (push(&d, F_STRING, NULL, 0) < 0)
                    goto fail;
                d.st[d.n - 1].text = it.kind == ZLMDB_CBOR_TEXT;
                continue;
            }
            if (d.n && d.st[d.n - 1].kind == F_STRING) {
                if (zpy_obuf_reserve(&d.sbuf, it.len) < 0)
                    goto fail;
                memcpy(d.sbuf.p + d.sbuf.len, it.data, it.len);
                d.sbuf.len += it.len;
                continue;
            }
            if (it.kind == ZLMDB_CBOR_TEXT && d.n && d.st[d.n - 1].kind == F_TAG &&
                d.st[d.n - 1].tag == 0) {
                /* A string-form datetime in cbor2's form: no str, no call. */
                e = zpy_rfc3339_datetime(cs, (const char *)it.data, it.len, &v);
                if (e < 0) {
                    tag_error(&d, "string-form datetime");
                    goto fail;
                }
                if (e == 1) {
                    d.n--; /* the tag is applied */
                    break;
                }
            }
            if (it.kind == ZLMDB_CBOR_TEXT && d.n && d.st[d.n - 1].kind == F_MAP &&
                d.st[d.n - 1].key == NULL)
                v = zpy_key_str(cs, (const char *)it.data, it.len);
            else if (it.kind == ZLMDB_CBOR_TEXT)
                v = zpy_str_from_valid_utf8((const char *)it.data, it.len);
            else
                v = PyBytes_FromStringAndSize((const char *)it.data, (Py_ssize_t)it.len);
            break;
        case ZLMDB_CBOR_ARRAY: {
            PyObject *l = PyList_New(it.indefinite ? 0 : (Py_ssize_t)it.u);
            if (l == NULL || push(&d, F_ARRAY, l, ctx_immutable(&d)) < 0)
                goto fail;
            d.st[d.n - 1].idx = it.indefinite ? -1 : 0;
            continue;
        }
        case ZLMDB_CBOR_MAP: {
            PyObject *m = zpy_dict_presized(it.indefinite ? 0 : (Py_ssize_t)it.u);
            if (m == NULL || push(&d, F_MAP, m, ctx_immutable(&d)) < 0)
                goto fail;
            continue;
        }
        case ZLMDB_CBOR_TAG:
            if (push(&d, F_TAG, NULL, ctx_immutable(&d)) < 0)
                goto fail;
            d.st[d.n - 1].tag = it.u;
            continue;
        case ZLMDB_CBOR_END:
            v = cbor_pop(&d);
            break;
        case ZLMDB_CBOR_FLOAT:
            v = PyFloat_FromDouble(it.f);
            break;
        case ZLMDB_CBOR_FALSE:
            v = Py_NewRef(Py_False);
            break;
        case ZLMDB_CBOR_TRUE:
            v = Py_NewRef(Py_True);
            break;
        case ZLMDB_CBOR_NULL:
            v = Py_NewRef(Py_None);
            break;
        case ZLMDB_CBOR_UNDEFINED:
            v = Py_NewRef(cs->undefined);
            break;
        case ZLMDB_CBOR_SIMPLE: {
            PyObject *t = PyLong_FromUnsignedLongLong(it.u);
            v = t ? PyObject_CallOneArg(cs->CBORSimpleValue, t) : NULL;
            Py_XDECREF(t);
            break;
        }
        default:
            PyErr_SetString(PyExc_SystemError, "CBOR: unexpected item");
            goto fail;
        }
        e = emit(&d, v, &result);
        if (e < 0)
            goto fail;
        if (e == 1)
            break;
    }
    if (rc == 0)
        rc = zlmdb_cbor_reader_finish(&r);
    if (rc != 0) {
        const char *msg = zlmdb_error_last();
        Py_CLEAR(result);
        cbor_decode_error(cs, msg ? msg : zlmdb_strerror(rc), r.error_offset);
    }
    goto out;
fail:
    Py_CLEAR(result);
out:
    while (d.n > 0) {
        dframe *f = &d.st[--d.n];
        Py_XDECREF(f->obj);
        Py_XDECREF(f->key);
    }
    if (d.st != d.inl)
        PyMem_Free(d.st);
    zpy_obuf_free(&d.sbuf);
    zlmdb_cbor_reader_dispose(&r);
    if (view.obj != NULL)
        PyBuffer_Release(&view);
    return result;
}

static PyObject *cbor_loads(PyObject *module, PyObject *arg)
{
    return cbor_loads_impl(module, arg, 1);
}

/* _cbor_loads_pull(data): cbor_loads by the pull reader alone (tests). */
static PyObject *cbor_loads_pull(PyObject *module, PyObject *arg)
{
    return cbor_loads_impl(module, arg, 0);
}

/* ============================================================ module glue */

static PyObject *codec_setup(PyObject *module, PyObject *args)
{
    zpy_state *st = PyModule_GetState(module);
    zpy_codec_state *cs = &st->codec;
    PyObject *tag, *simple, *undef, *derr;

    if (!PyArg_ParseTuple(args, "OOOO:_codec_setup", &tag, &simple, &undef, &derr))
        return NULL;
    if (!PyType_Check(tag) || !PyType_Check(simple) || !PyType_Check(derr)) {
        PyErr_SetString(PyExc_TypeError, "_codec_setup: classes expected");
        return NULL;
    }
    Py_XSETREF(cs->CBORTag, Py_NewRef(tag));
    Py_XSETREF(cs->CBORSimpleValue, Py_NewRef(simple));
    Py_XSETREF(cs->undefined, Py_NewRef(undef));
    Py_XSETREF(cs->CBORDecodeError, Py_NewRef(derr));
    Py_RETURN_NONE;
}

/* _codec_layouts() -> {"dict": bool, "u128": bool}: whether the checks at
 * init let the codecs read dict tables and UUID ints themselves (tests). */
static PyObject *codec_layouts(PyObject *module, PyObject *unused)
{
    zpy_state *st = PyModule_GetState(module);
    (void)unused;
    return Py_BuildValue("{sOsO}", "dict", st->codec.dict_layout ? Py_True : Py_False,
                         "u128", st->codec.u128_layout ? Py_True : Py_False);
}

PyDoc_STRVAR(cbor_dumps_doc,
"cbor_dumps(obj, /, *, default=None)\n--\n\n"
"Encode obj as CBOR, byte for byte as cbor2.dumps(obj) (default options).\n\n"
"Supported: None, bool, int (any size: tags 2/3 beyond 64 bits), float\n"
"(8-byte doubles; NaN/inf as half floats), str, bytes, bytearray, list,\n"
"tuple, dict (insertion order), set/frozenset (tag 258), aware datetime\n"
"(tag 0), date (tag 1004), uuid.UUID (tag 37), decimal.Decimal (tag 4),\n"
"CBORTag, CBORSimpleValue, undefined, and subclasses of these.\n\n"
"default(obj) is called for any other object and must return an encodable\n"
"replacement (cbor2's hook is default(encoder, obj) instead).\n\n"
"Raises TypeError for an unsupported type (\"cannot encode type ...\"),\n"
"ValueError for a naive datetime or a cyclic structure (\"cyclic data\n"
"structure detected\"), RecursionError beyond MAX_DEPTH nested levels.");

PyDoc_STRVAR(cbor_loads_doc,
"cbor_loads(data, /)\n--\n\n"
"Decode one CBOR item from a bytes-like object, as cbor2.loads.\n\n"
"Interpreted tags: 0/1 (datetime), 2/3 (bignum), 4 (Decimal), 37 (UUID),\n"
"100/1004 (date), 258 (set; frozenset where a hashable value is needed),\n"
"55799 (self-describe, dropped).  Other tags give CBORTag.  Arrays become\n"
"lists, or tuples where a hashable value is needed (map keys, set members,\n"
"tag content), as in cbor2.\n\n"
"Raises CBORDecodeError (a ValueError with .pos, the byte offset) for\n"
"malformed or truncated input, trailing bytes, nesting beyond MAX_DEPTH,\n"
"a tag over the wrong kind of item, or a map used as a map key.");

PyDoc_STRVAR(json_dumps_doc,
"json_dumps(obj, /, *, default=None)\n--\n\n"
"Return json.dumps(obj, separators=(\",\", \":\"), ensure_ascii=False).\n\n"
"Same types (subclasses of str/int/float/list/tuple/dict included), dict key\n"
"coercion (str, int, float, bool and None keys), float text (repr; NaN,\n"
"Infinity) and errors: TypeError \"Object of type X is not JSON\n"
"serializable\", ValueError \"Circular reference detected\", RecursionError\n"
"beyond MAX_DEPTH levels.  default(obj) is called for other objects.");

PyDoc_STRVAR(json_dumpb_doc,
"json_dumpb(obj, /, *, default=None)\n--\n\n"
"json_dumps(obj) as UTF-8 bytes, without the intermediate str.");

PyDoc_STRVAR(json_loads_doc,
"json_loads(data, /)\n--\n\n"
"Parse JSON from a str or UTF-8 bytes/bytearray/memoryview, as json.loads.\n\n"
"Raises json.JSONDecodeError (a ValueError) whose pos counts characters\n"
"for str input and bytes for bytes input.  Unlike json.loads, bytes must be\n"
"UTF-8 (a UTF-8 BOM is skipped; UTF-16/32 are not detected), and nesting\n"
"beyond MAX_DEPTH is a JSONDecodeError rather than a RecursionError.");

PyMethodDef zpy_codec_methods[] = {
    {"cbor_dumps", (PyCFunction)(void (*)(void))cbor_dumps, METH_FASTCALL | METH_KEYWORDS,
     cbor_dumps_doc},
    {"cbor_loads", (PyCFunction)cbor_loads, METH_O, cbor_loads_doc},
    {"json_dumps", (PyCFunction)(void (*)(void))zpy_json_dumps,
     METH_FASTCALL | METH_KEYWORDS, json_dumps_doc},
    {"json_dumpb", (PyCFunction)(void (*)(void))zpy_json_dumpb,
     METH_FASTCALL | METH_KEYWORDS, json_dumpb_doc},
    {"json_loads", (PyCFunction)zpy_json_loads, METH_O, json_loads_doc},
    {"_codec_setup", (PyCFunction)codec_setup, METH_VARARGS,
     "_codec_setup(CBORTag, CBORSimpleValue, undefined, CBORDecodeError): called by "
     "zlmdb.codec"},
    {"_json_loads_pull", (PyCFunction)zpy_json_loads_pull, METH_O,
     "_json_loads_pull(data): json_loads without its fast path (tests)"},
    {"_cbor_loads_pull", (PyCFunction)cbor_loads_pull, METH_O,
     "_cbor_loads_pull(data): cbor_loads without its fast path (tests)"},
    {"_codec_layouts", codec_layouts, METH_NOARGS,
     "_codec_layouts() -> {'dict': bool, 'u128': bool}: the layout checks' results (tests)"},
    {NULL, NULL, 0, NULL}
};

/* The offset of an object slot (a __slots__ member) of a class, or 0 when
 * `name` is not one (e.g. another uuid implementation): then the decoder
 * sets the attribute the generic way. */
static Py_ssize_t slot_offset(PyObject *cls, const char *name)
{
    PyObject *descr;
    Py_ssize_t off = 0;

    if (!PyType_Check(cls))
        return 0;
    descr = PyDict_GetItemString(((PyTypeObject *)cls)->tp_dict, name); /* borrowed */
    if (descr != NULL && Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
        PyMemberDef *m = ((PyMemberDescrObject *)descr)->d_member;
        if (m->type == T_OBJECT_EX && !(m->flags & READONLY) && m->offset > 0)
            off = m->offset;
    }
    return off;
}

/* Both walks of `d` yield the same items in the same order. */
static int dict_walks_agree(zpy_codec_state *cs, PyObject *d)
{
    Py_ssize_t p1 = 0, p2 = 0;
    PyObject *k1, *v1, *k2, *v2;
    int more;

    do {
        more = PyDict_Next(d, &p1, &k1, &v1);
        if (zpy_dict_next(cs, d, &p2, &k2, &v2) != more || p1 != p2)
            return 0;
        if (more && (k1 != k2 || v1 != v2))
            return 0;
    } while (more);
    return 1;
}

int zpy_dict_layout_check(zpy_codec_state *cs)
{
    PyObject *d[2] = {NULL, NULL}, *k = NULL;
    int i, rc = -1;

    cs->dict_layout = 1;
    /* {str: int} (str-keys table) and {int: str} (general table), 40
     * entries (a 64-slot table: one-byte indices), the 11th deleted */
    for (i = 0; i < 2; i++)
        if ((d[i] = PyDict_New()) == NULL)
            goto out;
    for (i = 0; i < 40; i++) {
        PyObject *n = PyLong_FromLong(i), *s = PyUnicode_FromFormat("k%d", i);
        int bad = n == NULL || s == NULL || PyDict_SetItem(d[0], s, n) < 0 ||
                  PyDict_SetItem(d[1], n, s) < 0;
        Py_XDECREF(n);
        Py_XDECREF(s);
        if (bad)
            goto out;
    }
    if ((k = PyLong_FromLong(10)) == NULL || PyDict_DelItem(d[1], k) < 0 ||
        PyDict_DelItemString(d[0], "k10") < 0)
        goto out;
    cs->dict_layout = dict_walks_agree(cs, d[0]) && dict_walks_agree(cs, d[1]);
    rc = 0;
out:
    if (rc < 0)
        cs->dict_layout = 0;
    Py_XDECREF(k);
    Py_XDECREF(d[0]);
    Py_XDECREF(d[1]);
    return rc;
}

int zpy_codec_init(PyObject *module, zpy_codec_state *cs)
{
    PyObject *safe;

    memset(cs, 0, sizeof *cs);
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL)
        return -1;
    if ((cs->UUID = import_attr("uuid", "UUID")) == NULL ||
        (safe = import_attr("uuid", "SafeUUID")) == NULL)
        return -1;
    cs->safe_unknown = PyObject_GetAttrString(safe, "unknown");
    Py_DECREF(safe);
    cs->uuid_int_off = slot_offset(cs->UUID, "int");
    cs->uuid_safe_off = slot_offset(cs->UUID, "is_safe");
    if (cs->uuid_int_off == 0 || cs->uuid_safe_off == 0)
        cs->uuid_int_off = cs->uuid_safe_off = 0;
    if (cs->safe_unknown == NULL ||
        (cs->Decimal = import_attr("decimal", "Decimal")) == NULL)
        return -1;
    cs->dt_fromisoformat =
        PyObject_GetAttrString((PyObject *)PyDateTimeAPI->DateTimeType, "fromisoformat");
    cs->date_fromisoformat =
        PyObject_GetAttrString((PyObject *)PyDateTimeAPI->DateType, "fromisoformat");
    cs->date_fromordinal =
        PyObject_GetAttrString((PyObject *)PyDateTimeAPI->DateType, "fromordinal");
    cs->utc = Py_NewRef(PyDateTimeAPI->TimeZone_UTC);
    cs->int64 = PyLong_FromLong(64);
    if (!cs->dt_fromisoformat || !cs->date_fromisoformat || !cs->date_fromordinal ||
        !cs->int64)
        return -1;
    if (!(cs->s_int = PyUnicode_InternFromString("int")) ||
        !(cs->s_is_safe = PyUnicode_InternFromString("is_safe")) ||
        !(cs->s_isoformat = PyUnicode_InternFromString("isoformat")) ||
        !(cs->s_utcoffset = PyUnicode_InternFromString("utcoffset")) ||
        !(cs->s_as_tuple = PyUnicode_InternFromString("as_tuple")) ||
        !(cs->s_tag = PyUnicode_InternFromString("tag")) ||
        !(cs->s_value = PyUnicode_InternFromString("value")))
        return -1;
    if (zpy_dict_layout_check(cs) < 0 || zpy_u128_check(cs) < 0)
        return -1;
    return zpy_key_init(module, cs);
}

#define CODEC_FIELDS(X) \
    X(UUID) X(safe_unknown) X(Decimal) X(dt_fromisoformat) X(date_fromisoformat) \
    X(date_fromordinal) X(utc) X(int64) X(s_int) X(s_is_safe) X(s_isoformat) X(s_utcoffset) \
    X(s_as_tuple) X(s_tag) X(s_value) X(CBORTag) X(CBORSimpleValue) X(undefined) \
    X(CBORDecodeError) X(JSONDecodeError) X(json_loads) X(numpy) X(np_datetime64) \
    X(KeyCodecType) X(tz_last)

int zpy_codec_traverse(zpy_codec_state *cs, visitproc visit, void *arg)
{
#define VISIT(f) Py_VISIT(cs->f);
    CODEC_FIELDS(VISIT)
#undef VISIT
    return 0;
}

void zpy_codec_clear(zpy_codec_state *cs)
{
    size_t i;
#define CLEAR(f) Py_CLEAR(cs->f);
    CODEC_FIELDS(CLEAR)
#undef CLEAR
    for (i = 0; i < ZPY_KEYCACHE_SIZE; i++)
        Py_CLEAR(cs->keycache[i]);
}

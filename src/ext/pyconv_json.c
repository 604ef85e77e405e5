/* The codec bridge, JSON half: writes exactly what
 * json.dumps(obj, separators=(",", ":"), ensure_ascii=False) returns, and
 * reads what json.loads reads, with libzlmdb's JSON pull reader (inlined
 * from json_read_int.h).
 * Same structure as the CBOR half in pyconv.c. */
#include "zpy.h"
#include "codec_int.h"
#include "json_read_int.h"
#include <float.h>
#include <math.h>

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

/* Every byte of a value goes through libzlmdb's JSON writers (codec_int.h,
 * inlined here); these only reserve room in the output buffer first.
 * Punctuation is ours, as the library's encoder API intends. */
static ZPY_NOINLINE int put_escaped_long(zpy_obuf *b, const unsigned char *s, size_t n)
{
    unsigned char *end;
    size_t room;

    /* Most text needs no escape: check and copy in one pass, and only
     * when that finds a byte to escape, write the string again. */
    if (zpy_obuf_reserve(b, n + 2) < 0)
        return -1;
    end = zlmdb__json_quote_if_plain(b->p + b->len, s, n);
    if (end != NULL) {
        b->len = (size_t)(end - b->p);
        return 0;
    }
    room = zlmdb__json_string_room(n, 1);
    if (ZPY_UNLIKELY(room > (size_t)PY_SSIZE_T_MAX)) {
        PyErr_NoMemory();
        return -1;
    }
    if (zpy_obuf_reserve(b, room) < 0)
        return -1;
    b->len = (size_t)(zlmdb__json_quote_escaped(b->p + b->len, s, n) - b->p);
    return 0;
}

ZPY_INLINE int put_escaped(zpy_obuf *b, const unsigned char *s, size_t n)
{
    if (n > 16)
        return put_escaped_long(b, s, n);
    /* keys and short values: one room check for the worst case */
    if (zpy_obuf_reserve(b, 6 * 16 + 2) < 0)
        return -1;
    b->len = (size_t)(zlmdb__json_string(b->p + b->len, s, n, zlmdb__json_needs_escape(s, n)) -
                      b->p);
    return 0;
}

/* Text that is not compact ASCII: its UTF-8 (cached by CPython), or for
 * lone surrogates the generalized UTF-8 that json.dumps's output carries. */
static ZPY_NOINLINE int json_str_other(jenc *c, PyObject *s)
{
    const char *p;
    Py_ssize_t n;
    int rc;

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

ZPY_INLINE int json_str(jenc *c, PyObject *s)
{
    if (ZPY_LIKELY(PyUnicode_IS_COMPACT_ASCII(s)))
        return put_escaped(&c->out, (const unsigned char *)(((PyASCIIObject *)s) + 1),
                           (size_t)((PyASCIIObject *)s)->length);
    return json_str_other(c, s);
}

static inline int put_ch(zpy_obuf *b, char ch)
{
    if (zpy_obuf_reserve(b, 1) < 0)
        return -1;
    b->p[b->len++] = (unsigned char)ch;
    return 0;
}

/* false (0), true (1) or null (2). */
static inline int put_literal(zpy_obuf *b, int v)
{
    if (zpy_obuf_reserve(b, ZLMDB__JSON_LITERAL_MAX) < 0)
        return -1;
    b->len = (size_t)(zlmdb__json_literal(b->p + b->len, v) - b->p);
    return 0;
}

/* Beyond 64 bits: the digits of int.__repr__ (also for subclasses, as
 * json does), which enforces sys.get_int_max_str_digits() like json. */
static ZPY_NOINLINE int json_bigint(zpy_obuf *b, PyObject *v)
{
    PyObject *s = PyLong_Type.tp_repr(v);
    const char *p;
    Py_ssize_t n;
    int rc = -1;
    if (s == NULL)
        return -1;
    p = PyUnicode_AsUTF8AndSize(s, &n);
    if (p != NULL && zpy_obuf_reserve(b, (size_t)n) == 0) {
        memcpy(b->p + b->len, p, (size_t)n);
        b->len += (size_t)n;
        rc = 0;
    }
    Py_DECREF(s);
    return rc;
}

/* An int's sign and magnitude without a call when it is short: 1 for
 * |v| < 2**30 (one 30-bit digit), before 3.12 also up to three 30-bit
 * digits that fit in 64 bits (read from the digits, CPython's layout up to
 * 3.11); else 0 (the caller asks CPython). */
static inline int short_int(PyObject *v, int *neg, uint64_t *mag)
{
#if PY_VERSION_HEX >= 0x030C0000
    Py_ssize_t x;
    if (!PyUnstable_Long_IsCompact((PyLongObject *)v))
        return 0;
    x = PyUnstable_Long_CompactValue((PyLongObject *)v);
    *neg = x < 0;
    *mag = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
    return 1;
#elif PyLong_SHIFT == 30
    Py_ssize_t size = Py_SIZE(v), n = size < 0 ? -size : size;
    const digit *d = ((PyLongObject *)v)->ob_digit;

    *neg = size < 0;
    if (n <= 1) {
        *mag = n ? d[0] : 0;
        return 1;
    }
    if (n == 2) {
        *mag = (uint64_t)d[0] | (uint64_t)d[1] << 30;
        return 1;
    }
    if (n == 3 && d[2] < 16) {
        *mag = (uint64_t)d[0] | (uint64_t)d[1] << 30 | (uint64_t)d[2] << 60;
        return 1;
    }
    return 0;
#else
    (void)v;
    (void)neg;
    (void)mag;
    return 0;
#endif
}

static inline int json_int(zpy_obuf *b, PyObject *v)
{
    int overflow;
    long long x;
    unsigned long long u;
    uint64_t mag;
    int neg;

    if (short_int(v, &neg, &mag)) {
        unsigned char *p;
        if (zpy_obuf_reserve(b, ZLMDB__JSON_INT_MAX + 1) < 0)
            return -1;
        p = b->p + b->len;
        if (neg)
            *p++ = '-';
        b->len = (size_t)(zlmdb__json_uint(p, mag) - b->p);
        return 0;
    }
    x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (ZPY_UNLIKELY(overflow)) {
        /* 2**63 .. 2**64-1 (full 64-bit ids and tokens) without repr() */
        if (overflow > 0) {
            u = PyLong_AsUnsignedLongLong(v);
            if (!(u == (unsigned long long)-1 && PyErr_Occurred())) {
                if (zpy_obuf_reserve(b, ZLMDB__JSON_INT_MAX) < 0)
                    return -1;
                b->len = (size_t)(zlmdb__json_uint(b->p + b->len, (uint64_t)u) - b->p);
                return 0;
            }
            PyErr_Clear();
        }
        return json_bigint(b, v);
    }
    if (x == -1 && PyErr_Occurred())
        return -1;
    if (zpy_obuf_reserve(b, ZLMDB__JSON_INT_MAX) < 0)
        return -1;
    b->len = (size_t)(zlmdb__json_int(b->p + b->len, (int64_t)x) - b->p);
    return 0;
}

/* float.__repr__, as json writes it (NaN and the infinities included). */
static inline int json_double(zpy_obuf *b, double d)
{
    if (zpy_obuf_reserve(b, ZLMDB_JSON_DOUBLE_MAX) < 0)
        return -1;
    b->len += zlmdb_json_format_double(d, (char *)b->p + b->len);
    return 0;
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

/* Returned by json_scalar() for anything but a scalar of an exact builtin
 * type. */
#define JSON_NOT_SCALAR 1

/* Encode o when it is a str, int, float, bool or None of the exact builtin
 * type (which runs no Python code, so `o` needs no reference of our own):
 * 0 or -1; else JSON_NOT_SCALAR and nothing written. */
ZPY_INLINE int json_scalar(jenc *c, PyObject *o)
{
    PyTypeObject *tp = Py_TYPE(o);

    if (tp == &PyUnicode_Type)
        return json_str(c, o);
    if (tp == &PyLong_Type)
        return json_int(&c->out, o);
    if (tp == &PyFloat_Type)
        return json_double(&c->out, PyFloat_AS_DOUBLE(o));
    if (o == Py_None)
        return put_literal(&c->out, 2);
    if (o == Py_True)
        return put_literal(&c->out, 1);
    if (o == Py_False)
        return put_literal(&c->out, 0);
    return JSON_NOT_SCALAR;
}

/* Anything else may run Python code (a default hook may mutate the
 * container it came from): encode it holding a reference. */
static ZPY_NOINLINE int json_held(jenc *c, PyObject *o)
{
    int rc;
    Py_INCREF(o);
    rc = json_enc(c, o);
    Py_DECREF(o);
    return rc;
}

static int json_seq(jenc *c, PyObject *o)
{
    Py_ssize_t i;

    if (jenter(c, o) < 0 || put_ch(&c->out, '[') < 0)
        return -1;
    /* A list's size and items are read afresh each time: a default hook
     * may change the list. */
    for (i = 0; i < Py_SIZE(o); i++) {
        PyObject *it = PyList_Check(o) ? PyList_GET_ITEM(o, i) : PyTuple_GET_ITEM(o, i);
        int rc;
        if (i > 0 && put_ch(&c->out, ',') < 0)
            return -1;
        rc = json_scalar(c, it);
        if (rc == JSON_NOT_SCALAR)
            rc = json_held(c, it);
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
        if (put_literal(&c->out, 1) < 0)
            return -1;
    } else if (k == Py_False) {
        if (put_literal(&c->out, 0) < 0)
            return -1;
    } else if (k == Py_None) {
        if (put_literal(&c->out, 2) < 0)
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

ZPY_INLINE int json_pair(jenc *c, PyObject *k, PyObject *v, int first)
{
    int rc;

    /* The usual key, a short ASCII str: the comma, the key and the colon
     * under one room check. */
    if (ZPY_LIKELY(Py_IS_TYPE(k, &PyUnicode_Type) && PyUnicode_IS_COMPACT_ASCII(k) &&
                   ((PyASCIIObject *)k)->length <= 16)) {
        const unsigned char *s = (const unsigned char *)(((PyASCIIObject *)k) + 1);
        size_t n = (size_t)((PyASCIIObject *)k)->length;
        unsigned char *p;
        if (zpy_obuf_reserve(&c->out, 1 + 6 * 16 + 2 + 1) < 0)
            return -1;
        p = c->out.p + c->out.len;
        if (!first)
            *p++ = ',';
        p = zlmdb__json_needs_escape(s, n) ? zlmdb__json_quote_escaped(p, s, n)
                                           : zlmdb__json_quote_short(p, s, n);
        *p++ = ':';
        c->out.len = (size_t)(p - c->out.p);
        rc = json_scalar(c, v);
        return rc == JSON_NOT_SCALAR ? json_held(c, v) : rc;
    }
    if (!first && put_ch(&c->out, ',') < 0)
        return -1;
    /* Keys of exact builtin types run no Python code and are not used
     * after this; only other keys and non-scalar values need a reference
     * of their own (a default hook may mutate the dict). */
    if (ZPY_LIKELY(Py_IS_TYPE(k, &PyUnicode_Type))) {
        rc = json_str(c, k);
    } else if (is_plain_scalar(k)) {
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
    rc = json_scalar(c, v);
    return rc == JSON_NOT_SCALAR ? json_held(c, v) : rc;
}

static int json_dict(jenc *c, PyObject *o)
{
    if (jenter(c, o) < 0 || put_ch(&c->out, '{') < 0)
        return -1;
    if (PyDict_CheckExact(o)) {
        Py_ssize_t pos = 0, n = PyDict_GET_SIZE(o), seen = 0;
        PyObject *k, *v;
        while (zpy_dict_next(c->cs, o, &pos, &k, &v)) {
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
    int rc = json_scalar(c, o);

    if (rc != JSON_NOT_SCALAR)
        return rc;
    if (tp == &PyDict_Type)
        return json_dict(c, o);
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
    c->out.hint = cs->json_out_hint;
    for (i = 0; i < nkw; i++) {
        PyObject *k = PyTuple_GET_ITEM(kwnames, i);
        if (PyUnicode_CompareWithASCIIString(k, "default") != 0) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'",
                         fname, k);
            goto fail;
        }
        c->deflt = args[nargs + i] == Py_None ? NULL : args[nargs + i];
    }
    if (json_enc(c, args[0]) == 0) {
        zpy_obuf_learn(&c->out, &cs->json_out_hint);
        return 0;
    }
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
        res = zpy_obuf_take_bytes(&c->out);
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

/* A JSON number item as json.loads makes it: ints up to 64 bits and
 * floats by libzlmdb's readers (zlmdb__json_int_value, zlmdb__json_double),
 * the rest by Python.  Declared records' JSON decoder uses it too. */
PyObject *zpy_json_number(const zlmdb_json_item *it)
{
    char tmp[64], *s = tmp;
    PyObject *r;

    if (it->is_float) {
        double d;
        if (zlmdb__json_double(it->str, it->len, &d) == 0)
            return PyFloat_FromDouble(d);
    } else {
        /* Up to 64 bits: no allocation, no string round trip. */
        int neg;
        uint64_t v;
        if (zlmdb__json_int_value(it->str, it->len, &neg, &v)) {
            if (!neg)
                return v <= INT64_MAX ? PyLong_FromLongLong((long long)v)
                                      : PyLong_FromUnsignedLongLong(v);
            if (v <= (uint64_t)INT64_MAX)
                return PyLong_FromLongLong(-(long long)v);
        }
        /* -2**63 and beyond: PyLong_FromString below */
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
 * the input was a str (as json.loads reports it), in bytes otherwise.
 * `open` is the innermost container open at the error ('[', '{' or 0). */
static ZPY_NOINLINE void json_raise(zpy_codec_state *cs, const char *msg, PyObject *input,
                                    const unsigned char *data, size_t len, size_t off,
                                    int open)
{
    char text[256];
    const char *cut;
    PyObject *doc, *exc;
    size_t pos, i;

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
#if PY_VERSION_HEX >= 0x030D0000
    /* json 3.13 and newer report a comma before the bracket that closes its
     * own container ("[1,]", '{"a":1 , }') at the comma, with a message of
     * their own; a mismatched bracket stays an "expected" error there. */
    if (off < len && ((open == '[' && data[off] == ']') || (open == '{' && data[off] == '}'))) {
        size_t j = off;
        while (j > 0 && jr_is_ws(data[j - 1]))
            j--;
        if (j > 0 && data[j - 1] == ',') {
            off = j - 1;
            snprintf(text, sizeof text, "Illegal trailing comma before end of %s",
                     open == '[' ? "array" : "object");
        }
    }
#else
    (void)open;
#endif
    pos = off;      /* bytes input: a byte offset (after the adjustment above) */
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

/* ------------------------------------------------ json_loads' fast path */

/* Recursive descent over the reader's own scanners (string, number,
 * literal), the punctuation by hand: no state machine, no container stack,
 * no event per item.  Values collect on the same value stack as the pull
 * loop below and containers are made by the same vdict()/vlist(), so a
 * result is built exactly as the pull loop builds it.  Any syntax error,
 * nesting beyond GJ_MAX_DEPTH or trailing data makes it give up with no
 * exception set; the pull loop then reads the input again and words the
 * error.  tests/python/test_codec_json_fast.py holds the two to the same
 * result (_json_loads_pull is the pull loop alone). */
#define GJ_MAX_DEPTH 64

typedef struct {
    zlmdb_json_reader r;    /* data, len, pos, the scanners' scratch */
    zpy_codec_state *cs;
    vstack vs;
    int bail, depth;
} gjfast;

static inline int gj_peek(gjfast *j)
{
    return jr_peek(&j->r);
}

/* Push one value (and, in an object, its key before it); -1 on an error
 * or when giving up (j->bail). */
static int gj_value(gjfast *j)
{
    zlmdb_json_reader *r = &j->r;
    zlmdb_json_item it;
    PyObject *v;
    size_t start;
    int c = gj_peek(j);

    it.is_float = 0;
    it.has_surrogates = 0;
    switch (c) {
    case '"':
        if (jr_read_string(r, &it) != 0)
            goto bail;
        v = it.has_surrogates
                ? PyUnicode_DecodeUTF8(it.str, (Py_ssize_t)it.len, "surrogatepass")
                : zpy_str_from_valid_utf8(it.str, it.len);
        return vpush(&j->vs, v);
    case '{':
    case '[':
        if (j->depth >= GJ_MAX_DEPTH)
            goto bail;
        r->pos++;
        start = j->vs.n;
        j->depth++;
        if (gj_peek(j) != (c == '{' ? '}' : ']')) {
            for (;;) {
                int sep;
                if (c == '{') {
                    if (gj_peek(j) != '"' || jr_read_string(r, &it) != 0)
                        goto bail;
                    v = it.has_surrogates
                            ? PyUnicode_DecodeUTF8(it.str, (Py_ssize_t)it.len, "surrogatepass")
                            : zpy_key_str(j->cs, it.str, it.len);
                    if (vpush(&j->vs, v) < 0)
                        return -1;
                    if (gj_peek(j) != ':')
                        goto bail;
                    r->pos++;
                }
                if (gj_value(j) < 0)
                    return -1;
                sep = gj_peek(j);
                if (sep != ',')
                    break;
                r->pos++;
            }
            if (gj_peek(j) != (c == '{' ? '}' : ']'))
                goto bail;
        }
        r->pos++;
        j->depth--;
        return vpush(&j->vs, c == '{' ? vdict(&j->vs, start) : vlist(&j->vs, start));
    case 't':
        if (jr_read_literal(r, "true", 4) != 0)
            goto bail;
        return vpush(&j->vs, Py_NewRef(Py_True));
    case 'f':
        if (jr_read_literal(r, "false", 5) != 0)
            goto bail;
        return vpush(&j->vs, Py_NewRef(Py_False));
    case 'n':
        if (jr_read_literal(r, "null", 4) != 0)
            goto bail;
        return vpush(&j->vs, Py_NewRef(Py_None));
    case 'N':
        if (jr_read_literal(r, "NaN", 3) != 0)
            goto bail;
        return vpush(&j->vs, PyFloat_FromDouble(NAN));
    case 'I':
        if (jr_read_literal(r, "Infinity", 8) != 0)
            goto bail;
        return vpush(&j->vs, PyFloat_FromDouble(INFINITY));
    default:
        if (c == '-' && r->pos + 1 < r->len && r->data[r->pos + 1] == 'I') {
            if (jr_read_literal(r, "-Infinity", 9) != 0)
                goto bail;
            return vpush(&j->vs, PyFloat_FromDouble(-INFINITY));
        }
        if ((c == '-' || (c >= '0' && c <= '9')) && jr_read_number(r, &it) == 0)
            return vpush(&j->vs, zpy_json_number(&it));
    }
bail:
    j->bail = 1;
    return -1;
}

/* The value of data[0..len) by the fast path: NULL with *bail set (and no
 * exception) when the pull loop must read it. */
static PyObject *gj_loads(zpy_codec_state *cs, const unsigned char *data, size_t len,
                          int *bail)
{
    gjfast j;
    PyObject *res = NULL;

    j.cs = cs;
    j.vs.v = NULL;
    j.vs.n = j.vs.cap = 0;
    j.bail = j.depth = 0;
    zlmdb_json_reader_init(&j.r, data, len, ZPY_CODEC_MAX_DEPTH);
    if (gj_value(&j) == 0) {
        if (gj_peek(&j) == -1) {
            res = j.vs.v[0];
            j.vs.n = 0;
        } else {
            j.bail = 1;     /* extra data: the pull loop words it */
        }
    }
    while (j.vs.n > 0)
        Py_DECREF(j.vs.v[--j.vs.n]);
    PyMem_Free(j.vs.v);
    zlmdb_json_reader_dispose(&j.r);
    *bail = j.bail;
    return res;
}

static PyObject *json_loads_impl(PyObject *module, PyObject *arg, int fast)
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
    if (fast) {
        int bail;
        result = gj_loads(cs, data, len, &bail);
        if (result != NULL || !bail) {
            if (view.obj != NULL)
                PyBuffer_Release(&view);
            return result;
        }
    }
    zlmdb_json_reader_init(&r, data, len, ZPY_CODEC_MAX_DEPTH);
    for (;;) {
        PyObject *v;
        rc = zlmdb__json_next(&r, &it); /* zlmdb_json_reader_next(), inlined */
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
            v = zpy_json_number(&it);
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
        json_raise(cs, msg ? msg : zlmdb_strerror(rc), arg, data, len, r.error_offset,
                   r.stack.size ? r.stack.ptr[r.stack.size - 1] : 0);
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

PyObject *zpy_json_loads(PyObject *module, PyObject *arg)
{
    return json_loads_impl(module, arg, 1);
}

/* _json_loads_pull(data): json_loads by the pull loop alone (tests). */
PyObject *zpy_json_loads_pull(PyObject *module, PyObject *arg)
{
    return json_loads_impl(module, arg, 0);
}

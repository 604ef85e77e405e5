/* RecordCodec: declared records encoded and decoded in C.
 *
 * python/zlmdb/_records.py reads a record type once (a dataclass, or a
 * class with __slots__ and annotations) and hands over its fields in
 * declaration order, each with a type spec (kind, optional, sub-spec) and
 * a default.  Per record, this file does all the work:
 *
 *   encode(obj)  reads the attributes (slot offsets, else the generic
 *                getattr) and writes the CBOR or JSON map {field: value}
 *                in declaration order: the bytes cbor_dumps/json_dumpb
 *                write for the dict a `marshal` would return.
 *   decode(data) reads the map with libzlmdb's pull reader (inlined, as in
 *                cbor_loads and json_loads), checks every
 *                key and value against the spec, and only when all of them
 *                fit allocates the object (without __init__) and fills it.
 *
 * Values with no typed fast path here (datetime, date, Any, big ints,
 * indefinite-length CBOR strings) go through the module's own generic
 * codec functions (cbor_dumps/cbor_loads, json_dumpb), so their bytes stay
 * those of the generic path.
 */
#include "zpy.h"
#include "cbor_read_int.h"
#include "json_read_int.h"

#include <datetime.h>

/* Kinds: the numbers of _records.py (K_ANY ...). */
enum { K_ANY, K_INT, K_FLOAT, K_STR, K_BYTES, K_BOOL, K_UUID, K_DATETIME, K_DATE, K_LIST,
       K_DICT, K_RECORD, K_COUNT };

static const char *const kind_names[K_COUNT] = {
    "any value", "int", "float", "str", "bytes", "bool", "uuid.UUID", "datetime.datetime",
    "datetime.date", "list", "dict", "record",
};

#define MAX_SPEC_DEPTH 32

typedef struct rspec {
    int kind;
    int optional;              /**< None is allowed */
    struct rspec *item;        /**< K_LIST/K_DICT: the element spec (owned) */
    PyObject *rec;             /**< K_RECORD: the nested RecordCodec (strong) */
} rspec;

enum { D_REQUIRED, D_VALUE, D_FACTORY };

typedef struct {
    PyObject *name;            /**< the field name (str, strong) */
    const char *utf8;          /**< its UTF-8, borrowed from name */
    Py_ssize_t len;
    zlmdb_buf key;             /**< the encoded key: CBOR text, or JSON "name": */
    Py_ssize_t offset;         /**< the slot's offset in the object, 0: getattr */
    int dkind;                 /**< D_* */
    PyObject *dflt;            /**< the default value or factory (strong) */
    rspec spec;
} rfield;

typedef struct {
    PyObject_HEAD
    PyTypeObject *cls;         /**< the record type (strong) */
    int json;                  /**< JSON, else CBOR */
    Py_ssize_t n;
    rfield *f;
    PyObject *label;           /**< "MapUuidCbor(slot 1) record User", for messages */
    PyObject *err;             /**< RecordDecodeError */
    PyObject *dumps, *loads;   /**< the module's generic codec functions */
    zpy_codec_state *cs;
    PyObject *noargs;          /**< () for object.__new__ */
    Py_ssize_t uuid_int, uuid_safe; /**< uuid.UUID's slot offsets (0: unknown) */
    zlmdb_buf scratch;         /**< encode's output buffer, reused */
    int busy;                  /**< scratch is in use (a re-entrant encode) */
} zpy_Record;

/* ------------------------------------------------------------- errors */

static ZPY_NOINLINE void enc_error(zpy_Record *r, const rfield *f, const char *expect,
                                   PyObject *got)
{
    if (f)
        PyErr_Format(PyExc_TypeError, "%U: field '%U' expects %s, got %.100s", r->label,
                     f->name, expect, Py_TYPE(got)->tp_name);
    else
        PyErr_Format(PyExc_TypeError, "%U: expects %s, got %.100s", r->label, expect,
                     Py_TYPE(got)->tp_name);
}

static ZPY_NOINLINE void dec_error(zpy_Record *r, const rfield *f, const char *fmt,
                                   const char *a, const char *b)
{
    char msg[256];
    snprintf(msg, sizeof(msg), fmt, a, b);
    if (f)
        PyErr_Format(r->err, "%U: field '%U' %s", r->label, f->name, msg);
    else
        PyErr_Format(r->err, "%U: %s", r->label, msg);
}

static const char *spec_name(const rspec *s)
{
    if (s->kind == K_RECORD)
        return zpy_type_name(((zpy_Record *)s->rec)->cls);
    return kind_names[s->kind];
}

/* ------------------------------------------------------------ generic */

/* Append the generic encoding of `v` (cbor_dumps / json_dumpb). */
static int enc_generic(zpy_Record *r, PyObject *v, zlmdb_buf *out)
{
    PyObject *b = PyObject_CallOneArg(r->dumps, v);
    int rc = -1;

    if (b == NULL)
        return -1;
    if (!PyBytes_Check(b))
        PyErr_SetString(PyExc_TypeError, "generic encoder did not return bytes");
    else if (zlmdb_buf_append(out, PyBytes_AS_STRING(b), (size_t)PyBytes_GET_SIZE(b)))
        PyErr_NoMemory();
    else
        rc = 0;
    Py_DECREF(b);
    return rc;
}

static int put(zlmdb_buf *out, const void *p, size_t n)
{
    /* in place when there is room (and for the NUL the buffer keeps) */
    if (out->size < out->asize && n < out->asize - out->size) {
        memcpy(out->ptr + out->size, p, n);
        out->size += n;
        out->ptr[out->size] = 0;
        return 0;
    }
    if (zlmdb_buf_append(out, p, n) == 0)
        return 0;
    PyErr_NoMemory();
    return -1;
}

static int ok(int rc)
{
    if (rc == 0)
        return 0;
    if (rc == ZLMDB_ENOMEM)
        PyErr_NoMemory();
    else
        PyErr_Format(PyExc_ValueError, "encoding failed: %s", zlmdb_error_last());
    return -1;
}

/* -------------------------------------------------------------- encode */

static int enc_record(zpy_Record *r, PyObject *obj, zlmdb_buf *out, const rfield *outer);

static int enc_value(zpy_Record *r, const rfield *f, const rspec *s, PyObject *v,
                     zlmdb_buf *out)
{
    int json = r->json;

    if (v == Py_None) {
        if (!s->optional) {
            enc_error(r, f, spec_name(s), v);
            return -1;
        }
        return ok(json ? zlmdb_json_encode_literal(out, 2) : zlmdb_cbor_encode_null(out));
    }
    switch (s->kind) {
    case K_ANY:
        return enc_generic(r, v, out);
    case K_BOOL:
        if (!PyBool_Check(v))
            break;
        return ok(json ? zlmdb_json_encode_literal(out, v == Py_True)
                       : zlmdb_cbor_encode_bool(out, v == Py_True));
    case K_FLOAT:
        if (PyFloat_CheckExact(v)) {
            double d = PyFloat_AS_DOUBLE(v);
            return ok(json ? zlmdb_json_encode_double(out, d) : zlmdb_cbor_encode_double(out, d));
        }
        if (PyFloat_Check(v))
            return enc_generic(r, v, out);
        /* an int in a float field is written (and read back) as an int */
        /* fall through */
    case K_INT:
        if (PyLong_CheckExact(v)) {
            int overflow;
            long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
            if (x == -1 && PyErr_Occurred())
                return -1;
            if (overflow)
                return enc_generic(r, v, out);
            return ok(json ? zlmdb_json_encode_int64(out, x) : zlmdb_cbor_encode_int(out, x));
        }
        if (PyLong_Check(v) && !PyBool_Check(v))
            return enc_generic(r, v, out);
        break;
    case K_STR:
        if (PyUnicode_CheckExact(v)) {
            Py_ssize_t n;
            const char *p = PyUnicode_AsUTF8AndSize(v, &n);
            if (p == NULL)
                return -1;
            return ok(json ? zlmdb_json_encode_string(out, p, (size_t)n)
                           : zlmdb_cbor_encode_text_unchecked(out, p, (size_t)n));
        }
        if (PyUnicode_Check(v))
            return enc_generic(r, v, out);
        break;
    case K_BYTES:
        if (PyBytes_CheckExact(v))
            return ok(zlmdb_cbor_encode_bytes(out, PyBytes_AS_STRING(v),
                                              (size_t)PyBytes_GET_SIZE(v)));
        if (PyBytes_Check(v))
            return enc_generic(r, v, out);
        break;
    case K_UUID:
        if (PyObject_TypeCheck(v, (PyTypeObject *)r->cs->UUID)) {
            unsigned char b[16];
            if (zpy_uuid_to_bytes(r->cs, v, b) < 0)
                return -1;
            return (ok(zlmdb_cbor_encode_tag(out, 37)) || ok(zlmdb_cbor_encode_bytes(out, b, 16)))
                       ? -1 : 0;
        }
        break;
    case K_DATETIME:
        if (PyDateTime_Check(v))
            return enc_generic(r, v, out);
        break;
    case K_DATE:
        if (PyDate_Check(v) && !PyDateTime_Check(v))
            return enc_generic(r, v, out);
        break;
    case K_LIST:
        if (PyList_Check(v) || PyTuple_Check(v)) {
            Py_ssize_t i, n = PySequence_Fast_GET_SIZE(v);
            if (json ? put(out, "[", 1) : ok(zlmdb_cbor_encode_array(out, (uint64_t)n)))
                return -1;
            /* a list may change under us only through the item encoders,
             * which run no Python for typed items; re-read the size anyway */
            for (i = 0; i < PySequence_Fast_GET_SIZE(v); i++) {
                PyObject *item = Py_NewRef(PySequence_Fast_GET_ITEM(v, i));
                int rc = (json && i && put(out, ",", 1)) ||
                         enc_value(r, f, s->item, item, out);
                Py_DECREF(item);
                if (rc)
                    return -1;
            }
            if (i != n) {
                PyErr_Format(PyExc_RuntimeError, "%U: field '%U': list changed size while "
                             "being encoded", r->label, f->name);
                return -1;
            }
            return json ? put(out, "]", 1) : 0;
        }
        break;
    case K_DICT:
        if (PyDict_Check(v)) {
            Py_ssize_t pos = 0, i = 0, n = PyDict_GET_SIZE(v);
            PyObject *k, *item;
            if (json ? put(out, "{", 1) : ok(zlmdb_cbor_encode_map(out, (uint64_t)n)))
                return -1;
            while (PyDict_Next(v, &pos, &k, &item)) {
                Py_ssize_t kn;
                const char *kp;
                int rc;
                if (!PyUnicode_Check(k)) {
                    PyErr_Format(PyExc_TypeError, "%U: field '%U' is a dict[str, ...]; "
                                 "key %R is not a str", r->label, f->name, k);
                    return -1;
                }
                if ((kp = PyUnicode_AsUTF8AndSize(k, &kn)) == NULL)
                    return -1;
                if (json)
                    rc = (i && put(out, ",", 1)) || ok(zlmdb_json_encode_string(out, kp, (size_t)kn))
                         || put(out, ":", 1);
                else
                    rc = ok(zlmdb_cbor_encode_text_unchecked(out, kp, (size_t)kn));
                Py_INCREF(item);
                rc = rc || enc_value(r, f, s->item, item, out);
                Py_DECREF(item);
                if (rc)
                    return -1;
                i++;
            }
            if (i != n) {
                PyErr_Format(PyExc_RuntimeError, "%U: field '%U': dict changed size while "
                             "being encoded", r->label, f->name);
                return -1;
            }
            return json ? put(out, "}", 1) : 0;
        }
        break;
    case K_RECORD:
        return enc_record((zpy_Record *)s->rec, v, out, f);
    }
    enc_error(r, f, spec_name(s), v);
    return -1;
}

static int enc_record(zpy_Record *r, PyObject *obj, zlmdb_buf *out, const rfield *outer)
{
    Py_ssize_t i;

    if (Py_TYPE(obj) != r->cls) {
        if (outer)
            PyErr_Format(PyExc_TypeError, "%U: expects %s, got %.100s", r->label,
                         zpy_type_name(r->cls), Py_TYPE(obj)->tp_name);
        else
            PyErr_Format(PyExc_TypeError, "%U: expects %s, got %.100s (a map stores exactly "
                         "its declared record type)", r->label, zpy_type_name(r->cls),
                         Py_TYPE(obj)->tp_name);
        return -1;
    }
    if (Py_EnterRecursiveCall(" while encoding a record"))
        return -1;
    if (r->json ? put(out, "{", 1) : ok(zlmdb_cbor_encode_map(out, (uint64_t)r->n)))
        goto fail;
    for (i = 0; i < r->n; i++) {
        const rfield *f = &r->f[i];
        PyObject *v;
        int rc;

        if (f->offset) {
            v = *(PyObject **)((char *)obj + f->offset);
            if (v == NULL) {
                PyErr_Format(PyExc_AttributeError, "%U: field '%U' is not set", r->label,
                             f->name);
                goto fail;
            }
            Py_INCREF(v);
        } else if ((v = PyObject_GetAttr(obj, f->name)) == NULL) {
            goto fail;
        }
        rc = (r->json && i && put(out, ",", 1)) || put(out, f->key.ptr, f->key.size) ||
             enc_value(r, f, &f->spec, v, out);
        Py_DECREF(v);
        if (rc)
            goto fail;
    }
    if (r->json && put(out, "}", 1))
        goto fail;
    Py_LeaveRecursiveCall();
    return 0;
fail:
    Py_LeaveRecursiveCall();
    return -1;
}

/* encode(obj) -> bytes */
static PyObject *record_encode(PyObject *op, PyObject *obj)
{
    zpy_Record *r = (zpy_Record *)op;
    zlmdb_buf local = ZLMDB_BUF_INIT, *out = r->busy ? &local : &r->scratch;
    PyObject *res = NULL;
    int mine = !r->busy;

    r->busy = 1;
    zlmdb_buf_clear(out);
    if (enc_record(r, obj, out, NULL) == 0)
        res = PyBytes_FromStringAndSize((const char *)out->ptr, (Py_ssize_t)out->size);
    if (mine) {
        r->busy = 0;
        if (out->asize > 65536)     /* do not keep one huge record's buffer */
            zlmdb_buf_dispose(out);
    } else {
        zlmdb_buf_dispose(&local);
    }
    return res;
}

/* --------------------------------------------------------- build object */

/* The object with its fields set from vals (all of them non-NULL, stolen). */
static PyObject *build(zpy_Record *r, PyObject **vals)
{
    /* object.__new__(cls): no __init__, and (3.11+) the managed dict set up */
    PyObject *obj = PyBaseObject_Type.tp_new(r->cls, r->noargs, NULL);
    Py_ssize_t i;

    if (obj == NULL)
        goto fail;
    for (i = 0; i < r->n; i++) {
        const rfield *f = &r->f[i];
        if (f->offset) {
            PyObject **slot = (PyObject **)((char *)obj + f->offset);
            Py_XSETREF(*slot, vals[i]);
        } else {
            int rc = PyObject_GenericSetAttr(obj, f->name, vals[i]);
            Py_DECREF(vals[i]);
            if (rc < 0) {
                vals[i] = NULL;
                for (i++; i < r->n; i++)
                    Py_CLEAR(vals[i]);
                Py_DECREF(obj);
                return NULL;
            }
        }
        vals[i] = NULL;
    }
    return obj;
fail:
    for (i = 0; i < r->n; i++)
        Py_CLEAR(vals[i]);
    return NULL;
}

/* Fill missing fields from their defaults; -1 (vals kept) when a required
 * one is missing. */
static int fill_defaults(zpy_Record *r, PyObject **vals)
{
    Py_ssize_t i;
    for (i = 0; i < r->n; i++) {
        const rfield *f = &r->f[i];
        if (vals[i])
            continue;
        if (f->dkind == D_VALUE) {
            vals[i] = Py_NewRef(f->dflt);
        } else if (f->dkind == D_FACTORY) {
            if ((vals[i] = PyObject_CallNoArgs(f->dflt)) == NULL)
                return -1;
        } else {
            dec_error(r, f, "is missing (expected %s%s)", spec_name(&f->spec),
                      " with no default");
            return -1;
        }
    }
    return 0;
}

static Py_ssize_t find_field(zpy_Record *r, const char *p, size_t n, Py_ssize_t guess)
{
    Py_ssize_t i;
    if (guess < r->n && (size_t)r->f[guess].len == n && memcmp(r->f[guess].utf8, p, n) == 0)
        return guess;
    for (i = 0; i < r->n; i++)
        if ((size_t)r->f[i].len == n && memcmp(r->f[i].utf8, p, n) == 0)
            return i;
    return -1;
}

static void unknown_key(zpy_Record *r, const char *p, size_t n)
{
    PyObject *k = PyUnicode_DecodeUTF8(p, (Py_ssize_t)n, "replace");
    if (k == NULL)
        return;
    PyErr_Format(r->err, "%U: unknown key %R (the record declares no such field)", r->label, k);
    Py_DECREF(k);
}

static void dup_key(zpy_Record *r, const rfield *f)
{
    PyErr_Format(r->err, "%U: field '%U' appears twice", r->label, f->name);
}

/* A whole record from its fields: vals are released on every path. */
static PyObject *finish(zpy_Record *r, PyObject **vals, int failed)
{
    Py_ssize_t i;
    if (!failed && fill_defaults(r, vals) == 0)
        return build(r, vals);
    for (i = 0; i < r->n; i++)
        Py_CLEAR(vals[i]);
    return NULL;
}

#define INLINE_FIELDS 32

static PyObject **vals_alloc(zpy_Record *r, PyObject **inl)
{
    PyObject **v = inl;
    if (r->n > INLINE_FIELDS && (v = PyMem_Calloc((size_t)r->n, sizeof(*v))) == NULL)
        PyErr_NoMemory();
    else if (v == inl)
        memset(v, 0, sizeof(*v) * INLINE_FIELDS);
    return v;
}

static void vals_free(PyObject **v, PyObject **inl)
{
    if (v != inl)
        PyMem_Free(v);
}

/* Check a generically decoded value against the spec. */
static PyObject *check_generic(zpy_Record *r, const rfield *f, const rspec *s, PyObject *v)
{
    int good;
    if (v == NULL)
        return NULL;
    switch (s->kind) {
    case K_INT: good = PyLong_Check(v) && !PyBool_Check(v); break;
    case K_FLOAT: good = PyFloat_Check(v) || (PyLong_Check(v) && !PyBool_Check(v)); break;
    case K_STR: good = PyUnicode_Check(v); break;
    case K_BYTES: good = PyBytes_Check(v); break;
    case K_DATETIME: good = PyDateTime_Check(v); break;
    case K_DATE: good = PyDate_Check(v) && !PyDateTime_Check(v); break;
    case K_ANY: good = 1; break;
    default: good = 0;
    }
    if (v == Py_None && s->optional)
        good = 1;
    if (!good) {
        dec_error(r, f, "expects %s, found %s", spec_name(s), Py_TYPE(v)->tp_name);
        Py_DECREF(v);
        return NULL;
    }
    return v;
}

/* A uuid.UUID from 16 bytes: its two slots written directly (UUID.__init__
 * with its argument checks is most of the cost otherwise). */
static PyObject *uuid_from_bytes(zpy_Record *r, const unsigned char b[16])
{
    PyTypeObject *tp = (PyTypeObject *)r->cs->UUID;
    PyObject *iv, *u;

    if (!r->uuid_int)
        return zpy_uuid_from_bytes(r->cs, b);
    iv = zpy_u128_from_be(r->cs, b);
    if (iv == NULL)
        return NULL;
    if ((u = tp->tp_alloc(tp, 0)) == NULL) {
        Py_DECREF(iv);
        return NULL;
    }
    *(PyObject **)((char *)u + r->uuid_int) = iv;
    *(PyObject **)((char *)u + r->uuid_safe) = Py_NewRef(r->cs->safe_unknown);
    return u;
}

/* ----------------------------------------------------------- CBOR decode */

typedef struct {
    zlmdb_cbor_reader rd;
    const unsigned char *data;
} cdec;

static const char *cbor_found(const zlmdb_cbor_item *it)
{
    switch (it->kind) {
    case ZLMDB_CBOR_UINT: case ZLMDB_CBOR_NEGINT: return "an integer";
    case ZLMDB_CBOR_BYTES: return "a byte string";
    case ZLMDB_CBOR_TEXT: return "a text string";
    case ZLMDB_CBOR_ARRAY: return "an array";
    case ZLMDB_CBOR_MAP: return "a map";
    case ZLMDB_CBOR_TAG: return "a tagged item";
    case ZLMDB_CBOR_FALSE: case ZLMDB_CBOR_TRUE: return "a bool";
    case ZLMDB_CBOR_NULL: return "null";
    case ZLMDB_CBOR_UNDEFINED: return "undefined";
    case ZLMDB_CBOR_FLOAT: return "a float";
    default: return "a simple value";
    }
}

static int cnext(zpy_Record *r, cdec *d, zlmdb_cbor_item *it)
{
    int rc = zlmdb__cbor_next(&d->rd, it); /* zlmdb_cbor_reader_next(), inlined */
    if (rc == 0 && it->kind != ZLMDB_CBOR_EOF)
        return 0;
    if (rc == ZLMDB_ENOMEM)
        PyErr_NoMemory();
    else
        PyErr_Format(r->err, "%U: stored value is not valid CBOR: %s", r->label,
                     rc ? zlmdb_error_last() : "truncated");
    return -1;
}

/* Read past the rest of the item `it` (its contents, its tagged item). */
static int cskip(zpy_Record *r, cdec *d, const zlmdb_cbor_item *it)
{
    zlmdb_cbor_item x;
    if (it->kind == ZLMDB_CBOR_TAG) {
        if (cnext(r, d, &x) < 0)
            return -1;
        return cskip(r, d, &x);
    }
    if (it->kind == ZLMDB_CBOR_ARRAY || it->kind == ZLMDB_CBOR_MAP ||
        ((it->kind == ZLMDB_CBOR_BYTES || it->kind == ZLMDB_CBOR_TEXT) && it->indefinite)) {
        do {
            if (cnext(r, d, &x) < 0)
                return -1;
        } while (!(x.kind == ZLMDB_CBOR_END && d->rd.depth == it->depth));
    }
    return 0;
}

/* The item `it` through cbor_loads. */
static PyObject *cgeneric(zpy_Record *r, cdec *d, const rfield *f, const rspec *s,
                          const zlmdb_cbor_item *it)
{
    size_t start = it->offset;
    PyObject *b, *v;

    if (cskip(r, d, it) < 0)
        return NULL;
    b = PyBytes_FromStringAndSize((const char *)d->data + start,
                                  (Py_ssize_t)(d->rd.pos - start));
    if (b == NULL)
        return NULL;
    v = PyObject_CallOneArg(r->loads, b);
    Py_DECREF(b);
    return check_generic(r, f, s, v);
}

static PyObject *cdec_record(zpy_Record *r, cdec *d, const zlmdb_cbor_item *it);

/* Tag 0 (a string-form datetime, as cbor2 writes aware datetimes): read
 * as cbor_loads reads it: cbor2's own form in C, any other through
 * datetime.fromisoformat, and only an aware result. */
static PyObject *cdec_datetime(zpy_Record *r, cdec *d, const rfield *f)
{
    zlmdb_cbor_item x;
    PyObject *text, *v;

    if (cnext(r, d, &x) < 0)
        return NULL;
    if (x.kind != ZLMDB_CBOR_TEXT || x.indefinite) {
        dec_error(r, f, "expects datetime.datetime, found tag 0 over %s%s", cbor_found(&x),
                  "");
        return NULL;
    }
    switch (zpy_rfc3339_datetime(r->cs, (const char *)x.data, x.len, &v)) {
    case 1:
        return v;
    case 0:
        if ((text = zpy_str_from_valid_utf8((const char *)x.data, x.len)) == NULL)
            return NULL;
        v = PyObject_CallOneArg(r->cs->dt_fromisoformat, text);
        Py_DECREF(text);
        if (v != NULL && PyDateTime_Check(v) && ((PyDateTime_DateTime *)v)->hastzinfo)
            return v;
        break;
    default: /* the form, with a field out of range */
        v = NULL;
    }
    Py_XDECREF(v);
    PyErr_Clear();
    dec_error(r, f, "expects datetime.datetime, found tag 0 over %s%s",
              "text that is not an ISO 8601 datetime with a UTC offset", "");
    return NULL;
}

static PyObject *cdec_value(zpy_Record *r, cdec *d, const rfield *f, const rspec *s,
                            const zlmdb_cbor_item *it)
{
    zlmdb_cbor_item x;
    PyObject *res, *v;

    if (it->kind == ZLMDB_CBOR_NULL) {
        if (s->optional)
            Py_RETURN_NONE;
        goto mismatch;
    }
    if (s->kind == K_DATETIME && it->kind == ZLMDB_CBOR_TAG && it->u == 0)
        return cdec_datetime(r, d, f);
    /* (indefinite arrays and maps are read below, item by item) */
    if ((it->indefinite && it->kind != ZLMDB_CBOR_ARRAY && it->kind != ZLMDB_CBOR_MAP) ||
        s->kind == K_ANY || s->kind == K_DATETIME || s->kind == K_DATE)
        return cgeneric(r, d, f, s, it);
    switch (s->kind) {
    case K_INT:
    case K_FLOAT:
        if (it->kind == ZLMDB_CBOR_UINT)
            return PyLong_FromUnsignedLongLong(it->u);
        if (it->kind == ZLMDB_CBOR_NEGINT) {
            if (it->u <= (uint64_t)INT64_MAX)
                return PyLong_FromLongLong(-1 - (long long)it->u);
            return cgeneric(r, d, f, s, it);
        }
        if (it->kind == ZLMDB_CBOR_TAG && (it->u == 2 || it->u == 3))
            return cgeneric(r, d, f, s, it);
        if (s->kind == K_FLOAT && it->kind == ZLMDB_CBOR_FLOAT)
            return PyFloat_FromDouble(it->f);
        break;
    case K_STR:
        if (it->kind == ZLMDB_CBOR_TEXT)
            return zpy_str_from_valid_utf8((const char *)it->data, it->len);
        break;
    case K_BYTES:
        if (it->kind == ZLMDB_CBOR_BYTES)
            return PyBytes_FromStringAndSize((const char *)it->data, (Py_ssize_t)it->len);
        break;
    case K_BOOL:
        if (it->kind == ZLMDB_CBOR_TRUE)
            Py_RETURN_TRUE;
        if (it->kind == ZLMDB_CBOR_FALSE)
            Py_RETURN_FALSE;
        break;
    case K_UUID:
        if (it->kind != ZLMDB_CBOR_TAG || it->u != 37)
            break;
        if (cnext(r, d, &x) < 0)
            return NULL;
        if (x.kind != ZLMDB_CBOR_BYTES || x.indefinite || x.len != 16) {
            dec_error(r, f, "expects uuid.UUID (tag 37 over 16 bytes), found tag 37 over %s%s",
                      cbor_found(&x), "");
            return NULL;
        }
        return uuid_from_bytes(r, x.data);
    case K_LIST:
        if (it->kind != ZLMDB_CBOR_ARRAY)
            break;
        if ((res = PyList_New(it->indefinite ? 0 : (Py_ssize_t)it->u)) == NULL)
            return NULL;
        for (Py_ssize_t i = 0;; i++) {
            if (cnext(r, d, &x) < 0)
                goto fail_res;
            if (x.kind == ZLMDB_CBOR_END)
                return res;
            if ((v = cdec_value(r, d, f, s->item, &x)) == NULL)
                goto fail_res;
            if (!it->indefinite) {
                PyList_SET_ITEM(res, i, v);   /* the reader bounds i by it->u */
            } else {
                int rc = PyList_Append(res, v);
                Py_DECREF(v);
                if (rc < 0)
                    goto fail_res;
            }
        }
    case K_DICT:
        if (it->kind != ZLMDB_CBOR_MAP)
            break;
        if ((res = zpy_dict_presized((Py_ssize_t)it->u)) == NULL)
            return NULL;
        for (;;) {
            PyObject *k;
            int rc;
            if (cnext(r, d, &x) < 0)
                goto fail_res;
            if (x.kind == ZLMDB_CBOR_END)
                return res;
            if (x.kind != ZLMDB_CBOR_TEXT || x.indefinite) {
                dec_error(r, f, "expects dict[str, ...], found a key that is %s%s",
                          cbor_found(&x), "");
                goto fail_res;
            }
            if ((k = zpy_key_str(r->cs, (const char *)x.data, x.len)) == NULL)
                goto fail_res;
            if (cnext(r, d, &x) < 0 || (v = cdec_value(r, d, f, s->item, &x)) == NULL) {
                Py_DECREF(k);
                goto fail_res;
            }
            rc = PyDict_SetItem(res, k, v);
            Py_DECREF(k);
            Py_DECREF(v);
            if (rc < 0)
                goto fail_res;
        }
    case K_RECORD:
        if (it->kind != ZLMDB_CBOR_MAP)
            break;
        return cdec_record((zpy_Record *)s->rec, d, it);
    }
mismatch:
    dec_error(r, f, "expects %s, found %s", spec_name(s), cbor_found(it));
    return NULL;
fail_res:
    Py_DECREF(res);
    return NULL;
}

static PyObject *cdec_record(zpy_Record *r, cdec *d, const zlmdb_cbor_item *it)
{
    PyObject *inl[INLINE_FIELDS], **vals, *res;
    zlmdb_cbor_item k, x;
    Py_ssize_t next = 0;
    int failed = 1;

    if (it->kind != ZLMDB_CBOR_MAP) {
        dec_error(r, NULL, "expects a map of the record's fields, found %s%s",
                  cbor_found(it), "");
        return NULL;
    }
    if (Py_EnterRecursiveCall(" while decoding a record"))
        return NULL;
    if ((vals = vals_alloc(r, inl)) == NULL) {
        Py_LeaveRecursiveCall();
        return NULL;
    }
    for (;;) {
        Py_ssize_t i;
        if (cnext(r, d, &k) < 0)
            goto done;
        if (k.kind == ZLMDB_CBOR_END)
            break;
        if (k.kind != ZLMDB_CBOR_TEXT || k.indefinite) {
            dec_error(r, NULL, "has a key that is %s, not a field name%s", cbor_found(&k), "");
            goto done;
        }
        if ((i = find_field(r, (const char *)k.data, k.len, next)) < 0) {
            unknown_key(r, (const char *)k.data, k.len);
            goto done;
        }
        if (vals[i]) {
            dup_key(r, &r->f[i]);
            goto done;
        }
        if (cnext(r, d, &x) < 0 || (vals[i] = cdec_value(r, d, &r->f[i], &r->f[i].spec, &x))
                                       == NULL)
            goto done;
        next = i + 1;
    }
    failed = 0;
done:
    res = finish(r, vals, failed);
    vals_free(vals, inl);
    Py_LeaveRecursiveCall();
    return res;
}

/* ------------------------------------------- CBOR decode, the fast path */

/* Records as the encoders write them (definite lengths, the declared kinds,
 * cbor2's datetime form) are read straight from the bytes here: one
 * switch per item, no pull-reader state.  Whatever this path does not
 * expect (an indefinite length, a simple value, a kind the spec does not
 * take, an unknown or repeated key, malformed or truncated input) makes it
 * give up with no exception set (`bail`), and the record is read again by
 * the pull reader above, which is the reference for every error message.
 * Real errors raised here are those the pull reader's path raises at the
 * same point (the generic codec's, a missing field's, no memory).  A nested
 * record's default_factory may run once here and once more when a later
 * item makes this path give up. */
typedef struct {
    const unsigned char *p, *end;
    int bail;
    int depth;
} cfast;

#define CFAST_MAX_DEPTH 64

/* The head at c->p: major type and argument; -1 (bail) for an indefinite
 * length, a reserved value or a head cut short. */
static inline int cf_head(cfast *c, unsigned *major, uint64_t *arg)
{
    return zlmdb__cbor_head_at(&c->p, c->end, major, arg);
}

static PyObject *cf_bail(cfast *c)
{
    c->bail = 1;
    return NULL;
}

/* `n` bytes of string at c->p, or NULL when fewer remain. */
static inline const unsigned char *cf_take(cfast *c, uint64_t n)
{
    const unsigned char *s = c->p;
    if (n > (uint64_t)(c->end - c->p))
        return NULL;
    c->p += n;
    return s;
}

/* The item starting at `start` through cbor_loads, as cgeneric does: its
 * extent from the pull reader. */
static PyObject *cf_generic(zpy_Record *r, cfast *c, const unsigned char *start,
                            const rfield *f, const rspec *s)
{
    zlmdb_cbor_reader rd;
    zlmdb_cbor_item it;
    PyObject *b, *v;
    int rc;

    if (zlmdb_cbor_reader_init(&rd, start, (size_t)(c->end - start), 0) != 0)
        return cf_bail(c);
    do {
        rc = zlmdb__cbor_next(&rd, &it);
    } while (rc == 0 && !it.done && it.kind != ZLMDB_CBOR_EOF);
    zlmdb_cbor_reader_dispose(&rd);
    if (rc != 0 || !it.done)
        return cf_bail(c);
    c->p = start + rd.pos;
    b = PyBytes_FromStringAndSize((const char *)start, (Py_ssize_t)rd.pos);
    if (b == NULL)
        return NULL;
    v = PyObject_CallOneArg(r->loads, b);
    Py_DECREF(b);
    return check_generic(r, f, s, v);
}

static PyObject *cf_text(cfast *c, uint64_t n)
{
    const unsigned char *t = cf_take(c, n);
    size_t bad;
    if (t == NULL || (!zlmdb__is_ascii(t, (size_t)n) && !zlmdb__utf8_check(t, (size_t)n, &bad)))
        return cf_bail(c);
    return zpy_str_from_valid_utf8((const char *)t, (size_t)n);
}

static PyObject *cf_record(zpy_Record *r, cfast *c, uint64_t npairs);

static PyObject *cf_value(zpy_Record *r, cfast *c, const rfield *f, const rspec *s)
{
    const unsigned char *start = c->p;
    unsigned major;
    uint64_t arg;
    PyObject *res, *v;

    if (cf_head(c, &major, &arg) < 0)
        return cf_bail(c);
    if (major == 7 && arg == 22) {          /* null */
        if (s->optional)
            Py_RETURN_NONE;
        return cf_bail(c);
    }
    switch (s->kind) {
    case K_INT:
    case K_FLOAT:
        if (major == 0)
            return PyLong_FromUnsignedLongLong(arg);
        if (major == 1 && arg <= (uint64_t)INT64_MAX)
            return PyLong_FromLongLong(-1 - (long long)arg);
        if (major == 1 || (major == 6 && (arg == 2 || arg == 3)))
            return cf_generic(r, c, start, f, s);
        if (s->kind == K_FLOAT && major == 7) {
            unsigned ai = start[0] & 31;
            if (ai == 27) {
                double d;
                memcpy(&d, &arg, sizeof d);
                return PyFloat_FromDouble(d);
            }
            if (ai == 26) {
                uint32_t u32 = (uint32_t)arg;
                float fl;
                memcpy(&fl, &u32, sizeof fl);
                return PyFloat_FromDouble((double)fl);
            }
            if (ai == 25)
                return PyFloat_FromDouble(cr_half_to_double((unsigned)arg));
        }
        break;
    case K_STR:
        if (major == 3)
            return cf_text(c, arg);
        break;
    case K_BYTES:
        if (major == 2) {
            const unsigned char *b = cf_take(c, arg);
            if (b == NULL)
                break;
            return PyBytes_FromStringAndSize((const char *)b, (Py_ssize_t)arg);
        }
        break;
    case K_BOOL:
        if (major == 7 && arg == 21)
            Py_RETURN_TRUE;
        if (major == 7 && arg == 20)
            Py_RETURN_FALSE;
        break;
    case K_UUID:
        if (major == 6 && arg == 37 && cf_head(c, &major, &arg) == 0 && major == 2 &&
            arg == 16) {
            const unsigned char *b = cf_take(c, 16);
            if (b != NULL)
                return uuid_from_bytes(r, b);
        }
        break;
    case K_DATETIME:
        if (major == 6 && arg == 0) {
            const unsigned char *t;
            if (cf_head(c, &major, &arg) < 0 || major != 3 || (t = cf_take(c, arg)) == NULL)
                break;
            /* cbor2's own form (ASCII by its shape), else the pull reader */
            switch (zpy_rfc3339_datetime(r->cs, (const char *)t, (size_t)arg, &v)) {
            case 1:
                return v;
            case -1:
                PyErr_Clear();
            }
            break;
        }
        return cf_generic(r, c, start, f, s);
    case K_ANY:
    case K_DATE:
        return cf_generic(r, c, start, f, s);
    case K_LIST:
        if (major != 4 || arg > (uint64_t)(c->end - c->p) || c->depth >= CFAST_MAX_DEPTH)
            break;
        if ((res = PyList_New((Py_ssize_t)arg)) == NULL)
            return NULL;
        c->depth++;
        for (Py_ssize_t i = 0; i < (Py_ssize_t)arg; i++) {
            if ((v = cf_value(r, c, f, s->item)) == NULL) {
                Py_DECREF(res);
                return NULL;
            }
            PyList_SET_ITEM(res, i, v);
        }
        c->depth--;
        return res;
    case K_DICT:
        if (major != 5 || arg > (uint64_t)(c->end - c->p) / 2 || c->depth >= CFAST_MAX_DEPTH)
            break;
        if ((res = zpy_dict_presized((Py_ssize_t)arg)) == NULL)
            return NULL;
        c->depth++;
        for (uint64_t i = 0; i < arg; i++) {
            const unsigned char *t;
            PyObject *k;
            int rc;
            uint64_t n;
            size_t bad;
            if (cf_head(c, &major, &n) < 0 || major != 3 || (t = cf_take(c, n)) == NULL ||
                (!zlmdb__is_ascii(t, (size_t)n) && !zlmdb__utf8_check(t, (size_t)n, &bad))) {
                Py_DECREF(res);
                return cf_bail(c);
            }
            if ((k = zpy_key_str(r->cs, (const char *)t, (size_t)n)) == NULL) {
                Py_DECREF(res);
                return NULL;
            }
            if ((v = cf_value(r, c, f, s->item)) == NULL) {
                Py_DECREF(k);
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
        c->depth--;
        return res;
    case K_RECORD:
        if (major != 5 || c->depth >= CFAST_MAX_DEPTH)
            break;
        c->depth++;
        res = cf_record((zpy_Record *)s->rec, c, arg);
        c->depth--;
        return res;
    }
    return cf_bail(c);
}

static PyObject *cf_record(zpy_Record *r, cfast *c, uint64_t npairs)
{
    PyObject *inl[INLINE_FIELDS], **vals, *res;
    Py_ssize_t next = 0;
    int failed = 1;

    if (npairs > (uint64_t)(c->end - c->p) / 2)
        return cf_bail(c);
    /* as cdec_record: the same recursion accounting, so a RecursionError
     * from an Any field's generic decode reads the same on both paths */
    if (Py_EnterRecursiveCall(" while decoding a record"))
        return NULL;
    if ((vals = vals_alloc(r, inl)) == NULL) {
        Py_LeaveRecursiveCall();
        return NULL;
    }
    for (uint64_t k = 0; k < npairs; k++) {
        unsigned major;
        uint64_t n;
        const unsigned char *t;
        Py_ssize_t i;
        if (cf_head(c, &major, &n) < 0 || major != 3 || (t = cf_take(c, n)) == NULL ||
            (i = find_field(r, (const char *)t, (size_t)n, next)) < 0 || vals[i] != NULL) {
            c->bail = 1;
            goto done;
        }
        if ((vals[i] = cf_value(r, c, &r->f[i], &r->f[i].spec)) == NULL)
            goto done;
        next = i + 1;
    }
    failed = 0;
done:
    res = finish(r, vals, failed);
    vals_free(vals, inl);
    Py_LeaveRecursiveCall();
    return res;
}

/* The whole value as one record by the fast path; NULL with c->bail set
 * (and no exception) when the pull reader must read it. */
static PyObject *cf_decode(zpy_Record *r, cfast *c)
{
    unsigned major;
    uint64_t n;
    PyObject *res;

    if (cf_head(c, &major, &n) < 0 || major != 5)
        return cf_bail(c);
    res = cf_record(r, c, n);
    if (res != NULL && c->p != c->end) {
        Py_DECREF(res);     /* trailing bytes: the pull reader words it */
        return cf_bail(c);
    }
    return res;
}

/* ----------------------------------------------------------- JSON decode */

typedef struct {
    zlmdb_json_reader rd;
} jdec;

static const char *json_found(const zlmdb_json_item *it)
{
    switch (it->kind) {
    case ZLMDB_JSON_OBJECT_START: return "an object";
    case ZLMDB_JSON_ARRAY_START: return "an array";
    case ZLMDB_JSON_STRING: return "a string";
    case ZLMDB_JSON_NUMBER: return it->is_float ? "a float" : "an integer";
    case ZLMDB_JSON_TRUE: case ZLMDB_JSON_FALSE: return "a bool";
    case ZLMDB_JSON_NULL: return "null";
    case ZLMDB_JSON_NAN: case ZLMDB_JSON_INFINITY: case ZLMDB_JSON_NEG_INFINITY:
        return "a float";
    default: return "something else";
    }
}

static int jnext(zpy_Record *r, jdec *d, zlmdb_json_item *it)
{
    int rc = zlmdb__json_next(&d->rd, it); /* zlmdb_json_reader_next(), inlined */
    if (rc == 0 && it->kind != ZLMDB_JSON_EOF)
        return 0;
    if (rc == ZLMDB_ENOMEM)
        PyErr_NoMemory();
    else
        PyErr_Format(r->err, "%U: stored value is not valid JSON: %s", r->label,
                     rc ? zlmdb_error_last() : "truncated");
    return -1;
}

static PyObject *jstr(const zlmdb_json_item *it)
{
    if (it->has_surrogates)
        return PyUnicode_DecodeUTF8(it->str, (Py_ssize_t)it->len, "surrogatepass");
    return zpy_str_from_valid_utf8(it->str, it->len);
}

static PyObject *jdec_record(zpy_Record *r, jdec *d, const zlmdb_json_item *it);

static const rspec any_spec = {K_ANY, 1, NULL, NULL};

static PyObject *jdec_value(zpy_Record *r, jdec *d, const rfield *f, const rspec *s,
                            const zlmdb_json_item *it)
{
    zlmdb_json_item x;
    PyObject *res, *v;
    int any = s->kind == K_ANY;

    switch (it->kind) {
    case ZLMDB_JSON_NULL:
        if (s->optional)
            Py_RETURN_NONE;
        break;
    case ZLMDB_JSON_TRUE:
    case ZLMDB_JSON_FALSE:
        if (any || s->kind == K_BOOL)
            return Py_NewRef(it->kind == ZLMDB_JSON_TRUE ? Py_True : Py_False);
        break;
    case ZLMDB_JSON_NUMBER:
        if (any || s->kind == K_FLOAT || (s->kind == K_INT && !it->is_float))
            return zpy_json_number(it);
        break;
    case ZLMDB_JSON_NAN:
    case ZLMDB_JSON_INFINITY:
    case ZLMDB_JSON_NEG_INFINITY:
        if (any || s->kind == K_FLOAT)
            return PyFloat_FromDouble(it->kind == ZLMDB_JSON_NAN ? Py_NAN :
                                      it->kind == ZLMDB_JSON_INFINITY ? Py_HUGE_VAL
                                                                      : -Py_HUGE_VAL);
        break;
    case ZLMDB_JSON_STRING:
        if (any || s->kind == K_STR)
            return jstr(it);
        break;
    case ZLMDB_JSON_ARRAY_START:
        if (!any && s->kind != K_LIST)
            break;
        if (Py_EnterRecursiveCall(" while decoding JSON"))
            return NULL;
        if ((res = PyList_New(0)) == NULL)
            goto fail_rec;
        for (;;) {
            int rc;
            if (jnext(r, d, &x) < 0)
                goto fail_res;
            if (x.kind == ZLMDB_JSON_ARRAY_END)
                break;
            if ((v = jdec_value(r, d, f, any ? &any_spec : s->item, &x)) == NULL)
                goto fail_res;
            rc = PyList_Append(res, v);
            Py_DECREF(v);
            if (rc < 0)
                goto fail_res;
        }
        Py_LeaveRecursiveCall();
        return res;
    case ZLMDB_JSON_OBJECT_START:
        if (s->kind == K_RECORD)
            return jdec_record((zpy_Record *)s->rec, d, it);
        if (!any && s->kind != K_DICT)
            break;
        if (Py_EnterRecursiveCall(" while decoding JSON"))
            return NULL;
        if ((res = PyDict_New()) == NULL)
            goto fail_rec;
        for (;;) {
            PyObject *k;
            int rc;
            if (jnext(r, d, &x) < 0)
                goto fail_res;
            if (x.kind == ZLMDB_JSON_OBJECT_END)
                break;
            k = x.has_surrogates ? jstr(&x) : zpy_key_str(r->cs, x.str, x.len);
            if (k == NULL)
                goto fail_res;
            if (jnext(r, d, &x) < 0 ||
                (v = jdec_value(r, d, f, any ? &any_spec : s->item, &x)) == NULL) {
                Py_DECREF(k);
                goto fail_res;
            }
            rc = PyDict_SetItem(res, k, v);
            Py_DECREF(k);
            Py_DECREF(v);
            if (rc < 0)
                goto fail_res;
        }
        Py_LeaveRecursiveCall();
        return res;
    default:
        break;
    }
    dec_error(r, f, "expects %s, found %s", spec_name(s), json_found(it));
    return NULL;
fail_res:
    Py_DECREF(res);
fail_rec:
    Py_LeaveRecursiveCall();
    return NULL;
}

static PyObject *jdec_record(zpy_Record *r, jdec *d, const zlmdb_json_item *it)
{
    PyObject *inl[INLINE_FIELDS], **vals, *res;
    zlmdb_json_item k, x;
    Py_ssize_t next = 0;
    int failed = 1;

    if (it->kind != ZLMDB_JSON_OBJECT_START) {
        dec_error(r, NULL, "expects an object of the record's fields, found %s%s",
                  json_found(it), "");
        return NULL;
    }
    if (Py_EnterRecursiveCall(" while decoding a record"))
        return NULL;
    if ((vals = vals_alloc(r, inl)) == NULL) {
        Py_LeaveRecursiveCall();
        return NULL;
    }
    for (;;) {
        Py_ssize_t i;
        if (jnext(r, d, &k) < 0)
            goto done;
        if (k.kind == ZLMDB_JSON_OBJECT_END)
            break;
        if ((i = find_field(r, k.str, k.len, next)) < 0) {
            unknown_key(r, k.str, k.len);
            goto done;
        }
        if (vals[i]) {
            dup_key(r, &r->f[i]);
            goto done;
        }
        if (jnext(r, d, &x) < 0 ||
            (vals[i] = jdec_value(r, d, &r->f[i], &r->f[i].spec, &x)) == NULL)
            goto done;
        next = i + 1;
    }
    failed = 0;
done:
    res = finish(r, vals, failed);
    vals_free(vals, inl);
    Py_LeaveRecursiveCall();
    return res;
}

/* ------------------------------------------- JSON decode, the fast path */

/* As for CBOR (cfast above): the compact JSON the encoders write is read
 * with the reader's own string, number and literal scanners, the
 * punctuation by hand, no state machine and no container stack.  Anything
 * unexpected (a kind the spec does not take, an unknown or repeated key, a
 * key with a lone surrogate, NaN/Infinity, deep nesting, any syntax error)
 * gives up with no exception set, and the pull reader reads the value
 * again and words the error. */
typedef struct {
    zlmdb_json_reader rd;   /* data, len, pos; the scanners' scratch */
    int bail;
    int depth;
} jfast;

/* The next byte after whitespace, or -1 at the end. */
static inline int jf_peek(jfast *j)
{
    return jr_peek(&j->rd);
}

static PyObject *jf_bail(jfast *j)
{
    j->bail = 1;
    return NULL;
}

static PyObject *jf_record(zpy_Record *r, jfast *j);

static PyObject *jf_value(zpy_Record *r, jfast *j, const rfield *f, const rspec *s)
{
    zlmdb_json_reader *rd = &j->rd;
    zlmdb_json_item it;
    PyObject *res, *v;
    int any = s->kind == K_ANY, c = jf_peek(j);

    it.is_float = 0;
    it.has_surrogates = 0;
    switch (c) {
    case 'n':
        if (jr_read_literal(rd, "null", 4) == 0 && s->optional)
            Py_RETURN_NONE;
        break;
    case 't':
    case 'f':
        if ((any || s->kind == K_BOOL) &&
            (c == 't' ? jr_read_literal(rd, "true", 4) : jr_read_literal(rd, "false", 5)) == 0)
            return Py_NewRef(c == 't' ? Py_True : Py_False);
        break;
    case '"':
        if ((any || s->kind == K_STR) && jr_read_string(rd, &it) == 0)
            return jstr(&it);
        break;
    case '[':
        if ((!any && s->kind != K_LIST) || j->depth >= CFAST_MAX_DEPTH)
            break;
        rd->pos++;
        /* the recursion accounting of jdec_value's lists and dicts */
        if (Py_EnterRecursiveCall(" while decoding JSON"))
            return NULL;
        if ((res = PyList_New(0)) == NULL)
            goto fail_rec;
        if (jf_peek(j) == ']') {
            rd->pos++;
            Py_LeaveRecursiveCall();
            return res;
        }
        j->depth++;
        for (;;) {
            int rc;
            if ((v = jf_value(r, j, f, any ? &any_spec : s->item)) == NULL)
                goto fail_res;
            rc = PyList_Append(res, v);
            Py_DECREF(v);
            if (rc < 0)
                goto fail_res;
            c = jf_peek(j);
            rd->pos++;
            if (c == ']')
                break;
            if (c != ',') {
                j->bail = 1;
                goto fail_res;
            }
        }
        j->depth--;
        Py_LeaveRecursiveCall();
        return res;
    case '{':
        if (j->depth >= CFAST_MAX_DEPTH)
            break;
        if (s->kind == K_RECORD) {
            rd->pos++;
            j->depth++;
            res = jf_record((zpy_Record *)s->rec, j);
            j->depth--;
            return res;
        }
        if (!any && s->kind != K_DICT)
            break;
        rd->pos++;
        if (Py_EnterRecursiveCall(" while decoding JSON"))
            return NULL;
        if ((res = PyDict_New()) == NULL)
            goto fail_rec;
        if (jf_peek(j) == '}') {
            rd->pos++;
            Py_LeaveRecursiveCall();
            return res;
        }
        j->depth++;
        for (;;) {
            PyObject *k;
            int rc;
            if (jf_peek(j) != '"' || jr_read_string(rd, &it) != 0) {
                j->bail = 1;
                goto fail_res;
            }
            k = it.has_surrogates ? jstr(&it) : zpy_key_str(r->cs, it.str, it.len);
            if (k == NULL)
                goto fail_res;
            if (jf_peek(j) != ':') {
                Py_DECREF(k);
                j->bail = 1;
                goto fail_res;
            }
            rd->pos++;
            if ((v = jf_value(r, j, f, any ? &any_spec : s->item)) == NULL) {
                Py_DECREF(k);
                goto fail_res;
            }
            rc = PyDict_SetItem(res, k, v);
            Py_DECREF(k);
            Py_DECREF(v);
            if (rc < 0)
                goto fail_res;
            c = jf_peek(j);
            rd->pos++;
            if (c == '}')
                break;
            if (c != ',') {
                j->bail = 1;
                goto fail_res;
            }
        }
        j->depth--;
        Py_LeaveRecursiveCall();
        return res;
    default:
        if ((c == '-' || (c >= '0' && c <= '9')) &&
            !(c == '-' && rd->pos + 1 < rd->len && rd->data[rd->pos + 1] == 'I') &&
            jr_read_number(rd, &it) == 0 &&
            (any || s->kind == K_FLOAT || (s->kind == K_INT && !it.is_float)))
            return zpy_json_number(&it);
        break;
    }
    return jf_bail(j);
fail_res:
    Py_DECREF(res);
fail_rec:
    Py_LeaveRecursiveCall();
    return NULL;
}

/* The fields of a record whose '{' has been read. */
static PyObject *jf_record(zpy_Record *r, jfast *j)
{
    zlmdb_json_reader *rd = &j->rd;
    PyObject *inl[INLINE_FIELDS], **vals, *res;
    Py_ssize_t next = 0;
    int failed = 1, c;

    if (Py_EnterRecursiveCall(" while decoding a record"))  /* as jdec_record */
        return NULL;
    if ((vals = vals_alloc(r, inl)) == NULL) {
        Py_LeaveRecursiveCall();
        return NULL;
    }
    if (jf_peek(j) == '}') {
        rd->pos++;
        failed = 0;
        goto done;
    }
    for (;;) {
        zlmdb_json_item k;
        Py_ssize_t i;
        k.has_surrogates = 0;
        if (jf_peek(j) != '"' || jr_read_string(rd, &k) != 0 || k.has_surrogates ||
            (i = find_field(r, k.str, k.len, next)) < 0 || vals[i] != NULL ||
            jf_peek(j) != ':') {
            j->bail = 1;
            goto done;
        }
        rd->pos++;
        if ((vals[i] = jf_value(r, j, &r->f[i], &r->f[i].spec)) == NULL)
            goto done;
        next = i + 1;
        c = jf_peek(j);
        rd->pos++;
        if (c == '}')
            break;
        if (c != ',') {
            j->bail = 1;
            goto done;
        }
    }
    failed = 0;
done:
    res = finish(r, vals, failed);
    vals_free(vals, inl);
    Py_LeaveRecursiveCall();
    return res;
}

/* The whole value as one record by the fast path; NULL with j->bail set
 * (and no exception) when the pull reader must read it. */
static PyObject *jf_decode(zpy_Record *r, const void *p, size_t n, int *bail)
{
    jfast j;
    PyObject *res = NULL;

    j.bail = 0;
    j.depth = 0;
    if (zlmdb_json_reader_init(&j.rd, p, n, 0) != 0) {
        *bail = 1;
        return NULL;
    }
    if (jf_peek(&j) == '{') {
        j.rd.pos++;
        res = jf_record(r, &j);
        if (res != NULL && jf_peek(&j) != -1) {
            Py_CLEAR(res);      /* extra data: the pull reader words it */
            j.bail = 1;
        }
    } else {
        j.bail = 1;
    }
    zlmdb_json_reader_dispose(&j.rd);
    *bail = j.bail;
    return res;
}

/* The record from the n bytes at p; `fast`: try the fast path first. */
static PyObject *decode_mem(PyObject *codec, const void *p, size_t n, int fast)
{
    zpy_Record *r = (zpy_Record *)codec;
    PyObject *res = NULL;
    int rc;

    if (r->json) {
        jdec d;
        zlmdb_json_item it;
        int bail = 1;
        if (fast && ((res = jf_decode(r, p, n, &bail)) != NULL || !bail))
            return res;
        if (zlmdb_json_reader_init(&d.rd, p, n, 0) == 0) {
            if (jnext(r, &d, &it) == 0 && (res = jdec_record(r, &d, &it)) != NULL &&
                (rc = zlmdb_json_reader_finish(&d.rd)) != 0) {
                Py_CLEAR(res);
                PyErr_Format(r->err, "%U: stored value is not valid JSON: %s", r->label,
                             zlmdb_error_last());
            }
            zlmdb_json_reader_dispose(&d.rd);
        } else {
            PyErr_NoMemory();
        }
    } else {
        cdec d;
        zlmdb_cbor_item it;
        cfast c = {(const unsigned char *)p, (const unsigned char *)p + n, 0, 0};
        if (fast && ((res = cf_decode(r, &c)) != NULL || !c.bail))
            return res;
        d.data = p;
        if (zlmdb_cbor_reader_init(&d.rd, p, n, 0) == 0) {
            if (cnext(r, &d, &it) == 0 && (res = cdec_record(r, &d, &it)) != NULL &&
                (rc = zlmdb_cbor_reader_finish(&d.rd)) != 0) {
                Py_CLEAR(res);
                PyErr_Format(r->err, "%U: stored value is not valid CBOR: %s", r->label,
                             zlmdb_error_last());
            }
            zlmdb_cbor_reader_dispose(&d.rd);
        } else {
            PyErr_NoMemory();
        }
    }
    return res;
}

/* The record from the n bytes at p: decode()'s work, on any memory. */
PyObject *zpy_record_decode_mem(PyObject *codec, const void *p, size_t n)
{
    return decode_mem(codec, p, n, 1);
}

static PyObject *decode_arg(PyObject *op, PyObject *arg, int fast)
{
    Py_buffer view;
    PyObject *res;

    if (zpy_get_input(arg, &view, "decode") < 0)
        return NULL;
    res = decode_mem(op, view.buf, (size_t)view.len, fast);
    if (view.obj)
        PyBuffer_Release(&view);
    return res;
}

/* decode(data) -> the record */
static PyObject *record_decode(PyObject *op, PyObject *arg)
{
    return decode_arg(op, arg, 1);
}

/* _decode_pull(data): decode() by the pull reader alone, the reference
 * the fast paths are tested against (tests/python/test_records_bytes.py). */
static PyObject *record_decode_pull(PyObject *op, PyObject *arg)
{
    return decode_arg(op, arg, 0);
}

/* Whether decoding r's records can call the user's Python code: only a
 * default_factory can, in r or in a record nested in it, unless it is one
 * of the built-in containers or scalars (default_factory=list, ...). */
static int spec_calls_user(const rspec *s, int depth);

static int builtin_factory(PyObject *f)
{
    static PyTypeObject *const plain[] = {
        &PyList_Type, &PyDict_Type, &PySet_Type, &PyFrozenSet_Type, &PyTuple_Type,
        &PyUnicode_Type, &PyBytes_Type, &PyByteArray_Type, &PyLong_Type, &PyFloat_Type,
        &PyBool_Type,
    };
    size_t i;

    for (i = 0; i < sizeof plain / sizeof plain[0]; i++)
        if (f == (PyObject *)plain[i])
            return 1;
    return 0;
}

static int record_calls_user(const zpy_Record *r, int depth)
{
    Py_ssize_t i;

    if (depth > MAX_SPEC_DEPTH)
        return 1;                       /* not worth proving */
    for (i = 0; i < r->n; i++)
        if ((r->f[i].dkind == D_FACTORY && !builtin_factory(r->f[i].dflt)) ||
            spec_calls_user(&r->f[i].spec, depth + 1))
            return 1;
    return 0;
}

static int spec_calls_user(const rspec *s, int depth)
{
    for (; s != NULL; s = s->item) {
        if (s->kind == K_RECORD)
            return record_calls_user((const zpy_Record *)s->rec, depth + 1);
    }
    return 0;
}

PyObject *zpy_record_direct_decoder(PyObject *f)
{
    PyObject *codec;

    if (!PyCFunction_Check(f) || PyCFunction_GET_FUNCTION(f) != (PyCFunction)record_decode)
        return NULL;
    codec = PyCFunction_GET_SELF(f);
    return codec != NULL && !record_calls_user((zpy_Record *)codec, 0) ? codec : NULL;
}

/* -------------------------------------------------------------- setup */

static void spec_clear(rspec *s)
{
    if (s->item) {
        spec_clear(s->item);
        PyMem_Free(s->item);
        s->item = NULL;
    }
    Py_CLEAR(s->rec);
}

/* (kind, optional, sub) -> rspec */
static int spec_parse(PyTypeObject *tp, PyObject *t, rspec *s, int depth)
{
    PyObject *sub;
    int kind, optional;

    memset(s, 0, sizeof(*s));
    if (depth > MAX_SPEC_DEPTH) {
        PyErr_SetString(PyExc_TypeError, "record type spec nests too deeply");
        return -1;
    }
    if (!PyTuple_Check(t) || !PyArg_ParseTuple(t, "ipO", &kind, &optional, &sub))
        return -1;
    if (kind < 0 || kind >= K_COUNT) {
        PyErr_Format(PyExc_ValueError, "unknown record field kind %d", kind);
        return -1;
    }
    s->kind = kind;
    s->optional = optional;
    if (kind == K_LIST || kind == K_DICT) {
        if ((s->item = PyMem_Calloc(1, sizeof(*s->item))) == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        if (spec_parse(tp, sub, s->item, depth + 1) < 0) {
            spec_clear(s);
            return -1;
        }
    } else if (kind == K_RECORD) {
        if (!Py_IS_TYPE(sub, tp)) {
            PyErr_SetString(PyExc_TypeError, "a nested record spec needs a RecordCodec");
            return -1;
        }
        s->rec = Py_NewRef(sub);
    }
    return 0;
}

static int spec_traverse(const rspec *s, visitproc visit, void *arg)
{
    if (s->item)
        return spec_traverse(s->item, visit, arg);
    Py_VISIT(s->rec);
    return 0;
}

static int spec_json_ok(const rspec *s, int json)
{
    if (s->kind == K_RECORD)
        return ((zpy_Record *)s->rec)->json == json;
    return s->item ? spec_json_ok(s->item, json) : 1;
}

/* The member offset of a slot descriptor (a writable object slot), or 0. */
static Py_ssize_t slot_offset(PyObject *descr)
{
    PyMemberDef *m;
    if (descr == Py_None || !Py_IS_TYPE(descr, &PyMemberDescr_Type))
        return 0;
    m = ((PyMemberDescrObject *)descr)->d_member;
    if (m->type != T_OBJECT_EX || (m->flags & READONLY) || m->offset <= 0)
        return 0;
    return m->offset;
}

static int record_clear(PyObject *op);

/* uuid.UUID's 'int' and 'is_safe' slots, when it is the CPython class with
 * exactly those (else UUIDs are made the slower, general way). */
static int find_uuid_slots(zpy_Record *r)
{
    PyTypeObject *tp = (PyTypeObject *)r->cs->UUID;
    PyObject *a, *b;

    if (tp == NULL || !PyType_Check(tp) || tp->tp_alloc != PyType_GenericAlloc)
        return 0;
    a = PyDict_GetItemString(tp->tp_dict, "int");          /* borrowed */
    b = PyDict_GetItemString(tp->tp_dict, "is_safe");
    if (a && b && slot_offset(a) && slot_offset(b) && tp->tp_init != NULL &&
        PyDict_GetItemString(tp->tp_dict, "__slots__") != NULL) {
        r->uuid_int = slot_offset(a);
        r->uuid_safe = slot_offset(b);
    }
    return 0;
}

/* RecordCodec(cls, json, fields, label, error): fields are tuples
 * (name, spec, default_kind, default, slot descriptor or None). */
static PyObject *record_new(PyTypeObject *tp, PyObject *args, PyObject *kw)
{
    PyObject *cls, *fields, *label, *err, *module;
    PyTypeObject *b;
    int json;
    zpy_Record *r;
    zpy_state *st = zpy_state_of_type(tp);
    Py_ssize_t i, n;

    if (!PyArg_ParseTuple(args, "O!pO!UO:RecordCodec", &PyType_Type, &cls, &json,
                          &PyTuple_Type, &fields, &label, &err))
        return NULL;
    if (kw && PyDict_GET_SIZE(kw))
        return zpy_type_error("RecordCodec takes no keyword arguments");
    if (!PyType_Check(err) || !PyType_IsSubtype((PyTypeObject *)err,
                                                (PyTypeObject *)PyExc_Exception))
        return zpy_type_error("error must be an exception class");
    for (b = (PyTypeObject *)cls; b && b != &PyBaseObject_Type; b = b->tp_base) {
        /* the object is made as object.__new__ makes it: only classes
         * whose layout is object's plus slots and a dict qualify */
        if (!(b->tp_flags & Py_TPFLAGS_HEAPTYPE) || b->tp_itemsize) {
            PyErr_Format(PyExc_TypeError, "%U: %s cannot be a record type: it derives from "
                         "the built-in %s", label, ((PyTypeObject *)cls)->tp_name, b->tp_name);
            return NULL;
        }
    }
    n = PyTuple_GET_SIZE(fields);
    if ((r = (zpy_Record *)tp->tp_alloc(tp, 0)) == NULL)
        return NULL;
    r->cls = (PyTypeObject *)Py_NewRef(cls);
    r->json = json;
    r->label = Py_NewRef(label);
    r->err = Py_NewRef(err);
    r->cs = &st->codec;
    if ((r->noargs = PyTuple_New(0)) == NULL)
        goto fail;
    module = PyType_GetModule(tp);
    r->dumps = PyObject_GetAttrString(module, json ? "json_dumpb" : "cbor_dumps");
    r->loads = PyObject_GetAttrString(module, json ? "json_loads" : "cbor_loads");
    if (r->dumps == NULL || r->loads == NULL)
        goto fail;
    if (!json && find_uuid_slots(r) < 0)
        goto fail;
    if (n && (r->f = PyMem_Calloc((size_t)n, sizeof(*r->f))) == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    for (i = 0; i < n; i++) {
        PyObject *t = PyTuple_GET_ITEM(fields, i), *name, *spec, *dflt, *descr;
        rfield *f = &r->f[i];
        int dkind, rc;

        if (!PyTuple_Check(t) || !PyArg_ParseTuple(t, "UOiOO", &name, &spec, &dkind, &dflt,
                                                   &descr))
            goto fail;
        r->n = i + 1;       /* from here on, clear() releases this field */
        f->name = Py_NewRef(name);
        f->dflt = Py_NewRef(dflt);
        f->dkind = dkind;
        if ((f->utf8 = PyUnicode_AsUTF8AndSize(name, &f->len)) == NULL)
            goto fail;
        if (spec_parse(tp, spec, &f->spec, 0) < 0)
            goto fail;
        if (!spec_json_ok(&f->spec, json)) {
            PyErr_Format(PyExc_TypeError, "%U: field '%U': a nested record of another format",
                         label, name);
            goto fail;
        }
        if (dkind == D_FACTORY && !PyCallable_Check(dflt)) {
            PyErr_Format(PyExc_TypeError, "%U: field '%U': default_factory is not callable",
                         label, name);
            goto fail;
        }
        if (descr != Py_None && (f->offset = slot_offset(descr)) == 0) {
            PyErr_Format(PyExc_TypeError, "%U: field '%U' is not a writable object slot",
                         label, name);
            goto fail;
        }
        if (json)
            rc = zlmdb_json_encode_string(&f->key, f->utf8, (size_t)f->len) ||
                 zlmdb_buf_append(&f->key, ":", 1);
        else
            rc = zlmdb_cbor_encode_text_unchecked(&f->key, f->utf8, (size_t)f->len);
        if (rc) {
            PyErr_NoMemory();
            goto fail;
        }
    }
    return (PyObject *)r;
fail:
    Py_DECREF(r);
    return NULL;
}

static PyObject *record_get_cls(PyObject *op, void *c)
{
    (void)c;
    return Py_NewRef((PyObject *)((zpy_Record *)op)->cls);
}

static PyObject *record_get_fields(PyObject *op, void *c)
{
    zpy_Record *r = (zpy_Record *)op;
    PyObject *t = PyTuple_New(r->n);
    Py_ssize_t i;
    (void)c;
    if (t == NULL)
        return NULL;
    for (i = 0; i < r->n; i++)
        PyTuple_SET_ITEM(t, i, Py_NewRef(r->f[i].name));
    return t;
}

static PyObject *record_get_label(PyObject *op, void *c)
{
    (void)c;
    return Py_NewRef(((zpy_Record *)op)->label);
}

static int record_traverse(PyObject *op, visitproc visit, void *arg)
{
    zpy_Record *r = (zpy_Record *)op;
    Py_ssize_t i;
    Py_VISIT(Py_TYPE(op));
    Py_VISIT(r->cls);
    Py_VISIT(r->err);
    Py_VISIT(r->dumps);
    Py_VISIT(r->loads);
    for (i = 0; i < r->n; i++) {
        Py_VISIT(r->f[i].dflt);
        if (spec_traverse(&r->f[i].spec, visit, arg))
            return -1;
    }
    return 0;
}

static int record_clear(PyObject *op)
{
    zpy_Record *r = (zpy_Record *)op;
    Py_ssize_t i;
    Py_CLEAR(r->cls);
    Py_CLEAR(r->label);
    Py_CLEAR(r->err);
    Py_CLEAR(r->dumps);
    Py_CLEAR(r->loads);
    Py_CLEAR(r->noargs);
    for (i = 0; i < r->n; i++) {
        Py_CLEAR(r->f[i].name);
        Py_CLEAR(r->f[i].dflt);
        zlmdb_buf_dispose(&r->f[i].key);
        spec_clear(&r->f[i].spec);
    }
    PyMem_Free(r->f);
    r->f = NULL;
    r->n = 0;
    zlmdb_buf_dispose(&r->scratch);
    return 0;
}

static void record_dealloc(PyObject *op)
{
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    record_clear(op);
    tp->tp_free(op);
    Py_DECREF(tp);
}

static PyObject *record_repr(PyObject *op)
{
    zpy_Record *r = (zpy_Record *)op;
    return PyUnicode_FromFormat("<RecordCodec %s %s, %zd fields>", r->cls ? r->cls->tp_name : "?",
                                r->json ? "JSON" : "CBOR", r->n);
}

static PyMethodDef record_methods[] = {
    {"encode", record_encode, METH_O, "encode(obj) -> the record's CBOR/JSON bytes"},
    {"decode", record_decode, METH_O, "decode(data) -> the record built from its bytes"},
    {"_decode_pull", record_decode_pull, METH_O,
     "_decode_pull(data) -> decode() without the fast path (for tests)"},
    {NULL, NULL, 0, NULL}
};

static PyGetSetDef record_getset[] = {
    {"record", record_get_cls, NULL, "the declared record type", NULL},
    {"fields", record_get_fields, NULL, "the field names, in declaration order", NULL},
    {"label", record_get_label, NULL, "what error messages call the codec", NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static PyType_Slot record_slots[] = {
    {Py_tp_new, record_new},
    {Py_tp_dealloc, record_dealloc},
    {Py_tp_traverse, record_traverse},
    {Py_tp_clear, record_clear},
    {Py_tp_methods, record_methods},
    {Py_tp_getset, record_getset},
    {Py_tp_repr, record_repr},
    {Py_tp_doc, (void *)"The C codec of a declared record (built by zlmdb._records)."},
    {0, NULL}
};

static PyType_Spec record_spec = {
    .name = "zlmdb._native.RecordCodec",
    .basicsize = sizeof(zpy_Record),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = record_slots,
};

int zpy_record_add(PyObject *module)
{
    PyObject *tp;

    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL)
        return -1;
    tp = PyType_FromModuleAndSpec(module, &record_spec, NULL);
    if (tp == NULL)
        return -1;
    if (PyModule_AddObjectRef(module, "RecordCodec", tp) < 0) {
        Py_DECREF(tp);
        return -1;
    }
    Py_DECREF(tp);
    return 0;
}

/* The codec bridge, keys: the KeyCodec type turns Python values into
 * libzlmdb's order-preserving key bytes (zlmdb_key_encode) and back. */
#include "zpy.h"
#include <datetime.h>

enum { TS_AUTO, TS_INT, TS_NUMPY, TS_DATETIME };

typedef struct {
    PyObject_HEAD
    zlmdb_key_desc desc;
    PyObject *components;   /**< tuple of component names */
    int ts_mode;            /**< what decode() returns for timestamps */
    size_t fixed;           /**< encoded size, or ZLMDB_KEY_VARIABLE */
} KeyCodec;

static const struct {
    const char *name;
    zlmdb_key_type type;
} key_types[] = {
    {"uint8", ZLMDB_KEY_UINT8},     {"uint16", ZLMDB_KEY_UINT16},
    {"uint16le", ZLMDB_KEY_UINT16LE}, {"uint32", ZLMDB_KEY_UINT32},
    {"uint64", ZLMDB_KEY_UINT64},   {"oid", ZLMDB_KEY_OID},
    {"uuid", ZLMDB_KEY_UUID},       {"timestamp", ZLMDB_KEY_TIMESTAMP},
    {"bytes16", ZLMDB_KEY_BYTES16}, {"bytes20", ZLMDB_KEY_BYTES20},
    {"bytes32", ZLMDB_KEY_BYTES32}, {"string", ZLMDB_KEY_STRING},
};
#define NKEY_TYPES (sizeof key_types / sizeof key_types[0])

static const char *type_name(zlmdb_key_type t)
{
    size_t i;
    for (i = 0; i < NKEY_TYPES; i++)
        if (key_types[i].type == t)
            return key_types[i].name;
    return "?";
}

static zpy_codec_state *kc_state(KeyCodec *self)
{
    zpy_state *st = zpy_state_of(self);
    return &st->codec;
}

/* encode(value=True): the codec encodes a map's value, not a key, and
 * its errors say so.  Never passed on to libzlmdb. */
#define KC_VALUE 0x80000000u

/* Raise for a libzlmdb key error: every one is a bad value (ValueError).
 * libzlmdb names the key component; a value is named as such. */
static ZPY_NOINLINE void key_error(int rc, int value)
{
    static const char comp0[] = "key component 0 ";
    const char *msg = zlmdb_error_last();

    if (value && rc != ZLMDB_ENOMEM && msg != NULL &&
        strncmp(msg, comp0, sizeof comp0 - 1) == 0) {
        PyErr_Format(PyExc_ValueError, "value %s", msg + sizeof comp0 - 1);
        return;
    }
    zpy_err_lib(NULL, PyExc_ValueError, rc, NULL, NULL);
}

/* What a component of type `t` takes, for error messages. */
static const char *accepts(zlmdb_key_type t)
{
    switch (t) {
    case ZLMDB_KEY_UUID:
        return "a uuid.UUID";
    case ZLMDB_KEY_TIMESTAMP:
        return "an int (nanoseconds), a datetime or a numpy.datetime64";
    case ZLMDB_KEY_BYTES16:
        return "16 bytes";
    case ZLMDB_KEY_BYTES20:
        return "20 bytes";
    case ZLMDB_KEY_BYTES32:
        return "32 bytes";
    case ZLMDB_KEY_STRING:
        return "a str";
    default:
        return "an int >= 0";
    }
}

/* Raise the TypeError for `o`, of the wrong type for a component of type
 * `t`: key component `idx`, or the value when `idx` is negative. */
static ZPY_NOINLINE int wrong_type(zlmdb_key_type t, PyObject *o, int idx)
{
    if (idx < 0)
        PyErr_Format(PyExc_TypeError, "value must be %s (%s), not %.200s", accepts(t),
                     type_name(t), Py_TYPE(o)->tp_name);
    else
        PyErr_Format(PyExc_TypeError, "key component %d (%s) must be %s, not %.200s", idx,
                     type_name(t), accepts(t), Py_TYPE(o)->tp_name);
    return -1;
}

static ZPY_NOINLINE int out_of_range(zlmdb_key_type t, PyObject *o, int idx)
{
    if (idx < 0)
        PyErr_Format(PyExc_ValueError, "value (%s) out of range: %R", type_name(t), o);
    else
        PyErr_Format(PyExc_ValueError, "key component %d (%s) out of range: %R", idx,
                     type_name(t), o);
    return -1;
}

/* numpy.datetime64 scalars, read in place.  numpy's C API lays a datetime
 * scalar out as the object head, the int64 count (npy_datetime), then the
 * unit (NPY_DATETIMEUNIT) and its multiplier; the units from weeks to
 * nanoseconds are 2, 4 .. 10.  Reading that layout saves three Python calls
 * per key (np.datetime64(o, "ns").astype("int64")).  It is trusted only
 * after a check against numpy's own conversion of two probes, and only for
 * the exact type; other units (years, months, sub-nanoseconds, generic),
 * NaT and overflow take the general path. */
typedef struct {
    PyObject_HEAD
    int64_t count;
    int unit;
    int num;
} np_datetime_scalar;

static int64_t np_unit_ns(int unit)
{
    switch (unit) {
    case 2: return 7LL * 86400 * 1000000000;    /* W */
    case 4: return 86400LL * 1000000000;        /* D */
    case 5: return 3600LL * 1000000000;         /* h */
    case 6: return 60LL * 1000000000;           /* m */
    case 7: return 1000000000LL;                /* s */
    case 8: return 1000000LL;                   /* ms */
    case 9: return 1000LL;                      /* us */
    case 10: return 1;                          /* ns */
    default: return 0;
    }
}

/* 1: *out is set; 0: use the general path. */
static int np_datetime_fast(const np_datetime_scalar *d, int64_t *out)
{
    int64_t per = np_unit_ns(d->unit);
    if (per == 0 || d->num < 1 || d->num > INT64_MAX / per)
        return 0;
    per *= d->num;
    if (d->count > INT64_MAX / per || d->count < -(INT64_MAX / per))
        return 0;               /* also NaT, INT64_MIN */
    *out = d->count * per;
    return 1;
}

static int np_layout_ok = -1;   /* -1 not checked yet, 0 no, 1 yes */

static int np_layout_check(zpy_codec_state *cs)
{
    static const struct { long long count; const char *unit; int64_t ns; } probe[] = {
        {1234567, "ns", 1234567}, {-3, "s", -3000000000LL}, {5, "us", 5000}};
    size_t i;

    np_layout_ok = 0;
    if ((size_t)((PyTypeObject *)cs->np_datetime64)->tp_basicsize < sizeof(np_datetime_scalar))
        return 0;
    for (i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
        PyObject *o = PyObject_CallFunction(cs->np_datetime64, "Ls", probe[i].count,
                                            probe[i].unit);
        int64_t v;
        int ok = o != NULL && Py_IS_TYPE(o, (PyTypeObject *)cs->np_datetime64) &&
                 np_datetime_fast((const np_datetime_scalar *)o, &v) && v == probe[i].ns;
        Py_XDECREF(o);
        if (!ok) {
            PyErr_Clear();
            return 0;
        }
    }
    np_layout_ok = 1;
    return 1;
}

static int timestamp_of(zpy_codec_state *cs, PyObject *o, int idx, int64_t *out)
{
    if (PyLong_Check(o)) {
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
        if (overflow) {
            PyErr_SetString(PyExc_ValueError, "timestamp out of range of int64 nanoseconds");
            return -1;
        }
        if (v == -1 && PyErr_Occurred())
            return -1;
        *out = v;
        return 0;
    }
    if (PyDateTime_Check(o)) {
        /* Naive datetimes are taken as UTC (numpy's datetime64 view); the
         * arithmetic is libzlmdb's (codec_int.h), shared with PyPy's binding. */
        long long off_s = 0;
        int64_t v64;
        if (((PyDateTime_DateTime *)o)->hastzinfo &&
            ((PyDateTime_DateTime *)o)->tzinfo != Py_None) {
            PyObject *off = PyObject_CallMethod(o, "utcoffset", NULL);
            if (off == NULL)
                return -1;
            if (PyDelta_Check(off))
                off_s = PyDateTime_DELTA_GET_DAYS(off) * 86400LL +
                        PyDateTime_DELTA_GET_SECONDS(off);
            Py_DECREF(off);
        }
        if (zlmdb__datetime_to_ns(PyDateTime_GET_YEAR(o), (unsigned)PyDateTime_GET_MONTH(o),
                                  (unsigned)PyDateTime_GET_DAY(o), PyDateTime_DATE_GET_HOUR(o),
                                  PyDateTime_DATE_GET_MINUTE(o), PyDateTime_DATE_GET_SECOND(o),
                                  PyDateTime_DATE_GET_MICROSECOND(o), off_s, &v64) < 0) {
            PyErr_SetString(PyExc_ValueError, "timestamp out of range of int64 nanoseconds");
            return -1;
        }
        *out = v64;
        return 0;
    }
    if (zpy_codec_numpy(cs) != NULL && PyObject_TypeCheck(o, (PyTypeObject *)cs->np_datetime64)) {
        if (Py_IS_TYPE(o, (PyTypeObject *)cs->np_datetime64) &&
            (np_layout_ok == 1 || (np_layout_ok < 0 && np_layout_check(cs))) &&
            np_datetime_fast((const np_datetime_scalar *)o, out))
            return 0;
        PyObject *ns = PyObject_CallFunction(cs->np_datetime64, "Os", o, "ns"), *i;
        int rc;
        if (ns == NULL)
            return -1;
        i = PyObject_CallMethod(ns, "astype", "s", "int64");
        Py_DECREF(ns);
        if (i == NULL)
            return -1;
        Py_SETREF(i, PyNumber_Index(i));
        if (i == NULL)
            return -1;
        rc = timestamp_of(cs, i, idx, out);
        Py_DECREF(i);
        return rc;
    }
    return wrong_type(ZLMDB_KEY_TIMESTAMP, o, idx);
}

/* Fill `v` from one Python component value (key component `idx`; the
 * value, when negative). */
static int component(zpy_codec_state *cs, zlmdb_key_type t, PyObject *o, int idx,
                     zlmdb_key_value *v, Py_buffer *view, unsigned char *uuid)
{
    memset(v, 0, sizeof *v);
    view->obj = NULL;
    if (o == Py_None) {
        v->is_null = 1;
        return 0;
    }
    switch (t) {
    case ZLMDB_KEY_UINT8: case ZLMDB_KEY_UINT16: case ZLMDB_KEY_UINT16LE:
    case ZLMDB_KEY_UINT32: case ZLMDB_KEY_UINT64: case ZLMDB_KEY_OID:
        if (!PyLong_Check(o))
            break;
        if (zpy_long_sign(o) < 0)
            return out_of_range(t, o, idx);
        v->u = PyLong_AsUnsignedLongLong(o);
        if (v->u == (unsigned long long)-1 && PyErr_Occurred()) {
            PyErr_Clear();
            return out_of_range(t, o, idx);
        }
        return 0;
    case ZLMDB_KEY_TIMESTAMP:
        return timestamp_of(cs, o, idx, &v->i);
    case ZLMDB_KEY_UUID:
        if (!PyObject_TypeCheck(o, (PyTypeObject *)cs->UUID))
            break;
        if (zpy_uuid_to_bytes(cs, o, uuid) < 0)
            return -1;
        v->data = uuid;
        v->len = 16;
        return 0;
    case ZLMDB_KEY_BYTES16: case ZLMDB_KEY_BYTES20: case ZLMDB_KEY_BYTES32:
        if (PyBytes_Check(o)) {
            v->data = (const unsigned char *)PyBytes_AS_STRING(o);
            v->len = (size_t)PyBytes_GET_SIZE(o);
            return 0;
        }
        if (PyUnicode_Check(o) || !PyObject_CheckBuffer(o))
            break;
        if (PyObject_GetBuffer(o, view, PyBUF_SIMPLE) < 0)
            return -1;
        v->data = view->buf;
        v->len = (size_t)view->len;
        return 0;
    case ZLMDB_KEY_STRING: {
        Py_ssize_t n;
        if (!PyUnicode_Check(o))
            break;
        v->data = (const unsigned char *)PyUnicode_AsUTF8AndSize(o, &n);
        if (v->data == NULL)
            return -1;
        v->len = (size_t)n;
        return 0;
    }
    }
    return wrong_type(t, o, idx);
}

static int parse_flags(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                       unsigned *flags, const char *fname)
{
    Py_ssize_t i, nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    *flags = 0;
    if (nargs != 1) {
        PyErr_Format(PyExc_TypeError, "%s() takes exactly 1 positional argument (%zd given)",
                     fname, nargs);
        return -1;
    }
    for (i = 0; i < nkw; i++) {
        PyObject *k = PyTuple_GET_ITEM(kwnames, i);
        int on = PyObject_IsTrue(args[nargs + i]);
        unsigned f;
        if (on < 0)
            return -1;
        if (PyUnicode_CompareWithASCIIString(k, "null_as_zero") == 0)
            f = ZLMDB_KEY_NULL_AS_ZERO;
        else if (PyUnicode_CompareWithASCIIString(k, "lenient") == 0)
            f = ZLMDB_KEY_LENIENT;
        else if (PyUnicode_CompareWithASCIIString(k, "value") == 0)
            f = KC_VALUE;
        else {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'",
                         fname, k);
            return -1;
        }
        if (on)
            *flags |= f;
    }
    return 0;
}

/* Append the encoding of `key` (a bare value when the codec has one
 * component and !prefix) to `out`.  Returns 0, or -1 with an exception. */
static int kc_encode_into(KeyCodec *self, PyObject *key, unsigned flags, int prefix,
                          zlmdb_buf *out)
{
    zpy_codec_state *cs = kc_state(self);
    zlmdb_key_value vals[ZLMDB_KEY_MAX_COMPONENTS];
    Py_buffer views[ZLMDB_KEY_MAX_COMPONENTS];
    unsigned char uuids[ZLMDB_KEY_MAX_COMPONENTS][16];
    PyObject *tuple = NULL;
    unsigned i, k;
    int rc, res = -1;

    if (!prefix && self->desc.ncomp == 1) {
        k = 1;
        if (component(cs, self->desc.comp[0], key, (flags & KC_VALUE) ? -1 : 0, &vals[0],
                      &views[0], uuids[0]) < 0)
            return -1;
    } else {
        if (PyTuple_Check(key)) {
            tuple = Py_NewRef(key);
        } else if (PyList_Check(key)) {
            /* A snapshot: converting components may run Python code
             * (utcoffset(), numpy) that could mutate a list. */
            tuple = PyList_AsTuple(key);
            if (tuple == NULL)
                return -1;
        } else {
            PyErr_Format(PyExc_TypeError, "key must be a tuple of %u components, not %.200s",
                         self->desc.ncomp, Py_TYPE(key)->tp_name);
            return -1;
        }
        k = (unsigned)PyTuple_GET_SIZE(tuple);
        if (prefix ? k > self->desc.ncomp : k != self->desc.ncomp) {
            PyErr_Format(PyExc_ValueError, "key must have %s%u components %R, not %u",
                         prefix ? "at most " : "", self->desc.ncomp, self->components, k);
            Py_DECREF(tuple);
            return -1;
        }
        for (i = 0; i < k; i++) {
            PyObject *o = PyTuple_GET_ITEM(tuple, i);
            if (component(cs, self->desc.comp[i], o, (int)i, &vals[i], &views[i],
                          uuids[i]) < 0) {
                k = i;
                goto done;
            }
        }
    }
    rc = prefix ? zlmdb_key_encode_prefix(&self->desc, vals, k, flags & ~KC_VALUE, out)
                : zlmdb_key_encode(&self->desc, vals, flags & ~KC_VALUE, out);
    if (rc != 0)
        key_error(rc, !prefix && self->desc.ncomp == 1 && (flags & KC_VALUE));
    else
        res = 0;
done:
    for (i = 0; i < k; i++)
        if (views[i].obj != NULL)
            PyBuffer_Release(&views[i]);
    Py_XDECREF(tuple);
    return res;
}

static PyObject *kc_run(KeyCodec *self, PyObject *key, unsigned flags, int prefix)
{
    zlmdb_buf out = ZLMDB_BUF_INIT;
    PyObject *res = NULL;

    if (kc_encode_into(self, key, flags, prefix, &out) == 0)
        res = PyBytes_FromStringAndSize(out.ptr ? (const char *)out.ptr : "",
                                        (Py_ssize_t)out.size);
    zlmdb_buf_dispose(&out);
    return res;
}

int zpy_keycodec_encode(PyObject *codec, PyObject *key, unsigned flags, int prefix,
                        zlmdb_buf *out)
{
    return kc_encode_into((KeyCodec *)codec, key, flags, prefix, out);
}

static PyObject *kc_encode(KeyCodec *self, PyObject *const *args, Py_ssize_t nargs,
                           PyObject *kwnames)
{
    unsigned flags;
    if (parse_flags(args, nargs, kwnames, &flags, "encode") < 0)
        return NULL;
    return kc_run(self, args[0], flags, 0);
}

static PyObject *kc_encode_prefix(KeyCodec *self, PyObject *const *args, Py_ssize_t nargs,
                                  PyObject *kwnames)
{
    unsigned flags;
    if (parse_flags(args, nargs, kwnames, &flags, "encode_prefix") < 0)
        return NULL;
    return kc_run(self, args[0], flags, 1);
}

static PyObject *timestamp_value(KeyCodec *self, zpy_codec_state *cs, int64_t ns)
{
    int mode = self->ts_mode;
    if (mode == TS_AUTO)
        mode = zpy_codec_numpy(cs) != NULL ? TS_NUMPY : TS_INT;
    if (mode == TS_NUMPY) {
        if (zpy_codec_numpy(cs) == NULL) {
            PyErr_SetString(PyExc_ImportError, "numpy is required for timestamp='numpy'");
            return NULL;
        }
        return PyObject_CallFunction(cs->np_datetime64, "Ls", (long long)ns, "ns");
    }
    if (mode == TS_DATETIME) {
        /* Floored to microseconds, as datetime can hold no more (libzlmdb's
         * arithmetic, codec_int.h, shared with PyPy's binding). */
        zlmdb__datetime t;
        zlmdb__ns_to_datetime(ns, &t);
        return PyDateTimeAPI->DateTime_FromDateAndTime(t.year, t.month, t.day, t.hour,
                                                       t.minute, t.second, t.microsecond,
                                                       cs->utc, PyDateTimeAPI->DateTimeType);
    }
    return PyLong_FromLongLong(ns);
}

static PyObject *kc_decode_raw(KeyCodec *self, const void *data, size_t len)
{
    zpy_codec_state *cs = kc_state(self);
    zlmdb_key_value vals[ZLMDB_KEY_MAX_COMPONENTS];
    PyObject *res = NULL, *tuple = NULL;
    unsigned i, n = self->desc.ncomp;
    int rc;

    rc = zlmdb_key_decode(&self->desc, data, len, vals);
    if (rc != 0) {
        key_error(rc, 0);
        goto done;
    }
    if (n > 1 && (tuple = PyTuple_New(n)) == NULL)
        goto done;
    for (i = 0; i < n; i++) {
        zlmdb_key_value *v = &vals[i];
        PyObject *o;
        switch (self->desc.comp[i]) {
        case ZLMDB_KEY_TIMESTAMP:
            o = timestamp_value(self, cs, v->i);
            break;
        case ZLMDB_KEY_UUID:
            o = zpy_uuid_from_bytes(cs, v->data);
            break;
        case ZLMDB_KEY_BYTES16: case ZLMDB_KEY_BYTES20: case ZLMDB_KEY_BYTES32:
            o = PyBytes_FromStringAndSize((const char *)v->data, (Py_ssize_t)v->len);
            break;
        case ZLMDB_KEY_STRING:
            o = PyUnicode_DecodeUTF8((const char *)v->data, (Py_ssize_t)v->len, NULL);
            break;
        default:
            o = PyLong_FromUnsignedLongLong(v->u);
            break;
        }
        if (o == NULL)
            goto done;
        if (n == 1) {
            res = o;
            goto done;
        }
        PyTuple_SET_ITEM(tuple, i, o);
    }
    res = Py_NewRef(tuple);
done:
    Py_XDECREF(tuple);
    return res;
}

PyObject *zpy_keycodec_decode(PyObject *codec, const void *data, size_t len)
{
    return kc_decode_raw((KeyCodec *)codec, data, len);
}

static PyObject *kc_decode(KeyCodec *self, PyObject *arg)
{
    Py_buffer view;
    PyObject *res;

    if (zpy_get_input(arg, &view, "decode") < 0)
        return NULL;
    res = kc_decode_raw(self, view.buf, (size_t)view.len);
    if (view.obj != NULL)
        PyBuffer_Release(&view);
    return res;
}

static PyObject *kc_new(PyTypeObject *tp, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"components", "timestamp", NULL};
    PyObject *comps, *names = NULL;
    const char *ts = "auto";
    KeyCodec *self;
    zlmdb_key_desc desc;
    Py_ssize_t i, n;
    int rc;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|$s:KeyCodec", kwlist, &comps, &ts))
        return NULL;
    if (PyUnicode_Check(comps))
        names = PyTuple_Pack(1, comps);
    else
        names = PySequence_Tuple(comps);
    if (names == NULL)
        return NULL;
    n = PyTuple_GET_SIZE(names);
    if (n < 1 || n > ZLMDB_KEY_MAX_COMPONENTS) {
        PyErr_Format(PyExc_ValueError, "a key has 1 to %d components, not %zd",
                     ZLMDB_KEY_MAX_COMPONENTS, n);
        goto fail;
    }
    memset(&desc, 0, sizeof desc);
    desc.ncomp = (unsigned)n;
    for (i = 0; i < n; i++) {
        PyObject *s = PyTuple_GET_ITEM(names, i);
        size_t j;
        if (!PyUnicode_Check(s)) {
            PyErr_SetString(PyExc_TypeError, "key component names must be str");
            goto fail;
        }
        for (j = 0; j < NKEY_TYPES; j++)
            if (PyUnicode_CompareWithASCIIString(s, key_types[j].name) == 0)
                break;
        if (j == NKEY_TYPES) {
            PyErr_Format(PyExc_ValueError, "unknown key component type %R", s);
            goto fail;
        }
        desc.comp[i] = key_types[j].type;
    }
    rc = zlmdb_key_desc_check(&desc);
    if (rc != 0) {
        key_error(rc, 0);
        goto fail;
    }
    self = (KeyCodec *)tp->tp_alloc(tp, 0);
    if (self == NULL)
        goto fail;
    self->desc = desc;
    self->components = names;
    zlmdb_key_fixed_size(&desc, &self->fixed);
    if (strcmp(ts, "auto") == 0)
        self->ts_mode = TS_AUTO;
    else if (strcmp(ts, "int") == 0)
        self->ts_mode = TS_INT;
    else if (strcmp(ts, "numpy") == 0)
        self->ts_mode = TS_NUMPY;
    else if (strcmp(ts, "datetime") == 0)
        self->ts_mode = TS_DATETIME;
    else {
        Py_DECREF(self);
        PyErr_Format(PyExc_ValueError,
                     "timestamp must be 'auto', 'int', 'numpy' or 'datetime', not '%s'", ts);
        return NULL;
    }
    return (PyObject *)self;
fail:
    Py_XDECREF(names);
    return NULL;
}

static int kc_traverse(KeyCodec *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->components);
    return 0;
}

static int kc_clear(KeyCodec *self)
{
    Py_CLEAR(self->components);
    return 0;
}

static void kc_dealloc(KeyCodec *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    kc_clear(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyObject *kc_get_components(KeyCodec *self, void *closure)
{
    return Py_NewRef(self->components);
}

static PyObject *kc_get_fixed_size(KeyCodec *self, void *closure)
{
    if (self->fixed == ZLMDB_KEY_VARIABLE)
        Py_RETURN_NONE;
    return PyLong_FromSize_t(self->fixed);
}

static PyObject *kc_repr(KeyCodec *self)
{
    return PyUnicode_FromFormat("KeyCodec(%R)", self->components);
}

static PyMethodDef kc_methods[] = {
    {"encode", (PyCFunction)(void (*)(void))kc_encode, METH_FASTCALL | METH_KEYWORDS,
     "encode($self, key, /, *, null_as_zero=False, lenient=False, value=False)\n--\n\n"
     "Encode a full key to bytes: a tuple with one value per component, or the\n"
     "bare value for a one-component codec.  None components are refused unless\n"
     "null_as_zero (then they encode as the type's zero value, for range bounds).\n"
     "lenient accepts what decode() accepts (oids above 2**53, negative timestamps).\n"
     "value words the errors for a stored value (a map's value codec), not a key."},
    {"encode_prefix", (PyCFunction)(void (*)(void))kc_encode_prefix,
     METH_FASTCALL | METH_KEYWORDS,
     "encode_prefix($self, values, /, *, null_as_zero=False, lenient=False)\n--\n\n"
     "Encode the first len(values) components (a tuple): every full key whose\n"
     "first components equal these starts with the result."},
    {"decode", (PyCFunction)kc_decode, METH_O,
     "decode($self, data, /)\n--\n\n"
     "Decode a key (without slot prefix): a tuple, or the bare value for a\n"
     "one-component codec."},
    {NULL, NULL, 0, NULL}
};

static PyGetSetDef kc_getset[] = {
    {"components", (getter)kc_get_components, NULL, "the component type names", NULL},
    {"fixed_size", (getter)kc_get_fixed_size, NULL,
     "the encoded size in bytes, or None when the layout has a string", NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static PyType_Slot kc_slots[] = {
    {Py_tp_new, kc_new},
    {Py_tp_dealloc, kc_dealloc},
    {Py_tp_traverse, kc_traverse},
    {Py_tp_clear, kc_clear},
    {Py_tp_methods, kc_methods},
    {Py_tp_getset, kc_getset},
    {Py_tp_repr, kc_repr},
    {Py_tp_doc, "KeyCodec(components, *, timestamp='auto')\n--\n\n"
                "Order-preserving key encoder/decoder for a key layout given as a tuple of\n"
                "component type names: uint8 uint16 uint16le uint32 uint64 oid uuid\n"
                "timestamp bytes16 bytes20 bytes32 string (see docs/codecs.md)."},
    {0, NULL}
};

static PyType_Spec kc_spec = {
    .name = "zlmdb._native.KeyCodec",
    .basicsize = sizeof(KeyCodec),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = kc_slots,
};

int zpy_key_init(PyObject *module, zpy_codec_state *cs)
{
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL)
        return -1;
    cs->KeyCodecType = PyType_FromModuleAndSpec(module, &kc_spec, NULL);
    if (cs->KeyCodecType == NULL)
        return -1;
    return PyModule_AddObjectRef(module, "KeyCodec", cs->KeyCodecType);
}

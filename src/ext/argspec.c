/* Argument parsing with py-lmdb's rules, over vectorcall arguments.
 *
 * Each method declares a table of (name, type, offset) rows and a struct
 * holding the defaults; positionals fill rows in order, keywords are matched
 * by name, and None means "keep the default".  Keyword lookups compare
 * interned names by identity first, so the common case costs one pointer
 * comparison per row. */
#include <limits.h>
#include <stdint.h>

#include "zpy.h"

char zpy_absent[1];

void zpy_views_release(zpy_views *views)
{
    int i;
    if (views == NULL)
        return;
    for (i = 0; i < views->count; i++)
        PyBuffer_Release(&views->views[i]);
    views->count = 0;
}

ZPY_NOINLINE static int val_from_buffer_slow(PyObject *obj, MDB_val *val, zpy_views *views)
{
    Py_buffer *view;

    if (PyUnicode_Check(obj) && PyUnicode_CheckExact(obj)) {
        zpy_type_error("Won't implicitly convert Unicode to bytes; use .encode()");
        return -1;
    }
    /* The view stays held until the LMDB call is done, so a mutable buffer
     * cannot be resized or freed underneath LMDB. */
    if (views == NULL || views->count >= ZPY_MAX_VIEWS) {
        PyErr_SetString(PyExc_SystemError, "zlmdb: too many buffer arguments");
        return -1;
    }
    view = &views->views[views->count];
    if (PyObject_GetBuffer(obj, view, PyBUF_SIMPLE) < 0)
        return -1;
    views->count++;
    val->mv_data = view->buf;
    val->mv_size = (size_t)view->len;
    return 0;
}

int zpy_val_from_obj(PyObject *obj, MDB_val *val, zpy_views *views)
{
    if (ZPY_LIKELY(PyBytes_CheckExact(obj))) {
        val->mv_data = PyBytes_AS_STRING(obj);
        val->mv_size = (size_t)PyBytes_GET_SIZE(obj);
        return 0;
    }
    return val_from_buffer_slow(obj, val, views);
}

ZPY_NOINLINE static int parse_unsigned(PyObject *obj, unsigned long long max,
                                       unsigned long long *out)
{
    PyObject *zero, *limit;
    int rc;

    zero = PyLong_FromLong(0);
    if (zero == NULL)
        return -1;
    rc = PyObject_RichCompareBool(obj, zero, Py_GE);
    Py_DECREF(zero);
    if (rc < 0)
        return -1;
    if (!rc) {
        PyErr_SetString(PyExc_OverflowError, "Integer argument must be >= 0");
        return -1;
    }
    limit = PyLong_FromUnsignedLongLong(max);
    if (limit == NULL)
        return -1;
    rc = PyObject_RichCompareBool(obj, limit, Py_LE);
    Py_DECREF(limit);
    if (rc < 0)
        return -1;
    if (!rc) {
        PyErr_SetString(PyExc_OverflowError, "Integer argument exceeds limit.");
        return -1;
    }
    *out = PyLong_AsUnsignedLongLongMask(obj);
    if (*out == (unsigned long long)-1 && PyErr_Occurred())
        return -1;
    return 0;
}

static int parse_one(zpy_state *st, const zpy_argspec *row, PyObject *val, void *out,
                     zpy_views *views)
{
    char *dst = (char *)out + row->offset;
    unsigned long long u;
    int b;

    if (val == Py_None)
        return 0;
    switch (row->type) {
    case ZPY_ARG_OBJ:
        *(PyObject **)dst = val;
        return 0;
    case ZPY_ARG_BOOL:
        if (val == Py_True)
            b = 1;
        else if (val == Py_False)
            b = 0;
        else if ((b = PyObject_IsTrue(val)) < 0)
            return -1;
        *(int *)dst = b;
        return 0;
    case ZPY_ARG_INT:
        if (parse_unsigned(val, INT_MAX, &u) < 0)
            return -1;
        *(int *)dst = (int)u;
        return 0;
    case ZPY_ARG_SIZE:
        if (parse_unsigned(val, SIZE_MAX, &u) < 0)
            return -1;
        *(size_t *)dst = (size_t)u;
        return 0;
    case ZPY_ARG_BUF:
        return zpy_val_from_obj(val, (MDB_val *)dst, views);
    case ZPY_ARG_ENV:
        if (Py_TYPE(val) != st->EnvType)
            goto bad_type;
        *(PyObject **)dst = val;
        return 0;
    case ZPY_ARG_TXN:
        if (!PyObject_TypeCheck(val, st->TxnType))
            goto bad_type;
        *(PyObject **)dst = val;
        return 0;
    case ZPY_ARG_DB:
        if (Py_TYPE(val) != st->DbType)
            goto bad_type;
        *(PyObject **)dst = val;
        return 0;
    }
bad_type:
    zpy_type_error("invalid type");
    return -1;
}

static int find_keyword(const zpy_argspec *spec, int nspec, PyObject *name)
{
    int i;
    /* Keyword names in calls are interned, and so are identifiers compared
     * through PyUnicode_CompareWithASCIIString's fast path; a plain string
     * compare per row is cheap for tables of at most 16 rows. */
    for (i = 0; i < nspec; i++)
        if (PyUnicode_CompareWithASCIIString(name, spec[i].name) == 0)
            return i;
    return -1;
}

int zpy_parse_args(zpy_state *st, const zpy_argspec *spec, int nspec,
                   PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                   void *out, zpy_views *views)
{
    Py_ssize_t i, nkw;
    unsigned int given = 0;

    if (nargs > nspec) {
        zpy_type_error("too many positional arguments.");
        goto fail;
    }
    for (i = 0; i < nargs; i++) {
        given |= 1u << i;
        if (parse_one(st, &spec[i], args[i], out, views) < 0)
            goto fail;
    }
    nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (i = 0; i < nkw; i++) {
        PyObject *name = PyTuple_GET_ITEM(kwnames, i);
        int idx = find_keyword(spec, nspec, name);
        if (idx < 0) {
            zpy_type_error("unrecognized keyword argument");
            goto fail;
        }
        if (given & (1u << idx)) {
            PyErr_Format(PyExc_TypeError, "duplicate argument: %U", name);
            goto fail;
        }
        given |= 1u << idx;
        if (parse_one(st, &spec[idx], args[nargs + i], out, views) < 0)
            goto fail;
    }
    return 0;
fail:
    zpy_views_release(views);
    return -1;
}

int zpy_parse_tuple(zpy_state *st, const zpy_argspec *spec, int nspec, PyObject *args,
                    PyObject *kwds, void *out, zpy_views *views)
{
    PyObject *stack[32];
    PyObject *kwnames = NULL, *key, *value;
    Py_ssize_t nargs = PyTuple_GET_SIZE(args), nkw = kwds ? PyDict_GET_SIZE(kwds) : 0;
    Py_ssize_t i, pos = 0;
    int rc;

    if (nargs > nspec) {
        zpy_type_error("too many positional arguments.");
        return -1;
    }
    if (nargs + nkw > (Py_ssize_t)(sizeof(stack) / sizeof(stack[0]))) {
        zpy_type_error("unrecognized keyword argument");
        return -1;
    }
    for (i = 0; i < nargs; i++)
        stack[i] = PyTuple_GET_ITEM(args, i);
    if (nkw) {
        kwnames = PyTuple_New(nkw);
        if (kwnames == NULL)
            return -1;
        i = 0;
        while (PyDict_Next(kwds, &pos, &key, &value)) {
            Py_INCREF(key);
            PyTuple_SET_ITEM(kwnames, i, key);
            stack[nargs + i] = value;
            i++;
        }
    }
    rc = zpy_parse_args(st, spec, nspec, stack, nargs, kwnames, out, views);
    Py_XDECREF(kwnames);
    return rc;
}

/* _native's binding of libzlmdb's slot registry, catalog and whole-slot
 * operations (include/zlmdb.h, "Slot registry and catalog").  Each function
 * takes a zlmdb.lmdb Transaction and works on its default database, in
 * that one transaction; the rules themselves live in src/lib/registry.c. */
#include "zpy.h"
#include "table_int.h"

/* The transaction argument: a live Transaction of this module. */
static zpy_Txn *txn_arg(zpy_state *st, PyObject *obj)
{
    zpy_Txn *t;

    if (!PyObject_TypeCheck(obj, st->TxnType)) {
        PyErr_Format(PyExc_TypeError, "expected a zlmdb.lmdb.Transaction, not %.100s",
                     Py_TYPE(obj)->tp_name);
        return NULL;
    }
    t = (zpy_Txn *)obj;
    if (!t->node.valid) {
        zpy_err_invalid(st);
        return NULL;
    }
    return t;
}

static int slot_arg(PyObject *obj, uint16_t *out)
{
    long v = PyLong_AsLong(obj);

    if (v == -1 && PyErr_Occurred())
        return -1;
    if (v < 0 || v > 0xFFFF) {
        PyErr_Format(PyExc_ValueError, "slot %ld is out of range (0 .. 65535)", v);
        return -1;
    }
    *out = (uint16_t)v;
    return 0;
}

/* The arguments (txn, slot, ...) of a function taking `n` of them. */
static int txn_slot_args(zpy_state *st, const char *name, PyObject *const *args,
                         Py_ssize_t nargs, Py_ssize_t n, zpy_Txn **t, uint16_t *slot)
{
    if (nargs != n) {
        PyErr_Format(PyExc_TypeError, "%s() takes exactly %zd arguments", name, n);
        return -1;
    }
    if ((*t = txn_arg(st, args[0])) == NULL || slot_arg(args[1], slot) < 0)
        return -1;
    return 0;
}

PyDoc_STRVAR(registry_attach_doc,
"registry_attach(txn, oid, name, description, creator, find_only)\n--\n\n"
"The slot of table `oid` (text), found in the registry or, unless\n"
"`find_only`, registered after the highest slot, in the one transaction\n"
"`txn`: (slot, created), or None when `find_only` and it is not there.");

static PyObject *registry_attach(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    zpy_state *st = PyModule_GetState(module);
    zlmdb_slot_record rec = ZLMDB_SLOT_RECORD_INIT;
    const char *text[4];
    int find_only, created = 0, rc, i;
    uint16_t slot = 0;
    zpy_Txn *t;

    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "registry_attach() takes exactly 6 arguments");
        return NULL;
    }
    if ((t = txn_arg(st, args[0])) == NULL)
        return NULL;
    for (i = 0; i < 4; i++) {
        text[i] = NULL;
        if (args[1 + i] != Py_None && (text[i] = PyUnicode_AsUTF8(args[1 + i])) == NULL)
            return NULL;
    }
    if ((find_only = PyObject_IsTrue(args[5])) < 0)
        return NULL;
    rec.oid = text[0];
    rec.name = text[1];
    rec.description = text[2];
    rec.creator = text[3];
    /* Small reads and at most one write: done with the GIL held, so
     * the registry is never read by two threads of ours at once. */
    rc = zlmdb_registry_attach(t->eng, t->txn, t->db->dbi, &rec,
                               find_only ? ZLMDB_REGISTRY_FIND_ONLY : 0, &slot, &created);
    if (created)
        t->mutations++;
    if (rc == ZLMDB_NOTFOUND && find_only) {
        zlmdb_error_clear();
        Py_RETURN_NONE;
    }
    if (rc)
        return zpy_err_set(st, "registry_attach", rc);
    return Py_BuildValue("(iO)", (int)slot, created ? Py_True : Py_False);
}

static int add_record(uint16_t slot, const MDB_val *record, void *payload)
{
    PyObject *key, *val;
    int rc;

    if ((key = PyLong_FromLong(slot)) == NULL)
        return ZLMDB_ENOMEM;
    val = PyBytes_FromStringAndSize(record->mv_data, (Py_ssize_t)record->mv_size);
    rc = val ? PyDict_SetItem((PyObject *)payload, key, val) : -1;
    Py_DECREF(key);
    Py_XDECREF(val);
    return rc < 0 ? ZLMDB_ENOMEM : 0;
}

PyDoc_STRVAR(registry_read_doc,
"registry_read(txn)\n--\n\n"
"Every registry record: {slot: record bytes}.");

static PyObject *registry_read(PyObject *module, PyObject *arg)
{
    zpy_state *st = PyModule_GetState(module);
    PyObject *out;
    zpy_Txn *t;
    int rc;

    if ((t = txn_arg(st, arg)) == NULL || (out = PyDict_New()) == NULL)
        return NULL;
    rc = zlmdb_registry_foreach(t->eng, t->txn, t->db->dbi, add_record, out);
    if (rc) {
        Py_DECREF(out);
        if (PyErr_Occurred())       /* the callback's own failure */
            return NULL;
        return zpy_err_set(st, "registry_read", rc);
    }
    return out;
}

PyDoc_STRVAR(catalog_read_doc,
"catalog_read(txn)\n--\n\n"
"The catalog record's bytes (a CBOR map from slot to entry), or None.");

static PyObject *catalog_read(PyObject *module, PyObject *arg)
{
    zpy_state *st = PyModule_GetState(module);
    zpy_Txn *t;
    MDB_val v;
    int rc;

    if ((t = txn_arg(st, arg)) == NULL)
        return NULL;
    rc = zlmdb_catalog_read(t->eng, t->txn, t->db->dbi, &v);
    if (rc == ZLMDB_NOTFOUND) {
        zlmdb_error_clear();
        Py_RETURN_NONE;
    }
    if (rc)
        return zpy_err_set(st, "catalog_read", rc);
    return PyBytes_FromStringAndSize(v.mv_data, (Py_ssize_t)v.mv_size);
}

PyDoc_STRVAR(catalog_put_doc,
"catalog_put(txn, slot, entry)\n--\n\n"
"Set slot's catalog entry to the CBOR item `entry` (bytes), or remove it\n"
"(None), keeping the other entries.");

static PyObject *catalog_put(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    zpy_state *st = PyModule_GetState(module);
    uint16_t slot;
    zpy_Txn *t;
    int rc;

    if (txn_slot_args(st, "catalog_put", args, nargs, 3, &t, &slot) < 0)
        return NULL;
    if (args[2] == Py_None) {
        rc = zlmdb_catalog_put(t->eng, t->txn, t->db->dbi, slot, NULL, 0);
    } else if (PyBytes_Check(args[2])) {
        rc = zlmdb_catalog_put(t->eng, t->txn, t->db->dbi, slot, PyBytes_AS_STRING(args[2]),
                               (size_t)PyBytes_GET_SIZE(args[2]));
    } else {
        PyErr_SetString(PyExc_TypeError, "catalog entry must be bytes or None");
        return NULL;
    }
    t->mutations++;
    if (rc)
        return zpy_err_set(st, "catalog_put", rc);
    Py_RETURN_NONE;
}

/* slot_count and slot_clear walk a whole slot: with the GIL released. */
static PyObject *slot_walk(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                           int clear)
{
    zpy_state *st = PyModule_GetState(module);
    const char *name = clear ? "slot_clear" : "slot_count";
    uint16_t slot;
    size_t n = 0;
    zpy_Txn *t;
    int rc;

    if (txn_slot_args(st, name, args, nargs, 2, &t, &slot) < 0)
        return NULL;
    zpy_txn_op_enter(t);
    ZPY_BEGIN_LMDB
    rc = clear ? zlmdb_slot_clear(t->eng, t->txn, t->db->dbi, slot, &n)
               : zlmdb_slot_count(t->eng, t->txn, t->db->dbi, slot, &n);
    ZPY_END_LMDB
    zpy_txn_op_leave(t);
    if (clear)
        t->mutations++;
    if (rc)
        return zpy_err_set(st, name, rc);
    return PyLong_FromSize_t(n);
}

PyDoc_STRVAR(slot_count_doc,
"slot_count(txn, slot)\n--\n\nThe number of keys in `slot`.");

static PyObject *slot_count(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return slot_walk(module, args, nargs, 0);
}

PyDoc_STRVAR(slot_clear_doc,
"slot_clear(txn, slot)\n--\n\nDelete every key of `slot`; the number deleted.");

static PyObject *slot_clear(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return slot_walk(module, args, nargs, 1);
}

PyDoc_STRVAR(prefix_count_doc,
"prefix_count(txn, prefix)\n--\n\nThe number of keys of the main database that\n"
"start with the bytes `prefix` (a slot's keys start with its 2-byte number).");

static PyObject *prefix_count(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    zpy_state *st = PyModule_GetState(module);
    Py_buffer prefix;
    size_t n = 0;
    zpy_Txn *t;
    int rc;

    if (nargs != 2)
        return PyErr_Format(PyExc_TypeError, "prefix_count() takes exactly 2 arguments");
    if ((t = txn_arg(st, args[0])) == NULL ||
        PyObject_GetBuffer(args[1], &prefix, PyBUF_SIMPLE) < 0)
        return NULL;
    zpy_txn_op_enter(t);
    ZPY_BEGIN_LMDB
    rc = zlmdb__prefix_count(t->eng, t->txn, t->db->dbi, prefix.buf, (size_t)prefix.len, &n);
    ZPY_END_LMDB
    zpy_txn_op_leave(t);
    PyBuffer_Release(&prefix);
    if (rc)
        return zpy_err_set(st, "prefix_count", rc);
    return PyLong_FromSize_t(n);
}

static PyMethodDef registry_methods[] = {
    {"registry_attach", (PyCFunction)(void (*)(void))registry_attach, METH_FASTCALL,
     registry_attach_doc},
    {"registry_read", registry_read, METH_O, registry_read_doc},
    {"catalog_read", catalog_read, METH_O, catalog_read_doc},
    {"catalog_put", (PyCFunction)(void (*)(void))catalog_put, METH_FASTCALL, catalog_put_doc},
    {"slot_count", (PyCFunction)(void (*)(void))slot_count, METH_FASTCALL, slot_count_doc},
    {"slot_clear", (PyCFunction)(void (*)(void))slot_clear, METH_FASTCALL, slot_clear_doc},
    {"prefix_count", (PyCFunction)(void (*)(void))prefix_count, METH_FASTCALL,
     prefix_count_doc},
    {NULL, NULL, 0, NULL}
};

int zpy_registry_add(PyObject *module)
{
    return PyModule_AddFunctions(module, registry_methods);
}

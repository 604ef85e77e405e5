/* _Database: a named (or the main) database handle of an Environment. */
#include "zpy.h"

int zpy_db_owner_check(zpy_state *st, zpy_Db *db, zpy_Env *env)
{
    if (db->env != env || !db->node.valid) {
        /* py-lmdb formats this through its generic "<what>: <strerror(rc)>"
         * path with rc 0, hence the odd suffix; kept for compatibility. */
        zpy_err_set(st, "Database handle belongs to another environment.", 0);
        return 0;
    }
    return 1;
}

static void db_release(zpy_Node *node)
{
    /* The dbi itself is never closed: LMDB reuses handles by name, and
     * mdb_dbi_close races with other transactions using it. */
    zpy_node_unlink(node);
    ((zpy_Db *)node)->env = NULL;
}

static void db_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    zpy_node_unlink(&((zpy_Db *)self)->node);
    tp->tp_free(self);
    Py_DECREF(tp);
}

zpy_Db *zpy_db_open(zpy_Env *env, MDB_txn *txn, const char *name, unsigned int flags)
{
    zpy_state *st = zpy_state_of(env);
    MDB_dbi dbi;
    unsigned int got;
    zpy_Db *db;
    int rc;

    /* mdb_dbi_open may read pages (fault them in): release the GIL, keeping
     * the env alive through the operation bracket. */
    if (zpy_env_op_enter(env) < 0)
        return NULL;
    ZPY_BEGIN_LMDB
    rc = env->eng->dbi_open(txn, name, flags, &dbi);
    ZPY_END_LMDB
    zpy_env_op_leave(env);
    if (rc) {
        zpy_err_set(st, "mdb_dbi_open", rc);
        return NULL;
    }
    rc = env->eng->dbi_flags(txn, dbi, &got);
    if (rc) {
        zpy_err_set(st, "mdb_dbi_flags", rc);
        return NULL;
    }
    db = PyObject_New(zpy_Db, st->DbType);
    if (db == NULL)
        return NULL;
    zpy_node_init(&db->node, db_release);
    zpy_node_link(&env->node, &db->node);
    db->env = env;
    db->dbi = dbi;
    db->flags = got;
    return db;
}

static PyObject *db_flags(PyObject *self, PyObject *args, PyObject *kwds)
{
    zpy_Db *db = (zpy_Db *)self;
    PyObject *d;
    unsigned int f = db->flags;

    /* py-lmdb accepts and ignores one positional (a txn) and any keyword. */
    if (PyTuple_GET_SIZE(args) > 1)
        return zpy_type_error("too many positional arguments.");
    /* Answered from the handle even after its env closed, as py-lmdb. */
    d = PyDict_New();
    if (d == NULL)
        return NULL;
    if (PyDict_SetItemString(d, "reverse_key", (f & MDB_REVERSEKEY) ? Py_True : Py_False) ||
        PyDict_SetItemString(d, "dupsort", (f & MDB_DUPSORT) ? Py_True : Py_False) ||
        PyDict_SetItemString(d, "integerkey", (f & MDB_INTEGERKEY) ? Py_True : Py_False) ||
        PyDict_SetItemString(d, "integerdup", (f & MDB_INTEGERDUP) ? Py_True : Py_False) ||
        PyDict_SetItemString(d, "dupfixed", (f & MDB_DUPFIXED) ? Py_True : Py_False)) {
        Py_DECREF(d);
        return NULL;
    }
    return d;
}

PyDoc_STRVAR(db_flags_doc,
"flags($self, /, *args, **kwargs)\n--\n\n"
"The database's flags as a dict of bools: reverse_key, dupsort, integerkey,\n"
"integerdup, dupfixed.  Like py-lmdb it takes, and ignores, at most one\n"
"positional argument and any keywords.");

static PyMethodDef db_methods[] = {
    {"flags", (PyCFunction)(void (*)(void))db_flags, METH_VARARGS | METH_KEYWORDS,
     db_flags_doc},
    {NULL, NULL, 0, NULL}
};

static PyType_Slot db_slots[] = {
    {Py_tp_dealloc, db_dealloc},
    {Py_tp_methods, db_methods},
    {Py_tp_doc, (void *)"The handle of one database of an Environment, as returned by\n"
                        "Environment.open_db(); it cannot be created directly."},
    {0, NULL}
};

PyType_Spec zpy_db_spec = {
    .name = "builtins._Database",
    .basicsize = sizeof(zpy_Db),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = db_slots,
};

/* zlmdb.Transaction and zlmdb.TransactionStats: the ORM's transaction.
 *
 * An ORM transaction IS a zlmdb.lmdb.Transaction (a C subtype of it): the
 * persistent maps and the raw get/put/delete work on it directly.  What the
 * ORM adds lives in C fields: the write counters (a TransactionStats), the
 * failed flag (a write stopped after its first LMDB write: commit refuses),
 * and, on a database opened with `growth`, the growth log.
 *
 * Unlike a low-level transaction, the object exists before its LMDB
 * transaction: Database.begin() makes it, `with` (__enter__) begins it, the
 * end of the block commits or aborts it.
 *
 * Growth: a write that meets MDB_MAP_FULL aborts the LMDB transaction,
 * grows the map (up to the database's maxsize), begins again, checks that
 * no other writer committed meanwhile (the new transaction's id is the old
 * one's), and replays the log: every write the transaction made so far,
 * recorded as encoded bytes and replayed through the same C path
 * (zpy_pmap_redo for map writes).  Then the write that failed runs again.
 */
#include "zpy.h"

/* ------------------------------------------------------ TransactionStats */

/* Wall-clock time, as upstream's time.time_ns(): `started` is a timestamp. */
static long long now_ns(void)
{
    return (long long)zlmdb__plat_time_ns();
}

static int stats_init(PyObject *op, PyObject *args, PyObject *kwds)
{
    zpy_TxnStats *self = (zpy_TxnStats *)op;
    if (PyTuple_GET_SIZE(args) != 0 || (kwds != NULL && PyDict_GET_SIZE(kwds) != 0)) {
        PyErr_SetString(PyExc_TypeError, "TransactionStats() takes no arguments");
        return -1;
    }
    self->puts = self->dels = 0;
    self->started = now_ns();
    return 0;
}

static PyObject *stats_reset(PyObject *op, PyObject *unused)
{
    zpy_TxnStats *self = (zpy_TxnStats *)op;
    self->puts = self->dels = 0;
    self->started = now_ns();
    Py_RETURN_NONE;
}

static PyObject *stats_get_started(PyObject *op, void *closure)
{
    return PyLong_FromLongLong(((zpy_TxnStats *)op)->started);
}

static PyObject *stats_get_duration(PyObject *op, void *closure)
{
    zpy_TxnStats *self = (zpy_TxnStats *)op;
    return PyLong_FromLongLong(self->started ? now_ns() - self->started : 0);
}

static void stats_dealloc(PyObject *op)
{
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    tp->tp_free(op);
    Py_DECREF(tp);
}

static int stats_traverse(PyObject *op, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(op));
    return 0;
}

static PyMethodDef stats_methods[] = {
    {"reset", stats_reset, METH_NOARGS,
     PyDoc_STR("reset($self, /)\n--\n\nSet the counts to zero and start timing anew.")},
    {NULL, NULL, 0, NULL}
};

static PyMemberDef stats_members[] = {
    {"puts", T_LONGLONG, offsetof(zpy_TxnStats, puts), 0,
     PyDoc_STR("LMDB puts, index entries included.")},
    {"dels", T_LONGLONG, offsetof(zpy_TxnStats, dels), 0,
     PyDoc_STR("LMDB deletes that removed a key, index entries included.")},
    {NULL, 0, 0, 0, NULL}
};

static PyGetSetDef stats_getset[] = {
    {"started", stats_get_started, NULL,
     PyDoc_STR("When counting started (ns since the epoch)."), NULL},
    {"duration", stats_get_duration, NULL,
     PyDoc_STR("Nanoseconds since counting started."), NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static PyType_Slot stats_slots[] = {
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_init, stats_init},
    {Py_tp_dealloc, stats_dealloc},
    {Py_tp_traverse, stats_traverse},
    {Py_tp_methods, stats_methods},
    {Py_tp_members, stats_members},
    {Py_tp_getset, stats_getset},
    {Py_tp_doc, (void *)PyDoc_STR(
        "TransactionStats()\n--\n\n"
        "Counts of puts and deletes, and the duration, of transactions begun\n"
        "with stats=.  As upstream counts them: puts is every LMDB put, index\n"
        "entries included (a record with two index entries is three puts),\n"
        "dels every delete that removed a key (index entries and truncated\n"
        "records included).")},
    {0, NULL}
};

PyType_Spec zpy_txnstats_spec = {
    .name = "zlmdb.TransactionStats",
    .basicsize = sizeof(zpy_TxnStats),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = stats_slots,
};

/* ------------------------------------------------------------ the log */

static void logrec_clear(zpy_LogRec *r)
{
    Py_CLEAR(r->map);
    Py_CLEAR(r->key);
    Py_CLEAR(r->value);
}

static void log_clear(zpy_OrmTxn *self)
{
    size_t i;
    for (i = 0; i < self->nlog; i++)
        logrec_clear(&self->log[i]);
    self->nlog = 0;
}

int zpy_ormtxn_log_reserve(zpy_OrmTxn *self)
{
    zpy_LogRec *n;
    size_t cap;

    if (self->nlog < self->caplog)
        return 0;
    cap = self->caplog ? self->caplog * 2 : 64;
    n = PyMem_Realloc(self->log, cap * sizeof(*n));
    if (n == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    self->log = n;
    self->caplog = cap;
    return 0;
}

void zpy_ormtxn_log_add(zpy_OrmTxn *self, int op, PyObject *map, PyObject *key,
                        PyObject *value, int flag)
{
    zpy_LogRec *r = &self->log[self->nlog++];   /* reserved: never fails */
    r->op = op;
    r->flag = flag;
    r->map = Py_XNewRef(map);
    r->key = Py_XNewRef(key);
    r->value = Py_XNewRef(value);
}

/* ------------------------------------------------------------- helpers */

static int raw_put(zpy_OrmTxn *self, const MDB_val *k, const MDB_val *v, int overwrite)
{
    zpy_Txn *t = &self->base;
    MDB_val key = *k, val = *v;
    int rc;

    zpy_txn_op_enter(t);
    ZPY_BEGIN_LMDB
    rc = t->eng->put(t->txn, t->db->dbi, &key, &val, overwrite ? 0 : MDB_NOOVERWRITE);
    ZPY_END_LMDB
    zpy_txn_op_leave(t);
    t->mutations++;
    return rc;
}

static int raw_del(zpy_OrmTxn *self, const MDB_val *k)
{
    zpy_Txn *t = &self->base;
    MDB_val key = *k;
    int rc;

    zpy_txn_op_enter(t);
    ZPY_BEGIN_LMDB
    rc = t->eng->del(t->txn, t->db->dbi, &key, NULL);
    ZPY_END_LMDB
    zpy_txn_op_leave(t);
    t->mutations++;
    return rc;
}

static void bytes_val(PyObject *b, MDB_val *v)
{
    v->mv_size = (size_t)PyBytes_GET_SIZE(b);
    v->mv_data = PyBytes_AS_STRING(b);
}

zpy_OrmTxn *zpy_ormtxn_check(zpy_state *st, PyObject *txn)
{
    zpy_OrmTxn *self;

    if (!PyObject_TypeCheck(txn, st->OrmTxnType)) {
        if (PyObject_TypeCheck(txn, st->TxnType))
            PyErr_SetString(PyExc_TypeError,
                            "txn must be a zlmdb.Transaction (from Database.begin()), not a "
                            "zlmdb.lmdb.Transaction (from Environment.begin())");
        else
            PyErr_Format(PyExc_TypeError,
                         "txn must be a zlmdb.Transaction (from Database.begin()), not "
                         "%.100s", Py_TYPE(txn)->tp_name);
        return NULL;
    }
    self = (zpy_OrmTxn *)txn;
    if (!self->base.node.valid) {
        PyErr_SetString(PyExc_RuntimeError,
                        "the transaction is not open: use it inside its with block "
                        "(`with db.begin() as txn:`), which opens it; it ends, committed "
                        "or aborted, with the block, so begin a new one after that");
        return NULL;
    }
    return self;
}

void zpy_ormtxn_count(zpy_OrmTxn *self, size_t puts, size_t dels)
{
    if (self->stats) {
        self->stats->puts += (long long)puts;
        self->stats->dels += (long long)dels;
    }
}

/* Replay one log record; an LMDB code (MDB_MAP_FULL: grow again), or -1
 * with an exception. */
static int replay_one(zpy_state *st, zpy_OrmTxn *self, zpy_LogRec *r)
{
    MDB_val k, v;
    int rc;

    switch (r->op) {
    case ZPY_LOG_RAW_PUT:
        bytes_val(r->key, &k);
        bytes_val(r->value, &v);
        rc = raw_put(self, &k, &v, r->flag);
        return rc == MDB_KEYEXIST ? 0 : rc;
    case ZPY_LOG_RAW_DEL:
        bytes_val(r->key, &k);
        rc = raw_del(self, &k);
        return rc == MDB_NOTFOUND ? 0 : rc;
    default:
        return zpy_pmap_redo(st, self, r);
    }
}

/* The map is full: grow it and redo the transaction so far in a new LMDB
 * transaction.  `old_id` is the id the redone transaction must have.
 * 0, or -1 with an exception (the transaction is then ended). */
static int grow_and_replay(zpy_state *st, zpy_OrmTxn *self, size_t old_id)
{
    zpy_Env *env = self->base.env;
    MDB_envinfo info;
    size_t i, size, want;
    int rc;

    for (;;) {
        if (!env->node.valid || env->env == NULL) {
            zpy_err_invalid(st);
            return -1;
        }
        env->eng->env_info(env->env, &info);
        size = info.me_mapsize;
        if (size >= self->maxsize) {
            /* Before the abort: the block still holds its (failed) LMDB
             * transaction, and ending the block cannot commit it. */
            PyErr_Format(st->exc[ZPY_EXC_MAP_FULL],
                         "mdb_put: MDB_MAP_FULL: the map grew to its ceiling of %zu bytes "
                         "(Database maxsize=): open the database with a larger maxsize=, "
                         "or raise the size recorded in the file with "
                         "`zlmdb grow DBPATH SIZE`", self->maxsize);
            return -1;
        }
        if (self->base.node.valid) {
            PyObject *r = zpy_txn_abort((PyObject *)self, NULL);
            if (r == NULL)
                return -1;
            Py_DECREF(r);
        }
        want = (size_t)((double)size * self->growth);
        if (want < size + ((size_t)1 << 20))
            want = size + ((size_t)1 << 20);
        if (want > self->maxsize)
            want = self->maxsize;
        if (zpy_env_set_mapsize(st, env, want) < 0)
            return -1;
        self->growths++;
        if (zpy_txn_begin(st, &self->base, env, 1, self->buffers) < 0)
            return -1;
        if (self->base.eng->txn_id(self->base.txn) != old_id) {
            PyObject *r = zpy_txn_abort((PyObject *)self, NULL);
            Py_XDECREF(r);
            PyErr_SetString(st->exc[ZPY_EXC_MAP_FULL],
                            "mdb_put: MDB_MAP_FULL: the map was grown, but another writer "
                            "committed meanwhile, so the transaction cannot be redone; "
                            "retry it");
            return -1;
        }
        rc = 0;
        for (i = 0; i < self->nlog && rc == 0; i++)
            rc = replay_one(st, self, &self->log[i]);
        if (rc == 0) {
            /* The LMDB transaction holds exactly the logged (complete)
             * writes: whatever failed part way before was aborted. */
            self->failed = 0;
            return 0;
        }
        if (rc != MDB_MAP_FULL) {
            if (rc > 0 || rc < -1)
                zpy_err_set(st, "mdb_put", rc);
            self->failed = 1;
            return -1;
        }
        /* Still too small: grow again. */
    }
}

int zpy_ormtxn_map_full(zpy_state *st, zpy_OrmTxn *self)
{
    if (!self->logging)
        return 0;
    if (grow_and_replay(st, self, self->base.eng->txn_id(self->base.txn)) < 0) {
        self->failed = 1;
        return -1;
    }
    return 1;
}

/* --------------------------------------------------------- Transaction */

struct ormtxn_new_args {
    PyObject *env;
    int write, buffers;
    PyObject *stats;
    double growth;
    Py_ssize_t maxsize;
};

/* Transaction(db, write=..., buffers=..., stats=...), upstream's way of making
 * one, is db.begin(...) under another name: the Database's own checks
 * (read-only, closed) and its growth settings then apply. */
static PyObject *from_database(zpy_state *st, PyObject *db, int write, int buffers,
                               PyObject *stats, int engine_args)
{
    PyObject *begin, *kw, *none, *txn = NULL;

    if (engine_args) {
        PyErr_SetString(PyExc_TypeError,
                        "Transaction(db, ...): growth= and maxsize= come from the Database; "
                        "pass them to zlmdb.Database(...) instead");
        return NULL;
    }
    begin = PyObject_GetAttrString(db, "begin");
    if (begin == NULL) {
        PyErr_Clear();
        return PyErr_Format(PyExc_TypeError,
                            "Transaction(db, ...): db must be a zlmdb.Database, not %.200s "
                            "(or use db.begin(write=...))", Py_TYPE(db)->tp_name);
    }
    kw = Py_BuildValue("{s:O,s:O,s:O}", "write", write ? Py_True : Py_False, "buffers",
                       buffers ? Py_True : Py_False, "stats", stats);
    none = PyTuple_New(0);
    if (kw != NULL && none != NULL)
        txn = PyObject_Call(begin, none, kw);
    Py_XDECREF(none);
    Py_XDECREF(kw);
    Py_DECREF(begin);
    if (txn != NULL && !PyObject_TypeCheck(txn, st->OrmTxnType)) {
        PyErr_Format(PyExc_TypeError, "Transaction(db, ...): %.200s.begin() returned %.200s, "
                     "not a zlmdb.Transaction", Py_TYPE(db)->tp_name, Py_TYPE(txn)->tp_name);
        Py_CLEAR(txn);
    }
    return txn;
}

static PyObject *ormtxn_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"db", "write", "buffers", "stats", "growth", "maxsize", NULL};
    zpy_state *st = zpy_state_of_type(type);
    PyObject *env = Py_None, *stats = Py_None;
    int write = 0, buffers = 0;
    double growth = -1.0;
    Py_ssize_t maxsize = -1;
    zpy_OrmTxn *self;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|ppOdn:Transaction", kwlist, &env, &write,
                                     &buffers, &stats, &growth, &maxsize))
        return NULL;
    if (env != Py_None && !PyObject_TypeCheck(env, st->EnvType))
        return from_database(st, env, write, buffers, stats, growth != -1.0 || maxsize != -1);
    if (growth == -1.0)
        growth = 0.0;
    if (maxsize == -1)
        maxsize = 0;
    if (stats != Py_None && !PyObject_TypeCheck(stats, st->TxnStatsType))
        return zpy_type_error("stats must be a zlmdb.TransactionStats or None");
    if (growth != 0.0 && (growth <= 1.0 || maxsize <= 0))
        return zpy_type_error("growth must be > 1 with a positive maxsize, or 0");
    self = (zpy_OrmTxn *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    zpy_txn_blank(&self->base);
    self->envobj = env == Py_None ? NULL : (zpy_Env *)Py_NewRef(env);
    self->stats = stats == Py_None ? NULL : (zpy_TxnStats *)Py_NewRef(stats);
    self->write = write;
    self->buffers = buffers;
    self->growth = write ? growth : 0.0;
    self->maxsize = (size_t)maxsize;
    return (PyObject *)self;
}

static int ormtxn_traverse(PyObject *op, visitproc visit, void *arg)
{
    zpy_OrmTxn *self = (zpy_OrmTxn *)op;
    size_t i;
    Py_VISIT(Py_TYPE(op));
    Py_VISIT(self->envobj);
    Py_VISIT(self->stats);
    for (i = 0; i < self->nlog; i++) {
        Py_VISIT(self->log[i].map);
        Py_VISIT(self->log[i].key);
        Py_VISIT(self->log[i].value);
    }
    return 0;
}

static int ormtxn_clear(PyObject *op)
{
    zpy_OrmTxn *self = (zpy_OrmTxn *)op;
    Py_CLEAR(self->stats);
    log_clear(self);
    return 0;
}

static void ormtxn_dealloc(PyObject *op)
{
    zpy_OrmTxn *self = (zpy_OrmTxn *)op;
    PyObject_GC_UnTrack(op);
    ormtxn_clear(op);
    PyMem_Free(self->log);
    self->log = NULL;
    Py_CLEAR(self->envobj);
    zpy_txn_dealloc(op);    /* the LMDB handle, the lifetime tree, tp_free */
}

static PyObject *ormtxn_enter(PyObject *op, PyObject *unused)
{
    zpy_OrmTxn *self = (zpy_OrmTxn *)op;
    zpy_state *st = zpy_state_of(op);

    if (self->base.node.valid) {
        PyErr_SetString(PyExc_RuntimeError, "transaction already entered");
        return NULL;
    }
    if (self->envobj == NULL || !self->envobj->node.valid) {
        PyErr_SetString(PyExc_RuntimeError, "database is closed");
        return NULL;
    }
    if (zpy_txn_begin(st, &self->base, self->envobj, self->write, self->buffers) < 0)
        return NULL;
    self->failed = 0;
    self->logging = self->growth > 1.0;
    log_clear(self);
    return Py_NewRef(op);
}

static PyObject *refuse_failed(zpy_state *st)
{
    PyErr_SetString(st->exc[ZPY_EXC_BAD_TXN],
                    "a write of this transaction failed halfway through, so it was "
                    "aborted instead of committed");
    return NULL;
}

/* Commit, refusing a failed transaction; LMDB may also run out of map in
 * the commit itself (saving the free list takes pages): a growing
 * database grows and redoes the transaction then too. */
static PyObject *ormtxn_commit(PyObject *op, PyObject *unused)
{
    zpy_OrmTxn *self = (zpy_OrmTxn *)op;
    zpy_state *st = zpy_state_of(op);
    PyObject *r;
    size_t id;

    if (zpy_ormtxn_check(st, op) == NULL)
        return NULL;
    if (self->failed) {
        r = zpy_txn_abort(op, NULL);
        Py_XDECREF(r);
        zpy_txn_park(&self->base);
        log_clear(self);
        return refuse_failed(st);
    }
    for (;;) {
        id = self->base.eng->txn_id(self->base.txn);
        r = zpy_txn_commit(op, NULL);
        if (r != NULL || !self->logging || !PyErr_ExceptionMatches(st->exc[ZPY_EXC_MAP_FULL]))
            break;
        PyErr_Clear();
        self->growths_at_commit++;
        if (grow_and_replay(st, self, id) < 0) {
            if (self->base.node.valid) {
                PyObject *type, *value, *tb;
                PyErr_Fetch(&type, &value, &tb);
                r = zpy_txn_abort(op, NULL);
                Py_XDECREF(r);
                PyErr_Restore(type, value, tb);
            }
            r = NULL;
            break;
        }
    }
    log_clear(self);
    if (!self->base.node.valid)
        zpy_txn_park(&self->base);
    if (r == NULL)
        zpy_err_orm_current(st);
    return r;
}

static PyObject *ormtxn_abort(PyObject *op, PyObject *unused)
{
    zpy_OrmTxn *self = (zpy_OrmTxn *)op;
    PyObject *r;

    log_clear(self);
    if (!self->base.node.valid && self->base.txn == NULL)
        Py_RETURN_NONE;
    r = zpy_txn_abort(op, NULL);
    if (!self->base.node.valid)
        zpy_txn_park(&self->base);
    return r;
}

static PyObject *ormtxn_exit(PyObject *op, PyObject *const *args, Py_ssize_t nargs)
{
    zpy_OrmTxn *self = (zpy_OrmTxn *)op;
    PyObject *exc_type = nargs > 0 ? args[0] : Py_None;
    PyObject *r;

    if (!self->base.node.valid) {
        /* Ended under the block: by a failed growth (the writes are lost:
         * say so, unless the block raised already) or by abort()/commit(). */
        r = ormtxn_abort(op, NULL);
        if (r && self->failed && exc_type == Py_None) {
            Py_DECREF(r);
            return refuse_failed(zpy_state_of(op));
        }
    } else if (exc_type == Py_None)
        r = ormtxn_commit(op, NULL);
    else
        r = ormtxn_abort(op, NULL);
    if (r == NULL)
        return NULL;
    Py_DECREF(r);
    Py_RETURN_FALSE;
}

static PyObject *ormtxn_id(PyObject *op, PyObject *unused)
{
    zpy_OrmTxn *self = (zpy_OrmTxn *)op;
    if (zpy_ormtxn_check(zpy_state_of(op), op) == NULL)
        return NULL;
    return PyLong_FromSize_t(self->base.eng->txn_id(self->base.txn));
}

static PyObject *ormtxn_get(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                            PyObject *kwnames)
{
    if (zpy_ormtxn_check(zpy_state_of(op), op) == NULL)
        return NULL;
    return zpy_txn_get(op, args, nargs, kwnames);
}

/* Run a raw write, growing the map when it is full (growth on). */
static int raw_write(zpy_state *st, zpy_OrmTxn *self, int op, const MDB_val *k,
                     const MDB_val *v, int overwrite)
{
    int rc, g;
    for (;;) {
        rc = op == ZPY_LOG_RAW_PUT ? raw_put(self, k, v, overwrite) : raw_del(self, k);
        if (rc != MDB_MAP_FULL)
            return rc;
        if ((g = zpy_ormtxn_map_full(st, self)) <= 0)
            return g < 0 ? -1 : rc;
    }
}

/* put(key, data, overwrite=True): a raw put of a physical key, counted and,
 * with growth, logged.  False when the key exists and not overwrite. */
static PyObject *ormtxn_put(PyObject *op, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"key", "data", "overwrite", NULL};
    zpy_OrmTxn *self = (zpy_OrmTxn *)op;
    zpy_state *st = zpy_state_of(op);
    PyObject *key, *data;
    int overwrite = 1, rc;
    MDB_val k, v;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!O!|p:put", kwlist, &PyBytes_Type, &key,
                                     &PyBytes_Type, &data, &overwrite))
        return NULL;
    if (zpy_ormtxn_check(st, op) == NULL)
        return NULL;
    if (self->logging && zpy_ormtxn_log_reserve(self) < 0)
        return NULL;
    bytes_val(key, &k);
    bytes_val(data, &v);
    rc = raw_write(st, self, ZPY_LOG_RAW_PUT, &k, &v, overwrite);
    if (rc == MDB_KEYEXIST)
        Py_RETURN_FALSE;
    if (rc == -1)
        return NULL;
    if (rc)
        return zpy_err_orm(st, "mdb_put", rc);
    if (self->logging)
        zpy_ormtxn_log_add(self, ZPY_LOG_RAW_PUT, NULL, key, data, overwrite);
    zpy_ormtxn_count(self, 1, 0);
    Py_RETURN_TRUE;
}

/* delete(key): a raw delete of a physical key; True when it existed. */
static PyObject *ormtxn_delete(PyObject *op, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"key", NULL};
    zpy_OrmTxn *self = (zpy_OrmTxn *)op;
    zpy_state *st = zpy_state_of(op);
    PyObject *key;
    MDB_val k;
    int rc;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!:delete", kwlist, &PyBytes_Type, &key))
        return NULL;
    if (zpy_ormtxn_check(st, op) == NULL)
        return NULL;
    if (self->logging && zpy_ormtxn_log_reserve(self) < 0)
        return NULL;
    bytes_val(key, &k);
    rc = raw_write(st, self, ZPY_LOG_RAW_DEL, &k, NULL, 1);
    if (rc == MDB_NOTFOUND)
        Py_RETURN_FALSE;
    if (rc == -1)
        return NULL;
    if (rc)
        return zpy_err_orm(st, "mdb_del", rc);
    if (self->logging)
        zpy_ormtxn_log_add(self, ZPY_LOG_RAW_DEL, NULL, key, NULL, 0);
    zpy_ormtxn_count(self, 0, 1);
    Py_RETURN_TRUE;
}

static PyObject *ormtxn_get_stats(PyObject *op, void *closure)
{
    zpy_OrmTxn *self = (zpy_OrmTxn *)op;
    return Py_NewRef(self->stats ? (PyObject *)self->stats : Py_None);
}

static PyObject *ormtxn_get_failed(PyObject *op, void *closure)
{
    return PyBool_FromLong(((zpy_OrmTxn *)op)->failed);
}

static PyObject *ormtxn_get_write(PyObject *op, void *closure)
{
    return PyBool_FromLong(((zpy_OrmTxn *)op)->write);
}

static PyObject *ormtxn_get_open(PyObject *op, void *closure)
{
    return PyBool_FromLong(((zpy_OrmTxn *)op)->base.node.valid);
}

static PyMethodDef ormtxn_methods[] = {
    {"__enter__", ormtxn_enter, METH_NOARGS,
     PyDoc_STR("__enter__($self, /)\n--\n\nBegin the LMDB transaction.")},
    {"__exit__", (PyCFunction)(void (*)(void))ormtxn_exit, METH_FASTCALL,
     PyDoc_STR("__exit__($self, exc_type, exc_value, traceback, /)\n--\n\n"
               "Commit when exc_type is None, else abort.")},
    {"commit", ormtxn_commit, METH_NOARGS,
     PyDoc_STR("commit($self, /)\n--\n\nCommit; a transaction whose write failed "
               "halfway is aborted and BadTxnError raised.")},
    {"abort", ormtxn_abort, METH_NOARGS,
     PyDoc_STR("abort($self, /)\n--\n\nAbort (nothing when not open).")},
    {"id", ormtxn_id, METH_NOARGS,
     PyDoc_STR("id($self, /)\n--\n\nThe LMDB transaction id.")},
    {"get", (PyCFunction)(void (*)(void))ormtxn_get, METH_FASTCALL | METH_KEYWORDS,
     PyDoc_STR("get($self, /, key, default=None, db=None)\n--\n\n"
               "Raw get of a physical key.")},
    {"put", (PyCFunction)(void (*)(void))ormtxn_put, METH_VARARGS | METH_KEYWORDS,
     PyDoc_STR("put($self, /, key, data, overwrite=True)\n--\n\n"
               "Raw put of a physical key; False when it exists and not overwrite.")},
    {"delete", (PyCFunction)(void (*)(void))ormtxn_delete, METH_VARARGS | METH_KEYWORDS,
     PyDoc_STR("delete($self, /, key)\n--\n\n"
               "Raw delete of a physical key; True when it existed.")},
    {NULL, NULL, 0, NULL}
};

static PyMemberDef ormtxn_members[] = {
    {"_growths", T_UINT, offsetof(zpy_OrmTxn, growths), READONLY,
     PyDoc_STR("How many times this transaction grew the map.")},
    {"_growths_at_commit", T_UINT, offsetof(zpy_OrmTxn, growths_at_commit), READONLY,
     PyDoc_STR("How many of those were a map full in commit.")},
    {NULL, 0, 0, 0, NULL}
};

/* Upstream's transaction (and ours before it was a zlmdb.lmdb.Transaction
 * itself) wraps a low-level one as `_txn`, and code written for upstream
 * reaches through it (`txn._txn.cursor()`): the transaction itself while
 * open.  zlmdb's own code no longer uses it. */
static PyObject *ormtxn_get_txn(PyObject *op, void *closure)
{
    return Py_NewRef(((zpy_OrmTxn *)op)->base.node.valid ? op : Py_None);
}

static PyGetSetDef ormtxn_getset[] = {
    {"_txn", ormtxn_get_txn, NULL,
     PyDoc_STR("The transaction itself while open, else None (for code written for the "
               "wrapper)."), NULL},
    {"stats", ormtxn_get_stats, NULL, PyDoc_STR("The TransactionStats, or None."), NULL},
    {"failed", ormtxn_get_failed, NULL,
     PyDoc_STR("True when a write failed after its first LMDB write: commit refuses."),
     NULL},
    {"write", ormtxn_get_write, NULL, PyDoc_STR("True for a write transaction."), NULL},
    {"is_open", ormtxn_get_open, NULL,
     PyDoc_STR("True between __enter__ and the end of the block."), NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static PyType_Slot ormtxn_slots[] = {
    {Py_tp_new, ormtxn_new},
    {Py_tp_dealloc, ormtxn_dealloc},
    {Py_tp_traverse, ormtxn_traverse},
    {Py_tp_clear, ormtxn_clear},
    {Py_tp_methods, ormtxn_methods},
    {Py_tp_members, ormtxn_members},
    {Py_tp_getset, ormtxn_getset},
    {Py_tp_doc, (void *)PyDoc_STR(
        "Transaction(db, write=False, buffers=False, stats=None, growth=0.0, maxsize=0)\n"
        "--\n\n"
        "A database transaction, made by Database.begin(); use it as\n"
        "``with db.begin(write=True) as txn:``.  Transaction(db, write=...)\n"
        "(upstream's spelling) is the same as db.begin(write=...).  The LMDB transaction begins\n"
        "when the block is entered and is committed when it ends normally,\n"
        "aborted when it raises.  It is a zlmdb.lmdb.Transaction, so the\n"
        "low-level methods (cursor(), stat(), ...) work on it too.\n\n"
        "With growth (a database opened with growth=), a write that finds the\n"
        "map full grows it (up to maxsize) and redoes the transaction's writes\n"
        "in a new LMDB transaction, unless another writer committed meanwhile\n"
        "(then MapFullError is raised).")},
    {0, NULL}
};

/* Not a base type: the inherited methods find the module state through
 * the object's own (module-made) type. */
PyType_Spec zpy_ormtxn_spec = {
    .name = "zlmdb.Transaction",
    .basicsize = sizeof(zpy_OrmTxn),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = ormtxn_slots,
};

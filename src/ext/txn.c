/* Transaction: a read or write LMDB transaction (py-lmdb compatible). */
#include <errno.h>
#include <stddef.h>

#include "zpy.h"

#define OFF(s, f) offsetof(struct s, f)

void zpy_preload(const MDB_val *v)
{
    /* One read per page faults the value in; `volatile` keeps the loop. */
    const volatile char *p = (const volatile char *)v->mv_data;
    size_t i;
    for (i = 0; i < v->mv_size; i += 4096)
        (void)p[i];
}

/* The env no longer has a writer: record it and wake a close() waiting for
 * this thread to release the write lock. */
static void clear_writer(zpy_Txn *self)
{
    zpy_Env *env = self->env;

    if (!self->top_writer)
        return;
    self->top_writer = 0;
    zlmdb__plat_mutex_lock(&env->ops_mutex);
    /* Only our own registration: once LMDB's writer lock was released (the
     * abort or commit just before, with the GIL released), another thread
     * may already have begun its write transaction and registered. */
    if (env->have_writer && env->write_tid == self->owner_tid) {
        env->have_writer = 0;
        env->write_tid = 0;
    }
    zlmdb__plat_cond_broadcast(&env->ops_cond);
    zlmdb__plat_mutex_unlock(&env->ops_mutex);
}

/* Free the LMDB transaction (abort).  `gil_free` releases the GIL around a
 * write abort, which may write to disk; never from inside a child-list walk
 * of an ancestor, where the list must stay stable. */
static void txn_drop_handle(zpy_Txn *self, int gil_free)
{
    MDB_txn *txn = self->txn;

    if (txn == NULL)
        return;
    self->txn = NULL;
    if (zpy_current_pid() != self->pid) {
        /* Forked child: the handle belongs to the parent process; touching
         * it would reset the parent's reader slot or unlock its mutex. */
        self->top_writer = 0;
        return;
    }
    if (self->env->env == NULL) {
        /* The env is gone (mdb_env_close already freed everything). */
        self->top_writer = 0;
        return;
    }
    if (gil_free && !(self->flags & ZPY_TXN_RDONLY)) {
        /* A child's abort works on its parent's LMDB transaction: count it
         * as an operation on the parent, whose end (abort() on another
         * thread) then waits for it instead of freeing the parent under it. */
        if (self->parent)
            zpy_txn_op_enter(self->parent);
        ZPY_BEGIN_LMDB
        self->eng->txn_abort(txn);
        ZPY_END_LMDB
        if (self->parent)
            zpy_txn_op_leave(self->parent);
    } else {
        self->eng->txn_abort(txn);
    }
    clear_writer(self);
}

/* Called when an ancestor ends: children first, then our own handle. */
static void txn_release(zpy_Node *node)
{
    zpy_Txn *self = (zpy_Txn *)node;

    /* Calls in flight on this txn or its cursors finish before any LMDB
     * handle below it is freed. */
    node->valid = 0;
    zpy_node_mark_children(node);
    zpy_env_wait_idle(self->env, &self->active);
    zpy_node_release_children(node);
    txn_drop_handle(self, 0);
    zpy_node_unlink(node);
}

void zpy_txn_park(zpy_Txn *self)
{
    zpy_Env *env = self->env;

    /* No cursor or child txn is alive, or they were ended with us. */
    if (self->txn && env) {
        if ((self->flags & ZPY_TXN_RDONLY) && !self->parent && zpy_current_pid() == self->pid &&
            env->node.valid && env->env && !env->spare_txn && !env->resizing) {
            /* Keep the reader slot for the next read begin(): renewing a
             * reset transaction takes no lock and allocates nothing, where
             * a new one locks the reader table and searches it for a slot.
             * With max_spare_txns=0 (py-lmdb's default: "a finished read
             * transaction leaves no reader slot behind") the spare is
             * hidden: readers() frees it before it lists the table, so the
             * table shows what py-lmdb's would.  A reset slot pins no
             * snapshot, so writers can reuse every page as before. */
            if (!(self->flags & ZPY_TXN_SPARE))
                self->eng->txn_reset(self->txn);
            env->spare_txn = self->txn;
            env->spare_hidden = !env->max_spare_txns;
            self->txn = NULL;
        } else {
            txn_drop_handle(self, 1);
        }
    }
    zpy_node_unlink(&self->node);
}

void zpy_txn_dealloc(PyObject *op)
{
    zpy_Txn *self = (zpy_Txn *)op;
    PyTypeObject *tp = Py_TYPE(op);

    if (self->weakreflist)
        PyObject_ClearWeakRefs(op);
    zpy_txn_park(self);
    Py_CLEAR(self->db);
    Py_CLEAR(self->parent);
    Py_CLEAR(self->env);
    tp->tp_free(op);
    Py_DECREF(tp);
}

/* The checks and the LMDB begin shared by zpy_txn_new and zpy_txn_begin:
 * 0 with *out (and *top_writer_out) set, or -1 with an exception. */
static int begin_handle(zpy_state *st, zpy_Env *env, zpy_Db *db, zpy_Txn *parent,
                        int write, MDB_txn **out, int *top_writer_out)
{
    MDB_txn *parent_txn = NULL, *txn = NULL;
    int rc, top_writer = 0;

    if (!env->node.valid)
        return zpy_err_invalid(st), -1;
    if (db != NULL && !zpy_db_owner_check(st, db, env))
        return -1;
    if (parent) {
        if (parent->flags & ZPY_TXN_RDONLY)
            return zpy_err_set(st, "Read-only transactions cannot be nested.", EINVAL), -1;
        if (!parent->node.valid)
            return zpy_err_invalid(st), -1;
        if (parent->env != env)
            return zpy_err_set(st, "Transaction belongs to another environment.", EINVAL), -1;
        if (!write && env->eng->major < 1)   /* py-lmdb 3.0, its issue #496 */
            return zpy_err_set(st, "Read-only child transactions require the LMDB 1.0 engine.",
                               EINVAL), -1;
        parent_txn = parent->txn;
    }
    if (write && env->readonly)
        return zpy_err_set(st, "Cannot start write transaction with read-only environment.",
                           EACCES), -1;
    if (env->resizing)
        return zpy_err_set(st, "mdb_txn_begin", EINVAL), -1;
    if (write && !parent && env->have_writer &&
        env->write_tid == PyThread_get_thread_ident())
        /* LMDB's writer lock is not recursive: this would deadlock. */
        return zpy_err_set(st,
            "Attempt to start a write transaction while another write transaction is "
            "active on the same thread. This would deadlock.", EBUSY), -1;

    if (env->spare_txn && env->pid != zpy_current_pid()) {
        /* Inherited across fork(): its reader slot belongs to the parent
         * process.  Forget it without touching it. */
        env->spare_txn = NULL;
    }
    /* A child is begun under its parent, never taken from the spare (a
     * top-level snapshot). */
    if (!write && !parent && env->spare_txn) {
        txn = env->spare_txn;
        env->spare_txn = NULL;
        if ((rc = env->eng->txn_renew(txn))) {
            env->eng->txn_abort(txn);
            return zpy_err_set(st, "mdb_txn_renew", rc), -1;
        }
    } else if (write && !parent) {
        /* May block on another thread's (or process's) write lock: release
         * the GIL so that thread can finish, bracketed so close() waits. */
        if (zpy_env_op_enter(env) < 0)
            return -1;
        ZPY_BEGIN_LMDB
        rc = env->eng->txn_begin(env->env, NULL, 0, &txn);
        ZPY_END_LMDB
        zpy_env_op_leave(env);
        if (rc)
            return zpy_err_set(st, "mdb_txn_begin", rc), -1;
        if (!env->node.valid || env->resizing) {
            /* Closed, or being remapped, while we waited for the lock: give
             * it back at once, from this (the owning) thread.  Left to
             * close()/set_mapsize() it would be aborted from theirs, which
             * cannot release LMDB's writer mutex. */
            env->eng->txn_abort(txn);
            return (env->node.valid ? zpy_err_set(st, "mdb_txn_begin", EINVAL)
                                   : zpy_err_invalid(st)), -1;
        }
        zlmdb__plat_mutex_lock(&env->ops_mutex);
        env->have_writer = 1;
        env->write_tid = PyThread_get_thread_ident();
        zlmdb__plat_mutex_unlock(&env->ops_mutex);
        top_writer = 1;
    } else {
        rc = env->eng->txn_begin(env->env, parent_txn, write ? 0 : MDB_RDONLY, &txn);
        if (rc)
            return zpy_err_set(st, "mdb_txn_begin", rc), -1;
    }

    *out = txn;
    *top_writer_out = top_writer;
    return 0;
}

/* Fill a begun transaction's fields and link it under its parent. */
static void txn_fill(zpy_Txn *self, zpy_Env *env, zpy_Db *db, zpy_Txn *parent, MDB_txn *txn,
                     int write, int buffers, int top_writer)
{
    zpy_node_init(&self->node, txn_release);
    zpy_node_link(parent ? &parent->node : &env->node, &self->node);
    self->eng = env->eng;
    Py_XSETREF(self->env, (zpy_Env *)Py_NewRef(env));
    Py_XSETREF(self->db, (zpy_Db *)Py_NewRef(db ? db : env->main_db));
    Py_XSETREF(self->parent, parent ? (zpy_Txn *)Py_NewRef(parent) : NULL);
    self->txn = txn;
    self->flags = (write ? 0 : ZPY_TXN_RDONLY) | (buffers ? ZPY_TXN_BUFFERS : 0);
    self->top_writer = top_writer;
    self->owner_tid = PyThread_get_thread_ident();
    self->mutations = 0;
    atomic_init(&self->active, 0);
    self->pid = zpy_current_pid();
}

/* Give back a writer registration whose transaction object could not be
 * made. */
static void unregister_writer(zpy_Env *env)
{
    zlmdb__plat_mutex_lock(&env->ops_mutex);
    env->have_writer = 0;
    env->write_tid = 0;
    zlmdb__plat_cond_broadcast(&env->ops_cond);
    zlmdb__plat_mutex_unlock(&env->ops_mutex);
}

PyObject *zpy_txn_new(zpy_state *st, zpy_Env *env, zpy_Db *db, zpy_Txn *parent,
                      int write, int buffers)
{
    MDB_txn *txn;
    zpy_Txn *self;
    int top_writer;

    if (begin_handle(st, env, db, parent, write, &txn, &top_writer) < 0)
        return NULL;
    self = PyObject_New(zpy_Txn, st->TxnType);
    if (self == NULL) {
        env->eng->txn_abort(txn);
        if (top_writer)
            unregister_writer(env);
        return NULL;
    }
    self->env = NULL;
    self->db = NULL;
    self->parent = NULL;
    self->weakreflist = NULL;
    txn_fill(self, env, db, parent, txn, write, buffers, top_writer);
    return (PyObject *)self;
}

void zpy_txn_blank(zpy_Txn *self)
{
    zpy_node_init(&self->node, txn_release);
    self->node.valid = 0;
    self->txn = NULL;
}

int zpy_txn_begin(zpy_state *st, zpy_Txn *self, zpy_Env *env, int write, int buffers)
{
    MDB_txn *txn;
    int top_writer;

    if (self->node.valid)
        return PyErr_SetString(PyExc_RuntimeError, "transaction already entered"), -1;
    if (self->txn) {
        /* A read handle kept, reset, after commit()/abort(): give it up. */
        txn_drop_handle(self, 1);
    }
    zpy_node_unlink(&self->node);
    if (begin_handle(st, env, NULL, NULL, write, &txn, &top_writer) < 0)
        return -1;
    txn_fill(self, env, NULL, NULL, txn, write, buffers, top_writer);
    return 0;
}

/* ------------------------------------------------------------- helpers */

#define TXN_GUARD(self, st)                                                 \
    do {                                                                    \
        if (!(self)->node.valid)                                            \
            return zpy_err_invalid(st);                                     \
    } while (0)

/* Resolve the db argument: the txn's default, or a handle of its env. */
static int pick_db(zpy_state *st, zpy_Txn *self, PyObject *dbobj, zpy_Db **out)
{
    zpy_Db *db = dbobj ? (zpy_Db *)dbobj : self->db;
    if (dbobj && !zpy_db_owner_check(st, db, self->env))
        return -1;
    *out = db;
    return 0;
}

/* ------------------------------------------------------------- methods */

struct txn_get_args {
    MDB_val key;
    PyObject *deflt;
    PyObject *db;
};

static const zpy_argspec txn_get_spec[] = {
    {"key", ZPY_ARG_BUF, OFF(txn_get_args, key)},
    {"default", ZPY_ARG_OBJ, OFF(txn_get_args, deflt)},
    {"db", ZPY_ARG_DB, OFF(txn_get_args, db)},
};

PyObject *zpy_txn_get(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                      PyObject *kwnames)
{
    zpy_Txn *self = (zpy_Txn *)op;
    zpy_state *st = zpy_state_of(op);
    struct txn_get_args a = {ZPY_VAL_ABSENT, NULL, NULL};
    zpy_views views = {.count = 0};
    zpy_Db *db;
    MDB_val val;
    int rc;

    TXN_GUARD(self, st);
    if (ZPY_LIKELY(nargs == 1 && kwnames == NULL && PyBytes_CheckExact(args[0]))) {
        /* The hot path: txn.get(b"key"). */
        a.key.mv_data = PyBytes_AS_STRING(args[0]);
        a.key.mv_size = (size_t)PyBytes_GET_SIZE(args[0]);
        db = self->db;
    } else {
        if (zpy_parse_args(st, txn_get_spec, 3, args, nargs, kwnames, &a, &views) < 0)
            return NULL;
        if (pick_db(st, self, a.db, &db) < 0) {
            zpy_views_release(&views);
            return NULL;
        }
        if (a.key.mv_data == zpy_absent) {
            zpy_views_release(&views);
            return zpy_type_error("key must be given.");
        }
    }
    zpy_txn_op_enter(self);
    ZPY_BEGIN_LMDB
    rc = self->eng->get(self->txn, db->dbi, &a.key, &val);
    if (rc == 0)
        zpy_preload(&val);
    ZPY_END_LMDB
    zpy_txn_op_leave(self);
    zpy_views_release(&views);
    if (rc) {
        if (rc == MDB_NOTFOUND)
            return Py_NewRef(a.deflt ? a.deflt : Py_None);
        return zpy_err_set(st, "mdb_get", rc);
    }
    return zpy_txn_value(self, &val);
}

struct txn_put_args {
    MDB_val key, val;
    int dupdata, overwrite, append;
    PyObject *db;
};

static const zpy_argspec txn_put_spec[] = {
    {"key", ZPY_ARG_BUF, OFF(txn_put_args, key)},
    {"value", ZPY_ARG_BUF, OFF(txn_put_args, val)},
    {"dupdata", ZPY_ARG_BOOL, OFF(txn_put_args, dupdata)},
    {"overwrite", ZPY_ARG_BOOL, OFF(txn_put_args, overwrite)},
    {"append", ZPY_ARG_BOOL, OFF(txn_put_args, append)},
    {"db", ZPY_ARG_DB, OFF(txn_put_args, db)},
};

static PyObject *txn_put(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                         PyObject *kwnames)
{
    zpy_Txn *self = (zpy_Txn *)op;
    zpy_state *st = zpy_state_of(op);
    struct txn_put_args a = {ZPY_VAL_ABSENT, ZPY_VAL_ABSENT, 1, 1, 0, NULL};
    zpy_views views = {.count = 0};
    unsigned int flags = 0;
    zpy_Db *db;
    int rc;

    TXN_GUARD(self, st);
    if (ZPY_LIKELY(nargs == 2 && kwnames == NULL && PyBytes_CheckExact(args[0]) &&
                   PyBytes_CheckExact(args[1]))) {
        a.key.mv_data = PyBytes_AS_STRING(args[0]);
        a.key.mv_size = (size_t)PyBytes_GET_SIZE(args[0]);
        a.val.mv_data = PyBytes_AS_STRING(args[1]);
        a.val.mv_size = (size_t)PyBytes_GET_SIZE(args[1]);
        db = self->db;
    } else {
        if (zpy_parse_args(st, txn_put_spec, 6, args, nargs, kwnames, &a, &views) < 0)
            return NULL;
        if (pick_db(st, self, a.db, &db) < 0) {
            zpy_views_release(&views);
            return NULL;
        }
        if (!a.dupdata)
            flags |= MDB_NODUPDATA;
        if (!a.overwrite)
            flags |= MDB_NOOVERWRITE;
        if (a.append)   /* a duplicate at the end, in a dupsort database */
            flags |= (db->flags & MDB_DUPSORT) ? MDB_APPENDDUP : MDB_APPEND;
    }
    zpy_txn_op_enter(self);
    ZPY_BEGIN_LMDB
    rc = self->eng->put(self->txn, db->dbi, &a.key, &a.val, flags);
    ZPY_END_LMDB
    zpy_txn_op_leave(self);
    zpy_views_release(&views);
    self->mutations++;
    if (rc) {
        if (rc == MDB_KEYEXIST)
            Py_RETURN_FALSE;
        return zpy_err_set(st, "mdb_put", rc);
    }
    Py_RETURN_TRUE;
}

struct txn_delete_args {
    MDB_val key, val;
    PyObject *db;
};

static const zpy_argspec txn_delete_spec[] = {
    {"key", ZPY_ARG_BUF, OFF(txn_delete_args, key)},
    {"value", ZPY_ARG_BUF, OFF(txn_delete_args, val)},
    {"db", ZPY_ARG_DB, OFF(txn_delete_args, db)},
};

static PyObject *txn_delete(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                            PyObject *kwnames)
{
    zpy_Txn *self = (zpy_Txn *)op;
    zpy_state *st = zpy_state_of(op);
    struct txn_delete_args a = {ZPY_VAL_ABSENT, ZPY_VAL_ABSENT, NULL};
    zpy_views views = {.count = 0};
    zpy_Db *db;
    int rc;

    TXN_GUARD(self, st);
    if (zpy_parse_args(st, txn_delete_spec, 3, args, nargs, kwnames, &a, &views) < 0)
        return NULL;
    if (pick_db(st, self, a.db, &db) < 0) {
        zpy_views_release(&views);
        return NULL;
    }
    zpy_txn_op_enter(self);
    ZPY_BEGIN_LMDB
    /* An empty (or absent) value deletes every duplicate of the key. */
    rc = self->eng->del(self->txn, db->dbi, &a.key, a.val.mv_size ? &a.val : NULL);
    ZPY_END_LMDB
    zpy_txn_op_leave(self);
    zpy_views_release(&views);
    self->mutations++;
    if (rc) {
        if (rc == MDB_NOTFOUND)
            Py_RETURN_FALSE;
        return zpy_err_set(st, "mdb_del", rc);
    }
    Py_RETURN_TRUE;
}

struct txn_kv_args {
    MDB_val key, val;
    PyObject *db;
};

static const zpy_argspec txn_replace_spec[] = {
    {"key", ZPY_ARG_BUF, OFF(txn_kv_args, key)},
    {"value", ZPY_ARG_BUF, OFF(txn_kv_args, val)},
    {"db", ZPY_ARG_DB, OFF(txn_kv_args, db)},
};

static const zpy_argspec txn_pop_spec[] = {
    {"key", ZPY_ARG_BUF, OFF(txn_kv_args, key)},
    {"db", ZPY_ARG_DB, OFF(txn_kv_args, db)},
};

/* replace() and pop() run on a temporary cursor, as py-lmdb does. */
static PyObject *txn_cursor_op(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                               PyObject *kwnames, int is_replace)
{
    zpy_Txn *self = (zpy_Txn *)op;
    zpy_state *st = zpy_state_of(op);
    struct txn_kv_args a = {ZPY_VAL_ABSENT, ZPY_VAL_ABSENT, NULL};
    zpy_views views = {.count = 0};
    PyObject *curs, *res;
    zpy_Db *db;
    int rc;

    TXN_GUARD(self, st);
    if (is_replace) {
        rc = zpy_parse_args(st, txn_replace_spec, 3, args, nargs, kwnames, &a, &views);
    } else {
        a.db = NULL;
        rc = zpy_parse_args(st, txn_pop_spec, 2, args, nargs, kwnames, &a, &views);
    }
    if (rc < 0)
        return NULL;
    if (pick_db(st, self, a.db, &db) < 0) {
        zpy_views_release(&views);
        return NULL;
    }
    curs = zpy_cursor_new(st, db, self);
    if (curs == NULL) {
        zpy_views_release(&views);
        return NULL;
    }
    if (is_replace)
        res = zpy_cursor_do_replace((zpy_Cursor *)curs, &a.key, &a.val);
    else
        res = zpy_cursor_do_pop((zpy_Cursor *)curs, &a.key);
    Py_DECREF(curs);
    zpy_views_release(&views);
    return res;
}

static PyObject *txn_replace(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                             PyObject *kwnames)
{
    return txn_cursor_op(op, args, nargs, kwnames, 1);
}

static PyObject *txn_pop(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                         PyObject *kwnames)
{
    return txn_cursor_op(op, args, nargs, kwnames, 0);
}

struct txn_db_args {
    PyObject *db;
    int del;
};

static const zpy_argspec txn_cursor_spec[] = {
    {"db", ZPY_ARG_DB, OFF(txn_db_args, db)},
};

static PyObject *txn_cursor(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                            PyObject *kwnames)
{
    zpy_Txn *self = (zpy_Txn *)op;
    zpy_state *st = zpy_state_of(op);
    struct txn_db_args a = {NULL, 1};

    TXN_GUARD(self, st);
    if (zpy_parse_args(st, txn_cursor_spec, 1, args, nargs, kwnames, &a, NULL) < 0)
        return NULL;
    return zpy_cursor_new(st, a.db ? (zpy_Db *)a.db : self->db, self);
}

static PyObject *txn_stat(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                          PyObject *kwnames)
{
    zpy_Txn *self = (zpy_Txn *)op;
    zpy_state *st = zpy_state_of(op);
    struct txn_db_args a = {NULL, 1};
    MDB_stat s;
    zpy_Db *db;
    int rc;

    TXN_GUARD(self, st);
    if (zpy_parse_args(st, txn_cursor_spec, 1, args, nargs, kwnames, &a, NULL) < 0)
        return NULL;
    if (pick_db(st, self, a.db, &db) < 0)
        return NULL;
    zpy_txn_op_enter(self);
    ZPY_BEGIN_LMDB
    rc = self->eng->stat(self->txn, db->dbi, &s);
    ZPY_END_LMDB
    zpy_txn_op_leave(self);
    if (rc)
        return zpy_err_set(st, "mdb_stat", rc);
    return zpy_dict_from_stat(&s);
}

static const zpy_argspec txn_drop_spec[] = {
    {"db", ZPY_ARG_DB, OFF(txn_db_args, db)},
    {"delete", ZPY_ARG_BOOL, OFF(txn_db_args, del)},
};

/* Close the transaction's cursors on `dbi`, a database about to be deleted:
 * afterwards they raise the closed-object error instead of LMDB's
 * MDB_BAD_DBI (py-lmdb 3.0, its issue #503).  Marked first with the GIL
 * held, then released once no other thread is inside a call on this txn. */
static void close_db_cursors(zpy_state *st, zpy_Txn *self, MDB_dbi dbi)
{
    zpy_Node *c;
    int marked = 0;

    for (c = self->node.children; c; c = c->next) {
        zpy_Cursor *cur = (zpy_Cursor *)c;
        if (c->valid && PyObject_TypeCheck((PyObject *)c, st->CursorType) &&
            cur->curs && self->eng->cursor_dbi(cur->curs) == dbi) {
            c->valid = 0;
            zpy_node_mark_children(c);
            marked = 1;
        }
    }
    if (!marked)
        return;
    zpy_env_wait_idle(self->env, &self->active);
restart:
    /* A release may drop the GIL and so change the list: start again. */
    for (c = self->node.children; c; c = c->next) {
        if (!c->valid && PyObject_TypeCheck((PyObject *)c, st->CursorType) &&
            ((zpy_Cursor *)c)->curs) {
            Py_INCREF(c);
            c->release(c);
            Py_DECREF(c);
            goto restart;
        }
    }
}

static PyObject *txn_drop(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                          PyObject *kwnames)
{
    zpy_Txn *self = (zpy_Txn *)op;
    zpy_state *st = zpy_state_of(op);
    struct txn_db_args a = {NULL, 1};
    zpy_Db *db;
    int rc;

    TXN_GUARD(self, st);
    if (zpy_parse_args(st, txn_drop_spec, 2, args, nargs, kwnames, &a, NULL) < 0)
        return NULL;
    if (a.db == NULL)
        return zpy_type_error("'db' argument required.");
    if (pick_db(st, self, a.db, &db) < 0)
        return NULL;
    if (a.del)
        close_db_cursors(st, self, db->dbi);
    /* Cursors on this txn may point into the pages being freed: they
     * re-fetch through the mutation counter. */
    self->mutations++;
    zpy_txn_op_enter(self);
    ZPY_BEGIN_LMDB
    rc = self->eng->drop(self->txn, db->dbi, a.del);
    ZPY_END_LMDB
    zpy_txn_op_leave(self);
    if (rc)
        return zpy_err_set(st, "mdb_drop", rc);
    Py_RETURN_NONE;
}

static PyObject *txn_id(PyObject *op, PyObject *unused)
{
    zpy_Txn *self = (zpy_Txn *)op;
    TXN_GUARD(self, zpy_state_of(op));
    return PyLong_FromSize_t(self->eng->txn_id(self->txn));
}

/* End the txn's children and wait for other threads' calls on it. */
static void txn_end_prepare(zpy_Txn *self)
{
    self->node.valid = 0;
    zpy_node_mark_children(&self->node);
    zpy_env_wait_idle(self->env, &self->active);
    zpy_node_release_children(&self->node);
}

PyObject *zpy_txn_commit(PyObject *op, PyObject *unused)
{
    zpy_Txn *self = (zpy_Txn *)op;
    zpy_state *st = zpy_state_of(op);
    MDB_txn *txn;
    int rc;

    TXN_GUARD(self, st);
    txn_end_prepare(self);
    if ((self->flags & ZPY_TXN_RDONLY) && self->parent) {
        /* A read-only child (LMDB 1.0) is no snapshot to keep: free it. */
        txn_drop_handle(self, 0);
        zpy_node_unlink(&self->node);
        Py_RETURN_NONE;
    }
    if (self->flags & ZPY_TXN_RDONLY) {
        /* Nothing to write: keep the handle, reset, for reuse as the spare. */
        self->eng->txn_reset(self->txn);
        self->flags |= ZPY_TXN_SPARE;
        return Py_NewRef(Py_None);
    }
    txn = self->txn;
    self->txn = NULL;
    if (self->parent)       /* as in txn_drop_handle: the parent waits for us */
        zpy_txn_op_enter(self->parent);
    ZPY_BEGIN_LMDB
    rc = self->eng->txn_commit(txn);   /* frees txn whatever the outcome */
    ZPY_END_LMDB
    if (self->parent)
        zpy_txn_op_leave(self->parent);
    clear_writer(self);
    zpy_node_unlink(&self->node);
    if (rc)
        return zpy_err_set(st, "mdb_txn_commit", rc);
    Py_RETURN_NONE;
}

PyObject *zpy_txn_abort(PyObject *op, PyObject *unused)
{
    zpy_Txn *self = (zpy_Txn *)op;

    if (!self->node.valid) {
        /* A write txn invalidated by close() on another thread still holds
         * the write lock, which only this (owning) thread may release. */
        if (self->txn && self->top_writer &&
            self->env->write_tid == PyThread_get_thread_ident()) {
            zpy_env_wait_idle(self->env, &self->active);
            txn_drop_handle(self, 1);
        }
        Py_RETURN_NONE;
    }
    txn_end_prepare(self);
    if ((self->flags & ZPY_TXN_RDONLY) && !self->parent) {
        /* The reader slot is freed (or kept as the spare) at dealloc. */
        if (!(self->flags & ZPY_TXN_SPARE)) {
            self->eng->txn_reset(self->txn);
            self->flags |= ZPY_TXN_SPARE;
        }
        Py_RETURN_NONE;
    }
    txn_drop_handle(self, 1);
    zpy_node_unlink(&self->node);
    Py_RETURN_NONE;
}

static PyObject *txn_enter(PyObject *op, PyObject *unused)
{
    zpy_Txn *self = (zpy_Txn *)op;
    TXN_GUARD(self, zpy_state_of(op));
    return Py_NewRef(op);
}

static PyObject *txn_exit(PyObject *op, PyObject *const *args, Py_ssize_t nargs)
{
    zpy_Txn *self = (zpy_Txn *)op;
    /* __exit__(exc_type, exc_value, traceback): only the type matters. */
    PyObject *exc_type = nargs > 0 ? args[0] : Py_None;

    /* Already finished, by commit()/abort() inside the block, its parent
     * or the environment's close(): nothing left to do, and returning None
     * lets an exception from the block propagate (py-lmdb 3.0).  abort()
     * still releases a write lock that close() could not. */
    if (!self->node.valid)
        return zpy_txn_abort(op, NULL);
    if (exc_type == Py_None)
        return zpy_txn_commit(op, NULL);
    return zpy_txn_abort(op, NULL);
}

/* Docstrings: the first line is the signature (__text_signature__). */
PyDoc_STRVAR(txn_doc,
"Transaction(env, db=None, parent=None, write=False, buffers=False)\n--\n\n"
"A read transaction, or with write=True a write transaction, in env.\n\n"
"db is the database the methods use when they are given none (default:\n"
"the main database).  parent, a write transaction, makes this a nested\n"
"transaction.  With buffers=True reads return read-only memoryviews into\n"
"the map instead of bytes; they are valid until the next write in this\n"
"transaction or its end.  As a context manager the transaction commits at\n"
"the end of the block, or aborts when the block raises.");

PyDoc_STRVAR(txn_enter_doc, "__enter__($self, /)\n--\n\nReturn the transaction.");
PyDoc_STRVAR(txn_exit_doc,
"__exit__($self, exc_type, exc_value, traceback, /)\n--\n\n"
"Commit when exc_type is None, else abort.");
PyDoc_STRVAR(txn_abort_doc,
"abort($self, /)\n--\n\n"
"End the transaction and discard its writes.  Aborting an ended transaction\n"
"does nothing.");
PyDoc_STRVAR(txn_commit_doc,
"commit($self, /)\n--\n\n"
"End the transaction, writing its changes (a read transaction just ends).");
PyDoc_STRVAR(txn_cursor_doc,
"cursor($self, /, db=None)\n--\n\n"
"A new Cursor on db (default: the transaction's database).");
PyDoc_STRVAR(txn_delete_doc,
"delete($self, /, key, value=b'', db=None)\n--\n\n"
"Delete key and return True, or False when it is missing.  In a dupsort\n"
"database a non-empty value deletes only that (key, value) pair; an empty\n"
"one deletes every value of key.");
PyDoc_STRVAR(txn_drop_doc,
"drop($self, /, db, delete=True)\n--\n\n"
"Delete every record of db; with delete=True also the database itself,\n"
"whose handle may not be used afterwards.");
PyDoc_STRVAR(txn_get_doc,
"get($self, /, key, default=None, db=None)\n--\n\n"
"The value stored under key, or default when key is missing.");
PyDoc_STRVAR(txn_id_doc,
"id($self, /)\n--\n\nThe transaction's LMDB id.");
PyDoc_STRVAR(txn_pop_doc,
"pop($self, /, key, db=None)\n--\n\n"
"Delete key and return the value it had, or None when it is missing.");
PyDoc_STRVAR(txn_put_doc,
"put($self, /, key, value, dupdata=True, overwrite=True, append=False, db=None)\n--\n\n"
"Store value under key; return True, or False when nothing was written\n"
"because overwrite=False and key exists, or dupdata=False and the same\n"
"(key, value) pair exists in a dupsort database.  append=True adds at the\n"
"end of the database (LMDB's MDB_APPEND; MDB_APPENDDUP in a dupsort\n"
"database), for loading keys in sorted order.");
PyDoc_STRVAR(txn_replace_doc,
"replace($self, /, key, value, db=None)\n--\n\n"
"Store value under key and return the value it replaced, or None.  In a\n"
"dupsort database every value of key is replaced (the first is returned).");
PyDoc_STRVAR(txn_stat_doc,
"stat($self, /, db=None)\n--\n\n"
"Statistics of db (default: the transaction's database), as for\n"
"Environment.stat().");

#define FASTKW(f) (PyCFunction)(void (*)(void))(f), METH_FASTCALL | METH_KEYWORDS

static PyMethodDef txn_methods[] = {
    {"__enter__", txn_enter, METH_NOARGS, txn_enter_doc},
    {"__exit__", (PyCFunction)(void (*)(void))txn_exit, METH_FASTCALL, txn_exit_doc},
    {"abort", zpy_txn_abort, METH_NOARGS, txn_abort_doc},
    {"commit", zpy_txn_commit, METH_NOARGS, txn_commit_doc},
    {"cursor", FASTKW(txn_cursor), txn_cursor_doc},
    {"delete", FASTKW(txn_delete), txn_delete_doc},
    {"drop", FASTKW(txn_drop), txn_drop_doc},
    {"get", FASTKW(zpy_txn_get), txn_get_doc},
    {"id", txn_id, METH_NOARGS, txn_id_doc},
    {"pop", FASTKW(txn_pop), txn_pop_doc},
    {"put", FASTKW(txn_put), txn_put_doc},
    {"replace", FASTKW(txn_replace), txn_replace_doc},
    {"stat", FASTKW(txn_stat), txn_stat_doc},
    {NULL, NULL, 0, NULL}
};

static PyMemberDef txn_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(zpy_Txn, weakreflist), READONLY, NULL},
    {NULL, 0, 0, 0, NULL}
};

struct txn_new_args {
    PyObject *env, *db, *parent;
    int write, buffers;
};

static const zpy_argspec txn_new_spec[] = {
    {"env", ZPY_ARG_ENV, OFF(txn_new_args, env)},
    {"db", ZPY_ARG_DB, OFF(txn_new_args, db)},
    {"parent", ZPY_ARG_TXN, OFF(txn_new_args, parent)},
    {"write", ZPY_ARG_BOOL, OFF(txn_new_args, write)},
    {"buffers", ZPY_ARG_BOOL, OFF(txn_new_args, buffers)},
};

static PyObject *txn_tp_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    zpy_state *st = zpy_state_of_type(type);
    struct txn_new_args a = {NULL, NULL, NULL, 0, 0};

    if (zpy_parse_tuple(st, txn_new_spec, 5, args, kwds, &a, NULL) < 0)
        return NULL;
    if (a.env == NULL)
        return zpy_type_error("'env' argument required");
    return zpy_txn_new(st, (zpy_Env *)a.env, (zpy_Db *)a.db, (zpy_Txn *)a.parent,
                       a.write, a.buffers);
}

static PyType_Slot txn_slots[] = {
    {Py_tp_new, txn_tp_new},
    {Py_tp_doc, (void *)txn_doc},
    {Py_tp_dealloc, zpy_txn_dealloc},
    {Py_tp_methods, txn_methods},
    {Py_tp_members, txn_members},
    {0, NULL}
};

PyType_Spec zpy_txn_spec = {
    .name = "builtins.Transaction",
    .basicsize = sizeof(zpy_Txn),
    /* A base type only for the ORM's transaction (ormtxn.c): module_exec
     * clears the flag once that subtype exists, so Python cannot subclass
     * it, as py-lmdb's static type. */
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_BASETYPE,
    .slots = txn_slots,
};

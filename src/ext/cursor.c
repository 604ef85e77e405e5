/* Cursor and its iterator (py-lmdb compatible). */
#include <errno.h>
#include <stddef.h>

#include "zpy.h"

#define OFF(s, f) offsetof(struct s, f)

#define CURSOR_GUARD(self, st)                                              \
    do {                                                                    \
        if (!(self)->node.valid)                                            \
            return zpy_err_invalid(st);                                     \
    } while (0)

/* ------------------------------------------------------------ lifetime */

static void cursor_close_handle(zpy_Cursor *self)
{
    MDB_cursor *curs = self->curs;

    self->curs = NULL;
    self->positioned = 0;
    /* Closing a cursor only frees memory; skip it in a forked child, whose
     * copy of the txn must stay untouched. */
    if (curs && self->txn && zpy_current_pid() == self->txn->pid &&
        self->txn->env->env != NULL)
        self->eng->cursor_close(curs);
}

static void cursor_release(zpy_Node *node)
{
    zpy_Cursor *self = (zpy_Cursor *)node;
    node->valid = 0;
    cursor_close_handle(self);
    zpy_node_unlink(node);
}

static void cursor_dealloc(PyObject *op)
{
    zpy_Cursor *self = (zpy_Cursor *)op;
    PyTypeObject *tp = Py_TYPE(op);

    /* Also when already marked invalid: a parent ending on another thread
     * may have marked us and not yet released us. */
    if (self->curs)
        cursor_close_handle(self);
    zpy_node_unlink(&self->node);
    Py_CLEAR(self->txn);
    tp->tp_free(op);
    Py_DECREF(tp);
}

PyObject *zpy_cursor_new(zpy_state *st, zpy_Db *db, zpy_Txn *txn)
{
    zpy_Cursor *self;
    MDB_cursor *curs;
    int rc;

    if (!txn->node.valid)
        return zpy_err_invalid(st);
    if (!zpy_db_owner_check(st, db, txn->env))
        return NULL;
    if ((rc = txn->eng->cursor_open(txn->txn, db->dbi, &curs)))
        return zpy_err_set(st, "mdb_cursor_open", rc);
    self = PyObject_New(zpy_Cursor, st->CursorType);
    if (self == NULL) {
        txn->eng->cursor_close(curs);
        return NULL;
    }
    zpy_node_init(&self->node, cursor_release);
    zpy_node_link(&txn->node, &self->node);
    self->eng = txn->eng;
    self->txn = (zpy_Txn *)Py_NewRef(txn);
    self->curs = curs;
    self->dbi_flags = db->flags;
    self->positioned = 0;
    self->key.mv_size = self->val.mv_size = 0;
    self->key.mv_data = self->val.mv_data = NULL;
    self->last_mutation = txn->mutations;
    return (PyObject *)self;
}

/* ---------------------------------------------------------- core moves */

/* Move the cursor with `op` (using self->key/val as input where the op
 * needs it).  Not found leaves it unpositioned; other errors raise.  With
 * `preload`, the value's pages are faulted in during the same GIL release. */
static int cursor_move(zpy_Cursor *self, MDB_cursor_op op, int preload)
{
    zpy_Txn *t = self->txn;
    int rc;

    zpy_txn_op_enter(t);
    ZPY_BEGIN_LMDB
    rc = self->eng->cursor_get(self->curs, &self->key, &self->val, op);
    if (rc == 0 && preload)
        zpy_preload(&self->val);
    ZPY_END_LMDB
    zpy_txn_op_leave(t);
    self->positioned = rc == 0;
    self->last_mutation = t->mutations;
    if (rc) {
        self->key.mv_size = self->val.mv_size = 0;
        if (rc != MDB_NOTFOUND && !(rc == EINVAL && op == MDB_GET_CURRENT)) {
            zpy_err_set(zpy_state_of(self), "mdb_cursor_get", rc);
            return -1;
        }
    }
    return 0;
}

int zpy_cursor_move(zpy_Cursor *self, MDB_cursor_op op, int preload)
{
    return cursor_move(self, op, preload);
}

static PyObject *cursor_move_bool(zpy_Cursor *self, MDB_cursor_op op)
{
    CURSOR_GUARD(self, zpy_state_of(self));
    if (cursor_move(self, op, 0) < 0)
        return NULL;
    return PyBool_FromLong(self->positioned);
}

/* After a write through this txn the cached key/value may point at moved
 * pages: re-read the current position first. */
ZPY_INLINE int cursor_refresh(zpy_Cursor *self)
{
    if (ZPY_UNLIKELY(self->last_mutation != self->txn->mutations))
        return cursor_move(self, MDB_GET_CURRENT, 0);
    return 0;
}

static void preload_value(zpy_Cursor *self)
{
    zpy_Txn *t = self->txn;
    if (self->val.mv_size == 0 || t->env->resizing)
        return;
    zpy_txn_op_enter(t);
    ZPY_BEGIN_LMDB
    zpy_preload(&self->val);
    ZPY_END_LMDB
    zpy_txn_op_leave(t);
}

/* The three value getters; `preloaded` says the value's pages were already
 * faulted in by the move that produced it. */
static PyObject *get_key(zpy_Cursor *self, int preloaded)
{
    if (cursor_refresh(self) < 0)
        return NULL;
    return zpy_txn_value(self->txn, &self->key);
}

static PyObject *get_value(zpy_Cursor *self, int preloaded)
{
    if (cursor_refresh(self) < 0)
        return NULL;
    if (!preloaded)
        preload_value(self);
    return zpy_txn_value(self->txn, &self->val);
}

static PyObject *get_item(zpy_Cursor *self, int preloaded)
{
    PyObject *k, *v, *tup;

    if (cursor_refresh(self) < 0)
        return NULL;
    k = zpy_txn_value(self->txn, &self->key);
    if (k == NULL)
        return NULL;
    if (!preloaded)
        preload_value(self);
    v = zpy_txn_value(self->txn, &self->val);
    if (v == NULL) {
        Py_DECREF(k);
        return NULL;
    }
    tup = PyTuple_New(2);
    if (tup == NULL) {
        Py_DECREF(k);
        Py_DECREF(v);
        return NULL;
    }
    PyTuple_SET_ITEM(tup, 0, k);
    PyTuple_SET_ITEM(tup, 1, v);
    return tup;
}

/* ------------------------------------------------------ simple methods */

#define MOVE_METHOD(name, op)                                               \
    static PyObject *cursor_##name(PyObject *self, PyObject *unused)        \
    {                                                                       \
        return cursor_move_bool((zpy_Cursor *)self, op);                    \
    }

MOVE_METHOD(first, MDB_FIRST)
MOVE_METHOD(last, MDB_LAST)
MOVE_METHOD(next, MDB_NEXT)
MOVE_METHOD(prev, MDB_PREV)
MOVE_METHOD(first_dup, MDB_FIRST_DUP)
MOVE_METHOD(last_dup, MDB_LAST_DUP)
MOVE_METHOD(next_dup, MDB_NEXT_DUP)
MOVE_METHOD(prev_dup, MDB_PREV_DUP)
MOVE_METHOD(next_nodup, MDB_NEXT_NODUP)
MOVE_METHOD(prev_nodup, MDB_PREV_NODUP)

static PyObject *cursor_key(PyObject *op, PyObject *unused)
{
    CURSOR_GUARD((zpy_Cursor *)op, zpy_state_of(op));
    return get_key((zpy_Cursor *)op, 0);
}

static PyObject *cursor_value(PyObject *op, PyObject *unused)
{
    CURSOR_GUARD((zpy_Cursor *)op, zpy_state_of(op));
    return get_value((zpy_Cursor *)op, 0);
}

static PyObject *cursor_item(PyObject *op, PyObject *unused)
{
    CURSOR_GUARD((zpy_Cursor *)op, zpy_state_of(op));
    return get_item((zpy_Cursor *)op, 0);
}

static PyObject *cursor_count(PyObject *op, PyObject *unused)
{
    zpy_Cursor *self = (zpy_Cursor *)op;
    zpy_state *st = zpy_state_of(op);
    size_t n = 0;
    int rc;

    CURSOR_GUARD(self, st);
    zpy_txn_op_enter(self->txn);
    ZPY_BEGIN_LMDB
    rc = self->eng->cursor_count(self->curs, &n);
    ZPY_END_LMDB
    zpy_txn_op_leave(self->txn);
    if (rc)
        return zpy_err_set(st, "mdb_cursor_count", rc);
    return PyLong_FromSize_t(n);
}

/* set_key / set_range take exactly one positional argument (METH_O). */
static PyObject *cursor_set_common(zpy_Cursor *self, PyObject *arg, int range)
{
    zpy_views views = {.count = 0};
    PyObject *res;
    int rc;

    CURSOR_GUARD(self, zpy_state_of(self));
    if (zpy_val_from_obj(arg, &self->key, &views) < 0)
        return NULL;
    if (range && self->key.mv_size == 0)
        rc = cursor_move(self, MDB_FIRST, 0);
    else
        rc = cursor_move(self, range ? MDB_SET_RANGE : MDB_SET_KEY, 0);
    zpy_views_release(&views);
    if (rc < 0)
        return NULL;
    res = PyBool_FromLong(self->positioned);
    return res;
}

static PyObject *cursor_set_key(PyObject *op, PyObject *arg)
{
    return cursor_set_common((zpy_Cursor *)op, arg, 0);
}

static PyObject *cursor_set_range(PyObject *op, PyObject *arg)
{
    return cursor_set_common((zpy_Cursor *)op, arg, 1);
}

struct kv_args {
    MDB_val key, val;
};

static const zpy_argspec kv_spec[] = {
    {"key", ZPY_ARG_BUF, OFF(kv_args, key)},
    {"value", ZPY_ARG_BUF, OFF(kv_args, val)},
};

static PyObject *cursor_set_dup_common(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                                       PyObject *kwnames, int range)
{
    zpy_Cursor *self = (zpy_Cursor *)op;
    zpy_state *st = zpy_state_of(op);
    struct kv_args a = {ZPY_VAL_ABSENT, ZPY_VAL_ABSENT};
    zpy_views views = {.count = 0};
    int rc, found;

    CURSOR_GUARD(self, st);
    if (zpy_parse_args(st, kv_spec, 2, args, nargs, kwnames, &a, &views) < 0)
        return NULL;
    self->key = a.key;
    self->val = a.val;
    rc = cursor_move(self, range ? MDB_GET_BOTH_RANGE : MDB_GET_BOTH, 0);
    zpy_views_release(&views);
    found = self->positioned;
    if (rc < 0)
        return NULL;
    /* GET_BOTH_RANGE does not update the key as documented: re-read the
     * position so key and value never point at the caller's buffers.  Only
     * after a hit: a miss leaves the cursor unpositioned, as documented
     * (py-lmdb 3.0, its issue #505; before, it stayed on the next key). */
    if (range && found && cursor_move(self, MDB_GET_CURRENT, 0) < 0)
        return NULL;
    return PyBool_FromLong(found);
}

static PyObject *cursor_set_key_dup(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                                    PyObject *kwnames)
{
    return cursor_set_dup_common(op, args, nargs, kwnames, 0);
}

static PyObject *cursor_set_range_dup(PyObject *op, PyObject *const *args,
                                      Py_ssize_t nargs, PyObject *kwnames)
{
    return cursor_set_dup_common(op, args, nargs, kwnames, 1);
}

struct get_args {
    MDB_val key;
    PyObject *deflt;
};

static const zpy_argspec get_spec[] = {
    {"key", ZPY_ARG_BUF, OFF(get_args, key)},
    {"default", ZPY_ARG_OBJ, OFF(get_args, deflt)},
};

static PyObject *cursor_get(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                            PyObject *kwnames)
{
    zpy_Cursor *self = (zpy_Cursor *)op;
    zpy_state *st = zpy_state_of(op);
    struct get_args a = {ZPY_VAL_ABSENT, NULL};
    zpy_views views = {.count = 0};
    int rc;

    CURSOR_GUARD(self, st);
    if (zpy_parse_args(st, get_spec, 2, args, nargs, kwnames, &a, &views) < 0)
        return NULL;
    if (a.key.mv_data == zpy_absent) {
        zpy_views_release(&views);
        return zpy_type_error("key must be given.");
    }
    self->key = a.key;
    rc = cursor_move(self, MDB_SET_KEY, 1);
    zpy_views_release(&views);
    if (rc < 0)
        return NULL;
    if (!self->positioned)
        return Py_NewRef(a.deflt ? a.deflt : Py_None);
    return zpy_txn_value(self->txn, &self->val);
}

/* ------------------------------------------------------------- writes */

static int put_flags(zpy_Cursor *self, int dupdata, int overwrite, int append)
{
    int flags = 0;
    if (!dupdata)
        flags |= MDB_NODUPDATA;
    if (!overwrite)
        flags |= MDB_NOOVERWRITE;
    if (append)
        /* The flags of the database written, the cursor's (py-lmdb 3.0, its
         * issue #504; before, the transaction's default database's). */
        flags |= (self->dbi_flags & MDB_DUPSORT) ? MDB_APPENDDUP : MDB_APPEND;
    return flags;
}

/* `count` says whether the put bumps the txn's mutation counter: py-lmdb's
 * replace() does not count its final put, so a cursor that was left
 * unpositioned by it stays so. */
static int cursor_put_raw(zpy_Cursor *self, MDB_val *key, MDB_val *val, unsigned int flags,
                          int count)
{
    zpy_Txn *t = self->txn;
    int rc;

    zpy_txn_op_enter(t);
    ZPY_BEGIN_LMDB
    rc = self->eng->cursor_put(self->curs, key, val, flags);
    ZPY_END_LMDB
    zpy_txn_op_leave(t);
    if (count)
        t->mutations++;
    return rc;
}

static int cursor_del_raw(zpy_Cursor *self, unsigned int flags)
{
    zpy_Txn *t = self->txn;
    int rc;

    zpy_txn_op_enter(t);
    ZPY_BEGIN_LMDB
    rc = self->eng->cursor_del(self->curs, flags);
    ZPY_END_LMDB
    zpy_txn_op_leave(t);
    t->mutations++;
    return rc;
}

struct put_args {
    MDB_val key, val;
    int dupdata, overwrite, append;
};

static const zpy_argspec put_spec[] = {
    {"key", ZPY_ARG_BUF, OFF(put_args, key)},
    {"value", ZPY_ARG_BUF, OFF(put_args, val)},
    {"dupdata", ZPY_ARG_BOOL, OFF(put_args, dupdata)},
    {"overwrite", ZPY_ARG_BOOL, OFF(put_args, overwrite)},
    {"append", ZPY_ARG_BOOL, OFF(put_args, append)},
};

static PyObject *cursor_put(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                            PyObject *kwnames)
{
    zpy_Cursor *self = (zpy_Cursor *)op;
    zpy_state *st = zpy_state_of(op);
    struct put_args a = {ZPY_VAL_ABSENT, ZPY_VAL_ABSENT, 1, 1, 0};
    zpy_views views = {.count = 0};
    int rc;

    CURSOR_GUARD(self, st);
    if (zpy_parse_args(st, put_spec, 5, args, nargs, kwnames, &a, &views) < 0)
        return NULL;
    rc = cursor_put_raw(self, &a.key, &a.val,
                        (unsigned int)put_flags(self, a.dupdata, a.overwrite, a.append), 1);
    zpy_views_release(&views);
    if (rc) {
        if (rc == MDB_KEYEXIST)
            Py_RETURN_FALSE;
        return zpy_err_set(st, "mdb_put", rc);
    }
    Py_RETURN_TRUE;
}

struct putmulti_args {
    PyObject *items;
    int dupdata, overwrite, append;
};

static const zpy_argspec putmulti_spec[] = {
    {"items", ZPY_ARG_OBJ, OFF(putmulti_args, items)},
    {"dupdata", ZPY_ARG_BOOL, OFF(putmulti_args, dupdata)},
    {"overwrite", ZPY_ARG_BOOL, OFF(putmulti_args, overwrite)},
    {"append", ZPY_ARG_BOOL, OFF(putmulti_args, append)},
};

/* Items are taken in batches so one GIL release covers many puts; every
 * item's buffers stay referenced (the tuples are kept) until its put. */
#define PUTMULTI_BATCH 64

/* Take the next batch of items from `iter`.  `accept` classifies each item:
 * 1 = fast (taken into the batch as is, its tuple kept so the buffers stay
 * alive); otherwise the item must head a batch of its own, so it is left in
 * *pending when the batch already has items, and at index 0 `accept`
 * converts it (0) or rejects it with an exception (-1, *bad set).  *stop is
 * set when the iterator is exhausted or raised (its exception stays set).
 * The caller processes the batch's good items before raising anything, so
 * the outcome is the one of a one-item-at-a-time loop. */
static int next_batch(PyObject *iter, PyObject **pending, PyObject **batch, int max,
                      int (*accept)(PyObject *item, int idx, void *payload), void *payload,
                      int *stop, int *bad)
{
    int n = 0;

    *bad = 0;
    while (n < max) {
        PyObject *item = *pending ? *pending : PyIter_Next(iter);
        int r;
        *pending = NULL;
        if (item == NULL) {
            *stop = 1;
            break;
        }
        r = accept(item, n, payload);
        if (r == 1) {
            batch[n++] = item;
            continue;
        }
        if (n > 0) {
            *pending = item;
            break;
        }
        batch[n++] = item;
        if (r < 0) {
            *bad = 1;
            *stop = 1;
        }
        break;
    }
    return n;
}

/* After a batch: an error raised while gathering it (et/ev/tb, fetched
 * before the batch was processed) is raised now unless processing failed
 * first; then the batch's views and items are released.  Returns whether
 * the call has failed. */
static int end_batch(int failed, PyObject *et, PyObject *ev, PyObject *tb, zpy_views *views,
                     PyObject **batch, int n)
{
    int i;

    if (failed) {
        Py_XDECREF(et);
        Py_XDECREF(ev);
        Py_XDECREF(tb);
    } else if (et) {
        PyErr_Restore(et, ev, tb);
        failed = 1;
    }
    zpy_views_release(views);
    for (i = 0; i < n; i++)
        Py_DECREF(batch[i]);
    return failed;
}

struct put_batch {
    MDB_val keys[PUTMULTI_BATCH], vals[PUTMULTI_BATCH];
    zpy_views views;
};

static int accept_pair(PyObject *item, int idx, void *payload)
{
    struct put_batch *b = payload;
    PyObject *k, *v;

    if (PyTuple_CheckExact(item) && PyTuple_GET_SIZE(item) == 2 &&
        PyBytes_CheckExact(PyTuple_GET_ITEM(item, 0)) &&
        PyBytes_CheckExact(PyTuple_GET_ITEM(item, 1))) {
        k = PyTuple_GET_ITEM(item, 0);
        v = PyTuple_GET_ITEM(item, 1);
        b->keys[idx].mv_data = PyBytes_AS_STRING(k);
        b->keys[idx].mv_size = (size_t)PyBytes_GET_SIZE(k);
        b->vals[idx].mv_data = PyBytes_AS_STRING(v);
        b->vals[idx].mv_size = (size_t)PyBytes_GET_SIZE(v);
        return 1;
    }
    if (idx > 0)
        return 0;   /* checked and converted when it heads its own batch */
    if (!PyTuple_CheckExact(item) || PyTuple_GET_SIZE(item) != 2) {
        PyErr_SetString(PyExc_TypeError, "putmulti() elements must be 2-tuples");
        return -1;
    }
    if (zpy_val_from_obj(PyTuple_GET_ITEM(item, 0), &b->keys[0], &b->views) < 0 ||
        zpy_val_from_obj(PyTuple_GET_ITEM(item, 1), &b->vals[0], &b->views) < 0)
        return -1;
    return 0;
}

static PyObject *cursor_putmulti(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                                 PyObject *kwnames)
{
    zpy_Cursor *self = (zpy_Cursor *)op;
    zpy_state *st = zpy_state_of(op);
    struct putmulti_args a = {NULL, 1, 1, 0};
    struct put_batch b;
    PyObject *iter, *pending = NULL, *batch[PUTMULTI_BATCH];
    Py_ssize_t consumed = 0, added = 0;
    unsigned int flags;
    int n, i, stop = 0, bad, rc = 0, failed = 0;
    zpy_Txn *t = self->txn;

    CURSOR_GUARD(self, st);
    if (zpy_parse_args(st, putmulti_spec, 4, args, nargs, kwnames, &a, NULL) < 0)
        return NULL;
    flags = (unsigned int)put_flags(self, a.dupdata, a.overwrite, a.append);
    iter = PyObject_GetIter(a.items ? a.items : Py_None);
    if (iter == NULL)
        return NULL;
    b.views.count = 0;
    while (!stop && !failed) {
        PyObject *et = NULL, *ev = NULL, *tb = NULL;
        int put_n;

        n = next_batch(iter, &pending, batch, PUTMULTI_BATCH, accept_pair, &b, &stop, &bad);
        put_n = bad ? n - 1 : n;
        /* Whatever went wrong while gathering is raised after the items
         * before it are written. */
        PyErr_Fetch(&et, &ev, &tb);
        if (put_n > 0) {
            /* Gathering ran Python code (iterators, buffer exporters), which
             * may have ended the transaction. */
            if (!self->node.valid) {
                zpy_err_invalid(st);
                failed = 1;
            } else {
                zpy_txn_op_enter(t);
                ZPY_BEGIN_LMDB
                for (i = 0; i < put_n; i++) {
                    rc = self->eng->cursor_put(self->curs, &b.keys[i], &b.vals[i], flags);
                    if (rc != 0 && rc != MDB_KEYEXIST)
                        break;
                    if (rc == 0)
                        added++;
                    consumed++;
                }
                ZPY_END_LMDB
                zpy_txn_op_leave(t);
                t->mutations++;
                if (i < put_n) {
                    zpy_err_format(st, rc, "mdb_cursor_put() element #%zd", consumed);
                    failed = 1;
                }
            }
        }
        failed = end_batch(failed, et, ev, tb, &b.views, batch, n);
    }
    Py_XDECREF(pending);
    Py_DECREF(iter);
    if (failed)
        return NULL;
    return Py_BuildValue("(nn)", consumed, added);
}

struct delete_args {
    int dupdata;
};

static const zpy_argspec delete_spec[] = {
    {"dupdata", ZPY_ARG_BOOL, OFF(delete_args, dupdata)},
};

static PyObject *cursor_delete(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                               PyObject *kwnames)
{
    zpy_Cursor *self = (zpy_Cursor *)op;
    zpy_state *st = zpy_state_of(op);
    struct delete_args a = {0};
    int rc;

    CURSOR_GUARD(self, st);
    if (zpy_parse_args(st, delete_spec, 1, args, nargs, kwnames, &a, NULL) < 0)
        return NULL;
    if (!self->positioned)
        Py_RETURN_FALSE;
    rc = cursor_del_raw(self, a.dupdata ? MDB_NODUPDATA : 0);
    if (rc)
        return zpy_err_set(st, "mdb_cursor_del", rc);
    /* LMDB leaves the cursor on the following record. */
    if (cursor_move(self, MDB_GET_CURRENT, 0) < 0)
        return NULL;
    Py_RETURN_TRUE;
}

/* The old value as bytes (never a buffer: the record is about to change). */
static PyObject *copy_value(zpy_Cursor *self, const MDB_val *v)
{
    preload_value(self);
    return PyBytes_FromStringAndSize((const char *)v->mv_data, (Py_ssize_t)v->mv_size);
}

PyObject *zpy_cursor_do_replace(zpy_Cursor *self, MDB_val *key, MDB_val *val)
{
    zpy_state *st = zpy_state_of(self);
    MDB_val newval = *val;
    PyObject *old;
    int rc;

    if (self->dbi_flags & MDB_DUPSORT) {
        /* Replace means "drop every duplicate, then put the one value". */
        self->key = *key;
        if (cursor_move(self, MDB_SET_KEY, 0) < 0)
            return NULL;
        if (self->positioned) {
            old = copy_value(self, &self->val);
            if (old == NULL)
                return NULL;
            rc = cursor_del_raw(self, MDB_NODUPDATA);
            if (rc) {
                Py_DECREF(old);
                return zpy_err_set(st, "mdb_cursor_del", rc);
            }
        } else {
            old = Py_NewRef(Py_None);
        }
    } else {
        /* On MDB_KEYEXIST, LMDB hands back the existing value in `val`. */
        rc = cursor_put_raw(self, key, val, MDB_NOOVERWRITE, 1);
        if (rc == 0)
            Py_RETURN_NONE;
        if (rc != MDB_KEYEXIST)
            return zpy_err_set(st, "mdb_put", rc);
        old = copy_value(self, val);
        if (old == NULL)
            return NULL;
    }
    rc = cursor_put_raw(self, key, &newval, 0, 0);
    if (rc) {
        Py_DECREF(old);
        return zpy_err_set(st, "mdb_put", rc);
    }
    return old;
}

PyObject *zpy_cursor_do_pop(zpy_Cursor *self, MDB_val *key)
{
    zpy_state *st = zpy_state_of(self);
    PyObject *old;
    int rc;

    self->key = *key;
    if (cursor_move(self, MDB_SET_KEY, 0) < 0)
        return NULL;
    if (!self->positioned)
        Py_RETURN_NONE;
    old = copy_value(self, &self->val);
    if (old == NULL)
        return NULL;
    rc = cursor_del_raw(self, 0);
    if (rc) {
        Py_DECREF(old);
        return zpy_err_set(st, "mdb_cursor_del", rc);
    }
    return old;
}

static PyObject *cursor_replace(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                                PyObject *kwnames)
{
    zpy_Cursor *self = (zpy_Cursor *)op;
    zpy_state *st = zpy_state_of(op);
    struct kv_args a = {ZPY_VAL_ABSENT, ZPY_VAL_ABSENT};
    zpy_views views = {.count = 0};
    PyObject *res;

    CURSOR_GUARD(self, st);
    if (zpy_parse_args(st, kv_spec, 2, args, nargs, kwnames, &a, &views) < 0)
        return NULL;
    res = zpy_cursor_do_replace(self, &a.key, &a.val);
    zpy_views_release(&views);
    return res;
}

static PyObject *cursor_pop(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                            PyObject *kwnames)
{
    zpy_Cursor *self = (zpy_Cursor *)op;
    zpy_state *st = zpy_state_of(op);
    struct kv_args a = {ZPY_VAL_ABSENT, ZPY_VAL_ABSENT};
    zpy_views views = {.count = 0};
    PyObject *res;

    CURSOR_GUARD(self, st);
    if (zpy_parse_args(st, kv_spec, 1, args, nargs, kwnames, &a, &views) < 0)
        return NULL;
    res = zpy_cursor_do_pop(self, &a.key);
    zpy_views_release(&views);
    return res;
}

/* ------------------------------------------------------------ getmulti */

struct getmulti_args {
    PyObject *keys;
    int dupdata;
    size_t dupfixed_bytes;
    int keyfixed, values;
};

static const zpy_argspec getmulti_spec[] = {
    {"keys", ZPY_ARG_OBJ, OFF(getmulti_args, keys)},
    {"dupdata", ZPY_ARG_BOOL, OFF(getmulti_args, dupdata)},
    {"dupfixed_bytes", ZPY_ARG_SIZE, OFF(getmulti_args, dupfixed_bytes)},
    {"keyfixed", ZPY_ARG_BOOL, OFF(getmulti_args, keyfixed)},
    {"values", ZPY_ARG_BOOL, OFF(getmulti_args, values)},
};

static int append_pair(PyObject *list, PyObject *k, PyObject *v)
{
    PyObject *tup;
    int rc;

    if (k == NULL || v == NULL) {
        Py_XDECREF(k);
        Py_XDECREF(v);
        return -1;
    }
    tup = PyTuple_New(2);
    if (tup == NULL) {
        Py_DECREF(k);
        Py_DECREF(v);
        return -1;
    }
    PyTuple_SET_ITEM(tup, 0, k);
    PyTuple_SET_ITEM(tup, 1, v);
    rc = PyList_Append(list, tup);
    Py_DECREF(tup);
    return rc;
}

/* The common case, getmulti(keys) without duplicates: look up a batch of
 * keys in one GIL release (faulting in the values too), then build. */
#define GETMULTI_BATCH 64

struct get_batch {
    MDB_val keys[GETMULTI_BATCH], vals[GETMULTI_BATCH];
    zpy_views views;
};

static int accept_key(PyObject *item, int idx, void *payload)
{
    struct get_batch *b = payload;

    if (PyBytes_CheckExact(item)) {
        b->keys[idx].mv_data = PyBytes_AS_STRING(item);
        b->keys[idx].mv_size = (size_t)PyBytes_GET_SIZE(item);
        return 1;
    }
    if (idx > 0)
        return 0;
    return zpy_val_from_obj(item, &b->keys[0], &b->views) < 0 ? -1 : 0;
}

static int getmulti_plain(zpy_Cursor *self, PyObject *iter, int values, PyObject *list)
{
    zpy_state *st = zpy_state_of(self);
    zpy_Txn *t = self->txn;
    struct get_batch b;
    PyObject *pending = NULL, *batch[GETMULTI_BATCH];
    int found[GETMULTI_BATCH];
    int n, i, stop = 0, bad, err = 0, failed = 0;

    b.views.count = 0;
    while (!stop && !failed) {
        PyObject *et = NULL, *ev = NULL, *tb = NULL;
        int get_n, done_n = 0;

        n = next_batch(iter, &pending, batch, GETMULTI_BATCH, accept_key, &b, &stop, &bad);
        get_n = bad ? n - 1 : n;
        PyErr_Fetch(&et, &ev, &tb);
        if (get_n > 0 && !self->node.valid) {
            zpy_err_invalid(st);
            failed = 1;
        } else if (get_n > 0) {
            zpy_txn_op_enter(t);
            ZPY_BEGIN_LMDB
            for (i = 0; i < get_n; i++) {
                MDB_val k = b.keys[i];
                int rc = self->eng->cursor_get(self->curs, &k, &b.vals[i], MDB_SET_KEY);
                found[i] = rc == 0;
                if (rc == 0) {
                    b.keys[i] = k;
                    if (values)
                        zpy_preload(&b.vals[i]);
                } else if (rc != MDB_NOTFOUND) {
                    err = rc;
                    break;
                }
            }
            done_n = i;
            ZPY_END_LMDB
            zpy_txn_op_leave(t);
            self->last_mutation = t->mutations;
            /* The cursor ends where the last lookup left it. */
            if (err) {
                self->positioned = 0;
                self->key.mv_size = self->val.mv_size = 0;
                zpy_err_set(st, "mdb_cursor_get", err);
                failed = 1;
            } else {
                self->positioned = found[done_n - 1];
                if (self->positioned) {
                    self->key = b.keys[done_n - 1];
                    self->val = b.vals[done_n - 1];
                } else {
                    self->key.mv_size = self->val.mv_size = 0;
                }
            }
            for (i = 0; i < done_n && !failed; i++) {
                PyObject *k;
                if (!found[i])
                    continue;
                k = zpy_txn_value(t, &b.keys[i]);
                if (values) {
                    if (append_pair(list, k, zpy_txn_value(t, &b.vals[i])) < 0)
                        failed = 1;
                } else {
                    if (k == NULL || PyList_Append(list, k) < 0)
                        failed = 1;
                    Py_XDECREF(k);
                }
            }
        }
        failed = end_batch(failed, et, ev, tb, &b.views, batch, n);
    }
    Py_XDECREF(pending);
    return failed ? -1 : 0;
}

static PyObject *cursor_getmulti(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                                 PyObject *kwnames)
{
    zpy_Cursor *self = (zpy_Cursor *)op;
    zpy_state *st = zpy_state_of(op);
    struct getmulti_args a = {NULL, 0, 0, 0, 1};
    PyObject *iter, *item, *list = NULL;
    zlmdb_buf packed = ZLMDB_BUF_INIT;
    size_t key_size = 0, vsz;
    MDB_cursor_op get_op, next_op;
    int first = 1;

    CURSOR_GUARD(self, st);
    if (zpy_parse_args(st, getmulti_spec, 5, args, nargs, kwnames, &a, NULL) < 0)
        return NULL;
    if ((a.dupfixed_bytes > 0 || a.keyfixed) && !a.dupdata)
        return zpy_type_error("dupdata is required for dupfixed_bytes/keyfixed.");
    if (a.keyfixed && !a.dupfixed_bytes)
        return zpy_type_error("dupfixed_bytes is required for keyfixed.");
    if (!a.values && a.dupdata)
        return zpy_type_error("values=False is incompatible with dupdata.");
    iter = PyObject_GetIter(a.keys ? a.keys : Py_None);
    if (iter == NULL)
        return NULL;
    if (!a.keyfixed) {
        list = PyList_New(0);
        if (list == NULL)
            goto fail;
    }
    if (!a.dupdata) {
        if (getmulti_plain(self, iter, a.values, list) < 0)
            goto fail;
        Py_DECREF(iter);
        return list;
    }

    vsz = a.dupfixed_bytes;
    get_op = vsz ? MDB_GET_MULTIPLE : MDB_GET_CURRENT;
    next_op = vsz ? MDB_NEXT_MULTIPLE : MDB_NEXT_DUP;
    while ((item = PyIter_Next(iter))) {
        zpy_views views = {.count = 0};
        int rc;

        if (zpy_val_from_obj(item, &self->key, &views) < 0) {
            Py_DECREF(item);
            goto fail;
        }
        rc = cursor_move(self, MDB_SET_KEY, 0);
        zpy_views_release(&views);
        Py_DECREF(item);
        if (rc < 0)
            goto fail;
        while (self->positioned) {
            if (cursor_move(self, get_op, 1) < 0)
                goto fail;
            if (!self->positioned)
                break;
            if (!vsz) {
                if (append_pair(list, zpy_txn_value(self->txn, &self->key),
                                zpy_txn_value(self->txn, &self->val)) < 0)
                    goto fail;
            } else {
                size_t i, count = self->val.mv_size / vsz;
                if (first) {
                    key_size = self->key.mv_size;
                    /* Sizes come from disk: check the arithmetic. */
                    if (key_size > SIZE_MAX - vsz) {
                        PyErr_SetString(PyExc_OverflowError,
                                        "key+value size overflow in getmulti "
                                        "(corrupt database?)");
                        goto fail;
                    }
                    first = 0;
                }
                for (i = 0; i < count; i++) {
                    const char *vp = (const char *)self->val.mv_data + i * vsz;
                    if (a.keyfixed) {
                        if (self->key.mv_size != key_size) {
                            PyErr_SetString(PyExc_ValueError,
                                            "keyfixed=True needs keys of one size");
                            goto fail;
                        }
                        if (zlmdb_buf_append(&packed, self->key.mv_data, key_size) ||
                            zlmdb_buf_append(&packed, vp, vsz)) {
                            PyErr_NoMemory();
                            goto fail;
                        }
                    } else {
                        MDB_val v = {vsz, (void *)vp};
                        if (append_pair(list, zpy_txn_value(self->txn, &self->key),
                                        zpy_txn_value(self->txn, &v)) < 0)
                            goto fail;
                    }
                }
            }
            if (cursor_move(self, next_op, 0) < 0)
                goto fail;
        }
    }
    if (PyErr_Occurred())
        goto fail;
    Py_DECREF(iter);
    if (a.keyfixed) {
        PyObject *owner = PyBytes_FromStringAndSize((const char *)packed.ptr,
                                                    (Py_ssize_t)packed.size);
        PyObject *mv;
        zlmdb_buf_dispose(&packed);
        if (owner == NULL)
            return NULL;
        mv = PyMemoryView_FromObject(owner);
        Py_DECREF(owner);
        return mv;
    }
    return list;

fail:
    zlmdb_buf_dispose(&packed);
    Py_XDECREF(list);
    Py_DECREF(iter);
    return NULL;
}

/* ----------------------------------------------------------- iterators */

static PyObject *iter_new(zpy_Cursor *self, int keys, int values, MDB_cursor_op op)
{
    zpy_state *st = zpy_state_of(self);
    zpy_Iter *it = PyObject_New(zpy_Iter, st->IterType);

    if (it == NULL)
        return NULL;
    it->curs = (zpy_Cursor *)Py_NewRef(self);
    it->op = op;
    it->started = 0;
    it->keys = keys;
    it->values = values;
    return (PyObject *)it;
}

struct iter_args {
    int keys, values;
};

static const zpy_argspec iter_spec[] = {
    {"keys", ZPY_ARG_BOOL, OFF(iter_args, keys)},
    {"values", ZPY_ARG_BOOL, OFF(iter_args, values)},
};

/* pos_op < 0: do not position an unpositioned cursor first. */
static PyObject *iter_from_args(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                                PyObject *kwnames, int pos_op, MDB_cursor_op move,
                                int keys, int values)
{
    zpy_Cursor *self = (zpy_Cursor *)op;
    zpy_state *st = zpy_state_of(op);
    struct iter_args a = {keys, values};

    CURSOR_GUARD(self, st);
    if (zpy_parse_args(st, iter_spec, 2, args, nargs, kwnames, &a, NULL) < 0)
        return NULL;
    if (pos_op >= 0 && !self->positioned &&
        cursor_move(self, (MDB_cursor_op)pos_op, a.values) < 0)
        return NULL;
    return iter_new(self, a.keys, a.values, move);
}

#define ITER_METHOD(name, pos, move, k, v)                                  \
    static PyObject *cursor_##name(PyObject *op, PyObject *const *args,     \
                                   Py_ssize_t nargs, PyObject *kwnames)     \
    {                                                                       \
        return iter_from_args(op, args, nargs, kwnames, pos, move, k, v);   \
    }

ITER_METHOD(iternext, MDB_FIRST, MDB_NEXT, 1, 1)
ITER_METHOD(iternext_dup, -1, MDB_NEXT_DUP, 0, 1)
ITER_METHOD(iternext_nodup, MDB_FIRST, MDB_NEXT_NODUP, 1, 0)
ITER_METHOD(iterprev, MDB_LAST, MDB_PREV, 1, 1)
ITER_METHOD(iterprev_dup, -1, MDB_PREV_DUP, 0, 1)
ITER_METHOD(iterprev_nodup, MDB_LAST, MDB_PREV_NODUP, 1, 0)

static PyObject *cursor_iter(PyObject *op)
{
    return iter_from_args(op, NULL, 0, NULL, MDB_FIRST, MDB_NEXT, 1, 1);
}

struct iter_from_args {
    MDB_val key;
    int reverse;
};

static const zpy_argspec iter_from_spec[] = {
    {"key", ZPY_ARG_BUF, OFF(iter_from_args, key)},
    {"reverse", ZPY_ARG_BOOL, OFF(iter_from_args, reverse)},
};

static PyObject *cursor_iter_from(PyObject *op, PyObject *args)
{
    zpy_Cursor *self = (zpy_Cursor *)op;
    zpy_state *st = zpy_state_of(op);
    struct iter_from_args a = {ZPY_VAL_ABSENT, 0};
    zpy_views views = {.count = 0};
    int rc;

    CURSOR_GUARD(self, st);
    if (zpy_parse_tuple(st, iter_from_spec, 2, args, NULL, &a, &views) < 0)
        return NULL;
    if (a.key.mv_size == 0 && !a.reverse) {
        rc = cursor_move(self, MDB_FIRST, 1);
    } else {
        self->key = a.key;
        rc = cursor_move(self, MDB_SET_RANGE, 1);
    }
    zpy_views_release(&views);
    if (rc < 0)
        return NULL;
    if (a.reverse && !self->positioned && cursor_move(self, MDB_LAST, 1) < 0)
        return NULL;
    return iter_new(self, 1, 1, a.reverse ? MDB_PREV : MDB_NEXT);
}

static void iter_dealloc(PyObject *op)
{
    zpy_Iter *it = (zpy_Iter *)op;
    PyTypeObject *tp = Py_TYPE(op);
    Py_CLEAR(it->curs);
    tp->tp_free(op);
    Py_DECREF(tp);
}

static PyObject *iter_next(PyObject *op)
{
    zpy_Iter *it = (zpy_Iter *)op;
    zpy_Cursor *c = it->curs;
    int preloaded = 0;

    if (!c->node.valid)
        return zpy_err_invalid(zpy_state_of(c));
    /* An unpositioned cursor ends the iteration before any move, however
     * it got there (py-lmdb semantics: LMDB's own position is not used). */
    if (!c->positioned)
        return NULL;   /* StopIteration */
    if (it->started) {
        /* Fault the value in within the same GIL release as the move. */
        if (cursor_move(c, it->op, it->values) < 0)
            return NULL;
        preloaded = it->values;
        if (!c->positioned)
            return NULL;
    }
    it->started = 1;
    if (!it->values)
        return get_key(c, 1);
    if (!it->keys)
        return get_value(c, preloaded);
    return get_item(c, preloaded);
}

static PyObject *iter_self(PyObject *op)
{
    return Py_NewRef(op);
}

static PyType_Slot iter_slots[] = {
    {Py_tp_dealloc, iter_dealloc},
    {Py_tp_doc, (void *)"The iterator of Cursor.iternext() and its variants: the first\n"
                        "step yields the cursor's current record, each later one moves\n"
                        "the cursor first."},
    {Py_tp_iter, iter_self},
    {Py_tp_iternext, iter_next},
    {0, NULL}
};

PyType_Spec zpy_iter_spec = {
    .name = "builtins._Iterator",
    .basicsize = sizeof(zpy_Iter),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = iter_slots,
};

/* --------------------------------------------------------- the rest */

static PyObject *cursor_close(PyObject *op, PyObject *unused)
{
    zpy_Cursor *self = (zpy_Cursor *)op;
    if (self->node.valid) {
        self->node.valid = 0;
        cursor_close_handle(self);
        zpy_node_unlink(&self->node);
    }
    Py_RETURN_NONE;
}

static PyObject *cursor_enter(PyObject *op, PyObject *unused)
{
    /* No validity check, as py-lmdb: a closed cursor can still be used as a
     * context manager; its methods raise. */
    return Py_NewRef(op);
}

static PyObject *cursor_exit(PyObject *op, PyObject *args)
{
    return cursor_close(op, NULL);
}

struct cursor_new_args {
    PyObject *db, *txn;
};

static const zpy_argspec cursor_new_spec[] = {
    {"db", ZPY_ARG_DB, OFF(cursor_new_args, db)},
    {"txn", ZPY_ARG_TXN, OFF(cursor_new_args, txn)},
};

static PyObject *cursor_tp_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    zpy_state *st = zpy_state_of_type(type);
    struct cursor_new_args a = {NULL, NULL};

    if (zpy_parse_tuple(st, cursor_new_spec, 2, args, kwds, &a, NULL) < 0)
        return NULL;
    if (a.db == NULL || a.txn == NULL)
        return zpy_type_error("db and transaction parameters required.");
    return zpy_cursor_new(st, (zpy_Db *)a.db, (zpy_Txn *)a.txn);
}

/* Docstrings: the first line is the signature (__text_signature__). */
PyDoc_STRVAR(cursor_doc,
"Cursor(db, txn)\n--\n\n"
"A position in database db, inside transaction txn; txn.cursor() makes one.\n\n"
"A new cursor is unpositioned: key() and value() return empty bytes and\n"
"item() a pair of them until a positioning method succeeds, and again after\n"
"one fails.  Iterating over a cursor is iterating over cursor.iternext().\n"
"The cursor ends with its transaction.");

PyDoc_STRVAR(cursor_enter_doc, "__enter__($self, /)\n--\n\nReturn the cursor.");
PyDoc_STRVAR(cursor_exit_doc, "__exit__($self, /, *exc_info)\n--\n\nClose the cursor.");
PyDoc_STRVAR(cursor_iter_from_doc,
"_iter_from($self, key, reverse, /)\n--\n\n"
"An iterator over (key, value) pairs from the first key >= key, backwards\n"
"when reverse is true (a private helper that py-lmdb has too).");
PyDoc_STRVAR(cursor_close_doc,
"close($self, /)\n--\n\nClose the cursor.  Closing a closed cursor does nothing.");
PyDoc_STRVAR(cursor_count_doc,
"count($self, /)\n--\n\nThe number of values of the current key (dupsort databases).");
PyDoc_STRVAR(cursor_delete_doc,
"delete($self, /, dupdata=False)\n--\n\n"
"Delete the current record, or with dupdata=True every value of the current\n"
"key, and move to the record after it.  Return False when unpositioned.");
PyDoc_STRVAR(cursor_first_doc,
"first($self, /)\n--\n\nMove to the first record; return False when the database is empty.");
PyDoc_STRVAR(cursor_first_dup_doc,
"first_dup($self, /)\n--\n\nMove to the first value of the current key.");
PyDoc_STRVAR(cursor_get_doc,
"get($self, /, key, default=None)\n--\n\n"
"Move to key and return its value, or default when key is missing.");
PyDoc_STRVAR(cursor_getmulti_doc,
"getmulti($self, /, keys, dupdata=False, dupfixed_bytes=0, keyfixed=False, values=True)\n"
"--\n\n"
"Look up every key of the iterable keys and return a list of (key, value)\n"
"pairs for those found, or of keys with values=False.  dupdata=True returns\n"
"every value of each key; dupfixed_bytes, the value size of a dupfixed\n"
"database, reads them a page at a time; keyfixed=True (with dupfixed_bytes)\n"
"returns one memoryview of packed key + value records instead of a list.");
PyDoc_STRVAR(cursor_item_doc,
"item($self, /)\n--\n\nThe current (key, value) pair.");
PyDoc_STRVAR(cursor_iternext_doc,
"iternext($self, /, keys=True, values=True)\n--\n\n"
"An iterator forwards from the current record (from the first one when\n"
"unpositioned), yielding (key, value) pairs, or only keys or values.");
PyDoc_STRVAR(cursor_iternext_dup_doc,
"iternext_dup($self, /, keys=False, values=True)\n--\n\n"
"An iterator forwards over the values of the current key.");
PyDoc_STRVAR(cursor_iternext_nodup_doc,
"iternext_nodup($self, /, keys=True, values=False)\n--\n\n"
"An iterator forwards over the keys (one step per key, not per value),\n"
"from the current record or the first one.");
PyDoc_STRVAR(cursor_iterprev_doc,
"iterprev($self, /, keys=True, values=True)\n--\n\n"
"Like iternext(), backwards (from the last record when unpositioned).");
PyDoc_STRVAR(cursor_iterprev_dup_doc,
"iterprev_dup($self, /, keys=False, values=True)\n--\n\n"
"An iterator backwards over the values of the current key.");
PyDoc_STRVAR(cursor_iterprev_nodup_doc,
"iterprev_nodup($self, /, keys=True, values=False)\n--\n\n"
"Like iternext_nodup(), backwards (from the last record when unpositioned).");
PyDoc_STRVAR(cursor_key_doc,
"key($self, /)\n--\n\nThe current key.");
PyDoc_STRVAR(cursor_last_doc,
"last($self, /)\n--\n\nMove to the last record; return False when the database is empty.");
PyDoc_STRVAR(cursor_last_dup_doc,
"last_dup($self, /)\n--\n\nMove to the last value of the current key.");
PyDoc_STRVAR(cursor_next_doc,
"next($self, /)\n--\n\nMove to the next record; return False past the last one.");
PyDoc_STRVAR(cursor_next_dup_doc,
"next_dup($self, /)\n--\n\nMove to the next value of the current key; False after its last.");
PyDoc_STRVAR(cursor_next_nodup_doc,
"next_nodup($self, /)\n--\n\nMove to the first value of the next key.");
PyDoc_STRVAR(cursor_pop_doc,
"pop($self, /, key)\n--\n\n"
"Delete key (in a dupsort database its first value) and return the value,\n"
"or None when key is missing.");
PyDoc_STRVAR(cursor_prev_doc,
"prev($self, /)\n--\n\nMove to the previous record; return False before the first one.");
PyDoc_STRVAR(cursor_prev_dup_doc,
"prev_dup($self, /)\n--\n\nMove to the previous value of the current key.");
PyDoc_STRVAR(cursor_prev_nodup_doc,
"prev_nodup($self, /)\n--\n\nMove to the last value of the previous key.");
PyDoc_STRVAR(cursor_put_doc,
"put($self, /, key, value, dupdata=True, overwrite=True, append=False)\n--\n\n"
"Store a record, with the arguments and result of Transaction.put().\n"
"append=True uses MDB_APPENDDUP when the cursor's database is a dupsort\n"
"one, else MDB_APPEND.");
PyDoc_STRVAR(cursor_putmulti_doc,
"putmulti($self, /, items, dupdata=True, overwrite=True, append=False)\n--\n\n"
"Store every (key, value) 2-tuple of the iterable items, as put() would;\n"
"return (consumed, added): the pairs read, and those written.");
PyDoc_STRVAR(cursor_replace_doc,
"replace($self, /, key, value)\n--\n\n"
"Store value under key and return the value it replaced, or None, as\n"
"Transaction.replace().");
PyDoc_STRVAR(cursor_set_key_doc,
"set_key($self, key, /)\n--\n\nMove to key; return False when it is missing.");
PyDoc_STRVAR(cursor_set_key_dup_doc,
"set_key_dup($self, /, key, value)\n--\n\n"
"Move to the (key, value) pair; return False when it is missing.");
PyDoc_STRVAR(cursor_set_range_doc,
"set_range($self, key, /)\n--\n\n"
"Move to the first key >= key (an empty key: the first record); return\n"
"False when there is none.");
PyDoc_STRVAR(cursor_set_range_dup_doc,
"set_range_dup($self, /, key, value)\n--\n\n"
"Move to the first value >= value of key; return False when there is none.");
PyDoc_STRVAR(cursor_value_doc,
"value($self, /)\n--\n\nThe current value.");

#define FASTKW(f) (PyCFunction)(void (*)(void))(f), METH_FASTCALL | METH_KEYWORDS

static PyMethodDef cursor_methods[] = {
    {"__enter__", cursor_enter, METH_NOARGS, cursor_enter_doc},
    {"__exit__", cursor_exit, METH_VARARGS, cursor_exit_doc},
    {"_iter_from", cursor_iter_from, METH_VARARGS, cursor_iter_from_doc},
    {"close", cursor_close, METH_NOARGS, cursor_close_doc},
    {"count", cursor_count, METH_NOARGS, cursor_count_doc},
    {"delete", FASTKW(cursor_delete), cursor_delete_doc},
    {"first", cursor_first, METH_NOARGS, cursor_first_doc},
    {"first_dup", cursor_first_dup, METH_NOARGS, cursor_first_dup_doc},
    {"get", FASTKW(cursor_get), cursor_get_doc},
    {"getmulti", FASTKW(cursor_getmulti), cursor_getmulti_doc},
    {"item", cursor_item, METH_NOARGS, cursor_item_doc},
    {"iternext", FASTKW(cursor_iternext), cursor_iternext_doc},
    {"iternext_dup", FASTKW(cursor_iternext_dup), cursor_iternext_dup_doc},
    {"iternext_nodup", FASTKW(cursor_iternext_nodup), cursor_iternext_nodup_doc},
    {"iterprev", FASTKW(cursor_iterprev), cursor_iterprev_doc},
    {"iterprev_dup", FASTKW(cursor_iterprev_dup), cursor_iterprev_dup_doc},
    {"iterprev_nodup", FASTKW(cursor_iterprev_nodup), cursor_iterprev_nodup_doc},
    {"key", cursor_key, METH_NOARGS, cursor_key_doc},
    {"last", cursor_last, METH_NOARGS, cursor_last_doc},
    {"last_dup", cursor_last_dup, METH_NOARGS, cursor_last_dup_doc},
    {"next", cursor_next, METH_NOARGS, cursor_next_doc},
    {"next_dup", cursor_next_dup, METH_NOARGS, cursor_next_dup_doc},
    {"next_nodup", cursor_next_nodup, METH_NOARGS, cursor_next_nodup_doc},
    {"pop", FASTKW(cursor_pop), cursor_pop_doc},
    {"prev", cursor_prev, METH_NOARGS, cursor_prev_doc},
    {"prev_dup", cursor_prev_dup, METH_NOARGS, cursor_prev_dup_doc},
    {"prev_nodup", cursor_prev_nodup, METH_NOARGS, cursor_prev_nodup_doc},
    {"put", FASTKW(cursor_put), cursor_put_doc},
    {"putmulti", FASTKW(cursor_putmulti), cursor_putmulti_doc},
    {"replace", FASTKW(cursor_replace), cursor_replace_doc},
    {"set_key", cursor_set_key, METH_O, cursor_set_key_doc},
    {"set_key_dup", FASTKW(cursor_set_key_dup), cursor_set_key_dup_doc},
    {"set_range", cursor_set_range, METH_O, cursor_set_range_doc},
    {"set_range_dup", FASTKW(cursor_set_range_dup), cursor_set_range_dup_doc},
    {"value", cursor_value, METH_NOARGS, cursor_value_doc},
    {NULL, NULL, 0, NULL}
};

static PyType_Slot cursor_slots[] = {
    {Py_tp_new, cursor_tp_new},
    {Py_tp_doc, (void *)cursor_doc},
    {Py_tp_dealloc, cursor_dealloc},
    {Py_tp_iter, cursor_iter},
    {Py_tp_methods, cursor_methods},
    {0, NULL}
};

PyType_Spec zpy_cursor_spec = {
    .name = "builtins.Cursor",
    .basicsize = sizeof(zpy_Cursor),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = cursor_slots,
};

/* PersistentMapBase: the ORM's persistent maps, an adapter over libzlmdb's
 * table engine.
 *
 * python/zlmdb/_pmap.py declares the maps (key layout, value codec) and
 * subclasses this type; _c_setup() hands over the slot, the KeyCodec and
 * the value codec as a chain of callables (e.g. marshal -> cbor_dumps ->
 * zlib.compress, and back).  Reads and range scans run here: key encoding
 * straight into a buffer, one LMDB call, the codec chain.
 *
 * Writes: a map without indexes puts and deletes its record directly (one
 * LMDB call).  A map with indexes owns a zlmdb_table whose indexes are
 * callback indexes (ix_key, ix_value below): the engine reads the old
 * record, computes every index key, checks every constraint and key size,
 * and only then writes (zlmdb_table_put_encoded).  This file converts
 * arguments and maps errors; the rule lives once, in src/lib/table.c.
 *
 * Every write goes through write_record(): it counts the writes on the
 * transaction's TransactionStats, marks the transaction failed when the
 * engine stopped midway, and on a growing database logs the write (as
 * bytes) and redoes the transaction when the map is full (ormtxn.c).
 */
#include <stddef.h>

#include "zpy.h"

#define MAX_STAGES 4

typedef struct zpy_PMap zpy_PMap;

/* What an index callback needs: the ctx of one callback index. */
typedef struct {
    zpy_PMap *owner;             /**< the indexed map (borrowed: it owns us) */
    zpy_PMap *imap;              /**< the index map (held by owner->indexes) */
    PyObject *fkey;              /**< value -> index key (held likewise) */
    int pk_value;                /**< the entry's value is the encoded key itself */
} ixctx;

struct zpy_PMap {
    PyObject_HEAD
    PyObject *dict;              /**< instance attributes of Python subclasses */
    PyObject *weakreflist;
    unsigned char prefix[2];     /**< the slot, big-endian */
    int slot;
    int ready;                   /**< _c_setup() has run */
    int single;                  /**< one key component: bare keys */
    PyObject *keycodec;
    PyObject *enc[MAX_STAGES];   /**< value encoding chain */
    PyObject *dec[MAX_STAGES];   /**< value decoding chain */
    int nenc, ndec;
    PyObject *direct;            /**< dec[0]'s record codec when values may be decoded in
                                      place (zpy_record_direct_decoder), borrowed */
    zpy_state *st;               /**< module state, found once at _c_setup() */
    PyObject *indexes;           /**< tuple of (index map, fkey, nullable, unique, name,
                                      pk_value), or NULL */
    PyObject *null_error;        /**< zlmdb.NullValueConstraint */
    ixctx *ix;                   /**< one per index */
    zlmdb_table *table;          /**< the engine's table, made on first use */
    const zlmdb_engine *table_eng; /**< ... for this engine */
    MDB_dbi table_dbi;
    /* The stored record a put or delete replaces, decoded once for all of
     * its index callbacks (record_value()): valid only inside apply(). */
    int cache_old;               /**< apply() is running: cache the old record */
    PyObject *old_value;         /**< its decoded value, or NULL */
    const void *old_ptr;         /**< ... of these bytes */
    size_t old_len;
};

typedef struct {
    PyObject_HEAD
    zpy_PMap *pmap;              /**< strong reference */
    zpy_Cursor *curs;            /**< strong reference; in the txn's lifetime tree */
    PyObject *lo, *hi;           /**< bytes bounds (hi may be None: end of DB) */
    int keys, values, reverse;
    Py_ssize_t limit, read;
    int started, found;
} zpy_PMapIter;

/* ------------------------------------------------------------- helpers */

/* The module state: cached by _c_setup(); before it, found along the MRO
 * (the object is an instance of a Python subclass). */
static zpy_state *pmap_state(PyObject *op)
{
    zpy_PMap *self = (zpy_PMap *)op;
    return self->st ? self->st : zpy_state_of_sub(op);
}

static int split(zpy_state *st, PyObject *self, PyObject *arg, PyObject **txn,
                 PyObject **key)
{
    if (!PyTuple_CheckExact(arg) || PyTuple_GET_SIZE(arg) != 2) {
        PyErr_Format(PyExc_TypeError,
                     "%s records are addressed as pmap[txn, key] (a zlmdb.Transaction, then "
                     "the key), not pmap[%.100s]", Py_TYPE(self)->tp_name,
                     Py_TYPE(arg)->tp_name);
        return -1;
    }
    *txn = PyTuple_GET_ITEM(arg, 0);
    *key = PyTuple_GET_ITEM(arg, 1);
    if (PyObject_TypeCheck(*key, st->OrmTxnType) && !PyObject_TypeCheck(*txn, st->OrmTxnType)) {
        PyErr_Format(PyExc_TypeError,
                     "%s: the transaction comes first: write pmap[txn, key], not "
                     "pmap[key, txn]", Py_TYPE(self)->tp_name);
        return -1;
    }
    return 0;
}

static int not_ready(zpy_PMap *self)
{
    if (self->ready)
        return 0;
    PyErr_Format(PyExc_RuntimeError,
                 "%s has no slot: make it with one (%s(slot), slot 1 to 65535), or declare "
                 "a subclass with @zlmdb.table(oid) and get the map from "
                 "db.attach_table(cls)", Py_TYPE(self)->tp_name, Py_TYPE(self)->tp_name);
    return -1;
}

/* Append the encoded key (no slot prefix) to `out`. */
static int encode_key(zpy_PMap *self, PyObject *key, zlmdb_buf *out)
{
    if (key == Py_None) {
        PyErr_SetString(PyExc_TypeError, "key must not be None");
        return -1;
    }
    if (!self->single && !PyTuple_Check(key)) {
        PyObject *names = PyObject_GetAttrString(self->keycodec, "components");
        if (names != NULL)
            PyErr_Format(PyExc_TypeError, "%s keys are tuples of %zd components %R, not %.100s",
                         Py_TYPE(self)->tp_name, PyTuple_GET_SIZE(names), names,
                         Py_TYPE(key)->tp_name);
        Py_XDECREF(names);
        return -1;
    }
    return zpy_keycodec_encode(self->keycodec, key, 0, 0, out);
}

/* slot prefix + encoded key into `out` (cleared first). */
static int physical_key(zpy_PMap *self, PyObject *key, zlmdb_buf *out)
{
    zlmdb_buf_clear(out);
    if (zlmdb_buf_append(out, self->prefix, 2) != 0) {
        PyErr_NoMemory();
        return -1;
    }
    return encode_key(self, key, out);
}

static PyObject *chain(PyObject *const *stages, int n, PyObject *v)
{
    int i;
    Py_INCREF(v);
    for (i = 0; i < n && v; i++)
        Py_SETREF(v, PyObject_CallOneArg(stages[i], v));
    return v;
}

/* The stored bytes (or a buffer) as a value: empty reads as None. */
static PyObject *decode_value(zpy_PMap *self, zpy_Txn *t, const MDB_val *v)
{
    PyObject *raw, *res;

    if (v->mv_size == 0)
        Py_RETURN_NONE;
    if (self->direct != NULL) {
        /* A declared record read where LMDB keeps it: no copy into a bytes
         * object and no call through the method (see zpy.h for why the
         * memory stays put). */
        res = zpy_record_decode_mem(self->direct, v->mv_data, v->mv_size);
        if (res != NULL && self->ndec > 1)
            Py_SETREF(res, chain(self->dec + 1, self->ndec - 1, res));
        return res;
    }
    raw = zpy_txn_value(t, v);
    if (raw == NULL)
        return NULL;
    res = chain(self->dec, self->ndec, raw);
    Py_DECREF(raw);
    return res;
}

/* A TypeError or ValueError of the value encoding raised again naming the
 * map, so that it cannot be taken for a key error; the original is its
 * __cause__. */
static ZPY_NOINLINE void value_error(zpy_PMap *self)
{
    PyObject *exc = zpy_err_take(), *repl;
    PyObject *klass = (PyObject *)Py_TYPE(exc);
    PyObject *text = PyObject_Str(exc);
    const char *s = text ? PyUnicode_AsUTF8(text) : NULL;

    if (s == NULL) {
        Py_XDECREF(text);
        PyErr_Clear();
        zpy_err_give(exc);
        return;
    }
    PyErr_Format(klass, strncmp(s, "value", 5) == 0 ? "%s: %U" : "%s value: %U",
                 Py_TYPE(self)->tp_name, text);
    Py_DECREF(text);
    repl = zpy_err_take();
    PyException_SetCause(repl, exc);
    zpy_err_give(repl);
}

/* The value run through the map's encoding chain: bytes, or NULL. */
static PyObject *encode_value(zpy_PMap *self, PyObject *value)
{
    PyObject *data = chain(self->enc, self->nenc, value);
    if (data == NULL) {
        PyObject *exc = zpy_err_take();
        PyObject *klass = (PyObject *)Py_TYPE(exc);
        zpy_err_give(exc);
        if (klass == PyExc_TypeError || klass == PyExc_ValueError)
            value_error(self);
        return NULL;
    }
    if (!PyBytes_Check(data)) {
        PyErr_Format(PyExc_TypeError, "value encoder returned %.100s, not bytes",
                     Py_TYPE(data)->tp_name);
        Py_CLEAR(data);
    }
    return data;
}

static int lookup(zpy_Txn *t, const zlmdb_buf *k, MDB_val *out)
{
    MDB_val key = {k->size, k->ptr};
    int rc;

    zpy_txn_op_enter(t);
    ZPY_BEGIN_LMDB
    rc = t->eng->get(t->txn, t->db->dbi, &key, out);
    if (rc == 0)
        zpy_preload(out);
    ZPY_END_LMDB
    zpy_txn_op_leave(t);
    return rc;
}

/* ------------------------------------------------------ mapping slots */

static PyObject *pmap_subscript(PyObject *op, PyObject *arg)
{
    zpy_PMap *self = (zpy_PMap *)op;
    zpy_state *st = pmap_state(op);
    zlmdb_buf k = ZLMDB_BUF_INIT;
    PyObject *txn, *key, *res = NULL;
    zpy_OrmTxn *t;
    MDB_val v;
    int rc;

    if (not_ready(self) < 0 || split(st, op, arg, &txn, &key) < 0)
        return NULL;
    if ((t = zpy_ormtxn_check(st, txn)) == NULL)
        return NULL;
    if (physical_key(self, key, &k) == 0) {
        rc = lookup(&t->base, &k, &v);
        if (rc == MDB_NOTFOUND)
            res = Py_NewRef(Py_None);
        else if (rc)
            zpy_err_set(st, "mdb_get", rc);
        else
            res = decode_value(self, &t->base, &v);
    }
    zlmdb_buf_dispose(&k);
    return res;
}

static int pmap_contains(PyObject *op, PyObject *arg)
{
    zpy_PMap *self = (zpy_PMap *)op;
    zpy_state *st = pmap_state(op);
    zlmdb_buf k = ZLMDB_BUF_INIT;
    PyObject *txn, *key;
    zpy_OrmTxn *t;
    MDB_val v;
    int rc, res = -1;

    if (not_ready(self) < 0 || split(st, op, arg, &txn, &key) < 0)
        return -1;
    if ((t = zpy_ormtxn_check(st, txn)) == NULL)
        return -1;
    if (physical_key(self, key, &k) == 0) {
        rc = lookup(&t->base, &k, &v);
        if (rc == 0 || rc == MDB_NOTFOUND)
            res = rc == 0;
        else
            zpy_err_set(st, "mdb_get", rc);
    }
    zlmdb_buf_dispose(&k);
    return res;
}

/* ---------------------------------------------------- index callbacks */

static int is_null_key(PyObject *k)
{
    Py_ssize_t i, n;
    if (k == Py_None)
        return 1;
    if (PyTuple_Check(k) || PyList_Check(k)) {
        n = PySequence_Fast_GET_SIZE(k);
        for (i = 0; i < n; i++)
            if (PySequence_Fast_GET_ITEM(k, i) == Py_None)
                return 1;
    }
    return 0;
}

/* The record's value as the user's object: the one being written, or the
 * stored bytes decoded (an old record, a rebuild, a replay). */
static PyObject *record_value(zpy_PMap *owner, const zlmdb_record *rec)
{
    PyObject *raw, *res;

    if (rec->user)
        return Py_NewRef((PyObject *)rec->user);
    if (rec->value.mv_size == 0)
        Py_RETURN_NONE;
    /* A put or delete computes every index's old key before it writes
     * (zlmdb_table_put_encoded), so the old record is decoded once, not
     * once per index: its key functions share that one object. */
    if (owner->cache_old && owner->old_value && owner->old_ptr == rec->value.mv_data &&
        owner->old_len == rec->value.mv_size)
        return Py_NewRef(owner->old_value);
    if (owner->direct) {
        /* No user code runs while it decodes: read the bytes in place. */
        res = zpy_record_decode_mem(owner->direct, rec->value.mv_data, rec->value.mv_size);
    } else {
        /* A copy: the bytes point into the map, which the writes will move. */
        raw = PyBytes_FromStringAndSize(rec->value.mv_data, (Py_ssize_t)rec->value.mv_size);
        if (raw == NULL)
            return NULL;
        res = chain(owner->dec, owner->ndec, raw);
        Py_DECREF(raw);
    }
    if (res && owner->cache_old) {
        Py_XSETREF(owner->old_value, Py_NewRef(res));
        owner->old_ptr = rec->value.mv_data;
        owner->old_len = rec->value.mv_size;
    }
    return res;
}

/* zlmdb_index_key_fn: fkey(value), encoded with the index map's KeyCodec. */
static int ix_key(void *ctx, const zlmdb_record *rec, zlmdb_buf *out, int *is_null)
{
    ixctx *c = ctx;
    PyObject *value, *ik;
    int rc;

    if ((value = record_value(c->owner, rec)) == NULL)
        return ZLMDB_CALLBACK;
    ik = PyObject_CallOneArg(c->fkey, value);
    Py_DECREF(value);
    if (ik == NULL)
        return ZLMDB_CALLBACK;
    *is_null = is_null_key(ik);
    rc = *is_null ? 0 : encode_key(c->imap, ik, out);
    Py_DECREF(ik);
    return rc < 0 ? ZLMDB_CALLBACK : ZLMDB_OK;
}

/* zlmdb_index_value_fn: the record's key through the index map's value
 * encoder (used when that is not simply the encoded key). */
static int ix_value(void *ctx, const zlmdb_record *rec, zlmdb_buf *out)
{
    ixctx *c = ctx;
    PyObject *key, *data;
    int rc = ZLMDB_CALLBACK;

    key = zpy_keycodec_decode(c->owner->keycodec, rec->key.mv_data, rec->key.mv_size);
    if (key == NULL)
        return ZLMDB_CALLBACK;
    data = chain(c->imap->enc, c->imap->nenc, key);
    Py_DECREF(key);
    if (data == NULL)
        return ZLMDB_CALLBACK;
    if (!PyBytes_Check(data))
        PyErr_SetString(PyExc_TypeError, "index value encoder did not return bytes");
    else if (zlmdb_buf_append(out, PyBytes_AS_STRING(data), (size_t)PyBytes_GET_SIZE(data)))
        PyErr_NoMemory();
    else
        rc = ZLMDB_OK;
    Py_DECREF(data);
    return rc;
}

/* --------------------------------------------------------- the table */

static void drop_table(zpy_PMap *self)
{
    zlmdb_table_free(self->table);
    self->table = NULL;
    self->table_eng = NULL;
}

/* The engine's table for this map in `t`'s environment, made on first use
 * (and again for another engine or database), or NULL with an exception. */
static zlmdb_table *get_table(zpy_state *st, zpy_PMap *self, zpy_Txn *t)
{
    zlmdb_table_options o = ZLMDB_TABLE_OPTIONS_INIT;
    Py_ssize_t i, n = self->indexes ? PyTuple_GET_SIZE(self->indexes) : 0;
    int rc;

    if (self->table && self->table_eng == t->eng && self->table_dbi == t->db->dbi)
        return self->table;
    drop_table(self);
    o.slot = (uint16_t)self->slot;
    /* Keys reach the table encoded: the layout is the KeyCodec's. */
    o.key.ncomp = 1;
    o.key.comp[0] = ZLMDB_KEY_STRING;
    o.engine = t->eng;
    if ((rc = zlmdb_table_new(&self->table, t->db->dbi, &o)) != ZLMDB_OK)
        goto fail;
    for (i = 0; i < n; i++) {
        PyObject *spec = PyTuple_GET_ITEM(self->indexes, i);
        zlmdb_index_options io = ZLMDB_INDEX_OPTIONS_INIT;
        ixctx *c = &self->ix[i];

        io.name = PyUnicode_AsUTF8(PyTuple_GET_ITEM(spec, 4));
        if (io.name == NULL) {
            drop_table(self);
            return NULL;
        }
        io.slot = (uint16_t)c->imap->slot;
        io.unique = PyObject_IsTrue(PyTuple_GET_ITEM(spec, 3));
        io.nullable = PyObject_IsTrue(PyTuple_GET_ITEM(spec, 2));
        io.key_fn = ix_key;
        io.value_fn = c->pk_value ? NULL : ix_value;
        io.ctx = c;
        if ((rc = zlmdb_table_add_index(self->table, &io)) != ZLMDB_OK)
            goto fail;
    }
    self->table_eng = t->eng;
    self->table_dbi = t->db->dbi;
    return self->table;
fail:
    drop_table(self);
    zpy_err_lib(st, PyExc_RuntimeError, rc, Py_TYPE(self)->tp_name, NULL);
    return NULL;
}

/* Raise the exception for an engine write's failure. */
static void table_error(zpy_state *st, zpy_PMap *self, int rc, const char *what,
                        const zlmdb_table_writes *w)
{
    zpy_err_index(st, rc, what, Py_TYPE(self)->tp_name, w->index, self->null_error);
}

/* --------------------------------------------------------------- writes */

enum { W_PUT, W_DEL };

/* One write of a record, encoded: `pk` is the physical key (slot prefix
 * included).  An LMDB/zlmdb code, with `w` filled in; ZLMDB_CALLBACK with
 * an exception pending. */
static int apply(zpy_state *st, zpy_PMap *self, zpy_OrmTxn *ot, int op, const MDB_val *pk,
                 const MDB_val *data, PyObject *user, zlmdb_table_writes *w)
{
    zpy_Txn *t = &ot->base;
    MDB_val k = *pk, v;
    zlmdb_table *table;
    int rc;

    memset(w, 0, sizeof(*w));
    if (self->indexes == NULL) {
        zpy_txn_op_enter(t);
        ZPY_BEGIN_LMDB
        if (op == W_PUT) {
            v = *data;
            rc = t->eng->put(t->txn, t->db->dbi, &k, &v, 0);
        } else {
            rc = t->eng->del(t->txn, t->db->dbi, &k, NULL);
        }
        ZPY_END_LMDB
        zpy_txn_op_leave(t);
        t->mutations++;
        if (rc == 0)
            *(op == W_PUT ? &w->puts : &w->dels) = 1;
        return rc;
    }
    if ((table = get_table(st, self, t)) == NULL)
        return ZLMDB_CALLBACK;
    k.mv_data = (char *)k.mv_data + 2;
    k.mv_size -= 2;
    t->mutations++;
    zpy_txn_op_enter(t);   /* the callbacks run Python: no GIL release */
    self->cache_old = 1;
    if (op == W_PUT)
        rc = zlmdb_table_put_encoded(table, t->txn, &k, data->mv_data, data->mv_size, user, 0,
                                     w);
    else
        rc = zlmdb_table_delete_encoded(table, t->txn, &k, w);
    self->cache_old = 0;
    Py_CLEAR(self->old_value);
    zpy_txn_op_leave(t);
    return rc == ZLMDB_NOTFOUND ? MDB_NOTFOUND : rc;
}

/* A write with its bookkeeping: stats, the failed flag, the growth log and
 * the redo on a full map.  `data`: bytes (puts).  0, or -1 with an
 * exception. */
static int write_record(zpy_state *st, zpy_PMap *self, zpy_OrmTxn *t, int op,
                        const zlmdb_buf *pk, PyObject *data, PyObject *user)
{
    zlmdb_table_writes w;
    MDB_val k = {pk->size, pk->ptr}, v = {0, NULL};
    PyObject *logk = NULL;
    int rc, g;

    if (data) {
        v.mv_size = (size_t)PyBytes_GET_SIZE(data);
        v.mv_data = PyBytes_AS_STRING(data);
    }
    if (t->logging) {
        logk = PyBytes_FromStringAndSize((const char *)pk->ptr, (Py_ssize_t)pk->size);
        if (logk == NULL || zpy_ormtxn_log_reserve(t) < 0) {
            Py_XDECREF(logk);
            return -1;
        }
    }
    for (;;) {
        rc = apply(st, self, t, op, &k, &v, user, &w);
        if (rc != MDB_MAP_FULL)
            break;
        if ((g = zpy_ormtxn_map_full(st, t)) < 0) {
            Py_XDECREF(logk);
            return -1;
        }
        if (g == 0)
            break;
    }
    if (rc && !(op == W_DEL && rc == MDB_NOTFOUND)) {
        if (w.midway)
            t->failed = 1;
        Py_XDECREF(logk);
        table_error(st, self, rc, op == W_PUT ? "mdb_put" : "mdb_del", &w);
        return -1;
    }
    if (logk) {
        zpy_ormtxn_log_add(t, op == W_PUT ? ZPY_LOG_PUT : ZPY_LOG_DEL, (PyObject *)self, logk,
                           data, 0);
        Py_DECREF(logk);
    }
    zpy_ormtxn_count(t, w.puts, w.dels);
    return 0;
}

static int pmap_ass_subscript(PyObject *op, PyObject *arg, PyObject *value)
{
    zpy_PMap *self = (zpy_PMap *)op;
    zpy_state *st = pmap_state(op);
    zlmdb_buf k = ZLMDB_BUF_INIT;
    PyObject *txn, *key, *data = NULL;
    zpy_OrmTxn *t;
    int res = -1;

    if (not_ready(self) < 0 || split(st, op, arg, &txn, &key) < 0)
        return -1;
    if ((t = zpy_ormtxn_check(st, txn)) == NULL)
        return -1;
    if (physical_key(self, key, &k) < 0)
        goto done;
    if (value && (data = encode_value(self, value)) == NULL)
        goto done;
    res = write_record(st, self, t, value ? W_PUT : W_DEL, &k, data, value);
done:
    Py_XDECREF(data);
    zlmdb_buf_dispose(&k);
    return res;
}

/* ---------------------------------------------- slots, truncate, rebuild */

/* Delete every key of `slot`: the number deleted, or an LMDB code < 0
 * through *rc.  A cursor walk that stops at the slot's end (upstream's
 * truncate ran on into the following slots). */
static size_t clear_slot(zpy_Txn *t, int slot, int *rc_out)
{
    unsigned char prefix[2] = {(unsigned char)(slot >> 8), (unsigned char)(slot & 0xff)};
    MDB_cursor *c;
    MDB_val k = {2, prefix}, v;
    size_t n = 0;
    int rc;

    t->mutations++;
    if ((rc = t->eng->cursor_open(t->txn, t->db->dbi, &c))) {
        *rc_out = rc;
        return 0;
    }
    zpy_txn_op_enter(t);
    ZPY_BEGIN_LMDB
    for (rc = t->eng->cursor_get(c, &k, &v, MDB_SET_RANGE);
         rc == 0 && k.mv_size >= 2 && memcmp(k.mv_data, prefix, 2) == 0;
         rc = t->eng->cursor_get(c, &k, &v, MDB_SET_RANGE)) {
        if ((rc = t->eng->cursor_del(c, 0)))
            break;
        n++;
        k.mv_size = 2;      /* from the slot's start again: the next key */
        k.mv_data = prefix;
    }
    ZPY_END_LMDB
    zpy_txn_op_leave(t);
    t->eng->cursor_close(c);
    *rc_out = rc == MDB_NOTFOUND ? 0 : rc;
    return n;
}

/* The LMDB work of a logged CLEAR or REBUILD record, or of the call that
 * logs it. */
static int do_clear(zpy_OrmTxn *t, int slot, size_t *n)
{
    int rc;
    *n = clear_slot(&t->base, slot, &rc);
    return rc;
}

static int do_rebuild(zpy_state *st, zpy_PMap *self, zpy_OrmTxn *t, const char *name,
                      size_t *deleted, size_t *inserted, zlmdb_table_writes *w)
{
    zlmdb_table *table = get_table(st, self, &t->base);
    int rc;

    memset(w, 0, sizeof(*w));
    if (table == NULL)
        return ZLMDB_CALLBACK;
    t->base.mutations++;
    zpy_txn_op_enter(&t->base);
    rc = zlmdb_table_rebuild_index(table, t->base.txn, name, deleted, inserted);
    zpy_txn_op_leave(&t->base);
    w->index = name;
    return rc;
}

int zpy_pmap_redo(zpy_state *st, zpy_OrmTxn *t, zpy_LogRec *r)
{
    zpy_PMap *self = (zpy_PMap *)r->map;
    zlmdb_table_writes w;
    MDB_val k, v = {0, NULL};
    size_t a, b;
    int rc;

    memset(&w, 0, sizeof(w));
    switch (r->op) {
    case ZPY_LOG_PUT:
    case ZPY_LOG_DEL:
        k.mv_size = (size_t)PyBytes_GET_SIZE(r->key);
        k.mv_data = PyBytes_AS_STRING(r->key);
        if (r->op == ZPY_LOG_PUT) {
            v.mv_size = (size_t)PyBytes_GET_SIZE(r->value);
            v.mv_data = PyBytes_AS_STRING(r->value);
        }
        /* user NULL: the index callbacks decode the logged bytes. */
        rc = apply(st, self, t, r->op == ZPY_LOG_PUT ? W_PUT : W_DEL, &k, &v, NULL, &w);
        if (rc == MDB_NOTFOUND)
            rc = 0;
        break;
    case ZPY_LOG_CLEAR:
        rc = do_clear(t, (int)PyLong_AsLong(r->key), &a);
        break;
    default:
        rc = do_rebuild(st, self, t, PyUnicode_AsUTF8(r->key), &a, &b, &w);
        break;
    }
    if (rc == 0 || rc == MDB_MAP_FULL)
        return rc;
    table_error(st, self, rc, "redo", &w);
    return -1;
}

/* _c_truncate(txn, slots): delete every key of each slot (this map's, and
 * its indexes' when asked), logged as one CLEAR each; the number deleted. */
static PyObject *pmap_c_truncate(PyObject *op, PyObject *args)
{
    zpy_state *st = pmap_state(op);
    PyObject *txn, *slots, *fast;
    zpy_OrmTxn *t;
    size_t total = 0, n;
    Py_ssize_t i;
    int rc, g;

    if (!PyArg_ParseTuple(args, "OO:_c_truncate", &txn, &slots))
        return NULL;
    if ((t = zpy_ormtxn_check(st, txn)) == NULL)
        return NULL;
    if ((fast = PySequence_Fast(slots, "slots must be a sequence")) == NULL)
        return NULL;
    for (i = 0; i < PySequence_Fast_GET_SIZE(fast); i++) {
        PyObject *slot = PySequence_Fast_GET_ITEM(fast, i);
        long s = PyLong_AsLong(slot);
        if (s < 1 || s > 65535) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "slot must be from 1 to 65535");
            goto fail;
        }
        if (t->logging && zpy_ormtxn_log_reserve(t) < 0)
            goto fail;
        for (;;) {
            rc = do_clear(t, (int)s, &n);
            if (rc != MDB_MAP_FULL || (g = zpy_ormtxn_map_full(st, t)) == 0)
                break;
            if (g < 0)
                goto fail;
        }
        if (rc) {
            if (n)
                t->failed = 1;     /* part of the slot is gone */
            zpy_err_orm(st, "mdb_cursor_del", rc);
            goto fail;
        }
        if (t->logging)
            zpy_ormtxn_log_add(t, ZPY_LOG_CLEAR, op, slot, NULL, 0);
        total += n;
    }
    Py_DECREF(fast);
    zpy_ormtxn_count(t, 0, total);
    return PyLong_FromSize_t(total);
fail:
    Py_DECREF(fast);
    return NULL;
}

/* _c_rebuild_index(txn, name) -> (deleted, inserted), through the engine. */
static PyObject *pmap_c_rebuild_index(PyObject *op, PyObject *args)
{
    zpy_PMap *self = (zpy_PMap *)op;
    zpy_state *st = pmap_state(op);
    PyObject *txn, *name;
    zlmdb_table_writes w;
    const char *cname;
    zpy_OrmTxn *t;
    size_t deleted = 0, inserted = 0;
    int rc, g;

    if (!PyArg_ParseTuple(args, "OU:_c_rebuild_index", &txn, &name))
        return NULL;
    if (not_ready(self) < 0 || (t = zpy_ormtxn_check(st, txn)) == NULL)
        return NULL;
    if ((cname = PyUnicode_AsUTF8(name)) == NULL)
        return NULL;
    if (t->logging && zpy_ormtxn_log_reserve(t) < 0)
        return NULL;
    for (;;) {
        rc = do_rebuild(st, self, t, cname, &deleted, &inserted, &w);
        if (rc != MDB_MAP_FULL || (g = zpy_ormtxn_map_full(st, t)) == 0)
            break;
        if (g < 0)
            return NULL;
    }
    if (rc) {
        /* The index was emptied first: whatever failed, it is now partial. */
        t->failed = 1;
        table_error(st, self, rc, "rebuild_index", &w);
        return NULL;
    }
    if (t->logging)
        zpy_ormtxn_log_add(t, ZPY_LOG_REBUILD, op, name, NULL, 0);
    zpy_ormtxn_count(t, inserted, deleted);
    return Py_BuildValue("nn", (Py_ssize_t)deleted, (Py_ssize_t)inserted);
}

/* --------------------------------------------------------------- setup */

static int take_stages(PyObject *seq, PyObject **out, int *n)
{
    PyObject *fast = PySequence_Fast(seq, "codec stages must be a sequence");
    Py_ssize_t i, len;

    if (fast == NULL)
        return -1;
    len = PySequence_Fast_GET_SIZE(fast);
    if (len > MAX_STAGES) {
        Py_DECREF(fast);
        PyErr_SetString(PyExc_ValueError, "too many codec stages");
        return -1;
    }
    for (i = 0; i < len; i++) {
        PyObject *f = PySequence_Fast_GET_ITEM(fast, i);
        if (!PyCallable_Check(f)) {
            Py_DECREF(fast);
            PyErr_SetString(PyExc_TypeError, "codec stages must be callables");
            return -1;
        }
    }
    for (i = 0; i < *n; i++)
        Py_CLEAR(out[i]);
    for (i = 0; i < len; i++)
        out[i] = Py_NewRef(PySequence_Fast_GET_ITEM(fast, i));
    *n = (int)len;
    Py_DECREF(fast);
    return 0;
}

/* _c_setup(slot, keycodec, single, enc_stages, dec_stages) */
static PyObject *pmap_c_setup(PyObject *op, PyObject *args)
{
    zpy_PMap *self = (zpy_PMap *)op;
    zpy_state *st = zpy_state_of_sub(op);   /* the MRO walk, once */
    PyObject *keycodec, *enc, *dec;
    int slot, single;

    if (!PyArg_ParseTuple(args, "iOpOO:_c_setup", &slot, &keycodec, &single, &enc, &dec))
        return NULL;
    if (slot < 1 || slot > 65535) {
        PyErr_SetString(PyExc_ValueError, "slot must be from 1 to 65535");
        return NULL;
    }
    if (st->codec.KeyCodecType == NULL ||
        !PyObject_TypeCheck(keycodec, (PyTypeObject *)st->codec.KeyCodecType)) {
        PyErr_SetString(PyExc_TypeError, "keycodec must be a zlmdb.codec.KeyCodec");
        return NULL;
    }
    self->direct = NULL;
    if (take_stages(enc, self->enc, &self->nenc) < 0 ||
        take_stages(dec, self->dec, &self->ndec) < 0)
        return NULL;
    if (self->ndec > 0)
        self->direct = zpy_record_direct_decoder(self->dec[0]);
    Py_XSETREF(self->keycodec, Py_NewRef(keycodec));
    self->slot = slot;
    self->prefix[0] = (unsigned char)(slot >> 8);
    self->prefix[1] = (unsigned char)(slot & 0xff);
    self->single = single;
    self->st = st;
    self->ready = 1;
    drop_table(self);
    Py_RETURN_NONE;
}

/* _c_set_indexes(tuple of (map, fkey, nullable, unique, name, pk_value),
 *                NullValueConstraint) */
static PyObject *pmap_c_set_indexes(PyObject *op, PyObject *args)
{
    zpy_PMap *self = (zpy_PMap *)op;
    zpy_state *st = zpy_state_of_sub(op);
    PyObject *ixs, *err;
    Py_ssize_t i, n;
    ixctx *ix = NULL;

    if (!PyArg_ParseTuple(args, "O!O:_c_set_indexes", &PyTuple_Type, &ixs, &err))
        return NULL;
    n = PyTuple_GET_SIZE(ixs);
    for (i = 0; i < n; i++) {
        PyObject *spec = PyTuple_GET_ITEM(ixs, i);
        if (!PyTuple_Check(spec) || PyTuple_GET_SIZE(spec) != 6 ||
            !PyObject_TypeCheck(PyTuple_GET_ITEM(spec, 0), st->PMapType) ||
            !((zpy_PMap *)PyTuple_GET_ITEM(spec, 0))->ready ||
            !PyCallable_Check(PyTuple_GET_ITEM(spec, 1)) ||
            !PyUnicode_Check(PyTuple_GET_ITEM(spec, 4)))
            return zpy_type_error(
                "index specs are (map, fkey, nullable, unique, name, pk_value)");
    }
    if (n && (ix = PyMem_Calloc((size_t)n, sizeof(*ix))) == NULL)
        return PyErr_NoMemory();
    for (i = 0; i < n; i++) {
        PyObject *spec = PyTuple_GET_ITEM(ixs, i);
        ix[i].owner = self;
        ix[i].imap = (zpy_PMap *)PyTuple_GET_ITEM(spec, 0);
        ix[i].fkey = PyTuple_GET_ITEM(spec, 1);
        ix[i].pk_value = PyObject_IsTrue(PyTuple_GET_ITEM(spec, 5)) == 1;
    }
    drop_table(self);
    PyMem_Free(self->ix);
    self->ix = ix;
    Py_XSETREF(self->indexes, n ? Py_NewRef(ixs) : NULL);
    Py_XSETREF(self->null_error, Py_NewRef(err));
    Py_RETURN_NONE;
}

/* _c_count(txn, start): records whose key starts with the bytes `start`. */
static PyObject *pmap_c_count(PyObject *op, PyObject *args)
{
    zpy_state *st = pmap_state(op);
    PyObject *txn, *start;
    zpy_OrmTxn *ot;
    zpy_Txn *t;
    MDB_cursor *c;
    MDB_val k, v;
    size_t n = 0, plen;
    int rc;

    if (!PyArg_ParseTuple(args, "OO!:_c_count", &txn, &PyBytes_Type, &start))
        return NULL;
    if ((ot = zpy_ormtxn_check(st, txn)) == NULL)
        return NULL;
    t = &ot->base;
    plen = (size_t)PyBytes_GET_SIZE(start);
    if ((rc = t->eng->cursor_open(t->txn, t->db->dbi, &c)))
        return zpy_err_set(st, "mdb_cursor_open", rc);
    k.mv_size = plen;
    k.mv_data = PyBytes_AS_STRING(start);
    zpy_txn_op_enter(t);
    ZPY_BEGIN_LMDB
    for (rc = t->eng->cursor_get(c, &k, &v, MDB_SET_RANGE);
         rc == 0 && k.mv_size >= plen && memcmp(k.mv_data, PyBytes_AS_STRING(start), plen) == 0;
         rc = t->eng->cursor_get(c, &k, &v, MDB_NEXT))
        n++;
    ZPY_END_LMDB
    zpy_txn_op_leave(t);
    t->eng->cursor_close(c);
    if (rc && rc != MDB_NOTFOUND)
        return zpy_err_set(st, "mdb_cursor_get", rc);
    return PyLong_FromSize_t(n);
}

/* _c_count_range(txn, lo, hi): records with lo <= key < hi, bounds encoded
 * without the slot prefix (None: open), counted by the engine. */
static PyObject *pmap_c_count_range(PyObject *op, PyObject *args)
{
    zpy_PMap *self = (zpy_PMap *)op;
    zpy_state *st = pmap_state(op);
    PyObject *txn, *lo, *hi;
    MDB_val from, to;
    zlmdb_table *table;
    zpy_OrmTxn *t;
    size_t n = 0;
    int rc;

    if (!PyArg_ParseTuple(args, "OOO:_c_count_range", &txn, &lo, &hi))
        return NULL;
    if ((lo != Py_None && !PyBytes_Check(lo)) || (hi != Py_None && !PyBytes_Check(hi)))
        return zpy_type_error("bounds must be bytes or None");
    if (not_ready(self) < 0 || (t = zpy_ormtxn_check(st, txn)) == NULL)
        return NULL;
    if ((table = get_table(st, self, &t->base)) == NULL)
        return NULL;
    if (lo != Py_None) {
        from.mv_size = (size_t)PyBytes_GET_SIZE(lo);
        from.mv_data = PyBytes_AS_STRING(lo);
    }
    if (hi != Py_None) {
        to.mv_size = (size_t)PyBytes_GET_SIZE(hi);
        to.mv_data = PyBytes_AS_STRING(hi);
    }
    zpy_txn_op_enter(&t->base);
    rc = zlmdb_table_count_encoded(table, t->base.txn, lo == Py_None ? NULL : &from,
                                   hi == Py_None ? NULL : &to, &n);
    zpy_txn_op_leave(&t->base);
    if (rc)
        return zpy_err_set(st, "count_range", rc);
    return PyLong_FromSize_t(n);
}

/* _c_select(txn, lo, hi, keys, values, reverse, limit) -> iterator over
 * physical keys lo <= key < hi (hi None: to the end). */
static PyObject *pmap_c_select(PyObject *op, PyObject *args)
{
    zpy_PMap *self = (zpy_PMap *)op;
    zpy_state *st = pmap_state(op);
    PyObject *txn, *lo, *hi, *curs;
    int keys, values, reverse;
    Py_ssize_t limit;
    zpy_PMapIter *it;
    zpy_OrmTxn *t;

    if (!PyArg_ParseTuple(args, "OO!Opppn:_c_select", &txn, &PyBytes_Type, &lo, &hi, &keys,
                          &values, &reverse, &limit))
        return NULL;
    if (hi != Py_None && !PyBytes_Check(hi))
        return zpy_type_error("hi must be bytes or None");
    if (not_ready(self) < 0 || (t = zpy_ormtxn_check(st, txn)) == NULL)
        return NULL;
    curs = zpy_cursor_new(st, t->base.db, &t->base);
    if (curs == NULL)
        return NULL;
    it = PyObject_GC_New(zpy_PMapIter, st->PMapIterType);
    if (it == NULL) {
        Py_DECREF(curs);
        return NULL;
    }
    it->pmap = (zpy_PMap *)Py_NewRef(op);
    it->curs = (zpy_Cursor *)curs;
    it->lo = Py_NewRef(lo);
    it->hi = Py_NewRef(hi);
    it->keys = keys;
    it->values = values;
    it->reverse = reverse;
    it->limit = limit;
    it->read = 0;
    it->started = 0;
    it->found = 0;
    PyObject_GC_Track((PyObject *)it);
    return (PyObject *)it;
}

static int pmap_traverse(PyObject *op, visitproc visit, void *arg)
{
    zpy_PMap *self = (zpy_PMap *)op;
    int i;
    Py_VISIT(Py_TYPE(op));
    Py_VISIT(self->dict);
    Py_VISIT(self->keycodec);
    Py_VISIT(self->indexes);
    Py_VISIT(self->null_error);
    Py_VISIT(self->old_value);
    for (i = 0; i < self->nenc; i++)
        Py_VISIT(self->enc[i]);
    for (i = 0; i < self->ndec; i++)
        Py_VISIT(self->dec[i]);
    return 0;
}

static int pmap_clear(PyObject *op)
{
    zpy_PMap *self = (zpy_PMap *)op;
    int i;
    drop_table(self);
    PyMem_Free(self->ix);
    self->ix = NULL;
    Py_CLEAR(self->dict);
    Py_CLEAR(self->keycodec);
    Py_CLEAR(self->indexes);
    Py_CLEAR(self->null_error);
    Py_CLEAR(self->old_value);
    for (i = 0; i < self->nenc; i++)
        Py_CLEAR(self->enc[i]);
    self->direct = NULL;
    for (i = 0; i < self->ndec; i++)
        Py_CLEAR(self->dec[i]);
    self->nenc = self->ndec = 0;
    self->ready = 0;
    return 0;
}

static void pmap_dealloc(PyObject *op)
{
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    if (((zpy_PMap *)op)->weakreflist)
        PyObject_ClearWeakRefs(op);
    pmap_clear(op);
    tp->tp_free(op);
    Py_DECREF(tp);
}

static PyMethodDef pmap_methods[] = {
    {"_c_setup", pmap_c_setup, METH_VARARGS, NULL},
    {"_c_set_indexes", pmap_c_set_indexes, METH_VARARGS, NULL},
    {"_c_count", pmap_c_count, METH_VARARGS, NULL},
    {"_c_count_range", pmap_c_count_range, METH_VARARGS, NULL},
    {"_c_select", pmap_c_select, METH_VARARGS, NULL},
    {"_c_truncate", pmap_c_truncate, METH_VARARGS, NULL},
    {"_c_rebuild_index", pmap_c_rebuild_index, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL}
};

static PyMemberDef pmap_members[] = {
    {"__dictoffset__", T_PYSSIZET, offsetof(zpy_PMap, dict), READONLY, NULL},
    {"__weaklistoffset__", T_PYSSIZET, offsetof(zpy_PMap, weakreflist), READONLY, NULL},
    {NULL, 0, 0, 0, NULL}
};

static PyType_Slot pmap_slots[] = {
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_dealloc, pmap_dealloc},
    {Py_tp_traverse, pmap_traverse},
    {Py_tp_clear, pmap_clear},
    {Py_tp_methods, pmap_methods},
    {Py_tp_members, pmap_members},
    {Py_mp_subscript, pmap_subscript},
    {Py_mp_ass_subscript, pmap_ass_subscript},
    {Py_sq_contains, pmap_contains},
    {Py_tp_doc, (void *)"The C core of zlmdb.PersistentMap."},
    {0, NULL}
};

PyType_Spec zpy_pmap_spec = {
    .name = "zlmdb._native.PersistentMapBase",
    .basicsize = sizeof(zpy_PMap),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = pmap_slots,
};

/* ------------------------------------------------------------ iterator */

static PyObject *pmapiter_next(PyObject *op)
{
    zpy_PMapIter *it = (zpy_PMapIter *)op;
    zpy_PMap *pm = it->pmap;
    zpy_Cursor *c = it->curs;
    zpy_state *st = pm ? pm->st : NULL;
    PyObject *k = NULL, *v = NULL, *res;
    MDB_val key;

    if (c == NULL)          /* cleared by the garbage collector */
        return NULL;
    if (!c->node.valid)
        return zpy_err_invalid(st);
    if (!it->started) {
        it->started = 1;
        if (it->reverse) {
            int rc = 0;
            if (it->hi != Py_None) {
                c->key.mv_size = (size_t)PyBytes_GET_SIZE(it->hi);
                c->key.mv_data = PyBytes_AS_STRING(it->hi);
                rc = zpy_cursor_move(c, MDB_SET_RANGE, 0);
            }
            if (rc < 0)
                return NULL;
            if (it->hi != Py_None && c->positioned)
                rc = zpy_cursor_move(c, MDB_PREV, it->values);
            else
                rc = zpy_cursor_move(c, MDB_LAST, it->values);
            if (rc < 0)
                return NULL;
        } else {
            c->key.mv_size = (size_t)PyBytes_GET_SIZE(it->lo);
            c->key.mv_data = PyBytes_AS_STRING(it->lo);
            if (zpy_cursor_move(c, MDB_SET_RANGE, it->values) < 0)
                return NULL;
        }
    } else {
        if (zpy_cursor_move(c, it->reverse ? MDB_PREV : MDB_NEXT, it->values) < 0)
            return NULL;
    }
    if (!c->positioned || (it->limit > 0 && it->read >= it->limit))
        return NULL;
    key = c->key;
    if (it->reverse) {
        size_t n = (size_t)PyBytes_GET_SIZE(it->lo);
        int cmp = memcmp(key.mv_data, PyBytes_AS_STRING(it->lo),
                         key.mv_size < n ? key.mv_size : n);
        if (cmp < 0 || (cmp == 0 && key.mv_size < n))
            return NULL;
    } else if (it->hi != Py_None) {
        size_t n = (size_t)PyBytes_GET_SIZE(it->hi);
        int cmp = memcmp(key.mv_data, PyBytes_AS_STRING(it->hi),
                         key.mv_size < n ? key.mv_size : n);
        if (cmp > 0 || (cmp == 0 && key.mv_size >= n))
            return NULL;
    }
    if (key.mv_size < 2)
        return NULL;
    it->read++;
    if (it->keys) {
        k = zpy_keycodec_decode(pm->keycodec, (const char *)key.mv_data + 2, key.mv_size - 2);
        if (k == NULL)
            return NULL;
    }
    if (it->values) {
        v = decode_value(pm, c->txn, &c->val);
        if (v == NULL) {
            Py_XDECREF(k);
            return NULL;
        }
    }
    if (k && v) {
        res = PyTuple_Pack(2, k, v);
        Py_DECREF(k);
        Py_DECREF(v);
        return res;
    }
    if (k)
        return k;
    if (v)
        return v;
    Py_RETURN_NONE;
}

static int pmapiter_clear(PyObject *op)
{
    zpy_PMapIter *it = (zpy_PMapIter *)op;
    Py_CLEAR(it->pmap);
    Py_CLEAR(it->curs);
    Py_CLEAR(it->lo);
    Py_CLEAR(it->hi);
    return 0;
}

/* An iterator kept on its own map (m.last = m.select(txn)) makes a cycle:
 * map -> instance dict -> iterator -> map. */
static int pmapiter_traverse(PyObject *op, visitproc visit, void *arg)
{
    zpy_PMapIter *it = (zpy_PMapIter *)op;
    Py_VISIT(Py_TYPE(op));
    Py_VISIT(it->pmap);
    Py_VISIT(it->curs);
    Py_VISIT(it->lo);
    Py_VISIT(it->hi);
    return 0;
}

static void pmapiter_dealloc(PyObject *op)
{
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    pmapiter_clear(op);
    tp->tp_free(op);
    Py_DECREF(tp);
}

static PyObject *pmapiter_iter(PyObject *op)
{
    return Py_NewRef(op);
}

static PyType_Slot pmapiter_slots[] = {
    {Py_tp_dealloc, pmapiter_dealloc},
    {Py_tp_traverse, pmapiter_traverse},
    {Py_tp_clear, pmapiter_clear},
    {Py_tp_iter, pmapiter_iter},
    {Py_tp_iternext, pmapiter_next},
    {0, NULL}
};

PyType_Spec zpy_pmapiter_spec = {
    .name = "zlmdb._native.PersistentMapIterator",
    .basicsize = sizeof(zpy_PMapIter),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = pmapiter_slots,
};

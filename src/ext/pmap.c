/* PersistentMapBase: the per-record work of the ORM's persistent maps in C.
 *
 * python/zlmdb/_pmap.py declares the maps (key layout, value codec) and
 * subclasses this type; _c_setup() hands over the slot, the KeyCodec and
 * the value codec as a chain of callables (e.g. marshal -> cbor_dumps ->
 * zlib.compress, and back).  Reads, writes and range scans then run here:
 * key encoding straight into a buffer, one LMDB call, the codec chain.
 * Writes that must keep indexes in step, or that run in a growth-logging
 * transaction, go to the Python methods _setitem_py/_delitem_py.
 */
#include <stddef.h>

#include "zpy.h"

#define MAX_STAGES 4

typedef struct {
    PyObject_HEAD
    PyObject *dict;              /**< instance attributes of Python subclasses */
    PyObject *weakreflist;
    unsigned char prefix[2];     /**< the slot, big-endian */
    int ready;                   /**< _c_setup() has run */
    int single;                  /**< one key component: bare keys */
    int fast_write;              /**< no indexes: writes need no Python */
    PyObject *keycodec;
    PyObject *enc[MAX_STAGES];   /**< value encoding chain */
    PyObject *dec[MAX_STAGES];   /**< value decoding chain */
    int nenc, ndec;
    zpy_state *st;               /**< module state, found once at _c_setup() */
    PyObject *indexes;           /**< tuple of (index map, fkey, nullable, unique) */
    PyObject *null_error;        /**< zlmdb.NullValueConstraint */
} zpy_PMap;

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

static zpy_Txn *open_txn(zpy_state *st, PyObject *txn)
{
    PyObject *t = PyObject_GetAttr(txn, st->s_txn);
    zpy_Txn *lt;

    if (t == NULL)
        return NULL;
    if (t == Py_None) {
        Py_DECREF(t);
        PyErr_SetString(PyExc_RuntimeError,
                        "transaction is not open (use it inside its with block)");
        return NULL;
    }
    if (Py_TYPE(t) != st->TxnType) {
        Py_DECREF(t);
        PyErr_SetString(PyExc_TypeError, "txn must be a zlmdb transaction");
        return NULL;
    }
    lt = (zpy_Txn *)t;
    if (!lt->node.valid) {
        Py_DECREF(t);
        zpy_err_invalid(st);
        return NULL;
    }
    return lt;   /* new reference */
}

static int split(PyObject *arg, PyObject **txn, PyObject **key)
{
    if (!PyTuple_CheckExact(arg) || PyTuple_GET_SIZE(arg) != 2) {
        PyErr_SetString(PyExc_TypeError, "use pmap[txn, key]");
        return -1;
    }
    *txn = PyTuple_GET_ITEM(arg, 0);
    *key = PyTuple_GET_ITEM(arg, 1);
    return 0;
}

static int not_ready(zpy_PMap *self)
{
    if (self->ready)
        return 0;
    PyErr_Format(PyExc_RuntimeError, "%s has no slot: attach it to a database first",
                 Py_TYPE(self)->tp_name);
    return -1;
}

/* slot prefix + encoded key into `out` (cleared first). */
static int physical_key(zpy_PMap *self, PyObject *key, zlmdb_buf *out)
{
    if (key == Py_None) {
        PyErr_SetString(PyExc_TypeError, "key must not be None");
        return -1;
    }
    if (!self->single && !PyTuple_Check(key)) {
        PyErr_Format(PyExc_TypeError, "%s keys are tuples, not %.100s",
                     Py_TYPE(self)->tp_name, Py_TYPE(key)->tp_name);
        return -1;
    }
    zlmdb_buf_clear(out);
    if (zlmdb_buf_append(out, self->prefix, 2) != 0) {
        PyErr_NoMemory();
        return -1;
    }
    return zpy_keycodec_encode(self->keycodec, key, 0, 0, out);
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
    raw = zpy_txn_value(t, v);
    if (raw == NULL)
        return NULL;
    res = chain(self->dec, self->ndec, raw);
    Py_DECREF(raw);
    return res;
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
    zpy_Txn *t;
    MDB_val v;
    int rc;

    if (not_ready(self) < 0 || split(arg, &txn, &key) < 0)
        return NULL;
    if ((t = open_txn(st, txn)) == NULL)
        return NULL;
    if (physical_key(self, key, &k) == 0) {
        rc = lookup(t, &k, &v);
        if (rc == MDB_NOTFOUND)
            res = Py_NewRef(Py_None);
        else if (rc)
            zpy_err_set(st, "mdb_get", rc);
        else
            res = decode_value(self, t, &v);
    }
    zlmdb_buf_dispose(&k);
    Py_DECREF(t);
    return res;
}

static int pmap_contains(PyObject *op, PyObject *arg)
{
    zpy_PMap *self = (zpy_PMap *)op;
    zpy_state *st = pmap_state(op);
    zlmdb_buf k = ZLMDB_BUF_INIT;
    PyObject *txn, *key;
    zpy_Txn *t;
    MDB_val v;
    int rc, res = -1;

    if (not_ready(self) < 0 || split(arg, &txn, &key) < 0)
        return -1;
    if ((t = open_txn(st, txn)) == NULL)
        return -1;
    if (physical_key(self, key, &k) == 0) {
        rc = lookup(t, &k, &v);
        if (rc == 0 || rc == MDB_NOTFOUND)
            res = rc == 0;
        else
            zpy_err_set(st, "mdb_get", rc);
    }
    zlmdb_buf_dispose(&k);
    Py_DECREF(t);
    return res;
}

/* Count `n` writes (method: txn._count_put or _count_del) on the
 * transaction's TransactionStats, when it has one.  As upstream counts
 * them: every LMDB put, and every delete that removed a key, index entries
 * included. */
static int count_writes(zpy_state *st, PyObject *txn, PyObject *method, long n)
{
    PyObject *stats, *arg, *r;
    if (n == 0)
        return 0;
    if ((stats = PyObject_GetAttr(txn, st->s_stats)) == NULL)
        return -1;
    Py_DECREF(stats);
    if (stats == Py_None)
        return 0;
    if ((arg = PyLong_FromLong(n)) == NULL)
        return -1;
    r = PyObject_CallMethodOneArg(txn, method, arg);
    Py_DECREF(arg);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

/* Writes need Python when indexes must follow them or the transaction logs
 * its writes for map growth. */
static int needs_python(zpy_state *st, zpy_PMap *self, PyObject *txn)
{
    PyObject *log;
    if (!self->fast_write)
        return 1;
    log = PyObject_GetAttr(txn, st->s_log);
    if (log == NULL)
        return -1;
    Py_DECREF(log);
    return log != Py_None;
}

/* ---------------------------------------------------- indexed writes */

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

static int put_raw(zpy_state *st, zpy_Txn *t, const void *k, size_t klen, const void *v,
                   size_t vlen)
{
    MDB_val kv = {klen, (void *)k}, vv = {vlen, (void *)v};
    int rc;
    zpy_txn_op_enter(t);
    ZPY_BEGIN_LMDB
    rc = t->eng->put(t->txn, t->db->dbi, &kv, &vv, 0);
    ZPY_END_LMDB
    zpy_txn_op_leave(t);
    t->mutations++;
    if (rc) {
        zpy_err_set(st, "mdb_put", rc);
        return -1;
    }
    return 0;
}

/* 1 when the key was there, 0 when not, -1 with an exception. */
static int del_raw(zpy_state *st, zpy_Txn *t, const void *k, size_t klen)
{
    MDB_val kv = {klen, (void *)k};
    int rc;
    zpy_txn_op_enter(t);
    ZPY_BEGIN_LMDB
    rc = t->eng->del(t->txn, t->db->dbi, &kv, NULL);
    ZPY_END_LMDB
    zpy_txn_op_leave(t);
    t->mutations++;
    if (rc && rc != MDB_NOTFOUND) {
        zpy_err_set(st, "mdb_del", rc);
        return -1;
    }
    return rc == 0;
}

/* A key LMDB would refuse (MDB_BAD_VALSIZE) raises here, before the first
 * write of an indexed operation, so a refusal leaves nothing behind. */
static int check_key_size(zpy_state *st, zpy_Txn *t, size_t size)
{
    if (size > (size_t)t->eng->env_get_maxkeysize(t->env->env)) {
        zpy_err_set(st, "mdb_put", MDB_BAD_VALSIZE);
        return -1;
    }
    return 0;
}

/* A write failed after an earlier write of the same operation: mark the
 * transaction (txn._half, as its Python write path does) so that commit
 * refuses it.  The pending exception is kept. */
static void mark_half_written(zpy_state *st, PyObject *txn)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (PyObject_SetAttr(txn, st->s_half, Py_True) < 0)
        PyErr_Clear();
    PyErr_Restore(type, value, tb);
}

/* The value run through the map's encoding chain: bytes, or NULL. */
static PyObject *encode_value(zpy_PMap *self, PyObject *value)
{
    PyObject *data = chain(self->enc, self->nenc, value);
    if (data != NULL && !PyBytes_Check(data)) {
        PyErr_Format(PyExc_TypeError, "value encoder returned %.100s, not bytes",
                     Py_TYPE(data)->tp_name);
        Py_CLEAR(data);
    }
    return data;
}

/* What one index needs for one put. */
typedef struct {
    zpy_PMap *imap;
    zlmdb_buf newk, oldk;   /* physical index keys (empty: none) */
    PyObject *ival;         /* the index entry's value: the record's key, encoded */
} ixwork;

/* The index key of `value` for index `spec` into `out` (left empty for a
 * null key, which *is_null reports). */
static int index_key(zpy_PMap *imap, PyObject *fkey, PyObject *value, zlmdb_buf *out,
                     int *is_null)
{
    PyObject *ik = PyObject_CallOneArg(fkey, value);
    int rc;

    if (ik == NULL)
        return -1;
    zlmdb_buf_clear(out);
    *is_null = is_null_key(ik);
    rc = *is_null ? 0 : physical_key(imap, ik, out);
    Py_DECREF(ik);
    return rc;
}

/* A put on a map with indexes: every index key is computed and every
 * constraint checked before the first write, so a refused put changes
 * nothing; then the stale entries go, the new ones and the record are
 * written.  (A failure in the writes after the first one marks the
 * transaction half-written: its commit refuses, see mark_half_written.) */
static int indexed_put(zpy_state *st, zpy_PMap *self, PyObject *txn, PyObject *key,
                       PyObject *value)
{
    Py_ssize_t nix = PyTuple_GET_SIZE(self->indexes), i;
    zlmdb_buf pk = ZLMDB_BUF_INIT;
    ixwork *w = NULL;
    PyObject *data = NULL, *old_value = NULL;
    zpy_Txn *t;
    MDB_val old;
    int rc, res = -1, wrote = 0;
    long puts = 1, dels = 0;

    if ((t = open_txn(st, txn)) == NULL)
        return -1;
    w = PyMem_Calloc((size_t)nix, sizeof(*w));
    if (w == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (physical_key(self, key, &pk) < 0)
        goto done;
    if ((data = encode_value(self, value)) == NULL)
        goto done;
    rc = lookup(t, &pk, &old);
    if (rc == 0) {
        old_value = decode_value(self, t, &old);
        if (old_value == NULL)
            goto done;
    } else if (rc != MDB_NOTFOUND) {
        zpy_err_set(st, "mdb_get", rc);
        goto done;
    }
    for (i = 0; i < nix; i++) {
        PyObject *spec = PyTuple_GET_ITEM(self->indexes, i);
        PyObject *fkey = PyTuple_GET_ITEM(spec, 1);
        int nullable = PyObject_IsTrue(PyTuple_GET_ITEM(spec, 2));
        int unique = PyObject_IsTrue(PyTuple_GET_ITEM(spec, 3));
        int is_null;

        w[i].imap = (zpy_PMap *)PyTuple_GET_ITEM(spec, 0);
        if (index_key(w[i].imap, fkey, value, &w[i].newk, &is_null) < 0)
            goto done;
        if (is_null) {
            if (!nullable) {
                PyErr_Format(self->null_error,
                             "cannot insert NULL value into non-nullable index '%s::%U'",
                             Py_TYPE(self)->tp_name, PyTuple_GET_ITEM(spec, 4));
                goto done;
            }
        } else {
            w[i].ival = chain(w[i].imap->enc, w[i].imap->nenc, key);
            if (w[i].ival == NULL)
                goto done;
            if (!PyBytes_Check(w[i].ival)) {
                PyErr_SetString(PyExc_TypeError, "index value encoder did not return bytes");
                goto done;
            }
            if (unique) {
                MDB_val owner;
                rc = lookup(t, &w[i].newk, &owner);
                if (rc == 0 && (owner.mv_size != (size_t)PyBytes_GET_SIZE(w[i].ival) ||
                                memcmp(owner.mv_data, PyBytes_AS_STRING(w[i].ival),
                                       owner.mv_size) != 0)) {
                    PyErr_Format(PyExc_KeyError,
                                 "unique index '%s::%U': the key is already taken",
                                 Py_TYPE(self)->tp_name, PyTuple_GET_ITEM(spec, 4));
                    goto done;
                }
                if (rc != 0 && rc != MDB_NOTFOUND) {
                    zpy_err_set(st, "mdb_get", rc);
                    goto done;
                }
            }
        }
        if (old_value && index_key(w[i].imap, fkey, old_value, &w[i].oldk, &is_null) < 0)
            goto done;
    }
    if (check_key_size(st, t, pk.size) < 0)
        goto done;
    for (i = 0; i < nix; i++)
        if (check_key_size(st, t, w[i].newk.size) < 0)
            goto done;
    /* The writes: nothing below allocates, so only LMDB can fail here. */
    for (i = 0; i < nix; i++) {
        if (w[i].oldk.size && !(w[i].oldk.size == w[i].newk.size &&
                                memcmp(w[i].oldk.ptr, w[i].newk.ptr, w[i].newk.size) == 0)) {
            if ((rc = del_raw(st, t, w[i].oldk.ptr, w[i].oldk.size)) < 0)
                goto half;
            dels += rc;
            wrote = 1;
        }
        if (w[i].newk.size) {
            if (put_raw(st, t, w[i].newk.ptr, w[i].newk.size, PyBytes_AS_STRING(w[i].ival),
                        (size_t)PyBytes_GET_SIZE(w[i].ival)) < 0)
                goto half;
            puts++;
            wrote = 1;
        }
    }
    if (put_raw(st, t, pk.ptr, pk.size, PyBytes_AS_STRING(data),
                (size_t)PyBytes_GET_SIZE(data)) < 0)
        goto half;
    if (count_writes(st, txn, st->s_count_put, puts) == 0 &&
        count_writes(st, txn, st->s_count_del, dels) == 0)
        res = 0;
    goto done;
half:
    if (wrote)
        mark_half_written(st, txn);
done:
    if (w) {
        for (i = 0; i < nix; i++) {
            zlmdb_buf_dispose(&w[i].newk);
            zlmdb_buf_dispose(&w[i].oldk);
            Py_XDECREF(w[i].ival);
        }
        PyMem_Free(w);
    }
    Py_XDECREF(old_value);
    Py_XDECREF(data);
    zlmdb_buf_dispose(&pk);
    Py_DECREF(t);
    return res;
}

/* A delete on a map with indexes: the record's index entries go with it. */
static int indexed_del(zpy_state *st, zpy_PMap *self, PyObject *txn, PyObject *key)
{
    Py_ssize_t nix = PyTuple_GET_SIZE(self->indexes), i;
    zlmdb_buf pk = ZLMDB_BUF_INIT, *ik;
    PyObject *old_value = NULL;
    zpy_Txn *t;
    MDB_val old;
    int rc, res = -1, is_null, wrote = 0;
    long dels = 1;

    if ((ik = PyMem_Calloc((size_t)nix, sizeof(*ik))) == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    if ((t = open_txn(st, txn)) == NULL) {
        PyMem_Free(ik);
        return -1;
    }
    if (physical_key(self, key, &pk) < 0)
        goto done;
    rc = lookup(t, &pk, &old);
    if (rc == MDB_NOTFOUND) {
        res = 0;
        goto done;
    }
    if (rc) {
        zpy_err_set(st, "mdb_get", rc);
        goto done;
    }
    if ((old_value = decode_value(self, t, &old)) == NULL)
        goto done;
    /* Every key first: with buffers=True the old value may be a view into
     * the map, which the first write can move. */
    for (i = 0; i < nix; i++) {
        PyObject *spec = PyTuple_GET_ITEM(self->indexes, i);
        zpy_PMap *imap = (zpy_PMap *)PyTuple_GET_ITEM(spec, 0);
        if (index_key(imap, PyTuple_GET_ITEM(spec, 1), old_value, &ik[i], &is_null) < 0)
            goto done;
    }
    for (i = 0; i < nix; i++) {
        if (ik[i].size) {
            if ((rc = del_raw(st, t, ik[i].ptr, ik[i].size)) < 0)
                goto half;
            dels += rc;
            wrote = 1;
        }
    }
    if (del_raw(st, t, pk.ptr, pk.size) < 0)
        goto half;
    res = count_writes(st, txn, st->s_count_del, dels);
    goto done;
half:
    if (wrote)
        mark_half_written(st, txn);
done:
    Py_XDECREF(old_value);
    for (i = 0; i < nix; i++)
        zlmdb_buf_dispose(&ik[i]);
    PyMem_Free(ik);
    zlmdb_buf_dispose(&pk);
    Py_DECREF(t);
    return res;
}

static int pmap_ass_subscript(PyObject *op, PyObject *arg, PyObject *value)
{
    zpy_PMap *self = (zpy_PMap *)op;
    zpy_state *st = pmap_state(op);
    zlmdb_buf k = ZLMDB_BUF_INIT;
    PyObject *txn, *key, *data = NULL, *r;
    zpy_Txn *t = NULL;
    int rc, res = -1, slow;

    if (not_ready(self) < 0 || split(arg, &txn, &key) < 0)
        return -1;
    slow = needs_python(st, self, txn);
    if (slow < 0)
        return -1;
    if (slow && self->indexes && !self->fast_write) {
        /* Indexed write, not logged for growth: the upkeep runs here. */
        PyObject *log = PyObject_GetAttr(txn, st->s_log);
        if (log == NULL)
            return -1;
        Py_DECREF(log);
        if (log == Py_None)
            return value ? indexed_put(st, self, txn, key, value)
                         : indexed_del(st, self, txn, key);
    }
    if (slow) {
        r = value ? PyObject_CallMethodObjArgs(op, st->s_setitem_py, arg, value, NULL)
                  : PyObject_CallMethodObjArgs(op, st->s_delitem_py, arg, NULL);
        Py_XDECREF(r);
        return r ? 0 : -1;
    }
    if ((t = open_txn(st, txn)) == NULL)
        return -1;
    if (physical_key(self, key, &k) < 0)
        goto done;
    if (value) {
        if ((data = encode_value(self, value)) == NULL ||
            put_raw(st, t, k.ptr, k.size, PyBytes_AS_STRING(data),
                    (size_t)PyBytes_GET_SIZE(data)) < 0)
            goto done;
        res = count_writes(st, txn, st->s_count_put, 1);
    } else {
        rc = del_raw(st, t, k.ptr, k.size);
        if (rc >= 0)
            res = count_writes(st, txn, st->s_count_del, rc);
    }
done:
    Py_XDECREF(data);
    zlmdb_buf_dispose(&k);
    Py_XDECREF(t);
    return res;
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
    if (take_stages(enc, self->enc, &self->nenc) < 0 ||
        take_stages(dec, self->dec, &self->ndec) < 0)
        return NULL;
    Py_XSETREF(self->keycodec, Py_NewRef(keycodec));
    self->prefix[0] = (unsigned char)(slot >> 8);
    self->prefix[1] = (unsigned char)(slot & 0xff);
    self->single = single;
    self->fast_write = 1;
    self->st = st;
    self->ready = 1;
    Py_RETURN_NONE;
}

/* _c_set_indexes(tuple of (map, fkey, nullable, unique, name), NullValueConstraint) */
static PyObject *pmap_c_set_indexes(PyObject *op, PyObject *args)
{
    zpy_PMap *self = (zpy_PMap *)op;
    zpy_state *st = zpy_state_of_sub(op);
    PyObject *ixs, *err;
    Py_ssize_t i;

    if (!PyArg_ParseTuple(args, "O!O:_c_set_indexes", &PyTuple_Type, &ixs, &err))
        return NULL;
    for (i = 0; i < PyTuple_GET_SIZE(ixs); i++) {
        PyObject *spec = PyTuple_GET_ITEM(ixs, i);
        if (!PyTuple_Check(spec) || PyTuple_GET_SIZE(spec) != 5 ||
            !PyObject_TypeCheck(PyTuple_GET_ITEM(spec, 0), st->PMapType) ||
            !((zpy_PMap *)PyTuple_GET_ITEM(spec, 0))->ready ||
            !PyUnicode_Check(PyTuple_GET_ITEM(spec, 4)))
            return zpy_type_error("index specs are (map, fkey, nullable, unique, name)");
    }
    Py_XSETREF(self->indexes, PyTuple_GET_SIZE(ixs) ? Py_NewRef(ixs) : NULL);
    Py_XSETREF(self->null_error, Py_NewRef(err));
    self->fast_write = self->indexes == NULL;
    Py_RETURN_NONE;
}

/* _c_count(txn, start): records whose key starts with the bytes `start`. */
static PyObject *pmap_c_count(PyObject *op, PyObject *args)
{
    zpy_state *st = pmap_state(op);
    PyObject *txn, *start;
    zpy_Txn *t;
    MDB_cursor *c;
    MDB_val k, v;
    size_t n = 0, plen;
    int rc;

    if (!PyArg_ParseTuple(args, "OO!:_c_count", &txn, &PyBytes_Type, &start))
        return NULL;
    if ((t = open_txn(st, txn)) == NULL)
        return NULL;
    plen = (size_t)PyBytes_GET_SIZE(start);
    if ((rc = t->eng->cursor_open(t->txn, t->db->dbi, &c))) {
        Py_DECREF(t);
        return zpy_err_set(st, "mdb_cursor_open", rc);
    }
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
    Py_DECREF(t);
    if (rc && rc != MDB_NOTFOUND)
        return zpy_err_set(st, "mdb_cursor_get", rc);
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
    zpy_Txn *t;

    if (!PyArg_ParseTuple(args, "OO!Opppn:_c_select", &txn, &PyBytes_Type, &lo, &hi, &keys,
                          &values, &reverse, &limit))
        return NULL;
    if (hi != Py_None && !PyBytes_Check(hi))
        return zpy_type_error("hi must be bytes or None");
    if (not_ready(self) < 0 || (t = open_txn(st, txn)) == NULL)
        return NULL;
    curs = zpy_cursor_new(st, t->db, t);
    Py_DECREF(t);
    if (curs == NULL)
        return NULL;
    it = PyObject_New(zpy_PMapIter, st->PMapIterType);
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
    Py_CLEAR(self->dict);
    Py_CLEAR(self->keycodec);
    Py_CLEAR(self->indexes);
    Py_CLEAR(self->null_error);
    for (i = 0; i < self->nenc; i++)
        Py_CLEAR(self->enc[i]);
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
    {"_c_select", pmap_c_select, METH_VARARGS, NULL},
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
    zpy_state *st = pm->st;
    PyObject *k = NULL, *v = NULL, *res;
    MDB_val key;

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

static void pmapiter_dealloc(PyObject *op)
{
    PyTypeObject *tp = Py_TYPE(op);
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
    {Py_tp_iter, pmapiter_iter},
    {Py_tp_iternext, pmapiter_next},
    {0, NULL}
};

PyType_Spec zpy_pmapiter_spec = {
    .name = "zlmdb._native.PersistentMapIterator",
    .basicsize = sizeof(zpy_PMapIter),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = pmapiter_slots,
};

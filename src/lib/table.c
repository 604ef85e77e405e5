/* Tables: records under a 2-byte slot prefix, with their indexes. */
#include <errno.h>
#include <string.h>

#include "table_int.h"

/* ------------------------------------------------------------ lifecycle */

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = zlmdb__malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static void index_dispose(struct zlmdb__index *ix)
{
    unsigned c;
    zlmdb__free(ix->name);
    for (c = 0; c < ZLMDB_KEY_MAX_COMPONENTS; c++)
        zlmdb__free(ix->fields[c]);
    zlmdb_buf_dispose(&ix->newk);
    zlmdb_buf_dispose(&ix->oldk);
    zlmdb_buf_dispose(&ix->newv);
    zlmdb_buf_dispose(&ix->oldv);
    zlmdb_buf_dispose(&ix->prev);
}

int zlmdb_table_new(zlmdb_table **out, MDB_dbi dbi, const zlmdb_table_options *opts)
{
    zlmdb_table *t;
    int rc;

    if (out == NULL || opts == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "table: out and opts are required");
    *out = NULL;
    /* Version 1 options end before `engine`: never read it from them. */
    if (opts->version != 1 && opts->version != ZLMDB_TABLE_OPTIONS_VERSION)
        return zlmdb__error_set(ZLMDB_EINVAL, "table: options version %u is not supported",
                                opts->version);
    if (opts->slot == 0)
        return zlmdb__error_set(ZLMDB_EINVAL, "table: slot 0 is reserved");
    if ((rc = zlmdb_key_desc_check(&opts->key)))
        return rc;
    t = zlmdb__malloc(sizeof(*t));
    if (t == NULL)
        return zlmdb__error_set(ZLMDB_ENOMEM, "table: out of memory");
    memset(t, 0, sizeof(*t));
    t->eng = opts->version >= 2 && opts->engine ? opts->engine : zlmdb__engine_default();
    t->dbi = dbi;
    t->slot = opts->slot;
    t->key = opts->key;
    *out = t;
    return ZLMDB_OK;
}

void zlmdb_table_free(zlmdb_table *t)
{
    size_t i;
    if (t == NULL)
        return;
    for (i = 0; i < t->nindexes; i++)
        index_dispose(&t->indexes[i]);
    zlmdb__free(t->indexes);
    zlmdb_buf_dispose(&t->kbuf);
    zlmdb_buf_dispose(&t->pkbuf);
    zlmdb_buf_dispose(&t->hibuf);
    zlmdb__free(t);
}

static struct zlmdb__index *find_index(zlmdb_table *t, const char *name)
{
    size_t i;
    for (i = 0; i < t->nindexes; i++)
        if (strcmp(t->indexes[i].name, name) == 0)
            return &t->indexes[i];
    return NULL;
}

int zlmdb_table_add_index(zlmdb_table *t, const zlmdb_index_options *opts)
{
    struct zlmdb__index ix, *grown;
    zlmdb_index_key_fn key_fn = NULL;
    unsigned c;
    size_t i;
    int rc;

    if (t == NULL || opts == NULL || opts->name == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "index: table, opts and name are required");
    /* Version 1 options end before the callbacks: never read them there. */
    if (opts->version != 1 && opts->version != ZLMDB_INDEX_OPTIONS_VERSION)
        return zlmdb__error_set(ZLMDB_EINVAL, "index: options version %u is not supported",
                                opts->version);
    if (opts->version >= 2)
        key_fn = opts->key_fn;
    if (find_index(t, opts->name))
        return zlmdb__error_set(ZLMDB_EINVAL, "index '%s' already exists", opts->name);
    if (opts->slot == 0 || opts->slot == t->slot)
        return zlmdb__error_set(ZLMDB_EINVAL, "index '%s': slot %u is not usable",
                                opts->name, (unsigned)opts->slot);
    for (i = 0; i < t->nindexes; i++)
        if (t->indexes[i].slot == opts->slot)
            return zlmdb__error_set(ZLMDB_EINVAL, "index '%s': slot %u is taken by '%s'",
                                    opts->name, (unsigned)opts->slot, t->indexes[i].name);
    /* With a key function, `key` only serves zlmdb_table_index_get() and
     * may be left empty; `fields` is never read. */
    if ((key_fn == NULL || opts->key.ncomp) && (rc = zlmdb_key_desc_check(&opts->key)))
        return rc;
    for (c = 0; key_fn == NULL && c < opts->key.ncomp; c++)
        if (opts->fields[c] == NULL &&
            (t->key.ncomp != 1 || t->key.comp[0] != opts->key.comp[c]))
            return zlmdb__error_set(ZLMDB_EINVAL,
                                    "index '%s': component %u takes the primary key, which "
                                    "must then be one component of the same type",
                                    opts->name, c);

    memset(&ix, 0, sizeof(ix));
    ix.slot = opts->slot;
    ix.key = opts->key;
    ix.unique = opts->unique;
    ix.nullable = opts->nullable;
    if (opts->version >= 2) {
        ix.key_fn = opts->key_fn;
        ix.value_fn = opts->value_fn;
        ix.ctx = opts->ctx;
    }
    if ((ix.name = dup_string(opts->name)) == NULL)
        goto nomem;
    for (c = 0; key_fn == NULL && c < opts->key.ncomp; c++)
        if (opts->fields[c] && (ix.fields[c] = dup_string(opts->fields[c])) == NULL)
            goto nomem;
    grown = zlmdb__realloc(t->indexes, (t->nindexes + 1) * sizeof(*grown));
    if (grown == NULL)
        goto nomem;
    t->indexes = grown;
    t->indexes[t->nindexes++] = ix;
    return ZLMDB_OK;
nomem:
    index_dispose(&ix);
    return zlmdb__error_set(ZLMDB_ENOMEM, "index: out of memory");
}

/* ------------------------------------------------------------- helpers */

/* t->kbuf = slot + encoded key (flags as zlmdb_key_encode). */
static int encode_key(zlmdb_table *t, const zlmdb_key_value *key, unsigned flags)
{
    int rc;
    zlmdb_buf_clear(&t->kbuf);
    if ((rc = zlmdb_key_encode_slot(t->slot, &t->kbuf)))
        return rc;
    return zlmdb_key_encode(&t->key, key, flags, &t->kbuf);
}

/* t->pkbuf = the encoded key, without the slot; *out points at it. */
static int encode_pk(zlmdb_table *t, zlmdb_buf *buf, const zlmdb_key_value *key,
                     unsigned flags, MDB_val *out)
{
    int rc;
    zlmdb_buf_clear(buf);
    if ((rc = zlmdb_key_encode(&t->key, key, flags, buf)))
        return rc;
    out->mv_data = buf->ptr;
    out->mv_size = buf->size;
    return ZLMDB_OK;
}

/* t->kbuf = slot + `pk`, the physical key of a record. */
static int physical_key(zlmdb_table *t, const MDB_val *pk)
{
    int rc;
    zlmdb_buf_clear(&t->kbuf);
    if ((rc = zlmdb_key_encode_slot(t->slot, &t->kbuf)))
        return rc;
    return zlmdb_buf_append(&t->kbuf, pk->mv_data, pk->mv_size);
}

static MDB_val as_val(const zlmdb_buf *b)
{
    MDB_val v;
    v.mv_size = b->size;
    v.mv_data = b->ptr;
    return v;
}

static int lmdb_error(int rc, const char *what)
{
    return zlmdb__error_set(rc, "%s: %s", what, zlmdb_strerror(rc));
}

static int same(const zlmdb_buf *a, const zlmdb_buf *b)
{
    return a->size == b->size && (a->size == 0 || memcmp(a->ptr, b->ptr, a->size) == 0);
}

/* ------------------------------------------------------- index entries */

/* The index key of `rec` (slot + key) into `out`; empty with *is_null set
 * when the record has no entry.  `old` marks a record read from the
 * database: one whose CBOR no longer parses is taken as having no entry
 * (its stale entry could not be found anyway). */
static int entry_key(zlmdb_table *t, struct zlmdb__index *ix, const zlmdb_record *rec,
                     int old, zlmdb_buf *out, int *is_null)
{
    int rc;

    *is_null = 0;
    if (ix->key_fn == NULL) {
        rc = zlmdb__index_key(t, ix, &rec->key, rec->value.mv_data, rec->value.mv_size, out,
                              is_null);
        if (rc && old && rc != ZLMDB_ENOMEM) {
            zlmdb_error_clear();
            rc = ZLMDB_OK;
            *is_null = 1;
        }
    } else {
        zlmdb_buf_clear(out);
        if ((rc = zlmdb_key_encode_slot(ix->slot, out)) == ZLMDB_OK) {
            rc = ix->key_fn(ix->ctx, rec, out, is_null);
            if (rc == ZLMDB_CALLBACK)
                zlmdb__error_set(rc, "index '%s': the key callback failed", ix->name);
        }
    }
    if (rc || *is_null) {
        zlmdb_buf_clear(out);
        *is_null = rc ? 1 : *is_null;
    }
    return rc;
}

/* The value of `rec`'s entry in `ix`: the primary key, or value_fn's
 * output in `buf`. */
static int entry_value(struct zlmdb__index *ix, const zlmdb_record *rec, zlmdb_buf *buf,
                       MDB_val *out)
{
    int rc;

    if (ix->value_fn == NULL) {
        *out = rec->key;
        return ZLMDB_OK;
    }
    zlmdb_buf_clear(buf);
    if ((rc = ix->value_fn(ix->ctx, rec, buf))) {
        if (rc == ZLMDB_CALLBACK)
            zlmdb__error_set(rc, "index '%s': the value callback failed", ix->name);
        return rc;
    }
    *out = as_val(buf);
    return ZLMDB_OK;
}

/* LMDB's limits, checked before the first write because LMDB refuses an
 * over-long key without marking the transaction failed. */
static int check_key_size(const zlmdb_table *t, MDB_txn *txn, size_t size, const char *what)
{
    int max = t->eng->env_get_maxkeysize(t->eng->txn_env(txn));
    if (size == 0 || size > (size_t)max)
        return zlmdb__error_set(MDB_BAD_VALSIZE,
                                "%s: key of %zu bytes is outside LMDB's 1 .. %d: shorten it",
                                what, size, max);
    return ZLMDB_OK;
}

static int check_value_size(size_t size, const char *what)
{
    if ((uint64_t)size > 0xffffffffu)
        return zlmdb__error_set(MDB_BAD_VALSIZE, "%s: value of %zu bytes exceeds LMDB's 4 GiB",
                                what, size);
    return ZLMDB_OK;
}

/* ---------------------------------------------------------- the engine */

/* One put or delete, with every index.  `newrec` is NULL for a delete;
 * `old` is the stored record (t->kbuf holds the physical key).  The order
 * of work is the API's: compute, check, then write.  A failure after the
 * first write is undone when LMDB left the transaction usable, else
 * reported as `midway`. */
struct op {
    zlmdb_table *t;
    MDB_txn *txn;
    zlmdb_table_writes *w;
    const zlmdb_record *newrec;  /* NULL: a delete */
    const zlmdb_record *oldrec;  /* NULL: no stored record */
    MDB_val pk;
    zlmdb_record newr, oldr;     /* what newrec and oldrec point at */
    struct zlmdb__index *fused;  /* the unique index whose put is its own check */
};

/* Start an operation on the record `pk`: its physical key in t->kbuf, and
 * the stored record, if any, read. */
static int op_start(struct op *o, zlmdb_table *t, MDB_txn *txn, const MDB_val *pk,
                    zlmdb_table_writes *w)
{
    MDB_val k;
    int rc;

    memset(o, 0, sizeof(*o));
    o->t = t;
    o->txn = txn;
    o->w = w;
    if ((rc = physical_key(t, pk)))
        return rc;
    k = as_val(&t->kbuf);
    o->pk.mv_data = (char *)t->kbuf.ptr + 2;
    o->pk.mv_size = t->kbuf.size - 2;
    rc = t->eng->get(txn, t->dbi, &k, &o->oldr.value);
    if (rc == MDB_NOTFOUND)
        return ZLMDB_OK;
    if (rc)
        return lmdb_error(rc, "mdb_get");
    o->oldr.key = o->pk;
    o->oldrec = &o->oldr;
    return ZLMDB_OK;
}

static int prepare(struct op *o)
{
    zlmdb_table *t = o->t;
    size_t i;
    int rc;

    for (i = 0; i < t->nindexes; i++) {
        struct zlmdb__index *ix = &t->indexes[i];
        MDB_val nv, ov;
        ix->new_null = ix->old_null = 1;
        ix->had_prev = ix->done = 0;
        zlmdb_buf_clear(&ix->newk);
        zlmdb_buf_clear(&ix->oldk);
        if (o->newrec) {
            if ((rc = entry_key(t, ix, o->newrec, 0, &ix->newk, &ix->new_null)) ||
                (!ix->new_null && (rc = entry_value(ix, o->newrec, &ix->newv, &nv))))
                goto named;
            if (ix->new_null && !ix->nullable) {
                rc = zlmdb__error_set(ZLMDB_NULL_KEY, "index '%s': null key for a "
                                      "non-nullable index", ix->name);
                goto named;
            }
        }
        if (o->oldrec) {
            if ((rc = entry_key(t, ix, o->oldrec, 1, &ix->oldk, &ix->old_null)) ||
                (!ix->old_null && (rc = entry_value(ix, o->oldrec, &ix->oldv, &ov))))
                goto named;
        }
        continue;
    named:
        /* The index is named for its constraints and its callbacks' errors. */
        if (o->w && (rc == ZLMDB_NULL_KEY || ix->key_fn || ix->value_fn) &&
            rc != ZLMDB_ENOMEM)
            o->w->index = ix->name;
        return rc;
    }
    return ZLMDB_OK;
}

/* The new entry's value of `ix` (valid after prepare()). */
static MDB_val new_value(const struct op *o, const struct zlmdb__index *ix)
{
    return ix->value_fn ? as_val(&ix->newv) : o->pk;
}

static MDB_val old_value(const struct op *o, const struct zlmdb__index *ix)
{
    return ix->value_fn ? as_val(&ix->oldv) : o->pk;
}

/* The old and the new record have the same entry key in `ix`. */
static int same_key(const struct zlmdb__index *ix)
{
    return !ix->old_null && !ix->new_null && same(&ix->oldk, &ix->newk);
}

static int taken(struct op *o, struct zlmdb__index *ix)
{
    if (o->w)
        o->w->index = ix->name;
    return zlmdb__error_set(ZLMDB_UNIQUE, "index '%s': the key is already taken by "
                            "another record", ix->name);
}

/* Unique constraints and LMDB's size limits, before the first write.  The
 * first unique index that gets a new entry key is not looked up here: its
 * put is the operation's first write and uses MDB_NOOVERWRITE, which LMDB
 * answers from the same lookup before it touches a page, so that put is
 * the check and a refusal there has written nothing (apply()).  This saves
 * one B-tree search per put of a table with a unique index. */
static int check(struct op *o, size_t len)
{
    zlmdb_table *t = o->t;
    size_t i;
    int rc;

    if ((rc = check_key_size(t, o->txn, t->kbuf.size, "record")) ||
        (rc = check_value_size(len, "record")))
        return rc;
    for (i = 0; i < t->nindexes; i++) {
        struct zlmdb__index *ix = &t->indexes[i];
        MDB_val ik, owner, nv;
        if (ix->new_null)
            continue;
        nv = new_value(o, ix);
        if ((rc = check_key_size(t, o->txn, ix->newk.size, ix->name)) ||
            (rc = check_value_size(nv.mv_size, ix->name)))
            return rc;
        if (!ix->unique)
            continue;
        if (o->fused == NULL && !same_key(ix)) {
            o->fused = ix;
            continue;
        }
        ik = as_val(&ix->newk);
        rc = t->eng->get(o->txn, t->dbi, &ik, &owner);
        if (rc == 0 && (owner.mv_size != nv.mv_size ||
                        memcmp(owner.mv_data, nv.mv_data, nv.mv_size) != 0))
            return taken(o, ix);
        if (rc != 0 && rc != MDB_NOTFOUND)
            return lmdb_error(rc, "mdb_get");
    }
    return ZLMDB_OK;
}

/* LMDB marks a transaction failed on the errors that may have changed its
 * tree; a marked transaction refuses every operation with MDB_BAD_TXN. */
static int txn_failed(zlmdb_table *t, MDB_txn *txn)
{
    MDB_val k, v;
    k = as_val(&t->kbuf);
    return t->eng->get(txn, t->dbi, &k, &v) == MDB_BAD_TXN;
}

/* Put back what this operation wrote, newest first.  0 when done. */
static int undo(struct op *o)
{
    zlmdb_table *t = o->t;
    size_t i = t->nindexes;
    int rc;

    while (i-- > 0) {
        struct zlmdb__index *ix = &t->indexes[i];
        if (ix->done & 2) {
            MDB_val nk = as_val(&ix->newk), pv = as_val(&ix->prev);
            rc = ix->had_prev ? t->eng->put(o->txn, t->dbi, &nk, &pv, 0)
                              : t->eng->del(o->txn, t->dbi, &nk, NULL);
            if (rc)
                return rc;
        }
        if (ix->done & 1) {
            MDB_val ok = as_val(&ix->oldk), ov = old_value(o, ix);
            if ((rc = t->eng->put(o->txn, t->dbi, &ok, &ov, 0)))
                return rc;
        }
        ix->done = 0;
    }
    return ZLMDB_OK;
}

/* A write failed with `rc` (LMDB's code) after `wrote` earlier writes. */
static int write_failed(struct op *o, int rc, const char *what, int wrote)
{
    zlmdb_table *t = o->t;
    int urc;

    if (!wrote)
        return lmdb_error(rc, what);
    if (!txn_failed(t, o->txn)) {
        /* LMDB refused this write before changing anything and left the
         * transaction usable: take the operation's earlier writes back, so
         * that a commit cannot store half of it. */
        if ((urc = undo(o)) == 0) {
            if (o->w)
                o->w->puts = o->w->dels = 0;
            return lmdb_error(rc, what);
        }
        if (!txn_failed(t, o->txn)) {
            if (o->w)
                o->w->midway = 1;
            return zlmdb__error_set(rc, "%s: %s; undoing the earlier writes failed too "
                                    "(%s): abort the transaction, it holds part of the "
                                    "operation", what, zlmdb_strerror(rc),
                                    zlmdb_strerror(urc));
        }
    }
    if (o->w)
        o->w->midway = 1;
    return zlmdb__error_set(rc, "%s: %s; the transaction holds part of the operation and "
                            "LMDB refuses to commit it: abort it", what, zlmdb_strerror(rc));
}

/* Write `ix`'s new entry (prepare() found one).  The put over a key that
 * is not the old record's own uses MDB_NOOVERWRITE, to note what it
 * replaces for undo(); for the fused index (check()) a stored entry of
 * another record is the unique constraint refusing the operation. */
static int put_entry(struct op *o, struct zlmdb__index *ix, int *wrote)
{
    zlmdb_table *t = o->t;
    MDB_val nk = as_val(&ix->newk), nv = new_value(o, ix), prev;
    int rc;

    if (same_key(ix)) {
        /* The entry being replaced is the old record's own. */
        prev = old_value(o, ix);
    } else {
        prev = nv;
        rc = t->eng->put(o->txn, t->dbi, &nk, &prev, MDB_NOOVERWRITE);
        if (rc == 0) {
            ix->done |= 2;
            *wrote = 1;
            if (o->w)
                o->w->puts++;
            return ZLMDB_OK;
        }
        if (rc != MDB_KEYEXIST)
            return write_failed(o, rc, "mdb_put", *wrote);
        if (ix == o->fused && (prev.mv_size != nv.mv_size ||
                               memcmp(prev.mv_data, nv.mv_data, nv.mv_size) != 0))
            return taken(o, ix);   /* the first write: nothing written */
    }
    zlmdb_buf_clear(&ix->prev);
    if ((rc = zlmdb_buf_append(&ix->prev, prev.mv_data, prev.mv_size)))
        /* no memory for the copy: nothing of this entry is written yet */
        return write_failed(o, rc, "index", *wrote);
    ix->had_prev = 1;
    if ((rc = t->eng->put(o->txn, t->dbi, &nk, &nv, 0)))
        return write_failed(o, rc, "mdb_put", *wrote);
    ix->done |= 2;
    *wrote = 1;
    if (o->w)
        o->w->puts++;
    return ZLMDB_OK;
}

/* The writes: the fused unique entry first (it is a check too), then per
 * index the stale entry out and the new one in, then the record (put) or
 * its deletion.  Nothing here allocates except LMDB and undo's copies. */
static int apply(struct op *o, const MDB_val *value)
{
    zlmdb_table *t = o->t;
    zlmdb_table_writes *w = o->w;
    MDB_val k = as_val(&t->kbuf);
    size_t i;
    int rc, wrote = 0;

    if (o->fused && (rc = put_entry(o, o->fused, &wrote)))
        return rc;
    for (i = 0; i < t->nindexes; i++) {
        struct zlmdb__index *ix = &t->indexes[i];
        if (!ix->old_null && !same_key(ix)) {
            MDB_val ok = as_val(&ix->oldk);
            rc = t->eng->del(o->txn, t->dbi, &ok, NULL);
            if (rc == 0) {
                ix->done |= 1;
                wrote = 1;
                if (w)
                    w->dels++;
            } else if (rc != MDB_NOTFOUND) {
                return write_failed(o, rc, "mdb_del", wrote);
            }
        }
        if (!ix->new_null && ix != o->fused && (rc = put_entry(o, ix, &wrote)))
            return rc;
    }
    if (value) {
        if ((rc = t->eng->put(o->txn, t->dbi, &k, (MDB_val *)value, 0)))
            return write_failed(o, rc, "mdb_put", wrote);
        if (w)
            w->puts++;
    } else {
        if ((rc = t->eng->del(o->txn, t->dbi, &k, NULL)))
            return write_failed(o, rc, "mdb_del", wrote);
        if (w)
            w->dels++;
    }
    return ZLMDB_OK;
}

/* ---------------------------------------------------------- operations */

int zlmdb_table_put_encoded(zlmdb_table *t, MDB_txn *txn, const MDB_val *pk,
                            const void *value, size_t len, const void *user,
                            unsigned flags, zlmdb_table_writes *writes)
{
    struct op o;
    MDB_val k, v;
    int rc;

    if (writes)
        memset(writes, 0, sizeof(*writes));
    if (t == NULL || txn == NULL || pk == NULL || (pk->mv_data == NULL && pk->mv_size) ||
        (value == NULL && len))
        return zlmdb__error_set(ZLMDB_EINVAL, "table_put_encoded: missing argument");
    if (flags & ~ZLMDB_PUT_NOOVERWRITE)
        return zlmdb__error_set(ZLMDB_EINVAL, "table_put_encoded: unknown flags 0x%x",
                                flags);
    v.mv_size = len;
    v.mv_data = (void *)(value ? value : "");
    if (t->nindexes == 0) {
        /* One write: LMDB's own checks refuse before writing anything. */
        if ((rc = physical_key(t, pk)))
            return rc;
        k = as_val(&t->kbuf);
        rc = t->eng->put(txn, t->dbi, &k, &v,
                         (flags & ZLMDB_PUT_NOOVERWRITE) ? MDB_NOOVERWRITE : 0);
        if (rc)
            return rc == MDB_KEYEXIST ? rc : lmdb_error(rc, "mdb_put");
        if (writes)
            writes->puts = 1;
        return ZLMDB_OK;
    }

    if ((rc = op_start(&o, t, txn, pk, writes)))
        return rc;
    if (o.oldrec && (flags & ZLMDB_PUT_NOOVERWRITE))
        return MDB_KEYEXIST;
    o.newr.key = o.pk;
    o.newr.value = v;
    o.newr.user = user;
    o.newrec = &o.newr;
    if ((rc = prepare(&o)) || (rc = check(&o, len)))
        return rc;
    return apply(&o, &v);
}

int zlmdb_table_put(zlmdb_table *t, MDB_txn *txn, const zlmdb_key_value *key,
                    const void *value, size_t len, unsigned flags)
{
    MDB_val pk;
    int rc;

    if (t == NULL || txn == NULL || key == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "table_put: missing argument");
    if ((rc = encode_pk(t, &t->pkbuf, key, 0, &pk)))
        return rc;
    return zlmdb_table_put_encoded(t, txn, &pk, value, len, NULL, flags, NULL);
}

int zlmdb_table_delete_encoded(zlmdb_table *t, MDB_txn *txn, const MDB_val *pk,
                               zlmdb_table_writes *writes)
{
    struct op o;
    int rc;

    if (writes)
        memset(writes, 0, sizeof(*writes));
    if (t == NULL || txn == NULL || pk == NULL || (pk->mv_data == NULL && pk->mv_size))
        return zlmdb__error_set(ZLMDB_EINVAL, "table_delete_encoded: missing argument");
    if ((rc = op_start(&o, t, txn, pk, writes)))
        return rc;
    if (o.oldrec == NULL)
        return zlmdb__error_set(ZLMDB_NOTFOUND, "table_delete: no such record");
    if ((rc = prepare(&o)))
        return rc;
    return apply(&o, NULL);
}

int zlmdb_table_delete(zlmdb_table *t, MDB_txn *txn, const zlmdb_key_value *key)
{
    MDB_val pk;
    int rc;

    if (t == NULL || txn == NULL || key == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "table_delete: missing argument");
    if ((rc = encode_pk(t, &t->pkbuf, key, 0, &pk)))
        return rc;
    return zlmdb_table_delete_encoded(t, txn, &pk, NULL);
}

int zlmdb_table_get(zlmdb_table *t, MDB_txn *txn, const zlmdb_key_value *key,
                    MDB_val *value_out)
{
    MDB_val k;
    int rc;

    if (t == NULL || txn == NULL || key == NULL || value_out == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "table_get: missing argument");
    if ((rc = encode_key(t, key, 0)))
        return rc;
    k = as_val(&t->kbuf);
    rc = t->eng->get(txn, t->dbi, &k, value_out);
    if (rc == MDB_NOTFOUND)
        return ZLMDB_NOTFOUND;
    return rc ? lmdb_error(rc, "mdb_get") : ZLMDB_OK;
}

/* ------------------------------------------------------------- ranges */

struct zlmdb_table_iter {
    const zlmdb_engine *eng;
    MDB_cursor *curs;
    zlmdb_buf lo;      /* inclusive lower bound (slot + key) */
    zlmdb_buf hi;      /* exclusive upper bound; empty: end of the slot */
    unsigned char slot[2];
    int reverse;
    int started;
    int done;
};

/* Bounds for [from, to) within the table's slot: slot + encoded key. */
static int set_bounds(zlmdb_table *t, const MDB_val *from, const MDB_val *to, zlmdb_buf *lo,
                      zlmdb_buf *hi)
{
    int rc;

    if ((rc = zlmdb_key_encode_slot(t->slot, lo)))
        return rc;
    if (from && (rc = zlmdb_buf_append(lo, from->mv_data, from->mv_size)))
        return rc;
    if (to && ((rc = zlmdb_key_encode_slot(t->slot, hi)) ||
               (rc = zlmdb_buf_append(hi, to->mv_data, to->mv_size))))
        return rc;
    return ZLMDB_OK;
}

/* The component-value bounds, encoded into the table's scratch buffers. */
static int encode_bounds(zlmdb_table *t, const zlmdb_key_value *from, const zlmdb_key_value *to,
                         MDB_val *lo, MDB_val *hi)
{
    int rc;
    if (from && (rc = encode_pk(t, &t->pkbuf, from, ZLMDB_KEY_NULL_AS_ZERO, lo)))
        return rc;
    if (to && (rc = encode_pk(t, &t->hibuf, to, ZLMDB_KEY_NULL_AS_ZERO, hi)))
        return rc;
    return ZLMDB_OK;
}

static int below_hi(const zlmdb_table_iter *it, const MDB_val *k)
{
    size_t n;
    int c;

    if (k->mv_size < 2 || memcmp(k->mv_data, it->slot, 2) != 0)
        return 0;
    if (it->hi.size == 0)
        return 1;
    n = k->mv_size < it->hi.size ? k->mv_size : it->hi.size;
    c = memcmp(k->mv_data, it->hi.ptr, n);
    return c < 0 || (c == 0 && k->mv_size < it->hi.size);
}

static int at_least_lo(const zlmdb_table_iter *it, const MDB_val *k)
{
    size_t n;
    int c;

    if (k->mv_size < 2 || memcmp(k->mv_data, it->slot, 2) != 0)
        return 0;
    n = k->mv_size < it->lo.size ? k->mv_size : it->lo.size;
    c = memcmp(k->mv_data, it->lo.ptr, n);
    return c > 0 || (c == 0 && k->mv_size >= it->lo.size);
}

void zlmdb_table_iter_free(zlmdb_table_iter *it)
{
    if (it == NULL)
        return;
    if (it->curs)
        it->eng->cursor_close(it->curs);
    zlmdb_buf_dispose(&it->lo);
    zlmdb_buf_dispose(&it->hi);
    zlmdb__free(it);
}

static int iter_open(zlmdb_table_iter **out, zlmdb_table *t, MDB_txn *txn,
                     const MDB_val *from, const MDB_val *to, int reverse)
{
    zlmdb_table_iter *it;
    int rc;

    it = zlmdb__malloc(sizeof(*it));
    if (it == NULL)
        return zlmdb__error_set(ZLMDB_ENOMEM, "table_iter_open: out of memory");
    memset(it, 0, sizeof(*it));
    it->eng = t->eng;
    it->reverse = reverse;
    it->slot[0] = (unsigned char)(t->slot >> 8);
    it->slot[1] = (unsigned char)(t->slot & 0xff);
    if ((rc = set_bounds(t, from, to, &it->lo, &it->hi)) == ZLMDB_OK &&
        (rc = t->eng->cursor_open(txn, t->dbi, &it->curs)) != 0) {
        it->curs = NULL;
        rc = lmdb_error(rc, "mdb_cursor_open");
    }
    if (rc) {
        zlmdb_table_iter_free(it);
        return rc;
    }
    *out = it;
    return ZLMDB_OK;
}

int zlmdb_table_iter_open(zlmdb_table_iter **out, zlmdb_table *t, MDB_txn *txn,
                          const zlmdb_key_value *from, const zlmdb_key_value *to, int reverse)
{
    MDB_val lo, hi;
    int rc;

    if (out == NULL || t == NULL || txn == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "table_iter_open: missing argument");
    *out = NULL;
    if ((rc = encode_bounds(t, from, to, &lo, &hi)))
        return rc;
    return iter_open(out, t, txn, from ? &lo : NULL, to ? &hi : NULL, reverse);
}

/* Position on the first record of the range (the last one, in reverse). */
static int iter_start(zlmdb_table_iter *it, MDB_val *k, MDB_val *v)
{
    int rc;

    if (!it->reverse) {
        *k = as_val(&it->lo);
        return it->eng->cursor_get(it->curs, k, v, MDB_SET_RANGE);
    }
    /* Reverse: the last key below the upper bound (the end of the slot
     * when there is none). */
    if (it->hi.size) {
        *k = as_val(&it->hi);
        rc = it->eng->cursor_get(it->curs, k, v, MDB_SET_RANGE);
    } else if (it->slot[0] == 0xff && it->slot[1] == 0xff) {
        rc = MDB_NOTFOUND;
    } else {
        unsigned char next[2];
        unsigned s = ((unsigned)it->slot[0] << 8 | it->slot[1]) + 1;
        next[0] = (unsigned char)(s >> 8);
        next[1] = (unsigned char)(s & 0xff);
        k->mv_data = next;
        k->mv_size = 2;
        rc = it->eng->cursor_get(it->curs, k, v, MDB_SET_RANGE);
    }
    if (rc == MDB_NOTFOUND)
        return it->eng->cursor_get(it->curs, k, v, MDB_LAST);
    if (rc)
        return rc;
    return it->eng->cursor_get(it->curs, k, v, MDB_PREV);
}

int zlmdb_table_iter_next(zlmdb_table_iter *it, MDB_val *key_out, MDB_val *value_out)
{
    MDB_val k, v;
    int rc;

    if (it == NULL || key_out == NULL || value_out == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "table_iter_next: missing argument");
    if (it->done)
        return ZLMDB_NOTFOUND;
    if (!it->started) {
        it->started = 1;
        rc = iter_start(it, &k, &v);
    } else {
        rc = it->eng->cursor_get(it->curs, &k, &v, it->reverse ? MDB_PREV : MDB_NEXT);
    }
    if (rc == 0 && !(it->reverse ? at_least_lo(it, &k) && below_hi(it, &k)
                                 : below_hi(it, &k)))
        rc = MDB_NOTFOUND;
    if (rc) {
        it->done = 1;
        return rc == MDB_NOTFOUND ? ZLMDB_NOTFOUND : lmdb_error(rc, "mdb_cursor_get");
    }
    key_out->mv_data = (char *)k.mv_data + 2;
    key_out->mv_size = k.mv_size - 2;
    *value_out = v;
    return ZLMDB_OK;
}

int zlmdb_table_count_encoded(zlmdb_table *t, MDB_txn *txn, const MDB_val *from,
                              const MDB_val *to, size_t *count_out)
{
    zlmdb_table_iter *it;
    MDB_val k, v;
    size_t n = 0;
    int rc;

    if (t == NULL || txn == NULL || count_out == NULL ||
        (from && from->mv_data == NULL && from->mv_size) ||
        (to && to->mv_data == NULL && to->mv_size))
        return zlmdb__error_set(ZLMDB_EINVAL, "table_count: missing argument");
    if ((rc = iter_open(&it, t, txn, from, to, 0)))
        return rc;
    while ((rc = zlmdb_table_iter_next(it, &k, &v)) == ZLMDB_OK)
        n++;
    zlmdb_table_iter_free(it);
    if (rc != ZLMDB_NOTFOUND)
        return rc;
    *count_out = n;
    return ZLMDB_OK;
}

int zlmdb_table_count_range(zlmdb_table *t, MDB_txn *txn, const zlmdb_key_value *from,
                            const zlmdb_key_value *to, size_t *count_out)
{
    MDB_val lo, hi;
    int rc;

    if (t == NULL || txn == NULL || count_out == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "table_count_range: missing argument");
    if ((rc = encode_bounds(t, from, to, &lo, &hi)))
        return rc;
    return zlmdb_table_count_encoded(t, txn, from ? &lo : NULL, to ? &hi : NULL, count_out);
}

int zlmdb_table_count(zlmdb_table *t, MDB_txn *txn, const zlmdb_key_value *prefix,
                      unsigned nprefix, size_t *count_out)
{
    int rc;

    if (t == NULL || txn == NULL || count_out == NULL || (nprefix && prefix == NULL))
        return zlmdb__error_set(ZLMDB_EINVAL, "table_count: missing argument");
    zlmdb_buf_clear(&t->kbuf);
    if ((rc = zlmdb_key_encode_slot(t->slot, &t->kbuf)) ||
        (rc = zlmdb_key_encode_prefix(&t->key, prefix, nprefix, 0, &t->kbuf)))
        return rc;
    return zlmdb__prefix_count(t->eng, txn, t->dbi, t->kbuf.ptr, t->kbuf.size, count_out);
}

int zlmdb__prefix_count(const zlmdb_engine *eng, MDB_txn *txn, MDB_dbi dbi,
                        const void *prefix, size_t plen, size_t *count_out)
{
    MDB_cursor *curs;
    MDB_val k, v;
    size_t n = 0;
    int rc;

    if ((rc = eng->cursor_open(txn, dbi, &curs)))
        return lmdb_error(rc, "mdb_cursor_open");
    k.mv_data = (void *)prefix;
    k.mv_size = plen;
    rc = eng->cursor_get(curs, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && k.mv_size >= plen && memcmp(k.mv_data, prefix, plen) == 0) {
        n++;
        rc = eng->cursor_get(curs, &k, &v, MDB_NEXT);
    }
    eng->cursor_close(curs);
    if (rc && rc != MDB_NOTFOUND)
        return lmdb_error(rc, "mdb_cursor_get");
    *count_out = n;
    return ZLMDB_OK;
}

int zlmdb__slot_clear(const zlmdb_engine *eng, MDB_txn *txn, MDB_dbi dbi, uint16_t slot,
                      size_t *deleted_out)
{
    unsigned char prefix[2];
    MDB_cursor *curs;
    MDB_val k, v;
    size_t n = 0;
    int rc;

    prefix[0] = (unsigned char)(slot >> 8);
    prefix[1] = (unsigned char)(slot & 0xff);
    if ((rc = eng->cursor_open(txn, dbi, &curs)))
        return lmdb_error(rc, "mdb_cursor_open");
    k.mv_data = prefix;
    k.mv_size = 2;
    rc = eng->cursor_get(curs, &k, &v, MDB_SET_RANGE);
    /* Re-read the key each step: the range ends where the slot does (a
     * truncate must never run on into the next slot). */
    while (rc == 0 && k.mv_size >= 2 && memcmp(k.mv_data, prefix, 2) == 0) {
        if ((rc = eng->cursor_del(curs, 0)))
            break;
        n++;
        rc = eng->cursor_get(curs, &k, &v, MDB_GET_CURRENT);
        if (rc == EINVAL || rc == MDB_NOTFOUND) {
            /* Deleting the last record leaves no current record. */
            rc = MDB_NOTFOUND;
            break;
        }
    }
    eng->cursor_close(curs);
    if (rc && rc != MDB_NOTFOUND)
        return lmdb_error(rc, "mdb_cursor_del");
    if (deleted_out)
        *deleted_out = n;
    return ZLMDB_OK;
}

int zlmdb_table_truncate(zlmdb_table *t, MDB_txn *txn, size_t *deleted_out)
{
    size_t i;
    int rc;

    if (t == NULL || txn == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "table_truncate: missing argument");
    for (i = 0; i < t->nindexes; i++)
        if ((rc = zlmdb__slot_clear(t->eng, txn, t->dbi, t->indexes[i].slot, NULL)))
            return rc;
    return zlmdb__slot_clear(t->eng, txn, t->dbi, t->slot, deleted_out);
}

int zlmdb_table_rebuild_index(zlmdb_table *t, MDB_txn *txn, const char *name,
                              size_t *deleted_out, size_t *inserted_out)
{
    struct zlmdb__index *ix;
    zlmdb_table_iter *it;
    zlmdb_record rec;
    size_t inserted = 0;
    int rc;

    if (t == NULL || txn == NULL || name == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "table_rebuild_index: missing argument");
    if ((ix = find_index(t, name)) == NULL)
        return zlmdb__error_set(ZLMDB_NOTFOUND, "no index '%s'", name);
    if ((rc = zlmdb__slot_clear(t->eng, txn, t->dbi, ix->slot, deleted_out)))
        return rc;
    if ((rc = iter_open(&it, t, txn, NULL, NULL, 0)))
        return rc;
    rec.user = NULL;
    while ((rc = zlmdb_table_iter_next(it, &rec.key, &rec.value)) == ZLMDB_OK) {
        MDB_val ik, iv, owner;
        int is_null;
        if ((rc = entry_key(t, ix, &rec, 0, &ix->newk, &is_null)))
            break;
        if (is_null) {
            if (!ix->nullable) {
                rc = zlmdb__error_set(ZLMDB_NULL_KEY, "index '%s': null key for a "
                                      "non-nullable index", ix->name);
                break;
            }
            continue;
        }
        if ((rc = entry_value(ix, &rec, &ix->newv, &iv)) ||
            (rc = check_key_size(t, txn, ix->newk.size, ix->name)) ||
            (rc = check_value_size(iv.mv_size, ix->name)))
            break;
        ik = as_val(&ix->newk);
        if (ix->unique && t->eng->get(txn, t->dbi, &ik, &owner) == 0) {
            rc = zlmdb__error_set(ZLMDB_UNIQUE, "index '%s': the key is already taken "
                                  "by another record", ix->name);
            break;
        }
        /* Writing into another slot does not disturb the iterator's cursor
         * position in this one. */
        if ((rc = t->eng->put(txn, t->dbi, &ik, &iv, 0))) {
            rc = lmdb_error(rc, "mdb_put");
            break;
        }
        inserted++;
    }
    zlmdb_table_iter_free(it);
    if (rc != ZLMDB_NOTFOUND)
        return rc;
    if (inserted_out)
        *inserted_out = inserted;
    return ZLMDB_OK;
}

int zlmdb_table_index_get(zlmdb_table *t, MDB_txn *txn, const char *name,
                          const zlmdb_key_value *ikey, MDB_val *pk_out)
{
    struct zlmdb__index *ix;
    MDB_val k, v;
    int rc;

    if (t == NULL || txn == NULL || name == NULL || ikey == NULL || pk_out == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "table_index_get: missing argument");
    if ((ix = find_index(t, name)) == NULL)
        return zlmdb__error_set(ZLMDB_NOTFOUND, "no index '%s'", name);
    if (ix->key.ncomp == 0)
        return zlmdb__error_set(ZLMDB_EINVAL, "index '%s' declares no key layout (its keys "
                                "come from a key function): declare `key` to look keys up",
                                name);
    zlmdb_buf_clear(&ix->newk);
    if ((rc = zlmdb_key_encode_slot(ix->slot, &ix->newk)) ||
        (rc = zlmdb_key_encode(&ix->key, ikey, 0, &ix->newk)))
        return rc;
    k = as_val(&ix->newk);
    rc = t->eng->get(txn, t->dbi, &k, &v);
    if (rc == MDB_NOTFOUND)
        return ZLMDB_NOTFOUND;
    if (rc)
        return lmdb_error(rc, "mdb_get");
    *pk_out = v;
    return ZLMDB_OK;
}


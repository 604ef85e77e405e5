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
    unsigned c;
    size_t i;
    int rc;

    if (t == NULL || opts == NULL || opts->name == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "index: table, opts and name are required");
    if (opts->version != 1 && opts->version != ZLMDB_INDEX_OPTIONS_VERSION)
        return zlmdb__error_set(ZLMDB_EINVAL, "index: options version %u is not supported",
                                opts->version);
    if (find_index(t, opts->name))
        return zlmdb__error_set(ZLMDB_EINVAL, "index '%s' already exists", opts->name);
    if (opts->slot == 0 || opts->slot == t->slot)
        return zlmdb__error_set(ZLMDB_EINVAL, "index '%s': slot %u is not usable",
                                opts->name, (unsigned)opts->slot);
    for (i = 0; i < t->nindexes; i++)
        if (t->indexes[i].slot == opts->slot)
            return zlmdb__error_set(ZLMDB_EINVAL, "index '%s': slot %u is taken by '%s'",
                                    opts->name, (unsigned)opts->slot, t->indexes[i].name);
    if ((rc = zlmdb_key_desc_check(&opts->key)))
        return rc;
    for (c = 0; c < opts->key.ncomp; c++)
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
    if ((ix.name = dup_string(opts->name)) == NULL)
        goto nomem;
    for (c = 0; c < opts->key.ncomp; c++)
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

/* Compute the index keys of the record `pk` for its new value (or none,
 * when value is NULL) into ix->newk, and for its old value into ix->oldk. */
static int index_keys(zlmdb_table *t, const MDB_val *pk, const MDB_val *newv,
                      const MDB_val *oldv)
{
    size_t i;
    int rc;

    for (i = 0; i < t->nindexes; i++) {
        struct zlmdb__index *ix = &t->indexes[i];
        ix->new_null = ix->old_null = 1;
        zlmdb_buf_clear(&ix->newk);
        zlmdb_buf_clear(&ix->oldk);
        if (newv && (rc = zlmdb__index_key(t, ix, pk, newv->mv_data, newv->mv_size,
                                           &ix->newk, &ix->new_null)))
            return rc;
        if (oldv) {
            /* A stored record that no longer parses is treated as having no
             * entry: its stale entries cannot be found anyway. */
            if (zlmdb__index_key(t, ix, pk, oldv->mv_data, oldv->mv_size, &ix->oldk,
                                 &ix->old_null) != 0) {
                ix->old_null = 1;
                zlmdb_buf_clear(&ix->oldk);
                zlmdb_error_clear();
            }
        }
    }
    return ZLMDB_OK;
}

static int same(const zlmdb_buf *a, const zlmdb_buf *b)
{
    return a->size == b->size && (a->size == 0 || memcmp(a->ptr, b->ptr, a->size) == 0);
}

/* ---------------------------------------------------------- operations */

int zlmdb_table_put(zlmdb_table *t, MDB_txn *txn, const zlmdb_key_value *key,
                    const void *value, size_t len, unsigned flags)
{
    MDB_val k, v, old, pk;
    size_t i;
    int rc, have_old = 0;

    if (t == NULL || txn == NULL || key == NULL || (value == NULL && len))
        return zlmdb__error_set(ZLMDB_EINVAL, "table_put: missing argument");
    if ((rc = encode_key(t, key, 0)))
        return rc;
    k = as_val(&t->kbuf);
    v.mv_size = len;
    v.mv_data = (void *)(value ? value : "");
    if (t->nindexes == 0) {
        rc = t->eng->put(txn, t->dbi, &k, &v, (flags & ZLMDB_PUT_NOOVERWRITE) ? MDB_NOOVERWRITE : 0);
        return rc ? (rc == MDB_KEYEXIST ? rc : lmdb_error(rc, "mdb_put")) : ZLMDB_OK;
    }

    /* Everything that can refuse the put is checked before the first write,
     * so a refused put changes nothing. */
    rc = t->eng->get(txn, t->dbi, &k, &old);
    if (rc == 0)
        have_old = 1;
    else if (rc != MDB_NOTFOUND)
        return lmdb_error(rc, "mdb_get");
    if (have_old && (flags & ZLMDB_PUT_NOOVERWRITE))
        return MDB_KEYEXIST;
    pk.mv_data = (char *)k.mv_data + 2;
    pk.mv_size = k.mv_size - 2;
    if ((rc = index_keys(t, &pk, &v, have_old ? &old : NULL)))
        return rc;
    for (i = 0; i < t->nindexes; i++) {
        struct zlmdb__index *ix = &t->indexes[i];
        MDB_val ik, owner;
        if (ix->new_null) {
            if (!ix->nullable)
                return zlmdb__error_set(ZLMDB_NULL_KEY, "index '%s': null key", ix->name);
            continue;
        }
        if (!ix->unique)
            continue;
        ik = as_val(&ix->newk);
        rc = t->eng->get(txn, t->dbi, &ik, &owner);
        if (rc == 0 && (owner.mv_size != pk.mv_size ||
                        memcmp(owner.mv_data, pk.mv_data, pk.mv_size) != 0))
            return zlmdb__error_set(ZLMDB_UNIQUE, "index '%s': duplicate key", ix->name);
        if (rc != 0 && rc != MDB_NOTFOUND)
            return lmdb_error(rc, "mdb_get");
    }

    /* The writes.  A failure from here on is LMDB's, which has marked the
     * transaction failed: the caller can only abort it. */
    for (i = 0; i < t->nindexes; i++) {
        struct zlmdb__index *ix = &t->indexes[i];
        if (!ix->old_null && (ix->new_null || !same(&ix->oldk, &ix->newk))) {
            MDB_val ok = as_val(&ix->oldk);
            rc = t->eng->del(txn, t->dbi, &ok, NULL);
            if (rc && rc != MDB_NOTFOUND)
                return lmdb_error(rc, "mdb_del");
        }
        if (!ix->new_null) {
            MDB_val nk = as_val(&ix->newk);
            if ((rc = t->eng->put(txn, t->dbi, &nk, &pk, 0)))
                return lmdb_error(rc, "mdb_put");
        }
    }
    if ((rc = t->eng->put(txn, t->dbi, &k, &v, 0)))
        return lmdb_error(rc, "mdb_put");
    return ZLMDB_OK;
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

int zlmdb_table_delete(zlmdb_table *t, MDB_txn *txn, const zlmdb_key_value *key)
{
    MDB_val k, old, pk;
    size_t i;
    int rc;

    if (t == NULL || txn == NULL || key == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "table_delete: missing argument");
    if ((rc = encode_key(t, key, 0)))
        return rc;
    k = as_val(&t->kbuf);
    rc = t->eng->get(txn, t->dbi, &k, &old);
    if (rc == MDB_NOTFOUND)
        return ZLMDB_NOTFOUND;
    if (rc)
        return lmdb_error(rc, "mdb_get");
    pk.mv_data = (char *)k.mv_data + 2;
    pk.mv_size = k.mv_size - 2;
    if ((rc = index_keys(t, &pk, NULL, &old)))
        return rc;
    for (i = 0; i < t->nindexes; i++) {
        struct zlmdb__index *ix = &t->indexes[i];
        if (!ix->old_null) {
            MDB_val ok = as_val(&ix->oldk);
            rc = t->eng->del(txn, t->dbi, &ok, NULL);
            if (rc && rc != MDB_NOTFOUND)
                return lmdb_error(rc, "mdb_del");
        }
    }
    if ((rc = t->eng->del(txn, t->dbi, &k, NULL)))
        return lmdb_error(rc, "mdb_del");
    return ZLMDB_OK;
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

/* Bounds for [from, to) within the table's slot. */
static int set_bounds(zlmdb_table *t, const zlmdb_key_value *from, const zlmdb_key_value *to,
                      zlmdb_buf *lo, zlmdb_buf *hi)
{
    int rc;

    if ((rc = zlmdb_key_encode_slot(t->slot, lo)))
        return rc;
    if (from && (rc = zlmdb_key_encode(&t->key, from, ZLMDB_KEY_NULL_AS_ZERO, lo)))
        return rc;
    if (to) {
        if ((rc = zlmdb_key_encode_slot(t->slot, hi)))
            return rc;
        if ((rc = zlmdb_key_encode(&t->key, to, ZLMDB_KEY_NULL_AS_ZERO, hi)))
            return rc;
    }
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

int zlmdb_table_iter_open(zlmdb_table_iter **out, zlmdb_table *t, MDB_txn *txn,
                          const zlmdb_key_value *from, const zlmdb_key_value *to, int reverse)
{
    zlmdb_table_iter *it;
    int rc;

    if (out == NULL || t == NULL || txn == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "table_iter_open: missing argument");
    *out = NULL;
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

int zlmdb_table_count_range(zlmdb_table *t, MDB_txn *txn, const zlmdb_key_value *from,
                            const zlmdb_key_value *to, size_t *count_out)
{
    zlmdb_table_iter *it;
    MDB_val k, v;
    size_t n = 0;
    int rc;

    if (count_out == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "table_count_range: count_out is required");
    if ((rc = zlmdb_table_iter_open(&it, t, txn, from, to, 0)))
        return rc;
    while ((rc = zlmdb_table_iter_next(it, &k, &v)) == ZLMDB_OK)
        n++;
    zlmdb_table_iter_free(it);
    if (rc != ZLMDB_NOTFOUND)
        return rc;
    *count_out = n;
    return ZLMDB_OK;
}

int zlmdb_table_count(zlmdb_table *t, MDB_txn *txn, const zlmdb_key_value *prefix,
                      unsigned nprefix, size_t *count_out)
{
    MDB_cursor *curs;
    MDB_val k, v;
    size_t n = 0, plen;
    int rc;

    if (t == NULL || txn == NULL || count_out == NULL || (nprefix && prefix == NULL))
        return zlmdb__error_set(ZLMDB_EINVAL, "table_count: missing argument");
    zlmdb_buf_clear(&t->kbuf);
    if ((rc = zlmdb_key_encode_slot(t->slot, &t->kbuf)) ||
        (rc = zlmdb_key_encode_prefix(&t->key, prefix, nprefix, 0, &t->kbuf)))
        return rc;
    plen = t->kbuf.size;
    if ((rc = t->eng->cursor_open(txn, t->dbi, &curs)))
        return lmdb_error(rc, "mdb_cursor_open");
    k = as_val(&t->kbuf);
    rc = t->eng->cursor_get(curs, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && k.mv_size >= plen && memcmp(k.mv_data, t->kbuf.ptr, plen) == 0) {
        n++;
        rc = t->eng->cursor_get(curs, &k, &v, MDB_NEXT);
    }
    t->eng->cursor_close(curs);
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
    MDB_val pk, v;
    size_t inserted = 0;
    int rc;

    if (t == NULL || txn == NULL || name == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "table_rebuild_index: missing argument");
    if ((ix = find_index(t, name)) == NULL)
        return zlmdb__error_set(ZLMDB_NOTFOUND, "no index '%s'", name);
    if ((rc = zlmdb__slot_clear(t->eng, txn, t->dbi, ix->slot, deleted_out)))
        return rc;
    if ((rc = zlmdb_table_iter_open(&it, t, txn, NULL, NULL, 0)))
        return rc;
    while ((rc = zlmdb_table_iter_next(it, &pk, &v)) == ZLMDB_OK) {
        MDB_val ik, owner;
        int is_null;
        if ((rc = zlmdb__index_key(t, ix, &pk, v.mv_data, v.mv_size, &ix->newk, &is_null)))
            break;
        if (is_null) {
            if (!ix->nullable) {
                rc = zlmdb__error_set(ZLMDB_NULL_KEY, "index '%s': null key", ix->name);
                break;
            }
            continue;
        }
        ik = as_val(&ix->newk);
        if (ix->unique && t->eng->get(txn, t->dbi, &ik, &owner) == 0) {
            rc = zlmdb__error_set(ZLMDB_UNIQUE, "index '%s': duplicate key", ix->name);
            break;
        }
        /* Writing into another slot does not disturb the iterator's cursor
         * position in this one. */
        if ((rc = t->eng->put(txn, t->dbi, &ik, &pk, 0))) {
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

/* The encoded-key API of 0.3.0: declared, implementation to follow. */
int zlmdb_table_put_encoded(zlmdb_table *t, MDB_txn *txn, const MDB_val *pk,
                            const void *value, size_t len, const void *user,
                            unsigned flags, zlmdb_table_writes *writes)
{
    (void)t; (void)txn; (void)pk; (void)value; (void)len; (void)user; (void)flags;
    if (writes)
        memset(writes, 0, sizeof(*writes));
    return zlmdb__error_set(ZLMDB_EINVAL, "table_put_encoded: not implemented yet");
}

int zlmdb_table_delete_encoded(zlmdb_table *t, MDB_txn *txn, const MDB_val *pk,
                               zlmdb_table_writes *writes)
{
    (void)t; (void)txn; (void)pk;
    if (writes)
        memset(writes, 0, sizeof(*writes));
    return zlmdb__error_set(ZLMDB_EINVAL, "table_delete_encoded: not implemented yet");
}

int zlmdb_table_count_encoded(zlmdb_table *t, MDB_txn *txn, const MDB_val *from,
                              const MDB_val *to, size_t *count_out)
{
    (void)t; (void)txn; (void)from; (void)to; (void)count_out;
    return zlmdb__error_set(ZLMDB_EINVAL, "table_count_encoded: not implemented yet");
}

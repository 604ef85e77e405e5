
/* orm: the ORM on PyPy (python/zlmdb/_cffi/orm.py) over libzlmdb's table
 * engine and slot registry, the same engine src/ext/pmap.c and registry.c
 * adapt for CPython.  Only argument shapes are converted here: the rules
 * (index upkeep, constraints before the first write, the registry's
 * records) stay in src/lib/table.c and registry.c. */
#include "table_int.h"   /* src/lib: zlmdb__prefix_count */

/* The Python side of a callback index: the record's bytes (`fresh`: the
 * record being written, whose value orm.py holds), or its primary key. */
static int zl_ix_key_py(void *ctx, const char *value, size_t len, int fresh,
                        zlmdb_buf *out, int *is_null);
static int zl_ix_value_py(void *ctx, const char *pk, size_t len, zlmdb_buf *out);

static int zl_ix_key(void *ctx, const zlmdb_record *rec, zlmdb_buf *out, int *is_null)
{
    return zl_ix_key_py(ctx, (const char *)rec->value.mv_data, rec->value.mv_size,
                        rec->user != NULL, out, is_null);
}

static int zl_ix_value(void *ctx, const zlmdb_record *rec, zlmdb_buf *out)
{
    return zl_ix_value_py(ctx, (const char *)rec->key.mv_data, rec->key.mv_size, out);
}

/* A table whose keys arrive encoded (the KeyCodec's layout): one STRING
 * component, as pmap.c declares it. */
static int zl_table_new(const zlmdb_engine *e, MDB_dbi dbi, int slot, zlmdb_table **out)
{
    zlmdb_table_options o = ZLMDB_TABLE_OPTIONS_INIT;
    o.slot = (uint16_t)slot;
    o.key.ncomp = 1;
    o.key.comp[0] = ZLMDB_KEY_STRING;
    o.engine = e;
    return zlmdb_table_new(out, dbi, &o);
}

static int zl_table_add_index(zlmdb_table *t, const char *name, int slot, int unique,
                              int nullable, int pk_value, void *ctx)
{
    zlmdb_index_options io = ZLMDB_INDEX_OPTIONS_INIT;
    io.name = name;
    io.slot = (uint16_t)slot;
    io.unique = unique;
    io.nullable = nullable;
    io.key_fn = zl_ix_key;
    io.value_fn = pk_value ? NULL : zl_ix_value;
    io.ctx = ctx;
    return zlmdb_table_add_index(t, &io);
}

/* The engine's `user` pointer only tells the callback "the new record"
 * (`fresh`), whose value orm.py keeps itself; a replayed write has none,
 * and its callbacks decode the bytes. */
static int zl_table_put(zlmdb_table *t, MDB_txn *txn, const char *pk, size_t pkn,
                        const char *v, size_t vn, int fresh, zlmdb_table_writes *w)
{
    MDB_val k = {pkn, (void *)pk};
    return zlmdb_table_put_encoded(t, txn, &k, v, vn, fresh ? (const void *)t : NULL, 0, w);
}

static int zl_table_delete(zlmdb_table *t, MDB_txn *txn, const char *pk, size_t pkn,
                           zlmdb_table_writes *w)
{
    MDB_val k = {pkn, (void *)pk};
    return zlmdb_table_delete_encoded(t, txn, &k, w);
}

static int zl_table_count(zlmdb_table *t, MDB_txn *txn, const char *lo, size_t lon,
                          int has_lo, const char *hi, size_t hin, int has_hi, size_t *out)
{
    MDB_val from = {lon, (void *)lo}, to = {hin, (void *)hi};
    return zlmdb_table_count_encoded(t, txn, has_lo ? &from : NULL, has_hi ? &to : NULL, out);
}

static int zl_table_rebuild(zlmdb_table *t, MDB_txn *txn, const char *name, size_t *deleted,
                            size_t *inserted)
{
    return zlmdb_table_rebuild_index(t, txn, name, deleted, inserted);
}

static int zl_registry_attach(const zlmdb_engine *e, MDB_txn *txn, MDB_dbi dbi,
                              const char *oid, const char *name, const char *description,
                              const char *creator, int find_only, int *slot, int *created)
{
    zlmdb_slot_record rec = ZLMDB_SLOT_RECORD_INIT;
    uint16_t s = 0;
    int rc;

    rec.oid = oid;
    rec.name = name;
    rec.description = description;
    rec.creator = creator;
    *created = 0;
    rc = zlmdb_registry_attach(e, txn, dbi, &rec, find_only ? ZLMDB_REGISTRY_FIND_ONLY : 0, &s,
                               created);
    *slot = s;
    return rc;
}

/* Every registry record, packed for orm.py: per record its slot (2 bytes,
 * big-endian), its length (4 bytes, big-endian), its bytes. */
struct zl_pack { unsigned char *p; size_t n, cap; };

static int zl_pack_record(uint16_t slot, const MDB_val *record, void *payload)
{
    struct zl_pack *pk = payload;
    size_t need = pk->n + 6 + record->mv_size;
    unsigned char *at;

    if (record->mv_size > 0xFFFFFFFFu)
        return ZLMDB_EINVAL;
    if (need > pk->cap) {
        size_t cap = need * 2 + 256;
        unsigned char *p = realloc(pk->p, cap);
        if (p == NULL)
            return ZLMDB_ENOMEM;
        pk->p = p;
        pk->cap = cap;
    }
    at = pk->p + pk->n;
    at[0] = (unsigned char)(slot >> 8);
    at[1] = (unsigned char)slot;
    at[2] = (unsigned char)(record->mv_size >> 24);
    at[3] = (unsigned char)(record->mv_size >> 16);
    at[4] = (unsigned char)(record->mv_size >> 8);
    at[5] = (unsigned char)record->mv_size;
    if (record->mv_size)
        memcpy(at + 6, record->mv_data, record->mv_size);
    pk->n = need;
    return 0;
}

/* malloc'd (zl_free it), or NULL with *rc set (0 and *len 0: no records). */
static char *zl_registry_read(const zlmdb_engine *e, MDB_txn *txn, MDB_dbi dbi, size_t *len,
                              int *rc)
{
    struct zl_pack pk = {NULL, 0, 0};
    *rc = zlmdb_registry_foreach(e, txn, dbi, zl_pack_record, &pk);
    if (*rc) {
        free(pk.p);
        return NULL;
    }
    *len = pk.n;
    return (char *)pk.p;
}

static int zl_catalog_read(const zlmdb_engine *e, MDB_txn *txn, MDB_dbi dbi, zl_val *out)
{
    return zlmdb_catalog_read(e, txn, dbi, (MDB_val *)out);
}

static int zl_catalog_put(const zlmdb_engine *e, MDB_txn *txn, MDB_dbi dbi, int slot,
                          const char *entry, size_t len, int remove)
{
    return zlmdb_catalog_put(e, txn, dbi, (uint16_t)slot, remove ? NULL : entry,
                             remove ? 0 : len);
}

static int zl_slot_walk(const zlmdb_engine *e, MDB_txn *txn, MDB_dbi dbi, int slot, int clear,
                        size_t *out)
{
    return clear ? zlmdb_slot_clear(e, txn, dbi, (uint16_t)slot, out)
                 : zlmdb_slot_count(e, txn, dbi, (uint16_t)slot, out);
}

static int zl_prefix_count(const zlmdb_engine *e, MDB_txn *txn, MDB_dbi dbi,
                           const char *prefix, size_t n, size_t *out)
{
    return zlmdb__prefix_count(e, txn, dbi, prefix, n, out);
}

/* Internal declarations shared by table.c and index.c. */
#ifndef ZLMDB_TABLE_INT_H
#define ZLMDB_TABLE_INT_H

#include "common_int.h"

struct zlmdb__index {
    char *name;
    uint16_t slot;
    zlmdb_key_desc key;
    char *fields[ZLMDB_KEY_MAX_COMPONENTS]; /* NULL: the record's primary key */
    int unique;
    int nullable;
    zlmdb_index_key_fn key_fn;     /* NULL: the key comes from `fields` */
    zlmdb_index_value_fn value_fn; /* NULL: the entry's value is the primary key */
    void *ctx;
    zlmdb_buf newk;   /* scratch: the new record's index key (slot + key) */
    zlmdb_buf oldk;   /* scratch: the old record's index key */
    zlmdb_buf newv;   /* scratch: the new entry's value (with value_fn) */
    zlmdb_buf oldv;   /* scratch: the old entry's value (with value_fn) */
    zlmdb_buf prev;   /* scratch: what the new entry's put replaced (undo) */
    int new_null;     /* the new record has no entry in this index */
    int old_null;     /* the old record had none (or there was no old record) */
    int had_prev;     /* the new entry's put replaced a stored value */
    int done;         /* writes made for this index: 1 old entry deleted, 2 new put */
};

struct zlmdb_table {
    const zlmdb_engine *eng;   /* whose transactions the table is given */
    MDB_dbi dbi;
    uint16_t slot;
    zlmdb_key_desc key;
    struct zlmdb__index *indexes;
    size_t nindexes;
    zlmdb_buf kbuf;   /* scratch: slot + encoded primary key */
    zlmdb_buf pkbuf;  /* scratch: an encoded primary key (component-value API) */
    zlmdb_buf hibuf;  /* scratch: an upper bound (component-value API) */
};

/* Build `ix`'s key (2-byte slot prefix + encoded key) for the record with
 * encoded primary key `pk` and CBOR value `value`, into `out` (cleared
 * first).  Sets *is_null when a component is null or missing; then `out`
 * is left empty.  Returns 0 or a zlmdb error code. */
int zlmdb__index_key(const struct zlmdb_table *t, const struct zlmdb__index *ix,
                     const MDB_val *pk, const void *value, size_t len, zlmdb_buf *out,
                     int *is_null);

/* Count the keys of `dbi` that start with `prefix` (plen bytes). */
int zlmdb__prefix_count(const zlmdb_engine *eng, MDB_txn *txn, MDB_dbi dbi,
                        const void *prefix, size_t plen, size_t *count_out);

/* Delete every key of `slot` in `dbi`; *deleted_out (may be NULL) counts. */
int zlmdb__slot_clear(const zlmdb_engine *eng, MDB_txn *txn, MDB_dbi dbi, uint16_t slot,
                      size_t *deleted_out);

#endif

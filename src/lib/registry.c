/* The slot registry (slot 0's 4-byte keys, upstream zlmdb's records), the
 * catalog (slot 0's 3-byte key) and whole-slot counting and clearing.
 *
 * The registry record is built here, once, for every binding: its bytes
 * must stay exactly those of cbor2.dumps() of upstream's Slot.marshal(),
 * a map in the order oid, name, [description,] creator, slot. */
#include <errno.h>
#include <string.h>

#include "table_int.h"

#define REGISTRY_KEY_LEN 4

static const zlmdb_engine *engine_or_default(const zlmdb_engine *eng)
{
    return eng ? eng : zlmdb__engine_default();
}

static int lmdb_error(int rc, const char *what)
{
    return zlmdb__error_set(rc, "%s: %s", what, zlmdb_strerror(rc));
}

static int opens(const zlmdb_cbor_item *it)
{
    return it->kind == ZLMDB_CBOR_ARRAY || it->kind == ZLMDB_CBOR_MAP ||
           (it->indefinite && (it->kind == ZLMDB_CBOR_BYTES || it->kind == ZLMDB_CBOR_TEXT));
}

/* `it` is the first item of a value: read on to the value's last item. */
static int skip_rest(zlmdb_cbor_reader *r, zlmdb_cbor_item *it)
{
    size_t depth = it->depth;
    int rc;

    while (it->kind == ZLMDB_CBOR_TAG)
        if ((rc = zlmdb_cbor_reader_next(r, it)))
            return rc;
    if (!opens(it))
        return ZLMDB_OK;
    do {
        if ((rc = zlmdb_cbor_reader_next(r, it)))
            return rc;
    } while (!(it->kind == ZLMDB_CBOR_END && it->depth == depth));
    return ZLMDB_OK;
}

/* Whether `record` is a CBOR map whose "oid" is the text `oid`. */
static int record_has_oid(const MDB_val *record, const char *oid)
{
    zlmdb_cbor_reader r;
    zlmdb_cbor_item it;
    size_t oidlen = strlen(oid);
    int found = 0;

    if (zlmdb_cbor_reader_init(&r, record->mv_data, record->mv_size, 0))
        return 0;
    if (zlmdb_cbor_reader_next(&r, &it) || it.kind != ZLMDB_CBOR_MAP)
        goto out;
    for (;;) {
        int is_oid;
        if (zlmdb_cbor_reader_next(&r, &it) || it.kind == ZLMDB_CBOR_END)
            break;
        is_oid = it.kind == ZLMDB_CBOR_TEXT && !it.indefinite && it.len == 3 &&
                 memcmp(it.data, "oid", 3) == 0;
        if (skip_rest(&r, &it) || zlmdb_cbor_reader_next(&r, &it))
            break;
        if (is_oid) {
            found = it.kind == ZLMDB_CBOR_TEXT && !it.indefinite && it.len == oidlen &&
                    memcmp(it.data, oid, oidlen) == 0;
            break;
        }
        if (skip_rest(&r, &it))
            break;
    }
out:
    zlmdb_cbor_reader_dispose(&r);
    zlmdb_error_clear();    /* a malformed record is skipped, not an error */
    return found;
}

static int encode_text(zlmdb_buf *b, const char *s)
{
    return zlmdb_cbor_encode_text(b, s, strlen(s));
}

static int encode_record(zlmdb_buf *b, const zlmdb_slot_record *rec, uint16_t slot)
{
    int with_desc = rec->description && rec->description[0];
    int rc;

    if ((rc = zlmdb_cbor_encode_map(b, with_desc ? 5 : 4)) ||
        (rc = encode_text(b, "oid")) || (rc = encode_text(b, rec->oid)) ||
        (rc = encode_text(b, "name")) || (rc = encode_text(b, rec->name)))
        return rc;
    if (with_desc && ((rc = encode_text(b, "description")) ||
                      (rc = encode_text(b, rec->description))))
        return rc;
    if ((rc = encode_text(b, "creator")) ||
        (rc = rec->creator ? encode_text(b, rec->creator) : zlmdb_cbor_encode_null(b)) ||
        (rc = encode_text(b, "slot")) || (rc = zlmdb_cbor_encode_uint(b, slot)))
        return rc;
    return ZLMDB_OK;
}

/* Call `fn` on every key of slot 0 with its value, in key order; stops on
 * a non-zero return, which is passed on. */
static int walk_slot0(const zlmdb_engine *eng, MDB_txn *txn, MDB_dbi dbi,
                      int (*fn)(const MDB_val *k, const MDB_val *v, void *arg), void *arg)
{
    static const unsigned char zero[2] = {0, 0};
    MDB_cursor *curs;
    MDB_val k, v;
    int rc, stop = 0;

    if ((rc = eng->cursor_open(txn, dbi, &curs)))
        return lmdb_error(rc, "mdb_cursor_open");
    k.mv_data = (void *)zero;
    k.mv_size = 2;
    for (rc = eng->cursor_get(curs, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = eng->cursor_get(curs, &k, &v, MDB_NEXT)) {
        const unsigned char *p = k.mv_data;
        if (k.mv_size < 2 || p[0] || p[1])
            break;
        if ((stop = fn(&k, &v, arg)) != 0)
            break;
    }
    eng->cursor_close(curs);
    if (stop)
        return stop;
    if (rc && rc != MDB_NOTFOUND)
        return lmdb_error(rc, "mdb_cursor_get");
    return ZLMDB_OK;
}

static unsigned key_slot(const MDB_val *k)
{
    const unsigned char *p = k->mv_data;
    return (unsigned)p[2] << 8 | p[3];
}

/* What scan_key looks for and finds. */
struct scan {
    const char *oid;
    int found;
    uint16_t slot;
    unsigned highest;
};

/* The oid's record (4-byte keys only), and the highest slot of any key of
 * 4 or more bytes (upstream counts them all). */
static int scan_key(const MDB_val *k, const MDB_val *v, void *arg)
{
    struct scan *sc = arg;
    unsigned slot;

    if (k->mv_size < REGISTRY_KEY_LEN)
        return 0;
    slot = key_slot(k);
    if (slot > sc->highest)
        sc->highest = slot;
    if (k->mv_size == REGISTRY_KEY_LEN && !sc->found && record_has_oid(v, sc->oid)) {
        sc->found = 1;
        sc->slot = (uint16_t)slot;
    }
    return 0;
}

int zlmdb_registry_attach(const zlmdb_engine *eng, MDB_txn *txn, MDB_dbi dbi,
                          const zlmdb_slot_record *rec, unsigned flags, uint16_t *slot_out,
                          int *created_out)
{
    unsigned char key[REGISTRY_KEY_LEN];
    zlmdb_buf b = ZLMDB_BUF_INIT;
    struct scan sc;
    MDB_val k, v;
    uint16_t slot;
    int rc;

    if (created_out)
        *created_out = 0;
    if (txn == NULL || rec == NULL || slot_out == NULL || rec->oid == NULL ||
        rec->name == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "registry: txn, record (with oid and name) "
                                "and slot_out are required");
    if (rec->version != ZLMDB_SLOT_RECORD_VERSION)
        return zlmdb__error_set(ZLMDB_EINVAL, "registry: record version %u is not supported",
                                rec->version);
    eng = engine_or_default(eng);
    memset(&sc, 0, sizeof(sc));
    sc.oid = rec->oid;
    if ((rc = walk_slot0(eng, txn, dbi, scan_key, &sc)))
        return rc;
    if (sc.found) {
        *slot_out = sc.slot;
        return ZLMDB_OK;
    }
    if (flags & ZLMDB_REGISTRY_FIND_ONLY)
        return zlmdb__error_set(ZLMDB_NOTFOUND, "no slot in the registry for table <%s>: "
                                "\"%s\"", rec->oid, rec->name);
    if (sc.highest >= 0xFFFF)
        return zlmdb__error_set(ZLMDB_NOTFOUND, "registry: no free slot left for table <%s> "
                                "(slot 65535 is taken)", rec->oid);
    slot = (uint16_t)(sc.highest + 1);
    if ((rc = encode_record(&b, rec, slot))) {
        zlmdb_buf_dispose(&b);
        return rc;
    }
    key[0] = key[1] = 0;
    key[2] = (unsigned char)(slot >> 8);
    key[3] = (unsigned char)(slot & 0xff);
    k.mv_data = key;
    k.mv_size = sizeof(key);
    v.mv_data = b.ptr;
    v.mv_size = b.size;
    rc = eng->put(txn, dbi, &k, &v, 0);
    zlmdb_buf_dispose(&b);
    if (rc)
        return lmdb_error(rc, "mdb_put");
    *slot_out = slot;
    if (created_out)
        *created_out = 1;
    return ZLMDB_OK;
}

struct foreach {
    zlmdb_registry_cb cb;
    void *payload;
};

static int foreach_key(const MDB_val *k, const MDB_val *v, void *arg)
{
    struct foreach *f = arg;
    if (k->mv_size != REGISTRY_KEY_LEN)
        return 0;
    return f->cb((uint16_t)key_slot(k), v, f->payload);
}

int zlmdb_registry_foreach(const zlmdb_engine *eng, MDB_txn *txn, MDB_dbi dbi,
                           zlmdb_registry_cb cb, void *payload)
{
    struct foreach f;

    if (txn == NULL || cb == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "registry: txn and callback are required");
    f.cb = cb;
    f.payload = payload;
    return walk_slot0(engine_or_default(eng), txn, dbi, foreach_key, &f);
}

/* ------------------------------------------------------------- catalog */

static MDB_val catalog_key(void)
{
    MDB_val k;
    k.mv_data = (void *)ZLMDB_CATALOG_KEY;
    k.mv_size = ZLMDB_CATALOG_KEY_LEN;
    return k;
}

int zlmdb_catalog_read(const zlmdb_engine *eng, MDB_txn *txn, MDB_dbi dbi, MDB_val *out)
{
    MDB_val k = catalog_key();
    int rc;

    if (txn == NULL || out == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "catalog: txn and out are required");
    rc = engine_or_default(eng)->get(txn, dbi, &k, out);
    if (rc == MDB_NOTFOUND)
        return zlmdb__error_set(ZLMDB_NOTFOUND, "the database has no catalog");
    return rc ? lmdb_error(rc, "mdb_get") : ZLMDB_OK;
}

/* One catalog entry: its slot and its value's bytes in the record. */
struct span {
    uint16_t slot;
    size_t start, end;
};

/* Call `fn` on each entry of the catalog `cat`, in stored order; stops on
 * a non-zero return, which is passed on.  ZLMDB_DECODE when the record is
 * not a map of uint keys up to 65535. */
static int catalog_walk(const MDB_val *cat, int (*fn)(const struct span *, void *), void *arg)
{
    zlmdb_cbor_reader r;
    zlmdb_cbor_item it;
    int rc;

    if ((rc = zlmdb_cbor_reader_init(&r, cat->mv_data, cat->mv_size, 0)))
        return rc;
    if ((rc = zlmdb_cbor_reader_next(&r, &it)))
        goto out;
    if (it.kind != ZLMDB_CBOR_MAP) {
        rc = zlmdb__error_set(ZLMDB_DECODE, "catalog: the record is not a CBOR map");
        goto out;
    }
    for (;;) {
        struct span s;
        if ((rc = zlmdb_cbor_reader_next(&r, &it)))
            goto out;
        if (it.kind == ZLMDB_CBOR_END)
            break;
        if (it.kind != ZLMDB_CBOR_UINT || it.u > 0xFFFF) {
            rc = zlmdb__error_set(ZLMDB_DECODE, "catalog: key at offset %zu is not a slot "
                                  "number", it.offset);
            goto out;
        }
        s.slot = (uint16_t)it.u;
        if ((rc = zlmdb_cbor_reader_next(&r, &it)))
            goto out;
        s.start = it.offset;
        if ((rc = skip_rest(&r, &it)))
            goto out;
        s.end = r.pos;
        if ((rc = fn(&s, arg)))
            goto out;
    }
    rc = zlmdb_cbor_reader_finish(&r);
out:
    zlmdb_cbor_reader_dispose(&r);
    return rc;
}

struct find_arg {
    uint16_t slot;
    struct span found;
    int hit;
};

static int find_entry(const struct span *s, void *arg)
{
    struct find_arg *a = arg;
    if (s->slot == a->slot) {
        a->found = *s;
        a->hit = 1;
        return 1;       /* stop: a sentinel, never returned to the caller */
    }
    return 0;
}

int zlmdb_catalog_get(const zlmdb_engine *eng, MDB_txn *txn, MDB_dbi dbi, uint16_t slot,
                      MDB_val *entry_out)
{
    struct find_arg a;
    MDB_val cat;
    int rc;

    if (entry_out == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "catalog: entry_out is required");
    if ((rc = zlmdb_catalog_read(eng, txn, dbi, &cat)))
        return rc;
    memset(&a, 0, sizeof(a));
    a.slot = slot;
    rc = catalog_walk(&cat, find_entry, &a);
    if (!a.hit)
        return rc ? rc : zlmdb__error_set(ZLMDB_NOTFOUND, "catalog: no entry for slot %u",
                                          (unsigned)slot);
    entry_out->mv_data = (unsigned char *)cat.mv_data + a.found.start;
    entry_out->mv_size = a.found.end - a.found.start;
    return ZLMDB_OK;
}

/* Rebuilding the catalog: every other entry is copied as it is, in slot
 * order, with the new one in its place. */
struct rebuild_arg {
    const unsigned char *base;
    uint16_t slot;
    const void *entry;
    size_t len;
    int placed;
    uint64_t count;
    zlmdb_buf body;
};

static int put_new(struct rebuild_arg *a)
{
    int rc;
    a->placed = 1;
    if (a->entry == NULL)
        return ZLMDB_OK;
    if ((rc = zlmdb_cbor_encode_uint(&a->body, a->slot)) ||
        (rc = zlmdb_buf_append(&a->body, a->entry, a->len)))
        return rc;
    a->count++;
    return ZLMDB_OK;
}

static int copy_entry(const struct span *s, void *arg)
{
    struct rebuild_arg *a = arg;
    int rc;

    if (!a->placed && s->slot >= a->slot && (rc = put_new(a)))
        return rc;
    if (s->slot == a->slot)
        return ZLMDB_OK;
    if ((rc = zlmdb_cbor_encode_uint(&a->body, s->slot)) ||
        (rc = zlmdb_buf_append(&a->body, a->base + s->start, s->end - s->start)))
        return rc;
    a->count++;
    return ZLMDB_OK;
}

int zlmdb_catalog_put(const zlmdb_engine *eng, MDB_txn *txn, MDB_dbi dbi, uint16_t slot,
                      const void *entry, size_t len)
{
    struct rebuild_arg a;
    zlmdb_buf rec = ZLMDB_BUF_INIT;
    MDB_val cat, k = catalog_key(), v;
    int rc;

    if (txn == NULL || slot == 0)
        return zlmdb__error_set(ZLMDB_EINVAL, "catalog: a transaction and a slot of "
                                "1 .. 65535 are required");
    if (entry && zlmdb_cbor_validate(entry, len, 0))
        return zlmdb__error_set(ZLMDB_EINVAL, "catalog: the entry for slot %u is not one "
                                "well-formed CBOR item", (unsigned)slot);
    eng = engine_or_default(eng);
    memset(&a, 0, sizeof(a));
    a.slot = slot;
    a.entry = entry;
    a.len = len;
    rc = zlmdb_catalog_read(eng, txn, dbi, &cat);
    if (rc == ZLMDB_NOTFOUND) {
        zlmdb_error_clear();
        cat.mv_size = 0;
        rc = ZLMDB_OK;
    } else if (rc == ZLMDB_OK) {
        a.base = cat.mv_data;
        rc = catalog_walk(&cat, copy_entry, &a);
    }
    if (rc == ZLMDB_OK && !a.placed)
        rc = put_new(&a);
    if (rc == ZLMDB_OK)
        rc = zlmdb_cbor_encode_map(&rec, a.count);
    if (rc == ZLMDB_OK)
        rc = zlmdb_buf_append(&rec, a.body.ptr, a.body.size);
    if (rc == ZLMDB_OK) {
        /* `cat` points into the map: it is not used after this write. */
        v.mv_data = rec.ptr;
        v.mv_size = rec.size;
        if ((rc = eng->put(txn, dbi, &k, &v, 0)))
            rc = lmdb_error(rc, "mdb_put");
    }
    zlmdb_buf_dispose(&a.body);
    zlmdb_buf_dispose(&rec);
    return rc;
}

/* --------------------------------------------------------------- slots */

int zlmdb_slot_count(const zlmdb_engine *eng, MDB_txn *txn, MDB_dbi dbi, uint16_t slot,
                     size_t *count_out)
{
    unsigned char prefix[2];

    if (txn == NULL || count_out == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "slot_count: txn and count_out are required");
    prefix[0] = (unsigned char)(slot >> 8);
    prefix[1] = (unsigned char)(slot & 0xff);
    return zlmdb__prefix_count(engine_or_default(eng), txn, dbi, prefix, 2, count_out);
}

int zlmdb_slot_clear(const zlmdb_engine *eng, MDB_txn *txn, MDB_dbi dbi, uint16_t slot,
                     size_t *deleted_out)
{
    if (txn == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "slot_clear: a transaction is required");
    return zlmdb__slot_clear(engine_or_default(eng), txn, dbi, slot, deleted_out);
}

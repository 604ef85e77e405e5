/* Index keys: the fields of a record's CBOR map, as an encoded key. */
#include <string.h>

#include "table_int.h"

/* What one field of the record held, as far as an index key cares. */
struct field_value {
    int found;        /* the field name occurred */
    int null;         /* CBOR null/undefined */
    int complex;      /* an array, map, float, or a tag other than 37 */
    int tag37;        /* tagged as a UUID */
    zlmdb_cbor_kind kind;
    uint64_t u;
    const unsigned char *data;
    size_t len;
};

static int starts_container(const zlmdb_cbor_item *it)
{
    return it->kind == ZLMDB_CBOR_ARRAY || it->kind == ZLMDB_CBOR_MAP ||
           ((it->kind == ZLMDB_CBOR_BYTES || it->kind == ZLMDB_CBOR_TEXT) && it->indefinite);
}

/* Skip to the END matching a container start that was just read. */
static int skip_container(zlmdb_cbor_reader *r)
{
    zlmdb_cbor_item it;
    size_t nest = 1;
    int rc;

    while (nest) {
        if ((rc = zlmdb_cbor_reader_next(r, &it)))
            return rc;
        if (it.kind == ZLMDB_CBOR_END)
            nest--;
        else if (starts_container(&it))
            nest++;
    }
    return 0;
}

/* Read one complete data item, skipping over containers; keep what a key
 * component can use.  Tags before the item are noted (only 37 is known). */
static int read_item(zlmdb_cbor_reader *r, struct field_value *fv)
{
    zlmdb_cbor_item it;
    int rc, tags = 0;

    memset(fv, 0, sizeof(*fv));
    for (;;) {
        if ((rc = zlmdb_cbor_reader_next(r, &it)))
            return rc;
        if (it.kind != ZLMDB_CBOR_TAG)
            break;
        if (it.u == 37 && tags == 0)
            fv->tag37 = 1;
        else
            fv->complex = 1;
        tags++;
    }
    fv->kind = it.kind;
    switch (it.kind) {
    case ZLMDB_CBOR_UINT:
    case ZLMDB_CBOR_NEGINT:
        fv->u = it.u;
        return 0;
    case ZLMDB_CBOR_NULL:
    case ZLMDB_CBOR_UNDEFINED:
        fv->null = 1;
        return 0;
    case ZLMDB_CBOR_BYTES:
    case ZLMDB_CBOR_TEXT:
        if (!it.indefinite) {
            fv->data = it.data;
            fv->len = it.len;
            return 0;
        }
        break;   /* chunked: skipped below, unusable as a key */
    case ZLMDB_CBOR_ARRAY:
    case ZLMDB_CBOR_MAP:
        break;
    default:
        fv->complex = 1;
        return 0;
    }
    /* A container (or chunked string): skip to its END. */
    fv->complex = 1;
    return skip_container(r);
}

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" -> 16 bytes. */
static int parse_uuid_text(const unsigned char *s, size_t len, unsigned char *out)
{
    size_t i, n = 0;

    if (len != 36)
        return -1;
    for (i = 0; i < 36; i++) {
        int hi, lo;
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return -1;
            continue;
        }
        hi = zlmdb__hexval(s[i]);
        lo = i + 1 < 36 ? zlmdb__hexval(s[i + 1]) : -1;
        if (hi < 0 || lo < 0)
            return -1;
        out[n++] = (unsigned char)(hi << 4 | lo);
        i++;
    }
    return n == 16 ? 0 : -1;
}

static size_t fixed_len(zlmdb_key_type t)
{
    switch (t) {
    case ZLMDB_KEY_UUID:
    case ZLMDB_KEY_BYTES16:
        return 16;
    case ZLMDB_KEY_BYTES20:
        return 20;
    case ZLMDB_KEY_BYTES32:
        return 32;
    default:
        return 0;
    }
}

/* Turn a field into a key component of type `type`.  `uuid_buf` holds a
 * parsed text UUID. */
static int to_component(const struct zlmdb__index *ix, unsigned c, const struct field_value *fv,
                        zlmdb_key_value *kv, unsigned char *uuid_buf)
{
    zlmdb_key_type type = ix->key.comp[c];

    memset(kv, 0, sizeof(*kv));
    if (!fv->found || fv->null) {
        kv->is_null = 1;
        return 0;
    }
    if (fv->complex)
        goto bad;
    switch (type) {
    case ZLMDB_KEY_UINT8:
    case ZLMDB_KEY_UINT16:
    case ZLMDB_KEY_UINT16LE:
    case ZLMDB_KEY_UINT32:
    case ZLMDB_KEY_UINT64:
    case ZLMDB_KEY_OID:
        if (fv->kind != ZLMDB_CBOR_UINT || fv->tag37)
            goto bad;
        kv->u = fv->u;
        return 0;
    case ZLMDB_KEY_TIMESTAMP:
        if (fv->tag37)
            goto bad;
        if (fv->kind == ZLMDB_CBOR_UINT && fv->u <= (uint64_t)INT64_MAX) {
            kv->i = (int64_t)fv->u;
            return 0;
        }
        if (fv->kind == ZLMDB_CBOR_NEGINT && fv->u <= (uint64_t)INT64_MAX) {
            kv->i = -1 - (int64_t)fv->u;
            return 0;
        }
        goto bad;
    case ZLMDB_KEY_UUID:
        if (fv->kind == ZLMDB_CBOR_BYTES && fv->len == 16) {
            kv->data = fv->data;
            kv->len = 16;
            return 0;
        }
        if (fv->kind == ZLMDB_CBOR_TEXT && !fv->tag37 &&
            parse_uuid_text(fv->data, fv->len, uuid_buf) == 0) {
            kv->data = uuid_buf;
            kv->len = 16;
            return 0;
        }
        goto bad;
    case ZLMDB_KEY_BYTES16:
    case ZLMDB_KEY_BYTES20:
    case ZLMDB_KEY_BYTES32:
        if (fv->kind != ZLMDB_CBOR_BYTES || fv->tag37 || fv->len != fixed_len(type))
            goto bad;
        kv->data = fv->data;
        kv->len = fv->len;
        return 0;
    case ZLMDB_KEY_STRING:
        if (fv->kind != ZLMDB_CBOR_TEXT || fv->tag37)
            goto bad;
        kv->data = fv->data;
        kv->len = fv->len;
        return 0;
    }
bad:
    return zlmdb__error_set(ZLMDB_KEY_TYPE, "index '%s': field '%s' cannot be a key component",
                            ix->name, ix->fields[c] ? ix->fields[c] : "(primary key)");
}

int zlmdb__index_key(const struct zlmdb_table *t, const struct zlmdb__index *ix,
                     const MDB_val *pk, const void *value, size_t len, zlmdb_buf *out,
                     int *is_null)
{
    struct field_value fv[ZLMDB_KEY_MAX_COMPONENTS];
    zlmdb_key_value kv[ZLMDB_KEY_MAX_COMPONENTS];
    unsigned char uuids[ZLMDB_KEY_MAX_COMPONENTS][16];
    zlmdb_cbor_reader r;
    zlmdb_cbor_item it;
    unsigned c, need = 0;
    int rc;

    zlmdb_buf_clear(out);
    *is_null = 0;
    memset(fv, 0, sizeof(fv));
    for (c = 0; c < ix->key.ncomp; c++)
        if (ix->fields[c])
            need++;

    if (need) {
        /* One pass over the top-level map, collecting the named fields. */
        if ((rc = zlmdb_cbor_reader_init(&r, value, len, 0)))
            return rc;
        rc = zlmdb_cbor_reader_next(&r, &it);
        if (rc == 0 && it.kind != ZLMDB_CBOR_MAP)
            rc = zlmdb__error_set(ZLMDB_DECODE, "index '%s': the record is not a CBOR map",
                                  ix->name);
        while (rc == 0) {
            struct field_value keyv, val;
            unsigned match = ix->key.ncomp;

            if ((rc = zlmdb_cbor_reader_next(&r, &it)))
                break;
            if (it.kind == ZLMDB_CBOR_END)
                break;
            /* `it` is the start of a key: classify it, then read the value. */
            if (it.kind == ZLMDB_CBOR_TEXT && !it.indefinite) {
                for (c = 0; c < ix->key.ncomp; c++)
                    if (ix->fields[c] && !fv[c].found && strlen(ix->fields[c]) == it.len &&
                        memcmp(ix->fields[c], it.data, it.len) == 0)
                        break;
                match = c;
            } else if (it.kind == ZLMDB_CBOR_TAG) {
                /* A tagged (hence non-text) key: read the rest of it. */
                if ((rc = read_item(&r, &keyv)))
                    break;
            } else if (starts_container(&it)) {
                if ((rc = skip_container(&r)))
                    break;
            }
            if ((rc = read_item(&r, &val)))
                break;
            if (match < ix->key.ncomp) {
                fv[match] = val;
                fv[match].found = 1;
            }
        }
        if (rc == 0)
            rc = zlmdb_cbor_reader_finish(&r);
        zlmdb_cbor_reader_dispose(&r);
        if (rc)
            return rc;
    }

    for (c = 0; c < ix->key.ncomp; c++) {
        if (ix->fields[c] == NULL) {
            /* The record's own (single-component) primary key. */
            zlmdb_key_value pkv;
            if ((rc = zlmdb_key_decode(&t->key, pk->mv_data, pk->mv_size, &pkv)))
                return rc;
            kv[c] = pkv;
        } else if ((rc = to_component(ix, c, &fv[c], &kv[c], uuids[c]))) {
            return rc;
        }
        if (kv[c].is_null)
            *is_null = 1;
    }
    if (*is_null)
        return 0;
    if ((rc = zlmdb_key_encode_slot(ix->slot, out)))
        return rc;
    return zlmdb_key_encode(&ix->key, kv, 0, out);
}

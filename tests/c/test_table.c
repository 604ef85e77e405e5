/* Tables and indexes over LMDB: records, ranges, and index upkeep that is
 * all-or-nothing. */
#include <stdlib.h>

#include "harness.h"
#include "table_faults.h"
#include "table_int.h"

static MDB_env *env;
static MDB_dbi dbi;

static int open_env(size_t mapsize)
{
    MDB_txn *txn;
    int rc;

    if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_mapsize(env, mapsize)) ||
        (rc = mdb_env_open(env, ".", 0, 0644)) || (rc = mdb_txn_begin(env, NULL, 0, &txn)))
        return rc;
    if ((rc = mdb_dbi_open(txn, NULL, 0, &dbi)))
        return rc;
    return mdb_txn_commit(txn);
}

/* A user record {"email": e, "realm": r, "oid": o} (email NULL: null). */
static void user(zlmdb_buf *b, const char *email, uint64_t realm, uint64_t oid)
{
    zlmdb_buf_clear(b);
    zlmdb_cbor_encode_map(b, 4);
    zlmdb_cbor_encode_text(b, "name", 4);
    zlmdb_cbor_encode_array(b, 2);            /* a nested item the index skips */
    zlmdb_cbor_encode_text(b, "x", 1);
    zlmdb_cbor_encode_map(b, 0);
    zlmdb_cbor_encode_text(b, "email", 5);
    if (email)
        zlmdb_cbor_encode_text(b, email, strlen(email));
    else
        zlmdb_cbor_encode_null(b);
    zlmdb_cbor_encode_text(b, "realm", 5);
    zlmdb_cbor_encode_uint(b, realm);
    zlmdb_cbor_encode_text(b, "oid", 3);
    zlmdb_cbor_encode_uint(b, oid);
}

static zlmdb_key_value oidv(uint64_t v)
{
    zlmdb_key_value k;
    memset(&k, 0, sizeof(k));
    k.u = v;
    return k;
}

static zlmdb_key_value strv(const char *s)
{
    zlmdb_key_value k;
    memset(&k, 0, sizeof(k));
    k.data = (const unsigned char *)s;
    k.len = strlen(s);
    return k;
}

/* users: oid -> record, slot 1; by_email (unique, nullable) slot 2;
 * by_realm (realm, oid) non-unique, slot 3. */
static zlmdb_table *users_table(void)
{
    zlmdb_table_options to = ZLMDB_TABLE_OPTIONS_INIT;
    zlmdb_index_options by_email = ZLMDB_INDEX_OPTIONS_INIT;
    zlmdb_index_options by_realm = ZLMDB_INDEX_OPTIONS_INIT;
    zlmdb_table *t = NULL;

    to.slot = 1;
    to.key.ncomp = 1;
    to.key.comp[0] = ZLMDB_KEY_OID;
    if (zlmdb_table_new(&t, dbi, &to))
        return NULL;
    by_email.name = "by_email";
    by_email.slot = 2;
    by_email.key.ncomp = 1;
    by_email.key.comp[0] = ZLMDB_KEY_STRING;
    by_email.fields[0] = "email";
    by_email.unique = 1;
    by_email.nullable = 1;
    by_realm.name = "by_realm";
    by_realm.slot = 3;
    by_realm.key.ncomp = 2;
    by_realm.key.comp[0] = ZLMDB_KEY_OID;
    by_realm.key.comp[1] = ZLMDB_KEY_OID;
    by_realm.fields[0] = "realm";
    by_realm.fields[1] = NULL;                 /* the record's own oid */
    if (zlmdb_table_add_index(t, &by_email) || zlmdb_table_add_index(t, &by_realm)) {
        zlmdb_table_free(t);
        return NULL;
    }
    return t;
}

static size_t slot_entries(MDB_txn *txn, uint16_t slot)
{
    MDB_cursor *c;
    MDB_val k, v;
    unsigned char p[2] = {(unsigned char)(slot >> 8), (unsigned char)slot};
    size_t n = 0;
    int rc;

    mdb_cursor_open(txn, dbi, &c);
    k.mv_data = p;
    k.mv_size = 2;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
         rc == 0 && memcmp(k.mv_data, p, 2) == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
        n++;
    mdb_cursor_close(c);
    return n;
}

void test_table__put_get_delete_round_trip(void)
{
    zlmdb_table_options to = ZLMDB_TABLE_OPTIONS_INIT;
    zlmdb_table *t;
    MDB_txn *txn;
    MDB_val v;
    zlmdb_key_value key[2];
    unsigned char uuid[16];

    CHECK_OK(open_env(1 << 20));
    to.slot = 7;
    to.key.ncomp = 2;
    to.key.comp[0] = ZLMDB_KEY_UUID;
    to.key.comp[1] = ZLMDB_KEY_STRING;
    CHECK_OK(zlmdb_table_new(&t, dbi, &to));
    memset(uuid, 0xab, 16);
    memset(key, 0, sizeof(key));
    key[0].data = uuid;
    key[0].len = 16;
    key[1] = strv("alice");
    CHECK_OK(mdb_txn_begin(env, NULL, 0, &txn));
    CHECK_OK(zlmdb_table_put(t, txn, key, "v1", 2, 0));
    CHECK_RC(zlmdb_table_put(t, txn, key, "v2", 2, ZLMDB_PUT_NOOVERWRITE), MDB_KEYEXIST);
    CHECK_OK(zlmdb_table_get(t, txn, key, &v));
    CHECK(v.mv_size == 2 && memcmp(v.mv_data, "v1", 2) == 0);
    CHECK_OK(zlmdb_table_put(t, txn, key, "v3", 2, 0));
    CHECK_OK(zlmdb_table_get(t, txn, key, &v));
    CHECK(memcmp(v.mv_data, "v3", 2) == 0);
    CHECK(slot_entries(txn, 7) == 1);
    CHECK_OK(zlmdb_table_delete(t, txn, key));
    CHECK_RC(zlmdb_table_get(t, txn, key, &v), ZLMDB_NOTFOUND);
    CHECK_RC(zlmdb_table_delete(t, txn, key), ZLMDB_NOTFOUND);
    key[1].len = 0;
    key[1].is_null = 1;   /* a null component is refused outside ranges */
    CHECK_RC(zlmdb_table_put(t, txn, key, "x", 1, 0), ZLMDB_KEY_TYPE);
    mdb_txn_abort(txn);
    zlmdb_table_free(t);
    mdb_env_close(env);
}

void test_table__bad_options_are_refused(void)
{
    zlmdb_table_options to = ZLMDB_TABLE_OPTIONS_INIT;
    zlmdb_index_options io = ZLMDB_INDEX_OPTIONS_INIT;
    zlmdb_table *t = NULL;

    CHECK_RC(zlmdb_table_new(&t, 1, &to), ZLMDB_EINVAL);   /* slot 0 */
    to.slot = 5;
    CHECK_RC(zlmdb_table_new(&t, 1, &to), ZLMDB_EINVAL);   /* no components */
    to.key.ncomp = 1;
    to.key.comp[0] = ZLMDB_KEY_UUID;
    to.version = 99;
    CHECK_RC(zlmdb_table_new(&t, 1, &to), ZLMDB_EINVAL);
    to.version = ZLMDB_TABLE_OPTIONS_VERSION;
    CHECK_OK(zlmdb_table_new(&t, 1, &to));
    io.name = "ix";
    io.slot = 5;                                          /* the table's own */
    io.key.ncomp = 1;
    io.key.comp[0] = ZLMDB_KEY_OID;
    io.fields[0] = "f";
    CHECK_RC(zlmdb_table_add_index(t, &io), ZLMDB_EINVAL);
    io.slot = 6;
    io.fields[0] = NULL;                                  /* pk is a UUID, not an OID */
    CHECK_RC(zlmdb_table_add_index(t, &io), ZLMDB_EINVAL);
    io.fields[0] = "f";
    CHECK_OK(zlmdb_table_add_index(t, &io));
    CHECK_RC(zlmdb_table_add_index(t, &io), ZLMDB_EINVAL); /* same name */
    io.name = "other";
    CHECK_RC(zlmdb_table_add_index(t, &io), ZLMDB_EINVAL); /* same slot */
    zlmdb_table_free(t);
    zlmdb_table_free(NULL);
}

void test_table__ranges_counts_and_truncate_stay_in_their_slot(void)
{
    zlmdb_table_options to = ZLMDB_TABLE_OPTIONS_INIT;
    zlmdb_table *t, *neighbour;
    zlmdb_table_iter *it;
    MDB_txn *txn;
    MDB_val k, v;
    zlmdb_key_value key[2], from[2], to_k[2];
    size_t n, deleted;
    uint64_t i, got[40];
    int rc;

    CHECK_OK(open_env(1 << 20));
    to.slot = 10;
    to.key.ncomp = 2;
    to.key.comp[0] = ZLMDB_KEY_UINT32;
    to.key.comp[1] = ZLMDB_KEY_OID;
    CHECK_OK(zlmdb_table_new(&t, dbi, &to));
    to.slot = 11;
    CHECK_OK(zlmdb_table_new(&neighbour, dbi, &to));
    CHECK_OK(mdb_txn_begin(env, NULL, 0, &txn));
    for (i = 0; i < 30; i++) {
        key[0] = oidv(i / 10);       /* groups 0, 1, 2 */
        key[1] = oidv(i);
        CHECK_OK(zlmdb_table_put(t, txn, key, "r", 1, 0));
        CHECK_OK(zlmdb_table_put(neighbour, txn, key, "n", 1, 0));
    }
    /* count(prefix) */
    key[0] = oidv(1);
    CHECK_OK(zlmdb_table_count(t, txn, key, 1, &n));
    CHECK(n == 10);
    CHECK_OK(zlmdb_table_count(t, txn, NULL, 0, &n));
    CHECK(n == 30);
    /* [ (1, None), (2, None) ): group 1, with nulls counting as zero */
    from[0] = oidv(1);
    from[1] = oidv(0);
    from[1].is_null = 1;
    to_k[0] = oidv(2);
    to_k[1] = oidv(0);
    to_k[1].is_null = 1;
    CHECK_OK(zlmdb_table_count_range(t, txn, from, to_k, &n));
    CHECK(n == 10);
    CHECK_OK(zlmdb_table_count_range(t, txn, NULL, to_k, &n));
    CHECK(n == 20);
    CHECK_OK(zlmdb_table_count_range(t, txn, from, NULL, &n));
    CHECK(n == 20);
    /* Forward and reverse walks see the same records in opposite orders. */
    CHECK_OK(zlmdb_table_iter_open(&it, t, txn, from, to_k, 0));
    n = 0;
    while ((rc = zlmdb_table_iter_next(it, &k, &v)) == ZLMDB_OK) {
        zlmdb_key_value dec[2];
        CHECK_OK(zlmdb_key_decode(&to.key, k.mv_data, k.mv_size, dec));
        got[n++] = dec[1].u;
    }
    CHECK_RC(rc, ZLMDB_NOTFOUND);
    zlmdb_table_iter_free(it);
    CHECK(n == 10 && got[0] == 10 && got[9] == 19);
    CHECK_OK(zlmdb_table_iter_open(&it, t, txn, from, to_k, 1));
    for (i = 0; (rc = zlmdb_table_iter_next(it, &k, &v)) == ZLMDB_OK; i++) {
        zlmdb_key_value dec[2];
        CHECK_OK(zlmdb_key_decode(&to.key, k.mv_data, k.mv_size, dec));
        CHECK(dec[1].u == 19 - i);
    }
    zlmdb_table_iter_free(it);
    CHECK(i == 10);
    /* Unbounded reverse walk of slot 10 starts at its last record, not at
     * the neighbour's first. */
    CHECK_OK(zlmdb_table_iter_open(&it, t, txn, NULL, NULL, 1));
    CHECK_OK(zlmdb_table_iter_next(it, &k, &v));
    CHECK(memcmp(v.mv_data, "r", 1) == 0);
    zlmdb_table_iter_free(it);
    /* truncate empties slot 10 only (upstream's bug emptied the rest). */
    CHECK_OK(zlmdb_table_truncate(t, txn, &deleted));
    CHECK(deleted == 30);
    CHECK(slot_entries(txn, 10) == 0 && slot_entries(txn, 11) == 30);
    CHECK_OK(zlmdb_table_count(t, txn, NULL, 0, &n));
    CHECK(n == 0);
    CHECK_OK(mdb_txn_commit(txn));
    zlmdb_table_free(t);
    zlmdb_table_free(neighbour);
    mdb_env_close(env);
}

void test_table__indexes_follow_puts_and_deletes(void)
{
    zlmdb_table *t;
    zlmdb_buf rec = ZLMDB_BUF_INIT;
    MDB_txn *txn;
    MDB_val pk;
    zlmdb_key_value key, ik, rk[2];
    zlmdb_key_desc oid_desc = {1, {ZLMDB_KEY_OID}};
    size_t n;

    CHECK_OK(open_env(1 << 20));
    CHECK((t = users_table()) != NULL);
    CHECK_OK(mdb_txn_begin(env, NULL, 0, &txn));
    key = oidv(1);
    user(&rec, "a@x", 100, 1);
    CHECK_OK(zlmdb_table_put(t, txn, &key, rec.ptr, rec.size, 0));
    key = oidv(2);
    user(&rec, "b@x", 100, 2);
    CHECK_OK(zlmdb_table_put(t, txn, &key, rec.ptr, rec.size, 0));
    key = oidv(3);
    user(&rec, NULL, 200, 3);                  /* nullable: no by_email entry */
    CHECK_OK(zlmdb_table_put(t, txn, &key, rec.ptr, rec.size, 0));
    CHECK(slot_entries(txn, 2) == 2 && slot_entries(txn, 3) == 3);

    ik = strv("b@x");
    CHECK_OK(zlmdb_table_index_get(t, txn, "by_email", &ik, &pk));
    {
        zlmdb_key_value dec;
        CHECK_OK(zlmdb_key_decode(&oid_desc, pk.mv_data, pk.mv_size, &dec));
        CHECK(dec.u == 2);
    }
    rk[0] = oidv(100);
    rk[1] = oidv(2);
    CHECK_OK(zlmdb_table_index_get(t, txn, "by_realm", rk, &pk));
    CHECK_RC(zlmdb_table_index_get(t, txn, "nope", rk, &pk), ZLMDB_NOTFOUND);

    /* Changing the email moves the entry; the old one is gone. */
    key = oidv(2);
    user(&rec, "b2@x", 100, 2);
    CHECK_OK(zlmdb_table_put(t, txn, &key, rec.ptr, rec.size, 0));
    CHECK_RC(zlmdb_table_index_get(t, txn, "by_email", &ik, &pk), ZLMDB_NOTFOUND);
    ik = strv("b2@x");
    CHECK_OK(zlmdb_table_index_get(t, txn, "by_email", &ik, &pk));
    CHECK(slot_entries(txn, 2) == 2);

    /* Deleting removes the record's entries. */
    CHECK_OK(zlmdb_table_delete(t, txn, &key));
    CHECK_RC(zlmdb_table_index_get(t, txn, "by_email", &ik, &pk), ZLMDB_NOTFOUND);
    CHECK(slot_entries(txn, 2) == 1 && slot_entries(txn, 3) == 2);

    /* rebuild_index restores what was lost. */
    CHECK_OK(zlmdb__slot_clear(zlmdb__engine_default(), txn, dbi, 3, NULL));
    CHECK(slot_entries(txn, 3) == 0);
    CHECK_OK(zlmdb_table_rebuild_index(t, txn, "by_realm", &n, NULL));
    CHECK(slot_entries(txn, 3) == 2);
    mdb_txn_abort(txn);
    zlmdb_buf_dispose(&rec);
    zlmdb_table_free(t);
    mdb_env_close(env);
}

void test_table__refused_put_changes_nothing(void)
{
    zlmdb_table *t;
    zlmdb_buf rec = ZLMDB_BUF_INIT, before = ZLMDB_BUF_INIT;
    zlmdb_index_options strict = ZLMDB_INDEX_OPTIONS_INIT;
    MDB_txn *txn;
    MDB_val v;
    zlmdb_key_value key;
    size_t n;

    CHECK_OK(open_env(1 << 20));
    CHECK((t = users_table()) != NULL);
    CHECK_OK(mdb_txn_begin(env, NULL, 0, &txn));
    key = oidv(1);
    user(&rec, "a@x", 1, 1);
    CHECK_OK(zlmdb_table_put(t, txn, &key, rec.ptr, rec.size, 0));
    key = oidv(2);
    user(&rec, "b@x", 1, 2);
    CHECK_OK(zlmdb_table_put(t, txn, &key, rec.ptr, rec.size, 0));
    CHECK_OK(zlmdb_table_get(t, txn, &key, &v));
    CHECK_OK(zlmdb_buf_append(&before, v.mv_data, v.mv_size));

    /* Record 2 taking record 1's email: refused, record 2 unchanged. */
    user(&rec, "a@x", 9, 2);
    CHECK_RC(zlmdb_table_put(t, txn, &key, rec.ptr, rec.size, 0), ZLMDB_UNIQUE);
    CHECK(strstr(zlmdb_error_last(), "by_email") != NULL);
    CHECK_OK(zlmdb_table_get(t, txn, &key, &v));
    CHECK(v.mv_size == before.size && memcmp(v.mv_data, before.ptr, v.mv_size) == 0);
    CHECK(slot_entries(txn, 2) == 2 && slot_entries(txn, 3) == 2);
    /* A new record with a taken email: not written at all. */
    key = oidv(3);
    CHECK_RC(zlmdb_table_put(t, txn, &key, rec.ptr, rec.size, 0), ZLMDB_UNIQUE);
    CHECK_RC(zlmdb_table_get(t, txn, &key, &v), ZLMDB_NOTFOUND);
    /* Not CBOR: refused before any write. */
    CHECK_RC(zlmdb_table_put(t, txn, &key, "\xff\x00", 2, 0), ZLMDB_DECODE);
    CHECK_RC(zlmdb_table_get(t, txn, &key, &v), ZLMDB_NOTFOUND);
    /* A non-nullable index refuses a null field. */
    strict.name = "email_required";
    strict.slot = 4;
    strict.key.ncomp = 1;
    strict.key.comp[0] = ZLMDB_KEY_STRING;
    strict.fields[0] = "email";
    CHECK_OK(zlmdb_table_add_index(t, &strict));
    user(&rec, NULL, 1, 3);
    CHECK_RC(zlmdb_table_put(t, txn, &key, rec.ptr, rec.size, 0), ZLMDB_NULL_KEY);
    CHECK_RC(zlmdb_table_get(t, txn, &key, &v), ZLMDB_NOTFOUND);
    /* A field of the wrong type for its key component. */
    zlmdb_buf_clear(&rec);
    zlmdb_cbor_encode_map(&rec, 1);
    zlmdb_cbor_encode_text(&rec, "email", 5);
    zlmdb_cbor_encode_uint(&rec, 5);
    CHECK_RC(zlmdb_table_put(t, txn, &key, rec.ptr, rec.size, 0), ZLMDB_KEY_TYPE);
    CHECK_OK(zlmdb_table_count(t, txn, NULL, 0, &n));
    CHECK(n == 2);
    mdb_txn_abort(txn);
    zlmdb_buf_dispose(&rec);
    zlmdb_buf_dispose(&before);
    zlmdb_table_free(t);
    mdb_env_close(env);
}

void test_table__uuid_index_accepts_tag_bytes_and_text(void)
{
    zlmdb_table_options to = ZLMDB_TABLE_OPTIONS_INIT;
    zlmdb_index_options io = ZLMDB_INDEX_OPTIONS_INIT;
    static const unsigned char u[16] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
                                        0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
    zlmdb_table *t;
    zlmdb_buf rec = ZLMDB_BUF_INIT;
    MDB_txn *txn;
    MDB_val pk;
    zlmdb_key_value key, ik;

    CHECK_OK(open_env(1 << 20));
    to.slot = 1;
    to.key.ncomp = 1;
    to.key.comp[0] = ZLMDB_KEY_OID;
    CHECK_OK(zlmdb_table_new(&t, dbi, &to));
    io.name = "by_owner";
    io.slot = 2;
    io.key.ncomp = 1;
    io.key.comp[0] = ZLMDB_KEY_UUID;
    io.fields[0] = "owner";
    CHECK_OK(zlmdb_table_add_index(t, &io));
    CHECK_OK(mdb_txn_begin(env, NULL, 0, &txn));
    memset(&ik, 0, sizeof(ik));
    ik.data = u;
    ik.len = 16;

    zlmdb_cbor_encode_map(&rec, 1);            /* tag 37 over bytes (cbor2's UUID) */
    zlmdb_cbor_encode_text(&rec, "owner", 5);
    zlmdb_cbor_encode_tag(&rec, 37);
    zlmdb_cbor_encode_bytes(&rec, u, 16);
    key = oidv(1);
    CHECK_OK(zlmdb_table_put(t, txn, &key, rec.ptr, rec.size, 0));
    CHECK_OK(zlmdb_table_index_get(t, txn, "by_owner", &ik, &pk));
    CHECK_OK(zlmdb_table_delete(t, txn, &key));

    zlmdb_buf_clear(&rec);                    /* str(uuid), as marshal() often does */
    zlmdb_cbor_encode_map(&rec, 1);
    zlmdb_cbor_encode_text(&rec, "owner", 5);
    zlmdb_cbor_encode_text(&rec, "12345678-9abc-def0-0123-456789abcdef", 36);
    CHECK_OK(zlmdb_table_put(t, txn, &key, rec.ptr, rec.size, 0));
    CHECK_OK(zlmdb_table_index_get(t, txn, "by_owner", &ik, &pk));

    zlmdb_buf_clear(&rec);                    /* not a UUID */
    zlmdb_cbor_encode_map(&rec, 1);
    zlmdb_cbor_encode_text(&rec, "owner", 5);
    zlmdb_cbor_encode_text(&rec, "12345678-9abc-def0-0123-456789abcdeg", 36);
    key = oidv(2);
    CHECK_RC(zlmdb_table_put(t, txn, &key, rec.ptr, rec.size, 0), ZLMDB_KEY_TYPE);
    mdb_txn_abort(txn);
    zlmdb_buf_dispose(&rec);
    zlmdb_table_free(t);
    mdb_env_close(env);
}

void test_table__map_full_mid_put_never_commits_half_a_record(void)
{
    zlmdb_table *t;
    zlmdb_buf rec = ZLMDB_BUF_INIT;
    MDB_txn *txn;
    zlmdb_key_value key;
    char email[64];
    size_t n = 0;
    uint64_t i;
    int rc = 0;

    CHECK_OK(open_env(96 * 1024));
    CHECK((t = users_table()) != NULL);
    CHECK_OK(mdb_txn_begin(env, NULL, 0, &txn));
    for (i = 0; i < 100000 && rc == 0; i++) {
        snprintf(email, sizeof(email), "user-%06llu@example.org", (unsigned long long)i);
        user(&rec, email, i % 7, i);
        key = oidv(i);
        rc = zlmdb_table_put(t, txn, &key, rec.ptr, rec.size, 0);
    }
    CHECK_RC(rc, MDB_MAP_FULL);
    /* LMDB marked the transaction failed: it cannot be committed. */
    CHECK(mdb_txn_commit(txn) != 0);
    CHECK_OK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn));
    CHECK_OK(zlmdb_table_count(t, txn, NULL, 0, &n));
    CHECK(n == 0 && slot_entries(txn, 2) == 0 && slot_entries(txn, 3) == 0);
    mdb_txn_abort(txn);
    zlmdb_buf_dispose(&rec);
    zlmdb_table_free(t);
    mdb_env_close(env);
}

void test_table__allocation_failures_are_clean(void)
{
    zlmdb_allocator fa = {ZLMDB_ALLOCATOR_VERSION, fi_malloc, fi_realloc, fi_free, NULL};
    zlmdb_buf rec = ZLMDB_BUF_INIT;
    zlmdb_key_value key;
    int k, rc = -1;

    CHECK_OK(open_env(1 << 20));
    user(&rec, "a@x", 1, 1);
    key = oidv(1);
    /* Fail the k-th allocation for k = 0, 1, ...: every step either succeeds
     * or reports ENOMEM, and a failed attempt leaves the database empty. */
    for (k = 0; k < 40 && rc != 0; k++) {
        zlmdb_table *t;
        MDB_txn *txn;
        size_t n = 99;

        CHECK_OK(zlmdb_set_allocator(&fa));
        fail_after = k;
        t = users_table();
        rc = ZLMDB_ENOMEM;
        if (t) {
            CHECK_OK(mdb_txn_begin(env, NULL, 0, &txn));
            rc = zlmdb_table_put(t, txn, &key, rec.ptr, rec.size, 0);
            if (rc == 0)
                CHECK_OK(mdb_txn_commit(txn));
            else
                mdb_txn_abort(txn);
        }
        fail_after = 1 << 30;
        CHECK(rc == 0 || rc == ZLMDB_ENOMEM);
        CHECK_OK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn));
        if (t) {
            CHECK_OK(zlmdb_table_count(t, txn, NULL, 0, &n));
            CHECK(n == (rc == 0 ? 1u : 0u));
            CHECK(slot_entries(txn, 2) == n && slot_entries(txn, 3) == n);
        }
        mdb_txn_abort(txn);
        zlmdb_table_free(t);
        CHECK_OK(zlmdb_set_allocator(NULL));
    }
    CHECK(rc == 0 && k > 1);
    zlmdb_buf_dispose(&rec);
    mdb_env_close(env);
}

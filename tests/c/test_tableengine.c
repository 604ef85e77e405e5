/* The table engine: writes by encoded key, index callbacks, the checks
 * made before the first write, and what a failure part way leaves behind.
 * Every case runs on each LMDB engine of the build (0.9 and 1.0). */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "harness.h"
#include "table_faults.h"

/* ---------------------------------------------------------- fixtures */

struct fx {
    const zlmdb_engine *eng;
    MDB_env *env;
    MDB_dbi dbi;
};

static int fx_open(struct fx *f, int lib, size_t mapsize)
{
    char dir[32];
    MDB_txn *txn;
    int rc;

    memset(f, 0, sizeof(*f));
    if ((rc = zlmdb_engine_get(lib, &f->eng)))
        return rc;
    snprintf(dir, sizeof(dir), "engine-%d", lib);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return errno;
    if ((rc = f->eng->env_create(&f->env)) || (rc = f->eng->env_set_mapsize(f->env, mapsize)) ||
        (rc = f->eng->env_open(f->env, dir, 0, 0644)) ||
        (rc = f->eng->txn_begin(f->env, NULL, 0, &txn)))
        return rc;
    if ((rc = f->eng->dbi_open(txn, NULL, 0, &f->dbi))) {
        f->eng->txn_abort(txn);
        return rc;
    }
    return f->eng->txn_commit(txn);
}

static void fx_close(struct fx *f)
{
    if (f->env)
        f->eng->env_close(f->env);
    f->env = NULL;
}

static MDB_txn *fx_txn(struct fx *f, unsigned flags)
{
    MDB_txn *txn = NULL;
    if (f->eng->txn_begin(f->env, NULL, flags, &txn))
        return NULL;
    return txn;
}

static size_t slot_entries(struct fx *f, MDB_txn *txn, uint16_t slot)
{
    MDB_cursor *c;
    MDB_val k, v;
    unsigned char p[2] = {(unsigned char)(slot >> 8), (unsigned char)slot};
    size_t n = 0;
    int rc;

    if (f->eng->cursor_open(txn, f->dbi, &c))
        return (size_t)-1;
    k.mv_data = p;
    k.mv_size = 2;
    for (rc = f->eng->cursor_get(c, &k, &v, MDB_SET_RANGE);
         rc == 0 && k.mv_size >= 2 && memcmp(k.mv_data, p, 2) == 0;
         rc = f->eng->cursor_get(c, &k, &v, MDB_NEXT))
        n++;
    f->eng->cursor_close(c);
    return n;
}

/* The stored value of slot + key (text), or NULL. */
static const char *entry(struct fx *f, MDB_txn *txn, uint16_t slot, const char *key,
                         size_t *len)
{
    unsigned char buf[600];
    size_t n = strlen(key);
    MDB_val k, v;

    buf[0] = (unsigned char)(slot >> 8);
    buf[1] = (unsigned char)slot;
    memcpy(buf + 2, key, n);
    k.mv_data = buf;
    k.mv_size = n + 2;
    if (f->eng->get(txn, f->dbi, &k, &v))
        return NULL;
    if (len)
        *len = v.mv_size;
    return v.mv_data;
}

static int has_entry(struct fx *f, MDB_txn *txn, uint16_t slot, const char *key,
                     const char *value)
{
    size_t len;
    const char *v = entry(f, txn, slot, key, &len);
    return v && len == strlen(value) && memcmp(v, value, len) == 0;
}

static MDB_val text(const char *s)
{
    MDB_val v;
    v.mv_data = (void *)s;
    v.mv_size = strlen(s);
    return v;
}

/* Write or delete slot + key directly, behind the table's back. */
static int raw_put(struct fx *f, MDB_txn *txn, uint16_t slot, const char *key,
                   const char *value)
{
    unsigned char buf[64];
    size_t n = strlen(key);
    MDB_val k, v;

    v.mv_data = (void *)value;
    v.mv_size = value ? strlen(value) : 0;
    buf[0] = (unsigned char)(slot >> 8);
    buf[1] = (unsigned char)slot;
    memcpy(buf + 2, key, n);
    k.mv_data = buf;
    k.mv_size = n + 2;
    return value ? f->eng->put(txn, f->dbi, &k, &v, 0) : f->eng->del(txn, f->dbi, &k, NULL);
}

static int raw_del(struct fx *f, MDB_txn *txn, uint16_t slot, const char *key)
{
    return raw_put(f, txn, slot, key, NULL);
}

/* ------------------------------------------------ a callback-indexed table
 *
 * Records are text "email,realm[,padding]" under a text primary key.
 * by_email (slot 2, unique, nullable) keys on the email, no entry when it
 * is empty; by_realm (slot 3, not unique, nullable) keys on "realm/pk", its
 * entry's value is "v:" + pk (value_fn).  A record starting with '!' makes the key callback
 * fail, as a user's key function raising would; one starting with '?'
 * makes the value callback fail. */

struct cb_stats {
    int calls;          /* key callback calls */
    int with_user;      /* ... of which with rec->user set */
    const void *last_user;
};

static int email_key(void *ctx, const zlmdb_record *rec, zlmdb_buf *out, int *is_null)
{
    struct cb_stats *st = ctx;
    const char *p = rec->value.mv_data, *comma;
    size_t n = rec->value.mv_size;

    st->calls++;
    if (rec->user) {
        st->with_user++;
        st->last_user = rec->user;
    }
    if (n && p[0] == '!')
        return ZLMDB_CALLBACK;
    comma = memchr(p, ',', n);
    n = comma ? (size_t)(comma - p) : n;
    if (n == 0) {
        *is_null = 1;
        return ZLMDB_OK;
    }
    return zlmdb_buf_append(out, p, n);
}

/* The record's realm (its second field): 0 and the span, or 1 when empty. */
static int realm_of(const zlmdb_record *rec, const char **start, size_t *len)
{
    const char *p = rec->value.mv_data, *comma, *end;
    size_t n = rec->value.mv_size;

    comma = memchr(p, ',', n);
    end = comma ? memchr(comma + 1, ',', (size_t)(p + n - comma - 1)) : NULL;
    end = end ? end : p + n;
    if (comma == NULL || comma + 1 == end)
        return 1;
    *start = comma + 1;
    *len = (size_t)(end - comma - 1);
    return 0;
}

static int realm_key(void *ctx, const zlmdb_record *rec, zlmdb_buf *out, int *is_null)
{
    const char *realm;
    size_t n;
    int rc;

    (void)ctx;
    if (realm_of(rec, &realm, &n)) {
        *is_null = 1;
        return ZLMDB_OK;
    }
    if ((rc = zlmdb_buf_append(out, realm, n)) || (rc = zlmdb_buf_append(out, "/", 1)))
        return rc;
    return zlmdb_buf_append(out, rec->key.mv_data, rec->key.mv_size);
}

static int realm_value(void *ctx, const zlmdb_record *rec, zlmdb_buf *out)
{
    int rc;
    (void)ctx;
    if (rec->value.mv_size && ((const char *)rec->value.mv_data)[0] == '?')
        return ZLMDB_CALLBACK;
    if ((rc = zlmdb_buf_append(out, "v:", 2)))
        return rc;
    return zlmdb_buf_append(out, rec->key.mv_data, rec->key.mv_size);
}

static struct cb_stats stats;

static zlmdb_table *cb_table(struct fx *f, const zlmdb_engine *eng, int with_realm)
{
    zlmdb_table_options to = ZLMDB_TABLE_OPTIONS_INIT;
    zlmdb_index_options by_email = ZLMDB_INDEX_OPTIONS_INIT;
    zlmdb_index_options by_realm = ZLMDB_INDEX_OPTIONS_INIT;
    zlmdb_table *t = NULL;

    to.slot = 1;
    to.key.ncomp = 1;
    to.key.comp[0] = ZLMDB_KEY_STRING;
    to.engine = eng ? eng : f->eng;
    if (zlmdb_table_new(&t, f->dbi, &to))
        return NULL;
    by_email.name = "by_email";
    by_email.slot = 2;
    by_email.unique = 1;
    by_email.nullable = 1;
    by_email.key_fn = email_key;
    by_email.ctx = &stats;
    by_realm.name = "by_realm";
    by_realm.slot = 3;
    by_realm.nullable = 1;
    by_realm.key_fn = realm_key;
    by_realm.value_fn = realm_value;
    if (zlmdb_table_add_index(t, &by_email) ||
        (with_realm && zlmdb_table_add_index(t, &by_realm))) {
        zlmdb_table_free(t);
        return NULL;
    }
    return t;
}

static int put(zlmdb_table *t, MDB_txn *txn, const char *pk, const char *rec,
               zlmdb_table_writes *w)
{
    MDB_val k = text(pk);
    return zlmdb_table_put_encoded(t, txn, &k, rec, strlen(rec), &stats, 0, w);
}

static int del(zlmdb_table *t, MDB_txn *txn, const char *pk, zlmdb_table_writes *w)
{
    MDB_val k = text(pk);
    return zlmdb_table_delete_encoded(t, txn, &k, w);
}

/* Every index entry belongs to a record and every record has its entries:
 * the records of slot 1 against slots 2 and 3 of cb_table(). */
static int consistent(struct fx *f, MDB_txn *txn, zlmdb_table *t)
{
    zlmdb_table_iter *it;
    zlmdb_record rec;
    size_t n2 = 0, n3 = 0;
    int rc;

    if (zlmdb_table_iter_open(&it, t, txn, NULL, NULL, 0))
        return 0;
    rec.user = NULL;
    while ((rc = zlmdb_table_iter_next(it, &rec.key, &rec.value)) == ZLMDB_OK) {
        zlmdb_buf k = ZLMDB_BUF_INIT, v = ZLMDB_BUF_INIT;
        char key[600];
        int is_null = 0, ok = 1;
        struct cb_stats saved = stats;

        if (email_key(&stats, &rec, &k, &is_null) == 0 && !is_null) {
            snprintf(key, sizeof(key), "%.*s", (int)k.size, (const char *)k.ptr);
            snprintf((char *)key + 300, 300, "%.*s", (int)rec.key.mv_size,
                     (const char *)rec.key.mv_data);
            ok = has_entry(f, txn, 2, key, key + 300);
            n2++;
        }
        zlmdb_buf_clear(&k);
        is_null = 0;
        if (ok && realm_key(NULL, &rec, &k, &is_null) == 0 && !is_null &&
            realm_value(NULL, &rec, &v) == 0) {
            snprintf(key, 300, "%.*s", (int)k.size, (const char *)k.ptr);
            snprintf(key + 300, 300, "%.*s", (int)v.size, (const char *)v.ptr);
            ok = has_entry(f, txn, 3, key, key + 300);
            n3++;
        }
        stats = saved;
        zlmdb_buf_dispose(&k);
        zlmdb_buf_dispose(&v);
        if (!ok) {
            zlmdb_table_iter_free(it);
            return 0;
        }
    }
    zlmdb_table_iter_free(it);
    return rc == ZLMDB_NOTFOUND && slot_entries(f, txn, 2) == n2 &&
           slot_entries(f, txn, 3) == n3;
}

/* An environment of engine `lib`, cb_table() over it, a write txn. */
static int fx_setup(struct fx *f, int lib, zlmdb_table **t, MDB_txn **txn)
{
    int rc;
    if ((rc = fx_open(f, lib, 1 << 20)))
        return rc;
    if ((*t = cb_table(f, NULL, 1)) == NULL)
        return ZLMDB_ERROR;
    if ((*txn = fx_txn(f, 0)) == NULL) {
        zlmdb_table_free(*t);
        return ZLMDB_ERROR;
    }
    return ZLMDB_OK;
}

#define EACH_ENGINE(lib) for ((lib) = 0; (lib) < ZLMDB_TEST_ENGINES; (lib)++)

/* ---------------------------------------------------- over-long keys */

/* A CBOR-indexed table with a text primary key: {"email": ...} -> by_email. */
static zlmdb_table *cbor_table(struct fx *f)
{
    zlmdb_table_options to = ZLMDB_TABLE_OPTIONS_INIT;
    zlmdb_index_options ix = ZLMDB_INDEX_OPTIONS_INIT;
    zlmdb_table *t = NULL;

    to.slot = 1;
    to.key.ncomp = 1;
    to.key.comp[0] = ZLMDB_KEY_STRING;
    to.engine = f->eng;
    if (zlmdb_table_new(&t, f->dbi, &to))
        return NULL;
    ix.name = "by_email";
    ix.slot = 2;
    ix.key.ncomp = 1;
    ix.key.comp[0] = ZLMDB_KEY_STRING;
    ix.fields[0] = "email";
    ix.unique = 1;
    if (zlmdb_table_add_index(t, &ix)) {
        zlmdb_table_free(t);
        return NULL;
    }
    return t;
}

static void email_record(zlmdb_buf *b, const char *email)
{
    zlmdb_buf_clear(b);
    zlmdb_cbor_encode_map(b, 1);
    zlmdb_cbor_encode_text(b, "email", 5);
    zlmdb_cbor_encode_text(b, email, strlen(email));
}

void test_tableengine__overlong_primary_key_writes_nothing(void)
{
    static char longkey[2100];
    zlmdb_buf rec = ZLMDB_BUF_INIT;
    zlmdb_table_writes w;
    zlmdb_key_value kv;
    zlmdb_table *t;
    struct fx f;
    MDB_txn *txn;
    MDB_val pk;
    size_t n = 9;
    int lib;

    memset(longkey, 'k', sizeof(longkey) - 1);
    EACH_ENGINE(lib) {
        CHECK_OK(fx_open(&f, lib, 1 << 20));
        CHECK((t = cbor_table(&f)) != NULL);
        /* Over the engine's own limit (511 in 0.9, larger in 1.0). */
        CHECK((size_t)f.eng->env_get_maxkeysize(f.env) < sizeof(longkey) - 10);
        email_record(&rec, "a@example.org");
        memset(&kv, 0, sizeof(kv));
        kv.data = (const unsigned char *)longkey;
        kv.len = strlen(longkey);
        CHECK((txn = fx_txn(&f, 0)) != NULL);
        CHECK_RC(zlmdb_table_put(t, txn, &kv, rec.ptr, rec.size, 0), MDB_BAD_VALSIZE);
        CHECK(strstr(zlmdb_error_last(), "shorten") != NULL);
        pk = text(longkey);
        CHECK_RC(zlmdb_table_put_encoded(t, txn, &pk, rec.ptr, rec.size, NULL, 0, &w),
                 MDB_BAD_VALSIZE);
        CHECK(w.puts == 0 && w.dels == 0 && w.midway == 0 && w.index == NULL);
        /* The transaction is healthy and commits: nothing of the put in it. */
        CHECK_OK(f.eng->txn_commit(txn));
        CHECK((txn = fx_txn(&f, MDB_RDONLY)) != NULL);
        CHECK(slot_entries(&f, txn, 1) == 0);
        CHECK(slot_entries(&f, txn, 2) == 0);
        CHECK_OK(zlmdb_table_count_encoded(t, txn, NULL, NULL, &n));
        CHECK(n == 0);
        f.eng->txn_abort(txn);
        zlmdb_table_free(t);
        fx_close(&f);
    }
    zlmdb_buf_dispose(&rec);
}

void test_tableengine__overlong_index_key_writes_nothing(void)
{
    static char longmail[2100];
    zlmdb_buf rec = ZLMDB_BUF_INIT;
    zlmdb_table_writes w;
    zlmdb_table *t, *ct;
    struct fx f;
    MDB_txn *txn;
    MDB_val pk;
    int lib;

    memset(longmail, 'm', sizeof(longmail) - 1);
    EACH_ENGINE(lib) {
        CHECK_OK(fx_open(&f, lib, 1 << 20));
        CHECK((t = cbor_table(&f)) != NULL);
        CHECK((ct = cb_table(&f, NULL, 1)) != NULL);
        CHECK((txn = fx_txn(&f, 0)) != NULL);
        /* A stored record whose entry an update would move. */
        email_record(&rec, "old@example.org");
        pk = text("r1");
        CHECK_OK(zlmdb_table_put_encoded(t, txn, &pk, rec.ptr, rec.size, NULL, 0, &w));
        CHECK(w.puts == 2);
        email_record(&rec, longmail);
        CHECK_RC(zlmdb_table_put_encoded(t, txn, &pk, rec.ptr, rec.size, NULL, 0, &w),
                 MDB_BAD_VALSIZE);
        CHECK(w.puts == 0 && w.dels == 0 && w.midway == 0);
        CHECK(strstr(zlmdb_error_last(), "by_email") != NULL);
        /* The same through a key callback. */
        CHECK(put(ct, txn, "c1", longmail, &w) == MDB_BAD_VALSIZE);
        CHECK(w.puts == 0 && w.midway == 0);
        CHECK_OK(f.eng->txn_commit(txn));
        CHECK((txn = fx_txn(&f, MDB_RDONLY)) != NULL);
        CHECK(slot_entries(&f, txn, 1) == 1);   /* r1, unchanged */
        CHECK(slot_entries(&f, txn, 2) == 1);   /* its old entry, nothing else */
        CHECK(has_entry(&f, txn, 2, "old@example.org", "r1"));
        CHECK(slot_entries(&f, txn, 3) == 0);
        f.eng->txn_abort(txn);
        zlmdb_table_free(t);
        zlmdb_table_free(ct);
        fx_close(&f);
    }
    zlmdb_buf_dispose(&rec);
}

/* --------------------------------------------------- callback indexes */

void test_tableengine__callback_indexes_follow_puts_updates_and_deletes(void)
{
    zlmdb_table_writes w;
    zlmdb_table *t;
    struct fx f;
    MDB_txn *txn;
    int lib;

    EACH_ENGINE(lib) {
        CHECK_OK(fx_setup(&f, lib, &t, &txn));
        memset(&stats, 0, sizeof(stats));

        /* Insert: the record and two entries; the callback saw `user`. */
        CHECK_OK(put(t, txn, "k1", "a@x,red", &w));
        CHECK(w.puts == 3 && w.dels == 0 && w.midway == 0 && w.index == NULL);
        CHECK(stats.calls == 1 && stats.with_user == 1 && stats.last_user == &stats);
        CHECK(has_entry(&f, txn, 2, "a@x", "k1"));
        CHECK(has_entry(&f, txn, 3, "red/k1", "v:k1"));

        /* Update moving both keys: old entries go, new ones come; the old
         * record is seen without `user`. */
        CHECK_OK(put(t, txn, "k1", "b@x,blue", &w));
        CHECK(w.puts == 3 && w.dels == 2);
        CHECK(stats.calls == 3 && stats.with_user == 2);
        CHECK(entry(&f, txn, 2, "a@x", NULL) == NULL);
        CHECK(entry(&f, txn, 3, "red/k1", NULL) == NULL);
        CHECK(has_entry(&f, txn, 2, "b@x", "k1"));
        CHECK(has_entry(&f, txn, 3, "blue/k1", "v:k1"));

        /* Update keeping the keys: entries rewritten in place. */
        CHECK_OK(put(t, txn, "k1", "b@x,blue", &w));
        CHECK(w.puts == 3 && w.dels == 0);

        /* Update to a null email: the entry goes, none comes. */
        CHECK_OK(put(t, txn, "k1", ",blue", &w));
        CHECK(w.puts == 2 && w.dels == 1);
        CHECK(slot_entries(&f, txn, 2) == 0 && slot_entries(&f, txn, 3) == 1);

        CHECK_OK(put(t, txn, "k2", "c@x,red", &w));
        CHECK(consistent(&f, txn, t));

        /* Delete: the record and its entries. */
        CHECK_OK(del(t, txn, "k1", &w));
        CHECK(w.puts == 0 && w.dels == 2);
        CHECK_OK(del(t, txn, "k2", &w));
        CHECK(w.dels == 3);
        CHECK_RC(del(t, txn, "k2", &w), ZLMDB_NOTFOUND);
        CHECK(w.dels == 0 && w.midway == 0);
        CHECK(slot_entries(&f, txn, 1) == 0 && slot_entries(&f, txn, 2) == 0 &&
              slot_entries(&f, txn, 3) == 0);
        CHECK_OK(f.eng->txn_commit(txn));
        zlmdb_table_free(t);
        fx_close(&f);
    }
}

void test_tableengine__callback_errors_write_nothing(void)
{
    zlmdb_table_writes w;
    zlmdb_table *t;
    struct fx f;
    MDB_txn *txn;
    int lib;

    EACH_ENGINE(lib) {
        CHECK_OK(fx_setup(&f, lib, &t, &txn));
        CHECK_OK(put(t, txn, "k1", "a@x,red", &w));
        CHECK_OK(f.eng->txn_commit(txn));

        CHECK((txn = fx_txn(&f, 0)) != NULL);
        /* The key callback fails on the new record. */
        CHECK_RC(put(t, txn, "k1", "!boom,red", &w), ZLMDB_CALLBACK);
        CHECK(w.puts == 0 && w.dels == 0 && w.midway == 0);
        CHECK_STR(w.index, "by_email");
        CHECK(strstr(zlmdb_error_last(), "by_email") != NULL);
        /* The value callback fails. */
        CHECK_RC(put(t, txn, "k1", "?x,blue", &w), ZLMDB_CALLBACK);
        CHECK_STR(w.index, "by_realm");
        CHECK(w.puts == 0 && w.midway == 0);
        /* Over a stored record that makes the callback fail, a delete
         * deletes nothing. */
        CHECK_OK(raw_put(&f, txn, 1, "k9", "!bad,red"));
        CHECK_RC(del(t, txn, "k9", &w), ZLMDB_CALLBACK);
        CHECK(w.dels == 0 && w.midway == 0);
        CHECK(entry(&f, txn, 1, "k9", NULL) != NULL);
        CHECK_OK(raw_del(&f, txn, 1, "k9"));
        /* The transaction stays usable and commits exactly what it had. */
        CHECK_OK(f.eng->txn_commit(txn));
        CHECK((txn = fx_txn(&f, MDB_RDONLY)) != NULL);
        CHECK(has_entry(&f, txn, 1, "k1", "a@x,red"));
        CHECK(has_entry(&f, txn, 2, "a@x", "k1"));
        CHECK(has_entry(&f, txn, 3, "red/k1", "v:k1"));
        CHECK(consistent(&f, txn, t));
        f.eng->txn_abort(txn);
        zlmdb_table_free(t);
        fx_close(&f);
    }
}

void test_tableengine__unique_and_nullable_indexes(void)
{
    zlmdb_index_options strict = ZLMDB_INDEX_OPTIONS_INIT;
    zlmdb_table_writes w;
    zlmdb_table *t;
    struct fx f;
    MDB_txn *txn;
    MDB_val pk;
    int lib;

    EACH_ENGINE(lib) {
        CHECK_OK(fx_setup(&f, lib, &t, &txn));
        CHECK_OK(put(t, txn, "k1", "a@x,red", &w));
        /* Another record with the same unique key: refused, nothing written. */
        CHECK_RC(put(t, txn, "k2", "a@x,blue", &w), ZLMDB_UNIQUE);
        CHECK_STR(w.index, "by_email");
        CHECK(w.puts == 0 && w.midway == 0);
        CHECK(entry(&f, txn, 1, "k2", NULL) == NULL);
        CHECK(entry(&f, txn, 3, "blue/k2", NULL) == NULL);
        /* The record itself may keep its key. */
        CHECK_OK(put(t, txn, "k1", "a@x,blue", &w));
        /* Nullable: no entry.  Two records may both have none. */
        CHECK_OK(put(t, txn, "k3", ",red", &w));
        CHECK_OK(put(t, txn, "k4", ",red", &w));
        CHECK(slot_entries(&f, txn, 2) == 1);
        /* NOOVERWRITE over an existing record. */
        pk = text("k1");
        CHECK_RC(zlmdb_table_put_encoded(t, txn, &pk, "z@x,red", 7, NULL,
                                         ZLMDB_PUT_NOOVERWRITE, &w), MDB_KEYEXIST);
        CHECK(w.puts == 0);
        CHECK_RC(zlmdb_table_put_encoded(t, txn, &pk, "z@x,red", 7, NULL, 0x80, &w),
                 ZLMDB_EINVAL);
        /* A non-nullable index refuses a null key, naming itself. */
        strict.name = "strict";
        strict.slot = 4;
        strict.key_fn = email_key;
        strict.ctx = &stats;
        CHECK_OK(zlmdb_table_add_index(t, &strict));
        CHECK_RC(put(t, txn, "k5", ",red", &w), ZLMDB_NULL_KEY);
        CHECK_STR(w.index, "strict");
        CHECK(w.puts == 0 && entry(&f, txn, 1, "k5", NULL) == NULL);
        CHECK(strstr(zlmdb_error_last(), "strict") != NULL);
        f.eng->txn_abort(txn);
        zlmdb_table_free(t);
        fx_close(&f);
    }
}

/* A unique index keyed on the realm alone (no entry when it is empty). */
static int realm_only_key(void *ctx, const zlmdb_record *rec, zlmdb_buf *out, int *is_null)
{
    const char *realm;
    size_t n;

    (void)ctx;
    if (realm_of(rec, &realm, &n)) {
        *is_null = 1;
        return ZLMDB_OK;
    }
    return zlmdb_buf_append(out, realm, n);
}

/* The first unique index's put is its own check (MDB_NOOVERWRITE, the
 * operation's first write), any other unique index is looked up before
 * it: whichever refuses, nothing of the operation is written. */
void test_tableengine__two_unique_indexes_refuse_before_writing(void)
{
    zlmdb_index_options by_realm = ZLMDB_INDEX_OPTIONS_INIT;
    zlmdb_table_writes w;
    zlmdb_table *t;
    struct fx f;
    MDB_txn *txn;
    int lib;

    EACH_ENGINE(lib) {
        CHECK_OK(fx_setup(&f, lib, &t, &txn));
        by_realm.name = "realm_unique";
        by_realm.slot = 4;
        by_realm.unique = 1;
        by_realm.nullable = 1;
        by_realm.key_fn = realm_only_key;
        CHECK_OK(zlmdb_table_add_index(t, &by_realm));
        CHECK_OK(put(t, txn, "k1", "a@x,red", &w));
        CHECK_OK(put(t, txn, "k2", "b@x,blue", &w));
        CHECK(w.puts == 4 && w.dels == 0);
        /* The email is free, the realm is k1's: the second index refuses. */
        CHECK_RC(put(t, txn, "k2", "c@x,red", &w), ZLMDB_UNIQUE);
        CHECK_STR(w.index, "realm_unique");
        CHECK(w.puts == 0 && w.dels == 0 && w.midway == 0);
        CHECK(entry(&f, txn, 2, "c@x", NULL) == NULL);
        CHECK(has_entry(&f, txn, 1, "k2", "b@x,blue") && has_entry(&f, txn, 2, "b@x", "k2"));
        /* The email is k1's: the first index's put refuses, as the first write. */
        CHECK_RC(put(t, txn, "k2", "a@x,green", &w), ZLMDB_UNIQUE);
        CHECK_STR(w.index, "by_email");
        CHECK(strstr(zlmdb_error_last(), "by_email") != NULL);
        CHECK(w.puts == 0 && w.dels == 0 && w.midway == 0);
        CHECK(entry(&f, txn, 4, "green", NULL) == NULL);
        CHECK(has_entry(&f, txn, 2, "a@x", "k1") && has_entry(&f, txn, 2, "b@x", "k2"));
        CHECK(has_entry(&f, txn, 1, "k2", "b@x,blue") && has_entry(&f, txn, 4, "blue", "k2"));
        /* The same email kept, the realm moved: the realm's put is the check. */
        CHECK_OK(put(t, txn, "k2", "b@x,green", &w));
        CHECK(has_entry(&f, txn, 4, "green", "k2") && entry(&f, txn, 4, "blue", NULL) == NULL);
        CHECK(has_entry(&f, txn, 2, "b@x", "k2"));
        /* A stored entry that already names this record is not a conflict. */
        CHECK_OK(raw_put(&f, txn, 2, "z@x", "k2"));
        CHECK_OK(put(t, txn, "k2", "z@x,green", &w));
        CHECK(has_entry(&f, txn, 2, "z@x", "k2") && entry(&f, txn, 2, "b@x", NULL) == NULL);
        CHECK(slot_entries(&f, txn, 2) == 2 && slot_entries(&f, txn, 4) == 2);
        CHECK(consistent(&f, txn, t));
        f.eng->txn_abort(txn);
        zlmdb_table_free(t);
        fx_close(&f);
    }
}

void test_tableengine__rebuild_runs_the_callbacks_without_user(void)
{
    zlmdb_index_options by_realm = ZLMDB_INDEX_OPTIONS_INIT;
    zlmdb_table_writes w;
    size_t deleted = 9, inserted = 9;
    zlmdb_table *t;
    struct fx f;
    MDB_txn *txn;
    int lib;

    EACH_ENGINE(lib) {
        CHECK_OK(fx_open(&f, lib, 1 << 20));
        CHECK((t = cb_table(&f, NULL, 0)) != NULL);
        CHECK((txn = fx_txn(&f, 0)) != NULL);
        CHECK_OK(put(t, txn, "k1", "a@x,red", &w));
        CHECK_OK(put(t, txn, "k2", "b@x,", &w));
        CHECK_OK(put(t, txn, "k3", "c@x,blue", &w));
        /* An index declared later, plus a stale entry in its slot. */
        by_realm.name = "by_realm";
        by_realm.slot = 3;
        by_realm.nullable = 1;
        by_realm.key_fn = realm_key;
        by_realm.value_fn = realm_value;
        CHECK_OK(zlmdb_table_add_index(t, &by_realm));
        CHECK_OK(raw_put(&f, txn, 3, "stale", "x"));
        memset(&stats, 0, sizeof(stats));
        CHECK_OK(zlmdb_table_rebuild_index(t, txn, "by_realm", &deleted, &inserted));
        CHECK(deleted == 1 && inserted == 2);
        CHECK(has_entry(&f, txn, 3, "red/k1", "v:k1"));
        CHECK(has_entry(&f, txn, 3, "blue/k3", "v:k3"));
        CHECK(consistent(&f, txn, t));
        /* Rebuilding by_email: the key callback runs with user == NULL. */
        CHECK_OK(zlmdb_table_rebuild_index(t, txn, "by_email", &deleted, &inserted));
        CHECK(deleted == 3 && inserted == 3);
        CHECK(stats.calls == 3 && stats.with_user == 0);
        /* A callback failing in a rebuild is reported. */
        CHECK_OK(put(t, txn, "k4", "d@x,red", &w));
        CHECK_OK(raw_put(&f, txn, 1, "k5", "!x,red"));
        CHECK_RC(zlmdb_table_rebuild_index(t, txn, "by_email", NULL, NULL), ZLMDB_CALLBACK);
        f.eng->txn_abort(txn);
        zlmdb_table_free(t);
        fx_close(&f);
    }
}

void test_tableengine__count_encoded_bounds(void)
{
    static const char *keys[] = {"a", "b", "bb", "c", "d"};
    zlmdb_table_writes w;
    zlmdb_table *t;
    struct fx f;
    MDB_txn *txn;
    MDB_val lo, hi, empty;
    size_t n = 99, i;
    int lib;

    EACH_ENGINE(lib) {
        CHECK_OK(fx_setup(&f, lib, &t, &txn));
        for (i = 0; i < 5; i++) {
            char rec[16];
            snprintf(rec, sizeof(rec), "%s@x,r", keys[i]);
            CHECK_OK(put(t, txn, keys[i], rec, &w));
        }
        CHECK_OK(zlmdb_table_count_encoded(t, txn, NULL, NULL, &n));
        CHECK(n == 5);                      /* index entries in slots 2, 3 not counted */
        lo = text("b");
        hi = text("d");
        CHECK_OK(zlmdb_table_count_encoded(t, txn, &lo, &hi, &n));
        CHECK(n == 3);                      /* b, bb, c: from included, to excluded */
        CHECK_OK(zlmdb_table_count_encoded(t, txn, &lo, NULL, &n));
        CHECK(n == 4);
        CHECK_OK(zlmdb_table_count_encoded(t, txn, NULL, &lo, &n));
        CHECK(n == 1);
        CHECK_OK(zlmdb_table_count_encoded(t, txn, &hi, &lo, &n));
        CHECK(n == 0);                      /* from after to */
        CHECK_OK(zlmdb_table_count_encoded(t, txn, &lo, &lo, &n));
        CHECK(n == 0);
        lo = text("bb");
        hi = text("bba");
        CHECK_OK(zlmdb_table_count_encoded(t, txn, &lo, &hi, &n));
        CHECK(n == 1);
        empty.mv_data = NULL;
        empty.mv_size = 0;
        CHECK_OK(zlmdb_table_count_encoded(t, txn, &empty, NULL, &n));
        CHECK(n == 5);
        CHECK_OK(zlmdb_table_count_encoded(t, txn, NULL, &empty, &n));
        CHECK(n == 0);
        CHECK_RC(zlmdb_table_count_encoded(t, txn, NULL, NULL, NULL), ZLMDB_EINVAL);
        f.eng->txn_abort(txn);
        zlmdb_table_free(t);
        fx_close(&f);
    }
}

/* --------------------------------------------- failures part way through */

void test_tableengine__map_full_midway_is_reported_and_never_commits(void)
{
    static char big[3000];
    zlmdb_table_writes w;
    zlmdb_table *t;
    struct fx f;
    MDB_txn *txn;
    char pk[32], rec[3100];
    int lib, i, rc, midway_seen;

    memset(big, 'p', sizeof(big) - 1);
    EACH_ENGINE(lib) {
        CHECK_OK(fx_open(&f, lib, 128 * 1024));
        CHECK((t = cb_table(&f, NULL, 1)) != NULL);
        /* Fill until the map is full; the large record values need fresh
         * pages, the small index entries rarely do, so some put fails
         * after writing its entries.  Repeat with different sizes until one
         * does; each failed transaction must be refused at commit. */
        midway_seen = 0;
        for (i = 0; i < 20 && !midway_seen; i++) {
            int j;
            CHECK((txn = fx_txn(&f, 0)) != NULL);
            rc = 0;
            for (j = 0; j < 10000 && rc == 0; j++) {
                snprintf(pk, sizeof(pk), "k%05d", j);
                snprintf(rec, sizeof(rec), "%s@x,r%d,%.*s", pk, j % 3,
                         (int)(j * 37 + i * 101) % 2900, big);
                rc = put(t, txn, pk, rec, &w);
            }
            CHECK_RC(rc, MDB_MAP_FULL);
            if (w.midway) {
                midway_seen = 1;
                CHECK(w.puts > 0);
                CHECK(strstr(zlmdb_error_last(), "abort") != NULL);
                /* Seen as marked failed, so no undo was tried. */
                CHECK(strstr(zlmdb_error_last(), "undoing") == NULL);
            }
            /* LMDB marked the transaction failed in either case. */
            CHECK(f.eng->txn_commit(txn) != 0);
        }
        CHECK(midway_seen);
        CHECK((txn = fx_txn(&f, MDB_RDONLY)) != NULL);
        CHECK(slot_entries(&f, txn, 1) == 0 && slot_entries(&f, txn, 2) == 0 &&
              slot_entries(&f, txn, 3) == 0);
        f.eng->txn_abort(txn);
        zlmdb_table_free(t);
        fx_close(&f);
    }
}

/* An engine whose put or del fails on the n-th call, the way some LMDB
 * paths do: refused before any change, the transaction left usable. */
static const zlmdb_engine *real;
static int put_fail_at, del_fail_at;

static int flaky_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data, unsigned flags)
{
    if (put_fail_at > 0 && --put_fail_at == 0)
        return EIO;
    return real->put(txn, dbi, key, data, flags);
}

static int flaky_del(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data)
{
    if (del_fail_at > 0 && --del_fail_at == 0)
        return EIO;
    return real->del(txn, dbi, key, data);
}

void test_tableengine__unmarked_failure_midway_is_undone(void)
{
    zlmdb_engine flaky;
    zlmdb_table_writes w;
    zlmdb_table *t;
    struct fx f;
    MDB_txn *txn;
    int lib, n;

    EACH_ENGINE(lib) {
        CHECK_OK(fx_open(&f, lib, 1 << 20));
        real = f.eng;
        flaky = *f.eng;
        flaky.put = flaky_put;
        flaky.del = flaky_del;
        CHECK((t = cb_table(&f, &flaky, 1)) != NULL);
        CHECK((txn = fx_txn(&f, 0)) != NULL);
        CHECK_OK(put(t, txn, "k1", "a@x,red", &w));
        CHECK_OK(put(t, txn, "k2", "b@x,red", &w));

        /* An update moving both keys fails at each of its writes in turn:
         * (del a@x) put b... each time the earlier writes are taken back,
         * the transaction commits and holds the record as before. */
        for (n = 1; n <= 3; n++) {
            put_fail_at = n;
            CHECK_RC(put(t, txn, "k1", "c@x,blue", &w), EIO);
            put_fail_at = 0;
            CHECK(w.midway == 0 && w.puts == 0 && w.dels == 0);
            CHECK(has_entry(&f, txn, 1, "k1", "a@x,red"));
            CHECK(has_entry(&f, txn, 2, "a@x", "k1"));
            CHECK(entry(&f, txn, 2, "c@x", NULL) == NULL);
            CHECK(consistent(&f, txn, t));
        }
        /* A delete failing at the record's own delete. */
        del_fail_at = 3;
        CHECK_RC(del(t, txn, "k2", &w), EIO);
        del_fail_at = 0;
        CHECK(w.midway == 0 && w.dels == 0);
        CHECK(consistent(&f, txn, t) && slot_entries(&f, txn, 2) == 2);

        /* When the undo fails too, the call says so: midway, abort. */
        put_fail_at = 3;   /* the record's put */
        del_fail_at = 3;   /* del a@x, del red/k1, then the undo's del blue/k1 */
        CHECK_RC(put(t, txn, "k1", "c@x,blue", &w), EIO);
        put_fail_at = del_fail_at = 0;
        CHECK(w.midway == 1);
        CHECK(strstr(zlmdb_error_last(), "abort") != NULL);
        f.eng->txn_abort(txn);

        /* What was committed before is intact. */
        CHECK((txn = fx_txn(&f, MDB_RDONLY)) != NULL);
        CHECK(slot_entries(&f, txn, 1) == 0);
        f.eng->txn_abort(txn);
        zlmdb_table_free(t);
        fx_close(&f);
    }
}

/* ---------------------------------------------------- allocation faults */

void test_tableengine__allocation_failures_never_leave_an_orphan(void)
{
    zlmdb_allocator fa = {ZLMDB_ALLOCATOR_VERSION, fi_malloc, fi_realloc, fi_free, NULL};
    zlmdb_table_writes w;
    zlmdb_table *t;
    struct fx f;
    MDB_txn *txn;
    int lib, k, op, rc;

    EACH_ENGINE(lib) {
        CHECK_OK(fx_setup(&f, lib, &t, &txn));
        CHECK_OK(put(t, txn, "k1", "a@x,red", &w));
        CHECK_OK(put(t, txn, "k2", "b@x,red", &w));
        CHECK_OK(f.eng->txn_commit(txn));
        zlmdb_table_free(t);

        /* op 0: insert, 1: update moving keys, 2: delete; each on a fresh
         * table (empty scratch buffers), failing the k-th allocation. */
        for (op = 0; op < 3; op++) {
            rc = -1;
            for (k = 0; k < 60 && rc != 0; k++) {
                CHECK_OK(zlmdb_set_allocator(&fa));
                fail_after = k;
                t = cb_table(&f, NULL, 1);
                rc = ZLMDB_ENOMEM;
                if (t) {
                    CHECK((txn = fx_txn(&f, 0)) != NULL);
                    rc = op == 0 ? put(t, txn, "k3", "c@x,blue", &w)
                       : op == 1 ? put(t, txn, "k1", "d@x,green", &w)
                                 : del(t, txn, "k2", &w);
                    fail_after = 1 << 30;
                    CHECK(rc == 0 || rc == ZLMDB_ENOMEM);
                    CHECK(w.midway == 0);
                    /* Committed either way: a refused write left nothing. */
                    CHECK_OK(f.eng->txn_commit(txn));
                }
                fail_after = 1 << 30;
                CHECK_OK(zlmdb_set_allocator(NULL));
                if (t) {
                    /* Records: 2, then 3 once the insert is in, then 2
                     * once the delete is. */
                    size_t want = op == 0 ? (rc == 0 ? 3u : 2u)
                                : op == 1 ? 3u : (rc == 0 ? 2u : 3u);
                    CHECK((txn = fx_txn(&f, MDB_RDONLY)) != NULL);
                    CHECK(consistent(&f, txn, t));
                    CHECK(slot_entries(&f, txn, 1) == want);
                    f.eng->txn_abort(txn);
                    zlmdb_table_free(t);
                }
            }
            CHECK(rc == 0 && k > 1);
        }
        CHECK((txn = fx_txn(&f, MDB_RDONLY)) != NULL);
        CHECK(has_entry(&f, txn, 1, "k1", "d@x,green"));
        CHECK(has_entry(&f, txn, 1, "k3", "c@x,blue"));
        CHECK(entry(&f, txn, 1, "k2", NULL) == NULL);
        CHECK(slot_entries(&f, txn, 2) == 2 && slot_entries(&f, txn, 3) == 2);
        f.eng->txn_abort(txn);
        fx_close(&f);
    }
}

/* ------------------------------------------------------ options and API */

void test_tableengine__version_1_index_options_are_still_accepted(void)
{
    zlmdb_table_options to = ZLMDB_TABLE_OPTIONS_INIT;
    zlmdb_index_options full = ZLMDB_INDEX_OPTIONS_INIT;
    zlmdb_index_options *v1;
    zlmdb_key_value kv;
    zlmdb_table *t;
    MDB_val pk;
    struct fx f;
    MDB_txn *txn;

    CHECK_OK(fx_open(&f, 0, 1 << 20));
    to.slot = 1;
    to.key.ncomp = 1;
    to.key.comp[0] = ZLMDB_KEY_STRING;
    CHECK_OK(zlmdb_table_new(&t, f.dbi, &to));
    /* A version-1 caller's struct ends before the callbacks: allocate just
     * that much, so reading past it is caught by the sanitizers. */
    full.name = "by_email";
    full.slot = 2;
    full.key.ncomp = 1;
    full.key.comp[0] = ZLMDB_KEY_STRING;
    full.fields[0] = "email";
    full.version = 1;
    v1 = malloc(offsetof(zlmdb_index_options, key_fn));
    CHECK(v1 != NULL);
    memcpy(v1, &full, offsetof(zlmdb_index_options, key_fn));
    CHECK_OK(zlmdb_table_add_index(t, v1));
    free(v1);
    full.version = 3;
    full.name = "other";
    full.slot = 3;
    CHECK_RC(zlmdb_table_add_index(t, &full), ZLMDB_EINVAL);
    {
        zlmdb_buf rec = ZLMDB_BUF_INIT;
        email_record(&rec, "a@x");
        CHECK((txn = fx_txn(&f, 0)) != NULL);
        pk = text("k1");
        CHECK_OK(zlmdb_table_put_encoded(t, txn, &pk, rec.ptr, rec.size, NULL, 0, NULL));
        memset(&kv, 0, sizeof(kv));
        kv.data = (const unsigned char *)"a@x";
        kv.len = 3;
        CHECK_OK(zlmdb_table_index_get(t, txn, "by_email", &kv, &pk));
        CHECK(pk.mv_size == 2 && memcmp(pk.mv_data, "k1", 2) == 0);
        f.eng->txn_abort(txn);
        zlmdb_buf_dispose(&rec);
    }
    zlmdb_table_free(t);
    fx_close(&f);
}

void test_tableengine__key_function_indexes_need_no_layout(void)
{
    zlmdb_table_writes w;
    zlmdb_key_value kv;
    zlmdb_table *t;
    struct fx f;
    MDB_txn *txn;
    MDB_val pk;

    CHECK_OK(fx_open(&f, 0, 1 << 20));
    CHECK((t = cb_table(&f, NULL, 1)) != NULL);
    CHECK((txn = fx_txn(&f, 0)) != NULL);
    CHECK_OK(put(t, txn, "k1", "a@x,red", &w));
    memset(&kv, 0, sizeof(kv));
    kv.data = (const unsigned char *)"a@x";
    kv.len = 3;
    /* No key layout declared: looking up by component values is refused. */
    CHECK_RC(zlmdb_table_index_get(t, txn, "by_email", &kv, &pk), ZLMDB_EINVAL);
    CHECK(strstr(zlmdb_error_last(), "key function") != NULL);
    CHECK_RC(zlmdb_table_put_encoded(NULL, txn, &pk, "", 0, NULL, 0, &w), ZLMDB_EINVAL);
    CHECK_RC(zlmdb_table_delete_encoded(t, txn, NULL, &w), ZLMDB_EINVAL);
    f.eng->txn_abort(txn);
    zlmdb_table_free(t);
    fx_close(&f);
}

void test_tableengine__new_codes_and_version(void)
{
    int major = -1, minor = -1, patch = -1;

    CHECK(ZLMDB_CALLBACK == -30642 && ZLMDB_HALF == -30643);
    CHECK(strncmp(zlmdb_strerror(ZLMDB_CALLBACK), "ZLMDB_CALLBACK", 14) == 0);
    CHECK(strncmp(zlmdb_strerror(ZLMDB_HALF), "ZLMDB_HALF", 10) == 0);
    CHECK(zlmdb_version(&major, &minor, &patch) == ZLMDB_VERSION_NUMBER);
    CHECK(major == 0 && minor == 3 && patch == 0);
    CHECK_STR(ZLMDB_VERSION_STRING, "0.3.0");
}

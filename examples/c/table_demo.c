/* A C program using libzlmdb's tables: a "users" table keyed by oid with a
 * unique index on the e-mail field of each CBOR record.  Usage:
 *   table_demo [DIR]      (default: a new directory ./table-demo-db)
 * Built and run by the C test suite. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <zlmdb.h>

static int fail(const char *what, int rc)
{
    fprintf(stderr, "%s: %s (%s)\n", what, zlmdb_strerror(rc),
            zlmdb_error_last() ? zlmdb_error_last() : "-");
    return 1;
}

/* {"email": email, "name": name} */
static int make_user(zlmdb_buf *b, const char *email, const char *name)
{
    zlmdb_buf_clear(b);
    return zlmdb_cbor_encode_map(b, 2) || zlmdb_cbor_encode_text(b, "email", 5) ||
           zlmdb_cbor_encode_text(b, email, strlen(email)) ||
           zlmdb_cbor_encode_text(b, "name", 4) ||
           zlmdb_cbor_encode_text(b, name, strlen(name));
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "table-demo-db";
    static const char *emails[] = {"ada@example.org", "alan@example.org", "grace@example.org"};
    static const char *names[] = {"Ada", "Alan", "Grace"};
    zlmdb_table_options topts = ZLMDB_TABLE_OPTIONS_INIT;
    zlmdb_index_options iopts = ZLMDB_INDEX_OPTIONS_INIT;
    zlmdb_buf rec = ZLMDB_BUF_INIT;
    zlmdb_table *users;
    zlmdb_table_iter *it;
    zlmdb_key_value key, email;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k, v;
    size_t count;
    int rc, i;

    mkdir(dir, 0755);
    if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_mapsize(env, 16 << 20)) ||
        (rc = mdb_env_open(env, dir, 0, 0644)))
        return fail("open", rc);
    if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) || (rc = mdb_dbi_open(txn, NULL, 0, &dbi)))
        return fail("begin", rc);

    topts.slot = 1;                          /* records live under slot 1 */
    topts.key.ncomp = 1;
    topts.key.comp[0] = ZLMDB_KEY_OID;
    if ((rc = zlmdb_table_new(&users, dbi, &topts)))
        return fail("table", rc);
    iopts.name = "by_email";                 /* email -> oid, under slot 2 */
    iopts.slot = 2;
    iopts.key.ncomp = 1;
    iopts.key.comp[0] = ZLMDB_KEY_STRING;
    iopts.fields[0] = "email";
    iopts.unique = 1;
    if ((rc = zlmdb_table_add_index(users, &iopts)))
        return fail("index", rc);

    memset(&key, 0, sizeof(key));
    for (i = 0; i < 3; i++) {
        key.u = (uint64_t)i + 1;
        if (make_user(&rec, emails[i], names[i]) ||
            (rc = zlmdb_table_put(users, txn, &key, rec.ptr, rec.size, 0)))
            return fail("put", rc);
    }
    /* A second user with Ada's address is refused, and nothing changes. */
    key.u = 4;
    make_user(&rec, emails[0], "Impostor");
    rc = zlmdb_table_put(users, txn, &key, rec.ptr, rec.size, 0);
    printf("putting a duplicate e-mail: %s\n", zlmdb_strerror(rc));
    if (rc != ZLMDB_UNIQUE)
        return 1;
    if ((rc = mdb_txn_commit(txn)))
        return fail("commit", rc);

    if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)))
        return fail("begin", rc);
    if ((rc = zlmdb_table_count(users, txn, NULL, 0, &count)))
        return fail("count", rc);
    printf("users: %zu\n", count);
    memset(&email, 0, sizeof(email));
    email.data = (const unsigned char *)"grace@example.org";
    email.len = strlen("grace@example.org");
    if ((rc = zlmdb_table_index_get(users, txn, "by_email", &email, &k)))
        return fail("index_get", rc);
    {
        zlmdb_key_value oid;
        zlmdb_key_decode(&topts.key, k.mv_data, k.mv_size, &oid);
        printf("grace@example.org is user %llu\n", (unsigned long long)oid.u);
    }
    if ((rc = zlmdb_table_iter_open(&it, users, txn, NULL, NULL, 1)))
        return fail("iter", rc);
    printf("in reverse key order:");
    while ((rc = zlmdb_table_iter_next(it, &k, &v)) == ZLMDB_OK)
        printf(" %zu-byte record", v.mv_size);
    printf("\n");
    zlmdb_table_iter_free(it);
    mdb_txn_abort(txn);
    zlmdb_table_free(users);
    zlmdb_buf_dispose(&rec);
    mdb_env_close(env);
    return rc == ZLMDB_NOTFOUND ? 0 : fail("iter_next", rc);
}

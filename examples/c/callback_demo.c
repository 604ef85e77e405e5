/* A C program using an index whose keys a C function computes: records are
 * text "Name <address>" keyed by a short name, and by_email maps each
 * address, in lower case, back to the record.  Usage:
 *   callback_demo [DIR]   (default: a new directory ./callback-demo-db)
 * Built and run by the C test suite. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <zlmdb.h>

/* The index key of a record: its address in lower case; no entry when the
 * record has none. */
static int email_key(void *ctx, const zlmdb_record *rec, zlmdb_buf *out, int *is_null)
{
    const char *p = rec->value.mv_data, *lt, *gt;
    size_t n = rec->value.mv_size;
    int rc;

    (void)ctx;
    lt = memchr(p, '<', n);
    gt = lt ? memchr(lt, '>', (size_t)(p + n - lt)) : NULL;
    if (gt == NULL) {
        *is_null = 1;
        return ZLMDB_OK;
    }
    for (lt++; lt < gt; lt++) {
        char c = (char)tolower((unsigned char)*lt);
        if ((rc = zlmdb_buf_append(out, &c, 1)))
            return rc;
    }
    return ZLMDB_OK;
}

/* Put one record.  Returns 0, 1 when the put was refused (nothing was
 * written), or -1 when the transaction must be aborted. */
static int put(zlmdb_table *t, MDB_txn *txn, const char *pk, const char *rec)
{
    zlmdb_table_writes w;
    MDB_val key;
    int rc;

    key.mv_data = (void *)pk;
    key.mv_size = strlen(pk);
    rc = zlmdb_table_put_encoded(t, txn, &key, rec, strlen(rec), NULL, 0, &w);
    if (rc == ZLMDB_OK) {
        printf("%s: %zu puts, %zu deletes\n", pk, w.puts, w.dels);
        return 0;
    }
    printf("%s: %s%s%s\n", pk, zlmdb_strerror(rc), w.index ? ", index " : "",
           w.index ? w.index : "");
    return w.midway ? -1 : 1;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "%s: %s (%s)\n", what, zlmdb_strerror(rc),
            zlmdb_error_last() ? zlmdb_error_last() : "-");
    return 1;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "callback-demo-db";
    zlmdb_table_options topts = ZLMDB_TABLE_OPTIONS_INIT;
    zlmdb_index_options iopts = ZLMDB_INDEX_OPTIONS_INIT;
    zlmdb_table *people;
    zlmdb_key_value email;
    MDB_val pk;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    size_t n = 0;
    int rc;

    mkdir(dir, 0755);
    if ((rc = mdb_env_create(&env)) || (rc = mdb_env_open(env, dir, 0, 0644)))
        return fail("env", rc);
    if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) || (rc = mdb_dbi_open(txn, NULL, 0, &dbi)))
        return fail("begin", rc);

    topts.slot = 1;
    topts.key.ncomp = 1;
    topts.key.comp[0] = ZLMDB_KEY_STRING;
    if ((rc = zlmdb_table_new(&people, dbi, &topts)))
        return fail("table", rc);
    iopts.name = "by_email";
    iopts.slot = 2;
    iopts.key.ncomp = 1;                 /* only for zlmdb_table_index_get() */
    iopts.key.comp[0] = ZLMDB_KEY_STRING;
    iopts.key_fn = email_key;            /* `fields` is not used */
    iopts.unique = 1;
    iopts.nullable = 1;
    if ((rc = zlmdb_table_add_index(people, &iopts)))
        return fail("index", rc);
    /* Every run starts from an empty table (and empty index). */
    if ((rc = zlmdb_table_truncate(people, txn, NULL)))
        return fail("truncate", rc);

    if (put(people, txn, "ada", "Ada <ADA@example.org>") < 0 ||
        put(people, txn, "bob", "Bob, no address") < 0 ||
        put(people, txn, "eve", "Eve <ada@Example.org>") < 0 ||
        put(people, txn, "ada", "Ada <ada@math.example>") < 0) {
        mdb_txn_abort(txn);      /* it holds part of a put: never commit it */
        return 1;
    }
    if ((rc = mdb_txn_commit(txn)))
        return fail("commit", rc);

    if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)))
        return fail("begin", rc);
    if ((rc = zlmdb_table_count_encoded(people, txn, NULL, NULL, &n)))
        return fail("count", rc);
    printf("people: %zu\n", n);
    memset(&email, 0, sizeof(email));
    email.data = (const unsigned char *)"ada@math.example";
    email.len = strlen("ada@math.example");
    if ((rc = zlmdb_table_index_get(people, txn, "by_email", &email, &pk)))
        return fail("index_get", rc);
    printf("ada@math.example is %.*s\n", (int)pk.mv_size, (const char *)pk.mv_data);
    mdb_txn_abort(txn);
    zlmdb_table_free(people);
    mdb_env_close(env);
    return 0;
}

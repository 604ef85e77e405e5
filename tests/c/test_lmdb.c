/* The LMDB compiled into libzlmdb: version, patches, and a write/read
 * cycle through the same handles libzlmdb works on. */
#include <lmdb.h>

#include "harness.h"

void test_lmdb__is_the_pinned_version(void)
{
    int major, minor, patch, patched;

    zlmdb_lmdb_version(&major, &minor, &patch, &patched);
    CHECK(major == 0 && minor == 9);
#if ZLMDB_LMDB_PATCHED
    CHECK(patch == 36);
    CHECK(patched == 1);
#endif
}

void test_lmdb__committed_data_survives_reopen(void)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val key = {3, "key"}, val = {5, "value"}, got;

    CHECK_OK(mdb_env_create(&env));
    CHECK_OK(mdb_env_set_mapsize(env, 1 << 20));
    CHECK_OK(mdb_env_open(env, ".", 0, 0644));
    CHECK_OK(mdb_txn_begin(env, NULL, 0, &txn));
    CHECK_OK(mdb_dbi_open(txn, NULL, 0, &dbi));
    CHECK_OK(mdb_put(txn, dbi, &key, &val, 0));
    CHECK_OK(mdb_txn_commit(txn));
    mdb_env_close(env);

    CHECK_OK(mdb_env_create(&env));
    CHECK_OK(mdb_env_open(env, ".", MDB_RDONLY, 0644));
    CHECK_OK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn));
    CHECK_OK(mdb_dbi_open(txn, NULL, 0, &dbi));
    CHECK_OK(mdb_get(txn, dbi, &key, &got));
    CHECK(got.mv_size == 5 && memcmp(got.mv_data, "value", 5) == 0);
    mdb_txn_abort(txn);
    mdb_env_close(env);
}

void test_lmdb__map_full_is_reported_not_crashed(void)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    char kbuf[16], vbuf[1000];
    MDB_val key = {sizeof(kbuf), kbuf}, val = {sizeof(vbuf), vbuf};
    int i, rc = 0;

    memset(vbuf, 7, sizeof(vbuf));
    CHECK_OK(mdb_env_create(&env));
    CHECK_OK(mdb_env_set_mapsize(env, 64 * 1024));
    CHECK_OK(mdb_env_open(env, ".", 0, 0644));
    CHECK_OK(mdb_txn_begin(env, NULL, 0, &txn));
    CHECK_OK(mdb_dbi_open(txn, NULL, 0, &dbi));
    for (i = 0; i < 10000 && rc == 0; i++) {
        snprintf(kbuf, sizeof(kbuf), "%015d", i);
        rc = mdb_put(txn, dbi, &key, &val, 0);
    }
    CHECK_RC(rc, MDB_MAP_FULL);
    CHECK(strstr(zlmdb_strerror(rc), "MDB_MAP_FULL") != NULL);
    mdb_txn_abort(txn);
    mdb_env_close(env);
}

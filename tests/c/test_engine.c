/* The LMDB engines of libzlmdb: which exist, how an environment's format is
 * read from its file, and that each engine works on its own format through
 * its zlmdb_engine table (tables included). */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "harness.h"

/* Write `len` bytes to `path`. */
static int write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok;

    if (f == NULL)
        return -1;
    ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* A new environment in directory `dir` holding key -> value, written with
 * `eng`.  Returns 0 or the failing return code. */
static int make_env(const zlmdb_engine *eng, const char *dir, const char *key,
                    const char *value)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k, v;
    int rc;

    k.mv_size = strlen(key);
    k.mv_data = (void *)key;
    v.mv_size = strlen(value);
    v.mv_data = (void *)value;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return errno;
    if ((rc = eng->env_create(&env)))
        return rc;
    if ((rc = eng->env_set_mapsize(env, 1 << 20)) == 0 &&
        (rc = eng->env_open(env, dir, 0, 0644)) == 0 &&
        (rc = eng->txn_begin(env, NULL, 0, &txn)) == 0) {
        if ((rc = eng->dbi_open(txn, NULL, 0, &dbi)) == 0 &&
            (rc = eng->put(txn, dbi, &k, &v, 0)) == 0)
            rc = eng->txn_commit(txn);
        else
            eng->txn_abort(txn);
    }
    eng->env_close(env);
    return rc;
}

void test_engine__the_default_is_the_mdb_functions_of_lmdb_h(void)
{
    const zlmdb_engine *eng;
    int major, minor, patch;

    CHECK_OK(zlmdb_engine_get(ZLMDB_LIB_VERSION_AUTO, &eng));
    CHECK(eng->version == ZLMDB_ENGINE_VERSION);
    mdb_version(&major, &minor, &patch);
    CHECK(eng->major == major && eng->minor == minor && eng->patch == patch);
    CHECK(eng->lib_version == major);
    CHECK(eng->data_version == (major >= 1 ? 3u : 1u));
#if ZLMDB_TEST_ENGINES == 2
    /* The pinned pair: lmdb.h is LMDB 0.9's, and its functions are the
     * table's (1.0 is reached through its table only). */
    CHECK(eng->get == mdb_get && eng->txn_begin == mdb_txn_begin);
    CHECK(eng->patched == 1 && eng->env_copy3 != NULL);
#endif
}

void test_engine__both_release_lines_are_built_in(void)
{
#if ZLMDB_TEST_ENGINES == 2
    const zlmdb_engine *v0, *v1;

    CHECK_OK(zlmdb_engine_get(ZLMDB_LIB_VERSION_0_9, &v0));
    CHECK_OK(zlmdb_engine_get(ZLMDB_LIB_VERSION_1_0, &v1));
    CHECK(v0->major == 0 && v0->minor == 9 && v0->patch == 36 && v0->data_version == 1);
    CHECK(v1->major == 1 && v1->minor == 0 && v1->patch == 2 && v1->data_version == 3);
    CHECK(v1->lib_version == 1 && v1->patched == 1);
    /* Two separate copies of LMDB, not one table twice. */
    CHECK(v0->get != v1->get && v0->env_open != v1->env_open);
    CHECK(strstr(v1->version_fn(NULL, NULL, NULL), "1.0.2") != NULL);
#else
    const zlmdb_engine *one;
    CHECK_OK(zlmdb_engine_get(ZLMDB_LIB_VERSION_AUTO, &one));
    CHECK(one->lib_version == ZLMDB_LIB_VERSION_0_9 || one->lib_version == 1);
#endif
}

void test_engine__an_engine_the_build_lacks_is_named(void)
{
    const zlmdb_engine *eng = NULL;

    CHECK_RC(zlmdb_engine_get(7, &eng), ZLMDB_NOTFOUND);
    CHECK(eng == NULL);
    CHECK(strstr(zlmdb_error_last(), "no LMDB 7.x engine") != NULL);
    CHECK(strstr(zlmdb_error_last(), "it has 0.9") != NULL);
    CHECK_RC(zlmdb_engine_get(0, NULL), ZLMDB_EINVAL);
}

void test_engine__each_format_is_detected_from_its_file(void)
{
    const zlmdb_engine *eng;
    int lv, i;

    for (i = 0; i < ZLMDB_TEST_ENGINES; i++) {
        const char *dir = i ? "v1" : "v0";
        CHECK_OK(zlmdb_engine_get(i, &eng));
        CHECK_OK(make_env(eng, dir, "k", "v"));
        CHECK_OK(zlmdb_engine_detect(dir, 0, &lv));
        CHECK(lv == i);
    }
}

void test_engine__no_file_or_an_empty_one_is_a_new_environment(void)
{
    int lv = 5;

    CHECK_OK(zlmdb_engine_detect("nothing-here", 0, &lv));
    CHECK(lv == ZLMDB_LIB_VERSION_AUTO);
    CHECK(write_file("empty.mdb", "", 0) == 0);
    lv = 5;
    CHECK_OK(zlmdb_engine_detect("empty.mdb", MDB_NOSUBDIR, &lv));
    CHECK(lv == ZLMDB_LIB_VERSION_AUTO);
    /* A directory without data.mdb (a lock file alone, say). */
    CHECK(mkdir("dir", 0755) == 0);
    CHECK(write_file("dir/lock.mdb", "x", 1) == 0);
    lv = 5;
    CHECK_OK(zlmdb_engine_detect("dir", 0, &lv));
    CHECK(lv == ZLMDB_LIB_VERSION_AUTO);
}

/* A 64-bit meta page head: 16 (0.9) or 24 (1.0) header bytes, then magic
 * and format version. */
static void meta_head(unsigned char *buf, size_t hdr, uint32_t magic, uint32_t version)
{
    memset(buf, 0, 4096);
    buf[10] = 0x08; /* P_META */
    memcpy(buf + hdr, &magic, 4);
    memcpy(buf + hdr + 4, &version, 4);
}

void test_engine__a_file_of_no_known_format_says_what_it_is(void)
{
    static unsigned char buf[4096];
    int lv = 5;

    memset(buf, 'x', sizeof(buf));
    CHECK(write_file("text.mdb", buf, sizeof(buf)) == 0);
    CHECK_RC(zlmdb_engine_detect("text.mdb", MDB_NOSUBDIR, &lv), ZLMDB_BAD_FORMAT);
    CHECK(strstr(zlmdb_error_last(), "not an LMDB data file") != NULL);
    CHECK(strstr(zlmdb_error_last(), "78 78 78 78") != NULL);
    CHECK(lv == ZLMDB_LIB_VERSION_AUTO);

    CHECK(write_file("short.mdb", "abc", 3) == 0);
    CHECK_RC(zlmdb_engine_detect("short.mdb", MDB_NOSUBDIR, &lv), ZLMDB_BAD_FORMAT);
    CHECK(strstr(zlmdb_error_last(), "3 bytes, too short") != NULL);

    meta_head(buf, 24, 0xBEEFC0DEu, 2);
    CHECK(write_file("v2.mdb", buf, sizeof(buf)) == 0);
    CHECK_RC(zlmdb_engine_detect("v2.mdb", MDB_NOSUBDIR, &lv), ZLMDB_BAD_FORMAT);
    CHECK(strstr(zlmdb_error_last(), "data format v2") != NULL);

    meta_head(buf, 16, 0xBEEFC0DEu, 7);
    CHECK(write_file("v7.mdb", buf, sizeof(buf)) == 0);
    CHECK_RC(zlmdb_engine_detect("v7.mdb", MDB_NOSUBDIR, &lv), ZLMDB_BAD_FORMAT);
    CHECK(strstr(zlmdb_error_last(), "data format v7") != NULL);

    meta_head(buf, 16, 0xDEC0EFBEu, 0x01000000u);
    CHECK(write_file("swapped.mdb", buf, sizeof(buf)) == 0);
    CHECK_RC(zlmdb_engine_detect("swapped.mdb", MDB_NOSUBDIR, &lv), ZLMDB_BAD_FORMAT);
    CHECK(strstr(zlmdb_error_last(), "other byte order") != NULL);

    meta_head(buf, 12, 0xBEEFC0DEu, 1);  /* a 32-bit 0.9 page header */
    CHECK(write_file("w32.mdb", buf, sizeof(buf)) == 0);
    CHECK_RC(zlmdb_engine_detect("w32.mdb", MDB_NOSUBDIR, &lv), ZLMDB_BAD_FORMAT);
    CHECK(strstr(zlmdb_error_last(), "another word size (32-bit)") != NULL);

    /* zlmdb_engine_for_path() stops at such a file whatever is asked. */
    {
        const zlmdb_engine *eng = NULL;
        CHECK_RC(zlmdb_engine_for_path("text.mdb", MDB_NOSUBDIR, ZLMDB_LIB_VERSION_AUTO,
                                       &eng), ZLMDB_BAD_FORMAT);
        CHECK_RC(zlmdb_engine_for_path("text.mdb", MDB_NOSUBDIR, 0, &eng), ZLMDB_BAD_FORMAT);
        CHECK(eng == NULL);
    }
}

void test_engine__for_path_follows_the_file_and_refuses_a_mismatch(void)
{
    const zlmdb_engine *v0, *got = NULL;

    CHECK_OK(zlmdb_engine_get(ZLMDB_LIB_VERSION_AUTO, &v0));
    /* New: what is asked for, or the default. */
    CHECK_OK(zlmdb_engine_for_path("new", 0, ZLMDB_LIB_VERSION_AUTO, &got));
    CHECK(got == v0);
    CHECK_RC(zlmdb_engine_for_path("new", 0, 7, &got), ZLMDB_NOTFOUND);
#if ZLMDB_TEST_ENGINES == 2
    {
        const zlmdb_engine *v1;
        CHECK_OK(zlmdb_engine_get(1, &v1));
        CHECK_OK(zlmdb_engine_for_path("new", 0, 1, &got));
        CHECK(got == v1);
        CHECK_OK(make_env(v1, "one", "k", "v"));
        /* Existing: the file decides; asking for it is fine... */
        CHECK_OK(zlmdb_engine_for_path("one", 0, ZLMDB_LIB_VERSION_AUTO, &got));
        CHECK(got == v1);
        CHECK_OK(zlmdb_engine_for_path("one", 0, 1, &got));
        CHECK(got == v1);
        /* ...asking for the other is refused, naming both. */
        got = NULL;
        CHECK_RC(zlmdb_engine_for_path("one", 0, 0, &got), ZLMDB_FORMAT_MISMATCH);
        CHECK(got == NULL);
        CHECK(strstr(zlmdb_error_last(), "written by LMDB 1.0 (data format v3)") != NULL);
        CHECK(strstr(zlmdb_error_last(), "asks for LMDB 0.9 (data format v1)") != NULL);
    }
#endif
}

void test_engine__an_engine_refuses_the_other_format_without_crashing(void)
{
#if ZLMDB_TEST_ENGINES == 2
    const zlmdb_engine *v0, *v1;
    MDB_env *env;
    int rc;

    CHECK_OK(zlmdb_engine_get(0, &v0));
    CHECK_OK(zlmdb_engine_get(1, &v1));
    CHECK_OK(make_env(v0, "old", "k", "v"));
    CHECK_OK(make_env(v1, "new", "k", "v"));
    CHECK_OK(v1->env_create(&env));
    rc = v1->env_open(env, "old", MDB_RDONLY, 0644);
    v1->env_close(env);
    CHECK(rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH);
    CHECK_OK(v0->env_create(&env));
    rc = v0->env_open(env, "new", MDB_RDONLY, 0644);
    v0->env_close(env);
    CHECK(rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH);
#endif
}

void test_engine__strerror_knows_the_codes_of_both_lines(void)
{
    CHECK(strstr(zlmdb_strerror(MDB_NOTFOUND), "MDB_NOTFOUND") != NULL);
#if ZLMDB_TEST_ENGINES == 2
    CHECK(strstr(zlmdb_strerror(MDB_PROBLEM), "MDB_PROBLEM") != NULL);
    CHECK(strstr(zlmdb_strerror(MDB_IS_READONLY), "MDB_IS_READONLY") != NULL);
#endif
    CHECK(strstr(zlmdb_strerror(ZLMDB_BAD_FORMAT), "ZLMDB_BAD_FORMAT") != NULL);
    CHECK(strstr(zlmdb_strerror(ZLMDB_FORMAT_MISMATCH), "ZLMDB_FORMAT_MISMATCH") != NULL);
}

/* A table with a unique index over each engine's transactions. */
void test_engine__tables_work_on_every_engine(void)
{
    int i;

    for (i = 0; i < ZLMDB_TEST_ENGINES; i++) {
        const zlmdb_engine *eng;
        zlmdb_table_options to = ZLMDB_TABLE_OPTIONS_INIT;
        zlmdb_table *t;
        MDB_env *env;
        MDB_txn *txn;
        MDB_dbi dbi;
        MDB_val got;
        zlmdb_key_value key;
        const char *dir = i ? "t1" : "t0";

        CHECK_OK(zlmdb_engine_get(i, &eng));
        CHECK(mkdir(dir, 0755) == 0);
        CHECK_OK(eng->env_create(&env));
        CHECK_OK(eng->env_set_mapsize(env, 1 << 20));
        CHECK_OK(eng->env_open(env, dir, 0, 0644));
        CHECK_OK(eng->txn_begin(env, NULL, 0, &txn));
        CHECK_OK(eng->dbi_open(txn, NULL, 0, &dbi));
        to.slot = 1;
        to.key.ncomp = 1;
        to.key.comp[0] = ZLMDB_KEY_OID;
        to.engine = eng;
        CHECK_OK(zlmdb_table_new(&t, dbi, &to));
        memset(&key, 0, sizeof(key));
        key.u = 42;
        CHECK_OK(zlmdb_table_put(t, txn, &key, "\xa0", 1, 0));
        CHECK_OK(zlmdb_table_get(t, txn, &key, &got));
        CHECK(got.mv_size == 1 && memcmp(got.mv_data, "\xa0", 1) == 0);
        CHECK_OK(eng->txn_commit(txn));
        zlmdb_table_free(t);
        eng->env_close(env);
        {
            int lv;
            CHECK_OK(zlmdb_engine_detect(dir, 0, &lv));
            CHECK(lv == eng->lib_version);
        }
    }
}

/* Options of version 1 (no engine field) still work: the default engine. */
void test_engine__version_1_table_options_mean_the_default_engine(void)
{
    struct { unsigned version; uint16_t slot; zlmdb_key_desc key; } v1opts;
    zlmdb_table *t = NULL;

    memset(&v1opts, 0, sizeof(v1opts));
    v1opts.version = 1;
    v1opts.slot = 3;
    v1opts.key.ncomp = 1;
    v1opts.key.comp[0] = ZLMDB_KEY_OID;
    CHECK_OK(zlmdb_table_new(&t, 1, (const zlmdb_table_options *)(const void *)&v1opts));
    CHECK(t != NULL);
    zlmdb_table_free(t);
}

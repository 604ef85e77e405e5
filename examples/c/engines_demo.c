/* One C program, both LMDB formats: it creates an LMDB 1.0 environment (data
 * format v3, what upstream zlmdb 26.10 creates by default) and an LMDB 0.9
 * one (v1), then reopens each with whatever engine its file needs, the way
 * zlmdb's Python packages do.  Usage:
 *   engines_demo [DIR]      (default: a new directory ./engines-demo-db)
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

/* Create `path` with `eng` and store one greeting in it. */
static int create(const zlmdb_engine *eng, const char *path, const char *greeting)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val key = {5, "hello"}, val;
    int rc;

    val.mv_size = strlen(greeting);
    val.mv_data = (void *)greeting;
    mkdir(path, 0755);
    if ((rc = eng->env_create(&env)))
        return rc;
    if (!(rc = eng->env_set_mapsize(env, 1 << 20)) && !(rc = eng->env_open(env, path, 0, 0644)) &&
        !(rc = eng->txn_begin(env, NULL, 0, &txn))) {
        if ((rc = eng->dbi_open(txn, NULL, 0, &dbi)) || (rc = eng->put(txn, dbi, &key, &val, 0)))
            eng->txn_abort(txn);
        else
            rc = eng->txn_commit(txn);
    }
    eng->env_close(env);
    return rc;
}

/* Open an existing environment with the engine of its file's format. */
static int show(const char *path)
{
    const zlmdb_engine *eng;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val key = {5, "hello"}, val;
    int rc;

    if ((rc = zlmdb_engine_for_path(path, 0, ZLMDB_LIB_VERSION_AUTO, &eng)))
        return rc;
    if ((rc = eng->env_create(&env)))
        return rc;
    if (!(rc = eng->env_open(env, path, MDB_RDONLY, 0644)) &&
        !(rc = eng->txn_begin(env, NULL, MDB_RDONLY, &txn))) {
        if (!(rc = eng->dbi_open(txn, NULL, 0, &dbi)) && !(rc = eng->get(txn, dbi, &key, &val)))
            printf("%s: LMDB %d.%d.%d, data format v%u: hello = %.*s\n", path, eng->major,
                   eng->minor, eng->patch, eng->data_version, (int)val.mv_size,
                   (const char *)val.mv_data);
        eng->txn_abort(txn);
    }
    eng->env_close(env);
    return rc;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "engines-demo-db";
    const zlmdb_engine *v09, *v10, *eng;
    char old_path[4096], new_path[4096];
    int rc;

    mkdir(dir, 0755);
    snprintf(old_path, sizeof(old_path), "%s/old", dir);
    snprintf(new_path, sizeof(new_path), "%s/new", dir);
    if ((rc = zlmdb_engine_get(ZLMDB_LIB_VERSION_0_9, &v09)) ||
        (rc = zlmdb_engine_get(ZLMDB_LIB_VERSION_1_0, &v10)))
        return fail("engines", rc);
    if ((rc = create(v09, old_path, "from LMDB 0.9")) || (rc = create(v10, new_path, "from LMDB 1.0")))
        return fail("create", rc);
    if ((rc = show(old_path)) || (rc = show(new_path)))
        return fail("show", rc);
    /* Asking for the other format is refused before LMDB sees the file. */
    rc = zlmdb_engine_for_path(new_path, 0, ZLMDB_LIB_VERSION_0_9, &eng);
    printf("opening it as LMDB 0.9: %s\n", zlmdb_strerror(rc));
    return rc == ZLMDB_FORMAT_MISMATCH ? 0 : 1;
}

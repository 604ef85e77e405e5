/* Checking a data file before trusting it: libzlmdb's offline verifier.
 *
 * Writes a small environment with LMDB, verifies it, then cuts the data
 * file's last page off (as a truncated copy would be) and verifies again.
 * Usage: verify_demo [DIR]   (default: ./verify-demo-db, created) */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>
#include <zlmdb.h>

/* Verify the environment in `dir` and print what was found; returns the
 * verifier's code. */
static int check(const char *dir)
{
    zlmdb_verify_summary sum = ZLMDB_VERIFY_SUMMARY_INIT;
    zlmdb_verify_report *report;
    size_t i, n;
    int rc = zlmdb_verify_path(dir, -1, NULL, &report);

    if (rc != ZLMDB_OK && rc != ZLMDB_VERIFY_FAILED) {
        /* Not verifiable at all: not an LMDB file, or unreadable. */
        fprintf(stderr, "%s: %s\n", zlmdb_strerror(rc), zlmdb_error_last());
        return rc;
    }
    zlmdb_verify_report_summary(report, &sum);
    printf("LMDB %d.%d file (data format %u), %u-byte pages, %llu in use, %llu entries\n",
           sum.lmdb_major, sum.lmdb_minor, sum.data_version, sum.page_size,
           (unsigned long long)sum.last_pgno + 1, (unsigned long long)sum.entries);
    n = zlmdb_verify_report_problem_count(report);
    for (i = 0; i < n; i++)
        printf("  problem: %s\n", zlmdb_verify_report_problem(report, i));
    printf("  %s\n", rc == ZLMDB_OK ? "sound: it may be opened" : "damaged: do not open it");
    zlmdb_verify_report_free(report);
    return rc;
}

static int fill(const char *dir)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    char kbuf[16];
    MDB_val key = {0, kbuf}, val = {5, "value"};
    int rc, i;

    if ((rc = mdb_env_create(&env)) || (rc = mdb_env_open(env, dir, 0, 0644)))
        return rc;
    if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) == 0 &&
        (rc = mdb_dbi_open(txn, NULL, 0, &dbi)) == 0) {
        for (i = 0; i < 1000 && rc == 0; i++) {
            key.mv_size = (size_t)snprintf(kbuf, sizeof(kbuf), "key-%04d", i);
            rc = mdb_put(txn, dbi, &key, &val, 0);
        }
        rc = rc ? (mdb_txn_abort(txn), rc) : mdb_txn_commit(txn);
    }
    mdb_env_close(env);
    return rc;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "verify-demo-db";
    char file[4096];
    struct stat st;
    int rc;

    mkdir(dir, 0755);
    snprintf(file, sizeof(file), "%s/data.mdb", dir);
    unlink(file);              /* start afresh: never open a damaged file */
    if ((rc = fill(dir)) != 0)
        return fprintf(stderr, "lmdb: %s\n", mdb_strerror(rc)), 1;
    if (check(dir) != ZLMDB_OK)
        return 1;

    if (stat(file, &st) != 0 || truncate(file, st.st_size - 4096) != 0)
        return perror(file), 1;
    printf("after cutting off the last page:\n");
    return check(dir) == ZLMDB_VERIFY_FAILED ? 0 : 1;
}

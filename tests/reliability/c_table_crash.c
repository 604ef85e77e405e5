/* System 1 through libzlmdb's C API: kill -9 during indexed table writes.
 *
 * The writer commits numbered transactions n = 1, 2, ... through
 * zlmdb_table_put_encoded()/zlmdb_table_delete_encoded() on a table with two
 * unique indexes whose keys a C callback computes (by_email, nullable, and
 * by_handle).  Transaction n updates WIDTH accounts (changing both index
 * keys; one in five loses its email, so its by_email entry goes), deletes one
 * more account every 4th n, appends journal[n] (every 10th is over 20 KB, on
 * overflow pages) and drops journal[n - KEEP], and sets marker = n.  One
 * transaction in twenty is aborted after all its writes.  After each commit
 * the writer prints n (acknowledged).
 *
 * The verifier reopens the environment after the SIGKILL and requires the
 * whole state to be exactly the state after transaction m (the marker), with
 * m >= the last acknowledged n when commits are durable: every expected
 * record and index entry present with the right bytes, and per-slot counts
 * equal to the expected ones, so no orphan index entry or stray record
 * exists.  It prints one JSON line {"marker", "problems", "records"}.
 *
 * Usage:  c_table_crash writer PATH SYNC LIBVER SEED
 *         c_table_crash verify PATH SYNC LIBVER LAST_ACKED STRONG
 * LIBVER is 9 (LMDB 0.9) or 10 (LMDB 1.0).  Driven by c_table_crash.py
 * (tests/reliability, the crash_kill campaign). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zlmdb.h>

#define ACCOUNTS 64
#define WIDTH 3
#define KEEP 40
#define S_ACCOUNTS 1
#define S_EMAIL 2
#define S_HANDLE 3
#define S_JOURNAL 4
#define S_META 5

struct account {
    int live;
    char email[48]; /* "" = none */
    char handle[24];
    unsigned long n;
};

struct db {
    const zlmdb_engine *eng;
    MDB_env *env;
    MDB_dbi dbi;
    zlmdb_table *accounts, *journal, *meta;
};

static char problems[8192];
static size_t nproblems;

static void problem(const char *fmt, ...)
{
    size_t len = strlen(problems);
    char text[300], *p;
    va_list ap;

    if (nproblems++ >= 20 || len > sizeof(problems) - 400)
        return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    for (p = text; *p; p++)          /* JSON-safe: the texts hold no quotes */
        if (*p == '"' || *p == '\\')
            *p = '\'';
    snprintf(problems + len, sizeof(problems) - len, "%s\"%s\"", len ? ", " : "", text);
}

static _Noreturn void die(const char *what, int rc)
{
    fprintf(stderr, "c_table_crash: %s: %s (%s)\n", what, zlmdb_strerror(rc),
            zlmdb_error_last() ? zlmdb_error_last() : "-");
    exit(2);
}

/* ------------------------------------------------------------ the plan */

static unsigned long account_oid(unsigned long n, int j)
{
    return (n * 7 + (unsigned long)j * 13) % ACCOUNTS + 1;
}

static unsigned long victim_of(unsigned long n)
{
    unsigned long v = n % 4 == 0 ? (n * 11) % ACCOUNTS + 1 : 0;
    int j;
    for (j = 0; j < WIDTH; j++)
        if (v == account_oid(n, j))
            return 0;
    return v;
}

static void account_at(unsigned long n, int j, struct account *a)
{
    unsigned long oid = account_oid(n, j);
    a->live = 1;
    a->n = n;
    if ((n + (unsigned long)j) % 5 == 0)
        a->email[0] = '\0';
    else
        snprintf(a->email, sizeof(a->email), "u%lu.%lu@example.org", oid, n);
    snprintf(a->handle, sizeof(a->handle), "h%lu.%lu", oid, n % 4);
}

/* The stored record: "email handle n", email "-" when there is none. */
static size_t account_bytes(const struct account *a, char *out, size_t cap)
{
    return (size_t)snprintf(out, cap, "%s %s %lu", a->email[0] ? a->email : "-", a->handle,
                            a->n);
}

static size_t journal_size(unsigned long n)
{
    return (n * 37) % 3000 + (n % 10 == 0 ? 20000 : 0);
}

static void journal_bytes(unsigned long n, zlmdb_buf *out)
{
    size_t i, size = journal_size(n);
    char head[32];
    int len = snprintf(head, sizeof(head), "n=%lu;", n);
    zlmdb_buf_clear(out);
    if (zlmdb_buf_append(out, head, (size_t)len))
        die("journal", ZLMDB_ENOMEM);
    for (i = 0; i < size; i++)
        if (zlmdb_buf_append(out, (n + i) % 7 == 0 ? "y" : "x", 1))
            die("journal", ZLMDB_ENOMEM);
}

static void expected_accounts(unsigned long m, struct account *acc)
{
    unsigned long n, v;
    int j;
    memset(acc, 0, sizeof(*acc) * (ACCOUNTS + 1));
    for (n = 1; n <= m; n++) {
        for (j = 0; j < WIDTH; j++)
            account_at(n, j, &acc[account_oid(n, j)]);
        if ((v = victim_of(n)) != 0)
            acc[v].live = 0;
    }
}

/* ------------------------------------------------------------ the table */

/* Index keys from the record's text: word 0 (email) or word 1 (handle). */
static int word_key(void *ctx, const zlmdb_record *rec, zlmdb_buf *out, int *is_null)
{
    const char *p = rec->value.mv_data, *end = p + rec->value.mv_size, *sp;
    int word = *(const int *)ctx;

    for (; word > 0; word--) {
        if ((sp = memchr(p, ' ', (size_t)(end - p))) == NULL)
            return ZLMDB_DECODE;
        p = sp + 1;
    }
    sp = memchr(p, ' ', (size_t)(end - p));
    if (sp == NULL)
        return ZLMDB_DECODE;
    if (sp - p == 1 && *p == '-') {
        *is_null = 1;
        return ZLMDB_OK;
    }
    return zlmdb_buf_append(out, p, (size_t)(sp - p));
}

static const int WORD_EMAIL = 0, WORD_HANDLE = 1;

static zlmdb_table *new_table(struct db *d, uint16_t slot, zlmdb_key_type kt)
{
    zlmdb_table_options o = ZLMDB_TABLE_OPTIONS_INIT;
    zlmdb_table *t;
    int rc;
    o.slot = slot;
    o.key.ncomp = 1;
    o.key.comp[0] = kt;
    o.engine = d->eng;
    if ((rc = zlmdb_table_new(&t, d->dbi, &o)))
        die("zlmdb_table_new", rc);
    return t;
}

static void add_index(zlmdb_table *t, const char *name, uint16_t slot, const int *word,
                      int nullable)
{
    zlmdb_index_options o = ZLMDB_INDEX_OPTIONS_INIT;
    int rc;
    o.name = name;
    o.slot = slot;
    o.key.ncomp = 1;
    o.key.comp[0] = ZLMDB_KEY_STRING;
    o.key_fn = word_key;
    o.ctx = (void *)word;
    o.unique = 1;
    o.nullable = nullable;
    if ((rc = zlmdb_table_add_index(t, &o)))
        die("zlmdb_table_add_index", rc);
}

static void open_db(struct db *d, const char *path, int sync, int libver)
{
    MDB_txn *txn;
    int rc;

    if ((rc = zlmdb_engine_get(libver == 10 ? ZLMDB_LIB_VERSION_1_0 : ZLMDB_LIB_VERSION_0_9,
                               &d->eng)))
        die("zlmdb_engine_get", rc);
    mkdir(path, 0755);
    if ((rc = d->eng->env_create(&d->env)) ||
        (rc = d->eng->env_set_mapsize(d->env, (size_t)64 << 20)) ||
        (rc = d->eng->env_open(d->env, path, sync ? 0 : MDB_NOSYNC | MDB_NOMETASYNC, 0644)))
        die("env_open", rc);
    if ((rc = d->eng->txn_begin(d->env, NULL, MDB_RDONLY, &txn)) ||
        (rc = d->eng->dbi_open(txn, NULL, 0, &d->dbi)))
        die("dbi_open", rc);
    d->eng->txn_abort(txn);
    d->accounts = new_table(d, S_ACCOUNTS, ZLMDB_KEY_OID);
    add_index(d->accounts, "by_email", S_EMAIL, &WORD_EMAIL, 1);
    add_index(d->accounts, "by_handle", S_HANDLE, &WORD_HANDLE, 0);
    d->journal = new_table(d, S_JOURNAL, ZLMDB_KEY_OID);
    d->meta = new_table(d, S_META, ZLMDB_KEY_STRING);
}

static MDB_val oid_key(unsigned long oid, unsigned char buf[8])
{
    MDB_val k;
    int i;
    for (i = 7; i >= 0; i--, oid >>= 8)
        buf[i] = (unsigned char)(oid & 0xff);
    k.mv_size = 8;
    k.mv_data = buf;
    return k;
}

static const MDB_val MARKER = {6, (void *)"marker"};

static unsigned long read_marker(struct db *d, MDB_txn *txn)
{
    zlmdb_key_value kv;
    MDB_val v;
    char text[32];
    int rc;

    memset(&kv, 0, sizeof(kv));
    kv.data = (const unsigned char *)MARKER.mv_data;
    kv.len = MARKER.mv_size;
    rc = zlmdb_table_get(d->meta, txn, &kv, &v);
    if (rc == ZLMDB_NOTFOUND)
        return 0;
    if (rc)
        die("read marker", rc);
    if (v.mv_size == 0 || v.mv_size >= sizeof(text))
        die("marker size", ZLMDB_DECODE);
    memcpy(text, v.mv_data, v.mv_size);
    text[v.mv_size] = '\0';
    return strtoul(text, NULL, 10);
}

/* ------------------------------------------------------------ the writer */

static void checked(int rc, const zlmdb_table_writes *w, const char *what)
{
    if (rc == ZLMDB_OK)
        return;
    /* Nothing in the plan is refused: any error is a finding. */
    fprintf(stderr, "c_table_crash: %s failed (%s, midway %d): %s\n", what,
            zlmdb_strerror(rc), w ? w->midway : 0, zlmdb_error_last() ? zlmdb_error_last() : "-");
    exit(3);
}

static _Noreturn void writer(const char *path, int sync, int libver, unsigned long seed)
{
    struct db d;
    zlmdb_buf jbuf = ZLMDB_BUF_INIT;
    zlmdb_table_writes w;
    MDB_txn *txn;
    unsigned long n, v;
    uint64_t rnd = seed * 2654435761u + 1;
    int rc, j;

    open_db(&d, path, sync, libver);
    if ((rc = d.eng->txn_begin(d.env, NULL, MDB_RDONLY, &txn)))
        die("txn_begin", rc);
    n = read_marker(&d, txn);
    d.eng->txn_abort(txn);
    printf("R %lu\n", n);
    fflush(stdout);
    for (;;) {
        unsigned char kb[8];
        char rec[128], num[32];
        MDB_val k;
        n++;
        if ((rc = d.eng->txn_begin(d.env, NULL, 0, &txn)))
            die("txn_begin", rc);
        for (j = 0; j < WIDTH; j++) {
            struct account a;
            size_t len;
            account_at(n, j, &a);
            len = account_bytes(&a, rec, sizeof(rec));
            k = oid_key(account_oid(n, j), kb);
            checked(zlmdb_table_put_encoded(d.accounts, txn, &k, rec, len, NULL, 0, &w), &w,
                    "account put");
        }
        if ((v = victim_of(n)) != 0) {
            k = oid_key(v, kb);
            rc = zlmdb_table_delete_encoded(d.accounts, txn, &k, &w);
            if (rc != ZLMDB_NOTFOUND)
                checked(rc, &w, "account delete");
        }
        journal_bytes(n, &jbuf);
        k = oid_key(n, kb);
        checked(zlmdb_table_put_encoded(d.journal, txn, &k, jbuf.ptr, jbuf.size, NULL, 0, &w),
                &w, "journal put");
        if (n > KEEP) {
            k = oid_key(n - KEEP, kb);
            checked(zlmdb_table_delete_encoded(d.journal, txn, &k, &w), &w, "journal delete");
        }
        snprintf(num, sizeof(num), "%lu", n);
        checked(zlmdb_table_put_encoded(d.meta, txn, &MARKER, num, strlen(num), NULL, 0, &w), &w,
                "marker put");
        rnd ^= rnd << 13;
        rnd ^= rnd >> 7;
        rnd ^= rnd << 17;
        if (rnd % 20 == 0) {
            d.eng->txn_abort(txn);
            n--;
            continue;
        }
        if ((rc = d.eng->txn_commit(txn)))
            die("txn_commit", rc);
        printf("%lu\n", n);
        fflush(stdout);
    }
}

/* ------------------------------------------------------------ the verifier */

static int same(MDB_val v, const void *data, size_t len)
{
    return v.mv_size == len && memcmp(v.mv_data, data, len) == 0;
}

static void check_index(struct db *d, MDB_txn *txn, const char *name, const char *key,
                        unsigned long oid)
{
    zlmdb_key_value kv;
    unsigned char kb[8];
    MDB_val pk, want = oid_key(oid, kb);
    int rc;

    memset(&kv, 0, sizeof(kv));
    kv.data = (const unsigned char *)key;
    kv.len = strlen(key);
    rc = zlmdb_table_index_get(d->accounts, txn, name, &kv, &pk);
    if (rc == ZLMDB_NOTFOUND)
        problem("%s entry %s of account %lu missing", name, key, oid);
    else if (rc)
        die("index_get", rc);
    else if (!same(pk, want.mv_data, 8))
        problem("%s entry %s does not point at account %lu", name, key, oid);
}

static size_t slot_count(struct db *d, MDB_txn *txn, uint16_t slot)
{
    size_t c = 0;
    int rc;
    if ((rc = zlmdb_slot_count(d->eng, txn, d->dbi, slot, &c)))
        die("slot_count", rc);
    return c;
}

static void check_count(struct db *d, MDB_txn *txn, uint16_t slot, size_t want)
{
    size_t got = slot_count(d, txn, slot);
    if (got != want)
        problem("slot %u holds %zu keys, not %zu (orphan or missing entries)", (unsigned)slot,
                got, want);
}

static int verify(const char *path, int sync, int libver, unsigned long last, int strong)
{
    struct account acc[ACCOUNTS + 1];
    struct db d;
    zlmdb_buf jbuf = ZLMDB_BUF_INIT;
    MDB_txn *txn;
    unsigned long m, n, oid;
    size_t live = 0, emails = 0, journals = 0, records;
    int rc;

    open_db(&d, path, sync, libver);
    if ((rc = d.eng->txn_begin(d.env, NULL, MDB_RDONLY, &txn)))
        die("txn_begin", rc);
    m = read_marker(&d, txn);
    expected_accounts(m, acc);
    for (oid = 1; oid <= ACCOUNTS; oid++) {
        zlmdb_key_value kv;
        MDB_val v;
        char rec[128];
        size_t len;
        memset(&kv, 0, sizeof(kv));
        kv.u = oid;
        rc = zlmdb_table_get(d.accounts, txn, &kv, &v);
        if (!acc[oid].live) {
            if (rc != ZLMDB_NOTFOUND)
                problem("account %lu exists after txn %lu deleted it or never made it", oid, m);
            continue;
        }
        live++;
        if (rc) {
            problem("account %lu missing after txn %lu", oid, m);
            continue;
        }
        len = account_bytes(&acc[oid], rec, sizeof(rec));
        if (!same(v, rec, len))
            problem("account %lu is not its state after txn %lu", oid, m);
        if (acc[oid].email[0]) {
            emails++;
            check_index(&d, txn, "by_email", acc[oid].email, oid);
        }
        check_index(&d, txn, "by_handle", acc[oid].handle, oid);
    }
    for (n = m > KEEP ? m - KEEP + 1 : 1; n <= m; n++) {
        zlmdb_key_value kv;
        MDB_val v;
        memset(&kv, 0, sizeof(kv));
        kv.u = n;
        journals++;
        journal_bytes(n, &jbuf);
        if ((rc = zlmdb_table_get(d.journal, txn, &kv, &v)))
            problem("journal %lu missing (m=%lu)", n, m);
        else if (!same(v, jbuf.ptr, jbuf.size))
            problem("journal %lu differs (m=%lu)", n, m);
    }
    /* Counts: nothing beyond what was checked above (no orphan entry). */
    check_count(&d, txn, S_ACCOUNTS, live);
    check_count(&d, txn, S_EMAIL, emails);
    check_count(&d, txn, S_HANDLE, live);
    check_count(&d, txn, S_JOURNAL, journals);
    check_count(&d, txn, S_META, m ? 1 : 0);
    records = slot_count(&d, txn, S_ACCOUNTS) + slot_count(&d, txn, S_EMAIL) +
              slot_count(&d, txn, S_HANDLE) + slot_count(&d, txn, S_JOURNAL) +
              slot_count(&d, txn, S_META);
    d.eng->txn_abort(txn);
    if (strong && m < last)
        problem("lost acknowledged commits: marker %lu < acked %lu", m, last);
    zlmdb_buf_dispose(&jbuf);
    zlmdb_table_free(d.accounts);
    zlmdb_table_free(d.journal);
    zlmdb_table_free(d.meta);
    d.eng->env_close(d.env);
    printf("{\"marker\": %lu, \"problems\": [%s], \"records\": %zu}\n", m, problems, records);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "writer") == 0)
        writer(argv[2], atoi(argv[3]), atoi(argv[4]), strtoul(argv[5], NULL, 10));
    if (argc == 7 && strcmp(argv[1], "verify") == 0)
        return verify(argv[2], atoi(argv[3]), atoi(argv[4]), strtoul(argv[5], NULL, 10),
                      atoi(argv[6]));
    fprintf(stderr, "usage: c_table_crash writer PATH SYNC LIBVER SEED\n"
                    "       c_table_crash verify PATH SYNC LIBVER LAST_ACKED STRONG\n");
    return 64;
}

/* The slot registry, the catalog, and counting and clearing slots. */
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static MDB_env *env;
static MDB_dbi dbi;

#define OID_A "5f4d6a3e-7c1b-4c2e-9a31-0b8d2f6e1a01"
#define OID_B "5f4d6a3e-7c1b-4c2e-9a31-0b8d2f6e1a02"

static int open_env(void)
{
    MDB_txn *txn;
    int rc;

    if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_mapsize(env, 1 << 22)) ||
        (rc = mdb_env_open(env, ".", 0, 0644)) || (rc = mdb_txn_begin(env, NULL, 0, &txn)))
        return rc;
    if ((rc = mdb_dbi_open(txn, NULL, 0, &dbi)))
        return rc;
    return mdb_txn_commit(txn);
}

static int put_raw(MDB_txn *txn, const void *k, size_t klen, const void *v, size_t vlen)
{
    MDB_val key, val;
    key.mv_data = (void *)k;
    key.mv_size = klen;
    val.mv_data = (void *)v;
    val.mv_size = vlen;
    return mdb_put(txn, dbi, &key, &val, 0);
}

static int attach(MDB_txn *txn, const char *oid, const char *name, unsigned flags,
                  uint16_t *slot, int *created)
{
    zlmdb_slot_record rec = ZLMDB_SLOT_RECORD_INIT;
    rec.oid = oid;
    rec.name = name;
    rec.creator = "unknown";
    return zlmdb_registry_attach(NULL, txn, dbi, &rec, flags, slot, created);
}

void test_registry__record_bytes_are_upstreams(void)
{
    /* cbor2.dumps({"oid": OID_A, "name": "Users", "creator": "unknown", "slot": 1}) */
    static const unsigned char head[] = {0xa4, 0x63, 'o', 'i', 'd', 0x78, 0x24};
    static const unsigned char tail[] = {0x64, 'n', 'a', 'm', 'e', 0x65, 'U', 's', 'e', 'r',
                                         's', 0x67, 'c', 'r', 'e', 'a', 't', 'o', 'r', 0x67,
                                         'u', 'n', 'k', 'n', 'o', 'w', 'n', 0x64, 's', 'l',
                                         'o', 't', 0x01};
    static const unsigned char key[] = {0, 0, 0, 1};
    MDB_txn *txn;
    MDB_val k, v;
    uint16_t slot = 0;
    int created = 0;

    CHECK_OK(open_env());
    CHECK_OK(mdb_txn_begin(env, NULL, 0, &txn));
    CHECK_OK(attach(txn, OID_A, "Users", 0, &slot, &created));
    CHECK(slot == 1 && created == 1);
    k.mv_data = (void *)key;
    k.mv_size = 4;
    CHECK_OK(mdb_get(txn, dbi, &k, &v));
    CHECK(v.mv_size == sizeof(head) + 36 + sizeof(tail));
    CHECK_MEM(v.mv_data, head, sizeof(head));
    CHECK_MEM((char *)v.mv_data + sizeof(head), OID_A, 36);
    CHECK_MEM((char *)v.mv_data + sizeof(head) + 36, tail, sizeof(tail));
    mdb_txn_abort(txn);
    mdb_env_close(env);
}

void test_registry__finds_by_oid_and_allocates_after_the_highest(void)
{
    static const unsigned char k9[] = {0, 0, 0, 9};
    static const unsigned char junk[] = {0x01};
    MDB_txn *txn;
    uint16_t slot = 0;
    int created = -1;

    CHECK_OK(open_env());
    CHECK_OK(mdb_txn_begin(env, NULL, 0, &txn));
    CHECK_OK(attach(txn, OID_A, "A", 0, &slot, &created));
    CHECK(slot == 1 && created == 1);
    CHECK_OK(attach(txn, OID_A, "A", 0, &slot, &created));
    CHECK(slot == 1 && created == 0);
    /* A record that is no CBOR map is skipped, but its slot is taken. */
    CHECK_OK(put_raw(txn, k9, 4, junk, 1));
    CHECK_OK(attach(txn, OID_B, "B", 0, &slot, &created));
    CHECK(slot == 10 && created == 1);
    CHECK_OK(mdb_txn_commit(txn));

    CHECK_OK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn));
    CHECK_OK(attach(txn, OID_B, "B", ZLMDB_REGISTRY_FIND_ONLY, &slot, &created));
    CHECK(slot == 10 && created == 0);
    CHECK_RC(attach(txn, "5f4d6a3e-7c1b-4c2e-9a31-0b8d2f6e1a03", "C",
                    ZLMDB_REGISTRY_FIND_ONLY, &slot, &created), ZLMDB_NOTFOUND);
    CHECK(strstr(zlmdb_error_last(), "no slot in the registry") != NULL);
    mdb_txn_abort(txn);
    mdb_env_close(env);
}

void test_registry__no_slot_after_65535(void)
{
    static const unsigned char kmax[] = {0, 0, 0xff, 0xff};
    MDB_txn *txn;
    uint16_t slot = 0;

    CHECK_OK(open_env());
    CHECK_OK(mdb_txn_begin(env, NULL, 0, &txn));
    CHECK_OK(put_raw(txn, kmax, 4, "\xa0", 1));
    CHECK_RC(attach(txn, OID_A, "A", 0, &slot, NULL), ZLMDB_NOTFOUND);
    CHECK(strstr(zlmdb_error_last(), "no free slot") != NULL);
    mdb_txn_abort(txn);
    mdb_env_close(env);
}

void test_registry__bad_arguments_are_refused(void)
{
    zlmdb_slot_record rec = ZLMDB_SLOT_RECORD_INIT;
    MDB_txn *txn;
    uint16_t slot;

    CHECK_OK(open_env());
    CHECK_OK(mdb_txn_begin(env, NULL, 0, &txn));
    CHECK_RC(zlmdb_registry_attach(NULL, txn, dbi, &rec, 0, &slot, NULL), ZLMDB_EINVAL);
    rec.oid = OID_A;
    rec.name = "A";
    rec.version = 99;
    CHECK_RC(zlmdb_registry_attach(NULL, txn, dbi, &rec, 0, &slot, NULL), ZLMDB_EINVAL);
    CHECK_RC(zlmdb_catalog_put(NULL, txn, dbi, 0, "\xa0", 1), ZLMDB_EINVAL);
    CHECK_RC(zlmdb_catalog_put(NULL, txn, dbi, 1, "\xa1", 1), ZLMDB_EINVAL);
    CHECK_RC(zlmdb_slot_count(NULL, txn, dbi, 1, NULL), ZLMDB_EINVAL);
    mdb_txn_abort(txn);
    mdb_env_close(env);
}

struct seen {
    uint16_t slots[8];
    int n;
};

static int collect(uint16_t slot, const MDB_val *record, void *payload)
{
    struct seen *s = payload;
    (void)record;
    if (s->n < 8)
        s->slots[s->n++] = slot;
    return 0;
}

void test_registry__catalog_is_invisible_to_the_registry(void)
{
    MDB_txn *txn;
    MDB_val cat, entry;
    struct seen s;
    uint16_t slot;

    memset(&s, 0, sizeof(s));
    CHECK_OK(open_env());
    CHECK_OK(mdb_txn_begin(env, NULL, 0, &txn));
    CHECK_RC(zlmdb_catalog_read(NULL, txn, dbi, &cat), ZLMDB_NOTFOUND);
    CHECK_OK(attach(txn, OID_A, "A", 0, &slot, NULL));
    CHECK_OK(zlmdb_catalog_put(NULL, txn, dbi, 1, "\x61x", 2));     /* "x" */
    CHECK_OK(attach(txn, OID_B, "B", 0, &slot, NULL));
    CHECK(slot == 2);                 /* the 3-byte catalog key takes no slot */
    CHECK_OK(zlmdb_registry_foreach(NULL, txn, dbi, collect, &s));
    CHECK(s.n == 2 && s.slots[0] == 1 && s.slots[1] == 2);
    CHECK_OK(zlmdb_catalog_get(NULL, txn, dbi, 1, &entry));
    CHECK(entry.mv_size == 2);
    CHECK_MEM(entry.mv_data, "\x61x", 2);
    CHECK_OK(zlmdb_catalog_read(NULL, txn, dbi, &cat));
    CHECK(cat.mv_size == 4);
    CHECK_MEM(cat.mv_data, "\xa1\x01\x61x", 4);
    mdb_txn_abort(txn);
    mdb_env_close(env);
}

void test_registry__catalog_put_keeps_other_entries_in_slot_order(void)
{
    /* {1: [1, {"a": 2}], 3: "c"}, then 2 added, 1 replaced, 3 removed. */
    static const unsigned char e1[] = {0x82, 0x01, 0xa1, 0x61, 'a', 0x02};
    static const unsigned char want[] = {0xa2, 0x01, 0xf6, 0x02, 0xd8, 0x25, 0x40};
    MDB_txn *txn;
    MDB_val cat, entry;

    CHECK_OK(open_env());
    CHECK_OK(mdb_txn_begin(env, NULL, 0, &txn));
    CHECK_OK(zlmdb_catalog_put(NULL, txn, dbi, 3, "\x61" "c", 2));
    CHECK_OK(zlmdb_catalog_put(NULL, txn, dbi, 1, e1, sizeof(e1)));
    CHECK_OK(zlmdb_catalog_get(NULL, txn, dbi, 1, &entry));
    CHECK(entry.mv_size == sizeof(e1));
    CHECK_MEM(entry.mv_data, e1, sizeof(e1));
    CHECK_OK(zlmdb_catalog_put(NULL, txn, dbi, 2, "\xd8\x25\x40", 3));   /* tagged */
    CHECK_OK(zlmdb_catalog_put(NULL, txn, dbi, 1, "\xf6", 1));
    CHECK_OK(zlmdb_catalog_put(NULL, txn, dbi, 3, NULL, 0));
    CHECK_OK(zlmdb_catalog_put(NULL, txn, dbi, 7, NULL, 0));             /* absent: no-op */
    CHECK_OK(zlmdb_catalog_read(NULL, txn, dbi, &cat));
    CHECK(cat.mv_size == sizeof(want));
    CHECK_MEM(cat.mv_data, want, sizeof(want));
    CHECK_RC(zlmdb_catalog_get(NULL, txn, dbi, 3, &entry), ZLMDB_NOTFOUND);
    mdb_txn_abort(txn);
    mdb_env_close(env);
}

void test_registry__corrupt_catalog_is_reported_not_overwritten(void)
{
    MDB_txn *txn;
    MDB_val cat, entry;

    CHECK_OK(open_env());
    CHECK_OK(mdb_txn_begin(env, NULL, 0, &txn));
    CHECK_OK(put_raw(txn, ZLMDB_CATALOG_KEY, ZLMDB_CATALOG_KEY_LEN, "\xa1\x61x\x01", 4));
    CHECK_RC(zlmdb_catalog_get(NULL, txn, dbi, 1, &entry), ZLMDB_DECODE);
    CHECK_RC(zlmdb_catalog_put(NULL, txn, dbi, 1, "\x01", 1), ZLMDB_DECODE);
    CHECK_OK(put_raw(txn, ZLMDB_CATALOG_KEY, ZLMDB_CATALOG_KEY_LEN, "\xa2\x01\x01", 3));
    CHECK_RC(zlmdb_catalog_put(NULL, txn, dbi, 1, "\x01", 1), ZLMDB_TRUNCATED);
    CHECK_OK(zlmdb_catalog_read(NULL, txn, dbi, &cat));
    CHECK(cat.mv_size == 3);
    mdb_txn_abort(txn);
    mdb_env_close(env);
}

void test_registry__slot_count_and_clear_stay_in_their_slot(void)
{
    static const unsigned char keys[][3] = {{0, 1, 1}, {0, 2, 1}, {0, 2, 2}, {0, 3, 0}};
    MDB_txn *txn;
    size_t n = 99;
    int i;

    CHECK_OK(open_env());
    CHECK_OK(mdb_txn_begin(env, NULL, 0, &txn));
    for (i = 0; i < 4; i++)
        CHECK_OK(put_raw(txn, keys[i], 3, "v", 1));
    CHECK_OK(zlmdb_slot_count(NULL, txn, dbi, 2, &n));
    CHECK(n == 2);
    CHECK_OK(zlmdb_slot_count(NULL, txn, dbi, 9, &n));
    CHECK(n == 0);
    CHECK_OK(zlmdb_slot_clear(NULL, txn, dbi, 2, &n));
    CHECK(n == 2);
    CHECK_OK(zlmdb_slot_count(NULL, txn, dbi, 2, &n));
    CHECK(n == 0);
    CHECK_OK(zlmdb_slot_count(NULL, txn, dbi, 1, &n));
    CHECK(n == 1);
    CHECK_OK(zlmdb_slot_count(NULL, txn, dbi, 3, &n));
    CHECK(n == 1);
    mdb_txn_abort(txn);
    mdb_env_close(env);
}

/* Two processes attach different tables at once, many times: each
 * attach reads and writes the registry in one write transaction, so they
 * never get the same slot. */
void test_registry__concurrent_attaches_get_distinct_slots(void)
{
    int round;

    for (round = 0; round < 20; round++) {
        char dir[64];
        int status, p[2], q[2];
        pid_t child;
        uint16_t mine = 0, theirs = 0;
        MDB_txn *txn;
        char go;

        snprintf(dir, sizeof(dir), "r%d", round);
        CHECK(mkdir(dir, 0755) == 0 && chdir(dir) == 0);
        CHECK(pipe(p) == 0 && pipe(q) == 0);
        child = fork();
        CHECK(child >= 0);
        if (child == 0) {
            /* both open, then both attach when the parent says go */
            if (open_env() || write(q[1], "r", 1) != 1 || read(p[0], &go, 1) != 1 ||
                mdb_txn_begin(env, NULL, 0, &txn) ||
                attach(txn, OID_B, "B", 0, &mine, NULL) || mdb_txn_commit(txn) ||
                write(q[1], &mine, sizeof(mine)) != sizeof(mine))
                _exit(1);
            mdb_env_close(env);
            _exit(0);
        }
        CHECK_OK(open_env());
        CHECK(read(q[0], &go, 1) == 1);
        CHECK(write(p[1], "g", 1) == 1);
        CHECK_OK(mdb_txn_begin(env, NULL, 0, &txn));
        CHECK_OK(attach(txn, OID_A, "A", 0, &mine, NULL));
        CHECK_OK(mdb_txn_commit(txn));
        CHECK(read(q[0], &theirs, sizeof(theirs)) == sizeof(theirs));
        CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
              WEXITSTATUS(status) == 0);
        CHECK(mine != theirs && mine >= 1 && mine <= 2 && theirs >= 1 && theirs <= 2);
        mdb_env_close(env);
        close(p[0]); close(p[1]); close(q[0]); close(q[1]);
        CHECK(chdir("..") == 0);
    }
}

static int fail_after;
static void *fi_malloc(size_t s, void *p) { (void)p; return fail_after-- > 0 ? malloc(s) : NULL; }
static void *fi_realloc(void *o, size_t s, void *p)
{
    (void)p;
    return fail_after-- > 0 ? realloc(o, s) : NULL;
}
static void fi_free(void *o, void *p) { (void)p; free(o); }

/* Fail the k-th allocation, k = 0, 1, ...: attaching and writing the
 * catalog entry either succeed or report ENOMEM with nothing written. */
void test_registry__allocation_failures_are_clean(void)
{
    zlmdb_allocator fa = {ZLMDB_ALLOCATOR_VERSION, fi_malloc, fi_realloc, fi_free, NULL};
    int k, rc = -1;

    CHECK_OK(open_env());
    for (k = 0; k < 40 && rc != 0; k++) {
        MDB_txn *txn;
        MDB_val v;
        uint16_t slot;

        CHECK_OK(mdb_txn_begin(env, NULL, 0, &txn));
        CHECK_OK(zlmdb_set_allocator(&fa));
        fail_after = k;
        rc = attach(txn, OID_A, "A", 0, &slot, NULL);
        if (rc == 0)
            rc = zlmdb_catalog_put(NULL, txn, dbi, slot, "\xa1\x61k\x01", 4);
        fail_after = 1 << 30;
        CHECK_OK(zlmdb_set_allocator(NULL));
        CHECK(rc == 0 || rc == ZLMDB_ENOMEM);
        if (rc == 0) {
            CHECK_OK(mdb_txn_commit(txn));
        } else {
            mdb_txn_abort(txn);
            CHECK_OK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn));
            CHECK_RC(zlmdb_catalog_read(NULL, txn, dbi, &v), ZLMDB_NOTFOUND);
            CHECK_RC(attach(txn, OID_A, "A", ZLMDB_REGISTRY_FIND_ONLY, &slot, NULL),
                     ZLMDB_NOTFOUND);
            mdb_txn_abort(txn);
        }
    }
    CHECK(rc == 0 && k > 1);
    mdb_env_close(env);
}

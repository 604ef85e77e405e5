/*
 * bench_raw_lmdb - the raw LMDB peer of the "lowlevel" benchmark suite.
 *
 * Runs one workload against LMDB's C API and prints one JSON result line,
 * exactly as the Python child (bench/child.py) does for py-lmdb and
 * zlmdb.lmdb.  It is the physical floor: the same keys, values, orders and
 * environment settings, with no interpreter in the way.
 *
 *   bench_raw_lmdb_v09 --workload put_seq --dir /tmp/x --records 1000000
 *                  [--seed 42] [--lookups 100000] [--txns 10000] [--batch 1000]
 *                  [--lib_version 0]
 * (bench_raw_lmdb_v10 is the same program built on the LMDB 1.0 engine.)
 *
 * Exit status: 0 = result printed; 3 = workload unknown to this binary (the
 * runner reports the pair as n/a); 1 = failure (the runner reports a crash).
 *
 * The data generator must stay identical to bench/datagen.py; the contract
 * is written down there and in bench/README.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lmdb.h>

#define KEY_SIZE 16
#define VAL_SIZE 100
#define PAD_SIZE (VAL_SIZE - KEY_SIZE)
#define MAP_SIZE ((size_t)2 << 30) /* 2 GiB, as in the Python workloads */
#define EXIT_UNAVAILABLE 3

/* ------------------------------------------------------------ data generator */

#define GOLDEN UINT64_C(0x9E3779B97F4A7C15)

/* splitmix64's output function, without the state increment. */
static uint64_t fmix(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* The standard splitmix64 generator: state += GOLDEN, return fmix(state). */
static uint64_t stream_next(uint64_t *state)
{
    *state += GOLDEN;
    return fmix(*state);
}

static void put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

struct dataset {
    uint64_t n;
    unsigned char *keys; /**< n * KEY_SIZE, key(i) at i * KEY_SIZE */
    unsigned char *vals; /**< n * VAL_SIZE, value(i) at i * VAL_SIZE */
};

/* key(i) = be64(i) || be64(fmix(i ^ salt)); value(i) = key(i) || pad, where
 * salt is the first output of splitmix64(seed) and pad the first 84 bytes of
 * its next 11 outputs, big-endian. Sorted key order is therefore i order. */
static int dataset_init(struct dataset *d, uint64_t n, uint64_t seed)
{
    uint64_t st = seed;
    uint64_t salt = stream_next(&st);
    unsigned char padbuf[88];

    for (int w = 0; w < 11; w++)
        put_be64(padbuf + 8 * w, stream_next(&st));
    d->n = n;
    d->keys = malloc(n ? n * KEY_SIZE : 1);
    d->vals = malloc(n ? n * VAL_SIZE : 1);
    if (!d->keys || !d->vals)
        return ENOMEM;
    for (uint64_t i = 0; i < n; i++) {
        unsigned char *k = d->keys + i * KEY_SIZE;
        unsigned char *v = d->vals + i * VAL_SIZE;
        put_be64(k, i);
        put_be64(k + 8, fmix(i ^ salt));
        memcpy(v, k, KEY_SIZE);
        memcpy(v + KEY_SIZE, padbuf, PAD_SIZE);
    }
    return 0;
}

/* Fisher-Yates driven by splitmix64(seed): for j = n-1 .. 1, swap a[j] with
 * a[next() % (j + 1)]. The modulo bias is kept on purpose: Python does the same. */
static uint64_t *permutation(uint64_t n, uint64_t seed)
{
    uint64_t *a = malloc(n ? n * sizeof *a : 1);
    uint64_t st = seed;

    if (!a)
        return NULL;
    for (uint64_t i = 0; i < n; i++)
        a[i] = i;
    for (uint64_t j = n ? n - 1 : 0; j >= 1; j--) {
        uint64_t k = stream_next(&st) % (j + 1);
        uint64_t t = a[j];
        a[j] = a[k];
        a[k] = t;
    }
    return a;
}

/* FNV-1a 64 over the generated data, so bench/datagen.py can prove that both
 * sides produce the same bytes (`bench_raw_lmdb --digest`; run.py --check-data). */
static uint64_t fnv1a(uint64_t h, const unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= UINT64_C(0x100000001B3);
    }
    return h;
}

static uint64_t digest_perm(uint64_t h, const uint64_t *a, uint64_t n)
{
    unsigned char b[8];
    for (uint64_t i = 0; i < n; i++) {
        put_be64(b, a[i]);
        h = fnv1a(h, b, 8);
    }
    return h;
}

static int print_digest(uint64_t n, uint64_t seed)
{
    const uint64_t basis = UINT64_C(0xCBF29CE484222325);
    struct dataset d;
    uint64_t *p1, *p2;

    if (dataset_init(&d, n, seed) != 0)
        return 1;
    p1 = permutation(n, seed + 1);
    p2 = permutation(n, seed + 2);
    if (!p1 || !p2)
        return 1;
    printf("{\"keys\": \"%016" PRIx64 "\", \"values\": \"%016" PRIx64 "\", "
           "\"put_order\": \"%016" PRIx64 "\", \"get_order\": \"%016" PRIx64 "\"}\n",
           fnv1a(basis, d.keys, n * KEY_SIZE), fnv1a(basis, d.vals, n * VAL_SIZE),
           digest_perm(basis, p1, n), digest_perm(basis, p2, n));
    free(p1);
    free(p2);
    free(d.keys);
    free(d.vals);
    return 0;
}

/* ------------------------------------------------------------ helpers */

struct params {
    const char *workload;
    const char *dir;
    uint64_t records;
    uint64_t seed;
    uint64_t lookups;
    uint64_t txns;
    uint64_t batch;
    int digest; /**< print the data digest instead of running a workload */
    uint64_t lib_version; /**< the engine the suite asks for; must be ours */
};

struct result {
    uint64_t ops;
    double seconds;
    double commit_seconds; /**< < 0 when the workload has no final commit */
    double setup_seconds;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "bench_raw_lmdb: %s: %s\n", what, mdb_strerror(rc));
    return 1;
}

#define CHECK(call, what)            \
    do {                             \
        int rc_ = (call);            \
        if (rc_ != MDB_SUCCESS)      \
            return fail((what), rc_); \
    } while (0)

/* py-lmdb's lmdb.open() defaults, which the Python workloads use: sync and
 * metasync on, no writemap, readahead on, 126 readers, the main DB only.
 * py-lmdb always adds MDB_NOTLS, so we do too. */
static int open_env(const char *dir, MDB_env **out)
{
    MDB_env *env;

    CHECK(mdb_env_create(&env), "mdb_env_create");
    CHECK(mdb_env_set_mapsize(env, MAP_SIZE), "mdb_env_set_mapsize");
    CHECK(mdb_env_set_maxreaders(env, 126), "mdb_env_set_maxreaders");
    CHECK(mdb_env_open(env, dir, MDB_NOTLS, 0755), "mdb_env_open");
    *out = env;
    return 0;
}

static void set_val(MDB_val *v, unsigned char *p, size_t len)
{
    v->mv_data = p;
    v->mv_size = len;
}

/* Untimed: write every record in sorted order in one transaction. */
static int populate(MDB_env *env, MDB_dbi dbi, const struct dataset *d)
{
    MDB_txn *txn;
    MDB_val k, v;

    CHECK(mdb_txn_begin(env, NULL, 0, &txn), "populate begin");
    for (uint64_t i = 0; i < d->n; i++) {
        set_val(&k, d->keys + i * KEY_SIZE, KEY_SIZE);
        set_val(&v, d->vals + i * VAL_SIZE, VAL_SIZE);
        CHECK(mdb_put(txn, dbi, &k, &v, 0), "populate put");
    }
    CHECK(mdb_txn_commit(txn), "populate commit");
    return 0;
}

/* Guards the timed loops against a silently wrong database. */
static int expect_value(const MDB_val *v, const struct dataset *d, uint64_t i)
{
    if (v->mv_size != VAL_SIZE || memcmp(v->mv_data, d->vals + i * VAL_SIZE, VAL_SIZE) != 0) {
        fprintf(stderr, "bench_raw_lmdb: wrong value for record %" PRIu64 "\n", i);
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------ workloads */

/* One write txn, one mdb_put per record, in `order` (NULL = sorted). */
static int wl_put(MDB_env *env, MDB_dbi dbi, const struct dataset *d, const uint64_t *order,
                  int use_cursor, struct result *r)
{
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    double t0, t1;

    CHECK(mdb_txn_begin(env, NULL, 0, &txn), "begin");
    t0 = now();
    if (use_cursor)
        CHECK(mdb_cursor_open(txn, dbi, &cur), "cursor_open");
    for (uint64_t j = 0; j < d->n; j++) {
        uint64_t i = order ? order[j] : j;
        set_val(&k, d->keys + i * KEY_SIZE, KEY_SIZE);
        set_val(&v, d->vals + i * VAL_SIZE, VAL_SIZE);
        if (use_cursor)
            CHECK(mdb_cursor_put(cur, &k, &v, 0), "cursor_put");
        else
            CHECK(mdb_put(txn, dbi, &k, &v, 0), "put");
    }
    if (cur)
        mdb_cursor_close(cur);
    t1 = now();
    CHECK(mdb_txn_commit(txn), "commit");
    r->ops = d->n;
    r->seconds = t1 - t0;
    r->commit_seconds = now() - t1;
    return 0;
}

/* One read txn, one mdb_get (or cursor MDB_SET_KEY) per key in `order`. */
static int wl_get(MDB_env *env, MDB_dbi dbi, const struct dataset *d, const uint64_t *order,
                  int use_cursor, struct result *r)
{
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint64_t bad = 0;
    double t0;

    CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), "begin");
    t0 = now();
    if (use_cursor)
        CHECK(mdb_cursor_open(txn, dbi, &cur), "cursor_open");
    for (uint64_t j = 0; j < d->n; j++) {
        uint64_t i = order ? order[j] : j;
        set_val(&k, d->keys + i * KEY_SIZE, KEY_SIZE);
        int rc = use_cursor ? mdb_cursor_get(cur, &k, &v, MDB_SET_KEY) : mdb_get(txn, dbi, &k, &v);
        /* Counting instead of checking keeps the loop as tight as Python's. */
        bad += rc != MDB_SUCCESS || v.mv_size != VAL_SIZE;
    }
    if (cur)
        mdb_cursor_close(cur);
    r->seconds = now() - t0;
    r->ops = d->n;
    mdb_txn_abort(txn);
    if (bad) {
        fprintf(stderr, "bench_raw_lmdb: %" PRIu64 " lookups failed\n", bad);
        return 1;
    }
    return 0;
}

/* Full cursor walk from MDB_FIRST; every item's key and value are fetched. */
static int wl_scan(MDB_env *env, MDB_dbi dbi, const struct dataset *d, struct result *r)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    uint64_t count = 0;
    size_t bytes = 0;
    double t0;
    int rc;

    CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), "begin");
    t0 = now();
    CHECK(mdb_cursor_open(txn, dbi, &cur), "cursor_open");
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        count++;
        bytes += k.mv_size; /* the Python loop touches each item too */
    }
    mdb_cursor_close(cur);
    r->seconds = now() - t0;
    mdb_txn_abort(txn);
    if (rc != MDB_NOTFOUND)
        return fail("cursor_get", rc);
    if (count != d->n || bytes != d->n * KEY_SIZE) {
        fprintf(stderr, "bench_raw_lmdb: scan saw %" PRIu64 " of %" PRIu64 " items\n", count, d->n);
        return 1;
    }
    r->ops = count;
    return 0;
}

/* begin/get/end per lookup.  A read txn handle is reset and renewed rather
 * than freed and reallocated: that is what a tuned C program does, and it is
 * what py-lmdb's spare-txn cache does internally. */
static int wl_get_txn(MDB_env *env, MDB_dbi dbi, const struct dataset *d, const uint64_t *order,
                      uint64_t lookups, struct result *r)
{
    MDB_txn *txn;
    MDB_val k, v;
    uint64_t bad = 0;
    double t0;

    CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), "begin");
    mdb_txn_reset(txn);
    t0 = now();
    for (uint64_t j = 0; j < lookups; j++) {
        uint64_t i = order[j];
        CHECK(mdb_txn_renew(txn), "renew");
        set_val(&k, d->keys + i * KEY_SIZE, KEY_SIZE);
        bad += mdb_get(txn, dbi, &k, &v) != MDB_SUCCESS;
        mdb_txn_reset(txn);
    }
    r->seconds = now() - t0;
    r->ops = lookups;
    mdb_txn_abort(txn);
    if (bad) {
        fprintf(stderr, "bench_raw_lmdb: %" PRIu64 " lookups failed\n", bad);
        return 1;
    }
    return 0;
}

/* `txns` write transactions of one put each, committed with the default
 * (synchronous) durability, into an empty database, sorted keys. */
static int wl_small_txns(MDB_env *env, MDB_dbi dbi, const struct dataset *d, uint64_t txns,
                         struct result *r)
{
    MDB_txn *txn;
    MDB_val k, v;
    double t0 = now();

    for (uint64_t i = 0; i < txns; i++) {
        CHECK(mdb_txn_begin(env, NULL, 0, &txn), "begin");
        set_val(&k, d->keys + i * KEY_SIZE, KEY_SIZE);
        set_val(&v, d->vals + i * VAL_SIZE, VAL_SIZE);
        CHECK(mdb_put(txn, dbi, &k, &v, 0), "put");
        CHECK(mdb_txn_commit(txn), "commit");
    }
    r->seconds = now() - t0;
    r->ops = txns;
    return 0;
}

/* Untimed spot check after a write workload: every 97th record reads back. */
static int verify(MDB_env *env, MDB_dbi dbi, const struct dataset *d, uint64_t upto)
{
    MDB_txn *txn;
    MDB_val k, v;

    CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), "verify begin");
    for (uint64_t i = 0; i < upto; i += 97) {
        set_val(&k, d->keys + i * KEY_SIZE, KEY_SIZE);
        CHECK(mdb_get(txn, dbi, &k, &v), "verify get");
        if (expect_value(&v, d, i))
            return 1;
    }
    mdb_txn_abort(txn);
    return 0;
}

/* ------------------------------------------------------------ main */

static const char *const WORKLOADS[] = {
    "put_seq", "put_rand", "putmulti", "get_rand", "get_seq", "getmulti",
    "scan_items", "scan_keys", "scan_buffers", "get_txn", "small_txns", NULL,
};

static int known_workload(const char *name)
{
    for (int i = 0; WORKLOADS[i]; i++)
        if (strcmp(WORKLOADS[i], name) == 0)
            return 1;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end != '\0')
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static int parse_args(int argc, char **argv, struct params *p)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t *num = NULL;

        if (strcmp(a, "--digest") == 0) {
            p->digest = 1;
            continue;
        }
        if (!val) {
            fprintf(stderr, "bench_raw_lmdb: %s needs a value\n", a);
            return -1;
        }
        if (strcmp(a, "--workload") == 0)
            p->workload = val;
        else if (strcmp(a, "--dir") == 0)
            p->dir = val;
        else if (strcmp(a, "--records") == 0)
            num = &p->records;
        else if (strcmp(a, "--seed") == 0)
            num = &p->seed;
        else if (strcmp(a, "--lookups") == 0)
            num = &p->lookups;
        else if (strcmp(a, "--txns") == 0)
            num = &p->txns;
        else if (strcmp(a, "--batch") == 0)
            num = &p->batch;
        else if (strcmp(a, "--lib_version") == 0)
            num = &p->lib_version;
        /* Parameters meant for other systems are ignored, not rejected, so the
         * runner can pass every suite parameter to every system. */
        if (num && parse_u64(val, num) != 0) {
            fprintf(stderr, "bench_raw_lmdb: %s: not a number: %s\n", a, val);
            return -1;
        }
        i++;
    }
    if (!p->digest && (!p->workload || !p->dir)) {
        fprintf(stderr, "usage: bench_raw_lmdb --workload NAME --dir DIR [--records N] "
                        "[--seed S] [--lookups L] [--txns T] [--batch B]\n"
                        "       bench_raw_lmdb --digest [--records N] [--seed S]\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct params p = {NULL, NULL, 1000000, 42, 100000, 10000, 1000, 0, MDB_VERSION_MAJOR};
    struct result r = {0, 0.0, -1.0, 0.0};
    struct dataset d;
    uint64_t *order = NULL;
    MDB_env *env = NULL;
    MDB_txn *txn;
    MDB_dbi dbi;
    const char *w;
    double t_setup;
    int major, minor, patch;

    if (parse_args(argc, argv, &p) != 0)
        return 2;
    if (p.digest)
        return print_digest(p.records, p.seed);
    w = p.workload;
    if (p.lib_version != MDB_VERSION_MAJOR) {
        /* One program per engine (bench/CMakeLists.txt): this is not the one. */
        printf("{\"unavailable\": \"built on LMDB %d.%d, not lib_version=%d\"}\n",
               MDB_VERSION_MAJOR, MDB_VERSION_MINOR, (int)p.lib_version);
        return EXIT_UNAVAILABLE;
    }
    if (!known_workload(w)) {
        printf("{\"unavailable\": \"workload not implemented in bench_raw_lmdb\"}\n");
        return EXIT_UNAVAILABLE;
    }
    if (p.lookups > p.records)
        p.lookups = p.records;
    if (p.txns > p.records)
        p.txns = p.records;

    t_setup = now();
    if (dataset_init(&d, p.records, p.seed) != 0)
        return fail("dataset", ENOMEM);
    if (strcmp(w, "put_rand") == 0)
        order = permutation(p.records, p.seed + 1);
    else if (strcmp(w, "get_rand") == 0 || strcmp(w, "getmulti") == 0 || strcmp(w, "get_txn") == 0)
        order = permutation(p.records, p.seed + 2);
    if (p.records && (strcmp(w, "put_rand") == 0 || strcmp(w, "get_rand") == 0 ||
                      strcmp(w, "getmulti") == 0 || strcmp(w, "get_txn") == 0) && !order)
        return fail("permutation", ENOMEM);

    if (open_env(p.dir, &env) != 0)
        return 1;
    CHECK(mdb_txn_begin(env, NULL, 0, &txn), "dbi begin");
    CHECK(mdb_dbi_open(txn, NULL, 0, &dbi), "mdb_dbi_open");
    CHECK(mdb_txn_commit(txn), "dbi commit");

    int is_read = strncmp(w, "get", 3) == 0 || strncmp(w, "scan", 4) == 0;
    if (is_read && populate(env, dbi, &d) != 0)
        return 1;
    r.setup_seconds = now() - t_setup;

    int rc;
    if (strcmp(w, "put_seq") == 0)
        rc = wl_put(env, dbi, &d, NULL, 0, &r);
    else if (strcmp(w, "put_rand") == 0)
        rc = wl_put(env, dbi, &d, order, 0, &r);
    else if (strcmp(w, "putmulti") == 0)
        rc = wl_put(env, dbi, &d, NULL, 1, &r);
    else if (strcmp(w, "get_seq") == 0)
        rc = wl_get(env, dbi, &d, NULL, 0, &r);
    else if (strcmp(w, "get_rand") == 0)
        rc = wl_get(env, dbi, &d, order, 0, &r);
    else if (strcmp(w, "getmulti") == 0)
        rc = wl_get(env, dbi, &d, order, 1, &r);
    else if (strcmp(w, "get_txn") == 0)
        rc = wl_get_txn(env, dbi, &d, order, p.lookups, &r);
    else if (strcmp(w, "small_txns") == 0)
        rc = wl_small_txns(env, dbi, &d, p.txns, &r);
    else /* scan_items, scan_keys, scan_buffers: the same walk in C */
        rc = wl_scan(env, dbi, &d, &r);
    if (rc != 0)
        return 1;
    if (!is_read && verify(env, dbi, &d, strcmp(w, "small_txns") == 0 ? p.txns : d.n) != 0)
        return 1;

    mdb_env_close(env);
    free(order);
    free(d.keys);
    free(d.vals);

    mdb_version(&major, &minor, &patch);
    printf("{\"ops\": %" PRIu64 ", \"seconds\": %.9f, \"ops_per_sec\": %.3f, "
           "\"extra\": {\"setup_seconds\": %.6f",
           r.ops, r.seconds, r.seconds > 0 ? (double)r.ops / r.seconds : 0.0, r.setup_seconds);
    if (r.commit_seconds >= 0)
        printf(", \"commit_seconds\": %.6f", r.commit_seconds);
    printf("}, \"env\": {\"impl\": \"C\", \"lmdb_version\": \"%d.%d.%d\"}}\n", major, minor, patch);
    return 0;
}

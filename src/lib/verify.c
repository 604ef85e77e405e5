/* Offline verification of LMDB data files ("Offline verification" in zlmdb.h).
 *
 * A byte walker: it reads the file with pread() (or from a caller's buffer)
 * and never hands it to LMDB, so nothing in the file can steer a read
 * outside it.  The checks, their order and the wording of each problem are
 * those of py-lmdb 3.0's lmdb.verify, so that zlmdb.lmdb.verify, built on
 * this file, returns the same lists.
 *
 * Hostile input is the normal case here.  Every size read from the file is
 * checked before it becomes an offset or a factor; page numbers become byte
 * offsets only after they are known to lie inside the file.  The walk is
 * iterative, with at most CURSOR_STACK frames per tree and at most one
 * duplicate sub-tree open inside a tree (named databases are queued, not
 * nested).  Each page is marked when it is reached, so a cycle ends at its
 * second visit as a problem.  Memory is two bitmaps of the pages in use,
 * bounded by the file's size, plus a few page buffers. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common_int.h"
#include "platform.h"

/* ------------------------------------------------------------ the format */

#define MDB_MAGIC        0xBEEFC0DEu
#define MDB_MAGIC_SWAPPED 0xDEC0EFBEu
#define NUM_METAS        2u
#define CURSOR_STACK     32u          /* LMDB's cursor stack: the deepest tree */
#define DB_RECORD_SIZE   48u          /* MDB_db on 64-bit, both formats */
#define META_BODY_SIZE   136u         /* MDB_meta from mm_magic to mm_txnid */
#define NODE_HEADER      8u           /* mn_lo, mn_hi, mn_flags, mn_ksize */
#define P_INVALID        UINT64_MAX

/* Page flags. */
#define P_BRANCH   0x01u
#define P_LEAF     0x02u
#define P_OVERFLOW 0x04u
#define P_META     0x08u
#define P_DIRTY_09 0x10u              /* 0.9 only; 1.0 has mp_txnid instead */
#define P_LEAF2    0x20u
#define P_SUBP     0x40u
/* The type bits; no other bit is set on a full page at rest (0.9 clears
 * P_DIRTY when it writes a page, 1.0's other flags live in memory only). */
#define TYPE_MASK  (P_BRANCH | P_LEAF | P_OVERFLOW | P_META | P_LEAF2 | P_SUBP)

/* Node flags. */
#define F_BIGDATA 0x01u
#define F_SUBDATA 0x02u
#define F_DUPDATA 0x04u

/* Database flags. */
#define DB_REVERSEKEY 0x02u
#define DB_DUPSORT    0x04u
#define DB_INTEGERKEY 0x08u
#define DB_DUPFIXED   0x10u
#define DB_INTEGERDUP 0x20u
#define DB_REVERSEDUP 0x40u
#define DB_PERSISTENT 0x7fffu          /* everything but MDB_VALID (0x8000) */
#define DB_DUPSORT_ONLY (DB_DUPFIXED | DB_INTEGERDUP | DB_REVERSEDUP)

/* The longest parent name carried into a nested named database's name
 * (see child_name()). */
#define MAX_NAME 1024u
/* Free-list records are read back in pieces of this size (a multiple of 8). */
#define IDL_CHUNK 65536u

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#  define HOST_BIG_ENDIAN 1
#else
#  define HOST_BIG_ENDIAN 0
#endif

/* LMDB writes integers in the host's order, and files do not travel
 * between architectures: read them the same way. */
static inline uint16_t rd16(const uint8_t *p) { uint16_t x; memcpy(&x, p, 2); return x; }
static inline uint32_t rd32(const uint8_t *p) { uint32_t x; memcpy(&x, p, 4); return x; }
static inline uint64_t rd64(const uint8_t *p) { uint64_t x; memcpy(&x, p, 8); return x; }

typedef struct {
    uint32_t pad;              /* LEAF2 key size; the page size in meta's free DB */
    uint16_t flags, depth;
    uint64_t branch_pages, leaf_pages, overflow_pages, entries, root;
} dbrec;

static void read_dbrec(const uint8_t *p, dbrec *db)
{
    db->pad = rd32(p);
    db->flags = rd16(p + 4);
    db->depth = rd16(p + 6);
    db->branch_pages = rd64(p + 8);
    db->leaf_pages = rd64(p + 16);
    db->overflow_pages = rd64(p + 24);
    db->entries = rd64(p + 32);
    db->root = rd64(p + 40);
}

typedef struct {
    uint64_t pgno, mapsize, last_pg, txnid;
    uint32_t magic, version;
    uint16_t flags;
    dbrec free, main;
} metarec;

/* The comparators LMDB picks from a database's flags (mdb_default_cmp). */
enum cmp_kind { CMP_NONE, CMP_LEX, CMP_REV, CMP_INT };

static int cmp_keys(enum cmp_kind kind, const uint8_t *a, size_t la, const uint8_t *b,
                    size_t lb)
{
    size_t n = la < lb ? la : lb, i;
    int c;

    switch (kind) {
    case CMP_REV:              /* mdb_cmp_memnr: byte strings from the end */
        for (i = 1; i <= n; i++)
            if (a[la - i] != b[lb - i])
                return a[la - i] < b[lb - i] ? -1 : 1;
        return la < lb ? -1 : la > lb;
    case CMP_INT:
        /* Unsigned integers of any width in host order.  Integer databases
         * hold keys of one size, where this is LMDB's comparison; it also
         * orders mixed sizes by value instead of failing. */
        if (HOST_BIG_ENDIAN) {
            while (la && *a == 0) { a++; la--; }
            while (lb && *b == 0) { b++; lb--; }
            if (la != lb)
                return la < lb ? -1 : 1;
            c = la ? memcmp(a, b, la) : 0;
            return c < 0 ? -1 : c > 0;
        }
        while (la && a[la - 1] == 0) la--;
        while (lb && b[lb - 1] == 0) lb--;
        if (la != lb)
            return la < lb ? -1 : 1;
        for (i = la; i-- > 0;)
            if (a[i] != b[i])
                return a[i] < b[i] ? -1 : 1;
        return 0;
    default:                   /* memcmp, then the shorter first */
        c = n ? memcmp(a, b, n) : 0;
        if (c)
            return c < 0 ? -1 : 1;
        return la < lb ? -1 : la > lb;
    }
}

static enum cmp_kind key_cmp_for(unsigned flags)
{
    if (flags & DB_REVERSEKEY)     /* REVERSEKEY wins over INTEGERKEY, as in LMDB */
        return CMP_REV;
    return (flags & DB_INTEGERKEY) ? CMP_INT : CMP_LEX;
}

static enum cmp_kind dup_cmp_for(unsigned flags)
{
    if (!(flags & DB_DUPSORT))
        return CMP_NONE;
    if (flags & DB_INTEGERDUP)
        return CMP_INT;
    return (flags & DB_REVERSEDUP) ? CMP_REV : CMP_LEX;
}

static int bad_db_flags(unsigned flags)
{
    return (flags & DB_DUPSORT_ONLY) && !(flags & DB_DUPSORT);
}

/* ------------------------------------------------------------ the state */

struct zlmdb_verify_report {
    zlmdb_buf text;            /* the problems, each NUL-terminated */
    size_t *offsets;           /* where each starts in text */
    size_t count, capacity;
    zlmdb_verify_summary sum;
    uint64_t *live, *free;     /* bitmaps over [0, npages) */
    uint64_t npages;           /* mm_last_pg + 1 */
};

/* A named database found in a tree, walked after that tree. */
typedef struct {
    char *name;
    dbrec db;
    enum cmp_kind key_cmp, dup_cmp;
} pending_tree;

/* A free-list record, decoded after every tree is walked. */
typedef struct {
    uint64_t txnid, offset;    /* the value's bytes in the file */
    uint32_t size;
} free_record;

/* One branch page on the path from a tree's root. */
typedef struct {
    const uint8_t *page;
    uint64_t pgno;
    unsigned upper, numkeys, next;
    const uint8_t *sep;        /* the last separator key compared */
    size_t sep_len;
    int have_sep;
} frame;

/* Consecutive pages read at once: a tree's leaves lie in runs of
 * consecutive pages (LMDB allocates them in order as a transaction writes),
 * often two or three runs interleaved after later transactions rewrote
 * parts of it.  Each run follows one of them; its window doubles while the
 * walk keeps asking for the pages right after it. */
typedef struct {
    uint8_t *buf;
    uint64_t first, count;     /* the pages in buf */
    unsigned window;           /* pages to read when it is next refilled */
    unsigned long used;        /* when it was last used, for replacement */
} page_run;

#define RUNS 4
/* The most one read takes.  Small enough that the buffers, fresh memory
 * for every verification, cost few page faults. */
#define RUN_BYTES (64u * 1024u)

/* Page buffers of one nesting level (0: a database's tree, 1: a duplicate
 * sub-tree inside it), used when reading from a descriptor.  A branch page
 * is copied to page[] for as long as its frame lives. */
typedef struct {
    uint8_t *page[CURSOR_STACK];
    uint8_t *last_key;
    page_run runs[RUNS];
    unsigned long clock;
} level_buffers;

typedef struct {
    /* the input */
    zlmdb__plat_fd fd;         /* read when mem is NULL */
    const uint8_t *mem;        /* or the caller's bytes */
    uint64_t size, file_pages;
    /* the format */
    unsigned hdrsz, pagebase, data_version, max_psize, has_txnid;
    uint32_t psize;
    metarec meta;
    unsigned meta_page;
    uint64_t next_pgno;
    /* the outcome */
    zlmdb_verify_report *r;
    size_t max_problems;
    int full;                  /* the cap was reached: the walk stops */
    int rc;                    /* ENOMEM or an errno: the walk stops */
    /* work */
    level_buffers levels[2];
    uint8_t *scratch;          /* an overflow page's header */
    pending_tree *pending;
    size_t npending, cap_pending;
    free_record *frees;
    size_t nfrees, cap_frees;
    uint64_t branch_total, leaf_total, overflow_total, databases;
} verifier;

/* One tree being walked. */
typedef struct {
    const char *name;
    const dbrec *db;
    enum cmp_kind key_cmp, dup_cmp;
    int is_free, level;
    uint64_t branch, leaf, overflow, dup_branch, dup_leaf;
    int64_t entries;           /* signed: a forged LEAF2 count can be negative */
    unsigned maxdepth, nframes;
    const uint8_t *last;       /* the previous key, for the order across pages */
    size_t last_len;
    int have_last;
    frame frames[CURSOR_STACK];
} tree;

static int stopped(const verifier *v)
{
    return v->full || v->rc;
}

static void fail_nomem(verifier *v)
{
    if (!v->rc)
        v->rc = zlmdb__error_set(ZLMDB_ENOMEM, "verify: out of memory");
}

/* A growing array with room for one more element than `count`: `array`
 * itself or its reallocation, or NULL with v->rc set (`array` is then
 * unchanged and still owned by the caller). */
static void *make_room(verifier *v, void *array, size_t *capacity, size_t count,
                       size_t elem_size)
{
    size_t cap = *capacity ? 2 * *capacity : 16;
    void *grown;

    if (count < *capacity)
        return array;
    if (cap > SIZE_MAX / elem_size || (grown = zlmdb__realloc(array, cap * elem_size)) == NULL) {
        fail_nomem(v);
        return NULL;
    }
    *capacity = cap;
    return grown;
}

static void problem(verifier *v, const char *fmt, ...) ZLMDB__PRINTF(2, 3);

/* Record a problem.  Past the cap, one line says so and the walk ends: the
 * problems it would still find could not be reported anyway. */
static void problem(verifier *v, const char *fmt, ...)
{
    zlmdb_verify_report *r = v->r;
    static const char suppressed[] = "... (further errors suppressed)";
    size_t *grown;
    va_list ap;
    int n;

    if (stopped(v))
        return;
    if ((grown = make_room(v, r->offsets, &r->capacity, r->count, sizeof(size_t))) == NULL)
        return;
    r->offsets = grown;
    if (r->count == v->max_problems) {
        if (zlmdb_buf_append(&r->text, suppressed, sizeof(suppressed)) != ZLMDB_OK) {
            fail_nomem(v);
            return;
        }
        r->offsets[r->count++] = r->text.size - sizeof(suppressed);
        v->full = 1;
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || zlmdb_buf_reserve(&r->text, (size_t)n + 1) != ZLMDB_OK) {
        fail_nomem(v);
        return;
    }
    va_start(ap, fmt);
    vsnprintf((char *)r->text.ptr + r->text.size, (size_t)n + 1, fmt, ap);
    va_end(ap);
    r->offsets[r->count++] = r->text.size;
    r->text.size += (size_t)n + 1;
}

/* ------------------------------------------------------------ reading */

/* Bytes [off, off + len) of the file: a pointer into the caller's buffer,
 * or into *slot (allocated with the page size on first use) after pread().
 * NULL when they are not all inside the file, or with v->rc set when
 * reading failed. */
static const uint8_t *file_bytes(verifier *v, uint64_t off, size_t len, uint8_t **slot,
                                 size_t slot_size)
{
    size_t done = 0;
    uint8_t *buf;

    if (off > v->size || len > v->size - off)
        return NULL;
    if (v->mem)
        return v->mem + off;
    if (*slot == NULL && (*slot = zlmdb__malloc(slot_size)) == NULL) {
        fail_nomem(v);
        return NULL;
    }
    buf = *slot;
    while (done < len) {
        size_t n;
        int err = zlmdb__plat_pread(v->fd, buf + done, len - done, off + done, &n);
        if (err) {
            v->rc = zlmdb__error_set(err, "verify: reading %zu bytes at offset %llu: %s",
                                     len, (unsigned long long)(off + done), strerror(err));
            return NULL;
        }
        if (n == 0)            /* the file is shorter than it claimed */
            return NULL;
        done += n;
    }
    return buf;
}

/* The first `len` bytes of the `npages` pages from `pgno`, which must all
 * lie inside the file. */
static const uint8_t *read_pages(verifier *v, uint64_t pgno, uint64_t npages, size_t len,
                                 uint8_t **slot)
{
    if (npages > v->file_pages || pgno > v->file_pages - npages)
        return NULL;
    return file_bytes(v, pgno * v->psize, len, slot, v->psize);
}

/* Page `pgno` for a tree walk at `level`, from the level's runs; valid
 * until the next call for the same level.  NULL when the page is not all
 * inside the file (or with v->rc set). */
static const uint8_t *walk_page(verifier *v, int level, uint64_t pgno)
{
    level_buffers *lb = &v->levels[level];
    uint64_t max_run = RUN_BYTES / v->psize, n;
    page_run *run = NULL;
    unsigned k;
    size_t got;
    int err;

    if (v->mem || pgno >= v->file_pages)      /* no read (or none inside the file) */
        return read_pages(v, pgno, 1, v->psize, NULL);
    lb->clock++;
    for (k = 0; k < RUNS; k++) {
        page_run *r = &lb->runs[k];
        if (r->count && pgno >= r->first && pgno - r->first < r->count) {
            r->used = lb->clock;
            return r->buf + (pgno - r->first) * v->psize;
        }
    }
    /* A miss: continue the run that ends just before pgno, or start over
     * in the one used longest ago. */
    for (k = 0; k < RUNS; k++) {
        page_run *r = &lb->runs[k];
        if (r->count && pgno >= r->first + r->count && pgno - (r->first + r->count) < 16) {
            run = r;
            run->window = run->window * 2 > max_run ? (unsigned)max_run : run->window * 2;
            break;
        }
        if (run == NULL || r->used < run->used)
            run = r;
    }
    if (k == RUNS)
        run->window = 1;
    if (run->buf == NULL && (run->buf = zlmdb__malloc(RUN_BYTES)) == NULL) {
        fail_nomem(v);
        return NULL;
    }
    n = v->file_pages - pgno < run->window ? v->file_pages - pgno : run->window;
    run->count = 0;
    err = zlmdb__plat_pread(v->fd, run->buf, n * v->psize, pgno * v->psize, &got);
    if (err) {
        v->rc = zlmdb__error_set(err, "verify: reading %llu bytes at offset %llu: %s",
                                 (unsigned long long)(n * v->psize),
                                 (unsigned long long)(pgno * v->psize), strerror(err));
        return NULL;
    }
    run->first = pgno;
    run->count = got / v->psize;     /* short: the file shrank */
    run->used = lb->clock;
    return run->count ? run->buf : NULL;
}

/* Page header fields, at `p` (a page or a sub-page). */
static uint64_t pg_pgno(const uint8_t *p) { return rd64(p); }
static uint64_t pg_txnid(const uint8_t *p) { return rd64(p + 8); }   /* 1.0 only */
static unsigned pg_pad(const verifier *v, const uint8_t *p) { return rd16(p + v->hdrsz - 8); }
static unsigned pg_flags(const verifier *v, const uint8_t *p) { return rd16(p + v->hdrsz - 6); }
static unsigned pg_lower(const verifier *v, const uint8_t *p) { return rd16(p + v->hdrsz - 4); }
static unsigned pg_upper(const verifier *v, const uint8_t *p) { return rd16(p + v->hdrsz - 2); }
/* mp_pages overlaps mp_lower/mp_upper on overflow pages. */
static uint32_t pg_pages(const verifier *v, const uint8_t *p) { return rd32(p + v->hdrsz - 4); }

/* LMDB's NUMKEYS, as a signed number: a forged mp_lower below the header
 * gives a negative count (rounded down), which then counts as such. */
static int64_t numkeys_of(const verifier *v, unsigned lower)
{
    int64_t x = (int64_t)lower - (int64_t)(v->hdrsz - v->pagebase);
    return x >= 0 ? x / 2 : -((1 - x) / 2);
}

/* Offset (from `page`) of node `i` of the page or sub-page at `base`. */
static size_t node_at(const verifier *v, const uint8_t *page, size_t base, unsigned i)
{
    return base + rd16(page + base + v->hdrsz + 2 * (size_t)i) + v->pagebase;
}

/* A node's 32 bits of data size or low bits of a page number. */
static uint32_t node_lohi(const uint8_t *node)
{
    uint16_t lo = rd16(node + (HOST_BIG_ENDIAN ? 2 : 0));
    uint16_t hi = rd16(node + (HOST_BIG_ENDIAN ? 0 : 2));
    return lo | ((uint32_t)hi << 16);
}

/* ------------------------------------------------------------ bitmaps */

static int bit_get(const uint64_t *map, uint64_t i)
{
    return (int)((map[i >> 6] >> (i & 63)) & 1);
}

static void bit_set(uint64_t *map, uint64_t i)
{
    map[i >> 6] |= (uint64_t)1 << (i & 63);
}

static unsigned popcount64(uint64_t x)
{
#if defined(__GNUC__)
    return (unsigned)__builtin_popcountll(x);
#else
    unsigned n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
#endif
}

/* The index of the lowest set bit of x (not 0). */
static unsigned lowest_bit(uint64_t x)
{
#if defined(__GNUC__)
    return (unsigned)__builtin_ctzll(x);
#else
    unsigned n = 0;
    for (; !(x & 1); x >>= 1)
        n++;
    return n;
#endif
}

/* Mark a page reachable: 0 (with a problem) when it is out of range or was
 * reached before, which is how a cycle in a hostile file ends. */
static int mark_live(verifier *v, uint64_t pgno, const char *name, int overflow)
{
    const char *what = overflow ? " overflow" : "";
    if (pgno < NUM_METAS || pgno >= v->next_pgno) {
        problem(v, "%s DB%s references out-of-range page %llu", name, what,
                (unsigned long long)pgno);
        return 0;
    }
    if (bit_get(v->r->live, pgno)) {
        problem(v, "page %llu is reachable more than once (via %s DB%s)",
                (unsigned long long)pgno, name, what);
        return 0;
    }
    bit_set(v->r->live, pgno);
    return 1;
}

/* ------------------------------------------------------------ pages */

static int flags_at_rest_ok(const verifier *v, unsigned flags)
{
    unsigned known = TYPE_MASK | (v->has_txnid ? 0 : P_DIRTY_09);
    return !(flags & ~known);
}

static void check_not_dirty(verifier *v, const char *name, uint64_t pgno, const uint8_t *page,
                            unsigned flags)
{
    if (v->has_txnid) {
        uint64_t txnid = pg_txnid(page);
        if (txnid > v->meta.txnid)
            problem(v, "%s DB: page %llu has mp_txnid %llu newer than committed meta txnid %llu",
                    name, (unsigned long long)pgno, (unsigned long long)txnid,
                    (unsigned long long)v->meta.txnid);
    } else if (flags & P_DIRTY_09) {
        problem(v, "%s DB: page %llu carries P_DIRTY at rest", name, (unsigned long long)pgno);
    }
}

/* mp_lower/mp_upper of a B-tree page or sub-page whose body is `span` bytes
 * from `base`: 1 with *upper and *numkeys, or 0 with a problem.  `node` is
 * the leaf node holding a sub-page, or -1 for a full page. */
static int check_bounds(verifier *v, const char *name, uint64_t pgno, long node,
                        const uint8_t *page, size_t base, size_t span, unsigned *upper_out,
                        unsigned *numkeys_out)
{
    unsigned lower = pg_lower(v, page + base), upper = pg_upper(v, page + base);
    long floor = (long)(v->hdrsz - v->pagebase);

    if ((long)lower < floor || (long)upper > (long)span - (long)v->pagebase || lower > upper) {
        if (node < 0)
            problem(v, "%s DB page %llu: bad mp_lower/mp_upper (%u/%u, span %zu)", name,
                    (unsigned long long)pgno, lower, upper, span);
        else
            problem(v, "%s DB page %llu node %ld sub-page: bad mp_lower/mp_upper (%u/%u, span %zu)",
                    name, (unsigned long long)pgno, node, lower, upper, span);
        return 0;
    }
    *upper_out = upper;
    *numkeys_out = (unsigned)numkeys_of(v, lower);
    return 1;
}

/* ------------------------------------------------------------ trees */

static void verify_tree(verifier *v, int level, const char *name, const dbrec *db,
                        enum cmp_kind key_cmp, enum cmp_kind dup_cmp, int is_free,
                        uint64_t *branch_out, uint64_t *leaf_out);

static void add_entries(tree *t, uint64_t n)
{
    t->entries = n > (uint64_t)(INT64_MAX - t->entries) ? INT64_MAX : t->entries + (int64_t)n;
}

/* Keep the last key of a page past the page's buffer. */
static void keep_last_key(verifier *v, tree *t)
{
    uint8_t **slot = &v->levels[t->level].last_key;

    if (!t->have_last || t->last == *slot)
        return;
    if (*slot == NULL && (*slot = zlmdb__malloc(v->psize)) == NULL) {
        fail_nomem(v);
        return;
    }
    memmove(*slot, t->last, t->last_len);
    t->last = *slot;
}

static void validate_named_db(verifier *v, const char *name, uint64_t pgno, unsigned i,
                              const dbrec *db)
{
    unsigned long long pg = pgno;

    if (db->flags & ~DB_PERSISTENT)
        problem(v, "%s DB: page %llu node %u named sub-DB has invalid flags 0x%x", name, pg, i,
                db->flags);
    if (bad_db_flags(db->flags))
        problem(v, "%s DB: page %llu node %u named sub-DB bad flag combination 0x%x", name, pg,
                i, db->flags);
    if (db->pad > v->psize - v->hdrsz)
        problem(v, "%s DB: page %llu node %u named sub-DB md_pad %u too large", name, pg, i,
                db->pad);
    if (db->depth > CURSOR_STACK)
        problem(v, "%s DB: page %llu node %u named sub-DB md_depth %u too deep", name, pg, i,
                db->depth);
}

/* The record of a duplicate set moved into its own tree: LMDB writes its
 * flags as 0, DUPFIXED or DUPFIXED|INTEGERKEY (DUPFIXED without DUPSORT is
 * right here), with the fixed size in md_pad. */
static void validate_dup_db(verifier *v, const char *name, uint64_t pgno, unsigned i,
                            const dbrec *db)
{
    unsigned long long pg = pgno;

    if (db->flags != 0 && db->flags != DB_DUPFIXED && db->flags != (DB_DUPFIXED | DB_INTEGERKEY))
        problem(v, "%s DB: page %llu node %u dup sub-DB has unexpected flags 0x%x", name, pg, i,
                db->flags);
    if (db->pad > v->psize - v->hdrsz)
        problem(v, "%s DB: page %llu node %u dup sub-DB md_pad %u too large", name, pg, i,
                db->pad);
    if ((db->flags & DB_DUPFIXED) && !db->pad)
        problem(v, "%s DB: page %llu node %u DUPFIXED dup sub-DB has md_pad 0", name, pg, i);
    if (db->depth > CURSOR_STACK)
        problem(v, "%s DB: page %llu node %u dup sub-DB md_depth %u too deep", name, pg, i,
                db->depth);
}

/* The name of a tree found inside tree `parent`, for its problems: a named
 * database is "<parent>/<key>", with the key as itself when it is printable
 * ASCII, else in hex; a duplicate sub-tree is "<parent>[dup@p<page>.n<node>]".
 * Named databases live in the main database, but a hostile file can nest
 * them, and each level would lengthen the names of all queued below it: a
 * named database's parent longer than MAX_NAME is cut there, marked "...". */
static char *child_name(verifier *v, const char *parent, const uint8_t *key, size_t klen,
                        uint64_t pgno, unsigned i)
{
    static const char hex[] = "0123456789abcdef";
    size_t plen = strlen(parent), n, k;
    size_t cut = (key && plen > MAX_NAME) ? MAX_NAME : plen;
    int plain = 1;
    char *name;

    for (k = 0; k < klen; k++)
        if (key[k] < 0x20 || key[k] > 0x7e)
            plain = 0;
    /* room for "...", "/" and the key, or for the duplicate suffix */
    name = zlmdb__malloc(cut + 4 + (key ? 1 + 2 * klen : 64) + 1);
    if (name == NULL) {
        fail_nomem(v);
        return NULL;
    }
    memcpy(name, parent, cut);
    n = cut;
    if (cut < plen) {
        memcpy(name + n, "...", 3);
        n += 3;
    }
    if (key == NULL) {
        snprintf(name + n, 64, "[dup@p%llu.n%u]", (unsigned long long)pgno, i);
        return name;
    }
    name[n++] = '/';
    for (k = 0; k < klen; k++) {
        if (plain) {
            name[n++] = (char)key[k];
        } else {
            name[n++] = hex[key[k] >> 4];
            name[n++] = hex[key[k] & 15];
        }
    }
    name[n] = 0;
    return name;
}

static void queue_named_db(verifier *v, const tree *t, const uint8_t *key, size_t klen,
                           const dbrec *db)
{
    pending_tree *p, *grown;
    char *name;

    if ((grown = make_room(v, v->pending, &v->cap_pending, v->npending, sizeof(*grown))) == NULL)
        return;
    v->pending = grown;
    if ((name = child_name(v, t->name, key, klen, 0, 0)) == NULL)
        return;
    p = &v->pending[v->npending++];
    p->name = name;
    p->db = *db;
    p->key_cmp = key_cmp_for(db->flags);
    p->dup_cmp = dup_cmp_for(db->flags);
}

/* A free-list record: its key is a txnid, its value a page list decoded
 * later.  has_value is 0 when an overflow value could not be read. */
static void note_free_record(verifier *v, uint64_t pgno, unsigned i, const uint8_t *key,
                             size_t klen, int has_value, uint64_t offset, uint32_t size)
{
    free_record *grown;
    uint64_t txnid;

    if (klen != 8) {
        problem(v, "freeDB: page %llu node %u key size %zu != 8", (unsigned long long)pgno, i,
                klen);
        return;
    }
    txnid = rd64(key);
    if (txnid < 1 || txnid > v->meta.txnid)
        problem(v, "freeDB: record txnid %llu outside [1, %llu]", (unsigned long long)txnid,
                (unsigned long long)v->meta.txnid);
    if (!has_value) {
        problem(v, "freeDB: page %llu node %u value unreadable (overflow)",
                (unsigned long long)pgno, i);
        return;
    }
    if ((grown = make_room(v, v->frees, &v->cap_frees, v->nfrees, sizeof(*grown))) == NULL)
        return;
    v->frees = grown;
    v->frees[v->nfrees].txnid = txnid;
    v->frees[v->nfrees].offset = offset;
    v->frees[v->nfrees].size = size;
    v->nfrees++;
}

/* An F_BIGDATA value: check the extent and mark its pages.  For the free
 * DB, *has_value and *value_off tell where its bytes are when they are all in
 * the file. */
static void walk_bigdata(verifier *v, tree *t, uint64_t pgno, unsigned i, const uint8_t *page,
                         size_t doff, uint32_t dsize, int *has_value, uint64_t *value_off)
{
    const char *name = t->name;
    unsigned long long pg = pgno;
    uint64_t op_pgno, need, k;
    const uint8_t *first;
    unsigned oflags;
    uint32_t hdr_pages;

    *has_value = 0;
    if (doff + (v->has_txnid ? 24 : 8) > v->psize) {
        problem(v, "%s DB: page %llu node %u F_BIGDATA node too small", name, pg, i);
        return;
    }
    op_pgno = rd64(page + doff);
    need = (v->hdrsz - 1 + (uint64_t)dsize) / v->psize + 1;   /* LMDB's OVPAGES */
    if (v->has_txnid) {        /* 1.0 repeats the length in the node */
        uint64_t op_pages = rd64(page + doff + 16);
        if (op_pages != need)
            problem(v, "%s DB: page %llu node %u overflow op_pages %llu != OVPAGES(%u)=%llu",
                    name, pg, i, (unsigned long long)op_pages, dsize, (unsigned long long)need);
    }
    if (op_pgno < NUM_METAS || op_pgno >= v->next_pgno || need > v->next_pgno - op_pgno) {
        problem(v, "%s DB: page %llu node %u overflow extent [%llu,+%llu) out of range", name,
                pg, i, (unsigned long long)op_pgno, (unsigned long long)need);
        return;
    }
    first = read_pages(v, op_pgno, 1, v->hdrsz, &v->scratch);
    if (first == NULL) {
        if (!v->rc)
            problem(v, "%s DB: overflow page %llu beyond EOF", name, (unsigned long long)op_pgno);
        return;
    }
    if (pg_pgno(first) != op_pgno)
        problem(v, "%s DB: overflow page %llu stores mp_pgno %llu", name,
                (unsigned long long)op_pgno, (unsigned long long)pg_pgno(first));
    oflags = pg_flags(v, first);
    if ((oflags & TYPE_MASK) != P_OVERFLOW || !flags_at_rest_ok(v, oflags))
        problem(v, "%s DB: page %llu node %u points at page %llu which is not a pure overflow "
                "page (flags 0x%x)", name, pg, i, (unsigned long long)op_pgno, oflags);
    check_not_dirty(v, name, op_pgno, first, oflags);
    hdr_pages = pg_pages(v, first);
    if (hdr_pages != need)
        problem(v, "%s DB: overflow page %llu header mp_pages %u != OVPAGES(%u)=%llu", name,
                (unsigned long long)op_pgno, hdr_pages, dsize, (unsigned long long)need);
    for (k = 0; k < need && !stopped(v); k++)
        mark_live(v, op_pgno + k, name, 1);
    t->overflow += need;
    if (op_pgno + need <= v->file_pages) {
        *has_value = 1;
        *value_off = op_pgno * v->psize + v->hdrsz;
    }
}

/* A duplicate set stored inline as a sub-page: returns how many items it
 * holds (its count even when the sub-page is damaged, as the count is what
 * the database's entries include). */
static int64_t walk_subpage(verifier *v, tree *t, uint64_t pgno, unsigned i,
                            const uint8_t *page, size_t base, uint32_t dsize)
{
    const char *name = t->name;
    unsigned long long pg = pgno;
    size_t end = base + dsize;
    unsigned sflags, upper, nkeys, j;
    const uint8_t *last = NULL;
    size_t last_len = 0;

    if (dsize < v->hdrsz) {
        problem(v, "%s DB: page %llu node %u sub-page smaller than a header", name, pg, i);
        return 0;
    }
    sflags = pg_flags(v, page + base);
    if (!(sflags & P_SUBP))
        problem(v, "%s DB: page %llu node %u sub-page missing P_SUBP", name, pg, i);
    if (sflags & P_LEAF2) {
        unsigned pad = pg_pad(v, page + base);
        int64_t numkeys = numkeys_of(v, pg_lower(v, page + base));
        uint32_t usable = dsize - v->hdrsz;
        int64_t k;

        if (pad == 0 || pad > usable || numkeys * (int64_t)pad > (int64_t)usable) {
            problem(v, "%s DB: page %llu node %u LEAF2 sub-page bad key size %u (%lld keys, %u "
                    "usable)", name, pg, i, pad, (long long)numkeys, usable);
            return numkeys;
        }
        for (k = 0; k < numkeys; k++) {
            const uint8_t *dk = page + base + v->hdrsz + (size_t)k * pad;
            if (t->dup_cmp != CMP_NONE && last && cmp_keys(t->dup_cmp, dk, pad, last, pad) <= 0)
                problem(v, "%s DB: page %llu node %u LEAF2 dup out of order at %lld", name, pg, i,
                        (long long)k);
            last = dk;
        }
        return numkeys;
    }
    if (!check_bounds(v, name, pgno, (long)i, page, base, dsize, &upper, &nkeys))
        return 0;
    for (j = 0; j < nkeys; j++) {
        size_t o = node_at(v, page, base, j);
        unsigned dksize;
        if (o + NODE_HEADER > end || o < base + upper + v->pagebase) {
            problem(v, "%s DB: page %llu node %u sub-page item %u out of bounds", name, pg, i, j);
            continue;
        }
        dksize = rd16(page + o + 6);
        if (o + NODE_HEADER + dksize > end) {
            problem(v, "%s DB: page %llu node %u sub-page item %u overruns", name, pg, i, j);
            continue;
        }
        if (t->dup_cmp != CMP_NONE && last &&
            cmp_keys(t->dup_cmp, page + o + NODE_HEADER, dksize, last, last_len) <= 0)
            problem(v, "%s DB: page %llu node %u dup data out of order at %u", name, pg, i, j);
        last = page + o + NODE_HEADER;
        last_len = dksize;
    }
    return nkeys;
}

static void leaf_value(verifier *v, tree *t, uint64_t pgno, unsigned i, const uint8_t *page,
                       size_t o, unsigned nflags, unsigned ksize, uint32_t dsize)
{
    const char *name = t->name;
    const uint8_t *key = page + o + NODE_HEADER;
    unsigned long long pg = pgno;
    size_t doff;
    dbrec sub;

    if ((nflags & F_BIGDATA) && (nflags & F_DUPDATA)) {
        problem(v, "%s DB: leaf page %llu node %u has F_BIGDATA|F_DUPDATA", name, pg, i);
        return;
    }
    if ((nflags & F_DUPDATA) && !(t->db->flags & DB_DUPSORT)) {
        problem(v, "%s DB: leaf page %llu node %u has F_DUPDATA in a non-DUPSORT DB", name, pg, i);
        return;
    }
    if (t->is_free && (nflags & (F_SUBDATA | F_DUPDATA))) {
        problem(v, "freeDB: page %llu node %u value has sub-DB/dup flags 0x%x", pg, i, nflags);
        return;
    }
    /* 1.0 starts a node's data at an even offset. */
    doff = o + NODE_HEADER + (v->has_txnid ? ((ksize + 1u) & ~1u) : ksize);

    if (nflags & F_BIGDATA) {
        int has_value;
        uint64_t value_off = 0;
        walk_bigdata(v, t, pgno, i, page, doff, dsize, &has_value, &value_off);
        t->entries++;
        if (t->is_free)
            note_free_record(v, pgno, i, key, ksize, has_value, value_off, dsize);
        return;
    }
    if (doff + dsize > v->psize) {
        problem(v, "%s DB: leaf page %llu node %u data overruns page", name, pg, i);
        return;
    }
    if (t->is_free) {
        t->entries++;
        note_free_record(v, pgno, i, key, ksize, 1, pgno * v->psize + doff, dsize);
        return;
    }
    if (nflags & F_SUBDATA) {
        if (dsize != DB_RECORD_SIZE) {
            problem(v, "%s DB: leaf page %llu node %u F_SUBDATA size %u != %u", name, pg, i,
                    dsize, DB_RECORD_SIZE);
            return;
        }
        read_dbrec(page + doff, &sub);
        if (nflags & F_DUPDATA) {
            /* A duplicate set in its own tree: its items count here, its
             * pages fold into this database's counters, and it is ordered
             * by this database's duplicate comparator. */
            uint64_t sb = 0, sl = 0;
            char *subname;

            validate_dup_db(v, name, pgno, i, &sub);
            add_entries(t, sub.entries);
            if (t->level > 0) {
                /* Only a forged dup sub-DB record with MDB_DUPSORT gets
                 * here; not walking it keeps the nesting to one level. */
                problem(v, "%s DB: leaf page %llu node %u nests a dup sub-DB in a dup sub-DB",
                        name, pg, i);
                return;
            }
            if ((subname = child_name(v, name, NULL, 0, pgno, i)) == NULL)
                return;
            verify_tree(v, 1, subname, &sub, t->dup_cmp, CMP_NONE, 0, &sb, &sl);
            zlmdb__free(subname);
            t->dup_branch += sb;
            t->dup_leaf += sl;
        } else {
            /* A named database: one entry here, walked on its own later. */
            validate_named_db(v, name, pgno, i, &sub);
            t->entries++;
            queue_named_db(v, t, key, ksize, &sub);
        }
        return;
    }
    if (nflags & F_DUPDATA) {
        int64_t n = walk_subpage(v, t, pgno, i, page, doff, dsize);
        t->entries = n > INT64_MAX - t->entries ? INT64_MAX : t->entries + n;
        return;
    }
    t->entries++;
}

static void walk_leaf(verifier *v, tree *t, uint64_t pgno, const uint8_t *page)
{
    const char *name = t->name;
    unsigned long long pg = pgno;
    unsigned upper, numkeys, i;

    if (!check_bounds(v, name, pgno, -1, page, 0, v->psize, &upper, &numkeys))
        return;
    for (i = 0; i < numkeys && !stopped(v); i++) {
        size_t o = node_at(v, page, 0, i);
        unsigned nflags, ksize;
        const uint8_t *key;

        if (o + NODE_HEADER > v->psize || o < upper + v->pagebase) {
            problem(v, "%s DB: leaf page %llu node %u header out of bounds", name, pg, i);
            continue;
        }
        nflags = rd16(page + o + 4);
        ksize = rd16(page + o + 6);
        if (o + NODE_HEADER + ksize > v->psize) {
            problem(v, "%s DB: leaf page %llu node %u key overruns page", name, pg, i);
            continue;
        }
        key = page + o + NODE_HEADER;
        if (t->have_last && cmp_keys(t->key_cmp, key, ksize, t->last, t->last_len) <= 0)
            problem(v, "%s DB: leaf keys out of order at page %llu node %u", name, pg, i);
        t->last = key;
        t->last_len = ksize;
        t->have_last = 1;
        leaf_value(v, t, pgno, i, page, o, nflags, ksize, node_lohi(page + o));
    }
    keep_last_key(v, t);
}

/* A DUPFIXED leaf: fixed-size keys packed after the header. */
static void walk_leaf2(verifier *v, tree *t, uint64_t pgno, const uint8_t *page)
{
    const char *name = t->name;
    unsigned long long pg = pgno;
    unsigned pad = pg_pad(v, page);
    int64_t numkeys = numkeys_of(v, pg_lower(v, page)), k;
    uint32_t usable = v->psize - v->hdrsz;

    if (pad == 0 || pad > usable || numkeys * (int64_t)pad > (int64_t)usable) {
        problem(v, "%s DB: LEAF2 page %llu bad key size %u (%lld keys, %u usable)", name, pg, pad,
                (long long)numkeys, usable);
        return;
    }
    if (t->db->pad && pad != t->db->pad)
        problem(v, "%s DB: LEAF2 page %llu key size %u disagrees with md_pad %u", name, pg, pad,
                t->db->pad);
    for (k = 0; k < numkeys; k++) {
        const uint8_t *key = page + v->hdrsz + (size_t)k * pad;
        if (t->have_last && cmp_keys(t->key_cmp, key, pad, t->last, t->last_len) <= 0)
            problem(v, "%s DB: LEAF2 page %llu keys out of order at %lld", name, pg,
                    (long long)k);
        t->last = key;
        t->last_len = pad;
        t->have_last = 1;
    }
    keep_last_key(v, t);
    t->entries += numkeys;
}

/* Reach page `pgno` at `depth` (the root is 1): check its header, then walk
 * a leaf at once or push a branch page as the next frame. */
static void visit(verifier *v, tree *t, uint64_t pgno, unsigned depth)
{
    const char *name = t->name;
    unsigned long long pg = pgno;
    const uint8_t *page;
    unsigned flags, ptype, upper, numkeys;

    if (stopped(v) || !mark_live(v, pgno, name, 0))
        return;
    page = walk_page(v, t->level, pgno);
    if (page == NULL) {
        if (!v->rc)
            problem(v, "%s DB: reachable page %llu is beyond EOF or truncated", name, pg);
        return;
    }
    if (pg_pgno(page) != pgno)
        problem(v, "%s DB: page %llu stores mp_pgno %llu", name, pg,
                (unsigned long long)pg_pgno(page));
    flags = pg_flags(v, page);
    check_not_dirty(v, name, pgno, page, flags);
    if (!flags_at_rest_ok(v, flags)) {
        problem(v, "%s DB: page %llu has unknown flag bits 0x%x", name, pg, flags);
        return;
    }
    ptype = flags & TYPE_MASK;
    if (ptype & P_META) {
        problem(v, "%s DB: meta page %llu reachable as a tree page", name, pg);
        return;
    }
    if (ptype & P_SUBP) {
        problem(v, "%s DB: standalone P_SUBP page %llu", name, pg);
        return;
    }
    if (ptype != P_BRANCH && ptype != P_LEAF && ptype != (P_LEAF | P_LEAF2)) {
        problem(v, "%s DB: page %llu has mixed or invalid page flags 0x%x", name, pg, flags);
        return;
    }
    if (depth > t->maxdepth)
        t->maxdepth = depth;
    if (ptype == P_LEAF) {
        t->leaf++;
        walk_leaf(v, t, pgno, page);
        return;
    }
    if (ptype != P_BRANCH) {
        t->leaf++;
        walk_leaf2(v, t, pgno, page);
        return;
    }
    t->branch++;
    if (!check_bounds(v, name, pgno, -1, page, 0, v->psize, &upper, &numkeys))
        return;
    if (numkeys < 1) {
        problem(v, "%s DB: branch page %llu has no children", name, pg);
        return;
    }
    if (depth >= CURSOR_STACK) {
        problem(v, "%s DB: tree deeper than %u levels", name, CURSOR_STACK);
        return;
    }
    if (!v->mem) {             /* the frame outlives the run: keep a copy */
        uint8_t **copy = &v->levels[t->level].page[depth - 1];
        if (*copy == NULL && (*copy = zlmdb__malloc(v->psize)) == NULL) {
            fail_nomem(v);
            return;
        }
        page = memcpy(*copy, page, v->psize);
    }
    t->frames[depth - 1] = (frame){page, pgno, upper, numkeys, 0, NULL, 0, 0};
    t->nframes = depth;
}

/* Depth first from the root, one child of the deepest branch page at a time. */
static void walk_tree(verifier *v, tree *t, uint64_t root)
{
    t->nframes = 0;
    visit(v, t, root, 1);
    while (t->nframes > 0 && !stopped(v)) {
        frame *f = &t->frames[t->nframes - 1];
        unsigned long long pg = f->pgno;
        unsigned i, ksize;
        uint64_t child;
        size_t o;

        if (f->next >= f->numkeys) {
            t->nframes--;
            continue;
        }
        i = f->next++;
        o = node_at(v, f->page, 0, i);
        if (o + NODE_HEADER > v->psize || o < f->upper + v->pagebase) {
            problem(v, "%s DB: branch page %llu node %u out of bounds", t->name, pg, i);
            continue;
        }
        /* A branch node's page number: mn_lo, mn_hi and, on 64-bit, mn_flags. */
        child = node_lohi(f->page + o) | ((uint64_t)rd16(f->page + o + 4) << 32);
        ksize = rd16(f->page + o + 6);
        if (o + NODE_HEADER + ksize > v->psize) {
            problem(v, "%s DB: branch page %llu node %u key overruns page", t->name, pg, i);
            continue;
        }
        if (i > 0 && ksize) {  /* node 0's separator is empty by construction */
            const uint8_t *key = f->page + o + NODE_HEADER;
            if (f->have_sep && cmp_keys(t->key_cmp, key, ksize, f->sep, f->sep_len) <= 0)
                problem(v, "%s DB: branch page %llu separator keys out of order at node %u",
                        t->name, pg, i);
            f->sep = key;
            f->sep_len = ksize;
            f->have_sep = 1;
        }
        visit(v, t, child, t->nframes + 1);
    }
}

static void check_counts(verifier *v, const tree *t)
{
    static const char *const labels[2] = {"branch pages", "leaf pages"};
    uint64_t lo[2], hi[2], claimed[2];
    int k;

    /* A DUPSORT database's page counters include its duplicate sub-trees
     * since LMDB 0.9.36 and 1.0 (ITS#9388); older writers counted only its
     * own tree, and a file written by both can hold anything in between. */
    lo[0] = t->branch; hi[0] = t->branch + t->dup_branch; claimed[0] = t->db->branch_pages;
    lo[1] = t->leaf; hi[1] = t->leaf + t->dup_leaf; claimed[1] = t->db->leaf_pages;
    for (k = 0; k < 2; k++) {
        if (lo[k] <= claimed[k] && claimed[k] <= hi[k])
            continue;
        if (lo[k] == hi[k])
            problem(v, "%s DB: walked %llu %s, record says %llu", t->name,
                    (unsigned long long)lo[k], labels[k], (unsigned long long)claimed[k]);
        else
            problem(v, "%s DB: walked %llu %s (%llu with dup sub-trees), record says %llu",
                    t->name, (unsigned long long)lo[k], labels[k], (unsigned long long)hi[k],
                    (unsigned long long)claimed[k]);
    }
    if (t->overflow != t->db->overflow_pages)
        problem(v, "%s DB: walked %llu overflow pages, record says %llu", t->name,
                (unsigned long long)t->overflow, (unsigned long long)t->db->overflow_pages);
    if (t->entries < 0 || (uint64_t)t->entries != t->db->entries)
        problem(v, "%s DB: walked %lld entries, record says %llu", t->name,
                (long long)t->entries, (unsigned long long)t->db->entries);
    if (t->maxdepth != t->db->depth)
        problem(v, "%s DB: walked %u depth, record says %u", t->name, t->maxdepth,
                t->db->depth);
}

/* Walk one tree and compare its counters with its record.  *branch_out and
 * *leaf_out (when not NULL) get its pages including duplicate sub-trees,
 * which is what a DUPSORT database's counters add up. */
static void verify_tree(verifier *v, int level, const char *name, const dbrec *db,
                        enum cmp_kind key_cmp, enum cmp_kind dup_cmp, int is_free,
                        uint64_t *branch_out, uint64_t *leaf_out)
{
    tree t;

    if (branch_out)
        *branch_out = *leaf_out = 0;
    if (stopped(v))
        return;
    if (db->root == P_INVALID) {
        if (db->branch_pages || db->leaf_pages || db->overflow_pages || db->entries ||
            db->depth)
            problem(v, "%s DB is empty (no root) but has nonzero counters", name);
        return;
    }
    if (db->depth > CURSOR_STACK) {
        problem(v, "%s DB md_depth %u exceeds %u", name, db->depth, CURSOR_STACK);
        return;
    }
    if (db->root < NUM_METAS || db->root >= v->next_pgno) {
        problem(v, "%s DB root page %llu out of range", name, (unsigned long long)db->root);
        return;
    }
    memset(&t, 0, sizeof(t));
    t.name = name;
    t.db = db;
    t.key_cmp = key_cmp;
    t.dup_cmp = dup_cmp;
    t.is_free = is_free;
    t.level = level;
    walk_tree(v, &t, db->root);
    check_counts(v, &t);
    v->branch_total += t.branch;
    v->leaf_total += t.leaf;
    v->overflow_total += t.overflow;
    if (level == 0 && !is_free && strcmp(name, "main") == 0)
        v->r->sum.entries = t.entries > 0 ? (uint64_t)t.entries : 0;
    if (branch_out) {
        *branch_out = t.branch + t.dup_branch;
        *leaf_out = t.leaf + t.dup_leaf;
    }
}

/* Named databases, depth first in the order found: each tree's finds are
 * reversed onto the stack, so the first found is walked next. */
static void reverse_pending(verifier *v, size_t from)
{
    size_t a = from, b = v->npending;
    while (b > a + 1) {
        pending_tree tmp = v->pending[a];
        v->pending[a++] = v->pending[--b];
        v->pending[b] = tmp;
    }
}

static void walk_named_dbs(verifier *v)
{
    while (v->npending > 0 && !stopped(v)) {
        pending_tree p = v->pending[--v->npending];
        size_t from = v->npending;

        verify_tree(v, 0, p.name, &p.db, p.key_cmp, p.dup_cmp, 0, NULL, NULL);
        v->databases++;
        zlmdb__free(p.name);
        reverse_pending(v, from);
    }
}

/* ------------------------------------------------------------ the free list */

static void decode_free_record(verifier *v, const free_record *rec, uint8_t **chunk)
{
    unsigned long long txnid = rec->txnid;
    uint64_t count, prev = 0, k = 1, done = 8;
    const uint8_t *p;
    int have_prev = 0;

    if (rec->size < 8 || rec->size % 8 != 0) {
        problem(v, "freeDB: record %llu value size %u is not a positive multiple of 8", txnid,
                rec->size);
        return;
    }
    if ((p = file_bytes(v, rec->offset, 8, chunk, IDL_CHUNK)) == NULL)
        return;
    count = rd64(p);
    if (count != rec->size / 8 - 1) {
        problem(v, "freeDB: record %llu count %llu does not match value size %u", txnid,
                (unsigned long long)count, rec->size);
        return;
    }
    while (done < rec->size && !stopped(v)) {
        size_t n = rec->size - done < IDL_CHUNK ? (size_t)(rec->size - done) : IDL_CHUNK, j;
        if ((p = file_bytes(v, rec->offset + done, n, chunk, IDL_CHUNK)) == NULL)
            return;
        for (j = 0; j < n; j += 8, k++) {
            uint64_t pg = rd64(p + j);
            if (have_prev && pg >= prev)
                problem(v, "freeDB: record %llu page list not strictly descending at index %llu",
                        txnid, (unsigned long long)k);
            prev = pg;
            have_prev = 1;
            if (pg < NUM_METAS || pg >= v->next_pgno) {
                problem(v, "freeDB: record %llu lists out-of-range page %llu", txnid,
                        (unsigned long long)pg);
                continue;
            }
            if (bit_get(v->r->free, pg))
                problem(v, "freeDB: page %llu listed in more than one record",
                        (unsigned long long)pg);
            bit_set(v->r->free, pg);
        }
        done += n;
    }
}

static void decode_free_records(verifier *v)
{
    uint8_t *chunk = NULL;
    size_t i;

    for (i = 0; i < v->nfrees && !stopped(v); i++)
        decode_free_record(v, &v->frees[i], &chunk);
    zlmdb__free(chunk);
}

/* Every page from 2 to the last in use is reachable or free, never both. */
static void check_cover(verifier *v)
{
    const uint64_t *live = v->r->live, *freed = v->r->free;
    uint64_t both = 0, neither = 0, first_both = 0, first_neither = 0, w, nwords;

    nwords = (v->next_pgno + 63) / 64;
    for (w = 0; w < nwords; w++) {
        uint64_t valid = ~(uint64_t)0, b, n;
        if (w == 0)
            valid &= ~(uint64_t)((1u << NUM_METAS) - 1);
        if (w == nwords - 1 && v->next_pgno % 64)
            valid &= ((uint64_t)1 << (v->next_pgno % 64)) - 1;
        b = live[w] & freed[w] & valid;
        n = ~live[w] & ~freed[w] & valid;
        if (b && !both)
            first_both = w * 64 + lowest_bit(b);
        if (n && !neither)
            first_neither = w * 64 + lowest_bit(n);
        both += popcount64(b);
        neither += popcount64(n);
    }
    if (both)
        problem(v, "%llu page(s) are both reachable and in the freeDB (first: page %llu)",
                (unsigned long long)both, (unsigned long long)first_both);
    if (neither)
        problem(v, "%llu page(s) are neither reachable nor in the freeDB -- a leak (first: page "
                "%llu)", (unsigned long long)neither, (unsigned long long)first_neither);
}

/* ------------------------------------------------------------ meta pages */

static int unsupported(const char *fmt, ...) ZLMDB__PRINTF(1, 2);
static int unsupported(const char *fmt, ...)
{
    char msg[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return zlmdb__error_set(ZLMDB_VERIFY_UNSUPPORTED, "%s", msg);
}

/* The page header's size tells the format: MDB_MAGIC follows it on meta
 * page 0 (offset 16 for 0.9, 24 for 1.0 with its mp_txnid). */
static int detect_format(verifier *v)
{
    uint8_t head[64];
    const uint8_t *p;
    uint8_t *slot = head;
    size_t n = v->size < sizeof(head) ? (size_t)v->size : sizeof(head), off;

    /* head is on the stack: file_bytes() only allocates a NULL slot. */
    if ((p = file_bytes(v, 0, n, &slot, sizeof(head))) == NULL)
        return v->rc ? v->rc : unsupported("not an LMDB data file (it is shorter than its "
                                           "first page header)");
    for (off = 0; off + 4 <= n; off += 4)
        if (rd32(p + off) == MDB_MAGIC)
            break;
    if (off + 4 > n) {
        for (off = 0; off + 4 <= n; off += 4)
            if (rd32(p + off) == MDB_MAGIC_SWAPPED)
                return unsupported("unsupported LMDB layout: MDB_MAGIC is byte-swapped at "
                                   "offset %zu (a file written on a host of the other byte "
                                   "order)", off);
        return unsupported("not an LMDB data file (MDB_MAGIC not found in first page), or an "
                           "unsupported 32-bit / foreign-endian file");
    }
    if (off == 16) {
        v->hdrsz = 16; v->pagebase = 0; v->data_version = 1; v->max_psize = 0x8000;
        v->has_txnid = 0;
    } else if (off == 24) {
        v->hdrsz = 24; v->pagebase = 24; v->data_version = 3; v->max_psize = 0x10000;
        v->has_txnid = 1;
    } else {
        return unsupported("unsupported LMDB layout: page-header size %zu (this verifier "
                           "handles 64-bit 0.9 and 1.0 files only%s)", off,
                           off == 12 ? "; 12 bytes is the page header of a 32-bit build" : "");
    }
    return ZLMDB_OK;
}

static int read_meta(verifier *v, unsigned pgno, uint32_t psize, metarec *m)
{
    uint64_t off = (uint64_t)pgno * psize;
    const uint8_t *p, *b;
    uint8_t *slot = NULL;
    int rc = ZLMDB_OK;

    if (off + v->hdrsz + META_BODY_SIZE > v->size)
        return unsupported("meta page %u is beyond the end of the file", pgno);
    p = file_bytes(v, off, v->hdrsz + META_BODY_SIZE, &slot, v->hdrsz + META_BODY_SIZE);
    if (p == NULL) {
        rc = v->rc ? v->rc : unsupported("meta page %u is truncated", pgno);
        goto done;
    }
    m->pgno = rd64(p);
    m->flags = rd16(p + v->hdrsz - 6);
    b = p + v->hdrsz;
    m->magic = rd32(b);
    m->version = rd32(b + 4);
    m->mapsize = rd64(b + 16);       /* after mm_address */
    read_dbrec(b + 24, &m->free);
    read_dbrec(b + 24 + DB_RECORD_SIZE, &m->main);
    m->last_pg = rd64(b + 24 + 2 * DB_RECORD_SIZE);
    m->txnid = rd64(b + 24 + 2 * DB_RECORD_SIZE + 8);
    if (!(m->flags & P_META))
        rc = unsupported("page %u is not marked P_META", pgno);
done:
    zlmdb__free(slot);
    return rc;
}

/* Both meta pages, checked as mdb_env_read_header does, and the committed
 * one chosen as mdb_env_pick_meta does (the higher txnid). */
static int load_metas(verifier *v)
{
    metarec m[2];
    uint32_t psize;
    uint64_t cap;
    unsigned k;
    int rc;

    if ((rc = read_meta(v, 0, 1, &m[0])))
        return rc;
    psize = m[0].free.pad;           /* mm_psize is the free DB's md_pad */
    if (psize == 0 || (psize & (psize - 1)) || psize > v->max_psize || psize < 256 ||
        psize < v->hdrsz + META_BODY_SIZE)
        return unsupported("meta page 0 has an implausible page size %u (want a power of two "
                           "in [256, %u])", psize, v->max_psize);
    v->psize = psize;
    v->file_pages = v->size / psize;
    if ((rc = read_meta(v, 1, psize, &m[1])))
        return rc;
    for (k = 0; k < 2; k++) {
        if (m[k].magic != MDB_MAGIC)
            return unsupported("meta page %u has bad magic 0x%x", k, m[k].magic);
        if (m[k].version != v->data_version)
            return unsupported("meta page %u is data version %u, this engine expects %u", k,
                               m[k].version, v->data_version);
    }
    if (m[1].free.pad != psize)
        return unsupported("meta pages disagree on page size (%u vs %u)", psize, m[1].free.pad);

    /* Structural findings, recorded while the walk goes on. */
    for (k = 0; k < 2; k++)
        if (m[k].pgno != k)
            problem(v, "meta page %u stores mp_pgno %llu, not %u", k,
                    (unsigned long long)m[k].pgno, k);
    /* Transaction N writes meta page N & 1 with mm_txnid = N. */
    if (m[0].txnid && (m[0].txnid & 1))
        problem(v, "meta page 0 has odd txnid %llu (parity violation)",
                (unsigned long long)m[0].txnid);
    if (m[1].txnid && !(m[1].txnid & 1))
        problem(v, "meta page 1 has even txnid %llu (parity violation)",
                (unsigned long long)m[1].txnid);
    if (m[0].txnid && m[0].txnid == m[1].txnid)
        problem(v, "meta pages share nonzero txnid %llu", (unsigned long long)m[0].txnid);

    v->meta_page = m[0].txnid < m[1].txnid ? 1 : 0;
    v->meta = m[v->meta_page];
    if (v->meta.last_pg < NUM_METAS - 1)
        return unsupported("committed meta has mm_last_pg %llu < %u",
                           (unsigned long long)v->meta.last_pg, NUM_METAS - 1);
    /* LMDB may leave free pages at the end of the map unwritten, so the
     * file can be shorter than mm_last_pg says; a generous allowance for
     * that, and no more, keeps a forged mm_last_pg from sizing the bitmaps. */
    cap = v->file_pages + (v->file_pages > ((uint64_t)1 << 20) ? v->file_pages
                                                                : ((uint64_t)1 << 20));
    if (v->meta.last_pg >= cap) {
        char next[24];
        if (v->meta.last_pg == UINT64_MAX)     /* 2^64, past what a uint64_t holds */
            snprintf(next, sizeof(next), "18446744073709551616");
        else
            snprintf(next, sizeof(next), "%llu", (unsigned long long)v->meta.last_pg + 1);
        return unsupported("committed meta claims next_pgno %s, far beyond the %llu page(s) a "
                           "%llu-byte file can hold", next, (unsigned long long)v->file_pages,
                           (unsigned long long)v->size);
    }
    v->next_pgno = v->meta.last_pg + 1;
    return ZLMDB_OK;
}

/* ------------------------------------------------------------ the driver */

static int run(verifier *v)
{
    zlmdb_verify_report *r = v->r;
    const metarec *m;
    size_t nwords;
    int rc;

    if ((rc = detect_format(v)) || (rc = load_metas(v)))
        return rc;
    m = &v->meta;
    nwords = (size_t)((v->next_pgno + 63) / 64);
    r->npages = v->next_pgno;
    r->live = zlmdb__malloc(nwords * sizeof(uint64_t));
    r->free = zlmdb__malloc(nwords * sizeof(uint64_t));
    if (r->live == NULL || r->free == NULL) {
        fail_nomem(v);
        return v->rc;
    }
    memset(r->live, 0, nwords * sizeof(uint64_t));
    memset(r->free, 0, nwords * sizeof(uint64_t));

    /* The engine refuses a file whose core records break these. */
    if (bad_db_flags(m->free.flags))
        problem(v, "freeDB has invalid flag combination 0x%x", m->free.flags);
    if (bad_db_flags(m->main.flags))
        problem(v, "main DB has invalid flag combination 0x%x", m->main.flags);
    if (m->main.pad > v->psize - v->hdrsz)
        problem(v, "main DB md_pad %u exceeds usable page space", m->main.pad);

    /* The free DB's keys are txnids, compared as integers whatever its flags. */
    verify_tree(v, 0, "freeDB", &m->free, CMP_INT, CMP_NONE, 1, NULL, NULL);
    verify_tree(v, 0, "main", &m->main, key_cmp_for(m->main.flags), dup_cmp_for(m->main.flags),
                0, NULL, NULL);
    reverse_pending(v, 0);
    walk_named_dbs(v);
    decode_free_records(v);
    if (!stopped(v))
        check_cover(v);
    return v->rc;
}

static void fill_summary(verifier *v)
{
    zlmdb_verify_summary *s = &v->r->sum;
    uint64_t w, nwords = (v->r->npages + 63) / 64;

    s->version = ZLMDB_VERIFY_SUMMARY_VERSION;
    s->lmdb_major = v->has_txnid ? 1 : 0;
    s->lmdb_minor = v->has_txnid ? 0 : 9;
    s->data_version = v->data_version;
    s->page_header_size = v->hdrsz;
    s->page_size = v->psize;
    s->meta_page = v->meta_page;
    s->txnid = v->meta.txnid;
    s->last_pgno = v->meta.last_pg;
    s->map_size = v->meta.mapsize;
    s->file_size = v->size;
    for (w = 0; w < nwords; w++) {
        s->pages_reachable += popcount64(v->r->live[w]);
        s->pages_free += popcount64(v->r->free[w]);
    }
    s->branch_pages = v->branch_total;
    s->leaf_pages = v->leaf_total;
    s->overflow_pages = v->overflow_total;
    s->databases = v->databases;
    s->problems = v->r->count;
    s->complete = !v->full;
}

static void verifier_dispose(verifier *v)
{
    unsigned l, d;

    for (l = 0; l < 2; l++) {
        for (d = 0; d < CURSOR_STACK; d++)
            zlmdb__free(v->levels[l].page[d]);
        zlmdb__free(v->levels[l].last_key);
        for (d = 0; d < RUNS; d++)
            zlmdb__free(v->levels[l].runs[d].buf);
    }
    zlmdb__free(v->scratch);
    while (v->npending > 0)
        zlmdb__free(v->pending[--v->npending].name);
    zlmdb__free(v->pending);
    zlmdb__free(v->frees);
}

static int verify_source(zlmdb__plat_fd fd, const uint8_t *mem, uint64_t size,
                         const zlmdb_verify_options *opts, zlmdb_verify_report **out)
{
    verifier v;
    int rc;

    memset(&v, 0, sizeof(v));
    v.fd = fd;
    v.mem = mem;
    v.size = size;
    v.max_problems = (opts && opts->max_problems) ? opts->max_problems
                                                   : ZLMDB_VERIFY_MAX_PROBLEMS;
    v.r = zlmdb__malloc(sizeof(*v.r));
    if (v.r == NULL)
        return zlmdb__error_set(ZLMDB_ENOMEM, "verify: out of memory");
    memset(v.r, 0, sizeof(*v.r));
    rc = run(&v);
    verifier_dispose(&v);
    if (rc) {
        zlmdb_verify_report_free(v.r);
        return rc;
    }
    fill_summary(&v);
    *out = v.r;
    if (v.r->count == 0)
        return ZLMDB_OK;
    return zlmdb__error_set(ZLMDB_VERIFY_FAILED, "verify: %zu problem%s, the first: %s",
                            v.r->count, v.r->count == 1 ? "" : "s",
                            (const char *)v.r->text.ptr);
}

static int check_call(const zlmdb_verify_options *opts, zlmdb_verify_report **out)
{
    if (out == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "verify: out is required");
    *out = NULL;
    if (opts && opts->version != ZLMDB_VERIFY_OPTIONS_VERSION)
        return zlmdb__error_set(ZLMDB_EINVAL, "verify: options version %u is not supported",
                                opts->version);
    return ZLMDB_OK;
}

int zlmdb_verify_buffer(const void *data, size_t len, const zlmdb_verify_options *opts,
                        zlmdb_verify_report **out)
{
    static const uint8_t empty[1];
    int rc = check_call(opts, out);

    if (rc)
        return rc;
    if (data == NULL && len)
        return zlmdb__error_set(ZLMDB_EINVAL, "verify: data is NULL");
    return verify_source(-1, data ? data : empty, len, opts, out);
}

int zlmdb_verify_fd(int fd, const zlmdb_verify_options *opts, zlmdb_verify_report **out)
{
    zlmdb__plat_file_info st;
    int rc = check_call(opts, out);

    if (rc)
        return rc;
    if ((rc = zlmdb__plat_fd_stat(fd, &st)))
        return zlmdb__error_set(rc, "verify: fstat(%d): %s", fd, strerror(rc));
    if (st.kind == ZLMDB__PLAT_FILE_DIR)
        return zlmdb__error_set(EISDIR, "verify: the descriptor is a directory; pass the "
                                        "data file (data.mdb) itself");
    if (st.kind != ZLMDB__PLAT_FILE_REGULAR)
        return zlmdb__error_set(ZLMDB_EINVAL, "verify: not a regular file; the verifier reads "
                                              "data files with pread()");
    return verify_source(fd, NULL,
                         (opts && opts->file_size) ? opts->file_size : st.size,
                         opts, out);
}

int zlmdb_verify_path(const char *path, int subdir, const zlmdb_verify_options *opts,
                      zlmdb_verify_report **out)
{
    static const char data_name[] = "/data.mdb";
    zlmdb__plat_file_info st;
    zlmdb__plat_fd fd;
    char *file;
    size_t n;
    int rc = check_call(opts, out), err;

    if (rc)
        return rc;
    if (path == NULL || subdir < -1 || subdir > 1)
        return zlmdb__error_set(ZLMDB_EINVAL, "verify: path is NULL or subdir is not -1, 0 "
                                              "or 1");
    if (subdir < 0)
        subdir = zlmdb__plat_file_stat(path, &st) == 0 && st.kind == ZLMDB__PLAT_FILE_DIR;
    n = strlen(path);
    file = zlmdb__malloc(n + sizeof(data_name));
    if (file == NULL)
        return zlmdb__error_set(ZLMDB_ENOMEM, "verify: out of memory");
    memcpy(file, path, n + 1);
    if (subdir)
        memcpy(file + n, data_name, sizeof(data_name));
    if ((err = zlmdb__plat_open_readonly(file, &fd))) {
        rc = zlmdb__error_set(err, "verify: cannot open %s: %s", file, strerror(err));
        zlmdb__free(file);
        return rc;
    }
    zlmdb__free(file);
    rc = zlmdb_verify_fd(fd, opts, out);
    zlmdb__plat_close(fd);
    return rc;
}

/* ------------------------------------------------------------ the report */

void zlmdb_verify_report_free(zlmdb_verify_report *r)
{
    if (r == NULL)
        return;
    zlmdb_buf_dispose(&r->text);
    zlmdb__free(r->offsets);
    zlmdb__free(r->live);
    zlmdb__free(r->free);
    zlmdb__free(r);
}

size_t zlmdb_verify_report_problem_count(const zlmdb_verify_report *r)
{
    return r ? r->count : 0;
}

const char *zlmdb_verify_report_problem(const zlmdb_verify_report *r, size_t i)
{
    if (r == NULL || i >= r->count)
        return NULL;
    return (const char *)r->text.ptr + r->offsets[i];
}

int zlmdb_verify_report_summary(const zlmdb_verify_report *r, zlmdb_verify_summary *out)
{
    if (r == NULL || out == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "verify: report and out are required");
    if (out->version != ZLMDB_VERIFY_SUMMARY_VERSION)
        return zlmdb__error_set(ZLMDB_EINVAL, "verify: summary version %u is not supported",
                                out->version);
    *out = r->sum;
    return ZLMDB_OK;
}

unsigned zlmdb_verify_report_page_state(const zlmdb_verify_report *r, uint64_t pgno)
{
    if (r == NULL || r->live == NULL || pgno >= r->npages)
        return 0;
    return (bit_get(r->live, pgno) ? ZLMDB_VERIFY_PAGE_REACHABLE : 0) |
           (bit_get(r->free, pgno) ? ZLMDB_VERIFY_PAGE_FREE : 0);
}

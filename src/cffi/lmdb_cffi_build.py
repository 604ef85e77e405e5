"""The CFFI binding of libzlmdb for PyPy: ``zlmdb._lmdb_cffi``.

CFFI's out-of-line API mode: this script holds the declarations (cdef) of
what the binding calls and the C source of the module around them
(set_source), and writes that module's C file with ``emit_c_code()``.
CMake runs it at build time and compiles the result, linked with the static
libzlmdb, as the extension module ``zlmdb._lmdb_cffi`` (CMakeLists.txt, the
PyPy branch).  Nothing here is imported at run time.

    pypy3 src/cffi/lmdb_cffi_build.py OUT.c

The LMDB calls go through libzlmdb's engine tables (``zlmdb_engine``), so
both engines are reached the same way; the small ``zl_*`` functions below
are the hot paths (get, put, cursor moves) as one C call each, taking
Python's bytes directly as ``const char *`` and writing results into
``zl_val``, a struct the Python side allocates once per transaction or
cursor.  Python-side code: python/zlmdb/_cffi/.
"""
import os
import sys

import cffi

HERE = os.path.dirname(os.path.abspath(__file__))

# The codecs' part of the module, one pair of files per codec: PART.cdef
# (declarations, appended to CDEF) and PART.c (C, appended to SOURCE).
# python/zlmdb/_cffi/PART.py is the Python side of each.
PARTS = ("codec_cbor", "codec_json", "codec_key", "orm")


def _part(name, ext):
    with open(os.path.join(HERE, name + ext), encoding="utf-8") as f:
        return "\n/* ---- src/cffi/%s%s */\n%s" % (name, ext, f.read())

CDEF = r"""
typedef unsigned int MDB_dbi;

/* LMDB's constants, from its header. */
#define MDB_NOSUBDIR ...
#define MDB_NOSYNC ...
#define MDB_RDONLY ...
#define MDB_NOMETASYNC ...
#define MDB_WRITEMAP ...
#define MDB_MAPASYNC ...
#define MDB_NOTLS ...
#define MDB_NOLOCK ...
#define MDB_NORDAHEAD ...
#define MDB_NOMEMINIT ...
#define MDB_REVERSEKEY ...
#define MDB_DUPSORT ...
#define MDB_INTEGERKEY ...
#define MDB_DUPFIXED ...
#define MDB_INTEGERDUP ...
#define MDB_CREATE ...
#define MDB_NOOVERWRITE ...
#define MDB_NODUPDATA ...
#define MDB_APPEND ...
#define MDB_APPENDDUP ...
#define MDB_CP_COMPACT ...
#define MDB_FIRST ...
#define MDB_FIRST_DUP ...
#define MDB_GET_BOTH ...
#define MDB_GET_BOTH_RANGE ...
#define MDB_GET_CURRENT ...
#define MDB_GET_MULTIPLE ...
#define MDB_LAST ...
#define MDB_LAST_DUP ...
#define MDB_NEXT ...
#define MDB_NEXT_DUP ...
#define MDB_NEXT_MULTIPLE ...
#define MDB_NEXT_NODUP ...
#define MDB_PREV ...
#define MDB_PREV_DUP ...
#define MDB_PREV_NODUP ...
#define MDB_SET_KEY ...
#define MDB_SET_RANGE ...
#define MDB_KEYEXIST ...
#define MDB_NOTFOUND ...
#define MDB_PAGE_NOTFOUND ...
#define MDB_CORRUPTED ...
#define MDB_PANIC ...
#define MDB_VERSION_MISMATCH ...
#define MDB_INVALID ...
#define MDB_MAP_FULL ...
#define MDB_DBS_FULL ...
#define MDB_READERS_FULL ...
#define MDB_TLS_FULL ...
#define MDB_TXN_FULL ...
#define MDB_CURSOR_FULL ...
#define MDB_PAGE_FULL ...
#define MDB_MAP_RESIZED ...
#define MDB_INCOMPATIBLE ...
#define MDB_BAD_RSLOT ...
#define MDB_BAD_TXN ...
#define MDB_BAD_VALSIZE ...
#define MDB_BAD_DBI ...
#define MDB_PROBLEM ...
#define MDB_BAD_CHECKSUM ...
#define MDB_CRYPTO_FAIL ...
#define MDB_ENV_ENCRYPTION ...
#define MDB_IS_READONLY ...
/* libzlmdb's own codes the binding tells apart. */
#define ZLMDB_ERRCODE_FIRST ...
#define ZLMDB_ERRCODE_LAST ...
#define ZLMDB_ENOMEM ...
#define ZLMDB_EINVAL ...
#define ZLMDB_NOTFOUND ...
#define ZLMDB_BAD_TXN ...
#define ZLMDB_READONLY ...
#define ZLMDB_BAD_FORMAT ...
#define ZLMDB_FORMAT_MISMATCH ...
#define ZLMDB_LIB_VERSION_AUTO ...
typedef struct MDB_env MDB_env;
typedef struct MDB_txn MDB_txn;
typedef struct MDB_cursor MDB_cursor;

/* MDB_val with a byte pointer: ffi.unpack(v.data, v.size) is the bytes. */
typedef struct { size_t size; char *data; } zl_val;

typedef struct {
    unsigned int ms_psize; unsigned int ms_depth; size_t ms_branch_pages;
    size_t ms_leaf_pages; size_t ms_overflow_pages; size_t ms_entries; ...;
} MDB_stat;
typedef struct {
    void *me_mapaddr; size_t me_mapsize; size_t me_last_pgno; size_t me_last_txnid;
    unsigned int me_maxreaders; unsigned int me_numreaders; ...;
} MDB_envinfo;

/* The engine table (include/zlmdb.h): its identity, and the entry points
 * the binding calls through it outside the hot paths. */
typedef struct zlmdb_engine {
    int lib_version; int major; int minor; int patch; unsigned data_version; int patched;
    int (*env_create)(MDB_env **env);
    int (*env_open)(MDB_env *env, const char *path, unsigned int flags, unsigned int mode);
    int (*env_copy2)(MDB_env *env, const char *path, unsigned int flags);
    int (*env_copyfd2)(MDB_env *env, int fd, unsigned int flags);
    int (*env_copy3)(MDB_env *env, const char *path, unsigned int flags, MDB_txn *txn);
    int (*env_copyfd3)(MDB_env *env, int fd, unsigned int flags, MDB_txn *txn);
    int (*env_stat)(MDB_env *env, MDB_stat *stat);
    int (*env_info)(MDB_env *env, MDB_envinfo *stat);
    int (*env_sync)(MDB_env *env, int force);
    void (*env_close)(MDB_env *env);
    int (*env_get_flags)(MDB_env *env, unsigned int *flags);
    int (*env_get_path)(MDB_env *env, const char **path);
    int (*env_get_fd)(MDB_env *env, int *fd);
    int (*env_set_mapsize)(MDB_env *env, size_t size);
    int (*env_set_maxreaders)(MDB_env *env, unsigned int readers);
    int (*env_get_maxreaders)(MDB_env *env, unsigned int *readers);
    int (*env_set_maxdbs)(MDB_env *env, MDB_dbi dbs);
    int (*env_get_maxkeysize)(MDB_env *env);
    int (*txn_begin)(MDB_env *env, MDB_txn *parent, unsigned int flags, MDB_txn **txn);
    size_t (*txn_id)(MDB_txn *txn);
    int (*txn_commit)(MDB_txn *txn);
    void (*txn_abort)(MDB_txn *txn);
    void (*txn_reset)(MDB_txn *txn);
    int (*txn_renew)(MDB_txn *txn);
    int (*dbi_open)(MDB_txn *txn, const char *name, unsigned int flags, MDB_dbi *dbi);
    int (*stat)(MDB_txn *txn, MDB_dbi dbi, MDB_stat *stat);
    int (*dbi_flags)(MDB_txn *txn, MDB_dbi dbi, unsigned int *flags);
    int (*drop)(MDB_txn *txn, MDB_dbi dbi, int del);
    int (*cursor_open)(MDB_txn *txn, MDB_dbi dbi, MDB_cursor **cursor);
    void (*cursor_close)(MDB_cursor *cursor);
    MDB_dbi (*cursor_dbi)(MDB_cursor *cursor);
    int (*reader_check)(MDB_env *env, int *dead);
    ...;
} zlmdb_engine;

const char *zlmdb_strerror(int rc);
const char *zlmdb_error_last(void);
int zlmdb_engine_get(int lib_version, const zlmdb_engine **out);
int zlmdb_engine_detect(const char *path, unsigned int env_flags, int *lib_version_out);
int zlmdb_engine_for_path(const char *path, unsigned int env_flags, int lib_version,
                          const zlmdb_engine **out);

/* ------------------------------------------------ the offline verifier */
typedef struct zlmdb_verify_report zlmdb_verify_report;
typedef struct { unsigned version; size_t max_problems; uint64_t file_size; ...; }
    zlmdb_verify_options;
typedef struct {
    unsigned version; int lmdb_major; int lmdb_minor; unsigned data_version;
    unsigned page_header_size; unsigned page_size; unsigned meta_page; uint64_t txnid;
    uint64_t last_pgno; uint64_t map_size; uint64_t file_size; uint64_t pages_reachable;
    uint64_t pages_free; uint64_t branch_pages; uint64_t leaf_pages; uint64_t overflow_pages;
    uint64_t entries; uint64_t databases; size_t problems; int complete; ...;
} zlmdb_verify_summary;
#define ZLMDB_VERIFY_OPTIONS_VERSION ...
#define ZLMDB_VERIFY_SUMMARY_VERSION ...
#define ZLMDB_VERIFY_FAILED ...
#define ZLMDB_VERIFY_UNSUPPORTED ...
#define ZLMDB_VERIFY_PAGE_REACHABLE ...
#define ZLMDB_VERIFY_PAGE_FREE ...
int zlmdb_verify_fd(int fd, const zlmdb_verify_options *opts, zlmdb_verify_report **out);
int zlmdb_verify_buffer(const void *data, size_t size, const zlmdb_verify_options *opts,
                        zlmdb_verify_report **out);
void zlmdb_verify_report_free(zlmdb_verify_report *report);
size_t zlmdb_verify_report_problem_count(const zlmdb_verify_report *report);
const char *zlmdb_verify_report_problem(const zlmdb_verify_report *report, size_t i);
void zlmdb_verify_report_summary(const zlmdb_verify_report *report,
                                 zlmdb_verify_summary *out);
int zl_verify_pages(const zlmdb_verify_report *report, uint64_t npages,
                    unsigned char *live, unsigned char *freed);

/* ------------------------------------------------------ the hot paths */
int zl_get(const zlmdb_engine *e, MDB_txn *txn, MDB_dbi dbi, const char *k, size_t kn,
           zl_val *out);
int zl_put(const zlmdb_engine *e, MDB_txn *txn, MDB_dbi dbi, const char *k, size_t kn,
           const char *v, size_t vn, unsigned int flags);
int zl_del(const zlmdb_engine *e, MDB_txn *txn, MDB_dbi dbi, const char *k, size_t kn,
           const char *v, size_t vn);
int zl_cursor_get(const zlmdb_engine *e, MDB_cursor *c, zl_val *key, zl_val *val, int op,
                  int preload);
int zl_cursor_seek(const zlmdb_engine *e, MDB_cursor *c, const char *k, size_t kn,
                   const char *v, size_t vn, zl_val *key, zl_val *val, int op, int preload);
int zl_cursor_put(const zlmdb_engine *e, MDB_cursor *c, const char *k, size_t kn,
                  const char *v, size_t vn, unsigned int flags, zl_val *old);
int zl_cursor_del(const zlmdb_engine *e, MDB_cursor *c, unsigned int flags);
int zl_cursor_count(const zlmdb_engine *e, MDB_cursor *c, size_t *out);
void zl_preload(const zl_val *v);
char *zl_readers(const zlmdb_engine *e, MDB_env *env, int *rc);
void zl_free(void *p);
uintptr_t zl_map_base(const char *p, unsigned long long ino);
const char *zl_package_version(void);
"""

SOURCE = r"""
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lmdb.h>
#include "zlmdb.h"
#include "platform.h"   /* src/lib: zlmdb__plat_map_origin */

#ifndef ZLMDB_PACKAGE_VERSION
#  define ZLMDB_PACKAGE_VERSION "unknown"
#endif

/* The layout the Python side reads; the same as MDB_val's. */
typedef struct { size_t size; char *data; } zl_val;
_Static_assert(sizeof(zl_val) == sizeof(MDB_val) &&
               offsetof(zl_val, size) == offsetof(MDB_val, mv_size) &&
               offsetof(zl_val, data) == offsetof(MDB_val, mv_data),
               "zl_val must have MDB_val's layout");

static const char *zl_package_version(void) { return ZLMDB_PACKAGE_VERSION; }

/* Fault a value's pages in while the GIL is released (CFFI releases it
 * around every call), so building the bytes object does not fault. */
static void zl_preload(const zl_val *v)
{
    const volatile char *p = (const volatile char *)v->data;
    size_t i;
    for (i = 0; i < v->size; i += 4096)
        (void)p[i];
}

static int zl_get(const zlmdb_engine *e, MDB_txn *txn, MDB_dbi dbi, const char *k,
                  size_t kn, zl_val *out)
{
    MDB_val key = {kn, (void *)k};
    int rc = e->get(txn, dbi, &key, (MDB_val *)out);
    if (rc == 0)
        zl_preload(out);
    return rc;
}

static int zl_put(const zlmdb_engine *e, MDB_txn *txn, MDB_dbi dbi, const char *k,
                  size_t kn, const char *v, size_t vn, unsigned int flags)
{
    MDB_val key = {kn, (void *)k}, val = {vn, (void *)v};
    return e->put(txn, dbi, &key, &val, flags);
}

static int zl_del(const zlmdb_engine *e, MDB_txn *txn, MDB_dbi dbi, const char *k,
                  size_t kn, const char *v, size_t vn)
{
    MDB_val key = {kn, (void *)k}, val = {vn, (void *)v};
    /* An empty value deletes every duplicate of the key. */
    return e->del(txn, dbi, &key, vn ? &val : NULL);
}

static int zl_cursor_get(const zlmdb_engine *e, MDB_cursor *c, zl_val *key, zl_val *val,
                         int op, int preload)
{
    int rc = e->cursor_get(c, (MDB_val *)key, (MDB_val *)val, (MDB_cursor_op)op);
    if (rc == 0 && preload)
        zl_preload(val);
    return rc;
}

/* A move that takes a key (and a value): the caller's bytes are only read
 * during the call; afterwards key/val point into LMDB's pages. */
static int zl_cursor_seek(const zlmdb_engine *e, MDB_cursor *c, const char *k, size_t kn,
                          const char *v, size_t vn, zl_val *key, zl_val *val, int op,
                          int preload)
{
    key->size = kn;
    key->data = (char *)k;
    val->size = vn;
    val->data = (char *)v;
    return zl_cursor_get(e, c, key, val, op, preload);
}

/* On MDB_KEYEXIST with MDB_NOOVERWRITE LMDB hands back the stored value:
 * it is left in *old (Cursor.replace needs it). */
static int zl_cursor_put(const zlmdb_engine *e, MDB_cursor *c, const char *k, size_t kn,
                         const char *v, size_t vn, unsigned int flags, zl_val *old)
{
    MDB_val key = {kn, (void *)k}, val = {vn, (void *)v};
    int rc = e->cursor_put(c, &key, &val, flags);
    if (old) {
        old->size = val.mv_size;
        old->data = val.mv_data;
        if (rc == MDB_KEYEXIST)
            zl_preload(old);
    }
    return rc;
}

static int zl_cursor_del(const zlmdb_engine *e, MDB_cursor *c, unsigned int flags)
{
    return e->cursor_del(c, flags);
}

static int zl_cursor_count(const zlmdb_engine *e, MDB_cursor *c, size_t *out)
{
    return e->cursor_count(c, out);
}

struct zl_text { char *p; size_t n, cap; int failed; };

static int readers_cb(const char *msg, void *payload)
{
    struct zl_text *t = payload;
    size_t len = strlen(msg);
    if (t->n + len + 1 > t->cap) {
        size_t cap = (t->cap ? t->cap * 2 : 256) + len;
        char *p = realloc(t->p, cap);
        if (p == NULL) {
            t->failed = 1;
            return -1;
        }
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->n, msg, len + 1);
    t->n += len;
    return 0;
}

/* LMDB's reader table as text (malloc'd, zl_free it), or NULL. */
static char *zl_readers(const zlmdb_engine *e, MDB_env *env, int *rc)
{
    struct zl_text t = {NULL, 0, 0, 0};
    *rc = e->reader_list(env, readers_cb, &t);
    if (t.failed) {
        free(t.p);
        *rc = ENOMEM;
        return NULL;
    }
    if (t.p == NULL)
        t.p = calloc(1, 1);
    return t.p;
}

static void zl_free(void *p) { free(p); }

/* Where LMDB's map of its data file (inode `ino`) starts, given a pointer
 * `p` into it; 0 when `p` is in no map of that file.  The platform layer's
 * lookup (src/lib/platform.h), which src/ext/mapview.c uses too:
 * buffers=True views point into a second map of the file, and this locates
 * a value in it. */
static uintptr_t zl_map_base(const char *p, unsigned long long ino)
{
    return (uintptr_t)zlmdb__plat_map_origin(p, (uint64_t)ino);
}

/* The verifier's page bitmaps: page p at bit p % 8 of byte p / 8. */
static int zl_verify_pages(const zlmdb_verify_report *report, uint64_t npages,
                           unsigned char *live, unsigned char *freed)
{
    uint64_t pg;
    for (pg = 0; pg < npages; pg++) {
        unsigned state = zlmdb_verify_report_page_state(report, pg);
        if (state & ZLMDB_VERIFY_PAGE_REACHABLE)
            live[pg >> 3] |= (unsigned char)(1 << (pg & 7));
        if (state & ZLMDB_VERIFY_PAGE_FREE)
            freed[pg >> 3] |= (unsigned char)(1 << (pg & 7));
    }
    return 0;
}
"""


def make_ffi():
    ffi = cffi.FFI()
    ffi.cdef(CDEF + "".join(_part(p, ".cdef") for p in PARTS))
    ffi.set_source("zlmdb._lmdb_cffi", SOURCE + "".join(_part(p, ".c") for p in PARTS))
    return ffi


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: lmdb_cffi_build.py OUT.c")
    make_ffi().emit_c_code(argv[1])


if __name__ == "__main__":
    main(sys.argv)

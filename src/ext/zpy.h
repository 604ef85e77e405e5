/* Internal header of the CPython extension zlmdb._native.
 *
 * Object model (the lifetime tree): Environment > {Transaction, _Database},
 * Transaction > {Cursor, child Transaction}.  Every object embeds a
 * zpy_Node: the parent keeps an intrusive list of its live children (borrowed
 * pointers; a child unlinks itself when it dies) and each child holds a
 * strong reference to its parent object where it needs one.  Ending a parent
 * first marks every descendant invalid (no I/O, GIL held), then releases
 * their LMDB resources; from then on each method of a descendant raises the
 * py-lmdb "closed/deleted/dropped" error from its one guard.
 */
#ifndef ZPY_H
#define ZPY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <limits.h>
#include <string.h>
#include <stdatomic.h>

#include <lmdb.h>

#include "zlmdb.h"
#include "platform.h"   /* libzlmdb's OS layer: mutexes, pids, files, maps */
#include "pyconv.h"

#if defined(__GNUC__)
#  define ZPY_INLINE static inline __attribute__((always_inline))
#  define ZPY_NOINLINE __attribute__((noinline))
#  define ZPY_LIKELY(x) __builtin_expect(!!(x), 1)
#  define ZPY_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#  define ZPY_INLINE static inline
#  define ZPY_NOINLINE
#  define ZPY_LIKELY(x) (x)
#  define ZPY_UNLIKELY(x) (x)
#endif

/* ------------------------------------------------------------ the GIL */

/* Release the GIL around an LMDB call that can block or fault pages, like
 * Py_BEGIN_ALLOW_THREADS, but only when another thread could take it: with a
 * single Python thread (and a single interpreter) nothing can run meanwhile,
 * and the release/re-acquire pair cost more than a small get itself.  A
 * thread started later cannot run Python before we return anyway, since it
 * needs the GIL we hold. */
ZPY_INLINE PyThreadState *zpy_gil_release(void)
{
    PyThreadState *ts = PyThreadState_Get();
    PyInterpreterState *interp = PyThreadState_GetInterpreter(ts);

    if (PyThreadState_Next(ts) == NULL && PyInterpreterState_ThreadHead(interp) == ts &&
        PyInterpreterState_Next(interp) == NULL && PyInterpreterState_Head() == interp)
        return NULL;
    return PyEval_SaveThread();
}

ZPY_INLINE void zpy_gil_acquire(PyThreadState *ts)
{
    if (ts)
        PyEval_RestoreThread(ts);
}

/* The pair in the shape of Py_BEGIN/END_ALLOW_THREADS: touch no Python
 * object between them. */
#define ZPY_BEGIN_LMDB { PyThreadState *zpy_saved_ = zpy_gil_release();
#define ZPY_END_LMDB zpy_gil_acquire(zpy_saved_); }

/* ------------------------------------------------------------ exceptions */

/* The py-lmdb exception classes, in the order of its table (py-lmdb 3.0
 * added the four for LMDB 1.0's codes after BadValsizeError). */
enum zpy_exc {
    ZPY_EXC_KEYEXIST, ZPY_EXC_NOTFOUND, ZPY_EXC_PAGE_NOTFOUND, ZPY_EXC_CORRUPTED,
    ZPY_EXC_PANIC, ZPY_EXC_VERSION_MISMATCH, ZPY_EXC_INVALID, ZPY_EXC_MAP_FULL,
    ZPY_EXC_DBS_FULL, ZPY_EXC_READERS_FULL, ZPY_EXC_TLS_FULL, ZPY_EXC_TXN_FULL,
    ZPY_EXC_CURSOR_FULL, ZPY_EXC_PAGE_FULL, ZPY_EXC_MAP_RESIZED,
    ZPY_EXC_INCOMPATIBLE, ZPY_EXC_BAD_RSLOT, ZPY_EXC_BAD_DBI, ZPY_EXC_BAD_TXN,
    ZPY_EXC_BAD_VALSIZE, ZPY_EXC_PROBLEM, ZPY_EXC_BAD_CHECKSUM, ZPY_EXC_CRYPTO_FAIL,
    ZPY_EXC_ENV_ENCRYPTION, ZPY_EXC_READONLY, ZPY_EXC_INVALID_PARAMETER,
    ZPY_EXC_LOCK, ZPY_EXC_MEMORY, ZPY_EXC_DISK,
    ZPY_EXC_COUNT
};

/* --------------------------------------------------------- module state */

typedef struct {
    PyTypeObject *EnvType;
    PyTypeObject *TxnType;
    PyTypeObject *CursorType;
    PyTypeObject *DbType;
    PyTypeObject *IterType;
    PyTypeObject *PMapType;            /**< zlmdb._native.PersistentMapBase */
    PyTypeObject *PMapIterType;
    PyTypeObject *OrmTxnType;          /**< zlmdb.Transaction */
    PyTypeObject *TxnStatsType;        /**< zlmdb.TransactionStats */
    PyTypeObject *MappingType;         /**< keeps zero-copy values readable */
    PyObject *Error;                   /**< zlmdb.lmdb.Error */
    PyObject *exc[ZPY_EXC_COUNT];      /**< its 29 subclasses */
    PyObject *open_files;              /**< identities of open envs' files */
    const zlmdb_engine *default_engine; /**< for new envs without lib_version= */
    PyObject *realpath;                /**< os.path.realpath */
    zpy_codec_state codec;             /**< the codec bridge's cache */
} zpy_state;

/* ------------------------------------------------------- lifetime tree */

typedef struct zpy_Node zpy_Node;

/* Frees an invalidated node's LMDB resources and unlinks it from its
 * parent.  Called with the GIL held; it may release the GIL. */
typedef void (*zpy_release_fn)(zpy_Node *node);

struct zpy_Node {
    PyObject_HEAD
    zpy_Node *parent;      /**< whose child list holds us; NULL once unlinked */
    zpy_Node *prev, *next; /**< siblings */
    zpy_Node *children;    /**< first live child */
    zpy_release_fn release;
    int valid;             /**< 0 once closed, ended or invalidated */
};

void zpy_node_init(zpy_Node *node, zpy_release_fn release);
void zpy_node_link(zpy_Node *parent, zpy_Node *child);
void zpy_node_unlink(zpy_Node *node);
/* Mark every descendant of `node` invalid (GIL held, no I/O). */
void zpy_node_mark_children(zpy_Node *node);
/* Release every child of `node` (each releases its own subtree first). */
void zpy_node_release_children(zpy_Node *node);
/* Both, in that order: invalidate the subtree below `node`. */
void zpy_node_invalidate_children(zpy_Node *node);

/* --------------------------------------------------------------- objects */

typedef struct zpy_Env zpy_Env;
typedef struct zpy_Txn zpy_Txn;
typedef struct zpy_Db zpy_Db;

struct zpy_Db {
    zpy_Node node;
    zpy_Env *env;          /**< no reference: the env invalidates us first */
    MDB_dbi dbi;
    unsigned int flags;    /**< MDB_DUPSORT etc., as LMDB reports them */
};

struct zpy_Env {
    zpy_Node node;
    const zlmdb_engine *eng;       /**< the LMDB engine of this env's file */
    MDB_env *env;
    zpy_Db *main_db;               /**< strong reference */
    PyObject *open_keys;           /**< its files' keys in state->open_files */
    PyObject *weakreflist;
    int readonly;
    int max_spare_txns;
    MDB_txn *spare_txn;            /**< a reset read txn kept for reuse */
    int spare_hidden;              /**< spare_txn kept although max_spare_txns is 0:
                                        readers() frees it first (see txn.c) */
    unsigned long write_tid;       /**< thread owning the top-level write txn */
    int have_writer;
    int resizing;                  /**< set_mapsize is remapping */
    /* In-flight GIL-released operations: close()/set_mapsize wait for them. */
    atomic_int active_ops;
    atomic_int waiters;
    zlmdb__plat_mutex ops_mutex;
    zlmdb__plat_cond ops_cond;
    int sync_objects_ready;
    zlmdb__plat_pid pid;           /**< process that opened it */
    PyObject *mapping;             /**< keeper of buffers=True views (mapview.c) */
};

#define ZPY_TXN_RDONLY  0x1
#define ZPY_TXN_BUFFERS 0x2
#define ZPY_TXN_SPARE   0x4   /**< a committed read txn that was only reset */

struct zpy_Txn {
    zpy_Node node;
    const zlmdb_engine *eng; /**< env->eng, one load closer on hot paths */
    zpy_Env *env;          /**< strong reference */
    zpy_Db *db;            /**< default database, strong reference */
    zpy_Txn *parent;       /**< parent transaction, strong reference */
    MDB_txn *txn;
    PyObject *weakreflist;
    int flags;
    int top_writer;        /**< registered as the env's writer */
    unsigned long owner_tid; /**< thread that began it */
    unsigned long mutations; /**< bumped by every write through this txn */
    atomic_int active;     /**< GIL-released operations in flight on it */
    zlmdb__plat_pid pid;   /**< process that began it */
};

typedef struct {
    zpy_Node node;
    const zlmdb_engine *eng; /**< txn->eng */
    zpy_Txn *txn;          /**< strong reference */
    MDB_cursor *curs;
    unsigned int dbi_flags;
    int positioned;
    MDB_val key;
    MDB_val val;
    unsigned long last_mutation;
} zpy_Cursor;

typedef struct {
    PyObject_HEAD
    zpy_Cursor *curs;      /**< strong reference */
    MDB_cursor_op op;      /**< how to move after the first step */
    int started;
    int keys, values;      /**< what to yield: item, key or value */
} zpy_Iter;

/* -------------------------------------------------------------- module.c */

extern struct PyModuleDef zpy_native_module;
zpy_state *zpy_state_of_type(PyTypeObject *tp);
/* The state for an object whose type may be a Python subclass of one of
 * ours (the persistent maps): found along the MRO. */
ZPY_INLINE zpy_state *zpy_state_of_sub(PyObject *obj)
{
    PyObject *m = PyType_GetModuleByDef(Py_TYPE(obj), &zpy_native_module);
    return m ? (zpy_state *)PyModule_GetState(m) : NULL;
}
ZPY_INLINE zpy_state *zpy_state_of(void *obj)
{
    return (zpy_state *)PyType_GetModuleState(Py_TYPE((PyObject *)obj));
}
/* The current process id, refreshed after fork(): a child never touches
 * LMDB handles inherited from its parent. */
zlmdb__plat_pid zpy_current_pid(void);
/* Serialise Environment opens in this process (env_new): the check that a
 * file is not open yet and the recording of the new handle's files must not
 * be split by another thread's open while LMDB's open runs without the GIL.
 * zpy_open_lock() waits with the GIL released. */
void zpy_open_lock(void);
void zpy_open_unlock(void);
/* The engine for lib_version= (negative: the default for new environments),
 * or NULL with py-lmdb's "this build has no LMDB N.x engine" Error set. */
const zlmdb_engine *zpy_engine_get(zpy_state *st, int lib_version);

/* -------------------------------------------------------------- errors.c */

int zpy_errors_init(PyObject *module, zpy_state *st);
/* The pending exception, normalized, taken out (a new reference), and
 * put back (stolen): Python 3.12's PyErr_GetRaisedException and
 * PyErr_SetRaisedException, for 3.11 too. */
PyObject *zpy_err_take(void);
void zpy_err_give(PyObject *exc);
/* Raise the exception class for `rc` (lmdb.Error when none fits) as py-lmdb
 * 3.0 does: message "<what>: <reason>", "<what>: <reason> (<hint>)" for a
 * code the caller can fix by configuration, or just "<what>" when rc is 0;
 * attributes `what` (str), `code` (int) and `reason` (str). */
ZPY_NOINLINE PyObject *zpy_err_set(zpy_state *st, const char *what, int rc);
/* The same, with `what` from a printf-style format (PyUnicode_FromFormat's
 * conversions; never truncated). */
ZPY_NOINLINE PyObject *zpy_err_format(zpy_state *st, int rc, const char *fmt, ...);
/* As zpy_err_set, for the ORM: a full map and a write in a read-only
 * transaction say what to do in Database terms instead of py-lmdb's hint. */
ZPY_NOINLINE PyObject *zpy_err_orm(zpy_state *st, const char *what, int rc);
/* When the pending exception is a MapFullError or ReadonlyError raised by
 * the low-level layer, raise it again as zpy_err_orm words it; else leave
 * it as it is.  Returns NULL. */
ZPY_NOINLINE PyObject *zpy_err_orm_current(zpy_state *st);
/* Raise a libzlmdb failure `rc` as `klass` (NULL: the class zpy_err_set
 * would pick; `st` may be NULL when `klass` is given) with zlmdb_error_last()'s detail (else the code's
 * description), after "<prefix>: " and before `end` when they are not
 * NULL; MemoryError for ZLMDB_ENOMEM; for an OSError class and an errno
 * `rc`, OSError(rc, message), so the errno's subclass is raised. */
ZPY_NOINLINE PyObject *zpy_err_lib(zpy_state *st, PyObject *klass, int rc,
                                   const char *prefix, const char *end);
/* Raise the "Attempt to operate on closed/deleted/dropped object." error. */
ZPY_NOINLINE PyObject *zpy_err_invalid(zpy_state *st);
ZPY_NOINLINE PyObject *zpy_type_error(const char *msg);
/* Raise the exception for a failed table (index) operation of the map
 * class `table`: the Python exception an index callback left
 * (ZLMDB_CALLBACK), KeyError for a taken unique key, `null_error` for a
 * null key in a non-nullable index, MemoryError, else as zpy_err_orm. */
ZPY_NOINLINE PyObject *zpy_err_index(zpy_state *st, int rc, const char *what,
                                     const char *table, const char *index,
                                     PyObject *null_error);

/* ----------------------------------------------------------- argspec.c */

enum zpy_argtype {
    ZPY_ARG_OBJ,    /**< PyObject *, borrowed, any type */
    ZPY_ARG_BOOL,   /**< int, PyObject_IsTrue */
    ZPY_ARG_INT,    /**< int, 0..INT_MAX */
    ZPY_ARG_SIZE,   /**< size_t, 0..SIZE_MAX */
    ZPY_ARG_BUF,    /**< MDB_val from bytes or the buffer protocol */
    ZPY_ARG_ENV,    /**< zpy_Env *, exact type */
    ZPY_ARG_TXN,    /**< zpy_Txn *, exact type */
    ZPY_ARG_DB,     /**< zpy_Db *, exact type */
};

typedef struct {
    const char *name;
    enum zpy_argtype type;
    size_t offset;          /**< of the slot in the caller's argument struct */
} zpy_argspec;

/* Views taken on buffer arguments, held until the LMDB call is done. */
#define ZPY_MAX_VIEWS 2
typedef struct {
    Py_buffer views[ZPY_MAX_VIEWS];
    int count;
} zpy_views;

/* The default of a buffer argument that was not given (or given as None):
 * an empty value whose pointer is not NULL, so LMDB's memcpy/memcmp never
 * see a NULL pointer, and which "key must be given." checks can tell apart
 * from an empty bytes object. */
extern char zpy_absent[1];
#define ZPY_VAL_ABSENT {0, zpy_absent}

/* Parse vectorcall arguments with py-lmdb's rules: positionals fill the
 * slots in order, None leaves a slot at its default.  `views` may be NULL
 * when the spec has no ZPY_ARG_BUF.  Returns 0, or -1 with an exception. */
int zpy_parse_args(zpy_state *st, const zpy_argspec *spec, int nspec,
                   PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                   void *out, zpy_views *views);
/* The same, for tp_new / METH_VARARGS|METH_KEYWORDS style arguments. */
int zpy_parse_tuple(zpy_state *st, const zpy_argspec *spec, int nspec, PyObject *args,
                    PyObject *kwds, void *out, zpy_views *views);
void zpy_views_release(zpy_views *views);
/* Convert one object to an MDB_val by py-lmdb's rules (bytes fast path,
 * str refused, any buffer accepted).  Returns 0 or -1 with an exception. */
int zpy_val_from_obj(PyObject *obj, MDB_val *val, zpy_views *views);

/* --------------------------------------------------------------- env.c */

extern PyType_Spec zpy_env_spec;
/* Operation bracket for GIL-released work on the env itself (not through a
 * txn): enter under the GIL (fails when the env is invalid or remapping),
 * leave after re-acquiring it.  Same counting scheme as zpy_txn_op_enter. */
int zpy_env_op_enter(zpy_Env *env);
void zpy_env_op_leave(zpy_Env *env);
/* Called with the GIL held: wait (GIL released) until `counter` is zero. */
void zpy_env_wait_idle(zpy_Env *env, atomic_int *counter);
PyObject *zpy_dict_from_stat(const MDB_stat *s);
/* Environment.set_mapsize(): ends every transaction of the env first.
 * 0, or -1 with an exception. */
int zpy_env_set_mapsize(zpy_state *st, zpy_Env *self, size_t map_size);
zpy_Db *zpy_db_open(zpy_Env *env, MDB_txn *txn, const char *name, unsigned int flags);

/* --------------------------------------------------------------- txn.c */

extern PyType_Spec zpy_txn_spec;
PyObject *zpy_txn_new(zpy_state *st, zpy_Env *env, zpy_Db *db, zpy_Txn *parent,
                      int write, int buffers);
/* For subtypes (the ORM transaction), whose objects outlive their LMDB
 * transactions: zpy_txn_blank() makes a fresh object "not begun" (invalid,
 * in no lifetime tree); zpy_txn_begin() begins a top-level transaction of
 * `env` in it (main database), again after each commit or abort.  0, or -1
 * with an exception. */
void zpy_txn_blank(zpy_Txn *self);
int zpy_txn_begin(zpy_state *st, zpy_Txn *self, zpy_Env *env, int write, int buffers);
/* An ended transaction gives up its LMDB handle: a reset read handle
 * becomes the env's spare (or is freed), so an object that lives on holds
 * no reader slot. */
void zpy_txn_park(zpy_Txn *self);
/* The base type's methods, for subtypes that wrap them. */
void zpy_txn_dealloc(PyObject *op);
PyObject *zpy_txn_commit(PyObject *op, PyObject *unused);
PyObject *zpy_txn_abort(PyObject *op, PyObject *unused);
PyObject *zpy_txn_get(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                      PyObject *kwnames);
/* Bracket for a GIL-released call on a txn (or one of its cursors).  Both
 * halves run with the GIL held, so the counter needs no atomic
 * read-modify-write: the GIL orders every update, and a waiter (which reads
 * it without the GIL) is woken under the env's mutex.  Ending the txn, and
 * through it closing the env, waits for the count to drop to zero. */
ZPY_INLINE void zpy_txn_op_enter(zpy_Txn *t)
{
    atomic_store_explicit(&t->active,
                          atomic_load_explicit(&t->active, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}
void zpy_txn_op_leave_slow(zpy_Txn *t);
ZPY_INLINE void zpy_txn_op_leave(zpy_Txn *t)
{
    int left = atomic_load_explicit(&t->active, memory_order_relaxed) - 1;
    atomic_store_explicit(&t->active, left, memory_order_release);
    if (ZPY_UNLIKELY(left == 0 &&
                     atomic_load_explicit(&t->env->waiters, memory_order_relaxed)))
        zpy_txn_op_leave_slow(t);
}
/* An environment's mapping keeper (mapview.c): the data file mapped again
 * by us, which buffers=True views point into and keep alive. */
typedef struct {
    PyObject_HEAD
    char *base;            /**< our read-only map of the data file */
    size_t size;           /**< its length; 0 when there is none (views copy) */
    const char *lmdb_base; /**< where LMDB's own map of the file starts */
} zpy_Mapping;

/* The slow part of zpy_txn_value's views: no keeper yet, or a value
 * outside LMDB's map, or an empty one. */
ZPY_NOINLINE PyObject *zpy_view_new(zpy_Txn *t, const MDB_val *v);
/* A read-only memoryview of `len` bytes at `p` that keeps `owner` alive. */
ZPY_INLINE PyObject *zpy_view_over(PyObject *owner, char *p, Py_ssize_t len)
{
    PyObject *mv = PyMemoryView_FromMemory(p, len, PyBUF_READ);

    /* A memoryview made from raw memory has a managed buffer with no
     * exporter; giving it one (with the reference a buffer export holds)
     * is the state PyMemoryView_FromObject() would reach through a
     * getbuffer slot, and the managed buffer drops that reference when the
     * last view of it (slices, and NumPy arrays over it, included) is
     * released.  Done this way a view costs no allocation beyond its own,
     * which a scan in a buffers=True transaction would feel. */
    if (mv)
        ((PyMemoryViewObject *)mv)->mbuf->master.obj = Py_NewRef(owner);
    return mv;
}

/* Make a bytes object, or a read-only memoryview of the value without a
 * copy when the txn was begun with buffers=True (one that never faults,
 * whatever happens to the env afterwards: mapview.c). */
ZPY_INLINE PyObject *zpy_txn_value(zpy_Txn *t, const MDB_val *v)
{
    if (t->flags & ZPY_TXN_BUFFERS) {
        zpy_Mapping *m = (zpy_Mapping *)t->env->mapping;
        size_t off;

        if (ZPY_UNLIKELY(m == NULL))
            return zpy_view_new(t, v);
        /* Below lmdb_base the difference wraps to a huge offset. */
        off = (size_t)((uintptr_t)v->mv_data - (uintptr_t)m->lmdb_base);
        if (ZPY_LIKELY(off < m->size && v->mv_size - 1 < m->size - off))
            return zpy_view_over((PyObject *)m, m->base + off, (Py_ssize_t)v->mv_size);
        return zpy_view_new(t, v);
    }
    return PyBytes_FromStringAndSize((const char *)v->mv_data, (Py_ssize_t)v->mv_size);
}
/* Touch every page of a value with the GIL released, so that the copy into
 * a Python object does not take page faults while holding the GIL. */
void zpy_preload(const MDB_val *v);

/* ---------------------------------------------------------------- db.c */

extern PyType_Spec zpy_db_spec;
/* 1 when `db` belongs to `env`, else 0 with the py-lmdb error set. */
int zpy_db_owner_check(zpy_state *st, zpy_Db *db, zpy_Env *env);

/* ------------------------------------------------------------ cursor.c */

extern PyType_Spec zpy_cursor_spec;
extern PyType_Spec zpy_iter_spec;
PyObject *zpy_cursor_new(zpy_state *st, zpy_Db *db, zpy_Txn *txn);
/* Cursor.replace/pop, shared with Transaction's versions, which run them on
 * a temporary cursor as py-lmdb does. */
PyObject *zpy_cursor_do_replace(zpy_Cursor *self, MDB_val *key, MDB_val *val);
PyObject *zpy_cursor_do_pop(zpy_Cursor *self, MDB_val *key);
/* Move a cursor (self->key/val hold the input for ops that take one); a
 * miss leaves it unpositioned, an error raises: 0 or -1. */
int zpy_cursor_move(zpy_Cursor *self, MDB_cursor_op op, int preload);

/* ----------------------------------------------------------- verify.c */

/* Add verify(), the offline verifier, to the module. */
int zpy_verify_add(PyObject *module);
/* registry.c: registry_attach, registry_read, catalog_*, slot_count/clear. */
int zpy_registry_add(PyObject *module);
/* record.c: adds RecordCodec (declared records, python/zlmdb/_records.py) */
int zpy_record_add(PyObject *module);
/* A declared record decoded from the n bytes at p (RecordCodec.decode's
 * work without a buffer object); NULL with an exception set. */
PyObject *zpy_record_decode_mem(PyObject *codec, const void *p, size_t n);
/* When `f` is a RecordCodec's bound decode whose decoding runs none of the
 * user's code (no default_factory other than a built-in type such as list,
 * in the record or in a nested one), that codec (borrowed from f); else
 * NULL.  The ORM decodes such values straight from LMDB's memory: with no
 * user code running, nothing can write to the transaction or close it
 * while the bytes are read. */
PyObject *zpy_record_direct_decoder(PyObject *f);

/* ----------------------------------------------------------- ormtxn.c */

typedef struct {
    PyObject_HEAD
    long long puts;        /**< LMDB puts, index entries included */
    long long dels;        /**< deletes that removed a key */
    long long started;     /**< ns since the epoch */
} zpy_TxnStats;

/* Growth log records: what a write did, as bytes, to be redone. */
enum {
    ZPY_LOG_PUT, ZPY_LOG_DEL, ZPY_LOG_CLEAR, ZPY_LOG_REBUILD, ZPY_LOG_RAW_PUT, ZPY_LOG_RAW_DEL
};

typedef struct {
    int op;                /**< ZPY_LOG_* */
    int flag;              /**< RAW_PUT: overwrite */
    PyObject *map;         /**< the persistent map (not for raw writes) */
    PyObject *key;         /**< bytes: the physical key; CLEAR: the slot (int);
                                REBUILD: the index name (str) */
    PyObject *value;       /**< bytes: the stored value (puts) */
} zpy_LogRec;

typedef struct {
    zpy_Txn base;
    zpy_Env *envobj;       /**< strong reference: where __enter__ begins */
    zpy_TxnStats *stats;   /**< strong reference, or NULL */
    int write, buffers;
    int failed;            /**< a write stopped after its first LMDB write */
    int logging;           /**< growth on: writes are logged */
    double growth;         /**< factor, 0 without growth */
    size_t maxsize;        /**< the map's ceiling with growth */
    zpy_LogRec *log;
    size_t nlog, caplog;
    unsigned growths, growths_at_commit;
} zpy_OrmTxn;

extern PyType_Spec zpy_ormtxn_spec;
extern PyType_Spec zpy_txnstats_spec;
/* `txn` as an open ORM transaction (borrowed), or NULL with TypeError /
 * RuntimeError("transaction is not open ..."). */
zpy_OrmTxn *zpy_ormtxn_check(zpy_state *st, PyObject *txn);
/* Add to the transaction's TransactionStats, if it has one. */
void zpy_ormtxn_count(zpy_OrmTxn *self, size_t puts, size_t dels);
/* Logging writes reserve their record before writing (-1: MemoryError),
 * and add it after the write, which cannot fail then.  `key`/`value` are
 * taken as new references. */
int zpy_ormtxn_log_reserve(zpy_OrmTxn *self);
void zpy_ormtxn_log_add(zpy_OrmTxn *self, int op, PyObject *map, PyObject *key,
                        PyObject *value, int flag);
/* A write returned MDB_MAP_FULL: with growth, grow and redo the log (1: run
 * the write again); without, 0; -1 with an exception (the transaction is
 * marked failed). */
int zpy_ormtxn_map_full(zpy_state *st, zpy_OrmTxn *self);

/* ------------------------------------------------------------- pmap.c */

extern PyType_Spec zpy_pmap_spec;
extern PyType_Spec zpy_pmapiter_spec;
/* Redo a logged map write in the (new) LMDB transaction: an LMDB code, or
 * -1 with an exception. */
int zpy_pmap_redo(zpy_state *st, zpy_OrmTxn *txn, zpy_LogRec *rec);

/* ---------------------------------------------------------- mapview.c */

extern PyType_Spec zpy_mapping_spec;

#endif

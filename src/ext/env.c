/* Environment: an open LMDB environment (py-lmdb compatible). */
#include <errno.h>
#include <stddef.h>

#include "zpy.h"

#define OFF(s, f) offsetof(struct s, f)

/* ------------------------------------------------- operation bracketing */

int zpy_env_op_enter(zpy_Env *env)
{
    if (!env->node.valid) {
        zpy_err_invalid(zpy_state_of(env));
        return -1;
    }
    if (env->resizing) {
        /* Another thread is remapping: fail fast instead of touching a map
         * that is about to move (py-lmdb reports EINVAL here too). */
        zpy_err_set(zpy_state_of(env), "mdb_txn_begin", EINVAL);
        return -1;
    }
    atomic_store_explicit(&env->active_ops,
                          atomic_load_explicit(&env->active_ops, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    return 0;
}

static void wake_waiters(zpy_Env *env)
{
    zlmdb__plat_mutex_lock(&env->ops_mutex);
    zlmdb__plat_cond_broadcast(&env->ops_cond);
    zlmdb__plat_mutex_unlock(&env->ops_mutex);
}

void zpy_env_op_leave(zpy_Env *env)
{
    int left = atomic_load_explicit(&env->active_ops, memory_order_relaxed) - 1;
    atomic_store_explicit(&env->active_ops, left, memory_order_release);
    if (left == 0 && atomic_load_explicit(&env->waiters, memory_order_relaxed))
        wake_waiters(env);
}

void zpy_txn_op_leave_slow(zpy_Txn *t)
{
    wake_waiters(t->env);
}

void zpy_env_wait_idle(zpy_Env *env, atomic_int *counter)
{
    if (atomic_load_explicit(counter, memory_order_acquire) == 0)
        return;
    /* `waiters` is raised while we still hold the GIL, so any operation
     * that ends after we let go of the GIL sees it and wakes us; taking the
     * mutex first means that wake-up cannot slip in before we wait.  No one
     * waits for the GIL while holding this mutex, so this cannot deadlock. */
    zlmdb__plat_mutex_lock(&env->ops_mutex);
    atomic_fetch_add(&env->waiters, 1);
    Py_BEGIN_ALLOW_THREADS
    while (atomic_load_explicit(counter, memory_order_acquire) != 0)
        zlmdb__plat_cond_wait(&env->ops_cond, &env->ops_mutex);
    atomic_fetch_sub(&env->waiters, 1);
    zlmdb__plat_mutex_unlock(&env->ops_mutex);
    Py_END_ALLOW_THREADS
}

/* Wait until no thread other than this one owns a write transaction. */
static void wait_foreign_writer(zpy_Env *env)
{
    unsigned long me = PyThread_get_thread_ident();

    if (!env->have_writer || env->write_tid == me)
        return;
    /* The owning thread releases the write lock itself (a process-shared
     * robust mutex can only be unlocked by its owner) and then wakes us
     * from clear_writer(), under the same mutex. */
    zlmdb__plat_mutex_lock(&env->ops_mutex);
    atomic_fetch_add(&env->waiters, 1);
    Py_BEGIN_ALLOW_THREADS
    while (env->have_writer && env->write_tid != me)
        zlmdb__plat_cond_wait(&env->ops_cond, &env->ops_mutex);
    atomic_fetch_sub(&env->waiters, 1);
    zlmdb__plat_mutex_unlock(&env->ops_mutex);
    Py_END_ALLOW_THREADS
}

/* --------------------------------------------------------- close / free */

/* End this thread's own write transaction first: another thread may be
 * blocked in mdb_txn_begin (an operation close() waits for) until the write
 * lock it holds is released. */
static void release_own_writer(zpy_Env *self)
{
    zpy_state *st = zpy_state_of(self);
    unsigned long me = PyThread_get_thread_ident();
    zpy_Node *c;

    if (!self->have_writer || self->write_tid != me)
        return;
    for (c = self->node.children; c; c = c->next) {
        if (PyObject_TypeCheck((PyObject *)c, st->TxnType) && ((zpy_Txn *)c)->top_writer) {
            Py_INCREF(c);
            c->release(c);
            Py_DECREF(c);
            return;
        }
    }
}

static void env_close_internal(zpy_Env *self, int in_dealloc)
{
    zpy_state *st = zpy_state_of(self);
    MDB_env *env;

    if (self->env == NULL)
        return;
    self->node.valid = 0;
    /* No new operation can start once everything below is marked; then let
     * the ones in flight (GIL released) finish, and let a write transaction
     * owned by another thread be ended by that thread. */
    zpy_node_mark_children(&self->node);
    release_own_writer(self);
    zpy_env_wait_idle(self, &self->active_ops);
    wait_foreign_writer(self);
    zpy_node_release_children(&self->node);
    Py_CLEAR(self->main_db);
    Py_CLEAR(self->mapping);        /* views keep it, not LMDB's map, alive */
    if (self->spare_txn) {
        /* Aborting a reset read txn only frees memory and its reader slot. */
        if (zpy_current_pid() == self->pid)
            self->eng->txn_abort(self->spare_txn);
        self->spare_txn = NULL;
    }
    env = self->env;
    self->env = NULL;
    /* Keep ourselves alive across the GIL release: another thread may drop
     * the last reference meanwhile (not needed, nor possible, in dealloc). */
    if (!in_dealloc)
        Py_INCREF(self);
    ZPY_BEGIN_LMDB
    self->eng->env_close(env);
    ZPY_END_LMDB
    if (self->open_keys) {
        Py_ssize_t i;
        for (i = 0; st && st->open_files && i < PyTuple_GET_SIZE(self->open_keys); i++)
            PySet_Discard(st->open_files, PyTuple_GET_ITEM(self->open_keys, i));
        Py_CLEAR(self->open_keys);
    }
    if (!in_dealloc)
        Py_DECREF(self);
}

static void env_release(zpy_Node *node)
{
    /* Environments have no parent; present for the node protocol. */
    env_close_internal((zpy_Env *)node, 0);
}

static void env_dealloc(PyObject *op)
{
    zpy_Env *self = (zpy_Env *)op;
    PyTypeObject *tp = Py_TYPE(op);

    if (self->weakreflist)
        PyObject_ClearWeakRefs(op);
    /* Transactions hold references to us, so none is alive here; only
     * database handles (which hold none) are left to invalidate. */
    env_close_internal(self, 1);
    Py_CLEAR(self->main_db);
    Py_CLEAR(self->open_keys);
    Py_CLEAR(self->mapping);
    if (self->sync_objects_ready) {
        zlmdb__plat_cond_destroy(&self->ops_cond);
        zlmdb__plat_mutex_destroy(&self->ops_mutex);
    }
    tp->tp_free(op);
    Py_DECREF(tp);
}

/* ------------------------------------------------------------ creation */

struct env_new_args {
    PyObject *path;
    size_t map_size;
    int subdir, readonly, metasync, sync, map_async, mode, create, readahead;
    int writemap, meminit, max_readers, max_dbs, max_spare_txns, lock, lib_version;
};

static const zpy_argspec env_new_spec[] = {
    {"path", ZPY_ARG_OBJ, OFF(env_new_args, path)},
    {"map_size", ZPY_ARG_SIZE, OFF(env_new_args, map_size)},
    {"subdir", ZPY_ARG_BOOL, OFF(env_new_args, subdir)},
    {"readonly", ZPY_ARG_BOOL, OFF(env_new_args, readonly)},
    {"metasync", ZPY_ARG_BOOL, OFF(env_new_args, metasync)},
    {"sync", ZPY_ARG_BOOL, OFF(env_new_args, sync)},
    {"map_async", ZPY_ARG_BOOL, OFF(env_new_args, map_async)},
    {"mode", ZPY_ARG_INT, OFF(env_new_args, mode)},
    {"create", ZPY_ARG_BOOL, OFF(env_new_args, create)},
    {"readahead", ZPY_ARG_BOOL, OFF(env_new_args, readahead)},
    {"writemap", ZPY_ARG_BOOL, OFF(env_new_args, writemap)},
    {"meminit", ZPY_ARG_BOOL, OFF(env_new_args, meminit)},
    {"max_readers", ZPY_ARG_INT, OFF(env_new_args, max_readers)},
    {"max_dbs", ZPY_ARG_INT, OFF(env_new_args, max_dbs)},
    {"max_spare_txns", ZPY_ARG_INT, OFF(env_new_args, max_spare_txns)},
    {"lock", ZPY_ARG_BOOL, OFF(env_new_args, lock)},
    {"lib_version", ZPY_ARG_INT, OFF(env_new_args, lib_version)},
};

/* The engine for this environment, chosen before LMDB sees the file: an
 * existing file's format decides (an explicit lib_version= must agree with
 * it); a new environment gets lib_version=, else the default.  NULL with
 * an exception set. */
static const zlmdb_engine *env_engine(zpy_state *st, const char *cpath, int subdir,
                                      int lib_version)
{
    const zlmdb_engine *eng;
    unsigned int flags = subdir ? 0 : MDB_NOSUBDIR;
    int rc;

    if (lib_version >= 0) {
        if (zpy_engine_get(st, lib_version) == NULL)
            return NULL;
        rc = zlmdb_engine_for_path(cpath, flags, lib_version, &eng);
    } else {
        int found;
        rc = zlmdb_engine_detect(cpath, flags, &found);
        if (rc == ZLMDB_OK && found != ZLMDB_LIB_VERSION_AUTO)
            rc = zlmdb_engine_get(found, &eng);
        else if (rc != ZLMDB_BAD_FORMAT)
            /* New, or unreadable: LMDB reports the latter itself. */
            return st->default_engine;
    }
    if (rc == ZLMDB_OK)
        return eng;
    /* The classes py-lmdb raises when LMDB itself meets such a file. */
    zpy_err_lib(st, st->exc[rc == ZLMDB_FORMAT_MISMATCH ? ZPY_EXC_VERSION_MISMATCH
                                                        : ZPY_EXC_INVALID], rc, NULL, NULL);
    return NULL;
}

/* The identities of an environment's data and lock files, as a tuple of
 * keys for state->open_files: (st_dev, st_ino), or the resolved path where
 * the filesystem reports no inode number.  Both files count: an
 * environment re-created at the path of one still open shares nothing with
 * it, while the same files reached through a hard link are the same
 * environment, and a new data file beside the old lock file would share its
 * reader table and locks (py-lmdb 3.0, its issue #491).  A file that does not
 * exist yet gives no key. */
static PyObject *file_keys(zpy_state *st, const char *cpath, int subdir)
{
    static const char *const suffix[2][2] = {{"", "-lock"}, {"/data.mdb", "/lock.mdb"}};
    size_t n = strlen(cpath);
    PyObject *keys = PyList_New(0), *key, *tuple;
    zlmdb__plat_file_info sb;
    char *name;
    int i, rc;

    if (keys == NULL)
        return NULL;
    if ((name = PyMem_Malloc(n + 16)) == NULL) {
        Py_DECREF(keys);
        return PyErr_NoMemory();
    }
    for (i = 0; i < 2; i++) {
        memcpy(name, cpath, n);
        strcpy(name + n, suffix[subdir ? 1 : 0][i]);
        if (zlmdb__plat_file_stat(name, &sb) != 0)
            continue;           /* missing: no open environment uses it */
        if (sb.ino)
            key = Py_BuildValue("(KK)", (unsigned long long)sb.dev, (unsigned long long)sb.ino);
        else
            key = PyObject_CallFunction(st->realpath, "y", name);
        rc = key ? PyList_Append(keys, key) : -1;
        Py_XDECREF(key);
        if (rc < 0) {
            PyMem_Free(name);
            Py_DECREF(keys);
            return NULL;
        }
    }
    PyMem_Free(name);
    tuple = PyList_AsTuple(keys);
    Py_DECREF(keys);
    return tuple;
}

static PyObject *env_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    zpy_state *st = zpy_state_of_type(type);
    struct env_new_args a = {
        NULL, 10485760, 1, 0, 1, 1, 0, 0755, 1, 1, 0, 1, 126, 0, 0, 1, -1
    };
    zpy_Env *self = NULL;
    PyObject *fspath = NULL, *keys = NULL;
    const char *cpath;
    unsigned int flags;
    MDB_txn *txn;
    Py_ssize_t i;
    int rc, locked = 0;

    if (zpy_parse_tuple(st, env_new_spec, 17, args, kwds, &a, NULL) < 0)
        return NULL;
    if (a.path == NULL)
        return zpy_type_error("'path' argument required");
    if (PyBytes_CheckExact(a.path)) {
        fspath = Py_NewRef(a.path);
    } else if (PyUnicode_CheckExact(a.path)) {
        fspath = PyUnicode_EncodeFSDefault(a.path);
        if (fspath == NULL)
            return NULL;
    } else {
        return zpy_type_error("Filesystem path must be Unicode or bytes.");
    }
    cpath = PyBytes_AS_STRING(fspath);
    if ((size_t)PyBytes_GET_SIZE(fspath) != strlen(cpath)) {
        PyErr_SetString(PyExc_ValueError, "embedded null byte");
        goto fail;
    }

    self = (zpy_Env *)type->tp_alloc(type, 0);
    if (self == NULL)
        goto fail;
    zpy_node_init(&self->node, env_release);
    self->node.valid = 0;           /* until fully open */
    self->readonly = a.readonly;
    self->max_spare_txns = a.max_spare_txns ? 1 : 0;
    self->pid = zpy_current_pid();
    atomic_init(&self->active_ops, 0);
    atomic_init(&self->waiters, 0);
    if (zlmdb__plat_mutex_init(&self->ops_mutex) != 0) {
        PyErr_SetString(PyExc_MemoryError, "unable to initialize mutex");
        goto fail;
    }
    if (zlmdb__plat_cond_init(&self->ops_cond) != 0) {
        zlmdb__plat_mutex_destroy(&self->ops_mutex);
        PyErr_SetString(PyExc_MemoryError, "unable to initialize condition variable");
        goto fail;
    }
    self->sync_objects_ready = 1;

    if ((self->eng = env_engine(st, cpath, a.subdir, a.lib_version)) == NULL)
        goto fail;
    if ((rc = self->eng->env_create(&self->env))) {
        zpy_err_set(st, "mdb_env_create", rc);
        goto fail;
    }
    if ((rc = self->eng->env_set_mapsize(self->env, a.map_size))) {
        zpy_err_set(st, "mdb_env_set_mapsize", rc);
        goto fail;
    }
    if ((rc = self->eng->env_set_maxreaders(self->env, (unsigned int)a.max_readers))) {
        zpy_err_set(st, "mdb_env_set_maxreaders", rc);
        goto fail;
    }
    if ((rc = self->eng->env_set_maxdbs(self->env, (MDB_dbi)a.max_dbs))) {
        zpy_err_set(st, "mdb_env_set_maxdbs", rc);
        goto fail;
    }

    if (a.create && a.subdir && !a.readonly) {
        int err = zlmdb__plat_mkdir(cpath, (unsigned int)a.mode);
        if (err != 0 && err != EEXIST) {
            errno = err;
            PyErr_SetFromErrnoWithFilename(PyExc_OSError, cpath);
            goto fail;
        }
    }

    /* One open handle per file per process: LMDB's locks are fcntl() locks,
     * owned per (process, file), so a second handle would silently share and
     * then release them (py-lmdb #230).  Files, not paths: see file_keys().
     * Opens are serialised from here until the keys are recorded, since
     * LMDB's open below runs without the GIL and another thread's open of
     * the same files could otherwise pass this check in the meantime. */
    zpy_open_lock();
    locked = 1;
    if ((keys = file_keys(st, cpath, a.subdir)) == NULL)
        goto fail;
    for (i = 0; i < PyTuple_GET_SIZE(keys); i++) {
        rc = PySet_Contains(st->open_files, PyTuple_GET_ITEM(keys, i));
        if (rc < 0)
            goto fail;
        if (rc) {
            zpy_err_format(st, 0, "The environment '%s' is already open in this process.",
                           cpath);
            goto fail;
        }
    }
    Py_CLEAR(keys);

    flags = MDB_NOTLS;
    if (!a.subdir)
        flags |= MDB_NOSUBDIR;
    if (a.readonly)
        flags |= MDB_RDONLY;
    if (!a.metasync)
        flags |= MDB_NOMETASYNC;
    if (!a.sync)
        flags |= MDB_NOSYNC;
    if (a.map_async)
        flags |= MDB_MAPASYNC;
    if (!a.readahead)
        flags |= MDB_NORDAHEAD;
    if (a.writemap)
        flags |= MDB_WRITEMAP;
    if (!a.meminit)
        flags |= MDB_NOMEMINIT;
    if (!a.lock)
        flags |= MDB_NOLOCK;

    ZPY_BEGIN_LMDB
    rc = self->eng->env_open(self->env, cpath, flags, (mdb_mode_t)(a.mode & ~0111));
    ZPY_END_LMDB
    if (rc) {
        zpy_err_set(st, cpath, rc);
        goto fail;
    }

    /* A data file shorter than the pages its meta page claims would fault
     * (SIGBUS) on the first read of a missing page: refuse it now.  The
     * write-mapped and lock-free cases are checked the same way. */
    {
        MDB_envinfo info;
        MDB_stat est;
        zlmdb__plat_file_info sb;
        char *dpath = NULL;
        int have = 0;
        if (self->eng->env_info(self->env, &info) == 0 && self->eng->env_stat(self->env, &est) == 0) {
            size_t n = strlen(cpath);
            dpath = PyMem_Malloc(n + 16);
            if (dpath == NULL) {
                PyErr_NoMemory();
                goto fail;
            }
            memcpy(dpath, cpath, n + 1);
            if (a.subdir)
                memcpy(dpath + n, "/data.mdb", 10);
            have = zlmdb__plat_file_stat(dpath, &sb) == 0 &&
                   sb.kind == ZLMDB__PLAT_FILE_REGULAR;
            PyMem_Free(dpath);
            if (have && sb.size <
                            ((uint64_t)info.me_last_pgno + 1) * (uint64_t)est.ms_psize) {
                zpy_err_set(st, cpath, MDB_CORRUPTED);
                goto fail;
            }
        }
    }

    /* The main database handle, read in a short read-only transaction. */
    if ((rc = self->eng->txn_begin(self->env, NULL, MDB_RDONLY, &txn))) {
        zpy_err_set(st, "mdb_txn_begin", rc);
        goto fail;
    }
    self->node.valid = 1;
    self->main_db = zpy_db_open(self, txn, NULL, 0);
    self->eng->txn_abort(txn);
    if (self->main_db == NULL) {
        self->node.valid = 0;
        goto fail;
    }
    /* Taken again now that the files exist: a new environment had none. */
    if ((self->open_keys = file_keys(st, cpath, a.subdir)) == NULL)
        goto fail;
    for (i = 0; i < PyTuple_GET_SIZE(self->open_keys); i++)
        if (PySet_Add(st->open_files, PyTuple_GET_ITEM(self->open_keys, i)) < 0)
            goto fail;
    zpy_open_unlock();
    Py_DECREF(fspath);
    return (PyObject *)self;

fail:
    Py_XDECREF(keys);
    Py_XDECREF(fspath);
    if (self) {
        if (self->env && !self->node.valid) {
            /* Never opened (or half opened): nothing else refers to it. */
            zpy_node_invalidate_children(&self->node);
            Py_CLEAR(self->main_db);
            self->eng->env_close(self->env);
            self->env = NULL;
        }
        Py_DECREF(self);
    }
    /* After the close above: a handle being closed still holds its locks. */
    if (locked)
        zpy_open_unlock();
    return NULL;
}

/* -------------------------------------------------------------- methods */

#define ENV_GUARD(self, st)                                                 \
    do {                                                                    \
        if (!(self)->node.valid)                                            \
            return zpy_err_invalid(st);                                     \
    } while (0)

struct env_begin_args {
    PyObject *db, *parent;
    int write, buffers;
};

static const zpy_argspec env_begin_spec[] = {
    {"db", ZPY_ARG_DB, OFF(env_begin_args, db)},
    {"parent", ZPY_ARG_TXN, OFF(env_begin_args, parent)},
    {"write", ZPY_ARG_BOOL, OFF(env_begin_args, write)},
    {"buffers", ZPY_ARG_BOOL, OFF(env_begin_args, buffers)},
};

static PyObject *env_begin(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                           PyObject *kwnames)
{
    zpy_Env *self = (zpy_Env *)op;
    zpy_state *st = zpy_state_of(op);
    struct env_begin_args a = {NULL, NULL, 0, 0};

    ENV_GUARD(self, st);
    if (zpy_parse_args(st, env_begin_spec, 4, args, nargs, kwnames, &a, NULL) < 0)
        return NULL;
    return zpy_txn_new(st, self, (zpy_Db *)a.db, (zpy_Txn *)a.parent, a.write, a.buffers);
}

struct env_open_db_args {
    PyObject *key, *txn;
    int reverse_key, dupsort, create, integerkey, integerdup, dupfixed;
};

static const zpy_argspec env_open_db_spec[] = {
    {"key", ZPY_ARG_OBJ, OFF(env_open_db_args, key)},
    {"txn", ZPY_ARG_TXN, OFF(env_open_db_args, txn)},
    {"reverse_key", ZPY_ARG_BOOL, OFF(env_open_db_args, reverse_key)},
    {"dupsort", ZPY_ARG_BOOL, OFF(env_open_db_args, dupsort)},
    {"create", ZPY_ARG_BOOL, OFF(env_open_db_args, create)},
    {"integerkey", ZPY_ARG_BOOL, OFF(env_open_db_args, integerkey)},
    {"integerdup", ZPY_ARG_BOOL, OFF(env_open_db_args, integerdup)},
    {"dupfixed", ZPY_ARG_BOOL, OFF(env_open_db_args, dupfixed)},
};

static PyObject *env_open_db(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                             PyObject *kwnames)
{
    zpy_Env *self = (zpy_Env *)op;
    zpy_state *st = zpy_state_of(op);
    struct env_open_db_args a = {NULL, NULL, 0, 0, 1, 0, 0, 0};
    zpy_views views = {.count = 0};
    char *name = NULL;
    unsigned int flags = 0;
    zpy_Db *db = NULL;
    MDB_txn *txn;
    MDB_val keyval;
    int rc;

    ENV_GUARD(self, st);
    if (zpy_parse_args(st, env_open_db_spec, 8, args, nargs, kwnames, &a, NULL) < 0)
        return NULL;
    if (a.key == NULL &&
        (a.reverse_key || a.dupsort || a.integerkey || a.integerdup || a.dupfixed)) {
        PyErr_SetString(PyExc_ValueError, "May not set flags on the main database");
        return NULL;
    }
    if (a.key) {
        if (zpy_val_from_obj(a.key, &keyval, &views) < 0)
            return NULL;
        /* LMDB wants a C string: copy, so a buffer without a terminator
         * (bytearray, memoryview) is safe. */
        name = PyMem_Malloc(keyval.mv_size + 1);
        if (name == NULL) {
            zpy_views_release(&views);
            return PyErr_NoMemory();
        }
        memcpy(name, keyval.mv_data, keyval.mv_size);
        name[keyval.mv_size] = 0;
        zpy_views_release(&views);
    }
    if (a.reverse_key)
        flags |= MDB_REVERSEKEY;
    if (a.dupsort)
        flags |= MDB_DUPSORT;
    if (a.create)
        flags |= MDB_CREATE;
    if (a.integerkey)
        flags |= MDB_INTEGERKEY;
    if (a.integerdup)
        flags |= MDB_DUPSORT | MDB_DUPFIXED | MDB_INTEGERDUP;
    if (a.dupfixed)
        flags |= MDB_DUPSORT | MDB_DUPFIXED;

    if (a.txn) {
        zpy_Txn *t = (zpy_Txn *)a.txn;
        if (!t->node.valid) {
            PyMem_Free(name);
            return zpy_err_invalid(st);
        }
        db = zpy_db_open(self, t->txn, name, flags);
    } else {
        unsigned int tflags = (name == NULL || self->readonly) ? MDB_RDONLY : 0;
        if (self->resizing) {
            PyMem_Free(name);
            return zpy_err_set(st, "mdb_txn_begin", EINVAL);
        }
        if (tflags == 0 && self->have_writer &&
            self->write_tid == PyThread_get_thread_ident()) {
            /* The temporary write txn would wait for our own writer lock. */
            PyMem_Free(name);
            return zpy_err_set(st,
                "Attempt to open a database without txn= while a write transaction is "
                "active on the same thread. This would deadlock; pass txn=.", EBUSY);
        }
        if (tflags == 0) {
            /* It may wait for another thread's write transaction, which may
             * need the GIL to finish: release it (py-lmdb holds it here and
             * can deadlock). */
            if (zpy_env_op_enter(self) < 0) {
                PyMem_Free(name);
                return NULL;
            }
            Py_BEGIN_ALLOW_THREADS
            rc = self->eng->txn_begin(self->env, NULL, tflags, &txn);
            Py_END_ALLOW_THREADS
            zpy_env_op_leave(self);
            if (rc == 0 && (!self->node.valid || self->resizing)) {
                self->eng->txn_abort(txn);
                PyMem_Free(name);
                return self->node.valid ? zpy_err_set(st, "mdb_txn_begin", EINVAL)
                                        : zpy_err_invalid(st);
            }
        } else {
            rc = self->eng->txn_begin(self->env, NULL, tflags, &txn);
        }
        if (rc) {
            PyMem_Free(name);
            return zpy_err_set(st, "mdb_txn_begin", rc);
        }
        db = zpy_db_open(self, txn, name, flags);
        if (db == NULL) {
            self->eng->txn_abort(txn);
        } else {
            ZPY_BEGIN_LMDB
            rc = self->eng->txn_commit(txn);
            ZPY_END_LMDB
            if (rc) {
                Py_CLEAR(db);
                zpy_err_set(st, "mdb_txn_commit", rc);
            }
        }
    }
    PyMem_Free(name);
    return (PyObject *)db;
}

/* A read transaction for the env's own use: the spare one when cached. */
static int env_borrow_read_txn(zpy_Env *self, MDB_txn **out)
{
    zpy_state *st = zpy_state_of(self);
    int rc;

    if (self->spare_txn && self->pid != zpy_current_pid())
        self->spare_txn = NULL;   /* the parent process's: never touch it */
    if (self->spare_txn) {
        MDB_txn *txn = self->spare_txn;
        self->spare_txn = NULL;
        if ((rc = self->eng->txn_renew(txn))) {
            self->eng->txn_abort(txn);
            zpy_err_set(st, "mdb_txn_renew", rc);
            return -1;
        }
        *out = txn;
        return 0;
    }
    if ((rc = self->eng->txn_begin(self->env, NULL, MDB_RDONLY, out))) {
        zpy_err_set(st, "mdb_txn_begin", rc);
        return -1;
    }
    return 0;
}

static void env_return_read_txn(zpy_Env *self, MDB_txn *txn)
{
    /* Kept as the spare even when max_spare_txns is 0, as py-lmdb does for
     * dbs(); it is renewed or aborted, never leaked. */
    self->eng->txn_reset(txn);
    if (self->spare_txn == NULL && self->env) {
        self->spare_txn = txn;
        self->spare_hidden = 0;
    } else
        self->eng->txn_abort(txn);
}

struct env_txn_args {
    PyObject *txn;
};

static const zpy_argspec env_dbs_spec[] = {
    {"txn", ZPY_ARG_TXN, OFF(env_txn_args, txn)},
};

static PyObject *env_dbs(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                         PyObject *kwnames)
{
    zpy_Env *self = (zpy_Env *)op;
    zpy_state *st = zpy_state_of(op);
    struct env_txn_args a = {NULL};
    MDB_txn *txn;
    MDB_cursor *curs;
    MDB_val key, data;
    MDB_dbi dbi;
    PyObject *list = NULL;
    int rc, own = 0;

    ENV_GUARD(self, st);
    if (zpy_parse_args(st, env_dbs_spec, 1, args, nargs, kwnames, &a, NULL) < 0)
        return NULL;
    if (a.txn) {
        if (!((zpy_Txn *)a.txn)->node.valid)
            return zpy_err_invalid(st);
        txn = ((zpy_Txn *)a.txn)->txn;
    } else {
        if (env_borrow_read_txn(self, &txn) < 0)
            return NULL;
        own = 1;
    }
    if ((rc = self->eng->cursor_open(txn, self->main_db->dbi, &curs))) {
        zpy_err_set(st, "mdb_cursor_open", rc);
        goto done;
    }
    list = PyList_New(0);
    if (list == NULL)
        goto close;
    while ((rc = self->eng->cursor_get(curs, &key, &data, MDB_NEXT)) == 0) {
        char *name;
        /* A name read from disk: check the size before adding the NUL. */
        if (key.mv_size >= (size_t)PY_SSIZE_T_MAX) {
            PyErr_SetString(PyExc_OverflowError,
                            "sub-database name size overflow (corrupt database?)");
            Py_CLEAR(list);
            goto close;
        }
        name = PyMem_Malloc(key.mv_size + 1);
        if (name == NULL) {
            PyErr_NoMemory();
            Py_CLEAR(list);
            goto close;
        }
        memcpy(name, key.mv_data, key.mv_size);
        name[key.mv_size] = 0;
        rc = self->eng->dbi_open(txn, name, 0, &dbi);
        PyMem_Free(name);
        if (rc == 0) {
            /* Only keys that are names of databases; plain records give
             * MDB_INCOMPATIBLE and are skipped.  LMDB 1.0 stores a name
             * with its trailing NUL: strip it, so that both engines list
             * the same names (py-lmdb 3.0). */
            Py_ssize_t len = (Py_ssize_t)key.mv_size;
            PyObject *k;
            if (self->eng->major >= 1 && len > 0 && ((const char *)key.mv_data)[len - 1] == 0)
                len--;
            k = PyBytes_FromStringAndSize(key.mv_data, len);
            if (k == NULL || PyList_Append(list, k) < 0) {
                Py_XDECREF(k);
                Py_CLEAR(list);
                goto close;
            }
            Py_DECREF(k);
        }
    }
    if (rc != MDB_NOTFOUND) {
        Py_CLEAR(list);
        zpy_err_set(st, "mdb_cursor_get", rc);
    }
close:
    self->eng->cursor_close(curs);
done:
    if (own)
        env_return_read_txn(self, txn);
    return list;
}

static PyObject *dict_from_stat(const MDB_stat *s)
{
    return Py_BuildValue("{s:I,s:I,s:N,s:N,s:N,s:N}",
                         "psize", s->ms_psize, "depth", s->ms_depth,
                         "branch_pages", PyLong_FromSize_t(s->ms_branch_pages),
                         "leaf_pages", PyLong_FromSize_t(s->ms_leaf_pages),
                         "overflow_pages", PyLong_FromSize_t(s->ms_overflow_pages),
                         "entries", PyLong_FromSize_t(s->ms_entries));
}

PyObject *zpy_dict_from_stat(const MDB_stat *s)
{
    return dict_from_stat(s);
}

static PyObject *env_stat(PyObject *op, PyObject *unused)
{
    zpy_Env *self = (zpy_Env *)op;
    zpy_state *st = zpy_state_of(op);
    MDB_stat s;
    int rc;

    ENV_GUARD(self, st);
    if (zpy_env_op_enter(self) < 0)
        return NULL;
    ZPY_BEGIN_LMDB
    rc = self->eng->env_stat(self->env, &s);
    ZPY_END_LMDB
    zpy_env_op_leave(self);
    if (rc)
        return zpy_err_set(st, "mdb_env_stat", rc);
    return dict_from_stat(&s);
}

static PyObject *env_info(PyObject *op, PyObject *unused)
{
    zpy_Env *self = (zpy_Env *)op;
    zpy_state *st = zpy_state_of(op);
    MDB_envinfo info;
    int rc;

    ENV_GUARD(self, st);
    if (zpy_env_op_enter(self) < 0)
        return NULL;
    ZPY_BEGIN_LMDB
    rc = self->eng->env_info(self->env, &info);
    ZPY_END_LMDB
    zpy_env_op_leave(self);
    if (rc)
        return zpy_err_set(st, "mdb_env_info", rc);
    return Py_BuildValue("{s:N,s:N,s:N,s:N,s:I,s:I}",
                         "map_addr", PyLong_FromSize_t((size_t)info.me_mapaddr),
                         "map_size", PyLong_FromSize_t(info.me_mapsize),
                         "last_pgno", PyLong_FromSize_t(info.me_last_pgno),
                         "last_txnid", PyLong_FromSize_t(info.me_last_txnid),
                         "max_readers", info.me_maxreaders,
                         "num_readers", info.me_numreaders);
}

static PyObject *env_flags(PyObject *op, PyObject *unused)
{
    zpy_Env *self = (zpy_Env *)op;
    zpy_state *st = zpy_state_of(op);
    unsigned int f;
    int rc;

    ENV_GUARD(self, st);
    if ((rc = self->eng->env_get_flags(self->env, &f)))
        return zpy_err_set(st, "mdb_env_get_flags", rc);
    return Py_BuildValue("{s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O}",
                         "subdir", (f & MDB_NOSUBDIR) ? Py_False : Py_True,
                         "readonly", (f & MDB_RDONLY) ? Py_True : Py_False,
                         "metasync", (f & MDB_NOMETASYNC) ? Py_False : Py_True,
                         "sync", (f & MDB_NOSYNC) ? Py_False : Py_True,
                         "map_async", (f & MDB_MAPASYNC) ? Py_True : Py_False,
                         "readahead", (f & MDB_NORDAHEAD) ? Py_False : Py_True,
                         "writemap", (f & MDB_WRITEMAP) ? Py_True : Py_False,
                         "meminit", (f & MDB_NOMEMINIT) ? Py_False : Py_True,
                         "lock", (f & MDB_NOLOCK) ? Py_False : Py_True);
}

struct env_copy_args {
    PyObject *path;
    int fd;
    int compact;
    PyObject *txn;
};

static const zpy_argspec env_copy_spec[] = {
    {"path", ZPY_ARG_OBJ, OFF(env_copy_args, path)},
    {"compact", ZPY_ARG_BOOL, OFF(env_copy_args, compact)},
    {"txn", ZPY_ARG_TXN, OFF(env_copy_args, txn)},
};

static const zpy_argspec env_copyfd_spec[] = {
    {"fd", ZPY_ARG_INT, OFF(env_copy_args, fd)},
    {"compact", ZPY_ARG_BOOL, OFF(env_copy_args, compact)},
    {"txn", ZPY_ARG_TXN, OFF(env_copy_args, txn)},
};

/* Shared by copy() and copyfd(): exactly one of cpath / fd is used. */
static PyObject *env_copy_common(zpy_Env *self, struct env_copy_args *a, const char *cpath,
                                 const char *what)
{
    zpy_state *st = zpy_state_of(self);
    unsigned int flags = a->compact ? MDB_CP_COMPACT : 0;
    MDB_txn *txn = NULL;
    int rc;

    if (a->txn) {
        if (!a->compact)
            return zpy_type_error("txn argument only compatible with compact=True");
        if (self->eng->env_copy3 == NULL) {
            if (cpath)
                return zpy_type_error("Non-patched LMDB doesn't support transaction with "
                                      "env.copy");
            return zpy_type_error("Non-patched LMDB doesn't support transaction with "
                                  "env.copyfd");
        }
        if (!((zpy_Txn *)a->txn)->node.valid)
            return zpy_err_invalid(st);
        txn = ((zpy_Txn *)a->txn)->txn;
    }
    if (!a->compact && self->have_writer && self->write_tid == PyThread_get_thread_ident())
        /* A plain copy takes LMDB's writer lock, which this thread holds. */
        return zpy_err_set(st,
            "Attempt to copy the environment while a write transaction is active on the "
            "same thread. This would deadlock.", EBUSY);
    if (zpy_env_op_enter(self) < 0)
        return NULL;
    ZPY_BEGIN_LMDB
    if (self->eng->env_copy3 && cpath)
        rc = self->eng->env_copy3(self->env, cpath, flags, txn);
    else if (self->eng->env_copyfd3)
        rc = self->eng->env_copyfd3(self->env, a->fd, flags, txn);
    else if (cpath)
        rc = self->eng->env_copy2(self->env, cpath, flags);
    else
        rc = self->eng->env_copyfd2(self->env, a->fd, flags);
    ZPY_END_LMDB
    zpy_env_op_leave(self);
    if (rc)
        return zpy_err_set(st, what, rc);
    Py_RETURN_NONE;
}

static PyObject *env_copy(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                          PyObject *kwnames)
{
    zpy_Env *self = (zpy_Env *)op;
    zpy_state *st = zpy_state_of(op);
    struct env_copy_args a = {NULL, -1, 0, NULL};
    PyObject *fspath, *res;

    ENV_GUARD(self, st);
    if (zpy_parse_args(st, env_copy_spec, 3, args, nargs, kwnames, &a, NULL) < 0)
        return NULL;
    if (a.path == NULL)
        return zpy_type_error("path argument required");
    if (PyBytes_CheckExact(a.path))
        fspath = Py_NewRef(a.path);
    else if (PyUnicode_CheckExact(a.path))
        fspath = PyUnicode_EncodeFSDefault(a.path);
    else
        return zpy_type_error("Filesystem path must be Unicode or bytes.");
    if (fspath == NULL)
        return NULL;
    res = env_copy_common(self, &a, PyBytes_AS_STRING(fspath),
                          self->eng->env_copy3 ? "mdb_env_copy3" : "mdb_env_copy2");
    Py_DECREF(fspath);
    return res;
}

static PyObject *env_copyfd(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                            PyObject *kwnames)
{
    zpy_Env *self = (zpy_Env *)op;
    zpy_state *st = zpy_state_of(op);
    struct env_copy_args a = {NULL, -1, 0, NULL};

    ENV_GUARD(self, st);
    if (zpy_parse_args(st, env_copyfd_spec, 3, args, nargs, kwnames, &a, NULL) < 0)
        return NULL;
    if (a.fd == -1)
        return zpy_type_error("fd argument required");
    return env_copy_common(self, &a, NULL,
                           self->eng->env_copyfd3 ? "mdb_env_copyfd3" : "mdb_env_copyfd2");
}

struct env_sync_args {
    int force;
};

static const zpy_argspec env_sync_spec[] = {
    {"force", ZPY_ARG_BOOL, OFF(env_sync_args, force)},
};

static PyObject *env_sync(PyObject *op, PyObject *args, PyObject *kwds)
{
    zpy_Env *self = (zpy_Env *)op;
    zpy_state *st = zpy_state_of(op);
    struct env_sync_args a = {0};
    int force, rc;

    ENV_GUARD(self, st);
    /* By position or, since py-lmdb 3.0, as force= (its issue #499). */
    if (zpy_parse_tuple(st, env_sync_spec, 1, args, kwds, &a, NULL) < 0)
        return NULL;
    force = a.force;
    if (zpy_env_op_enter(self) < 0)
        return NULL;
    ZPY_BEGIN_LMDB
    rc = self->eng->env_sync(self->env, force);
    ZPY_END_LMDB
    zpy_env_op_leave(self);
    if (rc)
        return zpy_err_set(st, "mdb_env_sync", rc);
    Py_RETURN_NONE;
}

static PyObject *env_close(PyObject *op, PyObject *unused)
{
    env_close_internal((zpy_Env *)op, 0);
    Py_RETURN_NONE;
}

static PyObject *env_path(PyObject *op, PyObject *unused)
{
    zpy_Env *self = (zpy_Env *)op;
    zpy_state *st = zpy_state_of(op);
    const char *path;
    int rc;

    ENV_GUARD(self, st);
    if ((rc = self->eng->env_get_path(self->env, &path)))
        return zpy_err_set(st, "mdb_env_get_path", rc);
    return PyUnicode_FromString(path);
}

static PyObject *env_lib_version(PyObject *op, PyObject *unused)
{
    /* Fixed at construction, so it answers on a closed env too. */
    const zlmdb_engine *eng = ((zpy_Env *)op)->eng;
    return Py_BuildValue("iii", eng->major, eng->minor, eng->patch);
}

static PyObject *env_max_key_size(PyObject *op, PyObject *unused)
{
    zpy_Env *self = (zpy_Env *)op;
    ENV_GUARD(self, zpy_state_of(op));
    return PyLong_FromLong(self->eng->env_get_maxkeysize(self->env));
}

static PyObject *env_max_readers(PyObject *op, PyObject *unused)
{
    zpy_Env *self = (zpy_Env *)op;
    zpy_state *st = zpy_state_of(op);
    unsigned int n;
    int rc;

    ENV_GUARD(self, st);
    if ((rc = self->eng->env_get_maxreaders(self->env, &n)))
        return zpy_err_set(st, "mdb_env_get_maxreaders", rc);
    return PyLong_FromUnsignedLong(n);
}

static int readers_cb(const char *msg, void *payload)
{
    PyObject **acc = payload;
    PyObject *s = PyUnicode_FromString(msg), *joined;

    if (s == NULL)
        return -1;
    joined = PyUnicode_Concat(*acc, s);
    Py_DECREF(s);
    Py_SETREF(*acc, joined);
    return joined ? 0 : -1;
}

static PyObject *env_readers(PyObject *op, PyObject *unused)
{
    zpy_Env *self = (zpy_Env *)op;
    PyObject *acc;

    ENV_GUARD(self, zpy_state_of(op));
    if (self->spare_txn && self->spare_hidden && self->pid == zpy_current_pid()) {
        /* The spare kept for speed alone is not shown: give its slot back. */
        MDB_txn *spare = self->spare_txn;
        self->spare_txn = NULL;
        self->eng->txn_abort(spare);
    }
    acc = PyUnicode_FromString("");
    if (acc == NULL)
        return NULL;
    if (self->eng->reader_list(self->env, readers_cb, &acc) < 0)
        Py_CLEAR(acc);
    return acc;
}

static PyObject *env_reader_check(PyObject *op, PyObject *unused)
{
    zpy_Env *self = (zpy_Env *)op;
    zpy_state *st = zpy_state_of(op);
    int dead = 0, rc;

    ENV_GUARD(self, st);
    if ((rc = self->eng->reader_check(self->env, &dead)))
        return zpy_err_set(st, "mdb_reader_check", rc);
    return PyLong_FromLong(dead);
}

struct env_set_mapsize_args {
    size_t map_size;
};

static const zpy_argspec env_set_mapsize_spec[] = {
    {"map_size", ZPY_ARG_SIZE, OFF(env_set_mapsize_args, map_size)},
};

int zpy_env_set_mapsize(zpy_state *st, zpy_Env *self, size_t map_size)
{
    zpy_Node *c, *next;
    int rc;

    if (!self->node.valid) {
        zpy_err_invalid(st);
        return -1;
    }
    if (self->have_writer) {
        PyErr_SetString(st->Error, "Cannot set_mapsize while a write transaction is active");
        return -1;
    }
    if (self->resizing) {
        PyErr_SetString(st->Error, "Cannot set_mapsize: another set_mapsize is in progress");
        return -1;
    }
    /* Transactions and cursors point into the map that is about to move:
     * end them all (py-lmdb 2.3 semantics), but keep database handles. */
    self->resizing = 1;
    for (c = self->node.children; c; c = c->next)
        if (PyObject_TypeCheck((PyObject *)c, st->TxnType)) {
            c->valid = 0;
            zpy_node_mark_children(c);
        }
    zpy_env_wait_idle(self, &self->active_ops);
    for (c = self->node.children; c; c = next) {
        next = c->next;
        if (PyObject_TypeCheck((PyObject *)c, st->TxnType)) {
            Py_INCREF(c);
            c->release(c);
            next = self->node.children;   /* the list changed: start over */
            Py_DECREF(c);
        }
    }
    if (self->spare_txn) {
        if (self->pid == zpy_current_pid())
            self->eng->txn_abort(self->spare_txn);
        self->spare_txn = NULL;
    }
    if (!self->node.valid || self->env == NULL) {
        self->resizing = 0;
        zpy_err_invalid(st);
        return -1;
    }
    /* LMDB's map moves: later views need a keeper of the new one. */
    Py_CLEAR(self->mapping);
    /* Held GIL, as py-lmdb: nothing else of this env can run meanwhile. */
    rc = self->eng->env_set_mapsize(self->env, map_size);
    self->resizing = 0;
    if (rc) {
        /* A failed remap can leave the env with nothing mapped: any later
         * use would fault.  Only close() is safe from here on. */
        self->node.valid = 0;
        zpy_err_set(st, "mdb_env_set_mapsize", rc);
        return -1;
    }
    return 0;
}

static PyObject *env_set_mapsize(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                                 PyObject *kwnames)
{
    zpy_Env *self = (zpy_Env *)op;
    zpy_state *st = zpy_state_of(op);
    struct env_set_mapsize_args a = {0};

    ENV_GUARD(self, st);
    if (zpy_parse_args(st, env_set_mapsize_spec, 1, args, nargs, kwnames, &a, NULL) < 0)
        return NULL;
    if (zpy_env_set_mapsize(st, self, a.map_size) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *env_enter(PyObject *op, PyObject *unused)
{
    /* No validity check, as py-lmdb. */
    return Py_NewRef(op);
}

static PyObject *env_exit(PyObject *op, PyObject *args)
{
    env_close_internal((zpy_Env *)op, 0);
    Py_RETURN_NONE;
}

/* Docstrings: the first line is the signature (__text_signature__), which
 * help(), inspect.signature() and the documentation's API reference read. */
PyDoc_STRVAR(env_doc,
"Environment(path, map_size=10485760, subdir=True, readonly=False, metasync=True, "
"sync=True, map_async=False, mode=0o755, create=True, readahead=True, writemap=False, "
"meminit=True, max_readers=126, max_dbs=0, max_spare_txns=0, lock=True, "
"lib_version=None)\n--\n\n"
"An LMDB environment: one memory-mapped data file and its lock file.\n\n"
"path (str or bytes) names a directory holding data.mdb and lock.mdb, or\n"
"with subdir=False the data file itself.  map_size is the largest size the\n"
"data file may reach, in bytes; max_dbs is how many named databases\n"
"open_db() may open.  A path can be open once per process.  lmdb.open is\n"
"this type.\n\n"
"An existing file opens with the LMDB engine its format needs (0.9 for data\n"
"format v1, 1.0 for v3); lib_version=0 or 1 requires that format and picks\n"
"the engine of a new environment, which otherwise gets LMDB 0.9 (or the one\n"
"LMDB_DEFAULT_LIB_VERSION names).");

PyDoc_STRVAR(env_enter_doc, "__enter__($self, /)\n--\n\nReturn the environment.");
PyDoc_STRVAR(env_exit_doc, "__exit__($self, /, *exc_info)\n--\n\nClose the environment.");
PyDoc_STRVAR(env_begin_doc,
"begin($self, /, db=None, parent=None, write=False, buffers=False)\n--\n\n"
"Begin a transaction: the same as Transaction(self, db, parent, write, buffers).");
PyDoc_STRVAR(env_close_doc,
"close($self, /)\n--\n\n"
"Close the environment after ending its transactions, cursors and database\n"
"handles.  Closing a closed environment does nothing.");
PyDoc_STRVAR(env_copy_doc,
"copy($self, /, path, compact=False, txn=None)\n--\n\n"
"Write a consistent copy of the environment, which stays in use, into path:\n"
"an existing directory without a data.mdb.  compact=True leaves out free\n"
"pages.  txn (with compact=True, on the patched LMDB: see version()) copies\n"
"the state that transaction sees.");
PyDoc_STRVAR(env_copyfd_doc,
"copyfd($self, /, fd, compact=False, txn=None)\n--\n\n"
"Like copy(), but write the data file to the open file descriptor fd.");
PyDoc_STRVAR(env_dbs_doc,
"dbs($self, /, txn=None)\n--\n\n"
"The names of the named databases, as a list of bytes.");
PyDoc_STRVAR(env_flags_doc,
"flags($self, /)\n--\n\n"
"The options the environment was opened with, as a dict of bools: subdir,\n"
"readonly, metasync, sync, map_async, readahead, writemap, meminit, lock.");
PyDoc_STRVAR(env_info_doc,
"info($self, /)\n--\n\n"
"A dict with map_addr, map_size, last_pgno, last_txnid, max_readers and\n"
"num_readers.");
PyDoc_STRVAR(env_lib_version_doc,
"lib_version($self, /)\n--\n\n"
"The version of the LMDB engine behind this environment, as (major, minor,\n"
"patch): (0, 9, x) for a data format v1 file, (1, 0, x) for format v3.");
PyDoc_STRVAR(env_max_key_size_doc,
"max_key_size($self, /)\n--\n\nThe longest key LMDB accepts, in bytes.");
PyDoc_STRVAR(env_max_readers_doc,
"max_readers($self, /)\n--\n\nThe number of slots in the reader lock table.");
PyDoc_STRVAR(env_open_db_doc,
"open_db($self, /, key=None, txn=None, reverse_key=False, dupsort=False, create=True, "
"integerkey=False, integerdup=False, dupfixed=False)\n--\n\n"
"Return a handle for the named database key (bytes), creating it when\n"
"create is true; key=None is the main database.  Without txn a transaction\n"
"of its own is used and committed.  dupsort allows several values per key,\n"
"kept sorted; dupfixed (which implies dupsort) says they all have one size;\n"
"integerkey and integerdup (which implies dupsort and dupfixed) compare keys\n"
"or values as native unsigned integers; reverse_key compares keys from their\n"
"last byte.  The flags apply when the database is created.");
PyDoc_STRVAR(env_path_doc,
"path($self, /)\n--\n\nThe path the environment was opened with, as a str.");
PyDoc_STRVAR(env_readers_doc,
"readers($self, /)\n--\n\nThe reader lock table as text, one line per slot in use.");
PyDoc_STRVAR(env_reader_check_doc,
"reader_check($self, /)\n--\n\n"
"Free the reader slots of processes that died; return how many were freed.");
PyDoc_STRVAR(env_set_mapsize_doc,
"set_mapsize($self, /, map_size)\n--\n\n"
"Change the map size.  Not allowed while a write transaction is open; the\n"
"environment's other transactions and cursors end, database handles stay.");
PyDoc_STRVAR(env_stat_doc,
"stat($self, /)\n--\n\n"
"Statistics of the main database: psize, depth, branch_pages, leaf_pages,\n"
"overflow_pages and entries.");
PyDoc_STRVAR(env_sync_doc,
"sync($self, /, force=False)\n--\n\n"
"Flush written data to disk.  With sync=False or map_async=True commits do\n"
"not flush; force=True flushes synchronously in those modes too.");

#define FASTKW(f) (PyCFunction)(void (*)(void))(f), METH_FASTCALL | METH_KEYWORDS

static PyMethodDef env_methods[] = {
    {"__enter__", env_enter, METH_NOARGS, env_enter_doc},
    {"__exit__", env_exit, METH_VARARGS, env_exit_doc},
    {"begin", FASTKW(env_begin), env_begin_doc},
    {"close", env_close, METH_NOARGS, env_close_doc},
    {"copy", FASTKW(env_copy), env_copy_doc},
    {"copyfd", FASTKW(env_copyfd), env_copyfd_doc},
    {"dbs", FASTKW(env_dbs), env_dbs_doc},
    {"flags", env_flags, METH_NOARGS, env_flags_doc},
    {"info", env_info, METH_NOARGS, env_info_doc},
    {"lib_version", env_lib_version, METH_NOARGS, env_lib_version_doc},
    {"max_key_size", env_max_key_size, METH_NOARGS, env_max_key_size_doc},
    {"max_readers", env_max_readers, METH_NOARGS, env_max_readers_doc},
    {"open_db", FASTKW(env_open_db), env_open_db_doc},
    {"path", env_path, METH_NOARGS, env_path_doc},
    {"readers", env_readers, METH_NOARGS, env_readers_doc},
    {"reader_check", env_reader_check, METH_NOARGS, env_reader_check_doc},
    {"set_mapsize", FASTKW(env_set_mapsize), env_set_mapsize_doc},
    {"stat", env_stat, METH_NOARGS, env_stat_doc},
    {"sync", (PyCFunction)(void (*)(void))env_sync, METH_VARARGS | METH_KEYWORDS, env_sync_doc},
    {NULL, NULL, 0, NULL}
};

static PyMemberDef env_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(zpy_Env, weakreflist), READONLY, NULL},
    {NULL, 0, 0, 0, NULL}
};

static PyType_Slot env_slots[] = {
    {Py_tp_new, env_new},
    {Py_tp_doc, (void *)env_doc},
    {Py_tp_dealloc, env_dealloc},
    {Py_tp_methods, env_methods},
    {Py_tp_members, env_members},
    {0, NULL}
};

PyType_Spec zpy_env_spec = {
    .name = "builtins.Environment",
    .basicsize = sizeof(zpy_Env),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = env_slots,
};

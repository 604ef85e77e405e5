/* zlmdb._native: module definition, state, and the lifetime tree helpers. */
#include "zpy.h"

/* ------------------------------------------------------------ fork safety */

/* The pid is process-wide by nature, so this is the one static variable of
 * the extension: refreshed in the child by a fork handler so that a
 * cheap comparison tells a forked child from the process that opened a
 * handle. */
static atomic_int cached_pid;

/* Held by env_new() from its "already open?" check until the new
 * handle's files are recorded (zpy_open_lock()).  Process-wide too. */
static zlmdb__plat_mutex open_lock = ZLMDB__PLAT_MUTEX_INITIALIZER;

static void after_fork_child(void)
{
    atomic_store(&cached_pid, (int)zlmdb__plat_getpid());
    /* A thread of the parent may have held it at the fork; the child has
     * only the forking thread, so nobody will release that hold. */
    (void)zlmdb__plat_mutex_init(&open_lock);
}

void zpy_open_lock(void)
{
    Py_BEGIN_ALLOW_THREADS
    zlmdb__plat_mutex_lock(&open_lock);
    Py_END_ALLOW_THREADS
}

void zpy_open_unlock(void)
{
    zlmdb__plat_mutex_unlock(&open_lock);
}

zlmdb__plat_pid zpy_current_pid(void)
{
    return (zlmdb__plat_pid)atomic_load(&cached_pid);
}

/* ---------------------------------------------------------- lifetime tree */

void zpy_node_init(zpy_Node *node, zpy_release_fn release)
{
    node->parent = node->prev = node->next = node->children = NULL;
    node->release = release;
    node->valid = 1;
}

void zpy_node_link(zpy_Node *parent, zpy_Node *child)
{
    child->parent = parent;
    child->prev = NULL;
    child->next = parent->children;
    if (parent->children)
        parent->children->prev = child;
    parent->children = child;
}

void zpy_node_unlink(zpy_Node *node)
{
    if (node->parent == NULL)
        return;
    if (node->prev)
        node->prev->next = node->next;
    else
        node->parent->children = node->next;
    if (node->next)
        node->next->prev = node->prev;
    node->parent = node->prev = node->next = NULL;
}

void zpy_node_mark_children(zpy_Node *node)
{
    zpy_Node *c;
    for (c = node->children; c; c = c->next) {
        c->valid = 0;
        zpy_node_mark_children(c);
    }
}

void zpy_node_invalidate_children(zpy_Node *node)
{
    /* Phase 1: mark the whole subtree dead without releasing the GIL, so no
     * other thread can start an operation on any of it. */
    zpy_node_mark_children(node);
    zpy_node_release_children(node);
}

void zpy_node_release_children(zpy_Node *node)
{
    /* A release may drop the GIL, and another thread may then drop the last
     * reference to a sibling: hold a reference to the child being released,
     * and always restart from the list head, since each release unlinks
     * its node. */
    while (node->children) {
        zpy_Node *c = node->children;
        Py_INCREF(c);
        c->release(c);
        if (node->children == c)   /* release must unlink; never loop forever */
            zpy_node_unlink(c);
        Py_DECREF(c);
    }
}

/* ------------------------------------------------------------ module API */

zpy_state *zpy_state_of_type(PyTypeObject *tp)
{
    return (zpy_state *)PyType_GetModuleState(tp);
}


struct version_args {
    int subpatch;
    int lib_version;
};

static const zpy_argspec version_spec[] = {
    {"subpatch", ZPY_ARG_BOOL, offsetof(struct version_args, subpatch)},
    {"lib_version", ZPY_ARG_INT, offsetof(struct version_args, lib_version)},
};

const zlmdb_engine *zpy_engine_get(zpy_state *st, int lib_version)
{
    const zlmdb_engine *eng;
    int rc;

    if (lib_version < 0)
        return st->default_engine;
    if ((rc = zlmdb_engine_get(lib_version, &eng)) != ZLMDB_OK) {
        /* py-lmdb's message, naming the engines this build does have. */
        zpy_err_lib(st, st->Error, rc, NULL, ".");
        return NULL;
    }
    return eng;
}

static PyObject *mod_version(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                             PyObject *kwnames)
{
    zpy_state *st = PyModule_GetState(module);
    struct version_args a = {0, -1};
    const zlmdb_engine *eng;

    if (zpy_parse_args(st, version_spec, 2, args, nargs, kwnames, &a, NULL) < 0)
        return NULL;
    if ((eng = zpy_engine_get(st, a.lib_version)) == NULL)
        return NULL;
    if (a.subpatch)
        return Py_BuildValue("iiii", eng->major, eng->minor, eng->patch, eng->patched ? 1 : 0);
    return Py_BuildValue("iii", eng->major, eng->minor, eng->patch);
}

static PyObject *mod_enable_drop_gil(PyObject *module, PyObject *unused)
{
    /* Kept for py-lmdb compatibility: blocking LMDB calls already release
     * the GIL whenever another thread could run (ZPY_BEGIN_LMDB in zpy.h),
     * so there is nothing to enable. */
    Py_RETURN_NONE;
}

static PyObject *mod_libzlmdb_version(PyObject *module, PyObject *unused)
{
    int major, minor, patch;
    zlmdb_version(&major, &minor, &patch);
    return Py_BuildValue("iii", major, minor, patch);
}

/* engine_detect(path): the format of the environment directory `path`
 * (0: LMDB 0.9, 1: LMDB 1.0, None: no data yet), read from its data file
 * without LMDB, so that the ORM can name a mismatch before anything opens
 * or creates a file. */
static PyObject *mod_engine_detect(PyObject *module, PyObject *arg)
{
    zpy_state *st = PyModule_GetState(module);
    PyObject *fspath = NULL;
    int rc, found;

    if (!PyUnicode_FSConverter(arg, &fspath))
        return NULL;
    rc = zlmdb_engine_detect(PyBytes_AS_STRING(fspath), 0, &found);
    Py_DECREF(fspath);
    if (rc == ZLMDB_BAD_FORMAT) {
        /* The class zlmdb.lmdb.open() raises for such a file. */
        return zpy_err_lib(st, st->exc[ZPY_EXC_INVALID], rc, NULL, NULL);
    }
    if (rc != ZLMDB_OK)
        return zpy_err_lib(st, rc > 0 ? PyExc_OSError : PyExc_ValueError, rc, NULL, NULL);
    if (found == ZLMDB_LIB_VERSION_AUTO)
        Py_RETURN_NONE;
    return PyLong_FromLong(found);
}

PyDoc_STRVAR(mod_engine_detect_doc,
"engine_detect(path)\n--\n\n"
"The LMDB release line whose format the environment directory `path` has:\n"
"0 (LMDB 0.9, data format v1), 1 (LMDB 1.0, data format v3), or None when\n"
"it holds no data yet.  The file is read, never handed to LMDB.  A file of\n"
"neither format raises zlmdb.lmdb.InvalidError, one that cannot be read\n"
"OSError.");

PyDoc_STRVAR(mod_version_doc,
"version(subpatch=False, lib_version=None)\n--\n\n"
"The version of an LMDB engine compiled in, as (major, minor, patch): the\n"
"engine new environments get by default, or with lib_version=0 or 1 the\n"
"LMDB 0.9 or 1.0 engine.  With subpatch=True a fourth item follows: 1 when\n"
"that LMDB carries the hardening patches of the default build\n"
"(Environment.copy(txn=...) needs them), else 0.");

PyDoc_STRVAR(mod_enable_drop_gil_doc,
"enable_drop_gil()\n--\n\n"
"Does nothing; kept because py-lmdb keeps it.");

static PyMethodDef module_methods[] = {
    {"version", (PyCFunction)(void (*)(void))mod_version, METH_FASTCALL | METH_KEYWORDS,
     mod_version_doc},
    {"enable_drop_gil", mod_enable_drop_gil, METH_NOARGS, mod_enable_drop_gil_doc},
    {"engine_detect", mod_engine_detect, METH_O, mod_engine_detect_doc},
    {"libzlmdb_version", mod_libzlmdb_version, METH_NOARGS,
     "libzlmdb_version() -> (major, minor, patch) of the libzlmdb compiled in."},
    {NULL, NULL, 0, NULL}
};

/* py-lmdb's types are static types named without a module, so they report
 * __module__ 'builtins' and messages say e.g. "cannot create '_Database'
 * instances".  The spec name "builtins.X" gives the same __module__; tp_name
 * is then pointed at the bare name for the messages. */
static int add_type(PyObject *module, PyType_Spec *spec, PyTypeObject **out)
{
    const char *bare = strrchr(spec->name, '.') + 1;
    PyObject *tp = PyType_FromModuleAndSpec(module, spec, NULL);

    if (tp == NULL)
        return -1;
    *out = (PyTypeObject *)tp;
    (*out)->tp_name = bare;
    return PyModule_AddObjectRef(module, bare, tp);
}

/* The engine of new environments opened without lib_version=: LMDB 0.9,
 * or the release line LMDB_DEFAULT_LIB_VERSION names (0 or 1), read once
 * at import as py-lmdb does, so a whole program (a test suite, say) can
 * run on the other engine unchanged. */
static int init_default_engine(zpy_state *st)
{
    const char *want = getenv("LMDB_DEFAULT_LIB_VERSION");
    const char *p;
    long v = 0;

    int rc = zlmdb_engine_get(ZLMDB_LIB_VERSION_AUTO, &st->default_engine);

    if (rc != ZLMDB_OK) {
        zpy_err_lib(st, PyExc_ImportError, rc, NULL, NULL);
        return -1;
    }
    if (want == NULL || *want == 0)
        return 0;
    /* A decimal number, read by hand: strtol() would bind to glibc 2.38's
     * __isoc23_strtol under newer headers (see platform.c, read_number). */
    for (p = want; *p >= '0' && *p <= '9' && v <= 1; p++)
        v = v * 10 + (*p - '0');
    if (*p == 0 && v <= 1 &&
        zlmdb_engine_get((int)v, &st->default_engine) == ZLMDB_OK)
        return 0;
    PySys_WriteStderr("lmdb: ignoring LMDB_DEFAULT_LIB_VERSION=%.100s: "
                      "no such engine in this build\n", want);
    return 0;
}

static int module_exec(PyObject *module)
{
    zpy_state *st = PyModule_GetState(module);
    PyObject *ospath;

    atomic_store(&cached_pid, (int)zlmdb__plat_getpid());

    if (add_type(module, &zpy_env_spec, &st->EnvType) < 0 ||
        add_type(module, &zpy_txn_spec, &st->TxnType) < 0 ||
        add_type(module, &zpy_db_spec, &st->DbType) < 0 ||
        add_type(module, &zpy_cursor_spec, &st->CursorType) < 0 ||
        add_type(module, &zpy_iter_spec, &st->IterType) < 0)
        return -1;
    /* The ORM's types are ordinary module types (not py-lmdb look-alikes). */
    st->PMapType = (PyTypeObject *)PyType_FromModuleAndSpec(module, &zpy_pmap_spec, NULL);
    if (st->PMapType == NULL ||
        PyModule_AddObjectRef(module, "PersistentMapBase", (PyObject *)st->PMapType) < 0)
        return -1;
    st->PMapIterType = (PyTypeObject *)PyType_FromModuleAndSpec(module, &zpy_pmapiter_spec,
                                                                NULL);
    if (st->PMapIterType == NULL ||
        PyModule_AddObjectRef(module, "PersistentMapIterator",
                              (PyObject *)st->PMapIterType) < 0)
        return -1;
    st->MappingType = (PyTypeObject *)PyType_FromModuleAndSpec(module, &zpy_mapping_spec,
                                                               NULL);
    if (st->MappingType == NULL)
        return -1;
    st->OrmTxnType = (PyTypeObject *)PyType_FromModuleAndSpec(module, &zpy_ormtxn_spec,
                                                              (PyObject *)st->TxnType);
    if (st->OrmTxnType == NULL ||
        PyModule_AddObjectRef(module, "OrmTransaction", (PyObject *)st->OrmTxnType) < 0)
        return -1;
    /* The ORM transaction was its only subtype: like py-lmdb's static type,
     * zlmdb.lmdb.Transaction is no base type for Python classes. */
    st->TxnType->tp_flags &= ~Py_TPFLAGS_BASETYPE;
    st->TxnStatsType = (PyTypeObject *)PyType_FromModuleAndSpec(module, &zpy_txnstats_spec,
                                                                NULL);
    if (st->TxnStatsType == NULL ||
        PyModule_AddObjectRef(module, "TransactionStats", (PyObject *)st->TxnStatsType) < 0)
        return -1;
    if (PyModule_AddObjectRef(module, "open", (PyObject *)st->EnvType) < 0)
        return -1;
    /* The Python package this core was built for (CMakeLists.txt reads it
     * from zlmdb/__init__.py), checked there at import. */
    if (PyModule_AddStringConstant(module, "package_version", ZLMDB_PACKAGE_VERSION) < 0)
        return -1;
    if (zpy_errors_init(module, st) < 0)
        return -1;
    st->open_files = PySet_New(NULL);
    if (st->open_files == NULL)
        return -1;
    ospath = PyImport_ImportModule("os.path");
    if (ospath == NULL)
        return -1;
    st->realpath = PyObject_GetAttrString(ospath, "realpath");
    Py_DECREF(ospath);
    if (st->realpath == NULL)
        return -1;
    if (init_default_engine(st) < 0)
        return -1;
    if (PyModule_AddIntConstant(module, "LMDB_PATCHED", st->default_engine->patched) < 0)
        return -1;
    if (PyModule_AddFunctions(module, zpy_codec_methods) < 0 ||
        zpy_codec_init(module, &st->codec) < 0)
        return -1;
    if (zpy_verify_add(module) < 0)
        return -1;
    if (zpy_registry_add(module) < 0)
        return -1;
    if (zpy_record_add(module) < 0)
        return -1;
    return 0;
}

static int module_traverse(PyObject *module, visitproc visit, void *arg)
{
    zpy_state *st = PyModule_GetState(module);
    int i;

    Py_VISIT(st->EnvType);
    Py_VISIT(st->TxnType);
    Py_VISIT(st->CursorType);
    Py_VISIT(st->DbType);
    Py_VISIT(st->IterType);
    Py_VISIT(st->PMapType);
    Py_VISIT(st->PMapIterType);
    Py_VISIT(st->OrmTxnType);
    Py_VISIT(st->TxnStatsType);
    Py_VISIT(st->MappingType);
    Py_VISIT(st->Error);
    for (i = 0; i < ZPY_EXC_COUNT; i++)
        Py_VISIT(st->exc[i]);
    Py_VISIT(st->open_files);
    Py_VISIT(st->realpath);
    return zpy_codec_traverse(&st->codec, visit, arg);
}

static int module_clear(PyObject *module)
{
    zpy_state *st = PyModule_GetState(module);
    int i;

    Py_CLEAR(st->EnvType);
    Py_CLEAR(st->TxnType);
    Py_CLEAR(st->CursorType);
    Py_CLEAR(st->DbType);
    Py_CLEAR(st->IterType);
    Py_CLEAR(st->PMapType);
    Py_CLEAR(st->PMapIterType);
    Py_CLEAR(st->OrmTxnType);
    Py_CLEAR(st->TxnStatsType);
    Py_CLEAR(st->MappingType);
    Py_CLEAR(st->Error);
    for (i = 0; i < ZPY_EXC_COUNT; i++)
        Py_CLEAR(st->exc[i]);
    Py_CLEAR(st->open_files);
    Py_CLEAR(st->realpath);
    zpy_codec_clear(&st->codec);
    return 0;
}

static void module_free(void *module)
{
    module_clear((PyObject *)module);
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, module_exec},
    {0, NULL}
};

struct PyModuleDef zpy_native_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "zlmdb._native",
    .m_doc = "The C core of zlmdb: LMDB bindings compatible with py-lmdb.",
    .m_size = sizeof(zpy_state),
    .m_methods = module_methods,
    .m_slots = module_slots,
    .m_traverse = module_traverse,
    .m_clear = module_clear,
    .m_free = module_free,
};

/* libzlmdb's own memory (key and codec buffers) comes from CPython's raw
 * domain: tracemalloc accounts for it, and the tests' allocation-fault hooks
 * (_testcapi.set_nomemory) reach it as they reach every other allocation of
 * an ORM put.  The raw domain needs no GIL, like malloc(). */
static void *raw_malloc(size_t size, void *payload)
{
    (void)payload;
    return PyMem_RawMalloc(size);
}

static void *raw_realloc(void *ptr, size_t size, void *payload)
{
    (void)payload;
    return PyMem_RawRealloc(ptr, size);
}

static void raw_free(void *ptr, void *payload)
{
    (void)payload;
    PyMem_RawFree(ptr);
}

PyMODINIT_FUNC PyInit__native(void)
{
    static int atfork_done, allocator_done;
    static const zlmdb_allocator raw = {ZLMDB_ALLOCATOR_VERSION, raw_malloc, raw_realloc,
                                        raw_free, NULL};
    /* Once per process, before the first libzlmdb allocation. */
    if (!allocator_done) {
        if (zlmdb_set_allocator(&raw) != ZLMDB_OK) {
            PyErr_SetString(PyExc_RuntimeError, "zlmdb: zlmdb_set_allocator() failed");
            return NULL;
        }
        allocator_done = 1;
    }
    /* Registered once per process; the handler only stores the new pid. */
    if (!atfork_done) {
        if (zlmdb__plat_on_fork_child(after_fork_child) != 0) {
            PyErr_SetString(PyExc_RuntimeError, "zlmdb: pthread_atfork() failed");
            return NULL;
        }
        atfork_done = 1;
    }
    return PyModuleDef_Init(&zpy_native_module);
}

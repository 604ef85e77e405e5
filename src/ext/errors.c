/* The one table that maps LMDB return codes to exception classes, and the
 * one function that raises them. */
#include <errno.h>
#include <stdarg.h>

#include "zpy.h"

/* LMDB 1.0's error codes, for an lmdb.h from the 0.9 line that lacks them
 * (ZLMDB_SYSTEM_LMDB=1).  The numbers are LMDB's own; 0.9 never returns them. */
#ifndef MDB_PROBLEM
#define MDB_PROBLEM (-30779)
#endif
#ifndef MDB_BAD_CHECKSUM
#define MDB_BAD_CHECKSUM (-30778)
#endif
#ifndef MDB_CRYPTO_FAIL
#define MDB_CRYPTO_FAIL (-30777)
#endif
#ifndef MDB_ENV_ENCRYPTION
#define MDB_ENV_ENCRYPTION (-30776)
#endif
#ifndef MDB_IS_READONLY
#define MDB_IS_READONLY (-30770)
#endif

static const struct {
    int code;
    enum zpy_exc exc;
    const char *name;
    const char *doc;
} exc_table[] = {
    {MDB_KEYEXIST, ZPY_EXC_KEYEXIST, "KeyExistsError",
     "The key, or the key/value pair, already exists (MDB_KEYEXIST)."},
    {MDB_NOTFOUND, ZPY_EXC_NOTFOUND, "NotFoundError",
     "No such key, or no such database (MDB_NOTFOUND)."},
    {MDB_PAGE_NOTFOUND, ZPY_EXC_PAGE_NOTFOUND, "PageNotFoundError",
     "A page the tree points at does not exist: the file is damaged (MDB_PAGE_NOTFOUND)."},
    {MDB_CORRUPTED, ZPY_EXC_CORRUPTED, "CorruptedError",
     "The data file is damaged (MDB_CORRUPTED)."},
    {MDB_PANIC, ZPY_EXC_PANIC, "PanicError",
     "An earlier fatal error left the environment unusable: close it (MDB_PANIC)."},
    {MDB_VERSION_MISMATCH, ZPY_EXC_VERSION_MISMATCH, "VersionMismatchError",
     "The file was written by an incompatible LMDB version (MDB_VERSION_MISMATCH)."},
    {MDB_INVALID, ZPY_EXC_INVALID, "InvalidError",
     "The file is not an LMDB data file (MDB_INVALID)."},
    {MDB_MAP_FULL, ZPY_EXC_MAP_FULL, "MapFullError",
     "The data file reached the environment's map size (MDB_MAP_FULL)."},
    {MDB_DBS_FULL, ZPY_EXC_DBS_FULL, "DbsFullError",
     "More named databases than max_dbs allows (MDB_DBS_FULL)."},
    {MDB_READERS_FULL, ZPY_EXC_READERS_FULL, "ReadersFullError",
     "Every slot of the reader table is taken (MDB_READERS_FULL)."},
    {MDB_TLS_FULL, ZPY_EXC_TLS_FULL, "TlsFullError",
     "LMDB ran out of thread-local storage keys (MDB_TLS_FULL)."},
    {MDB_TXN_FULL, ZPY_EXC_TXN_FULL, "TxnFullError",
     "The transaction holds too many dirty pages (MDB_TXN_FULL)."},
    {MDB_CURSOR_FULL, ZPY_EXC_CURSOR_FULL, "CursorFullError",
     "A cursor's page stack overflowed: the tree is too deep (MDB_CURSOR_FULL)."},
    {MDB_PAGE_FULL, ZPY_EXC_PAGE_FULL, "PageFullError",
     "A page has no room left for the item (MDB_PAGE_FULL)."},
    {MDB_MAP_RESIZED, ZPY_EXC_MAP_RESIZED, "MapResizedError",
     "Another process grew the map beyond this environment's size (MDB_MAP_RESIZED)."},
    {MDB_INCOMPATIBLE, ZPY_EXC_INCOMPATIBLE, "IncompatibleError",
     "The operation does not fit the database's flags (MDB_INCOMPATIBLE)."},
    {MDB_BAD_RSLOT, ZPY_EXC_BAD_RSLOT, "BadRslotError",
     "A reader table slot was reused wrongly (MDB_BAD_RSLOT)."},
    {MDB_BAD_DBI, ZPY_EXC_BAD_DBI, "BadDbiError",
     "The database handle is not valid (any more) (MDB_BAD_DBI)."},
    {MDB_BAD_TXN, ZPY_EXC_BAD_TXN, "BadTxnError",
     "The transaction cannot be used: it failed, or a child is open (MDB_BAD_TXN)."},
    {MDB_BAD_VALSIZE, ZPY_EXC_BAD_VALSIZE, "BadValsizeError",
     "A key or value of a size LMDB refuses, such as an empty key (MDB_BAD_VALSIZE)."},
    {MDB_PROBLEM, ZPY_EXC_PROBLEM, "ProblemError",
     "An unexpected problem: the transaction must be aborted (LMDB 1.0, MDB_PROBLEM)."},
    {MDB_BAD_CHECKSUM, ZPY_EXC_BAD_CHECKSUM, "BadChecksumError",
     "A page's checksum does not match its contents (LMDB 1.0, MDB_BAD_CHECKSUM)."},
    {MDB_CRYPTO_FAIL, ZPY_EXC_CRYPTO_FAIL, "CryptoFailError",
     "A page could not be encrypted or decrypted (LMDB 1.0, MDB_CRYPTO_FAIL)."},
    {MDB_ENV_ENCRYPTION, ZPY_EXC_ENV_ENCRYPTION, "EnvEncryptionError",
     "The environment's encryption does not match the one configured "
     "(LMDB 1.0, MDB_ENV_ENCRYPTION)."},
    {EACCES, ZPY_EXC_READONLY, "ReadonlyError",
     "A write in a read-only environment or transaction (EACCES, or LMDB 1.0's "
     "MDB_IS_READONLY)."},
    {EINVAL, ZPY_EXC_INVALID_PARAMETER, "InvalidParameterError",
     "An argument LMDB refuses (EINVAL)."},
    {EAGAIN, ZPY_EXC_LOCK, "LockError",
     "A lock could not be taken (EAGAIN)."},
    {ENOMEM, ZPY_EXC_MEMORY, "MemoryError",
     "Out of memory (ENOMEM)."},
    {ENOSPC, ZPY_EXC_DISK, "DiskError",
     "No space left on the device (ENOSPC)."},
};

#define EXC_TABLE_SIZE ((int)(sizeof(exc_table) / sizeof(exc_table[0])))

PyObject *zpy_err_take(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyErr_GetRaisedException();
#else
    PyObject *type, *value, *tb;

    PyErr_Fetch(&type, &value, &tb);
    if (type == NULL)
        return NULL;
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL)
        PyException_SetTraceback(value, tb);
    Py_DECREF(type);
    Py_XDECREF(tb);
    return value;
#endif
}

void zpy_err_give(PyObject *exc)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(exc);
#else
    if (exc == NULL)
        return;
    PyErr_Restore(Py_NewRef((PyObject *)Py_TYPE(exc)), exc, PyException_GetTraceback(exc));
#endif
}

int zpy_errors_init(PyObject *module, zpy_state *st)
{
    char qualname[64];
    int i;

    st->Error = PyErr_NewExceptionWithDoc(
        "zlmdb.lmdb.Error",
        "Raised when an LMDB-related error occurs, and no more specific "
        "zlmdb.lmdb.Error subclass exists.", NULL, NULL);
    if (st->Error == NULL || PyModule_AddObjectRef(module, "Error", st->Error) < 0)
        return -1;
    for (i = 0; i < EXC_TABLE_SIZE; i++) {
        PyOS_snprintf(qualname, sizeof(qualname), "zlmdb.lmdb.%s", exc_table[i].name);
        st->exc[exc_table[i].exc] = PyErr_NewExceptionWithDoc(qualname, exc_table[i].doc,
                                                              st->Error, NULL);
        if (st->exc[exc_table[i].exc] == NULL ||
            PyModule_AddObjectRef(module, exc_table[i].name, st->exc[exc_table[i].exc]) < 0)
            return -1;
    }
    return 0;
}

static PyObject *class_for(zpy_state *st, int rc)
{
    int i;

    if (rc == 0)
        return st->Error;
    /* 1.0 reports a write in a read-only transaction as MDB_IS_READONLY where
     * 0.9 said EACCES: one class for both, as py-lmdb 3.0 has it. */
    if (rc == MDB_IS_READONLY || rc == ZLMDB_READONLY)
        rc = EACCES;
    /* libzlmdb's own codes that mean what an LMDB code means. */
    switch (rc) {
    case ZLMDB_NOTFOUND:
        return st->exc[ZPY_EXC_NOTFOUND];
    case ZLMDB_BAD_TXN:
        return st->exc[ZPY_EXC_BAD_TXN];
    case ZLMDB_EINVAL:
        return st->exc[ZPY_EXC_INVALID_PARAMETER];
    case ZLMDB_BAD_FORMAT:
        return st->exc[ZPY_EXC_INVALID];
    case ZLMDB_FORMAT_MISMATCH:
        return st->exc[ZPY_EXC_VERSION_MISMATCH];
    }
    for (i = 0; i < EXC_TABLE_SIZE; i++)
        if (exc_table[i].code == rc)
            return st->exc[exc_table[i].exc];
    return st->Error;
}

static int is_lib_code(int rc)
{
    return rc <= ZLMDB_ERRCODE_FIRST && rc >= ZLMDB_ERRCODE_LAST;
}

/* What libzlmdb said about its last failure, or its code's description. */
static const char *lib_detail(int rc)
{
    const char *msg = zlmdb_error_last();
    return msg != NULL && msg[0] ? msg : zlmdb_strerror(rc);
}

/* Advice for the codes a caller fixes by configuration, appended to the
 * message in parentheses (the hints py-lmdb 3.0 gives, word for word). */
static const char *err_hint(int rc)
{
    switch (rc) {
    case MDB_MAP_FULL:
        return "Please use a larger Environment(map_size=) parameter";
    case MDB_DBS_FULL:
        return "Please use a larger Environment(max_dbs=) parameter";
    case MDB_READERS_FULL:
        return "Please use a larger Environment(max_readers=) parameter";
    case MDB_TXN_FULL:
        return "Please do less work within your transaction";
    }
    return NULL;
}

/* Set attribute `name` of `exc` to `value`, stealing the reference. */
static int set_attr(PyObject *exc, const char *name, PyObject *value)
{
    int rc;

    if (value == NULL)
        return -1;
    rc = PyObject_SetAttrString(exc, name, value);
    Py_DECREF(value);
    return rc;
}

/* The ways out of a full map, for both APIs (an exception note for the
 * low-level one, whose message py-lmdb's own tests compare). */
#define MAP_FULL_WAYS_OUT \
    "ways out: a larger map_size= when opening the Environment, or " \
    "env.set_mapsize() with no transaction open; for a zlmdb.Database, a larger " \
    "maxsize=, or growth= to grow the map on demand; for a database on disk, " \
    "`zlmdb grow DBPATH SIZE`"

/* The advice the ORM gives instead of py-lmdb's hint, or NULL. */
static const char *orm_advice(int rc)
{
    switch (rc) {
    case MDB_MAP_FULL:
        return "the database reached its map size: open it with a larger "
               "Database(maxsize=), or with growth= (a factor such as 2) so that the map "
               "grows on demand up to maxsize, or raise the size recorded in the file "
               "with `zlmdb grow DBPATH SIZE`";
    case EACCES:
    case MDB_IS_READONLY:
    case ZLMDB_READONLY:
        return "this is a read-only transaction: write in one begun with "
               "db.begin(write=True) (on a Database not opened with readonly=True)";
    }
    return NULL;
}

static int add_note(PyObject *exc, const char *note)
{
    PyObject *r = PyObject_CallMethod(exc, "add_note", "s", note);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

/* Raise `klass` for `rc`: "<what>: <reason>", then "(<hint>)" as py-lmdb
 * words it, or ": <advice>" from the ORM; just "<what>" when rc is 0. */
static PyObject *raise_with(PyObject *klass, PyObject *what, int rc, int orm)
{
    /* zlmdb_strerror() knows both LMDB lines' codes, errno and our own;
     * libzlmdb's codes come with a detail message of their own. */
    const char *reason = is_lib_code(rc) ? lib_detail(rc) : zlmdb_strerror(rc);
    const char *hint = orm ? NULL : err_hint(rc);
    const char *advice = orm ? orm_advice(rc) : NULL;
    PyObject *msg, *exc;

    if (rc == 0)
        msg = Py_NewRef(what);
    else if (advice != NULL)
        msg = PyUnicode_FromFormat("%U: %s: %s", what, reason, advice);
    else if (hint != NULL)
        msg = PyUnicode_FromFormat("%U: %s (%s)", what, reason, hint);
    else
        msg = PyUnicode_FromFormat("%U: %s", what, reason);
    if (msg == NULL)
        return NULL;
    exc = PyObject_CallOneArg(klass, msg);
    Py_DECREF(msg);
    if (exc == NULL)
        return NULL;
    if (set_attr(exc, "what", Py_NewRef(what)) < 0 ||
        set_attr(exc, "code", PyLong_FromLong(rc)) < 0 ||
        set_attr(exc, "reason", PyUnicode_DecodeUTF8(reason, (Py_ssize_t)strlen(reason),
                                                     "replace")) < 0 ||
        (rc == MDB_MAP_FULL && !orm && add_note(exc, MAP_FULL_WAYS_OUT) < 0)) {
        Py_DECREF(exc);
        return NULL;
    }
    PyErr_SetObject(klass, exc);
    Py_DECREF(exc);
    return NULL;
}

static PyObject *set_what(zpy_state *st, const char *what, int rc, int orm)
{
    PyObject *text;

    if (rc == ZLMDB_ENOMEM)
        return PyErr_NoMemory();
    text = PyUnicode_DecodeUTF8(what, (Py_ssize_t)strlen(what), "replace");
    if (text == NULL)
        return NULL;
    raise_with(class_for(st, rc), text, rc, orm);
    Py_DECREF(text);
    return NULL;
}

PyObject *zpy_err_set(zpy_state *st, const char *what, int rc)
{
    return set_what(st, what, rc, 0);
}

PyObject *zpy_err_orm(zpy_state *st, const char *what, int rc)
{
    return set_what(st, what, rc, 1);
}

PyObject *zpy_err_orm_current(zpy_state *st)
{
    PyObject *exc, *code, *what;
    long rc;

    if (!PyErr_ExceptionMatches(st->exc[ZPY_EXC_MAP_FULL]) &&
        !PyErr_ExceptionMatches(st->exc[ZPY_EXC_READONLY]))
        return NULL;
    exc = zpy_err_take();
    code = PyObject_GetAttrString(exc, "code");
    what = code != NULL ? PyObject_GetAttrString(exc, "what") : NULL;
    rc = code != NULL && PyLong_Check(code) ? PyLong_AsLong(code) : 0;
    if (rc == 0 || what == NULL || !PyUnicode_Check(what) || PyErr_Occurred()) {
        PyErr_Clear();
        zpy_err_give(exc);
    } else {
        raise_with(class_for(st, (int)rc), what, (int)rc, 1);
        Py_DECREF(exc);
    }
    Py_XDECREF(code);
    Py_XDECREF(what);
    return NULL;
}

PyObject *zpy_err_lib(zpy_state *st, PyObject *klass, int rc, const char *prefix,
                      const char *end)
{
    const char *detail = lib_detail(rc);
    PyObject *msg, *args;

    if (rc == ZLMDB_ENOMEM || rc == ENOMEM)
        return PyErr_NoMemory();
    if (klass == NULL)
        klass = class_for(st, rc);
    msg = PyUnicode_FromFormat("%s%s%s%s", prefix ? prefix : "", prefix ? ": " : "", detail,
                               end ? end : "");
    if (msg == NULL)
        return NULL;
    if (rc > 0 && PyType_Check(klass) &&
        PyType_IsSubtype((PyTypeObject *)klass, (PyTypeObject *)PyExc_OSError)) {
        /* an errno: OSError(errno, message) picks its subclass
         * (PermissionError, IsADirectoryError, ...) and sets .errno */
        if ((args = Py_BuildValue("(iN)", rc, msg)) == NULL)
            return NULL;
        PyErr_SetObject(klass, args);
        Py_DECREF(args);
        return NULL;
    }
    PyErr_SetObject(klass, msg);
    Py_DECREF(msg);
    return NULL;
}

PyObject *zpy_err_format(zpy_state *st, int rc, const char *fmt, ...)
{
    PyObject *what;
    va_list ap;

    va_start(ap, fmt);
    what = PyUnicode_FromFormatV(fmt, ap);
    va_end(ap);
    if (what == NULL)
        return NULL;
    raise_with(class_for(st, rc), what, rc, 0);
    Py_DECREF(what);
    return NULL;
}

PyObject *zpy_err_invalid(zpy_state *st)
{
    return zpy_err_set(st, "Attempt to operate on closed/deleted/dropped object.", 0);
}

PyObject *zpy_type_error(const char *msg)
{
    PyErr_SetString(PyExc_TypeError, msg);
    return NULL;
}

PyObject *zpy_err_index(zpy_state *st, int rc, const char *what, const char *table,
                        const char *index, PyObject *null_error)
{
    if (index == NULL)
        index = "?";
    switch (rc) {
    case ZLMDB_CALLBACK:
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_RuntimeError,
                         "%s: an index callback of '%s' failed without saying why", what,
                         table);
        return NULL;
    case ZLMDB_UNIQUE:
        PyErr_Format(PyExc_KeyError, "unique index '%s::%s': the key is already taken", table,
                     index);
        return NULL;
    case ZLMDB_NULL_KEY:
        PyErr_Format(null_error ? null_error : PyExc_ValueError,
                     "cannot insert NULL value into non-nullable index '%s::%s'", table,
                     index);
        return NULL;
    case ZLMDB_ENOMEM:
        return PyErr_NoMemory();
    }
    return zpy_err_orm(st, what, rc);
}

/* The one table that maps LMDB return codes to exception classes. */
#include <errno.h>
#include <stdarg.h>

#include "zpy.h"

static const struct {
    int code;
    enum zpy_exc exc;
    const char *name;
} exc_table[] = {
    {MDB_KEYEXIST, ZPY_EXC_KEYEXIST, "KeyExistsError"},
    {MDB_NOTFOUND, ZPY_EXC_NOTFOUND, "NotFoundError"},
    {MDB_PAGE_NOTFOUND, ZPY_EXC_PAGE_NOTFOUND, "PageNotFoundError"},
    {MDB_CORRUPTED, ZPY_EXC_CORRUPTED, "CorruptedError"},
    {MDB_PANIC, ZPY_EXC_PANIC, "PanicError"},
    {MDB_VERSION_MISMATCH, ZPY_EXC_VERSION_MISMATCH, "VersionMismatchError"},
    {MDB_INVALID, ZPY_EXC_INVALID, "InvalidError"},
    {MDB_MAP_FULL, ZPY_EXC_MAP_FULL, "MapFullError"},
    {MDB_DBS_FULL, ZPY_EXC_DBS_FULL, "DbsFullError"},
    {MDB_READERS_FULL, ZPY_EXC_READERS_FULL, "ReadersFullError"},
    {MDB_TLS_FULL, ZPY_EXC_TLS_FULL, "TlsFullError"},
    {MDB_TXN_FULL, ZPY_EXC_TXN_FULL, "TxnFullError"},
    {MDB_CURSOR_FULL, ZPY_EXC_CURSOR_FULL, "CursorFullError"},
    {MDB_PAGE_FULL, ZPY_EXC_PAGE_FULL, "PageFullError"},
    {MDB_MAP_RESIZED, ZPY_EXC_MAP_RESIZED, "MapResizedError"},
    {MDB_INCOMPATIBLE, ZPY_EXC_INCOMPATIBLE, "IncompatibleError"},
    {MDB_BAD_RSLOT, ZPY_EXC_BAD_RSLOT, "BadRslotError"},
    {MDB_BAD_DBI, ZPY_EXC_BAD_DBI, "BadDbiError"},
    {MDB_BAD_TXN, ZPY_EXC_BAD_TXN, "BadTxnError"},
    {MDB_BAD_VALSIZE, ZPY_EXC_BAD_VALSIZE, "BadValsizeError"},
    {EACCES, ZPY_EXC_READONLY, "ReadonlyError"},
    {EINVAL, ZPY_EXC_INVALID_PARAMETER, "InvalidParameterError"},
    {EAGAIN, ZPY_EXC_LOCK, "LockError"},
    {ENOMEM, ZPY_EXC_MEMORY, "MemoryError"},
    {ENOSPC, ZPY_EXC_DISK, "DiskError"},
};

#define EXC_TABLE_SIZE ((int)(sizeof(exc_table) / sizeof(exc_table[0])))

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
        st->exc[exc_table[i].exc] = PyErr_NewException(qualname, st->Error, NULL);
        if (st->exc[exc_table[i].exc] == NULL ||
            PyModule_AddObjectRef(module, exc_table[i].name, st->exc[exc_table[i].exc]) < 0)
            return -1;
    }
    return 0;
}

static PyObject *class_for(zpy_state *st, int rc)
{
    int i;
    for (i = 0; i < EXC_TABLE_SIZE; i++)
        if (exc_table[i].code == rc)
            return st->exc[exc_table[i].exc];
    return st->Error;
}

PyObject *zpy_err_set(zpy_state *st, const char *what, int rc)
{
    PyErr_Format(class_for(st, rc), "%s: %s", what, mdb_strerror(rc));
    return NULL;
}

PyObject *zpy_err_format(zpy_state *st, int rc, const char *fmt, ...)
{
    char what[256];
    va_list ap;

    va_start(ap, fmt);
    PyOS_vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return zpy_err_set(st, what, rc);
}

PyObject *zpy_err_invalid(zpy_state *st)
{
    PyErr_SetString(st->Error, "Attempt to operate on closed/deleted/dropped object.");
    return NULL;
}

PyObject *zpy_type_error(const char *msg)
{
    PyErr_SetString(PyExc_TypeError, msg);
    return NULL;
}

/* The one table that maps LMDB return codes to exception classes. */
#include <errno.h>
#include <stdarg.h>

#include "zpy.h"

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
    {EACCES, ZPY_EXC_READONLY, "ReadonlyError",
     "A write in a read-only environment or transaction (EACCES)."},
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

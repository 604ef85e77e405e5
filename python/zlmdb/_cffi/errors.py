"""The exception classes of ``zlmdb.lmdb`` on PyPy, and the one function
that raises them from a return code.

The same classes, hierarchy, names and messages as the CPython extension
(src/ext/errors.c): ``Error`` and 29 direct subclasses, all with
``__module__ == 'zlmdb.lmdb'``; a message ``"<what>: <reason>"`` (with
py-lmdb 3.0's configuration hint in parentheses for the codes a caller fixes
by configuration, or just ``"<what>"`` when the code is 0) and the attributes
``what``, ``code`` and ``reason``.  The reason is libzlmdb's
``zlmdb_strerror()``, which knows both LMDB lines' codes, errno values and
libzlmdb's own codes.
"""
import errno as _errno

from zlmdb._lmdb_cffi import ffi, lib


class Error(Exception):
    """Raised when an LMDB-related error occurs, and no more specific
    zlmdb.lmdb.Error subclass exists."""


Error.__module__ = "zlmdb.lmdb"

# (LMDB code, class name, docstring), in the extension's table order.
_TABLE = (
    (lib.MDB_KEYEXIST, "KeyExistsError",
     "The key, or the key/value pair, already exists (MDB_KEYEXIST)."),
    (lib.MDB_NOTFOUND, "NotFoundError",
     "No such key, or no such database (MDB_NOTFOUND)."),
    (lib.MDB_PAGE_NOTFOUND, "PageNotFoundError",
     "A page the tree points at does not exist: the file is damaged (MDB_PAGE_NOTFOUND)."),
    (lib.MDB_CORRUPTED, "CorruptedError", "The data file is damaged (MDB_CORRUPTED)."),
    (lib.MDB_PANIC, "PanicError",
     "An earlier fatal error left the environment unusable: close it (MDB_PANIC)."),
    (lib.MDB_VERSION_MISMATCH, "VersionMismatchError",
     "The file was written by an incompatible LMDB version (MDB_VERSION_MISMATCH)."),
    (lib.MDB_INVALID, "InvalidError", "The file is not an LMDB data file (MDB_INVALID)."),
    (lib.MDB_MAP_FULL, "MapFullError",
     "The data file reached the environment's map size (MDB_MAP_FULL)."),
    (lib.MDB_DBS_FULL, "DbsFullError",
     "More named databases than max_dbs allows (MDB_DBS_FULL)."),
    (lib.MDB_READERS_FULL, "ReadersFullError",
     "Every slot of the reader table is taken (MDB_READERS_FULL)."),
    (lib.MDB_TLS_FULL, "TlsFullError",
     "LMDB ran out of thread-local storage keys (MDB_TLS_FULL)."),
    (lib.MDB_TXN_FULL, "TxnFullError",
     "The transaction holds too many dirty pages (MDB_TXN_FULL)."),
    (lib.MDB_CURSOR_FULL, "CursorFullError",
     "A cursor's page stack overflowed: the tree is too deep (MDB_CURSOR_FULL)."),
    (lib.MDB_PAGE_FULL, "PageFullError",
     "A page has no room left for the item (MDB_PAGE_FULL)."),
    (lib.MDB_MAP_RESIZED, "MapResizedError",
     "Another process grew the map beyond this environment's size (MDB_MAP_RESIZED)."),
    (lib.MDB_INCOMPATIBLE, "IncompatibleError",
     "The operation does not fit the database's flags (MDB_INCOMPATIBLE)."),
    (lib.MDB_BAD_RSLOT, "BadRslotError",
     "A reader table slot was reused wrongly (MDB_BAD_RSLOT)."),
    (lib.MDB_BAD_DBI, "BadDbiError",
     "The database handle is not valid (any more) (MDB_BAD_DBI)."),
    (lib.MDB_BAD_TXN, "BadTxnError",
     "The transaction cannot be used: it failed, or a child is open (MDB_BAD_TXN)."),
    (lib.MDB_BAD_VALSIZE, "BadValsizeError",
     "A key or value of a size LMDB refuses, such as an empty key (MDB_BAD_VALSIZE)."),
    (lib.MDB_PROBLEM, "ProblemError",
     "An unexpected problem: the transaction must be aborted (LMDB 1.0, MDB_PROBLEM)."),
    (lib.MDB_BAD_CHECKSUM, "BadChecksumError",
     "A page's checksum does not match its contents (LMDB 1.0, MDB_BAD_CHECKSUM)."),
    (lib.MDB_CRYPTO_FAIL, "CryptoFailError",
     "A page could not be encrypted or decrypted (LMDB 1.0, MDB_CRYPTO_FAIL)."),
    (lib.MDB_ENV_ENCRYPTION, "EnvEncryptionError",
     "The environment's encryption does not match the one configured "
     "(LMDB 1.0, MDB_ENV_ENCRYPTION)."),
    (_errno.EACCES, "ReadonlyError",
     "A write in a read-only environment or transaction (EACCES, or LMDB 1.0's "
     "MDB_IS_READONLY)."),
    (_errno.EINVAL, "InvalidParameterError", "An argument LMDB refuses (EINVAL)."),
    (_errno.EAGAIN, "LockError", "A lock could not be taken (EAGAIN)."),
    (_errno.ENOMEM, "MemoryError", "Out of memory (ENOMEM)."),
    (_errno.ENOSPC, "DiskError", "No space left on the device (ENOSPC)."),
)

#: class name -> class; the module's namespace gets them all.
CLASSES = {"Error": Error}
_BY_CODE = {}
for _code, _name, _doc in _TABLE:
    _cls = type(_name, (Error,), {"__doc__": _doc, "__module__": "zlmdb.lmdb"})
    CLASSES[_name] = _cls
    _BY_CODE[_code] = _cls
del _code, _name, _doc, _cls

# libzlmdb's own codes that mean what an LMDB code means; 1.0 reports a
# write in a read-only transaction as MDB_IS_READONLY where 0.9 said EACCES.
_BY_CODE[lib.MDB_IS_READONLY] = _BY_CODE[_errno.EACCES]
_BY_CODE[lib.ZLMDB_READONLY] = _BY_CODE[_errno.EACCES]
_BY_CODE[lib.ZLMDB_NOTFOUND] = _BY_CODE[lib.MDB_NOTFOUND]
_BY_CODE[lib.ZLMDB_BAD_TXN] = _BY_CODE[lib.MDB_BAD_TXN]
_BY_CODE[lib.ZLMDB_EINVAL] = _BY_CODE[_errno.EINVAL]
_BY_CODE[lib.ZLMDB_BAD_FORMAT] = _BY_CODE[lib.MDB_INVALID]
_BY_CODE[lib.ZLMDB_FORMAT_MISMATCH] = _BY_CODE[lib.MDB_VERSION_MISMATCH]

# Advice for the codes a caller fixes by configuration (py-lmdb 3.0's words).
_HINTS = {
    lib.MDB_MAP_FULL: "Please use a larger Environment(map_size=) parameter",
    lib.MDB_DBS_FULL: "Please use a larger Environment(max_dbs=) parameter",
    lib.MDB_READERS_FULL: "Please use a larger Environment(max_readers=) parameter",
    lib.MDB_TXN_FULL: "Please do less work within your transaction",
}

MAP_FULL_WAYS_OUT = (
    "ways out: a larger map_size= when opening the Environment, or "
    "env.set_mapsize() with no transaction open; for a zlmdb.Database, a larger "
    "maxsize=, or growth= to grow the map on demand; for a database on disk, "
    "`zlmdb grow DBPATH SIZE`")


def class_for(rc):
    """The exception class for return code ``rc`` (``Error`` when none fits)."""
    if rc == 0:
        return Error
    return _BY_CODE.get(rc, Error)


def _text(p):
    return ffi.string(p).decode("utf-8", "replace") if p != ffi.NULL else ""


def lib_detail(rc):
    """What libzlmdb said about its last failure, or its code's description."""
    msg = _text(lib.zlmdb_error_last())
    return msg or _text(lib.zlmdb_strerror(rc))


def _is_lib_code(rc):
    return lib.ZLMDB_ERRCODE_LAST <= rc <= lib.ZLMDB_ERRCODE_FIRST


def error(what, rc):
    """The exception for a failed call ``what`` (str) with code ``rc``,
    worded as the extension's zpy_err_set() words it; to be raised."""
    if rc == lib.ZLMDB_ENOMEM:
        return MemoryError()
    klass = class_for(rc)
    reason = lib_detail(rc) if _is_lib_code(rc) else _text(lib.zlmdb_strerror(rc))
    hint = _HINTS.get(rc)
    if rc == 0:
        msg = what
    elif hint is not None:
        msg = "%s: %s (%s)" % (what, reason, hint)
    else:
        msg = "%s: %s" % (what, reason)
    exc = klass(msg)
    exc.what = what
    exc.code = rc
    exc.reason = reason
    if rc == lib.MDB_MAP_FULL:
        exc.add_note(MAP_FULL_WAYS_OUT)
    return exc


def lib_error(klass, rc, prefix=None, end=None):
    """A libzlmdb failure as ``klass`` (None: the class for ``rc``), with
    zlmdb_error_last()'s detail; the extension's zpy_err_lib()."""
    if rc in (lib.ZLMDB_ENOMEM, _errno.ENOMEM):
        return MemoryError()
    if klass is None:
        klass = class_for(rc)
    msg = "%s%s%s%s" % (prefix or "", ": " if prefix else "", lib_detail(rc), end or "")
    if rc > 0 and isinstance(klass, type) and issubclass(klass, OSError):
        return klass(rc, msg)
    return klass(msg)


_INVALID = "Attempt to operate on closed/deleted/dropped object."


def invalid():
    """The error for a closed, ended or invalidated object."""
    return error(_INVALID, 0)

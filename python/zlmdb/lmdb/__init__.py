"""zlmdb.lmdb: a drop-in replacement for py-lmdb, implemented in C.

``import zlmdb.lmdb as lmdb`` gives the names, signatures, defaults,
exceptions and behaviour of the ``lmdb`` package (py-lmdb 3.0, its C
extension), backed by LMDB 0.9.36 and 1.0.2 compiled into zlmdb.  On
CPython the types come from the extension ``zlmdb._native``; on PyPy from
the CFFI binding ``zlmdb._cffi`` over the same C library.
"""
import platform as _platform

if _platform.python_implementation() == "PyPy":
    # PyPy: the CFFI binding of libzlmdb (zlmdb._cffi), not the extension,
    # which PyPy could only run through its slow C-API emulation.
    from zlmdb._cffi.lmdb import (  # noqa: F401  (re-exported API)
        Cursor, Environment, Transaction, _Database, enable_drop_gil, version, open,
        Error, KeyExistsError, NotFoundError, PageNotFoundError, CorruptedError,
        PanicError, VersionMismatchError, InvalidError, MapFullError, DbsFullError,
        ReadersFullError, TlsFullError, TxnFullError, CursorFullError, PageFullError,
        MapResizedError, IncompatibleError, BadRslotError, BadDbiError, BadTxnError,
        BadValsizeError, ProblemError, BadChecksumError, CryptoFailError,
        EnvEncryptionError, ReadonlyError, InvalidParameterError, LockError, MemoryError,
        DiskError,
    )
else:
    from zlmdb._native import (  # noqa: F401  (re-exported API)
        Cursor,
        Environment,
        Transaction,
        _Database,
        enable_drop_gil,
        version,
        open,
        Error,
        KeyExistsError,
        NotFoundError,
        PageNotFoundError,
        CorruptedError,
        PanicError,
        VersionMismatchError,
        InvalidError,
        MapFullError,
        DbsFullError,
        ReadersFullError,
        TlsFullError,
        TxnFullError,
        CursorFullError,
        PageFullError,
        MapResizedError,
        IncompatibleError,
        BadRslotError,
        BadDbiError,
        BadTxnError,
        BadValsizeError,
        ProblemError,
        BadChecksumError,
        CryptoFailError,
        EnvEncryptionError,
        ReadonlyError,
        InvalidParameterError,
        LockError,
        MemoryError,
        DiskError,
    )

__version__ = "3.0.0"

__all__ = [
    "Cursor", "Environment", "Transaction", "_Database", "enable_drop_gil", "version",
    "Error", "KeyExistsError", "NotFoundError", "PageNotFoundError", "CorruptedError",
    "PanicError", "VersionMismatchError", "InvalidError", "MapFullError", "DbsFullError",
    "ReadersFullError", "TlsFullError", "TxnFullError", "CursorFullError", "PageFullError",
    "MapResizedError", "IncompatibleError", "BadRslotError", "BadDbiError", "BadTxnError",
    "BadValsizeError", "ReadonlyError", "InvalidParameterError", "LockError",
    "MemoryError", "DiskError",
    "ProblemError", "BadChecksumError", "CryptoFailError", "EnvEncryptionError",
]


def _reading_docs():
    """Return True while Sphinx is importing the module (py-lmdb helper)."""
    import sys
    return "sphinx" in sys.modules

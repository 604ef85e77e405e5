"""zlmdb: a transactional, embedded, memory-mapped database layer over LMDB.

Two APIs share one C core (the extension ``zlmdb._native`` and the C library
``libzlmdb`` under it):

* ``zlmdb.lmdb`` -- a drop-in replacement for py-lmdb
  (``import zlmdb.lmdb as lmdb``);
* ``zlmdb.codec`` -- CBOR, JSON and order-preserving key codecs in C,
  byte-compatible with cbor2 and json;
* ``zlmdb`` itself -- the object layer compatible with upstream zlmdb:
  ``Database``, ``Schema``, ``@table``, the ``Map*`` persistent maps and
  their indexes, with upstream's on-disk format.
"""
import platform as _platform

# <upstream zlmdb release whose API and formats this matches>.<our release
# on it>: it sorts just above that upstream release (README.md, "Versions").
# libzlmdb's own version is _native.libzlmdb_version().
__version__ = "26.10.1.1"

if _platform.python_implementation() == "PyPy":
    # PyPy runs zlmdb through the CFFI binding of libzlmdb (zlmdb._cffi):
    # zlmdb.lmdb, the codecs and the ORM's core (zlmdb._cffi.orm).
    from zlmdb import _lmdb_cffi

    def _built_version():
        return _lmdb_cffi.ffi.string(_lmdb_cffi.lib.zl_package_version()).decode()
else:
    from zlmdb import _native

    def _built_version():
        return _native.package_version


def _check_native_version():
    # The Python files and the compiled core must come from the same build.
    built = _built_version()
    if built != __version__:
        raise ImportError("zlmdb %s found a C core built for zlmdb %s: reinstall zlmdb "
                          "(pip install --force-reinstall .)" % (__version__, built))


_check_native_version()

from zlmdb import codec  # noqa: E402  (after the check: the C core must match)
from zlmdb import lmdb  # noqa: E402
from zlmdb._flatbuffers import (check_autobahn_flatbuffers_version_in_sync,  # noqa: E402
                                setup_flatbuffers_import)
from zlmdb._database import (TABLES_BY_UUID, Database, Transaction,  # noqa: E402
                             TransactionStats, table)
from zlmdb._maps import MAP_CLASSES, MAPS  # noqa: E402
from zlmdb._pmap import (IndexSpec, NullValueConstraint, PersistentMap,  # noqa: E402
                         PersistentMapIterator)
from zlmdb._records import RecordDecodeError  # noqa: E402
from zlmdb._schema import Schema  # noqa: E402

globals().update(MAP_CLASSES)

__all__ = ("__version__", "flatbuffers", "setup_flatbuffers_import",
           "check_autobahn_flatbuffers_version_in_sync", "codec", "lmdb", "Schema",
           "Database", "Transaction", "TransactionStats", "table",
           "NullValueConstraint", "IndexSpec", "RecordDecodeError") + tuple(MAP_CLASSES)


def __getattr__(name):
    # zlmdb.flatbuffers: the FlatBuffers runtime, imported on first use
    # (an optional dependency, unlike upstream's bundled copy).
    if name == "flatbuffers":
        from zlmdb._flatbuffers import load_flatbuffers
        return load_flatbuffers()
    raise AttributeError("module 'zlmdb' has no attribute %r" % name)

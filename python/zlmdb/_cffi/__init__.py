"""zlmdb's binding for PyPy: libzlmdb through CFFI (``zlmdb.lmdb``, ``zlmdb.codec``).

On PyPy, whose emulation of CPython's C API is slow, ``zlmdb.lmdb`` comes
from here instead of from the extension ``zlmdb._native``: ``lmdb.py``
holds Environment, Transaction, _Database, Cursor and _Iterator over the
compiled CFFI module ``zlmdb._lmdb_cffi`` (its declarations and C helpers:
src/cffi/lmdb_cffi_build.py), ``errors.py`` the exception classes and the
one function that raises them, ``_args.py`` py-lmdb's argument conventions,
``verify.py`` the offline verifier.  ``zlmdb.codec`` comes from
``codec_cbor.py``, ``codec_json.py`` and ``codec_key.py`` (their C:
src/cffi/codec_*.c).  The ORM's core on PyPy is ``orm.py`` (its C:
src/cffi/orm.c), which ``zlmdb._core`` picks instead of the extension.  See
docs/architecture.md, "PyPy: the CFFI binding".
"""
import platform

#: True when this interpreter uses the CFFI binding (PyPy).
ACTIVE = platform.python_implementation() == "PyPy"

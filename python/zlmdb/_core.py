"""The ORM's C core for this interpreter: the extension ``zlmdb._native``
on CPython, the CFFI binding's ``zlmdb._cffi.orm`` on PyPy (the same names:
OrmTransaction, PersistentMapBase, the registry functions, ...)."""
from zlmdb._cffi import ACTIVE as _ON_CFFI

if _ON_CFFI:
    from zlmdb._cffi import orm as native
else:
    from zlmdb import _native as native

__all__ = ("native",)

from typing import Any

# zlmdb._native (CPython) or zlmdb._cffi.orm (PyPy): untyped C cores.
native: Any

__all__ = ("native",)

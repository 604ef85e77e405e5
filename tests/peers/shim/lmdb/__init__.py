"""Import shim: ``import lmdb`` gives ``zlmdb.lmdb`` itself.

The peers runner puts the folder holding this package first on
``PYTHONPATH`` (so child processes the tests start get it too).  Importing
it replaces ``sys.modules['lmdb']`` with the ``zlmdb.lmdb`` module object and
registers each of its submodules under the ``lmdb.`` name, so module
identity holds: ``lmdb is zlmdb.lmdb``, ``lmdb.Error is zlmdb.lmdb.Error``,
``lmdb.tool is zlmdb.lmdb.tool``, and a test that patches ``lmdb.tool.ENV``
patches the module zlmdb runs.  ``python -m lmdb`` runs zlmdb.lmdb's
``__main__``.  A submodule zlmdb.lmdb does not have is simply absent, as it
would be from a py-lmdb build without it.
"""
import importlib
import sys

import zlmdb.lmdb as _impl

sys.modules[__name__] = _impl
for _name in ("tool", "aio", "verify", "cpython"):
    try:
        _sub = importlib.import_module("zlmdb.lmdb." + _name)
    except ModuleNotFoundError as _exc:
        if _exc.name != "zlmdb.lmdb." + _name:
            raise
        continue
    sys.modules[__name__ + "." + _name] = _sub

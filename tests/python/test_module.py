"""Module surface of zlmdb.lmdb compared with py-lmdb's."""
import lmdb as pylmdb
import pytest

import zlmdb
import zlmdb.lmdb as zl

EXCEPTIONS = [
    "KeyExistsError", "NotFoundError", "PageNotFoundError", "CorruptedError", "PanicError",
    "VersionMismatchError", "InvalidError", "MapFullError", "DbsFullError",
    "ReadersFullError", "TlsFullError", "TxnFullError", "CursorFullError", "PageFullError",
    "MapResizedError", "IncompatibleError", "BadRslotError", "BadDbiError", "BadTxnError",
    "BadValsizeError", "ReadonlyError", "InvalidParameterError", "LockError",
    "MemoryError", "DiskError",
]


def test_all_has_exactly_the_py_lmdb_names():
    assert len(zl.__all__) == 32
    assert sorted(zl.__all__) == sorted(pylmdb.__all__)
    for name in zl.__all__:
        assert hasattr(zl, name), name


def test_open_is_environment():
    assert zl.open is zl.Environment


def test_version_reports_the_pinned_patched_lmdb():
    assert zl.version() == (0, 9, 35)
    assert zl.version(subpatch=True) == (0, 9, 35, 1)
    assert zl.version(True) == (0, 9, 35, 1)
    assert zl.version(None) == (0, 9, 35)


def test_version_rejects_bad_arguments_like_py_lmdb():
    with pytest.raises(TypeError):
        zl.version(1, 2)
    with pytest.raises(TypeError):
        zl.version(nosuch=1)


def test_exception_hierarchy():
    assert issubclass(zl.Error, Exception)
    assert len(EXCEPTIONS) == 25
    for name in EXCEPTIONS:
        cls = getattr(zl, name)
        assert cls.__bases__ == (zl.Error,), name
        assert cls.__name__ == name
    # lmdb.MemoryError shadows the builtin but is an lmdb.Error.
    assert zl.MemoryError is not MemoryError


def test_types_look_like_py_lmdb_static_types():
    for name in ("Environment", "Transaction", "Cursor", "_Database"):
        ours, theirs = getattr(zl, name), getattr(pylmdb, name)
        assert ours.__module__ == theirs.__module__ == "builtins"
        assert ours.__name__ == theirs.__name__
        assert repr(ours) == repr(theirs)
        with pytest.raises(TypeError):
            type("Sub", (ours,), {})


def test_database_cannot_be_instantiated():
    with pytest.raises(TypeError, match="cannot create '_Database' instances"):
        zl._Database()


def test_enable_drop_gil_is_a_no_op():
    assert zl.enable_drop_gil() is None


def test_package_exposes_low_level_api_and_version():
    assert zlmdb.lmdb is zl
    assert isinstance(zlmdb.__version__, str)
    major, minor, patch = zlmdb._native.lib_version()
    assert zlmdb.__version__ == "%d.%d.%d" % (major, minor, patch)


def test_no_system_lmdb_is_linked():
    # The default build compiles LMDB in: the extension must not depend on
    # a shared liblmdb.
    import subprocess
    so = zlmdb._native.__file__
    out = subprocess.run(["ldd", so], capture_output=True, text=True).stdout
    assert "liblmdb" not in out

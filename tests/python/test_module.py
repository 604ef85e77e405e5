"""Module surface of zlmdb.lmdb compared with py-lmdb's."""
import errno

import lmdb as pylmdb
import pytest

import zlmdb
import zlmdb.lmdb as zl
from conftest import DEFAULT_LIB_VERSION, run_python

EXCEPTIONS = [
    "KeyExistsError", "NotFoundError", "PageNotFoundError", "CorruptedError", "PanicError",
    "VersionMismatchError", "InvalidError", "MapFullError", "DbsFullError",
    "ReadersFullError", "TlsFullError", "TxnFullError", "CursorFullError", "PageFullError",
    "MapResizedError", "IncompatibleError", "BadRslotError", "BadDbiError", "BadTxnError",
    "BadValsizeError", "ReadonlyError", "InvalidParameterError", "LockError",
    "MemoryError", "DiskError",
    "ProblemError", "BadChecksumError", "CryptoFailError", "EnvEncryptionError",
]


def test_all_has_exactly_the_py_lmdb_names():
    assert len(zl.__all__) == 36
    assert sorted(zl.__all__) == sorted(pylmdb.__all__)
    for name in zl.__all__:
        assert hasattr(zl, name), name


def test_open_is_environment():
    assert zl.open is zl.Environment


PINNED = {0: (0, 9, 36), 1: (1, 0, 2)}


def test_version_reports_the_pinned_patched_engines():
    default = PINNED[DEFAULT_LIB_VERSION]
    assert zl.version() == default
    assert zl.version(subpatch=True) == default + (1,)
    assert zl.version(True) == default + (1,)
    assert zl.version(None) == default
    for lib_version, pinned in PINNED.items():
        assert zl.version(lib_version=lib_version) == pinned
        assert zl.version(True, lib_version) == pinned + (1,)
        assert zl.version(lib_version=lib_version) == pylmdb.version(lib_version=lib_version)


def test_the_default_engine_follows_lmdb_default_lib_version():
    for value, want in (("", PINNED[0]), ("0", PINNED[0]), ("1", PINNED[1])):
        res = run_python("import zlmdb.lmdb as l; print(l.version())",
                         env={"LMDB_DEFAULT_LIB_VERSION": value})
        assert res.returncode == 0 and res.stdout.strip() == str(want), res.stderr
    res = run_python("import zlmdb.lmdb as l; print(l.version())",
                     env={"LMDB_DEFAULT_LIB_VERSION": "7"})
    assert res.stdout.strip() == str(PINNED[0])
    assert "ignoring LMDB_DEFAULT_LIB_VERSION=7: no such engine" in res.stderr


def test_version_rejects_bad_arguments_like_py_lmdb():
    with pytest.raises(TypeError):
        zl.version(1, 2, 3)
    with pytest.raises(TypeError):
        zl.version(nosuch=1)
    with pytest.raises(zl.Error, match="no LMDB 2.x engine"):
        zl.version(1, 2)
    with pytest.raises(OverflowError):
        zl.version(lib_version=-1)


def test_exception_hierarchy():
    assert issubclass(zl.Error, Exception)
    assert len(EXCEPTIONS) == 29
    for name in EXCEPTIONS:
        cls = getattr(zl, name)
        assert cls.__bases__ == (zl.Error,), name
        assert cls.__name__ == name
    # lmdb.MemoryError shadows the builtin but is an lmdb.Error.
    assert zl.MemoryError is not MemoryError


def test_exceptions_carry_what_code_reason_and_the_hint(tmp_path):
    env = zl.open(str(tmp_path), map_size=1 << 16, max_dbs=1)
    try:
        with pytest.raises(zl.MapFullError) as info:
            with env.begin(write=True) as txn:
                for i in range(10000):
                    txn.put(b"%d" % i, b"x" * 100)
        exc = info.value
        assert (exc.what, exc.code) == ("mdb_put", -30792)
        assert exc.reason == "MDB_MAP_FULL: Environment mapsize limit reached"
        assert str(exc) == ("mdb_put: %s (Please use a larger Environment(map_size=) "
                            "parameter)" % exc.reason)
        assert exc.args == (str(exc),)
        env.open_db(b"one")
        with pytest.raises(zl.DbsFullError) as info:
            env.open_db(b"two")
        assert str(info.value).endswith("(Please use a larger Environment(max_dbs=) parameter)")
        with env.begin() as txn:
            with pytest.raises(zl.ReadonlyError) as info:
                txn.put(b"k", b"v")
        # LMDB 0.9 says EACCES, 1.0 MDB_IS_READONLY: one class for both
        readonly_code = errno.EACCES if env.lib_version()[0] == 0 else -30770
        assert info.value.code == readonly_code and "(" not in str(info.value)
    finally:
        env.close()
    with pytest.raises(zl.Error) as info:
        env.stat()
    exc = info.value
    assert type(exc) is zl.Error and exc.code == 0
    assert str(exc) == exc.what == "Attempt to operate on closed/deleted/dropped object."
    assert isinstance(exc.reason, str)


def test_lmdb_1_0_codes_have_their_classes():
    # The classes exist on every build; only the 1.0 engine returns the codes.
    for name, code in (("ProblemError", "MDB_PROBLEM"), ("BadChecksumError", "MDB_BAD_CHECKSUM"),
                       ("CryptoFailError", "MDB_CRYPTO_FAIL"),
                       ("EnvEncryptionError", "MDB_ENV_ENCRYPTION")):
        cls = getattr(zl, name)
        assert cls.__bases__ == (zl.Error,)
        assert cls.__doc__.endswith("(LMDB 1.0, %s)." % code)


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
    # The compiled core was built for these Python files.
    assert zlmdb._native.package_version == zlmdb.__version__


def test_libzlmdb_keeps_its_own_version():
    major, minor, patch = zlmdb._native.libzlmdb_version()
    assert major == 0 and "%d.%d.%d" % (major, minor, patch) != zlmdb.__version__


def test_no_system_lmdb_is_linked():
    # The default build compiles LMDB in: the extension must not depend on
    # a shared liblmdb.
    import subprocess
    so = zlmdb._native.__file__
    out = subprocess.run(["ldd", so], capture_output=True, text=True).stdout
    assert "liblmdb" not in out


def _public_callables():
    yield "version", zl.version
    yield "enable_drop_gil", zl.enable_drop_gil
    for cls in (zl.Environment, zl.Transaction, zl.Cursor, zl._Database):
        yield cls.__name__, cls
        for name, member in vars(cls).items():
            if callable(member) and (not name.startswith("_") or
                                     name in ("__enter__", "__exit__")):
                yield "%s.%s" % (cls.__name__, name), getattr(cls, name)


@pytest.mark.parametrize("name,obj", list(_public_callables()),
                         ids=[n for n, _ in _public_callables()])
def test_every_class_and_method_has_a_docstring_and_signature(name, obj):
    # help(), inspect.signature() and the documentation site's API
    # reference read these (py-lmdb's C extension has neither).
    import inspect
    assert obj.__doc__ and obj.__doc__.strip(), name
    inspect.signature(obj)


def test_signatures_name_the_keyword_arguments():
    import inspect
    assert list(inspect.signature(zl.Environment).parameters)[:3] == [
        "path", "map_size", "subdir"]
    params = inspect.signature(zl.Transaction.put).parameters
    assert list(params) == ["self", "key", "value", "dupdata", "overwrite", "append", "db"]
    assert params["overwrite"].default is True


@pytest.mark.parametrize("name", EXCEPTIONS)
def test_exception_docstrings_name_the_lmdb_code(name):
    doc = getattr(zl, name).__doc__
    assert doc and doc.rstrip().endswith(")."), doc

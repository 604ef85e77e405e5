"""Shared fixtures for the Python tests."""
import os
import platform
import subprocess
import sys

import pytest

import zlmdb
import zlmdb._database
import zlmdb.lmdb as zl

#: PyPy runs zlmdb through the CFFI binding (zlmdb._cffi).
IS_PYPY = platform.python_implementation() == "PyPy"

# The engine new environments get in this run (CI runs the suite on each):
# LMDB 0.9 unless LMDB_DEFAULT_LIB_VERSION=1.
DEFAULT_LIB_VERSION = zl.version()[0]

# The LMDB format the ORM gives new databases in this run: the switch
# upstream zlmdb's own suite reads, ZLMDB_TEST_LIB_VERSION=0.9 or 1.0 (a test
# switch, not a zlmdb setting); unset, the real default ("1.0").  The ORM
# tests run on each format in CI.
TEST_LIB_VERSION = os.environ.get("ZLMDB_TEST_LIB_VERSION") or None


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "cpython_only: checks a detail of the CPython extension zlmdb._native "
        "(its C types, reference counting, cpyext-only behaviour); skipped on PyPy, whose "
        "zlmdb.lmdb is the CFFI binding")
    config.addinivalue_line(
        "markers", "pylmdb_cext: compares with py-lmdb's C extension (messages, private "
        "names); skipped on PyPy, where py-lmdb is its cffi backend")
    if os.environ.get("ZLMDB_TEST_INSTALLED"):
        # `make test-pythons`: the installed wheel is under test; a zlmdb
        # imported from this checkout (an editable install, a PYTHONPATH)
        # would test the source tree instead.
        tree = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__)))), "python")
        if os.path.abspath(zlmdb.__file__).startswith(tree + os.sep):
            raise pytest.UsageError("ZLMDB_TEST_INSTALLED is set but zlmdb was imported from "
                                    "the source tree (%s)" % zlmdb.__file__)
    if TEST_LIB_VERSION is None:
        return
    if TEST_LIB_VERSION not in zlmdb._database._LIB_VERSION_TO_MAJOR:
        raise pytest.UsageError("ZLMDB_TEST_LIB_VERSION=%r: use 0.9 or 1.0 (or unset it for "
                                "the default)" % TEST_LIB_VERSION)
    # before any test module or fixture creates a database
    zlmdb._database.DEFAULT_LIB_VERSION = TEST_LIB_VERSION


def pytest_runtest_setup(item):
    if IS_PYPY and item.get_closest_marker("cpython_only") is not None:
        pytest.skip("CPython only: checks a detail of the extension zlmdb._native")
    if IS_PYPY and item.get_closest_marker("pylmdb_cext") is not None:
        pytest.skip("compares with py-lmdb's C extension; on PyPy py-lmdb is its cffi backend")


def pytest_report_header(config):
    return "zlmdb%s: new ORM databases in LMDB format %s%s; new low-level environments " \
        "on LMDB %d.x" % (" on PyPy (the CFFI binding)" if IS_PYPY else "",
                          zlmdb._database.DEFAULT_LIB_VERSION,
                          " (ZLMDB_TEST_LIB_VERSION)" if TEST_LIB_VERSION else " (default)",
                          DEFAULT_LIB_VERSION)


@pytest.fixture
def path(tmp_path):
    """A fresh directory path for an environment (not yet created)."""
    return str(tmp_path / "env")


@pytest.fixture
def env(path):
    """An open environment with room for named databases."""
    e = zl.open(path, map_size=64 << 20, max_dbs=8)
    yield e
    e.close()


def run_python(code, *args, timeout=60, env=None):
    """Run `code` in a fresh interpreter, with `env` added to the
    environment; return the CompletedProcess."""
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ, **(env or {})))

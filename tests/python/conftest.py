"""Shared fixtures for the Python tests."""
import os
import subprocess
import sys

import pytest

import zlmdb.lmdb as zl

# The engine new environments get in this run (CI runs the suite on each):
# LMDB 0.9 unless LMDB_DEFAULT_LIB_VERSION=1.
DEFAULT_LIB_VERSION = zl.version()[0]


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

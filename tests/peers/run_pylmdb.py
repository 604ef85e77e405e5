#!/usr/bin/env python3
"""py-lmdb's own test suite against zlmdb.lmdb (``make compat-pylmdb``).

Fetches the pinned py-lmdb sdist (``peers.lock``), extracts its ``tests/``
into ``build/peers/``, and runs each test file in its own pytest process
once per engine setting (``LMDB_DEFAULT_LIB_VERSION`` unset and ``=1``, as
py-lmdb's CI does) on zlmdb.lmdb, through the ``shim/`` that makes
``import lmdb`` give ``zlmdb.lmdb``.  Each test is compared with py-lmdb on
itself (the binary wheel of the same release, in its own virtualenv
``build/peers/pylmdb-venv-<version>/``), as recorded in
``reference/pylmdb-<version>-<engine>.json`` or measured.  A test py-lmdb
passes and we do not is a regression, unless ``pylmdb-allowlist.txt``
names it with a reason.  The last line is ``compat-pylmdb: N passed, N
failed``; the exit status is 1 on a regression, 2 when the harness cannot
run.  See README.md beside this file.
"""
from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
import tarfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peerlib  # noqa: E402
from peerlib import BUILD, HERE  # noqa: E402

#: Run by PyPy: our CFFI binding against py-lmdb's cffi backend.
PYPY = platform.python_implementation() == "PyPy"

PYTEST_INI = """\
# Written by tests/peers/run_pylmdb.py: the settings py-lmdb runs its suite with.
[pytest]
markers =
    mdb_layout: reads LMDB's page layout directly (py-lmdb deselects these)
addopts = -m "not mdb_layout"
"""


def extract_tests(sdist: Path, version: str, sha256: str) -> Path:
    """Extract the sdist's ``tests/`` folder to ``build/peers/pylmdb-<version>/tests``."""
    dest = BUILD / f"pylmdb-{version}" / "tests"
    stamp = dest / ".extracted"
    if stamp.exists() and stamp.read_text() == sha256:
        return dest
    prefix = f"lmdb-{version}/tests/"
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            rel = member.name[len(prefix):] if member.name.startswith(prefix) else ""
            if not member.isfile() or not rel or "/" in rel or rel.startswith("."):
                continue
            (dest / rel).write_bytes(tar.extractfile(member).read())
    (dest / "pytest.ini").write_text(PYTEST_INI)
    stamp.write_text(sha256)
    return dest


class PyLmdb(peerlib.Harness):
    peer, title, switch = "pylmdb", "py-lmdb", "engine"
    #: engine label -> LMDB_DEFAULT_LIB_VERSION (None: unset)
    ENGINES = {"0.9": None, "1.0": "1"}
    settings = tuple(ENGINES)

    def prepare(self) -> tuple[Path, list[str]]:
        pins = peerlib.pins("pylmdb", "version", "sdist_sha256")
        self.version, self.sha256 = pins["version"], pins["sdist_sha256"]
        sdist = peerlib.fetch(f"lmdb=={self.version}", f"lmdb-{self.version}.tar.gz",
                              self.sha256, ["--no-binary", ":all:"])
        tests_dir = extract_tests(sdist, self.version, self.sha256)
        return tests_dir, sorted(p.name for p in tests_dir.glob("*_test.py"))

    def heading(self, setting: str) -> str:
        value = self.ENGINES[setting]
        label = f"LMDB_DEFAULT_LIB_VERSION={value}" if value else "LMDB_DEFAULT_LIB_VERSION unset"
        return f"py-lmdb's tests on zlmdb.lmdb, engine {setting} ({label})"

    def env(self, setting: str, ours: bool) -> dict[str, str]:
        path = os.pathsep.join([str(HERE / "shim"), str(HERE)]) if ours else str(HERE)
        extra = {"PYTHONPATH": path, "PYTHONDONTWRITEBYTECODE": "1"}
        if self.ENGINES[setting] is not None:
            extra["LMDB_DEFAULT_LIB_VERSION"] = self.ENGINES[setting]
        return peerlib.clean_env(**extra)

    def allowlist_file(self) -> str:
        return "pylmdb-pypy-allowlist.txt" if PYPY else "pylmdb-allowlist.txt"

    def reference_name(self, setting: str) -> str:
        # On PyPy both sides differ (py-lmdb's cffi backend, our CFFI
        # binding): references of their own.
        return f"{self.peer}-{self.version}{'-pypy' if PYPY else ''}-{setting}"

    def peer_python(self) -> str:
        """py-lmdb and our pytest: its binary wheel (its C extension) on
        CPython; on PyPy, which has no wheel of it, built from its sdist,
        which gives its cffi backend."""
        version = self.version
        pytest_pin = f"pytest=={importlib.metadata.version('pytest')}"
        if PYPY:
            return peerlib.make_venv(
                BUILD / f"pylmdb-venv-{version}-pypy", [f"lmdb=={version}", pytest_pin],
                "import lmdb, sys\n"
                f"if lmdb.__version__ != {version!r} or "
                "lmdb.Environment.__module__ != 'lmdb.cffi':\n"
                f"    sys.exit('lmdb there is not py-lmdb {version}\\'s cffi backend')\n")
        return peerlib.make_venv(
            BUILD / f"pylmdb-venv-{version}",
            ["--only-binary", ":all:", f"lmdb=={version}", pytest_pin],
            "import lmdb, sys\n"
            f"if lmdb.__version__ != {version!r} or lmdb.Environment.__module__ != 'builtins':\n"
            f"    sys.exit('lmdb there is not py-lmdb {version}\\'s C extension')\n")


def main(argv: list[str] | None = None) -> int:
    return peerlib.main(PyLmdb(), argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())

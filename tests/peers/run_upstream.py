#!/usr/bin/env python3
"""Upstream zlmdb's own ORM test suite against our zlmdb (``make compat-upstream``).

Fetches the pinned wheel of upstream zlmdb (``peers.lock``), extracts its
``tests/orm`` (and the ``tests/conftest.py`` above it) into
``build/peers/upstream-<version>/``, and runs each test file in its own
pytest process once per LMDB format (``ZLMDB_TEST_LIB_VERSION=0.9`` and
``1.0``, the switch upstream's conftest reads), with ``QUICK=1`` as
upstream's CI runs it, on our ``zlmdb`` (the package of the interpreter
running this script).  Each test is compared with upstream on itself (in its
own virtualenv ``build/peers/upstream-venv-<version>/``, never in ``.venv``:
it has our import name), as recorded in
``reference/upstream-<version>-<format>.json`` or measured.  A test upstream
passes and we do not is a regression, unless ``upstream-allowlist.txt``
names it with a reason.  The last line is ``compat-upstream: N passed, N
failed``; the exit status is 1 on a regression, 2 when the harness cannot
run.  See README.md beside this file.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import platform
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peerlib  # noqa: E402
from peerlib import BUILD, HERE, HarnessError  # noqa: E402

#: What the test processes need beside zlmdb and pytest: upstream's tests
#: call txaio.use_twisted().  The same pins as the `compat` extra.
SUITE_DEPS = ("txaio==26.6.1", "twisted==26.10.0")
PYTEST_INI = """\
# Written by tests/peers/run_upstream.py.  Run file by file, test_select.py
# would not find _schema_mnode_log: in a whole-suite run other files put
# orm/ on sys.path first.
[pytest]
pythonpath = orm
"""


def extract_suite(wheel: Path, sha256: str, dest: Path) -> Path:
    """``tests/orm`` and ``tests/conftest.py`` of the wheel, into ``dest``."""
    stamp = dest / ".extracted"
    if stamp.exists() and stamp.read_text() == sha256:
        return dest
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            if name.endswith("/"):
                continue
            if name.startswith("zlmdb/tests/orm/") or name == "zlmdb/tests/conftest.py":
                target = dest / name[len("zlmdb/tests/"):]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(z.read(name))
    (dest / "pytest.ini").write_text(PYTEST_INI)
    stamp.write_text(sha256)
    return dest


def check_ours() -> None:
    """This interpreter must import our zlmdb, with what the suite needs."""
    try:
        import twisted  # noqa: F401
        import txaio  # noqa: F401
        import zlmdb
    except ImportError as exc:
        raise HarnessError(f"{exc}; install the test extras: pip install -e '.[test,compat]'")
    if not hasattr(zlmdb, "_core"):
        raise HarnessError(f"{zlmdb.__file__} is not our zlmdb (it has no zlmdb._core)")


#: Run by PyPy (tests/pypy/run.sh): our CFFI binding, compared with upstream
#: on CPython (the pinned wheel is CPython's; upstream has no PyPy wheel).
PYPY = platform.python_implementation() == "PyPy"


class Upstream(peerlib.Harness):
    peer, title, switch = "upstream", "upstream", "format"
    settings = ("0.9", "1.0")
    test_timeout = 600          # test_select.py has tests of 3 minutes on upstream

    def allowlist_file(self) -> str:
        return "upstream-pypy-allowlist.txt" if PYPY else "upstream-allowlist.txt"

    def add_arguments(self, ap: argparse.ArgumentParser) -> None:
        ap.add_argument("--stress", action="store_true",
                        help="also run test_multiwriter_stress (ZLMDB_RUN_MULTIWRITER_STRESS=1)")

    def prepare(self) -> tuple[Path, list[str]]:
        pins = peerlib.pins("upstream", "version", "wheel", "wheel_sha256")
        self.version, self.sha256 = pins["version"], pins["wheel_sha256"]
        check_ours()
        # The pinned wheel is CPython 3.11's: named so that pip fetches it on
        # any interpreter (on PyPy the suite runs against our CFFI binding,
        # compared with upstream's results on CPython).
        self.wheel = peerlib.fetch(f"zlmdb=={self.version}", pins["wheel"], self.sha256,
                                   ["--only-binary", ":all:", "--implementation", "cp",
                                    "--python-version", "3.11", "--abi", "cp311",
                                    "--platform", "manylinux_2_28_x86_64"])
        tests_dir = extract_suite(self.wheel, self.sha256,
                                  BUILD / f"upstream-{self.version}" / "tests")
        return tests_dir, sorted(f"orm/{p.name}" for p in (tests_dir / "orm").glob("test_*.py"))

    def file_arg(self, arg: str) -> str:
        return "orm/" + Path(arg).name

    def heading(self, setting: str) -> str:
        stress = ", ZLMDB_RUN_MULTIWRITER_STRESS=1" if self.args.stress else ""
        return (f"upstream zlmdb's tests/orm on zlmdb, format {setting} "
                f"(ZLMDB_TEST_LIB_VERSION={setting}, QUICK=1{stress})")

    def reference_name(self, setting: str) -> str:
        return super().reference_name(setting) + ("-stress" if self.args.stress else "")

    def env(self, setting: str, ours: bool) -> dict[str, str]:
        extra = {"PYTHONPATH": str(HERE), "PYTHONDONTWRITEBYTECODE": "1", "QUICK": "1",
                 "ZLMDB_TEST_LIB_VERSION": setting}
        if self.args.stress:
            extra["ZLMDB_RUN_MULTIWRITER_STRESS"] = "1"
        return peerlib.clean_env(**extra)

    def peer_python(self) -> str:
        """Upstream's wheel, what its tests import, and our pytest."""
        venv = BUILD / f"upstream-venv-{self.version}"
        return peerlib.make_venv(
            venv, [str(self.wheel), f"pytest=={importlib.metadata.version('pytest')}",
                   *SUITE_DEPS],
            "import os, sys, zlmdb\n"
            f"if zlmdb.__version__ != {self.version!r} or "
            f"not zlmdb.__file__.startswith({str(venv)!r}):\n"
            f"    sys.exit(f'zlmdb there is {{zlmdb.__version__}} from {{zlmdb.__file__}}, "
            f"not upstream {self.version}')\n",
            key=self.sha256)


def main(argv: list[str] | None = None) -> int:
    return peerlib.main(Upstream(), argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())

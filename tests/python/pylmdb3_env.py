"""py-lmdb 3.0.0, the reference of the verifier, run in a child interpreter.

py-lmdb 3.0.0 is a test dependency (the ``test`` extra pins it), so the
reference is the ``lmdb`` package of the interpreter running the tests.  It
runs in a separate process so that its verifier and tool see nothing of
ours: the child imports ``lmdb`` only, with ``-E -s`` and without
``LMDB_DEFAULT_LIB_VERSION`` (the scripts choose their engine).

Importable (tests/python is on sys.path under pytest; the benchmark adds it)::

    from pylmdb3_env import run_pylmdb3
    proc = run_pylmdb3(HERE / "verify_data" / "make_files.py", str(tmp_path))
"""

from __future__ import annotations

import os
import subprocess
import sys

VERSION = "3.0.0"


def clean_env(extra: dict | None = None) -> dict:
    """The environment for the reference's interpreter."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONSAFEPATH",
                        "LMDB_DEFAULT_LIB_VERSION")}
    env.update(extra or {})
    return env


def pylmdb3_python() -> str:
    """The interpreter that has py-lmdb 3.0.0; a clear error when it has
    another version (install the ``test`` extra)."""
    proc = subprocess.run([sys.executable, "-E", "-s", "-c",
                           "import lmdb; print(lmdb.__version__)"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          env=clean_env(), timeout=60)
    got = proc.stdout.strip() if proc.returncode == 0 else "none (%s)" % (
        proc.stderr.strip().splitlines() or ["import failed"])[-1]
    if got != VERSION:
        raise RuntimeError("the reference verifier is py-lmdb %s, but %s has py-lmdb %s: "
                           "pip install -e '.[test]'" % (VERSION, sys.executable, got))
    return sys.executable


def run_pylmdb3(script, *args, timeout: float = 600, env: dict | None = None,
                check: bool = True) -> subprocess.CompletedProcess:
    """Run a script (or ``-m module``) with py-lmdb 3.0.0 as ``lmdb``; text
    output captured."""
    head = list(script) if isinstance(script, (list, tuple)) else [str(script)]
    proc = subprocess.run([pylmdb3_python(), "-E", "-s", "-B", *head,
                           *[str(a) for a in args]],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          env=clean_env(env), timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s" % (head, proc.returncode,
                                                   proc.stderr[-4000:]))
    return proc

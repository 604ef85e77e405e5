"""A cached virtualenv holding py-lmdb 3.0.0, the reference of the verifier.

The project's own ``.venv`` pins py-lmdb 2.3.0 for the differential tests of
``zlmdb.lmdb``, and our extension has only the LMDB 0.9 engine, so files in
the LMDB 1.0 format (data format 3) and py-lmdb 3.0's pure-Python
``lmdb.verify`` come from a second virtualenv, ``build/pylmdb3-venv/``,
created once (under a file lock, so parallel test processes build it once)
the first time a test or the benchmark needs it.

Importable (tests/python is on sys.path under pytest; the benchmark adds it)::

    from pylmdb3_env import run_pylmdb3
    proc = run_pylmdb3(HERE / "verify_data" / "make_files.py", str(tmp_path))

Runnable as a script: ``python tests/python/pylmdb3_env.py [--recreate]``
creates the venv (if needed) and prints its interpreter.

``ZLMDB_PYLMDB3_VENV`` puts the venv elsewhere.  Nothing of it is imported
by zlmdb; the interpreter runs with ``-E -s`` so our package cannot leak in.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

PIN = "lmdb==3.0.0"
VERSION = PIN.split("==", 1)[1]
#: Bump when the recipe changes, to rebuild cached venvs.
RECIPE = 1
REPO = Path(__file__).resolve().parents[2]
MARKER = "zlmdb-pylmdb3.json"

_PROBE = r"""
import json, sys, lmdb, lmdb.verify, lmdb.tool
print(json.dumps({"version": lmdb.__version__, "file": lmdb.__file__,
                  "prefix": sys.prefix, "engines": [lmdb.version(lib_version=v)
                                                    for v in (0, 1)]}))
"""


def venv_dir() -> Path:
    return Path(os.environ.get("ZLMDB_PYLMDB3_VENV") or REPO / "build" / "pylmdb3-venv")


def venv_python(venv: Path | None = None) -> Path:
    return (venv or venv_dir()) / "bin" / "python"


def clean_env(extra: dict | None = None) -> dict:
    """The environment for the venv's interpreter: nothing that could make it
    import our package or another site's packages."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP",
                        "PYTHONSAFEPATH", "LMDB_DEFAULT_LIB_VERSION")}
    env.update(PIP_NO_INPUT="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.update(extra or {})
    return env


def _valid(venv: Path) -> bool:
    try:
        marker = json.loads((venv / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return (marker.get("pin") == PIN and marker.get("recipe") == RECIPE
            and venv_python(venv).exists())


def _step(cmd: list, timeout: float) -> None:
    print("[pylmdb3-env] $ " + " ".join(cmd), file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, env=clean_env(), cwd=str(REPO),
                          timeout=timeout, stdout=sys.stderr, stderr=sys.stderr)
    if proc.returncode != 0:
        raise RuntimeError("command failed (%d): %s" % (proc.returncode, " ".join(cmd)))


def ensure_pylmdb3_venv(recreate: bool = False, timeout: float = 900) -> Path:
    """Create the venv unless a valid one exists; return its interpreter.
    Raises RuntimeError when it cannot be made (no network, pip failure):
    the tests then fail rather than skip, since the 1.0 files come from it."""
    venv = venv_dir()
    if not recreate and _valid(venv):
        return venv_python(venv)
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / (venv.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not recreate and _valid(venv):      # made by another process meanwhile
            return venv_python(venv)
        t0 = time.monotonic()
        if venv.exists():
            shutil.rmtree(venv)
        base = getattr(sys, "_base_executable", None) or sys.executable
        _step([base, "-m", "venv", str(venv)], 300)
        _step([str(venv_python(venv)), "-m", "pip", "install", "--no-input",
               "--progress-bar", "off", PIN], timeout)
        proc = subprocess.run([str(venv_python(venv)), "-E", "-s", "-c", _PROBE],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              env=clean_env(), cwd=str(venv), timeout=120)
        if proc.returncode != 0:
            raise RuntimeError("py-lmdb 3.0 venv probe failed:\n" + proc.stderr[-3000:])
        info = json.loads(proc.stdout.strip().splitlines()[-1])
        if info["version"] != VERSION or not info["file"].startswith(info["prefix"]):
            raise RuntimeError("the py-lmdb 3.0 venv imports %s %s" % (info["file"],
                                                                      info["version"]))
        info.update(pin=PIN, recipe=RECIPE, seconds=round(time.monotonic() - t0, 1))
        (venv / MARKER).write_text(json.dumps(info, indent=1) + "\n")
        return venv_python(venv)


def run_pylmdb3(script, *args, timeout: float = 600, env: dict | None = None,
                check: bool = True) -> subprocess.CompletedProcess:
    """Run a script (or ``-m module``) with the venv's interpreter, isolated
    from our package (``-E -s``); text output captured."""
    py = ensure_pylmdb3_venv()
    head = list(script) if isinstance(script, (list, tuple)) else [str(script)]
    proc = subprocess.run([str(py), "-E", "-s", "-B", *head, *[str(a) for a in args]],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          env=clean_env(env), timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s" % (head, proc.returncode,
                                                   proc.stderr[-4000:]))
    return proc


if __name__ == "__main__":
    print(ensure_pylmdb3_venv(recreate="--recreate" in sys.argv[1:]))

"""Cached virtualenv holding *upstream* zlmdb, for byte-compatibility fixtures.

Upstream zlmdb (PyPI ``zlmdb``) has the same import name as this project, so
it must never be installed into the project's own ``.venv``.  This module
creates (once) a separate virtualenv under ``build/upstream-venv/`` in the
repository and runs helper scripts with that venv's interpreter.

Importable by pytest tests::

    from upstream_env import ensure_upstream_venv, run_upstream
    proc = run_upstream(HERE / "upstream_writer.py", str(tmp_path), timeout=120)

Runnable as a script (creates/validates the venv and prints its python)::

    python tests/compat/upstream_env.py            # create if needed
    python tests/compat/upstream_env.py --recreate # throw away and rebuild

Pin
---
``zlmdb==26.10.1``, the release our ORM is compatible with
(``shared/spec/changes-2026-10.md``).  It ships two LMDB engines (0.9.36
and 1.0.2, through its vendored py-lmdb 3.0.0 CFFI binding) and
``Database(lib_version=None|"0.9"|"1.0")``: new databases are LMDB 1.0,
data format v3, unless ``lib_version="0.9"`` asks for data format v1; an
existing one opens in its own format.  The fixtures write both formats.  Its
``_types.py`` / ``_pmap.py`` (key/value encodings, Map* classes, bugs) are
byte-identical to 26.7.1's, the release pinned before our LMDB layer read
the 1.0 format.

It ships a binary ``cp311 manylinux_2_28_x86_64`` wheel (no compiler needed;
if pip ever falls back to the sdist, gcc and python3-dev are there).  To run
the fixtures against another release set ``ZLMDB_UPSTREAM_PIN=zlmdb==X.Y.Z``
(its venv goes to ``build/upstream-venv-X.Y.Z``); releases before 26.10 have
no ``lib_version`` and fail the writer.

Its dependencies (cffi, cbor2>=6.1, numpy>=1.24, txaio, click, pynacl,
pyyaml, ...) are left to pip to resolve (FlatBuffers is vendored as
``zlmdb.flatbuffers``, there is no PyPI ``flatbuffers`` dependency); the
versions actually installed are written to
``build/upstream-venv/zlmdb-compat.json`` and into every fixture manifest.

Environment knobs
-----------------
``ZLMDB_UPSTREAM_PIN``    another upstream release, e.g. ``zlmdb==26.10.2``.
``ZLMDB_UPSTREAM_VENV``   use another venv directory.
``ZLMDB_UPSTREAM_PYTHON`` base interpreter used to create the venv
                          (default: the interpreter running this module).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_PIN = "zlmdb==26.10.1"
UPSTREAM_PIN = os.environ.get("ZLMDB_UPSTREAM_PIN") or DEFAULT_PIN
if not UPSTREAM_PIN.startswith("zlmdb==") or UPSTREAM_PIN.count("==") != 1:
    raise RuntimeError("ZLMDB_UPSTREAM_PIN must look like zlmdb==X.Y.Z, got %r" % UPSTREAM_PIN)
UPSTREAM_VERSION = UPSTREAM_PIN.split("==", 1)[1]

#: Bump when the creation recipe changes, to force a rebuild of cached venvs.
RECIPE_VERSION = 1

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def venv_for(pin: str) -> Path:
    """The venv directory of a pin: build/upstream-venv for the default,
    build/upstream-venv-X.Y.Z for another release."""
    return REPO / "build" / ("upstream-venv" if pin == DEFAULT_PIN
                             else "upstream-venv-" + pin.split("==", 1)[1])


DEFAULT_VENV = venv_for(UPSTREAM_PIN)
MARKER_NAME = "zlmdb-compat.json"

# Executed inside the upstream venv to prove it is usable and that it really
# imports *upstream* zlmdb from inside the venv (not our package).
_PROBE = r"""
import json, sys, importlib.metadata as md
import zlmdb, cbor2, numpy
from zlmdb import flatbuffers  # upstream vendors the FlatBuffers runtime
print(json.dumps({
    "zlmdb_version": zlmdb.__version__,
    "zlmdb_file": zlmdb.__file__,
    "python": sys.version.split()[0],
    "prefix": sys.prefix,
    "packages": sorted(
        "%s==%s" % (d.metadata["Name"], d.version) for d in md.distributions()
    ),
}))
"""


def _log(msg: str) -> None:
    print("[upstream-env] " + msg, file=sys.stderr, flush=True)


def venv_dir() -> Path:
    return Path(os.environ.get("ZLMDB_UPSTREAM_VENV") or DEFAULT_VENV)


def venv_python(venv: Path | None = None) -> Path:
    venv = venv or venv_dir()
    if os.name == "nt":  # pragma: no cover - not a target, kept for clarity
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def clean_env(extra: dict | None = None) -> dict:
    """Environment for running the upstream interpreter.

    Drops everything that could make the upstream interpreter import *our*
    zlmdb (PYTHONPATH, PYTHONHOME, an active virtualenv) and disables any
    interactive prompt.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP",
                     "PYTHONSAFEPATH", "__PYVENV_LAUNCHER__")
    }
    env.update(PIP_NO_INPUT="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    if extra:
        env.update(extra)
    return env


def _read_marker(venv: Path) -> dict | None:
    try:
        return json.loads((venv / MARKER_NAME).read_text())
    except (OSError, ValueError):
        return None


def _probe(venv: Path, version: str, timeout: float = 120) -> dict:
    proc = subprocess.run(
        [str(venv_python(venv)), "-E", "-s", "-c", _PROBE],
        stdin=subprocess.DEVNULL, capture_output=True, text=True,
        env=clean_env(), cwd=str(venv), timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError("upstream venv probe failed:\n" + proc.stderr[-4000:])
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    zfile = Path(info["zlmdb_file"]).resolve()
    if Path(info["prefix"]).resolve() not in zfile.parents:
        raise RuntimeError("upstream venv imports zlmdb from outside the venv: %s" % zfile)
    if info["zlmdb_version"] != version:
        raise RuntimeError("upstream venv has zlmdb %s, want %s"
                           % (info["zlmdb_version"], version))
    return info


def venv_info() -> dict:
    """The marker written at creation time (versions of everything installed)."""
    info = _read_marker(venv_dir())
    if info is None:
        raise RuntimeError("upstream venv not created yet; call ensure_upstream_venv()")
    return info


def _is_valid(venv: Path, pin: str = UPSTREAM_PIN) -> bool:
    m = _read_marker(venv)
    return bool(
        m
        and m.get("pin") == pin
        and m.get("recipe") == RECIPE_VERSION
        and venv_python(venv).exists()
    )


class _FileLock:
    """Inter-process lock so parallel pytest workers build the venv once."""

    def __init__(self, path: Path):
        self.path = path
        self.fh = None

    def __enter__(self):
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = open(self.path, "w")
        fcntl.flock(self.fh, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        import fcntl

        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()


def _run_step(cmd: list, timeout: float) -> None:
    _log("$ " + " ".join(cmd))
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, env=clean_env(),
                          cwd=str(REPO), timeout=timeout,
                          stdout=sys.stderr, stderr=sys.stderr)
    if proc.returncode != 0:
        raise RuntimeError("command failed (%d): %s" % (proc.returncode, " ".join(cmd)))


def ensure_upstream_venv(recreate: bool = False, timeout: float = 1200,
                         pin: str | None = None) -> Path:
    """Create the upstream venv if missing or invalid; return its python path.

    Reuses ``build/upstream-venv`` when its marker matches the pin and the
    recipe version.  Progress goes to stderr.  Raises RuntimeError on failure
    (tests turn that into a failure, not a skip: the fixtures are the proof).
    ``pin`` asks for another release in its own venv (``venv_for(pin)``), as
    the benchmarks do.
    """
    venv = venv_dir() if pin is None else venv_for(pin)
    pin = pin or UPSTREAM_PIN
    if not recreate and _is_valid(venv, pin):
        return venv_python(venv)
    with _FileLock(venv.parent / (venv.name + ".lock")):
        if not recreate and _is_valid(venv, pin):  # built by someone else meanwhile
            return venv_python(venv)
        t0 = time.monotonic()
        if venv.exists():
            _log("removing stale/invalid venv %s" % venv)
            shutil.rmtree(venv)
        base = os.environ.get("ZLMDB_UPSTREAM_PYTHON") or getattr(
            sys, "_base_executable", None) or sys.executable
        _log("creating venv %s (base interpreter %s)" % (venv, base))
        _run_step([base, "-m", "venv", str(venv)], timeout=300)
        py = str(venv_python(venv))
        _log("installing %s (pip resolves numpy, cbor2, cffi, ...)" % pin)
        _run_step([py, "-m", "pip", "install", "--no-input", "--progress-bar", "off",
                   pin], timeout=timeout)
        _log("probing the new venv")
        info = _probe(venv, pin.split("==", 1)[1])
        info.update(pin=pin, recipe=RECIPE_VERSION,
                    created_seconds=round(time.monotonic() - t0, 1),
                    created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        (venv / MARKER_NAME).write_text(json.dumps(info, indent=1) + "\n")
        _log("upstream venv ready in %.1f s: zlmdb %s" % (time.monotonic() - t0,
                                                       info["zlmdb_version"]))
        return venv_python(venv)


def run_upstream(script_path, *args, timeout: float = 120, check: bool = False,
                 input: str | None = None) -> subprocess.CompletedProcess:
    """Run ``script_path`` with the upstream venv's python (creating it if needed).

    Returns the CompletedProcess with text stdout/stderr.  stdin is /dev/null
    unless ``input`` is given.  ``-E -s`` keep PYTHONPATH and user site-packages
    (and thus our own zlmdb) out, ``-B`` writes no .pyc next to the shared
    helpers; the script's own directory is still on sys.path so sibling
    helper modules import.
    """
    py = ensure_upstream_venv()
    cmd = [str(py), "-E", "-s", "-B", str(script_path), *[str(a) for a in args]]
    kw = dict(capture_output=True, text=True, env=clean_env(), timeout=timeout,
              cwd=str(Path(script_path).resolve().parent))
    if input is None:
        kw["stdin"] = subprocess.DEVNULL
    else:
        kw["input"] = input
    proc = subprocess.run(cmd, **kw)
    if check and proc.returncode != 0:
        raise RuntimeError("upstream script %s failed (%d):\n%s"
                           % (script_path, proc.returncode, proc.stderr[-6000:]))
    return proc


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--recreate", action="store_true", help="rebuild the venv")
    ap.add_argument("--check", action="store_true",
                    help="only report whether a valid venv exists (exit 1 if not)")
    ns = ap.parse_args(argv)
    if ns.check:
        ok = _is_valid(venv_dir())
        print(venv_python() if ok else "missing")
        return 0 if ok else 1
    py = ensure_upstream_venv(recreate=ns.recreate)
    print(py)
    return 0


if __name__ == "__main__":
    sys.exit(main())

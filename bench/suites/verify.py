"""The verify suite: zlmdb.lmdb.verify against py-lmdb 3.0.0's lmdb.verify.

Both systems verify the very same data file with the same call,
``module.verify(path)``: ``module`` is ``zlmdb.lmdb.verify`` (libzlmdb's walk
in C, from the project's .venv) or py-lmdb 3.0.0's pure-Python
``lmdb.verify`` (the ``lmdb`` package the test and bench extras pin).

Two workloads, one per format: ``verify_v09`` on a file written by LMDB
0.9.36 (data format 1) and ``verify_v10`` on one written by LMDB 1.0.2 (data
format 3), both by py-lmdb 3.0.  Each file holds about ``size_mb`` MiB (full
mode 1024, quick 16): a main database of records of 16-byte keys and values
of 50 to 450 bytes, every 200th value 4 to 24 KiB (overflow pages), a dupsort
database, and deletions that leave free pages.  The runner builds
each file once (``preflight``, in ``dbdir``, default build/bench-verify/) and
reuses it while its recipe is unchanged.

One op is one page of the file (mm_last_pg + 1 pages), so ops/s is pages
verified per second and the ratio ours/peer is the speed-up.  Only the
``verify()`` call is timed (cyclic GC off); the child then checks that it
found no problem, so a verifier that fails a sound file shows WRONG.

Standard library only at import time: the py-lmdb child imports this module
in an interpreter isolated from ours (``-E -s``), and the builder runs as
``python verify.py --build``.
"""

import json
import os
import subprocess
import sys

if __name__ == "__main__":      # the builder: harness and datagen live in bench/
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from harness import REPO_DIR, Clock, PythonSystem, Suite, Target, Workload

OURS = "zlmdb.lmdb.verify"
PEER = "py-lmdb-3.0"
FORMATS = {"verify_v09": ("0.9", 0), "verify_v10": ("1.0", 1)}
#: Bump when the file's contents change, so cached files are rebuilt.
RECIPE = 1
DEFAULT_DBDIR = os.path.join(REPO_DIR, "build", "bench-verify")


def _pylmdb3_env():
    sys.path.insert(0, os.path.join(REPO_DIR, "tests", "python"))
    try:
        import pylmdb3_env
    finally:
        sys.path.pop(0)
    return pylmdb3_env


class PyLmdb3System(PythonSystem):
    """py-lmdb 3.0.0, the runner's own (the test and bench extras pin it),
    unless $ZLMDB_BENCH_PYLMDB3_PYTHON names another interpreter."""

    def probe(self):
        if not os.environ.get(self.python_env or ""):
            try:
                _pylmdb3_env().pylmdb3_python()
            except Exception as exc:
                return str(exc)
        return PythonSystem.probe(self)


SYSTEMS = [
    PythonSystem(OURS, OURS, module=OURS, python_env="ZLMDB_BENCH_ZLMDB_PYTHON",
                 description="ours: zlmdb.lmdb.verify.verify(path), the walk in C "
                             "(zlmdb_verify_fd), GIL released"),
    PyLmdb3System(PEER, "py-lmdb 3.0.0", module="lmdb.verify",
                  python_env="ZLMDB_BENCH_PYLMDB3_PYTHON",
                  description="lmdb.verify.verify(path) of py-lmdb 3.0.0 (pure Python)"),
]

WORKLOADS = [
    Workload("verify_v09", "verify, LMDB 0.9 file",
             "verify(path) of a ~size_mb MiB data file written by LMDB 0.9.36 (format 1)"),
    Workload("verify_v10", "verify, LMDB 1.0 file",
             "verify(path) of a ~size_mb MiB data file written by LMDB 1.0.2 (format 3)"),
]

TARGETS = [Target(w, PEER, 10.0, ">=10x py-lmdb 3.0") for w in FORMATS]


def db_path(params, workload):
    tag, _ = FORMATS[workload]
    return os.path.join(str(params.get("dbdir") or DEFAULT_DBDIR),
                        "v%s-%dMiB-seed%d" % (tag, int(params["size_mb"]), int(params["seed"])))


def _marker(path):
    try:
        with open(os.path.join(path, "recipe.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def preflight(system, params):
    """Build the two files once (with py-lmdb 3.0, which writes both
    formats); None, or why the suite cannot run."""
    for workload, (tag, lib) in FORMATS.items():
        path = db_path(params, workload)
        if (_marker(path) or {}).get("recipe") == RECIPE:
            continue
        try:
            py = os.environ.get("ZLMDB_BENCH_PYLMDB3_PYTHON") or \
                _pylmdb3_env().pylmdb3_python()
            subprocess.run([py, "-E", "-s", os.path.abspath(__file__), "--build", path,
                            str(lib), str(params["size_mb"]), str(params["seed"])],
                           check=True, stdin=subprocess.DEVNULL, timeout=3600)
        except Exception as exc:
            return "cannot build the %s file: %s" % (tag, exc)
    return None


SUITE = Suite(
    name="verify",
    title="Offline verifier: zlmdb.lmdb.verify vs py-lmdb 3.0.0's lmdb.verify",
    systems=SYSTEMS,
    workloads=WORKLOADS,
    ours=OURS,
    modes={
        # `records` is only what the report says: the files' contents are
        # set by size_mb and seed.
        "full": {"size_mb": 1024, "repeat": 2, "seed": 42, "timeout": 3600,
                 "records": "about 1.9 million (a 1 GiB file per format)"},
        "quick": {"size_mb": 16, "repeat": 1, "seed": 42,
                  "records": "about 40,000 (a 16 MiB file per format)"},
    },
    targets=TARGETS,
    settings={
        "file": "written by py-lmdb 3.0.0 (LMDB 0.9.36 or 1.0.2), 4 KiB pages: records of "
                "16-byte keys and 50-450 byte values, every 200th value 4-24 KiB "
                "(overflow), a dupsort database (5 values per key, every 10th record), "
                "one record in 16 deleted again in a later transaction (free pages); "
                "written in transactions of 20,000 records until the file holds size_mb MiB",
        "op": "one page of the file (mm_last_pg + 1 pages): ops/s is pages verified per "
              "second, ours/peer the speed-up",
        "timing": "only the verify(path) call (perf_counter), cyclic GC off; the file is in "
                  "the page cache after the first run (best of `repeat`)",
        "check": "after the call: no problem reported (a sound file), else the run fails",
    },
    preflight=preflight,
)


def _verify(module, params, workload):
    path = db_path(params, workload)
    marker = _marker(path)
    if marker is None:
        raise RuntimeError("%s was not built (the runner's preflight builds it)" % path)
    with Clock() as clock:
        problems = module.verify(path)
    assert problems == [], "a sound file failed: %r" % problems[:5]
    return {"ops": marker["pages"], "seconds": clock.seconds,
            "extra": {"file_bytes": marker["file_bytes"], "pages": marker["pages"],
                      "format": FORMATS[workload][0]}}


def verify_v09(module, params):
    return _verify(module, params, "verify_v09")


def verify_v10(module, params):
    return _verify(module, params, "verify_v10")


# ---------------------------------------------------------------- the builder

def build(path, lib, size_mb, seed):
    """Write the file (run in the py-lmdb 3.0 venv) and its recipe.json."""
    import shutil
    import struct

    import datagen
    import lmdb

    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    target = size_mb << 20
    gen = datagen.stream(seed)
    block = b"".join(next(gen).to_bytes(8, "little") for _ in range(4096))   # 32 KiB
    env = lmdb.open(path, map_size=4 * target + (64 << 20), max_dbs=2, lib_version=lib,
                    sync=False)
    dups = env.open_db(b"dups", dupsort=True)
    data = os.path.join(path, "data.mdb")
    i = 0
    while os.path.getsize(data) < target:
        with env.begin(write=True) as txn:
            for _ in range(20000):
                r = next(gen)
                key = struct.pack(">QQ", i, r)
                size = 4096 + r % 20480 if i % 200 == 0 else 50 + r % 400
                off = (r >> 32) % (len(block) - size)
                txn.put(key, block[off:off + size])
                if i % 10 == 0:
                    for j in range(5):
                        txn.put(key, b"dup-%d-%d" % (j, r >> 40), db=dups)
                i += 1
        with env.begin(write=True) as txn:    # one in 16 of the last batch, gone again
            for k in range(i - 20000 + 5, i, 16):
                cur = txn.cursor()
                if cur.set_range(struct.pack(">Q", k)):
                    cur.delete()
    env.sync(True)
    pages = env.info()["last_pgno"] + 1
    env.close()
    with open(os.path.join(path, "recipe.json"), "w") as f:
        json.dump({"recipe": RECIPE, "lib_version": lib, "size_mb": size_mb, "seed": seed,
                   "records": i, "pages": pages, "file_bytes": os.path.getsize(data)}, f)


if __name__ == "__main__":
    if sys.argv[1:2] != ["--build"] or len(sys.argv) != 6:
        raise SystemExit("usage: verify.py --build PATH LIB_VERSION SIZE_MB SEED")
    build(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))

#!/usr/bin/env python3
"""py-lmdb's own test suite against zlmdb.lmdb (``make compat-pylmdb``).

Fetches the pinned py-lmdb sdist (``peers.lock``), extracts its ``tests/``
into ``build/peers/``, and runs each test file in its own pytest process
twice per engine setting: once on py-lmdb itself (the binary wheel of the
same release, in its own virtualenv ``build/peers/pylmdb-venv-<version>/``)
and once on zlmdb.lmdb through the ``shim/`` that makes ``import lmdb``
give ``zlmdb.lmdb``.  A test py-lmdb passes and we do not (fail, error,
crash, timeout, skip, never run) is a regression, unless
``pylmdb-allowlist.txt`` names it with a reason.  The last line is
``compat-pylmdb: N passed, N failed`` (failed = regressions); the exit
status is non-zero on any regression.  See README.md beside this file.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peerlib  # noqa: E402
from peerlib import BUILD, HERE, HarnessError  # noqa: E402

#: engine label -> LMDB_DEFAULT_LIB_VERSION (None: unset), as py-lmdb's CI runs it
ENGINES = {"0.9": None, "1.0": "1"}
PYTEST_INI = """\
# Written by tests/peers/run_pylmdb.py: the settings py-lmdb runs its suite with.
[pytest]
markers =
    mdb_layout: reads LMDB's page layout directly (py-lmdb deselects these)
addopts = -m "not mdb_layout"
"""
RECIPE = 1          # bump when the reference venv or its cache key changes meaning


def extract_tests(sdist: Path, version: str, sha256: str) -> Path:
    """Extract the sdist's ``tests/`` folder to ``build/peers/pylmdb-<version>/tests``."""
    import tarfile

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


def reference_python(version: str) -> str:
    """The interpreter of a virtualenv holding py-lmdb ``version`` (binary
    wheel, its C extension) and the pytest we run with; created once."""
    pytest_version = importlib.metadata.version("pytest")
    venv = BUILD / f"pylmdb-venv-{version}"
    python = venv / "bin" / "python"
    want = f"lmdb=={version} pytest=={pytest_version} recipe={RECIPE}"
    stamp = venv / "peers-stamp"
    if python.exists() and stamp.exists() and stamp.read_text() == want:
        return str(python)
    print(f"peers: creating {venv} ({want})", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", "--only-binary", ":all:",
                           f"lmdb=={version}", f"pytest=={pytest_version}"],
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise HarnessError(f"could not install py-lmdb {version} from a binary wheel into {venv}")
    check = ("import lmdb, sys; "
             f"sys.exit(0 if lmdb.__version__ == {version!r} and "
             "lmdb.Environment.__module__ == 'builtins' else 1)")
    if subprocess.run([str(python), "-c", check]).returncode != 0:
        raise HarnessError(f"{venv}: lmdb is not py-lmdb {version}'s C extension")
    stamp.write_text(want)
    return str(python)


def run_suite(python: str, tests_dir: Path, files: list[str], env: dict[str, str],
              work: Path, timeout: int, who: str) -> list[peerlib.FileResult]:
    results = []
    for name in files:
        print(f"peers: {who}: {name}", file=sys.stderr, flush=True)
        results.append(peerlib.run_file(python, tests_dir, name, env, work / name, timeout))
    return results


def reference_results(python: str, tests_dir: Path, files: list[str], engine: str,
                      key: dict, timeout: int, refresh: bool) -> dict[str, peerlib.FileResult]:
    """py-lmdb on itself, cached in build/ while ``key`` is unchanged."""
    cache = tests_dir.parent / f"reference-{engine}.json"
    cached: dict = {}
    if cache.exists() and not refresh:
        data = json.loads(cache.read_text())
        if data.get("key") == key:
            cached = {r.name: r for r in peerlib.results_from_json(data["results"])}
    todo = [f for f in files if f not in cached]
    if todo:
        env = engine_env(engine, str(HERE))
        work = tests_dir.parent / f"work-reference-{engine}"
        for r in run_suite(python, tests_dir, todo, env, work, timeout, f"py-lmdb {engine}"):
            cached[r.name] = r
        cache.write_text(json.dumps({"key": key, "results": peerlib.results_to_json(
            list(cached.values()))}, indent=1))
    return cached


def engine_env(engine: str, pythonpath: str) -> dict[str, str]:
    extra = {"PYTHONPATH": pythonpath, "PYTHONDONTWRITEBYTECODE": "1"}
    if ENGINES[engine] is not None:
        extra["LMDB_DEFAULT_LIB_VERSION"] = ENGINES[engine]
    return peerlib.clean_env(**extra)


def count(result: peerlib.FileResult, *outcomes: str) -> int:
    return sum(1 for o in result.tests.values() if o.outcome in outcomes)


def report_engine(engine: str, ours: list[peerlib.FileResult],
                  theirs: dict[str, peerlib.FileResult], allowlist: dict[str, str],
                  verbose: bool) -> tuple[int, int, set[str]]:
    """Print the per-file table and the regressions; return (passed,
    regressions, allowlisted ids that did regress)."""
    label = f"LMDB_DEFAULT_LIB_VERSION={ENGINES[engine]}" if ENGINES[engine] else \
        "LMDB_DEFAULT_LIB_VERSION unset"
    print(f"\n== py-lmdb's tests on zlmdb.lmdb, engine {engine} ({label})")
    head = (f"{'file':<22} {'pass':>5} {'fail':>5} {'err':>5} {'crash':>5} {'skip':>5}"
            f" | {'py-lmdb pass':>12} {'skip':>5} | {'regr':>4} {'allowed':>7}")
    print(head)
    print("-" * len(head))
    passed = regressions = 0
    used: set[str] = set()
    detail: list[str] = []
    totals = [0] * 9
    for res in ours:
        peer = theirs.get(res.name)
        verdicts = peerlib.compare(res, peer, allowlist)
        regr = [v for v in verdicts if v.regression]
        allowed = [v for v in verdicts if v.allowed]
        used.update(v.nodeid for v in allowed)
        file_fail = 1 if res.exit_problem else 0
        row = [count(res, peerlib.PASSED),
               count(res, peerlib.FAILED, peerlib.XPASSED),
               count(res, peerlib.ERROR, peerlib.MISSING) + len(res.collect_errors),
               count(res, peerlib.CRASHED, peerlib.TIMEOUT) + file_fail,
               count(res, peerlib.SKIPPED, peerlib.XFAILED),
               count(peer, peerlib.PASSED) if peer else 0,
               count(peer, peerlib.SKIPPED, peerlib.XFAILED) if peer else 0,
               len(regr) + file_fail, len(allowed)]
        totals = [a + b for a, b in zip(totals, row)]
        print(f"{res.name:<22} {row[0]:>5} {row[1]:>5} {row[2]:>5} {row[3]:>5} {row[4]:>5}"
              f" | {row[5]:>12} {row[6]:>5} | {row[7]:>4} {row[8]:>7}")
        passed += sum(1 for v in verdicts if v.theirs is not None and
                      v.theirs.outcome == peerlib.PASSED and v.ours.outcome == peerlib.PASSED)
        regressions += len(regr) + file_fail
        for err in res.collect_errors:
            detail.append(f"  {res.name}: collection error, {len(regr)} tests lost: {err}")
        if res.exit_problem:
            detail.append(f"  {res.name}: {res.exit_problem}")
        for v in regr if not res.collect_errors else ():
            detail.append(f"  {v.nodeid}: {v.ours.outcome}: {v.ours.message}")
        if verbose:
            for v in verdicts:
                if not v.regression and v.ours.outcome not in (peerlib.PASSED,) and v.theirs:
                    detail.append(f"  (not counted) {v.nodeid}: {v.ours.outcome} on us, "
                                  f"{v.theirs.outcome} on py-lmdb: {v.ours.message}")
    print("-" * len(head))
    t = totals
    print(f"{'total':<22} {t[0]:>5} {t[1]:>5} {t[2]:>5} {t[3]:>5} {t[4]:>5}"
          f" | {t[5]:>12} {t[6]:>5} | {t[7]:>4} {t[8]:>7}")
    if detail:
        print(f"regressions on engine {engine}:" if regressions else "notes:")
        print("\n".join(detail))
    return passed, regressions, used


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", help="test files to run (default: every *_test.py)")
    ap.add_argument("--engine", choices=sorted(ENGINES), action="append",
                    help="run only this engine setting (repeatable; default: both)")
    ap.add_argument("--test-timeout", type=int, default=300,
                    help="seconds before a hanging test is ended (default 300)")
    ap.add_argument("--refresh-reference", action="store_true",
                    help="rerun py-lmdb on itself even if its cached results match")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="also list tests that fail on us but not on py-lmdb")
    args = ap.parse_args(argv)

    pins = peerlib.read_lock()
    version, sha256 = pins["pylmdb.version"], pins["pylmdb.sdist_sha256"]
    sdist = peerlib.fetch(f"lmdb=={version}", f"lmdb-{version}.tar.gz", sha256,
                          ["--no-binary", ":all:"])
    tests_dir = extract_tests(sdist, version, sha256)
    files = args.files or sorted(p.name for p in tests_dir.glob("*_test.py"))
    unknown = [f for f in files if not (tests_dir / f).exists()]
    if unknown:
        raise HarnessError(f"no such test file in py-lmdb {version}: {', '.join(unknown)}")
    ref_python = reference_python(version)
    allowlist = peerlib.read_allowlist(HERE / "pylmdb-allowlist.txt")
    ours_path = os.pathsep.join([str(HERE / "shim"), str(HERE)])

    total_passed = total_failed = 0
    used: set[str] = set()
    record = {}
    for engine in args.engine or list(ENGINES):
        key = {"sdist": sha256, "python": peerlib.python_identity(ref_python),
               "pytest": importlib.metadata.version("pytest"), "recipe": RECIPE,
               "timeout": args.test_timeout}
        theirs = reference_results(ref_python, tests_dir, files, engine, key,
                                   args.test_timeout, args.refresh_reference)
        work = tests_dir.parent / f"work-zlmdb-{engine}"
        ours = run_suite(sys.executable, tests_dir, files, engine_env(engine, ours_path),
                         work, args.test_timeout, f"zlmdb {engine}")
        record[engine] = peerlib.results_to_json(ours)
        passed, failed, allowed = report_engine(engine, ours, theirs, allowlist, args.verbose)
        total_passed += passed
        total_failed += failed
        used |= allowed
    (BUILD / "pylmdb-results.json").write_text(json.dumps(record, indent=1))
    stale = sorted(set(allowlist) - used)
    if stale and not args.files and not args.engine:
        print("\nallowlisted but not failing (remove from pylmdb-allowlist.txt):")
        print("\n".join("  " + s for s in stale))
    print(f"\ncompat-pylmdb: {total_passed} passed, {total_failed} failed")
    return 1 if total_failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except HarnessError as exc:
        print(f"compat-pylmdb: {exc}", file=sys.stderr)
        sys.exit(2)

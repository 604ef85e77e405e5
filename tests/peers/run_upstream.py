"""Upstream zlmdb's own ORM test suite, run against our zlmdb (make compat-upstream).

The wheel of the release pinned in peers.lock (``upstream.*`` lines) is
downloaded with pip and checked against its SHA-256; its ``tests/orm`` (and
the ``tests/conftest.py`` above it) are extracted under
``build/peers/upstream-<version>/``.  Nothing of it is committed.

Each test file runs in its own pytest process, once per LMDB format
(``ZLMDB_TEST_LIB_VERSION=0.9`` and ``1.0``, the switch upstream's conftest
reads), with ``QUICK=1`` as upstream's CI runs it:

* on our ``zlmdb``, the package installed in the interpreter running this
  script (``.venv``);
* on upstream itself, in its own virtualenv
  ``build/peers/upstream-venv-<version>/`` (never in ``.venv``: it has our
  import name).  Its results are cached per format in
  ``reference-<format>.json`` (``reference-<format>-stress.json`` with
  ``--stress``) while the wheel, interpreter, pytest and this harness are
  unchanged (``--refresh-reference`` runs it again).

A regression is a test that upstream passes on itself and that fails,
errors, crashes (or dies with its process), times out, is skipped or does
not run on us, unless ``upstream-allowlist.txt`` lists it with a reason.
The output is a table per format, one line per regression, and last
``compat-upstream: N passed, N failed``: the tests upstream passes that pass
on us too, and the regressions.  Exit status 1 on a regression, 2 when the
harness cannot run (download, checksum, virtualenv, a stale allowlist).
"""
import argparse
import fnmatch
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BUILD = ROOT / "build" / "peers"
FORMATS = ("0.9", "1.0")
#: What the test processes need beside zlmdb and pytest: upstream's tests
#: call txaio.use_twisted().  The same pins as the `compat` extra.
SUITE_DEPS = ("txaio==26.6.1", "twisted==26.10.0")
RECIPE = 1      # bump when a change here changes what a reference run means


class HarnessError(RuntimeError):
    """The harness itself cannot go on."""


def sh(cmd, **kw):
    print("compat-upstream: " + " ".join(str(c) for c in cmd), file=sys.stderr, flush=True)
    return subprocess.run([str(c) for c in cmd], stdin=subprocess.DEVNULL, **kw)


def read_lock():
    """The ``upstream.*`` pins of peers.lock (``name = value`` lines)."""
    pins = {}
    for line in (HERE / "peers.lock").read_text().splitlines():
        name, sep, value = line.split("#", 1)[0].partition("=")
        if sep and name.strip().startswith("upstream."):
            pins[name.strip()[len("upstream."):]] = value.strip()
    missing = {"version", "wheel", "wheel_sha256"} - set(pins)
    if missing:
        raise HarnessError("peers.lock lacks upstream.%s" % ", upstream.".join(sorted(missing)))
    return pins


def sha256_of(path):
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def fetch_wheel(pins):
    cache = BUILD / "cache"
    wheel = cache / pins["wheel"]
    if wheel.exists() and sha256_of(wheel) == pins["wheel_sha256"]:
        return wheel
    tmp = cache / "download-upstream"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    done = sh([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary",
               ":all:", "-d", tmp, "zlmdb==" + pins["version"]])
    got = tmp / pins["wheel"]
    if done.returncode != 0 or not got.exists():
        raise HarnessError("could not download %s with pip (got %s); this harness pins the "
                           "wheel for this platform in peers.lock, or put the file into %s"
                           % (pins["wheel"], sorted(p.name for p in tmp.iterdir()), cache))
    actual = sha256_of(got)
    if actual != pins["wheel_sha256"]:
        got.unlink()
        raise HarnessError("%s: SHA-256 %s is not the pinned %s; review the release before "
                           "changing tests/peers/peers.lock" % (got.name, actual,
                                                                pins["wheel_sha256"]))
    got.replace(wheel)
    shutil.rmtree(tmp, ignore_errors=True)
    return wheel


def extract_suite(wheel, workdir):
    """tests/orm and tests/conftest.py of the wheel, into workdir/tests."""
    tests = workdir / "tests"
    stamp = workdir / "extracted.sha256"
    digest = sha256_of(wheel)
    if stamp.exists() and stamp.read_text() == digest and (tests / "orm").is_dir():
        return tests
    shutil.rmtree(tests, ignore_errors=True)
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            if name.endswith("/"):
                continue
            if name.startswith("zlmdb/tests/orm/") or name == "zlmdb/tests/conftest.py":
                target = tests / name[len("zlmdb/tests/"):]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(z.read(name))
    # Run file by file, test_select.py would not find _schema_mnode_log: in a
    # whole-suite run other files put orm/ on sys.path first.
    (tests / "pytest.ini").write_text("[pytest]\npythonpath = orm\n")
    stamp.write_text(digest)
    return tests


def upstream_venv(wheel, version):
    """Upstream in its own virtualenv, with our pytest; its python."""
    venv = BUILD / ("upstream-venv-" + version)
    py = venv / "bin" / "python"
    import pytest
    want = {"wheel": sha256_of(wheel), "pytest": pytest.__version__, "deps": list(SUITE_DEPS)}
    marker = venv / "zlmdb-compat.json"
    if py.exists() and marker.exists() and json.loads(marker.read_text()) == want:
        return py
    shutil.rmtree(venv, ignore_errors=True)
    if sh([sys.executable, "-m", "venv", venv]).returncode != 0 or sh(
            [py, "-m", "pip", "install", "-q", wheel, "pytest==" + pytest.__version__,
             *SUITE_DEPS]).returncode != 0:
        raise HarnessError("could not create %s" % venv)
    probe = sh([py, "-c", "import zlmdb, os; print(zlmdb.__version__, "
                "os.path.dirname(zlmdb.__file__))"], capture_output=True, text=True)
    got = probe.stdout.split()
    if probe.returncode or got[:1] != [version] or not got[1].startswith(str(venv)):
        raise HarnessError("%s does not import upstream zlmdb %s: %s%s"
                           % (venv, version, probe.stdout, probe.stderr))
    marker.write_text(json.dumps(want))
    return py


def check_ours():
    """This interpreter must import our zlmdb, with what the suite needs."""
    try:
        import zlmdb
        import txaio  # noqa: F401
        import twisted  # noqa: F401
    except ImportError as exc:
        raise HarnessError("%s; install the test extras: pip install -e '.[test,compat]'" % exc)
    if not hasattr(zlmdb, "_native"):
        raise HarnessError("%s is not our zlmdb (it has no zlmdb._native)" % zlmdb.__file__)


# ------------------------------------------------------------------- running

def run_file(py, tests, name, fmt, logdir, timeout, stress):
    """{nodeid: [outcome, message]} of one file in one process."""
    logdir.mkdir(parents=True, exist_ok=True)
    out = logdir / (name + ".jsonl")
    log = logdir / (name + ".log")
    out.unlink(missing_ok=True)
    env = dict(os.environ, QUICK="1", ZLMDB_TEST_LIB_VERSION=fmt, UPSTREAM_OUTCOMES=str(out),
               PYTHONPATH=str(HERE), PYTHONDONTWRITEBYTECODE="1")
    env.pop("ZLMDB_RUN_MULTIWRITER_STRESS", None)
    if stress:
        env["ZLMDB_RUN_MULTIWRITER_STRESS"] = "1"
    cmd = [str(py), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "upstream_outcomes",
           "orm/" + name]
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, cwd=tests, env=env, stdout=f, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            rc = None
    results, running, collect_errors = {}, None, False
    for line in out.read_text().splitlines() if out.exists() else []:
        try:
            ev = json.loads(line)
        except ValueError:
            continue            # cut short by a crash
        if ev["ev"] == "start":
            running = ev["id"]
        elif ev["ev"] == "done":
            results[ev["id"]] = [ev["outcome"], ev["msg"]]
            running = None
        elif ev["ev"] == "collecterror":
            results[ev["id"] or name] = ["error", "collection: " + ev["msg"]]
            collect_errors = True
    if running is not None:
        results[running] = ["timeout" if rc is None else "crashed",
                            "the process %s during this test (see %s)"
                            % ("ran out of time" if rc is None else "died (status %s)" % rc, log)]
    elif rc not in (0, 1, 5) and not (rc == 2 and collect_errors):   # 2: interrupted
        results.setdefault(name + "::<process>", ["crashed", "exit status %s (see %s)"
                                                  % (rc, log)])
    return results


def run_suite(py, tests, files, fmt, logdir, args):
    res = {}
    for name in files:
        t0 = time.monotonic()
        res[name] = run_file(py, tests, name, fmt, logdir, args.timeout, args.stress)
        print("compat-upstream: %s %s on %s: %d tests, %.0f s"
              % (logdir.parent.name, fmt, name, len(res[name]), time.monotonic() - t0),
              file=sys.stderr, flush=True)
    return res


def reference(py, tests, files, fmt, workdir, args):
    """Upstream's own results, cached while nothing they depend on changes."""
    import pytest
    recipe = {"recipe": RECIPE, "wheel": (workdir / "extracted.sha256").read_text(),
              "python": sys.version, "pytest": pytest.__version__, "stress": args.stress}
    cache = workdir / ("reference-%s%s.json" % (fmt, "-stress" if args.stress else ""))
    known = {}
    if cache.exists() and not args.refresh_reference:
        data = json.loads(cache.read_text())
        if data["recipe"] == recipe:
            known = data["files"]
    todo = [f for f in files if f not in known]
    if todo:
        known.update(run_suite(py, tests, todo, fmt, workdir / "upstream" / fmt, args))
        cache.write_text(json.dumps({"recipe": recipe, "files": known}, indent=1))
    return {f: known[f] for f in files}


# ----------------------------------------------------------------- comparing

def read_allowlist():
    """[(pattern, reason)]: test ids (fnmatch patterns) with a reason each."""
    entries = []
    for n, line in enumerate((HERE / "upstream-allowlist.txt").read_text().splitlines(), 1):
        pattern, _, reason = line.partition("#")
        pattern, reason = pattern.strip(), reason.strip()
        if not pattern and not reason:
            continue
        if pattern and not reason:
            raise HarnessError("upstream-allowlist.txt:%d: %s has no reason" % (n, pattern))
        if pattern:
            entries.append((pattern, reason))
    return entries


def compare(ours, ref, allow, used):
    """Per file: counts, regressions [(id, outcome, msg)], allowed ids."""
    rows = {}
    for name in ref:
        mine, theirs = ours.get(name, {}), ref[name]
        count = {k: 0 for k in ("passed", "failed", "error", "crashed", "timeout", "skipped")}
        for outcome, _msg in mine.values():
            count[outcome] = count.get(outcome, 0) + 1
        regressions, allowed, kept = [], [], 0
        for test, (outcome, _m) in sorted(theirs.items()):
            if outcome != "passed":
                continue
            got, msg = mine.get(test, ["not run", "no outcome on us"])
            if got == "passed":
                kept += 1
                continue
            hit = [p for p, _r in allow if fnmatch.fnmatchcase(test, p)]
            if hit:
                used.update(hit)
                allowed.append(test)
            else:
                regressions.append((test, got, msg))
        up = [o for o, _m in theirs.values()]
        rows[name] = dict(count, up_passed=up.count("passed"), up_skipped=up.count("skipped"),
                          kept=kept, regressions=regressions, allowed=allowed)
    return rows


def report(fmt, rows):
    print("\nupstream zlmdb's tests/orm, ZLMDB_TEST_LIB_VERSION=%s, QUICK=1" % fmt)
    head = "%-28s %6s %6s %6s %6s %6s | %8s %8s | %6s %7s"
    line = "%-28s %6d %6d %6d %6d %6d | %8d %8d | %6d %7d"
    print(head % ("file", "pass", "fail", "error", "crash", "skip", "upstream", "up. skip",
                  "regr.", "allowed"))
    total = [0] * 9
    for name, r in rows.items():
        vals = [r["passed"], r["failed"], r["error"], r["crashed"] + r["timeout"],
                r["skipped"], r["up_passed"], r["up_skipped"], len(r["regressions"]),
                len(r["allowed"])]
        total = [t + v for t, v in zip(total, vals)]
        print(line % tuple([name] + vals))
    print(line % tuple(["total"] + total))
    for name, r in rows.items():
        for test, got, msg in r["regressions"]:
            print("REGRESSION %s [%s]: %s: %s" % (fmt, got, test, msg))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", help="test files (default: every orm/test_*.py)")
    ap.add_argument("--format", choices=FORMATS, action="append",
                    help="LMDB format (default: both)")
    ap.add_argument("--timeout", type=float, default=3600,
                    help="seconds one file may run (default 3600)")
    ap.add_argument("--refresh-reference", action="store_true",
                    help="run upstream on itself again instead of using the cache")
    ap.add_argument("--stress", action="store_true",
                    help="also run test_multiwriter_stress (ZLMDB_RUN_MULTIWRITER_STRESS=1)")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="also list tests that fail on us that upstream does not pass")
    args = ap.parse_args(argv)
    try:
        pins = read_lock()
        allow = read_allowlist()
        check_ours()
        wheel = fetch_wheel(pins)
        workdir = BUILD / ("upstream-" + pins["version"])
        tests = extract_suite(wheel, workdir)
        up_py = upstream_venv(wheel, pins["version"])
    except HarnessError as exc:
        print("compat-upstream: error: %s" % exc, file=sys.stderr)
        return 2
    every = sorted(p.name for p in (tests / "orm").glob("test_*.py"))
    files = [os.path.basename(f) for f in args.files] or every
    unknown = sorted(set(files) - set(every))
    if unknown:
        print("compat-upstream: error: no such file in the suite: %s" % " ".join(unknown),
              file=sys.stderr)
        return 2
    passed = failed = 0
    used = set()
    for fmt in args.format or FORMATS:
        ref = reference(up_py, tests, files, fmt, workdir, args)
        ours = run_suite(sys.executable, tests, files, fmt, workdir / "ours" / fmt, args)
        rows = compare(ours, ref, allow, used)
        report(fmt, rows)
        if args.verbose:
            for name in files:
                for test, (got, msg) in sorted(ours[name].items()):
                    if got != "passed" and ref[name].get(test, [""])[0] != "passed":
                        print("not a regression %s [%s, upstream %s]: %s: %s"
                              % (fmt, got, ref[name].get(test, ["absent"])[0], test, msg))
        passed += sum(r["kept"] for r in rows.values())
        failed += sum(len(r["regressions"]) for r in rows.values())
    stale = [p for p, _r in allow if p not in used]
    if stale and not args.files and not args.format:
        print("compat-upstream: error: allowlist entries that match no failing test: %s"
              % " ".join(stale), file=sys.stderr)
        return 2
    print("compat-upstream: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

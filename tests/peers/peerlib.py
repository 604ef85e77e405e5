"""Shared machinery for running a peer's own test suite against zlmdb.

Standard library only.  ``run_pylmdb.py`` and ``run_upstream.py`` are thin
drivers: each describes its peer in a ``Harness`` subclass (where the tests
come from, the settings they run under, the environment of a test process)
and hands it to ``main()``.  The pieces:

* ``read_lock()``/``pins()`` parse ``peers.lock`` (``name = value`` lines);
* ``fetch()`` downloads one pinned archive with pip, checks its SHA-256 and
  caches it under ``build/peers/``; ``make_venv()`` builds the peer's own
  virtualenv for measuring it on itself;
* ``run_file()`` runs one test file in its own pytest process with the
  ``peers_outcomes`` plugin, and reruns it without a test that killed the
  process, so that every other test of the file still gets an outcome;
* ``reference()`` gives what the peer passes on itself: a cache under
  ``build/peers/reference/``, else the snapshot committed in
  ``tests/peers/reference/``, else a measurement;
* ``compare()`` classifies every test against the peer's own result, and
  ``report()`` prints one setting's table and regressions.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BUILD = ROOT / "build" / "peers"
SNAPSHOTS = HERE / "reference"

#: Outcomes the plugin reports, plus the two the runner infers.
PASSED, FAILED, ERROR, SKIPPED = "passed", "failed", "error", "skipped"
CRASHED, TIMEOUT, MISSING = "crashed", "timeout", "missing"
XFAILED, XPASSED = "xfailed", "xpassed"


class HarnessError(RuntimeError):
    """The harness itself cannot go on (download, checksum, venv, lists)."""


def read_lock(path: Path | None = None) -> dict[str, str]:
    """Return the ``name = value`` pairs of the lock file."""
    path = HERE / "peers.lock" if path is None else path
    found: dict[str, str] = {}
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, value = line.partition("=")
        if not sep:
            raise HarnessError(f"{path}:{lineno}: expected 'name = value', got {line!r}")
        found[name.strip()] = value.strip()
    return found


def pins(prefix: str, *names: str, path: Path | None = None) -> dict[str, str]:
    """The ``<prefix>.<name>`` pins of the lock, by ``name``; every one of
    ``names`` must be there."""
    lock = read_lock(path)
    got = {k[len(prefix) + 1:]: v for k, v in lock.items() if k.startswith(prefix + ".")}
    missing = [f"{prefix}.{n}" for n in names if n not in got]
    if missing:
        raise HarnessError(f"peers.lock lacks {', '.join(missing)}")
    return got


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(requirement: str, filename: str, sha256: str, pip_args: list[str]) -> Path:
    """Return the cached archive ``filename``, downloading it with pip first.

    ``pip download --no-deps <pip_args> <requirement>`` fetches it; a file
    whose SHA-256 is not ``sha256`` is deleted and refused.
    """
    cache = BUILD / "cache"
    target = cache / filename
    if target.exists() and sha256_of(target) == sha256:
        return target
    tmp = cache / "download"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", *pip_args,
           "-d", str(tmp), requirement]
    print("peers: " + " ".join(cmd[2:]), file=sys.stderr, flush=True)
    done = subprocess.run(cmd, stdin=subprocess.DEVNULL)
    got = tmp / filename
    if done.returncode != 0 or not got.exists():
        raise HarnessError(
            f"could not download {filename} with pip (exit {done.returncode}, got "
            f"{sorted(p.name for p in tmp.iterdir()) or 'nothing'}); check the network, "
            f"the pin in tests/peers/peers.lock, or put the file into {cache} by hand")
    actual = sha256_of(got)
    if actual != sha256:
        got.unlink()
        raise HarnessError(
            f"{filename}: SHA-256 {actual} is not the pinned {sha256}; "
            "the archive changed upstream or the download is damaged. Review it "
            "before updating tests/peers/peers.lock")
    got.replace(target)
    shutil.rmtree(tmp, ignore_errors=True)
    return target


def make_venv(venv: Path, install: list[str], check: str, key: str = "") -> str:
    """The interpreter of virtualenv ``venv`` with ``pip install <install>``
    done, created once while ``install`` and ``key`` are unchanged.
    ``check`` is Python code run there that exits non-zero, printing why,
    when the venv does not hold what it should."""
    python = venv / "bin" / "python"
    stamp = venv / "peers-stamp"
    want = json.dumps({"install": install, "key": key})
    if python.exists() and stamp.exists() and stamp.read_text() == want:
        return str(python)
    print(f"peers: creating {venv}: pip install {' '.join(install)}", file=sys.stderr,
          flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", *install],
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise HarnessError(f"could not pip install {' '.join(install)} into {venv}")
    probe = subprocess.run([str(python), "-c", check], capture_output=True, text=True)
    if probe.returncode != 0:
        raise HarnessError(f"{venv}: {(probe.stdout + probe.stderr).strip()}")
    stamp.write_text(want)
    return str(python)


# ------------------------------------------------------------------ running

@dataclasses.dataclass
class Outcome:
    outcome: str
    message: str = ""


@dataclasses.dataclass
class FileResult:
    """Every test of one file: nodeid -> Outcome, plus file-level trouble."""
    name: str
    tests: dict[str, Outcome] = dataclasses.field(default_factory=dict)
    collect_errors: list[str] = dataclasses.field(default_factory=list)
    exit_problem: str = ""      #: the process died after its last test
    runs: int = 0
    seconds: float = 0.0


def _read_events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    events = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            pass                # a line cut short by a crash
    return events


def _crash_summary(returncode: int, log_path: Path) -> str:
    """How the process ended, and the innermost frame faulthandler printed
    (the line the test was on when it died)."""
    try:
        how = "killed by " + signal.Signals(-returncode).name
    except ValueError:
        how = f"ended with status {returncode}"
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    frames = [line.strip() for line in lines if line.strip().startswith('File "')]
    return f"{how} in {frames[0]}" if frames else how


def _tail(path: Path, lines: int = 6) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


@dataclasses.dataclass
class _Progress:
    """What one pytest process reported so far."""
    collected: list[str] = dataclasses.field(default_factory=list)
    collect_errors: list[str] = dataclasses.field(default_factory=list)
    done: dict[str, Outcome] = dataclasses.field(default_factory=dict)
    running: str | None = None


def _progress(events_path: Path) -> _Progress:
    """Fold a process's events.  Only the pytest process itself counts: a
    test that forks and does not end its child leaves that child running
    the rest of the file, reporting into the same file."""
    progress = _Progress()
    main_pid = None
    for ev in _read_events(events_path):
        main_pid = ev.get("pid") if main_pid is None else main_pid
        if ev.get("pid") != main_pid:
            continue
        kind = ev.get("ev")
        if kind == "collected":
            progress.collected = ev["ids"]
        elif kind == "collecterror":
            progress.collect_errors.append(f"{ev['id']}: {ev['msg']}")
        elif kind == "start":
            progress.running = ev["id"]
        elif kind == "done":
            progress.done[ev["id"]] = Outcome(ev["outcome"], ev.get("msg", ""))
            progress.running = None
    return progress


def _wait_watching(proc: subprocess.Popen, events_path: Path, test_timeout: int) -> bool:
    """Wait for ``proc``; end it when one test runs longer than
    ``test_timeout`` seconds, after asking it for its threads' stacks
    (SIGUSR1, see peers_outcomes).  Returns True if it was ended so."""
    current, since = None, time.monotonic()
    while True:
        try:
            proc.wait(timeout=1)
            return False
        except subprocess.TimeoutExpired:
            pass
        running = _progress(events_path).running
        if running != current:
            current, since = running, time.monotonic()
        elif running is not None and time.monotonic() - since > test_timeout:
            if _progress(events_path).running != running:
                continue            # it finished meanwhile: keep waiting
            proc.send_signal(signal.SIGUSR1)
            time.sleep(1)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return True


def run_file(python: str, tests_dir: Path, name: str, env: dict[str, str],
             work: Path, test_timeout: int, max_crashes: int = 25,
             pytest_args: tuple[str, ...] = ()) -> FileResult:
    """Run ``tests_dir/name`` (``name`` may have a folder) in pytest
    processes of ``python`` until every collected test has an outcome; a
    test that kills its process is recorded as crashed (or timeout) and
    deselected for the next run."""
    result = FileResult(name)
    work.mkdir(parents=True, exist_ok=True)
    stem = Path(name).name
    deselect: list[str] = []
    started = time.monotonic()
    while True:
        result.runs += 1
        events_path = work / f"{stem}.{result.runs}.events"
        log_path = work / f"{stem}.{result.runs}.log"
        fault_path = work / f"{stem}.{result.runs}.fault"
        for p in (events_path, fault_path):
            p.unlink(missing_ok=True)
        deselect_path = work / f"{stem}.deselect"
        deselect_path.write_text("".join(d + "\n" for d in deselect))
        run_env = dict(env, PEERS_OUTCOMES=str(events_path), PEERS_FAULT=str(fault_path),
                       PEERS_DESELECT=str(deselect_path))
        cmd = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "peers_outcomes",
               "-c", str(tests_dir / "pytest.ini"), "--rootdir", str(tests_dir),
               *pytest_args, str(tests_dir / name)]
        with open(log_path, "wb") as log:
            # A session of its own, so that children a test left behind
            # (forked without exiting) end with the run.
            proc = subprocess.Popen(cmd, cwd=tests_dir, env=run_env, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            timed_out = _wait_watching(proc, events_path, test_timeout)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        progress = _progress(events_path)
        collected, running = progress.collected, progress.running
        result.collect_errors += progress.collect_errors
        result.tests.update(progress.done)
        if running is not None:
            if timed_out:
                result.tests[running] = Outcome(
                    TIMEOUT, f"still running after {test_timeout} s")
            else:
                result.tests[running] = Outcome(CRASHED, _crash_summary(proc.returncode, log_path))
            deselect.append(running)
            if len(deselect) < max_crashes:
                continue
        elif not collected and not result.collect_errors and proc.returncode not in (0, 5):
            result.collect_errors.append(
                f"pytest ended with status {proc.returncode} before collecting: "
                f"{_tail(log_path)}")
        elif not result.collect_errors and proc.returncode not in (0, 1, 5):
            result.exit_problem = (f"process ended with status {proc.returncode} after "
                                   f"its tests: {_tail(log_path)}")
        for nodeid in collected:
            result.tests.setdefault(nodeid, Outcome(MISSING, "never ran"))
        break
    result.seconds = time.monotonic() - started
    return result


def run_suite(python: str, tests_dir: Path, files: list[str], env: dict[str, str],
              work: Path, test_timeout: int, who: str) -> list[FileResult]:
    """``run_file`` for each of ``files``, telling on stderr how each went."""
    results = []
    for name in files:
        res = run_file(python, tests_dir, name, env, work / Path(name).name, test_timeout)
        print(f"peers: {who}: {name}: {len(res.tests)} tests, {res.seconds:.0f} s",
              file=sys.stderr, flush=True)
        results.append(res)
    return results


def results_to_json(results: list[FileResult]) -> list[dict]:
    return [dataclasses.asdict(r) for r in results]


def results_from_json(data: list[dict]) -> list[FileResult]:
    out = []
    for d in data:
        tests = {k: Outcome(**v) for k, v in d.pop("tests").items()}
        out.append(FileResult(tests=tests, **d))
    return out


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a test process: ours minus anything that would
    change which modules load or which settings the tests run under, plus
    ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV",
                        "PYTEST_ADDOPTS", "LMDB_DEFAULT_LIB_VERSION", "ZLMDB_TEST_LIB_VERSION",
                        "QUICK", "ZLMDB_RUN_MULTIWRITER_STRESS")}
    env.update(extra)
    return env


# ------------------------------------------------------- the peer on itself

def identity(python: str = sys.executable) -> dict[str, str]:
    """The interpreter ``python`` as a reference records it."""
    code = ("import json, platform, sysconfig; print(json.dumps({"
            "'implementation': platform.python_implementation(), "
            "'python': platform.python_version(), 'platform': sysconfig.get_platform()}))")
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def _describe(rec: dict) -> str:
    return f"{rec['implementation']} {rec['python']}, {rec['platform']}"


_RECORD_KEYS = ("sha256", "recipe", "implementation", "python", "platform", "recorded", "files")


def _load(path: Path) -> dict | None:
    """A reference the harness wrote, or None if there is none; one that
    cannot be read raises HarnessError."""
    if not path.exists():
        return None
    try:
        rec = json.loads(path.read_text())
        if not isinstance(rec, dict) or any(k not in rec for k in _RECORD_KEYS):
            raise ValueError(f"it lacks {', '.join(k for k in _RECORD_KEYS if k not in rec)}")
        if not all(isinstance(tests, dict) and all(isinstance(o, str) for o in tests.values())
                   for tests in rec["files"].values()):
            raise ValueError("'files' is not file -> test id -> outcome")
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise HarnessError(f"{path} is not a reference this harness wrote ({exc}); "
                           "restore it with git, or delete it and run with "
                           "--refresh-reference") from None
    return rec


def _load_or_none(path: Path) -> dict | None:
    try:
        return _load(path)
    except HarnessError:
        return None


def _save(path: Path, head: dict, files: dict[str, dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    files = {f: dict(sorted(tests.items())) for f, tests in sorted(files.items())}
    path.write_text(json.dumps(dict(head, files=files), indent=1) + "\n")


#: Measures the given files on the peer: (the peer interpreter's
#: identity, its results).
Measure = Callable[[list[str]], "tuple[dict[str, str], list[FileResult]]"]


def reference(name: str, head: dict, files: list[str], measure: Measure, refresh: bool,
              snapshots: Path | None = None, cache: Path | None = None
              ) -> tuple[dict[str, FileResult], list[str]]:
    """What the peer passes on itself, per file, and the lines that say
    where that came from.

    ``head`` names the peer: ``sha256`` (its pin), ``recipe`` (how the
    harness runs it), and anything else worth recording (peer, version,
    setting).  Each file's results come, in this order, from the cache
    ``cache/<name>.json`` when it matches the pin and this interpreter and
    pytest; from the committed snapshot ``snapshots/<name>.json`` when it
    matches the pin; else from ``measure``.  With ``refresh`` every file is
    measured and both the cache and the snapshot are rewritten."""
    snapshots = SNAPSHOTS if snapshots is None else snapshots
    cache = BUILD / "reference" if cache is None else cache
    here = identity()
    pytest_version = importlib.metadata.version("pytest")

    def pinned(rec: dict | None) -> bool:
        return bool(rec) and all(rec.get(k) == head[k] for k in ("sha256", "recipe"))

    cache_path, snap_path = cache / f"{name}.json", snapshots / f"{name}.json"
    # A damaged cache is measured again; a damaged snapshot stops the run
    # unless it is about to be rewritten.
    cached = _load_or_none(cache_path)
    snap = _load_or_none(snap_path) if refresh else _load(snap_path)
    if not (pinned(cached) and all(cached.get(k) == v for k, v in here.items())
            and cached.get("pytest") == pytest_version):
        cached = None
    snap_ok = pinned(snap)
    got: dict[str, FileResult] = {}
    used: dict[str, list[str]] = {"cache": [], "snapshot": [], "measured": []}
    for source, rec in (("cache", cached), ("snapshot", snap if snap_ok else None)):
        for f in files:
            if rec and not refresh and f not in got and f in rec["files"]:
                got[f] = FileResult(f, {t: Outcome(o) for t, o in rec["files"][f].items()})
                used[source].append(f)
    todo = [f for f in files if f not in got]
    if todo:
        peer, measured = measure(todo)
        fresh = {r.name: {t: o.outcome for t, o in r.tests.items()} for r in measured}
        for r in measured:
            got[r.name] = FileResult(r.name, {t: Outcome(o.outcome) for t, o in r.tests.items()})
        used["measured"] = todo
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        record = dict(head, **peer, pytest=pytest_version, recorded=now)
        _save(cache_path, record, dict(cached["files"] if cached else {}, **fresh))
        if refresh:
            same = snap_ok and all(snap.get(k) == v for k, v in peer.items())
            _save(snap_path, record, dict(snap["files"] if same else {}, **fresh))
    return {f: got[f] for f in files}, _provenance(used, snap_path, snap, snap_ok, here,
                                                   refresh)


def _provenance(used: dict[str, list[str]], snap_path: Path, snap: dict | None,
                snap_ok: bool, here: dict[str, str], refresh: bool) -> list[str]:
    try:
        shown = snap_path.relative_to(ROOT)
    except ValueError:
        shown = snap_path
    n = {k: f"{len(v)} file{'s' if len(v) != 1 else ''}" for k, v in used.items()}
    parts = []
    if used["cache"]:
        parts.append(f"measured here before ({n['cache']}, build/peers/reference/)")
    if used["snapshot"]:
        parts.append(f"the snapshot {shown} ({n['snapshot']}, recorded "
                     f"{snap['recorded']} on {_describe(snap)})")
    if used["measured"]:
        parts.append(f"measured now ({n['measured']}"
                     + (f", recorded in {shown})" if refresh else ")"))
    lines = ["reference: " + "; ".join(parts)]
    if used["snapshot"] and any(snap.get(k) != v for k, v in here.items()):
        lines.append(f"note: the snapshot was recorded on {_describe(snap)}, this is "
                     f"{_describe(here)}; --refresh-reference measures the peer here")
    elif used["measured"] and not refresh and snap is not None and not snap_ok:
        lines.append(f"note: the snapshot {shown} is for another pin or recipe; "
                     "--refresh-reference records a new one")
    return lines


# ---------------------------------------------------------------- comparing

@dataclasses.dataclass
class Verdict:
    """One test, as the comparison sees it."""
    nodeid: str
    ours: Outcome
    theirs: Outcome | None
    regression: bool
    allowed: str = ""           #: the allowlist's reason
    allowed_by: str = ""        #: the allowlist entry that matched


def allow_entry(allowlist: dict[str, str], nodeid: str) -> str:
    """The allowlist entry that covers ``nodeid``, or ''.  An entry is a
    test id in which ``*`` stands for any characters; nothing else is
    special (parametrized ids have brackets)."""
    if nodeid in allowlist:
        return nodeid
    return next((p for p in allowlist if "*" in p and re.fullmatch(
        ".*".join(map(re.escape, p.split("*"))), nodeid)), "")


def compare(ours: FileResult, theirs: FileResult | None,
            allowlist: dict[str, str]) -> list[Verdict]:
    """Every test of either side.  A regression: the peer passes a test that
    on us fails, errors, crashes, times out, is skipped or never runs."""
    ids = list(ours.tests)
    if theirs is not None:
        ids += [t for t in theirs.tests if t not in ours.tests]
    verdicts = []
    for nodeid in ids:
        mine = ours.tests.get(nodeid, Outcome(MISSING, "not collected"))
        if nodeid not in ours.tests and ours.collect_errors:
            mine = Outcome(ERROR, "collection failed: " + ours.collect_errors[0])
        peer = theirs.tests.get(nodeid) if theirs is not None else None
        regression = (peer is not None and peer.outcome == PASSED and mine.outcome != PASSED)
        entry = allow_entry(allowlist, nodeid) if regression else ""
        verdicts.append(Verdict(nodeid, mine, peer, regression and not entry,
                                allowlist.get(entry, ""), entry))
    return verdicts


def read_allowlist(path: Path) -> dict[str, str]:
    """``TEST_ID  reason`` per line (``*`` in the id matches any
    characters); a line without a reason is refused."""
    allowed: dict[str, str] = {}
    if not path.exists():
        return allowed
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        nodeid, *reason = line.split(None, 1)
        if not reason:
            raise HarnessError(f"{path.name}:{lineno}: {nodeid} has no reason; "
                               "write 'TEST_ID  why it cannot pass'")
        allowed[nodeid] = reason[0].strip()
    return allowed


def count(result: FileResult | None, *outcomes: str) -> int:
    return sum(1 for o in result.tests.values() if o.outcome in outcomes) if result else 0


def report(heading: str, notes: list[str], peer_title: str, ours: list[FileResult],
           theirs: dict[str, FileResult], allowlist: dict[str, str],
           verbose: bool) -> tuple[int, int, set[str]]:
    """Print one setting's heading, ``notes``, per-file table and
    regressions; return (passed, regressions, allowlist entries that were
    needed)."""
    print(f"\n== {heading}")
    print("\n".join(notes))
    width = max([22] + [len(r.name) for r in ours])
    peer_col = f"{peer_title} pass"
    cols = f"{{:<{width}}} {{:>5}} {{:>5}} {{:>5}} {{:>5}} {{:>5}} | {{:>{len(peer_col)}}} " \
           "{:>5} | {:>4} {:>7}"
    head = cols.format("file", "pass", "fail", "err", "crash", "skip", peer_col, "skip",
                       "regr", "allowed")
    print(head)
    print("-" * len(head))
    passed = regressions = 0
    used: set[str] = set()
    detail: list[str] = []
    totals = [0] * 9
    for res in ours:
        peer = theirs.get(res.name)
        verdicts = compare(res, peer, allowlist)
        regr = [v for v in verdicts if v.regression]
        allowed = [v for v in verdicts if v.allowed_by]
        used.update(v.allowed_by for v in allowed)
        file_fail = 1 if res.exit_problem else 0
        row = [count(res, PASSED), count(res, FAILED, XPASSED),
               count(res, ERROR, MISSING) + len(res.collect_errors),
               count(res, CRASHED, TIMEOUT) + file_fail, count(res, SKIPPED, XFAILED),
               count(peer, PASSED), count(peer, SKIPPED, XFAILED),
               len(regr) + file_fail, len(allowed)]
        totals = [a + b for a, b in zip(totals, row)]
        print(cols.format(res.name, *row))
        passed += sum(1 for v in verdicts if v.theirs is not None and
                      v.theirs.outcome == PASSED and v.ours.outcome == PASSED)
        regressions += len(regr) + file_fail
        for err in res.collect_errors:
            detail.append(f"  {res.name}: collection error, {len(regr)} tests lost: {err}")
        if res.exit_problem:
            detail.append(f"  {res.name}: {res.exit_problem}")
        for v in regr if not res.collect_errors else ():
            detail.append(f"  {v.nodeid}: {v.ours.outcome}: {v.ours.message}")
        if verbose:
            for v in verdicts:
                if not v.regression and v.ours.outcome != PASSED and v.theirs:
                    detail.append(f"  (not counted) {v.nodeid}: {v.ours.outcome} on us, "
                                  f"{v.theirs.outcome} on {peer_title}: {v.ours.message}")
    print("-" * len(head))
    print(cols.format("total", *totals))
    if detail:
        print("regressions:" if regressions else "notes:")
        print("\n".join(detail))
    return passed, regressions, used


# ------------------------------------------------------------------ driving

class Harness:
    """One peer's suite, as a driver describes it to ``main()``."""
    peer = ""               #: short name: compat-<peer>, <peer>-allowlist.txt, snapshots
    title = ""              #: the peer's name in the output
    switch = ""             #: what a setting is called: an --<switch> option
    settings: tuple[str, ...] = ()
    recipe = 1              #: bump when a change makes old references mean something else
    test_timeout = 300      #: default seconds before a hanging test is ended
    version = sha256 = ""   #: the pin, set by prepare()
    args: argparse.Namespace  #: the parsed options, set by main()

    def add_arguments(self, ap: argparse.ArgumentParser) -> None:
        """Options of this driver only."""

    def prepare(self) -> tuple[Path, list[str]]:
        """Fetch and unpack the pinned suite: its folder, its test files."""
        raise NotImplementedError

    def file_arg(self, arg: str) -> str:
        """A test file named on the command line, as ``prepare`` names it."""
        return arg

    def heading(self, setting: str) -> str:
        raise NotImplementedError

    def allowlist_file(self) -> str:
        """The allowlist's file name, beside this file."""
        return f"{self.peer}-allowlist.txt"

    def reference_name(self, setting: str) -> str:
        """The reference's file name, without ``.json``."""
        return f"{self.peer}-{self.version}-{setting}"

    def env(self, setting: str, ours: bool) -> dict[str, str]:
        """The environment of a test process on us or on the peer."""
        raise NotImplementedError

    def peer_python(self) -> str:
        """The interpreter with the peer installed (created on first use)."""
        raise NotImplementedError


def main(h: Harness, argv: list[str] | None = None, doc: str = "") -> int:
    """Parse the options, run every setting, print the report; the exit
    status: 0, 1 on a regression, 2 when the harness cannot run."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("files", nargs="*", help="test files to run (default: all)")
    ap.add_argument("--" + h.switch, choices=h.settings, action="append", dest="settings",
                    help=f"run only this {h.switch} (repeatable; default: each)")
    ap.add_argument("--test-timeout", type=int, default=h.test_timeout,
                    help=f"seconds before a hanging test is ended (default {h.test_timeout})")
    ap.add_argument("--refresh-reference", action="store_true",
                    help=f"measure {h.title} on itself again and rewrite the committed "
                         "snapshot in tests/peers/reference/")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help=f"also list tests that fail on us that {h.title} does not pass")
    h.add_arguments(ap)
    args = ap.parse_args(argv)
    h.args = args
    try:
        return _run(h, args)
    except HarnessError as exc:
        print(f"compat-{h.peer}: error: {exc}", file=sys.stderr)
        return 2


def _run(h: Harness, args: argparse.Namespace) -> int:
    allowlist = read_allowlist(HERE / h.allowlist_file())
    BUILD.mkdir(parents=True, exist_ok=True)
    tests_dir, every = h.prepare()
    files = [h.file_arg(f) for f in args.files] or every
    unknown = [f for f in files if f not in every]
    if unknown:
        raise HarnessError(f"no such test file in {h.title} {h.version}: {', '.join(unknown)}")

    def measure(setting: str) -> Measure:
        def run(todo: list[str]) -> tuple[dict[str, str], list[FileResult]]:
            python = h.peer_python()
            return identity(python), run_suite(
                python, tests_dir, todo, h.env(setting, ours=False),
                tests_dir.parent / f"work-reference-{setting}", args.test_timeout,
                f"{h.title} {setting}")
        return run

    total_passed = total_failed = 0
    used: set[str] = set()
    record = {}
    for setting in args.settings or h.settings:
        head = {"peer": h.title, "version": h.version, "sha256": h.sha256,
                "recipe": h.recipe, "setting": f"{h.switch} {setting}"}
        theirs, provenance = reference(h.reference_name(setting), head, files,
                                       measure(setting), args.refresh_reference)
        ours = run_suite(sys.executable, tests_dir, files, h.env(setting, ours=True),
                         tests_dir.parent / f"work-zlmdb-{setting}", args.test_timeout,
                         f"zlmdb {setting}")
        record[setting] = results_to_json(ours)
        passed, failed, allowed = report(h.heading(setting), provenance, h.title, ours,
                                         theirs, allowlist, args.verbose)
        total_passed += passed
        total_failed += failed
        used |= allowed
    (BUILD / f"{h.peer}-results.json").write_text(json.dumps(record, indent=1))
    stale = sorted(set(allowlist) - used)
    if stale and not args.files and not args.settings:
        raise HarnessError(f"{h.allowlist_file()} entries that match no failing test "
                           f"(remove them): {' '.join(stale)}")
    print(f"\ncompat-{h.peer}: {total_passed} passed, {total_failed} failed")
    return 1 if total_failed else 0

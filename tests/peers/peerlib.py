"""Shared machinery for running a peer's own test suite against zlmdb.

Standard library only.  The pieces:

* ``read_lock()`` parses ``peers.lock`` (``name = value`` lines);
* ``fetch()`` downloads one pinned archive with pip, checks its SHA-256 and
  caches it under ``build/peers/``;
* ``run_file()`` runs one test file in its own pytest process with the
  ``peers_outcomes`` plugin, and reruns it without a test that killed the
  process, so that every other test of the file still gets an outcome;
* ``compare()`` classifies every test against the peer's own result.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BUILD = ROOT / "build" / "peers"

#: Outcomes the plugin reports, plus the two the runner infers.
PASSED, FAILED, ERROR, SKIPPED = "passed", "failed", "error", "skipped"
CRASHED, TIMEOUT, MISSING = "crashed", "timeout", "missing"
XFAILED, XPASSED = "xfailed", "xpassed"


class HarnessError(RuntimeError):
    """The harness itself cannot go on (download, checksum, venv)."""


def read_lock(path: Path = HERE / "peers.lock") -> dict[str, str]:
    """Return the ``name = value`` pairs of the lock file."""
    pins: dict[str, str] = {}
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, value = line.partition("=")
        if not sep:
            raise HarnessError(f"{path}:{lineno}: expected 'name = value', got {line!r}")
        pins[name.strip()] = value.strip()
    return pins


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
            f"could not download {filename} with pip (exit {done.returncode}); "
            f"check the network or put the file into {cache} by hand")
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
    import time

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
    """Run ``tests_dir/name`` in pytest processes of ``python`` until every
    collected test has an outcome; a test that kills its process is recorded
    as crashed (or timeout) and deselected for the next run."""
    import time

    result = FileResult(name)
    work.mkdir(parents=True, exist_ok=True)
    deselect: list[str] = []
    started = time.monotonic()
    while True:
        result.runs += 1
        events_path = work / f"{name}.{result.runs}.events"
        log_path = work / f"{name}.{result.runs}.log"
        fault_path = work / f"{name}.{result.runs}.fault"
        for p in (events_path, fault_path):
            p.unlink(missing_ok=True)
        deselect_path = work / f"{name}.deselect"
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


def results_to_json(results: list[FileResult]) -> list[dict]:
    return [dataclasses.asdict(r) for r in results]


def results_from_json(data: list[dict]) -> list[FileResult]:
    out = []
    for d in data:
        tests = {k: Outcome(**v) for k, v in d.pop("tests").items()}
        out.append(FileResult(tests=tests, **d))
    return out


@dataclasses.dataclass
class Verdict:
    """One test, as the comparison sees it."""
    nodeid: str
    ours: Outcome
    theirs: Outcome | None
    regression: bool
    allowed: str = ""


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
        allowed = allowlist.get(nodeid, "") if regression else ""
        verdicts.append(Verdict(nodeid, mine, peer, regression and not allowed, allowed))
    return verdicts


def read_allowlist(path: Path) -> dict[str, str]:
    """``nodeid  reason`` per line; a line without a reason is refused."""
    allowed: dict[str, str] = {}
    if not path.exists():
        return allowed
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        nodeid, _, reason = line.partition(" ")
        if not reason.strip():
            raise HarnessError(f"{path}:{lineno}: {nodeid} has no reason; "
                               "write 'TEST_ID  why it cannot pass'")
        allowed[nodeid] = reason.strip()
    return allowed


def python_identity(python: str) -> str:
    """A short description of an interpreter, part of the cache keys."""
    code = "import sys, platform; print(sys.version.split()[0], platform.machine())"
    return subprocess.run([python, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a test process: ours minus anything that would
    change which modules load, plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV",
                        "PYTEST_ADDOPTS", "LMDB_DEFAULT_LIB_VERSION")}
    env.update(extra)
    return env

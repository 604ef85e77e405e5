"""Shared helpers for the reliability systems (short pytest forms and run_long.py).

Every system runs the code under test in child processes, so that a crash
(a death by signal, or a sanitizer report) is observed by the parent instead
of taking the test runner down.  `crash_reason()` is the single place that
decides whether a child crashed.
"""
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = sys.executable

# Lines that mean a sanitizer (ASan/UBSan, when the suite runs under
# LD_PRELOAD=libasan) or CPython itself detected memory-unsafety.
CRASH_MARKERS = ("AddressSanitizer", "runtime error:", "Fatal Python error",
                 "LeakSanitizer", "UndefinedBehaviorSanitizer")


# Children arm faulthandler.dump_traceback_later(WATCHDOG_SECONDS, exit=True)
# and re-arm it on progress: it runs without the GIL, so it also fires when a
# thread blocks while holding the GIL, and prints every thread's stack.
WATCHDOG_SECONDS = int(os.environ.get("RELI_WATCHDOG_SECONDS", "60"))
WATCHDOG_MARK = "Timeout (0:"


def watchdog():
    import faulthandler
    faulthandler.dump_traceback_later(WATCHDOG_SECONDS, exit=True)


def under_asan():
    return "libasan" in os.environ.get("LD_PRELOAD", "") or "ASAN_OPTIONS" in os.environ


def child_env(extra=None):
    env = dict(os.environ)
    env["PYTHONFAULTHANDLER"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if extra:
        env.update(extra)
    return env


def crash_reason(returncode, stderr, killed_by_us=False):
    """None if the child did not crash, else a short description.

    A death by signal is a crash, except SIGKILL when we sent it ourselves.
    A sanitizer/CPython fatal report in stderr is a crash whatever the status
    (ASan exits with status 1 unless abort_on_error is set)."""
    if returncode is not None and returncode < 0:
        if not (killed_by_us and returncode == -signal.SIGKILL):
            try:
                name = signal.Signals(-returncode).name
            except ValueError:
                name = str(-returncode)
            return "killed by signal %s" % name
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else (stderr or "")
    for line in text.splitlines():
        for marker in CRASH_MARKERS:
            if marker in line:
                return "stderr: " + line.strip()[:200]
    return None


class ChildResult:
    def __init__(self, argv, returncode, stdout, stderr, elapsed, timed_out):
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.elapsed = elapsed
        self.timed_out = timed_out

    @property
    def crash(self):
        if self.timed_out:
            return "hang: no exit within the time budget"
        if WATCHDOG_MARK in self.stderr:
            return "hang: the child's watchdog fired (no progress for %ds)" % WATCHDOG_SECONDS
        return crash_reason(self.returncode, self.stderr)

    def failure(self):
        """None when the child ran clean: no crash, exit status 0 and a JSON
        result line; else what went wrong, with its output."""
        if self.crash is None and self.returncode == 0 and self.json() is not None:
            return None
        return "%s\n%s" % (self.crash, self.describe())

    def json(self):
        """The last stdout line that parses as a JSON object."""
        for line in reversed(self.stdout.splitlines()):
            line = line.strip()
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except ValueError:
                    pass
        return None

    def describe(self):
        return "argv=%r rc=%r timed_out=%r\n--- stdout ---\n%s\n--- stderr ---\n%s" % (
            self.argv[-6:], self.returncode, self.timed_out, self.stdout[-2000:],
            self.stderr[-4000:])


def run_script(script, args, timeout, env_extra=None, cwd=None):
    """Run tests/reliability/<script> with args in a fresh interpreter."""
    argv = [PY, os.path.join(HERE, script)] + [str(a) for a in args]
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=child_env(env_extra), cwd=cwd, start_new_session=True)
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        # Grab a Python traceback of the hung child before killing it.
        try:
            os.kill(proc.pid, signal.SIGABRT)
            out, err = proc.communicate(timeout=10)
        except Exception:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
    return ChildResult(argv, proc.returncode, out.decode("utf-8", "replace"),
                       err.decode("utf-8", "replace"), time.monotonic() - t0, timed_out)


def import_impl(name):
    """'zlmdb' -> zlmdb.lmdb, 'pylmdb' -> py-lmdb."""
    import importlib
    if name in ("zlmdb", "zlmdb.lmdb"):
        for attempt in range(30):  # the editable build may be mid-rebuild
            try:
                return importlib.import_module("zlmdb.lmdb")
            except ImportError:
                if attempt == 29:
                    raise
                time.sleep(2)
    return importlib.import_module("lmdb")


def dict_difference(got, want, n=3):
    """How `got` differs from `want`, for a problem message: up to n keys
    that are extra, missing, or present with a wrong value."""
    extra = sorted(set(got) - set(want), key=repr)[:n]
    missing = sorted(set(want) - set(got), key=repr)[:n]
    wrong = [k for k in want if k in got and got[k] != want[k]][:n]
    return "extra=%r missing=%r wrong=%r" % (extra, missing, wrong)


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()

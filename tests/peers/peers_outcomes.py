"""pytest plugin: write each test's outcome to a file as soon as it is known.

Loaded by the peers runner (``-p peers_outcomes``) in every test process, on
zlmdb and on the peer alike.  It appends one JSON object per line to
``$PEERS_OUTCOMES`` and flushes it, so that when a test kills the process
the runner still knows which tests finished and which one was running.
On SIGUSR1, faulthandler writes every thread's stack to ``$PEERS_FAULT``:
the runner sends it before it ends a test that hangs (a deadlock).  A signal
handler, not faulthandler's watchdog thread: that thread does not survive a
test that forks, and the child would wait for it forever at exit.
"""
from __future__ import annotations

import faulthandler
import json
import os
import signal
import time

_out = None
_fault = None
_phases: dict[str, dict[str, object]] = {}


def _emit(**event: object) -> None:
    if _out is not None:
        event["pid"] = os.getpid()
        event["t"] = round(time.time(), 3)
        _out.write(json.dumps(event) + "\n")
        _out.flush()


def _short(report) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    lines = str(getattr(report, "longreprtext", "") or "").strip().splitlines()
    errors = [line[1:].strip() for line in lines if line.startswith("E ")]
    if errors:
        return errors[0][:300]
    return lines[-1][:300] if lines else ""


def pytest_configure(config) -> None:
    global _out, _fault
    path = os.environ.get("PEERS_OUTCOMES")
    if path:
        _out = open(path, "a", encoding="utf-8")
    fault = os.environ.get("PEERS_FAULT")
    if fault:
        _fault = open(fault, "w", encoding="utf-8")
        faulthandler.register(signal.SIGUSR1, file=_fault, all_threads=True)


def pytest_collection_modifyitems(session, config, items) -> None:
    """Leave out the tests named in ``$PEERS_DESELECT`` (one id a line):
    those that killed an earlier run.  Exact ids, where ``--deselect``
    would also drop every test whose id merely starts with one."""
    path = os.environ.get("PEERS_DESELECT")
    if not path:
        return
    with open(path, encoding="utf-8") as fp:
        drop = set(fp.read().splitlines())
    kept = [item for item in items if item.nodeid not in drop]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i.nodeid in drop])
        items[:] = kept


def pytest_collectreport(report) -> None:
    if report.failed:
        _emit(ev="collecterror", id=report.nodeid, msg=_short(report))


def pytest_collection_finish(session) -> None:
    _emit(ev="collected", ids=[item.nodeid for item in session.items])


def pytest_runtest_logstart(nodeid, location) -> None:
    _phases[nodeid] = {}
    _emit(ev="start", id=nodeid)


def pytest_runtest_logreport(report) -> None:
    _phases.setdefault(report.nodeid, {})[report.when] = report


def pytest_runtest_logfinish(nodeid, location) -> None:
    phases = _phases.pop(nodeid, {})
    setup, call, teardown = (phases.get(w) for w in ("setup", "call", "teardown"))
    outcome, msg = "passed", ""
    if setup is not None and setup.failed:
        outcome, msg = "error", _short(setup)
    elif setup is not None and setup.skipped:
        outcome, msg = "skipped", _short(setup)
    elif call is not None and hasattr(call, "wasxfail"):
        outcome = "xfailed" if call.skipped else "xpassed"
    elif call is not None and call.failed:
        outcome, msg = "failed", _short(call)
    elif call is not None and call.skipped:
        outcome, msg = "skipped", _short(call)
    elif call is None:
        outcome, msg = "error", "no call phase"
    if outcome in ("passed", "xfailed") and teardown is not None and teardown.failed:
        outcome, msg = "error", "teardown: " + _short(teardown)
    _emit(ev="done", id=nodeid, outcome=outcome, msg=msg)

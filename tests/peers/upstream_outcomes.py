"""pytest plugin for run_upstream.py: one JSON line per test outcome.

Loaded with ``-p upstream_outcomes`` into every process that runs a file of
upstream zlmdb's suite, on upstream and on us alike.  Each line is written
and flushed as soon as it is known, so when a test kills the process the
runner still knows which tests finished and which one was running.
The file is ``$UPSTREAM_OUTCOMES``.
"""
import json
import os

_out = None
_phases = {}


def _emit(**event):
    if _out is not None:
        _out.write(json.dumps(event) + "\n")
        _out.flush()


def _short(report):
    """The first ``E`` line of a failure, or a skip's reason."""
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    lines = str(report.longreprtext or "").strip().splitlines()
    errors = [line[1:].strip() for line in lines if line.startswith("E ")]
    return (errors[0] if errors else lines[-1] if lines else "")[:300]


def pytest_configure(config):
    global _out
    path = os.environ.get("UPSTREAM_OUTCOMES")
    if path:
        _out = open(path, "a", encoding="utf-8")


def pytest_collectreport(report):
    if report.failed:
        _emit(ev="collecterror", id=report.nodeid, msg=_short(report))


def pytest_runtest_logstart(nodeid, location):
    _phases[nodeid] = {}
    _emit(ev="start", id=nodeid)


def pytest_runtest_logreport(report):
    _phases.setdefault(report.nodeid, {})[report.when] = report


def pytest_runtest_logfinish(nodeid, location):
    ph = _phases.pop(nodeid, {})
    setup, call, teardown = ph.get("setup"), ph.get("call"), ph.get("teardown")
    outcome, msg = "passed", ""
    if setup is not None and setup.failed:
        outcome, msg = "error", _short(setup)
    elif setup is not None and setup.skipped:
        outcome, msg = "skipped", _short(setup)
    elif call is not None and call.failed:
        outcome, msg = "failed", _short(call)
    elif call is not None and call.skipped:
        outcome, msg = "skipped", _short(call)
    if outcome == "passed" and teardown is not None and teardown.failed:
        outcome, msg = "error", "teardown: " + _short(teardown)
    _emit(ev="done", id=nodeid, outcome=outcome, msg=msg)

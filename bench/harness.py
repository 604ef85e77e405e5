"""The benchmark model: suites, systems, workloads, targets, and the child protocol.

A *suite* (a module in bench/suites/ exposing ``SUITE``) lists the systems it
compares, the workloads it runs, the ratio targets it checks and the
parameters of each mode.  The runner (bench/run.py) knows nothing else about
it, so a new suite (codecs, ORM) is a new module, not a runner change.

Child protocol, the same for every kind of system:

* argv carries every suite parameter as ``--name value`` plus ``--workload``
  and ``--dir`` (a fresh, empty temp directory the child may use);
* the child prints one JSON object as its last stdout line::

      {"ops": 1000000, "seconds": 0.41, "ops_per_sec": 2439024.4,
       "extra": {...}, "env": {...}}

  and exits 0;
* exit status 3 with ``{"unavailable": "why"}`` means "this system cannot run
  this workload" (reported as n/a); anything else is a crash.

Standard library only, Python 3.8+: children in other virtualenvs import it.
"""

import gc
import json
import os
import shutil
import subprocess
import sys
import time

EXIT_UNAVAILABLE = 3
BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)


class Workload:
    """One measured operation loop.

    ``name`` is the id on the command line and in JSON; Python children call
    the suite module's function of the same name as ``fn(module, params)``.
    ``systems`` (optional) restricts it to the named systems.
    """

    def __init__(self, name, title, description, systems=None):
        self.name = name
        self.title = title
        self.description = description
        # None: every system runs it; else the names of the systems it applies
        # to (the others show "-", e.g. JSON workloads for a CBOR library).
        self.systems = None if systems is None else list(systems)

    def applies(self, system_name):
        return self.systems is None or system_name in self.systems


class Target:
    """``ours / peer >= min_ratio`` on one workload (ops/s ratio).

    Targets of one workload that share a ``group`` are alternatives: the
    group is met when any of them is (e.g. ">=1.3x py-lmdb or within 1.15x
    of raw C")."""

    def __init__(self, workload, peer, min_ratio, label, group=None):
        self.workload = workload
        self.peer = peer
        self.min_ratio = min_ratio
        self.label = label
        self.group = group

    def to_json(self):
        return {"workload": self.workload, "peer": self.peer,
                "min_ratio": self.min_ratio, "label": self.label, "group": self.group}


class System:
    """Something that can run a suite's workloads in a child process."""

    kind = "abstract"

    def __init__(self, name, label, description="", default=True):
        self.name = name
        self.label = label
        self.description = description
        self.default = default  # False: runs only when named in --systems

    def probe(self):
        """Return None when the system can run, else a one-line reason."""
        raise NotImplementedError

    def command(self, suite, workload, params, dbdir):
        raise NotImplementedError

    def to_json(self):
        return {"name": self.name, "label": self.label, "kind": self.kind,
                "description": self.description}


def params_argv(params):
    argv = []
    for key in sorted(params):
        argv += ["--" + key, str(params[key])]
    return argv


class PythonSystem(System):
    """A Python interpreter plus the module the workloads receive.

    ``python`` defaults to the runner's interpreter; ``python_env`` names an
    environment variable that overrides it (e.g. an upstream virtualenv).
    ``module`` is imported by bench/child.py and handed to the workload, so for
    the lowlevel suite it is whatever is to be used *as* ``lmdb``.
    """

    kind = "python"

    def __init__(self, name, label, module, python=None, python_env=None, description="",
                 default=True):
        System.__init__(self, name, label, description, default)
        self.module = module
        self._python = python
        self.python_env = python_env

    @property
    def python(self):
        if self.python_env and os.environ.get(self.python_env):
            return os.environ[self.python_env]
        return self._python or sys.executable

    def probe(self):
        py = self.python
        if not (os.path.isfile(py) and os.access(py, os.X_OK)):
            return "interpreter not found: %s" % py
        code = "import importlib, sys; importlib.import_module(sys.argv[1])"
        try:
            proc = subprocess.run([py, "-c", code, self.module], cwd=BENCH_DIR,
                                  capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return "cannot start %s: %s" % (py, exc)
        if proc.returncode != 0:
            lines = proc.stderr.strip().splitlines() or ["exit status %d" % proc.returncode]
            return "import %s failed: %s" % (self.module, lines[-1])
        return None

    def command(self, suite, workload, params, dbdir):
        return ([self.python, os.path.join(BENCH_DIR, "child.py"),
                 "--suite", suite.name, "--workload", workload.name,
                 "--module", self.module, "--dir", dbdir] + params_argv(params))

    def to_json(self):
        d = System.to_json(self)
        d.update(module=self.module, python=self.python)
        return d


class ExecSystem(System):
    """A native executable speaking the child protocol.

    ``$env_var``, when set, is the only path tried; otherwise the first
    existing one of ``candidates`` (relative to the repository root; globs
    allowed).
    """

    kind = "exec"

    def __init__(self, name, label, candidates, env_var=None, how_to_build="",
                 description="", default=True):
        System.__init__(self, name, label, description, default)
        self.candidates = candidates
        self.env_var = env_var
        self.how_to_build = how_to_build

    @property
    def path(self):
        import glob

        paths = []
        if self.env_var and os.environ.get(self.env_var):
            paths.append(os.environ[self.env_var])
        else:
            for c in self.candidates:
                full = c if os.path.isabs(c) else os.path.join(REPO_DIR, c)
                paths.extend(sorted(glob.glob(full)) or [full])
        for p in paths:
            if os.path.isfile(p) and os.access(p, os.X_OK):
                return p
        return None

    def probe(self):
        if self.path is None:
            if self.env_var and os.environ.get(self.env_var):
                return "$%s=%s is not an executable file" % (self.env_var,
                                                             os.environ[self.env_var])
            hint = ("; " + self.how_to_build) if self.how_to_build else ""
            return "binary not found at %s%s" % (" or ".join(self.candidates), hint)
        return None

    def command(self, suite, workload, params, dbdir):
        return ([self.path, "--workload", workload.name, "--dir", dbdir]
                + params_argv(params))

    def to_json(self):
        d = System.to_json(self)
        d.update(path=self.path)
        return d


class Suite:
    """Everything the runner needs to know about one family of benchmarks.

    ``modes`` maps a mode name ("full", "quick") to its parameters; ``repeat``
    and ``records`` are read by the runner, every other key is passed to the
    children untouched.  ``mode_workloads`` (optional) limits what a mode runs
    by default; ``extra_report(doc, fmt)`` (optional) adds tables under the
    main one; ``records_label(names)`` (optional) names the record count in
    the report when each workload carries its own size.  ``preflight(system, params)`` may return a reason to
    exclude an available system (e.g. its data generator disagrees).  A mode
    may set ``timeout`` (seconds per child run, default 900; ``--timeout``
    overrides it).
    """

    def __init__(self, name, title, systems, workloads, ours, modes, targets=(),
                 default_targets=(), settings=None, preflight=None, docs_intro="",
                 mode_workloads=None, extra_report=None, records_label=None,
                 main_table=True, chart=None):
        self.name = name
        self.title = title
        self.systems = list(systems)
        self.workloads = list(workloads)
        self.ours = ours
        self.modes = modes
        self.targets = list(targets)
        self.default_targets = list(default_targets)  # (peer, min_ratio, label)
        self.settings = settings or {}
        self.preflight = preflight
        self.docs_intro = docs_intro
        # {mode: [workload names]}: what that mode runs when --workloads is not
        # given (default: every default workload in every mode).
        self.mode_workloads = mode_workloads or {}
        # extra_report(doc, fmt) -> [lines], fmt "text" or "markdown": more
        # tables under the main one (stdout and the docs section).
        self.extra_report = extra_report
        # records_label([workload names]) -> str: what the report shows as the
        # record count when the size comes with each workload (default: the
        # mode's ``records``).
        self.records_label = records_label
        # False: the report has no workload x system table (a suite whose
        # children return several workloads each tabulates them in extra_report).
        self.main_table = main_table
        # chart(path, suite, doc) -> None or why not: replaces the default
        # bar chart written to ``path``.
        self.chart = chart

    def system(self, name):
        for s in self.systems:
            if s.name == name:
                return s
        raise KeyError(name)

    def workload(self, name):
        for w in self.workloads:
            if w.name == name:
                return w
        raise KeyError(name)

    def targets_for(self, workload_name):
        explicit = [t for t in self.targets if t.workload == workload_name]
        covered = {t.peer for t in explicit}
        defaults = [Target(workload_name, peer, ratio, label)
                    for peer, ratio, label in self.default_targets if peer not in covered]
        return explicit + defaults


def load_suite(name):
    import importlib

    if BENCH_DIR not in sys.path:
        sys.path.insert(0, BENCH_DIR)
    mod = importlib.import_module("suites." + name)
    return mod.SUITE


def available_suites():
    import pkgutil

    return sorted(m.name for m in pkgutil.iter_modules([os.path.join(BENCH_DIR, "suites")])
                  if not m.name.startswith("_"))


def run_child(argv, timeout):
    """Run one child; return ("ok", result) / ("na", reason) / ("crash", detail)."""
    try:
        proc = subprocess.run(argv, cwd=BENCH_DIR, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return "crash", "timed out after %ss" % timeout
    except OSError as exc:
        return "crash", "cannot start: %s" % exc
    result = None
    for line in reversed(proc.stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                result = json.loads(line)
            except ValueError:
                pass
            break
    if proc.returncode == EXIT_UNAVAILABLE and isinstance(result, dict) \
            and "unavailable" in result:
        return "na", str(result["unavailable"])
    if proc.returncode == 0 and isinstance(result, dict) and "ops_per_sec" in result:
        return "ok", result
    # Keep the end of the traceback, minus the ^^^^ markers under source lines.
    lines = [ln.strip() for ln in (proc.stderr.strip().splitlines()
                                   or proc.stdout.strip().splitlines())]
    tail = [ln for ln in lines if ln and set(ln) - set("^~ ")][-3:] or ["(no output)"]
    return "crash", "exit status %d: %s" % (proc.returncode, " | ".join(tail))


def fresh_dir(base=None):
    import tempfile

    return tempfile.mkdtemp(prefix="zlmdb-bench-", dir=base)


def remove_dir(path):
    shutil.rmtree(path, ignore_errors=True)


class Clock:
    """Times a block (``with Clock() as c: ...; c.seconds``) with the cyclic
    GC off, as timeit does; shared by the suites' child-side workloads."""

    def __enter__(self):
        gc.collect()
        gc.disable()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        gc.enable()
        return False

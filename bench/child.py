"""Child process for Python systems: run one workload once, print one JSON line.

    python bench/child.py --suite lowlevel --workload put_seq --module lmdb \\
        --dir /tmp/fresh --records 10000 --seed 42 ...

Imports ``--module`` (exit 3 with {"unavailable": ...} when that fails), calls
``suites.<suite>.<workload>(module, params)`` and prints its result (see
bench/harness.py for the protocol).  Every ``--name value`` pair lands in
``params``; values that look like integers become ints.  ``--warmup N``
runs the workload N times, unmeasured, before the measured run (for PyPy's
JIT).
"""

import importlib
import json
import os
import platform
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402


def parse(argv):
    if len(argv) % 2:
        raise SystemExit("child.py: arguments must be --name value pairs")
    params = {}
    for name, value in zip(argv[::2], argv[1::2]):
        if not name.startswith("--"):
            raise SystemExit("child.py: unexpected argument %r" % name)
        try:
            params[name[2:]] = int(value)
        except ValueError:
            params[name[2:]] = value
    return params


def native_files(package):
    """Extension modules loaded from ``package``: lets the runner notice a
    rebuild between runs (the extension is often rebuilt while benchmarking)."""
    out = []
    for name, m in sorted(sys.modules.items()):
        path = getattr(m, "__file__", None) or ""
        if (name == package or name.startswith(package + ".")) and \
                path.endswith((".so", ".pyd", ".dylib")):
            st = os.stat(path)
            out.append({"module": name, "file": path, "size": st.st_size,
                        "mtime": int(st.st_mtime)})
    return out


def describe(mod, params):
    env = {"impl": "python", "python": platform.python_version(),
           "python_impl": platform.python_implementation(), "module": mod.__name__}
    version = getattr(mod, "__version__", None)
    if version is not None:
        env["module_version"] = str(version)
    native = native_files(mod.__name__.split(".")[0])
    if native:
        env["native"] = native
    lmdb_version = getattr(mod, "version", None)
    if callable(lmdb_version):
        try:
            # The engine the workload used, where the suite chooses one.
            kw = {"lib_version": params["lib_version"]} if "lib_version" in params else {}
            env["lmdb_version"] = ".".join(str(x) for x in lmdb_version(**kw))
        except Exception:  # a module whose version() means something else
            pass
    return env


def main():
    params = parse(sys.argv[1:])
    suite_name = params.pop("suite")
    workload = params.pop("workload")
    module_name = params.pop("module")
    try:
        mod = importlib.import_module(module_name)
    except Exception as exc:
        print(json.dumps({"unavailable": "import %s failed: %s: %s"
                          % (module_name, type(exc).__name__, exc)}))
        return harness.EXIT_UNAVAILABLE
    suite_mod = importlib.import_module("suites." + suite_name)
    fn = getattr(suite_mod, workload, None)
    if fn is None:
        print(json.dumps({"unavailable": "no Python implementation of %r" % workload}))
        return harness.EXIT_UNAVAILABLE
    # --warmup N (from `run.py --param warmup=N`): N unmeasured rounds first,
    # each in a fresh directory, for a JIT (PyPy) to compile the loop in; both
    # systems of a run get the same.
    for _ in range(params.pop("warmup", 0)):
        wdir = os.path.join(params["dir"], "warmup")
        os.makedirs(wdir)
        fn(mod, dict(params, dir=wdir))
        shutil.rmtree(wdir)
    result = fn(mod, params)
    ops, seconds = result["ops"], result["seconds"]
    out = {"ops": ops, "seconds": seconds,
           "ops_per_sec": ops / seconds if seconds > 0 else 0.0,
           "extra": result.get("extra", {}), "env": describe(mod, params)}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
